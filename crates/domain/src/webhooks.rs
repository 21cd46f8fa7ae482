//! Webhooks ([`gatehouse_core::webhooks`], `docs/webhooks.md`): a product's
//! endpoints receive its events, signed per the Standard Webhooks specification.
//!
//! ```text
//!  a change ──emit──▶ one outbox row per subscribed endpoint (same transaction order)
//!  worker ──claim (lease)──▶ POST {type, timestamp, data}
//!         webhook-id: msg_…  webhook-timestamp: unix seconds
//!         webhook-signature: v1,base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}"))
//!         2xx: delivered · else: retried with backoff, then failed ("Resend" retries)
//! ```
//!
//! Deliveries of one endpoint with the same ordering key (the connection) go one at a
//! time, oldest first: a later event waits while an earlier one is being retried, so
//! a receiver sees each connection's events in order, each once when it answers 2xx.
//! Endpoint URLs go through the same outbound guard as metadata URLs.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use gatehouse_core::audit::AuditAction;
use gatehouse_core::paging;
use gatehouse_core::webhooks::{
    CreatedWebhookEndpoint, DeliveryState, WebhookDeliveryView, WebhookEndpointView, WebhookEvent,
    DELIVERIES_PER_PAGE,
};
use gatehouse_core::FieldError;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

use crate::access::Access;
use crate::audit::{self, AuditEntry, AuditLog};
use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::outbound::{Fetch, Outbound};
use crate::ports::WebhookStore;
use crate::rate_limit::RateLimiter;
use crate::scope::ProductScope;
use crate::secret_box::SecretBox;
use crate::settings::DomainSettings;
use crate::tokens::{new_id, random_bytes, sortable_id};

/// Attempts before a delivery is marked failed.
pub const MAX_ATTEMPTS: u32 = 8;
/// Wait after the n-th failed attempt (the last one repeats).
const BACKOFF_SECS: [i64; 7] = [5, 30, 120, 600, 1800, 3600, 7200];
/// How long a claimed delivery is the claimer's (longer than one request's timeout).
const LEASE: Duration = Duration::seconds(60);
/// Deliveries one pass sends.
pub const BATCH: u32 = 20;
/// Endpoints per product.
const MAX_ENDPOINTS: usize = 10;
/// `sign_in.failed` events per connection per minute.
const SIGN_IN_FAILED_PER_MINUTE: u32 = 1;

fn secret_context(endpoint_id: &str) -> String {
    format!("webhook-secret:{endpoint_id}")
}

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub product_id: String,
    pub url: String,
    pub description: String,
    /// Sealed by [`SecretBox`] with context `webhook-secret:{id}`: `whsec_…`.
    pub secret_sealed: String,
    /// Empty: every event.
    pub events: Vec<WebhookEvent>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    fn wants(&self, event: WebhookEvent) -> bool {
        self.enabled && (self.events.is_empty() || self.events.contains(&event))
    }

    pub fn view(&self) -> WebhookEndpointView {
        WebhookEndpointView {
            id: self.id.clone(),
            url: self.url.clone(),
            description: self.description.clone(),
            events: self.events.clone(),
            enabled: self.enabled,
            created_at: self.created_at,
        }
    }
}

/// One message to one endpoint, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// The message id (`webhook-id`).
    pub id: String,
    pub endpoint_id: String,
    pub product_id: String,
    pub event: WebhookEvent,
    /// Deliveries with the same key go in order (the connection id).
    pub order_key: String,
    pub payload: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl WebhookDelivery {
    pub fn view(&self) -> WebhookDeliveryView {
        WebhookDeliveryView {
            id: self.id.clone(),
            endpoint_id: self.endpoint_id.clone(),
            event: self.event,
            state: self.state,
            attempts: self.attempts,
            last_status: self.last_status,
            last_error: self.last_error.clone(),
            created_at: self.created_at,
            next_attempt_at: self.next_attempt_at,
            delivered_at: self.delivered_at,
            payload: self.payload.clone(),
        }
    }
}

/// How one attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered {
        status: u16,
    },
    Retry {
        status: Option<u16>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    Failed {
        status: Option<u16>,
        error: String,
    },
}

/// `v1,<base64 HMAC-SHA256>` of `{id}.{timestamp}.{body}` with the secret's key (the
/// base64 after `whsec_`).
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| "the endpoint's secret is not base64".to_string())?;
    let pkey = openssl::pkey::PKey::hmac(&key).map_err(|e| e.to_string())?;
    let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &pkey)
        .map_err(|e| e.to_string())?;
    signer
        .update(format!("{id}.{timestamp}.{body}").as_bytes())
        .map_err(|e| e.to_string())?;
    let mac = signer.sign_to_vec().map_err(|e| e.to_string())?;
    Ok(format!("v1,{}", STANDARD.encode(mac)))
}

