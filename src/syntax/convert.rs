//! From pest's parse tree to the AST.
//!
//! Lines come out of the grammar flat; here they are grouped into blocks,
//! comments are attached, and every line the grammar could not read (a
//! `bad_line`) is explained by parsing it again on its own. Every error
//! is collected: the caller gets the AST of every good line and the list
//! of problems, never only the first.

use pest::Parser;
use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::Pair;

use super::ast::*;
use super::error::{CLAUSE_WORDS, STATEMENT_KEYWORDS, SyntaxError, SyntaxErrorKind};
use super::{LoyaltyParser, Rule};
use crate::decimal::{Decimal, DecimalError};
use crate::diagnostic::did_you_mean;
use crate::span::{Node, Span};

/// Parses a whole file; the AST holds every line that could be read.
pub fn parse(source: &str) -> (Program, Vec<SyntaxError>) {
    let mut converter = Converter {
        source,
        line_starts: line_starts(source),
        errors: Vec::new(),
        unrecorded: 0,
        unrecorded_from: None,
    };
    let program = match LoyaltyParser::parse(Rule::file, source) {
        Ok(mut pairs) => {
            let file = pairs
                .next()
                .expect("the `file` rule always yields one pair");
            converter.file(file)
        }
        // Every line parses as code or as a bad line, so the file rule
        // itself cannot fail; should it ever, report where it stopped
        // rather than panic.
        Err(error) => {
            let at = match error.location {
                InputLocation::Pos(p) => p,
                InputLocation::Span((s, _)) => s,
            };
            converter.push(SyntaxError {
                kind: SyntaxErrorKind::Unexpected {
                    expected: "a statement".into(),
                    found: describe_found(&source[at..]),
                    suggestion: None,
                },
                span: Span::new(at, at),
            });
            Program { items: Vec::new() }
        }
    };
    if let Some(first) = converter.unrecorded_from {
        converter.errors.push(SyntaxError {
            kind: SyntaxErrorKind::TooManyErrors {
                more: converter.unrecorded,
            },
            span: first,
        });
    }
    let mut errors = converter.errors;
    errors.sort_by_key(|e| (e.span.start, e.span.end));
    (program, errors)
}

fn line_starts(source: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(source.match_indices('\n').map(|(i, _)| i + 1))
        .collect()
}

struct Converter<'s> {
    source: &'s str,
    line_starts: Vec<usize>,
    errors: Vec<SyntaxError>,
    /// Errors past [`RECORDED`], only counted, and where the first is.
    unrecorded: usize,
    unrecorded_from: Option<Span>,
}

/// Syntax errors kept with their explanation. Past these, a file that is
/// not a program (a binary, a pasted log) is only counted: explaining a
/// line costs a second, detailed parse, and no one reads the ten
/// thousandth message.
const RECORDED: usize = 10_000;

/// A statement whose block is still open, and what is inside so far.
struct OpenBlock {
    statement: Node<Statement>,
    open_brace: Span,
    items: Vec<Item>,
}

