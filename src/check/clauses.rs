//! A statement's clauses: which clauses each statement takes (one table,
//! from which the help listing them is made), whether each is right, and
//! what it means, resolved into the statement's `Clauses`. Every word of a
//! closed list is read here, by `Checker::word`.

use super::Checker;
use super::amounts::{cents, whole};
use super::problem::{NameKind, ProblemKind};
use crate::decimal::Decimal;
use crate::diagnostic::did_you_mean;
use crate::program::{
    self, Cap, Cents, Conditions, KeptFor, Limit, Mask, Place, Points, Qualification, Rate,
    RewardValue, Scope, Window,
};
use crate::span::Node;
use crate::syntax::ast::*;
use crate::time::{DaysOfWeek, DurationUnit, Every, Period, Time};
use crate::vocabulary::{Exclusion, Fee, PerkCost, Word};

/// The conditions that narrow a rule to some purchases or members, in
/// the order the help lists them.
const CONDITIONS: &[ClauseKind] = &[
    ClauseKind::InCategory,
    ClauseKind::ForProduct,
    ClauseKind::ExcludingCategory,
    ClauseKind::ExcludingProduct,
    ClauseKind::InChannel,
    ClauseKind::PaidWith,
    ClauseKind::AtBrand,
    ClauseKind::AtPartner,
    ClauseKind::MembersWith,
    ClauseKind::Within,
    ClauseKind::MinOrder,
    ClauseKind::Between,
    ClauseKind::OnDays,
    ClauseKind::Hours,
];

// The words each place takes, from the tables beside their meanings.
pub(super) const PERIODS_CALENDAR: &[&str] = Every::CALENDAR_WORDS;
const CAP_PERIODS: &[&str] = Every::WORDS;
const BUDGET_PERIODS: &[&str] = Every::BUDGET_WORDS;

/// The clauses a statement takes, each with an example for the help that
/// lists them: whether it takes the purchase conditions, and which others.
fn clauses_taken(head: &Head) -> (bool, &'static [(ClauseKind, &'static str)]) {
    match head {
        Head::Points { .. } => (false, &[(ClauseKind::Worth, "worth $1 per 100 points")]),
        Head::Partner { .. } => (
            false,
            &[
                (
                    ClauseKind::Funds,
                    "funds 50% (or funds $0.80 per 100 points)",
                ),
                (ClauseKind::Margin, "margin 10% on redemptions"),
            ],
        ),
        Head::Charity { .. } => (
            false,
            &[(ClauseKind::Receives, "receives $1 per 100 points")],
        ),
        Head::Earn { .. } => (
            true,
            &[
                (ClauseKind::Excluding, "excluding tax"),
                (ClauseKind::Cap, "up to 500 points per day"),
                (ClauseKind::Available, "1,000 available"),
                (ClauseKind::PaidOut, "paid out every year"),
            ],
        ),
        Head::Bonus { .. } => (
            true,
            &[
                (ClauseKind::Cap, "once per member"),
                (ClauseKind::Available, "1,000 available"),
                (ClauseKind::ChosenDays, "on 1 chosen day per year"),
                (ClauseKind::Exclusive, "exclusive"),
            ],
        ),
        Head::Discount { .. } => (true, &[]),
        Head::Perk { .. } => (
            false,
            &[
                (ClauseKind::Costs, "costs $7 per order"),
                (ClauseKind::MinOrder, "on orders of $35 or more"),
                (ClauseKind::InCategory, "in category \"coffee\""),
                (ClauseKind::InChannel, "in channel online"),
            ],
        ),
        Head::Reward { .. } => (
            false,
            &[
                (ClauseKind::Costs, "costs 300 points"),
                (ClauseKind::Worth, "worth $10"),
                (ClauseKind::ForTier, "for tier \"Gold\""),
                (ClauseKind::InCategory, "in category \"coffee\""),
                (ClauseKind::AtPartner, "at partner \"Air\""),
                (ClauseKind::Cap, "once per member"),
                (ClauseKind::Available, "1,000 available"),
            ],
        ),
        Head::Convert { .. } => (
            false,
            &[(ClauseKind::FirstDayOfEach, "on the first day of each month")],
        ),
        Head::Tier { .. } => (
            false,
            &[
                (ClauseKind::Qualify, "for $500 spent in a calendar year"),
                (ClauseKind::MembersWith, "for members with credit_card"),
                (ClauseKind::Kept, "kept for 1 year"),
            ],
        ),
        Head::Membership { .. } => (
            false,
            &[
                (ClauseKind::Costs, "costs $5 per month"),
                (ClauseKind::FreeTrial, "with a free trial of 30 days"),
                (ClauseKind::Replaces, "replaces \"Plus\""),
            ],
        ),
        _ => (false, &[]),
    }
}

