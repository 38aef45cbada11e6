//! Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Hardie's note
//! "The Gamma-Gamma model of monetary value"): how much customers spend.
//!
//! A customer's orders are Gamma(p, ν) in value, and ν varies across
//! customers as Gamma(q, v). What the model sees of a customer is the
//! mean value z̄ of their x repeat orders; first orders are left out, as
//! in the papers, because they often differ (a welcome basket).

use super::special::ln_gamma;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl GammaGamma {
    pub const NAMES: [&'static str; 3] = ["p", "q", "v"];

    pub fn from_slice(values: &[f64]) -> GammaGamma {
        GammaGamma {
            p: values[0],
            q: values[1],
            v: values[2],
        }
    }

    pub fn to_vec(self) -> Vec<f64> {
        vec![self.p, self.q, self.v]
    }

    /// The population's mean order value, p v / (q - 1) (infinite for
    /// q <= 1).
    pub fn mean_order_value(&self) -> f64 {
        if self.q > 1.0 {
            self.p * self.v / (self.q - 1.0)
        } else {
            f64::INFINITY
        }
    }

    /// A customer's expected order value given the mean `mean_value` of
    /// their `x` repeat orders: p (v + x z̄) / (p x + q - 1).
    pub fn expected_order_value(&self, x: u32, mean_value: f64) -> f64 {
        let x = f64::from(x);
        self.p * (self.v + x * mean_value) / (self.p * x + self.q - 1.0)
    }
}

/// Repeat customers' (x, z̄), sorted by x so that the gamma functions of
/// p x are computed once per x.
#[derive(Clone, Debug)]
pub struct SpendData {
    /// (x, ln x, z̄, ln z̄), by x.
    customers: Vec<(u32, f64, f64, f64)>,
    /// Mean z̄, for a starting point.
    pub mean_value: f64,
}

impl SpendData {
    /// `customers` are (repeat orders, their mean value); both must be
    /// above 0.
    pub fn new(customers: &[(u32, f64)]) -> SpendData {
        let mut rows: Vec<(u32, f64, f64, f64)> = customers
            .iter()
            .map(|&(x, z)| (x, f64::from(x).ln(), z, z.ln()))
            .collect();
        rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.2.total_cmp(&b.2)));
        let mean_value = customers.iter().map(|c| c.1).sum::<f64>() / customers.len().max(1) as f64;
        SpendData {
            customers: rows,
            mean_value,
        }
    }

    pub fn len(&self) -> usize {
        self.customers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.customers.is_empty()
    }

    /// Σ ln f(z̄ | x): ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln v
    /// + (px-1) ln z̄ + px ln x - (px+q) ln(v + x z̄).
    pub fn log_likelihood(&self, m: &GammaGamma) -> f64 {
        let GammaGamma { p, q, v } = *m;
        let constant = q * v.ln() - ln_gamma(q);
        let mut total = 0.0;
        let mut current_x = 0;
        let mut gammas = 0.0;
        for &(x, ln_x, z, ln_z) in &self.customers {
            let px = p * f64::from(x);
            if x != current_x {
                current_x = x;
                gammas = ln_gamma(px + q) - ln_gamma(px);
            }
            total += gammas + constant + (px - 1.0) * ln_z + px * ln_x
                - (px + q) * (v + f64::from(x) * z).ln();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of the density's log at p = 6.25, q = 3.74, v = 15.44,
    /// evaluated with mpmath at 30 digits.
    #[test]
    fn log_likelihood_matches_an_independent_evaluation() {
        let m = GammaGamma {
            p: 6.25,
            q: 3.74,
            v: 15.44,
        };
        let cases = [
            (2, 22.345, -3.551_189_164_139_951),
            (1, 11.77, -3.737_709_678_740_84),
            (7, 73.74, -6.054_867_310_722_229),
        ];
        for (x, z, expected) in cases {
            let ll = SpendData::new(&[(x, z)]).log_likelihood(&m);
            assert!((ll - expected).abs() < 1e-10, "{x} {z}: {ll}");
        }
        let all = SpendData::new(&[(2, 22.345), (1, 11.77), (7, 73.74)]).log_likelihood(&m);
        let sum: f64 = cases.iter().map(|c| c.2).sum();
        assert!((all - sum).abs() < 1e-10);
        assert!((m.expected_order_value(2, 22.345) - 24.659_612_860_892_39).abs() < 1e-10);
    }
}
