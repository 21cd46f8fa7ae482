//! The IdP settings input shared by the dashboard and the setup page: SAML metadata
//! (a file, pasted XML or a URL) or an OIDC provider's discovery URL and client.

use leptos::prelude::*;

use crate::components::*;

/// The IdP inputs: SAML metadata (paste XML, upload a file, or give a URL), or an
/// OpenID Connect IdP (issuer or discovery URL, client id and secret).
#[component]
pub fn MetadataInput(
    #[prop(into)] error_xml: Signal<Option<String>>,
    #[prop(into)] error_url: Signal<Option<String>>,
    /// Errors of `oidc_discovery_url`, `oidc_client_id`, `oidc_client_secret`.
    #[prop(into)]
    error_oidc: Signal<Option<String>>,
    optional: bool,
    /// Where the IdP sends users back (to register there), when known.
    #[prop(into, optional)]
    oidc_redirect_uri: Signal<Option<String>>,
    /// `saml` or `oidc`: what the form starts with.
    #[prop(optional)]
    protocol: Option<&'static str>,
) -> impl IntoView {
    let start = if protocol == Some("oidc") {
        "oidc"
    } else {
        "xml"
    };
    let (source, set_source) = signal(start.to_string());
    let (xml, set_xml) = signal(String::new());
    let (file_note, set_file_note) = signal(None::<String>);
    let on_file = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            let input: web_sys::HtmlInputElement = event_target(&ev);
            if let Some(file) = input.files().and_then(|f| f.get(0)) {
                let name = file.name();
                leptos::task::spawn_local(async move {
                    match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                        Ok(text) => {
                            set_xml.set(text.as_string().unwrap_or_default());
                            set_file_note.set(Some(format!("Loaded {name}.")));
                        }
                        Err(_) => set_file_note.set(Some(format!("Could not read {name}."))),
                    }
                });
            }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (&ev, &set_xml, &set_file_note);
        }
    };
    let choice = move |value: &'static str, label: &'static str| {
        view! {
            <label class="flex items-center gap-2 text-sm">
                <input type="radio" name="metadataSource" value=value prop:checked=move || source.get() == value
                    on:change=move |_| set_source.set(value.to_string()) />
                {label}
            </label>
        }
    };
    view! {
        <fieldset>
            <legend class=LABEL>"Identity provider" {optional.then_some(" (leave empty to keep the current settings)")}</legend>
            <div class="mt-2 flex flex-wrap gap-5">
                {choice("xml", "SAML: paste XML")}
                {choice("file", "SAML: upload file")}
                {choice("url", "SAML: metadata URL")}
                {choice("oidc", "OpenID Connect")}
            </div>
            <div class="mt-3 space-y-3" class:hidden=move || source.get() != "oidc" data-testid="oidc-fields">
                {move || oidc_redirect_uri.get().map(|uri| view! {
                    <dl><CopyField label="Redirect URI to register at the IdP" value=uri testid="oidc-redirect-uri" /></dl>
                })}
                <div>
                    <label class=LABEL for="oidc_discovery_url">"Issuer or discovery URL"</label>
                    <input class=INPUT id="oidc_discovery_url" name="oidcDiscoveryUrl" type="url" placeholder="https://idp.example.com" data-testid="oidc-discovery-url" />
                </div>
                <div>
                    <label class=LABEL for="oidc_client_id">"Client ID"</label>
                    <input class=INPUT id="oidc_client_id" name="oidcClientId" autocomplete="off" data-testid="oidc-client-id" />
                </div>
                <div>
                    <label class=LABEL for="oidc_client_secret">"Client secret" {optional.then_some(" (leave empty to keep it)")}</label>
                    <input class=INPUT id="oidc_client_secret" name="oidcClientSecret" type="password" autocomplete="new-password" data-testid="oidc-client-secret" />
                </div>
                <p class="text-xs text-slate-500">"The discovery document and signing keys are fetched and checked when you save (https only)."</p>
                <FieldMessage message=error_oidc id="oidc-error" />
            </div>
            <div class="mt-3" class:hidden=move || source.get() == "url" || source.get() == "oidc">
                <div class:hidden=move || source.get() != "file">
                    <input type="file" accept=".xml,application/xml,text/xml" class="text-sm" data-testid="metadata-file" on:change=on_file />
                    <p class="mt-1 text-xs text-slate-600">{move || file_note.get()}</p>
                </div>
                <textarea class=format!("{INPUT} font-mono text-xs") name="rawMetadata" rows="6" placeholder="<EntityDescriptor …>" data-testid="metadata-xml"
                    prop:value=move || xml.get() on:input=move |ev| set_xml.set(event_target_value(&ev))></textarea>
                <FieldMessage message=error_xml id="metadata-error" />
            </div>
            <div class="mt-3" class:hidden=move || source.get() != "url">
                <input class=INPUT name="metadataUrl" type="url" placeholder="https://idp.example.com/app/metadata.xml" data-testid="metadata-url" />
                <p class="mt-1 text-xs text-slate-500">"Fetched when you save (https only)."</p>
                <FieldMessage message=error_url id="metadata-url-error" />
            </div>
        </fieldset>
    }
}
