//! A value every page reads (the open alerts and the unit names), read from the database at
//! most once per its time to live and never waited for once it has been read: when it is
//! older, the page that notices starts one refresh in the background and is served the value
//! it has (stale-while-revalidate). Only the pages before the first read completes wait, for
//! that read. A refresh that fails is logged and the next page past the time tries again.
//!
//! Case states are not kept here: every page reads its cases from the database, so an answer
//! shows on the official's next page whatever this value's age.

use crate::causes::Causes;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The value, when it was read, and whether a refresh is under way.
pub struct SharedRead<T> {
    ttl: Duration,
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    held: std::sync::Mutex<Option<(Instant, T)>>,
    refreshing: AtomicBool,
    /// Serialises the first read (no value yet): one page reads, the others wait for it.
    first: tokio::sync::Mutex<()>,
}

impl<T> Inner<T> {
    fn current(&self) -> Option<(Instant, T)>
    where
        T: Clone,
    {
        // A panic while the lock was held cannot have left a half-written Option.
        let held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        held.clone()
    }

    fn keep(&self, value: T) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        *held = Some((Instant::now(), value));
    }
}

/// Clears the refresh flag when the refresh ends, however it ends.
struct Refreshing<T>(Arc<Inner<T>>);

impl<T> Drop for Refreshing<T> {
    fn drop(&mut self) {
        self.0.refreshing.store(false, Ordering::Release);
    }
}

impl<T: Clone + Send + 'static> SharedRead<T> {
    /// Nothing read yet; a value is refreshed once it is `ttl` old.
    pub fn new(ttl: Duration) -> SharedRead<T> {
        SharedRead {
            ttl,
            inner: Arc::new(Inner {
                held: std::sync::Mutex::new(None),
                refreshing: AtomicBool::new(false),
                first: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The value: the one held (starting a refresh by `load` in the background when it is
    /// `ttl` old and none is under way), or, before any, the one `load` reads now.
    pub async fn get<F, Fut>(&self, load: F) -> anyhow::Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        if let Some((at, value)) = self.inner.current() {
            if at.elapsed() >= self.ttl {
                self.refresh(load);
            }
            return Ok(value);
        }
        let _first = self.inner.first.lock().await;
        if let Some((_, value)) = self.inner.current() {
            return Ok(value);
        }
        let value = load().await?;
        self.inner.keep(value.clone());
        Ok(value)
    }

    /// Starts `load` in the background unless a refresh is under way.
    fn refresh<F, Fut>(&self, load: F)
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    {
        if self.inner.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let guard = Refreshing(self.inner.clone());
        let reading = load();
        tokio::spawn(async move {
            match reading.await {
                Ok(value) => guard.0.keep(value),
                Err(e) => tracing::warn!(
                    error = %Causes(&e),
                    "无法刷新控制台的预警缓存，继续使用上次读取的 (cannot refresh the console's open alerts; the previous read is served)"
                ),
            }
            drop(guard);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Notify;

    /// A load that returns `value` once `gate` is opened, counting its calls.
    fn gated(
        value: u32,
        gate: &Arc<Notify>,
        calls: &Arc<AtomicUsize>,
    ) -> impl Future<Output = anyhow::Result<u32>> + Send + 'static {
        let (gate, calls) = (gate.clone(), calls.clone());
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            gate.notified().await;
            Ok(value)
        }
    }

    #[tokio::test]
    async fn a_page_is_served_the_held_value_while_one_refresh_runs() {
        let read = SharedRead::new(Duration::ZERO);
        let (gate, calls) = (Arc::new(Notify::new()), Arc::new(AtomicUsize::new(0)));
        assert_eq!(read.get(|| async { Ok(1) }).await.expect("first"), 1);

        // The value is past its time: each page gets the old value at once, while the one
        // refresh they started waits at its gate.
        for _ in 0..3 {
            let got =
                tokio::time::timeout(Duration::from_secs(1), read.get(|| gated(2, &gate, &calls)))
                    .await
                    .expect("a page does not wait for the refresh");
            assert_eq!(got.expect("value"), 1);
        }
        tokio::task::yield_now().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "one refresh at a time");

        // Once the refresh ends, pages get its value.
        gate.notify_one();
        let fresh = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                let v = read.get(|| async { Ok(2) }).await.expect("value");
                if v == 2 {
                    return;
                }
                tokio::task::yield_now().await;
            }
        })
        .await;
        assert!(fresh.is_ok(), "the refreshed value is served");
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_the_value_and_the_next_page_tries_again() {
        let read = SharedRead::new(Duration::ZERO);
        assert_eq!(read.get(|| async { Ok(1) }).await.expect("first"), 1);
        let failed = read.get(|| async { Err(anyhow::anyhow!("database gone")) });
        assert_eq!(failed.await.expect("the held value"), 1);
        // The failed refresh has ended (its flag cleared): a later page starts another.
        let again = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                tokio::task::yield_now().await;
                if read.get(|| async { Ok(3) }).await.expect("value") == 3 {
                    return;
                }
            }
        })
        .await;
        assert!(again.is_ok(), "a refresh after the failed one");
    }

    #[tokio::test]
    async fn a_fresh_value_is_not_read_again() {
        let read = SharedRead::new(Duration::from_secs(3600));
        assert_eq!(read.get(|| async { Ok(1) }).await.expect("first"), 1);
        let got = read.get(|| async { Ok(2) }).await.expect("held");
        assert_eq!(got, 1);
    }
}
