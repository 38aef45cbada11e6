//! `loyalty serve`: the engine behind an HTTP/JSON API, on the embedded
//! ledger or on PostgreSQL ([`crate::ledger::postgres`], where each
//! request does its own transactions and several instances share the
//! ledger).
//!
//! On the embedded ledger, one thread owns the engine and the ledger, as
//! `run` does, and does all of their work; the HTTP side only hands it
//! jobs and waits for the answers. Events that arrive while a commit is in flight are applied
//! and join the next commit (a group commit), and each request is
//! answered only once its events are durable. Exactly once per event id,
//! the log and every effect with its reason are `run`'s own
//! ([`crate::runner`]). Beside it: API keys ([`access`]), the metrics,
//! the OpenAPI description, and webhooks with their outbox.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::oneshot;

mod access;
mod metrics;
mod openapi;
mod webhooks;

pub use access::{KEYS_VARIABLE, Keys};
pub use openapi::{ENDPOINTS, Endpoint, openapi};
use webhooks::{Deliveries, Outlet};
pub use webhooks::{Webhook, load as load_webhooks, signature};

use crate::engine::{Effect, EffectKind, Engine, decode, summary, tier_progress};
use crate::ledger::postgres::{Connection, Logged};
use crate::ledger::{Attempt, Durable, Ledger, LedgerError, Reader};
use crate::program::Program;
use crate::runner::{Answer, LineOutcome, Outputs, Runner, Subscription, record_of};
use crate::time::Time;
use metrics::Metrics;

/// Events applied between two member snapshots under steady load: a
/// restart replays at most this many from the log (about a second's
/// work). Writing one holds up the answers of that moment, so it is
/// rare under load and otherwise waits for a quiet moment
/// ([`QUIET_SNAPSHOT`]).
const SNAPSHOT_EVERY: usize = 1_000_000;

/// How long without a request before the members changed since the last
/// snapshot are written.
const QUIET_SNAPSHOT: Duration = Duration::from_secs(2);

/// The most events one request may carry.
pub const MAX_EVENTS_PER_REQUEST: usize = 10_000;

/// The largest body a request may have (413 beyond): room for the most
/// events at about 3 KB each.
pub const MAX_BODY_BYTES: usize = 32 << 20;

/// What the HTTP side asks of the engine's thread.
enum Job {
    /// Events, in the README's event format, to apply in order.
    Events {
        events: Vec<Sent>,
        /// Each event's answer, with the event given back.
        reply: oneshot::Sender<Result<Vec<(Answer, Sent)>, String>>,
    },
    /// What `member --json` shows of one member, and the member's last
    /// ledger entry, if there is such a member.
    Member {
        id: String,
        reply: oneshot::Sender<Option<(Value, Option<i64>)>>,
    },
    /// What a purchase would do, by a member or (`guest`) by someone
    /// who joins with it; a reject's reason otherwise.
    Quote {
        line: String,
        guest: bool,
        reply: oneshot::Sender<Result<Value, String>>,
    },
    /// The commit in flight is durable (from the ledger's writer).
    Durable,
    /// An attempt at a webhook's delivery, to record in the outbox.
    Attempt(Attempt),
    /// Erase a member's personal data; the pseudonym that replaced the
    /// id, once durable.
    Erase {
        id: String,
        reply: oneshot::Sender<Result<Option<String>, String>>,
    },
    /// The HTTP side has answered its last request.
    Stop,
}

/// An event as the engine gets it: the line, and whether `serve` gave it
/// its time (it came without `at`).
struct Sent {
    line: String,
    stamped: bool,
}

/// What the engine's thread works with besides the engine and ledger.
struct Settings {
    /// For the commits' callbacks to say they are durable.
    jobs: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
    tick_every: Option<Duration>,
    subscriptions: Vec<Subscription>,
    outlet: Outlet,
}

/// The service's shared part: the ledger, the program, the metrics and
/// the webhooks.
#[derive(Clone)]
struct Service {
    ledger: Reach,
    program: Arc<Program>,
    source: Arc<str>,
    metrics: Arc<Metrics>,
    deliveries: Arc<Deliveries>,
}

/// How the HTTP side reaches the ledger.
#[derive(Clone)]
enum Reach {
    /// The embedded ledger: jobs for the engine's thread, and read-only
    /// connections.
    Embedded {
        jobs: mpsc::Sender<Job>,
        readers: Arc<Pool<Reader>>,
    },
    /// PostgreSQL: each request's work done on a connection of its own.
    Postgres(Arc<Pool<Connection>>),
}

/// Connections to the ledger kept for reuse, each used by one request at
/// a time on a blocking thread (their calls block).
struct Pool<C> {
    open: Box<dyn Fn() -> Result<C, LedgerError> + Send + Sync>,
    /// Whether a connection may be used again: a broken one is dropped.
    reusable: fn(&C) -> bool,
    idle: Mutex<Vec<C>>,
    /// At most this many at work at once.
    permits: tokio::sync::Semaphore,
}

