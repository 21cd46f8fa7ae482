use gatehouse_core::views::Me;
use leptos::prelude::*;

use crate::error::AppError;

/// The signed-in user and their teams; `None` when signed out.
#[server(prefix = "/rpc", endpoint = "auth/me")]
pub async fn current_user() -> Result<Option<Me>, AppError> {
    use super::ssr;
    let session = ssr::session().await?;
    let Ok(Some(user_id)) = session.get::<String>(ssr::USER_ID).await else {
        return Ok(None);
    };
    match ssr::services()?.accounts.me(&user_id).await {
        Ok(me) => Ok(Some(me)),
        Err(gatehouse_domain::DomainError::Unauthenticated) => {
            // The user was deleted: forget the session.
            let _ = session.flush().await;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

#[server(prefix = "/rpc", endpoint = "auth/signup")]
pub async fn sign_up(email: String, password: String, team_name: String) -> Result<(), AppError> {
    use super::ssr;
    use gatehouse_domain::accounts::SignUp;
    let services = ssr::services()?;
    let user = services
        .accounts
        .sign_up(SignUp {
            email,
            password: password.into(),
            team_name,
        })
        .await?;
    ssr::sign_in(&user.id).await?;
    let me = services.accounts.me(&user.id).await?;
    let target = me
        .teams
        .first()
        .map(|t| format!("/teams/{}/products", t.id))
        .unwrap_or_else(|| "/".into());
    leptos_axum::redirect(&target);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "auth/login")]
pub async fn log_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use super::ssr;
    let services = ssr::services()?;
    let user = services.accounts.log_in(&email, &password.into()).await?;
    ssr::sign_in(&user.id).await?;
    let target = match next.filter(|n| is_local_path(n)) {
        Some(n) => n,
        None => services
            .accounts
            .me(&user.id)
            .await?
            .teams
            .first()
            .map(|t| format!("/teams/{}/products", t.id))
            .unwrap_or_else(|| "/new-team".into()),
    };
    leptos_axum::redirect(&target);
    Ok(())
}

#[server(prefix = "/rpc", endpoint = "auth/logout")]
pub async fn log_out() -> Result<(), AppError> {
    use super::ssr;
    let session = ssr::session().await?;
    session.flush().await.map_err(ssr::internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Only same-site absolute paths may be used as a post-login destination. Browsers
/// drop tabs and line breaks from URLs and read `\\` as `/`, so `/\t/evil.example`
/// and `/\\evil.example` would leave the site: control characters and backslashes are
/// refused anywhere.
pub fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains("://")
        && !p.chars().any(|c| c.is_control() || c == '\\')
}

#[cfg(test)]
mod tests {
    use super::is_local_path;

    #[test]
    fn next_must_be_a_local_path() {
        assert!(is_local_path("/teams/x/products"));
        assert!(!is_local_path("//evil.com"));
        assert!(!is_local_path("/\\evil.com"));
        assert!(!is_local_path("https://evil.com"));
        assert!(!is_local_path("evil"));
        for sneaky in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/a\\..\\\\evil.example",
            "/\\/evil.example",
        ] {
            assert!(!is_local_path(sneaky), "{sneaky:?}");
        }
        assert!(is_local_path("/invite/abc?x=1#y"));
    }
}
