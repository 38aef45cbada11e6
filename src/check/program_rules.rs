//! Pass 3: rules that need the whole program. Tier order and reach,
//! rewards nobody can afford or obtain, overlapping earn rules, expiry
//! shorter than the reward cycle, and what the file never says.

use std::collections::HashMap;

use super::problem::ProblemKind;
use super::{Checker, statements_of};
use crate::decimal::Decimal;
use crate::span::{Node, Span};
use crate::syntax::ast::*;
use crate::time::Every;

/// How a tier is reached, reduced to what can be compared.
#[derive(Clone, Debug, PartialEq)]
enum Reach {
    /// No qualification: every member.
    Everyone,
    Attribute,
    /// A threshold on one measure over one period.
    Threshold {
        measure: Yardstick,
        value: Decimal,
    },
}

/// The multipliers of one kind (points, rewards) that can apply to one
/// order together: those with no category condition, and per category
/// those that name it.
struct Together {
    everywhere: Decimal,
    in_category: HashMap<String, Decimal>,
    /// The largest of `in_category`, kept as it grows.
    most_in_a_category: Decimal,
    reported: bool,
}

impl Default for Together {
    fn default() -> Self {
        Together {
            everywhere: Decimal::ONE,
            in_category: HashMap::new(),
            most_in_a_category: Decimal::ONE,
            reported: false,
        }
    }
}

/// A product of multipliers, pinned far above any bound it is held to.
fn times(a: Decimal, b: Decimal) -> Decimal {
    let raw = i128::from(a.raw()) * i128::from(b.raw()) / i128::from(Decimal::SCALE);
    Decimal::from_raw(raw.min(i128::from(i64::MAX / 2)) as i64)
}

/// The tiers before one on a yardstick: the values rising through them
/// (each with the first tier to reach it), and the tiers of each value
/// not yet reported as unreachable.
struct Earlier {
    measure: Yardstick,
    rising: Vec<(Decimal, usize)>,
    waiting: HashMap<Decimal, Vec<usize>>,
}

/// What a threshold counts and over which period: thresholds are only
/// comparable on the same yardstick.
#[derive(Clone, Debug, PartialEq)]
struct Yardstick {
    counts: &'static str,
    period: QualifyPeriod,
}

