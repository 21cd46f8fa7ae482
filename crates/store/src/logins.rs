use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{
    AccessToken, AppCompletionOutcome, AppLoginCompletion, AuthCode, CompletionOutcome,
    LoginCompletion, LoginPurpose, LoginTarget, PendingLogin, RedeemIf, Redemption, StoredKey,
    TestResult,
};
use gatehouse_domain::ports::{KeyStore, LoginStore, StoreError, StoreResult};
use sqlx::any::AnyRow;

use crate::rows::{ms, RowExt};
use crate::{map_err, Engine, SignInPath, SqlStore};

/// PostgreSQL: pending requests stored at authorize, batched ([`crate::pg_batch`]).
pub(crate) const PG_PENDING_INSERTS: &str = "WITH x AS (\
       SELECT * FROM json_to_recordset($1::json) AS x(k bigint, id text, connection_id text, setup_link_id text, purpose text, client_id text, redirect_uri text, state text, nonce text, code_challenge text, scope text, created_at bigint, expires_at bigint, idp_state text)\
     ), i AS (\
       INSERT INTO pending_logins (id, connection_id, setup_link_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, idp_state) \
       SELECT id, connection_id, setup_link_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, idp_state FROM x RETURNING id\
     ) SELECT x.k FROM x JOIN i ON i.id = x.id";

/// PostgreSQL: access tokens read by userinfo, batched ([`crate::pg_batch`]).
/// One primary-key lookup per request (`LATERAL … OFFSET 0`, which the planner cannot
/// flatten): it guesses 100 elements for any JSON array and would otherwise hash-join
/// them against a scan of the whole table.
pub(crate) const PG_TOKEN_READS: &str = "SELECT x.k, t.token_hash, t.connection_id, t.client_id, t.scope, t.profile, t.created_at, t.expires_at \
     FROM json_to_recordset($1::json) AS x(k bigint, h text, now bigint) \
     CROSS JOIN LATERAL (SELECT * FROM access_tokens a WHERE a.token_hash = x.h AND a.revoked_at IS NULL AND a.expires_at > x.now OFFSET 0) t";

fn access_token_from(r: &AnyRow) -> StoreResult<AccessToken> {
    Ok(AccessToken {
        token_hash: r.text("token_hash")?,
        connection_id: r.text("connection_id")?,
        client_id: r.text("client_id")?,
        scope: r.text("scope")?,
        profile: r.text("profile")?,
        created_at: r.time("created_at")?,
        expires_at: r.time("expires_at")?,
    })
}

/// `connection_id` or `setup_link_id`: exactly one is set (a CHECK says so).
fn target_from(row: &AnyRow) -> StoreResult<LoginTarget> {
    match (
        row.opt_text("connection_id")?,
        row.opt_text("setup_link_id")?,
    ) {
        (Some(c), None) => Ok(LoginTarget::Connection(c)),
        (None, Some(l)) => Ok(LoginTarget::SetupDraft(l)),
        _ => Err(StoreError::Backend(
            "a login row names neither or both of a connection and a setup link".into(),
        )),
    }
}

fn pending_from(row: &AnyRow) -> StoreResult<PendingLogin> {
    let purpose: LoginPurpose = row.json("purpose")?;
    Ok(PendingLogin {
        id: row.text("id")?,
        target: target_from(row)?,
        purpose,
        client_id: row.text("client_id")?,
        redirect_uri: row.text("redirect_uri")?,
        state: row.text("state")?,
        nonce: row.opt_text("nonce")?,
        code_challenge: row.opt_text("code_challenge")?,
        scope: row.text("scope")?,
        idp_state: row.opt_text("idp_state")?,
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
        target: target_from(row)?,
        owner: row.text("owner")?,
        profile: row.opt_text("profile")?,
        error: row.opt_text("error")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
    })
}

async fn insert_test_result(conn: &mut sqlx::AnyConnection, r: &TestResult) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO test_results (id, connection_id, setup_link_id, owner, profile, error, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&r.id)
    .bind(r.target.connection_id().map(str::to_string))
    .bind(r.target.setup_link_id().map(str::to_string))
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

