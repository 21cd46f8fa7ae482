//! One connection: its settings (edit, enable, rotate the secret, delete), the SP
//! values for the IdP, "Test connection", its Ory mirror, and its recent sign-ins.

use gatehouse_core::views::CertificateHealth;
use gatehouse_core::views::{ConnectionDetail, OrySyncView, ProductDetail};
use leptos::prelude::*;

use crate::api::connections::{
    get_connection, DeleteConnection, RetryOrySync, RotateConnectionSecret, SetConnectionEnabled,
    UpdateConnection,
};
use crate::components::*;
use crate::error::AppError;
use crate::format;

use super::sign_ins::{RecentSignIns, RecentSignInsData};

#[component]
pub fn ConnectionPage() -> impl IntoView {
    let (team, product_id, connection_id) = product_route_params();
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
    let sign_ins = RecentSignInsData::new(team, product_id, connection_id);
    view! {
        <ProductPage active="connections" body=move |_p: ProductDetail| {
            view! {
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match connection.await {
                            Ok(c) => view! {
                                <ConnectionView c=c update=update toggle=toggle ory=ory retry=retry />
                                <RecentSignIns data=sign_ins />
                            }.into_any(),
                            Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        }
                    })}
                </Suspense>
            }
        } />
    }
}

#[component]
pub fn ConnectionView(
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
                <dt class="text-slate-500">"Metadata URL"</dt><dd class="col-span-3 break-all font-mono text-xs">{c.metadata_url.clone().unwrap_or_else(|| "uploaded XML".into())}
                    {c.metadata_url.is_some().then(|| view! {
                        <span class="block font-sans text-slate-500" data-testid="metadata-refresh">
                            "Fetched again daily; a changed certificate set is applied. "
                            {c.metadata_checked_at.map(|at| format!("Last checked {}.", format::date_time(&at)))}
                        </span>
                    })}
                    {c.metadata_error.clone().map(|e| view! {
                        <span class="mt-1 block rounded bg-red-50 px-2 py-1 font-sans text-red-800" data-testid="metadata-error">
                            "The last fetch failed (the last good metadata is kept): " {e}
                        </span>
                    })}
                </dd>
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
            <h3 class="mt-4 flex items-center gap-2 text-xs font-medium uppercase tracking-wide text-slate-500">"Signing certificates" <CertificateBadge health=c.certificate_health /></h3>
            {matches!(c.certificate_health, Some(CertificateHealth::Expired)).then(|| view! {
                <p class="mt-2 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900" data-testid="certificate-expired-warning">
                    "Every signing certificate of this connection has expired: its sign-ins fail. Upload the identity provider's current metadata."
                </p>
            })}
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
                        <input type="checkbox" name="allowIdpInitiated" prop:checked=c.allow_idp_initiated />
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
pub fn OryPanel(
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
