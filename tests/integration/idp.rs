//! The third-party SAML IdP (end2end/support/saml-idp.mjs, samlify), one process for
//! the whole test binary. It exits when this process does (`--exit-with-stdin`).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

pub struct Idp {
    pub url: String,
    pub entity_id: String,
}

static IDP: OnceLock<Idp> = OnceLock::new();
static CHILD: Mutex<Option<Child>> = Mutex::new(None);

pub fn idp() -> &'static Idp {
    IDP.get_or_init(|| {
        let (idp, child) = Idp::spawn();
        *CHILD.lock().unwrap() = Some(child);
        idp
    })
}

/// An IdP process of a test's own, for configuration the shared one must not get
/// (`POST /__idp/config`); killed when dropped.
pub struct OwnIdp {
    pub idp: Idp,
    child: Child,
}

impl Drop for OwnIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl OwnIdp {
    pub fn start() -> Self {
        let (idp, child) = Idp::spawn();
        Self { idp, child }
    }

    /// `POST /__idp/config` with `config`.
    pub async fn configure(&self, config: Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/__idp/config", self.idp.url))
            .json(&config)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
}

impl Idp {
    fn spawn() -> (Idp, Child) {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut child = Command::new("node")
            .arg(format!("{root}/end2end/support/saml-idp.mjs"))
            .args(["--port", "0", "--exit-with-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("node runs the test IdP");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("IdP announces itself");
        let v: Value = serde_json::from_str(&line).expect("IdP listening line");
        let idp = Idp {
            url: v["url"].as_str().unwrap().to_string(),
            entity_id: v["entityId"].as_str().unwrap().to_string(),
        };
        (idp, child)
    }

    pub async fn metadata(&self, query: &str) -> String {
        reqwest::get(format!("{}/metadata?{query}", self.url))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A response signed by the IdP with caller-controlled content.
    pub async fn sign(&self, body: Value) -> String {
        let res = reqwest::Client::new()
            .post(format!("{}/__idp/sign", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let v: Value = res.json().await.unwrap();
        assert!(status.is_success(), "IdP sign failed: {v}");
        v["samlResponse"].as_str().unwrap().to_string()
    }

    /// Follow an AuthnRequest redirect to the IdP the way a browser would, but ask for
    /// JSON: `(acs_url, relay_state, saml_response)`. The IdP answers with its
    /// default configuration (signed response, okta attributes, jane@acme.test).
    pub async fn answer(&self, idp_redirect: &str) -> (String, Option<String>, String) {
        self.answer_as(idp_redirect, None).await
    }

    /// [`Self::answer`], signing in `email` (NameID and email) instead of jane@acme.test.
    pub async fn answer_as(
        &self,
        idp_redirect: &str,
        email: Option<&str>,
    ) -> (String, Option<String>, String) {
        let mut url = format!("{idp_redirect}&format=json");
        if let Some(e) = email {
            url.push_str(&format!(
                "&login_hint={}",
                url::form_urlencoded::byte_serialize(e.as_bytes()).collect::<String>()
            ));
        }
        let v: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        (
            v["acsUrl"].as_str().unwrap().to_string(),
            v["relayState"].as_str().map(String::from),
            v["samlResponse"].as_str().unwrap().to_string(),
        )
    }
}
