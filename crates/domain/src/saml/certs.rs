//! X.509 signing certificates pinned on a connection.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, Utc};
use openssl::x509::X509;
use serde::{Deserialize, Serialize};

use super::SamlError;
use crate::tokens::hex;

/// A certificate as stored and shown: DER (base64) plus what an admin needs to see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedCert {
    /// Base64 DER.
    pub der: String,
    pub subject: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// SHA-256 of the DER, hex, colon-free.
    pub sha256: String,
}

impl PinnedCert {
    /// Parse a base64 certificate body as found in `<ds:X509Certificate>`.
    pub fn from_base64(body: &str) -> Result<Self, SamlError> {
        let cleaned: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|_| SamlError::Metadata("a signing certificate is not valid base64".into()))?;
        Self::from_der(&der)
    }

    pub fn from_der(der: &[u8]) -> Result<Self, SamlError> {
        let cert = X509::from_der(der).map_err(|_| {
            SamlError::Metadata("a signing certificate is not a valid X.509 certificate".into())
        })?;
        let subject = cert
            .subject_name()
            .entries()
            .filter_map(|e| {
                let key = e.object().nid().short_name().ok()?;
                let value = e.data().to_string().ok()?;
                Some(format!("{key}={value}"))
            })
            .collect::<Vec<_>>()
            .join(", ");
        Ok(Self {
            der: STANDARD.encode(der),
            subject,
            not_before: asn1_to_chrono(cert.not_before())?,
            not_after: asn1_to_chrono(cert.not_after())?,
            sha256: hex(&openssl::sha::sha256(der)),
        })
    }

    pub fn der_bytes(&self) -> Vec<u8> {
        STANDARD.decode(self.der.as_bytes()).unwrap_or_default()
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.not_after <= now
    }
}

fn asn1_to_chrono(t: &openssl::asn1::Asn1TimeRef) -> Result<DateTime<Utc>, SamlError> {
    let epoch = openssl::asn1::Asn1Time::from_unix(0)
        .map_err(|_| SamlError::Metadata("certificate time".into()))?;
    let diff = epoch
        .diff(t)
        .map_err(|_| SamlError::Metadata("certificate time".into()))?;
    let secs = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    DateTime::<Utc>::from_timestamp(secs, 0)
        .ok_or_else(|| SamlError::Metadata("certificate time out of range".into()))
}
