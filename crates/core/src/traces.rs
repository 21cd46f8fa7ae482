//! Sign-in traces: one record per sign-in attempt, shown on a connection's page and
//! by `GET /api/v1/sso/traces`. The reasons are a closed list (`docs/traces.md`), each
//! with plain words for the admin and what to change at the identity provider.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::named::named_enum;
use crate::paging;

/// `FailureReason` as a [`named_enum!`], each name with its plain words and remedy.
macro_rules! reasons {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $explained:literal, $remedy:literal; )*) => {
        named_enum! {
            /// Why a sign-in failed.
            pub enum FailureReason {
                $( $(#[$doc])* $variant = $name, )*
            }
        }

        impl FailureReason {
            /// What happened, in plain words.
            pub fn explanation(self) -> &'static str {
                match self { $(FailureReason::$variant => $explained,)* }
            }

            /// What to change (usually at the identity provider).
            pub fn remedy(self) -> &'static str {
                match self { $(FailureReason::$variant => $remedy,)* }
            }
        }
    };
}

reasons! {
    SignatureInvalid = "signature_invalid",
        "The response's signature does not verify with the connection's certificate, or uses an algorithm that is refused (SHA-1).",
        "Check that the IdP signs with SHA-256 and that the connection has the IdP's current signing certificate (upload its metadata again).";
    CertificateNotPinned = "certificate_not_pinned",
        "The response was signed with a certificate this connection does not have.",
        "The IdP has probably rotated its signing certificate: upload its current metadata, or add the new certificate to the connection.";
    CertificateExpired = "certificate_expired",
        "Every signing certificate of this connection has expired.",
        "Get the IdP's new signing certificate (its current metadata) and upload it to the connection.";
    Unsigned = "unsigned",
        "Neither the response nor its assertion is signed.",
        "Turn on signing of the response or the assertion in the IdP's application settings.";
    SignaturePolicy = "signature_policy",
        "The signature asks for something that is never accepted (a reference outside the message, an unusual transform, or a signature in an unexpected place).",
        "Use the IdP's standard signing settings; if this persists, the response may have been tampered with.";
    IssuerMismatch = "issuer_mismatch",
        "The response comes from another identity provider than the one configured (its Issuer differs).",
        "Compare the IdP entity id in the connection's metadata with the Issuer the IdP sends; upload the right metadata.";
    AudienceMismatch = "audience_mismatch",
        "The assertion is meant for another service provider (its Audience is not this product's SP entity id).",
        "Set the Audience / SP entity id in the IdP's application to the value shown on the connection page.";
    DestinationMismatch = "destination_mismatch",
        "The response was addressed to another URL than this service's ACS URL.",
        "Set the ACS (reply) URL in the IdP's application to the value shown on the connection page.";
    RecipientMismatch = "recipient_mismatch",
        "The assertion's Recipient is another URL than this service's ACS URL.",
        "Set the ACS (reply) URL in the IdP's application to the value shown on the connection page.";
    Expired = "expired",
        "The assertion had already expired when it arrived.",
        "Check the IdP server's clock; if the user waited long on the IdP page, they can simply sign in again.";
    NotYetValid = "not_yet_valid",
        "The assertion is not valid yet: the IdP's clock is ahead of ours.",
        "Synchronise the IdP server's clock (NTP).";
    Replayed = "replayed",
        "This assertion or token was already used once; it is accepted only once.",
        "Usually a double submit or the browser's back button: start the sign-in again. Repeated replays may be an attack.";
    InResponseToUnknown = "in_response_to_unknown",
        "The response answers a sign-in request that expired, was already answered, or was never made here.",
        "Start the sign-in from the application again. If it always happens, the IdP may be answering an old request.";
    EmailOutsideTenantDomains = "email_outside_tenant_domains",
        "The IdP vouched for an email address outside the connection's tenant domains.",
        "Add the email domain to the connection's allowed email domains, or fix the email attribute the IdP sends.";
    IdpError = "idp_error",
        "The identity provider refused the sign-in and said why (see the detail).",
        "Read the IdP's status in the detail: often the user is not assigned to the application at the IdP.";
    MalformedResponse = "malformed_response",
        "The response could not be read (not base64, not well-formed XML, or missing a required part).",
        "Check the IdP's binding (HTTP-POST) and that nothing between the IdP and this service changes the response.";
    Unsupported = "unsupported",
        "The response uses a feature this service does not accept (for example encrypted assertions).",
        "Turn off assertion encryption for this application in the IdP.";
    SubjectMissing = "subject_missing",
        "The assertion names no user (no NameID).",
        "Configure the IdP to send a NameID (an email address or persistent id).";
    SubjectConfirmationFailed = "subject_confirmation_failed",
        "The assertion's bearer confirmation is missing or does not match this sign-in.",
        "Use the IdP's standard SAML 2.0 web SSO settings for the application.";
    ConnectionDisabled = "connection_disabled",
        "The connection is turned off.",
        "Turn the connection on in the dashboard.";
    WrongProtocol = "wrong_protocol",
        "A SAML answer arrived for an OpenID Connect connection, or the reverse.",
        "Check the URLs configured at the IdP: each connection has its own.";
    IdpInitiatedNotAllowed = "idp_initiated_not_allowed",
        "The sign-in was started from the identity provider, and this connection does not allow that.",
        "Start sign-in from the application, or allow IdP-initiated sign-in on the connection.";
    TenantAmbiguous = "tenant_ambiguous",
        "An IdP-initiated response matches several connections, so the tenant cannot be told.",
        "Start sign-in from the application, or give each connection its own IdP application.";
    NoDefaultRedirect = "no_default_redirect",
        "An IdP-initiated sign-in needs a default redirect URL, and none is set.",
        "Set a default redirect URL on the connection or the product.";
    OidcStateUnknown = "oidc_state_unknown",
        "The OpenID Connect answer carries a state that is unknown, expired or already used.",
        "Start the sign-in from the application again; do not bookmark the IdP's sign-in page.";
    OidcCallbackMismatch = "oidc_callback_mismatch",
        "The OpenID Connect answer came back to another redirect URI or issuer than the sign-in was sent to.",
        "Register this connection's own redirect URI (shown on the connection page) at the IdP.";
    OidcTokenExchangeFailed = "oidc_token_exchange_failed",
        "The IdP's token endpoint refused the authorization code.",
        "Check the connection's client id and secret, and that the redirect URI registered at the IdP matches.";
    IdTokenInvalid = "id_token_invalid",
        "The IdP's id_token did not pass the checks (signature, issuer, audience, expiry or nonce).",
        "Check the issuer and client id on the connection, and the IdP server's clock.";
    IdpUnreachable = "idp_unreachable",
        "The identity provider could not be reached (discovery, keys or token endpoint).",
        "Check that the IdP's issuer URL is right and reachable from this service.";
    Busy = "busy",
        "This service was too busy to check the response.",
        "Nothing to change at the IdP: the user can sign in again in a moment.";
    Internal = "internal",
        "Something failed on this service's side.",
        "Nothing to change at the IdP; quote the reference id to the service's operator.";
    Rejected = "rejected",
        "The sign-in was refused (see the detail).",
        "Read the detail; it says what did not match.";
}

