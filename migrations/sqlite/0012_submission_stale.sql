-- Packs older than their rows (sqlite). `submission` is the record and `submission_year` a cache
-- of it that indmon writes in the same transaction as the rows. A row changed behind indmon's
-- back (the sqlite3 shell, a BI tool with write access) leaves its pack stale: the triggers
-- below mark the enterprise-year in `submission_year_stale`, and indmon rebuilds the marked
-- packs from the rows before an evaluation reads them (src/store/stale.rs).
-- The row table is 0011's.

-- One mark per enterprise-year whose pack may be older than its rows. `stamp` goes up by one at
-- every change marked, so that a rebuild clears only the marks it has seen.
CREATE TABLE submission_year_stale (
    year INTEGER NOT NULL,
    credit_code TEXT NOT NULL,
    stamp INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (year, credit_code)
) WITHOUT ROWID;

-- Holds a row while indmon itself writes `submission` (inserted at the start of its write
-- transaction, deleted before the commit): indmon writes the packs with the rows, so its own
-- changes need no mark. SQLite has one writer at a time, and the row is never committed, so no
-- other connection ever sees it.
CREATE TABLE pack_writer (
    id INTEGER PRIMARY KEY CHECK (id = 1)
);

CREATE TRIGGER submission_stale_insert AFTER INSERT ON submission
WHEN NOT EXISTS (SELECT 1 FROM pack_writer)
BEGIN
    INSERT INTO submission_year_stale (year, credit_code)
    VALUES (CAST(substr(NEW.period, 1, 4) AS INTEGER), NEW.credit_code)
    ON CONFLICT (year, credit_code) DO UPDATE SET stamp = submission_year_stale.stamp + 1;
END;

CREATE TRIGGER submission_stale_update AFTER UPDATE ON submission
WHEN NOT EXISTS (SELECT 1 FROM pack_writer)
BEGIN
    INSERT INTO submission_year_stale (year, credit_code)
    VALUES (CAST(substr(OLD.period, 1, 4) AS INTEGER), OLD.credit_code)
    ON CONFLICT (year, credit_code) DO UPDATE SET stamp = submission_year_stale.stamp + 1;
    INSERT INTO submission_year_stale (year, credit_code)
    VALUES (CAST(substr(NEW.period, 1, 4) AS INTEGER), NEW.credit_code)
    ON CONFLICT (year, credit_code) DO UPDATE SET stamp = submission_year_stale.stamp + 1;
END;

CREATE TRIGGER submission_stale_delete AFTER DELETE ON submission
WHEN NOT EXISTS (SELECT 1 FROM pack_writer)
BEGIN
    INSERT INTO submission_year_stale (year, credit_code)
    VALUES (CAST(substr(OLD.period, 1, 4) AS INTEGER), OLD.credit_code)
    ON CONFLICT (year, credit_code) DO UPDATE SET stamp = submission_year_stale.stamp + 1;
END;
