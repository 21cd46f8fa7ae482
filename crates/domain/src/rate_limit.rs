//! A small in-process rate limiter: at most `limit` events per key per minute
//! (fixed windows). Memory is bounded: past `MAX_KEYS` keys, finished windows are
//! dropped, and if that is not enough the map starts again.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

const MAX_KEYS: usize = 50_000;

#[derive(Debug)]
pub struct RateLimiter {
    limit: u32,
    window: Duration,
    seen: Mutex<HashMap<String, (DateTime<Utc>, u32)>>,
}

impl RateLimiter {
    pub fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            window: Duration::minutes(1),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Count one event for `key` at `now`; `false` when over the limit.
    pub fn allow(&self, key: &str, now: DateTime<Utc>) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= MAX_KEYS {
            let window = self.window;
            seen.retain(|_, (start, _)| now - *start < window);
            if seen.len() >= MAX_KEYS {
                seen.clear();
            }
        }
        let entry = seen.entry(key.to_string()).or_insert((now, 0));
        if now - entry.0 >= self.window {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_applies_per_key_and_resets_each_minute() {
        let r = RateLimiter::per_minute(2);
        let t0 = DateTime::UNIX_EPOCH;
        assert!(r.allow("a", t0));
        assert!(r.allow("a", t0));
        assert!(!r.allow("a", t0));
        assert!(r.allow("b", t0), "another client is not affected");
        assert!(r.allow("a", t0 + Duration::seconds(61)));
    }
}
