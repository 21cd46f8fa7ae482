//! Puts each request's [`gatehouse_domain::client_addr::ClientAddr`] in its extensions: the peer, or the client a
//! trusted proxy forwarded for (rules in [`gatehouse_domain::client_addr`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_domain::client_addr::TrustedProxies;

/// The address the connection came from (the load balancer's, behind one).
pub fn peer(request: &Request) -> Option<SocketAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| *addr)
}

pub async fn client_addr_layer(
    State(proxies): State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    if let Some(peer) = peer(&request) {
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