/// The values of an app sign-in's completion, as `$1`…`$9` of the engine's statement.
fn app_completion_query(
    sql: &'static str,
    c: &AppLoginCompletion,
    now: DateTime<Utc>,
) -> StoreResult<sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments<'static>>> {
    let app = serde_json::to_string(&LoginPurpose::App)
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(sqlx::query(sql)
        .bind(ms(now))
        .bind(c.pending_id.clone())
        .bind(c.connection_id.clone())
        .bind(c.assertion_id.clone())
        .bind(ms(c.replay_expires_at))
        .bind(c.code_hash.clone())
        .bind(c.profile.clone())
        .bind(ms(c.code_expires_at))
        .bind(app))
}

/// No row: the request was not there to consume (answered, expired, another
/// connection's, not an app sign-in); a row without a code: the assertion was replayed.
fn app_outcome(row: Option<&AnyRow>) -> StoreResult<AppCompletionOutcome> {
    Ok(match row {
        None => AppCompletionOutcome::PendingGone,
        Some(r) if r.int("issued")? == 1 => AppCompletionOutcome::Done {
            redirect_uri: r.text("redirect_uri")?,
            state: r.text("state")?,
        },
        Some(_) => AppCompletionOutcome::Replay,
    })
}

/// The values of a code redemption, as `$1`…`$9` of the engine's statement.
fn redemption_query(
    sql: &'static str,
    code_hash: &str,
    token: &AccessToken,
    now: DateTime<Utc>,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments<'static>> {
    sqlx::query(sql)
        .bind(ms(now))
        .bind(token.token_hash.clone())
        .bind(code_hash.to_string())
        .bind(token.connection_id.clone())
        .bind(token.client_id.clone())
        .bind(token.scope.clone())
        .bind(token.profile.clone())
        .bind(ms(token.created_at))
        .bind(ms(token.expires_at))
}

/// PostgreSQL runs the two write steps of a login as one statement each (data-modifying
/// CTEs are atomic), instead of a transaction of four or five round trips.
impl SqlStore {
    async fn complete_app_login_pg(
        &self,
        c: &AppLoginCompletion,
        now: DateTime<Utc>,
    ) -> StoreResult<AppCompletionOutcome> {
        let row = app_completion_query(
            "WITH p AS (\
               UPDATE pending_logins SET used_at = $1 \
               WHERE id = $2 AND connection_id = $3 AND purpose = $9 AND used_at IS NULL AND expires_at > $1 \
               RETURNING client_id, redirect_uri, state, nonce, code_challenge, scope\
             ), s AS (\
               INSERT INTO seen_assertions (connection_id, assertion_id, expires_at) \
               SELECT $3, $4, $5 FROM p ON CONFLICT DO NOTHING RETURNING assertion_id\
             ), c AS (\
               INSERT INTO auth_codes (code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at) \
               SELECT $6, $3, client_id, redirect_uri, code_challenge, nonce, scope, $7, $1, $8 FROM p \
               WHERE EXISTS (SELECT 1 FROM s) RETURNING code_hash\
             ) \
             SELECT redirect_uri, state, (SELECT COUNT(*) FROM c) AS issued FROM p",
            c,
            now,
        )?
        .fetch_optional(self.sign_in_writer()?)
        .await
        .map_err(map_err)?;
        app_outcome(row.as_ref())
    }

