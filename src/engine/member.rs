//! A member's state: balances by earn lot, counters for tiers, status of
//! tiers and memberships, punch cards and limits used.
//!
//! Everything here is plain data sized when the member enrols, so that
//! applying an event allocates nothing in the common case. It serialises
//! with serde; the ledger stores it as the member's snapshot in postcard
//! (binary), and the small records a member has many of (lots, orders,
//! counters) are written as tuples in field order, which keeps both that
//! and the lots' JSON in the `members` table small.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::event::{Item, Purchase};
use crate::prefetch::prefetch;
use crate::program::{
    Anchor, Cents, Conditions, Measure, Place, Points, Program, RewardId, Scope, TierId, Window,
    mask_has,
};
use crate::time::{Calendar, Time};

/// Serialises a record as an array of its fields in order, and reads it
/// back from one.
macro_rules! as_tuple {
    ($name:ident { $($field:ident: $ty:ty),* }) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                ($(&self.$field,)*).serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let ($($field,)*) = <($($ty,)*)>::deserialize(d)?;
                Ok($name { $($field),* })
            }
        }
    };
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub enrolled_at: Time,
    /// Month and day.
    pub birthday: Option<(u32, u32)>,
    /// Declared attributes the member has, as bits.
    pub attributes: u64,
    pub points: Lots,
    /// Reward money, in cents.
    pub money: Lots,
    /// Rewards issued and not yet used.
    pub rewards: Vec<HeldReward>,
    pub totals: Totals,
    pub tier: Option<TierId>,
    pub tier_since: Time,
    pub tiers: Vec<TierStatus>,
    pub counters: Counters,
    pub memberships: Vec<MembershipStatus>,
    /// Per earn rule: punch card, spend so far, payouts due.
    pub rules: Vec<RuleStatus>,
    /// Per limit clause.
    pub caps: Vec<CapUse>,
    /// Per bonus: the chosen days used.
    pub chosen: Vec<ChosenDays>,
    /// Orders that carried an id, for refunds.
    pub orders: Vec<Order>,
    /// The last purchase, action or redemption: inactivity expiry counts
    /// from here.
    pub last_activity: Time,
    pub next_birthday: Time,
    pub next_conversion: Time,
    pub next_tier_review: Time,
    /// The earliest moment scheduled work is due, kept up to date by the
    /// engine after every change so that a `tick` skips idle members.
    pub due: Time,
    /// What tiers depend on (counts, attributes) changed since the last
    /// tier review; reviews also come due by time (`next_tier_review`).
    /// Always false between events, so the snapshot need not keep it.
    #[serde(skip)]
    pub tiers_stale: bool,
    /// Uses of limits counted over a length of time just past (`per 12
    /// months`), oldest first, each kept until it leaves its window.
    #[serde(
        deserialize_with = "since_schema_6",
        skip_serializing_if = "before_schema_6"
    )]
    pub recent: Vec<RecentUse>,
    /// Points a purchase earned that cannot be spent yet, oldest first.
    #[serde(
        deserialize_with = "since_schema_6",
        skip_serializing_if = "before_schema_6"
    )]
    pub pending: Vec<PendingPoints>,
    /// The member's own time: of their latest event, or of the latest
    /// scheduled work that ran for them. An event older than this
    /// happens at this time instead (order is kept per member).
    #[serde(
        deserialize_with = "since_schema_8",
        skip_serializing_if = "before_schema_8"
    )]
    pub time: Time,
}

impl Member {
    pub fn new(program: &Program, id: &str, at: Time) -> Member {
        let mut member = Member::placeholder(at);
        member.reset(program, at);
        member.id.push_str(id);
        member
    }

    /// A member with nothing allocated, to be replaced by a real one.
    pub fn placeholder(at: Time) -> Member {
        Member {
            id: String::new(),
            enrolled_at: at,
            birthday: None,
            attributes: 0,
            points: Lots::default(),
            money: Lots::default(),
            rewards: Vec::new(),
            totals: Totals::default(),
            tier: None,
            tier_since: at,
            tiers: Vec::new(),
            counters: Counters::new(at),
            memberships: Vec::new(),
            rules: Vec::new(),
            caps: Vec::new(),
            chosen: Vec::new(),
            orders: Vec::new(),
            last_activity: at,
            next_birthday: Time::NEVER,
            next_conversion: Time::NEVER,
            next_tier_review: Time::NEVER,
            due: Time::NEVER,
            tiers_stale: false,
            recent: Vec::new(),
            pending: Vec::new(),
            time: at,
        }
    }

