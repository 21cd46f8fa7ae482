//! Admin API request bodies and queries, read into typed structs: JSON or
//! form-encoded bodies, as with Jackson. A value of the wrong shape is a 400 that
//! names its field, in the API's error format.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use gatehouse_core::Tenant;
use serde::de::DeserializeOwned;

use super::error::WebError;

/// A request body of type `T`, from JSON (`application/json`, or no content type and
/// a body starting with `{`) or a form (`application/x-www-form-urlencoded`).
pub struct ApiBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiBody<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| WebError::invalid("body", e.body_text()))?;
        parse_body(&headers, &body).map(ApiBody)
    }
}

fn parse_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, WebError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json") || (ct.is_empty() && body.first() == Some(&b'{')) {
        if !body.trim_ascii_start().starts_with(b"{") {
            return Err(WebError::invalid("body", "must be a JSON object"));
        }
        let de = &mut serde_json::Deserializer::from_slice(body);
        serde_path_to_error::deserialize(de).map_err(field_error)
    } else {
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(body));
        serde_path_to_error::deserialize(de).map_err(field_error)
    }
}

/// The query string as `T`.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(field_error)
    }
}

fn field_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> WebError {
    let path = e.path().to_string();
    let field = if path.is_empty() || path == "." {
        "body".to_string()
    } else {
        path
    };
    WebError::invalid(&field, e.inner().to_string())
}

/// The `tenant` a request must name.
pub fn required_tenant(tenant: Option<&Tenant>) -> Result<Tenant, WebError> {
    match tenant {
        Some(t) => Ok(t.clone()),
        None => Tenant::parse("").map_err(WebError::api),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use gatehouse_core::connection_form::{ConnectionForm, Flag, StringList};

    fn headers(ct: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(ct).expect("ascii"),
        );
        h
    }

    #[test]
    fn json_and_form_bodies_read_the_same() {
        let json: ConnectionForm = parse_body(
            &headers("application/json"),
            &Bytes::from_static(br#"{"tenant":"acme.com","redirectUrl":["https://a.test/cb"],"allowIdpInitiated":true}"#),
        )
        .expect("json");
        let form: ConnectionForm = parse_body(
            &headers("application/x-www-form-urlencoded"),
            &Bytes::from_static(b"tenant=acme.com&redirectUrl=%5B%22https%3A%2F%2Fa.test%2Fcb%22%5D&allowIdpInitiated=true"),
        )
        .expect("form");
        assert_eq!(json, form);
        assert_eq!(
            json.redirect_url,
            Some(StringList(vec!["https://a.test/cb".into()]))
        );
        assert_eq!(json.allow_idp_initiated, Some(Flag(true)));
    }

    #[test]
    fn a_wrong_shape_names_its_field() {
        let cases: [(&str, &[u8], &str); 4] = [
            ("application/json", br#"{"tenant": 5}"#, "tenant"),
            (
                "application/json",
                br#"{"allowIdpInitiated": "perhaps"}"#,
                "allowIdpInitiated",
            ),
            ("application/json", br#"["not", "an", "object"]"#, "body"),
            (
                "application/x-www-form-urlencoded",
                b"redirectUrl=%5Bbroken",
                "redirectUrl",
            ),
        ];
        for (ct, body, field) in cases {
            let Err(WebError::Api(gatehouse_domain::DomainError::Invalid(e))) =
                parse_body::<ConnectionForm>(&headers(ct), &Bytes::copy_from_slice(body))
            else {
                panic!("accepted {}", String::from_utf8_lossy(body));
            };
            assert_eq!(e.field, field, "{}", String::from_utf8_lossy(body));
        }
    }
}
