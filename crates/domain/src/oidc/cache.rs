//! A small cache for OIDC discovery documents and JWKS, keyed by URL, that follows
//! the IdP's HTTP cache headers (`Cache-Control: max-age`, `no-store`/`no-cache`;
//! [`DEFAULT_TTL`] when there are none, at most [`MAX_TTL`]). Time comes from the
//! injected clock, so expiry is testable.
//!
//! A forced refresh (an id_token signed with a key we do not know yet: the IdP has
//! rotated its keys) refetches at once, but at most once per [`MIN_REFRESH`] per URL,
//! so a stream of tokens with unknown `kid`s cannot turn into a stream of fetches.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use reqwest::header::{HeaderMap, CACHE_CONTROL};

use crate::outbound::{Fetch, FetchError, Outbound};

pub const DEFAULT_TTL: Duration = Duration::minutes(5);
pub const MAX_TTL: Duration = Duration::hours(24);
pub const MIN_REFRESH: Duration = Duration::seconds(10);

#[derive(Debug, Clone)]
struct Entry {
    body: Arc<Vec<u8>>,
    fetched_at: DateTime<Utc>,
    fresh_until: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct DocCache {
    entries: Mutex<HashMap<String, Entry>>,
}

/// How long an answer may be reused, from its headers.
pub fn freshness(headers: &HeaderMap) -> Duration {
    let Some(cc) = headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()) else {
        return DEFAULT_TTL;
    };
    let mut max_age = None;
    for directive in cc.split(',').map(|d| d.trim().to_ascii_lowercase()) {
        if directive == "no-store" || directive == "no-cache" {
            return Duration::zero();
        }
        if let Some(v) = directive.strip_prefix("max-age=") {
            max_age = v.trim_matches('"').parse::<i64>().ok();
        }
    }
    match max_age {
        Some(s) if s <= 0 => Duration::zero(),
        Some(s) => Duration::seconds(s).min(MAX_TTL),
        None => DEFAULT_TTL,
    }
}

impl DocCache {
    fn lookup(&self, url: &str) -> Option<Entry> {
        self.entries.lock().ok()?.get(url).cloned()
    }

    /// The document at `url`: from the cache while fresh, else fetched (GET, 2xx).
    /// `force` refetches a cached document unless it was fetched very recently.
    pub async fn get(
        &self,
        fetch: &dyn Fetch,
        url: &str,
        now: DateTime<Utc>,
        force: bool,
    ) -> Result<Arc<Vec<u8>>, FetchError> {
        if let Some(e) = self.lookup(url) {
            let recent = now - e.fetched_at < MIN_REFRESH;
            if (!force && now < e.fresh_until) || (force && recent) {
                return Ok(e.body);
            }
        }
        let fetched = fetch.send(Outbound::get(url)).await?;
        if !(200..300).contains(&fetched.status) {
            return Err(FetchError::Status(fetched.status));
        }
        let body = Arc::new(fetched.body);
        let ttl = freshness(&fetched.headers);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() > 10_000 {
                entries.retain(|_, e| e.fresh_until > now);
            }
            entries.insert(
                url.to_string(),
                Entry {
                    body: body.clone(),
                    fetched_at: now,
                    fresh_until: now + ttl,
                },
            );
        }
        Ok(body)
    }

    /// Forget `url` (a document that turned out unusable).
    pub fn forget(&self, url: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(url);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn with(cc: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_str(cc).unwrap_or(HeaderValue::from_static("")),
        );
        h
    }

    #[test]
    fn cache_headers_decide_freshness() {
        assert_eq!(freshness(&HeaderMap::new()), DEFAULT_TTL);
        assert_eq!(
            freshness(&with("public, max-age=600")),
            Duration::seconds(600)
        );
        assert_eq!(freshness(&with("max-age=0")), Duration::zero());
        assert_eq!(freshness(&with("no-store")), Duration::zero());
        assert_eq!(freshness(&with("no-cache, max-age=600")), Duration::zero());
        assert_eq!(freshness(&with("max-age=99999999")), MAX_TTL);
        assert_eq!(freshness(&with("private")), DEFAULT_TTL);
    }
}
