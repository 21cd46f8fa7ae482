use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::auth::{current_user, LogOut};
use crate::api::teams::{invite_preview, AcceptInvite, AcceptInviteSignUp};
use crate::components::*;
use crate::error::AppError;
use gatehouse_core::ErrorKind;

#[component]
pub fn InvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let data = Resource::new(token, |t| async move {
        let preview = invite_preview(t).await?;
        let me = current_user().await?;
        Ok::<_, AppError>((preview, me))
    });
    view! {
        <Title text="Team invitation" />
        <AuthCard title="Team invitation">
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) if e.is(ErrorKind::NotFound) => view! {
                            <p class="text-sm text-slate-700" data-testid="invite-invalid">
                                "This invite link is not valid: it may have expired, been revoked, or already been used. Ask the team owner for a new one."
                            </p>
                        }.into_any(),
                        Err(e) => view! { <ErrorBox message=Signal::derive(move || Some(e.to_string())) /> }.into_any(),
                        Ok((preview, me)) => {
                            let intro = format!("{} invited you to join {} as {}.", preview.invited_by, preview.team_name, preview.role.as_str());
                            let body = match me {
                                Some(me) if me.email == preview.email => view! { <AcceptForm token=token() /> }.into_any(),
                                Some(me) => {
                                    let logout = ServerAction::<LogOut>::new();
                                    view! {
                                        <p class="text-sm text-slate-700">
                                            "This invite is for " <strong>{preview.email.clone()}</strong> ", but you are logged in as " <strong>{me.email}</strong> "."
                                        </p>
                                        <ActionForm action=logout attr:class="mt-4">
                                            <button type="submit" class=BUTTON_SECONDARY>"Log out"</button>
                                        </ActionForm>
                                    }.into_any()
                                }
                                None => view! { <SignUpForm token=token() email=preview.email.clone() /> }.into_any(),
                            };
                            view! { <p class="mb-4 text-sm text-slate-700">{intro}</p> {body} }.into_any()
                        }
                    }
                })}
            </Suspense>
        </AuthCard>
    }
}

#[component]
fn AcceptForm(token: String) -> impl IntoView {
    let accept = ServerAction::<AcceptInvite>::new();
    view! {
        <ActionForm action=accept>
            <input type="hidden" name="token" value=token />
            <ErrorBox message=form_error(accept.value(), &[]) />
            <button type="submit" class=BUTTON>"Join the team"</button>
        </ActionForm>
    }
}

#[component]
fn SignUpForm(token: String, email: String) -> impl IntoView {
    let signup = ServerAction::<AcceptInviteSignUp>::new();
    let value = signup.value();
    let next = format!("/login?next=/invite/{token}");
    view! {
        <ActionForm action=signup attr:class="space-y-4">
            <input type="hidden" name="token" value=token />
            <div>
                <label class=LABEL for="email">"Email"</label>
                <input class=INPUT id="email" value=email disabled />
            </div>
            <div>
                <label class=LABEL for="password">"Choose a password"</label>
                <input class=INPUT id="password" name="password" type="password" autocomplete="new-password" required />
                <FieldMessage message=field_error(value, "password") id="password-error" />
            </div>
            <ErrorBox message=form_error(value, &["password"]) />
            <button type="submit" class=format!("{BUTTON} w-full")>"Create account and join"</button>
        </ActionForm>
        <p class="mt-6 text-center text-sm text-slate-600">
            "Already have an account? " <a href=next class="font-medium text-indigo-600 hover:underline">"Log in"</a>
        </p>
    }
}