impl Checker<'_> {
    pub(super) fn program_rules(&mut self, program: &Program) {
        self.rates(&program.items);
        self.tiers(&program.items);
        self.overlaps(&program.items);
        self.expiry_against_cycle(program);
        if self.complete {
            self.bonuses_without_rate();
            self.header(program);
            self.rewards(program);
            self.unused_declarations();
        }
    }

    /// A multiplier multiplies what a rule earns per amount spent (step 2
    /// of the stacking rule): with no such rule of its kind it never
    /// applies. Read from the program as resolved, so only when every
    /// statement was: a rule with an error is missing from it.
    fn bonuses_without_rate(&mut self) {
        use crate::program::{Benefit, BonusKind, Trigger};
        if self.problems.iter().any(|p| !p.kind.is_warning()) {
            return;
        }
        let rules = &self.program.rules;
        let earns_per_spend = |money: bool| {
            rules.iter().any(|r| match (r.benefit, r.trigger) {
                (Benefit::Points(_), Trigger::PerSpent(_)) => !money,
                (Benefit::Money(_), Trigger::PerSpent(_)) | (Benefit::Back(_), _) => money,
                _ => false,
            })
        };
        let (points, money) = (earns_per_spend(false), earns_per_spend(true));
        let points_name = self.points_plural();
        let without: Vec<(Span, String)> = self
            .program
            .bonuses
            .iter()
            .zip(&self.bonus_spans)
            .filter_map(|(bonus, &span)| match bonus.kind {
                BonusKind::PointsMultiplier(_) if !points => Some((span, points_name.clone())),
                BonusKind::RewardsMultiplier(_) if !money => Some((span, "reward money".into())),
                _ => None,
            })
            .collect();
        for (span, what) in without {
            self.report(ProblemKind::BonusWithoutRate { what }, span);
        }
    }

    fn header(&mut self, program: &Program) {
        let heads: Vec<&Head> = statements_of(&program.items)
            .map(|s| &s.head.node)
            .collect();
        if !heads.iter().any(|h| matches!(h, Head::Program { .. })) {
            let first_line = self.source.lines().next().map_or(0, str::len);
            self.report(ProblemKind::MissingProgramName, Span::new(0, first_line));
        }
        let has_currency = heads.iter().any(|h| matches!(h, Head::Currency { .. }));
        if let (false, Some(money)) = (has_currency, self.first_money) {
            self.report(ProblemKind::MissingCurrency, money);
        }
    }

    fn tiers(&mut self, items: &[Item]) {
        let mut tiers: Vec<(String, Span, Reach)> = Vec::new();
        for statement in statements_of(items) {
            let Head::Tier { name } = &statement.head.node else {
                continue;
            };
            let mut reach = Reach::Everyone;
            for clause in &statement.clauses {
                match &clause.node {
                    Clause::MembersWith(_) => reach = Reach::Attribute,
                    Clause::Qualify {
                        amount,
                        measure,
                        period,
                    } => {
                        let counts = match (&amount.kind, measure) {
                            (QuantityKind::Money(_), _) => "spend",
                            (_, Some(Measure::Earned)) => "points",
                            _ => "visits",
                        };
                        if period.node == QualifyPeriod::Total {
                            self.report(
                                ProblemKind::TierNeverLeft {
                                    tier: name.node.clone(),
                                },
                                period.span,
                            );
                        }
                        reach = Reach::Threshold {
                            measure: Yardstick {
                                counts,
                                period: period.node.clone(),
                            },
                            value: amount.value,
                        };
                    }
                    _ => {}
                }
            }
            tiers.push((name.node.clone(), name.span, reach));
        }

        // Each tier is compared with those before it on its yardstick
        // through what they add up to (the values rising so far, and the
        // tiers of each value not yet reported), so that a file of many
        // tiers is checked in one pass and each tier reported once.
        let mut yardsticks: Vec<Earlier> = Vec::new();
        for (later_index, (later, later_span, later_reach)) in tiers.iter().enumerate() {
            match later_reach {
                Reach::Everyone if later_index > 0 => {
                    self.report(
                        ProblemKind::TierOutOfOrder {
                            tier: later.clone(),
                            previous: tiers[0].0.clone(),
                        },
                        *later_span,
                    );
                }
                Reach::Threshold { measure, value } => {
                    let seen = match yardsticks.iter().position(|e| e.measure == *measure) {
                        Some(k) => &mut yardsticks[k],
                        None => {
                            yardsticks.push(Earlier {
                                measure: measure.clone(),
                                rising: Vec::new(),
                                waiting: HashMap::new(),
                            });
                            yardsticks.last_mut().expect("just pushed")
                        }
                    };
                    let higher = seen.rising.partition_point(|(v, _)| v <= value);
                    let previous = seen.rising.get(higher).map(|&(_, i)| i);
                    let unreachable = seen.waiting.remove(value).unwrap_or_default();
                    seen.waiting.entry(*value).or_default().push(later_index);
                    if seen.rising.last().is_none_or(|(v, _)| v < value) {
                        seen.rising.push((*value, later_index));
                    }
                    if let Some(previous) = previous {
                        self.report(
                            ProblemKind::TierOutOfOrder {
                                tier: later.clone(),
                                previous: tiers[previous].0.clone(),
                            },
                            *later_span,
                        );
                    }
                    for earlier in unreachable {
                        self.report(
                            ProblemKind::UnreachableTier {
                                tier: tiers[earlier].0.clone(),
                                by: later.clone(),
                            },
                            tiers[earlier].1,
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// Spend rates and the multipliers that can apply together, bounded
    /// so that the largest purchase an event may carry earns an exact
    /// number: at most 100 points (or 1 in reward money) per unit of the
    /// currency, times at most 100 for all multipliers of a kind, and a
    /// point converts into at most 1 of reward money.
    fn rates(&mut self, items: &[Item]) {
        let mut multipliers: [Together; 2] = Default::default();
        let mut found = Vec::new();
        visit_statements(items, &mut |statement| found.push(statement));
        for statement in found {
            match &statement.head.node {
                Head::Earn {
                    benefit,
                    trigger: Some(trigger),
                } => {
                    let Trigger::PerSpent(per) = &trigger.node else {
                        continue;
                    };
                    let (earned, most, limit) = match &benefit.node {
                        Benefit::Amount(q) => (q.value, "100 points per unit of the currency", 100),
                        Benefit::RewardCredit(q) => {
                            (q.value, "1 of reward money per unit of the currency", 1)
                        }
                        _ => continue,
                    };
                    self.rate_within(
                        earned,
                        per.value,
                        limit,
                        benefit.span,
                        "this rule earns too much per unit spent",
                        most,
                    );
                }
                Head::Convert { every, into } => {
                    if let Benefit::RewardCredit(q) = &into.node {
                        self.rate_within(
                            q.value,
                            every.value,
                            1,
                            into.span,
                            "this conversion gives too much per point",
                            "1 of reward money per point",
                        );
                    }
                }
                Head::Bonus { amount } if amount.kind == QuantityKind::Multiplier => {
                    let kind = usize::from(
                        amount
                            .unit
                            .as_ref()
                            .is_some_and(|u| crate::vocabulary::means_rewards(u)),
                    );
                    // An exclusive multiplier applies alone; one in some
                    // categories only with others of the order's one.
                    let exclusive = statement
                        .clauses
                        .iter()
                        .any(|c| c.node == Clause::Exclusive);
                    let categories = statement.clauses.iter().find_map(|c| match &c.node {
                        Clause::InCategory(names) => Some(names),
                        _ => None,
                    });
                    let together = &mut multipliers[kind];
                    let reached = if exclusive {
                        amount.value
                    } else {
                        match categories {
                            None => {
                                together.everywhere = times(together.everywhere, amount.value);
                            }
                            Some(names) => {
                                for name in names {
                                    let product = together
                                        .in_category
                                        .entry(name.node.clone())
                                        .or_insert(Decimal::ONE);
                                    *product = times(*product, amount.value);
                                    together.most_in_a_category =
                                        together.most_in_a_category.max(*product);
                                }
                            }
                        }
                        times(together.everywhere, together.most_in_a_category)
                    };
                    if reached > Decimal::from_int(100) && (exclusive || !together.reported) {
                        together.reported |= !exclusive;
                        self.report(
                            ProblemKind::RateTooHigh {
                                what: if exclusive {
                                    "this multiplier is more than 100x".into()
                                } else {
                                    "the multipliers up to here can multiply to more than 100x on \
                                     one order"
                                        .into()
                                },
                                most: "100x for all the multipliers of points (or of rewards) \
                                       that can apply together",
                            },
                            amount.span,
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// Reports `earned` per `per` above `limit` to one.
    fn rate_within(
        &mut self,
        earned: Decimal,
        per: Decimal,
        limit: i64,
        span: Span,
        what: &str,
        most: &'static str,
    ) {
        if per.raw() > 0 && i128::from(earned.raw()) > i128::from(limit) * i128::from(per.raw()) {
            self.report(
                ProblemKind::RateTooHigh {
                    what: what.into(),
                    most,
                },
                span,
            );
        }
    }

    fn rewards(&mut self, program: &Program) {
        let mut earns_points = false;
        let mut rewards: Vec<(&Node<String>, Option<Span>)> = Vec::new();
        visit_statements(
            &program.items,
            &mut |statement| match &statement.head.node {
                Head::Earn {
                    benefit:
                        Node {
                            node: Benefit::Amount(_),
                            ..
                        },
                    ..
                } => earns_points = true,
                Head::Bonus { amount } if amount.kind == QuantityKind::Count => earns_points = true,
                Head::Reward { name } => {
                    let cost = statement.clauses.iter().find_map(|c| match &c.node {
                        Clause::Costs { amount, .. } => Some(amount.span),
                        _ => None,
                    });
                    rewards.push((name, cost));
                }
                _ => {}
            },
        );
        for (name, cost) in rewards {
            match cost {
                Some(cost) if !earns_points => self.report(
                    ProblemKind::UnaffordableReward {
                        reward: name.node.clone(),
                        why: "no rule earns points: add one such as `earn 1 point per $1 spent`"
                            .into(),
                    },
                    cost,
                ),
                None if !self.given_rewards.contains(&name.node) => self.report(
                    ProblemKind::UnusedReward {
                        reward: name.node.clone(),
                    },
                    name.span,
                ),
                _ => {}
            }
        }
    }

    /// Two earn rules in one place with the same trigger and conditions.
    fn overlaps(&mut self, items: &[Item]) {
        // The first earn rule of each occasion, by its key: one look-up
        // per rule rather than a comparison with every rule before it.
        let mut first: HashMap<String, Span> = HashMap::new();
        for statement in statements_of(items) {
            let Some(key) = occasion(statement) else {
                continue;
            };
            match first.get(&key) {
                Some(&earlier) => {
                    let line = self.line_of(earlier);
                    self.report(ProblemKind::OverlappingRule { line }, statement.head.span);
                }
                None => {
                    first.insert(key, statement.span);
                }
            }
        }
        for statement in statements_of(items) {
            if let Some(block) = &statement.block {
                self.overlaps(block);
            }
        }
    }

    fn expiry_against_cycle(&mut self, program: &Program) {
        // The conversions resolved so far (pass 2).
        let cycle = self
            .program
            .conversions
            .iter()
            .filter_map(|c| c.on_first_day_of)
            .next_back()
            .map(|every| match every {
                Every::Year => (366, "once a year"),
                Every::Quarter => (92, "once a quarter"),
                Every::HalfYear => (184, "once every half year"),
                _ => (31, "once a month"),
            });
        let Some((cycle_days, cycle_text)) = cycle else {
            return;
        };
        for statement in statements_of(&program.items) {
            let Head::Expire { what, expiry } = &statement.head.node else {
                continue;
            };
            if crate::vocabulary::means_rewards(what) {
                continue;
            }
            let duration = match expiry {
                Expiry::AfterLifecycle { duration, .. }
                | Expiry::Inactivity { duration }
                | Expiry::AtPeriodEnd { duration, .. } => duration,
                Expiry::EachYearOn { .. } => continue,
            };
            // Quietly skip durations already reported as malformed.
            let Some(parsed) = super::Duration::of(duration) else {
                continue;
            };
            if parsed.min_days() < cycle_days {
                self.report(
                    ProblemKind::ExpiryBeforeCycle {
                        expiry: self.source[duration.span.start..duration.span.end].to_string(),
                        cycle: cycle_text,
                    },
                    duration.span,
                );
            }
        }
    }
}

/// What makes two earn rules overlap, as one text: the same trigger (for
/// spend, any rate), the same kind of benefit and the same conditions,
/// in any order. `None` for other statements.
fn occasion(statement: &Statement) -> Option<String> {
    let Head::Earn { benefit, trigger } = &statement.head.node else {
        return None;
    };
    let trigger = match trigger.as_ref().map(|t| &t.node) {
        Some(Trigger::PerSpent(_)) => "per_spent".to_string(),
        trigger => serde_json::to_string(&trigger).unwrap_or_default(),
    };
    let mut clauses: Vec<String> = statement
        .clauses
        .iter()
        .map(|clause| serde_json::to_string(clause).unwrap_or_default())
        .collect();
    clauses.sort();
    Some(format!(
        "{trigger}|{:?}|{}",
        std::mem::discriminant(&benefit.node),
        clauses.join("|")
    ))
}

/// Every statement, in blocks too.
fn visit_statements<'a>(items: &'a [Item], f: &mut impl FnMut(&'a Node<Statement>)) {
    for statement in statements_of(items) {
        f(statement);
        if let Some(block) = &statement.block {
            visit_statements(block, f);
        }
    }
}
