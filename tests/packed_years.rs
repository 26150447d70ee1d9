//! `submission_year` (the evaluation's packed read model) stays equal to a packing of the
//! stored months through imports, revisions, partial columns and identical re-imports, on both
//! backends; and `migrate` builds it for a database that holds submissions from before it.

mod common;

use std::collections::BTreeMap;

use common::{TestDb, import_ok, registry, write};
use indmon::store::Store;
use indmon::store::packed::{self, Month, N_FIELDS};

const DONGLING: &str = "9133078152601815XT";
const NANHU: &str = "913307811860913921";
const XISHAN: &str = "91330781462819483E";

type Years = BTreeMap<(String, i32), Vec<(u32, Month)>>;

/// What `submission_year` holds, decoded.
async fn packed_years(store: &Store) -> Years {
    let sql = "SELECT credit_code, year, months FROM submission_year";
    let rows: Vec<(String, i32, Vec<u8>)> = match store {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    };
    let mut out = Years::new();
    for (code, year, pack) in rows {
        let mut months = Vec::new();
        packed::decode(&pack, |m, f| months.push((m, *f))).unwrap();
        assert!(!months.is_empty(), "an empty pack for {code} {year}");
        assert!(out.insert((code, year), months).is_none());
    }
    out
}

/// What `submission_year` should hold: the stored months, grouped by enterprise and year.
async fn expected_years(store: &Store) -> Years {
    let sql = format!(
        "SELECT credit_code, period, {} FROM submission ORDER BY credit_code, period",
        (0..N_FIELDS)
            .map(|k| format!("CAST({} AS BIGINT)", packed::field_name(k)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut out = Years::new();
    macro_rules! collect {
        ($p:expr) => {{
            use sqlx::Row;
            for r in sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .fetch_all($p)
                .await
                .unwrap()
            {
                let code: String = r.get(0);
                let period: String = r.get(1);
                let mut f: Month = [None; N_FIELDS];
                for (k, v) in f.iter_mut().enumerate() {
                    *v = r.get::<Option<i64>, _>(k + 2);
                }
                let year: i32 = period[..4].parse().unwrap();
                let month: u32 = period[5..].parse().unwrap();
                out.entry((code, year)).or_default().push((month, f));
            }
        }};
    }
    match store {
        Store::Sqlite(p) => collect!(p),
        Store::Postgres(p) => collect!(p),
    }
    out
}

async fn assert_in_step(store: &Store, after: &str) {
    let (got, want) = (packed_years(store).await, expected_years(store).await);
    assert!(!want.is_empty());
    assert_eq!(got, want, "{after}");
}

#[tokio::test]
async fn packed_years_follow_every_import_and_are_built_for_older_databases() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        &dir,
        "first.csv",
        format!(
            "credit_code,period,output,output_ytd,output_prev,electricity,revenue_ytd\n\
             {NANHU},2025-11,7000,70000,6500,120,80000\n\
             {NANHU},2025-12,7100,77100,,121,88000\n\
             {NANHU},2026-01,3000,3000,2900,50,3500\n\
             {NANHU},2026-02,3100,6100,3000,51,7000\n\
             {DONGLING},2026-01,0,0,100,0,0\n\
             {DONGLING},2026-02,10.5,10.5,,,\n\
             {XISHAN},2025-12,—,900,800,,\n"
        ),
    );
    // A revision of one month carrying only some columns (the others keep their figures), a
    // new month, and a month given again unchanged.
    let second = write(
        &dir,
        "second.csv",
        format!(
            "credit_code,period,output\n\
             {NANHU},2026-01,3050\n\
             {XISHAN},2026-01,95\n\
             {DONGLING},2026-02,10.5\n"
        ),
    );
    for db in TestDb::all().await {
        registry(&db.store).await;
        import_ok(&db.store, &[&common::fixture("submissions_gbk.csv")]).await;
        assert_in_step(&db.store, "after the sample file").await;
        import_ok(&db.store, &[&first]).await;
        assert_in_step(&db.store, "after a file over two years").await;
        let r = import_ok(&db.store, &[&second]).await.remove(0);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (1, 1, 1),
            "{}",
            db.name
        );
        assert_in_step(&db.store, "after a revision with fewer columns").await;
        let nanhu_2026 = packed_years(&db.store).await[&(NANHU.to_string(), 2026)].clone();
        assert_eq!(nanhu_2026[0].0, 1);
        assert_eq!(nanhu_2026[0].1[0], Some(30_500_000), "the revised output");
        assert_eq!(nanhu_2026[0].1[1], Some(30_000_000), "the ytd kept");
        import_ok(&db.store, &[&second]).await;
        assert_in_step(&db.store, "after an identical re-import").await;

        // A database from before the table: emptied and marked as a migration would leave it.
        let before = packed_years(&db.store).await;
        for sql in [
            "DELETE FROM submission_year",
            "INSERT INTO rebuild_pending (name) VALUES ('submission_year')",
        ] {
            match &db.store {
                Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
                Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()),
            }
            .unwrap();
        }
        db.store.migrate().await.unwrap();
        assert_eq!(packed_years(&db.store).await, before, "{}", db.name);
        let pending: i64 = match &db.store {
            Store::Sqlite(p) => sqlx::query_scalar("SELECT COUNT(*) FROM rebuild_pending")
                .fetch_one(p)
                .await
                .unwrap(),
            Store::Postgres(p) => sqlx::query_scalar("SELECT COUNT(*) FROM rebuild_pending")
                .fetch_one(p)
                .await
                .unwrap(),
        };
        assert_eq!(pending, 0, "the rebuild is done once");
        db.cleanup().await;
    }
}
