use gatehouse_core::PasswordPolicy;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::auth::{LogIn, SignUp};
use crate::components::*;

#[component]
pub fn SignupPage() -> impl IntoView {
    let signup = ServerAction::<SignUp>::new();
    let value = signup.value();
    // Client-side check, shown as the user types (no round trip). The server checks again.
    let (password, set_password) = signal(String::new());
    let password_hint = Signal::derive(move || {
        let p = password.get();
        if p.is_empty() {
            None
        } else {
            PasswordPolicy::check(&p).err().map(|e| e.message)
        }
    });
    let server_password_error = field_error(value, "password");
    let password_message =
        Signal::derive(move || password_hint.get().or_else(|| server_password_error.get()));

    view! {
        <Title text="Start your free trial" />
        <AuthCard title="Start your 30-day free trial">
            <ActionForm action=signup attr:class="space-y-4" attr:novalidate=true>
                <div>
                    <label class=LABEL for="email">"Work email"</label>
                    <input class=INPUT id="email" name="email" type="email" autocomplete="email" required />
                    <FieldMessage message=field_error(value, "email") id="email-error" />
                </div>
                <div>
                    <label class=LABEL for="password">"Password"</label>
                    <input
                        class=INPUT
                        id="password"
                        name="password"
                        type="password"
                        autocomplete="new-password"
                        required
                        on:input=move |ev| set_password.set(event_target_value(&ev))
                    />
                    <p class="mt-1 text-xs text-slate-500">"At least " {PasswordPolicy::MIN_CHARS} " characters."</p>
                    <FieldMessage message=password_message id="password-error" />
                </div>
                <div>
                    <label class=LABEL for="team_name">"Team name"</label>
                    <input class=INPUT id="team_name" name="team_name" autocomplete="organization" required maxlength="80" />
                    <FieldMessage message=field_error(value, "team_name") id="team-name-error" />
                </div>
                <ErrorBox message=form_error(value, &["email", "password", "team_name"]) />
                <button type="submit" class=format!("{BUTTON} w-full") disabled=move || signup.pending().get()>
                    {move || if signup.pending().get() { "Creating your account…" } else { "Start free trial" }}
                </button>
            </ActionForm>
            <p class="mt-6 text-center text-sm text-slate-600">
                "Already have an account? " <a href="/login" class="font-medium text-indigo-600 hover:underline">"Log in"</a>
            </p>
        </AuthCard>
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<LogIn>::new();
    let value = login.value();
    let query = use_query_map();
    let next = move || query.with(|q| q.get("next").unwrap_or_default());
    view! {
        <Title text="Log in" />
        <AuthCard title="Log in to Gatehouse">
            <ActionForm action=login attr:class="space-y-4">
                <input type="hidden" name="next" value=next />
                <div>
                    <label class=LABEL for="email">"Email"</label>
                    <input class=INPUT id="email" name="email" type="email" autocomplete="email" required />
                </div>
                <div>
                    <label class=LABEL for="password">"Password"</label>
                    <input class=INPUT id="password" name="password" type="password" autocomplete="current-password" required />
                </div>
                <ErrorBox message=form_error(value, &[]) />
                <button type="submit" class=format!("{BUTTON} w-full") disabled=move || login.pending().get()>"Log in"</button>
            </ActionForm>
            <p class="mt-6 text-center text-sm text-slate-600">
                "New to Gatehouse? " <a href="/signup" class="font-medium text-indigo-600 hover:underline">"Start a free trial"</a>
            </p>
        </AuthCard>
    }
}
