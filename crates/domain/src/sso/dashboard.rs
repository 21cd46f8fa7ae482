//! Connection use cases as the dashboard calls them: every one starts from the
//! caller's team membership and the product's team (see `crate` docs), so another
//! team's connection is `NotFound`.

use gatehouse_core::connection_form::ConnectionForm;
use gatehouse_core::views::{
    CertView, ConnectionCredentials, ConnectionDetail, ConnectionSummary, OidcIdpView, ProductOAuth,
};

use crate::error::DomainResult;
use chrono::{DateTime, Utc};

use crate::model::{Connection, ConnectionSource, IdpConfig, SamlIdpConfig};
use crate::ory::sync::ory_sync_view;
use crate::scope::ProductScope;
use crate::sso::connection_form::{connection_input, FormMode};
use crate::sso::connections::{ConnectionWithSecret, Connections};

/// The IdP's signing certificates as the dashboard and setup page show them.
pub fn cert_views(saml: &SamlIdpConfig, now: DateTime<Utc>) -> Vec<CertView> {
    saml.idp
        .certificates
        .iter()
        .map(|cert| CertView {
            subject: cert.subject.clone(),
            not_after: cert.not_after,
            expired: cert.is_expired(now),
            sha256: cert.sha256.clone(),
        })
        .collect()
}

/// A SAML connection's certificate health, by its last expiry (none for OIDC).
pub fn certificate_health(
    c: &Connection,
    now: DateTime<Utc>,
) -> Option<gatehouse_core::views::CertificateHealth> {
    match &c.idp {
        IdpConfig::Saml(saml) => saml
            .idp
            .certificates
            .iter()
            .map(|cert| cert.not_after)
            .max()
            .map(|last| gatehouse_core::views::CertificateHealth::at(last, now)),
        IdpConfig::Oidc(_) => None,
    }
}

impl Connections {
    pub fn connection_summary(&self, c: &Connection) -> ConnectionSummary {
        ConnectionSummary {
            id: c.id.clone(),
            tenant: c.tenant.clone(),
            name: c.name.clone(),
            idp_entity_id: c.idp_entity_id.clone(),
            protocol: c.idp.protocol().to_string(),
            enabled: c.enabled,
            source: c.source.as_str().to_string(),
            created_at: c.created_at,
            cert_expires_at: match &c.idp {
                IdpConfig::Saml(saml) => saml.idp.certificates.iter().map(|c| c.not_after).min(),
                IdpConfig::Oidc(_) => None,
            },
            certificate_health: certificate_health(c, self.clock.now()),
            ory_state: None,
        }
    }

    pub fn connection_detail(&self, c: &Connection) -> ConnectionDetail {
        let now = self.clock.now();
        let (saml, oidc) = match &c.idp {
            IdpConfig::Saml(saml) => (Some(saml), None),
            IdpConfig::Oidc(o) => (
                None,
                Some(OidcIdpView {
                    issuer: o.issuer.clone(),
                    discovery_url: o.discovery_url.clone(),
                    client_id: o.client_id.clone(),
                }),
            ),
        };
        ConnectionDetail {
            id: c.id.clone(),
            product_id: c.product_id.clone(),
            tenant: c.tenant.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            idp_entity_id: c.idp_entity_id.clone(),
            sso_redirect_url: saml.and_then(|s| s.idp.sso_redirect_url.clone()),
            sso_post_url: saml.and_then(|s| s.idp.sso_post_url.clone()),
            certificates: saml.map(|s| cert_views(s, now)).unwrap_or_default(),
            certificate_health: certificate_health(c, now),
            metadata_url: saml.and_then(|s| s.metadata_url.clone()),
            metadata_checked_at: None,
            metadata_error: None,
            redirect_urls: c.redirect_urls.clone(),
            default_redirect_url: c.default_redirect_url.clone(),
            allow_idp_initiated: c.allow_idp_initiated,
            enabled: c.enabled,
            client_id: c.client_id.clone(),
            source: c.source.as_str().to_string(),
            created_at: c.created_at,
            updated_at: c.updated_at,
            sp: self.settings.sp_info(&c.product_id, c.oidc_redirect_key()),
            protocol: c.idp.protocol().to_string(),
            oidc,
            ory: None,
            tenant_email_domain: crate::sso::email_domains::as_domain(&c.tenant),
            email_domains: c.email_domains.clone(),
            accept_any_email_domain: c.accept_any_email_domain,
        }
    }

    /// [`Self::connection_detail`] with the connection's Ory sync state.
    pub async fn connection_detail_with_sync(
        &self,
        c: &Connection,
    ) -> DomainResult<ConnectionDetail> {
        let mut detail = self.connection_detail(c);
        if let Some(row) = self.store.ory_sync_row(&c.id).await? {
            detail.ory = Some(ory_sync_view(&row, c));
        }
        if detail.metadata_url.is_some() {
            if let Some((at, error)) = self.store.metadata_check(&c.id).await? {
                detail.metadata_checked_at = Some(at);
                detail.metadata_error = error;
            }
        }
        Ok(detail)
    }

    fn credentials(&self, created: &ConnectionWithSecret) -> ConnectionCredentials {
        ConnectionCredentials {
            connection: self.connection_detail(&created.connection),
            client_secret: created.client_secret.clone(),
        }
    }

    async fn dashboard_connection(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        connection_id: &str,
        write: bool,
    ) -> DomainResult<Connection> {
        self.dashboard_scoped_connection(user_id, team_id, product_id, connection_id, write)
            .await
            .map(|(_, c)| c)
    }

