//! RS256 JSON Web Tokens (RFC 7515 / 7519), signed with OpenSSL.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use serde_json::{json, Value};

use crate::error::{DomainError, DomainResult};

pub fn sign_rs256(claims: &Value, kid: &str, key: &PKey<Private>) -> DomainResult<String> {
    let header = json!({ "alg": "RS256", "typ": "JWT", "kid": kid });
    let encode = |v: &Value| -> DomainResult<String> {
        serde_json::to_vec(v)
            .map(|b| URL_SAFE_NO_PAD.encode(b))
            .map_err(|e| DomainError::internal("signing a JWT", e))
    };
    let signing_input = format!("{}.{}", encode(&header)?, encode(claims)?);
    let mut signer = Signer::new(MessageDigest::sha256(), key)
        .map_err(|e| DomainError::internal("signing a JWT", e))?;
    signer
        .update(signing_input.as_bytes())
        .map_err(|e| DomainError::internal("signing a JWT", e))?;
    let sig = signer
        .sign_to_vec()
        .map_err(|e| DomainError::internal("signing a JWT", e))?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
}
