//! The audit log ([`gatehouse_core::audit`]): services record each admin change
//! after it is stored ([`AuditLog::record`]); [`Audit`] reads them, a team's in the
//! dashboard and a product's through its API key.
//!
//! What a change shows is a list of named fields ([`Fields`]) before and after. Only
//! fields chosen here go in: secrets (client secrets, Ory tokens, OIDC client
//! secrets, API key secrets) never do; a rotated secret is recorded as its own
//! action without a value.

use std::sync::Arc;

use gatehouse_core::audit::{
    ActorKind, AuditAction, AuditChange, AuditEvent, AuditFilter, AuditPage,
};

use crate::access::Access;
use crate::clock::Clock;
use crate::error::DomainResult;
use crate::model::{Connection, IdpConfig, Product};
use crate::ports::AuditStore;
use crate::scope::{ProductScope, ScopeProof};
use crate::tokens::sortable_id;

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: String,
}

impl Actor {
    pub fn user(user_id: &str) -> Self {
        Self {
            kind: ActorKind::User,
            id: user_id.to_string(),
        }
    }

    /// Gatehouse itself; `what` names the job.
    pub fn system(what: &str) -> Self {
        Self {
            kind: ActorKind::System,
            id: what.to_string(),
        }
    }

    /// Whoever proved the scope.
    pub fn of(scope: &ProductScope) -> Self {
        match scope.proof() {
            ScopeProof::ApiKey { key_id } => Self {
                kind: ActorKind::ApiKey,
                id: key_id.clone(),
            },
            ScopeProof::Member { user_id } => Self::user(user_id),
            ScopeProof::SetupLink { link_id } => Self {
                kind: ActorKind::SetupLink,
                id: link_id.clone(),
            },
        }
    }
}

/// One change to record.
#[derive(Debug, Clone)]
pub struct AuditEntry {
    pub team_id: String,
    pub product_id: Option<String>,
    pub actor: Actor,
    pub action: AuditAction,
    pub target_id: String,
    pub target_name: Option<String>,
    pub changes: Vec<AuditChange>,
}

impl AuditEntry {
    /// A change to a product's data made by whoever proved `scope`.
    pub fn on_product(
        scope: &ProductScope,
        action: AuditAction,
        target_id: &str,
        target_name: Option<&str>,
        changes: Vec<AuditChange>,
    ) -> Self {
        Self {
            team_id: scope.product().team_id.clone(),
            product_id: Some(scope.product().id.clone()),
            actor: Actor::of(scope),
            action,
            target_id: target_id.to_string(),
            target_name: target_name.map(str::to_string),
            changes,
        }
    }
}

/// Where services record changes.
#[derive(Clone)]
pub struct AuditLog {
    pub(crate) store: Arc<dyn AuditStore>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl AuditLog {
    /// Store `entry`. The change itself is already stored: a failure here is logged
    /// (as an error, with the whole entry) rather than undo it.
    pub async fn record(&self, entry: AuditEntry) {
        let now = self.clock.now();
        let event = AuditEvent {
            id: sortable_id("aud", now),
            created_at: now,
            team_id: entry.team_id,
            product: entry.product_id,
            actor_kind: entry.actor.kind,
            actor_id: entry.actor.id,
            actor_label: None,
            action: entry.action,
            target_id: entry.target_id,
            target_name: entry.target_name,
            changes: entry.changes,
        };
        if let Err(e) = self.store.insert_audit_event(&event).await {
            tracing::error!(error = %e, event = ?event, "an audit event was not stored");
        }
    }
}

/// Reading the audit log.
#[derive(Clone)]
pub struct Audit {
    pub(crate) store: Arc<dyn AuditStore>,
    pub(crate) access: Access,
}

impl Audit {
    /// A team's events (any member), newest first.
    pub async fn dashboard_events(
        &self,
        user_id: &str,
        team_id: &str,
        filter: &AuditFilter,
    ) -> DomainResult<AuditPage> {
        let access = self.access.team_access(user_id, team_id).await?;
        self.page(&access.team.id, filter).await
    }

    /// A product's events (its API keys), newest first.
    pub async fn product_events(
        &self,
        scope: &ProductScope,
        filter: &AuditFilter,
    ) -> DomainResult<AuditPage> {
        let filter = AuditFilter {
            product: Some(scope.product().id.clone()),
            ..filter.clone()
        };
        self.page(&scope.product().team_id, &filter).await
    }

