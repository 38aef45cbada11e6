//! `loyalty`: customer loyalty programs as readable text files.
//!
//! The pipeline, each stage taking the previous one's output:
//!
//! ```text
//! text ──syntax::parse──▶ ast::Program ──check::check──▶ diagnostics
//!                              │                    └─▶ check::Resolved ──compile::compile──▶ program::Program
//!                              └──format::format──▶ canonical text
//! events (JSON Lines) ──engine::Engine──▶ effects ──ledger::Ledger──▶ SQLite
//! ```

/// The words a program writes for an enum's values, declared once beside
/// the enum ([`vocabulary::Word`]): the list the checker accepts and names
/// in its messages, and what each word means.
macro_rules! words {
    ($ty:ident { $($word:literal => $variant:ident,)* }) => {
        impl $crate::vocabulary::Word for $ty {
            const WORDS: &'static [&'static str] = &[$($word),*];

            fn from_word(word: &str) -> Option<$ty> {
                match word {
                    $($word => Some($ty::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

pub mod calibrate;
pub mod check;
pub mod cli;
pub mod compile;
pub mod decimal;
pub mod diagnostic;
pub mod engine;
pub mod event_ids;
pub mod fnv;
pub mod format;
pub mod ledger;
pub mod open_table;
pub mod orders;
pub mod prefetch;
pub mod program;
pub mod replay;
pub mod report;
pub mod runner;
pub mod serve;
pub mod sim;
pub mod span;
pub mod syntax;
pub mod time;
pub mod vocabulary;

use diagnostic::Diagnostic;
use syntax::ast;

/// The whole front end in one call: parse, then check what parsed.
/// Diagnostics come in file order, errors and warnings together; the
/// program is resolved when none of them is an error.
pub fn analyze(source: &str) -> (ast::Program, check::Checked) {
    let (program, syntax_errors) = syntax::parse(source);
    let complete = syntax_errors.is_empty();
    let mut checked = check::check(&program, source, complete);
    checked
        .diagnostics
        .extend(syntax_errors.into_iter().map(Diagnostic::from));
    checked
        .diagnostics
        .sort_by_key(|d| (d.span.start, d.span.end, d.severity));
    (program, checked)
}

/// Why a program file cannot be run: its errors, as diagnostics
/// (warnings included).
#[derive(Debug)]
pub struct LoadError(pub Vec<Diagnostic>);

/// A program file's text, checked and compiled for running.
pub fn load(source: &str) -> Result<program::Program, LoadError> {
    let (_, checked) = analyze(source);
    match checked.program {
        Some(resolved) => Ok(compile::compile(resolved)),
        None => Err(LoadError(checked.diagnostics)),
    }
}
