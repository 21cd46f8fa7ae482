//! The Ory outbox (`ory_sync`) and the Ory OAuth client columns of `connections`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{
    OryBacklog, OryClientCredentials, OrySettings, OrySyncOutcome, OrySyncRow, OrySyncState,
};
use gatehouse_domain::ory::provider_id;
use gatehouse_domain::ports::{OrySyncStore, StoreError, StoreResult};
use sqlx::any::AnyRow;
use sqlx::Any;

use crate::rows::{ms, RowExt};
use crate::{map_err, SqlStore};

const COLUMNS: &str = "connection_id, product_id, tenant, provider_id, organization_id, deleted, state, version, \
    attempts, next_attempt_at, lease_until, last_status, last_error, synced_at, drift, checked_at, updated_at";

fn row_from(r: &AnyRow) -> StoreResult<OrySyncRow> {
    Ok(OrySyncRow {
        connection_id: r.text("connection_id")?,
        product_id: r.text("product_id")?,
        tenant: r.text("tenant")?,
        provider_id: r.text("provider_id")?,
        organization_id: r.opt_text("organization_id")?,
        deleted: r.int("deleted")? != 0,
        state: OrySyncState::parse(&r.text("state")?),
        version: r.int("version")?,
        attempts: r.int("attempts")?,
        next_attempt_at: r.opt_time("next_attempt_at")?,
        lease_until: r.opt_time("lease_until")?,
        last_status: r.opt_int("last_status")?,
        last_error: r.opt_text("last_error")?,
        synced_at: r.opt_time("synced_at")?,
        drift: r.json("drift")?,
        checked_at: r.opt_time("checked_at")?,
        updated_at: r.time("updated_at")?,
    })
}

/// Mark a connection's row due (creating it when the product has Ory settings), as
/// part of the transaction that changes the connection.
pub(crate) async fn mark_due(
    tx: &mut sqlx::Transaction<'static, Any>,
    connection_id: &str,
    product_id: &str,
    tenant: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO ory_sync (connection_id, product_id, tenant, provider_id, organization_id, deleted, state, \
           version, attempts, next_attempt_at, lease_until, last_status, last_error, synced_at, drift, checked_at, updated_at) \
         SELECT $1, $2, $3, $4, NULL, 0, 'pending', 1, 0, $5, NULL, NULL, NULL, NULL, '[]', NULL, $5 \
         FROM ory_settings WHERE product_id = $2 \
         ON CONFLICT (connection_id) DO UPDATE SET deleted = 0, state = 'pending', version = ory_sync.version + 1, \
           attempts = 0, next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at",
    )
    .bind(connection_id)
    .bind(product_id)
    .bind(tenant)
    .bind(provider_id(connection_id))
    .bind(ms(now))
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

/// A connection was deleted: its row (if any) now asks for removal from Ory.
pub(crate) async fn mark_deleted(
    tx: &mut sqlx::Transaction<'static, Any>,
    connection_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE ory_sync SET deleted = 1, state = 'pending', version = version + 1, attempts = 0, \
           next_attempt_at = $1, updated_at = $1 WHERE connection_id = $2",
    )
    .bind(ms(now))
    .bind(connection_id)
    .execute(&mut **tx)
    .await
    .map_err(map_err)?;
    Ok(())
}

impl SqlStore {
    async fn sync_rows_where(&self, clause: &str, bind: &str) -> StoreResult<Vec<OrySyncRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM ory_sync WHERE {clause} ORDER BY updated_at, connection_id"
        );
        let rows = sqlx::query(&sql)
            .bind(bind)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(row_from).collect()
    }
}

#[async_trait]
impl OrySyncStore for SqlStore {
    async fn ory_sync_rows(&self, product_id: &str) -> StoreResult<Vec<OrySyncRow>> {
        self.sync_rows_where("product_id = $1", product_id).await
    }

    async fn ory_sync_row(&self, connection_id: &str) -> StoreResult<Option<OrySyncRow>> {
        Ok(self
            .sync_rows_where("connection_id = $1", connection_id)
            .await?
            .into_iter()
            .next())
    }

    async fn all_ory_settings(&self) -> StoreResult<Vec<OrySettings>> {
        self.ory_settings_where("1 = 1", &[]).await
    }

    async fn ory_sync_backlog(&self, now: DateTime<Utc>) -> StoreResult<OryBacklog> {
        let r = sqlx::query(
            "SELECT COUNT(*) AS waiting, \
             COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0) AS failed, \
             MIN(CASE WHEN next_attempt_at <= $1 THEN next_attempt_at END) AS oldest_due \
             FROM ory_sync WHERE state <> 'synced'",
        )
        .bind(ms(now))
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(OryBacklog {
            waiting: r.int("waiting")?,
            failed: r.int("failed")?,
            oldest_due: r.opt_time("oldest_due")?,
        })
    }

