//! The scenario: who the customers are and how they respond to a
//! program. Every number has a name and a default; the defaults, their
//! sources and which are assumptions are listed in the README
//! ("Scenario"). A file needs to say only what differs.
//!
//! Range checks happen while deserializing (the number types below), so
//! that a bad value is reported by the TOML parser with its place in
//! the file.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::Span;
use crate::time::Time;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub simulation: Simulation,
    /// New customers over the horizon, shared among the segments.
    #[serde(default)]
    pub arrivals: Arrivals,
    #[serde(default = "default_segments", rename = "segment")]
    pub segments: Vec<Segment>,
    #[serde(default)]
    pub behavior: Behavior,
    /// When in the week orders come.
    #[serde(default)]
    pub week: WeekProfile,
}

/// How the purchase rate varies over the week: a weight for each day
/// (Monday first) and each hour of the day (from 00:00), in the
/// program's time zone; an hour of the week weighs its day's weight
/// times its hour's. By default every hour weighs the same.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeekProfile {
    pub days: Weights<7>,
    pub hours: Weights<24>,
}

/// `N` weights of 0 or more, not all 0.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Weights<const N: usize>(pub [f64; N]);

impl<const N: usize> Serialize for Weights<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter())
    }
}

impl<const N: usize> Default for Weights<N> {
    fn default() -> Self {
        Weights([1.0; N])
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Simulation {
    /// The customers at the start, who have made their first purchase
    /// already; new ones come as `arrivals`.
    pub customers: Whole,
    pub months: Months,
    pub runs: Count,
    pub seed: u64,
    /// The first day simulated (`YYYY-MM-DD`).
    pub start: Date,
    /// The share of revenue kept after the cost of goods, which turns
    /// incremental revenue into incremental margin.
    pub gross_margin: Probability,
}

impl Default for Simulation {
    fn default() -> Self {
        Simulation {
            customers: Whole(10_000),
            months: Months(36),
            runs: Count(100),
            seed: 1,
            start: Date(Time::from_date(2027, 1, 1)),
            gross_margin: Probability(0.40),
        }
    }
}

/// A group of customers who buy alike.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Segment {
    pub name: String,
    /// The segment's share of the customers; shares add up to 1.
    pub share: Probability,
    pub purchase: Purchases,
    pub spend: Spend,
    /// New customers of this segment over the horizon, besides its share
    /// of the scenario's `[arrivals]`.
    pub arrivals: Arrivals,
    /// Chance that an order is returned, in whole or in part.
    pub returns: Probability,
    /// Chance that a return takes back the whole order; otherwise a
    /// share of it, uniform between nothing and all.
    pub whole_returns: Probability,
    /// Chance that a customer joins the program at their first order.
    pub enroll: Probability,
    /// Chance that a member takes each paid membership when joining.
    pub subscribe: Probability,
    /// Chance that a member has each attribute the program declares
    /// (a co-branded credit card), from joining.
    pub card: Probability,
    /// Chance that a member who can afford a reward redeems it at an
    /// order.
    pub redeem: Probability,
    /// Chance that a member spends the reward money they hold on an
    /// order.
    pub use_reward_money: Probability,
    /// Chance that a member uses a reward they hold (a free drink, a
    /// gift worth $10) on an order it applies to.
    pub use_rewards: Probability,
    /// Chance that a member uses each perk they have that costs per use
    /// (same-day delivery) with an order.
    pub use_perks: Probability,
    /// Chance that a member uses a chosen bonus day on an order when
    /// one is left.
    pub chosen_day: Probability,
    /// Chance per year that a member donates their points to a charity
    /// the program names.
    pub donate: Probability,
    /// Chance per month that a member does each action the program
    /// rewards (a review, a newsletter sign-up, an app check-in).
    pub actions: Probability,
    /// Chance per year that a member refers a friend.
    pub refer: Probability,
    /// Chance that a member gives their birthday.
    pub birthday: Probability,
    /// Share of orders made at the program's partners.
    pub partner_orders: Probability,
    /// Items in an order, on average (1 to 100). Above 1, or when the
    /// program names products, an order is a basket of 1 +
    /// Poisson(items − 1) items sharing its value at random, each of a
    /// category and a product drawn from the mixes below.
    pub items: ItemsPerOrder,
    /// Share of items that are each product (SKU) the program names; the
    /// rest are none of them. Unnamed: each gets 1/(n+1).
    pub products: BTreeMap<String, Probability>,
    /// Nights in a stay, on average (1 to 30), for a program whose tiers
    /// count nights: 1 + Poisson(nights − 1) an order.
    pub nights: NightsPerStay,
    /// Share of orders in each category the program names; the rest are
    /// in none. Unnamed: each category gets 1/(n+1).
    pub categories: BTreeMap<String, Probability>,
    /// The same for channels.
    pub channels: BTreeMap<String, Probability>,
    /// The same for payment methods.
    pub payment_methods: BTreeMap<String, Probability>,
}

impl Default for Segment {
    fn default() -> Self {
        Segment {
            name: "everyone".into(),
            share: Probability(1.0),
            purchase: Purchases::default(),
            spend: Spend::default(),
            arrivals: Arrivals::default(),
            returns: Probability(0.10),
            whole_returns: Probability(0.70),
            enroll: Probability(0.30),
            subscribe: Probability(0.20),
            card: Probability(0.05),
            redeem: Probability(0.50),
            use_reward_money: Probability(0.90),
            use_rewards: Probability(0.60),
            use_perks: Probability(0.30),
            chosen_day: Probability(1.0),
            donate: Probability(0.01),
            actions: Probability(0.10),
            refer: Probability(0.05),
            birthday: Probability(0.60),
            partner_orders: Probability(0.10),
            items: ItemsPerOrder(1.0),
            nights: NightsPerStay(2.0),
            products: BTreeMap::new(),
            categories: BTreeMap::new(),
            channels: BTreeMap::new(),
            payment_methods: BTreeMap::new(),
        }
    }
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            simulation: Simulation::default(),
            arrivals: Arrivals::default(),
            segments: default_segments(),
            behavior: Behavior::default(),
            week: WeekProfile::default(),
        }
    }
}

