-- The daemon's job ledger (sqlite): one row per run of a scheduled job. Times are epoch ms.
--
-- UNIQUE (job, slot) is what makes a slot run once, across restarts and across replicas:
-- a run claims its slot by inserting this row before doing any work. A row left 'running'
-- by a process that died is marked 'interrupted' by the next leader, and only an
-- interrupted slot may be claimed again.
CREATE TABLE job_run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job TEXT NOT NULL,
    slot BIGINT NOT NULL,
    trigger TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'failed', 'interrupted')),
    attempts BIGINT NOT NULL DEFAULT 1,
    counts TEXT,
    error TEXT,
    host TEXT NOT NULL,
    pid BIGINT NOT NULL,
    UNIQUE (job, slot)
);
CREATE INDEX job_run_job_started ON job_run (job, started_at);
CREATE INDEX job_run_status ON job_run (status);
