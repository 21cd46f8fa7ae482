//! What a vendor's app needs to speak OAuth 2.0 / OIDC to Gatehouse for a product.

use leptos::prelude::*;

use crate::components::*;
use crate::error::AppError;

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
