//! Pass 2: every statement on its own. Where it may stand, which clauses
//! it takes, whether its amounts are of the right kind, whether the names
//! it refers to exist.

use super::problem::{NameKind, ProblemKind};
use super::{Checker, Scope, statements_of};
use crate::diagnostic::did_you_mean;
use crate::span::{Node, Span};
use crate::syntax::ast::*;

/// The conditions that narrow a rule to some purchases or members.
const CONDITIONS: &[ClauseKind] = &[
    ClauseKind::InCategory,
    ClauseKind::InChannel,
    ClauseKind::PaidWith,
    ClauseKind::AtBrand,
    ClauseKind::AtPartner,
    ClauseKind::MembersWith,
    ClauseKind::Within,
    ClauseKind::MinOrder,
    ClauseKind::Between,
];

const EARN_HELP: &str = "`earn` takes conditions (in category, in channel, paid with, at brand, at \
                         partner, for members with, within, on orders of, excluding, between), \
                         limits (up to ... per ..., once per ...) and `paid out every year`";
const BONUS_HELP: &str = "`bonus` takes conditions (in category, in channel, paid with, at brand, \
                          at partner, for members with, within, on orders of, between), limits, \
                          `on 1 chosen day per year` and `exclusive`";
const DISCOUNT_HELP: &str = "`discount` takes conditions (in category, in channel, paid with, at \
                             brand, for members with, within, on orders of, between)";
const PERK_HELP: &str = "`perk` takes `costs $7 per order` (what one use costs the brand) and \
                         conditions (on orders of, in category, in channel)";
const REWARD_HELP: &str = "`reward` takes `costs 300 points`, `worth $10` (or `worth 20% off the \
                           next order`), `for tier \"Gold\"` and `in category`";
const TIER_HELP: &str = "`tier` takes how it is reached (`for $500 spent in a calendar year`, \
                         `for members with credit_card`) and how long it lasts (`kept for 1 year`)";
const MEMBERSHIP_HELP: &str = "`membership` takes its fee (`costs $5 per month`, `costs $30 once`) \
                               and `with a free trial of 30 days`";
const NO_CLAUSE_HELP: &str = "this statement takes no clauses";

// The words each place takes, from the tables beside their meanings.
use crate::time::Every;
use crate::vocabulary::{Exclusion, Fee, PerkCost};
const PERIODS_CALENDAR: &[&str] = Every::CALENDAR_WORDS;
const CAP_PERIODS: &[&str] = Every::WORDS;
const PERK_COST_PERIODS: &[&str] = PerkCost::WORDS;
const FEE_PERIODS: &[&str] = Fee::WORDS;
const EXCLUSIONS: &[&str] = Exclusion::WORDS;

/// The clauses a statement takes, by their leading words: whether it takes
/// the purchase conditions, which others, and the help that lists them.
fn allowed_clauses(head: &Head) -> (bool, &'static [ClauseKind], &'static str) {
    match head {
        Head::Points { .. } => (
            false,
            &[ClauseKind::Worth],
            "`points are called` takes `worth $1 per 100 points`",
        ),
        Head::Partner { .. } => (
            false,
            &[ClauseKind::Funds],
            "`partner` takes `funds 50%`: the share of the points it pays for",
        ),
        Head::Charity { .. } => (
            false,
            &[ClauseKind::Receives],
            "`charity` takes `receives $1 per 100 points`: what a donated point gives",
        ),
        Head::Earn { .. } => (
            true,
            &[ClauseKind::Excluding, ClauseKind::Cap, ClauseKind::PaidOut],
            EARN_HELP,
        ),
        Head::Bonus { .. } => (
            true,
            &[
                ClauseKind::Cap,
                ClauseKind::ChosenDays,
                ClauseKind::Exclusive,
            ],
            BONUS_HELP,
        ),
        Head::Discount { .. } => (true, &[], DISCOUNT_HELP),
        Head::Perk { .. } => (
            false,
            &[
                ClauseKind::Costs,
                ClauseKind::MinOrder,
                ClauseKind::InCategory,
                ClauseKind::InChannel,
            ],
            PERK_HELP,
        ),
        Head::Reward { .. } => (
            false,
            &[
                ClauseKind::Costs,
                ClauseKind::Worth,
                ClauseKind::ForTier,
                ClauseKind::InCategory,
            ],
            REWARD_HELP,
        ),
        Head::Convert { .. } => (
            false,
            &[ClauseKind::FirstDayOfEach],
            "`every ... become` takes `on the first day of each month`",
        ),
        Head::Tier { .. } => (
            false,
            &[
                ClauseKind::Qualify,
                ClauseKind::MembersWith,
                ClauseKind::Kept,
            ],
            TIER_HELP,
        ),
        Head::Membership { .. } => (
            false,
            &[ClauseKind::Costs, ClauseKind::FreeTrial],
            MEMBERSHIP_HELP,
        ),
        _ => (false, &[], NO_CLAUSE_HELP),
    }
}

