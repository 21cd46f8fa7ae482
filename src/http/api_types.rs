//! The admin API's request and response bodies, with SAML Jackson's field names.
//! The OpenAPI document ([`super::openapi`]) is generated from these types.

use gatehouse_core::connection_form::ConnectionForm;
use gatehouse_core::views::SetupLinkView;
use gatehouse_core::{ClientId, ProductId, SetupLinkId, Tenant};
use gatehouse_domain::model::{Connection, IdpConfig};
use gatehouse_domain::Services;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

/// `PATCH /api/v1/sso`: the connection's `clientID` and `clientSecret` identify it;
/// the other fields are those of a new connection, and absent ones keep their value.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ConnectionPatch {
    #[serde(rename = "clientID")]
    pub client_id: Option<String>,
    #[serde(rename = "clientSecret")]
    pub client_secret: Option<String>,
    /// Turn the connection off (`true`) or on (`false`).
    pub deactivated: Option<gatehouse_core::connection_form::Flag>,
    #[serde(flatten)]
    pub form: ConnectionForm,
}

/// Which connections: by `clientID`, or all of a `tenant` of a `product`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConnectionQuery {
    #[serde(rename = "clientID")]
    #[param(rename = "clientID")]
    #[param(value_type = Option<String>)]
    pub client_id: Option<ClientId>,
    /// With `clientID`, on `DELETE`: the connection's client secret.
    #[serde(rename = "clientSecret")]
    #[param(rename = "clientSecret")]
    pub client_secret: Option<String>,
    #[param(value_type = Option<String>, example = "acme.com")]
    pub tenant: Option<Tenant>,
    /// The API key's product id.
    #[param(value_type = Option<String>)]
    pub product: Option<ProductId>,
}

/// An SSO connection as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionView {
    pub id: String,
    #[serde(rename = "clientID")]
    pub client_id: String,
    /// Only in the answer to `POST` (it is stored hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub tenant: String,
    pub product: String,
    pub name: String,
    pub description: String,
    pub redirect_url: Vec<String>,
    pub default_redirect_url: Option<String>,
    pub deactivated: bool,
    pub allow_idp_initiated: bool,
    pub email_domains: Vec<String>,
    pub accept_any_email_domain: bool,
    pub sp: SpView,
    /// SAML connections created from a metadata URL.
    pub metadata_url: Option<String>,
    /// SAML connections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idp_metadata: Option<IdpMetadataView>,
    /// OIDC connections (without the client secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_provider: Option<OidcProviderView>,
    pub created_at: String,
    pub updated_at: String,
}