/// The help that lists the clauses a statement takes, from the same table
/// that decides them.
fn clauses_help(head: &Head) -> String {
    let (conditions, others) = clauses_taken(head);
    let quoted = |list: &[(ClauseKind, &str)]| -> Vec<String> {
        list.iter()
            .map(|(_, example)| format!("`{example}`"))
            .collect()
    };
    let mut parts = Vec::new();
    if conditions {
        let names: Vec<&str> = CONDITIONS.iter().map(|kind| kind.keyword()).collect();
        parts.push(format!("conditions ({})", names.join(", ")));
    }
    parts.extend(quoted(others));
    match parts.as_slice() {
        [] => "this statement takes no clauses".into(),
        [only] => format!("`{}` takes {only}", head.keyword()),
        [rest @ .., last] => format!("`{}` takes {} and {last}", head.keyword(), rest.join(", ")),
    }
}

/// A statement's clauses as they resolve. A clause is given at most once
/// (limits may repeat), so each has one place here.
pub(super) struct Clauses {
    pub(super) conditions: Conditions,
    /// Limits and budgets, placed in their counters by the statement.
    pub(super) caps: Vec<Cap>,
    pub(super) point_value: Option<Rate>,
    pub(super) reward_value: Option<RewardValue>,
    pub(super) reward_cost: Option<Points>,
    pub(super) perk_cost: Option<(Cents, PerkCost)>,
    pub(super) fee: Option<(Cents, Fee)>,
    pub(super) funds: Option<Decimal>,
    pub(super) margin: Option<Decimal>,
    pub(super) funding_price: Option<Rate>,
    pub(super) receives: Option<Rate>,
    pub(super) paid_out_yearly: bool,
    pub(super) qualification: Qualification,
    pub(super) kept: Option<KeptFor>,
    pub(super) trial: Option<Period>,
    pub(super) replaces: Option<Mask>,
    pub(super) first_day_of: Option<Every>,
    pub(super) exclusive: bool,
}

impl Clauses {
    fn new(scope: Scope) -> Self {
        Clauses {
            conditions: Conditions::any(scope),
            caps: Vec::new(),
            point_value: None,
            reward_value: None,
            reward_cost: None,
            perk_cost: None,
            fee: None,
            funds: None,
            margin: None,
            funding_price: None,
            receives: None,
            paid_out_yearly: false,
            qualification: Qualification::None,
            kept: None,
            trial: None,
            replaces: None,
            first_day_of: None,
            exclusive: false,
        }
    }
}

