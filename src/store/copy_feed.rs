//! One `COPY … FROM STDIN (FORMAT binary)` kept open from a file's first batch of rows to its
//! last, on an import's own transaction. A task holds the transaction meanwhile and passes each
//! batch to the server as it comes, so that the server stores one batch while the caller reads
//! and encodes the next: a `COPY` a batch waited for the server after every batch, and the two
//! cores took turns (5M power-daily lines at 500,000 enterprises staged in 5.6 s instead of
//! ~15 s, `benches/power.rs`).
//!
//! Memory stays bounded: at most [`QUEUED`] batches wait for the task.

use sqlx::{Postgres, Transaction};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::copy::BinaryCopyWriter;

/// Batches encoded and not yet passed to the server.
const QUEUED: usize = 2;

/// The transaction an open feed gives back when it ends.
type Tx = Transaction<'static, Postgres>;

/// A `COPY` in progress on a transaction (see the module's doc).
pub struct CopyFeed {
    writer: BinaryCopyWriter,
    batches: mpsc::Sender<Vec<u8>>,
    task: JoinHandle<anyhow::Result<Tx>>,
}

impl CopyFeed {
    /// Starts `copy` (`COPY … FROM STDIN (FORMAT binary)`) on `tx`, which the feed holds until
    /// [`CopyFeed::finish`].
    pub fn start(mut tx: Tx, copy: &'static str) -> CopyFeed {
        let (batches, mut queued) = mpsc::channel::<Vec<u8>>(QUEUED);
        let task = tokio::spawn(async move {
            {
                let mut sink = tx.copy_in_raw(copy).await?;
                while let Some(batch) = queued.recv().await {
                    sink.send(batch).await?;
                }
                sink.finish().await?;
            }
            Ok(tx)
        });
        CopyFeed {
            writer: BinaryCopyWriter::default(),
            batches,
            task,
        }
    }

    /// Where the next batch's rows are written.
    pub fn writer(&mut self) -> &mut BinaryCopyWriter {
        &mut self.writer
    }

    /// Passes the rows written since the last call to the server; waits only while
    /// [`QUEUED`] batches are waiting already.
    pub async fn send(&mut self) -> anyhow::Result<()> {
        let batch = self.writer.take();
        if batch.is_empty() {
            return Ok(());
        }
        match self.batches.send(batch).await {
            Ok(()) => Ok(()),
            Err(_) => Err(self.stopped().await),
        }
    }

    /// Sends the last rows and the input's end, and gives the transaction back once the server
    /// has stored every row.
    pub async fn finish(mut self) -> anyhow::Result<Tx> {
        self.send().await?;
        // The trailer alone: the header went with the first batch.
        let end = std::mem::take(&mut self.writer).finish();
        if self.batches.send(end).await.is_err() {
            return Err(self.stopped().await);
        }
        drop(self.batches);
        self.task.await?
    }

    /// Gives up: the `COPY` is ended where it is (PostgreSQL takes the end of its input
    /// without the trailer) and the transaction rolled back, so nothing sent is kept.
    pub async fn abandon(self) -> anyhow::Result<()> {
        drop(self.batches);
        // Failed, the transaction was dropped with the task, which rolls it back.
        if let Ok(Ok(tx)) = self.task.await {
            tx.rollback().await?;
        }
        Ok(())
    }

    /// Why the task stopped before its input ended.
    async fn stopped(&mut self) -> anyhow::Error {
        match (&mut self.task).await {
            Ok(Err(e)) => e,
            Ok(Ok(_)) => anyhow::anyhow!("COPY ended before its input"),
            Err(e) => e.into(),
        }
    }
}
