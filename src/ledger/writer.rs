//! The ledger's writer: during a run, the rows go to a thread that owns
//! the SQLite connection and writes them, so the engine applies the next
//! events on one core while SQLite stores, commits and checkpoints the
//! last ones on the other.
//!
//! The thread carries out every command in the order it was sent (begin,
//! rows, commit), so the ledger goes through the same transactions as if
//! the writing had happened in line, and a crash at any moment leaves
//! the last one not committed. Rows travel in buffers that come back to
//! be filled again, so a run allocates nothing per event for its rows.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use rusqlite::{Connection, Statement, params};

use crate::engine::EffectKind;
use crate::time::Time;

/// A piece of a buffer's text.
#[derive(Clone, Copy, Debug)]
pub(super) struct Text(usize, usize);

/// A piece of a buffer's bytes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Blob(usize, usize);

#[derive(Default)]
pub(super) struct Rows {
    text: String,
    bytes: Vec<u8>,
    pub events: Vec<EventRow>,
    pub entries: Vec<EntryRow>,
    pub rejected: Vec<RejectedRow>,
    pub rules: Vec<(i64, Text)>,
    pub members: Vec<MemberRow>,
    pub meta: Vec<(&'static str, Text)>,
    pub deliveries: Vec<DeliveryRow>,
    pub attempts: Vec<AttemptRow>,
    /// Where the log of events and of entries must end once this
    /// buffer's events and entries are in, or the transaction fails with
    /// [`LogMoved`]: the guard before a member snapshot.
    pub log_ends: Option<(i64, i64)>,
}

/// The log did not end where this run expected: another process wrote
/// the ledger.
#[derive(Debug)]
pub(super) struct LogMoved {
    pub expected: i64,
    pub found: i64,
}

impl std::fmt::Display for LogMoved {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "the log ends at {}, not {}", self.found, self.expected)
    }
}

impl std::error::Error for LogMoved {}

pub(super) struct EventRow {
    pub seq: i64,
    pub id: Text,
    pub at: Time,
    pub applied: bool,
    pub raw: Text,
}

pub(super) struct EntryRow {
    pub seq: i64,
    pub previous_seq: Option<i64>,
    pub event_seq: i64,
    pub at: Time,
    pub member: Text,
    pub kind: EffectKind,
    pub points: i64,
    pub money: i64,
    pub value: i64,
    pub scheduled: bool,
    pub rule: Option<i64>,
}

pub(super) struct RejectedRow {
    pub id: Option<Text>,
    pub source: Text,
    pub line: i64,
    pub reason: Text,
    pub raw: Text,
}

/// A webhook's delivery of an entry, into the outbox.
pub(super) struct DeliveryRow {
    pub seq: i64,
    pub webhook: Text,
    pub entry_seq: i64,
    pub body: Text,
}

/// An attempt at a delivery.
pub(super) struct AttemptRow {
    pub seq: i64,
    pub status: &'static str,
    pub attempts: i64,
    pub next_attempt: i64,
    pub last_error: Option<Text>,
    pub delivered_at: Option<Time>,
}

pub(super) struct MemberRow {
    pub id: Text,
    pub enrolled_at: Time,
    pub tier: Option<Text>,
    pub points: i64,
    pub money: i64,
    pub points_lots: Text,
    pub money_lots: Text,
    pub last_entry_seq: Option<i64>,
    pub state: Blob,
}

impl Rows {
    pub fn text(&mut self, text: &str) -> Text {
        let start = self.text.len();
        self.text.push_str(text);
        Text(start, self.text.len())
    }

    /// Text written in place rather than copied.
    pub fn text_with(&mut self, write: impl FnOnce(&mut String)) -> Text {
        let start = self.text.len();
        write(&mut self.text);
        Text(start, self.text.len())
    }

    /// Bytes written in place by `write`, which takes the buffer and
    /// gives it back.
    pub fn blob<E>(
        &mut self,
        write: impl FnOnce(Vec<u8>) -> Result<Vec<u8>, E>,
    ) -> Result<Blob, E> {
        let start = self.bytes.len();
        self.bytes = write(std::mem::take(&mut self.bytes))?;
        Ok(Blob(start, self.bytes.len()))
    }

