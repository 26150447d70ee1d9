-- indmon schema, first version (sqlite).
-- Amounts are BIGINT ten-thousandths of their display unit (万元 → 元); times are epoch milliseconds.

-- Reporting areas: the city, districts/counties (县区) and industrial zones (园区).
CREATE TABLE unit (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('city', 'district', 'zone')),
    parent TEXT,
    updated_at BIGINT NOT NULL
);

-- Enterprises as registered (企业名录).
CREATE TABLE enterprise (
    credit_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    unit_code TEXT NOT NULL REFERENCES unit (code),
    zone_code TEXT REFERENCES unit (code),
    industry_code TEXT,
    scale TEXT NOT NULL CHECK (scale IN ('above', 'below')),
    is_key INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX enterprise_unit ON enterprise (unit_code);

-- Every change to the registry, so that "which district was it in last year" has an answer.
CREATE TABLE registry_change (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id BIGINT NOT NULL,
    entity TEXT NOT NULL,
    entity_key TEXT NOT NULL,
    before_json TEXT,
    after_json TEXT NOT NULL,
    changed_at BIGINT NOT NULL
);

-- Annual and milestone targets (目标任务).
CREATE TABLE target (
    year INTEGER NOT NULL,
    unit_code TEXT NOT NULL REFERENCES unit (code),
    indicator TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('growth', 'volume')),
    annual BIGINT NOT NULL,
    milestones TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (year, unit_code, indicator, kind)
);

-- Official unit-level figures (e.g. value_added_growth from the statistics bureau).
CREATE TABLE unit_indicator (
    unit_code TEXT NOT NULL REFERENCES unit (code),
    period TEXT NOT NULL,
    indicator TEXT NOT NULL,
    value BIGINT NOT NULL,
    run_id BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (unit_code, period, indicator)
);

-- One row per import of one file (by hand or by a source).
CREATE TABLE import_run (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    kind TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    status TEXT NOT NULL,
    accepted BIGINT NOT NULL DEFAULT 0,
    revised BIGINT NOT NULL DEFAULT 0,
    unchanged BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT ''
);

-- Quarantine: every rejected row with where it was and why.
CREATE TABLE reject (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id BIGINT NOT NULL REFERENCES import_run (id),
    line BIGINT NOT NULL,
    col TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX reject_run ON reject (run_id);

-- The current figures of each enterprise and month.
CREATE TABLE submission (
    credit_code TEXT NOT NULL,
    period TEXT NOT NULL,
    output BIGINT,
    output_ytd BIGINT,
    sales_ytd BIGINT,
    revenue_ytd BIGINT,
    profit_ytd BIGINT,
    electricity BIGINT,
    employees BIGINT,
    export_ytd BIGINT,
    output_prev BIGINT,
    output_ytd_prev BIGINT,
    sales_ytd_prev BIGINT,
    revenue_ytd_prev BIGINT,
    profit_ytd_prev BIGINT,
    electricity_prev BIGINT,
    employees_prev BIGINT,
    export_ytd_prev BIGINT,
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (credit_code, period)
);
CREATE INDEX submission_period ON submission (period);

-- Earlier revisions of a submission, kept when a period is re-submitted with other figures.
CREATE TABLE submission_history (
    credit_code TEXT NOT NULL,
    period TEXT NOT NULL,
    output BIGINT,
    output_ytd BIGINT,
    sales_ytd BIGINT,
    revenue_ytd BIGINT,
    profit_ytd BIGINT,
    electricity BIGINT,
    employees BIGINT,
    export_ytd BIGINT,
    output_prev BIGINT,
    output_ytd_prev BIGINT,
    sales_ytd_prev BIGINT,
    revenue_ytd_prev BIGINT,
    profit_ytd_prev BIGINT,
    electricity_prev BIGINT,
    employees_prev BIGINT,
    export_ytd_prev BIGINT,
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    superseded_at BIGINT NOT NULL,
    superseded_by BIGINT NOT NULL,
    PRIMARY KEY (credit_code, period, revision)
);