/// PostgreSQL connections one instance uses at most: two instances stay
/// well within the server's usual 100.
const POSTGRES_CONNECTIONS: usize = 16;

impl<C: Send + 'static> Pool<C> {
    fn new(
        open: impl Fn() -> Result<C, LedgerError> + Send + Sync + 'static,
        reusable: fn(&C) -> bool,
        at_once: usize,
    ) -> Pool<C> {
        Pool {
            open: Box::new(open),
            reusable,
            idle: Mutex::new(Vec::new()),
            permits: tokio::sync::Semaphore::new(at_once),
        }
    }

    /// Works with an idle connection, or a new one. Should the work fail
    /// because its connection broke (the database restarted since it was
    /// last used, say), it is done again, once, on a new one: so `work`
    /// must be safe to do again, as applying events is (their ids make
    /// them apply once) and reading is.
    async fn with<T: Send + 'static>(
        self: &Arc<Self>,
        work: impl Fn(&mut C) -> Result<T, LedgerError> + Send + 'static,
    ) -> Result<T, String> {
        let Ok(_permit) = self.permits.acquire().await else {
            return Err("the ledger's connections are closed".into());
        };
        let pool = Arc::clone(self);
        let done = tokio::task::spawn_blocking(move || {
            let idle = pool.idle.lock().ok().and_then(|mut idle| idle.pop());
            let mut connection = match idle {
                Some(connection) => connection,
                None => (pool.open)()?,
            };
            let mut result = work(&mut connection);
            if result.is_err() && !(pool.reusable)(&connection) {
                connection = (pool.open)()?;
                result = work(&mut connection);
            }
            if (pool.reusable)(&connection)
                && let Ok(mut idle) = pool.idle.lock()
            {
                idle.push(connection);
            }
            result
        });
        match done.await {
            Ok(result) => result.map_err(|e| e.to_string()),
            Err(_) => Err("a request to the ledger failed".into()),
        }
    }
}

/// The ledger `serve` keeps.
pub enum Store {
    /// The embedded SQLite ledger, whose one writer this process is.
    Embedded(Ledger),
    /// PostgreSQL, shared with other instances.
    Postgres(Connection),
}

/// How `serve` runs, besides its program and ledger.
pub struct Options {
    pub listen: SocketAddr,
    pub keys: Keys,
    /// How often every member's scheduled work runs on the wall clock;
    /// never with `None` (each member's then runs before their events).
    pub tick_every: Option<Duration>,
    pub webhooks: Vec<Webhook>,
}

/// Serves the program until interrupted (Ctrl-C or SIGTERM), then, on
/// the embedded ledger, writes the member snapshot and closes it. `ready`
/// hears the address bound (the port chosen, for port 0).
pub fn serve(
    program: &Program,
    source: &str,
    store: Store,
    options: Options,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the server: {e}"))?;
    match store {
        Store::Embedded(ledger) => serve_embedded(program, source, ledger, options, runtime, ready),
        Store::Postgres(connection) => {
            serve_shared(program, source, connection, options, runtime, ready)
        }
    }
}

fn serve_embedded(
    program: &Program,
    source: &str,
    mut ledger: Ledger,
    options: Options,
    runtime: tokio::runtime::Runtime,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let (engine, _) = ledger
        .engine(program, source, false)
        .map_err(|e| e.to_string())?;
    let _checkpointer = ledger.checkpoint_elsewhere().map_err(|e| e.to_string())?;
    let (jobs, inbox) = mpsc::channel();
    let to_stop = jobs.clone();
    let reader = Reader::open(std::path::Path::new(ledger.path())).map_err(|e| e.to_string())?;
    let subscriptions = webhooks::subscriptions(&options.webhooks);
    let deliveries =
        Deliveries::start(&runtime, options.webhooks, &reader, &jobs).map_err(|e| e.to_string())?;
    let path = PathBuf::from(ledger.path());
    let readers = Pool::new(move || Reader::open(&path), |_| true, 64);
    let service = Service {
        ledger: Reach::Embedded {
            jobs: jobs.clone(),
            readers: Arc::new(readers),
        },
        program: Arc::new(program.clone()),
        source: source.into(),
        metrics: Arc::default(),
        deliveries: Arc::new(deliveries),
    };
    let settings = Settings {
        jobs,
        metrics: Arc::clone(&service.metrics),
        tick_every: options.tick_every,
        subscriptions,
        outlet: service.deliveries.outlet(),
    };
    // Should the engine's thread stop on an error (the disk is full, say),
    // the server stops too, rather than answer every request 503.
    let engine_stopped = Arc::new(tokio::sync::Notify::new());
    let engine_stops = Arc::clone(&engine_stopped);
    std::thread::scope(|scope| {
        let engine_thread = scope.spawn(move || {
            let result = engine_loop(engine, ledger, inbox, settings);
            engine_stops.notify_one();
            result
        });
        let routes = routes(service, options.keys);
        let served = listen_until_stopped(&runtime, options.listen, routes, ready, engine_stopped);
        // Every request is answered: the engine's thread ends its loop
        // and writes the snapshot.
        let _ = to_stop.send(Job::Stop);
        let finished = engine_thread
            .join()
            .unwrap_or_else(|_| Err("the engine's thread failed".into()));
        served.and(finished)
    })
}

