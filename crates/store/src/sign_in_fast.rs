//! The fast path of a sign-in's own operations (see the crate documentation): on
//! SQLite through rusqlite ([`crate::sqlite_sign_ins`]), on PostgreSQL as batched
//! one-statement CTEs ([`crate::pg_batch`]). Only the operations of every app sign-in
//! take it (storing the request, completing an app's request, redeeming a code bound
//! to what is presented, reading a token); a test or IdP-initiated completion and a
//! refused redemption's explanation take the plain path. `logins.rs` chooses; a test
//! there runs every operation through both paths and compares the outcomes.

use chrono::{DateTime, Utc};
use gatehouse_domain::model::{
    AccessToken, AppCode, AppReturn, AuthCode, CompletionOutcome, LoginCompletion, LoginPurpose,
    PendingLogin, RedeemIf,
};
use gatehouse_domain::ports::{StoreError, StoreResult};

use crate::logins::{access_token_from, code_from, pending_values};
use crate::rows::{ms, RowExt};
use crate::sign_in_sql;
use crate::sqlite_sign_ins::SqliteSignIns;
use crate::values::Values;
use crate::PgSignIns;

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

/// One of the two fast paths.
#[derive(Clone, Copy)]
pub(crate) enum Fast<'a> {
    Sqlite(&'a SqliteSignIns),
    Postgres(&'a PgSignIns),
}

/// `$1`…`$9` of [`PG_APP_COMPLETION`] and of SQLite's script.
fn app_completion_values(
    c: &LoginCompletion,
    app: &AppCode,
    now: DateTime<Utc>,
) -> StoreResult<Values> {
    let purpose = serde_json::to_string(&LoginPurpose::App)
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    Ok(Values::default()
        .with("now", ms(now))
        .with("pending_id", app.pending_id.as_str())
        .with("connection_id", c.connection_id.as_str())
        .with("assertion_id", c.assertion_id.as_str())
        .with("replay_expires_at", ms(c.replay_expires_at))
        .with("code_hash", app.code_hash.as_str())
        .with("profile", app.profile.as_str())
        .with("code_expires_at", ms(app.code_expires_at))
        .with("purpose", purpose.as_str()))
}

/// No row: the request was not there to consume (answered, expired, another
/// connection's, not an app sign-in); a row without a code: the assertion was replayed.
pub(crate) fn app_outcome(row: Option<&impl RowExt>) -> StoreResult<CompletionOutcome> {
    Ok(match row {
        None => CompletionOutcome::PendingGone,
        Some(r) if r.int("issued")? == 1 => CompletionOutcome::Done {
            app: Some(AppReturn {
                redirect_uri: r.text("redirect_uri")?,
                state: r.text("state")?,
            }),
        },
        Some(_) => CompletionOutcome::Replay,
    })
}

impl Fast<'_> {
    pub(crate) async fn store_pending(self, p: &PendingLogin, purpose: &str) -> StoreResult<()> {
        let v = pending_values(p, purpose);
        match self {
            Fast::Postgres(pg) => {
                let stored = pg
                    .pending_inserts
                    .run(&v.json(), v.query(sign_in_sql::STORE_PENDING_RETURNING_ID))
                    .await?;
                match stored.len() {
                    1 => Ok(()),
                    n => Err(StoreError::Backend(format!(
                        "storing a pending request returned {n} rows"
                    ))),
                }
            }
            Fast::Sqlite(direct) => direct
                .write(&[sign_in_sql::STORE_PENDING], v)
                .await
                .map(|_| ()),
        }
    }

    /// Consume the request, remember the assertion id and store the code, in one
    /// statement (PostgreSQL) or one transaction run back to back (SQLite, where
    /// `changes()` makes each step depend on the one before).
    pub(crate) async fn complete_app(
        self,
        c: &LoginCompletion,
        app: &AppCode,
        now: DateTime<Utc>,
    ) -> StoreResult<CompletionOutcome> {
        let v = app_completion_values(c, app, now)?;
        match self {
            Fast::Postgres(pg) => {
                let rows = pg
                    .completions
                    .run(&v.json(), v.query(PG_APP_COMPLETION))
                    .await?;
                app_outcome(rows.first())
            }
            Fast::Sqlite(direct) => {
                let rows = direct
                    .write(
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
                        v,
                    )
                    .await?;
                app_outcome(rows.first())
            }
        }
    }

    /// Redeem the code if it is bound to exactly `expect` (unredeemed, unexpired) and
    /// store the access token; `None`, with nothing changed, otherwise.
    pub(crate) async fn redeem(
        self,
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
        match self {
            Fast::Postgres(pg) => {
                let rows = pg
                    .redemptions
                    .run(&v.json(), v.query(PG_REDEMPTION))
                    .await?;
                rows.first().map(code_from).transpose()
            }
            Fast::Sqlite(direct) => {
                let rows = direct
                    .write(
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
        }
    }

    pub(crate) async fn access_token(
        self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AccessToken>> {
        let v = Values::default()
            .with("token_hash", token_hash)
            .with("now", ms(now));
        match self {
            Fast::Postgres(pg) => {
                let rows = pg
                    .token_reads
                    .run(&v.json(), v.query(sign_in_sql::ACCESS_TOKEN))
                    .await?;
                rows.first().map(access_token_from).transpose()
            }
            Fast::Sqlite(direct) => {
                let rows = direct.read(sign_in_sql::ACCESS_TOKEN, &v)?;
                rows.first().map(access_token_from).transpose()
            }
        }
    }
}
