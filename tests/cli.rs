//! The commands as a user runs them: exit codes, where output goes,
//! files left as they were when they should be.

use std::process::{Command, Output, Stdio};

fn loyalty(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loyalty-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_exits_0_on_the_programs_and_1_on_an_invalid_file() {
    let ok = loyalty(&["check", "programs/", "examples/"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(
        ok.stderr.is_empty(),
        "no warnings: {}",
        String::from_utf8_lossy(&ok.stderr)
    );

    let bad = loyalty(&["check", "tests/fixtures/invalid/typos/three_mistakes.loy"]);
    assert_eq!(bad.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(stderr.matches("loyalty::").count(), 3, "{stderr}");
}

#[test]
fn check_json_prints_one_object_per_diagnostic() {
    let out = loyalty(&[
        "check",
        "--format",
        "json",
        "tests/fixtures/invalid/typos/three_mistakes.loy",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["code"], "loyalty::unknown_tier");
    assert_eq!(lines[1]["line"], 7);
    assert_eq!(lines[1]["column"], 55);
    assert_eq!(lines[1]["severity"], "error");
    assert_eq!(lines[1]["help"], "did you mean `Gold`?");
    assert!(
        lines[1]["file"]
            .as_str()
            .unwrap()
            .ends_with("three_mistakes.loy")
    );
}

#[test]
fn warnings_alone_do_not_fail_check() {
    let out = loyalty(&["check", "tests/fixtures/invalid/header/no_points_value.loy"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loyalty::no_points_value"));
}

#[test]
fn a_missing_file_is_a_usage_error() {
    let out = loyalty(&["check", "no/such/file.loy"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such/file.loy"));
}

#[test]
fn fmt_rewrites_in_place_and_check_lists_unformatted_files() {
    let dir = temp_dir("fmt");
    let file = dir.join("messy.loy");
    std::fs::write(&file, "program   \"Messy\"\ncurrency USD\n\n\n\nearn reward \"Drink\"   for every 5th visit\nreward \"Drink\",worth $2.5\n").unwrap();

    let check = loyalty(&["fmt", "--check", file.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("messy.loy"));

    assert_eq!(
        loyalty(&["fmt", file.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "program \"Messy\"\ncurrency USD\n\nearn reward \"Drink\" for every 5th visit\nreward \"Drink\", worth $2.50\n"
    );
    assert_eq!(
        loyalty(&["fmt", "--check", file.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn fmt_leaves_a_file_with_syntax_errors_untouched() {
    let dir = temp_dir("fmt-bad");
    let file = dir.join("bad.loy");
    let text = "program \"Bad\"\nern 1 point per $1 spent\n";
    std::fs::write(&file, text).unwrap();
    let out = loyalty(&["fmt", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did you mean `earn`?"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn fmt_dash_reads_stdin_and_writes_stdout() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args(["fmt", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"program \"X\"   # the name\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "program \"X\"  # the name\n"
    );
}

#[test]
fn show_json_prints_the_program() {
    let out = loyalty(&["show", "programs/subway.loy", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = json["items"].as_array().unwrap();
    let earn = items
        .iter()
        .find_map(|i| {
            i["statement"]["head"]
                .as_object()
                .filter(|h| h["is"] == "earn")
        })
        .unwrap();
    assert_eq!(earn["trigger"]["every_nth"]["nth"], 5);
    assert_eq!(earn["benefit"]["named"], "Free drink");
}

/// Issue 14: a reader that has gone (`| head`) ends a command quietly,
/// whichever stream it was reading: no panic, nothing on stderr.
#[test]
fn a_closed_pipe_ends_every_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let dir = temp_dir("pipe");
    let ledger = dir.join("l.db");
    let made = loyalty(&[
        "run",
        "programs/kohls.loy",
        "--events",
        "examples/events/kohls.jsonl",
        "--ledger",
        ledger.to_str().unwrap(),
    ]);
    assert!(made.status.success());
    let ledger = ledger.to_str().unwrap();
    let commands: [(&[&str], bool); 5] = [
        (&["member", "carol", "--ledger", ledger, "--json"], false),
        (&["show", "programs/kohls.loy", "--json"], false),
        (&["fmt", "-"], false),
        (
            &["check", "tests/fixtures/invalid/typos/three_mistakes.loy"],
            true,
        ),
        (
            &[
                "check",
                "--format",
                "json",
                "tests/fixtures/invalid/typos/three_mistakes.loy",
            ],
            true,
        ),
    ];
    for (args, on_stderr) in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        // The reader is gone before the command writes a byte.
        drop(reader);
        let (errors_reader, errors_writer) = std::io::pipe().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_loyalty"));
        command
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(std::fs::File::open("programs/kohls.loy").unwrap());
        let errors = if on_stderr {
            command.stderr(writer).stdout(Stdio::null());
            None
        } else {
            command.stdout(writer).stderr(errors_writer);
            Some(errors_reader)
        };
        let status = command.status().unwrap();
        drop(command);
        let mut said = String::new();
        if let Some(mut errors) = errors {
            use std::io::Read;
            errors.read_to_string(&mut said).unwrap();
        }
        assert!(
            status.signal() == Some(SIGPIPE) || status.code() != Some(101),
            "{args:?}: {status:?}"
        );
        assert_eq!(said, "", "{args:?}");
    }
}

/// SIGPIPE's number on Linux and the BSDs.
const SIGPIPE: i32 = 13;

/// Issue 14: one `tick` dated 9999-12-31 used to bring 8,000 years of
/// every member's scheduled work due (2.3 GB, then an abort). An event
/// more than a year after the last is rejected, and time can still be
/// brought forward a year at a time.
#[test]
fn an_event_more_than_a_year_ahead_is_rejected_and_the_rest_applies() {
    let dir = temp_dir("far-ahead");
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"id":"1","at":"2026-03-01","type":"enroll","member":"ana"}
{"id":"2","at":"9999-12-31","type":"tick"}
{"id":"3","at":"2027-03-03","type":"purchase","member":"ana","amount":"10.00"}
{"id":"4","at":"2027-03-01","type":"tick"}
{"id":"5","at":"2027-03-03","type":"purchase","member":"ana","amount":"10.00"}
"#,
    )
    .unwrap();
    let output = loyalty(&[
        "run",
        "programs/kohls.loy",
        "--events",
        events.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let report: Vec<&str> = stderr.lines().skip(1).collect();
    assert_eq!(
        report,
        [
            "  line 2 (event `2`): event at 9999-12-31 is more than a year after the last \
             applied event at 2026-03-01: time is brought forward at most a year at a \
             time (send a `tick` at least once a year); is the year a slip?",
            "  line 3 (event `3`): event at 2027-03-03 is more than a year after the last \
             applied event at 2026-03-01: time is brought forward at most a year at a \
             time (send a `tick` at least once a year); is the year a slip?",
        ]
    );
}

/// Issue 18: `run --events -` applies a line as soon as no other is
/// waiting, commits it and writes its effects out, so a producer that
/// sends one event and waits gets its answer, and the ledger holds it,
/// before it sends the next.
#[test]
fn run_from_a_pipe_answers_each_line_as_it_arrives() {
    use std::io::{BufRead, BufReader, Write};
    let dir = temp_dir("live");
    let program = dir.join("shop.loy");
    std::fs::write(
        &program,
        "program \"Shop\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\n\
         earn 1 point per $1 spent\n",
    )
    .unwrap();
    let ledger = dir.join("ledger.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .args([
            "run",
            program.to_str().unwrap(),
            "--events",
            "-",
            "--effects",
            "-",
        ])
        .arg("--ledger")
        .arg(&ledger)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let (lines, answers) = std::sync::mpsc::channel();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in stdout.lines() {
            let _ = lines.send(line.unwrap());
        }
    });
    let answer = |kind: &str| {
        let line = answers
            .recv_timeout(std::time::Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no `{kind}` effect while the pipe stays open"));
        let effect: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(effect["kind"], kind, "{line}");
        effect
    };
    let events_stored = || -> i64 {
        rusqlite::Connection::open(&ledger)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .unwrap()
    };
    writeln!(
        stdin,
        r#"{{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}}"#
    )
    .unwrap();
    stdin.flush().unwrap();
    answer("enrolled");
    assert_eq!(events_stored(), 1, "committed before the answer");
    writeln!(
        stdin,
        r#"{{"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"42"}}"#
    )
    .unwrap();
    stdin.flush().unwrap();
    assert_eq!(answer("points_earned")["points"], 42);
    assert_eq!(events_stored(), 2);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
