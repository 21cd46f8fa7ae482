//! The frame of every product page: the product loaded once, its header and tabs,
//! then the page's own body; and the route parameters those pages read.

use gatehouse_core::views::ProductDetail;
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api::products::get_product;
use crate::components::*;

/// The `team`, `product` and `connection` route parameters (empty when absent).
pub fn params() -> (String, String, String) {
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
pub fn ProductPage<F, V>(active: &'static str, body: F) -> impl IntoView
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
