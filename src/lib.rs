//! `loyalty`: customer loyalty programs as readable text files.
//!
//! The pipeline, each stage taking the previous one's output:
//!
//! ```text
//! text ──syntax::parse──▶ ast::Program ──check::check──▶ diagnostics
//!                              ├──format::format──▶ canonical text
//!                              └──compile::compile──▶ program::Program
//! events (JSON Lines) ──engine::Engine──▶ effects ──ledger::Ledger──▶ SQLite
//! ```

/// The words a program writes for an enum's values, declared once beside
/// the enum: the list the checker accepts and names in its messages, and
/// what each word means to the compiler.
macro_rules! words {
    ($ty:ident { $($word:literal => $variant:ident,)* }) => {
        impl $ty {
            pub const WORDS: &'static [&'static str] = &[$($word),*];

            pub fn from_word(word: &str) -> Option<$ty> {
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
pub mod sim;
pub mod span;
pub mod syntax;
pub mod time;
pub mod vocabulary;

use diagnostic::Diagnostic;
use syntax::ast;

/// The whole front end in one call: parse, then check what parsed.
/// Diagnostics come in file order, errors and warnings together.
pub fn analyze(source: &str) -> (ast::Program, Vec<Diagnostic>) {
    let (program, syntax_errors) = syntax::parse(source);
    let mut diagnostics: Vec<Diagnostic> =
        syntax_errors.into_iter().map(Diagnostic::from).collect();
    let complete = diagnostics.is_empty();
    diagnostics.extend(check::check(&program, source, complete));
    diagnostics.sort_by_key(|d| (d.span.start, d.span.end, d.severity));
    (program, diagnostics)
}

/// Why a program file cannot be run: its errors, as diagnostics
/// (warnings included).
#[derive(Debug)]
pub enum LoadError {
    Invalid(Vec<Diagnostic>),
}

/// A program file's text, checked and compiled for running.
pub fn load(source: &str) -> Result<program::Program, LoadError> {
    let (program, diagnostics) = analyze(source);
    if diagnostics.iter().any(|d| d.is_error()) {
        return Err(LoadError::Invalid(diagnostics));
    }
    compile::compile(&program).map_err(|e| LoadError::Invalid(vec![e.into()]))
}
