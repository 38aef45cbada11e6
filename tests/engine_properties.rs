//! Invariants of the engine on random event streams over random small
//! programs: points and reward money are conserved for every member after
//! every event, balances never go negative, a duplicate changes nothing,
//! and the same stream always gives the same ledger; the simulator keeps
//! the same books on random programs.

use loyalty::engine::{Effect, Engine, Member, Reject, decode};
use loyalty::runner::{Outputs, Runner};
use proptest::prelude::*;

const HEADER: &str = r#"program "Random"
currency USD
points are called "points", worth $1 per 100 points
categories shoes
actions app_checkin
charity "Fund", receives $1 per 100 points
reward "Bag", costs 200 points, worth $3
reward "Mug", worth $2
"#;

/// Lines a program may have; each is valid with the header and with any
/// choice of the others. Alternatives are grouped: at most one of a group.
const OPTIONAL: &[&[&str]] = &[
    &[
        "earn 1 point per $1 spent",
        "earn 1 point per $1 spent, excluding shipping",
    ],
    &["earn 3 points per $2 spent, in category shoes, up to 400 points per day"],
    &[
        "earn 2% back",
        "earn $5 reward per $100 spent",
        "earn 10% back, paid out every year",
    ],
    &["earn 10 points for app_checkin, up to 20 points per day"],
    &["earn 100 points for joining"],
    &["earn 20 points for review, twice per month"],
    &["earn reward \"Mug\" for every 3rd visit"],
    &["earn $2 reward for birthday"],
    &["bonus 2x points, in category shoes"],
    &["bonus 3x points, on 1 chosen day per month, exclusive"],
    &["bonus 25 points, on orders of $50 or more, twice per week"],
    &[
        "every 150 points become $2 reward",
        "every 100 points become $1 reward, on the first day of each month",
    ],
    &[
        "points expire 2 months after they are earned",
        "points expire after 3 months without activity",
        "points expire each year on 31 March",
    ],
    &["points are pending for 20 days"],
    &[
        "bonus 2x points, for product \"A\"",
        "earn 5 points per $1 spent, for product \"B\", excluding category shoes",
    ],
    &["earn 5 points for share, twice per 30 days"],
    &[
        "bonus 50 points, on orders of $20 or more, up to 500 points per week in total",
        "earn $1 reward for review, up to $30 per month in total",
    ],
    &["rewards expire 30 days after they are issued"],
    &[
        "tier \"Base\"\ntier \"Top\", for $300 spent in a calendar year, kept for 2 months {\n  earn 2 points per $1 spent\n  earn $1 reward every month\n}",
    ],
    &[
        "membership \"Club\", costs $3 per month, with a free trial of 14 days {\n  earn $1 reward every month\n  discount 5%\n}",
    ],
];

fn program_text(choices: &[u8]) -> String {
    let mut text = HEADER.to_string();
    for (n, (group, choice)) in OPTIONAL.iter().zip(choices).enumerate() {
        // 0 leaves the group out; otherwise one of its lines. Points per
        // spend are always earned, or no member could afford "Bag" and
        // the program would not check.
        let choice = if n == 0 { (*choice).max(1) } else { *choice };
        if choice != 0 {
            text.push_str(group[usize::from(choice - 1) % group.len()]);
            text.push('\n');
        }
    }
    text
}

#[derive(Clone, Debug)]
struct Step {
    kind: u8,
    member: u8,
    amount: u32,
    hours: u16,
    flag: bool,
}

fn step(members: u8) -> impl Strategy<Value = Step> {
    (
        0u8..14,
        0u8..members,
        0u32..40_000,
        0u16..400,
        any::<bool>(),
    )
        .prop_map(|(kind, member, amount, hours, flag)| Step {
            kind,
            member,
            amount,
            hours,
            flag,
        })
}

/// Event lines for the steps over `members` members; about one in ten
/// repeats an earlier line, and about one in seventeen comes late (two
/// days before the latest).
fn lines(steps: &[Step], members: u8) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut t: i64 = 1_767_225_600; // 2026-01-01
    for (n, s) in steps.iter().enumerate() {
        let late = s.hours % 17 == 16;
        if !late {
            t += i64::from(s.hours) * 3600;
        }
        let at = format!(
            "{}",
            loyalty::time::Time(if late { t - 2 * 86_400 } else { t })
        );
        let m = s.member;
        let cents = s.amount;
        let money = format!("{}.{:02}", cents / 100, cents % 100);
        let line = match s.kind {
            0 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"enroll","member":"m{m}","birthday":"1990-0{}-1{}"}}"#,
                1 + m,
                m
            ),
            // A basket: shoes "A", and "B" of no category, with shipping.
            4 if cents >= 100 => {
                let rest = cents - 100;
                let (a, b) = (rest / 2, rest - rest / 2);
                let amount = |c: u32| format!("{}.{:02}", c / 100, c % 100);
                format!(
                    r#"{{"id":"e{n}","at":"{at}","type":"purchase","member":"m{m}","order":"o{n}","shipping":"1.00","items":[{{"sku":"A","category":"shoes","amount":"{}"}},{{"sku":"B","quantity":2,"amount":"{}"}}]}}"#,
                    amount(a),
                    amount(b)
                )
            }
            1..=4 => {
                let category = if s.flag { r#","category":"shoes""# } else { "" };
                format!(
                    r#"{{"id":"e{n}","at":"{at}","type":"purchase","member":"m{m}","amount":"{money}","order":"o{n}","shipping":"1.00","chosen_day":{}{category}}}"#,
                    s.flag
                )
            }
            5 => {
                let order = steps[..n]
                    .iter()
                    .rposition(|p| (1..=4).contains(&p.kind) && p.member == m)
                    .unwrap_or(0);
                format!(
                    r#"{{"id":"e{n}","at":"{at}","type":"refund","member":"m{m}","order":"o{order}","amount":"{}.{:02}"}}"#,
                    cents / 400,
                    cents % 100
                )
            }
            6 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"action","member":"m{m}","action":"{}"}}"#,
                if s.flag { "review" } else { "app_checkin" }
            ),
            7 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"redeem","member":"m{m}","reward":"{}"}}"#,
                if s.flag { "Bag" } else { "Mug" }
            ),
            8 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"donate","member":"m{m}","charity":"Fund","points":{}}}"#,
                1 + cents % 300
            ),
            9 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"{}","member":"m{m}","plan":"Club"}}"#,
                if s.flag { "subscribe" } else { "cancel" }
            ),
            10 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"purchase","member":"m{m}","amount":"{money}","rewards":"{}.00"}}"#,
                cents % 7
            ),
            11 => format!(
                r#"{{"id":"e{n}","at":"{at}","type":"refer","member":"m{m}","referee":"m{}"}}"#,
                (m + 1) % members
            ),
            12 => format!(r#"{{"id":"e{n}","at":"{at}","type":"tick"}}"#),
            _ if !out.is_empty() => out[cents as usize % out.len()].clone(),
            _ => format!(r#"{{"id":"e{n}","at":"{at}","type":"tick"}}"#),
        };
        out.push(line);
    }
    out
}

