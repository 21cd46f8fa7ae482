//! `POST /api/oauth/saml`: the assertion consumer service.
//!
//! SP-initiated app sign-in: `RelayState` names our request and its connection
//! ([`relay_state`]); that connection's pinned certificates verify the response,
//! `InResponseTo` must equal the request id, and one write consumes the request (if it
//! is unused, unexpired and was made for that connection), remembers the assertion id
//! (replay cache) and stores the code.
//! Test sign-ins (`RelayState` = the request id alone): the pending request is read
//! first, to know what is tested; the result is stored for the dashboard.
//! IdP-initiated (no pending login): the connection is found by the IdP's entity id
//! and must allow IdP-initiated sign-in; the code goes to its default redirect URL.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::model::{
    AppCode, AppReturn, AuthCode, CompletionOutcome, Connection, IdpConfig, LoginCompletion,
    LoginPurpose, LoginTarget, PendingLogin, SignInResult, TestResult,
};
use crate::saml::attributes;
use crate::saml::bounded::Busy;
use crate::saml::response::{
    scan_envelope, verify_response, ExpectedIdp, Solicitation, SpExpectations, VerifiedAssertion,
};
use crate::saml::{guard, SamlError};
use crate::sso::connections::draft_connection;
use crate::sso::connections::effective_redirects;
use crate::sso::email_domains;
use crate::sso::error::{ErrorKind, FailureReason, LoginError};
use crate::sso::profile::Profile;
use crate::sso::relay_state;
use crate::sso::sign_in::SignIn;
use crate::sso::trace::{IdpResponse, TraceDraft};
use crate::tokens::{hash_secret, new_id, new_secret};
use gatehouse_core::traces::SignInKind;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcsOutcome {
    /// 303 to the app's redirect URI with `code` (and `state`).
    ToApp(String),
    /// A "Test connection" login finished (well or not): show this result.
    TestDone { result_id: String },
}

/// `redirect_uri` with extra query parameters.
pub fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            u.into()
        }
        Err(_) => base.to_string(),
    }
}

impl SignIn {
    /// Answer a posted `SAMLResponse`; the attempt is traced ([`crate::sso::trace`]).
    pub async fn saml_acs(
        &self,
        saml_response: String,
        relay_state: Option<&str>,
    ) -> Result<AcsOutcome, LoginError> {
        let raw: Arc<str> = saml_response.into();
        let mut trace = TraceDraft::new(SignInKind::Saml, IdpResponse::Saml(raw.clone()));
        let result = self.saml_acs_traced(&mut trace, raw, relay_state).await;
        self.traces.record(trace, &result, self.clock.now());
        result
    }

    async fn saml_acs_traced(
        &self,
        trace: &mut TraceDraft,
        raw: Arc<str>,
        relay_state: Option<&str>,
    ) -> Result<AcsOutcome, LoginError> {
        let now = self.clock.now();

        let relay_state = relay_state.map(str::trim).filter(|r| !r.is_empty());
        let app = relay_state.and_then(relay_state::parse_app);
        if let Some(app) = app {
            // An app sign-in: verified with the named connection's certificates, then
            // answered in one write that also checks the request was made for it.
            if let Some(connection) = self
                .store
                .connection_for_login(app.connection_id)
                .await
                .map_err(LoginError::internal)?
            {
                trace.connection(&connection);
                let job = self.verify_job(&connection, Some(app.request_id))?;
                let assertion = self
                    .saml_work
                    .run(move || job.run_encoded(&raw))
                    .await
                    .map_err(busy)??;
                let accepted = saml_accepted(trace, &connection, assertion)?;
                return self.finish_app(&connection, app.request_id, accepted).await;
            }
        }
        let request_id = app.map(|a| a.request_id).or(relay_state);
        let pending = match request_id {
            Some(id) => self
                .store
                .pending_login(id, now)
                .await
                .map_err(LoginError::internal)?,
            None => None,
        };

        match pending {
            Some(p) => {
                let connection = self.login_connection(&p).await?;
                trace.pending(&p, &connection);
                let verified = match self.verify_job(&connection, Some(&p.id)) {
                    Ok(job) => self
                        .saml_work
                        .run(move || job.run_encoded(&raw))
                        .await
                        .map_err(busy)
                        .and_then(|r| r),
                    Err(e) => Err(e),
                };
                let accepted = verified.and_then(|a| saml_accepted(trace, &connection, a));
                match (accepted, &p.purpose) {
                    (Ok(accepted), _) => self.finish(&connection, Some(&p), accepted).await,
                    (Err(e), LoginPurpose::Test { owner }) if e.kind != ErrorKind::Unavailable => {
                        trace.failed(&e);
                        self.save_failed_test(&p.target, owner, &e).await
                    }
                    (Err(e), _) => Err(e),
                }
            }
            None => {
                trace.idp_initiated();
                self.idp_initiated(trace, raw).await
            }
        }
    }