/// `serve` on PostgreSQL: each request does its work on a connection of
/// its own ([`postgres`]), and a thread runs the scheduled work on the
/// wall clock when this instance holds the lock of the ticks.
fn serve_shared(
    program: &Program,
    source: &str,
    connection: Connection,
    options: Options,
    runtime: tokio::runtime::Runtime,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), String> {
    let subscriptions = webhooks::subscriptions(&options.webhooks);
    let connection = connection.subscribed(subscriptions.clone());
    let ticker = connection.again().map_err(|e| e.to_string())?;
    let url = connection.url().to_string();
    let deliveries = Deliveries::start_shared(&runtime, options.webhooks, &url);
    let pool = Pool::new(
        move || Ok(Connection::connect(&url)?.subscribed(subscriptions.clone())),
        |connection: &Connection| !connection.is_closed(),
        POSTGRES_CONNECTIONS,
    );
    if let Ok(mut idle) = pool.idle.lock() {
        idle.push(connection);
    }
    // Held here so that the connections close here, at the end, and not
    // in the runtime with the routes: the client's close blocks, which
    // the runtime forbids.
    let pool = Arc::new(pool);
    let service = Service {
        ledger: Reach::Postgres(Arc::clone(&pool)),
        program: Arc::new(program.clone()),
        source: source.into(),
        metrics: Arc::default(),
        deliveries: Arc::new(deliveries),
    };
    let metrics = Arc::clone(&service.metrics);
    let (stop_ticks, stopped) = mpsc::channel::<()>();
    // The server goes on should the ticks fail: each member's work also
    // runs before their own events, and the ticks are tried again.
    let never = Arc::new(tokio::sync::Notify::new());
    std::thread::scope(|scope| {
        let tick_every = options.tick_every;
        scope.spawn(move || tick_loop(program, ticker, tick_every, &metrics, &stopped));
        let routes = routes(service, options.keys);
        let served = listen_until_stopped(&runtime, options.listen, routes, ready, never);
        let _ = stop_ticks.send(());
        served
    })?;
    drop(pool);
    Ok(())
}

/// Runs the scheduled work of the members due, every `tick_every`, while
/// this instance holds the lock of the ticks; counts the members for the
/// metrics meanwhile. Ends when `stop` hears.
fn tick_loop(
    program: &Program,
    mut connection: Connection,
    tick_every: Option<Duration>,
    metrics: &Metrics,
    stop: &mpsc::Receiver<()>,
) {
    // A ledger out of reach is said once, not at every tick.
    let mut said = false;
    loop {
        if connection.is_closed()
            && let Ok(again) = connection.again()
        {
            connection = again;
        }
        if tick_every.is_some() {
            match connection.tick(program, Time::now()) {
                Ok(_) => said = false,
                Err(e) if !said => {
                    eprintln!("scheduled work waits for the ledger: {e}");
                    said = true;
                }
                Err(_) => {}
            }
        }
        if let Ok(members) = connection.count_members() {
            metrics.set_members(members);
        }
        match stop.recv_timeout(tick_every.unwrap_or(Duration::from_secs(60))) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

/// Listens on `listen` and serves `routes` until a stop signal, or until
/// `stopped` is notified (the engine's thread failed); `ready` hears the
/// address bound first.
fn listen_until_stopped(
    runtime: &tokio::runtime::Runtime,
    listen: SocketAddr,
    routes: Router,
    ready: impl FnOnce(SocketAddr),
    stopped: Arc<tokio::sync::Notify>,
) -> Result<(), String> {
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let bound = listener
            .local_addr()
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let stop = stop_signals();
        ready(bound);
        axum::serve(listener, routes)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    () = stop => {},
                    () = stopped.notified() => {},
                }
            })
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })
}

/// Entries on a page unless `limit` says otherwise, and the most.
const ENTRIES_PER_PAGE: usize = 50;
const MAX_ENTRIES_PER_PAGE: usize = 1000;