impl Converter<'_> {
    fn push(&mut self, error: SyntaxError) {
        if self.errors.len() < RECORDED {
            self.errors.push(error);
        } else {
            self.unrecorded += 1;
            self.unrecorded_from.get_or_insert(error.span);
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|start| *start <= offset) - 1
    }

    fn file(&mut self, file: Pair<Rule>) -> Program {
        let mut top: Vec<Item> = Vec::new();
        let mut open: Vec<OpenBlock> = Vec::new();
        let mut last_line: Option<usize> = None;

        let mut pairs = file.into_inner().peekable();
        while let Some(pair) = pairs.next() {
            if pair.as_rule() == Rule::EOI {
                break;
            }
            let line = self.line_of(pair.as_span().start());
            // Everything else that stands on the same line.
            let mut rest = Vec::new();
            while let Some(next) = pairs.peek() {
                if next.as_rule() == Rule::EOI || self.line_of(next.as_span().start()) != line {
                    break;
                }
                rest.extend(pairs.next());
            }
            let blank_before = last_line.is_some_and(|last| line > last + 1);
            last_line = Some(line);
            let items = match open.last_mut() {
                Some(block) => &mut block.items,
                None => &mut top,
            };
            if blank_before && !items.is_empty() && items.last() != Some(&Item::Blank) {
                items.push(Item::Blank);
            }

            match pair.as_rule() {
                Rule::comment => items.push(Item::Comment(comment_text(&pair))),
                Rule::bad_line => self.explain_bad_line(&pair),
                Rule::block_close => {
                    let span = span_of(&pair);
                    match open.pop() {
                        Some(block) => close_block(block, Some(span), &mut open, &mut top),
                        None => self.push(SyntaxError {
                            kind: SyntaxErrorKind::UnexpectedClose,
                            span,
                        }),
                    }
                    // A comment after `}` belongs to nothing that is kept
                    // on that line; keep it as a comment of its own.
                    let items = match open.last_mut() {
                        Some(block) => &mut block.items,
                        None => &mut top,
                    };
                    for extra in rest {
                        if extra.as_rule() == Rule::comment {
                            items.push(Item::Comment(comment_text(&extra)));
                        }
                    }
                }
                _ => {
                    let Some(head) = self.head(pair.clone()) else {
                        continue;
                    };
                    let mut clauses = Vec::new();
                    for clause in pair
                        .clone()
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::clause)
                    {
                        if let Some(clause) = self.clause(clause) {
                            clauses.push(clause);
                        }
                    }
                    let mut statement = Statement {
                        head,
                        clauses,
                        block: None,
                        comment: None,
                    };
                    let mut open_brace = None;
                    for extra in rest {
                        match extra.as_rule() {
                            Rule::block_open => open_brace = Some(span_of(&extra)),
                            Rule::comment => statement.comment = Some(comment_text(&extra)),
                            _ => {}
                        }
                    }
                    let node = Node::new(statement, span_of(&pair));
                    match open_brace {
                        Some(brace) => {
                            let mut node = node;
                            node.node.block = Some(Vec::new());
                            open.push(OpenBlock {
                                statement: node,
                                open_brace: brace,
                                items: Vec::new(),
                            })
                        }
                        None => items.push(Item::Statement(Box::new(node))),
                    }
                }
            }
        }

        // Blocks still open at the end of the file: report each at its
        // `{`, and keep what they hold so the checker sees it.
        while let Some(block) = open.pop() {
            self.push(SyntaxError {
                kind: SyntaxErrorKind::UnclosedBlock {
                    opened_by: self.source[block.statement.span.start..block.open_brace.start]
                        .trim_end()
                        .to_string(),
                },
                span: block.open_brace,
            });
            close_block(block, None, &mut open, &mut top);
        }
        if top.last() == Some(&Item::Blank) {
            top.pop();
        }
        Program { items: top }
    }

    // ------------------------------------------------------------------
    //  Bad lines
    // ------------------------------------------------------------------

    /// Re-parses a line the grammar rejected, alone, to say exactly where
    /// and what was expected there.
    fn explain_bad_line(&mut self, pair: &Pair<Rule>) {
        let text = pair.as_str();
        let offset = pair.as_span().start();
        if self.errors.len() >= RECORDED {
            self.unrecorded += 1;
            self.unrecorded_from
                .get_or_insert(Span::new(offset, offset + text.len()));
            return;
        }
        let first_word: String = text
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let second_word = text[first_word.len()..]
            .trim_start()
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        let known = STATEMENT_KEYWORDS.contains(&first_word.as_str()) || second_word == "expire";
        if !first_word.is_empty() && !known && !first_word.starts_with(|c: char| c.is_ascii_digit())
        {
            self.push(SyntaxError {
                kind: SyntaxErrorKind::UnknownStatement {
                    suggestion: did_you_mean(&first_word, STATEMENT_KEYWORDS.iter().copied()),
                    word: first_word.clone(),
                },
                span: Span::new(offset, offset + first_word.len()),
            });
            return;
        }
        let error = match LoyaltyParser::parse(Rule::strict_line, text) {
            Ok(_) => {
                // Cannot happen: the line failed in context, and alone it
                // has the same text. Point at the whole line all the same.
                self.push(SyntaxError {
                    kind: SyntaxErrorKind::Unexpected {
                        expected: "a statement".into(),
                        found: describe_found(text),
                        suggestion: None,
                    },
                    span: span_of(pair),
                });
                return;
            }
            Err(error) => error,
        };
        let (at, positives, literals) = expectations(&error, text);
        let rest = &text[at..];
        // An unclosed name is the commonest slip: say so plainly.
        if let Some(quote) = unclosed_quote(text)
            && quote <= at
        {
            self.push(SyntaxError {
                kind: SyntaxErrorKind::UnclosedString,
                span: Span::new(offset + quote, offset + text.len()),
            });
            return;
        }
        let found_len = found_token_len(rest);
        let found_word = &rest[..found_len];
        let span = Span::new(offset + at, offset + at + found_len);
        if literals.iter().any(|l| l == ",") && CLAUSE_WORDS.contains(&found_word) {
            self.push(SyntaxError {
                kind: SyntaxErrorKind::MissingComma {
                    clause: found_word.to_string(),
                },
                span,
            });
            return;
        }
        // A misspelt word where a fixed word was expected: `in categroy`.
        let words = literals
            .iter()
            .filter(|l| l.len() > 1 && l.chars().all(|c| c.is_ascii_alphabetic()))
            .map(String::as_str);
        let suggestion = if found_word.chars().all(|c| c.is_ascii_alphabetic()) {
            did_you_mean(found_word, words).map(str::to_string)
        } else {
            None
        };
        self.push(SyntaxError {
            kind: SyntaxErrorKind::Unexpected {
                expected: describe_expected(&positives, &literals),
                found: describe_found(rest),
                suggestion,
            },
            span,
        });
    }

    // ------------------------------------------------------------------
    //  Heads
    // ------------------------------------------------------------------

    fn head(&mut self, pair: Pair<Rule>) -> Option<Node<Head>> {
        let rule = pair.as_rule();
        // The head ends where the first clause begins.
        let clause_start = pair
            .clone()
            .into_inner()
            .find(|p| p.as_rule() == Rule::clause)
            .map(|p| p.as_span().start());
        let full = span_of(&pair);
        let head_end = clause_start
            .map(|start| {
                self.source[..start]
                    .trim_end_matches([' ', '\t', ','])
                    .len()
            })
            .unwrap_or(full.end);
        let span = Span::new(full.start, head_end.max(full.start));
        let mut parts = pair.into_inner().filter(|p| p.as_rule() != Rule::clause);
        let head = match rule {
            Rule::program_stmt => Head::Program {
                name: self.string(parts.next()?),
            },
            Rule::currency_stmt => Head::Currency {
                code: self.ident(parts.next()?),
            },
            Rule::zone_stmt => Head::TimeZone {
                name: self.string(parts.next()?),
            },
            Rule::points_stmt => Head::Points {
                name: self.string(parts.next()?),
            },
            Rule::declare_stmt => {
                let kind_pair = parts.next()?;
                let kind = match kind_pair.as_str().split_whitespace().next()? {
                    "categories" => DeclareKind::Categories,
                    "channels" => DeclareKind::Channels,
                    "payment" => DeclareKind::PaymentMethods,
                    "actions" => DeclareKind::Actions,
                    _ => DeclareKind::Attributes,
                };
                Head::Declare {
                    kind,
                    names: parts.map(|p| self.ident(p)).collect(),
                }
            }
            Rule::brand_stmt => Head::Brand {
                name: self.string(parts.next()?),
            },
            Rule::partner_stmt => Head::Partner {
                name: self.string(parts.next()?),
            },
            Rule::charity_stmt => Head::Charity {
                name: self.string(parts.next()?),
            },
            Rule::earn_stmt => {
                let benefit = self.benefit(parts.next()?)?;
                let trigger = match parts.next() {
                    Some(trigger) => Some(self.trigger(trigger)?),
                    None => None,
                };
                Head::Earn { benefit, trigger }
            }
            Rule::bonus_stmt => Head::Bonus {
                amount: self.quantity(parts.next()?)?,
            },
            Rule::discount_stmt => Head::Discount {
                amount: self.quantity(parts.next()?)?,
            },
            Rule::perk_stmt => Head::Perk {
                name: self.string(parts.next()?),
            },
            Rule::reward_stmt => Head::Reward {
                name: self.string(parts.next()?),
            },
            Rule::convert_stmt => Head::Convert {
                every: self.quantity(parts.next()?)?,
                into: self.benefit(parts.next()?)?,
            },
            Rule::donate_stmt => Head::Donate {
                amount: self.quantity(parts.next()?)?,
                charity: self.string(parts.next()?),
                trigger: self.trigger(parts.next()?)?,
            },
            Rule::expire_stmt => {
                let what = self.ident(parts.next()?);
                let spec = parts.next()?;
                let expiry = match spec.as_rule() {
                    Rule::expire_after_earning => {
                        let mut inner = spec.into_inner();
                        let duration = self.quantity(inner.next()?)?;
                        let lifecycle = match inner.next()?.as_str() {
                            "earned" => Lifecycle::Earned,
                            _ => Lifecycle::Issued,
                        };
                        Expiry::AfterLifecycle {
                            duration,
                            lifecycle,
                        }
                    }
                    Rule::expire_each_year => {
                        let (mut day, mut month) = (None, None);
                        for part in spec.into_inner() {
                            match part.as_rule() {
                                Rule::number => day = self.number(part),
                                _ => month = Some(self.ident(part)),
                            }
                        }
                        Expiry::EachYearOn {
                            day: day?,
                            month: month?,
                        }
                    }
                    Rule::expire_at_period_end => {
                        let mut inner = spec.into_inner();
                        Expiry::AtPeriodEnd {
                            period: self.ident(inner.next()?),
                            duration: self.quantity(inner.next()?)?,
                        }
                    }
                    _ => Expiry::Inactivity {
                        duration: self.quantity(spec.into_inner().next()?)?,
                    },
                };
                Head::Expire { what, expiry }
            }
            Rule::pending_stmt => Head::Pending {
                what: self.ident(parts.next()?),
                duration: self.quantity(parts.next()?)?,
            },
            Rule::tier_stmt => Head::Tier {
                name: self.string(parts.next()?),
            },
            Rule::membership_stmt => Head::Membership {
                name: self.string(parts.next()?),
            },
            _ => return None,
        };
        Some(Node::new(head, span))
    }

    fn benefit(&mut self, pair: Pair<Rule>) -> Option<Node<Benefit>> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let first = inner.next()?;
        let benefit = if first.as_rule() == Rule::named_reward {
            Benefit::Named(self.string(first.into_inner().next()?))
        } else {
            let amount = self.quantity(first)?.node;
            match inner.next().and_then(|kind| kind.into_inner().next()) {
                Some(kind) => match kind.as_rule() {
                    Rule::reward_credit => Benefit::RewardCredit(amount),
                    Rule::back => Benefit::Back(amount),
                    _ => Benefit::OffNextOrder(amount),
                },
                None => Benefit::Amount(amount),
            }
        };
        Some(Node::new(benefit, span))
    }

    fn trigger(&mut self, pair: Pair<Rule>) -> Option<Node<Trigger>> {
        let span = span_of(&pair);
        let form = pair.into_inner().next()?;
        let rule = form.as_rule();
        let mut inner = form.into_inner();
        let trigger = match rule {
            Rule::per_spent => Trigger::PerSpent(self.quantity(inner.next()?)?),
            Rule::for_every_nth => {
                let ordinal = inner.next()?;
                let digits: String = ordinal
                    .as_str()
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                let nth = match digits.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => {
                        self.push(SyntaxError {
                            kind: SyntaxErrorKind::NumberTooLarge,
                            span: span_of(&ordinal),
                        });
                        return None;
                    }
                };
                Trigger::EveryNth {
                    nth,
                    action: self.ident(inner.next()?),
                }
            }
            Rule::for_spending => Trigger::Spending {
                amount: self.quantity(inner.next()?)?,
                period: self.ident(inner.next()?),
            },
            Rule::for_reaching_tier => Trigger::ReachingTier,
            Rule::for_action => Trigger::Action(self.ident(inner.next()?)),
            Rule::every_period => Trigger::Every(self.period_or_length(inner.next()?)?),
            _ => Trigger::FirstDayOfEach(self.ident(inner.next()?)),
        };
        Some(Node::new(trigger, span))
    }

    // ------------------------------------------------------------------
    //  Clauses
    // ------------------------------------------------------------------

    fn clause(&mut self, pair: Pair<Rule>) -> Option<Node<Clause>> {
        let span = span_of(&pair);
        let form = pair.into_inner().next()?;
        let rule = form.as_rule();
        let mut inner = form.into_inner();
        let clause = match rule {
            Rule::worth => {
                let value = self.quantity(inner.next()?)?;
                let mut off_next_order = false;
                let mut per = None;
                if let Some(next) = inner.next() {
                    if next.as_rule() == Rule::off_next_order {
                        off_next_order = true;
                    } else {
                        per = Some(self.quantity(next)?);
                    }
                }
                Clause::Worth {
                    value,
                    off_next_order,
                    per,
                }
            }
            Rule::costs => {
                let amount = self.quantity(inner.next()?)?;
                let mut per = None;
                let mut once = false;
                if let Some(next) = inner.next() {
                    if next.as_rule() == Rule::once {
                        once = true;
                    } else {
                        per = Some(self.ident(next));
                    }
                }
                Clause::Costs { amount, per, once }
            }
            Rule::margin => Clause::Margin(self.quantity(inner.next()?)?),
            Rule::funds => {
                let amount = self.quantity(inner.next()?)?;
                match inner.next() {
                    Some(per) => Clause::FundsPer {
                        amount,
                        per: self.quantity(per)?,
                    },
                    None => Clause::Funds(amount),
                }
            }
            Rule::receives => Clause::Receives {
                amount: self.quantity(inner.next()?)?,
                per: self.quantity(inner.next()?)?,
            },
            Rule::in_category => Clause::InCategory(self.idents(inner.next()?)),
            Rule::in_channel => Clause::InChannel(self.idents(inner.next()?)),
            Rule::paid_out => Clause::PaidOut(self.ident(inner.next()?)),
            Rule::paid_with => Clause::PaidWith(self.idents(inner.next()?)),
            Rule::at_brand => Clause::AtBrand(self.strings(inner.next()?)),
            Rule::at_partner => {
                let next = inner.next()?;
                if next.as_rule() == Rule::any_partner {
                    Clause::AtPartner(Vec::new())
                } else {
                    Clause::AtPartner(self.strings(next))
                }
            }
            Rule::for_tier => Clause::ForTier(self.strings(inner.next()?)),
            Rule::for_product => Clause::ForProduct(self.strings(inner.next()?)),
            Rule::excluding_category => Clause::ExcludingCategory(self.idents(inner.next()?)),
            Rule::excluding_product => Clause::ExcludingProduct(self.strings(inner.next()?)),
            Rule::members_with => Clause::MembersWith(self.ident(inner.next()?)),
            Rule::qualify => {
                let amount = self.quantity(inner.next()?)?;
                let mut next = inner.next()?;
                let mut measure = None;
                if next.as_rule() == Rule::measure {
                    measure = Some(match next.as_str() {
                        "spent" => Measure::Spent,
                        _ => Measure::Earned,
                    });
                    next = inner.next()?;
                }
                let period_span = span_of(&next);
                let form = next.into_inner().next()?;
                let period = match form.as_rule() {
                    Rule::calendar_year => QualifyPeriod::CalendarYear,
                    Rule::in_total => QualifyPeriod::Total,
                    _ => QualifyPeriod::Last(self.quantity(form.into_inner().next()?)?.node),
                };
                Clause::Qualify {
                    amount,
                    measure,
                    period: Node::new(period, period_span),
                }
            }
            Rule::within => {
                let duration = self.quantity(inner.next()?)?;
                let anchor = match inner.next()?.as_str() {
                    "joining" => Anchor::Joining,
                    _ => Anchor::ReachingTier,
                };
                Clause::Within { duration, anchor }
            }
            Rule::min_order => Clause::MinOrder(self.quantity(inner.next()?)?),
            Rule::chosen_days => {
                let count = self.number(inner.next()?)?;
                Clause::ChosenDays {
                    count,
                    per: self.ident(inner.next()?),
                }
            }
            Rule::first_day_of_each => Clause::FirstDayOfEach(self.ident(inner.next()?)),
            Rule::excluding => Clause::Excluding(inner.map(|p| self.ident(p)).collect()),
            Rule::cap => {
                let first = inner.next()?;
                let limit = if first.as_rule() == Rule::times {
                    let times_span = span_of(&first);
                    let count = match first.as_str() {
                        "once" => Node::new(Decimal::ONE, times_span),
                        "twice" => Node::new(Decimal::from_int(2), times_span),
                        _ => self.number(first.into_inner().next()?)?,
                    };
                    CapLimit::Times(count)
                } else {
                    CapLimit::Amount(self.quantity(first)?)
                };
                let (mut per, mut total) = (None, false);
                for part in inner {
                    match part.as_rule() {
                        Rule::in_total => total = true,
                        _ => per = Some(self.period_or_length(part)?),
                    }
                }
                Clause::Cap { limit, per, total }
            }
            Rule::available => Clause::Available {
                count: self.number(inner.next()?)?,
                per: match inner.next() {
                    Some(per) => Some(self.period_or_length(per)?),
                    None => None,
                },
            },
            Rule::exclusive => Clause::Exclusive,
            Rule::kept => {
                let next = inner.next()?;
                if next.as_rule() == Rule::until_end_of_next {
                    Clause::Kept(Kept::UntilEndOfNext(self.ident(next.into_inner().next()?)))
                } else {
                    Clause::Kept(Kept::For(self.quantity(next)?))
                }
            }
            Rule::free_trial => Clause::FreeTrial(self.quantity(inner.next()?)?),
            Rule::replaces => Clause::Replaces(self.strings(inner.next()?)),
            Rule::on_days => Clause::OnDays(self.idents(inner.next()?)),
            Rule::hours => Clause::Hours {
                from: self.text(inner.next()?),
                until: self.text(inner.next()?),
            },
            Rule::between => Clause::Between {
                from: self.text(inner.next()?),
                until: self.text(inner.next()?),
            },
            _ => return None,
        };
        Some(Node::new(clause, span))
    }

    // ------------------------------------------------------------------
    //  Tokens
    // ------------------------------------------------------------------

    fn quantity(&mut self, pair: Pair<Rule>) -> Option<Node<Quantity>> {
        let span = span_of(&pair);
        let mut inner = pair.into_inner();
        let amount = inner.next()?;
        let text = amount.as_str();
        let (kind, digits) = match amount.as_rule() {
            Rule::money => {
                let sign = text.chars().find(|c| !c.is_ascii_digit() && *c != '-')?;
                let negative = text.contains('-');
                let digits: String = text
                    .chars()
                    .filter(|c| c.is_ascii_digit() || *c == ',' || *c == '.')
                    .collect();
                let digits = if negative {
                    format!("-{digits}")
                } else {
                    digits
                };
                (QuantityKind::Money(sign), digits)
            }
            Rule::percent => (
                QuantityKind::Percent,
                text.trim_end_matches('%').to_string(),
            ),
            Rule::multiplier => (
                QuantityKind::Multiplier,
                text.trim_end_matches(['x', 'X']).to_string(),
            ),
            _ => (QuantityKind::Count, text.to_string()),
        };
        let value = self.decimal(&digits, span_of(&amount))?;
        let unit = inner.next().map(|unit| self.ident(unit));
        Some(Node::new(Quantity { value, kind, unit }, span))
    }

    /// `month` or `2 weeks`.
    fn period_or_length(&mut self, pair: Pair<Rule>) -> Option<PeriodOrLength> {
        Some(if pair.as_rule() == Rule::quantity {
            PeriodOrLength::Last(self.quantity(pair)?)
        } else {
            PeriodOrLength::Calendar(self.ident(pair))
        })
    }

    fn number(&mut self, pair: Pair<Rule>) -> Option<Node<Decimal>> {
        let span = span_of(&pair);
        let value = self.decimal(pair.as_str(), span)?;
        Some(Node::new(value, span))
    }

    fn decimal(&mut self, text: &str, span: Span) -> Option<Decimal> {
        match Decimal::parse(text) {
            Ok(value) => Some(value),
            Err(error) => {
                let kind = match error {
                    DecimalError::TooManyDecimals => SyntaxErrorKind::TooManyDecimals,
                    DecimalError::TooLarge | DecimalError::Malformed => {
                        SyntaxErrorKind::NumberTooLarge
                    }
                };
                self.push(SyntaxError { kind, span });
                None
            }
        }
    }

    fn string(&self, pair: Pair<Rule>) -> Node<String> {
        let span = span_of(&pair);
        let inner = pair.into_inner().next().map_or("", |p| p.as_str());
        Node::new(inner.to_string(), span)
    }

    fn strings(&self, list: Pair<Rule>) -> Vec<Node<String>> {
        list.into_inner().map(|p| self.string(p)).collect()
    }

    /// A word, or a period of two (`half year`, its space made one).
    fn ident(&self, pair: Pair<Rule>) -> Node<String> {
        let text = pair.as_str();
        match text.contains(char::is_whitespace) {
            true => Node::new(
                text.split_whitespace().collect::<Vec<_>>().join(" "),
                span_of(&pair),
            ),
            false => self.text(pair),
        }
    }

    fn idents(&self, list: Pair<Rule>) -> Vec<Node<String>> {
        list.into_inner().map(|p| self.ident(p)).collect()
    }

    fn text(&self, pair: Pair<Rule>) -> Node<String> {
        Node::new(pair.as_str().to_string(), span_of(&pair))
    }
}

