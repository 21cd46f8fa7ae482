use gatehouse_core::views::{
    ApiKeyView, OrySettingsView, ProductDeletionImpact, ProductDetail, ProductOAuth,
};
use gatehouse_core::RedirectUrlList;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;

use crate::api::connections::{product_oauth, RotateSecretVerifier};
use crate::api::ory::{get_ory_settings, DisconnectOry, ResyncOry, SaveOrySettings};
use crate::api::products::{
    get_product, list_api_keys, product_deletion_impact, CreateApiKey, DeleteProduct, RevokeApiKey,
    UpdateProduct,
};
use crate::components::*;
use crate::error::AppError;
use crate::format;

use super::webhooks::{WebhooksData, WebhooksTab};

pub(super) type Loaded<T> = Resource<Result<Option<T>, AppError>>;

/// Everything the settings tabs load or do. Created in the page body, never inside a
/// `Suspend`: a resource created while an async view resolves gets its hydration id
/// in a different order on the server and in the browser, and hydration then fails.
/// Each resource only fetches while its tab is shown.
#[derive(Clone, Copy)]
struct SettingsData {
    update: ServerAction<UpdateProduct>,
    delete: ServerAction<DeleteProduct>,
    impact_open: RwSignal<bool>,
    impact: Loaded<ProductDeletionImpact>,
    rotate_verifier: ServerAction<RotateSecretVerifier>,
    oauth: Loaded<ProductOAuth>,
    create_key: ServerAction<CreateApiKey>,
    revoke_key: ServerAction<RevokeApiKey>,
    keys: Loaded<Vec<ApiKeyView>>,
    save_ory: ServerAction<SaveOrySettings>,
    disconnect_ory: ServerAction<DisconnectOry>,
    resync_ory: ServerAction<ResyncOry>,
    ory: Loaded<OrySettingsView>,
    webhooks: WebhooksData,
}

/// Fetch only when `active`.
pub(super) async fn when<T, F>(active: bool, fetch: F) -> Result<Option<T>, AppError>
where
    F: std::future::Future<Output = Result<T, AppError>>,
{
    if active {
        fetch.await.map(Some)
    } else {
        Ok(None)
    }
}

/// `/teams/{team}/products/{product}` → its SSO connections.
#[component]
pub fn ProductHome() -> impl IntoView {
    let params = use_params_map();
    let (team, product) = params.with_untracked(|p| {
        (
            p.get("team").unwrap_or_default(),
            p.get("product").unwrap_or_default(),
        )
    });
    view! { <Redirect path=format!("/teams/{team}/products/{product}/connections") /> }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    General,
    ApiKeys,
    Ory,
    Webhooks,
}

impl Tab {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "general" => Some(Tab::General),
            "api-keys" => Some(Tab::ApiKeys),
            "ory" => Some(Tab::Ory),
            "webhooks" => Some(Tab::Webhooks),
            _ => None,
        }
    }
    fn slug(self) -> &'static str {
        match self {
            Tab::General => "general",
            Tab::ApiKeys => "api-keys",
            Tab::Ory => "ory",
            Tab::Webhooks => "webhooks",
        }
    }
}

