//! Compile: a checked AST becomes the executable [`Program`].
//!
//! The checker has already rejected wrong names, units and placements,
//! so this pass only translates. The few things a checked program can
//! still say that the engine cannot run are [`CompileError`]s.

use crate::program::*;

use thiserror::Error;

use crate::check::{BUILT_IN_ACTIONS, CURRENCIES, Duration, statements_of};
use crate::decimal::Decimal;
use crate::format::statement_line;
use crate::span::Node;
use crate::syntax::ast::{self, Benefit as AstBenefit, CapLimit, Clause, Head, QuantityKind};
use crate::time::{DurationUnit, Every, Period, Time};

#[derive(Debug, Error, PartialEq)]
pub enum CompileError {
    /// Something `check` should have refused: a gap in the checker,
    /// reported at the statement like any diagnostic.
    #[error("`{line}`: {problem}")]
    Unsupported {
        line: String,
        problem: &'static str,
        span: crate::span::Span,
    },
}

impl From<CompileError> for crate::diagnostic::Diagnostic {
    fn from(error: CompileError) -> Self {
        let CompileError::Unsupported { span, .. } = &error;
        crate::diagnostic::Diagnostic {
            code: "loyalty::unsupported",
            severity: crate::diagnostic::Severity::Error,
            message: error.to_string(),
            span: *span,
            label: "this statement".into(),
            help: Some(
                "the checker passed this statement but it cannot be run; please report it \
                 with the program file"
                    .into(),
            ),
        }
    }
}

