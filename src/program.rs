//! The executable form of a program: what the engine and the simulator
//! run. Names are replaced by small integer ids, amounts by integer cents
//! and whole points, sets of names by bit masks; nothing here borrows
//! from the source, so a `Program` is `Send + Sync` and can be shared by
//! every simulation thread.

use std::collections::HashMap;

use crate::decimal::Decimal;
use crate::time::{Calendar, DurationUnit, Every, Period, Time};
pub use crate::vocabulary::{Exclusion, Fee, PerkCost};

/// Money in the program's currency, in cents.
pub type Cents = i64;
/// Whole points.
pub type Points = i64;

pub type TierId = u16;
pub type MembershipId = u16;
pub type RewardId = u16;
pub type CharityId = u16;
pub type PerkId = u16;
pub type ActionId = u16;
pub type NameId = u16;

/// A checked program, ready to run.
#[derive(Clone, Debug)]
pub struct Program {
    pub name: String,
    pub currency: String,
    /// `$`, `€` or `£`.
    pub currency_sign: char,
    /// The time zone the program's days, months and years are counted in.
    pub calendar: Calendar,
    /// The points' name as written (`points`, `stars`), for messages.
    pub points_name: String,
    /// What points are worth, if the program says.
    pub point_value: Option<Rate>,
    pub categories: Names,
    pub channels: Names,
    pub payment_methods: Names,
    /// Built-in actions first (see [`Action`]), then declared ones.
    pub actions: Names,
    pub attributes: Names,
    pub brands: Names,
    pub partners: Vec<Partner>,
    pub partner_names: Names,
    pub tiers: Vec<Tier>,
    pub tier_names: Names,
    pub memberships: Vec<Membership>,
    pub membership_names: Names,
    pub rewards: Vec<Reward>,
    pub reward_names: Names,
    pub charities: Vec<Charity>,
    pub charity_names: Names,
    /// In the order they are written; several may share a name.
    pub perks: Vec<Perk>,
    pub rules: Vec<EarnRule>,
    pub bonuses: Vec<Bonus>,
    pub discounts: Vec<Discount>,
    pub conversions: Vec<Conversion>,
    pub points_expiry: Option<PointsExpiry>,
    pub points_expiry_text: Option<String>,
    /// `points are pending for 30 days`: how long what a purchase earns
    /// waits before it can be spent.
    pub points_pending: Option<Period>,
    pub reward_expiry_text: Option<String>,
    /// Rewards (reward money and issued rewards) expire this long after
    /// they are issued.
    pub reward_expiry: Option<Period>,
    /// How many limit counters a member needs: one per limit clause.
    pub cap_slots: usize,
    /// How many budget counters the program keeps for all members: one
    /// per `in total` or `available` clause.
    pub budget_slots: usize,
    /// The rules that pay on a schedule, the only ones scheduled work
    /// looks at.
    pub scheduled_rules: Vec<usize>,
    /// The rules that earn by a rate on spend (`per $1 spent`, `% back`),
    /// the only ones step 1 of the stacking rule looks at.
    pub rate_rules: Vec<usize>,
    /// Whether some tier counts a calendar year or a rolling window.
    pub tiers_by_calendar_year: bool,
    /// The longest rolling qualification window, in months.
    pub rolling_months: u32,
    /// The SKUs that `for product` and `excluding product` conditions
    /// name, each list once.
    pub products: Vec<Products>,
    /// The program's identity ([`Program::identify`]), stored in a
    /// ledger to notice a different version of the program.
    pub hash: u64,
}

impl Default for Program {
    /// A program that says nothing.
    fn default() -> Self {
        Program {
            name: String::new(),
            currency: String::new(),
            currency_sign: '$',
            calendar: Calendar::default(),
            points_name: "points".into(),
            point_value: None,
            categories: Names::default(),
            channels: Names::default(),
            payment_methods: Names::default(),
            actions: Names::default(),
            attributes: Names::default(),
            brands: Names::default(),
            partners: Vec::new(),
            partner_names: Names::default(),
            tiers: Vec::new(),
            tier_names: Names::default(),
            memberships: Vec::new(),
            membership_names: Names::default(),
            rewards: Vec::new(),
            reward_names: Names::default(),
            charities: Vec::new(),
            charity_names: Names::default(),
            perks: Vec::new(),
            rules: Vec::new(),
            bonuses: Vec::new(),
            discounts: Vec::new(),
            conversions: Vec::new(),
            points_expiry: None,
            points_expiry_text: None,
            points_pending: None,
            reward_expiry_text: None,
            reward_expiry: None,
            cap_slots: 0,
            budget_slots: 0,
            scheduled_rules: Vec::new(),
            rate_rules: Vec::new(),
            tiers_by_calendar_year: false,
            rolling_months: 0,
            products: Vec::new(),
            hash: 0,
        }
    }
}

