//! The domain facade: one cheap-to-clone value holding the ports and settings that
//! every use case needs. The server builds it once; handlers and server functions
//! call its methods (defined in the modules named for each area).

use std::sync::Arc;

use chrono::Duration;
use url::Url;

use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::model::Team;
use crate::ory::OryClient;
use crate::ports::Store;
use crate::scope::{ProductScope, ScopeProof};
use crate::secret_box::SecretBox;
use gatehouse_core::trial::TrialStatus;
use gatehouse_core::views::Role;

/// Where OIDC IdPs send users back; each connection has its own path below it.
pub const OIDC_CALLBACK_PATH: &str = "/api/oauth/oidc";

/// Settings the domain needs (a subset of the server configuration).
#[derive(Debug, Clone)]
pub struct DomainSettings {
    /// Where users reach Gatehouse, e.g. `https://sso.example.com` (no trailing slash).
    pub public_base_url: Url,
    pub invite_ttl: Duration,
    pub sso: SsoSettings,
}

/// Protocol timings and switches.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// Allowed clock difference with IdPs (default 3 minutes).
    pub clock_skew: Duration,
    /// Authorization codes live 5 minutes.
    pub code_ttl: Duration,
    /// Access tokens (default 1 hour).
    pub access_token_ttl: Duration,
    /// How long a login may take at the IdP.
    pub pending_ttl: Duration,
    /// Operator switch: fetch metadata from private/loopback addresses (and plain http to them).
    pub allow_private_metadata_urls: bool,
}

impl Default for SsoSettings {
    fn default() -> Self {
        Self {
            clock_skew: Duration::minutes(3),
            code_ttl: Duration::minutes(5),
            access_token_ttl: Duration::hours(1),
            pending_ttl: Duration::minutes(15),
            allow_private_metadata_urls: false,
        }
    }
}

impl DomainSettings {
    /// The OAuth/OIDC issuer: the public base URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_base_url
            .as_str()
            .trim_end_matches('/')
            .to_string()
    }

    /// The SAML assertion consumer service (same path as Jackson).
    pub fn acs_url(&self) -> String {
        self.public_url("/api/oauth/saml")
    }

    /// Our SAML entity id for a product (one per product, so one customer can use
    /// several of the vendor's products from the same IdP tenant).
    pub fn sp_entity_id(&self, product_id: &str) -> String {
        self.public_url(&format!("/saml/{product_id}"))
    }

    /// Where an OIDC IdP sends the user back: one redirect URI per connection (its
    /// [`crate::model::Connection::oidc_redirect_key`]), so that no IdP's answer can
    /// be taken for another's (mix-up, RFC 9700 §4.4).
    pub fn oidc_callback_url(&self, key: &str) -> String {
        self.public_url(&format!("{OIDC_CALLBACK_PATH}/{key}"))
    }

    pub fn sp_metadata_url(&self, product_id: &str) -> String {
        self.public_url(&format!("/saml/{product_id}/metadata"))
    }

    /// An absolute URL under the public base URL.
    pub fn public_url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.public_base_url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }
}

#[derive(Clone)]
pub struct Services {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub secrets: SecretBox,
    pub ory: OryClient,
    pub settings: DomainSettings,
    pub keys: Arc<crate::sso::keys::KeyRing>,
    /// Wakes the Ory sync worker (see [`crate::ory::sync`]).
    pub ory_wake: Arc<tokio::sync::Notify>,
    /// Setup-link token lookups per client (see [`crate::setup_links`]).
    pub setup_lookups: Arc<crate::rate_limit::RateLimiter>,
    /// OIDC IdPs' discovery documents and keys (see [`crate::oidc::cache`]).
    pub oidc_docs: Arc<crate::oidc::cache::DocCache>,
    /// SAML decoding and verification, off the runtime and bounded (see
    /// [`crate::saml::bounded`]).
    pub saml_work: Arc<crate::saml::bounded::BoundedWork>,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("engine", &self.store.engine())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

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

impl Services {
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

    /// Run CPU-heavy work (password hashing) off the async executor.
    pub(crate) async fn blocking<T: Send + 'static>(
        f: impl FnOnce() -> T + Send + 'static,
    ) -> DomainResult<T> {
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| DomainError::internal("running a blocking task", e))
    }
}
