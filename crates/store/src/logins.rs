use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{
    AccessToken, AppCompletionOutcome, AppLoginCompletion, AuthCode, CompletionOutcome,
    LoginCompletion, LoginPurpose, LoginTarget, PendingLogin, RedeemIf, Redemption, StoredKey,
    TestResult,
};
use gatehouse_domain::ports::{KeyStore, LoginStore, StoreError, StoreResult};

use crate::rows::{ms, RowExt};
use crate::values::Values;
use crate::{map_err, Engine, SignInPath, SqlStore};

macro_rules! pending_insert {
    () => {
        "INSERT INTO pending_logins (id, connection_id, setup_link_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, idp_state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    };
}

/// A pending request, stored (SQLite; PostgreSQL's [`PG_PENDING_INSERT`]).
const PENDING_INSERT: &str = pending_insert!();
/// PostgreSQL: a pending request stored alone ([`crate::pg_batch`]), its row returned.
const PG_PENDING_INSERT: &str = concat!(pending_insert!(), " RETURNING id");

/// An app sign-in completed alone at the ACS ([`crate::pg_batch`]): `$1`…`$9` of
/// [`app_completion_values`], one statement (data-modifying CTEs are atomic).
const PG_APP_COMPLETION: &str = "WITH p AS (\
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
     SELECT redirect_uri, state, (SELECT COUNT(*) FROM c) AS issued FROM p";

/// A code redeemed alone at the token endpoint's fast path ([`crate::pg_batch`]).
const PG_REDEMPTION: &str = "WITH r AS (\
       UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 \
       WHERE code_hash = $3 AND redeemed_at IS NULL AND expires_at > $1 \
         AND client_id = $4 AND redirect_uri = $5 AND code_challenge IS NOT DISTINCT FROM $6 \
       RETURNING code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at\
     ), t AS (\
       INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
       SELECT $2, connection_id, client_id, scope, profile, $1, $7 FROM r\
     ) \
     SELECT code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at FROM r";

/// An access token, read (SQLite, and PostgreSQL alone).
const TOKEN_READ: &str = "SELECT token_hash, connection_id, client_id, scope, profile, created_at, expires_at FROM access_tokens \
     WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2";

/// PostgreSQL: pending requests stored at authorize, batched ([`crate::pg_batch`]).
pub(crate) const PG_PENDING_INSERTS: &str = "WITH x AS (\
       SELECT * FROM json_to_recordset($1::json) AS x(k bigint, id text, connection_id text, setup_link_id text, purpose text, client_id text, redirect_uri text, state text, nonce text, code_challenge text, scope text, created_at bigint, expires_at bigint, idp_state text)\
     ), i AS (\
       INSERT INTO pending_logins (id, connection_id, setup_link_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, idp_state) \
       SELECT id, connection_id, setup_link_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, idp_state FROM x RETURNING id\
     ) SELECT x.k FROM x JOIN i ON i.id = x.id";

