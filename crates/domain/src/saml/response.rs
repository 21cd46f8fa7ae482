//! Verifying a SAML Response (SAML 2.0 Core §3.2, Profiles §4.1.4 "Web Browser SSO").
//!
//! ```text
//!   raw XML ──guard──▶ envelope scan (unsigned: status, counts, where signatures are)
//!           ──libxmlsec1 with the connection's pinned certificates only──▶ the exact bytes
//!             the signature covers (exclusive-c14n pre-digest, comments stripped)
//!           ──parse ONLY those bytes──▶ rules below ──▶ VerifiedAssertion
//! ```
//!
//! Rules (each has a negative test):
//! * DOCTYPE refused; exactly one `<Assertion>` in the whole message; no
//!   `<EncryptedAssertion>`.
//! * The Response or the Assertion is signed, by a pinned certificate (a certificate in
//!   the message's KeyInfo is ignored), with RSA-SHA256/384/512 or ECDSA-SHA256/384/512
//!   and a SHA-256+ digest.
//! * Everything read comes from the signed bytes: no signature wrapping, and a comment
//!   inside `<NameID>` cannot truncate it (c14n without comments drops it).
//! * Issuer = the IdP's entity id; Audience = our SP entity id (exact); Destination and
//!   `SubjectConfirmationData/@Recipient` = our ACS URL.
//! * `Conditions` must be present; `NotBefore`/`NotOnOrAfter` on `Conditions` and on the
//!   bearer `SubjectConfirmationData` hold, within the configured clock skew.
//! * `InResponseTo` equals the pending request's id (SP-initiated), or is absent
//!   (IdP-initiated). Replay (same assertion id twice) is checked by the caller with
//!   [`VerifiedAssertion::replay_expires_at`].
//! * A non-Success status is returned as the IdP's error.

use chrono::{DateTime, Duration, Utc};
use quick_xml::events::Event;
use quick_xml::XmlVersion;

const XML_1_0: XmlVersion = XmlVersion::Implicit1_0;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use samael::crypto::policy::PolicyViolation;
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoError, CryptoProvider, ReduceMode,
    XmlSecProviderError,
};
use samael::schema::{Assertion, Response};

use super::certs::PinnedCert;
use super::{guard, SamlError, NS_ASSERTION, NS_PROTOCOL, NS_XMLDSIG};

const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Signature algorithms accepted (SHA-1 and DSA are not).
pub const ALLOWED_ALGORITHMS: &[AllowedSignatureAlgorithm] = &[
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// What the SP side expects of every response.
#[derive(Debug, Clone)]
pub struct SpExpectations<'a> {
    pub sp_entity_id: &'a str,
    pub acs_url: &'a str,
    pub clock_skew: Duration,
}

/// The IdP a response must come from.
#[derive(Debug, Clone)]
pub struct ExpectedIdp<'a> {
    pub entity_id: &'a str,
    pub certificates: &'a [PinnedCert],
}

/// Solicited (answering our AuthnRequest) or unsolicited (IdP-initiated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Solicitation<'a> {
    InResponseTo(&'a str),
    Unsolicited,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    pub assertion_id: String,
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub session_index: Option<String>,
    /// Attribute name → values, in document order.
    pub attributes: Vec<(String, Vec<String>)>,
    /// Until when this assertion could be replayed (the replay cache keeps its id).
    pub replay_expires_at: DateTime<Utc>,
    pub response_signed: bool,
    pub assertion_signed: bool,
}

/// Facts read from the raw (unverified) envelope: only used to decide *how* to
/// verify and to report IdP errors, never as identity data.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub root_is_response: bool,
    pub issuer: Option<String>,
    pub in_response_to: Option<String>,
    pub destination: Option<String>,
    pub status_code: Option<String>,
    pub status_sub_code: Option<String>,
    pub status_message: Option<String>,
    pub assertions: usize,
    pub encrypted_assertions: usize,
    pub response_signature: bool,
    pub assertion_signature: bool,
    /// `<ds:Signature>` elements anywhere else: never accepted.
    pub stray_signatures: usize,
    /// The (first) assertion's `Conditions` window, unverified: lets a response that
    /// is plainly expired be refused before any signature work.
    pub not_before: Option<String>,
    pub not_on_or_after: Option<String>,
}

