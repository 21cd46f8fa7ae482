//! The operator CLI, run as the binary: `check-config` changes nothing, `migrate`
//! applies, `keys` lists and rotates (and a running instance picks the rotation up),
//! a wrong secret key is refused without overwriting anything.

use std::time::Duration;

use gatehouse_store::testing::fresh_database;
use serde_json::Value;

use crate::support::*;

pub const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const OTHER_KEY: &str = "HxscGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQAfHh0=";

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn gatehouse(args: &[&str], database_url: &str, secret: &str) -> Run {
    gatehouse_with(
        args,
        &[
            ("DATABASE_URL", database_url),
            ("GATEHOUSE_SECRET_KEY", secret),
        ],
    )
}

/// The binary with `args` and only `env` (and `PATH`) in its environment.
pub fn gatehouse_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output()
        .expect("the gatehouse binary runs");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!(
        "$ gatehouse {}\n{}{}",
        args.join(" "),
        run.stdout,
        run.stderr
    );
    run
}

#[test]
fn every_command_has_help_and_unknown_ones_are_refused() {
    let help = gatehouse(&["--help"], "sqlite://unused.db", KEY);
    assert_eq!(help.code, 0);
    for command in ["serve", "migrate", "check-config", "keys", "ory"] {
        assert!(help.stdout.contains(command), "{command} in --help");
    }
    for (args, expect) in [
        (&["keys", "rotate", "--help"][..], "--grace"),
        (&["keys", "list", "--help"], "state"),
        (&["ory", "sync-now", "--help"], "--product"),
        (&["check-config", "--help"], "Changes nothing"),
    ] {
        let run = gatehouse(args, "sqlite://unused.db", KEY);
        assert_eq!(run.code, 0, "{args:?}");
        assert!(run.stdout.contains(expect), "{args:?}: {}", run.stdout);
    }
    let bad = gatehouse(&["frobnicate"], "sqlite://unused.db", KEY);
    assert_eq!(bad.code, 2);
    let bad = gatehouse(
        &["keys", "rotate", "--grace", "soon"],
        "sqlite://unused.db",
        KEY,
    );
    assert_eq!(bad.code, 2);
    assert!(bad.stderr.contains("--grace"), "{}", bad.stderr);
}

#[tokio::test]
async fn check_config_changes_nothing_and_migrate_applies() {
    each_engine(|engine| async move {
        let db = fresh_database(engine).await.unwrap();
        let check = gatehouse(&["check-config"], &db.url, KEY);
        assert_eq!(check.code, 0, "{}", check.stderr);
        assert!(check.stdout.contains("pending"), "{}", check.stdout);
        assert!(check.stdout.contains("Signing keys: none yet"));
        assert!(
            !check.stdout.contains(KEY),
            "the secret key is never printed"
        );
        // still pending: nothing was applied
        let again = gatehouse(&["check-config"], &db.url, KEY);
        assert_eq!(again.stdout, check.stdout);

        let migrate = gatehouse(&["migrate"], &db.url, KEY);
        assert_eq!(migrate.code, 0, "{}", migrate.stderr);
        assert!(migrate.stdout.starts_with("Applied "), "{}", migrate.stdout);
        let migrate = gatehouse(&["migrate"], &db.url, KEY);
        assert!(migrate.stdout.contains("up to date"), "{}", migrate.stdout);
        let check = gatehouse(&["check-config"], &db.url, KEY);
        assert!(
            check.stdout.contains("Migrations: up to date."),
            "{}",
            check.stdout
        );
        assert!(check.stdout.ends_with("OK\n"), "{}", check.stdout);
    })
    .await;
}

#[tokio::test]
async fn a_wrong_secret_key_is_named_and_nothing_is_overwritten() {
    each_engine(|engine| async move {
        let db = fresh_database(engine).await.unwrap();
        let list = gatehouse(&["keys", "list"], &db.url, KEY);
        assert_eq!(list.code, 0, "{}", list.stderr);
        assert_eq!(
            list.stdout.matches(" active ").count(),
            2,
            "{}",
            list.stdout
        );

        let check = gatehouse(&["check-config"], &db.url, OTHER_KEY);
        assert_eq!(check.code, 1);
        assert!(
            check
                .stdout
                .contains("GATEHOUSE_SECRET_KEY does not decrypt"),
            "{}",
            check.stdout
        );
        assert!(check.stdout.ends_with("NOT OK\n"));
        for args in [&["keys", "list"][..], &["keys", "rotate"]] {
            let run = gatehouse(args, &db.url, OTHER_KEY);
            assert_eq!(run.code, 1, "{args:?}");
            assert!(
                run.stderr.contains("GATEHOUSE_SECRET_KEY"),
                "{}",
                run.stderr
            );
        }
        // the right key still opens the same keys
        let after = gatehouse(&["keys", "list"], &db.url, KEY);
        assert_eq!(after.stdout, list.stdout);
        let check = gatehouse(&["check-config"], &db.url, KEY);
        assert_eq!(check.code, 0, "{}", check.stdout);
    })
    .await;
}

async fn jwks_kids(base: &str) -> Vec<String> {
    let jwks: Value = reqwest::get(format!("{base}/oauth/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    crate::sso_support::kids(&jwks)
}

#[tokio::test]
async fn a_rotation_from_the_cli_reaches_a_running_instance() {
    each_engine(|engine| async move {
        let server = ChildServer::start(engine, &[("GATEHOUSE_KEY_RELOAD_SECONDS", "1")]).await;
        let before = jwks_kids(&server.base).await;
        assert_eq!(before.len(), 1);

        let rotate = gatehouse(
            &["keys", "rotate", "--purpose", "jwt", "--grace", "1h"],
            &server.db.url,
            KEY,
        );
        assert_eq!(rotate.code, 0, "{}", rotate.stderr);
        assert!(rotate.stdout.contains("signs from"), "{}", rotate.stdout);
        assert!(rotate.stdout.contains(&before[0]), "{}", rotate.stdout);

        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let after = loop {
            let kids = jwks_kids(&server.base).await;
            if kids.len() == 2 || std::time::Instant::now() > deadline {
                break kids;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(
            after.len(),
            2,
            "the running instance publishes the next key"
        );
        assert_eq!(
            after[0], before[0],
            "the old key still signs: it is listed first"
        );

        let list = gatehouse(&["keys", "list"], &server.db.url, KEY);
        assert!(list.stdout.contains(" next "), "{}", list.stdout);
        let again = gatehouse(&["keys", "rotate", "--purpose", "jwt"], &server.db.url, KEY);
        assert_eq!(again.code, 1);
        assert!(
            again.stderr.contains("already scheduled"),
            "{}",
            again.stderr
        );
    })
    .await;
}
