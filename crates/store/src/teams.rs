use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_domain::model::{Invite, InviteDetails, Member, Membership, Team};
use gatehouse_domain::ports::{StoreResult, TeamStore};
use sqlx::any::AnyRow;

use crate::rows::{ms, opt_ms, RowExt};
use crate::{map_err, SqlStore};

pub(crate) async fn insert_team(conn: &mut sqlx::AnyConnection, team: &Team) -> StoreResult<()> {
    sqlx::query("INSERT INTO teams (id, name, created_at, trial_ends_at) VALUES ($1, $2, $3, $4)")
        .bind(&team.id)
        .bind(&team.name)
        .bind(ms(team.created_at))
        .bind(ms(team.trial_ends_at))
        .execute(conn)
        .await
        .map(|_| ())
        .map_err(map_err)
}

pub(crate) async fn insert_membership(
    conn: &mut sqlx::AnyConnection,
    m: &Membership,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO memberships (team_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&m.team_id)
    .bind(&m.user_id)
    .bind(m.role.as_str())
    .bind(ms(m.created_at))
    .execute(conn)
    .await
    .map(|_| ())
    .map_err(map_err)
}

const TEAM_MEMBERSHIP_COLUMNS: &str =
    "t.id, t.name, t.created_at, t.trial_ends_at, m.user_id, m.role, m.created_at AS joined_at";

fn team_membership_from(row: &AnyRow) -> StoreResult<(Team, Membership)> {
    let team = Team {
        id: row.text("id")?,
        name: row.text("name")?,
        created_at: row.time("created_at")?,
        trial_ends_at: row.time("trial_ends_at")?,
    };
    let membership = Membership {
        team_id: team.id.clone(),
        user_id: row.text("user_id")?,
        role: row.role("role")?,
        created_at: row.time("joined_at")?,
    };
    Ok((team, membership))
}

const INVITE_COLUMNS: &str = "i.id, i.team_id, i.email, i.role, i.token_hash, i.created_by, i.created_at, i.expires_at, i.accepted_at";

fn invite_from(row: &AnyRow) -> StoreResult<Invite> {
    Ok(Invite {
        id: row.text("id")?,
        team_id: row.text("team_id")?,
        email: row.text("email")?,
        role: row.role("role")?,
        token_hash: row.text("token_hash")?,
        created_by: row.text("created_by")?,
        created_at: row.time("created_at")?,
        expires_at: row.time("expires_at")?,
        accepted_at: row.opt_time("accepted_at")?,
    })
}

#[async_trait]
impl TeamStore for SqlStore {
    async fn create_team(&self, team: &Team, owner: &Membership) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        insert_team(&mut tx, team).await?;
        insert_membership(&mut tx, owner).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn team(&self, team_id: &str) -> StoreResult<Option<Team>> {
        let row =
            sqlx::query("SELECT id, name, created_at, trial_ends_at FROM teams WHERE id = $1")
                .bind(team_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err)?;
        row.as_ref()
            .map(|r| {
                Ok(Team {
                    id: r.text("id")?,
                    name: r.text("name")?,
                    created_at: r.time("created_at")?,
                    trial_ends_at: r.time("trial_ends_at")?,
                })
            })
            .transpose()
    }

    async fn teams_for_user(&self, user_id: &str) -> StoreResult<Vec<(Team, Membership)>> {
        let sql = format!(
            "SELECT {TEAM_MEMBERSHIP_COLUMNS} FROM memberships m JOIN teams t ON t.id = m.team_id \
             WHERE m.user_id = $1 ORDER BY t.created_at, t.name, t.id"
        );
        let rows = sqlx::query(&sql)
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(team_membership_from).collect()
    }

    async fn membership(
        &self,
        team_id: &str,
        user_id: &str,
    ) -> StoreResult<Option<(Team, Membership)>> {
        let sql = format!(
            "SELECT {TEAM_MEMBERSHIP_COLUMNS} FROM memberships m JOIN teams t ON t.id = m.team_id \
             WHERE m.team_id = $1 AND m.user_id = $2"
        );
        let row = sqlx::query(&sql)
            .bind(team_id)
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref().map(team_membership_from).transpose()
    }

    async fn members(&self, team_id: &str) -> StoreResult<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT m.team_id, m.user_id, m.role, m.created_at, u.email FROM memberships m \
             JOIN users u ON u.id = m.user_id WHERE m.team_id = $1 ORDER BY m.created_at, u.email",
        )
        .bind(team_id)
        .fetch_all(&self.pool)
        .await
        .map_err(map_err)?;
        rows.iter()
            .map(|r| {
                Ok(Member {
                    membership: Membership {
                        team_id: r.text("team_id")?,
                        user_id: r.text("user_id")?,
                        role: r.role("role")?,
                        created_at: r.time("created_at")?,
                    },
                    email: r.text("email")?,
                })
            })
            .collect()
    }

    async fn remove_member(&self, team_id: &str, user_id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM memberships WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .execute(self.writer())
            .await
            .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn create_invite(&self, invite: &Invite) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO invites (id, team_id, email, role, token_hash, created_by, created_at, expires_at, accepted_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&invite.id)
        .bind(&invite.team_id)
        .bind(&invite.email)
        .bind(invite.role.as_str())
        .bind(&invite.token_hash)
        .bind(&invite.created_by)
        .bind(ms(invite.created_at))
        .bind(ms(invite.expires_at))
        .bind(opt_ms(invite.accepted_at))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn pending_invites(&self, team_id: &str) -> StoreResult<Vec<Invite>> {
        let sql = format!(
            "SELECT {INVITE_COLUMNS} FROM invites i WHERE i.team_id = $1 AND i.accepted_at IS NULL ORDER BY i.created_at"
        );
        let rows = sqlx::query(&sql)
            .bind(team_id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err)?;
        rows.iter().map(invite_from).collect()
    }

    async fn invite_by_token_hash(&self, token_hash: &str) -> StoreResult<Option<InviteDetails>> {
        let sql = format!(
            "SELECT {INVITE_COLUMNS}, t.name AS team_name, u.email AS inviter_email FROM invites i \
             JOIN teams t ON t.id = i.team_id JOIN users u ON u.id = i.created_by WHERE i.token_hash = $1"
        );
        let row = sqlx::query(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(|r| {
                Ok(InviteDetails {
                    invite: invite_from(r)?,
                    team_name: r.text("team_name")?,
                    inviter_email: r.text("inviter_email")?,
                })
            })
            .transpose()
    }

    async fn accept_invite(
        &self,
        invite_id: &str,
        membership: &Membership,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut tx = self.write_tx().await?;
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

    async fn delete_invite(&self, team_id: &str, invite_id: &str) -> StoreResult<bool> {
        let done = sqlx::query(
            "DELETE FROM invites WHERE team_id = $1 AND id = $2 AND accepted_at IS NULL",
        )
        .bind(team_id)
        .bind(invite_id)
        .execute(self.writer())
        .await
        .map_err(map_err)?;
        Ok(done.rows_affected() == 1)
    }
}
