//! Sign-in traces in the dashboard: the recent sign-ins of a connection, one trace
//! (why it failed, what to change, what the IdP sent), and the search by the
//! reference id a user quotes from an error page.

use gatehouse_core::traces::{
    FailureReason, SignInKind, SignInTrace, TraceFilter, TraceOutcome, TracePurpose,
};
use gatehouse_core::views::ProductDetail;
use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::traces::{get_trace, list_traces, ListTraces};
use crate::components::*;
use crate::error::AppError;
use crate::format;

/// How far "Older" and "Newer" move: one page.
const STEP: u32 = TraceFilter::DEFAULT_LIMIT;

const FILTER_ON: &str = "rounded-md bg-indigo-600 px-3 py-1.5 text-sm font-medium text-white";
const FILTER_OFF: &str =
    "rounded-md px-3 py-1.5 text-sm font-medium text-slate-600 hover:bg-slate-100";

/// The recent sign-ins' filter, page and list. Created in the page body, never inside
/// a `Suspend` (see `SettingsData` in `product_settings.rs`: resources created while
/// an async view resolves break hydration).
#[derive(Clone, Copy)]
pub struct RecentSignInsData {
    /// `""` (all), `success` or `failure`.
    outcome: RwSignal<&'static str>,
    offset: RwSignal<u32>,
    refresh: RwSignal<usize>,
    /// `/teams/{team}/products/{product}/sign-ins`: a trace's page is below it.
    base: StoredValue<String>,
    page: Resource<Result<gatehouse_core::traces::TracePage, AppError>>,
}

impl RecentSignInsData {
    pub fn new(team: String, product: String, connection: String) -> Self {
        let outcome = RwSignal::new("");
        let offset = RwSignal::new(0u32);
        let refresh = RwSignal::new(0usize);
        let base = StoredValue::new(format!("/teams/{team}/products/{product}/sign-ins"));
        let page = Resource::new(
            move || (outcome.get(), offset.get(), refresh.get()),
            move |(outcome, offset, _)| {
                list_traces(
                    team.clone(),
                    product.clone(),
                    Some(connection.clone()),
                    Some(outcome.to_string()),
                    None,
                    offset,
                )
            },
        );
        Self {
            outcome,
            offset,
            refresh,
            base,
            page,
        }
    }
}

