//! A run: event lines decoded, checked for duplicates, applied by the
//! engine, their effects written to the ledger and to the effects file,
//! bad lines to the rejects file. Shared by `loyalty run` with events or
//! with an orders history.

use std::collections::HashSet;
use std::hash::BuildHasherDefault;
use std::io::{self, Write};
use std::ops::Range;

use rayon::prelude::*;
use serde_json::json;
use thiserror::Error;

use crate::engine::{Effect, Engine, Event, Outcome, Reject, decode};
use crate::event_ids::EventIds;
use crate::fnv::{self, Fnv};
use crate::ledger::{Durable, Ledger, LedgerError, Seen};
use crate::time::Time;

/// Events per transaction: large enough that committing costs little,
/// small enough that a crash loses little work (it is redone on re-run).
pub const BATCH: usize = 100_000;

/// Lines read before the engine applies them, as one batch on both cores
/// (`Engine::apply_batch`).
pub const LINES_AHEAD: usize = 4096;

/// How many lines ahead an event id's place among the ids seen is asked
/// for (see [`crate::prefetch`]).
const IDS_AHEAD: usize = 16;

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
}

/// Where a run writes besides the ledger.
#[derive(Default)]
pub struct Outputs<'a> {
    pub effects: Option<&'a mut dyn Write>,
    pub rejects: Option<&'a mut dyn Write>,
    /// What became of each line, for a caller that answers each one
    /// (`serve`); taken by the caller after [`Runner::deliver`].
    pub answers: Option<&'a mut Vec<Answer>>,
}

/// What became of one line of input.
#[derive(Debug)]
pub struct Answer {
    pub line: usize,
    pub id: Option<String>,
    pub outcome: LineOutcome,
    /// Its effects, as `run --effects` writes them (without `line` and
    /// `event`).
    pub effects: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug)]
pub enum LineOutcome {
    Applied,
    /// Rejected, with the reason.
    Rejected(String),
    /// Its id was logged before, where the number says (the ledger's
    /// `events.seq`): applied then, or rejected then with the same line.
    Duplicate {
        first: i64,
    },
}

#[derive(Debug, Default)]
pub struct Summary {
    pub applied: usize,
    pub duplicates: usize,
    /// Lines rejected, and the first [`REJECTS_KEPT`] of them: the rest
    /// are in the rejects file and the ledger, not held in memory.
    pub rejected_count: usize,
    pub rejected: Vec<Rejected>,
    pub effects: usize,
    /// Effects of each kind (by `EffectKind as usize`).
    pub effects_by_kind: Vec<u64>,
}

pub const REJECTS_KEPT: usize = 1_000;

#[derive(Debug)]
pub struct Rejected {
    pub line: usize,
    pub id: Option<String>,
    pub reason: String,
}

/// Ids seen in a run without a ledger: each logged event's id, and the
/// line of a rejected one, in one text.
#[derive(Default)]
struct SeenInMemory {
    ids: EventIds,
    text: String,
    /// Where each event's id and, if rejected, its line are in `text`.
    logged: Vec<(Range<usize>, Option<Range<usize>>)>,
}

/// Where a run keeps what it has seen and done: the SQLite ledger, or
/// memory (ids only, for exactly-once within the run). The runner talks
/// to this one interface; which of the two is behind it is decided here.
enum Store<'l> {
    Ledger(&'l mut Ledger),
    Memory(SeenInMemory),
}

