//! `loyalty run FILE --events EVENTS.jsonl | --orders ORDERS.csv [--ledger DB]
//! [--effects OUT.jsonl] [--rejects OUT.jsonl] [--migrate]`

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{exit, load_program, read};
use crate::engine::Engine;
use crate::ledger::Ledger;
use crate::orders::{Columns, read_orders};
use crate::runner::{Outputs, Runner, Summary};

#[derive(clap::Args)]
pub struct Args {
    /// The program file.
    file: PathBuf,
    /// Events as JSON Lines, in time order; `-` reads standard input.
    #[arg(long, conflicts_with = "orders", required_unless_present = "orders")]
    events: Option<PathBuf>,
    /// An orders history (CSV) to replay: customers enrol at their first order.
    #[arg(long)]
    orders: Option<PathBuf>,
    /// The orders file's customer column (default: customer, customer_id, ...).
    #[arg(long, requires = "orders")]
    customer: Option<String>,
    /// The orders file's date column (default: date, order_date, ...).
    #[arg(long, requires = "orders")]
    date: Option<String>,
    /// The orders file's amount column (default: amount, total, ...).
    #[arg(long, requires = "orders")]
    amount: Option<String>,
    /// The SQLite ledger; made if missing. Without it the run is in memory.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Write every effect as JSON Lines.
    #[arg(long)]
    effects: Option<PathBuf>,
    /// Write every rejected or duplicate event as JSON Lines.
    #[arg(long)]
    rejects: Option<PathBuf>,
    /// Continue a ledger written by another version of the program.
    #[arg(long)]
    migrate: bool,
}

/// An output file, or standard output for `-`.
fn create(path: &Path) -> Result<Box<dyn Write>, String> {
    if path.as_os_str() == "-" {
        return Ok(Box::new(BufWriter::new(io::stdout())));
    }
    File::create(path)
        .map(|file| Box::new(BufWriter::new(file)) as Box<dyn Write>)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

pub fn run(args: Args) -> Result<ExitCode, String> {
    let source = read(&args.file)?;
    let Some(program) = load_program(&args.file, &source) else {
        return Ok(exit(false));
    };
    let mut ledger = match &args.ledger {
        Some(path) => Some(Ledger::open(path).map_err(|e| e.to_string())?),
        None => None,
    };
    let mut engine = match ledger.as_mut() {
        None => Engine::new(&program),
        Some(ledger) => {
            let (engine, migrated) = ledger
                .engine(&program, &source, args.migrate)
                .map_err(|e| e.to_string())?;
            if migrated {
                eprintln!("ledger continues with this version of the program");
            }
            engine
        }
    };

    let mut effects_file = args.effects.as_deref().map(create).transpose()?;
    let mut rejects_file = args.rejects.as_deref().map(create).transpose()?;
    let outputs = Outputs {
        effects: effects_file.as_mut().map(|f| f as &mut dyn Write),
        rejects: rejects_file.as_mut().map(|f| f as &mut dyn Write),
        answers: None,
    };
    let input = args
        .events
        .as_ref()
        .or(args.orders.as_ref())
        .ok_or("give the events to run: `--events EVENTS.jsonl` or `--orders ORDERS.csv`")?;
    let source_name = input.display().to_string();
    let mut runner = Runner::new(&mut engine, ledger.as_mut(), outputs, &source_name);

    if let Some(path) = &args.events {
        if path.as_os_str() == "-" {
            // Standard input may be a live feed: a line is applied as
            // soon as no other is waiting behind it.
            let stdin = BufReader::with_capacity(1 << 20, io::stdin());
            read_events(stdin, true, &mut runner, path)?;
        } else {
            let file =
                File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            read_events(BufReader::new(file), false, &mut runner, path)?;
        }
    } else if let Some(path) = &args.orders {
        let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let columns = Columns {
            customer: args.customer.clone(),
            date: args.date.clone(),
            amount: args.amount.clone(),
        };
        let read = read_orders(BufReader::new(file), &columns).map_err(|e| e.to_string())?;
        for bad in &read.bad_rows {
            runner
                .bad_input(bad.line as usize, &bad.reason(), None)
                .map_err(|e| e.to_string())?;
        }
        for (line, event) in &crate::replay::events(&read) {
            runner.line(*line, event).map_err(|e| e.to_string())?;
        }
    }
    let summary = runner.finish().map_err(|e| e.to_string())?;
    report(&summary, &source_name);
    Ok(exit(summary.rejected_count == 0))
}

/// Feeds the runner the input's lines. A `live` input's lines are applied
/// (and committed, and their effects written out) whenever none is left
/// waiting in the buffer, so a producer that sends one line and waits
/// gets its answer; lines that come together are still applied together.
fn read_events<R: io::Read>(
    mut reader: BufReader<R>,
    live: bool,
    runner: &mut Runner,
    path: &Path,
) -> Result<(), String> {
    let mut line = Vec::new();
    for number in 1.. {
        line.clear();
        let read = (reader.read_until(b'\n', &mut line))
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if read == 0 {
            break;
        }
        runner.raw_line(number, &line).map_err(|e| e.to_string())?;
        if live && reader.buffer().is_empty() && !stdin_waiting() {
            runner.deliver().map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Whether more of standard input can be read at once, without waiting:
/// a feed piped in bulk keeps its batches, and only a line with nothing
/// behind it is delivered alone.
fn stdin_waiting() -> bool {
    #[cfg(unix)]
    {
        let mut stdin = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid `pollfd` for the length of the call, which
        // returns at once (a timeout of 0).
        unsafe { libc::poll(&mut stdin, 1, 0) > 0 }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

/// The summary on stderr: counts, then each rejected line.
fn report(summary: &Summary, source: &str) {
    let mut err = io::stderr().lock();
    let _ = writeln!(
        err,
        "{source}: applied {} events ({} effects), {} duplicates skipped, {} rejected",
        summary.applied, summary.effects, summary.duplicates, summary.rejected_count
    );
    const SHOWN: usize = 20;
    for rejected in summary.rejected.iter().take(SHOWN) {
        let id = rejected
            .id
            .as_deref()
            .map(|id| format!(" (event `{id}`)"))
            .unwrap_or_default();
        let _ = writeln!(err, "  line {}{id}: {}", rejected.line, rejected.reason);
    }
    if summary.rejected_count > SHOWN {
        let _ = writeln!(
            err,
            "  ... and {} more (all in `--rejects FILE`)",
            summary.rejected_count - SHOWN
        );
    }
}
