//! The simulator's random numbers: xoshiro256++ (Blackman & Vigna),
//! seeded by SplitMix64 from (seed, run, customer, stream). Each
//! customer's draws depend on nothing else, so the output is the same
//! whatever the number of threads or shards, and the program and its
//! no-program baseline read the same numbers (common random numbers).

use rand::RngCore;

/// What a stream of draws is for. The baseline reads the first four in
/// the same order as the program, so both see the same customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Segment, purchase rate, dropout probability, spend rate.
    Traits = 1,
    /// Waiting times between purchases (standard exponentials).
    Waits = 2,
    /// Each order's value and place.
    Orders = 3,
    /// Dropping out after each purchase.
    Dropout = 4,
    /// The member's choices: joining, redeeming, renewing, acting.
    Choices = 5,
    /// The items of each order with the program: how many, their share
    /// of its value, their category and product.
    Baskets = 6,
}

#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64, run: u32, customer: u32, stream: Stream) -> Rng {
        Rng::of_friend(seed, run, customer, 0, stream)
    }

    /// The draws of the `friend`-th friend that a customer's referrals
    /// brought (0: the customer themself).
    pub fn of_friend(seed: u64, run: u32, customer: u32, friend: u32, stream: Stream) -> Rng {
        let mut x = seed;
        let mut key = splitmix(&mut x);
        key ^= (u64::from(run) << 32) | u64::from(customer);
        let mut x = splitmix(&mut key)
            ^ (stream as u64).wrapping_mul(0xD1B5_4A32_D192_ED03)
            ^ u64::from(friend).wrapping_mul(0x9E6C_63D0_676A_9A99);
        Rng {
            s: [
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
            ],
        }
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// Uniform in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Standard exponential.
    pub fn exponential(&mut self) -> f64 {
        -(1.0 - self.uniform()).ln()
    }
}

impl RngCore for Rng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_differ_and_repeat() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7, 0, 0, Stream::Waits);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let again: Vec<u64> = {
            let mut r = Rng::new(7, 0, 0, Stream::Waits);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let other: Vec<u64> = {
            let mut r = Rng::new(7, 0, 1, Stream::Waits);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_eq!(a, again);
        assert_ne!(a, other);
    }

    #[test]
    fn uniform_mean_is_a_half() {
        let mut r = Rng::new(1, 2, 3, Stream::Choices);
        let n = 100_000;
        let mean: f64 = (0..n).map(|_| r.uniform()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
    }
}
