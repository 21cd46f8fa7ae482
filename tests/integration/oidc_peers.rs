//! OIDC IdPs for the tests.
//!
//! * [`OidcProvider`]: the third-party OpenID Provider (`oidc-provider` from npm,
//!   end2end/support/oidc-idp.mjs), one process per test (its user and refusals are
//!   per-process state).
//! * [`FakeIdp`]: a scriptable IdP in this process, for what a correct provider
//!   never does: id_tokens for another audience or issuer, bad signatures, expired
//!   tokens, a wrong nonce, HMAC-signed tokens, rotated keys, a userinfo about
//!   someone else. It also counts fetches of its discovery document and keys.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use serde_json::{json, Value};

use crate::sso_support::APP_REDIRECT;

// --- oidc-provider ------------------------------------------------------------------

/// What RFC 7592 needs to change a registered client later.
struct Registration {
    uri: String,
    token: String,
    secret: String,
}

/// Clients registered at any oidc-provider of this test binary, by client id.
static REGISTRATIONS: std::sync::LazyLock<Mutex<HashMap<String, Registration>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

/// Point the client `client_id` (registered with [`OidcProvider::register`]) at
/// `redirect_uri` (RFC 7592 `PUT`). Unknown clients (the fake IdP's) are left alone.
pub async fn set_redirect_uri(client_id: &str, redirect_uri: &str) {
    let Some((uri, token, secret)) = REGISTRATIONS
        .lock()
        .unwrap()
        .get(client_id)
        .map(|r| (r.uri.clone(), r.token.clone(), r.secret.clone()))
    else {
        return;
    };
    let res = reqwest::Client::new()
        .put(&uri)
        .bearer_auth(token)
        .json(&json!({
            "client_id": client_id,
            "client_secret": secret,
            "redirect_uris": [redirect_uri],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        }))
        .send()
        .await
        .unwrap();
    let status = res.status();
    assert!(
        status.is_success(),
        "RFC 7592 update: {status} {}",
        res.text().await.unwrap_or_default()
    );
}

pub struct OidcProvider {
    pub url: String,
    child: Child,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OidcProvider {
    pub fn start() -> Self {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut child = Command::new("node")
            .arg(format!("{root}/end2end/support/oidc-idp.mjs"))
            .args(["--port", "0", "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs oidc-provider");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("oidc-provider announces itself");
        let v: Value = serde_json::from_str(&line).expect("listening line");
        Self {
            url: v["url"].as_str().unwrap().to_string(),
            child,
        }
    }

    /// Register Gatehouse as a client (RFC 7591): `(client_id, client_secret)`. The
    /// registration can be pointed at another redirect URI later
    /// ([`set_redirect_uri`]), as an IdP admin edits an app's callback URL.
    pub async fn register(&self, redirect_uri: &str) -> (String, String) {
        let v: Value = reqwest::Client::new()
            .post(format!("{}/reg", self.url))
            .json(&json!({
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_basic",
            }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let client_id = v["client_id"].as_str().unwrap().to_string();
        let client_secret = v["client_secret"].as_str().unwrap().to_string();
        REGISTRATIONS.lock().unwrap().insert(
            client_id.clone(),
            Registration {
                uri: v["registration_client_uri"].as_str().unwrap().to_string(),
                token: v["registration_access_token"].as_str().unwrap().to_string(),
                secret: client_secret.clone(),
            },
        );
        (client_id, client_secret)
    }

    pub async fn set_user(&self, user: Value) {
        reqwest::Client::new()
            .post(format!("{}/__idp/user", self.url))
            .json(&user)
            .send()
            .await
            .unwrap();
    }

    pub async fn deny_next(&self, error: &str, description: &str) {
        reqwest::Client::new()
            .post(format!("{}/__idp/deny", self.url))
            .json(&json!({ "error": error, "error_description": description }))
            .send()
            .await
            .unwrap();
    }
}

/// Follow redirects as a browser would (cookies kept) from `start` until the browser
/// is sent to the app (returns that URL) or a page is shown (returns `Err((status,
/// body))`). `stop_at`: a URL prefix to stop at instead of following.
pub async fn browse(
    browser: &reqwest::Client,
    start: &str,
    stop_at: &str,
) -> Result<String, (u16, String)> {
    browse_seeing(browser, start, stop_at, |_| {}).await
}

/// [`browse`], showing `seen` every response on the way.
pub async fn browse_seeing(
    browser: &reqwest::Client,
    start: &str,
    stop_at: &str,
    mut seen: impl FnMut(&reqwest::Response),
) -> Result<String, (u16, String)> {
    let mut next = start.to_string();
    for _ in 0..12 {
        if next.starts_with(stop_at) {
            return Ok(next);
        }
        let res = browser.get(&next).send().await.unwrap();
        seen(&res);
        let status = res.status().as_u16();
        match res.headers().get("location").and_then(|v| v.to_str().ok()) {
            Some(loc) if (300..400).contains(&status) => {
                next = url::Url::parse(&next)
                    .unwrap()
                    .join(loc)
                    .unwrap()
                    .to_string();
            }
            _ => return Err((status, res.text().await.unwrap_or_default())),
        }
    }
    panic!("too many redirects from {start}");
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap()
}

/// The `code` in the app redirect URL.
pub fn code_in(url: &str) -> String {
    assert!(url.starts_with(APP_REDIRECT), "{url}");
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.to_string())
        .unwrap()
}

// --- the scriptable fake ------------------------------------------------------------

/// What the fake does wrong on the next token requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehave {
    Nothing,
    WrongAudience,
    WrongIssuer,
    BadSignature,
    Expired,
    WrongNonce,
    HmacWithClientSecret,
    UserinfoOtherSubject,
}

struct Key {
    kid: String,
    pkey: PKey<Private>,
}

impl Key {
    fn new(kid: &str) -> Self {
        Self {
            kid: kid.into(),
            pkey: PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
        }
    }
    fn jwk(&self) -> Value {
        let rsa = self.pkey.rsa().unwrap();
        json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
            "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
        })
    }
}

