//! Compile: a resolved program becomes the one the engine runs, with
//! the indexes the engine derives from it and its identity for ledgers.
//!
//! Everything a word means was settled by `check`, which resolves only a
//! program free of errors, so compiling cannot fail.

use crate::check::Resolved;
use crate::program::{Program, Qualification, Window};

pub fn compile(resolved: Resolved) -> Program {
    let mut program = resolved.0;
    program.scheduled_rules = (0..program.rules.len())
        .filter(|&r| program.rules[r].is_scheduled())
        .collect();
    program.rate_rules = (0..program.rules.len())
        .filter(|&r| program.rules[r].is_rate())
        .collect();
    let windows = program.tiers.iter().filter_map(|t| match t.qualification {
        Qualification::Threshold { window, .. } => Some(window),
        _ => None,
    });
    program.tiers_by_calendar_year = windows.clone().any(|w| w == Window::CalendarYear);
    program.rolling_months = windows
        .filter_map(|w| match w {
            Window::LastMonths(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    program.identify();
    program
}
