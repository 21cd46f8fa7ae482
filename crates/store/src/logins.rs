//! The sign-in tables: pending requests, completions, codes, access tokens, test
//! results and signing keys. Each sign-in operation is one port method here, which
//! takes the fast path (`sign_in_fast.rs`) where the store has one and the operation
//! is on it, and otherwise the plain path (`sign_in_sql.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{
    AccessToken, AppReturn, AuthCode, CompletionOutcome, LoginCompletion, LoginPurpose,
    LoginTarget, PendingLogin, RedeemIf, Redemption, SignInResult, StoredKey, TestResult,
};
use gatehouse_domain::ports::{KeyStore, LoginStore, StoreError, StoreResult};
use sqlx::AnyConnection;

use crate::rows::{ms, RowExt};
use crate::sign_in_sql as sql;
use crate::values::Values;
use crate::{map_err, SqlStore};

/// A pending request's values: `$1`…`$13` of [`sql::STORE_PENDING`].
pub(crate) fn pending_values(p: &PendingLogin, purpose: &str) -> Values {
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

pub(crate) fn access_token_from(r: &impl RowExt) -> StoreResult<AccessToken> {
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

pub(crate) fn code_from(row: &impl RowExt) -> StoreResult<AuthCode> {
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

/// How a purpose is stored (and matched when a request is consumed).
fn purpose_json(purpose: &LoginPurpose) -> StoreResult<String> {
    serde_json::to_string(purpose).map_err(|e| StoreError::Backend(e.to_string()))
}

async fn store_test_result(conn: &mut AnyConnection, r: &TestResult) -> StoreResult<()> {
    sqlx::query(sql::STORE_TEST_RESULT)
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

async fn store_code(conn: &mut AnyConnection, c: &AuthCode) -> StoreResult<()> {
    sqlx::query(sql::STORE_CODE)
        .bind(&c.code_hash)
        .bind(&c.connection_id)
        .bind(&c.client_id)
        .bind(&c.redirect_uri)
        .bind(c.code_challenge.clone())
        .bind(c.nonce.clone())
        .bind(&c.scope)
        .bind(&c.profile)
        .bind(ms(c.created_at))
        .bind(ms(c.expires_at))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(map_err)
}

/// What a consumed request hands on to its code.
struct Consumed {
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: Option<String>,
    code_challenge: Option<String>,
    scope: String,
}

/// Mark request `id` used if it is unused, unexpired, and made for exactly `purpose`
/// and `target` ([`sql::CONSUME_PENDING`]).
async fn consume_pending(
    conn: &mut AnyConnection,
    id: &str,
    purpose: &LoginPurpose,
    target: &LoginTarget,
    now: DateTime<Utc>,
) -> StoreResult<Option<Consumed>> {
    let row = sqlx::query(sql::CONSUME_PENDING)
        .bind(ms(now))
        .bind(id)
        .bind(purpose_json(purpose)?)
        .bind(target.connection_id().map(str::to_string))
        .bind(target.setup_link_id().map(str::to_string))
        .fetch_optional(conn)
        .await
        .map_err(map_err)?;
    row.map(|r| {
        Ok(Consumed {
            client_id: r.text("client_id")?,
            redirect_uri: r.text("redirect_uri")?,
            state: r.text("state")?,
            nonce: r.opt_text("nonce")?,
            code_challenge: r.opt_text("code_challenge")?,
            scope: r.text("scope")?,
        })
    })
    .transpose()
}

/// Remember `c`'s assertion id; false if it was seen before.
async fn remember_assertion(conn: &mut AnyConnection, c: &LoginCompletion) -> StoreResult<bool> {
    let added = sqlx::query(sql::REMEMBER_ASSERTION)
        .bind(&c.connection_id)
        .bind(&c.assertion_id)
        .bind(ms(c.replay_expires_at))
        .execute(conn)
        .await
        .map_err(map_err)?
        .rows_affected();
    Ok(added == 1)
}

/// Why a completion stored nothing.
enum NotStored {
    PendingGone,
    Replay,
}

/// The statements of [`LoginStore::complete_login`], inside its transaction.
async fn complete(
    conn: &mut AnyConnection,
    c: &LoginCompletion,
    now: DateTime<Utc>,
) -> StoreResult<Result<Option<AppReturn>, NotStored>> {
    match &c.result {
        SignInResult::AppCode(app) => {
            let target = LoginTarget::Connection(c.connection_id.clone());
            let Some(p) =
                consume_pending(conn, &app.pending_id, &LoginPurpose::App, &target, now).await?
            else {
                return Ok(Err(NotStored::PendingGone));
            };
            if !remember_assertion(conn, c).await? {
                return Ok(Err(NotStored::Replay));
            }
            let code = AuthCode {
                code_hash: app.code_hash.clone(),
                connection_id: c.connection_id.clone(),
                client_id: p.client_id,
                redirect_uri: p.redirect_uri.clone(),
                code_challenge: p.code_challenge,
                nonce: p.nonce,
                scope: p.scope,
                profile: app.profile.clone(),
                created_at: now,
                expires_at: app.code_expires_at,
            };
            store_code(conn, &code).await?;
            Ok(Ok(Some(AppReturn {
                redirect_uri: p.redirect_uri,
                state: p.state,
            })))
        }
        SignInResult::Test { pending_id, result } => {
            let purpose = LoginPurpose::Test {
                owner: result.owner.clone(),
            };
            if consume_pending(conn, pending_id, &purpose, &result.target, now)
                .await?
                .is_none()
            {
                return Ok(Err(NotStored::PendingGone));
            }
            if !remember_assertion(conn, c).await? {
                return Ok(Err(NotStored::Replay));
            }
            store_test_result(conn, result).await?;
            Ok(Ok(None))
        }
        SignInResult::UnsolicitedCode(code) => {
            if !remember_assertion(conn, c).await? {
                return Ok(Err(NotStored::Replay));
            }
            store_code(conn, code).await?;
            Ok(Ok(None))
        }
    }
}

/// A code that was not redeemed, as found ([`sql::CODE`]): why is the caller's to say.
fn refusal_from(row: Option<&sqlx::any::AnyRow>) -> StoreResult<Redemption> {
    match row {
        None => Ok(Redemption::Unknown),
        Some(r) => Ok(Redemption::Refused {
            code: code_from(r)?,
            redeemed: r.opt_int("redeemed_at")?.is_some(),
            token_hash: r.opt_text("access_token_hash")?,
        }),
    }
}

impl SqlStore {
    /// After the fast path refused a redemption: the code as it stands.
    async fn refusal(&self, code_hash: &str) -> StoreResult<Redemption> {
        let row = sqlx::query(sql::CODE)
            .bind(code_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        refusal_from(row.as_ref())
    }
}

#[async_trait]
impl LoginStore for SqlStore {
    async fn create_pending_login(&self, p: &PendingLogin) -> StoreResult<()> {
        let purpose = purpose_json(&p.purpose)?;
        if let Some(fast) = self.fast_sign_ins() {
            return fast.store_pending(p, &purpose).await;
        }
        pending_values(p, &purpose)
            .query(sql::STORE_PENDING)
            .execute(self.sign_in_writer())
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn pending_login(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingLogin>> {
        let row = sqlx::query(sql::PENDING)
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
        if let (Some(fast), SignInResult::AppCode(app)) = (self.fast_sign_ins(), &c.result) {
            return fast.complete_app(c, app, now).await;
        }
        let mut tx = self.sign_in_tx().await?;
        match complete(&mut tx, c, now).await? {
            Ok(app) => {
                tx.commit().await.map_err(map_err)?;
                Ok(CompletionOutcome::Done { app })
            }
            Err(NotStored::PendingGone) => {
                tx.rollback().await.map_err(map_err)?;
                Ok(CompletionOutcome::PendingGone)
            }
            // A replayed assertion burns the request it claims to answer (as on the
            // fast path): the request stays consumed, nothing else is stored.
            Err(NotStored::Replay) => {
                tx.commit().await.map_err(map_err)?;
                Ok(CompletionOutcome::Replay)
            }
        }
    }

    async fn code(&self, code_hash: &str) -> StoreResult<Option<AuthCode>> {
        let row = sqlx::query(sql::CODE)
            .bind(code_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(code_from).transpose()
    }

    async fn redeem_code(
        &self,
        code_hash: &str,
        expect: &RedeemIf,
        token_hash: &str,
        now: DateTime<Utc>,
        token_expires_at: DateTime<Utc>,
    ) -> StoreResult<Redemption> {
        if let Some(fast) = self.fast_sign_ins() {
            let issued = fast
                .redeem(code_hash, expect, token_hash, now, token_expires_at)
                .await?;
            return match issued {
                Some(code) => Ok(Redemption::Issued(code)),
                None => self.refusal(code_hash).await,
            };
        }
        let mut tx = self.sign_in_tx().await?;
        let redeemed = sqlx::query(sql::REDEEM_CODE)
            .bind(ms(now))
            .bind(token_hash)
            .bind(code_hash)
            .bind(&expect.client_id)
            .bind(&expect.redirect_uri)
            .bind(expect.code_challenge.clone())
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        if let Some(row) = redeemed {
            let code = code_from(&row)?;
            sqlx::query(sql::STORE_ACCESS_TOKEN)
                .bind(token_hash)
                .bind(&code.connection_id)
                .bind(&code.client_id)
                .bind(&code.scope)
                .bind(&code.profile)
                .bind(ms(now))
                .bind(ms(token_expires_at))
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
            tx.commit().await.map_err(map_err)?;
            return Ok(Redemption::Issued(code));
        }
        let row = sqlx::query(sql::CODE)
            .bind(code_hash)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.rollback().await.map_err(map_err)?;
        refusal_from(row.as_ref())
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AccessToken>> {
        if let Some(fast) = self.fast_sign_ins() {
            return fast.access_token(token_hash, now).await;
        }
        let row = sqlx::query(sql::ACCESS_TOKEN)
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
        store_test_result(&mut conn, r).await
    }

    /// Each table by [`SqlStore::purge_before`]; failed logins go once they can no
    /// longer count towards a lockout.
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
            total += self.purge_before(table, column, before).await?;
        }
        Ok(total)
    }
}

impl SqlStore {
    /// Delete `table`'s rows whose `column` is at or before `before`, in batches of
    /// about [`PURGE_BATCH`] rows (the oldest first, by the column's index), so that
    /// no single write holds the writer for long. On PostgreSQL a table that lost
    /// rows is vacuumed, so that its space is reused.
    pub(crate) async fn purge_before(
        &self,
        table: &'static str,
        column: &'static str,
        before: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let sql = format!(
            "DELETE FROM {table} WHERE {column} <= (SELECT MAX({column}) FROM \
             (SELECT {column} FROM {table} WHERE {column} <= $1 ORDER BY {column} LIMIT {PURGE_BATCH}) AS batch)"
        );
        let mut removed_in_all = 0;
        loop {
            let removed = sqlx::query(&sql)
                .bind(ms(before))
                .execute(self.writer())
                .await
                .map_err(map_err)?
                .rows_affected();
            removed_in_all += removed;
            if removed < PURGE_BATCH {
                break;
            }
        }
        // PostgreSQL reuses the space of deleted rows only once they are vacuumed;
        // a server with autovacuum off (or behind) would grow for ever.
        if removed_in_all > 0 && self.engine_kind() == crate::Engine::Postgres {
            sqlx::query(&format!("VACUUM {table}"))
                .execute(&self.pool)
                .await
                .map_err(map_err)?;
        }
        Ok(removed_in_all)
    }
}

/// Rows one purge statement removes (about: rows sharing the last expiry go too).
const PURGE_BATCH: u64 = 5_000;

#[async_trait]
impl KeyStore for SqlStore {
    async fn keys(&self, purpose: &str) -> StoreResult<Vec<StoredKey>> {
        let rows = sqlx::query(
            "SELECT id, purpose, private_key, certificate, created_at, activates_at, retires_at \
             FROM signing_keys WHERE purpose = $1 ORDER BY activates_at",
        )
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
                    activates_at: r.time("activates_at")?,
                    retires_at: r.opt_time("retires_at")?,
                })
            })
            .collect()
    }

    async fn insert_first_key(&self, k: &StoredKey) -> StoreResult<bool> {
        // (purpose, activates_at) is unique and every first key activates at 0: of
        // several instances starting at once, one inserts.
        let done = sqlx::query(
            "INSERT INTO signing_keys (id, purpose, private_key, certificate, created_at, activates_at) \
             SELECT $1, $2, $3, $4, $5, $6 \
             WHERE NOT EXISTS (SELECT 1 FROM signing_keys WHERE purpose = $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(&k.id)
        .bind(&k.purpose)
        .bind(&k.private_key)
        .bind(k.certificate.clone())
        .bind(ms(k.created_at))
        .bind(ms(k.activates_at))
        .bind(&k.purpose)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn schedule_key(
        &self,
        next: &StoredKey,
        current: &str,
        retires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        // The row lock (PostgreSQL) or the write lock (SQLite) makes a second
        // rotation of the same key wait, then find it already has a successor.
        let retired = sqlx::query(
            "UPDATE signing_keys SET retires_at = $1 \
             WHERE id = $2 AND purpose = $3 AND retires_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM signing_keys later \
                 WHERE later.purpose = $4 AND later.activates_at > signing_keys.activates_at)",
        )
        .bind(ms(retires_at))
        .bind(current)
        .bind(&next.purpose)
        .bind(&next.purpose)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        if retired.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "key {current} already has a successor"
            )));
        }
        sqlx::query(
            "INSERT INTO signing_keys (id, purpose, private_key, certificate, created_at, activates_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&next.id)
        .bind(&next.purpose)
        .bind(&next.private_key)
        .bind(next.certificate.clone())
        .bind(ms(next.created_at))
        .bind(ms(next.activates_at))
        .execute(&mut *tx)
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Every sign-in operation through its one port method, on every test engine and
    //! by both paths (plain and fast): the outcomes must be what the rules say, and
    //! the same everywhere.

    use super::*;
    use crate::{testing, Engine, PoolSettings};
    use gatehouse_domain::model::AppCode;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap_or_default()
    }

    /// Every engine under test, by each path.
    fn paths() -> Vec<(Engine, bool)> {
        testing::engines()
            .into_iter()
            .flat_map(|e| [(e, false), (e, true)])
            .collect()
    }

    async fn store_on(engine: Engine, fast: bool) -> (testing::TestDatabase, SqlStore) {
        let db = match testing::fresh_database(engine).await {
            Ok(db) => db,
            Err(e) => panic!("{e}"),
        };
        let settings = PoolSettings {
            sign_in_fast_path: fast,
            ..PoolSettings::default()
        };
        let store = match SqlStore::connect(&db.url, &settings).await {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        for statement in [
            "INSERT INTO teams (id, name, created_at, trial_ends_at) VALUES ('t1', 'T', 0, 0)",
            "INSERT INTO products (id, team_id, name, description, redirect_urls, created_at, updated_at) \
             VALUES ('p1', 't1', 'P', '', '[]', 0, 0)",
            "INSERT INTO connections (id, product_id, tenant, name, description, protocol, idp_config, idp_entity_id, \
               redirect_urls, client_id, client_secret_hash, allow_idp_initiated, enabled, source, created_at, updated_at) \
             VALUES ('c1', 'p1', 'acme.com', 'C1', '', 'saml', '{}', 'idp', '[]', 'client1', 'x', 0, 1, 'api', 0, 0)",
            "INSERT INTO connections (id, product_id, tenant, name, description, protocol, idp_config, idp_entity_id, \
               redirect_urls, client_id, client_secret_hash, allow_idp_initiated, enabled, source, created_at, updated_at) \
             VALUES ('c2', 'p1', 'other.com', 'C2', '', 'saml', '{}', 'idp2', '[]', 'client2', 'x', 0, 1, 'api', 0, 0)",
        ] {
            if let Err(e) = sqlx::query(statement).execute(store.writer()).await {
                panic!("{statement}: {e}");
            }
        }
        (db, store)
    }

    fn pending(id: &str, purpose: LoginPurpose, challenge: Option<&str>) -> PendingLogin {
        PendingLogin {
            id: id.into(),
            target: LoginTarget::Connection("c1".into()),
            purpose,
            client_id: "client1".into(),
            redirect_uri: "https://app.example/cb".into(),
            state: format!("state of {id}"),
            nonce: Some("n".into()),
            code_challenge: challenge.map(str::to_string),
            scope: "openid".into(),
            idp_state: None,
            created_at: at(0),
            expires_at: at(5_000),
        }
    }

    fn app(connection: &str, pending: &str, assertion: &str, code: &str) -> LoginCompletion {
        LoginCompletion {
            connection_id: connection.into(),
            assertion_id: assertion.into(),
            replay_expires_at: at(9_000),
            result: SignInResult::AppCode(AppCode {
                pending_id: pending.into(),
                code_hash: code.into(),
                profile: format!("profile {code}"),
                code_expires_at: at(6_000),
            }),
        }
    }

    fn expect(redirect: &str, challenge: Option<&str>) -> RedeemIf {
        RedeemIf {
            client_id: "client1".into(),
            redirect_uri: redirect.into(),
            code_challenge: challenge.map(str::to_string),
        }
    }

    /// The outcomes of one scripted run, each as text (compared across engines).
    async fn script(store: &SqlStore) -> Vec<String> {
        let mut seen = Vec::new();
        let mut note = |what: &str, outcome: String| seen.push(format!("{what}: {outcome}"));
        let ok = |r: StoreResult<()>| format!("{r:?}");
        for p in [
            pending("r1", LoginPurpose::App, None),
            pending("r2", LoginPurpose::App, Some("challenge")),
            pending("r3", LoginPurpose::App, None),
            pending("r5", LoginPurpose::App, None),
            pending("r4", LoginPurpose::Test { owner: "u1".into() }, None),
        ] {
            note("store", ok(store.create_pending_login(&p).await));
        }
        let read = store.pending_login("r1", at(1_000)).await;
        note("read", format!("{:?}", read.map(|p| p.map(|p| p.state))));
        note(
            "read expired",
            format!("{:?}", store.pending_login("r1", at(5_000)).await),
        );

        for (what, c, now) in [
            (
                "other connection's request",
                app("c2", "r1", "a0", "k0"),
                1_000,
            ),
            ("expired request", app("c1", "r3", "a3", "k3"), 5_000),
            ("app", app("c1", "r1", "a1", "k1"), 1_000),
            // A millisecond later: within the same one, SQLite's fast path cannot tell
            // this from a replay (it reports Replay, also a refusal).
            ("request answered twice", app("c1", "r1", "a9", "k9"), 1_001),
            ("assertion replayed", app("c1", "r5", "a1", "k5"), 1_000),
            (
                "a replay burns its request",
                app("c1", "r5", "a8", "k8"),
                1_001,
            ),
            ("app with PKCE", app("c1", "r2", "a2", "k2"), 1_000),
            (
                "a test's request as an app's",
                app("c1", "r4", "a4", "k4"),
                1_000,
            ),
        ] {
            note(
                what,
                format!("{:?}", store.complete_login(&c, at(now)).await),
            );
        }
        let test = |owner: &str, assertion: &str| LoginCompletion {
            connection_id: "c1".into(),
            assertion_id: assertion.into(),
            replay_expires_at: at(9_000),
            result: SignInResult::Test {
                pending_id: "r4".into(),
                result: TestResult {
                    id: format!("test {owner}"),
                    target: LoginTarget::Connection("c1".into()),
                    owner: owner.into(),
                    profile: Some("{}".into()),
                    error: None,
                    created_at: at(1_000),
                    expires_at: at(9_000),
                },
            },
        };
        for (what, c) in [
            ("another owner's test", test("u2", "a5")),
            ("test", test("u1", "a5")),
        ] {
            note(
                what,
                format!("{:?}", store.complete_login(&c, at(1_000)).await),
            );
        }
        note(
            "test result",
            format!(
                "{:?}",
                store
                    .test_result("test u1", at(1_000))
                    .await
                    .map(|r| r.map(|r| r.owner))
            ),
        );
        let unsolicited = |assertion: &str, code: &str| LoginCompletion {
            connection_id: "c1".into(),
            assertion_id: assertion.into(),
            replay_expires_at: at(9_000),
            result: SignInResult::UnsolicitedCode(AuthCode {
                code_hash: code.into(),
                connection_id: "c1".into(),
                client_id: "client1".into(),
                redirect_uri: "https://app.example/default".into(),
                code_challenge: None,
                nonce: None,
                scope: String::new(),
                profile: "{}".into(),
                created_at: at(1_000),
                expires_at: at(6_000),
            }),
        };
        for (what, c) in [
            ("IdP-initiated", unsolicited("a6", "k6")),
            ("IdP-initiated replayed", unsolicited("a6", "k7")),
        ] {
            note(
                what,
                format!("{:?}", store.complete_login(&c, at(1_000)).await),
            );
        }

        let cb = "https://app.example/cb";
        for (what, code, e, token, now) in [
            ("unknown code", "nope", expect(cb, None), "t0", 2_000),
            (
                "another redirect",
                "k1",
                expect("https://evil.example", None),
                "t0",
                2_000,
            ),
            (
                "a verifier the request had not",
                "k1",
                expect(cb, Some("x")),
                "t0",
                2_000,
            ),
            ("expired code", "k1", expect(cb, None), "t0", 6_000),
            ("redeemed", "k1", expect(cb, None), "t1", 2_000),
            ("redeemed twice", "k1", expect(cb, None), "t2", 2_000),
            ("missing verifier", "k2", expect(cb, None), "t3", 2_000),
            (
                "wrong verifier",
                "k2",
                expect(cb, Some("other")),
                "t3",
                2_000,
            ),
            ("PKCE", "k2", expect(cb, Some("challenge")), "t3", 2_000),
            (
                "IdP-initiated code",
                "k6",
                expect("https://app.example/default", None),
                "t4",
                2_000,
            ),
        ] {
            let r = store.redeem_code(code, &e, token, at(now), at(8_000)).await;
            note(what, format!("{r:?}"));
        }
        for (what, token, now) in [
            ("token", "t1", 3_000),
            ("refused redemption stored no token", "t0", 3_000),
            ("expired token", "t1", 8_000),
        ] {
            let r = store.access_token(token, at(now)).await;
            note(what, format!("{:?}", r.map(|t| t.map(|t| t.profile))));
        }
        let _ = store.revoke_access_token("t3", at(3_000)).await;
        note(
            "revoked token",
            format!("{:?}", store.access_token("t3", at(3_000)).await),
        );
        seen
    }

    #[tokio::test]
    async fn each_sign_in_operation_gives_the_same_outcomes_by_every_path() {
        let mut runs = Vec::new();
        for (engine, fast) in paths() {
            let (_db, store) = store_on(engine, fast).await;
            runs.push(((engine, fast), script(&store).await));
            store.close().await;
        }
        let Some((_, first)) = runs.first() else {
            return;
        };
        let has = |prefix: &str, needle: &str| {
            let line = first.iter().find(|l| l.starts_with(&format!("{prefix}: ")));
            assert!(
                line.is_some_and(|l| l.contains(needle)),
                "{prefix}: expected {needle:?} in {line:?}"
            );
        };
        has("read", "state of r1");
        has("read expired", "Ok(None)");
        has("other connection's request", "PendingGone");
        has("expired request", "PendingGone");
        has("app", "Done { app: Some(AppReturn { redirect_uri: \"https://app.example/cb\", state: \"state of r1\" }) }");
        has("request answered twice", "PendingGone");
        has("assertion replayed", "Replay");
        has("a replay burns its request", "PendingGone");
        has("app with PKCE", "state of r2");
        has("a test's request as an app's", "PendingGone");
        has("another owner's test", "PendingGone");
        has("test", "Done { app: None }");
        has("test result", "Some(\"u1\")");
        has("IdP-initiated", "Done { app: None }");
        has("IdP-initiated replayed", "Replay");
        has("unknown code", "Unknown");
        has("another redirect", "Refused");
        has("a verifier the request had not", "redeemed: false");
        has("expired code", "redeemed: false");
        has("redeemed", "Issued(AuthCode { code_hash: \"k1\"");
        has("redeemed twice", "redeemed: true, token_hash: Some(\"t1\")");
        has("missing verifier", "Refused");
        has("wrong verifier", "Refused");
        has("PKCE", "Issued(AuthCode { code_hash: \"k2\"");
        has("IdP-initiated code", "Issued");
        has("token", "Some(\"profile k1\")");
        has("refused redemption stored no token", "Ok(None)");
        has("expired token", "Ok(None)");
        has("revoked token", "Ok(None)");
        for (path, run) in &runs[1..] {
            assert_eq!(run, first, "{path:?} differs from {:?}", runs[0].0);
        }
    }

    /// Many requests racing for one pending request, or for one code: exactly one
    /// wins, whatever the engine and path (the fast path on PostgreSQL puts them in
    /// one batch).
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_requests_get_one_win() {
        for engine in paths() {
            let (_db, store) = store_on(engine.0, engine.1).await;
            if let Err(e) = store
                .create_pending_login(&pending("r1", LoginPurpose::App, None))
                .await
            {
                panic!("{e}");
            }
            let completions = (0..8).map(|k| {
                let store = store.clone();
                tokio::spawn(async move {
                    let c = app("c1", "r1", &format!("a{k}"), &format!("k{k}"));
                    store.complete_login(&c, at(1_000)).await
                })
            });
            let mut done = 0;
            for c in completions {
                match c.await {
                    Ok(Ok(CompletionOutcome::Done { .. })) => done += 1,
                    Ok(Ok(_)) => {}
                    other => panic!("{engine:?}: {other:?}"),
                }
            }
            assert_eq!(done, 1, "{engine:?}: completions that won");
            let mut issued = 0;
            let winner = sqlx::query("SELECT code_hash FROM auth_codes")
                .fetch_all(store.pool())
                .await
                .map(|rows| {
                    rows.iter()
                        .filter_map(|r| r.text("code_hash").ok())
                        .collect::<Vec<_>>()
                });
            let winner = match winner {
                Ok(codes) if codes.len() == 1 => codes[0].clone(),
                other => panic!("{engine:?}: codes stored {other:?}"),
            };
            let redemptions = (0..8).map(|k| {
                let (store, winner) = (store.clone(), winner.clone());
                tokio::spawn(async move {
                    let e = expect("https://app.example/cb", None);
                    store
                        .redeem_code(&winner, &e, &format!("t{k}"), at(2_000), at(8_000))
                        .await
                })
            });
            for r in redemptions {
                match r.await {
                    Ok(Ok(Redemption::Issued(_))) => issued += 1,
                    Ok(Ok(Redemption::Refused { redeemed: true, .. })) => {}
                    other => panic!("{engine:?}: {other:?}"),
                }
            }
            assert_eq!(issued, 1, "{engine:?}: redemptions that won");
            store.close().await;
        }
    }
}