impl Store<'_> {
    /// What became of an event id before: exactly-once's one question.
    fn seen(&mut self, id: &str, raw: &str) -> Result<Seen, RunError> {
        Ok(match self {
            Store::Ledger(ledger) => ledger.seen(id, raw)?,
            Store::Memory(memory) => memory.seen(id, raw),
        })
    }

    /// Starts loading where the id would be found, a few lines ahead.
    fn prefetch_seen(&self, id: &str) {
        match self {
            Store::Ledger(ledger) => ledger.prefetch_seen(id),
            Store::Memory(memory) => memory.ids.prefetch(id),
        }
    }

    /// Logs an event the engine saw; its sequence number in the ledger.
    fn log_event(&mut self, id: &str, at: Time, applied: bool, raw: &str) -> Result<i64, RunError> {
        Ok(match self {
            Store::Ledger(ledger) => ledger.log_event(id, at, applied, raw)?,
            Store::Memory(memory) => {
                memory.record(id, applied, raw);
                0
            }
        })
    }

    /// The last ledger entry of the member (memory keeps none).
    fn last_entry(&self, member: crate::engine::MemberIndex) -> Option<i64> {
        match self {
            Store::Ledger(ledger) => ledger.last_entry(member),
            Store::Memory(_) => None,
        }
    }

    /// Whether ledger entries are kept (memory keeps none).
    fn keeps_entries(&self) -> bool {
        matches!(self, Store::Ledger(_))
    }

    /// Writes what only the ledger keeps (entries, rejects, its
    /// transactions); memory keeps none of it.
    fn in_ledger(
        &mut self,
        write: impl FnOnce(&mut Ledger) -> Result<(), LedgerError>,
    ) -> Result<(), RunError> {
        if let Store::Ledger(ledger) = self {
            write(ledger)?;
        }
        Ok(())
    }

    /// The member snapshot, in a transaction of its own: a later run
    /// replays the log only from here.
    fn snapshot(&mut self, engine: &mut Engine) -> Result<(), RunError> {
        self.in_ledger(|ledger| {
            ledger.begin()?;
            ledger.snapshot(engine)?;
            ledger.commit()
        })
    }

    /// Ends the run: the member snapshot, in the last transaction.
    fn finish(&mut self, engine: &mut Engine) -> Result<(), RunError> {
        self.snapshot(engine)?;
        self.in_ledger(Ledger::close)
    }
}

pub struct Runner<'e, 'p, 'l, 'o> {
    pub engine: &'e mut Engine<'p>,
    store: Store<'l>,
    pub outputs: Outputs<'o>,
    /// The events' file, for rejects and the ledger.
    pub source: String,
    /// Lines read and not yet applied: their text, and each one's number
    /// and place in it.
    pending_text: String,
    pending: Vec<(usize, Range<usize>)>,
    effects: Vec<Effect>,
    outcomes: Vec<Outcome>,
    pub summary: Summary,
    in_batch: usize,
    subscriptions: Vec<Subscription>,
    /// Deliveries put in the outbox since the caller last took them.
    pub outbox: Vec<Outgoing>,
}

// Each effect kind has its bit in a subscription's mask.
const _: () = assert!(crate::engine::EffectKind::ALL.len() <= 64);

/// A webhook and the effect kinds it takes (a bit per `EffectKind as
/// usize`).
#[derive(Clone, Debug)]
pub struct Subscription {
    pub webhook: String,
    pub kinds: u64,
}

/// A delivery put in the outbox: its number, its webhook (an index
/// into the subscriptions) and its body.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub seq: i64,
    pub webhook: usize,
    pub body: String,
}

/// Events about to be applied together, with their lines, and the hashes
/// of their ids: an event whose id may be among them waits until they are
/// applied, to be checked as a duplicate against what became of them.
#[derive(Default)]
struct Segment<'t> {
    events: Vec<Event<'t>>,
    lines: Vec<(usize, &'t str)>,
    ids: HashSet<u64, BuildHasherDefault<Fnv>>,
}

impl<'e, 'p, 'l, 'o> Runner<'e, 'p, 'l, 'o> {
    pub fn new(
        engine: &'e mut Engine<'p>,
        ledger: Option<&'l mut Ledger>,
        outputs: Outputs<'o>,
        source: &str,
    ) -> Self {
        Runner {
            engine,
            store: match ledger {
                Some(ledger) => Store::Ledger(ledger),
                None => Store::Memory(SeenInMemory::default()),
            },
            outputs,
            source: source.to_string(),
            pending_text: String::new(),
            pending: Vec::new(),
            effects: Vec::new(),
            outcomes: Vec::new(),
            summary: Summary {
                effects_by_kind: vec![0; crate::engine::EffectKind::ALL.len()],
                ..Summary::default()
            },
            in_batch: 0,
            subscriptions: Vec::new(),
            outbox: Vec::new(),
        }
    }