/// Ends a block: its items go into its statement, which joins the items
/// of the enclosing block (or the top level). `close` is the `}`, absent
/// when the file ended first.
fn close_block(block: OpenBlock, close: Option<Span>, open: &mut [OpenBlock], top: &mut Vec<Item>) {
    let mut statement = block.statement;
    let mut inner = block.items;
    if inner.last() == Some(&Item::Blank) {
        inner.pop();
    }
    statement.node.block = Some(inner);
    if let Some(close) = close {
        statement.span = statement.span.to(close);
    }
    let items = match open.last_mut() {
        Some(parent) => &mut parent.items,
        None => top,
    };
    items.push(Item::Statement(Box::new(statement)));
}

/// A pair's span without the spaces pest may leave at its end.
fn span_of(pair: &Pair<Rule>) -> Span {
    let text = pair.as_str();
    let start = pair.as_span().start();
    Span::new(start, start + text.trim_end().len())
}

fn comment_text(pair: &Pair<Rule>) -> String {
    pair.as_str()[1..].trim().to_string()
}

/// Where a `"` opens a name that is not closed on the line, if one does.
fn unclosed_quote(text: &str) -> Option<usize> {
    let mut open = None;
    for (i, c) in text.char_indices() {
        if c == '#' && open.is_none() {
            break;
        }
        if c == '"' {
            open = match open {
                Some(_) => None,
                None => Some(i),
            };
        }
    }
    open
}

