use chrono::Duration;
use gatehouse_domain::ports::AccountStore;

use crate::support::*;

#[tokio::test]
async fn sign_up_starts_a_thirty_day_trial_and_signs_in() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let email = unique_email("owner");
        let team = c.sign_up(&email, "Acme").await;
        let ctx = c.rpc("teams/context", &[("team", &team)]).await;
        assert_eq!(ctx.status, 200, "{:?}", ctx.body);
        assert_eq!(ctx.body["me"]["email"], email.as_str());
        assert_eq!(ctx.body["team"]["name"], "Acme");
        assert_eq!(ctx.body["team"]["role"], "owner");
        assert_eq!(ctx.body["team"]["trial"]["days_left"], 30);
        assert_eq!(ctx.body["team"]["trial"]["expired"], false);
    })
    .await;
}

#[tokio::test]
async fn duplicate_email_and_weak_password_get_field_errors() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let email = unique_email("dup");
        c.sign_up(&email, "Acme").await;

        let other = Client::new(&app);
        let upper = email.to_uppercase();
        let r = other
            .rpc(
                "auth/signup",
                &[
                    ("email", &upper),
                    ("password", "correct horse battery"),
                    ("team_name", "B"),
                ],
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["field"], "email");

        let r = other
            .rpc(
                "auth/signup",
                &[
                    ("email", &unique_email("weak")),
                    ("password", "123456789"),
                    ("team_name", "B"),
                ],
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.body["field"], "password");
        assert!(r.body["message"].as_str().unwrap().contains("10"));

        let r = other
            .rpc(
                "auth/signup",
                &[
                    ("email", "not-an-email"),
                    ("password", "correct horse battery"),
                    ("team_name", "B"),
                ],
            )
            .await;
        assert_eq!(r.body["field"], "email");
    })
    .await;
}

#[tokio::test]
async fn passwords_are_stored_as_argon2id() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let email = unique_email("hash");
        c.sign_up(&email, "Acme").await;
        let user = app.store.user_by_email(&email).await.unwrap().unwrap();
        assert!(user.password_hash.starts_with("$argon2id$"));
        assert!(!user.password_hash.contains("correct horse"));
    })
    .await;
}

#[tokio::test]
async fn log_in_rotates_the_session_and_log_out_ends_it() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let email = unique_email("login");
        let team = c.sign_up(&email, "Acme").await;
        let r = c.rpc("auth/logout", &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(c.rpc("teams/context", &[("team", &team)]).await.status, 401);

        // A cookie from before sign-in must not become the signed-in session.
        let before = c
            .http
            .get(format!("{}/login", c.base))
            .send()
            .await
            .unwrap();
        let _ = before;
        let r = c
            .rpc(
                "auth/login",
                &[("email", &email), ("password", "wrong password!")],
            )
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body["message"], "Wrong email or password.");

        let r = c
            .rpc(
                "auth/login",
                &[
                    ("email", &email.to_uppercase()),
                    ("password", "correct horse battery"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(
            r.location.as_deref(),
            Some(format!("/teams/{team}/products").as_str())
        );
        assert_eq!(c.rpc("teams/context", &[("team", &team)]).await.status, 200);
    })
    .await;
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site_lax() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let res = c
            .http
            .post(format!("{}/rpc/auth/signup", c.base))
            .form(&[
                ("email", unique_email("cookie").as_str()),
                ("password", "correct horse battery"),
                ("team_name", "A"),
            ])
            .send()
            .await
            .unwrap();
        let cookie = res
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(cookie.starts_with("gatehouse_session="), "{cookie}");
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Lax"), "{cookie}");
        assert!(
            !cookie.contains("Secure"),
            "plain http must not set Secure: {cookie}"
        );
    })
    .await;
}

#[tokio::test]
async fn secure_cookie_when_public_url_is_https() {
    each_engine(|engine| async move {
        let app = spawn_app_with(
            engine,
            &[("GATEHOUSE_PUBLIC_URL", "https://sso.example.com".into())],
        )
        .await;
        let c = Client::new(&app);
        let res = c
            .http
            .post(format!("{}/rpc/auth/signup", c.base))
            .form(&[
                ("email", unique_email("secure").as_str()),
                ("password", "correct horse battery"),
                ("team_name", "A"),
            ])
            .send()
            .await
            .unwrap();
        let cookie = res
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(cookie.contains("Secure"), "{cookie}");
    })
    .await;
}

