//! The SQLite ledger through the `loyalty` binary: exactly once across
//! runs, rejects with line numbers, a crash at any moment, the member view,
//! a program's new version.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::stream::{RICH_PROGRAM, Rng, stream};

fn loyalty() -> Command {
    Command::new(env!("CARGO_BIN_EXE_loyalty"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loyalty-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `loyalty run PROGRAM --events EVENTS --ledger LEDGER`.
fn run_command(program: &Path, events: &Path, ledger: &Path) -> Command {
    let mut command = loyalty();
    command
        .arg("run")
        .arg(program)
        .arg("--events")
        .arg(events)
        .arg("--ledger")
        .arg(ledger);
    command
}

fn run(program: &Path, events: &Path, ledger: &Path, extra: &[&str]) -> Output {
    run_command(program, events, ledger)
        .args(extra)
        .output()
        .unwrap()
}

/// A run in the background, to be killed; its stderr goes nowhere.
fn spawn_run(program: &Path, events: &Path, ledger: &Path) -> std::process::Child {
    run_command(program, events, ledger)
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Everything the ledger holds, as text, in a fixed order.
fn dump(ledger: &Path) -> String {
    let conn = rusqlite::Connection::open(ledger).unwrap();
    let mut text = String::new();
    for query in [
        "SELECT seq, id, at, applied, raw FROM events ORDER BY seq",
        "SELECT seq, event_seq, event_id, at, member, kind, points, reward_money_cents, value_cents, scheduled, rule FROM ledger_entries_explained ORDER BY seq",
        "SELECT id, enrolled_at, tier, points_balance, reward_money_cents, state FROM members ORDER BY id",
        "SELECT member, kind, earned_at, expires_at, amount FROM earn_lots ORDER BY member, kind, expires_at, earned_at",
        "SELECT id, text FROM rules ORDER BY id",
        "SELECT id, line, reason, raw FROM rejected_events ORDER BY seq",
        "SELECT key, value FROM meta ORDER BY key",
    ] {
        let mut statement = conn.prepare(query).unwrap();
        let columns = statement.column_count();
        let mut rows = statement.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for c in 0..columns {
                let value: rusqlite::types::Value = row.get(c).unwrap();
                text.push_str(&format!("{value:?}|"));
            }
            text.push('\n');
        }
        text.push_str("--\n");
    }
    text
}

#[test]
fn the_same_file_twice_changes_nothing_and_reports_every_event_as_duplicate() {
    let dir = temp_dir("twice");
    let ledger = dir.join("ledger.db");
    let program = root().join("programs/dicks_scorecard.loy");
    let events = root().join("examples/events/dicks_scorecard.jsonl");
    let first = run(&program, &events, &ledger, &[]);
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let after_first = dump(&ledger);
    let second = run(
        &program,
        &events,
        &ledger,
        &["--rejects", dir.join("rejects.jsonl").to_str().unwrap()],
    );
    assert!(second.status.success());
    assert_eq!(dump(&ledger), after_first);
    let stderr = String::from_utf8(second.stderr).unwrap();
    assert!(
        stderr.ends_with("applied 0 events (0 effects), 14 duplicates skipped, 0 rejected\n"),
        "{stderr}"
    );
    let rejects = std::fs::read_to_string(dir.join("rejects.jsonl")).unwrap();
    assert_eq!(rejects.lines().count(), 14);
    assert!(rejects.lines().all(|l| l.contains(r#""duplicate":true"#)));
}

#[test]
fn bad_lines_are_rejected_whole_with_their_line_and_reason_and_the_rest_applies() {
    let dir = temp_dir("rejects");
    let ledger = dir.join("ledger.db");
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"id":"1","at":"2026-03-01","type":"enroll","member":"ana"}
{"id":"2","at":"2026-03-02","type":"purchase","member":"ana","amount":"40.00","order":"A1"}
this is not json
{"id":"4","at":"2026-03-03","type":"purchase","member":"bob","amount":"10.00"}
{"id":"5","at":"2026-03-04","type":"redeem","member":"ana","reward":"Tote bga"}
{"id":"6","at":"2026-03-05","type":"redeem","member":"ana","reward":"Tote bag"}
{"id":"7","at":"2026-03-01","type":"tick"}
{"id":"8","at":"2026-03-06","type":"refund","member":"ana","order":"A2","amount":"5.00"}
{"id":"9","at":"2026-03-06","type":"refund","member":"ana","order":"A1","amount":"50.00"}
{"id":"10","at":"2026-03-07","type":"purchase","member":"ana","amount":"12.345"}
{"id":"11","at":"2026-03-07","type":"purchase","member":"ana","amont":"12.00"}
{"id":"12","at":"2026-03-08","type":"purchase","member":"ana","amount":"260.00","order":"A3"}

{"id":"14","at":"2026-03-09","type":"redeem","member":"ana","reward":"Tote bag"}
"#,
    )
    .unwrap();
    let program = dir.join("rich.loy");
    std::fs::write(&program, RICH_PROGRAM).unwrap();
    let rejects = dir.join("rejects.jsonl");
    let output = run(
        &program,
        &events,
        &ledger,
        &["--rejects", rejects.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(
        String::from_utf8(output.stderr)
            .unwrap()
            .replace(dir.to_str().unwrap(), "DIR")
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let numbers: Vec<u64> = lines.iter().map(|l| l["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [3, 4, 5, 6, 7, 8, 9, 10, 11]);
    // Applied: 100 for joining, 40 for $40, 260 for $260 and 50 for an
    // order over $150, less 300 for the tote bag.
    let conn = rusqlite::Connection::open(&ledger).unwrap();
    let balance: i64 = conn
        .query_row(
            "SELECT points_balance FROM members WHERE id = 'ana'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(balance, 100 + 40 + 260 + 50 - 300);
    let sum: i64 = conn
        .query_row(
            "SELECT SUM(points) FROM ledger_entries WHERE member = 'ana'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sum, balance, "the entries add up to the balance");
}

/// Issue 17: what the budgets all members share have used is kept in
/// the ledger, so a stream run in two parts, each by a new process, gives
/// the ledger of one run, and the budget binds in both.
#[test]
fn a_budget_carries_over_from_run_to_run() {
    let dir = temp_dir("budgets");
    let program = dir.join("budgeted.loy");
    let budget = "bonus 25 points, on orders of $100 or more, up to 75 points per day in total";
    std::fs::write(&program, format!("{RICH_PROGRAM}{budget}\n")).unwrap();
    let lines = stream(300, 6_000, 11);
    let (first, second) = lines.split_at(3_001);
    let write = |name: &str, lines: &[String]| {
        let path = dir.join(name);
        std::fs::write(&path, lines.join("\n")).unwrap();
        path
    };
    let (all, first, second) = (
        write("all.jsonl", &lines),
        write("first.jsonl", first),
        write("second.jsonl", second),
    );
    let (whole, parts) = (dir.join("whole.db"), dir.join("parts.db"));
    run(&program, &all, &whole, &[]);
    run(&program, &first, &parts, &[]);
    run(&program, &second, &parts, &[]);
    // All but the rejects' line numbers, which count from each file's
    // start.
    let without_lines = |ledger: &Path| -> Vec<String> {
        let mut parts: Vec<String> = dump(ledger).split("--\n").map(String::from).collect();
        parts[5] = parts[5].lines().count().to_string();
        parts
    };
    assert_eq!(without_lines(&whole), without_lines(&parts));
    let most_in_a_day: i64 = one_value(
        &parts,
        "SELECT MAX(given) FROM (SELECT SUM(points) AS given FROM ledger_entries_explained \
         WHERE rule LIKE 'rule \"bonus 25 points%' GROUP BY substr(at, 1, 10))",
    );
    let days_at_the_budget: i64 = one_value(
        &parts,
        "SELECT COUNT(*) FROM (SELECT SUM(points) AS given FROM ledger_entries_explained \
         WHERE rule LIKE 'rule \"bonus 25 points%' GROUP BY substr(at, 1, 10)) WHERE given = 75",
    );
    assert_eq!(most_in_a_day, 75);
    assert!(days_at_the_budget > 20, "{days_at_the_budget}");
}

#[test]
fn a_killed_run_and_a_re_run_leave_the_ledger_of_one_clean_run() {
    let dir = temp_dir("crash");
    let program = dir.join("rich.loy");
    std::fs::write(&program, RICH_PROGRAM).unwrap();
    let events = dir.join("events.jsonl");
    std::fs::write(&events, stream(2_000, 60_000, 7).join("\n")).unwrap();

    let clean = dir.join("clean.db");
    let started = std::time::Instant::now();
    let output = run(&program, &events, &clean, &[]);
    // Kills land between a tenth and nine tenths of a clean run's time.
    let clean_run = started.elapsed().as_millis() as u64;
    assert!(output.status.code().is_some());
    let expected = dump(&clean);

    let crashed = dir.join("crashed.db");
    let mut rng = Rng::new(42);
    let mut kills = 0;
    for _ in 0..6 {
        let mut child = spawn_run(&program, &events, &crashed);
        let delay = clean_run / 10 + rng.below(clean_run * 8 / 10 + 1);
        std::thread::sleep(std::time::Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            // SIGKILL: no chance to clean up.
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
    }
    let output = run(&program, &events, &crashed, &[]);
    assert!(output.status.code().is_some());
    assert!(
        kills > 0,
        "no run was killed: the stream is too short for this machine"
    );
    assert_eq!(dump(&crashed), expected);
}

#[test]
fn member_shows_what_a_designer_checks() {
    let dir = temp_dir("member");
    let ledger = dir.join("ledger.db");
    let program = root().join("programs/cvs_extracare.loy");
    let events = root().join("examples/events/cvs_extracare.jsonl");
    assert!(run(&program, &events, &ledger, &[]).status.success());
    let output = loyalty()
        .args(["member", "erin", "--ledger"])
        .arg(&ledger)
        .output()
        .unwrap();
    assert!(output.status.success());
    insta::assert_snapshot!(String::from_utf8(output.stdout).unwrap());
    let output = loyalty()
        .args(["member", "erin", "--json", "--ledger"])
        .arg(&ledger)
        .output()
        .unwrap();
    let state: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(state["reward_money"], "$37.50");
    assert_eq!(state["rewards_held"][0]["reward"], "Beauty gift");
    let output = loyalty()
        .args(["member", "eirn", "--ledger"])
        .arg(&ledger)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("did you mean `erin`?")
    );
}

#[test]
fn a_ledger_of_an_earlier_schema_is_brought_to_this_one_and_continues() {
    // Schema 4's orders did not keep their visit: the $3 the visit gave
    // stays after the refund. Schema 5's did, and 6 only lacks nights.
    earlier_ledger_continues(4, 300);
    earlier_ledger_continues(5, 0);
    earlier_ledger_continues(6, 0);
}

fn earlier_ledger_continues(schema: u32, money_left_after_refund: i64) {
    let dir = temp_dir(&format!("schema{schema}"));
    let ledger = dir.join("ledger.db");
    let program = dir.join("program.loy");
    let events = dir.join("events.jsonl");
    std::fs::write(
        &program,
        "program \"Cafe\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\n\
         earn 1 point per $1 spent\nearn 56 points for visit\nearn $3 reward for visit\n",
    )
    .unwrap();
    std::fs::write(
        &events,
        "{\"id\":\"1\",\"at\":\"2026-01-01\",\"type\":\"enroll\",\"member\":\"a\"}\n\
         {\"id\":\"2\",\"at\":\"2026-01-02\",\"type\":\"purchase\",\"member\":\"a\",\"amount\":\"100\",\"order\":\"o1\"}\n",
    )
    .unwrap();
    assert!(run(&program, &events, &ledger, &[]).status.success());
    // As the earlier schema wrote it.
    {
        let conn = rusqlite::Connection::open(&ledger).unwrap();
        let state: Vec<u8> = conn
            .query_row("SELECT state FROM members WHERE id = 'a'", [], |row| {
                row.get(0)
            })
            .unwrap();
        let member: loyalty::engine::Member = postcard::from_bytes(&state).unwrap();
        assert_eq!(member.orders[0].visit.money, 300);
        let old =
            loyalty::engine::in_snapshot_schema(schema, || postcard::to_allocvec(&member).unwrap());
        assert!(old.len() < state.len());
        conn.execute("UPDATE members SET state = ?1 WHERE id = 'a'", [old])
            .unwrap();
        conn.execute(
            "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
            [schema.to_string()],
        )
        .unwrap();
    }
    // `member` reads it as it is; a run brings it to schema 7 and goes on.
    member_reads("a", &ledger);
    std::fs::write(
        &events,
        "{\"id\":\"3\",\"at\":\"2026-01-03\",\"type\":\"refund\",\"member\":\"a\",\"order\":\"o1\",\"amount\":\"100.00\"}\n",
    )
    .unwrap();
    let continued = run(&program, &events, &ledger, &[]);
    assert!(
        continued.status.success(),
        "{}",
        String::from_utf8_lossy(&continued.stderr)
    );
    assert_eq!(
        one_value::<String>(
            &ledger,
            "SELECT value FROM meta WHERE key = 'schema_version'"
        ),
        "8"
    );
    // The order's points (its rate's and its visit's) go back.
    assert_eq!(
        one_value::<i64>(&ledger, "SELECT points_balance FROM members WHERE id = 'a'"),
        0
    );
    assert_eq!(
        one_value::<i64>(
            &ledger,
            "SELECT reward_money_cents FROM members WHERE id = 'a'"
        ),
        money_left_after_refund
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_program_version_is_refused_unless_migrated() {
    let dir = temp_dir("migrate");
    let ledger = dir.join("ledger.db");
    let program = dir.join("program.loy");
    let events = dir.join("events.jsonl");
    std::fs::write(
        &program,
        "program \"Cafe\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\nearn 1 point per $1 spent\n",
    )
    .unwrap();
    std::fs::write(
        &events,
        "{\"id\":\"1\",\"at\":\"2026-01-01\",\"type\":\"enroll\",\"member\":\"a\"}\n\
         {\"id\":\"2\",\"at\":\"2026-01-02\",\"type\":\"purchase\",\"member\":\"a\",\"amount\":\"10\"}\n",
    )
    .unwrap();
    assert!(run(&program, &events, &ledger, &[]).status.success());
    std::fs::write(
        &program,
        "program \"Cafe\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\nearn 2 points per $1 spent\n",
    )
    .unwrap();
    std::fs::write(
        &events,
        "{\"id\":\"3\",\"at\":\"2026-01-03\",\"type\":\"purchase\",\"member\":\"a\",\"amount\":\"10\"}\n",
    )
    .unwrap();
    let refused = run(&program, &events, &ledger, &[]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8(refused.stderr)
            .unwrap()
            .contains("--migrate")
    );
    let migrated = run(&program, &events, &ledger, &["--migrate"]);
    assert!(
        migrated.status.success(),
        "{}",
        String::from_utf8_lossy(&migrated.stderr)
    );
    let conn = rusqlite::Connection::open(&ledger).unwrap();
    let balance: i64 = conn
        .query_row(
            "SELECT points_balance FROM members WHERE id = 'a'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    // 10 under the first version, 20 under the second.
    assert_eq!(balance, 30);
}

#[test]
fn an_orders_history_replays_as_enrolments_purchases_and_month_ends() {
    let dir = temp_dir("orders");
    let orders = dir.join("orders.csv");
    std::fs::write(
        &orders,
        "customer_id,order_date,total\nc1,2026-11-10,150.00\nc2,2026-11-28,100\nc1,2026-11-29,$50.00\nc3,someday,5\n",
    )
    .unwrap();
    let ledger = dir.join("ledger.db");
    let output = loyalty()
        .arg("run")
        .arg(root().join("programs/kohls.loy"))
        .arg("--orders")
        .arg(&orders)
        .arg("--ledger")
        .arg(&ledger)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "the bad row is rejected");
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("line 5: column 2 (order_date): `someday` is not a date"),
        "{stderr}"
    );
    let conn = rusqlite::Connection::open(&ledger).unwrap();
    let money: i64 = conn
        .query_row("SELECT SUM(reward_money_cents) FROM members", [], |r| {
            r.get(0)
        })
        .unwrap();
    // c1: 150 + 50 × 3 (the bonus days) = 300 points; c2: 100 × 3 = 300. On
    // 1 December each gets 3 × $5.
    assert_eq!(money, 3000);
}

/// Issue 14, defect 1: a second run while one runs (an overlapping cron
/// job, even on an empty file) is refused at once and writes nothing; a
/// reader works meanwhile; the first run's ledger is that of a run alone.
#[test]
fn a_second_run_during_a_run_is_refused_and_a_reader_still_reads() {
    use std::io::Write;
    let dir = temp_dir("one-writer");
    let program = dir.join("rich.loy");
    std::fs::write(&program, RICH_PROGRAM).unwrap();
    let lines = stream(300, 5_000, 11);
    let events = dir.join("events.jsonl");
    std::fs::write(&events, lines.join("\n")).unwrap();
    let alone = dir.join("alone.db");
    assert!(run(&program, &events, &alone, &[]).status.code().is_some());

    let ledger = dir.join("ledger.db");
    let first_half = &lines[..lines.len() / 2];
    let first_file = dir.join("first.jsonl");
    std::fs::write(&first_file, first_half.join("\n")).unwrap();
    // A committed first half, then a run that holds the ledger while
    // its input trickles in.
    assert!(
        run(&program, &first_file, &ledger, &[])
            .status
            .code()
            .is_some()
    );
    let mut writer = loyalty()
        .arg("run")
        .arg(&program)
        .args(["--events", "-", "--ledger"])
        .arg(&ledger)
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = writer.stdin.take().unwrap();
    writeln!(input, "{}", lines.join("\n")).unwrap();
    input.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));

    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let second = run(&program, &empty, &ledger, &[]);
    assert_eq!(second.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&second.stderr),
        format!(
            "error: ledger {} is being written by another `loyalty run` or `serve`: a ledger has one writer \
             at a time; run again when it has finished (`loyalty member` can read it meanwhile)\n",
            ledger.display()
        )
    );
    member_reads("m0", &ledger);

    drop(input);
    writer.wait().unwrap();
    assert_eq!(dump(&ledger), dump(&alone));
}

/// The one value a query of the ledger gives.
fn one_value<T: rusqlite::types::FromSql>(ledger: &Path, query: &str) -> T {
    rusqlite::Connection::open(ledger)
        .unwrap()
        .query_row(query, [], |row| row.get(0))
        .unwrap()
}

/// `loyalty member ID`, which must succeed.
fn member_reads(id: &str, ledger: &Path) {
    let output = loyalty()
        .args(["member", id, "--ledger"])
        .arg(ledger)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Kohl's program and example events, run clean into `dir/clean.db`.
fn kohls(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let program = root().join("programs/kohls.loy");
    let events = root().join("examples/events/kohls.jsonl");
    let clean = dir.join("clean.db");
    assert!(run(&program, &events, &clean, &[]).status.success());
    (program, events, clean)
}

/// Issue 14, defect 2: a ledger killed while being bound, as older
/// versions left it (the program's hash without its text), is bound
/// again by the next run, and `member` reads it.
#[test]
fn a_ledger_killed_while_being_bound_is_bound_by_the_next_run() {
    let dir = temp_dir("bind");
    let (program, events, clean) = kohls(&dir);
    let hash: String = one_value(&clean, "SELECT value FROM meta WHERE key = 'program_hash'");

    let ledger = dir.join("ledger.db");
    // The schema and the hash alone, as a kill between two of the old
    // binding's transactions left them.
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    assert!(run(&program, &empty, &ledger, &[]).status.success());
    rusqlite::Connection::open(&ledger)
        .unwrap()
        .execute_batch(&format!(
            "DELETE FROM meta WHERE key <> 'schema_version';
             INSERT INTO meta VALUES ('program_hash', '{hash}');"
        ))
        .unwrap();
    let output = run(&program, &events, &ledger, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    member_reads("carol", &ledger);
    assert_eq!(dump(&ledger), dump(&clean));
}

/// Issue 14, defect 2: runs killed in their first milliseconds, while
/// the ledger is made and bound, leave a ledger the next run completes.
#[test]
fn runs_killed_while_the_ledger_is_made_leave_one_the_next_run_completes() {
    let dir = temp_dir("early-kill");
    let (program, events, clean) = kohls(&dir);
    let expected = dump(&clean);
    let mut rng = Rng::new(5);
    for trial in 0..20 {
        let ledger = dir.join(format!("killed-{trial}.db"));
        let mut child = spawn_run(&program, &events, &ledger);
        std::thread::sleep(std::time::Duration::from_micros(rng.below(15_000)));
        let _ = child.kill();
        child.wait().unwrap();
        let output = run(&program, &events, &ledger, &[]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(dump(&ledger), expected, "trial {trial}");
    }
}

/// Issue 14: `member` opens the ledger without writing, so it reads one
/// on a read-only disk (where the machine lets a test mount one).
#[test]
fn member_reads_a_ledger_on_a_read_only_disk() {
    let dir = temp_dir("read-only");
    let (_, _, ledger) = kohls(&dir);
    let disk = dir.join("disk");
    std::fs::create_dir_all(&disk).unwrap();
    let mount = |args: &[&str]| {
        Command::new("mount")
            .args(args)
            .status()
            .is_ok_and(|s| s.success())
    };
    let disk_text = disk.to_str().unwrap();
    if !mount(&["-t", "tmpfs", "none", disk_text]) {
        eprintln!("skipped: this machine does not let the test mount a disk");
        return;
    }
    std::fs::copy(&ledger, disk.join("ledger.db")).unwrap();
    let read_only = mount(&["-o", "remount,ro", disk_text]);
    let output = loyalty()
        .args(["member", "carol", "--ledger"])
        .arg(disk.join("ledger.db"))
        .output()
        .unwrap();
    let _ = Command::new("umount").arg(&disk).status();
    assert!(read_only);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("member carol"));
}

/// Issue 14: a byte-order mark before the first event is not part of
/// it; a line with a byte that is not UTF-8 is one reject with its line
/// number, and the lines after it apply; amounts take thousands
/// separators in threes only.
#[test]
fn a_bom_is_skipped_and_a_line_that_is_not_text_or_a_loose_amount_is_one_reject() {
    let dir = temp_dir("bytes");
    let ledger = dir.join("ledger.db");
    let events = dir.join("events.jsonl");
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend_from_slice(
        br#"{"id":"1","at":"2026-03-01","type":"enroll","member":"ana"}
{"id":"2","at":"2026-03-02","type":"purchase","member":"ana","amount":"40.00"}
{"id":"3","at":"2026-03-02","type":"purchase","member":"ana","amount":"4"#,
    );
    bytes.push(0xff);
    bytes.extend_from_slice(
        br#"0.00"}
{"id":"4","at":"2026-03-03","type":"purchase","member":"ana","amount":"1,0,0"}
{"id":"5","at":"2026-03-03","type":"purchase","member":"ana","amount":",5"}
{"id":"6","at":"2026-03-04","type":"purchase","member":"ana","amount":"1,000.00"}
"#,
    );
    std::fs::write(&events, bytes).unwrap();
    let program = dir.join("rich.loy");
    std::fs::write(&program, RICH_PROGRAM).unwrap();
    let output = run(&program, &events, &ledger, &[]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(output.stderr)
            .unwrap()
            .replace(dir.to_str().unwrap(), "DIR"),
        "DIR/events.jsonl: applied 3 events (8 effects), 0 duplicates skipped, 3 rejected
  line 3: the line is not UTF-8 text (a bad byte at column 73)
  line 4 (event `4`): `amount` is not an amount of money: `1,0,0`
  line 5 (event `5`): `amount` is not an amount of money: `,5`
"
    );
    let balance: i64 = one_value(
        &ledger,
        "SELECT points_balance FROM members WHERE id = 'ana'",
    );
    // 100 for joining, 40 for $40, 1,000 for $1,000 and 50 for an order
    // over $150.
    assert_eq!(balance, 100 + 40 + 1_000 + 50);
}

/// Issue 16: a program's identity is the resolved program, not the
/// formatter's text. A ledger that stored another fingerprint of the
/// same program (as versions before this one did, from `fmt`'s text)
/// continues without `--migrate` and takes the new fingerprint; the same
/// program written in other words continues too; a program that does
/// something else is still refused.
#[test]
fn a_ledger_fingerprinted_another_way_continues_with_the_same_program() {
    let dir = temp_dir("identity");
    let (program, events, clean) = kohls(&dir);
    let fingerprint: String =
        one_value(&clean, "SELECT value FROM meta WHERE key = 'program_hash'");

    let ledger = dir.join("ledger.db");
    let empty = dir.join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    assert!(run(&program, &empty, &ledger, &[]).status.success());
    rusqlite::Connection::open(&ledger)
        .unwrap()
        .execute(
            "UPDATE meta SET value = '00c0ffee00c0ffee' WHERE key = 'program_hash'",
            [],
        )
        .unwrap();
    let output = run(&program, &events, &ledger, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stored: String = one_value(&ledger, "SELECT value FROM meta WHERE key = 'program_hash'");
    assert_eq!(stored, fingerprint);
    assert_eq!(dump(&ledger), dump(&clean));

    // Other words, same program: comments, blank lines, `$1` as `$1.00`.
    let text = std::fs::read_to_string(&program).unwrap();
    let reworded = dir.join("reworded.loy");
    std::fs::write(
        &reworded,
        format!(
            "# Kohl's, said again\n\n{}",
            text.replace("$1 spent", "$1.00 spent")
        ),
    )
    .unwrap();
    assert_ne!(std::fs::read_to_string(&reworded).unwrap(), text);
    let output = run(&reworded, &empty, &ledger, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Something else: refused, the ledger as it was.
    let other = dir.join("other.loy");
    std::fs::write(&other, text.replacen("earn 1 point", "earn 2 points", 1)).unwrap();
    assert_ne!(std::fs::read_to_string(&other).unwrap(), text);
    let output = run(&other, &empty, &ledger, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("another version of the program"));
    assert_eq!(dump(&ledger), dump(&clean));
}
