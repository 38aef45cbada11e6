//! `loyalty serve FILE --ledger DB [--listen ADDR]`

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use super::{exit, load_program, read};
use crate::ledger::Ledger;
use crate::ledger::postgres::Connection;
use crate::serve::{KEYS_VARIABLE, Keys, Options, Store};

#[derive(clap::Args)]
pub struct Args {
    /// The program file.
    file: PathBuf,
    /// The ledger: an SQLite file, made if missing, whose only writer
    /// `serve` is while it runs; or a PostgreSQL database
    /// (`postgres://USER@HOST/DB`), which several instances share.
    #[arg(long)]
    ledger: PathBuf,
    /// The address and port to listen on. Without API keys, only a
    /// loopback address (127.0.0.1 or ::1).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// API keys, one `read-only:KEY` or `read-write:KEY` a line (also
    /// taken from LOYALTY_API_KEYS, separated by commas).
    #[arg(long)]
    api_keys: Option<PathBuf>,
    /// Seconds between two runs of the scheduled work of every member
    /// (expiry, fees, monthly rewards, tier reviews, birthdays) on the
    /// wall clock; 0 for never. A member's own work also runs before each
    /// of their events.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    tick_every: u64,
    /// Webhooks: a TOML file of `[[webhook]]` tables (`url`, `kinds`,
    /// `secret` or `secret_env`, `name`).
    #[arg(long)]
    webhooks: Option<PathBuf>,
}

pub fn serve(args: Args) -> Result<ExitCode, String> {
    let keys = Keys::load(args.api_keys.as_deref())?;
    // Without keys, anyone who can reach the port could write to the
    // ledger: the designer's own machine only.
    if keys.is_empty() && !args.listen.ip().is_loopback() {
        return Err(format!(
            "without API keys, serve listens on loopback only (127.0.0.1 or ::1), not {}: \
             give keys with --api-keys FILE or {KEYS_VARIABLE}",
            args.listen.ip()
        ));
    }
    let keyed = !keys.is_empty();
    let source = read(&args.file)?;
    let Some(program) = load_program(&args.file, &source) else {
        return Ok(exit(false));
    };
    let webhooks = match &args.webhooks {
        Some(path) => crate::serve::load_webhooks(path)?,
        None => Vec::new(),
    };
    let ledger = args.ledger.to_string_lossy();
    let store = if crate::ledger::postgres::is_address(&ledger) {
        Store::Postgres(Connection::open(&ledger, &program, &source).map_err(|e| e.to_string())?)
    } else {
        Store::Embedded(Ledger::open(&args.ledger).map_err(|e| e.to_string())?)
    };
    let options = Options {
        listen: args.listen,
        keys,
        tick_every: (args.tick_every > 0).then(|| std::time::Duration::from_secs(args.tick_every)),
        webhooks,
    };
    crate::serve::serve(&program, &source, store, options, |bound| {
        // The first line names where to reach the service (the port
        // chosen, for port 0).
        println!("listening on http://{bound}");
        let _ = std::io::stdout().flush();
        if keyed {
            eprintln!("every request but /v1/health needs an API key; Ctrl-C stops it");
        } else {
            eprintln!("loopback only, without API keys; Ctrl-C stops it");
        }
    })?;
    Ok(exit(true))
}
