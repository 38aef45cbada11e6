//! The simulator: statistics against the model's own formulas, programs
//! that must cost nothing or twice as much, byte-identical outputs
//! whatever the threads or shards, scenario errors, and the report in a
//! real browser.

use std::path::{Path, PathBuf};
use std::process::Command;

use loyalty::report::metrics::{Metric, Name, Spread, find, metrics};
use loyalty::sim::{self, Field, Plan, RunTally, Scenario};

fn program(source: &str) -> loyalty::program::Program {
    match loyalty::load(source) {
        Ok(p) => p,
        Err(_) => panic!("test program does not load:\n{source}"),
    }
}

fn run(
    source: &str,
    scenario: &Scenario,
    customers: u32,
    months: usize,
    runs: u32,
) -> Vec<RunTally> {
    let plan = Plan {
        customers,
        months,
        runs,
        shard: (1, 1),
    };
    sim::simulate(&program(source), scenario, plan, &|_| {}).unwrap()
}

fn total(runs: &[RunTally], field: Field) -> i64 {
    runs.iter().map(|r| r.total(field)).sum()
}

/// A metric's mean and percentiles over the horizon.
fn over_horizon(metrics: &[Metric], name: Name) -> Spread {
    find(metrics, name)
        .unwrap_or_else(|| panic!("no metric {}", name.as_str()))
        .horizon
}

/// A field's total per customer per run.
fn per_customer(runs: &[RunTally], field: Field, customers: u32) -> f64 {
    total(runs, field) as f64 / f64::from(customers) / runs.len() as f64
}

/// A simulated figure within `tolerance` (relative) of what the test
/// worked out on its own.
fn assert_within(what: &str, simulated: f64, expected: f64, tolerance: f64) {
    assert!(
        (simulated / expected - 1.0).abs() < tolerance,
        "{what}: simulated {simulated:.3}, expected {expected:.3} (within {tolerance})"
    );
}

const ONE_POINT: &str = r#"program "One"
currency USD
points are called "points", worth $1 per 100 points
earn 1 point per $1 spent
"#;

const TWO_POINTS: &str = r#"program "Two"
currency USD
points are called "points", worth $1 per 100 points
earn 2 points per $1 spent
"#;

/// Added to the two, so that points cost something.
const REWARD: &str = "every 500 points become $5 reward\n";

/// BG/NBD's expected purchases in (0, t] for a new customer (Fader,
/// Hardie & Lee 2005, equation 9): the conditional expectation of a
/// customer seen for no time, which `calibrate` tests against mpmath.
fn bgnbd_expected(r: f64, alpha: f64, a: f64, b: f64, t: f64) -> f64 {
    let model = loyalty::calibrate::bgnbd::BgNbd { r, alpha, a, b };
    let new = loyalty::calibrate::bgnbd::Rfm { x: 0, t_x: 0, t: 0 };
    model.expected_purchases(new, t)
}

#[test]
fn the_baseline_buys_as_bgnbd_expects() {
    // The default segment is the CDNOW estimates, in weeks.
    let scenario = Scenario::default();
    let p = &scenario.segments[0].purchase;
    let customers = 20_000;
    let runs = run(ONE_POINT, &scenario, customers, 24, 4);
    let start = scenario.simulation.start.0;
    let weeks = (start.add_months(24).0 - start.0) as f64 / 86_400.0 / 7.0;
    let expected = bgnbd_expected(p.r.0, p.alpha.0, p.a.0, p.b.0, weeks);
    let simulated = per_customer(&runs, Field::BaselineOrders, customers);
    // 80,000 customers: the mean's standard error is about 0.5% of it.
    assert_within("purchases a customer (BG/NBD)", simulated, expected, 0.02);
}

#[test]
fn order_values_average_what_gamma_gamma_expects() {
    let mut scenario = Scenario::default();
    // Revenue is net of returns; this is the order values alone.
    scenario.segments[0].returns.0 = 0.0;
    let s = &scenario.segments[0].spend;
    let runs = run(ONE_POINT, &scenario, 20_000, 24, 2);
    let aov = total(&runs, Field::BaselineRevenue) as f64
        / 100.0
        / total(&runs, Field::BaselineOrders) as f64;
    // E[z] = p v / (q - 1) per customer; order-weighted, close to it.
    let expected = s.p.0 * s.v.0 / (s.q.0 - 1.0);
    assert!(
        (aov - expected).abs() / expected < 0.05,
        "average order {aov:.2}, Gamma-Gamma's mean {expected:.2}"
    );
}

#[test]
fn a_program_that_gives_nothing_costs_nothing() {
    let nothing = "program \"Nothing\"\ncurrency USD\n";
    let runs = run(nothing, &Scenario::default(), 3_000, 12, 3);
    for field in [
        Field::PointsIssued,
        Field::RewardMoneyIssued,
        Field::Discounts,
        Field::RewardsUsed,
        Field::PerksCost,
        Field::Fees,
        Field::CharityDonations,
        Field::PointsOutstanding,
    ] {
        assert_eq!(total(&runs, field), 0, "{field:?}");
    }
    assert!(total(&runs, Field::Members) > 0, "customers still join");
    // Issue 15 (C): and it changes nothing, under the default behaviour:
    // joining what gives nothing lifts no purchase.
    assert_buys_as_the_baseline(&runs);
    let program = program(nothing);
    let scenario = Scenario::default();
    let figures = metrics(&program, &scenario, 3_000, &runs);
    for name in [
        Name::IncrementalRevenue,
        Name::RewardCost,
        Name::NetProgramValue,
    ] {
        assert_eq!(over_horizon(&figures, name).mean, 0.0, "{name:?}");
    }
}

#[test]
fn doubling_the_earn_rate_doubles_the_points_issued() {
    let scenario = Scenario::default();
    let one = total(
        &run(ONE_POINT, &scenario, 5_000, 12, 3),
        Field::PointsIssued,
    );
    let two = total(
        &run(TWO_POINTS, &scenario, 5_000, 12, 3),
        Field::PointsIssued,
    );
    // Points are whole: 2 per $1 gives floor(2x) >= 2 floor(x) for an
    // order of $x, at most one more point per order.
    let ratio = two as f64 / one as f64;
    assert!(one > 10_000, "{one}");
    assert!((2.0..2.04).contains(&ratio), "{two} / {one} = {ratio}");
}

/// Issue 17: a budget all members share is priced as it binds live, in
/// event order. Without responses to the program, and with points that
/// are never spent (so that what one member is given changes nothing
/// they do), a run with the budget buys exactly as one without it: each
/// month gives what the unbudgeted run gave, up to the budget, give or
/// take what the customers of the hour it ran out in were given.
#[test]
fn a_monthly_budget_gives_what_was_asked_up_to_the_budget() {
    let mut scenario = Scenario::default();
    switch_responses_off(&mut scenario);
    let head = "program \"Budget\"\ncurrency USD\npoints are called \"points\"\n";
    let rule = "earn 1 point per $1 spent";
    let budget = 20_000;
    let free = format!("{head}{rule}\n");
    let budgeted = format!("{head}{rule}, up to 20,000 points per month in total\n");
    let asked = run(&free, &scenario, 20_000, 12, 2);
    let given = run(&budgeted, &scenario, 20_000, 12, 2);
    let (mut binding, mut run_out) = (0, 0);
    for (asked, given) in asked.iter().zip(&given) {
        for m in 0..12 {
            let demand = asked.get(m, Field::PointsIssued);
            let expected = demand.min(budget);
            let got = given.get(m, Field::PointsIssued);
            assert!(
                (got - expected).abs() <= budget / 100,
                "run {} month {m}: asked {demand}, given {got}, expected {expected}",
                asked.run
            );
            binding += i64::from(demand >= budget);
            run_out += given.get(m, Field::BudgetsRunOut);
        }
    }
    assert!((4..24).contains(&binding), "{binding} months bind");
    assert_eq!(run_out, binding);
    // The budgets close at the same moments whatever the threads.
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build();
    let alone = one_thread
        .unwrap()
        .install(|| run(&budgeted, &scenario, 20_000, 12, 2));
    assert_eq!(alone, given);
}

/// Without responses to the program, every customer a member, and no
/// returns or partner orders: each order earns once, at the shop.
fn every_order_a_members_own() -> Scenario {
    let mut scenario = Scenario::default();
    switch_responses_off(&mut scenario);
    let segment = &mut scenario.segments[0];
    segment.enroll.0 = 1.0;
    segment.returns.0 = 0.0;
    segment.partner_orders.0 = 0.0;
    scenario
}

