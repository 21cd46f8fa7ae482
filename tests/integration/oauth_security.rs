//! Every OAuth rule, broken on purpose.

use chrono::Duration;
use serde_json::json;

use crate::sso_support::*;
use crate::support::*;

#[tokio::test]
async fn an_unregistered_redirect_uri_shows_an_error_page_and_never_redirects() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for bad in [
            "https://evil.example/callback",
            "https://app.example.com/callback/",
            "https://app.example.com/callback?x=1",
            "",
        ] {
            let res = s.authorize(&[("redirect_uri", bad)]).await;
            assert_eq!(res.status().as_u16(), 400, "{bad}");
            assert!(
                res.headers().get("location").is_none(),
                "{bad}: must not redirect"
            );
            let body = res.text().await.unwrap();
            assert!(body.contains("data-testid=\"reference\""), "{body}");
        }
        // unknown client: also a page
        let res = s.authorize(&[("client_id", "nope")]).await;
        assert_eq!(res.status().as_u16(), 400);
        assert!(res.headers().get("location").is_none());
    })
    .await;
}

#[tokio::test]
async fn authorize_errors_after_the_redirect_check_go_back_to_the_app() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for (extra, error) in [
            (vec![("state", "")], "invalid_request"),
            (
                vec![("response_type", "token")],
                "unsupported_response_type",
            ),
            (
                vec![
                    ("code_challenge", "abc"),
                    ("code_challenge_method", "plain"),
                ],
                "invalid_request",
            ),
            (
                vec![
                    ("code_challenge", "too-short"),
                    ("code_challenge_method", "S256"),
                ],
                "invalid_request",
            ),
        ] {
            let res = s.authorize(&extra).await;
            let location = res.headers()["location"].to_str().unwrap().to_string();
            assert!(location.starts_with(APP_REDIRECT), "{location}");
            assert!(
                location.contains(&format!("error={error}")),
                "{extra:?}: {location}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn the_client_must_authenticate_at_the_token_endpoint() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let code = s.login(&[]).await;
        let base = [
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", APP_REDIRECT),
        ];
        fn with<'a>(
            base: &[(&'a str, &'a str)],
            extra: &[(&'a str, &'a str)],
        ) -> Vec<(&'a str, &'a str)> {
            let mut f = base.to_vec();
            f.extend_from_slice(extra);
            f
        }
        let (status, body) = s
            .token(&with(
                &base,
                &[("client_id", &s.client_id), ("client_secret", "wrong")],
            ))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, body) = s.token(&with(&base, &[("client_id", &s.client_id)])).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, body) = s.token(&with(&base, &[])).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        // another connection's credentials cannot redeem this code
        let (_, other) = s
            .api(
                reqwest::Method::POST,
                &[],
                Some(serde_json::json!({ "tenant": "other.example", "product": s.product, "rawMetadata": s.idp().metadata("keys=primary").await })),
            )
            .await;
        let (other_id, other_secret) = (other["clientID"].as_str().unwrap(), other["clientSecret"].as_str().unwrap());
        let (status, body) = s
            .token(&with(&base, &[("client_id", other_id), ("client_secret", other_secret)]))
            .await;
        assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
        // the failures did not burn the code
        assert_eq!(s.token_for(&code).await.0, 200);
    })
    .await;
}

#[tokio::test]
async fn the_code_is_bound_to_its_redirect_uri() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let code = s.login(&[]).await;
        let (status, body) = s
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://app.example.com/other"),
                ("client_id", &s.client_id),
                ("client_secret", &s.client_secret),
            ])
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let (status, body) = s
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", &s.client_id),
                ("client_secret", &s.client_secret),
            ])
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    })
    .await;
}

#[tokio::test]
async fn pkce_is_verified() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (verifier, challenge) = pkce_pair();
        let pkce = [
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        let token_with = |code: String, v: Option<String>| {
            let s = &s;
            async move {
                let mut f = vec![
                    ("grant_type", "authorization_code".to_string()),
                    ("code", code),
                    ("redirect_uri", APP_REDIRECT.to_string()),
                    ("client_id", s.client_id.clone()),
                    ("client_secret", s.client_secret.clone()),
                ];
                if let Some(v) = v {
                    f.push(("code_verifier", v));
                }
                let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
                s.token(&f).await
            }
        };
        let (status, body) = token_with(s.login(&pkce).await, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "verifier required"
        );
        let (other, _) = pkce_pair();
        let (status, body) = token_with(s.login(&pkce).await, Some(other)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "wrong verifier"
        );
        let (status, _) = token_with(s.login(&pkce).await, Some(verifier.clone())).await;
        assert_eq!(status, 200);
        // a verifier without a challenge (downgrade) is refused
        let (status, body) = token_with(s.login(&[]).await, Some(verifier)).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    })
    .await;
}