/// PostgreSQL: app sign-ins completed at the ACS, batched ([`crate::pg_batch`]).
///
/// Per element: consume the pending request (`p`), record the assertion id against
/// replay (`s`) and, only where both happened, issue the code (`c`). Elements never
/// share a win: the pending request is one row, updated once, so only one element
/// naming it gets it back from `p`; of several elements naming one assertion id, only
/// the first (`f`, `DISTINCT ON`) may insert it, and a code goes only to the element
/// whose own insert happened (`w`). The rest see what they would see one after the
/// other: the request gone, or a replay. The pending rows are found by `= ANY` of the
/// ids, an index lookup whatever the planner guesses of the JSON array (a join
/// against it alone is planned as a scan of the whole table).
pub(crate) const PG_APP_COMPLETIONS: &str = "WITH x AS MATERIALIZED (\
       SELECT * FROM json_to_recordset($1::json) AS x(k bigint, now bigint, pending_id text, connection_id text, assertion_id text, replay_expires_at bigint, code_hash text, profile text, code_expires_at bigint, purpose text)\
     ), p AS (\
       UPDATE pending_logins l SET used_at = x.now FROM x \
       WHERE l.id = ANY(ARRAY(SELECT pending_id FROM x)) AND l.id = x.pending_id AND l.connection_id = x.connection_id \
         AND l.purpose = x.purpose AND l.used_at IS NULL AND l.expires_at > x.now \
       RETURNING x.k, x.now, x.connection_id, x.assertion_id, x.replay_expires_at, x.code_hash, x.profile, x.code_expires_at, \
         l.client_id, l.redirect_uri, l.state, l.nonce, l.code_challenge, l.scope\
     ), f AS (\
       SELECT DISTINCT ON (connection_id, assertion_id) k, connection_id, assertion_id, replay_expires_at FROM p \
       ORDER BY connection_id, assertion_id, k\
     ), s AS (\
       INSERT INTO seen_assertions (connection_id, assertion_id, expires_at) \
       SELECT connection_id, assertion_id, replay_expires_at FROM f ON CONFLICT DO NOTHING \
       RETURNING connection_id, assertion_id\
     ), w AS (\
       SELECT f.k FROM f JOIN s ON s.connection_id = f.connection_id AND s.assertion_id = f.assertion_id\
     ), c AS (\
       INSERT INTO auth_codes (code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at) \
       SELECT p.code_hash, p.connection_id, p.client_id, p.redirect_uri, p.code_challenge, p.nonce, p.scope, p.profile, p.now, p.code_expires_at \
       FROM p JOIN w ON w.k = p.k RETURNING code_hash\
     ) \
     SELECT p.k, p.redirect_uri, p.state, (SELECT COUNT(*) FROM c WHERE c.code_hash = p.code_hash) AS issued FROM p";

/// PostgreSQL: codes redeemed at the token endpoint's fast path (the code bound to
/// exactly this client, redirect URI and PKCE challenge), batched
/// ([`crate::pg_batch`]). A code is one row, updated once, so of several elements
/// naming it at most one gets it back; the access token stored is that element's.
/// Found by `= ANY` of the hashes, an index lookup (see [`PG_APP_COMPLETIONS`]).
pub(crate) const PG_REDEMPTIONS: &str = "WITH x AS MATERIALIZED (\
       SELECT * FROM json_to_recordset($1::json) AS x(k bigint, now bigint, code_hash text, token_hash text, client_id text, redirect_uri text, code_challenge text, token_expires_at bigint)\
     ), r AS (\
       UPDATE auth_codes a SET redeemed_at = x.now, access_token_hash = x.token_hash FROM x \
       WHERE a.code_hash = ANY(ARRAY(SELECT code_hash FROM x)) AND a.code_hash = x.code_hash \
         AND a.redeemed_at IS NULL AND a.expires_at > x.now AND a.client_id = x.client_id \
         AND a.redirect_uri = x.redirect_uri AND a.code_challenge IS NOT DISTINCT FROM x.code_challenge \
       RETURNING x.k, x.now, x.token_hash, x.token_expires_at, a.code_hash, a.connection_id, a.client_id, a.redirect_uri, \
         a.code_challenge, a.nonce, a.scope, a.profile, a.created_at, a.expires_at\
     ), t AS (\
       INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
       SELECT token_hash, connection_id, client_id, scope, profile, now, token_expires_at FROM r\
     ) \
     SELECT k, code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at FROM r";

/// PostgreSQL: access tokens read by userinfo, batched ([`crate::pg_batch`]).
/// One primary-key lookup per request (`LATERAL … OFFSET 0`, which the planner cannot
/// flatten): it guesses 100 elements for any JSON array and would otherwise hash-join
/// them against a scan of the whole table.
pub(crate) const PG_TOKEN_READS: &str = "SELECT x.k, t.token_hash, t.connection_id, t.client_id, t.scope, t.profile, t.created_at, t.expires_at \
     FROM json_to_recordset($1::json) AS x(k bigint, token_hash text, now bigint) \
     CROSS JOIN LATERAL (SELECT * FROM access_tokens a WHERE a.token_hash = x.token_hash AND a.revoked_at IS NULL AND a.expires_at > x.now OFFSET 0) t";

