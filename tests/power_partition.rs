//! A power-daily delivery whose months have no partition yet builds each month's partition apart
//! and attaches it (PostgreSQL, `store::power_import::fresh`): the days are those the lines
//! give, summed per enterprise (a file of [`LEAST_LINES`] lines or more); the partition is a partition of `power_daily` like one created
//! empty (its key attached to the parent's, the trigger that unpacks 旬s, no constraint left
//! over); and later deliveries revise it, or add a month next to it, as before. SQLite runs the
//! same deliveries and gives the same days.

mod common;

use common::*;
use indmon::credit_code::CreditCode;
use indmon::store::{LEAST_LINES, Store};

const MAPPING: &str = "户号,统一社会信用代码,户名\n3300001,913307811860913921,南湖纺织一厂\n3300002,913307811860913921,南湖纺织二厂\n3300003,91330781190937864H,北港化工\n";

/// Meters of 南湖纺织 beside its two accounts, 1 kWh a day each from 21 to 30 September: the
/// file reaches the lines from which new months are built apart.
const METERS: u64 = 10_000;

/// Two new months; the enterprise with several accounts is summed.
const FIRST: &str = "户号,日期,用电量\n3300001,2026-09-30,100\n3300002,2026-09-30,50\n3300003,2026-09-30,7\n3300001,2026-10-01,200\n3300003,2026-10-01,8\n";

fn mapping() -> String {
    let mut text = MAPPING.to_string();
    for m in 0..METERS {
        text.push_str(&format!("44{m:05},913307811860913921,南湖纺织{m}号表\n"));
    }
    text
}

fn first() -> String {
    let mut text = FIRST.to_string();
    for d in 21..=30 {
        for m in 0..METERS {
            text.push_str(&format!("44{m:05},2026-09-{d},1\n"));
        }
    }
    const { assert!(METERS * 10 >= LEAST_LINES) };
    text
}
/// October (stored) revised and November new: the partitions are not all new.
const SECOND: &str = "户号,日期,用电量\n3300003,2026-10-01,9\n3300003,2026-11-02,11\n";

async fn days(s: &Store) -> Vec<(String, String, i64, i64)> {
    let sql = "SELECT credit_code, day, kwh, CAST(revision AS BIGINT) FROM power_daily ORDER BY day, credit_code";
    match s {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

fn day(code: &str, day: &str, kwh: i64, revision: i64) -> (String, String, i64, i64) {
    (code.into(), day.into(), kwh * 10_000, revision)
}

#[tokio::test]
async fn a_new_months_partition_is_built_apart_and_is_like_one_made_empty() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        registry(s).await;
        import_ok(s, &[&write(&dir, "accounts.csv", mapping())]).await;
        let r = import_ok(s, &[&write(&dir, "first.csv", first())])
            .await
            .remove(0);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (13, 0, 0),
            "{}",
            db.name
        );
        let (nanhu, beigang) = ("913307811860913921", "91330781190937864H");
        let mut expected: Vec<_> = (21..30)
            .map(|d| day(nanhu, &format!("2026-09-{d}"), 10_000, 1))
            .collect();
        expected.extend([
            day(nanhu, "2026-09-30", 10_150, 1),
            day(beigang, "2026-09-30", 7, 1),
            day(nanhu, "2026-10-01", 200, 1),
            day(beigang, "2026-10-01", 8, 1),
        ]);
        expected.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        assert_eq!(days(s).await, expected, "{}", db.name);
        if let Store::Postgres(p) = s {
            for month in ["power_daily_y2026m09", "power_daily_y2026m10"] {
                assert_partition(p, month).await;
            }
            // The key holds: a day cannot be given twice, even behind indmon's back.
            let dup =
                "INSERT INTO power_daily VALUES ('91330781190937864H', '2026-10-01', 1, 1, 0, 0)";
            assert!(sqlx::query(dup).execute(p).await.is_err());
            // The trigger is there: a change behind indmon's back unpacks the month's 旬s.
            sqlx::query("INSERT INTO power_xun_packed VALUES ('2026-10', 1, 0)")
                .execute(p)
                .await
                .unwrap();
            sqlx::query("UPDATE power_daily SET kwh = kwh WHERE day = '2026-10-01'")
                .execute(p)
                .await
                .unwrap();
            assert_eq!(scalar(s, "SELECT COUNT(*) FROM power_xun_packed").await, 0);
        }
        let r = import_ok(s, &[&write(&dir, "second.csv", SECOND)])
            .await
            .remove(0);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (1, 1, 0),
            "{}",
            db.name
        );
        let revised = day(beigang, "2026-10-01", 9, 2);
        let at = expected
            .iter()
            .position(|d| d.0 == revised.0 && d.1 == revised.1);
        expected[at.unwrap()] = revised;
        expected.push(day(beigang, "2026-11-02", 11, 1));
        assert_eq!(days(s).await, expected, "{}", db.name);
        if let Store::Postgres(p) = s {
            assert_partition(p, "power_daily_y2026m11").await;
        }
        db.cleanup().await;
    }
}

