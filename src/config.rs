//! Configuration: environment variables with documented defaults (see README).
//! An invalid value stops start-up with a message naming the variable.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gatehouse_domain::secret_box::SecretBox;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {message}")]
    Invalid { var: &'static str, message: String },
    #[error("{0}")]
    Io(String),
}

fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        message: message.into(),
    }
}

#[derive(Clone)]
pub struct Config {
    pub listen_addr: SocketAddr,
    pub public_url: Url,
    pub database_url: String,
    pub database_max_connections: u32,
    /// How long login paths may reuse a connection/product row (0 = off).
    pub database_read_cache_ms: u64,
    /// Set when `DATABASE_URL` was unset and the embedded SQLite default is used.
    pub embedded_database: bool,
    pub data_dir: PathBuf,
    pub secret_key: SecretBox,
    /// Where the key came from, for the start-up log.
    pub secret_key_source: SecretKeySource,
    pub ory_api_url: Url,
    pub site_root: PathBuf,
    pub saml_clock_skew_seconds: i64,
    /// Sign-in traces are kept this many days (`GATEHOUSE_TRACE_RETENTION_DAYS`).
    pub trace_retention_days: i64,
    /// How often the webhook worker looks for due deliveries (0: no worker here).
    pub webhook_interval_ms: i64,
    pub access_token_ttl_seconds: i64,
    pub metadata_allow_private: bool,
    /// Proxies whose `X-Forwarded-For` names the client (empty: the peer is the client).
    pub trusted_proxies: gatehouse_domain::client_addr::TrustedProxies,
    /// How often the Ory sync worker looks for due connections (it also wakes on
    /// every change); 0 = no worker in this process.
    pub ory_sync_interval_ms: i64,
    /// How often Ory is compared with Gatehouse for drift; 0 = never.
    pub ory_drift_check_seconds: i64,
    /// How often expired sign-in records are purged.
    pub purge_interval_seconds: i64,
    /// How long a stopping server lets requests in flight finish.
    pub shutdown_grace_seconds: i64,
    /// How often the signing keys are read again (rotations made elsewhere).
    pub key_reload_seconds: i64,
    /// Serve `/metrics` on this address instead of the main listener.
    pub metrics_addr: Option<SocketAddr>,
    /// How log lines are written.
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl LogFormat {
    /// `GATEHOUSE_LOG_FORMAT`, read before anything else so every line uses it.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        match env.get("GATEHOUSE_LOG_FORMAT").as_deref() {
            None | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(_) => Err(invalid("GATEHOUSE_LOG_FORMAT", "expected text or json")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretKeySource {
    Environment,
    File(PathBuf),
    Generated(PathBuf),
    /// `check-config`: no key yet; the server would generate one at this path.
    WouldGenerate(PathBuf),
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("public_url", &self.public_url.as_str())
            .field("database", &redact_url(&self.database_url))
            .field("ory_api_url", &self.ory_api_url.as_str())
            .finish_non_exhaustive()
    }
}

/// A database URL with any password removed, for logs.
pub fn redact_url(raw: &str) -> String {
    match Url::parse(raw) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => raw.to_string(),
    }
}

/// Reads variables through a closure so tests need not touch the process environment.
pub type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

pub struct Env<'a>(pub Lookup<'a>);

impl Env<'_> {
    pub fn process() -> Self {
        Env(Box::new(|k| {
            std::env::var(k).ok().filter(|v| !v.is_empty())
        }))
    }
    fn get(&self, k: &str) -> Option<String> {
        (self.0)(k)
    }
}

impl Config {
    /// The server's configuration. On the embedded default without
    /// `GATEHOUSE_SECRET_KEY`, a key file is generated in the data directory if
    /// there is none.
    pub fn from_env(env: &Env<'_>) -> Result<Self, ConfigError> {
        Self::read(env, true)
    }

