//! Webhooks: effects of chosen kinds delivered as signed HTTP POSTs.
//!
//! Each delivery is put in the ledger's outbox (`webhook_deliveries`) in
//! the same transaction as the entry it carries, so none is lost and none
//! is sent for an event that was not committed. One task per webhook
//! sends its deliveries in order, each once its transaction is durable;
//! a receiver that fails is tried again after 1, 2, 4, ... seconds (at
//! most an hour apart), for as long as it takes, and is reported as
//! failing after [`FAILING_AFTER`] attempts: on standard error, in `GET
//! /v1/webhooks` and in the metrics. Every attempt is recorded in the
//! outbox, and a restart carries on where it stopped.
//!
//! A delivery's body is JSON (`webhook`, `event`, `entry`, `effect`). Its
//! headers: `Loyalty-Delivery` (its number, the same on every attempt, so
//! a receiver can drop a repeat) and `Loyalty-Signature: t=T,v1=HEX`,
//! HMAC-SHA256 with the webhook's secret over `T.BODY`, `T` the Unix
//! time of the attempt.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use axum::http::{Request, Uri, header};
use hmac::{Hmac, Mac};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use super::Job;
use crate::diagnostic::did_you_mean;
use crate::engine::EffectKind;
use crate::ledger::postgres::{Connection, OutboxState};
use crate::ledger::{Attempt, DeliveryStatus, LedgerError, Reader};
use crate::runner::{Outgoing, Subscription};
use crate::time::Time;

/// Attempts after which a receiver is reported as failing.
pub const FAILING_AFTER: i64 = 5;

/// The longest wait between two attempts.
const MAX_BACKOFF_SECONDS: i64 = 3600;

/// How long one attempt may take, connecting included.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The shortest secret accepted.
const MIN_SECRET_LENGTH: usize = 16;

/// A webhook as `--webhooks FILE` declares it.
#[derive(Debug)]
pub struct Webhook {
    pub name: String,
    pub url: Uri,
    kinds: u64,
    kind_names: Vec<String>,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    webhook: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: Option<String>,
    url: String,
    kinds: Vec<String>,
    secret: Option<String>,
    secret_env: Option<String>,
}

/// The webhooks of a file such as:
///
/// ```toml
/// [[webhook]]
/// name = "crm"
/// url = "http://crm.internal:9000/loyalty"
/// kinds = ["reward_issued", "tier_changed"]
/// secret_env = "CRM_WEBHOOK_SECRET"   # or: secret = "..."
/// ```
pub fn load(path: &Path) -> Result<Vec<Webhook>, String> {
    let name = path.display();
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read webhooks {name}: {e}"))?;
    let file: File = toml::from_str(&text).map_err(|e| format!("webhooks {name}: {e}"))?;
    let mut webhooks: Vec<Webhook> = Vec::new();
    for (n, entry) in file.webhook.into_iter().enumerate() {
        let place = format!("webhooks {name}, webhook {}", n + 1);
        let webhook = parse(entry).map_err(|e| format!("{place}: {e}"))?;
        if webhooks.iter().any(|w| w.name == webhook.name) {
            return Err(format!(
                "{place}: a second webhook named `{}`: give each a `name` of its own",
                webhook.name
            ));
        }
        webhooks.push(webhook);
    }
    Ok(webhooks)
}

fn parse(entry: Entry) -> Result<Webhook, String> {
    let url: Uri = entry
        .url
        .parse()
        .map_err(|e| format!("`url` is not a URL ({e}): `{}`", entry.url))?;
    match url.scheme_str() {
        Some("http") if url.host().is_some() => {}
        Some("https") => {
            return Err(
                "`url` is https: webhooks go out over plain HTTP to a receiver on the private \
                 network, or to a proxy that adds TLS (see the README's *Serving a program*)"
                    .into(),
            );
        }
        _ => {
            return Err(format!(
                "`url` must be http://HOST[:PORT]/PATH, not `{url}`"
            ));
        }
    }
    let mut kinds = 0u64;
    for kind in &entry.kinds {
        let Some(found) = EffectKind::from_name(kind) else {
            let hint = did_you_mean(kind, EffectKind::ALL.iter().map(|k| k.name()))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(format!("`{kind}` is no effect kind{hint}"));
        };
        kinds |= 1 << (found as u32);
    }
    if kinds == 0 {
        return Err("`kinds` names no effect kind: name those to deliver".into());
    }
    let secret = match (entry.secret, entry.secret_env) {
        (Some(secret), None) => secret,
        (None, Some(variable)) => std::env::var(&variable)
            .map_err(|_| format!("`secret_env`: the variable `{variable}` is not set"))?,
        _ => return Err("give the secret as either `secret` or `secret_env`".into()),
    };
    if secret.len() < MIN_SECRET_LENGTH {
        return Err(format!(
            "the secret must be at least {MIN_SECRET_LENGTH} characters"
        ));
    }
    Ok(Webhook {
        name: entry.name.unwrap_or_else(|| url.to_string()),
        url,
        kinds,
        kind_names: entry.kinds,
        secret,
    })
}