impl Checker<'_> {
    pub(super) fn statements(&mut self, items: &[Item], scope: Scope) {
        let mut seen_once: Vec<(&'static str, Span)> = Vec::new();
        for statement in statements_of(items) {
            self.placement(statement, scope);
            if let Some(once) = once_per_program(&statement.head.node) {
                if seen_once.iter().any(|(what, _)| *what == once) {
                    self.report(
                        ProblemKind::DuplicateStatement { what: once },
                        statement.head.span,
                    );
                } else {
                    seen_once.push((once, statement.head.span));
                }
            }
            self.clauses(statement, scope);
            self.head(statement, scope);
            if let Some(block) = &statement.block {
                let inner = match statement.head.node {
                    Head::Tier { .. } => Scope::Tier,
                    _ => Scope::Membership,
                };
                self.statements(block, inner);
            }
        }
    }

    fn placement(&mut self, statement: &Node<Statement>, scope: Scope) {
        let head = &statement.head.node;
        let opens_block = matches!(head, Head::Tier { .. } | Head::Membership { .. });
        if statement.block.is_some() && !opens_block {
            self.report(
                ProblemKind::UnexpectedBlock {
                    statement: head.keyword(),
                },
                statement.head.span,
            );
        }
        let benefit = matches!(
            head,
            Head::Earn { .. }
                | Head::Bonus { .. }
                | Head::Discount { .. }
                | Head::Perk { .. }
                | Head::Donate { .. }
        );
        if scope != Scope::Top && !benefit {
            self.report(
                ProblemKind::MisplacedStatement {
                    statement: head.keyword(),
                    help: "a tier or membership block holds its benefits: earn, bonus, discount, \
                           perk and donate; define everything else at the top level",
                },
                statement.head.span,
            );
        }
    }

    // ------------------------------------------------------------------
    //  Clauses
    // ------------------------------------------------------------------

    fn clauses(&mut self, statement: &Node<Statement>, scope: Scope) {
        let head = &statement.head.node;
        let (conditions, others, help) = allowed_clauses(head);
        let mut seen: Vec<ClauseKind> = Vec::new();
        for clause in &statement.clauses {
            let kind = clause.kind();
            let keyword = kind.keyword();
            if !(others.contains(&kind) || conditions && CONDITIONS.contains(&kind)) {
                self.report(
                    ProblemKind::ClauseNotAllowed {
                        clause: keyword,
                        statement: head.keyword(),
                        help,
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
            self.clause(clause, head, scope);
        }
    }

    fn clause(&mut self, clause: &Node<Clause>, head: &Head, scope: Scope) {
        match &clause.node {
            Clause::Worth {
                value,
                off_next_order,
                per,
            } => {
                if *off_next_order {
                    let v = self.percent(value);
                    self.nonzero(v, value.span, "a reward's value");
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
                    self.nonzero(v, value.span, "a value");
                }
                match (head, per) {
                    (Head::Points { .. }, Some(per)) => {
                        let p = self.whole_points(per);
                        self.nonzero(p, per.span, "the number of points");
                    }
                    (_, Some(per)) => self.report(
                        ProblemKind::ClauseNotAllowed {
                            clause: "worth ... per",
                            statement: head.keyword(),
                            help: "a reward is worth one amount: `worth $10`",
                        },
                        per.span,
                    ),
                    _ => {}
                }
            }
            Clause::Costs { amount, per, once } => match head {
                Head::Reward { .. } => {
                    let p = self.whole_points(amount);
                    self.nonzero(p, amount.span, "a reward's cost");
                    if per.is_some() || *once {
                        self.report(
                            ProblemKind::ClauseNotAllowed {
                                clause: "costs ... per",
                                statement: "reward",
                                help: "a reward costs points each time it is redeemed: `costs 300 points`",
                            },
                            clause.span,
                        );
                    }
                }
                Head::Perk { .. } => {
                    self.money(amount);
                    match per {
                        Some(per) => self.fixed_word(per, PERK_COST_PERIODS, "what a perk's cost is counted per"),
                        None => self.report(
                            ProblemKind::MissingClause {
                                statement: "perk",
                                help: "say what the cost is counted per: `costs $7 per order`, `per use`, \
                                       `per month`, `per year` or `per member`",
                            },
                            clause.span,
                        ),
                    }
                }
                _ => {
                    let fee = self.money(amount);
                    self.nonzero(fee, amount.span, "a fee");
                    match per {
                        Some(per) => self.fixed_word(per, FEE_PERIODS, "a fee period"),
                        None if !*once => self.report(
                            ProblemKind::MissingClause {
                                statement: "membership",
                                help: "say how often the fee is paid: `costs $5 per month`, `costs \
                                       $25 per year` or `costs $30 once`",
                            },
                            clause.span,
                        ),
                        None => {}
                    }
                }
            },
            Clause::Funds(share) => {
                self.percent(share);
            }
            Clause::Receives { amount, per } => {
                let m = self.money(amount);
                self.nonzero(m, amount.span, "a donation");
                let p = self.whole_points(per);
                self.nonzero(p, per.span, "the number of points");
            }
            Clause::InCategory(names) => self.resolve_all(NameKind::Category, names),
            Clause::InChannel(names) => self.resolve_all(NameKind::Channel, names),
            Clause::PaidWith(names) => self.resolve_all(NameKind::PaymentMethod, names),
            Clause::AtBrand(names) => self.resolve_all(NameKind::Brand, names),
            Clause::AtPartner(names) => {
                if names.is_empty() {
                    // `at any partner` uses them all.
                    let partners: Vec<String> = self
                        .names
                        .get(&NameKind::Partner)
                        .map(|t| t.keys().cloned().collect())
                        .unwrap_or_default();
                    for partner in partners {
                        self.used.insert((NameKind::Partner, partner));
                    }
                } else {
                    self.resolve_all(NameKind::Partner, names)
                }
            }
            Clause::ForTier(names) => self.resolve_all(NameKind::Tier, names),
            Clause::MembersWith(attribute) => {
                self.resolve(NameKind::Attribute, attribute);
            }
            Clause::PaidOut(period) => {
                self.fixed_word(period, PERIODS_CALENDAR, "a payout period");
                if !matches!(head, Head::Earn { benefit, .. } if matches!(benefit.node, Benefit::Back(_)))
                {
                    self.report(
                        ProblemKind::ClauseNotAllowed {
                            clause: "paid out every",
                            statement: head.keyword(),
                            help: "only a share back (`earn 10% back, paid out every year`) is saved up and paid out",
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
                match (&amount.kind, measure) {
                    (QuantityKind::Money(_), None | Some(Measure::Spent))
                    | (_, Some(Measure::Spent)) => {
                        let v = self.money(amount);
                        self.nonzero(v, amount.span, "a tier threshold");
                    }
                    (QuantityKind::Count, Some(Measure::Earned)) => {
                        let v = self.whole_points(amount);
                        self.nonzero(v, amount.span, "a tier threshold");
                    }
                    (QuantityKind::Count, None)
                        if amount
                            .unit
                            .as_ref()
                            .is_some_and(|u| !self.is_points_unit(u)) =>
                    {
                        let v = self.visits(amount);
                        self.nonzero(v, amount.span, "a tier threshold");
                    }
                    (QuantityKind::Count, _) if amount.unit.is_none() => {
                        self.points(amount);
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
                    }
                    _ => self.wrong_threshold(amount),
                }
                if let QualifyPeriod::Last(duration) = &period.node {
                    let duration = Node::new(duration.clone(), period.span);
                    self.duration(&duration);
                }
            }
            Clause::Within { duration, anchor } => {
                self.duration(duration);
                if *anchor == Anchor::ReachingTier && scope != Scope::Tier {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "`reaching the tier` only means something inside a tier's block",
                            help: "move the rule into the tier's block, or use `within 30 days of joining`",
                        },
                        clause.span,
                    );
                }
            }
            Clause::MinOrder(amount) => {
                let v = self.money(amount);
                self.nonzero(v, amount.span, "a minimum order");
            }
            Clause::ChosenDays { count, per } => {
                self.count(count, "the number of chosen days");
                self.fixed_word(per, PERIODS_CALENDAR, "a period for chosen days");
            }
            Clause::FirstDayOfEach(period) => {
                self.fixed_word(period, PERIODS_CALENDAR, "a calendar period")
            }
            Clause::Excluding(words) => {
                for word in words {
                    self.fixed_word(word, EXCLUSIONS, "something an order's amount can exclude");
                }
            }
            Clause::Cap { limit, per } => {
                match limit {
                    CapLimit::Times(count) => {
                        self.count(count, "a limit");
                    }
                    CapLimit::Amount(amount) => {
                        let value = if matches!(amount.kind, QuantityKind::Money(_)) {
                            self.money(amount)
                        } else {
                            self.points(amount)
                        };
                        self.nonzero(value, amount.span, "a limit");
                    }
                }
                self.fixed_word(per, CAP_PERIODS, "a period for a limit");
            }
            Clause::Exclusive => {}
            Clause::Kept(kept) => match kept {
                Kept::For(duration) => {
                    self.duration(duration);
                }
                Kept::UntilEndOfNext(period) => {
                    self.fixed_word(period, &["year"], "a period for keeping a tier")
                }
            },
            Clause::FreeTrial(duration) => {
                self.duration(duration);
            }
            Clause::Between { from, until } => {
                let a = self.date(from);
                let b = self.date(until);
                if let (Some(a), Some(b)) = (a, b)
                    && b < a
                {
                    self.report(ProblemKind::DatesOutOfOrder, clause.span);
                }
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

    fn resolve_all(&mut self, kind: NameKind, names: &[Node<String>]) {
        for name in names {
            self.resolve(kind, name);
        }
    }

    /// A word from a fixed list, such as a period.
    fn fixed_word(
        &mut self,
        word: &Node<String>,
        allowed: &'static [&'static str],
        what: &'static str,
    ) {
        if allowed.contains(&word.as_str()) {
            return;
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
    }

    /// `2026-11-27` as (year, month, day) if it is a real day.
    fn date(&mut self, date: &Node<String>) -> Option<(i32, u32, u32)> {
        let parsed = crate::time::parse_date(date.as_bytes());
        if parsed.is_none() {
            self.report(
                ProblemKind::InvalidDate {
                    date: date.node.clone(),
                },
                date.span,
            );
        }
        parsed
    }

    // ------------------------------------------------------------------
    //  Heads
    // ------------------------------------------------------------------

    fn head(&mut self, statement: &Node<Statement>, scope: Scope) {
        let span = statement.head.span;
        match &statement.head.node {
            Head::Program { name } => {
                if name.trim().is_empty() {
                    self.report(
                        ProblemKind::MissingClause {
                            statement: "program",
                            help: "give the program its name: `program \"Coffee Club\"`",
                        },
                        name.span,
                    );
                }
            }
            Head::Points { name } => {
                if !statement
                    .clauses
                    .iter()
                    .any(|c| matches!(c.node, Clause::Worth { .. }))
                {
                    self.report(ProblemKind::NoPointsValue, name.span);
                }
            }
            Head::Earn { benefit, trigger } => {
                self.earn(benefit, trigger.as_ref(), statement, scope)
            }
            Head::Bonus { amount } => self.bonus(amount),
            Head::Discount { amount } => {
                let v = self.percent(amount);
                self.nonzero(v, amount.span, "a discount");
            }
            Head::Reward { .. } => {
                if !statement
                    .clauses
                    .iter()
                    .any(|c| matches!(c.node, Clause::Worth { .. }))
                {
                    self.report(
                        ProblemKind::MissingClause {
                            statement: "reward",
                            help: "say what the reward is worth to the member: `, worth $10` or \
                                   `, worth 20% off the next order`",
                        },
                        span,
                    );
                }
            }
            Head::Convert { every, into } => {
                let p = self.whole_points(every);
                self.nonzero(p, every.span, "the number of points converted");
                match &into.node {
                    Benefit::Amount(_) | Benefit::Back(_) => self.report(
                        ProblemKind::WrongUnit {
                            expected: "a reward such as `$5 reward` or `reward \"Free drink\"`"
                                .into(),
                            found: format!("`{}`", &self.source[into.span.start..into.span.end]),
                        },
                        into.span,
                    ),
                    _ => {
                        self.benefit(into, false);
                    }
                }
            }
            Head::Donate {
                amount,
                charity,
                trigger,
            } => {
                let m = self.money(amount);
                self.nonzero(m, amount.span, "a donation");
                self.resolve(NameKind::Charity, charity);
                self.trigger(trigger, scope);
            }
            Head::Expire { what, expiry } => self.expiry(what, expiry),
            Head::Membership { .. } => {
                let paid = statement
                    .clauses
                    .iter()
                    .any(|c| matches!(c.node, Clause::Costs { .. }));
                if let Some(trial) = statement
                    .clauses
                    .iter()
                    .find(|c| matches!(c.node, Clause::FreeTrial(_)))
                    && !paid
                {
                    self.report(ProblemKind::TrialWithoutFee, trial.span);
                }
            }
            Head::Tier { .. } => {
                let qualifications: Vec<&Node<Clause>> = statement
                    .clauses
                    .iter()
                    .filter(|c| matches!(c.node, Clause::Qualify { .. } | Clause::MembersWith(_)))
                    .collect();
                if let [_, second, ..] = qualifications.as_slice() {
                    self.report(
                        ProblemKind::DuplicateClause {
                            clause: "how the tier is reached",
                        },
                        second.span,
                    );
                }
            }
            Head::Currency { .. }
            | Head::Declare { .. }
            | Head::Brand { .. }
            | Head::Partner { .. }
            | Head::Charity { .. }
            | Head::Perk { .. } => {}
        }
    }

    fn earn(
        &mut self,
        benefit: &Node<Benefit>,
        trigger: Option<&Node<Trigger>>,
        statement: &Node<Statement>,
        scope: Scope,
    ) {
        let span = statement.head.span;
        match (&benefit.node, trigger) {
            (Benefit::Back(share), None) => {
                let share = Node::new(share.clone(), benefit.span);
                let v = self.percent(&share);
                self.nonzero(v, benefit.span, "a share back");
            }
            (Benefit::Back(_), Some(trigger)) => self.report(
                match trigger.node {
                    Trigger::PerSpent(_) => ProblemKind::WrongTrigger {
                        message: "a share `back` is already counted on each purchase",
                        help: "remove `per ... spent`: `earn 2% back`",
                    },
                    _ => ProblemKind::WrongTrigger {
                        message: "a share `back` is earned on purchases only",
                        help: "write `earn 2% back`, or give a fixed reward: `earn $5 reward for review`",
                    },
                },
                trigger.span,
            ),
            (_, None) => self.report(
                ProblemKind::WrongTrigger {
                    message: "this rule does not say when it is earned",
                    help: "add when: `per $1 spent`, `for review`, `for every 5th visit`, `every month` \
                           or `for reaching the tier`",
                },
                span,
            ),
            (Benefit::Named(_) | Benefit::OffNextOrder(_), Some(trigger @ Node { node: Trigger::PerSpent(_), .. })) => {
                self.report(
                    ProblemKind::WrongTrigger {
                        message: "a single reward cannot be earned per amount spent",
                        help: "use `for spending $30 in a month` or `for every 5th visit`",
                    },
                    trigger.span,
                )
            }
            (_, Some(trigger)) => {
                let per_spend = matches!(trigger.node, Trigger::PerSpent(_));
                let single = self.benefit(benefit, per_spend);
                self.trigger(trigger, scope);
                if !per_spend && let Some((value, is_money)) = single {
                    self.caps_cover(statement, value, is_money);
                }
            }
        }
    }

    /// Checks what a member gets; returns its amount and whether it is money.
    fn benefit(
        &mut self,
        benefit: &Node<Benefit>,
        per_spend: bool,
    ) -> Option<(crate::decimal::Decimal, bool)> {
        let at = |q: &Quantity| Node::new(q.clone(), benefit.span);
        match &benefit.node {
            Benefit::Amount(points) => {
                let points = at(points);
                let value = if per_spend {
                    self.points(&points)
                } else {
                    self.whole_points(&points)
                };
                self.nonzero(value, benefit.span, "points earned")
                    .map(|v| (v, false))
            }
            Benefit::RewardCredit(money) => {
                let value = self.money(&at(money));
                self.nonzero(value, benefit.span, "a reward")
                    .map(|v| (v, true))
            }
            Benefit::OffNextOrder(share) => {
                let value = self.percent(&at(share));
                self.nonzero(value, benefit.span, "a discount");
                None
            }
            Benefit::Named(name) => {
                self.resolve(NameKind::Reward, name);
                self.given_rewards.push(name.node.clone());
                None
            }
            Benefit::Back(_) => None,
        }
    }

    fn trigger(&mut self, trigger: &Node<Trigger>, scope: Scope) {
        match &trigger.node {
            Trigger::PerSpent(money) => {
                let v = self.money(money);
                self.nonzero(v, money.span, "the spend per earn");
            }
            Trigger::EveryNth { nth, action } => {
                if *nth == 0 {
                    self.report(ProblemKind::ZeroAmount { what: "a position" }, trigger.span);
                }
                self.resolve(NameKind::Action, action);
            }
            Trigger::Spending { amount, period } => {
                let v = self.money(amount);
                self.nonzero(v, amount.span, "a spend threshold");
                self.fixed_word(period, PERIODS_CALENDAR, "a period for spending");
            }
            Trigger::ReachingTier => {
                if scope != Scope::Tier {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "`for reaching the tier` only means something inside a tier's block",
                            help: "move the rule into the block of the tier it rewards",
                        },
                        trigger.span,
                    );
                }
            }
            Trigger::Action(action) => {
                self.resolve(NameKind::Action, action);
            }
            Trigger::Every(period) | Trigger::FirstDayOfEach(period) => {
                self.fixed_word(period, PERIODS_CALENDAR, "a period for a recurring reward")
            }
        }
    }

    /// A limit below what one event earns means the rule never pays in full.
    fn caps_cover(
        &mut self,
        statement: &Node<Statement>,
        value: crate::decimal::Decimal,
        is_money: bool,
    ) {
        for clause in &statement.clauses {
            if let Clause::Cap {
                limit: CapLimit::Amount(cap),
                ..
            } = &clause.node
            {
                let cap_is_money = matches!(cap.kind, QuantityKind::Money(_));
                if cap_is_money == is_money && !cap.value.is_negative() && cap.value < value {
                    let text = |span: Span| self.source[span.start..span.end].to_string();
                    let benefit_text = match &statement.head.node {
                        Head::Earn { benefit, .. } => text(benefit.span),
                        _ => value.to_string(),
                    };
                    self.report(
                        ProblemKind::CapBelowSingleEarn {
                            cap: text(cap.span),
                            earn: benefit_text,
                        },
                        cap.span,
                    );
                }
            }
        }
    }

    fn bonus(&mut self, amount: &Node<Quantity>) {
        match amount.kind {
            QuantityKind::Multiplier => {
                match &amount.unit {
                    Some(unit)
                        if crate::vocabulary::means_rewards(unit) || self.is_points_unit(unit) => {}
                    Some(unit) => {
                        let mut candidates = self.points_units();
                        candidates.push(crate::vocabulary::REWARDS.into());
                        let suggestion = did_you_mean(unit, candidates.iter().map(String::as_str))
                            .map(str::to_string);
                        self.report(
                            ProblemKind::UnknownUnit {
                                unit: unit.node.clone(),
                                expected:
                                    "what the bonus multiplies: the program's points or `rewards`"
                                        .into(),
                                suggestion,
                            },
                            unit.span,
                        );
                    }
                    None => self.report(
                        ProblemKind::MissingUnit {
                            expected: "what the bonus multiplies: points or rewards".into(),
                            example: format!("{}x points", amount.value),
                        },
                        amount.span,
                    ),
                }
                if amount.value <= crate::decimal::Decimal::ONE {
                    self.report(
                        ProblemKind::MultiplierWithoutEffect {
                            value: format!("{}x", amount.value),
                        },
                        amount.span,
                    );
                }
            }
            _ => {
                let v = self.whole_points(amount);
                self.nonzero(v, amount.span, "a bonus");
            }
        }
    }

    fn expiry(&mut self, what: &Node<String>, expiry: &Expiry) {
        let is_rewards = crate::vocabulary::means_rewards(what);
        if !is_rewards && !self.is_points_unit(what) {
            let mut candidates = self.points_units();
            candidates.push(crate::vocabulary::REWARDS.into());
            let suggestion =
                did_you_mean(what, candidates.iter().map(String::as_str)).map(str::to_string);
            self.report(
                ProblemKind::UnknownUnit {
                    unit: what.node.clone(),
                    expected: "what expires: the program's points or `rewards`".into(),
                    suggestion,
                },
                what.span,
            );
        }
        match expiry {
            Expiry::AfterLifecycle {
                duration,
                lifecycle,
            } => {
                self.duration(duration);
                let mismatch = match lifecycle {
                    Lifecycle::Earned => is_rewards,
                    Lifecycle::Issued => !is_rewards,
                };
                if mismatch {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "points are earned and rewards are issued",
                            help: "write `points expire 12 months after they are earned` or `rewards \
                                   expire 30 days after they are issued`",
                        },
                        duration.span,
                    );
                }
            }
            Expiry::Inactivity { duration } => {
                self.duration(duration);
                if is_rewards {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "rewards expire a time after they are issued, not after inactivity",
                            help: "write `rewards expire 30 days after they are issued`",
                        },
                        duration.span,
                    );
                }
            }
        }
    }
}

/// Statements a program states at most once.
fn once_per_program(head: &Head) -> Option<&'static str> {
    match head {
        Head::Program { .. } => Some("the program's name"),
        Head::Currency { .. } => Some("the currency"),
        Head::Points { .. } => Some("what points are called"),
        Head::Expire { what, .. } if crate::vocabulary::means_rewards(what) => {
            Some("when rewards expire")
        }
        Head::Expire { .. } => Some("when points expire"),
        _ => None,
    }
}
