//! SSO connections: create, read, update, enable/disable, delete.
//!
//! The dashboard and the Jackson-compatible admin API both come through here. A
//! connection is validated completely before anything is stored (metadata parsed,
//! certificates read, redirect URLs checked), so a bad input never half-saves.

use crate::audit::{self, AuditEntry};
use gatehouse_core::audit::{AuditAction, AuditChange};
use gatehouse_core::webhooks::WebhookEvent;
use std::sync::Arc;

use gatehouse_core::{FieldError, RedirectUrlList, Tenant};
use secrecy::ExposeSecret;

use crate::access::Access;
use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::model::{
    Connection, ConnectionSource, IdpConfig, OidcIdpConfig, Product, SamlIdpConfig, SetupDraft,
};
use crate::oidc::client_secret_context;
use crate::oidc::provider::{locate, OidcProviders};
use crate::ory::OryWake;
use crate::outbound::{fetch_text, Fetch};
use crate::ports::{ConnectionPorts, StoreError};
use crate::saml::metadata::IdpMetadata;
use crate::scope::ProductScope;
use crate::secret_box::SecretBox;
use crate::settings::DomainSettings;
use crate::sso::email_domains;
use crate::sso::verifier::SecretVerifiers;
use crate::tokens::{
    constant_time_eq, hash_secret, hex, new_id, new_secret, random_bytes, verify_secret,
};
/// The secret-box context of a connection's Ory client secret.
pub fn ory_client_context(connection_id: &str) -> String {
    format!("ory-client:{connection_id}")
}

/// Where the IdP's configuration comes from: SAML metadata (XML or URL), or an OIDC
/// IdP's issuer/discovery URL and the client Gatehouse has there.
#[derive(Debug, Clone)]
pub enum MetadataSource {
    Xml(String),
    Url(String),
    Oidc(OidcSource),
}

#[derive(Debug, Clone)]
pub struct OidcSource {
    /// The issuer (`https://idp.example.com`) or its discovery URL.
    pub discovery_url: String,
    pub client_id: String,
    /// `None` (or empty) on update: keep the stored secret.
    pub client_secret: Option<String>,
}

/// The editable fields of a connection.
#[derive(Debug, Clone)]
pub struct ConnectionInput {
    pub tenant: String,
    pub name: String,
    pub description: String,
    /// `None` on update = keep the current metadata.
    pub metadata: Option<MetadataSource>,
    pub redirect_urls: Vec<String>,
    pub default_redirect_url: String,
    pub allow_idp_initiated: bool,
    /// Email domains beside the tenant's, as typed; `None` keeps them (and a setup
    /// link always passes `None`: only the vendor's admin sets them).
    pub email_domains: Option<Vec<String>>,
    /// `None` keeps the setting.
    pub accept_any_email_domain: Option<bool>,
}

/// A connection with its secret, returned once at creation (or rotation).
#[derive(Debug, Clone)]
pub struct ConnectionWithSecret {
    pub connection: Connection,
    pub client_secret: String,
}

/// A new connection id, for a form that must show the connection's OIDC redirect URI
/// before it is created. Nothing is stored until the form is saved.
pub fn reserve_connection_id() -> String {
    new_id("conn")
}

/// `conn_` and 26 base32 characters, as [`new_id`] makes them.
fn is_connection_id(id: &str) -> bool {
    id.strip_prefix("conn_").is_some_and(|rest| {
        rest.len() == 26
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    })
}

/// Tenants: what the app passes as `tenant` (usually a domain), checked and
/// lower-cased ([`Tenant`]).
pub fn parse_tenant(raw: &str) -> Result<String, FieldError> {
    Tenant::parse(raw).map(String::from)
}

/// SAML metadata, parsed and checked; errors name the field it came from.
fn saml_config(xml: String, url: Option<String>) -> DomainResult<SamlIdpConfig> {
    let field = if url.is_some() {
        "metadata_url"
    } else {
        "metadata"
    };
    let idp = IdpMetadata::parse(&xml).map_err(|e| FieldError::new(field, e.to_string()))?;
    Ok(SamlIdpConfig {
        metadata_xml: xml,
        metadata_url: url,
        idp,
    })
}

