//! Random identifiers and bearer secrets, and how secrets are compared.
//!
//! * Row ids: `prefix_` + 26 base32 characters (128 random bits).
//! * Bearer secrets (API keys, invite links, setup links, codes): 160+ random bits,
//!   stored only as SHA-256 (they are high-entropy, so a slow hash adds nothing) and
//!   compared in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use openssl::sha::sha256;

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// `n` cryptographically random bytes.
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    // OpenSSL's CSPRNG only fails when it cannot be seeded at all; then nothing
    // secure can be done, and an all-zero buffer must never be used as a secret.
    if let Err(e) = openssl::rand::rand_bytes(&mut buf) {
        tracing::error!(error = %e, "CSPRNG failure");
        std::process::abort();
    }
    buf
}

/// Lower-case base32 without padding (5 bits per character).
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((acc >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// A new row id such as `prod_k3…` (128 random bits).
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", base32(&random_bytes(16)))
}

/// A new row id that sorts after every id this process made before it at `at` or
/// earlier: the time (ms), a per-process sequence, then 80 random bits. For logs
/// listed newest first, whose rows can share a millisecond.
pub fn sortable_id(prefix: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static SEQUENCE: AtomicU32 = AtomicU32::new(0);
    let ms = u64::try_from(at.timestamp_millis()).unwrap_or_default();
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}_{ms:012x}{seq:08x}{}", base32(&random_bytes(10)))
}

/// A new bearer secret: 32 random bytes, base64url (43 characters).
pub fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes(32))
}

/// SHA-256 of a secret, hex encoded: what is stored instead of the secret.
pub fn hash_secret(secret: &str) -> String {
    hex(&sha256(secret.as_bytes()))
}

/// Constant-time comparison of two equal-length byte strings (false if lengths differ).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}

/// Does `secret` hash to `stored_hash`? Constant time in the hash comparison.
pub fn verify_secret(secret: &str, stored_hash: &str) -> bool {
    constant_time_eq(hash_secret(secret).as_bytes(), stored_hash.as_bytes())
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_ids_sort_in_the_order_they_were_made() {
        let t = chrono::DateTime::UNIX_EPOCH + chrono::Duration::days(20_000);
        let ids: Vec<String> = (0..300).map(|_| sortable_id("x", t)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted);
        assert!(sortable_id("x", t - chrono::Duration::milliseconds(1)) < ids[0]);
    }

    #[test]
    fn ids_are_prefixed_and_unique() {
        let a = new_id("prod");
        let b = new_id("prod");
        assert!(a.starts_with("prod_"));
        assert_eq!(a.len(), 5 + 26);
        assert_ne!(a, b);
    }

    #[test]
    fn base32_matches_rfc4648_lowercase() {
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
        assert_eq!(base32(b""), "");
    }

    #[test]
    fn secrets_verify_only_against_their_hash() {
        let s = new_secret();
        let h = hash_secret(&s);
        assert!(verify_secret(&s, &h));
        assert!(!verify_secret("other", &h));
        assert!(!verify_secret(&s, &h[..10]));
        assert!(!constant_time_eq(b"a", b"ab"));
    }
}
