//! The ledger in PostgreSQL, for several `serve` instances behind a load
//! balancer (`--ledger postgres://…`). The schema is in `postgres/`, one
//! numbered migration a file, and in the README.
//!
//! No instance keeps members in memory between events, since another
//! may change them: each event is one transaction that locks its
//! member's row (both rows of a referral, in order of id), reads the
//! state, applies the event on an engine holding just those members,
//! logs the event under its unique id with its entries, writes the state
//! back and commits. The row lock serialises one member's events across
//! instances; the unique id makes each event apply exactly once, in the
//! same transaction as its rows. A program with budgets all members
//! share also locks their one row, so its events are serialised
//! altogether.
//!
//! Scheduled work runs before each member's own events, as in the
//! engine, and in the background for members who send none: one
//! instance at a time holds an advisory lock and walks the members due
//! (`members.due`), each in a transaction of their own.

use postgres::error::SqlState;
use postgres::{Client, GenericClient, NoTls, Statement, Transaction};

use super::{Attempt, LedgerError};
use crate::engine::{
    Effect, Engine, Event, EventKind, MAX_STEP_DAYS, Member, Reject, SNAPSHOT_SCHEMA, decode,
    in_snapshot_schema,
};
use crate::program::Program;
use crate::runner::{Answer, LineOutcome, Subscription, delivery_body, effect_record, record_of};
use crate::time::Time;

/// The migrations, in order: each applied once, in a transaction, and
/// recorded in `schema_migrations`.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "members, events, entries and budgets",
        include_str!("postgres/0001_ledger.sql"),
    ),
    (
        2,
        "the webhooks' outbox",
        include_str!("postgres/0002_webhooks.sql"),
    ),
];

/// Advisory lock keys: one instance migrates at a time; and, with a
/// hash of a name, one runs the background ticks and one delivers each
/// webhook's deliveries.
const MIGRATING: i64 = 0x6c6f_7961_6c01;
const LOCKS: i32 = 0x6c6f_7903;

/// How many times an event's transaction is tried when it collides with
/// another instance's (a member enrolled by both at once, a deadlock).
const TRIES: usize = 20;

/// The members a background tick takes at a time.
const DUE_AT_ONCE: i64 = 500;

/// One connection to the ledger, with its statements prepared.
pub struct Connection {
    client: Client,
    statements: Statements,
    url: String,
    /// Webhooks whose effects go to the outbox with their entries.
    subscriptions: Vec<Subscription>,
    /// The advisory locks the connection holds, by name.
    held: Vec<String>,
}

struct Statements {
    lock_member: Statement,
    read_member: Statement,
    logged_event: Statement,
    lock_budgets: Statement,
    read_budgets: Statement,
    lock_member_find_event: Statement,
    write: Statement,
    entries_of_event: Statement,
    entries_of_member: Statement,
    due_members: Statement,
    log_deliveries: Statement,
}

/// A delivery in the outbox still to make.
pub struct WaitingDelivery {
    pub seq: i64,
    pub body: String,
    pub attempts: i64,
    pub next_attempt: i64,
}

/// Where a webhook's deliveries stand in the outbox.
pub struct OutboxState {
    pub backlog: u64,
    pub delivered: u64,
    /// The attempts at the first delivery waiting, and its last error.
    pub head: Option<(i64, Option<String>)>,
}

/// What became of an event sent to the ledger.
pub enum Logged {
    /// Applied or rejected now.
    Now(Answer),
    /// Its id was logged before: the line logged then, and the answer
    /// it got.
    Before { line: String, answer: Answer },
}

/// Whether a `--ledger` names a PostgreSQL database rather than a file.
pub fn is_address(ledger: &str) -> bool {
    ledger.starts_with("postgres://") || ledger.starts_with("postgresql://")
}

/// Refuses a PostgreSQL address where an SQLite file is wanted.
pub(super) fn not_an_address(ledger: &str) -> Result<(), LedgerError> {
    match is_address(ledger) {
        true => Err(LedgerError::OnlyServed { url: shown(ledger) }),
        false => Ok(()),
    }
}