/// The IdP's identity: its SAML entity id or OIDC issuer.
pub fn idp_entity_id(idp: &IdpConfig) -> String {
    match idp {
        IdpConfig::Saml(saml) => saml.idp.entity_id.clone(),
        IdpConfig::Oidc(oidc) => oidc.issuer.clone(),
    }
}

/// Turns what an admin typed about their IdP into a checked [`IdpConfig`]: SAML
/// metadata parsed (fetched first when given by URL), or an OIDC IdP's discovery
/// document and keys fetched and checked.
#[derive(Clone)]
pub struct IdpResolver {
    pub(crate) fetch: Arc<dyn Fetch>,
    pub(crate) oidc: OidcProviders,
    pub(crate) secrets: SecretBox,
}

impl IdpResolver {
    /// The IdP configuration `source` describes, fully checked (metadata parsed, or
    /// the OIDC discovery document and keys fetched). `current` is the connection's
    /// configuration on update (an OIDC secret left empty is kept).
    pub(crate) async fn resolve_idp(
        &self,
        source: &MetadataSource,
        connection_id: &str,
        current: Option<&IdpConfig>,
    ) -> DomainResult<IdpConfig> {
        Ok(match source {
            MetadataSource::Oidc(oidc) => {
                IdpConfig::Oidc(self.resolve_oidc(oidc, connection_id, current).await?)
            }
            MetadataSource::Xml(xml) => IdpConfig::Saml(saml_config(xml.clone(), None)?),
            MetadataSource::Url(url) => {
                let xml = fetch_text(self.fetch.as_ref(), url)
                    .await
                    .map_err(|e| FieldError::new("metadata_url", e.to_string()))?;
                IdpConfig::Saml(saml_config(xml, Some(url.trim().to_string()))?)
            }
        })
    }

    async fn resolve_oidc(
        &self,
        source: &OidcSource,
        connection_id: &str,
        current: Option<&IdpConfig>,
    ) -> DomainResult<OidcIdpConfig> {
        let location =
            locate(&source.discovery_url).map_err(|e| FieldError::new("oidc_discovery_url", e))?;
        let client_id = source.client_id.trim().to_string();
        if client_id.is_empty() || client_id.len() > 512 {
            return Err(FieldError::new(
                "oidc_client_id",
                "Enter the client ID the IdP gave Gatehouse.",
            )
            .into());
        }
        let new_secret = source
            .client_secret
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let client_secret_sealed = match (new_secret, current) {
            (Some(secret), _) => {
                if secret.len() > 4096 {
                    return Err(
                        FieldError::new("oidc_client_secret", "This secret is too long.").into(),
                    );
                }
                self.secrets.seal_str(
                    &client_secret_context(connection_id),
                    &secrecy::SecretString::from(secret.to_string()),
                )?
            }
            (None, Some(IdpConfig::Oidc(cur))) => cur.client_secret_sealed.clone(),
            (None, _) => {
                return Err(FieldError::new(
                    "oidc_client_secret",
                    "Enter the client secret the IdP gave Gatehouse.",
                )
                .into())
            }
        };
        let metadata = self
            .oidc
            .check_location(&location)
            .await
            .map_err(|e| FieldError::new("oidc_discovery_url", e.to_string()))?;
        Ok(OidcIdpConfig {
            issuer: metadata.issuer().as_str().to_string(),
            discovery_url: location.discovery_url,
            client_id,
            client_secret_sealed,
        })
    }
}

fn check_redirects(input: &ConnectionInput) -> DomainResult<RedirectUrlList> {
    let lines = input.redirect_urls.join("\n");
    Ok(RedirectUrlList::parse(&lines, &input.default_redirect_url)?)
}

/// Connections of a product: create, read, update, enable, delete; with the
/// dashboard's views of them ([`crate::sso::dashboard`]).
#[derive(Clone)]
pub struct Connections {
    pub(crate) store: Arc<dyn ConnectionPorts>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: DomainSettings,
    pub(crate) access: Access,
    pub(crate) idp: IdpResolver,
    pub(crate) verifiers: SecretVerifiers,
    pub(crate) ory_wake: OryWake,
    pub(crate) audit: crate::audit::AuditLog,
    pub(crate) webhooks: crate::webhooks::WebhookOutbox,
}

impl Connections {
    async fn emit(&self, event: WebhookEvent, c: &Connection) {
        self.webhooks
            .emit(
                &c.product_id,
                event,
                &c.id,
                crate::webhooks::connection_data(c),
            )
            .await;
    }

