//! Webhooks: a product's endpoints receive its events, signed per the Standard
//! Webhooks specification (`docs/webhooks.md`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::named::named_enum;

/// Deliveries one page of an endpoint's list holds unless asked otherwise.
pub const DELIVERIES_PER_PAGE: u32 = 20;

named_enum! {
    /// What a webhook tells.
    pub enum WebhookEvent {
        ConnectionCreated = "connection.created",
        ConnectionUpdated = "connection.updated",
        ConnectionDeleted = "connection.deleted",
        /// At most one a minute per connection.
        SignInFailed = "sign_in.failed",
        OrySyncFailed = "ory_sync.failed",
        OrySyncRecovered = "ory_sync.recovered",
        CertificateExpiring = "certificate.expiring",
        CertificateExpired = "certificate.expired",
        SetupLinkUsed = "setup_link.used",
    }
}

/// An endpoint as the dashboard and the admin API show it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointView {
    pub id: String,
    pub url: String,
    pub description: String,
    /// The events it receives; empty: all of them.
    pub events: Vec<WebhookEvent>,
    pub enabled: bool,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
}

/// A new endpoint and its signing secret (`whsec_…`), shown only here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookEndpoint {
    pub endpoint: WebhookEndpointView,
    pub secret: String,
}

named_enum! {
    pub enum DeliveryState {
        /// Waiting for its first attempt or a retry.
        Pending = "pending",
        Delivered = "delivered",
        /// Every attempt failed; "Resend" tries again.
        Failed = "failed",
    }
}

/// One message to one endpoint, and how its delivery went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryView {
    /// The `webhook-id` header: the same on every attempt and on "Resend".
    pub id: String,
    pub endpoint_id: String,
    pub event: WebhookEvent,
    pub state: DeliveryState,
    pub attempts: u32,
    /// The endpoint's last HTTP status.
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub delivered_at: Option<DateTime<Utc>>,
    /// The JSON body sent.
    pub payload: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_round_trips() {
        for e in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(e.as_str()), Some(*e));
            assert_eq!(
                serde_json::to_value(e).ok(),
                Some(serde_json::Value::String(e.as_str().into()))
            );
        }
    }
}
