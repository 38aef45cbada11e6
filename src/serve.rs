//! `loyalty serve`: the engine behind an HTTP/JSON API, on the embedded
//! ledger.
//!
//! One thread owns the engine and the ledger, as `run` does, and does all
//! of their work; the HTTP side only hands it jobs and waits for the
//! answers. Events that arrive while it is busy are applied together and
//! committed once (a group commit), and each request is answered only
//! once its events are durable. Exactly once per event id, the log and
//! every effect with its reason are `run`'s own ([`crate::runner`]).

use std::cell::RefCell;
use std::io::Write;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::mpsc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::engine::{Engine, summary};
use crate::ledger::Ledger;
use crate::program::Program;
use crate::runner::{Outputs, Runner};

/// Events applied between two member snapshots under steady load: a
/// restart replays at most this many from the log (about a second's
/// work). Writing one holds up the answers of that moment, so it is
/// rare under load and otherwise waits for a quiet moment
/// ([`QUIET_SNAPSHOT`]).
const SNAPSHOT_EVERY: usize = 1_000_000;

/// How long without a request before the members changed since the last
/// snapshot are written.
const QUIET_SNAPSHOT: std::time::Duration = std::time::Duration::from_secs(2);

/// The most events one request may carry.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;

/// What the HTTP side asks of the engine's thread.
enum Job {
    /// Event lines, in the README's event format, to apply in order.
    Events {
        lines: Vec<String>,
        reply: oneshot::Sender<Result<Vec<Value>, String>>,
    },
    /// What `member --json` shows of one member, if there is one.
    Member {
        id: String,
        reply: oneshot::Sender<Option<Value>>,
    },
}

/// The service's shared part: where jobs go, and the program's
/// description.
#[derive(Clone)]
struct Service {
    jobs: mpsc::Sender<Job>,
    program: Value,
}

/// A writer whose bytes the engine's thread reads back after each group
/// of events: the runner writes effects and rejects as JSON lines.
#[derive(Clone, Default)]
struct Captured(Rc<RefCell<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serves the program on `listen` until interrupted (Ctrl-C or SIGTERM),
/// then writes the member snapshot and closes the ledger. `ready` hears
/// the address bound (the port chosen, for port 0).
pub fn serve(
    program: &Program,
    source: &str,
    mut ledger: Ledger,
    listen: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let (engine, _) = ledger
        .engine(program, source, false)
        .map_err(|e| e.to_string())?;
    let (jobs, inbox) = mpsc::channel();
    let service = Service {
        jobs,
        program: json!({
            "name": program.name,
            "source": source,
        }),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    std::thread::scope(|scope| {
        let engine_thread = scope.spawn(move || engine_loop(engine, ledger, inbox));
        let served = runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let bound = listener
                .local_addr()
                .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            ready(bound);
            axum::serve(listener, routes(service))
                .with_graceful_shutdown(stopped())
                .await
                .map_err(|e| format!("the server stopped: {e}"))
        });
        // The routes, and with them every sender of jobs, are gone: the
        // engine's thread ends its loop and writes the snapshot.
        let finished = engine_thread
            .join()
            .unwrap_or_else(|_| Err("the engine's thread failed".into()));
        served.and(finished)
    })
}

/// Every endpoint: its method, path and what it does, for the OpenAPI
/// document; `routes` serves each, and a test asks the server for each.
pub const ENDPOINTS: &[(&str, &str, &str)] = &[
    ("get", "/v1/health", "Whether the service is up."),
    ("get", "/v1/program", "The program's name and source."),
    ("get", "/v1/openapi.json", "This document."),
    (
        "post",
        "/v1/events",
        "Applies one event (an object) or several (an array); each answer \
         (id, outcome, effects, reason) comes once the events are committed.",
    ),
    (
        "get",
        "/v1/members/{id}",
        "What `loyalty member --json` shows of the member.",
    ),
];

