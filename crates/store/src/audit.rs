//! The audit log: one row per admin change, read per team with the actors' labels.

use async_trait::async_trait;
use gatehouse_core::audit::{ActorKind, AuditAction, AuditEvent, AuditFilter};
use gatehouse_domain::ports::{AuditStore, StoreError, StoreResult};
use sqlx::any::AnyRow;

use crate::filters::Filters;
use crate::rows::{ms, RowExt};
use crate::{map_err, SqlStore};

fn event_from(r: &AnyRow) -> StoreResult<AuditEvent> {
    let kind = r.text("actor_kind")?;
    let action = r.text("action")?;
    Ok(AuditEvent {
        id: r.text("id")?,
        created_at: r.time("created_at")?,
        team_id: r.text("team_id")?,
        product: r.opt_text("product_id")?,
        actor_kind: ActorKind::parse(&kind)
            .ok_or_else(|| StoreError::Corrupt(format!("audit_events.actor_kind: {kind}")))?,
        actor_id: r.text("actor_id")?,
        actor_label: r.opt_text("actor_label")?,
        action: AuditAction::parse(&action)
            .ok_or_else(|| StoreError::Corrupt(format!("audit_events.action: {action}")))?,
        target_id: r.text("target_id")?,
        target_name: r.opt_text("target_name")?,
        changes: r.json("changes")?,
    })
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn insert_audit_event(&self, e: &AuditEvent) -> StoreResult<()> {
        let changes = serde_json::to_string(&e.changes)
            .map_err(|err| StoreError::Backend(format!("audit changes: {err}")))?;
        sqlx::query(
            "INSERT INTO audit_events (id, team_id, product_id, actor_kind, actor_id, action, \
             target_id, target_name, changes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&e.id)
        .bind(&e.team_id)
        .bind(&e.product)
        .bind(e.actor_kind.as_str())
        .bind(&e.actor_id)
        .bind(e.action.as_str())
        .bind(&e.target_id)
        .bind(&e.target_name)
        .bind(changes)
        .bind(ms(e.created_at))
        .execute(self.writer())
        .await
        .map(|_| ())
        .map_err(map_err)
    }

    async fn audit_events(
        &self,
        team_id: &str,
        filter: &AuditFilter,
        limit: u32,
    ) -> StoreResult<Vec<AuditEvent>> {
        let filters = Filters::default()
            .eq("a.team_id", Some(team_id))
            .eq("a.product_id", filter.product.as_deref())
            .eq("a.actor_id", filter.actor_id.as_deref())
            .eq("a.action", filter.action.map(AuditAction::as_str))
            .since("a.created_at", filter.from)
            .until("a.created_at", filter.to);
        // The actor's label: a user's email, an API key's name, a setup link's tenant.
        let sql = format!(
            "SELECT a.id, a.team_id, a.product_id, a.actor_kind, a.actor_id, a.action, a.target_id, \
             a.target_name, a.changes, a.created_at, \
             CASE a.actor_kind \
               WHEN 'user' THEN (SELECT u.email FROM users u WHERE u.id = a.actor_id) \
               WHEN 'api_key' THEN (SELECT k.name FROM api_keys k WHERE k.id = a.actor_id) \
               WHEN 'setup_link' THEN (SELECT l.tenant FROM setup_links l WHERE l.id = a.actor_id) \
             END AS actor_label \
             FROM audit_events a WHERE {} ORDER BY a.created_at DESC, a.id DESC LIMIT {limit} OFFSET {}",
            filters.sql(),
            filter.offset
        );
        let q = filters.bind(sqlx::query(&sql));
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(event_from).collect()
    }
}
