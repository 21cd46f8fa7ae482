//! Records as the domain sees them (and as the storage ports exchange them).

use chrono::{DateTime, Utc};
use gatehouse_core::views::Role;

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub id: String,
    /// Lower-cased; unique.
    pub email: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub trial_ends_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub team_id: String,
    pub user_id: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub membership: Membership,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub id: String,
    pub team_id: String,
    pub email: String,
    pub role: Role,
    pub token_hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InviteDetails {
    pub invite: Invite,
    pub team_name: String,
    pub inviter_email: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    pub default_redirect_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: String,
    pub product_id: String,
    pub name: String,
    pub hint: String,
    pub secret_hash: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrySettings {
    pub product_id: String,
    /// Sealed by [`crate::secret_box::SecretBox`] with context `ory-token:{product_id}`.
    pub token_ciphertext: String,
    pub token_hint: String,
    pub project_id: String,
    pub project_name: String,
    pub project_slug: String,
    pub verified_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When Gatehouse switched on the project's OpenID Connect sign-in method (it was
    /// off); a disconnect with clean-up switches it off again only then.
    pub oidc_enabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProductCounts {
    pub api_keys: i64,
    pub connections: i64,
    pub ory_connected: bool,
}

/// A server-side session (tower-sessions record, serialised by the caller).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub data: String,
    pub expires_at: DateTime<Utc>,
}

/// How a connection reaches the customer's IdP.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "protocol", rename_all = "lowercase")]
pub enum IdpConfig {
    Saml(SamlIdpConfig),
    Oidc(OidcIdpConfig),
}

impl IdpConfig {
    pub fn protocol(&self) -> &'static str {
        match self {
            IdpConfig::Saml(_) => "saml",
            IdpConfig::Oidc(_) => "oidc",
        }
    }
}

/// An OpenID Connect IdP: Gatehouse is its relying party (see [`crate::oidc`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OidcIdpConfig {
    /// The issuer, exactly as the discovery document states it (and id_tokens carry).
    pub issuer: String,
    /// `{issuer}/.well-known/openid-configuration`, or the URL the admin gave.
    pub discovery_url: String,
    pub client_id: String,
    /// Sealed by [`crate::secret_box::SecretBox`] with context `oidc-idp:{connection_id}`.
    pub client_secret_sealed: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SamlIdpConfig {
    /// The metadata as uploaded or fetched.
    pub metadata_xml: String,
    /// Where it was fetched from, when given as a URL.
    pub metadata_url: Option<String>,
    pub idp: crate::saml::metadata::IdpMetadata,
}

/// Where a connection was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionSource {
    Dashboard,
    Api,
    SetupLink,
}

impl ConnectionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionSource::Dashboard => "dashboard",
            ConnectionSource::Api => "api",
            ConnectionSource::SetupLink => "setup_link",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "api" => ConnectionSource::Api,
            "setup_link" => ConnectionSource::SetupLink,
            _ => ConnectionSource::Dashboard,
        }
    }
}

/// An SSO connection: one tenant of one product, one IdP.
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub id: String,
    pub product_id: String,
    /// e.g. `acme.com`, lower-case.
    pub tenant: String,
    pub name: String,
    pub description: String,
    pub idp: IdpConfig,
    /// The IdP's identity (SAML entity id), for IdP-initiated lookups.
    pub idp_entity_id: String,
    pub redirect_urls: Vec<String>,
    pub default_redirect_url: Option<String>,
    pub client_id: String,
    pub client_secret_hash: String,
    pub allow_idp_initiated: bool,
    pub enabled: bool,
    /// Email domains the admin added beside the tenant's own
    /// ([`crate::sso::email_domains`]).
    pub email_domains: Vec<String>,
    /// Sign-ins may carry any email address (then `email_verified: false`).
    pub accept_any_email_domain: bool,
    pub source: ConnectionSource,
    pub setup_link_id: Option<String>,
    /// The OAuth client Gatehouse gave Ory Network for this connection, once mirrored.
    pub ory_client: Option<OryClientCredentials>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Connection {
    /// What distinguishes this connection's OIDC redirect URI
    /// ([`crate::settings::DomainSettings::oidc_callback_url`]): its setup link's id
    /// when a setup link made it (so the URI the customer registered while trying
    /// the settings stays right once they are saved), its own id otherwise.
    pub fn oidc_redirect_key(&self) -> &str {
        self.setup_link_id.as_deref().unwrap_or(&self.id)
    }
}