/// Where changes hand their events: one outbox row per subscribed endpoint.
#[derive(Clone)]
pub struct WebhookOutbox {
    pub(crate) store: Arc<dyn WebhookStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) wake: Arc<tokio::sync::Notify>,
    sign_in_failures: Arc<RateLimiter>,
}

impl WebhookOutbox {
    pub fn new(store: Arc<dyn WebhookStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            wake: Arc::default(),
            sign_in_failures: Arc::new(RateLimiter::per_minute(SIGN_IN_FAILED_PER_MINUTE)),
        }
    }

    /// Queue `event` for the product's endpoints that want it. A failure is logged:
    /// the change it tells of is already stored.
    pub async fn emit(&self, product_id: &str, event: WebhookEvent, order_key: &str, data: Value) {
        if let Err(e) = self.try_emit(product_id, event, order_key, data).await {
            tracing::error!(product_id, event = event.as_str(), error = %e, "a webhook event was not queued");
        }
    }

    /// `sign_in.failed`, at most [`SIGN_IN_FAILED_PER_MINUTE`] per connection.
    pub async fn sign_in_failed(&self, product_id: &str, connection_id: &str, data: Value) {
        if self.sign_in_failures.allow(connection_id, self.clock.now()) {
            self.emit(product_id, WebhookEvent::SignInFailed, connection_id, data)
                .await;
        }
    }

    async fn try_emit(
        &self,
        product_id: &str,
        event: WebhookEvent,
        order_key: &str,
        data: Value,
    ) -> DomainResult<()> {
        let endpoints = self.store.webhook_endpoints(product_id).await?;
        let now = self.clock.now();
        let body = json!({
            "type": event.as_str(),
            "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "data": data,
        })
        .to_string();
        let deliveries: Vec<WebhookDelivery> = endpoints
            .iter()
            .filter(|e| e.wants(event))
            .map(|e| WebhookDelivery {
                id: sortable_id("msg", now),
                endpoint_id: e.id.clone(),
                product_id: product_id.to_string(),
                event,
                order_key: order_key.to_string(),
                payload: body.clone(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_at: Some(now),
                lease_until: None,
                last_status: None,
                last_error: None,
                created_at: now,
                delivered_at: None,
            })
            .collect();
        if deliveries.is_empty() {
            return Ok(());
        }
        self.store.enqueue_webhooks(&deliveries).await?;
        self.wake.notify_one();
        Ok(())
    }
}

/// Endpoints, deliveries and the delivery worker.
#[derive(Clone)]
pub struct Webhooks {
    pub(crate) store: Arc<dyn WebhookStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: DomainSettings,
    pub(crate) secrets: SecretBox,
    pub(crate) access: Access,
    pub(crate) fetch: Arc<dyn Fetch>,
    pub(crate) outbox: WebhookOutbox,
    pub(crate) audit: AuditLog,
}

impl Webhooks {
    pub fn outbox(&self) -> &WebhookOutbox {
        &self.outbox
    }

    /// Resolves when an event was queued (the worker's wake-up call).
    pub async fn woken(&self) {
        self.outbox.wake.notified().await
    }

    pub async fn endpoints(&self, scope: &ProductScope) -> DomainResult<Vec<WebhookEndpointView>> {
        Ok(self
            .store
            .webhook_endpoints(&scope.product().id)
            .await?
            .iter()
            .map(WebhookEndpoint::view)
            .collect())
    }

    /// A new endpoint; its secret is in the answer only.
    pub async fn create_endpoint(
        &self,
        scope: &ProductScope,
        url: &str,
        description: &str,
        events: &[String],
    ) -> DomainResult<CreatedWebhookEndpoint> {
        let url = self.check_url(url)?;
        let events = parse_events(events)?;
        let description: String = description.trim().chars().take(200).collect();
        if self
            .store
            .webhook_endpoints(&scope.product().id)
            .await?
            .len()
            >= MAX_ENDPOINTS
        {
            return Err(FieldError::new(
                "url",
                format!("A product has at most {MAX_ENDPOINTS} webhook endpoints."),
            )
            .into());
        }
        let id = new_id("whep");
        let secret = format!("whsec_{}", STANDARD.encode(random_bytes(24)));
        let endpoint = WebhookEndpoint {
            secret_sealed: self
                .secrets
                .seal_str(&secret_context(&id), &SecretString::from(secret.clone()))?,
            id,
            product_id: scope.product().id.clone(),
            url,
            description,
            events,
            enabled: true,
            created_at: self.clock.now(),
        };
        self.store.create_webhook_endpoint(&endpoint).await?;
        tracing::info!(product_id = %endpoint.product_id, endpoint_id = %endpoint.id, "webhook endpoint created");
        self.audit
            .record(AuditEntry::on_product(
                scope,
                AuditAction::WebhookCreated,
                &endpoint.id,
                Some(&endpoint.url),
                audit::created(&vec![
                    ("url", endpoint.url.clone()),
                    ("description", endpoint.description.clone()),
                    ("events", events_text(&endpoint.events)),
                ]),
            ))
            .await;
        Ok(CreatedWebhookEndpoint {
            endpoint: endpoint.view(),
            secret,
        })
    }

