//! Setting up a product and a SAML connection through Gatehouse's own interfaces (or a
//! connection on SAML Jackson through its admin API), and the HTTP steps of one login
//! as an app and a browser make them.

use std::io::Read as _;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Value};

use crate::http;

pub const APP_REDIRECT: &str = "https://app.example.com/callback";
/// The ACS path of both Gatehouse and Jackson.
const ACS_PATH: &str = "/api/oauth/saml";
/// Jackson's SP entity id when `SAML_AUDIENCE` is not set (its `samlAudience` default).
const JACKSON_AUDIENCE: &str = "https://saml.boxyhq.com";

/// What the vendor's app knows after set-up, and what the IdP is told about the SP.
#[derive(Clone)]
pub struct Target {
    pub base: String,
    pub client_id: String,
    /// `Basic base64(client_id:client_secret)`, as an app keeps it.
    pub basic_auth: String,
    /// Where the browser posts the IdP's response (a path on `base`).
    pub acs_path: String,
    /// The SP entity id: the audience of the IdP's assertions.
    pub sp_entity_id: String,
}

impl Target {
    pub fn acs(&self) -> String {
        format!("{}{}", self.base, self.acs_path)
    }
}

/// Sign up, create a product and an API key (server functions, as the dashboard does),
/// then create the SAML connection through the admin API with the IdP's metadata.
pub async fn seed(base: &str, idp_url: &str) -> Result<Target> {
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let rpc = |endpoint: &'static str, form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = format!("{base}/rpc/{endpoint}");
        async move {
            let res = http.post(url).form(&form).send().await?;
            let status = res.status();
            let location = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(String::from);
            let text = res.text().await?;
            if !status.is_success() {
                bail!("{endpoint}: {status} {text}");
            }
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            Ok::<_, anyhow::Error>((body, location))
        }
    };
    let email = format!("bench-{}@vendor.test", uuid::Uuid::new_v4().simple());
    let (_, location) = rpc(
        "auth/signup",
        vec![
            ("email", email),
            ("password", "correct horse battery".into()),
            ("team_name", "Bench".into()),
        ],
    )
    .await?;
    let team = location
        .ok_or_else(|| anyhow!("signup did not redirect"))?
        .trim_start_matches("/teams/")
        .trim_end_matches("/products")
        .to_string();
    let (product, _) = rpc(
        "products/create",
        vec![
            ("team", team.clone()),
            ("name", "Portal".into()),
            ("description", String::new()),
        ],
    )
    .await?;
    let product = product["id"]
        .as_str()
        .ok_or_else(|| anyhow!("products/create: no id"))?
        .to_string();
    rpc(
        "products/update",
        vec![
            ("team", team.clone()),
            ("product", product.clone()),
            ("name", "Portal".into()),
            ("description", String::new()),
            ("redirect_urls", APP_REDIRECT.into()),
            ("default_redirect_url", APP_REDIRECT.into()),
        ],
    )
    .await?;
    let (key, _) = rpc(
        "api-keys/create",
        vec![
            ("team", team),
            ("product", product.clone()),
            ("name", "bench".into()),
        ],
    )
    .await?;
    let api_key = key["secret"]
        .as_str()
        .ok_or_else(|| anyhow!("api-keys/create: no secret"))?;
    let metadata = idp_metadata(&http, idp_url).await?;
    let body = json!({
        "tenant": "acme.com",
        "product": product,
        "name": "Acme (bench)",
        "rawMetadata": metadata,
        "redirectUrl": [APP_REDIRECT],
        "defaultRedirectUrl": APP_REDIRECT,
        // the test IdP signs users in as jane@acme.test
        "emailDomains": ["acme.test"],
    });
    let sp_entity_id = format!("{base}/saml/{product}");
    connection_target(&http, base, api_key, &body, sp_entity_id).await
}

/// Create the SAML connection on SAML Jackson through its admin API, as its docs do
/// (tenant, product, rawMetadata, redirectUrl, defaultRedirectUrl). The app then uses
/// the connection's clientID and clientSecret, as with Gatehouse.
pub async fn seed_jackson(base: &str, idp_url: &str, api_key: &str) -> Result<Target> {
    let http = reqwest::Client::new();
    let metadata = idp_metadata(&http, idp_url).await?;
    let body = json!({
        "tenant": "acme.com",
        "product": "bench",
        "name": "Acme (bench)",
        "rawMetadata": metadata,
        "redirectUrl": [APP_REDIRECT],
        "defaultRedirectUrl": APP_REDIRECT,
    });
    connection_target(&http, base, api_key, &body, JACKSON_AUDIENCE.into()).await
}

