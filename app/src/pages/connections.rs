use gatehouse_core::views::{ConnectionDetail, OrySyncView, ProductDetail, SetupLinkView};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::connections::{
    get_connection, list_connections, product_oauth, CreateConnection, DeleteConnection,
    RetryOrySync, RotateConnectionSecret, SetConnectionEnabled, UpdateConnection,
};
use crate::api::products::get_product;
use crate::api::setup::{list_setup_links, CreateSetupLink, RegenerateSetupLink, RevokeSetupLink};
use crate::components::*;
use crate::error::AppError;
use crate::format;

fn params() -> (String, String, String) {
    let p = use_params_map();
    p.with_untracked(|m| {
        (
            m.get("team").unwrap_or_default(),
            m.get("product").unwrap_or_default(),
            m.get("connection").unwrap_or_default(),
        )
    })
}

/// Loads the product and renders its header, then `body`.
#[component]
fn ProductPage<F, V>(active: &'static str, body: F) -> impl IntoView
where
    F: Fn(ProductDetail) -> V + Send + Sync + Clone + 'static,
    V: IntoView + 'static,
{
    let (team, product, _) = params();
    let product = Resource::new(
        move || (team.clone(), product.clone()),
        |(t, p)| get_product(t, p),
    );
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {move || {
                let body = body.clone();
                Suspend::new(async move {
                    match product.await {
                        Ok(p) => view! {
                            <ProductHeader product=p.clone() active=active />
                            <div class="mt-6"><ReadOnlyNote />{body(p)}</div>
                        }.into_any(),
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

/// The SP values a customer's IT admin pastes into their IdP.
#[component]
fn SpPanel(sp: gatehouse_core::views::SpInfo, #[prop(into)] title: String) -> impl IntoView {
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-5" data-testid="sp-info">
            <h2 class="text-sm font-semibold text-slate-800">{title}</h2>
            <dl class="mt-2 divide-y divide-slate-100">
                <CopyField label="ACS URL (Single sign-on URL / Reply URL)" value=sp.acs_url.clone() testid="acs-url" />
                <CopyField label="SP Entity ID (Audience URI / Identifier)" value=sp.entity_id.clone() testid="sp-entity-id" />
                <div class="py-2">
                    <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">"SP metadata"</dt>
                    <dd class="mt-1 flex items-center gap-3 text-sm">
                        <a class="text-indigo-600 hover:underline" href=sp.metadata_url.clone() download="gatehouse-sp-metadata.xml" data-testid="sp-metadata-download">"Download XML"</a>
                        <CopyButton text=sp.metadata_url.clone() label="Copy URL" />
                    </dd>
                </div>
            </dl>
        </section>
    }
}

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let (team, product_id, _) = params();
    let writable = !use_team().read_only();
    let list = {
        let (t, p) = (team.clone(), product_id.clone());
        Resource::new(|| (), move |_| list_connections(t.clone(), p.clone()))
    };
    let base = format!("/teams/{team}/products/{product_id}/connections");
    let create_link = ServerAction::<CreateSetupLink>::new();
    let revoke_link = ServerAction::<RevokeSetupLink>::new();
    let regenerate_link = ServerAction::<RegenerateSetupLink>::new();
    let (created, revoked, regenerated) = (
        successes(create_link.value()),
        successes(revoke_link.value()),
        successes(regenerate_link.value()),
    );
    let links = {
        let (t, p) = (team.clone(), product_id.clone());
        Resource::new(
            move || (created.get(), revoked.get(), regenerated.get()),
            move |_| list_setup_links(t.clone(), p.clone()),
        )
    };
    let setup = SetupLinkActions {
        create: create_link,
        revoke: revoke_link,
        regenerate: regenerate_link,
        links,
    };
    view! {
        <ProductPage active="connections" body=move |p: ProductDetail| {
            let base = base.clone();
            view! {
                <div class="flex items-center justify-between">
                    <p class="text-sm text-slate-600">"One connection per customer (tenant) and identity provider."</p>
                    {writable.then(|| view! { <a href=format!("{base}/new") class=BUTTON data-testid="new-connection">"New connection"</a> })}
                </div>
                <Transition fallback=|| ()>
                    {
                        let base = base.clone();
                        let product_name = p.name.clone();
                        move || {
                            let base = base.clone();
                            let product_name = product_name.clone();
                            Suspend::new(async move {
                                match list.await {
                                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                                    Ok(list) if list.is_empty() => view! {
                                        <p class="mt-6 rounded-lg border border-dashed border-slate-300 bg-white p-8 text-center text-sm text-slate-600" data-testid="no-connections">
                                            "No SSO connections for " {product_name} " yet."
                                        </p>
                                    }.into_any(),
                                    Ok(list) => {
                                        let mirrored = list.iter().any(|c| c.ory_state.is_some());
                                        view! {
                                        <table class="mt-6 w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm" data-testid="connections">
                                            <thead class="bg-slate-50 text-left text-slate-600">
                                                <tr>
                                                    <th class="px-4 py-2">"Tenant"</th><th class="px-4 py-2">"Name"</th><th class="px-4 py-2">"IdP entity ID"</th><th class="px-4 py-2">"Status"</th>
                                                    {mirrored.then(|| view! { <th class="px-4 py-2">"Ory"</th> })}
                                                    <th class="px-4 py-2">"Created"</th>
                                                </tr>
                                            </thead>
                                            <tbody>
                                                {list.into_iter().map(|c| {
                                                    let href = format!("{base}/{}", c.id);
                                                    view! {
                                                        <tr class="border-t border-slate-100">
                                                            <td class="px-4 py-2 font-medium"><a class="text-indigo-700 hover:underline" href=href.clone()>{c.tenant.clone()}</a></td>
                                                            <td class="px-4 py-2"><a class="hover:underline" href=href>{c.name.clone()}</a></td>
                                                            <td class="max-w-xs truncate px-4 py-2 font-mono text-xs">{c.idp_entity_id.clone()}</td>
                                                            <td class="px-4 py-2"><StatusBadge enabled=c.enabled /></td>
                                                            {mirrored.then(|| view! {
                                                                <td class="px-4 py-2">{c.ory_state.clone().map(|s| view! { <OryStateBadge state=s /> })}</td>
                                                            })}
                                                            <td class="px-4 py-2 text-slate-600">
                                                                {format::date(&c.created_at)}
                                                                {(c.source == "setup_link").then(|| view! { <span class="ml-2 rounded bg-sky-100 px-1.5 py-0.5 text-xs text-sky-800">"via setup link"</span> })}
                                                                {(c.source == "api").then(|| view! { <span class="ml-2 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-700">"via API"</span> })}
                                                            </td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    }.into_any()
                                    }
                                }
                            })
                        }
                    }
                </Transition>
                <SetupLinksPanel setup=setup team=p.team_id.clone() product=p.id.clone() writable=writable />
            }
        } />
    }
}

/// The setup-link actions and list, created in the page body (see `SettingsData`).
#[derive(Clone, Copy)]
struct SetupLinkActions {
    create: ServerAction<CreateSetupLink>,
    revoke: ServerAction<RevokeSetupLink>,
    regenerate: ServerAction<RegenerateSetupLink>,
    links: Resource<Result<Vec<SetupLinkView>, AppError>>,
}

/// Setup links: let a customer's IT admin configure their own connection.
#[component]
fn SetupLinksPanel(
    setup: SetupLinkActions,
    team: String,
    product: String,
    writable: bool,
) -> impl IntoView {
    let (team, product) = (StoredValue::new(team), StoredValue::new(product));
    let value = setup.create.value();
    // the newest link made here (created or regenerated), shown once
    let fresh = Signal::derive(move || {
        let regenerated = setup.regenerate.value().get().and_then(Result::ok);
        setup
            .create
            .value()
            .get()
            .and_then(Result::ok)
            .or(regenerated)
    });
    view! {
        <section class="mt-10" data-testid="setup-links">
            <h2 class="text-base font-semibold text-slate-800">"Setup links"</h2>
            <p class="mt-1 text-sm text-slate-600">"Send a customer's IT admin a link: they pick their identity provider, follow the steps, and save their own connection, without an account. A link only reaches its own tenant."</p>
            {writable.then(|| view! {
                <ActionForm action=setup.create attr:class="mt-4 flex flex-wrap items-end gap-3" attr:data-testid="setup-link-form">
                    <input type="hidden" name="team" value=team.get_value() />
                    <input type="hidden" name="product" value=product.get_value() />
                    <div>
                        <label class=LABEL for="setup-tenant">"Tenant"</label>
                        <input class=INPUT id="setup-tenant" name="tenant" placeholder="acme.com" required />
                        <FieldMessage message=field_error(value, "tenant") id="setup-tenant-error" />
                    </div>
                    <div>
                        <label class=LABEL for="setup-name">"Name (optional)"</label>
                        <input class=INPUT id="setup-name" name="name" placeholder="Acme" />
                    </div>
                    <div>
                        <label class=LABEL for="setup-expiry">"Valid for (days)"</label>
                        <input class=INPUT id="setup-expiry" name="expiry_days" type="number" min="1" max="30" value="3" />
                        <FieldMessage message=field_error(value, "expiry_days") id="setup-expiry-error" />
                    </div>
                    <button type="submit" class=BUTTON data-testid="create-setup-link">"Create setup link"</button>
                </ActionForm>
            })}
            <ErrorBox message=form_error(value, &["tenant", "expiry_days"]) />
            {move || fresh.get().map(|c| view! {
                <div class="mt-4 rounded-md border border-green-200 bg-green-50 p-4 text-sm" data-testid="setup-link-created">
                    <p class="text-green-900">"Setup link for " <strong>{c.link.tenant.clone()}</strong> ". Copy it now: it is not shown again."</p>
                    <div class="mt-2 flex items-center gap-2">
                        <code class="break-all rounded bg-white px-2 py-1 text-xs" data-testid="setup-link-url">{c.url.clone()}</code>
                        <CopyButton text=c.url.clone() />
                    </div>
                </div>
            })}
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match setup.links.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(list) if list.is_empty() => ().into_any(),
                        Ok(list) => view! {
                            <table class="mt-4 w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm" data-testid="setup-link-list">
                                <thead class="bg-slate-50 text-left text-slate-600">
                                    <tr><th class="px-4 py-2">"Tenant"</th><th class="px-4 py-2">"Created"</th><th class="px-4 py-2">"Expires"</th><th class="px-4 py-2">"Used"</th><th class="px-4 py-2">"Status"</th><th class="px-4 py-2"></th></tr>
                                </thead>
                                <tbody>
                                    {list.into_iter().map(|l| {
                                        let active = l.status == "active";
                                        let id = StoredValue::new(l.id.clone());
                                        view! {
                                            <tr class="border-t border-slate-100" data-testid="setup-link-row" data-status=l.status.clone()>
                                                <td class="px-4 py-2 font-medium">{l.tenant.clone()} <span class="text-slate-500">{l.name.clone()}</span></td>
                                                <td class="px-4 py-2 text-slate-600">{format::date_time(&l.created_at)}</td>
                                                <td class="px-4 py-2 text-slate-600">{format::date_time(&l.expires_at)}</td>
                                                <td class="px-4 py-2 text-slate-600">{l.used_at.as_ref().map(format::date_time).unwrap_or_else(|| "not yet".into())}</td>
                                                <td class="px-4 py-2">{l.status.clone()}</td>
                                                <td class="px-4 py-2">
                                                    {(writable && active).then(move || view! {
                                                        <div class="flex gap-2">
                                                            <ActionForm action=setup.regenerate>
                                                                <input type="hidden" name="team" value=team.get_value() />
                                                                <input type="hidden" name="product" value=product.get_value() />
                                                                <input type="hidden" name="link" value=id.get_value() />
                                                                <button type="submit" class=BUTTON_SECONDARY data-testid="regenerate-setup-link">"Regenerate"</button>
                                                            </ActionForm>
                                                            <ActionForm action=setup.revoke>
                                                                <input type="hidden" name="team" value=team.get_value() />
                                                                <input type="hidden" name="product" value=product.get_value() />
                                                                <input type="hidden" name="link" value=id.get_value() />
                                                                <button type="submit" class=BUTTON_DANGER data-testid="revoke-setup-link">"Revoke"</button>
                                                            </ActionForm>
                                                        </div>
                                                    })}
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// `synced`, `pending` or `failed`.
#[component]
fn OryStateBadge(#[prop(into)] state: String) -> impl IntoView {
    let class = match state.as_str() {
        "synced" => "rounded-full bg-green-100 px-2 py-0.5 text-xs font-medium text-green-800",
        "failed" => "rounded-full bg-red-100 px-2 py-0.5 text-xs font-medium text-red-800",
        _ => "rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-800",
    };
    let label = match state.as_str() {
        "synced" => "Synced",
        "failed" => "Failed",
        _ => "Pending",
    };
    view! { <span class=class data-testid="ory-state" data-state=state.clone()>{label}</span> }
}

#[component]
fn StatusBadge(enabled: bool) -> impl IntoView {
    if enabled {
        view! { <span class="rounded-full bg-green-100 px-2 py-0.5 text-xs font-medium text-green-800" data-testid="status">"Active"</span> }
    } else {
        view! { <span class="rounded-full bg-slate-200 px-2 py-0.5 text-xs font-medium text-slate-700" data-testid="status">"Disabled"</span> }
    }
}

/// The IdP inputs: SAML metadata (paste XML, upload a file, or give a URL), or an
/// OpenID Connect IdP (issuer or discovery URL, client id and secret).
#[component]
pub fn MetadataInput(
    #[prop(into)] error_xml: Signal<Option<String>>,
    #[prop(into)] error_url: Signal<Option<String>>,
    /// Errors of `oidc_discovery_url`, `oidc_client_id`, `oidc_client_secret`.
    #[prop(into)]
    error_oidc: Signal<Option<String>>,
    optional: bool,
    /// Where the IdP sends users back (to register there), when known.
    #[prop(into, optional)]
    oidc_redirect_uri: Signal<Option<String>>,
    /// `saml` or `oidc`: what the form starts with.
    #[prop(optional)]
    protocol: Option<&'static str>,
) -> impl IntoView {
    let start = if protocol == Some("oidc") {
        "oidc"
    } else {
        "xml"
    };
    let (source, set_source) = signal(start.to_string());
    let (xml, set_xml) = signal(String::new());
    let (file_note, set_file_note) = signal(None::<String>);
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                let name = file.name();
                leptos::task::spawn_local(async move {
                    match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                        Ok(text) => {
                            set_xml.set(text.as_string().unwrap_or_default());
                            set_file_note.set(Some(format!("Loaded {name}.")));
                        }
                        Err(_) => set_file_note.set(Some(format!("Could not read {name}."))),
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (&ev, &set_xml, &set_file_note);
        }
    };
    let choice = move |value: &'static str, label: &'static str| {
        view! {
            <label class="flex items-center gap-2 text-sm">
                <input type="radio" name="metadata_source" value=value prop:checked=move || source.get() == value
                    on:change=move |_| set_source.set(value.to_string()) />
                {label}
            </label>
        }
    };
    view! {
        <fieldset>
            <legend class=LABEL>"Identity provider" {optional.then_some(" (leave empty to keep the current settings)")}</legend>
            <div class="mt-2 flex flex-wrap gap-5">
                {choice("xml", "SAML: paste XML")}
                {choice("file", "SAML: upload file")}
                {choice("url", "SAML: metadata URL")}
                {choice("oidc", "OpenID Connect")}
            </div>
            <div class="mt-3 space-y-3" class:hidden=move || source.get() != "oidc" data-testid="oidc-fields">
                {move || oidc_redirect_uri.get().map(|uri| view! {
                    <dl><CopyField label="Redirect URI to register at the IdP" value=uri testid="oidc-redirect-uri" /></dl>
                })}
                <div>
                    <label class=LABEL for="oidc_discovery_url">"Issuer or discovery URL"</label>
                    <input class=INPUT id="oidc_discovery_url" name="oidc_discovery_url" type="url" placeholder="https://idp.example.com" data-testid="oidc-discovery-url" />
                </div>
                <div>
                    <label class=LABEL for="oidc_client_id">"Client ID"</label>
                    <input class=INPUT id="oidc_client_id" name="oidc_client_id" autocomplete="off" data-testid="oidc-client-id" />
                </div>
                <div>
                    <label class=LABEL for="oidc_client_secret">"Client secret" {optional.then_some(" (leave empty to keep it)")}</label>
                    <input class=INPUT id="oidc_client_secret" name="oidc_client_secret" type="password" autocomplete="new-password" data-testid="oidc-client-secret" />
                </div>
                <p class="text-xs text-slate-500">"The discovery document and signing keys are fetched and checked when you save (https only)."</p>
                <FieldMessage message=error_oidc id="oidc-error" />
            </div>
            <div class="mt-3" class:hidden=move || source.get() == "url" || source.get() == "oidc">
                <div class:hidden=move || source.get() != "file">
                    <input type="file" accept=".xml,application/xml,text/xml" class="text-sm" data-testid="metadata-file" on:change=on_file />
                    <p class="mt-1 text-xs text-slate-600">{move || file_note.get()}</p>
                </div>
                <textarea class=format!("{INPUT} font-mono text-xs") name="metadata_xml" rows="6" placeholder="<EntityDescriptor …>" data-testid="metadata-xml"
                    prop:value=move || xml.get() on:input=move |ev| set_xml.set(event_target_value(&ev))></textarea>
                <FieldMessage message=error_xml id="metadata-error" />
            </div>
            <div class="mt-3" class:hidden=move || source.get() != "url">
                <input class=INPUT name="metadata_url" type="url" placeholder="https://idp.example.com/app/metadata.xml" data-testid="metadata-url" />
                <p class="mt-1 text-xs text-slate-500">"Fetched when you save (https only)."</p>
                <FieldMessage message=error_url id="metadata-url-error" />
            </div>
        </fieldset>
    }
}

const CONNECTION_FIELDS: &[&str] = &[
    "tenant",
    "name",
    "description",
    "metadata",
    "metadata_url",
    "oidc_discovery_url",
    "oidc_client_id",
    "oidc_client_secret",
    "redirect_urls",
    "default_redirect_url",
    "email_domains",
];

#[component]
pub fn NewConnectionPage() -> impl IntoView {
    let (team, product_id, _) = params();
    let create = ServerAction::<CreateConnection>::new();
    // Awaited in its own Suspense below: read synchronously inside the page's
    // Suspense, a resource still loading in the browser makes hydration disagree
    // with the server-rendered page (the page then never becomes interactive).
    let oauth = {
        let (t, p) = (team.clone(), product_id.clone());
        Resource::new(move || (t.clone(), p.clone()), |(t, p)| product_oauth(t, p))
    };
    let value = create.value();
    let base = format!("/teams/{team}/products/{product_id}/connections");
    view! {
        <ProductPage active="connections" body=move |_p: ProductDetail| {
            let (team, product_id, base) = (team.clone(), product_id.clone(), base.clone());
            view! {
                <h2 class="text-lg font-semibold">"New SSO connection"</h2>
                <ActionForm action=create attr:class="mt-4 max-w-2xl space-y-5" attr:data-testid="connection-form">
                    <input type="hidden" name="team" value=team.clone() />
                    <input type="hidden" name="product" value=product_id.clone() />
                    <div>
                        <label class=LABEL for="tenant">"Tenant"</label>
                        <input class=INPUT id="tenant" name="tenant" placeholder="acme.com" required />
                        <p class="mt-1 text-xs text-slate-500">"Usually the customer's email domain; your app passes it as " <code>"tenant"</code> "."</p>
                        <FieldMessage message=field_error(value, "tenant") id="tenant-error" />
                    </div>
                    <div>
                        <label class=LABEL for="name">"Name"</label>
                        <input class=INPUT id="name" name="name" placeholder="Acme Okta" maxlength="120" />
                    </div>
                    <div>
                        <label class=LABEL for="description">"Description"</label>
                        <input class=INPUT id="description" name="description" maxlength="500" />
                    </div>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            let reserved = oauth.await.ok();
                            let connection_id = reserved.as_ref().map(|o| o.new_connection_id.clone()).unwrap_or_default();
                            let redirect_uri = reserved.map(|o| o.sp.oidc_redirect_uri);
                            view! {
                                <input type="hidden" name="connection_id" value=connection_id />
                                <MetadataInput error_xml=field_error(value, "metadata") error_url=field_error(value, "metadata_url") error_oidc=first_field_error(value, OIDC_FIELDS) oidc_redirect_uri=Signal::stored(redirect_uri) optional=false />
                            }
                        })}
                    </Suspense>
                    <RedirectFields value=value urls=String::new() default=String::new() />
                    <EmailDomainFields value=value domains=String::new() accept_any=false id_prefix="" />
                    <label class="flex items-center gap-2 text-sm">
                        <input type="checkbox" name="allow_idp_initiated" />
                        "Allow IdP-initiated sign-in (from the IdP's app dashboard; lands on the default redirect URL)"
                    </label>
                    <ErrorBox message=form_error(value, CONNECTION_FIELDS) />
                    <button type="submit" class=BUTTON disabled=move || create.pending().get()>
                        {move || if create.pending().get() { "Checking the metadata…" } else { "Create connection" }}
                    </button>
                </ActionForm>
                {move || value.get().and_then(Result::ok).map(|created| {
                    let href = format!("{base}/{}", created.connection.id);
                    view! {
                        <div class="mt-6 max-w-2xl rounded-md border border-green-200 bg-green-50 p-5 text-sm" data-testid="connection-created">
                            <p class="font-medium text-green-900">"Connection created. Copy the client secret now: you will not see it again."</p>
                            <dl class="mt-2">
                                <CopyField label="client_id" value=created.connection.client_id.clone() testid="client-id" />
                                <CopyField label="client_secret" value=created.client_secret.clone() testid="client-secret" />
                            </dl>
                            <a href=href class="mt-2 inline-block font-medium text-indigo-700 hover:underline" data-testid="open-connection">"Open the connection →"</a>
                        </div>
                    }
                })}
            }
        } />
    }
}

/// The email domains the IdP may vouch for beside the tenant's own, and the opt-out.
#[component]
fn EmailDomainFields<O, V>(
    value: V,
    domains: String,
    accept_any: bool,
    id_prefix: &'static str,
) -> impl IntoView
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Copy + Send + Sync + 'static,
{
    let field = format!("{id_prefix}email_domains");
    view! {
        <div>
            <label class=LABEL for=field.clone()>"More email domains"</label>
            <textarea class=INPUT id=field.clone() name="email_domains" rows="2" placeholder="acme.co.uk" data-testid="email-domains-input">{domains}</textarea>
            <p class="mt-1 text-xs text-slate-500">"The tenant (when it is a domain) is always one. One per line; subdomains must be listed. A sign-in whose email is elsewhere is refused."</p>
            <FieldMessage message=field_error(value, "email_domains") id=format!("{field}-error") />
        </div>
        <label class="flex items-center gap-2 text-sm">
            <input type="checkbox" name="accept_any_email_domain" prop:checked=accept_any data-testid="accept-any-email-domain" />
            "Accept any email domain (not recommended: the IdP could sign in addresses of other organisations; sign-ins then carry email_verified: false)"
        </label>
    }
}

/// Redirect allow-list fields with the live check used on the product form.
#[component]
fn RedirectFields<O, V>(value: V, urls: String, default: String) -> impl IntoView
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Copy + Send + Sync + 'static,
{
    let (urls_text, set_urls_text) = signal(urls.clone());
    let (default_text, set_default_text) = signal(default.clone());
    let check = Signal::derive(move || {
        let (u, d) = (urls_text.get(), default_text.get());
        if u.trim().is_empty() && d.trim().is_empty() {
            return None;
        }
        gatehouse_core::RedirectUrlList::parse(&u, &d).err()
    });
    let urls_msg = live_field_error(value, check, "redirect_urls");
    let default_msg = live_field_error(value, check, "default_redirect_url");
    view! {
        <div>
            <label class=LABEL for="redirect_urls">"Allowed redirect URLs (optional)"</label>
            <p class="text-xs text-slate-500">"One per line. Leave empty to use the product's allow-list."</p>
            <textarea class=format!("{INPUT} font-mono") id="redirect_urls" name="redirect_urls" rows="3"
                prop:value=urls on:input=move |ev| set_urls_text.set(event_target_value(&ev))></textarea>
            <FieldMessage message=urls_msg id="redirect-urls-error" />
        </div>
        <div>
            <label class=LABEL for="default_redirect_url">"Default redirect URL (optional)"</label>
            <input class=format!("{INPUT} font-mono") id="default_redirect_url" name="default_redirect_url" value=default
                on:input=move |ev| set_default_text.set(event_target_value(&ev)) />
            <FieldMessage message=default_msg id="default-redirect-url-error" />
        </div>
    }
}

#[component]
pub fn ConnectionPage() -> impl IntoView {
    let (team, product_id, connection_id) = params();
    let update = ServerAction::<UpdateConnection>::new();
    let toggle = ServerAction::<SetConnectionEnabled>::new();
    let (updated, toggled) = (successes(update.value()), successes(toggle.value()));
    let connection = {
        let (t, p, c) = (team.clone(), product_id.clone(), connection_id.clone());
        Resource::new(
            move || (updated.get(), toggled.get()),
            move |_| get_connection(t.clone(), p.clone(), c.clone()),
        )
    };
    // The Ory sync state has its own resource, polled while it is not synced, so
    // that refreshing it never redraws (and empties) the edit form.
    let retry = ServerAction::<RetryOrySync>::new();
    let retried = successes(retry.value());
    let ory_tick = RwSignal::new(0usize);
    let ory = {
        let (t, p, c) = (team.clone(), product_id.clone(), connection_id.clone());
        Resource::new(
            move || (updated.get(), toggled.get(), retried.get(), ory_tick.get()),
            move |_| {
                let (t, p, c) = (t.clone(), p.clone(), c.clone());
                async move { get_connection(t, p, c).await.map(|d| d.ory) }
            },
        )
    };
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || {
                let settled = ory.get_untracked().is_some_and(|r| {
                    matches!(r, Ok(None)) || matches!(r, Ok(Some(v)) if v.state == "synced")
                });
                if !settled {
                    ory_tick.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_secs(2),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        <ProductPage active="connections" body=move |_p: ProductDetail| {
            view! {
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match connection.await {
                            Ok(c) => view! { <ConnectionView c=c update=update toggle=toggle ory=ory retry=retry /> }.into_any(),
                            Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        } />
    }
}

#[component]
fn ConnectionView(
    c: ConnectionDetail,
    update: ServerAction<UpdateConnection>,
    toggle: ServerAction<SetConnectionEnabled>,
    ory: Resource<Result<Option<OrySyncView>, AppError>>,
    retry: ServerAction<RetryOrySync>,
) -> impl IntoView {
    let team = use_team();
    let writable = !team.read_only();
    let team_id = StoredValue::new(team.id());
    let product_id = StoredValue::new(c.product_id.clone());
    let connection_id = StoredValue::new(c.id.clone());
    let rotate = ServerAction::<RotateConnectionSecret>::new();
    let delete = ServerAction::<DeleteConnection>::new();
    let (confirm_delete, set_confirm_delete) = signal(false);
    let is_oidc = c.protocol == "oidc";
    let oidc_redirect = StoredValue::new(c.sp.oidc_redirect_uri.clone());
    let test_href = format!(
        "/sso-test/start/{}?team={}&product={}",
        c.id,
        team.id(),
        c.product_id
    );
    let value = update.value();
    let saved = Signal::derive(move || {
        value.with(|v| matches!(v, Some(Ok(_))).then(|| "Saved.".to_string()))
    });
    let enabled = c.enabled;
    let tenant = c.tenant.clone();

    view! {
        <div class="flex flex-wrap items-center gap-3">
            <h2 class="text-xl font-semibold" data-testid="connection-title">{c.name.clone()} <span class="ml-2 text-base font-normal text-slate-500">{c.tenant.clone()}</span></h2>
            <StatusBadge enabled=c.enabled />
            <div class="ml-auto flex gap-2">
                <a href=test_href target="_blank" rel="opener" class=BUTTON data-testid="test-connection">"Test connection"</a>
                {writable.then(|| view! {
                    <ActionForm action=toggle>
                        <input type="hidden" name="team" value=team_id.get_value() />
                        <input type="hidden" name="product" value=product_id.get_value() />
                        <input type="hidden" name="connection" value=connection_id.get_value() />
                        <input type="hidden" name="enabled" value=(!enabled).to_string() />
                        <button type="submit" class=BUTTON_SECONDARY data-testid="toggle-enabled">{if enabled { "Disable" } else { "Enable" }}</button>
                    </ActionForm>
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| set_confirm_delete.set(true)>"Delete…"</button>
                })}
            </div>
        </div>
        <Show when=move || confirm_delete.get()>
            <div class="mt-4 rounded-md border border-red-200 bg-red-50 p-4 text-sm" data-testid="confirm-delete">
                <p class="text-red-900">"Delete the connection for " <strong>{tenant.clone()}</strong> "? Its users can no longer sign in through it, and apps using its client_id stop working."</p>
                <ActionForm action=delete attr:class="mt-3 flex gap-2">
                    <input type="hidden" name="team" value=team_id.get_value() />
                    <input type="hidden" name="product" value=product_id.get_value() />
                    <input type="hidden" name="connection" value=connection_id.get_value() />
                    <button type="submit" class=BUTTON_DANGER>"Delete connection"</button>
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| set_confirm_delete.set(false)>"Cancel"</button>
                </ActionForm>
            </div>
        </Show>
        <ErrorBox message=form_error(toggle.value(), &[]) />
        <ErrorBox message=form_error(delete.value(), &[]) />

        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            {if is_oidc {
                view! {
                    <section class="rounded-lg border border-slate-200 bg-white p-5" data-testid="oidc-rp-info">
                        <h2 class="text-sm font-semibold text-slate-800">{format!("For {}'s IT admin: register Gatehouse at the IdP with", c.tenant)}</h2>
                        <dl class="mt-2">
                            <CopyField label="Redirect URI (sign-in redirect / callback URL)" value=c.sp.oidc_redirect_uri.clone() testid="oidc-redirect-uri" />
                        </dl>
                        <p class="text-xs text-slate-500">"Application type: web, authorization code flow with PKCE; scopes openid, email, profile."</p>
                    </section>
                }.into_any()
            } else {
                view! { <SpPanel sp=c.sp.clone() title=format!("For {}'s IT admin: configure the IdP with", c.tenant) /> }.into_any()
            }}
            <section class="rounded-lg border border-slate-200 bg-white p-5">
                <h2 class="text-sm font-semibold text-slate-800">"Your app's OAuth credentials"</h2>
                <dl class="mt-2"><CopyField label="client_id" value=c.client_id.clone() testid="connection-client-id" /></dl>
                <p class="text-xs text-slate-500">"The client secret was shown when the connection was created."</p>
                {writable.then(|| view! {
                    <ActionForm action=rotate attr:class="mt-2">
                        <input type="hidden" name="team" value=team_id.get_value() />
                        <input type="hidden" name="product" value=product_id.get_value() />
                        <input type="hidden" name="connection" value=connection_id.get_value() />
                        <button type="submit" class=BUTTON_SECONDARY>"Rotate client secret"</button>
                    </ActionForm>
                })}
                {move || rotate.value().get().and_then(Result::ok).map(|r| view! {
                    <div class="mt-3 rounded border border-green-200 bg-green-50 p-3 text-sm">
                        <p class="text-green-900">"New secret (the old one no longer works). Copy it now:"</p>
                        <dl><CopyField label="client_secret" value=r.client_secret.clone() testid="rotated-secret" /></dl>
                    </div>
                })}
            </section>
        </div>

        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                match ory.await {
                    Ok(Some(sync)) => view! {
                        <OryPanel sync=sync retry=retry writable=writable team=team_id.get_value() product=product_id.get_value() connection=connection_id.get_value() />
                    }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                }
            })}
        </Transition>

        {c.oidc.clone().map(|o| view! {
            <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5" data-testid="oidc-idp-info">
                <h2 class="text-sm font-semibold text-slate-800">"Identity provider (OpenID Connect)"</h2>
                <dl class="mt-3 grid grid-cols-4 gap-x-4 gap-y-2 text-sm">
                    <dt class="text-slate-500">"Issuer"</dt><dd class="col-span-3 break-all font-mono text-xs" data-testid="oidc-issuer">{o.issuer.clone()}</dd>
                    <dt class="text-slate-500">"Discovery URL"</dt><dd class="col-span-3 break-all font-mono text-xs">{o.discovery_url.clone()}</dd>
                    <dt class="text-slate-500">"Client ID"</dt><dd class="col-span-3 break-all font-mono text-xs" data-testid="oidc-client-id-shown">{o.client_id.clone()}</dd>
                    <dt class="text-slate-500">"Client secret"</dt><dd class="col-span-3 text-xs text-slate-500">"stored encrypted; never shown"</dd>
                </dl>
            </section>
        })}
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5" data-testid="idp-info" class:hidden=is_oidc>
            <h2 class="text-sm font-semibold text-slate-800">"Identity provider"</h2>
            <dl class="mt-3 grid grid-cols-4 gap-x-4 gap-y-2 text-sm">
                <dt class="text-slate-500">"Entity ID"</dt><dd class="col-span-3 break-all font-mono text-xs" data-testid="idp-entity-id">{c.idp_entity_id.clone()}</dd>
                <dt class="text-slate-500">"SSO URL (Redirect)"</dt><dd class="col-span-3 break-all font-mono text-xs">{c.sso_redirect_url.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt class="text-slate-500">"SSO URL (POST)"</dt><dd class="col-span-3 break-all font-mono text-xs">{c.sso_post_url.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt class="text-slate-500">"Metadata URL"</dt><dd class="col-span-3 break-all font-mono text-xs">{c.metadata_url.clone().unwrap_or_else(|| "uploaded XML".into())}</dd>
                <dt class="text-slate-500">"IdP-initiated sign-in"</dt><dd class="col-span-3">{if c.allow_idp_initiated { "allowed" } else { "not allowed" }}</dd>
            </dl>
        </section>
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5" data-testid="email-domains">
            <h2 class="text-sm font-semibold text-slate-800">"Email domains"</h2>
            {if c.accept_any_email_domain {
                view! {
                    <p class="mt-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900" data-testid="accept-any-warning">
                        "This connection accepts any email address its IdP sends, including addresses of other organisations. Sign-ins carry email_verified: false; never bind users by email for this connection."
                    </p>
                }.into_any()
            } else {
                let all: Vec<String> = c.tenant_email_domain.iter().chain(c.email_domains.iter()).cloned().collect();
                view! {
                    <p class="mt-2 text-sm text-slate-600">"Sign-ins are refused unless every email address the IdP sends is in:"</p>
                    <p class="mt-1 font-mono text-xs" data-testid="email-domain-list">{if all.is_empty() { "(none: add the customer's domains, or every sign-in that carries an email is refused)".to_string() } else { all.join(", ") }}</p>
                }.into_any()
            }}
            <h3 class="mt-4 text-xs font-medium uppercase tracking-wide text-slate-500">"Signing certificates"</h3>
            <ul class="mt-2 space-y-1 text-sm" data-testid="certificates">
                {c.certificates.iter().map(|cert| view! {
                    <li class="flex flex-wrap items-center gap-2">
                        <span class="font-mono text-xs">{cert.subject.clone()}</span>
                        <span class=if cert.expired { "rounded bg-red-100 px-1.5 text-xs text-red-800" } else { "rounded bg-slate-100 px-1.5 text-xs text-slate-700" }>
                            {if cert.expired { "expired " } else { "expires " }} {format::date(&cert.not_after)}
                        </span>
                        <span class="font-mono text-[10px] text-slate-400">"SHA-256 " {cert.sha256.chars().take(16).collect::<String>()} "…"</span>
                    </li>
                }).collect_view()}
            </ul>
        </section>

        {writable.then(|| view! {
            <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5">
                <h2 class="text-sm font-semibold text-slate-800">"Edit"</h2>
                <ActionForm action=update attr:class="mt-4 max-w-2xl space-y-5">
                    <input type="hidden" name="team" value=team_id.get_value() />
                    <input type="hidden" name="product" value=product_id.get_value() />
                    <input type="hidden" name="connection" value=connection_id.get_value() />
                    <div>
                        <label class=LABEL for="edit-tenant">"Tenant"</label>
                        <input class=INPUT id="edit-tenant" name="tenant" value=c.tenant.clone() required />
                        <FieldMessage message=field_error(value, "tenant") id="edit-tenant-error" />
                    </div>
                    <div>
                        <label class=LABEL for="edit-name">"Name"</label>
                        <input class=INPUT id="edit-name" name="name" value=c.name.clone() />
                    </div>
                    <div>
                        <label class=LABEL for="edit-description">"Description"</label>
                        <input class=INPUT id="edit-description" name="description" value=c.description.clone() />
                    </div>
                    <MetadataInput error_xml=field_error(value, "metadata") error_url=field_error(value, "metadata_url") error_oidc=first_field_error(value, OIDC_FIELDS) oidc_redirect_uri=Signal::derive(move || Some(oidc_redirect.get_value())) protocol=if is_oidc { "oidc" } else { "saml" } optional=true />
                    <RedirectFields value=value urls=c.redirect_urls.join("\n") default=c.default_redirect_url.clone().unwrap_or_default() />
                    <EmailDomainFields value=value domains=c.email_domains.join("\n") accept_any=c.accept_any_email_domain id_prefix="edit-" />
                    <label class="flex items-center gap-2 text-sm">
                        <input type="checkbox" name="allow_idp_initiated" prop:checked=c.allow_idp_initiated />
                        "Allow IdP-initiated sign-in"
                    </label>
                    <ErrorBox message=form_error(value, CONNECTION_FIELDS) />
                    <SuccessBox message=saved />
                    <button type="submit" class=BUTTON>"Save changes"</button>
                </ActionForm>
            </section>
        })}
    }
}

/// Where the connection's mirror in Ory Network stands, with "Retry now".
#[component]
fn OryPanel(
    sync: OrySyncView,
    retry: ServerAction<RetryOrySync>,
    writable: bool,
    team: String,
    product: String,
    connection: String,
) -> impl IntoView {
    let failed = sync.state == "failed";
    let problem = sync.last_error.clone().map(|e| match sync.last_status {
        Some(status) => format!("Ory answered {status}: {e}"),
        None => e,
    });
    view! {
        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5" data-testid="ory-sync">
            <div class="flex items-center gap-3">
                <h2 class="text-sm font-semibold text-slate-800">"Ory Network"</h2>
                <OryStateBadge state=sync.state.clone() />
                {writable.then(|| view! {
                    <ActionForm action=retry attr:class="ml-auto">
                        <input type="hidden" name="team" value=team.clone() />
                        <input type="hidden" name="product" value=product.clone() />
                        <input type="hidden" name="connection" value=connection.clone() />
                        <button type="submit" class=BUTTON_SECONDARY data-testid="ory-retry" disabled=move || retry.pending().get()>"Retry now"</button>
                    </ActionForm>
                })}
            </div>
            {problem.map(|p| view! {
                <p class=if failed { "mt-3 rounded border border-red-200 bg-red-50 p-3 text-sm text-red-900" } else { "mt-3 rounded border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900" } data-testid="ory-error">
                    {p}
                </p>
            })}
            {sync.next_attempt_at.map(|t| view! {
                <p class="mt-2 text-xs text-slate-500" data-testid="ory-next-attempt">
                    "Next attempt " {format::date_time(&t)} " (attempt " {sync.attempts + 1} ")."
                </p>
            })}
            {(!sync.drift.is_empty()).then(|| view! {
                <div class="mt-3 rounded border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900" data-testid="ory-drift">
                    <p class="font-medium">"Ory differs from Gatehouse (Re-sync all in Settings → Ory Integration repairs it):"</p>
                    <ul class="mt-1 list-disc pl-5">{sync.drift.iter().map(|d| view! { <li>{d.clone()}</li> }).collect_view()}</ul>
                </div>
            })}
            <dl class="mt-3 grid gap-x-6 sm:grid-cols-2">
                <CopyField label="Organization ID" value=sync.organization_id.clone().unwrap_or_else(|| "not created yet".into()) testid="ory-organization-id" />
                <CopyField label="Provider ID" value=sync.provider_id.clone() testid="ory-provider-id" />
                <CopyField label="client_id given to Ory" value=sync.client_id.clone().unwrap_or_else(|| "not issued yet".into()) testid="ory-client-id" />
                <CopyField label="Ory callback (its only redirect URL)" value=sync.callback_url.clone().unwrap_or_else(|| "known once the organization exists".into()) testid="ory-callback" />
            </dl>
            {sync.synced_at.map(|t| view! { <p class="mt-1 text-xs text-slate-500">"Last synced " {format::date_time(&t)} "."</p> })}
        </section>
    }
}

/// The product's OAuth facts and client-secret verifier, on the General tab. The
/// page owns the resource and the action (see `SettingsData`).
#[component]
pub fn OAuthPanel(
    team: String,
    product: String,
    info: Resource<Result<Option<gatehouse_core::views::ProductOAuth>, AppError>>,
    rotate: ServerAction<crate::api::connections::RotateSecretVerifier>,
) -> impl IntoView {
    let writable = !use_team().read_only();
    let (t, p) = (StoredValue::new(team), StoredValue::new(product));
    let (show, set_show) = signal(false);
    view! {
        <section class="mt-10 max-w-2xl rounded-lg border border-slate-200 bg-white p-5" data-testid="oauth-panel">
            <h2 class="text-lg font-semibold">"OAuth 2.0 / OpenID Connect"</h2>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match info.await {
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Ok(Some(o)) => {
                            let verifier = StoredValue::new(o.client_secret_verifier.clone());
                            view! {
                                <dl class="mt-2 divide-y divide-slate-100">
                                    <CopyField label="Issuer (discovery at /.well-known/openid-configuration)" value=o.issuer.clone() />
                                    <CopyField label="Authorization endpoint" value=o.authorize_url.clone() />
                                    <CopyField label="Token endpoint" value=o.token_url.clone() />
                                    <CopyField label="Userinfo endpoint" value=o.userinfo_url.clone() />
                                    <div class="py-2">
                                        <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">"Client secret verifier (for tenant/product clients without PKCE)"</dt>
                                        <dd class="mt-1 flex items-center gap-2">
                                            <code class="break-all rounded bg-slate-100 px-2 py-1 text-xs" data-testid="secret-verifier">
                                                {move || if show.get() { verifier.get_value() } else { "•".repeat(24) }}
                                            </code>
                                            <button type="button" class=BUTTON_SECONDARY on:click=move |_| set_show.update(|s| *s = !*s)>
                                                {move || if show.get() { "Hide" } else { "Reveal" }}
                                            </button>
                                            <CopyButton text=verifier.get_value() />
                                        </dd>
                                    </div>
                                </dl>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
            {writable.then(|| view! {
                <ActionForm action=rotate attr:class="mt-2">
                    <input type="hidden" name="team" value=t.get_value() />
                    <input type="hidden" name="product" value=p.get_value() />
                    <button type="submit" class=BUTTON_SECONDARY>"Rotate verifier"</button>
                </ActionForm>
            })}
        </section>
    }
}
