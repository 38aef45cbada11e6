//! Applying many events at once on every core, with exactly the outcome
//! of applying them one by one.
//!
//! Members are independent of each other except in a `refer`, so a
//! batch's member events are shared between the shards by member (chunks
//! of `CHUNK` members, in turn), each applying its own events in order.
//! What decides an event's fate before it reaches its member (time order,
//! unknown member, enrolling twice) is settled first, in order, on one
//! thread; afterwards the effects are put back in event order. A `tick`
//! works on every shard's members at once, and its effects come in member
//! order; a `refer` runs alone, between the shards' work. The outcome is
//! the same whatever the number of shards or threads.

use super::budgets::Budgets;
use super::effect::{Effect, MemberIndex};
use super::event::{Event, EventKind, Reject};
use super::member::Member;
use super::{Engine, catch_up, step_in_order};
use crate::program::Program;
use crate::time::Time;

/// Members per chunk: of n shards, shard s has chunks s, s + n, s + 2n ...
/// Small enough that random members share out evenly, large enough that
/// the list of a shard's chunks stays short.
const CHUNK: usize = 32;

/// An event's fate once settled in order: the member it goes to, or why
/// it is rejected before reaching one.
pub(super) type Planned = Result<MemberIndex, Reject>;

/// How many events ahead a member's slot in the id table is asked for:
/// enough for the wait to end before the event comes up.
const AHEAD: usize = 16;

/// How many of a shard's events ahead a member's parts are asked for
/// (and its record twice as far).
const MEMBER_AHEAD: usize = 4;

/// What one event of a batch came to.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    /// Where the event's effects end in the batch's effects; they start
    /// where the previous event's end.
    pub effects_end: usize,
    /// On `Err`, nothing of the event itself was applied (effects of
    /// scheduled work its time brought due may be there).
    pub result: Result<(), Reject>,
}

/// A shard's output, kept between batches so that its buffers are reused.
#[derive(Default)]
pub(super) struct ShardWork {
    effects: Vec<Effect>,
    /// Per event applied: where its effects end, and the result.
    done: Vec<(usize, Result<(), Reject>)>,
    /// For a tick: where each chunk's effects end, and the members whose
    /// scheduled work ran.
    chunk_ends: Vec<usize>,
    touched: Vec<MemberIndex>,
    /// The events of the batch for this shard, and their members.
    mine: Vec<(usize, MemberIndex)>,
}

impl ShardWork {
    fn clear(&mut self) {
        self.effects.clear();
        self.done.clear();
        self.chunk_ends.clear();
        self.touched.clear();
        self.mine.clear();
    }
}

fn shard_of(member: MemberIndex, shards: usize) -> usize {
    (member as usize / CHUNK) % shards
}

/// The members as `n` shards of chunks in turn.
fn split(members: &mut [Member], n: usize) -> Vec<Vec<&mut [Member]>> {
    let mut shards: Vec<Vec<&mut [Member]>> = (0..n).map(|_| Vec::new()).collect();
    for (c, chunk) in members.chunks_mut(CHUNK).enumerate() {
        shards[c % n].push(chunk);
    }
    shards
}

fn member_of<'m>(
    chunks: &'m mut [&mut [Member]],
    shards: usize,
    member: MemberIndex,
) -> &'m mut Member {
    let i = member as usize;
    &mut chunks[i / CHUNK / shards][i % CHUNK]
}