/// What the runner needs of the webhooks: their names and kinds.
pub fn subscriptions(webhooks: &[Webhook]) -> Vec<Subscription> {
    webhooks
        .iter()
        .map(|w| Subscription {
            webhook: w.name.clone(),
            kinds: w.kinds,
        })
        .collect()
}

/// The signature header's value for `body` sent at Unix time `t`.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(format!("{t}.").as_bytes());
    mac.update(body.as_bytes());
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("t={t},v1={hex}")
}

/// Where a webhook stands, for `GET /v1/webhooks` and the metrics.
#[derive(Clone, Debug, Default)]
pub struct Status {
    pub backlog: usize,
    pub delivered: u64,
    /// Attempts at the delivery at the head of the queue.
    pub attempts: i64,
    pub failing: bool,
    pub last_error: Option<String>,
}

/// Hands each delivery to its webhook's task.
#[derive(Clone, Default)]
pub struct Outlet(Vec<UnboundedSender<Queued>>);

impl Outlet {
    pub fn send(&self, outgoing: Vec<Outgoing>) {
        for delivery in outgoing {
            if let Some(queue) = self.0.get(delivery.webhook) {
                let _ = queue.send(Queued {
                    seq: delivery.seq,
                    body: delivery.body,
                    attempts: 0,
                    next_attempt: 0,
                });
            }
        }
    }
}

/// The webhooks at work: where new deliveries go, and each one's status.
pub(super) struct Deliveries {
    queues: Vec<UnboundedSender<Queued>>,
    webhooks: Arc<Vec<Webhook>>,
    status: Arc<Vec<Mutex<Status>>>,
}

struct Queued {
    seq: i64,
    body: String,
    attempts: i64,
    next_attempt: i64,
}

impl Deliveries {
    /// Starts a task per webhook on `runtime`, each with what the outbox
    /// holds for it still undelivered; attempts go to the engine's
    /// thread, which records them.
    pub(super) fn start(
        runtime: &tokio::runtime::Runtime,
        webhooks: Vec<Webhook>,
        reader: &Reader,
        jobs: &mpsc::Sender<Job>,
    ) -> Result<Deliveries, LedgerError> {
        let (pending, delivered) = reader.outbox()?;
        let orphans = pending
            .iter()
            .filter(|row| webhooks.iter().all(|w| w.name != row.webhook))
            .count();
        if orphans > 0 {
            // Never dropped: they wait in the outbox for their webhook to
            // be named again.
            eprintln!(
                "{orphans} deliveries in the outbox are for webhooks no longer in --webhooks; \
                 they wait there until those webhooks are named again"
            );
        }
        let webhooks = Arc::new(webhooks);
        let status: Arc<Vec<Mutex<Status>>> =
            Arc::new(webhooks.iter().map(|_| Mutex::default()).collect());
        let mut queues = Vec::new();
        for (index, webhook) in webhooks.iter().enumerate() {
            let queue: VecDeque<Queued> = pending
                .iter()
                .filter(|row| row.webhook == webhook.name)
                .map(|row| Queued {
                    seq: row.seq,
                    body: row.body.clone(),
                    attempts: row.attempts,
                    next_attempt: row.next_attempt,
                })
                .collect();
            if let Ok(mut status) = status[index].lock() {
                status.delivered = delivered
                    .iter()
                    .find(|(name, _)| *name == webhook.name)
                    .map_or(0, |&(_, n)| n as u64);
            }
            let (send, incoming) = unbounded_channel();
            queues.push(send);
            runtime.spawn(deliver(
                Arc::clone(&webhooks),
                index,
                queue,
                incoming,
                jobs.clone(),
                Arc::clone(&status),
            ));
        }
        Ok(Deliveries {
            queues,
            webhooks,
            status,
        })
    }

