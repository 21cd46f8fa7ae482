//! SAML connections created from a metadata URL fetch it again once a day (through
//! the same outbound guard as on save). A changed IdP (certificates, SSO URLs,
//! entity id) is applied as the IdP publishes it, so during a certificate rotation,
//! while the metadata lists the old and the new certificate, both verify; the change
//! is in the audit log (actor `system`) and told to webhooks (`connection.updated`).
//! A failed fetch keeps the last good metadata; the error is shown on the
//! connection's page until a fetch works again.

use chrono::Duration;

use crate::audit::{self, Actor, AuditEntry};
use crate::error::DomainResult;
use crate::model::IdpConfig;
use crate::saml::metadata::IdpMetadata;
use crate::sso::connections::{idp_entity_id, Connections, MetadataSource};
use gatehouse_core::audit::AuditAction;
use gatehouse_core::webhooks::WebhookEvent;

/// How often a metadata URL is fetched again.
pub const REFRESH_EVERY: Duration = Duration::hours(24);

/// What sign-ins depend on, compared to tell a real change from a re-fetch.
fn same_idp(a: &IdpMetadata, b: &IdpMetadata) -> bool {
    let certs = |m: &IdpMetadata| {
        let mut v: Vec<String> = m.certificates.iter().map(|c| c.sha256.clone()).collect();
        v.sort();
        v
    };
    a.entity_id == b.entity_id
        && a.sso_post_url == b.sso_post_url
        && a.sso_redirect_url == b.sso_redirect_url
        && a.want_authn_requests_signed == b.want_authn_requests_signed
        && certs(a) == certs(b)
}

impl Connections {
    /// Fetch the metadata URLs due; returns how many connections changed.
    pub async fn refresh_metadata(&self) -> DomainResult<usize> {
        let now = self.clock.now();
        let checked: std::collections::HashMap<String, _> =
            self.store.metadata_checks().await?.into_iter().collect();
        let mut changed = 0;
        for mut c in self.store.saml_connections().await? {
            let IdpConfig::Saml(saml) = &c.idp else {
                continue;
            };
            let Some(url) = saml.metadata_url.clone() else {
                continue;
            };
            let last = checked.get(&c.id).copied().unwrap_or(c.updated_at);
            if now - last < REFRESH_EVERY {
                continue;
            }
            let fresh = match self
                .idp
                .resolve_idp(&MetadataSource::Url(url.clone()), &c.id, Some(&c.idp))
                .await
            {
                Ok(IdpConfig::Saml(fresh)) => fresh,
                Ok(IdpConfig::Oidc(_)) => continue,
                Err(e) => {
                    let error = e.to_string();
                    tracing::warn!(connection_id = %c.id, url, error, "metadata refresh failed; keeping the last good metadata");
                    self.store
                        .record_metadata_check(&c.id, now, Some(&error))
                        .await?;
                    continue;
                }
            };
            self.store.record_metadata_check(&c.id, now, None).await?;
            if same_idp(&saml.idp, &fresh.idp) {
                continue;
            }
            let before = audit::connection_fields(&c);
            c.idp = IdpConfig::Saml(fresh);
            c.idp_entity_id = idp_entity_id(&c.idp);
            c.updated_at = now;
            if !self.store.update_connection(&c).await? {
                continue;
            }
            tracing::info!(connection_id = %c.id, url, "metadata refresh applied a changed IdP");
            changed += 1;
            self.ory_wake.wake();
            self.audit
                .record(AuditEntry {
                    team_id: self.team_of(&c.product_id).await?,
                    product_id: Some(c.product_id.clone()),
                    actor: Actor::system("metadata-refresh"),
                    action: AuditAction::ConnectionUpdated,
                    target_id: c.id.clone(),
                    target_name: Some(c.name.clone()),
                    changes: audit::diff(&before, &audit::connection_fields(&c)),
                })
                .await;
            self.webhooks
                .emit(
                    &c.product_id,
                    WebhookEvent::ConnectionUpdated,
                    &c.id,
                    crate::webhooks::connection_data(&c),
                )
                .await;
        }
        Ok(changed)
    }

    async fn team_of(&self, product_id: &str) -> DomainResult<String> {
        Ok(self
            .store
            .product_by_id(product_id)
            .await?
            .map(|p| p.team_id)
            .unwrap_or_default())
    }
}