    /// Makes this member a new one enrolled at `at`, keeping the heap
    /// blocks: the simulator reuses one member for every customer.
    pub fn reset(&mut self, program: &Program, at: Time) {
        self.id.clear();
        self.enrolled_at = at;
        self.birthday = None;
        self.attributes = 0;
        self.points.lots.clear();
        self.points.balance = 0;
        self.money.lots.clear();
        self.money.balance = 0;
        self.rewards.clear();
        self.totals = Totals::default();
        self.tier = None;
        self.tier_since = at;
        fill(&mut self.tiers, program.tiers.len(), TierStatus::default());
        self.counters.reset(at);
        fill(
            &mut self.memberships,
            program.memberships.len(),
            MembershipStatus::default(),
        );
        fill(&mut self.rules, program.rules.len(), RuleStatus::default());
        fill(&mut self.caps, program.cap_slots, CapUse::default());
        fill(
            &mut self.chosen,
            program.bonuses.len(),
            ChosenDays::default(),
        );
        self.orders.clear();
        self.recent.clear();
        self.pending.clear();
        self.last_activity = at;
        self.next_birthday = Time::NEVER;
        self.next_conversion = Time::NEVER;
        self.next_tier_review = Time::NEVER;
        self.due = Time::NEVER;
        self.tiers_stale = false;
        self.time = at;
    }

    /// When a rule's `within` clause counts from.
    pub fn anchor(&self, scope: Scope, anchor: Anchor) -> Time {
        match (anchor, scope) {
            (Anchor::Joining, Scope::Membership(m)) => self.memberships[usize::from(m)].since,
            (Anchor::Joining, _) => self.enrolled_at,
            (Anchor::ReachingTier, Scope::Tier(t)) => self.tiers[usize::from(t)].reached_at,
            (Anchor::ReachingTier, _) => self.tier_since,
        }
    }

    /// Whether conditions hold for the member now, and for the purchase
    /// if there is one: the order as a whole, and some item of its basket
    /// for the conditions on items ([`fits`]). Chosen days are checked by
    /// the caller, which must also count them.
    pub fn meets(
        &self,
        c: &Conditions,
        program: &Program,
        at: Time,
        purchase: Option<&Purchase>,
    ) -> bool {
        let m = self;
        let calendar = &program.calendar;
        if !m.in_scope(c.scope) || !mask_has(c.tiers, m.tier) {
            return false;
        }
        if c.attribute.is_some_and(|a| !m.has_attribute(a)) {
            return false;
        }
        if let Some((period, anchor)) = c.within
            && at >= calendar.after(period, self.anchor(c.scope, anchor))
        {
            return false;
        }
        if let Some((from, until)) = c.between
            && (at < from || at >= until)
        {
            return false;
        }
        if (c.days.is_some() || c.hours.is_some()) && !calendar.on_days_and_hours(c, at) {
            return false;
        }
        match purchase {
            None => !c.is_about_purchases(),
            Some(p) => {
                let place = match c.place {
                    Place::Own { .. } => p.partner.is_none(),
                    Place::AnyPartner => p.partner.is_some(),
                    Place::Partners(mask) => mask_has(Some(mask), p.partner),
                };
                place
                    && mask_has(c.channels, p.channel)
                    && mask_has(c.payment_methods, p.payment_method)
                    && c.min_order.is_none_or(|min| p.amount >= min)
                    && (c.chosen_days.is_none() || p.chosen_day)
                    && (!c.is_about_items() || p.lines().any(|line| fits(program, c, &line)))
            }
        }
    }

    pub fn has_attribute(&self, id: u16) -> bool {
        id < 64 && self.attributes & (1 << id) != 0
    }

    /// Counts spend, points or visits for tiers; the next change settles
    /// the tiers again.
    pub fn count(&mut self, program: &Program, at: Time, made_at: Time, change: Tally) {
        self.counters.add(program, at, made_at, change);
        self.tiers_stale = true;
    }

    /// Starts loading the member's record (see [`crate::prefetch`]).
    pub fn prefetch_record(&self) {
        let start = (self as *const Member).cast::<u8>();
        for line in (0..size_of::<Member>()).step_by(64) {
            prefetch(start.wrapping_add(line));
        }
    }

