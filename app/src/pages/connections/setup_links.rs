//! Setup links of a product: create, copy, regenerate and revoke the links a
//! customer's IT admin uses to configure their own connection.

use gatehouse_core::views::SetupLinkView;
use leptos::prelude::*;

use crate::api::setup::{CreateSetupLink, RegenerateSetupLink, RevokeSetupLink};
use crate::components::*;
use crate::error::AppError;
use crate::format;

/// The setup-link actions and list, created in the page body (see `SettingsData`).
#[derive(Clone, Copy)]
pub struct SetupLinkActions {
    pub(super) create: ServerAction<CreateSetupLink>,
    pub(super) revoke: ServerAction<RevokeSetupLink>,
    pub(super) regenerate: ServerAction<RegenerateSetupLink>,
    pub(super) links: Resource<Result<Vec<SetupLinkView>, AppError>>,
}

/// Setup links: let a customer's IT admin configure their own connection.
#[component]
pub fn SetupLinksPanel(
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