/// The address, without its password, for messages.
pub fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme + 3],
                    &credentials[..colon],
                    &url[at..]
                ),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Connection {
    /// Connects to the ledger at `url`, brings its schema up to date and
    /// binds it to the program (refusing another one): what each
    /// instance does when it starts.
    pub fn open(url: &str, program: &Program, source: &str) -> Result<Connection, LedgerError> {
        let mut client = Client::connect(url, NoTls).map_err(error(url))?;
        migrate(&mut client, program, source).map_err(error(url))?;
        Connection::prepared(client, url)
    }

    /// Another connection to a ledger already opened, for the same
    /// webhooks.
    pub fn again(&self) -> Result<Connection, LedgerError> {
        Ok(Connection::connect(&self.url)?.subscribed(self.subscriptions.clone()))
    }

    /// A connection to a ledger whose schema is up to date (opened
    /// before).
    pub fn connect(url: &str) -> Result<Connection, LedgerError> {
        let client = Client::connect(url, NoTls).map_err(error(url))?;
        Connection::prepared(client, url)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection, putting effects of the kinds each webhook takes
    /// in the outbox.
    pub fn subscribed(mut self, subscriptions: Vec<Subscription>) -> Connection {
        self.subscriptions = subscriptions;
        self
    }

    fn prepared(mut client: Client, url: &str) -> Result<Connection, LedgerError> {
        let mut prepare = |sql: &str| client.prepare(sql).map_err(error(url));
        let statements = Statements {
            lock_member: prepare("SELECT schema, state FROM members WHERE id = $1 FOR UPDATE")?,
            read_member: prepare("SELECT schema, state FROM members WHERE id = $1")?,
            logged_event: prepare("SELECT seq, line, applied, reason FROM events WHERE id = $1")?,
            lock_budgets: prepare("SELECT counters FROM budgets WHERE id = 1 FOR UPDATE")?,
            read_budgets: prepare("SELECT counters FROM budgets WHERE id = 1")?,
            lock_member_find_event: prepare(
                "SELECT m.schema, m.state, e.seq, e.line, e.applied, e.reason
                 FROM (SELECT 1) AS one
                 LEFT JOIN LATERAL
                     (SELECT schema, state FROM members WHERE id = $1 FOR UPDATE) AS m ON true
                 LEFT JOIN events AS e ON e.id = $2",
            )?,
            // All a transaction writes, in one round trip: the event, its
            // entries (numbered in the order given), the members changed
            // and new, and the budgets.
            write: prepare(
                "WITH event AS (
                     INSERT INTO events (id, at, member, referee, line, applied, reason)
                     SELECT $1, $2, $3, $4, $5, $6, $7 WHERE $1::text IS NOT NULL
                     RETURNING seq
                 ), entry AS (
                     INSERT INTO entries
                         (event, member, at, kind, points, reward_money, value, scheduled, reason)
                     SELECT (SELECT seq FROM event), u.*
                     FROM unnest($8::text[], $9::bigint[], $10::text[], $11::bigint[],
                                 $12::bigint[], $13::bigint[], $14::bool[], $15::text[]) AS u
                     RETURNING seq
                 ), updated AS (
                     UPDATE members AS m SET due = u.due, schema = u.schema, state = u.state
                     FROM unnest($16::text[], $17::bigint[], $18::int[], $19::bytea[])
                         AS u (id, due, schema, state)
                     WHERE m.id = u.id
                 ), inserted AS (
                     INSERT INTO members (id, due, schema, state)
                     SELECT * FROM unnest($20::text[], $21::bigint[], $22::int[], $23::bytea[])
                 ), budget AS (
                     UPDATE budgets SET counters = $24 WHERE id = 1 AND $24::text IS NOT NULL
                 )
                 SELECT (SELECT seq FROM event), ARRAY(SELECT seq FROM entry ORDER BY seq)",
            )?,
            log_deliveries: prepare(
                "INSERT INTO webhook_deliveries (webhook, entry, body)
                 SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])",
            )?,
            entries_of_event: prepare(
                "SELECT member, at, kind, points, reward_money, value, scheduled, reason, seq, NULL::text
                 FROM entries WHERE event = $1 ORDER BY seq",
            )?,
            entries_of_member: prepare(
                "SELECT e.member, e.at, e.kind, e.points, e.reward_money, e.value, e.scheduled,
                        e.reason, e.seq, v.id
                 FROM entries e LEFT JOIN events v ON v.seq = e.event
                 WHERE e.member = $1 AND e.seq < $2 ORDER BY e.seq DESC LIMIT $3",
            )?,
            // Walked in order of (due, id) from where the last page
            // ended: a member is met again only if their work came due
            // again meanwhile, so a walk ends.
            due_members: prepare(
                "SELECT due, id FROM members WHERE due <= $1 AND (due, id) > ($2, $3)
                 ORDER BY due, id LIMIT $4",
            )?,
        };
        Ok(Connection {
            client,
            statements,
            url: url.to_string(),
            subscriptions: Vec::new(),
            held: Vec::new(),
        })
    }

    /// Whether the connection has broken (the server restarted, say):
    /// it is then dropped rather than used again.
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Applies one event line in a transaction of its own, or finds it
    /// logged before under its id. `now` is the wall clock, against which
    /// an event too far ahead is rejected.
    pub fn apply(
        &mut self,
        program: &Program,
        line: &str,
        now: Time,
    ) -> Result<Logged, LedgerError> {
        let event = match decode(program, line) {
            Ok(event) => event,
            // A line that is no event reaches no member: answered, not
            // logged (sent again, it gets the same answer).
            Err((id, reject)) => return Ok(Logged::Now(rejected(id, reject.to_string()))),
        };
        if matches!(event.kind, EventKind::Tick) {
            let reason = "a `tick` is not sent to a service on PostgreSQL: scheduled work runs \
                          on the wall clock";
            return Ok(Logged::Now(rejected(
                Some(event.id.to_string()),
                reason.into(),
            )));
        }
        // The engine's own bound is from its latest event, which an
        // engine holding one member does not know: the wall clock's.
        if event.at > now.add_days(MAX_STEP_DAYS) {
            let reject = Reject::AfterNow { at: event.at, now };
            return Ok(Logged::Now(rejected(
                Some(event.id.to_string()),
                reject.to_string(),
            )));
        }
        let url = self.url.clone();
        for _ in 0..TRIES {
            match self.try_apply(program, &event, line) {
                Ok(logged) => return Ok(logged),
                Err(e) if collided(&e) => continue,
                Err(e) => return Err(error(&url)(e)),
            }
        }
        Err(LedgerError::Postgres {
            url: shown(&url),
            message: format!(
                "event `{}` collided with other instances' transactions {TRIES} times",
                event.id
            ),
        })
    }

    fn try_apply(&mut self, program: &Program, event: &Event, line: &str) -> Result<Logged, Fail> {
        let s = &self.statements;
        let mut tx = self.client.transaction()?;
        let referee = match &event.kind {
            EventKind::Refer { referee } => Some(referee.as_ref()),
            _ => None,
        };
        let mut members = Vec::new();
        let logged = match referee {
            // The member's row locked, and the id looked up, at once.
            None => {
                let row = tx.query_one(
                    &s.lock_member_find_event,
                    &[&event.member.as_ref(), &event.id.as_ref()],
                )?;
                if let Some(state) = row.get::<_, Option<&[u8]>>(1) {
                    members.push(member_of(&event.member, row.get(0), state)?);
                }
                row.get::<_, Option<i64>>(2)
                    .map(|seq| (seq, row.get(3), row.get(4), row.get(5)))
            }
            // Both rows, locked in order of id: two instances taking a
            // referral's two members cannot wait on each other.
            Some(referee) => {
                let mut ids = vec![event.member.as_ref(), referee];
                ids.sort_unstable();
                ids.dedup();
                for id in ids {
                    members.extend(member_row(&mut tx, &s.lock_member, id)?);
                }
                tx.query_opt(&s.logged_event, &[&event.id.as_ref()])?
                    .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
            }
        };
        if let Some(logged) = logged {
            return logged_answer(&mut tx, s, &event.id, logged);
        }
        let loaded: Vec<String> = members.iter().map(|m: &Member| m.id.clone()).collect();
        let mut engine = engine_over(&mut tx, &s.lock_budgets, program, members)?;
        let mut effects = Vec::new();
        let result = engine.apply(event, &mut effects);
        let reason = result.as_ref().err().map(ToString::to_string);
        let change = Change {
            program,
            loaded: &loaded,
            event: Some(EventRow {
                id: &event.id,
                at: event.at.0,
                member: &event.member,
                referee,
                line,
                reason: reason.as_deref(),
            }),
            subscriptions: &self.subscriptions,
        };
        let records = change.write(&mut tx, s, &mut engine, &effects)?;
        tx.commit()?;
        let answer = Answer {
            line: 0,
            id: Some(event.id.to_string()),
            outcome: match reason {
                None => LineOutcome::Applied,
                Some(reason) => LineOutcome::Rejected(reason),
            },
            effects: records,
        };
        Ok(Logged::Now(answer))
    }

    /// Erases a member's personal data on request, in one transaction:
    /// their id becomes a pseudonym (returned) in their row, their
    /// entries, the events and reasons that name them and the webhooks'
    /// deliveries of their entries; their
    /// birthday and attributes are dropped. Balances and entries stay, so
    /// the books still balance. `None` for an unknown member.
    /// (PostgreSQL keeps the old versions of the rows until it vacuums
    /// them, which autovacuum does in time.)
    pub fn erase(&mut self, id: &str) -> Result<Option<String>, LedgerError> {
        let url = self.url.clone();
        let mut tx = self.client.transaction().map_err(error(&url))?;
        let Some(mut member) =
            member_row(&mut tx, &self.statements.lock_member, id).map_err(error(&url))?
        else {
            return Ok(None);
        };
        let erased = (|| -> Result<String, Fail> {
            let pseudonym: String = tx
                .query_one("SELECT 'erased-' || nextval('erasures')", &[])?
                .get(0);
            member.erase(&pseudonym);
            let state = postcard::to_allocvec(&member)
                .map_err(|e| Fail::State(format!("member `{pseudonym}`'s state: {e}")))?;
            tx.execute(
                "UPDATE members SET id = $2, due = $3, schema = $4, state = $5 WHERE id = $1",
                &[
                    &id,
                    &pseudonym,
                    &member.due.0,
                    &(SNAPSHOT_SCHEMA as i32),
                    &state,
                ],
            )?;
            tx.execute(
                "UPDATE entries SET member = $2 WHERE member = $1",
                &[&id, &pseudonym],
            )?;
            let named: Vec<(i64, String)> = tx
                .query(
                    "SELECT seq, line FROM events WHERE member = $1 OR referee = $1",
                    &[&id],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            for (seq, line) in named {
                let line = super::writer::erased_json(&line, id, &pseudonym).unwrap_or(line);
                tx.execute(
                    // A reject's reason names its member in backquotes.
                    "UPDATE events SET line = $2,
                         member = CASE WHEN member = $3 THEN $4 ELSE member END,
                         referee = CASE WHEN referee = $3 THEN $4 ELSE referee END,
                         reason = replace(reason, '`' || $3 || '`', '`' || $4 || '`')
                     WHERE seq = $1",
                    &[&seq, &line, &id, &pseudonym],
                )?;
            }
            // The webhooks' deliveries of the member's entries carry
            // their effects, with the id.
            let carried: Vec<(i64, String)> = tx
                .query(
                    "SELECT d.seq, d.body FROM webhook_deliveries AS d
                     JOIN entries AS e ON e.seq = d.entry WHERE e.member = $1",
                    &[&pseudonym],
                )?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            for (seq, body) in carried {
                if let Some(body) = super::writer::erased_json(&body, id, &pseudonym) {
                    tx.execute(
                        "UPDATE webhook_deliveries SET body = $2 WHERE seq = $1",
                        &[&seq, &body],
                    )?;
                }
            }
            Ok(pseudonym)
        })()
        .map_err(error(&url))?;
        tx.commit().map_err(error(&url))?;
        Ok(Some(erased))
    }

    /// Takes the lock of a webhook's deliveries, held as long as the
    /// connection lives: one instance at a time delivers them, in order.
    /// Whether this connection holds it.
    pub fn hold_webhook(&mut self, webhook: &str) -> Result<bool, LedgerError> {
        self.hold(&format!("webhook {webhook}"))
    }

    /// Takes the advisory lock named so, unless this connection holds it
    /// already (taken again, it would be counted again); whether it
    /// holds it.
    fn hold(&mut self, lock: &str) -> Result<bool, LedgerError> {
        if self.held.iter().any(|held| held == lock) {
            return Ok(true);
        }
        let held: bool = self
            .client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&LOCKS, &lock],
            )
            .map_err(error(&self.url))?
            .get(0);
        if held {
            self.held.push(lock.to_string());
        }
        Ok(held)
    }

    /// Where a webhook's deliveries stand (how many wait, how many were
    /// made, the attempts at the first waiting and its last error) and
    /// the first `limit` still to make, in order: all as of one moment,
    /// so that the count and the list agree.
    pub fn outbox(
        &mut self,
        webhook: &str,
        limit: i64,
    ) -> Result<(OutboxState, Vec<WaitingDelivery>), LedgerError> {
        let url = self.url.clone();
        let read = (|| {
            let mut tx = self
                .client
                .build_transaction()
                .isolation_level(postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let counts = tx.query_one(
                "SELECT count(*) FILTER (WHERE delivered_at IS NULL),
                        count(*) FILTER (WHERE delivered_at IS NOT NULL)
                 FROM webhook_deliveries WHERE webhook = $1",
                &[&webhook],
            )?;
            let waiting = tx.query(
                "SELECT seq, body, attempts, next_attempt, last_error FROM webhook_deliveries
                 WHERE webhook = $1 AND delivered_at IS NULL ORDER BY seq LIMIT $2",
                &[&webhook, &limit.max(1)],
            )?;
            tx.commit()?;
            let count = |i| u64::try_from(counts.get::<_, i64>(i)).unwrap_or(0);
            let state = OutboxState {
                backlog: count(0),
                delivered: count(1),
                head: waiting.first().map(|row| (row.get(2), row.get(4))),
            };
            let waiting = waiting
                .iter()
                .take(usize::try_from(limit).unwrap_or(0))
                .map(|row| WaitingDelivery {
                    seq: row.get(0),
                    body: row.get(1),
                    attempts: row.get(2),
                    next_attempt: row.get(3),
                })
                .collect();
            Ok::<_, postgres::Error>((state, waiting))
        })();
        read.map_err(error(&url))
    }

    /// Records an attempt at a delivery; one recorded after it (by an
    /// instance that took the deliveries over) is not undone.
    pub fn record_attempt(&mut self, attempt: &Attempt) -> Result<(), LedgerError> {
        self.client
            .execute(
                "UPDATE webhook_deliveries
                 SET status = $2, attempts = $3, next_attempt = $4, last_error = $5,
                     delivered_at = $6
                 WHERE seq = $1 AND attempts < $3",
                &[
                    &attempt.delivery,
                    &attempt.status.name(),
                    &attempt.attempts,
                    &attempt.next_attempt,
                    &attempt.error,
                    &attempt.delivered_at.map(|t| t.0),
                ],
            )
            .map_err(error(&self.url))?;
        Ok(())
    }

    /// How many members the ledger holds.
    pub fn count_members(&mut self) -> Result<u64, LedgerError> {
        let count: i64 = self
            .client
            .query_one("SELECT count(*) FROM members", &[])
            .map_err(error(&self.url))?
            .get(0);
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// A member's state, if there is such a member.
    pub fn member(&mut self, id: &str) -> Result<Option<Member>, LedgerError> {
        member_row(&mut self.client, &self.statements.read_member, id).map_err(error(&self.url))
    }

    /// An engine holding one member (if there is one) and the budgets as
    /// they stand, for a quote: nothing is locked or written.
    pub fn engine_for<'p>(
        &mut self,
        program: &'p Program,
        id: Option<&str>,
    ) -> Result<Engine<'p>, LedgerError> {
        // No transaction: a quote changes nothing, and the member and the
        // budgets read a moment apart quote as well.
        let (client, s) = (&mut self.client, &self.statements);
        let mut members = Vec::new();
        if let Some(id) = id {
            members.extend(member_row(client, &s.read_member, id).map_err(error(&self.url))?);
        }
        engine_over(client, &s.read_budgets, program, members).map_err(error(&self.url))
    }

    /// Up to `limit` of the member's entries before entry `before`,
    /// newest first: each one's record with its `seq` and `event`.
    pub fn entries(
        &mut self,
        member: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Record>, LedgerError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .client
            .query(
                &self.statements.entries_of_member,
                &[&member, &before.unwrap_or(i64::MAX), &limit],
            )
            .map_err(error(&self.url))?;
        Ok(rows.iter().map(entry_record).collect())
    }

    /// Runs the scheduled work of every member due by `now`, if this
    /// instance holds the lock of the ticks (taken here, held as long as
    /// the connection lives: should the instance stop, another takes it
    /// over). How many members had work run; `None` when another
    /// instance ticks.
    pub fn tick(&mut self, program: &Program, now: Time) -> Result<Option<usize>, LedgerError> {
        let url = self.url.clone();
        if !self.hold("ticks")? {
            return Ok(None);
        }
        let mut done = 0;
        let mut after = (i64::MIN, String::new());
        loop {
            let due: Vec<(i64, String)> = self
                .client
                .query(
                    &self.statements.due_members,
                    &[&now.0, &after.0, &after.1, &DUE_AT_ONCE],
                )
                .map_err(error(&url))?
                .iter()
                .map(|row| (row.get(0), row.get(1)))
                .collect();
            let Some(last) = due.last() else {
                return Ok(Some(done));
            };
            after = last.clone();
            for (_, id) in &due {
                let mut tried = 0;
                loop {
                    match self.tick_member(program, id, now) {
                        Ok(()) => break,
                        Err(e) if collided(&e) && tried < TRIES => tried += 1,
                        Err(e) => return Err(error(&url)(e)),
                    }
                }
                done += 1;
            }
        }
    }

    /// One member's scheduled work due by `now`, in its transaction.
    fn tick_member(&mut self, program: &Program, id: &str, now: Time) -> Result<(), Fail> {
        let s = &self.statements;
        let mut tx = self.client.transaction()?;
        let Some(member) = member_row(&mut tx, &s.lock_member, id)? else {
            return Ok(());
        };
        // An event of theirs may have run it meanwhile.
        if member.due > now {
            return Ok(());
        }
        let loaded = vec![member.id.clone()];
        let mut engine = engine_over(&mut tx, &s.lock_budgets, program, vec![member])?;
        let tick = Event {
            id: "tick".into(),
            at: now,
            member: "".into(),
            kind: EventKind::Tick,
        };
        let mut effects = Vec::new();
        // A tick on an engine whose clock is unset is never refused.
        let _ = engine.apply(&tick, &mut effects);
        let change = Change {
            program,
            loaded: &loaded,
            event: None,
            subscriptions: &self.subscriptions,
        };
        change.write(&mut tx, s, &mut engine, &effects)?;
        Ok(tx.commit()?)
    }
}