fn routes(service: Service) -> Router {
    Router::new()
        .route(
            "/v1/health",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/v1/program", get(program_info))
        .route("/v1/openapi.json", get(|| async { Json(openapi()) }))
        .route("/v1/events", post(events))
        .route("/v1/members/{id}", get(member))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(service)
}

/// The OpenAPI 3.1 document of the API, from [`ENDPOINTS`].
pub fn openapi() -> Value {
    let mut paths = serde_json::Map::new();
    for &(method, path, summary) in ENDPOINTS {
        let mut operation = json!({
            "summary": summary,
            "responses": {
                "200": { "description": "done", "content": { "application/json": {} } },
                "default": {
                    "description": "a problem: `title`, `status` and `detail`",
                    "content": { "application/problem+json": {} }
                }
            }
        });
        if path.contains("{id}") {
            operation["parameters"] = json!([{
                "name": "id", "in": "path", "required": true, "schema": { "type": "string" }
            }]);
        }
        if method == "post" {
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": {} }
            });
        }
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[method] = operation;
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "loyalty serve", "version": env!("CARGO_PKG_VERSION") },
        "paths": paths,
    })
}

/// An error as a JSON problem body (RFC 9457's `title` and `status`).
fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = json!({
        "title": status.canonical_reason().unwrap_or("error"),
        "status": status.as_u16(),
        "detail": detail.into(),
    });
    (status, axum::Json(body)).into_response()
}

async fn program_info(State(service): State<Service>) -> Response {
    Json(service.program.clone()).into_response()
}

/// `POST /v1/events`: one event (a JSON object) or several (an array of
/// them). Each answer holds the event's effects, or its reject with the
/// reason, and comes once the events are durable.
async fn events(State(service): State<Service>, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return problem(StatusCode::BAD_REQUEST, "the body is not UTF-8 text");
    };
    let batch = text.trim_start().starts_with('[');
    let lines: Vec<String> = if batch {
        match serde_json::from_str::<Vec<Box<RawValue>>>(text) {
            Ok(events) => events.iter().map(|e| e.get().to_string()).collect(),
            Err(e) => {
                return problem(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not a JSON array of events: {e}"),
                );
            }
        }
    } else if text.trim().is_empty() {
        return problem(StatusCode::BAD_REQUEST, "the body is empty: send an event");
    } else {
        vec![text.trim().to_string()]
    };
    let lines: Vec<String> = lines.into_iter().map(stamped).collect();
    if lines.len() > MAX_EVENTS_PER_REQUEST {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_EVENTS_PER_REQUEST} events a request"),
        );
    }
    let (reply, answer) = oneshot::channel();
    if service.jobs.send(Job::Events { lines, reply }).is_err() {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "the engine has stopped");
    }
    match answer.await {
        // One event: a reject is the request's own (422), with the
        // reason; a duplicate is answered as such (200).
        Ok(Ok(mut answers)) if !batch => {
            let answer = answers.pop().unwrap_or(Value::Null);
            let status = match answer["outcome"].as_str() {
                Some("rejected") => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::OK,
            };
            (status, Json(answer)).into_response()
        }
        Ok(Ok(answers)) => Json(json!({ "results": answers })).into_response(),
        Ok(Err(e)) => problem(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(_) => problem(StatusCode::SERVICE_UNAVAILABLE, "the engine has stopped"),
    }
}

/// `GET /v1/members/{id}`: what `member --json` shows.
async fn member(State(service): State<Service>, Path(id): Path<String>) -> Response {
    let (reply, answer) = oneshot::channel();
    if service
        .jobs
        .send(Job::Member {
            id: id.clone(),
            reply,
        })
        .is_err()
    {
        return problem(StatusCode::SERVICE_UNAVAILABLE, "the engine has stopped");
    }
    match answer.await {
        Ok(Some(state)) => Json(state).into_response(),
        Ok(None) => problem(StatusCode::NOT_FOUND, format!("no member `{id}`")),
        Err(_) => problem(StatusCode::SERVICE_UNAVAILABLE, "the engine has stopped"),
    }
}

/// Ctrl-C, or SIGTERM where there is one.
async fn stopped() {
    let interrupted = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let terminated = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            () = interrupted => {},
            () = terminated => {},
        }
    }
    #[cfg(not(unix))]
    interrupted.await;
}