    /// Create a connection under `product` (already authorized by the caller).
    /// `reserved_id`: the id the dashboard's form showed an OIDC redirect URI for
    /// ([`Self::reserve_connection_id`]); otherwise a new one.
    pub async fn create_connection(
        &self,
        product: &ProductScope,
        input: ConnectionInput,
        source: ConnectionSource,
        setup_link_id: Option<String>,
        reserved_id: Option<&str>,
    ) -> DomainResult<ConnectionWithSecret> {
        let tenant = parse_tenant(&input.tenant)?;
        let name = input.name.trim().to_string();
        if name.chars().count() > 120 {
            return Err(FieldError::new("name", "Keep the name under 120 characters.").into());
        }
        let redirects = check_redirects(&input)?;
        let email_domains =
            email_domains::parse_list(input.email_domains.as_deref().unwrap_or_default())?;
        let metadata = input.metadata.as_ref().ok_or_else(|| {
            FieldError::new(
                "metadata",
                "Paste the IdP metadata XML, upload the file, or give its URL.",
            )
        })?;
        let id = match reserved_id.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) if is_connection_id(r) => r.to_string(),
            Some(_) => {
                return Err(DomainError::Invalid(FieldError::new(
                    "connection_id",
                    "This form has expired: reload the page.",
                )))
            }
            None => new_id("conn"),
        };
        let idp = self.idp.resolve_idp(metadata, &id, None).await?;
        let now = self.clock.now();
        let client_secret = new_secret();
        let entity_id = idp_entity_id(&idp);
        let connection = Connection {
            id,
            product_id: product.id.clone(),
            tenant,
            name: if name.is_empty() {
                entity_id.clone()
            } else {
                name
            },
            description: input.description.trim().chars().take(500).collect(),
            idp_entity_id: entity_id,
            idp,
            redirect_urls: redirects.urls.iter().map(|u| u.to_string()).collect(),
            default_redirect_url: redirects.default.map(|u| u.to_string()),
            client_id: hex(&random_bytes(20)),
            client_secret_hash: hash_secret(&client_secret),
            allow_idp_initiated: input.allow_idp_initiated,
            enabled: true,
            email_domains,
            accept_any_email_domain: input.accept_any_email_domain.unwrap_or(false),
            source,
            setup_link_id,
            ory_client: None,
            created_at: now,
            updated_at: now,
        };
        match self.store.create_connection(&connection).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) if reserved_id.is_some() => {
                return Err(FieldError::new(
                    "connection_id",
                    "This form was already used to create a connection: reload the page.",
                )
                .into());
            }
            Err(StoreError::Conflict(_)) => {
                return Err(DomainError::bug("client id collision"));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(product_id = %product.id, connection_id = %connection.id, tenant = %connection.tenant, source = source.as_str(), "connection created");
        self.ory_wake.wake();
        self.audit
            .record(AuditEntry::on_product(
                product,
                AuditAction::ConnectionCreated,
                &connection.id,
                Some(&connection.name),
                audit::created(&audit::connection_fields(&connection)),
            ))
            .await;
        self.emit(WebhookEvent::ConnectionCreated, &connection)
            .await;
        Ok(ConnectionWithSecret {
            connection,
            client_secret,
        })
    }

    /// Update fields; `input.metadata = None` keeps the metadata.
    pub async fn update_connection(
        &self,
        scope: &ProductScope,
        mut connection: Connection,
        input: ConnectionInput,
    ) -> DomainResult<Connection> {
        let before = audit::connection_fields(&connection);
        let tenant = parse_tenant(&input.tenant)?;
        let redirects = check_redirects(&input)?;
        if let Some(domains) = &input.email_domains {
            connection.email_domains = email_domains::parse_list(domains)?;
        }
        if let Some(any) = input.accept_any_email_domain {
            connection.accept_any_email_domain = any;
        }
        if let Some(source) = &input.metadata {
            let idp = self
                .idp
                .resolve_idp(source, &connection.id, Some(&connection.idp))
                .await?;
            connection.idp_entity_id = idp_entity_id(&idp);
            connection.idp = idp;
        }
        let name = input.name.trim();
        if !name.is_empty() {
            connection.name = name.chars().take(120).collect();
        }
        connection.tenant = tenant;
        connection.description = input.description.trim().chars().take(500).collect();
        connection.redirect_urls = redirects.urls.iter().map(|u| u.to_string()).collect();
        connection.default_redirect_url = redirects.default.map(|u| u.to_string());
        connection.allow_idp_initiated = input.allow_idp_initiated;
        connection.updated_at = self.clock.now();
        if !self.store.update_connection(&connection).await? {
            return Err(DomainError::NotFound);
        }
        tracing::info!(connection_id = %connection.id, "connection updated");
        self.ory_wake.wake();
        let changes = audit::diff(&before, &audit::connection_fields(&connection));
        if !changes.is_empty() {
            self.audit
                .record(AuditEntry::on_product(
                    scope,
                    AuditAction::ConnectionUpdated,
                    &connection.id,
                    Some(&connection.name),
                    changes,
                ))
                .await;
            self.emit(WebhookEvent::ConnectionUpdated, &connection)
                .await;
        }
        Ok(connection)
    }

    pub async fn set_connection_enabled(
        &self,
        scope: &ProductScope,
        mut connection: Connection,
        enabled: bool,
    ) -> DomainResult<Connection> {
        let was = connection.enabled;
        connection.enabled = enabled;
        connection.updated_at = self.clock.now();
        if !self.store.update_connection(&connection).await? {
            return Err(DomainError::NotFound);
        }
        tracing::info!(connection_id = %connection.id, enabled, "connection enabled state changed");
        self.ory_wake.wake();
        if was != enabled {
            self.audit
                .record(AuditEntry::on_product(
                    scope,
                    if enabled {
                        AuditAction::ConnectionEnabled
                    } else {
                        AuditAction::ConnectionDisabled
                    },
                    &connection.id,
                    Some(&connection.name),
                    Vec::new(),
                ))
                .await;
            self.emit(WebhookEvent::ConnectionUpdated, &connection)
                .await;
        }
        Ok(connection)
    }

    /// A new client secret (the old one stops working at once).
    pub async fn rotate_client_secret(
        &self,
        scope: &ProductScope,
        mut connection: Connection,
    ) -> DomainResult<ConnectionWithSecret> {
        let client_secret = new_secret();
        connection.client_secret_hash = hash_secret(&client_secret);
        connection.updated_at = self.clock.now();
        if !self.store.update_connection(&connection).await? {
            return Err(DomainError::NotFound);
        }
        self.audit
            .record(AuditEntry::on_product(
                scope,
                AuditAction::ConnectionSecretRotated,
                &connection.id,
                Some(&connection.name),
                vec![AuditChange {
                    field: "clientSecret".into(),
                    before: None,
                    after: Some("(changed)".into()),
                }],
            ))
            .await;
        Ok(ConnectionWithSecret {
            connection,
            client_secret,
        })
    }

    pub async fn delete_connection(
        &self,
        scope: &ProductScope,
        connection: &Connection,
    ) -> DomainResult<()> {
        if !self
            .store
            .delete_connection(&connection.product_id, &connection.id, self.clock.now())
            .await?
        {
            return Err(DomainError::NotFound);
        }
        tracing::info!(connection_id = %connection.id, "connection deleted");
        self.ory_wake.wake();
        self.audit
            .record(AuditEntry::on_product(
                scope,
                AuditAction::ConnectionDeleted,
                &connection.id,
                Some(&connection.name),
                audit::deleted(&audit::connection_fields(connection)),
            ))
            .await;
        self.emit(WebhookEvent::ConnectionDeleted, connection).await;
        Ok(())
    }

    /// A connection of a product the caller may see.
    pub async fn product_connection(
        &self,
        product: &ProductScope,
        connection_id: &str,
    ) -> DomainResult<Connection> {
        self.store
            .connection(&product.id, connection_id)
            .await?
            .ok_or(DomainError::NotFound)
    }

    /// The scope's connection with this OAuth client id (the admin API's `clientID`);
    /// another product's is `None`.
    pub async fn connection_by_client_id(
        &self,
        product: &ProductScope,
        client_id: &str,
    ) -> DomainResult<Option<Connection>> {
        Ok(product.own(self.store.connection_by_client_id(client_id).await?))
    }

    /// The scope's connections of a tenant.
    pub async fn tenant_connections(
        &self,
        product: &ProductScope,
        tenant: &Tenant,
    ) -> DomainResult<Vec<Connection>> {
        Ok(self
            .store
            .connections_for_tenant(&product.id, tenant.as_str())
            .await?)
    }
}

