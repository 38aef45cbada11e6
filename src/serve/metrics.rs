//! Prometheus metrics (`GET /metrics`, the text format): requests by
//! endpoint and status, their latencies, events by outcome, effects by
//! kind. Counted in fixed arrays of atomics, so counting costs a request
//! no lock and no allocation.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::ENDPOINTS;
use crate::engine::EffectKind;
use crate::runner::Summary;

/// The statuses counted apart; any other is counted as `other`.
const STATUSES: &[u16] = &[200, 400, 401, 403, 404, 409, 413, 422, 500, 503];

/// Upper bounds of the latency histogram's buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Routes counted apart: each endpoint, then any other path.
const ROUTES: usize = ENDPOINTS.len() + 1;

pub struct Metrics {
    /// By route and status (the last column: any other status).
    requests: Vec<AtomicU64>,
    /// By route: each bucket's count (the last: above every bound), and
    /// the sum of the latencies in microseconds.
    latency: Vec<AtomicU64>,
    latency_micros: Vec<AtomicU64>,
    /// The engine's counts, published after each group.
    events_applied: AtomicU64,
    events_rejected: AtomicU64,
    events_duplicate: AtomicU64,
    effects: Vec<AtomicU64>,
    members: AtomicU64,
    started: Instant,
}

fn zeros(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            requests: zeros(ROUTES * (STATUSES.len() + 1)),
            latency: zeros(ROUTES * (BUCKETS.len() + 1)),
            latency_micros: zeros(ROUTES),
            events_applied: AtomicU64::new(0),
            events_rejected: AtomicU64::new(0),
            events_duplicate: AtomicU64::new(0),
            effects: zeros(EffectKind::ALL.len()),
            members: AtomicU64::new(0),
            started: Instant::now(),
        }
    }
}

/// The route's place: its endpoint's, or the last for any other path.
fn route_of(path: Option<&str>) -> usize {
    path.and_then(|path| ENDPOINTS.iter().position(|endpoint| endpoint.path == path))
        .unwrap_or(ROUTES - 1)
}

fn route_name(route: usize) -> &'static str {
    ENDPOINTS
        .get(route)
        .map_or("other", |endpoint| endpoint.path)
}

impl Metrics {
    /// Publishes the engine's running counts (the run's summary) and
    /// its number of members.
    pub fn engine(&self, summary: &Summary, members: usize) {
        self.members.store(members as u64, Relaxed);
        self.events_applied.store(summary.applied as u64, Relaxed);
        self.events_rejected
            .store(summary.rejected_count as u64, Relaxed);
        self.events_duplicate
            .store(summary.duplicates as u64, Relaxed);
        for (count, &n) in self.effects.iter().zip(&summary.effects_by_kind) {
            count.store(n, Relaxed);
        }
    }

    /// Counts an event's answer, where events are counted one by one
    /// (on PostgreSQL, where no one engine counts them all).
    pub fn answered(&self, answer: &crate::runner::Answer) {
        let count = match answer.outcome {
            crate::runner::LineOutcome::Applied => &self.events_applied,
            _ => &self.events_rejected,
        };
        count.fetch_add(1, Relaxed);
        for effect in &answer.effects {
            let kind = effect.get("kind").and_then(|kind| kind.as_str());
            if let Some(kind) = kind.and_then(EffectKind::from_name) {
                self.effects[kind as usize].fetch_add(1, Relaxed);
            }
        }
    }

    /// Counts a duplicate, answered as it was the first time.
    pub fn answered_again(&self) {
        self.events_duplicate.fetch_add(1, Relaxed);
    }

    pub fn set_members(&self, members: u64) {
        self.members.store(members, Relaxed);
    }

    fn request(&self, route: usize, status: u16, seconds: f64) {
        let column = STATUSES
            .iter()
            .position(|&s| s == status)
            .unwrap_or(STATUSES.len());
        self.requests[route * (STATUSES.len() + 1) + column].fetch_add(1, Relaxed);
        let bucket = BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS.len());
        self.latency[route * (BUCKETS.len() + 1) + bucket].fetch_add(1, Relaxed);
        self.latency_micros[route].fetch_add((seconds * 1e6) as u64, Relaxed);
    }

    /// The text format Prometheus scrapes.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP loyalty_requests_total HTTP requests answered, by endpoint and status.\n\
             # TYPE loyalty_requests_total counter"
        );
        for route in 0..ROUTES {
            let name = route_name(route);
            for (column, count) in self.requests[route * (STATUSES.len() + 1)..][..=STATUSES.len()]
                .iter()
                .enumerate()
            {
                let n = count.load(Relaxed);
                if n == 0 {
                    continue;
                }
                let status = STATUSES
                    .get(column)
                    .map_or("other".to_string(), u16::to_string);
                let _ = writeln!(
                    out,
                    "loyalty_requests_total{{endpoint=\"{name}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP loyalty_request_seconds Time from a request's arrival to its answer.\n\
             # TYPE loyalty_request_seconds histogram"
        );
        for route in 0..ROUTES {
            let counts = &self.latency[route * (BUCKETS.len() + 1)..][..=BUCKETS.len()];
            let total: u64 = counts.iter().map(|c| c.load(Relaxed)).sum();
            if total == 0 {
                continue;
            }
            let name = route_name(route);
            let mut cumulative = 0;
            for (k, count) in counts.iter().enumerate() {
                cumulative += count.load(Relaxed);
                let bound = BUCKETS.get(k).map_or("+Inf".to_string(), f64::to_string);
                let _ = writeln!(
                    out,
                    "loyalty_request_seconds_bucket{{endpoint=\"{name}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            let sum = self.latency_micros[route].load(Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "loyalty_request_seconds_sum{{endpoint=\"{name}\"}} {sum}\n\
                 loyalty_request_seconds_count{{endpoint=\"{name}\"}} {total}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP loyalty_events_total Events the engine was given, by outcome.\n\
             # TYPE loyalty_events_total counter"
        );
        for (outcome, count) in [
            ("applied", &self.events_applied),
            ("rejected", &self.events_rejected),
            ("duplicate", &self.events_duplicate),
        ] {
            let _ = writeln!(
                out,
                "loyalty_events_total{{outcome=\"{outcome}\"}} {}",
                count.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP loyalty_effects_total Effects of applied events and scheduled work, by kind.\n\
             # TYPE loyalty_effects_total counter"
        );
        for (kind, count) in EffectKind::ALL.iter().zip(&self.effects) {
            let _ = writeln!(
                out,
                "loyalty_effects_total{{kind=\"{}\"}} {}",
                kind.name(),
                count.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP loyalty_members Members in the ledger.\n# TYPE loyalty_members gauge\n\
             loyalty_members {}",
            self.members.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP loyalty_uptime_seconds Seconds since the service started.\n\
             # TYPE loyalty_uptime_seconds gauge\nloyalty_uptime_seconds {}",
            self.started.elapsed().as_secs()
        );
        out
    }
}

/// The middleware that counts every request and times it.
pub async fn count(
    State(metrics): State<std::sync::Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = route_of(
        request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
    );
    let response = next.run(request).await;
    metrics.request(
        route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}