/// The engine's thread: takes every job waiting, applies the events of
/// all of them as one group, commits once, then answers each; ends with
/// the member snapshot when the HTTP side is gone.
fn engine_loop(
    mut engine: Engine,
    mut ledger: Ledger,
    inbox: mpsc::Receiver<Job>,
) -> Result<(), String> {
    let (effects, rejects) = (Captured::default(), Captured::default());
    let (mut effects_out, mut rejects_out) = (effects.clone(), rejects.clone());
    let outputs = Outputs {
        effects: Some(&mut effects_out),
        rejects: Some(&mut rejects_out),
    };
    let mut runner = Runner::new(&mut engine, Some(&mut ledger), outputs, "serve");
    let mut since_snapshot = 0;
    let mut line = 0;
    loop {
        let first = match inbox.recv_timeout(QUIET_SNAPSHOT) {
            Ok(job) => job,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if since_snapshot > 0 {
                    runner.snapshot().map_err(|e| e.to_string())?;
                    since_snapshot = 0;
                }
                continue;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut group = vec![first];
        group.extend(inbox.try_iter());
        // Each event gets a line number in the group, which its effects
        // and reject name.
        let mut asked: Vec<(usize, usize, oneshot::Sender<_>)> = Vec::new();
        let mut members = Vec::new();
        let mut texts = Vec::new();
        let first_line = line + 1;
        for job in group {
            match job {
                Job::Events { lines, reply } => {
                    let start = line + 1;
                    for text in lines {
                        line += 1;
                        runner.line(line, &text).map_err(|e| e.to_string())?;
                        texts.push(text);
                    }
                    asked.push((start, line + 1, reply));
                }
                Job::Member { id, reply } => members.push((id, reply)),
            }
        }
        let delivered = runner.deliver().map_err(|e| e.to_string());
        let mut answers: Vec<Value> = (first_line..=line)
            .map(|_| json!({ "outcome": "applied", "effects": [] }))
            .collect();
        for (answer, text) in answers.iter_mut().zip(&texts) {
            answer["id"] = json!(id_of(text));
        }
        // The runner wrote each effect and reject as a JSON line naming
        // its line in the group: each goes to its event's answer.
        let line_of = |record: &Value| {
            let n = usize::try_from(record["line"].as_u64()?).ok()?;
            n.checked_sub(first_line)
        };
        for text in String::from_utf8_lossy(&effects.0.take()).lines() {
            let Ok(mut effect) = serde_json::from_str::<Value>(text) else {
                continue;
            };
            let at = line_of(&effect);
            if let Some(object) = effect.as_object_mut() {
                object.remove("line");
                object.remove("event");
            }
            if let Some(list) = at
                .and_then(|k| answers.get_mut(k))
                .and_then(|answer| answer["effects"].as_array_mut())
            {
                list.push(effect);
            }
        }
        for text in String::from_utf8_lossy(&rejects.0.take()).lines() {
            if let Ok(reject) = serde_json::from_str::<Value>(text)
                && let Some(answer) = line_of(&reject).and_then(|k| answers.get_mut(k))
            {
                let duplicate = reject["duplicate"].as_bool().unwrap_or(false);
                answer["outcome"] = json!(if duplicate { "duplicate" } else { "rejected" });
                answer["reason"] = reject["reason"].clone();
            }
        }
        for (start, end, reply) in asked {
            let answer = match &delivered {
                Ok(()) => Ok(answers[start - first_line..end - first_line].to_vec()),
                Err(e) => Err(e.clone()),
            };
            let _ = reply.send(answer);
        }
        delivered?;
        for (id, reply) in members {
            let engine = &*runner.engine;
            let state = engine
                .member(&id)
                .map(|m| summary(engine.program(), m, engine.clock()));
            let _ = reply.send(state);
        }
        since_snapshot += line + 1 - first_line;
        if since_snapshot >= SNAPSHOT_EVERY {
            runner.snapshot().map_err(|e| e.to_string())?;
            since_snapshot = 0;
        }
    }
    runner.finish().map(|_| ()).map_err(|e| e.to_string())
}

/// An event line as sent, or, when it is an object without `at`, with
/// the time it was received (to the second, in UTC): a live event happens
/// when it arrives.
fn stamped(line: String) -> String {
    match serde_json::from_str::<serde_json::Map<String, Value>>(&line) {
        Ok(mut event) if !event.contains_key("at") => {
            let now = jiff::Timestamp::now();
            let second = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
            event.insert("at".into(), json!(second.to_string()));
            Value::Object(event).to_string()
        }
        _ => line,
    }
}

/// An event line's id, if it has one, without reading the rest.
fn id_of(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        id: Option<Value>,
    }
    let id = serde_json::from_str::<Id>(text).ok()?.id?;
    Some(id.as_str().map_or_else(|| id.to_string(), str::to_string))
}
