//! The body of `power_memory.rs` and `power_memory_postgres.rs`: one large power-daily file
//! imported, the growth of the process's peak resident set checked.

use std::io::{BufWriter, Write};

use super::common::{TestDb, opts, registry, vm_hwm_kib};
use indmon::credit_code::CreditCode;
use indmon::ingest::import_file;

const ACCOUNTS: usize = 50_000;
const DAYS: u32 = 30;

/// Imports the mapping, then 1,500,000 lines, into `db`, and checks that the peak grew by less
/// than `bound_mib`.
pub async fn import_in_bounded_memory(db: TestDb, bound_mib: u64) {
    let dir = tempfile::tempdir().unwrap();
    let accounts = dir.path().join("accounts.csv");
    let mut w = BufWriter::new(std::fs::File::create(&accounts).unwrap());
    writeln!(w, "户号,统一社会信用代码").unwrap();
    for i in 0..ACCOUNTS {
        let code = CreditCode::with_check(&format!("913307{i:011}")).unwrap();
        writeln!(w, "44{i:08},{code}").unwrap();
    }
    w.flush().unwrap();
    let daily = dir.path().join("daily.csv");
    let mut w = BufWriter::new(std::fs::File::create(&daily).unwrap());
    writeln!(w, "户号,日期,日用电量(千瓦时)").unwrap();
    for day in 1..=DAYS {
        for i in 0..ACCOUNTS {
            writeln!(w, "44{i:08},2026-09-{day:02},{}.5", 100 + i % 900).unwrap();
        }
    }
    w.flush().unwrap();
    drop(w);
    registry(&db.store).await;
    let r = import_file(&db.store, &accounts, &opts()).await.unwrap();
    assert!(r.committed && r.rejected == 0, "{:?}", r.rejects.first());
    let Some(before) = vm_hwm_kib() else {
        db.cleanup().await;
        return;
    };
    let r = import_file(&db.store, &daily, &opts()).await.unwrap();
    assert!(r.committed, "{:?}", r.rejects.first());
    let lines = ACCOUNTS as u64 * u64::from(DAYS);
    assert_eq!(r.accepted, lines);
    let grown_mib = (vm_hwm_kib().unwrap_or(0).saturating_sub(before)) / 1024;
    eprintln!("the peak grew by {grown_mib} MiB for {lines} lines");
    assert!(
        grown_mib < bound_mib,
        "the peak grew by {grown_mib} MiB for {lines} lines"
    );
    assert_eq!(
        db.store.count("power_daily").await.unwrap(),
        i64::try_from(lines).unwrap()
    );
    db.cleanup().await;
}
