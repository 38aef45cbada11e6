//! The fuzzing harness: every input the tool reads, random and edited,
//! never makes it panic. Program text (arbitrary text, pieces, and small
//! random edits of the real programs, which reach much deeper into the
//! grammar than random bytes do); event lines (pieces and raw bytes,
//! through a run); scenario TOML (through the model and a small
//! simulation); orders CSV (through the reader and `calibrate`); shard
//! files (`runs.json`, through `merge`'s checks and the metrics).
//!
//! Each target runs a few hundred to a few thousand inputs by default.
//! The long mode runs as many as `LOYALTY_FUZZ_CASES` says, for every
//! target but the fits of odd histories (`LOYALTY_FUZZ_FITS`, each a
//! whole maximum-likelihood fit); the README's Bench section gives the
//! command and figures:
//! `LOYALTY_FUZZ_CASES=1000000 cargo test --release --test no_panic`.

use proptest::prelude::*;

/// Inputs per target: `default`, or `LOYALTY_FUZZ_CASES` in the long
/// mode.
fn cases(default: u32) -> ProptestConfig {
    cases_from("LOYALTY_FUZZ_CASES", default)
}

fn cases_from(variable: &str, default: u32) -> ProptestConfig {
    let cases = std::env::var(variable)
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        max_shrink_iters: 2_000,
        ..ProptestConfig::default()
    }
}

fn analyze_and_format(source: &str) {
    let (program, checked) = loyalty::analyze(source);
    let formatted = loyalty::format::format(&program);
    let has_errors = checked.diagnostics.iter().any(|d| d.is_error());
    assert_eq!(checked.program.is_some(), !has_errors, "{source}");
    // What `fmt` writes is the same program: formatting never changes
    // what a program does, nor its identity in a ledger.
    if let Some(resolved) = checked.program {
        let compiled = loyalty::compile::compile(resolved);
        let again = loyalty::load(&formatted).expect("the formatted program checks clean");
        assert_eq!(
            compiled.hash, again.hash,
            "{source}\n--- formatted:\n{formatted}"
        );
    }
    // Whenever the input parses, the formatter must prove its round trip.
    if loyalty::syntax::parse(source).1.is_empty() {
        loyalty::format::format_source(source)
            .expect("formatting a parsed file never changes its meaning");
    }
}

/// The programs' texts, read once.
fn corpus() -> &'static [String] {
    static TEXTS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    TEXTS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
        let mut texts: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        texts.sort();
        texts
    })
}

/// A run of one of the programs, in memory, handed to `feed`;
/// its summary once finished, with every member's balances checked.
fn run_program(
    which: usize,
    feed: impl FnOnce(&mut loyalty::runner::Runner),
) -> loyalty::runner::Summary {
    let programs = corpus();
    let program = loyalty::load(&programs[which % programs.len()]).unwrap();
    let mut engine = loyalty::engine::Engine::new(&program);
    let mut runner = loyalty::runner::Runner::new(&mut engine, None, Default::default(), "fuzz");
    feed(&mut runner);
    let summary = runner.finish().unwrap();
    for member in engine.members() {
        assert!(member.points.balance >= 0 && member.money.balance >= 0);
    }
    summary
}