/// Compiles a program that `check` found free of errors.
pub fn compile(ast: &ast::Program) -> Result<Program, CompileError> {
    let mut compiler = Compiler::default();
    for action in BUILT_IN_ACTIONS {
        compiler.program.actions.add(action);
    }
    compiler.declare(&ast.items)?;
    compiler.statements(&ast.items, Scope::Program)?;
    let mut program = compiler.program;
    program.scheduled_rules = (0..program.rules.len())
        .filter(|&r| program.rules[r].is_scheduled())
        .collect();
    program.tiers_by_calendar_year = program.tiers.iter().any(|t| {
        matches!(
            t.qualification,
            Qualification::Threshold {
                window: Window::CalendarYear,
                ..
            }
        )
    });
    program.rolling_months = program
        .tiers
        .iter()
        .filter_map(|t| match t.qualification {
            Qualification::Threshold {
                window: Window::LastMonths(n),
                ..
            } => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    program.hash = program.identity();
    Ok(program)
}

/// FNV-1a over the rules as written canonically: the same rules give the
/// same hash whatever the comments and layout.
struct Compiler {
    program: Program,
}

impl Default for Compiler {
    fn default() -> Self {
        Compiler {
            program: Program {
                name: String::new(),
                currency: String::new(),
                currency_sign: '$',
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
                reward_expiry_text: None,
                reward_expiry: None,
                cap_slots: 0,
                scheduled_rules: Vec::new(),
                tiers_by_calendar_year: false,
                rolling_months: 0,
                hash: 0,
            },
        }
    }
}

fn unsupported(statement: &ast::Statement, problem: &'static str) -> CompileError {
    CompileError::Unsupported {
        line: statement_line(statement),
        problem,
        span: statement.head.span,
    }
}

fn cents(value: Decimal) -> Cents {
    value.raw() / (Decimal::SCALE / 100)
}

fn whole(value: Decimal) -> i64 {
    value.trunc()
}

fn period_of(quantity: &ast::Quantity) -> Option<Period> {
    let duration = Duration::of(quantity)?;
    duration.value.is_integer().then(|| Period {
        count: duration.value.trunc(),
        unit: duration.unit,
    })
}

impl Compiler {
    /// First pass: every name, so that rules can refer to names defined
    /// after them.
    fn declare(&mut self, items: &[ast::Item]) -> Result<(), CompileError> {
        for statement in statements_of(items) {
            let p = &mut self.program;
            match &statement.head.node {
                Head::Program { name } => p.name = name.node.clone(),
                Head::Currency { code } => {
                    p.currency = code.node.clone();
                    p.currency_sign = CURRENCIES
                        .iter()
                        .find(|(c, _)| *c == code.as_str())
                        .map_or('$', |(_, s)| *s);
                }
                Head::Points { name } => p.points_name = name.node.clone(),
                Head::Declare { kind, names } => {
                    let table = match kind {
                        ast::DeclareKind::Categories => &mut p.categories,
                        ast::DeclareKind::Channels => &mut p.channels,
                        ast::DeclareKind::PaymentMethods => &mut p.payment_methods,
                        ast::DeclareKind::Actions => &mut p.actions,
                        ast::DeclareKind::Attributes => &mut p.attributes,
                    };
                    for name in names {
                        table.add(name);
                    }
                }
                Head::Brand { name } => {
                    p.brands.add(name);
                }
                Head::Partner { name } => {
                    p.partner_names.add(name);
                    p.partners.push(Partner {
                        name: name.node.clone(),
                        funds: Decimal::ZERO,
                    });
                }
                Head::Charity { name } => {
                    p.charity_names.add(name);
                    p.charities.push(Charity {
                        name: name.node.clone(),
                        receives: None,
                    });
                }
                Head::Reward { name } => {
                    p.reward_names.add(name);
                    p.rewards.push(Reward {
                        name: name.node.clone(),
                        cost: None,
                        value: RewardValue::Money(0),
                        conditions: no_conditions(Scope::Program),
                    });
                }
                Head::Tier { name } => {
                    p.tier_names.add(name);
                    p.tiers.push(Tier {
                        name: name.node.clone(),
                        qualification: Qualification::None,
                        kept: None,
                    });
                }
                Head::Membership { name } => {
                    p.membership_names.add(name);
                    p.memberships.push(Membership {
                        name: name.node.clone(),
                        fee: None,
                        trial: None,
                    });
                }
                _ => {}
            }
            if let Some(block) = &statement.block {
                self.declare(block)?;
            }
        }
        Ok(())
    }
}

fn no_conditions(scope: Scope) -> Conditions {
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
        excluding: Exclusions::default(),
    }
}

impl Compiler {
    fn statements(&mut self, items: &[ast::Item], scope: Scope) -> Result<(), CompileError> {
        for statement in statements_of(items) {
            let text = statement_line(statement);
            let scoped_text = match scope {
                Scope::Program => text.clone(),
                Scope::Tier(t) => format!(
                    "tier \"{}\": {text}",
                    self.program.tiers[usize::from(t)].name
                ),
                Scope::Membership(m) => {
                    format!(
                        "membership \"{}\": {text}",
                        self.program.memberships[usize::from(m)].name
                    )
                }
            };
            self.statement(statement, scope, scoped_text)?;
        }
        Ok(())
    }

    fn statement(
        &mut self,
        statement: &Node<ast::Statement>,
        scope: Scope,
        text: String,
    ) -> Result<(), CompileError> {
        let conditions = self.conditions(statement, scope)?;
        let caps = self.caps(statement)?;
        match &statement.head.node {
            Head::Points { .. } => {
                for clause in &statement.clauses {
                    if let Clause::Worth {
                        value,
                        per: Some(per),
                        ..
                    } = &clause.node
                    {
                        self.program.point_value = Some(Rate {
                            cents: cents(value.value),
                            points: whole(per.value),
                        });
                    }
                }
            }
            Head::Partner { name } => {
                let id = self.program.partner_names.id(name).unwrap_or(0);
                for clause in &statement.clauses {
                    if let Clause::Funds(share) = &clause.node {
                        self.program.partners[usize::from(id)].funds = share.value;
                    }
                }
            }
            Head::Charity { name } => {
                let id = self.program.charity_names.id(name).unwrap_or(0);
                for clause in &statement.clauses {
                    if let Clause::Receives { amount, per } = &clause.node {
                        self.program.charities[usize::from(id)].receives = Some(Rate {
                            cents: cents(amount.value),
                            points: whole(per.value),
                        });
                    }
                }
            }
            Head::Earn { benefit, trigger } => {
                let benefit = self.benefit(statement, &benefit.node)?;
                let trigger = match trigger {
                    Some(trigger) => self.trigger(statement, &trigger.node)?,
                    None => match benefit {
                        Benefit::Back(_) => Trigger::PerSpent(1),
                        _ => {
                            return Err(unsupported(
                                statement,
                                "this rule does not say when it earns",
                            ));
                        }
                    },
                };
                let paid_out_yearly = statement
                    .clauses
                    .iter()
                    .any(|c| matches!(c.node, Clause::PaidOut(_)));
                self.program.rules.push(EarnRule {
                    text,
                    benefit,
                    trigger,
                    conditions,
                    caps,
                    paid_out_yearly,
                });
            }
            Head::Donate {
                amount,
                charity,
                trigger,
            } => {
                let charity = self
                    .program
                    .charity_names
                    .id(charity)
                    .ok_or_else(|| unsupported(statement, "the charity is not declared"))?;
                let trigger = self.trigger(statement, &trigger.node)?;
                self.program.rules.push(EarnRule {
                    text,
                    benefit: Benefit::Donation {
                        charity,
                        cents: cents(amount.value),
                    },
                    trigger,
                    conditions,
                    caps,
                    paid_out_yearly: false,
                });
            }
            Head::Bonus { amount } => {
                let kind = match amount.kind {
                    QuantityKind::Multiplier
                        if amount
                            .unit
                            .as_ref()
                            .is_some_and(|u| crate::vocabulary::means_rewards(u)) =>
                    {
                        BonusKind::RewardsMultiplier(amount.value)
                    }
                    QuantityKind::Multiplier => BonusKind::PointsMultiplier(amount.value),
                    _ => BonusKind::FlatPoints(whole(amount.value)),
                };
                let exclusive = statement
                    .clauses
                    .iter()
                    .any(|c| matches!(c.node, Clause::Exclusive));
                self.program.bonuses.push(Bonus {
                    text,
                    kind,
                    conditions,
                    caps,
                    exclusive,
                });
            }
            Head::Discount { amount } => self.program.discounts.push(Discount {
                text,
                percent: amount.value,
                conditions,
            }),
            Head::Perk { name } => {
                let mut cost = None;
                for clause in &statement.clauses {
                    if let Clause::Costs { amount, per, once } = &clause.node {
                        // No period: per use, or once for the member.
                        let per = match per.as_ref() {
                            Some(word) => PerkCost::from_word(word).unwrap_or(PerkCost::Use),
                            None if *once => PerkCost::Member,
                            None => PerkCost::Use,
                        };
                        cost = Some((cents(amount.value), per));
                    }
                }
                let perk = self.program.perks.len() as PerkId;
                let recurring = match cost {
                    Some((cents, PerkCost::Month)) => Some((cents, Trigger::Every(Every::Month))),
                    Some((cents, PerkCost::Year)) => Some((cents, Trigger::Every(Every::Year))),
                    Some((cents, PerkCost::Member)) => {
                        Some((cents, Trigger::Action(Action::Joining.id())))
                    }
                    _ => None,
                };
                if let Some((cents, trigger)) = recurring {
                    self.program.rules.push(EarnRule {
                        text: text.clone(),
                        benefit: Benefit::PerkCost { perk, cents },
                        trigger,
                        conditions,
                        caps: Vec::new(),
                        paid_out_yearly: false,
                    });
                }
                self.program.perks.push(Perk {
                    name: name.node.clone(),
                    text,
                    cost,
                    conditions,
                });
            }
            Head::Reward { name } => {
                let id = self.program.reward_names.id(name).unwrap_or(0);
                let mut cost = None;
                let mut value = RewardValue::Money(0);
                for clause in &statement.clauses {
                    match &clause.node {
                        Clause::Costs { amount, .. } => cost = Some(whole(amount.value)),
                        Clause::Worth {
                            value: worth,
                            off_next_order,
                            ..
                        } => {
                            value = if *off_next_order || worth.kind == QuantityKind::Percent {
                                RewardValue::PercentOff(worth.value)
                            } else {
                                RewardValue::Money(cents(worth.value))
                            };
                        }
                        _ => {}
                    }
                }
                let reward = &mut self.program.rewards[usize::from(id)];
                reward.cost = cost;
                reward.value = value;
                reward.conditions = conditions;
            }
            Head::Convert { every, into } => {
                let into = match &into.node {
                    AstBenefit::RewardCredit(q) | AstBenefit::Amount(q)
                        if matches!(q.kind, QuantityKind::Money(_)) =>
                    {
                        ConversionInto::Money(cents(q.value))
                    }
                    AstBenefit::Named(name) => ConversionInto::Reward(
                        self.program
                            .reward_names
                            .id(name)
                            .ok_or_else(|| unsupported(statement, "the reward is not defined"))?,
                    ),
                    other => ConversionInto::Reward(self.anonymous_reward(statement, other)?),
                };
                let on_first_day_of = statement.clauses.iter().find_map(|c| match &c.node {
                    Clause::FirstDayOfEach(word) => Every::from_word(word),
                    _ => None,
                });
                self.program.conversions.push(Conversion {
                    text,
                    points: whole(every.value),
                    into,
                    on_first_day_of,
                });
            }
            Head::Expire { what, expiry } => {
                let (duration, lifecycle) = match expiry {
                    ast::Expiry::AfterLifecycle {
                        duration,
                        lifecycle,
                    } => (duration, Some(*lifecycle)),
                    ast::Expiry::Inactivity { duration } => (duration, None),
                };
                let period = period_of(duration).ok_or_else(|| {
                    unsupported(
                        statement,
                        "expiry needs a whole number of days, weeks, months or years",
                    )
                })?;
                if crate::vocabulary::means_rewards(what) {
                    self.program.reward_expiry = Some(period);
                    self.program.reward_expiry_text = Some(text);
                } else {
                    self.program.points_expiry_text = Some(text);
                    self.program.points_expiry = Some(match lifecycle {
                        None => PointsExpiry::Inactivity(period),
                        Some(_) => PointsExpiry::AfterEarned(period),
                    });
                }
            }
            Head::Tier { name } => {
                let id = self.program.tier_names.id(name).unwrap_or(0);
                let (qualification, kept) = self.tier(statement)?;
                let tier = &mut self.program.tiers[usize::from(id)];
                tier.qualification = qualification;
                tier.kept = kept;
                if let Some(block) = &statement.block {
                    self.statements(block, Scope::Tier(id))?;
                }
            }
            Head::Membership { name } => {
                let id = self.program.membership_names.id(name).unwrap_or(0);
                let mut fee = None;
                let mut trial = None;
                for clause in &statement.clauses {
                    match &clause.node {
                        Clause::Costs { amount, per, once } => {
                            let kind = match per.as_ref().and_then(|word| Fee::from_word(word)) {
                                Some(fee) => fee,
                                None if *once => Fee::Once,
                                _ => {
                                    return Err(unsupported(
                                        statement,
                                        "a fee is per month, per year or once",
                                    ));
                                }
                            };
                            fee = Some((cents(amount.value), kind));
                        }
                        Clause::FreeTrial(duration) => {
                            trial = Some(period_of(duration).ok_or_else(|| {
                                unsupported(
                                    statement,
                                    "a trial needs a whole number of days, weeks, months or years",
                                )
                            })?)
                        }
                        _ => {}
                    }
                }
                let membership = &mut self.program.memberships[usize::from(id)];
                membership.fee = fee;
                membership.trial = trial;
                if let Some(block) = &statement.block {
                    self.statements(block, Scope::Membership(id))?;
                }
            }
            Head::Program { .. }
            | Head::Currency { .. }
            | Head::Declare { .. }
            | Head::Brand { .. } => {}
        }
        Ok(())
    }

    fn tier(
        &self,
        statement: &ast::Statement,
    ) -> Result<(Qualification, Option<KeptFor>), CompileError> {
        let mut qualification = Qualification::None;
        let mut kept = None;
        for clause in &statement.clauses {
            match &clause.node {
                Clause::MembersWith(attribute) => {
                    qualification =
                        Qualification::Attribute(self.program.attributes.id(attribute).ok_or_else(
                            || unsupported(statement, "the attribute is not declared"),
                        )?)
                }
                Clause::Qualify {
                    amount,
                    measure,
                    period,
                } => {
                    let measure = match (amount.kind, measure) {
                        (QuantityKind::Money(_), _) | (_, Some(ast::Measure::Spent)) => {
                            Measure::Spend
                        }
                        (_, Some(ast::Measure::Earned)) => Measure::PointsEarned,
                        _ => Measure::Visits,
                    };
                    let amount = match measure {
                        Measure::Spend => cents(amount.value),
                        _ => whole(amount.value),
                    };
                    let window = match &period.node {
                        ast::QualifyPeriod::CalendarYear => Window::CalendarYear,
                        ast::QualifyPeriod::Total => Window::Total,
                        ast::QualifyPeriod::Last(q) => match period_of(q) {
                            Some(Period {
                                count,
                                unit: DurationUnit::Months,
                            }) if count > 0 => Window::LastMonths(count as u32),
                            Some(Period {
                                count,
                                unit: DurationUnit::Years,
                            }) if count > 0 => Window::LastMonths(count as u32 * 12),
                            _ => {
                                return Err(unsupported(
                                    statement,
                                    "a rolling qualification window is counted in whole months or years",
                                ));
                            }
                        },
                    };
                    qualification = Qualification::Threshold {
                        measure,
                        amount,
                        window,
                    };
                }
                Clause::Kept(ast::Kept::For(duration)) => {
                    kept = Some(KeptFor::Period(period_of(duration).ok_or_else(|| {
                        unsupported(
                            statement,
                            "`kept for` needs a whole number of days, weeks, months or years",
                        )
                    })?))
                }
                Clause::Kept(ast::Kept::UntilEndOfNext(_)) => {
                    kept = Some(KeptFor::UntilEndOfNextYear)
                }
                _ => {}
            }
        }
        Ok((qualification, kept))
    }

    /// `earn 15% off the next order for newsletter` gives a reward that
    /// has no name in the file: it gets one from its own words.
    fn anonymous_reward(
        &mut self,
        statement: &ast::Statement,
        benefit: &AstBenefit,
    ) -> Result<RewardId, CompileError> {
        let (name, value) = match benefit {
            AstBenefit::OffNextOrder(q) => (
                format!("{}% off the next order", q.value),
                RewardValue::PercentOff(q.value),
            ),
            _ => return Err(unsupported(statement, "this cannot be given as a reward")),
        };
        if let Some(id) = self.program.reward_names.id(&name) {
            return Ok(id);
        }
        let id = self.program.reward_names.add(&name);
        self.program.rewards.push(Reward {
            name,
            cost: None,
            value,
            conditions: no_conditions(Scope::Program),
        });
        Ok(id)
    }

    fn benefit(
        &mut self,
        statement: &ast::Statement,
        benefit: &AstBenefit,
    ) -> Result<Benefit, CompileError> {
        Ok(match benefit {
            AstBenefit::Amount(q) if matches!(q.kind, QuantityKind::Money(_)) => {
                Benefit::Money(cents(q.value))
            }
            AstBenefit::Amount(q) => Benefit::Points(whole(q.value)),
            AstBenefit::RewardCredit(q) => Benefit::Money(cents(q.value)),
            AstBenefit::Back(q) => Benefit::Back(q.value),
            AstBenefit::Named(name) => Benefit::Reward(
                self.program
                    .reward_names
                    .id(name)
                    .ok_or_else(|| unsupported(statement, "the reward is not defined"))?,
            ),
            other @ AstBenefit::OffNextOrder(_) => {
                Benefit::Reward(self.anonymous_reward(statement, other)?)
            }
        })
    }

    fn action(&self, statement: &ast::Statement, name: &str) -> Result<ActionId, CompileError> {
        self.program
            .actions
            .id(name)
            .ok_or_else(|| unsupported(statement, "the action is not declared"))
    }

    fn trigger(
        &self,
        statement: &ast::Statement,
        trigger: &ast::Trigger,
    ) -> Result<Trigger, CompileError> {
        let period = |word: &str| {
            Every::from_word(word)
                .ok_or_else(|| unsupported(statement, "the period is a month or a year"))
        };
        Ok(match trigger {
            ast::Trigger::PerSpent(q) => Trigger::PerSpent(cents(q.value)),
            ast::Trigger::EveryNth { nth, action } => Trigger::EveryNth {
                nth: *nth,
                action: self.action(statement, action)?,
            },
            ast::Trigger::Spending { amount, period: p } => Trigger::Spending {
                cents: cents(amount.value),
                per: period(p)?,
            },
            ast::Trigger::ReachingTier => Trigger::ReachingTier,
            ast::Trigger::Action(action) => Trigger::Action(self.action(statement, action)?),
            ast::Trigger::Every(p) => Trigger::Every(period(p)?),
            ast::Trigger::FirstDayOfEach(p) => Trigger::FirstDayOf(period(p)?),
        })
    }

    fn mask(
        &self,
        statement: &ast::Statement,
        names: &[Node<String>],
        table: &Names,
    ) -> Result<Mask, CompileError> {
        let mut mask = 0;
        for name in names {
            let id = table
                .id(name)
                .ok_or_else(|| unsupported(statement, "a name in a condition is not declared"))?;
            if id >= 64 {
                return Err(unsupported(
                    statement,
                    "a condition can name only the first 64 of a kind",
                ));
            }
            mask |= 1 << id;
        }
        Ok(mask)
    }

    fn conditions(
        &self,
        statement: &ast::Statement,
        scope: Scope,
    ) -> Result<Conditions, CompileError> {
        let mut c = no_conditions(scope);
        let p = &self.program;
        for clause in &statement.clauses {
            match &clause.node {
                Clause::InCategory(names) => {
                    c.categories = Some(self.mask(statement, names, &p.categories)?)
                }
                Clause::InChannel(names) => {
                    c.channels = Some(self.mask(statement, names, &p.channels)?)
                }
                Clause::PaidWith(names) => {
                    c.payment_methods = Some(self.mask(statement, names, &p.payment_methods)?)
                }
                Clause::AtBrand(names) => {
                    c.place = Place::Own {
                        brands: Some(self.mask(statement, names, &p.brands)?),
                    }
                }
                Clause::AtPartner(names) if names.is_empty() => c.place = Place::AnyPartner,
                Clause::AtPartner(names) => {
                    c.place = Place::Partners(self.mask(statement, names, &p.partner_names)?)
                }
                Clause::ForTier(names) => {
                    c.tiers = Some(self.mask(statement, names, &p.tier_names)?)
                }
                Clause::MembersWith(attribute)
                    if !matches!(statement.head.node, Head::Tier { .. }) =>
                {
                    c.attribute =
                        Some(p.attributes.id(attribute).ok_or_else(|| {
                            unsupported(statement, "the attribute is not declared")
                        })?)
                }
                Clause::Within { duration, anchor } => {
                    let period = period_of(duration).ok_or_else(|| {
                        unsupported(
                            statement,
                            "`within` needs a whole number of days, weeks, months or years",
                        )
                    })?;
                    let anchor = match anchor {
                        ast::Anchor::Joining => Anchor::Joining,
                        ast::Anchor::ReachingTier => Anchor::ReachingTier,
                    };
                    c.within = Some((period, anchor));
                }
                Clause::MinOrder(amount) => c.min_order = Some(cents(amount.value)),
                Clause::Between { from, until } => {
                    let day = |text: &str| {
                        Time::parse(text)
                            .ok_or_else(|| unsupported(statement, "a date is not a calendar date"))
                    };
                    c.between = Some((day(from)?, day(until)?.add_days(1)));
                }
                Clause::ChosenDays { count, per } => {
                    let per = Every::from_word(per).ok_or_else(|| {
                        unsupported(statement, "chosen days are per month or year")
                    })?;
                    c.chosen_days = Some((count.trunc().max(0) as u32, per));
                }
                Clause::Excluding(words) => {
                    for part in words.iter().filter_map(|w| Exclusion::from_word(w)) {
                        c.excluding.add(part);
                    }
                }
                _ => {}
            }
        }
        Ok(c)
    }

    fn caps(&mut self, statement: &ast::Statement) -> Result<Vec<Cap>, CompileError> {
        let mut caps = Vec::new();
        for clause in &statement.clauses {
            if let Clause::Cap { limit, per } = &clause.node {
                let per = Every::from_word(per)
                    .ok_or_else(|| unsupported(statement, "a limit's period is unknown"))?;
                let limit = match limit {
                    CapLimit::Times(n) => Limit::Times(n.trunc()),
                    CapLimit::Amount(q) if matches!(q.kind, QuantityKind::Money(_)) => {
                        Limit::Money(cents(q.value))
                    }
                    CapLimit::Amount(q) => Limit::Points(whole(q.value)),
                };
                caps.push(Cap {
                    slot: self.program.cap_slots,
                    limit,
                    per,
                });
                self.program.cap_slots += 1;
            }
        }
        Ok(caps)
    }
}