/// Issue 17: with `items = 3` an order is a basket of 1 + Poisson(2)
/// items, each in `shoes` with chance p = 1/2; a bonus for a basket with
/// shoes in it then comes with the share of orders that have at least one
/// such item, 1 − E[(1 − p)^N] = 1 − (1 − p) e^(−2p). A product the
/// program names is in an item's product mix, so a bonus for it comes
/// with about its share of items.
#[test]
fn baskets_draw_their_items_from_the_scenarios_mixes() {
    let mut scenario = every_order_a_members_own();
    let segment = &mut scenario.segments[0];
    segment.items.0 = 3.0;
    segment
        .categories
        .insert("shoes".into(), sim::scenario::Probability(0.5));
    let head = "program \"Baskets\"\ncurrency USD\npoints are called \"points\"\n\
                categories shoes, socks\n";
    let bonus_per_order = |rule: &str, scenario: &Scenario| {
        let runs = run(&format!("{head}{rule}\n"), scenario, 5_000, 12, 2);
        total(&runs, Field::PointsIssued) as f64 / 100.0 / total(&runs, Field::Orders) as f64
    };
    let with = |p: f64| 1.0 - (1.0 - p) * (-2.0 * p).exp();
    assert_within(
        "orders with shoes",
        bonus_per_order("bonus 100 points, in category shoes", &scenario),
        with(0.5),
        0.02,
    );
    scenario.segments[0]
        .products
        .insert("SKU-1".into(), sim::scenario::Probability(0.2));
    assert_within(
        "orders with SKU-1",
        bonus_per_order("bonus 100 points, for product \"SKU-1\"", &scenario),
        with(0.2),
        0.03,
    );
}

/// Issue 17: orders come in the week as `[week]` weighs it. With
/// Saturday weighing 2 and the other days 1, a quarter of the orders are
/// on Saturdays (2/8); with 14:00 to 17:00 weighing 3 and the other
/// hours 1, 9/30 of them are then; and the two weights multiply, so
/// Saturday afternoons have 2·9 / (8·30).
#[test]
fn orders_come_in_the_week_as_the_scenario_weighs_it() {
    let mut scenario = every_order_a_members_own();
    scenario.week.days.0[5] = 2.0;
    scenario.week.hours.0[14..17].fill(3.0);
    let head = "program \"Week\"\ncurrency USD\npoints are called \"points\"\n";
    let bonus_per_order = |rule: &str, scenario: &Scenario| {
        let runs = run(&format!("{head}{rule}\n"), scenario, 5_000, 12, 2);
        total(&runs, Field::PointsIssued) as f64 / 100.0 / total(&runs, Field::Orders) as f64
    };
    assert_within(
        "orders on Saturdays",
        bonus_per_order("bonus 100 points, on saturdays", &scenario),
        2.0 / 8.0,
        0.03,
    );
    assert_within(
        "orders in the afternoon",
        bonus_per_order("bonus 100 points, between 14:00 and 17:00", &scenario),
        9.0 / 30.0,
        0.03,
    );
    assert_within(
        "orders on Saturday afternoons",
        bonus_per_order(
            "bonus 100 points, on saturdays, between 14:00 and 17:00",
            &scenario,
        ),
        2.0 * 9.0 / (8.0 * 30.0),
        0.05,
    );
    // Without weights, a seventh of orders are on Saturdays.
    scenario.week = Default::default();
    assert_within(
        "orders on Saturdays, unweighted",
        bonus_per_order("bonus 100 points, on saturdays", &scenario),
        1.0 / 7.0,
        0.03,
    );
}

/// Every response to the program set to 1, which switches it off.
fn switch_responses_off(scenario: &mut Scenario) {
    let b = &mut scenario.behavior;
    for m in [
        &mut b.member_lift,
        &mut b.paid_member_lift,
        &mut b.goal_gradient,
        &mut b.tier_pressure,
        &mut b.after_redemption,
        &mut b.demotion_spend,
        &mut b.expiry_lift,
    ] {
        m.0 = 1.0;
    }
}

#[test]
fn without_behaviour_effects_the_program_changes_no_purchase() {
    // Lifts switched off (1): the customers buy exactly as without the
    // program, on the same random numbers.
    let mut scenario = Scenario::default();
    switch_responses_off(&mut scenario);
    let runs = run(ONE_POINT, &scenario, 3_000, 12, 2);
    assert_buys_as_the_baseline(&runs);
    assert!(total(&runs, Field::PointsIssued) > 0);
}

/// The program's customers made exactly the baseline's orders and
/// revenue.
fn assert_buys_as_the_baseline(runs: &[RunTally]) {
    assert_eq!(
        total(runs, Field::Orders),
        total(runs, Field::BaselineOrders)
    );
    assert_eq!(
        total(runs, Field::Revenue),
        total(runs, Field::BaselineRevenue)
    );
}

#[test]
fn a_small_run_is_stable() {
    let source = std::fs::read_to_string("programs/kohls.loy").unwrap();
    let program = program(&source);
    let scenario = Scenario::default();
    let runs = run(&source, &scenario, 500, 12, 3);
    let summary: Vec<String> = metrics(&program, &scenario, 500, &runs)
        .iter()
        .map(|m| {
            format!(
                "{}: mean {:.2}, p5 {:.2}, p50 {:.2}, p95 {:.2}",
                m.name, m.horizon.mean, m.horizon.p5, m.horizon.p50, m.horizon.p95
            )
        })
        .collect();
    insta::assert_snapshot!(summary.join("\n"));
}

fn loyalty() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loyalty"))
}

