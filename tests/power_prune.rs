//! Daily electricity past the retention (`[power] daily_retention_months`, issue 21) is kept
//! only as sums by enterprise and 旬 (`power_xun_total`). A line that arrives late for a month
//! already summed would otherwise be stored as a day, and the next prune would overwrite the
//! month's sums with that one day's: the line is refused instead, naming it and the month, and
//! the sums stay as they were — on SQLite and PostgreSQL.

mod common;

use common::*;
use indmon::ingest::{ImportOptions, import_file};

const MAPPING: &str =
    "户号,统一社会信用代码\n3300001,913307811860913921\n3300003,91330781190937864H\n";

/// `power_xun_total` as (credit code, period, 旬, days, kWh).
type Total = (String, String, i64, i64, i64);

async fn totals(s: &indmon::store::Store) -> Vec<Total> {
    let sql = "SELECT credit_code, period, CAST(xun AS BIGINT), CAST(days_present AS BIGINT), kwh FROM power_xun_total ORDER BY credit_code, period, xun";
    match s {
        indmon::store::Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        indmon::store::Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .expect("totals")
}

#[tokio::test]
async fn a_late_line_for_a_pruned_month_is_refused_and_the_sums_are_kept() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().expect("tempdir");
        registry(s).await;
        import_ok(s, &[&write(&dir, "accounts.csv", MAPPING)]).await;
        let days = "户号,日期,用电量\n3300001,2024-09-02,600\n3300001,2024-09-03,700\n3300003,2024-09-25,2000\n";
        import_ok(s, &[&write(&dir, "days.csv", days)]).await;
        let calendar = indmon::calendar::Calendar::official().expect("calendar");
        let worked = |d| indmon::power::level::is_workday(Some(&calendar), d);
        let keep_from = period("2024-10");
        let stamp = now().timestamp_millis();
        let pruned = s.prune_power_days(keep_from, worked, stamp).await;
        assert_eq!(pruned.expect("prune").months, ["2024-09"], "{}", db.name);
        let before = totals(s).await;
        assert_eq!(before.len(), 2, "{}: {before:?}", db.name);

        // September 2024's 4th arrives late, beside a day of October that is still kept.
        let late = "户号,日期,用电量\n3300003,2024-10-08,900\n3300001,2024-09-04,800\n";
        let file = write(&dir, "late.csv", late);
        let r = import_file(s, &file, &ImportOptions::new(now()))
            .await
            .expect("import");
        assert!(!r.committed, "{}: {r:?}", db.name);
        assert_eq!(r.rejected, 1, "{}", db.name);
        let reject = &r.rejects[0];
        assert_eq!(reject.line, 3, "{}", db.name);
        assert_eq!(reject.value, "2024-09-04", "{}", db.name);
        assert!(reject.reason.contains("2024年9月"), "{}", reject.reason);
        assert_eq!(s.count("power_daily").await.expect("count"), 0);

        // Taken partially, the kept month's line is stored and the pruned month's is not.
        let partial = ImportOptions {
            partial: true,
            ..ImportOptions::new(now())
        };
        let r = import_file(s, &file, &partial).await.expect("import");
        assert!(r.committed && r.accepted == 1 && r.rejected == 1, "{r:?}");
        let again = s.prune_power_days(keep_from, worked, stamp).await;
        assert!(again.expect("prune").months.is_empty(), "{}", db.name);
        assert_eq!(totals(s).await, before, "{}", db.name);
        db.cleanup().await;
    }
}