#[tokio::test]
async fn five_failures_in_fifteen_minutes_lock_the_email_for_fifteen_minutes() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let email = unique_email("lock");
        c.sign_up(&email, "Acme").await;
        c.rpc("auth/logout", &[]).await;

        for i in 0..4 {
            let r = c
                .rpc(
                    "auth/login",
                    &[("email", &email), ("password", "wrong password!")],
                )
                .await;
            assert_eq!(r.status, 401, "attempt {i}");
            app.clock.advance(Duration::minutes(2));
        }
        let r = c
            .rpc(
                "auth/login",
                &[("email", &email), ("password", "wrong password!")],
            )
            .await;
        assert_eq!(r.status, 429, "fifth failure locks: {:?}", r.body);
        assert!(r.body["message"].as_str().unwrap().contains("locked"));

        // Even the right password is refused while locked.
        app.clock.advance(Duration::minutes(14));
        let r = c
            .rpc(
                "auth/login",
                &[("email", &email), ("password", "correct horse battery")],
            )
            .await;
        assert_eq!(r.status, 429);

        app.clock.advance(Duration::minutes(1));
        let r = c
            .rpc(
                "auth/login",
                &[("email", &email), ("password", "correct horse battery")],
            )
            .await;
        assert_eq!(r.status, 200, "lock over after 15 minutes: {:?}", r.body);
    })
    .await;
}

#[tokio::test]
async fn expired_trial_is_read_only_and_keeps_data() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let team = c.sign_up(&unique_email("trial"), "Acme").await;
        let product = c.create_product(&team, "Portal").await;

        app.clock.advance(Duration::days(29) + Duration::hours(23));
        let ctx = c.rpc("teams/context", &[("team", &team)]).await;
        assert_eq!(ctx.body["team"]["trial"]["days_left"], 1);

        app.clock.advance(Duration::hours(2));
        let ctx = c.rpc("teams/context", &[("team", &team)]).await;
        assert_eq!(ctx.body["team"]["trial"]["expired"], true);
        // reads work
        let list = c.rpc("products/list", &[("team", &team)]).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body.as_array().unwrap().len(), 1);
        // writes are refused with a clear error
        let r = c
            .rpc(
                "products/create",
                &[("team", &team), ("name", "Another"), ("description", "")],
            )
            .await;
        assert_eq!(r.status, 403);
        assert_eq!(r.body["kind"], "forbidden");
        let r = c
            .rpc(
                "products/update",
                &[
                    ("team", &team),
                    ("product", &product),
                    ("name", "X"),
                    ("description", ""),
                    ("redirect_urls", ""),
                    ("default_redirect_url", ""),
                ],
            )
            .await;
        assert_eq!(r.status, 403);
        let r = c
            .rpc(
                "api-keys/create",
                &[("team", &team), ("product", &product), ("name", "k")],
            )
            .await;
        assert_eq!(r.status, 403);
        let r = c
            .rpc(
                "products/delete",
                &[
                    ("team", &team),
                    ("product", &product),
                    ("confirm_name", "Portal"),
                ],
            )
            .await;
        assert_eq!(r.status, 403);
        // nothing deleted
        let get = c
            .rpc("products/get", &[("team", &team), ("product", &product)])
            .await;
        assert_eq!(get.body["name"], "Portal");
    })
    .await;
}

#[tokio::test]
async fn owners_invite_members_who_join_by_link() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let owner = Client::new(&app);
        let team = owner.sign_up(&unique_email("owner"), "Acme").await;
        let invitee = unique_email("admin");
        let r = owner
            .rpc(
                "teams/invite",
                &[("team", &team), ("email", &invitee), ("role", "admin")],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let url = r.body["url"].as_str().unwrap().to_string();
        let token = token_in_url(&url);
        assert!(url.starts_with(&app.base));

        let guest = Client::new(&app);
        let p = guest.rpc("invites/preview", &[("token", &token)]).await;
        assert_eq!(p.body["team_name"], "Acme");
        assert_eq!(p.body["email"], invitee.as_str());
        let r = guest
            .rpc(
                "invites/signup",
                &[("token", &token), ("password", "another good password")],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let ctx = guest.rpc("teams/context", &[("team", &team)]).await;
        assert_eq!(ctx.body["team"]["role"], "admin");

        // used once
        assert_eq!(
            Client::new(&app)
                .rpc("invites/preview", &[("token", &token)])
                .await
                .status,
            404
        );

        // admins cannot invite or remove
        let r = guest
            .rpc(
                "teams/invite",
                &[
                    ("team", &team),
                    ("email", &unique_email("x")),
                    ("role", "admin"),
                ],
            )
            .await;
        assert_eq!(r.status, 403);

        // the owner removes the admin, who then loses access
        let members = owner.rpc("teams/members", &[("team", &team)]).await;
        let admin_id = members.body["members"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["role"] == "admin")
            .unwrap()["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = owner
            .rpc(
                "teams/remove-member",
                &[("team", &team), ("member", &admin_id)],
            )
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            guest.rpc("teams/context", &[("team", &team)]).await.status,
            404
        );

        // the last owner cannot be removed
        let me = owner.rpc("teams/context", &[("team", &team)]).await.body["me"]["user_id"]
            .as_str()
            .unwrap()
            .to_string();
        let r = owner
            .rpc("teams/remove-member", &[("team", &team), ("member", &me)])
            .await;
        assert_eq!(r.status, 409, "the last owner stays: {:?}", r.body);
        assert_eq!(r.body["kind"], "conflict");
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .contains("at least one owner"));
    })
    .await;
}

