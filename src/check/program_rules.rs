//! Pass 3: rules that need the whole program. Tier order and reach,
//! rewards nobody can afford or obtain, overlapping earn rules, expiry
//! shorter than the reward cycle, and what the file never says.

use super::problem::{NameKind, ProblemKind};
use super::{Checker, statements_of};
use crate::decimal::Decimal;
use crate::span::{Node, Span};
use crate::syntax::ast::*;

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

/// What a threshold counts and over which period: thresholds are only
/// comparable on the same yardstick.
#[derive(Clone, Debug, PartialEq)]
struct Yardstick {
    counts: &'static str,
    period: QualifyPeriod,
}

impl Checker<'_> {
    pub(super) fn program_rules(&mut self, program: &Program) {
        self.tiers(&program.items);
        self.overlaps(&program.items);
        self.expiry_against_cycle(program);
        if self.complete {
            self.header(program);
            self.rewards(program);
            self.unused_declarations();
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

        for (later_index, (later, later_span, later_reach)) in tiers.iter().enumerate() {
            for (earlier, earlier_span, earlier_reach) in &tiers[..later_index] {
                match (earlier_reach, later_reach) {
                    (_, Reach::Everyone) => {
                        self.report(
                            ProblemKind::TierOutOfOrder {
                                tier: later.clone(),
                                previous: earlier.clone(),
                            },
                            *later_span,
                        );
                        break;
                    }
                    (
                        Reach::Threshold {
                            measure: a,
                            value: va,
                        },
                        Reach::Threshold {
                            measure: b,
                            value: vb,
                        },
                    ) if a == b => {
                        if vb < va {
                            self.report(
                                ProblemKind::TierOutOfOrder {
                                    tier: later.clone(),
                                    previous: earlier.clone(),
                                },
                                *later_span,
                            );
                        } else if vb == va {
                            self.report(
                                ProblemKind::UnreachableTier {
                                    tier: earlier.clone(),
                                    by: later.clone(),
                                },
                                *earlier_span,
                            );
                        }
                    }
                    _ => {}
                }
            }
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
            self.used.insert((NameKind::Reward, name.node.clone()));
        }
    }

    /// Two earn rules in one place with the same trigger and conditions.
    fn overlaps(&mut self, items: &[Item]) {
        let earns: Vec<&Node<Statement>> = statements_of(items)
            .filter(|s| matches!(s.head.node, Head::Earn { .. }))
            .collect();
        for (i, later) in earns.iter().enumerate() {
            if let Some(earlier) = earns[..i]
                .iter()
                .find(|earlier| same_occasion(earlier, later))
            {
                let line = self.line_of(earlier.span);
                self.report(ProblemKind::OverlappingRule { line }, later.head.span);
            }
        }
        for statement in statements_of(items) {
            if let Some(block) = &statement.block {
                self.overlaps(block);
            }
        }
    }

    fn expiry_against_cycle(&mut self, program: &Program) {
        let mut cycle: Option<(i64, &'static str)> = None;
        for statement in statements_of(&program.items) {
            if let Head::Convert { .. } = statement.head.node {
                for clause in &statement.clauses {
                    if let Clause::FirstDayOfEach(period) = &clause.node {
                        cycle = Some(match period.as_str() {
                            "year" => (366, "once a year"),
                            _ => (31, "once a month"),
                        });
                    }
                }
            }
        }
        let Some((cycle_days, cycle_text)) = cycle else {
            return;
        };
        for statement in statements_of(&program.items) {
            let Head::Expire { what, expiry } = &statement.head.node else {
                continue;
            };
            if what.as_str() == "rewards" {
                continue;
            }
            let duration = match expiry {
                Expiry::AfterLifecycle { duration, .. } | Expiry::Inactivity { duration } => {
                    duration
                }
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

/// Same trigger (for spend: any rate) and the same set of conditions.
fn same_occasion(a: &Statement, b: &Statement) -> bool {
    let (
        Head::Earn {
            benefit: benefit_a,
            trigger: trigger_a,
        },
        Head::Earn {
            benefit: benefit_b,
            trigger: trigger_b,
        },
    ) = (&a.head.node, &b.head.node)
    else {
        return false;
    };
    let same_trigger = match (
        trigger_a.as_ref().map(|t| &t.node),
        trigger_b.as_ref().map(|t| &t.node),
    ) {
        (Some(Trigger::PerSpent(_)), Some(Trigger::PerSpent(_))) => true,
        (ta, tb) => ta == tb,
    };
    let same_kind =
        std::mem::discriminant(&benefit_a.node) == std::mem::discriminant(&benefit_b.node);
    same_trigger
        && same_kind
        && a.clauses.len() == b.clauses.len()
        && a.clauses.iter().all(|clause| b.clauses.contains(clause))
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
