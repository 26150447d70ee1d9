//! `power_daily` keyed by day, then enterprise (migration 0030 on both backends): a database
//! whose table is laid out as migration 0020 made it (keyed by enterprise and day, with an index
//! of days; on SQLite a rowid table) keeps every day, its revision and its history through the
//! upgrade, the views read the same, and imports and revisions go on as before.

mod common;

use common::*;
use indmon::store::Store;

const MAPPING: &str = "户号,统一社会信用代码,户名\n3300001,913307811860913921,南湖纺织一厂\n3300003,91330781190937864H,北港化工\n";

/// Every stored day, current and superseded, as text.
const DAYS: &str = "SELECT credit_code || ' ' || day || ' ' || kwh || ' r' || revision || ' ' || run_id || ' ' || received_at FROM power_daily
     UNION ALL SELECT credit_code || ' ' || day || ' ' || kwh || ' r' || revision || ' superseded ' || superseded_by FROM power_daily_history
     ORDER BY 1";
const XUNS: &str = "SELECT credit_code || ' ' || period || ' ' || xun || ' ' || days_present || ' ' || kwh FROM v_power_xun ORDER BY 1";
const MONTHS: &str = "SELECT credit_code || ' ' || period || ' ' || days_present || ' ' || kwh FROM v_power_month ORDER BY 1";

/// `power_daily` and its views as migrations 0020 and 0025 left them, and 0030 not applied.
const BEFORE_0030: &str = "
DROP VIEW v_power_xun;
DROP VIEW v_power_month;
CREATE TABLE power_daily_0020 (
    credit_code TEXT NOT NULL, day TEXT NOT NULL, kwh BIGINT NOT NULL, revision INTEGER NOT NULL,
    run_id BIGINT NOT NULL, received_at BIGINT NOT NULL, PRIMARY KEY (credit_code, day));
INSERT INTO power_daily_0020 SELECT credit_code, day, kwh, revision, run_id, received_at FROM power_daily;
DROP TABLE power_daily;
ALTER TABLE power_daily_0020 RENAME TO power_daily;
CREATE INDEX power_daily_day ON power_daily (day);
CREATE VIEW v_power_xun AS SELECT credit_code, substr(day, 1, 7) AS period,
  CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END AS xun,
  COUNT(*) AS days_present, SUM(kwh) AS kwh, SUM(kwh) / COUNT(*) AS kwh_per_day FROM power_daily
  GROUP BY credit_code, substr(day, 1, 7),
    CASE WHEN substr(day, 9, 2) <= '10' THEN 1 WHEN substr(day, 9, 2) <= '20' THEN 2 ELSE 3 END
  UNION ALL SELECT credit_code, period, xun, days_present, kwh, kwh / days_present FROM power_xun_total;
CREATE VIEW v_power_month AS SELECT credit_code, substr(day, 1, 7) AS period, COUNT(*) AS days_present,
  SUM(kwh) AS kwh FROM power_daily GROUP BY credit_code, substr(day, 1, 7)
  UNION ALL SELECT credit_code, period, SUM(days_present), SUM(kwh) FROM power_xun_total GROUP BY credit_code, period;
DELETE FROM _sqlx_migrations WHERE version = 30;
";

/// … and PostgreSQL's, partitioned by month: the key and the index of days of 0020.
const BEFORE_0030_POSTGRES: &str = "
ALTER TABLE power_daily DROP CONSTRAINT power_daily_pkey;
ALTER TABLE power_daily ADD PRIMARY KEY (credit_code, day);
CREATE INDEX power_daily_day ON power_daily (day);
DELETE FROM _sqlx_migrations WHERE version = 30;
";

/// How `power_daily` is keyed and indexed, as the database describes it.
const LAYOUT_SQLITE: &str = "SELECT sql FROM sqlite_master WHERE tbl_name = 'power_daily' AND sql IS NOT NULL ORDER BY name";
const LAYOUT_POSTGRES: &str =
    "SELECT indexdef FROM pg_indexes WHERE tablename = 'power_daily' ORDER BY indexname";