    /// Starts loading the first line of each of the member's parts that
    /// an event reads; the record itself must be loaded by now.
    pub fn prefetch_parts(&self) {
        prefetch(self.points.lots.as_ptr());
        prefetch(self.money.lots.as_ptr());
        prefetch(self.rewards.as_ptr());
        prefetch(self.tiers.as_ptr());
        prefetch(self.counters.months.as_ptr());
        prefetch(self.memberships.as_ptr());
        prefetch(self.rules.as_ptr());
        prefetch(self.caps.as_ptr());
        prefetch(self.orders.as_ptr());
    }

    pub fn order(&self, id: &str) -> Option<usize> {
        let key = order_key(id);
        self.orders.iter().position(|o| o.key == key)
    }

    /// Takes up to `points` from what the order `order` has pending;
    /// returns how many.
    pub fn cancel_pending(&mut self, order: u64, points: Points) -> Points {
        let mut left = points.max(0);
        for pending in self.pending.iter_mut().rev().filter(|p| p.order == order) {
            let taken = pending.points.min(left);
            pending.points -= taken;
            left -= taken;
        }
        self.pending.retain(|p| p.points > 0);
        points.max(0) - left
    }

    /// The points waiting to become available.
    pub fn pending_points(&self) -> Points {
        self.pending
            .iter()
            .fold(0, |sum, p| sum.saturating_add(p.points))
    }
}

/// Whether an item of a basket is one that conditions take: its
/// category, product and brand (one of the program's own brands) among
/// those named, and not among those excluded.
pub fn fits(program: &Program, c: &Conditions, item: &Item) -> bool {
    let named = |products: Option<crate::program::ProductsId>| {
        products.map(|p| program.products[p as usize].contains(item.sku))
    };
    let brands = match c.place {
        Place::Own { brands } => brands,
        _ => None,
    };
    mask_has(c.categories, item.category)
        && mask_has(brands, item.brand)
        && named(c.products) != Some(false)
        && named(c.excluded_products) != Some(true)
        && !c
            .excluded_categories
            .is_some_and(|mask| mask_has(Some(mask), item.category))
}

/// Points or reward money in lots by the time they expire, oldest-
/// expiring first. Spending takes from the front, so what is spent is
/// always what would have expired first and balances never drift.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Lots {
    pub lots: Vec<Lot>,
    pub balance: i64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lot {
    pub earned_at: Time,
    pub expires_at: Time,
    pub amount: i64,
}

as_tuple!(Lot {
    earned_at: Time,
    expires_at: Time,
    amount: i64
});

impl Lots {
    /// Adds to the lot with the same expiry, else a new lot in order.
    pub fn add(&mut self, earned_at: Time, expires_at: Time, amount: i64) {
        if amount <= 0 {
            return;
        }
        self.balance = self.balance.saturating_add(amount);
        let position = self.lots.partition_point(|lot| lot.expires_at < expires_at);
        match self.lots.get_mut(position) {
            Some(lot) if lot.expires_at == expires_at => {
                lot.amount = lot.amount.saturating_add(amount)
            }
            _ => self.lots.insert(
                position,
                Lot {
                    earned_at,
                    expires_at,
                    amount,
                },
            ),
        }
    }

    /// Takes up to `amount`, oldest-expiring first; returns what it took.
    pub fn take(&mut self, amount: i64) -> i64 {
        let mut left = amount.min(self.balance).max(0);
        let taken = left;
        let mut emptied = 0;
        for lot in self.lots.iter_mut() {
            if left == 0 {
                break;
            }
            let part = lot.amount.min(left);
            lot.amount -= part;
            left -= part;
            if lot.amount == 0 {
                emptied += 1;
            }
        }
        self.lots.drain(..emptied);
        self.balance -= taken;
        taken
    }

    /// Removes the lots that expire at or before `at`; returns how much.
    pub fn expire(&mut self, at: Time) -> i64 {
        let due = self.lots.partition_point(|lot| lot.expires_at <= at);
        let amount: i64 = self.lots.drain(..due).map(|lot| lot.amount).sum();
        self.balance -= amount;
        amount
    }

    /// Removes everything (expiry after inactivity).
    pub fn expire_all(&mut self) -> i64 {
        self.lots.clear();
        std::mem::take(&mut self.balance)
    }