#[tokio::test]
async fn a_second_redemption_fails_and_revokes_the_first_token() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let code = s.login(&[]).await;
        let (status, token) = s.token_for(&code).await;
        assert_eq!(status, 200);
        let access = token["access_token"].as_str().unwrap().to_string();
        assert_eq!(s.userinfo(&access).await.0, 200);
        let (status, body) = s.token_for(&code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let (status, body) = s.userinfo(&access).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"], "invalid_token");
    })
    .await;
}

/// One code redeemed many times at once yields at most one token, and the code's
/// reuse revokes it. On PostgreSQL the redemptions share statements (the store
/// batches them); sharing one must not share the code.
#[tokio::test]
async fn a_code_redeemed_many_times_at_once_issues_one_token() {
    each_engine(|engine| async move {
        let s = std::sync::Arc::new(Sso::new(engine).await);
        let code = s.login(&[]).await;
        let mut redemptions = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let (s, code) = (s.clone(), code.clone());
            redemptions.spawn(async move { s.token_for(&code).await });
        }
        let answers = redemptions.join_all().await;
        let issued: Vec<&serde_json::Value> = answers
            .iter()
            .filter(|(status, _)| *status == 200)
            .map(|(_, body)| body)
            .collect();
        assert_eq!(issued.len(), 1, "{answers:?}");
        for (status, body) in answers.iter().filter(|(status, _)| *status != 200) {
            assert_eq!(
                (*status, body["error"].as_str()),
                (400, Some("invalid_grant"))
            );
        }
        let access = issued[0]["access_token"].as_str().unwrap();
        let (status, body) = s.userinfo(access).await;
        assert_eq!(status, 401, "the reuse revokes the token: {body}");
    })
    .await;
}

#[tokio::test]
async fn codes_expire_after_five_minutes_and_tokens_after_an_hour() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let code = s.login(&[]).await;
        s.app
            .clock
            .advance(Duration::minutes(5) + Duration::seconds(1));
        let (status, body) = s.token_for(&code).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );

        let code = s.login(&[]).await;
        let (_, token) = s.token_for(&code).await;
        let access = token["access_token"].as_str().unwrap().to_string();
        s.app.clock.advance(Duration::minutes(59));
        assert_eq!(s.userinfo(&access).await.0, 200);
        s.app.clock.advance(Duration::minutes(2));
        assert_eq!(s.userinfo(&access).await.0, 401);
    })
    .await;
}

#[tokio::test]
async fn token_endpoint_rejects_bad_requests_per_rfc6749() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (status, body) = s
            .token(&[
                ("grant_type", "client_credentials"),
                ("client_id", &s.client_id),
                ("client_secret", &s.client_secret),
            ])
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unsupported_grant_type"))
        );
        let (status, body) = s
            .token(&[
                ("grant_type", "authorization_code"),
                ("code", "forged"),
                ("redirect_uri", APP_REDIRECT),
                ("client_id", &s.client_id),
                ("client_secret", &s.client_secret),
            ])
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        let res = s
            .http
            .post(format!("{}/api/oauth/token", s.app.base))
            .body("{}")
            .header("content-type", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 400);
        let (status, _) = s.userinfo("forged-token").await;
        assert_eq!(status, 401);
        let res = s
            .http
            .get(format!("{}/api/oauth/userinfo", s.app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        assert!(res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
    })
    .await;
}

#[tokio::test]
async fn failed_logins_are_logged_with_the_reference_shown_to_the_user() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (_, relay) = s.start(&[]).await;
        let response = s.signed_for(&relay, json!({ "sign": "none" })).await;
        let res = s.post_acs(&response, Some(&relay)).await;
        let request_id = res.headers()["x-request-id"].to_str().unwrap().to_string();
        let body = refused(res).await;
        let reference = reference_on(&body);
        // the reference is the request's id: it finds the request's log lines
        assert!(reference.starts_with("req_"), "{reference}");
        assert_eq!(reference, request_id);
    })
    .await;
}

#[tokio::test]
async fn a_bad_client_is_invalid_client_whatever_the_code() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let res = s
            .http
            .post(format!("{}/api/oauth/token", s.app.base))
            .basic_auth("nope", Some("nope"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "x"),
                ("redirect_uri", APP_REDIRECT),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 401);
        assert_eq!(
            res.headers()["www-authenticate"],
            "Basic realm=\"gatehouse\""
        );
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    })
    .await;
}