struct FakeState {
    issuer: String,
    /// What the discovery document claims as issuer (normally `issuer`).
    stated_issuer: String,
    client_id: String,
    client_secret: String,
    keys: Vec<Key>,
    /// The key tokens are signed with (index into `keys`).
    signing: usize,
    /// Keys listed in the JWKS (a rotated key is listed only after `publish`).
    published: usize,
    misbehave: Misbehave,
    cache_control: Option<String>,
    discovery_hits: usize,
    jwks_hits: usize,
    /// code → (nonce, code_challenge)
    codes: HashMap<String, (String, String)>,
    sub: String,
}

#[derive(Clone)]
pub struct FakeIdp {
    pub url: String,
    state: Arc<Mutex<FakeState>>,
}

pub const FAKE_CLIENT_ID: &str = "gatehouse-at-fake";
pub const FAKE_CLIENT_SECRET: &str = "fake-client-secret-0123456789";

impl FakeIdp {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(FakeState {
            issuer: url.clone(),
            stated_issuer: url.clone(),
            client_id: FAKE_CLIENT_ID.into(),
            client_secret: FAKE_CLIENT_SECRET.into(),
            keys: vec![Key::new("k1")],
            signing: 0,
            published: 1,
            misbehave: Misbehave::Nothing,
            cache_control: Some("public, max-age=600".into()),
            discovery_hits: 0,
            jwks_hits: 0,
            codes: HashMap::new(),
            sub: "fake-sub-42".into(),
        }));
        let fake = Self { url, state };
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    pub fn misbehave(&self, m: Misbehave) {
        self.state.lock().unwrap().misbehave = m;
    }
    pub fn state_issuer(&self, issuer: &str) {
        self.state.lock().unwrap().stated_issuer = issuer.into();
    }
    pub fn cache_control(&self, cc: Option<&str>) {
        self.state.lock().unwrap().cache_control = cc.map(String::from);
    }
    pub fn hits(&self) -> (usize, usize) {
        let s = self.state.lock().unwrap();
        (s.discovery_hits, s.jwks_hits)
    }
    /// New signing key, used at once and listed in the JWKS at once (tokens carry a
    /// `kid` the relying party has not cached).
    pub fn rotate(&self) {
        let mut s = self.state.lock().unwrap();
        let kid = format!("k{}", s.keys.len() + 1);
        s.keys.push(Key::new(&kid));
        s.signing = s.keys.len() - 1;
        s.published = s.keys.len();
    }
}

fn cached(s: &FakeState, body: Value) -> Response {
    let mut res = Json(body).into_response();
    if let Some(cc) = &s.cache_control {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, cc.parse().unwrap());
    }
    res
}

