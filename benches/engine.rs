//! Engine throughput on a generated stream of 1,000,000 events over
//! 100,000 members (`tests/common/stream.rs`, the rich test program):
//! applying decoded events in memory (in batches on both cores, as a run
//! does, and one at a time on one), decoding and applying (a run with no
//! ledger), and a run into the SQLite ledger. Figures are in the README.

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use loyalty::engine::{Engine, decode};
use loyalty::ledger::Ledger;
use loyalty::runner::{LINES_AHEAD, Outputs, Runner};

#[path = "../tests/common/stream.rs"]
mod stream;

fn engine(c: &mut Criterion) {
    // `cargo test --all-targets` runs each benchmark once, without
    // `--bench`, as a smoke test: a small stream is enough there.
    let measuring = std::env::args().any(|a| a == "--bench");
    let (members, events_count) = if measuring {
        (100_000, 1_000_000)
    } else {
        (1_000, 10_000)
    };
    let program = loyalty::load(stream::RICH_PROGRAM).unwrap();
    let lines = stream::stream(members, events_count, 1);
    let events: Vec<_> = lines.iter().map(|l| decode(&program, l).unwrap()).collect();

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(events_count as u64));
    group.bench_function("apply 1M decoded events in memory, in batches", |b| {
        let mut effects = Vec::with_capacity(1 << 16);
        let mut outcomes = Vec::with_capacity(LINES_AHEAD);
        b.iter_batched(
            || Engine::new(&program),
            |mut engine| {
                for batch in events.chunks(LINES_AHEAD) {
                    effects.clear();
                    outcomes.clear();
                    engine.apply_batch(batch, &mut effects, &mut outcomes);
                }
                engine
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("apply 1M decoded events in memory, one at a time", |b| {
        let mut effects = Vec::with_capacity(64);
        b.iter_batched(
            || Engine::new(&program),
            |mut engine| {
                for event in &events {
                    effects.clear();
                    let _ = engine.apply(event, &mut effects);
                }
                engine
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("decode and apply 1M event lines in memory", |b| {
        b.iter_batched(
            || Engine::new(&program),
            |mut engine| {
                let mut runner = Runner::new(&mut engine, None, Outputs::default(), "bench");
                for (n, line) in lines.iter().enumerate() {
                    runner.line(n + 1, line).unwrap();
                }
                runner.finish().unwrap();
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("run 1M event lines into the SQLite ledger", |b| {
        let dir = std::env::temp_dir().join(format!("loyalty-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut round = 0;
        b.iter_batched(
            || {
                round += 1;
                let path = dir.join(format!("ledger-{round}.db"));
                let mut ledger = Ledger::open(&path).unwrap();
                ledger
                    .bind_program(&program, stream::RICH_PROGRAM, false)
                    .unwrap();
                (ledger, path)
            },
            |(mut ledger, path)| {
                let mut engine = Engine::new(&program);
                let mut runner =
                    Runner::new(&mut engine, Some(&mut ledger), Outputs::default(), "bench");
                for (n, line) in lines.iter().enumerate() {
                    runner.line(n + 1, line).unwrap();
                }
                runner.finish().unwrap();
                drop(ledger);
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