#[tokio::test]
async fn a_refused_redemption_leaves_the_code_to_its_rightful_client() {
    // The token endpoint redeems in one statement only when everything matches;
    // a request that is refused must not use the code up.
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let (verifier, challenge) = pkce_pair();
        let code = s
            .login(&[
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .await;
        let (wrong_verifier, _) = pkce_pair();
        let attempt = |redirect: &'static str, v: String| {
            let s = &s;
            let code = code.clone();
            async move {
                s.token(&[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", redirect),
                    ("client_id", &s.client_id),
                    ("client_secret", &s.client_secret),
                    ("code_verifier", &v),
                ])
                .await
            }
        };
        for (redirect, v) in [
            ("https://app.example.com/other", verifier.clone()),
            (APP_REDIRECT, wrong_verifier),
            (APP_REDIRECT, "short".to_string()),
        ] {
            let (status, body) = attempt(redirect, v).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("invalid_grant")),
                "{redirect}: {body}"
            );
        }
        let (status, body) = attempt(APP_REDIRECT, verifier.clone()).await;
        assert_eq!(status, 200, "{body}");
        let access = body["access_token"].as_str().unwrap().to_string();
        let (status, profile) = s.userinfo(&access).await;
        assert_eq!(status, 200);
        assert!(profile["email"].as_str().is_some(), "{profile}");
        // and only once
        let (status, body) = attempt(APP_REDIRECT, verifier).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert_eq!(s.userinfo(&access).await.0, 401);
    })
    .await;
}

#[tokio::test]
async fn connection_edits_apply_to_the_next_sign_in_at_once() {
    // Sign-ins read connections through a short-lived cache; a change made through
    // this server must never be hidden by it.
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        let code = s.login(&[]).await;
        assert_eq!(s.token_for(&code).await.0, 200);
        let (status, _) = s
            .api(
                reqwest::Method::PATCH,
                &[],
                Some(json!({ "clientID": s.client_id, "clientSecret": s.client_secret, "redirectUrl": ["https://app.example.com/elsewhere"], "defaultRedirectUrl": "https://app.example.com/elsewhere" })),
            )
            .await;
        assert_eq!(status, 200);
        let res = s.authorize(&[]).await;
        assert_eq!(res.status().as_u16(), 400, "the old redirect URL is no longer allowed");
        let res = s
            .authorize(&[("redirect_uri", "https://app.example.com/elsewhere")])
            .await;
        assert!(res.status().is_redirection());
        let (status, _) = s
            .api(
                reqwest::Method::DELETE,
                &[("clientID", &s.client_id), ("clientSecret", &s.client_secret)],
                None,
            )
            .await;
        assert!(status < 300);
        let res = s.authorize(&[]).await;
        assert_eq!(res.status().as_u16(), 400, "a deleted connection is unknown at once");
    })
    .await;
}

/// Deleting a connection, or the product it belongs to, ends its sign-ins at once:
/// a sign-in under way cannot finish, an unredeemed code is refused, and an access
/// token no longer reads the profile.
#[tokio::test]
async fn deleting_a_connection_or_its_product_ends_its_sign_ins() {
    each_engine(|engine| async move {
        for delete_product in [false, true] {
            let s = Sso::new(engine).await;
            let (status, token) = s.token_for(&s.login(&[]).await).await;
            assert_eq!(status, 200, "{token}");
            let access_token = token["access_token"].as_str().unwrap().to_string();
            assert_eq!(s.userinfo(&access_token).await.0, 200);
            let code = s.login(&[]).await;
            let (_, relay) = s.start(&[]).await;
            let answer = s.signed_for(&relay, json!({})).await;

            if delete_product {
                let r = s
                    .owner
                    .rpc(
                        "products/delete",
                        &[
                            ("team", &s.team),
                            ("product", &s.product),
                            ("confirm_name", "Portal"),
                        ],
                    )
                    .await;
                assert_eq!(r.status, 200, "{:?}", r.body);
            } else {
                let (status, _) = s
                    .api(
                        reqwest::Method::DELETE,
                        &[
                            ("clientID", &s.client_id),
                            ("clientSecret", &s.client_secret),
                        ],
                        None,
                    )
                    .await;
                assert!(status < 300);
            }

            let (status, body) = s.userinfo(&access_token).await;
            assert_eq!(status, 401, "{body}");
            let (status, body) = s.token_for(&code).await;
            assert!(status == 400 || status == 401, "{status} {body}");
            refused(s.post_acs(&answer, Some(&relay)).await).await;
            // and nothing of it is left in the store
            use gatehouse_domain::clock::Clock;
            use gatehouse_domain::ports::LoginStore;
            use gatehouse_domain::tokens::hash_secret;
            let store = &s.app.store;
            let now = s.app.clock.now();
            assert!(store.code(&hash_secret(&code)).await.unwrap().is_none());
            assert!(store
                .access_token(&hash_secret(&access_token), now)
                .await
                .unwrap()
                .is_none());
            assert!(store
                .pending_login(request_id(&relay), now)
                .await
                .unwrap()
                .is_none());
        }
    })
    .await;
}