/// The connection a draft would be, for checking a test sign-in's answer: its id is
/// the link's (so an OIDC secret sealed for the draft opens), it has no OAuth client
/// and no redirect URLs, and allows no IdP-initiated sign-in. It is never stored.
pub fn draft_connection(draft: &SetupDraft) -> Connection {
    let link = &draft.link;
    Connection {
        id: link.id.clone(),
        product_id: link.product_id.clone(),
        tenant: link.tenant.clone(),
        name: link.name.clone(),
        description: String::new(),
        idp_entity_id: idp_entity_id(&draft.idp),
        idp: draft.idp.clone(),
        redirect_urls: Vec::new(),
        default_redirect_url: None,
        client_id: String::new(),
        client_secret_hash: String::new(),
        allow_idp_initiated: false,
        enabled: true,
        email_domains: Vec::new(),
        accept_any_email_domain: false,
        source: ConnectionSource::SetupLink,
        setup_link_id: Some(link.id.clone()),
        ory_client: None,
        created_at: draft.updated_at,
        updated_at: draft.updated_at,
    }
}

/// Constant-time check of the connection's own client secret (the admin API's
/// `clientSecret`).
pub fn own_client_secret_matches(connection: &Connection, presented: &str) -> bool {
    verify_secret(presented, &connection.client_secret_hash)
}