    async fn redeem_code_pg(
        &self,
        code_hash: &str,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        let issued = redemption_query(
            "WITH r AS (\
               UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 WHERE code_hash = $3 AND redeemed_at IS NULL RETURNING code_hash\
             ) \
             INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
             SELECT $2, $4, $5, $6, $7, $8, $9 FROM r",
            code_hash,
            token,
            now,
        )
        .execute(self.sign_in_writer()?)
        .await
        .map_err(map_err)?
        .rows_affected();
        if issued == 1 {
            return Ok(Redemption::Issued);
        }
        let row = sqlx::query("SELECT access_token_hash FROM auth_codes WHERE code_hash = $1")
            .bind(code_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        match row {
            Some(r) => Ok(Redemption::Replayed {
                token_hash: r.opt_text("access_token_hash")?,
            }),
            None => Ok(Redemption::Unknown),
        }
    }

    /// SQLite: the same steps as one script on the writer connection
    /// ([`SqlStore::sqlite_script`]); `changes()` makes each step depend on the one
    /// before.
    async fn complete_app_login_sqlite(
        &self,
        c: &AppLoginCompletion,
        now: DateTime<Utc>,
    ) -> StoreResult<AppCompletionOutcome> {
        let rows = self
            .sqlite_script(app_completion_query(
                "BEGIN IMMEDIATE; \
                 UPDATE pending_logins SET used_at = $1 \
                   WHERE id = $2 AND connection_id = $3 AND purpose = $9 AND used_at IS NULL AND expires_at > $1; \
                 INSERT INTO seen_assertions (connection_id, assertion_id, expires_at) \
                   SELECT $3, $4, $5 WHERE changes() = 1 ON CONFLICT DO NOTHING; \
                 INSERT INTO auth_codes (code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at) \
                   SELECT $6, $3, client_id, redirect_uri, code_challenge, nonce, scope, $7, $1, $8 FROM pending_logins \
                   WHERE id = $2 AND changes() = 1; \
                 SELECT redirect_uri, state, (SELECT COUNT(*) FROM auth_codes WHERE code_hash = $6) AS issued \
                   FROM pending_logins WHERE id = $2 AND connection_id = $3 AND used_at = $1; \
                 COMMIT;",
                c,
                now,
            )?)
            .await?;
        app_outcome(rows.first())
    }

    async fn redeem_code_sqlite(
        &self,
        code_hash: &str,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        let rows = self
            .sqlite_script(redemption_query(
                    "BEGIN IMMEDIATE; \
                     UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 WHERE code_hash = $3 AND redeemed_at IS NULL; \
                     INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
                       SELECT $2, $4, $5, $6, $7, $8, $9 WHERE changes() = 1; \
                     SELECT changes() AS issued, \
                            (SELECT COUNT(*) FROM auth_codes WHERE code_hash = $3) AS found, \
                            (SELECT access_token_hash FROM auth_codes WHERE code_hash = $3) AS token_hash; \
                     COMMIT;",
                code_hash,
                token,
                now,
            ))
            .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Backend("redeem script returned no row".into()))?;
        Ok(if row.int("issued")? == 1 {
            Redemption::Issued
        } else if row.int("found")? == 1 {
            Redemption::Replayed {
                token_hash: row.opt_text("token_hash")?,
            }
        } else {
            Redemption::Unknown
        })
    }
}

