//! The connection form ([`ConnectionForm`], posted by the dashboard, a setup link
//! and the admin API) read into a [`ConnectionInput`]: the one place that decides
//! what an absent field means and which IdP input counts.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use gatehouse_core::connection_form::{ConnectionForm, MetadataChoice};
use gatehouse_core::FieldError;

use crate::model::{Connection, IdpConfig};
use crate::sso::connections::{ConnectionInput, MetadataSource, OidcSource};

/// What the form is for, which decides what an absent field means.
#[derive(Debug, Clone, Copy)]
pub enum FormMode<'a> {
    /// A new connection: absent fields take their defaults; the IdP is required.
    Create,
    /// The dashboard's edit form, which shows every field: an unticked checkbox
    /// (absent) is "no"; empty IdP inputs keep the current IdP.
    Replace(&'a Connection),
    /// The admin API's `PATCH`: absent fields keep their values.
    Patch(&'a Connection),
}

impl<'a> FormMode<'a> {
    fn current(self) -> Option<&'a Connection> {
        match self {
            FormMode::Create => None,
            FormMode::Replace(c) | FormMode::Patch(c) => Some(c),
        }
    }
}

/// The form as the domain's input, or the first field that is wrong.
pub fn connection_input(
    form: &ConnectionForm,
    mode: FormMode<'_>,
) -> Result<ConnectionInput, FieldError> {
    let current = mode.current();
    let text = |given: &Option<String>, keep: Option<&str>| -> String {
        given
            .clone()
            .or_else(|| keep.map(str::to_string))
            .unwrap_or_default()
    };
    let allow_idp_initiated = match (form.allow_idp_initiated, mode) {
        (Some(flag), _) => flag.0,
        (None, FormMode::Patch(c)) => c.allow_idp_initiated,
        (None, _) => false,
    };
    let accept_any_email_domain = match (form.accept_any_email_domain, mode) {
        (Some(flag), _) => Some(flag.0),
        (None, FormMode::Replace(_)) if form.email_domains.is_some() => Some(false),
        (None, _) => None,
    };
    Ok(ConnectionInput {
        tenant: text(&form.tenant, current.map(|c| c.tenant.as_str())),
        name: text(&form.name, current.map(|c| c.name.as_str())),
        description: text(&form.description, current.map(|c| c.description.as_str())),
        metadata: metadata_source(form, matches!(mode, FormMode::Create), mode)?,
        redirect_urls: match (&form.redirect_url, current) {
            (Some(list), _) => list.0.clone(),
            (None, Some(c)) => c.redirect_urls.clone(),
            (None, None) => Vec::new(),
        },
        default_redirect_url: text(
            &form.default_redirect_url,
            current.and_then(|c| c.default_redirect_url.as_deref()),
        ),
        allow_idp_initiated,
        email_domains: form.email_domains.as_ref().map(|l| l.0.clone()),
        accept_any_email_domain,
    })
}

/// The IdP settings a setup link's form gives (its only editable part).
pub fn setup_metadata(form: &ConnectionForm) -> Result<MetadataSource, FieldError> {
    metadata_source(form, true, FormMode::Create)?.ok_or_else(|| {
        FieldError::new(
            "metadata",
            "Paste the IdP metadata XML, upload the file, or give its URL.",
        )
    })
}

fn filled(v: &Option<String>) -> Option<String> {
    v.as_ref().filter(|s| !s.trim().is_empty()).cloned()
}

/// The IdP input the form chose (`metadataSource`), or else the first given in
/// Jackson's order. `None`: keep the current IdP (or, when `require`d, an error).
fn metadata_source(
    form: &ConnectionForm,
    require: bool,
    mode: FormMode<'_>,
) -> Result<Option<MetadataSource>, FieldError> {
    let xml = || -> Result<Option<String>, FieldError> {
        if let Some(raw) = filled(&form.raw_metadata) {
            return Ok(Some(raw));
        }
        let Some(encoded) = filled(&form.encoded_raw_metadata) else {
            return Ok(None);
        };
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| FieldError::new("encodedRawMetadata", "This is not base64."))?;
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| FieldError::new("encodedRawMetadata", "This is not UTF-8 text."))
    };
    let chosen = match form.metadata_source {
        Some(MetadataChoice::Xml | MetadataChoice::File) => match xml()? {
            Some(xml) => Some(MetadataSource::Xml(xml)),
            None if require => {
                return Err(FieldError::new(
                    "metadata",
                    "Paste the IdP metadata XML or upload the file.",
                ))
            }
            None => None,
        },
        Some(MetadataChoice::Url) => match filled(&form.metadata_url) {
            Some(url) => Some(MetadataSource::Url(url)),
            None if require => {
                return Err(FieldError::new("metadata_url", "Enter the metadata URL."))
            }
            None => None,
        },
        Some(MetadataChoice::Oidc) => Some(oidc_source(form, mode)),
        None => match xml()? {
            Some(xml) => Some(MetadataSource::Xml(xml)),
            None => match filled(&form.metadata_url) {
                Some(url) => Some(MetadataSource::Url(url)),
                None if filled(&form.oidc_discovery_url).is_some() => Some(oidc_source(form, mode)),
                None => oidc_client_change(form, mode),
            },
        },
    };
    Ok(chosen)
}

