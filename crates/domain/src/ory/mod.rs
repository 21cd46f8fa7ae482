//! Ory Network integration: the console API as a port, the settings that enable it
//! and the mirror of connections.
//!
//! API reference: <https://www.ory.sh/docs/reference/api> (console API, base
//! `https://api.console.ory.sh`, bearer auth with a session token `ory_st_…` or a
//! workspace API key `ory_wak_…`).

pub mod api;
pub mod provider;
pub mod settings;
pub mod sync;

pub use api::{OryApi, OryError, OryOrganization, OryProject};
pub use provider::provider_id;

use std::sync::Arc;

use crate::access::Access;
use crate::clock::Clock;
use crate::ports::OryPorts;
use crate::secret_box::SecretBox;
use crate::settings::DomainSettings;

/// Wakes the Ory sync worker when a change is queued.
#[derive(Clone, Default)]
pub struct OryWake(Arc<tokio::sync::Notify>);

impl OryWake {
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Returns at the next [`Self::wake`] (or at once if one came meanwhile).
    pub async fn woken(&self) {
        self.0.notified().await;
    }
}

/// The product's Ory settings ([`settings`]) and the mirror of its connections
/// ([`sync`]).
#[derive(Clone)]
pub struct OryIntegration {
    pub(crate) store: Arc<dyn OryPorts>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: DomainSettings,
    pub(crate) secrets: SecretBox,
    pub(crate) access: Access,
    pub(crate) ory: Arc<dyn OryApi>,
    pub(crate) ory_wake: OryWake,
    pub(crate) audit: crate::audit::AuditLog,
    pub(crate) webhooks: crate::webhooks::WebhookOutbox,
}

impl OryIntegration {
    /// The worker's wake-up call (see [`OryWake::woken`]).
    pub fn wake(&self) -> &OryWake {
        &self.ory_wake
    }
}

/// Is this a token kind the console API accepts?
pub fn token_kind(token: &str) -> Option<&'static str> {
    if token.starts_with("ory_st_") {
        Some("ory_st_")
    } else if token.starts_with("ory_wak_") {
        Some("ory_wak_")
    } else {
        None
    }
}

/// `ory_st_…WXYZ`: enough to recognise a token, useless to an attacker.
pub fn token_hint(token: &str) -> String {
    let prefix = token_kind(token).unwrap_or("");
    let tail: String = token
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_show_kind_and_last_four() {
        assert_eq!(token_hint("ory_st_abcdefgh1234"), "ory_st_…1234");
        assert_eq!(token_hint("ory_wak_zzzzWXYZ"), "ory_wak_…WXYZ");
        assert_eq!(token_kind("bearer"), None);
    }
}
