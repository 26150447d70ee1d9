//! Who may run jobs: one process per database.
//!
//! PostgreSQL: a session advisory lock held on one dedicated connection (not the pool, whose
//! connections come and go). The server releases it when that session ends — on exit, on
//! `kill -9`, on a lost network — and another replica's next attempt takes it. The holder checks
//! its connection every few seconds and steps down when it fails.
//!
//! SQLite: one process, full stop. An exclusive lock on `<database>.lock` (released by the
//! kernel when the process dies) makes a second `serve` refuse, naming the holder's pid.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// The advisory lock key: "indmon" in ASCII. Advisory locks are per database, so replicas of
/// different databases on one server do not contend.
pub const LOCK_KEY: i64 = 0x69_6e_64_6d_6f_6e;

/// The leader lock of a PostgreSQL deployment.
pub struct PgLeader {
    opts: PgConnectOptions,
    conn: Option<PgConnection>,
    held: bool,
}

impl PgLeader {
    pub fn new(url: &str, password: Option<&SecretString>) -> anyhow::Result<PgLeader> {
        let mut opts = PgConnectOptions::from_str(url)
            .context("数据库地址无效 (invalid PostgreSQL URL)")?
            .application_name("indmon-leader");
        if let Some(p) = password {
            opts = opts.password(p.expose_secret());
        }
        Ok(PgLeader {
            opts,
            conn: None,
            held: false,
        })
    }

    /// Tries once to become leader; `Ok(false)` when another session holds the lock.
    pub async fn try_acquire(&mut self) -> anyhow::Result<bool> {
        let mut conn = match self.conn.take() {
            Some(c) => c,
            None => tokio::time::timeout(
                Duration::from_secs(10),
                PgConnection::connect_with(&self.opts),
            )
            .await
            .context("连接超时 (connect timed out)")??,
        };
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut conn)
            .await?;
        self.conn = Some(conn);
        self.held = got;
        Ok(got)
    }

    /// Whether the session holding the lock is still alive; drops it when it is not.
    pub async fn still_held(&mut self) -> bool {
        let Some(conn) = self.conn.as_mut() else {
            return false;
        };
        let alive = tokio::time::timeout(Duration::from_secs(5), async {
            sqlx::query_scalar::<_, i32>("SELECT 1")
                .fetch_one(&mut *conn)
                .await
        })
        .await;
        if matches!(alive, Ok(Ok(1))) {
            true
        } else {
            self.conn = None;
            self.held = false;
            false
        }
    }

    /// Gives the lock up (also happens when the process exits).
    pub async fn release(&mut self) {
        if let Some(mut c) = self.conn.take() {
            if std::mem::take(&mut self.held) {
                let _ = sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(LOCK_KEY)
                    .execute(&mut c)
                    .await;
            }
            let _ = c.close().await;
        }
    }
}

/// The exclusive lock of a SQLite deployment; held while this value lives.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file beside a SQLite database, or `None` for an in-memory database.
pub fn sqlite_lock_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or(rest);
    if file.is_empty() || file.starts_with(":memory:") {
        return None;
    }
    Some(PathBuf::from(format!("{file}.lock")))
}

impl FileLock {
    /// Takes the lock or explains who holds it.
    pub fn acquire(path: PathBuf) -> anyhow::Result<FileLock> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| {
                format!("无法打开锁文件 (cannot open lock file) {}", path.display())
            })?;
        // `File::try_lock` is stable since Rust 1.89; indmon is built with 1.95 (see
        // DEPENDENCIES.md) but still declares rust-version 1.85, and raising it turns on lints
        // across the whole tree — left for a separate change.
        #[allow(clippy::incompatible_msrv)]
        let locked = file.try_lock();
        match locked {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                anyhow::bail!(
                    "另一个 indmon serve 进程（pid {}）正在使用此 SQLite 数据库；SQLite 只允许一个守护进程 \
                     (another indmon serve, pid {}, holds {}; SQLite allows one daemon — use PostgreSQL for replicas)",
                    holder.trim(),
                    holder.trim(),
                    path.display()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e)
                    .with_context(|| format!("无法锁定 (cannot lock) {}", path.display()));
            }
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(FileLock { _file: file, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_sits_beside_the_database() {
        assert_eq!(
            sqlite_lock_path("sqlite:///var/lib/indmon/indmon.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/indmon/indmon.db.lock"))
        );
        assert_eq!(
            sqlite_lock_path("sqlite://indmon.db"),
            Some(PathBuf::from("indmon.db.lock"))
        );
        assert_eq!(sqlite_lock_path("sqlite::memory:"), None);
        assert_eq!(sqlite_lock_path("postgres://x/y"), None);
    }

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.db.lock");
        let first = FileLock::acquire(path.clone()).unwrap();
        let err = FileLock::acquire(path.clone()).unwrap_err().to_string();
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(first);
        assert!(FileLock::acquire(path).is_ok());
    }
}
