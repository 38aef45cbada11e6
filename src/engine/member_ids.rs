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
use crate::prefetch::prefetch;

const SHORT: usize = 51;
const EMPTY: MemberIndex = MemberIndex::MAX;

#[derive(Default)]
pub struct MemberIds {
    /// Open addressing with linear probing; a power of two long and at
    /// most half full, so that probes stay short.
    slots: Vec<Slot>,
    short: usize,
    long: HashMap<Box<str>, MemberIndex, BuildHasherDefault<Fnv>>,
}

/// An id of at most `SHORT` bytes, with its hash and index.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Slot {
    hash: u64,
    index: MemberIndex,
    len: u8,
    bytes: [u8; SHORT],
}

const EMPTY_SLOT: Slot = Slot {
    hash: 0,
    index: EMPTY,
    len: 0,
    bytes: [0; SHORT],
};

impl MemberIds {
    pub fn get(&self, id: &str) -> Option<MemberIndex> {
        if id.len() > SHORT {
            return self.long.get(id).copied();
        }
        if self.slots.is_empty() {
            return None;
        }
        let hash = fnv::hash(id.as_bytes());
        let mask = self.slots.len() - 1;
        let mut s = hash as usize & mask;
        loop {
            let slot = &self.slots[s];
            if slot.index == EMPTY {
                return None;
            }
            if slot.hash == hash && &slot.bytes[..usize::from(slot.len)] == id.as_bytes() {
                return Some(slot.index);
            }
            s = (s + 1) & mask;
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Starts loading where `id` would be, for a look-up soon after.
    pub fn prefetch(&self, id: &str) {
        if id.len() <= SHORT && !self.slots.is_empty() {
            let hash = fnv::hash(id.as_bytes());
            prefetch(&self.slots[hash as usize & (self.slots.len() - 1)]);
        }
    }

    /// Adds an id not in the table.
    pub fn insert(&mut self, id: &str, index: MemberIndex) {
        if id.len() > SHORT {
            self.long.insert(id.into(), index);
            return;
        }
        if (self.short + 1) * 2 > self.slots.len() {
            self.grow();
        }
        let mut slot = Slot {
            hash: fnv::hash(id.as_bytes()),
            index,
            len: id.len() as u8,
            ..EMPTY_SLOT
        };
        slot.bytes[..id.len()].copy_from_slice(id.as_bytes());
        self.place(slot);
        self.short += 1;
    }

    fn place(&mut self, slot: Slot) {
        let mask = self.slots.len() - 1;
        let mut s = slot.hash as usize & mask;
        while self.slots[s].index != EMPTY {
            s = (s + 1) & mask;
        }
        self.slots[s] = slot;
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(64);
        let old = std::mem::replace(&mut self.slots, vec![EMPTY_SLOT; size]);
        for slot in old {
            if slot.index != EMPTY {
                self.place(slot);
            }
        }
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
        assert!(ids.slots.len() >= 20_000 && ids.slots.len().is_power_of_two());
    }
}
