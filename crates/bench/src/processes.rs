//! The processes a run needs: the third-party test IdP (samlify) and the Gatehouse
//! server itself (the release binary, as an operator would run it).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use sqlx::Connection as _;

/// A child process killed when dropped.
pub struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Idp {
    pub url: String,
    _child: Guard,
}

/// Start `end2end/support/saml-idp.mjs` on a free port and wait for its
/// `{"event":"listening"}` line.
pub fn start_idp(root: &Path) -> Result<Idp> {
    let script = root.join("end2end/support/saml-idp.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .args(["--port", "0", "--exit-with-stdin", "--no-schema-validation"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting node {}", script.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("IdP stdout"))?;
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let v: serde_json::Value =
        serde_json::from_str(&line).with_context(|| format!("IdP said {line:?}"))?;
    let url = v["url"]
        .as_str()
        .ok_or_else(|| anyhow!("IdP listening line has no url: {line}"))?
        .to_string();
    Ok(Idp { url, _child: guard })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Postgres => "postgres",
        }
    }
}

pub struct Server {
    pub base: String,
    _child: Guard,
    _data: TempDir,
    database: Option<(String, String)>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self._child.0.id()
    }

    /// Where the server keeps its embedded database.
    pub fn data_dir(&self) -> &Path {
        &self._data.0
    }

    /// The URL of the PostgreSQL database the benchmark made for it, if any.
    pub fn database_url(&self) -> Option<String> {
        let (admin, name) = self.database.as_ref()?;
        let mut url = url::Url::parse(admin).ok()?;
        url.set_path(name);
        Some(url.to_string())
    }

    /// Drop the benchmark's PostgreSQL database, if it made one.
    pub async fn cleanup(mut self) -> Result<()> {
        let database = self.database.take();
        drop(self);
        if let Some((admin_url, name)) = database {
            let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
            sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await?;
        }
        Ok(())
    }
}

/// A directory under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Result<Self> {
        let p = std::env::temp_dir().join(format!(
            "gatehouse-bench-{tag}-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&p)?;
        Ok(Self(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The resident memory of process `pid`, in MB (0 when unknown).
pub fn rss_mb(pid: Option<u32>) -> u64 {
    pid.and_then(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Run the Gatehouse binary on a fresh database of the given engine.
pub async fn start_server(bin: &Path, engine: Engine, postgres_admin_url: &str) -> Result<Server> {
    start_server_with(bin, engine, postgres_admin_url, &[]).await
}

/// [`start_server`] with more environment for the server.
pub async fn start_server_with(
    bin: &Path,
    engine: Engine,
    postgres_admin_url: &str,
    env: &[(&str, String)],
) -> Result<Server> {
    if !bin.exists() {
        bail!(
            "{} does not exist: build the server first (cargo leptos build --release), or pass --server PATH or --url URL",
            bin.display()
        );
    }
    let data = TempDir::new(engine.name())?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let key =
        base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes().repeat(2));
    let mut cmd = Command::new(bin);
    cmd.env("GATEHOUSE_LISTEN_ADDR", format!("127.0.0.1:{port}"))
        .env("GATEHOUSE_PUBLIC_URL", &base)
        .env("GATEHOUSE_DATA_DIR", &data.0)
        .env("GATEHOUSE_SECRET_KEY", key)
        .env(
            "RUST_LOG",
            std::env::var("BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .env_remove("DATABASE_URL")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let mut database = None;
    if engine == Engine::Postgres {
        let name = format!("gh_bench_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(postgres_admin_url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {postgres_admin_url}"))?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
        let mut url = url::Url::parse(postgres_admin_url)?;
        url.set_path(&name);
        cmd.env("DATABASE_URL", url.as_str());
        database = Some((postgres_admin_url.to_string(), name));
    }
    let child = Guard(
        cmd.spawn()
            .with_context(|| format!("starting {}", bin.display()))?,
    );
    let server = Server {
        base,
        _child: child,
        _data: data,
        database,
    };
    wait_healthy(&server.base).await?;
    Ok(server)
}

async fn wait_healthy(base: &str) -> Result<()> {
    let http = reqwest::Client::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await {
            if r.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server at {base} did not become healthy within 60 s")
}
