//! Events as they arrive (JSON Lines) and as the engine applies them
//! (names resolved to the program's ids, amounts in cents), and why an
//! event is rejected.

use std::borrow::Cow;

use serde::Deserialize;
use thiserror::Error;

use crate::decimal::Decimal;
use crate::diagnostic::did_you_mean;
use crate::program::TierId;
use crate::program::{
    ActionId, Cents, CharityId, MembershipId, NameId, Names, PerkId, Points, Program, RewardId,
};
use crate::time::{Time, parse_date};

/// One event, decoded. Its text borrows from the line where it can, so
/// that decoding allocates nothing for most events.
#[derive(Clone, Debug, PartialEq)]
pub struct Event<'a> {
    pub id: Cow<'a, str>,
    pub at: Time,
    /// Empty for `tick`.
    pub member: Cow<'a, str>,
    pub kind: EventKind<'a>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind<'a> {
    Enroll {
        birthday: Option<(u32, u32)>,
        attributes: Cow<'a, [(NameId, bool)]>,
    },
    Purchase(Purchase<'a>),
    Refund {
        order: Cow<'a, str>,
        /// The amount refunded; with `items`, worked out from them.
        amount: Cents,
        /// The items returned: each SKU ([`crate::program::sku_key`]) and
        /// how many of it (all those not yet refunded when not said).
        items: Vec<(u64, Option<u32>)>,
    },
    Action(ActionId),
    /// A reward redeemed, at one of the program's partners or its own.
    Redeem {
        reward: RewardId,
        partner: Option<NameId>,
    },
    Donate {
        charity: CharityId,
        points: Points,
    },
    Subscribe(MembershipId),
    Cancel(MembershipId),
    Refer {
        referee: Cow<'a, str>,
    },
    Set {
        birthday: Option<(u32, u32)>,
        attributes: Cow<'a, [(NameId, bool)]>,
        /// A tier the member holds at least until the moment given (the
        /// end of the `tier_until` day), whatever they qualify for.
        tier: Option<(TierId, Time)>,
    },
    /// A perk used, for perks that cost per use.
    Use(PerkId),
    Tick,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Purchase<'a> {
    /// The order's price before the program's discounts, including
    /// shipping and tax.
    pub amount: Cents,
    pub order: Option<Cow<'a, str>>,
    pub category: Option<NameId>,
    pub channel: Option<NameId>,
    pub payment_method: Option<NameId>,
    pub brand: Option<NameId>,
    pub partner: Option<NameId>,
    pub shipping: Cents,
    pub tax: Cents,
    pub gift_cards: Cents,
    /// Reward money the member spends on this order.
    pub rewards: Cents,
    /// The member makes today one of their chosen bonus days.
    pub chosen_day: bool,
    /// The nights of a stay, for tiers that count nights.
    pub nights: u32,
    /// The basket, when the event lists it; without it the purchase is
    /// one item of the order's category and brand.
    pub items: Vec<Item>,
}

impl Purchase<'_> {
    /// The order's shipping, tax and gift cards: parts of `amount` that
    /// no item carries.
    pub fn parts(&self) -> Cents {
        self.shipping + self.tax + self.gift_cards
    }

    /// The basket: the items listed, or else the whole purchase as one
    /// item of the order's category and brand.
    pub fn lines(&self) -> impl Iterator<Item = Item> + '_ {
        let whole = self.items.is_empty().then(|| Item {
            sku: 0,
            category: self.category,
            brand: self.brand,
            quantity: 1,
            amount: self.amount - self.parts(),
        });
        whole.into_iter().chain(self.items.iter().copied())
    }
}

/// A line of a basket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Item {
    /// [`crate::program::sku_key`] of the SKU; 0 without one.
    pub sku: u64,
    pub category: Option<NameId>,
    pub brand: Option<NameId>,
    pub quantity: u32,
    /// The line's price before the program's discounts, all units.
    pub amount: Cents,
}

/// The most nights one purchase may carry: a year's stay.
pub const MAX_NIGHTS: i64 = 366;