/// Scan the raw message (namespace-aware) without trusting it.
pub fn scan_envelope(xml: &str) -> Result<Envelope, SamlError> {
    let mut reader = NsReader::from_str(xml);
    let mut env = Envelope::default();
    // element stack of (namespace, local name)
    let mut stack: Vec<(String, String)> = Vec::new();
    let mut capture: Option<&'static str> = None;
    let mut text = String::new();
    loop {
        let (ns, ev) = reader
            .read_resolved_event()
            .map_err(|e| SamlError::Malformed(format!("not well-formed XML: {e}")))?;
        let is_start = matches!(ev, Event::Start(_));
        match (ns, ev) {
            (ns, Event::Start(e)) | (ns, Event::Empty(e)) => {
                let ns = match ns {
                    ResolveResult::Bound(n) => String::from_utf8_lossy(n.as_ref()).to_string(),
                    _ => String::new(),
                };
                let local = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                let depth = stack.len();
                let parent = stack.last().cloned();
                if depth == 0 {
                    env.root_is_response = ns == NS_PROTOCOL && local == "Response";
                    for a in e.attributes().flatten() {
                        let v = a
                            .normalized_value(XML_1_0)
                            .map(|v| v.to_string())
                            .unwrap_or_default();
                        match a.key.as_ref() {
                            b"InResponseTo" => env.in_response_to = Some(v),
                            b"Destination" => env.destination = Some(v),
                            _ => {}
                        }
                    }
                }
                if ns == NS_ASSERTION && local == "Assertion" {
                    env.assertions += 1;
                }
                if ns == NS_ASSERTION && local == "EncryptedAssertion" {
                    env.encrypted_assertions += 1;
                }
                if ns == NS_XMLDSIG && local == "Signature" {
                    match parent.as_ref().map(|(n, l)| (n.as_str(), l.as_str())) {
                        Some((NS_PROTOCOL, "Response")) if depth == 1 => {
                            env.response_signature = true
                        }
                        Some((NS_ASSERTION, "Assertion")) => env.assertion_signature = true,
                        _ => env.stray_signatures += 1,
                    }
                }
                if ns == NS_ASSERTION
                    && local == "Conditions"
                    && env.assertions == 1
                    && parent.as_ref().map(|(n, l)| (n.as_str(), l.as_str()))
                        == Some((NS_ASSERTION, "Assertion"))
                {
                    for a in e.attributes().flatten() {
                        let v = a.normalized_value(XML_1_0).map(|v| v.to_string()).ok();
                        match a.key.as_ref() {
                            b"NotBefore" => env.not_before = v,
                            b"NotOnOrAfter" => env.not_on_or_after = v,
                            _ => {}
                        }
                    }
                }
                if depth == 1 && ns == NS_ASSERTION && local == "Issuer" {
                    capture = Some("issuer");
                    text.clear();
                }
                if ns == NS_PROTOCOL && local == "StatusCode" {
                    let v = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == b"Value")
                        .and_then(|a| a.normalized_value(XML_1_0).ok().map(|v| v.to_string()));
                    if parent.as_ref().map(|(_, l)| l.as_str()) == Some("Status") {
                        env.status_code = v;
                    } else if env.status_sub_code.is_none() {
                        env.status_sub_code = v;
                    }
                }
                if ns == NS_PROTOCOL && local == "StatusMessage" {
                    capture = Some("status_message");
                    text.clear();
                }
                if is_start {
                    stack.push((ns, local));
                }
            }
            (_, Event::Text(t)) if capture.is_some() => {
                text.push_str(&t.decode().map(|s| s.to_string()).unwrap_or_default());
            }
            (_, Event::GeneralRef(r)) if capture.is_some() => {
                let name = String::from_utf8_lossy(r.as_ref()).to_string();
                text.push_str(match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                });
            }
            (_, Event::End(_)) => {
                match capture.take() {
                    Some("issuer") => env.issuer = Some(text.trim().to_string()),
                    Some("status_message") => env.status_message = Some(text.trim().to_string()),
                    _ => {}
                }
                stack.pop();
            }
            (_, Event::DocType(_)) => return Err(SamlError::Doctype),
            (_, Event::Eof) => break,
            _ => {}
        }
    }
    if stack.is_empty() && !env.root_is_response && env.assertions == 0 {
        return Err(SamlError::Malformed("not a SAML Response".into()));
    }
    Ok(env)
}

