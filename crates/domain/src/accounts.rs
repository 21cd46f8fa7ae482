//! Sign-up, sign-in (with lockout) and "who am I".
//!
//! Lockout rule: five failed sign-ins for one email within 15 minutes lock that email
//! for 15 minutes from the fifth failure. Attempts during a lock are refused without
//! checking the password and without extending the lock. A successful sign-in clears
//! the count. Unknown emails are counted and timed like known ones.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use gatehouse_core::trial::TRIAL_DAYS;
use gatehouse_core::views::{Me, Role, TeamContext, TeamSummary};
use gatehouse_core::{Email, FieldError, PasswordPolicy, TeamName};
use secrecy::{ExposeSecret, SecretString};

use crate::access::Access;
use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::model::{Membership, Team, User};
use crate::password;
use crate::ports::{AccountPorts, LoginAttempt, StoreError};
use crate::settings::DomainSettings;
use crate::tokens::new_id;

pub const LOCKOUT_THRESHOLD: usize = 5;
pub fn lockout_window() -> Duration {
    Duration::minutes(15)
}

pub struct SignUp {
    pub email: String,
    pub password: SecretString,
    pub team_name: String,
}

fn email_taken() -> DomainError {
    DomainError::Invalid(FieldError::new(
        "email",
        "An account with this email already exists. Log in instead.",
    ))
}

/// When is `email` locked until, given its recent failures (oldest first)?
pub fn locked_until(failures: &[DateTime<Utc>], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let window = lockout_window();
    failures
        .windows(LOCKOUT_THRESHOLD)
        .filter(|w| w[LOCKOUT_THRESHOLD - 1] - w[0] <= window)
        .map(|w| w[LOCKOUT_THRESHOLD - 1] + window)
        .filter(|until| *until > now)
        .max()
}

/// Sign-up, sign-in, teams, members and invites.
#[derive(Clone)]
pub struct Accounts {
    pub(crate) store: Arc<dyn AccountPorts>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: DomainSettings,
    pub(crate) access: Access,
    pub(crate) audit: crate::audit::AuditLog,
}

/// Run CPU-heavy work (password hashing) off the async executor.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> DomainResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DomainError::internal("running a blocking task", e))
}

impl Accounts {
    pub async fn sign_up(&self, form: SignUp) -> DomainResult<User> {
        let email = Email::parse(&form.email)?;
        let team_name = TeamName::parse(&form.team_name)?;
        PasswordPolicy::check(form.password.expose_secret())?;
        if self.store.user_by_email(email.as_str()).await?.is_some() {
            return Err(email_taken());
        }
        let user = self.new_user(&email, &form.password).await?;
        let team = self.new_team(&team_name);
        let owner = Membership {
            team_id: team.id.clone(),
            user_id: user.id.clone(),
            role: Role::Owner,
            created_at: user.created_at,
        };
        match self.store.create_user_with_team(&user, &team, &owner).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(email_taken()),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(user_id = %user.id, team_id = %team.id, "signed up; trial started");
        Ok(user)
    }

    pub(crate) async fn new_user(
        &self,
        email: &Email,
        password: &SecretString,
    ) -> DomainResult<User> {
        let pw = password.expose_secret().to_string();
        let password_hash = blocking(move || password::hash(&pw))
            .await?
            .map_err(|e| DomainError::internal("hashing a password", e))?;
        Ok(User {
            id: new_id("user"),
            email: email.as_str().to_string(),
            password_hash,
            created_at: self.clock.now(),
        })
    }

    pub(crate) fn new_team(&self, name: &TeamName) -> Team {
        let now = self.clock.now();
        Team {
            id: new_id("team"),
            name: name.as_str().to_string(),
            created_at: now,
            trial_ends_at: now + Duration::days(TRIAL_DAYS),
        }
    }

    pub async fn log_in(&self, email: &str, password: &SecretString) -> DomainResult<User> {
        let now = self.clock.now();
        let key = email.trim().to_lowercase();
        let since = now - lockout_window() - lockout_window();
        // Counted before the password is checked, atomically with the lock decision:
        // parallel guesses cannot all pass a check made before any of them counted.
        let is_locked = move |f: &[DateTime<Utc>]| locked_until(f, now).is_some();
        let failures = match self
            .store
            .begin_login_attempt(&key, now, since, &is_locked)
            .await?
        {
            LoginAttempt::Locked(failures) => {
                let until = locked_until(&failures, now).unwrap_or(now + lockout_window());
                tracing::warn!(email = %key, %until, "sign-in refused: locked");
                return Err(DomainError::LockedOut { until });
            }
            LoginAttempt::Counted(failures) => failures,
        };

        let user = self.store.user_by_email(&key).await?;
        let hash = user
            .as_ref()
            .map(|u| u.password_hash.clone())
            .unwrap_or_else(|| password::dummy_hash().to_string());
        let pw = password.expose_secret().to_string();
        let matches = blocking(move || password::verify(&pw, &hash)).await?;

        match user {
            Some(user) if matches => {
                self.store.clear_failed_logins(&key).await?;
                tracing::info!(user_id = %user.id, "signed in");
                Ok(user)
            }
            _ => {
                tracing::warn!(email = %key, recent_failures = failures.len(), "sign-in failed");
                match locked_until(&failures, now) {
                    Some(until) => Err(DomainError::LockedOut { until }),
                    None => Err(DomainError::BadCredentials),
                }
            }
        }
    }

    /// The user behind a session, or `Unauthenticated` if they no longer exist.
    pub async fn user(&self, user_id: &str) -> DomainResult<User> {
        self.store
            .user_by_id(user_id)
            .await?
            .ok_or(DomainError::Unauthenticated)
    }

    pub async fn me(&self, user_id: &str) -> DomainResult<Me> {
        let user = self.user(user_id).await?;
        let teams = self
            .store
            .teams_for_user(user_id)
            .await?
            .into_iter()
            .map(|(team, m)| TeamSummary {
                trial: self.access.trial(&team),
                id: team.id,
                name: team.name,
                role: m.role,
            })
            .collect();
        Ok(Me {
            user_id: user.id,
            email: user.email,
            teams,
        })
    }

    /// The signed-in user with the team they are looking at (`NotFound`, logged, if
    /// they are not a member).
    pub async fn team_context(&self, user_id: &str, team_id: &str) -> DomainResult<TeamContext> {
        let access = self.access.team_access(user_id, team_id).await?;
        let me = self.me(user_id).await?;
        let team = me
            .teams
            .iter()
            .find(|t| t.id == access.team.id)
            .cloned()
            .ok_or(DomainError::NotFound)?;
        Ok(TeamContext { me, team })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0)
            .single()
            .unwrap_or_default()
            + Duration::minutes(min)
    }

    #[test]
    fn four_failures_do_not_lock() {
        let f = [t(0), t(1), t(2), t(3)];
        assert_eq!(locked_until(&f, t(4)), None);
    }

    #[test]
    fn five_failures_within_fifteen_minutes_lock_for_fifteen_minutes() {
        let f = [t(0), t(1), t(2), t(3), t(14)];
        assert_eq!(locked_until(&f, t(14)), Some(t(29)));
        assert_eq!(locked_until(&f, t(28)), Some(t(29)));
        assert_eq!(locked_until(&f, t(29)), None);
    }

    #[test]
    fn failures_spread_over_more_than_fifteen_minutes_do_not_lock() {
        let f = [t(0), t(5), t(10), t(15), t(16)];
        assert_eq!(locked_until(&f, t(16)), None);
    }
}
