//! The domain's services, wired once: each is named for what it does and holds only
//! the ports it uses (private fields). The server builds [`Services`] from a store
//! and the outbound adapters; handlers and server functions call the service of
//! their area (`services.sign_in.token(..)`), never a store.

use std::sync::Arc;

use crate::access::Access;
use crate::accounts::Accounts;
use crate::audit::{Audit, AuditLog};
use crate::clock::Clock;
use crate::keys::Keys;
use crate::maintenance::Maintenance;
use crate::oidc::provider::OidcProviders;
use crate::ory::{OryApi, OryIntegration, OryWake};
use crate::outbound::Fetch;
use crate::ports::Store;
use crate::products::Products;
use crate::rate_limit::RateLimiter;
use crate::secret_box::SecretBox;
use crate::settings::DomainSettings;
use crate::setup_links::{SetupLinks, LOOKUPS_PER_MINUTE};
use crate::sso::connections::{Connections, IdpResolver};
use crate::sso::keys::{KeyRing, SigningKeys};
use crate::sso::sign_in::SignIn;
use crate::sso::trace::TraceLog;
use crate::sso::verifier::SecretVerifiers;
use crate::traces::Traces;
use crate::webhooks::{WebhookOutbox, Webhooks};

/// What the services are built from.
pub struct Wiring<S> {
    pub store: Arc<S>,
    pub clock: Arc<dyn Clock>,
    pub secrets: SecretBox,
    pub settings: DomainSettings,
    pub keys: KeyRing,
    /// Ory's console API ([`crate::adapters::ory_console::OryClient`] in production).
    pub ory: Arc<dyn OryApi>,
    /// URLs admins and customers give us
    /// ([`crate::adapters::guarded_http::GuardedHttp`] in production).
    pub fetch: Arc<dyn Fetch>,
}

/// Every service. A clone is one reference count: the HTTP layer clones it for
/// every request.
#[derive(Clone)]
pub struct Services(Arc<Areas>);

impl std::ops::Deref for Services {
    type Target = Areas;
    fn deref(&self) -> &Areas {
        &self.0
    }
}

/// The services, one per area.
pub struct Areas {
    pub access: Access,
    pub accounts: Accounts,
    pub products: Products,
    pub connections: Connections,
    pub setup_links: SetupLinks,
    pub sign_in: SignIn,
    pub ory: OryIntegration,
    pub keys: Keys,
    pub traces: Traces,
    pub audit: Audit,
    pub webhooks: Webhooks,
    pub maintenance: Maintenance,
    settings: DomainSettings,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("engine", &self.maintenance.database_engine())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Services {
    pub fn new<S: Store + 'static>(w: Wiring<S>) -> Self {
        let Wiring {
            store,
            clock,
            secrets,
            settings,
            keys,
            ory,
            fetch,
        } = w;
        let ory_wake = OryWake::default();
        let outbox = WebhookOutbox::new(store.clone(), clock.clone());
        let trace_log = if settings.sso.trace_retention > chrono::Duration::zero() {
            TraceLog::start(store.clone(), outbox.clone())
        } else {
            TraceLog::off()
        };
        let keys = Arc::new(SigningKeys::new(keys));
        let access = Access {
            store: store.clone(),
            clock: clock.clone(),
        };
        let verifiers = SecretVerifiers {
            store: store.clone(),
            secrets: secrets.clone(),
        };
        let audit_log = AuditLog {
            store: store.clone(),
            clock: clock.clone(),
        };
        let oidc = OidcProviders::new(fetch.clone(), clock.clone());
        let idp = IdpResolver {
            fetch: fetch.clone(),
            oidc: oidc.clone(),
            secrets: secrets.clone(),
        };
        let connections = Connections {
            store: store.clone(),
            clock: clock.clone(),
            settings: settings.clone(),
            access: access.clone(),
            idp: idp.clone(),
            verifiers: verifiers.clone(),
            ory_wake: ory_wake.clone(),
            audit: audit_log.clone(),
            webhooks: outbox.clone(),
        };
        Self(Arc::new(Areas {
            accounts: Accounts {
                store: store.clone(),
                clock: clock.clone(),
                settings: settings.clone(),
                access: access.clone(),
                audit: audit_log.clone(),
            },
            products: Products {
                store: store.clone(),
                clock: clock.clone(),
                access: access.clone(),
                audit: audit_log.clone(),
            },
            setup_links: SetupLinks {
                store: store.clone(),
                clock: clock.clone(),
                settings: settings.clone(),
                access: access.clone(),
                idp,
                connections: connections.clone(),
                lookups: Arc::new(RateLimiter::per_minute(LOOKUPS_PER_MINUTE)),
                audit: audit_log.clone(),
            },
            sign_in: SignIn {
                store: store.clone(),
                clock: clock.clone(),
                settings: settings.clone(),
                secrets: secrets.clone(),
                keys: keys.clone(),
                oidc,
                fetch: fetch.clone(),
                verifiers,
                saml_work: Arc::default(),
                traces: trace_log.clone(),
            },
            ory: OryIntegration {
                store: store.clone(),
                clock: clock.clone(),
                settings: settings.clone(),
                secrets: secrets.clone(),
                access: access.clone(),
                ory,
                ory_wake,
                audit: audit_log.clone(),
                webhooks: outbox.clone(),
            },
            webhooks: Webhooks {
                store: store.clone(),
                clock: clock.clone(),
                settings: settings.clone(),
                secrets: secrets.clone(),
                access: access.clone(),
                fetch: fetch.clone(),
                outbox,
                audit: audit_log,
            },
            keys: Keys {
                store: store.clone(),
                clock: clock.clone(),
                settings: settings.clone(),
                secrets,
                ring: keys,
            },
            audit: Audit {
                store: store.clone(),
                access: access.clone(),
            },
            traces: Traces {
                store: store.clone(),
                access: access.clone(),
                log: trace_log,
            },
            maintenance: Maintenance {
                store,
                clock,
                trace_retention: settings.sso.trace_retention,
            },
            access,
            connections,
            settings,
        }))
    }
}

impl Areas {
    pub fn settings(&self) -> &DomainSettings {
        &self.settings
    }
}
