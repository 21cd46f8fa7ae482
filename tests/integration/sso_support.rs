//! A product with an SSO connection to the test IdP, and the OAuth steps of a login.

#![allow(dead_code)]

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};

use crate::idp::{idp, Idp};
use crate::support::*;

pub const APP_REDIRECT: &str = "https://app.example.com/callback";
/// The email domain of the test IdPs' default user (jane@acme.test).
pub const TEST_USERS_DOMAIN: &str = "acme.test";

pub struct Sso {
    pub app: TestApp,
    pub owner: Client,
    pub team: String,
    pub product: String,
    pub api_key: String,
    pub client_id: String,
    pub client_secret: String,
    pub connection: Value,
    pub http: reqwest::Client,
}

pub fn pkce_pair() -> (String, String) {
    let verifier = URL_SAFE_NO_PAD.encode(gatehouse_domain::tokens::random_bytes(32));
    let challenge = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
    (verifier, challenge)
}

impl Sso {
    pub async fn new(engine: gatehouse_store::Engine) -> Self {
        Self::with(engine, "keys=primary", "acme.com", json!({})).await
    }

    /// `metadata_query`: e.g. `keys=both`, `bindings=post`. `extra`: more connection fields.
    pub async fn with(
        engine: gatehouse_store::Engine,
        metadata_query: &str,
        tenant: &str,
        extra: Value,
    ) -> Self {
        Self::with_env(engine, metadata_query, tenant, extra, &[]).await
    }

    /// [`Self::with`] with extra server environment.
    pub async fn with_env(
        engine: gatehouse_store::Engine,
        metadata_query: &str,
        tenant: &str,
        extra: Value,
        env: &[(&str, String)],
    ) -> Self {
        let app = spawn_app_with(engine, env).await;
        let v = Vendor::seed(&app.base, metadata_query, tenant, extra).await;
        Self {
            client_id: v.connection["clientID"].as_str().unwrap().to_string(),
            client_secret: v.connection["clientSecret"].as_str().unwrap().to_string(),
            connection: v.connection,
            app,
            owner: v.owner,
            team: v.team,
            product: v.product,
            api_key: v.api_key,
            http: v.http,
        }
    }

