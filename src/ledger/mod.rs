//! The ledger: an SQLite file (bundled SQLite, WAL) that holds every
//! event applied, every ledger entry it made, and a snapshot of each
//! member. The schema is in the README.
//!
//! Exactly once: an event is applied in the same transaction that logs
//! its id, so after a crash either both are there or neither. Events are
//! committed in batches; a crash loses at most the open batch, which a
//! re-run applies again (its events are not in the log). During a run
//! the rows are written by another thread (`writer`).
//!
//! Nothing is indexed beyond the tables' own keys, since an index on a
//! busy ledger costs more than all the rest of the writing: event ids are
//! looked up in memory (hashes of every logged id, confirmed by the
//! event's row), and each entry links to the same member's previous one,
//! so a member's recent entries are a walk back from the member's last.
//!
//! The member snapshot is written when a run ends. On opening, members
//! are read from the snapshot and the events logged after it are applied
//! again in memory (their entries are already stored), so a run killed
//! at any moment leaves a ledger that the next run continues exactly.

use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use thiserror::Error;

use crate::engine::{Cause, Effect, EffectKind, Engine, Lots, Member, MemberIndex, decode, why};
use crate::event_ids::EventIds;
pub use crate::event_ids::Seen;
use crate::fnv::Fnv;
use crate::program::Program;
use crate::time::Time;

mod checkpointer;
pub mod postgres;
mod reader;
mod writer;

pub use checkpointer::Checkpointer;
pub use reader::{LoggedEntry, OutboxRow, Reader};

/// Where a webhook's delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    /// Tried several times without success, and still being tried.
    Failing,
}

impl DeliveryStatus {
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failing => "failing",
        }
    }
}

/// One attempt at a delivery, as the outbox keeps it.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub delivery: i64,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// When it is tried next, in Unix seconds.
    pub next_attempt: i64,
    pub error: Option<String>,
    pub delivered_at: Option<Time>,
}
pub use writer::{Durable, StoredEvent};

use writer::{
    AttemptRow, DeliveryRow, EntryRow, EventRow, LogMoved, MemberRow, RejectedRow, Rows, SET_META,
    Writer,
};

/// 4: no indexes; entries link to the member's previous entry; a
/// member's lots are JSON in its row; the snapshot is binary.
const SCHEMA_VERSION: &str = "8";

/// Earlier schemas whose tables are this one's and whose member
/// snapshots lack only state added since ([`crate::engine::SNAPSHOT_SCHEMA`]):
/// such a ledger is read as it is, and brought to this schema when opened
/// to write.
const EARLIER_SNAPSHOTS: &[&str] = &["4", "5", "6", "7"];

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq     INTEGER PRIMARY KEY,
    id      TEXT NOT NULL,
    at      TEXT NOT NULL,
    applied INTEGER NOT NULL,
    raw     TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rules (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS ledger_entries (
    seq                INTEGER PRIMARY KEY,
    previous_seq       INTEGER REFERENCES ledger_entries (seq),
    event_seq          INTEGER NOT NULL REFERENCES events (seq),
    at                 TEXT NOT NULL,
    member             TEXT NOT NULL,
    kind               TEXT NOT NULL,
    points             INTEGER NOT NULL,
    reward_money_cents INTEGER NOT NULL,
    value_cents        INTEGER NOT NULL,
    scheduled          INTEGER NOT NULL,
    rule               INTEGER REFERENCES rules (id)
);
CREATE VIEW IF NOT EXISTS ledger_entries_explained AS
    SELECT e.seq, e.event_seq, ev.id AS event_id, e.at, e.member, e.kind, e.points,
           e.reward_money_cents, e.value_cents, e.scheduled, r.text AS rule
    FROM ledger_entries e
    JOIN events ev ON ev.seq = e.event_seq
    LEFT JOIN rules r ON r.id = e.rule;
CREATE TABLE IF NOT EXISTS rejected_events (
    seq    INTEGER PRIMARY KEY,
    id     TEXT,
    source TEXT NOT NULL,
    line   INTEGER NOT NULL,
    reason TEXT NOT NULL,
    raw    TEXT NOT NULL,
    UNIQUE (raw, reason)
);
CREATE TABLE IF NOT EXISTS members (
    id                 TEXT PRIMARY KEY,
    enrolled_at        TEXT NOT NULL,
    tier               TEXT,
    points_balance     INTEGER NOT NULL,
    reward_money_cents INTEGER NOT NULL,
    points_lots        TEXT NOT NULL,
    reward_money_lots  TEXT NOT NULL,
    last_entry_seq     INTEGER REFERENCES ledger_entries (seq),
    state              BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq          INTEGER PRIMARY KEY,
    webhook      TEXT NOT NULL,
    entry_seq    INTEGER NOT NULL REFERENCES ledger_entries (seq),
    body         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending',
    attempts     INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    delivered_at TEXT
);
CREATE VIEW IF NOT EXISTS earn_lots AS
    SELECT m.id AS member, 'points' AS kind, l.value ->> 0 AS earned_at,
           l.value ->> 1 AS expires_at, l.value ->> 2 AS amount
    FROM members m, json_each(m.points_lots) l
    UNION ALL
    SELECT m.id, 'reward_money_cents', l.value ->> 0, l.value ->> 1, l.value ->> 2
    FROM members m, json_each(m.reward_money_lots) l;
";

#[derive(Debug, Error)]
pub enum LedgerError {
    #[error("ledger {url}: {message}")]
    Postgres { url: String, message: String },
    #[error(
        "ledger {url} is kept under another program (\"{stored}\"): serve that program, or use \
         a new database (a new version of a program cannot yet be migrated on PostgreSQL)"
    )]
    PostgresProgram { url: String, stored: String },
    #[error(
        "ledger {url} is in PostgreSQL, which only `loyalty serve` keeps: `run` and `member` \
         take an SQLite file (ask the service for a member: GET /v1/members/ID)"
    )]
    OnlyServed { url: String },
    #[error("ledger {path}: {source}")]
    Sqlite {
        path: String,
        source: rusqlite::Error,
    },
    #[error(
        "ledger {path} was written by another version of the program (\"{stored}\"); \
         run with `--migrate` to continue it with this version (members keep their balances, \
         lots, orders and tier status; limits used and punch cards start again), \
         or use a new ledger"
    )]
    ProgramChanged { path: String, stored: String },
    #[error(
        "ledger {path} has schema {found} and this `loyalty` reads schema {SCHEMA_VERSION}: \
         use the version that made it, or a new ledger"
    )]
    Schema { path: String, found: String },
    #[error("ledger {path}: a member snapshot cannot be read: {message}")]
    Snapshot { path: String, message: String },
    #[error("ledger {path}: the writing stopped before the batch was committed")]
    WriterStopped { path: String },
    /// A read between the first batch of a run and its end: a bug in
    /// `loyalty`, not in the input.
    #[error("ledger {path} was read while this run was writing it")]
    Busy { path: String },
    #[error(
        "ledger {path} is being written by another `loyalty run` or `serve`: a ledger has one writer at \
         a time; run again when it has finished (`loyalty member` can read it meanwhile)"
    )]
    InUse { path: String },
    #[error("ledger {path} has no program yet: `loyalty run` it first")]
    Empty { path: String },
    #[error("ledger {path}: the program stored in it no longer compiles, so it cannot be migrated")]
    OldProgram { path: String },
    #[error("cannot open ledger {path} to write it: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    /// The second guard behind [`LedgerError::InUse`]: the log grew
    /// under this run, so its members would be stale. Nothing is written.
    #[error(
        "ledger {path} was written by another run while this one ran (it logged events up to \
         {found}, this run expected {expected}); nothing of this run's last batch was kept: \
         run it again"
    )]
    Moved {
        path: String,
        expected: i64,
        found: i64,
    },
}

