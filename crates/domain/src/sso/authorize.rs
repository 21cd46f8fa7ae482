//! `GET|POST /api/oauth/authorize` (RFC 6749 §4.1.1, OIDC Core §3.1.2).
//!
//! ```text
//!  app ──authorize──▶ Gatehouse ──AuthnRequest (Redirect, signed)──▶ IdP
//!                                                                    │ user signs in
//!  app ◀──303 redirect_uri?code&state── Gatehouse ◀──POST SAMLResponse (ACS)
//!  app ──POST /token (code, secret|PKCE)──▶ Gatehouse ──▶ access_token, id_token
//!  app ──GET /userinfo (Bearer)──▶ Gatehouse ──▶ profile
//! ```
//!
//! Until the client and its redirect URI are known to be valid, errors are shown
//! on an error page and the browser is never redirected (RFC 6749 §4.1.2.1). After
//! that, errors go back to the app's redirect URI with `error` and `state`.

use gatehouse_core::{ClientId, ProductId, RedirectUri};
use serde::Deserialize;

use crate::model::{Connection, IdpConfig, LoginPurpose, LoginTarget, PendingLogin, Product};
use crate::saml::request::{self, AuthnRequestParams};
use crate::sso::connections::effective_redirects;
use crate::sso::error::{LoginError, OAuthError};
use crate::sso::sign_in::SignIn;
use crate::sso::{pkce, relay_state};

/// The parameters an app sends (query or form; OAuth's and Jackson's names).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<ClientId>,
    pub redirect_uri: Option<RedirectUri>,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    /// Jackson's tenant/product form.
    pub tenant: Option<String>,
    pub product: Option<ProductId>,
    /// Jackson: pick one of several connections of a tenant by its client id.
    pub idp_hint: Option<String>,
    pub prompt: Option<String>,
}

/// Where the browser goes next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// 302 to the IdP (HTTP-Redirect binding).
    Redirect(String),
    /// An auto-submitting form to the IdP (HTTP-POST binding).
    PostForm {
        action: String,
        saml_request: String,
        relay_state: String,
    },
    /// Several connections serve this tenant: let the user pick one.
    ChooseIdp(Vec<IdpChoice>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpChoice {
    pub name: String,
    /// The same authorize request with `idp_hint` set.
    pub url: String,
}

#[derive(Debug)]
pub enum AuthorizeError {
    /// Show an error page; never redirect.
    Page(LoginError),
    /// Send the error back to the app.
    Redirect {
        redirect_uri: String,
        state: String,
        error: OAuthError,
    },
}

/// How the client identified itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientRef {
    /// A connection's own client id.
    Connection(String),
    /// Jackson's `tenant=…&product=…` form.
    TenantProduct { tenant: String, product: String },
}

impl ClientRef {
    /// Normalised client id (what codes and tokens are bound to and `aud` carries).
    pub fn client_id(&self) -> String {
        match self {
            ClientRef::Connection(id) => id.clone(),
            ClientRef::TenantProduct { tenant, product } => format!(
                "tenant={}&product={}",
                url::form_urlencoded::byte_serialize(tenant.as_bytes()).collect::<String>(),
                url::form_urlencoded::byte_serialize(product.as_bytes()).collect::<String>()
            ),
        }
    }

    /// Read `client_id` (either form) plus optional separate `tenant`/`product`.
    pub fn parse(
        client_id: Option<&str>,
        tenant: Option<&str>,
        product: Option<&str>,
    ) -> Option<Self> {
        let non_empty =
            |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(String::from);
        if let (Some(t), Some(p)) = (non_empty(tenant), non_empty(product)) {
            return Some(ClientRef::TenantProduct {
                tenant: t.to_lowercase(),
                product: p,
            });
        }
        let cid = non_empty(client_id)?;
        if cid.contains("tenant=") && cid.contains("product=") {
            let mut t = None;
            let mut p = None;
            for (k, v) in url::form_urlencoded::parse(cid.as_bytes()) {
                match k.as_ref() {
                    "tenant" => t = Some(v.trim().to_lowercase()),
                    "product" => p = Some(v.trim().to_string()),
                    _ => {}
                }
            }
            return match (t, p) {
                (Some(tenant), Some(product)) if !tenant.is_empty() && !product.is_empty() => {
                    Some(ClientRef::TenantProduct { tenant, product })
                }
                _ => None,
            };
        }
        Some(ClientRef::Connection(cid))
    }
}