/// Runs a command that must succeed; its stderr if it does not.
fn succeed(command: &mut Command) -> std::process::Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{:?}: {}",
        command.get_args().collect::<Vec<_>>(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loyalty-sim-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn simulate(program: &str, out: &Path, extra: &[&str], threads: &str) {
    succeed(
        loyalty()
            .args([
                "simulate",
                program,
                "--customers",
                "3000",
                "--runs",
                "6",
                "--months",
                "18",
            ])
            .arg("--out")
            .arg(out)
            .args(extra)
            .env("RAYON_NUM_THREADS", threads),
    );
}

fn same_files(a: &Path, b: &Path) {
    for file in ["summary.json", "monthly.csv", "runs.json"] {
        let x = std::fs::read(a.join(file)).unwrap();
        let y = std::fs::read(b.join(file)).unwrap();
        assert!(
            x == y,
            "{file} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}

#[test]
fn threads_and_shards_do_not_change_the_outputs() {
    let dir = temp_dir("shards");
    let program = "programs/cvs_extracare.loy";
    simulate(program, &dir.join("one"), &[], "1");
    simulate(program, &dir.join("two"), &[], "2");
    same_files(&dir.join("one"), &dir.join("two"));
    for k in 1..=3 {
        let shard = format!("{k}/3");
        simulate(
            program,
            &dir.join(format!("s{k}")),
            &["--shard", &shard],
            "2",
        );
    }
    succeed(
        loyalty()
            .arg("merge")
            .args((1..=3).map(|k| dir.join(format!("s{k}"))))
            .arg("--out")
            .arg(dir.join("merged")),
    );
    same_files(&dir.join("one"), &dir.join("merged"));
    // A missing shard is named.
    let partial = merge(&[dir.join("s1"), dir.join("s3")], &dir.join("partial"));
    assert_eq!(
        partial,
        (
            Some(2),
            "error: 4 of 6 runs found; missing runs 1, 4\n".to_string()
        )
    );
}

#[test]
fn every_program_writes_every_output() {
    let dir = temp_dir("all");
    for entry in std::fs::read_dir("programs").unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let out = dir.join(&name);
        succeed(
            loyalty()
                .arg("simulate")
                .arg(&path)
                .args([
                    "--customers",
                    "400",
                    "--runs",
                    "3",
                    "--months",
                    "13",
                    "--quiet",
                ])
                .arg("--out")
                .arg(&out),
        );
        // The points chart only for a program that issues points.
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        let has_points = summary["metrics"]["points_issued"]["mean"]
            .as_f64()
            .unwrap()
            > 0.0;
        assert_eq!(
            out.join("points.svg").exists(),
            has_points,
            "{name}: points chart"
        );
        // Issue 15 (F): the cost breakdown's lines add up to the net value.
        let mean = |metric: &str| summary["metrics"][metric]["mean"].as_f64().unwrap();
        let lines =
            mean("margin_on_incremental_revenue") + mean("fee_revenue") + mean("partner_funded")
                - mean("discounts")
                - mean("reward_money_spent")
                - mean("rewards_used_value")
                - mean("charity_donations")
                - mean("perks_cost");
        assert!(
            (lines - mean("net_program_value")).abs() < 0.01,
            "{name}: the breakdown adds up to {lines}, the net value is {}",
            mean("net_program_value")
        );
        let report = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(report.contains("<table id=\"breakdown\">"), "{name}");
        for file in [
            "summary.json",
            "monthly.csv",
            "runs.json",
            "report.html",
            "liability.svg",
            "liability.png",
            "tiers.svg",
            "tiers.png",
            "value.svg",
            "value.png",
            "retention.svg",
            "retention.png",
        ] {
            let bytes = std::fs::read(out.join(file)).unwrap_or_default();
            assert!(bytes.len() > 200, "{name}: {file} missing or empty");
        }
        let csv = std::fs::read_to_string(out.join("monthly.csv")).unwrap();
        assert!(csv.starts_with("month,metric,mean,p5,p50,p95\n"));
        assert!(csv.contains("\n13,net_program_value,"), "{name}");
    }
}

#[test]
fn compare_ranks_two_programs() {
    let dir = temp_dir("compare");
    std::fs::write(dir.join("one.loy"), format!("{ONE_POINT}{REWARD}")).unwrap();
    std::fs::write(dir.join("two.loy"), format!("{TWO_POINTS}{REWARD}")).unwrap();
    // Without the responses to points, twice the points only costs more.
    let scenario = dir.join("no_responses.toml");
    std::fs::write(
        &scenario,
        "[behavior]\ngoal_gradient = 1\nexpiry_lift = 1\n",
    )
    .unwrap();
    let output = succeed(
        loyalty()
            .arg("compare")
            .arg(dir.join("one.loy"))
            .arg(dir.join("two.loy"))
            .args([
                "--customers",
                "2000",
                "--runs",
                "5",
                "--months",
                "12",
                "--quiet",
            ])
            .arg("--scenario")
            .arg(&scenario)
            .arg("--out")
            .arg(dir.join("out")),
    );
    let text = String::from_utf8_lossy(&output.stdout);
    // Twice the points, the same customers: "One" costs less.
    assert!(
        text.starts_with("\"One\" is worth more than \"Two\""),
        "{text}"
    );
    let points = text
        .lines()
        .find(|l| l.starts_with("points_issued "))
        .unwrap();
    let numbers: Vec<f64> = points
        .split_whitespace()
        .skip(1)
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(numbers[1] > 1.99 * numbers[0], "{points}");
    assert!(dir.join("out/compare.html").exists());
    assert!(dir.join("out/a/report.html").exists());
    // The same comparison as JSON on stdout: the verdict and the rows.
    let output = succeed(
        loyalty()
            .arg("compare")
            .arg(dir.join("one.loy"))
            .arg(dir.join("two.loy"))
            .args(["--customers", "2000", "--runs", "5", "--months", "12"])
            .arg("--scenario")
            .arg(&scenario)
            .args(["--quiet", "--format", "json", "--out"])
            .arg(dir.join("out")),
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["verdict"].as_str(), text.lines().next());
    let issued = json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["metric"] == "points_issued")
        .unwrap();
    assert_eq!(
        issued["b_mean"].as_f64().unwrap(),
        numbers[1],
        "the JSON and the text give the same figures"
    );

    // compare.html reads like report.html: labels, formatted figures,
    // the breakdowns side by side, charts of the difference.
    let Some(dom) = render_offline(&dir.join("out/compare.html")) else {
        return;
    };
    let rows = table_rows(&dom, "compare");
    let points_row = rows.iter().find(|r| r[0] == "Points issued").unwrap();
    assert_eq!(points_row.len(), 6);
    assert!(
        points_row[1..]
            .iter()
            .all(|c| !c.contains('.') && c.contains(',')),
        "counts are whole and grouped: {points_row:?}"
    );
    assert!(!dom.contains("net_program_value"), "no raw metric names");
    let breakdown = table_rows(&dom, "breakdown");
    assert_eq!(breakdown[0], ["Mean of the runs, USD", "A", "B", "B − A"]);
    assert_eq!(breakdown.last().unwrap()[0], "Net program value");
    assert_eq!(dom.matches("<svg").count(), 3, "three charts of B − A");
    assert!(dom.contains("Net value so far, B − A"));
}

#[test]
fn a_bad_scenario_points_at_the_key() {
    let dir = temp_dir("scenario");
    let scenario = dir.join("bad.toml");
    std::fs::write(
        &scenario,
        "[simulation]\ncustomers = 1000\n\n[[segment]]\nname = \"all\"\nenrol = 0.3\n",
    )
    .unwrap();
    // Simulates with the scenario; the exit code and what it printed.
    let simulate = || {
        let output = loyalty()
            .args(["simulate", "programs/kohls.loy", "--scenario"])
            .arg(&scenario)
            .arg("--out")
            .arg(dir.join("out"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr)
            .replace(&*scenario.to_string_lossy(), "bad.toml");
        (output.status.code(), stderr)
    };
    let (code, stderr) = simulate();
    assert_eq!(code, Some(1));
    insta::assert_snapshot!(stderr);
    std::fs::write(&scenario, "[behavior]\ntrial_conversion = 1.7\n").unwrap();
    let (code, stderr) = simulate();
    assert_eq!(code, Some(1));
    insta::assert_snapshot!("out_of_range", stderr);
    // Issue 14: sizes and rates that would need unbounded memory or time
    // are refused with the limit named, before anything runs.
    std::fs::write(&scenario, "[simulation]\nruns = 4294967295\n").unwrap();
    let (code, stderr) = simulate();
    assert_eq!(code, Some(1));
    insta::assert_snapshot!("too_many_runs", stderr);
    std::fs::write(
        &scenario,
        "[[segment]]\npurchase = { r = 1e300, alpha = 1, a = 1, b = 1, unit = \"week\" }\n",
    )
    .unwrap();
    let (code, stderr) = simulate();
    assert_eq!(code, Some(1));
    insta::assert_snapshot!("purchase_rate_out_of_range", stderr);
    let output = loyalty()
        .args(["simulate", "programs/kohls.loy", "--customers", "10000001"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: customers = 10000001 is more than this tool simulates (10000000 at most)\n"
    );
}

/// The report opened in a real headless browser: every chart and the
/// headline table are in the page it renders, and the page asks for
/// nothing over the network. CI installs Debian's `chromium`.
/// The page's DOM as headless Chromium renders it, after checking that
/// it refers to nothing outside and makes no request; `None` when
/// Chromium is not installed (outside CI).
fn render_offline(page: &Path) -> Option<String> {
    let Some(browser) = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium must be installed in CI (.ci/run installs it)"
        );
        eprintln!("chromium not installed: the browser check is skipped outside CI");
        return None;
    };
    let html = std::fs::read_to_string(page).unwrap();
    // The SVG namespace is a name, not an address that is fetched; the
    // comparison links to the two reports beside it.
    let html = html
        .replace("xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace("href=\"a/report.html\"", "")
        .replace("href=\"b/report.html\"", "");
    for needle in [
        "http:", "https:", "src=", "href=", "<link", "@import", "url(",
    ] {
        assert!(
            !html.contains(needle),
            "{} refers out: {needle}",
            page.display()
        );
    }
    // The browser's proxy is a listener of ours that writes down every
    // request. Chromium asks Google's hosts for the time and for its own
    // services whatever the page; anything else would be the page's.
    let proxy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = proxy.local_addr().unwrap();
    let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = requests.clone();
    std::thread::spawn(move || {
        for stream in proxy.incoming() {
            let Ok(mut stream) = stream else { break };
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut buffer = [0u8; 512];
            let n = std::io::Read::read(&mut stream, &mut buffer).unwrap_or(0);
            let text = String::from_utf8_lossy(&buffer[..n]);
            // A connection that asks nothing (closed, or idle under load)
            // is not a request.
            if let Some(line) = text.lines().next().filter(|l| !l.is_empty()) {
                seen.lock().unwrap().push(line.to_string());
            }
        }
    });
    let output = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--dump-dom",
        ])
        .arg(format!("--proxy-server=http://{address}"))
        .arg("--proxy-bypass-list=<-loopback>")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let chromium_own = |line: &str| {
        line.split_whitespace().nth(1).is_some_and(|target| {
            let host = target
                .trim_start_matches("http://")
                .split(['/', ':'])
                .next()
                .unwrap_or_default();
            host.ends_with(".google.com")
                || host.ends_with(".googleapis.com")
                || host.ends_with(".gvt1.com")
                || host.ends_with(".gstatic.com")
        })
    };
    let requests = requests.lock().unwrap().clone();
    let page_requests: Vec<&String> = requests.iter().filter(|l| !chromium_own(l)).collect();
    assert!(
        page_requests.is_empty(),
        "{} made network requests: {page_requests:?}",
        page.display()
    );
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The rows of the table with this id in a DOM, each as its cells' text.
fn table_rows(dom: &str, id: &str) -> Vec<Vec<String>> {
    let Some(at) = dom.find(&format!("id=\"{id}\"")) else {
        panic!("no table {id} in the page");
    };
    let table = &dom[at..at + dom[at..].find("</table>").unwrap()];
    table.split("<tr").skip(1).map(cells).collect()
}

/// The text of each `<th>` and `<td>` of a row, in order.
fn cells(row: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut rest = row;
    while let Some(open) = rest.find(['<']) {
        let tag = &rest[open..];
        if tag.starts_with("<th") || tag.starts_with("<td") {
            let body = &tag[tag.find('>').unwrap() + 1..];
            let end = body.find("</t").unwrap();
            cells.push(body[..end].to_string());
            rest = &body[end..];
            rest = &rest[rest.find('>').unwrap() + 1..];
        } else {
            rest = &tag[1..];
        }
    }
    cells
}

#[test]
fn the_report_renders_in_a_browser_without_the_network() {
    let dir = temp_dir("browser");
    simulate("programs/dicks_scorecard.loy", &dir, &["--quiet"], "2");
    let Some(dom) = render_offline(&dir.join("report.html")) else {
        return;
    };
    assert!(
        dom.contains("id=\"headline\""),
        "no headline table in the DOM"
    );
    assert!(dom.contains("ScoreCard"));
    // The waterfall, points, liability, tiers, value each month, value
    // so far and customers active.
    assert_eq!(dom.matches("<svg").count(), 7, "seven charts");
    assert!(dom.contains("Where the net value comes from, over the horizon"));
    assert!(dom.contains("Net program value so far"));
    assert!(dom.contains("id=\"break-even\""));
    // The breakdown's lines add up to the net value, as shown (to the
    // cent, give or take the rounding of each line).
    let rows = table_rows(&dom, "breakdown");
    let amount = |text: &str| -> f64 { text.replace(',', "").replace('−', "-").parse().unwrap() };
    let lines: f64 = rows[1..rows.len() - 1].iter().map(|r| amount(&r[1])).sum();
    let net = amount(&rows.last().unwrap()[1]);
    assert!(
        (lines - net).abs() <= 0.01 * rows.len() as f64,
        "{lines} against {net}"
    );
}

#[test]
fn the_readme_scenario_parses() {
    let readme = std::fs::read_to_string("README.md").unwrap();
    let blocks: Vec<&str> = readme
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        // `serve`'s webhooks file is TOML too, and not a scenario.
        .filter(|block| !block.contains("[[webhook]]"))
        .collect();
    // The scenario reference's example, then calibrate's output.
    assert_eq!(blocks.len(), 2);
    let parsed: Vec<Scenario> = blocks
        .iter()
        .map(|block| Scenario::parse(block).unwrap_or_else(|d| panic!("{d}:\n{block}")))
        .collect();
    assert_eq!(parsed[0].segments.len(), 2);
    assert_eq!(parsed[0].behavior.goal_gradient.factor(), 1.0);
    assert_eq!(parsed[1].segments[0].purchase.r.0, 0.242595);
}

/// `merge` of the named folders into `out`: the exit code and stderr.
fn merge(dirs: &[PathBuf], out: &Path) -> (Option<i32>, String) {
    let output = loyalty()
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Issue 14: `merge` checks every shard against its checksum, its
/// program's hash and the simulation's shape, and refuses with a clear
/// message instead of panicking or merging what does not belong.
#[test]
fn merge_refuses_shards_that_were_edited_or_do_not_fit() {
    use loyalty::report::RunsFile;
    let dir = temp_dir("merge-checks");
    let program = "programs/subway.loy";
    let shards: Vec<PathBuf> = (1..=2).map(|k| dir.join(format!("s{k}"))).collect();
    for (k, shard) in shards.iter().enumerate() {
        simulate(program, shard, &["--shard", &format!("{}/2", k + 1)], "2");
    }
    let runs_json = shards[1].join("runs.json");
    let original = std::fs::read_to_string(&runs_json).unwrap();
    let read = |text: &str| serde_json::from_str::<RunsFile>(text).unwrap();
    let write = |file: &RunsFile| {
        std::fs::write(&runs_json, serde_json::to_string(file).unwrap()).unwrap();
    };
    let shown = runs_json.display().to_string();
    let refused = |expected: String| {
        let (code, stderr) = merge(&shards, &dir.join("out"));
        assert_eq!(code, Some(2));
        assert_eq!(stderr, format!("error: {expected}\n"));
        assert!(!dir.join("out").exists());
    };

    // A count edited by hand.
    let mut edited = read(&original);
    edited.runs[0].values[3] += 1;
    write(&edited);
    refused(format!(
        "{shown} was changed after the simulation wrote it (its checksum does not match); \
         simulate that shard again"
    ));

    // Files made whole again around a wrong shape, a run out of range,
    // another program text under the same hash: each named.
    let sealed =
        |file: RunsFile| RunsFile::new(file.inputs, file.shard, file.program_source, file.runs);
    let mut short = read(&original);
    short.runs[0].values.pop();
    write(&sealed(short));
    let values = 18 * loyalty::sim::FIELDS;
    refused(format!(
        "{shown}: run 1 has {} values where the simulation's 18 months and 0 tiers make {values}",
        values - 1
    ));
    let mut stray = read(&original);
    stray.runs[0].run = 7;
    write(&sealed(stray));
    refused(format!("{shown}: run 7 is not one of shard 2/2's 6 runs"));
    let mut other = read(&original);
    other.program_source = other.program_source.replace("5th visit", "4th visit");
    write(&sealed(other));
    refused(format!(
        "{shown}: the program's text does not match its hash: simulate that shard again"
    ));

    // The same shard twice.
    std::fs::write(&runs_json, &original).unwrap();
    let (code, stderr) = merge(&[shards[0].clone(), shards[0].clone()], &dir.join("out"));
    assert_eq!(code, Some(2));
    assert_eq!(
        stderr,
        "error: run 0 is in two of the folders (the same shard given twice?)\n"
    );
    let (code, stderr) = merge(&shards, &dir.join("out"));
    assert_eq!(code, Some(0), "{stderr}");
}

/// Issue 14: outputs are written beside `--out` and put in its place
/// whole: a link inside the old folder is never followed, and what was
/// there before is replaced at once.
#[test]
fn outputs_replace_the_folder_whole_and_never_follow_a_link_in_it() {
    let dir = temp_dir("outputs");
    let out = dir.join("out");
    simulate("programs/subway.loy", &out, &[], "2");
    let outside = dir.join("precious.txt");
    std::fs::write(&outside, "keep me").unwrap();
    std::fs::remove_file(out.join("summary.json")).unwrap();
    std::os::unix::fs::symlink(&outside, out.join("summary.json")).unwrap();
    std::fs::write(out.join("stale.txt"), "from before").unwrap();
    simulate("programs/subway.loy", &out, &[], "2");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
    assert!(
        !std::fs::symlink_metadata(out.join("summary.json"))
            .unwrap()
            .is_symlink()
    );
    assert!(!out.join("stale.txt").exists());
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["out", "precious.txt"]);
}

/// Issue 14: a disk that fills up half-way leaves the previous outputs
/// as they were, and says so (where the machine lets a test mount a
/// small disk).
#[test]
fn a_full_disk_leaves_the_previous_outputs() {
    let dir = temp_dir("full-disk");
    let disk = dir.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "none"])
        .arg(&disk)
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: this machine does not let the test mount a disk");
        return;
    }
    let out = disk.join("out");
    // A small first result fits; a bigger one (more months, its charts
    // and runs) does not.
    let simulate = |runs: &str, months: &str| {
        loyalty()
            .args(["simulate", "programs/subway.loy", "--customers", "100"])
            .args(["--runs", runs, "--months", months])
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let first = simulate("1", "1");
    let summary = std::fs::read(out.join("summary.json"));
    let second = simulate("200", "120");
    let after = std::fs::read(out.join("summary.json"));
    let partial: Vec<_> = std::fs::read_dir(&disk)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let _ = Command::new("umount").arg(&disk).status();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(second.status.code(), Some(2));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("No space left on device"), "{said}");
    assert!(
        said.ends_with(&format!(
            "; the previous outputs in {} are as they were\n",
            out.display()
        )),
        "{said}"
    );
    assert_eq!(summary.unwrap(), after.unwrap());
    assert_eq!(partial, ["out"]);
}

