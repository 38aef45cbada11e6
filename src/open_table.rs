//! An open-addressing table with linear probing, a power of two long and
//! at most half full: the home of a key is known from its hash alone, so
//! that a look-up can be asked for ahead (`prefetch`) and costs one wait
//! for memory. Event ids (`event_ids.rs`) and member ids
//! (`engine/member_ids.rs`) keep their own slots in it.

use crate::prefetch::prefetch;

/// What a table holds: a fixed-size record with its key's hash, or the
/// empty slot.
pub trait Slot: Copy {
    const EMPTY: Self;
    fn hash(&self) -> u64;
    fn is_empty(&self) -> bool;
}

pub struct OpenTable<S: Slot> {
    slots: Vec<S>,
    len: usize,
    /// The length of the table when it first grows.
    first: usize,
}

impl<S: Slot> OpenTable<S> {
    /// An empty table that takes `first` slots (a power of two) at its
    /// first insert.
    pub const fn new(first: usize) -> Self {
        OpenTable {
            slots: Vec::new(),
            len: 0,
            first,
        }
    }

    /// The slot for `hash` that `is` accepts (checking the key itself,
    /// as hashes collide), if there is one.
    pub fn find(&self, hash: u64, is: impl Fn(&S) -> bool) -> Option<&S> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut s = hash as usize & mask;
        loop {
            let slot = &self.slots[s];
            if slot.is_empty() {
                return None;
            }
            if slot.hash() == hash && is(slot) {
                return Some(slot);
            }
            s = (s + 1) & mask;
        }
    }

    /// Adds a slot for a key not in the table.
    pub fn insert(&mut self, slot: S) {
        if (self.len + 1) * 2 > self.slots.len() {
            let size = (self.slots.len() * 2).max(self.first);
            let old = std::mem::replace(&mut self.slots, vec![S::EMPTY; size]);
            for slot in old {
                if !slot.is_empty() {
                    self.place(slot);
                }
            }
        }
        self.place(slot);
        self.len += 1;
    }

    fn place(&mut self, slot: S) {
        let mask = self.slots.len() - 1;
        let mut s = slot.hash() as usize & mask;
        while !self.slots[s].is_empty() {
            s = (s + 1) & mask;
        }
        self.slots[s] = slot;
    }

    /// Starts loading the home of `hash`, for a look-up soon after.
    pub fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            prefetch(&self.slots[hash as usize & (self.slots.len() - 1)]);
        }
    }

    /// The table's length in slots.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}