/// A new month from a file in no useful order (each account's days together, the accounts
/// backwards), one account an enterprise (nothing to sum): the partition built apart holds the
/// days in the key's order all the same, so that a day's read stays in few pages.
#[tokio::test]
async fn a_new_month_from_lines_out_of_order_is_stored_in_the_keys_order() {
    const ACCOUNTS: usize = 10_000;
    let code = |i: usize| CreditCode::with_check(&format!("913307{i:011}")).unwrap();
    let mut mapping = "户号,统一社会信用代码\n".to_string();
    let mut lines = "户号,日期,用电量\n".to_string();
    for i in (0..ACCOUNTS).rev() {
        mapping.push_str(&format!("45{i:05},{}\n", code(i)));
        for d in 1..=10 {
            lines.push_str(&format!("45{i:05},2026-08-{d:02},{}\n", i % 7 + d));
        }
    }
    const { assert!(ACCOUNTS as u64 * 10 >= LEAST_LINES) };
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        import_ok(s, &[&write(&dir, "accounts.csv", &mapping)]).await;
        let r = import_ok(s, &[&write(&dir, "december.csv", &lines)])
            .await
            .remove(0);
        assert_eq!(r.accepted, ACCOUNTS as u64 * 10, "{}", db.name);
        let stored = days(s).await;
        let (c, d) = (code(4321).to_string(), "2026-08-07".to_string());
        assert!(
            stored.contains(&(c, d, (4321 % 7 + 7) * 10_000, 1)),
            "{}",
            db.name
        );
        if let Store::Postgres(p) = s {
            assert_partition(p, "power_daily_y2026m08").await;
        }
        db.cleanup().await;
    }
}

/// `name` is a partition of `power_daily` with the parent's columns (types, NOT NULL,
/// collations), the parent's key attached, the unpacking trigger, no CHECK constraint, and its
/// rows stored in the key's order.
async fn assert_partition(p: &sqlx::PgPool, name: &str) {
    let columns = "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull || ' ' || attcollation::regcollation, ', ' ORDER BY attnum)
         FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped";
    let parent: String = about(p, "power_daily", columns).await;
    assert_eq!(about::<String>(p, name, columns).await, parent, "{name}");
    let out_of_order = format!(
        "SELECT COUNT(*) FROM (SELECT day, credit_code, lag(day) OVER w AS d, lag(credit_code) OVER w AS c
         FROM {name} WINDOW w AS (ORDER BY ctid)) t WHERE (d, c) > (day, credit_code)"
    );
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(out_of_order))
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(n, 0, "{name}: rows out of the key's order");
    let parent: String = about(
        p,
        name,
        "SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = $1::regclass",
    )
    .await;
    assert_eq!(parent, "power_daily", "{name}");
    let key: String = about(p, name,
        "SELECT c.relname || ' ' || pg_get_indexdef(c.oid) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
         JOIN pg_inherits i ON i.inhrelid = c.oid
         WHERE x.indrelid = $1::regclass AND x.indisprimary AND i.inhparent = 'power_daily_pkey'::regclass",
    )
    .await;
    assert!(key.starts_with(&format!("{name}_pkey ")), "{key}");
    assert!(key.ends_with("(day, credit_code)"), "{key}");
    let triggers: i64 = about(p, name, "SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = 'power_daily_unpack'").await;
    assert_eq!(triggers, 1, "{name}");
    let checks: i64 = about(
        p,
        name,
        "SELECT COUNT(*) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'",
    )
    .await;
    assert_eq!(checks, 0, "{name}");
}

/// The one value `sql` gives about the table `name` (`$1`).
async fn about<T>(p: &sqlx::PgPool, name: &str, sql: &'static str) -> T
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + Unpin,
{
    sqlx::query_scalar(sql)
        .bind(name)
        .fetch_one(p)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}
