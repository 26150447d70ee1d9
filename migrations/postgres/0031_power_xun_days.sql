-- Each enterprise's days of a settled 旬 in one row (postgres): a cache of `power_daily` that the
-- 旬 evaluation reads for the same 旬 last year and last December — 500,000 rows a 旬 at
-- 500,000 enterprises instead of 5M days (src/store/xun_days.rs). `power_daily` stays the
-- record: a 旬's rows are written from it at once, by the first evaluation that reads the 旬 as
-- a reference, and read only while the 旬 is in `power_xun_packed` (deleting a 旬 from there
-- has it written again). Any change to a month's days removes its 旬s from there, in the same
-- transaction: indmon's import itself, and the trigger below for a change made behind its back.
-- d1 is the 旬's first day (the 1st, 11th or 21st), d11 the 31st; ten-thousandths of kWh, NULL
-- for a day without a figure.
CREATE TABLE power_xun_days (
    period TEXT NOT NULL,
    xun INTEGER NOT NULL CHECK (xun IN (1, 2, 3)),
    credit_code TEXT NOT NULL,
    d1 BIGINT, d2 BIGINT, d3 BIGINT, d4 BIGINT, d5 BIGINT, d6 BIGINT,
    d7 BIGINT, d8 BIGINT, d9 BIGINT, d10 BIGINT, d11 BIGINT,
    PRIMARY KEY (period, xun, credit_code)
);

-- The 旬s whose rows in power_xun_days are whole and current.
CREATE TABLE power_xun_packed (
    period TEXT NOT NULL,
    xun INTEGER NOT NULL CHECK (xun IN (1, 2, 3)),
    packed_at BIGINT NOT NULL,
    PRIMARY KEY (period, xun)
);

-- A day changed behind indmon's back: its month's 旬s are no longer packed. indmon's own write
-- transactions set `indmon.writer` (src/store/stale.rs) and remove the marks themselves, so
-- the trigger's condition is false for them and no row event is queued.
CREATE FUNCTION power_xun_unpack() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM power_xun_packed WHERE period = substr(OLD.day, 1, 7);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        DELETE FROM power_xun_packed WHERE period = substr(NEW.day, 1, 7);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER power_daily_unpack AFTER INSERT OR UPDATE OR DELETE ON power_daily
FOR EACH ROW WHEN (current_setting('indmon.writer', true) IS DISTINCT FROM 'on')
EXECUTE FUNCTION power_xun_unpack();

CREATE FUNCTION power_xun_unpack_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('indmon.writer', true) IS DISTINCT FROM 'on' THEN
        DELETE FROM power_xun_packed;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER power_daily_truncated AFTER TRUNCATE ON power_daily
FOR EACH STATEMENT EXECUTE FUNCTION power_xun_unpack_all();