#[component]
pub fn ProductSettingsPage() -> impl IntoView {
    let team = use_team();
    let team_id = StoredValue::new(team.id());
    let params = use_params_map();
    let product_id = move || params.with(|p| p.get("product").unwrap_or_default());
    let tab = move || params.with(|p| p.get("tab").and_then(|t| Tab::parse(&t)));
    let update = ServerAction::<UpdateProduct>::new();
    let updated = successes(update.value());
    let product = Resource::new(
        move || (product_id(), updated.get()),
        move |(p, _)| get_product(team_id.get_value(), p),
    );

    let impact_open = RwSignal::new(false);
    let rotate_verifier = ServerAction::<RotateSecretVerifier>::new();
    let create_key = ServerAction::<CreateApiKey>::new();
    let revoke_key = ServerAction::<RevokeApiKey>::new();
    let save_ory = ServerAction::<SaveOrySettings>::new();
    let disconnect_ory = ServerAction::<DisconnectOry>::new();
    let resync_ory = ServerAction::<ResyncOry>::new();
    let resynced = successes(resync_ory.value());
    let (rotated, created, revoked) = (
        successes(rotate_verifier.value()),
        successes(create_key.value()),
        successes(revoke_key.value()),
    );
    let (saved, disconnected) = (
        successes(save_ory.value()),
        successes(disconnect_ory.value()),
    );
    let data = SettingsData {
        update,
        delete: ServerAction::<DeleteProduct>::new(),
        impact_open,
        impact: Resource::new(
            move || {
                (
                    product_id(),
                    tab() == Some(Tab::General) && impact_open.get(),
                )
            },
            move |(p, active)| when(active, product_deletion_impact(team_id.get_value(), p)),
        ),
        rotate_verifier,
        oauth: Resource::new(
            move || (product_id(), tab() == Some(Tab::General), rotated.get()),
            move |(p, active, _)| when(active, product_oauth(team_id.get_value(), p)),
        ),
        create_key,
        revoke_key,
        keys: Resource::new(
            move || {
                (
                    product_id(),
                    tab() == Some(Tab::ApiKeys),
                    created.get(),
                    revoked.get(),
                )
            },
            move |(p, active, _, _)| when(active, list_api_keys(team_id.get_value(), p)),
        ),
        save_ory,
        disconnect_ory,
        resync_ory,
        ory: Resource::new(
            move || {
                (
                    product_id(),
                    tab() == Some(Tab::Ory),
                    saved.get(),
                    disconnected.get(),
                    resynced.get(),
                )
            },
            move |(p, active, _, _, _)| when(active, get_ory_settings(team_id.get_value(), p)),
        ),
        webhooks: WebhooksData::new(
            team_id,
            Signal::derive(product_id),
            Signal::derive(move || tab() == Some(Tab::Webhooks)),
        ),
    };

    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || {
                Suspend::new(async move {
                    let product = match product.await {
                        Ok(p) => p,
                        Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                    };
                    let Some(current) = tab() else {
                        return view! { <crate::pages::NotFoundPage /> }.into_any();
                    };
                    view! {
                        <ProductHeader product=product.clone() active=current.slug() />
                        <div class="mt-6">
                            <ReadOnlyNote />
                            {match current {
                                Tab::General => view! { <GeneralTab product=product.clone() data=data /> }.into_any(),
                                Tab::ApiKeys => view! { <ApiKeysTab product=product.clone() data=data /> }.into_any(),
                                Tab::Ory => view! { <OryTab product=product.clone() data=data /> }.into_any(),
                                Tab::Webhooks => view! { <WebhooksTab product=product.clone() data=data.webhooks /> }.into_any(),
                            }}
                        </div>
                    }
                    .into_any()
                })
            }}
        </Suspense>
    }
}

