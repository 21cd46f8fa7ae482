//! The Webhooks tab of a product's settings: the endpoints Gatehouse POSTs signed
//! events to (Standard Webhooks, `docs/webhooks.md`), adding and removing them, and
//! each endpoint's deliveries with a way to send one again.

use gatehouse_core::views::ProductDetail;
use gatehouse_core::webhooks::{
    DeliveryState, WebhookDeliveryView, WebhookEndpointView, WebhookEvent, DELIVERIES_PER_PAGE,
};
use leptos::prelude::*;

use crate::api::webhooks::{
    list_webhook_deliveries, list_webhook_endpoints, CreateWebhookEndpoint, DeleteWebhookEndpoint,
    ResendWebhookDelivery,
};
use crate::components::*;
use crate::format;

use super::product_settings::{when, Loaded};

/// A page of deliveries (what the server returns at most), and how far "Older" and
/// "Newer" move.
const STEP: u32 = DELIVERIES_PER_PAGE;

/// The fields of the "Add endpoint" form with their own message.
const FORM_FIELDS: &[&str] = &["url", "description", "events"];

/// The tab's actions, lists and state. Created in the page body, never inside a
/// `Suspend` (see `SettingsData` in `product_settings.rs`: resources created while an
/// async view resolves break hydration). Only one endpoint's deliveries are open at
/// a time, so one resource serves them all.
#[derive(Clone, Copy)]
pub struct WebhooksData {
    create: ServerAction<CreateWebhookEndpoint>,
    delete: ServerAction<DeleteWebhookEndpoint>,
    resend: ServerAction<ResendWebhookDelivery>,
    endpoints: Loaded<Vec<WebhookEndpointView>>,
    /// The endpoint whose deliveries are shown.
    open: RwSignal<Option<String>>,
    offset: RwSignal<u32>,
    refresh: RwSignal<usize>,
    deliveries: Loaded<Vec<WebhookDeliveryView>>,
}

impl WebhooksData {
    /// Fetches only while `active` (the Webhooks tab is shown).
    pub fn new(team: StoredValue<String>, product: Signal<String>, active: Signal<bool>) -> Self {
        let create = ServerAction::<CreateWebhookEndpoint>::new();
        let delete = ServerAction::<DeleteWebhookEndpoint>::new();
        let resend = ServerAction::<ResendWebhookDelivery>::new();
        let (created, deleted, resent) = (
            successes(create.value()),
            successes(delete.value()),
            successes(resend.value()),
        );
        let open = RwSignal::new(None::<String>);
        let offset = RwSignal::new(0u32);
        let refresh = RwSignal::new(0usize);
        let endpoints = Resource::new(
            move || (product.get(), active.get(), created.get(), deleted.get()),
            move |(p, active, _, _)| when(active, list_webhook_endpoints(team.get_value(), p)),
        );
        let deliveries = Resource::new(
            move || {
                (
                    product.get(),
                    open.get().filter(|_| active.get()),
                    offset.get(),
                    refresh.get(),
                    resent.get(),
                )
            },
            move |(p, endpoint, offset, _, _)| {
                let team = team.get_value();
                async move {
                    match endpoint {
                        Some(e) => list_webhook_deliveries(team, p, e, offset).await.map(Some),
                        None => Ok(None),
                    }
                }
            },
        );
        Self {
            create,
            delete,
            resend,
            endpoints,
            open,
            offset,
            refresh,
            deliveries,
        }
    }

    fn is_open(&self, endpoint: &str) -> bool {
        self.open.with(|o| o.as_deref() == Some(endpoint))
    }

    /// Show `endpoint`'s deliveries from the newest, or hide them when shown.
    fn toggle(&self, endpoint: &str) {
        let closing = self.open.with_untracked(|o| o.as_deref() == Some(endpoint));
        self.offset.set(0);
        self.open.set((!closing).then(|| endpoint.to_string()));
    }
}

/// The team and product every form here sends.
#[derive(Clone, Copy)]
struct Scope {
    team: StoredValue<String>,
    product: StoredValue<String>,
}

/// The hidden `team` and `product` fields.
#[component]
fn ScopeFields(scope: Scope) -> impl IntoView {
    view! {
        <input type="hidden" name="team" value=scope.team.get_value() />
        <input type="hidden" name="product" value=scope.product.get_value() />
    }
}

