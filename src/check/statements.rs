//! Pass 2: every statement on its own. Where it may stand, which clauses
//! it takes, whether its amounts are of the right kind, whether the names
//! it refers to exist; and what it means, written into the program being
//! resolved. Each word is read here once: whatever cannot be resolved is
//! reported, so a program without errors is resolved whole.

use super::amounts::{cents, whole, whole_points_per};
use super::clauses::{Clauses, PERIODS_CALENDAR};
use super::problem::{NameKind, ProblemKind};
use super::{Checker, statements_of};
use crate::decimal::Decimal;
use crate::diagnostic::did_you_mean;
use crate::program::{
    self, Bonus, BonusKind, Cap, ConversionInto, Discount, EarnRule, PointsExpiry, RewardValue,
    Scope,
};
use crate::span::{Node, Span};
use crate::syntax::ast::*;
use crate::time::{Every, Month, Period};
use crate::vocabulary::PerkCost;
use crate::vocabulary::Word;

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
            let clauses = self.clauses(statement, scope);
            self.head(statement, scope, clauses);
            if let Some(block) = &statement.block {
                // A block anywhere else is reported by `placement`.
                let inner = match &statement.head.node {
                    Head::Tier { name } => {
                        Scope::Tier(self.names(NameKind::Tier).id(name).unwrap_or_default())
                    }
                    Head::Membership { name } => Scope::Membership(
                        self.names(NameKind::Membership)
                            .id(name)
                            .unwrap_or_default(),
                    ),
                    _ => Scope::Membership(0),
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
        if scope != Scope::Program && !benefit {
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
    //  Heads
    // ------------------------------------------------------------------

    /// Checks a statement's head and adds the statement, resolved with
    /// its clauses, to the program.
    fn head(&mut self, statement: &Node<Statement>, scope: Scope, clauses: Clauses) {
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
                if clauses.point_value.is_some() {
                    self.program.point_value = clauses.point_value;
                }
            }
            Head::Partner { name } => {
                if let Some(id) = self.names(NameKind::Partner).id(name) {
                    let partner = &mut self.program.partners[usize::from(id)];
                    partner.funds = clauses.funds.unwrap_or(Decimal::ZERO);
                    partner.price = clauses.funding_price;
                    partner.margin = clauses.margin.unwrap_or(Decimal::ZERO);
                }
            }
            Head::Charity { name } => {
                if let (Some(id), Some(rate)) =
                    (self.names(NameKind::Charity).id(name), clauses.receives)
                {
                    self.program.charities[usize::from(id)].receives = Some(rate);
                }
            }
            Head::Earn { benefit, trigger } => {
                let text = self.statement_text(statement, scope);
                if let Some((benefit, trigger)) =
                    self.earn(benefit, trigger.as_ref(), statement, scope)
                {
                    let caps = self.caps(clauses.caps, scope);
                    self.program.rules.push(EarnRule {
                        text,
                        benefit,
                        trigger,
                        conditions: clauses.conditions,
                        caps,
                        paid_out_yearly: clauses.paid_out_yearly,
                    });
                }
            }
            Head::Bonus { amount } => {
                let text = self.statement_text(statement, scope);
                if let Some(kind) = self.bonus(amount) {
                    let caps = self.caps(clauses.caps, scope);
                    self.bonus_spans.push(amount.span);
                    self.program.bonuses.push(Bonus {
                        text,
                        kind,
                        conditions: clauses.conditions,
                        caps,
                        exclusive: clauses.exclusive,
                    });
                }
            }
            Head::Discount { amount } => {
                let v = self.percent(amount);
                if let Some(percent) = self.nonzero(v, amount.span, "a discount") {
                    let text = self.statement_text(statement, scope);
                    self.program.discounts.push(Discount {
                        text,
                        percent,
                        conditions: clauses.conditions,
                    });
                }
            }
            Head::Perk { name } => {
                let text = self.statement_text(statement, scope);
                self.perk(name, text, &clauses);
            }
            Head::Reward { name } => {
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
                if let Some(id) = self.names(NameKind::Reward).id(name) {
                    let caps = self.caps(clauses.caps, scope);
                    let reward = &mut self.program.rewards[usize::from(id)];
                    reward.caps = caps;
                    reward.cost = clauses.reward_cost;
                    reward.value = clauses.reward_value.unwrap_or(RewardValue::Money(0));
                    reward.conditions = clauses.conditions;
                }
            }
            Head::Convert { every, into } => {
                let p = self.whole_points(every);
                let points = self.nonzero(p, every.span, "the number of points converted");
                let into = match &into.node {
                    Benefit::Amount(_) | Benefit::Back(_) => {
                        self.report(
                            ProblemKind::WrongUnit {
                                expected: "a reward such as `$5 reward` or `reward \"Free drink\"`"
                                    .into(),
                                found: format!(
                                    "`{}`",
                                    &self.source[into.span.start..into.span.end]
                                ),
                            },
                            into.span,
                        );
                        None
                    }
                    _ => match self.benefit(into, false) {
                        Some(program::Benefit::Money(cents)) => Some(ConversionInto::Money(cents)),
                        Some(program::Benefit::Reward(id)) => Some(ConversionInto::Reward(id)),
                        _ => None,
                    },
                };
                if let (Some(points), Some(into)) = (points, into) {
                    let text = self.statement_text(statement, scope);
                    self.program.conversions.push(program::Conversion {
                        text,
                        points: whole(points),
                        into,
                        on_first_day_of: clauses.first_day_of,
                    });
                }
            }
            Head::Donate {
                amount,
                charity,
                trigger,
            } => {
                let m = self.money(amount);
                let m = self.nonzero(m, amount.span, "a donation");
                let charity = self.resolve(NameKind::Charity, charity);
                let trigger = self.trigger(trigger, scope);
                if let (Some(m), Some(charity), Some(trigger)) = (m, charity, trigger) {
                    let text = self.statement_text(statement, scope);
                    self.program.rules.push(EarnRule {
                        text,
                        benefit: program::Benefit::Donation {
                            charity,
                            cents: cents(m),
                        },
                        trigger,
                        conditions: clauses.conditions,
                        caps: Vec::new(),
                        paid_out_yearly: false,
                    });
                }
            }
            Head::Pending { what, duration } => {
                self.points_named(what, false, "the program's points");
                self.program.points_pending = self.period(duration);
            }
            Head::Expire { what, expiry } => {
                if let Some(expiry) = self.expiry(what, expiry) {
                    let text = Some(self.statement_text(statement, scope));
                    let p = &mut self.program;
                    match expiry {
                        Expires::Rewards(period) => {
                            p.reward_expiry = Some(period);
                            p.reward_expiry_text = text;
                        }
                        Expires::Points(expiry) => {
                            p.points_expiry = Some(expiry);
                            p.points_expiry_text = text;
                        }
                    }
                }
            }
            Head::Membership { name } => {
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
                if let Some(id) = self.names(NameKind::Membership).id(name) {
                    let membership = &mut self.program.memberships[usize::from(id)];
                    membership.fee = clauses.fee;
                    membership.trial = clauses.trial;
                    // A plan does not replace itself.
                    let itself = 1u64.checked_shl(u32::from(id)).unwrap_or(0);
                    membership.replaces = clauses.replaces.unwrap_or(0) & !itself;
                }
            }
            Head::Tier { name } => {
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
                if let Some(id) = self.names(NameKind::Tier).id(name) {
                    let tier = &mut self.program.tiers[usize::from(id)];
                    tier.qualification = clauses.qualification;
                    tier.kept = clauses.kept;
                }
            }
            Head::Currency { .. }
            | Head::TimeZone { .. }
            | Head::Declare { .. }
            | Head::Brand { .. } => {}
        }
    }

    /// The statement as `fmt` writes it, after the block it stands in:
    /// the reason effects give.
    fn statement_text(&self, statement: &Statement, scope: Scope) -> String {
        let line = crate::format::statement_line(statement);
        match scope {
            Scope::Program => line,
            // A block that is not a tier's or a membership's (reported)
            // has no name to show.
            Scope::Tier(t) => format!(
                "tier \"{}\": {line}",
                self.names(NameKind::Tier).get(t).unwrap_or_default()
            ),
            Scope::Membership(m) => format!(
                "membership \"{}\": {line}",
                self.names(NameKind::Membership).get(m).unwrap_or_default()
            ),
        }
    }

    /// Limits, each with its own counter in a member.
    fn caps(&mut self, caps: Vec<Cap>, scope: Scope) -> Vec<Cap> {
        caps.into_iter()
            .map(|cap| {
                let slots = match cap.total {
                    true => &mut self.program.budget_slots,
                    false => &mut self.program.cap_slots,
                };
                *slots += 1;
                Cap {
                    slot: *slots - 1,
                    scope,
                    ..cap
                }
            })
            .collect()
    }

    /// A perk, and what it costs the brand per month, year or member as a
    /// rule, so that the cost recurs like one.
    fn perk(&mut self, name: &Node<String>, text: String, clauses: &Clauses) {
        let perk = self.program.perks.len() as program::PerkId;
        let recurring = match clauses.perk_cost {
            Some((cents, PerkCost::Month)) => Some((cents, program::Trigger::Every(Every::Month))),
            Some((cents, PerkCost::Year)) => Some((cents, program::Trigger::Every(Every::Year))),
            Some((cents, PerkCost::Member)) => Some((
                cents,
                program::Trigger::Action(program::Action::Joining.id()),
            )),
            _ => None,
        };
        if let Some((cents, trigger)) = recurring {
            self.program.rules.push(EarnRule {
                text: text.clone(),
                benefit: program::Benefit::PerkCost { perk, cents },
                trigger,
                conditions: clauses.conditions,
                caps: Vec::new(),
                paid_out_yearly: false,
            });
        }
        self.program.perks.push(program::Perk {
            name: name.node.clone(),
            text,
            cost: clauses.perk_cost,
            conditions: clauses.conditions,
        });
    }

    /// What an earn rule gives and when.
    fn earn(
        &mut self,
        benefit: &Node<Benefit>,
        trigger: Option<&Node<Trigger>>,
        statement: &Node<Statement>,
        scope: Scope,
    ) -> Option<(program::Benefit, program::Trigger)> {
        let span = statement.head.span;
        match (&benefit.node, trigger) {
            (Benefit::Back(share), None) => {
                let share = Node::new(share.clone(), benefit.span);
                let v = self.percent(&share);
                let v = self.nonzero(v, benefit.span, "a share back")?;
                // Counted on every cent spent.
                Some((program::Benefit::Back(v), program::Trigger::PerSpent(1)))
            }
            (Benefit::Back(_), Some(trigger)) => {
                self.report(
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
                );
                None
            }
            (_, None) => {
                self.report(
                    ProblemKind::WrongTrigger {
                        message: "this rule does not say when it is earned",
                        help: "add when: `per $1 spent`, `for review`, `for every 5th visit`, `every month` \
                               or `for reaching the tier`",
                    },
                    span,
                );
                None
            }
            (
                Benefit::Named(_) | Benefit::OffNextOrder(_),
                Some(
                    trigger @ Node {
                        node: Trigger::PerSpent(_),
                        ..
                    },
                ),
            ) => {
                self.report(
                    ProblemKind::WrongTrigger {
                        message: "a single reward cannot be earned per amount spent",
                        help: "use `for spending $30 in a month` or `for every 5th visit`",
                    },
                    trigger.span,
                );
                None
            }
            (_, Some(trigger)) => {
                let per_spend = matches!(trigger.node, Trigger::PerSpent(_));
                let resolved = self.benefit(benefit, per_spend);
                let trigger = self.trigger(trigger, scope);
                let single = match &benefit.node {
                    Benefit::Amount(points) => Some((points.value, false)),
                    Benefit::RewardCredit(money) => Some((money.value, true)),
                    _ => None,
                };
                if let (false, Some(_), Some((value, is_money))) = (per_spend, resolved, single) {
                    self.caps_cover(statement, value, is_money);
                }
                match (resolved?, trigger?, &benefit.node) {
                    // Points, unlike cents, may be earned at a fractional
                    // rate: `1.5 points per $1` is 3 whole points per 200
                    // cents, which the engine counts in proportion.
                    (
                        program::Benefit::Points(_),
                        program::Trigger::PerSpent(per),
                        Benefit::Amount(points),
                    ) => match whole_points_per(points.value, per) {
                        Some((points, per)) => Some((
                            program::Benefit::Points(points),
                            program::Trigger::PerSpent(per),
                        )),
                        None => {
                            self.wrong(
                                &Node::new(points.clone(), benefit.span),
                                "a rate counted over a smaller spend",
                            );
                            None
                        }
                    },
                    (resolved, trigger, _) => Some((resolved, trigger)),
                }
            }
        }
    }

    /// Checks what a member gets, and resolves it.
    fn benefit(&mut self, benefit: &Node<Benefit>, per_spend: bool) -> Option<program::Benefit> {
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
                    .map(|v| program::Benefit::Points(whole(v)))
            }
            Benefit::RewardCredit(money) => {
                let value = self.money(&at(money));
                self.nonzero(value, benefit.span, "a reward")
                    .map(|v| program::Benefit::Money(cents(v)))
            }
            Benefit::OffNextOrder(share) => {
                let value = self.percent(&at(share));
                let value = self.nonzero(value, benefit.span, "a discount")?;
                Some(program::Benefit::Reward(self.unnamed_reward(value)))
            }
            Benefit::Named(name) => {
                let id = self.resolve(NameKind::Reward, name);
                self.given_rewards.push(name.node.clone());
                id.map(program::Benefit::Reward)
            }
            Benefit::Back(_) => None,
        }
    }

    /// `earn 15% off the next order for newsletter` gives a reward that
    /// has no name in the file: it is named by its own words, and a
    /// reward declared with that name is that reward.
    fn unnamed_reward(&mut self, percent: Decimal) -> program::RewardId {
        let name = format!("{percent}% off the next order");
        if let Some(id) = self.names(NameKind::Reward).id(&name) {
            return id;
        }
        let declared = self.names(NameKind::Reward).len();
        let index = match self.unnamed_rewards.iter().position(|(n, _)| *n == name) {
            Some(index) => index,
            None => {
                self.unnamed_rewards.push((name, percent));
                self.unnamed_rewards.len() - 1
            }
        };
        (declared + index) as program::RewardId
    }

    fn trigger(&mut self, trigger: &Node<Trigger>, scope: Scope) -> Option<program::Trigger> {
        use program::Trigger as Resolved;
        match &trigger.node {
            Trigger::PerSpent(money) => {
                let v = self.money(money);
                let v = self.nonzero(v, money.span, "the spend per earn")?;
                Some(Resolved::PerSpent(cents(v)))
            }
            Trigger::EveryNth { nth, action } => {
                if *nth == 0 {
                    self.report(ProblemKind::ZeroAmount { what: "a position" }, trigger.span);
                }
                let action = self.resolve(NameKind::Action, action)?;
                (*nth > 0).then_some(Resolved::EveryNth { nth: *nth, action })
            }
            Trigger::Spending { amount, period } => {
                let v = self.money(amount);
                let v = self.nonzero(v, amount.span, "a spend threshold");
                let per = self.word(period, PERIODS_CALENDAR, "a period for spending");
                Some(Resolved::Spending {
                    cents: cents(v?),
                    per: per?,
                })
            }
            Trigger::ReachingTier => {
                if !matches!(scope, Scope::Tier(_)) {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "`for reaching the tier` only means something inside a tier's block",
                            help: "move the rule into the block of the tier it rewards",
                        },
                        trigger.span,
                    );
                }
                Some(Resolved::ReachingTier)
            }
            Trigger::Action(action) => self.resolve(NameKind::Action, action).map(Resolved::Action),
            Trigger::Every(PeriodOrLength::Calendar(period)) => self
                .word(period, PERIODS_CALENDAR, "a period for a recurring reward")
                .map(Resolved::Every),
            Trigger::Every(PeriodOrLength::Last(length)) => {
                self.period(length).map(|p| Resolved::Every(Every::Last(p)))
            }
            Trigger::FirstDayOfEach(period) => self
                .word(period, PERIODS_CALENDAR, "a period for a recurring reward")
                .map(Resolved::FirstDayOf),
        }
    }

    /// A limit below what one event earns means the rule never pays in full.
    fn caps_cover(&mut self, statement: &Node<Statement>, value: Decimal, is_money: bool) {
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

    fn bonus(&mut self, amount: &Node<Quantity>) -> Option<BonusKind> {
        match amount.kind {
            QuantityKind::Multiplier => {
                let rewards = match &amount.unit {
                    Some(unit) if crate::vocabulary::means_rewards(unit) => Some(true),
                    Some(unit) if self.is_points_unit(unit) => Some(false),
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
                        None
                    }
                    None => {
                        self.report(
                            ProblemKind::MissingUnit {
                                expected: "what the bonus multiplies: points or rewards".into(),
                                example: format!("{}x points", amount.value),
                            },
                            amount.span,
                        );
                        None
                    }
                };
                if amount.value <= Decimal::ONE {
                    self.report(
                        ProblemKind::MultiplierWithoutEffect {
                            value: format!("{}x", amount.value),
                        },
                        amount.span,
                    );
                }
                rewards.map(|rewards| match rewards {
                    true => BonusKind::RewardsMultiplier(amount.value),
                    false => BonusKind::PointsMultiplier(amount.value),
                })
            }
            _ => {
                let v = self.whole_points(amount);
                self.nonzero(v, amount.span, "a bonus")
                    .map(|v| BonusKind::FlatPoints(whole(v)))
            }
        }
    }

    /// Whether a statement's head names the program's points (or, with
    /// `or_rewards`, rewards); reported with a suggestion when not.
    fn points_named(&mut self, what: &Node<String>, or_rewards: bool, expected: &str) -> bool {
        let rewards = or_rewards && crate::vocabulary::means_rewards(what);
        if rewards || self.is_points_unit(what) {
            return true;
        }
        let mut candidates = self.points_units();
        if or_rewards {
            candidates.push(crate::vocabulary::REWARDS.into());
        }
        let suggestion =
            did_you_mean(what, candidates.iter().map(String::as_str)).map(str::to_string);
        self.report(
            ProblemKind::UnknownUnit {
                unit: what.node.clone(),
                expected: expected.into(),
                suggestion,
            },
            what.span,
        );
        false
    }

    fn expiry(&mut self, what: &Node<String>, expiry: &Expiry) -> Option<Expires> {
        let is_rewards = crate::vocabulary::means_rewards(what);
        let known = self.points_named(
            what,
            true,
            "what expires: the program's points or `rewards`",
        );
        let expires = match expiry {
            Expiry::AfterLifecycle {
                duration,
                lifecycle,
            } => {
                let period = self.period(duration);
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
                match is_rewards {
                    true => Expires::Rewards(period?),
                    false => Expires::Points(PointsExpiry::AfterEarned(period?)),
                }
            }
            Expiry::AtPeriodEnd {
                period: every,
                duration,
            } => {
                let after = self.period(duration);
                let every = self.word::<Every>(
                    every,
                    Every::CALENDAR_WORDS,
                    "a period to expire at the end of",
                );
                if is_rewards {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "rewards expire a time after they are issued",
                            help: "write `rewards expire 30 days after they are issued`",
                        },
                        duration.span,
                    );
                }
                Expires::Points(PointsExpiry::AtEndOf {
                    after: after?,
                    every: every?,
                })
            }
            Expiry::Inactivity { duration } => {
                let period = self.period(duration);
                if is_rewards {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "rewards expire a time after they are issued, not after inactivity",
                            help: "write `rewards expire 30 days after they are issued`",
                        },
                        duration.span,
                    );
                }
                Expires::Points(PointsExpiry::Inactivity(period?))
            }
            Expiry::EachYearOn { day, month } => {
                if is_rewards {
                    self.report(
                        ProblemKind::WrongTrigger {
                            message: "rewards expire a time after they are issued",
                            help: "write `rewards expire 30 days after they are issued`",
                        },
                        month.span,
                    );
                }
                let (month, day) = self.day_of_year(day, month)?;
                Expires::Points(PointsExpiry::EachYearOn { month, day })
            }
        };
        known.then_some(expires)
    }

    /// `31 March`: a month and a day that it has (29 February is kept on
    /// the 28th in other years).
    fn day_of_year(&mut self, day: &Node<Decimal>, month: &Node<String>) -> Option<(u32, u32)> {
        let name = month.to_lowercase();
        let lower = Node::new(name.clone(), month.span);
        let month = self.word::<Month>(&lower, Month::WORDS, "a month")? as u32 + 1;
        // A leap year, so that 29 February is a day some years have.
        let last = crate::time::days_in_month(2024, month);
        let whole = day.node.is_integer() && !day.node.is_negative();
        match whole.then(|| day.node.trunc()) {
            Some(d) if (1..=i64::from(last)).contains(&d) => Some((month, d as u32)),
            _ => {
                self.report(
                    ProblemKind::InvalidDate {
                        date: format!("{} {name}", day.node),
                    },
                    day.span,
                );
                None
            }
        }
    }
}

/// What an `expire` statement sets.
enum Expires {
    Rewards(Period),
    Points(PointsExpiry),
}

/// Statements a program states at most once.
fn once_per_program(head: &Head) -> Option<&'static str> {
    match head {
        Head::Program { .. } => Some("the program's name"),
        Head::Currency { .. } => Some("the currency"),
        Head::TimeZone { .. } => Some("the time zone"),
        Head::Points { .. } => Some("what points are called"),
        Head::Expire { what, .. } if crate::vocabulary::means_rewards(what) => {
            Some("when rewards expire")
        }
        Head::Expire { .. } => Some("when points expire"),
        Head::Pending { .. } => Some("how long points are pending"),
        _ => None,
    }
}