fn routes(service: Service, keys: Keys) -> Router {
    Router::new()
        .route(
            "/v1/health",
            get(|| async { Json(json!({ "status": "ok" })) }),
        )
        .route("/v1/program", get(program_info))
        .route("/v1/openapi.json", get(|| async { Json(openapi()) }))
        .route(
            "/metrics",
            get(|State(service): State<Service>| async move {
                let mut text = service.metrics.render();
                text.push_str(&service.deliveries.metrics());
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
            }),
        )
        .route("/v1/events", post(events))
        .route("/v1/quote", post(quote_purchase))
        .route("/v1/members/{id}", get(member).delete(erase))
        .route(
            "/v1/webhooks",
            get(|State(service): State<Service>| async move { Json(service.deliveries.report()) }),
        )
        .route("/v1/members/{id}/entries", get(entries))
        .fallback(|| async { problem(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(keys, access::check))
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&service.metrics),
            metrics::count,
        ))
        .with_state(service)
}

/// An error, answered as a JSON problem body (RFC 9457's `title`,
/// `status` and `detail`).
struct Problem {
    status: StatusCode,
    detail: String,
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = json!({
            "title": self.status.canonical_reason().unwrap_or("error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        (self.status, axum::Json(body)).into_response()
    }
}

fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    fail(status, detail).into_response()
}

fn fail(status: StatusCode, detail: impl Into<String>) -> Problem {
    Problem {
        status,
        detail: detail.into(),
    }
}

async fn program_info(State(service): State<Service>) -> Response {
    Json(json!({ "name": service.program.name, "source": &*service.source })).into_response()
}

/// `POST /v1/events`: one event (a JSON object) or several (an array of
/// them). Each answer holds the event's effects, or its reject with the
/// reason, and comes once the events are durable.
async fn events(State(service): State<Service>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(e) => return problem(e.status(), e.body_text()),
    };
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
    if lines.len() > MAX_EVENTS_PER_REQUEST {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("at most {MAX_EVENTS_PER_REQUEST} events a request"),
        );
    }
    let events: Vec<Sent> = lines.into_iter().map(stamped).collect();
    let mut results = match &service.ledger {
        Reach::Embedded { jobs, readers } => {
            let answers = match ask(jobs, |reply| Job::Events { events, reply }).await {
                Ok(Ok(answers)) => answers,
                Ok(Err(e)) => return problem(StatusCode::INTERNAL_SERVER_ERROR, e),
                Err(stopped) => return stopped.into_response(),
            };
            let mut results = Vec::with_capacity(answers.len());
            for (answer, sent) in answers {
                match answered(&service.program, readers, answer, sent).await {
                    Ok(result) => results.push(result),
                    Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, e),
                }
            }
            results
        }
        Reach::Postgres(pool) => {
            let program = Arc::clone(&service.program);
            let metrics = Arc::clone(&service.metrics);
            let events = Arc::new(events);
            let to_apply = Arc::clone(&events);
            // One transaction an event, in order; should the ledger fail
            // midway, the client sends them all again and those applied
            // get their first answers.
            let applied = pool
                .with(move |connection| {
                    let mut logged = Vec::with_capacity(to_apply.len());
                    for sent in to_apply.iter() {
                        logged.push(connection.apply(&program, &sent.line, Time::now())?);
                    }
                    Ok(logged)
                })
                .await;
            // Counted once all are in: a request done again after a
            // broken connection counts each event once.
            match applied {
                Ok(logged) => logged
                    .into_iter()
                    .zip(events.iter())
                    .map(|(logged, sent)| shared_answer(&metrics, logged, sent))
                    .collect(),
                Err(e) => return problem(StatusCode::SERVICE_UNAVAILABLE, e),
            }
        }
    };
    if batch {
        return Json(json!({ "results": results })).into_response();
    }
    // One event: a reject is the request's own (422), with the reason;
    // an id used before for another event is a conflict (409).
    let result = results.pop().unwrap_or(Value::Null);
    let status = match result["outcome"].as_str() {
        Some("rejected") => StatusCode::UNPROCESSABLE_ENTITY,
        Some("conflict") => StatusCode::CONFLICT,
        _ => StatusCode::OK,
    };
    (status, Json(result)).into_response()
}

/// An event's answer: its outcome, its effects and the reason of a
/// reject. A duplicate gets the first answer to its id, read back from
/// the ledger and marked `duplicate`, unless the event sent differs from
/// the one logged under that id: a conflict.
async fn answered(
    program: &Arc<Program>,
    readers: &Arc<Pool<Reader>>,
    answer: Answer,
    Sent { line, stamped }: Sent,
) -> Result<Value, String> {
    let LineOutcome::Duplicate { first } = answer.outcome else {
        return Ok(answer_value(answer, false));
    };
    let program = Arc::clone(program);
    let id = answer.id.unwrap_or_default();
    readers
        .with(move |reader| {
            let logged = reader.event(first)?;
            if !same_event(&line, &logged.raw, stamped) {
                return Ok(conflict(&id));
            }
            let effects = reader
                .entries_of_event(first)?
                .iter()
                .map(|entry| entry.record(&program))
                .collect();
            let outcome = match logged.applied {
                true => LineOutcome::Applied,
                false => LineOutcome::Rejected(
                    reader.reject_reason(&id, &logged.raw)?.unwrap_or_default(),
                ),
            };
            let answer = Answer {
                line: answer.line,
                id: Some(id.clone()),
                outcome,
                effects,
            };
            Ok(answer_value(answer, true))
        })
        .await
}

