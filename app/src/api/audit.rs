//! The team's audit log: who changed what, newest first, one page at a time.

use gatehouse_core::audit::AuditPage;
use leptos::prelude::*;

use crate::error::AppError;

/// A page of a team's audit events, newest first. `product`, `actor` (a user id) and
/// `action` (`AuditAction::as_str`) narrow it; empty strings mean "any".
#[server(prefix = "/rpc", endpoint = "audit/list")]
pub async fn list_audit(
    team: String,
    product: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    offset: u32,
) -> Result<AuditPage, AppError> {
    use super::ssr;
    use gatehouse_core::audit::{AuditAction, AuditFilter};
    use gatehouse_core::FieldError;

    let user_id = ssr::user_id().await?;
    let action = match non_empty(action) {
        None => None,
        Some(raw) => Some(AuditAction::parse(&raw).ok_or_else(|| {
            FieldError::new(
                "action",
                "Choose one of the listed actions (or nothing for any).",
            )
        })?),
    };
    let filter = AuditFilter {
        product: non_empty(product),
        actor_id: non_empty(actor),
        action,
        offset,
        limit: AuditFilter::DEFAULT_LIMIT,
        ..AuditFilter::default()
    };
    Ok(ssr::services()?
        .audit
        .dashboard_events(&user_id, &team, &filter)
        .await?)
}

/// A trimmed, non-empty value, or `None`.
#[cfg(feature = "ssr")]
fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}
