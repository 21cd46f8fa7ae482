//! The SAML service-provider endpoints: the ACS and our metadata.

use axum::extract::{Form, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use gatehouse_domain::sso::acs::AcsOutcome;
use serde::Deserialize;

use super::error::WebError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/oauth/saml", post(acs_post))
        .route("/saml/{product}/metadata", get(sp_metadata_get))
}

#[derive(Debug, Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: Option<String>,
    #[serde(rename = "RelayState")]
    relay_state: Option<String>,
}

async fn acs_post(
    State(state): State<AppState>,
    form: Result<Form<AcsForm>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return sign_in_done(
            "saml",
            Err(gatehouse_domain::sso::error::LoginError::bad_request(
                "Invalid sign-in response",
                "the ACS expects an HTML form post with SAMLResponse",
            )),
        );
    };
    let Some(saml_response) = form.saml_response else {
        return sign_in_done(
            "saml",
            Err(gatehouse_domain::sso::error::LoginError::bad_request(
                "Invalid sign-in response",
                "SAMLResponse is missing",
            )),
        );
    };
    sign_in_done(
        "saml",
        state
            .services
            .sign_in
            .saml_acs(saml_response, form.relay_state.as_deref())
            .await,
    )
}

/// Where the browser goes when an IdP's answer has been handled (`protocol`: `saml`
/// or `oidc`); counted in the metrics.
pub(super) fn sign_in_done(
    protocol: &'static str,
    outcome: Result<AcsOutcome, gatehouse_domain::sso::error::LoginError>,
) -> Response {
    super::metrics::sign_in(protocol, &outcome);
    match outcome {
        Ok(AcsOutcome::ToApp(url)) => {
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, url)]).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Ok(AcsOutcome::TestDone { result_id }) => {
            Redirect::to(&format!("/sso-test/{result_id}")).into_response()
        }
        Err(e) => WebError::Login(e).into_response(),
    }
}

async fn sp_metadata_get(State(state): State<AppState>, Path(product): Path<String>) -> Response {
    match state.services.sign_in.sp_metadata(&product).await {
        Ok(xml) => (
            [
                (
                    header::CONTENT_TYPE,
                    "application/samlmetadata+xml; charset=utf-8".to_string(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"gatehouse-sp-{product}.xml\""),
                ),
            ],
            xml,
        )
            .into_response(),
        Err(e) => WebError::page(e).into_response(),
    }
}
