//! The admin API's list queries: `pageOffset`, `pageLimit` (as in Jackson's lists)
//! and RFC 3339 instants, each a 400 naming its field when out of range.

use chrono::{DateTime, Utc};
use gatehouse_core::paging::MAX_PAGE_LIMIT;

use super::error::WebError;

/// Most rows a list skips (`pageOffset`).
pub(super) const MAX_OFFSET: u32 = 1_000_000;

pub(super) fn page_offset(raw: Option<u32>) -> Result<u32, WebError> {
    match raw.unwrap_or(0) {
        n if n <= MAX_OFFSET => Ok(n),
        _ => Err(WebError::invalid(
            "pageOffset",
            format!("must be at most {MAX_OFFSET}"),
        )),
    }
}

/// `pageLimit`: at most [`MAX_PAGE_LIMIT`]; 0 or none is the list's default.
pub(super) fn page_limit(raw: Option<u32>) -> Result<u32, WebError> {
    match raw.unwrap_or(0) {
        n if n <= MAX_PAGE_LIMIT => Ok(n),
        _ => Err(WebError::invalid(
            "pageLimit",
            format!("must be at most {MAX_PAGE_LIMIT}"),
        )),
    }
}

pub(super) fn instant(field: &str, raw: Option<&str>) -> Result<Option<DateTime<Utc>>, WebError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| {
                WebError::invalid(
                    field,
                    "must be an RFC 3339 instant, e.g. 2026-12-01T00:00:00Z",
                )
            }),
    }
}
