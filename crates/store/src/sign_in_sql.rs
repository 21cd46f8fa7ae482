//! A sign-in's own statements: one text each, the same on SQLite and PostgreSQL
//! (`$n` placeholders; `RETURNING` and `IS NOT DISTINCT FROM`, which SQLite has had
//! since 3.35 and 3.39). Every path that runs an operation runs these texts, through
//! its one port method in `logins.rs`:
//!
//! | operation | port method | statements |
//! |---|---|---|
//! | store the pending request (authorize) | `create_pending_login` | [`STORE_PENDING`] |
//! | complete a sign-in (ACS, OIDC callback; app, test and IdP-initiated) | `complete_login` | one transaction: [`CONSUME_PENDING`] (unless IdP-initiated), [`REMEMBER_ASSERTION`], then [`STORE_CODE`] or [`STORE_TEST_RESULT`] |
//! | redeem a code (token endpoint) | `redeem_code` | one transaction: [`REDEEM_CODE`], then [`STORE_ACCESS_TOKEN`] or, when refused, [`CODE`] |
//! | read an access token (userinfo) | `access_token` | [`ACCESS_TOKEN`] |
//!
//! This is the plain path; where a faster one pays, `sign_in_fast.rs` runs the same
//! operations its own way behind the same port methods.
//!
//! A consumption or redemption is one conditional `UPDATE` of one row: of several
//! requests racing for the same pending request or code, exactly one gets the row
//! back (PostgreSQL re-checks the condition after the row lock; SQLite has one
//! writer at a time), and the rest change nothing.

/// The columns of `pending_logins` a sign-in reads.
macro_rules! pending_columns {
    () => {
        "id, connection_id, setup_link_id, purpose, client_id, redirect_uri, state, nonce, code_challenge, scope, created_at, expires_at, idp_state"
    };
}

/// The columns of `auth_codes` that make an [`gatehouse_domain::model::AuthCode`].
macro_rules! code_columns {
    () => {
        "code_hash, connection_id, client_id, redirect_uri, code_challenge, nonce, scope, profile, created_at, expires_at"
    };
}

macro_rules! store_pending {
    () => {
        concat!(
            "INSERT INTO pending_logins (",
            pending_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
    };
}

/// `$1`…`$13`: the columns of [`pending_columns`], in order.
pub(crate) const STORE_PENDING: &str = store_pending!();
/// [`STORE_PENDING`], its row's id returned (PostgreSQL's fast path, which counts
/// the rows a batch element got back).
pub(crate) const STORE_PENDING_RETURNING_ID: &str = concat!(store_pending!(), " RETURNING id");

/// `$1` id, `$2` now: a pending request that is neither used nor expired.
pub(crate) const PENDING: &str = concat!(
    "SELECT ",
    pending_columns!(),
    " FROM pending_logins WHERE id = $1 AND used_at IS NULL AND expires_at > $2"
);

/// `$1` now, `$2` id, `$3` purpose (JSON), `$4` connection id, `$5` setup link id:
/// mark the request used if it is unused, unexpired, and made for exactly this
/// purpose and target; what the code needs from it comes back.
pub(crate) const CONSUME_PENDING: &str = "UPDATE pending_logins SET used_at = $1 \
     WHERE id = $2 AND purpose = $3 \
       AND connection_id IS NOT DISTINCT FROM $4 AND setup_link_id IS NOT DISTINCT FROM $5 \
       AND used_at IS NULL AND expires_at > $1 \
     RETURNING client_id, redirect_uri, state, nonce, code_challenge, scope";

/// `$1` connection id, `$2` assertion id, `$3` expiry: one row changed if the
/// assertion was not seen before.
pub(crate) const REMEMBER_ASSERTION: &str =
    "INSERT INTO seen_assertions (connection_id, assertion_id, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT DO NOTHING";

/// `$1`…`$10`: the columns of [`code_columns`], in order.
pub(crate) const STORE_CODE: &str = concat!(
    "INSERT INTO auth_codes (",
    code_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
);

/// `$1`…`$8`: a test sign-in's result.
pub(crate) const STORE_TEST_RESULT: &str = "INSERT INTO test_results \
     (id, connection_id, setup_link_id, owner, profile, error, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

/// `$1` now, `$2` the access token's hash, `$3` the code's hash, `$4` client id,
/// `$5` redirect URI, `$6` PKCE challenge (or NULL): redeem the code if it is
/// unredeemed, unexpired and bound to exactly these; the code comes back.
pub(crate) const REDEEM_CODE: &str = concat!(
    "UPDATE auth_codes SET redeemed_at = $1, access_token_hash = $2 \
     WHERE code_hash = $3 AND redeemed_at IS NULL AND expires_at > $1 \
       AND client_id = $4 AND redirect_uri = $5 AND code_challenge IS NOT DISTINCT FROM $6 \
     RETURNING ",
    code_columns!()
);

/// `$1`…`$7`: an access token.
pub(crate) const STORE_ACCESS_TOKEN: &str = "INSERT INTO access_tokens \
     (token_hash, connection_id, client_id, scope, profile, created_at, expires_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// `$1` the code's hash: the code whatever its state, with its redemption.
pub(crate) const CODE: &str = concat!(
    "SELECT ",
    code_columns!(),
    ", redeemed_at, access_token_hash FROM auth_codes WHERE code_hash = $1"
);

/// `$1` the token's hash, `$2` now: an access token neither revoked nor expired.
pub(crate) const ACCESS_TOKEN: &str =
    "SELECT token_hash, connection_id, client_id, scope, profile, created_at, expires_at \
     FROM access_tokens WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2";