/// A line rejected, with the reason, before it reached the ledger.
fn rejected(id: Option<String>, reason: String) -> Answer {
    Answer {
        line: 0,
        id,
        outcome: LineOutcome::Rejected(reason),
        effects: Vec::new(),
    }
}

/// Whether a transaction failed only because another one got there
/// first: tried again, it will see what that one did.
fn collided(e: &Fail) -> bool {
    let Fail::Sql(e) = e else {
        return false;
    };
    matches!(
        e.code(),
        Some(&SqlState::UNIQUE_VIOLATION)
            | Some(&SqlState::T_R_SERIALIZATION_FAILURE)
            | Some(&SqlState::T_R_DEADLOCK_DETECTED)
    )
}

/// Why a transaction failed: PostgreSQL said so, or a member's state in
/// it cannot be read (the ledger's fault, not the event's: the
/// transaction fails rather than start the member afresh).
enum Fail {
    Sql(postgres::Error),
    State(String),
    /// The ledger is kept under another program, of this name.
    OtherProgram(String),
}

impl From<postgres::Error> for Fail {
    fn from(e: postgres::Error) -> Self {
        Fail::Sql(e)
    }
}

fn error<E: Into<Fail>>(url: &str) -> impl Fn(E) -> LedgerError + '_ {
    move |e| {
        let message = match e.into() {
            Fail::Sql(e) => match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            },
            Fail::State(message) => message,
            Fail::OtherProgram(stored) => {
                return LedgerError::PostgresProgram {
                    url: shown(url),
                    stored,
                };
            }
        };
        LedgerError::Postgres {
            url: shown(url),
            message,
        }
    }
}