fn default_segments() -> Vec<Segment> {
    vec![Segment::default()]
}

/// BG/NBD (Fader, Hardie & Lee 2005): while alive a customer buys at a
/// Poisson rate λ ~ Gamma(r, alpha) per `unit`, and after each purchase
/// drops out with probability p ~ Beta(a, b). Defaults: the CDNOW
/// estimates of the paper, in weeks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Purchases {
    pub r: Positive,
    pub alpha: Positive,
    pub a: Positive,
    pub b: Positive,
    pub unit: TimeUnit,
}

impl Default for Purchases {
    fn default() -> Self {
        Purchases {
            r: Positive(0.243),
            alpha: Positive(4.414),
            a: Positive(0.793),
            b: Positive(2.426),
            unit: TimeUnit::Week,
        }
    }
}

/// Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): an order's
/// value is Gamma(p, ν) with ν ~ Gamma(q, v) per customer, in the
/// program's currency. Defaults: the CDNOW estimates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Spend {
    pub p: Positive,
    pub q: Positive,
    pub v: Positive,
}

impl Default for Spend {
    fn default() -> Self {
        Spend {
            p: Positive(6.25),
            q: Positive(3.74),
            v: Positive(15.44),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    Day,
    Week,
    Month,
    Year,
}

impl TimeUnit {
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Day => 1.0,
            TimeUnit::Week => 7.0,
            TimeUnit::Month => 365.25 / 12.0,
            TimeUnit::Year => 365.25,
        }
    }
}

