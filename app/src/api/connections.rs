// A server function takes one argument per form field.
#![allow(clippy::too_many_arguments)]
use gatehouse_core::views as v;
use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "connections/list")]
pub async fn list_connections(
    team: String,
    product: String,
) -> Result<Vec<v::ConnectionSummary>, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .list_connections(&user_id, &team, &product)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/get")]
pub async fn get_connection(
    team: String,
    product: String,
    connection: String,
) -> Result<v::ConnectionDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .connection_view(&user_id, &team, &product, &connection)
        .await?)
}

/// The OIDC fields of the connection form.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct OidcFields {
    pub oidc_discovery_url: Option<String>,
    pub oidc_client_id: Option<String>,
    pub oidc_client_secret: Option<String>,
}

/// The email-domain fields of the connection form: `email_domains` is present
/// whenever the form has that section (an unticked checkbox is then "no").
#[derive(Debug, Clone, Default)]
pub struct EmailDomainFields {
    pub email_domains: Option<String>,
    pub accept_any_email_domain: Option<String>,
}

/// The connection form, as posted. `metadata_source` is `xml`, `file`, `url` or
/// `oidc` (an OpenID Connect IdP: the `oidc_*` fields).
#[cfg(feature = "ssr")]
fn input(
    tenant: String,
    name: String,
    description: String,
    metadata_source: String,
    metadata_xml: String,
    metadata_url: String,
    redirect_urls: String,
    default_redirect_url: String,
    allow_idp_initiated: Option<String>,
    oidc: OidcFields,
    emails: EmailDomainFields,
    require_metadata: bool,
) -> Result<gatehouse_domain::sso::connections::ConnectionInput, AppError> {
    use gatehouse_core::FieldError;
    use gatehouse_domain::sso::connections::{ConnectionInput, MetadataSource, OidcSource};
    let metadata = match metadata_source.as_str() {
        "oidc" => Some(MetadataSource::Oidc(OidcSource {
            discovery_url: oidc.oidc_discovery_url.unwrap_or_default(),
            client_id: oidc.oidc_client_id.unwrap_or_default(),
            client_secret: oidc.oidc_client_secret,
        })),
        "url" if !metadata_url.trim().is_empty() => Some(MetadataSource::Url(metadata_url)),
        "url" if require_metadata => {
            return Err(FieldError::new("metadata_url", "Enter the metadata URL.").into())
        }
        "xml" | "file" if !metadata_xml.trim().is_empty() => {
            Some(MetadataSource::Xml(metadata_xml))
        }
        "xml" | "file" if require_metadata => {
            return Err(FieldError::new(
                "metadata",
                "Paste the IdP metadata XML or upload the file.",
            )
            .into())
        }
        _ => None,
    };
    Ok(ConnectionInput {
        tenant,
        name,
        description,
        metadata,
        redirect_urls: redirect_urls.lines().map(str::to_string).collect(),
        default_redirect_url,
        allow_idp_initiated: allow_idp_initiated.is_some_and(|v| v == "on" || v == "true"),
        accept_any_email_domain: emails.email_domains.as_ref().map(|_| {
            emails
                .accept_any_email_domain
                .is_some_and(|v| v == "on" || v == "true")
        }),
        email_domains: emails.email_domains.map(|d| vec![d]),
    })
}

#[server(prefix = "/rpc", endpoint = "connections/create")]
pub async fn create_connection(
    team: String,
    product: String,
    tenant: String,
    name: String,
    description: String,
    metadata_source: String,
    metadata_xml: String,
    metadata_url: String,
    redirect_urls: String,
    default_redirect_url: String,
    allow_idp_initiated: Option<String>,
    oidc_discovery_url: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    connection_id: Option<String>,
    email_domains: Option<String>,
    accept_any_email_domain: Option<String>,
) -> Result<v::ConnectionCredentials, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    let input = input(
        tenant,
        name,
        description,
        metadata_source,
        metadata_xml,
        metadata_url,
        redirect_urls,
        default_redirect_url,
        allow_idp_initiated,
        OidcFields {
            oidc_discovery_url,
            oidc_client_id,
            oidc_client_secret,
        },
        EmailDomainFields {
            email_domains,
            accept_any_email_domain,
        },
        true,
    )?;
    Ok(ssr::services()?
        .dashboard_create_connection(&user_id, &team, &product, input, connection_id.as_deref())
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/update")]
pub async fn update_connection(
    team: String,
    product: String,
    connection: String,
    tenant: String,
    name: String,
    description: String,
    metadata_source: String,
    metadata_xml: String,
    metadata_url: String,
    redirect_urls: String,
    default_redirect_url: String,
    allow_idp_initiated: Option<String>,
    oidc_discovery_url: Option<String>,
    oidc_client_id: Option<String>,
    oidc_client_secret: Option<String>,
    email_domains: Option<String>,
    accept_any_email_domain: Option<String>,
) -> Result<v::ConnectionDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    let input = input(
        tenant,
        name,
        description,
        metadata_source,
        metadata_xml,
        metadata_url,
        redirect_urls,
        default_redirect_url,
        allow_idp_initiated,
        OidcFields {
            oidc_discovery_url,
            oidc_client_id,
            oidc_client_secret,
        },
        EmailDomainFields {
            email_domains,
            accept_any_email_domain,
        },
        false,
    )?;
    Ok(ssr::services()?
        .dashboard_update_connection(&user_id, &team, &product, &connection, input)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/set-enabled")]
pub async fn set_connection_enabled(
    team: String,
    product: String,
    connection: String,
    enabled: bool,
) -> Result<v::ConnectionDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .dashboard_set_connection_enabled(&user_id, &team, &product, &connection, enabled)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/rotate-secret")]
pub async fn rotate_connection_secret(
    team: String,
    product: String,
    connection: String,
) -> Result<v::ConnectionCredentials, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .dashboard_rotate_connection_secret(&user_id, &team, &product, &connection)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "connections/delete")]
pub async fn delete_connection(
    team: String,
    product: String,
    connection: String,
) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    ssr::services()?
        .dashboard_delete_connection(&user_id, &team, &product, &connection)
        .await?;
    leptos_axum::redirect(&format!("/teams/{team}/products/{product}/connections"));
    Ok(())
}

/// "Retry now": sync the connection with Ory at once.
#[server(prefix = "/rpc", endpoint = "connections/ory-retry")]
pub async fn retry_ory_sync(
    team: String,
    product: String,
    connection: String,
) -> Result<v::ConnectionDetail, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .dashboard_retry_ory_sync(&user_id, &team, &product, &connection)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "products/oauth")]
pub async fn product_oauth(team: String, product: String) -> Result<v::ProductOAuth, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .product_oauth(&user_id, &team, &product)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "products/rotate-verifier")]
pub async fn rotate_secret_verifier(team: String, product: String) -> Result<String, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .dashboard_rotate_secret_verifier(&user_id, &team, &product)
        .await?)
}
