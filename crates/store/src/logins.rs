use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{
    AccessToken, AuthCode, CompletionOutcome, LoginCompletion, LoginPurpose, PendingLogin,
    Redemption, StoredKey, TestResult,
};
use gatehouse_domain::ports::{KeyStore, LoginStore, StoreError, StoreResult};
use sqlx::any::AnyRow;

use crate::rows::{ms, RowExt};
use crate::{map_err, SqlStore};

fn pending_from(row: &AnyRow) -> StoreResult<PendingLogin> {
    let purpose: LoginPurpose = row.json("purpose")?;
    Ok(PendingLogin {
        id: row.text("id")?,
        connection_id: row.text("connection_id")?,
        purpose,
        client_id: row.text("client_id")?,
        redirect_uri: row.text("redirect_uri")?,
        state: row.text("state")?,
        nonce: row.opt_text("nonce")?,
        code_challenge: row.opt_text("code_challenge")?,
        scope: row.text("scope")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
    })
}

fn code_from(row: &AnyRow) -> StoreResult<AuthCode> {
    Ok(AuthCode {
        code_hash: row.text("code_hash")?,
        connection_id: row.text("connection_id")?,
        client_id: row.text("client_id")?,
        redirect_uri: row.text("redirect_uri")?,
        code_challenge: row.opt_text("code_challenge")?,
        nonce: row.opt_text("nonce")?,
        scope: row.text("scope")?,
        profile: row.text("profile")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
    })
}

fn test_from(row: &AnyRow) -> StoreResult<TestResult> {
    Ok(TestResult {
        id: row.text("id")?,
        connection_id: row.text("connection_id")?,
        owner: row.text("owner")?,
        profile: row.opt_text("profile")?,
        error: row.opt_text("error")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
    })
}

