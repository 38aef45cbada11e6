//! Budgets all members share: `up to $50,000 per month in total`,
//! `1,000 available`. Unlike a member's own limits, a budget is one
//! counter for the whole program, so the member who comes first in event
//! order gets what is left.
//!
//! Live, the engine counts each budget as events come ([`Budgets::Counted`]).
//! The simulator runs its customers one at a time, each over every month,
//! so it cannot count in event order: it runs twice. The first pass notes
//! every use with no budget binding ([`Budgets::Noted`]); from those notes,
//! the moment each budget ran out in each of its periods is worked out
//! ([`closings`]); the second pass gives nothing from a budget after that
//! moment of the period ([`Budgets::Closing`]).

use std::sync::Arc;

use super::member::CapUse;
use crate::program::{Cap, Limit, Program};
use crate::time::Time;

pub enum Budgets {
    /// What each budget has used in its current period.
    Counted(Vec<CapUse>),
    /// Every use, none refused: the simulator's first pass.
    Noted(Vec<BudgetUse>),
    /// When each budget runs out in each period: the simulator's second
    /// pass.
    Closing(Arc<Closings>),
}

/// One use of a budget: its counter, the period, when, and how much.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BudgetUse {
    pub slot: u32,
    pub period: i64,
    pub at: Time,
    pub amount: i64,
}

/// Per budget, the periods in which it ran out and the moment it did,
/// in order of period.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Closings(pub Vec<Vec<(i64, Time)>>);

impl Budgets {
    /// The live counters of a program's budgets, none used.
    pub fn of(program: &Program) -> Budgets {
        Budgets::Counted(vec![CapUse::default(); program.budget_slots])
    }

    /// No budgets: what a program without any runs with.
    pub fn none() -> Budgets {
        Budgets::Counted(Vec::new())
    }

    /// What the budget has used in period `key` by `at`; all of it once a
    /// simulated budget has closed.
    pub(super) fn used(&self, cap: &Cap, key: i64, at: Time) -> i64 {
        match self {
            // A counter that is not there (no budgets given) has used
            // nothing.
            Budgets::Counted(counters) => (counters.get(cap.slot))
                .filter(|counter| counter.period == key)
                .map_or(0, |counter| counter.used),
            Budgets::Noted(_) => 0,
            Budgets::Closing(closings) => {
                let periods = closings.0.get(cap.slot).map_or(&[][..], Vec::as_slice);
                match periods.binary_search_by_key(&key, |&(period, _)| period) {
                    Ok(i) if at >= periods[i].1 => i64::MAX,
                    _ => 0,
                }
            }
        }
    }

    pub(super) fn count(&mut self, cap: &Cap, key: i64, at: Time, amount: i64) {
        match self {
            Budgets::Counted(counters) => {
                let Some(counter) = counters.get_mut(cap.slot) else {
                    return;
                };
                if counter.period != key {
                    counter.period = key;
                    counter.used = 0;
                }
                counter.used = counter.used.saturating_add(amount);
            }
            Budgets::Noted(uses) if amount > 0 => uses.push(BudgetUse {
                slot: cap.slot as u32,
                period: key,
                at,
                amount,
            }),
            Budgets::Noted(_) | Budgets::Closing(_) => {}
        }
    }

    /// The live counters, for the ledger to keep.
    pub fn counters(&self) -> &[CapUse] {
        match self {
            Budgets::Counted(counters) => counters,
            Budgets::Noted(_) | Budgets::Closing(_) => &[],
        }
    }
}

/// How finely the simulator notes when budgets are used: uses in the
/// same hour of the same period are added up, so that what a first pass
/// keeps is bounded by its hours, not by its customers.
pub const NOTED_SECONDS: i64 = 3_600;

impl BudgetUse {
    /// The use as noted: the start of its hour, the key its hour and
    /// period are added up under.
    pub fn noted(self) -> (u32, i64, i64) {
        (self.slot, self.period, self.at.0.div_euclid(NOTED_SECONDS))
    }
}

/// When each budget ran out, from what a first pass used in each hour of
/// each period (`(slot, period, hour)` and the amount, in any order): in
/// each period, the moment within the hour that reaches the budget, as if
/// that hour's uses came evenly. The uses are sorted first, so the answer
/// is the same whatever order they were added up in.
pub fn closings(program: &Program, mut used: Vec<((u32, i64, i64), i64)>) -> Closings {
    let mut limits = vec![0i64; program.budget_slots];
    for (_, cap) in program.budgets() {
        limits[cap.slot] = match cap.limit {
            Limit::Points(n) | Limit::Money(n) | Limit::Times(n) => n,
        };
    }
    used.sort_unstable();
    let mut closings = Closings(vec![Vec::new(); program.budget_slots]);
    let mut so_far: Option<(u32, i64, i64)> = None;
    for ((slot, period, hour), amount) in used {
        let before = match so_far {
            Some((s, p, before)) if (s, p) == (slot, period) => before,
            _ => 0,
        };
        let limit = limits[slot as usize];
        if before >= limit || amount <= 0 {
            continue;
        }
        let after = before.saturating_add(amount);
        if after >= limit {
            let share = i128::from(limit - before) * i128::from(NOTED_SECONDS) / i128::from(amount);
            let at = hour * NOTED_SECONDS + share as i64;
            // The use that reaches the budget is the last one given.
            closings.0[slot as usize].push((period, Time(at + 1)));
        }
        so_far = Some((slot, period, after));
    }
    closings
}
