//! Calibration time on a 100,000-customer orders history drawn with
//! CDNOW's parameters over 78 weeks (`tests/common/orders.rs`): reading
//! the CSV and fitting both models with a 39-week holdout, and the fit
//! alone. Figures are in the README.

use criterion::{Criterion, criterion_group, criterion_main};
use loyalty::calibrate::{Options, calibrate};
use loyalty::orders::{Columns, read_orders};
use loyalty::time::Time;

#[path = "../tests/common/orders.rs"]
mod orders;

fn calibration(c: &mut Criterion) {
    // `cargo test --all-targets` runs each benchmark once, without
    // `--bench`, as a smoke test: a small history is enough there.
    let measuring = std::env::args().any(|a| a == "--bench");
    let customers = if measuring { 100_000 } else { 2_000 };
    let csv = orders::orders_csv(orders::CDNOW, customers, 12, 78, 1);
    let options = Options {
        calibration_end: Some(Time::from_date(2020, 1, 1).add_days(39 * 7 - 1)),
        segments: 1,
    };
    let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
    eprintln!(
        "{customers} customers, {} orders, {} MB of CSV",
        read.orders.len(),
        csv.len() / 1_000_000
    );

    let mut group = c.benchmark_group("calibrate");
    group.sample_size(10);
    group.bench_function("read and fit a 100k-customer history", |b| {
        b.iter(|| {
            let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
            calibrate(&read, &options).unwrap()
        })
    });
    group.bench_function("fit a 100k-customer history", |b| {
        b.iter(|| calibrate(&read, &options).unwrap())
    });
    group.finish();
}

criterion_group!(benches, calibration);
criterion_main!(benches);
