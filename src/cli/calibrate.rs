//! `loyalty calibrate`: fit a scenario's customers to an orders history.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::calibrate::output::{self, Source};
use crate::calibrate::{self, Options};
use crate::orders::{Columns, read_orders};
use crate::time::Time;

#[derive(clap::Args)]
pub struct Args {
    /// The orders history: a CSV file with a header line and one order
    /// per line (customer, date, amount).
    orders: PathBuf,
    /// The column that names the customer (default: customer, customer_id, ...).
    #[arg(long)]
    customer: Option<String>,
    /// The column with the order's date (default: date, order_date, created_at, ...).
    #[arg(long)]
    date: Option<String>,
    /// The column with the order's amount (default: amount, total, ...).
    #[arg(long)]
    amount: Option<String>,
    /// The last day of the calibration period (YYYY-MM-DD); the orders
    /// after it check the fit (the holdout table).
    #[arg(long, value_parser = parse_day)]
    calibration_end: Option<Time>,
    /// Fit this many segments, split by the value of the first order.
    #[arg(long, default_value_t = 1)]
    segments: usize,
    /// Write the scenario here (and the holdout table beside it as
    /// NAME.holdout.csv); without it the scenario goes to standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn parse_day(text: &str) -> Result<Time, String> {
    crate::time::parse_date(text.as_bytes())
        .map(|(y, m, d)| Time::from_date(y, m, d))
        .ok_or_else(|| format!("`{text}` is not a date like 1997-09-30"))
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let path = &args.orders;
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let columns = Columns {
        customer: args.customer,
        date: args.date,
        amount: args.amount,
    };
    let read = read_orders(BufReader::new(file), &columns).map_err(|e| format!("{name}: {e}"))?;
    if !read.bad_rows.is_empty() {
        eprintln!(
            "warning: {name}: skipped {} of {} rows",
            read.bad_rows.len(),
            read.rows
        );
        for line in read.skipped_summary(5) {
            eprintln!("  {line}");
        }
    }
    let options = Options {
        calibration_end: args.calibration_end,
        segments: args.segments,
    };
    let calibration = match calibrate::calibrate(&read, &options) {
        Ok(calibration) => calibration,
        Err(error) => {
            eprintln!("error: {name}: {error}");
            return Ok(ExitCode::from(1));
        }
    };
    let source = Source {
        file: &name,
        orders: &read,
    };
    let scenario = output::scenario_toml(&calibration, &source);
    let report = output::report(&calibration, &source);
    match &args.out {
        Some(out) => {
            super::write_atomically(out, &scenario)?;
            let mut written = vec![out.display().to_string()];
            if let Some(holdout) = &calibration.holdout {
                let table = out.with_extension("holdout.csv");
                super::write_atomically(&table, &output::holdout_csv(holdout))?;
                written.push(table.display().to_string());
            }
            print!("{report}");
            println!("Wrote {}.", written.join(" and "));
        }
        None => {
            eprint!("{report}");
            print!("{scenario}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