impl SignIn {
    /// Resolve the client to its connection(s) and product.
    async fn authorize_target(
        &self,
        client: &ClientRef,
        idp_hint: Option<&str>,
    ) -> Result<(Product, Vec<Connection>), LoginError> {
        let not_found = || {
            LoginError::bad_request(
                "Unknown client",
                "client_id does not match any SSO connection",
            )
        };
        match client {
            ClientRef::Connection(id) => {
                let c = self
                    .store
                    .connection_for_login_by_client_id(id)
                    .await
                    .map_err(LoginError::internal)?
                    .ok_or_else(not_found)?;
                let product = self
                    .store
                    .product_for_login(&c.product_id)
                    .await
                    .map_err(LoginError::internal)?
                    .ok_or_else(not_found)?;
                Ok((product, vec![c]))
            }
            ClientRef::TenantProduct { tenant, product } => {
                let p = self
                    .store
                    .product_for_login(product)
                    .await
                    .map_err(LoginError::internal)?
                    .ok_or_else(|| LoginError::bad_request("Unknown product", "no such product"))?;
                let mut all = self
                    .store
                    .connections_for_tenant(&p.id, tenant)
                    .await
                    .map_err(LoginError::internal)?;
                if all.is_empty() {
                    return Err(LoginError::bad_request(
                        "No SSO connection",
                        format!("no SSO connection for tenant {tenant}"),
                    ));
                }
                if let Some(hint) = idp_hint {
                    all.retain(|c| c.client_id == hint);
                    if all.is_empty() {
                        return Err(not_found());
                    }
                }
                Ok((p, all))
            }
        }
    }