#[tokio::test]
async fn invites_expire_and_are_bound_to_their_email() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let owner = Client::new(&app);
        let team = owner.sign_up(&unique_email("owner"), "Acme").await;
        let r = owner
            .rpc(
                "teams/invite",
                &[
                    ("team", &team),
                    ("email", &unique_email("bob")),
                    ("role", "owner"),
                ],
            )
            .await;
        let token = token_in_url(r.body["url"].as_str().unwrap());

        // someone else, signed in, cannot use it
        let other = Client::new(&app);
        other.sign_up(&unique_email("mallory"), "Evil").await;
        let r = other.rpc("invites/accept", &[("token", &token)]).await;
        assert_eq!(r.status, 409);
        assert!(r.body["message"]
            .as_str()
            .unwrap()
            .contains("This invite is for"));

        app.clock.advance(Duration::days(8));
        assert_eq!(
            Client::new(&app)
                .rpc("invites/preview", &[("token", &token)])
                .await
                .status,
            404
        );
        assert_eq!(
            Client::new(&app)
                .rpc("invites/preview", &[("token", "forged")])
                .await
                .status,
            404
        );
    })
    .await;
}

#[tokio::test]
async fn users_switch_between_teams() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let first = c.sign_up(&unique_email("multi"), "First").await;
        app.clock.advance(Duration::minutes(1));
        let r = c.rpc("teams/create", &[("name", "Second")]).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let second = r
            .location
            .unwrap()
            .trim_start_matches("/teams/")
            .trim_end_matches("/products")
            .to_string();
        let ctx = c.rpc("teams/context", &[("team", &first)]).await;
        let names: Vec<_> = ctx.body["me"]["teams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(names, vec!["First", "Second"]);
        assert_eq!(
            c.rpc("teams/context", &[("team", &second)]).await.body["team"]["name"],
            "Second"
        );
    })
    .await;
}

/// Parallel guesses must not get more password checks than the lockout allows, and
/// the right password after them is refused.
#[tokio::test]
async fn parallel_wrong_passwords_do_not_exceed_the_lockout() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let email = unique_email("parallel");
        c.sign_up(&email, "Acme").await;
        c.rpc("auth/logout", &[]).await;

        let guesses = (0..20).map(|i| {
            let c = Client::new(&app);
            let email = email.clone();
            async move {
                c.rpc(
                    "auth/login",
                    &[
                        ("email", &email),
                        ("password", &format!("wrong guess {i}!")),
                    ],
                )
                .await
                .status
            }
        });
        let statuses = futures_join_all(guesses).await;
        let checked = statuses.iter().filter(|s| **s == 401).count();
        let locked = statuses.iter().filter(|s| **s == 429).count();
        assert_eq!(checked + locked, 20, "{statuses:?}");
        assert!(
            checked < gatehouse_domain::accounts::LOCKOUT_THRESHOLD,
            "{checked} guesses were checked in parallel: {statuses:?}"
        );
        let r = c
            .rpc(
                "auth/login",
                &[("email", &email), ("password", "correct horse battery")],
            )
            .await;
        assert_eq!(r.status, 429, "still locked: {:?}", r.body);
    })
    .await;
}

/// `next` after log-in stays on this site, however it is disguised.
#[tokio::test]
async fn next_after_login_never_leaves_the_site() {
    each_engine(|engine| async move {
        let app = spawn_app(engine).await;
        let c = Client::new(&app);
        let email = unique_email("next");
        c.sign_up(&email, "Acme").await;
        for next in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\\evil.example",
            "/x\\..\\\\evil.example",
            "//evil.example",
            "https://evil.example/",
        ] {
            c.rpc("auth/logout", &[]).await;
            let r = c
                .rpc(
                    "auth/login",
                    &[
                        ("email", &email),
                        ("password", "correct horse battery"),
                        ("next", next),
                    ],
                )
                .await;
            let to = r.location.clone().unwrap_or_default();
            assert!(
                to.starts_with("/teams/"),
                "next={next:?} sent the browser to {to:?}"
            );
        }
        c.rpc("auth/logout", &[]).await;
        let r = c
            .rpc(
                "auth/login",
                &[
                    ("email", &email),
                    ("password", "correct horse battery"),
                    ("next", "/new-team"),
                ],
            )
            .await;
        assert_eq!(r.location.as_deref(), Some("/new-team"));
    })
    .await;
}

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}