/// An engine holding `members` and the budgets all members share, read
/// with `budgets` (locking them or not). Its clock is unset: the bound
/// on an event's time is the wall clock's ([`Reject::AfterNow`]).
fn engine_over<'p>(
    tx: &mut impl GenericClient,
    budgets: &Statement,
    program: &'p Program,
    members: Vec<Member>,
) -> Result<Engine<'p>, Fail> {
    let mut engine = Engine::restore(program, members, Time(i64::MIN)).with_shards(1);
    if program.budget_slots > 0 {
        let counters: String = tx.query_one(budgets, &[])?.get(0);
        engine.restore_budgets(serde_json::from_str(&counters).unwrap_or_default());
    }
    Ok(engine)
}

/// A member's row, read with `statement` (locking it or not).
fn member_row(
    tx: &mut impl GenericClient,
    statement: &Statement,
    id: &str,
) -> Result<Option<Member>, Fail> {
    match tx.query_opt(statement, &[&id])? {
        Some(row) => member_of(id, row.get(0), row.get(1)).map(Some),
        None => Ok(None),
    }
}

/// A member from their row's snapshot schema and state.
fn member_of(id: &str, schema: i32, state: &[u8]) -> Result<Member, Fail> {
    let schema = u32::try_from(schema).unwrap_or(SNAPSHOT_SCHEMA);
    in_snapshot_schema(schema, || postcard::from_bytes::<Member>(state))
        .map_err(|e| Fail::State(format!("member `{id}`'s state cannot be read: {e}")))
}