/// Pieces that often appear in program files, so that random text
/// contains real words and amounts.
const PIECES: &[&str] = &[
    "earn ",
    "tier ",
    "reward ",
    "\"Gold\"",
    "$10",
    "-$5",
    "2%",
    "3x",
    "300 points",
    " per ",
    " for ",
    ", ",
    "{",
    "}",
    "\n",
    "#",
    "every ",
    "become ",
    "spent",
    "in category ",
    "up to ",
    "once per day",
    "30 days",
    "€",
    "1,000",
    "9999999999999999999",
    ".",
    "\"",
    "\t",
    "membership ",
    "costs ",
    "with a free trial of ",
    "points expire ",
    "after they are earned",
    "for members with ",
    "bonus ",
    "exclusive",
    "5th visit",
];

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,200}") {
        analyze_and_format(&source);
    }

    #[test]
    fn arbitrary_pieces_never_panic(pieces in prop::collection::vec(prop::sample::select(PIECES), 0..40)) {
        analyze_and_format(&pieces.concat());
    }

    #[test]
    fn edited_programs_never_panic(
        which in 0usize..12,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, prop::sample::select(PIECES)), 1..6),
    ) {
        let programs = corpus();
        let mut text = programs[which % programs.len()].clone();
        for (at, action, piece) in edits {
            let mut i = at.index(text.len() + 1);
            while !text.is_char_boundary(i) {
                i -= 1;
            }
            match action {
                0 => text.insert_str(i, piece),
                1 => { let end = (i + piece.len()).min(text.len()); if text.is_char_boundary(end) { text.replace_range(i..end, ""); } }
                2 => { let end = (i + 1).min(text.len()); if text.is_char_boundary(end) { text.replace_range(i..end, piece); } }
                _ => text.truncate(i),
            }
        }
        analyze_and_format(&text);
    }
}

/// Pieces of event lines, so that random lines reach the engine.
const EVENT_PIECES: &[&str] = &[
    r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
    r#"{"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"10.00"}"#,
    r#""amount":"#,
    r#""-5""#,
    "1e400",
    r#""99999999999999999999""#,
    r#""rewards":"5""#,
    r#""type":"refund""#,
    r#""type":"tick""#,
    r#""at":"2026-02-30""#,
    r#""at":"9999-12-31T23:59:59Z""#,
    r#""points":-3"#,
    r#""points":9223372036854775807"#,
    r#""member":"a""#,
    r#""order":"o""#,
    ",",
    "{",
    "}",
    "null",
];

proptest! {
    #![proptest_config(cases(1000))]

    /// Whatever the event lines, the engine rejects or applies them, never
    /// panics, and never leaves a negative balance.
    #[test]
    fn arbitrary_event_lines_never_panic(
        lines in prop::collection::vec(prop::collection::vec(prop::sample::select(EVENT_PIECES), 0..8), 0..30),
        program in 0usize..12,
    ) {
        run_program(program, |runner| {
            for (n, pieces) in lines.iter().enumerate() {
                runner.line(n + 1, &pieces.concat()).unwrap();
            }
        });
    }

    /// Raw bytes, as a file may hold them: a byte-order mark, bytes that
    /// are not UTF-8, lines cut anywhere. Each line is applied or
    /// rejected on its own.
    #[test]
    fn arbitrary_event_bytes_never_panic(
        lines in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    prop::sample::select(EVENT_PIECES).prop_map(|p| p.as_bytes().to_vec()),
                    prop::collection::vec(any::<u8>(), 0..6),
                    Just("\u{feff}".as_bytes().to_vec()),
                ],
                0..6,
            ),
            0..20,
        ),
        program in 0usize..12,
    ) {
        let summary = run_program(program, |runner| {
            for (n, pieces) in lines.iter().enumerate() {
                runner.raw_line(n + 1, &pieces.concat()).unwrap();
            }
        });
        prop_assert!(summary.applied + summary.rejected_count + summary.duplicates <= lines.len());
    }
}

/// Pieces of scenario files: every table and key, values in and out of
/// range, and TOML's own punctuation.
const SCENARIO_PIECES: &[&str] = &[
    "[simulation]\n",
    "[[segment]]\n",
    "[behavior]\n",
    "customers = ",
    "months = ",
    "runs = ",
    "seed = ",
    "start = ",
    "gross_margin = ",
    "name = ",
    "share = ",
    "purchase = { r = ",
    ", alpha = ",
    ", a = ",
    ", b = ",
    ", unit = \"week\" }",
    ", unit = \"day\" }",
    "spend = { p = ",
    ", q = ",
    ", v = ",
    " }",
    "enroll = ",
    "subscribe = ",
    "redeem = ",
    "refer = ",
    "categories = { shoes = ",
    "member_lift = ",
    "goal_gradient = ",
    "demotion_spend = ",
    "trial_conversion = ",
    "0",
    "1",
    "0.5",
    "2",
    "100",
    "1e300",
    "1e-300",
    "-1",
    "nan",
    "inf",
    "4294967295",
    "\"2027-01-01\"",
    "\"x\"",
    "\n",
    "=",
    "[",
    "]",
];