fn assert_conserved(member: &Member) {
    let t = &member.totals;
    assert!(member.points.balance >= 0, "negative points: {member:?}");
    assert!(
        member.money.balance >= 0,
        "negative reward money: {member:?}"
    );
    assert_eq!(
        t.points_issued,
        t.points_redeemed
            + t.points_expired
            + t.points_donated
            + t.points_clawed_back
            + member.points.balance
            + member.pending_points(),
        "points not conserved for {}",
        member.id
    );
    assert_eq!(
        t.money_issued,
        t.money_spent + t.money_expired + t.money_clawed_back + member.money.balance,
        "reward money not conserved for {}",
        member.id
    );
    assert_eq!(
        member.points.lots.iter().map(|l| l.amount).sum::<i64>(),
        member.points.balance
    );
    assert_eq!(
        member.money.lots.iter().map(|l| l.amount).sum::<i64>(),
        member.money.balance
    );
}

/// Runs the lines, checking the invariants after every one; returns the
/// effects written and the members.
fn run_checked(source: &str, lines: &[String]) -> (String, Vec<Member>) {
    let program = loyalty::load(source).expect("a generated program is valid");
    let mut engine = Engine::new(&program);
    let mut effects: Vec<u8> = Vec::new();
    {
        let outputs = Outputs {
            effects: Some(&mut effects),
            ..Outputs::default()
        };
        let mut runner = Runner::new(&mut engine, None, outputs, "random");
        for (n, line) in lines.iter().enumerate() {
            runner.line(n + 1, line).unwrap();
            runner.flush().unwrap();
            for member in runner.engine.members() {
                assert_conserved(member);
            }
            // The same line again is a duplicate and changes nothing.
            let before = runner.engine.members().to_vec();
            runner.line(n + 1, line).unwrap();
            runner.flush().unwrap();
            assert_eq!(
                runner.engine.members(),
                &before[..],
                "a duplicate changed state: {line}"
            );
        }
        runner.finish().unwrap();
    }
    (
        String::from_utf8(effects).unwrap(),
        engine.members().to_vec(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn conservation_no_negative_balance_duplicates_and_replay(
        choices in proptest::collection::vec(0u8..4, OPTIONAL.len()),
        steps in proptest::collection::vec(step(4), 1..120),
    ) {
        let source = program_text(&choices);
        let lines = lines(&steps, 4);
        let first = run_checked(&source, &lines);
        let second = run_checked(&source, &lines);
        prop_assert_eq!(first, second);
    }
}

/// Applies the lines one by one, and in batches of `size`; returns the
/// effects, results and members of each way.
#[allow(clippy::type_complexity)]
fn one_by_one_and_in_batches(
    source: &str,
    lines: &[String],
    size: usize,
    shards: usize,
) -> [(Vec<Effect>, Vec<Result<(), Reject>>, Vec<Member>); 2] {
    let program = loyalty::load(source).expect("a generated program is valid");
    let events: Vec<_> = lines
        .iter()
        .filter_map(|l| decode(&program, l).ok())
        .collect();
    let mut engine = Engine::new(&program);
    let (mut effects, mut results) = (Vec::new(), Vec::new());
    for event in &events {
        results.push(engine.apply(event, &mut effects));
    }
    let one_by_one = (effects, results, engine.members().to_vec());

    let mut engine = Engine::new(&program).with_shards(shards);
    let (mut effects, mut outcomes) = (Vec::new(), Vec::new());
    for batch in events.chunks(size) {
        engine.apply_batch(batch, &mut effects, &mut outcomes);
    }
    let mut start = 0;
    for outcome in &outcomes {
        assert!(outcome.effects_end >= start && outcome.effects_end <= effects.len());
        start = outcome.effects_end;
    }
    assert_eq!(start, effects.len());
    let results = outcomes.into_iter().map(|o| o.result).collect();
    [one_by_one, (effects, results, engine.members().to_vec())]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Batches share members out among the shards by chunks of 32, so
    /// 70 members and more exercise two shards (and 1 and 4: one shard
    /// alone, and shards with no member) and the putting back in order of
    /// their effects.
    #[test]
    fn a_batch_applies_exactly_as_one_event_at_a_time(
        choices in proptest::collection::vec(0u8..4, OPTIONAL.len()),
        steps in proptest::collection::vec(step(100), 1..400),
        size in 1usize..300,
    ) {
        let source = program_text(&choices);
        // Most members enrol first, so that both shards have members.
        let mut all: Vec<String> = (0..70)
            .map(|m| format!(r#"{{"id":"first{m}","at":"2025-12-31","type":"enroll","member":"m{m}"}}"#))
            .collect();
        all.extend(lines(&steps, 100));
        for shards in [1, 2, 4] {
            let [one_by_one, batched] = one_by_one_and_in_batches(&source, &all, size, shards);
            prop_assert_eq!(one_by_one, batched, "{} shards", shards);
        }
    }
}

#[test]
fn the_generated_programs_are_valid_and_the_streams_earn() {
    for choice in 1..4 {
        let source = program_text(&vec![choice; OPTIONAL.len()]);
        let steps: Vec<Step> = (0..60)
            .map(|i| Step {
                kind: [0, 1, 2, 6, 7, 9, 12][i % 7],
                member: (i % 3) as u8,
                amount: 12_345 + i as u32,
                hours: 50,
                flag: i % 2 == 0,
            })
            .collect();
        let (effects, members) = run_checked(&source, &lines(&steps, 4));
        assert_eq!(members.len(), 3);
        assert!(
            members.iter().all(|m| m.totals.points_issued > 0),
            "{source}"
        );
        assert!(effects.contains("points_earned"));
    }
}

/// Points earned by each purchase line, in order.
fn earned(source: &str, events: &[&str]) -> Vec<i64> {
    let lines: Vec<String> = events.iter().map(|e| e.to_string()).collect();
    let (effects, _) = run_checked(source, &lines);
    of_kind(&effects, "points_earned")
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .collect()
}

/// The effects of one kind, from the effects written as JSON Lines.
fn of_kind(effects: &str, kind: &str) -> Vec<serde_json::Value> {
    effects
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["kind"] == kind)
        .collect()
}

/// A text field of an effect.
fn text(effect: &serde_json::Value, field: &str) -> String {
    effect[field].as_str().unwrap().to_string()
}

/// Each line as an owned event line.
fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| l.to_string()).collect()
}

const SHOP: &str = "program \"Shop\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\n\
                    earn 1 point per $1 spent\n";

#[test]
fn a_limit_on_a_multiplier_caps_the_extra_it_brings() {
    let source = format!("{SHOP}bonus 3x points, up to 100 points per day\n");
    let points = earned(
        &source,
        &[
            r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
            r#"{"id":"2","at":"2026-01-01T10:00:00Z","type":"purchase","member":"a","amount":"80"}"#,
            r#"{"id":"3","at":"2026-01-01T11:00:00Z","type":"purchase","member":"a","amount":"10"}"#,
            r#"{"id":"4","at":"2026-01-02T10:00:00Z","type":"purchase","member":"a","amount":"10"}"#,
        ],
    );
    // 80 × 3 would add 160: the day's limit lets 100 through; the day's
    // second purchase gets no extra; the next day starts again (10 + 20).
    assert_eq!(points, [180, 10, 30]);
}

#[test]
fn a_multiplier_left_out_by_an_exclusive_one_keeps_its_chosen_day() {
    let source = format!(
        "{SHOP}bonus 5x points, between 2026-01-01 and 2026-01-01, exclusive\nbonus 2x points, on 1 chosen day per month\n"
    );
    let points = earned(
        &source,
        &[
            r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
            r#"{"id":"2","at":"2026-01-01T10:00:00Z","type":"purchase","member":"a","amount":"10","chosen_day":true}"#,
            r#"{"id":"3","at":"2026-01-05T10:00:00Z","type":"purchase","member":"a","amount":"10","chosen_day":true}"#,
        ],
    );
    // On the 1st the exclusive 5x wins, so the chosen day is not spent
    // there; on the 5th it is.
    assert_eq!(points, [50, 20]);
}

/// An effect's kind, as a static name.
fn kind_name(effect: &serde_json::Value) -> &'static str {
    let kind = effect["kind"].as_str().unwrap_or_default();
    [
        "points_redeemed",
        "reward_issued",
        "reward_used",
        "points_earned",
    ]
    .into_iter()
    .find(|k| *k == kind)
    .unwrap_or("other")
}

