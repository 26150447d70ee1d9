-- The text of 0012's triggers on `submission` (sqlite), kept so that indmon can set them aside
-- during its own writes. SQLite evaluates a trigger's `WHEN` for every row, and 0012's test of
-- `pack_writer` cost indmon's imports about a quarter of their row-writing time (benches/
-- trigger_cost.sh: 0.55 s a million rows). indmon's write transactions now drop the triggers
-- after marking `pack_writer` and create them again from this text before they commit
-- (src/store/stale.rs): DDL is transactional in SQLite, so no other connection ever sees
-- `submission` without them, and a rollback or a crash brings them back by itself.
-- A later migration that changes these triggers must change this text with them.
CREATE TABLE stale_trigger (
    name TEXT PRIMARY KEY,
    sql TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO stale_trigger (name, sql)
SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'submission';