/// Constant-time check of a client secret: the connection's own client, or the
/// client it gave Ory (`client_id` says which was presented).
pub fn client_secret_matches(
    secrets: &SecretBox,
    connection: &Connection,
    client_id: &str,
    presented: &str,
) -> bool {
    if client_id == connection.client_id {
        return own_client_secret_matches(connection, presented);
    }
    match &connection.ory_client {
        Some(ory) if ory.client_id == client_id => secrets
            .open_str(
                &ory_client_context(&connection.id),
                &ory.client_secret_sealed,
            )
            .map(|secret| constant_time_eq(secret.expose_secret().as_bytes(), presented.as_bytes()))
            .unwrap_or(false),
        _ => false,
    }
}

/// The redirect allow-list in force for `client_id`: for the connection's own
/// client the connection's list, else the product's; for the client given to Ory,
/// only Ory's callback.
pub fn effective_redirects(
    connection: &Connection,
    product: &Product,
    client_id: &str,
) -> (Vec<String>, Option<String>) {
    if let Some(ory) = connection
        .ory_client
        .as_ref()
        .filter(|o| o.client_id == client_id)
    {
        return (ory.redirect_url.iter().cloned().collect(), None);
    }
    if connection.redirect_urls.is_empty() {
        (
            product.redirect_urls.clone(),
            product.default_redirect_url.clone(),
        )
    } else {
        (
            connection.redirect_urls.clone(),
            connection
                .default_redirect_url
                .clone()
                .or_else(|| product.default_redirect_url.clone()),
        )
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::clock::SystemClock;
    use crate::error::DomainError;
    use crate::outbound::{FetchError, Fetched, Outbound};

    type Answer = Result<(u16, String), FetchError>;

    /// Answers from a table; remembers every URL asked for.
    #[derive(Default)]
    struct FakeFetch {
        answers: HashMap<String, Answer>,
        asked: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Fetch for FakeFetch {
        async fn send(&self, request: Outbound) -> Result<Fetched, FetchError> {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push(request.url.clone());
            }
            let (status, body) = self
                .answers
                .get(&request.url)
                .cloned()
                .unwrap_or(Err(FetchError::Dns("unknown.test".into())))?;
            Ok(Fetched {
                status,
                headers: Default::default(),
                body: body.into_bytes(),
            })
        }
    }

    const ISSUER: &str = "https://idp.test";
    const JWKS: &str = r#"{"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"k1","e":"AQAB","n":"whN_Np4AHNDgB_3BE8vP3gGRSeHgP72BeXWKGO51Rs6P-_KqOlY3Q2st8qK_yWJ10ebZu2KwI3rmBxL58s23SX5jNfDl6thsPjzdXhXmVLX4shAL_ZKE79XvYV5LqrMLjwtDMvZh9JvVZ4W2OFvS9FvXl1uALy9U2wwTkHU-qLH-efOh5cQAVcPLCg6rC8G5eex9BIAnmljIPpzmUrJV3BxcE3k0ogOFYmKHnHXjpSsISVwNWizm2xokMJbgO9qWW8DZEmSKkRdfXDJkRk9Ft7b7ReRYJ_otiL1dzi9_kSU2nOyq-1n0LaOJ__JyPQLTJ5GZKPX1GC_Pt6L7rI8D4Q"}]}"#;

    fn discovery(issuer: &str) -> String {
        format!(
            r#"{{"issuer":"{issuer}","authorization_endpoint":"{ISSUER}/auth","token_endpoint":"{ISSUER}/token",
               "jwks_uri":"{ISSUER}/jwks","response_types_supported":["code"],
               "subject_types_supported":["public"],"id_token_signing_alg_values_supported":["RS256"]}}"#
        )
    }

    fn resolver(answers: &[(&str, Answer)]) -> (IdpResolver, Arc<FakeFetch>) {
        let fetch = Arc::new(FakeFetch {
            answers: answers
                .iter()
                .map(|(u, a)| (u.to_string(), a.clone()))
                .collect(),
            ..FakeFetch::default()
        });
        let oidc = OidcProviders::new(fetch.clone(), Arc::new(SystemClock));
        (
            IdpResolver {
                fetch: fetch.clone(),
                oidc,
                secrets: SecretBox::new([7; 32]),
            },
            fetch,
        )
    }

    fn oidc_source(url: &str) -> MetadataSource {
        MetadataSource::Oidc(OidcSource {
            discovery_url: url.into(),
            client_id: "gatehouse".into(),
            client_secret: Some("s3cret".into()),
        })
    }

    fn field_of(e: DomainError) -> String {
        match e {
            DomainError::Invalid(f) => f.field.to_string(),
            other => format!("not a field error: {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_oidc_idp_is_resolved_through_the_fetch_port() {
        let (idp, fetch) = resolver(&[
            (
                "https://idp.test/.well-known/openid-configuration",
                Ok((200, discovery(ISSUER))),
            ),
            ("https://idp.test/jwks", Ok((200, JWKS.to_string()))),
        ]);
        let resolved = idp.resolve_idp(&oidc_source(ISSUER), "conn_x", None).await;
        match resolved {
            Ok(IdpConfig::Oidc(cfg)) => {
                assert_eq!(cfg.issuer, ISSUER);
                assert_eq!(cfg.client_id, "gatehouse");
                assert_ne!(cfg.client_secret_sealed, "s3cret", "the secret is sealed");
            }
            other => panic!("{other:?}"),
        }
        let asked = fetch.asked.lock().map(|a| a.clone()).unwrap_or_default();
        assert_eq!(
            asked,
            [
                "https://idp.test/.well-known/openid-configuration",
                "https://idp.test/jwks"
            ]
        );
    }

    #[tokio::test]
    async fn an_idp_naming_another_issuer_is_refused() {
        let (idp, _) = resolver(&[
            (
                "https://idp.test/.well-known/openid-configuration",
                Ok((200, discovery("https://evil.test"))),
            ),
            ("https://idp.test/jwks", Ok((200, JWKS.to_string()))),
        ]);
        let e = idp
            .resolve_idp(&oidc_source(ISSUER), "conn_x", None)
            .await
            .err()
            .map(field_of);
        assert_eq!(e.as_deref(), Some("oidc_discovery_url"));
    }

    #[tokio::test]
    async fn metadata_url_failures_name_the_field() {
        let (idp, _) = resolver(&[
            ("https://idp.test/missing", Ok((404, String::new()))),
            ("https://idp.test/html", Ok((200, "<html></html>".into()))),
            (
                "https://idp.test/private",
                Err(FetchError::PrivateAddress([10, 0, 0, 1].into())),
            ),
        ]);
        for url in [
            "https://idp.test/missing",
            "https://idp.test/html",
            "https://idp.test/private",
            "https://idp.test/unknown",
        ] {
            let e = idp
                .resolve_idp(&MetadataSource::Url(url.into()), "conn_x", None)
                .await
                .err()
                .map(field_of);
            assert_eq!(e.as_deref(), Some("metadata_url"), "{url}");
        }
    }
}
