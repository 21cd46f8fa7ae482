//! Sign-in through an OIDC IdP, with Gatehouse as its relying party.
//!
//! ```text
//!  app ──authorize──▶ Gatehouse ──302 authorization_endpoint (code, PKCE S256, nonce, state)──▶ IdP
//!  app ◀──303 code── Gatehouse ◀──GET /api/oauth/oidc?code&state── IdP (user signed in)
//!                    Gatehouse ──POST token_endpoint (code, verifier, client secret)──▶ IdP
//!                    id_token checked: signature by the IdP's JWKS, iss, aud, exp, nonce;
//!                    userinfo merged (same sub) → the same profile a SAML login gives
//! ```
//!
//! `state` is the pending login's id; the PKCE verifier and the nonce are stored with
//! it, sealed. The pending login is consumed with the code in one transaction, so a
//! replayed `state` finds nothing. A test login (dashboard or setup link) ends on the
//! test result page instead, success or failure.

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreIdTokenVerifier,
    CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AccessTokenHash, AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Connection, IdpConfig, LoginPurpose, OidcIdpConfig, PendingLogin};
use crate::oidc::client_secret_context;
use crate::oidc::provider::ProviderError;
use crate::outbound::{FetchError, Outbound};
use crate::sso::acs::{Accepted, AcsOutcome};
use crate::sso::error::{ErrorKind, FailureReason, LoginError};
use crate::sso::profile::Profile;
use crate::sso::sign_in::SignIn;
use crate::sso::trace::{redact_json, IdpResponse, TraceDraft};
use crate::tokens::hex;
use gatehouse_core::traces::SignInKind;

fn pending_context(pending_id: &str) -> String {
    format!("pending-oidc:{pending_id}")
}

/// What the IdP sends back to `/api/oauth/oidc`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct OidcCallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207: when present it must be the IdP's issuer.
    pub iss: Option<String>,
}

/// Kept with the pending login until the IdP answers.
#[derive(Serialize, Deserialize)]
struct Upstream {
    verifier: String,
    nonce: String,
}

/// Claims about the token itself, not the user: left out of the profile.
const PROTOCOL_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "nonce",
    "at_hash",
    "c_hash",
    "s_hash",
    "auth_time",
    "azp",
    "sid",
    "jti",
    "acr",
    "amr",
];

/// Signature algorithms accepted on id_tokens: RSA (PKCS#1 v1.5 and PSS) and ECDSA
/// with SHA-256 or more. Never `none`, never an HMAC keyed with the client secret.
const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 8] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
];

fn provider_failure(e: ProviderError) -> LoginError {
    LoginError {
        kind: ErrorKind::Upstream,
        title: "Your identity provider could not be reached".into(),
        detail: e.to_string(),
        connection_id: None,
        shown: None,
        reason: FailureReason::IdpUnreachable,
    }
}

fn invalid_id_token(detail: impl Into<String>) -> LoginError {
    LoginError::rejected(detail).because(FailureReason::IdTokenInvalid)
}

fn idp_refused(detail: String, shown: String) -> LoginError {
    LoginError {
        kind: ErrorKind::Forbidden,
        title: "Your identity provider refused the sign-in".into(),
        detail,
        connection_id: None,
        shown: Some(shown),
        reason: FailureReason::IdpError,
    }
}

/// How Gatehouse authenticates at the token endpoint: `client_secret_basic` unless
/// the IdP lists only `client_secret_post`.
fn auth_type(metadata: &CoreProviderMetadata) -> AuthType {
    match metadata.token_endpoint_auth_methods_supported() {
        Some(methods)
            if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
        {
            AuthType::RequestBody
        }
        _ => AuthType::BasicAuth,
    }
}

/// The claims of a JWT whose signature was already checked.
fn jwt_claims(jwt: &str) -> Option<Map<String, Value>> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

