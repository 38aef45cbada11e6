//! Calibrate: fit the scenario's customers to a brand's own orders
//! history, so that a simulation starts from how its real customers buy.
//!
//! ```text
//! orders.csv ──orders::read_orders──▶ orders ──history──▶ customers (x, t_x, T, z̄)
//!   ──bgnbd / gamma_gamma, optimize──▶ fitted segments ──output──▶ scenario TOML, holdout table
//! ```
//!
//! Purchases are fitted by BG/NBD and order values by Gamma-Gamma, both
//! by maximum likelihood, the way Fader, Hardie & Lee fitted CDNOW; with
//! `--calibration-end` the orders after it check the fit (the holdout).

pub mod bgnbd;
pub mod gamma_gamma;
pub mod history;
pub mod optimize;
pub mod output;
pub mod special;

use thiserror::Error;

use crate::orders::{DateOrder, Orders};
use crate::time::Time;
use bgnbd::{BgNbd, PurchaseData};
use gamma_gamma::{GammaGamma, SpendData};
use history::{Customer, History};

/// A segment needs at least this many customers who came back: fewer
/// cannot tell the models' parameters apart.
pub const MIN_REPEAT_CUSTOMERS: usize = 10;

/// The largest number of segments; each needs customers enough.
pub const MAX_SEGMENTS: usize = 10;

/// Holdout rows: customers by their repeat purchases in the calibration
/// period, 0 to 6 and 7 or more, as in the papers.
pub const FREQUENCY_BUCKETS: usize = 8;

#[derive(Clone, Debug)]
pub struct Options {
    /// The last day of the calibration period; later orders are the
    /// holdout. `None`: every order calibrates and there is no holdout.
    pub calibration_end: Option<Time>,
    /// Segments by the value of the first order (1: everyone together).
    pub segments: usize,
}

#[derive(Debug, Error, PartialEq)]
pub enum CalibrateError {
    #[error("the orders file has no usable orders: all {rows} rows were skipped")]
    NoOrders { rows: usize },
    #[error("the calibration period ends on {end}, before the first order on {first}")]
    EndBeforeFirstOrder { end: Time, first: Time },
    #[error(
        "every one of the {customers} customers made a single transaction (orders on one day) in the calibration period; \
         the purchase and spend models need customers who come back: give a longer history"
    )]
    NoRepeatCustomers { customers: usize },
    #[error(
        "{segment}: {repeat} customers came back with orders of some value, too few to fit (at least {MIN_REPEAT_CUSTOMERS}); \
         ask for fewer segments or give a longer history"
    )]
    TooFewRepeatCustomers { segment: String, repeat: usize },
    #[error("--segments must be from 1 to {MAX_SEGMENTS}, not {0}")]
    Segments(usize),
}

/// A model's fitted parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    pub names: &'static [&'static str],
    pub values: Vec<f64>,
    /// From the inverse Hessian of the log-likelihood; `None` when it is
    /// not invertible (a flat likelihood).
    pub errors: Option<Vec<f64>>,
    pub log_likelihood: f64,
    /// Customers the model was fitted on.
    pub customers: usize,
    pub converged: bool,
}

/// The customers of one segment and their two models.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentFit {
    pub name: String,
    pub share: f64,
    pub customers: usize,
    pub purchase: Estimate,
    pub spend: Estimate,
    /// The segment's first purchases by day from the history's first
    /// day: the scenario's arrivals, which replay the cohort.
    pub arrivals: Vec<u32>,
}

impl SegmentFit {
    pub fn bgnbd(&self) -> BgNbd {
        BgNbd::from_slice(&self.purchase.values)
    }

    pub fn gamma_gamma(&self) -> GammaGamma {
        GammaGamma::from_slice(&self.spend.values)
    }
}

