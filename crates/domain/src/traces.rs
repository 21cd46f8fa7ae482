//! Reading sign-in traces: a product's admins in the dashboard, its API keys through
//! `GET /api/v1/sso/traces`. Always within one product ([`ProductScope`]); a trace of
//! another product is `NotFound`. Recording is [`crate::sso::trace`].

use std::sync::Arc;

use gatehouse_core::traces::{SignInTrace, TraceFilter, TracePage};

use crate::access::Access;
use crate::error::{DomainError, DomainResult};
use crate::ports::TraceStore;
use crate::scope::ProductScope;
use crate::sso::trace::TraceLog;

#[derive(Clone)]
pub struct Traces {
    pub(crate) store: Arc<dyn TraceStore>,
    pub(crate) access: Access,
    pub(crate) log: TraceLog,
}

impl Traces {
    /// A page of the product's traces, newest first, without the IdP responses.
    pub async fn traces(
        &self,
        scope: &ProductScope,
        filter: &TraceFilter,
    ) -> DomainResult<TracePage> {
        let limit = filter.page_size();
        let mut traces = self
            .store
            .traces(&scope.product().id, filter, limit + 1)
            .await?;
        let more = traces.len() > limit as usize;
        traces.truncate(limit as usize);
        Ok(TracePage { traces, more })
    }

    /// One of the product's traces, with the redacted IdP response.
    pub async fn trace(&self, scope: &ProductScope, id: &str) -> DomainResult<SignInTrace> {
        self.store
            .trace(&scope.product().id, id)
            .await?
            .ok_or(DomainError::NotFound)
    }

    pub async fn dashboard_traces(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        filter: &TraceFilter,
    ) -> DomainResult<TracePage> {
        let (_, scope) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        self.traces(&scope, filter).await
    }

    pub async fn dashboard_trace(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        trace_id: &str,
    ) -> DomainResult<SignInTrace> {
        let (_, scope) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        self.trace(&scope, trace_id).await
    }

    /// Wait until the traces of finished sign-ins are stored (shutdown, tests).
    pub async fn flush(&self) {
        self.log.flush().await
    }

    /// Traces dropped rather than slow a sign-in down (for metrics).
    pub fn dropped(&self) -> u64 {
        self.log.dropped()
    }
}