/// Verify a decoded `SAMLResponse` and apply every rule. `now` comes from the clock.
pub fn verify_response(
    xml: &str,
    idp: &ExpectedIdp<'_>,
    sp: &SpExpectations<'_>,
    solicitation: Solicitation<'_>,
    now: DateTime<Utc>,
) -> Result<VerifiedAssertion, SamlError> {
    // An expired certificate signs nothing: with only expired ones left, the
    // connection needs the IdP's new certificate, whatever the message says.
    let live: Vec<&PinnedCert> = idp
        .certificates
        .iter()
        .filter(|c| !c.is_expired(now))
        .collect();
    if live.is_empty() {
        return Err(match idp.certificates.iter().map(|c| c.not_after).max() {
            Some(last) => SamlError::CertificateExpired(last),
            None => SamlError::Signature,
        });
    }
    guard::check(xml, guard::MAX_MESSAGE_BYTES)?;
    let env = scan_envelope(xml)?;
    if !env.root_is_response {
        return Err(SamlError::Malformed(
            "the message is not a samlp:Response".into(),
        ));
    }
    if let Some(code) = env.status_code.as_deref().filter(|c| *c != STATUS_SUCCESS) {
        return Err(SamlError::IdpStatus {
            code: short_status(code),
            sub_code: env.status_sub_code.as_deref().map(short_status),
            message: env.status_message.clone(),
        });
    }
    if env.encrypted_assertions > 0 {
        return Err(SamlError::Unsupported(
            "encrypted assertions: turn off assertion encryption for this application in the IdP"
                .into(),
        ));
    }
    if env.assertions != 1 {
        return Err(SamlError::AssertionCount(env.assertions));
    }
    if !env.response_signature && !env.assertion_signature {
        return Err(SamlError::Unsigned);
    }
    if env.stray_signatures > 0 {
        return Err(SamlError::SignaturePolicy(
            "a signature outside the Response and its Assertion".into(),
        ));
    }
    check_unverified(&env, idp, sp, now)?;

    // Signature check with the pinned certificates only; returns the signed bytes.
    let certs: Vec<CertificateDer> = live
        .iter()
        .map(|c| CertificateDer::from(c.der_bytes()))
        .collect();
    // One certificate at a time: libxmlsec1 reports a key-type mismatch (an RSA key
    // for an ECDSA signature) as an error, not as "does not verify", so a combined
    // call would stop at the first certificate of the other type.
    // A document the signature policy refuses is refused whatever the certificate.
    let mut signed = None;
    for cert in &certs {
        match Crypto::reduce_xml_to_signed_with_allowed_algorithms(
            xml,
            std::slice::from_ref(cert),
            ReduceMode::PreDigest,
            Some(ALLOWED_ALGORITHMS),
        ) {
            Ok(s) => {
                signed = Some(s);
                break;
            }
            Err(e) => {
                if let Some(violation) = policy_violation(&e) {
                    return Err(SamlError::SignaturePolicy(violation.to_string()));
                }
            }
        }
    }
    let signed = signed.ok_or_else(|| unpinned_signer(xml, idp.certificates))?;

    let signed_env = scan_envelope(&signed)?;
    if signed_env.assertions != 1 {
        return Err(SamlError::AssertionCount(signed_env.assertions));
    }

    let (assertion, response_signed) = if signed_env.root_is_response {
        let response: Response = signed
            .parse()
            .map_err(|e| SamlError::Malformed(format!("signed Response: {e}")))?;
        check_signed_response(&response, idp, sp, solicitation)?;
        let assertion = response.assertion.ok_or(SamlError::AssertionCount(0))?;
        (assertion, true)
    } else {
        // Only the assertion is signed: the envelope is unsigned, but when it names a
        // destination it must still be ours.
        if let Some(d) = env.destination.as_deref() {
            if d != sp.acs_url {
                return Err(SamlError::Destination(d.to_string()));
            }
        }
        let assertion: Assertion = signed
            .parse()
            .map_err(|e| SamlError::Malformed(format!("signed Assertion: {e}")))?;
        (assertion, false)
    };

    check_assertion(
        assertion,
        idp,
        sp,
        solicitation,
        now,
        response_signed,
        env.assertion_signature,
    )
}

