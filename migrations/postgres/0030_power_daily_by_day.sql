-- power_daily keyed by day, then enterprise, as on SQLite since its 0030: one B-tree a partition
-- instead of two (the key (credit_code, day) and an index of days). Every read of the table
-- names its days — a 旬's evaluation, an import's stored days, a prune's month, the nowcast's
-- span (by each day of it and a slice of enterprises: src/store/forecast.rs) — and a 旬's new
-- days, written in the key's order, go to the end of the tree rather than among every
-- enterprise's earlier days (500,000 enterprises × 10 days into an empty table: 11.9 s against
-- 23.3 s into the two B-trees, in psql). `ON CONFLICT (credit_code, day)` still names the key:
-- PostgreSQL matches a unique index by its columns in any order.
-- On a large database this rebuilds the key of every month's partition once (minutes at
-- hundreds of millions of days).
ALTER TABLE power_daily DROP CONSTRAINT power_daily_pkey;
ALTER TABLE power_daily ADD PRIMARY KEY (day, credit_code);
DROP INDEX power_daily_day;
