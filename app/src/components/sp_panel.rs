//! The service provider's values a customer's IT admin pastes into their IdP.

use leptos::prelude::*;

use crate::components::*;

/// The SP values a customer's IT admin pastes into their IdP.
#[component]
pub fn SpPanel(sp: gatehouse_core::views::SpInfo, #[prop(into)] title: String) -> impl IntoView {
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
