//! Calibrate: the published CDNOW estimates reproduced, parameters
//! recovered from orders drawn with known ones, the holdout check, the
//! scenario accepted by `simulate`, and bad orders files.

#[path = "common/orders.rs"]
mod orders;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use loyalty::calibrate::{self, Calibration, Options};
use loyalty::orders::{Columns, read_orders};
use loyalty::sim::Scenario;
use loyalty::time::Time;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn loyalty() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
    command.current_dir(root());
    command
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loyalty-calibrate-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fit(csv: &str, options: &Options) -> Calibration {
    let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
    calibrate::calibrate(&read, options).unwrap()
}

/// `x` rounded to 3 significant digits, as a string to compare exactly.
fn three_digits(x: f64) -> String {
    loyalty::calibrate::output::significant(x, 3)
}

const CDNOW: &str = "examples/orders/cdnow_sample.csv";

/// Fader, Hardie & Lee (2005) fitted BG/NBD to the CDNOW sample (2,357
/// customers, 39-week calibration ending 1997-09-30, weeks): r = 0.243,
/// alpha = 4.414, a = 0.793, b = 2.426, log-likelihood -9582.4; and
/// Gamma-Gamma to the 946 repeat customers: p = 6.25, q = 3.74,
/// v = 15.44.
#[test]
fn the_published_cdnow_estimates_are_reproduced_to_three_significant_digits() {
    let csv = std::fs::read_to_string(root().join(CDNOW)).unwrap();
    let options = Options {
        calibration_end: Some(Time::from_date(1997, 9, 30)),
        segments: 1,
    };
    let calibration = fit(&csv, &options);
    assert_eq!(calibration.history.customers.len(), 2357);
    let segment = &calibration.segments[0];
    let bgnbd = segment.bgnbd();
    let published = [
        (bgnbd.r, 0.243),
        (bgnbd.alpha, 4.414),
        (bgnbd.a, 0.793),
        (bgnbd.b, 2.426),
    ];
    for (fitted, paper) in published {
        assert_eq!(three_digits(fitted), three_digits(paper), "{bgnbd:?}");
    }
    assert!((segment.purchase.log_likelihood - -9582.4).abs() < 0.05);
    assert_eq!(segment.spend.customers, 946);
    let gg = segment.gamma_gamma();
    for (fitted, paper) in [(gg.p, 6.25), (gg.q, 3.74), (gg.v, 15.44)] {
        assert_eq!(three_digits(fitted), three_digits(paper), "{gg:?}");
    }
}

/// Issue 14: one row dated 9999-12-31 used to stretch every customer's
/// history to it (r 0.254 → 0.061, 0.03 s → 13.7 s); it is skipped and
/// named, and the fit is CDNOW's.
#[test]
fn an_order_dated_in_the_future_is_skipped_and_named_and_moves_nothing() {
    let mut csv = std::fs::read_to_string(root().join(CDNOW)).unwrap();
    csv.push_str("23569,2357,99991231,1,10.00\n");
    let read = read_orders(csv.as_bytes(), &Columns::default()).unwrap();
    let reasons: Vec<String> = read.bad_rows.iter().map(|bad| bad.reason()).collect();
    assert_eq!(
        reasons,
        ["column 3 (date): `9999-12-31` is after today: is the year a slip?"]
    );
    assert_eq!(read.bad_rows[0].line, 6921);
    let options = Options {
        calibration_end: Some(Time::from_date(1997, 9, 30)),
        segments: 1,
    };
    let calibration = calibrate::calibrate(&read, &options).unwrap();
    let bgnbd = calibration.segments[0].bgnbd();
    assert_eq!(three_digits(bgnbd.r), "0.243", "{bgnbd:?}");
    assert_eq!(three_digits(bgnbd.alpha), "4.41", "{bgnbd:?}");
}