async fn insert_test_result(conn: &mut sqlx::AnyConnection, r: &TestResult) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO test_results (id, connection_id, owner, profile, error, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&r.id)
    .bind(&r.connection_id)
    .bind(&r.owner)
    .bind(r.profile.clone())
    .bind(r.error.clone())
    .bind(ms(r.created_at))
    .bind(ms(r.expires_at))
    .execute(conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

#[async_trait]
impl LoginStore for SqlStore {
    async fn create_pending_login(&self, p: &PendingLogin) -> StoreResult<()> {
        let purpose =
            serde_json::to_string(&p.purpose).map_err(|e| StoreError::Backend(e.to_string()))?;
        sqlx::query(
            "INSERT INTO pending_logins (id, connection_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&p.id)
        .bind(&p.connection_id)
        .bind(purpose)
        .bind(&p.client_id)
        .bind(&p.redirect_uri)
        .bind(&p.state)
        .bind(p.nonce.clone())
        .bind(p.code_challenge.clone())
        .bind(&p.scope)
        .bind(ms(p.created_at))
        .bind(ms(p.expires_at))
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn pending_login(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingLogin>> {
        let row = sqlx::query(
            "SELECT id, connection_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at \
             FROM pending_logins WHERE id = $1 AND used_at IS NULL AND expires_at > $2",
        )
        .bind(id)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(pending_from).transpose()
    }

    async fn complete_login(
        &self,
        c: &LoginCompletion,
        now: DateTime<Utc>,
    ) -> StoreResult<CompletionOutcome> {
        let mut tx = self.write_tx().await?;
        if let Some(pending) = &c.pending_id {
            let used = sqlx::query(
                "UPDATE pending_logins SET used_at = $1 WHERE id = $2 AND used_at IS NULL AND expires_at > $1",
            )
            .bind(ms(now))
            .bind(pending)
            .execute(&mut *tx)
            .await
            .map_err(map_err)?
            .rows_affected();
            if used != 1 {
                tx.rollback().await.map_err(map_err)?;
                return Ok(CompletionOutcome::PendingGone);
            }
        }
        let fresh = sqlx::query(
            "INSERT INTO seen_assertions (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&c.connection_id)
        .bind(&c.assertion_id)
        .bind(ms(c.replay_expires_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if fresh != 1 {
            tx.rollback().await.map_err(map_err)?;
            return Ok(CompletionOutcome::Replay);
        }
        if let Some(code) = &c.code {
            sqlx::query(
                "INSERT INTO auth_codes (code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&code.code_hash)
            .bind(&code.connection_id)
            .bind(&code.client_id)
            .bind(&code.redirect_uri)
            .bind(code.code_challenge.clone())
            .bind(code.nonce.clone())
            .bind(&code.scope)
            .bind(&code.profile)
            .bind(ms(code.created_at))
            .bind(ms(code.expires_at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        }
        if let Some(result) = &c.test_result {
            insert_test_result(&mut tx, result).await?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(CompletionOutcome::Done)
    }

    async fn code(&self, code_hash: &str) -> StoreResult<Option<AuthCode>> {
        let row = sqlx::query(
            "SELECT code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at \
             FROM auth_codes WHERE code_hash = $1",
        )
        .bind(code_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(code_from).transpose()
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        let mut tx = self.write_tx().await?;
        let redeemed = sqlx::query(
            "UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 WHERE code_hash = $3 AND redeemed_at IS NULL",
        )
        .bind(ms(now))
        .bind(&token.token_hash)
        .bind(code_hash)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if redeemed != 1 {
            let row = sqlx::query("SELECT access_token_hash FROM auth_codes WHERE code_hash = $1")
                .bind(code_hash)
                .fetch_optional(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.rollback().await.map_err(map_err)?;
            return match row {
                Some(r) => Ok(Redemption::Replayed {
                    token_hash: r.opt_text("access_token_hash")?,
                }),
                None => Ok(Redemption::Unknown),
            };
        }
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&token.token_hash)
        .bind(&token.connection_id)
        .bind(&token.client_id)
        .bind(&token.scope)
        .bind(&token.profile)
        .bind(ms(token.created_at))
        .bind(ms(token.expires_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Redemption::Issued)
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AccessToken>> {
        let row = sqlx::query(
            "SELECT token_hash, connection_id, client_id, scope, profile, created_at, expires_at FROM access_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref()
            .map(|r| {
                Ok(AccessToken {
                    token_hash: r.text("token_hash")?,
                    connection_id: r.text("connection_id")?,
                    client_id: r.text("client_id")?,
                    scope: r.text("scope")?,
                    profile: r.text("profile")?,
                    created_at: r.time("created_at")?,
                    expires_at: r.time("expires_at")?,
                })
            })
            .transpose()
    }

    async fn revoke_access_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(ms(now))
        .bind(token_hash)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn test_result(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Option<TestResult>> {
        let row = sqlx::query(
            "SELECT id, connection_id, owner, profile, error, created_at, expires_at FROM test_results WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(test_from).transpose()
    }

    async fn save_test_result(&self, r: &TestResult) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_err)?;
        insert_test_result(&mut conn, r).await
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut total = 0;
        for table in [
            "pending_logins",
            "seen_assertions",
            "auth_codes",
            "access_tokens",
            "test_results",
        ] {
            total += sqlx::query(&format!("DELETE FROM {table} WHERE expires_at <= $1"))
                .bind(ms(now))
                .execute(&self.pool)
                .await
                .map_err(map_err)?
                .rows_affected();
        }
        Ok(total)
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn keys(&self, purpose: &str) -> StoreResult<Vec<StoredKey>> {
        let rows = sqlx::query("SELECT id, purpose, private_key, certificate, created_at FROM signing_keys WHERE purpose = $1")
            .bind(purpose)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(StoredKey {
                    id: r.text("id")?,
                    purpose: r.text("purpose")?,
                    private_key: r.text("private_key")?,
                    certificate: r.opt_text("certificate")?,
                    created_at: r.time("created_at")?,
                })
            })
            .collect()
    }

    async fn insert_first_key(&self, k: &StoredKey) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO signing_keys (id, purpose, private_key, certificate, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(&k.id)
        .bind(&k.purpose)
        .bind(&k.private_key)
        .bind(k.certificate.clone())
        .bind(ms(k.created_at))
        .execute(&self.pool)
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
