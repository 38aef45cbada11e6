//! What `calibrate` writes: the scenario (TOML that `simulate` reads as
//! is, with a comment block saying where it came from and how well it
//! fits), the fit report and the holdout table (text and CSV).

use std::fmt::Write;

use super::{Calibration, Estimate, FREQUENCY_BUCKETS, Holdout};
use crate::orders::{DateOrder, Orders};

/// Where the orders came from, for the comment block.
pub struct Source<'a> {
    /// The orders file as named on the command line.
    pub file: &'a str,
    pub orders: &'a Orders,
}

/// `x` to `digits` significant digits, without a needless exponent.
pub fn significant(x: f64, digits: usize) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    format!("{x:.decimals$}")
}

/// 12,345 for counts in sentences.
fn count(n: usize) -> String {
    crate::decimal::count_text(n as i64)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", count(n), if n == 1 { one } else { many })
}

/// `r 0.2426 ± 0.0127, alpha 4.414 ± 0.378`.
fn parameters(estimate: &Estimate) -> String {
    let mut parts = Vec::new();
    for (i, name) in estimate.names.iter().enumerate() {
        let value = significant(estimate.values[i], 4);
        match &estimate.errors {
            Some(errors) => parts.push(format!("{name} {value} ± {}", significant(errors[i], 3))),
            None => parts.push(format!("{name} {value}")),
        }
    }
    let mut text = parts.join(", ");
    if estimate.errors.is_none() {
        text.push_str(" (no standard errors: the likelihood is flat there)");
    }
    if !estimate.converged {
        text.push_str(" (the search stopped before converging)");
    }
    text
}

/// The lines describing the data and the fit, shared by the report and
/// the scenario's comment block.
fn summary(calibration: &Calibration, source: &Source) -> Vec<String> {
    let h = &calibration.history;
    let read = source.orders;
    let mut lines = vec![format!(
        "Data: {}, {}: {} used, {} skipped.",
        source.file,
        plural(read.rows, "row", "rows"),
        count(read.orders.len()),
        count(read.bad_rows.len()),
    )];
    lines.push(format!(
        "Calibration period: {} to {}; {} made their first purchase in it.",
        h.first_day,
        h.calibration_end,
        plural(h.customers.len(), "customer", "customers"),
    ));
    if h.new_in_holdout > 0 {
        lines.push(format!(
            "Left out: {} whose first purchase is after the calibration period.",
            plural(h.new_in_holdout, "customer", "customers"),
        ));
    }
    lines.push(format!(
        "Orders of a customer on one day count as one transaction; {} came back, {} bought once.",
        count(h.customers.iter().filter(|c| c.rfm.x > 0).count()),
        count(h.customers.iter().filter(|c| c.rfm.x == 0).count()),
    ));
    if calibration.zero_value_repeaters > 0 {
        lines.push(format!(
            "The spend model leaves out {} whose repeat orders are all worth 0.",
            plural(calibration.zero_value_repeaters, "customer", "customers"),
        ));
    }
    if let Some(order) = calibration.slashed_dates {
        lines.push(match order {
            DateOrder::DayFirst => {
                "Dates like 03/04 were read day first (the file has dates like 25/04).".into()
            }
            DateOrder::MonthFirst => {
                "Dates like 03/04 were read month first (the file has dates like 04/25).".into()
            }
            DateOrder::MonthFirstAssumed => {
                "Dates like 03/04 were read month first (US); nothing in the file decides: \
                 write ISO dates (1997-04-03) to be sure."
                    .into()
            }
        });
    }
    for segment in &calibration.segments {
        let prefix = if calibration.segments.len() > 1 {
            format!(
                "Segment \"{}\" ({}): ",
                segment.name,
                plural(segment.customers, "customer", "customers")
            )
        } else {
            String::new()
        };
        lines.push(format!(
            "{prefix}BG/NBD (weeks) on {}: log-likelihood {:.2}; {}.",
            plural(segment.purchase.customers, "customer", "customers"),
            segment.purchase.log_likelihood,
            parameters(&segment.purchase),
        ));
        lines.push(format!(
            "{prefix}Gamma-Gamma on the repeat orders of {}: log-likelihood {:.2}; {}; mean order value {:.2}.",
            plural(segment.spend.customers, "customer", "customers"),
            segment.spend.log_likelihood,
            parameters(&segment.spend),
            segment.gamma_gamma().mean_order_value(),
        ));
    }
    if let Some(holdout) = &calibration.holdout {
        let (actual, predicted) = (holdout.actual(), holdout.predicted());
        lines.push(format!(
            "Holdout: {} to {} ({:.1} weeks): {:.1} repeat transactions predicted, {} happened ({:+.1}%).",
            h.calibration_end.add_days(1),
            h.last_day,
            holdout.weeks,
            predicted,
            actual,
            (predicted - actual) / actual.max(1.0) * 100.0,
        ));
        let spend = holdout.spend;
        if spend.customers > 0 {
            lines.push(format!(
                "Holdout order value of the {} who came back in both periods: {:.2} expected, {:.2} on average ({:+.1}%).",
                plural(spend.customers, "customer", "customers"),
                spend.predicted,
                spend.actual,
                (spend.predicted - spend.actual) / spend.actual * 100.0,
            ));
        }
    }
    lines
}

