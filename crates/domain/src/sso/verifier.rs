//! The product's client-secret verifier: for apps that use Jackson's
//! `tenant=…&product=…` client id without PKCE, the secret they send to the token
//! endpoint (Jackson's `CLIENT_SECRET_VERIFIER`). Shown in Settings, so it is stored
//! sealed (not hashed); created on first use.

use std::sync::Arc;

use crate::error::DomainResult;
use crate::ports::ProductStore;
use crate::secret_box::SecretBox;
use crate::tokens::{constant_time_eq, new_secret};

fn context(product_id: &str) -> String {
    format!("client-secret-verifier:{product_id}")
}

/// Reads, checks and rotates products' verifiers.
#[derive(Clone)]
pub struct SecretVerifiers {
    pub(crate) store: Arc<dyn ProductStore>,
    pub(crate) secrets: SecretBox,
}

impl SecretVerifiers {
    /// The verifier of `product_id`, creating it if it does not exist yet.
    pub async fn ensure_secret_verifier(&self, product_id: &str) -> DomainResult<String> {
        if let Some(sealed) = self.store.product_secret_verifier(product_id).await? {
            let v = self.secrets.open(&context(product_id), &sealed)?;
            return Ok(String::from_utf8_lossy(&v).to_string());
        }
        self.rotate_secret_verifier(product_id).await
    }

    pub async fn rotate_secret_verifier(&self, product_id: &str) -> DomainResult<String> {
        let verifier = new_secret();
        let sealed = self
            .secrets
            .seal(&context(product_id), verifier.as_bytes())?;
        self.store
            .set_product_secret_verifier(product_id, &sealed)
            .await?;
        Ok(verifier)
    }

    /// Does `presented` equal the product's verifier? (constant time)
    pub async fn secret_verifier_matches(
        &self,
        product_id: &str,
        presented: &str,
    ) -> DomainResult<bool> {
        match self.store.product_secret_verifier(product_id).await? {
            Some(sealed) => {
                let v = self.secrets.open(&context(product_id), &sealed)?;
                Ok(constant_time_eq(&v, presented.as_bytes()))
            }
            None => Ok(false),
        }
    }
}
