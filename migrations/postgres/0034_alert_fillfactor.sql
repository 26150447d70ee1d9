-- Room in each page of `alert` for its rows' next versions (postgres only; SQLite has no such
-- setting). Every evaluation updates the alerts it finds again: 35,000 at 500,000 enterprises
-- after each 旬. In full pages each new version went to another page and into all three
-- indexes (in psql, 35,000 rows: 0.52 s and 0.67 s for two updates in a row); with half of
-- each page free it stays in its page, a heap-only update, and the indexes are left alone
-- (0.10 s and 0.15 s), and the table is smaller after two updates (46 MB against 63 MB),
-- because the page's old versions are pruned where they are.
--
-- The table is rewritten once so that its present pages get the room too (a few seconds at
-- most: alerts are thousands of rows, not millions).
ALTER TABLE alert SET (fillfactor = 50);
CLUSTER alert USING alert_pkey;