/// An event's answer from the ledger on PostgreSQL, counted in the
/// metrics.
fn shared_answer(metrics: &Metrics, logged: Logged, sent: &Sent) -> Value {
    match logged {
        Logged::Now(answer) => {
            metrics.answered(&answer);
            answer_value(answer, false)
        }
        Logged::Before { line, answer } => {
            if !same_event(&sent.line, &line, sent.stamped) {
                return conflict(answer.id.as_deref().unwrap_or_default());
            }
            metrics.answered_again();
            answer_value(answer, true)
        }
    }
}

/// An answer as JSON: `id`, `outcome`, `effects`, a reject's `reason`,
/// and `duplicate` when it is the first answer given again.
fn answer_value(answer: Answer, duplicate: bool) -> Value {
    let mut result = json!({ "id": answer.id, "outcome": "applied", "effects": answer.effects });
    if let LineOutcome::Rejected(reason) = answer.outcome {
        result["outcome"] = json!("rejected");
        result["reason"] = json!(reason);
    }
    if duplicate {
        result["duplicate"] = json!(true);
    }
    result
}

/// The answer to an id used before for another event.
fn conflict(id: &str) -> Value {
    json!({
        "id": id,
        "outcome": "conflict",
        "effects": [],
        "reason": format!("event id `{id}` was used before for a different event"),
    })
}

/// Whether an event sent again is the one logged: the same JSON, but for
/// the time `serve` gave each copy when it came without one.
fn same_event(sent: &str, logged: &str, stamped: bool) -> bool {
    match (
        serde_json::from_str::<Value>(sent),
        serde_json::from_str::<Value>(logged),
    ) {
        (Ok(mut sent), Ok(mut logged)) => {
            if stamped {
                for event in [&mut sent, &mut logged] {
                    if let Some(event) = event.as_object_mut() {
                        event.remove("at");
                    }
                }
            }
            sent == logged
        }
        _ => sent == logged,
    }
}

/// `POST /v1/quote`: a purchase (the event without `id` and `type`),
/// answered with what it would do; nothing is logged or changed.
async fn quote_purchase(
    State(service): State<Service>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, Problem> {
    let body = body.map_err(|e| fail(e.status(), e.body_text()))?;
    let bad = |detail: String| fail(StatusCode::BAD_REQUEST, detail);
    let mut purchase: serde_json::Map<String, Value> = serde_json::from_slice(&body)
        .map_err(|e| bad(format!("the body is not a JSON object (a purchase): {e}")))?;
    match purchase.get("type") {
        None => {}
        Some(Value::String(kind)) if kind == "purchase" => {}
        Some(other) => return Err(bad(format!("a quote is of a purchase, not `{other}`"))),
    }
    let guest = !purchase.contains_key("member");
    purchase.insert("type".into(), json!("purchase"));
    purchase.entry("id").or_insert_with(|| json!("quote"));
    if guest {
        purchase.insert("member".into(), json!("guest"));
    }
    let member = purchase
        .get("member")
        .and_then(Value::as_str)
        .map(str::to_string);
    let line = stamped(Value::Object(purchase).to_string()).line;
    let quote = match &service.ledger {
        Reach::Embedded { jobs, .. } => {
            ask(jobs, |reply| Job::Quote { line, guest, reply }).await?
        }
        Reach::Postgres(pool) => {
            let program = Arc::clone(&service.program);
            pool.with(move |connection| {
                let member = member.as_deref().filter(|_| !guest);
                let engine = connection.engine_for(&program, member)?;
                Ok(quote(&engine, &line, guest))
            })
            .await
            .map_err(|e| fail(StatusCode::SERVICE_UNAVAILABLE, e))?
        }
    };
    quote
        .map(Json)
        .map_err(|reason| fail(StatusCode::UNPROCESSABLE_ENTITY, reason))
}

/// Hands the engine's thread a job, made with the channel for its reply,
/// and waits for the reply.
async fn ask<T>(
    jobs: &mpsc::Sender<Job>,
    job: impl FnOnce(oneshot::Sender<T>) -> Job,
) -> Result<T, Problem> {
    let stopped = || fail(StatusCode::SERVICE_UNAVAILABLE, "the engine has stopped");
    let (reply, answer) = oneshot::channel();
    jobs.send(job(reply)).map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())
}

