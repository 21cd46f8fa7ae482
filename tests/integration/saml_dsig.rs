//! What a signature may make the ACS do before its SignatureValue is checked.
//!
//! libxmlsec1 dereferences each `<ds:Reference>` and runs its transforms first, so
//! every test here starts from a real response signed by the third-party IdP, rewrites
//! its signature to ask for something (a URL, a file, an XPath or XSLT transform, a
//! Manifest, a RetrievalMethod, another element) and checks that the ACS refuses it
//! within a second and that nothing reached a listener the test started.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::sso_support::*;
use crate::support::*;

/// A TCP listener that counts every connection made to it.
struct Canary {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Canary {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let _ = socket
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    .await;
            }
        });
        Self { url, hits }
    }

    async fn assert_untouched(&self) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(
            self.hits.load(Ordering::SeqCst),
            0,
            "the server connected to {}",
            self.url
        );
    }
}

/// A real signed response for a new pending login: `(relay, xml)`.
async fn signed(s: &Sso, sign: &str) -> (String, String) {
    let (_, relay) = s.start(&[]).await;
    let xml = unb64(&s.signed_for(&relay, json!({ "sign": sign })).await);
    (relay, xml)
}

/// Post `xml` for `relay`; it must be refused within a second.
async fn refused_quickly(s: &Sso, relay: &str, xml: &str) -> String {
    let res = tokio::time::timeout(Duration::from_secs(1), s.post_acs(&b64(xml), Some(relay)))
        .await
        .expect("the ACS answers within a second");
    refused(res).await
}

/// The first `<ds:Reference URI="...">`'s URI replaced by `uri`.
fn with_reference_uri(xml: &str, uri: &str) -> String {
    let at = xml.find("<ds:Reference URI=\"").unwrap() + "<ds:Reference URI=\"".len();
    let end = at + xml[at..].find('"').unwrap();
    format!("{}{}{}", &xml[..at], uri, &xml[end..])
}

/// `extra` inserted right after the first `<ds:Transforms>`.
fn with_transform(xml: &str, extra: &str) -> String {
    xml.replacen("<ds:Transforms>", &format!("<ds:Transforms>{extra}"), 1)
}

/// `extra` inserted into the first signature, after its SignatureValue.
fn after_signature_value(xml: &str, extra: &str) -> String {
    xml.replacen(
        "</ds:SignatureValue>",
        &format!("</ds:SignatureValue>{extra}"),
        1,
    )
}

#[tokio::test]
async fn references_to_urls_and_files_are_never_fetched() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let canary = Canary::start().await;
        for sign in ["response", "assertion"] {
            for uri in [
                canary.url.as_str(),
                "file:///dev/zero",
                "file:///etc/passwd",
                "/etc/passwd",
            ] {
                let (relay, xml) = signed(&s, sign).await;
                let tampered = with_reference_uri(&xml, uri);
                assert_ne!(tampered, xml);
                refused_quickly(&s, &relay, &tampered).await;
            }
        }
        canary.assert_untouched().await;
        // the service still works
        s.login(&[]).await;
    })
    .await;
}

#[tokio::test]
async fn xpath_and_xslt_transforms_are_never_run() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let canary = Canary::start().await;
        let xpath = r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xpath-19991116"><ds:XPath>count(//. | //@* | //namespace::*) &gt; 0</ds:XPath></ds:Transform>"#;
        let xslt = format!(
            r#"<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"><xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0"><xsl:template match="/"><xsl:copy-of select="document('{}')"/></xsl:template></xsl:stylesheet></ds:Transform>"#,
            canary.url
        );
        for sign in ["response", "assertion"] {
            for transform in [xpath, xslt.as_str()] {
                let (relay, xml) = signed(&s, sign).await;
                refused_quickly(&s, &relay, &with_transform(&xml, transform)).await;
            }
        }
        canary.assert_untouched().await;
    })
    .await;
}

#[tokio::test]
async fn manifests_and_retrieval_methods_are_never_followed() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let canary = Canary::start().await;
        let manifest = format!(
            r#"<ds:Object><ds:Manifest Id="m"><ds:Reference URI="{}"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:Manifest></ds:Object>"#,
            canary.url
        );
        let retrieval = format!(
            r#"<ds:KeyInfo><ds:RetrievalMethod URI="{}" Type="http://www.w3.org/2000/09/xmldsig#X509Data"/></ds:KeyInfo>"#,
            canary.url
        );
        for sign in ["response", "assertion"] {
            let (relay, xml) = signed(&s, sign).await;
            refused_quickly(&s, &relay, &after_signature_value(&xml, &manifest)).await;

            // a Manifest named by SignedInfo itself
            let (relay, xml) = signed(&s, sign).await;
            let typed = xml.replacen(
                "<ds:Reference URI=\"",
                "<ds:Reference Type=\"http://www.w3.org/2000/09/xmldsig#Manifest\" URI=\"",
                1,
            );
            refused_quickly(&s, &relay, &typed).await;

            // KeyInfo is replaced by one that points elsewhere
            let (relay, xml) = signed(&s, sign).await;
            let a = xml.find("<ds:KeyInfo>").unwrap();
            let b = xml.find("</ds:KeyInfo>").unwrap() + "</ds:KeyInfo>".len();
            let swapped = format!("{}{}{}", &xml[..a], retrieval, &xml[b..]);
            refused_quickly(&s, &relay, &swapped).await;
        }
        canary.assert_untouched().await;
    })
    .await;
}

