//! Webhook endpoints and the delivery outbox (leased rows, as `ory_sync.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_core::webhooks::{DeliveryState, WebhookEvent};
use gatehouse_domain::ports::{StoreError, StoreResult, WebhookStore};
use gatehouse_domain::webhooks::{AttemptOutcome, WebhookDelivery, WebhookEndpoint};
use sqlx::any::AnyRow;

use crate::rows::{ms, opt_ms, RowExt};
use crate::{map_err, SqlStore};

const ENDPOINT: &str =
    "e.id AS e_id, e.product_id AS e_product_id, e.url AS e_url, e.description AS e_description, \
     e.secret_sealed AS e_secret_sealed, e.events AS e_events, e.enabled AS e_enabled, e.created_at AS e_created_at";
const DELIVERY: &str = "d.id, d.endpoint_id, d.product_id, d.event, d.order_key, d.payload, d.state, \
     d.attempts, d.next_attempt_at, d.lease_until, d.last_status, d.last_error, d.created_at, d.delivered_at";

fn endpoint_from(r: &AnyRow) -> StoreResult<WebhookEndpoint> {
    let names: Vec<String> = r.json("e_events")?;
    Ok(WebhookEndpoint {
        id: r.text("e_id")?,
        product_id: r.text("e_product_id")?,
        url: r.text("e_url")?,
        description: r.text("e_description")?,
        secret_sealed: r.text("e_secret_sealed")?,
        events: names
            .iter()
            .filter_map(|n| WebhookEvent::parse(n))
            .collect(),
        enabled: r.int("e_enabled")? != 0,
        created_at: r.time("e_created_at")?,
    })
}

