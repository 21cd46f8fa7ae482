//! Signing users in to the vendor's apps: the OAuth 2.0 / OIDC endpoints
//! ([`super::authorize`], [`super::token`]), the SAML assertion consumer
//! ([`super::acs`]), OIDC upstream ([`crate::oidc::login`]) and test sign-ins
//! ([`super::test_login`]). SAML and OIDC answers finish through one completion
//! ([`super::acs`]'s `finish`).

use std::sync::Arc;

use serde_json::Value;

use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::oidc::provider::OidcProviders;
use crate::outbound::Fetch;
use crate::ports::SignInPorts;
use crate::saml::bounded::BoundedWork;
use crate::saml::sp_metadata::sp_metadata_xml;
use crate::secret_box::SecretBox;
use crate::settings::DomainSettings;
use crate::sso::keys::SigningKeys;
use crate::sso::verifier::SecretVerifiers;

#[derive(Clone)]
pub struct SignIn {
    pub(crate) store: Arc<dyn SignInPorts>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) settings: DomainSettings,
    pub(crate) secrets: SecretBox,
    pub(crate) keys: Arc<SigningKeys>,
    pub(crate) oidc: OidcProviders,
    pub(crate) fetch: Arc<dyn Fetch>,
    pub(crate) verifiers: SecretVerifiers,
    /// SAML decoding and verification, off the runtime and bounded.
    pub(crate) saml_work: Arc<BoundedWork>,
    /// Where each attempt's trace goes ([`crate::sso::trace`]).
    pub(crate) traces: crate::sso::trace::TraceLog,
}

impl SignIn {
    /// The SP metadata XML of a product (public: IdP admins download it).
    pub async fn sp_metadata(&self, product_id: &str) -> DomainResult<String> {
        let product = self
            .store
            .product_by_id(product_id)
            .await?
            .ok_or(DomainError::NotFound)?;
        let keys = self.keys.current();
        Ok(sp_metadata_xml(
            &self.settings.sp_entity_id(&product.id),
            &self.settings.acs_url(),
            &keys.sp_certificates(self.clock.now()),
        ))
    }

    /// SAML responses being verified or waiting for a slot (for metrics).
    pub fn verification_queue(&self) -> usize {
        self.saml_work.waiting()
    }

    /// Our id_token signing keys, as `GET /oauth/jwks` publishes them: the one
    /// signing now, the next one during a rotation and the retiring one after it.
    pub fn jwks(&self) -> Value {
        self.keys.current().jwks(self.clock.now())
    }
}
