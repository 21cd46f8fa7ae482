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
