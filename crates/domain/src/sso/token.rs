//! `POST /api/oauth/token` (RFC 6749 §4.1.3, §5) and `GET /api/oauth/userinfo`
//! (OIDC Core §5.3).
//!
//! Rules (each has a negative test): client authenticated by `client_secret_basic`
//! or `client_secret_post` (for Jackson's tenant/product clients: the PKCE verifier
//! or the product's client-secret verifier); the code exists, is unexpired (5 min),
//! was issued to this client for this `redirect_uri`; PKCE S256 verified when a
//! challenge was sent (and a verifier without a challenge is refused); a second
//! redemption fails with `invalid_grant` and revokes the token of the first.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::{ClientId, RedirectUri};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use chrono::{DateTime, Utc};

use crate::model::{AuthCode, RedeemIf, Redemption};
use crate::sso::authorize::ClientRef;
use crate::sso::connections::client_secret_matches;
use crate::sso::error::OAuthError;
use crate::sso::jwt::sign_rs256;
use crate::sso::pkce;
use crate::sso::profile::Profile;
use crate::sso::sign_in::SignIn;
use crate::tokens::{hash_secret, new_secret};

/// The token request's form (RFC 6749 §4.1.3).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<RedirectUri>,
    pub client_id: Option<ClientId>,
    pub client_secret: Option<String>,
    pub code_verifier: Option<String>,
    /// The raw `Authorization` header, if any (not part of the form).
    #[serde(skip)]
    pub authorization: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// `Authorization: Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let encoded = header
        .strip_prefix("Basic ")
        .or_else(|| header.strip_prefix("basic "))?;
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let dec = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.to_string())
            .unwrap_or_default()
    };
    Some((dec(id), dec(secret)))
}

