//! The checker: what the grammar cannot see. Unknown and duplicate names
//! (with did-you-mean), amounts of the wrong kind, clauses that do not
//! apply, tiers out of order, rewards nobody can afford, limits below a
//! single earn, overlapping rules, expiry shorter than the reward cycle.
//!
//! It runs in passes over the AST, every pass reporting into one list,
//! so that every problem in the file is reported, not only the first:
//! 1. `collect`: the names the program defines and declares;
//! 2. `statements` and `clauses`: each statement and its clauses on their
//!    own, and what they mean, written into the program being resolved;
//! 3. `program_rules`: rules that look at several statements at once.

mod amounts;
mod clauses;
mod problem;
mod program_rules;
mod statements;

use std::collections::{HashMap, HashSet};

pub use amounts::Duration;
pub use problem::{NameKind, Problem, ProblemKind};

use crate::decimal::Decimal;
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::program::{
    Charity, Conditions, Membership, NameId, Names, Partner, Qualification, Reward, RewardValue,
    Scope, Tier,
};
use crate::span::{Node, Span};
use crate::syntax::ast::{DeclareKind, Head, Item, Program, Statement};
use crate::time::Calendar;

/// Actions every program knows without declaring them. `joining` is
/// enrolment (or, inside a membership, subscribing), `visit` is any
/// purchase, the others arrive as `action` events.
pub const BUILT_IN_ACTIONS: &[&str] = &[
    "joining",
    "birthday",
    "referral",
    "being_referred",
    "newsletter",
    "review",
    "social_follow",
    "share",
    "visit",
];

/// The built-in actions as the first ids of every program's actions,
/// made once.
static BUILT_IN_NAMES: std::sync::LazyLock<Names> = std::sync::LazyLock::new(|| {
    let mut names = Names::default();
    for action in BUILT_IN_ACTIONS {
        names.add(action);
    }
    names
});

/// Currencies and the sign their amounts are written with.
pub const CURRENCIES: &[(&str, char)] = &[
    ("USD", '$'),
    ("CAD", '$'),
    ("AUD", '$'),
    ("NZD", '$'),
    ("EUR", '€'),
    ("GBP", '£'),
];

pub fn currency_codes() -> impl Iterator<Item = &'static str> {
    CURRENCIES.iter().map(|(code, _)| *code)
}

/// What `check` makes of a program: its diagnostics, and the program
/// resolved when there is no error among them.
pub struct Checked {
    pub diagnostics: Vec<Diagnostic>,
    pub program: Option<Resolved>,
}

/// A program that check found free of errors, resolved: words are enums,
/// names are ids in the tables of check's first pass, amounts are cents
/// and whole points, dates are times. `compile` adds what the engine
/// derives from it.
#[derive(Clone, Debug)]
pub struct Resolved(pub(crate) crate::program::Program);

/// Checks a parsed program; the diagnostics are in no particular order.
///
/// `complete` is false when some lines did not parse: then nothing is
/// concluded from what the file does not say (an unused name, a missing
/// currency, a reward nothing earns points for), since the missing line
/// may be the one that says it. Nor is a program resolved.
pub fn check(program: &Program, source: &str, complete: bool) -> Checked {
    let mut checker = Checker::new(source);
    checker.complete = complete;
    checker.collect(&program.items);
    checker.statements(&program.items, Scope::Program);
    checker.program_rules(program);
    let diagnostics: Vec<Diagnostic> = checker.problems.drain(..).map(Diagnostic::from).collect();
    let clean = complete && !diagnostics.iter().any(Diagnostic::is_error);
    Checked {
        program: clean.then(|| checker.resolved()),
        diagnostics,
    }
}

pub struct Checker<'s> {
    source: &'s str,
    lines: crate::span::Lines<'s>,
    problems: Vec<Problem>,
    /// The names the program defines, by kind: the first pass's tables,
    /// whose positions are the ids the second pass resolves names to.
    names: [Names; NameKind::COUNT],
    /// The program as it is resolved statement by statement.
    program: crate::program::Program,
    /// Where each name the file defines is defined (the built-in actions
    /// have no place).
    defined: HashMap<(NameKind, NameId), Span>,
    used: HashSet<(NameKind, NameId)>,
    /// Rewards with no name in the file (`earn 15% off the next order`),
    /// numbered after the declared ones.
    unnamed_rewards: Vec<(String, Decimal)>,
    points_name: Option<String>,
    currency: Option<(String, char)>,
    first_money: Option<Span>,
    reported_missing_points: bool,
    /// Where each resolved bonus is written, by its place in the program.
    bonus_spans: Vec<Span>,
    /// Rewards some rule gives (`earn reward "Free drink" ...`).
    given_rewards: Vec<String>,
    /// Whether every line of the file parsed.
    complete: bool,
    /// Kinds of name with at least one unknown reference.
    unresolved: HashSet<NameKind>,
}

