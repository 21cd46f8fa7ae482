//! Setup links: the vendor's admin creates one for a tenant; the customer's IT admin
//! opens it without an account and configures that tenant's SAML connection.
//!
//! A link can only ever read or write the connection of its own tenant of its own
//! product: the tenant and product come from the stored link, never from the request.
//! Unknown, expired and revoked tokens all end at the same "expired" page with no
//! data; lookups are rate-limited per client.

use crate::audit::{self, AuditEntry};
use gatehouse_core::audit::AuditAction;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::views::{CreatedSetupLink, SetupLinkView, SetupPage, SetupSaved};
use gatehouse_core::{FieldError, Tenant};

use crate::access::Access;
use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::model::{ConnectionSource, IdpConfig, SetupLink};
use crate::ports::SetupLinkPorts;
use crate::rate_limit::RateLimiter;
use crate::scope::{ProductScope, ScopeProof};
use crate::settings::DomainSettings;
use crate::sso::connections::{ConnectionInput, Connections, IdpResolver, MetadataSource};
use crate::sso::dashboard::cert_views;
use crate::tokens::{hash_secret, new_id, new_secret};

pub const DEFAULT_EXPIRY_DAYS: i64 = 3;
pub const MAX_EXPIRY_DAYS: i64 = 30;
/// Token lookups allowed per client per minute.
pub const LOOKUPS_PER_MINUTE: u32 = 30;

/// A link opened by its token: active, with its product.
#[derive(Debug, Clone)]
pub struct OpenLink {
    pub link: SetupLink,
    /// The link's product: a live link is the customer's proof.
    pub product: ProductScope,
}

pub fn setup_link_view(l: &SetupLink, now: DateTime<Utc>) -> SetupLinkView {
    let status = if l.revoked_at.is_some() {
        "revoked"
    } else if now >= l.expires_at {
        "expired"
    } else {
        "active"
    };
    SetupLinkView {
        id: l.id.clone(),
        tenant: l.tenant.clone(),
        name: l.name.clone(),
        created_at: l.created_at,
        expires_at: l.expires_at,
        revoked_at: l.revoked_at,
        used_at: l.used_at,
        connection_id: l.connection_id.clone(),
        status: status.to_string(),
    }
}

/// Days from a form: empty = the default; otherwise 1–30.
pub fn parse_expiry_days(raw: &str) -> Result<i64, FieldError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(DEFAULT_EXPIRY_DAYS);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|d| (1..=MAX_EXPIRY_DAYS).contains(d))
        .ok_or_else(|| {
            FieldError::new(
                "expiry_days",
                format!("Choose from 1 to {MAX_EXPIRY_DAYS} days."),
            )
        })
}

/// Setup links: made by the vendor's admin, used by the customer's IT admin.
#[derive(Clone)]
pub struct SetupLinks {
    pub(crate) store: Arc<dyn SetupLinkPorts>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: DomainSettings,
    pub(crate) access: Access,
    pub(crate) idp: IdpResolver,
    pub(crate) connections: Connections,
    /// Token lookups per client.
    pub(crate) lookups: Arc<RateLimiter>,
    pub(crate) audit: crate::audit::AuditLog,
}

impl SetupLinks {
    /// `{public URL}/setup/{token}`
    pub fn setup_url(&self, token: &str) -> String {
        self.settings.public_url(&format!("/setup/{token}"))
    }

    /// A new link for `tenant` of `product` (already authorized by the caller).
    pub async fn create_setup_link(
        &self,
        product: &ProductScope,
        tenant: &Tenant,
        name: &str,
        expiry_days: i64,
    ) -> DomainResult<CreatedSetupLink> {
        if !(1..=MAX_EXPIRY_DAYS).contains(&expiry_days) {
            return Err(FieldError::new(
                "expiry_days",
                format!("Choose from 1 to {MAX_EXPIRY_DAYS} days."),
            )
            .into());
        }
        let name: String = name.trim().chars().take(120).collect();
        let token = format!("gsl_{}", new_secret());
        let now = self.clock.now();
        let link = SetupLink {
            id: new_id("setup"),
            product_id: product.id.clone(),
            tenant: tenant.to_string(),
            name,
            token_hash: hash_secret(&token),
            created_at: now,
            expires_at: now + Duration::days(expiry_days),
            revoked_at: None,
            used_at: None,
            connection_id: None,
        };
        self.store.create_setup_link(&link).await?;
        tracing::info!(product_id = %product.id, setup_link_id = %link.id, tenant = %link.tenant, expiry_days, "setup link created");
        self.audit
            .record(AuditEntry::on_product(
                product,
                AuditAction::SetupLinkCreated,
                &link.id,
                Some(&link.name),
                audit::created(&vec![
                    ("tenant", link.tenant.clone()),
                    ("name", link.name.clone()),
                    ("expiresAt", link.expires_at.to_rfc3339()),
                ]),
            ))
            .await;
        Ok(CreatedSetupLink {
            link: setup_link_view(&link, now),
            url: self.setup_url(&token),
        })
    }