impl SignIn {
    /// The HTTP client the openidconnect crate uses: every request goes through the
    /// same guard as metadata URLs.
    fn oidc_http(
        &self,
    ) -> impl Fn(
        openidconnect::HttpRequest,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<openidconnect::HttpResponse, FetchError>>
                + Send,
        >,
    > {
        let fetch = self.fetch.clone();
        move |request: openidconnect::HttpRequest| {
            let fetch = fetch.clone();
            Box::pin(async move {
                let (parts, body) = request.into_parts();
                let outbound = Outbound {
                    method: parts.method,
                    url: parts.uri.to_string(),
                    headers: parts
                        .headers
                        .iter()
                        .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
                        .collect(),
                    body,
                };
                let fetched = fetch.send(outbound).await?;
                let mut response = http::Response::builder().status(fetched.status);
                for (k, v) in fetched.headers.iter() {
                    response = response.header(k, v);
                }
                response
                    .body(fetched.body)
                    .map_err(|e| FetchError::Http(e.to_string()))
            })
        }
    }

    /// The authorization request to the IdP for `pending`; returns the URL and the
    /// sealed state to store with the pending login.
    pub(crate) async fn oidc_authorize_url(
        &self,
        connection: &Connection,
        cfg: &OidcIdpConfig,
        pending: &PendingLogin,
        force_authn: bool,
    ) -> Result<(String, String), LoginError> {
        let metadata = self
            .oidc
            .discovery(&cfg.discovery_url, &cfg.issuer, false)
            .await
            .map_err(provider_failure)?;
        let wanted: Vec<&str> = ["email", "profile"]
            .into_iter()
            .filter(|s| {
                metadata
                    .scopes_supported()
                    .is_none_or(|all| all.iter().any(|x| x.as_str() == *s))
            })
            .collect();
        let client = CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(cfg.client_id.clone()),
            None,
        )
        .set_redirect_uri(
            RedirectUrl::new(
                self.settings
                    .oidc_callback_url(connection.oidc_redirect_key()),
            )
            .map_err(LoginError::internal)?,
        );
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = Nonce::new_random();
        let state = pending.id.clone();
        let sent_nonce = nonce.clone();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || sent_nonce,
            )
            .set_pkce_challenge(challenge);
        for scope in wanted {
            request = request.add_scope(Scope::new(scope.to_string()));
        }
        if force_authn {
            request = request.add_prompt(CoreAuthPrompt::Login);
        }
        let (url, _, _) = request.url();
        let upstream = serde_json::to_string(&Upstream {
            verifier: verifier.secret().clone(),
            nonce: nonce.secret().clone(),
        })
        .map_err(LoginError::internal)?;
        let sealed = self
            .secrets
            .seal_str(&pending_context(&pending.id), &SecretString::from(upstream))
            .map_err(LoginError::internal)?;
        Ok((url.to_string(), sealed))
    }

    /// `GET /api/oauth/oidc/{key}`: `key` is the redirect key of the connection the
    /// answer came back for (`None`: the bare path, which no connection uses).
    pub async fn oidc_callback(
        &self,
        key: Option<&str>,
        params: OidcCallbackParams,
    ) -> Result<AcsOutcome, LoginError> {
        let response = if self.traces.is_on() {
            let callback = redact_json(serde_json::json!({
                "code": params.code.as_ref().map(|_| "[redacted]"),
                "state": params.state.clone(),
                "error": params.error.clone(),
                "error_description": params.error_description.clone(),
                "iss": params.iss.clone(),
            }));
            serde_json::json!({ "callback": callback })
        } else {
            serde_json::Value::Null
        };
        let mut trace = TraceDraft::new(SignInKind::Oidc, IdpResponse::Oidc(response));
        let result = self.oidc_callback_traced(&mut trace, key, params).await;
        self.traces.record(trace, &result, self.clock.now());
        result
    }

    async fn oidc_callback_traced(
        &self,
        trace: &mut TraceDraft,
        key: Option<&str>,
        params: OidcCallbackParams,
    ) -> Result<AcsOutcome, LoginError> {
        let now = self.clock.now();
        let pending = match params
            .state
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(state) => self
                .store
                .pending_login(state, now)
                .await
                .map_err(LoginError::internal)?,
            None => None,
        };
        let Some(pending) = pending else {
            // The redirect key names the connection the answer came back for: enough
            // to trace the failure on it.
            if let Some(key) = key {
                if let Ok(Some(c)) = self.store.connection_for_login(key).await {
                    trace.connection(&c);
                }
            }
            return Err(
                if params
                    .state
                    .as_deref()
                    .is_some_and(|s| !s.trim().is_empty())
                {
                    LoginError::rejected("the state is unknown, expired or was already used")
                        .because(FailureReason::OidcStateUnknown)
                        .titled("This sign-in link has expired. Start again from the application.")
                } else {
                    LoginError::bad_request(
                        "Invalid sign-in response",
                        "the identity provider's answer has no state",
                    )
                    .because(FailureReason::OidcStateUnknown)
                },
            );
        };
        let connection = self.login_connection(&pending).await?;
        trace.pending(&pending, &connection);
        let accepted = match self.check_callback_target(&connection, key) {
            Ok(()) => {
                self.oidc_accept(trace, &connection, &pending, &params)
                    .await
            }
            Err(e) => Err(e),
        }
        .map_err(|e| e.on(&connection.id));
        match (accepted, &pending.purpose) {
            (Ok(a), _) => self.finish(&connection, Some(&pending), a).await,
            (Err(e), LoginPurpose::Test { owner }) => {
                trace.failed(&e);
                self.save_failed_test(&pending.target, owner, &e).await
            }
            (Err(e), LoginPurpose::App) => Err(e),
        }
    }

    /// The answer must come back to the redirect URI of the connection the sign-in
    /// was sent to: an IdP that sends another connection's user to its own redirect
    /// URI (or the victim's IdP's code to the attacker's) gets nothing.
    fn check_callback_target(
        &self,
        connection: &Connection,
        key: Option<&str>,
    ) -> Result<(), LoginError> {
        let expected = connection.oidc_redirect_key();
        if key == Some(expected) {
            return Ok(());
        }
        let expected_url = self.settings.oidc_callback_url(expected);
        Err(LoginError::rejected(match key {
            Some(_) => format!(
                "the answer came back to another connection's redirect URI; this connection's is {expected_url} (possible mix-up attack)"
            ),
            None => format!(
                "the identity provider sent the user back to {}; register this connection's redirect URI {expected_url} with it instead",
                self.settings.public_url(crate::settings::OIDC_CALLBACK_PATH)
            ),
        })
        .because(FailureReason::OidcCallbackMismatch))
    }

    async fn oidc_accept(
        &self,
        trace: &mut TraceDraft,
        connection: &Connection,
        pending: &PendingLogin,
        params: &OidcCallbackParams,
    ) -> Result<Accepted, LoginError> {
        let IdpConfig::Oidc(cfg) = &connection.idp else {
            return Err(LoginError::rejected(
                "an OpenID Connect answer arrived for a sign-in sent to a SAML IdP",
            )
            .because(FailureReason::WrongProtocol));
        };
        if let Some(error) = params.error.as_deref().filter(|e| !e.is_empty()) {
            let description = params.error_description.clone().unwrap_or_default();
            let words = if description.is_empty() {
                error.to_string()
            } else {
                format!("{error}: {description}")
            };
            return Err(idp_refused(format!("the IdP answered {words}"), words));
        }
        if let Some(iss) = params.iss.as_deref() {
            if iss != cfg.issuer {
                return Err(LoginError::rejected(format!(
                    "the answer names issuer {iss}, not {} (RFC 9207)",
                    cfg.issuer
                ))
                .because(FailureReason::OidcCallbackMismatch));
            }
        }
        let code = params
            .code
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                LoginError::bad_request(
                    "Invalid sign-in response",
                    "the identity provider's answer has no code",
                )
            })?;
        let upstream: Upstream = pending
            .idp_state
            .as_deref()
            .and_then(|sealed| {
                self.secrets
                    .open_str(&pending_context(&pending.id), sealed)
                    .ok()
            })
            .and_then(|s| serde_json::from_str(s.expose_secret()).ok())
            .ok_or_else(|| LoginError::internal("the pending sign-in has no OIDC state"))?;
        let secret = self
            .secrets
            .open_str(
                &client_secret_context(&connection.id),
                &cfg.client_secret_sealed,
            )
            .map_err(LoginError::internal)?;

        let (metadata, sends_iss) = self.oidc.provider(cfg).await.map_err(provider_failure)?;
        if sends_iss && params.iss.is_none() {
            return Err(LoginError::rejected(format!(
                "the answer has no iss, though {} says it always sends one (RFC 9207)",
                cfg.issuer
            ))
            .because(FailureReason::OidcCallbackMismatch));
        }
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(cfg.client_id.clone()),
            Some(ClientSecret::new(secret.expose_secret().to_string())),
        )
        .set_redirect_uri(
            RedirectUrl::new(
                self.settings
                    .oidc_callback_url(connection.oidc_redirect_key()),
            )
            .map_err(LoginError::internal)?,
        )
        .set_auth_type(auth_type(&metadata));
        let http = self.oidc_http();
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(LoginError::internal)?
            .set_pkce_verifier(PkceCodeVerifier::new(upstream.verifier))
            .request_async(&http)
            .await
            .map_err(|e| {
                let detail = match &e {
                    openidconnect::RequestTokenError::ServerResponse(r) => format!(
                        "the token endpoint refused the code: {}{}",
                        r.error(),
                        r.error_description()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    ),
                    other => format!("the token endpoint failed: {other}"),
                };
                LoginError::rejected(detail).because(FailureReason::OidcTokenExchangeFailed)
            })?;
        let id_token = tokens.id_token().ok_or_else(|| {
            LoginError::rejected("the IdP's token response has no id_token")
                .because(FailureReason::IdTokenInvalid)
        })?;

        // Verify with the keys we have; an unknown key id means the IdP rotated its
        // keys: fetch them again (the cache limits how often) and retry once.
        let nonce = Nonce::new(upstream.nonce);
        let now = self.clock.now();
        let skew = self.settings.sso.clock_skew;
        let verifier_for = |keys| {
            CoreIdTokenVerifier::new_public_client(
                ClientId::new(cfg.client_id.clone()),
                metadata.issuer().clone(),
                keys,
            )
            .set_allowed_algs(ALLOWED_ALGS)
            .set_time_fn(move || now - skew)
            .set_issue_time_verifier_fn(move |iat| {
                if iat > now + skew {
                    Err(format!("issued in the future ({iat})"))
                } else {
                    Ok(())
                }
            })
        };
        let mut verifier = verifier_for(metadata.jwks().clone());
        let mut verified = id_token.claims(&verifier, &nonce).cloned();
        if matches!(
            verified,
            Err(
                openidconnect::ClaimsVerificationError::SignatureVerification(
                    openidconnect::SignatureVerificationError::NoMatchingKey
                )
            )
        ) {
            let keys = self
                .oidc
                .keys(&metadata, true)
                .await
                .map_err(provider_failure)?;
            verifier = verifier_for(keys);
            verified = id_token.claims(&verifier, &nonce).cloned();
        }
        let claims = verified.map_err(|e| {
            LoginError::rejected(format!(
                "the id_token is not valid: {}",
                crate::error::chain(&e)
            ))
            .because(FailureReason::IdTokenInvalid)
        })?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| invalid_id_token(format!("the id_token is not valid: {e}")))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| invalid_id_token(format!("the id_token is not valid: {e}")))?;
            let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key)
                .map_err(|e| invalid_id_token(format!("at_hash: {e}")))?;
            if actual != *expected {
                return Err(invalid_id_token(
                    "the id_token's at_hash does not match the access token",
                ));
            }
        }

        let jwt = serde_json::to_value(id_token)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let mut merged = jwt_claims(&jwt)
            .ok_or_else(|| invalid_id_token("the id_token payload is not a JSON object"))?;
        trace.add_oidc("id_token_claims", || Value::Object(merged.clone()));
        let sub = claims.subject().as_str().to_string();
        trace.subject(&sub);
        if let Some(url) = metadata.userinfo_endpoint() {
            match self
                .oidc_userinfo(url.url().as_str(), tokens.access_token().secret())
                .await
            {
                Ok(info) => {
                    trace.add_oidc("userinfo", || Value::Object(info.clone()));
                    if info.get("sub").and_then(Value::as_str) != Some(sub.as_str()) {
                        return Err(LoginError::rejected(
                            "userinfo describes another subject than the id_token",
                        ));
                    }
                    for (k, v) in info {
                        merged.insert(k, v);
                    }
                }
                Err(e) => {
                    tracing::warn!(connection_id = %connection.id, error = %e, "userinfo unavailable; using the id_token's claims");
                }
            }
        }
        for k in PROTOCOL_CLAIMS {
            merged.remove(*k);
        }
        let profile = Profile::from_oidc(&connection.product_id, &connection.tenant, &sub, &merged);
        let digest = openssl::sha::sha256(jwt.as_bytes());
        let accepted = Accepted::admit(
            connection,
            profile,
            format!("oidc:{}", hex(&digest[..20])),
            claims.expiration() + skew,
        )?;
        trace.accepted(&accepted.profile);
        Ok(accepted)
    }

    /// Userinfo as JSON (a signed or encrypted userinfo JWT is not merged).
    async fn oidc_userinfo(
        &self,
        url: &str,
        access_token: &str,
    ) -> Result<Map<String, Value>, String> {
        let mut request = Outbound::get(url);
        request
            .headers
            .push(("authorization".into(), format!("Bearer {access_token}")));
        request
            .headers
            .push(("accept".into(), "application/json".into()));
        let fetched = self.fetch.send(request).await.map_err(|e| e.to_string())?;
        if fetched.status != 200 {
            return Err(format!("userinfo answered {}", fetched.status));
        }
        match serde_json::from_slice(&fetched.body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err("userinfo is not a JSON object".into()),
        }
    }
}
