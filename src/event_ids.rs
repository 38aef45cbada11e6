//! Event ids seen so far, found by a hash of the id. Exactly once asks
//! "seen before?" of every event, and a set of the ids themselves would
//! allocate for each one. A hit tells where the id was logged, to be
//! confirmed against the id stored there, since hashes can collide.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use crate::fnv::{Fnv, hash};
use crate::open_table::{OpenTable, Slot};

type ByHash<V> = HashMap<u64, V, BuildHasherDefault<Fnv>>;

/// What happened to an event id seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Seen {
    New,
    /// Applied, logged where the number says (the ledger's `events.seq`).
    Applied(i64),
    /// Rejected before with the very same line, logged there.
    Rejected(i64),
}

impl Seen {
    /// The verdict on `id` sent as `line`, from the events logged where
    /// its hash was found: `(where, id, applied, line)` of each.
    pub fn of<'a>(
        logged: impl IntoIterator<Item = (i64, &'a str, bool, &'a str)>,
        id: &str,
        line: &str,
    ) -> Seen {
        let mut seen = Seen::New;
        for (at, logged_id, applied, logged_line) in logged {
            if logged_id != id {
                continue;
            }
            if applied {
                return Seen::Applied(at);
            }
            if logged_line == line {
                seen = Seen::Rejected(at);
            }
        }
        seen
    }
}

/// Each id hash with where it was first logged, in an [`OpenTable`]: a
/// run asks for an id's slot ahead ([`EventIds::prefetch`]).
pub struct EventIds {
    first: OpenTable<Logged>,
    /// Where it was logged again: an id rejected and sent again, or
    /// another id with the same hash. Rare, so kept apart.
    more: ByHash<Vec<i64>>,
}

/// An id's hash and where it was first logged.
#[derive(Clone, Copy)]
struct Logged {
    hash: u64,
    position: i64,
}

impl Slot for Logged {
    const EMPTY: Logged = Logged {
        hash: 0,
        position: i64::MIN,
    };

    fn hash(&self) -> u64 {
        self.hash
    }

    fn is_empty(&self) -> bool {
        self.position == i64::MIN
    }
}

impl Default for EventIds {
    fn default() -> Self {
        EventIds {
            first: OpenTable::new(1024),
            more: ByHash::default(),
        }
    }
}

impl EventIds {
    pub fn add(&mut self, id: &[u8], position: i64) {
        let hash = hash(id);
        if self.first.find(hash, |_| true).is_some() {
            self.more.entry(hash).or_default().push(position);
        } else {
            self.first.insert(Logged { hash, position });
        }
    }

    /// Starts loading where `id` would be, for a look-up soon after.
    pub fn prefetch(&self, id: &str) {
        self.first.prefetch(hash(id.as_bytes()));
    }

    /// Where an id with the same hash as `id` was logged, first first.
    pub fn positions(&self, id: &str) -> impl Iterator<Item = i64> + '_ {
        let hash = hash(id.as_bytes());
        let first = self.first.find(hash, |_| true).map(|slot| slot.position);
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
        let logged = [
            (1, "a", false, "{1}"),
            (2, "b", true, "{2}"),
            (3, "a", true, "{3}"),
        ];
        assert_eq!(Seen::of(logged, "a", "{9}"), Seen::Applied(3));
        assert_eq!(Seen::of(logged, "b", "{9}"), Seen::Applied(2));
        assert_eq!(
            Seen::of(logged[..1].to_vec(), "a", "{1}"),
            Seen::Rejected(1)
        );
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