/// The most items a purchase may list: enough for any checkout, and a
/// bound on the work one event costs.
pub const MAX_ITEMS: usize = 1_000;

/// Why an event was not applied. Nothing of a rejected event is applied.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum Reject {
    #[error(
        "not a JSON object ({0}): each line must be one event, `{{\"id\": ..., \"at\": ..., \"type\": ...}}`"
    )]
    NotJson(String),
    #[error("{0}")]
    Malformed(String),
    #[error("event id `{0}` was already applied")]
    Duplicate(String),
    #[error("event id `{0}` was already rejected")]
    DuplicateRejected(String),
    #[error(
        "a tick at {at} is before the latest event, at {clock}: a tick brings every member's \
         scheduled work due up to its time, so it comes after every event before it"
    )]
    OutOfOrder { at: Time, clock: Time },
    #[error(
        "event at {at} is more than a year after the last applied event at {clock}: time is \
         brought forward at most a year at a time (send a `tick` at least once a year); \
         is the year a slip?"
    )]
    TooFarAhead { at: Time, clock: Time },
    /// For a live service whose members are not all in memory (on
    /// PostgreSQL): the same bound, from the wall clock.
    #[error(
        "event at {at} is more than a year after now ({now}): a member's time is brought \
         forward at most a year at a time; is the year a slip?"
    )]
    AfterNow { at: Time, now: Time },
    #[error(
        "the member's points, reward money or spend have reached the most a ledger counts \
         exactly (1,152,921,504,606,846,976)"
    )]
    MemberAtLimit,
    #[error("unknown member `{0}`: enroll the member first")]
    UnknownMember(String),
    #[error("member `{0}` is already enrolled")]
    AlreadyEnrolled(String),
    #[error("unknown {kind} `{name}`{}", suggest(suggestion))]
    UnknownName {
        kind: &'static str,
        name: String,
        suggestion: Option<String>,
    },
    #[error("`{0}` is not sent as an action: {1}")]
    NotAnAction(String, &'static str),
    #[error("insufficient points: {needed} needed, the balance is {balance}")]
    InsufficientPoints { needed: Points, balance: Points },
    #[error("insufficient reward money: {needed} needed, the balance is {balance}")]
    InsufficientRewardMoney { needed: String, balance: String },
    #[error("reward money {used} is more than the order's {left} after discounts")]
    RewardsExceedOrder { used: String, left: String },
    #[error("member holds no \"{0}\" and it cannot be bought with points")]
    RewardNotHeld(String),
    #[error("\"{reward}\" is for tier {tiers} only")]
    RewardNotForTier { reward: String, tiers: String },
    #[error("\"{0}\" has reached the limit on how often a member may redeem it")]
    RewardLimitReached(String),
    #[error("\"{0}\" has run out: what is available to all members is used up for now")]
    RewardRunOut(String),
    #[error(
        "\"{0}\" is used on the next qualifying order by itself, and has no points price to buy another"
    )]
    RewardAppliesItself(String),
    #[error("unknown order `{0}` for this member")]
    UnknownOrder(String),
    #[error("order `{0}` was already recorded for this member")]
    DuplicateOrder(String),
    #[error("refund of {refund} is more than the {left} of order `{order}` not yet refunded")]
    RefundTooLarge {
        order: String,
        refund: String,
        left: String,
    },
    #[error("member already has \"{0}\"")]
    AlreadySubscribed(String),
    #[error("member does not have \"{0}\"")]
    NotSubscribed(String),
    #[error("member cannot use \"{0}\": it is not among their benefits")]
    PerkNotAvailable(String),
    #[error("a member cannot refer themselves")]
    SelfReferral,
}