    pub async fn delete_endpoint(&self, scope: &ProductScope, id: &str) -> DomainResult<()> {
        let endpoint = self
            .store
            .webhook_endpoint(&scope.product().id, id)
            .await?
            .ok_or(DomainError::NotFound)?;
        if !self
            .store
            .delete_webhook_endpoint(&scope.product().id, id)
            .await?
        {
            return Err(DomainError::NotFound);
        }
        self.audit
            .record(AuditEntry::on_product(
                scope,
                AuditAction::WebhookDeleted,
                id,
                Some(&endpoint.url),
                Vec::new(),
            ))
            .await;
        Ok(())
    }

    /// An endpoint's deliveries, newest first.
    /// One page of an endpoint's deliveries, newest first (`limit` 0: the default).
    pub async fn deliveries(
        &self,
        scope: &ProductScope,
        endpoint_id: &str,
        offset: u32,
        limit: u32,
    ) -> DomainResult<Vec<WebhookDeliveryView>> {
        self.store
            .webhook_endpoint(&scope.product().id, endpoint_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        Ok(self
            .store
            .webhook_deliveries(
                &scope.product().id,
                endpoint_id,
                offset,
                paging::page_size(limit, DELIVERIES_PER_PAGE),
            )
            .await?
            .iter()
            .map(WebhookDelivery::view)
            .collect())
    }

    /// Send a delivery again, whatever became of it (same message id).
    pub async fn resend(&self, scope: &ProductScope, delivery_id: &str) -> DomainResult<()> {
        if !self
            .store
            .resend_webhook(&scope.product().id, delivery_id, self.clock.now())
            .await?
        {
            return Err(DomainError::NotFound);
        }
        self.outbox.wake.notify_one();
        Ok(())
    }

    fn check_url(&self, raw: &str) -> DomainResult<String> {
        let raw = raw.trim();
        let url = url::Url::parse(raw).map_err(|_| {
            FieldError::new(
                "url",
                "Enter the endpoint's URL, e.g. https://example.com/webhooks/gatehouse.",
            )
        })?;
        let allowed = match url.scheme() {
            "https" => true,
            "http" => self.settings.sso.allow_private_metadata_urls,
            _ => false,
        };
        if !allowed || url.host_str().is_none() || raw.len() > 2000 {
            return Err(FieldError::new("url", "The endpoint's URL must use https.").into());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(FieldError::new(
                "url",
                "Put no credentials in the URL: verify the signature instead.",
            )
            .into());
        }
        Ok(url.to_string())
    }

    /// One worker pass: claim due deliveries and send each. Returns how many.
    pub async fn run_delivery_pass(&self) -> DomainResult<usize> {
        let now = self.clock.now();
        let claimed = self.store.claim_webhooks(now, now + LEASE, BATCH).await?;
        for (delivery, endpoint) in &claimed {
            let outcome = self.attempt(delivery, endpoint).await;
            match &outcome {
                AttemptOutcome::Delivered { .. } => {
                    metrics::counter!("gatehouse_webhook_attempts_total", "outcome" => "delivered")
                        .increment(1)
                }
                AttemptOutcome::Retry { .. } => {
                    metrics::counter!("gatehouse_webhook_attempts_total", "outcome" => "retry")
                        .increment(1)
                }
                AttemptOutcome::Failed { .. } => {
                    metrics::counter!("gatehouse_webhook_attempts_total", "outcome" => "failed")
                        .increment(1)
                }
            }
            if let Some(lease) = delivery.lease_until {
                self.store
                    .finish_webhook(&delivery.id, lease, &outcome, self.clock.now())
                    .await?;
            }
        }
        Ok(claimed.len())
    }

    async fn attempt(&self, d: &WebhookDelivery, e: &WebhookEndpoint) -> AttemptOutcome {
        let attempts = d.attempts + 1;
        let failed = |status: Option<u16>, error: String| {
            if attempts >= MAX_ATTEMPTS {
                AttemptOutcome::Failed { status, error }
            } else {
                let wait = BACKOFF_SECS
                    .get(d.attempts as usize)
                    .or(BACKOFF_SECS.last())
                    .copied()
                    .unwrap_or(3600);
                AttemptOutcome::Retry {
                    status,
                    error,
                    next_attempt_at: self.clock.now() + Duration::seconds(wait),
                }
            }
        };
        let secret = match self
            .secrets
            .open_str(&secret_context(&e.id), &e.secret_sealed)
        {
            Ok(s) => s,
            Err(err) => {
                return failed(None, format!("the endpoint's secret cannot be read: {err}"))
            }
        };
        let timestamp = self.clock.now().timestamp();
        let signed = match signature(secret.expose_secret(), &d.id, timestamp, &d.payload) {
            Ok(s) => s,
            Err(err) => return failed(None, err),
        };
        let request = Outbound {
            method: reqwest::Method::POST,
            url: e.url.clone(),
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("user-agent".into(), "Gatehouse-Webhooks".into()),
                ("webhook-id".into(), d.id.clone()),
                ("webhook-timestamp".into(), timestamp.to_string()),
                ("webhook-signature".into(), signed),
            ],
            body: d.payload.clone().into_bytes(),
        };
        match self.fetch.send(request).await {
            Ok(answer) if (200..300).contains(&answer.status) => AttemptOutcome::Delivered {
                status: answer.status,
            },
            Ok(answer) => failed(
                Some(answer.status),
                format!("the endpoint answered {}", answer.status),
            ),
            Err(err) => failed(None, err.to_string()),
        }
    }
}