/// "Recent sign-ins" of a connection: filter, table, pager, refresh.
#[component]
pub fn RecentSignIns(data: RecentSignInsData) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5" data-testid="recent-sign-ins">
            <div class="flex flex-wrap items-center gap-3">
                <h2 class="text-sm font-semibold text-slate-800">"Recent sign-ins"</h2>
                <div class="ml-auto flex items-center gap-2">
                    <div class="flex gap-1 rounded-lg border border-slate-200 p-1" role="group" aria-label="Outcome">
                        <FilterButton data=data value="" label="All" testid="trace-filter-all" />
                        <FilterButton data=data value="success" label="Succeeded" testid="trace-filter-success" />
                        <FilterButton data=data value="failure" label="Failed" testid="trace-filter-failure" />
                    </div>
                    <button type="button" class=BUTTON_SECONDARY data-testid="trace-refresh" on:click=move |_| data.refresh.update(|n| *n += 1)>"Refresh"</button>
                </div>
            </div>
            <p class="mt-1 text-xs text-slate-500">"Every sign-in through this connection, tests included, newest first. Open one to see why it failed, what to change, and what the identity provider sent."</p>
            <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.page.await {
                        Ok(page) => view! { <TraceTable page=page data=data /> }.into_any(),
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// One choice of the outcome filter; choosing it goes back to the newest page.
#[component]
fn FilterButton(
    data: RecentSignInsData,
    value: &'static str,
    label: &'static str,
    testid: &'static str,
) -> impl IntoView {
    let active = move || data.outcome.get() == value;
    view! {
        <button
            type="button"
            class=move || if active() { FILTER_ON } else { FILTER_OFF }
            aria-pressed=move || active().to_string()
            data-testid=testid
            on:click=move |_| {
                data.outcome.set(value);
                data.offset.set(0);
            }
        >
            {label}
        </button>
    }
}

/// One page of traces (or the empty state) and the pager.
#[component]
fn TraceTable(page: gatehouse_core::traces::TracePage, data: RecentSignInsData) -> impl IntoView {
    let offset = data.offset.get_untracked();
    if page.traces.is_empty() && offset == 0 {
        let text = match data.outcome.get_untracked() {
            "failure" => "No failed sign-ins.",
            "success" => "No successful sign-ins.",
            _ => "No sign-ins yet.",
        };
        view! {
            <p class="mt-4 rounded-lg border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600" data-testid="no-sign-ins">{text}</p>
        }
        .into_any()
    } else {
        let base = data.base.get_value();
        let rows = page
            .traces
            .into_iter()
            .map(|t| {
                let href = format!("{base}/{}", t.id);
                view! { <TraceRow t=t href=href /> }
            })
            .collect_view();
        view! {
            <div class="mt-4 overflow-x-auto">
                <table class="w-full text-sm">
                    <thead class="bg-slate-50 text-left text-slate-600">
                        <tr>
                            <th class="px-4 py-2">"Time"</th><th class="px-4 py-2">"Outcome"</th><th class="px-4 py-2">"Reason"</th>
                            <th class="px-4 py-2">"User"</th><th class="px-4 py-2">"Kind"</th><th class="px-4 py-2">"For"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <OffsetPager offset=data.offset step=STEP more=page.more name="trace" />
        }
        .into_any()
    }
}

/// One sign-in; the whole row opens its trace (the time's link is stretched over it).
#[component]
fn TraceRow(t: SignInTrace, href: String) -> impl IntoView {
    // the subject only when it says more than the email
    let subject = t.subject.clone().filter(|s| t.email.as_ref() != Some(s));
    let nobody = t.email.is_none() && subject.is_none();
    view! {
        <tr class="relative border-t border-slate-100 hover:bg-slate-50" data-testid="trace-row" data-outcome=t.outcome.as_str() data-trace-id=t.id.clone()>
            <td class="whitespace-nowrap px-4 py-2"><a class="text-indigo-700 after:absolute after:inset-0 hover:underline" href=href data-testid="trace-link">{format::date_time(&t.created_at)}</a></td>
            <td class="px-4 py-2"><OutcomeBadge outcome=t.outcome /></td>
            <td class="px-4 py-2 font-mono text-xs">{t.reason.map(FailureReason::as_str).unwrap_or("")}</td>
            <td class="max-w-xs px-4 py-2">
                <div class="truncate">{t.email.clone()}</div>
                {subject.map(|s| view! { <div class="truncate font-mono text-xs text-slate-500">{s}</div> })}
                {nobody.then(|| view! { <span class="text-slate-400">"—"</span> })}
            </td>
            <td class="whitespace-nowrap px-4 py-2 text-slate-600">{kind_label(t.kind)}</td>
            <td class="px-4 py-2"><PurposeBadge purpose=t.purpose /></td>
        </tr>
    }
}

#[component]
fn PurposeBadge(purpose: TracePurpose) -> impl IntoView {
    let class = match purpose {
        TracePurpose::Test => "rounded bg-sky-100 px-1.5 py-0.5 text-xs text-sky-800",
        TracePurpose::App => "rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700",
    };
    let label = match purpose {
        TracePurpose::Test => "test",
        TracePurpose::App => "app",
    };
    view! { <span class=class data-testid="trace-purpose">{label}</span> }
}

/// `/teams/{team}/products/{product}/sign-ins/{trace}`: one sign-in, in full.
#[component]
pub fn TracePage() -> impl IntoView {
    let params = use_params_map();
    let trace = Resource::new(
        move || {
            params.with(|m| {
                (
                    m.get("team").unwrap_or_default(),
                    m.get("product").unwrap_or_default(),
                    m.get("trace").unwrap_or_default(),
                )
            })
        },
        |(team, product, trace)| get_trace(team, product, trace),
    );
    view! {
        <ProductPage active="connections" body=move |_p: ProductDetail| {
            view! {
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match trace.await {
                            Ok(t) => view! { <TraceView t=t /> }.into_any(),
                            Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        } />
    }
}

#[component]
fn TraceView(t: SignInTrace) -> impl IntoView {
    let (team, product, _) = product_route_params();
    let base = format!("/teams/{team}/products/{product}/connections");
    let (back_href, back_label) = match &t.connection_id {
        Some(c) => (format!("{base}/{c}"), "← Connection"),
        None => (base.clone(), "← SSO Connections"),
    };
    let connection = t.connection_id.clone().map(|c| (format!("{base}/{c}"), c));
    let failed = t.outcome == TraceOutcome::Failure;
    // on a failure the detail is in the red box; otherwise it is one more field
    let detail = if failed { None } else { t.detail.clone() };
    view! {
        <p class="text-sm"><a class="text-indigo-600 hover:underline" href=back_href data-testid="trace-back">{back_label}</a></p>
        <section class="mt-3 rounded-lg border border-slate-200 bg-white p-5" data-testid="trace-detail" data-outcome=t.outcome.as_str()>
            <div class="flex flex-wrap items-center gap-3">
                <h2 class="text-xl font-semibold">"Sign-in"</h2>
                <OutcomeBadge outcome=t.outcome />
                <span class="text-sm text-slate-600">{format::date_time(&t.created_at)}</span>
            </div>
            {failed.then(|| view! { <FailureBox reason=t.reason detail=t.detail.clone() /> })}
            <dl class="mt-2">
                <CopyField label="Reference id (shown to the user on the error page)" value=t.reference_id.clone() testid="trace-reference" />
            </dl>
            <dl class="mt-2 grid grid-cols-4 gap-x-4 gap-y-2 text-sm">
                <TraceField label="Time" value=Some(format::date_time(&t.created_at)) />
                <TraceField label="Kind" value=Some(kind_label(t.kind).to_string()) />
                <TraceField label="For" value=Some(purpose_label(t.purpose).to_string()) />
                <dt class="text-slate-500">"Connection"</dt>
                <dd class="col-span-3 break-all font-mono text-xs">
                    {match connection {
                        Some((href, id)) => view! { <a class="text-indigo-700 hover:underline" href=href data-testid="trace-connection">{id}</a> }.into_any(),
                        None => view! { <span class="font-sans text-slate-500">"none (the settings of a setup link, not saved yet)"</span> }.into_any(),
                    }}
                </dd>
                <TraceField label="Tenant" value=t.tenant.clone() mono=true />
                <TraceField label="client_id" value=t.client_id.clone() mono=true />
                <TraceField label="Subject (NameID / sub)" value=t.subject.clone() mono=true testid="trace-subject" />
                <TraceField label="Email" value=t.email.clone() mono=true testid="trace-email" />
                {detail.map(|d| view! { <TraceField label="Detail" value=Some(d) mono=true /> })}
                <TraceField label="Product" value=Some(t.product.clone()) mono=true />
                <TraceField label="Trace id" value=Some(t.id.clone()) mono=true />
            </dl>
        </section>
        <IdpResponse response=t.idp_response.clone() />
    }
}

/// Why the sign-in failed, in plain words, and what to change.
#[component]
fn FailureBox(reason: Option<FailureReason>, detail: Option<String>) -> impl IntoView {
    view! {
        <div class="mt-4 rounded-md border border-red-200 bg-red-50 p-4 text-sm text-red-900" data-testid="trace-failure">
            {match reason {
                Some(r) => view! {
                    <p class="font-semibold">"Failed: " <code class="rounded bg-red-100 px-1.5 py-0.5 font-mono text-xs" data-testid="trace-reason">{r.as_str()}</code></p>
                    <p class="mt-2" data-testid="trace-explanation">{r.explanation()}</p>
                    <p class="mt-2"><strong>"What to change: "</strong><span data-testid="trace-remedy">{r.remedy()}</span></p>
                }.into_any(),
                None => view! { <p class="font-semibold">"Failed"</p> }.into_any(),
            }}
            {detail.map(|d| view! {
                <p class="mt-2"><span class="font-medium">"Detail: "</span><span class="break-words font-mono text-xs" data-testid="trace-failure-detail">{d}</span></p>
            })}
        </div>
    }
}

/// What the IdP sent, redacted; shown as text, never as HTML.
#[component]
fn IdpResponse(response: Option<String>) -> impl IntoView {
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5">
            <h2 class="text-sm font-semibold text-slate-800">"What the identity provider sent"</h2>
            <p class="mt-1 text-xs text-slate-500">"Signatures, certificates, codes and tokens are removed, and a long response is cut."</p>
            {match response {
                Some(r) => view! {
                    <pre class="mt-3 max-h-96 overflow-auto whitespace-pre rounded-md bg-slate-900 p-4 font-mono text-xs text-slate-100" data-testid="trace-idp-response">{r}</pre>
                }.into_any(),
                None => view! {
                    <p class="mt-3 text-sm text-slate-600" data-testid="trace-idp-response-none">"Nothing was recorded: the sign-in stopped before the identity provider answered, or its answer could not be read."</p>
                }.into_any(),
            }}
        </section>
    }
}

/// A labelled value of a trace; `—` when absent.
#[component]
fn TraceField(
    label: &'static str,
    value: Option<String>,
    #[prop(optional)] mono: bool,
    #[prop(optional)] testid: Option<&'static str>,
) -> impl IntoView {
    let class = if mono {
        "col-span-3 break-all font-mono text-xs"
    } else {
        "col-span-3"
    };
    view! {
        <dt class="text-slate-500">{label}</dt>
        <dd class=class data-testid=testid>{value.unwrap_or_else(|| "—".to_string())}</dd>
    }
}

fn kind_label(kind: SignInKind) -> &'static str {
    match kind {
        SignInKind::Saml => "SAML",
        SignInKind::SamlIdpInitiated => "SAML, IdP-initiated",
        SignInKind::Oidc => "OpenID Connect",
    }
}

fn purpose_label(purpose: TracePurpose) -> &'static str {
    match purpose {
        TracePurpose::App => "The application",
        TracePurpose::Test => "A test (Test connection)",
    }
}