/// An event as the ledger logs it, with its reject's reason.
struct EventRow<'a> {
    id: &'a str,
    at: i64,
    member: &'a str,
    referee: Option<&'a str>,
    line: &'a str,
    reason: Option<&'a str>,
}

/// An effect as the events endpoint answers it.
type Record = serde_json::Map<String, serde_json::Value>;

/// Members' rows as columns: ids, dues, schemas and states.
type MemberRows<'a> = (Vec<&'a str>, Vec<i64>, Vec<i32>, Vec<Vec<u8>>);

/// What one transaction writes: its event (none for a background
/// tick), its effects as entries, the deliveries of those the webhooks
/// take, the members the engine changed (those it `loaded` over their
/// rows, a new one as a new row) and the budgets.
struct Change<'a> {
    program: &'a Program,
    loaded: &'a [String],
    event: Option<EventRow<'a>>,
    subscriptions: &'a [Subscription],
}

impl Change<'_> {
    /// All of it in one statement, and the deliveries in another; the
    /// effects' records, each described once for the entries, the
    /// deliveries and the answer. Should another instance have enrolled
    /// the same member meanwhile, the insert fails and the event is tried
    /// again.
    fn write(
        self,
        tx: &mut Transaction,
        s: &Statements,
        engine: &mut Engine,
        effects: &[Effect],
    ) -> Result<Vec<Record>, Fail> {
        let program = self.program;
        let column = |f: fn(&Effect) -> i64| effects.iter().map(f).collect::<Vec<i64>>();
        let changed = engine.take_changed();
        let engine = &*engine;
        let member = |e: &Effect| engine.member_at(e.member).id.as_str();
        let members: Vec<&str> = effects.iter().map(member).collect();
        let kinds: Vec<&str> = effects.iter().map(|e| e.kind.name()).collect();
        let scheduled: Vec<bool> = effects.iter().map(|e| e.scheduled).collect();
        let records: Vec<Record> = effects
            .iter()
            .map(|e| record_of(program, e, member(e)))
            .collect();
        let reasons: Vec<&str> = records
            .iter()
            .map(|r| r.get("reason").and_then(|r| r.as_str()).unwrap_or_default())
            .collect();
        // The members changed, as rows: those loaded, and new ones.
        let mut rows: [MemberRows; 2] = Default::default();
        for index in changed {
            let m = engine.member_at(index);
            let state = postcard::to_allocvec(m)
                .map_err(|e| Fail::State(format!("member `{}`'s state: {e}", m.id)))?;
            let (ids, dues, schemas, states) = &mut rows[usize::from(!self.loaded.contains(&m.id))];
            ids.push(&m.id);
            dues.push(m.due.0);
            schemas.push(SNAPSHOT_SCHEMA as i32);
            states.push(state);
        }
        let [
            (ids, dues, schemas, states),
            (new_ids, new_dues, new_schemas, new_states),
        ] = &rows;
        let budgets = (program.budget_slots > 0)
            .then(|| serde_json::to_string(engine.budget_counters()).unwrap_or_default());
        let event = self.event.as_ref();
        let row = tx.query_one(
            &s.write,
            &[
                &event.map(|e| e.id),
                &event.map(|e| e.at),
                &event.map(|e| e.member),
                &event.and_then(|e| e.referee),
                &event.map(|e| e.line),
                &event.map(|e| e.reason.is_none()),
                &event.and_then(|e| e.reason),
                &members,
                &column(|e| e.at.0),
                &kinds,
                &column(|e| e.points),
                &column(|e| e.money),
                &column(|e| e.value),
                &scheduled,
                &reasons,
                ids,
                dues,
                schemas,
                states,
                new_ids,
                new_dues,
                new_schemas,
                new_states,
                &budgets,
            ],
        )?;
        if self.subscriptions.is_empty() {
            return Ok(records);
        }
        let entries: Vec<i64> = row.get(1);
        let (mut webhooks, mut seqs, mut bodies) = (Vec::new(), Vec::new(), Vec::new());
        for ((effect, record), &entry) in effects.iter().zip(&records).zip(&entries) {
            let kind = 1u64 << (effect.kind as u32);
            for subscription in self.subscriptions {
                if subscription.kinds & kind != 0 {
                    let id = event.map(|e| e.id);
                    bodies.push(delivery_body(&subscription.webhook, id, entry, record));
                    webhooks.push(subscription.webhook.as_str());
                    seqs.push(entry);
                }
            }
        }
        if !bodies.is_empty() {
            tx.execute(&s.log_deliveries, &[&webhooks, &seqs, &bodies])?;
        }
        Ok(records)
    }
}

