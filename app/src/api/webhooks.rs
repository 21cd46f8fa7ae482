//! A product's webhook endpoints and their deliveries: list, add and remove
//! endpoints, page through what was sent, and send a delivery again.

use gatehouse_core::webhooks::{CreatedWebhookEndpoint, WebhookDeliveryView, WebhookEndpointView};
use leptos::prelude::*;

use crate::error::AppError;

/// The product's endpoints (never their secrets).
#[server(prefix = "/rpc", endpoint = "webhooks/list")]
pub async fn list_webhook_endpoints(
    team: String,
    product: String,
) -> Result<Vec<WebhookEndpointView>, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .webhooks
        .dashboard_endpoints(&user_id, &team, &product)
        .await?)
}

/// A new endpoint and its signing secret, shown once. `events` is a comma-separated
/// list of event names; empty means every event.
#[server(prefix = "/rpc", endpoint = "webhooks/create")]
pub async fn create_webhook_endpoint(
    team: String,
    product: String,
    url: String,
    description: String,
    events: String,
) -> Result<CreatedWebhookEndpoint, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    let events = split_events(&events);
    Ok(ssr::services()?
        .webhooks
        .dashboard_create_endpoint(&user_id, &team, &product, &url, &description, &events)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "webhooks/delete")]
pub async fn delete_webhook_endpoint(
    team: String,
    product: String,
    endpoint: String,
) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .webhooks
        .dashboard_delete_endpoint(&user_id, &team, &product, &endpoint)
        .await?)
}

/// A page of an endpoint's deliveries, newest first (a full page holds 20).
#[server(prefix = "/rpc", endpoint = "webhooks/deliveries")]
pub async fn list_webhook_deliveries(
    team: String,
    product: String,
    endpoint: String,
    offset: u32,
) -> Result<Vec<WebhookDeliveryView>, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .webhooks
        .dashboard_deliveries(&user_id, &team, &product, &endpoint, offset)
        .await?)
}

/// Send a delivery again (same `webhook-id`).
#[server(prefix = "/rpc", endpoint = "webhooks/resend")]
pub async fn resend_webhook_delivery(
    team: String,
    product: String,
    delivery: String,
) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .webhooks
        .dashboard_resend(&user_id, &team, &product, &delivery)
        .await?)
}

/// `"a, b,,c"` → `["a", "b", "c"]`: trimmed names, empties dropped.
#[cfg(feature = "ssr")]
fn split_events(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::split_events;

    #[test]
    fn events_are_split_trimmed_and_empties_dropped() {
        assert_eq!(
            split_events(" connection.created, ,sign_in.failed,,"),
            vec![
                "connection.created".to_string(),
                "sign_in.failed".to_string()
            ]
        );
        assert!(split_events("").is_empty());
        assert!(split_events(" , ").is_empty());
    }
}
