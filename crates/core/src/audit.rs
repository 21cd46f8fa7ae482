//! The audit log: every admin change, who made it, and the before/after of the
//! fields that are not secret. Shown on a team's **Audit log** page and by
//! `GET /api/v1/audit`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::named::named_enum;
use crate::paging;

named_enum! {
    /// What was done.
    pub enum AuditAction {
        ProductCreated = "product.created",
        ProductUpdated = "product.updated",
        ProductDeleted = "product.deleted",
        ProductSecretVerifierRotated = "product.secret_verifier_rotated",
        ApiKeyCreated = "api_key.created",
        ApiKeyRevoked = "api_key.revoked",
        ConnectionCreated = "connection.created",
        ConnectionUpdated = "connection.updated",
        ConnectionEnabled = "connection.enabled",
        ConnectionDisabled = "connection.disabled",
        ConnectionSecretRotated = "connection.secret_rotated",
        ConnectionDeleted = "connection.deleted",
        SetupLinkCreated = "setup_link.created",
        SetupLinkRegenerated = "setup_link.regenerated",
        SetupLinkRevoked = "setup_link.revoked",
        SetupLinkUsed = "setup_link.used",
        OrySettingsSaved = "ory.settings_saved",
        OryDisconnected = "ory.disconnected",
        MemberInvited = "member.invited",
        InviteRevoked = "member.invite_revoked",
        MemberJoined = "member.joined",
        MemberRemoved = "member.removed",
        WebhookCreated = "webhook.created",
        WebhookDeleted = "webhook.deleted",
    }
}

named_enum! {
    /// Who made a change.
    pub enum ActorKind {
        /// A team member in the dashboard.
        User = "user",
        /// A product's API key (admin API).
        ApiKey = "api_key",
        /// A customer's IT admin through a setup link.
        SetupLink = "setup_link",
        /// Gatehouse itself (the daily metadata refresh).
        System = "system",
    }
}

/// One field's value before and after (`None`: it did not exist).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    pub team_id: String,
    pub product: Option<String>,
    pub actor_kind: ActorKind,
    /// The user, API key or setup link id.
    pub actor_id: String,
    /// The user's email or the API key's name, when known.
    pub actor_label: Option<String>,
    pub action: AuditAction,
    /// What was changed: a product, connection, API key, setup link, Ory settings
    /// (the product id) or member (user or invite id).
    pub target_id: String,
    /// Its name when it has one (a connection's name, an invited email).
    pub target_name: Option<String>,
    /// Non-secret fields that changed; a secret that changed appears as
    /// `"(changed)"`, never its value.
    pub changes: Vec<AuditChange>,
}

/// Which events to list; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    pub product: Option<String>,
    pub actor_id: Option<String>,
    pub action: Option<AuditAction>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub offset: u32,
    pub limit: u32,
}

impl AuditFilter {
    pub const DEFAULT_LIMIT: u32 = 25;

    /// The page size asked for ([`paging::page_size`]).
    pub fn page_size(&self) -> u32 {
        paging::page_size(self.limit, Self::DEFAULT_LIMIT)
    }
}

/// A page of events, newest first; `more` when older ones follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            assert_eq!(
                serde_json::to_value(a).ok(),
                Some(serde_json::Value::String(a.as_str().into()))
            );
        }
    }
}
