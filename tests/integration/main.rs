#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! All integration tests in one binary (one link instead of many).
//! Every test runs on each engine in `GATEHOUSE_TEST_ENGINES` (default: sqlite,postgres).

mod support;

mod accounts;
mod isolation;
mod ory_settings;
mod products;
mod server;