impl Program {
    /// Sets `hash` to a fingerprint of what the program does: the
    /// resolved program (its names, amounts, conditions and schedules as
    /// ids, cents and times), without the texts it shows in messages. How
    /// `fmt` prints a statement, comments and layout do not change it.
    pub fn identify(&mut self) {
        use std::fmt::Write;
        self.hash = 0;
        // The texts are set aside while the rest is hashed as it is
        // written, so that nothing is copied.
        let expiry_texts = (
            self.points_expiry_text.take(),
            self.reward_expiry_text.take(),
        );
        let texts: Vec<String> = self.texts().map(std::mem::take).collect();
        let mut fnv = crate::fnv::Fnv::default();
        let _ = write!(fnv, "{self:?}");
        for (slot, text) in self.texts().zip(texts) {
            *slot = text;
        }
        (self.points_expiry_text, self.reward_expiry_text) = expiry_texts;
        self.hash = std::hash::Hasher::finish(&fnv);
    }

    /// The statements' texts that rules, bonuses, discounts, perks and
    /// conversions show in messages.
    fn texts(&mut self) -> impl Iterator<Item = &mut String> {
        (self.rules.iter_mut().map(|r| &mut r.text))
            .chain(self.bonuses.iter_mut().map(|b| &mut b.text))
            .chain(self.discounts.iter_mut().map(|d| &mut d.text))
            .chain(self.perks.iter_mut().map(|p| &mut p.text))
            .chain(self.conversions.iter_mut().map(|c| &mut c.text))
    }
}

/// Names of one kind, in declaration order; the position is the id.
#[derive(Clone, Default)]
pub struct Names {
    list: Vec<String>,
    index: HashMap<String, NameId>,
}

/// The names in order: the index is derived from them (and a map's order
/// is not the same from run to run).
impl std::fmt::Debug for Names {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.list).finish()
    }
}

impl Names {
    pub fn add(&mut self, name: &str) -> NameId {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = self.list.len() as NameId;
        self.list.push(name.to_string());
        self.index.insert(name.to_string(), id);
        id
    }

    pub fn id(&self, name: &str) -> Option<NameId> {
        self.index.get(name).copied()
    }

    pub fn name(&self, id: NameId) -> &str {
        &self.list[usize::from(id)]
    }

    pub fn get(&self, id: NameId) -> Option<&str> {
        self.list.get(usize::from(id)).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.list.iter().map(String::as_str)
    }
}

/// The built-in actions, whose ids are fixed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Action {
    Joining = 0,
    Birthday = 1,
    Referral = 2,
    BeingReferred = 3,
    Newsletter = 4,
    Review = 5,
    SocialFollow = 6,
    Share = 7,
    Visit = 8,
}

impl Action {
    pub const fn id(self) -> ActionId {
        self as ActionId
    }
}

/// Money per points: `worth $10 per 300 points` is 1,000 cents per 300.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub cents: Cents,
    pub points: Points,
}

impl Rate {
    /// What `points` are worth, rounded down to a cent.
    pub fn value_of(self, points: Points) -> Cents {
        crate::decimal::saturate(
            (i128::from(points) * i128::from(self.cents)) / i128::from(self.points),
        )
    }
}

/// Where a rule stands, which decides whom it applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// At the top level: every member.
    Program,
    /// In a tier's block: members who hold that tier.
    Tier(TierId),
    /// In a membership's block: members with that membership (or on its
    /// free trial).
    Membership(MembershipId),
}

/// A set of ids as bits; `None` in a condition means "any".
pub type Mask = u64;

/// The ids a mask holds, lowest first.
pub fn mask_ids(mask: Mask) -> impl Iterator<Item = usize> {
    let mut left = mask;
    std::iter::from_fn(move || {
        (left != 0).then(|| {
            let id = left.trailing_zeros() as usize;
            left &= left - 1;
            id
        })
    })
}