    pub fn idp(&self) -> &'static Idp {
        idp()
    }

    pub fn acs(&self) -> String {
        format!("{}/api/oauth/saml", self.app.base)
    }

    pub fn sp_entity_id(&self) -> String {
        format!("{}/saml/{}", self.app.base, self.product)
    }

    /// GET /api/oauth/authorize with the connection's client id and the given extras.
    pub async fn authorize(&self, extra: &[(&str, &str)]) -> reqwest::Response {
        let mut q: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", &self.client_id),
            ("redirect_uri", APP_REDIRECT),
            ("state", "st4te"),
            ("scope", "openid email profile"),
            ("nonce", "n0nce"),
        ];
        for (k, v) in extra {
            q.retain(|(key, _)| key != k);
            q.push((k, v));
        }
        q.retain(|(_, v)| !v.is_empty());
        self.http
            .get(format!("{}/api/oauth/authorize", self.app.base))
            .query(&q)
            .send()
            .await
            .unwrap()
    }

    /// Authorize and return the IdP redirect URL and the pending request id.
    pub async fn start(&self, extra: &[(&str, &str)]) -> (String, String) {
        let res = self.authorize(extra).await;
        assert_eq!(
            res.status().as_u16(),
            303,
            "authorize: {}",
            res.text().await.unwrap_or_default()
        );
        let to = res.headers()["location"].to_str().unwrap().to_string();
        assert!(to.starts_with(&idp().url), "redirected to the IdP: {to}");
        let relay = query_param(&to, "RelayState");
        (to, relay)
    }

    /// POST a SAMLResponse to the ACS.
    pub async fn post_acs(
        &self,
        saml_response: &str,
        relay_state: Option<&str>,
    ) -> reqwest::Response {
        let mut form = vec![("SAMLResponse", saml_response.to_string())];
        if let Some(r) = relay_state {
            form.push(("RelayState", r.to_string()));
        }
        self.http.post(self.acs()).form(&form).send().await.unwrap()
    }

    /// The full browser part of an SP-initiated login through the real IdP: the code.
    pub async fn login(&self, extra: &[(&str, &str)]) -> String {
        let (to, _) = self.start(extra).await;
        let (acs, relay, response) = idp().answer(&to).await;
        assert_eq!(acs, self.acs());
        let res = self.post_acs(&response, relay.as_deref()).await;
        code_from(res).await
    }

    /// A response for a pending login, signed by the IdP with `overrides`. `relay`: the
    /// login's RelayState (`<request id>.<connection id>` for app sign-ins) or a bare
    /// request id.
    pub async fn signed_for(&self, relay: &str, overrides: Value) -> String {
        let mut body = json!({
            "inResponseTo": request_id(relay),
            "destination": self.acs(),
            "audience": self.sp_entity_id(),
        });
        if let (Value::Object(b), Value::Object(o)) = (&mut body, overrides) {
            b.extend(o);
        }
        idp().sign(body).await
    }

    pub async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let res = self
            .http
            .post(format!("{}/api/oauth/token", self.app.base))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn token_for(&self, code: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", APP_REDIRECT),
            ("client_id", &self.client_id),
            ("client_secret", &self.client_secret),
        ])
        .await
    }

    pub async fn userinfo(&self, access_token: &str) -> (u16, Value) {
        let res = self
            .http
            .get(format!("{}/api/oauth/userinfo", self.app.base))
            .bearer_auth(access_token)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn api(
        &self,
        method: reqwest::Method,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/api/v1/sso", self.app.base))
            .header("Authorization", format!("Api-Key {}", self.api_key))
            .query(query);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

/// A vendor as the dashboard and the admin API make one, at the server at `base` (in
/// this process or a child): an owner signed up, a product whose redirect URL is
/// [`APP_REDIRECT`], an API key, and a SAML connection to the test IdP (the IdP's
/// people are `@acme.test`, one of its email domains, unless `extra` says otherwise).
pub struct Vendor {
    pub owner: Client,
    pub team: String,
    pub product: String,
    pub api_key: String,
    /// No redirects followed, a 60-second timeout.
    pub http: reqwest::Client,
    /// The admin API's answer (with `clientID` and `clientSecret`).
    pub connection: Value,
}

impl Vendor {
    pub async fn seed(base: &str, metadata_query: &str, tenant: &str, extra: Value) -> Self {
        let owner = Client::at(base);
        let team = owner.sign_up(&unique_email("vendor"), "Vendor").await;
        let product = owner.create_product(&team, "Portal").await;
        let r = owner
            .rpc(
                "products/update",
                &[
                    ("team", &team),
                    ("product", &product),
                    ("name", "Portal"),
                    ("description", ""),
                    ("redirect_urls", APP_REDIRECT),
                    ("default_redirect_url", APP_REDIRECT),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let key = owner
            .rpc(
                "api-keys/create",
                &[("team", &team), ("product", &product), ("name", "ci")],
            )
            .await;
        let api_key = key.body["secret"].as_str().unwrap().to_string();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        let mut body = json!({
            "tenant": tenant,
            "product": product,
            "name": "Acme Okta",
            "rawMetadata": idp().metadata(metadata_query).await,
            "defaultRedirectUrl": APP_REDIRECT,
            "redirectUrl": [APP_REDIRECT],
            // the test IdPs sign users in as @acme.test
            "emailDomains": [TEST_USERS_DOMAIN],
        });
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        let res = http
            .post(format!("{base}/api/v1/sso"))
            .header("Authorization", format!("Api-Key {api_key}"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let connection: Value = res.json().await.unwrap();
        Self {
            owner,
            team,
            product,
            api_key,
            http,
            connection,
        }
    }

    pub fn client_id(&self) -> &str {
        self.connection["clientID"].as_str().unwrap()
    }
}

/// `GET /api/oauth/authorize` at `base` for the app's client: the IdP redirect URL it
/// answers with, or why there is none.
pub async fn authorize_at(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
) -> Result<String, String> {
    let res = http
        .get(format!("{base}/api/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", APP_REDIRECT),
            ("state", "s"),
        ])
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let to = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("authorize answered {} without a redirect", res.status()))?
        .to_string();
    Ok(to)
}

/// A whole SP-initiated sign-in at `base` through the test IdP, as a browser makes it:
/// the code the app receives, or why there is none.
pub async fn sign_in_at(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
) -> Result<String, String> {
    let to = authorize_at(http, base, client_id).await?;
    let (acs, relay, response) = idp().answer(&to).await;
    let mut form = vec![("SAMLResponse", response)];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    let res = http
        .post(acs)
        .form(&form)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if res.status().as_u16() != 303 {
        return Err(format!("the ACS answered {}", res.status()));
    }
    Ok(code_from(res).await)
}

/// The request id in an app sign-in's RelayState (`<request id>.<connection id>`).
pub fn request_id(relay: &str) -> &str {
    relay.split_once('.').map_or(relay, |(id, _)| id)
}

/// The connection id in an app sign-in's RelayState.
pub fn relay_connection(relay: &str) -> &str {
    relay.split_once('.').map(|(_, c)| c).unwrap()
}

/// The `code` from the ACS's 303 to the app (panics with the page otherwise).
pub async fn code_from(res: reqwest::Response) -> String {
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_string());
    if status != 303 {
        panic!(
            "ACS answered {status}: {}",
            res.text().await.unwrap_or_default()
        );
    }
    let location = location.unwrap();
    assert!(location.starts_with(APP_REDIRECT), "{location}");
    query_param(&location, "code")
}

/// The query parameter `name` of `url` (panics when it has none).
pub fn query_param(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// The ACS refused: returns the error page text.
pub async fn refused(res: reqwest::Response) -> String {
    let status = res.status().as_u16();
    let body = res.text().await.unwrap_or_default();
    assert!(status >= 400, "expected a refusal, got {status}: {body}");
    assert!(
        body.contains("data-testid=\"reference\""),
        "error page has a reference id: {body}"
    );
    body
}

pub fn b64(xml: &str) -> String {
    STANDARD.encode(xml)
}

pub fn unb64(s: &str) -> String {
    String::from_utf8(STANDARD.decode(s).unwrap()).unwrap()
}

/// Decode the payload of a JWT (no verification: tests check signatures separately).
pub fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// Verify an RS256 JWT against a JWKS (by `kid`) and return its claims.
pub fn verify_id_token(jwt: &str, jwks: &Value) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the kid is in the JWKS");
    let n = openssl::bn::BigNum::from_slice(
        &URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let e = openssl::bn::BigNum::from_slice(
        &URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let rsa = openssl::rsa::Rsa::from_public_components(n, e).unwrap();
    let pkey = openssl::pkey::PKey::from_rsa(rsa).unwrap();
    let mut verifier =
        openssl::sign::Verifier::new(openssl::hash::MessageDigest::sha256(), &pkey).unwrap();
    verifier
        .update(format!("{}.{}", parts[0], parts[1]).as_bytes())
        .unwrap();
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert!(verifier.verify(&signature).unwrap(), "id_token signature");
    jwt_claims(jwt)
}

/// The `kid`s of a JWKS, in its order.
pub fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_string())
        .collect()
}

/// The reference id a sign-in error page shows.
pub fn reference_on(page: &str) -> &str {
    page.split("data-testid=\"reference\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_else(|| panic!("no reference on the page: {page}"))
}