/// "Find a sign-in by reference id": the id a user quotes from an error page. Opens
/// the trace when there is one.
#[component]
pub fn ReferenceSearch(team: String, product: String) -> impl IntoView {
    let search = ServerAction::<ListTraces>::new();
    let (reference, set_reference) = signal(String::new());
    let base = format!("/teams/{team}/products/{product}/sign-ins");
    let (team, product) = (StoredValue::new(team), StoredValue::new(product));
    let navigate = use_navigate();
    Effect::new(move |_| {
        let found = search.value().with(|v| match v {
            Some(Ok(page)) => page.traces.first().map(|t| t.id.clone()),
            _ => None,
        });
        if let Some(id) = found {
            navigate(&format!("{base}/{id}"), Default::default());
        }
    });
    let message = Signal::derive(move || {
        search.value().with(|v| match v {
            Some(Ok(page)) if page.traces.is_empty() => {
                Some("No sign-in with that reference in this product.".to_string())
            }
            Some(Err(e)) => Some(e.to_string()),
            _ => None,
        })
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let reference = reference.get_untracked().trim().to_string();
        if !reference.is_empty() {
            let _ = search.dispatch(ListTraces {
                team: team.get_value(),
                product: product.get_value(),
                connection: None,
                outcome: None,
                reference: Some(reference),
                offset: 0,
            });
        }
    };
    view! {
        <section class="mt-10" data-testid="reference-search-box">
            <h2 class="text-base font-semibold text-slate-800">"Find a sign-in by reference id"</h2>
            <p class="mt-1 text-sm text-slate-600">"A user whose sign-in failed sees a reference id on the error page. Paste it here to see what happened."</p>
            <form class="mt-3 flex flex-wrap items-end gap-3" on:submit=on_submit>
                <div class="w-full max-w-md">
                    <label class=LABEL for="reference-search">"Reference id"</label>
                    <input class=INPUT id="reference-search" name="reference" autocomplete="off" required
                        data-testid="reference-search"
                        prop:value=reference
                        on:input=move |ev| set_reference.set(event_target_value(&ev)) />
                </div>
                <button type="submit" class=BUTTON data-testid="reference-search-go" disabled=move || search.pending().get()>"Find"</button>
            </form>
            {move || message.get().map(|m| view! {
                <p class="mt-2 text-sm text-slate-600" role="status" data-testid="reference-search-result">{m}</p>
            })}
        </section>
    }
}
