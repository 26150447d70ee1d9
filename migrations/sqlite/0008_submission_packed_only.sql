-- Submissions are stored packed only (sqlite): `submission_year` holds the current figures of every
-- enterprise-month (src/store/packed.rs), `submission_history` every earlier revision. An import
-- merges a file into the packed years directly, which writes one row per enterprise and year
-- instead of one per month.
--
-- The row table `submission` is dropped by `indmon migrate` once its rows are packed
-- (`submission_year`, pending since 0007, is built first): never here, before they are.
INSERT INTO rebuild_pending (name) VALUES ('drop_submission');
