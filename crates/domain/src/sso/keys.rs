//! The keys Gatehouse signs with, created on first start and kept in the database
//! (private keys sealed with the instance key) so every instance shares them.
//!
//! * `saml-sp`: RSA-2048 with a self-signed certificate, for AuthnRequests and the SP
//!   metadata.
//! * `jwt`: RSA-2048 for RS256 id_tokens, published at `/oauth/jwks`.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};
use serde_json::{json, Value};

use crate::clock::Clock;
use crate::error::{DomainError, DomainResult};
use crate::model::StoredKey;
use crate::ports::Store;
use crate::secret_box::SecretBox;
use crate::tokens::{base32, random_bytes};

pub struct KeyRing {
    pub sp_key: PKey<Private>,
    /// PKCS#1 DER of the SP key (what libxmlsec1 loads).
    pub sp_key_der: Vec<u8>,
    /// Base64 DER of the SP certificate.
    pub sp_cert_b64: String,
    pub jwt_kid: String,
    pub jwt_key: PKey<Private>,
    pub jwks: Value,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("jwt_kid", &self.jwt_kid)
            .finish_non_exhaustive()
    }
}

fn err(e: impl Into<crate::error::BoxError>) -> DomainError {
    DomainError::internal("product keys", e)
}

fn context(purpose: &str, id: &str) -> String {
    format!("signing-key:{purpose}:{id}")
}

impl KeyRing {
    pub async fn load_or_create(
        store: &dyn Store,
        secrets: &SecretBox,
        clock: &dyn Clock,
    ) -> DomainResult<Self> {
        let sp = ensure(store, secrets, clock, "saml-sp").await?;
        let jwt = ensure(store, secrets, clock, "jwt").await?;

        let sp_pem = secrets.open(&context("saml-sp", &sp.id), &sp.private_key)?;
        let sp_key = PKey::private_key_from_pem(&sp_pem).map_err(err)?;
        let sp_key_der = sp_key
            .rsa()
            .and_then(|r| r.private_key_to_der())
            .map_err(err)?;
        let cert_pem = sp
            .certificate
            .clone()
            .ok_or_else(|| err("SP certificate missing"))?;
        let cert = X509::from_pem(cert_pem.as_bytes()).map_err(err)?;
        let sp_cert_b64 = STANDARD.encode(cert.to_der().map_err(err)?);

        let jwt_pem = secrets.open(&context("jwt", &jwt.id), &jwt.private_key)?;
        let jwt_key = PKey::private_key_from_pem(&jwt_pem).map_err(err)?;
        let rsa = jwt_key.rsa().map_err(err)?;
        let jwks = json!({
            "keys": [{
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": jwt.id,
                "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
                "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
            }]
        });
        Ok(Self {
            sp_key,
            sp_key_der,
            sp_cert_b64,
            jwt_kid: jwt.id,
            jwt_key,
            jwks,
        })
    }
}

async fn ensure(
    store: &dyn Store,
    secrets: &SecretBox,
    clock: &dyn Clock,
    purpose: &str,
) -> DomainResult<StoredKey> {
    if let Some(k) = store.keys(purpose).await?.into_iter().next() {
        return Ok(k);
    }
    let id = format!("{}-{}", purpose, base32(&random_bytes(8)));
    let rsa = Rsa::generate(2048).map_err(err)?;
    let pkey = PKey::from_rsa(rsa).map_err(err)?;
    let pem = pkey.private_key_to_pem_pkcs8().map_err(err)?;
    let certificate = if purpose == "saml-sp" {
        Some(self_signed(&pkey).map_err(err)?)
    } else {
        None
    };
    let key = StoredKey {
        id: id.clone(),
        purpose: purpose.to_string(),
        private_key: secrets.seal(&context(purpose, &id), &pem)?,
        certificate,
        created_at: clock.now(),
    };
    store.insert_first_key(&key).await?;
    // Another instance may have won the race: use whatever is stored now.
    store
        .keys(purpose)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| err("no key after insert"))
}

fn self_signed(pkey: &PKey<Private>) -> Result<String, openssl::error::ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", "Gatehouse SAML SP")?;
    name.append_entry_by_text("O", "Gatehouse")?;
    let name = name.build();
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial = BigNum::from_slice(&random_bytes(16))?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(pkey)?;
    b.set_not_before(Asn1Time::days_from_now(0)?.as_ref())?;
    b.set_not_after(Asn1Time::days_from_now(3650)?.as_ref())?;
    b.sign(pkey, MessageDigest::sha256())?;
    let pem = b.build().to_pem()?;
    Ok(String::from_utf8_lossy(&pem).to_string())
}
