//! The parser, the checker and the formatter never panic, whatever the
//! input: arbitrary text, and small random edits of the real programs
//! (which reach much deeper into the grammar than random bytes do); the
//! engine on random event lines; the orders reader and `calibrate` on
//! random files.

use proptest::prelude::*;

fn analyze_and_format(source: &str) {
    let (program, _) = loyalty::analyze(source);
    let _ = loyalty::format::format(&program);
    // Whenever the input parses, the formatter must prove its round trip.
    if loyalty::syntax::parse(source).1.is_empty() {
        loyalty::format::format_source(source)
            .expect("formatting a parsed file never changes its meaning");
    }
}

fn corpus() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    texts.sort();
    texts
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
    #![proptest_config(ProptestConfig::with_cases(2000))]

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
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Whatever the event lines, the engine rejects or applies them, never
    /// panics, and never leaves a negative balance.
    #[test]
    fn arbitrary_event_lines_never_panic(
        lines in prop::collection::vec(prop::collection::vec(prop::sample::select(EVENT_PIECES), 0..8), 0..30),
        program in 0usize..12,
    ) {
        let programs = corpus();
        let program = loyalty::load(&programs[program % programs.len()]).unwrap();
        let mut engine = loyalty::engine::Engine::new(&program);
        let mut runner = loyalty::run::Runner::new(&mut engine, None, Default::default(), "fuzz");
        for (n, pieces) in lines.iter().enumerate() {
            runner.line(n + 1, &pieces.concat()).unwrap();
        }
        runner.flush().unwrap();
        for member in runner.engine.members() {
            prop_assert!(member.points.balance >= 0 && member.money.balance >= 0);
        }
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
    #![proptest_config(ProptestConfig::with_cases(500))]

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
    #![proptest_config(ProptestConfig::with_cases(100))]

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
