use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::SessionRecord;
use gatehouse_domain::ports::{SessionRecordStore, StoreError, StoreResult};

use crate::rows::{ms, RowExt};
use crate::{map_err, SqlStore};

#[async_trait]
impl SessionRecordStore for SqlStore {
    async fn load_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SessionRecord>> {
        let row = sqlx::query(
            "SELECT id, data, expires_at FROM sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(id)
        .bind(ms(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.as_ref()
            .map(|r| {
                Ok(SessionRecord {
                    id: r.text("id")?,
                    data: r.text("data")?,
                    expires_at: r.time("expires_at")?,
                })
            })
            .transpose()
    }

    async fn create_session(&self, record: &SessionRecord) -> StoreResult<bool> {
        match sqlx::query("INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3)")
            .bind(&record.id)
            .bind(&record.data)
            .bind(ms(record.expires_at))
            .execute(self.writer())
            .await
            .map_err(map_err)
        {
            Ok(_) => Ok(true),
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn save_session(&self, record: &SessionRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO sessions (id, data, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
        )
        .bind(&record.id)
        .bind(&record.data)
        .bind(ms(record.expires_at))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn delete_session(&self, id: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id)
            .execute(self.writer())
            .await
            .map(|_| ())
            .map_err(map_err)
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(self.writer())
            .await
            .map(|d| d.rows_affected())
            .map_err(map_err)
    }
}
