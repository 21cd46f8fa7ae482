//! The processes a run needs: the third-party test IdP (samlify), the Gatehouse
//! server itself (the release binary, as an operator would run it) and, for
//! `--reference jackson`, SAML Jackson hosted by `scripts/jackson/server.mjs`.

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
    let child = Command::new("node")
        .arg(&script)
        .args(["--port", "0", "--exit-with-stdin", "--no-schema-validation"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting node {}", script.display()))?;
    let mut guard = Guard(child);
    let url = listening_url(&mut guard.0, "IdP")?;
    Ok(Idp { url, _child: guard })
}

/// The `url` of the `{"event":"listening","url":…}` line a node helper prints first.
fn listening_url(child: &mut Child, what: &str) -> Result<String> {
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("{what}: no stdout"))?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let v: serde_json::Value =
        serde_json::from_str(&line).with_context(|| format!("{what} said {line:?}"))?;
    v["url"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| anyhow!("{what}'s listening line has no url: {line}"))
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
    start_server_with(bin, engine, postgres_admin_url, &[], None).await
}

/// [`start_server`] with more environment for the server, and on one core if given.
pub async fn start_server_with(
    bin: &Path,
    engine: Engine,
    postgres_admin_url: &str,
    env: &[(&str, String)],
    core: Option<usize>,
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
    let mut cmd = pinned(bin, core);
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
        let (url, made) = fresh_postgres(postgres_admin_url).await?;
        cmd.env("DATABASE_URL", url);
        database = Some(made);
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

/// A new PostgreSQL database: its URL, and the admin URL and name
/// [`Server::cleanup`] drops it by.
async fn fresh_postgres(admin_url: &str) -> Result<(String, (String, String))> {
    let name = format!("gh_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {admin_url}"))?;
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .await?;
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(&name);
    Ok((url.into(), (admin_url.to_string(), name)))
}

/// `program`, or `taskset -c CORE program` (which execs it) to keep it on one core.
fn pinned(program: &Path, core: Option<usize>) -> Command {
    match core {
        Some(core) => {
            let mut cmd = Command::new("taskset");
            cmd.arg("-c").arg(core.to_string()).arg(program);
            cmd
        }
        None => Command::new(program),
    }
}

/// Keep this process, all its threads and whatever it starts from now on, on `cores`
/// (a `taskset` list such as `0` or `0-2`).
pub fn pin_self(cores: &str) -> Result<()> {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", cores])
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()
        .context("running taskset")?;
    if !status.success() {
        bail!("taskset -a -p -c {cores} failed: {status}");
    }
    Ok(())
}

/// Where SAML Jackson's host script and its npm package live.
fn jackson_dir(root: &Path) -> PathBuf {
    root.join("scripts/jackson")
}

/// The version of `@boxyhq/saml-jackson` installed in `scripts/jackson`.
pub fn jackson_version(root: &Path) -> Option<String> {
    let manifest = jackson_dir(root).join("node_modules/@boxyhq/saml-jackson/package.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(manifest).ok()?).ok()?;
    v["version"].as_str().map(String::from)
}

/// `npm ci` in `scripts/jackson` unless it has been installed (npm writes
/// `node_modules/.package-lock.json` last). Its output goes to stderr, as the
/// benchmark's progress does.
pub fn install_jackson(root: &Path) -> Result<()> {
    let dir = jackson_dir(root);
    if dir.join("node_modules/.package-lock.json").exists() {
        return Ok(());
    }
    eprintln!(
        "[bench] installing SAML Jackson: npm ci --prefix {}",
        dir.display()
    );
    let status = Command::new("npm")
        .arg("ci")
        .arg("--prefix")
        .arg(&dir)
        .args(["--no-audit", "--no-fund"])
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .context("running npm ci")?;
    if !status.success() {
        bail!("npm ci --prefix {} failed: {status}", dir.display());
    }
    Ok(())
}

/// SAML Jackson hosted by `scripts/jackson/server.mjs`, its admin API behind
/// `api_key`, on one core if given, on a fresh database beside Gatehouse's `engine`:
/// - SQLite: Jackson's `mem` engine. Its embedded SQL option (`sql` + `sqlite`,
///   TypeORM's better-sqlite3 driver) shares one connection between requests, so
///   concurrent logins fail with "cannot start a transaction within a transaction".
/// - PostgreSQL: its `sql` engine with `postgres` (its default) on a new database.
///
/// Needs [`install_jackson`] first.
pub async fn start_jackson(
    root: &Path,
    api_key: &str,
    engine: Engine,
    postgres_admin_url: &str,
    core: Option<usize>,
) -> Result<Server> {
    let dir = jackson_dir(root);
    let data = TempDir::new("jackson")?;
    let mut cmd = pinned(Path::new("node"), core);
    cmd.arg(dir.join("server.mjs"))
        .args(["--port", "0", "--exit-with-stdin"])
        .current_dir(&data.0)
        .env("NODE_ENV", "production")
        .env(
            "DB_ENCRYPTION_KEY",
            uuid::Uuid::new_v4().simple().to_string(),
        )
        .env("JACKSON_API_KEYS", api_key)
        .env_remove("DB_TYPE")
        .env_remove("DB_URL")
        .env_remove("DB_TTL")
        .env_remove("SAML_AUDIENCE")
        .env_remove("EXTERNAL_URL")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut database = None;
    match engine {
        Engine::Sqlite => {
            cmd.env("DB_ENGINE", "mem");
        }
        Engine::Postgres => {
            let (url, made) = fresh_postgres(postgres_admin_url).await?;
            cmd.env("DB_ENGINE", "sql")
                .env("DB_TYPE", "postgres")
                .env("DB_URL", url);
            database = Some(made);
        }
    }
    let mut child = Guard(
        cmd.spawn()
            .context("starting node scripts/jackson/server.mjs")?,
    );
    let base = tokio::task::block_in_place(|| listening_url(&mut child.0, "Jackson"))?;
    Ok(Server {
        base,
        _child: child,
        _data: data,
        database,
    })
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
