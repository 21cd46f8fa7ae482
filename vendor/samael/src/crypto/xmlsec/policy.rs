//! Gatehouse patch: what an untrusted document may ask of libxmlsec1.
//!
//! libxmlsec1 dereferences every `<ds:Reference>` and runs its transforms *before* it
//! checks the SignatureValue, so anything it is allowed to do, an anonymous sender can
//! make it do. This module refuses a document, on the same libxml2 tree libxmlsec1
//! would be given, unless every signature in it is an enveloped signature of the
//! element that holds it, in the shape XML-DSig profiles of SAML and metadata use:
//!
//! * no DTD (internal or external subset) in the parsed document;
//! * at most [`MAX_SIGNATURES`] `<ds:Signature>` elements;
//! * each has one `<ds:SignedInfo>` with exactly one `<ds:Reference>`, whose `URI` is
//!   `""` (the signature's parent is the document element) or `#id` where `id` is the
//!   `ID` of the signature's parent element: never a URL, a file, an XPointer;
//! * no `Type` on a Reference; every `<ds:Transform>` and `<ds:CanonicalizationMethod>`
//!   anywhere is enveloped-signature or a canonicalization, with no content but
//!   exclusive c14n's `InclusiveNamespaces`;
//! * no `<ds:Manifest>`, `<ds:Object>`, `<ds:RetrievalMethod>` anywhere; `<ds:KeyInfo>`
//!   holds only `X509Data`, `KeyName` or `KeyValue` (never read: the key is pinned).
//!
//! The verification context is also configured to refuse the same things
//! (`XmlSecSignatureContext::new_for_verification`), so a change of library default
//! cannot reopen them.

use libxml::tree::{Document, Node};

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

/// Most signatures one document may carry (a SAML Response and its Assertion).
pub const MAX_SIGNATURES: usize = 2;

/// Transform and canonicalization algorithms a signature may name.
pub const ALLOWED_TRANSFORMS: &[&str] = &[
    "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2006/12/xml-c14n11",
    "http://www.w3.org/2006/12/xml-c14n11#WithComments",
];

/// Why a document was refused before any signature work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyViolation {
    #[error("the document has a DTD")]
    Dtd,
    #[error("the document has {0} signatures (at most {MAX_SIGNATURES})")]
    TooManySignatures(usize),
    #[error("a signature must have one SignedInfo with exactly one Reference")]
    SignatureShape,
    #[error("a signature's Reference must name the element that holds it (URI {0:?})")]
    Reference(String),
    #[error("the transform or canonicalization {0:?} is not allowed")]
    Transform(String),
    #[error("<ds:{0}> is not allowed")]
    Element(String),
}

/// Check `doc` (parsed, before libxmlsec1 sees it). See the module doc.
pub fn check(doc: &Document) -> Result<(), PolicyViolation> {
    if has_dtd(doc) {
        return Err(PolicyViolation::Dtd);
    }
    let Some(root) = doc.get_root_element() else {
        return Ok(());
    };
    let mut signatures = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(node) = stack.pop() {
        if is_dsig(&node) {
            check_dsig_element(&node)?;
            if node.get_name() == "Signature" {
                signatures.push(node.clone());
                if signatures.len() > MAX_SIGNATURES {
                    return Err(PolicyViolation::TooManySignatures(signatures.len()));
                }
            }
        }
        stack.extend(node.get_child_elements());
    }
    for signature in &signatures {
        check_signature(signature, &root)?;
    }
    Ok(())
}

fn has_dtd(doc: &Document) -> bool {
    let ptr = doc.doc_ptr();
    // SAFETY: `doc` owns a live xmlDoc for as long as it is borrowed.
    unsafe { !(*ptr).intSubset.is_null() || !(*ptr).extSubset.is_null() }
}

fn is_dsig(node: &Node) -> bool {
    node.get_namespace()
        .map(|ns| ns.get_href() == DSIG)
        .unwrap_or(false)
}