    async fn page(&self, team_id: &str, filter: &AuditFilter) -> DomainResult<AuditPage> {
        let limit = filter.page_size();
        let mut events = self.store.audit_events(team_id, filter, limit + 1).await?;
        let more = events.len() > limit as usize;
        events.truncate(limit as usize);
        Ok(AuditPage { events, more })
    }
}

/// The recorded fields of a thing, by name.
pub type Fields = Vec<(&'static str, String)>;

/// The fields whose value differs.
pub fn diff(before: &Fields, after: &Fields) -> Vec<AuditChange> {
    let mut changes = Vec::new();
    for (field, new) in after {
        let old = before.iter().find(|(f, _)| f == field).map(|(_, v)| v);
        if old != Some(new) {
            changes.push(AuditChange {
                field: (*field).to_string(),
                before: old.cloned(),
                after: Some(new.clone()),
            });
        }
    }
    for (field, old) in before {
        if !after.iter().any(|(f, _)| f == field) {
            changes.push(AuditChange {
                field: (*field).to_string(),
                before: Some(old.clone()),
                after: None,
            });
        }
    }
    changes
}

/// Everything new (a creation).
pub fn created(after: &Fields) -> Vec<AuditChange> {
    diff(&Vec::new(), after)
}

/// Everything gone (a deletion).
pub fn deleted(before: &Fields) -> Vec<AuditChange> {
    diff(before, &Vec::new())
}

fn flag(b: bool) -> String {
    if b { "yes" } else { "no" }.to_string()
}

/// A connection's recorded fields: never its client secret or the IdP's.
pub fn connection_fields(c: &Connection) -> Fields {
    let mut fields: Fields = vec![
        ("name", c.name.clone()),
        ("description", c.description.clone()),
        ("tenant", c.tenant.clone()),
        ("redirectUrl", c.redirect_urls.join(" ")),
        (
            "defaultRedirectUrl",
            c.default_redirect_url.clone().unwrap_or_default(),
        ),
        ("enabled", flag(c.enabled)),
        ("allowIdpInitiated", flag(c.allow_idp_initiated)),
        ("emailDomains", c.email_domains.join(" ")),
        ("acceptAnyEmailDomain", flag(c.accept_any_email_domain)),
        ("protocol", c.idp.protocol().to_string()),
    ];
    match &c.idp {
        IdpConfig::Saml(saml) => {
            fields.push(("idpEntityId", saml.idp.entity_id.clone()));
            fields.push((
                "idpSsoUrl",
                saml.idp
                    .sso_post_url
                    .clone()
                    .or_else(|| saml.idp.sso_redirect_url.clone())
                    .unwrap_or_default(),
            ));
            fields.push((
                "certificates",
                saml.idp
                    .certificates
                    .iter()
                    .map(|cert| {
                        format!(
                            "sha256:{} (expires {})",
                            cert.sha256,
                            cert.not_after.format("%Y-%m-%d")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
            fields.push(("metadataUrl", saml.metadata_url.clone().unwrap_or_default()));
        }
        IdpConfig::Oidc(oidc) => {
            fields.push(("oidcIssuer", oidc.issuer.clone()));
            fields.push(("oidcDiscoveryUrl", oidc.discovery_url.clone()));
            fields.push(("oidcClientId", oidc.client_id.clone()));
        }
    }
    fields
}

/// A product's recorded fields.
pub fn product_fields(p: &Product) -> Fields {
    vec![
        ("name", p.name.clone()),
        ("description", p.description.clone()),
        ("redirectUrl", p.redirect_urls.join(" ")),
        (
            "defaultRedirectUrl",
            p.default_redirect_url.clone().unwrap_or_default(),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_changed_fields_are_listed() {
        let before: Fields = vec![("name", "A".into()), ("tenant", "acme.com".into())];
        let after: Fields = vec![("name", "B".into()), ("tenant", "acme.com".into())];
        assert_eq!(
            diff(&before, &after),
            vec![AuditChange {
                field: "name".into(),
                before: Some("A".into()),
                after: Some("B".into())
            }]
        );
        assert_eq!(created(&after).len(), 2);
        assert!(deleted(&before).iter().all(|c| c.after.is_none()));
    }
}
