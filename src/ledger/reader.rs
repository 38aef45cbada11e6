//! Reads of a ledger that another thread writes: `serve` answers from
//! these on connections of its own, so that a read never waits for the
//! engine or its commits. Each sees the last commit.

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row};

use super::LedgerError;
use super::writer::{self, StoredEvent};
use crate::engine::{EffectKind, reason, what};
use crate::program::Program;
use crate::runner::{EffectRecord, effect_record};

pub struct Reader {
    conn: Connection,
    path: String,
}

/// A ledger entry with what names it: its place in the ledger, the event
/// that made it, and the member's entry before it.
#[derive(Debug)]
pub struct LoggedEntry {
    pub seq: i64,
    pub event_seq: i64,
    pub event: String,
    pub member: String,
    pub at: String,
    pub kind: String,
    pub points: i64,
    pub money: i64,
    pub value: i64,
    pub scheduled: bool,
    pub rule: Option<String>,
    pub previous: Option<i64>,
}

/// A delivery of the outbox not yet made.
#[derive(Debug)]
pub struct OutboxRow {
    pub seq: i64,
    pub webhook: String,
    pub body: String,
    pub attempts: i64,
    pub next_attempt: i64,
}

const ENTRY: &str = "SELECT e.seq, ev.id, e.member, e.at, e.kind, e.points, e.reward_money_cents,
        e.value_cents, e.scheduled, r.text, e.previous_seq, e.event_seq
    FROM ledger_entries e
    JOIN events ev ON ev.seq = e.event_seq
    LEFT JOIN rules r ON r.id = e.rule";

