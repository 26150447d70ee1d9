-- The months whose daily electricity was summed into power_xun_total and deleted
-- (src/store/power_prune.rs), one row a month: a power-daily line for such a month is refused at
-- import (src/store/power_import.rs), since storing it as a day would let the next prune replace
-- the month's sums with that one day's.
CREATE TABLE power_pruned_month (
    period TEXT PRIMARY KEY,
    pruned_at BIGINT NOT NULL
);
INSERT INTO power_pruned_month (period, pruned_at)
SELECT period, MAX(pruned_at) FROM power_xun_total GROUP BY period;
