use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::teams::{team_members, InviteMember, RemoveMember, RevokeInvite};
use crate::components::*;
use crate::format;

#[component]
pub fn MembersPage() -> impl IntoView {
    let team = use_team();
    let team_id = team.id();
    let invite = ServerAction::<InviteMember>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let revoke = ServerAction::<RevokeInvite>::new();
    let (invited, removed, revoked) = (
        successes(invite.value()),
        successes(remove.value()),
        successes(revoke.value()),
    );
    let members = {
        let team_id = team_id.clone();
        Resource::new(
            move || (invited.get(), removed.get(), revoked.get()),
            move |_| team_members(team_id.clone()),
        )
    };
    let owner = team.is_owner() && !team.read_only();
    let value = invite.value();
    let me = team.0.me.user_id.clone();
    let tid = StoredValue::new(team_id.clone());

    view! {
        <Title text="Members" />
        <h1 class="text-2xl font-semibold">"Members of " {team.0.team.name.clone()}</h1>
        <ReadOnlyNote />
        <ErrorBox message=form_error(remove.value(), &[]) />
        <ErrorBox message=form_error(revoke.value(), &[]) />
        <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
            {
                let me = me.clone();
                move || {
                    let me = me.clone();
                    Suspend::new(async move {
                        match members.await {
                            Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                            Ok(list) => view! {
                                <table class="mt-6 w-full overflow-hidden rounded-lg border border-slate-200 bg-white text-sm" data-testid="members">
                                    <thead class="bg-slate-50 text-left text-slate-600">
                                        <tr><th class="px-4 py-2">"Email"</th><th class="px-4 py-2">"Role"</th><th class="px-4 py-2">"Joined"</th><th></th></tr>
                                    </thead>
                                    <tbody>
                                        {list.members.into_iter().map(|m| {
                                            let can_remove = owner && m.user_id != me;
                                            let member_id = m.user_id.clone();
                                            view! {
                                                <tr class="border-t border-slate-100">
                                                    <td class="px-4 py-2">{m.email.clone()}</td>
                                                    <td class="px-4 py-2">{m.role.as_str()}</td>
                                                    <td class="px-4 py-2">{format::date(&m.joined_at)}</td>
                                                    <td class="px-4 py-2 text-right">
                                                        {can_remove.then(|| view! {
                                                            <ActionForm action=remove>
                                                                <input type="hidden" name="team" value=tid.get_value() />
                                                                <input type="hidden" name="member" value=member_id />
                                                                <button type="submit" class="text-sm text-red-600 hover:underline">"Remove"</button>
                                                            </ActionForm>
                                                        })}
                                                    </td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                                {(!list.invites.is_empty()).then(|| view! {
                                    <h2 class="mt-8 text-lg font-semibold">"Pending invites"</h2>
                                })}
                                <ul class="mt-2 space-y-2">
                                    {list.invites.clone().into_iter().map(|i| {
                                        let invite_id = i.id.clone();
                                        view! {
                                            <li class="flex items-center justify-between rounded-md border border-slate-200 bg-white px-4 py-2 text-sm">
                                                <span>{i.email.clone()} " · " {i.role.as_str()} " · expires " {format::date(&i.expires_at)}</span>
                                                {owner.then(|| view! {
                                                    <ActionForm action=revoke>
                                                        <input type="hidden" name="team" value=tid.get_value() />
                                                        <input type="hidden" name="invite" value=invite_id />
                                                        <button type="submit" class="text-sm text-red-600 hover:underline">"Revoke"</button>
                                                    </ActionForm>
                                                })}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                        }
                    })
                }
            }
        </Transition>
        {owner.then(|| view! {
            <section class="mt-10 max-w-xl rounded-lg border border-slate-200 bg-white p-6">
                <h2 class="text-lg font-semibold">"Invite someone"</h2>
                <p class="mt-1 text-sm text-slate-600">"Gatehouse shows you an invite link to send them. It works once and expires in 7 days."</p>
                <ActionForm action=invite attr:class="mt-4 space-y-4">
                    <input type="hidden" name="team" value=tid.get_value() />
                    <div>
                        <label class=LABEL for="invite-email">"Email"</label>
                        <input class=INPUT id="invite-email" name="email" type="email" required />
                        <FieldMessage message=field_error(value, "email") id="invite-email-error" />
                    </div>
                    <div>
                        <label class=LABEL for="invite-role">"Role"</label>
                        <select class=INPUT id="invite-role" name="role">
                            <option value="admin">"Admin: manages products and connections"</option>
                            <option value="owner">"Owner: also manages members"</option>
                        </select>
                    </div>
                    <ErrorBox message=form_error(value, &["email", "role"]) />
                    <button type="submit" class=BUTTON>"Create invite link"</button>
                </ActionForm>
                {move || value.get().and_then(Result::ok).map(|created| {
                    let url = created.url.clone();
                    view! {
                        <div class="mt-4 rounded-md border border-green-200 bg-green-50 p-4 text-sm" data-testid="invite-link">
                            <p class="font-medium text-green-900">"Send this link to " {created.invite.email.clone()} ":"</p>
                            <div class="mt-2 flex items-center gap-2">
                                <code class="break-all rounded bg-white px-2 py-1 text-xs">{url.clone()}</code>
                                <CopyButton text=url />
                            </div>
                        </div>
                    }
                })}
            </section>
        })}
    }
}
