//! A submissions import's memory is bounded by its buffer, not by its file: 400,000 rows of
//! 16,000 enterprises, period by period, imported with a 2 MiB buffer
//! (`ImportOptions::buffer_limit`: the held months and their map's whole table), raise the peak
//! resident set by less than 10 MiB (4–5 MiB seen; held whole, they raised it by 15).
//! On PostgreSQL, where no page cache lives in the process to blur the figure. Its own test
//! binary, so that the peak (`VmHWM`, process-wide) is this import's alone.

mod common;

use common::{TestDb, fixture, import_ok, large_import, opts, vm_hwm_kib};
use indmon::ingest::{ImportOptions, import_file};

const ENTERPRISES: usize = 16_000;
const MONTHS: usize = 25;

#[tokio::test]
async fn a_large_submissions_file_is_imported_in_bounded_memory() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (registry, path) = large_import(dir.path(), ENTERPRISES, MONTHS);
    import_ok(&db.store, &[&fixture("units.csv"), &registry]).await;
    let Some(before) = vm_hwm_kib() else { return };
    let small = ImportOptions {
        buffer_limit: 2 << 20,
        ..opts()
    };
    let r = import_file(&db.store, &path, &small).await.unwrap();
    let rows = (ENTERPRISES * MONTHS) as u64;
    assert!(r.committed && r.accepted == rows, "{:?}", r.rejects);
    let grown_mib = (vm_hwm_kib().unwrap_or(0).saturating_sub(before)) / 1024;
    assert!(
        grown_mib < 10,
        "the peak grew by {grown_mib} MiB for {rows} rows"
    );
    assert_eq!(db.store.count("submission").await.unwrap(), rows as i64);
    db.cleanup().await;
}
