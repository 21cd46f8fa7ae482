//! Records → view models for the dashboard.

use gatehouse_core::views::*;

use crate::model::*;

impl From<&Product> for ProductSummary {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            created_at: p.created_at,
        }
    }
}

impl From<&Product> for ProductDetail {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.clone(),
            team_id: p.team_id.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            redirect_urls: p.redirect_urls.clone(),
            default_redirect_url: p.default_redirect_url.clone(),
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

impl From<&ApiKey> for ApiKeyView {
    fn from(k: &ApiKey) -> Self {
        Self {
            id: k.id.clone(),
            name: k.name.clone(),
            hint: k.hint.clone(),
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            revoked_at: k.revoked_at,
        }
    }
}

impl From<&Invite> for InviteView {
    fn from(i: &Invite) -> Self {
        Self {
            id: i.id.clone(),
            email: i.email.clone(),
            role: i.role,
            created_at: i.created_at,
            expires_at: i.expires_at,
        }
    }
}

impl From<&Member> for MemberView {
    fn from(m: &Member) -> Self {
        Self {
            user_id: m.membership.user_id.clone(),
            email: m.email.clone(),
            role: m.membership.role,
            joined_at: m.membership.created_at,
        }
    }
}

/// The Ory tab's view of (possibly absent) settings.
pub fn ory_settings_view(s: Option<&OrySettings>) -> OrySettingsView {
    {
        match s {
            None => OrySettingsView {
                connected: false,
                token_hint: None,
                project_id: None,
                project_name: None,
                project_slug: None,
                verified_at: None,
                sync: OrySyncCounts::default(),
                queued: None,
                oidc_enabled_at: None,
            },
            Some(s) => OrySettingsView {
                connected: true,
                token_hint: Some(s.token_hint.clone()),
                project_id: Some(s.project_id.clone()),
                project_name: Some(s.project_name.clone()),
                project_slug: Some(s.project_slug.clone()),
                verified_at: Some(s.verified_at),
                sync: OrySyncCounts::default(),
                queued: None,
                oidc_enabled_at: s.oidc_enabled_at,
            },
        }
    }
}
