//! Fields of the connection form shared by the new-connection and edit forms.

use leptos::prelude::*;

use crate::components::*;
use crate::error::AppError;

pub const CONNECTION_FIELDS: &[&str] = &[
    "tenant",
    "name",
    "description",
    "metadata",
    "metadata_url",
    "oidc_discovery_url",
    "oidc_client_id",
    "oidc_client_secret",
    "redirect_urls",
    "default_redirect_url",
    "email_domains",
];

/// The email domains the IdP may vouch for beside the tenant's own, and the opt-out.
#[component]
pub fn EmailDomainFields<O, V>(
    value: V,
    domains: String,
    accept_any: bool,
    id_prefix: &'static str,
) -> impl IntoView
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Copy + Send + Sync + 'static,
{
    let field = format!("{id_prefix}email_domains");
    view! {
        <div>
            <label class=LABEL for=field.clone()>"More email domains"</label>
            <textarea class=INPUT id=field.clone() name="emailDomains" rows="2" placeholder="acme.co.uk" data-testid="email-domains-input">{domains}</textarea>
            <p class="mt-1 text-xs text-slate-500">"The tenant (when it is a domain) is always one. One per line; subdomains must be listed. A sign-in whose email is elsewhere is refused."</p>
            <FieldMessage message=field_error(value, "email_domains") id=format!("{field}-error") />
        </div>
        <label class="flex items-center gap-2 text-sm">
            <input type="checkbox" name="acceptAnyEmailDomain" prop:checked=accept_any data-testid="accept-any-email-domain" />
            "Accept any email domain (not recommended: the IdP could sign in addresses of other organisations; sign-ins then carry email_verified: false)"
        </label>
    }
}

/// Redirect allow-list fields with the live check used on the product form.
#[component]
pub fn RedirectFields<O, V>(value: V, urls: String, default: String) -> impl IntoView
where
    O: Send + Sync + 'static,
    V: With<Value = Option<Result<O, AppError>>> + Copy + Send + Sync + 'static,
{
    let (urls_text, set_urls_text) = signal(urls.clone());
    let (default_text, set_default_text) = signal(default.clone());
    let check = Signal::derive(move || {
        let (u, d) = (urls_text.get(), default_text.get());
        if u.trim().is_empty() && d.trim().is_empty() {
            return None;
        }
        gatehouse_core::RedirectUrlList::parse(&u, &d).err()
    });
    let urls_msg = live_field_error(value, check, "redirect_urls");
    let default_msg = live_field_error(value, check, "default_redirect_url");
    view! {
        <div>
            <label class=LABEL for="redirect_urls">"Allowed redirect URLs (optional)"</label>
            <p class="text-xs text-slate-500">"One per line. Leave empty to use the product's allow-list."</p>
            <textarea class=format!("{INPUT} font-mono") id="redirect_urls" name="redirectUrl" rows="3"
                prop:value=urls on:input=move |ev| set_urls_text.set(event_target_value(&ev))></textarea>
            <FieldMessage message=urls_msg id="redirect-urls-error" />
        </div>
        <div>
            <label class=LABEL for="default_redirect_url">"Default redirect URL (optional)"</label>
            <input class=format!("{INPUT} font-mono") id="default_redirect_url" name="defaultRedirectUrl" value=default
                on:input=move |ev| set_default_text.set(event_target_value(&ev)) />
            <FieldMessage message=default_msg id="default-redirect-url-error" />
        </div>
    }
}
