//! Every fixture under `tests/fixtures/`: valid ones must give no
//! diagnostic and snapshot their AST; invalid ones must give at least one
//! and snapshot the rendered diagnostics. An invalid fixture outside
//! `typos/` is named after the code it must produce
//! (`invalid/names/unknown_tier.loy` → `loyalty::unknown_tier`).

use std::path::Path;

use loyalty::diagnostic::render;
use loyalty::format::format_source;

fn relative(path: &Path) -> String {
    let text = path.display().to_string().replace('\\', "/");
    match text.find("tests/fixtures/") {
        Some(i) => text[i + "tests/".len()..].to_string(),
        None => text,
    }
}

/// Spans point inside the file and start on a character boundary.
fn assert_spans_inside(source: &str, diagnostics: &[loyalty::diagnostic::Diagnostic], name: &str) {
    for d in diagnostics {
        assert!(
            d.span.start <= d.span.end && d.span.end <= source.len(),
            "{name}: span {:?} outside the file",
            d.span
        );
        assert!(
            source.is_char_boundary(d.span.start) && source.is_char_boundary(d.span.end),
            "{name}: span off a character boundary"
        );
    }
}

#[test]
fn valid_fixtures() {
    insta::glob!("fixtures/valid/**/*.loy", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let name = relative(path);
        let (program, checked) = loyalty::analyze(&source);
        let diagnostics = checked.diagnostics;
        assert!(
            diagnostics.is_empty(),
            "{name} should be valid:\n{}",
            render(&diagnostics, &name, &source)
        );
        insta::assert_json_snapshot!(program);

        let formatted = format_source(&source).expect("a valid fixture formats");
        assert_eq!(
            format_source(&formatted).unwrap(),
            formatted,
            "{name}: fmt is not idempotent"
        );
        assert!(
            formatted.ends_with('\n') && !formatted.ends_with("\n\n"),
            "{name}: one trailing newline"
        );
    });
}

#[test]
fn invalid_fixtures() {
    insta::glob!("fixtures/invalid/**/*.loy", |path| {
        let source = std::fs::read_to_string(path).unwrap();
        let name = relative(path);
        let (_, checked) = loyalty::analyze(&source);
        let diagnostics = checked.diagnostics;
        assert!(!diagnostics.is_empty(), "{name} should have a diagnostic");
        assert_spans_inside(&source, &diagnostics, &name);
        if !name.contains("/typos/") {
            let code = format!("loyalty::{}", path.file_stem().unwrap().to_string_lossy());
            assert!(
                diagnostics.iter().any(|d| d.code == code),
                "{name} should report {code}, got {:?}",
                diagnostics.iter().map(|d| d.code).collect::<Vec<_>>()
            );
        }
        insta::assert_snapshot!(render(&diagnostics, &name, &source));
    });
}

/// Every code the source can produce has its own invalid fixture.
#[test]
fn every_diagnostic_code_has_a_fixture() {
    let mut codes = std::collections::BTreeSet::new();
    for dir in ["src/syntax", "src/check"] {
        for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for piece in text.split("\"loyalty::").skip(1) {
                let code: String = piece
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                codes.insert(code);
            }
        }
    }
    // Membership names are only ever defined, never referred to.
    codes.remove("unknown_membership");
    let mut missing = Vec::new();
    for code in &codes {
        let found = glob_fixture(&format!("{code}.loy"));
        if !found {
            missing.push(code.clone());
        }
    }
    assert!(codes.len() > 40, "found only {} codes", codes.len());
    assert!(
        missing.is_empty(),
        "codes without an invalid fixture: {missing:?}"
    );
}

fn glob_fixture(file: &str) -> bool {
    fn walk(dir: &Path, file: &str) -> bool {
        std::fs::read_dir(dir).unwrap().any(|e| {
            let path = e.unwrap().path();
            if path.is_dir() {
                walk(&path, file)
            } else {
                path.file_name().is_some_and(|n| n == file)
            }
        })
    }
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/invalid"),
        file,
    )
}

/// The acceptance check: three separate mistakes, three
/// diagnostics, each with line, column, label and help.
#[test]
fn three_mistakes_give_three_located_diagnostics() {
    let source = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/invalid/typos/three_mistakes.loy"),
    )
    .unwrap();
    let (_, checked) = loyalty::analyze(&source);
    let diagnostics = checked.diagnostics;
    let located: Vec<(usize, usize, &str)> = diagnostics
        .iter()
        .map(|d| {
            let json = d.to_json("f.loy", &loyalty::span::Lines::new(&source));
            assert!(!d.label.is_empty() && d.help.is_some());
            (json.line, json.column, d.code)
        })
        .collect();
    assert_eq!(
        located,
        vec![
            (5, 18, "loyalty::missing_currency_sign"),
            (7, 55, "loyalty::unknown_tier"),
            (8, 1, "loyalty::unknown_statement"),
        ]
    );
}

/// Issue 14: the work of `check` grows with the file, not with the
/// square of it. 2,000 identical tiers used to give a problem for every
/// pair of them (two million, 249 s); each tier is now reported once.
#[test]
fn many_alike_lines_give_one_problem_each_not_one_per_pair() {
    let mut source = String::from(
        "program \"Tiers\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\nearn 1 point per $1 spent\n",
    );
    for _ in 0..2_000 {
        source.push_str("tier \"Gold\", for $500 spent in a calendar year\n");
        source.push_str("earn 2 points per $1 spent, in category shoes\n");
    }
    source.push_str("categories shoes\n");
    let (_, checked) = loyalty::analyze(&source);
    let diagnostics = checked.diagnostics;
    let count = |code: &str| diagnostics.iter().filter(|d| d.code == code).count();
    assert_eq!(count("loyalty::duplicate_name"), 1_999);
    assert_eq!(count("loyalty::unreachable_tier"), 1_999);
    assert_eq!(count("loyalty::tier_order"), 0);
    assert_eq!(count("loyalty::overlapping_rule"), 1_999);
    let rendered = render(&diagnostics, "tiers.loy", &source);
    assert!(rendered.ends_with(
        "... and 5937 more problems in tiers.loy not shown (at most 100 per file, 20 of one kind): fix these and check again\n"
    ), "{}", &rendered[rendered.len() - 300..]);
}

/// Issue 14: a mistake at any column of a long line is drawn from a cut
/// of the line, with the column it really has, and never panics.
#[test]
fn a_mistake_anywhere_on_a_long_line_is_drawn_with_its_column() {
    let head = "program \"Long\"\ncurrency USD\npoints are called \"points\"\n";
    for spaces in [
        0, 34, 35, 36, 37, 40, 50, 51, 52, 53, 60, 100, 159, 160, 161, 300, 70_000,
    ] {
        let source = format!(
            "{head}earn 1 point per $1 spent{} per day\n",
            " ".repeat(spaces)
        );
        let (_, checked) = loyalty::analyze(&source);
        let diagnostics = checked.diagnostics;
        let rendered = render(&diagnostics, "long.loy", &source);
        let column = 26 + spaces + 1;
        assert!(
            rendered.contains(&format!("[long.loy:4:{column}]")),
            "{spaces}: {rendered}"
        );
    }
}
