use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{Connection, ConnectionSource, IdpConfig, OryClientCredentials};
use gatehouse_domain::ports::{ConnectionStore, StoreError, StoreResult};
use sqlx::any::AnyRow;

use crate::rows::{ms, RowExt};
use crate::{map_err, ory_sync, SqlStore};

const COLUMNS: &str = "id, product_id, tenant, name, description, protocol, idp_config, idp_entity_id, redirect_urls, \
    default_redirect_url, client_id, client_secret_hash, allow_idp_initiated, enabled, source, setup_link_id, created_at, updated_at, \
    email_domains, accept_any_email_domain";
/// Read only: written by `ory_sync.rs`.
const ORY_COLUMNS: &str = "ory_client_id, ory_client_secret, ory_redirect_url";

fn connection_from(row: &AnyRow) -> StoreResult<Connection> {
    let idp: IdpConfig = row.json("idp_config")?;
    Ok(Connection {
        id: row.text("id")?,
        product_id: row.text("product_id")?,
        tenant: row.text("tenant")?,
        name: row.text("name")?,
        description: row.text("description")?,
        idp,
        idp_entity_id: row.text("idp_entity_id")?,
        redirect_urls: row.json("redirect_urls")?,
        default_redirect_url: row.opt_text("default_redirect_url")?,
        client_id: row.text("client_id")?,
        client_secret_hash: row.text("client_secret_hash")?,
        allow_idp_initiated: row.int("allow_idp_initiated")? != 0,
        enabled: row.int("enabled")? != 0,
        email_domains: row.json("email_domains")?,
        accept_any_email_domain: row.int("accept_any_email_domain")? != 0,
        source: ConnectionSource::parse(&row.text("source")?),
        setup_link_id: row.opt_text("setup_link_id")?,
        ory_client: match (
            row.opt_text("ory_client_id")?,
            row.opt_text("ory_client_secret")?,
        ) {
            (Some(client_id), Some(client_secret_sealed)) => Some(OryClientCredentials {
                client_id,
                client_secret_sealed,
                redirect_url: row.opt_text("ory_redirect_url")?,
            }),
            _ => None,
        },
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

fn json<T: serde::Serialize>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Backend(e.to_string()))
}

fn protocol(c: &Connection) -> &'static str {
    c.idp.protocol()
}

impl SqlStore {
    async fn connections_where(
        &self,
        clause: &str,
        binds: &[&str],
    ) -> StoreResult<Vec<Connection>> {
        let sql = format!(
            "SELECT {COLUMNS}, {ORY_COLUMNS} FROM connections WHERE {clause} ORDER BY created_at, id"
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(*b);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(connection_from).collect()
    }
}

#[async_trait]
impl ConnectionStore for SqlStore {
    async fn create_connection(&self, c: &Connection) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query(&format!(
            "INSERT INTO connections ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
        ))
        .bind(&c.id)
        .bind(&c.product_id)
        .bind(&c.tenant)
        .bind(&c.name)
        .bind(&c.description)
        .bind(protocol(c))
        .bind(json(&c.idp)?)
        .bind(&c.idp_entity_id)
        .bind(json(&c.redirect_urls)?)
        .bind(c.default_redirect_url.clone())
        .bind(&c.client_id)
        .bind(&c.client_secret_hash)
        .bind(i64::from(c.allow_idp_initiated))
        .bind(i64::from(c.enabled))
        .bind(c.source.as_str())
        .bind(c.setup_link_id.clone())
        .bind(ms(c.created_at))
        .bind(ms(c.updated_at))
        .bind(json(&c.email_domains)?)
        .bind(i64::from(c.accept_any_email_domain))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        ory_sync::mark_due(&mut tx, &c.id, &c.product_id, &c.tenant, c.updated_at).await?;
        let done = tx.commit().await.map_err(map_err);
        self.cache.invalidate();
        done
    }