    /// The webhooks on a ledger in PostgreSQL: a task per webhook,
    /// which delivers its outbox while this instance holds its lock (one
    /// instance at a time does), and otherwise keeps its status as the
    /// outbox says.
    pub(super) fn start_shared(
        runtime: &tokio::runtime::Runtime,
        webhooks: Vec<Webhook>,
        url: &str,
    ) -> Deliveries {
        let webhooks = Arc::new(webhooks);
        let status: Arc<Vec<Mutex<Status>>> =
            Arc::new(webhooks.iter().map(|_| Mutex::default()).collect());
        for index in 0..webhooks.len() {
            let shared = Shared {
                webhooks: Arc::clone(&webhooks),
                index,
                url: url.to_string(),
                status: Arc::clone(&status),
            };
            runtime.spawn(shared.deliver());
        }
        Deliveries {
            queues: Vec::new(),
            webhooks,
            status,
        }
    }

    /// Where deliveries whose transaction is durable go: a handle the
    /// engine's thread gives its commits' callbacks.
    pub fn outlet(&self) -> Outlet {
        Outlet(self.queues.clone())
    }

    /// `GET /v1/webhooks`: each webhook and where its deliveries stand.
    pub fn report(&self) -> Value {
        let list: Vec<Value> = self
            .webhooks
            .iter()
            .zip(self.status.iter())
            .map(|(webhook, status)| {
                let status = status.lock().map(|s| s.clone()).unwrap_or_default();
                json!({
                    "name": webhook.name,
                    "url": webhook.url.to_string(),
                    "kinds": webhook.kind_names,
                    "backlog": status.backlog,
                    "delivered": status.delivered,
                    "attempts": status.attempts,
                    "failing": status.failing,
                    "last_error": status.last_error,
                })
            })
            .collect();
        json!({ "webhooks": list })
    }

    /// The webhooks' lines of the metrics.
    pub fn metrics(&self) -> String {
        let mut out = String::from(
            "# HELP loyalty_webhook_backlog Deliveries waiting, by webhook.\n\
             # TYPE loyalty_webhook_backlog gauge\n",
        );
        let statuses: Vec<Status> = self
            .status
            .iter()
            .map(|s| s.lock().map(|s| s.clone()).unwrap_or_default())
            .collect();
        for (webhook, status) in self.webhooks.iter().zip(&statuses) {
            out.push_str(&format!(
                "loyalty_webhook_backlog{{webhook=\"{}\"}} {}\n",
                webhook.name, status.backlog
            ));
        }
        out.push_str(
            "# HELP loyalty_webhook_failing 1 while a webhook's receiver keeps failing.\n\
             # TYPE loyalty_webhook_failing gauge\n",
        );
        for (webhook, status) in self.webhooks.iter().zip(&statuses) {
            out.push_str(&format!(
                "loyalty_webhook_failing{{webhook=\"{}\"}} {}\n",
                webhook.name,
                u8::from(status.failing)
            ));
        }
        out
    }
}

/// Seconds to wait after the `attempts`th failure: 1, 2, 4, ... an hour.
fn backoff(attempts: i64) -> i64 {
    1i64.checked_shl((attempts - 1).clamp(0, 62) as u32)
        .unwrap_or(MAX_BACKOFF_SECONDS)
        .min(MAX_BACKOFF_SECONDS)
}

fn unix_now() -> i64 {
    jiff::Timestamp::now().as_second()
}

