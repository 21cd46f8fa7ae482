//! Ory Network integration: the console API client and the settings that enable it.
//!
//! API reference: <https://www.ory.sh/docs/reference/api> (console API, base
//! `https://api.console.ory.sh`, bearer auth with a session token `ory_st_…` or a
//! workspace API key `ory_wak_…`).

mod client;
pub mod provider;
pub mod sync;

pub use client::{OryClient, OryError, OryOrganization, OryProject};
pub use provider::provider_id;

/// Is this a token kind the console API accepts?
pub fn token_kind(token: &str) -> Option<&'static str> {
    if token.starts_with("ory_st_") {
        Some("ory_st_")
    } else if token.starts_with("ory_wak_") {
        Some("ory_wak_")
    } else {
        None
    }
}

/// `ory_st_…WXYZ`: enough to recognise a token, useless to an attacker.
pub fn token_hint(token: &str) -> String {
    let prefix = token_kind(token).unwrap_or("");
    let tail: String = token
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{prefix}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_show_kind_and_last_four() {
        assert_eq!(token_hint("ory_st_abcdefgh1234"), "ory_st_…1234");
        assert_eq!(token_hint("ory_wak_zzzzWXYZ"), "ory_wak_…WXYZ");
        assert_eq!(token_kind("bearer"), None);
    }
}
