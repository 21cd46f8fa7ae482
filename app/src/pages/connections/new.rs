//! Creating a connection: tenant, name, IdP settings, redirect URLs, email domains.

use gatehouse_core::views::ProductDetail;
use leptos::prelude::*;

use crate::api::connections::{product_oauth, CreateConnection};
use crate::components::*;

#[component]
pub fn NewConnectionPage() -> impl IntoView {
    let (team, product_id, _) = product_route_params();
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
                        <input type="checkbox" name="allowIdpInitiated" />
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
