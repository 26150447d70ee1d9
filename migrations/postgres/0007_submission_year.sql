-- The evaluation's read model (postgres): one row per enterprise and calendar year holding the
-- figures an evaluation reads for every month the enterprise submitted that year, packed by
-- src/store/packed.rs. An evaluation then reads about three rows an enterprise instead of 24.
-- Derived from `submission` only: every merge rewrites the years it touched in its own
-- transaction, and `indmon migrate` fills the table from `submission` when it is empty.
CREATE TABLE submission_year (
    year INTEGER NOT NULL,
    credit_code TEXT NOT NULL,
    months BYTEA NOT NULL,
    PRIMARY KEY (year, credit_code)
);

-- Derived tables `indmon migrate` must (re)build from their sources before anything reads
-- them; the name is removed once the build has committed. A database that already holds
-- submissions gets its packed years built here.
CREATE TABLE rebuild_pending (
    name TEXT PRIMARY KEY
);
INSERT INTO rebuild_pending (name) VALUES ('submission_year');
