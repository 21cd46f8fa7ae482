//! Mirroring connections into Ory Network, from the outbox (`ory_sync`).
//!
//! Every connection change marks its outbox row due in the same transaction. The
//! worker ([`OryIntegration::run_ory_sync_once`]) claims due rows with a lease and brings
//! Ory in line with the connection as it is *now* (level-triggered, so it does not
//! matter how many changes piled up or whether an earlier attempt died halfway):
//!
//! 1. the connection's Ory OAuth client exists (made once, secret sealed);
//! 2. the tenant's Organization exists: the one recorded, else one another connection
//!    of the tenant uses, else one Ory already has for the tenant's domain or label
//!    (an earlier attempt may have created it), else a new one, recorded at once;
//! 3. the provider entry exists and matches, found by its `id`; replaced or removed
//!    only behind a JSON Patch `test` on that index's `id`, re-read and retried when
//!    the list changed underneath.
//!
//! Disabled connections have no provider (their organization stays); deleted ones
//! lose the provider and, when no other connection of the tenant uses it, the
//! organization. Failures are retried with exponential backoff (or Ory's
//! `Retry-After`); errors that need a person (401, 404, 400/422) show as *failed*
//! and are still retried, less often.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::views::OrySyncView;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{DomainError, DomainResult};
use crate::model::{
    Connection, OryClientCredentials, OrySettings, OrySyncOutcome, OrySyncRow, OrySyncState,
};
use crate::ory::provider::{
    add_patch, callback_url, find_provider, guarded_patch, ProviderSpec, OIDC_ENABLED_POINTER,
};
use crate::ory::settings::ory_token_context;
use crate::ory::OryIntegration;
use crate::ory::{OryError, OryOrganization};
use crate::ports::StoreError;
use crate::secret_box::SecretBoxError;
use crate::sso::connections::ory_client_context;
use crate::sso::email_domains;
use crate::tokens::{hex, new_secret, random_bytes};

/// How long a claimed row is ours; a worker that dies leaves it to others after this.
const LEASE: Duration = Duration::seconds(120);
/// Rows per worker pass.
const BATCH: i64 = 20;
/// How often a guarded patch is re-read and retried when the list changed meanwhile.
const GUARD_ATTEMPTS: usize = 5;
/// Backoff: 2 s, 4 s, 8 s … capped at 30 minutes; errors that need a person start at
/// one minute.
const BACKOFF_BASE_SECS: i64 = 2;
const BACKOFF_MAX_SECS: i64 = 30 * 60;
const FAILED_MIN_SECS: i64 = 60;