impl SignIn {
    pub async fn token(&self, req: TokenRequest) -> Result<TokenResponse, OAuthError> {
        if req.grant_type.as_deref() != Some("authorization_code") {
            return Err(OAuthError::unsupported_grant_type(
                "only grant_type=authorization_code is supported",
            ));
        }
        let basic = match req.authorization.as_deref() {
            Some(h) if h.to_ascii_lowercase().starts_with("basic ") => Some(
                basic_credentials(h)
                    .ok_or_else(|| OAuthError::invalid_client("malformed Basic credentials"))?,
            ),
            _ => None,
        };
        let (client_id, client_secret) = match (
            basic,
            req.client_id.as_ref().map(|c| c.as_str().to_string()),
            req.client_secret.clone(),
        ) {
            (Some(_), _, Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not two",
                ))
            }
            (Some((id, secret)), body_id, None) => {
                if body_id.as_deref().is_some_and(|b| b != id) {
                    return Err(OAuthError::invalid_client(
                        "client_id does not match the Basic credentials",
                    ));
                }
                (id, Some(secret))
            }
            (None, Some(id), secret) => (id, secret),
            (None, None, _) => {
                return Err(OAuthError::invalid_client(
                    "client authentication is required",
                ))
            }
        };
        let presented = ClientRef::parse(Some(&client_id), None, None)
            .ok_or_else(|| OAuthError::invalid_client("unknown client"))?;
        // A connection's client authenticates with its secret before anything else
        // (RFC 6749 §3.2.1); tenant/product clients authenticate through the code's
        // PKCE challenge or the product's verifier, below.
        if let ClientRef::Connection(id) = &presented {
            let connection = self
                .store
                .connection_for_login_by_client_id(id)
                .await
                .map_err(|e| OAuthError::server_error(e.to_string()))?;
            let ok = match (&connection, client_secret.as_deref()) {
                (Some(c), Some(s)) => client_secret_matches(&self.secrets, c, id, s),
                _ => false,
            };
            if !ok {
                return Err(OAuthError::invalid_client("client authentication failed"));
            }
        }
        let code = req
            .code
            .as_deref()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::invalid_request("code is required"))?;
        let code_hash = hash_secret(code);
        let now = self.clock.now();

        // A tenant/product client without a well-formed PKCE verifier authenticates
        // with the product's verifier when the code was issued without PKCE, so the
        // code is read and checked before it is redeemed; a malformed verifier never
        // redeems anything.
        let verifier_ok = req.code_verifier.as_deref().map(pkce::valid_verifier);
        let authenticated = match &presented {
            ClientRef::Connection(_) => verifier_ok != Some(false),
            ClientRef::TenantProduct { .. } => verifier_ok == Some(true),
        };
        if !authenticated {
            let stored = self
                .store
                .code(&code_hash)
                .await
                .map_err(|e| OAuthError::server_error(e.to_string()))?
                .ok_or_else(|| OAuthError::invalid_grant("the code is invalid or has expired"))?;
            self.check_code(&presented, &stored, &req, client_secret.as_deref(), now)
                .await?;
        }

        let expect = RedeemIf {
            client_id: presented.client_id(),
            redirect_uri: req
                .redirect_uri
                .as_ref()
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            code_challenge: req.code_verifier.as_deref().map(pkce::s256),
        };
        let access_token = new_secret();
        match self
            .store
            .redeem_code(
                &code_hash,
                &expect,
                &hash_secret(&access_token),
                now,
                now + self.settings.sso.access_token_ttl,
            )
            .await
            .map_err(|e| OAuthError::server_error(e.to_string()))?
        {
            Redemption::Issued(stored) => self.token_response(access_token, stored, now),
            Redemption::Refused {
                code: stored,
                redeemed,
                token_hash,
            } => {
                self.check_code(&presented, &stored, &req, client_secret.as_deref(), now)
                    .await?;
                if redeemed {
                    if let Some(h) = token_hash {
                        let _ = self.store.revoke_access_token(&h, now).await;
                    }
                    tracing::warn!(connection_id = %stored.connection_id, "authorization code reused: earlier token revoked");
                    return Err(OAuthError::invalid_grant("the code was already used"));
                }
                Err(OAuthError::invalid_grant(
                    "the code is invalid or has expired",
                ))
            }
            Redemption::Unknown => Err(OAuthError::invalid_grant(
                "the code is invalid or has expired",
            )),
        }
    }

    /// Why `stored` may not be redeemed by this request, in the order the checks are
    /// made: another client's code; a tenant/product client that proved neither PKCE
    /// nor the product's verifier; expired; another redirect URI; PKCE.
    async fn check_code(
        &self,
        presented: &ClientRef,
        stored: &AuthCode,
        req: &TokenRequest,
        client_secret: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), OAuthError> {
        if presented.client_id() != stored.client_id {
            return Err(OAuthError::invalid_grant(
                "the code was issued to another client",
            ));
        }
        if let ClientRef::TenantProduct { product, .. } = presented {
            if stored.code_challenge.is_none() {
                let ok = match client_secret {
                    Some(s) => self
                        .verifiers
                        .secret_verifier_matches(product, s)
                        .await
                        .map_err(|e| OAuthError::server_error(e.to_string()))?,
                    None => false,
                };
                if !ok {
                    return Err(OAuthError::invalid_client(
                        "client authentication failed: send the PKCE code_verifier or the product's client secret verifier",
                    ));
                }
            }
        }
        if stored.expires_at <= now {
            return Err(OAuthError::invalid_grant("the code has expired"));
        }
        if req.redirect_uri.as_ref().map(RedirectUri::as_str) != Some(stored.redirect_uri.as_str())
        {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
        match (&stored.code_challenge, req.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) if pkce::verify_s256(verifier, challenge) => Ok(()),
            (Some(_), Some(_)) => Err(OAuthError::invalid_grant("PKCE verification failed")),
            (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
            (None, Some(_)) => Err(OAuthError::invalid_grant(
                "code_verifier sent, but the authorization request had no code_challenge",
            )),
            (None, None) => Ok(()),
        }
    }

    /// The token response for a redeemed code (with an `id_token` when `openid` was
    /// asked for).
    fn token_response(
        &self,
        access_token: String,
        stored: AuthCode,
        now: DateTime<Utc>,
    ) -> Result<TokenResponse, OAuthError> {
        let ttl = self.settings.sso.access_token_ttl;
        let id_token = if stored.scope.split_whitespace().any(|s| s == "openid") {
            let profile: Profile = serde_json::from_str(&stored.profile)
                .map_err(|e| OAuthError::server_error(e.to_string()))?;
            let mut claims = json!({
                "iss": self.settings.issuer(),
                "sub": profile.sub,
                "aud": stored.client_id,
                "iat": now.timestamp(),
                "exp": (now + ttl).timestamp(),
                "auth_time": stored.created_at.timestamp(),
                "email": profile.email,
                "email_verified": profile.email.is_some().then_some(profile.email_verified),
                "given_name": profile.first_name,
                "family_name": profile.last_name,
            });
            if let (Some(nonce), Value::Object(map)) = (&stored.nonce, &mut claims) {
                map.insert("nonce".into(), Value::String(nonce.clone()));
            }
            let keys = self.keys.current();
            let key = keys
                .jwt_signing(now)
                .map_err(|e| OAuthError::server_error(e.to_string()))?;
            let kid = key.schedule.id.as_str();
            Some(
                sign_rs256(&claims, kid, &key.key)
                    .map_err(|e| OAuthError::server_error(e.to_string()))?,
            )
        } else {
            None
        };

        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ttl.num_seconds(),
            id_token,
            scope: stored.scope,
        })
    }

    /// The profile behind a bearer access token.
    pub async fn userinfo(&self, authorization: Option<&str>) -> Result<Value, OAuthError> {
        let token = authorization
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| OAuthError::invalid_token("a Bearer access token is required"))?;
        let stored = self
            .store
            .access_token(&hash_secret(token), self.clock.now())
            .await
            .map_err(|e| OAuthError::server_error(e.to_string()))?
            .ok_or_else(|| {
                OAuthError::invalid_token("the access token is invalid, expired or revoked")
            })?;
        let profile: Profile = serde_json::from_str(&stored.profile)
            .map_err(|e| OAuthError::server_error(e.to_string()))?;
        Ok(profile.userinfo(&stored.client_id))
    }

    /// `/.well-known/openid-configuration` (OIDC Discovery §3).
    pub fn discovery_document(&self) -> Value {
        let issuer = self.settings.issuer();
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/api/oauth/authorize"),
            "token_endpoint": format!("{issuer}/api/oauth/token"),
            "userinfo_endpoint": format!("{issuer}/api/oauth/userinfo"),
            "jwks_uri": format!("{issuer}/oauth/jwks"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified", "given_name", "family_name", "name", "groups", "roles"],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::basic_credentials;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let h = format!(
            "Basic {}",
            STANDARD.encode("tenant%3Dacme.com%26product%3Dp:s%3Acret")
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("tenant=acme.com&product=p".into(), "s:cret".into()))
        );
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials("Bearer x"), None);
    }
}
