//! Recording sign-in traces ([`gatehouse_core::traces`]).
//!
//! A sign-in fills a [`TraceDraft`] as it learns things (the connection, the
//! subject), and [`TraceLog::record`] hands the finished draft to a writer task
//! through a bounded queue. The sign-in never waits for the database: when the queue
//! is full, or a connection's failures come faster than
//! [`FAILURES_PER_CONNECTION_PER_MINUTE`], the trace is dropped and counted. The
//! writer redacts the IdP's response (off the sign-in's path) and stores traces in
//! batches.
//!
//! Attempts that cannot be tied to a product (an unknown issuer, a state that names
//! nothing) are not stored: nobody could see them, and anyone could send them. They
//! are in the log under their reference id.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use gatehouse_core::traces::{FailureReason, SignInKind, SignInTrace, TraceOutcome, TracePurpose};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::error::reference_id;
use crate::model::{Connection, LoginPurpose, LoginTarget, PendingLogin};
use crate::ports::TraceStore;
use crate::rate_limit::RateLimiter;
use crate::saml::redact;
use crate::sso::acs::AcsOutcome;
use crate::sso::error::LoginError;
use crate::sso::profile::Profile;
use crate::tokens::sortable_id;
use crate::webhooks::WebhookOutbox;

/// Traces waiting for the writer; past this, new ones are dropped.
const QUEUE: usize = 2048;
/// Most traces the writer stores in one statement.
const BATCH: usize = 256;
/// How long the writer gathers traces before storing them: on SQLite the insert
/// takes the database's write lock, which sign-ins also need, so a few large writes
/// cost them far less than one small write per sign-in.
const GATHER: std::time::Duration = std::time::Duration::from_millis(500);
/// Failed sign-ins traced per connection per minute (anyone can send failures).
pub const FAILURES_PER_CONNECTION_PER_MINUTE: u32 = 120;
/// Responses larger than this are not queued for redaction (their trace says so).
const MAX_QUEUED_RESPONSE: usize = 256 * 1024;
/// The responses waiting in the queue hold at most this many bytes together; past
/// it, a trace is queued without its response (a stalled writer under a flood of
/// large responses would otherwise hold the queue's length times their size).
const MAX_QUEUED_BYTES: usize = 32 * 1024 * 1024;

/// What the identity provider sent, as received; redacted by the writer.
#[derive(Debug, Clone)]
pub enum IdpResponse {
    /// The posted `SAMLResponse` (base64).
    Saml(Arc<str>),
    /// The OIDC callback's parameters and what the token endpoint answered, already
    /// without codes and tokens.
    Oidc(Value),
    /// Why the response is not in the trace.
    NotKept(String),
}

/// Bytes of a queued response, counted in the queue's total until dropped.
struct Reserved {
    bytes: usize,
    total: Arc<AtomicUsize>,
}