/// Issue 15 (G): the headline goes to stdout (progress, when shown, to
/// stderr); `--format json` prints the summary itself; `--out` refuses a
/// folder that holds files no simulation wrote, unless `--force`.
#[test]
fn the_result_goes_to_stdout_and_a_foreign_folder_is_kept() {
    let dir = temp_dir("stdout");
    let out = dir.join("out");
    // Subway on a few customers into `out`, with more options.
    let simulate_into = |out: &Path, extra: &[&str]| {
        loyalty()
            .args([
                "simulate",
                "programs/subway.loy",
                "--customers",
                "300",
                "--runs",
                "2",
            ])
            .arg("--out")
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };
    let simulate = |extra: &[&str]| simulate_into(&out, extra);
    let human = simulate(&[]);
    assert!(human.status.success());
    assert_eq!(String::from_utf8_lossy(&human.stderr), "");
    let stdout = String::from_utf8(human.stdout).unwrap();
    assert!(stdout.starts_with("net_program_value"), "{stdout}");
    assert!(stdout.ends_with(&format!("written to {}\n", out.display())));

    let json = simulate(&["--format", "json"]);
    assert!(json.status.success());
    assert_eq!(
        String::from_utf8(json.stdout).unwrap(),
        std::fs::read_to_string(out.join("summary.json")).unwrap()
    );

    let foreign = dir.join("mine");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), "my notes").unwrap();
    let refused = simulate_into(&foreign, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr),
        format!(
            "error: {} holds `notes.txt`, which no simulation wrote: give an empty or new \
             folder, or `--force` to replace the folder with the outputs\n",
            foreign.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
        "my notes"
    );
    let forced = simulate_into(&foreign, &["--force"]);
    assert!(forced.status.success());
    assert!(foreign.join("summary.json").exists() && !foreign.join("notes.txt").exists());
}