/// One webhook's task: its deliveries in order, each until it succeeds.
async fn deliver(
    webhooks: Arc<Vec<Webhook>>,
    index: usize,
    mut queue: VecDeque<Queued>,
    mut incoming: UnboundedReceiver<Queued>,
    jobs: mpsc::Sender<Job>,
    status: Arc<Vec<Mutex<Status>>>,
) {
    let webhook = &webhooks[index];
    let set = |change: &dyn Fn(&mut Status)| {
        if let Ok(mut status) = status[index].lock() {
            change(&mut status);
        }
    };
    loop {
        while let Ok(queued) = incoming.try_recv() {
            queue.push_back(queued);
        }
        let backlog = queue.len();
        set(&|s| s.backlog = backlog);
        let Some(head) = queue.front_mut() else {
            match incoming.recv().await {
                Some(queued) => queue.push_back(queued),
                None => return,
            }
            continue;
        };
        let now = unix_now();
        if head.next_attempt > now {
            let wait = Duration::from_secs((head.next_attempt - now) as u64);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                received = incoming.recv() => match received {
                    Some(queued) => queue.push_back(queued),
                    None => return,
                },
            }
            continue;
        }
        let result = post(webhook, head.seq, &head.body).await;
        head.attempts += 1;
        let attempt = attempted(webhook, &status[index], head.seq, head.attempts, result);
        head.next_attempt = attempt.next_attempt;
        if attempt.status == DeliveryStatus::Delivered {
            queue.pop_front();
        }
        if jobs.send(Job::Attempt(attempt)).is_err() {
            return;
        }
    }
}

/// One webhook's deliveries from an outbox in PostgreSQL.
struct Shared {
    webhooks: Arc<Vec<Webhook>>,
    index: usize,
    url: String,
    status: Arc<Vec<Mutex<Status>>>,
}

/// How often the outbox is looked at for new deliveries.
const OUTBOX_POLL: Duration = Duration::from_millis(200);

impl Shared {
    /// Delivers the webhook's outbox in order while holding its lock,
    /// each delivery until it succeeds, with the same backoff as on the
    /// embedded ledger; the others' attempts are read from the outbox.
    async fn deliver(self) {
        let webhook = &self.webhooks[self.index];
        let mut connection = Held(None);
        let mut said = false;
        loop {
            let url = self.url.clone();
            let name = webhook.name.clone();
            // The connection goes to a blocking thread and comes back.
            let found = blocking(move || {
                let mut connection = match connection.take() {
                    Some(connection) if !connection.is_closed() => connection,
                    _ => Connection::connect(&url)?,
                };
                let holding = connection.hold_webhook(&name)?;
                let (state, waiting) = connection.outbox(&name, if holding { 100 } else { 0 })?;
                Ok((Held(Some(connection)), holding, state, waiting))
            })
            .await;
            let (held, holding, state, waiting) = match found {
                Ok(found) => found,
                Err(e) => {
                    if !said {
                        eprintln!("webhook `{}` waits for the ledger: {e}", webhook.name);
                        said = true;
                    }
                    connection = Held(None);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            said = false;
            connection = held;
            self.note(&state);
            let Some(head) = waiting.into_iter().next() else {
                let wait = if holding {
                    OUTBOX_POLL
                } else {
                    5 * OUTBOX_POLL
                };
                tokio::time::sleep(wait).await;
                continue;
            };
            let now = unix_now();
            if head.next_attempt > now {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            // In order: the first waiting, until it is made.
            let result = post(webhook, head.seq, &head.body).await;
            let attempt = attempted(
                webhook,
                &self.status[self.index],
                head.seq,
                head.attempts + 1,
                result,
            );
            let mut held = connection;
            let recorded = blocking(move || {
                if let Some(connection) = held.0.as_mut() {
                    connection.record_attempt(&attempt)?;
                }
                Ok(held)
            })
            .await;
            connection = recorded.unwrap_or(Held(None));
        }
    }

    /// The webhook's status as the outbox has it.
    fn note(&self, state: &OutboxState) {
        if let Ok(mut status) = self.status[self.index].lock() {
            status.backlog = state.backlog as usize;
            status.delivered = state.delivered;
            if let Some((attempts, error)) = &state.head {
                status.attempts = *attempts;
                status.failing = *attempts >= FAILING_AFTER;
                if error.is_some() {
                    status.last_error.clone_from(error);
                }
            } else {
                status.attempts = 0;
                status.failing = false;
            }
        }
    }
}

/// A connection the deliverer holds across awaits. Dropped on the
/// runtime's threads (as the runtime stops), it closes on a thread of its
/// own, since the client's close blocks, which the runtime forbids.
struct Held(Option<Connection>);

impl Held {
    fn take(&mut self) -> Option<Connection> {
        self.0.take()
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(connection) = self.0.take() {
            std::thread::spawn(move || drop(connection));
        }
    }
}

/// Work with the ledger's blocking client, off the runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, LedgerError> + Send + 'static,
) -> Result<T, String> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|e| e.to_string()),
        Err(_) => Err("the ledger's work failed".into()),
    }
}