/// The command on the CDNOW sample: the report with its holdout table,
/// the scenario file, and the holdout CSV beside it.
#[test]
fn calibrate_writes_a_scenario_that_simulate_runs_and_prints_the_holdout_table() {
    let dir = temp_dir("cdnow");
    let scenario = dir.join("cdnow.toml");
    let output = loyalty()
        .args([
            "calibrate",
            CDNOW,
            "--calibration-end",
            "1997-09-30",
            "--out",
        ])
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = text(&output.stdout).replace(&dir.display().to_string(), "DIR");
    insta::assert_snapshot!("cdnow_report", report);
    let toml = std::fs::read_to_string(&scenario).unwrap();
    insta::assert_snapshot!("cdnow_scenario", toml);
    let parsed = Scenario::parse(&toml).unwrap();
    assert_eq!(parsed.segments.len(), 1);
    assert_eq!(parsed.segments[0].purchase.r.0, 0.242595);
    let holdout = std::fs::read_to_string(dir.join("cdnow.holdout.csv")).unwrap();
    assert!(holdout.starts_with("calibration_repeat_transactions,customers,actual,predicted"));
    assert!(holdout.contains("\nall,2357,1882,"), "{holdout}");

    let out = dir.join("simulation");
    let simulated = loyalty()
        .args(["simulate", "programs/dicks_scorecard.loy", "--scenario"])
        .arg(&scenario)
        .args([
            "--customers",
            "2000",
            "--months",
            "12",
            "--runs",
            "2",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(simulated.status.success(), "{}", text(&simulated.stderr));
    assert!(out.join("summary.json").exists());
}

/// Without `--out` the scenario goes to standard output, the report to
/// standard error; three segments split by the first order's value.
#[test]
fn segments_split_by_the_first_orders_value_and_the_scenario_goes_to_stdout() {
    let output = loyalty()
        .args(["calibrate", CDNOW, "--segments", "3"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let toml = text(&output.stdout);
    let scenario = Scenario::parse(&toml).unwrap();
    let names: Vec<&str> = scenario.segments.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "first order under 15.36",
            "first order from 15.36 to under 31.53",
            "first order 31.53 or more"
        ]
    );
    let shares: f64 = scenario.segments.iter().map(|s| s.share.0).sum();
    assert!((shares - 1.0).abs() < 1e-9);
    // Big first orders go with big later ones.
    let mean =
        |s: &loyalty::sim::scenario::Segment| s.spend.p.0 * s.spend.v.0 / (s.spend.q.0 - 1.0);
    assert!(mean(&scenario.segments[0]) < mean(&scenario.segments[2]));
    let report = text(&output.stderr);
    assert!(
        report.contains("Segment \"first order under 15.36\" (756 customers)"),
        "{report}"
    );
    assert!(
        !report.contains("Holdout"),
        "no holdout without --calibration-end"
    );
}

/// 20,000 customers drawn with CDNOW's parameters over 78 weeks: every
/// fitted parameter lies within two of its standard errors of the
/// truth, and the standard errors are what 20,000 customers allow.
#[test]
fn parameters_are_recovered_from_orders_drawn_with_known_ones() {
    let truth = orders::CDNOW;
    let csv = orders::orders_csv(truth, 20_000, 12, 78, 7);
    let calibration = fit(
        &csv,
        &Options {
            calibration_end: None,
            segments: 1,
        },
    );
    let segment = &calibration.segments[0];
    let check = |estimate: &calibrate::Estimate, truths: &[f64]| {
        let errors = estimate.errors.as_ref().expect("standard errors");
        for (i, truth) in truths.iter().enumerate() {
            let (value, error) = (estimate.values[i], errors[i]);
            assert!(
                (value - truth).abs() <= 2.0 * error,
                "{}: fitted {value} ± {error}, truth {truth}",
                estimate.names[i]
            );
            assert!(
                error < 0.3 * truth,
                "{}: standard error {error}",
                estimate.names[i]
            );
        }
    };
    check(&segment.purchase, &[truth.r, truth.alpha, truth.a, truth.b]);
    check(&segment.spend, &[truth.p, truth.q, truth.v]);
}

/// On drawn orders the model is right, so the holdout's predicted
/// repeat transactions must match what happened: in total within 3%,
/// and for the customers who bought once; and so must the expected
/// order value of the customers who came back in both periods.
#[test]
fn the_holdout_prediction_matches_orders_drawn_from_the_model() {
    let csv = orders::orders_csv(orders::CDNOW, 20_000, 12, 78, 11);
    let options = Options {
        calibration_end: Some(Time::from_date(2020, 1, 1).add_days(39 * 7 - 1)),
        segments: 1,
    };
    let calibration = fit(&csv, &options);
    let holdout = calibration.holdout.expect("a holdout");
    assert!((holdout.weeks - 39.0).abs() < 0.2, "{}", holdout.weeks);
    let (actual, predicted) = (holdout.actual(), holdout.predicted());
    assert!(
        (predicted / actual - 1.0).abs() < 0.03,
        "predicted {predicted}, actual {actual}"
    );
    let zero = holdout.rows[0];
    assert!((zero.predicted / zero.actual - 1.0).abs() < 0.1, "{zero:?}");
    let spend = holdout.spend;
    assert!(spend.customers > 1000, "{spend:?}");
    assert!(
        (spend.predicted / spend.actual - 1.0).abs() < 0.03,
        "{spend:?}"
    );
}

fn calibrate_file(name: &str, csv: &str, extra: &[&str]) -> Output {
    let dir = temp_dir(name);
    let path = dir.join("orders.csv");
    std::fs::write(&path, csv).unwrap();
    let output = loyalty()
        .current_dir(&dir)
        .args(["calibrate", "orders.csv"])
        .args(extra)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(Path::new(&dir));
    output
}

/// Exit code, then standard error.
fn failure(name: &str, csv: &str, extra: &[&str]) -> String {
    let output = calibrate_file(name, csv, extra);
    format!("exit {:?}\n{}", output.status.code(), text(&output.stderr))
}

#[test]
fn bad_orders_files_get_errors_that_say_where_and_what() {
    insta::assert_snapshot!("empty_file", failure("empty", "", &[]));
    insta::assert_snapshot!(
        "missing_column",
        failure("missing", "client,day,sum\na,2026-01-01,5\n", &[])
    );
    insta::assert_snapshot!(
        "named_column_missing",
        failure(
            "named",
            "customer,date,amount\na,2026-01-01,5\n",
            &["--amount", "net"]
        )
    );
    insta::assert_snapshot!(
        "single_orders_only",
        failure(
            "single",
            "customer,date,amount\na,2026-01-01,5\nb,2026-01-02,6\nb,2026-01-02,1\nc,2026-02-01,7\n",
            &[]
        )
    );
    insta::assert_snapshot!(
        "every_row_bad",
        failure(
            "bad",
            "customer,date,amount\na,soon,5\nb,2026-01-02,-6\n",
            &[]
        )
    );
    insta::assert_snapshot!(
        "end_before_first_order",
        failure(
            "early",
            "customer,date,amount\na,2026-01-01,5\na,2026-02-01,5\n",
            &["--calibration-end", "2025-12-31"]
        )
    );
    let two_orders = "customer,date,amount\na,2026-01-01,5\na,2026-02-01,5\n";
    assert_eq!(
        failure("zero", two_orders, &["--segments", "0"]),
        "exit Some(1)\nerror: orders.csv: --segments must be from 1 to 10, not 0\n"
    );
    insta::assert_snapshot!(
        "bad_calibration_end",
        failure(
            "end",
            "customer,date,amount\n",
            &["--calibration-end", "30/09/1997"]
        )
    );
}

/// Bad rows among good ones are skipped with a warning that counts them
/// and names each place; the fit goes on.
#[test]
fn bad_rows_are_skipped_with_a_warning_that_counts_them() {
    let mut csv = orders::orders_csv(orders::CDNOW, 300, 12, 52, 3);
    csv.push_str("c1,2020-13-01,5.00\nc2,2020-02-01,-12.00\nc3,2020-02-01,12.00\nc4,2020-02-01,\n,2020-02-01,1\n");
    let output = calibrate_file("skipped", &csv, &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let warning: String = stderr
        .lines()
        .take_while(|l| !l.starts_with("Data:"))
        .collect::<Vec<_>>()
        .join("\n");
    insta::assert_snapshot!("skipped_rows", warning);
}