impl Checker<'_> {
    pub(super) fn clauses(&mut self, statement: &Node<Statement>, scope: Scope) -> Clauses {
        let head = &statement.head.node;
        let (conditions, others) = clauses_taken(head);
        let mut resolved = Clauses::new(scope);
        let mut seen: Vec<ClauseKind> = Vec::new();
        for clause in &statement.clauses {
            let kind = clause.kind();
            let keyword = kind.keyword();
            let taken =
                others.iter().any(|(k, _)| *k == kind) || conditions && CONDITIONS.contains(&kind);
            if !taken {
                self.report(
                    ProblemKind::ClauseNotAllowed {
                        clause: keyword,
                        statement: head.keyword(),
                        help: clauses_help(head),
                    },
                    clause.span,
                );
                continue;
            }
            // Several limits (per day and per year) may stand together.
            if seen.contains(&kind) && kind != ClauseKind::Cap {
                self.report(
                    ProblemKind::DuplicateClause { clause: keyword },
                    clause.span,
                );
                continue;
            }
            seen.push(kind);
            self.clause(clause, head, scope, &mut resolved);
        }
        resolved
    }

    /// Checks a clause and writes what it means into `to`. Whatever it
    /// cannot resolve it reports, so a program with no error has every
    /// clause resolved.
    fn clause(&mut self, clause: &Node<Clause>, head: &Head, scope: Scope, to: &mut Clauses) {
        let c = &mut to.conditions;
        match &clause.node {
            Clause::Worth {
                value,
                off_next_order,
                per,
            } => {
                if *off_next_order {
                    let v = self.percent(value);
                    to.reward_value = self
                        .nonzero(v, value.span, "a reward's value")
                        .map(RewardValue::PercentOff);
                } else if value.kind == QuantityKind::Percent {
                    self.report(
                        ProblemKind::MissingClause {
                            statement: head.keyword(),
                            help: "say what the percentage is off: `worth 20% off the next order`",
                        },
                        value.span,
                    );
                } else {
                    let v = self.money(value);
                    let v = self.nonzero(v, value.span, "a value");
                    to.reward_value = v.map(|v| RewardValue::Money(cents(v)));
                    match (head, per) {
                        (Head::Points { .. }, Some(per)) => {
                            let p = self.whole_points(per);
                            let p = self.nonzero(p, per.span, "the number of points");
                            if let (Some(v), Some(p)) = (v, p) {
                                to.point_value = Some(Rate {
                                    cents: cents(v),
                                    points: whole(p),
                                });
                            }
                        }
                        (_, Some(per)) => self.report(
                            ProblemKind::ClauseNotAllowed {
                                clause: "worth ... per",
                                statement: head.keyword(),
                                help: "a reward is worth one amount: `worth $10`".into(),
                            },
                            per.span,
                        ),
                        _ => {}
                    }
                }
            }
            Clause::Costs { amount, per, once } => match head {
                Head::Reward { .. } => {
                    let p = self.whole_points(amount);
                    to.reward_cost = self.nonzero(p, amount.span, "a reward's cost").map(whole);
                    if per.is_some() || *once {
                        self.report(
                            ProblemKind::ClauseNotAllowed {
                                clause: "costs ... per",
                                statement: "reward",
                                help: "a reward costs points each time it is redeemed: `costs 300 \
                                       points`"
                                    .into(),
                            },
                            clause.span,
                        );
                    }
                }
                Head::Perk { .. } => {
                    let cost = self.money(amount);
                    let per = match per {
                        Some(per) => {
                            self.word(per, PerkCost::WORDS, "what a perk's cost is counted per")
                        }
                        None => {
                            self.report(
                                ProblemKind::MissingClause {
                                    statement: "perk",
                                    help: "say what the cost is counted per: `costs $7 per order`, \
                                           `per use`, `per month`, `per year` or `per member`",
                                },
                                clause.span,
                            );
                            None
                        }
                    };
                    to.perk_cost = cost.zip(per).map(|(cost, per)| (cents(cost), per));
                }
                _ => {
                    let fee = self.money(amount);
                    let fee = self.nonzero(fee, amount.span, "a fee");
                    let per = match per {
                        Some(per) => self.word(per, Fee::WORDS, "a fee period"),
                        None if *once => Some(Fee::Once),
                        None => {
                            self.report(
                                ProblemKind::MissingClause {
                                    statement: "membership",
                                    help: "say how often the fee is paid: `costs $5 per month`, \
                                           `costs $25 per year` or `costs $30 once`",
                                },
                                clause.span,
                            );
                            None
                        }
                    };
                    to.fee = fee.zip(per).map(|(fee, per)| (cents(fee), per));
                }
            },
            Clause::Funds(share) => to.funds = self.percent(share),
            Clause::Margin(share) => to.margin = self.percent(share),
            Clause::Receives { amount, per } => {
                to.receives = self.money_per_points(amount, per, "a donation");
            }
            Clause::FundsPer { amount, per } => {
                to.funding_price = self.money_per_points(amount, per, "a price per point");
            }
            Clause::InCategory(names) => c.categories = self.mask(NameKind::Category, names),
            Clause::ExcludingCategory(names) => {
                c.excluded_categories = self.mask(NameKind::Category, names);
            }
            Clause::ForProduct(skus) => c.products = Some(self.products(skus)),
            Clause::ExcludingProduct(skus) => c.excluded_products = Some(self.products(skus)),
            Clause::InChannel(names) => c.channels = self.mask(NameKind::Channel, names),
            Clause::PaidWith(names) => {
                c.payment_methods = self.mask(NameKind::PaymentMethod, names)
            }
            Clause::AtBrand(names) => {
                c.place = Place::Own {
                    brands: self.mask(NameKind::Brand, names),
                }
            }
            Clause::AtPartner(names) if names.is_empty() => {
                // `at any partner` uses them all.
                for id in 0..self.names(NameKind::Partner).len() {
                    self.used.insert((NameKind::Partner, id as program::NameId));
                }
                c.place = Place::AnyPartner;
            }
            Clause::AtPartner(names) => {
                if let Some(mask) = self.mask(NameKind::Partner, names) {
                    c.place = Place::Partners(mask);
                }
            }
            Clause::ForTier(names) => c.tiers = self.mask(NameKind::Tier, names),
            Clause::MembersWith(attribute) => {
                let id = self.resolve(NameKind::Attribute, attribute);
                match head {
                    Head::Tier { .. } => {
                        if let Some(id) = id {
                            to.qualification = Qualification::Attribute(id);
                        }
                    }
                    _ => c.attribute = id,
                }
            }
            Clause::PaidOut(period) => {
                to.paid_out_yearly = self
                    .word::<Every>(period, Every::YEAR_WORDS, "a payout period")
                    .is_some();
                if !matches!(head, Head::Earn { benefit, .. } if matches!(benefit.node, Benefit::Back(_)))
                {
                    self.report(
                        ProblemKind::ClauseNotAllowed {
                            clause: "paid out every",
                            statement: head.keyword(),
                            help: "only a share back (`earn 10% back, paid out every year`) is \
                                   saved up and paid out"
                                .into(),
                        },
                        clause.span,
                    );
                }
            }
            Clause::Qualify {
                amount,
                measure,
                period,
            } => {
                let threshold = self.threshold(amount, *measure);
                let window = match &period.node {
                    QualifyPeriod::CalendarYear => Some(Window::CalendarYear),
                    QualifyPeriod::Total => Some(Window::Total),
                    QualifyPeriod::Last(duration) => {
                        self.window(&Node::new(duration.clone(), period.span))
                    }
                };
                if let (Some((measure, amount)), Some(window)) = (threshold, window) {
                    to.qualification = Qualification::Threshold {
                        measure,
                        amount,
                        window,
                    };
                }
            }
            Clause::Within { duration, anchor } => {
                let period = self.period(duration);
                let anchor = match anchor {
                    Anchor::Joining => program::Anchor::Joining,
                    Anchor::ReachingTier => program::Anchor::ReachingTier,
                };
                if anchor == program::Anchor::ReachingTier && !matches!(scope, Scope::Tier(_)) {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "`reaching the tier` only means something inside a tier's block",
                            help: "move the rule into the tier's block, or use `within 30 days of joining`",
                        },
                        clause.span,
                    );
                }
                c.within = period.map(|period| (period, anchor));
            }
            Clause::MinOrder(amount) => {
                let v = self.money(amount);
                c.min_order = self.nonzero(v, amount.span, "a minimum order").map(cents);
            }
            Clause::ChosenDays { count, per } => {
                let count = self.count(count, "the number of chosen days");
                let per = self.word(per, PERIODS_CALENDAR, "a period for chosen days");
                c.chosen_days = count
                    .zip(per)
                    .map(|(count, per)| (u32::try_from(count).unwrap_or(u32::MAX), per));
            }
            Clause::FirstDayOfEach(period) => {
                to.first_day_of = self.word(period, PERIODS_CALENDAR, "a calendar period")
            }
            Clause::Excluding(words) => {
                for word in words {
                    if let Some(part) = self.word::<Exclusion>(
                        word,
                        Exclusion::WORDS,
                        "something an order's amount can exclude",
                    ) {
                        c.excluding.add(part);
                    }
                }
            }
            Clause::Cap { limit, per, total } => {
                let limit = match limit {
                    CapLimit::Times(count) => self.count(count, "a limit").map(Limit::Times),
                    CapLimit::Amount(amount) if matches!(amount.kind, QuantityKind::Money(_)) => {
                        let v = self.money(amount);
                        self.nonzero(v, amount.span, "a limit")
                            .map(|v| Limit::Money(cents(v)))
                    }
                    CapLimit::Amount(amount) => {
                        let v = self.points(amount);
                        self.nonzero(v, amount.span, "a limit")
                            .map(|v| Limit::Points(whole(v)))
                    }
                };
                let per = self.cap_period(per.as_ref(), *total);
                if let (Some(limit), Some(per)) = (limit, per) {
                    to.caps.push(Cap::unplaced(limit, per, *total));
                }
            }
            Clause::Available { count, per } => {
                let limit = self.count(count, "a stock").map(Limit::Times);
                let per = self.cap_period(per.as_ref(), true);
                if let (Some(limit), Some(per)) = (limit, per) {
                    to.caps.push(Cap::unplaced(limit, per, true));
                }
            }
            Clause::Exclusive => to.exclusive = true,
            Clause::Kept(kept) => match kept {
                Kept::For(duration) => to.kept = self.period(duration).map(KeptFor::Period),
                Kept::UntilEndOfNext(period) => {
                    to.kept = self
                        .word::<Every>(period, Every::YEAR_WORDS, "a period for keeping a tier")
                        .map(|_| KeptFor::UntilEndOfNextYear)
                }
            },
            Clause::FreeTrial(duration) => to.trial = self.period(duration),
            Clause::Replaces(names) => to.replaces = self.mask(NameKind::Membership, names),
            Clause::OnDays(days) => {
                let mut bits = Some(0u8);
                for day in days {
                    let day = self.word::<DaysOfWeek>(day, DaysOfWeek::WORDS, "a day of the week");
                    bits = bits.zip(day).map(|(bits, day)| bits | day.bits());
                }
                c.days = bits;
            }
            Clause::Hours { from, until } => {
                let a = self.time_of_day(from);
                let b = self.time_of_day(until);
                if let (Some(a), Some(b)) = (a, b) {
                    if a == b {
                        self.report(
                            ProblemKind::ZeroAmount {
                                what: "a time of day window",
                            },
                            clause.span,
                        );
                    }
                    c.hours = Some((a % crate::time::DAY, b));
                }
            }
            Clause::Between { from, until } => {
                let a = self.date(from);
                let b = self.date(until);
                if let (Some(a), Some(b)) = (a, b) {
                    if b < a {
                        self.report(ProblemKind::DatesOutOfOrder, clause.span);
                    }
                    // From the start of the first day to the end of the last.
                    c.between = Some((a, b.add_days(1)));
                }
            }
        }
    }

    /// What a tier's threshold counts, and how much of it.
    fn threshold(
        &mut self,
        amount: &Node<Quantity>,
        measure: Option<Measure>,
    ) -> Option<(program::Measure, i64)> {
        let (measure, value) = match (&amount.kind, measure) {
            (QuantityKind::Money(_), None | Some(Measure::Spent)) | (_, Some(Measure::Spent)) => {
                (program::Measure::Spend, self.money(amount))
            }
            (QuantityKind::Count, Some(Measure::Earned)) => {
                (program::Measure::PointsEarned, self.whole_points(amount))
            }
            (QuantityKind::Count, None)
                if amount
                    .unit
                    .as_ref()
                    .is_some_and(|u| !self.is_points_unit(u)) =>
            {
                match self.visits_or_nights(amount) {
                    Some((measure, count)) => (measure, Some(count)),
                    None => (program::Measure::Visits, None),
                }
            }
            (QuantityKind::Count, _) if amount.unit.is_none() => {
                self.points(amount);
                return None;
            }
            (QuantityKind::Count, _) => {
                self.report(
                    ProblemKind::MissingClause {
                        statement: "tier",
                        help: "tiers count points earned, never the balance: write \
                               `for 2,000 points earned in a calendar year`",
                    },
                    amount.span,
                );
                return None;
            }
            _ => {
                self.wrong_threshold(amount);
                return None;
            }
        };
        let value = self.nonzero(value, amount.span, "a tier threshold")?;
        Some(match measure {
            program::Measure::Spend => (measure, cents(value)),
            _ => (measure, whole(value)),
        })
    }

    /// `the last 12 months`: a rolling window, counted in whole months.
    fn window(&mut self, duration: &Node<Quantity>) -> Option<Window> {
        let period = self.period(duration)?;
        let months = match period.unit {
            DurationUnit::Months => u32::try_from(period.count).ok(),
            DurationUnit::Years => u32::try_from(period.count)
                .ok()
                .and_then(|years| years.checked_mul(12)),
            DurationUnit::Hours | DurationUnit::Days | DurationUnit::Weeks => {
                self.wrong(duration, "a window in months or years, such as `12 months`");
                return None;
            }
        };
        match months {
            Some(months) if months <= MAX_WINDOW_MONTHS => Some(Window::LastMonths(months)),
            _ => {
                self.wrong(duration, "a window of at most 100 years");
                None
            }
        }
    }

    fn wrong_threshold(&mut self, amount: &Node<Quantity>) {
        self.report(
            ProblemKind::WrongUnit {
                expected: "a spend such as `$500`, points such as `2,000 points` or visits such as `10 visits`".into(),
                found: format!("`{}`", &self.source[amount.span.start..amount.span.end]),
            },
            amount.span,
        );
    }

    /// The names a condition lists, as a set of their ids.
    /// The SKUs a condition names, kept once in the program's table.
    fn products(&mut self, skus: &[Node<String>]) -> program::ProductsId {
        let skus: Vec<String> = skus.iter().map(|sku| sku.node.clone()).collect();
        self.program.add_products(skus)
    }

    fn mask(&mut self, kind: NameKind, names: &[Node<String>]) -> Option<Mask> {
        let mut mask: Option<Mask> = Some(0);
        for name in names {
            match self.resolve(kind, name) {
                Some(id) if id < Mask::BITS as program::NameId => mask = mask.map(|m| m | 1 << id),
                Some(_) => {
                    self.report(
                        ProblemKind::TooManyNames {
                            kind,
                            name: name.node.clone(),
                        },
                        name.span,
                    );
                    mask = None;
                }
                None => mask = None,
            }
        }
        mask
    }

    /// A word from a fixed list, such as a period, and what it means.
    /// `allowed` is the part of `T`'s words this place takes.
    /// The period a limit counts in. A budget for all members counts by
    /// the calendar, or over the program's whole life when none is
    /// written: a length of time just past would need every use by every
    /// member kept.
    fn cap_period(&mut self, per: Option<&PeriodOrLength>, total: bool) -> Option<Every> {
        match per {
            None => Some(Every::Member),
            Some(PeriodOrLength::Calendar(word)) if total => self.word(
                word,
                BUDGET_PERIODS,
                "a period for a budget shared by all members",
            ),
            Some(PeriodOrLength::Calendar(word)) => self.word(
                word,
                CAP_PERIODS,
                "a period for a limit, or a length of time such as `12 months`",
            ),
            Some(PeriodOrLength::Last(length)) if total => {
                self.report(ProblemKind::RollingBudget, length.span);
                None
            }
            Some(PeriodOrLength::Last(length)) => self.period(length).map(Every::Last),
        }
    }

    pub(super) fn word<T: Word>(
        &mut self,
        word: &Node<String>,
        allowed: &'static [&'static str],
        what: &'static str,
    ) -> Option<T> {
        // A word this place takes means something, or it is reported
        // like any other: never left unresolved without a diagnostic.
        if allowed.contains(&word.as_str())
            && let Some(meaning) = T::from_word(word)
        {
            return Some(meaning);
        }
        let singular = word.strip_suffix('s').unwrap_or(word);
        let suggestion = allowed
            .iter()
            .copied()
            .find(|a| *a == singular)
            .or_else(|| did_you_mean(word, allowed.iter().copied()));
        self.report(
            ProblemKind::UnknownWord {
                word: word.node.clone(),
                what,
                expected: allowed,
                suggestion,
            },
            word.span,
        );
        None
    }

    /// `14:00`, if it is a time of day: seconds since the day's start.
    fn time_of_day(&mut self, time: &Node<String>) -> Option<i64> {
        let parsed = crate::time::parse_time_of_day(time);
        if parsed.is_none() {
            self.report(
                ProblemKind::InvalidTimeOfDay {
                    time: time.node.clone(),
                },
                time.span,
            );
        }
        parsed
    }

    /// `$1 per 100 points`: money for a number of points, both above 0.
    fn money_per_points(
        &mut self,
        amount: &Node<Quantity>,
        per: &Node<Quantity>,
        what: &'static str,
    ) -> Option<Rate> {
        let m = self.money(amount);
        let m = self.nonzero(m, amount.span, what);
        let p = self.whole_points(per);
        let p = self.nonzero(p, per.span, "the number of points");
        m.zip(p).map(|(m, p)| Rate {
            cents: cents(m),
            points: whole(p),
        })
    }

    /// `2026-11-27`, if it is a real day: its first moment.
    fn date(&mut self, date: &Node<String>) -> Option<Time> {
        let parsed = crate::time::parse_date(date.as_bytes());
        if parsed.is_none() {
            self.report(
                ProblemKind::InvalidDate {
                    date: date.node.clone(),
                },
                date.span,
            );
        }
        parsed.map(|(year, month, day)| self.program.calendar.midnight(year, month, day))
    }
}

/// The longest rolling window a tier may count: a member keeps a month's
/// figures for each month of it.
const MAX_WINDOW_MONTHS: u32 = 1200;