#[test]
fn a_priced_share_off_is_bought_again_while_one_is_held() {
    let source = format!(
        "{SHOP}reward \"20% off\", costs 100 points, worth 20% off the next order\n\
         reward \"Welcome 10% off\", worth 10% off the next order\n\
         earn reward \"Welcome 10% off\" for newsletter\n"
    );
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-01-01T10:00:00Z","type":"purchase","member":"a","amount":"500"}"#,
        r#"{"id":"3","at":"2026-01-02T10:00:00Z","type":"redeem","member":"a","reward":"20% off"}"#,
        r#"{"id":"4","at":"2026-01-02T11:00:00Z","type":"redeem","member":"a","reward":"20% off"}"#,
        r#"{"id":"5","at":"2026-01-02T12:00:00Z","type":"action","member":"a","action":"newsletter"}"#,
        r#"{"id":"6","at":"2026-01-02T13:00:00Z","type":"redeem","member":"a","reward":"Welcome 10% off"}"#,
    ]);
    let (effects, members) = run_checked(&source, &lines);
    let kinds: Vec<(&str, i64)> = effects
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "3" || e["event"] == "4")
        .map(|e| (kind_name(&e), e["points"].as_i64().unwrap()))
        .collect();
    // Each redeem spends 100 points and issues a copy: both are held. The
    // welcome reward, which has no price, uses itself: redeeming it is
    // refused (event 6 writes nothing).
    let bought = [("points_redeemed", -100), ("reward_issued", 0)];
    assert_eq!(kinds, [bought, bought].concat());
    assert_eq!(members[0].points.balance, 300);
    assert_eq!(members[0].rewards.len(), 3);
    assert!(!effects.contains("\"event\":\"6\""));
}