pub fn mask_has(mask: Option<Mask>, id: Option<NameId>) -> bool {
    match mask {
        None => true,
        Some(bits) => id.is_some_and(|id| id < 64 && bits & (1 << id) != 0),
    }
}

/// Where a purchase was made, as a rule's `at` clauses restrict it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    /// No `at partner`: the program's own purchases (optionally only at
    /// some brands).
    Own { brands: Option<Mask> },
    /// `at any partner`
    AnyPartner,
    /// `at partner "Uber" or "Spotify"`
    Partners(Mask),
}

/// Everything that narrows a rule to some members and purchases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conditions {
    pub scope: Scope,
    pub categories: Option<Mask>,
    pub channels: Option<Mask>,
    pub payment_methods: Option<Mask>,
    pub place: Place,
    pub tiers: Option<Mask>,
    pub attribute: Option<NameId>,
    pub within: Option<(Period, Anchor)>,
    pub min_order: Option<Cents>,
    /// From the start of the first day to the end of the last.
    pub between: Option<(Time, Time)>,
    /// `on 1 chosen day per year`
    pub chosen_days: Option<(u32, Every)>,
    /// `on mondays`: the days of the week as bits, Monday the lowest.
    pub days: Option<u8>,
    /// `between 14:00 and 17:00`: seconds of the day, from and until;
    /// past midnight when until is the earlier.
    pub hours: Option<(i64, i64)>,
    pub excluding: Exclusions,
    /// `for product "SKU-1"`: the basket's items with these SKUs.
    pub products: Option<ProductsId>,
    /// `excluding category gift_cards`: items a rule leaves out.
    pub excluded_categories: Option<Mask>,
    /// `excluding product "SKU-9"`
    pub excluded_products: Option<ProductsId>,
}

impl Conditions {
    /// No condition: every member of the scope, every purchase.
    pub fn any(scope: Scope) -> Conditions {
        Conditions {
            scope,
            categories: None,
            channels: None,
            payment_methods: None,
            place: Place::Own { brands: None },
            tiers: None,
            attribute: None,
            within: None,
            min_order: None,
            between: None,
            chosen_days: None,
            days: None,
            hours: None,
            excluding: Exclusions::default(),
            products: None,
            excluded_categories: None,
            excluded_products: None,
        }
    }

    /// True when the rule looks at the purchase itself, so it cannot
    /// apply to an action.
    pub fn is_about_purchases(&self) -> bool {
        self.is_about_items()
            || self.channels.is_some()
            || self.payment_methods.is_some()
            || self.min_order.is_some()
            || self.chosen_days.is_some()
            || !matches!(self.place, Place::Own { brands: None })
    }

    /// Whether the conditions read a basket's items: pick some (by
    /// category, product or brand) or leave some out.
    pub fn is_about_items(&self) -> bool {
        self.picks_items() || self.excluded_categories.is_some() || self.excluded_products.is_some()
    }

    /// Whether the conditions take only some items of a basket (by
    /// category, product or brand), and so not the order's shipping, tax
    /// and gift cards, which are no item's.
    pub fn picks_items(&self) -> bool {
        self.categories.is_some()
            || self.products.is_some()
            || matches!(self.place, Place::Own { brands: Some(_) })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// Enrolment, or subscribing for a rule in a membership.
    Joining,
    ReachingTier,
}

/// Parts of an order's amount a rule does not count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Exclusions {
    pub shipping: bool,
    pub tax: bool,
    pub gift_cards: bool,
}

impl Exclusions {
    pub fn add(&mut self, part: Exclusion) {
        match part {
            Exclusion::Shipping => self.shipping = true,
            Exclusion::Tax => self.tax = true,
            Exclusion::GiftCards => self.gift_cards = true,
        }
    }
}

/// A limit on a rule: `up to 500 points per day`, `once per member`;
/// or a budget all members share: `up to $50,000 per month in total`,
/// `1,000 available`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cap {
    /// The counter for this limit: the member's, or for a budget the
    /// program's (`Program::budget_slots`).
    pub slot: usize,
    pub limit: Limit,
    /// For a budget, `Every::Member` is the program's whole life.
    pub per: Every,
    /// Whose year a `per membership year` limit counts: the member's
    /// from joining, or the plan's from subscribing.
    pub scope: Scope,
    /// A budget shared by all members rather than each member's limit.
    pub total: bool,
}

