//! `loyalty serve`: the engine over HTTP on the embedded ledger, driven
//! as a client would, over a real socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

const SHOP: &str = "program \"Shop\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\n\
                    earn 1 point per $1 spent\n";

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loyalty-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A folder for a test, with the shop's program in it.
fn shop(name: &str) -> (PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let program = dir.join("shop.loy");
    std::fs::write(&program, SHOP).unwrap();
    (dir, program)
}

/// `loyalty serve` on a port of its choosing; the port it names.
fn serve(program: &Path, ledger: &Path) -> (Child, u16) {
    serve_with(program, ledger, &["--listen", "127.0.0.1:0"], &[])
}

fn serve_with(program: &Path, ledger: &Path, args: &[&str], env: &[(&str, &str)]) -> (Child, u16) {
    // What the service says on standard error goes to a file, which
    // `stop` reads for a panic.
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let said = std::env::temp_dir().join(format!("loyalty-serve-{}-{n}.err", std::process::id()));
    let mut child = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .arg("serve")
        .arg(program)
        .arg("--ledger")
        .arg(ledger)
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&said).unwrap())
        .spawn()
        .unwrap();
    STDERR_OF.lock().unwrap().push((child.id(), said));
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = first.trim().rsplit(':').next().unwrap().parse().unwrap();
    (child, port)
}

/// One HTTP/1.1 request; the status and the JSON body.
fn request(port: u16, method: &str, path: &str, body: &str) -> (u16, Value) {
    request_with(port, "", method, path, body)
}

/// A request with more header lines (each ending in CRLF).
fn request_with(port: u16, headers: &str, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, body) = request_text(port, headers, method, path, body);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// A request; the status and the body as text.
fn request_text(port: u16, headers: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    try_request(port, headers, method, path, body).unwrap()
}

/// A request that may find no one listening, or be cut off.
fn try_request(
    port: u16,
    headers: &str,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         {headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let cut = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "cut off");
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(cut)?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(cut)?;
    Ok((status, body.to_string()))
}

