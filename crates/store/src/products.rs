use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{ApiKey, OrySettings, Product, ProductCounts};
use gatehouse_domain::ports::{ProductStore, StoreError, StoreResult};
use sqlx::any::AnyRow;

use crate::rows::{ms, opt_ms, RowExt};
use crate::{map_err, SqlStore};

const PRODUCT_COLUMNS: &str =
    "id, team_id, name, description, redirect_urls, default_redirect_url, created_at, updated_at";

fn product_from(row: &AnyRow) -> StoreResult<Product> {
    Ok(Product {
        id: row.text("id")?,
        team_id: row.text("team_id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        redirect_urls: row.json("redirect_urls")?,
        default_redirect_url: row.opt_text("default_redirect_url")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

fn urls_json(urls: &[String]) -> StoreResult<String> {
    serde_json::to_string(urls).map_err(|e| StoreError::Backend(e.to_string()))
}

const KEY_COLUMNS: &str =
    "id, product_id, name, hint, secret_hash, created_at, last_used_at, revoked_at";

fn key_from(row: &AnyRow) -> StoreResult<ApiKey> {
    Ok(ApiKey {
        id: row.text("id")?,
        product_id: row.text("product_id")?,
        name: row.text("name")?,
        hint: row.text("hint")?,
        secret_hash: row.text("secret_hash")?,
        created_at: row.time("created_at")?,
        last_used_at: row.opt_time("last_used_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}

const ORY_COLUMNS: &str = "product_id, token_ciphertext, token_hint, project_id, project_name, project_slug, verified_at, updated_at, oidc_enabled_at";

fn ory_settings_from(r: &AnyRow) -> StoreResult<OrySettings> {
    Ok(OrySettings {
        product_id: r.text("product_id")?,
        token_ciphertext: r.text("token_ciphertext")?,
        token_hint: r.text("token_hint")?,
        project_id: r.text("project_id")?,
        project_name: r.text("project_name")?,
        project_slug: r.text("project_slug")?,
        verified_at: r.time("verified_at")?,
        updated_at: r.time("updated_at")?,
        oidc_enabled_at: r.opt_time("oidc_enabled_at")?,
    })
}

impl SqlStore {
    /// Ory settings rows matching `clause` (all of them for `"1 = 1"`).
    pub(crate) async fn ory_settings_where(
        &self,
        clause: &str,
        binds: &[&str],
    ) -> StoreResult<Vec<OrySettings>> {
        let sql =
            format!("SELECT {ORY_COLUMNS} FROM ory_settings WHERE {clause} ORDER BY product_id");
        let mut q = sqlx::query(&sql);
        for b in binds {
            q = q.bind(*b);
        }
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(ory_settings_from).collect()
    }
}

#[async_trait]
impl ProductStore for SqlStore {
    async fn create_product(&self, p: &Product) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO products (id, team_id, name, description, redirect_urls, default_redirect_url, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&p.id)
        .bind(&p.team_id)
        .bind(&p.name)
        .bind(&p.description)
        .bind(urls_json(&p.redirect_urls)?)
        .bind(p.default_redirect_url.clone())
        .bind(ms(p.created_at))
        .bind(ms(p.updated_at))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn products(&self, team_id: &str) -> StoreResult<Vec<Product>> {
        let sql = format!(
            "SELECT {PRODUCT_COLUMNS} FROM products WHERE team_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(team_id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(product_from).collect()
    }

    async fn product(&self, team_id: &str, product_id: &str) -> StoreResult<Option<Product>> {
        let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE team_id = $1 AND id = $2");
        let row = sqlx::query(&sql)
            .bind(team_id)
            .bind(product_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(product_from).transpose()
    }

    async fn product_by_id(&self, product_id: &str) -> StoreResult<Option<Product>> {
        let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(product_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(product_from).transpose()
    }

    async fn product_for_login(&self, product_id: &str) -> StoreResult<Option<Product>> {
        if let Some(p) = self.cache.product(product_id) {
            return Ok(Some(p));
        }
        let ticket = self.cache.ticket();
        let found = self.product_by_id(product_id).await?;
        if let Some(p) = &found {
            self.cache.put_product(ticket, p);
        }
        Ok(found)
    }

    async fn update_product(&self, p: &Product) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE products SET name = $1, description = $2, redirect_urls = $3, default_redirect_url = $4, updated_at = $5 \
             WHERE id = $6 AND team_id = $7",
        )
        .bind(&p.name)
        .bind(&p.description)
        .bind(urls_json(&p.redirect_urls)?)
        .bind(p.default_redirect_url.clone())
        .bind(ms(p.updated_at))
        .bind(&p.id)
        .bind(&p.team_id)
        .execute(self.writer())
        .await
        .map_err(map_err);
        self.cache.invalidate();
        Ok(done?.rows_affected() == 1)
    }

    async fn delete_product(&self, team_id: &str, product_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM products WHERE id = $1 AND team_id = $2")
            .bind(product_id)
            .bind(team_id)
            .execute(self.writer())
            .await
            .map_err(map_err);
        self.cache.invalidate();
        Ok(done?.rows_affected() == 1)
    }

    async fn product_counts(&self, product_id: &str) -> StoreResult<ProductCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM api_keys WHERE product_id = $1 AND revoked_at IS NULL) AS api_keys, \
                    (SELECT COUNT(*) FROM ory_settings WHERE product_id = $1) AS ory, \
                    (SELECT COUNT(*) FROM connections WHERE product_id = $1) AS connections",
        )
        .bind(product_id)
        .fetch_one(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(ProductCounts {
            api_keys: row.int("api_keys")?,
            connections: row.int("connections")?,
            ory_connected: row.int("ory")? > 0,
        })
    }

    async fn create_api_key(&self, k: &ApiKey) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO api_keys (id, product_id, name, hint, secret_hash, created_at, last_used_at, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&k.id)
        .bind(&k.product_id)
        .bind(&k.name)
        .bind(&k.hint)
        .bind(&k.secret_hash)
        .bind(ms(k.created_at))
        .bind(opt_ms(k.last_used_at))
        .bind(opt_ms(k.revoked_at))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn api_keys(&self, product_id: &str) -> StoreResult<Vec<ApiKey>> {
        let sql = format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE product_id = $1 ORDER BY created_at, id"
        );
        let rows = sqlx::query(&sql)
            .bind(product_id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(key_from).collect()
    }

    async fn api_key(&self, key_id: &str) -> StoreResult<Option<ApiKey>> {
        let sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(key_from).transpose()
    }

    async fn revoke_api_key(
        &self,
        product_id: &str,
        key_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND product_id = $3 AND revoked_at IS NULL",
        )
        .bind(ms(at))
        .bind(key_id)
        .bind(product_id)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_api_key(&self, key_id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        // At most one write per key per minute: last-used is for humans.
        sqlx::query(
            "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $3)",
        )
        .bind(ms(at))
        .bind(key_id)
        .bind(ms(at) - 60_000)
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn product_secret_verifier(&self, product_id: &str) -> StoreResult<Option<String>> {
        let row = sqlx::query("SELECT client_secret_verifier FROM products WHERE id = $1")
            .bind(product_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        Ok(match row {
            Some(r) => r.opt_text("client_secret_verifier")?,
            None => None,
        })
    }

    async fn set_product_secret_verifier(&self, product_id: &str, sealed: &str) -> StoreResult<()> {
        sqlx::query("UPDATE products SET client_secret_verifier = $1 WHERE id = $2")
            .bind(sealed)
            .bind(product_id)
            .execute(self.writer())
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn ory_settings(&self, product_id: &str) -> StoreResult<Option<OrySettings>> {
        Ok(self
            .ory_settings_where("product_id = $1", &[product_id])
            .await?
            .into_iter()
            .next())
    }

    async fn put_ory_settings(&self, s: &OrySettings) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO ory_settings (product_id, token_ciphertext, token_hint, project_id, project_name, project_slug, verified_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (product_id) DO UPDATE SET token_ciphertext = excluded.token_ciphertext, \
               token_hint = excluded.token_hint, project_id = excluded.project_id, project_name = excluded.project_name, \
               project_slug = excluded.project_slug, verified_at = excluded.verified_at, updated_at = excluded.updated_at",
        )
        .bind(&s.product_id)
        .bind(&s.token_ciphertext)
        .bind(&s.token_hint)
        .bind(&s.project_id)
        .bind(&s.project_name)
        .bind(&s.project_slug)
        .bind(ms(s.verified_at))
        .bind(ms(s.updated_at))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn set_ory_oidc_enabled_at(
        &self,
        product_id: &str,
        at: Option<DateTime<Utc>>,
    ) -> StoreResult<()> {
        sqlx::query("UPDATE ory_settings SET oidc_enabled_at = $1 WHERE product_id = $2")
            .bind(at.map(ms))
            .bind(product_id)
            .execute(self.writer())
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn delete_ory_settings(&self, product_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM ory_settings WHERE product_id = $1")
            .bind(product_id)
            .execute(self.writer())
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
