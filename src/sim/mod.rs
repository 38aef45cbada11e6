//! The simulator: a program run many times on a synthetic population
//! (`scenario`, read once into a `model`), each customer beside their
//! no-program twin on the same random numbers (`customer`, `draw`), the
//! member account driven through the engine (`program`) with the
//! responses of `lift`, counted month by month in integers (`tally`).
//! `report` turns the counts into metrics and files.

mod customer;
mod draw;
mod lift;
mod model;
mod program;
pub mod rng;
pub mod scenario;
pub mod tally;
mod week;

pub use customer::Work;
pub use model::{Model, ModelError};
pub use scenario::Scenario;
pub use tally::{FIELDS, Field, RunTally};

use std::sync::Arc;

use rayon::prelude::*;

use crate::engine::{self, Budgets};
use crate::program::Program;

/// Customers simulated by one task; small enough to spread the work over
/// threads, large enough that a task's counts cost little to add up.
const CHUNK: u32 = 2_048;

/// What to simulate, after the command line has overridden the
/// scenario's `[simulation]` table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Customers at the start; those who arrive come from the scenario.
    pub customers: u32,
    pub months: usize,
    pub runs: u32,
    /// This machine's share of the runs: (k, n) runs the runs whose
    /// number is k-1 modulo n.
    pub shard: (u32, u32),
}

impl Plan {
    /// The runs this shard does, in order.
    pub fn runs(&self) -> impl Iterator<Item = u32> + '_ {
        let (k, n) = self.shard;
        (0..self.runs).filter(move |r| r % n == k - 1)
    }
}

/// How many times a run goes over its customers: twice for a program with
/// budgets shared by all members (see [`simulate`]).
pub fn passes(program: &Program) -> u64 {
    if program.budget_slots == 0 { 1 } else { 2 }
}

/// Runs the plan; `done` hears how many customers each finished task
/// simulated (for a progress bar, [`passes`] times each). The result is
/// the same whatever the number of threads.
pub fn simulate(
    program: &Program,
    scenario: &Scenario,
    plan: Plan,
    done: &(dyn Fn(u64) + Sync),
) -> Result<Vec<RunTally>, ModelError> {
    let model = Model::new(program, scenario, plan)?;
    let runs: Vec<u32> = plan.runs().collect();
    let tallies: Vec<RunTally> = runs
        .par_iter()
        .map(|&run| {
            if program.budget_slots == 0 {
                return model.run(run, &|| Budgets::none(), done);
            }
            // Budgets shared by all members need the customers in event
            // order, which a run taken customer by customer is not: a
            // first pass notes when each budget is used, and the second
            // closes each budget at the moment it ran out
            // (`engine::budgets`).
            let first = model.run(run, &|| Budgets::Noted(Vec::new()), done);
            let closings = Arc::new(engine::closings(
                program,
                first.budgets_used.into_iter().collect(),
            ));
            let mut tally = model.run(run, &|| Budgets::Closing(closings.clone()), done);
            for &(_, at) in closings.0.iter().flatten() {
                tally.add(model.month_of(model.day_of(at)), Field::BudgetsRunOut, 1);
            }
            tally
        })
        .collect();
    if tallies.iter().any(|t| t.overflowed) {
        return Err(ModelError(
            "a run's totals went past what 64-bit integers count exactly (about 9.2 × 10^18 \
             cents or points): simulate fewer customers or months, or check the program's and \
             the scenario's amounts"
                .into(),
        ));
    }
    Ok(tallies)
}