/// The rows of `sql` as text; PostgreSQL's views are in the schema `indmon_read`.
async fn texts(store: &Store, sql: &str) -> Vec<String> {
    let sql = match store {
        Store::Sqlite(_) => sql.to_string(),
        Store::Postgres(_) => sql.replace(" FROM v_", " FROM indmon_read.v_"),
    };
    let q = sqlx::AssertSqlSafe(sql.as_str());
    match store {
        Store::Sqlite(p) => sqlx::query_scalar(q).fetch_all(p).await,
        Store::Postgres(p) => sqlx::query_scalar(q).fetch_all(p).await,
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn run(store: &Store, sql: &str) {
    let q = sqlx::AssertSqlSafe(sql);
    match store {
        Store::Sqlite(p) => sqlx::raw_sql(q).execute(p).await.map(|_| ()),
        Store::Postgres(p) => sqlx::raw_sql(q).execute(p).await.map(|_| ()),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

fn lines(account: &str, days: std::ops::RangeInclusive<u32>, month: &str, kwh: u32) -> String {
    days.map(|d| format!("{account},{month}-{d:02},{kwh}\n"))
        .collect()
}

#[tokio::test]
async fn a_database_keyed_by_enterprise_keeps_every_day_and_its_history_through_the_upgrade() {
    for db in TestDb::all().await {
        upgrade(&db.store).await;
        db.cleanup().await;
    }
}

async fn upgrade(s: &Store) {
    let postgres = matches!(s, Store::Postgres(_));
    let (before_0030, layout) = if postgres {
        (BEFORE_0030_POSTGRES, LAYOUT_POSTGRES)
    } else {
        (BEFORE_0030, LAYOUT_SQLITE)
    };
    let dir = tempfile::tempdir().unwrap();
    registry(s).await;
    import_ok(s, &[&write(&dir, "accounts.csv", MAPPING)]).await;
    let head = "户号,日期,日用电量(千瓦时)\n";
    let first = format!(
        "{head}{}{}",
        lines("3300001", 1..=31, "2025-10", 1000),
        lines("3300003", 21..=31, "2025-10", 400)
    );
    import_ok(s, &[&write(&dir, "a.csv", first)]).await;
    // Two days delivered again with other figures: their first revisions go to the history.
    let again = format!("{head}3300001,2025-10-02,900\n3300003,2025-10-30,410\n");
    import_ok(s, &[&write(&dir, "b.csv", again)]).await;
    run(s, before_0030).await;
    let before = (
        texts(s, DAYS).await,
        texts(s, XUNS).await,
        texts(s, MONTHS).await,
    );
    assert_eq!(before.0.len(), 31 + 11 + 2);
    let old = texts(s, layout).await.join("\n");
    assert!(
        old.contains("power_daily_day") && !old.contains("WITHOUT ROWID"),
        "{old}"
    );
    assert!(!old.contains("(day, credit_code)"), "{old}");

    s.migrate().await.unwrap();
    let new = texts(s, layout).await.join("\n");
    assert!(!new.contains("power_daily_day"), "{new}");
    if postgres {
        assert_eq!(
            new,
            "CREATE UNIQUE INDEX power_daily_pkey ON ONLY public.power_daily USING btree (day, credit_code)"
        );
    } else {
        assert!(
            new.contains("PRIMARY KEY (day, credit_code)") && new.contains("WITHOUT ROWID"),
            "{new}"
        );
    }
    let after = (
        texts(s, DAYS).await,
        texts(s, XUNS).await,
        texts(s, MONTHS).await,
    );
    assert_eq!(after, before);

    // Imports go on: a revision of an upgraded day, and a new month.
    let next = format!(
        "{head}3300001,2025-10-02,950\n{}",
        lines("3300003", 1..=10, "2025-11", 420)
    );
    import_ok(s, &[&write(&dir, "c.csv", next)]).await;
    let days = texts(s, DAYS).await;
    assert_eq!(days.len(), before.0.len() + 1 + 10);
    let revised: Vec<&String> = days
        .iter()
        .filter(|d| d.starts_with("913307811860913921 2025-10-02 "))
        .collect();
    assert_eq!(revised.len(), 3, "{revised:?}");
    assert!(
        revised.iter().any(|d| d.contains(" 9500000 r3 ")),
        "{revised:?}"
    );
}