/// The answer an event logged before got: its entries, or its reject.
/// `logged` is its row: seq, line, applied, reason.
fn logged_answer(
    tx: &mut Transaction,
    s: &Statements,
    id: &str,
    (seq, line, applied, reason): (i64, String, bool, Option<String>),
) -> Result<Logged, Fail> {
    let effects = tx
        .query(&s.entries_of_event, &[&seq])?
        .iter()
        .map(|row| {
            let mut record = entry_record(row);
            record.remove("seq");
            record.remove("event");
            record
        })
        .collect();
    let outcome = if applied {
        LineOutcome::Applied
    } else {
        LineOutcome::Rejected(reason.unwrap_or_default())
    };
    Ok(Logged::Before {
        line,
        answer: Answer {
            line: 0,
            id: Some(id.to_string()),
            outcome,
            effects,
        },
    })
}

/// An entry's record as `run --effects` writes it, with its `seq` and
/// its `event`, from a row of (member, at, kind, points, reward_money,
/// value, scheduled, reason, seq, event).
fn entry_record(row: &postgres::Row) -> serde_json::Map<String, serde_json::Value> {
    let at = Time(row.get(1)).to_string();
    let mut record = effect_record(&crate::runner::EffectRecord {
        member: row.get(0),
        at: &at,
        kind: row.get(2),
        points: row.get(3),
        money: row.get(4),
        value: row.get(5),
        scheduled: row.get(6),
        reason: row.get(7),
    });
    let seq: i64 = row.get(8);
    record.insert("seq".into(), seq.into());
    let event: Option<&str> = row.try_get(9).ok().flatten();
    record.insert("event".into(), event.into());
    record
}

