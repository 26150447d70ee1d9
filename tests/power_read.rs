//! `Store::power_days`, the 旬 evaluation's bulk read of daily electricity (stepped directly on
//! SQLite, binary COPY on PostgreSQL), returns what the plain sqlx read it replaced returned:
//! days across a month end, an enterprise with gaps, a revised day once with its current
//! figure, rows stored in no particular order, a row whose code does not parse left out; and
//! `Store::power_day_table` read for a registry gives the same days, its enterprises first.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use common::TestDb;
use indmon::credit_code::CreditCode;
use indmon::store::{Backend, Store};

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn code(n: u32) -> String {
    CreditCode::with_check(&format!("91330781MA2X{n:05}"))
        .unwrap()
        .to_string()
}

async fn exec(store: &Store, sql: &str) {
    match store {
        Store::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
        Store::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(p)
            .await
            .map(|r| r.rows_affected()),
    }
    .unwrap();
}

/// The read as it was before (sqlx rows, each code and day parsed).
async fn plain_read(
    store: &Store,
    spans: &[RangeInclusive<NaiveDate>],
) -> HashMap<CreditCode, BTreeMap<NaiveDate, i64>> {
    let sql = "SELECT credit_code, day, kwh FROM power_daily WHERE day >= $1 AND day <= $2";
    let mut out: HashMap<CreditCode, BTreeMap<NaiveDate, i64>> = HashMap::new();
    for span in spans {
        let (a, b) = (span.start().to_string(), span.end().to_string());
        let rows: Vec<(String, String, i64)> = match store {
            Store::Sqlite(p) => sqlx::query_as(sql).bind(a).bind(b).fetch_all(p).await,
            Store::Postgres(p) => sqlx::query_as(sql).bind(a).bind(b).fetch_all(p).await,
        }
        .unwrap();
        for (c, d, kwh) in rows {
            if let (Ok(c), Ok(d)) = (c.parse::<CreditCode>(), d.parse::<NaiveDate>()) {
                out.entry(c).or_default().insert(d, kwh);
            }
        }
    }
    out
}

/// On PostgreSQL, the partitions of `power_daily` for `months` (each `YYYY-MM` with the month
/// after it), which the tests' rows go into; SQLite's table has none.
async fn partitions(store: &Store, months: &[(&str, &str)]) {
    if store.backend() != Backend::Postgres {
        return;
    }
    for (m, next) in months {
        let name = m.replace('-', "m");
        exec(store, &format!("CREATE TABLE IF NOT EXISTS power_daily_y{name} PARTITION OF power_daily FOR VALUES FROM ('{m}-01') TO ('{next}-01')")).await;
    }
}

/// Stores the rows: enterprise 1 every day 2026-10-25..=11-05 (kWh 100 + day index), 2 with
/// gaps (only every third day), 3 with one day revised (history kept), 4..=300 on 10-29..11-02
/// inserted in an order that changes from day to day, and two rows with invalid codes.
async fn seed(store: &Store) {
    partitions(
        store,
        &[
            ("2025-10", "2025-11"),
            ("2026-10", "2026-11"),
            ("2026-11", "2026-12"),
        ],
    )
    .await;
    let mut rows: Vec<(String, String, i64, i64)> = Vec::new();
    for (k, day) in d("2026-10-25").iter_days().take(12).enumerate() {
        rows.push((code(1), day.to_string(), 1_000_000 + k as i64, 1));
        if k % 3 == 0 {
            rows.push((code(2), day.to_string(), 2_000_000 + k as i64, 1));
        }
    }
    rows.push((code(3), "2026-10-31".into(), 3_000_001, 2));
    rows.push((code(3), "2025-10-02".into(), 3_000_002, 1));
    for (k, day) in d("2026-10-29").iter_days().take(5).enumerate() {
        let mut ns: Vec<u32> = (4..=300).collect();
        ns.rotate_left(k * 37);
        if k % 2 == 1 {
            ns.reverse();
        }
        for n in ns {
            rows.push((code(n), day.to_string(), i64::from(n) * 100 + k as i64, 1));
        }
    }
    rows.push(("NOT-A-CODE".into(), "2026-10-31".into(), 5, 1));
    // Commas in a code: PostgreSQL's read of the day, one row of codes joined by commas, falls
    // back to its rows.
    rows.push(("9133,NOT,A,CODE".into(), "2026-11-01".into(), 6, 1));
    for chunk in rows.chunks(200) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(c, d, k, r)| format!("('{c}', '{d}', {k}, {r}, 1, 0)"))
            .collect();
        exec(store, &format!("INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at) VALUES {}", values.join(", "))).await;
    }
    exec(store, &format!("INSERT INTO power_daily_history (credit_code, day, kwh, revision, run_id, received_at, superseded_at, superseded_by) VALUES ('{}', '2026-10-31', 999, 1, 1, 0, 0, 1)", code(3))).await;
}

