-- Submissions are the record again (sqlite, issue 18): `submission` holds one row per enterprise
-- and month with every figure in its own column (exact integers, ten-thousandths of the display
-- unit, as 0001 has them), its revision, the import run that wrote it and when that run began
-- (epoch ms). Every import writes these rows; `submission_year` packs the same months for the
-- evaluation in the same transaction.
--
-- The table may still be there: a database from before 0008 whose `drop_submission` never ran
-- (or every new database, where 0001 made it). Its rows are kept: they are moved into the new
-- layout below, and the pending drop is cancelled. A database of the packed-only releases has
-- no rows; `indmon migrate` unpacks every packed year into them (`submission_rows`), keeping
-- any row already there.
CREATE TABLE IF NOT EXISTS submission (
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

-- Stored in key order (WITHOUT ROWID): an enterprise's months lie together, and an import that
-- writes them in key order appends. No index on `period` alone: it would cost every import a
-- second write per row, and the reads by period go to the packed years.
CREATE TABLE submission_new (
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
) WITHOUT ROWID;
INSERT INTO submission_new (credit_code, period, output, output_ytd, sales_ytd, revenue_ytd, profit_ytd, electricity,
    employees, export_ytd, output_prev, output_ytd_prev, sales_ytd_prev, revenue_ytd_prev,
    profit_ytd_prev, electricity_prev, employees_prev, export_ytd_prev, revision, run_id,
    received_at)
SELECT credit_code, period, output, output_ytd, sales_ytd, revenue_ytd, profit_ytd, electricity,
    employees, export_ytd, output_prev, output_ytd_prev, sales_ytd_prev, revenue_ytd_prev,
    profit_ytd_prev, electricity_prev, employees_prev, export_ytd_prev, revision, run_id,
    received_at
FROM submission;
DROP TABLE submission;
ALTER TABLE submission_new RENAME TO submission;

DELETE FROM rebuild_pending WHERE name = 'drop_submission';
INSERT INTO rebuild_pending (name) VALUES ('submission_rows') ON CONFLICT (name) DO NOTHING;