    /// [`Self::from_env`] that writes nothing: a missing key file is reported as
    /// [`SecretKeySource::WouldGenerate`] (with a throwaway key).
    pub fn from_env_read_only(env: &Env<'_>) -> Result<Self, ConfigError> {
        Self::read(env, false)
    }

    fn read(env: &Env<'_>, generate_key: bool) -> Result<Self, ConfigError> {
        let listen_addr: SocketAddr = env
            .get("GATEHOUSE_LISTEN_ADDR")
            .unwrap_or_else(|| "127.0.0.1:3000".into())
            .parse()
            .map_err(|_| {
                invalid(
                    "GATEHOUSE_LISTEN_ADDR",
                    "expected host:port, e.g. 127.0.0.1:3000",
                )
            })?;

        let public_url = match env.get("GATEHOUSE_PUBLIC_URL") {
            Some(raw) => parse_base_url("GATEHOUSE_PUBLIC_URL", &raw)?,
            None => parse_base_url(
                "GATEHOUSE_PUBLIC_URL",
                &format!("http://localhost:{}", listen_addr.port()),
            )?,
        };

        let data_dir = PathBuf::from(
            env.get("GATEHOUSE_DATA_DIR")
                .unwrap_or_else(|| "./data".into()),
        );

        let (database_url, embedded_database) = match env.get("DATABASE_URL") {
            Some(url) => {
                if !(url.starts_with("sqlite:")
                    || url.starts_with("postgres:")
                    || url.starts_with("postgresql:"))
                {
                    return Err(invalid(
                        "DATABASE_URL",
                        "must start with sqlite: or postgres://",
                    ));
                }
                (url, false)
            }
            None => (
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("gatehouse.db").display()
                ),
                true,
            ),
        };
        let is_postgres = database_url.starts_with("postgres");

