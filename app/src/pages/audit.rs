//! A team's audit log: every admin change, who made it, and what changed, newest
//! first, filtered by product, actor and action.

use gatehouse_core::audit::{
    ActorKind, AuditAction, AuditChange, AuditEvent, AuditFilter, AuditPage,
};
use gatehouse_core::views::{ProductSummary, TeamMembers};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::audit::list_audit;
use crate::api::products::list_products;
use crate::api::teams::team_members;
use crate::components::*;
use crate::error::AppError;
use crate::format;

/// How far "Older" and "Newer" move: one page.
const STEP: u32 = AuditFilter::DEFAULT_LIMIT;

/// Longer values are cut to this many characters (the whole value is the tooltip).
const LONG_VALUE: usize = 120;

/// The filters, page and lists behind the audit log. Created in the page body, never
/// inside a `Suspend` (see `SettingsData` in `product_settings.rs`: resources created
/// while an async view resolves break hydration).
#[derive(Clone, Copy)]
struct AuditData {
    /// A product id, or `""` for all.
    product: RwSignal<String>,
    /// A user id, or `""` for anyone.
    actor: RwSignal<String>,
    /// An `AuditAction::as_str`, or `""` for any.
    action: RwSignal<String>,
    offset: RwSignal<u32>,
    page: Resource<Result<AuditPage, AppError>>,
    products: Resource<Result<Vec<ProductSummary>, AppError>>,
    members: Resource<Result<TeamMembers, AppError>>,
}

impl AuditData {
    fn new(team: String) -> Self {
        let product = RwSignal::new(String::new());
        let actor = RwSignal::new(String::new());
        let action = RwSignal::new(String::new());
        let offset = RwSignal::new(0u32);
        let page = {
            let team = team.clone();
            Resource::new(
                move || (product.get(), actor.get(), action.get(), offset.get()),
                move |(product, actor, action, offset)| {
                    list_audit(
                        team.clone(),
                        some(product),
                        some(actor),
                        some(action),
                        offset,
                    )
                },
            )
        };
        let products = {
            let team = team.clone();
            Resource::new(|| (), move |_| list_products(team.clone()))
        };
        let members = Resource::new(|| (), move |_| team_members(team.clone()));
        Self {
            product,
            actor,
            action,
            offset,
            page,
            products,
            members,
        }
    }

    fn filtered(&self) -> bool {
        [self.product, self.actor, self.action]
            .iter()
            .any(|f| f.with_untracked(|v| !v.is_empty()))
    }
}

/// `""` (a filter's "any") is `None`.
fn some(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

/// `/teams/{team}/audit`: the team's audit log.
#[component]
pub fn AuditLogPage() -> impl IntoView {
    let data = AuditData::new(use_team().id());
    view! {
        <Title text="Audit log" />
        <h1 class="text-2xl font-semibold">"Audit log"</h1>
        <p class="mt-1 text-sm text-slate-600">
            "Every change to this team's products, connections, API keys, setup links, Ory settings and members. Secrets never appear here."
        </p>
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5" data-testid="audit-log">
            <Filters data=data />
            <Transition fallback=|| view! { <p class="mt-4 text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.page.await {
                        Ok(page) => view! { <AuditTable page=page data=data /> }.into_any(),
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// Product, actor and action; changing one goes back to the newest page.
#[component]
fn Filters(data: AuditData) -> impl IntoView {
    let actions = AuditAction::ALL
        .iter()
        .map(|a| (a.as_str().to_string(), a.as_str().to_string()))
        .collect::<Vec<_>>();
    view! {
        <div class="grid gap-4 sm:grid-cols-3">
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    // without the list, the filter still offers "All products"
                    let options = data
                        .products
                        .await
                        .map(|list| list.into_iter().map(|p| (p.id, p.name)).collect::<Vec<_>>())
                        .unwrap_or_default();
                    view! {
                        <FilterSelect data=data value=data.product id="audit-filter-product" label="Product" any="All products" options=options />
                    }
                })}
            </Suspense>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    let options = data
                        .members
                        .await
                        .map(|m| m.members.into_iter().map(|m| (m.user_id, m.email)).collect::<Vec<_>>())
                        .unwrap_or_default();
                    view! {
                        <FilterSelect data=data value=data.actor id="audit-filter-actor" label="Who" any="Anyone" options=options />
                    }
                })}
            </Suspense>
            <FilterSelect data=data value=data.action id="audit-filter-action" label="Action" any="Any action" options=actions />
        </div>
    }
}

