-- A packed 旬's days in one value a row (postgres), where migration 0031 gave each day a column:
-- the 旬 evaluation reads 500,000 rows of last year's 旬 at 500,000 enterprises, and each
-- column cost the server a field to send (psql: 0.52 s for the eleven columns, 0.26 s for one
-- value). `days` holds the 旬's days in order (the 1st, 11th or 21st first), eight bytes each,
-- a big-endian signed count of ten-thousandths of kWh; a day without a figure is the smallest
-- such number (-2^63). src/store/xun_days.rs writes and reads it.
--
-- The table is a cache of `power_daily`: its rows are dropped and the marks of
-- `power_xun_packed` with them, so each 旬 is packed again when an evaluation next reads it.
DROP TABLE power_xun_days;
DELETE FROM power_xun_packed;

CREATE TABLE power_xun_days (
    period TEXT COLLATE "C" NOT NULL,
    xun INTEGER NOT NULL CHECK (xun IN (1, 2, 3)),
    credit_code TEXT COLLATE "C" NOT NULL,
    days BYTEA NOT NULL,
    PRIMARY KEY (period, xun, credit_code)
);