    async fn update_connection(&self, c: &Connection) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query(
            "UPDATE connections SET tenant = $1, name = $2, description = $3, protocol = $4, idp_config = $5, \
             idp_entity_id = $6, redirect_urls = $7, default_redirect_url = $8, client_secret_hash = $9, \
             allow_idp_initiated = $10, enabled = $11, updated_at = $12, email_domains = $15, \
             accept_any_email_domain = $16 WHERE id = $13 AND product_id = $14",
        )
        .bind(&c.tenant)
        .bind(&c.name)
        .bind(&c.description)
        .bind(protocol(c))
        .bind(json(&c.idp)?)
        .bind(&c.idp_entity_id)
        .bind(json(&c.redirect_urls)?)
        .bind(c.default_redirect_url.clone())
        .bind(&c.client_secret_hash)
        .bind(i64::from(c.allow_idp_initiated))
        .bind(i64::from(c.enabled))
        .bind(ms(c.updated_at))
        .bind(&c.id)
        .bind(&c.product_id)
        .bind(json(&c.email_domains)?)
        .bind(i64::from(c.accept_any_email_domain))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        let updated = done.rows_affected() == 1;
        if updated {
            ory_sync::mark_due(&mut tx, &c.id, &c.product_id, &c.tenant, c.updated_at).await?;
        }
        let committed = tx.commit().await.map_err(map_err);
        self.cache.invalidate();
        committed.map(|()| updated)
    }

    async fn delete_connection(
        &self,
        product_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        let done = sqlx::query("DELETE FROM connections WHERE id = $1 AND product_id = $2")
            .bind(id)
            .bind(product_id)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        let deleted = done.rows_affected() == 1;
        if deleted {
            ory_sync::mark_deleted(&mut tx, id, now).await?;
        }
        let committed = tx.commit().await.map_err(map_err);
        self.cache.invalidate();
        committed.map(|()| deleted)
    }

    async fn connections(&self, product_id: &str) -> StoreResult<Vec<Connection>> {
        self.connections_where("product_id = $1", &[product_id])
            .await
    }

    async fn connection(&self, product_id: &str, id: &str) -> StoreResult<Option<Connection>> {
        Ok(self
            .connections_where("product_id = $1 AND id = $2", &[product_id, id])
            .await?
            .into_iter()
            .next())
    }

    async fn connection_by_id(&self, id: &str) -> StoreResult<Option<Connection>> {
        Ok(self
            .connections_where("id = $1", &[id])
            .await?
            .into_iter()
            .next())
    }

    async fn connection_by_client_id(&self, client_id: &str) -> StoreResult<Option<Connection>> {
        Ok(self
            .connections_where("client_id = $1 OR ory_client_id = $1", &[client_id])
            .await?
            .into_iter()
            .next())
    }

    async fn connection_for_login(&self, id: &str) -> StoreResult<Option<Connection>> {
        if let Some(c) = self.cache.connection(id) {
            return Ok(Some(c));
        }
        let ticket = self.cache.ticket();
        let found = self.connection_by_id(id).await?;
        if let Some(c) = &found {
            self.cache.put_connection(ticket, c);
        }
        Ok(found)
    }

    async fn connection_for_login_by_client_id(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<Connection>> {
        if let Some(c) = self.cache.connection_by_client_id(client_id) {
            return Ok(Some(c));
        }
        let ticket = self.cache.ticket();
        let found = self.connection_by_client_id(client_id).await?;
        if let Some(c) = &found {
            self.cache.put_connection(ticket, c);
        }
        Ok(found)
    }

    async fn connections_for_tenant(
        &self,
        product_id: &str,
        tenant: &str,
    ) -> StoreResult<Vec<Connection>> {
        self.connections_where("product_id = $1 AND tenant = $2", &[product_id, tenant])
            .await
    }

    async fn connections_by_idp_entity(&self, idp_entity_id: &str) -> StoreResult<Vec<Connection>> {
        self.connections_where("idp_entity_id = $1", &[idp_entity_id])
            .await
    }

    async fn saml_connections(&self) -> StoreResult<Vec<Connection>> {
        self.connections_where("protocol = $1", &["saml"]).await
    }

    async fn metadata_checks(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        let rows = sqlx::query("SELECT connection_id, checked_at FROM metadata_checks")
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| Ok((r.text("connection_id")?, r.time("checked_at")?)))
            .collect()
    }

    async fn metadata_check(
        &self,
        connection_id: &str,
    ) -> StoreResult<Option<(DateTime<Utc>, Option<String>)>> {
        let row =
            sqlx::query("SELECT checked_at, error FROM metadata_checks WHERE connection_id = $1")
                .bind(connection_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.map(|r| Ok((r.time("checked_at")?, r.opt_text("error")?)))
            .transpose()
    }

    async fn record_metadata_check(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO metadata_checks (connection_id, checked_at, error) VALUES ($1, $2, $3) \
             ON CONFLICT (connection_id) DO UPDATE SET checked_at = excluded.checked_at, error = excluded.error",
        )
        .bind(connection_id)
        .bind(ms(at))
        .bind(error.map(|e| e.chars().take(500).collect::<String>()))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn record_certificate_notice(
        &self,
        connection_id: &str,
        not_after: DateTime<Utc>,
        level: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO certificate_notices (connection_id, not_after, level, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(connection_id)
        .bind(crate::rows::ms(not_after))
        .bind(level)
        .bind(crate::rows::ms(now))
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
