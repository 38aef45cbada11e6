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

use rayon::prelude::*;

pub use customer::Work;
pub use model::{Model, ModelError};
pub use scenario::Scenario;
pub use tally::{FIELDS, Field, RunTally};

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

/// Runs the plan; `done` hears how many customers each finished task
/// simulated (for a progress bar). The result is the same whatever the
/// number of threads.
pub fn simulate(
    program: &Program,
    scenario: &Scenario,
    plan: Plan,
    done: &(dyn Fn(u64) + Sync),
) -> Result<Vec<RunTally>, ModelError> {
    let model = Model::new(program, scenario, plan)?;
    let runs: Vec<u32> = plan.runs().collect();
    let population = model.population();
    let chunks = population.div_ceil(CHUNK);
    let tiers = program.tiers.len();
    let tallies: Vec<RunTally> = runs
        .par_iter()
        .map(|&run| {
            (0..chunks)
                .into_par_iter()
                .map_init(
                    || Work::new(program),
                    |work, chunk| {
                        let mut tally = RunTally::new(run, plan.months, tiers);
                        let first = chunk * CHUNK;
                        let last = (first + CHUNK).min(population);
                        for c in first..last {
                            model.customer(run, c, work, &mut tally);
                        }
                        done(u64::from(last - first));
                        tally
                    },
                )
                .reduce(
                    || RunTally::new(run, plan.months, tiers),
                    |mut a, b| {
                        a.absorb(&b);
                        a
                    },
                )
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
