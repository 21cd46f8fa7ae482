//! The product's *Ory Integration* settings: an Ory session token or workspace API
//! key and a project id. Saving verifies them against the console API and stores the
//! token sealed; the token never goes back to the browser.

use crate::audit::{self, AuditEntry};
use gatehouse_core::audit::AuditAction;
use gatehouse_core::views::{OrySettingsView, OrySyncCounts};
use gatehouse_core::FieldError;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{DomainError, DomainResult};
use crate::model::{OrySettings, OrySyncState};
use crate::ory::OryIntegration;
use crate::ory::{token_hint, token_kind};
use crate::views::ory_settings_view;

pub fn ory_token_context(product_id: &str) -> String {
    format!("ory-token:{product_id}")
}

impl OryIntegration {
    pub async fn ory_settings(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<OrySettingsView> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, false)
            .await?;
        match self.store.ory_settings(&product.id).await? {
            Some(settings) => self.connected_view(&settings).await,
            None => Ok(ory_settings_view(None)),
        }
    }

    /// The tab's view of saved settings, with the connections counted by sync state.
    async fn connected_view(&self, settings: &OrySettings) -> DomainResult<OrySettingsView> {
        let mut view = ory_settings_view(Some(settings));
        view.sync = self.ory_sync_counts(&settings.product_id).await?;
        Ok(view)
    }

    async fn ory_sync_counts(&self, product_id: &str) -> DomainResult<OrySyncCounts> {
        let rows = self.store.ory_sync_rows(product_id).await?;
        let connections = self.store.connections(product_id).await?;
        let mut counts = OrySyncCounts::default();
        for row in rows.iter().filter(|r| !r.deleted) {
            match row.state {
                OrySyncState::Synced => counts.synced += 1,
                OrySyncState::Pending => counts.pending += 1,
                OrySyncState::Failed => counts.failed += 1,
            }
            if !row.drift.is_empty() {
                counts.drifted += 1;
                let name = connections
                    .iter()
                    .find(|c| c.id == row.connection_id)
                    .map(|c| format!("{} ({})", c.name, c.tenant))
                    .unwrap_or_else(|| row.connection_id.clone());
                counts.drift.push((name, row.drift.clone()));
            }
            counts.last_check = counts.last_check.max(row.checked_at);
        }
        Ok(counts)
    }

    /// "Re-sync all": check for drift (to show what was wrong), then queue every
    /// connection; the worker repairs whatever differs.
    pub async fn resync_ory(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<OrySettingsView> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        let settings = self
            .store
            .ory_settings(&product.id)
            .await?
            .ok_or_else(|| DomainError::Conflict("Connect Ory first.".into()))?;
        if let Err(e) = self.check_ory_drift(&product.id).await {
            tracing::warn!(product_id = %product.id, error = %e, "drift check before re-sync failed");
        }
        let mut view = self.connected_view(&settings).await?;
        let queued = self
            .store
            .mark_all_ory_sync(&product.id, self.clock.now())
            .await?;
        self.ory_wake.wake();
        view.queued = Some(queued);
        tracing::info!(product_id = %product.id, queued, "Ory re-sync of all connections queued");
        Ok(view)
    }

    /// Verify and save. `token = None` keeps the stored token (e.g. to change only
    /// the project id).
    pub async fn save_ory_settings(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        token: Option<SecretString>,
        project_id: &str,
    ) -> DomainResult<OrySettingsView> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        let context = ory_token_context(&product.id);
        let existing = self.store.ory_settings(&product.id).await?;

        let token = match token.filter(|t| !t.expose_secret().trim().is_empty()) {
            Some(t) => {
                let trimmed = SecretString::from(t.expose_secret().trim().to_string());
                if token_kind(trimmed.expose_secret()).is_none() {
                    return Err(FieldError::new(
                        "token",
                        "Paste an Ory session token (starts with ory_st_) or a workspace API key (starts with ory_wak_).",
                    )
                    .into());
                }
                trimmed
            }
            None => match &existing {
                Some(s) => self.secrets.open_str(&context, &s.token_ciphertext)?,
                None => return Err(FieldError::new("token", "Paste the Ory token.").into()),
            },
        };
        let project_id = project_id.trim();
        if project_id.is_empty()
            || project_id.len() > 64
            || !project_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(FieldError::new(
                "project_id",
                "Enter the Ory project ID (a UUID such as 0f1e2d3c-…), from Ory Console → Project settings.",
            )
            .into());
        }

        let project = self
            .ory
            .get_project(&token, project_id)
            .await
            .map_err(|e| {
                tracing::warn!(product_id = %product.id, error = %e, "Ory settings rejected");
                DomainError::Ory(e)
            })?;

        let now = self.clock.now();
        let settings = OrySettings {
            product_id: product.id.clone(),
            token_ciphertext: self.secrets.seal_str(&context, &token)?,
            token_hint: token_hint(token.expose_secret()),
            project_id: project.id,
            project_name: project.name,
            project_slug: project.slug,
            verified_at: now,
            updated_at: now,
            oidc_enabled_at: existing
                .as_ref()
                .filter(|e| e.project_id == project_id)
                .and_then(|e| e.oidc_enabled_at),
        };
        if existing
            .as_ref()
            .is_some_and(|e| e.project_id != settings.project_id)
        {
            // another project: what Gatehouse made in the old one is left there
            self.store.delete_ory_mirror(&product.id, false).await?;
        }
        self.store.put_ory_settings(&settings).await?;
        // every connection (including those made before the settings) is mirrored
        let queued = self.store.mark_all_ory_sync(&product.id, now).await?;
        self.ory_wake.wake();
        tracing::info!(product_id = %product.id, project_id = %settings.project_id, queued, "Ory integration saved");
        let fields = |s: &OrySettings| -> audit::Fields {
            vec![
                ("projectId", s.project_id.clone()),
                ("projectName", s.project_name.clone()),
                ("tokenHint", s.token_hint.clone()),
            ]
        };
        let before = existing.as_ref().map(fields).unwrap_or_default();
        self.audit
            .record(AuditEntry::on_product(
                &product,
                AuditAction::OrySettingsSaved,
                &product.id,
                Some(&settings.project_name),
                audit::diff(&before, &fields(&settings)),
            ))
            .await;
        let mut view = self.connected_view(&settings).await?;
        view.queued = Some(queued);
        Ok(view)
    }

    /// Disconnect. With `remove_from_ory`, first remove every provider and
    /// organization Gatehouse made there (if Ory fails, nothing is disconnected and
    /// the error says why) and revoke the OAuth clients given to Ory; without it, Ory
    /// is left as it is and its sign-ins keep working.
    pub async fn disconnect_ory(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        remove_from_ory: bool,
    ) -> DomainResult<OrySettingsView> {
        let (_, product) = self
            .access
            .dashboard_product(user_id, team_id, product_id, true)
            .await?;
        if remove_from_ory {
            if let Some(settings) = self.store.ory_settings(&product.id).await? {
                let removed = self.remove_ory_mirror(&settings).await.inspect_err(|e| {
                    tracing::warn!(product_id = %product.id, error = %e, "Ory clean-up failed; still connected");
                })?;
                tracing::info!(product_id = %product.id, removed, "removed Gatehouse's providers and organizations from Ory");
            }
        }
        self.store
            .delete_ory_mirror(&product.id, remove_from_ory)
            .await?;
        self.store.delete_ory_settings(&product.id).await?;
        tracing::info!(product_id = %product.id, remove_from_ory, "Ory integration disconnected");
        self.audit
            .record(AuditEntry::on_product(
                &product,
                AuditAction::OryDisconnected,
                &product.id,
                None,
                vec![gatehouse_core::audit::AuditChange {
                    field: "removeFromOry".into(),
                    before: None,
                    after: Some(if remove_from_ory { "yes" } else { "no" }.into()),
                }],
            ))
            .await;
        Ok(ory_settings_view(None))
    }
}
