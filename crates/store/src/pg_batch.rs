//! PostgreSQL: the same one-row sign-in statement from concurrent requests, run as one.
//!
//! Under load many sign-ins make the same one-row statement at the same moment (store
//! a pending request at authorize, complete it at the ACS, redeem the code, read the
//! access token at userinfo). Each round trip
//! costs PostgreSQL and the server a fixed amount of work (waking a backend and a
//! worker, the protocol, starting the executor, committing) that is several times a
//! row's own. A [`Batcher`] runs the requests that are waiting for its statement as
//! one: each request's values are one element of a JSON array bound as `$1`
//! (`json_to_recordset($1::json)`), tagged with its place `k`, and the statement
//! returns `k` with every result row so each request gets its own rows back.
//!
//! Nothing waits to fill a batch, and a request that finds none of its statements
//! running ([`IN_FLIGHT`]) runs at once, alone, as its own one-row statement with
//! plain parameters (the caller's `alone`): a one-element JSON batch costs PostgreSQL
//! about a third more than that (parsing the JSON, the bigger plan), so batching only
//! pays when batches form. They form from requests that arrive while the statements
//! in flight run, which is exactly when the round trips' fixed cost is worth saving;
//! a batch that turns out to hold one request runs that request's `alone` statement.
//! If a batch fails (one element breaks a constraint, say), each of its requests is
//! run again alone, so a request only ever sees its own error. A statement sent to the
//! batching task runs to its end even if its requester has gone away.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyPool, Row};
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use gatehouse_domain::ports::{StoreError, StoreResult};

use crate::map_err;

/// Requests per statement, at most.
const MAX_BATCH: usize = 64;
/// Statements of one batcher running at once. One: while it runs, the requests that
/// arrive wait and then go together (measured better than two, in throughput and in
/// the latency tail; the figures are in the commit that set it).
const IN_FLIGHT: usize = 1;

/// One request's own statement, with its values bound as plain parameters.
pub(crate) type Alone = sqlx::query::Query<'static, Any, AnyArguments<'static>>;

struct Job {
    /// One JSON object, serialized.
    item: String,
    alone: Alone,
    reply: oneshot::Sender<Result<Vec<AnyRow>, sqlx::Error>>,
}

#[derive(Debug)]
pub(crate) struct Batcher {
    pool: AnyPool,
    slots: Arc<Semaphore>,
    jobs: mpsc::UnboundedSender<Job>,
}

impl Batcher {
    /// Start the batching task on the current runtime. `sql` reads its requests from
    /// `json_to_recordset($1::json)` and returns the column `k` (bigint) in every row.
    pub(crate) fn start(pool: AnyPool, sql: &'static str) -> Self {
        let (jobs, rx) = mpsc::unbounded_channel();
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        tokio::spawn(run(pool.clone(), sql, slots.clone(), rx));
        Self { pool, slots, jobs }
    }

    /// The rows of one request: `item` (a JSON object; `k` is added here) is its
    /// element of a batch, `alone` the same request as a statement of its own, whose
    /// rows have the same columns but `k`.
    pub(crate) async fn run(
        &self,
        item: &serde_json::Value,
        alone: Alone,
    ) -> StoreResult<Vec<AnyRow>> {
        if item.as_object().is_none_or(|o| o.is_empty()) {
            return Err(StoreError::Backend(
                "a batched request must be a non-empty JSON object".into(),
            ));
        }
        // A free slot (and so nobody waiting for one): run alone, now.
        if let Ok(slot) = self.slots.clone().try_acquire_owned() {
            let rows = alone.fetch_all(&self.pool).await.map_err(map_err);
            drop(slot);
            return rows;
        }
        // Serialized only when it may join a batch.
        let item = item.to_string();
        let (reply, answer) = oneshot::channel();
        match self.jobs.send(Job { item, alone, reply }) {
            Ok(()) => answer
                .await
                .map_err(|_| StoreError::Backend("a batched statement was dropped".into()))?
                .map_err(map_err),
            // The batching task has gone (its runtime ended): run it here.
            Err(mpsc::error::SendError(job)) => {
                job.alone.fetch_all(&self.pool).await.map_err(map_err)
            }
        }
    }
}

async fn run(
    pool: AnyPool,
    sql: &'static str,
    slots: Arc<Semaphore>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    while let Some(first) = jobs.recv().await {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let pool = pool.clone();
        tokio::spawn(execute(pool, sql, batch, slot));
    }
}

async fn execute(pool: AnyPool, sql: &str, batch: Vec<Job>, slot: OwnedSemaphorePermit) {
    if batch.len() > 1 {
        if let Ok(mut rows) = together(&pool, sql, batch.iter().map(|j| j.item.as_str())).await {
            for (k, job) in batch.into_iter().enumerate() {
                let _ = job.reply.send(Ok(rows.remove(&k).unwrap_or_default()));
            }
            drop(slot);
            return;
        }
    }
    // One request, or a batch that failed: each request alone, so that an error is
    // only ever a request's own.
    for job in batch {
        let _ = job.reply.send(job.alone.fetch_all(&pool).await);
    }
    drop(slot);
}

