//! OAuth 2.0 / OIDC endpoints, at BoxyHQ SAML Jackson's paths.

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use gatehouse_domain::model::LoginPurpose;
use gatehouse_domain::sso::acs::with_query;
use gatehouse_domain::sso::authorize::{AuthorizeError, AuthorizeOutcome, AuthorizeParams};
use gatehouse_domain::sso::token::TokenRequest;

use super::error::WebError;
use super::html::{auto_post, escape, page};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery_get))
        .route("/oauth/jwks", get(jwks_get))
        .route(
            "/api/oauth/authorize",
            get(authorize_get).post(authorize_post),
        )
        .route("/api/oauth/token", axum::routing::post(token_post))
        .route("/api/oauth/userinfo", get(userinfo_get).post(userinfo_post))
}

fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

async fn discovery_get(State(state): State<AppState>) -> Response {
    Json(state.services.sign_in.discovery_document()).into_response()
}

async fn jwks_get(State(state): State<AppState>) -> Response {
    let mut res = Json(state.services.sign_in.jwks()).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    res
}

async fn authorize_get(
    State(state): State<AppState>,
    Query(form): Query<AuthorizeParams>,
) -> Response {
    authorize(state, form).await
}

async fn authorize_post(
    State(state): State<AppState>,
    Form(form): Form<AuthorizeParams>,
) -> Response {
    authorize(state, form).await
}

async fn authorize(state: AppState, form: AuthorizeParams) -> Response {
    match state
        .services
        .sign_in
        .authorize(form, LoginPurpose::App)
        .await
    {
        Ok(outcome) => outcome_response(outcome),
        Err(AuthorizeError::Page(e)) => WebError::Login(e).into_response(),
        Err(AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
        }) => {
            tracing::info!(error = %error, "authorize: error returned to the app");
            let mut pairs = vec![
                ("error", error.code),
                ("error_description", error.description.as_str()),
            ];
            if !state.is_empty() {
                pairs.push(("state", state.as_str()));
            }
            Redirect::to(&with_query(&redirect_uri, &pairs)).into_response()
        }
    }
}

/// Send the browser to the IdP (or let it choose one).
pub fn outcome_response(outcome: AuthorizeOutcome) -> Response {
    match outcome {
        AuthorizeOutcome::Redirect(url) => no_store(Redirect::to(&url).into_response()),
        AuthorizeOutcome::PostForm {
            action,
            saml_request,
            relay_state,
        } => no_store(
            auto_post(
                &action,
                &[("SAMLRequest", &saml_request), ("RelayState", &relay_state)],
            )
            .into_response(),
        ),
        AuthorizeOutcome::ChooseIdp(choices) => {
            let items: String = choices
                .iter()
                .map(|c| {
                    format!(
                        r#"<li><a class="block rounded-md border border-slate-200 bg-white px-4 py-3 font-medium hover:bg-slate-50" href="{}">{}</a></li>"#,
                        escape(&c.url),
                        escape(&c.name)
                    )
                })
                .collect();
            let body = format!(
                r#"<h1 class="text-lg font-semibold">Choose how to sign in</h1><ul class="mt-4 space-y-2" data-testid="idp-choice">{items}</ul>"#
            );
            page("Choose your identity provider", &body).into_response()
        }
    }
}

async fn token_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return WebError::OAuth(gatehouse_domain::sso::error::OAuthError::invalid_request(
            "the body must be application/x-www-form-urlencoded",
        ))
        .into_response();
    };
    let req = TokenRequest {
        authorization: headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(String::from),
        ..form
    };
    match state.services.sign_in.token(req).await {
        Ok(t) => {
            let mut res = (StatusCode::OK, Json(t)).into_response();
            res.headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            no_store(res)
        }
        Err(e) => WebError::OAuth(e).into_response(),
    }
}

async fn userinfo_get(State(state): State<AppState>, headers: HeaderMap) -> Response {
    userinfo(state, headers).await
}

async fn userinfo_post(State(state): State<AppState>, headers: HeaderMap) -> Response {
    userinfo(state, headers).await
}

async fn userinfo(state: AppState, headers: HeaderMap) -> Response {
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match state.services.sign_in.userinfo(auth).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => WebError::OAuth(e).into_response(),
    }
}