    fn get(&self, text: Text) -> &str {
        &self.text[text.0..text.1]
    }

    fn bytes(&self, blob: Blob) -> &[u8] {
        &self.bytes[blob.0..blob.1]
    }

    /// Whether the buffer is worth sending.
    pub fn is_full(&self) -> bool {
        self.text.len() + self.bytes.len() >= 1 << 20
            || self.entries.len() >= 8192
            || self.events.len() >= 4096
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
            && self.bytes.is_empty()
            && self.events.is_empty()
            && self.entries.is_empty()
            && self.members.is_empty()
            && self.meta.is_empty()
            && self.deliveries.is_empty()
            && self.attempts.is_empty()
            && self.log_ends.is_none()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.bytes.clear();
        self.events.clear();
        self.entries.clear();
        self.rejected.clear();
        self.rules.clear();
        self.members.clear();
        self.meta.clear();
        self.deliveries.clear();
        self.attempts.clear();
        self.log_ends = None;
    }
}

/// A logged event as the ledger holds it.
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub applied: bool,
    pub raw: String,
}

enum Command {
    Begin,
    Rows(Box<Rows>),
    /// The logged events with these sequence numbers, as the open
    /// transaction sees them.
    Events {
        seqs: Vec<i64>,
        reply: SyncSender<rusqlite::Result<Vec<StoredEvent>>>,
    },
    /// A member's erasure: their id replaced by a pseudonym, and their
    /// birthday and attributes removed, wherever the ledger holds them.
    Erase {
        id: String,
        pseudonym: String,
    },
    /// Copies the write-ahead log into the file and empties it, outside
    /// any transaction: after an erasure, no old copy of a page remains.
    Checkpoint,
    /// Everything of the transaction is sent: commit it, if one is
    /// open, then run what waited for it. A transaction still open when
    /// the writer stops (a run that failed half-way through an event) is
    /// rolled back, and what waited for it is dropped without running.
    Commit(Option<Durable>),
}

/// What runs once everything sent before it is durable.
pub type Durable = Box<dyn FnOnce() + Send>;

/// The writer thread, which holds the connection while it runs, and the
/// buffer being filled.
pub(super) struct Writer {
    pub rows: Box<Rows>,
    /// Both `Some` until the writer stops.
    commands: Option<SyncSender<Command>>,
    thread: Option<JoinHandle<(Connection, rusqlite::Result<()>)>>,
    spare: Receiver<Box<Rows>>,
    in_transaction: bool,
}

/// Buffers in flight: enough that the engine goes on while SQLite
/// commits and checkpoints, few enough that a slow disk holds the engine
/// back rather than filling memory (each is at most about 1 MB).
const IN_FLIGHT: usize = 64;

impl Writer {
    pub fn start(conn: Connection) -> Writer {
        let (commands, received) = sync_channel(IN_FLIGHT);
        let (give_back, spare) = sync_channel(IN_FLIGHT + 1);
        let thread = std::thread::spawn(move || {
            let result = serve(&conn, &received, &give_back);
            if result.is_err() {
                let _ = conn.execute_batch("ROLLBACK");
                // Let the engine's thread finish sending; what it sends
                // is not written.
                for _ in received {}
            }
            (conn, result)
        });
        Writer {
            rows: Box::default(),
            commands: Some(commands),
            thread: Some(thread),
            spare,
            in_transaction: false,
        }
    }

    /// Opens a transaction unless one is open. `false` when the writer
    /// has stopped on an error ([`Writer::stop`] tells which).
    pub fn begin(&mut self) -> bool {
        if self.in_transaction {
            return true;
        }
        self.in_transaction = true;
        self.command(Command::Begin)
    }