/// Predicted against actual repeat transactions in the holdout period
/// for the customers with `frequency` repeat transactions in the
/// calibration period (the last row: that many or more).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HoldoutRow {
    pub frequency: usize,
    pub customers: usize,
    pub actual: f64,
    pub predicted: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Holdout {
    pub weeks: f64,
    pub rows: Vec<HoldoutRow>,
    /// The spend model's check: for the customers who came back in both
    /// periods, the mean of their expected order values (given their
    /// repeat orders in the calibration period) against the mean value
    /// of their holdout transactions.
    pub spend: SpendCheck,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SpendCheck {
    pub customers: usize,
    pub predicted: f64,
    pub actual: f64,
}

impl Holdout {
    pub fn actual(&self) -> f64 {
        self.rows.iter().map(|r| r.actual).sum()
    }

    pub fn predicted(&self) -> f64 {
        self.rows.iter().map(|r| r.predicted).sum()
    }
}

/// Everything `calibrate` found.
#[derive(Clone, Debug)]
pub struct Calibration {
    pub history: History,
    pub segments: Vec<SegmentFit>,
    pub holdout: Option<Holdout>,
    /// Customers who came back but whose repeat orders are all worth 0:
    /// the spend model cannot use them.
    pub zero_value_repeaters: usize,
    /// How dates like 03/04/1997 were read.
    pub slashed_dates: Option<DateOrder>,
}

pub fn calibrate(orders: &Orders, options: &Options) -> Result<Calibration, CalibrateError> {
    let segments = options.segments;
    if !(1..=MAX_SEGMENTS).contains(&segments) {
        return Err(CalibrateError::Segments(segments));
    }
    if orders.orders.is_empty() {
        return Err(CalibrateError::NoOrders { rows: orders.rows });
    }
    let history = history::history(&orders.orders, options.calibration_end);
    if history.calibration_end < history.first_day {
        return Err(CalibrateError::EndBeforeFirstOrder {
            end: history.calibration_end,
            first: history.first_day,
        });
    }
    let repeat = history.customers.iter().filter(|c| c.rfm.x > 0).count();
    if repeat == 0 {
        return Err(CalibrateError::NoRepeatCustomers {
            customers: history.customers.len(),
        });
    }

    let groups = split_by_first_order(&history.customers, segments);
    let total = history.customers.len() as f64;
    let mut fits = Vec::new();
    for (name, members) in &groups {
        fits.push(fit_segment(name, members, members.len() as f64 / total)?);
    }
    let holdout = (options.calibration_end.is_some() && history.holdout_weeks() > 0.0).then(|| {
        let weeks = history.holdout_weeks();
        let mut rows: Vec<HoldoutRow> = (0..FREQUENCY_BUCKETS)
            .map(|frequency| HoldoutRow {
                frequency,
                customers: 0,
                actual: 0.0,
                predicted: 0.0,
            })
            .collect();
        let mut spend = SpendCheck::default();
        for ((_, members), fit) in groups.iter().zip(&fits) {
            let (purchases, values) = (fit.bgnbd(), fit.gamma_gamma());
            for customer in members {
                let row = &mut rows[(customer.rfm.x as usize).min(FREQUENCY_BUCKETS - 1)];
                row.customers += 1;
                row.actual += f64::from(customer.holdout);
                row.predicted += purchases.expected_purchases(customer.rfm, weeks);
                if let Some(mean) = customer.mean_repeat_value()
                    && mean > 0.0
                    && customer.holdout > 0
                {
                    spend.customers += 1;
                    spend.predicted += values.expected_order_value(customer.rfm.x, mean);
                    spend.actual += customer.holdout_value / f64::from(customer.holdout);
                }
            }
        }
        if spend.customers > 0 {
            spend.predicted /= spend.customers as f64;
            spend.actual /= spend.customers as f64;
        }
        Holdout { weeks, rows, spend }
    });
    let zero_value_repeaters = history
        .customers
        .iter()
        .filter(|c| c.rfm.x > 0 && c.repeat_value <= 0.0)
        .count();
    Ok(Calibration {
        history,
        segments: fits,
        holdout,
        zero_value_repeaters,
        slashed_dates: orders.slashed_dates,
    })
}

/// Customers split into `n` groups of about equal size by the value of
/// their first transaction, which is known when they arrive, does not
/// depend on how often they come back (so it does not bias the purchase
/// fit) and separates big spenders from small ones. Equal values stay
/// together, so a group's name is true of all its customers.
fn split_by_first_order(customers: &[Customer], n: usize) -> Vec<(String, Vec<Customer>)> {
    if n == 1 {
        return vec![("everyone".to_string(), customers.to_vec())];
    }
    let mut sorted = customers.to_vec();
    sorted.sort_by(|a, b| a.first_value.total_cmp(&b.first_value));
    // Bounds: the first values at the quantiles k/n, without repeats.
    let mut bounds: Vec<f64> = (1..n)
        .map(|k| sorted[k * sorted.len() / n].first_value)
        .collect();
    bounds.dedup();
    bounds.retain(|&b| b > sorted[0].first_value);
    let mut groups: Vec<(String, Vec<Customer>)> = Vec::new();
    let mut rest = sorted.as_slice();
    for (i, &upper) in bounds.iter().enumerate() {
        let cut = rest.partition_point(|c| c.first_value < upper);
        let name = match i {
            0 => format!("first order under {upper:.2}"),
            _ => format!("first order from {:.2} to under {upper:.2}", bounds[i - 1]),
        };
        groups.push((name, rest[..cut].to_vec()));
        rest = &rest[cut..];
    }
    let last = bounds.last().copied().unwrap_or(0.0);
    groups.push((format!("first order {last:.2} or more"), rest.to_vec()));
    groups
}

fn fit_segment(
    name: &str,
    customers: &[Customer],
    share: f64,
) -> Result<SegmentFit, CalibrateError> {
    let spend: Vec<(u32, f64)> = customers
        .iter()
        .filter_map(|c| Some((c.rfm.x, c.mean_repeat_value()?)))
        .filter(|&(_, z)| z > 0.0)
        .collect();
    if spend.len() < MIN_REPEAT_CUSTOMERS {
        return Err(CalibrateError::TooFewRepeatCustomers {
            segment: if name == "everyone" {
                "the orders".into()
            } else {
                format!("segment \"{name}\"")
            },
            repeat: spend.len(),
        });
    }
    let rfms: Vec<_> = customers.iter().map(|c| c.rfm).collect();
    let purchases = PurchaseData::new(&rfms);
    let rate = if purchases.rate > 0.0 {
        purchases.rate
    } else {
        1.0
    };
    let purchase = fit(
        &BgNbd::NAMES,
        &[1.0, 1.0 / rate, 1.0, 1.0],
        purchases.customers,
        |theta| purchases.log_likelihood(&BgNbd::from_slice(theta)),
    );
    let values = SpendData::new(&spend);
    let spend = fit(
        &GammaGamma::NAMES,
        &[1.0, 2.0, values.mean_value],
        values.len(),
        |theta| values.log_likelihood(&GammaGamma::from_slice(theta)),
    );
    let mut arrivals = Vec::new();
    for customer in customers {
        let day = customer.arrived as usize;
        if arrivals.len() <= day {
            arrivals.resize(day + 1, 0);
        }
        arrivals[day] += 1;
    }
    Ok(SegmentFit {
        name: name.to_string(),
        share,
        customers: customers.len(),
        arrivals,
        purchase,
        spend,
    })
}

/// Maximum likelihood over positive parameters: Nelder-Mead on their
/// logarithms, then standard errors on the parameters themselves.
fn fit(
    names: &'static [&'static str],
    start: &[f64],
    customers: usize,
    log_likelihood: impl Fn(&[f64]) -> f64,
) -> Estimate {
    let n = start.len();
    let mut theta = vec![0.0; n];
    let negative_in_logs = |u: &[f64]| {
        for (t, u) in theta.iter_mut().zip(u) {
            *t = u.exp();
        }
        -log_likelihood(&theta)
    };
    let logs: Vec<f64> = start.iter().map(|s| s.ln()).collect();
    let found = optimize::minimize(negative_in_logs, &logs, 20_000 * n);
    let values: Vec<f64> = found.point.iter().map(|u| u.exp()).collect();
    let negative = |t: &[f64]| {
        if t.iter().all(|&t| t > 0.0) {
            -log_likelihood(t)
        } else {
            f64::NAN
        }
    };
    Estimate {
        names,
        errors: optimize::standard_errors(negative, &values),
        log_likelihood: -found.value,
        values,
        customers,
        converged: found.converged,
    }
}
