//! SAML 2.0 Web Browser SSO, service-provider side.
//!
//! Specs: SAML 2.0 Core (OASIS saml-core-2.0-os), Bindings (saml-bindings-2.0-os),
//! Profiles (saml-profiles-2.0-os), Metadata (saml-metadata-2.0-os).
//!
//! Signatures are verified by libxmlsec1 through samael's `xmlsec` feature; this crate
//! never looks at signature bytes itself. [`crypto_is_enabled`] guards against a
//! build where samael's crypto is off (it would accept anything): a test asserts it,
//! and the server refuses to start without it.

pub mod attributes;
pub mod bounded;
pub mod certs;
pub mod guard;
pub mod metadata;
pub mod redact;
pub mod request;
pub mod response;
pub mod sp_metadata;

use chrono::{DateTime, Utc};

pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const NS_XMLDSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const BINDING_REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub const BINDING_POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

/// Why a SAML message or metadata was refused. The words are for the log and for the
/// admin testing a connection; end users see a short page with a reference id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    #[error("XML with a DOCTYPE is not accepted")]
    Doctype,
    #[error("the XML declares the encoding “{0}”; only UTF-8 is accepted")]
    Encoding(String),
    #[error("the signature asks for something that is never done: {0}")]
    SignaturePolicy(String),
    #[error("the message is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("malformed SAML: {0}")]
    Malformed(String),
    #[error("invalid IdP metadata: {0}")]
    Metadata(String),
    #[error("not supported: {0}")]
    Unsupported(String),
    #[error("the identity provider returned {code}{}{}", sub_code.as_deref().map(|s| format!(" / {s}")).unwrap_or_default(), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    IdpStatus {
        code: String,
        sub_code: Option<String>,
        message: Option<String>,
    },
    #[error("the response must contain exactly one assertion (found {0})")]
    AssertionCount(usize),
    #[error("neither the Response nor the Assertion is signed")]
    Unsigned,
    #[error("the signature does not verify with the connection's certificate(s), or uses a refused algorithm")]
    Signature,
    #[error("the response was signed with a certificate the connection does not have (subject {subject}, SHA-256 {sha256})")]
    CertificateNotPinned { subject: String, sha256: String },
    #[error("every signing certificate of the connection has expired (the last on {0})")]
    CertificateExpired(DateTime<Utc>),
    #[error("unexpected issuer “{0}”")]
    Issuer(String),
    #[error("the assertion is not for this service provider (audience {0})")]
    Audience(String),
    #[error("the response was sent to another destination ({0})")]
    Destination(String),
    #[error("the assertion is for another recipient ({0})")]
    Recipient(String),
    #[error("the assertion has no Conditions")]
    MissingConditions,
    #[error("the assertion has no subject NameID")]
    MissingSubject,
    #[error("subject confirmation failed: {0}")]
    SubjectConfirmation(String),
    #[error("the assertion is not valid before {0}")]
    NotYetValid(DateTime<Utc>),
    #[error("the assertion expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("InResponseTo does not match the login request ({})", .0.as_deref().unwrap_or("missing"))]
    InResponseTo(Option<String>),
    #[error("this assertion was already used")]
    Replay,
    #[error("signing failed: {0}")]
    Signing(String),
}

impl SamlError {
    /// The sign-in trace's reason for this refusal.
    pub fn reason(&self) -> gatehouse_core::traces::FailureReason {
        use gatehouse_core::traces::FailureReason as R;
        match self {
            SamlError::Doctype
            | SamlError::Encoding(_)
            | SamlError::TooLarge { .. }
            | SamlError::Malformed(_)
            | SamlError::Metadata(_)
            | SamlError::AssertionCount(_)
            | SamlError::MissingConditions => R::MalformedResponse,
            SamlError::SignaturePolicy(_) => R::SignaturePolicy,
            SamlError::Unsupported(_) => R::Unsupported,
            SamlError::IdpStatus { .. } => R::IdpError,
            SamlError::Unsigned => R::Unsigned,
            SamlError::Signature => R::SignatureInvalid,
            SamlError::CertificateNotPinned { .. } => R::CertificateNotPinned,
            SamlError::CertificateExpired(_) => R::CertificateExpired,
            SamlError::Issuer(_) => R::IssuerMismatch,
            SamlError::Audience(_) => R::AudienceMismatch,
            SamlError::Destination(_) => R::DestinationMismatch,
            SamlError::Recipient(_) => R::RecipientMismatch,
            SamlError::MissingSubject => R::SubjectMissing,
            SamlError::SubjectConfirmation(_) => R::SubjectConfirmationFailed,
            SamlError::NotYetValid(_) => R::NotYetValid,
            SamlError::Expired(_) => R::Expired,
            SamlError::InResponseTo(_) => R::InResponseToUnknown,
            SamlError::Replay => R::Replayed,
            SamlError::Signing(_) => R::Internal,
        }
    }
}

/// `true` when samael was built with libxmlsec1 (the `xmlsec` feature). Without it,
/// samael's "verification" accepts anything.
pub fn crypto_is_enabled() -> bool {
    use samael::crypto::{CertificateDer, Crypto, CryptoProvider, ReduceMode};
    // An unsigned document must be refused by a working crypto provider.
    let unsigned = "<r ID=\"a\"><x/></r>";
    Crypto::reduce_xml_to_signed(
        unsigned,
        &[CertificateDer::from(vec![0u8; 4])],
        ReduceMode::PreDigest,
    )
    .is_err()
}

#[cfg(test)]
mod tests {
    #[test]
    fn this_build_verifies_signatures_with_libxmlsec1() {
        // A samael without its `xmlsec` feature "verifies" anything; never ship that.
        assert!(super::crypto_is_enabled());
    }
}
