//! Who may use the API: API keys, each read-only or read-write, from
//! `--api-keys FILE` or `LOYALTY_API_KEYS`. A request shows its key as
//! `Authorization: Bearer KEY`. Without keys, `serve` listens on loopback
//! only (the designer's own machine) and asks for none.

use std::path::Path;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::fail;

/// What a key allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// The keys the service accepts; empty when none are configured.
#[derive(Clone, Debug, Default)]
pub struct Keys(Vec<(String, Access)>);

/// The shortest key accepted: a guessable key is no key.
const MIN_KEY_LENGTH: usize = 16;

/// The variable that may hold keys, in the file's format with entries
/// separated by commas.
pub const KEYS_VARIABLE: &str = "LOYALTY_API_KEYS";

impl Keys {
    /// The keys of `--api-keys FILE`, then those of [`KEYS_VARIABLE`].
    pub fn load(file: Option<&Path>) -> Result<Keys, String> {
        let mut keys = Keys::default();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the API keys {}: {e}", path.display()))?;
            for (n, line) in text.lines().enumerate() {
                keys.add(line)
                    .map_err(|e| format!("{}:{}: {e}", path.display(), n + 1))?;
            }
        }
        if let Ok(text) = std::env::var(KEYS_VARIABLE) {
            for entry in text.split(',') {
                keys.add(entry)
                    .map_err(|e| format!("{KEYS_VARIABLE}: {e}"))?;
            }
        }
        Ok(keys)
    }

    /// One entry, `read-only:KEY` or `read-write:KEY`; blank lines and
    /// `#` comments are skipped.
    fn add(&mut self, entry: &str) -> Result<(), String> {
        let entry = entry.split('#').next().unwrap_or("").trim();
        if entry.is_empty() {
            return Ok(());
        }
        let (access, key) = entry
            .split_once(':')
            .ok_or_else(|| "expected `read-only:KEY` or `read-write:KEY`".to_string())?;
        let access = match access.trim() {
            "read-only" => Access::ReadOnly,
            "read-write" => Access::ReadWrite,
            other => {
                return Err(format!(
                    "`{other}` is no access: expected `read-only` or `read-write`"
                ));
            }
        };
        let key = key.trim();
        if key.len() < MIN_KEY_LENGTH || !key.chars().all(|c| c.is_ascii_graphic()) {
            return Err(format!(
                "a key must be at least {MIN_KEY_LENGTH} printable characters without spaces"
            ));
        }
        self.0.push((key.to_string(), access));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// What the key allows, if it is one of them. Every key is compared
    /// in full, so the time taken tells nothing of how near a guess came.
    fn access(&self, presented: &str) -> Option<Access> {
        let mut found = None;
        for (key, access) in &self.0 {
            let same = key.len() == presented.len()
                && key
                    .bytes()
                    .zip(presented.bytes())
                    .fold(0, |differ, (a, b)| differ | (a ^ b))
                    == 0;
            if same {
                found = Some(*access);
            }
        }
        found
    }
}

/// What a request needs: reading, or writing the ledger. A quote reads.
fn needed(method: &Method, path: &str) -> Access {
    if method == Method::GET || method == Method::HEAD || path == "/v1/quote" {
        Access::ReadOnly
    } else {
        Access::ReadWrite
    }
}

/// The middleware: with keys configured, every request but the health
/// check shows one that allows what it asks (401 without a valid key, 403
/// for a read-only key that writes).
pub async fn check(State(keys): State<Keys>, request: Request, next: Next) -> Response {
    if keys.is_empty() || request.uri().path() == "/v1/health" {
        return next.run(request).await;
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    let Some(access) = presented.and_then(|key| keys.access(key.trim())) else {
        let mut response = fail(
            StatusCode::UNAUTHORIZED,
            "send a valid API key: `Authorization: Bearer KEY`",
        )
        .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Bearer"),
        );
        return response;
    };
    if access < needed(request.method(), request.uri().path()) {
        return fail(StatusCode::FORBIDDEN, "this API key is read-only").into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_read_with_their_access_and_bad_entries_are_named() {
        let mut keys = Keys::default();
        keys.add("read-write:0123456789abcdef # the till").unwrap();
        keys.add("  read-only : fedcba9876543210").unwrap();
        keys.add("# a comment").unwrap();
        keys.add("").unwrap();
        assert_eq!(keys.access("0123456789abcdef"), Some(Access::ReadWrite));
        assert_eq!(keys.access("fedcba9876543210"), Some(Access::ReadOnly));
        assert_eq!(keys.access("0123456789abcdeX"), None);
        assert_eq!(keys.access("0123456789abcde"), None);
        assert_eq!(
            keys.add("admin:0123456789abcdef").unwrap_err(),
            "`admin` is no access: expected `read-only` or `read-write`"
        );
        assert_eq!(
            keys.add("read-only:short").unwrap_err(),
            "a key must be at least 16 printable characters without spaces"
        );
        assert_eq!(
            keys.add("0123456789abcdef").unwrap_err(),
            "expected `read-only:KEY` or `read-write:KEY`"
        );
    }
}