impl<'s> Checker<'s> {
    fn new(source: &'s str) -> Self {
        Checker {
            source,
            lines: crate::span::Lines::new(source),
            problems: Vec::new(),
            names: std::array::from_fn(|kind| match kind == NameKind::Action as usize {
                true => BUILT_IN_NAMES.clone(),
                false => Names::default(),
            }),
            program: crate::program::Program::default(),
            defined: HashMap::new(),
            used: HashSet::new(),
            unnamed_rewards: Vec::new(),
            points_name: None,
            currency: None,
            first_money: None,
            reported_missing_points: false,
            given_rewards: Vec::new(),
            bonus_spans: Vec::new(),
            unresolved: HashSet::new(),
            complete: true,
        }
    }

    pub fn report(&mut self, kind: ProblemKind, span: Span) {
        self.problems.push(Problem { kind, span });
    }

    fn line_of(&self, span: Span) -> usize {
        self.lines.line_column(span.start).0
    }

    /// The program resolved, once every statement is.
    fn resolved(mut self) -> Resolved {
        let p = &mut self.program;
        [
            p.tier_names,
            p.reward_names,
            p.charity_names,
            p.actions,
            p.categories,
            p.channels,
            p.payment_methods,
            p.attributes,
            p.partner_names,
            p.brands,
            p.membership_names,
        ] = self.names;
        if let Some((code, sign)) = self.currency {
            p.currency = code;
            p.currency_sign = sign;
        }
        if let Some(name) = self.points_name {
            p.points_name = name;
        }
        // `replaces` goes both ways: either plan ends the other.
        for a in 0..p.memberships.len().min(64) {
            for b in crate::program::mask_ids(p.memberships[a].replaces) {
                p.memberships[b].replaces |= 1 << a;
            }
        }
        for (name, percent) in self.unnamed_rewards {
            p.reward_names.add(&name);
            p.rewards.push(Reward {
                name,
                cost: None,
                value: RewardValue::PercentOff(percent),
                conditions: Conditions::any(Scope::Program),
                caps: Vec::new(),
            });
        }
        Resolved(self.program)
    }

    // ------------------------------------------------------------------
    //  Pass 1: names
    // ------------------------------------------------------------------

    fn collect(&mut self, items: &[Item]) {
        for statement in statements_of(items) {
            let head = &statement.head.node;
            match head {
                Head::Program { name } => self.program.name.clone_from(&name.node),
                Head::Currency { code } if self.currency.is_none() => {
                    match CURRENCIES.iter().find(|(c, _)| *c == code.as_str()) {
                        Some((c, sign)) => self.currency = Some((c.to_string(), *sign)),
                        None => {
                            let upper = code.to_uppercase();
                            let suggestion = currency_codes()
                                .find(|c| *c == upper)
                                .or_else(|| did_you_mean(code, currency_codes()));
                            self.report(
                                ProblemKind::UnknownCurrency {
                                    code: code.node.clone(),
                                    suggestion,
                                },
                                code.span,
                            );
                        }
                    }
                }
                Head::TimeZone { name } if self.program.calendar == Calendar::default() => {
                    match Calendar::named(name) {
                        Some(calendar) => self.program.calendar = calendar,
                        None => {
                            let suggestion = did_you_mean(name, Calendar::zone_names());
                            self.report(
                                ProblemKind::UnknownTimeZone {
                                    name: name.node.clone(),
                                    suggestion,
                                },
                                name.span,
                            );
                        }
                    }
                }
                Head::Points { name } if self.points_name.is_none() => {
                    self.points_name = Some(name.node.clone());
                }
                Head::Declare { kind, names } => {
                    let kind = declared_name_kind(*kind);
                    for name in names {
                        self.define(kind, name);
                    }
                }
                Head::Brand { name } => {
                    self.define(NameKind::Brand, name);
                }
                Head::Partner { name } if self.define(NameKind::Partner, name) => {
                    self.program.partners.push(Partner {
                        name: name.node.clone(),
                        funds: Decimal::ZERO,
                        price: None,
                        margin: Decimal::ZERO,
                    });
                }
                Head::Charity { name } if self.define(NameKind::Charity, name) => {
                    self.program.charities.push(Charity {
                        name: name.node.clone(),
                        receives: None,
                    });
                }
                Head::Reward { name } if self.define(NameKind::Reward, name) => {
                    self.program.rewards.push(Reward {
                        name: name.node.clone(),
                        cost: None,
                        value: RewardValue::Money(0),
                        conditions: Conditions::any(Scope::Program),
                        caps: Vec::new(),
                    });
                }
                Head::Tier { name } if self.define(NameKind::Tier, name) => {
                    self.program.tiers.push(Tier {
                        name: name.node.clone(),
                        qualification: Qualification::None,
                        kept: None,
                    });
                }
                Head::Membership { name } if self.define(NameKind::Membership, name) => {
                    self.program.memberships.push(Membership {
                        name: name.node.clone(),
                        fee: None,
                        trial: None,
                        replaces: 0,
                    });
                }
                _ => {}
            }
        }
    }