#[tokio::test]
async fn the_bulk_read_returns_what_the_plain_read_did() {
    for db in TestDb::all().await {
        let s = &db.store;
        seed(s).await;
        let spans = [
            d("2026-10-28")..=d("2026-11-03"),
            d("2025-10-01")..=d("2025-10-10"),
            d("2026-10-31")..=d("2026-11-01"),
            // A month with no days, so no partition on PostgreSQL: nothing read, no error.
            d("2024-03-01")..=d("2024-03-10"),
        ];
        let fast = s.power_days(&spans).await.unwrap();
        let plain = plain_read(s, &spans).await;
        assert_eq!(fast, plain, "{}", db.name);
        // By hand: enterprise 1 across the month end, 2 with its gaps, 3 revised once.
        let one = &fast[&code(1).parse::<CreditCode>().unwrap()];
        assert_eq!(one.len(), 7, "{}", db.name);
        assert_eq!(one[&d("2026-10-31")], 1_000_006);
        assert_eq!(one[&d("2026-11-01")], 1_000_007);
        let two: Vec<NaiveDate> = fast[&code(2).parse::<CreditCode>().unwrap()]
            .keys()
            .copied()
            .collect();
        assert_eq!(two, [d("2026-10-28"), d("2026-10-31"), d("2026-11-03")]);
        let three = &fast[&code(3).parse::<CreditCode>().unwrap()];
        assert_eq!(
            three.iter().map(|(d, k)| (*d, *k)).collect::<Vec<_>>(),
            [(d("2025-10-02"), 3_000_002), (d("2026-10-31"), 3_000_001)]
        );
        assert_eq!(fast.len(), 300, "{}", db.name);
        assert_eq!(fast[&code(150).parse::<CreditCode>().unwrap()].len(), 5);
        // Read for a registry that knows some of them (in its own order) and one with no
        // days: every enterprise's days are the same, the registry's come first in its order.
        let known: Vec<CreditCode> = [150, 2, 999, 1]
            .into_iter()
            .map(|n| code(n).parse().unwrap())
            .collect();
        let table = s.power_day_table(&spans, known.clone()).await.unwrap();
        let order: Vec<CreditCode> = table.iter().map(|(c, _)| *c).take(4).collect();
        assert_eq!(order, known, "{}", db.name);
        assert_eq!(table.get(&known[2]).unwrap().all().count(), 0);
        let by_table: HashMap<CreditCode, BTreeMap<NaiveDate, i64>> = table
            .iter()
            .map(|(c, days)| (*c, days.all().collect::<BTreeMap<_, _>>()))
            .filter(|(_, days)| !days.is_empty())
            .collect();
        assert_eq!(by_table, plain, "{}", db.name);
        assert!(s.power_days(&[]).await.unwrap().is_empty());
        db.cleanup().await;
    }
}

/// A month of 6,000 enterprises' 20 days, written a day at a time as the imports write them,
/// and a row revised later (a new row version elsewhere in the heap): every span — a whole
/// 旬, one across two, a single day — reads what the plain read does, in two halves by day
/// (on PostgreSQL each day through the partition's key).
#[tokio::test]
async fn a_large_month_read_in_halves_returns_every_day() {
    for db in TestDb::all().await {
        let s = &db.store;
        partitions(s, &[("2026-10", "2026-11")]).await;
        let codes: Vec<String> = (0..6_000).map(code).collect();
        for day in d("2026-10-01").iter_days().take(20) {
            for chunk in codes.chunks(1_000) {
                let values: Vec<String> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        format!(
                            "('{c}', '{day}', {}, 1, 1, 0)",
                            i + 10 * day.ordinal() as usize
                        )
                    })
                    .collect();
                exec(s, &format!("INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at) VALUES {}", values.join(", "))).await;
            }
        }
        exec(s, &format!("UPDATE power_daily SET kwh = 7, revision = 2 WHERE credit_code = '{}' AND day = '2026-10-03'", codes[5])).await;
        for span in [
            d("2026-10-11")..=d("2026-10-20"),
            d("2026-10-01")..=d("2026-10-10"),
            d("2026-10-05")..=d("2026-10-14"),
            d("2026-10-03")..=d("2026-10-03"),
        ] {
            let spans = [span];
            let fast = s.power_days(&spans).await.unwrap();
            assert_eq!(
                fast,
                plain_read(s, &spans).await,
                "{}: {:?}",
                db.name,
                spans[0]
            );
            let days: usize = fast.values().map(|d| d.len()).sum();
            let len = (*spans[0].end() - *spans[0].start()).num_days() as usize + 1;
            assert_eq!(days, 6_000 * len, "{}: {:?}", db.name, spans[0]);
        }
        let one = s
            .power_days(&[d("2026-10-03")..=d("2026-10-03")])
            .await
            .unwrap();
        assert_eq!(
            one[&codes[5].parse::<CreditCode>().unwrap()][&d("2026-10-03")],
            7
        );
        db.cleanup().await;
    }
}

/// A day of more rows than PostgreSQL's read takes at a time (65,536): every one is read, in
/// whatever order the rows were written.
#[tokio::test]
async fn a_day_of_more_rows_than_a_chunk_is_read_whole() {
    for db in TestDb::all().await {
        let s = &db.store;
        partitions(s, &[("2026-10", "2026-11")]).await;
        let mut codes: Vec<String> = (0..70_000).map(code).collect();
        codes.reverse();
        for chunk in codes.chunks(2_000) {
            let values: Vec<String> = chunk
                .iter()
                .map(|c| {
                    format!(
                        "('{c}', '2026-10-05', {}, 1, 1, 0)",
                        c.len() * 7 + c.as_bytes()[17] as usize
                    )
                })
                .collect();
            exec(s, &format!("INSERT INTO power_daily (credit_code, day, kwh, revision, run_id, received_at) VALUES {}", values.join(", "))).await;
        }
        let spans = [d("2026-10-01")..=d("2026-10-10")];
        let fast = s.power_days(&spans).await.unwrap();
        assert_eq!(fast.len(), 70_000, "{}", db.name);
        assert_eq!(fast, plain_read(s, &spans).await, "{}", db.name);
        db.cleanup().await;
    }
}
