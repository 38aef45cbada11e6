//! Member ids to the engine's index of the member. Every event looks its
//! member up, and in a table of many members each look-up is a wait for
//! memory; ids up to 47 bytes (a UUID fits) are kept in the table itself,
//! so that it is one wait rather than one for the table and another for
//! the id's own allocation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

use super::effect::MemberIndex;
use crate::fnv::Fnv;

const SHORT: usize = 47;

#[derive(Default)]
pub struct MemberIds {
    short: HashMap<ShortId, MemberIndex, BuildHasherDefault<Fnv>>,
    long: HashMap<Box<str>, MemberIndex, BuildHasherDefault<Fnv>>,
}

/// An id of at most `SHORT` bytes, the rest zero, so that equal ids are
/// equal arrays.
#[derive(PartialEq, Eq)]
struct ShortId {
    len: u8,
    bytes: [u8; SHORT],
}

impl Hash for ShortId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write(&self.bytes[..usize::from(self.len)]);
    }
}

impl ShortId {
    fn new(id: &str) -> Option<ShortId> {
        let len = id.len();
        if len > SHORT {
            return None;
        }
        let mut bytes = [0; SHORT];
        bytes[..len].copy_from_slice(id.as_bytes());
        Some(ShortId {
            len: len as u8,
            bytes,
        })
    }
}

impl MemberIds {
    pub fn get(&self, id: &str) -> Option<MemberIndex> {
        match ShortId::new(id) {
            Some(short) => self.short.get(&short).copied(),
            None => self.long.get(id).copied(),
        }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    pub fn insert(&mut self, id: &str, index: MemberIndex) {
        match ShortId::new(id) {
            Some(short) => self.short.insert(short, index),
            None => self.long.insert(id.into(), index),
        };
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
}