    /// One line of the events file as read, in bytes: a byte-order mark
    /// before the first line is skipped, and a line that is not UTF-8 is
    /// rejected alone.
    pub fn raw_line(&mut self, number: usize, bytes: &[u8]) -> Result<(), RunError> {
        // A byte-order mark, as some editors write, is not the first
        // event's.
        let bytes = match bytes.strip_prefix("\u{feff}".as_bytes()) {
            Some(rest) if number == 1 => rest,
            _ => bytes,
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => self.line(number, text),
            // One bad byte spoils its line, not the run.
            Err(error) => self.bad_input(
                number,
                &format!(
                    "the line is not UTF-8 text (a bad byte at column {})",
                    error.valid_up_to() + 1
                ),
                Some(&String::from_utf8_lossy(bytes)),
            ),
        }
    }

    /// One line of the events file (numbered from 1). Lines are applied
    /// in batches: [`Runner::flush`] applies those read so far.
    pub fn line(&mut self, number: usize, raw: &str) -> Result<(), RunError> {
        let raw = raw.trim_end_matches(['\r', '\n']);
        if raw.trim().is_empty() {
            return Ok(());
        }
        let start = self.pending_text.len();
        self.pending_text.push_str(raw);
        self.pending.push((number, start..self.pending_text.len()));
        if self.pending.len() >= LINES_AHEAD {
            self.flush()?;
        }
        Ok(())
    }

    /// Applies the lines read so far, in order: each is decoded, checked
    /// for a duplicate id, and applied with the others of its batch.
    /// Lines that reach no engine (malformed, duplicates) end a batch, so
    /// that everything is written in the order of the lines.
    pub fn flush(&mut self) -> Result<(), RunError> {
        let text = std::mem::take(&mut self.pending_text);
        let pending = std::mem::take(&mut self.pending);
        let program = self.engine.program();
        // Lines decode independently: on both cores.
        let mut decoded: Vec<_> = pending
            .par_iter()
            .map(|(_, range)| Some(decode(program, &text[range.clone()])))
            .collect();
        let mut segment = Segment::default();
        for (k, &(number, ref range)) in pending.iter().enumerate() {
            if let Some(Some(Ok(ahead))) = decoded.get(k + IDS_AHEAD) {
                self.store.prefetch_seen(&ahead.id);
            }
            let raw = &text[range.clone()];
            let event = match decoded[k].take().expect("each line is taken once") {
                Ok(event) => event,
                Err((id, reject)) => {
                    self.apply_segment(&mut segment)?;
                    self.answer(
                        number,
                        id.as_deref(),
                        LineOutcome::Rejected(reject.to_string()),
                    );
                    self.reject(number, id.as_deref(), &reject, raw)?;
                    continue;
                }
            };
            let id_hash = fnv::hash(event.id.as_bytes());
            if segment.ids.contains(&id_hash) {
                self.apply_segment(&mut segment)?;
            }
            let seen = self.store.seen(&event.id, raw)?;
            let (duplicate, first) = match seen {
                Seen::Applied(first) => (Reject::Duplicate(event.id.to_string()), first),
                Seen::Rejected(first) => (Reject::DuplicateRejected(event.id.to_string()), first),
                Seen::New => {
                    segment.ids.insert(id_hash);
                    segment.events.push(event);
                    segment.lines.push((number, raw));
                    continue;
                }
            };
            self.apply_segment(&mut segment)?;
            self.summary.duplicates += 1;
            self.answer(number, Some(&event.id), LineOutcome::Duplicate { first });
            self.write_reject(number, Some(&event.id), &duplicate, raw)?;
        }
        self.apply_segment(&mut segment)?;
        drop(segment);
        self.pending_text = text;
        self.pending_text.clear();
        self.pending = pending;
        self.pending.clear();
        Ok(())
    }

