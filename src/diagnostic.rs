//! What every stage reports to the designer: a located message with a
//! code, a label under the span and a help line, rendered by miette.
//!
//! Each stage has its own error enum (`syntax::SyntaxErrorKind`,
//! `check::ProblemKind`) that knows its codes and texts; both turn into
//! this one type so that `check` can print them in file order.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource};
use serde::Serialize;

use crate::span::{Span, line_column};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// `loyalty::unknown_tier`
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub span: Span,
    pub label: String,
    pub help: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = LabeledSpan::new_with_span(Some(self.label.clone()), self.span);
        Some(Box::new(std::iter::once(label)))
    }
}

/// One diagnostic as a JSON line for `check --format json`.
#[derive(Serialize)]
pub struct JsonDiagnostic<'a> {
    pub file: &'a str,
    pub line: usize,
    pub column: usize,
    pub code: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    pub label: &'a str,
    pub help: Option<&'a str>,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn to_json<'a>(&'a self, file: &'a str, source: &str) -> JsonDiagnostic<'a> {
        let (line, column) = line_column(source, self.span.start);
        JsonDiagnostic {
            file,
            line,
            column,
            code: self.code,
            severity: self.severity,
            message: &self.message,
            label: &self.label,
            help: self.help.as_deref(),
        }
    }
}

/// Renders diagnostics as miette draws them, without colour, so that the
/// text is the same on a terminal, in a log and in a snapshot.
pub fn render(diagnostics: &[Diagnostic], file: &str, source: &str) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for diagnostic in diagnostics {
        let report = miette::Report::new(diagnostic.clone())
            .with_source_code(NamedSource::new(file, source.to_string()));
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, AsRef::<dyn miette::Diagnostic>::as_ref(&report));
        out.push('\n');
    }
    out
}

/// Edit distance counting a swap of two neighbouring letters as one
/// edit (`teir` → `tier`), for "did you mean" suggestions.
pub fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    d[a.len() * width + b.len()]
}

/// The candidate closest to `name`, if it is close enough to be a typo:
/// at most a third of the name's length in edits (case is ignored).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (levenshtein(&lower, &candidate.to_lowercase()), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["Gold", "Silver", "Platinum"];
        assert_eq!(did_you_mean("Gld", names), Some("Gold"));
        assert_eq!(did_you_mean("platnum", names), Some("Platinum"));
        assert_eq!(did_you_mean("Bronze", names), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("teir", "tier"), 1);
        assert_eq!(did_you_mean("teir", ["tier", "earn"]), Some("tier"));
    }
}
