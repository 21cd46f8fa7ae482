//! Cheap checks on untrusted XML before any parser sees it.
//!
//! * DOCTYPE (and with it ENTITY declarations) is refused outright: SAML never needs
//!   one, and it is the door to XXE and entity-expansion attacks.
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
    Ok(())
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
    fn size_is_bounded() {
        assert!(matches!(
            check("<x/>", 3),
            Err(SamlError::TooLarge { limit: 3 })
        ));
    }
}