/// Issue 15 (B): `after_redemption` lifts the purchase rate for one
/// month after a redemption, as the README says. Every member redeems at
/// every order (a reward of 1 point, 100,000 points for joining), buys
/// at a near-fixed rate and never drops out, so the expected orders
/// follow from the documented rule alone: rate λ, and 2λ from each order
/// to the same day of the next month. A small Monte Carlo written here
/// computes that expectation; the simulator must agree within 1.5%.
#[test]
fn after_redemption_lifts_the_rate_for_one_month() {
    const PROGRAM: &str = r#"program "Redeem"
currency USD
points are called "points", worth $1 per 100 points
earn 100,000 points for joining
reward "Token", costs 1 point, worth $0.01
"#;
    let per_day = 1.0 / 90.0;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.segments[0].redeem.0 = 1.0;
    scenario.behavior.after_redemption.0 = 2.0;
    let (customers, months, runs) = (5_000, 36, 4);
    let tallies = run(PROGRAM, &scenario, customers, months, runs);
    let simulated = per_customer(&tallies, Field::Orders, customers);

    // The documented rule, on its own random numbers: days from
    // 2027-01-01 over 36 calendar months (1,096 days).
    let horizon = 1_096.0;
    let month_later = |day: f64| -> f64 {
        // The same day of the next month, from a day count.
        let whole = day.floor() as i64;
        let (mut year, mut month, mut date) = (2027, 1, 1 + whole);
        let days_in = |y: i64, m: i64| match m {
            2 if y % 4 == 0 => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        while date > days_in(year, month) {
            date -= days_in(year, month);
            month += 1;
            if month > 12 {
                month = 1;
                year += 1;
            }
        }
        let length = days_in(year, month);
        let next_length = days_in(year + (month / 12), month % 12 + 1);
        // A day past the next month's last day falls on its last day.
        day + length as f64 - (date - date.min(next_length)) as f64
    };
    let mut uniform = uniforms(0x9e37_79b9_7f4a_7c15);
    let paths = 200_000;
    let mut orders = 0u64;
    for _ in 0..paths {
        let mut day = -(1.0 - uniform()).ln() / per_day;
        while day < horizon {
            orders += 1;
            let lifted_until = month_later(day);
            let mut wait = -(1.0 - uniform()).ln();
            // At 2λ until the lift ends, then at λ.
            let lifted = (lifted_until - day) * 2.0 * per_day;
            day = if wait < lifted {
                day + wait / (2.0 * per_day)
            } else {
                wait -= lifted;
                lifted_until + wait / per_day
            };
        }
    }
    let expected = orders as f64 / f64::from(paths);
    assert_within(
        "orders a customer (the documented rule)",
        simulated,
        expected,
        0.015,
    );
}

/// Uniform numbers in [0, 1) from SplitMix64, for the Monte Carlo
/// checks written in the tests (apart from the simulator's generator).
fn uniforms(seed: u64) -> impl FnMut() -> f64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The mean orders over 365 days of 200,000 customers who buy at
/// `per_day` until their first order and at `per_day × lift(visits)`
/// after each: a Monte Carlo of a documented rule, apart from the
/// simulator's code.
/// The program's customers (5,000 over 12 months, 4 runs) make the orders
/// a Monte Carlo of the documented rule gives, within 1.5%.
fn assert_orders_follow(
    source: &str,
    scenario: &Scenario,
    (seed, per_day): (u64, f64),
    lift: impl Fn(u32) -> f64,
) {
    let tallies = run(source, scenario, 5_000, 12, 4);
    let simulated = per_customer(&tallies, Field::Orders, 5_000);
    let expected = orders_by_rule(seed, per_day, lift);
    assert_within(
        "orders a customer (the documented rule)",
        simulated,
        expected,
        0.015,
    );
}

fn orders_by_rule(seed: u64, per_day: f64, lift: impl Fn(u32) -> f64) -> f64 {
    let mut uniform = uniforms(seed);
    let mut exponential = || -(1.0 - uniform()).ln();
    let (paths, horizon) = (200_000u32, 365.0);
    let mut orders = 0u64;
    for _ in 0..paths {
        let mut day = exponential() / per_day;
        let mut visits = 0u32;
        while day < horizon {
            orders += 1;
            visits += 1;
            day += exponential() / (per_day * lift(visits));
        }
    }
    orders as f64 / f64::from(paths)
}

/// A scenario where every customer joins, takes every plan and keeps
/// it, buys at a near-fixed `per_day` and never drops out, with every
/// lift switched off: tests set the one they measure.
fn fixed_rate_scenario(per_day: f64) -> Scenario {
    let mut scenario = Scenario::default();
    scenario.simulation.start = sim::scenario::Date(loyalty::time::Time::from_date(2027, 1, 1));
    let segment = &mut scenario.segments[0];
    segment.enroll.0 = 1.0;
    segment.subscribe.0 = 1.0;
    segment.partner_orders.0 = 0.0;
    // λ ~ Gamma(10^4, ...) is λ to within 1%; p ~ Beta(1, 10^9) is 0.
    segment.purchase.r.0 = 10_000.0;
    segment.purchase.alpha.0 = 10_000.0 / per_day;
    segment.purchase.unit = sim::scenario::TimeUnit::Day;
    segment.purchase.a.0 = 1.0;
    segment.purchase.b.0 = 1e9;
    switch_responses_off(&mut scenario);
    let b = &mut scenario.behavior;
    for p in [
        &mut b.renewal_first_year,
        &mut b.renewal_later,
        &mut b.trial_conversion,
    ] {
        p.0 = 1.0;
    }
    scenario
}

/// With everyone buying at a fixed rate λ and a lift L holding from
/// their first order on (joining there), the expected orders over T days
/// are P(first < T) + L·λ·E[(T − first)+] = (1 − e^{−λT}) + L(λT − (1 − e^{−λT})).
fn assert_lifted_from_the_first_order(
    tallies: &[RunTally],
    customers: u32,
    (per_day, days): (f64, f64),
    lift: f64,
) {
    let simulated = per_customer(tallies, Field::Orders, customers);
    let lambda_t = days * per_day;
    let first = 1.0 - f64::exp(-lambda_t);
    let expected = first + lift * (lambda_t - first);
    assert_within(
        "orders a customer (the closed form)",
        simulated,
        expected,
        0.01,
    );
}

/// Issue 15 (B): a paid member buys at `paid_member_lift` times the
/// rate of a non-member, as the README says, not at that times the
/// member lift too. Everyone joins and subscribes at the first order, so
/// with rate λ before it and L·λ after, the expected orders over T days
/// are P(first < T) + L·λ·E[(T − first)+] = (1 − e^{−λT}) + L(λT − (1 − e^{−λT})).
#[test]
fn the_paid_lift_is_against_non_members() {
    // One point a dollar, and:
    let source = [
        ONE_POINT,
        r#"membership "Plus", costs $5 per month {
  discount 5%
}
"#,
    ]
    .concat();
    let per_day = 1.0 / 30.0;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.behavior.member_lift.0 = 1.5;
    scenario.behavior.paid_member_lift.0 = 2.0;
    let tallies = run(&source, &scenario, 5_000, 36, 4);
    assert_lifted_from_the_first_order(&tallies, 5_000, (per_day, 1_096.0), 2.0);
}