/// How customers respond to the program. A multiplier of 1 (or 0)
/// switches its effect off.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Behavior {
    /// Purchase rate of members against non-members.
    pub member_lift: Multiplier,
    /// Purchase rate of paid members against non-members.
    pub paid_member_lift: Multiplier,
    /// Purchase rate at the last step before a reward (a punch card's
    /// last stamp, points about to become a reward); it rises from 1 in
    /// proportion to the progress.
    pub goal_gradient: Multiplier,
    /// The same before a tier's threshold.
    pub tier_pressure: Multiplier,
    /// Purchase rate in the month after a redemption.
    pub after_redemption: Multiplier,
    /// Order value in the year after losing a tier.
    pub demotion_spend: Multiplier,
    /// Purchase rate while points are due to expire within 30 days.
    pub expiry_lift: Multiplier,
    /// Chance that a free trial becomes paid.
    pub trial_conversion: Probability,
    /// Chance that a paid membership renews at the end of its first
    /// year; monthly plans spread it over twelve renewals.
    pub renewal_first_year: Probability,
    /// The same in later years.
    pub renewal_later: Probability,
    /// How much more a referred friend spends per order than a customer
    /// who came on their own.
    pub referred_value: Multiplier,
    /// The share of outstanding points expected to be redeemed, which
    /// turns them into a liability.
    pub redemption_share: Probability,
    /// A multiplier on members' drop-out: when their no-program twin
    /// drops out, a member drops out with this chance, and one who stays
    /// drops out after each later purchase with the customer's chance
    /// times it. 1 keeps members on their twin's clock.
    pub member_retention: Probability,
}

impl Default for Behavior {
    fn default() -> Self {
        Behavior {
            member_lift: Multiplier(1.05),
            paid_member_lift: Multiplier(1.12),
            goal_gradient: Multiplier(1.25),
            tier_pressure: Multiplier(1.25),
            after_redemption: Multiplier(1.0),
            demotion_spend: Multiplier(0.90),
            expiry_lift: Multiplier(1.0),
            trial_conversion: Probability(0.70),
            renewal_first_year: Probability(0.93),
            renewal_later: Probability(0.98),
            member_retention: Probability(1.0),
            referred_value: Multiplier(1.16),
            redemption_share: Probability(0.70),
        }
    }
}

/// New customers, each making their first purchase on the day they
/// arrive. The three ways add up: a steady number every month, a number
/// for each month from the first, a number for each day from the start
/// (what `calibrate` writes to replay a history's cohort). Customers of
/// a month or a day arrive spread evenly over it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Arrivals {
    pub per_month: Whole,
    pub by_month: Vec<Whole>,
    pub by_day: Vec<Whole>,
}

/// Customers who arrive together: `count` of them spread evenly over
/// `days` days from day `from` of the horizon, of one segment or (None)
/// of the segments by their shares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Batch {
    pub count: u32,
    pub from: f64,
    pub days: f64,
    pub segment: Option<usize>,
}

impl Arrivals {
    /// The batches of new customers within a horizon whose months start
    /// on the given days (one more for its end).
    fn batches(&self, month_days: &[f64], segment: Option<usize>, out: &mut Vec<Batch>) {
        let months = month_days.len().saturating_sub(1);
        let end = month_days.last().copied().unwrap_or(0.0);
        for m in 0..months {
            let count =
                u64::from(self.per_month.0) + self.by_month.get(m).map_or(0, |n| u64::from(n.0));
            if count > 0 {
                out.push(Batch {
                    count: count.min(u64::from(u32::MAX)) as u32,
                    from: month_days[m],
                    days: month_days[m + 1] - month_days[m],
                    segment,
                });
            }
        }
        for (day, n) in self.by_day.iter().enumerate() {
            if (day as f64) < end && n.0 > 0 {
                out.push(Batch {
                    count: n.0,
                    from: day as f64,
                    days: 1.0,
                    segment,
                });
            }
        }
    }
}

/// A number in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Probability(pub f64);

/// A number above 0.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Positive(pub f64);

/// A factor of 0 or more; 0 counts as 1 (no effect).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Multiplier(pub f64);

impl Multiplier {
    pub fn factor(self) -> f64 {
        if self.0 == 0.0 { 1.0 } else { self.0 }
    }
}

/// The mean number of items in an order, 1 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ItemsPerOrder(pub f64);

/// The mean number of nights in a stay, 1 to 30.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct NightsPerStay(pub f64);

/// A count of 0 or more.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Whole(pub u32);

/// A count of at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Count(pub u32);

/// A horizon in months, 1 to 600.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Months(pub u32);

