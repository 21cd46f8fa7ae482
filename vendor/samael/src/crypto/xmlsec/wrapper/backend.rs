//!
//! Abstraction over API differences between dynamic loading and static OpenSSL
//!

#[cfg(xmlsec_dynamic)]
use crate::crypto::xmlsec::wrapper::bindings as backend_inner;

#[cfg(xmlsec_static)]
mod backend_inner {
    pub use crate::crypto::xmlsec::wrapper::bindings::{
        xmlSecOpenSSLAppInit as xmlSecCryptoAppInit,
        xmlSecOpenSSLAppKeyCertLoad as xmlSecCryptoAppKeyCertLoad,
        xmlSecOpenSSLAppKeyCertLoadMemory as xmlSecCryptoAppKeyCertLoadMemory,
        xmlSecOpenSSLAppKeyLoadMemory as xmlSecCryptoAppKeyLoadMemory,
        xmlSecOpenSSLAppShutdown as xmlSecCryptoAppShutdown, xmlSecOpenSSLInit as xmlSecCryptoInit,
        xmlSecOpenSSLShutdown as xmlSecCryptoShutdown,
    };
}

pub use backend_inner::*;

use crate::crypto::xmlsec::wrapper::bindings;

/// Gatehouse patch: the transforms a Reference may use when verifying untrusted
/// input: enveloped-signature, the canonicalizations, SHA-256/384/512 digests.
pub fn reference_transforms() -> Vec<bindings::xmlSecTransformId> {
    let mut ids = canonicalizations();
    unsafe {
        ids.push(bindings::xmlSecTransformEnvelopedGetKlass());
        ids.extend(digests());
    }
    ids
}

/// Gatehouse patch: what SignedInfo may name: a canonicalization and an RSA or ECDSA
/// signature with SHA-256/384/512.
pub fn signed_info_transforms() -> Vec<bindings::xmlSecTransformId> {
    let mut ids = canonicalizations();
    ids.extend(signatures());
    ids
}

fn canonicalizations() -> Vec<bindings::xmlSecTransformId> {
    unsafe {
        vec![
            bindings::xmlSecTransformExclC14NGetKlass(),
            bindings::xmlSecTransformExclC14NWithCommentsGetKlass(),
            bindings::xmlSecTransformInclC14NGetKlass(),
            bindings::xmlSecTransformInclC14NWithCommentsGetKlass(),
            bindings::xmlSecTransformInclC14N11GetKlass(),
            bindings::xmlSecTransformInclC14N11WithCommentsGetKlass(),
        ]
    }
}

#[cfg(xmlsec_static)]
unsafe fn digests() -> Vec<bindings::xmlSecTransformId> {
    vec![
        bindings::xmlSecOpenSSLTransformSha256GetKlass(),
        bindings::xmlSecOpenSSLTransformSha384GetKlass(),
        bindings::xmlSecOpenSSLTransformSha512GetKlass(),
    ]
}

#[cfg(xmlsec_dynamic)]
unsafe fn digests() -> Vec<bindings::xmlSecTransformId> {
    vec![
        bindings::xmlSecTransformSha256GetKlass(),
        bindings::xmlSecTransformSha384GetKlass(),
        bindings::xmlSecTransformSha512GetKlass(),
    ]
}

#[cfg(xmlsec_static)]
fn signatures() -> Vec<bindings::xmlSecTransformId> {
    unsafe {
        vec![
            bindings::xmlSecOpenSSLTransformRsaSha256GetKlass(),
            bindings::xmlSecOpenSSLTransformRsaSha384GetKlass(),
            bindings::xmlSecOpenSSLTransformRsaSha512GetKlass(),
            bindings::xmlSecOpenSSLTransformEcdsaSha256GetKlass(),
            bindings::xmlSecOpenSSLTransformEcdsaSha384GetKlass(),
            bindings::xmlSecOpenSSLTransformEcdsaSha512GetKlass(),
        ]
    }
}

#[cfg(xmlsec_dynamic)]
fn signatures() -> Vec<bindings::xmlSecTransformId> {
    unsafe {
        vec![
            bindings::xmlSecTransformRsaSha256GetKlass(),
            bindings::xmlSecTransformRsaSha384GetKlass(),
            bindings::xmlSecTransformRsaSha512GetKlass(),
            bindings::xmlSecTransformEcdsaSha256GetKlass(),
            bindings::xmlSecTransformEcdsaSha384GetKlass(),
            bindings::xmlSecTransformEcdsaSha512GetKlass(),
        ]
    }
}