/// Values for a whole scenario's keys: shares, positive model
/// parameters (their extremes included), multipliers; mostly in range so
/// that the model runs, sometimes out of it.
const SHARES: &[&str] = &["0", "1", "0.5", "0.01", "0.99", "1e-300", "2", "-1", "nan"];
const POSITIVES: &[&str] = &[
    "1", "0.5", "4.4", "1e300", "1e-300", "1e-9", "100", "0", "inf",
];
const MULTIPLIERS: &[&str] = &["0", "1", "1.25", "0.5", "100", "99.9", "101", "-1"];

proptest! {
    #![proptest_config(cases(300))]

    /// Whatever a scenario file says, it is refused with its place or
    /// simulated (on a few customers): no panic, no unbounded work.
    #[test]
    fn arbitrary_scenarios_never_panic(
        pieces in prop::collection::vec(prop::sample::select(SCENARIO_PIECES), 0..30),
        shares in prop::collection::vec(prop::sample::select(SHARES), 4),
        positives in prop::collection::vec(prop::sample::select(POSITIVES), 7),
        multipliers in prop::collection::vec(prop::sample::select(MULTIPLIERS), 4),
        unit in prop::sample::select(&["day", "week", "month", "year"][..]),
        months in prop::sample::select(&["1", "12", "36", "600", "0", "601"][..]),
        whole in any::<bool>(),
        program in 0usize..12,
    ) {
        // Pieces reach the parser's errors; a whole scenario with values
        // anywhere in and out of range reaches the model.
        let text = if whole {
            let (s, p, m) = (&shares, &positives, &multipliers);
            format!(
                "[simulation]\nmonths = {months}\ngross_margin = {}\n[[segment]]\n\
                 purchase = {{ r = {}, alpha = {}, a = {}, b = {}, unit = \"{unit}\" }}\n\
                 spend = {{ p = {}, q = {}, v = {} }}\nenroll = {}\nredeem = {}\nrefer = {}\n\
                 [behavior]\nmember_lift = {}\ngoal_gradient = {}\ndemotion_spend = {}\n\
                 paid_member_lift = {}\n",
                s[0], p[0], p[1], p[2], p[3], p[4], p[5], p[6], s[1], s[2], s[3], m[0], m[1],
                m[2], m[3]
            )
        } else {
            pieces.concat()
        };
        let Ok(mut scenario) = loyalty::sim::Scenario::parse(&text) else {
            return Ok(());
        };
        let programs = corpus();
        let program = loyalty::load(&programs[program % programs.len()]).unwrap();
        scenario.simulation.customers.0 = 2;
        scenario.simulation.runs.0 = 1;
        let plan = loyalty::sim::Plan {
            customers: 2,
            months: scenario.simulation.months.0 as usize,
            runs: 1,
            shard: (1, 1),
        };
        if let Ok(runs) = loyalty::sim::simulate(&program, &scenario, plan, &|_| {}) {
            let _ = loyalty::report::metrics::metrics(&program, &scenario, 2, &runs);
        }
    }
}

/// A real shard file: a small simulation of Kohl's, as `runs.json`
/// (made once).
fn shard_file() -> String {
    static FILE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FILE.get_or_init(simulated_shard_file).clone()
}

