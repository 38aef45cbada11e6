//! The checker: what the grammar cannot see. Unknown and duplicate names
//! (with did-you-mean), amounts of the wrong kind, clauses that do not
//! apply, tiers out of order, rewards nobody can afford, limits below a
//! single earn, overlapping rules, expiry shorter than the reward cycle.
//!
//! It runs in passes over the AST, every pass reporting into one list,
//! so that every problem in the file is reported, not only the first:
//! 1. `collect`: the names the program defines and declares;
//! 2. `statements`: each statement and its clauses on their own;
//! 3. `program_rules`: rules that look at several statements at once.

mod amounts;
mod problem;
mod program_rules;
mod statements;

use std::collections::{HashMap, HashSet};

pub use amounts::Duration;
pub use problem::{NameKind, Problem, ProblemKind};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::span::{Node, Span};
use crate::syntax::ast::{DeclareKind, Head, Item, Program, Statement};

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

/// Checks a parsed program; the diagnostics are in no particular order.
///
/// `complete` is false when some lines did not parse: then nothing is
/// concluded from what the file does not say (an unused name, a missing
/// currency, a reward nothing earns points for), since the missing line
/// may be the one that says it.
pub fn check(program: &Program, source: &str, complete: bool) -> Vec<Diagnostic> {
    let mut checker = Checker::new(source);
    checker.complete = complete;
    checker.collect(&program.items, Scope::Top);
    checker.statements(&program.items, Scope::Top);
    checker.program_rules(program);
    checker.problems.into_iter().map(Diagnostic::from).collect()
}

/// Where a statement stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Top,
    Tier,
    Membership,
}

pub struct Checker<'s> {
    source: &'s str,
    lines: crate::span::Lines<'s>,
    problems: Vec<Problem>,
    /// Every name the program defines, and where.
    names: HashMap<NameKind, HashMap<String, Span>>,
    used: HashSet<(NameKind, String)>,
    points_name: Option<String>,
    currency: Option<(String, char)>,
    first_money: Option<Span>,
    reported_missing_points: bool,
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
            names: HashMap::new(),
            used: HashSet::new(),
            points_name: None,
            currency: None,
            first_money: None,
            reported_missing_points: false,
            given_rewards: Vec::new(),
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

    // ------------------------------------------------------------------
    //  Pass 1: names
    // ------------------------------------------------------------------

    fn collect(&mut self, items: &[Item], scope: Scope) {
        for statement in statements_of(items) {
            let head = &statement.head.node;
            match head {
                Head::Currency { code } if scope == Scope::Top && self.currency.is_none() => {
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
                Head::Points { name } if scope == Scope::Top && self.points_name.is_none() => {
                    self.points_name = Some(name.node.clone());
                }
                Head::Declare { kind, names } if scope == Scope::Top => {
                    let kind = declared_name_kind(*kind);
                    for name in names {
                        self.define(kind, name);
                    }
                }
                Head::Brand { name } => self.define(NameKind::Brand, name),
                Head::Partner { name } => self.define(NameKind::Partner, name),
                Head::Charity { name } => self.define(NameKind::Charity, name),
                Head::Reward { name } => self.define(NameKind::Reward, name),
                Head::Tier { name } if scope == Scope::Top => self.define(NameKind::Tier, name),
                Head::Membership { name } if scope == Scope::Top => {
                    self.define(NameKind::Membership, name)
                }
                _ => {}
            }
        }
    }

    fn define(&mut self, kind: NameKind, name: &Node<String>) {
        let table = self.names.entry(kind).or_default();
        if table.contains_key(&name.node) {
            self.report(
                ProblemKind::DuplicateName {
                    kind,
                    name: name.node.clone(),
                },
                name.span,
            );
        } else {
            table.insert(name.node.clone(), name.span);
        }
    }

    /// Resolves a reference; reports it with a suggestion when unknown.
    pub fn resolve(&mut self, kind: NameKind, name: &Node<String>) -> bool {
        let known = self
            .names
            .get(&kind)
            .is_some_and(|table| table.contains_key(&name.node))
            || (kind == NameKind::Action && BUILT_IN_ACTIONS.contains(&name.as_str()));
        if known {
            self.used.insert((kind, name.node.clone()));
            return true;
        }
        let mut candidates: Vec<&str> = self
            .names
            .get(&kind)
            .map(|table| table.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if kind == NameKind::Action {
            candidates.extend(BUILT_IN_ACTIONS);
        }
        candidates.sort_unstable();
        self.unresolved.insert(kind);
        let suggestion = did_you_mean(&name.node, candidates).map(str::to_string);
        self.report(
            ProblemKind::UnknownName {
                kind,
                name: name.node.clone(),
                suggestion,
            },
            name.span,
        );
        false
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
        let mut unused = Vec::new();
        for kind in kinds {
            // A misspelt reference most likely meant a declared name:
            // calling that name unused as well would only repeat it.
            if self.unresolved.contains(&kind) {
                continue;
            }
            if let Some(table) = self.names.get(&kind) {
                for (name, span) in table {
                    if !self.used.contains(&(kind, name.clone())) {
                        unused.push((*span, kind, name.clone()));
                    }
                }
            }
        }
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
