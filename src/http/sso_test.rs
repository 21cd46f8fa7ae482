//! "Test connection" from the dashboard: start a real sign-in in a new tab and show
//! the profile that came back (or the precise reason it failed).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use gatehouse_domain::client_addr::ClientAddr;
use gatehouse_domain::sso::profile::Profile;
use gatehouse_domain::DomainError;
use serde::Deserialize;
use tower_sessions::Session;

use super::error::WebError;
use super::html::{escape, page};
use super::oauth::outcome_response;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso-test/start/{connection}", get(test_start_get))
        .route("/sso-test/{result}", get(test_result_get))
        .route("/setup/{token}/test", get(setup_test_get))
}

use gatehouse_core::session::{SETUP_LINK as SESSION_SETUP_LINK, USER_ID as SESSION_USER};

/// Who may see test results in this browser session.
async fn owners(session: &Session) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some(u)) = session.get::<String>(SESSION_USER).await {
        out.push(format!("user:{u}"));
    }
    if let Ok(Some(s)) = session.get::<String>(SESSION_SETUP_LINK).await {
        out.push(format!("setup:{s}"));
    }
    out
}

#[derive(Deserialize)]
struct StartQuery {
    team: String,
    product: String,
}

async fn test_start_get(
    State(state): State<AppState>,
    session: Session,
    Path(connection_id): Path<String>,
    Query(q): Query<StartQuery>,
) -> Response {
    let Ok(Some(user_id)) = session.get::<String>(SESSION_USER).await else {
        return axum::response::Redirect::to("/login").into_response();
    };
    let services = &state.services;
    let connection = async {
        let access = services.access.team_access(&user_id, &q.team).await?;
        let product = services.access.product_access(&access, &q.product).await?;
        services
            .connections
            .product_connection(&product, &connection_id)
            .await
    }
    .await;
    match connection {
        Ok(c) => match services
            .sign_in
            .start_test_login(&format!("user:{user_id}"), &c)
            .await
        {
            Ok(outcome) => outcome_response(outcome),
            Err(e) => WebError::Login(e).into_response(),
        },
        Err(_) => WebError::Page(DomainError::NotFound).into_response(),
    }
}

#[derive(Deserialize)]
struct SetupTestQuery {
    /// `1`: test the settings the page just checked (not saved yet).
    #[serde(default)]
    draft: Option<String>,
}

/// "Test" on a setup page: a real sign-in through the settings the customer is trying
/// out (`?draft=1`) or the connection saved by the link, whose result only this
/// browser (the one holding the link) can see.
async fn setup_test_get(
    State(state): State<AppState>,
    session: Session,
    Extension(client): Extension<ClientAddr>,
    Path(token): Path<String>,
    Query(q): Query<SetupTestQuery>,
) -> Response {
    let services = &state.services;
    let open = match services
        .setup_links
        .open_setup_link(&token, &client.to_string())
        .await
    {
        Ok(open) => open,
        Err(e) => return WebError::page(e).into_response(),
    };
    let draft = q.draft.as_deref() == Some("1");
    let connection = if draft {
        None
    } else {
        match services.setup_links.setup_connection(&open).await {
            Ok(Some(c)) => Some(c),
            Ok(None) => {
                return WebError::page(DomainError::Conflict(
                    "Nothing to test yet: fill in your identity provider's settings on the setup page and press Test.".into(),
                ))
                .into_response()
            }
            Err(e) => return WebError::page(e).into_response(),
        }
    };
    if session
        .insert(SESSION_SETUP_LINK, &open.link.id)
        .await
        .is_err()
    {
        return WebError::page(DomainError::bug("session unavailable")).into_response();
    }
    let started = match &connection {
        Some(c) => {
            services
                .sign_in
                .start_test_login(&format!("setup:{}", open.link.id), c)
                .await
        }
        None => services.sign_in.start_setup_draft_test(&open).await,
    };
    match started {
        Ok(outcome) => outcome_response(outcome),
        Err(e) => WebError::Login(e).into_response(),
    }
}

async fn test_result_get(
    State(state): State<AppState>,
    session: Session,
    Path(result_id): Path<String>,
) -> Response {
    let mut found = None;
    for owner in owners(&session).await {
        if let Ok(r) = state
            .services
            .sign_in
            .test_result_for(&owner, &result_id)
            .await
        {
            found = Some(r);
            break;
        }
    }
    let Some(result) = found else {
        return WebError::Page(DomainError::NotFound).into_response();
    };
    let body = match (&result.profile, &result.error) {
        (Some(json), _) => {
            let profile: Option<Profile> = serde_json::from_str(json).ok();
            let row = |k: &str, v: String, id: &str| {
                format!(
                    r#"<dt class="text-slate-500">{k}</dt><dd class="col-span-2 font-medium" data-testid="{id}">{}</dd>"#,
                    escape(&v)
                )
            };
            let rows = profile
                .as_ref()
                .map(|p| {
                    [
                        row(
                            "Email",
                            p.email.clone().unwrap_or_default(),
                            "profile-email",
                        ),
                        row(
                            "First name",
                            p.first_name.clone().unwrap_or_default(),
                            "profile-first-name",
                        ),
                        row(
                            "Last name",
                            p.last_name.clone().unwrap_or_default(),
                            "profile-last-name",
                        ),
                        row("Groups", p.groups.join(", "), "profile-groups"),
                        row("Roles", p.roles.join(", "), "profile-roles"),
                        row(
                            "IdP subject (NameID)",
                            p.idp_subject.clone(),
                            "profile-nameid",
                        ),
                        row("sub", p.sub.clone(), "profile-sub"),
                    ]
                    .concat()
                })
                .unwrap_or_default();
            let raw = profile
                .as_ref()
                .and_then(|p| serde_json::to_string_pretty(&p.raw).ok())
                .unwrap_or_default();
            format!(
                r#"<div class="rounded-xl border border-green-200 bg-white p-8 shadow-sm" data-testid="test-success">
<h1 class="text-lg font-semibold text-green-800">The connection works</h1>
<p class="mt-1 text-sm text-slate-600">Your identity provider signed you in and sent this profile. Apps will receive the same.</p>
<dl class="mt-6 grid grid-cols-3 gap-x-4 gap-y-2 text-sm">{rows}</dl>
<h2 class="mt-6 text-sm font-semibold text-slate-700">All attributes</h2>
<pre class="mt-2 overflow-x-auto rounded bg-slate-100 p-3 text-xs" data-testid="profile-raw">{}</pre></div>"#,
                escape(&raw)
            )
        }
        (None, Some(error)) => format!(
            r#"<div class="rounded-xl border border-red-200 bg-white p-8 shadow-sm" data-testid="test-failure">
<h1 class="text-lg font-semibold text-red-700">The test sign-in failed</h1>
<p class="mt-3 text-sm text-slate-700" data-testid="test-error">{}</p></div>"#,
            escape(error)
        ),
        (None, None) => String::new(),
    };
    page("Test connection", &body).into_response()
}
