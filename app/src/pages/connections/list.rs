//! A product's connections: the list, their states, the search for a sign-in by
//! reference id, and the setup links panel.

use gatehouse_core::views::ProductDetail;
use leptos::prelude::*;

use crate::api::connections::list_connections;
use crate::api::setup::{list_setup_links, CreateSetupLink, RegenerateSetupLink, RevokeSetupLink};
use crate::components::*;
use crate::format;

use super::setup_links::{SetupLinkActions, SetupLinksPanel};
use super::sign_ins::ReferenceSearch;

#[component]
pub fn ConnectionsPage() -> impl IntoView {
    let (team, product_id, _) = product_route_params();
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
                                                            <td class="px-4 py-2"><div class="flex flex-wrap gap-1"><StatusBadge enabled=c.enabled /><CertificateBadge health=c.certificate_health /></div></td>
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
                <ReferenceSearch team=p.team_id.clone() product=p.id.clone() />
                <SetupLinksPanel setup=setup team=p.team_id.clone() product=p.id.clone() writable=writable />
            }
        } />
    }
}
