//! The power-daily import's edges (issue 21) on SQLite and PostgreSQL: an account repeating a
//! day anywhere in the file is rejected naming its first line, a partial import keeps the rest,
//! the first [`MAX_KEPT_REJECTS`] rejects kept are the first by line whichever the reason, and
//! a day revised twice keeps both figures it replaced.

mod common;

use common::*;
use indmon::credit_code::CreditCode;
use indmon::ingest::{MAX_KEPT_REJECTS, import_file};
use indmon::store::Store;

const NANHU: &str = "913307811860913921";
const BEIGANG: &str = "91330781190937864H";
const MAPPING: &str = "户号,统一社会信用代码,户名\n3300001,913307811860913921,南湖纺织一厂\n3300002,913307811860913921,南湖纺织二厂\n3300003,91330781190937864H,北港化工\n";

async fn mapped(store: &Store, dir: &tempfile::TempDir) {
    registry(store).await;
    import_ok(store, &[&write(dir, "accounts.csv", MAPPING)]).await;
}

/// Line 5 repeats line 2's account and day three lines later (the account's days going back
/// in between); line 6 is unmapped.
const REPEATED: &str = "户号,日期,用电量\n3300001,2026-10-01,1000\n3300003,2026-10-01,500\n3300001,2026-10-02,300\n3300001,2026-10-01,999\n9999999,2026-10-01,70\n3300002,2026-10-01,250\n";

#[tokio::test]
async fn a_repeated_account_day_is_rejected_naming_its_first_line_and_commits_nothing() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        let r = import_file(s, &write(&dir, "d.csv", REPEATED), &opts())
            .await
            .unwrap();
        assert!(!r.committed, "{}", db.name);
        assert_eq!(r.rejected, 2, "{:?}", r.rejects);
        assert_eq!(r.rejects[0].line, 5);
        assert_eq!(r.rejects[0].column, "B 日期");
        assert_eq!(r.rejects[0].value, "2026-10-01");
        assert!(
            r.rejects[0].reason.contains("与第2行重复"),
            "{}",
            r.rejects[0].reason
        );
        assert_eq!(r.rejects[1].line, 6);
        assert_eq!(r.rejects[1].column, "A 户号");
        assert_eq!(s.count("power_daily").await.unwrap(), 0, "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_partial_import_keeps_the_first_of_repeated_lines_and_sums_the_rest() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        let mut o = opts();
        o.partial = true;
        let r = import_file(s, &write(&dir, "d.csv", REPEATED), &o)
            .await
            .unwrap();
        assert!(r.committed, "{}", db.name);
        assert_eq!(r.rejected, 2);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (3, 0, 0),
            "{}",
            db.name
        );
        let (d1, d2) = ("2026-10-01".parse().unwrap(), "2026-10-02".parse().unwrap());
        let days = s.power_days(&[d1..=d2]).await.unwrap();
        let nanhu: CreditCode = NANHU.parse().unwrap();
        let beigang: CreditCode = BEIGANG.parse().unwrap();
        // 南湖 on the 1st: line 2's 1000 and its second account's 250, not line 5's 999.
        assert_eq!(days[&nanhu][&d1], 1250 * 10_000, "{}", db.name);
        assert_eq!(days[&nanhu][&d2], 300 * 10_000);
        assert_eq!(days[&beigang][&d1], 500 * 10_000);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn days_out_of_order_without_repeats_are_all_accepted() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        let file = write(
            &dir,
            "d.csv",
            "户号,日期,用电量\n3300001,2026-10-03,1\n3300001,2026-10-02,2\n3300002,2026-10-02,3\n3300001,2026-10-01,4\n",
        );
        let r = import_ok(s, &[&file]).await.remove(0);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (3, 0, 0),
            "{}",
            db.name
        );
        let d2 = "2026-10-02".parse().unwrap();
        let days = s.power_days(&[d2..=d2]).await.unwrap();
        assert_eq!(days[&NANHU.parse::<CreditCode>().unwrap()][&d2], 5 * 10_000);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_first_rejects_kept_are_the_first_by_line_whether_unmapped_or_repeated() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        // Line 2 stands; then unmapped and repeated lines alternate, 12,000 of them.
        let mut text = String::from("户号,日期,用电量\n3300003,2026-10-01,1\n");
        for k in 0..12_000 {
            let account = if k % 2 == 0 { "9999999" } else { "3300003" };
            text.push_str(&format!("{account},2026-10-01,{k}\n"));
        }
        let r = import_file(s, &write(&dir, "d.csv", &text), &opts())
            .await
            .unwrap();
        assert!(!r.committed);
        assert_eq!(r.rejected, 12_000, "{}", db.name);
        assert_eq!(r.rejects.len(), MAX_KEPT_REJECTS);
        let lines: Vec<u64> = r.rejects.iter().map(|r| r.line).collect();
        let expected: Vec<u64> = (3..3 + MAX_KEPT_REJECTS as u64).collect();
        assert_eq!(lines, expected, "{}", db.name);
        assert!(r.rejects[1].reason.contains("与第2行重复"));
        assert!(r.rejects[0].reason.contains("不在用电户号对照表中"));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_day_revised_twice_keeps_both_figures_it_replaced() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        mapped(s, &dir).await;
        for (name, kwh) in [("a.csv", 500), ("b.csv", 520), ("c.csv", 530)] {
            let text =
                format!("户号,日期,用电量\n3300003,2026-10-31,{kwh}\n3300001,2026-10-30,7\n");
            write(&dir, name, text);
        }
        let mut ids = Vec::new();
        for (i, name) in ["a.csv", "b.csv", "c.csv"].iter().enumerate() {
            let r = import_ok(s, &[&dir.path().join(name)]).await.remove(0);
            let expected = if i == 0 { (2, 0, 0) } else { (0, 1, 1) };
            assert_eq!(
                (r.accepted, r.revised, r.unchanged),
                expected,
                "{}",
                db.name
            );
            ids.push(r.run_id);
        }
        let sql = "SELECT CAST(revision AS BIGINT), kwh, run_id, superseded_by FROM power_daily_history WHERE day = '2026-10-31' ORDER BY revision";
        let rows: Vec<(i64, i64, i64, i64)> = match s {
            Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
            Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        };
        assert_eq!(
            rows,
            vec![
                (1, 500 * 10_000, ids[0], ids[1]),
                (2, 520 * 10_000, ids[1], ids[2])
            ],
            "{}",
            db.name
        );
        let rev = scalar(
            s,
            "SELECT CAST(revision AS BIGINT) FROM power_daily WHERE day = '2026-10-31'",
        )
        .await;
        assert_eq!(rev, 3);
        let unchanged = scalar(
            s,
            "SELECT CAST(revision AS BIGINT) FROM power_daily WHERE day = '2026-10-30'",
        )
        .await;
        assert_eq!(unchanged, 1);
        db.cleanup().await;
    }
}

