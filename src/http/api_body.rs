//! Admin API request bodies: JSON or form-encoded, as with Jackson.

use axum::body::Bytes;
use axum::http::{header, HeaderMap};
use serde_json::{Map, Value};

use super::error::WebError;

/// JSON or form body → a JSON object.
pub fn body_object(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, WebError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json") || (ct.is_empty() && body.first() == Some(&b'{')) {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(WebError::invalid("body", "must be a JSON object")),
        }
    } else {
        Ok(url::form_urlencoded::parse(body)
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect())
    }
}

pub fn text(m: &Map<String, Value>, k: &str) -> Option<String> {
    match m.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    }
}
