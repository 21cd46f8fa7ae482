//! Cheap checks on untrusted XML before any parser sees it.
//!
//! * DOCTYPE (and with it ENTITY declarations) is refused outright: SAML never needs
//!   one, and it is the door to XXE and entity-expansion attacks.
//! * The XML declaration may only declare UTF-8: the message reached us as UTF-8 text,
//!   and a parser that honoured `encoding="UTF-7"` or `"UTF-16"` would read other
//!   characters than these checks did (a DOCTYPE hidden in UTF-7, say). The XML
//!   libraries are also told to ignore the declaration, and the parsed document is
//!   checked for a DTD again (samael's `crypto::xmlsec::policy`).
//! * A size limit bounds the work an attacker can ask for.

use super::SamlError;

/// Largest SAML message accepted (decoded), in bytes.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;
/// Largest metadata document accepted, in bytes.
pub const MAX_METADATA_BYTES: usize = 1024 * 1024;

pub fn check(xml: &str, limit: usize) -> Result<(), SamlError> {
    if xml.len() > limit {
        return Err(SamlError::TooLarge { limit });
    }
    // Case-insensitive: libxml2 is case-sensitive here, but refusing "<!doctype"
    // costs nothing and removes any doubt.
    let bytes = xml.as_bytes();
    let needle = b"<!doctype";
    if bytes
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
    {
        return Err(SamlError::Doctype);
    }
    if bytes
        .windows(8)
        .any(|w| w.eq_ignore_ascii_case(b"<!entity"))
    {
        return Err(SamlError::Doctype);
    }
    match declared_encoding(xml) {
        Some(e) if !e.eq_ignore_ascii_case("utf-8") => Err(SamlError::Encoding(e.to_string())),
        _ => Ok(()),
    }
}

/// The `encoding` of the XML declaration at the start of `xml`, if it names one.
/// A declaration whose encoding cannot be read is reported as its raw text.
fn declared_encoding(xml: &str) -> Option<&str> {
    let xml = xml.strip_prefix('\u{feff}').unwrap_or(xml);
    let decl = xml.strip_prefix("<?xml")?;
    let decl = &decl[..decl.find("?>").unwrap_or(decl.len())];
    let at = decl.find("encoding")?;
    let rest = decl[at + "encoding".len()..].trim_start();
    let Some(rest) = rest.strip_prefix('=') else {
        return Some(decl.trim());
    };
    let rest = rest.trim_start();
    let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
        return Some(decl.trim());
    };
    let value = &rest[1..];
    Some(value.find(quote).map_or(decl.trim(), |end| &value[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doctype_and_entities_are_refused() {
        assert!(matches!(
            check(
                "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"b\">]><x/>",
                1000
            ),
            Err(SamlError::Doctype)
        ));
        assert!(matches!(
            check("<!doctype x><x/>", 1000),
            Err(SamlError::Doctype)
        ));
        assert!(check("<x>doctype</x>", 1000).is_ok());
    }

    #[test]
    fn only_utf8_may_be_declared() {
        for ok in [
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><x/>",
            "<?xml version='1.0' encoding = 'utf-8' ?><x/>",
            "<?xml version=\"1.0\"?><x/>",
            "<x/>",
            "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?><x/>",
        ] {
            assert!(check(ok, 1000).is_ok(), "{ok}");
        }
        for bad in [
            "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-!DOCTYPE x+AD4-<x/>",
            "<?xml version=\"1.0\" encoding=\"UTF-16\"?><x/>",
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><x/>",
            "<?xml version=\"1.0\" encoding=UTF-16?><x/>",
            "<?xml version=\"1.0\" encoding=\"UTF-8?><x/>",
        ] {
            assert!(
                matches!(check(bad, 1000), Err(SamlError::Encoding(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn size_is_bounded() {
        assert!(matches!(
            check("<x/>", 3),
            Err(SamlError::TooLarge { limit: 3 })
        ));
    }
}