    /// What checking a response for `connection` needs, owned, for the blocking pool.
    fn verify_job(
        &self,
        connection: &Connection,
        in_response_to: Option<&str>,
    ) -> Result<VerifyJob, LoginError> {
        let IdpConfig::Saml(saml) = &connection.idp else {
            return Err(LoginError::rejected(
                "a SAML response arrived for a connection whose IdP speaks OpenID Connect",
            )
            .on(&connection.id)
            .because(FailureReason::WrongProtocol));
        };
        Ok(VerifyJob {
            connection_id: connection.id.clone(),
            idp_entity_id: saml.idp.entity_id.clone(),
            certificates: saml.idp.certificates.clone(),
            sp_entity_id: self.settings.sp_entity_id(&connection.product_id),
            acs_url: self.settings.acs_url(),
            clock_skew: self.settings.sso.clock_skew,
            in_response_to: in_response_to.map(String::from),
            now: self.clock.now(),
        })
    }

    async fn idp_initiated(
        &self,
        trace: &mut TraceDraft,
        raw: Arc<str>,
    ) -> Result<AcsOutcome, LoginError> {
        let (xml, env) = self
            .saml_work
            .run(move || -> Result<_, LoginError> {
                let xml = decode(&raw)?;
                guard::check(&xml, guard::MAX_MESSAGE_BYTES).map_err(saml_failure)?;
                let env = scan_envelope(&xml).map_err(saml_failure)?;
                Ok((Arc::<str>::from(xml), env))
            })
            .await
            .map_err(busy)??;
        if env.in_response_to.is_some() {
            return Err(LoginError::rejected(
                "the response answers a sign-in request that has expired or was already used",
            )
            .because(FailureReason::InResponseToUnknown)
            .titled("This sign-in link has expired. Start again from the application."));
        }
        let issuer = env
            .issuer
            .clone()
            .ok_or_else(|| saml_failure(SamlError::Malformed("no Issuer".into())))?;
        let candidates = self
            .store
            .connections_by_idp_entity(&issuer)
            .await
            .map_err(LoginError::internal)?;
        if candidates.is_empty() {
            return Err(
                LoginError::rejected(format!("no connection for IdP {issuer}"))
                    .because(FailureReason::IssuerMismatch),
            );
        }
        // A failure is traced on the connection only when the issuer names just one.
        if let [only] = candidates.as_slice() {
            trace.connection(only);
        }
        // Only connections that would accept an IdP-initiated sign-in are worth a
        // signature check, and only a few: an Issuer is the sender's to choose.
        let (open, closed): (Vec<Connection>, Vec<Connection>) = candidates
            .into_iter()
            .partition(|c| c.enabled && c.allow_idp_initiated);
        if open.is_empty() {
            let ids: Vec<&str> = closed.iter().map(|c| c.id.as_str()).collect();
            return Err(LoginError::rejected(format!(
                "IdP-initiated sign-in is not allowed (or the connection is disabled) for {}",
                ids.join(", ")
            ))
            .because(FailureReason::IdpInitiatedNotAllowed)
            .titled("Start sign-in from the application, not from your identity provider."));
        }
        if open.len() > MAX_IDP_INITIATED_CANDIDATES {
            return Err(LoginError::rejected(format!(
                "IdP-initiated response from {issuer} could be for {} connections (at most {MAX_IDP_INITIATED_CANDIDATES} are checked); the tenant is ambiguous",
                open.len()
            ))
            .because(FailureReason::TenantAmbiguous)
            .titled("Start sign-in from the application, not from your identity provider."));
        }
        let jobs = open
            .iter()
            .map(|c| self.verify_job(c, None))
            .collect::<Result<Vec<_>, _>>()?;
        let results = self
            .saml_work
            .run(move || jobs.iter().map(|j| j.run(&xml)).collect::<Vec<_>>())
            .await
            .map_err(busy)?;
        // Every connection of this IdP whose certificates and audience accept the
        // response; more than one means the IdP serves several tenants and the
        // response alone cannot say which: refuse rather than guess.
        let mut accepted = Vec::new();
        let mut first_error = None;
        for (connection, result) in open.into_iter().zip(results) {
            match result {
                Ok(assertion) => accepted.push((connection, assertion)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        if accepted.len() > 1 {
            let ids: Vec<&str> = accepted.iter().map(|(c, _)| c.id.as_str()).collect();
            return Err(LoginError::rejected(format!(
                "IdP-initiated response matches several connections ({}); the tenant is ambiguous",
                ids.join(", ")
            ))
            .because(FailureReason::TenantAmbiguous)
            .titled("Start sign-in from the application, not from your identity provider."));
        }
        match accepted.pop() {
            Some((connection, assertion)) => {
                trace.connection(&connection);
                let accepted = saml_accepted(trace, &connection, assertion)?;
                self.finish(&connection, None, accepted).await
            }
            None => {
                Err(first_error.unwrap_or_else(|| LoginError::rejected("no matching connection")))
            }
        }
    }

    /// What a pending login's answer is checked against: its connection, or (test
    /// sign-ins only) the draft settings of an active setup link.
    pub(crate) async fn login_connection(
        &self,
        pending: &PendingLogin,
    ) -> Result<Connection, LoginError> {
        match &pending.target {
            LoginTarget::Connection(id) => self
                .store
                .connection_for_login(id)
                .await
                .map_err(LoginError::internal)?
                .ok_or_else(|| LoginError::rejected("the connection was deleted during sign-in")),
            LoginTarget::SetupDraft(link_id) => {
                if !matches!(pending.purpose, LoginPurpose::Test { .. }) {
                    return Err(LoginError::rejected(
                        "an app sign-in through a setup link's unsaved settings",
                    ));
                }
                let draft = self
                    .store
                    .setup_draft(link_id)
                    .await
                    .map_err(LoginError::internal)?
                    .ok_or_else(|| {
                        LoginError::rejected(
                            "the settings under test were saved or replaced during sign-in; run the test again",
                        )
                    })?;
                if !draft.link.is_active(self.clock.now()) {
                    return Err(LoginError::rejected(
                        "the setup link expired or was revoked during sign-in",
                    ));
                }
                Ok(draft_connection(&draft))
            }
        }
    }

    /// Store the outcome of an accepted sign-in (SAML or OIDC): a code for the app,
    /// or the result of a test; the pending login is consumed and the replay key
    /// remembered in the same transaction.
    pub(crate) async fn finish(
        &self,
        connection: &Connection,
        pending: Option<&PendingLogin>,
        accepted: Accepted,
    ) -> Result<AcsOutcome, LoginError> {
        if let Some(p) = pending.filter(|p| p.purpose == LoginPurpose::App) {
            if p.target.connection_id() != Some(connection.id.as_str()) {
                // Only a saved connection can sign a user in to an app; a setup
                // link's draft serves test sign-ins only.
                return Err(LoginError::rejected(
                    "an app sign-in through settings that are not a saved connection",
                )
                .on(&connection.id));
            }
            return self.finish_app(connection, &p.id, accepted).await;
        }
        if !connection.enabled {
            return Err(LoginError::rejected("the connection is disabled")
                .on(&connection.id)
                .because(FailureReason::ConnectionDisabled));
        }
        let now = self.clock.now();
        let Accepted {
            profile,
            replay_key,
            replay_expires_at,
        } = accepted;
        let profile_json = serde_json::to_string(&profile).map_err(LoginError::internal)?;

        let (result, outcome) = match pending {
            Some(p) => {
                let LoginPurpose::Test { owner } = &p.purpose else {
                    return Err(LoginError::internal("an app sign-in took the test path"));
                };
                let result = TestResult {
                    id: new_id("test"),
                    target: p.target.clone(),
                    owner: owner.clone(),
                    profile: Some(profile_json),
                    error: None,
                    created_at: now,
                    expires_at: now + chrono::Duration::hours(1),
                };
                let outcome = AcsOutcome::TestDone {
                    result_id: result.id.clone(),
                };
                let result = SignInResult::Test {
                    pending_id: p.id.clone(),
                    result,
                };
                (result, outcome)
            }
            None => {
                let product = self
                    .store
                    .product_for_login(&connection.product_id)
                    .await
                    .map_err(LoginError::internal)?
                    .ok_or_else(|| LoginError::rejected("product deleted"))?;
                let (_, default) = effective_redirects(connection, &product, &connection.client_id);
                let redirect = default.ok_or_else(|| {
                    LoginError::rejected("IdP-initiated sign-in needs a default redirect URL on the connection or product")
                        .on(&connection.id)
                        .because(FailureReason::NoDefaultRedirect)
                })?;
                let code = new_secret();
                let result = SignInResult::UnsolicitedCode(AuthCode {
                    code_hash: hash_secret(&code),
                    connection_id: connection.id.clone(),
                    client_id: connection.client_id.clone(),
                    redirect_uri: redirect.clone(),
                    code_challenge: None,
                    nonce: None,
                    scope: String::new(),
                    profile: profile_json,
                    created_at: now,
                    expires_at: now + self.settings.sso.code_ttl,
                });
                (
                    result,
                    AcsOutcome::ToApp(with_query(&redirect, &[("code", &code)])),
                )
            }
        };
        let completion = LoginCompletion {
            connection_id: connection.id.clone(),
            assertion_id: replay_key,
            replay_expires_at,
            result,
        };
        self.store_completion(
            connection,
            &completion,
            now,
            &profile.sub,
            pending.is_none(),
        )
        .await?;
        Ok(outcome)
    }

    /// Store an accepted app sign-in that answers request `request_id`: consume the
    /// request (if it was made for this connection), remember the replay key and
    /// store a code, in one write; then back to the app's redirect URI.
    pub(crate) async fn finish_app(
        &self,
        connection: &Connection,
        request_id: &str,
        accepted: Accepted,
    ) -> Result<AcsOutcome, LoginError> {
        if !connection.enabled {
            return Err(LoginError::rejected("the connection is disabled")
                .on(&connection.id)
                .because(FailureReason::ConnectionDisabled));
        }
        let now = self.clock.now();
        let profile = serde_json::to_string(&accepted.profile).map_err(LoginError::internal)?;
        let code = new_secret();
        let completion = LoginCompletion {
            connection_id: connection.id.clone(),
            assertion_id: accepted.replay_key,
            replay_expires_at: accepted.replay_expires_at,
            result: SignInResult::AppCode(AppCode {
                pending_id: request_id.to_string(),
                code_hash: hash_secret(&code),
                profile,
                code_expires_at: now + self.settings.sso.code_ttl,
            }),
        };
        match self
            .store_completion(connection, &completion, now, &accepted.profile.sub, false)
            .await?
        {
            Some(AppReturn {
                redirect_uri,
                state,
            }) => Ok(AcsOutcome::ToApp(with_query(
                &redirect_uri,
                &[("code", &code), ("state", &state)],
            ))),
            None => Err(LoginError::internal(
                "an app sign-in's completion returned no redirect",
            )),
        }
    }

    /// The one write of every accepted sign-in (app, test, IdP-initiated).
    async fn store_completion(
        &self,
        connection: &Connection,
        completion: &LoginCompletion,
        now: chrono::DateTime<chrono::Utc>,
        sub: &str,
        idp_initiated: bool,
    ) -> Result<Option<AppReturn>, LoginError> {
        match self
            .store
            .complete_login(completion, now)
            .await
            .map_err(LoginError::internal)?
        {
            CompletionOutcome::Done { app } => {
                tracing::info!(
                    connection_id = %connection.id,
                    protocol = connection.idp.protocol(),
                    sub = %sub,
                    idp_initiated,
                    "sign-in accepted"
                );
                Ok(app)
            }
            CompletionOutcome::PendingGone => Err(pending_gone(connection)),
            CompletionOutcome::Replay => Err(saml_failure(SamlError::Replay).on(&connection.id)),
        }
    }

    pub(crate) async fn save_failed_test(
        &self,
        target: &LoginTarget,
        owner: &str,
        e: &LoginError,
    ) -> Result<AcsOutcome, LoginError> {
        let now = self.clock.now();
        let result = TestResult {
            id: new_id("test"),
            target: target.clone(),
            owner: owner.to_string(),
            profile: None,
            error: Some(e.detail.clone()),
            created_at: now,
            expires_at: now + chrono::Duration::hours(1),
        };
        tracing::warn!(target = ?target, error = %e.detail, "test sign-in failed");
        self.store
            .save_test_result(&result)
            .await
            .map_err(LoginError::internal)?;
        Ok(AcsOutcome::TestDone {
            result_id: result.id,
        })
    }
}

/// Most connections one IdP-initiated response is checked against.
pub const MAX_IDP_INITIATED_CANDIDATES: usize = 8;

/// Everything checking one response against one connection needs, owned, so that it
/// can run on the blocking pool ([`crate::saml::bounded`]).
struct VerifyJob {
    connection_id: String,
    idp_entity_id: String,
    certificates: Vec<crate::saml::certs::PinnedCert>,
    sp_entity_id: String,
    acs_url: String,
    clock_skew: chrono::Duration,
    in_response_to: Option<String>,
    now: chrono::DateTime<chrono::Utc>,
}

impl VerifyJob {
    /// Decode the form's base64 `SAMLResponse`, then [`Self::run`].
    fn run_encoded(&self, raw: &str) -> Result<VerifiedAssertion, LoginError> {
        self.run(&decode(raw)?)
    }

    fn run(&self, xml: &str) -> Result<VerifiedAssertion, LoginError> {
        let solicitation = match &self.in_response_to {
            Some(id) => Solicitation::InResponseTo(id),
            None => Solicitation::Unsolicited,
        };
        verify_response(
            xml,
            &ExpectedIdp {
                entity_id: &self.idp_entity_id,
                certificates: &self.certificates,
            },
            &SpExpectations {
                sp_entity_id: &self.sp_entity_id,
                acs_url: &self.acs_url,
                clock_skew: self.clock_skew,
            },
            solicitation,
            self.now,
        )
        .map_err(|e| saml_failure(e).on(&self.connection_id))
    }
}

/// The form's `SAMLResponse` (base64, HTTP-POST binding) as XML text.
fn decode(saml_response: &str) -> Result<String, LoginError> {
    // Base64 is ASCII: line breaks and spaces some IdPs add are ASCII whitespace.
    let cleaned: Vec<u8> = saml_response
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if cleaned.is_empty() {
        return Err(LoginError::bad_request(
            "No SAML response",
            "the SAMLResponse field is missing",
        ));
    }
    if cleaned.len() > guard::MAX_MESSAGE_BYTES * 4 / 3 + 4 {
        return Err(LoginError::bad_request(
            "Invalid SAML response",
            SamlError::TooLarge {
                limit: guard::MAX_MESSAGE_BYTES,
            }
            .to_string(),
        ));
    }
    let bytes = STANDARD.decode(&cleaned).map_err(|_| {
        LoginError::bad_request("Invalid SAML response", "SAMLResponse is not base64")
    })?;
    String::from_utf8(bytes)
        .map_err(|_| LoginError::bad_request("Invalid SAML response", "SAMLResponse is not UTF-8"))
}

fn busy(e: Busy) -> LoginError {
    LoginError {
        kind: ErrorKind::Unavailable,
        title: "The service is busy. Try signing in again in a moment.".into(),
        detail: e.to_string(),
        connection_id: None,
        shown: None,
        reason: FailureReason::Busy,
    }
}

/// A sign-in the IdP vouched for, ready to be stored.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub profile: Profile,
    /// Accepted once: the SAML assertion id, or a digest of the OIDC id_token.
    pub replay_key: String,
    pub replay_expires_at: chrono::DateTime<chrono::Utc>,
}

impl Accepted {
    /// A sign-in the IdP vouched for, if the connection lets its IdP vouch for these
    /// email addresses ([`email_domains`]); sets `email_verified`.
    pub(crate) fn admit(
        connection: &Connection,
        mut profile: Profile,
        replay_key: String,
        replay_expires_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Self, LoginError> {
        match email_domains::check(connection, &profile) {
            // An OIDC IdP that says its own address is unverified is believed.
            Ok(verified) => {
                let idp_unverified =
                    matches!(
                        profile.raw.get("email_verified"),
                        Some(serde_json::Value::Bool(false))
                    ) || profile.raw.get("email_verified").and_then(|v| v.as_str())
                        == Some("false");
                profile.email_verified = verified && !idp_unverified;
            }
            Err(outside) => {
                return Err(LoginError {
                    shown: Some(format!(
                        "{} is not an email address of this organisation ({}).",
                        outside.email,
                        email_domains::REASON
                    )),
                    ..LoginError::rejected(outside.to_string())
                        .on(&connection.id)
                        .because(FailureReason::EmailOutsideTenantDomains)
                }
                .titled("Your identity provider cannot sign in this account here"));
            }
        }
        Ok(Self {
            profile,
            replay_key,
            replay_expires_at,
        })
    }
}

fn saml_accepted(
    trace: &mut TraceDraft,
    connection: &Connection,
    assertion: VerifiedAssertion,
) -> Result<Accepted, LoginError> {
    trace.subject(&assertion.name_id);
    let mapped = attributes::map(&assertion.attributes, &assertion.name_id);
    let accepted = Accepted::admit(
        connection,
        Profile::from_saml(
            &connection.product_id,
            &connection.tenant,
            &assertion.name_id,
            &assertion.attributes,
            mapped,
        ),
        assertion.assertion_id,
        assertion.replay_expires_at,
    )?;
    trace.accepted(&accepted.profile);
    Ok(accepted)
}

fn pending_gone(connection: &Connection) -> LoginError {
    LoginError::rejected("the sign-in request was already answered or has expired")
        .on(&connection.id)
        .because(FailureReason::InResponseToUnknown)
        .titled("This sign-in link has expired. Start again from the application.")
}

fn saml_failure(e: SamlError) -> LoginError {
    let title = match &e {
        SamlError::IdpStatus { .. } => "Your identity provider refused the sign-in",
        SamlError::Expired(_) | SamlError::NotYetValid(_) => {
            "The sign-in took too long or the clocks disagree"
        }
        _ => "Sign-in failed",
    };
    let shown = matches!(e, SamlError::IdpStatus { .. }).then(|| e.to_string());
    LoginError {
        kind: ErrorKind::Forbidden,
        title: title.to_string(),
        detail: e.to_string(),
        connection_id: None,
        shown,
        reason: e.reason(),
    }
}

impl LoginError {
    pub fn titled(mut self, title: &str) -> Self {
        self.title = title.to_string();
        self
    }
}