/// Why one sync attempt stopped.
#[derive(Debug, thiserror::Error)]
enum SyncError {
    #[error(transparent)]
    Ory(#[from] OryError),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("the stored Ory token cannot be read: {0}")]
    Secrets(#[from] SecretBoxError),
}

/// What one product's sync needs from its settings.
struct Target {
    token: SecretString,
    project_id: String,
    project_slug: String,
}

/// When to try again after the `attempts`-th failure (0-based).
pub fn next_attempt(
    now: DateTime<Utc>,
    attempts: i64,
    needs_person: bool,
    retry_after: Option<u64>,
) -> DateTime<Utc> {
    let exp = BACKOFF_BASE_SECS.saturating_mul(1_i64 << attempts.clamp(0, 20));
    let mut secs = exp.min(BACKOFF_MAX_SECS);
    if needs_person {
        secs = secs.max(FAILED_MIN_SECS);
    }
    if let Some(ra) = retry_after {
        secs = secs.max(
            i64::try_from(ra)
                .unwrap_or(BACKOFF_MAX_SECS)
                .min(BACKOFF_MAX_SECS),
        );
    }
    now + Duration::seconds(secs)
}

fn retry_outcome(row: &OrySyncRow, error: &SyncError, now: DateTime<Utc>) -> OrySyncOutcome {
    let (needs_person, status, retry_after) = match error {
        SyncError::Ory(e) => (!e.is_transient(), e.status(), e.retry_after_secs()),
        SyncError::Store(_) => (false, None, None),
        SyncError::Secrets(_) => (true, None, None),
    };
    OrySyncOutcome::Retry {
        state: if needs_person {
            OrySyncState::Failed
        } else {
            OrySyncState::Pending
        },
        status: status.map(i64::from),
        message: error.to_string(),
        next_attempt_at: next_attempt(now, row.attempts, needs_person, retry_after),
    }
}

/// A failed guarded patch: the list changed between reading it and patching it.
fn lost_race(e: &OryError) -> bool {
    matches!(e.status(), Some(400 | 409))
}

/// Does the patch start with a `test` (so a 400 may mean "the list moved")?
fn is_guarded(patch: &serde_json::Value) -> bool {
    patch.pointer("/0/op").and_then(serde_json::Value::as_str) == Some("test")
}

impl OryIntegration {
    /// One worker pass: claim the rows that are due and sync each. Returns how many
    /// were attempted.
    pub async fn run_ory_sync_once(&self) -> DomainResult<usize> {
        self.run_ory_sync_pass(&|| false).await
    }

    /// [`Self::run_ory_sync_once`], asking `stopping` before each row: once it says
    /// yes, the rows not started are handed back (their leases end now) for another
    /// worker, or this one after a restart, to take at once.
    pub async fn run_ory_sync_pass(
        &self,
        stopping: &(dyn Fn() -> bool + Send + Sync),
    ) -> DomainResult<usize> {
        let now = self.clock.now();
        let rows = self.store.claim_ory_sync(now, now + LEASE, BATCH).await?;
        for (done, row) in rows.iter().enumerate() {
            if stopping() {
                for rest in &rows[done..] {
                    if let Some(lease) = rest.lease_until {
                        self.store
                            .release_ory_sync(&rest.connection_id, lease)
                            .await?;
                    }
                }
                tracing::info!(handed_back = rows.len() - done, "Ory sync worker stopping");
                return Ok(done);
            }
            let outcome = match self.sync_row(row).await {
                Ok(outcome) => {
                    tracing::info!(connection_id = %row.connection_id, outcome = ?outcome_name(&outcome), "Ory sync done");
                    metrics::counter!("gatehouse_ory_sync_attempts_total", "outcome" => "done")
                        .increment(1);
                    outcome
                }
                Err(e) => {
                    tracing::warn!(connection_id = %row.connection_id, attempts = row.attempts + 1, error = %e, "Ory sync failed");
                    metrics::counter!("gatehouse_ory_sync_attempts_total", "outcome" => "failed")
                        .increment(1);
                    retry_outcome(row, &e, self.clock.now())
                }
            };
            self.store
                .finish_ory_sync(&row.connection_id, row.version, &outcome, self.clock.now())
                .await?;
            self.tell_webhooks(row, &outcome).await;
        }
        Ok(rows.len())
    }

    /// `ory_sync.failed` when a connection's mirror starts needing someone, and
    /// `ory_sync.recovered` when it is in sync again.
    async fn tell_webhooks(&self, row: &OrySyncRow, outcome: &OrySyncOutcome) {
        use gatehouse_core::webhooks::WebhookEvent;
        let event = match outcome {
            OrySyncOutcome::Retry {
                state: OrySyncState::Failed,
                ..
            } if row.state != OrySyncState::Failed => WebhookEvent::OrySyncFailed,
            OrySyncOutcome::Synced if row.state == OrySyncState::Failed => {
                WebhookEvent::OrySyncRecovered
            }
            _ => return,
        };
        let (status, error) = match outcome {
            OrySyncOutcome::Retry {
                status, message, ..
            } => (*status, Some(message.clone())),
            _ => (None, None),
        };
        self.webhooks
            .emit(
                &row.product_id,
                event,
                &row.connection_id,
                serde_json::json!({
                    "connectionId": row.connection_id,
                    "product": row.product_id,
                    "oryStatus": status,
                    "error": error,
                }),
            )
            .await;
    }

    async fn ory_target(&self, settings: &OrySettings) -> Result<Target, SyncError> {
        let token = self.secrets.open_str(
            &ory_token_context(&settings.product_id),
            &settings.token_ciphertext,
        )?;
        Ok(Target {
            token,
            project_id: settings.project_id.clone(),
            project_slug: settings.project_slug.clone(),
        })
    }

    async fn sync_row(&self, row: &OrySyncRow) -> Result<OrySyncOutcome, SyncError> {
        let Some(settings) = self.store.ory_settings(&row.product_id).await? else {
            // the integration was disconnected: nothing left to mirror
            return Ok(OrySyncOutcome::Removed);
        };
        let target = self.ory_target(&settings).await?;
        let connection = if row.deleted {
            None
        } else {
            self.store
                .connection_by_id(&row.connection_id)
                .await?
                .filter(|c| c.product_id == row.product_id)
        };
        match connection {
            None => {
                self.remove_provider(&target, &row.provider_id).await?;
                if let Some(org) = &row.organization_id {
                    self.delete_organization_if_unused(&target, row, org)
                        .await?;
                }
                Ok(OrySyncOutcome::Removed)
            }
            Some(c) if !c.enabled => {
                self.remove_provider(&target, &row.provider_id).await?;
                Ok(OrySyncOutcome::Synced)
            }
            Some(c) => {
                let (client, secret) = self.ensure_ory_client(&c).await?;
                let org_id = self.ensure_organization(&target, row, &c.tenant).await?;
                let callback = callback_url(&target.project_slug, &org_id, &row.provider_id);
                if client.redirect_url.as_deref() != Some(callback.as_str()) {
                    let updated = OryClientCredentials {
                        redirect_url: Some(callback),
                        ..client.clone()
                    };
                    self.store.set_ory_client(&c.id, &updated, true).await?;
                }
                let issuer = self.settings.issuer();
                let spec = ProviderSpec {
                    provider_id: &row.provider_id,
                    label: &c.name,
                    client_id: &client.client_id,
                    client_secret: secret.expose_secret(),
                    issuer_url: &issuer,
                    organization_id: &org_id,
                };
                self.upsert_provider(&target, &spec).await?;
                self.ensure_oidc_method(&target, &settings).await?;
                if let Some(old) = row.organization_id.as_deref().filter(|o| *o != org_id) {
                    // the tenant changed: the old organization may be orphaned now
                    self.delete_organization_if_unused(&target, row, old)
                        .await?;
                }
                Ok(OrySyncOutcome::Synced)
            }
        }
    }

    /// The connection's Ory OAuth client and its secret, made on first use.
    async fn ensure_ory_client(
        &self,
        c: &Connection,
    ) -> Result<(OryClientCredentials, SecretString), SyncError> {
        let context = ory_client_context(&c.id);
        if let Some(existing) = &c.ory_client {
            let secret = self
                .secrets
                .open_str(&context, &existing.client_secret_sealed)?;
            return Ok((existing.clone(), secret));
        }
        let secret = SecretString::from(new_secret());
        let made = OryClientCredentials {
            client_id: format!("ory-{}", hex(&random_bytes(16))),
            client_secret_sealed: self.secrets.seal_str(&context, &secret)?,
            redirect_url: None,
        };
        if self.store.set_ory_client(&c.id, &made, false).await? {
            return Ok((made, secret));
        }
        // someone else made one meanwhile: use theirs
        let again = self
            .store
            .connection_by_id(&c.id)
            .await?
            .and_then(|c| c.ory_client)
            .ok_or_else(|| StoreError::Backend("connection vanished during Ory sync".into()))?;
        let secret = self
            .secrets
            .open_str(&context, &again.client_secret_sealed)?;
        Ok((again, secret))
    }

    /// The organization for `tenant`, found or created, and recorded on the row.
    async fn ensure_organization(
        &self,
        t: &Target,
        row: &OrySyncRow,
        tenant: &str,
    ) -> Result<String, SyncError> {
        let domains = self.tenant_email_domains(&row.product_id, tenant).await?;
        if let Some(id) = row
            .organization_id
            .as_deref()
            .filter(|_| row.tenant == tenant)
        {
            if let Some(org) = self.ory.organization(&t.token, &t.project_id, id).await? {
                self.align_organization(t, &org, tenant, &domains).await?;
                return Ok(org.id);
            }
        }
        let siblings: HashSet<String> = self
            .store
            .ory_sync_rows(&row.product_id)
            .await?
            .into_iter()
            .filter(|r| r.connection_id != row.connection_id && !r.deleted && r.tenant == tenant)
            .filter_map(|r| r.organization_id)
            .collect();
        let existing = self.ory.organizations(&t.token, &t.project_id).await?;
        let org = match pick_organization(&existing, &siblings, tenant) {
            Some(org) => {
                self.align_organization(t, org, tenant, &domains).await?;
                org.clone()
            }
            None => match self
                .ory
                .create_organization(&t.token, &t.project_id, tenant, &domains)
                .await
            {
                Ok(org) => org,
                Err(e) if e.status() == Some(409) => {
                    // made meanwhile by someone else: use it
                    let again = self.ory.organizations(&t.token, &t.project_id).await?;
                    pick_organization(&again, &siblings, tenant)
                        .cloned()
                        .ok_or(e)?
                }
                Err(e) => return Err(e.into()),
            },
        };
        self.store
            .set_ory_organization(&row.connection_id, Some(&org.id), tenant)
            .await?;
        Ok(org.id)
    }

    /// An organization's domains: the email domains of every connection of its
    /// tenant (they share it), or the tenant's own when it has none left.
    async fn tenant_email_domains(
        &self,
        product_id: &str,
        tenant: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut all = email_domains::tenant_domains(tenant);
        for c in self
            .store
            .connections_for_tenant(product_id, tenant)
            .await?
        {
            for d in email_domains::of(&c) {
                if !all.contains(&d) {
                    all.push(d);
                }
            }
        }
        Ok(all)
    }

    async fn align_organization(
        &self,
        t: &Target,
        org: &OryOrganization,
        tenant: &str,
        domains: &[String],
    ) -> Result<(), SyncError> {
        if organization_differences(org, tenant, domains).is_empty() {
            return Ok(());
        }
        self.ory
            .update_organization(&t.token, &t.project_id, &org.id, tenant, domains)
            .await?;
        Ok(())
    }

    /// Delete the organization unless another (not deleted) connection uses it.
    async fn delete_organization_if_unused(
        &self,
        t: &Target,
        row: &OrySyncRow,
        organization_id: &str,
    ) -> Result<(), SyncError> {
        let in_use = self
            .store
            .ory_sync_rows(&row.product_id)
            .await?
            .iter()
            .any(|r| {
                r.connection_id != row.connection_id
                    && !r.deleted
                    && r.organization_id.as_deref() == Some(organization_id)
            });
        if !in_use {
            self.ory
                .delete_organization(&t.token, &t.project_id, organization_id)
                .await?;
        }
        Ok(())
    }

    async fn upsert_provider(&self, t: &Target, spec: &ProviderSpec<'_>) -> Result<(), SyncError> {
        self.patch_providers(t, spec.provider_id, |list| {
            match list.and_then(|l| find_provider(l, spec.provider_id).map(|i| (i, &l[i]))) {
                None => Some(add_patch(list.is_some(), spec.to_json())),
                Some((_, entry)) if spec.differences(entry).is_empty() => None,
                Some((i, _)) => Some(guarded_patch(i, spec.provider_id, Some(spec.to_json()))),
            }
        })
        .await
    }

    /// Ory offers "Sign in with SSO" only while the project's OpenID Connect method
    /// is on: switch it on when it is off, and remember that Gatehouse did (the Ory
    /// tab says so; a disconnect with clean-up switches it off again).
    async fn ensure_oidc_method(
        &self,
        t: &Target,
        settings: &OrySettings,
    ) -> Result<(), SyncError> {
        if self
            .ory
            .oidc_method_enabled(&t.token, &t.project_id)
            .await?
        {
            return Ok(());
        }
        self.ory
            .patch_project(
                &t.token,
                &t.project_id,
                &serde_json::json!([{ "op": "add", "path": OIDC_ENABLED_POINTER, "value": true }]),
            )
            .await?;
        let now = self.clock.now();
        self.store
            .set_ory_oidc_enabled_at(&settings.product_id, Some(now))
            .await?;
        tracing::info!(product_id = %settings.product_id, project_id = %t.project_id, "switched on the Ory project's OpenID Connect sign-in method");
        Ok(())
    }

    async fn remove_provider(&self, t: &Target, provider_id: &str) -> Result<(), SyncError> {
        self.patch_providers(t, provider_id, |list| {
            find_provider(list?, provider_id).map(|i| guarded_patch(i, provider_id, None))
        })
        .await
    }

    /// Read Ory's provider list (`None` when the project has none), let `plan` choose
    /// the patch (`None`: nothing to do) and apply it. A patch refused because the
    /// list changed in between (its `test` failed) is planned again from a fresh read.
    async fn patch_providers(
        &self,
        t: &Target,
        provider_id: &str,
        plan: impl Fn(Option<&[serde_json::Value]>) -> Option<serde_json::Value>,
    ) -> Result<(), SyncError> {
        for attempt in 1..=GUARD_ATTEMPTS {
            let list = self.ory.providers(&t.token, &t.project_id).await?;
            let Some(patch) = plan(list.as_deref()) else {
                return Ok(());
            };
            match self
                .ory
                .patch_project(&t.token, &t.project_id, &patch)
                .await
            {
                Ok(()) => return Ok(()),
                Err(e) if is_guarded(&patch) && lost_race(&e) && attempt < GUARD_ATTEMPTS => {
                    tracing::info!(provider_id, error = %e, "Ory provider list changed meanwhile; reading it again");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Compare what Ory has with what Gatehouse expects for every synced connection
    /// of the product, and record the differences. Returns how many connections
    /// differ.
    pub async fn check_ory_drift(&self, product_id: &str) -> DomainResult<usize> {
        let Some(settings) = self.store.ory_settings(product_id).await? else {
            return Ok(0);
        };
        let t = self.ory_target(&settings).await.map_err(sync_to_domain)?;
        let providers = self
            .ory
            .providers(&t.token, &t.project_id)
            .await?
            .unwrap_or_default();
        let organizations = self.ory.organizations(&t.token, &t.project_id).await?;
        let now = self.clock.now();
        let issuer = self.settings.issuer();
        let connections = self.store.connections(product_id).await?;
        let mut drifted = 0;
        for row in self.store.ory_sync_rows(product_id).await? {
            if row.deleted || row.state != OrySyncState::Synced {
                continue;
            }
            let Some(c) = connections.iter().find(|c| c.id == row.connection_id) else {
                continue;
            };
            let mut found = Vec::new();
            let entry = find_provider(&providers, &row.provider_id).map(|i| &providers[i]);
            match (c.enabled, entry, &c.ory_client, &row.organization_id) {
                (true, None, _, _) => {
                    found.push(format!("provider {} was removed from Ory", row.provider_id))
                }
                (true, Some(actual), Some(client), Some(org_id)) => {
                    let secret = self
                        .secrets
                        .open_str(&ory_client_context(&c.id), &client.client_secret_sealed)?;
                    let spec = ProviderSpec {
                        provider_id: &row.provider_id,
                        label: &c.name,
                        client_id: &client.client_id,
                        client_secret: secret.expose_secret(),
                        issuer_url: &issuer,
                        organization_id: org_id,
                    };
                    found.extend(spec.differences(actual));
                }
                (false, Some(_), _, _) => found.push(format!(
                    "provider {} is in Ory although the connection is disabled",
                    row.provider_id
                )),
                _ => {}
            }
            if let Some(org_id) = &row.organization_id {
                match organizations.iter().find(|o| &o.id == org_id) {
                    None => found.push(format!("organization {org_id} was deleted in Ory")),
                    Some(org) => found.extend(organization_differences(
                        org,
                        &c.tenant,
                        &self.tenant_email_domains(&c.product_id, &c.tenant).await?,
                    )),
                }
            }
            if !found.is_empty() {
                drifted += 1;
                tracing::warn!(connection_id = %c.id, differences = ?found, "Ory drifted from Gatehouse");
            }
            self.store
                .set_ory_drift(&row.connection_id, &found, now)
                .await?;
        }
        Ok(drifted)
    }

    /// The periodic drift check over every product with Ory settings.
    pub async fn check_all_ory_drift(&self) -> DomainResult<()> {
        for settings in self.store.all_ory_settings().await? {
            if let Err(e) = self.check_ory_drift(&settings.product_id).await {
                tracing::warn!(product_id = %settings.product_id, error = %e, "Ory drift check failed");
            }
        }
        Ok(())
    }

    /// How far behind the outbox is now (for metrics), and how long the oldest due
    /// row has waited (zero when none is due).
    pub async fn backlog(&self) -> DomainResult<(crate::model::OryBacklog, Duration)> {
        let now = self.clock.now();
        let backlog = self.store.ory_sync_backlog(now).await?;
        let waited = backlog
            .oldest_due
            .map_or(Duration::zero(), |t| (now - t).max(Duration::zero()));
        Ok((backlog, waited))
    }

    /// The operator's "sync now" (`gatehouse ory sync-now`): queue every connection
    /// of every product with Ory settings (or of `product_id` only), including those
    /// waiting to retry, and sync them here until nothing is due. Rows another
    /// worker holds are left to it. Returns the rows of those products afterwards.
    pub async fn sync_now(&self, product_id: Option<&str>) -> DomainResult<Vec<OrySyncRow>> {
        let products: Vec<String> = self
            .store
            .all_ory_settings()
            .await?
            .into_iter()
            .map(|s| s.product_id)
            .filter(|p| product_id.is_none_or(|only| only == p))
            .collect();
        if let Some(only) = product_id {
            if products.is_empty() {
                return Err(DomainError::Conflict(format!(
                    "product {only} does not exist or has no Ory settings"
                )));
            }
        }
        for p in &products {
            self.store.mark_all_ory_sync(p, self.clock.now()).await?;
        }
        // Each pass claims what is due; a failed row is due again only later, so
        // this ends.
        while self.run_ory_sync_once().await? > 0 {}
        let mut rows = Vec::new();
        for p in &products {
            rows.extend(self.store.ory_sync_rows(p).await?);
        }
        Ok(rows)
    }

    /// Remove everything Gatehouse made in Ory for a product (disconnect with
    /// clean-up). Stops at the first error, leaving the rest for another try.
    pub(crate) async fn remove_ory_mirror(&self, settings: &OrySettings) -> DomainResult<usize> {
        let t = self.ory_target(settings).await.map_err(sync_to_domain)?;
        let rows = self.store.ory_sync_rows(&settings.product_id).await?;
        let mut organizations: Vec<String> = Vec::new();
        for row in &rows {
            self.remove_provider(&t, &row.provider_id)
                .await
                .map_err(sync_to_domain)?;
            if let Some(org) = &row.organization_id {
                if !organizations.contains(org) {
                    organizations.push(org.clone());
                }
            }
        }
        for org in &organizations {
            self.ory
                .delete_organization(&t.token, &t.project_id, org)
                .await?;
        }
        // The OIDC method goes back off only if Gatehouse switched it on and no
        // provider (someone else's) is left.
        if settings.oidc_enabled_at.is_some()
            && self
                .ory
                .providers(&t.token, &t.project_id)
                .await?
                .is_none_or(|p| p.is_empty())
        {
            self.ory
                .patch_project(
                    &t.token,
                    &t.project_id,
                    &serde_json::json!([{ "op": "replace", "path": OIDC_ENABLED_POINTER, "value": false }]),
                )
                .await?;
            self.store
                .set_ory_oidc_enabled_at(&settings.product_id, None)
                .await?;
            tracing::info!(product_id = %settings.product_id, "switched the Ory project's OpenID Connect sign-in method off again");
        }
        Ok(rows.len())
    }
}

/// The dashboard's view of a connection's Ory sync state.
pub fn ory_sync_view(row: &OrySyncRow, c: &Connection) -> OrySyncView {
    OrySyncView {
        state: row.state.as_str().to_string(),
        organization_id: row.organization_id.clone(),
        provider_id: row.provider_id.clone(),
        client_id: c.ory_client.as_ref().map(|o| o.client_id.clone()),
        callback_url: c.ory_client.as_ref().and_then(|o| o.redirect_url.clone()),
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        last_status: row.last_status,
        last_error: row.last_error.clone(),
        synced_at: row.synced_at,
        drift: row.drift.clone(),
        checked_at: row.checked_at,
    }
}

fn outcome_name(o: &OrySyncOutcome) -> &'static str {
    match o {
        OrySyncOutcome::Synced => "synced",
        OrySyncOutcome::Removed => "removed",
        OrySyncOutcome::Retry { .. } => "retry",
    }
}

fn sync_to_domain(e: SyncError) -> DomainError {
    match e {
        SyncError::Ory(e) => DomainError::Ory(e),
        SyncError::Store(e) => DomainError::Store(e),
        SyncError::Secrets(e) => DomainError::Secrets(e),
    }
}

/// The organization to reuse for a tenant: one another connection of the tenant
/// uses, else one with the tenant's own domain, else one labelled with the tenant.
/// Only the tenant's own domain identifies it: an added email domain may be shared
/// with another tenant (Ory then refuses the second organization, and the sync says
/// why).
fn pick_organization<'a>(
    all: &'a [OryOrganization],
    siblings: &HashSet<String>,
    tenant: &str,
) -> Option<&'a OryOrganization> {
    let own = email_domains::tenant_domains(tenant);
    all.iter()
        .find(|o| siblings.contains(&o.id))
        .or_else(|| {
            all.iter().find(|o| {
                o.domains
                    .iter()
                    .any(|d| own.contains(&d.to_ascii_lowercase()))
            })
        })
        .or_else(|| all.iter().find(|o| own.is_empty() && o.label == tenant))
}

fn organization_differences(
    org: &OryOrganization,
    tenant: &str,
    domains: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    if org.label != tenant {
        out.push(format!(
            "organization label is \"{}\" in Ory, Gatehouse expects \"{tenant}\"",
            org.label
        ));
    }
    let mut have: Vec<String> = org.domains.iter().map(|d| d.to_ascii_lowercase()).collect();
    have.sort();
    let mut want = domains.to_vec();
    want.sort();
    if have != want {
        out.push(format!(
            "organization domains are {have:?} in Ory, Gatehouse expects {want:?}"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_cap_and_honours_retry_after() {
        let t0 = DateTime::UNIX_EPOCH;
        let secs = |n, person, ra| (next_attempt(t0, n, person, ra) - t0).num_seconds();
        assert_eq!(secs(0, false, None), 2);
        assert_eq!(secs(1, false, None), 4);
        assert_eq!(secs(5, false, None), 64);
        assert_eq!(secs(40, false, None), BACKOFF_MAX_SECS);
        assert_eq!(secs(0, true, None), 60);
        assert_eq!(secs(0, false, Some(30)), 30);
        assert_eq!(secs(0, false, Some(u64::MAX)), BACKOFF_MAX_SECS);
    }

    fn org(id: &str, label: &str, domains: &[&str]) -> OryOrganization {
        OryOrganization {
            id: id.into(),
            label: label.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
        }
    }

    #[test]
    fn organizations_are_reused_before_any_is_created() {
        let all = vec![
            org("o1", "other", &["other.com", "shared.example"]),
            org("o2", "Acme by hand", &["ACME.com"]),
            org("o3", "acme_corp", &[]),
        ];
        let none = HashSet::new();
        assert_eq!(pick_organization(&all, &none, "acme.com").unwrap().id, "o2");
        assert_eq!(
            pick_organization(&all, &none, "acme_corp").unwrap().id,
            "o3"
        );
        assert!(pick_organization(&all, &none, "new.com").is_none());
        // an added email domain another organization has does not make it this tenant's
        assert!(pick_organization(&all, &none, "shared.example.org").is_none());
        let sib: HashSet<String> = ["o1".to_string()].into();
        assert_eq!(pick_organization(&all, &sib, "acme.com").unwrap().id, "o1");
    }

    #[test]
    fn organization_differences_ignore_case_and_order() {
        let o = org("o", "acme.com", &["ACME.com"]);
        assert!(organization_differences(&o, "acme.com", &["acme.com".into()]).is_empty());
        assert_eq!(organization_differences(&o, "acme.com", &[]).len(), 1);
    }
}
