//! Server functions: the dashboard's API. Each one is thin: read the session, call
//! the domain, map the error. Endpoints are stable (`/rpc/...`) so they can be
//! called and tested like any HTTP API, and they never collide with the Jackson-
//! compatible `/api/...` routes.

pub mod audit;
pub mod auth;
pub mod connections;
pub mod ory;
pub mod products;
pub mod setup;
pub mod teams;
pub mod traces;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use crate::error::AppError;
    use gatehouse_domain::{DomainError, Services};
    use tower_sessions::Session;

    pub use gatehouse_core::session::USER_ID;

    pub fn services() -> Result<Services, AppError> {
        leptos::prelude::use_context::<Services>()
            .ok_or_else(|| DomainError::bug("Services missing from the Leptos context").into())
    }

    pub async fn session() -> Result<Session, AppError> {
        leptos_axum::extract::<Session>()
            .await
            .map_err(|e| DomainError::internal("reading the session layer", e).into())
    }

    /// The signed-in user's id, or `Unauthenticated` (401).
    pub async fn user_id() -> Result<String, AppError> {
        let session = session().await?;
        match session.get::<String>(USER_ID).await {
            Ok(Some(id)) => Ok(id),
            Ok(None) => Err(gatehouse_domain::DomainError::Unauthenticated.into()),
            Err(e) => {
                tracing::warn!(error = %e, "session could not be read");
                Err(gatehouse_domain::DomainError::Unauthenticated.into())
            }
        }
    }

    /// Start a fresh session for `user_id` (new id: no session fixation).
    pub async fn sign_in(user_id: &str) -> Result<(), AppError> {
        let session = session().await?;
        session.cycle_id().await.map_err(internal)?;
        session.insert(USER_ID, user_id).await.map_err(internal)?;
        Ok(())
    }

    /// Who is calling, for rate limits: the peer's IP address, or the client a
    /// trusted proxy forwarded for (`gatehouse_domain::client_addr`).
    pub async fn client_key() -> String {
        use axum::Extension;
        use gatehouse_domain::client_addr::ClientAddr;
        match leptos_axum::extract::<Extension<ClientAddr>>().await {
            Ok(Extension(addr)) => addr.to_string(),
            Err(_) => "unknown".to_string(),
        }
    }

    /// This browser opened a setup link: it may see that link's test results.
    pub async fn remember_setup_link(link_id: &str) -> Result<(), AppError> {
        let session = session().await?;
        session
            .insert(gatehouse_core::session::SETUP_LINK, link_id)
            .await
            .map_err(internal)
    }

    pub fn internal(e: impl Into<gatehouse_domain::error::BoxError>) -> AppError {
        DomainError::internal("using the session", e).into()
    }
}