/// A day, written `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Date(pub Time);

fn number<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Float(f64),
        Int(i64),
    }
    Ok(match Number::deserialize(d)? {
        Number::Float(x) => x,
        Number::Int(n) => n as f64,
    })
}

fn checked<E: de::Error>(x: f64, ok: bool, expected: &str) -> Result<f64, E> {
    if ok && x.is_finite() {
        Ok(x)
    } else {
        Err(E::custom(format!("{x} is not {expected}")))
    }
}

impl<'de> Deserialize<'de> for Probability {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = number(d)?;
        checked(x, (0.0..=1.0).contains(&x), "a share between 0 and 1").map(Probability)
    }
}

impl<'de> Deserialize<'de> for Positive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = number(d)?;
        checked(x, x > 0.0, "a number above 0").map(Positive)
    }
}

impl<'de> Deserialize<'de> for Multiplier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = number(d)?;
        checked(x, (0.0..=100.0).contains(&x), "a multiplier from 0 to 100").map(Multiplier)
    }
}

impl<'de, const N: usize> Deserialize<'de> for Weights<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let weights = Vec::<Weight>::deserialize(d)?;
        let found = weights.len();
        let weights: [f64; N] = (weights.iter().map(|w| w.0).collect::<Vec<f64>>())
            .try_into()
            .map_err(|_| de::Error::custom(format!("{found} weights where {N} are expected")))?;
        if weights.iter().all(|&w| w == 0.0) {
            return Err(de::Error::custom(
                "every weight is 0, so no order would ever come: give some a weight above 0",
            ));
        }
        Ok(Weights(weights))
    }
}

/// One weight of a profile: a number of 0 or more.
struct Weight(f64);

impl<'de> Deserialize<'de> for Weight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = number(d)?;
        checked(x, (0.0..=1e6).contains(&x), "a weight from 0 to 1,000,000").map(Weight)
    }
}

impl<'de> Deserialize<'de> for NightsPerStay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = number(d)?;
        checked(
            x,
            (1.0..=30.0).contains(&x),
            "a number of nights from 1 to 30",
        )
        .map(NightsPerStay)
    }
}

impl<'de> Deserialize<'de> for ItemsPerOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = number(d)?;
        checked(
            x,
            (1.0..=100.0).contains(&x),
            "a number of items from 1 to 100",
        )
        .map(ItemsPerOrder)
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        u32::try_from(n)
            .ok()
            .filter(|&n| n >= 1)
            .map(Count)
            .ok_or_else(|| de::Error::custom(format!("{n} is not a count from 1 to 4294967295")))
    }
}

impl<'de> Deserialize<'de> for Whole {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        u32::try_from(n)
            .map(Whole)
            .map_err(|_| de::Error::custom(format!("{n} is not a count from 0 to 4294967295")))
    }
}