impl Drop for Reserved {
    fn drop(&mut self) {
        self.total.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// A trace on its way to the writer.
struct Queued {
    trace: SignInTrace,
    response: Option<IdpResponse>,
    _reserved: Option<Reserved>,
}

/// What one sign-in attempt has shown so far.
#[derive(Debug)]
pub struct TraceDraft {
    kind: SignInKind,
    purpose: TracePurpose,
    product_id: Option<String>,
    connection_id: Option<String>,
    tenant: Option<String>,
    client_id: Option<String>,
    subject: Option<String>,
    email: Option<String>,
    response: Option<IdpResponse>,
    /// A failure shown on a test result page (the request itself succeeded).
    failure: Option<(FailureReason, String)>,
}

impl TraceDraft {
    pub fn new(kind: SignInKind, response: IdpResponse) -> Self {
        Self {
            kind,
            purpose: TracePurpose::App,
            product_id: None,
            connection_id: None,
            tenant: None,
            client_id: None,
            subject: None,
            email: None,
            response: Some(response),
            failure: None,
        }
    }

    pub fn idp_initiated(&mut self) {
        self.kind = SignInKind::SamlIdpInitiated;
    }

    /// The saved connection the attempt is for.
    pub fn connection(&mut self, c: &Connection) {
        self.product_id = Some(c.product_id.clone());
        self.connection_id = Some(c.id.clone());
        self.tenant = Some(c.tenant.clone());
        self.client_id = Some(c.client_id.clone()).filter(|id| !id.is_empty());
    }

    /// The pending sign-in the answer is for, and what it is checked against (a
    /// setup link's unsaved settings have no connection id).
    pub fn pending(&mut self, p: &PendingLogin, c: &Connection) {
        self.purpose = match p.purpose {
            LoginPurpose::App => TracePurpose::App,
            LoginPurpose::Test { .. } => TracePurpose::Test,
        };
        self.product_id = Some(c.product_id.clone());
        self.tenant = Some(c.tenant.clone());
        if let LoginTarget::Connection(id) = &p.target {
            self.connection_id = Some(id.clone());
            self.client_id = Some(c.client_id.clone()).filter(|id| !id.is_empty());
        }
    }

    /// The user as the IdP names them (SAML NameID, OIDC `sub`).
    pub fn subject(&mut self, sub: &str) {
        self.subject = Some(sub.to_string());
    }

    pub fn accepted(&mut self, profile: &Profile) {
        self.email = profile.email.clone();
    }

    /// A test sign-in failed: the admin sees a result page, the trace a failure.
    pub fn failed(&mut self, e: &LoginError) {
        self.failure = Some((e.reason, e.detail.clone()));
    }

    /// Add what the IdP's token endpoint or userinfo said (OIDC).
    pub fn add_oidc(&mut self, key: &str, value: impl FnOnce() -> Value) {
        if let Some(IdpResponse::Oidc(Value::Object(map))) = &mut self.response {
            map.insert(key.to_string(), value());
        }
    }
}

enum Message {
    Trace(Box<Queued>),
    Flush(oneshot::Sender<()>),
}

/// Where sign-ins hand their traces.
#[derive(Clone)]
pub struct TraceLog(Arc<Inner>);

struct Inner {
    queue: Option<mpsc::Sender<Message>>,
    dropped: AtomicU64,
    failures: RateLimiter,
    /// `false`: traces are switched off, nothing is recorded or counted.
    on: bool,
    /// Bytes of the responses in the queue, and their limit.
    queued_bytes: Arc<AtomicUsize>,
    byte_budget: usize,
}

impl TraceLog {
    /// A log whose writer task runs on the current Tokio runtime (none outside one:
    /// traces are then dropped and counted).
    /// Failed app sign-ins are also told to the product's webhooks
    /// (`sign_in.failed`, rate-limited per connection).
    pub fn start(store: Arc<dyn TraceStore>, webhooks: WebhookOutbox) -> Self {
        let queue = tokio::runtime::Handle::try_current().ok().map(|rt| {
            let (tx, rx) = mpsc::channel(QUEUE);
            rt.spawn(write(store, webhooks, rx));
            tx
        });
        Self(Arc::new(Inner {
            queue,
            dropped: AtomicU64::new(0),
            failures: RateLimiter::per_minute(FAILURES_PER_CONNECTION_PER_MINUTE),
            on: true,
            queued_bytes: Arc::default(),
            byte_budget: MAX_QUEUED_BYTES,
        }))
    }

    /// A log that keeps nothing (`GATEHOUSE_TRACE_RETENTION_DAYS=0`).
    pub fn off() -> Self {
        Self(Arc::new(Inner {
            queue: None,
            dropped: AtomicU64::new(0),
            failures: RateLimiter::per_minute(0),
            on: false,
            queued_bytes: Arc::default(),
            byte_budget: 0,
        }))
    }

    /// Queue the trace of a finished attempt; never waits.
    pub fn record(
        &self,
        draft: TraceDraft,
        result: &Result<AcsOutcome, LoginError>,
        now: DateTime<Utc>,
    ) {
        if !self.0.on {
            return;
        }
        let Some(product) = draft.product_id else {
            return;
        };
        let (outcome, reason, detail) = match (result, draft.failure) {
            (Err(e), _) => (
                TraceOutcome::Failure,
                Some(e.reason),
                Some(e.detail.clone()),
            ),
            (Ok(_), Some((reason, detail))) => (TraceOutcome::Failure, Some(reason), Some(detail)),
            (Ok(_), None) => (TraceOutcome::Success, None, None),
        };
        if outcome == TraceOutcome::Failure {
            let key = draft.connection_id.as_deref().unwrap_or(&product);
            if !self.0.failures.allow(key, now) {
                self.0.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        let trace = SignInTrace {
            id: sortable_id("trc", now),
            created_at: now,
            product,
            connection_id: draft.connection_id,
            tenant: draft.tenant,
            client_id: draft.client_id,
            kind: draft.kind,
            purpose: draft.purpose,
            outcome,
            reason,
            detail,
            subject: draft.subject,
            email: draft.email,
            reference_id: reference_id(),
            idp_response: None,
        };
        let (response, reserved) = match draft.response {
            Some(IdpResponse::Saml(raw)) => self.reserve(raw),
            other => (other, None),
        };
        let queued = Queued {
            trace,
            response,
            _reserved: reserved,
        };
        let sent = self
            .0
            .queue
            .as_ref()
            .is_some_and(|q| q.try_send(Message::Trace(Box::new(queued))).is_ok());
        if !sent {
            self.0.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Are traces kept? When not, a caller can skip preparing what only a trace uses.
    pub fn is_on(&self) -> bool {
        self.0.on
    }

    /// A SAML response to queue, counted against the queue's byte budget; one too
    /// large, or past the budget, is replaced by a note saying why.
    fn reserve(&self, raw: Arc<str>) -> (Option<IdpResponse>, Option<Reserved>) {
        let bytes = raw.len();
        if bytes > MAX_QUEUED_RESPONSE {
            let note = format!("(not kept: {bytes} bytes)");
            return (Some(IdpResponse::NotKept(note)), None);
        }
        let total = &self.0.queued_bytes;
        if total.fetch_add(bytes, Ordering::Relaxed) + bytes > self.0.byte_budget {
            total.fetch_sub(bytes, Ordering::Relaxed);
            let note = "(not kept: too many responses were waiting to be stored)".to_string();
            return (Some(IdpResponse::NotKept(note)), None);
        }
        let reserved = Reserved {
            bytes,
            total: total.clone(),
        };
        (Some(IdpResponse::Saml(raw)), Some(reserved))
    }

    /// Traces dropped since start (queue full, failure limit, no writer).
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// Wait until every trace queued before this call is stored (shutdown, tests).
    pub async fn flush(&self) {
        let Some(queue) = &self.0.queue else {
            return;
        };
        let (done, stored) = oneshot::channel();
        if queue.send(Message::Flush(done)).await.is_ok() {
            let _ = stored.await;
        }
    }
}

/// The writer: gathers what is queued for up to [`GATHER`] (at most [`BATCH`]; a
/// flush ends the wait), redacts the responses on the blocking pool, stores them in
/// one write.
async fn write(
    store: Arc<dyn TraceStore>,
    webhooks: WebhookOutbox,
    mut queue: mpsc::Receiver<Message>,
) {
    while let Some(first) = queue.recv().await {
        let mut batch = Vec::new();
        let mut flushed = Vec::new();
        let deadline = tokio::time::Instant::now() + GATHER;
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Trace(t) => batch.push(*t),
                Message::Flush(done) => flushed.push(done),
            }
            if batch.len() < BATCH && flushed.is_empty() {
                next = tokio::time::timeout_at(deadline, queue.recv())
                    .await
                    .ok()
                    .flatten();
            }
        }
        if !batch.is_empty() {
            let traces = tokio::task::spawn_blocking(move || {
                batch
                    .into_iter()
                    .map(|queued| {
                        let mut trace = queued.trace;
                        trace.idp_response = queued.response.map(|r| redacted(&r));
                        trace
                    })
                    .collect::<Vec<_>>()
            })
            .await;
            match traces {
                Ok(traces) => {
                    if let Err(e) = store.insert_traces(&traces).await {
                        tracing::warn!(error = %e, count = traces.len(), "sign-in traces were not stored");
                    }
                    for t in &traces {
                        if let (TraceOutcome::Failure, TracePurpose::App, Some(connection)) =
                            (t.outcome, t.purpose, &t.connection_id)
                        {
                            webhooks
                                .sign_in_failed(
                                    &t.product,
                                    connection,
                                    serde_json::json!({
                                        "traceId": t.id,
                                        "connectionId": connection,
                                        "tenant": t.tenant,
                                        "kind": t.kind,
                                        "reason": t.reason,
                                        "referenceId": t.reference_id,
                                    }),
                                )
                                .await;
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "redacting sign-in traces failed"),
            }
        }
        for done in flushed {
            let _ = done.send(());
        }
    }
}

fn redacted(response: &IdpResponse) -> String {
    match response {
        IdpResponse::Saml(raw) => redact::redact_encoded(raw),
        IdpResponse::NotKept(note) => note.clone(),
        IdpResponse::Oidc(value) => redact::cap(
            &serde_json::to_string_pretty(&redact_json(value.clone())).unwrap_or_default(),
        ),
    }
}

/// Keys whose values are never kept: codes, tokens and secrets.
const SECRET_KEYS: &[&str] = &[
    "code",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "code_verifier",
    "password",
];

/// `value` with the values of [`SECRET_KEYS`] replaced, at any depth.
pub fn redact_json(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    if SECRET_KEYS.contains(&k.as_str()) {
                        (k, Value::String("[redacted]".into()))
                    } else {
                        (k, redact_json(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_json).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_and_tokens_are_never_kept() {
        let out = redact_json(json!({
            "callback": {"code": "c0de", "state": "s", "iss": "https://idp"},
            "token": {"access_token": "at", "nested": [{"refresh_token": "rt"}]},
        }));
        let text = out.to_string();
        for secret in ["c0de", "\"at\"", "rt"] {
            assert!(!text.contains(secret), "{secret}: {text}");
        }
        assert_eq!(out["callback"]["state"], "s");
    }

    #[tokio::test]
    async fn a_log_without_a_writer_counts_what_it_drops() {
        let log = TraceLog(Arc::new(Inner {
            queue: None,
            dropped: AtomicU64::new(0),
            failures: RateLimiter::per_minute(1),
            on: true,
            queued_bytes: Arc::default(),
            byte_budget: MAX_QUEUED_BYTES,
        }));
        let mut draft = TraceDraft::new(SignInKind::Oidc, IdpResponse::Oidc(json!({})));
        draft.product_id = Some("p".into());
        log.record(
            draft,
            &Ok(AcsOutcome::ToApp("x".into())),
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(log.dropped(), 1);
        log.flush().await;
    }

    fn saml_draft(bytes: usize) -> TraceDraft {
        let mut draft = TraceDraft::new(
            SignInKind::Saml,
            IdpResponse::Saml("A".repeat(bytes).into()),
        );
        draft.product_id = Some("p".into());
        draft
    }

    fn response_of(message: Option<Message>) -> String {
        match message {
            Some(Message::Trace(q)) => match &q.response {
                Some(r @ IdpResponse::NotKept(_)) => redacted(r),
                Some(IdpResponse::Saml(raw)) => format!("kept {}", raw.len()),
                _ => "other".into(),
            },
            _ => "nothing".into(),
        }
    }

    #[tokio::test]
    async fn queued_responses_stay_within_their_byte_budget() {
        let (tx, mut rx) = mpsc::channel(16);
        let log = TraceLog(Arc::new(Inner {
            queue: Some(tx),
            dropped: AtomicU64::new(0),
            failures: RateLimiter::per_minute(100),
            on: true,
            queued_bytes: Arc::default(),
            byte_budget: 2500,
        }));
        let ok = Ok(AcsOutcome::ToApp("x".into()));
        for _ in 0..3 {
            log.record(saml_draft(1000), &ok, DateTime::UNIX_EPOCH);
        }
        log.record(
            saml_draft(MAX_QUEUED_RESPONSE + 1),
            &ok,
            DateTime::UNIX_EPOCH,
        );
        assert_eq!(response_of(rx.recv().await), "kept 1000");
        // the writer took the first: its bytes are free once it is done with it
        assert_eq!(log.0.queued_bytes.load(Ordering::Relaxed), 1000);
        assert_eq!(response_of(rx.recv().await), "kept 1000");
        assert_eq!(
            response_of(rx.recv().await),
            "(not kept: too many responses were waiting to be stored)"
        );
        assert_eq!(
            response_of(rx.recv().await),
            format!("(not kept: {} bytes)", MAX_QUEUED_RESPONSE + 1)
        );
        assert_eq!(log.0.queued_bytes.load(Ordering::Relaxed), 0);
        log.record(saml_draft(2000), &ok, DateTime::UNIX_EPOCH);
        assert_eq!(response_of(rx.recv().await), "kept 2000");
        assert_eq!(log.dropped(), 0, "the traces themselves are all kept");
    }
}
