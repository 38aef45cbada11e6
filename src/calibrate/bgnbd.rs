//! BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy
//! way"): how often customers buy and when they stop.
//!
//! While alive, a customer buys at a Poisson rate λ ~ Gamma(r, alpha)
//! per week; after each repeat purchase they drop out for good with
//! probability p ~ Beta(a, b). What the model sees of a customer is x
//! (repeat purchases), t_x (the time of the last one) and T (the time
//! observed), all from their first purchase.

use super::special::hyp2f1;

/// A customer in the calibration period: repeat purchases, and the
/// days from the first purchase to the last one and to the end of the
/// period. Days, not weeks, so that equal customers group exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rfm {
    pub x: u32,
    pub t_x: u32,
    pub t: u32,
}

/// Weeks, as in the papers: days / 7.
pub fn weeks(days: u32) -> f64 {
    f64::from(days) / 7.0
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

impl BgNbd {
    pub const NAMES: [&'static str; 4] = ["r", "alpha", "a", "b"];

    pub fn from_slice(values: &[f64]) -> BgNbd {
        BgNbd {
            r: values[0],
            alpha: values[1],
            a: values[2],
            b: values[3],
        }
    }

    pub fn to_vec(self) -> Vec<f64> {
        vec![self.r, self.alpha, self.a, self.b]
    }

    /// Expected repeat purchases in the `t` weeks after the calibration
    /// period of a customer seen as `rfm` (FHL 2005, eq. 10).
    pub fn expected_purchases(&self, rfm: Rfm, t: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let (x, t_x, big_t) = (f64::from(rfm.x), weeks(rfm.t_x), weeks(rfm.t));
        let z = t / (alpha + big_t + t);
        let ratio = ((alpha + big_t) / (alpha + big_t + t)).powf(r + x);
        let numerator = (a + b + x - 1.0) / (a - 1.0)
            * (1.0 - ratio * hyp2f1(r + x, b + x, a + b + x - 1.0, z));
        let denominator = if rfm.x > 0 {
            1.0 + a / (b + x - 1.0) * ((alpha + big_t) / (alpha + t_x)).powf(r + x)
        } else {
            1.0
        };
        numerator / denominator
    }
}

/// The calibration customers grouped: customers with equal (x, t_x, T)
/// contribute equal terms, so each group is computed once.
#[derive(Clone, Debug)]
pub struct PurchaseData {
    groups: Vec<(Rfm, f64)>,
    max_x: usize,
    max_days: usize,
    pub customers: usize,
    /// Mean purchases per week over the customers, for a starting point.
    pub rate: f64,
}

impl PurchaseData {
    pub fn new(customers: &[Rfm]) -> PurchaseData {
        let mut sorted = customers.to_vec();
        sorted.sort_unstable();
        let mut groups: Vec<(Rfm, f64)> = Vec::new();
        for rfm in sorted {
            match groups.last_mut() {
                Some((last, count)) if *last == rfm => *count += 1.0,
                _ => groups.push((rfm, 1.0)),
            }
        }
        let purchases: f64 = customers.iter().map(|c| f64::from(c.x)).sum();
        let observed: f64 = customers.iter().map(|c| weeks(c.t)).sum();
        PurchaseData {
            max_x: customers.iter().map(|c| c.x as usize).max().unwrap_or(0),
            max_days: customers.iter().map(|c| c.t as usize).max().unwrap_or(0),
            groups,
            customers: customers.len(),
            rate: if observed > 0.0 {
                purchases / observed
            } else {
                0.0
            },
        }
    }

    /// The log-likelihood in the numerically stable form of Fader,
    /// Hardie & Lee's note "Implementing the BG/NBD model in Excel":
    /// ln L = A1 + A2 + ln(exp(A3) + [x > 0] exp(A4)). The gamma
    /// function ratios are sums of logs because x is a whole number.
    pub fn log_likelihood(&self, m: &BgNbd) -> f64 {
        let BgNbd { r, alpha, a, b } = *m;
        // Σ_{k<x} ln(r+k), Σ ln(b+k), Σ ln(a+b+k) for every x, and
        // ln(alpha + days/7) for every day count.
        let mut sum_r = vec![0.0; self.max_x + 1];
        let mut sum_b = vec![0.0; self.max_x + 1];
        let mut sum_ab = vec![0.0; self.max_x + 1];
        for k in 0..self.max_x {
            let k_f = k as f64;
            sum_r[k + 1] = sum_r[k] + (r + k_f).ln();
            sum_b[k + 1] = sum_b[k] + (b + k_f).ln();
            sum_ab[k + 1] = sum_ab[k] + (a + b + k_f).ln();
        }
        let ln_time: Vec<f64> = (0..=self.max_days)
            .map(|d| (alpha + d as f64 / 7.0).ln())
            .collect();
        let (r_ln_alpha, ln_a) = (r * alpha.ln(), a.ln());
        let mut total = 0.0;
        for &(rfm, count) in &self.groups {
            let x = rfm.x as usize;
            let rx = r + x as f64;
            let a1 = sum_r[x] + r_ln_alpha;
            let a2 = sum_b[x] - sum_ab[x];
            let a3 = -rx * ln_time[rfm.t as usize];
            let last = if x > 0 {
                let a4 = ln_a - (b + x as f64 - 1.0).ln() - rx * ln_time[rfm.t_x as usize];
                let top = a3.max(a4);
                top + ((a3 - top).exp() + (a4 - top).exp()).ln()
            } else {
                a3
            };
            total += count * (a1 + a2 + last);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDNOW: BgNbd = BgNbd {
        r: 0.2426,
        alpha: 4.4136,
        a: 0.7929,
        b: 2.4259,
    };

    /// CDNOW's customer 1 (x = 2, t_x = 30.43, T = 38.86 weeks): FHL's
    /// spreadsheet shows -9.4596; the likelihood's plain form (FHL eq. 6)
    /// evaluated with mpmath at 30 digits gives -9.459540720937728.
    #[test]
    fn one_customers_log_likelihood_matches_the_plain_formula() {
        let data = PurchaseData::new(&[Rfm {
            x: 2,
            t_x: 213,
            t: 272,
        }]);
        let ll = data.log_likelihood(&CDNOW);
        assert!((ll - -9.459_540_720_937_728).abs() < 1e-10, "{ll}");
    }

    /// FHL eq. 10 evaluated with mpmath's hyp2f1 at 30 digits.
    #[test]
    fn expected_purchases_match_an_independent_evaluation() {
        let cases = [
            (
                Rfm {
                    x: 2,
                    t_x: 213,
                    t: 272,
                },
                1.226_010_278_938_09,
            ),
            (Rfm { x: 0, t_x: 0, t: 0 }, 1.195_047_681_513_778),
            (
                Rfm {
                    x: 7,
                    t_x: 200,
                    t: 272,
                },
                3.110_175_617_240_049,
            ),
        ];
        for (rfm, expected) in cases {
            let e = CDNOW.expected_purchases(rfm, 39.0);
            assert!((e - expected).abs() < 1e-10, "{rfm:?}: {e}");
        }
    }
}