#[component]
fn GeneralTab(product: ProductDetail, data: SettingsData) -> impl IntoView {
    let update = data.update;
    let team = use_team();
    let writable = !team.read_only();
    let value = update.value();
    let saved = Signal::derive(move || {
        value.with(|v| matches!(v, Some(Ok(_))).then(|| "Saved.".to_string()))
    });
    let lines = product.redirect_urls.join("\n");
    let default_url = product.default_redirect_url.clone().unwrap_or_default();
    let (team_id, product_id) = (product.team_id.clone(), product.id.clone());
    let (name, description) = (product.name.clone(), product.description.clone());

    // Live check of the redirect list, as the user types.
    let (urls_text, set_urls_text) = signal(lines.clone());
    let (default_text, set_default_text) = signal(default_url.clone());
    let urls_check =
        Signal::derive(move || RedirectUrlList::parse(&urls_text.get(), &default_text.get()).err());
    let urls_message = live_field_error(value, urls_check, "redirect_urls");
    let default_message = live_field_error(value, urls_check, "default_redirect_url");

    view! {
        <ActionForm action=update attr:class="max-w-2xl space-y-5">
            <input type="hidden" name="team" value=team_id />
            <input type="hidden" name="product" value=product_id />
            <div>
                <label class=LABEL for="name">"Name"</label>
                <input class=INPUT id="name" name="name" value=name required maxlength="80" disabled=!writable />
                <FieldMessage message=field_error(value, "name") id="name-error" />
            </div>
            <div>
                <label class=LABEL for="description">"Description"</label>
                <textarea class=INPUT id="description" name="description" rows="2" maxlength="500" disabled=!writable prop:value=description></textarea>
                <FieldMessage message=field_error(value, "description") id="description-error" />
            </div>
            <div>
                <label class=LABEL for="redirect_urls">"Allowed redirect URLs"</label>
                <p class="text-xs text-slate-500">"One per line, matched exactly. https only, except http://localhost for development."</p>
                <textarea
                    class=format!("{INPUT} font-mono")
                    id="redirect_urls"
                    name="redirect_urls"
                    rows="4"
                    disabled=!writable
                    prop:value=lines
                    on:input=move |ev| set_urls_text.set(event_target_value(&ev))
                ></textarea>
                <FieldMessage message=urls_message id="redirect-urls-error" />
            </div>
            <div>
                <label class=LABEL for="default_redirect_url">"Default redirect URL"</label>
                <input
                    class=format!("{INPUT} font-mono")
                    id="default_redirect_url"
                    name="default_redirect_url"
                    value=default_url
                    disabled=!writable
                    on:input=move |ev| set_default_text.set(event_target_value(&ev))
                />
                <FieldMessage message=default_message id="default-redirect-url-error" />
            </div>
            <ErrorBox message=form_error(value, &["name", "description", "redirect_urls", "default_redirect_url"]) />
            <SuccessBox message=saved />
            {writable.then(|| view! {
                <button type="submit" class=BUTTON disabled=move || update.pending().get()>"Save changes"</button>
            })}
        </ActionForm>
        <OAuthPanel team=product.team_id.clone() product=product.id.clone() info=data.oauth rotate=data.rotate_verifier />
        {writable.then(|| view! { <DangerZone product=product data=data /> })}
    }
}

#[component]
fn DangerZone(product: ProductDetail, data: SettingsData) -> impl IntoView {
    let open = data.impact_open;
    let set_open = move |v: bool| open.set(v);
    let delete = data.delete;
    let impact = data.impact;
    let team_id = StoredValue::new(product.team_id.clone());
    let product_id = StoredValue::new(product.id.clone());
    let name = StoredValue::new(product.name.clone());
    view! {
        <section class="mt-12 max-w-2xl rounded-lg border border-red-200 bg-white p-6">
            <h2 class="text-lg font-semibold text-red-700">"Delete this product"</h2>
            <Show
                when=move || open.get()
                fallback=move || view! {
                    <button type="button" class=format!("{BUTTON_DANGER} mt-3") on:click=move |_| set_open(true)>"Delete product…"</button>
                }
            >
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let what = match impact.await {
                            Ok(Some(i)) => {
                                let mut parts = vec![
                                    format!("the product “{}”", i.product_name),
                                    format::plural(i.api_keys, "API key", "API keys"),
                                    format::plural(i.connections, "SSO connection", "SSO connections"),
                                ];
                                if i.ory_connected {
                                    parts.push("its Ory Integration settings".to_string());
                                }
                                parts.join(", ")
                            }
                            _ => "this product and everything under it".to_string(),
                        };
                        view! {
                            <p class="mt-2 text-sm text-slate-700" data-testid="delete-impact">"This permanently deletes " {what} ". Apps using this product ID will stop being able to sign users in."</p>
                        }
                    })}
                </Suspense>
                <ActionForm action=delete attr:class="mt-4 space-y-3">
                    <input type="hidden" name="team" value=team_id.get_value() />
                    <input type="hidden" name="product" value=product_id.get_value() />
                    <label class=LABEL for="confirm_name">"Type " <strong>{name.get_value()}</strong> " to confirm"</label>
                    <input class=INPUT id="confirm_name" name="confirm_name" autocomplete="off" />
                    <FieldMessage message=field_error(delete.value(), "confirm_name") id="confirm-error" />
                    <ErrorBox message=form_error(delete.value(), &["confirm_name"]) />
                    <div class="flex gap-2">
                        <button type="submit" class=BUTTON_DANGER>"Delete permanently"</button>
                        <button type="button" class=BUTTON_SECONDARY on:click=move |_| set_open(false)>"Cancel"</button>
                    </div>
                </ActionForm>
            </Show>
        </section>
    }
}

