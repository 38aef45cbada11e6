//! The acceptance library, the teaching examples and the README's code
//! blocks: each must check with no error and no warning, and survive the
//! formatter unchanged in meaning (`parse(fmt(x)) == parse(x)`) and in
//! text once formatted (`fmt(fmt(x)) == fmt(x)`).

use std::path::{Path, PathBuf};

use loyalty::diagnostic::render;
use loyalty::format::format_source;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn loy_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "loy"))
        .collect();
    files.sort();
    files
}

/// A file of the repository: clean, formatted, and already in canonical layout.
fn assert_clean_and_canonical(file: &Path) -> String {
    let source = std::fs::read_to_string(file).unwrap();
    let name = file.display().to_string();
    assert_clean_and_formatted(&name, &source);
    assert_eq!(
        format_source(&source).unwrap(),
        source,
        "{name} is not in canonical layout"
    );
    source
}

fn assert_clean_and_formatted(name: &str, source: &str) {
    let (program, checked) = loyalty::analyze(source);
    let diagnostics = checked.diagnostics;
    assert!(
        diagnostics.is_empty(),
        "{name}:\n{}",
        render(&diagnostics, name, source)
    );
    let formatted = format_source(source).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    assert_eq!(
        loyalty::syntax::parse(&formatted).0,
        program,
        "{name}: fmt changed the meaning"
    );
    assert_eq!(
        format_source(&formatted).unwrap(),
        formatted,
        "{name}: fmt is not idempotent"
    );
}

#[test]
fn the_programs_are_clean_and_formatted() {
    let files = loy_files("programs");
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into())
        .collect();
    assert_eq!(
        names,
        [
            "amazon_prime",
            "barnes_noble",
            "body_shop",
            "boots_advantage",
            "cvs_extracare",
            "delta_skymiles",
            "dicks_scorecard",
            "kohls",
            "marriott_bonvoy",
            "mywalgreens",
            "north_face",
            "rei_coop",
            "sephora",
            "starbucks",
            "subway",
            "target_circle",
            "tesco_clubcard",
            "williams_sonoma",
        ]
    );
    for file in files {
        let source = assert_clean_and_canonical(&file);
        let name = file.display().to_string();
        assert!(
            source.starts_with("# "),
            "{name} opens with a comment naming its source"
        );
        assert!(
            source.lines().take(4).any(|l| l.contains("Source")),
            "{name} names its source"
        );
    }
}

#[test]
fn examples_are_clean_and_formatted() {
    let files = loy_files("examples");
    assert!(files.len() >= 3);
    for file in files {
        assert_clean_and_canonical(&file);
    }
}

/// Every ```loy block of the README is a whole program that checks clean.
#[test]
fn readme_loy_blocks_check_clean() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line.trim_start()) {
            (None, "```loy") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            _ => {}
        }
    }
    assert!(
        blocks.len() >= 10,
        "the README shows the language in loy blocks, found {}",
        blocks.len()
    );
    for (i, block) in blocks.iter().enumerate() {
        assert_clean_and_formatted(&format!("README block {}", i + 1), block);
    }
}

/// The rules DOMAIN.md lists for each program, as the designer would look
/// for them: a line of the program says each one.
#[test]
fn each_program_states_its_rules() {
    let expectations: &[(&str, &[&str])] = &[
        (
            "dicks_scorecard",
            &[
                "earn 1 point per $1 spent",
                "worth $10 per 300 points",
                "for $500 spent in a calendar year",
                "bonus 3x points, on 1 chosen day per year",
                "earn $10 reward every year",
                "for members with credit_card",
                "earn 2 points per $1 spent",
                "on orders of $49 or more",
                "fitness_tracker_connected",
            ],
        ),
        (
            "body_shop",
            &[
                "earn 1 point per $1 spent",
                "every 100 points become $10 reward",
                "earn $10 reward for birthday",
                "charity \"Wildlife conservation\"",
                "charity \"Civil rights\"",
                "charity \"Domestic violence support\"",
                "perk \"Members' events\"",
            ],
        ),
        (
            "rei_coop",
            &[
                "costs $30 once",
                "earn 10% back, paid out every year",
                "perk \"Free standard shipping\"",
                "donate $2 to",
                "rentals and services",
            ],
        ),
        (
            "cvs_extracare",
            &[
                "earn 2% back",
                "earn $3 reward for birthday",
                "for spending $30 in a month, in category beauty",
                "earn 10% back, in category beauty, in channel beauty_event",
                "up to $50 per year",
                "costs $5 per month",
                "earn $10 reward every month",
                "Free same-day Rx delivery",
                "discount 20%, in category store_brand",
            ],
        ),
        (
            "barnes_noble",
            &[
                "costs $25 per year",
                "perk \"Free shipping\"",
                "discount 10%, in channel store",
                "\"Birthday offer\" for birthday",
                "perk \"Early access\"",
                "discount 40%, in category hardcover_bestsellers, in channel store",
                "\"Birthday cupcake\" for birthday",
                "earn $5 reward per $100 spent",
                "worth 30% off the next order, in category toys or childrens_books",
            ],
        ),
        (
            "williams_sonoma",
            &[
                "brand \"Pottery Barn\"",
                "brand \"Rejuvenation\"",
                "earn 2% back",
                "perk \"Member offers\"",
                "perk \"Early access\"",
                "perk \"Free design services\"",
                "for members with approved_credit_card",
                "earn 5% back",
                "bonus 2x rewards, within 30 days of reaching the tier",
                "earn 10% back, at any partner, within 30 days",
                "earn 1% back, at any partner",
                "earn $25 reward for birthday",
                "funds 100%",
            ],
        ),
        (
            "north_face",
            &[
                "earn 8 points per $1 spent",
                "event_attended",
                "for 2,000 points earned",
                "earn $20 reward",
                "for 3,500 points earned",
                "earn $25 reward",
                "for 5,000 points earned",
                "earn $30 reward",
            ],
        ),
        (
            "starbucks",
            &[
                "points are called \"stars\"",
                "earn 2 stars per $1 spent, paid with registered_card or app",
                "earn 1 star per $1 spent",
                "challenge_completed",
                "costs 25 stars",
                "costs 100 stars",
                "costs 200 stars",
            ],
        ),
        (
            "kohls",
            &[
                "earn 1 point per $1 spent",
                "every 100 points become $5 reward, on the first day of each month",
                "\"Birthday gift\" for birthday",
                "bonus 3x points",
                "earn 15% off the next order for newsletter",
            ],
        ),
        ("subway", &["for every 5th visit", "reward \"Free drink\""]),
        (
            "amazon_prime",
            &[
                "costs $100 per year, with a free trial of 30 days",
                "Free fast shipping",
                "Streaming",
                "Same-day delivery",
            ],
        ),
        (
            "sephora",
            &[
                "tier \"Insider\"",
                "tier \"VIB\", for $350 spent in a calendar year",
                "tier \"Rouge\", for $1,000 spent in a calendar year",
            ],
        ),
    ];
    for (program, rules) in expectations {
        let source =
            std::fs::read_to_string(root().join("programs").join(format!("{program}.loy")))
                .unwrap();
        for rule in *rules {
            assert!(
                source.contains(rule),
                "programs/{program}.loy should say `{rule}`"
            );
        }
    }
}
