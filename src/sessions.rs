//! tower-sessions records kept in Gatehouse's own database (`sessions` table), so
//! sessions survive restarts and are shared by every instance.
//!
//! tower-sessions stamps expiry dates with the system clock, so this store compares
//! them with the system clock too (not the injected domain clock): one time base
//! per value.

use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_domain::clock::{Clock, SystemClock};
use gatehouse_domain::model::SessionRecord;
use gatehouse_domain::ports::SessionRecordStore;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result};
use tower_sessions::SessionStore;

#[derive(Clone)]
pub struct DbSessionStore {
    store: Arc<dyn SessionRecordStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for DbSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbSessionStore")
    }
}

impl DbSessionStore {
    pub fn new(store: Arc<dyn SessionRecordStore>) -> Self {
        Self {
            store,
            clock: Arc::new(SystemClock),
        }
    }

    fn to_row(record: &Record) -> Result<SessionRecord> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let expires_at = chrono::DateTime::from_timestamp(
            record.expiry_date.unix_timestamp(),
            record.expiry_date.nanosecond(),
        )
        .ok_or_else(|| Error::Encode("expiry out of range".into()))?;
        Ok(SessionRecord {
            id: record.id.to_string(),
            data,
            expires_at,
        })
    }

    /// Remove expired sessions now and then.
    pub fn spawn_cleanup(&self) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                every.tick().await;
                match this.store.delete_expired_sessions(this.clock.now()).await {
                    Ok(n) if n > 0 => tracing::debug!(removed = n, "expired sessions removed"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "session cleanup failed"),
                }
            }
        })
    }
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A 128-bit random id colliding is vanishingly unlikely; still, never overwrite.
        for _ in 0..8 {
            if self
                .store
                .create_session(&Self::to_row(record)?)
                .await
                .map_err(|e| Error::Backend(e.to_string()))?
            {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(Error::Backend("could not allocate a session id".into()))
    }

    async fn save(&self, record: &Record) -> Result<()> {
        self.store
            .save_session(&Self::to_row(record)?)
            .await
            .map_err(|e| Error::Backend(e.to_string()))
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let Some(row) = self
            .store
            .load_session(&id.to_string(), self.clock.now())
            .await
            .map_err(|e| Error::Backend(e.to_string()))?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data).map_err(|e| Error::Decode(e.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp())
            .map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        self.store
            .delete_session(&id.to_string())
            .await
            .map_err(|e| Error::Backend(e.to_string()))
    }
}