/// The scenario file: a comment block, then one `[[segment]]` per
/// segment. The behaviour and simulation settings keep their defaults.
pub fn scenario_toml(calibration: &Calibration, source: &Source) -> String {
    let mut out = String::new();
    out.push_str("# Customers fitted by `loyalty calibrate` to a real orders history.\n#\n");
    for line in summary(calibration, source) {
        let _ = writeln!(out, "# {line}");
    }
    out.push_str(
        "#\n# Use it with `loyalty simulate PROGRAM.loy --scenario THIS_FILE`. The customers'\n\
         # purchases and spend are fitted, and they arrive as they did; every other setting keeps\n\
         # its default (README, \"Scenario\").\n",
    );
    let _ = write!(
        out,
        "\n[simulation]\n# The cohort as it was acquired: no one at the start, and each segment's\n\
         # customers arriving on the days of their first purchases.\nstart = \"{}\"\ncustomers = 0\n",
        calibration.history.first_day
    );
    // Shares are written to 6 decimals and the last takes the rest, so
    // that they add up to 1 as `simulate` requires.
    let mut shares: Vec<f64> = calibration
        .segments
        .iter()
        .map(|s| (s.share * 1e6).round() / 1e6)
        .collect();
    if let Some(last) = shares.len().checked_sub(1) {
        let others: f64 = shares[..last].iter().sum();
        shares[last] = ((1.0 - others) * 1e6).round() / 1e6;
    }
    for (segment, share) in calibration.segments.iter().zip(shares) {
        let _ = write!(
            out,
            "\n[[segment]]\nname = {}\nshare = {share}\n",
            toml::Value::String(segment.name.clone()),
        );
        let _ = writeln!(out, "# BG/NBD: {}", parameters(&segment.purchase));
        let _ = writeln!(
            out,
            "purchase = {}",
            inline_table(&segment.purchase, ", unit = \"week\"")
        );
        let _ = writeln!(out, "# Gamma-Gamma: {}", parameters(&segment.spend));
        let _ = writeln!(out, "spend = {}", inline_table(&segment.spend, ""));
        let _ = writeln!(
            out,
            "\n[segment.arrivals]\n# First purchases on each day from {}.\nby_day = [",
            calibration.history.first_day
        );
        for days in segment.arrivals.chunks(20) {
            let counts: Vec<String> = days.iter().map(u32::to_string).collect();
            let _ = writeln!(out, "  {},", counts.join(", "));
        }
        out.push_str("]\n");
    }
    out
}

/// `{ r = 0.242595, alpha = 4.41360, ... }`: the fitted values to six
/// significant digits, under the names the scenario reads.
fn inline_table(estimate: &Estimate, rest: &str) -> String {
    let values: Vec<String> = estimate
        .names
        .iter()
        .zip(&estimate.values)
        .map(|(name, value)| format!("{name} = {}", significant(*value, 6)))
        .collect();
    format!("{{ {}{rest} }}", values.join(", "))
}

fn bucket(frequency: usize) -> String {
    if frequency + 1 == FREQUENCY_BUCKETS {
        format!("{frequency}+")
    } else {
        frequency.to_string()
    }
}

/// The report printed after a fit: the summary lines and, with a
/// holdout, the table of predicted against actual repeat transactions.
pub fn report(calibration: &Calibration, source: &Source) -> String {
    let mut out = String::new();
    for line in summary(calibration, source) {
        let _ = writeln!(out, "{line}");
    }
    if let Some(holdout) = &calibration.holdout {
        out.push('\n');
        out.push_str(&holdout_table(holdout));
    }
    out
}

/// Repeat transactions in the holdout per customer, by repeat
/// transactions in the calibration period (FHL 2005, figure 4).
pub fn holdout_table(holdout: &Holdout) -> String {
    let mut out = format!(
        "Repeat transactions in the {:.1}-week holdout, per customer, by repeat transactions in the calibration period:\n",
        holdout.weeks
    );
    let _ = writeln!(
        out,
        "{:>11} {:>10} {:>8} {:>10}",
        "calibration", "customers", "actual", "predicted"
    );
    for row in &holdout.rows {
        let n = row.customers.max(1) as f64;
        let _ = writeln!(
            out,
            "{:>11} {:>10} {:>8.3} {:>10.3}",
            bucket(row.frequency),
            count(row.customers),
            row.actual / n,
            row.predicted / n
        );
    }
    let customers: usize = holdout.rows.iter().map(|r| r.customers).sum();
    let n = customers.max(1) as f64;
    let _ = writeln!(
        out,
        "{:>11} {:>10} {:>8.3} {:>10.3}",
        "all",
        count(customers),
        holdout.actual() / n,
        holdout.predicted() / n
    );
    let _ = writeln!(
        out,
        "{:>11} {:>10} {:>8} {:>10.1}",
        "total",
        "",
        holdout.actual(),
        holdout.predicted()
    );
    out
}

/// The holdout table as CSV: one row per bucket and one for everyone.
pub fn holdout_csv(holdout: &Holdout) -> String {
    let mut out = String::from(
        "calibration_repeat_transactions,customers,actual,predicted,actual_per_customer,predicted_per_customer\n",
    );
    let mut line = |label: String, customers: usize, actual: f64, predicted: f64| {
        let n = customers.max(1) as f64;
        let _ = writeln!(
            out,
            "{label},{customers},{actual},{predicted:.3},{:.4},{:.4}",
            actual / n,
            predicted / n
        );
    };
    for row in &holdout.rows {
        line(
            bucket(row.frequency),
            row.customers,
            row.actual,
            row.predicted,
        );
    }
    let customers = holdout.rows.iter().map(|r| r.customers).sum();
    line(
        "all".into(),
        customers,
        holdout.actual(),
        holdout.predicted(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.242594123, 6), "0.242594");
        assert_eq!(significant(4.41359, 4), "4.414");
        assert_eq!(significant(15.44354, 6), "15.4435");
        assert_eq!(significant(1234567.0, 3), "1234567");
        assert_eq!(significant(0.0, 3), "0");
    }
}
