//! Errors of the syntax stage: text that is not a program file.

use crate::diagnostic::{Diagnostic, Severity};
use crate::span::Span;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    pub kind: SyntaxErrorKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyntaxErrorKind {
    /// The line starts with a word that begins no statement.
    UnknownStatement {
        word: String,
        suggestion: Option<&'static str>,
    },
    /// The parser stopped here: what it expected, in the designer's words.
    Unexpected {
        expected: String,
        found: String,
        /// The expected word nearest to what was found, if it is a typo.
        suggestion: Option<String>,
    },
    /// A clause follows the previous part without its comma.
    MissingComma { clause: String },
    /// A `"` with no closing `"` on the same line.
    UnclosedString,
    /// A `{` never closed by a `}`.
    UnclosedBlock { opened_by: String },
    /// A `}` with no open block.
    UnexpectedClose,
    /// A number with more than four decimals.
    TooManyDecimals,
    /// A number beyond what any program needs.
    NumberTooLarge,
    /// Lines past the errors that are explained, only counted.
    TooManyErrors { more: usize },
}

/// Words that start a clause, to spot a forgotten comma.
pub const CLAUSE_WORDS: &[&str] = &[
    "worth",
    "costs",
    "funds",
    "receives",
    "in",
    "paid",
    "at",
    "for",
    "within",
    "on",
    "excluding",
    "up",
    "once",
    "twice",
    "exclusive",
    "kept",
    "with",
    "between",
];

/// The statements a line can start with, for "did you mean".
pub const STATEMENT_KEYWORDS: &[&str] = &[
    "program",
    "currency",
    "points",
    "categories",
    "channels",
    "payment",
    "actions",
    "attributes",
    "brand",
    "partner",
    "charity",
    "earn",
    "bonus",
    "discount",
    "perk",
    "reward",
    "every",
    "donate",
    "tier",
    "membership",
];

impl From<SyntaxError> for Diagnostic {
    fn from(error: SyntaxError) -> Self {
        use SyntaxErrorKind::*;
        let (code, message, label, help): (&'static str, String, String, Option<String>) =
            match error.kind {
                UnknownStatement { word, suggestion } => (
                    "loyalty::unknown_statement",
                    format!("no statement starts with `{word}`"),
                    "not a statement".into(),
                    Some(match suggestion {
                        Some(keyword) => format!("did you mean `{keyword}`?"),
                        None => "a line starts with one of: program, currency, points, earn, \
                                 bonus, discount, perk, reward, every, donate, tier, \
                                 membership, brand, partner, charity, categories, channels, \
                                 payment methods, actions, attributes, or `<points> expire`"
                            .into(),
                    }),
                ),
                Unexpected {
                    expected,
                    found,
                    suggestion,
                } => (
                    "loyalty::syntax",
                    format!("expected {expected}, found {found}"),
                    // The message lists the alternatives; the label stays short.
                    if expected.len() <= 40 {
                        format!("expected {expected}")
                    } else {
                        "not expected here".into()
                    },
                    Some(match suggestion {
                        Some(word) => format!("did you mean `{word}`?"),
                        None => "each statement is one line: a head such as `earn 1 point per $1 \
                                 spent`, then clauses separated by commas"
                            .into(),
                    }),
                ),
                MissingComma { clause } => (
                    "loyalty::missing_comma",
                    format!("expected `,` before `{clause}`"),
                    "comma missing before this clause".into(),
                    Some(format!("clauses are separated by commas: `, {clause} ...`")),
                ),
                UnclosedString => (
                    "loyalty::unclosed_string",
                    "this name has no closing quote".into(),
                    "the name starts here".into(),
                    Some("close the name with `\"` on the same line".into()),
                ),
                UnclosedBlock { opened_by } => (
                    "loyalty::unclosed_block",
                    format!("the block of `{opened_by}` is never closed"),
                    "opened here".into(),
                    Some("add a line with `}` after the last statement of the block".into()),
                ),
                UnexpectedClose => (
                    "loyalty::unexpected_close",
                    "`}` closes no block".into(),
                    "no block is open here".into(),
                    Some(
                        "a block opens with `{` at the end of a `tier` or `membership` line; \
                         remove this `}` or open the block it closes"
                            .into(),
                    ),
                ),
                TooManyDecimals => (
                    "loyalty::too_many_decimals",
                    "an amount has at most four decimals".into(),
                    "too precise".into(),
                    Some("write the amount with four decimals or fewer, e.g. `$0.0333`".into()),
                ),
                TooManyErrors { more } => (
                    "loyalty::too_many_errors",
                    format!(
                        "{} more problems from here on are not explained",
                        crate::decimal::count_text(more as i64)
                    ),
                    "the first of them".into(),
                    Some(
                        "this file has more lines that cannot be read than anyone reads \
                         messages for: is it a program file? Fix the lines above and check again"
                            .into(),
                    ),
                ),
                NumberTooLarge => (
                    "loyalty::number_too_large",
                    "this number is too large".into(),
                    "too large".into(),
                    Some("amounts go up to a trillion".into()),
                ),
            };
        Diagnostic {
            code,
            severity: Severity::Error,
            message,
            span: error.span,
            label,
            help,
        }
    }
}
