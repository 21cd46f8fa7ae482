//! Two Gatehouse processes on one PostgreSQL database behind nginx (Debian's),
//! round-robin, as `docs/deploy.md` describes: sign-ins whose steps land on
//! different instances, dashboard sessions, changes, the Ory outbox and lockouts
//! shared through the database, and an instance killed under load.
//!
//! PostgreSQL only: several instances need a database server.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use gatehouse_store::Engine;
use serde_json::{json, Value};

use crate::idp::idp;
use crate::oidc_peers::{browse_seeing, set_redirect_uri, OidcProvider};
use crate::sso_support::*;
use crate::support::*;

fn postgres_under_test() -> bool {
    let on = gatehouse_store::testing::engines().contains(&Engine::Postgres);
    if !on {
        eprintln!("skipped: several instances need PostgreSQL");
    }
    on
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx in the foreground, one process, its files in a directory of its own.
pub struct Nginx {
    pub base: String,
    dir: PathBuf,
    child: Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Nginx {
    /// `docs/deploy.md`'s configuration without TLS, in front of `upstreams`.
    pub async fn start(port: u16, upstreams: &[u16]) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "gatehouse-nginx-{}",
            gatehouse_domain::tokens::new_id("n")
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let servers: String = upstreams
            .iter()
            .map(|p| format!("        server 127.0.0.1:{p} max_fails=1 fail_timeout=30s;\n"))
            .collect();
        let d = dir.display();
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
error_log {d}/error.log warn;
pid {d}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream gatehouse {{
{servers}        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 2m;
        location / {{
            proxy_pass http://gatehouse;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Request-Id $request_id;
            proxy_next_upstream error timeout non_idempotent;
            proxy_connect_timeout 2s;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
"#
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("nginx runs (scripts/setup.sh installs it)");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(std::time::Instant::now() < deadline, "nginx did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Self { base, dir, child }
    }
}

struct Cluster {
    nginx: Nginx,
    a: ChildServer,
    b: ChildServer,
}

impl Cluster {
    async fn start(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let public = format!("http://127.0.0.1:{port}");
        let mut env = env.to_vec();
        env.push(("GATEHOUSE_PUBLIC_URL", &public));
        env.push(("GATEHOUSE_TRUSTED_PROXIES", "127.0.0.1/32"));
        let a = ChildServer::start(Engine::Postgres, &env).await;
        let b = ChildServer::start_on(a.db.shared(), &env, None).await;
        let nginx = Nginx::start(port, &[a.port(), b.port()]).await;
        Self { nginx, a, b }
    }

    fn base(&self) -> &str {
        &self.nginx.base
    }
}

async fn jwks(base: &str) -> Value {
    reqwest::get(format!("{base}/oauth/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn upstream(res: &reqwest::Response) -> String {
    res.headers()
        .get("x-upstream")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// Where each step of one SAML sign-in through the load balancer was served.
struct Steps {
    authorize: String,
    acs: String,
    token: String,
    userinfo: String,
}

async fn saml_sign_in(http: &reqwest::Client, base: &str, client_id: &str, secret: &str) -> Steps {
    let res = http
        .get(format!("{base}/api/oauth/authorize"))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", APP_REDIRECT),
            ("state", "s"),
            ("scope", "openid email"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 303);
    let authorize = upstream(&res);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let (acs, relay, response) = idp().answer(&to).await;
    assert!(
        acs.starts_with(base),
        "the ACS URL is the public one: {acs}"
    );
    let mut form = vec![("SAMLResponse", response)];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    let res = http.post(acs).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303, "{}", upstream(&res));
    let acs = upstream(&res);
    let code = code_from(res).await;
    let (token, tokens) = redeem(http, base, client_id, secret, &code).await;
    assert_eq!(token.1, 200, "{tokens}");
    let access_token = tokens["access_token"].as_str().unwrap().to_string();
    let userinfo_at = || async {
        http.get(format!("{base}/api/oauth/userinfo"))
            .bearer_auth(&access_token)
            .send()
            .await
            .unwrap()
    };
    let res = userinfo_at().await;
    assert_eq!(res.status().as_u16(), 200);
    let userinfo = upstream(&res);
    let info: Value = res.json().await.unwrap();
    assert_eq!(info["email"], "jane@acme.test");
    // the code is single-use on every instance, and a replay revokes its token
    let (again, answer) = redeem(http, base, client_id, secret, &code).await;
    assert_eq!(again.1, 400, "{answer}");
    assert_eq!(answer["error"], "invalid_grant");
    for _ in 0..2 {
        assert_eq!(userinfo_at().await.status().as_u16(), 401);
    }
    Steps {
        authorize,
        acs,
        token: token.0,
        userinfo,
    }
}

async fn redeem(
    http: &reqwest::Client,
    base: &str,
    client_id: &str,
    secret: &str,
    code: &str,
) -> ((String, u16), Value) {
    let res = http
        .post(format!("{base}/api/oauth/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", APP_REDIRECT),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    let at = (upstream(&res), res.status().as_u16());
    (at, res.json().await.unwrap_or(Value::Null))
}

/// Follow a browser's redirects from `start` to the app, noting which instance
/// served each of Gatehouse's steps.
async fn browse_noting(browser: &reqwest::Client, start: &str) -> (String, Vec<String>) {
    let mut served = Vec::new();
    let landed = browse_seeing(browser, start, APP_REDIRECT, |res| {
        let at = upstream(res);
        if !at.is_empty() {
            served.push(at);
        }
    })
    .await
    .unwrap_or_else(|(status, body)| panic!("stopped at {status}: {body}"));
    (landed, served)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_complete_with_their_steps_on_different_instances() {
    if !postgres_under_test() {
        return;
    }
    let c = Cluster::start(&[("GATEHOUSE_METADATA_ALLOW_PRIVATE", "true")]).await;
    let vendor = Vendor::seed(c.base(), "keys=primary", "acme.com", json!({})).await;
    let secret = vendor.connection["clientSecret"]
        .as_str()
        .unwrap()
        .to_string();

    // SAML upstream
    let mut split = HashSet::new();
    let mut instances = HashSet::new();
    for _ in 0..4 {
        let steps = saml_sign_in(&vendor.http, c.base(), vendor.client_id(), &secret).await;
        for at in [&steps.authorize, &steps.acs, &steps.token, &steps.userinfo] {
            assert!(!at.is_empty(), "every answer names its instance");
            instances.insert(at.clone());
        }
        if steps.authorize != steps.acs {
            split.insert("authorize/acs");
        }
        if steps.token != steps.userinfo {
            split.insert("token/userinfo");
        }
    }
    assert_eq!(instances.len(), 2, "both instances served: {instances:?}");
    assert!(split.contains("authorize/acs"), "{split:?}");
    assert!(split.contains("token/userinfo"), "{split:?}");

    // OIDC upstream (oidc-provider from npm)
    let op = OidcProvider::start();
    let (op_client, op_secret) = op
        .register(&format!("{}/api/oauth/oidc/not-yet-known", c.base()))
        .await;
    let res = vendor
        .http
        .post(format!("{}/api/v1/sso", c.base()))
        .header("Authorization", format!("Api-Key {}", vendor.api_key))
        .json(&json!({
            "tenant": "globex.com",
            "product": vendor.product,
            "name": "Globex OIDC",
            "oidcDiscoveryUrl": op.url,
            "oidcClientId": op_client,
            "oidcClientSecret": op_secret,
            "redirectUrl": [APP_REDIRECT],
            "defaultRedirectUrl": APP_REDIRECT,
            "emailDomains": [TEST_USERS_DOMAIN],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let conn: Value = res.json().await.unwrap();
    set_redirect_uri(
        &op_client,
        conn["oidcProvider"]["redirectUrl"].as_str().unwrap(),
    )
    .await;
    let client_id = conn["clientID"].as_str().unwrap();
    let client_secret = conn["clientSecret"].as_str().unwrap();
    let mut oidc_instances = HashSet::new();
    for _ in 0..2 {
        let start = format!(
            "{}/api/oauth/authorize?response_type=code&client_id={client_id}&redirect_uri={}&state=s&scope=openid%20email",
            c.base(),
            url::form_urlencoded::byte_serialize(APP_REDIRECT.as_bytes()).collect::<String>()
        );
        let (landed, served) = browse_noting(&crate::oidc_peers::browser(), &start).await;
        oidc_instances.extend(served);
        let code = crate::oidc_peers::code_in(&landed);
        let ((_, status), tokens) =
            redeem(&vendor.http, c.base(), client_id, client_secret, &code).await;
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(
            jwt_claims(tokens["id_token"].as_str().unwrap())["email"],
            "jane@acme.test"
        );
    }
    assert_eq!(oidc_instances.len(), 2, "{oidc_instances:?}");

    // both instances publish the same keys
    assert_eq!(jwks(&c.a.base).await, jwks(&c.b.base).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_changes_and_lockouts_hold_across_instances() {
    if !postgres_under_test() {
        return;
    }
    let c = Cluster::start(&[("DATABASE_READ_CACHE_MS", "1000")]).await;
    let vendor = Vendor::seed(c.base(), "keys=primary", "acme.com", json!({})).await;

    // the dashboard session made on one instance is good on both
    let mut served = HashSet::new();
    for _ in 0..4 {
        let res = vendor
            .owner
            .rpc("teams/context", &[("team", &vendor.team)])
            .await;
        assert_eq!(res.status, 200, "{:?}", res.body);
        let page = vendor
            .owner
            .get(&format!("/teams/{}/products", vendor.team))
            .await;
        assert_eq!(page.status().as_u16(), 200);
        served.insert(upstream(&page));
        // a third request, so the next round starts on the other instance
        let context = vendor
            .owner
            .rpc("teams/context", &[("team", &vendor.team)])
            .await;
        assert_eq!(context.status, 200);
    }
    assert_eq!(served.len(), 2, "{served:?}");

    // a change made on instance A applies on B within DATABASE_READ_CACHE_MS
    let authorize_at_b = || async {
        vendor
            .http
            .get(format!("{}/api/oauth/authorize", c.b.base))
            .query(&[
                ("response_type", "code"),
                ("client_id", vendor.client_id()),
                ("redirect_uri", APP_REDIRECT),
                ("state", "s"),
            ])
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(authorize_at_b().await, 303);
    let res = vendor
        .http
        .patch(format!("{}/api/v1/sso", c.a.base))
        .header("Authorization", format!("Api-Key {}", vendor.api_key))
        .json(&json!({
            "clientID": vendor.client_id(),
            "clientSecret": vendor.connection["clientSecret"],
            "redirectUrl": ["https://elsewhere.example.com/cb"],
            "defaultRedirectUrl": "https://elsewhere.example.com/cb",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200, "{}", res.text().await.unwrap());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        authorize_at_b().await,
        400,
        "B still allowed the redirect URL A removed"
    );

    // five failed logins spread over both instances lock the email on both
    let email = unique_email("locked");
    let owner = Client::at(c.base());
    owner.sign_up(&email, "Locked").await;
    let login = |password: &'static str| {
        let email = email.clone();
        let base = c.base().to_string();
        async move {
            Client::at(&base)
                .rpc("auth/login", &[("email", &email), ("password", password)])
                .await
                .status
        }
    };
    for _ in 0..4 {
        assert_eq!(login("wrong password!").await, 401);
    }
    let fifth = login("wrong password!").await;
    assert!([401, 429].contains(&fifth), "{fifth}");
    for _ in 0..2 {
        assert_eq!(login("correct horse battery").await, 429, "locked on both");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_apply_every_ory_change_exactly_once() {
    if !postgres_under_test() {
        return;
    }
    let ory = OryEmulator::start().await;
    let c = Cluster::start(&[("ORY_API_URL", &ory.url), ("ORY_SYNC_INTERVAL_MS", "100")]).await;
    let vendor = Vendor::seed(c.base(), "keys=primary", "acme.com", json!({})).await;
    let r = vendor
        .owner
        .rpc(
            "ory/save",
            &[
                ("team", &vendor.team),
                ("product", &vendor.product),
                ("token", ORY_TOKEN),
                ("project_id", ORY_PROJECT_ID),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let metadata = idp().metadata("keys=primary").await;
    for i in 0..4 {
        let res = vendor
            .http
            .post(format!("{}/api/v1/sso", c.base()))
            .header("Authorization", format!("Api-Key {}", vendor.api_key))
            .json(&json!({
                "tenant": format!("tenant{i}.com"),
                "product": vendor.product,
                "name": format!("Tenant {i}"),
                "rawMetadata": metadata,
                "defaultRedirectUrl": APP_REDIRECT,
                "redirectUrl": [APP_REDIRECT],
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
    }
    let wait_for = |orgs: usize, providers: usize| {
        let ory = &ory;
        async move {
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                let (o, p) = (ory.organizations().await.len(), ory.providers().await.len());
                if (o, p) == (orgs, providers) {
                    return;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "Ory has {o} organizations and {p} providers, not {orgs} and {providers}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    wait_for(5, 5).await;
    // settle: nothing more should happen
    tokio::time::sleep(Duration::from_millis(800)).await;
    let count = |log: &Value, method: &str, suffix: &str| {
        log.as_array()
            .unwrap()
            .iter()
            .filter(|e| e["method"] == method && e["path"].as_str().unwrap_or("").ends_with(suffix))
            .count()
    };
    let state = ory.state().await;
    assert_eq!(
        count(&state["log"], "POST", "/organizations"),
        5,
        "each organization created once although two workers run"
    );

    // a delete, then: exactly one organization removed
    let res = vendor
        .http
        .delete(format!("{}/api/v1/sso", c.base()))
        .header("Authorization", format!("Api-Key {}", vendor.api_key))
        .query(&[
            ("tenant", "tenant0.com"),
            ("product", vendor.product.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 204);
    wait_for(4, 4).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let state = ory.state().await;
    let deletes = state["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["method"] == "DELETE" && e["path"].as_str().unwrap_or("").contains("/organizations/")
        })
        .count();
    assert_eq!(deletes, 1, "the organization is removed once");
    assert_eq!(count(&state["log"], "POST", "/organizations"), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_an_instance_under_load_loses_no_sign_in_the_other_can_finish() {
    if !postgres_under_test() {
        return;
    }
    let mut c = Cluster::start(&[]).await;
    let base = c.base().to_string();
    let vendor = Vendor::seed(&base, "keys=primary", "acme.com", json!({})).await;
    let client_id = vendor.client_id().to_string();
    let secret = vendor.connection["clientSecret"]
        .as_str()
        .unwrap()
        .to_string();

    // a sign-in started on A, its IdP answer in hand
    let res = vendor
        .http
        .get(format!("{}/api/oauth/authorize", c.a.base))
        .query(&[
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", APP_REDIRECT),
            ("state", "s"),
        ])
        .send()
        .await
        .unwrap();
    let to = res.headers()["location"].to_str().unwrap().to_string();
    let (acs, relay, response) = idp().answer(&to).await;

    // load through the balancer while A is killed
    let load = (0..4)
        .map(|_| {
            let http = vendor.http.clone();
            let (base, client_id, secret) = (base.clone(), client_id.clone(), secret.clone());
            tokio::spawn(async move {
                let (mut ok, mut failed) = (0, 0);
                let until = std::time::Instant::now() + Duration::from_secs(6);
                while std::time::Instant::now() < until {
                    match sign_in_at(&http, &base, &client_id).await {
                        Ok(code) => {
                            let ((at, status), body) =
                                redeem(&http, &base, &client_id, &secret, &code).await;
                            if status == 200 {
                                ok += 1;
                                continue;
                            }
                            // A redeemed the code and died before answering; the
                            // balancer sent the same request on to B, which must
                            // refuse the spent code. Nothing else may fail.
                            assert!(
                                at.contains(", ")
                                    && status == 400
                                    && body["error"] == "invalid_grant",
                                "a code handed out is redeemed unless A spent it as it died: \
                                 {status} from {at}: {body}"
                            );
                            failed += 1;
                        }
                        Err(_) => failed += 1,
                    }
                }
                (ok, failed)
            })
        })
        .collect::<Vec<_>>();
    tokio::time::sleep(Duration::from_secs(2)).await;
    c.a.kill9();
    let mut ok = 0;
    let mut failed = 0;
    for task in load {
        let (o, f) = task.await.unwrap();
        ok += o;
        failed += f;
    }
    eprintln!("{ok} sign-ins completed, {failed} failed while an instance was killed");
    assert!(ok > 0);
    // at most the sign-ins whose request A was holding when it died
    assert!(failed <= 4, "{failed} sign-ins failed");

    // the sign-in A started finishes on B
    let mut form = vec![("SAMLResponse", response)];
    if let Some(r) = relay {
        form.push(("RelayState", r));
    }
    let res = vendor.http.post(acs).form(&form).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 303);
    assert_eq!(upstream(&res), format!("127.0.0.1:{}", c.b.port()));
    let code = code_from(res).await;
    let ((_, status), tokens) = redeem(&vendor.http, &base, &client_id, &secret, &code).await;
    assert_eq!(status, 200, "{tokens}");

    // and nothing stored was lost: the connection and the owner are all there
    let res = vendor
        .http
        .get(format!("{base}/api/v1/sso"))
        .header("Authorization", format!("Api-Key {}", vendor.api_key))
        .query(&[("tenant", "acme.com"), ("product", vendor.product.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let list: Value = res.json().await.unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_starting_together_on_a_fresh_database_migrate_once() {
    if !postgres_under_test() {
        return;
    }
    let db = gatehouse_store::testing::fresh_database(Engine::Postgres)
        .await
        .unwrap();
    // both processes are started before either answers
    let (a, b) = tokio::join!(
        ChildServer::start_on(db.shared(), &[], None),
        ChildServer::start_on(db.shared(), &[], None),
    );
    let store = gatehouse_store::SqlStore::connect_unmigrated(
        &db.url,
        &gatehouse_store::PoolSettings::default(),
    )
    .await
    .unwrap();
    assert_eq!(
        store.pending_migrations().await.unwrap(),
        Vec::<String>::new()
    );
    let applied: Vec<(i64,)> = sqlx::query_as("SELECT version FROM _sqlx_migrations")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let mut versions: Vec<i64> = applied.into_iter().map(|(v,)| v).collect();
    let all = versions.len();
    versions.sort_unstable();
    versions.dedup();
    assert_eq!(versions.len(), all, "each migration applied once");
    // one first key per purpose, the same on both
    let (ja, jb) = (jwks(&a.base).await, jwks(&b.base).await);
    assert_eq!(ja["keys"].as_array().map(Vec::len), Some(1));
    assert_eq!(ja, jb);
    store.close().await;
}