/// Issue 15 (B): a member buys at `member_lift` times the rate of a
/// non-member while the program gives them something (here, points):
/// with everyone joining at the first order, the same closed form as
/// for the paid lift.
#[test]
fn the_member_lift_is_as_documented() {
    let per_day = 1.0 / 20.0;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.behavior.member_lift.0 = 1.3;
    let tallies = run(ONE_POINT, &scenario, 5_000, 36, 2);
    assert_lifted_from_the_first_order(&tallies, 5_000, (per_day, 1_096.0), 1.3);
}

/// Issue 15 (D): buying more does not shorten a life. A customer drops
/// out when their no-program twin does, so with `member_retention` at 1
/// the customers active with the program are those without it, month by
/// month, whatever the lifts; at 0, a member never drops out.
#[test]
fn customers_drop_out_on_their_twins_clock() {
    let mut scenario = Scenario::default();
    scenario.segments[0].enroll.0 = 1.0;
    let b = &mut scenario.behavior;
    b.member_lift.0 = 3.0;
    b.goal_gradient.0 = 2.0;
    let tallies = run(ONE_POINT, &scenario, 3_000, 24, 3);
    for tally in &tallies {
        for m in 0..tally.months {
            assert_eq!(
                tally.get(m, Field::Alive),
                tally.get(m, Field::BaselineAlive),
                "run {} month {m}",
                tally.run
            );
        }
    }
    assert!(total(&tallies, Field::Orders) > total(&tallies, Field::BaselineOrders));

    scenario.behavior.member_retention.0 = 0.0;
    let tallies = run(ONE_POINT, &scenario, 3_000, 24, 3);
    for tally in &tallies {
        // Everyone joins at their first order and then stays; those who
        // have not bought yet are alive too.
        assert_eq!(tally.get(23, Field::Alive), 3_000);
        assert!(tally.get(23, Field::BaselineAlive) < 2_700);
    }
}

/// Issue 15 (B): a demotion from any step lowers order value for the
/// year that follows it. Silver is held by anyone who spent in the
/// calendar year, so each 1 January demotes every member who bought the
/// year before, found by the year's review whether or not a purchase
/// reveals it. At a fixed rate λ a day, with no other response, an order
/// in a later year is by such a member with the chance of having bought
/// in the year before, 1 − e^{−365λ}: revenue against the baseline's in
/// years 2 and 3 is 1 − (1 − demotion_spend)(1 − e^{−365λ}).
#[test]
fn a_demotion_lowers_order_value_for_the_year_after_it() {
    // One point a dollar, and:
    let source = [
        ONE_POINT,
        r#"tier "Member"
tier "Silver", for $0.01 spent in a calendar year {
  earn 2 points per $1 spent
}
"#,
    ]
    .concat();
    let per_day = 1.0 / 200.0;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.behavior.demotion_spend.0 = 0.5;
    let tallies = run(&source, &scenario, 5_000, 36, 4);
    let later = |field: Field| -> f64 {
        tallies
            .iter()
            .flat_map(|t| (12..36).map(move |m| t.get(m, field)))
            .sum::<i64>() as f64
    };
    let ratio = later(Field::Revenue) / later(Field::BaselineRevenue);
    let expected = 1.0 - 0.5 * (1.0 - f64::exp(-365.0 * per_day));
    assert_within(
        "revenue in years 2 and 3 against the baseline's",
        ratio,
        expected,
        0.025,
    );
}

/// Issue 15 (A): a reward a member holds is used at a later order and
/// costs its value then. With a free drink at every 5th visit, used at
/// the next order (`use_rewards` 1), a customer with N orders gets
/// ⌊N/5⌋ drinks and uses ⌊(N−1)/5⌋; N is Poisson(λT) when nothing lifts
/// the rate, so both expectations are sums over its distribution.
#[test]
fn held_rewards_are_used_at_later_orders_and_cost_their_value() {
    const PROGRAM: &str = r#"program "Drinks"
currency USD
earn reward "Drink" for every 5th visit
reward "Drink", worth $2
"#;
    let per_day = 0.1;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.segments[0].use_rewards.0 = 1.0;
    // A returned visit takes its punch (and a drink it completed) back:
    // the closed form below counts every visit.
    scenario.segments[0].returns.0 = 0.0;
    let (customers, runs) = (5_000, 2);
    let tallies = run(PROGRAM, &scenario, customers, 12, runs);
    let per_customer = |field: Field| per_customer(&tallies, field, customers);

    // Poisson(λT) over the 365 days of 2027.
    let mean = 365.0 * per_day;
    let (mut issued, mut used, mut probability) = (0.0, 0.0, f64::exp(-mean));
    for n in 0..200u32 {
        if n > 0 {
            probability *= mean / f64::from(n);
        }
        issued += probability * f64::from(n / 5);
        used += probability * f64::from(n.saturating_sub(1) / 5);
    }
    assert_within(
        "drinks issued",
        per_customer(Field::RewardsIssued),
        issued,
        0.015,
    );
    assert_within(
        "drinks used",
        per_customer(Field::RewardsUsedCount),
        used,
        0.015,
    );
    assert_within(
        "value used, in cents",
        per_customer(Field::RewardsUsed),
        200.0 * used,
        0.015,
    );
    // The drinks not yet used at the end are owed: in the liability.
    let held = tallies
        .iter()
        .map(|t| t.get(11, Field::RewardsHeldValue))
        .sum::<i64>() as f64
        / f64::from(customers * runs);
    // A Bernoulli(about 0.2) per customer: its standard error over these
    // 10,000 customers is about 2%.
    let expected = 200.0 * (issued - used);
    assert_within(
        "value held at the end, cents a customer",
        held,
        expected,
        0.06,
    );
    assert_eq!(
        total(&tallies, Field::RewardsIssuedValue),
        200 * total(&tallies, Field::RewardsIssued)
    );
    let program = program(PROGRAM);
    let figures = metrics(&program, &scenario, customers, &tallies);
    let metric = |name: Name| over_horizon(&figures, name).mean;
    assert!(metric(Name::RewardCost) > 0.0);
    assert_eq!(metric(Name::RewardCost), metric(Name::RewardsUsedValue));
    assert!(metric(Name::LiabilityRewardsHeld) > 0.0);
    assert_eq!(metric(Name::Liability), metric(Name::LiabilityRewardsHeld));
}

/// Issue 15 (A): a perk that costs per use is used with an order at the
/// segment's `use_perks` rate, and costs each use. Everyone joins and
/// subscribes at the first order, so every order is a member's with the
/// perk: the expected cost is the cost of a use × the rate × the orders.
#[test]
fn per_use_perks_are_used_and_cost_each_use() {
    const PROGRAM: &str = r#"program "Delivery"
currency USD
membership "Pass", costs $5 per month {
  perk "Same-day delivery", costs $8 per use
}
"#;
    let mut scenario = fixed_rate_scenario(0.1);
    scenario.segments[0].use_perks.0 = 0.25;
    let tallies = run(PROGRAM, &scenario, 5_000, 12, 2);
    let orders = total(&tallies, Field::Orders) as f64;
    let cost = total(&tallies, Field::PerksCost) as f64;
    let expected = 800.0 * 0.25 * orders;
    // A use is a Bernoulli(0.25) draw per order: its relative error over
    // these orders is about 0.5%.
    assert_within("perks cost, cents", cost, expected, 0.02);
}

