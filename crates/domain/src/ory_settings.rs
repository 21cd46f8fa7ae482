//! The product's *Ory Integration* settings: an Ory session token or workspace API
//! key and a project id. Saving verifies them against the console API and stores the
//! token sealed; the token never goes back to the browser.

use gatehouse_core::views::OrySettingsView;
use gatehouse_core::FieldError;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{DomainError, DomainResult};
use crate::model::OrySettings;
use crate::ory::{token_hint, token_kind};
use crate::services::Services;
use crate::views::ory_settings_view;

pub fn ory_token_context(product_id: &str) -> String {
    format!("ory-token:{product_id}")
}

impl Services {
    pub async fn ory_settings(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<OrySettingsView> {
        let access = self.team_access(user_id, team_id).await?;
        let product = self.product_access(&access, product_id).await?;
        let settings = self.store.ory_settings(&product.id).await?;
        Ok(ory_settings_view(settings.as_ref()))
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
        let access = self.team_write_access(user_id, team_id).await?;
        let product = self.product_access(&access, product_id).await?;
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
        };
        self.store.put_ory_settings(&settings).await?;
        tracing::info!(product_id = %product.id, project_id = %settings.project_id, "Ory integration saved");
        Ok(ory_settings_view(Some(&settings)))
    }

    pub async fn disconnect_ory(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
    ) -> DomainResult<OrySettingsView> {
        let access = self.team_write_access(user_id, team_id).await?;
        let product = self.product_access(&access, product_id).await?;
        self.store.delete_ory_settings(&product.id).await?;
        tracing::info!(product_id = %product.id, "Ory integration disconnected");
        Ok(ory_settings_view(None))
    }
}