/// Applies the migrations not yet applied and binds the ledger to the
/// program on first use, under an advisory lock: instances starting
/// together take turns.
fn migrate(client: &mut Client, program: &Program, source: &str) -> Result<(), Fail> {
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATING])?;
    let result = (|| {
        client.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    integer PRIMARY KEY,
                 name       text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )?;
        let mut tx = client.transaction()?;
        let applied: Vec<i32> = tx
            .query("SELECT version FROM schema_migrations", &[])?
            .iter()
            .map(|row| row.get(0))
            .collect();
        for &(version, name, sql) in MIGRATIONS {
            if !applied.contains(&version) {
                tx.batch_execute(sql)?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    &[&version, &name],
                )?;
            }
        }
        let hash = format!("{:016x}", program.hash);
        let stored: Option<(String, String)> = tx
            .query_opt(
                "SELECT h.value, n.value FROM meta h, meta n
                 WHERE h.key = 'program_hash' AND n.key = 'program_name'",
                &[],
            )?
            .map(|row| (row.get(0), row.get(1)));
        match stored {
            Some((stored, _)) if stored == hash => {}
            // The same program in other words, or as another version of
            // `loyalty` fingerprinted it: the stored text decides.
            Some((_, name)) => {
                let text: String = tx
                    .query_one("SELECT value FROM meta WHERE key = 'program_source'", &[])?
                    .get(0);
                if !crate::load(&text).is_ok_and(|old| old.hash == program.hash) {
                    return Err(Fail::OtherProgram(name));
                }
                set_identity(&mut tx, program, source)?;
            }
            None => {
                set_identity(&mut tx, program, source)?;
                let counters = serde_json::to_string(&vec![
                    crate::engine::CapUse::default();
                    program.budget_slots
                ])
                .unwrap_or_default();
                tx.execute(
                    "INSERT INTO budgets (id, counters) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
                    &[&counters],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    })();
    client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATING])?;
    result
}

/// The program's hash, name and text, in the ledger's `meta`.
fn set_identity(
    tx: &mut Transaction,
    program: &Program,
    source: &str,
) -> Result<(), postgres::Error> {
    let identity = [
        ("program_hash", format!("{:016x}", program.hash)),
        ("program_name", program.name.clone()),
        ("program_source", source.to_string()),
    ];
    for (key, value) in &identity {
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[key, value],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::shown;

    #[test]
    fn a_ledger_s_address_is_shown_without_its_password() {
        assert_eq!(
            shown("postgres://loyalty:s3cr@t@db.internal:5432/loyalty"),
            "postgres://loyalty:***@db.internal:5432/loyalty"
        );
        assert_eq!(
            shown("postgres://loyalty@db.internal/loyalty"),
            "postgres://loyalty@db.internal/loyalty"
        );
        assert_eq!(
            shown("postgres://db.internal/x"),
            "postgres://db.internal/x"
        );
    }
}
