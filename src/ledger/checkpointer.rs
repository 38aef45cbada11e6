//! Checkpoints on a thread of their own. A checkpoint copies the
//! write-ahead log into the ledger file; SQLite runs one inside a commit
//! once the log is long, and that commit then waits for it (a pause of
//! many milliseconds). A service whose answers wait for their commit
//! runs them here instead, beside the writer: a passive checkpoint never
//! holds the writer up.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;

/// How often the log is copied into the file.
const EVERY: Duration = Duration::from_millis(500);

pub struct Checkpointer {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    pub fn start(path: &Path) -> rusqlite::Result<Checkpointer> {
        let conn = Connection::open(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
                // A checkpoint that cannot finish now (a reader is on
                // the log) finishes at a later one; nothing is lost.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        });
        Ok(Checkpointer {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
