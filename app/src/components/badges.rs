//! Small status badges: a connection's on/off state, its Ory mirror's state, a
//! sign-in's outcome and a webhook delivery's state.

use gatehouse_core::traces::TraceOutcome;
use gatehouse_core::views::CertificateHealth;
use gatehouse_core::webhooks::DeliveryState;
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

/// A SAML connection's certificates when they need attention: expiring within 30
/// days (amber), within 7 (red), or all expired (red). Nothing while valid.
#[component]
pub fn CertificateBadge(health: Option<CertificateHealth>) -> impl IntoView {
    let (class, text) = match health {
        Some(CertificateHealth::Expiring { days }) => (
            "rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-900",
            format!("Certificate expires in {days} days"),
        ),
        Some(CertificateHealth::ExpiringSoon { days }) => (
            "rounded-full bg-red-100 px-2 py-0.5 text-xs font-medium text-red-800",
            format!(
                "Certificate expires in {days} day{}",
                if days == 1 { "" } else { "s" }
            ),
        ),
        Some(CertificateHealth::Expired) => (
            "rounded-full bg-red-600 px-2 py-0.5 text-xs font-medium text-white",
            "Certificate expired".to_string(),
        ),
        Some(CertificateHealth::Valid) | None => return ().into_any(),
    };
    let state = health.map(CertificateHealth::as_str).unwrap_or_default();
    view! { <span class=class data-testid="certificate-health" data-state=state>{text}</span> }
        .into_any()
}

/// A sign-in's outcome: succeeded or failed.
#[component]
pub fn OutcomeBadge(outcome: TraceOutcome) -> impl IntoView {
    match outcome {
        TraceOutcome::Success => {
            view! { <span class="rounded-full bg-green-100 px-2 py-0.5 text-xs font-medium text-green-800" data-testid="trace-outcome" data-outcome="success">"Succeeded"</span> }
        }
        TraceOutcome::Failure => {
            view! { <span class="rounded-full bg-red-100 px-2 py-0.5 text-xs font-medium text-red-800" data-testid="trace-outcome" data-outcome="failure">"Failed"</span> }
        }
    }
}

/// A webhook delivery's state: pending (waiting for an attempt or a retry), delivered
/// or failed (every attempt failed).
#[component]
pub fn DeliveryStateBadge(state: DeliveryState) -> impl IntoView {
    let (class, label) = match state {
        DeliveryState::Pending => (
            "rounded-full bg-amber-100 px-2 py-0.5 text-xs font-medium text-amber-800",
            "Pending",
        ),
        DeliveryState::Delivered => (
            "rounded-full bg-green-100 px-2 py-0.5 text-xs font-medium text-green-800",
            "Delivered",
        ),
        DeliveryState::Failed => (
            "rounded-full bg-red-100 px-2 py-0.5 text-xs font-medium text-red-800",
            "Failed",
        ),
    };
    view! { <span class=class data-testid="webhook-state" data-state=state.as_str()>{label}</span> }
}