/// Create the connection `body` describes ([`create_connection`]) and the target an
/// app then signs in through: its client credentials, the ACS and the audience the
/// IdP's responses must name.
async fn connection_target(
    http: &reqwest::Client,
    base: &str,
    api_key: &str,
    body: &Value,
    sp_entity_id: String,
) -> Result<Target> {
    let (client_id, client_secret) = create_connection(http, base, api_key, body).await?;
    Ok(Target {
        base: base.to_string(),
        basic_auth: basic_auth(&client_id, &client_secret),
        client_id,
        acs_path: ACS_PATH.into(),
        sp_entity_id,
    })
}

async fn idp_metadata(http: &reqwest::Client, idp_url: &str) -> Result<String> {
    Ok(http
        .get(format!("{idp_url}/metadata"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?)
}

/// `POST /api/v1/sso` (Jackson's admin API, which Gatehouse shares): the connection's
/// clientID and clientSecret.
async fn create_connection(
    http: &reqwest::Client,
    base: &str,
    api_key: &str,
    body: &Value,
) -> Result<(String, String)> {
    let res = http
        .post(format!("{base}/api/v1/sso"))
        .header("Authorization", format!("Api-Key {api_key}"))
        .json(body)
        .send()
        .await?;
    let status = res.status();
    let connection: Value = res.json().await?;
    if !status.is_success() {
        bail!("creating the connection: {status} {connection}");
    }
    let field = |k: &str| {
        connection[k]
            .as_str()
            .map(String::from)
            .ok_or_else(|| anyhow!("connection has no {k}: {connection}"))
    };
    Ok((field("clientID")?, field("clientSecret")?))
}

fn basic_auth(client_id: &str, client_secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{client_id}:{client_secret}"))
    )
}

/// A login after the authorize step: what the IdP needs to answer it and what the app
/// keeps for the token request.
pub struct Started {
    /// The deflated, base64-encoded AuthnRequest as the redirect carried it (decoded
    /// for its ID outside the timed phases, as the IdP would).
    pub saml_request: String,
    pub relay_state: String,
    pub state: String,
    pub verifier: String,
    pub authorize: Duration,
}

/// Step timings of the part after the IdP.
pub struct Finished {
    pub acs: Duration,
    pub token: Duration,
    pub userinfo: Duration,
}

pub fn http_client() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(30))
        .build()?)
}

/// The app redirects the browser to `/api/oauth/authorize`; the server answers with a
/// redirect to the IdP carrying a signed AuthnRequest.
pub async fn authorize(http: &http::Client, t: &Target, openid: bool) -> Result<Started> {
    let state = uuid::Uuid::new_v4().simple().to_string();
    let verifier = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let challenge = URL_SAFE_NO_PAD.encode(openssl::sha::sha256(verifier.as_bytes()));
    let path = {
        let mut q = url::form_urlencoded::Serializer::new(String::from("/api/oauth/authorize?"));
        q.append_pair("response_type", "code")
            .append_pair("client_id", &t.client_id)
            .append_pair("redirect_uri", APP_REDIRECT)
            .append_pair("state", &state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        if openid {
            q.append_pair("scope", "openid email profile")
                .append_pair("nonce", "n0nce");
        }
        q.finish()
    };
    let started = Instant::now();
    let res = http.get(&path, &[]).await?;
    let authorize = started.elapsed();
    let location = res
        .location
        .ok_or_else(|| anyhow!("authorize answered {} without a redirect", res.status))?;
    let to = url::Url::parse(&location)?;
    let param = |k: &str| {
        to.query_pairs()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| anyhow!("IdP redirect has no {k}: {location}"))
    };
    Ok(Started {
        saml_request: param("SAMLRequest")?,
        relay_state: param("RelayState")?,
        state,
        verifier,
        authorize,
    })
}