async fn discovery(State(f): State<FakeIdp>) -> Response {
    let mut s = f.state.lock().unwrap();
    s.discovery_hits += 1;
    let doc = json!({
        "issuer": s.stated_issuer,
        "authorization_endpoint": format!("{}/authorize", s.issuer),
        "token_endpoint": format!("{}/token", s.issuer),
        "userinfo_endpoint": format!("{}/userinfo", s.issuer),
        "jwks_uri": format!("{}/jwks", s.issuer),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic"],
    });
    cached(&s, doc)
}

async fn jwks(State(f): State<FakeIdp>) -> Response {
    let mut s = f.state.lock().unwrap();
    s.jwks_hits += 1;
    let keys: Vec<Value> = s.keys[..s.published].iter().map(Key::jwk).collect();
    cached(&s, json!({ "keys": keys }))
}

async fn authorize(State(f): State<FakeIdp>, Query(q): Query<HashMap<String, String>>) -> Response {
    let code = format!("code-{}", gatehouse_domain::tokens::new_secret());
    let mut s = f.state.lock().unwrap();
    assert_eq!(q.get("client_id"), Some(&s.client_id));
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256")
    );
    s.codes.insert(
        code.clone(),
        (
            q.get("nonce").cloned().unwrap_or_default(),
            q.get("code_challenge").cloned().unwrap_or_default(),
        ),
    );
    let to = format!(
        "{}?code={code}&state={}",
        q.get("redirect_uri").cloned().unwrap_or_default(),
        q.get("state").cloned().unwrap_or_default()
    );
    Redirect::to(&to).into_response()
}

fn sign_jwt(header: &Value, claims: &Value, sign: impl FnOnce(&[u8]) -> Vec<u8>) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

async fn token(
    State(f): State<FakeIdp>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let s = &mut *f.state.lock().unwrap();
    let expected = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", s.client_id, s.client_secret))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some((nonce, challenge)) = form.get("code").and_then(|c| s.codes.remove(c)) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    if URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes())) != challenge {
        return (
            StatusCode::BAD_REQUEST,
            Json(
                json!({"error": "invalid_grant", "error_description": "PKCE verification failed"}),
            ),
        )
            .into_response();
    }
    let now = crate::support::start_time().timestamp();
    let m = s.misbehave;
    let claims = json!({
        "iss": if m == Misbehave::WrongIssuer { "https://evil.example.com".to_string() } else { s.issuer.clone() },
        "aud": if m == Misbehave::WrongAudience { "someone-else".to_string() } else { s.client_id.clone() },
        "sub": s.sub,
        "exp": if m == Misbehave::Expired { now - 3600 } else { now + 3600 },
        "iat": if m == Misbehave::Expired { now - 4000 } else { now },
        "nonce": if m == Misbehave::WrongNonce { "not-the-nonce".to_string() } else { nonce },
        "email": "max@acme.test",
        "given_name": "Max",
    });
    let key = &s.keys[s.signing];
    let id_token = if m == Misbehave::HmacWithClientSecret {
        let hmac = PKey::hmac(s.client_secret.as_bytes()).unwrap();
        sign_jwt(
            &json!({"alg": "HS256", "kid": key.kid, "typ": "JWT"}),
            &claims,
            |input| {
                let mut signer = Signer::new(MessageDigest::sha256(), &hmac).unwrap();
                signer.update(input).unwrap();
                signer.sign_to_vec().unwrap()
            },
        )
    } else {
        sign_jwt(
            &json!({"alg": "RS256", "kid": key.kid, "typ": "JWT"}),
            &claims,
            |input| {
                let mut signer = Signer::new(MessageDigest::sha256(), &key.pkey).unwrap();
                signer.update(input).unwrap();
                let mut sig = signer.sign_to_vec().unwrap();
                if m == Misbehave::BadSignature {
                    sig[10] ^= 0x01;
                }
                sig
            },
        )
    };
    Json(json!({
        "access_token": format!("at-{}", gatehouse_domain::tokens::new_secret()),
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}

async fn userinfo(State(f): State<FakeIdp>) -> Response {
    let s = f.state.lock().unwrap();
    let sub = if s.misbehave == Misbehave::UserinfoOtherSubject {
        "someone-else".to_string()
    } else {
        s.sub.clone()
    };
    Json(json!({ "sub": sub, "email": "max@acme.test", "given_name": "Max", "family_name": "Mustermann", "groups": ["ops"] }))
        .into_response()
}