/// `/teams/{team}/products/{product}/settings/webhooks`.
#[component]
pub fn WebhooksTab(product: ProductDetail, data: WebhooksData) -> impl IntoView {
    let writable = !use_team().read_only();
    let scope = Scope {
        team: StoredValue::new(product.team_id.clone()),
        product: StoredValue::new(product.id.clone()),
    };
    view! {
        <section class="max-w-4xl" data-testid="webhooks">
            <p class="max-w-2xl text-sm text-slate-600">
                "Gatehouse POSTs signed JSON events to these URLs, per the Standard Webhooks specification: verify the "
                <code>"webhook-signature"</code>
                " header with the endpoint's secret. Failed deliveries are retried with backoff; each delivery's state is below."
            </p>
            {writable.then(|| view! { <AddEndpointForm data=data scope=scope /> })}
            <NewSecret data=data />
            <ErrorBox message=form_error(data.delete.value(), &[]) />
            <Transition fallback=|| view! { <p class="mt-6 text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.endpoints.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(list)) if list.is_empty() => view! {
                            <p class="mt-6 rounded-lg border border-dashed border-slate-300 p-6 text-center text-sm text-slate-600" data-testid="no-webhooks">"No endpoints yet."</p>
                        }.into_any(),
                        Ok(Some(list)) => view! {
                            <ul class="mt-6 space-y-4">
                                {list.into_iter().map(|e| view! { <EndpointItem e=e data=data scope=scope writable=writable /> }).collect_view()}
                            </ul>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// URL, description and events; none ticked means all events. The ticked names go
/// to the server as one comma-separated `events` field.
#[component]
fn AddEndpointForm(data: WebhooksData, scope: Scope) -> impl IntoView {
    let create = data.create;
    let value = create.value();
    let ticked = RwSignal::new(Vec::<WebhookEvent>::new());
    let events = move || {
        ticked.with(|t| {
            WebhookEvent::ALL
                .iter()
                .filter(|e| t.contains(e))
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(",")
        })
    };
    view! {
        <ActionForm action=create attr:class="mt-4 max-w-2xl space-y-4 rounded-lg border border-slate-200 bg-white p-5" attr:data-testid="webhook-form">
            <h2 class="text-base font-semibold text-slate-800">"Add endpoint"</h2>
            <ScopeFields scope=scope />
            <div>
                <label class=LABEL for="webhook-url">"URL"</label>
                <input class=format!("{INPUT} font-mono") id="webhook-url" name="url" type="url" required
                    placeholder="https://example.com/webhooks/gatehouse" data-testid="webhook-url" />
                <FieldMessage message=field_error(value, "url") id="webhook-url-error" />
            </div>
            <div>
                <label class=LABEL for="webhook-description">"Description (optional)"</label>
                <input class=INPUT id="webhook-description" name="description" maxlength="500" data-testid="webhook-description" />
                <FieldMessage message=field_error(value, "description") id="webhook-description-error" />
            </div>
            <fieldset>
                <legend class=LABEL>"Events"</legend>
                <p class="text-xs text-slate-500">"Tick none to receive all events."</p>
                <div class="mt-2 grid gap-1 sm:grid-cols-2">
                    {WebhookEvent::ALL.iter().map(|e| view! { <EventCheckbox event=*e ticked=ticked /> }).collect_view()}
                </div>
                <input type="hidden" name="events" value=events />
                <FieldMessage message=field_error(value, "events") id="webhook-events-error" />
            </fieldset>
            <ErrorBox message=form_error(value, FORM_FIELDS) />
            <button type="submit" class=BUTTON data-testid="webhook-add" disabled=move || create.pending().get()>"Add endpoint"</button>
        </ActionForm>
    }
}

/// One event to subscribe to. It has no `name`: the hidden `events` field carries
/// the ticked ones.
#[component]
fn EventCheckbox(event: WebhookEvent, ticked: RwSignal<Vec<WebhookEvent>>) -> impl IntoView {
    let name = event.as_str();
    view! {
        <label class="flex items-center gap-2 text-sm">
            <input type="checkbox" value=name data-testid="webhook-event"
                prop:checked=move || ticked.with(|t| t.contains(&event))
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    ticked.update(|t| {
                        t.retain(|e| *e != event);
                        if on {
                            t.push(event);
                        }
                    });
                } />
            <code class="text-xs">{name}</code>
        </label>
    }
}

/// The secret of the endpoint just added, shown once.
#[component]
fn NewSecret(data: WebhooksData) -> impl IntoView {
    let value = data.create.value();
    view! {
        {move || value.get().and_then(Result::ok).map(|created| {
            let secret = created.secret.clone();
            view! {
                <div class="mt-4 max-w-2xl rounded-md border border-green-200 bg-green-50 p-4 text-sm" data-testid="new-webhook-secret">
                    <p class="font-medium text-green-900">"Copy this secret now: it is not shown again."</p>
                    <p class="mt-1 break-all text-green-900">"Signing secret for " <code class="text-xs">{created.endpoint.url.clone()}</code></p>
                    <div class="mt-2 flex items-center gap-2">
                        <code class="break-all rounded bg-white px-2 py-1 text-xs" data-testid="webhook-secret">{secret.clone()}</code>
                        <CopyButton text=secret />
                    </div>
                </div>
            }
        })}
    }
}

/// One endpoint: what it receives, "Remove" (confirmed first) and its deliveries.
#[component]
fn EndpointItem(
    e: WebhookEndpointView,
    data: WebhooksData,
    scope: Scope,
    writable: bool,
) -> impl IntoView {
    let id = StoredValue::new(e.id.clone());
    let open = move || id.with_value(|id| data.is_open(id));
    let (confirm_remove, set_confirm_remove) = signal(false);
    let events = if e.events.is_empty() {
        "All events".to_string()
    } else {
        e.events
            .iter()
            .map(|ev| ev.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let description = (!e.description.is_empty()).then(|| e.description.clone());
    let url = e.url.clone();
    view! {
        <li class="rounded-lg border border-slate-200 bg-white p-5" data-testid="webhook-endpoint" data-endpoint-id=e.id.clone()>
            <div class="flex flex-wrap items-start gap-3">
                <div class="min-w-0 flex-1">
                    <p class="break-all font-mono text-sm font-medium text-slate-900" data-testid="webhook-endpoint-url">{e.url.clone()}</p>
                    {description.map(|d| view! { <p class="mt-1 text-sm text-slate-600">{d}</p> })}
                    <p class="mt-1 text-xs text-slate-500">
                        <span data-testid="webhook-endpoint-events">{events}</span>
                        " · added " {format::date_time(&e.created_at)}
                    </p>
                </div>
                <div class="flex gap-2">
                    <button type="button" class=BUTTON_SECONDARY data-testid="webhook-deliveries-toggle"
                        aria-expanded=move || open().to_string()
                        on:click=move |_| id.with_value(|id| data.toggle(id))>
                        {move || if open() { "Hide deliveries" } else { "Deliveries" }}
                    </button>
                    {writable.then(|| view! {
                        <button type="button" class=BUTTON_SECONDARY data-testid="webhook-remove" on:click=move |_| set_confirm_remove.set(true)>"Remove…"</button>
                    })}
                </div>
            </div>
            <Show when=move || confirm_remove.get()>
                <div class="mt-4 rounded-md border border-red-200 bg-red-50 p-4 text-sm" data-testid="webhook-confirm-remove">
                    <p class="text-red-900">"Remove the endpoint " <strong class="break-all">{url.clone()}</strong> "? It receives no more events, and its deliveries are no longer shown."</p>
                    <ActionForm action=data.delete attr:class="mt-3 flex gap-2">
                        <ScopeFields scope=scope />
                        <input type="hidden" name="endpoint" value=id.get_value() />
                        <button type="submit" class=BUTTON_DANGER data-testid="webhook-remove-confirm">"Remove endpoint"</button>
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| set_confirm_remove.set(false)>"Cancel"</button>
                    </ActionForm>
                </div>
            </Show>
            <Show when=open>
                <Deliveries data=data scope=scope writable=writable />
            </Show>
        </li>
    }
}

/// The open endpoint's deliveries, newest first, with "Refresh" and the pager.
#[component]
fn Deliveries(data: WebhooksData, scope: Scope, writable: bool) -> impl IntoView {
    let resend = data.resend;
    let resent = Signal::derive(move || {
        resend.value().with(|v| {
            matches!(v, Some(Ok(()))).then(|| "Queued: it is sent again shortly.".to_string())
        })
    });
    view! {
        <div class="mt-4 border-t border-slate-100 pt-4" data-testid="webhook-deliveries">
            <div class="flex items-center gap-3">
                <h3 class="text-sm font-semibold text-slate-800">"Deliveries"</h3>
                <button type="button" class=format!("{BUTTON_SECONDARY} ml-auto") data-testid="webhook-refresh"
                    on:click=move |_| data.refresh.update(|n| *n += 1)>
                    "Refresh"
                </button>
            </div>
            <div class="mt-2 space-y-2">
                <ErrorBox message=form_error(resend.value(), &[]) />
                <SuccessBox message=resent />
            </div>
            <Transition fallback=|| view! { <p class="mt-3 text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.deliveries.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(list)) => view! { <DeliveryTable list=list data=data scope=scope writable=writable /> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

/// One page of deliveries (or the empty state) and the pager.
#[component]
fn DeliveryTable(
    list: Vec<WebhookDeliveryView>,
    data: WebhooksData,
    scope: Scope,
    writable: bool,
) -> impl IntoView {
    if list.is_empty() && data.offset.get_untracked() == 0 {
        return view! {
            <p class="mt-3 rounded-lg border border-dashed border-slate-300 p-4 text-center text-sm text-slate-600" data-testid="no-webhook-deliveries">"Nothing sent to this endpoint yet."</p>
        }
        .into_any();
    }
    // a full page: there may be older ones
    let more = list.len() >= STEP as usize;
    let rows = list
        .into_iter()
        .map(|d| view! { <DeliveryRow d=d data=data scope=scope writable=writable /> })
        .collect_view();
    view! {
        <div class="mt-3 overflow-x-auto">
            <table class="w-full text-sm">
                <thead class="bg-slate-50 text-left text-slate-600">
                    <tr>
                        <th class="px-3 py-2">"Time"</th><th class="px-3 py-2">"Event"</th><th class="px-3 py-2">"State"</th>
                        <th class="px-3 py-2">"Attempts"</th><th class="px-3 py-2">"Last status"</th><th class="px-3 py-2">"Last error"</th><th></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <OffsetPager offset=data.offset step=STEP more=more name="webhook" />
    }
    .into_any()
}

/// One delivery: when, what, how it went, and "Resend".
#[component]
fn DeliveryRow(
    d: WebhookDeliveryView,
    data: WebhooksData,
    scope: Scope,
    writable: bool,
) -> impl IntoView {
    // when a pending delivery is tried next
    let next_attempt = d
        .next_attempt_at
        .as_ref()
        .filter(|_| d.state == DeliveryState::Pending)
        .map(format::date_time);
    let status = d
        .last_status
        .map(|s| s.to_string())
        .unwrap_or_else(|| "—".to_string());
    let delivery_id = d.id.clone();
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="webhook-delivery" data-state=d.state.as_str() data-delivery-id=d.id.clone()>
            <td class="whitespace-nowrap px-3 py-2 text-slate-600" title=d.id.clone()>{format::date_time(&d.created_at)}</td>
            <td class="whitespace-nowrap px-3 py-2 font-mono text-xs">{d.event.as_str()}</td>
            <td class="px-3 py-2">
                <DeliveryStateBadge state=d.state />
                {next_attempt.map(|at| view! {
                    <div class="mt-1 whitespace-nowrap text-xs text-slate-500">"next try " {at}</div>
                })}
            </td>
            <td class="px-3 py-2" data-testid="webhook-delivery-attempts">{d.attempts}</td>
            <td class="px-3 py-2 font-mono text-xs" data-testid="webhook-delivery-status">{status}</td>
            <td class="max-w-xs break-all px-3 py-2 text-xs text-slate-700" data-testid="webhook-delivery-error">
                {d.last_error.clone().unwrap_or_else(|| "—".to_string())}
            </td>
            <td class="px-3 py-2 text-right">
                {writable.then(|| view! {
                    <ActionForm action=data.resend>
                        <ScopeFields scope=scope />
                        <input type="hidden" name="delivery" value=delivery_id />
                        <button type="submit" class="text-sm text-indigo-600 hover:underline disabled:opacity-50" data-testid="webhook-resend"
                            disabled=move || data.resend.pending().get()>"Resend"</button>
                    </ActionForm>
                })}
            </td>
        </tr>
    }
}
