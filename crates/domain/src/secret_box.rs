//! Secrets at rest (Ory tokens, OIDC client secrets, signing keys): AES-256-GCM with
//! the instance key from `GATEHOUSE_SECRET_KEY`.
//!
//! Format: `v1.` + base64url(nonce[12] ‖ ciphertext ‖ tag[16]). The caller passes a
//! *context* (e.g. `ory-token:prod_…`) that is authenticated as associated data, so a
//! ciphertext copied onto another row fails to decrypt instead of being used there.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::symm::{decrypt_aead, encrypt_aead, Cipher};
use secrecy::{ExposeSecret, SecretBox as Secret, SecretString};

use crate::tokens::random_bytes;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretBoxError {
    #[error("the secret key must be 32 bytes, base64 encoded")]
    BadKey,
    #[error("stored secret is not in a format this version understands")]
    BadFormat,
    #[error("stored secret could not be decrypted with this instance's key (was GATEHOUSE_SECRET_KEY changed?)")]
    Decrypt,
    #[error("encryption failed")]
    Encrypt,
}

/// The instance key. Cloning shares nothing mutable; the key bytes are zeroised on drop.
#[derive(Clone)]
pub struct SecretBox {
    key: std::sync::Arc<Secret<[u8; 32]>>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

const VERSION: &str = "v1.";

impl SecretBox {
    pub fn new(key: [u8; 32]) -> Self {
        Self {
            key: std::sync::Arc::new(Secret::new(Box::new(key))),
        }
    }

    /// Parse a base64 (standard or url-safe, padded or not) 32-byte key.
    pub fn from_base64(encoded: &str) -> Result<Self, SecretBoxError> {
        let trimmed = encoded.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(trimmed)
            .or_else(|_| URL_SAFE_NO_PAD.decode(trimmed.trim_end_matches('=')))
            .map_err(|_| SecretBoxError::BadKey)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SecretBoxError::BadKey)?;
        Ok(Self::new(key))
    }

    /// A fresh random key, base64 encoded (for first start on the embedded default).
    pub fn generate_base64() -> String {
        base64::engine::general_purpose::STANDARD.encode(random_bytes(32))
    }

    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<String, SecretBoxError> {
        let nonce = random_bytes(12);
        let mut tag = [0u8; 16];
        let ct = encrypt_aead(
            Cipher::aes_256_gcm(),
            self.key.expose_secret(),
            Some(&nonce),
            context.as_bytes(),
            plaintext,
            &mut tag,
        )
        .map_err(|_| SecretBoxError::Encrypt)?;
        let mut out = nonce;
        out.extend_from_slice(&ct);
        out.extend_from_slice(&tag);
        Ok(format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, SecretBoxError> {
        let body = sealed
            .strip_prefix(VERSION)
            .ok_or(SecretBoxError::BadFormat)?;
        let raw = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| SecretBoxError::BadFormat)?;
        if raw.len() < 12 + 16 {
            return Err(SecretBoxError::BadFormat);
        }
        let (nonce, rest) = raw.split_at(12);
        let (ct, tag) = rest.split_at(rest.len() - 16);
        decrypt_aead(
            Cipher::aes_256_gcm(),
            self.key.expose_secret(),
            Some(nonce),
            context.as_bytes(),
            ct,
            tag,
        )
        .map_err(|_| SecretBoxError::Decrypt)
    }

    pub fn seal_str(
        &self,
        context: &str,
        plaintext: &SecretString,
    ) -> Result<String, SecretBoxError> {
        self.seal(context, plaintext.expose_secret().as_bytes())
    }

    pub fn open_str(&self, context: &str, sealed: &str) -> Result<SecretString, SecretBoxError> {
        let bytes = self.open(context, sealed)?;
        String::from_utf8(bytes)
            .map(SecretString::from)
            .map_err(|_| SecretBoxError::BadFormat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretBox {
        SecretBox::new([7u8; 32])
    }

    #[test]
    fn round_trip() {
        let sealed = key().seal("ctx", b"ory_st_secret").unwrap_or_default();
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains("ory_st_secret"));
        assert_eq!(
            key().open("ctx", &sealed).ok(),
            Some(b"ory_st_secret".to_vec())
        );
    }

    #[test]
    fn wrong_context_wrong_key_or_tampering_fail() {
        let sealed = key().seal("ory-token:prod_a", b"s").unwrap_or_default();
        assert_eq!(
            key().open("ory-token:prod_b", &sealed),
            Err(SecretBoxError::Decrypt)
        );
        assert_eq!(
            SecretBox::new([8u8; 32]).open("ory-token:prod_a", &sealed),
            Err(SecretBoxError::Decrypt)
        );
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap_or_default();
        assert!(key().open("ory-token:prod_a", &tampered).is_err());
        assert_eq!(key().open("c", "v0.abc"), Err(SecretBoxError::BadFormat));
    }

    #[test]
    fn nonces_differ() {
        assert_ne!(key().seal("c", b"x").ok(), key().seal("c", b"x").ok());
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert!(SecretBox::from_base64(&SecretBox::generate_base64()).is_ok());
        assert_eq!(
            SecretBox::from_base64("c2hvcnQ=").err(),
            Some(SecretBoxError::BadKey)
        );
        assert_eq!(
            SecretBox::from_base64("not base64!").err(),
            Some(SecretBoxError::BadKey)
        );
    }
}