    /// Applies a segment's events on the engine, then logs each with its
    /// effects or its reject, in order.
    fn apply_segment(&mut self, segment: &mut Segment) -> Result<(), RunError> {
        if segment.events.is_empty() {
            return Ok(());
        }
        let mut effects = std::mem::take(&mut self.effects);
        let mut outcomes = std::mem::take(&mut self.outcomes);
        effects.clear();
        outcomes.clear();
        self.engine
            .apply_batch(&segment.events, &mut effects, &mut outcomes);
        let mut start = 0;
        for (k, ((event, &(number, raw)), outcome)) in segment
            .events
            .iter()
            .zip(&segment.lines)
            .zip(outcomes.drain(..))
            .enumerate()
        {
            if let Some(ahead) = segment.events.get(k + IDS_AHEAD) {
                self.store.prefetch_seen(&ahead.id);
            }
            self.begin()?;
            let applied = outcome.result.is_ok();
            // An event the engine saw is logged even when rejected:
            // scheduled work its time brought due did happen, and a
            // re-run must find the same state.
            let event_seq = self.store.log_event(&event.id, event.at, applied, raw)?;
            let outcome_of_line = match &outcome.result {
                Ok(()) => LineOutcome::Applied,
                Err(reject) => LineOutcome::Rejected(reject.to_string()),
            };
            self.answer(number, Some(&event.id), outcome_of_line);
            for effect in &effects[start..outcome.effects_end] {
                self.write_effect(number, event_seq, &event.id, effect)?;
            }
            start = outcome.effects_end;
            match outcome.result {
                Ok(()) => self.summary.applied += 1,
                Err(reject) => self.reject(number, Some(&event.id), &reject, raw)?,
            }
            self.in_batch += 1;
            if self.in_batch >= BATCH {
                self.commit()?;
            }
        }
        self.effects = effects;
        self.outcomes = outcomes;
        segment.events.clear();
        segment.lines.clear();
        segment.ids.clear();
        Ok(())
    }

    /// Opens the store's transaction for the next events, unless open.
    fn begin(&mut self) -> Result<(), RunError> {
        if self.in_batch == 0 {
            self.store.in_ledger(Ledger::begin)?;
        }
        Ok(())
    }

    /// A line of the input that could not become an event at all (a bad
    /// row of an orders file, a line that is not text), with its text if
    /// it has one to keep.
    pub fn bad_input(
        &mut self,
        line: usize,
        reason: &str,
        raw: Option<&str>,
    ) -> Result<(), RunError> {
        self.flush()?;
        let raw = match raw {
            Some(raw) => raw.trim_end_matches(['\r', '\n']).to_string(),
            None => format!("line {line} of {}", self.source),
        };
        let reject = Reject::Malformed(reason.to_string());
        self.answer(line, None, LineOutcome::Rejected(reject.to_string()));
        self.reject(line, None, &reject, &raw)
    }