/// Issue 15 (F): the break-even month is the month from which the net
/// value so far stays at or above zero; a program that costs every month
/// and brings nothing never breaks even (months + 1), one that gives
/// nothing is even from the first month.
#[test]
fn the_break_even_month_and_value_per_member() {
    let mut scenario = Scenario::default();
    switch_responses_off(&mut scenario);
    let costly = "program \"Costly\"\ncurrency USD\nperk \"Lounge\", costs $3 per month\n";
    let runs = run(costly, &scenario, 2_000, 12, 3);
    let figures = metrics(&program(costly), &scenario, 2_000, &runs);
    let horizon = |name: Name| over_horizon(&figures, name);
    assert_eq!(horizon(Name::BreakEvenMonth).p5, 13.0);
    // Every month's cost, over the members at the end, is the cost per
    // member; with nothing gained, the return on cost is −1.
    let cost = horizon(Name::PerksCost).mean;
    assert!((horizon(Name::ReturnOnCost).mean + 1.0).abs() < 1e-9);
    assert!(horizon(Name::CostPerMember).mean > 0.0);
    let members = horizon(Name::Members).mean;
    assert!((horizon(Name::CostPerMember).mean * members / cost - 1.0).abs() < 0.05);

    let nothing = "program \"Nothing\"\ncurrency USD\n";
    let runs = run(nothing, &scenario, 2_000, 12, 3);
    let figures = metrics(&program(nothing), &scenario, 2_000, &runs);
    assert_eq!(over_horizon(&figures, Name::BreakEvenMonth).p95, 1.0);
}

/// Issue 15 (B): `goal_gradient` lifts the rate in proportion to the
/// progress towards the next reward: 1 + (g − 1) × progress. With a
/// reward at every 2nd visit, a member is halfway after each odd visit
/// (rate λ(1 + (g − 1)/2)) and back at the start after each even one
/// (rate λ). A Monte Carlo of that rule, written here, gives the
/// expected orders.
#[test]
fn the_goal_gradient_lifts_as_documented() {
    const PROGRAM: &str = r#"program "Pairs"
currency USD
earn reward "Treat" for every 2nd visit
reward "Treat", worth $1
"#;
    let per_day = 1.0 / 20.0;
    let gradient = 3.0;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.behavior.goal_gradient.0 = gradient;
    assert_orders_follow(PROGRAM, &scenario, (7, per_day), |visits| {
        let progress = if visits % 2 == 1 { 0.5 } else { 0.0 };
        1.0 + (gradient - 1.0) * progress
    });
}

/// Issue 15 (B): `tier_pressure` lifts the rate in proportion to the
/// progress towards the next tier: 1 + (t − 1) × progress. Gold comes at
/// the 4th visit in total, so after visit k < 4 the rate is
/// λ(1 + (t − 1)k/4), and λ once Gold (no tier above). A Monte Carlo of
/// that rule, written here, gives the expected orders.
#[test]
fn the_tier_pressure_lifts_as_documented() {
    // One point a dollar, and:
    let source = [
        ONE_POINT,
        r#"tier "Member"
tier "Gold", for 4 visits in total {
  earn 2 points per $1 spent
}
"#,
    ]
    .concat();
    let per_day = 1.0 / 60.0;
    let pressure = 3.0;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.behavior.tier_pressure.0 = pressure;
    assert_orders_follow(&source, &scenario, (11, per_day), |visits| {
        let progress = if visits < 4 {
            f64::from(visits) / 4.0
        } else {
            0.0
        };
        1.0 + (pressure - 1.0) * progress
    });
}

/// Issue 15 (E): new customers arrive evenly over each month and make
/// their first purchase on arrival; then they buy as BG/NBD says. A
/// customer arriving on day a of a T-day horizon makes 1 + E[X(T − a)]
/// orders (Fader, Hardie & Lee 2005, equation 9), averaged here over the
/// arrival days of each month by the midpoint rule.
#[test]
fn new_customers_arrive_and_buy_as_bgnbd_expects() {
    let mut scenario = Scenario::default();
    scenario.arrivals.per_month = sim::scenario::Whole(500);
    scenario.segments[0].returns.0 = 0.0;
    let (months, runs) = (12, 4);
    let tallies = run(ONE_POINT, &scenario, 0, months, runs);
    for tally in &tallies {
        for m in 0..months {
            assert_eq!(tally.get(m, Field::Arrived), 500, "month {m}");
        }
        assert!(tally.get(0, Field::BaselineOrders) >= 500);
    }
    let p = &scenario.segments[0].purchase;
    let start = scenario.simulation.start.0;
    let day = |m: i64| (start.add_months(m).0 - start.0) as f64 / 86_400.0;
    let horizon = day(months as i64);
    let mut expected = 0.0;
    for m in 0..months as i64 {
        let (from, to) = (day(m), day(m + 1));
        let steps = 200;
        for k in 0..steps {
            let arrives = from + (k as f64 + 0.5) / steps as f64 * (to - from);
            let weeks = (horizon - arrives) / 7.0;
            expected += 500.0 / steps as f64
                * (1.0 + bgnbd_expected(p.r.0, p.alpha.0, p.a.0, p.b.0, weeks));
        }
    }
    let simulated = total(&tallies, Field::BaselineOrders) as f64 / f64::from(runs);
    assert_within("orders a run (BG/NBD)", simulated, expected, 0.03);
    // CRR = (E − N) / S is 0 with no one at the start (nothing to divide).
    let program = program(ONE_POINT);
    let summary = metrics(&program, &scenario, 0, &tallies);
    let mean = |name: Name| over_horizon(&summary, name).mean;
    assert_eq!(mean(Name::NewCustomers), 6_000.0);
    assert_eq!(mean(Name::RetentionRate), 0.0);
}

/// The customer retention rate is CRR = (E − N) / S: the active at the
/// end less the new, over those at the start.
#[test]
fn retention_counts_only_the_customers_there_at_the_start() {
    let mut scenario = Scenario::default();
    scenario.arrivals.per_month = sim::scenario::Whole(100);
    let tallies = run(ONE_POINT, &scenario, 2_000, 12, 1);
    let program = program(ONE_POINT);
    let summary = metrics(&program, &scenario, 2_000, &tallies);
    let mean = |name: Name| over_horizon(&summary, name).mean;
    let (end, new) = (mean(Name::CustomersActive), mean(Name::NewCustomers));
    assert_eq!(new, 1_200.0);
    assert_eq!(mean(Name::RetentionRate), (end - new) / 2_000.0);
    // Month by month: the first month's start is the 2,000.
    let tally = &tallies[0];
    let first = (tally.get(0, Field::Alive) - tally.get(0, Field::Arrived)) as f64 / 2_000.0;
    let monthly = find(&summary, Name::RetentionRate).unwrap().monthly[0];
    assert!((monthly.mean - first).abs() < 1e-12);
}

/// Issue 15 (A): a share of orders comes back within 30 days, wholly
/// or in part. Revenue is net of the returns with and without the
/// program, on the same random numbers. At a fixed rate over T days,
/// a return lands within the horizon unless its order is within its
/// delay of the end, so the share of revenue kept is
/// 1 − returns × (whole + (1 − whole) / 2) × (1 − 15 / T).
#[test]
fn returns_are_refunded_and_revenue_is_net_of_them_in_both() {
    let mut scenario = fixed_rate_scenario(0.2);
    scenario.segments[0].returns.0 = 0.0;
    let (customers, months, runs) = (5_000, 12, 2);
    let gross = total(
        &run(ONE_POINT, &scenario, customers, months, runs),
        Field::BaselineRevenue,
    ) as f64;
    scenario.segments[0].returns.0 = 0.10;
    scenario.segments[0].whole_returns.0 = 0.70;
    let tallies = run(ONE_POINT, &scenario, customers, months, runs);
    assert_buys_as_the_baseline(&tallies);
    let net = total(&tallies, Field::BaselineRevenue) as f64;
    let expected = 1.0 - 0.10 * (0.70 + 0.30 / 2.0) * (1.0 - 15.0 / 365.0);
    assert!(
        (net / gross - expected).abs() < 0.004,
        "kept {:.4} of revenue, expected {expected:.4}",
        net / gross
    );
    assert_eq!(
        total(&tallies, Field::Returns) as f64,
        gross - net,
        "the returns metric is what revenue lost"
    );

    // Every order returned whole: the engine claws back each order's
    // points, so what is left is the points of the orders whose return
    // falls after the horizon: their value in dollars, less the cents
    // each order's points round away.
    scenario.segments[0].returns.0 = 1.0;
    scenario.segments[0].whole_returns.0 = 1.0;
    let tallies = run(ONE_POINT, &scenario, customers, months, runs);
    let left: i64 = tallies
        .iter()
        .map(|t| t.get(months - 1, Field::PointsOutstanding))
        .sum();
    let kept_dollars = total(&tallies, Field::Revenue) as f64 / 100.0;
    assert_eq!(
        total(&tallies, Field::PointsIssued) - total(&tallies, Field::PointsClawedBack),
        left
    );
    assert!(
        (left as f64) <= kept_dollars && left as f64 > 0.95 * kept_dollars,
        "{left} points left on orders worth {kept_dollars:.2}"
    );
}

