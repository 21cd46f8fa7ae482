//! Small status badges: a connection's on/off state and its Ory mirror's state.

use leptos::prelude::*;

/// `synced`, `pending` or `failed`.
#[component]
pub fn OryStateBadge(#[prop(into)] state: String) -> impl IntoView {
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
pub fn StatusBadge(enabled: bool) -> impl IntoView {
    if enabled {
        view! { <span class="rounded-full bg-green-100 px-2 py-0.5 text-xs font-medium text-green-800" data-testid="status">"Active"</span> }
    } else {
        view! { <span class="rounded-full bg-slate-200 px-2 py-0.5 text-xs font-medium text-slate-700" data-testid="status">"Disabled"</span> }
    }
}