/// Gatehouse as the SAML service provider of a connection.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SpView {
    pub acs_url: String,
    pub entity_id: String,
    pub metadata_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdpMetadataView {
    #[serde(rename = "entityID")]
    pub entity_id: String,
    pub sso: SsoUrls,
    pub valid_to: Option<String>,
    pub thumbprint: Option<String>,
    pub certificates: Vec<CertificateView>,
    pub login_type: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SsoUrls {
    pub redirect_url: Option<String>,
    pub post_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateView {
    pub subject: String,
    pub valid_to: String,
    pub sha256: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcProviderView {
    /// The issuer.
    pub provider: String,
    pub discovery_url: String,
    pub client_id: String,
    /// Where the IdP sends users back: register it there.
    pub redirect_url: String,
}

impl ConnectionView {
    pub fn new(services: &Services, c: &Connection, secret: Option<&str>) -> Self {
        let settings = services.settings();
        let (metadata_url, idp_metadata, oidc_provider) = match &c.idp {
            IdpConfig::Saml(saml) => {
                let first = saml.idp.certificates.first();
                let view = IdpMetadataView {
                    entity_id: saml.idp.entity_id.clone(),
                    sso: SsoUrls {
                        redirect_url: saml.idp.sso_redirect_url.clone(),
                        post_url: saml.idp.sso_post_url.clone(),
                    },
                    valid_to: first.map(|c| c.not_after.to_rfc3339()),
                    thumbprint: first.map(|c| c.sha256.clone()),
                    certificates: saml
                        .idp
                        .certificates
                        .iter()
                        .map(|cert| CertificateView {
                            subject: cert.subject.clone(),
                            valid_to: cert.not_after.to_rfc3339(),
                            sha256: cert.sha256.clone(),
                        })
                        .collect(),
                    login_type: "idp".into(),
                };
                (saml.metadata_url.clone(), Some(view), None)
            }
            IdpConfig::Oidc(oidc) => (
                None,
                None,
                Some(OidcProviderView {
                    provider: oidc.issuer.clone(),
                    discovery_url: oidc.discovery_url.clone(),
                    client_id: oidc.client_id.clone(),
                    redirect_url: settings.oidc_callback_url(c.oidc_redirect_key()),
                }),
            ),
        };
        Self {
            id: c.id.clone(),
            client_id: c.client_id.clone(),
            client_secret: secret.map(str::to_string),
            tenant: c.tenant.clone(),
            product: c.product_id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            redirect_url: c.redirect_urls.clone(),
            default_redirect_url: c.default_redirect_url.clone(),
            deactivated: !c.enabled,
            allow_idp_initiated: c.allow_idp_initiated,
            email_domains: c.email_domains.clone(),
            accept_any_email_domain: c.accept_any_email_domain,
            sp: SpView {
                acs_url: settings.acs_url(),
                entity_id: settings.sp_entity_id(&c.product_id),
                metadata_url: settings.sp_metadata_url(&c.product_id),
            },
            metadata_url,
            idp_metadata,
            oidc_provider,
            created_at: c.created_at.to_rfc3339(),
            updated_at: c.updated_at.to_rfc3339(),
        }
    }
}

/// `POST /api/v1/sso/setuplinks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupLinkForm {
    #[schema(value_type = Option<String>, example = "acme.com")]
    pub tenant: Option<Tenant>,
    /// The API key's product id.
    #[schema(value_type = Option<String>)]
    pub product: Option<ProductId>,
    pub name: Option<String>,
    /// Only `sso`.
    pub service: Option<String>,
    /// Days until the link expires, 1 to 30 (default 3).
    #[serde(default, deserialize_with = "number_or_text")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 30)]
    pub expiry_days: Option<String>,
}

/// A number as JSON sends it, or the same as text (a form).
fn number_or_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    Ok(Option::<Raw>::deserialize(d)?.map(|raw| match raw {
        Raw::Number(n) => n.to_string(),
        Raw::Text(t) => t,
    }))
}

/// `GET /api/v1/sso/setuplinks`: one link, or the product's (of one tenant).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SetupLinkQuery {
    #[serde(rename = "setupID")]
    #[param(rename = "setupID")]
    #[param(value_type = Option<String>)]
    pub setup_id: Option<SetupLinkId>,
    #[param(value_type = Option<String>)]
    pub tenant: Option<Tenant>,
    /// The API key's product id (required without `setupID`).
    #[param(value_type = Option<String>)]
    pub product: Option<ProductId>,
}

/// `DELETE /api/v1/sso/setuplinks`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SetupLinkDeleteQuery {
    #[serde(rename = "setupID")]
    #[param(rename = "setupID", required = true, value_type = Option<String>)]
    pub setup_id: Option<SetupLinkId>,
}

/// A setup link as the admin API shows it (times in milliseconds since 1970).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetupLinkData {
    #[serde(rename = "setupID")]
    pub setup_id: String,
    pub tenant: String,
    pub product: String,
    pub name: String,
    pub service: String,
    pub valid_till: i64,
    /// `active`, `expired` or `revoked`.
    pub status: String,
    pub created_at: i64,
    pub used_at: Option<i64>,
    /// The link to give the customer's IT admin; only in the answer to `POST`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl SetupLinkData {
    pub fn new(product_id: &str, l: &SetupLinkView, url: Option<&str>) -> Self {
        Self {
            setup_id: l.id.clone(),
            tenant: l.tenant.clone(),
            product: product_id.to_string(),
            name: l.name.clone(),
            service: "sso".into(),
            valid_till: l.expires_at.timestamp_millis(),
            status: l.status.clone(),
            created_at: l.created_at.timestamp_millis(),
            used_at: l.used_at.map(|t| t.timestamp_millis()),
            url: url.map(str::to_string),
        }
    }
}

/// `GET /api/v1/sso/setuplinks`: one link (by `setupID`) or a list.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum SetupLinks {
    One(SetupLinkData),
    Many(Vec<SetupLinkData>),
}

/// `{"data": …}`, as Jackson answers for setup links.
#[derive(Debug, Serialize, ToSchema)]
pub struct Data<T> {
    pub data: T,
}

/// `{}`: nothing to say.
#[derive(Debug, Serialize, ToSchema)]
pub struct Empty {}

/// Every admin API error: `{"error": {"message", "field"?, "reference"?}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiError {
    pub error: ApiErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorDetail {
    pub message: String,
    /// The request field that is wrong (invalid input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The id a server-side failure was logged under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}
