//! Gatehouse's dashboard: Leptos components and server functions.
//!
//! Built twice: with `ssr` into the server (rendering and server functions), and
//! with `hydrate` into the wasm bundle that makes the rendered pages interactive.
//! The wasm build depends only on `gatehouse-core`; `cargo tree` in CI proves that
//! sqlx, xmlsec, openssl and reqwest stay out of it.

#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod error;
pub mod format;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::TeamLayout;
use crate::pages::*;

/// The HTML document around the app (server side only).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Title formatter=|t: String| if t.is_empty() { "Gatehouse".to_string() } else { format!("{t} · Gatehouse") } />
        <Router>
            <Routes fallback=|| view! { <NotFoundPage /> }>
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                <Route path=path!("/signup") view=SignupPage ssr=SsrMode::Async />
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/invite/:token") view=InvitePage ssr=SsrMode::Async />
                <Route path=path!("/setup/:token") view=SetupPage ssr=SsrMode::Async />
                <Route path=path!("/new-team") view=NewTeamPage ssr=SsrMode::Async />
                <ParentRoute path=path!("/teams/:team") view=TeamLayout ssr=SsrMode::Async>
                    <Route path=path!("") view=TeamHome ssr=SsrMode::Async />
                    <Route path=path!("products") view=ProductsPage ssr=SsrMode::Async />
                    <Route path=path!("products/:product") view=ProductHome ssr=SsrMode::Async />
                    <Route path=path!("products/:product/connections") view=ConnectionsPage ssr=SsrMode::Async />
                    <Route path=path!("products/:product/connections/new") view=NewConnectionPage ssr=SsrMode::Async />
                    <Route path=path!("products/:product/connections/:connection") view=ConnectionPage ssr=SsrMode::Async />
                    <Route path=path!("products/:product/sign-ins/:trace") view=TracePage ssr=SsrMode::Async />
                    <Route path=path!("products/:product/settings/:tab") view=ProductSettingsPage ssr=SsrMode::Async />
                    <Route path=path!("members") view=MembersPage ssr=SsrMode::Async />
                    <Route path=path!("audit") view=AuditLogPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // Lets tests (and people debugging) see that the page is interactive.
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
