//! View models: what the server sends to the dashboard. Secrets never appear here
//! except in the one-time `Created*` values, which carry a secret exactly once.

use crate::trial::TrialStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// The signed-in user and the teams they can switch between.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: String,
    pub email: String,
    pub teams: Vec<TeamSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamSummary {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub trial: TrialStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    pub joined_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InviteView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamMembers {
    pub members: Vec<MemberView>,
    pub invites: Vec<InviteView>,
}

/// Returned once, when an invite is created: the link the owner copies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedInvite {
    pub invite: InviteView,
    pub url: String,
}

/// What an invite link shows before it is accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitePreview {
    pub team_name: String,
    pub email: String,
    pub role: Role,
    pub invited_by: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductSummary {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDetail {
    pub id: String,
    pub team_id: String,
    pub name: String,
    pub description: String,
    pub redirect_urls: Vec<String>,
    pub default_redirect_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What deleting a product will remove, for the confirmation dialog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductDeletionImpact {
    pub product_name: String,
    pub api_keys: i64,
    pub connections: i64,
    pub ory_connected: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The non-secret prefix, e.g. `gh_live_3f9a…`, so keys can be told apart.
    pub hint: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// Returned once, when a key is created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub key: ApiKeyView,
    pub secret: String,
}

/// The Ory Integration tab. The token itself never leaves the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrySettingsView {
    pub connected: bool,
    /// e.g. `ory_st_…WXYZ`
    pub token_hint: Option<String>,
    pub project_id: Option<String>,
    pub project_name: Option<String>,
    pub project_slug: Option<String>,
    pub verified_at: Option<DateTime<Utc>>,
    /// Connections by sync state (zero when not connected).
    #[serde(default)]
    pub sync: OrySyncCounts,
    /// Set in answers that queued connections for mirroring ("N connections queued").
    #[serde(default)]
    pub queued: Option<u64>,
    /// When Gatehouse switched on the project's OpenID Connect sign-in method.
    #[serde(default)]
    pub oidc_enabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OrySyncCounts {
    pub synced: u64,
    pub pending: u64,
    pub failed: u64,
    /// Synced connections whose Ory side differs (found by the last drift check).
    pub drifted: u64,
    pub last_check: Option<DateTime<Utc>>,
    /// What the last drift check found, per connection name.
    pub drift: Vec<(String, Vec<String>)>,
}

/// A connection's mirror in Ory Network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrySyncView {
    /// `synced`, `pending` or `failed`.
    pub state: String,
    pub organization_id: Option<String>,
    pub provider_id: String,
    /// The OAuth client Gatehouse gave Ory (the secret is never shown).
    pub client_id: Option<String>,
    /// Ory's callback: the only redirect URL that client may use.
    pub callback_url: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Ory's HTTP status of the last failure, if it answered.
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub synced_at: Option<DateTime<Utc>>,
    pub drift: Vec<String>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// Everything the dashboard frame needs for one team page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamContext {
    pub me: Me,
    pub team: TeamSummary,
}

/// What the customer's IT admin configures in their IdP (per product).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpInfo {
    pub acs_url: String,
    pub entity_id: String,
    pub metadata_url: String,
    /// The redirect URI to register with an OIDC IdP.
    #[serde(default)]
    pub oidc_redirect_uri: String,
}

/// An OIDC IdP connection's settings (never its secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidcIdpView {
    pub issuer: String,
    pub discovery_url: String,
    pub client_id: String,
}

/// OAuth facts of a product, for its Settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductOAuth {
    pub issuer: String,
    /// A connection id reserved for the new-connection form, whose OIDC redirect URI
    /// `sp.oidc_redirect_uri` shows (nothing is stored until the form is saved).
    #[serde(default)]
    pub new_connection_id: String,
    pub authorize_url: String,
    pub token_url: String,
    pub userinfo_url: String,
    pub sp: SpInfo,
    /// Jackson's CLIENT_SECRET_VERIFIER for `tenant=…&product=…` clients.
    pub client_secret_verifier: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSummary {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub idp_entity_id: String,
    /// `saml` or `oidc`.
    #[serde(default)]
    pub protocol: String,
    pub enabled: bool,
    /// `dashboard`, `api` or `setup_link`.
    pub source: String,
    pub created_at: DateTime<Utc>,
    /// The earliest certificate expiry, to warn before rotation is due.
    pub cert_expires_at: Option<DateTime<Utc>>,
    /// SAML connections: whether a certificate is expiring or all have expired.
    #[serde(default)]
    pub certificate_health: Option<CertificateHealth>,
    /// `synced`, `pending` or `failed` when mirrored to Ory.
    #[serde(default)]
    pub ory_state: Option<String>,
}

