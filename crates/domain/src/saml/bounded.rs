//! SAML work (decoding, XML parsing, signature verification) off the async runtime,
//! a bounded number at a time.
//!
//! Every sign-in endpoint is open to anyone, and a 500 KB response costs milliseconds
//! of CPU and megabytes of memory to parse. Run on the runtime's workers, a flood of
//! junk posts would stall everything else the process serves (the dashboard, the token
//! endpoint, `/healthz`). Here each job runs on tokio's blocking pool, at most
//! `concurrency` at once; the rest wait in line (first come, first served) holding
//! only their raw body. A job that waits longer than `max_wait`, or arrives when
//! `max_waiting` are already in line, is refused as [`Busy`] (503) instead.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;

/// The line was full or too slow: try again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-in responses are being checked; try again in a moment")]
pub struct Busy;

#[derive(Debug)]
pub struct BoundedWork {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
}

impl BoundedWork {
    pub fn new(concurrency: usize, max_waiting: usize, max_wait: Duration) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
        }
    }

    /// One job per core, up to 256 in line for at most 10 seconds.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores, 256, Duration::from_secs(10))
    }

    /// Jobs running or waiting now (for metrics and tests).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Run `job` on the blocking pool when a slot is free.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return Err(Busy);
        }
        let permit =
            tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let permit = match permit {
            Ok(Ok(p)) => p,
            _ => return Err(Busy),
        };
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            job()
        })
        .await
        .map_err(|_| Busy)
    }
}

impl Default for BoundedWork {
    fn default() -> Self {
        Self::per_core()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn at_most_concurrency_jobs_run_and_the_line_is_bounded() {
        let work = Arc::new(BoundedWork::new(1, 2, Duration::from_secs(5)));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        let running = {
            let hold = hold.clone();
            let work = work.clone();
            tokio::spawn(async move {
                work.run(move || {
                    let _ = hold.lock().map(|h| h.recv());
                    1
                })
                .await
            })
        };
        // wait until the first job holds the only slot
        while work.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let work = work.clone();
            tokio::spawn(async move { work.run(|| 2).await })
        };
        let third = {
            let work = work.clone();
            tokio::spawn(async move { work.run(|| 3).await })
        };
        while work.waiting() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(work.run(|| 4).await, Err(Busy), "the line is full");
        release.send(()).ok();
        assert_eq!(running.await.ok(), Some(Ok(1)));
        assert_eq!(second.await.ok(), Some(Ok(2)));
        assert_eq!(third.await.ok(), Some(Ok(3)));
    }

    #[tokio::test]
    async fn a_job_that_waits_too_long_is_refused() {
        let work = Arc::new(BoundedWork::new(1, 8, Duration::from_millis(50)));
        let slow = {
            let work = work.clone();
            tokio::spawn(async move {
                work.run(|| std::thread::sleep(Duration::from_millis(300)))
                    .await
            })
        };
        while work.permits.available_permits() > 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(work.run(|| ()).await, Err(Busy));
        assert_eq!(slow.await.ok(), Some(Ok(())));
    }
}
