//! The SAML `RelayState` Gatehouse sends with an AuthnRequest and gets back at the ACS.
//!
//! - App sign-ins: `<request id>.<connection id>` (73 characters, within the 80 bytes
//!   the SAML bindings allow). The ACS then knows whose pinned certificates verify the
//!   response without reading the pending request first, and answers it in one write
//!   that consumes the request only if it was made for that connection
//!   ([`crate::model::SignInResult::AppCode`]). Naming another connection here therefore
//!   gains nothing: its certificates must have signed a response to *this* request id,
//!   and the request must have been made for it.
//! - Test sign-ins (dashboard, setup links): `<request id>`; the ACS reads the pending
//!   request to learn what is being tested.
//!
//! Anything else (an IdP's own RelayState on an IdP-initiated response, say) is not
//! ours and is ignored.

use crate::model::{LoginPurpose, LoginTarget, PendingLogin};

/// The RelayState to send with `pending`'s AuthnRequest.
pub fn for_request(pending: &PendingLogin) -> String {
    match (&pending.purpose, &pending.target) {
        (LoginPurpose::App, LoginTarget::Connection(id)) => for_app(&pending.id, id),
        _ => pending.id.clone(),
    }
}

/// The RelayState of an app sign-in.
fn for_app(request_id: &str, connection_id: &str) -> String {
    format!("{request_id}.{connection_id}")
}

/// An app sign-in's RelayState, read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppRelay<'a> {
    pub request_id: &'a str,
    pub connection_id: &'a str,
}

/// Whether `s` has the shape of our request ids (`_` and 40 hex digits, see
/// [`crate::saml::request::new_request_id`]).
fn is_request_id(s: &str) -> bool {
    s.len() == 41
        && s.starts_with('_')
        && s[1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_connection_id(s: &str) -> bool {
    s.starts_with("conn_")
        && (6..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `Some` only for exactly the shape [`for_app`] makes.
pub fn parse_app(relay_state: &str) -> Option<AppRelay<'_>> {
    let (request_id, connection_id) = relay_state.split_once('.')?;
    (is_request_id(request_id) && is_connection_id(connection_id)).then_some(AppRelay {
        request_id,
        connection_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::request::new_request_id;
    use crate::tokens::new_id;

    #[test]
    fn an_app_relay_state_reads_back_and_fits_in_80_bytes() {
        let (id, conn) = (new_request_id(), new_id("conn"));
        let rs = for_app(&id, &conn);
        assert!(rs.len() <= 80, "{} bytes", rs.len());
        assert_eq!(
            parse_app(&rs),
            Some(AppRelay {
                request_id: &id,
                connection_id: &conn
            })
        );
    }

    #[test]
    fn other_relay_states_are_not_app_relay_states() {
        let id = new_request_id();
        for rs in [
            id.clone(),
            "https://app.example.com/welcome".to_string(),
            format!("{id}."),
            format!("{id}.conn_"),
            format!("{id}.conn_ABC"),
            format!("{id}.team_abc"),
            format!("{}.conn_abc", &id[..40]),
            format!("{}.conn_abc", id.to_uppercase()),
            format!("{id}.conn_abc.conn_def"),
        ] {
            assert_eq!(parse_app(&rs), None, "{rs}");
        }
    }
}