/// An OIDC IdP from the form; on update, a client id left empty keeps the current
/// one (an empty secret always keeps the stored secret).
fn oidc_source(form: &ConnectionForm, mode: FormMode<'_>) -> MetadataSource {
    let current_client = match mode.current().map(|c| &c.idp) {
        Some(IdpConfig::Oidc(current)) => Some(current.client_id.clone()),
        _ => None,
    };
    MetadataSource::Oidc(OidcSource {
        discovery_url: form.oidc_discovery_url.clone().unwrap_or_default(),
        client_id: filled(&form.oidc_client_id)
            .or(current_client)
            .unwrap_or_default(),
        client_secret: form.oidc_client_secret.clone(),
    })
}

/// Only the OIDC client id or secret of an OIDC connection sent: the same IdP with
/// the new client.
fn oidc_client_change(form: &ConnectionForm, mode: FormMode<'_>) -> Option<MetadataSource> {
    let Some(IdpConfig::Oidc(current)) = mode.current().map(|c| &c.idp) else {
        return None;
    };
    if form.oidc_client_id.is_none() && form.oidc_client_secret.is_none() {
        return None;
    }
    Some(MetadataSource::Oidc(OidcSource {
        discovery_url: current.discovery_url.clone(),
        client_id: filled(&form.oidc_client_id).unwrap_or_else(|| current.client_id.clone()),
        client_secret: form.oidc_client_secret.clone(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_core::connection_form::{Flag, StringList};

    fn form() -> ConnectionForm {
        ConnectionForm {
            tenant: Some("acme.com".into()),
            ..ConnectionForm::default()
        }
    }

    #[test]
    fn a_chosen_source_wins_over_leftover_inputs() {
        let f = ConnectionForm {
            metadata_source: Some(MetadataChoice::Url),
            raw_metadata: Some("<left-over/>".into()),
            metadata_url: Some("https://idp.test/md".into()),
            ..form()
        };
        let input = connection_input(&f, FormMode::Create).expect("valid");
        assert!(
            matches!(input.metadata, Some(MetadataSource::Url(u)) if u == "https://idp.test/md")
        );
    }

    #[test]
    fn without_a_choice_jacksons_order_applies() {
        let f = ConnectionForm {
            raw_metadata: Some("<x/>".into()),
            metadata_url: Some("https://idp.test/md".into()),
            oidc_discovery_url: Some("https://idp.test".into()),
            ..form()
        };
        let input = connection_input(&f, FormMode::Create).expect("valid");
        assert!(matches!(input.metadata, Some(MetadataSource::Xml(x)) if x == "<x/>"));
        let f = ConnectionForm {
            encoded_raw_metadata: Some(STANDARD.encode("<y/>")),
            ..form()
        };
        let input = connection_input(&f, FormMode::Create).expect("valid");
        assert!(matches!(input.metadata, Some(MetadataSource::Xml(x)) if x == "<y/>"));
    }

    #[test]
    fn broken_encoded_metadata_names_its_field() {
        for bad in ["%%%", &STANDARD.encode([0xff, 0xfe])] {
            let f = ConnectionForm {
                encoded_raw_metadata: Some(bad.to_string()),
                ..form()
            };
            let err = connection_input(&f, FormMode::Create).expect_err("refused");
            assert_eq!(err.field, "encodedRawMetadata");
        }
    }

    #[test]
    fn a_chosen_but_empty_input_is_an_error_on_create() {
        let f = ConnectionForm {
            metadata_source: Some(MetadataChoice::Url),
            ..form()
        };
        let err = connection_input(&f, FormMode::Create).expect_err("refused");
        assert_eq!(err.field, "metadata_url");
        let f = ConnectionForm {
            metadata_source: Some(MetadataChoice::File),
            raw_metadata: Some("  ".into()),
            ..form()
        };
        let err = connection_input(&f, FormMode::Create).expect_err("refused");
        assert_eq!(err.field, "metadata");
    }

    #[test]
    fn setup_links_must_give_an_idp() {
        assert!(setup_metadata(&ConnectionForm::default()).is_err());
    }

    #[test]
    fn flags_absent_on_create_are_no() {
        let f = ConnectionForm {
            redirect_url: Some(StringList(vec!["https://app.test/cb".into()])),
            allow_idp_initiated: Some(Flag(true)),
            ..form()
        };
        let input = connection_input(&f, FormMode::Create).expect("valid");
        assert!(input.allow_idp_initiated);
        assert_eq!(input.redirect_urls, vec!["https://app.test/cb"]);
        let input = connection_input(&form(), FormMode::Create).expect("valid");
        assert!(!input.allow_idp_initiated);
        assert_eq!(input.email_domains, None);
        assert_eq!(input.accept_any_email_domain, None);
    }
}