    /// A connection of the caller's product, with the product scope (for changes).
    async fn dashboard_scoped_connection(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        connection_id: &str,
        write: bool,
    ) -> DomainResult<(ProductScope, Connection)> {
        let (access, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, write)
            .await?;
        let c = self
            .product_connection(&product, connection_id)
            .await
            .inspect_err(|_| {
                tracing::warn!(
                    target: "gatehouse::isolation",
                    user_id = %access.user_id, product_id, connection_id,
                    "refused: connection is not in this product"
                );
            })?;
        Ok((product, c))
    }

    pub async fn list_connections(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<Vec<ConnectionSummary>> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        let all = self.store.connections(&product.id).await?;
        let sync = self.store.ory_sync_rows(&product.id).await?;
        Ok(all
            .iter()
            .map(|c| {
                let mut summary = self.connection_summary(c);
                summary.ory_state = sync
                    .iter()
                    .find(|r| r.connection_id == c.id)
                    .map(|r| r.state.as_str().to_string());
                summary
            })
            .collect())
    }

    pub async fn connection_view(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        connection_id: &str,
    ) -> DomainResult<ConnectionDetail> {
        let c = self
            .dashboard_connection(user_id, team_id, product_id, connection_id, false)
            .await?;
        self.connection_detail_with_sync(&c).await
    }

    pub async fn dashboard_create_connection(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        form: &ConnectionForm,
        reserved_id: Option<&str>,
    ) -> DomainResult<ConnectionCredentials> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        let input = connection_input(form, FormMode::Create)?;
        let created = self
            .create_connection(
                &product,
                input,
                ConnectionSource::Dashboard,
                None,
                reserved_id,
            )
            .await?;
        Ok(self.credentials(&created))
    }

    pub async fn dashboard_update_connection(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        connection_id: &str,
        form: &ConnectionForm,
    ) -> DomainResult<ConnectionDetail> {
        let (scope, c) = self
            .dashboard_scoped_connection(user_id, team_id, product_id, connection_id, true)
            .await?;
        let input = connection_input(form, FormMode::Replace(&c))?;
        let updated = self.update_connection(&scope, c, input).await?;
        self.connection_detail_with_sync(&updated).await
    }

    pub async fn dashboard_set_connection_enabled(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        connection_id: &str,
        enabled: bool,
    ) -> DomainResult<ConnectionDetail> {
        let (scope, c) = self
            .dashboard_scoped_connection(user_id, team_id, product_id, connection_id, true)
            .await?;
        let updated = self.set_connection_enabled(&scope, c, enabled).await?;
        self.connection_detail_with_sync(&updated).await
    }

    pub async fn dashboard_rotate_connection_secret(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        connection_id: &str,
    ) -> DomainResult<ConnectionCredentials> {
        let (scope, c) = self
            .dashboard_scoped_connection(user_id, team_id, product_id, connection_id, true)
            .await?;
        let rotated = self.rotate_client_secret(&scope, c).await?;
        Ok(self.credentials(&rotated))
    }

    pub async fn dashboard_delete_connection(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        connection_id: &str,
    ) -> DomainResult<()> {
        let (scope, c) = self
            .dashboard_scoped_connection(user_id, team_id, product_id, connection_id, true)
            .await?;
        self.delete_connection(&scope, &c).await
    }

    /// "Retry now": sync this connection with Ory at once.
    pub async fn dashboard_retry_ory_sync(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        connection_id: &str,
    ) -> DomainResult<ConnectionDetail> {
        let c = self
            .dashboard_connection(user_id, team_id, product_id, connection_id, true)
            .await?;
        if !self
            .store
            .retry_ory_sync(&c.product_id, &c.id, self.clock.now())
            .await?
        {
            self.store
                .mark_all_ory_sync(&c.product_id, self.clock.now())
                .await?;
        }
        self.ory_wake.wake();
        self.connection_detail_with_sync(&c).await
    }

    pub async fn product_oauth(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<ProductOAuth> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        let issuer = self.settings.issuer();
        let new_connection_id = crate::sso::connections::reserve_connection_id();
        Ok(ProductOAuth {
            authorize_url: format!("{issuer}/api/oauth/authorize"),
            token_url: format!("{issuer}/api/oauth/token"),
            userinfo_url: format!("{issuer}/api/oauth/userinfo"),
            issuer,
            sp: self.settings.sp_info(&product.id, &new_connection_id),
            new_connection_id,
            client_secret_verifier: self.verifiers.ensure_secret_verifier(&product.id).await?,
        })
    }

    /// The product's client-secret verifier (made on first use).
    pub async fn secret_verifier(&self, product: &ProductScope) -> DomainResult<String> {
        self.verifiers.ensure_secret_verifier(&product.id).await
    }

    pub async fn dashboard_rotate_secret_verifier(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<String> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        let verifier = self.verifiers.rotate_secret_verifier(&product.id).await?;
        self.audit
            .record(crate::audit::AuditEntry::on_product(
                &product,
                gatehouse_core::audit::AuditAction::ProductSecretVerifierRotated,
                &product.id,
                Some(&product.name),
                vec![gatehouse_core::audit::AuditChange {
                    field: "secretVerifier".into(),
                    before: None,
                    after: Some("(changed)".into()),
                }],
            ))
            .await;
        Ok(verifier)
    }
}
