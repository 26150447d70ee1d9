//! Settled 旬s packed one row an enterprise (`power_xun_days`, `store::xun_days`): the 旬
//! evaluation packs last year's 旬 once and reads it from there after, with the same result; a
//! packed 旬 reads as its days; and every change to a month's days — an import's revision, an
//! `UPDATE`, `DELETE` or `INSERT` made behind indmon's back, a `TRUNCATE` — takes its 旬s out of
//! the packed ones in the same transaction, so that a pack is never read stale; a pruned
//! month's packs go with its days. On SQLite and PostgreSQL.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use chrono::NaiveDate;
use common::*;
use indmon::credit_code::CreditCode;
use indmon::power::Xun;
use indmon::store::Store;

const NANHU: &str = "913307811860913921";
const BEIGANG: &str = "91330781190937864H";

const MAPPING: &str = "户号,统一社会信用代码,户名\n3300001,913307811860913921,南湖纺织一厂\n3300002,913307811860913921,南湖纺织二厂\n3300003,91330781190937864H,北港化工\n";

fn x(s: &str) -> Xun {
    s.parse().unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Days `from`.. (`n` of them) of account `account` at `kwh`, as CSV lines.
fn lines(account: &str, from: &str, n: usize, kwh: u32) -> String {
    d(from)
        .iter_days()
        .take(n)
        .map(|d| format!("{account},{d},{kwh}\n"))
        .collect()
}

/// The stored days of `span`, read plainly from `power_daily`.
async fn plain(
    store: &Store,
    span: &RangeInclusive<NaiveDate>,
) -> HashMap<CreditCode, BTreeMap<NaiveDate, i64>> {
    let sql = "SELECT credit_code, day, kwh FROM power_daily WHERE day >= $1 AND day <= $2";
    let (a, b) = (span.start().to_string(), span.end().to_string());
    let rows: Vec<(String, String, i64)> = match store {
        Store::Sqlite(p) => sqlx::query_as(sql).bind(a).bind(b).fetch_all(p).await,
        Store::Postgres(p) => sqlx::query_as(sql).bind(a).bind(b).fetch_all(p).await,
    }
    .unwrap();
    let mut out: HashMap<CreditCode, BTreeMap<NaiveDate, i64>> = HashMap::new();
    for (c, day, kwh) in rows {
        out.entry(c.parse().unwrap())
            .or_default()
            .insert(day.parse().unwrap(), kwh);
    }
    out
}

/// The registry and the power accounts' mapping imported; the directory to write files to.
async fn mapped(store: &Store) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    registry(store).await;
    import_ok(store, &[&write(&dir, "accounts.csv", MAPPING)]).await;
    dir
}

/// Whether 2025-10-D3 is packed, and the days read for it (through the pack when it is) equal
/// the stored ones.
async fn packed_and_read_right(store: &Store, name: &str) -> bool {
    let last_year = x("2025-10-D3");
    let span = d("2025-10-21")..=d("2025-10-31");
    let read = store.power_days(std::slice::from_ref(&span)).await.unwrap();
    assert_eq!(read, plain(store, &span).await, "{name}");
    store
        .packed_xuns(&[last_year])
        .await
        .unwrap()
        .contains(&last_year)
}