    async fn claim_ory_sync(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OrySyncRow>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM ory_sync WHERE state <> 'synced' AND next_attempt_at <= $1 \
             AND (lease_until IS NULL OR lease_until <= $1) ORDER BY next_attempt_at, connection_id LIMIT $2"
        );
        let candidates = sqlx::query(&sql)
            .bind(ms(now))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        let mut claimed = Vec::new();
        for r in &candidates {
            let mut row = row_from(r)?;
            let done = sqlx::query(
                "UPDATE ory_sync SET lease_until = $1 WHERE connection_id = $2 AND version = $3 \
                 AND (lease_until IS NULL OR lease_until <= $4)",
            )
            .bind(ms(lease_until))
            .bind(&row.connection_id)
            .bind(row.version)
            .bind(ms(now))
            .execute(self.writer())
            .await
            .map_err(map_err)?;
            if done.rows_affected() == 1 {
                row.lease_until = Some(lease_until);
                claimed.push(row);
            }
        }
        Ok(claimed)
    }

    async fn finish_ory_sync(
        &self,
        connection_id: &str,
        version: i64,
        outcome: &OrySyncOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let done = match outcome {
            OrySyncOutcome::Synced => sqlx::query(
                "UPDATE ory_sync SET state = 'synced', attempts = 0, next_attempt_at = NULL, lease_until = NULL, \
                   last_status = NULL, last_error = NULL, synced_at = $1, drift = '[]', checked_at = $1, updated_at = $1 \
                 WHERE connection_id = $2 AND version = $3",
            )
            .bind(ms(now))
            .bind(connection_id)
            .bind(version)
            .execute(self.writer())
            .await,
            OrySyncOutcome::Removed => sqlx::query(
                "DELETE FROM ory_sync WHERE connection_id = $1 AND version = $2",
            )
            .bind(connection_id)
            .bind(version)
            .execute(self.writer())
            .await,
            OrySyncOutcome::Retry {
                state,
                status,
                message,
                next_attempt_at,
            } => sqlx::query(
                "UPDATE ory_sync SET state = $1, attempts = attempts + 1, next_attempt_at = $2, lease_until = NULL, \
                   last_status = $3, last_error = $4, updated_at = $5 \
                 WHERE connection_id = $6 AND version = $7",
            )
            .bind(state.as_str())
            .bind(ms(*next_attempt_at))
            .bind(*status)
            .bind(message.chars().take(1000).collect::<String>())
            .bind(ms(now))
            .bind(connection_id)
            .bind(version)
            .execute(self.writer())
            .await,
        }
        .map_err(map_err)?;
        if done.rows_affected() == 0 {
            // changed while syncing: due again at once
            sqlx::query("UPDATE ory_sync SET lease_until = NULL WHERE connection_id = $1")
                .bind(connection_id)
                .execute(self.writer())
                .await
                .map_err(map_err)?;
        }
        Ok(())
    }

    async fn release_ory_sync(
        &self,
        connection_id: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE ory_sync SET lease_until = NULL WHERE connection_id = $1 AND lease_until = $2",
        )
        .bind(connection_id)
        .bind(ms(lease_until))
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn set_ory_organization(
        &self,
        connection_id: &str,
        organization_id: Option<&str>,
        tenant: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE ory_sync SET organization_id = $1, tenant = $2 WHERE connection_id = $3",
        )
        .bind(organization_id.map(str::to_string))
        .bind(tenant)
        .bind(connection_id)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn mark_all_ory_sync(&self, product_id: &str, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write_tx().await?;
        let connections = sqlx::query("SELECT id, tenant FROM connections WHERE product_id = $1")
            .bind(product_id)
            .fetch_all(&mut *tx)
            .await
            .map_err(map_err)?;
        for r in &connections {
            mark_due(&mut tx, &r.text("id")?, product_id, &r.text("tenant")?, now).await?;
        }
        // rows of deleted connections still waiting for their cleanup
        sqlx::query(
            "UPDATE ory_sync SET state = 'pending', version = version + 1, attempts = 0, next_attempt_at = $1, \
               updated_at = $1 WHERE product_id = $2 AND deleted = 1",
        )
        .bind(ms(now))
        .bind(product_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(connections.len() as u64)
    }

    async fn retry_ory_sync(
        &self,
        product_id: &str,
        connection_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE ory_sync SET state = CASE WHEN state = 'synced' THEN 'pending' ELSE state END, \
               version = version + 1, next_attempt_at = $1, updated_at = $1 \
             WHERE product_id = $2 AND connection_id = $3",
        )
        .bind(ms(now))
        .bind(product_id)
        .bind(connection_id)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_ory_drift(
        &self,
        connection_id: &str,
        drift: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(drift).map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query("UPDATE ory_sync SET drift = $1, checked_at = $2 WHERE connection_id = $3")
            .bind(json)
            .bind(ms(now))
            .bind(connection_id)
            .execute(self.writer())
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn set_ory_client(
        &self,
        connection_id: &str,
        client: &OryClientCredentials,
        replace: bool,
    ) -> StoreResult<bool> {
        let guard = if replace {
            ""
        } else {
            " AND ory_client_id IS NULL"
        };
        let done = sqlx::query(&format!(
            "UPDATE connections SET ory_client_id = $1, ory_client_secret = $2, ory_redirect_url = $3 \
             WHERE id = $4{guard}"
        ))
        .bind(&client.client_id)
        .bind(&client.client_secret_sealed)
        .bind(client.redirect_url.clone())
        .bind(connection_id)
        .execute(self.writer())
        .await
        .map_err(map_err);
        self.cache.invalidate();
        Ok(done?.rows_affected() == 1)
    }

    async fn delete_ory_mirror(&self, product_id: &str, revoke_clients: bool) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("DELETE FROM ory_sync WHERE product_id = $1")
            .bind(product_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        if revoke_clients {
            sqlx::query(
                "UPDATE connections SET ory_client_id = NULL, ory_client_secret = NULL, ory_redirect_url = NULL \
                 WHERE product_id = $1",
            )
            .bind(product_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        let done = tx.commit().await.map_err(map_err);
        self.cache.invalidate();
        done
    }
}
