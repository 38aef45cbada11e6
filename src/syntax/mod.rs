//! Text to AST: the pest grammar in `grammar/loyalty.pest`, the AST with
//! spans, and the conversion that collects every syntax error.

pub mod ast;
mod convert;
mod error;

pub use error::{SyntaxError, SyntaxErrorKind};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/loyalty.pest"]
pub struct LoyaltyParser;

/// Parses a program file. The AST holds every line that could be read;
/// the errors are every line that could not, in file order.
pub fn parse(source: &str) -> (ast::Program, Vec<SyntaxError>) {
    // Detailed attempts let errors name the words that were expected
    // (`per`, `for`, `every`). The flag is global; it is always on so that
    // messages never depend on which thread parsed first.
    pest::set_error_detail(true);
    convert::parse(source)
}
