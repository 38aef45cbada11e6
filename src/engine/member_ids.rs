//! Member ids to the engine's index of the member. Every event looks its
//! member up, and in a table of many members each look-up is a wait for
//! memory. Ids up to 51 bytes (a UUID fits) are kept in the table itself,
//! one cache line per slot with the id's hash, so that a look-up is one
//! wait rather than one for the table and another for the id's own
//! allocation; and the slot's address is known from the id alone, so a
//! batch can ask for it ahead ([`MemberIds::prefetch`]).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::effect::MemberIndex;
use crate::fnv::{self, Fnv};
use crate::open_table::{OpenTable, Slot};

const SHORT: usize = 51;

pub struct MemberIds {
    short: OpenTable<Short>,
    long: HashMap<Box<str>, MemberIndex, BuildHasherDefault<Fnv>>,
}

/// An id of at most `SHORT` bytes, with its hash and index.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Short {
    hash: u64,
    index: MemberIndex,
    len: u8,
    bytes: [u8; SHORT],
}

impl Short {
    fn is(&self, id: &str) -> bool {
        &self.bytes[..usize::from(self.len)] == id.as_bytes()
    }
}

impl Slot for Short {
    const EMPTY: Short = Short {
        hash: 0,
        index: MemberIndex::MAX,
        len: 0,
        bytes: [0; SHORT],
    };

    fn hash(&self) -> u64 {
        self.hash
    }

    fn is_empty(&self) -> bool {
        self.index == MemberIndex::MAX
    }
}

impl Default for MemberIds {
    fn default() -> Self {
        MemberIds {
            short: OpenTable::new(64),
            long: HashMap::default(),
        }
    }
}

impl MemberIds {
    pub fn get(&self, id: &str) -> Option<MemberIndex> {
        if id.len() > SHORT {
            return self.long.get(id).copied();
        }
        let hash = fnv::hash(id.as_bytes());
        self.short
            .find(hash, |slot| slot.is(id))
            .map(|slot| slot.index)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Starts loading where `id` would be, for a look-up soon after.
    pub fn prefetch(&self, id: &str) {
        if id.len() <= SHORT {
            self.short.prefetch(fnv::hash(id.as_bytes()));
        }
    }

    /// Adds an id not in the table.
    pub fn insert(&mut self, id: &str, index: MemberIndex) {
        if id.len() > SHORT {
            self.long.insert(id.into(), index);
            return;
        }
        let mut slot = Short {
            hash: fnv::hash(id.as_bytes()),
            index,
            len: id.len() as u8,
            ..Short::EMPTY
        };
        slot.bytes[..id.len()].copy_from_slice(id.as_bytes());
        self.short.insert(slot);
    }
}

impl<'a> FromIterator<(&'a str, MemberIndex)> for MemberIds {
    fn from_iter<I: IntoIterator<Item = (&'a str, MemberIndex)>>(pairs: I) -> Self {
        let mut ids = MemberIds::default();
        for (id, index) in pairs {
            ids.insert(id, index);
        }
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_ids_are_found_and_told_apart() {
        let long = "x".repeat(SHORT + 1);
        let mut ids = MemberIds::default();
        ids.insert("ana", 0);
        ids.insert("", 1);
        ids.insert(&long, 2);
        ids.insert(&long[..SHORT], 3);
        assert_eq!(ids.get("ana"), Some(0));
        assert_eq!(ids.get(""), Some(1));
        assert_eq!(ids.get(&long), Some(2));
        assert_eq!(ids.get(&long[..SHORT]), Some(3));
        assert_eq!(ids.get("an"), None);
        assert_eq!(ids.get("ana\0"), None);
        assert!(!ids.contains(&long[..SHORT - 1]));
    }

    #[test]
    fn every_id_is_found_after_the_table_grows() {
        let mut ids = MemberIds::default();
        for i in 0..10_000 {
            ids.prefetch(&format!("m{i}"));
            ids.insert(&format!("m{i}"), i);
        }
        for i in 0..10_000 {
            assert_eq!(ids.get(&format!("m{i}")), Some(i));
        }
        assert_eq!(ids.get("m10000"), None);
        assert!(ids.short.capacity() >= 20_000 && ids.short.capacity().is_power_of_two());
    }
}