/// The attempt numbered `attempts` at a delivery, as `result` ended
/// it, noted in the webhook's status; a receiver failing for the
/// [`FAILING_AFTER`]th time is reported on standard error.
fn attempted(
    webhook: &Webhook,
    status: &Mutex<Status>,
    seq: i64,
    attempts: i64,
    result: Result<(), String>,
) -> Attempt {
    let now = unix_now();
    let set = |change: &dyn Fn(&mut Status)| {
        if let Ok(mut status) = status.lock() {
            change(&mut status);
        }
    };
    match result {
        Ok(()) => {
            set(&|s| {
                s.delivered += 1;
                s.backlog = s.backlog.saturating_sub(1);
                s.attempts = 0;
                s.failing = false;
            });
            Attempt {
                delivery: seq,
                status: DeliveryStatus::Delivered,
                attempts,
                next_attempt: now,
                error: None,
                delivered_at: Some(Time(now)),
            }
        }
        Err(error) => {
            let failing = attempts >= FAILING_AFTER;
            if attempts == FAILING_AFTER {
                eprintln!(
                    "webhook `{}` keeps failing ({attempts} attempts at delivery {seq}): {error}; \
                     still trying, every {MAX_BACKOFF_SECONDS} seconds at most",
                    webhook.name
                );
            }
            set(&|s| {
                s.attempts = attempts;
                s.failing = failing;
                s.last_error = Some(error.clone());
            });
            Attempt {
                delivery: seq,
                status: if failing {
                    DeliveryStatus::Failing
                } else {
                    DeliveryStatus::Pending
                },
                attempts,
                next_attempt: now + backoff(attempts),
                error: Some(error),
                delivered_at: None,
            }
        }
    }
}

/// One attempt: a POST of the body, signed, answered 2xx in time.
async fn post(webhook: &Webhook, seq: i64, body: &str) -> Result<(), String> {
    let host = webhook.url.host().unwrap_or("localhost");
    let port = webhook.url.port_u16().unwrap_or(80);
    let path = webhook
        .url
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let attempt = async {
        let stream = tokio::net::TcpStream::connect((host, port))
            .await
            .map_err(|e| format!("cannot connect: {e}"))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        tokio::spawn(connection);
        let request = Request::post(path)
            .header(header::HOST, host)
            .header(header::CONTENT_TYPE, "application/json")
            .header("Loyalty-Delivery", seq.to_string())
            .header(
                "Loyalty-Signature",
                signature(&webhook.secret, unix_now(), body),
            )
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| format!("HTTP: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("HTTP: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("answered {}", response.status()))
        }
    };
    match tokio::time::timeout(TIMEOUT, attempt).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer in {} seconds", TIMEOUT.as_secs())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_receiver_is_tried_again_ever_later_up_to_an_hour_apart() {
        let waits: Vec<i64> = (1..=14).map(backoff).collect();
        assert_eq!(
            waits,
            [
                1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600
            ]
        );
        assert_eq!(backoff(1_000_000), 3600);
    }

    #[test]
    fn a_webhook_file_names_each_mistake() {
        let entry = |kinds: &[&str], url: &str, secret: &str| Entry {
            name: None,
            url: url.to_string(),
            kinds: kinds.iter().map(|k| k.to_string()).collect(),
            secret: Some(secret.to_string()),
            secret_env: None,
        };
        let secret = "0123456789abcdef";
        let good = parse(entry(&["tier_changed"], "http://crm:9000/hook", secret)).unwrap();
        assert_eq!(good.name, "http://crm:9000/hook");
        assert_eq!(
            parse(entry(&["tier_change"], "http://crm/hook", secret)).unwrap_err(),
            "`tier_change` is no effect kind (did you mean `tier_changed`?)"
        );
        assert!(
            parse(entry(&["tier_changed"], "https://crm/hook", secret))
                .unwrap_err()
                .starts_with("`url` is https")
        );
        assert_eq!(
            parse(entry(&["tier_changed"], "http://crm/hook", "short")).unwrap_err(),
            "the secret must be at least 16 characters"
        );
    }
}