/// One filter: "any" (`""`) and `(value, label)` options. `id` is also its test id.
#[component]
fn FilterSelect(
    data: AuditData,
    value: RwSignal<String>,
    id: &'static str,
    label: &'static str,
    any: &'static str,
    options: Vec<(String, String)>,
) -> impl IntoView {
    let offset = data.offset;
    let options = options
        .into_iter()
        .map(|(key, text)| {
            let current = key.clone();
            view! {
                <option value=key selected=move || value.with(|v| *v == current)>{text}</option>
            }
        })
        .collect_view();
    view! {
        <div>
            <label class=LABEL for=id>{label}</label>
            <select class=INPUT id=id data-testid=id
                on:change=move |ev| {
                    value.set(event_target_value(&ev));
                    offset.set(0);
                }>
                <option value="" selected=move || value.with(String::is_empty)>{any}</option>
                {options}
            </select>
        </div>
    }
}

/// One page of events (or the empty state) and the pager.
#[component]
fn AuditTable(page: AuditPage, data: AuditData) -> impl IntoView {
    if page.events.is_empty() && data.offset.get_untracked() == 0 {
        let text = if data.filtered() {
            "Nothing recorded yet that matches these filters."
        } else {
            "Nothing recorded yet."
        };
        view! {
            <p class="mt-4 rounded-lg border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600" data-testid="no-audit">{text}</p>
        }
        .into_any()
    } else {
        let rows = page
            .events
            .into_iter()
            .map(|e| view! { <AuditRow e=e /> })
            .collect_view();
        view! {
            <div class="mt-4 overflow-x-auto">
                <table class="w-full text-sm">
                    <thead class="bg-slate-50 text-left text-slate-600">
                        <tr>
                            <th class="px-4 py-2">"Time"</th><th class="px-4 py-2">"Who"</th><th class="px-4 py-2">"Action"</th>
                            <th class="px-4 py-2">"Target"</th><th class="px-4 py-2">"Changes"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <OffsetPager offset=data.offset step=STEP more=page.more name="audit" />
        }
        .into_any()
    }
}

/// One change: when, who, what, to which thing, and the fields that changed.
#[component]
fn AuditRow(e: AuditEvent) -> impl IntoView {
    let who = e.actor_label.clone().unwrap_or_else(|| e.actor_id.clone());
    let target = e.target_name.clone().unwrap_or_else(|| e.target_id.clone());
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="audit-row" data-action=e.action.as_str()>
            <td class="whitespace-nowrap px-4 py-2 text-slate-600">{format::date_time(&e.created_at)}</td>
            <td class="max-w-xs px-4 py-2">
                <div class="break-all" title=e.actor_id.clone()>{who}</div>
                {actor_tag(e.actor_kind).map(|tag| view! {
                    <span class="rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700" data-testid="audit-actor-kind">{tag}</span>
                })}
            </td>
            <td class="whitespace-nowrap px-4 py-2 font-mono text-xs">{e.action.as_str()}</td>
            <td class="max-w-xs break-all px-4 py-2" title=e.target_id.clone()>{target}</td>
            <td class="max-w-md px-4 py-2"><ChangeList changes=e.changes /></td>
        </tr>
    }
}

/// `field: before → after`, one line each.
#[component]
fn ChangeList(changes: Vec<AuditChange>) -> impl IntoView {
    if changes.is_empty() {
        view! { <span class="text-slate-400">"—"</span> }.into_any()
    } else {
        let items = changes
            .into_iter()
            .map(|c| {
                view! {
                    <li class="break-all" data-testid="audit-change">
                        <span class="font-mono text-slate-500">{c.field} ": "</span>
                        <ChangeValue value=c.before />
                        " → "
                        <ChangeValue value=c.after />
                    </li>
                }
            })
            .collect_view();
        view! { <ul class="space-y-0.5 text-xs">{items}</ul> }.into_any()
    }
}

/// One side of a change: `—` when the field did not exist; a long value is cut.
#[component]
fn ChangeValue(value: Option<String>) -> impl IntoView {
    match value {
        None => view! { <span class="text-slate-400">"—"</span> }.into_any(),
        Some(v) => {
            let shown = shorten(&v);
            view! { <span class="break-all font-mono text-slate-800" title=v>{shown}</span> }
                .into_any()
        }
    }
}

/// At most [`LONG_VALUE`] characters, `…` when cut; `""` for an empty value.
fn shorten(value: &str) -> String {
    if value.is_empty() {
        "\"\"".to_string()
    } else if value.chars().count() > LONG_VALUE {
        let mut cut = value.chars().take(LONG_VALUE).collect::<String>();
        cut.push('…');
        cut
    } else {
        value.to_string()
    }
}

fn actor_tag(kind: ActorKind) -> Option<&'static str> {
    match kind {
        ActorKind::User => None,
        ActorKind::ApiKey => Some("API key"),
        ActorKind::SetupLink => Some("setup link"),
        ActorKind::System => Some("Gatehouse"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(LONG_VALUE + 5);
        let cut = shorten(&long);
        assert_eq!(cut.chars().count(), LONG_VALUE + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(shorten("short"), "short");
        assert_eq!(shorten(""), "\"\"");
    }
}