    pub async fn list_setup_links(
        &self,
        product: &ProductScope,
    ) -> DomainResult<Vec<SetupLinkView>> {
        let now = self.clock.now();
        Ok(self
            .store
            .setup_links(&product.id)
            .await?
            .iter()
            .map(|l| setup_link_view(l, now))
            .collect())
    }

    pub async fn revoke_setup_link(&self, product: &ProductScope, id: &str) -> DomainResult<()> {
        let link = self
            .store
            .setup_link(&product.id, id)
            .await?
            .ok_or(DomainError::NotFound)?;
        self.store
            .revoke_setup_link(&product.id, &link.id, self.clock.now())
            .await?;
        tracing::info!(product_id = %product.id, setup_link_id = %link.id, "setup link revoked");
        self.audit
            .record(AuditEntry::on_product(
                product,
                AuditAction::SetupLinkRevoked,
                &link.id,
                Some(&link.name),
                Vec::new(),
            ))
            .await;
        Ok(())
    }

    /// A new link for the same tenant, name and lifetime; the old one stops working
    /// at once.
    pub async fn regenerate_setup_link(
        &self,
        product: &ProductScope,
        id: &str,
    ) -> DomainResult<CreatedSetupLink> {
        let old = self
            .store
            .setup_link(&product.id, id)
            .await?
            .ok_or(DomainError::NotFound)?;
        self.store
            .revoke_setup_link(&product.id, &old.id, self.clock.now())
            .await?;
        self.audit
            .record(AuditEntry::on_product(
                product,
                AuditAction::SetupLinkRegenerated,
                &old.id,
                Some(&old.name),
                Vec::new(),
            ))
            .await;
        let days = (old.expires_at - old.created_at)
            .num_days()
            .clamp(1, MAX_EXPIRY_DAYS);
        self.create_setup_link(product, &Tenant::parse(&old.tenant)?, &old.name, days)
            .await
    }

    /// Resolve a token for the setup page. `client` identifies the caller for rate
    /// limiting (its IP address). Unknown, expired and revoked links are all `Gone`.
    pub async fn open_setup_link(&self, token: &str, client: &str) -> DomainResult<OpenLink> {
        if !self.lookups.allow(client, self.clock.now()) {
            tracing::warn!(client, "setup link lookups rate-limited");
            return Err(DomainError::RateLimited);
        }
        let token = token.trim();
        if !token.starts_with("gsl_") || token.len() > 100 {
            return Err(DomainError::SetupLinkGone);
        }
        let link = self
            .store
            .setup_link_by_token_hash(&hash_secret(token))
            .await?
            .ok_or(DomainError::SetupLinkGone)?;
        if !link.is_active(self.clock.now()) {
            return Err(DomainError::SetupLinkGone);
        }
        let product = self
            .store
            .product_by_id(&link.product_id)
            .await?
            .ok_or(DomainError::SetupLinkGone)?;
        let product = ProductScope::new(
            product,
            ScopeProof::SetupLink {
                link_id: link.id.clone(),
            },
        );
        Ok(OpenLink { link, product })
    }

    /// What the setup page shows.
    pub async fn setup_page(&self, open: &OpenLink) -> DomainResult<SetupPage> {
        let saved = match self.setup_connection(open).await? {
            Some(c) => {
                let now = self.clock.now();
                Some(SetupSaved {
                    idp_entity_id: c.idp_entity_id.clone(),
                    certificates: match &c.idp {
                        IdpConfig::Saml(saml) => cert_views(saml, now),
                        IdpConfig::Oidc(_) => Vec::new(),
                    },
                    protocol: c.idp.protocol().to_string(),
                    saved_at: c.updated_at,
                })
            }
            None => None,
        };
        Ok(SetupPage {
            product_name: open.product.name.clone(),
            tenant: open.link.tenant.clone(),
            expires_at: open.link.expires_at,
            sp: self.settings.sp_info(&open.product.id, &open.link.id),
            saved,
            test_url: None,
        })
    }

    /// The connection this link saved, if it still exists and is still of the
    /// link's tenant and product.
    pub async fn setup_connection(
        &self,
        open: &OpenLink,
    ) -> DomainResult<Option<crate::model::Connection>> {
        let Some(id) = &open.link.connection_id else {
            return Ok(None);
        };
        Ok(self
            .store
            .connection(&open.product.id, id)
            .await?
            .filter(|c| c.tenant == open.link.tenant))
    }

