-- Each enterprise's days of a settled 旬 in one row (sqlite): a cache of `power_daily` that the
-- 旬 evaluation reads for the same 旬 last year and last December — 500,000 rows a 旬 at
-- 500,000 enterprises instead of 5M days (src/store/xun_days.rs). `power_daily` stays the
-- record: a 旬's rows are written from it at once, by the first evaluation that reads the 旬 as
-- a reference, and read only while the 旬 is in `power_xun_packed` (deleting a 旬 from there
-- has it written again). Any change to a month's days removes its 旬s from there, in the same
-- transaction: indmon's import itself, and the triggers below for a change made behind its
-- back (set aside during indmon's own writes, as 0021 does for `submission`'s).
-- d1 is the 旬's first day (the 1st, 11th or 21st), d11 the 31st; ten-thousandths of kWh, NULL
-- for a day without a figure.
CREATE TABLE power_xun_days (
    period TEXT NOT NULL,
    xun INTEGER NOT NULL CHECK (xun IN (1, 2, 3)),
    credit_code TEXT NOT NULL,
    d1 INTEGER, d2 INTEGER, d3 INTEGER, d4 INTEGER, d5 INTEGER, d6 INTEGER,
    d7 INTEGER, d8 INTEGER, d9 INTEGER, d10 INTEGER, d11 INTEGER,
    PRIMARY KEY (period, xun, credit_code)
) WITHOUT ROWID;

-- The 旬s whose rows in power_xun_days are whole and current.
CREATE TABLE power_xun_packed (
    period TEXT NOT NULL,
    xun INTEGER NOT NULL CHECK (xun IN (1, 2, 3)),
    packed_at INTEGER NOT NULL,
    PRIMARY KEY (period, xun)
) WITHOUT ROWID;

CREATE TRIGGER power_daily_unpack_insert AFTER INSERT ON power_daily
WHEN NOT EXISTS (SELECT 1 FROM pack_writer)
BEGIN
    DELETE FROM power_xun_packed WHERE period = substr(NEW.day, 1, 7);
END;

CREATE TRIGGER power_daily_unpack_update AFTER UPDATE ON power_daily
WHEN NOT EXISTS (SELECT 1 FROM pack_writer)
BEGIN
    DELETE FROM power_xun_packed WHERE period = substr(OLD.day, 1, 7);
    DELETE FROM power_xun_packed WHERE period = substr(NEW.day, 1, 7);
END;

CREATE TRIGGER power_daily_unpack_delete AFTER DELETE ON power_daily
WHEN NOT EXISTS (SELECT 1 FROM pack_writer)
BEGIN
    DELETE FROM power_xun_packed WHERE period = substr(OLD.day, 1, 7);
END;

INSERT INTO stale_trigger (name, sql)
SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'power_daily';