    /// Sends the buffer being filled to the writer; `false` when it has
    /// stopped.
    pub fn send(&mut self) -> bool {
        if self.rows.is_empty() {
            return true;
        }
        let fresh = self.spare.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.rows, fresh);
        self.command(Command::Rows(full))
    }

    fn command(&self, command: Command) -> bool {
        self.commands
            .as_ref()
            .is_some_and(|commands| commands.send(command).is_ok())
    }

    /// The stored events with these sequence numbers, including those of
    /// the open transaction; `None` when the writer has stopped.
    pub fn events(&mut self, seqs: Vec<i64>) -> Option<rusqlite::Result<Vec<StoredEvent>>> {
        if !self.send() {
            return None;
        }
        let (reply, answer) = sync_channel(1);
        if !self.command(Command::Events { seqs, reply }) {
            return None;
        }
        answer.recv().ok()
    }

    /// Erases a member in the open transaction (see [`erase`]); `false`
    /// when the writer has stopped.
    pub fn erase(&mut self, id: &str, pseudonym: &str) -> bool {
        self.send()
            && self.command(Command::Erase {
                id: id.to_string(),
                pseudonym: pseudonym.to_string(),
            })
    }

    /// Truncates the write-ahead log once what was sent is committed.
    pub fn checkpoint(&mut self) -> bool {
        self.command(Command::Checkpoint)
    }

    /// Commits the open transaction once everything sent is written.
    /// With `wait`, returns when it is durable; otherwise at once, and
    /// the engine goes on while SQLite commits. `false` when the writer
    /// has stopped.
    pub fn commit(&mut self, wait: bool) -> bool {
        if !self.in_transaction {
            return true;
        }
        if !wait {
            return self.commit_then(None);
        }
        let (reply, answer) = sync_channel(1);
        let durable: Durable = Box::new(move || {
            let _ = reply.send(());
        });
        self.commit_then(Some(durable)) && answer.recv().is_ok()
    }

    /// Commits the open transaction, if there is one, and returns at
    /// once; `durable` runs on the writer's thread when everything sent
    /// so far is durable. `false` when the writer has stopped.
    pub fn commit_then(&mut self, durable: Option<Durable>) -> bool {
        self.in_transaction = false;
        self.send() && self.command(Command::Commit(durable))
    }

    /// Stops the writer, rolling back a transaction still open, and gives
    /// the connection back with the first error the writer met.
    pub fn stop(mut self) -> (Connection, rusqlite::Result<()>) {
        self.commands = None;
        let joined = self.thread.take().map(JoinHandle::join);
        match joined {
            Some(Ok(stopped)) => stopped,
            // The writer cannot panic on rows (SQLite reports errors as
            // values), but if it did, the process cannot go on safely.
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => unreachable!("a writer stops once"),
        }
    }
}

