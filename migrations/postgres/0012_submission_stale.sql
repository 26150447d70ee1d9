-- Packs older than their rows (postgres). `submission` is the record and `submission_year` a
-- cache of it that indmon writes in the same transaction as the rows. A row changed behind
-- indmon's back (psql, a BI tool with write access) leaves its pack stale: the triggers below
-- mark the enterprise-year in `submission_year_stale`, and indmon rebuilds the marked packs from
-- the rows before an evaluation reads them (src/store/stale.rs).
-- The row table is 0011's.

-- One mark per enterprise-year whose pack may be older than its rows. `stamp` goes up by one at
-- every change marked, so that a rebuild clears only the marks it has seen: a change committed
-- while a rebuild runs keeps its mark.
CREATE TABLE submission_year_stale (
    year INTEGER NOT NULL,
    credit_code TEXT NOT NULL,
    stamp BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (year, credit_code)
);

-- Marks the enterprise-years of the changed row (both, when an update moves it).
CREATE FUNCTION submission_mark_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO submission_year_stale AS s (year, credit_code)
        VALUES (substr(OLD.period, 1, 4)::INTEGER, OLD.credit_code)
        ON CONFLICT (year, credit_code) DO UPDATE SET stamp = s.stamp + 1;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (NEW.credit_code <> OLD.credit_code
            OR substr(NEW.period, 1, 4) <> substr(OLD.period, 1, 4))) THEN
        INSERT INTO submission_year_stale AS s (year, credit_code)
        VALUES (substr(NEW.period, 1, 4)::INTEGER, NEW.credit_code)
        ON CONFLICT (year, credit_code) DO UPDATE SET stamp = s.stamp + 1;
    END IF;
    RETURN NULL;
END $$;

-- indmon's own write transactions run `SET LOCAL indmon.writer = 'on'`: it writes the packs
-- with the rows, so its changes need no mark, and the condition keeps the trigger from firing
-- at all (an AFTER trigger whose WHEN is false queues nothing, and COPY keeps its batching).
CREATE TRIGGER submission_stale AFTER INSERT OR UPDATE OR DELETE ON submission
FOR EACH ROW WHEN (current_setting('indmon.writer', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION submission_mark_stale();

-- TRUNCATE fires no row trigger: every pack is marked (and, its rows gone, will be removed).
CREATE FUNCTION submission_mark_all_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('indmon.writer', true) IS DISTINCT FROM 'on' THEN
        INSERT INTO submission_year_stale AS s (year, credit_code)
        SELECT year, credit_code FROM submission_year
        ON CONFLICT (year, credit_code) DO UPDATE SET stamp = s.stamp + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER submission_truncated AFTER TRUNCATE ON submission
FOR EACH STATEMENT EXECUTE FUNCTION submission_mark_all_stale();