/// Issue 15 (A): a member's referral brings a friend, a new customer of
/// the referrer's segment who joins with their first purchase and is
/// paid by `being_referred` rules; friends refer in turn. With joining
/// at the first order at a fixed rate λ, a customer is a member at the
/// start of month k with chance 1 − e^{−λ d_k}, and each member refers
/// at each month's start with chance refer / 12; friends are members
/// from the month they arrive. The expected friends of month k are
/// F_k = refer/12 × (N (1 − e^{−λ d_k}) + Σ_{j<k} F_j).
#[test]
fn referred_friends_arrive_join_and_spend_more() {
    const PROGRAM: &str = r#"program "Friends"
currency USD
points are called "points", worth $1 per 100 points
earn 500 points for referral
earn 300 points for being_referred
"#;
    let per_day = 0.1;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.segments[0].refer.0 = 0.6;
    scenario.segments[0].returns.0 = 0.0;
    let (customers, months, runs) = (5_000, 12, 4);
    let tallies = run(PROGRAM, &scenario, customers, months, runs);
    let referred = total(&tallies, Field::Referred);
    assert_eq!(
        total(&tallies, Field::PointsIssued),
        800 * referred,
        "each referral pays 500 and its friend 300"
    );
    let start = scenario.simulation.start.0;
    let mut expected = 0.0;
    let mut friends_so_far = 0.0;
    for k in 1..months as i64 {
        let d = (start.add_months(k).0 - start.0) as f64 / 86_400.0;
        let members = f64::from(customers) * (1.0 - f64::exp(-per_day * d)) + friends_so_far;
        let friends = 0.6 / 12.0 * members;
        friends_so_far += friends;
        expected += friends;
    }
    let simulated = referred as f64 / f64::from(runs);
    assert_within("friends a run", simulated, expected, 0.04);
    // Lifts are off, so every extra order is a friend's; they spend
    // `referred_value` (1.16) times as much an order.
    let extra_orders = total(&tallies, Field::Orders) - total(&tallies, Field::BaselineOrders);
    let extra_revenue = total(&tallies, Field::Revenue) - total(&tallies, Field::BaselineRevenue);
    let friend_aov = extra_revenue as f64 / extra_orders as f64;
    let aov = total(&tallies, Field::BaselineRevenue) as f64
        / total(&tallies, Field::BaselineOrders) as f64;
    assert!(
        (friend_aov / aov / 1.16 - 1.0).abs() < 0.03,
        "a friend's order {friend_aov:.0} cents against {aov:.0}"
    );
}

/// Issue 15 (E), end to end: `calibrate` on the CDNOW sample to
/// 1997-09-30 writes the cohort's first purchases as arrivals, and a
/// program that gives nothing, simulated for 18 months on that scenario,
/// makes as many transactions (first and repeat; a customer's orders of
/// one day are one, as in the fit) as the sample did: within 5% of the
/// cumulative count at month 9 and at month 18, the end of the holdout.
#[test]
fn a_calibrated_cohort_replays_its_history() {
    let dir = temp_dir("cdnow");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders/cdnow_sample.csv");
    let scenario = dir.join("cdnow.toml");
    succeed(loyalty().arg("calibrate").arg(&sample).args([
        "--calibration-end",
        "1997-09-30",
        "--out",
        scenario.to_str().unwrap(),
    ]));
    let nothing = dir.join("nothing.loy");
    std::fs::write(&nothing, "program \"Nothing\"\ncurrency USD\n").unwrap();
    let out = dir.join("out");
    succeed(loyalty().arg("simulate").arg(&nothing).args([
        "--scenario",
        scenario.to_str().unwrap(),
        "--months",
        "18",
        "--runs",
        "100",
        "--out",
        out.to_str().unwrap(),
    ]));

    // The sample's transactions by month, read here from the CSV.
    let text = std::fs::read_to_string(&sample).unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut actual = [0.0; 18];
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        let (customer, date) = (fields[0], fields[2]);
        if seen.insert((customer, date)) {
            let year: usize = date[..4].parse().unwrap();
            let month: usize = date[4..6].parse().unwrap();
            actual[(year - 1997) * 12 + month - 1] += 1.0;
        }
    }
    let monthly = std::fs::read_to_string(out.join("monthly.csv")).unwrap();
    let mut simulated = [0.0; 18];
    for line in monthly.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        if fields[1] == "orders" {
            let month: usize = fields[0].parse().unwrap();
            simulated[month - 1] = fields[2].parse().unwrap();
        }
    }
    for month in [9, 18] {
        let (a, s): (f64, f64) = (
            actual[..month].iter().sum(),
            simulated[..month].iter().sum(),
        );
        assert!(
            (s / a - 1.0).abs() < 0.05,
            "month {month}: {s:.0} transactions simulated, {a:.0} in the sample"
        );
    }
    // The first month is the cohort arriving, not five times too many.
    assert!((simulated[0] / actual[0] - 1.0).abs() < 0.05);
}

/// Issue 15 (B): `expiry_lift` multiplies the rate while the member's
/// points expire within 30 days. Points that expire 30 days after they
/// are earned always do, from the first purchase on (at half an order
/// a day a 30-day gap, which would empty the balance, has a chance of
/// e^{−15}), so as for any lift from the first order: the expected
/// orders over T days are (1 − e^{−λT}) + L(λT − (1 − e^{−λT})).
#[test]
fn the_expiry_lift_holds_while_points_are_about_to_expire() {
    // One point a dollar, and:
    let source = [
        ONE_POINT,
        r#"points expire 30 days after they are earned
"#,
    ]
    .concat();
    let per_day = 0.5;
    let mut scenario = fixed_rate_scenario(per_day);
    scenario.behavior.expiry_lift.0 = 1.5;
    let tallies = run(&source, &scenario, 2_000, 12, 2);
    assert_lifted_from_the_first_order(&tallies, 2_000, (per_day, 365.0), 1.5);
    assert!(total(&tallies, Field::PointsExpired) > 0);
}

/// Issue 15, done when: Subway's punch card, simulated with the embedded
/// default scenario, costs the free drinks its members use, $2 each, and
/// nothing else.
#[test]
fn subways_reward_cost_is_the_free_drinks_used() {
    let out = temp_dir("subway-cost");
    simulate("programs/subway.loy", &out, &[], "2");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let mean = |name: &str| summary["metrics"][name]["mean"].as_f64().unwrap();
    assert!(mean("rewards_used") > 0.0);
    assert!((mean("reward_cost") - 2.0 * mean("rewards_used")).abs() < 1e-6);
    assert!(mean("net_program_value") < mean("margin_on_incremental_revenue"));
}

/// Issue 15 (E): arrivals by month add to the steady number, and a
/// segment's own arrivals are of that segment: here only its customers
/// join, each at their first purchase.
#[test]
fn arrivals_by_month_and_by_segment() {
    let text = r#"
[simulation]
customers = 0

[arrivals]
per_month = 10
by_month = [100, 200]

[[segment]]
name = "walk-ins"
share = 1
enroll = 0

[[segment]]
name = "from the campaign"
share = 0
enroll = 1
arrivals = { by_month = [0, 300] }
"#;
    let scenario = Scenario::parse(text).unwrap();
    let tallies = run(ONE_POINT, &scenario, 0, 6, 2);
    for tally in &tallies {
        let arrived: Vec<i64> = (0..6).map(|m| tally.get(m, Field::Arrived)).collect();
        assert_eq!(arrived, [110, 510, 10, 10, 10, 10]);
        assert_eq!(tally.total(Field::Enrollments), 300);
        assert_eq!(tally.get(1, Field::Members), 300);
    }
}
