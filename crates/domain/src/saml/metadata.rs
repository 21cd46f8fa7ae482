//! IdP metadata: parse, validate, and reduce to what a connection needs.
//!
//! Required (SAML 2.0 Metadata, §2.4.3): an `EntityDescriptor` with an `entityID`, an
//! `IDPSSODescriptor` with a `SingleSignOnService` for the HTTP-Redirect or HTTP-POST
//! binding, and at least one signing certificate (`KeyDescriptor` with `use="signing"`
//! or no `use`). Several certificates are kept, for rotation. An
//! `EntitiesDescriptor` holding exactly one IdP is accepted too.

use std::str::FromStr;

use samael::metadata::{EntityDescriptor, EntityDescriptorType, IdpSsoDescriptor};
use serde::{Deserialize, Serialize};

use super::certs::PinnedCert;
use super::{guard, SamlError, BINDING_POST, BINDING_REDIRECT};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// HTTP-Redirect SSO endpoint, if offered.
    pub sso_redirect_url: Option<String>,
    /// HTTP-POST SSO endpoint, if offered.
    pub sso_post_url: Option<String>,
    pub certificates: Vec<PinnedCert>,
    pub want_authn_requests_signed: bool,
}

impl IdpMetadata {
    pub fn parse(xml: &str) -> Result<Self, SamlError> {
        guard::check(xml, guard::MAX_METADATA_BYTES)?;
        let trimmed = xml.trim_start_matches('\u{feff}').trim();
        if trimmed.is_empty() {
            return Err(SamlError::Metadata("the metadata is empty".into()));
        }
        match root_element(trimmed).as_deref() {
            Some("EntityDescriptor") | Some("EntitiesDescriptor") => {}
            Some(other) => {
                return Err(SamlError::Metadata(format!(
                    "not SAML metadata: expected an EntityDescriptor, found <{other}>"
                )))
            }
            None => {
                return Err(SamlError::Metadata(
                    "not SAML metadata: this is not XML".into(),
                ))
            }
        }
        let entity = parse_entity(trimmed)?;
        let entity_id = entity
            .entity_id
            .clone()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .ok_or_else(|| SamlError::Metadata("the EntityDescriptor has no entityID".into()))?;
        let descriptors = entity.idp_sso_descriptors.clone().unwrap_or_default();
        let idp: &IdpSsoDescriptor = descriptors.first().ok_or_else(|| {
            SamlError::Metadata(
                "no IDPSSODescriptor: this looks like service-provider metadata, not the identity provider's".into(),
            )
        })?;

        let endpoint = |binding: &str| {
            idp.single_sign_on_services
                .iter()
                .find(|e| e.binding == binding)
                .map(|e| e.location.trim().to_string())
                .filter(|l| !l.is_empty())
        };
        let sso_redirect_url = endpoint(BINDING_REDIRECT);
        let sso_post_url = endpoint(BINDING_POST);
        if sso_redirect_url.is_none() && sso_post_url.is_none() {
            return Err(SamlError::Metadata(
                "no SingleSignOnService with the HTTP-Redirect or HTTP-POST binding".into(),
            ));
        }
        for url in sso_redirect_url.iter().chain(sso_post_url.iter()) {
            let parsed = url::Url::parse(url).map_err(|_| {
                SamlError::Metadata(format!(
                    "the SingleSignOnService location “{url}” is not a URL"
                ))
            })?;
            if !matches!(parsed.scheme(), "https" | "http") {
                return Err(SamlError::Metadata(format!(
                    "the SingleSignOnService location “{url}” must be an http(s) URL"
                )));
            }
        }

        let mut certificates: Vec<PinnedCert> = Vec::new();
        for kd in &idp.key_descriptors {
            let signing = match kd.key_use.as_deref() {
                None | Some("") | Some("signing") => true,
                Some(_) => false,
            };
            if !signing {
                continue;
            }
            for body in kd
                .key_info
                .x509_data
                .iter()
                .flat_map(|d| d.certificates.iter())
            {
                let cert = PinnedCert::from_base64(body)?;
                if !certificates.iter().any(|c| c.sha256 == cert.sha256) {
                    certificates.push(cert);
                }
            }
        }
        if certificates.is_empty() {
            return Err(SamlError::Metadata(
                "no signing certificate (KeyDescriptor use=\"signing\" with an X509Certificate)"
                    .into(),
            ));
        }

        Ok(Self {
            entity_id,
            sso_redirect_url,
            sso_post_url,
            certificates,
            want_authn_requests_signed: idp.want_authn_requests_signed.unwrap_or(false),
        })
    }
}

fn parse_entity(xml: &str) -> Result<EntityDescriptor, SamlError> {
    match EntityDescriptorType::from_str(xml) {
        Ok(EntityDescriptorType::EntityDescriptor(e)) => Ok(e),
        Ok(EntityDescriptorType::EntitiesDescriptor(all)) => {
            let idps: Vec<EntityDescriptor> = all
                .descriptors
                .into_iter()
                .filter_map(|d| match d {
                    EntityDescriptorType::EntityDescriptor(e)
                        if e.idp_sso_descriptors.is_some() =>
                    {
                        Some(e)
                    }
                    _ => None,
                })
                .collect();
            match idps.len() {
                1 => idps
                    .into_iter()
                    .next()
                    .ok_or_else(|| SamlError::Metadata("no identity provider in the EntitiesDescriptor".into())),
                0 => Err(SamlError::Metadata("no identity provider in the EntitiesDescriptor".into())),
                n => Err(SamlError::Metadata(format!(
                    "the EntitiesDescriptor lists {n} identity providers; upload the metadata of just one"
                ))),
            }
        }
        Err(_) => match EntityDescriptor::from_str(xml) {
            Ok(e) => Ok(e),
            Err(e) => Err(SamlError::Metadata(format!(
                "not SAML metadata (expected an EntityDescriptor): {}",
                first_line(&e.to_string())
            ))),
        },
    }
}

/// The local name of the document's root element, if it is well-formed enough to have one.
fn root_element(xml: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e)) => {
                return Some(String::from_utf8_lossy(e.local_name().as_ref()).to_string())
            }
            Ok(quick_xml::events::Event::Eof) | Err(_) => return None,
            Ok(_) => {}
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(160).collect()
}
