//! Storage ports: what the domain needs from a database, nothing about how.
//!
//! Each method is one atomic operation; where several rows must change together
//! (a user with their first team, an accepted invite with its membership) the port
//! offers one method, and the implementation runs it in one transaction.
//! Every team-scoped read takes the team id, so a query can never return another
//! team's row by accident.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::model::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was violated; the string names the constraint.
    #[error("already exists ({0})")]
    Conflict(String),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Backend(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What [`AccountStore::begin_login_attempt`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Locked: nothing was recorded. The failures that lock it, oldest first.
    Locked(Vec<DateTime<Utc>>),
    /// Let through and counted as a failure; all recent failures, this one last.
    Counted(Vec<DateTime<Utc>>),
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Create a user together with their first team and owner membership.
    /// `Conflict` if the email is taken.
    async fn create_user_with_team(
        &self,
        user: &User,
        team: &Team,
        owner: &Membership,
    ) -> StoreResult<()>;
    /// Create a user and accept an invite for them, atomically.
    async fn create_user_accepting_invite(
        &self,
        user: &User,
        invite_id: &str,
        membership: &Membership,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>>;
    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>>;
    /// Count a sign-in attempt for `email` at `at`, atomically with the decision: the
    /// failures at or after `since` (oldest first) are read and, unless `is_locked`
    /// says they lock the email, the attempt is recorded as a failure (cleared by
    /// [`Self::clear_failed_logins`] if the password turns out right). Concurrent
    /// attempts for one email are serialized, so no more than the lockout allows are
    /// ever let through to the password check.
    async fn begin_login_attempt(
        &self,
        email: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        is_locked: &(dyn for<'f> Fn(&'f [DateTime<Utc>]) -> bool + Send + Sync),
    ) -> StoreResult<LoginAttempt>;
    async fn clear_failed_logins(&self, email: &str) -> StoreResult<()>;
}

#[async_trait]
pub trait TeamStore: Send + Sync {
    async fn create_team(&self, team: &Team, owner: &Membership) -> StoreResult<()>;
    async fn team(&self, team_id: &str) -> StoreResult<Option<Team>>;
    async fn teams_for_user(&self, user_id: &str) -> StoreResult<Vec<(Team, Membership)>>;
    async fn membership(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<(Team, Membership)>>;
    async fn members(&self, team_id: &str) -> StoreResult<Vec<Member>>;
    async fn remove_member(&self, team_id: &str, user_id: &str) -> StoreResult<bool>;
    async fn create_invite(&self, invite: &Invite) -> StoreResult<()>;
    /// Pending (not accepted) invites of a team.
    async fn pending_invites(&self, team_id: &str) -> StoreResult<Vec<Invite>>;
    async fn invite_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<InviteDetails>>;
    /// Mark the invite accepted and add the membership; `false` if it was already used.
    async fn accept_invite(
        &self,
        invite_id: &str,
        membership: &Membership,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn delete_invite(&self, team_id: &str, invite_id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait ProductStore: Send + Sync {
    async fn create_product(&self, product: &Product) -> StoreResult<()>;
    async fn products(&self, team_id: &str) -> StoreResult<Vec<Product>>;
    /// The product only if it belongs to `team_id`.
    async fn product(&self, team_id: &str, product_id: &str) -> StoreResult<Option<Product>>;
    /// Unscoped lookup, for protocol endpoints that are addressed by product id.
    async fn product_by_id(&self, product_id: &str) -> StoreResult<Option<Product>>;
    /// [`Self::product_by_id`] for login paths: may come from a cache a few seconds
    /// old (never use it to read-modify-write).
    async fn product_for_login(&self, product_id: &str) -> StoreResult<Option<Product>> {
        self.product_by_id(product_id).await
    }
    async fn update_product(&self, product: &Product) -> StoreResult<bool>;
    /// Deletes the product and everything under it.
    async fn delete_product(&self, team_id: &str, product_id: &str) -> StoreResult<bool>;
    async fn product_counts(&self, product_id: &str) -> StoreResult<ProductCounts>;

    async fn create_api_key(&self, key: &ApiKey) -> StoreResult<()>;
    async fn api_keys(&self, product_id: &str) -> StoreResult<Vec<ApiKey>>;
    async fn api_key(&self, key_id: &str) -> StoreResult<Option<ApiKey>>;
    async fn revoke_api_key(
        &self,
        product_id: &str,
        key_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn touch_api_key(&self, key_id: &str, at: DateTime<Utc>) -> StoreResult<()>;

    /// The product's sealed client-secret verifier.
    async fn product_secret_verifier(&self, product_id: &str) -> StoreResult<Option<String>>;
    async fn set_product_secret_verifier(&self, product_id: &str, sealed: &str) -> StoreResult<()>;

    async fn ory_settings(&self, product_id: &str) -> StoreResult<Option<OrySettings>>;
    /// Keeps every other column (`put_ory_settings` keeps this one).
    async fn put_ory_settings(&self, settings: &OrySettings) -> StoreResult<()>;
    /// Record when Gatehouse switched on the project's OIDC method (`None`: it did not,
    /// or switched it off again).
    async fn set_ory_oidc_enabled_at(
        &self,
        product_id: &str,
        at: Option<DateTime<Utc>>,
    ) -> StoreResult<()>;
    async fn delete_ory_settings(&self, product_id: &str) -> StoreResult<bool>;
}

#[async_trait]
pub trait SessionRecordStore: Send + Sync {
    async fn load_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SessionRecord>>;
    /// Insert; `false` if the id is taken.
    async fn create_session(&self, record: &SessionRecord) -> StoreResult<bool>;
    async fn save_session(&self, record: &SessionRecord) -> StoreResult<()>;
    async fn delete_session(&self, id: &str) -> StoreResult<()>;
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

/// Whether the database answers, for health checks.
#[async_trait]
pub trait Health: Send + Sync {
    /// `Ok` when the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// `sqlite` or `postgres`, for logs and health.
    fn engine(&self) -> &'static str;
    /// The connection pools' use now, for metrics.
    fn pool_usage(&self) -> Vec<PoolUsage> {
        Vec::new()
    }
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_webhook_endpoint(
        &self,
        e: &crate::webhooks::WebhookEndpoint,
    ) -> StoreResult<()>;
    async fn webhook_endpoints(
        &self,
        product_id: &str,
    ) -> StoreResult<Vec<crate::webhooks::WebhookEndpoint>>;
    async fn webhook_endpoint(
        &self,
        product_id: &str,
        id: &str,
    ) -> StoreResult<Option<crate::webhooks::WebhookEndpoint>>;
    /// With its deliveries.
    async fn delete_webhook_endpoint(&self, product_id: &str, id: &str) -> StoreResult<bool>;
    async fn enqueue_webhooks(
        &self,
        deliveries: &[crate::webhooks::WebhookDelivery],
    ) -> StoreResult<()>;
    /// Lease up to `limit` due deliveries, each the oldest pending one of its
    /// endpoint and ordering key, until `lease_until`.
    async fn claim_webhooks(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<
        Vec<(
            crate::webhooks::WebhookDelivery,
            crate::webhooks::WebhookEndpoint,
        )>,
    >;
    /// Record an attempt, if the lease is still `lease_until`.
    async fn finish_webhook(
        &self,
        id: &str,
        lease_until: DateTime<Utc>,
        outcome: &crate::webhooks::AttemptOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// An endpoint's deliveries, newest first.
    async fn webhook_deliveries(
        &self,
        product_id: &str,
        endpoint_id: &str,
        offset: u32,
        limit: u32,
    ) -> StoreResult<Vec<crate::webhooks::WebhookDelivery>>;
    /// Back to pending, due now, attempts reset.
    async fn resend_webhook(
        &self,
        product_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn insert_audit_event(&self, e: &gatehouse_core::audit::AuditEvent) -> StoreResult<()>;
    /// The team's events matching `filter` (its offset applies), newest first, at
    /// most `limit`, with the actors' labels (a user's email, an API key's name).
    async fn audit_events(
        &self,
        team_id: &str,
        filter: &gatehouse_core::audit::AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<gatehouse_core::audit::AuditEvent>>;
}

#[async_trait]
pub trait TraceStore: Send + Sync {
    async fn insert_traces(
        &self,
        traces: &[gatehouse_core::traces::SignInTrace],
    ) -> StoreResult<()>;
    /// The product's traces matching `filter` (its offset applies), newest first, at
    /// most `limit`, without `idp_response`.
    async fn traces(
        &self,
        product_id: &str,
        filter: &gatehouse_core::traces::TraceFilter,
        limit: u32,
    ) -> StoreResult<Vec<gatehouse_core::traces::SignInTrace>>;
    async fn trace(
        &self,
        product_id: &str,
        id: &str,
    ) -> StoreResult<Option<gatehouse_core::traces::SignInTrace>>;
    /// Remove traces created before `before`; returns how many.
    async fn purge_traces(&self, before: DateTime<Utc>) -> StoreResult<u64>;
}

/// One connection pool's use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolUsage {
    pub pool: &'static str,
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// Declares a set of ports that one service holds, implemented by every store that
/// has them all.
macro_rules! port_set {
    ($(#[$doc:meta])* $name:ident: $first:ident $(+ $rest:ident)*) => {
        $(#[$doc])*
        pub trait $name: $first $(+ $rest)* {}
        impl<T: $first $(+ $rest)* + ?Sized> $name for T {}
    };
}

port_set!(
    /// Everything Gatehouse stores. Only the wiring sees all of it: each service
    /// holds the narrower set below that it uses.
    Store: AccountStore
        + TeamStore
        + ProductStore
        + SessionRecordStore
        + ConnectionStore
        + LoginStore
        + KeyStore
        + OrySyncStore
        + SetupLinkStore
        + TraceStore
        + AuditStore
        + WebhookStore
        + Health
);
port_set!(
    /// Memberships and products, to prove a caller's scope ([`crate::access`]).
    AccessPorts: TeamStore + ProductStore
);
port_set!(
    /// Users, teams and invites ([`crate::accounts`]).
    AccountPorts: AccountStore + TeamStore
);
port_set!(
    /// Connections with their Ory sync state and the product's verifier
    /// ([`crate::sso::connections`]).
    ConnectionPorts: ConnectionStore + ProductStore + OrySyncStore
);
port_set!(
    /// What a sign-in reads and writes ([`crate::sso::sign_in`]).
    SignInPorts: LoginStore + ConnectionStore + ProductStore + SetupLinkStore
);
port_set!(
    /// Setup links, their drafts and the connection a link saved
    /// ([`crate::setup_links`]).
    SetupLinkPorts: SetupLinkStore + ConnectionStore + ProductStore
);
port_set!(
    /// The Ory settings, the outbox and the connections it mirrors ([`crate::ory`]).
    OryPorts: ProductStore + ConnectionStore + OrySyncStore
);
port_set!(
    /// Expired records, dashboard sessions and the health check
    /// ([`crate::maintenance`]).
    MaintenancePorts: LoginStore + SessionRecordStore + TraceStore + Health
);

#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// `Conflict` if the client id is taken. Create, update and delete also mark the
    /// connection's Ory mirror due, in the same transaction, when the product has
    /// Ory settings.
    async fn create_connection(&self, c: &Connection) -> StoreResult<()>;
    async fn update_connection(&self, c: &Connection) -> StoreResult<bool>;
    /// Deletes the connection; its Ory mirror (if any) is marked for removal.
    async fn delete_connection(
        &self,
        product_id: &str,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn connections(&self, product_id: &str) -> StoreResult<Vec<Connection>>;
    /// The connection only if it belongs to `product_id`.
    async fn connection(&self, product_id: &str, id: &str) -> StoreResult<Option<Connection>>;
    async fn connection_by_id(&self, id: &str) -> StoreResult<Option<Connection>>;
    /// By the connection's own client id or the client id it gave Ory.
    async fn connection_by_client_id(&self, client_id: &str) -> StoreResult<Option<Connection>>;
    /// [`Self::connection_by_id`] for login paths: may come from a cache a few seconds
    /// old (never use it to read-modify-write).
    async fn connection_for_login(&self, id: &str) -> StoreResult<Option<Connection>> {
        self.connection_by_id(id).await
    }
    /// [`Self::connection_by_client_id`] for login paths (see [`Self::connection_for_login`]).
    async fn connection_for_login_by_client_id(
        &self,
        client_id: &str,
    ) -> StoreResult<Option<Connection>> {
        self.connection_by_client_id(client_id).await
    }
    async fn connections_for_tenant(
        &self,
        product_id: &str,
        tenant: &str,
    ) -> StoreResult<Vec<Connection>>;
    async fn connections_by_idp_entity(&self, idp_entity_id: &str) -> StoreResult<Vec<Connection>>;
    /// Every SAML connection (the certificate check, the metadata refresh).
    async fn saml_connections(&self) -> StoreResult<Vec<Connection>>;
    /// When each connection's metadata URL was last fetched by the refresh.
    async fn metadata_checks(&self) -> StoreResult<Vec<(String, DateTime<Utc>)>>;
    /// The last refresh of one connection's metadata URL: when, and its error.
    async fn metadata_check(
        &self,
        connection_id: &str,
    ) -> StoreResult<Option<(DateTime<Utc>, Option<String>)>>;
    async fn record_metadata_check(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
        error: Option<&str>,
    ) -> StoreResult<()>;
    /// Remember that `level` was told for the certificate expiring at `not_after`;
    /// `false` when it already was (by this instance or another).
    async fn record_certificate_notice(
        &self,
        connection_id: &str,
        not_after: DateTime<Utc>,
        level: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
}

#[async_trait]
pub trait LoginStore: Send + Sync {
    async fn create_pending_login(&self, p: &PendingLogin) -> StoreResult<()>;
    /// A pending login that is neither used nor expired.
    async fn pending_login(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PendingLogin>>;
    /// An accepted sign-in's one write ([`LoginCompletion`]), atomic: the request it
    /// answers consumed, the assertion id remembered, the code or test result stored;
    /// or nothing changed and the reason.
    async fn complete_login(
        &self,
        c: &LoginCompletion,
        now: DateTime<Utc>,
    ) -> StoreResult<CompletionOutcome>;
    /// A code as stored, whatever its state (the token endpoint explains refusals).
    async fn code(&self, code_hash: &str) -> StoreResult<Option<AuthCode>>;
    /// Redeem `code_hash` if it is unredeemed, unexpired at `now` and bound to exactly
    /// `expect`, and store an access token (hash `token_hash`, expiring at
    /// `token_expires_at`) carrying the code's connection, scope and profile; atomic.
    async fn redeem_code(
        &self,
        code_hash: &str,
        expect: &RedeemIf,
        token_hash: &str,
        now: DateTime<Utc>,
        token_expires_at: DateTime<Utc>,
    ) -> StoreResult<Redemption>;
    async fn access_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<AccessToken>>;
    async fn revoke_access_token(&self, token_hash: &str, now: DateTime<Utc>) -> StoreResult<()>;
    async fn test_result(&self, id: &str, now: DateTime<Utc>) -> StoreResult<Option<TestResult>>;
    async fn save_test_result(&self, r: &TestResult) -> StoreResult<()>;
    /// Remove expired pending logins, codes, tokens, replay entries and test results.
    async fn purge_expired(&self, now: DateTime<Utc>) -> StoreResult<u64>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Every key of the purpose, retired ones too, in the order they activate.
    async fn keys(&self, purpose: &str) -> StoreResult<Vec<StoredKey>>;
    /// Insert unless a key for this purpose exists; returns whether it was inserted.
    async fn insert_first_key(&self, key: &StoredKey) -> StoreResult<bool>;
    /// Insert `next` and set `retires_at` on the key `current`, in one transaction.
    /// `Conflict` (and nothing written) when `current` already has a successor.
    async fn schedule_key(
        &self,
        next: &StoredKey,
        current: &str,
        retires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// The Ory outbox. Connection writes mark their row due in the same transaction
/// (when the product has Ory settings); the worker claims due rows with a lease,
/// so two workers (or a restarted one) never sync the same connection at once.
#[async_trait]
pub trait OrySyncStore: Send + Sync {
    async fn ory_sync_rows(&self, product_id: &str) -> StoreResult<Vec<OrySyncRow>>;
    async fn ory_sync_row(&self, connection_id: &str) -> StoreResult<Option<OrySyncRow>>;
    /// Every product with Ory settings (for the periodic drift check).
    async fn all_ory_settings(&self) -> StoreResult<Vec<OrySettings>>;
    /// How far behind the outbox is at `now` (for metrics).
    async fn ory_sync_backlog(&self, now: DateTime<Utc>) -> StoreResult<OryBacklog>;
    /// Claim up to `limit` rows that are due at `now` and not leased, leasing them
    /// until `lease_until`.
    async fn claim_ory_sync(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> StoreResult<Vec<OrySyncRow>>;
    /// Record an attempt's end and release the lease. When the row changed since it
    /// was claimed (`version` differs) only the lease is released: the row is due again.
    async fn finish_ory_sync(
        &self,
        connection_id: &str,
        version: i64,
        outcome: &OrySyncOutcome,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Hand a claimed row back unprocessed (the worker is stopping): its lease ends
    /// now, if it is still the lease `lease_until` this worker took.
    async fn release_ory_sync(
        &self,
        connection_id: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Remember the organization found or created for the row's tenant, at once (so
    /// a crash right after creating it cannot lead to a second one).
    async fn set_ory_organization(
        &self,
        connection_id: &str,
        organization_id: Option<&str>,
        tenant: &str,
    ) -> StoreResult<()>;
    /// Make rows for every connection of the product that has none, and mark every
    /// row due now. Returns how many connections (not deleted) will be synced.
    async fn mark_all_ory_sync(&self, product_id: &str, now: DateTime<Utc>) -> StoreResult<u64>;
    /// Mark one row due now; `false` if the connection has no row.
    async fn retry_ory_sync(
        &self,
        product_id: &str,
        connection_id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn set_ory_drift(
        &self,
        connection_id: &str,
        drift: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Store the connection's Ory client; only if it has none yet (or `replace`).
    /// Returns whether it was written.
    async fn set_ory_client(
        &self,
        connection_id: &str,
        client: &OryClientCredentials,
        replace: bool,
    ) -> StoreResult<bool>;
    /// Forget the Ory mirror of a product: its rows and, when `revoke_clients`, the
    /// Ory OAuth clients of its connections. In one transaction with the settings.
    async fn delete_ory_mirror(&self, product_id: &str, revoke_clients: bool) -> StoreResult<()>;
}

#[async_trait]
pub trait SetupLinkStore: Send + Sync {
    async fn create_setup_link(&self, link: &SetupLink) -> StoreResult<()>;
    /// Newest first.
    async fn setup_links(&self, product_id: &str) -> StoreResult<Vec<SetupLink>>;
    /// The link only if it belongs to `product_id`.
    async fn setup_link(&self, product_id: &str, id: &str) -> StoreResult<Option<SetupLink>>;
    async fn setup_link_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<SetupLink>>;
    /// `false` if there is no such link of the product (or it was already revoked).
    /// Clears the link's draft.
    async fn revoke_setup_link(
        &self,
        product_id: &str,
        id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Records the saved connection; clears the link's draft.
    async fn mark_setup_link_used(
        &self,
        id: &str,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Replaces the link's draft IdP settings.
    async fn save_setup_draft(
        &self,
        id: &str,
        idp: &IdpConfig,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The link (whatever its state) with its draft, if it has one.
    async fn setup_draft(&self, id: &str) -> StoreResult<Option<SetupDraft>>;
}