fn delivery_from(r: &AnyRow) -> StoreResult<WebhookDelivery> {
    let event = r.text("event")?;
    let state = r.text("state")?;
    Ok(WebhookDelivery {
        id: r.text("id")?,
        endpoint_id: r.text("endpoint_id")?,
        product_id: r.text("product_id")?,
        event: WebhookEvent::parse(&event)
            .ok_or_else(|| StoreError::Corrupt(format!("webhook_deliveries.event: {event}")))?,
        order_key: r.text("order_key")?,
        payload: r.text("payload")?,
        state: DeliveryState::parse(&state)
            .ok_or_else(|| StoreError::Corrupt(format!("webhook_deliveries.state: {state}")))?,
        attempts: u32::try_from(r.int("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: r.opt_time("next_attempt_at")?,
        lease_until: r.opt_time("lease_until")?,
        last_status: r
            .opt_int("last_status")?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: r.opt_text("last_error")?,
        created_at: r.time("created_at")?,
        delivered_at: r.opt_time("delivered_at")?,
    })
}

#[async_trait]
impl WebhookStore for SqlStore {
    async fn create_webhook_endpoint(&self, e: &WebhookEndpoint) -> StoreResult<()> {
        let events: Vec<&str> = e.events.iter().map(|e| e.as_str()).collect();
        sqlx::query(
            "INSERT INTO webhook_endpoints (id, product_id, url, description, secret_sealed, events, enabled, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&e.id)
        .bind(&e.product_id)
        .bind(&e.url)
        .bind(&e.description)
        .bind(&e.secret_sealed)
        .bind(serde_json::to_string(&events).unwrap_or_else(|_| "[]".into()))
        .bind(i64::from(e.enabled))
        .bind(ms(e.created_at))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn webhook_endpoints(&self, product_id: &str) -> StoreResult<Vec<WebhookEndpoint>> {
        let rows = sqlx::query(&format!(
            "SELECT {ENDPOINT} FROM webhook_endpoints e WHERE e.product_id = $1 ORDER BY e.created_at, e.id"
        ))
        .bind(product_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(endpoint_from).collect()
    }

    async fn webhook_endpoint(
        &self,
        product_id: &str,
        id: &str,
    ) -> StoreResult<Option<WebhookEndpoint>> {
        let row = sqlx::query(&format!(
            "SELECT {ENDPOINT} FROM webhook_endpoints e WHERE e.product_id = $1 AND e.id = $2"
        ))
        .bind(product_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(endpoint_from).transpose()
    }

    async fn delete_webhook_endpoint(&self, product_id: &str, id: &str) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE endpoint_id = $1 AND product_id = $2")
            .bind(id)
            .bind(product_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let done = sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1 AND product_id = $2")
            .bind(id)
            .bind(product_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn enqueue_webhooks(&self, deliveries: &[WebhookDelivery]) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        for d in deliveries {
            sqlx::query(
                "INSERT INTO webhook_deliveries (id, endpoint_id, product_id, event, order_key, payload, state, \
                 attempts, next_attempt_at, lease_until, last_status, last_error, created_at, delivered_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, NULL, $10, NULL)",
            )
            .bind(&d.id)
            .bind(&d.endpoint_id)
            .bind(&d.product_id)
            .bind(d.event.as_str())
            .bind(&d.order_key)
            .bind(&d.payload)
            .bind(d.state.as_str())
            .bind(i64::from(d.attempts))
            .bind(opt_ms(d.next_attempt_at))
            .bind(ms(d.created_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<(WebhookDelivery, WebhookEndpoint)>> {
        // Due, not leased, and the oldest pending one of its endpoint and key.
        let sql = format!(
            "SELECT {DELIVERY}, {ENDPOINT} FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $1 \
             AND (d.lease_until IS NULL OR d.lease_until <= $1) \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id \
                 AND p.order_key = d.order_key AND p.state = 'pending' AND p.id < d.id) \
             ORDER BY d.next_attempt_at, d.id LIMIT {limit}"
        );
        let candidates = sqlx::query(&sql)
            .bind(ms(now))
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut claimed = Vec::new();
        for r in &candidates {
            let mut delivery = delivery_from(r)?;
            let endpoint = endpoint_from(r)?;
            let done = sqlx::query(
                "UPDATE webhook_deliveries SET lease_until = $1 WHERE id = $2 AND state = 'pending' \
                 AND (lease_until IS NULL OR lease_until <= $3)",
            )
            .bind(ms(lease_until))
            .bind(&delivery.id)
            .bind(ms(now))
            .execute(self.writer())
            .await
            .map_err(map_err)?;
            if done.rows_affected() == 1 {
                delivery.lease_until = Some(lease_until);
                claimed.push((delivery, endpoint));
            }
        }
        Ok(claimed)
    }

    async fn finish_webhook(
        &self,
        id: &str,
        lease_until: DateTime<Utc>,
        outcome: &AttemptOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let (state, status, error, next, delivered) = match outcome {
            AttemptOutcome::Delivered { status } => (
                DeliveryState::Delivered,
                Some(*status),
                None,
                None,
                Some(now),
            ),
            AttemptOutcome::Retry {
                status,
                error,
                next_attempt_at,
            } => (
                DeliveryState::Pending,
                *status,
                Some(error.clone()),
                Some(*next_attempt_at),
                None,
            ),
            AttemptOutcome::Failed { status, error } => (
                DeliveryState::Failed,
                *status,
                Some(error.clone()),
                None,
                None,
            ),
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET state = $1, attempts = attempts + 1, last_status = $2, \
             last_error = $3, next_attempt_at = $4, delivered_at = $5, lease_until = NULL \
             WHERE id = $6 AND lease_until = $7",
        )
        .bind(state.as_str())
        .bind(status.map(i64::from))
        .bind(error.map(|e| e.chars().take(500).collect::<String>()))
        .bind(opt_ms(next))
        .bind(opt_ms(delivered))
        .bind(id)
        .bind(ms(lease_until))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn webhook_deliveries(
        &self,
        product_id: &str,
        endpoint_id: &str,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<WebhookDelivery>> {
        let rows = sqlx::query(&format!(
            "SELECT {DELIVERY} FROM webhook_deliveries d WHERE d.product_id = $1 AND d.endpoint_id = $2 \
             ORDER BY d.id DESC LIMIT {limit} OFFSET {offset}"
        ))
        .bind(product_id)
        .bind(endpoint_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter().map(delivery_from).collect()
    }

    async fn resend_webhook(
        &self,
        product_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $1, \
             lease_until = NULL, delivered_at = NULL WHERE product_id = $2 AND id = $3",
        )
        .bind(ms(now))
        .bind(product_id)
        .bind(id)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
