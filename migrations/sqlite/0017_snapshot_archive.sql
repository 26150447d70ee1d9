-- The archive of semimonthly snapshots (sqlite), kept in the database so that any replica's
-- console can list and serve them (the folder `indmon snapshot --out` writes is one machine's).
-- One row per half-month; writing a half again replaces its files.

CREATE TABLE snapshot_archive (
    -- The half-month, e.g. 2026-11-H1 (the console's /snapshots/{half}/…).
    half TEXT PRIMARY KEY,
    -- The reporting period the snapshot analyses, YYYY-MM.
    period TEXT NOT NULL,
    -- Hex SHA-256 of its manifest.json.
    manifest_sha256 TEXT NOT NULL,
    written_at BIGINT NOT NULL
);

-- The files of a snapshot: report.html, report.docx, report.xlsx, snapshot.json, manifest.json.
CREATE TABLE snapshot_file (
    half TEXT NOT NULL REFERENCES snapshot_archive (half) ON DELETE CASCADE,
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size BIGINT NOT NULL,
    content BLOB NOT NULL,
    PRIMARY KEY (half, name)
);
