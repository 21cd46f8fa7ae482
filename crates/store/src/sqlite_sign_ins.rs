//! SQLite: a sign-in's own statements, through rusqlite, with as few thread hand-offs
//! as can be.
//!
//! A sign-in makes four statements (the pending request stored at authorize, its
//! completion at the ACS, the code redemption, userinfo's token read), each a few
//! dozen microseconds of SQLite's own work. Through sqlx each of them was a hand-off
//! between threads: sqlx runs every SQLite connection on a thread of its own, and the
//! writes went through a queue thread in front of the writer connection besides, so a
//! write woke two threads and was woken back twice. At 700 sign-ins/s those threads
//! switched some 4,000 times a second each and used a fifth of the server's CPU. Here
//! they run through rusqlite (the same SQLite library: rusqlite 0.32 and sqlx-sqlite
//! 0.8 both link libsqlite3-sys 0.30):
//!
//! * writes on one writer connection of their own, owned by one thread that runs them
//!   one after the other, each one statement or one `BEGIN IMMEDIATE` transaction
//!   whose statements run back to back (rolled back whole if one fails). A write is
//!   one hand-off there and one back. They do not run on the request's own thread: a
//!   write that waits for the disk (the WAL's pages, a checkpoint's sync) would stop
//!   a runtime worker, and with it every request on that worker, not only the
//!   sign-ins that need to write (tried: the 1,000/s tail grew);
//! * reads on the request's own thread, on reader connections kept for reuse (in WAL
//!   mode a reader never waits for the writer).
//!
//! Other writes (dashboard, admin API, the purge) keep sqlx's one-connection writer
//! pool; the two writers take SQLite's write lock in turn (`busy_timeout`). Those
//! writes are short and rare, so a sign-in's write waits for one only now and then.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::Duration;

use gatehouse_domain::ports::{StoreError, StoreResult};
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};

use crate::rows::RowExt;
use crate::values::{Param, Values};

/// Reader connections kept for reuse (more are opened when all are in use).
const KEEP_READERS: usize = 8;
/// How long a statement waits for SQLite's write lock held by another writer.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub(crate) struct SqliteSignIns {
    path: PathBuf,
    /// To the writing thread; it ends when this is dropped.
    writes: mpsc::Sender<WriteJob>,
    readers: Mutex<Vec<Connection>>,
}

#[derive(Debug)]
struct WriteJob {
    statements: &'static [&'static str],
    values: Values,
    reply: tokio::sync::oneshot::Sender<StoreResult<Vec<SqliteRow>>>,
}

/// One result row: its columns by name.
#[derive(Debug)]
pub(crate) struct SqliteRow {
    columns: Arc<[String]>,
    values: Vec<Value>,
}

impl SqliteSignIns {
    /// Open the writer connection on the database file at `path` (which exists:
    /// sqlx has created it) and start the writing thread.
    pub(crate) fn open(path: &Path) -> StoreResult<Self> {
        let mut writer = open(path)?;
        // The background checkpointer does it (see `SqlStore::spawn_checkpointer`).
        writer
            .pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(map_err)?;
        let (writes, jobs) = mpsc::channel::<WriteJob>();
        std::thread::Builder::new()
            .name("sqlite-writes".into())
            .spawn(move || {
                // A job runs to its end even if its requester has gone away.
                while let Ok(job) = jobs.recv() {
                    let result = write(&mut writer, job.statements, &job.values);
                    let _ = job.reply.send(result);
                }
            })
            .map_err(|e| StoreError::Backend(format!("SQLite writing thread: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            writes,
            readers: Mutex::new(Vec::new()),
        })
    }

    /// One write: `statements` run in order, as one `BEGIN IMMEDIATE` transaction
    /// when there are several (rolled back if one fails), with `values` as their
    /// `$1`, `$2`…; the rows they return, in order.
    pub(crate) async fn write(
        &self,
        statements: &'static [&'static str],
        values: Values,
    ) -> StoreResult<Vec<SqliteRow>> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = WriteJob {
            statements,
            values,
            reply,
        };
        self.writes
            .send(job)
            .map_err(|_| StoreError::Backend("the SQLite writing thread has stopped".into()))?;
        answer
            .await
            .map_err(|_| StoreError::Backend("the SQLite writing thread dropped a write".into()))?
    }

    /// One read.
    pub(crate) fn read(&self, sql: &str, values: &Values) -> StoreResult<Vec<SqliteRow>> {
        let popped = lock(&self.readers).pop();
        let conn = match popped {
            Some(c) => c,
            None => open(&self.path)?,
        };
        let rows = run(&conn, sql, values);
        let mut readers = lock(&self.readers);
        if readers.len() < KEEP_READERS {
            readers.push(conn);
        }
        rows
    }
}

