use leptos::prelude::*;

use crate::error::AppError;
use gatehouse_core::ErrorKind;

pub const INPUT: &str = "mt-1 block w-full rounded-md border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-1 focus:ring-indigo-500 disabled:bg-slate-100";
pub const LABEL: &str = "block text-sm font-medium text-slate-700";
pub const BUTTON: &str = "inline-flex items-center justify-center rounded-md bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 disabled:opacity-50";
pub const BUTTON_SECONDARY: &str = "inline-flex items-center justify-center rounded-md border border-slate-300 bg-white px-3 py-2 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-50";
pub const BUTTON_DANGER: &str = "inline-flex items-center justify-center rounded-md bg-red-600 px-3 py-2 text-sm font-semibold text-white hover:bg-red-500 disabled:opacity-50";

/// The message for `field` in an action's latest result, if any.
pub fn field_error<O, V>(value: V, field: &'static str) -> Signal<Option<String>>
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e)) => e.for_field(field),
            _ => None,
        })
    })
}

/// The first server error among `fields` (a group of inputs shown together).
pub fn first_field_error<O, V>(value: V, fields: &'static [&'static str]) -> Signal<Option<String>>
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e)) => fields.iter().find_map(|f| e.for_field(f)),
            _ => None,
        })
    })
}

/// The fields of an OIDC IdP's settings.
pub const OIDC_FIELDS: &[&str] = &["oidc_discovery_url", "oidc_client_id", "oidc_client_secret"];

/// The message under one field of a form with a live check: what the check finds in
/// what the user is typing wins, else the server's error for that field.
pub fn live_field_error<O, V>(
    value: V,
    check: Signal<Option<gatehouse_core::FieldError>>,
    field: &'static str,
) -> Signal<Option<String>>
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Send + Sync + 'static,
{
    let server = field_error(value, field);
    Signal::derive(move || match check.get() {
        Some(e) if e.field == field => Some(e.message),
        _ => server.get(),
    })
}

/// The form-level message (errors not tied to one of `fields`).
pub fn form_error<O, V>(value: V, fields: &'static [&'static str]) -> Signal<Option<String>>
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || {
        value.with(|v| match v {
            Some(Err(e)) => e.general(fields),
            _ => None,
        })
    })
}

/// Red text under a field, or nothing.
#[component]
pub fn FieldMessage(
    #[prop(into)] message: Signal<Option<String>>,
    #[prop(into)] id: String,
) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <p class="mt-1 text-sm text-red-600" id=id.clone() role="alert">
                {move || message.get().unwrap_or_default()}
            </p>
        </Show>
    }
}

/// A boxed error message for a whole form or page.
#[component]
pub fn ErrorBox(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <div class="rounded-md border border-red-200 bg-red-50 px-4 py-3 text-sm text-red-800" role="alert" data-testid="form-error">
                {move || message.get().unwrap_or_default()}
            </div>
        </Show>
    }
}

/// A green confirmation.
#[component]
pub fn SuccessBox(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.with(Option::is_some)>
            <div class="rounded-md border border-green-200 bg-green-50 px-4 py-3 text-sm text-green-800" role="status" data-testid="form-success">
                {move || message.get().unwrap_or_default()}
            </div>
        </Show>
    }
}

/// Renders an `AppError` as a page-level panel.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let title = match error.kind() {
        ErrorKind::NotFound => "Not found",
        ErrorKind::Unauthenticated => "Please log in",
        _ => "Something went wrong",
    };
    view! {
        <div class="mx-auto max-w-xl rounded-lg border border-slate-200 bg-white p-8 text-center shadow-sm" data-testid="error-panel">
            <h1 class="text-lg font-semibold">{title}</h1>
            <p class="mt-2 text-sm text-slate-600">{error.to_string()}</p>
            <a href="/" class="mt-4 inline-block text-sm font-medium text-indigo-600 hover:underline">"Back to the dashboard"</a>
        </div>
    }
}

/// Counts an action's *successful* completions. Key resources on this (not on the
/// action's version) so a failed submit does not re-render the form and lose what
/// the user typed.
pub fn successes<O, V>(value: V) -> ReadSignal<usize>
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Send + Sync + 'static,
{
    successes_where(value, |_| true)
}

/// [`successes`], counting only the outputs `counts` accepts.
pub fn successes_where<O, V>(
    value: V,
    counts: impl Fn(&O) -> bool + Send + Sync + 'static,
) -> ReadSignal<usize>
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Send + Sync + 'static,
{
    let (count, set_count) = signal(0usize);
    Effect::new(move |_| {
        if value.with(|v| matches!(v, Some(Ok(o)) if counts(o))) {
            set_count.update(|n| *n += 1);
        }
    });
    count
}
