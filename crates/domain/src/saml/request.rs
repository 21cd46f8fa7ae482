//! AuthnRequest (SAML Core §3.4.1) and how it travels to the IdP.
//!
//! * HTTP-Redirect (Bindings §3.4): deflate, base64, URL parameters; the signature is
//!   over `SAMLRequest=…&RelayState=…&SigAlg=…` (RSA-SHA256 with the SP key).
//! * HTTP-POST (Bindings §3.5), used when the IdP offers no Redirect endpoint: an
//!   enveloped XML signature made by libxmlsec1, in an auto-submitting form.

use std::cell::RefCell;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use flate2::{Compress, Compression, FlushCompress, Status};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use url::Url;

use super::{SamlError, BINDING_POST};

pub const SIG_ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

pub struct AuthnRequestParams {
    /// `_` + 40 hex characters; also the pending request's key.
    pub id: String,
    pub issue_instant: DateTime<Utc>,
    pub destination: String,
    pub acs_url: String,
    pub sp_entity_id: String,
    pub force_authn: bool,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub fn authn_request_xml(p: &AuthnRequestParams, with_signature_template: bool) -> String {
    let force = if p.force_authn {
        " ForceAuthn=\"true\""
    } else {
        ""
    };
    let signature = if with_signature_template {
        format!(
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
             <ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
             <ds:SignatureMethod Algorithm=\"{SIG_ALG_RSA_SHA256}\"/>\
             <ds:Reference URI=\"#{id}\"><ds:Transforms>\
             <ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
             <ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
             <ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/>\
             </ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>",
            id = escape(&p.id)
        )
    } else {
        String::new()
    };
    format!(
        "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" \
         IssueInstant=\"{instant}\" Destination=\"{dest}\" AssertionConsumerServiceURL=\"{acs}\" \
         ProtocolBinding=\"{BINDING_POST}\"{force}><saml:Issuer>{issuer}</saml:Issuer>{signature}\
         <samlp:NameIDPolicy Format=\"urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified\" AllowCreate=\"true\"/>\
         </samlp:AuthnRequest>",
        id = escape(&p.id),
        instant = p.issue_instant.to_rfc3339_opts(SecondsFormat::Secs, true),
        dest = escape(&p.destination),
        acs = escape(&p.acs_url),
        issuer = escape(&p.sp_entity_id),
    )
}

thread_local! {
    /// One raw-deflate compressor per thread, reset for each request. A new one
    /// allocates and zeroes some 300 KB (miniz_oxide's dictionary, hash chains and
    /// output buffers), which cost more than deflating the 600-byte AuthnRequest.
    static DEFLATE: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), false));
}

/// Raw DEFLATE (RFC 1951), as the HTTP-Redirect binding wants it (Bindings §3.4.4.1).
fn deflate(data: &[u8]) -> Result<Vec<u8>, SamlError> {
    DEFLATE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut c) => deflate_with(&mut c, data),
        // Only if deflate ever called itself: a compressor of its own then.
        Err(_) => deflate_with(&mut Compress::new(Compression::fast(), false), data),
    })
}

fn deflate_with(c: &mut Compress, data: &[u8]) -> Result<Vec<u8>, SamlError> {
    c.reset();
    let mut out = Vec::with_capacity(data.len() / 2 + 64);
    // Each round either consumes input or fills the spare capacity, which then
    // doubles; a few rounds at most.
    for _ in 0..64 {
        let done = usize::try_from(c.total_in()).unwrap_or(usize::MAX);
        let rest = data.get(done..).unwrap_or_default();
        match c.compress_vec(rest, &mut out, FlushCompress::Finish) {
            Ok(Status::StreamEnd) => return Ok(out),
            Ok(Status::Ok | Status::BufError) => out.reserve(out.capacity().max(64)),
            Err(e) => return Err(SamlError::Signing(format!("deflate: {e}"))),
        }
    }
    Err(SamlError::Signing("deflate did not finish".into()))
}

/// The IdP URL to redirect the browser to (HTTP-Redirect binding, signed).
pub fn redirect_url(
    p: &AuthnRequestParams,
    relay_state: &str,
    key: &PKey<Private>,
) -> Result<String, SamlError> {
    let xml = authn_request_xml(p, false);
    let saml_request = STANDARD.encode(deflate(xml.as_bytes())?);

    // The signed string is built from the URL-encoded values, in this order.
    let signed_part = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("SAMLRequest", &saml_request)
        .append_pair("RelayState", relay_state)
        .append_pair("SigAlg", SIG_ALG_RSA_SHA256)
        .finish();
    let mut signer =
        Signer::new(MessageDigest::sha256(), key).map_err(|e| SamlError::Signing(e.to_string()))?;
    signer
        .update(signed_part.as_bytes())
        .map_err(|e| SamlError::Signing(e.to_string()))?;
    let signature = signer
        .sign_to_vec()
        .map_err(|e| SamlError::Signing(e.to_string()))?;
    let query = format!(
        "{signed_part}&{}",
        url::form_urlencoded::Serializer::new(String::new())
            .append_pair("Signature", &STANDARD.encode(signature))
            .finish()
    );
    let mut url = Url::parse(&p.destination)
        .map_err(|_| SamlError::Metadata(format!("bad SSO URL {}", p.destination)))?;
    let combined = match url.query() {
        Some(existing) if !existing.is_empty() => format!("{existing}&{query}"),
        _ => query,
    };
    url.set_query(Some(&combined));
    Ok(url.into())
}

/// A signed AuthnRequest for the HTTP-POST binding, base64 encoded.
pub fn post_request(p: &AuthnRequestParams, key_der: &[u8]) -> Result<String, SamlError> {
    use samael::crypto::{Crypto, CryptoProvider};
    let xml = authn_request_xml(p, true);
    let signed = Crypto::sign_xml(xml, key_der).map_err(|e| SamlError::Signing(e.to_string()))?;
    Ok(STANDARD.encode(signed))
}

/// A fresh request id: `_` + 40 hex characters (XML NCName, 160 random bits).
pub fn new_request_id() -> String {
    format!("_{}", crate::tokens::hex(&crate::tokens::random_bytes(20)))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::deflate;

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match flate2::read::DeflateDecoder::new(data).read_to_end(&mut out) {
            Ok(_) => out,
            Err(e) => panic!("not raw DEFLATE: {e}"),
        }
    }

    /// The per-thread compressor is reset between uses: each output stands alone,
    /// whatever came before it (a short input after a long one, and the same input
    /// twice gives the same bytes).
    #[test]
    fn the_reused_compressor_gives_each_input_a_stream_of_its_own() {
        let small = b"<samlp:AuthnRequest ID=\"_1\"/>".to_vec();
        // Incompressible enough to outgrow the first output buffer several times.
        let mut large = Vec::new();
        let mut x: u32 = 1;
        for _ in 0..200_000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            large.push((x >> 16) as u8);
        }
        for input in [&small, &large, &small, &Vec::new()] {
            match deflate(input) {
                Ok(d) => assert_eq!(&inflate(&d), input),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(deflate(&small).ok(), deflate(&small).ok());
    }
}