fn check_dsig_element(node: &Node) -> Result<(), PolicyViolation> {
    let name = node.get_name();
    match name.as_str() {
        "Manifest" | "Object" | "RetrievalMethod" | "SignatureProperties" => {
            Err(PolicyViolation::Element(name))
        }
        "Transform" | "CanonicalizationMethod" => {
            let algorithm = node.get_attribute("Algorithm").unwrap_or_default();
            if !ALLOWED_TRANSFORMS.contains(&algorithm.as_str()) {
                return Err(PolicyViolation::Transform(algorithm));
            }
            for child in node.get_child_elements() {
                let inclusive_namespaces = child.get_name() == "InclusiveNamespaces"
                    && child
                        .get_namespace()
                        .map(|ns| ns.get_href() == EXC_C14N)
                        .unwrap_or(false);
                if !inclusive_namespaces {
                    return Err(PolicyViolation::Transform(format!(
                        "{algorithm} with <{}>",
                        child.get_name()
                    )));
                }
            }
            Ok(())
        }
        "KeyInfo" => {
            for child in node.get_child_elements() {
                let child_name = child.get_name();
                if !is_dsig(&child)
                    || !matches!(child_name.as_str(), "X509Data" | "KeyName" | "KeyValue")
                {
                    return Err(PolicyViolation::Element(format!("KeyInfo/{child_name}")));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_signature(signature: &Node, root: &Node) -> Result<(), PolicyViolation> {
    let signed_infos: Vec<Node> = dsig_children(signature, "SignedInfo");
    let [signed_info] = signed_infos.as_slice() else {
        return Err(PolicyViolation::SignatureShape);
    };
    let references = dsig_children(signed_info, "Reference");
    let [reference] = references.as_slice() else {
        return Err(PolicyViolation::SignatureShape);
    };
    if reference.has_attribute("Type") {
        return Err(PolicyViolation::Reference(
            reference.get_attribute("Type").unwrap_or_default(),
        ));
    }
    let Some(uri) = reference.get_attribute("URI") else {
        return Err(PolicyViolation::Reference("(missing)".into()));
    };
    let Some(parent) = signature.get_parent().filter(Node::is_element_node) else {
        return Err(PolicyViolation::Reference(uri));
    };
    let names_parent = if uri.is_empty() {
        parent.node_ptr() == root.node_ptr()
    } else {
        match uri.strip_prefix('#') {
            Some(id) if is_ncname(id) => parent.get_attribute("ID").as_deref() == Some(id),
            _ => false,
        }
    };
    if names_parent {
        Ok(())
    } else {
        Err(PolicyViolation::Reference(uri))
    }
}

fn dsig_children(node: &Node, name: &str) -> Vec<Node> {
    node.get_child_elements()
        .into_iter()
        .filter(|c| is_dsig(c) && c.get_name() == name)
        .collect()
}

/// An XML NCName, conservatively: what SAML IDs look like (letters, digits, `_-.`,
/// not starting with a digit, `-` or `.`). Rules out `xpointer(...)` and friends.
fn is_ncname(id: &str) -> bool {
    let mut chars = id.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use libxml::parser::Parser;

    fn doc(xml: &str) -> Document {
        Parser::default().parse_string(xml).unwrap()
    }

    fn signed(reference: &str, transforms: &str, extra: &str) -> String {
        format!(
            r##"<r:Response xmlns:r="urn:r" ID="resp"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>{reference}<ds:Transforms>{transforms}</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AA==</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AA==</ds:SignatureValue>{extra}</ds:Signature><r:Other ID="other"/></r:Response>"##
        )
    }

    const ENVELOPED: &str = r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="xs"/></ds:Transform>"#;

    #[test]
    fn an_enveloped_signature_of_its_parent_passes() {
        assert_eq!(
            check(&doc(&signed(
                r##"<ds:Reference URI="#resp">"##,
                ENVELOPED,
                ""
            ))),
            Ok(())
        );
        assert_eq!(
            check(&doc(&signed(r#"<ds:Reference URI="">"#, ENVELOPED, ""))),
            Ok(())
        );
        let key_info = r#"<ds:KeyInfo><ds:X509Data><ds:X509Certificate>AA==</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#;
        assert_eq!(
            check(&doc(&signed(
                r##"<ds:Reference URI="#resp">"##,
                ENVELOPED,
                key_info
            ))),
            Ok(())
        );
    }

    #[test]
    fn references_outside_the_signed_parent_are_refused() {
        for uri in [
            "http://127.0.0.1:9/",
            "file:///dev/zero",
            "file:///etc/passwd",
            "#other",
            "#xpointer(/)",
            "#xpointer(id('resp'))",
            "resp",
            "#",
        ] {
            let xml = signed(&format!(r#"<ds:Reference URI="{uri}">"#), ENVELOPED, "");
            assert!(
                matches!(check(&doc(&xml)), Err(PolicyViolation::Reference(_))),
                "{uri}"
            );
        }
        let no_uri = signed("<ds:Reference>", ENVELOPED, "");
        assert!(matches!(
            check(&doc(&no_uri)),
            Err(PolicyViolation::Reference(_))
        ));
        let typed = signed(
            r##"<ds:Reference URI="#resp" Type="http://www.w3.org/2000/09/xmldsig#Manifest">"##,
            ENVELOPED,
            "",
        );
        assert!(matches!(
            check(&doc(&typed)),
            Err(PolicyViolation::Reference(_))
        ));
    }

    #[test]
    fn transforms_outside_the_allow_list_are_refused() {
        let xpath = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>1</ds:XPath></ds:Transform>"#;
        let xslt = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>"#;
        let base64 = r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#base64"/>"#;
        let sneaky = r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ds:XPath>1</ds:XPath></ds:Transform>"#;
        for t in [xpath, xslt, base64, sneaky] {
            let xml = signed(r##"<ds:Reference URI="#resp">"##, t, "");
            assert!(
                matches!(check(&doc(&xml)), Err(PolicyViolation::Transform(_))),
                "{t}"
            );
        }
    }

    #[test]
    fn manifests_objects_and_retrieval_methods_are_refused() {
        let manifest = r#"<ds:Object><ds:Manifest><ds:Reference URI="http://127.0.0.1:9/"/></ds:Manifest></ds:Object>"#;
        let retrieval =
            r#"<ds:KeyInfo><ds:RetrievalMethod URI="http://127.0.0.1:9/"/></ds:KeyInfo>"#;
        let encrypted_key = r#"<ds:KeyInfo><xenc:EncryptedKey xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"/></ds:KeyInfo>"#;
        for extra in [manifest, retrieval, encrypted_key] {
            let xml = signed(r##"<ds:Reference URI="#resp">"##, ENVELOPED, extra);
            assert!(
                matches!(check(&doc(&xml)), Err(PolicyViolation::Element(_))),
                "{extra}"
            );
        }
    }

    #[test]
    fn more_than_two_signatures_or_two_references_are_refused() {
        let one = signed(r##"<ds:Reference URI="#resp">"##, ENVELOPED, "");
        let start = one.find("<ds:Signature").unwrap();
        let end = one.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let sig = &one[start..end];
        let three = one.replacen(sig, &format!("{sig}{sig}{sig}"), 1);
        assert_eq!(
            check(&doc(&three)),
            Err(PolicyViolation::TooManySignatures(3))
        );
        let two_refs = one.replacen(
            "<ds:Reference URI=\"#resp\">",
            "<ds:Reference URI=\"#resp\"><ds:DigestMethod/></ds:Reference><ds:Reference URI=\"#resp\">",
            1,
        );
        assert_eq!(check(&doc(&two_refs)), Err(PolicyViolation::SignatureShape));
    }
}