/// `GET /v1/members/{id}`: what `member --json` shows.
async fn member(
    State(service): State<Service>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(member_state(&service, &id).await?.0))
}

/// `DELETE /v1/members/{id}`: erasure on request.
async fn erase(
    State(service): State<Service>,
    Path(id): Path<String>,
) -> Result<Json<Value>, Problem> {
    let erased = match &service.ledger {
        Reach::Embedded { jobs, .. } => {
            let job = |reply| Job::Erase {
                id: id.clone(),
                reply,
            };
            ask(jobs, job).await?
        }
        Reach::Postgres(pool) => {
            let member = id.clone();
            pool.with(move |connection| connection.erase(&member)).await
        }
    };
    match erased {
        Ok(Some(pseudonym)) => Ok(Json(json!({ "member": id, "erased_as": pseudonym }))),
        Ok(None) => Err(fail(StatusCode::NOT_FOUND, format!("no member `{id}`"))),
        Err(e) => Err(fail(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}

/// A member's state, from the engine's thread with their last ledger
/// entry, or from PostgreSQL (whose entries are paged by number, with no
/// last entry needed).
async fn member_state(service: &Service, id: &str) -> Result<(Value, Option<i64>), Problem> {
    let state = match &service.ledger {
        Reach::Embedded { jobs, .. } => {
            let job = |reply| Job::Member {
                id: id.to_string(),
                reply,
            };
            ask(jobs, job).await?
        }
        Reach::Postgres(pool) => {
            let program = Arc::clone(&service.program);
            let id = id.to_string();
            pool.with(move |connection| {
                Ok(connection.member(&id)?.map(|member| {
                    let now = Time::now().max(member.time);
                    (summary(&program, &member, now), None)
                }))
            })
            .await
            .map_err(|e| fail(StatusCode::SERVICE_UNAVAILABLE, e))?
        }
    };
    state.ok_or_else(|| fail(StatusCode::NOT_FOUND, format!("no member `{id}`")))
}

/// `GET /v1/members/{id}/entries?after=&limit=`: the member's entries,
/// newest first, each with its reason; `next_after` asks for the page
/// after this one, and is null on the last.
async fn entries(
    State(service): State<Service>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Json<Value>, Problem> {
    let number = |field: &str| {
        query
            .get(field)
            .map(|text| {
                text.parse::<i64>().map_err(|_| {
                    fail(
                        StatusCode::BAD_REQUEST,
                        format!("`{field}` must be a whole number, not `{text}`"),
                    )
                })
            })
            .transpose()
    };
    let after = number("after")?;
    let limit = match number("limit")? {
        None => ENTRIES_PER_PAGE,
        Some(n) if (1..=MAX_ENTRIES_PER_PAGE as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                format!("`limit` must be from 1 to {MAX_ENTRIES_PER_PAGE}, not {n}"),
            ));
        }
    };
    let (_, last) = member_state(&service, &id).await?;
    let readers = match &service.ledger {
        Reach::Embedded { readers, .. } => readers,
        Reach::Postgres(pool) => {
            let member = id.clone();
            let page = pool
                .with(move |connection| connection.entries(&member, after, limit + 1))
                .await
                .map_err(|e| fail(StatusCode::SERVICE_UNAVAILABLE, e))?;
            return Ok(Json(entries_page(&id, page, limit)));
        }
    };
    let program = Arc::clone(&service.program);
    let member = id.clone();
    let page = readers
        .with(move |reader| {
            let start = match after {
                None => last,
                Some(after) => match reader.entry(after)? {
                    Some(entry) if entry.member == member => entry.previous,
                    _ => return Ok(None),
                },
            };
            // One more than asked tells whether there is a next page.
            let found = match start {
                Some(start) => reader.entries_back_from(start, limit + 1)?,
                None => Vec::new(),
            };
            let records = found
                .iter()
                .map(|entry| {
                    let mut record = entry.record(&program);
                    record.insert("seq".into(), json!(entry.seq));
                    record.insert("event".into(), json!(entry.event));
                    record
                })
                .collect();
            Ok(Some(records))
        })
        .await;
    match page {
        Ok(Some(records)) => Ok(Json(entries_page(&id, records, limit))),
        Ok(None) => Err(fail(
            StatusCode::BAD_REQUEST,
            format!("`after` must be the number of one of `{id}`'s entries (a `next_after`)"),
        )),
        Err(e) => Err(fail(StatusCode::INTERNAL_SERVER_ERROR, e)),
    }
}

/// A page of a member's entries, newest first, from up to `limit + 1`
/// of them: one more than the page tells that there is a next page,
/// which `next_after` (the last entry's `seq`) asks for.
fn entries_page(
    member: &str,
    mut records: Vec<serde_json::Map<String, Value>>,
    limit: usize,
) -> Value {
    let more = records.len() > limit;
    records.truncate(limit);
    let next_after = more
        .then(|| records.last().and_then(|entry| entry.get("seq").cloned()))
        .flatten();
    json!({ "member": member, "entries": records, "next_after": next_after })
}

/// Ctrl-C, or SIGTERM where there is one. The handlers are installed
/// when this is called, not when it is first awaited: a signal that comes
/// as soon as the service says it listens must stop it gracefully, not
/// kill it.
fn stop_signals() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let signals = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        async move {
            match signals {
                (Ok(mut terminated), Ok(mut interrupted)) => {
                    tokio::select! {
                        _ = terminated.recv() => {},
                        _ = interrupted.recv() => {},
                    }
                }
                _ => std::future::pending().await,
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The engine's thread: takes every job waiting and applies the events
/// of all of them as one group. One commit is in flight at a time, in
/// the background: groups applied meanwhile join the next, so that the
/// busier the service, the more each commit carries. Events are answered,
/// and members read, once their group is durable; quotes change nothing
/// and are answered at once. Ends, on [`Job::Stop`], with the member
/// snapshot.
fn engine_loop(
    mut engine: Engine,
    mut ledger: Ledger,
    inbox: mpsc::Receiver<Job>,
    settings: Settings,
) -> Result<(), String> {
    let Settings {
        jobs,
        metrics,
        tick_every,
        subscriptions,
        outlet,
    } = settings;
    let mut answers = Vec::new();
    let outputs = Outputs {
        answers: Some(&mut answers),
        ..Outputs::default()
    };
    let mut runner = Runner::new(&mut engine, Some(&mut ledger), outputs, "serve");
    runner.subscribe(subscriptions);
    let mut since_snapshot = 0;
    let mut line = 0;
    // What waits for the next commit, and whether one is in flight.
    let mut waiting: Vec<Durable> = Vec::new();
    let mut in_flight = false;
    let mut stop = false;
    let mut next_tick = tick_every.map(|_| Instant::now());
    while !stop {
        // Scheduled work happens on the wall clock: a `tick` now and then,
        // logged as any event, brings every member's due work (each
        // member's is also brought due before their own events).
        if let (Some(at), Some(every)) = (next_tick, tick_every)
            && Instant::now() >= at
        {
            line += 1;
            runner
                .line(line, &tick_line(runner.engine.clock()))
                .map_err(|e| e.to_string())?;
            runner.flush().map_err(|e| e.to_string())?;
            if let Some(answers) = runner.outputs.answers.as_deref_mut() {
                answers.clear();
            }
            waiting.push(Box::new(|| {}));
            next_tick = Some(Instant::now() + every);
        }
        let wait = match next_tick {
            Some(at) => QUIET_SNAPSHOT.min(at.saturating_duration_since(Instant::now())),
            None => QUIET_SNAPSHOT,
        };
        let first = match inbox.recv_timeout(wait) {
            Ok(job) => Some(job),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if since_snapshot > 0 && !in_flight && waiting.is_empty() {
                    runner.snapshot().map_err(|e| e.to_string())?;
                    since_snapshot = 0;
                }
                None
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut asked = Vec::new();
        let mut members = Vec::new();
        let mut quotes = Vec::new();
        for job in first.into_iter().chain(inbox.try_iter()) {
            match job {
                Job::Events { events, reply } => {
                    for event in &events {
                        line += 1;
                        runner.line(line, &event.line).map_err(|e| e.to_string())?;
                    }
                    since_snapshot += events.len();
                    asked.push((events, reply));
                }
                Job::Member { id, reply } => members.push((id, reply)),
                Job::Quote { line, guest, reply } => quotes.push((line, guest, reply)),
                Job::Durable => in_flight = false,
                Job::Erase { id, reply } => {
                    // In line with the events before it; committed, with
                    // them, before it is answered.
                    let erased = runner.erase(&id).map_err(|e| e.to_string());
                    let failed = erased.as_ref().err().cloned();
                    let _ = reply.send(erased);
                    if let Some(e) = failed {
                        return Err(e);
                    }
                }
                Job::Attempt(attempt) => {
                    runner.log_attempt(&attempt).map_err(|e| e.to_string())?;
                    waiting.push(Box::new(|| {}));
                }
                Job::Stop => stop = true,
            }
        }
        runner.flush().map_err(|e| e.to_string())?;
        metrics.engine(&runner.summary, runner.engine.members().len());
        for (line, guest, reply) in quotes {
            let _ = reply.send(quote(runner.engine, &line, guest));
        }
        let engine = &*runner.engine;
        let states: Vec<_> = members
            .into_iter()
            .map(|(id, reply)| {
                let state = engine.member_index(&id).map(|index| {
                    let member = engine.member_at(index);
                    let shown = summary(engine.program(), member, engine.clock());
                    (shown, runner.last_entry(index))
                });
                (state, reply)
            })
            .collect();
        // Every line has exactly one answer, in order.
        let answered = runner
            .outputs
            .answers
            .as_deref_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        // Webhooks hear of what their transaction made durable.
        let outgoing = std::mem::take(&mut runner.outbox);
        if !outgoing.is_empty() {
            let outlet = outlet.clone();
            waiting.push(Box::new(move || outlet.send(outgoing)));
        }
        if !asked.is_empty() || !states.is_empty() {
            waiting.push(Box::new(move || {
                let mut answered = answered.into_iter();
                for (events, reply) in asked {
                    let answers = answered.by_ref().take(events.len()).zip(events);
                    let _ = reply.send(Ok(answers.collect()));
                }
                for (state, reply) in states {
                    let _ = reply.send(state);
                }
            }));
        }
        if !in_flight && !waiting.is_empty() {
            let deliveries = std::mem::take(&mut waiting);
            let done = jobs.clone();
            // Should the commit fail, this is dropped unrun: the requests
            // learn the engine stopped, and nothing is answered as
            // applied.
            let durable: Durable = Box::new(move || {
                for delivery in deliveries {
                    delivery();
                }
                let _ = done.send(Job::Durable);
            });
            runner.deliver_then(durable).map_err(|e| e.to_string())?;
            in_flight = true;
        }
        if since_snapshot >= SNAPSHOT_EVERY {
            runner.snapshot().map_err(|e| e.to_string())?;
            since_snapshot = 0;
        }
    }
    // What still waits is committed with the snapshot, then answered.
    let summary = runner.finish().map_err(|e| e.to_string());
    if summary.is_ok() {
        for delivery in waiting {
            delivery();
        }
    }
    summary.map(|_| ())
}

/// A `tick` at the wall clock's second, or at the engine's clock if an
/// event was dated later.
fn tick_line(clock: Time) -> String {
    let now = jiff::Timestamp::now().as_second();
    let at = Time(now.max(clock.0));
    json!({ "id": format!("tick-{at}"), "type": "tick", "at": at.to_string() }).to_string()
}

/// What the purchase `line` would do, changing nothing: its effects, the
/// points and reward money it would earn, the discount and the value of
/// held rewards it would use, and the tier and its progress after it.
fn quote(engine: &Engine, line: &str, guest: bool) -> Result<Value, String> {
    let program = engine.program();
    let event = decode(program, line).map_err(|(_, reject)| reject.to_string())?;
    let mut effects = Vec::new();
    let member = engine
        .quote(&event, guest, &mut effects)
        .map_err(|reject| reject.to_string())?;
    // Work that came due before it (expiry, say) is not the purchase's.
    effects.retain(|effect| !effect.scheduled);
    let total = |kinds: &[EffectKind], amount: fn(&Effect) -> i64| -> i64 {
        effects
            .iter()
            .filter(|effect| kinds.contains(&effect.kind))
            .map(amount)
            .fold(0, i64::saturating_add)
    };
    let points = total(
        &[EffectKind::PointsEarned, EffectKind::PointsPending],
        |e| e.points,
    );
    let reward_money = total(&[EffectKind::RewardMoneyIssued], |e| e.money);
    let discount = total(&[EffectKind::DiscountGiven], |e| e.value);
    let rewards_used = total(&[EffectKind::RewardUsed], |e| e.value);
    let records: Vec<Value> = effects
        .iter()
        .map(|effect| {
            let mut record = record_of(program, effect, &member.id);
            record.remove("member");
            Value::Object(record)
        })
        .collect();
    let cents = crate::program::cents_text;
    Ok(json!({
        "member": (!guest).then_some(&member.id),
        "at": event.at.to_string(),
        "points": points,
        "reward_money": cents(reward_money),
        "discount": cents(discount),
        "rewards_used": cents(rewards_used),
        "effects": records,
        "tier": member.tier.map(|t| &program.tiers[usize::from(t)].name),
        "tier_progress": tier_progress(program, &member, event.at),
    }))
}

/// An event line as sent, or, when it is an object without `at`, with
/// the time it was received (to the second, in UTC): a live event happens
/// when it arrives.
fn stamped(line: String) -> Sent {
    match serde_json::from_str::<serde_json::Map<String, Value>>(&line) {
        Ok(mut event) if !event.contains_key("at") => {
            let now = jiff::Timestamp::now();
            let second = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now);
            event.insert("at".into(), json!(second.to_string()));
            Sent {
                line: Value::Object(event).to_string(),
                stamped: true,
            }
        }
        _ => Sent {
            line,
            stamped: false,
        },
    }
}
