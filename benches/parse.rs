//! Parse + check throughput: the programs of `programs/`, and one
//! generated program of 10,000 rules. Figures are recorded in the
//! README's bench section.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn programs() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// A program with `rules` earn rules over declared actions and categories,
/// tiers and rewards, that checks clean.
pub fn generated(rules: usize) -> String {
    let mut text = String::from(
        "program \"Generated\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\n",
    );
    let actions: Vec<String> = (0..rules / 4).map(|i| format!("action_{i}")).collect();
    // A condition can name the first 64 categories: the rules share them.
    let categories: Vec<String> = (0..64).map(|i| format!("category_{i}")).collect();
    text.push_str(&format!("actions {}\n", actions.join(", ")));
    text.push_str(&format!("categories {}\n", categories.join(", ")));
    text.push_str("earn 1 point per $1 spent, excluding shipping\n");
    for i in 0..rules / 4 {
        text.push_str(&format!(
            "earn {} points for action_{i}, once per day, up to 500 points per year\n",
            5 + i % 20
        ));
        text.push_str(&format!(
            "bonus {} points, in category category_{}, on orders of ${} or more\n",
            5 + i % 20,
            i % 64,
            20 + i
        ));
        text.push_str(&format!(
            "reward \"Reward {i}\", costs {} points, worth ${}\n",
            100 + i,
            1 + i % 50
        ));
        text.push_str(&format!(
            "tier \"Tier {i}\", for ${} spent in a calendar year {{\n  earn 2 points per $1 spent, in category category_{}\n}}\n",
            100 + i * 10,
            i % 64
        ));
    }
    text
}

fn parse_and_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse_and_check");
    for (name, sources) in [
        ("all_programs", programs()),
        ("generated_10k_rules", vec![generated(10_000)]),
    ] {
        for source in &sources {
            let (_, checked) = loyalty::analyze(source);
            let diagnostics = checked.diagnostics;
            assert!(
                diagnostics.is_empty(),
                "{name} must check clean: {:?}",
                diagnostics.first()
            );
        }
        let bytes: usize = sources.iter().map(String::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                for source in &sources {
                    std::hint::black_box(loyalty::analyze(std::hint::black_box(source)));
                }
            })
        });
    }
    group.finish();
}

/// What `run` and `simulate` do with a program file: parse, check and
/// compile it for the engine.
fn load(c: &mut Criterion) {
    let sources = programs();
    let bytes: usize = sources.iter().map(String::len).sum();
    let mut group = c.benchmark_group("load");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("all_programs", |b| {
        b.iter(|| {
            for source in &sources {
                let program = loyalty::load(std::hint::black_box(source));
                std::hint::black_box(program.is_ok());
            }
        })
    });
    group.finish();
}

fn format(c: &mut Criterion) {
    let source = generated(10_000);
    let mut group = c.benchmark_group("format");
    group.throughput(Throughput::Bytes(source.len() as u64));
    group.bench_function("generated_10k_rules", |b| {
        b.iter(|| loyalty::format::format_source(std::hint::black_box(&source)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = parse_and_check, load, format
}
criterion_main!(benches);