fn simulated_shard_file() -> String {
    let programs = corpus();
    let source = programs
        .iter()
        .find(|p| p.contains("Kohl"))
        .unwrap()
        .clone();
    let program = loyalty::load(&source).unwrap();
    let mut scenario = loyalty::sim::Scenario::default();
    scenario.simulation.customers.0 = 50;
    scenario.simulation.runs.0 = 2;
    scenario.simulation.months.0 = 3;
    let plan = loyalty::sim::Plan {
        customers: 50,
        months: 3,
        runs: 2,
        shard: (1, 1),
    };
    let runs = loyalty::sim::simulate(&program, &scenario, plan, &|_| {}).unwrap();
    let inputs = loyalty::report::Inputs::new(&program, "kohls.loy", &scenario);
    serde_json::to_string(&loyalty::report::RunsFile::new(
        inputs,
        (1, 1),
        source,
        runs,
    ))
    .unwrap()
}

/// Reads a shard as `merge` does and, when it passes, computes its
/// metrics as `merge` then would.
fn read_shard(text: &str) {
    let path = std::path::Path::new("runs.json");
    if let Ok(file) = loyalty::report::RunsFile::read(text, path)
        && file.runs.len() == file.inputs.scenario.simulation.runs.0 as usize
    {
        let program = loyalty::load(&file.program_source).unwrap();
        let customers = file.inputs.scenario.simulation.customers.0;
        let _ = loyalty::report::metrics::metrics(
            &program,
            &file.inputs.scenario,
            customers,
            &file.runs,
        );
    }
}

proptest! {
    #![proptest_config(cases(300))]

    /// A shard file cut, spliced or edited anywhere is refused or read:
    /// never a panic.
    #[test]
    fn edited_shard_files_never_panic(
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..3, prop::sample::select(&["0", "-1", "99999999999999999999", "[", "]", ",", "\"", "{}", "null", "1e999"][..])), 1..4),
    ) {
        let mut text = shard_file();
        for (at, action, piece) in edits {
            let i = at.index(text.len() + 1);
            match action {
                0 => text.insert_str(i, piece),
                1 => text.truncate(i),
                _ => { let end = (i + 1).min(text.len()); text.replace_range(i..end, piece); }
            }
        }
        read_shard(&text);
    }

    /// Shards whose checksum is made to match again around edited
    /// contents (as by someone who knows the format): their shape, runs
    /// and program are still checked before any metric is computed.
    #[test]
    fn resealed_shard_files_never_panic(
        fits in any::<bool>(),
        months in 0usize..5,
        tiers in 0usize..5,
        shard in prop_oneof![Just((1u32, 1u32)), (0u32..4, 0u32..4)],
        run_numbers in prop::collection::vec(0u32..4, 1..3),
        value in prop_oneof![any::<i64>(), Just(i64::MAX), Just(i64::MIN), Just(0i64)],
        seed in any::<u64>(),
    ) {
        use loyalty::report::RunsFile;
        let file: RunsFile = serde_json::from_str(&shard_file()).unwrap();
        let (months, tiers) = if fits { (file.runs[0].months, file.runs[0].tiers) } else { (months, tiers) };
        let width = loyalty::sim::FIELDS + tiers;
        let mut next = seed;
        let runs = run_numbers
            .iter()
            .map(|&run| {
                let values = (0..months * width)
                    .map(|_| {
                        next = next.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        if next % 3 == 0 { value } else { (next >> 3) as i64 }
                    })
                    .collect();
                loyalty::sim::RunTally { run, months, tiers, values, overflowed: false, budgets_used: Default::default() }
            })
            .collect();
        let mut inputs = file.inputs;
        inputs.scenario.simulation.runs.0 = run_numbers.len() as u32;
        let edited = RunsFile::new(inputs, shard, file.program_source, runs);
        read_shard(&serde_json::to_string(&edited).unwrap());
    }
}

