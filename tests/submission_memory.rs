//! A submissions import's memory is bounded by its buffer, not by its file: 400,000 rows of
//! 16,000 enterprises, period by period, imported with a 2 MiB buffer
//! (`ImportOptions::buffer_limit`: the held months and their map's whole table), raise the peak
//! resident set by less than 10 MiB (4–5 MiB seen; held whole, they raised it by 15).
//! On PostgreSQL, where no page cache lives in the process to blur the figure. Its own test
//! binary, so that the peak (`VmHWM`, process-wide) is this import's alone.

mod common;

use std::io::{BufWriter, Write};

use common::{TestDb, fixture, import_ok, opts, vm_hwm_kib};
use indmon::credit_code::CreditCode;
use indmon::ingest::{ImportOptions, import_file};

const ENTERPRISES: usize = 16_000;
const MONTHS: usize = 25;

fn code(i: usize) -> CreditCode {
    CreditCode::with_check(&format!("913307{i:011}")).unwrap()
}

#[tokio::test]
async fn a_large_submissions_file_is_imported_in_bounded_memory() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let registry = dir.path().join("enterprises.csv");
    let mut w = BufWriter::new(std::fs::File::create(&registry).unwrap());
    writeln!(
        w,
        "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner"
    )
    .unwrap();
    for i in 0..ENTERPRISES {
        let c = code(i);
        writeln!(w, "{c},示例{i:05}厂,330781,,C3411,above,否,leader00").unwrap();
    }
    drop(w);
    let path = dir.path().join("submissions.csv");
    let mut w = BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(w, "credit_code,period,output,output_ytd,sales").unwrap();
    for m in 0..MONTHS {
        let (year, month) = (2024 + (9 + m) / 12, (9 + m) % 12 + 1);
        for i in 0..ENTERPRISES {
            let v = 1_000 + (i * 7 + m * 13) % 900;
            writeln!(w, "{},{year}-{month:02},{v}.5,{},{v}", code(i), v * 3).unwrap();
        }
    }
    drop(w);
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
