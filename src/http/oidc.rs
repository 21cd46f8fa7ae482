//! `GET /api/oauth/oidc`: where OIDC IdPs send the user back (the relying party's
//! redirect URI). The domain does the work; see `gatehouse_domain::oidc::login`.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gatehouse_domain::oidc::login::OidcCallbackParams;
use gatehouse_domain::sso::error::LoginError;

use super::error::WebError;
use super::saml::sign_in_done;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/oauth/oidc", get(callback_get))
}

async fn callback_get(
    State(state): State<AppState>,
    params: Result<Query<OidcCallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return WebError::Login(LoginError::bad_request(
            "Invalid sign-in response",
            "the identity provider's answer could not be read",
        ))
        .into_response();
    };
    sign_in_done(state.services.oidc_callback(params).await)
}