        let database_max_connections = match env.get("DATABASE_MAX_CONNECTIONS") {
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "DATABASE_MAX_CONNECTIONS",
                        "expected a number from 1 to 500",
                    )
                })?,
            None => 16,
        };
        let database_read_cache_ms = match env.get("DATABASE_READ_CACHE_MS") {
            Some(raw) => raw
                .parse::<u64>()
                .ok()
                .filter(|n| *n <= 60_000)
                .ok_or_else(|| {
                    invalid(
                        "DATABASE_READ_CACHE_MS",
                        "expected milliseconds from 0 to 60000",
                    )
                })?,
            None => 2000,
        };

        let (secret_key, secret_key_source) = match env.get("GATEHOUSE_SECRET_KEY") {
            Some(raw) => (
                SecretBox::from_base64(&raw)
                    .map_err(|_| invalid("GATEHOUSE_SECRET_KEY", "expected 32 random bytes, base64 encoded (e.g. `openssl rand -base64 32`)"))?,
                SecretKeySource::Environment,
            ),
            None if is_postgres => {
                return Err(invalid(
                    "GATEHOUSE_SECRET_KEY",
                    "required with PostgreSQL: set it to 32 random bytes, base64 encoded (e.g. `openssl rand -base64 32`), the same on every instance",
                ))
            }
            None => load_or_generate_key(&data_dir, generate_key)?,
        };

        let ory_api_url = parse_base_url(
            "ORY_API_URL",
            &env.get("ORY_API_URL")
                .unwrap_or_else(|| "https://api.console.ory.sh".into()),
        )?;

        let number = |var: &'static str,
                      default: i64,
                      range: std::ops::RangeInclusive<i64>|
         -> Result<i64, ConfigError> {
            match env.get(var) {
                None => Ok(default),
                Some(raw) => raw
                    .parse::<i64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        invalid(
                            var,
                            format!(
                                "expected a number of seconds from {} to {}",
                                range.start(),
                                range.end()
                            ),
                        )
                    }),
            }
        };
        let saml_clock_skew_seconds = number("GATEHOUSE_SAML_CLOCK_SKEW_SECONDS", 180, 0..=3600)?;
        let access_token_ttl_seconds =
            number("GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS", 3600, 60..=86_400)?;
        let metadata_allow_private = match env.get("GATEHOUSE_METADATA_ALLOW_PRIVATE").as_deref() {
            None | Some("false") | Some("0") => false,
            Some("true") | Some("1") => true,
            Some(_) => {
                return Err(invalid(
                    "GATEHOUSE_METADATA_ALLOW_PRIVATE",
                    "expected true or false",
                ))
            }
        };

        let trusted_proxies = env
            .get("GATEHOUSE_TRUSTED_PROXIES")
            .unwrap_or_default()
            .parse()
            .map_err(|e: gatehouse_domain::client_addr::BadProxy| {
                invalid("GATEHOUSE_TRUSTED_PROXIES", e.to_string())
            })?;

        let ory_sync_interval_ms = match env.get("ORY_SYNC_INTERVAL_MS") {
            None => 2000,
            Some(raw) => raw
                .parse::<i64>()
                .ok()
                .filter(|n| (0..=600_000).contains(n))
                .ok_or_else(|| {
                    invalid(
                        "ORY_SYNC_INTERVAL_MS",
                        "expected milliseconds from 0 (no worker) to 600000",
                    )
                })?,
        };
        let ory_drift_check_seconds = number("ORY_DRIFT_CHECK_SECONDS", 300, 0..=86_400)?;
        let purge_interval_seconds = number("GATEHOUSE_PURGE_INTERVAL_SECONDS", 60, 1..=3600)?;
        let shutdown_grace_seconds = number("GATEHOUSE_SHUTDOWN_GRACE_SECONDS", 30, 0..=3600)?;
        let key_reload_seconds = number("GATEHOUSE_KEY_RELOAD_SECONDS", 60, 1..=3600)?;
        let trace_retention_days = number("GATEHOUSE_TRACE_RETENTION_DAYS", 30, 0..=3650)?;
        let webhook_interval_ms = number("GATEHOUSE_WEBHOOK_INTERVAL_MS", 1000, 0..=3_600_000)?;
        let metrics_addr = match env.get("GATEHOUSE_METRICS_ADDR") {
            None => None,
            Some(raw) => Some(raw.parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "GATEHOUSE_METRICS_ADDR",
                    "expected host:port, e.g. 127.0.0.1:9100",
                )
            })?),
        };
        if metrics_addr == Some(listen_addr) {
            return Err(invalid(
                "GATEHOUSE_METRICS_ADDR",
                "must differ from GATEHOUSE_LISTEN_ADDR (leave it unset to serve /metrics there)",
            ));
        }
        let log_format = LogFormat::from_env(env)?;

        let site_root = PathBuf::from(
            env.get("LEPTOS_SITE_ROOT")
                .unwrap_or_else(|| "target/site".into()),
        );

        Ok(Self {
            listen_addr,
            public_url,
            database_url,
            database_max_connections,
            database_read_cache_ms,
            embedded_database,
            data_dir,
            secret_key,
            secret_key_source,
            ory_api_url,
            site_root,
            saml_clock_skew_seconds,
            trace_retention_days,
            webhook_interval_ms,
            access_token_ttl_seconds,
            metadata_allow_private,
            trusted_proxies,
            ory_sync_interval_ms,
            ory_drift_check_seconds,
            purge_interval_seconds,
            shutdown_grace_seconds,
            key_reload_seconds,
            metrics_addr,
            log_format,
        })
    }
}

fn parse_base_url(var: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(raw.trim()).map_err(|e| invalid(var, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            var,
            "expected an http(s) URL such as https://sso.example.com",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid(var, "must not have a query or fragment"));
    }
    Ok(url)
}

