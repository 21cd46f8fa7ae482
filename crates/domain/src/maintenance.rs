//! Housekeeping: expired sign-in records, dashboard sessions, the health check.

use std::sync::Arc;

use crate::clock::Clock;
use crate::ports::{MaintenancePorts, PoolUsage, SessionRecordStore, StoreError};

#[derive(Clone)]
pub struct Maintenance {
    pub(crate) store: Arc<dyn MaintenancePorts>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Sign-in traces older than this go.
    pub(crate) trace_retention: chrono::Duration,
}

impl Maintenance {
    /// Remove expired pending logins, codes, tokens, replay entries and test results,
    /// and sign-in traces past their retention; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, StoreError> {
        let now = self.clock.now();
        let expired = self.store.purge_expired(now).await?;
        let traces = self.store.purge_traces(now - self.trace_retention).await?;
        Ok(expired + traces)
    }

    /// Whether the database answers; `Ok` names its engine.
    pub async fn check_database(&self) -> Result<&'static str, StoreError> {
        self.store.ping().await.map(|()| self.store.engine())
    }

    pub fn database_engine(&self) -> &'static str {
        self.store.engine()
    }

    /// The database pools' use now (for metrics).
    pub fn pool_usage(&self) -> Vec<PoolUsage> {
        self.store.pool_usage()
    }

    /// Where dashboard sessions are kept, for the session layer.
    pub fn session_records(&self) -> Arc<dyn SessionRecordStore> {
        self.store.clone()
    }
}