#[component]
fn ApiKeysTab(product: ProductDetail, data: SettingsData) -> impl IntoView {
    let team = use_team();
    let writable = !team.read_only();
    let (create, revoke, keys) = (data.create_key, data.revoke_key, data.keys);
    let team_id = StoredValue::new(product.team_id.clone());
    let product_id = StoredValue::new(product.id.clone());
    let value = create.value();
    view! {
        <p class="max-w-2xl text-sm text-slate-600">
            "API keys authenticate calls to the admin API (" <code>"/api/v1/sso"</code> ") for this product: "
            <code>"Authorization: Api-Key <key>"</code> ". Gatehouse keeps only a hash: copy a new key when it is shown."
        </p>
        {writable.then(|| view! {
            <ActionForm action=create attr:class="mt-4 flex max-w-2xl items-end gap-3">
                <input type="hidden" name="team" value=team_id.get_value() />
                <input type="hidden" name="product" value=product_id.get_value() />
                <div class="flex-1">
                    <label class=LABEL for="key-name">"Key name"</label>
                    <input class=INPUT id="key-name" name="name" placeholder="e.g. production" required maxlength="80" />
                </div>
                <button type="submit" class=BUTTON>"Create key"</button>
            </ActionForm>
        })}
        <FieldMessage message=field_error(value, "name") id="key-name-error" />
        <ErrorBox message=form_error(value, &["name"]) />
        {move || value.get().and_then(Result::ok).map(|created| {
            let secret = created.secret.clone();
            view! {
                <div class="mt-4 max-w-2xl rounded-md border border-green-200 bg-green-50 p-4 text-sm" data-testid="new-api-key">
                    <p class="font-medium text-green-900">"Copy this key now. You will not see it again."</p>
                    <div class="mt-2 flex items-center gap-2">
                        <code class="break-all rounded bg-white px-2 py-1 text-xs" data-testid="api-key-secret">{secret.clone()}</code>
                        <CopyButton text=secret />
                    </div>
                </div>
            }
        })}
        <ErrorBox message=form_error(revoke.value(), &[]) />
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match keys.await {
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Ok(Some(list)) if list.is_empty() => view! { <p class="mt-6 text-sm text-slate-500">"No API keys yet."</p> }.into_any(),
                    Ok(Some(list)) => view! {
                        <table class="mt-6 w-full max-w-4xl overflow-hidden rounded-lg border border-slate-200 bg-white text-sm" data-testid="api-keys">
                            <thead class="bg-slate-50 text-left text-slate-600">
                                <tr><th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"Key"</th><th class="px-4 py-2">"Created"</th><th class="px-4 py-2">"Last used"</th><th></th></tr>
                            </thead>
                            <tbody>
                                {list.into_iter().map(|k| {
                                    let key_id = k.id.clone();
                                    let status = match (&k.revoked_at, writable) {
                                        (Some(at), _) => view! { <span class="text-xs text-slate-500">"revoked " {format::date(at)}</span> }.into_any(),
                                        (None, true) => view! {
                                            <ActionForm action=revoke>
                                                <input type="hidden" name="team" value=team_id.get_value() />
                                                <input type="hidden" name="product" value=product_id.get_value() />
                                                <input type="hidden" name="key" value=key_id />
                                                <button type="submit" class="text-sm text-red-600 hover:underline">"Revoke"</button>
                                            </ActionForm>
                                        }.into_any(),
                                        (None, false) => ().into_any(),
                                    };
                                    view! {
                                        <tr class="border-t border-slate-100">
                                            <td class="px-4 py-2">{k.name.clone()}</td>
                                            <td class="px-4 py-2"><code class="text-xs">{k.hint.clone()}</code></td>
                                            <td class="px-4 py-2">{format::date_time(&k.created_at)}</td>
                                            <td class="px-4 py-2">{k.last_used_at.as_ref().map(format::date_time).unwrap_or_else(|| "never".into())}</td>
                                            <td class="px-4 py-2 text-right">{status}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn OryTab(product: ProductDetail, data: SettingsData) -> impl IntoView {
    let team = use_team();
    let writable = !team.read_only();
    let (save, disconnect, settings) = (data.save_ory, data.disconnect_ory, data.ory);
    let resync = data.resync_ory;
    let (confirm_disconnect, set_confirm_disconnect) = signal(false);
    let team_id = StoredValue::new(product.team_id.clone());
    let product_id = StoredValue::new(product.id.clone());
    let (replacing, set_replacing) = signal(false);
    // A successful save closes the form again.
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            set_replacing.set(false);
        }
    });
    let value = save.value();

    view! {
        <div class="max-w-2xl">
            <p class="text-sm text-slate-600">
                "Connect an Ory Network project. Gatehouse then mirrors every SSO connection of this product into it, so users
                 who type their work email on the Ory login page get “Sign in with SSO”."
            </p>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let current: OrySettingsView = match settings.await {
                        Ok(Some(s)) => s,
                        Ok(None) => return ().into_any(),
                        Err(e) => return view! { <ErrorPanel error=e /> }.into_any(),
                    };
                    let connected = current.connected;
                    let project_id_value = StoredValue::new(current.project_id.clone().unwrap_or_default());
                    let summary = connected.then(|| view! {
                        <dl class="mt-6 grid grid-cols-3 gap-x-4 gap-y-2 rounded-lg border border-slate-200 bg-white p-5 text-sm" data-testid="ory-connected">
                            <dt class="text-slate-500">"Project"</dt>
                            <dd class="col-span-2 font-medium" data-testid="ory-project-name">{current.project_name.clone()}</dd>
                            <dt class="text-slate-500">"Slug"</dt>
                            <dd class="col-span-2"><code data-testid="ory-project-slug">{current.project_slug.clone()}</code></dd>
                            <dt class="text-slate-500">"Project ID"</dt>
                            <dd class="col-span-2"><code class="text-xs">{current.project_id.clone()}</code></dd>
                            <dt class="text-slate-500">"Token"</dt>
                            <dd class="col-span-2"><code data-testid="ory-token-hint">{current.token_hint.clone()}</code></dd>
                            <dt class="text-slate-500">"Verified"</dt>
                            <dd class="col-span-2">{current.verified_at.as_ref().map(format::date_time)}</dd>
                            <dt class="text-slate-500">"Connections"</dt>
                            <dd class="col-span-2" data-testid="ory-sync-counts">
                                {format!("{} synced, {} pending, {} failed", current.sync.synced, current.sync.pending, current.sync.failed)}
                                {(current.sync.drifted > 0).then(|| format!(", {} differ in Ory", current.sync.drifted))}
                            </dd>
                            <dt class="text-slate-500">"Last drift check"</dt>
                            <dd class="col-span-2">{current.sync.last_check.as_ref().map(format::date_time).unwrap_or_else(|| "not yet".into())}</dd>
                            {current.oidc_enabled_at.as_ref().map(|at| view! {
                                <dt class="text-slate-500">"Sign in with SSO"</dt>
                                <dd class="col-span-2" data-testid="ory-oidc-enabled">
                                    "Gatehouse switched on the project's OpenID Connect sign-in method on " {format::date_time(at)}
                                    " (it was off), so Ory's login page offers SSO. Disconnecting with clean-up switches it off again."
                                </dd>
                            })}
                        </dl>
                    });
                    let drift = (!current.sync.drift.is_empty()).then(|| view! {
                        <div class="mt-4 rounded border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900" data-testid="ory-drift">
                            <p class="font-medium">"Ory differs from what Gatehouse expects. Re-sync all repairs it."</p>
                            <ul class="mt-2 space-y-1">
                                {current.sync.drift.iter().map(|(name, diffs)| view! {
                                    <li><strong>{name.clone()}</strong>": " {diffs.join("; ")}</li>
                                }).collect_view()}
                            </ul>
                        </div>
                    });
                    let controls = writable.then(|| view! {
                        <Show
                            when=move || !connected || replacing.get()
                            fallback=move || view! {
                                <div class="mt-4 flex flex-wrap gap-2">
                                    <ActionForm action=resync>
                                        <input type="hidden" name="team" value=team_id.get_value() />
                                        <input type="hidden" name="product" value=product_id.get_value() />
                                        <button type="submit" class=BUTTON data-testid="ory-resync" disabled=move || resync.pending().get()>
                                            {move || if resync.pending().get() { "Checking Ory…" } else { "Re-sync all" }}
                                        </button>
                                    </ActionForm>
                                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| set_replacing.set(true)>"Replace token"</button>
                                    <button type="button" class=BUTTON_DANGER on:click=move |_| set_confirm_disconnect.set(true)>"Disconnect…"</button>
                                </div>
                                <Show when=move || confirm_disconnect.get()>
                                    <div class="mt-4 rounded-md border border-red-200 bg-red-50 p-4 text-sm" data-testid="confirm-disconnect">
                                        <p class="text-red-900">"Disconnect Ory. What should happen to the organizations and SSO providers Gatehouse created in the Ory project?"</p>
                                        <div class="mt-3 flex flex-wrap gap-2">
                                            {[
                                                ("remove", BUTTON_DANGER, "Remove them from Ory, then disconnect"),
                                                ("leave", BUTTON_SECONDARY, "Leave them in Ory (sign-ins through Ory keep working)"),
                                            ].into_iter().map(|(cleanup, class, label)| view! {
                                                <ActionForm action=disconnect>
                                                    <input type="hidden" name="team" value=team_id.get_value() />
                                                    <input type="hidden" name="product" value=product_id.get_value() />
                                                    <input type="hidden" name="cleanup" value=cleanup />
                                                    <button type="submit" class=class data-testid=format!("disconnect-{cleanup}")>{label}</button>
                                                </ActionForm>
                                            }).collect_view()}
                                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| set_confirm_disconnect.set(false)>"Cancel"</button>
                                        </div>
                                    </div>
                                </Show>
                            }
                        >
                            <ActionForm action=save attr:class="mt-6 space-y-4" attr:data-testid="ory-form">
                                <input type="hidden" name="team" value=team_id.get_value() />
                                <input type="hidden" name="product" value=product_id.get_value() />
                                <div>
                                    <label class=LABEL for="ory-token">"Ory session token or workspace API key"</label>
                                    <input class=format!("{INPUT} font-mono") id="ory-token" name="token" type="password" autocomplete="off" placeholder="ory_st_… or ory_wak_…" />
                                    <p class="mt-1 text-xs text-slate-500">"Stored encrypted. It is never shown again."</p>
                                    <FieldMessage message=field_error(value, "token") id="ory-token-error" />
                                </div>
                                <div>
                                    <label class=LABEL for="ory-project">"Ory project ID"</label>
                                    <input class=format!("{INPUT} font-mono") id="ory-project" name="project_id" value=project_id_value.get_value() placeholder="e.g. 3f1e…" />
                                    <FieldMessage message=field_error(value, "project_id") id="ory-project-error" />
                                </div>
                                <ErrorBox message=form_error(value, &["token", "project_id"]) />
                                <button type="submit" class=BUTTON disabled=move || save.pending().get()>
                                    {move || if save.pending().get() { "Checking with Ory…" } else { "Save" }}
                                </button>
                            </ActionForm>
                        </Show>
                    });
                    view! { {summary} {drift} {controls} }.into_any()
                })}
            </Transition>
            <SuccessBox message=Signal::derive(move || value.with(|v| match v {
                Some(Ok(s)) => Some(format!(
                    "Connected to Ory project “{}” ({}). {} SSO connection(s) queued for mirroring.",
                    s.project_name.clone().unwrap_or_default(),
                    s.project_slug.clone().unwrap_or_default(),
                    s.queued.unwrap_or(0)
                )),
                _ => None,
            })) />
            <SuccessBox message=Signal::derive(move || resync.value().with(|v| match v {
                Some(Ok(s)) => Some(format!("{} connection(s) queued for re-sync with Ory.", s.queued.unwrap_or(0))),
                _ => None,
            })) />
            <ErrorBox message=form_error(resync.value(), &[]) />
            <ErrorBox message=form_error(disconnect.value(), &[]) />
        </div>
    }
}
