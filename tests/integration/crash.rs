//! Crash safety: the server killed with SIGKILL in the middle of sign-ins and admin
//! changes, then started again on the same database. Every admin change that was
//! acknowledged is there, SQLite's file passes `integrity_check`, and sign-ins work.
//! (A sign-in in flight may have to be retried: on SQLite `synchronous = NORMAL`, on
//! PostgreSQL `synchronous_commit = off` for a sign-in's own writes; nothing else.)

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Connection as _;

use crate::sso_support::{sign_in_at, Vendor};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sigkill_under_load_loses_no_acknowledged_change() {
    for engine in gatehouse_store::testing::engines() {
        eprintln!("--- engine: {}", engine.name());
        let mut server = ChildServer::start(engine, &[]).await;
        let base = server.base.clone();
        let vendor = Vendor::seed(&base, "keys=primary", "acme.com", json!({})).await;
        let (owner, team) = (&vendor.owner, vendor.team.clone());
        let (http, client_id) = (vendor.http.clone(), vendor.client_id().to_string());

        // load: sign-ins from 8 clients, and admin changes one after another
        let stop = Arc::new(AtomicBool::new(false));
        let signed_in = Arc::new(AtomicUsize::new(0));
        let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (http, base, client_id, stop, signed_in) = (
                http.clone(),
                base.clone(),
                client_id.clone(),
                stop.clone(),
                signed_in.clone(),
            );
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    if sign_in_at(&http, &base, &client_id).await.is_ok() {
                        signed_in.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }));
        }
        {
            let (stop, acknowledged, team) = (stop.clone(), acknowledged.clone(), team.clone());
            // the owner's session (a clone shares the cookie jar)
            let owner_http = owner.http.clone();
            let base2 = base.clone();
            tasks.push(tokio::spawn(async move {
                let c = Client {
                    http: owner_http,
                    base: base2,
                };
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let name = format!("Product {i}");
                    let r = c
                        .http
                        .post(format!("{}/rpc/products/create", c.base))
                        .form(&[
                            ("team", team.as_str()),
                            ("name", name.as_str()),
                            ("description", ""),
                        ])
                        .send()
                        .await;
                    if let Ok(r) = r {
                        if r.status().as_u16() == 200 {
                            if let Ok(v) = r.json::<Value>().await {
                                if let Some(id) = v["id"].as_str() {
                                    acknowledged.lock().unwrap().push(id.to_string());
                                }
                            }
                        }
                    }
                    i += 1;
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(4)).await;
        server.kill9();
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let acknowledged = acknowledged.lock().unwrap().clone();
        assert!(
            signed_in.load(Ordering::Relaxed) > 0,
            "sign-ins ran before the kill"
        );
        assert!(
            !acknowledged.is_empty(),
            "admin changes ran before the kill"
        );

        // SQLite: the file is consistent before anything else touches it
        if engine == gatehouse_store::Engine::Sqlite {
            let mut conn = sqlx::SqliteConnection::connect(&server.db.url)
                .await
                .unwrap();
            let check: String = sqlx::query_scalar("PRAGMA integrity_check")
                .fetch_one(&mut conn)
                .await
                .unwrap();
            assert_eq!(check, "ok");
            conn.close().await.unwrap();
        }

        server.restart().await;
        let list = owner.rpc("products/list", &[("team", &team)]).await;
        assert_eq!(list.status, 200, "{:?}", list.body);
        let ids: Vec<&str> = list
            .body
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["id"].as_str())
            .collect();
        for id in &acknowledged {
            assert!(
                ids.contains(&id.as_str()),
                "acknowledged product {id} was lost"
            );
        }
        // sign-ins resume
        sign_in_at(&http, &base, &client_id).await.unwrap();
        eprintln!(
            "{}: {} sign-ins and {} acknowledged products before SIGKILL; all there after restart",
            engine.name(),
            signed_in.load(Ordering::Relaxed),
            acknowledged.len()
        );
    }
}
