//! The keys Gatehouse signs with, created on first start and kept in the database
//! (private keys sealed with the instance key) so every instance shares them.
//!
//! * `saml-sp`: RSA-2048 with a self-signed certificate, for AuthnRequests and the SP
//!   metadata.
//! * `jwt`: RSA-2048 for RS256 id_tokens, published at `/oauth/jwks`.
//!
//! A purpose can hold several keys over time. A key is published (JWKS, SP metadata)
//! from the moment it is stored until its `retires_at`; it signs from its
//! `activates_at` until a later key activates. Rotation
//! ([`crate::keys::Keys::rotate`]) stores the next key with an activation in the
//! future, so relying parties and IdPs see it before anything is signed with it,
//! and retires the current one once nothing it signed can still be valid. Every
//! instance reads the same rows and decides by the clock, so they switch together.

use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{DateTime, Utc};
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
use crate::ports::KeyStore;
use crate::secret_box::SecretBox;
use crate::tokens::{base32, random_bytes};

/// What a key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyPurpose {
    /// AuthnRequests; its certificate is in the SP metadata.
    SamlSp,
    /// id_tokens; published in the JWKS.
    Jwt,
}

impl KeyPurpose {
    pub const ALL: [KeyPurpose; 2] = [KeyPurpose::SamlSp, KeyPurpose::Jwt];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyPurpose::SamlSp => "saml-sp",
            KeyPurpose::Jwt => "jwt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl std::fmt::Display for KeyPurpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a key is published and when it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySchedule {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub activates_at: DateTime<Utc>,
    pub retires_at: Option<DateTime<Utc>>,
}

impl KeySchedule {
    pub(crate) fn of(k: &StoredKey) -> Self {
        Self {
            id: k.id.clone(),
            created_at: k.created_at,
            activates_at: k.activates_at,
            retires_at: k.retires_at,
        }
    }

    /// Listed in the JWKS or the SP metadata at `now`.
    pub fn published(&self, now: DateTime<Utc>) -> bool {
        self.retires_at.is_none_or(|r| now < r)
    }
}

/// Where a key stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, signs from its activation.
    Next,
    /// Signs now.
    Active,
    /// Published so what it signed still verifies; signs nothing new.
    Retiring,
    /// Gone from the JWKS and the metadata.
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retiring => "retiring",
            KeyState::Retired => "retired",
        }
    }
}

/// The state of each key of one purpose at `now` (same order as `keys`).
pub fn states(keys: &[KeySchedule], now: DateTime<Utc>) -> Vec<KeyState> {
    let active = signing(keys, now).map(|(i, _)| i);
    keys.iter()
        .enumerate()
        .map(|(i, k)| {
            if !k.published(now) {
                KeyState::Retired
            } else if Some(i) == active {
                KeyState::Active
            } else if k.activates_at > now {
                KeyState::Next
            } else {
                KeyState::Retiring
            }
        })
        .collect()
}

/// A key with its schedule.
trait Scheduled {
    fn schedule(&self) -> &KeySchedule;
}

impl Scheduled for KeySchedule {
    fn schedule(&self) -> &KeySchedule {
        self
    }
}

/// The key that signs at `now` (with its index): the published one that activated
/// last.
fn signing<K: Scheduled>(keys: &[K], now: DateTime<Utc>) -> Option<(usize, &K)> {
    keys.iter()
        .enumerate()
        .filter(|(_, k)| k.schedule().published(now) && k.schedule().activates_at <= now)
        .max_by_key(|(_, k)| k.schedule().activates_at)
}

/// The keys published at `now`, the signing one first, then the others in order.
fn published_signing_first<K: Scheduled>(keys: &[K], now: DateTime<Utc>) -> Vec<&K> {
    let signing = signing(keys, now).map(|(i, _)| i);
    let mut published: Vec<(usize, &K)> = keys
        .iter()
        .enumerate()
        .filter(|(_, k)| k.schedule().published(now))
        .collect();
    published.sort_by_key(|(i, _)| Some(*i) != signing);
    published.into_iter().map(|(_, k)| k).collect()
}

/// An SP key: what libxmlsec1 and the redirect binding sign with.
pub struct SpKey {
    pub schedule: KeySchedule,
    pub key: PKey<Private>,
    /// PKCS#1 DER of the key (what libxmlsec1 loads).
    pub key_der: Vec<u8>,
    /// Base64 DER of the certificate.
    pub cert_b64: String,
}