    pub fn next_expiry(&self) -> Time {
        self.lots.first().map_or(Time::NEVER, |lot| lot.expires_at)
    }
}

/// Running totals, which make conservation checkable:
/// issued = redeemed + expired + donated + clawed back + balance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub points_issued: Points,
    pub points_redeemed: Points,
    pub points_expired: Points,
    pub points_donated: Points,
    pub points_clawed_back: Points,
    pub money_issued: Cents,
    pub money_spent: Cents,
    pub money_expired: Cents,
    pub money_clawed_back: Cents,
}

as_tuple!(Totals {
    points_issued: Points,
    points_redeemed: Points,
    points_expired: Points,
    points_donated: Points,
    points_clawed_back: Points,
    money_issued: Cents,
    money_spent: Cents,
    money_expired: Cents,
    money_clawed_back: Cents
});

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeldReward {
    pub reward: RewardId,
    pub issued_at: Time,
    pub expires_at: Time,
}

as_tuple!(HeldReward {
    reward: RewardId,
    issued_at: Time,
    expires_at: Time
});

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierStatus {
    /// Reached by qualification or kept from before.
    pub held: bool,
    pub reached_at: Time,
    /// Status lasts until then even without qualifying.
    pub kept_until: Time,
}

as_tuple!(TierStatus {
    held: bool,
    reached_at: Time,
    kept_until: Time
});

impl Default for TierStatus {
    fn default() -> Self {
        TierStatus {
            held: false,
            reached_at: Time::NEVER,
            kept_until: Time(i64::MIN),
        }
    }
}

/// What tiers count: spend, points earned and visits, in the current
/// calendar year, by month for rolling windows, and in total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub year: i32,
    pub this_year: Tally,
    pub total: Tally,
    /// The most recent months first, at most as many as the longest
    /// rolling window.
    pub months: Vec<(i64, Tally)>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub spend: Cents,
    pub points: Points,
    pub visits: i64,
    /// Nights stayed (a purchase's `nights`).
    pub nights: i64,
}

impl Serialize for Tally {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let counts = (self.spend, self.points, self.visits);
        match READING_SCHEMA.get() {
            ..7 => counts.serialize(s),
            _ => (counts, self.nights).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Tally {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ((spend, points, visits), nights) = match READING_SCHEMA.get() {
            ..7 => (<(Cents, Points, i64)>::deserialize(d)?, 0),
            _ => <((Cents, Points, i64), i64)>::deserialize(d)?,
        };
        Ok(Tally {
            spend,
            points,
            visits,
            nights,
        })
    }
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.spend = self.spend.saturating_add(other.spend);
        self.points = self.points.saturating_add(other.points);
        self.visits = self.visits.saturating_add(other.visits);
        self.nights = self.nights.saturating_add(other.nights);
    }

    fn get(&self, measure: Measure) -> i64 {
        match measure {
            Measure::Spend => self.spend,
            Measure::PointsEarned => self.points,
            Measure::Visits => self.visits,
            Measure::Nights => self.nights,
        }
    }
}

/// `n` copies of `x` in `v`'s heap block.
fn fill<T: Clone>(v: &mut Vec<T>, n: usize, x: T) {
    v.clear();
    v.resize(n, x);
}

impl Counters {
    fn new(at: Time) -> Counters {
        Counters {
            year: at.year(),
            this_year: Tally::default(),
            total: Tally::default(),
            months: Vec::new(),
        }
    }

    fn reset(&mut self, at: Time) {
        self.year = at.year();
        self.this_year = Tally::default();
        self.total = Tally::default();
        self.months.clear();
    }

    /// Starts a new calendar year when `at` is in one.
    pub fn roll(&mut self, calendar: &Calendar, at: Time) {
        let year = calendar.local(at).year();
        if year != self.year {
            self.year = year;
            self.this_year = Tally::default();
        }
    }

    /// Counts a change made at `at` (negative for refunds); `made_at` is
    /// when the counted order happened, so a refund lowers the period the
    /// order counted in.
    pub fn add(&mut self, program: &Program, at: Time, made_at: Time, change: Tally) {
        self.roll(&program.calendar, at);
        let (at, made_at) = (program.calendar.local(at), program.calendar.local(made_at));
        self.total.add(change);
        if made_at.year() == self.year {
            self.this_year.add(change);
        }
        if program.rolling_months > 0 {
            let month = made_at.month_index();
            let oldest = at.month_index() - i64::from(program.rolling_months) + 1;
            match self.months.iter_mut().find(|(m, _)| *m == month) {
                Some((_, tally)) => tally.add(change),
                None if month >= oldest => {
                    self.months.insert(0, (month, change));
                    self.months.sort_by_key(|(m, _)| std::cmp::Reverse(*m));
                }
                None => {}
            }
            self.months.retain(|(m, _)| *m >= oldest);
        }
    }