/// The ID of a deflated, base64-encoded AuthnRequest (HTTP-Redirect binding).
pub fn authn_request_id(encoded: &str) -> Result<String> {
    let deflated = STANDARD.decode(encoded)?;
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(deflated.as_slice()).read_to_string(&mut xml)?;
    let start = xml
        .find(" ID=\"")
        .ok_or_else(|| anyhow!("AuthnRequest without ID"))?
        + 5;
    let len = xml[start..]
        .find('"')
        .ok_or_else(|| anyhow!("unterminated ID"))?;
    Ok(xml[start..start + len].to_string())
}

/// The IdP's signed answers to a batch of AuthnRequests (outside the measurement).
pub async fn sign_responses(
    http: &reqwest::Client,
    idp_url: &str,
    t: &Target,
    request_ids: &[&str],
) -> Result<Vec<String>> {
    let batch: Vec<Value> = request_ids
        .iter()
        .map(|id| {
            json!({
                "inResponseTo": id,
                "destination": t.acs(),
                "audience": t.sp_entity_id,
            })
        })
        .collect();
    let res = http
        .post(format!("{idp_url}/__idp/sign"))
        .timeout(Duration::from_secs(600))
        .json(&json!({ "batch": batch, "includeXml": false }))
        .send()
        .await?;
    let status = res.status();
    let v: Value = res.json().await?;
    if !status.is_success() {
        bail!("IdP batch signing failed: {status} {v}");
    }
    v["responses"]
        .as_array()
        .ok_or_else(|| anyhow!("IdP batch answer has no responses"))?
        .iter()
        .map(|r| {
            r["samlResponse"]
                .as_str()
                .map(String::from)
                .ok_or_else(|| anyhow!("IdP batch entry without samlResponse"))
        })
        .collect()
}

/// The form a browser posts to the ACS (HTTP-POST binding), encoded outside the timed
/// phases: percent-encoding a 10 kB response is the browser's work, not Gatehouse's,
/// and the client shares the machine with the server.
pub fn acs_form(saml_response: &str, relay_state: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLResponse", saml_response)
        .append_pair("RelayState", relay_state)
        .finish()
}

/// The browser posts the IdP's response to the ACS, follows the redirect to the app,
/// and the app redeems the code and reads the profile.
pub async fn finish(
    http: &http::Client,
    t: &Target,
    started: &Started,
    acs_form: &str,
) -> Result<Finished> {
    let t0 = Instant::now();
    let res = http
        .post_form(&t.acs_path, &[], acs_form.as_bytes())
        .await?;
    let acs = t0.elapsed();
    let location = res
        .location
        .as_deref()
        .ok_or_else(|| anyhow!("ACS answered {}: {}", res.status, first_line(&res.text())))?;
    let back = url::Url::parse(location)?;
    let mut code = None;
    let mut state = None;
    for (k, v) in back.query_pairs() {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            _ => {}
        }
    }
    let code = code.ok_or_else(|| anyhow!("ACS redirect without code: {location}"))?;
    if state.as_deref() != Some(started.state.as_str()) {
        bail!("ACS redirect carries the wrong state: {location}");
    }

    let t1 = Instant::now();
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", APP_REDIRECT)
        .append_pair("code_verifier", &started.verifier)
        .finish();
    let res = http
        .post_form(
            "/api/oauth/token",
            &[("Authorization", t.basic_auth.as_str())],
            form.as_bytes(),
        )
        .await?;
    let token = t1.elapsed();
    let tokens: Value = serde_json::from_slice(&res.body)
        .with_context(|| format!("token endpoint answered {}: {}", res.status, res.text()))?;
    let access_token = tokens["access_token"]
        .as_str()
        .ok_or_else(|| anyhow!("token endpoint answered {}: {tokens}", res.status))?;

    let t2 = Instant::now();
    let bearer = format!("Bearer {access_token}");
    let res = http
        .get("/api/oauth/userinfo", &[("Authorization", bearer.as_str())])
        .await?;
    let userinfo = t2.elapsed();
    let profile: Value = serde_json::from_slice(&res.body).context("userinfo body")?;
    if profile["email"].as_str().is_none() {
        bail!(
            "userinfo answered {} without an email: {profile}",
            res.status
        );
    }
    Ok(Finished {
        acs,
        token,
        userinfo,
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}
