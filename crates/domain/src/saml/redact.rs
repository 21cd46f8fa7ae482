//! A SAML response as a sign-in trace keeps it: the XML with signature values,
//! digests, certificates and encrypted content replaced by `[redacted]`, capped in
//! size. Runs after the sign-in, on whatever was posted (forged or broken input
//! included), and never fails: what cannot be read is described instead.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use quick_xml::events::{BytesText, Event};
use quick_xml::{Reader, Writer};

use super::guard;

/// Most bytes of a redacted response kept.
pub const MAX_KEPT_BYTES: usize = 16 * 1024;

/// Elements whose text is removed: signature material and encrypted data.
const REDACTED: &[&[u8]] = &[
    b"SignatureValue",
    b"DigestValue",
    b"X509Certificate",
    b"X509SKI",
    b"X509Data",
    b"CipherValue",
    b"Modulus",
    b"Exponent",
];

/// The posted `SAMLResponse` (base64) as a trace keeps it.
pub fn redact_encoded(saml_response: &str) -> String {
    let cleaned: Vec<u8> = saml_response
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if cleaned.len() > guard::MAX_MESSAGE_BYTES * 4 / 3 + 4 {
        return format!("(not kept: {} bytes of base64)", cleaned.len());
    }
    match STANDARD.decode(&cleaned) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(xml) => redact_xml(&xml),
            Err(_) => "(not kept: the decoded response is not UTF-8)".into(),
        },
        Err(_) => format!("(not kept: {} bytes that are not base64)", cleaned.len()),
    }
}

/// The XML with signature material removed, capped at [`MAX_KEPT_BYTES`].
pub fn redact_xml(xml: &str) -> String {
    if let Err(e) = guard::check(xml, guard::MAX_MESSAGE_BYTES) {
        return format!("(not kept: {e})");
    }
    let mut reader = Reader::from_str(xml);
    let mut writer = Writer::new(Vec::with_capacity(xml.len().min(MAX_KEPT_BYTES * 2)));
    // Depth inside a redacted element (0: outside).
    let mut hidden = 0usize;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(e) => e,
            Err(e) => {
                return format!(
                    "(not kept in full: not well-formed XML at byte {}: {e})\n{}",
                    reader.buffer_position(),
                    cap(&String::from_utf8_lossy(writer.get_ref()))
                );
            }
        };
        let written = match event {
            Event::Start(s) => {
                if hidden > 0 || REDACTED.contains(&s.local_name().as_ref()) {
                    if hidden == 0 {
                        let _ = writer.write_event(Event::Start(s));
                        let _ = writer.write_event(Event::Text(BytesText::new("[redacted]")));
                    }
                    hidden += 1;
                    Ok(())
                } else {
                    writer.write_event(Event::Start(s))
                }
            }
            Event::End(e) => {
                if hidden > 0 {
                    hidden -= 1;
                    if hidden == 0 {
                        let _ = writer.write_event(Event::End(e));
                    }
                    Ok(())
                } else {
                    writer.write_event(Event::End(e))
                }
            }
            Event::Empty(e) if hidden == 0 => writer.write_event(Event::Empty(e)),
            Event::Text(t) if hidden == 0 => writer.write_event(Event::Text(t)),
            Event::CData(c) if hidden == 0 => writer.write_event(Event::CData(c)),
            Event::GeneralRef(r) if hidden == 0 => writer.write_event(Event::GeneralRef(r)),
            Event::Decl(d) => writer.write_event(Event::Decl(d)),
            // Comments, processing instructions and anything hidden are left out.
            _ => Ok(()),
        };
        if written.is_err() || writer.get_ref().len() > MAX_KEPT_BYTES * 2 {
            break;
        }
    }
    cap(&String::from_utf8_lossy(writer.get_ref()))
}

/// `text` cut at [`MAX_KEPT_BYTES`] (on a character boundary), saying so.
pub fn cap(text: &str) -> String {
    if text.len() <= MAX_KEPT_BYTES {
        return text.to_string();
    }
    let mut end = MAX_KEPT_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… (cut at {MAX_KEPT_BYTES} bytes)", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &str = r##"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="r1"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">https://idp</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:Reference URI="#r1"><ds:DigestValue>ZGlnZXN0</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>c2lnbmF0dXJl</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>TUlJQ2VydA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo></ds:Signature><!-- note --><saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Subject><saml:NameID>jane@acme.com</saml:NameID></saml:Subject></saml:Assertion></samlp:Response>"##;

    #[test]
    fn signature_material_is_removed_and_the_rest_kept() {
        let out = redact_xml(SIGNED);
        for gone in ["ZGlnZXN0", "c2lnbmF0dXJl", "TUlJQ2VydA==", "note"] {
            assert!(!out.contains(gone), "{gone} kept: {out}");
        }
        assert!(
            out.contains("<saml:NameID>jane@acme.com</saml:NameID>"),
            "{out}"
        );
        assert!(out.contains("<ds:SignatureValue>[redacted]</ds:SignatureValue>"));
        assert!(out.contains("<ds:X509Data>[redacted]</ds:X509Data>"));
    }

    #[test]
    fn broken_input_is_described_not_kept_raw() {
        assert!(redact_encoded("!!!not base64").starts_with("(not kept"));
        assert!(redact_xml("<!DOCTYPE x [<!ENTITY a 'b'>]><x>&a;</x>").starts_with("(not kept"));
        let broken = redact_xml("<a><SignatureValue>c2ln</SignatureValue><b></a>");
        assert!(broken.starts_with("(not kept in full"), "{broken}");
        assert!(!broken.contains("c2ln"), "{broken}");
        assert_eq!(redact_encoded(&STANDARD.encode(SIGNED)), redact_xml(SIGNED));
    }

    #[test]
    fn large_responses_are_capped() {
        let big = format!("<r>{}</r>", "é".repeat(MAX_KEPT_BYTES));
        let out = redact_xml(&big);
        assert!(out.len() < MAX_KEPT_BYTES + 64, "{}", out.len());
        assert!(out.ends_with("bytes)"));
    }
}
