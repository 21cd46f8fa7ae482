//! Puts each request's [`gatehouse_domain::client_addr::ClientAddr`] in its extensions: the peer, or the client a
//! trusted proxy forwarded for (rules in [`gatehouse_domain::client_addr`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_domain::client_addr::TrustedProxies;

pub async fn client_addr_layer(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr);
    if let Some(peer) = peer {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok());
        let client = proxies.client(peer, forwarded);
        request.extensions_mut().insert(client);
    }
    next.run(request).await
}