named_enum! {
    /// How a sign-in was started and answered.
    pub enum SignInKind {
        /// SAML, started by the application (or a test).
        Saml = "saml",
        /// SAML, started at the identity provider.
        SamlIdpInitiated = "saml_idp_initiated",
        /// OpenID Connect, with this service as the IdP's relying party.
        Oidc = "oidc",
    }
}

named_enum! {
    /// Whom the sign-in was for: the application, or an admin's "Test connection".
    pub enum TracePurpose {
        App = "app",
        Test = "test",
    }
}

named_enum! {
    pub enum TraceOutcome {
        Success = "success",
        Failure = "failure",
    }
}

/// One sign-in attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignInTrace {
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    pub product: String,
    /// The connection, when the attempt could be tied to one (a setup link's
    /// unsaved settings have none).
    pub connection_id: Option<String>,
    pub tenant: Option<String>,
    #[serde(rename = "clientID")]
    pub client_id: Option<String>,
    pub kind: SignInKind,
    pub purpose: TracePurpose,
    pub outcome: TraceOutcome,
    /// Set when the outcome is a failure.
    pub reason: Option<FailureReason>,
    /// The precise words of the failure.
    pub detail: Option<String>,
    pub subject: Option<String>,
    pub email: Option<String>,
    /// The reference shown to the user on the error page (the request id).
    pub reference_id: String,
    /// What the identity provider sent, with signatures, certificates, codes and
    /// tokens removed and the size capped. Only in a single trace, not in lists.
    pub idp_response: Option<String>,
}

/// Which traces to list; newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceFilter {
    pub connection_id: Option<String>,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    pub outcome: Option<TraceOutcome>,
    pub reference_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub offset: u32,
    pub limit: u32,
}

impl TraceFilter {
    pub const DEFAULT_LIMIT: u32 = 20;

    /// The page size asked for ([`paging::page_size`]).
    pub fn page_size(&self) -> u32 {
        paging::page_size(self.limit, Self::DEFAULT_LIMIT)
    }
}

/// A page of traces, newest first; `more` when older ones follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TracePage {
    pub traces: Vec<SignInTrace>,
    pub more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips_and_is_explained() {
        for r in FailureReason::ALL {
            assert_eq!(FailureReason::parse(r.as_str()), Some(*r));
            assert_eq!(
                serde_json::to_value(r).ok(),
                Some(serde_json::Value::String(r.as_str().into()))
            );
            assert!(!r.explanation().is_empty() && !r.remedy().is_empty());
        }
    }

    #[test]
    fn the_documented_list_is_the_list() {
        let doc = include_str!("../../../docs/traces.md");
        for r in FailureReason::ALL {
            assert!(
                doc.contains(&format!(
                    "| `{}` | {} | {} |",
                    r.as_str(),
                    r.explanation(),
                    r.remedy()
                )),
                "docs/traces.md: {}",
                r.as_str()
            );
        }
    }

    #[test]
    fn page_size_is_capped() {
        let f = |limit| TraceFilter {
            limit,
            ..TraceFilter::default()
        };
        assert_eq!(f(0).page_size(), TraceFilter::DEFAULT_LIMIT);
        assert_eq!(f(5).page_size(), 5);
        assert_eq!(f(10_000).page_size(), crate::paging::MAX_PAGE_LIMIT);
    }
}