#[test]
fn days_of_the_week_and_times_of_day_narrow_rules() {
    let source = format!(
        "{SHOP}bonus 2x points, on tuesdays, between 14:00 and 17:00\n\
         earn 5 points for visit, between 22:00 and 02:00\n\
         earn 50 points for review, on weekends\n"
    );
    let buy = |id: u32, at: &str| {
        format!(r#"{{"id":"{id}","at":"{at}","type":"purchase","member":"a","amount":"10"}}"#)
    };
    let review = |id: u32, at: &str| {
        format!(r#"{{"id":"{id}","at":"{at}","type":"action","member":"a","action":"review"}}"#)
    };
    let lines = [
        r#"{"id":"1","at":"2026-01-05","type":"enroll","member":"a"}"#.to_string(),
        buy(2, "2026-01-06T15:00:00Z"),    // Tuesday, in the hours: 2x
        buy(3, "2026-01-06T18:00:00Z"),    // Tuesday, after them
        buy(4, "2026-01-07T15:00:00Z"),    // Wednesday
        buy(5, "2026-01-07T23:30:00Z"),    // late: the visit earns
        buy(6, "2026-01-08T01:00:00Z"),    // past midnight: still
        buy(7, "2026-01-08T03:00:00Z"),    // after the window
        review(8, "2026-01-10T12:00:00Z"), // Saturday
        review(9, "2026-01-12T12:00:00Z"), // Monday: nothing
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_eq!(earned(&source, &refs), [20, 10, 10, 10, 5, 10, 5, 10, 50]);
}

#[test]
fn quarters_count_limits_and_bring_rewards() {
    let source = format!(
        "{SHOP}earn 100 points for review, once per quarter\n\
         earn 50 points on the first day of each quarter\n"
    );
    let review = |id: u32, at: &str| {
        format!(r#"{{"id":"{id}","at":"{at}","type":"action","member":"a","action":"review"}}"#)
    };
    let lines = [
        r#"{"id":"1","at":"2026-01-05","type":"enroll","member":"a"}"#.to_string(),
        review(2, "2026-01-10T12:00:00Z"),
        review(3, "2026-03-31T12:00:00Z"), // the first quarter's one is used
        review(4, "2026-04-01T12:00:00Z"), // a new quarter, whose first day paid
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_eq!(earned(&source, &refs), [100, 50, 100]);

    // Half years: January to June, July to December.
    let source = format!(
        "{SHOP}earn 100 points for review, once per half year\n\
         earn 50 points on the first day of each half year\n"
    );
    let lines = [
        r#"{"id":"1","at":"2026-01-05","type":"enroll","member":"a"}"#.to_string(),
        review(2, "2026-04-10T12:00:00Z"), // no first day of a half year yet
        review(3, "2026-06-30T12:00:00Z"),
        review(4, "2026-07-01T12:00:00Z"),
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_eq!(earned(&source, &refs), [100, 50, 100]);
}

#[test]
fn a_reward_limits_how_often_a_member_redeems_it() {
    let source = format!(
        "{SHOP}earn 500 points for review\n\
         reward \"Gift\", costs 100 points, worth $5, once per year\n\
         reward \"Bag\", costs 50 points, worth $2, up to $4 per month\n"
    );
    let redeem = |id: &str, at: &str, reward: &str| {
        format!(r#"{{"id":"{id}","at":"{at}","type":"redeem","member":"a","reward":"{reward}"}}"#)
    };
    let lines = vec![
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#.to_string(),
        r#"{"id":"2","at":"2026-01-01T10:00:00Z","type":"action","member":"a","action":"review"}"#
            .to_string(),
        redeem("gift-jan", "2026-01-02T10:00:00Z", "Gift"),
        redeem("bag-1", "2026-01-03T10:00:00Z", "Bag"),
        redeem("bag-2", "2026-01-04T10:00:00Z", "Bag"),
        redeem("bag-3", "2026-01-05T10:00:00Z", "Bag"), // $6 in a month
        redeem("gift-feb", "2026-02-01T10:00:00Z", "Gift"), // twice in a year
        redeem("bag-feb", "2026-02-01T11:00:00Z", "Bag"),
        redeem("gift-next", "2027-01-02T10:00:00Z", "Gift"),
    ];
    let (effects, members) = run_checked(&source, &lines);
    let redeemed: Vec<String> = effects
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["kind"] == "points_redeemed")
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        redeemed,
        ["gift-jan", "bag-1", "bag-2", "bag-feb", "gift-next"]
    );
    assert_eq!(members[0].points.balance, 500 - 100 - 3 * 50 - 100);
}

/// A budget all members share is spent in event order: the first
/// members get it, one partly, and the rest nothing until its next
/// period; a stock is the same over the program's life.
#[test]
fn a_budget_for_all_members_is_spent_in_event_order() {
    let source = format!(
        "{SHOP}earn 50 points for joining, 2 available\n\
         earn 10 points for review, up to 25 points per month in total\n\
         reward \"Mug\", costs 10 points, worth $5, 1 available per month\n"
    );
    let event = |id: &str, at: &str, member: &str, rest: &str| {
        format!(r#"{{"id":"{id}","at":"{at}","member":"{member}",{rest}}}"#)
    };
    let review = r#""type":"action","action":"review""#;
    let mug = r#""type":"redeem","reward":"Mug""#;
    let lines = vec![
        event("ea", "2026-01-01", "a", r#""type":"enroll""#),
        event("eb", "2026-01-01", "b", r#""type":"enroll""#),
        event("ec", "2026-01-01", "c", r#""type":"enroll""#),
        event("r1", "2026-01-02T10:00:00Z", "a", review),
        event("r2", "2026-01-02T11:00:00Z", "b", review),
        event("r3", "2026-01-03T10:00:00Z", "c", review),
        event("r4", "2026-01-04T10:00:00Z", "a", review),
        event("r5", "2026-02-01T10:00:00Z", "c", review),
        event("m1", "2026-02-02T10:00:00Z", "a", mug),
        event("m2", "2026-02-02T11:00:00Z", "b", mug),
        event("m3", "2026-03-01T11:00:00Z", "b", mug),
    ];
    let (effects, members) = run_checked(&source, &lines);
    let earned: Vec<(String, i64)> = of_kind(&effects, "points_earned")
        .iter()
        .map(|e| (text(e, "event"), e["points"].as_i64().unwrap()))
        .collect();
    let earned: Vec<(&str, i64)> = earned.iter().map(|(e, p)| (e.as_str(), *p)).collect();
    assert_eq!(
        earned,
        [
            ("ea", 50),
            ("eb", 50),
            ("r1", 10),
            ("r2", 10),
            ("r3", 5),
            ("r5", 10)
        ]
    );
    let redeemed: Vec<String> = of_kind(&effects, "points_redeemed")
        .iter()
        .map(|e| text(e, "event"))
        .collect();
    assert_eq!(redeemed, ["m1", "m3"]);
    let balances: Vec<i64> = members.iter().map(|m| m.points.balance).collect();
    assert_eq!(balances, [50 + 10 - 10, 50 + 10 - 10, 5 + 10]);
}

/// The program keeps its margin of what members redeem at a partner: a
/// reward redeemed there, reward money and a held `% off` spent there;
/// not of what they redeem at its own shops.
#[test]
fn the_program_keeps_its_margin_on_redemptions_at_a_partner() {
    let source = format!(
        "{SHOP}partner \"Air\", funds 100%, margin 20% on redemptions\n\
         earn 500 points for review\nearn $5 reward for review\n\
         reward \"Flight\", costs 100 points, worth $50\n\
         reward \"Upgrade\", costs 100 points, worth 10% off the next order, at partner \"Air\"\n"
    );
    let event = |id: &str, rest: &str| {
        format!(r#"{{"id":"{id}","at":"2026-01-02T10:00:00Z","member":"a",{rest}}}"#)
    };
    let lines = vec![
        r#"{"id":"e","at":"2026-01-01","type":"enroll","member":"a"}"#.to_string(),
        event("review", r#""type":"action","action":"review""#),
        event("own", r#""type":"redeem","reward":"Flight""#),
        event(
            "air",
            r#""type":"redeem","reward":"Flight","partner":"Air""#,
        ),
        event("up", r#""type":"redeem","reward":"Upgrade""#),
        event(
            "fly",
            r#""type":"purchase","amount":"300","rewards":"5","partner":"Air""#,
        ),
    ];
    let (effects, _) = run_checked(&source, &lines);
    let kept: Vec<(String, String, String)> = of_kind(&effects, "redemption_margin")
        .iter()
        .map(|e| (text(e, "event"), text(e, "value"), text(e, "reason")))
        .collect();
    let reason = "$10.00 kept of a redemption at the partner: partner \"Air\"";
    assert_eq!(
        kept,
        [
            ("air".to_string(), "10.00".to_string(), reason.to_string()),
            // 10% off $300 is $30, of which 20%; and 20% of the $5 spent.
            (
                "fly".into(),
                "6.00".into(),
                reason.replace("$10.00", "$6.00")
            ),
            (
                "fly".into(),
                "1.00".into(),
                reason.replace("$10.00", "$1.00")
            ),
        ]
    );
}

/// Issue 18: order is kept per member. An event older than another
/// member's happens at its own time; one older than its own member's
/// latest event, or than work that already ran for them, happens at that
/// member's time; a tick may not come before any event.
#[test]
fn order_is_kept_per_member_and_a_late_event_happens_at_its_member_s_time() {
    let source = format!("{SHOP}points expire 30 days after they are earned\n");
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-01-01","type":"enroll","member":"b"}"#,
        r#"{"id":"3","at":"2026-01-01","type":"enroll","member":"c"}"#,
        r#"{"id":"4","at":"2026-01-10","type":"purchase","member":"a","amount":"10"}"#,
        // Before a's latest, after b's: b's own time.
        r#"{"id":"5","at":"2026-01-05","type":"purchase","member":"b","amount":"5"}"#,
        // Before a's latest: a's time.
        r#"{"id":"6","at":"2026-01-08","type":"purchase","member":"a","amount":"7"}"#,
        // Before the latest event: refused.
        r#"{"id":"7","at":"2026-01-09","type":"tick"}"#,
        // Expires b's 5 points (earned 01-05, 30 days), and a's 17 not yet.
        r#"{"id":"8","at":"2026-02-05","type":"tick"}"#,
        // Work ran for b at 02-05: b's late purchase happens then. None ran
        // for c, whose purchase happens at its own time.
        r#"{"id":"9","at":"2026-02-01","type":"purchase","member":"b","amount":"3"}"#,
        r#"{"id":"10","at":"2026-02-01","type":"purchase","member":"c","amount":"4"}"#,
    ]);
    let (effects, members) = run_checked(&source, &lines);
    let earned: Vec<(String, String, i64)> = of_kind(&effects, "points_earned")
        .iter()
        .map(|e| {
            (
                text(e, "event"),
                text(e, "at"),
                e["points"].as_i64().unwrap(),
            )
        })
        .collect();
    let expected = [
        ("4", "2026-01-10", 10),
        ("5", "2026-01-05", 5),
        ("6", "2026-01-10", 7),
        ("9", "2026-02-05", 3),
        ("10", "2026-02-01", 4),
    ];
    assert_eq!(
        earned,
        expected.map(|(e, at, p)| (e.to_string(), at.to_string(), p))
    );
    let expired: Vec<(String, i64)> = of_kind(&effects, "points_expired")
        .iter()
        .map(|e| (text(e, "member"), e["points"].as_i64().unwrap()))
        .collect();
    assert_eq!(expired, [("b".to_string(), -5)]);
    let balances: Vec<i64> = members.iter().map(|m| m.points.balance).collect();
    assert_eq!(balances, [17, 3, 4]);
    // The same in batches on several shards.
    for shards in [1, 2, 4] {
        let [one_by_one, batched] = one_by_one_and_in_batches(&source, &lines, 3, shards);
        assert_eq!(one_by_one, batched);
    }
}

#[test]
fn a_refund_in_full_undoes_everything_the_order_caused() {
    let source = format!(
        "{SHOP}earn 56 points for visit\nearn $3 reward for visit\n\
         reward \"Drink\", worth $2\nearn reward \"Drink\" for every 2nd visit\n\
         partner \"Air\", funds 50%\nearn 1 point per $1 spent, at partner \"Air\"\n"
    );
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-01-01","type":"enroll","member":"b"}"#,
        r#"{"id":"3","at":"2026-01-02T10:00:00Z","type":"purchase","member":"a","amount":"100","order":"o1"}"#,
        r#"{"id":"7","at":"2026-01-02T11:00:00Z","type":"purchase","member":"b","amount":"100","order":"p1","partner":"Air"}"#,
        r#"{"id":"4","at":"2026-01-03T10:00:00Z","type":"purchase","member":"a","amount":"100","order":"o2"}"#,
        r#"{"id":"5","at":"2026-01-04T10:00:00Z","type":"refund","member":"a","order":"o2","amount":"100.00"}"#,
        r#"{"id":"6","at":"2026-01-05T10:00:00Z","type":"purchase","member":"a","amount":"10","order":"o3"}"#,
        r#"{"id":"8","at":"2026-01-06T11:00:00Z","type":"refund","member":"b","order":"p1","amount":"100.00"}"#,
    ]);
    let (effects, members) = run_checked(&source, &lines);
    let of_event = |event: &str| -> Vec<(String, i64, String)> {
        effects
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .filter(|e| e["event"] == event)
            .map(|e| {
                (
                    e["kind"].as_str().unwrap().to_string(),
                    e["points"].as_i64().unwrap(),
                    e["value"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    // The refund of o2 takes back its 100 + 56 points, its $3 and the
    // Drink its second visit completed; the punch card is one short again.
    let refund = of_event("5");
    let kinds: Vec<&str> = refund.iter().map(|(k, _, _)| k.as_str()).collect();
    assert!(kinds.contains(&"reward_clawed_back"), "{refund:?}");
    assert_eq!(
        refund
            .iter()
            .filter(|(k, _, _)| k == "points_clawed_back")
            .map(|(_, p, _)| p)
            .sum::<i64>(),
        -156
    );
    let a = &members[0];
    assert_eq!(a.points.balance, 156 + 66);
    assert_eq!(a.money.balance, 600);
    // o3 is the card's second visit again: one Drink held.
    assert_eq!(a.rewards.len(), 1);
    // The partner gives back what it paid: 50% of 100 points at 1 cent.
    let returned = of_event("8");
    assert!(
        returned.contains(&("partner_funded".to_string(), 0, "-0.50".to_string())),
        "{returned:?}"
    );
    assert_eq!(members[1].points.balance, 0);
}

/// A program whose purchases earn in every way a visit can: rates, a
/// multiplier, a flat bonus, visit points and money, a punch card, a
/// partner; and whose reviews earn apart from them.
const EVERYTHING_AN_ORDER_CAUSES: &str = "program \"Shop\"\ncurrency USD\n\
     points are called \"points\", worth $1 per 100 points\nchannels app\n\
     earn 1 point per $1 spent\nearn 2 points per $1 spent, in channel app\n\
     bonus 2x points, in channel app\nbonus 25 points, on orders of $50 or more\n\
     earn 10 points for visit\nearn $1 reward for visit\n\
     reward \"Drink\", worth $2\nearn reward \"Drink\" for every 3rd visit\n\
     earn 5 points for review\nearn reward \"Drink\" for every 4th review\n\
     partner \"Air\", funds 50%\nearn 1 point per $1 spent, at partner \"Air\"\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every order refunded in full leaves each member where they would
    /// be had the orders never happened: balances, held rewards and
    /// punch cards. (Nothing is spent, so nothing falls short.)
    #[test]
    fn refunding_every_order_in_full_leaves_members_as_without_them(
        steps in prop::collection::vec((0u8..3, 0u8..4, 1i64..20_000), 1..60)
    ) {
        let mut with_orders = Vec::new();
        let mut without = Vec::new();
        for m in 0..3 {
            let line = format!(r#"{{"id":"e{m}","at":"2026-01-01","type":"enroll","member":"m{m}"}}"#);
            with_orders.push(line.clone());
            without.push(line);
        }
        let mut orders = Vec::new();
        for (n, &(member, kind, cents)) in steps.iter().enumerate() {
            let at = format!("2026-01-02T{:02}:{:02}:00Z", n / 60, n % 60);
            let place = match kind {
                0 => "",
                1 => r#","channel":"app""#,
                2 => r#","partner":"Air""#,
                _ => {
                    let line = format!(
                        r#"{{"id":"a{n}","at":"{at}","type":"action","member":"m{member}","action":"review"}}"#
                    );
                    with_orders.push(line.clone());
                    without.push(line);
                    continue;
                }
            };
            with_orders.push(format!(
                r#"{{"id":"p{n}","at":"{at}","type":"purchase","member":"m{member}","amount":"{}.{:02}","order":"o{n}"{place}}}"#,
                cents / 100,
                cents % 100
            ));
            orders.push((n, member, cents));
        }
        for (n, member, cents) in orders {
            with_orders.push(format!(
                r#"{{"id":"r{n}","at":"2026-01-03T00:00:00Z","type":"refund","member":"m{member}","order":"o{n}","amount":"{}.{:02}"}}"#,
                cents / 100,
                cents % 100
            ));
        }
        let (effects, refunded) = run_checked(EVERYTHING_AN_ORDER_CAUSES, &with_orders);
        let (_, never) = run_checked(EVERYTHING_AN_ORDER_CAUSES, &without);
        prop_assert!(!effects.contains("clawback_shortfall"));
        for (a, b) in refunded.iter().zip(&never) {
            prop_assert_eq!(a.points.balance, b.points.balance, "points of {}", a.id);
            prop_assert_eq!(a.money.balance, b.money.balance, "reward money of {}", a.id);
            let held = |m: &Member| {
                let mut ids: Vec<u16> = m.rewards.iter().map(|h| h.reward).collect();
                ids.sort_unstable();
                ids
            };
            prop_assert_eq!(held(a), held(b), "rewards held by {}", a.id);
            let cards = |m: &Member| m.rules.iter().map(|r| r.counter).collect::<Vec<_>>();
            prop_assert_eq!(cards(a), cards(b), "punch cards of {}", a.id);
        }
    }
}

#[test]
fn a_fractional_earn_rate_earns_in_proportion() {
    let source = "program \"Shop\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\n\
                  earn 1.5 points per $1 spent\nearn 0.25 points per $0.10 spent, in channel app\n\
                  channels app\n";
    let points = earned(
        source,
        &[
            r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
            r#"{"id":"2","at":"2026-01-01T10:00:00Z","type":"purchase","member":"a","amount":"10"}"#,
            r#"{"id":"3","at":"2026-01-01T11:00:00Z","type":"purchase","member":"a","amount":"3"}"#,
            r#"{"id":"4","at":"2026-01-01T12:00:00Z","type":"purchase","member":"a","amount":"3","channel":"app"}"#,
        ],
    );
    // 1.5 × 10 = 15 (it was once truncated to 1 per $1: 10); 1.5 × 3 =
    // 4.5, rounded down; in the app 2.5 per $1 beats 1.5: 7.5 → 7.
    assert_eq!(points, [15, 4, 7]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// The simulator on random programs and propensities: it finishes,
    /// and its counts keep the points' books: issued = redeemed +
    /// expired + donated + clawed back + outstanding at the end.
    #[test]
    fn simulated_points_are_conserved(
        choices in proptest::collection::vec(0u8..4, OPTIONAL.len()),
        redeem in 0.0f64..=1.0,
        subscribe in 0.0f64..=1.0,
        donate in 0.0f64..=1.0,
        seed in 0u64..1_000,
    ) {
        use loyalty::sim::{self, Field, Plan, Scenario};
        let source = program_text(&choices);
        let program = loyalty::load(&source).unwrap_or_else(|_| panic!("{source}"));
        let mut scenario = Scenario::default();
        scenario.simulation.seed = seed;
        let segment = &mut scenario.segments[0];
        segment.enroll.0 = 0.8;
        segment.redeem.0 = redeem;
        segment.subscribe.0 = subscribe;
        segment.donate.0 = donate;
        segment.actions.0 = 0.5;
        let plan = Plan { customers: 300, months: 24, runs: 1, shard: (1, 1) };
        let runs = sim::simulate(&program, &scenario, plan, &|_| {}).unwrap();
        let run = &runs[0];
        let outflow = run.total(Field::PointsRedeemed)
            + run.total(Field::PointsExpired)
            + run.total(Field::PointsDonated)
            + run.total(Field::PointsClawedBack);
        let outstanding = run.get(plan.months - 1, Field::PointsOutstanding);
        prop_assert_eq!(run.total(Field::PointsIssued), outflow + outstanding, "{}", source);
        prop_assert!(outstanding >= 0);
        prop_assert!(run.get(plan.months - 1, Field::RewardMoneyOutstanding) >= 0);
    }
}

/// A program at every bound the checker allows: the highest spend rates,
/// multipliers that multiply to 100x, the largest flat amounts, the
/// dearest conversion.
const EXTREME: &str = r#"program "Extreme"
currency USD
points are called "points", worth $1 per 100 points
categories shoes
reward "Bag", costs 1,000,000,000,000 points, worth $1,000,000,000,000

earn 100 points per $1 spent
earn $1 reward per $1 spent
earn 1,000,000,000,000 points for visit
earn $1,000,000,000,000 reward for visit
bonus 10x points
bonus 10x points, in category shoes
bonus 100x rewards, exclusive
bonus 1,000,000,000,000 points, on orders of $1 or more
every 2 points become $2 reward
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Issue 14: purchases up to the largest amount an event carries, on
    /// the program at the checker's bounds, never wrap: every member's
    /// books balance after every event, no balance goes negative, and a
    /// member who reaches the limit has events rejected with its reason.
    #[test]
    fn extreme_programs_and_amounts_never_wrap(
        amounts in prop::collection::vec(
            prop_oneof![
                3 => Just(99_999_999_999u64),
                1 => 1u64..100_000_000_000,
                1 => 0u64..100,
            ],
            1..120,
        ),
        refunds in prop::collection::vec(any::<bool>(), 120),
    ) {
        let mut lines = vec![
            r#"{"id":"e0","at":"2026-01-01","type":"enroll","member":"m"}"#.to_string(),
        ];
        for (n, dollars) in amounts.iter().enumerate() {
            lines.push(format!(
                r#"{{"id":"p{n}","at":"2026-01-02","type":"purchase","member":"m","amount":"{dollars}.99","category":"shoes","order":"o{n}"}}"#
            ));
            if refunds[n] {
                lines.push(format!(
                    r#"{{"id":"r{n}","at":"2026-01-02","type":"refund","member":"m","order":"o{n}","amount":"{dollars}.99"}}"#
                ));
            }
        }
        let program = loyalty::load(EXTREME).expect("the extreme program is valid");
        let mut engine = Engine::new(&program);
        let mut rejects: Vec<u8> = Vec::new();
        let mut effects: Vec<u8> = Vec::new();
        {
            let outputs = Outputs { effects: Some(&mut effects), rejects: Some(&mut rejects), answers: None };
            let mut runner = Runner::new(&mut engine, None, outputs, "extreme");
            for (n, line) in lines.iter().enumerate() {
                runner.line(n + 1, line).unwrap();
                runner.flush().unwrap();
                for member in runner.engine.members() {
                    assert_conserved(member);
                    prop_assert!(member.totals.points_issued < i64::MAX);
                    prop_assert!(member.totals.money_issued < i64::MAX);
                }
            }
            runner.finish().unwrap();
        }
        for line in String::from_utf8(rejects).unwrap().lines() {
            let reject: serde_json::Value = serde_json::from_str(line).unwrap();
            prop_assert!(
                reject["reason"].as_str().unwrap().contains("the most a ledger counts exactly"),
                "{line}"
            );
        }
        for line in String::from_utf8(effects).unwrap().lines() {
            let effect: serde_json::Value = serde_json::from_str(line).unwrap();
            if effect["kind"] == "points_earned" {
                prop_assert!(effect["points"].as_i64().unwrap() > 0, "{line}");
            }
        }
    }
}

#[test]
fn an_amount_past_what_an_event_carries_is_rejected() {
    let program = loyalty::load(EXTREME).unwrap();
    let Err((_, reject)) = decode(
        &program,
        r#"{"id":"p","at":"2026-01-02","type":"purchase","member":"m","amount":"100,000,000,000.01"}"#,
    ) else {
        panic!("an amount past the limit was decoded");
    };
    assert_eq!(
        reject.to_string(),
        "`amount` is more than an event may carry (100,000,000,000): `100,000,000,000.01`"
    );
}

#[test]
fn a_time_zone_moves_days_months_and_expiry_to_its_clock() {
    let source = format!(
        "{SHOP}time zone \"America/New_York\"\n\
         earn 100 points for review, once per day\n\
         earn 50 points on the first day of each month\n\
         earn 7 points for birthday\n\
         bonus 2x points, on tuesdays\n\
         points expire 30 days after they are earned\n"
    );
    let review = |id: u32, at: &str| {
        format!(r#"{{"id":"{id}","at":"{at}","type":"action","member":"a","action":"review"}}"#)
    };
    let lines = [
        // A date alone is midnight in New York, 05:00 UTC in winter.
        r#"{"id":"1","at":"2026-01-05","type":"enroll","member":"a","birthday":"1990-01-20"}"#
            .to_string(),
        review(2, "2026-01-06T03:00:00Z"), // Monday 22:00 in New York
        review(3, "2026-01-06T04:30:00Z"), // 23:30, the same day there: limited
        review(4, "2026-01-06T05:30:00Z"), // Tuesday 00:30: a new day
        // Wednesday in UTC, still Tuesday evening in New York: 2x.
        r#"{"id":"5","at":"2026-01-07T03:00:00Z","type":"purchase","member":"a","amount":"10"}"#
            .to_string(),
        // New York reaches 1 February at 05:00 UTC, and in summer time
        // each month starts at 04:00 UTC.
        r#"{"id":"6","at":"2026-02-01T04:59:59Z","type":"tick"}"#.to_string(),
        r#"{"id":"7","at":"2026-07-01T04:00:00Z","type":"tick"}"#.to_string(),
    ];
    let (effects, _) = run_checked(&source, &lines);
    let effects: Vec<serde_json::Value> = effects
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |kind: &str| -> Vec<(String, i64)> {
        effects
            .iter()
            .filter(|e| e["kind"] == kind)
            .map(|e| {
                (
                    e["at"].as_str().unwrap().to_string(),
                    e["points"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let at = |text: &str, points: i64| (text.to_string(), points);
    assert_eq!(
        of("points_earned"),
        [
            at("2026-01-06T03:00:00Z", 100),
            at("2026-01-06T05:30:00Z", 100),
            at("2026-01-07T03:00:00Z", 20),
            at("2026-01-20T05:00:00Z", 7),
            at("2026-02-01T05:00:00Z", 50),
            at("2026-03-01T05:00:00Z", 50),
            at("2026-04-01T04:00:00Z", 50),
            at("2026-05-01T04:00:00Z", 50),
            at("2026-06-01T04:00:00Z", 50),
            at("2026-07-01T04:00:00Z", 50),
        ]
    );
    // Points earned on 5 January in New York expire at the end of 4
    // February there; those of the 6th at the end of the 5th.
    let expired = of("points_expired");
    assert_eq!(expired[0], at("2026-02-05T05:00:00Z", -100));
    assert_eq!(expired[1], at("2026-02-06T05:00:00Z", -120));
}

#[test]
fn a_limit_counts_in_a_calendar_year_a_membership_year_or_any_length_of_time() {
    let source = format!(
        "{SHOP}earn 100 points for review, once per 2 hours\n\
         earn 10 points for share, twice per 12 months\n\
         earn 5 points for newsletter, once per membership year\n"
    );
    let action = |id: u32, at: &str, action: &str| {
        format!(r#"{{"id":"{id}","at":"{at}","type":"action","member":"a","action":"{action}"}}"#)
    };
    let lines = [
        r#"{"id":"1","at":"2026-03-10","type":"enroll","member":"a"}"#.to_string(),
        action(2, "2026-03-10T10:00:00Z", "review"),
        action(3, "2026-03-10T11:59:00Z", "review"), // within 2 hours
        action(4, "2026-03-10T12:00:00Z", "review"), // 2 hours on
        action(5, "2026-03-11", "newsletter"),
        action(6, "2026-03-15", "share"),
        action(7, "2026-12-20", "share"),
        action(8, "2027-01-02", "newsletter"), // a new calendar year only
        action(9, "2027-01-05", "share"),      // two in the last 12 months
        action(10, "2027-03-10", "newsletter"), // the first anniversary
        action(11, "2027-03-16", "share"),     // 15 March 2026 has left
    ];
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    assert_eq!(earned(&source, &refs), [100, 100, 5, 10, 10, 5, 10]);
}

#[test]
fn pending_points_wait_and_a_refund_before_then_cancels_them() {
    let source = format!(
        "{SHOP}points are pending for 30 days\n\
         earn 50 points for review\n\
         reward \"Mug\", costs 100 points, worth $2\n"
    );
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"80","order":"o1"}"#,
        r#"{"id":"3","at":"2026-01-03","type":"action","member":"a","action":"review"}"#,
        r#"{"id":"4","at":"2026-01-04","type":"redeem","member":"a","reward":"Mug"}"#,
        r#"{"id":"5","at":"2026-01-05","type":"purchase","member":"a","amount":"40","order":"o2"}"#,
        r#"{"id":"6","at":"2026-01-10","type":"refund","member":"a","order":"o2","amount":"40"}"#,
        r#"{"id":"7","at":"2026-02-01T12:00:00Z","type":"tick"}"#,
        r#"{"id":"8","at":"2026-02-02","type":"redeem","member":"a","reward":"Mug"}"#,
    ]);
    let (effects, members) = run_checked(&source, &lines);
    let moved: Vec<(String, String, i64)> = effects
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["kind"].as_str().unwrap().starts_with("points"))
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_string();
            (text("at"), text("kind"), e["points"].as_i64().unwrap())
        })
        .collect();
    let at = |at: &str, kind: &str, points: i64| (at.to_string(), kind.to_string(), points);
    assert_eq!(
        moved,
        [
            at("2026-01-02", "points_pending", 80),
            at("2026-01-03", "points_earned", 50),
            // The first redeem is rejected: 80 are not available yet.
            at("2026-01-05", "points_pending", 40),
            at("2026-01-10", "points_clawed_back", -40),
            at("2026-02-01", "points_available", 0),
            at("2026-02-02", "points_redeemed", -100),
        ]
    );
    let a = &members[0];
    assert_eq!((a.points.balance, a.pending_points()), (30, 0));
    assert_eq!(a.totals.points_issued, 170);
    assert_eq!(a.totals.points_clawed_back, 40);
}

#[test]
fn points_expire_each_year_on_a_date() {
    let source = format!("{SHOP}points expire each year on 31 March\n");
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-03-31T10:00:00Z","type":"purchase","member":"a","amount":"10"}"#,
        r#"{"id":"3","at":"2026-04-01T10:00:00Z","type":"purchase","member":"a","amount":"20"}"#,
        r#"{"id":"4","at":"2027-04-02","type":"tick"}"#,
    ]);
    let (effects, _) = run_checked(&source, &lines);
    let expired: Vec<(String, i64)> = of_kind(&effects, "points_expired")
        .iter()
        .map(|e| (text(e, "at"), e["points"].as_i64().unwrap()))
        .collect();
    // At the end of 31 March: the same day for the first, a year on for
    // the second.
    assert_eq!(
        expired,
        [
            ("2026-04-01".to_string(), -10),
            ("2027-04-01".to_string(), -20)
        ]
    );
}

#[test]
fn customer_service_grants_a_tier_until_a_date() {
    let source = format!(
        "{SHOP}tier \"Silver\", for $500 spent in a calendar year\n\
         tier \"Gold\", for $1,000 spent in a calendar year\n"
    );
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-01-05","type":"purchase","member":"a","amount":"600"}"#,
        r#"{"id":"3","at":"2026-01-10","type":"set","member":"a","tier":"Gold","tier_until":"2026-03-31"}"#,
        r#"{"id":"4","at":"2026-01-11","type":"set","member":"a","tier":"Platinum","tier_until":"2026-03-31"}"#,
        r#"{"id":"5","at":"2026-01-12","type":"set","member":"a","tier":"Gold","tier_until":"2025-12-31"}"#,
        r#"{"id":"6","at":"2026-05-01","type":"tick"}"#,
    ]);
    let (effects, members) = run_checked(&source, &lines);
    let changes: Vec<(String, String)> = of_kind(&effects, "tier_changed")
        .iter()
        .map(|e| (text(e, "at"), text(e, "reason")))
        .collect();
    let change = |at: &str, reason: &str| (at.to_string(), reason.to_string());
    assert_eq!(
        changes,
        [
            change("2026-01-05", "tier changed: from no tier to \"Silver\""),
            change("2026-01-10", "tier changed: from \"Silver\" to \"Gold\""),
            // Gold is held through 31 March, then Silver, which the
            // member still qualifies for.
            change("2026-04-01", "tier changed: from \"Gold\" to \"Silver\""),
        ]
    );
    assert_eq!(members[0].tier, Some(0));
}

#[test]
fn a_partner_pays_a_price_per_point_and_is_named() {
    let source = "program \"Coalition\"\ncurrency USD\n\
                  points are called \"points\", worth $1 per 100 points\n\
                  partner \"Airline\", funds $0.80 per 100 points\n\
                  partner \"Hotel\", funds 50%\n\
                  earn 2 points per $1 spent, at any partner\n";
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"100","order":"o1","partner":"Airline"}"#,
        r#"{"id":"3","at":"2026-01-03","type":"purchase","member":"a","amount":"100","order":"o2","partner":"Hotel"}"#,
        r#"{"id":"4","at":"2026-01-04","type":"refund","member":"a","order":"o1","amount":"50"}"#,
    ]);
    let (effects, _) = run_checked(source, &lines);
    let funded: Vec<(String, String)> = of_kind(&effects, "partner_funded")
        .iter()
        .map(|e| (text(e, "value"), text(e, "reason")))
        .collect();
    let entry = |value: &str, reason: &str| (value.to_string(), reason.to_string());
    assert_eq!(
        funded,
        [
            // 200 points at $0.80 per 100.
            entry("1.60", "$1.60 funded by the partner: partner \"Airline\""),
            // Half of the $2.00 the 200 points are worth.
            entry("1.00", "$1.00 funded by the partner: partner \"Hotel\""),
            entry(
                "-0.80",
                "$0.80 paid back to the partner: partner \"Airline\", on a refund"
            ),
        ]
    );
}

/// The README's worked example of a basket.
const OUTDOOR_SHOP: &str = "program \"Outdoor Shop\"\ncurrency USD\n\
    points are called \"points\", worth $1 per 100 points\n\
    categories shoes, gift_cards\n\
    earn 1 point per $1 spent, excluding category gift_cards\n\
    earn 3 points per $1 spent, in category shoes\n\
    bonus 2x points, for product \"TRAIL-9\"\n\
    bonus 100 points, on orders of $150 or more\n";

const OUTDOOR_BASKET: &str = r#""items":[{"sku":"TRAIL-9","category":"shoes","amount":"100"},{"sku":"SOCK-1","category":"socks","quantity":2,"amount":"20"},{"sku":"GC-50","category":"gift_cards","amount":"50"}],"shipping":"10""#;

#[test]
fn a_basket_earns_item_by_item() {
    let purchase = |id: u32, order: &str| {
        format!(
            r#"{{"id":"{id}","at":"2026-01-02","type":"purchase","member":"a","order":"{order}",{OUTDOOR_BASKET}}}"#
        )
    };
    let enroll = r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#;
    // The shoes earn 3 a dollar, doubled for TRAIL-9: 600. The socks and
    // the shipping earn 1 a dollar: 30. The gift card earns nothing. The
    // order is over $150: 100 more.
    assert_eq!(
        earned(OUTDOOR_SHOP, &[enroll, &purchase(2, "o1")]),
        [600, 30, 100]
    );

    // With 10% off the socks, $2 comes off the items in proportion: the
    // shoes' $100 counts as $98.82 (296.46 points, doubled 592.92), the
    // socks' $20 as $19.76, and the shipping in full.
    let discounted = format!("{OUTDOOR_SHOP}discount 10%, for product \"SOCK-1\"\n");
    assert_eq!(
        earned(&discounted, &[enroll, &purchase(2, "o1")]),
        [592, 29, 100]
    );
}

#[test]
fn a_refund_names_the_items_returned() {
    let lines: Vec<String> = vec![
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#.to_string(),
        format!(r#"{{"id":"2","at":"2026-01-02","type":"purchase","member":"a","order":"o1",{OUTDOOR_BASKET}}}"#),
        // One pair of socks of two: $10 of the $180 paid.
        r#"{"id":"3","at":"2026-01-03","type":"refund","member":"a","order":"o1","items":[{"sku":"SOCK-1","quantity":1}]}"#.to_string(),
        // Three more are not there to return: rejected, nothing changes.
        r#"{"id":"4","at":"2026-01-04","type":"refund","member":"a","order":"o1","items":[{"sku":"SOCK-1","quantity":3}]}"#.to_string(),
        // The shoes, all of them.
        r#"{"id":"5","at":"2026-01-05","type":"refund","member":"a","order":"o1","items":[{"sku":"TRAIL-9"}]}"#.to_string(),
    ];
    let (effects, members) = run_checked(OUTDOOR_SHOP, &lines);
    let clawed: Vec<i64> = of_kind(&effects, "points_clawed_back")
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .collect();
    // The order earned 730 on $180: $10 back takes 730 * 10 / 180 = 40;
    // $110 back in all takes 446, so 406 more.
    assert_eq!(clawed, [-40, -406]);
    assert_eq!(members[0].orders[0].refunded, 11_000);
}

#[test]
fn a_rule_repeats_every_length_of_time() {
    let source = format!("{SHOP}earn 50 points every 2 weeks\n");
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01T09:00:00Z","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-01-29T09:00:00Z","type":"tick"}"#,
    ]);
    let (effects, _) = run_checked(&source, &lines);
    let at: Vec<String> = of_kind(&effects, "points_earned")
        .iter()
        .map(|e| text(e, "at"))
        .collect();
    // On joining, then 14 and 28 days on.
    assert_eq!(
        at,
        [
            "2026-01-01T09:00:00Z",
            "2026-01-15T09:00:00Z",
            "2026-01-29T09:00:00Z"
        ]
    );
}

#[test]
fn a_plan_that_replaces_another_credits_what_is_left_of_its_fee() {
    let source = "program \"Club\"\ncurrency USD\n\
                  membership \"Plus\", costs $10 per month\n\
                  membership \"Premium\", costs $30 per month, replaces \"Plus\"\n";
    let lines = owned(&[
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
        r#"{"id":"2","at":"2026-01-01","type":"subscribe","member":"a","plan":"Plus"}"#,
        r#"{"id":"3","at":"2026-01-16","type":"subscribe","member":"a","plan":"Premium"}"#,
        // Back down: `replaces` goes both ways.
        r#"{"id":"4","at":"2026-01-20","type":"subscribe","member":"a","plan":"Plus"}"#,
    ]);
    let (effects, members) = run_checked(source, &lines);
    let money: Vec<(String, String, String)> = effects
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["kind"] == "fee_charged" || e["kind"] == "fee_credited")
        .map(|e| (text(&e, "at"), text(&e, "kind"), text(&e, "value")))
        .collect();
    let entry = |at: &str, kind: &str, value: &str| (at.into(), kind.into(), value.into());
    assert_eq!(
        money,
        [
            entry("2026-01-01", "fee_charged", "10.00"),
            // 16 of January's 31 days of Plus are left: $10 x 16 / 31.
            entry("2026-01-16", "fee_credited", "5.16"),
            entry("2026-01-16", "fee_charged", "30.00"),
            // 27 of the 31 days from 16 January are left: $30 x 27 / 31.
            entry("2026-01-20", "fee_credited", "26.12"),
            entry("2026-01-20", "fee_charged", "10.00"),
        ]
    );
    let held: Vec<bool> = members[0]
        .memberships
        .iter()
        .map(|s| s.is_active())
        .collect();
    assert_eq!(held, [true, false]);
}
