//! `/setup/:token`: the customer's IT admin configures their SSO connection, with no
//! account. They see the vendor's product and their tenant only, pick their IdP,
//! follow its steps with the exact values to paste, give the IdP's settings, test
//! them with a real sign-in, and save.

use gatehouse_core::views::{SetupPage as SetupPageView, SpInfo};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::setup::{get_setup_page, SaveSetup};
use crate::components::*;
use crate::format;
use gatehouse_core::ErrorKind;

/// The IdPs offered, with their step-by-step instructions.
pub const IDPS: &[(&str, &str)] = &[
    ("okta", "Okta"),
    ("entra", "Microsoft Entra ID"),
    ("google", "Google Workspace"),
    ("adfs", "ADFS"),
    ("onelogin", "OneLogin"),
    ("saml", "Other SAML 2.0 IdP"),
    ("oidc", "Generic OpenID Connect"),
];

/// One instruction: the text, and (when there is one) the value to paste.
type Step = (&'static str, Option<String>);

fn steps(idp: &str, sp: &SpInfo) -> Vec<Step> {
    let acs = Some(sp.acs_url.clone());
    let entity = Some(sp.entity_id.clone());
    match idp {
        "okta" => vec![
            ("In the Okta Admin Console: Applications → Applications → Create App Integration → SAML 2.0.", None),
            ("Single sign-on URL (check “Use this for Recipient URL and Destination URL”):", acs),
            ("Audience URI (SP Entity ID):", entity),
            ("Name ID format: EmailAddress; Application username: Email.", None),
            ("Attribute statements: email → user.email, firstName → user.firstName, lastName → user.lastName. Group attribute statement: groups, filter “Matches regex” .*", None),
            ("Finish, assign the app to your users, then under Sign On copy the “Metadata URL” (or download the metadata) and give it below.", None),
        ],
        "entra" => vec![
            ("In the Microsoft Entra admin center: Enterprise applications → New application → Create your own application → “Integrate any other application you don't find in the gallery”.", None),
            ("Single sign-on → SAML → Basic SAML Configuration → Identifier (Entity ID):", entity),
            ("Reply URL (Assertion Consumer Service URL):", acs),
            ("Attributes & Claims: keep the defaults (email address, given name, surname are understood as sent); add a group claim if you want groups passed on.", None),
            ("Under SAML Certificates copy the “App Federation Metadata Url” and give it below (or download “Federation Metadata XML”). Assign users or groups to the application.", None),
        ],
        "google" => vec![
            ("In the Google Admin console: Apps → Web and mobile apps → Add app → Add custom SAML app.", None),
            ("On “Google Identity Provider details”, download the IdP metadata (option 1); you will upload it below.", None),
            ("ACS URL:", acs),
            ("Entity ID:", entity),
            ("Name ID format: EMAIL; Name ID: Basic Information › Primary email.", None),
            ("Attribute mapping: Primary email → email, First name → firstName, Last name → lastName; Group membership → groups.", None),
            ("Turn the app ON for the users who should sign in.", None),
        ],
        "adfs" => vec![
            ("In AD FS Management: Relying Party Trusts → Add Relying Party Trust → Claims aware.", None),
            ("Either import the service provider metadata from this URL:", Some(sp.metadata_url.clone())),
            ("or enter the data manually. Relying party SAML 2.0 SSO service URL:", acs),
            ("Relying party trust identifier:", entity),
            ("Claim issuance policy → Send LDAP Attributes as Claims: E-Mail-Addresses → E-Mail Address, Given-Name → Given Name, Surname → Surname, Token-Groups – Unqualified Names → Group. Then Transform an Incoming Claim: E-Mail Address → Name ID (Email).", None),
            ("Give your federation metadata below: https://<your AD FS host>/FederationMetadata/2007-06/FederationMetadata.xml", None),
        ],
        "onelogin" => vec![
            ("In OneLogin: Applications → Add App → “SAML Custom Connector (Advanced)”.", None),
            ("Configuration → Audience (EntityID):", entity),
            ("Recipient and ACS (Consumer) URL:", acs.clone()),
            ("ACS (Consumer) URL Validator: the same URL, as a regular expression (escape the dots).", acs),
            ("SAML signature element: Assertion or Both. Parameters: add email (Email), firstName (First Name), lastName (Last Name), groups (User Roles, “Include in SAML assertion”).", None),
            ("SSO tab: copy the “Issuer URL” (the metadata URL) and give it below.", None),
        ],
        "oidc" => vec![
            ("In your IdP, register a web application (OpenID Connect, authorization code flow; PKCE is used).", None),
            ("Sign-in redirect URI (callback URL):", Some(sp.oidc_redirect_uri.clone())),
            ("Scopes: openid, email, profile. Client authentication: client secret (basic or post).", None),
            ("Assign the application to the users who should sign in.", None),
            ("Give the IdP's issuer (or its discovery URL, ending in /.well-known/openid-configuration), the client ID and the client secret below.", None),
        ],
        _ => vec![
            ("Create a SAML 2.0 application (service provider) in your IdP.", None),
            ("Assertion Consumer Service URL (HTTP-POST binding):", acs),
            ("SP entity ID / audience:", entity),
            ("Or import the service provider metadata:", Some(sp.metadata_url.clone())),
            ("Name ID: the user's email address. Sign the Response or the Assertion with RSA-SHA256 (or stronger).", None),
            ("Attributes: email, firstName, lastName, and groups if you use them.", None),
            ("Give your IdP's metadata below (XML or a metadata URL).", None),
        ],
    }
}

#[component]
pub fn SetupPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.with(|p| p.get("token").unwrap_or_default());
    let save = ServerAction::<SaveSetup>::new();
    // Reload the page's data after a Save, not after a Test (which must keep what
    // the customer typed in the form).
    let saved = successes_where(save.value(), |p: &SetupPageView| p.test_url.is_none());
    let data = Resource::new(move || (token(), saved.get()), |(t, _)| get_setup_page(t));
    let (idp, set_idp) = signal("okta".to_string());

    view! {
        <Title text="Set up single sign-on" />
        <main class="mx-auto max-w-3xl px-4 py-10">
            <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Err(e) if e.is(ErrorKind::Gone) || e.is(ErrorKind::NotFound) => view! {
                            <div class="rounded-xl border border-slate-200 bg-white p-8 shadow-sm" data-testid="setup-expired">
                                <h1 class="text-lg font-semibold">"This setup link has expired"</h1>
                                <p class="mt-3 text-sm text-slate-600">"It has expired or is no longer valid. Ask the vendor for a new link."</p>
                            </div>
                        }.into_any(),
                        Err(e) => view! { <ErrorPanel error=e /> }.into_any(),
                        Ok(page) => view! { <SetupBody page=page token=token() idp=idp set_idp=set_idp save=save /> }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn SetupBody(
    page: SetupPageView,
    token: String,
    idp: ReadSignal<String>,
    set_idp: WriteSignal<String>,
    save: ServerAction<SaveSetup>,
) -> impl IntoView {
    let sp = StoredValue::new(page.sp.clone());
    let value = save.value();
    let is_oidc = Memo::new(move |_| idp.get() == "oidc");
    let test_href = format!("/setup/{token}/test");
    let testing = move || {
        save.pending().get()
            && save
                .input()
                .with(|i| i.as_ref().and_then(|i| i.intent.as_deref()) == Some("test"))
    };
    let test_url = move || {
        value.with(|v| {
            v.as_ref()
                .and_then(|r| r.as_ref().ok())
                .and_then(|p| p.test_url.clone())
        })
    };

    // "Test" opens its tab at the click (a tab opened only once the server has checked
    // the settings would be blocked as a pop-up), then sends it to the test sign-in,
    // or closes it if the settings have errors (shown in place).
    #[cfg(feature = "hydrate")]
    let popup = StoredValue::new_local(None::<web_sys::Window>);
    let open_test_tab = move |_: leptos::ev::MouseEvent| {
        #[cfg(feature = "hydrate")]
        {
            // one left blank by a click the browser's form checks stopped
            if let Some(stale) = popup.try_update_value(Option::take).flatten() {
                let _ = stale.close();
            }
            popup.set_value(
                window()
                    .open_with_url_and_target("about:blank", "_blank")
                    .ok()
                    .flatten(),
            );
        }
    };
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let Some(result) = value.get() else { return };
        let Some(tab) = popup.try_update_value(Option::take).flatten() else {
            return;
        };
        match result {
            Ok(SetupPageView {
                test_url: Some(url),
                ..
            }) => {
                let origin = window().location().origin().unwrap_or_default();
                let _ = tab.location().set_href(&format!("{origin}{url}"));
            }
            _ => {
                let _ = tab.close();
            }
        }
    });
    view! {
        <header>
            <p class="text-sm text-slate-500">"Single sign-on setup"</p>
            <h1 class="text-2xl font-semibold" data-testid="setup-product">{page.product_name.clone()}</h1>
            <p class="mt-1 text-sm text-slate-600">
                "For " <strong data-testid="setup-tenant">{page.tenant.clone()}</strong>
                ". This link works until " {format::date_time(&page.expires_at)} "."
            </p>
        </header>

        <section class="mt-8 rounded-lg border border-slate-200 bg-white p-5">
            <h2 class="text-sm font-semibold text-slate-800">"1. Your identity provider"</h2>
            <div class="mt-3 flex flex-wrap gap-2" data-testid="idp-choices">
                {IDPS.iter().map(|(key, label)| {
                    let key = key.to_string();
                    let k2 = key.clone();
                    view! {
                        <button type="button" data-idp=key.clone()
                            class=move || if idp.get() == k2 { "rounded-md border border-indigo-600 bg-indigo-50 px-3 py-1.5 text-sm font-medium text-indigo-800" } else { "rounded-md border border-slate-300 bg-white px-3 py-1.5 text-sm text-slate-700 hover:bg-slate-50" }
                            on:click=move |_| set_idp.set(key.clone())>
                            {*label}
                        </button>
                    }
                }).collect_view()}
            </div>
            <ol class="mt-4 list-decimal space-y-3 pl-5 text-sm text-slate-700" data-testid="idp-steps">
                {move || steps(&idp.get(), &sp.get_value()).into_iter().map(|(text, value)| view! {
                    <li>
                        {text}
                        {value.map(|v| view! {
                            <div class="mt-1 flex items-center gap-2">
                                <code class="break-all rounded bg-slate-100 px-2 py-1 text-xs">{v.clone()}</code>
                                <CopyButton text=v />
                            </div>
                        })}
                    </li>
                }).collect_view()}
            </ol>
            <p class="mt-4 text-sm">
                <a class="text-indigo-600 hover:underline" href=page.sp.metadata_url.clone() download="sp-metadata.xml" data-testid="setup-sp-metadata">"Download our SAML metadata (XML)"</a>
            </p>
        </section>

        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5">
            <h2 class="text-sm font-semibold text-slate-800">"2. Your IdP's settings"</h2>
            <ActionForm action=save attr:class="mt-3 space-y-4" attr:data-testid="setup-form">
                <input type="hidden" name="token" value=token.clone() />
                {move || {
                    let oidc = is_oidc.get();
                    view! {
                        <MetadataInput error_xml=field_error(value, "metadata") error_url=field_error(value, "metadata_url")
                            error_oidc=first_field_error(value, OIDC_FIELDS) protocol=if oidc { "oidc" } else { "saml" } optional=false />
                    }
                }}
                <ErrorBox message=form_error(value, &["metadata", "metadata_url", "oidc_discovery_url", "oidc_client_id", "oidc_client_secret"]) />
                <p class="text-xs text-slate-500">"Test first: it checks these settings and signs you in once through your IdP in a new tab, showing the profile the vendor's app would receive (or the precise reason it failed). Nothing changes for your users until you save."</p>
                <div class="flex flex-wrap items-center gap-3">
                    <button type="submit" name="intent" value="test" class=BUTTON_SECONDARY data-testid="setup-try"
                        disabled=move || save.pending().get() on:click=open_test_tab>
                        {move || if testing() { "Checking…" } else { "Test" }}
                    </button>
                    <button type="submit" name="intent" value="save" class=BUTTON data-testid="setup-save" disabled=move || save.pending().get()>
                        {move || if save.pending().get() && !testing() { "Checking…" } else { "Save" }}
                    </button>
                </div>
                {move || test_url().map(|url| view! {
                    <p class="text-sm text-slate-700" data-testid="setup-test-started">
                        "The settings look right. The test sign-in runs in a new tab; "
                        <a href=url target="_blank" rel="opener" class="text-indigo-600 hover:underline" data-testid="setup-test-open">"open it again"</a>
                        " if your browser blocked it. Save when it works."
                    </p>
                })}
            </ActionForm>
        </section>

        <section class="mt-6 rounded-lg border border-slate-200 bg-white p-5">
            <h2 class="text-sm font-semibold text-slate-800">"3. Saved"</h2>
            {match page.saved.clone() {
                None => view! { <p class="mt-2 text-sm text-slate-600" data-testid="setup-not-saved">"Nothing saved yet: test your IdP's settings above, then save them."</p> }.into_any(),
                Some(saved) => view! {
                    <div class="mt-2 text-sm" data-testid="setup-saved">
                        <p class="text-slate-700">"Saved " {format::date_time(&saved.saved_at)} ": " {if saved.protocol == "oidc" { "OpenID Connect issuer " } else { "IdP " }} <code class="text-xs" data-testid="setup-idp-entity">{saved.idp_entity_id.clone()}</code></p>
                        <ul class="mt-1 text-xs text-slate-500">
                            {saved.certificates.iter().map(|c| view! { <li>{c.subject.clone()} " — expires " {format::date(&c.not_after)}</li> }).collect_view()}
                        </ul>
                        <a href=test_href.clone() target="_blank" rel="opener" class=format!("{BUTTON} mt-3 inline-block") data-testid="setup-test">"Test the saved connection"</a>
                        <p class="mt-2 text-xs text-slate-500">"Opens a new tab: sign in at your IdP, and see the profile the vendor's app will receive, or the precise reason it failed."</p>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}