/// The second OAuth client of a connection: the one Ory Network uses (as a generic
/// OIDC provider). Its only allowed redirect URL is Ory's callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OryClientCredentials {
    pub client_id: String,
    /// Sealed with context `ory-client:{connection_id}` (Gatehouse sends it to Ory
    /// again whenever it repairs the provider).
    pub client_secret_sealed: String,
    /// `https://{slug}.projects.oryapis.com/self-service/methods/oidc/organization/{org}/callback/{provider}`,
    /// known once the organization exists.
    pub redirect_url: Option<String>,
}

/// Why a login was started.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LoginPurpose {
    /// A vendor's app asked (OAuth authorize).
    App,
    /// An admin pressed "Test connection"; the result is shown to `owner`.
    Test { owner: String },
}

/// What a sign-in goes through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginTarget {
    /// A saved connection (its id).
    Connection(String),
    /// The IdP settings a customer is trying out on a setup link before saving them
    /// (the link's id). Only ever for test sign-ins: never yields a code for an app.
    SetupDraft(String),
}

impl LoginTarget {
    pub fn connection_id(&self) -> Option<&str> {
        match self {
            LoginTarget::Connection(id) => Some(id),
            LoginTarget::SetupDraft(_) => None,
        }
    }

    pub fn setup_link_id(&self) -> Option<&str> {
        match self {
            LoginTarget::Connection(_) => None,
            LoginTarget::SetupDraft(id) => Some(id),
        }
    }
}

/// An AuthnRequest sent to an IdP, waiting for its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingLogin {
    /// The AuthnRequest ID (also sent as RelayState).
    pub id: String,
    pub target: LoginTarget,
    pub purpose: LoginPurpose,
    /// The OAuth client id as the app presented it.
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub scope: String,
    /// OIDC IdPs: the PKCE verifier and nonce sent upstream, sealed with context
    /// `pending-oidc:{id}` (see [`crate::oidc::login`]).
    pub idp_state: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An authorization code (stored by hash).
#[derive(Debug, Clone, PartialEq)]
pub struct AuthCode {
    pub code_hash: String,
    pub connection_id: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub nonce: Option<String>,
    pub scope: String,
    /// The profile, as JSON.
    pub profile: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// What a code must be bound to for it to be redeemed: the client presenting it, the
/// redirect URI sent with it and `S256(code_verifier)`, exactly as the authorization
/// request had them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemIf {
    pub client_id: String,
    pub redirect_uri: String,
    /// `S256(code_verifier)`, or `None` when no verifier was sent.
    pub code_challenge: Option<String>,
}

/// An access token (stored by hash).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessToken {
    pub token_hash: String,
    pub connection_id: String,
    pub client_id: String,
    pub scope: String,
    pub profile: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// The outcome of redeeming a code.
#[derive(Debug, Clone, PartialEq)]
pub enum Redemption {
    /// The code was unredeemed, unexpired and bound to exactly what was presented:
    /// it is redeemed now and the access token stored.
    Issued(AuthCode),
    /// The code exists but was not redeemed: it was redeemed before (with the access
    /// token issued then, to revoke), has expired, or is bound to another client,
    /// redirect URI or PKCE challenge. The caller says which.
    Refused {
        code: AuthCode,
        redeemed: bool,
        token_hash: Option<String>,
    },
    Unknown,
}

/// What the ACS stores when the IdP vouched for a sign-in, in one write: the request
/// it answers is consumed (if any), the assertion id remembered against replay, and
/// the sign-in's result stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LoginCompletion {
    /// The connection whose IdP vouched (whose replay cache the assertion id joins).
    pub connection_id: String,
    pub assertion_id: String,
    pub replay_expires_at: DateTime<Utc>,
    pub result: SignInResult,
}

/// What an accepted sign-in produces.
#[derive(Debug, Clone, PartialEq)]
pub enum SignInResult {
    /// A code for an app's request ([`AppCode`]).
    AppCode(AppCode),
    /// The result of a test sign-in's request `pending_id`, consumed only if it is
    /// unused, unexpired, and a test by `result.owner` of `result.target`.
    Test {
        pending_id: String,
        result: TestResult,
    },
    /// A code for an IdP-initiated sign-in, which answers no request.
    UnsolicitedCode(AuthCode),
}