    pub async fn authorize(
        &self,
        params: AuthorizeParams,
        purpose: LoginPurpose,
    ) -> Result<AuthorizeOutcome, AuthorizeError> {
        let page = AuthorizeError::Page;
        let client = ClientRef::parse(
            params.client_id.as_ref().map(ClientId::as_str),
            params.tenant.as_deref(),
            params.product.as_ref().map(ProductId::as_str),
        )
        .ok_or_else(|| {
            page(LoginError::bad_request(
                "Missing client",
                "client_id (or tenant and product) is required",
            ))
        })?;
        let (product, connections) = self
            .authorize_target(&client, params.idp_hint.as_deref())
            .await
            .map_err(page)?;

        // The redirect URI must be registered: checked against every candidate
        // connection before anything else happens.
        let redirect_uri = params
            .redirect_uri
            .as_ref()
            .map(|r| r.as_str().trim().to_string())
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                page(LoginError::bad_request(
                    "Missing redirect_uri",
                    "redirect_uri is required",
                ))
            })?;
        let presented_id = client.client_id();
        let allowed = connections.iter().all(|c| {
            let (urls, _) = effective_redirects(c, &product, &presented_id);
            urls.contains(&redirect_uri)
        });
        if !allowed {
            return Err(page(LoginError::bad_request(
                "This redirect URL is not allowed",
                format!("redirect_uri {redirect_uri} is not in the allow-list of the connection"),
            )));
        }

        // From here on, errors go back to the app.
        let state = params.state.clone().unwrap_or_default();
        let back = |error: OAuthError| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            error,
        };
        if params.response_type.as_deref() != Some("code") {
            return Err(back(OAuthError::unsupported_response_type(
                "only response_type=code is supported",
            )));
        }
        if state.is_empty() {
            return Err(back(OAuthError::invalid_request("state is required")));
        }
        if state.len() > 2048 || params.nonce.as_deref().is_some_and(|n| n.len() > 512) {
            return Err(back(OAuthError::invalid_request(
                "state or nonce is too long",
            )));
        }
        let code_challenge = match (
            params.code_challenge.as_deref(),
            params.code_challenge_method.as_deref(),
        ) {
            (None, _) => None,
            (Some(c), Some("S256")) if pkce::valid_challenge(c) => Some(c.to_string()),
            (Some(_), Some("S256")) => {
                return Err(back(OAuthError::invalid_request(
                    "code_challenge must be a base64url SHA-256 (43 characters)",
                )))
            }
            (Some(_), _) => {
                return Err(back(OAuthError::invalid_request(
                    "code_challenge_method must be S256 (plain is not supported)",
                )))
            }
        };
        if matches!(client, ClientRef::TenantProduct { .. }) && code_challenge.is_none() {
            // allowed: the token endpoint will then require the product's client
            // secret verifier instead of PKCE
        }

        let enabled: Vec<Connection> = connections.into_iter().filter(|c| c.enabled).collect();
        let connection = match enabled.len() {
            0 => {
                return Err(back(OAuthError::access_denied(
                    "the SSO connection is disabled",
                )))
            }
            1 => enabled
                .into_iter()
                .next()
                .ok_or_else(|| back(OAuthError::server_error("no connection")))?,
            _ => {
                let choices = enabled
                    .iter()
                    .map(|c| IdpChoice {
                        name: c.name.clone(),
                        url: self.authorize_url_with_hint(&params, &c.client_id),
                    })
                    .collect();
                return Ok(AuthorizeOutcome::ChooseIdp(choices));
            }
        };

        let scope = params.scope.clone().unwrap_or_default();
        let now = self.clock.now();
        let pending = PendingLogin {
            id: request::new_request_id(),
            target: LoginTarget::Connection(connection.id.clone()),
            purpose,
            client_id: client.client_id(),
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            nonce: params.nonce.clone(),
            code_challenge,
            scope,
            idp_state: None,
            created_at: now,
            expires_at: now + self.settings.sso.pending_ttl,
        };
        self.start_idp_login(
            &product,
            &connection,
            &pending,
            params.prompt.as_deref() == Some("login"),
        )
        .await
        .map_err(|e| back(OAuthError::server_error(&e.detail)))
    }

    /// Store the pending login and build the request to the IdP.
    pub async fn start_idp_login(
        &self,
        product: &Product,
        connection: &Connection,
        pending: &PendingLogin,
        force_authn: bool,
    ) -> Result<AuthorizeOutcome, LoginError> {
        let saml = match &connection.idp {
            IdpConfig::Saml(saml) => saml,
            IdpConfig::Oidc(cfg) => {
                let (url, sealed) = self
                    .oidc_authorize_url(connection, cfg, pending, force_authn)
                    .await?;
                let pending = PendingLogin {
                    idp_state: Some(sealed),
                    ..pending.clone()
                };
                self.store
                    .create_pending_login(&pending)
                    .await
                    .map_err(LoginError::internal)?;
                return Ok(AuthorizeOutcome::Redirect(url));
            }
        };
        self.store
            .create_pending_login(pending)
            .await
            .map_err(LoginError::internal)?;
        let relay_state = relay_state::for_request(pending);
        let params = |destination: &str| AuthnRequestParams {
            id: pending.id.clone(),
            issue_instant: pending.created_at,
            destination: destination.to_string(),
            acs_url: self.settings.acs_url(),
            sp_entity_id: self.settings.sp_entity_id(&product.id),
            force_authn,
        };
        let keys = self.keys.current();
        let sp_key = keys
            .sp_signing(pending.created_at)
            .map_err(|e| LoginError::internal(e.to_string()))?;
        if let Some(url) = &saml.idp.sso_redirect_url {
            let to = request::redirect_url(&params(url), &relay_state, &sp_key.key)
                .map_err(|e| LoginError::internal(e.to_string()))?;
            Ok(AuthorizeOutcome::Redirect(to))
        } else if let Some(url) = &saml.idp.sso_post_url {
            let saml_request = request::post_request(&params(url), &sp_key.key_der)
                .map_err(|e| LoginError::internal(e.to_string()))?;
            Ok(AuthorizeOutcome::PostForm {
                action: url.clone(),
                saml_request,
                relay_state,
            })
        } else {
            Err(LoginError::internal("connection has no SSO endpoint"))
        }
    }

    fn authorize_url_with_hint(&self, params: &AuthorizeParams, hint: &str) -> String {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        let mut put = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                q.append_pair(k, v);
            }
        };
        put("response_type", params.response_type.as_deref());
        put("client_id", params.client_id.as_ref().map(ClientId::as_str));
        put(
            "redirect_uri",
            params.redirect_uri.as_ref().map(RedirectUri::as_str),
        );
        put("state", params.state.as_deref());
        put("scope", params.scope.as_deref());
        put("nonce", params.nonce.as_deref());
        put("code_challenge", params.code_challenge.as_deref());
        put(
            "code_challenge_method",
            params.code_challenge_method.as_deref(),
        );
        put("tenant", params.tenant.as_deref());
        put("product", params.product.as_ref().map(ProductId::as_str));
        put("idp_hint", Some(hint));
        format!(
            "{}?{}",
            self.settings.public_url("/api/oauth/authorize"),
            q.finish()
        )
    }
}
