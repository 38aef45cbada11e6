//! What every stage reports to the designer: a located message with a
//! code, a label under the span and a help line, rendered by miette.
//!
//! Each stage has its own error enum (`syntax::SyntaxErrorKind`,
//! `check::ProblemKind`) that knows its codes and texts; both turn into
//! this one type so that `check` can print them in file order.

use std::collections::HashMap;
use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde::Serialize;

use crate::span::{Lines, Span, floor_char_boundary};

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

    pub fn to_json<'a>(&'a self, file: &'a str, lines: &Lines) -> JsonDiagnostic<'a> {
        let (line, column) = lines.line_column(self.span.start);
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

/// At most this many diagnostics are shown for one file, and at most
/// [`SHOWN_PER_CODE`] of one kind, as compilers stop after so many: a
/// file with one mistake on every line (a pasted block, a stray `{`)
/// would otherwise print far more than anyone reads.
pub const SHOWN: usize = 100;
pub const SHOWN_PER_CODE: usize = 20;

/// The diagnostics to show, in order, and how many are left out.
pub fn shown(diagnostics: &[Diagnostic]) -> (Vec<&Diagnostic>, usize) {
    let mut per_code: HashMap<&str, usize> = HashMap::new();
    let mut shown = Vec::new();
    for diagnostic in diagnostics {
        let of_code = per_code.entry(diagnostic.code).or_default();
        // The count of the lines not explained is always shown.
        if diagnostic.code == "loyalty::too_many_errors"
            || (*of_code < SHOWN_PER_CODE && shown.len() < SHOWN)
        {
            *of_code += 1;
            shown.push(diagnostic);
        }
    }
    let left_out = diagnostics.len() - shown.len();
    (shown, left_out)
}

/// The line that says how many diagnostics were not shown.
pub fn left_out_note(file: &str, left_out: usize) -> String {
    format!(
        "... and {left_out} more problem{} in {file} not shown (at most {SHOWN} per file, \
         {SHOWN_PER_CODE} of one kind): fix these and check again\n",
        if left_out == 1 { "" } else { "s" }
    )
}

/// Renders diagnostics as miette draws them, without colour, so that the
/// text is the same on a terminal, in a log and in a snapshot. Each is
/// drawn from a few lines around it (so the cost does not grow with the
/// file), long lines cut around the place.
pub fn render(diagnostics: &[Diagnostic], file: &str, source: &str) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let lines = Lines::new(source);
    let (shown, left_out) = shown(diagnostics);
    let mut out = String::new();
    for diagnostic in shown {
        let excerpt = Excerpt::around(&lines, source, file, diagnostic.span);
        let mut diagnostic = diagnostic.clone();
        diagnostic.span = excerpt.span;
        let report = miette::Report::new(diagnostic).with_source_code(excerpt);
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, AsRef::<dyn miette::Diagnostic>::as_ref(&report));
        out.push('\n');
    }
    if left_out > 0 {
        out.push_str(&left_out_note(file, left_out));
    }
    out
}

/// Lines shown around a diagnostic's first line, before and after
/// (miette draws one of each; the rest is margin).
const EXCERPT_LINES: usize = 3;
/// Lines of a span over several lines that are drawn.
const SPAN_LINES: usize = 8;
/// Bytes of a line drawn before a diagnostic's place, and in all.
const LINE_BEFORE: usize = 60;
const LINE_WIDTH: usize = 160;

/// The few lines of a file around a diagnostic, as miette reads them,
/// with their real line numbers and the diagnostic's real column.
struct Excerpt {
    name: String,
    text: String,
    /// The diagnostic's span in `text`.
    span: Span,
    /// The file's line that is `text`'s first.
    first_line: usize,
    /// `text`'s line holding the span's start, and what to add to its
    /// column there (the bytes cut from the start of that line).
    span_line: usize,
    column_shift: usize,
}

impl Excerpt {
    fn around(lines: &Lines, source: &str, file: &str, span: Span) -> Excerpt {
        let start = floor_char_boundary(source, span.start);
        let end = floor_char_boundary(source, span.end.max(start));
        let start_line = lines.line_index(start);
        let end_line = lines
            .line_index(end.saturating_sub(1).max(start))
            .min(start_line + SPAN_LINES - 1);
        let first_line = start_line.saturating_sub(EXCERPT_LINES);
        let last_line = (end_line + EXCERPT_LINES).min(lines.count() - 1);
        let mut text = String::new();
        let (mut excerpt_start, mut excerpt_end, mut column_shift) = (0, 0, 0);
        for line in first_line..=last_line {
            let range = lines.line_range(line);
            // A long line is cut: around the span on its first line,
            // from its start on the others.
            let from = if line == start_line && start > range.start + LINE_BEFORE + 16 {
                floor_char_boundary(source, start - LINE_BEFORE)
            } else {
                range.start
            };
            let to = floor_char_boundary(source, (from + LINE_WIDTH).min(range.end));
            let line_start = text.len();
            if from > range.start {
                text.push('…');
            }
            let shown_from = text.len();
            text.push_str(&source[from..to]);
            if line == start_line {
                excerpt_start = shown_from + (start - from).min(to - from);
                column_shift = (start - range.start).saturating_sub(excerpt_start - line_start);
            }
            if line == end_line {
                excerpt_end = shown_from + end.clamp(from, to) - from;
            }
            if to < range.end {
                text.push('…');
            }
            if line < last_line {
                text.push('\n');
            }
        }
        Excerpt {
            name: file.to_string(),
            text,
            span: Span::new(excerpt_start, excerpt_end.max(excerpt_start)),
            first_line,
            span_line: start_line - first_line,
            column_shift,
        }
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        let column = if context_lines_before == 0 && inner.line() == self.span_line {
            inner.column() + self.column_shift
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count() + self.first_line,
        )))
    }
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
