//! The operator's view of the signing keys: list them, rotate one purpose, reload
//! what other instances stored. The rules of a key's life are in
//! [`crate::sso::keys`].

use std::sync::Arc;

use chrono::Duration;

use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::ports::{KeyStore, StoreError};
use crate::secret_box::SecretBox;
use crate::settings::DomainSettings;
use crate::sso::keys::{new_key, states, KeyPurpose, KeyRing, KeySchedule, KeyState, SigningKeys};

#[derive(Clone)]
pub struct Keys {
    pub(crate) store: Arc<dyn KeyStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: DomainSettings,
    pub(crate) secrets: SecretBox,
    pub(crate) ring: Arc<SigningKeys>,
}

/// One stored key as `gatehouse keys list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyView {
    pub purpose: KeyPurpose,
    pub schedule: KeySchedule,
    pub state: KeyState,
}

/// How a rotation is timed.
#[derive(Debug, Clone, Copy)]
pub struct RotateOptions {
    /// How long the next key is published before it signs: longer than relying
    /// parties cache the JWKS and than IdP admins take to add the new certificate.
    pub grace: Duration,
    /// How long the current key stays published after the switch; by default the
    /// longest anything it signed stays valid ([`Keys::default_retire_after`]).
    pub retire_after: Option<Duration>,
}

/// What a rotation scheduled.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub purpose: KeyPurpose,
    pub next: KeySchedule,
    pub current: KeySchedule,
}

impl Keys {
    /// Every key of every purpose, retired ones too, in activation order.
    pub async fn list(&self) -> DomainResult<Vec<KeyView>> {
        let now = self.clock.now();
        let mut out = Vec::new();
        for purpose in KeyPurpose::ALL {
            let schedules = self.schedules(purpose).await?;
            let states = states(&schedules, now);
            out.extend(
                schedules
                    .into_iter()
                    .zip(states)
                    .map(|(schedule, state)| KeyView {
                        purpose,
                        schedule,
                        state,
                    }),
            );
        }
        Ok(out)
    }

    /// A token or an AuthnRequest signed just before the switch is checked at most
    /// this long after it: the access and id_token lifetime or a pending sign-in,
    /// whichever is longer, plus the allowed clock skew.
    pub fn default_retire_after(&self) -> Duration {
        let sso = &self.settings.sso;
        sso.access_token_ttl.max(sso.pending_ttl) + sso.clock_skew
    }

    /// Store the next key of `purpose`, published now and signing after
    /// `options.grace`, and retire the current one `retire_after` later. Refused
    /// while an earlier rotation of the purpose has not switched yet.
    pub async fn rotate(
        &self,
        purpose: KeyPurpose,
        options: RotateOptions,
    ) -> DomainResult<Rotation> {
        if options.grace < Duration::zero()
            || options.retire_after.is_some_and(|d| d < Duration::zero())
        {
            return Err(DomainError::bug("negative rotation period"));
        }
        let now = self.clock.now();
        let schedules = self.schedules(purpose).await?;
        let key_states = states(&schedules, now);
        if let Some(next) = schedules
            .iter()
            .zip(&key_states)
            .find(|(_, s)| **s == KeyState::Next)
            .map(|(k, _)| k)
        {
            return Err(DomainError::Conflict(format!(
                "a {purpose} key is already scheduled: {} signs from {}; rotate again after that",
                next.id,
                next.activates_at.to_rfc3339()
            )));
        }
        let current = schedules
            .iter()
            .zip(&key_states)
            .find(|(_, s)| **s == KeyState::Active)
            .map(|(k, _)| k.clone())
            .ok_or_else(|| DomainError::bug("no active key to rotate from"))?;
        let activates_at = now + options.grace;
        let retires_at = activates_at
            + options
                .retire_after
                .unwrap_or_else(|| self.default_retire_after());
        let next = new_key(&self.secrets, purpose, now, activates_at)?;
        self.store
            .schedule_key(&next, &current.id, retires_at)
            .await
            .map_err(|e| match e {
                StoreError::Conflict(_) => DomainError::Conflict(format!(
                    "another rotation of the {purpose} key was scheduled at the same time"
                )),
                other => other.into(),
            })?;
        tracing::info!(
            %purpose,
            next = %next.id,
            activates_at = %activates_at.to_rfc3339(),
            current = %current.id,
            retires_at = %retires_at.to_rfc3339(),
            "signing key rotation scheduled"
        );
        self.reload().await?;
        Ok(Rotation {
            purpose,
            next: KeySchedule {
                id: next.id,
                created_at: now,
                activates_at,
                retires_at: None,
            },
            current: KeySchedule {
                retires_at: Some(retires_at),
                ..current
            },
        })
    }

    /// Read the keys again, so this instance publishes and signs with what another
    /// one scheduled. A failure keeps the keys loaded before.
    pub async fn reload(&self) -> DomainResult<()> {
        let ring = KeyRing::load(self.store.as_ref(), &self.secrets, self.clock.now()).await?;
        self.ring.replace(ring);
        Ok(())
    }

    /// The keys of `purpose` in activation order (as the store returns them).
    async fn schedules(&self, purpose: KeyPurpose) -> DomainResult<Vec<KeySchedule>> {
        Ok(self
            .store
            .keys(purpose.as_str())
            .await?
            .iter()
            .map(KeySchedule::of)
            .collect())
    }
}
