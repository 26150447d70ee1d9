-- Key projects (重点项目) (postgres): the registry and the monthly progress reports with their revisions.
-- Amounts are BIGINT ten-thousandths of 万元; periods and planned months are 'YYYY-MM' text.

-- Projects as registered, with this year's investment plan.
CREATE TABLE project (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    unit_code TEXT NOT NULL REFERENCES unit (code),
    owner TEXT,
    total_investment BIGINT NOT NULL,
    planned_year BIGINT,
    planned_start TEXT,
    planned_completion TEXT,
    planned_production TEXT,
    status TEXT NOT NULL CHECK (status IN ('planned', 'started', 'completed', 'producing')),
    updated_at BIGINT NOT NULL
);
CREATE INDEX project_unit ON project (unit_code);

-- The current progress report of each project and month.
CREATE TABLE project_progress (
    project_id TEXT NOT NULL REFERENCES project (id),
    period TEXT NOT NULL,
    invested_month BIGINT,
    invested_ytd BIGINT,
    status TEXT CHECK (status IN ('planned', 'started', 'completed', 'producing')),
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, period)
);
CREATE INDEX project_progress_period ON project_progress (period);

-- Earlier revisions of a progress report, kept when a month is reported again with other figures.
CREATE TABLE project_progress_history (
    project_id TEXT NOT NULL,
    period TEXT NOT NULL,
    invested_month BIGINT,
    invested_ytd BIGINT,
    status TEXT,
    revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    superseded_at BIGINT NOT NULL,
    superseded_by BIGINT NOT NULL,
    PRIMARY KEY (project_id, period, revision)
);
