//! Simulator throughput in customer-months per second on programs of
//! the acceptance library: 100,000 customers over 36 months, 10 runs per
//! iteration (the README also times the full 100-run job with the CLI).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use loyalty::sim::{Plan, Scenario, simulate};

fn sim(c: &mut Criterion) {
    // `cargo test --all-targets` runs each benchmark once, without
    // `--bench`, as a smoke test: a small population is enough there.
    let measuring = std::env::args().any(|a| a == "--bench");
    let plan = Plan {
        customers: if measuring { 100_000 } else { 1_000 },
        months: 36,
        runs: if measuring { 10 } else { 1 },
        shard: (1, 1),
    };
    let scenario = Scenario::default();
    let mut group = c.benchmark_group("simulate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        u64::from(plan.customers) * plan.months as u64 * u64::from(plan.runs),
    ));
    for name in ["dicks_scorecard", "cvs_extracare", "subway"] {
        let source = std::fs::read_to_string(format!("programs/{name}.loy")).unwrap();
        let program = loyalty::load(&source).unwrap_or_else(|_| panic!("{name} loads"));
        group.bench_function(name, |b| {
            b.iter(|| simulate(&program, &scenario, plan, &|_| {}).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, sim);
criterion_main!(benches);
