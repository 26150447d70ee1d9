//! A registry import's memory is bounded by its batches, not by its file: 150,000 enterprises
//! (which held whole took some 850 bytes each, 120 MiB) raise the peak resident set by no more
//! than SQLite's page cache (64 MiB, `cache_size`, bounded whatever the file) and 32 MiB for a
//! batch and the credit codes seen. Its own test binary, so that the peak (`VmHWM`,
//! process-wide) is this import's alone.

mod common;

use std::io::{BufWriter, Write};

use common::{TestDb, fixture, import_ok, opts, vm_hwm_kib};
use indmon::credit_code::CreditCode;
use indmon::ingest::import_file;

const N: usize = 150_000;

#[tokio::test]
async fn a_large_registry_is_imported_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("enterprises.csv");
    let mut w = BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(
        w,
        "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner"
    )
    .unwrap();
    for i in 0..N {
        let code = CreditCode::with_check(&format!("913307{i:011}")).unwrap();
        let unit = if i % 2 == 0 { "330781" } else { "330782" };
        writeln!(
            w,
            "{code},示例{i:06}精密机械制造有限公司,{unit},,C3411,above,否,leader{:03}",
            i % 400
        )
        .unwrap();
    }
    w.flush().unwrap();
    drop(w);
    let db = TestDb::sqlite().await;
    import_ok(&db.store, &[&fixture("units.csv")]).await;
    let Some(before) = vm_hwm_kib() else { return };
    let r = import_file(&db.store, &path, &opts()).await.unwrap();
    assert!(r.committed && r.accepted == N as u64, "{:?}", r.rejects);
    let grown_mib = (vm_hwm_kib().unwrap_or(0).saturating_sub(before)) / 1024;
    assert!(
        grown_mib < 64 + 32,
        "the peak grew by {grown_mib} MiB for {N} enterprises"
    );
    assert_eq!(db.store.count("enterprise").await.unwrap(), N as i64);
}