/// What a connection event says of the connection (nothing secret).
pub fn connection_data(c: &crate::model::Connection) -> Value {
    json!({
        "connectionId": c.id,
        "product": c.product_id,
        "tenant": c.tenant,
        "name": c.name,
        "clientID": c.client_id,
        "protocol": c.idp.protocol(),
        "enabled": c.enabled,
    })
}

/// The dashboard's calls: each starts from the caller's team membership.
impl Webhooks {
    async fn scope(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        write: bool,
    ) -> DomainResult<ProductScope> {
        let (_, scope) = self
            .access
            .dashboard_product(user_id, team_id, product_id, write)
            .await?;
        Ok(scope)
    }

    pub async fn dashboard_endpoints(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<Vec<WebhookEndpointView>> {
        let scope = self.scope(user_id, team_id, product_id, false).await?;
        self.endpoints(&scope).await
    }

    pub async fn dashboard_create_endpoint(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        url: &str,
        description: &str,
        events: &[String],
    ) -> DomainResult<CreatedWebhookEndpoint> {
        let scope = self.scope(user_id, team_id, product_id, true).await?;
        self.create_endpoint(&scope, url, description, events).await
    }

    pub async fn dashboard_delete_endpoint(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        endpoint_id: &str,
    ) -> DomainResult<()> {
        let scope = self.scope(user_id, team_id, product_id, true).await?;
        self.delete_endpoint(&scope, endpoint_id).await
    }

    pub async fn dashboard_deliveries(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        endpoint_id: &str,
        offset: u32,
    ) -> DomainResult<Vec<WebhookDeliveryView>> {
        let scope = self.scope(user_id, team_id, product_id, false).await?;
        self.deliveries(&scope, endpoint_id, offset, DELIVERIES_PER_PAGE)
            .await
    }

    pub async fn dashboard_resend(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        delivery_id: &str,
    ) -> DomainResult<()> {
        let scope = self.scope(user_id, team_id, product_id, true).await?;
        self.resend(&scope, delivery_id).await
    }
}

fn parse_events(raw: &[String]) -> Result<Vec<WebhookEvent>, FieldError> {
    let mut events = Vec::new();
    for name in raw.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if name == "*" {
            return Ok(Vec::new());
        }
        let event = WebhookEvent::parse(name).ok_or_else(|| {
            FieldError::new("events", format!("{name} is not an event Gatehouse sends."))
        })?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    Ok(events)
}

fn events_text(events: &[WebhookEvent]) -> String {
    if events.is_empty() {
        "all".into()
    } else {
        events
            .iter()
            .map(|e| e.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, id, 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn events_are_checked() {
        assert_eq!(parse_events(&["*".into()]), Ok(Vec::new()));
        assert_eq!(
            parse_events(&["connection.created".into(), "connection.created".into()]),
            Ok(vec![WebhookEvent::ConnectionCreated])
        );
        assert!(parse_events(&["connection.exploded".into()]).is_err());
    }
}
