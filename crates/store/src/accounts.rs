use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{Membership, Team, User};
use gatehouse_domain::ports::{AccountStore, LoginAttempt, StoreResult};
use sqlx::any::AnyRow;

use crate::rows::{ms, RowExt};
use crate::teams::{insert_membership, insert_team};
use crate::{map_err, Engine, SqlStore};

pub(crate) fn user_from(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: row.text("id")?,
        email: row.text("email")?,
        password_hash: row.text("password_hash")?,
        created_at: row.time("created_at")?,
    })
}

async fn insert_user(tx: &mut sqlx::AnyConnection, user: &User) -> StoreResult<()> {
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&user.id)
        .bind(&user.email)
        .bind(&user.password_hash)
        .bind(ms(user.created_at))
        .execute(tx)
        .await
        .map(|_| ())
        .map_err(map_err)
}

#[async_trait]
impl AccountStore for SqlStore {
    async fn create_user_with_team(
        &self,
        user: &User,
        team: &Team,
        owner: &Membership,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        insert_user(&mut tx, user).await?;
        insert_team(&mut tx, team).await?;
        insert_membership(&mut tx, owner).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn create_user_accepting_invite(
        &self,
        user: &User,
        invite_id: &str,
        membership: &Membership,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
        insert_user(&mut tx, user).await?;
        let accepted = sqlx::query(
            "UPDATE invites SET accepted_at = $1 WHERE id = $2 AND accepted_at IS NULL",
        )
        .bind(ms(at))
        .bind(invite_id)
        .execute(&mut *tx)
        .await
        .map_err(map_err)?
        .rows_affected();
        if accepted != 1 {
            tx.rollback().await.map_err(map_err)?;
            return Ok(false);
        }
        insert_membership(&mut tx, membership).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row =
            sqlx::query("SELECT id, email, password_hash, created_at FROM users WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn user_by_id(&self, id: &str) -> StoreResult<Option<User>> {
        let row =
            sqlx::query("SELECT id, email, password_hash, created_at FROM users WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.as_ref().map(user_from).transpose()
    }

    async fn begin_login_attempt(
        &self,
        email: &str,
        at: DateTime<Utc>,
        since: DateTime<Utc>,
        is_locked: &(dyn for<'f> Fn(&'f [DateTime<Utc>]) -> bool + Send + Sync),
    ) -> StoreResult<LoginAttempt> {
        // SQLite: the write transaction (BEGIN IMMEDIATE on the one writer) already
        // serializes attempts. PostgreSQL: a transaction-scoped lock per email.
        let mut tx = self.write_tx().await?;
        if self.engine_kind() == Engine::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
                .bind(email)
                .execute(&mut *tx)
                .await
                .map_err(map_err)?;
        }
        let rows =
            sqlx::query("SELECT at FROM failed_logins WHERE email = $1 AND at >= $2 ORDER BY at")
                .bind(email)
                .bind(ms(since))
                .fetch_all(&mut *tx)
                .await
                .map_err(map_err)?;
        let mut failures = rows
            .iter()
            .map(|r| r.time("at"))
            .collect::<StoreResult<Vec<_>>>()?;
        if is_locked(&failures) {
            tx.rollback().await.map_err(map_err)?;
            return Ok(LoginAttempt::Locked(failures));
        }
        sqlx::query("INSERT INTO failed_logins (email, at) VALUES ($1, $2)")
            .bind(email)
            .bind(ms(at))
            .execute(&mut *tx)
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        failures.push(at);
        Ok(LoginAttempt::Counted(failures))
    }

    async fn clear_failed_logins(&self, email: &str) -> StoreResult<()> {
        sqlx::query("DELETE FROM failed_logins WHERE email = $1")
            .bind(email)
            .execute(self.writer())
            .await
            .map(|_| ())
            .map_err(map_err)
    }
}
