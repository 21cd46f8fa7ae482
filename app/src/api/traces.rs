//! Sign-in traces of a product: the list on a connection's page, one trace, and the
//! search by the reference id a user quotes from an error page.

use gatehouse_core::traces::{SignInTrace, TracePage};
use leptos::prelude::*;

use crate::error::AppError;

/// A page of traces, newest first. `connection`, `outcome` (`success` / `failure`)
/// and `reference` narrow it; empty strings mean "any".
#[server(prefix = "/rpc", endpoint = "traces/list")]
pub async fn list_traces(
    team: String,
    product: String,
    connection: Option<String>,
    outcome: Option<String>,
    reference: Option<String>,
    offset: u32,
) -> Result<TracePage, AppError> {
    use super::ssr;
    use gatehouse_core::traces::{TraceFilter, TraceOutcome};
    use gatehouse_core::FieldError;

    let user_id = ssr::user_id().await?;
    let outcome = match non_empty(outcome) {
        None => None,
        Some(raw) => Some(TraceOutcome::parse(&raw).ok_or_else(|| {
            FieldError::new("outcome", "Choose success or failure (or nothing for all).")
        })?),
    };
    let filter = TraceFilter {
        connection_id: non_empty(connection),
        outcome,
        reference_id: non_empty(reference),
        offset,
        limit: TraceFilter::DEFAULT_LIMIT,
        ..TraceFilter::default()
    };
    Ok(ssr::services()?
        .traces
        .dashboard_traces(&user_id, &team, &product, &filter)
        .await?)
}

/// One trace, with the (redacted) IdP response.
#[server(prefix = "/rpc", endpoint = "traces/get")]
pub async fn get_trace(
    team: String,
    product: String,
    trace: String,
) -> Result<SignInTrace, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .traces
        .dashboard_trace(&user_id, &team, &product, &trace)
        .await?)
}

/// A trimmed, non-empty value, or `None`.
#[cfg(feature = "ssr")]
fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