/// An id_token key with its public JWK.
pub struct JwtKey {
    pub schedule: KeySchedule,
    pub key: PKey<Private>,
    pub jwk: Value,
}

impl Scheduled for SpKey {
    fn schedule(&self) -> &KeySchedule {
        &self.schedule
    }
}

impl Scheduled for JwtKey {
    fn schedule(&self) -> &KeySchedule {
        &self.schedule
    }
}

/// Every key not yet retired, both purposes, as loaded from the database.
pub struct KeyRing {
    sp: Vec<SpKey>,
    jwt: Vec<JwtKey>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field(
                "sp",
                &self.sp.iter().map(|k| &k.schedule.id).collect::<Vec<_>>(),
            )
            .field(
                "jwt",
                &self.jwt.iter().map(|k| &k.schedule.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn err(e: impl Into<crate::error::BoxError>) -> DomainError {
    DomainError::internal("signing keys", e)
}

fn context(purpose: &str, id: &str) -> String {
    format!("signing-key:{purpose}:{id}")
}

impl KeyRing {
    /// Create the first key of each purpose if there is none, then load.
    pub async fn load_or_create(
        store: &dyn KeyStore,
        secrets: &SecretBox,
        clock: &dyn Clock,
    ) -> DomainResult<Self> {
        for purpose in KeyPurpose::ALL {
            if store.keys(purpose.as_str()).await?.is_empty() {
                let first = new_key(secrets, purpose, clock.now(), DateTime::<Utc>::UNIX_EPOCH)?;
                // Another instance may win the race; then its key is the one loaded.
                store.insert_first_key(&first).await?;
            }
        }
        Self::load(store, secrets, clock.now()).await
    }

    /// The keys stored now; fails when a purpose has no key that can sign at `now`
    /// or a stored key does not open with `secrets`.
    pub async fn load(
        store: &dyn KeyStore,
        secrets: &SecretBox,
        now: DateTime<Utc>,
    ) -> DomainResult<Self> {
        let mut sp = Vec::new();
        for (k, schedule, key) in published(store, secrets, KeyPurpose::SamlSp, now).await? {
            let key_der = key
                .rsa()
                .and_then(|r| r.private_key_to_der())
                .map_err(err)?;
            let pem = k
                .certificate
                .as_deref()
                .ok_or_else(|| err("SP certificate missing"))?;
            let cert = X509::from_pem(pem.as_bytes()).map_err(err)?;
            sp.push(SpKey {
                schedule,
                key,
                key_der,
                cert_b64: STANDARD.encode(cert.to_der().map_err(err)?),
            });
        }
        let mut jwt = Vec::new();
        for (k, schedule, key) in published(store, secrets, KeyPurpose::Jwt, now).await? {
            let rsa = key.rsa().map_err(err)?;
            let jwk = json!({
                "kty": "RSA",
                "use": "sig",
                "alg": "RS256",
                "kid": k.id,
                "n": URL_SAFE_NO_PAD.encode(rsa.n().to_vec()),
                "e": URL_SAFE_NO_PAD.encode(rsa.e().to_vec()),
            });
            jwt.push(JwtKey { schedule, key, jwk });
        }
        let ring = Self { sp, jwt };
        ring.sp_signing(now)?;
        ring.jwt_signing(now)?;
        Ok(ring)
    }

    /// The SP key that signs AuthnRequests at `now`.
    pub fn sp_signing(&self, now: DateTime<Utc>) -> DomainResult<&SpKey> {
        signing(&self.sp, now)
            .map(|(_, k)| k)
            .ok_or_else(|| err("no SAML SP key can sign now"))
    }

    /// The key that signs id_tokens at `now`.
    pub fn jwt_signing(&self, now: DateTime<Utc>) -> DomainResult<&JwtKey> {
        signing(&self.jwt, now)
            .map(|(_, k)| k)
            .ok_or_else(|| err("no id_token key can sign now"))
    }

    /// The SP certificates (base64 DER) the metadata lists at `now`: the signing one
    /// first, then the next and the retiring ones.
    pub fn sp_certificates(&self, now: DateTime<Utc>) -> Vec<&str> {
        published_signing_first(&self.sp, now)
            .into_iter()
            .map(|k| k.cert_b64.as_str())
            .collect()
    }

    /// The JWKS at `now`: every published id_token key, the signing one first.
    pub fn jwks(&self, now: DateTime<Utc>) -> Value {
        let keys: Vec<&Value> = published_signing_first(&self.jwt, now)
            .into_iter()
            .map(|k| &k.jwk)
            .collect();
        json!({ "keys": keys })
    }
}

/// The stored keys of `purpose` still published at `now`, opened with `secrets`.
async fn published(
    store: &dyn KeyStore,
    secrets: &SecretBox,
    purpose: KeyPurpose,
    now: DateTime<Utc>,
) -> DomainResult<Vec<(StoredKey, KeySchedule, PKey<Private>)>> {
    let mut out = Vec::new();
    for k in store.keys(purpose.as_str()).await? {
        let schedule = KeySchedule::of(&k);
        if schedule.published(now) {
            let key = open(secrets, &k)?;
            out.push((k, schedule, key));
        }
    }
    Ok(out)
}

/// The key ring every sign-in reads, replaced whole when the keys are reloaded
/// (after a rotation here, and every `GATEHOUSE_KEY_RELOAD_SECONDS` for rotations
/// made elsewhere).
pub struct SigningKeys {
    ring: Mutex<Arc<KeyRing>>,
}

impl SigningKeys {
    pub fn new(ring: KeyRing) -> Self {
        Self {
            ring: Mutex::new(Arc::new(ring)),
        }
    }

    pub fn current(&self) -> Arc<KeyRing> {
        self.ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    pub fn replace(&self, ring: KeyRing) {
        *self
            .ring
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(ring);
    }
}

/// Whether `secrets` opens a stored key's sealed private key (`check-config`).
pub fn opens(secrets: &SecretBox, id: &str, purpose: &str, sealed: &str) -> bool {
    secrets.open(&context(purpose, id), sealed).is_ok()
}

fn open(secrets: &SecretBox, k: &StoredKey) -> DomainResult<PKey<Private>> {
    let pem = secrets.open(&context(&k.purpose, &k.id), &k.private_key)?;
    PKey::private_key_from_pem(&pem).map_err(err)
}

/// A new RSA-2048 key for `purpose`, sealed, published from `now`, signing from
/// `activates_at`.
pub(crate) fn new_key(
    secrets: &SecretBox,
    purpose: KeyPurpose,
    now: DateTime<Utc>,
    activates_at: DateTime<Utc>,
) -> DomainResult<StoredKey> {
    let id = format!("{}-{}", purpose.as_str(), base32(&random_bytes(8)));
    let rsa = Rsa::generate(2048).map_err(err)?;
    let pkey = PKey::from_rsa(rsa).map_err(err)?;
    let pem = pkey.private_key_to_pem_pkcs8().map_err(err)?;
    let certificate = match purpose {
        KeyPurpose::SamlSp => Some(self_signed(&pkey).map_err(err)?),
        KeyPurpose::Jwt => None,
    };
    Ok(StoredKey {
        private_key: secrets.seal(&context(purpose.as_str(), &id), &pem)?,
        id,
        purpose: purpose.as_str().to_string(),
        certificate,
        created_at: now,
        activates_at,
        retires_at: None,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(minutes)
    }

    fn key(id: &str, activates: i64, retires: Option<i64>) -> KeySchedule {
        KeySchedule {
            id: id.into(),
            created_at: at(activates.min(0)),
            activates_at: at(activates),
            retires_at: retires.map(at),
        }
    }

    #[test]
    fn a_scheduled_key_is_next_until_it_activates_then_the_old_one_retires() {
        // old signs from the start; new is stored at 100, signs from 160; old
        // stays published until 220.
        let keys = [key("old", 0, Some(220)), key("new", 160, None)];
        use KeyState::*;
        assert_eq!(states(&keys, at(100)), [Active, Next]);
        assert_eq!(states(&keys, at(159)), [Active, Next]);
        assert_eq!(states(&keys, at(160)), [Retiring, Active]);
        assert_eq!(states(&keys, at(219)), [Retiring, Active]);
        assert_eq!(states(&keys, at(220)), [Retired, Active]);
    }

    #[test]
    fn a_retired_key_never_signs_even_if_nothing_else_can() {
        let keys = [key("old", 0, Some(10))];
        assert_eq!(signing(&keys, at(9)).map(|(i, _)| i), Some(0));
        assert_eq!(signing(&keys, at(10)).map(|(i, _)| i), None);
        assert_eq!(states(&keys, at(10)), [KeyState::Retired]);
    }

    #[test]
    fn purposes_round_trip_and_unknown_ones_are_refused() {
        for p in KeyPurpose::ALL {
            assert_eq!(KeyPurpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(KeyPurpose::parse("SAML-SP"), None);
        assert_eq!(KeyPurpose::parse(""), None);
    }
}
