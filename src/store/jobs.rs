//! The daemon's job ledger (`job_run`) and the few aggregate reads behind `/metrics`.
//!
//! A run claims its slot by inserting its row first; `UNIQUE (job, slot)` turns a second
//! claim — a restarted process, another replica — into "already taken", so one slot runs once.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{Store, on_pool};

/// One job's history as `/metrics` shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobStat {
    /// Runs by status (`ok`, `failed`, `interrupted`, `running`).
    pub runs: BTreeMap<String, i64>,
    /// Sum of the durations of finished runs, in ms, and how many there were.
    pub duration_ms_sum: i64,
    pub duration_count: i64,
    /// When the last successful run finished (epoch ms).
    pub last_success_ms: Option<i64>,
    /// The status of the most recently started run.
    pub last_status: Option<String>,
}

impl Store {
    /// Claims `(job, slot)` and returns the run id, or `None` when the slot is already taken
    /// (running, done or failed). An `interrupted` slot may be claimed again.
    pub async fn claim_job_slot(
        &self,
        job: &str,
        slot_ms: i64,
        trigger: &str,
        now_ms: i64,
        host: &str,
        pid: i64,
    ) -> anyhow::Result<Option<i64>> {
        let sql = "INSERT INTO job_run (job, slot, trigger, started_at, status, host, pid) \
                   VALUES ($1, $2, $3, $4, 'running', $5, $6) \
                   ON CONFLICT (job, slot) DO UPDATE SET status = 'running', trigger = excluded.trigger, \
                   started_at = excluded.started_at, finished_at = NULL, counts = NULL, error = NULL, \
                   host = excluded.host, pid = excluded.pid, attempts = job_run.attempts + 1 \
                   WHERE job_run.status = 'interrupted' RETURNING id";
        let id = on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql)
            .bind(job).bind(slot_ms).bind(trigger).bind(now_ms).bind(host).bind(pid)
            .fetch_optional(p).await?);
        Ok(id)
    }

    /// Records how a run ended (`ok`, `failed` or `interrupted`).
    pub async fn finish_job_run(
        &self,
        id: i64,
        status: &str,
        now_ms: i64,
        counts: Option<&str>,
        error: Option<&str>,
    ) -> anyhow::Result<()> {
        let sql = "UPDATE job_run SET status = $1, finished_at = $2, counts = $3, error = $4 WHERE id = $5";
        on_pool!(self, p => sqlx::query(sql).bind(status).bind(now_ms).bind(counts).bind(error).bind(id).execute(p).await?.rows_affected());
        Ok(())
    }

    /// Marks every `running` row as `interrupted`: called by a new leader, which knows that no
    /// other process runs jobs, so those rows belong to a process that died or lost the lock.
    pub async fn interrupt_running_jobs(&self, now_ms: i64) -> anyhow::Result<u64> {
        let sql = "UPDATE job_run SET status = 'interrupted', finished_at = $1, \
                   error = '进程退出或失去领导权 (process ended or lost the leader lock)' WHERE status = 'running'";
        let n =
            on_pool!(self, p => sqlx::query(sql).bind(now_ms).execute(p).await?.rows_affected());
        Ok(n)
    }

    /// The newest slot of a job that ran (or is running): interrupted runs do not count, so
    /// that catch-up gives an interrupted slot its second chance.
    pub async fn last_job_slot(&self, job: &str) -> anyhow::Result<Option<i64>> {
        let sql = "SELECT MAX(slot) FROM job_run WHERE job = $1 AND status <> 'interrupted'";
        let v = on_pool!(self, p => sqlx::query_scalar::<_, Option<i64>>(sql).bind(job).fetch_one(p).await?);
        Ok(v)
    }

    /// Per-job statistics of the whole ledger.
    pub async fn job_stats(&self) -> anyhow::Result<BTreeMap<String, JobStat>> {
        let mut out: BTreeMap<String, JobStat> = BTreeMap::new();
        let by_status = "SELECT job, status, COUNT(*), \
             CAST(COALESCE(SUM(finished_at - started_at), 0) AS BIGINT), COUNT(finished_at) \
             FROM job_run GROUP BY job, status";
        let last_ok = "SELECT job, MAX(finished_at) FROM job_run WHERE status = 'ok' GROUP BY job";
        let latest = "SELECT j.job, j.status FROM job_run j WHERE j.id = \
             (SELECT k.id FROM job_run k WHERE k.job = j.job ORDER BY k.started_at DESC, k.id DESC LIMIT 1)";
        on_pool!(self, p => {
            for r in sqlx::query(by_status).fetch_all(p).await? {
                let s = out.entry(r.try_get::<String, _>(0)?).or_default();
                s.runs.insert(r.try_get(1)?, r.try_get(2)?);
                s.duration_ms_sum += r.try_get::<i64, _>(3)?;
                s.duration_count += r.try_get::<i64, _>(4)?;
            }
            for r in sqlx::query(last_ok).fetch_all(p).await? {
                out.entry(r.try_get::<String, _>(0)?).or_default().last_success_ms = r.try_get(1)?;
            }
            for r in sqlx::query(latest).fetch_all(p).await? {
                out.entry(r.try_get::<String, _>(0)?).or_default().last_status = Some(r.try_get(1)?);
            }
        });
        Ok(out)
    }

    /// Rows accepted or revised by all pulls so far.
    pub async fn rows_ingested(&self) -> anyhow::Result<i64> {
        let sql = "SELECT CAST(COALESCE(SUM(accepted + revised), 0) AS BIGINT) FROM pull_run";
        Ok(on_pool!(self, p => sqlx::query_scalar::<_, i64>(sql).fetch_one(p).await?))
    }

    /// Firing alerts by severity.
    pub async fn firing_by_severity(&self) -> anyhow::Result<BTreeMap<String, i64>> {
        let sql = "SELECT severity, COUNT(*) FROM alert WHERE state = 'firing' GROUP BY severity";
        let mut out = BTreeMap::new();
        on_pool!(self, p => {
            for r in sqlx::query(sql).fetch_all(p).await? {
                out.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
            }
        });
        Ok(out)
    }

    /// A cheap round trip, for `/readyz`.
    pub async fn ping(&self) -> anyhow::Result<()> {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await?.rows_affected());
        Ok(())
    }

    /// The ledger rows of a job, oldest first, as `(slot, status, trigger, pid)` (tests, CLI).
    pub async fn job_runs(&self, job: &str) -> anyhow::Result<Vec<(i64, String, String, i64)>> {
        let sql = "SELECT slot, status, trigger, pid FROM job_run WHERE job = $1 ORDER BY slot, id";
        let rows = on_pool!(self, p => {
            sqlx::query(sql).bind(job).fetch_all(p).await?
                .into_iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows)
    }
}