/// Run `sql` once over `items`; the rows by each item's place.
pub(crate) async fn together<'a>(
    pool: &AnyPool,
    sql: &str,
    items: impl Iterator<Item = &'a str>,
) -> Result<HashMap<usize, Vec<AnyRow>>, sqlx::Error> {
    let mut array = String::from("[");
    for (k, item) in items.enumerate() {
        if k > 0 {
            array.push(',');
        }
        // `{"a":…}` becomes `{"k":0,"a":…}`.
        array.push_str(&format!("{{\"k\":{k},"));
        array.push_str(item.get(1..).unwrap_or("}"));
    }
    array.push(']');
    let mut by_place: HashMap<usize, Vec<AnyRow>> = HashMap::new();
    for row in sqlx::query(sql).bind(array).fetch_all(pool).await? {
        let k: i64 = row.try_get("k")?;
        let k = usize::try_from(k).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        by_place.entry(k).or_default().push(row);
    }
    Ok(by_place)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use crate::Engine;
    use serde_json::json;

    const INSERTS: &str =
        "WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(k bigint, id text, v text)), \
         i AS (INSERT INTO batch_test (id, v) SELECT id, v FROM x RETURNING id) \
         SELECT x.k, i.id FROM x JOIN i ON i.id = x.id";
    const READS: &str = "SELECT x.k, t.v FROM json_to_recordset($1::json) AS x(k bigint, id text) \
         JOIN batch_test t ON t.id = x.id";

    fn insert_alone(id: &str, v: Option<&str>) -> Alone {
        sqlx::query("INSERT INTO batch_test (id, v) VALUES ($1, $2) RETURNING id")
            .bind(id.to_string())
            .bind(v.map(str::to_string))
    }

    fn read_alone(id: &str) -> Alone {
        sqlx::query("SELECT v FROM batch_test WHERE id = $1").bind(id.to_string())
    }

    /// A fresh PostgreSQL database with the table `batch_test`, when PostgreSQL is
    /// among the test engines.
    async fn scratch() -> Option<(testing::TestDatabase, AnyPool)> {
        if !testing::engines().contains(&Engine::Postgres) {
            return None;
        }
        let db = match testing::fresh_database(Engine::Postgres).await {
            Ok(db) => db,
            Err(e) => panic!("{e}"),
        };
        sqlx::any::install_default_drivers();
        let pool = match AnyPool::connect(&db.url).await {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        if let Err(e) =
            sqlx::query("CREATE TABLE batch_test (id TEXT PRIMARY KEY, v TEXT NOT NULL)")
                .execute(&pool)
                .await
        {
            panic!("{e}");
        }
        Some((db, pool))
    }

    fn text(row: &AnyRow, col: &str) -> String {
        match row.try_get::<String, _>(col) {
            Ok(v) => v,
            Err(e) => panic!("{col}: {e}"),
        }
    }

    /// Requests made at once share statements, yet each gets exactly its own rows and
    /// only its own error: a failing element fails nobody else's request.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_request_gets_only_its_own_rows_and_its_own_error() {
        let Some((_db, pool)) = scratch().await else {
            return;
        };
        let inserts = Arc::new(Batcher::start(pool.clone(), INSERTS));
        // Every fifth value is missing: NOT NULL refuses that element, and only it.
        let stored = (0..60).map(|n| {
            let inserts = inserts.clone();
            tokio::spawn(async move {
                let (id, v) = (
                    format!("id {n}"),
                    (n % 5 != 0).then(|| format!("value {n}")),
                );
                let alone = insert_alone(&id, v.as_deref());
                (n, inserts.run(&json!({ "id": id, "v": v }), alone).await)
            })
        });
        for handle in stored.collect::<Vec<_>>() {
            let (n, result) = match handle.await {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            };
            match result {
                Ok(rows) => {
                    assert!(n % 5 != 0, "request {n} should have failed");
                    assert_eq!(rows.len(), 1, "request {n}");
                    assert_eq!(text(&rows[0], "id"), format!("id {n}"));
                }
                Err(e) => {
                    assert_eq!(n % 5, 0, "request {n} failed: {e}");
                    assert!(e.to_string().contains("null"), "{e}");
                }
            }
        }

        let reads = Arc::new(Batcher::start(pool.clone(), READS));
        let read = (0..60).map(|n| {
            let reads = reads.clone();
            tokio::spawn(async move {
                let id = format!("id {n}");
                (n, reads.run(&json!({ "id": id }), read_alone(&id)).await)
            })
        });
        for handle in read.collect::<Vec<_>>() {
            let (n, result) = match handle.await {
                Ok(r) => r,
                Err(e) => panic!("{e}"),
            };
            let rows = match result {
                Ok(rows) => rows,
                Err(e) => panic!("read {n}: {e}"),
            };
            if n % 5 == 0 {
                assert!(rows.is_empty(), "request {n} got someone else's row");
            } else {
                assert_eq!(rows.len(), 1, "request {n}");
                assert_eq!(text(&rows[0], "v"), format!("value {n}"));
            }
        }
        pool.close().await;
    }

    #[tokio::test]
    async fn a_request_must_be_a_json_object() {
        let Some((_db, pool)) = scratch().await else {
            return;
        };
        let reads = Batcher::start(pool.clone(), READS);
        assert!(reads
            .run(&json!(["id 1"]), read_alone("id 1"))
            .await
            .is_err());
        assert!(reads.run(&json!({}), read_alone("id 1")).await.is_err());
        pool.close().await;
    }
}