    fn write_effect(
        &mut self,
        line: usize,
        event_seq: i64,
        event_id: &str,
        effect: &Effect,
    ) -> Result<(), RunError> {
        self.summary.effects += 1;
        if let Some(count) = self.summary.effects_by_kind.get_mut(effect.kind as usize) {
            *count += 1;
        }
        let (to_file, to_answer) = (
            self.outputs.effects.is_some(),
            self.outputs.answers.is_some(),
        );
        if !self.store.keeps_entries() && !to_file && !to_answer {
            return Ok(());
        }
        let program = self.engine.program();
        let member = &self.engine.member_at(effect.member).id;
        let entry_seq = match &mut self.store {
            Store::Ledger(ledger) => Some(ledger.log_entry(program, event_seq, effect, member)?),
            Store::Memory(_) => None,
        };
        let kind = 1u64 << (effect.kind as u32);
        let to_webhook = self.subscriptions.iter().any(|s| s.kinds & kind != 0);
        if !to_file && !to_answer && !to_webhook {
            return Ok(());
        }
        let mut record = record_of(program, effect, member);
        if let Some(out) = self.outputs.effects.as_deref_mut() {
            record.insert("event".into(), json!(event_id));
            record.insert("line".into(), json!(line));
            serde_json::to_writer(&mut *out, &record)
                .map_err(io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(io_error("writing effects"))?;
            record.remove("event");
            record.remove("line");
        }
        if let (true, Some(entry_seq), Store::Ledger(ledger)) =
            (to_webhook, entry_seq, &mut self.store)
        {
            for (webhook, subscription) in self.subscriptions.iter().enumerate() {
                if subscription.kinds & kind == 0 {
                    continue;
                }
                let body = delivery_body(&subscription.webhook, Some(event_id), entry_seq, &record);
                let seq = ledger.log_delivery(&subscription.webhook, entry_seq, &body)?;
                self.outbox.push(Outgoing { seq, webhook, body });
            }
        }
        if let Some(answer) = self
            .outputs
            .answers
            .as_deref_mut()
            .and_then(|answers| answers.last_mut())
        {
            answer.effects.push(record);
        }
        Ok(())
    }

    /// Erases a member's personal data on request ([`Engine::erase`] and
    /// [`Ledger::erase`]), with the member's snapshot, in one transaction
    /// committed before this returns; the pseudonym that replaced the
    /// id, or `None` for an unknown member.
    pub fn erase(&mut self, id: &str) -> Result<Option<String>, RunError> {
        self.flush()?;
        let Some(pseudonym) = self.engine.erase(id) else {
            return Ok(None);
        };
        self.begin()?;
        self.store
            .in_ledger(|ledger| ledger.erase(id, &pseudonym))?;
        // The snapshot joins the open transaction, and commits it.
        self.store.snapshot(self.engine)?;
        self.in_batch = 0;
        self.store.in_ledger(Ledger::checkpoint)?;
        Ok(Some(pseudonym))
    }

    /// Records an attempt at a webhook's delivery in the ledger, with
    /// the next commit.
    pub fn log_attempt(&mut self, attempt: &crate::ledger::Attempt) -> Result<(), RunError> {
        self.begin()?;
        self.in_batch += 1;
        self.store.in_ledger(|ledger| ledger.log_attempt(attempt))
    }

    /// Webhooks that get the effects of the kinds each names: each such
    /// effect is put in the ledger's outbox with its entry, and in
    /// [`Runner::outbox`].
    pub fn subscribe(&mut self, subscriptions: Vec<Subscription>) {
        self.subscriptions = subscriptions;
    }

    /// Starts the answer to a line, which its effects then join.
    fn answer(&mut self, line: usize, id: Option<&str>, outcome: LineOutcome) {
        if let Some(answers) = self.outputs.answers.as_deref_mut() {
            answers.push(Answer {
                line,
                id: id.map(str::to_string),
                outcome,
                effects: Vec::new(),
            });
        }
    }

    fn reject(
        &mut self,
        line: usize,
        id: Option<&str>,
        reject: &Reject,
        raw: &str,
    ) -> Result<(), RunError> {
        let reason = reject.to_string();
        self.begin()?;
        let source = &self.source;
        self.store
            .in_ledger(|ledger| ledger.log_rejected(id, source, line, &reason, raw))?;
        self.summary.rejected_count += 1;
        if self.summary.rejected.len() < REJECTS_KEPT {
            self.summary.rejected.push(Rejected {
                line,
                id: id.map(str::to_string),
                reason,
            });
        }
        self.write_reject(line, id, reject, raw)
    }

    fn write_reject(
        &mut self,
        line: usize,
        id: Option<&str>,
        reject: &Reject,
        raw: &str,
    ) -> Result<(), RunError> {
        if let Some(out) = self.outputs.rejects.as_deref_mut() {
            let duplicate = matches!(reject, Reject::Duplicate(_) | Reject::DuplicateRejected(_));
            let record = json!({
                "line": line,
                "id": id,
                "duplicate": duplicate,
                "reason": reject.to_string(),
                "event": raw,
            });
            writeln!(out, "{record}").map_err(io_error("writing rejects"))?;
        }
        Ok(())
    }

    fn commit(&mut self) -> Result<(), RunError> {
        self.store.in_ledger(Ledger::commit_in_background)?;
        self.in_batch = 0;
        Ok(())
    }

    /// Applies the lines read so far, commits them and writes out their
    /// effects and rejects: what a live input (a pipe) needs when no
    /// further line is waiting, so that each answer is out, and durable,
    /// before the next line comes.
    pub fn deliver(&mut self) -> Result<(), RunError> {
        self.flush()?;
        if self.in_batch > 0 {
            self.store.in_ledger(Ledger::commit)?;
            self.in_batch = 0;
        }
        self.flush_outputs()
    }

    /// Applies the lines read so far and commits them in the background;
    /// `durable` runs once they are durable, never if the commit fails.
    /// What a service does that answers each request only then, while
    /// the engine goes on with the next ones. The outputs are not
    /// flushed: the caller answers from `durable`.
    pub fn deliver_then(&mut self, durable: Durable) -> Result<(), RunError> {
        self.flush()?;
        self.in_batch = 0;
        match &mut self.store {
            Store::Ledger(ledger) => ledger.commit_then(durable)?,
            Store::Memory(_) => durable(),
        }
        Ok(())
    }

    /// Writes out what the effects and rejects outputs hold.
    fn flush_outputs(&mut self) -> Result<(), RunError> {
        for out in [
            self.outputs.effects.as_deref_mut(),
            self.outputs.rejects.as_deref_mut(),
        ]
        .into_iter()
        .flatten()
        {
            out.flush().map_err(io_error("writing output"))?;
        }
        Ok(())
    }

    /// The ledger's last entry for the member, made by this run or before.
    pub fn last_entry(&self, member: crate::engine::MemberIndex) -> Option<i64> {
        self.store.last_entry(member)
    }

    /// Delivers what was read, then writes the member snapshot: what a
    /// long-running service does now and then, so that starting again
    /// replays little of the log.
    pub fn snapshot(&mut self) -> Result<(), RunError> {
        self.deliver()?;
        self.store.snapshot(self.engine)
    }

    /// Ends the run: the member snapshot, in the last transaction.
    pub fn finish(mut self) -> Result<Summary, RunError> {
        self.flush()?;
        self.store.finish(self.engine)?;
        self.flush_outputs()?;
        Ok(self.summary)
    }
}

/// What a webhook's delivery posts: the webhook, the event (none for
/// work a background tick ran), the ledger entry, and the effect as the
/// events endpoint answers it.
pub fn delivery_body(
    webhook: &str,
    event: Option<&str>,
    entry: i64,
    effect: &serde_json::Map<String, serde_json::Value>,
) -> String {
    json!({ "webhook": webhook, "event": event, "entry": entry, "effect": effect }).to_string()
}

/// One effect as `run --effects` writes it and `serve` answers it,
/// whether just made or read back from the ledger.
pub struct EffectRecord<'a> {
    pub member: &'a str,
    pub at: &'a str,
    pub kind: &'a str,
    pub points: i64,
    pub money: i64,
    pub value: i64,
    pub scheduled: bool,
    pub reason: &'a str,
}

