//! A hostile submissions file costs bounded memory however many rows it rejects: 400,000 rows
//! that all repeat one enterprise-month (a reject each, some 250 bytes held: 100 MiB when every
//! reject was kept until the file ended) raise the peak resident set by less than 32 MiB, the
//! first [`MAX_KEPT_REJECTS`] rejects kept and every one counted. Its own test binary, so that
//! the peak (`VmHWM`, process-wide) is this import's alone.

mod common;

use std::io::{BufWriter, Write};

use common::{TestDb, opts, registry, vm_hwm_kib};
use indmon::ingest::{MAX_KEPT_REJECTS, import_file};

const N: u64 = 400_000;
const DONGLING: &str = "9133078152601815XT";

#[tokio::test]
async fn a_file_of_repeated_rows_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("submissions.csv");
    let mut w = BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "credit_code,period,output").unwrap();
    for i in 0..=N {
        writeln!(w, "{DONGLING},2026-01,{}", i % 1000).unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let db = TestDb::sqlite().await;
    registry(&db.store).await;
    let Some(before) = vm_hwm_kib() else { return };
    let r = import_file(&db.store, &path, &opts()).await.unwrap();
    assert!(!r.committed);
    assert_eq!(r.rejected, N, "every repeat is counted");
    assert_eq!(r.rejects.len(), MAX_KEPT_REJECTS);
    assert!(
        r.rejects[0].reason.contains("与第2行重复"),
        "{}",
        r.rejects[0].reason
    );
    let grown_mib = (vm_hwm_kib().unwrap_or(0).saturating_sub(before)) / 1024;
    assert!(
        grown_mib < 32,
        "the peak grew by {grown_mib} MiB for {N} rejects"
    );
    assert_eq!(db.store.count("submission").await.unwrap(), 0);
}
