//! Telling a product's webhooks when a SAML connection's signing certificates are
//! about to expire or have expired (`certificate.expiring`, `certificate.expired`).
//! The check runs hourly on every instance; the store remembers what was told, so
//! each level is told once per certificate expiry. What matters is the certificate
//! that expires last: while one is valid, sign-ins work.

use gatehouse_core::views::CertificateHealth;
use gatehouse_core::webhooks::WebhookEvent;
use serde_json::json;

use crate::error::DomainResult;
use crate::model::IdpConfig;
use crate::sso::connections::Connections;

impl Connections {
    /// Tell what is due; returns how many events were queued.
    pub async fn check_certificates(&self) -> DomainResult<usize> {
        let now = self.clock.now();
        let mut told = 0;
        for c in self.store.saml_connections().await? {
            let IdpConfig::Saml(saml) = &c.idp else {
                continue;
            };
            let Some(last) = saml.idp.certificates.iter().map(|x| x.not_after).max() else {
                continue;
            };
            let health = CertificateHealth::at(last, now);
            let (event, days) = match health {
                CertificateHealth::Valid => continue,
                CertificateHealth::Expiring { days } | CertificateHealth::ExpiringSoon { days } => {
                    (WebhookEvent::CertificateExpiring, Some(days))
                }
                CertificateHealth::Expired => (WebhookEvent::CertificateExpired, None),
            };
            if !self
                .store
                .record_certificate_notice(&c.id, last, health.as_str(), now)
                .await?
            {
                continue;
            }
            tracing::info!(connection_id = %c.id, state = health.as_str(), expires_at = %last, "connection certificate needs attention");
            self.webhooks
                .emit(
                    &c.product_id,
                    event,
                    &c.id,
                    json!({
                        "connectionId": c.id,
                        "product": c.product_id,
                        "tenant": c.tenant,
                        "name": c.name,
                        "state": health.as_str(),
                        "expiresAt": last.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        "daysLeft": days,
                    }),
                )
                .await;
            told += 1;
        }
        Ok(told)
    }
}