/// An effect just made, as its record.
pub fn record_of(
    program: &crate::program::Program,
    effect: &Effect,
    member: &str,
) -> serde_json::Map<String, serde_json::Value> {
    effect_record(&EffectRecord {
        member,
        at: &effect.at.to_string(),
        kind: effect.kind.name(),
        points: effect.points,
        money: effect.money,
        value: effect.value,
        scheduled: effect.scheduled,
        reason: &effect.describe(program),
    })
}

pub fn effect_record(effect: &EffectRecord) -> serde_json::Map<String, serde_json::Value> {
    let cents = crate::program::cents_text;
    let mut record = serde_json::Map::new();
    record.insert("member".into(), json!(effect.member));
    record.insert("at".into(), json!(effect.at));
    record.insert("kind".into(), json!(effect.kind));
    record.insert("points".into(), json!(effect.points));
    record.insert("reward_money".into(), json!(cents(effect.money)));
    record.insert("value".into(), json!(cents(effect.value)));
    record.insert("scheduled".into(), json!(effect.scheduled));
    record.insert("reason".into(), json!(effect.reason));
    record
}

fn io_error(what: &'static str) -> impl Fn(io::Error) -> RunError {
    move |source| RunError::Io {
        what: what.to_string(),
        source,
    }
}

impl SeenInMemory {
    fn seen(&self, id: &str, raw: &str) -> Seen {
        let logged = self.ids.positions(id).map(|position| {
            let (logged_id, logged_raw) = &self.logged[position as usize];
            let line = logged_raw.clone().map_or("", |line| &self.text[line]);
            (
                position,
                &self.text[logged_id.clone()],
                logged_raw.is_none(),
                line,
            )
        });
        Seen::of(logged, id, raw)
    }

    fn record(&mut self, id: &str, applied: bool, raw: &str) {
        let mut push = |text: &str| {
            let start = self.text.len();
            self.text.push_str(text);
            start..self.text.len()
        };
        let id_range = push(id);
        let raw_range = (!applied).then(|| push(raw));
        self.ids.add(id.as_bytes(), self.logged.len() as i64);
        self.logged.push((id_range, raw_range));
    }
}
