use gatehouse_core::views::ProductDetail;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::CopyButton;

/// Title, product id and the product's tabs.
#[component]
pub fn ProductHeader(product: ProductDetail, #[prop(into)] active: String) -> impl IntoView {
    let base = format!("/teams/{}/products/{}", product.team_id, product.id);
    let tabs = [
        (
            "connections",
            "SSO Connections",
            format!("{base}/connections"),
        ),
        ("general", "General", format!("{base}/settings/general")),
        ("api-keys", "API keys", format!("{base}/settings/api-keys")),
        ("ory", "Ory Integration", format!("{base}/settings/ory")),
        ("webhooks", "Webhooks", format!("{base}/settings/webhooks")),
    ];
    let id = product.id.clone();
    view! {
        <Title text=product.name.clone() />
        <p class="text-sm"><a class="text-indigo-600 hover:underline" href=format!("/teams/{}/products", product.team_id)>"← Products"</a></p>
        <h1 class="mt-2 text-2xl font-semibold" data-testid="product-name">{product.name.clone()}</h1>
        <div class="mt-1 flex items-center gap-2 text-sm text-slate-600">
            "Product ID" <code class="rounded bg-slate-100 px-2 py-0.5 text-xs" data-testid="product-id">{id.clone()}</code>
            <CopyButton text=id label="Copy ID" />
        </div>
        <nav class="mt-6 flex gap-1 border-b border-slate-200" role="tablist">
            {tabs.into_iter().map(|(slug, label, href)| {
                let is_active = slug == active;
                let class = if is_active {
                    "-mb-px border-b-2 border-indigo-600 px-4 py-2 text-sm font-semibold text-indigo-700"
                } else {
                    "px-4 py-2 text-sm font-medium text-slate-600 hover:text-slate-900"
                };
                view! { <a href=href class=class role="tab" aria-selected=is_active.to_string()>{label}</a> }
            }).collect_view()}
        </nav>
    }
}

/// A labelled value with a copy button.
#[component]
pub fn CopyField(
    #[prop(into)] label: String,
    #[prop(into)] value: String,
    #[prop(optional, into)] testid: String,
) -> impl IntoView {
    view! {
        <div class="py-2">
            <dt class="text-xs font-medium uppercase tracking-wide text-slate-500">{label}</dt>
            <dd class="mt-1 flex items-center gap-2">
                <code class="break-all rounded bg-slate-100 px-2 py-1 text-xs" data-testid=testid>{value.clone()}</code>
                <CopyButton text=value />
            </dd>
        </div>
    }
}
