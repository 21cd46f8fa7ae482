//! SQLite: the sign-in path's writes, run back to back on the writer connection by
//! one task on its own thread.
//!
//! SQLite has one writer at a time, and the store has one writer connection (a
//! one-connection pool, so that writers queue instead of sleeping in SQLite's busy
//! handler). Under load, that connection was idle more often than busy: after each
//! write, the task holding it had to be polled again by a busy runtime before it
//! released it, and the next waiter had to be woken and polled before it could send
//! its statement. Here one task takes the connection when writes are waiting and runs
//! them one after the other (up to [`BATCH`] before it lets other writers in), each
//! answered as soon as it is done. It runs on a thread of its own, so it is never
//! queued behind request handlers.
//!
//! Each job is one statement or one whole-transaction script; a failed script is
//! rolled back. A job runs to its end even if its requester has gone away (a
//! cancelled request never leaves a transaction half done).

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyPool};
use tokio::sync::{mpsc, oneshot};

use gatehouse_domain::ports::{StoreError, StoreResult};

use crate::map_err;

/// Writes run per turn on the connection before other writers get it.
const BATCH: usize = 64;

type Query = sqlx::query::Query<'static, Any, AnyArguments<'static>>;

struct Job {
    query: Query,
    /// A `BEGIN …; COMMIT;` script: roll back when it fails.
    script: bool,
    reply: oneshot::Sender<Result<Vec<AnyRow>, sqlx::Error>>,
}

#[derive(Debug)]
pub(crate) struct WriteQueue {
    jobs: mpsc::UnboundedSender<Job>,
}

impl WriteQueue {
    /// Start the writing thread; it ends when the queue is dropped.
    pub(crate) fn start(writer: AnyPool) -> StoreResult<Self> {
        let (jobs, rx) = mpsc::unbounded_channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| StoreError::Backend(format!("write queue runtime: {e}")))?;
        std::thread::Builder::new()
            .name("sqlite-writes".into())
            .spawn(move || runtime.block_on(run(writer, rx)))
            .map_err(|e| StoreError::Backend(format!("write queue thread: {e}")))?;
        Ok(Self { jobs })
    }

    /// Run one statement, or (`script`) one whole-transaction script.
    pub(crate) async fn run(&self, query: Query, script: bool) -> StoreResult<Vec<AnyRow>> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                query,
                script,
                reply,
            })
            .map_err(|_| StoreError::Backend("the SQLite write queue has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the SQLite write queue dropped a write".into()))?
            .map_err(map_err)
    }
}

async fn run(writer: AnyPool, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(first) = jobs.recv().await {
        let mut conn = match writer.acquire().await {
            Ok(c) => c,
            Err(e) => {
                let _ = first.reply.send(Err(e));
                continue;
            }
        };
        let mut next = Some(first);
        let mut done = 0;
        while let Some(job) = next.take() {
            let result = job.query.fetch_all(&mut *conn).await;
            if result.is_err() && job.script {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            }
            let _ = job.reply.send(result);
            done += 1;
            if done < BATCH {
                next = jobs.try_recv().ok();
            }
        }
    }
}
