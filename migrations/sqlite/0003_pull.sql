-- Pulling from sources (sqlite): the state kept per source between pulls, and one row per pull.
-- Times are epoch milliseconds.

-- Per source: where the next pull starts (cursor), the validators of the last complete pull
-- (ETag / Last-Modified, for the address they were given for), and how it has been going.
CREATE TABLE source_state (
    source TEXT PRIMARY KEY,
    cursor TEXT,
    etag TEXT,
    last_modified TEXT,
    validators_url TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_success_at BIGINT,
    last_failure_at BIGINT,
    last_error TEXT,
    last_status TEXT,
    updated_at BIGINT NOT NULL
);

-- One row per pull of one source.
CREATE TABLE pull_run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    status TEXT NOT NULL,
    pages BIGINT NOT NULL DEFAULT 0,
    bytes BIGINT NOT NULL DEFAULT 0,
    accepted BIGINT NOT NULL DEFAULT 0,
    revised BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX pull_run_source ON pull_run (source, started_at);

-- "Was this exact content from this source and address committed last time?"
CREATE INDEX import_run_source_file ON import_run (source, file, id);
