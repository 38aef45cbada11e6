//! FNV-1a, the one non-cryptographic hash of the crate: for the member
//! index (ids are short and come from the brand's own systems, so a keyed
//! hash buys nothing and costs time on every event), for order ids, and for a
//! program's fingerprint, which must be the same on every machine.

use std::hash::Hasher;

pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Hashes what is written, as it is written.
impl std::fmt::Write for Fnv {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.write(text.as_bytes());
        Ok(())
    }
}

/// The hash of some bytes.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut fnv = Fnv::default();
    fnv.write(bytes);
    fnv.finish()
}