fn suggest(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

/// The fields an event line may have; others are an error, so that a
/// misspelt field is not silently ignored.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    at: Option<Text<'a>>,
    #[serde(rename = "type", borrow)]
    kind: Option<Text<'a>>,
    #[serde(borrow)]
    member: Option<Text<'a>>,
    amount: Option<Amount<'a>>,
    #[serde(borrow)]
    order: Option<Text<'a>>,
    #[serde(borrow)]
    category: Option<Text<'a>>,
    #[serde(borrow)]
    channel: Option<Text<'a>>,
    #[serde(borrow)]
    payment_method: Option<Text<'a>>,
    #[serde(borrow)]
    brand: Option<Text<'a>>,
    #[serde(borrow)]
    partner: Option<Text<'a>>,
    shipping: Option<Amount<'a>>,
    tax: Option<Amount<'a>>,
    gift_cards: Option<Amount<'a>>,
    rewards: Option<Amount<'a>>,
    chosen_day: Option<bool>,
    nights: Option<i64>,
    #[serde(borrow)]
    action: Option<Text<'a>>,
    #[serde(borrow)]
    reward: Option<Text<'a>>,
    #[serde(borrow)]
    charity: Option<Text<'a>>,
    points: Option<i64>,
    #[serde(borrow)]
    plan: Option<Text<'a>>,
    #[serde(borrow)]
    referee: Option<Text<'a>>,
    #[serde(borrow)]
    perk: Option<Text<'a>>,
    #[serde(borrow)]
    birthday: Option<Text<'a>>,
    attributes: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(borrow)]
    items: Option<Vec<RawItem<'a>>>,
    #[serde(borrow)]
    tier: Option<Text<'a>>,
    #[serde(borrow)]
    tier_until: Option<Text<'a>>,
}

/// An item as a purchase lists it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem<'a> {
    #[serde(borrow)]
    sku: Option<Text<'a>>,
    #[serde(borrow)]
    category: Option<Text<'a>>,
    #[serde(borrow)]
    brand: Option<Text<'a>>,
    quantity: Option<u32>,
    amount: Option<Amount<'a>>,
}

/// A text field that borrows from the line unless it has escapes: serde
/// borrows a `Cow` only when it is not inside an `Option`, so the `Cow`
/// is wrapped.
#[derive(Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

impl std::ops::Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Amount<'a> {
    Text(#[serde(borrow)] Cow<'a, str>),
    Number(serde_json::Number),
}

/// serde's message, in the words of an event line.
fn json_error(error: &serde_json::Error) -> Reject {
    let message = error.to_string();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((field, expected)) = rest.split_once('`')
    {
        // serde names the fields there are: "expected one of `id`, `at`, ...".
        let fields = expected.split('`').skip(1).step_by(2);
        let hint = did_you_mean(field, fields)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Reject::Malformed(format!("unknown field `{field}`{hint}"));
    }
    if error.is_data() {
        // A field of the wrong type: "invalid type: integer `5`, expected a string at line 1 column 40".
        let message = message.split(" at line ").next().unwrap_or(&message);
        return Reject::Malformed(format!("{message} (column {})", error.column()));
    }
    Reject::NotJson(format!("column {}", error.column()))
}

fn malformed(message: impl Into<String>) -> Reject {
    Reject::Malformed(message.into())
}

fn unknown(kind: &'static str, name: &str, names: &Names) -> Reject {
    Reject::UnknownName {
        kind,
        name: name.to_string(),
        suggestion: did_you_mean(name, names.iter()).map(str::to_string),
    }
}

/// The largest amount of money an event may carry, in units of the
/// currency: enough for any order in any currency (a hundred billion
/// rupiah is six million dollars), and small enough that the checker's
/// bounds on rates keep what it earns exact.
pub const MAX_AMOUNT: i64 = 100_000_000_000;

/// A money amount in whole cents, not negative.
fn cents(field: &str, amount: &Amount) -> Result<Cents, Reject> {
    let text: Cow<str> = match amount {
        Amount::Text(text) => Cow::Borrowed(text),
        Amount::Number(number) => Cow::Owned(number.to_string()),
    };
    let value = Decimal::parse(&text)
        .map_err(|_| malformed(format!("`{field}` is not an amount of money: `{text}`")))?;
    if value.is_negative() {
        return Err(malformed(format!("`{field}` is negative: `{text}`")));
    }
    if value > Decimal::from_int(MAX_AMOUNT) {
        return Err(malformed(format!(
            "`{field}` is more than an event may carry (100,000,000,000): `{text}`"
        )));
    }
    if value.raw() % (Decimal::SCALE / 100) != 0 {
        return Err(malformed(format!(
            "`{field}` has more than two decimals: `{text}`"
        )));
    }
    Ok(value.raw() / (Decimal::SCALE / 100))
}