impl Drop for Writer {
    /// A writer dropped with a transaction open rolls it back, and the
    /// ledger is free again when this returns.
    fn drop(&mut self) {
        self.commands = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The writer thread: every command in order, on statements prepared
/// once.
fn serve(
    conn: &Connection,
    received: &Receiver<Command>,
    give_back: &SyncSender<Box<Rows>>,
) -> rusqlite::Result<()> {
    let mut statements = Statements::prepare(conn)?;
    let mut time = String::with_capacity(32);
    let mut open = false;
    for command in received {
        match command {
            Command::Begin => {
                conn.execute_batch("BEGIN IMMEDIATE")?;
                open = true;
            }
            Command::Rows(mut rows) => {
                statements.write(&rows, &mut time)?;
                rows.clear();
                let _ = give_back.try_send(rows);
            }
            Command::Events { seqs, reply } => {
                let _ = reply.send(statements.events(&seqs));
            }
            Command::Erase { id, pseudonym } => erase(conn, &id, &pseudonym)?,
            Command::Checkpoint => {
                conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            }
            Command::Commit(durable) => {
                if open {
                    conn.execute_batch("COMMIT")?;
                    open = false;
                }
                if let Some(durable) = durable {
                    durable();
                }
            }
        }
    }
    if open {
        conn.execute_batch("ROLLBACK")?;
    }
    Ok(())
}

struct Statements<'c> {
    event: Statement<'c>,
    entry: Statement<'c>,
    rejected: Statement<'c>,
    rule: Statement<'c>,
    member: Statement<'c>,
    meta: Statement<'c>,
    delivery: Statement<'c>,
    attempt: Statement<'c>,
    stored_event: Statement<'c>,
    log_ends: Statement<'c>,
}

/// Sets `meta.key` to a value, whichever connection writes it.
pub(super) const SET_META: &str = "INSERT INTO meta (key, value) VALUES (?1, ?2)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value";

impl<'c> Statements<'c> {
    fn prepare(conn: &'c Connection) -> rusqlite::Result<Statements<'c>> {
        Ok(Statements {
            event: conn
                .prepare("INSERT INTO events (seq, id, at, applied, raw) VALUES (?1, ?2, ?3, ?4, ?5)")?,
            entry: conn.prepare(
                "INSERT INTO ledger_entries (seq, previous_seq, event_seq, at, member, kind, points,
                 reward_money_cents, value_cents, scheduled, rule)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
            rejected: conn.prepare(
                "INSERT OR IGNORE INTO rejected_events (id, source, line, reason, raw)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?,
            rule: conn.prepare("INSERT INTO rules (id, text) VALUES (?1, ?2)")?,
            member: conn.prepare(
                "INSERT INTO members (id, enrolled_at, tier, points_balance, reward_money_cents,
                 points_lots, reward_money_lots, last_entry_seq, state)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET enrolled_at = excluded.enrolled_at,
                 tier = excluded.tier, points_balance = excluded.points_balance,
                 reward_money_cents = excluded.reward_money_cents,
                 points_lots = excluded.points_lots, reward_money_lots = excluded.reward_money_lots,
                 last_entry_seq = excluded.last_entry_seq, state = excluded.state",
            )?,
            meta: conn.prepare(SET_META)?,
            delivery: conn.prepare(
                "INSERT INTO webhook_deliveries (seq, webhook, entry_seq, body)
                 VALUES (?1, ?2, ?3, ?4)",
            )?,
            attempt: conn.prepare(
                "UPDATE webhook_deliveries SET status = ?2, attempts = ?3, next_attempt = ?4,
                 last_error = ?5, delivered_at = ?6 WHERE seq = ?1",
            )?,
            stored_event: conn.prepare(STORED_EVENT)?,
            log_ends: conn.prepare(
                "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events),
                        (SELECT COALESCE(MAX(seq), 0) FROM ledger_entries)",
            )?,
        })
    }

    fn write(&mut self, rows: &Rows, time: &mut String) -> rusqlite::Result<()> {
        for &(id, text) in &rows.rules {
            self.rule.execute(params![id, rows.get(text)])?;
        }
        for event in &rows.events {
            self.event.execute(params![
                event.seq,
                rows.get(event.id),
                stamp(time, event.at),
                event.applied,
                rows.get(event.raw)
            ])?;
        }
        for entry in &rows.entries {
            self.entry.execute(params![
                entry.seq,
                entry.previous_seq,
                entry.event_seq,
                stamp(time, entry.at),
                rows.get(entry.member),
                entry.kind.name(),
                entry.points,
                entry.money,
                entry.value,
                entry.scheduled,
                entry.rule
            ])?;
        }
        for rejected in &rows.rejected {
            self.rejected.execute(params![
                rejected.id.map(|id| rows.get(id)),
                rows.get(rejected.source),
                rejected.line,
                rows.get(rejected.reason),
                rows.get(rejected.raw)
            ])?;
        }
        if let Some((events, entries)) = rows.log_ends {
            let found: (i64, i64) = self
                .log_ends
                .query_row([], |row| Ok((row.get(0)?, row.get(1)?)))?;
            if found != (events, entries) {
                let moved = if found.0 != events {
                    LogMoved {
                        expected: events,
                        found: found.0,
                    }
                } else {
                    LogMoved {
                        expected: entries,
                        found: found.1,
                    }
                };
                return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(moved)));
            }
        }
        for member in &rows.members {
            self.member.execute(params![
                rows.get(member.id),
                stamp(time, member.enrolled_at),
                member.tier.map(|t| rows.get(t)),
                member.points,
                member.money,
                rows.get(member.points_lots),
                rows.get(member.money_lots),
                member.last_entry_seq,
                rows.bytes(member.state)
            ])?;
        }
        for &(key, value) in &rows.meta {
            self.meta.execute(params![key, rows.get(value)])?;
        }
        for delivery in &rows.deliveries {
            self.delivery.execute(params![
                delivery.seq,
                rows.get(delivery.webhook),
                delivery.entry_seq,
                rows.get(delivery.body)
            ])?;
        }
        for attempt in &rows.attempts {
            self.attempt.execute(params![
                attempt.seq,
                attempt.status,
                attempt.attempts,
                attempt.next_attempt,
                attempt.last_error.map(|e| rows.get(e)),
                attempt.delivered_at.map(|at| at.to_string())
            ])?;
        }
        Ok(())
    }