#[tokio::test]
async fn a_signature_must_cover_the_element_that_holds_it() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        // the assertion's signature pointed at the Response, and at nothing
        let (relay, xml) = signed(&s, "assertion").await;
        let response_id = attribute_of(&xml, "<samlp:Response", "ID");
        refused_quickly(
            &s,
            &relay,
            &with_reference_uri(&xml, &format!("#{response_id}")),
        )
        .await;
        let (relay, xml) = signed(&s, "assertion").await;
        refused_quickly(&s, &relay, &with_reference_uri(&xml, "")).await;
        let (relay, xml) = signed(&s, "response").await;
        let xpointer = format!(
            "#xpointer(id('{}'))",
            attribute_of(&xml, "<samlp:Response", "ID")
        );
        refused_quickly(&s, &relay, &with_reference_uri(&xml, &xpointer)).await;

        // The same with a signature that really verifies: the IdP's own key signs an
        // assertion signature whose Reference names the Response (xmlsec1, a
        // third-party signer). Cryptographically valid, and still refused.
        let (relay, xml) = signed(&s, "assertion").await;
        let response_id = attribute_of(&xml, "<samlp:Response", "ID");
        let template = blank_signature(&with_reference_uri(&xml, &format!("#{response_id}")));
        let resigned = xmlsec1_sign(&template);
        assert!(
            xmlsec1_verifies(&resigned),
            "xmlsec1 accepts its own signature"
        );
        refused_quickly(&s, &relay, &resigned).await;

        // a third signature, anywhere else, is never accepted
        let (relay, xml) = signed(&s, "both").await;
        let a = xml.find("<ds:Signature").unwrap();
        let b = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let copy = format!("<samlp:Extensions>{}</samlp:Extensions>", &xml[a..b]);
        let status = xml.find("<samlp:Status").unwrap();
        let extra = format!("{}{}{}", &xml[..status], copy, &xml[status..]);
        refused_quickly(&s, &relay, &extra).await;
    })
    .await;
}

#[tokio::test]
async fn only_utf8_documents_without_a_dtd_are_read() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (relay, xml) = signed(&s, "response").await;
        let body = xml.trim_start_matches(|c| c != '<');
        let body = body.strip_prefix("<?xml").map_or(body, |rest| {
            rest.split_once("?>").map_or(body, |(_, after)| after)
        });
        // UTF-7 hides "<!DOCTYPE" from a byte-level check
        let utf7 = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-7\"?>+ADw-!DOCTYPE r +AFs-+ADw-!ENTITY x SYSTEM +ACI-file:///etc/passwd+ACI-+AD4-+AF0-+AD4-{body}"
        );
        refused_quickly(&s, &relay, &utf7).await;
        // UTF-16 declared, with a DOCTYPE whose letters are UTF-16LE (NULs between)
        let hidden: String = "<!DOCTYPE r>".chars().flat_map(|c| [c, '\0']).collect();
        let utf16 = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{hidden}{body}");
        refused_quickly(&s, &relay, &utf16).await;
        let latin1 = format!("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{body}");
        refused_quickly(&s, &relay, &latin1).await;
        // the same response, declared UTF-8, is accepted
        let utf8 = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{body}");
        code_from(s.post_acs(&b64(&utf8), Some(&relay)).await).await;
    })
    .await;
}

/// The value of `attr` on the first element starting with `element`.
fn attribute_of(xml: &str, element: &str, attr: &str) -> String {
    let at = xml.find(element).unwrap();
    let tag_end = at + xml[at..].find('>').unwrap();
    let needle = format!(" {attr}=\"");
    let a = at + xml[at..tag_end].find(&needle).unwrap() + needle.len();
    let b = a + xml[a..].find('"').unwrap();
    xml[a..b].to_string()
}

/// The first signature emptied into a template for xmlsec1 (digest and signature
/// values blank, KeyInfo kept).
fn blank_signature(xml: &str) -> String {
    let blank = |xml: &str, tag: &str| {
        let open = format!("<ds:{tag}>");
        let close = format!("</ds:{tag}>");
        let a = xml.find(&open).unwrap() + open.len();
        let b = xml.find(&close).unwrap();
        format!("{}{}", &xml[..a], &xml[b..])
    };
    blank(&blank(xml, "DigestValue"), "SignatureValue")
}

fn keys_dir() -> String {
    format!("{}/end2end/support/keys", env!("CARGO_MANIFEST_DIR"))
}

const ID_ATTRS: [&str; 4] = [
    "--id-attr:ID",
    "urn:oasis:names:tc:SAML:2.0:protocol:Response",
    "--id-attr:ID",
    "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
];

/// Sign the first signature template in `xml` with the test IdP's primary key.
fn xmlsec1_sign(xml: &str) -> String {
    let dir = tempdir();
    let input = dir.join("in.xml");
    std::fs::write(&input, xml).unwrap();
    let keys = keys_dir();
    let out = std::process::Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(format!("{keys}/idp-primary.key,{keys}/idp-primary.crt"))
        .args(ID_ATTRS)
        .arg(&input)
        .output()
        .expect("xmlsec1 (Debian package xmlsec1) runs");
    assert!(
        out.status.success(),
        "xmlsec1 --sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn xmlsec1_verifies(xml: &str) -> bool {
    let dir = tempdir();
    let input = dir.join("signed.xml");
    std::fs::write(&input, xml).unwrap();
    std::process::Command::new("xmlsec1")
        .arg("--verify")
        .arg("--pubkey-cert-pem")
        .arg(format!("{}/idp-primary.crt", keys_dir()))
        .args(ID_ATTRS)
        .arg(&input)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gatehouse-dsig-{}",
        gatehouse_domain::tokens::new_secret()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