/// Cells that orders exports contain, good and bad, so that random rows
/// reach every branch of the date and amount readers and the fit.
const ORDER_CELLS: &[&str] = &[
    "a",
    "b",
    "c",
    "",
    "2026-01-15",
    "2026-02-30",
    "20260115",
    "15/01/2026",
    "01/15/2026",
    "03/04/2026",
    "15.01.2026",
    "2026/01/15",
    "0000-01-01",
    "9999-12-31",
    "2026-01-15T10:00:00Z",
    "12.50",
    "$12.50",
    "12,50 kr",
    "-4",
    "(5)",
    "1.234.567",
    "1,2,3",
    "0",
    "0.001",
    "é€",
    "\"",
    "99999999999999999999",
];

proptest! {
    #![proptest_config(cases(500))]

    /// Whatever an orders file holds, reading it and fitting it end in
    /// orders and a fit, or in an error: never a panic. Random bytes reach
    /// the CSV reader; rows of likely cells reach the fit.
    #[test]
    fn arbitrary_orders_files_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        rows in prop::collection::vec(prop::collection::vec(prop::sample::select(ORDER_CELLS), 3), 0..60),
        end in prop::option::of(0i64..60),
        segments in 1usize..4,
    ) {
        use loyalty::calibrate::{Options, calibrate};
        use loyalty::orders::{Columns, read_orders};
        let options = Options {
            calibration_end: end.map(|d| loyalty::time::Time::from_date(2026, 1, 1).add_days(d)),
            segments,
        };
        if let Ok(read) = read_orders(bytes.as_slice(), &Columns::default()) {
            let _ = calibrate(&read, &options);
        }
        let mut csv = String::from("customer,date,amount\n");
        for row in &rows {
            csv.push_str(&row.iter().map(|c| format!("\"{}\"", c.replace('"', "\"\""))).collect::<Vec<_>>().join(","));
            csv.push('\n');
        }
        let read = match read_orders(csv.as_bytes(), &Columns::default()) {
            Ok(read) => read,
            Err(error) => {
                prop_assert!(rows.is_empty(), "{}", error);
                return Ok(());
            }
        };
        prop_assert_eq!(read.rows, rows.len());
        prop_assert_eq!(read.orders.len() + read.bad_rows.len(), rows.len());
        let _ = calibrate(&read, &options);
    }
}

proptest! {
    // Each input is a whole maximum-likelihood fit (about 60 ms): the
    // long mode has its own count, `LOYALTY_FUZZ_FITS`.
    #![proptest_config(cases_from("LOYALTY_FUZZ_FITS", 100))]

    /// Small odd histories that pass the reader (a few customers, few
    /// days, zero amounts, everything on one day) reach the optimizer:
    /// it ends in a fit or an error, and a fit is finite and positive.
    #[test]
    fn odd_histories_fit_or_fail_cleanly(
        orders in prop::collection::vec((0u32..25, 0i64..40, 0u32..5000), 0..400),
        end in prop::option::of(0i64..40),
    ) {
        use loyalty::calibrate::{Options, calibrate};
        use loyalty::orders::{Columns, read_orders};
        let start = loyalty::time::Time::from_date(2026, 1, 1);
        let mut csv = String::from("customer,date,amount\n");
        for (customer, day, cents) in &orders {
            csv.push_str(&format!("c{customer},{},{}.{:02}\n", start.add_days(*day), cents / 100, cents % 100));
        }
        let Ok(read) = read_orders(csv.as_bytes(), &Columns::default()) else {
            prop_assert!(orders.is_empty());
            return Ok(());
        };
        let options = Options { calibration_end: end.map(|d| start.add_days(d)), segments: 1 };
        if let Ok(fit) = calibrate(&read, &options) {
            for value in fit.segments[0].purchase.values.iter().chain(&fit.segments[0].spend.values) {
                prop_assert!(value.is_finite() && *value > 0.0, "{:?}", fit.segments[0]);
            }
        }
    }
}
