use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{IdpConfig, SetupDraft, SetupLink};
use gatehouse_domain::ports::StoreError;
use gatehouse_domain::ports::{SetupLinkStore, StoreResult};
use sqlx::any::AnyRow;

use crate::rows::{ms, RowExt};
use crate::{map_err, SqlStore};

const COLUMNS: &str =
    "id, product_id, tenant, name, token_hash, created_at, expires_at, revoked_at, used_at, connection_id";

fn link_from(r: &AnyRow) -> StoreResult<SetupLink> {
    Ok(SetupLink {
        id: r.text("id")?,
        product_id: r.text("product_id")?,
        tenant: r.text("tenant")?,
        name: r.text("name")?,
        token_hash: r.text("token_hash")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
        revoked_at: r.opt_time("revoked_at")?,
        used_at: r.opt_time("used_at")?,
        connection_id: r.opt_text("connection_id")?,
    })
}

impl SqlStore {
    async fn links_where(&self, clause: &str, binds: &[&str]) -> StoreResult<Vec<SetupLink>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM setup_links WHERE {clause} ORDER BY created_at DESC, id"
        );
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(*b);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(link_from).collect()
    }
}

#[async_trait]
impl SetupLinkStore for SqlStore {
    async fn create_setup_link(&self, l: &SetupLink) -> StoreResult<()> {
        sqlx::query(&format!(
            "INSERT INTO setup_links ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL, NULL)"
        ))
        .bind(&l.id)
        .bind(&l.product_id)
        .bind(&l.tenant)
        .bind(&l.name)
        .bind(&l.token_hash)
        .bind(ms(l.created_at))
        .bind(ms(l.expires_at))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn setup_links(&self, product_id: &str) -> StoreResult<Vec<SetupLink>> {
        self.links_where("product_id = $1", &[product_id]).await
    }

    async fn setup_link(&self, product_id: &str, id: &str) -> StoreResult<Option<SetupLink>> {
        Ok(self
            .links_where("product_id = $1 AND id = $2", &[product_id, id])
            .await?
            .into_iter()
            .next())
    }

    async fn setup_link_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<SetupLink>> {
        Ok(self
            .links_where("token_hash = $1", &[token_hash])
            .await?
            .into_iter()
            .next())
    }

    async fn revoke_setup_link(
        &self,
        product_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE setup_links SET revoked_at = $1, draft_idp = NULL, draft_at = NULL WHERE product_id = $2 AND id = $3 AND revoked_at IS NULL",
        )
        .bind(ms(at))
        .bind(product_id)
        .bind(id)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_setup_link_used(
        &self,
        id: &str,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "UPDATE setup_links SET used_at = $1, connection_id = $2, draft_idp = NULL, draft_at = NULL WHERE id = $3",
        )
            .bind(ms(at))
            .bind(connection_id)
            .bind(id)
            .execute(self.writer())
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn save_setup_draft(
        &self,
        id: &str,
        idp: &IdpConfig,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let json = serde_json::to_string(idp).map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query("UPDATE setup_links SET draft_idp = $1, draft_at = $2 WHERE id = $3")
            .bind(json)
            .bind(ms(at))
            .bind(id)
            .execute(self.writer())
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn setup_draft(&self, id: &str) -> StoreResult<Option<SetupDraft>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS}, draft_idp, draft_at FROM setup_links WHERE id = $1 AND draft_idp IS NOT NULL"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| {
            Ok(SetupDraft {
                link: link_from(&r)?,
                idp: r.json("draft_idp")?,
                updated_at: r.time("draft_at")?,
            })
        })
        .transpose()
    }
}