fn required<'r, T>(field: &'static str, kind: &str, value: &'r Option<T>) -> Result<&'r T, Reject> {
    value
        .as_ref()
        .ok_or_else(|| malformed(format!("a `{kind}` event needs `{field}`")))
}

fn birthday(text: &Option<Text>) -> Result<Option<(u32, u32)>, Reject> {
    match text {
        None => Ok(None),
        Some(text) => parse_date(text.as_bytes())
            .map(|(_, m, d)| Some((m, d)))
            .ok_or_else(|| {
                let text: &str = text;
                malformed(format!("`birthday` is not a date (YYYY-MM-DD): `{text}`"))
            }),
    }
}

fn attributes(
    program: &Program,
    map: &Option<serde_json::Map<String, serde_json::Value>>,
) -> Result<Vec<(NameId, bool)>, Reject> {
    let Some(map) = map else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(map.len());
    for (name, value) in map {
        let id = program
            .attributes
            .id(name)
            .ok_or_else(|| unknown("attribute", name, &program.attributes))?;
        let value = value
            .as_bool()
            .ok_or_else(|| malformed(format!("attribute `{name}` must be true or false")))?;
        out.push((id, value));
    }
    Ok(out)
}

/// A purchase's `items`: each with an `amount`, its category and brand
/// the order's unless it names its own.
fn items(
    program: &Program,
    raw: Option<Vec<RawItem>>,
    category: Option<NameId>,
    brand: Option<NameId>,
) -> Result<Vec<Item>, Reject> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    if raw.is_empty() {
        return Err(malformed(
            "`items` is empty: list the basket, or leave `items` out",
        ));
    }
    if raw.len() > MAX_ITEMS {
        return Err(malformed(format!(
            "`items` lists {} items; a purchase lists at most {MAX_ITEMS}",
            raw.len()
        )));
    }
    let mut total: Cents = 0;
    let mut items = Vec::with_capacity(raw.len());
    for (n, item) in raw.iter().enumerate() {
        let at = |message: String| malformed(format!("item {}: {message}", n + 1));
        let amount = item
            .amount
            .as_ref()
            .ok_or_else(|| at("needs `amount`, the line's price for all its units".into()))?;
        let amount = cents("amount", amount).map_err(|r| at(r.to_string()))?;
        total = total.saturating_add(amount);
        if total > MAX_AMOUNT * 100 {
            return Err(malformed(
                "the items add up to more than an event may carry (100,000,000,000)",
            ));
        }
        let quantity = item.quantity.unwrap_or(1);
        if quantity == 0 {
            return Err(at("`quantity` is 0".into()));
        }
        items.push(Item {
            sku: item.sku.as_deref().map_or(0, crate::program::sku_key),
            category: optional_name("category", &item.category, &program.categories, false)
                .map_err(|r| at(r.to_string()))?
                .or(category),
            brand: optional_name("brand", &item.brand, &program.brands, true)
                .map_err(|r| at(r.to_string()))?
                .or(brand),
            quantity,
            amount,
        });
    }
    Ok(items)
}

/// A refund's `items`: each a `sku` of the order, with a `quantity` or
/// all of it.
fn refunded_items(raw: Option<Vec<RawItem>>) -> Result<Vec<(u64, Option<u32>)>, Reject> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    if raw.is_empty() || raw.len() > MAX_ITEMS {
        return Err(malformed(format!(
            "a refund's `items` lists 1 to {MAX_ITEMS} items"
        )));
    }
    raw.iter()
        .enumerate()
        .map(|(n, item)| {
            let at = |message: &str| malformed(format!("item {}: {message}", n + 1));
            if item.amount.is_some() || item.category.is_some() || item.brand.is_some() {
                return Err(at(
                    "a refunded item is named by its `sku` and `quantity`; the order has its amount",
                ));
            }
            let sku = item.sku.as_deref().ok_or_else(|| at("needs the `sku` returned"))?;
            if item.quantity == Some(0) {
                return Err(at("`quantity` is 0"));
            }
            Ok((crate::program::sku_key(sku), item.quantity))
        })
        .collect()
}

