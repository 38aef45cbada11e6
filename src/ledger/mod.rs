//! The ledger: an SQLite file (bundled SQLite, WAL) that holds every
//! event applied, every ledger entry it made, and a snapshot of each
//! member. The schema is in the README.
//!
//! Exactly once: an event is applied in the same transaction that logs
//! its id, so after a crash either both are there or neither. Events are
//! committed in batches; a crash loses at most the open batch, which a
//! re-run applies again (its events are not in the log).
//!
//! The member snapshot is written when a run ends. On opening, members
//! are read from the snapshot and the events logged after it are applied
//! again in memory (their entries are already stored), so a run killed
//! at any moment leaves a ledger that the next run continues exactly.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;

use crate::compile::Program;
use crate::engine::{Cause, Effect, EffectKind, Engine, Member, decode, why};
use crate::fnv::Fnv;
use crate::time::Time;

/// 3: member snapshots hold their small records as arrays.
const SCHEMA_VERSION: &str = "3";

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
CREATE INDEX IF NOT EXISTS events_by_id ON events (id);
CREATE TABLE IF NOT EXISTS rules (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS ledger_entries (
    seq                INTEGER PRIMARY KEY,
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
CREATE INDEX IF NOT EXISTS ledger_entries_by_member ON ledger_entries (member, seq);
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
    state              TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS earn_lots (
    member     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    earned_at  TEXT NOT NULL,
    expires_at TEXT,
    amount     INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS earn_lots_by_member ON earn_lots (member);
";

#[derive(Debug, Error)]
pub enum LedgerError {
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
}

/// What happened to an event id already in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    New,
    Applied,
    /// Rejected before with the very same line.
    Rejected,
}

pub struct Ledger {
    conn: Connection,
    path: String,
    /// Hashes of the ids in the log, to answer "seen before?" without a
    /// query for every new event; a hit is confirmed by a query.
    ids: HashSet<u64>,
    /// The `rules` row of each cause met so far, so that an entry stores
    /// a number and the rule's text is written once.
    rules: HashMap<(Cause, EffectKind), Option<i64>, BuildHasherDefault<Fnv>>,
    next_seq: i64,
    in_transaction: bool,
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        let name = path.display().to_string();
        let sql = |source| LedgerError::Sqlite {
            path: name.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sql)?;
        conn.pragma_update(None, "foreign_keys", "OFF")
            .map_err(sql)?;
        // A large page cache and fewer checkpoints: a batch touches index
        // pages all over the file, and each page is then written once
        // per batch and once per checkpoint rather than many times.
        conn.pragma_update(None, "cache_size", -131_072)
            .map_err(sql)?;
        conn.pragma_update(None, "wal_autocheckpoint", 32_768)
            .map_err(sql)?;
        conn.execute_batch(SCHEMA).map_err(sql)?;
        let mut ledger = Ledger {
            conn,
            path: name.clone(),
            ids: HashSet::new(),
            rules: HashMap::default(),
            next_seq: 1,
            in_transaction: false,
        };
        if let Some(found) = ledger.meta("schema_version")?
            && found != SCHEMA_VERSION
        {
            return Err(LedgerError::Schema {
                path: ledger.path.clone(),
                found,
            });
        }
        ledger.set_meta("schema_version", SCHEMA_VERSION)?;
        let ids: Vec<String> = {
            let mut statement = ledger.conn.prepare("SELECT id FROM events").map_err(sql)?;
            statement
                .query_map([], |row| row.get(0))
                .map_err(sql)?
                .collect::<Result<_, _>>()
                .map_err(sql)?
        };
        for id in &ids {
            let hash = ledger.hash(id);
            ledger.ids.insert(hash);
        }
        ledger.next_seq = ledger
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) + 1 FROM events", [], |row| {
                row.get(0)
            })
            .map_err(sql)?;
        Ok(ledger)
    }

    fn sql(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn hash(&self, id: &str) -> u64 {
        crate::fnv::hash(id.as_bytes())
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>, LedgerError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| self.sql(e))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), LedgerError> {
        self.conn
            .execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
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
        match self.meta("program_hash")? {
            None => {
                self.set_meta("program_hash", &hash)?;
                self.set_meta("program_name", &program.name)?;
                self.set_meta("program_source", source)?;
                Ok(Binding::New)
            }
            Some(stored) if stored == hash => Ok(Binding::Same),
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

    /// Records that the ledger continues with `program` from now on.
    pub fn rebind_program(&mut self, program: &Program, source: &str) -> Result<(), LedgerError> {
        self.set_meta("program_hash", &format!("{:016x}", program.hash))?;
        self.set_meta("program_name", &program.name)?;
        self.set_meta("program_source", source)?;
        self.set_meta("snapshot_seq", &(self.next_seq - 1).to_string())
    }

    /// The engine as the ledger leaves it: the snapshot, then the events
    /// logged after it applied again in memory.
    pub fn load<'p>(&self, program: &'p Program) -> Result<Engine<'p>, LedgerError> {
        let sql = |e| self.sql(e);
        let mut members = Vec::new();
        {
            let mut statement = self
                .conn
                .prepare("SELECT state FROM members ORDER BY rowid")
                .map_err(sql)?;
            let rows = statement
                .query_map([], |row| row.get::<_, String>(0))
                .map_err(sql)?;
            for state in rows {
                let state = state.map_err(sql)?;
                let member: Member =
                    serde_json::from_str(&state).map_err(|e| LedgerError::Snapshot {
                        path: self.path.clone(),
                        message: e.to_string(),
                    })?;
                members.push(member);
            }
        }
        let clock = self
            .meta("clock")?
            .and_then(|c| c.parse().ok())
            .map_or(Time(i64::MIN), Time);
        let mut engine = Engine::restore(program, members, clock);
        let snapshot_seq: i64 = self
            .meta("snapshot_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut statement = self
            .conn
            .prepare("SELECT raw FROM events WHERE seq > ?1 ORDER BY seq")
            .map_err(sql)?;
        let rows = statement
            .query_map([snapshot_seq], |row| row.get::<_, String>(0))
            .map_err(sql)?;
        let mut effects = Vec::new();
        for raw in rows {
            let raw = raw.map_err(sql)?;
            if let Ok(event) = decode(program, &raw) {
                effects.clear();
                // The outcome is in the log already; only the state is
                // wanted.
                let _ = engine.apply(&event, &mut effects);
            }
        }
        Ok(engine)
    }

    pub fn seen(&self, id: &str, raw: &str) -> Result<Seen, LedgerError> {
        if !self.ids.contains(&self.hash(id)) {
            return Ok(Seen::New);
        }
        let mut statement = self
            .conn
            .prepare_cached("SELECT applied, raw FROM events WHERE id = ?1")
            .map_err(|e| self.sql(e))?;
        let rows: Vec<(bool, String)> = statement
            .query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(|e| self.sql(e))?
            .collect::<Result<_, _>>()
            .map_err(|e| self.sql(e))?;
        if rows.iter().any(|(applied, _)| *applied) {
            Ok(Seen::Applied)
        } else if rows.iter().any(|(_, r)| r == raw) {
            Ok(Seen::Rejected)
        } else {
            Ok(Seen::New)
        }
    }

    pub fn begin(&mut self) -> Result<(), LedgerError> {
        if !self.in_transaction {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| self.sql(e))?;
            self.in_transaction = true;
        }
        Ok(())
    }

    pub fn commit(&mut self) -> Result<(), LedgerError> {
        if self.in_transaction {
            self.conn.execute_batch("COMMIT").map_err(|e| self.sql(e))?;
            self.in_transaction = false;
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
        self.conn
            .prepare_cached(
                "INSERT INTO events (seq, id, at, applied, raw) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .and_then(|mut s| s.execute(params![seq, id, at.to_string(), applied, raw]))
            .map_err(|e| self.sql(e))?;
        self.next_seq += 1;
        let hash = self.hash(id);
        self.ids.insert(hash);
        Ok(seq)
    }

    pub fn log_entry(
        &mut self,
        program: &Program,
        event_seq: i64,
        effect: &Effect,
        member: &str,
    ) -> Result<(), LedgerError> {
        let rule = self.rule_id(program, effect)?;
        self.conn
            .prepare_cached(
                "INSERT INTO ledger_entries (event_seq, at, member, kind, points,
                 reward_money_cents, value_cents, scheduled, rule)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    event_seq,
                    effect.at.to_string(),
                    member,
                    effect.kind.name(),
                    effect.points,
                    effect.money,
                    effect.value,
                    effect.scheduled,
                    rule
                ])
            })
            .map(|_| ())
            .map_err(|e| self.sql(e))
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
        } else {
            let id = self
                .conn
                .query_row(
                    "INSERT INTO rules (text) VALUES (?1)
                     ON CONFLICT (text) DO UPDATE SET text = excluded.text RETURNING id",
                    [&text],
                    |row| row.get(0),
                )
                .map_err(|e| self.sql(e))?;
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
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO rejected_events (id, source, line, reason, raw) VALUES (?1, ?2, ?3, ?4, ?5)")
            .and_then(|mut s| s.execute(params![id, source, line as i64, reason, raw]))
            .map(|_| ())
            .map_err(|e| self.sql(e))
    }

    /// Writes the members changed since the last snapshot, inside the
    /// open transaction, and marks the log as covered up to now.
    pub fn snapshot(&mut self, engine: &mut Engine) -> Result<(), LedgerError> {
        let program = engine.program();
        for index in engine.take_changed() {
            let member = engine.member_at(index);
            let state = serde_json::to_string(member).map_err(|e| LedgerError::Snapshot {
                path: self.path.clone(),
                message: e.to_string(),
            })?;
            let tier = member
                .tier
                .map(|t| program.tiers[usize::from(t)].name.clone());
            let sql = |e| self.sql(e);
            self.conn
                .prepare_cached(
                    "INSERT INTO members (id, enrolled_at, tier, points_balance, reward_money_cents, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (id) DO UPDATE SET enrolled_at = excluded.enrolled_at, tier = excluded.tier,
                     points_balance = excluded.points_balance,
                     reward_money_cents = excluded.reward_money_cents, state = excluded.state",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        member.id,
                        member.enrolled_at.to_string(),
                        tier,
                        member.points.balance,
                        member.money.balance,
                        state
                    ])
                })
                .map_err(sql)?;
            self.conn
                .prepare_cached("DELETE FROM earn_lots WHERE member = ?1")
                .and_then(|mut s| s.execute([&member.id]))
                .map_err(sql)?;
            let mut insert = self
                .conn
                .prepare_cached(
                    "INSERT INTO earn_lots (member, kind, earned_at, expires_at, amount) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(sql)?;
            for (kind, lots) in [
                ("points", &member.points),
                ("reward_money_cents", &member.money),
            ] {
                for lot in &lots.lots {
                    let expires =
                        (lot.expires_at != Time::NEVER).then(|| lot.expires_at.to_string());
                    insert
                        .execute(params![
                            member.id,
                            kind,
                            lot.earned_at.to_string(),
                            expires,
                            lot.amount
                        ])
                        .map_err(sql)?;
                }
            }
        }
        self.set_meta("snapshot_seq", &(self.next_seq - 1).to_string())?;
        self.set_meta("clock", &engine.clock().0.to_string())
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }
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