#[tokio::test]
async fn a_packed_xun_reads_as_its_days_and_any_change_to_its_month_unpacks_it() {
    for db in TestDb::all().await {
        let (s, name) = (&db.store, db.name);
        let dir = mapped(s).await;
        // 北港 stalls in 2026-10-D3 (200 against 1000 kWh a day); 南湖 (two accounts) runs on,
        // one day of its 2025-10-D3 missing.
        let mut csv = String::from("户号,日期,用电量\n");
        csv += &lines("3300001", "2025-10-21", 5, 600);
        csv += &lines("3300001", "2025-10-27", 5, 600);
        csv += &lines("3300002", "2025-10-21", 11, 400);
        csv += &lines("3300003", "2025-10-21", 11, 1000);
        csv += &lines("3300001", "2026-10-21", 11, 700);
        csv += &lines("3300003", "2026-10-21", 11, 200);
        import_ok(s, &[&write(&dir, "daily.csv", csv)]).await;
        assert!(!packed_and_read_right(s, name).await, "{name}");

        // The first evaluation packs last year's 旬 (not the 旬 itself); the next reads it from
        // there and finds the same.
        let config = indmon::config::Config::default();
        let run = || indmon::evaluate::xun::run(s, &config, x("2026-10-D3"), now(), false);
        let first = indmon::evaluate::xun::to_json(&run().await.unwrap());
        assert!(packed_and_read_right(s, name).await, "{name}");
        assert!(s.packed_xuns(&[x("2026-10-D3")]).await.unwrap().is_empty());
        assert_eq!(s.count("power_xun_days").await.unwrap(), 2, "{name}");
        let again = indmon::evaluate::xun::to_json(&run().await.unwrap());
        assert_eq!(first, again, "{name}");
        assert_eq!(first["alerts"][0]["subject"], BEIGANG, "{name}");
        assert_eq!(first["alerts"].as_array().unwrap().len(), 1, "{name}");

        // An import revising a day of the month: unpacked with it, and read as revised.
        let revised = format!(
            "户号,日期,用电量\n{}",
            lines("3300003", "2025-10-25", 1, 300)
        );
        import_ok(s, &[&write(&dir, "revised.csv", revised)]).await;
        assert!(!packed_and_read_right(s, name).await, "{name}");
        let read = s
            .power_days(&[d("2025-10-25")..=d("2025-10-25")])
            .await
            .unwrap();
        assert_eq!(
            read[&BEIGANG.parse::<CreditCode>().unwrap()][&d("2025-10-25")],
            300 * 10_000
        );
        // Packed again by the next evaluation, whose JSON still matches the one read from days
        // (北港's reference now 10 days of 1000 and one of 300).
        let packed_again = indmon::evaluate::xun::to_json(&run().await.unwrap());
        assert!(packed_and_read_right(s, name).await, "{name}");
        exec(s, "DELETE FROM power_xun_packed").await;
        let days = indmon::evaluate::xun::to_json(
            &indmon::evaluate::xun::run(s, &config, x("2026-10-D3"), now(), true)
                .await
                .unwrap(),
        );
        assert_eq!(packed_again, days, "{name}");

        // Behind indmon's back: each kind of change to a day of the month unpacks it, the
        // indmon imports above having set the triggers aside only for their own transactions.
        let behind = [
            format!(
                "UPDATE power_daily SET kwh = 7 WHERE credit_code = '{BEIGANG}' AND day = '2025-10-26'"
            ),
            format!("DELETE FROM power_daily WHERE credit_code = '{NANHU}' AND day = '2025-10-27'"),
            format!(
                "INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at) VALUES ('{NANHU}', '2025-10-05', 5, 1, 0, 0)"
            ),
        ];
        for sql in &behind {
            s.pack_xuns(&[x("2025-10-D3")], 0).await.unwrap();
            assert!(packed_and_read_right(s, name).await, "{name}");
            exec(s, sql).await;
            assert!(!packed_and_read_right(s, name).await, "{name}: {sql}");
        }
        if name == "postgres" {
            s.pack_xuns(&[x("2025-10-D3")], 0).await.unwrap();
            exec(s, "TRUNCATE power_daily").await;
            assert!(!packed_and_read_right(s, name).await, "{name}");
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_pruned_month_takes_its_packed_xuns_with_its_days() {
    for db in TestDb::all().await {
        let (s, name) = (&db.store, db.name);
        let dir = mapped(s).await;
        let mut csv = String::from("户号,日期,用电量\n");
        csv += &lines("3300003", "2025-10-01", 31, 1000);
        csv += &lines("3300003", "2026-10-01", 10, 900);
        import_ok(s, &[&write(&dir, "daily.csv", csv)]).await;
        let kept = x("2026-10-D1");
        let pruned = [x("2025-10-D1"), x("2025-10-D2"), x("2025-10-D3")];
        s.pack_xuns(&pruned, 0).await.unwrap();
        s.pack_xuns(&[kept], 0).await.unwrap();
        assert_eq!(s.count("power_xun_days").await.unwrap(), 4, "{name}");
        let keep_from: indmon::period::Period = "2026-01".parse().unwrap();
        s.prune_power_days(keep_from, |_| true, 0).await.unwrap();
        // The pruned month's 旬s are neither packed nor kept; the later month's stay packed.
        assert!(s.packed_xuns(&pruned).await.unwrap().is_empty(), "{name}");
        assert_eq!(s.count("power_xun_days").await.unwrap(), 1, "{name}");
        assert!(
            s.packed_xuns(&[kept]).await.unwrap().contains(&kept),
            "{name}"
        );
        db.cleanup().await;
    }
}

/// A packed 旬's `days` (migration 0033) byte for byte: eight bytes a day in the 旬's order,
/// big-endian ten-thousandths of kWh, a day without a figure the smallest 64-bit number.
#[tokio::test]
async fn a_packed_xun_is_stored_as_eight_bytes_a_day() {
    for db in TestDb::all().await {
        let (s, name) = (&db.store, db.name);
        let dir = mapped(s).await;
        // 北港 in 2025-12-D3 (11 days): 1,000 kWh a day, the 25th missing, 2 kWh on the 31st.
        let mut csv = String::from("户号,日期,用电量\n");
        csv += &lines("3300003", "2025-12-21", 4, 1000);
        csv += &lines("3300003", "2025-12-26", 5, 1000);
        csv += &lines("3300003", "2025-12-31", 1, 2);
        import_ok(s, &[&write(&dir, "daily.csv", csv)]).await;
        s.pack_xuns(&[x("2025-12-D3")], 0).await.unwrap();
        let sql = "SELECT days FROM power_xun_days WHERE period = '2025-12' AND xun = 3 AND credit_code = $1";
        let days: Vec<u8> = match s {
            Store::Sqlite(p) => sqlx::query_scalar(sql).bind(BEIGANG).fetch_one(p).await,
            Store::Postgres(p) => sqlx::query_scalar(sql).bind(BEIGANG).fetch_one(p).await,
        }
        .unwrap();
        let day = |kwh: i64| kwh.to_be_bytes();
        let mut want = Vec::new();
        for _ in 21..=24 {
            want.extend(day(10_000_000)); // 00 00 00 00 00 98 96 80
        }
        want.extend([0x80, 0, 0, 0, 0, 0, 0, 0]);
        for _ in 26..=30 {
            want.extend(day(10_000_000));
        }
        want.extend(day(20_000));
        assert_eq!(days, want, "{name}");
        assert_eq!(&days[..8], [0, 0, 0, 0, 0, 0x98, 0x96, 0x80], "{name}");
        // Read back through the pack as the days stored.
        let span = d("2025-12-21")..=d("2025-12-31");
        let read = s.power_days(std::slice::from_ref(&span)).await.unwrap();
        assert_eq!(read, plain(s, &span).await, "{name}");
        assert_eq!(read[&BEIGANG.parse::<CreditCode>().unwrap()].len(), 10);
        // A value no pack has (three bytes): the read says what it found and how to rebuild.
        let bad = match s {
            Store::Sqlite(_) => "UPDATE power_xun_days SET days = x'010203'",
            Store::Postgres(_) => "UPDATE power_xun_days SET days = '\\x010203'::bytea",
        };
        exec(s, bad).await;
        let err = s.power_days(std::slice::from_ref(&span)).await.unwrap_err();
        let msg = format!("{err:#}");
        assert!(
            msg.contains("3 bytes") && msg.contains("power_xun_packed"),
            "{name}: {msg}"
        );
        db.cleanup().await;
    }
}
