//! Minimal server-rendered pages for the protocol endpoints (error page, IdP choice,
//! auto-submitting forms, test results). Same stylesheet as the dashboard.

use axum::response::Html;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Gatehouse</title><link rel="stylesheet" href="/pkg/gatehouse.css"><link rel="icon" href="/favicon.svg" type="image/svg+xml"></head>
<body class="min-h-screen bg-slate-50 text-slate-900 antialiased">
<main class="mx-auto max-w-xl px-4 py-16">{body}</main></body></html>"#,
        title = escape(title),
    ))
}

/// A page that posts a form at once (SAML HTTP-POST binding). The button is for
/// browsers without JavaScript.
pub fn auto_post(action: &str, fields: &[(&str, &str)]) -> Html<String> {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| {
            format!(
                r#"<input type="hidden" name="{}" value="{}">"#,
                escape(k),
                escape(v)
            )
        })
        .collect();
    Html(format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in…</title></head>
<body onload="document.forms[0].submit()">
<noscript><p>JavaScript is off: press Continue to sign in.</p></noscript>
<form method="post" action="{action}">{inputs}<button type="submit">Continue</button></form>
</body></html>"#,
        action = escape(action),
    ))
}