/// Where a line stopped parsing, and the rules and words expected there.
/// pest's detailed attempts can reach further than its rule positions
/// (`earn 1 point per $1` fails at the end, where `spent` is missing, not
/// at `per`); the furthest place is the one to show.
fn expectations(error: &pest::error::Error<Rule>, text: &str) -> (usize, Vec<Rule>, Vec<String>) {
    let (at, mut positives, mut literals) = furthest_attempts(error);
    // Right after a number, `,` `.` `%` `x` and another amount would only
    // continue it (`1,000`, `1.5`, `2%`, `3x`): not what the designer missed.
    if text[..at]
        .trim_end()
        .ends_with(|c: char| c.is_ascii_digit())
    {
        literals.retain(|l| {
            !matches!(l.as_str(), "," | "." | "%" | "x" | "X")
                && !l.starts_with(|c: char| c.is_ascii_digit())
        });
        positives.retain(|r| {
            !matches!(
                r,
                Rule::quantity
                    | Rule::number
                    | Rule::money
                    | Rule::percent
                    | Rule::multiplier
                    | Rule::unit
            )
        });
    }
    (at, positives, literals)
}

/// The furthest place pest reached and what it expected there.
fn furthest_attempts(error: &pest::error::Error<Rule>) -> (usize, Vec<Rule>, Vec<String>) {
    let at = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let positives = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.clone(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let Some(attempts) = error.parse_attempts() else {
        return (at, positives, Vec::new());
    };
    let literals: Vec<String> = attempts
        .expected_tokens()
        .into_iter()
        .map(|t| t.to_string())
        .collect();
    match attempts.max_position.cmp(&at) {
        std::cmp::Ordering::Greater => {
            let rules = attempts
                .call_stacks()
                .into_iter()
                .filter_map(|stack| stack.deepest.get_rule().copied().or(stack.parent))
                .collect();
            (attempts.max_position, rules, literals)
        }
        std::cmp::Ordering::Equal => (at, positives, literals),
        std::cmp::Ordering::Less => (at, positives, Vec::new()),
    }
}

/// The length of the word or symbol the parser stopped at.
fn found_token_len(rest: &str) -> usize {
    let mut chars = rest.char_indices();
    match chars.next() {
        None => 0,
        Some((_, c)) if c.is_alphanumeric() || c == '_' || c == '$' => rest
            .char_indices()
            .skip(1)
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.' || *c == ','))
            .map_or(rest.len(), |(i, _)| i),
        Some((_, c)) => c.len_utf8(),
    }
}

fn describe_found(rest: &str) -> String {
    let len = found_token_len(rest);
    if len == 0 || rest.starts_with(['\n', '\r']) {
        "the end of the line".to_string()
    } else {
        format!("`{}`", &rest[..len])
    }
}

/// What pest expected, in the designer's words: a rule never shows its
/// grammar name.
fn describe_expected(positives: &[Rule], literals: &[String]) -> String {
    let mut phrases: Vec<String> = Vec::new();
    let mut push = |phrase: String| {
        if !phrases.contains(&phrase) {
            phrases.push(phrase);
        }
    };
    let mut end_of_line = false;
    for rule in positives {
        let phrase = match rule {
            Rule::quantity | Rule::money | Rule::percent | Rule::multiplier | Rule::number => {
                "an amount such as `$10`, `2%`, `3x` or `300 points`"
            }
            Rule::string | Rule::string_inner | Rule::string_list => {
                "a name in double quotes, such as `\"Gold\"`"
            }
            Rule::ident | Rule::ident_list | Rule::unit => "a word such as `beauty` or `review`",
            Rule::period => "a period such as `day`, `month`, `quarter`, `half year` or `year`",
            Rule::benefit | Rule::named_reward => {
                "what the member gets, such as `1 point`, `$10 reward`, `2% back` or `reward \"Free drink\"`"
            }
            Rule::trigger
            | Rule::per_spent
            | Rule::for_action
            | Rule::for_every_nth
            | Rule::for_spending
            | Rule::for_reaching_tier
            | Rule::every_period => {
                "when it is earned, such as `per $1 spent`, `for review` or `every month`"
            }
            Rule::clause => "a clause such as `in category beauty` or `up to 500 points per day`",
            Rule::ordinal => "a position such as `5th`",
            Rule::date => "a date such as `2026-11-27`",
            Rule::times => "`once`, `twice` or `3 times`",
            Rule::declare_kind => {
                "`categories`, `channels`, `payment methods`, `actions` or `attributes`"
            }
            Rule::lifecycle_word => "`earned` or `issued`",
            Rule::measure => "`spent` or `earned`",
            Rule::qualify_period | Rule::calendar_year | Rule::last_period | Rule::in_total => {
                "a period: `in a calendar year`, `in the last 12 months` or `in total`"
            }
            Rule::anchor => "`joining` or `reaching the tier`",
            Rule::comment | Rule::block_open | Rule::block_close | Rule::EOI => {
                end_of_line = true;
                continue;
            }
            _ => continue,
        };
        push(phrase.to_string());
    }
    for literal in literals {
        match literal.as_str() {
            "#" | "{" | "\r\n" | "\n" | "\r" => end_of_line = true,
            blank if blank.trim().is_empty() => {}
            "," => push("`,` and another clause".to_string()),
            "\"" => push("a name in double quotes, such as `\"Gold\"`".to_string()),
            "$" | "€" | "£" | "-" | "." | "%" | "x" | "X" => {
                push("an amount such as `$10`, `2%`, `3x` or `300 points`".to_string())
            }
            "st" | "nd" | "rd" | "th" => push("a position such as `5th`".to_string()),
            word if word.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') => {
                push(format!("`{word}`"))
            }
            _ => {}
        }
    }
    if end_of_line {
        push("the end of the line".to_string());
    }
    match phrases.len() {
        0 => "a statement".to_string(),
        1 => phrases.remove(0),
        _ => {
            let last = phrases.pop().unwrap_or_default();
            format!("{} or {last}", phrases.join(", "))
        }
    }
}
