//! Orders histories drawn from BG/NBD and Gamma-Gamma with known
//! parameters, for the calibration tests and benchmark: `calibrate`
//! should find the parameters again.

use loyalty::sim::rng::{Rng, Stream};
use loyalty::time::Time;
use rand_distr::{Beta, Distribution, Gamma};

/// The parameters the orders are drawn from (weeks, money).
#[derive(Clone, Copy, Debug)]
pub struct Truth {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

/// CDNOW's published estimates.
pub const CDNOW: Truth = Truth {
    r: 0.243,
    alpha: 4.414,
    a: 0.793,
    b: 2.426,
    p: 6.25,
    q: 3.74,
    v: 15.44,
};

/// `customers` customers whose first orders fall on the days of the
/// first `acquisition_weeks` weeks from 2020-01-01, followed for
/// `weeks` weeks in all; a CSV with a header line, one order per line.
pub fn orders_csv(
    truth: Truth,
    customers: usize,
    acquisition_weeks: u32,
    weeks: u32,
    seed: u64,
) -> String {
    let rate = Gamma::new(truth.r, 1.0 / truth.alpha).unwrap();
    let dropout = Beta::new(truth.a, truth.b).unwrap();
    let spend_rate = Gamma::new(truth.q, 1.0 / truth.v).unwrap();
    let start = Time::from_date(2020, 1, 1);
    let end_day = f64::from(weeks * 7);
    let mut out = String::from("customer_id,order_date,total\n");
    for c in 0..customers {
        // One stream per customer, as the simulator draws them.
        let mut rng = Rng::new(seed, 0, c as u32, Stream::Traits);
        let lambda: f64 = rate.sample(&mut rng);
        let p: f64 = dropout.sample(&mut rng);
        let nu: f64 = spend_rate.sample(&mut rng);
        let value = Gamma::new(truth.p, 1.0 / nu).unwrap();
        let first = rng.below(u64::from(acquisition_weeks * 7)) as u32;
        let mut order = |day: f64, rng: &mut Rng| {
            let at = start.add_days(day as i64);
            let amount: f64 = value.sample(rng);
            out.push_str(&format!("c{c},{at},{:.2}\n", amount.max(0.01)));
        };
        order(f64::from(first), &mut rng);
        let mut t = f64::from(first);
        loop {
            t += 7.0 * rng.exponential() / lambda.max(1e-12);
            if t >= end_day {
                break;
            }
            order(t, &mut rng);
            if rng.chance(p) {
                break;
            }
        }
    }
    out
}
