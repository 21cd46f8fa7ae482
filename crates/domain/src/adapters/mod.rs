//! The outside world over HTTP: implementations of the domain's outbound ports
//! ([`crate::outbound::Fetch`], [`crate::ory::OryApi`]). The wiring picks them; tests
//! of the domain may use fakes instead.

pub mod guarded_http;
pub mod ory_console;