/// The cheap rules, on the unverified envelope, before any signature work: a response
/// sent elsewhere, from another IdP or plainly outside its time window costs no
/// signature check. Passing them proves nothing: the same rules run again on the
/// signed content.
fn check_unverified(
    env: &Envelope,
    idp: &ExpectedIdp<'_>,
    sp: &SpExpectations<'_>,
    now: DateTime<Utc>,
) -> Result<(), SamlError> {
    if let Some(d) = env.destination.as_deref().filter(|d| *d != sp.acs_url) {
        return Err(SamlError::Destination(d.to_string()));
    }
    if let Some(issuer) = env.issuer.as_deref().filter(|i| *i != idp.entity_id) {
        return Err(SamlError::Issuer(issuer.to_string()));
    }
    let instant = |v: &Option<String>| {
        v.as_deref()
            .and_then(|v| DateTime::parse_from_rfc3339(v.trim()).ok())
            .map(|t| t.with_timezone(&Utc))
    };
    if let Some(nb) = instant(&env.not_before) {
        if now + sp.clock_skew < nb {
            return Err(SamlError::NotYetValid(nb));
        }
    }
    if let Some(noa) = instant(&env.not_on_or_after) {
        if now >= noa + sp.clock_skew {
            return Err(SamlError::Expired(noa));
        }
    }
    Ok(())
}

/// Why no pinned certificate verified the signature, for the admin: when the message
/// carries signing certificates and none of them is pinned, the IdP signed with
/// another key (usually a rotated certificate). Only words: nothing here accepts.
fn unpinned_signer(xml: &str, pinned: &[PinnedCert]) -> SamlError {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    let mut carried = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().as_ref() == b"X509Certificate" => inside = true,
            Ok(Event::End(e)) if e.local_name().as_ref() == b"X509Certificate" => inside = false,
            Ok(Event::Text(t)) if inside => {
                if let Ok(cert) = PinnedCert::from_base64(&String::from_utf8_lossy(&t)) {
                    carried.push(cert);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        if carried.len() >= 4 {
            break;
        }
    }
    let is_pinned = |c: &PinnedCert| pinned.iter().any(|p| p.sha256 == c.sha256);
    match carried.iter().find(|c| !is_pinned(c)) {
        Some(other) if !carried.iter().any(is_pinned) => SamlError::CertificateNotPinned {
            subject: other.subject.clone(),
            sha256: other.sha256.clone(),
        },
        _ => SamlError::Signature,
    }
}

/// The signature policy's refusal inside a samael error (samael's
/// `crypto::xmlsec::policy`: references, transforms, Manifests, DTDs), if that is
/// what it is.
fn policy_violation(e: &CryptoError) -> Option<&PolicyViolation> {
    let CryptoError::CryptoProviderError(inner) = e else {
        return None;
    };
    match inner.downcast_ref::<XmlSecProviderError>()? {
        XmlSecProviderError::Policy(v) => Some(v),
        _ => None,
    }
}

fn short_status(code: &str) -> String {
    code.rsplit(':').next().unwrap_or(code).to_string()
}

fn check_signed_response(
    response: &Response,
    idp: &ExpectedIdp<'_>,
    sp: &SpExpectations<'_>,
    solicitation: Solicitation<'_>,
) -> Result<(), SamlError> {
    // A signed response must name its destination (SAML Bindings §3.5.5.2).
    match response.destination.as_deref() {
        Some(d) if d == sp.acs_url => {}
        Some(d) => return Err(SamlError::Destination(d.to_string())),
        None => return Err(SamlError::Destination("(missing)".into())),
    }
    if let Some(issuer) = &response.issuer {
        if issuer.value.as_deref().map(str::trim) != Some(idp.entity_id) {
            return Err(SamlError::Issuer(issuer.value.clone().unwrap_or_default()));
        }
    }
    match (solicitation, response.in_response_to.as_deref()) {
        (Solicitation::InResponseTo(expected), Some(got)) if got == expected => Ok(()),
        (Solicitation::InResponseTo(_), got) => Err(SamlError::InResponseTo(got.map(String::from))),
        (Solicitation::Unsolicited, None) => Ok(()),
        (Solicitation::Unsolicited, Some(got)) => {
            Err(SamlError::InResponseTo(Some(got.to_string())))
        }
    }
}

fn check_assertion(
    assertion: Assertion,
    idp: &ExpectedIdp<'_>,
    sp: &SpExpectations<'_>,
    solicitation: Solicitation<'_>,
    now: DateTime<Utc>,
    response_signed: bool,
    assertion_signed: bool,
) -> Result<VerifiedAssertion, SamlError> {
    let skew = sp.clock_skew;
    if assertion.issuer.value.as_deref().map(str::trim) != Some(idp.entity_id) {
        return Err(SamlError::Issuer(
            assertion.issuer.value.clone().unwrap_or_default(),
        ));
    }

    // Conditions: required, time window, audience.
    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or(SamlError::MissingConditions)?;
    if let Some(nb) = conditions.not_before {
        if now + skew < nb {
            return Err(SamlError::NotYetValid(nb));
        }
    }
    if let Some(noa) = conditions.not_on_or_after {
        if now >= noa + skew {
            return Err(SamlError::Expired(noa));
        }
    }
    let restrictions = conditions
        .audience_restrictions
        .as_ref()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| SamlError::Audience("(no AudienceRestriction)".into()))?;
    for r in restrictions {
        if !r.audience.iter().any(|a| a.trim() == sp.sp_entity_id) {
            return Err(SamlError::Audience(r.audience.join(", ")));
        }
    }

    // Subject and its bearer confirmation.
    let subject = assertion
        .subject
        .as_ref()
        .ok_or(SamlError::MissingSubject)?;
    let name_id = subject
        .name_id
        .as_ref()
        .map(|n| (n.value.trim().to_string(), n.format.clone()))
        .filter(|(v, _)| !v.is_empty())
        .ok_or(SamlError::MissingSubject)?;
    let confirmations: Vec<_> = subject
        .subject_confirmations
        .iter()
        .flatten()
        .filter(|c| c.method.as_deref() == Some(BEARER))
        .collect();
    if confirmations.is_empty() {
        return Err(SamlError::SubjectConfirmation(
            "no bearer SubjectConfirmation".into(),
        ));
    }
    let mut last_error = None;
    let mut confirmed_until = None;
    for c in confirmations {
        match check_confirmation(c, sp, solicitation, now) {
            Ok(until) => {
                confirmed_until = Some(until);
                break;
            }
            Err(e) => last_error = Some(e),
        }
    }
    let confirmed_until = match (confirmed_until, last_error) {
        (Some(u), _) => u,
        (None, Some(e)) => return Err(e),
        (None, None) => {
            return Err(SamlError::SubjectConfirmation(
                "no usable SubjectConfirmation".into(),
            ))
        }
    };

    let mut attributes: Vec<(String, Vec<String>)> = Vec::new();
    for statement in assertion.attribute_statements.iter().flatten() {
        for attr in &statement.attributes {
            let Some(name) = attr.name.clone().or_else(|| attr.friendly_name.clone()) else {
                continue;
            };
            let values: Vec<String> = attr
                .values
                .iter()
                .filter_map(|v| v.value.as_ref().map(|s| s.trim().to_string()))
                .filter(|s| !s.is_empty())
                .collect();
            match attributes.iter_mut().find(|(n, _)| *n == name) {
                Some((_, existing)) => existing.extend(values),
                None => attributes.push((name, values)),
            }
        }
    }
    let session_index = assertion
        .authn_statements
        .iter()
        .flatten()
        .find_map(|s| s.session_index.clone());

    let replay_expires_at = conditions
        .not_on_or_after
        .map_or(confirmed_until, |c| c.max(confirmed_until))
        + skew;

    Ok(VerifiedAssertion {
        assertion_id: assertion.id.clone(),
        issuer: idp.entity_id.to_string(),
        name_id: name_id.0,
        name_id_format: name_id.1,
        session_index,
        attributes,
        replay_expires_at,
        response_signed,
        assertion_signed,
    })
}