#[derive(Debug, Clone, PartialEq)]
pub enum CompletionOutcome {
    /// Stored; for an app's request, where the browser goes back to.
    Done { app: Option<AppReturn> },
    /// No such request for this connection: answered, expired or never made.
    PendingGone,
    /// This assertion id was already accepted.
    Replay,
}

/// A code for an app's request `pending_id`, consumed only if it is unused,
/// unexpired, an app sign-in and made for the completion's connection; the code's
/// client, redirect URI, PKCE challenge, nonce and scope are the request's own.
#[derive(Debug, Clone, PartialEq)]
pub struct AppCode {
    pub pending_id: String,
    pub code_hash: String,
    pub profile: String,
    pub code_expires_at: DateTime<Utc>,
}

/// An app request's redirect URI and state, as the app sent them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppReturn {
    pub redirect_uri: String,
    pub state: String,
}

/// What "Test connection" shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TestResult {
    pub id: String,
    pub target: LoginTarget,
    pub owner: String,
    /// Profile JSON on success.
    pub profile: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A key pair Gatehouse signs with.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredKey {
    pub id: String,
    /// `saml-sp` or `jwt`.
    pub purpose: String,
    /// PKCS#8 PEM, sealed with the instance key.
    pub private_key: String,
    /// PEM, for `saml-sp`.
    pub certificate: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it starts signing (the first key of a purpose: the Unix epoch). It is
    /// published from `created_at`.
    pub activates_at: DateTime<Utc>,
    /// When it stops being published; set when its successor is scheduled.
    pub retires_at: Option<DateTime<Utc>>,
}

/// Where a connection's mirror in Ory stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrySyncState {
    /// Waiting for the worker (first try, or a retry after a transient failure).
    Pending,
    /// Ory matches the connection.
    Synced,
    /// Ory refused in a way that needs someone to act (still retried, less often).
    Failed,
}

impl OrySyncState {
    pub fn as_str(self) -> &'static str {
        match self {
            OrySyncState::Pending => "pending",
            OrySyncState::Synced => "synced",
            OrySyncState::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Self {
        match s {
            "synced" => OrySyncState::Synced,
            "failed" => OrySyncState::Failed,
            _ => OrySyncState::Pending,
        }
    }
}

/// A connection's row in the Ory outbox (`ory_sync`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrySyncRow {
    pub connection_id: String,
    pub product_id: String,
    /// The tenant the organization was made for.
    pub tenant: String,
    pub provider_id: String,
    pub organization_id: Option<String>,
    /// The connection is gone: remove it from Ory, then drop the row.
    pub deleted: bool,
    pub state: OrySyncState,
    pub version: i64,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub synced_at: Option<DateTime<Utc>>,
    /// Differences between Ory and Gatehouse found by the last drift check.
    pub drift: Vec<String>,
    pub checked_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// The Ory outbox's backlog at an instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OryBacklog {
    /// Rows not in sync (pending or failed).
    pub waiting: i64,
    /// Of those, the ones that need someone to act.
    pub failed: i64,
    /// The earliest `next_attempt_at` that has passed: how long the oldest due row
    /// has waited for a worker.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// How a sync attempt ended, as the worker records it.
#[derive(Debug, Clone, PartialEq)]
pub enum OrySyncOutcome {
    /// Ory matches; the drift list is cleared.
    Synced,
    /// Ory has nothing of this deleted connection any more: drop the row.
    Removed,
    /// Try again at `next_attempt_at`.
    Retry {
        state: OrySyncState,
        status: Option<i64>,
        message: String,
        next_attempt_at: DateTime<Utc>,
    },
}

/// A setup link: lets a customer's IT admin configure the SSO connection of one
/// tenant of one product, without an account. Only the token's hash is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SetupLink {
    pub id: String,
    pub product_id: String,
    pub tenant: String,
    pub name: String,
    pub token_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub used_at: Option<DateTime<Utc>>,
    pub connection_id: Option<String>,
}

/// IdP settings tried out on a setup link and not saved yet, with their link.
#[derive(Debug, Clone, PartialEq)]
pub struct SetupDraft {
    pub link: SetupLink,
    /// An OIDC client secret in it is sealed with context `oidc-idp:{link id}`.
    pub idp: IdpConfig,
    pub updated_at: DateTime<Utc>,
}

impl SetupLink {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}
