//! What a sign-in leaves behind is removed once it expires: pending requests, codes,
//! access tokens, the replay cache, test results, and failed logins older than an
//! hour, in batches that never hold the writer for long.

use gatehouse_domain::ports::LoginStore;
use sqlx::Row;

use crate::sso_support::*;
use crate::support::*;

async fn count(s: &Sso, table: &str) -> i64 {
    sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
        .fetch_one(s.app.store.pool())
        .await
        .unwrap()
        .try_get::<i64, _>("n")
        .unwrap()
}

#[tokio::test]
async fn expired_sign_in_records_are_purged() {
    each_engine(|engine| async move {
        let s = Sso::new(engine).await;
        for _ in 0..3 {
            let code = s.login(&[]).await;
            let (status, _) = s.token_for(&code).await;
            assert_eq!(status, 200);
        }
        s.start(&[]).await; // one pending request never answered
        // more failed logins than one purge batch, long ago, and one recent
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 12000) \
             INSERT INTO failed_logins (email, at) SELECT 'x' || CAST(i AS TEXT) || '@example.com', 0 FROM n",
        )
        .execute(s.app.store.pool())
        .await
        .unwrap();
        let now = gatehouse_domain::clock::Clock::now(s.app.clock.as_ref());
        sqlx::query("INSERT INTO failed_logins (email, at) VALUES ('recent@example.com', $1)")
            .bind(now.timestamp_millis())
            .execute(s.app.store.pool())
            .await
            .unwrap();
        for table in ["pending_logins", "seen_assertions", "auth_codes", "access_tokens"] {
            assert!(count(&s, table).await > 0, "{table} has rows to purge");
        }

        // nothing has expired yet: only the old failed logins go
        let removed = s.app.store.purge_expired(now).await.unwrap();
        assert_eq!(removed, 12_000);
        assert_eq!(count(&s, "failed_logins").await, 1);
        assert!(count(&s, "access_tokens").await > 0);

        // two hours on, everything of the sign-ins has expired
        let later = now + chrono::Duration::hours(2);
        let removed = s.app.store.purge_expired(later).await.unwrap();
        assert!(removed > 0);
        for table in [
            "pending_logins",
            "seen_assertions",
            "auth_codes",
            "access_tokens",
            "test_results",
            "failed_logins",
        ] {
            assert_eq!(count(&s, table).await, 0, "{table} after the purge");
        }
    })
    .await;
}
