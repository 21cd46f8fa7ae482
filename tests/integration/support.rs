//! Test harness: the production wiring (`gatehouse::build_with_clock`) on a random
//! port with a fresh database, a manual clock, and an HTTP client that keeps cookies.

#![allow(dead_code)]

use std::process::Stdio;
use std::sync::Arc;

use chrono::Utc;
use gatehouse::config::{Config, Env};
use gatehouse_domain::clock::ManualClock;
use gatehouse_domain::Services;
use gatehouse_store::testing::{engines, fresh_database, TestDatabase};
use gatehouse_store::Engine;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

pub struct TestApp {
    pub base: String,
    pub services: Services,
    pub clock: Arc<ManualClock>,
    pub engine: Engine,
    pub store: gatehouse_store::SqlStore,
    pub db: TestDatabase,
    _server: tokio::task::JoinHandle<()>,
}

/// Tests start at the real time (the third-party IdP signs with it) and move the
/// manual clock forward from there.
pub fn start_time() -> chrono::DateTime<Utc> {
    use gatehouse_domain::clock::Clock;
    gatehouse_domain::clock::SystemClock.now()
}

pub async fn spawn_app(engine: Engine) -> TestApp {
    spawn_app_with(engine, &[]).await
}

/// Server logs go to the test output (shown for failing tests). `RUST_LOG` filters.
fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
                    tracing_subscriber::EnvFilter::new("warn,gatehouse=info,gatehouse_domain=info")
                }),
            )
            .with_test_writer()
            .try_init();
    });
}

pub async fn spawn_app_with(engine: Engine, extra: &[(&str, String)]) -> TestApp {
    init_logs();
    let db = fresh_database(engine).await.expect("test database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut vars: Vec<(String, String)> = vec![
        ("DATABASE_URL".into(), db.url.clone()),
        (
            "GATEHOUSE_SECRET_KEY".into(),
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into(),
        ),
        ("GATEHOUSE_LISTEN_ADDR".into(), addr.to_string()),
        ("GATEHOUSE_PUBLIC_URL".into(), format!("http://{addr}")),
    ];
    for (k, v) in extra {
        vars.retain(|(key, _)| key != k);
        vars.push((k.to_string(), v.clone()));
    }
    let config = Config::from_env(&Env(Box::new(move |k| {
        vars.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    })))
    .expect("config");
    let clock = Arc::new(ManualClock::new(start_time()));
    let server = gatehouse::build_with_clock(&config, clock.clone())
        .await
        .expect("server");
    let services = server.services.clone();
    let store = server.store.clone();
    let router = server.router;
    let handle = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    });
    TestApp {
        base: format!("http://{addr}"),
        services,
        clock,
        engine,
        store,
        db,
        _server: handle,
    }
}

/// Run `f` once per configured engine.
pub async fn each_engine<F, Fut>(f: F)
where
    F: Fn(Engine) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for engine in engines() {
        eprintln!("--- engine: {}", engine.name());
        f(engine).await;
    }
}

/// A browser-like client: cookie jar, no automatic redirects.
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
}

pub struct RpcResponse {
    pub status: u16,
    pub body: Value,
    pub location: Option<String>,
}

impl Client {
    pub fn new(app: &TestApp) -> Self {
        Self::at(&app.base)
    }

