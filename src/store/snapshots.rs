//! The archive of semimonthly snapshots (migration 0017): each half-month's files as written,
//! so that any replica's console serves them. Writing a half again replaces its files in one
//! transaction, as the folder on disk is replaced.

use sqlx::Row;

use super::{Store, on_pool};

/// A kept snapshot, without its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptSnapshot {
    pub half: String,
    pub period: String,
    pub manifest_sha256: String,
    pub written_at: i64,
    /// (name, size in bytes), by name.
    pub files: Vec<(String, i64)>,
}

/// One file of a kept snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptFile {
    pub sha256: String,
    pub content: Vec<u8>,
}

impl Store {
    /// Keeps the files of `half` (name, bytes), replacing those kept before.
    pub async fn keep_snapshot(
        &self,
        half: &str,
        period: &str,
        manifest_sha256: &str,
        files: &[(String, Vec<u8>)],
        now_ms: i64,
    ) -> anyhow::Result<()> {
        let upsert = "INSERT INTO snapshot_archive (half, period, manifest_sha256, written_at) VALUES ($1, $2, $3, $4)
            ON CONFLICT (half) DO UPDATE SET period = excluded.period, manifest_sha256 = excluded.manifest_sha256, written_at = excluded.written_at";
        let insert = "INSERT INTO snapshot_file (half, name, sha256, size, content) VALUES ($1, $2, $3, $4, $5)";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(upsert).bind(half).bind(period).bind(manifest_sha256).bind(now_ms)
                .execute(&mut *tx).await?;
            sqlx::query("DELETE FROM snapshot_file WHERE half = $1").bind(half)
                .execute(&mut *tx).await?;
            for (name, bytes) in files {
                sqlx::query(insert).bind(half).bind(name)
                    .bind(crate::report::write::sha256(bytes))
                    .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
                    .bind(bytes.as_slice())
                    .execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// The kept snapshots, newest half first, with their files' names and sizes.
    pub async fn kept_snapshots(&self) -> anyhow::Result<Vec<KeptSnapshot>> {
        let heads = "SELECT half, period, manifest_sha256, written_at FROM snapshot_archive ORDER BY half DESC";
        let files = "SELECT half, name, size FROM snapshot_file ORDER BY half, name";
        let (mut kept, files) = on_pool!(self, p => {
            let kept = sqlx::query(heads).fetch_all(p).await?.iter().map(|r| {
                Ok(KeptSnapshot {
                    half: r.try_get(0)?,
                    period: r.try_get(1)?,
                    manifest_sha256: r.try_get(2)?,
                    written_at: r.try_get(3)?,
                    files: Vec::new(),
                })
            }).collect::<Result<Vec<_>, sqlx::Error>>()?;
            let files = sqlx::query(files).fetch_all(p).await?.iter().map(|r| {
                Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?, r.try_get::<i64, _>(2)?))
            }).collect::<Result<Vec<_>, sqlx::Error>>()?;
            (kept, files)
        });
        for (half, name, size) in files {
            if let Some(k) = kept.iter_mut().find(|k| k.half == half) {
                k.files.push((name, size));
            }
        }
        Ok(kept)
    }

    /// One kept file's bytes.
    pub async fn kept_file(&self, half: &str, name: &str) -> anyhow::Result<Option<KeptFile>> {
        let sql = "SELECT sha256, content FROM snapshot_file WHERE half = $1 AND name = $2";
        let row = on_pool!(self, p => sqlx::query(sql).bind(half).bind(name).fetch_optional(p).await?.map(|r| {
            Ok::<_, sqlx::Error>(KeptFile { sha256: r.try_get(0)?, content: r.try_get(1)? })
        }).transpose()?);
        Ok(row)
    }
}
