//! Row decoding helpers and the mapping from sqlx errors to [`StoreError`].

use chrono::{DateTime, Utc};
use gatehouse_core::views::Role;
use gatehouse_domain::clock::{from_millis, to_millis};
use gatehouse_domain::ports::StoreError;
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;
use sqlx::Row;

pub fn map_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.kind() == ErrorKind::UniqueViolation => {
            StoreError::Conflict(db.constraint().unwrap_or("unique").to_string())
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_) => StoreError::Corrupt(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    to_millis(t)
}

pub(crate) fn opt_ms(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(to_millis)
}

/// Reading a row's columns as the store's types. An engine's row gives the four
/// primitives; instants (BIGINT milliseconds), roles and JSON text follow from them.
pub(crate) trait RowExt {
    fn text(&self, col: &str) -> Result<String, StoreError>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, col: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError>;

    fn time(&self, col: &str) -> Result<DateTime<Utc>, StoreError> {
        self.int(col).map(from_millis)
    }
    fn opt_time(&self, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        Ok(self.opt_int(col)?.map(from_millis))
    }
    fn role(&self, col: &str) -> Result<Role, StoreError> {
        let raw = self.text(col)?;
        Role::parse(&raw).ok_or_else(|| StoreError::Corrupt(format!("unknown role {raw}")))
    }
    fn json<T: serde::de::DeserializeOwned>(&self, col: &str) -> Result<T, StoreError> {
        let raw = self.text(col)?;
        serde_json::from_str(&raw).map_err(|e| StoreError::Corrupt(format!("{col}: {e}")))
    }
}

impl RowExt for AnyRow {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.try_get::<String, _>(col).map_err(crate::map_err)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        self.try_get::<Option<String>, _>(col)
            .map_err(crate::map_err)
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.try_get::<i64, _>(col).map_err(crate::map_err)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        self.try_get::<Option<i64>, _>(col).map_err(crate::map_err)
    }
}