    /// A browser-like client of the server at `base`.
    pub fn at(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            // a request that never gets an answer fails the test instead of hanging it
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            http,
            base: base.to_string(),
        }
    }

    /// Call a server function as the dashboard does (form-encoded POST).
    pub async fn rpc(&self, endpoint: &str, form: &[(&str, &str)]) -> RpcResponse {
        let res = self
            .http
            .post(format!("{}/rpc/{endpoint}", self.base))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        RpcResponse {
            status,
            body,
            location,
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// Sign up a new user with a new team; returns (team id, email).
    pub async fn sign_up(&self, email: &str, team: &str) -> String {
        let r = self
            .rpc(
                "auth/signup",
                &[
                    ("email", email),
                    ("password", "correct horse battery"),
                    ("team_name", team),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "signup failed: {:?}", r.body);
        let loc = r.location.expect("redirect after signup");
        loc.trim_start_matches("/teams/")
            .trim_end_matches("/products")
            .to_string()
    }

    pub async fn create_product(&self, team: &str, name: &str) -> String {
        let r = self
            .rpc(
                "products/create",
                &[("team", team), ("name", name), ("description", "")],
            )
            .await;
        assert_eq!(r.status, 200, "create product failed: {:?}", r.body);
        r.body["id"].as_str().unwrap().to_string()
    }
}

/// The token at the end of an invite or setup link (`…/invite/{token}`, `…/setup/{token}`).
pub fn token_in_url(url: &str) -> String {
    url.rsplit('/').next().unwrap().to_string()
}

pub fn unique_email(tag: &str) -> String {
    format!(
        "{tag}-{}@example.com",
        gatehouse_domain::tokens::new_id("u").trim_start_matches("u_")
    )
}

/// The Ory console emulator (end2end/support/ory-emulator.mjs), started per test.
pub struct OryEmulator {
    pub url: String,
    child: tokio::process::Child,
}

pub const ORY_PROJECT_ID: &str = "3c9a2f4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b";
pub const ORY_TOKEN: &str = "ory_st_validtoken0000000000000001";

impl OryEmulator {
    pub async fn start() -> Self {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut child = tokio::process::Command::new("node")
            .arg(format!("{root}/end2end/support/ory-emulator.mjs"))
            .args(["--port", "0", "--quiet"])
            .args([
                "--project",
                ORY_PROJECT_ID,
                "--slug",
                "eager-goldberg-abc123",
                "--name",
                "Acme Login",
            ])
            .args(["--token", ORY_TOKEN])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node is needed for the Ory emulator");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("emulator announces its port");
        let v: Value = serde_json::from_str(&line).unwrap();
        Self {
            url: v["url"].as_str().unwrap().to_string(),
            child,
        }
    }

    pub async fn admin(&self, path: &str, body: Value) -> Value {
        reqwest::Client::new()
            .post(format!("{}/__emulator/{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap_or(Value::Null)
    }

    /// `GET /__emulator/state`: projects, organizations, blobs, request log.
    pub async fn state(&self) -> Value {
        reqwest::get(format!("{}/__emulator/state", self.url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The OIDC providers of the test project.
    pub async fn providers(&self) -> Vec<Value> {
        let state = self.state().await;
        state["projects"][0]["services"]["identity"]["config"]["selfservice"]["methods"]["oidc"]
            ["config"]["providers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Is the test project's OpenID Connect sign-in method on?
    pub async fn oidc_enabled(&self) -> bool {
        self.state().await["projects"][0]["services"]["identity"]["config"]["selfservice"]
            ["methods"]["oidc"]["enabled"]
            .as_bool()
            .unwrap_or(false)
    }

    pub async fn organizations(&self) -> Vec<Value> {
        self.state().await["organizations"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// A console API call with the test token, as someone editing by hand would make.
    pub async fn console(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> u16 {
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(ORY_TOKEN);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap().status().as_u16()
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The server as an operator runs it: the binary built for these tests, in a process
/// of its own (its memory can be read, it can be killed and started again on the
/// same data). `DATABASE_URL` from `db`; the secret key is fixed, so a restart reads
/// what the last run sealed.
pub struct ChildServer {
    pub base: String,
    pub db: TestDatabase,
    port: u16,
    env: Vec<(String, String)>,
    child: Option<std::process::Child>,
    /// Where the server's stdout (its log) goes; discarded when `None`.
    log: Option<std::path::PathBuf>,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill9();
    }
}

impl ChildServer {
    pub async fn start(engine: Engine, env: &[(&str, &str)]) -> Self {
        Self::start_logging(engine, env, None).await
    }

    /// [`Self::start`] with the server's log (stdout) appended to `log`.
    pub async fn start_logging(
        engine: Engine,
        env: &[(&str, &str)],
        log: Option<std::path::PathBuf>,
    ) -> Self {
        let db = fresh_database(engine).await.expect("test database");
        Self::start_on(db, env, log).await
    }

    /// A server on `db` (e.g. [`TestDatabase::shared`] with another server's).
    pub async fn start_on(
        db: TestDatabase,
        env: &[(&str, &str)],
        log: Option<std::path::PathBuf>,
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            base: format!("http://127.0.0.1:{port}"),
            db,
            port,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: None,
            log,
        };
        server.spawn().await;
        server
    }

    async fn spawn(&mut self) {
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .env("GATEHOUSE_LISTEN_ADDR", format!("127.0.0.1:{}", self.port))
            .env("GATEHOUSE_PUBLIC_URL", &self.base)
            .env("DATABASE_URL", &self.db.url)
            .env(
                "GATEHOUSE_SECRET_KEY",
                "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            )
            .env("ORY_SYNC_INTERVAL_MS", "0")
            .env("RUST_LOG", "error")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(match &self.log {
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .expect("the log file opens"),
                ),
                None => Stdio::null(),
            })
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the gatehouse binary starts");
        self.child = Some(child);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Ok(r) = reqwest::get(format!("{}/healthz", self.base)).await {
                if r.status().is_success() {
                    return;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not start"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The port this instance listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, std::process::Child::id)
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, as a service manager stops it.
    pub fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `within` for the process to exit; its exit status.
    pub async fn exit_status(&mut self, within: std::time::Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Some(status) = child.try_wait().expect("wait") {
                    self.child = None;
                    return status;
                }
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit within {within:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Start again on the same database.
    pub async fn restart(&mut self) {
        self.kill9();
        self.spawn().await;
    }

    pub fn rss_mb(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            / 1024
    }
}