/// 2,000 accounts of one enterprise over ten days (20,000 lines: more than a batch is staged,
/// and on PostgreSQL sent to the staging `COPY`, before the end), then a line that is not
/// UTF-8: the file is refused naming that line, nothing of it is kept, and the next file
/// imports as if it had never been.
#[tokio::test]
async fn a_file_refused_after_lines_were_staged_keeps_nothing_and_the_next_imports() {
    let accounts = 2_000;
    let mut mapping = String::from("户号,统一社会信用代码,户名\n");
    for a in 0..accounts {
        mapping.push_str(&format!("44{a:05},{NANHU},南湖纺织{a}号表\n"));
    }
    let mut days = String::from("户号,日期,用电量\n");
    for d in 1..=10 {
        for a in 0..accounts {
            days.push_str(&format!("44{a:05},2026-10-{d:02},{}\n", a % 7 + 1));
        }
    }
    let lines = accounts * 10;
    let mut broken = days.clone().into_bytes();
    broken.extend_from_slice(b"4400000,2026-10-11,\xff\n");
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        registry(s).await;
        import_ok(s, &[&write(&dir, "accounts.csv", &mapping)]).await;
        let r = import_file(s, &write(&dir, "broken.csv", &broken), &opts())
            .await
            .unwrap();
        assert!(!r.committed, "{}", db.name);
        let refusal = r.rejects.iter().find(|x| x.line == lines as u64 + 2);
        assert!(
            refusal.is_some_and(|x| x.reason.contains("UTF-8")),
            "{}: {:?}",
            db.name,
            r.rejects
        );
        assert_eq!(s.count("power_daily").await.unwrap(), 0, "{}", db.name);
        let r = import_ok(s, &[&write(&dir, "days.csv", &days)])
            .await
            .remove(0);
        assert_eq!((r.accepted, r.revised), (10, 0), "{}", db.name);
        // Each day the sum of the 2,000 accounts: 285 × (1 + … + 7) + 1 + 2 + 3 + 4 + 5 kWh.
        let kwh = scalar(s, "SELECT kwh FROM power_daily WHERE day = '2026-10-05'").await;
        assert_eq!(kwh, (285 * 28 + 15) * 10_000, "{}", db.name);
        db.cleanup().await;
    }
}