fn write(
    conn: &mut Connection,
    statements: &[&str],
    values: &Values,
) -> StoreResult<Vec<SqliteRow>> {
    if let [one] = statements {
        return run(conn, one, values);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let mut rows = Vec::new();
    for sql in statements {
        rows.extend(run(&tx, sql, values)?);
    }
    tx.commit().map_err(map_err)?;
    Ok(rows)
}

/// A poisoned lock only means a thread panicked while holding it; the list of idle
/// reader connections it guards is still sound.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open(path: &Path) -> StoreResult<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(map_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(map_err)?;
    for (pragma, value) in [
        ("foreign_keys", "ON"),
        ("synchronous", "NORMAL"),
        ("journal_size_limit", "67108864"),
    ] {
        conn.pragma_update(None, pragma, value).map_err(map_err)?;
    }
    Ok(conn)
}

/// Run one statement with `values` bound by number (`$3` is the third value,
/// wherever it first appears, as sqlx binds them) and collect its rows.
fn run(conn: &Connection, sql: &str, values: &Values) -> StoreResult<Vec<SqliteRow>> {
    let mut stmt = conn.prepare_cached(sql).map_err(map_err)?;
    for i in 1..=stmt.parameter_count() {
        let n = stmt
            .parameter_name(i)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| StoreError::Backend(format!("parameter {i} is not $n: {sql}")))?;
        let bound = match values.get(n) {
            Some(Param::Text(Some(v))) => stmt.raw_bind_parameter(i, v.as_str()),
            Some(Param::Text(None)) => stmt.raw_bind_parameter(i, rusqlite::types::Null),
            Some(Param::Int(v)) => stmt.raw_bind_parameter(i, *v),
            None => return Err(StoreError::Backend(format!("no value for ${n}: {sql}"))),
        };
        bound.map_err(map_err)?;
    }
    let columns: Arc<[String]> = stmt.column_names().into_iter().map(String::from).collect();
    let mut rows = stmt.raw_query();
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(map_err)? {
        let values = (0..columns.len())
            .map(|i| row.get::<_, Value>(i))
            .collect::<Result<Vec<_>, _>>()
            .map_err(map_err)?;
        out.push(SqliteRow {
            columns: columns.clone(),
            values,
        });
    }
    Ok(out)
}

fn map_err(e: rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation)
            if matches!(
                &e,
                rusqlite::Error::SqliteFailure(f, _)
                    if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                        || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            ) =>
        {
            StoreError::Conflict(e.to_string())
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

impl SqliteRow {
    fn value(&self, col: &str) -> Result<&Value, StoreError> {
        self.columns
            .iter()
            .position(|c| c == col)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| StoreError::Corrupt(format!("no column {col}")))
    }
}

fn wrong(col: &str, v: &Value) -> StoreError {
    StoreError::Corrupt(format!("{col}: unexpected {:?}", v.data_type()))
}