impl Reader {
    pub fn open(path: &Path) -> Result<Reader, LedgerError> {
        let name = path.display().to_string();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|source| LedgerError::Sqlite {
                path: name.clone(),
                source,
            })?;
        Ok(Reader { conn, path: name })
    }

    fn sql(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// The event logged at `seq`, which must be there.
    pub fn event(&self, seq: i64) -> Result<StoredEvent, LedgerError> {
        let mut statement = self
            .conn
            .prepare_cached(writer::STORED_EVENT)
            .map_err(|e| self.sql(e))?;
        let found = writer::stored_events(&mut statement, &[seq]).map_err(|e| self.sql(e))?;
        found
            .into_iter()
            .next()
            .ok_or_else(|| self.sql(rusqlite::Error::QueryReturnedNoRows))
    }

    /// Why the event `id`, sent as `raw`, was rejected.
    pub fn reject_reason(&self, id: &str, raw: &str) -> Result<Option<String>, LedgerError> {
        self.conn
            .prepare_cached(
                "SELECT reason FROM rejected_events WHERE raw = ?1 AND id = ?2
                 ORDER BY seq LIMIT 1",
            )
            .and_then(|mut statement| statement.query_row((raw, id), |row| row.get(0)).optional())
            .map_err(|e| self.sql(e))
    }

    /// The entries the event logged at `event_seq` made, in order.
    ///
    /// Entries are appended in the order of their events and
    /// `ledger_entries` has no index on the event (an index costs a busy
    /// ledger more than the rest of its writing), so the first one is
    /// found by halving the entries' range: a few dozen look-ups by key.
    pub fn entries_of_event(&self, event_seq: i64) -> Result<Vec<LoggedEntry>, LedgerError> {
        let sql = |e| self.sql(e);
        let mut at_or_after = self
            .conn
            .prepare_cached(
                "SELECT event_seq FROM ledger_entries WHERE seq >= ?1 ORDER BY seq LIMIT 1",
            )
            .map_err(sql)?;
        let last: i64 = self
            .conn
            .query_row(
                "SELECT IFNULL(MAX(seq), 0) FROM ledger_entries",
                [],
                |row| row.get(0),
            )
            .map_err(sql)?;
        // The first entry whose event is at or after `event_seq`.
        let (mut low, mut high) = (1, last + 1);
        while low < high {
            let middle = low + (high - low) / 2;
            let event: Option<i64> = at_or_after
                .query_row([middle], |row| row.get(0))
                .optional()
                .map_err(sql)?;
            match event {
                Some(event) if event < event_seq => low = middle + 1,
                _ => high = middle,
            }
        }
        let mut statement = self
            .conn
            .prepare_cached(&format!("{ENTRY} WHERE e.seq >= ?1 ORDER BY e.seq"))
            .map_err(sql)?;
        let mut rows = statement.query([low]).map_err(sql)?;
        let mut entries = Vec::new();
        while let Some(row) = rows.next().map_err(sql)? {
            let entry = logged_entry(row).map_err(sql)?;
            if entry.event_seq != event_seq {
                break;
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Up to `limit` of a member's entries, newest first, from the one at
    /// `seq` back along the member's links.
    pub fn entries_back_from(
        &self,
        seq: i64,
        limit: usize,
    ) -> Result<Vec<LoggedEntry>, LedgerError> {
        entries_back_from(&self.conn, seq, limit).map_err(|e| self.sql(e))
    }

    /// The outbox: every delivery not yet made, in order, and how many
    /// each webhook has had delivered.
    #[allow(clippy::type_complexity)]
    pub fn outbox(&self) -> Result<(Vec<OutboxRow>, Vec<(String, i64)>), LedgerError> {
        let sql = |e| self.sql(e);
        let mut statement = self
            .conn
            .prepare(
                "SELECT seq, webhook, body, attempts, next_attempt FROM webhook_deliveries
                 WHERE status != 'delivered' ORDER BY seq",
            )
            .map_err(sql)?;
        let pending = statement
            .query_map([], |row| {
                Ok(OutboxRow {
                    seq: row.get(0)?,
                    webhook: row.get(1)?,
                    body: row.get(2)?,
                    attempts: row.get(3)?,
                    next_attempt: row.get(4)?,
                })
            })
            .and_then(Iterator::collect)
            .map_err(sql)?;
        let mut statement = self
            .conn
            .prepare(
                "SELECT webhook, COUNT(*) FROM webhook_deliveries WHERE status = 'delivered'
                 GROUP BY webhook",
            )
            .map_err(sql)?;
        let delivered = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(Iterator::collect)
            .map_err(sql)?;
        Ok((pending, delivered))
    }

    pub fn entry(&self, seq: i64) -> Result<Option<LoggedEntry>, LedgerError> {
        entry(&self.conn, seq).map_err(|e| self.sql(e))
    }
}

fn entry(conn: &Connection, seq: i64) -> rusqlite::Result<Option<LoggedEntry>> {
    conn.prepare_cached(&format!("{ENTRY} WHERE e.seq = ?1"))
        .and_then(|mut statement| statement.query_row([seq], logged_entry).optional())
}

/// Up to `limit` of a member's entries, newest first, from the one at
/// `seq` back along the member's links: whichever connection reads them
/// (a reader's, or the ledger's own for `loyalty member`).
pub(super) fn entries_back_from(
    conn: &Connection,
    seq: i64,
    limit: usize,
) -> rusqlite::Result<Vec<LoggedEntry>> {
    let mut entries = Vec::new();
    let mut next = Some(seq);
    while let Some(seq) = next
        && entries.len() < limit
    {
        let Some(entry) = entry(conn, seq)? else {
            break;
        };
        next = entry.previous;
        entries.push(entry);
    }
    Ok(entries)
}

fn logged_entry(row: &Row) -> rusqlite::Result<LoggedEntry> {
    Ok(LoggedEntry {
        seq: row.get(0)?,
        event: row.get(1)?,
        member: row.get(2)?,
        at: row.get(3)?,
        kind: row.get(4)?,
        points: row.get(5)?,
        money: row.get(6)?,
        value: row.get(7)?,
        scheduled: row.get(8)?,
        rule: row.get(9)?,
        previous: row.get(10)?,
        event_seq: row.get(11)?,
    })
}

impl LoggedEntry {
    /// The entry as the effect that made it was answered: what `run
    /// --effects` writes, reason and all.
    pub fn record(&self, program: &Program) -> serde_json::Map<String, serde_json::Value> {
        effect_record(&EffectRecord {
            member: &self.member,
            at: &self.at,
            kind: &self.kind,
            points: self.points,
            money: self.money,
            value: self.value,
            scheduled: self.scheduled,
            reason: &self.reason(program),
        })
    }

    /// What changed and the rule why, as the effect said it.
    pub fn reason(&self, program: &Program) -> String {
        let what = match EffectKind::from_name(&self.kind) {
            Some(kind) => what(program, kind, self.points, self.money, self.value),
            None => self.kind.clone(),
        };
        reason(what, self.rule.as_deref().unwrap_or(""))
    }
}