impl<'de> Deserialize<'de> for Months {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        u32::try_from(n)
            .ok()
            .filter(|n| (1..=600).contains(n))
            .map(Months)
            .ok_or_else(|| {
                de::Error::custom(format!("{n} is not a number of months from 1 to 600"))
            })
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::time::parse_date(text.as_bytes())
            .map(|(y, m, day)| Date(Time::from_date(y, m, day)))
            .ok_or_else(|| de::Error::custom(format!("`{text}` is not a date like 2027-01-01")))
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Scenario {
    /// The batches of new customers over `months` months, in the order
    /// they are numbered: the scenario's, then each segment's.
    pub fn arrivals(&self, months: usize) -> Vec<Batch> {
        let start = self.simulation.start.0;
        let month_days: Vec<f64> = (0..=months as i64)
            .map(|m| start.add_months(m).days_since(start))
            .collect();
        let mut batches = Vec::new();
        self.arrivals.batches(&month_days, None, &mut batches);
        for (s, segment) in self.segments.iter().enumerate() {
            segment.arrivals.batches(&month_days, Some(s), &mut batches);
        }
        batches
    }

    /// Everyone simulated over `months` months: the customers at the
    /// start and those who arrive.
    pub fn population(&self, months: usize) -> u64 {
        let arriving: u64 = self
            .arrivals(months)
            .iter()
            .map(|b| u64::from(b.count))
            .sum();
        u64::from(self.simulation.customers.0) + arriving
    }

    /// What is too large or missing about the simulation's size, and the
    /// key that says it; checked once the command line's overrides are
    /// in too.
    pub fn size_problem(&self) -> Option<(&'static str, String)> {
        let s = &self.simulation;
        let population = self.population(s.months.0 as usize);
        if population > u64::from(MAX_CUSTOMERS) {
            let arriving = population - u64::from(s.customers.0);
            let problem = if arriving > 0 {
                format!(
                    "{population} customers ({} at the start, {arriving} arriving) is more than \
                     this tool simulates ({MAX_CUSTOMERS} at most)",
                    s.customers.0
                )
            } else {
                format!(
                    "customers = {population} is more than this tool simulates \
                     ({MAX_CUSTOMERS} at most)"
                )
            };
            return Some(("customers", problem));
        }
        if population == 0 {
            return Some((
                "customers",
                "no customers to simulate: give `customers` at the start or `[arrivals]`".into(),
            ));
        }
        if s.runs.0 > MAX_RUNS {
            return Some((
                "runs",
                format!(
                    "runs = {} is more than this tool simulates ({MAX_RUNS} at most)",
                    s.runs.0
                ),
            ));
        }
        None
    }
}

impl Scenario {
    /// Reads a scenario file; a problem comes back as a diagnostic that
    /// points at the key or value in the file.
    pub fn parse(text: &str) -> Result<Scenario, Diagnostic> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            scenario_problem(
                e.message().to_string(),
                Span::new(span.start, span.end),
                "here",
            )
        })?;
        let total: f64 = scenario.segments.iter().map(|s| s.share.0).sum();
        if (total - 1.0).abs() > 1e-6 {
            let at = text.find("share").unwrap_or(0);
            return Err(scenario_problem(
                format!("the segments' shares add up to {total}, not 1"),
                Span::new(at, at + "share".len().min(text.len() - at)),
                "each segment's share of the customers",
            ));
        }
        if let Some((key, problem)) = scenario.size_problem() {
            return Err(scenario_problem(problem, key_span(text, key), "too large"));
        }
        for segment in &scenario.segments {
            let p = &segment.purchase;
            let per_day = p.r.0 / p.alpha.0 / p.unit.days();
            if per_day > MAX_MEAN_ORDERS_PER_DAY {
                return Err(scenario_problem(
                    format!(
                        "segment \"{}\": r / alpha gives customers {per_day:.3e} orders a day on \
                         average; at most {MAX_MEAN_ORDERS_PER_DAY} (is alpha in the `unit`?)",
                        segment.name
                    ),
                    key_span(text, "purchase"),
                    "purchase rates out of range",
                ));
            }
        }
        if scenario.segments.is_empty() {
            return Err(scenario_problem(
                "a scenario needs at least one [[segment]]".into(),
                Span::new(0, 0),
                "no segment",
            ));
        }
        Ok(scenario)
    }
}

/// The most customers and runs one simulation takes (months go up to
/// 600): beyond them a typo (`runs = 4294967295`) would ask for memory or
/// time no machine has. A run keeps its counts for every month.
pub const MAX_CUSTOMERS: u32 = 10_000_000;
pub const MAX_RUNS: u32 = 10_000;
/// The most orders a day a segment's customers make on average.
pub const MAX_MEAN_ORDERS_PER_DAY: f64 = 10.0;

/// Where a key is written in the file, or its start.
fn key_span(text: &str, key: &str) -> Span {
    let at = text.find(key).unwrap_or(0);
    Span::new(at, (at + key.len()).min(text.len()))
}

fn scenario_problem(message: String, span: Span, label: &str) -> Diagnostic {
    Diagnostic {
        code: "loyalty::scenario",
        severity: Severity::Error,
        message,
        span,
        label: label.to_string(),
        help: Some(
            "the scenario's keys and defaults are listed in the README, under \"Scenario\"".into(),
        ),
    }
}
