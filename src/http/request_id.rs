//! Every request gets an id: the `X-Request-Id` a trusted proxy sent (so one id
//! follows the request through the load balancer's log and ours), else a new one.
//! It is on every log line of the request (the `request` span), in the response's
//! `X-Request-Id`, and it is the reference id error pages show
//! ([`gatehouse_domain::error::reference_id`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use gatehouse_domain::client_addr::TrustedProxies;
use gatehouse_domain::error::REQUEST_ID;
use tracing::Instrument;

pub const HEADER: &str = "x-request-id";

/// An id from a proxy is used only if it is short and plain, so it cannot forge
/// log lines or carry markup into a page.
fn acceptable(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
}

/// The request's id: the trusted proxy's, or a new `req_…`.
pub fn choose(proxies: &TrustedProxies, peer: Option<SocketAddr>, sent: Option<&str>) -> String {
    match (peer, sent) {
        (Some(peer), Some(id)) if proxies.trusts(peer.ip()) && acceptable(id) => id.to_string(),
        _ => gatehouse_domain::tokens::new_id("req"),
    }
}

pub async fn request_id_layer(
    State(proxies): State<Arc<TrustedProxies>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = super::client_addr::peer(&request);
    let sent = request.headers().get(HEADER).and_then(|v| v.to_str().ok());
    let id: Arc<str> = choose(&proxies, peer, sent).into();
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request))
        .instrument(span)
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies() -> TrustedProxies {
        "10.0.0.0/8".parse().unwrap()
    }

    #[test]
    fn a_trusted_proxy_names_the_request_and_no_one_else_does() {
        let proxy: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let stranger: SocketAddr = "203.0.113.9:5000".parse().unwrap();
        assert_eq!(
            choose(&proxies(), Some(proxy), Some("lb-42.abc")),
            "lb-42.abc"
        );
        let own = choose(&proxies(), Some(stranger), Some("lb-42.abc"));
        assert!(own.starts_with("req_"), "{own}");
        let own = choose(&TrustedProxies::default(), Some(proxy), Some("lb-42"));
        assert!(own.starts_with("req_"), "{own}");
    }

    #[test]
    fn ids_that_could_forge_log_lines_or_markup_are_replaced() {
        let proxy: SocketAddr = "10.1.2.3:5000".parse().unwrap();
        let long = "a".repeat(129);
        for bad in ["", "a b", "x\ny", "<script>", "a\"b", "é", long.as_str()] {
            let id = choose(&proxies(), Some(proxy), Some(bad));
            assert!(id.starts_with("req_"), "{bad:?} gave {id}");
        }
    }
}
