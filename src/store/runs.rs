//! The `import_run` ledger: one row per import, opened as `running` before the file is read and
//! closed in the same transaction as the file's data ([`write_run_end!`]), so that the record
//! can never say `running` or `ok` about data that is, or is not, there.
//!
//! A run left `running` by a process that died (kill -9, a power cut) is marked `interrupted`
//! when indmon next starts on the same host ([`Store::migrate`]) or begins an import: each run
//! records its host and process, and a process that no longer exists cannot still be
//! importing. Runs of other hosts are left alone — this host cannot tell whether they are
//! alive — until indmon starts again on their own host.

use sqlx::Row;

use super::{Store, on_pool};
use crate::record::Reject;

/// How an import ended, for [`Store::finish_run`] and the commits that close a run with its data.
pub struct RunEnd<'a> {
    pub finished_ms: i64,
    pub status: &'a str,
    pub kind: &'a str,
    pub sha256: &'a str,
    pub accepted: u64,
    pub revised: u64,
    pub unchanged: u64,
    pub rejected: u64,
    pub message: String,
    pub rejects: &'a [Reject],
}

/// Writes how import run `$run_id` ended (`$end`, a [`RunEnd`]) and its rejects inside the
/// open transaction `$tx` (a `Transaction` of either backend).
macro_rules! write_run_end {
    ($tx:expr, $run_id:expr, $end:expr) => {{
        let (run_id, end): (i64, &$crate::store::RunEnd<'_>) = ($run_id, $end);
        sqlx::query(
            "UPDATE import_run SET finished_at = $1, status = $2, accepted = $3, revised = $4, unchanged = $5, rejected = $6, message = $7, kind = $8, sha256 = $9 WHERE id = $10",
        )
        .bind(end.finished_ms)
        .bind(end.status)
        .bind(end.accepted as i64)
        .bind(end.revised as i64)
        .bind(end.unchanged as i64)
        .bind(end.rejected as i64)
        .bind(&end.message)
        .bind(end.kind)
        .bind(end.sha256)
        .bind(run_id)
        .execute(&mut *$tx)
        .await?;
        for chunk in end.rejects.chunks(500) {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO reject (run_id, line, col, field, value, reason) ",
            );
            q.push_values(chunk, |mut b, r| {
                b.push_bind(run_id)
                    .push_bind(r.line as i64)
                    .push_bind(r.column.clone())
                    .push_bind(r.field.clone())
                    .push_bind(r.value.clone())
                    .push_bind(r.reason.clone());
            });
            q.build().execute(&mut *$tx).await?;
        }
    }};
}
pub(crate) use write_run_end;

/// What `interrupted` runs say.
const INTERRUPTED: &str = "导入进程已终止，本次导入未完成，未写入任何数据 (the importing process died; nothing of this run was committed)";

impl Store {
    /// Records the start of an import and returns its run id. Runs of this host whose process
    /// has died are marked `interrupted` first.
    pub async fn begin_run(
        &self,
        source: &str,
        file: &str,
        sha256: &str,
        kind: &str,
        now_ms: i64,
    ) -> anyhow::Result<i64> {
        self.mark_interrupted_runs(now_ms).await?;
        let me = Process::current();
        let sql = "INSERT INTO import_run (source, file, sha256, kind, started_at, status, host, pid, process) VALUES ($1, $2, $3, $4, $5, 'running', $6, $7, $8) RETURNING id";
        let id = on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).bind(source).bind(file).bind(sha256).bind(kind).bind(now_ms)
            .bind(&me.host).bind(me.pid).bind(&me.start).fetch_one(p).await?);
        Ok(id)
    }

    /// Records how an import that wrote no data ended (rejected, failed), with its rejects,
    /// in one transaction. An import that commits data closes its run in that commit instead.
    pub async fn finish_run(&self, run_id: i64, end: &RunEnd<'_>) -> anyhow::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            write_run_end!(tx, run_id, end);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Marks `interrupted` the runs of this host still `running` whose process no longer
    /// exists; returns how many. Called at start ([`Store::migrate`]) and when an import begins.
    pub async fn mark_interrupted_runs(&self, now_ms: i64) -> anyhow::Result<u64> {
        let me = Process::current();
        let sql = "SELECT id, pid, process FROM import_run WHERE status = 'running' AND host = $1";
        let running: Vec<(i64, i64, String)> = on_pool!(self, p => {
            sqlx::query(sql).bind(&me.host).fetch_all(p).await?.into_iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        let mut marked = 0;
        for (id, pid, start) in running {
            if !me.knows_dead(pid, &start) {
                continue;
            }
            let sql = "UPDATE import_run SET status = 'interrupted', finished_at = $1, message = $2 WHERE id = $3 AND status = 'running'";
            let n = on_pool!(self, p => sqlx::query(sql).bind(now_ms).bind(INTERRUPTED).bind(id).execute(p).await?.rows_affected());
            if n > 0 {
                tracing::warn!(
                    run = id,
                    pid,
                    "导入批次 {id} 的进程 {pid} 已不存在，标记为 interrupted (import run left running by a dead process)"
                );
            }
            marked += n;
        }
        Ok(marked)
    }
}

/// Who runs an import: the host, the process id, and the process's start (boot id and start
/// time in clock ticks, from `/proc`), which tells a live process from a later one that was
/// given the same id.
struct Process {
    host: String,
    pid: i64,
    start: String,
}

impl Process {
    fn current() -> Process {
        let pid = std::process::id();
        Process {
            host: hostname(),
            pid: i64::from(pid),
            start: process_start(pid).unwrap_or_default(),
        }
    }

    /// Whether the process `pid` that started at `start` (on this host) is known to be gone.
    /// Where `/proc` cannot tell (another system, an unreadable start), nothing is known.
    fn knows_dead(&self, pid: i64, start: &str) -> bool {
        if self.start.is_empty() || start.is_empty() {
            return false;
        }
        let Ok(pid) = u32::try_from(pid) else {
            return false;
        };
        process_start(pid).as_deref() != Some(start)
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// `boot_id/starttime` of a process, or `None` if it does not exist (or there is no `/proc`).
fn process_start(pid: u32) -> Option<String> {
    let boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after its last `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    // Fields 3 onwards; the start time is field 22.
    let start = rest.split_whitespace().nth(22 - 3)?;
    Some(format!("{}/{start}", boot.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_child_is_not() {
        let me = Process::current();
        assert!(!me.start.is_empty(), "/proc is readable here");
        assert!(!me.knows_dead(me.pid, &me.start));
        // The same pid with another start is a later process, not the run's.
        assert!(me.knows_dead(me.pid, "other-boot/1"));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = process_start(pid);
        child.wait().unwrap();
        if let Some(start) = start {
            assert!(me.knows_dead(i64::from(pid), &start));
        }
    }
}