    pub fn measure(&self, measure: Measure, window: Window, calendar: &Calendar, at: Time) -> i64 {
        let at = calendar.local(at);
        match window {
            Window::Total => self.total.get(measure),
            Window::CalendarYear if at.year() == self.year => self.this_year.get(measure),
            Window::CalendarYear => 0,
            Window::LastMonths(n) => {
                let now = at.month_index();
                let oldest = now - i64::from(n) + 1;
                self.months
                    .iter()
                    .filter(|(m, _)| *m >= oldest && *m <= now)
                    .map(|(_, tally)| tally.get(measure))
                    .sum()
            }
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipState {
    #[default]
    None,
    Trial,
    Active,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MembershipStatus {
    pub state: MembershipState,
    /// When the member last subscribed.
    pub since: Time,
    /// The end of the trial, or of the period paid for; the next fee is
    /// due then unless cancelled. `NEVER` for free and lifetime plans.
    pub until: Time,
    pub cancelled: bool,
    /// A trial is given once per member.
    pub trial_used: bool,
}

as_tuple!(MembershipStatus {
    state: MembershipState,
    since: Time,
    until: Time,
    cancelled: bool,
    trial_used: bool
});

impl Default for MembershipStatus {
    fn default() -> Self {
        MembershipStatus {
            state: MembershipState::None,
            since: Time::NEVER,
            until: Time::NEVER,
            cancelled: false,
            trial_used: false,
        }
    }
}

impl MembershipStatus {
    pub fn is_active(&self) -> bool {
        self.state != MembershipState::None
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleStatus {
    /// A punch card's stamps, spend in the period, or the remainder of
    /// spend not yet worth a step (`$5 reward per $100 spent`).
    pub counter: i64,
    /// The period `counter` counts in, for `for spending $30 in a month`.
    pub period: i64,
    /// When a recurring rule next pays.
    pub next_at: Time,
    /// Saved up for `paid out every year`, in cents.
    pub accrued: Cents,
}

as_tuple!(RuleStatus {
    counter: i64,
    period: i64,
    next_at: Time,
    accrued: Cents
});

impl Default for RuleStatus {
    fn default() -> Self {
        RuleStatus {
            counter: 0,
            period: i64::MIN,
            next_at: Time::NEVER,
            accrued: 0,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapUse {
    pub period: i64,
    pub used: i64,
}

as_tuple!(CapUse {
    period: i64,
    used: i64
});

impl Default for CapUse {
    fn default() -> Self {
        CapUse {
            period: i64::MIN,
            used: 0,
        }
    }
}

/// Points an order earned, waiting until they can be spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingPoints {
    pub until: Time,
    pub points: Points,
    /// [`order_key`] of the order, 0 without an id.
    pub order: u64,
}

as_tuple!(PendingPoints {
    until: Time,
    points: Points,
    order: u64
});

/// A use of a limit counted over a length of time just past: what it
/// counted (1 for a limit on times) and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecentUse {
    pub slot: u32,
    pub at: Time,
    pub amount: i64,
}

as_tuple!(RecentUse {
    slot: u32,
    at: Time,
    amount: i64
});

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChosenDays {
    pub period: i64,
    pub used: u32,
    /// The last day chosen (days since 1970).
    pub day: i64,
}

as_tuple!(ChosenDays {
    period: i64,
    used: u32,
    day: i64
});

impl Default for ChosenDays {
    fn default() -> Self {
        ChosenDays {
            period: i64::MIN,
            used: 0,
            day: i64::MIN,
        }
    }
}

/// An order id as a 64-bit FNV-1a hash: orders are found by it without
/// storing (and allocating) the id; two ids of one member's orders meet
/// by chance about once in 10^19.
pub fn order_key(id: &str) -> u64 {
    crate::fnv::hash(id.as_bytes())
}

/// An order with an id: what it earned, so a refund claws back its share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Order {
    /// [`order_key`] of the order's id.
    pub key: u64,
    pub at: Time,
    /// What the member paid, which refunds are measured against.
    pub paid: Cents,
    pub refunded: Cents,
    pub points: Points,
    pub points_clawed_back: Points,
    pub money: Cents,
    pub money_clawed_back: Cents,
    /// The earn rule whose payout was saved up rather than issued.
    pub accrued_rule: Option<u16>,
    /// What the order brought besides its rate: `points` above counts
    /// the points of its visit too.
    pub visit: VisitCredit,
    /// The partner the order was made at, who funds part of what it
    /// earned and is paid back on a refund.
    pub partner: Option<u16>,
    /// The basket, when the purchase listed it: what a refund that names
    /// items is worked out from.
    pub items: Vec<OrderItem>,
    /// The nights of a stay, which a refund in full takes back.
    pub nights: u32,
}

/// An item of an order, as a refund names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderItem {
    /// [`crate::program::sku_key`] of its SKU.
    pub sku: u64,
    pub quantity: u32,
    pub refunded: u32,
    /// What the member paid for all its units, after the order's
    /// reductions.
    pub paid: Cents,
}

as_tuple!(OrderItem {
    sku: u64,
    quantity: u32,
    refunded: u32,
    paid: Cents
});

/// What an order brought as a visit and at a partner, beyond what its
/// spend earned: a refund takes its share back, and a refund in full
/// undoes the visit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VisitCredit {
    /// Reward money that `for visit` and spending rules issued.
    pub money: Cents,
    pub money_clawed_back: Cents,
    /// Rewards they issued (the first four), and how many.
    pub rewards: [RewardId; 4],
    pub reward_count: u8,
    /// The punch cards (`for every 5th visit`) it punched, by rule (the
    /// first 64).
    pub punched: u64,
    /// What the partner paid of what the order earned, and gave back.
    pub funded: Cents,
    pub funded_returned: Cents,
    /// Whether a refund in full has undone the visit.
    pub undone: bool,
}

as_tuple!(VisitCredit {
    money: Cents,
    money_clawed_back: Cents,
    rewards: [RewardId; 4],
    reward_count: u8,
    punched: u64,
    funded: Cents,
    funded_returned: Cents,
    undone: bool
});

impl Serialize for Order {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields: OrderFields = (
            self.key,
            self.at,
            self.paid,
            self.refunded,
            self.points,
            self.points_clawed_back,
            self.money,
            self.money_clawed_back,
            self.accrued_rule,
        );
        match READING_SCHEMA.get() {
            ..5 => fields.serialize(s),
            5 => (fields, self.visit).serialize(s),
            6 => (fields, self.visit, self.partner, &self.items).serialize(s),
            _ => (fields, self.visit, self.partner, &self.items, self.nights).serialize(s),
        }
    }
}

type OrderFields = (
    u64,
    Time,
    Cents,
    Cents,
    Points,
    Points,
    Cents,
    Cents,
    Option<u16>,
);

impl<'de> Deserialize<'de> for Order {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (fields, visit, partner, items, nights) = match READING_SCHEMA.get() {
            ..5 => (
                OrderFields::deserialize(d)?,
                VisitCredit::default(),
                None,
                Vec::new(),
                0,
            ),
            5 => {
                let (fields, visit) = <(OrderFields, VisitCredit)>::deserialize(d)?;
                (fields, visit, None, Vec::new(), 0)
            }
            6 => {
                let (fields, visit, partner, items) =
                    <(OrderFields, VisitCredit, Option<u16>, Vec<OrderItem>)>::deserialize(d)?;
                (fields, visit, partner, items, 0)
            }
            _ => <(OrderFields, VisitCredit, Option<u16>, Vec<OrderItem>, u32)>::deserialize(d)?,
        };
        let (
            key,
            at,
            paid,
            refunded,
            points,
            points_clawed_back,
            money,
            money_clawed_back,
            accrued_rule,
        ) = fields;
        Ok(Order {
            key,
            at,
            paid,
            refunded,
            points,
            points_clawed_back,
            money,
            money_clawed_back,
            accrued_rule,
            visit,
            partner,
            items,
            nights,
        })
    }
}

/// The ledger schema whose member snapshots this build writes. Each
/// later schema only adds state; what a snapshot of an earlier one lacks
/// reads as its default ([`in_snapshot_schema`]).
pub const SNAPSHOT_SCHEMA: u32 = 8;

thread_local! {
    /// The schema of the snapshots being read or written.
    static READING_SCHEMA: std::cell::Cell<u32> = const { std::cell::Cell::new(SNAPSHOT_SCHEMA) };
}

/// Reads or writes, in `work`, snapshots of an earlier ledger `schema`:
/// - before 5, orders did not keep their visit, so an order read from
///   one has nothing to undo beyond its share of what it earned;
/// - before 6, members had no recent uses of limits counted over a
///   length of time, no pending points and no tier set by hand;
/// - before 7, nothing counted nights;
/// - before 8, members had no time of their own (it reads as never, so
///   their next event happens at its own time).
pub fn in_snapshot_schema<T>(schema: u32, work: impl FnOnce() -> T) -> T {
    READING_SCHEMA.set(schema);
    let result = work();
    READING_SCHEMA.set(SNAPSHOT_SCHEMA);
    result
}

/// Writes state added in schema 6 only into snapshots of schema 6 on.
fn before_schema_6<T>(_: &T) -> bool {
    READING_SCHEMA.get() < 6
}

/// Writes state added in schema 8 only into snapshots of schema 8 on.
fn before_schema_8<T>(_: &T) -> bool {
    READING_SCHEMA.get() < 8
}

/// Reads state that snapshots have had since schema 8.
fn since_schema_8<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    if READING_SCHEMA.get() < 8 {
        Ok(T::default())
    } else {
        T::deserialize(d)
    }
}

/// Reads state that snapshots have had since schema 6.
fn since_schema_6<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    if READING_SCHEMA.get() < 6 {
        Ok(T::default())
    } else {
        T::deserialize(d)
    }
}

