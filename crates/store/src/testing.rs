//! Fresh databases for tests, on both engines.
//!
//! * SQLite: a new file in a temporary directory (removed when the guard drops).
//! * PostgreSQL: a new database `gh_test_<random>` on the server named by
//!   `GATEHOUSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//!   The test script drops leftovers from earlier runs before starting.

use std::path::PathBuf;

use sqlx::Connection;

use crate::Engine;

pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Keeps a test database alive; deletes the SQLite file on drop.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub engine: Engine,
    dir: Option<PathBuf>,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl TestDatabase {
    /// Another handle on the same database (for a second server on it); only the
    /// original removes an SQLite file.
    pub fn shared(&self) -> TestDatabase {
        TestDatabase {
            url: self.url.clone(),
            engine: self.engine,
            dir: None,
        }
    }
}

fn unique_suffix() -> String {
    gatehouse_domain::tokens::base32(&gatehouse_domain::tokens::random_bytes(10))
}

/// Which engines to test: `GATEHOUSE_TEST_ENGINES=sqlite,postgres` (default both).
pub fn engines() -> Vec<Engine> {
    let raw = std::env::var("GATEHOUSE_TEST_ENGINES").unwrap_or_else(|_| "sqlite,postgres".into());
    raw.split(',')
        .filter_map(|e| match e.trim() {
            "sqlite" => Some(Engine::Sqlite),
            "postgres" => Some(Engine::Postgres),
            _ => None,
        })
        .collect()
}

pub async fn fresh_database(engine: Engine) -> Result<TestDatabase, String> {
    match engine {
        Engine::Sqlite => {
            let dir = std::env::temp_dir().join(format!("gh_test_{}", unique_suffix()));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let file = dir.join("gatehouse.db");
            Ok(TestDatabase {
                url: format!("sqlite://{}?mode=rwc", file.display()),
                engine,
                dir: Some(dir),
            })
        }
        Engine::Postgres => {
            let admin_url = std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
            let name = format!("gh_test_{}", unique_suffix());
            let mut conn = sqlx::PgConnection::connect(&admin_url)
                .await
                .map_err(|e| format!("cannot reach PostgreSQL at {admin_url}: {e}"))?;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            let _ = conn.close().await;
            let mut url = url::Url::parse(&admin_url).map_err(|e| e.to_string())?;
            url.set_path(&name);
            Ok(TestDatabase {
                url: url.to_string(),
                engine,
                dir: None,
            })
        }
    }
}

/// A connected store on a fresh PostgreSQL database, when PostgreSQL is among the
/// test engines.
pub async fn postgres_store() -> Result<Option<(TestDatabase, crate::SqlStore)>, String> {
    if !engines().contains(&Engine::Postgres) {
        return Ok(None);
    }
    let db = fresh_database(Engine::Postgres).await?;
    let store = crate::SqlStore::connect(&db.url, &crate::PoolSettings::default())
        .await
        .map_err(|e| e.to_string())?;
    Ok(Some((db, store)))
}