impl Cap {
    /// A limit as written, before its statement gives it a counter.
    pub fn unplaced(limit: Limit, per: Every, total: bool) -> Cap {
        Cap {
            slot: 0,
            limit,
            per,
            scope: Scope::Program,
            total,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Points(Points),
    Money(Cents),
    Times(i64),
}

/// What an earn rule gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Benefit {
    Points(Points),
    /// Reward money: `$10 reward`.
    Money(Cents),
    /// A share of the spend as reward money: `2% back`.
    Back(Decimal),
    /// An issued reward: a named one, or `15% off the next order`.
    Reward(RewardId),
    /// `donate $2 to "Fund"`: the brand gives on the member's behalf.
    Donation {
        charity: CharityId,
        cents: Cents,
    },
    /// What a perk costs the brand per month, year or member: compiled
    /// to a rule so that it recurs like one.
    PerkCost {
        perk: PerkId,
        cents: Cents,
    },
}

/// When an earn rule gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `per $1 spent`
    PerSpent(Cents),
    /// `for review`, `for joining`, `for visit`
    Action(ActionId),
    /// `for every 5th visit`: a punch card.
    EveryNth { nth: u32, action: ActionId },
    /// `for spending $30 in a month`
    Spending { cents: Cents, per: Every },
    /// `for reaching the tier` (of the block it stands in)
    ReachingTier,
    /// `every month`: from the day the member enters the rule's scope.
    Every(Every),
    /// `on the first day of each month`
    FirstDayOf(Every),
}

/// `earn ...` (and `donate ... for ...`).
#[derive(Clone, Debug, PartialEq)]
pub struct EarnRule {
    /// The rule as written, for effects' reasons.
    pub text: String,
    pub benefit: Benefit,
    pub trigger: Trigger,
    pub conditions: Conditions,
    pub caps: Vec<Cap>,
    /// `paid out every year`: saved up, paid on each anniversary.
    pub paid_out_yearly: bool,
}

impl EarnRule {
    /// Whether the rule pays on a schedule rather than on an event.
    pub fn is_scheduled(&self) -> bool {
        self.paid_out_yearly || matches!(self.trigger, Trigger::Every(_) | Trigger::FirstDayOf(_))
    }