impl Member {
    /// The member under a new version of the program. Names carry over:
    /// tiers, memberships, held rewards by name, earn rules by their
    /// text. Balances, lots, orders and counters are kept; limits used,
    /// chosen days and the state of rules that changed start again.
    pub fn migrate(self, old: &Program, new: &Program) -> Member {
        let mut m = Member {
            tiers: vec![TierStatus::default(); new.tiers.len()],
            memberships: vec![MembershipStatus::default(); new.memberships.len()],
            rules: vec![RuleStatus::default(); new.rules.len()],
            caps: vec![CapUse::default(); new.cap_slots],
            chosen: vec![ChosenDays::default(); new.bonuses.len()],
            recent: Vec::new(),
            ..self.clone()
        };
        let tier = |t: TierId| new.tier_names.id(&old.tiers[usize::from(t)].name);
        for (t, status) in self.tiers.iter().enumerate() {
            if let Some(n) = tier(t as TierId) {
                m.tiers[usize::from(n)] = *status;
            }
        }
        m.tier = self.tier.and_then(tier);
        for (p, status) in self.memberships.iter().enumerate() {
            if let Some(n) = new.membership_names.id(&old.memberships[p].name) {
                m.memberships[usize::from(n)] = *status;
            }
        }
        for (r, status) in self.rules.iter().enumerate() {
            if let Some(n) = new
                .rules
                .iter()
                .position(|rule| rule.text == old.rules[r].text)
            {
                m.rules[n] = *status;
            }
        }
        m.rewards = self
            .rewards
            .iter()
            .filter_map(|held| {
                let id = new
                    .reward_names
                    .id(&old.rewards[usize::from(held.reward)].name)?;
                Some(HeldReward {
                    reward: id,
                    ..*held
                })
            })
            .collect();
        for order in &mut m.orders {
            order.accrued_rule = order.accrued_rule.and_then(|r| {
                let text = &old.rules[usize::from(r)].text;
                new.rules
                    .iter()
                    .position(|rule| &rule.text == text)
                    .map(|n| n as u16)
            });
        }
        m
    }
}

#[cfg(test)]
mod snapshot_tests {
    use super::*;

    #[test]
    fn an_earlier_schema_s_snapshot_reads_back() {
        let program = Program::default();
        let member = Member::new(&program, "a", Time(0));
        for schema in [4, 5, 6] {
            let bytes = in_snapshot_schema(schema, || postcard::to_allocvec(&member).unwrap());
            let back: Member = in_snapshot_schema(schema, || postcard::from_bytes(&bytes)).unwrap();
            assert_eq!(back, member, "schema {schema}");
        }
    }
}
