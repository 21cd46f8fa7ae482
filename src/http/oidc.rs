//! `GET /api/oauth/oidc/{key}`: where an OIDC IdP sends the user back (the relying
//! party's redirect URI, one per connection). The bare `/api/oauth/oidc` answers
//! with the URI the IdP should use instead. The domain does the work; see
//! `gatehouse_domain::oidc::login`.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use gatehouse_domain::oidc::login::OidcCallbackParams;
use gatehouse_domain::settings::OIDC_CALLBACK_PATH;
use gatehouse_domain::sso::error::LoginError;

use super::saml::sign_in_done;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(OIDC_CALLBACK_PATH, get(callback_get))
        .route(
            &format!("{OIDC_CALLBACK_PATH}/{{key}}"),
            get(connection_callback_get),
        )
}

async fn connection_callback_get(
    State(state): State<AppState>,
    Path(key): Path<String>,
    params: Result<Query<OidcCallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    callback(state, Some(key), params).await
}

async fn callback_get(
    State(state): State<AppState>,
    params: Result<Query<OidcCallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    callback(state, None, params).await
}

async fn callback(
    state: AppState,
    key: Option<String>,
    params: Result<Query<OidcCallbackParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(params)) = params else {
        return sign_in_done(
            "oidc",
            Err(LoginError::bad_request(
                "Invalid sign-in response",
                "the identity provider's answer could not be read",
            )),
        );
    };
    sign_in_done(
        "oidc",
        state
            .services
            .sign_in
            .oidc_callback(key.as_deref(), params)
            .await,
    )
}