    /// Whether the rule earns by a rate on what is spent.
    pub fn is_rate(&self) -> bool {
        matches!(
            (self.benefit, self.trigger),
            (Benefit::Points(_) | Benefit::Money(_), Trigger::PerSpent(_)) | (Benefit::Back(_), _)
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bonus {
    pub text: String,
    pub kind: BonusKind,
    pub conditions: Conditions,
    pub caps: Vec<Cap>,
    pub exclusive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BonusKind {
    /// `bonus 3x points`
    PointsMultiplier(Decimal),
    /// `bonus 2x rewards`
    RewardsMultiplier(Decimal),
    /// `bonus 100 points`
    FlatPoints(Points),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Discount {
    pub text: String,
    pub percent: Decimal,
    pub conditions: Conditions,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Perk {
    pub name: String,
    pub text: String,
    /// What one use costs the brand, and per what.
    pub cost: Option<(Cents, PerkCost)>,
    pub conditions: Conditions,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Reward {
    pub name: String,
    /// On the ladder: what it costs in points.
    pub cost: Option<Points>,
    pub value: RewardValue,
    pub conditions: Conditions,
    /// How often a member may redeem it: `once per member`, `twice per
    /// year`.
    pub caps: Vec<Cap>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RewardValue {
    Money(Cents),
    PercentOff(Decimal),
}

/// `every 100 points become $5 reward`
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    pub text: String,
    pub points: Points,
    pub into: ConversionInto,
    /// `None`: as soon as the balance allows; else on the first day of
    /// each month or year.
    pub on_first_day_of: Option<Every>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversionInto {
    Money(Cents),
    Reward(RewardId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PointsExpiry {
    AfterEarned(Period),
    /// `at the end of the quarter after 12 months`: at the start of the
    /// period after the one that time falls in.
    AtEndOf {
        after: Period,
        every: Every,
    },
    Inactivity(Period),
    /// `each year on 31 March`: at the end of that day after earning.
    EachYearOn {
        month: u32,
        day: u32,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tier {
    pub name: String,
    pub qualification: Qualification,
    pub kept: Option<KeptFor>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualification {
    /// The tier members start in.
    None,
    Attribute(NameId),
    Threshold {
        measure: Measure,
        amount: i64,
        window: Window,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Measure {
    /// Cents spent (what members paid, after refunds).
    Spend,
    /// Points earned (never the balance).
    PointsEarned,
    Visits,
    /// Nights stayed: `for 50 nights in a calendar year`.
    Nights,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    CalendarYear,
    /// The current month and the months before it.
    LastMonths(u32),
    Total,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeptFor {
    Period(Period),
    UntilEndOfNextYear,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Membership {
    pub name: String,
    pub fee: Option<(Cents, Fee)>,
    pub trial: Option<Period>,
    /// The plans it replaces, and that replace it (`replaces "Plus"`):
    /// a member holds one of them at a time.
    pub replaces: Mask,
}

impl Fee {
    pub fn period(self) -> Option<Period> {
        match self {
            Fee::Monthly => Some(Period {
                count: 1,
                unit: DurationUnit::Months,
            }),
            Fee::Yearly => Some(Period {
                count: 1,
                unit: DurationUnit::Years,
            }),
            Fee::Once => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Charity {
    pub name: String,
    /// What a donated point gives; by default what points are worth.
    pub receives: Option<Rate>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Partner {
    pub name: String,
    /// The share of what is earned at the partner that the partner pays.
    pub funds: Decimal,
    /// `funds $0.80 per 100 points`: the price the partner pays for each
    /// point earned at it (and reward money earned there at its face
    /// value), in place of a share.
    pub price: Option<Rate>,
    /// `margin 10% on redemptions`: the share of what members redeem at
    /// the partner that the program keeps; the partner is paid the rest.
    pub margin: Decimal,
}

impl Partner {
    /// What the partner pays for an order that earned `points` and
    /// `money` at it, to the cent below.
    pub fn funding(&self, program: &Program, points: Points, money: Cents) -> Cents {
        match self.price {
            Some(price) => price.value_of(points).saturating_add(money),
            None => crate::decimal::percent_of(
                program.points_value(points).saturating_add(money),
                self.funds,
            ),
        }
    }
}

/// An index into [`Program::products`].
// Wide enough that no program a file can hold fills it.
pub type ProductsId = u32;

/// SKUs a condition names: as written, and as the keys items carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Products {
    pub skus: Vec<String>,
    /// [`sku_key`] of each, sorted.
    pub keys: Vec<u64>,
}

impl Products {
    pub fn contains(&self, key: u64) -> bool {
        self.keys.binary_search(&key).is_ok()
    }
}

/// An item's SKU as a 64-bit FNV-1a hash, so that the engine matches
/// products without comparing text.
pub fn sku_key(sku: &str) -> u64 {
    crate::fnv::hash(sku.as_bytes())
}

/// Cents as a decimal amount: `1250` is `12.50`.
pub fn cents_text(cents: Cents) -> String {
    crate::decimal::cents_text(cents)
}

impl Program {
    /// An amount with the program's currency sign: `$12.50`.
    pub fn money(&self, cents: Cents) -> String {
        format!("{}{}", self.currency_sign, cents_text(cents))
    }

    /// What donating `points` to a charity gives it.
    pub fn donation_value(&self, charity: CharityId, points: Points) -> Cents {
        self.charities[usize::from(charity)]
            .receives
            .or(self.point_value)
            .map_or(0, |rate| rate.value_of(points))
    }

    /// Adds a condition's SKUs to the table.
    pub fn add_products(&mut self, skus: Vec<String>) -> ProductsId {
        let mut keys: Vec<u64> = skus.iter().map(|sku| sku_key(sku)).collect();
        keys.sort_unstable();
        self.products.push(Products { skus, keys });
        (self.products.len() - 1) as ProductsId
    }

    /// Every budget shared by all members (`in total`, `available`), with
    /// the rule, bonus or reward it limits, as written.
    pub fn budgets(&self) -> impl Iterator<Item = (&str, &Cap)> {
        let rules = self.rules.iter().map(|r| (r.text.as_str(), &r.caps));
        let bonuses = self.bonuses.iter().map(|b| (b.text.as_str(), &b.caps));
        let rewards = self.rewards.iter().map(|r| (r.name.as_str(), &r.caps));
        (rules.chain(bonuses).chain(rewards))
            .flat_map(|(text, caps)| caps.iter().filter(|c| c.total).map(move |c| (text, c)))
    }

    pub fn points_value(&self, points: Points) -> Cents {
        self.point_value.map_or(0, |rate| rate.value_of(points))
    }
}

/// `Program` is shared across threads by the simulator.
const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Program>();
};