fn load_or_generate_key(
    data_dir: &Path,
    generate: bool,
) -> Result<(SecretBox, SecretKeySource), ConfigError> {
    let path = data_dir.join("secret.key");
    if path.exists() {
        let raw = std::fs::read_to_string(&path)
            .map_err(|e| ConfigError::Io(format!("cannot read {}: {e}", path.display())))?;
        let key = SecretBox::from_base64(&raw).map_err(|_| {
            invalid(
                "GATEHOUSE_SECRET_KEY",
                format!("{} does not hold a base64 32-byte key", path.display()),
            )
        })?;
        return Ok((key, SecretKeySource::File(path)));
    }
    if !generate {
        let throwaway = SecretBox::from_base64(&SecretBox::generate_base64())
            .map_err(|_| ConfigError::Io("generated key is invalid".into()))?;
        return Ok((throwaway, SecretKeySource::WouldGenerate(path)));
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| ConfigError::Io(format!("cannot create {}: {e}", data_dir.display())))?;
    let encoded = SecretBox::generate_base64();
    write_private(&path, &encoded)
        .map_err(|e| ConfigError::Io(format!("cannot write {}: {e}", path.display())))?;
    let key = SecretBox::from_base64(&encoded)
        .map_err(|_| ConfigError::Io("generated key is invalid".into()))?;
    Ok((key, SecretKeySource::Generated(path)))
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())?;
    f.write_all(b"\n")
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<'static> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env(Box::new(move |k| map.get(k).cloned()))
    }

    fn tmp() -> PathBuf {
        std::env::temp_dir().join(format!("gh_cfg_{}", gatehouse_domain::tokens::new_id("t")))
    }

    #[test]
    fn defaults_use_embedded_sqlite_and_generate_a_private_key() {
        let dir = tmp();
        let d = dir.to_string_lossy().to_string();
        let c = Config::from_env(&env(&[("GATEHOUSE_DATA_DIR", &d)])).unwrap();
        assert!(c.embedded_database);
        assert!(c.database_url.starts_with("sqlite://"));
        assert_eq!(c.public_url.as_str(), "http://localhost:3000/");
        assert_eq!(c.ory_api_url.as_str(), "https://api.console.ory.sh/");
        let key_path = dir.join("secret.key");
        assert_eq!(
            c.secret_key_source,
            SecretKeySource::Generated(key_path.clone())
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // second start reuses the key
        let c2 = Config::from_env(&env(&[("GATEHOUSE_DATA_DIR", &d)])).unwrap();
        assert_eq!(c2.secret_key_source, SecretKeySource::File(key_path));
        let sealed = c.secret_key.seal("x", b"y").unwrap();
        assert_eq!(c2.secret_key.open("x", &sealed).unwrap(), b"y");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn postgres_requires_a_secret_key() {
        let err =
            Config::from_env(&env(&[("DATABASE_URL", "postgres://localhost/x")])).unwrap_err();
        assert!(err.to_string().starts_with("GATEHOUSE_SECRET_KEY"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_variable() {
        let d = tmp().to_string_lossy().to_string();
        for (var, value) in [
            ("GATEHOUSE_LISTEN_ADDR", "nope"),
            ("GATEHOUSE_PUBLIC_URL", "ftp://x"),
            ("DATABASE_URL", "mysql://x"),
            ("GATEHOUSE_SECRET_KEY", "short"),
            ("ORY_API_URL", "not a url"),
            ("DATABASE_MAX_CONNECTIONS", "0"),
            ("DATABASE_READ_CACHE_MS", "600001"),
            ("GATEHOUSE_SAML_CLOCK_SKEW_SECONDS", "-1"),
            ("GATEHOUSE_ACCESS_TOKEN_TTL_SECONDS", "abc"),
            ("GATEHOUSE_METADATA_ALLOW_PRIVATE", "yes please"),
        ] {
            let err =
                Config::from_env(&env(&[(var, value), ("GATEHOUSE_DATA_DIR", &d)])).unwrap_err();
            assert!(err.to_string().starts_with(var), "{var}: {err}");
        }
    }
}
