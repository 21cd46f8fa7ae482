use gatehouse_core::views as v;
use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/rpc", endpoint = "teams/create")]
pub async fn create_team(name: String) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    let team = ssr::services()?
        .accounts
        .create_team(&user_id, &name)
        .await?;
    leptos_axum::redirect(&format!("/teams/{}/products", team.id));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "teams/members")]
pub async fn team_members(team: String) -> Result<v::TeamMembers, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .accounts
        .team_members(&user_id, &team)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "teams/invite")]
pub async fn invite_member(
    team: String,
    email: String,
    role: String,
) -> Result<v::CreatedInvite, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .accounts
        .invite_member(&user_id, &team, &email, &role)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "teams/revoke-invite")]
pub async fn revoke_invite(team: String, invite: String) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .accounts
        .revoke_invite(&user_id, &team, &invite)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "teams/remove-member")]
pub async fn remove_member(team: String, member: String) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .accounts
        .remove_member(&user_id, &team, &member)
        .await?)
}

#[server(prefix = "/rpc", endpoint = "invites/preview")]
pub async fn invite_preview(token: String) -> Result<v::InvitePreview, AppError> {
    use super::ssr;
    Ok(ssr::services()?.accounts.invite_preview(&token).await?)
}

#[server(prefix = "/rpc", endpoint = "invites/accept")]
pub async fn accept_invite(token: String) -> Result<(), AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    let team = ssr::services()?
        .accounts
        .accept_invite(&user_id, &token)
        .await?;
    leptos_axum::redirect(&format!("/teams/{team}/products"));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "invites/signup")]
pub async fn accept_invite_sign_up(token: String, password: String) -> Result<(), AppError> {
    use super::ssr;
    let (user, team) = ssr::services()?
        .accounts
        .sign_up_with_invite(&token, &password.into())
        .await?;
    ssr::sign_in(&user.id).await?;
    leptos_axum::redirect(&format!("/teams/{team}/products"));
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "teams/context")]
pub async fn team_context(team: String) -> Result<gatehouse_core::views::TeamContext, AppError> {
    use super::ssr;
    let user_id = ssr::user_id().await?;
    Ok(ssr::services()?
        .accounts
        .team_context(&user_id, &team)
        .await?)
}
