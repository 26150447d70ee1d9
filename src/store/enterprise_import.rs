//! An enterprise registry (企业名录) imported as it is read: the enterprises are written in
//! batches inside one transaction while the file is parsed, so memory holds one batch, not the
//! file (a nation's 500,000 enterprises held whole took 424 MiB). A rejected file is rolled
//! back whole, as before; the batches are written in file order, so `registry_change` records
//! the same images in the same order as one write of the whole file.

use sqlx::{Postgres, Sqlite, Transaction};

use super::enterprises::WriteEnterprises;
use super::registry::Applied;
use super::runs::write_run_end;
use super::sources::ENSURE;
use super::{RunEnd, Store};
use crate::registry::Enterprise;

/// Enterprises held before they are written: about 850 bytes each while held.
pub const ENTERPRISE_BATCH: usize = 20_000;

enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

/// An import of enterprises in progress: an open transaction and what it has applied so far.
pub struct EnterpriseImport {
    tx: Tx,
    run_id: i64,
    now_ms: i64,
    applied: Applied,
}

impl Store {
    /// Opens the transaction of an enterprise registry import for run `run_id`.
    pub async fn begin_enterprises(
        &self,
        run_id: i64,
        now_ms: i64,
    ) -> anyhow::Result<EnterpriseImport> {
        let tx = match self {
            // The write lock at once: a deferred transaction that reads first could not take
            // it later if another writer committed meanwhile.
            Store::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Store::Postgres(p) => Tx::Postgres(p.begin().await?),
        };
        Ok(EnterpriseImport {
            tx,
            run_id,
            now_ms,
            applied: Applied::default(),
        })
    }
}

impl EnterpriseImport {
    /// Writes a batch of enterprises, in file order; their credit codes are distinct from each
    /// other and from every earlier batch's.
    pub async fn write(&mut self, batch: &[Enterprise]) -> anyhow::Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let refs: Vec<&Enterprise> = batch.iter().collect();
        let (run_id, now_ms) = (self.run_id, self.now_ms);
        let a = match &mut self.tx {
            Tx::Sqlite(tx) => tx.write_enterprises(run_id, &refs, now_ms).await?,
            Tx::Postgres(tx) => tx.write_enterprises(run_id, &refs, now_ms).await?,
        };
        self.applied.accepted += a.accepted;
        self.applied.revised += a.revised;
        self.applied.unchanged += a.unchanged;
        Ok(())
    }

    /// What the batches written so far did.
    pub fn applied(&self) -> Applied {
        self.applied
    }

    /// Commits the import with its run's end and, for a pulled page, the source's cursor.
    pub async fn commit(
        self,
        cursor: Option<(&str, &str)>,
        end: &RunEnd<'_>,
    ) -> anyhow::Result<Applied> {
        let (run_id, now_ms) = (self.run_id, self.now_ms);
        let update = "UPDATE source_state SET cursor = $1, updated_at = $2 WHERE source = $3";
        macro_rules! finish {
            ($tx:ident) => {{
                if let Some((source, c)) = cursor {
                    sqlx::query(ENSURE)
                        .bind(source)
                        .bind(now_ms)
                        .execute(&mut *$tx)
                        .await?;
                    sqlx::query(update)
                        .bind(c)
                        .bind(now_ms)
                        .bind(source)
                        .execute(&mut *$tx)
                        .await?;
                }
                write_run_end!($tx, run_id, end);
                $tx.commit().await?;
            }};
        }
        match self.tx {
            Tx::Sqlite(mut tx) => finish!(tx),
            Tx::Postgres(mut tx) => finish!(tx),
        }
        Ok(self.applied)
    }

    /// Abandons the import: nothing of it reaches the database.
    pub async fn rollback(self) -> anyhow::Result<()> {
        match self.tx {
            Tx::Sqlite(tx) => tx.rollback().await?,
            Tx::Postgres(tx) => tx.rollback().await?,
        }
        Ok(())
    }
}