/// A pending request's values: `$1`…`$13` of [`PENDING_INSERT`].
fn pending_values(p: &PendingLogin, purpose: &str) -> Values {
    Values::default()
        .with("id", p.id.as_str())
        .with("connection_id", p.target.connection_id())
        .with("setup_link_id", p.target.setup_link_id())
        .with("purpose", purpose)
        .with("client_id", p.client_id.as_str())
        .with("redirect_uri", p.redirect_uri.as_str())
        .with("state", p.state.as_str())
        .with("nonce", p.nonce.as_deref())
        .with("code_challenge", p.code_challenge.as_deref())
        .with("scope", p.scope.as_str())
        .with("created_at", ms(p.created_at))
        .with("expires_at", ms(p.expires_at))
        .with("idp_state", p.idp_state.as_deref())
}

fn access_token_from(r: &impl RowExt) -> StoreResult<AccessToken> {
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
fn target_from(row: &impl RowExt) -> StoreResult<LoginTarget> {
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

fn pending_from(row: &impl RowExt) -> StoreResult<PendingLogin> {
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

fn code_from(row: &impl RowExt) -> StoreResult<AuthCode> {
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

fn test_from(row: &impl RowExt) -> StoreResult<TestResult> {
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

/// How an app sign-in's purpose is stored.
fn app_purpose() -> StoreResult<String> {
    serde_json::to_string(&LoginPurpose::App).map_err(|e| StoreError::Backend(e.to_string()))
}

/// An app sign-in's completion's values: `$1`…`$9` of [`PG_APP_COMPLETION`] and of
/// SQLite's script.
fn app_completion_values(c: &AppLoginCompletion, now: DateTime<Utc>) -> StoreResult<Values> {
    Ok(Values::default()
        .with("now", ms(now))
        .with("pending_id", c.pending_id.as_str())
        .with("connection_id", c.connection_id.as_str())
        .with("assertion_id", c.assertion_id.as_str())
        .with("replay_expires_at", ms(c.replay_expires_at))
        .with("code_hash", c.code_hash.as_str())
        .with("profile", c.profile.as_str())
        .with("code_expires_at", ms(c.code_expires_at))
        .with("purpose", app_purpose()?.as_str()))
}

/// No row: the request was not there to consume (answered, expired, another
/// connection's, not an app sign-in); a row without a code: the assertion was replayed.
fn app_outcome(row: Option<&impl RowExt>) -> StoreResult<AppCompletionOutcome> {
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
fn redemption_values(code_hash: &str, token: &AccessToken, now: DateTime<Utc>) -> Values {
    Values::default()
        .with("now", ms(now))
        .with("token_hash", token.token_hash.as_str())
        .with("code_hash", code_hash)
        .with("connection_id", token.connection_id.as_str())
        .with("client_id", token.client_id.as_str())
        .with("scope", token.scope.as_str())
        .with("profile", token.profile.as_str())
        .with("created_at", ms(token.created_at))
        .with("expires_at", ms(token.expires_at))
}

/// PostgreSQL runs the two write steps of a login as one statement each (data-modifying
/// CTEs are atomic), instead of a transaction of four or five round trips.
impl SqlStore {
    async fn complete_app_login_pg(
        &self,
        c: &AppLoginCompletion,
        now: DateTime<Utc>,
    ) -> StoreResult<AppCompletionOutcome> {
        let v = app_completion_values(c, now)?;
        let rows = self
            .pg_sign_ins()?
            .completions
            .run(&v.json(), v.query(PG_APP_COMPLETION))
            .await?;
        app_outcome(rows.first())
    }

    async fn redeem_code_pg(
        &self,
        code_hash: &str,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        let sql = "WITH r AS (\
               UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 WHERE code_hash = $3 AND redeemed_at IS NULL RETURNING code_hash\
             ) \
             INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
             SELECT $2, $4, $5, $6, $7, $8, $9 FROM r";
        let issued = redemption_values(code_hash, token, now)
            .query(sql)
            .execute(&self.pg_sign_ins()?.writes)
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

    /// SQLite: the same steps as one transaction ([`crate::sqlite_sign_ins`]);
    /// `changes()` makes each step depend on the one before.
    async fn complete_app_login_sqlite(
        &self,
        c: &AppLoginCompletion,
        now: DateTime<Utc>,
    ) -> StoreResult<AppCompletionOutcome> {
        let rows = self.sqlite_sign_ins()?.write(
            &[
                "UPDATE pending_logins SET used_at = $1 \
                 WHERE id = $2 AND connection_id = $3 AND purpose = $9 AND used_at IS NULL AND expires_at > $1",
                "INSERT INTO seen_assertions (connection_id, assertion_id, expires_at) \
                 SELECT $3, $4, $5 WHERE changes() = 1 ON CONFLICT DO NOTHING",
                "INSERT INTO auth_codes (code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at) \
                 SELECT $6, $3, client_id, redirect_uri, code_challenge, nonce, scope, $7, $1, $8 FROM pending_logins \
                 WHERE id = $2 AND changes() = 1",
                "SELECT redirect_uri, state, (SELECT COUNT(*) FROM auth_codes WHERE code_hash = $6) AS issued \
                 FROM pending_logins WHERE id = $2 AND connection_id = $3 AND used_at = $1",
            ],
            app_completion_values(c, now)?,
        )
        .await?;
        app_outcome(rows.first())
    }

    async fn redeem_code_sqlite(
        &self,
        code_hash: &str,
        token: &AccessToken,
        now: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        let rows = self.sqlite_sign_ins()?.write(
            &[
                "UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 WHERE code_hash = $3 AND redeemed_at IS NULL",
                "INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
                 SELECT $2, $4, $5, $6, $7, $8, $9 WHERE changes() = 1",
                "SELECT changes() AS issued, \
                   (SELECT COUNT(*) FROM auth_codes WHERE code_hash = $3) AS found, \
                   (SELECT access_token_hash FROM auth_codes WHERE code_hash = $3) AS token_hash",
            ],
            redemption_values(code_hash, token, now),
        )
        .await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::Backend("redeeming a code returned no row".into()))?;
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
        let v = pending_values(p, &purpose);
        if let SignInPath::Pool(pg) = &self.sign_ins {
            let stored = pg
                .pending_inserts
                .run(&v.json(), v.query(PG_PENDING_INSERT))
                .await?;
            return match stored.len() {
                1 => Ok(()),
                n => Err(StoreError::Backend(format!(
                    "storing a pending request returned {n} rows"
                ))),
            };
        }
        self.sqlite_sign_ins()?
            .write(&[PENDING_INSERT], v)
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
        // `$1`…`$7` of both engines' statements.
        let v = Values::default()
            .with("now", ms(now))
            .with("token_hash", token_hash)
            .with("code_hash", code_hash)
            .with("client_id", expect.client_id.as_str())
            .with("redirect_uri", expect.redirect_uri.as_str())
            .with("code_challenge", expect.code_challenge.as_deref())
            .with("token_expires_at", ms(token_expires_at));
        if let SignInPath::Pool(pg) = &self.sign_ins {
            let rows = pg
                .redemptions
                .run(&v.json(), v.query(PG_REDEMPTION))
                .await?;
            return rows.first().map(code_from).transpose();
        }
        let rows = self.sqlite_sign_ins()?.write(
            &[
                "UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 \
                 WHERE code_hash = $3 AND redeemed_at IS NULL AND expires_at > $1 \
                   AND client_id = $4 AND redirect_uri = $5 AND code_challenge IS $6",
                "INSERT INTO access_tokens (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
                 SELECT $2, connection_id, client_id, scope, profile, $1, $7 FROM auth_codes \
                 WHERE code_hash = $3 AND changes() = 1",
                "SELECT code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at \
                 FROM auth_codes WHERE code_hash = $3 AND changes() = 1",
            ],
            v,
        )
        .await?;
        rows.first().map(code_from).transpose()
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AccessToken>> {
        let v = Values::default()
            .with("token_hash", token_hash)
            .with("now", ms(now));
        if let SignInPath::Pool(pg) = &self.sign_ins {
            let rows = pg.token_reads.run(&v.json(), v.query(TOKEN_READ)).await?;
            return rows.first().map(access_token_from).transpose();
        }
        let rows = self.sqlite_sign_ins()?.read(TOKEN_READ, &v)?;
        rows.first().map(access_token_from).transpose()
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

    /// In batches of about [`PURGE_BATCH`] rows (the oldest first, by the expiry
    /// index), so that no single write holds the writer for long; failed logins go
    /// once they can no longer count towards a lockout. On PostgreSQL each table
    /// that lost rows is vacuumed, so that its space is reused.
    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let failed_logins_before = now - chrono::Duration::hours(1);
        let mut total = 0;
        for (table, column, before) in [
            ("pending_logins", "expires_at", now),
            ("seen_assertions", "expires_at", now),
            ("auth_codes", "expires_at", now),
            ("access_tokens", "expires_at", now),
            ("test_results", "expires_at", now),
            ("failed_logins", "at", failed_logins_before),
        ] {
            let sql = format!(
                "DELETE FROM {table} WHERE {column} <= (SELECT MAX({column}) FROM \
                 (SELECT {column} FROM {table} WHERE {column} <= $1 ORDER BY {column} LIMIT {PURGE_BATCH}) AS batch)"
            );
            let mut from_table = 0;
            loop {
                let removed = sqlx::query(&sql)
                    .bind(ms(before))
                    .execute(self.writer())
                    .await
                    .map_err(map_err)?
                    .rows_affected();
                from_table += removed;
                if removed < PURGE_BATCH {
                    break;
                }
            }
            // PostgreSQL reuses the space of deleted rows only once they are vacuumed;
            // a server with autovacuum off (or behind) would grow for ever.
            if from_table > 0 && self.engine_kind() == crate::Engine::Postgres {
                sqlx::query(&format!("VACUUM {table}"))
                    .execute(&self.pool)
                    .await
                    .map_err(map_err)?;
            }
            total += from_table;
        }
        Ok(total)
    }
}

/// Rows one purge statement removes (about: rows sharing the last expiry go too).
const PURGE_BATCH: u64 = 5_000;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pg_batch, testing};
    use serde_json::json;

    /// A store on a fresh PostgreSQL database whose sign-in tables take rows for a
    /// connection that is not there (this test is about the statements, not the
    /// foreign keys), when PostgreSQL is among the test engines.
    async fn pg_store() -> Option<(testing::TestDatabase, SqlStore)> {
        let (db, store) = match testing::postgres_store().await {
            Ok(s) => s?,
            Err(e) => panic!("{e}"),
        };
        for table in ["pending_logins", "auth_codes", "access_tokens"] {
            let sql = format!("ALTER TABLE {table} DROP CONSTRAINT {table}_connection_id_fkey");
            if let Err(e) = sqlx::query(&sql).execute(store.pool()).await {
                panic!("{sql}: {e}");
            }
        }
        Some((db, store))
    }

    /// Run `sql` once over `items`, as one batch; the rows by each item's place.
    async fn one_batch(
        store: &SqlStore,
        sql: &str,
        items: &[serde_json::Value],
    ) -> std::collections::HashMap<usize, Vec<sqlx::any::AnyRow>> {
        let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        match pg_batch::together(store.pool(), sql, items.iter().map(String::as_str)).await {
            Ok(rows) => rows,
            Err(e) => panic!("{e}"),
        }
    }

    fn completion(k: u8, pending: &str, assertion: &str) -> serde_json::Value {
        json!({
            "now": 1_000, "pending_id": pending, "connection_id": "c1",
            "assertion_id": assertion, "replay_expires_at": 9_000,
            "code_hash": format!("code {k}"), "profile": format!("profile {k}"),
            "code_expires_at": 9_000, "purpose": app_purpose().unwrap_or_default(),
        })
    }

    fn redemption(code: &str, token: &str, client: &str) -> serde_json::Value {
        json!({
            "now": 2_000, "code_hash": code, "token_hash": token, "client_id": client,
            "redirect_uri": "https://app.example/cb", "code_challenge": null,
            "token_expires_at": 9_000,
        })
    }

    /// Requests that name the same pending request, assertion id or code in one batch
    /// get what they would get one after the other: one wins, the rest see the request
    /// gone, a replay, or no code; nobody gets another request's code or token.
    #[tokio::test]
    async fn one_batch_never_lets_two_requests_share_a_win() {
        let Some((_db, store)) = pg_store().await else {
            return;
        };
        for id in ["p0", "p2", "p3", "p4"] {
            let pending = PendingLogin {
                id: id.into(),
                target: LoginTarget::Connection("c1".into()),
                purpose: LoginPurpose::App,
                client_id: "client".into(),
                redirect_uri: "https://app.example/cb".into(),
                state: format!("state {id}"),
                nonce: None,
                code_challenge: None,
                scope: "openid".into(),
                idp_state: None,
                created_at: DateTime::from_timestamp_millis(0).unwrap_or_default(),
                expires_at: DateTime::from_timestamp_millis(5_000).unwrap_or_default(),
            };
            if let Err(e) = store.create_pending_login(&pending).await {
                panic!("{e}");
            }
        }
        let seen = "INSERT INTO seen_assertions VALUES ('c1', 'seen before', 9000)";
        if let Err(e) = sqlx::query(seen).execute(store.pool()).await {
            panic!("{e}");
        }

        let rows = one_batch(
            &store,
            PG_APP_COMPLETIONS,
            &[
                completion(0, "p0", "a0"),
                completion(1, "p0", "a1"), // the same pending request
                completion(2, "p2", "a2"),
                completion(3, "p3", "a2"), // the same assertion, another request
                completion(4, "p4", "seen before"),
                completion(5, "unknown", "a5"),
            ],
        )
        .await;
        let outcome = |k: usize| match app_outcome(rows.get(&k).and_then(|r| r.first())) {
            Ok(o) => o,
            Err(e) => panic!("{k}: {e}"),
        };
        let done = |id: &str| AppCompletionOutcome::Done {
            redirect_uri: "https://app.example/cb".into(),
            state: format!("state {id}"),
        };
        assert_eq!(outcome(0), done("p0"));
        assert_eq!(outcome(1), AppCompletionOutcome::PendingGone);
        assert_eq!(outcome(2), done("p2"));
        assert_eq!(outcome(3), AppCompletionOutcome::Replay);
        assert_eq!(outcome(4), AppCompletionOutcome::Replay);
        assert_eq!(outcome(5), AppCompletionOutcome::PendingGone);
        for (code, profile) in [
            ("code 0", Some("profile 0")),
            ("code 1", None),
            ("code 2", Some("profile 2")),
            ("code 3", None),
            ("code 4", None),
        ] {
            let stored = match store.code(code).await {
                Ok(c) => c,
                Err(e) => panic!("{e}"),
            };
            assert_eq!(stored.map(|c| c.profile).as_deref(), profile, "{code}");
        }

        let rows = one_batch(
            &store,
            PG_REDEMPTIONS,
            &[
                redemption("code 0", "token 0", "client"),
                redemption("code 0", "token 1", "client"), // the same code
                redemption("code 2", "token 2", "another client"),
                redemption("code 2", "token 3", "client"),
                redemption("code 1", "token 4", "client"), // never issued
            ],
        )
        .await;
        let redeemed = |k: usize| rows.get(&k).map(|r| r.len()).unwrap_or(0);
        assert_eq!(
            (0..5).map(redeemed).collect::<Vec<_>>(),
            vec![1, 0, 0, 1, 0]
        );
        let tokens =
            sqlx::query("SELECT token_hash, profile FROM access_tokens ORDER BY token_hash")
                .fetch_all(store.pool())
                .await;
        let tokens: Vec<(String, String)> = match tokens {
            Ok(rows) => rows
                .iter()
                .map(|r| {
                    (
                        r.text("token_hash").unwrap_or_default(),
                        r.text("profile").unwrap_or_default(),
                    )
                })
                .collect(),
            Err(e) => panic!("{e}"),
        };
        assert_eq!(
            tokens,
            vec![
                ("token 0".to_string(), "profile 0".to_string()),
                ("token 3".to_string(), "profile 2".to_string()),
            ]
        );
        store.close().await;
    }
}