fn check_confirmation(
    c: &samael::schema::SubjectConfirmation,
    sp: &SpExpectations<'_>,
    solicitation: Solicitation<'_>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, SamlError> {
    let data = c.subject_confirmation_data.as_ref().ok_or_else(|| {
        SamlError::SubjectConfirmation("SubjectConfirmationData is missing".into())
    })?;
    match data.recipient.as_deref() {
        Some(r) if r == sp.acs_url => {}
        other => {
            return Err(SamlError::Recipient(
                other.unwrap_or("(missing)").to_string(),
            ))
        }
    }
    let noa = data.not_on_or_after.ok_or_else(|| {
        SamlError::SubjectConfirmation("SubjectConfirmationData has no NotOnOrAfter".into())
    })?;
    if now >= noa + sp.clock_skew {
        return Err(SamlError::Expired(noa));
    }
    if let Some(nb) = data.not_before {
        if now + sp.clock_skew < nb {
            return Err(SamlError::NotYetValid(nb));
        }
    }
    match (solicitation, data.in_response_to.as_deref()) {
        (Solicitation::InResponseTo(expected), Some(got)) if got == expected => Ok(noa),
        (Solicitation::InResponseTo(_), got) => Err(SamlError::InResponseTo(got.map(String::from))),
        (Solicitation::Unsolicited, None) => Ok(noa),
        (Solicitation::Unsolicited, Some(got)) => {
            Err(SamlError::InResponseTo(Some(got.to_string())))
        }
    }
}
