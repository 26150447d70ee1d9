-- Evaluation runs, alerts with their history, and silences (sqlite).

-- One row per evaluation of a period (not for --dry-run).
CREATE TABLE evaluation_run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    period TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    status TEXT NOT NULL,
    findings BIGINT NOT NULL DEFAULT 0,
    opened BIGINT NOT NULL DEFAULT 0,
    changed BIGINT NOT NULL DEFAULT 0,
    resolved BIGINT NOT NULL DEFAULT 0,
    -- The newest submission run the evaluation read (数据版本).
    data_vintage BIGINT NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT ''
);

-- One alert per (rule, subject, indicator): a condition that persists is one alert with a history.
CREATE TABLE alert (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    indicator TEXT NOT NULL,
    subject_name TEXT NOT NULL,
    unit_code TEXT NOT NULL,
    -- Every unit the subject counts in (its district, its zone, the city), comma-separated with
    -- commas at both ends (",330781,ZK01,3307,") so that scope filters are a LIKE.
    scope TEXT NOT NULL,
    owner TEXT,
    state TEXT NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved')),
    severity TEXT NOT NULL CHECK (severity IN ('red', 'orange', 'yellow', 'blue')),
    consecutive BIGINT NOT NULL,
    -- The newest period this alert was evaluated for; older periods never change it.
    period TEXT NOT NULL,
    message TEXT NOT NULL,
    values_json TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    acknowledged_by TEXT,
    acknowledged_at BIGINT,
    resolved_at BIGINT,
    resolved_by TEXT,
    note TEXT,
    UNIQUE (rule, subject, indicator)
);
CREATE INDEX alert_state ON alert (state);

-- Everything that happened to an alert, in order.
CREATE TABLE alert_event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id BIGINT NOT NULL REFERENCES alert (id),
    at BIGINT NOT NULL,
    period TEXT NOT NULL,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    consecutive BIGINT NOT NULL,
    message TEXT NOT NULL,
    actor TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    evaluation_id BIGINT
);
CREATE INDEX alert_event_alert ON alert_event (alert_id);

-- Silences (静默): matchers on rule, subject and unit; empty matchers match anything.
CREATE TABLE silence (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    rule TEXT,
    subject TEXT,
    unit_code TEXT,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    author TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expired_at BIGINT,
    expired_by TEXT
);
