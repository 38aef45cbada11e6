//! The command line: one file per command, this one only dispatches.
//!
//! Exit codes: 0 all good; 1 the input has problems (invalid program,
//! unformatted file); 2 the command could not run (unreadable file, bad
//! arguments).

mod calibrate;
mod check;
mod fmt;
mod member;
mod run;
mod serve;
mod show;
mod simulate;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(
    name = "loyalty",
    version,
    about = "Write, check, run and simulate customer loyalty programs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check program files and report every problem in them.
    Check {
        /// Program files (`*.loy`) or folders that hold them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// `human` (the default) or `json`: one JSON object per line.
        #[arg(long, value_enum, default_value_t = OutputFormat::Human)]
        format: OutputFormat,
    },
    /// Rewrite program files in the canonical layout.
    Fmt {
        /// Files or folders; `-` reads standard input and writes standard output.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; list the files that are not formatted and exit 1.
        #[arg(long)]
        check: bool,
    },
    /// Print a checked program.
    Show {
        file: PathBuf,
        /// Print the program as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a program on customer events (or an orders history), keeping
    /// members and their ledger in an SQLite file.
    Run(run::Args),
    /// Serve a program over HTTP on its ledger, until interrupted: events,
    /// quotes, members and their entries, erasure, metrics and webhooks
    /// (`GET /v1/openapi.json` describes them).
    Serve(serve::Args),
    /// Show one member: balance, tier, memberships, punch cards, expiring
    /// points and recent ledger entries.
    Member {
        id: String,
        #[arg(long)]
        ledger: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Simulate a program's economics on a synthetic customer population:
    /// summary.json, monthly.csv, charts and report.html in --out.
    Simulate(simulate::SimulateArgs),
    /// Simulate two programs on the same customers and random numbers and
    /// compare them metric by metric.
    Compare(simulate::CompareArgs),
    /// Fit the scenario's customers (BG/NBD purchases, Gamma-Gamma spend)
    /// to a real orders history, with a holdout check.
    Calibrate(calibrate::Args),
    /// Combine the folders of `simulate --shard` runs into the outputs of
    /// one whole simulation.
    Merge(simulate::MergeArgs),
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    Human,
    Json,
}

pub fn main() -> ExitCode {
    end_quietly_on_closed_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check { files, format } => check::run(&files, format),
        Command::Fmt { files, check } => fmt::run(&files, check),
        Command::Show { file, json } => show::run(&file, json),
        Command::Run(args) => run::run(args),
        Command::Serve(args) => serve::serve(args),
        Command::Member { id, ledger, json } => member::run(&id, &ledger, json),
        Command::Simulate(args) => simulate::simulate(args),
        Command::Compare(args) => simulate::compare(args),
        Command::Merge(args) => simulate::merge(args),
        Command::Calibrate(args) => calibrate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// A reader that stops early (`loyalty member carol --json | head`) ends
/// the command at once and silently, as it ends `cat`: Rust ignores
/// SIGPIPE, so every later write would fail and `println!` would panic.
/// A run killed this way loses nothing committed, as after any kill.
fn end_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in `main`, before any other thread
    // exists; resetting a signal to its default action has no other
    // effect on the program's memory.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The outcome of a command that ran: whether the input was all good.
fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Files named on the command line, folders expanded to their `*.loy`
/// files in name order.
fn program_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_loy(path, &mut found)?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

fn collect_loy(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read folder {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read folder {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            collect_loy(&path, found)?;
        } else if path.extension().is_some_and(|ext| ext == "loy") {
            found.push(path);
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A program file checked and compiled, or its diagnostics on stderr.
fn load_program(path: &Path, source: &str) -> Option<crate::program::Program> {
    match crate::load(source) {
        Ok(program) => Some(program),
        Err(crate::LoadError(diagnostics)) => {
            eprint!(
                "{}",
                crate::diagnostic::render(&diagnostics, &path.display().to_string(), source)
            );
            None
        }
    }
}

/// Writes beside the file and renames over it, so that a crash leaves
/// either the old file or the new one, never half of one.
pub(crate) fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .map_err(|e| format!("cannot write {}: {e}", temporary.display()))?;
    std::fs::rename(&temporary, path).map_err(|e| format!("cannot replace {}: {e}", path.display()))
}
