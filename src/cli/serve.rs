//! `loyalty serve FILE --ledger DB [--listen ADDR]`

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{exit, load_program, read};
use crate::ledger::Ledger;

#[derive(clap::Args)]
pub struct Args {
    /// The program file.
    file: PathBuf,
    /// The SQLite ledger; made if missing. `serve` is its only writer
    /// while it runs.
    #[arg(long)]
    ledger: PathBuf,
    /// The address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

pub fn serve(args: Args) -> Result<ExitCode, String> {
    // Without API keys, which are still to come, anyone who can reach
    // the port could write to the ledger: loopback only.
    if !args.listen.ip().is_loopback() {
        return Err(format!(
            "serve takes no API keys yet, so it listens on loopback only (127.0.0.1 or ::1), \
             not {}",
            args.listen.ip()
        ));
    }
    let source = read(&args.file)?;
    let Some(program) = load_program(&args.file, &source) else {
        return Ok(exit(false));
    };
    let ledger = Ledger::open(&args.ledger).map_err(|e| e.to_string())?;
    crate::serve::serve(&program, &source, ledger, args.listen, |bound| {
        // The first line names where to reach the service (the port
        // chosen, for port 0).
        println!("listening on http://{bound}");
        let _ = std::io::stdout().flush();
        eprintln!("loopback only, without API keys; Ctrl-C stops it");
    })?;
    Ok(exit(true))
}
