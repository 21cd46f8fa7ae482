use gatehouse_core::views::{Role, TeamContext, TeamSummary};
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::{use_location, use_params_map};

use crate::api::auth::LogOut;
use crate::api::teams::team_context;
use crate::components::ErrorPanel;
use crate::format;
use gatehouse_core::ErrorKind;

/// Centered card for the signed-out pages.
#[component]
pub fn AuthCard(#[prop(into)] title: String, children: Children) -> impl IntoView {
    view! {
        <main class="flex min-h-screen flex-col items-center justify-center px-4 py-12">
            <a href="/" class="mb-6 flex items-center gap-2 text-xl font-bold text-slate-900">
                <Logo /> "Gatehouse"
            </a>
            <div class="w-full max-w-md rounded-xl border border-slate-200 bg-white p-8 shadow-sm">
                <h1 class="mb-6 text-xl font-semibold">{title}</h1>
                {children()}
            </div>
        </main>
    }
}

#[component]
pub fn Logo() -> impl IntoView {
    view! {
        <svg class="h-7 w-7 text-indigo-600" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" aria-hidden="true">
            <path d="M3 21V9l9-6 9 6v12" /><path d="M9 21v-6h6v6" />
        </svg>
    }
}

/// The team being viewed, for pages inside [`TeamLayout`].
#[derive(Clone, Debug)]
pub struct CurrentTeam(pub TeamContext);

impl CurrentTeam {
    pub fn id(&self) -> String {
        self.0.team.id.clone()
    }
    pub fn read_only(&self) -> bool {
        self.0.team.trial.expired
    }
    pub fn is_owner(&self) -> bool {
        self.0.team.role == Role::Owner
    }
}

pub fn use_team() -> CurrentTeam {
    match use_context::<CurrentTeam>() {
        Some(t) => t,
        None => CurrentTeam(TeamContext {
            me: gatehouse_core::views::Me {
                user_id: String::new(),
                email: String::new(),
                teams: Vec::new(),
            },
            team: TeamSummary {
                id: String::new(),
                name: String::new(),
                role: Role::Admin,
                trial: gatehouse_core::trial::TrialStatus {
                    ends_at: chrono::DateTime::<chrono::Utc>::MIN_UTC,
                    days_left: 0,
                    expired: true,
                },
            },
        }),
    }
}

/// Frame for every `/teams/{team}/…` page: header, team switcher, trial banner.
#[component]
pub fn TeamLayout() -> impl IntoView {
    let params = use_params_map();
    let team_id = move || params.with(|p| p.get("team").unwrap_or_default());
    let context = Resource::new(team_id, team_context);
    let location = use_location();

    view! {
        <Suspense fallback=|| view! { <p class="p-8 text-sm text-slate-500">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match context.await {
                    Ok(ctx) => {
                        provide_context(CurrentTeam(ctx.clone()));
                        view! { <Frame ctx=ctx /> }.into_any()
                    }
                    Err(e) if e.is(ErrorKind::Unauthenticated) => {
                        let next = location.pathname.get_untracked();
                        view! { <Redirect path=format!("/login?next={}", urlencode(&next)) /> }.into_any()
                    }
                    Err(e) => view! { <main class="p-8"><ErrorPanel error=e /></main> }.into_any(),
                }
            })}
        </Suspense>
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[component]
fn Frame(ctx: TeamContext) -> impl IntoView {
    let team = ctx.team.clone();
    let teams = ctx.me.teams.clone();
    let logout = ServerAction::<LogOut>::new();
    let base = format!("/teams/{}", team.id);
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-6xl items-center gap-6 px-6 py-3">
                <a href="/" class="flex items-center gap-2 font-bold"><Logo /> "Gatehouse"</a>
                <details class="relative" data-testid="team-switcher">
                    <summary class="cursor-pointer list-none rounded-md border border-slate-200 px-3 py-1.5 text-sm font-medium hover:bg-slate-50">
                        {team.name.clone()} " ▾"
                    </summary>
                    <div class="absolute z-10 mt-1 w-64 rounded-md border border-slate-200 bg-white py-1 shadow-lg">
                        {teams
                            .into_iter()
                            .map(|t| {
                                view! {
                                    <a href=format!("/teams/{}/products", t.id) class="block px-3 py-2 text-sm hover:bg-slate-50">
                                        {t.name} <span class="ml-1 text-xs text-slate-500">{t.role.as_str()}</span>
                                    </a>
                                }
                            })
                            .collect_view()}
                        <a href="/new-team" class="block border-t border-slate-100 px-3 py-2 text-sm text-indigo-600 hover:bg-slate-50">"+ New team"</a>
                    </div>
                </details>
                <nav class="flex gap-4 text-sm font-medium text-slate-600">
                    <A href=format!("{base}/products") attr:class="hover:text-slate-900">"Products"</A>
                    <A href=format!("{base}/members") attr:class="hover:text-slate-900">"Members"</A>
                    <A href=format!("{base}/audit") attr:class="hover:text-slate-900" attr:data-testid="nav-audit">"Audit log"</A>
                </nav>
                <div class="ml-auto flex items-center gap-3 text-sm text-slate-600">
                    <span data-testid="user-email">{ctx.me.email.clone()}</span>
                    <ActionForm action=logout>
                        <button type="submit" class="rounded-md px-2 py-1 hover:bg-slate-100" data-testid="logout">"Log out"</button>
                    </ActionForm>
                </div>
            </div>
        </header>
        <TrialBanner team=team />
        <main class="mx-auto max-w-6xl px-6 py-8">
            <Outlet />
        </main>
    }
}

#[component]
pub fn TrialBanner(team: TeamSummary) -> impl IntoView {
    let t = team.trial;
    if t.expired {
        view! {
            <div class="border-b border-amber-200 bg-amber-50" data-testid="trial-banner">
                <p class="mx-auto max-w-6xl px-6 py-2 text-sm text-amber-900">
                    <strong>"Your trial ended on " {format::date(&t.ends_at)} "."</strong>
                    " The dashboard is now read-only. Nothing has been deleted."
                </p>
            </div>
        }
        .into_any()
    } else {
        let days = format::plural(t.days_left, "day", "days");
        view! {
            <div class="border-b border-indigo-100 bg-indigo-50" data-testid="trial-banner">
                <p class="mx-auto max-w-6xl px-6 py-2 text-sm text-indigo-900">
                    "Trial: " <strong>{days} " left"</strong> " (ends " {format::date(&t.ends_at)} ")."
                </p>
            </div>
        }
        .into_any()
    }
}

/// A note shown above forms when the team is read-only.
#[component]
pub fn ReadOnlyNote() -> impl IntoView {
    let team = use_team();
    view! {
        <Show when=move || team.read_only()>
            <p class="mb-4 rounded-md border border-amber-200 bg-amber-50 px-4 py-2 text-sm text-amber-900" data-testid="read-only">
                "Read-only: this team's trial has ended."
            </p>
        </Show>
    }
}