    /// The table of names of a kind.
    fn names(&self, kind: NameKind) -> &Names {
        &self.names[kind as usize]
    }

    /// Adds a name the file defines; false (and reported) when it is
    /// defined already.
    fn define(&mut self, kind: NameKind, name: &Node<String>) -> bool {
        let existing = self.names(kind).id(name);
        if let Some(id) = existing
            && self.defined.contains_key(&(kind, id))
        {
            self.report(
                ProblemKind::DuplicateName {
                    kind,
                    name: name.node.clone(),
                },
                name.span,
            );
            return false;
        }
        // A built-in action declared again keeps its id.
        let id = existing.unwrap_or_else(|| self.names[kind as usize].add(name));
        self.defined.insert((kind, id), name.span);
        existing.is_none()
    }

    /// Resolves a reference to its id; reports it with a suggestion when
    /// unknown.
    pub fn resolve(&mut self, kind: NameKind, name: &Node<String>) -> Option<NameId> {
        if let Some(id) = self.names(kind).id(name) {
            self.used.insert((kind, id));
            return Some(id);
        }
        let mut candidates: Vec<&str> = self.names(kind).iter().collect();
        candidates.sort_unstable();
        let suggestion = did_you_mean(&name.node, candidates).map(str::to_string);
        self.unresolved.insert(kind);
        self.report(
            ProblemKind::UnknownName {
                kind,
                name: name.node.clone(),
                suggestion,
            },
            name.span,
        );
        None
    }

    /// Declared names no rule uses, in the order they were declared.
    fn unused_declarations(&mut self) {
        let kinds = [
            NameKind::Category,
            NameKind::Channel,
            NameKind::PaymentMethod,
            NameKind::Action,
            NameKind::Attribute,
            NameKind::Partner,
        ];
        let mut unused: Vec<(Span, NameKind, String)> = self
            .defined
            .iter()
            // A misspelt reference most likely meant a declared name:
            // calling that name unused as well would only repeat it.
            .filter(|((kind, _), _)| kinds.contains(kind) && !self.unresolved.contains(kind))
            .filter(|(key, _)| !self.used.contains(key))
            .map(|(&(kind, id), &span)| (span, kind, self.names(kind).name(id).to_string()))
            .collect();
        unused.sort_by_key(|(span, _, _)| span.start);
        for (span, kind, name) in unused {
            self.report(ProblemKind::UnusedName { kind, name }, span);
        }
    }
}

fn declared_name_kind(kind: DeclareKind) -> NameKind {
    match kind {
        DeclareKind::Categories => NameKind::Category,
        DeclareKind::Channels => NameKind::Channel,
        DeclareKind::PaymentMethods => NameKind::PaymentMethod,
        DeclareKind::Actions => NameKind::Action,
        DeclareKind::Attributes => NameKind::Attribute,
    }
}

/// The statements among a list of items, skipping comments and blanks.
pub fn statements_of(items: &[Item]) -> impl Iterator<Item = &Node<Statement>> {
    items.iter().filter_map(|item| match item {
        Item::Statement(statement) => Some(&**statement),
        _ => None,
    })
}
