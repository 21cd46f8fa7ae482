//! The tenant-isolation rule's first step: who may act on which team and product.
//! Every team-scoped use case starts with [`Access::team_access`] (membership) and,
//! for product data, [`Access::product_access`] or [`Access::authenticate_api_key`],
//! which make the [`ProductScope`] that is the only way to reach a product's data.
//! Anything outside the caller's teams is `NotFound`, never "forbidden", and the
//! attempt is logged under the `gatehouse::isolation` target.

use std::sync::Arc;

use gatehouse_core::trial::TrialStatus;
use gatehouse_core::views::Role;

use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::model::Team;
use crate::ports::AccessPorts;
use crate::scope::{ProductScope, ScopeProof};
use crate::tokens::{hash_secret, verify_secret};

/// API keys look like `ghk_<id>_<secret>`.
pub(crate) const API_KEY_PREFIX: &str = "ghk_";

/// Proof that a user belongs to a team, with their role.
#[derive(Debug, Clone)]
pub struct TeamAccess {
    pub user_id: String,
    pub team: Team,
    pub role: Role,
}

impl TeamAccess {
    pub fn require_owner(&self) -> DomainResult<()> {
        match self.role {
            Role::Owner => Ok(()),
            Role::Admin => Err(DomainError::OwnerOnly),
        }
    }
}

/// Proves a caller's team membership or product scope.
#[derive(Clone)]
pub struct Access {
    pub(crate) store: Arc<dyn AccessPorts>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl Access {
    pub fn trial(&self, team: &Team) -> TrialStatus {
        TrialStatus::at(team.trial_ends_at, self.clock.now())
    }

    /// The caller's membership of `team_id`, or `NotFound` (logged) if there is none.
    pub async fn team_access(&self, user_id: &str, team_id: &str) -> DomainResult<TeamAccess> {
        match self.store.membership(team_id, user_id).await? {
            Some((team, membership)) => Ok(TeamAccess {
                user_id: user_id.to_string(),
                team,
                role: membership.role,
            }),
            None => {
                tracing::warn!(
                    target: "gatehouse::isolation",
                    user_id, team_id, "refused: user is not a member of this team"
                );
                Err(DomainError::NotFound)
            }
        }
    }

    /// Like [`Self::team_access`], and the team must still be writable (trial not over).
    pub async fn team_write_access(
        &self,
        user_id: &str,
        team_id: &str,
    ) -> DomainResult<TeamAccess> {
        let access = self.team_access(user_id, team_id).await?;
        if self.trial(&access.team).expired {
            return Err(DomainError::TrialExpired);
        }
        Ok(access)
    }

    /// A product of a team the caller belongs to, or `NotFound` (logged).
    pub async fn product_access(
        &self,
        access: &TeamAccess,
        product_id: &str,
    ) -> DomainResult<ProductScope> {
        match self.store.product(&access.team.id, product_id).await? {
            Some(p) => Ok(ProductScope::new(
                p,
                ScopeProof::Member {
                    user_id: access.user_id.clone(),
                },
            )),
            None => {
                tracing::warn!(
                    target: "gatehouse::isolation",
                    user_id = %access.user_id, team_id = %access.team.id, product_id,
                    "refused: product is not in this team"
                );
                Err(DomainError::NotFound)
            }
        }
    }

    /// The dashboard's way in: the caller's membership (writable when `write`) and
    /// the product of that team.
    pub async fn dashboard_product(
        &self,
        user_id: &str,
        team_id: &str,
        product_id: &str,
        write: bool,
    ) -> DomainResult<(TeamAccess, ProductScope)> {
        let access = if write {
            self.team_write_access(user_id, team_id).await?
        } else {
            self.team_access(user_id, team_id).await?
        };
        let product = self.product_access(&access, product_id).await?;
        Ok((access, product))
    }

    /// Writes through the admin API follow the same trial rule as the dashboard.
    pub async fn require_product_writable(&self, product: &ProductScope) -> DomainResult<()> {
        let team = self
            .store
            .team(&product.team_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        if self.trial(&team).expired {
            return Err(DomainError::TrialExpired);
        }
        Ok(())
    }

    /// Which product does this API key belong to? `Unauthenticated` for anything but
    /// a live key (unknown, malformed, revoked, wrong secret).
    pub async fn authenticate_api_key(&self, presented: &str) -> DomainResult<ProductScope> {
        let Some((key_id, secret)) = presented
            .trim()
            .strip_prefix(API_KEY_PREFIX)
            .and_then(|rest| rest.split_once('_'))
        else {
            return Err(DomainError::Unauthenticated);
        };
        let Some(key) = self.store.api_key(key_id).await? else {
            // Spend the same hashing work as for a known key.
            let _ = verify_secret(secret, &hash_secret("x"));
            return Err(DomainError::Unauthenticated);
        };
        if !verify_secret(secret, &key.secret_hash) || key.revoked_at.is_some() {
            return Err(DomainError::Unauthenticated);
        }
        let product = self
            .store
            .product_by_id(&key.product_id)
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        self.store.touch_api_key(&key.id, self.clock.now()).await?;
        Ok(ProductScope::new(
            product,
            ScopeProof::ApiKey { key_id: key.id },
        ))
    }
}
