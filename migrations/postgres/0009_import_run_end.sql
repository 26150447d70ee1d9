-- Who runs an import, so that a run left 'running' by a process that died can be told from
-- one still going and marked 'interrupted': the host, the process id, and the process's start
-- (boot id and start time), which a later process given the same id does not share.
ALTER TABLE import_run ADD COLUMN host TEXT NOT NULL DEFAULT '';
ALTER TABLE import_run ADD COLUMN pid BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_run ADD COLUMN process TEXT NOT NULL DEFAULT '';
CREATE INDEX import_run_running ON import_run (host) WHERE status = 'running';