impl Engine<'_> {
    /// Applies `events` in order, as [`Engine::apply`] would one by one,
    /// appending their effects to `out` and one outcome per event to
    /// `outcomes`.
    pub fn apply_batch(
        &mut self,
        events: &[Event],
        out: &mut Vec<Effect>,
        outcomes: &mut Vec<Outcome>,
    ) {
        if self.program.budget_slots > 0 {
            // Any member's event may draw on a budget all members share,
            // so the events go one by one, in order, on this thread.
            for event in events {
                let result = self.apply(event, out);
                outcomes.push(Outcome {
                    effects_end: out.len(),
                    result,
                });
            }
            return;
        }
        let mut plan = std::mem::take(&mut self.plan);
        let mut start = 0;
        for (n, event) in events.iter().enumerate() {
            if let Some(ahead) = events.get(n + AHEAD) {
                self.index.prefetch(&ahead.member);
            }
            if matches!(event.kind, EventKind::Tick | EventKind::Refer { .. }) {
                self.apply_planned(&events[start..n], &mut plan, out, outcomes);
                let result = match event.kind {
                    EventKind::Tick => self.tick(event.at, out),
                    _ => self.apply(event, out),
                };
                outcomes.push(Outcome {
                    effects_end: out.len(),
                    result,
                });
                start = n + 1;
            } else {
                plan.push(self.member_for(event));
            }
        }
        self.apply_planned(&events[start..], &mut plan, out, outcomes);
        self.plan = plan;
    }

    /// Applies the planned member events on both shards, then puts their
    /// effects and outcomes in event order.
    fn apply_planned(
        &mut self,
        events: &[Event],
        plan: &mut Vec<Planned>,
        out: &mut Vec<Effect>,
        outcomes: &mut Vec<Outcome>,
    ) {
        if plan.is_empty() {
            return;
        }
        let program = self.program;
        let plan_ref = &plan[..];
        let n = self.shards.len();
        self.on_every_shard(|chunks, shard, work| {
            apply_shard(program, (chunks, shard, n), events, plan_ref, work)
        });
        let shards = &mut self.shards;
        // Where each shard's results and effects have been read to.
        let (done, effects_start) = (&mut self.read.0, &mut self.read.1);
        done.clear();
        done.resize(n, 0);
        effects_start.clear();
        effects_start.resize(n, 0);
        for planned in plan.drain(..) {
            let result = planned.and_then(|member| {
                let s = shard_of(member, n);
                let (end, result) = std::mem::replace(&mut shards[s].done[done[s]], (0, Ok(())));
                done[s] += 1;
                out.extend_from_slice(&shards[s].effects[effects_start[s]..end]);
                effects_start[s] = end;
                result
            });
            outcomes.push(Outcome {
                effects_end: out.len(),
                result,
            });
        }
    }

    /// Runs `work` on each shard's members at once, the shards on the
    /// threads there are, each with its own (cleared) output.
    fn on_every_shard(
        &mut self,
        work: impl Fn(&mut [&mut [Member]], usize, &mut ShardWork) + Sync,
    ) {
        use rayon::prelude::*;
        let n = self.shards.len();
        let mut chunks = split(&mut self.members, n);
        self.shards
            .par_iter_mut()
            .zip(chunks.par_iter_mut())
            .enumerate()
            .for_each(|(shard, (out, chunks))| {
                out.clear();
                work(chunks, shard, out);
            });
    }

    /// Runs every member's scheduled work due by `at`, on every shard at
    /// once; effects come in member order. What a `tick` does, in a batch
    /// or alone.
    pub(super) fn tick(&mut self, at: Time, out: &mut Vec<Effect>) -> Result<(), Reject> {
        self.check_order(at)?;
        let program = self.program;
        let n = self.shards.len();
        if program.budget_slots > 0 {
            // Scheduled work may draw on a budget all members share, so
            // members take their turn in order, on this thread.
            self.shards.iter_mut().for_each(ShardWork::clear);
            let mut members = split(&mut self.members, 1);
            let shard = (&mut members[0][..], 0, 1);
            tick_shard(program, shard, at, &mut self.shards[0], &mut self.budgets);
            out.append(&mut self.shards[0].effects);
        } else {
            self.on_every_shard(|chunks, shard, work| {
                tick_shard(program, (chunks, shard, n), at, work, &mut Budgets::none())
            });
            let chunks = self.members.len().div_ceil(CHUNK);
            let effects_start = &mut self.read.1;
            effects_start.clear();
            effects_start.resize(n, 0);
            for c in 0..chunks {
                let work = &self.shards[c % n];
                let end = work.chunk_ends[c / n];
                out.extend_from_slice(&work.effects[effects_start[c % n]..end]);
                effects_start[c % n] = end;
            }
        }
        for s in 0..n {
            let touched = std::mem::take(&mut self.shards[s].touched);
            for &member in &touched {
                self.mark(member);
            }
            self.shards[s].touched = touched;
        }
        self.clock = at;
        Ok(())
    }
}

/// A shard's chunks of members, its number, and how many shards there
/// are.
type Shard<'c, 'm> = (&'c mut [&'m mut [Member]], usize, usize);

fn apply_shard(
    program: &Program,
    (chunks, shard, shards): Shard,
    events: &[Event],
    plan: &[Planned],
    work: &mut ShardWork,
) {
    work.mine.extend(
        plan.iter()
            .enumerate()
            .filter_map(|(n, planned)| match *planned {
                Ok(index) if shard_of(index, shards) == shard => Some((n, index)),
                _ => None,
            }),
    );
    for k in 0..work.mine.len() {
        // The member's record is asked for some events ahead, and what
        // it points to (lots, orders, rule states) once it is there.
        if let Some(&(_, ahead)) = work.mine.get(k + 2 * MEMBER_AHEAD) {
            member_of(chunks, shards, ahead).prefetch_record();
        }
        if let Some(&(_, ahead)) = work.mine.get(k + MEMBER_AHEAD) {
            member_of(chunks, shards, ahead).prefetch_parts();
        }
        let (n, index) = work.mine[k];
        let result = step_in_order(
            program,
            member_of(chunks, shards, index),
            index,
            &events[n],
            (&mut work.effects, &mut Budgets::none()),
        );
        work.done.push((work.effects.len(), result));
    }
}

fn tick_shard(
    program: &Program,
    (chunks, shard, shards): Shard,
    at: Time,
    work: &mut ShardWork,
    budgets: &mut Budgets,
) {
    for (k, chunk) in chunks.iter_mut().enumerate() {
        let first = (shards * k + shard) * CHUNK;
        for j in 0..chunk.len() {
            if let Some(ahead) = chunk.get(j + MEMBER_AHEAD)
                && ahead.due <= at
            {
                ahead.prefetch_parts();
            }
            if chunk[j].due > at {
                continue;
            }
            let index = (first + j) as MemberIndex;
            work.touched.push(index);
            catch_up(
                program,
                &mut chunk[j],
                index,
                at,
                (&mut work.effects, budgets),
            );
            // Work that ran for the member is behind them: a later event
            // of theirs cannot come before it.
            chunk[j].time = chunk[j].time.max(at);
        }
        work.chunk_ends.push(work.effects.len());
    }
}
