//! Event ids seen so far, found by a hash of the id. Exactly once asks
//! "seen before?" of every event, and a set of the ids themselves would
//! allocate for each one. A hit tells where the id was logged, to be
//! confirmed against the id stored there, since hashes can collide.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::fnv::{Fnv, hash};
use crate::prefetch::prefetch;

type ByHash<V> = HashMap<u64, V, BuildHasherDefault<Fnv>>;

/// What happened to an event id seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    New,
    Applied,
    /// Rejected before with the very same line.
    Rejected,
}

impl Seen {
    /// The verdict on `id` sent as `line`, from the events logged where
    /// its hash was found: `(id, applied, line)` of each.
    pub fn of<'a>(
        logged: impl IntoIterator<Item = (&'a str, bool, &'a str)>,
        id: &str,
        line: &str,
    ) -> Seen {
        let mut seen = Seen::New;
        for (logged_id, applied, logged_line) in logged {
            if logged_id != id {
                continue;
            }
            if applied {
                return Seen::Applied;
            }
            if logged_line == line {
                seen = Seen::Rejected;
            }
        }
        seen
    }
}

/// Open addressing with linear probing, a power of two long and at most
/// half full: the slot of an id is known from its hash alone, so a run can
/// ask for it ahead ([`EventIds::prefetch`]), one wait for memory each.
#[derive(Default)]
pub struct EventIds {
    /// Each id hash with where it was first logged.
    slots: Vec<(u64, i64)>,
    len: usize,
    /// Where it was logged again: an id rejected and sent again, or
    /// another id with the same hash. Rare, so kept apart.
    more: ByHash<Vec<i64>>,
}

const EMPTY: i64 = i64::MIN;

impl EventIds {
    pub fn add(&mut self, id: &[u8], position: i64) {
        let hash = hash(id);
        if (self.len + 1) * 2 > self.slots.len() {
            let size = (self.slots.len() * 2).max(1024);
            let old = std::mem::replace(&mut self.slots, vec![(0, EMPTY); size]);
            for (hash, first) in old {
                if first != EMPTY {
                    let s = self.slot(hash).expect("the table has room");
                    self.slots[s] = (hash, first);
                }
            }
        }
        let s = self.slot(hash).expect("the table has room");
        if self.slots[s].1 != EMPTY {
            self.more.entry(hash).or_default().push(position);
            return;
        }
        self.slots[s] = (hash, position);
        self.len += 1;
    }

    /// The slot that holds `hash`, or the empty one where it would go.
    fn slot(&self, hash: u64) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut s = hash as usize & mask;
        while self.slots[s].1 != EMPTY && self.slots[s].0 != hash {
            s = (s + 1) & mask;
        }
        Some(s)
    }

    /// Starts loading where `id` would be, for a look-up soon after.
    pub fn prefetch(&self, id: &str) {
        if !self.slots.is_empty() {
            let hash = hash(id.as_bytes());
            prefetch(&self.slots[hash as usize & (self.slots.len() - 1)]);
        }
    }

    /// Where an id with the same hash as `id` was logged, first first.
    pub fn positions(&self, id: &str) -> impl Iterator<Item = i64> + '_ {
        let hash = hash(id.as_bytes());
        let first = self
            .slot(hash)
            .map(|s| self.slots[s].1)
            .filter(|&first| first != EMPTY);
        let more = first
            .and_then(|_| self.more.get(&hash))
            .into_iter()
            .flatten()
            .copied();
        first.into_iter().chain(more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_applied_once_is_applied_and_a_rejected_one_only_with_its_line() {
        let logged = [("a", false, "{1}"), ("b", true, "{2}"), ("a", true, "{3}")];
        assert_eq!(Seen::of(logged, "a", "{9}"), Seen::Applied);
        assert_eq!(Seen::of(logged, "b", "{9}"), Seen::Applied);
        assert_eq!(Seen::of(logged[..1].to_vec(), "a", "{1}"), Seen::Rejected);
        assert_eq!(Seen::of(logged[..1].to_vec(), "a", "{2}"), Seen::New);
        assert_eq!(Seen::of(logged, "c", "{1}"), Seen::New);
    }

    #[test]
    fn every_position_of_an_id_is_found() {
        let mut ids = EventIds::default();
        ids.add(b"a", 1);
        ids.add(b"b", 2);
        ids.add(b"a", 3);
        assert_eq!(ids.positions("a").collect::<Vec<_>>(), [1, 3]);
        assert_eq!(ids.positions("b").collect::<Vec<_>>(), [2]);
        assert_eq!(ids.positions("c").count(), 0);
    }

    #[test]
    fn every_id_is_found_after_the_table_grows() {
        let mut ids = EventIds::default();
        for i in 0..5_000 {
            ids.prefetch(&format!("e{i}"));
            ids.add(format!("e{i}").as_bytes(), i);
        }
        ids.add(b"e7", 5_000);
        for i in 0..5_000 {
            let expected = if i == 7 { vec![7, 5_000] } else { vec![i] };
            assert_eq!(
                ids.positions(&format!("e{i}")).collect::<Vec<_>>(),
                expected
            );
        }
        assert_eq!(ids.positions("e5000").count(), 0);
    }
}
