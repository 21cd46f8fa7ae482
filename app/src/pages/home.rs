use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

use crate::api::auth::current_user;
use crate::api::teams::CreateTeam;
use crate::components::*;

/// `/`: to the first team's products when signed in, else to the login page.
#[component]
pub fn HomePage() -> impl IntoView {
    let me = Resource::new(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let target = match me.await {
                    Ok(Some(me)) => match me.teams.first() {
                        Some(t) => format!("/teams/{}/products", t.id),
                        None => "/new-team".to_string(),
                    },
                    _ => "/login".to_string(),
                };
                view! { <Redirect path=target /> }
            })}
        </Suspense>
    }
}

/// `/teams/{team}`: to its products.
#[component]
pub fn TeamHome() -> impl IntoView {
    let params = use_params_map();
    let team = params.with_untracked(|p| p.get("team").unwrap_or_default());
    view! { <Redirect path=format!("/teams/{team}/products") /> }
}

#[component]
pub fn NewTeamPage() -> impl IntoView {
    let create = ServerAction::<CreateTeam>::new();
    let value = create.value();
    view! {
        <Title text="New team" />
        <AuthCard title="Create a team">
            <p class="mb-4 text-sm text-slate-600">"A new team starts its own 30-day trial. You will be its owner."</p>
            <ActionForm action=create attr:class="space-y-4">
                <div>
                    <label class=LABEL for="name">"Team name"</label>
                    <input class=INPUT id="name" name="name" required maxlength="80" />
                    <FieldMessage message=field_error(value, "team_name") id="name-error" />
                </div>
                <ErrorBox message=form_error(value, &["team_name"]) />
                <button type="submit" class=BUTTON disabled=move || create.pending().get()>"Create team"</button>
            </ActionForm>
        </AuthCard>
    }
}

#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(options) = use_context::<leptos_axum::ResponseOptions>() {
        options.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found" />
        <main class="p-8">
            <ErrorPanel error=crate::error::AppError::from(gatehouse_core::PublicError::new(gatehouse_core::ErrorKind::NotFound, "Not found. It may have been deleted, or it belongs to a team you are not in.")) />
        </main>
    }
}