/// Where a SAML connection's signing certificates stand, by the one that expires
/// last (a sign-in needs one that has not expired).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum CertificateHealth {
    Valid,
    /// Within 30 days.
    Expiring {
        days: i64,
    },
    /// Within 7 days.
    ExpiringSoon {
        days: i64,
    },
    /// Every certificate has expired: sign-ins fail (`certificate_expired`).
    Expired,
}

impl CertificateHealth {
    pub const EXPIRING_DAYS: i64 = 30;
    pub const SOON_DAYS: i64 = 7;

    /// From the latest expiry among the certificates.
    pub fn at(last_not_after: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        if last_not_after <= now {
            return Self::Expired;
        }
        // whole days left, rounded up: "expires in 1 day" until it has expired
        let left = last_not_after - now;
        let days = (left.num_seconds() + 86_399) / 86_400;
        if days <= Self::SOON_DAYS {
            Self::ExpiringSoon { days }
        } else if days <= Self::EXPIRING_DAYS {
            Self::Expiring { days }
        } else {
            Self::Valid
        }
    }

    /// The name in the API and webhooks: `valid`, `expiring`, `expiring_soon`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expiring { .. } => "expiring",
            Self::ExpiringSoon { .. } => "expiring_soon",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertView {
    pub subject: String,
    pub not_after: DateTime<Utc>,
    pub expired: bool,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionDetail {
    pub id: String,
    pub product_id: String,
    pub tenant: String,
    pub name: String,
    pub description: String,
    pub idp_entity_id: String,
    pub sso_redirect_url: Option<String>,
    pub sso_post_url: Option<String>,
    pub certificates: Vec<CertView>,
    #[serde(default)]
    pub certificate_health: Option<CertificateHealth>,
    pub metadata_url: Option<String>,
    /// When the daily refresh last fetched `metadata_url`.
    #[serde(default)]
    pub metadata_checked_at: Option<DateTime<Utc>>,
    /// Why that fetch failed (the last good metadata is kept).
    #[serde(default)]
    pub metadata_error: Option<String>,
    pub redirect_urls: Vec<String>,
    pub default_redirect_url: Option<String>,
    pub allow_idp_initiated: bool,
    pub enabled: bool,
    pub client_id: String,
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sp: SpInfo,
    /// `saml` or `oidc`.
    #[serde(default)]
    pub protocol: String,
    /// For an OIDC IdP, its settings.
    #[serde(default)]
    pub oidc: Option<OidcIdpView>,
    /// Its mirror in Ory, when the product has the Ory integration.
    #[serde(default)]
    pub ory: Option<OrySyncView>,
    /// The tenant's own email domain, when the tenant is a domain name.
    #[serde(default)]
    pub tenant_email_domain: Option<String>,
    /// Email domains the admin added.
    #[serde(default)]
    pub email_domains: Vec<String>,
    /// Sign-ins may carry any email address (`email_verified: false`).
    #[serde(default)]
    pub accept_any_email_domain: bool,
}

/// Returned once, when a connection is created or its secret rotated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionCredentials {
    pub connection: ConnectionDetail,
    pub client_secret: String,
}

/// A setup link in the admin's list (the token itself is shown only once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupLinkView {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// When a connection was last saved through it.
    pub used_at: Option<DateTime<Utc>>,
    pub connection_id: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub status: String,
}

/// Returned once, when a link is created or regenerated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedSetupLink {
    pub link: SetupLinkView,
    /// `{public URL}/setup/{token}`
    pub url: String,
}

/// What the setup page shows to the customer's IT admin: only their own tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupPage {
    pub product_name: String,
    pub tenant: String,
    pub expires_at: DateTime<Utc>,
    pub sp: SpInfo,
    /// The connection saved through this link, if any.
    pub saved: Option<SetupSaved>,
    /// After "Test": where the test sign-in starts (the settings were checked and
    /// kept for it, not saved).
    #[serde(default)]
    pub test_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupSaved {
    pub idp_entity_id: String,
    pub certificates: Vec<CertView>,
    /// `saml` or `oidc`.
    #[serde(default)]
    pub protocol: String,
    pub saved_at: DateTime<Utc>,
}

#[cfg(test)]
mod certificate_tests {
    use super::*;

    #[test]
    fn health_follows_the_last_expiry() {
        let now = DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::days(20_000);
        let at = |d: i64| CertificateHealth::at(now + chrono::Duration::days(d), now);
        assert_eq!(at(90), CertificateHealth::Valid);
        assert_eq!(at(30), CertificateHealth::Expiring { days: 30 });
        assert_eq!(at(7), CertificateHealth::ExpiringSoon { days: 7 });
        assert_eq!(
            CertificateHealth::at(now + chrono::Duration::hours(1), now),
            CertificateHealth::ExpiringSoon { days: 1 }
        );
        assert_eq!(at(0), CertificateHealth::Expired);
        assert_eq!(at(-1), CertificateHealth::Expired);
    }
}