    fn events(&mut self, seqs: &[i64]) -> rusqlite::Result<Vec<StoredEvent>> {
        stored_events(&mut self.stored_event, seqs)
    }
}

/// Replaces a member's id by a pseudonym wherever the ledger holds it
/// (the log's lines, the rejects, the entries, the member's row, the
/// webhooks' outbox), and drops their birthday and attributes from the
/// lines. Deleted content is overwritten (`secure_delete`). Rows are
/// found by a scan: an erasure is rare, and an index would cost every
/// event.
pub(super) fn erase(conn: &Connection, id: &str, pseudonym: &str) -> rusqlite::Result<()> {
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.execute(
        "UPDATE ledger_entries SET member = ?2 WHERE member = ?1",
        [id, pseudonym],
    )?;
    conn.execute("UPDATE members SET id = ?2 WHERE id = ?1", [id, pseudonym])?;
    // A reject's reason names its member in backquotes.
    conn.execute(
        "UPDATE OR REPLACE rejected_events SET reason = replace(reason, '`' || ?1 || '`', '`' || ?2 || '`')
         WHERE instr(reason, '`' || ?1 || '`') > 0",
        [id, pseudonym],
    )?;
    for (table, key, column) in [
        ("events", "seq", "raw"),
        ("rejected_events", "seq", "raw"),
        ("webhook_deliveries", "seq", "body"),
    ] {
        let found: Vec<(i64, String)> = conn
            .prepare(&format!(
                "SELECT {key}, {column} FROM {table} WHERE instr({column}, ?1) > 0"
            ))?
            .query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut update = conn.prepare(&format!(
            "UPDATE OR REPLACE {table} SET {column} = ?2 WHERE {key} = ?1"
        ))?;
        for (seq, text) in found {
            if let Some(erased) = erased_json(&text, id, pseudonym) {
                update.execute(params![seq, erased])?;
            }
        }
    }
    Ok(())
}

/// A JSON text with the member `id` erased: in every object whose
/// `member` is `id`, the member becomes `pseudonym` and `birthday` and
/// `attributes` go; a `referee` who is `id` becomes `pseudonym`. `None`
/// when nothing changes.
pub(super) fn erased_json(text: &str, id: &str, pseudonym: &str) -> Option<String> {
    fn walk(value: &mut serde_json::Value, id: &str, pseudonym: &str) -> bool {
        match value {
            serde_json::Value::Object(object) => {
                let mut changed = false;
                if object.get("member").and_then(|m| m.as_str()) == Some(id) {
                    object.insert("member".into(), pseudonym.into());
                    object.remove("birthday");
                    object.remove("attributes");
                    changed = true;
                }
                if object.get("referee").and_then(|m| m.as_str()) == Some(id) {
                    object.insert("referee".into(), pseudonym.into());
                    changed = true;
                }
                for nested in object.values_mut() {
                    changed |= walk(nested, id, pseudonym);
                }
                changed
            }
            serde_json::Value::Array(values) => values
                .iter_mut()
                .fold(false, |changed, v| walk(v, id, pseudonym) | changed),
            _ => false,
        }
    }
    let mut value: serde_json::Value = serde_json::from_str(text).ok()?;
    walk(&mut value, id, pseudonym).then(|| value.to_string())
}

/// A time as the ledger's text columns hold it, written into `buffer`.
fn stamp(buffer: &mut String, time: Time) -> &str {
    buffer.clear();
    time.write_to(buffer);
    buffer
}

/// One logged event, by sequence number, whichever connection reads it.
pub(super) const STORED_EVENT: &str = "SELECT id, applied, raw FROM events WHERE seq = ?1";

/// The events with these sequence numbers, through [`STORED_EVENT`].
pub(super) fn stored_events(
    statement: &mut Statement,
    seqs: &[i64],
) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut found = Vec::new();
    for &seq in seqs {
        let mut rows = statement.query([seq])?;
        if let Some(row) = rows.next()? {
            found.push(StoredEvent {
                seq,
                id: row.get(0)?,
                applied: row.get(1)?,
                raw: row.get(2)?,
            });
        }
    }
    Ok(found)
}