pub struct Ledger {
    /// The connection; while the writer runs, its thread holds it.
    conn: Option<Connection>,
    /// The ledger file, locked while this process may write it (`None`
    /// for a reader).
    _lock: Option<File>,
    writer: Option<Writer>,
    path: String,
    /// The logged events' ids, by hash; a hit is confirmed by the row.
    ids: EventIds,
    /// The `rules` row of each cause met so far, so that an entry stores
    /// a number and the rule's text is written once.
    rules: HashMap<(Cause, EffectKind), Option<i64>, BuildHasherDefault<Fnv>>,
    rule_ids: HashMap<String, i64>,
    next_rule: i64,
    next_seq: i64,
    next_entry_seq: i64,
    next_delivery_seq: i64,
    /// Each member's latest entry (0: none yet), by the engine's index.
    last_entry: Vec<i64>,
    /// The schema of the member snapshots, earlier than this build's
    /// when an earlier ledger is opened to read.
    snapshot_schema: u32,
}

impl Ledger {
    /// Opens the ledger (made if missing) to write it: this process is
    /// its only writer until the `Ledger` is dropped. Another writer,
    /// even one with nothing to write, would load members that the first
    /// one's later commits leave stale, and then store them.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let name = path.display().to_string();
        postgres::not_an_address(&name)?;
        let sql = |source| LedgerError::Sqlite {
            path: name.clone(),
            source,
        };
        let cannot_open = |source| LedgerError::Open {
            path: name.clone(),
            source,
        };
        let lock = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(cannot_open)?;
        // An advisory lock on the file itself, taken by no one else:
        // SQLite's own locks are of another kind (fcntl) and last only a
        // transaction, while this one lasts the whole run.
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LedgerError::InUse { path: name });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(cannot_open(e)),
        }
        let conn = Connection::open(path).map_err(sql)?;
        Ledger::on(conn, name, Some(lock), true)
    }

    /// Opens the ledger to read it, changing nothing: while a run writes
    /// it (a reader sees the last commit), and on a read-only disk.
    pub fn open_to_read(path: &Path) -> Result<Ledger, LedgerError> {
        let name = path.display().to_string();
        postgres::not_an_address(&name)?;
        let sql = |source| LedgerError::Sqlite {
            path: name.clone(),
            source,
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        match Ledger::on(conn, name.clone(), None, false) {
            Err(LedgerError::Sqlite { .. }) => {
                // A WAL ledger needs its shared-memory file, which a
                // read-only disk cannot hold; a file there cannot be
                // written by anyone either, so it may be read as it is.
                let uri = format!("file:{}?immutable=1", uri_path(path));
                let conn = Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .map_err(sql)?;
                Ledger::on(conn, name, None, false)
            }
            opened => opened,
        }
    }

    fn on(
        conn: Connection,
        name: String,
        lock: Option<File>,
        write: bool,
    ) -> Result<Ledger, LedgerError> {
        let sql = |source| LedgerError::Sqlite {
            path: name.clone(),
            source,
        };
        if write {
            Ledger::prepare_to_write(&conn).map_err(sql)?;
        }
        // The version is read before the schema is applied: this
        // version's tables must not be added to another version's file.
        let has_meta: bool = conn
            .query_row(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                [],
                |row| row.get(0),
            )
            .map_err(sql)?;
        let found: Option<String> = if has_meta {
            conn.query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(sql)?
        } else {
            None
        };
        let earlier = found
            .as_deref()
            .filter(|found| EARLIER_SNAPSHOTS.contains(found))
            .and_then(|found| found.parse::<u32>().ok());
        if let Some(found) = found
            && found != SCHEMA_VERSION
            && earlier.is_none()
        {
            return Err(LedgerError::Schema { path: name, found });
        }
        if write && let Some(earlier) = earlier {
            Ledger::upgrade_snapshots(&conn, &name, earlier)?;
        }
        if write {
            conn.execute_batch(SCHEMA).map_err(sql)?;
            conn.execute(SET_META, ["schema_version", SCHEMA_VERSION])
                .map_err(sql)?;
        } else if !has_meta {
            // Nothing a reader could show: not a ledger yet.
            return Err(LedgerError::Empty { path: name });
        }

        let mut ids = EventIds::default();
        let mut next_seq = 1;
        {
            let mut statement = conn.prepare("SELECT seq, id FROM events").map_err(sql)?;
            let mut rows = statement.query([]).map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let seq: i64 = row.get(0).map_err(sql)?;
                let id = row
                    .get_ref(1)
                    .map_err(sql)?
                    .as_bytes()
                    .map_err(|e| sql(e.into()))?;
                ids.add(id, seq);
                next_seq = next_seq.max(seq + 1);
            }
        }
        let next_entry_seq = conn
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM ledger_entries",
                [],
                |row| row.get(0),
            )
            .map_err(sql)?;
        // A reader of a ledger from before webhooks finds no outbox.
        let next_delivery_seq = if write {
            conn.query_row(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM webhook_deliveries",
                [],
                |row| row.get(0),
            )
            .map_err(sql)?
        } else {
            1
        };
        let mut rule_ids = HashMap::new();
        let mut next_rule = 1;
        {
            let mut statement = conn.prepare("SELECT id, text FROM rules").map_err(sql)?;
            let rows = statement
                .query_map([], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .map_err(sql)?;
            for row in rows {
                let (id, text) = row.map_err(sql)?;
                next_rule = next_rule.max(id + 1);
                rule_ids.insert(text, id);
            }
        }
        Ok(Ledger {
            conn: Some(conn),
            _lock: lock,
            writer: None,
            path: name,
            ids,
            rules: HashMap::default(),
            rule_ids,
            next_rule,
            next_seq,
            next_entry_seq,
            next_delivery_seq,
            last_entry: Vec::new(),
            snapshot_schema: earlier
                .filter(|_| !write)
                .unwrap_or(crate::engine::SNAPSHOT_SCHEMA),
        })
    }

    /// Brings an earlier ledger's member snapshots to this schema, in one
    /// transaction: what they lack starts empty (an order of schema 4
    /// gains an empty visit, so a refund of it takes back what its rate
    /// earned, as it did).
    fn upgrade_snapshots(conn: &Connection, name: &str, schema: u32) -> Result<(), LedgerError> {
        let sql = |source| LedgerError::Sqlite {
            path: name.to_string(),
            source,
        };
        let snapshot = |e: postcard::Error| LedgerError::Snapshot {
            path: name.to_string(),
            message: e.to_string(),
        };
        let transaction = conn.unchecked_transaction().map_err(sql)?;
        let mut states: Vec<(i64, Vec<u8>)> = Vec::new();
        {
            let mut statement = transaction
                .prepare("SELECT rowid, state FROM members WHERE state IS NOT NULL")
                .map_err(sql)?;
            let mut rows = statement.query([]).map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let bytes: Vec<u8> = row.get(1).map_err(sql)?;
                let member: Member =
                    crate::engine::in_snapshot_schema(schema, || postcard::from_bytes(&bytes))
                        .map_err(snapshot)?;
                states.push((
                    row.get(0).map_err(sql)?,
                    postcard::to_allocvec(&member).map_err(snapshot)?,
                ));
            }
        }
        for (rowid, state) in states {
            transaction
                .execute(
                    "UPDATE members SET state = ?1 WHERE rowid = ?2",
                    rusqlite::params![state, rowid],
                )
                .map_err(sql)?;
        }
        transaction
            .execute(SET_META, ["schema_version", SCHEMA_VERSION])
            .map_err(sql)?;
        transaction.commit().map_err(sql)
    }

    fn prepare_to_write(conn: &Connection) -> rusqlite::Result<()> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        // A large page cache and fewer checkpoints: a snapshot touches
        // pages all over the file, and each page is then written once
        // per batch and once per checkpoint rather than many times.
        conn.pragma_update(None, "cache_size", -131_072)?;
        conn.pragma_update(None, "wal_autocheckpoint", 32_768)
    }

    fn sql(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The connection, when the writer is not running (it runs from a
    /// run's first batch to its end).
    fn conn(&self) -> Result<&Connection, LedgerError> {
        self.conn
            .as_ref()
            .ok_or_else(|| LedgerError::WriterStopped {
                path: self.path.clone(),
            })
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, LedgerError> {
        self.conn()?
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn set_meta(&mut self, key: &'static str, value: &str) -> Result<(), LedgerError> {
        if let Some(writer) = self.writer.as_mut() {
            writer.begin();
            let value = writer.rows.text(value);
            writer.rows.meta.push((key, value));
            return Ok(());
        }
        self.conn()?
            .execute(SET_META, [key, value])
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// Binds the ledger to the program on first use; afterwards refuses
    /// another version unless `migrate`.
    pub fn bind_program(
        &mut self,
        program: &Program,
        source: &str,
        migrate: bool,
    ) -> Result<Binding, LedgerError> {
        let hash = format!("{:016x}", program.hash);
        // A hash without the program's text was left by a run killed
        // while binding, before binding was one transaction, and before
        // any event: the ledger is as new.
        if self.meta("program_source")?.is_none() {
            self.set_identity(program, source)?;
            return Ok(Binding::New);
        }
        match self.meta("program_hash")? {
            None => {
                self.set_identity(program, source)?;
                Ok(Binding::New)
            }
            Some(stored) if stored == hash => Ok(Binding::Same),
            // Another fingerprint may still be this program: stored by a
            // version of `loyalty` that took it another way (over the
            // formatter's text, before it was the resolved program's), or
            // from a text that says the same thing in other words. The
            // stored text, compiled now, decides; the ledger then keeps
            // this text and fingerprint.
            Some(_) if self.stored_program_is(program)? => {
                self.set_identity(program, source)?;
                Ok(Binding::Same)
            }
            Some(_) if migrate => {
                let old_source = self.meta("program_source")?.unwrap_or_default();
                Ok(Binding::Migrate { old_source })
            }
            Some(_) => Err(LedgerError::ProgramChanged {
                path: self.path.clone(),
                stored: self.meta("program_name")?.unwrap_or_default(),
            }),
        }
    }

    /// Whether the program text stored in the ledger compiles, with this
    /// version of `loyalty`, to the same program as `program`.
    fn stored_program_is(&self, program: &Program) -> Result<bool, LedgerError> {
        let stored = self.meta("program_source")?.unwrap_or_default();
        Ok(crate::load(&stored).is_ok_and(|old| old.hash == program.hash))
    }

    /// The program's hash, name and text, stored together or not at
    /// all: in the open transaction, or in one of their own.
    fn set_identity(&mut self, program: &Program, source: &str) -> Result<(), LedgerError> {
        let identity = [
            ("program_hash", format!("{:016x}", program.hash)),
            ("program_name", program.name.clone()),
            ("program_source", source.to_string()),
        ];
        if self.writer.is_some() {
            for (key, value) in &identity {
                self.set_meta(key, value)?;
            }
            return Ok(());
        }
        let conn = self.conn()?;
        let stored = (|| {
            let transaction = conn.unchecked_transaction()?;
            for (key, value) in &identity {
                transaction.execute(SET_META, [key, value.as_str()])?;
            }
            transaction.commit()
        })();
        stored.map_err(|e| self.sql(e))
    }

    /// Records that the ledger continues with `program` from now on.
    pub fn rebind_program(&mut self, program: &Program, source: &str) -> Result<(), LedgerError> {
        self.set_identity(program, source)?;
        self.set_meta("snapshot_seq", &(self.next_seq - 1).to_string())?;
        self.set_meta("snapshot_entry_seq", &(self.next_entry_seq - 1).to_string())
    }

    /// The engine as the ledger leaves it: the snapshot, then the events
    /// logged after it applied again in memory.
    /// The engine a run continues: the program bound to the ledger (a
    /// new ledger takes it), its members loaded. A ledger of another
    /// version of the program is refused unless `migrate`, which carries
    /// the members over to this version ([`Engine::migrate`]) and stores
    /// the new version and the members under it together, or neither.
    /// The flag says whether it migrated.
    pub fn engine<'p>(
        &mut self,
        program: &'p Program,
        source: &str,
        migrate: bool,
    ) -> Result<(Engine<'p>, bool), LedgerError> {
        let old_source = match self.bind_program(program, source, migrate)? {
            Binding::New | Binding::Same => return Ok((self.load(program)?, false)),
            Binding::Migrate { old_source } => old_source,
        };
        let old = crate::load(&old_source).map_err(|_| LedgerError::OldProgram {
            path: self.path.clone(),
        })?;
        let mut engine = self.load(&old)?.migrate(program);
        engine.mark_all();
        self.begin()?;
        self.rebind_program(program, source)?;
        self.snapshot(&mut engine)?;
        self.commit()?;
        Ok((engine, true))
    }

    pub fn load<'p>(&mut self, program: &'p Program) -> Result<Engine<'p>, LedgerError> {
        let sql = |e| self.sql(e);
        let conn = self.conn()?;
        let mut members = Vec::new();
        let mut last_entry = Vec::new();
        {
            let mut statement = conn
                .prepare("SELECT state, last_entry_seq FROM members ORDER BY rowid")
                .map_err(sql)?;
            let mut rows = statement.query([]).map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let state = row
                    .get_ref(0)
                    .map_err(sql)?
                    .as_blob()
                    .map_err(|e| sql(e.into()))?;
                let decoded = crate::engine::in_snapshot_schema(self.snapshot_schema, || {
                    postcard::from_bytes::<Member>(state)
                });
                let member = decoded.map_err(|e| LedgerError::Snapshot {
                    path: self.path.clone(),
                    message: e.to_string(),
                })?;
                members.push(member);
                last_entry.push(row.get::<_, Option<i64>>(1).map_err(sql)?.unwrap_or(0));
            }
        }
        let clock = self
            .meta("clock")?
            .and_then(|c| c.parse().ok())
            .map_or(Time(i64::MIN), Time);
        let mut engine = Engine::restore(program, members, clock);
        // The budgets all members share, as the snapshot left them; a
        // ledger of an earlier version kept none.
        if let Some(budgets) = self.meta("budgets")? {
            let counters = serde_json::from_str(&budgets).map_err(|e| LedgerError::Snapshot {
                path: self.path.clone(),
                message: format!("the budgets kept in the ledger cannot be read: {e}"),
            })?;
            engine.restore_budgets(counters);
        }
        let snapshot_seq: i64 = self
            .meta("snapshot_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let snapshot_entry_seq: i64 = self
            .meta("snapshot_entry_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        {
            let mut statement = conn
                .prepare("SELECT raw FROM events WHERE seq > ?1 ORDER BY seq")
                .map_err(sql)?;
            let mut rows = statement.query([snapshot_seq]).map_err(sql)?;
            let mut effects = Vec::new();
            while let Some(row) = rows.next().map_err(sql)? {
                let raw = row
                    .get_ref(0)
                    .map_err(sql)?
                    .as_str()
                    .map_err(|e| sql(e.into()))?;
                if let Ok(event) = decode(program, raw) {
                    effects.clear();
                    // The outcome is in the log already; only the state
                    // is wanted.
                    let _ = engine.apply(&event, &mut effects);
                }
            }
        }
        // Entries made after the snapshot are each member's latest.
        last_entry.resize(engine.members().len(), 0);
        let mut statement = conn
            .prepare("SELECT member, MAX(seq) FROM ledger_entries WHERE seq > ?1 GROUP BY member")
            .map_err(sql)?;
        let mut rows = statement.query([snapshot_entry_seq]).map_err(sql)?;
        while let Some(row) = rows.next().map_err(sql)? {
            let member = row
                .get_ref(0)
                .map_err(sql)?
                .as_str()
                .map_err(|e| sql(e.into()))?;
            if let Some(index) = engine.member_index(member) {
                last_entry[index as usize] = row.get(1).map_err(sql)?;
            }
        }
        drop(rows);
        drop(statement);
        self.last_entry = last_entry;
        Ok(engine)
    }

    /// Starts loading where `seen` will look for the id.
    pub fn prefetch_seen(&self, id: &str) {
        self.ids.prefetch(id);
    }

    pub fn seen(&mut self, id: &str, raw: &str) -> Result<Seen, LedgerError> {
        let seqs: Vec<i64> = self.ids.positions(id).collect();
        if seqs.is_empty() {
            return Ok(Seen::New);
        }
        let logged = self.stored_events(seqs)?;
        Ok(Seen::of(
            logged
                .iter()
                .map(|e| (e.seq, e.id.as_str(), e.applied, e.raw.as_str())),
            id,
            raw,
        ))
    }

    fn stored_events(&mut self, seqs: Vec<i64>) -> Result<Vec<StoredEvent>, LedgerError> {
        if let Some(writer) = self.writer.as_mut() {
            return match writer.events(seqs) {
                Some(found) => found.map_err(|e| self.sql(e)),
                None => Err(self.stop()),
            };
        }
        let conn = self.conn()?;
        conn.prepare_cached(writer::STORED_EVENT)
            .and_then(|mut statement| writer::stored_events(&mut statement, &seqs))
            .map_err(|e| self.sql(e))
    }

    /// Opens a transaction (a batch), unless one is open; the writer
    /// thread starts with the first.
    pub fn begin(&mut self) -> Result<(), LedgerError> {
        if self.writer.is_none() {
            let conn = self.conn.take().ok_or_else(|| LedgerError::WriterStopped {
                path: self.path.clone(),
            })?;
            self.writer = Some(Writer::start(conn));
        }
        let begun = self.writer.as_mut().is_some_and(Writer::begin);
        if begun { Ok(()) } else { Err(self.stop()) }
    }

    /// Commits the open transaction and returns once it is durable.
    pub fn commit(&mut self) -> Result<(), LedgerError> {
        self.end_transaction(true)
    }

    /// Commits the open transaction and returns at once: the engine goes
    /// on while SQLite commits. An error shows at the next call.
    pub fn commit_in_background(&mut self) -> Result<(), LedgerError> {
        self.end_transaction(false)
    }

    /// Commits the open transaction in the background; `durable` runs
    /// once everything written so far is durable (at once when nothing
    /// is in flight), and never if the commit fails.
    pub fn commit_then(&mut self, durable: Durable) -> Result<(), LedgerError> {
        let Some(writer) = self.writer.as_mut() else {
            durable();
            return Ok(());
        };
        if writer.commit_then(Some(durable)) {
            Ok(())
        } else {
            Err(self.stop())
        }
    }

    fn end_transaction(&mut self, wait: bool) -> Result<(), LedgerError> {
        let committed = self
            .writer
            .as_mut()
            .is_none_or(|writer| writer.commit(wait));
        if committed { Ok(()) } else { Err(self.stop()) }
    }

    /// Stops the writer, if it runs, and takes the connection back; a
    /// transaction still open is rolled back.
    pub fn close(&mut self) -> Result<(), LedgerError> {
        match self.writer.take() {
            Some(writer) => {
                let (conn, result) = writer.stop();
                self.conn = Some(conn);
                result.map_err(|e| match e {
                    rusqlite::Error::ToSqlConversionFailure(e) if e.is::<LogMoved>() => {
                        let moved = e.downcast::<LogMoved>().expect("checked above");
                        LedgerError::Moved {
                            path: self.path.clone(),
                            expected: moved.expected,
                            found: moved.found,
                        }
                    }
                    e => self.sql(e),
                })
            }
            None => Ok(()),
        }
    }

    /// The writer has stopped on an error: this is the error.
    fn stop(&mut self) -> LedgerError {
        match self.close() {
            Err(error) => error,
            Ok(()) => LedgerError::WriterStopped {
                path: self.path.clone(),
            },
        }
    }

    /// The open transaction's buffer (opening one if none is).
    fn rows(&mut self) -> Result<&mut Rows, LedgerError> {
        self.begin()?;
        match self.writer.as_mut() {
            Some(writer) => Ok(&mut writer.rows),
            None => Err(LedgerError::WriterStopped {
                path: self.path.clone(),
            }),
        }
    }

    /// Hands a full buffer to the writer.
    fn rows_written(&mut self) -> Result<(), LedgerError> {
        if let Some(writer) = self.writer.as_mut()
            && writer.rows.is_full()
            && !writer.send()
        {
            return Err(self.stop());
        }
        Ok(())
    }

    /// Logs an event handed to the engine, applied or not; returns its
    /// sequence number.
    pub fn log_event(
        &mut self,
        id: &str,
        at: Time,
        applied: bool,
        raw: &str,
    ) -> Result<i64, LedgerError> {
        let seq = self.next_seq;
        let rows = self.rows()?;
        let row = EventRow {
            seq,
            id: rows.text(id),
            at,
            applied,
            raw: rows.text(raw),
        };
        rows.events.push(row);
        self.next_seq += 1;
        self.ids.add(id.as_bytes(), seq);
        self.rows_written()?;
        Ok(seq)
    }

    /// Logs a ledger entry; returns its sequence number.
    pub fn log_entry(
        &mut self,
        program: &Program,
        event_seq: i64,
        effect: &Effect,
        member: &str,
    ) -> Result<i64, LedgerError> {
        let rule = self.rule_id(program, effect)?;
        let seq = self.next_entry_seq;
        let index = effect.member as usize;
        if self.last_entry.len() <= index {
            self.last_entry.resize(index + 1, 0);
        }
        let previous = std::mem::replace(&mut self.last_entry[index], seq);
        let rows = self.rows()?;
        let row = EntryRow {
            seq,
            previous_seq: (previous != 0).then_some(previous),
            event_seq,
            at: effect.at,
            member: rows.text(member),
            kind: effect.kind,
            points: effect.points,
            money: effect.money,
            value: effect.value,
            scheduled: effect.scheduled,
            rule,
        };
        rows.entries.push(row);
        self.next_entry_seq += 1;
        self.rows_written()?;
        Ok(seq)
    }

    /// Puts a webhook's delivery of an entry in the outbox, in the same
    /// transaction as the entry; returns its sequence number.
    pub fn log_delivery(
        &mut self,
        webhook: &str,
        entry_seq: i64,
        body: &str,
    ) -> Result<i64, LedgerError> {
        let seq = self.next_delivery_seq;
        let rows = self.rows()?;
        let row = DeliveryRow {
            seq,
            webhook: rows.text(webhook),
            entry_seq,
            body: rows.text(body),
        };
        rows.deliveries.push(row);
        self.next_delivery_seq += 1;
        self.rows_written()?;
        Ok(seq)
    }

    /// Erases a member in the open transaction: their id replaced by
    /// `pseudonym` wherever the ledger holds it, their birthday and
    /// attributes dropped from the log (the engine's [`Engine::erase`]
    /// does the same to the member, whose snapshot then follows).
    pub fn erase(&mut self, id: &str, pseudonym: &str) -> Result<(), LedgerError> {
        let erased = match self.writer.as_mut() {
            Some(writer) => writer.erase(id, pseudonym),
            None => {
                let conn = self.conn()?;
                return writer::erase(conn, id, pseudonym).map_err(|e| self.sql(e));
            }
        };
        if erased { Ok(()) } else { Err(self.stop()) }
    }

    /// Empties the write-ahead log into the file once what was sent is
    /// committed, so that no old copy of an erased page remains in it.
    pub fn checkpoint(&mut self) -> Result<(), LedgerError> {
        let done = match self.writer.as_mut() {
            Some(writer) => writer.checkpoint(),
            None => {
                let conn = self.conn()?;
                return conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .map_err(|e| self.sql(e));
            }
        };
        if done { Ok(()) } else { Err(self.stop()) }
    }

    /// Records an attempt at a delivery, with the next transaction.
    pub fn log_attempt(&mut self, attempt: &Attempt) -> Result<(), LedgerError> {
        let rows = self.rows()?;
        let row = AttemptRow {
            seq: attempt.delivery,
            status: attempt.status.name(),
            attempts: attempt.attempts,
            next_attempt: attempt.next_attempt,
            last_error: attempt.error.as_deref().map(|e| rows.text(e)),
            delivered_at: attempt.delivered_at,
        };
        rows.attempts.push(row);
        self.rows_written()
    }

    /// The `rules` row naming the rule behind an effect, made on first
    /// use; `None` when no rule caused it.
    fn rule_id(&mut self, program: &Program, effect: &Effect) -> Result<Option<i64>, LedgerError> {
        let key = (effect.cause, effect.kind);
        if let Some(id) = self.rules.get(&key) {
            return Ok(*id);
        }
        let text = why(program, effect.kind, effect.cause);
        let id = if text.is_empty() {
            None
        } else if let Some(&id) = self.rule_ids.get(&text) {
            Some(id)
        } else {
            let id = self.next_rule;
            let rows = self.rows()?;
            let row = (id, rows.text(&text));
            rows.rules.push(row);
            self.next_rule += 1;
            self.rule_ids.insert(text, id);
            Some(id)
        };
        self.rules.insert(key, id);
        Ok(id)
    }

    pub fn log_rejected(
        &mut self,
        id: Option<&str>,
        source: &str,
        line: usize,
        reason: &str,
        raw: &str,
    ) -> Result<(), LedgerError> {
        let rows = self.rows()?;
        let row = RejectedRow {
            id: id.map(|id| rows.text(id)),
            source: rows.text(source),
            line: line as i64,
            reason: rows.text(reason),
            raw: rows.text(raw),
        };
        rows.rejected.push(row);
        self.rows_written()
    }

    /// Writes the members changed since the last snapshot, inside the
    /// open transaction, and marks the log as covered up to now.
    pub fn snapshot(&mut self, engine: &mut Engine) -> Result<(), LedgerError> {
        let program = engine.program();
        // Written only over the log this run loaded and added to.
        let ends = (self.next_seq - 1, self.next_entry_seq - 1);
        self.rows()?.log_ends = Some(ends);
        for index in engine.take_changed() {
            let member = engine.member_at(index);
            let last_entry = self.last_entry.get(index as usize).copied();
            let rows = self.rows()?;
            let state = rows.blob(|bytes| postcard::to_extend(member, bytes));
            let state = state.map_err(|e| LedgerError::Snapshot {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
            let rows = self.rows()?;
            let row = MemberRow {
                id: rows.text(&member.id),
                enrolled_at: member.enrolled_at,
                tier: member
                    .tier
                    .map(|t| rows.text(&program.tiers[usize::from(t)].name)),
                points: member.points.balance,
                money: member.money.balance,
                points_lots: rows.text_with(|text| lots_json(&member.points, text)),
                money_lots: rows.text_with(|text| lots_json(&member.money, text)),
                last_entry_seq: last_entry.filter(|&seq| seq != 0),
                state,
            };
            rows.members.push(row);
            self.rows_written()?;
        }
        self.set_meta("snapshot_seq", &(self.next_seq - 1).to_string())?;
        self.set_meta("snapshot_entry_seq", &(self.next_entry_seq - 1).to_string())?;
        if program.budget_slots > 0 {
            let budgets = serde_json::to_string(engine.budget_counters()).map_err(|e| {
                LedgerError::Snapshot {
                    path: self.path.clone(),
                    message: e.to_string(),
                }
            })?;
            self.set_meta("budgets", &budgets)?;
        }
        self.set_meta("clock", &engine.clock().0.to_string())
    }

    /// Leaves checkpoints (copying the write-ahead log into the file) to
    /// a [`Checkpointer`], so that no commit waits for one: what a
    /// service needs, whose every answer waits for its commit.
    pub fn checkpoint_elsewhere(&mut self) -> Result<Checkpointer, LedgerError> {
        self.conn()?
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(|e| self.sql(e))?;
        Checkpointer::start(Path::new(&self.path)).map_err(|e| self.sql(e))
    }

    /// The file's name, as errors give it.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The member's last entry, if it has one.
    pub fn last_entry(&self, member: MemberIndex) -> Option<i64> {
        self.last_entry
            .get(member as usize)
            .copied()
            .filter(|&seq| seq != 0)
    }

    /// A member's latest entries, newest first, following each entry's
    /// link to the one before.
    pub fn recent_entries(
        &self,
        member: MemberIndex,
        limit: usize,
    ) -> Result<Vec<LoggedEntry>, LedgerError> {
        match self.last_entry(member) {
            Some(last) => {
                reader::entries_back_from(self.conn()?, last, limit).map_err(|e| self.sql(e))
            }
            None => Ok(Vec::new()),
        }
    }
}

/// A member's lots as the `earn_lots` view reads them:
/// `[[earned_at, expires_at or null, amount], ...]`.
fn lots_json(lots: &Lots, text: &mut String) {
    use std::fmt::Write;
    text.push('[');
    for (n, lot) in lots.lots.iter().enumerate() {
        text.push_str(if n == 0 { "[\"" } else { ",[\"" });
        lot.earned_at.write_to(text);
        if lot.expires_at == Time::NEVER {
            text.push_str("\",null,");
        } else {
            text.push_str("\",\"");
            lot.expires_at.write_to(text);
            text.push_str("\",");
        }
        let _ = write!(text, "{}", lot.amount);
        text.push(']');
    }
    text.push(']');
}

/// A file's path as an SQLite URI's path: `%`, `?` and `#` escaped.
fn uri_path(path: &Path) -> String {
    let mut uri = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => uri.push_str("%25"),
            '?' => uri.push_str("%3f"),
            '#' => uri.push_str("%23"),
            c => uri.push(c),
        }
    }
    uri
}

/// How a program relates to the ledger it runs against.
#[derive(Debug, PartialEq, Eq)]
pub enum Binding {
    New,
    Same,
    /// A different version, with the stored program's text.
    Migrate {
        old_source: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events_stored(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM events", [], |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn a_ledger_of_another_schema_is_refused_and_left_as_it_was() {
        let dir =
            std::env::temp_dir().join(format!("loyalty-ledger-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("old.db");
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 INSERT INTO meta VALUES ('schema_version', '3');",
            )
            .unwrap();
        let Err(error) = Ledger::open(&path) else {
            panic!("a schema-3 ledger was opened");
        };
        assert!(matches!(error, LedgerError::Schema { ref found, .. } if found == "3"));
        let tables: i64 = Connection::open(&path)
            .unwrap()
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get(0))
            .unwrap();
        // `meta` and its key's index: nothing of schema 4 was added.
        assert_eq!(tables, 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_batch_is_kept_when_committed_and_rolled_back_when_dropped() {
        let dir = std::env::temp_dir().join(format!("loyalty-ledger-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.db");
        let mut ledger = Ledger::open(&path).unwrap();
        ledger.begin().unwrap();
        ledger.log_event("a", Time(0), true, "{}").unwrap();
        ledger.commit().unwrap();
        ledger.begin().unwrap();
        ledger.log_event("b", Time(1), true, "{}").unwrap();
        // A run that stops half-way: nothing of the open batch stays.
        drop(ledger);
        assert_eq!(events_stored(&path), 1);

        let mut ledger = Ledger::open(&path).unwrap();
        assert_eq!(ledger.seen("a", "{}").unwrap(), Seen::Applied(1));
        assert_eq!(ledger.seen("b", "{}").unwrap(), Seen::New);
        // Within a batch, ids logged a moment ago are found too.
        ledger.begin().unwrap();
        ledger.log_event("c", Time(2), false, "{\"x\":1}").unwrap();
        assert_eq!(ledger.seen("c", "{\"x\":1}").unwrap(), Seen::Rejected(2));
        assert_eq!(ledger.seen("c", "{\"x\":2}").unwrap(), Seen::New);
        ledger.commit().unwrap();
        assert_eq!(events_stored(&path), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The second guard behind the lock: a run whose ledger was written
    /// by someone else since it loaded stores no snapshot over it.
    #[test]
    fn a_snapshot_is_refused_when_the_log_moved_under_the_run() {
        let dir = std::env::temp_dir().join(format!("loyalty-ledger-moved-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.db");
        let program = crate::load(
            "program \"P\"\ncurrency USD\npoints are called \"points\"\nearn 1 point per $1 spent\n",
        )
        .unwrap();
        let mut ledger = Ledger::open(&path).unwrap();
        ledger.bind_program(&program, "", false).unwrap();
        let mut engine = ledger.load(&program).unwrap();
        // Another process, past the lock (as on a disk without locks).
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "INSERT INTO events (seq, id, at, applied, raw) VALUES (1, 'x', '2026-01-01', 1, '{}')",
            )
            .unwrap();
        let stored = ledger
            .begin()
            .and_then(|()| ledger.snapshot(&mut engine))
            .and_then(|()| ledger.commit());
        let Err(error) = stored else {
            panic!("a snapshot was stored over a log that moved");
        };
        assert!(
            matches!(
                error,
                LedgerError::Moved {
                    expected: 0,
                    found: 1,
                    ..
                }
            ),
            "{error}"
        );
        drop(ledger);
        let snapshot: Option<String> = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT value FROM meta WHERE key = 'snapshot_seq'",
                [],
                |r| r.get(0),
            )
            .optional()
            .unwrap();
        assert_eq!(snapshot, None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_second_writer_is_refused_while_the_first_holds_the_ledger() {
        let dir = std::env::temp_dir().join(format!("loyalty-ledger-lock-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ledger.db");
        let first = Ledger::open(&path).unwrap();
        assert!(matches!(
            Ledger::open(&path),
            Err(LedgerError::InUse { .. })
        ));
        assert!(Ledger::open_to_read(&path).is_ok());
        drop(first);
        assert!(Ledger::open(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