#[async_trait]
impl LoginStore for SqlStore {
    async fn create_pending_login(&self, p: &PendingLogin) -> StoreResult<()> {
        let purpose =
            serde_json::to_string(&p.purpose).map_err(|e| StoreError::Backend(e.to_string()))?;
        if let SignInPath::Pool(pg) = &self.sign_ins {
            let item = serde_json::json!({
                "id": p.id,
                "connection_id": p.target.connection_id(),
                "setup_link_id": p.target.setup_link_id(),
                "purpose": purpose,
                "client_id": p.client_id,
                "redirect_uri": p.redirect_uri,
                "state": p.state,
                "nonce": p.nonce,
                "code_challenge": p.code_challenge,
                "scope": p.scope,
                "created_at": ms(p.created_at),
                "expires_at": ms(p.expires_at),
                "idp_state": p.idp_state,
            });
            return match pg.pending_inserts.run(&item).await?.len() {
                1 => Ok(()),
                n => Err(StoreError::Backend(format!(
                    "storing a pending request returned {n} rows"
                ))),
            };
        }
        // SQLite: through the write queue.
        self.sqlite_queue()?
            .run(
            sqlx::query(
                "INSERT INTO pending_logins (id, connection_id, setup_link_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, idp_state) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(p.id.clone())
            .bind(p.target.connection_id().map(str::to_string))
            .bind(p.target.setup_link_id().map(str::to_string))
            .bind(purpose)
            .bind(p.client_id.clone())
            .bind(p.redirect_uri.clone())
            .bind(p.state.clone())
            .bind(p.nonce.clone())
            .bind(p.code_challenge.clone())
            .bind(p.scope.clone())
            .bind(ms(p.created_at))
            .bind(ms(p.expires_at))
            .bind(p.idp_state.clone()),
                false,
            )
            .await
            .map(|_| ())
    }

    async fn pending_login(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingLogin>> {
        let row = sqlx::query(
            "SELECT id, connection_id, setup_link_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, idp_state \
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

    async fn complete_app_login(
        &self,
        c: &AppLoginCompletion,
        now: DateTime<Utc>,
    ) -> StoreResult<AppCompletionOutcome> {
        match self.engine {
            Engine::Postgres => self.complete_app_login_pg(c, now).await,
            Engine::Sqlite => self.complete_app_login_sqlite(c, now).await,
        }
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
        match self.engine {
            Engine::Postgres => self.redeem_code_pg(code_hash, token, now).await,
            Engine::Sqlite => self.redeem_code_sqlite(code_hash, token, now).await,
        }
    }

    async fn redeem_code_if(
        &self,
        code_hash: &str,
        expect: &RedeemIf,
        token_hash: &str,
        now: DateTime<Utc>,
        token_expires_at: DateTime<Utc>,
    ) -> StoreResult<Option<AuthCode>> {
        let rows = match self.engine {
            Engine::Postgres => {
                let row = sqlx::query(
                    "WITH r AS (\
                       UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 \
                       WHERE code_hash = $3 AND redeemed_at IS NULL AND expires_at > $1 \
                         AND client_id = $4 AND redirect_uri = $5 AND code_challenge IS NOT DISTINCT FROM $6 \
                       RETURNING code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at\
                     ), t AS (\
                       INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
                       SELECT $2, connection_id, client_id, scope, profile, $1, $7 FROM r\
                     ) \
                     SELECT code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at FROM r",
                )
                .bind(ms(now))
                .bind(token_hash)
                .bind(code_hash)
                .bind(&expect.client_id)
                .bind(&expect.redirect_uri)
                .bind(expect.code_challenge.clone())
                .bind(ms(token_expires_at))
                .fetch_optional(self.writer())
                .await
                .map_err(map_err)?;
                return row.as_ref().map(code_from).transpose();
            }
            Engine::Sqlite => {
                self.sqlite_script(
                    sqlx::query(
                        "BEGIN IMMEDIATE; \
                         UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 \
                           WHERE code_hash = $3 AND redeemed_at IS NULL AND expires_at > $1 \
                             AND client_id = $4 AND redirect_uri = $5 AND code_challenge IS $6; \
                         INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
                           SELECT $2, connection_id, client_id, scope, profile, $1, $7 FROM auth_codes \
                           WHERE code_hash = $3 AND changes() = 1; \
                         SELECT code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at \
                           FROM auth_codes WHERE code_hash = $3 AND changes() = 1; \
                         COMMIT;",
                    )
                    .bind(ms(now))
                    .bind(token_hash.to_string())
                    .bind(code_hash.to_string())
                    .bind(expect.client_id.clone())
                    .bind(expect.redirect_uri.clone())
                    .bind(expect.code_challenge.clone())
                    .bind(ms(token_expires_at)),
                )
                .await?
            }
        };
        rows.first().map(code_from).transpose()
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AccessToken>> {
        if let SignInPath::Pool(pg) = &self.sign_ins {
            let item = serde_json::json!({ "h": token_hash, "now": ms(now) });
            let rows = pg.token_reads.run(&item).await?;
            return rows.first().map(access_token_from).transpose();
        }
        let row = sqlx::query(
            "SELECT token_hash, connection_id, client_id, scope, profile, created_at, expires_at FROM access_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(access_token_from).transpose()
    }

    async fn revoke_access_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE access_tokens SET revoked_at = $1 WHERE token_hash = $2 AND revoked_at IS NULL",
        )
        .bind(ms(now))
        .bind(token_hash)
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn test_result(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Option<TestResult>> {
        let row = sqlx::query(
            "SELECT id, connection_id, setup_link_id, owner, profile, error, created_at, expires_at FROM test_results WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref().map(test_from).transpose()
    }

    async fn save_test_result(&self, r: &TestResult) -> StoreResult<()> {
        let mut conn = self.writer().acquire().await.map_err(map_err)?;
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
                .execute(self.writer())
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
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