/// `"tier": "Gold", "tier_until": "2027-06-30"`: customer service
/// granting a tier until the end of a day in the program's zone.
fn tier_floor(
    program: &Program,
    tier: &Option<Text>,
    until: &Option<Text>,
    at: Time,
) -> Result<Option<(TierId, Time)>, Reject> {
    let (tier, until) = match (tier, until) {
        (None, None) => return Ok(None),
        (Some(tier), Some(until)) => (tier, until),
        _ => {
            return Err(malformed(
                "`tier` and `tier_until` go together: the tier to hold and the last day to hold it",
            ));
        }
    };
    let id = program
        .tier_names
        .id(tier)
        .ok_or_else(|| unknown("tier", tier, &program.tier_names))?;
    let until_text: &str = until;
    let last_day = parse_date(until_text.as_bytes()).ok_or_else(|| {
        malformed(format!(
            "`tier_until` is not a date (YYYY-MM-DD): `{until_text}`"
        ))
    })?;
    let (y, m, d) = last_day;
    let end = program
        .calendar
        .shift(program.calendar.midnight(y, m, d), |day| day.add_days(1));
    if end <= at {
        return Err(malformed(format!(
            "`tier_until` {until_text} is before the event: the tier would end at once"
        )));
    }
    Ok(Some((id as TierId, end)))
}

fn optional_name(
    kind: &'static str,
    value: &Option<Text>,
    names: &Names,
    strict: bool,
) -> Result<Option<NameId>, Reject> {
    match value {
        None => Ok(None),
        Some(name) => match names.id(name) {
            Some(id) => Ok(Some(id)),
            // An undeclared category or channel matches no rule; an
            // undeclared brand or partner is an error, as a coalition's
            // members are the program's to list.
            None if !strict => Ok(Some(NameId::MAX)),
            None => Err(unknown(kind, name, names)),
        },
    }
}

/// The event types, each named once: the name a line gives, and what it
/// decodes as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Type {
    Enroll,
    Purchase,
    Refund,
    Action,
    Redeem,
    Donate,
    Subscribe,
    Cancel,
    Refer,
    Set,
    Use,
    Tick,
}

const TYPES: [(&str, Type); 12] = [
    ("enroll", Type::Enroll),
    ("purchase", Type::Purchase),
    ("refund", Type::Refund),
    ("action", Type::Action),
    ("redeem", Type::Redeem),
    ("donate", Type::Donate),
    ("subscribe", Type::Subscribe),
    ("cancel", Type::Cancel),
    ("refer", Type::Refer),
    ("set", Type::Set),
    ("use", Type::Use),
    ("tick", Type::Tick),
];

/// Decodes one line. `Err` carries the event id when the line had one.
pub fn decode<'a>(program: &Program, line: &'a str) -> Result<Event<'a>, (Option<String>, Reject)> {
    let raw: Raw<'a> = serde_json::from_str(line).map_err(|e| (None, json_error(&e)))?;
    let id = raw.id.as_deref().map(str::to_string);
    decode_raw(program, raw).map_err(|reject| (id, reject))
}

