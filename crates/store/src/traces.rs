//! Sign-in traces: stored in batches by the trace writer, listed per product.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use gatehouse_core::traces::{
    FailureReason, SignInKind, SignInTrace, TraceFilter, TraceOutcome, TracePurpose,
};
use gatehouse_domain::ports::{StoreError, StoreResult, TraceStore};
use sqlx::any::AnyRow;

use crate::filters::Filters;
use crate::rows::{ms, RowExt};
use crate::{map_err, SqlStore};

/// The columns of a listed trace (all but the IdP response).
const LISTED: &str = "id, product_id, connection_id, tenant, client_id, kind, purpose, outcome, \
     reason, detail, subject, email, reference_id, created_at";
const COLUMNS_PER_ROW: usize = 15;

/// A named column's value, or `Corrupt` naming it.
fn named<T>(r: &AnyRow, col: &str, parse: fn(&str) -> Option<T>) -> StoreResult<T> {
    let raw = r.text(col)?;
    parse(&raw).ok_or_else(|| StoreError::Corrupt(format!("sign_in_traces.{col}: {raw}")))
}

fn trace_from(r: &AnyRow, with_response: bool) -> StoreResult<SignInTrace> {
    let reason = r.opt_text("reason")?;
    Ok(SignInTrace {
        id: r.text("id")?,
        created_at: r.time("created_at")?,
        product: r.text("product_id")?,
        connection_id: r.opt_text("connection_id")?,
        tenant: r.opt_text("tenant")?,
        client_id: r.opt_text("client_id")?,
        kind: named(r, "kind", SignInKind::parse)?,
        purpose: named(r, "purpose", TracePurpose::parse)?,
        outcome: named(r, "outcome", TraceOutcome::parse)?,
        // A reason this build does not know reads as the generic one.
        reason: reason.map(|r| FailureReason::parse(&r).unwrap_or(FailureReason::Rejected)),
        detail: r.opt_text("detail")?,
        subject: r.opt_text("subject")?,
        email: r.opt_text("email")?,
        reference_id: r.text("reference_id")?,
        idp_response: if with_response {
            r.opt_text("idp_response")?
        } else {
            None
        },
    })
}

impl SqlStore {
    async fn insert_trace_rows(&self, traces: &[SignInTrace]) -> Result<(), sqlx::Error> {
        let mut sql = String::from(
            "INSERT INTO sign_in_traces (id, product_id, connection_id, tenant, client_id, kind, \
             purpose, outcome, reason, detail, subject, email, reference_id, idp_response, created_at) VALUES ",
        );
        for i in 0..traces.len() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * COLUMNS_PER_ROW;
            let row: Vec<String> = (1..=COLUMNS_PER_ROW)
                .map(|c| format!("${}", n + c))
                .collect();
            sql.push('(');
            sql.push_str(&row.join(", "));
            sql.push(')');
        }
        let mut q = sqlx::query(&sql);
        for t in traces {
            q = q
                .bind(&t.id)
                .bind(&t.product)
                .bind(&t.connection_id)
                .bind(&t.tenant)
                .bind(&t.client_id)
                .bind(t.kind.as_str())
                .bind(t.purpose.as_str())
                .bind(t.outcome.as_str())
                .bind(t.reason.map(FailureReason::as_str))
                .bind(&t.detail)
                .bind(&t.subject)
                .bind(&t.email)
                .bind(&t.reference_id)
                .bind(&t.idp_response)
                .bind(ms(t.created_at));
        }
        q.execute(self.writer()).await.map(|_| ())
    }
}

#[async_trait]
impl TraceStore for SqlStore {
    async fn insert_traces(&self, traces: &[SignInTrace]) -> StoreResult<()> {
        if traces.is_empty() {
            return Ok(());
        }
        if self.insert_trace_rows(traces).await.is_ok() {
            return Ok(());
        }
        // One bad row (its product deleted meanwhile) must not lose the others.
        let mut last = Ok(());
        for t in traces {
            if let Err(e) = self.insert_trace_rows(std::slice::from_ref(t)).await {
                last = Err(map_err(e));
            }
        }
        last
    }

    async fn traces(
        &self,
        product_id: &str,
        filter: &TraceFilter,
        limit: u32,
    ) -> StoreResult<Vec<SignInTrace>> {
        let filters = Filters::default()
            .eq("product_id", Some(product_id))
            .eq("connection_id", filter.connection_id.as_deref())
            .eq("tenant", filter.tenant.as_deref())
            .eq("client_id", filter.client_id.as_deref())
            .eq("outcome", filter.outcome.map(TraceOutcome::as_str))
            .eq("reference_id", filter.reference_id.as_deref())
            .since("created_at", filter.from)
            .until("created_at", filter.to);
        let sql = format!(
            "SELECT {LISTED} FROM sign_in_traces WHERE {} ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET {}",
            filters.sql(),
            filter.offset
        );
        let q = filters.bind(sqlx::query(&sql));
        let rows = q.fetch_all(&self.pool).await.map_err(map_err)?;
        rows.iter().map(|r| trace_from(r, false)).collect()
    }

    async fn trace(&self, product_id: &str, id: &str) -> StoreResult<Option<SignInTrace>> {
        let row = sqlx::query(&format!(
            "SELECT {LISTED}, idp_response FROM sign_in_traces WHERE product_id = $1 AND id = $2"
        ))
        .bind(product_id)
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(map_err)?;
        row.map(|r| trace_from(&r, true)).transpose()
    }

    async fn purge_traces(&self, before: DateTime<Utc>) -> StoreResult<u64> {
        self.purge_before("sign_in_traces", "created_at", before)
            .await
    }
}
