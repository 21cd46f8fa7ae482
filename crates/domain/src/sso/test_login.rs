//! "Test connection": a real sign-in through the connection whose result (profile or
//! precise failure) is shown to whoever started it, instead of going to an app.
//! `owner` is `user:<id>` for dashboard users (and `setup:<id>` for setup links).
//! A setup link can also test its draft (settings tried out before saving them).

use crate::error::{DomainError, DomainResult};
use crate::model::{Connection, LoginPurpose, LoginTarget, PendingLogin, TestResult};
use crate::saml::request::new_request_id;
use crate::setup_links::OpenLink;
use crate::sso::authorize::AuthorizeOutcome;
use crate::sso::connections::draft_connection;
use crate::sso::error::LoginError;
use crate::sso::sign_in::SignIn;

impl SignIn {
    pub async fn start_test_login(
        &self,
        owner: &str,
        connection: &Connection,
    ) -> Result<AuthorizeOutcome, LoginError> {
        self.start_test(
            owner,
            connection,
            LoginTarget::Connection(connection.id.clone()),
        )
        .await
    }

    /// A test sign-in through the settings [`crate::setup_links::SetupLinks::setup_try`] kept on the link;
    /// the result is for `setup:{link id}`.
    pub async fn start_setup_draft_test(
        &self,
        open: &OpenLink,
    ) -> Result<AuthorizeOutcome, LoginError> {
        let draft = self
            .store
            .setup_draft(&open.link.id)
            .await
            .map_err(LoginError::internal)?
            .ok_or_else(|| {
                let why = "There are no settings to test: fill in your identity provider's settings on the setup page and press Test.";
                LoginError {
                    shown: Some(why.to_string()),
                    ..LoginError::bad_request("Nothing to test yet", why)
                }
            })?;
        let connection = draft_connection(&draft);
        self.start_test(
            &format!("setup:{}", open.link.id),
            &connection,
            LoginTarget::SetupDraft(open.link.id.clone()),
        )
        .await
    }

    async fn start_test(
        &self,
        owner: &str,
        connection: &Connection,
        target: LoginTarget,
    ) -> Result<AuthorizeOutcome, LoginError> {
        let product = self
            .store
            .product_by_id(&connection.product_id)
            .await
            .map_err(LoginError::internal)?
            .ok_or_else(|| LoginError::rejected("product deleted"))?;
        let now = self.clock.now();
        let pending = PendingLogin {
            id: new_request_id(),
            target,
            purpose: LoginPurpose::Test {
                owner: owner.to_string(),
            },
            client_id: connection.client_id.clone(),
            redirect_uri: String::new(),
            state: String::new(),
            nonce: None,
            code_challenge: None,
            scope: String::new(),
            idp_state: None,
            created_at: now,
            expires_at: now + self.settings.sso.pending_ttl,
        };
        self.start_idp_login(&product, connection, &pending, false)
            .await
    }

    /// A test result, only for its owner.
    pub async fn test_result_for(&self, owner: &str, id: &str) -> DomainResult<TestResult> {
        match self.store.test_result(id, self.clock.now()).await? {
            Some(r) if r.owner == owner => Ok(r),
            Some(_) => {
                tracing::warn!(target: "gatehouse::isolation", owner, result_id = id, "refused: test result of someone else");
                Err(DomainError::NotFound)
            }
            None => Err(DomainError::NotFound),
        }
    }
}