fn decode_raw<'a>(program: &Program, mut raw: Raw<'a>) -> Result<Event<'a>, Reject> {
    let id = raw
        .id
        .take()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| malformed("an event needs an `id`"))?;
    let kind_name = raw
        .kind
        .as_deref()
        .ok_or_else(|| malformed("an event needs a `type`"))?;
    let at_text = raw
        .at
        .as_deref()
        .ok_or_else(|| malformed("an event needs `at` (a date or an RFC 3339 time)"))?;
    let at = program.calendar.parse(at_text).ok_or_else(|| {
        malformed(format!(
            "`at` is not a date or an RFC 3339 time: `{at_text}`"
        ))
    })?;
    let Some(&(_, kind_type)) = TYPES.iter().find(|(name, _)| *name == kind_name) else {
        return Err(Reject::UnknownName {
            kind: "event type",
            name: kind_name.to_string(),
            suggestion: did_you_mean(kind_name, TYPES.iter().map(|(name, _)| *name))
                .map(str::to_string),
        });
    };
    let member = raw.member.take().map_or(Cow::Borrowed(""), |m| m.0);
    if kind_type != Type::Tick && member.is_empty() {
        return Err(malformed(format!("a `{kind_name}` event needs `member`")));
    }
    let kind = match kind_type {
        Type::Enroll => EventKind::Enroll {
            birthday: birthday(&raw.birthday)?,
            attributes: Cow::Owned(attributes(program, &raw.attributes)?),
        },
        Type::Purchase => {
            let part = |field: &str, value: &Option<Amount>| {
                value.as_ref().map_or(Ok(0), |a| cents(field, a))
            };
            let category = optional_name("category", &raw.category, &program.categories, false)?;
            let brand = optional_name("brand", &raw.brand, &program.brands, true)?;
            let items = items(program, raw.items.take(), category, brand)?;
            let (shipping, tax, gift_cards) = (
                part("shipping", &raw.shipping)?,
                part("tax", &raw.tax)?,
                part("gift_cards", &raw.gift_cards)?,
            );
            let listed =
                items.iter().map(|i| i.amount).sum::<Cents>() + shipping + tax + gift_cards;
            let amount = match (&raw.amount, items.is_empty()) {
                (Some(amount), _) => cents("amount", amount)?,
                (None, true) => {
                    return Err(malformed(format!("a `{kind_name}` event needs `amount`")));
                }
                // Without `amount`, the basket and the order's parts.
                (None, false) if listed <= MAX_AMOUNT * 100 => listed,
                (None, false) => {
                    return Err(malformed(
                        "the items and the order's parts add up to more than an event may \
                         carry (100,000,000,000)",
                    ));
                }
            };
            if !items.is_empty() && listed != amount {
                return Err(malformed(format!(
                    "the items, `shipping`, `tax` and `gift_cards` add up to {}, not the `amount` {}",
                    program.money(listed),
                    program.money(amount)
                )));
            }
            let purchase = Purchase {
                amount,
                order: raw.order.take().map(|o| o.0),
                category,
                channel: optional_name("channel", &raw.channel, &program.channels, false)?,
                payment_method: optional_name(
                    "payment method",
                    &raw.payment_method,
                    &program.payment_methods,
                    false,
                )?,
                brand,
                partner: optional_name("partner", &raw.partner, &program.partner_names, true)?,
                shipping,
                tax,
                gift_cards,
                rewards: part("rewards", &raw.rewards)?,
                chosen_day: raw.chosen_day.unwrap_or(false),
                nights: match raw.nights {
                    None => 0,
                    Some(n @ 0..=MAX_NIGHTS) => n as u32,
                    Some(_) => {
                        return Err(malformed(format!(
                            "`nights` must be a whole number from 0 to {MAX_NIGHTS}"
                        )));
                    }
                },
                items,
            };
            if purchase.shipping + purchase.tax + purchase.gift_cards > amount {
                return Err(malformed(
                    "`shipping`, `tax` and `gift_cards` add up to more than `amount`",
                ));
            }
            EventKind::Purchase(purchase)
        }
        Type::Refund => {
            let order = required("order", kind_name, &raw.order.take())?.0.clone();
            let items = refunded_items(raw.items.take())?;
            let amount = match (&raw.amount, items.is_empty()) {
                (Some(amount), true) => cents("amount", amount)?,
                (None, false) => 0,
                (Some(_), false) => {
                    return Err(malformed(
                        "a refund names an `amount` or the `items` returned, not both",
                    ));
                }
                (None, true) => {
                    return Err(malformed(
                        "a `refund` event needs `amount`, or the `items` returned",
                    ));
                }
            };
            EventKind::Refund {
                order,
                amount,
                items,
            }
        }
        Type::Action => {
            let name = required("action", kind_name, &raw.action)?;
            let id = program
                .actions
                .id(name)
                .ok_or_else(|| unknown("action", name, &program.actions))?;
            let structural = match name.as_ref() {
                "joining" => {
                    Some("joining is the `enroll` event (or `subscribe` for a membership)")
                }
                "birthday" => Some(
                    "birthdays come from the member's `birthday` date, given at `enroll` or by `set`",
                ),
                "visit" => Some("a visit is a `purchase` event"),
                "referral" | "being_referred" => Some("referrals are `refer` events"),
                _ => None,
            };
            if let Some(why) = structural {
                return Err(Reject::NotAnAction(name.to_string(), why));
            }
            EventKind::Action(id)
        }
        Type::Redeem => {
            let name = required("reward", kind_name, &raw.reward)?;
            EventKind::Redeem {
                reward: program
                    .reward_names
                    .id(name)
                    .ok_or_else(|| unknown("reward", name, &program.reward_names))?,
                partner: optional_name("partner", &raw.partner, &program.partner_names, true)?,
            }
        }
        Type::Donate => {
            let name = required("charity", kind_name, &raw.charity)?;
            let points = *required("points", kind_name, &raw.points)?;
            if points <= 0 {
                return Err(malformed(
                    "`points` to donate must be a whole number above zero",
                ));
            }
            EventKind::Donate {
                charity: program
                    .charity_names
                    .id(name)
                    .ok_or_else(|| unknown("charity", name, &program.charity_names))?,
                points,
            }
        }
        Type::Subscribe | Type::Cancel => {
            let name = required("plan", kind_name, &raw.plan)?;
            let plan = program
                .membership_names
                .id(name)
                .ok_or_else(|| unknown("membership", name, &program.membership_names))?;
            if kind_type == Type::Subscribe {
                EventKind::Subscribe(plan)
            } else {
                EventKind::Cancel(plan)
            }
        }
        Type::Refer => EventKind::Refer {
            referee: required("referee", kind_name, &raw.referee.take())?
                .0
                .clone(),
        },
        Type::Set => EventKind::Set {
            birthday: birthday(&raw.birthday)?,
            attributes: Cow::Owned(attributes(program, &raw.attributes)?),
            tier: tier_floor(program, &raw.tier, &raw.tier_until, at)?,
        },
        Type::Use => {
            let name = required("perk", kind_name, &raw.perk)?;
            let perk = program
                .perks
                .iter()
                .position(|p| p.name == name.as_ref())
                .ok_or_else(|| Reject::UnknownName {
                    kind: "perk",
                    name: name.to_string(),
                    suggestion: did_you_mean(name, program.perks.iter().map(|p| p.name.as_str()))
                        .map(str::to_string),
                })?;
            EventKind::Use(perk as PerkId)
        }
        Type::Tick => EventKind::Tick,
    };
    Ok(Event {
        id: id.0,
        at,
        member,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decoding allocates nothing for text without escapes; with escapes
    /// the text is still read right.
    #[test]
    fn text_is_borrowed_from_the_line_unless_escaped() {
        let program = crate::load(
            "program \"P\"\ncurrency USD\npoints are called \"points\"\nearn 1 point per $1 spent\n",
        )
        .unwrap();
        let line = r#"{"id":"e1","at":"2026-01-01","type":"purchase","member":"m1","amount":"12.00","order":"o1"}"#;
        let event = decode(&program, line).unwrap();
        assert!(matches!(event.id, Cow::Borrowed("e1")));
        assert!(matches!(event.member, Cow::Borrowed("m1")));
        let EventKind::Purchase(purchase) = &event.kind else {
            panic!("a purchase: {event:?}");
        };
        assert!(matches!(purchase.order, Some(Cow::Borrowed("o1"))));

        let escaped = line.replace(r#""m1""#, r#""m\u0031\"""#);
        let event = decode(&program, &escaped).unwrap();
        assert!(matches!(&event.member, Cow::Owned(m) if m == "m1\""));
    }
}