/// Now in UTC as event times are written (`2026-12-01T01:45:01Z`), which
/// compare as text.
fn now() -> String {
    let output = Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .unwrap();
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// Where each service started by `serve_with` says what it says on
/// standard error, by process id.
static STDERR_OF: std::sync::Mutex<Vec<(u32, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// Stops the service as a deployment does (SIGTERM), which must end
/// cleanly, without a panic anywhere in it.
fn stop(mut child: Child) {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    assert!(child.wait().unwrap().success());
    let said = STDERR_OF
        .lock()
        .unwrap()
        .iter()
        .find(|(pid, _)| *pid == child.id())
        .map(|(_, path)| {
            let said = std::fs::read_to_string(path).unwrap_or_default();
            let _ = std::fs::remove_file(path);
            said
        });
    if let Some(said) = said {
        assert!(!said.contains("panicked"), "{said}");
    }
}

/// Issue 18: events in, effects out once durable; a duplicate id is
/// answered as one; a reject is the request's 422 with its reason; a
/// member reads as `member --json` shows it; the ledger has one writer;
/// and what was served is there after a restart.
#[test]
fn serve_applies_events_answers_with_effects_and_keeps_the_ledger() {
    let (dir, program) = shop("events");
    let ledger = dir.join("ledger.db");
    let (child, port) = serve(&program, &ledger);

    assert_eq!(request(port, "GET", "/v1/health", "").0, 200);
    let enroll = r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#;
    let (status, answer) = request(port, "POST", "/v1/events", enroll);
    assert_eq!((status, answer["outcome"].as_str()), (200, Some("applied")));
    assert_eq!(answer["effects"][0]["kind"], "enrolled");

    let batch = r#"[{"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"42"},
                    {"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"42"},
                    {"id":"3","at":"2026-01-02","type":"purchase","member":"zz","amount":"4"}]"#;
    let (status, answers) = request(port, "POST", "/v1/events", batch);
    assert_eq!(status, 200);
    let outcomes: Vec<(&str, &str)> = answers["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [("2", "applied"), ("2", "applied"), ("3", "rejected")]
    );
    assert_eq!(answers["results"][1]["duplicate"], true);
    assert_eq!(answers["results"][0]["effects"][0]["points"], 42);
    assert_eq!(
        answers["results"][2]["reason"],
        "unknown member `zz`: enroll the member first"
    );

    let (status, answer) = request(
        port,
        "POST",
        "/v1/events",
        r#"{"id":"5","at":"tomorrow","type":"tick"}"#,
    );
    assert_eq!(status, 422);
    assert!(
        answer["reason"].as_str().unwrap().contains("`at`"),
        "{answer}"
    );
    let (status, answer) = request(port, "POST", "/v1/events", "[1, 2");
    assert_eq!((status, answer["status"].as_u64()), (400, Some(400)));

    // A body past the limit is refused, as a problem.
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    std::thread::spawn(move || {
        let size = 33 << 20;
        let _ = write!(
            writer,
            "POST /v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Length: {size}\r\n\
             Connection: close\r\n\r\n"
        );
        let chunk = vec![b' '; 1 << 20];
        for _ in 0..33 {
            if writer.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let mut response = String::new();
    let _ = BufReader::new(stream).read_to_string(&mut response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains(r#""status":413"#), "{response}");

    let (status, member) = request(port, "GET", "/v1/members/a", "");
    assert_eq!((status, member["points"].as_i64()), (200, Some(42)));
    assert_eq!(request(port, "GET", "/v1/members/b", "").0, 404);
    assert_eq!(request(port, "GET", "/v1/nothing", "").0, 404);

    // The ledger has one writer while `serve` holds it.
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        r#"{"id":"9","at":"2026-01-03","type":"enroll","member":"c"}"#,
    )
    .unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .arg("run")
        .arg(&program)
        .arg("--events")
        .arg(&events)
        .arg("--ledger")
        .arg(&ledger)
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("is being written by another"), "{stderr}");

    stop(child);
    let (child, port) = serve(&program, &ledger);
    let (_, member) = request(port, "GET", "/v1/members/a", "");
    assert_eq!(member["points"], 42);
    stop(child);
}

/// Issue 18: an id sent again gets the first answer, effects and reasons
/// as they were, marked a duplicate, in the same group or after a
/// restart; the same id with another event is a conflict (409).
#[test]
fn a_duplicate_gets_the_first_answer_and_another_event_under_its_id_a_conflict() {
    let (dir, program) = shop("duplicates");
    let ledger = dir.join("ledger.db");
    let (child, port) = serve(&program, &ledger);
    let send = |event: &str| request(port, "POST", "/v1/events", event);
    send(r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#);
    let purchase =
        r#"{"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"42.50"}"#;
    let (status, first) = send(purchase);
    assert_eq!(status, 200);
    assert_eq!(
        first["effects"],
        serde_json::json!([{
            "member": "a", "at": "2026-01-02", "kind": "points_earned",
            "points": 42, "reward_money": "0.00", "value": "0.00", "scheduled": false,
            "reason": "earned 42 points: rule \"earn 1 point per $1 spent\"",
        }])
    );
    let mut again = first.clone();
    again["duplicate"] = true.into();
    assert_eq!(send(purchase), (200, again.clone()));

    // Another event under a used id changes nothing.
    let other = r#"{"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"99"}"#;
    let (status, conflict) = send(other);
    assert_eq!(
        (status, conflict["outcome"].as_str()),
        (409, Some("conflict"))
    );
    assert_eq!(
        conflict["reason"],
        "event id `2` was used before for a different event"
    );

    // A reject sent again is the same reject, marked a duplicate.
    let stranger = r#"{"id":"3","at":"2026-01-02","type":"purchase","member":"zz","amount":"4"}"#;
    let (status, rejected) = send(stranger);
    assert_eq!(status, 422);
    let (status, again_rejected) = send(stranger);
    assert_eq!(status, 422);
    assert_eq!(again_rejected["reason"], rejected["reason"]);
    assert_eq!(again_rejected["duplicate"], true);

    // Sent without `at`, a retry is stamped anew and is still the same
    // event.
    let live = r#"{"id":"4","type":"purchase","member":"a","amount":"1"}"#;
    let (_, live_first) = send(live);
    let (status, live_again) = send(live);
    assert_eq!(
        (status, live_again["duplicate"].as_bool()),
        (200, Some(true))
    );
    assert_eq!(live_again["effects"], live_first["effects"]);

    // After a restart the first answer comes from the ledger.
    stop(child);
    let (child, port) = serve(&program, &ledger);
    assert_eq!(request(port, "POST", "/v1/events", purchase), (200, again));
    let (_, member) = request(port, "GET", "/v1/members/a", "");
    assert_eq!(member["points"], 43);
    stop(child);
}

/// Issue 18: a member's entries, newest first, a page at a time, each
/// with its reason and event; bad paging is a 400 naming the field.
#[test]
fn a_member_s_entries_come_a_page_at_a_time() {
    let (dir, program) = shop("entries");
    let (child, port) = serve(&program, &dir.join("ledger.db"));
    let mut events = vec![
        r#"{"id":"e0","at":"2026-01-01","type":"enroll","member":"a"}"#.to_string(),
        r#"{"id":"f0","at":"2026-01-01","type":"enroll","member":"b"}"#.to_string(),
    ];
    for n in 1..=4 {
        events.push(format!(
            r#"{{"id":"e{n}","at":"2026-01-0{}","type":"purchase","member":"a","amount":"{n}0"}}"#,
            n + 1
        ));
        events.push(format!(
            r#"{{"id":"f{n}","at":"2026-01-0{}","type":"purchase","member":"b","amount":"1"}}"#,
            n + 1
        ));
    }
    let (status, _) = request(
        port,
        "POST",
        "/v1/events",
        &format!("[{}]", events.join(",")),
    );
    assert_eq!(status, 200);

    let page = |query: &str| request(port, "GET", &format!("/v1/members/a/entries{query}"), "");
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    loop {
        let (status, body) = page(&query);
        assert_eq!(status, 200, "{body}");
        for entry in body["entries"].as_array().unwrap() {
            seen.push((
                entry["event"].as_str().unwrap().to_string(),
                entry["reason"].as_str().unwrap().to_string(),
            ));
        }
        match body["next_after"].as_i64() {
            Some(after) => query = format!("?limit=2&after={after}"),
            None => break,
        }
    }
    let expected: Vec<(String, String)> = (1..=4)
        .rev()
        .map(|n| {
            (
                format!("e{n}"),
                format!("earned {n}0 points: rule \"earn 1 point per $1 spent\""),
            )
        })
        .chain([("e0".to_string(), "enrolled".to_string())])
        .collect();
    assert_eq!(seen, expected);

    let (_, all) = page("");
    assert_eq!(all["entries"].as_array().unwrap().len(), 5);
    assert_eq!(all["next_after"], Value::Null);
    let (status, bad) = page("?limit=0");
    assert_eq!(status, 400);
    assert_eq!(bad["detail"], "`limit` must be from 1 to 1000, not 0");
    assert_eq!(page("?after=x").0, 400);
    // An entry of another member is no place in this one's pages.
    let (_, of_b) = request(port, "GET", "/v1/members/b/entries?limit=1", "");
    let b_entry = of_b["entries"][0]["seq"].as_i64().unwrap();
    assert_eq!(page(&format!("?after={b_entry}")).0, 400);
    assert_eq!(request(port, "GET", "/v1/members/zz/entries", "").0, 404);
    stop(child);
}

/// Issue 18: with API keys, every request but the health check needs
/// one (401), a read-only key reads and may not write (403), and `serve`
/// may listen beyond loopback; without keys it refuses to.
#[test]
fn api_keys_allow_reading_or_writing() {
    let (dir, program) = shop("keys");
    let keys = dir.join("keys");
    std::fs::write(&keys, "# the till\nread-write:till-0123456789abcdef\n").unwrap();
    let ledger = dir.join("ledger.db");
    let (child, port) = serve_with(
        &program,
        &ledger,
        &[
            "--listen",
            "0.0.0.0:0",
            "--api-keys",
            keys.to_str().unwrap(),
        ],
        &[("LOYALTY_API_KEYS", "read-only:report-0123456789abcdef")],
    );
    let till = "Authorization: Bearer till-0123456789abcdef\r\n";
    let report = "Authorization: Bearer report-0123456789abcdef\r\n";
    let enroll = r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#;

    assert_eq!(request(port, "GET", "/v1/health", "").0, 200);
    let (status, body) = request(port, "GET", "/v1/members/a", "");
    assert_eq!(status, 401);
    assert_eq!(
        body["detail"],
        "send a valid API key: `Authorization: Bearer KEY`"
    );
    let wrong = "Authorization: Bearer till-0123456789abcdeF\r\n";
    assert_eq!(
        request_with(port, wrong, "POST", "/v1/events", enroll).0,
        401
    );
    assert_eq!(request(port, "POST", "/v1/events", enroll).0, 401);
    let (status, body) = request_with(port, report, "POST", "/v1/events", enroll);
    assert_eq!(
        (status, body["detail"].as_str()),
        (403, Some("this API key is read-only"))
    );
    assert_eq!(
        request_with(port, till, "POST", "/v1/events", enroll).0,
        200
    );
    assert_eq!(
        request_with(port, report, "GET", "/v1/members/a", "").0,
        200
    );
    stop(child);

    // Without keys, only loopback.
    let refused = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .arg("serve")
        .arg(&program)
        .arg("--ledger")
        .arg(&ledger)
        .args(["--listen", "0.0.0.0:0"])
        .env_remove("LOYALTY_API_KEYS")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim(),
        "error: without API keys, serve listens on loopback only (127.0.0.1 or ::1), not \
         0.0.0.0: give keys with --api-keys FILE or LOYALTY_API_KEYS"
    );
    // A bad key file names its line.
    std::fs::write(
        &keys,
        "read-write:0123456789abcdef\nadmin:0123456789abcdef\n",
    )
    .unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .arg("serve")
        .arg(&program)
        .arg("--ledger")
        .arg(&ledger)
        .args(["--api-keys", keys.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("keys:2: `admin` is no access: expected `read-only` or `read-write`"),
        "{stderr}"
    );
}

/// Issue 18: a quote answers what a purchase would do (worked out by
/// hand below), exactly what the purchase then does, and changes nothing.
#[test]
fn a_quote_tells_what_a_purchase_would_do_and_changes_nothing() {
    let dir = temp_dir("quote");
    let program = dir.join("shop.loy");
    std::fs::write(
        &program,
        "program \"Shop\"\ncurrency USD\npoints are called \"points\", worth $1 per 100 points\n\
         tier \"Member\"\ntier \"Gold\", for $500 spent in a calendar year {\n  bonus 2x points\n}\n\
         categories shoes\nearn 1 point per $1 spent\ndiscount 10%, in category shoes\n\
         earn 15% off the next order for newsletter, once per member\n",
    )
    .unwrap();
    let (child, port) = serve(&program, &dir.join("ledger.db"));
    let history = r#"[{"id":"1","at":"2026-01-01","type":"enroll","member":"a"},
        {"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"450"},
        {"id":"3","at":"2026-01-02","type":"action","member":"a","action":"newsletter"}]"#;
    assert_eq!(request(port, "POST", "/v1/events", history).0, 200);
    let before = request(port, "GET", "/v1/members/a", "").1;

    let basket = r#""at":"2026-01-03","amount":"100",
        "items":[{"sku":"s1","category":"shoes","quantity":1,"amount":"100"}]"#;
    let (status, quote) = request(
        port,
        "POST",
        "/v1/quote",
        &format!(r#"{{"member":"a",{basket}}}"#),
    );
    assert_eq!(status, 200, "{quote}");
    // $100 of shoes: 10% off is $10.00; the held 15% off takes $13.50 of
    // the $90 left; $76.50 paid earns 76 points at 1 a dollar, and
    // $450 + $76.50 spent this year reaches Gold ($500).
    assert_eq!(
        (&quote["points"], &quote["discount"], &quote["rewards_used"]),
        (
            &Value::from(76),
            &Value::from("10.00"),
            &Value::from("13.50")
        )
    );
    assert_eq!(quote["tier"], "Gold");
    assert_eq!(quote["tier_progress"][0]["so_far"], "$526.50");
    assert_eq!(quote["tier_progress"][0]["to_go"], "$0.00");
    // Nothing changed.
    assert_eq!(request(port, "GET", "/v1/members/a", "").1, before);
    assert_eq!(before["tier_progress"][0]["to_go"], "$50.00");

    // The purchase itself does what the quote said.
    let (_, applied) = request(
        port,
        "POST",
        "/v1/events",
        &format!(r#"{{"id":"4","type":"purchase","member":"a",{basket}}}"#),
    );
    let mut effects = applied["effects"].clone();
    for effect in effects.as_array_mut().unwrap() {
        effect.as_object_mut().unwrap().remove("member");
    }
    assert_eq!(effects, quote["effects"]);

    // Without a member: someone who joins with the purchase.
    let (status, guest) = request(port, "POST", "/v1/quote", r#"{"amount":"20"}"#);
    assert_eq!(
        (status, &guest["member"], &guest["points"]),
        (200, &Value::Null, &Value::from(20))
    );
    let (status, unknown) = request(
        port,
        "POST",
        "/v1/quote",
        r#"{"member":"zz","amount":"20"}"#,
    );
    assert_eq!(
        (status, unknown["detail"].as_str()),
        (422, Some("unknown member `zz`: enroll the member first"))
    );
    assert_eq!(request(port, "POST", "/v1/quote", "[1]").0, 400);
    let (status, refund) = request(
        port,
        "POST",
        "/v1/quote",
        r#"{"type":"refund","member":"a"}"#,
    );
    assert_eq!(
        (status, refund["detail"].as_str()),
        (400, Some("a quote is of a purchase, not `\"refund\"`"))
    );
    stop(child);
}

/// Issue 18: Prometheus metrics count requests by endpoint and status,
/// time them, and count events by outcome and effects by kind.
#[test]
fn metrics_count_requests_events_and_effects() {
    let (dir, program) = shop("metrics");
    // One tick on the wall clock, when it starts, and no other.
    let (child, port) = serve_with(
        &program,
        &dir.join("ledger.db"),
        &["--listen", "127.0.0.1:0", "--tick-every", "86400"],
        &[],
    );
    let batch = r#"[{"id":"1","at":"2026-01-01","type":"enroll","member":"a"},
        {"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"5"},
        {"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"5"},
        {"id":"3","at":"2026-01-02","type":"purchase","member":"b","amount":"5"}]"#;
    assert_eq!(request(port, "POST", "/v1/events", batch).0, 200);
    let purchase = r#"{"id":"4","at":"2026-01-03","type":"purchase","member":"a","amount":"7"}"#;
    assert_eq!(request(port, "POST", "/v1/events", purchase).0, 200);
    assert_eq!(request(port, "GET", "/v1/members/b", "").0, 404);
    assert_eq!(request(port, "GET", "/v1/nothing", "").0, 404);

    let (status, text) = request_text(port, "", "GET", "/metrics", "");
    assert_eq!(status, 200);
    let value = |series: &str| -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|n| n.parse().unwrap())
    };
    for (series, expected) in [
        (
            r#"loyalty_requests_total{endpoint="/v1/events",status="200"}"#,
            2.0,
        ),
        (
            r#"loyalty_requests_total{endpoint="/v1/members/{id}",status="404"}"#,
            1.0,
        ),
        (
            r#"loyalty_requests_total{endpoint="other",status="404"}"#,
            1.0,
        ),
        (
            r#"loyalty_request_seconds_count{endpoint="/v1/events"}"#,
            2.0,
        ),
        (
            r#"loyalty_request_seconds_bucket{endpoint="/v1/events",le="+Inf"}"#,
            2.0,
        ),
        (r#"loyalty_events_total{outcome="applied"}"#, 4.0),
        (r#"loyalty_events_total{outcome="rejected"}"#, 1.0),
        (r#"loyalty_events_total{outcome="duplicate"}"#, 1.0),
        (r#"loyalty_effects_total{kind="enrolled"}"#, 1.0),
        (r#"loyalty_effects_total{kind="points_earned"}"#, 2.0),
        ("loyalty_members", 1.0),
    ] {
        assert_eq!(value(series), Some(expected), "{series} in\n{text}");
    }
    assert!(text.contains("# TYPE loyalty_request_seconds histogram"));
    stop(child);
}

/// Issue 18: scheduled work happens on the wall clock without anyone
/// sending a `tick`: points earned 40 days ago under a 30-day expiry
/// expire, though their member does nothing more.
#[test]
fn scheduled_work_happens_on_the_wall_clock() {
    let dir = temp_dir("wall-clock");
    let expired = expires_on_the_wall_clock(&dir, &dir.join("ledger.db"));
    assert!(
        expired["event"].as_str().unwrap().starts_with("tick-"),
        "{expired}"
    );
}

/// The same on PostgreSQL, where the instance holding the lock of the
/// ticks runs the work of the members due, with no event to name.
#[test]
fn scheduled_work_happens_on_the_wall_clock_on_postgres() {
    let Some(database) = postgres_database("wall_clock") else {
        return;
    };
    let dir = temp_dir("wall-clock-postgres");
    let expired = expires_on_the_wall_clock(&dir, Path::new(&database));
    assert_eq!(expired["event"], Value::Null, "{expired}");
}

/// Serves a program whose points expire after 30 days on `ledger`, with
/// ticks every second, sends a purchase of 40 days ago, and waits for
/// its points to expire: the entry that expired them.
fn expires_on_the_wall_clock(dir: &Path, ledger: &Path) -> Value {
    let program = dir.join("shop.loy");
    std::fs::write(
        &program,
        format!("{SHOP}points expire 30 days after they are earned\n"),
    )
    .unwrap();
    let (child, port) = serve_with(
        &program,
        ledger,
        &["--listen", "127.0.0.1:0", "--tick-every", "1"],
        &[],
    );
    let days_ago = |days: i64| {
        let output = Command::new("date")
            .args([
                "-u",
                "-d",
                &format!("{days} days ago"),
                "+%Y-%m-%dT%H:%M:%SZ",
            ])
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let events = format!(
        r#"[{{"id":"1","at":"{}","type":"enroll","member":"a"}},
            {{"id":"2","at":"{}","type":"purchase","member":"a","amount":"25"}}]"#,
        days_ago(41),
        days_ago(40)
    );
    let (status, answer) = request(port, "POST", "/v1/events", &events);
    assert_eq!(status, 200, "{answer}");
    let mut expired = None;
    for _ in 0..50 {
        let (_, entries) = request(port, "GET", "/v1/members/a/entries", "");
        expired = entries["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "points_expired")
            .cloned();
        if expired.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let expired = expired.expect("a tick on the wall clock expires the points");
    assert_eq!(expired["points"], -25);
    assert_eq!(expired["scheduled"], true);
    assert_eq!(request(port, "GET", "/v1/members/a", "").1["points"], 0);
    stop(child);
    expired
}

/// A webhook receiver on `port` (0: any): answers each request with the
/// next status of `answers` (200 once they run out) and hands over what
/// it received.
fn receiver(port: u16, answers: Vec<u16>) -> (u16, std::sync::mpsc::Receiver<(String, String)>) {
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let (heard, hearing) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut answers = answers.into_iter();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let length: usize = head
                .lines()
                .find_map(|l| {
                    l.to_lowercase()
                        .strip_prefix("content-length:")
                        .map(|n| n.trim().parse().unwrap())
                })
                .unwrap_or(0);
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let status = answers.next().unwrap_or(200);
            let _ = write!(
                reader.get_mut(),
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            if heard
                .send((head, String::from_utf8(body).unwrap()))
                .is_err()
            {
                return;
            }
        }
    });
    (port, hearing)
}

fn header<'h>(head: &'h str, name: &str) -> &'h str {
    head.lines()
        .find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
        .unwrap_or_else(|| panic!("no {name} in {head}"))
}

/// Issue 18: effects of the chosen kinds are delivered as signed POSTs
/// from an outbox kept with the ledger: a receiver that fails is tried
/// again, with the same delivery number, until it answers; the status is
/// readable; a delivery not yet made when the service stops is made after
/// it starts again.
#[test]
fn webhooks_deliver_chosen_effects_signed_and_retry_until_received() {
    let (dir, program) = shop("webhooks");
    webhooks_deliver_on(&dir, &program, &dir.join("ledger.db"));
}

/// The same on PostgreSQL, where the outbox is a table of the ledger's
/// and one instance at a time delivers a webhook's deliveries.
#[test]
fn webhooks_deliver_on_postgres() {
    let Some(database) = postgres_database("webhooks") else {
        return;
    };
    let (dir, program) = shop("webhooks-postgres");
    webhooks_deliver_on(&dir, &program, Path::new(&database));
}

/// A webhook for points earned, whose receiver refuses twice and then
/// accepts: three signed attempts at the one delivery, only of the kind
/// chosen; then, with the receiver down, a delivery waits through a
/// restart and is made once it is back.
fn webhooks_deliver_on(dir: &Path, program: &Path, ledger: &Path) {
    use hmac::{Hmac, Mac};
    let secret = "whsec-0123456789abcdef";
    let (port_hook, heard) = receiver(0, vec![500, 503]);
    let hooks = dir.join("webhooks.toml");
    std::fs::write(
        &hooks,
        format!(
            "[[webhook]]\nname = \"crm\"\nurl = \"http://127.0.0.1:{port_hook}/hook\"\n\
             kinds = [\"points_earned\"]\nsecret = \"{secret}\"\n"
        ),
    )
    .unwrap();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--webhooks",
        hooks.to_str().unwrap(),
    ];
    let (child, port) = serve_with(program, ledger, &args, &[]);
    let events = r#"[{"id":"1","at":"2026-01-01","type":"enroll","member":"a"},
        {"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"12"}]"#;
    assert_eq!(request(port, "POST", "/v1/events", events).0, 200);

    // Three attempts, the first two refused, all of the one delivery.
    let attempts: Vec<(String, String)> = (0..3)
        .map(|_| {
            heard
                .recv_timeout(std::time::Duration::from_secs(20))
                .unwrap()
        })
        .collect();
    for (head, body) in &attempts {
        assert_eq!(header(head, "Loyalty-Delivery"), "1");
        let signature = header(head, "Loyalty-Signature");
        let (t, v1) = signature
            .strip_prefix("t=")
            .and_then(|rest| rest.split_once(",v1="))
            .unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.{body}").as_bytes());
        let expected: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(v1, expected, "the signature of {body}");
        let body: Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["webhook"], "crm");
        assert_eq!(body["event"], "2");
        assert_eq!(body["effect"]["kind"], "points_earned");
        assert_eq!(body["effect"]["points"], 12);
        assert_eq!(body["effect"]["member"], "a");
    }
    // Only the chosen kind: the enrolment was not sent.
    assert!(
        heard
            .recv_timeout(std::time::Duration::from_millis(300))
            .is_err()
    );
    let mut report = Value::Null;
    for _ in 0..50 {
        report = request(port, "GET", "/v1/webhooks", "").1;
        if report["webhooks"][0]["delivered"] == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let crm = &report["webhooks"][0];
    assert_eq!(
        (&crm["delivered"], &crm["backlog"], &crm["failing"]),
        (&Value::from(1), &Value::from(0), &Value::from(false)),
        "{report}"
    );
    assert_eq!(crm["last_error"], "answered 503 Service Unavailable");
    stop(child);

    // The receiver is down: the delivery waits in the outbox through a
    // restart, and is made once it is back.
    let down = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port_down = down.local_addr().unwrap().port();
    drop(down);
    std::fs::write(
        &hooks,
        format!(
            "[[webhook]]\nname = \"crm\"\nurl = \"http://127.0.0.1:{port_down}/hook\"\n\
             kinds = [\"points_earned\"]\nsecret = \"{secret}\"\n"
        ),
    )
    .unwrap();
    let (child, port) = serve_with(program, ledger, &args, &[]);
    let purchase = r#"{"id":"3","at":"2026-01-03","type":"purchase","member":"a","amount":"5"}"#;
    assert_eq!(request(port, "POST", "/v1/events", purchase).0, 200);
    let mut waiting = Value::Null;
    for _ in 0..100 {
        waiting = request(port, "GET", "/v1/webhooks", "").1;
        let error = waiting["webhooks"][0]["last_error"].as_str().unwrap_or("");
        if error.starts_with("cannot connect") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(waiting["webhooks"][0]["backlog"], 1, "{waiting}");
    assert!(
        waiting["webhooks"][0]["last_error"]
            .as_str()
            .unwrap()
            .starts_with("cannot connect"),
        "{waiting}"
    );
    stop(child);
    let (_, heard_again) = receiver(port_down, Vec::new());
    let (child, _) = serve_with(program, ledger, &args, &[]);
    let (head, body) = heard_again
        .recv_timeout(std::time::Duration::from_secs(20))
        .unwrap();
    assert_eq!(header(&head, "Loyalty-Delivery"), "2");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["event"], "3");
    stop(child);
}

/// Issue 18: erasure on request replaces a member's id everywhere the
/// ledger holds it and drops their birthday and attributes, while their
/// balances and entries stay and the books balance; nothing of the
/// personal data is left in the ledger's files.
#[test]
fn erasure_replaces_personal_data_and_keeps_the_books() {
    let dir = temp_dir("erasure");
    let program = dir.join("shop.loy");
    std::fs::write(&program, format!("{SHOP}attributes vip_card\n")).unwrap();
    let ledger = dir.join("ledger.db");
    let (child, port) = serve(&program, &ledger);
    let email = "ana.garcia@example.com";
    let events = format!(
        r#"[{{"id":"0","at":"2026-01-01","type":"purchase","member":"{email}","amount":"1"}},
            {{"id":"1","at":"2026-01-01","type":"enroll","member":"{email}","birthday":"1990-05-17","attributes":{{"vip_card":true}}}},
            {{"id":"2","at":"2026-01-01","type":"enroll","member":"bo"}},
            {{"id":"3","at":"2026-01-02","type":"purchase","member":"{email}","amount":"30"}},
            {{"id":"4","at":"2026-01-02","type":"purchase","member":"bo","amount":"20"}},
            {{"id":"5","at":"2026-01-03","type":"redeem","member":"{email}","reward":"nothing"}}]"#
    );
    assert_eq!(request(port, "POST", "/v1/events", &events).0, 200);
    let before = request(port, "GET", &format!("/v1/members/{email}"), "").1;
    assert_eq!(before["points"], 30);

    let (status, erased) = request(port, "DELETE", &format!("/v1/members/{email}"), "");
    assert_eq!(status, 200, "{erased}");
    assert_eq!(erased["member"], email);
    let pseudonym = erased["erased_as"].as_str().unwrap().to_string();
    assert_eq!(
        request(port, "GET", &format!("/v1/members/{email}"), "").0,
        404
    );
    assert_eq!(
        request(port, "DELETE", &format!("/v1/members/{email}"), "").0,
        404
    );
    let after = request(port, "GET", &format!("/v1/members/{pseudonym}"), "").1;
    assert_eq!(
        (&after["points"], &after["totals"], &after["enrolled"]),
        (&before["points"], &before["totals"], &before["enrolled"])
    );
    let (_, entries) = request(port, "GET", &format!("/v1/members/{pseudonym}/entries"), "");
    assert_eq!(entries["entries"].as_array().unwrap().len(), 2, "{entries}");
    stop(child);

    // The books: every entry's points add up to the members' balances.
    let db = rusqlite::Connection::open(&ledger).unwrap();
    let entered: i64 = db
        .query_row("SELECT SUM(points) FROM ledger_entries", [], |r| r.get(0))
        .unwrap();
    let held: i64 = db
        .query_row("SELECT SUM(points_balance) FROM members", [], |r| r.get(0))
        .unwrap();
    assert_eq!((entered, held), (50, 50));
    drop(db);
    // Nothing personal is left in the files.
    for name in ["ledger.db", "ledger.db-wal"] {
        let Ok(bytes) = std::fs::read(dir.join(name)) else {
            continue;
        };
        for secret in [email, "1990-05-17", "vip_card\":true"] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{secret} is still in {name}"
            );
        }
    }
    // It stays erased after a restart; an event for the erased id finds
    // no member.
    let (child, port) = serve(&program, &ledger);
    assert_eq!(
        request(port, "GET", &format!("/v1/members/{pseudonym}"), "").1["points"],
        30
    );
    let late = format!(
        r#"{{"id":"6","at":"2026-01-04","type":"purchase","member":"{email}","amount":"5"}}"#
    );
    let (status, answer) = request(port, "POST", "/v1/events", &late);
    assert_eq!(status, 422);
    assert_eq!(
        answer["reason"],
        format!("unknown member `{email}`: enroll the member first")
    );
    stop(child);
}

/// A port free a moment ago.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Issue 18: the README's walk-through of `serve` runs as written (on
/// free ports, in a folder of its own) and shows what it says: the quote,
/// the purchase, the duplicate, the member and the webhook's delivery.
#[test]
fn the_readme_walk_through_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let block = readme
        .split("<!-- walk-through: run by tests/serve.rs -->\n```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```\n").next())
        .expect("the README's walk-through");
    let script = block
        .replace("8080", &free_port().to_string())
        .replace("9000", &free_port().to_string())
        .replace(
            "programs/",
            &format!("{}/", root.join("programs").display()),
        );
    let dir = temp_dir("walk-through");
    // Should a step fail, what it started in the background stops too.
    std::fs::write(
        dir.join("walk.sh"),
        format!("set -e\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{script}\n"),
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_loyalty")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let output = Command::new("bash")
        .arg("walk.sh")
        .current_dir(&dir)
        .env("PATH", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // curl's answers run together; the receiver's lines and `serve`'s
    // first line are set apart.
    let mut delivered = None;
    let mut json = String::new();
    for line in stdout.lines() {
        let (answers, printed) = match line.find("delivered: ") {
            Some(at) => (&line[..at], Some(&line[at..])),
            None => (line, None),
        };
        if !answers.starts_with("listening on") {
            json.push_str(answers);
        }
        delivered = delivered.or(printed);
    }
    let answers: Vec<Value> = serde_json::Deserializer::from_str(&json)
        .into_iter()
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("{e}: {json}"));
    let [enrolled, quote, purchase, again, member, entries, webhooks] = &answers[..] else {
        panic!("seven answers, not:\n{stdout}");
    };
    assert_eq!(enrolled["outcome"], "applied");
    assert_eq!(quote["points"], 640);
    assert_eq!(quote["tier_progress"][0]["to_go"], 1360);
    assert_eq!(purchase["effects"][0]["points"], 640);
    assert_eq!(
        (&again["duplicate"], &again["effects"]),
        (&Value::from(true), &purchase["effects"])
    );
    assert_eq!(member["points"], 640);
    assert_eq!(entries["entries"][0]["kind"], "points_earned");
    assert_eq!(webhooks["webhooks"][0]["delivered"], 1, "{webhooks}");
    let delivered = delivered.unwrap_or_else(|| panic!("no delivery printed:\n{stdout}"));
    assert!(delivered.starts_with("delivered: t="), "{delivered}");
    assert!(
        delivered.contains(r#""kind":"points_earned""#),
        "{delivered}"
    );
}

/// Issue 18: an event sent without `at` happens when it is received.
#[test]
fn an_event_without_at_happens_when_it_is_received() {
    let (dir, program) = shop("now");
    let (child, port) = serve(&program, &dir.join("ledger.db"));
    let before = now();
    let send = |event: &str| request(port, "POST", "/v1/events", event);
    let (status, _) = send(r#"{"id":"1","type":"enroll","member":"a"}"#);
    assert_eq!(status, 200);
    let (status, answer) = send(r#"{"id":"2","type":"purchase","member":"a","amount":"8"}"#);
    assert_eq!(
        (status, answer["effects"][0]["points"].as_i64()),
        (200, Some(8))
    );
    let at = answer["effects"][0]["at"].as_str().unwrap().to_string();
    assert!(before <= at && at <= now(), "{at} between {before} and now");
    stop(child);
}

/// Issue 18: the OpenAPI document the service serves names each of its
/// endpoints, and the service answers each path the document names.
#[test]
fn the_openapi_document_and_the_routes_agree() {
    let (dir, program) = shop("openapi");
    let (child, port) = serve(&program, &dir.join("ledger.db"));
    let (status, document) = request(port, "GET", "/v1/openapi.json", "");
    assert_eq!(status, 200);
    let paths = document["paths"].as_object().unwrap();
    let mut listed: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();
    listed.sort();
    let expected = [
        ("DELETE", "/v1/members/{id}"),
        ("GET", "/metrics"),
        ("GET", "/v1/health"),
        ("GET", "/v1/members/{id}"),
        ("GET", "/v1/members/{id}/entries"),
        ("GET", "/v1/openapi.json"),
        ("GET", "/v1/program"),
        ("GET", "/v1/webhooks"),
        ("POST", "/v1/events"),
        ("POST", "/v1/quote"),
    ];
    assert_eq!(
        listed,
        expected.map(|(m, p)| (m.to_string(), p.to_string())),
        "the API's endpoints"
    );
    for (method, path) in listed {
        let path = path.replace("{id}", "nobody");
        let (status, body) = request(port, &method, &path, "[]");
        // A path the service does not have is the fallback's 404.
        assert_ne!(body["detail"], "no such endpoint", "{method} {path}");
        assert!(status < 500, "{method} {path}: {status}");
    }
    assert_eq!(
        request(port, "GET", "/v1/nothing", "").1["detail"],
        "no such endpoint"
    );

    // Real answers of each endpoint meet the schema the document gives
    // them: every required field there, of the type it names.
    let schema_of = |method: &str, path: &str, status: &str| -> Value {
        let operation = &document["paths"][path][method];
        let content = &operation["responses"][status]["content"];
        let media = content
            .get("application/json")
            .or_else(|| content.get("application/problem+json"))
            .unwrap_or_else(|| panic!("{method} {path}: no JSON answer"));
        media["schema"].clone()
    };
    let send = |method: &str, path: &str, body: &str| request(port, method, path, body);
    send(
        "POST",
        "/v1/events",
        r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"a"}"#,
    );
    let checks = [
        ("get", "/v1/health", "/v1/health", ""),
        ("get", "/v1/program", "/v1/program", ""),
        ("get", "/v1/openapi.json", "/v1/openapi.json", ""),
        (
            "post",
            "/v1/events",
            "/v1/events",
            r#"{"id":"2","at":"2026-01-02","type":"purchase","member":"a","amount":"3"}"#,
        ),
        (
            "post",
            "/v1/events",
            "/v1/events",
            r#"[{"id":"3","at":"2026-01-02","type":"purchase","member":"a","amount":"3"}]"#,
        ),
        (
            "post",
            "/v1/quote",
            "/v1/quote",
            r#"{"member":"a","amount":"9"}"#,
        ),
        ("get", "/v1/members/{id}", "/v1/members/a", ""),
        (
            "get",
            "/v1/members/{id}/entries",
            "/v1/members/a/entries",
            "",
        ),
        ("get", "/v1/webhooks", "/v1/webhooks", ""),
        ("delete", "/v1/members/{id}", "/v1/members/a", ""),
    ];
    for (method, path, at, body) in checks {
        let (status, answer) = send(&method.to_uppercase(), at, body);
        assert_eq!(status, 200, "{method} {at}: {answer}");
        let schema = schema_of(method, path, "200");
        if let Err(e) = meets(&document, &schema, &answer) {
            panic!("{method} {at}: {e}\n{answer}");
        }
    }
    let (_, problem) = send("GET", "/v1/members/nobody", "");
    meets(
        &document,
        &schema_of("get", "/v1/members/{id}", "default"),
        &problem,
    )
    .unwrap();
    stop(child);
}

/// Whether `value` meets `schema` (of `document`'s components): the
/// parts of JSON Schema the document uses.
fn meets(document: &Value, schema: &Value, value: &Value) -> Result<(), String> {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return meets(document, &document["components"]["schemas"][name], value);
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let met = options
            .iter()
            .filter(|o| meets(document, o, value).is_ok())
            .count();
        return if met == 1 {
            Ok(())
        } else {
            Err(format!("{met} of oneOf met"))
        };
    }
    for part in schema["allOf"].as_array().into_iter().flatten() {
        meets(document, part, value)?;
    }
    if let Some(constant) = schema.get("const")
        && constant != value
    {
        return Err(format!("{value} is not {constant}"));
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{value} is none of {options:?}"));
    }
    let kind_of = |v: &Value| match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let kinds: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    if !kinds.is_empty() && !kinds.contains(&kind_of(value)) {
        return Err(format!("{value} is not of type {kinds:?}"));
    }
    for field in schema["required"].as_array().into_iter().flatten() {
        let field = field.as_str().unwrap();
        if value.get(field).is_none() {
            return Err(format!("`{field}` is missing"));
        }
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (field, property) in properties {
            if let Some(found) = value.get(field) {
                meets(document, property, found).map_err(|e| format!("`{field}`: {e}"))?;
            }
        }
    }
    if let (Some(items), Some(values)) = (schema.get("items"), value.as_array()) {
        for item in values {
            meets(document, items, item)?;
        }
    }
    Ok(())
}

/// The address of a fresh, empty PostgreSQL database for a test, on the
/// server `.ci/postgres` starts (`LOYALTY_TEST_POSTGRES`). Without one
/// the test is skipped, and says so; in CI that is a failure.
fn postgres_database(name: &str) -> Option<String> {
    let Ok(base) = std::env::var("LOYALTY_TEST_POSTGRES") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the PostgreSQL tests: start the server with .ci/postgres and set \
             LOYALTY_TEST_POSTGRES"
        );
        eprintln!(
            "skipped: no PostgreSQL (start one with .ci/postgres, set LOYALTY_TEST_POSTGRES)"
        );
        return None;
    };
    let database = format!("loyalty_test_{name}");
    let mut client = postgres::Client::connect(&base, postgres::NoTls).unwrap();
    for sql in [
        format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"),
        format!("CREATE DATABASE {database}"),
    ] {
        client
            .batch_execute(&sql)
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
    let (server, _) = base.rsplit_once('/').unwrap();
    Some(format!("{server}/{database}"))
}

/// Issue 18: two instances share a ledger in PostgreSQL. An event sent
/// to either is applied once; its duplicate, sent to the other, gets the
/// first answer, and another event under its id is a conflict. Members,
/// entries and quotes read the same from both; a restarted instance
/// carries on; an instance with another program is refused; and the
/// schema's migration is recorded.
#[test]
fn instances_share_a_ledger_in_postgres() {
    let Some(database) = postgres_database("share") else {
        return;
    };
    let (dir, program) = shop("postgres-share");
    let ledger = Path::new(&database);
    // A webhook no one receives: its deliveries wait in the outbox.
    let hooks = dir.join("webhooks.toml");
    std::fs::write(
        &hooks,
        "[[webhook]]\nname = \"crm\"\nurl = \"http://127.0.0.1:9/hook\"\n\
         kinds = [\"points_earned\"]\nsecret = \"whsec-0123456789abcdef\"\n",
    )
    .unwrap();
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--webhooks",
        hooks.to_str().unwrap(),
    ];
    let (a, port_a) = serve_with(&program, ledger, &args, &[]);
    let (b, port_b) = serve_with(&program, ledger, &args, &[]);

    let enroll = r#"{"id":"1","at":"2026-01-01","type":"enroll","member":"ana"}"#;
    assert_eq!(request(port_a, "POST", "/v1/events", enroll).0, 200);
    let purchase = r#"{"id":"2","at":"2026-01-02","type":"purchase","member":"ana","amount":"42"}"#;
    let (status, first) = request(port_b, "POST", "/v1/events", purchase);
    assert_eq!(
        (status, &first["effects"][0]["points"]),
        (200, &Value::from(42))
    );
    let (status, again) = request(port_a, "POST", "/v1/events", purchase);
    assert_eq!(status, 200);
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["effects"], first["effects"]);
    let other = r#"{"id":"2","at":"2026-01-02","type":"purchase","member":"ana","amount":"43"}"#;
    let (status, conflict) = request(port_b, "POST", "/v1/events", other);
    assert_eq!(
        (status, conflict["outcome"].as_str()),
        (409, Some("conflict"))
    );
    let stranger = r#"{"id":"3","at":"2026-01-02","type":"purchase","member":"zed","amount":"5"}"#;
    let (status, rejected) = request(port_a, "POST", "/v1/events", stranger);
    assert_eq!(status, 422);
    assert_eq!(
        rejected["reason"],
        "unknown member `zed`: enroll the member first"
    );
    let slip = r#"{"id":"4","at":"2099-01-02","type":"purchase","member":"ana","amount":"5"}"#;
    let (status, rejected) = request(port_b, "POST", "/v1/events", slip);
    assert_eq!(status, 422);
    let reason = rejected["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("event at 2099-01-02 is more than a year after now"),
        "{reason}"
    );

    for port in [port_a, port_b] {
        let (status, member) = request(port, "GET", "/v1/members/ana", "");
        assert_eq!((status, &member["points"]), (200, &Value::from(42)));
    }
    assert_eq!(request(port_a, "GET", "/v1/members/zed", "").0, 404);
    let (_, page) = request(port_b, "GET", "/v1/members/ana/entries?limit=1", "");
    assert_eq!(page["entries"][0]["kind"], "points_earned");
    assert_eq!(page["entries"][0]["event"], "2");
    let after = page["next_after"].as_i64().unwrap();
    let (_, page) = request(
        port_a,
        "GET",
        &format!("/v1/members/ana/entries?after={after}"),
        "",
    );
    let kinds: Vec<&str> = page["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        (kinds, &page["next_after"]),
        (vec!["enrolled"], &Value::Null)
    );
    let (status, quote) = request(
        port_b,
        "POST",
        "/v1/quote",
        r#"{"member":"ana","amount":"10"}"#,
    );
    assert_eq!((status, &quote["points"]), (200, &Value::from(10)));
    assert_eq!(
        request(port_a, "GET", "/v1/members/ana", "").1["points"],
        42
    );

    stop(a);
    let (a, port_a) = serve_with(&program, ledger, &args, &[]);
    let (_, again) = request(port_a, "POST", "/v1/events", purchase);
    assert_eq!(again["duplicate"], true);
    assert_eq!(
        request(port_a, "GET", "/v1/members/ana", "").1["points"],
        42
    );
    // Erasure: the id gives way to a pseudonym everywhere, the books stay.
    let (status, erased) = request(port_a, "DELETE", "/v1/members/ana", "");
    assert_eq!(status, 200, "{erased}");
    let pseudonym = erased["erased_as"].as_str().unwrap();
    assert_eq!(request(port_b, "GET", "/v1/members/ana", "").0, 404);
    let (_, member) = request(port_b, "GET", &format!("/v1/members/{pseudonym}"), "");
    assert_eq!(member["points"], 42);
    let mut client = postgres::Client::connect(&database, postgres::NoTls).unwrap();
    let mut count = |sql: &str| -> i64 { client.query_one(sql, &[]).unwrap().get(0) };
    let named = count(
        "SELECT (SELECT count(*) FROM members WHERE id = 'ana')
              + (SELECT count(*) FROM entries WHERE member = 'ana')
              + (SELECT count(*) FROM events
                 WHERE member = 'ana' OR line LIKE '%\"ana\"%' OR reason LIKE '%ana%')
              + (SELECT count(*) FROM webhook_deliveries WHERE body LIKE '%\"ana\"%')",
    );
    assert_eq!(named, 0);
    let books = count(&format!(
        "SELECT sum(points)::bigint FROM entries WHERE member = '{pseudonym}'"
    ));
    assert_eq!(books, 42);
    let carried = count(&format!(
        "SELECT count(*) FROM webhook_deliveries WHERE body LIKE '%{pseudonym}%'"
    ));
    assert_eq!(carried, 1);
    stop(a);
    stop(b);

    let other_program = dir.join("other.loy");
    std::fs::write(&other_program, SHOP.replace("1 point per", "2 points per")).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .arg("serve")
        .arg(&other_program)
        .args(["--ledger", &database, "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("is kept under another program (\"Shop\")"),
        "{said}"
    );

    let migrations: Vec<(i32, String)> = client
        .query(
            "SELECT version, name FROM schema_migrations ORDER BY version",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(
        migrations,
        [
            (1, "members, events, entries and budgets".to_string()),
            (2, "the webhooks' outbox".to_string())
        ]
    );
}

/// Events of `members` members of The North Face's program, `rounds`
/// each, in the order they happen (each member's in their own order;
/// members interleaved): joining, purchases, refunds (some of orders
/// unknown or beyond what is left, which are rejected), events attended,
/// purchases by no member, and one event late for its member. Each with
/// its member's number.
fn north_face_events(members: usize, rounds: usize) -> Vec<(usize, String)> {
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n
    };
    let mut events = Vec::new();
    for k in 0..rounds {
        for m in 0..members {
            // Three days a round, in months of 28 days (all real dates).
            let late = k == 7 && m % 4 == 0;
            let day = if late { (k - 2) * 3 } else { k * 3 + m % 3 };
            let at = format!(
                "2026-{:02}-{:02}T{:02}:00:00Z",
                1 + day / 28,
                1 + day % 28,
                next(24)
            );
            let head = format!(r#""id":"e{m}-{k}","at":"{at}","member":"m{m}""#);
            let line = match (k, next(10)) {
                (0, _) => format!(r#"{{{head},"type":"enroll"}}"#),
                (_, 0..=5) => format!(
                    r#"{{{head},"type":"purchase","amount":"{}.{:02}","order":"o{m}-{k}"}}"#,
                    5 + next(300),
                    next(100)
                ),
                (_, 6) => format!(
                    r#"{{{head},"type":"refund","order":"o{m}-{}","amount":"{}"}}"#,
                    next(k as u64),
                    1 + next(150)
                ),
                (_, 7) => format!(r#"{{{head},"type":"action","action":"event_attended"}}"#),
                (_, 8) => format!(r#"{{{head},"type":"refund","order":"nope","amount":"5"}}"#),
                _ => format!(
                    r#"{{"id":"e{m}-{k}","at":"{at}","member":"ghost{m}","type":"purchase","amount":"9"}}"#
                ),
            };
            events.push((m, line));
        }
    }
    events
}

/// Sends `body` to the events endpoint of one instance or the other
/// (starting with the `n`th) until one answers, as a till does: a
/// refused connection, a cut-off answer or a 5xx is sent again, with
/// the same ids. The answers, one per event; `retried` counts the
/// attempts that got none.
fn send_until_answered(
    ports: &[u16; 2],
    n: usize,
    body: &str,
    retried: &std::sync::atomic::AtomicUsize,
) -> Vec<Value> {
    for attempt in 0..600 {
        if attempt > 0 {
            retried.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        let port = ports[(n + attempt) % 2];
        match try_request(port, "", "POST", "/v1/events", body) {
            Ok((200 | 422, text)) => {
                let answer: Value = serde_json::from_str(&text).unwrap();
                return match answer.get("results") {
                    Some(results) => results.as_array().unwrap().clone(),
                    None => vec![answer],
                };
            }
            Ok((status, text)) if status < 500 => panic!("{status} for {body}: {text}"),
            _ => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
    panic!("no instance answered {body}");
}

/// Issue 18: two instances on one PostgreSQL ledger, under clients that
/// each send their members' events in order, to either instance, and
/// send again with the same ids when no answer comes (and now and then
/// when one did). One instance is killed with SIGKILL a third of the
/// way through and started again. Every event is applied exactly once,
/// and each member, each event's answer and each member's entries equal
/// what a single-process `run` of the same events gives.
#[test]
fn two_instances_on_postgres_apply_each_event_once_through_a_kill() {
    use std::collections::BTreeMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let Some(database) = postgres_database("kill") else {
        return;
    };
    let dir = temp_dir("postgres-kill");
    let program = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/north_face.loy");
    const MEMBERS: usize = 24;
    const CLIENTS: usize = 6;
    let events = north_face_events(MEMBERS, 14);
    let lines: Vec<&str> = events.iter().map(|(_, line)| line.as_str()).collect();
    std::fs::write(dir.join("events.jsonl"), lines.join("\n") + "\n").unwrap();

    let ports = [free_port(), free_port()];
    let start = |port: u16| {
        let listen = format!("127.0.0.1:{port}");
        let args = ["--listen", &listen, "--tick-every", "0"];
        serve_with(&program, Path::new(&database), &args, &[]).0
    };
    let (mut a, b) = (start(ports[0]), start(ports[1]));
    let (answered, retried) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let answers: Mutex<BTreeMap<String, Value>> = Mutex::default();
    let again = std::thread::scope(|scope| {
        for c in 0..CLIENTS {
            let (events, answered, answers, retried) = (&events, &answered, &answers, &retried);
            scope.spawn(move || {
                let mine: Vec<&str> = events
                    .iter()
                    .filter(|(m, _)| m % CLIENTS == c)
                    .map(|(_, line)| line.as_str())
                    .collect();
                let (mut k, mut n) = (0, c);
                while k < mine.len() {
                    let batch = &mine[k..(k + 1 + k % 3).min(mine.len())];
                    let body = match batch {
                        [one] => one.to_string(),
                        _ => format!("[{}]", batch.join(",")),
                    };
                    let results = send_until_answered(&ports, n, &body, retried);
                    assert_eq!(results.len(), batch.len(), "{results:?}");
                    if n % 4 == 3 {
                        // Sent again though answered: the first answers.
                        let repeated = send_until_answered(&ports, n + 1, &body, retried);
                        for (first, repeated) in results.iter().zip(&repeated) {
                            assert_eq!(repeated["duplicate"], true, "{repeated}");
                            assert_eq!(
                                (&repeated["outcome"], &repeated["effects"]),
                                (&first["outcome"], &first["effects"])
                            );
                        }
                    }
                    let mut answers = answers.lock().unwrap();
                    for result in results {
                        let id = result["id"].as_str().unwrap().to_string();
                        assert!(answers.insert(id, result).is_none());
                    }
                    answered.fetch_add(batch.len(), Ordering::Relaxed);
                    k += batch.len();
                    n += 1;
                }
            });
        }
        while answered.load(Ordering::Relaxed) < events.len() / 3 {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        a.kill().unwrap();
        a.wait().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        start(ports[0])
    });
    let answers = answers.into_inner().unwrap();
    assert_eq!(answers.len(), events.len());
    // The kill cut some requests off, which were sent again.
    assert!(retried.into_inner() > 0);

    // The same events, in one process.
    let single = dir.join("single.db");
    let run = Command::new(env!("CARGO_BIN_EXE_loyalty"))
        .arg("run")
        .arg(&program)
        .arg("--events")
        .arg(dir.join("events.jsonl"))
        .arg("--ledger")
        .arg(&single)
        .arg("--effects")
        .arg(dir.join("effects.jsonl"))
        .output()
        .unwrap();
    // Some events are rejected, which `run` says in its status.
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(said.contains(": applied "), "{said}");
    let mut effects: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("effects.jsonl"))
        .unwrap()
        .lines()
    {
        let mut effect: Value = serde_json::from_str(line).unwrap();
        let object = effect.as_object_mut().unwrap();
        object.remove("line");
        let event = object
            .remove("event")
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        effects.entry(event).or_default().push(effect);
    }

    // Exactly once: each event logged once, with the effects `run` gives.
    let mut client = postgres::Client::connect(&database, postgres::NoTls).unwrap();
    let logged: i64 = client
        .query_one("SELECT count(*) FROM events", &[])
        .unwrap()
        .get(0);
    assert_eq!(logged as usize, events.len());
    let entries: i64 = client
        .query_one("SELECT count(*) FROM entries", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        entries as usize,
        effects.values().map(Vec::len).sum::<usize>()
    );
    for (id, answer) in &answers {
        let expected = effects.get(id).cloned().unwrap_or_default();
        let expected: Vec<Value> = expected
            .into_iter()
            .map(|mut effect| {
                effect.as_object_mut().unwrap().remove("member");
                effect
            })
            .collect();
        let got: Vec<Value> = answer["effects"]
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(|mut effect| {
                effect.as_object_mut().unwrap().remove("member");
                effect
            })
            .collect();
        assert_eq!(got, expected, "event {id}: {answer}");
    }
    let mut outcomes = [0; 2];
    for answer in answers.values() {
        outcomes[usize::from(answer["outcome"] == "rejected")] += 1;
    }
    assert!(
        outcomes[0] > events.len() / 2 && outcomes[1] > 10,
        "{outcomes:?}"
    );

    // Each member as `run` leaves them, from the instance started again.
    let port = ports[0];
    for m in 0..MEMBERS {
        let id = format!("m{m}");
        let (status, mut served) = request(port, "GET", &format!("/v1/members/{id}"), "");
        assert_eq!(status, 200);
        let shown = Command::new(env!("CARGO_BIN_EXE_loyalty"))
            .args(["member", "--json", "--ledger"])
            .arg(&single)
            .arg(&id)
            .output()
            .unwrap();
        let mut single: Value = serde_json::from_slice(&shown.stdout).unwrap();
        // Both read as of their own clock: the wall clock, the last event.
        for member in [&mut served, &mut single] {
            let member = member.as_object_mut().unwrap();
            member.remove("as_of");
            member.remove("points_expiring_soon");
            member.remove("recent_entries");
        }
        assert_eq!(served, single, "member {id}");
        let (_, page) = request(
            port,
            "GET",
            &format!("/v1/members/{id}/entries?limit=1000"),
            "",
        );
        let mut kept: Vec<Value> = page["entries"].as_array().unwrap().clone();
        kept.reverse();
        let kept: Vec<(String, Value)> = kept
            .into_iter()
            .map(|mut entry| {
                let entry = entry.as_object_mut().unwrap();
                entry.remove("seq");
                let event = entry.remove("event").unwrap().as_str().unwrap().to_string();
                (event, Value::Object(entry.clone()))
            })
            .collect();
        let expected: Vec<(String, Value)> = events
            .iter()
            .filter(|(n, _)| *n == m)
            .map(|(_, line)| {
                serde_json::from_str::<Value>(line).unwrap()["id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .flat_map(|event| {
                effects
                    .get(&event)
                    .into_iter()
                    .flatten()
                    .filter(|effect| effect["member"] == id.as_str())
                    .map(move |effect| (event.clone(), effect.clone()))
            })
            .collect();
        assert_eq!(kept, expected, "entries of {id}");
    }
    stop(again);
    stop(b);
}

/// Issue 18: only `serve` keeps a ledger in PostgreSQL; `run` and
/// `member` say so for an address, without showing its password.
#[test]
fn run_and_member_refuse_a_postgres_ledger() {
    let (dir, program) = shop("refuse-postgres");
    let events = dir.join("events.jsonl");
    std::fs::write(&events, "").unwrap();
    let said = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_loyalty"))
            .args(args)
            .output()
            .unwrap();
        assert!(!output.status.success());
        String::from_utf8(output.stderr).unwrap()
    };
    let address = "postgres://loyalty:hunter2-secret@db.internal/loyalty";
    let expected = "error: ledger postgres://loyalty:***@db.internal/loyalty is in PostgreSQL, \
                    which only `loyalty serve` keeps: `run` and `member` take an SQLite file \
                    (ask the service for a member: GET /v1/members/ID)\n";
    let program = program.to_str().unwrap();
    let events = events.to_str().unwrap();
    assert_eq!(
        said(&["run", program, "--events", events, "--ledger", address]),
        expected
    );
    assert_eq!(said(&["member", "--ledger", address, "ana"]), expected);
}