    /// "Test" before "Save": check the IdP settings as Save would and keep them on the
    /// link as its draft, for [`crate::sso::sign_in::SignIn::start_setup_draft_test`]. Nothing a vendor's
    /// app uses changes. An OIDC secret left empty keeps the previous draft's.
    pub async fn setup_try(&self, open: &OpenLink, metadata: MetadataSource) -> DomainResult<()> {
        let previous = self.store.setup_draft(&open.link.id).await?.map(|d| d.idp);
        let idp = self
            .idp
            .resolve_idp(&metadata, &open.link.id, previous.as_ref())
            .await?;
        self.store
            .save_setup_draft(&open.link.id, &idp, self.clock.now())
            .await?;
        tracing::info!(setup_link_id = %open.link.id, protocol = idp.protocol(), "setup link settings kept for a test sign-in");
        Ok(())
    }

    /// Save the IdP metadata: create the tenant's connection (or update the one this
    /// link made). The app's redirect URLs are the product's.
    pub async fn setup_save(
        &self,
        open: &OpenLink,
        metadata: MetadataSource,
    ) -> DomainResult<SetupPage> {
        let saved = match self.setup_connection(open).await? {
            Some(existing) => {
                let input = ConnectionInput {
                    tenant: existing.tenant.clone(),
                    name: existing.name.clone(),
                    description: existing.description.clone(),
                    metadata: Some(metadata),
                    redirect_urls: existing.redirect_urls.clone(),
                    default_redirect_url: existing.default_redirect_url.clone().unwrap_or_default(),
                    allow_idp_initiated: existing.allow_idp_initiated,
                    email_domains: None,
                    accept_any_email_domain: None,
                };
                self.connections
                    .update_connection(&open.product, existing, input)
                    .await?
            }
            None => {
                let input = ConnectionInput {
                    tenant: open.link.tenant.clone(),
                    name: open.link.name.clone(),
                    description: "Configured by the customer through a setup link".into(),
                    metadata: Some(metadata),
                    redirect_urls: Vec::new(),
                    default_redirect_url: String::new(),
                    allow_idp_initiated: false,
                    email_domains: None,
                    accept_any_email_domain: None,
                };
                self.connections
                    .create_connection(
                        &open.product,
                        input,
                        ConnectionSource::SetupLink,
                        Some(open.link.id.clone()),
                        None,
                    )
                    .await?
                    .connection
            }
        };
        self.store
            .mark_setup_link_used(&open.link.id, &saved.id, self.clock.now())
            .await?;
        tracing::info!(setup_link_id = %open.link.id, connection_id = %saved.id, tenant = %saved.tenant, "connection saved through a setup link");
        self.audit
            .record(AuditEntry::on_product(
                &open.product,
                AuditAction::SetupLinkUsed,
                &open.link.id,
                Some(&open.link.name),
                vec![gatehouse_core::audit::AuditChange {
                    field: "connection".into(),
                    before: None,
                    after: Some(saved.id.clone()),
                }],
            ))
            .await;
        self.connections
            .webhooks
            .emit(
                &saved.product_id,
                gatehouse_core::webhooks::WebhookEvent::SetupLinkUsed,
                &saved.id,
                serde_json::json!({
                    "setupLinkId": open.link.id,
                    "tenant": open.link.tenant,
                    "connection": crate::webhooks::connection_data(&saved),
                }),
            )
            .await;
        let mut open = open.clone();
        open.link.connection_id = Some(saved.id);
        self.setup_page(&open).await
    }
}

/// The dashboard's calls: each starts from the caller's team membership.
impl SetupLinks {
    pub async fn dashboard_setup_links(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<Vec<SetupLinkView>> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        self.list_setup_links(&product).await
    }

    pub async fn dashboard_create_setup_link(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        tenant: &str,
        name: &str,
        expiry_days: &str,
    ) -> DomainResult<CreatedSetupLink> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        let tenant = Tenant::parse(tenant)?;
        let days = parse_expiry_days(expiry_days)?;
        self.create_setup_link(&product, &tenant, name, days).await
    }

    pub async fn dashboard_revoke_setup_link(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        link_id: &str,
    ) -> DomainResult<()> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        self.revoke_setup_link(&product, link_id).await
    }

    pub async fn dashboard_regenerate_setup_link(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        link_id: &str,
    ) -> DomainResult<CreatedSetupLink> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        self.regenerate_setup_link(&product, link_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_defaults_to_three_days_and_is_capped_at_thirty() {
        assert_eq!(parse_expiry_days(""), Ok(3));
        assert_eq!(parse_expiry_days("30"), Ok(30));
        assert!(parse_expiry_days("0").is_err());
        assert!(parse_expiry_days("31").is_err());
        assert!(parse_expiry_days("a week").is_err());
    }
}