impl RowExt for SqliteRow {
    fn text(&self, col: &str) -> Result<String, StoreError> {
        self.opt_text(col)?
            .ok_or_else(|| StoreError::Corrupt(format!("{col} is NULL")))
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        match self.value(col)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            v => Err(wrong(col, v)),
        }
    }
    fn int(&self, col: &str) -> Result<i64, StoreError> {
        self.opt_int(col)?
            .ok_or_else(|| StoreError::Corrupt(format!("{col} is NULL")))
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, StoreError> {
        match self.value(col)? {
            Value::Null => Ok(None),
            Value::Integer(i) => Ok(Some(*i)),
            v => Err(wrong(col, v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh database file with one table, and the sign-in path on it.
    fn fresh(tag: &str) -> (PathBuf, SqliteSignIns) {
        let path =
            std::env::temp_dir().join(format!("gatehouse-direct-{tag}-{}.db", std::process::id()));
        for stale in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{stale}", path.display()));
        }
        let setup = Connection::open(&path).and_then(|c| {
            c.execute_batch(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER);",
            )
        });
        if let Err(e) = setup {
            panic!("{e}");
        }
        match SqliteSignIns::open(&path) {
            Ok(s) => (path, s),
            Err(e) => panic!("{e}"),
        }
    }

    fn count(s: &SqliteSignIns) -> i64 {
        match s.read("SELECT COUNT(*) AS n FROM t", &Values::default()) {
            Ok(rows) => rows.first().and_then(|r| r.int("n").ok()).unwrap_or(-1),
            Err(e) => panic!("{e}"),
        }
    }

    /// `$3` is the third value wherever it first appears in the statement (SQLite
    /// itself numbers parameters by first appearance).
    #[tokio::test]
    async fn values_are_bound_by_number_not_by_order_of_appearance() {
        let (path, s) = fresh("bind");
        let v = Values::default()
            .with("a", 1_i64)
            .with("b", "bee")
            .with("c", "sea");
        let rows = match s.read("SELECT $3 AS c, $1 AS a, $2 AS b, $3 AS c2", &v) {
            Ok(rows) => rows,
            Err(e) => panic!("{e}"),
        };
        let row = &rows[0];
        assert_eq!(row.text("c").ok().as_deref(), Some("sea"));
        assert_eq!(row.int("a").ok(), Some(1));
        assert_eq!(row.text("b").ok().as_deref(), Some("bee"));
        assert_eq!(row.text("c2").ok().as_deref(), Some("sea"));
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_missing_value_is_an_error_not_null() {
        let (path, s) = fresh("missing");
        let v = Values::default().with("a", 1_i64);
        assert!(s.read("SELECT $2 AS b", &v).is_err());
        assert!(s
            .write(&["INSERT INTO t (id, n) VALUES ('x', $2)"], v.clone())
            .await
            .is_err());
        assert_eq!(count(&s), 0);
        let _ = std::fs::remove_file(path);
    }

    /// A transaction that fails halfway leaves nothing behind, says why, and the
    /// writer is usable again at once.
    #[tokio::test]
    async fn a_failed_transaction_is_rolled_back_whole() {
        let (path, s) = fresh("rollback");
        let v = Values::default().with("id", "one").with("n", 1_i64);
        const INSERT: &str = "INSERT INTO t (id, n) VALUES ($1, $2)";
        let twice = s.write(&[INSERT, INSERT], v.clone()).await;
        assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
        assert_eq!(count(&s), 0);
        assert!(s.write(&[INSERT], v).await.is_ok());
        assert_eq!(count(&s), 1);
        let _ = std::fs::remove_file(path);
    }

    /// Each statement of a transaction sees the ones before it (`changes()`), and its
    /// rows come back in order.
    #[tokio::test]
    async fn a_transaction_runs_its_statements_in_order() {
        let (path, s) = fresh("order");
        let v = Values::default().with("id", "one").with("n", 7_i64);
        let rows = s
            .write(
                &[
                    "INSERT INTO t (id, n) VALUES ($1, $2)",
                    "UPDATE t SET n = n + 1 WHERE id = $1 AND changes() = 1",
                    "SELECT n, changes() AS changed FROM t WHERE id = $1",
                ],
                v,
            )
            .await;
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].int("n").ok(), Some(8));
        assert_eq!(rows[0].int("changed").ok(), Some(1));
        assert!(rows[0].text("n").is_err(), "an integer is not text");
        assert!(rows[0].int("absent").is_err());
        let _ = std::fs::remove_file(path);
    }
}
