//! The enterprise registry's import (企业名录): what it writes to `enterprise`, and what it
//! records in `registry_change` — a new enterprise once with no before, a changed one once with
//! its before and after, an unchanged one not at all — on both backends alike.

mod common;

use chrono::Duration;
use common::{TestDb, fixture, import_ok, now, write};
use indmon::ingest::{ImportOptions, import_file};
use indmon::store::{BUFFER_LIMIT, Store};

const HEADER: &str = "credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n";

/// A registry change as stored: entity, key, before, after, run, time.
type Change = (String, String, Option<String>, String, i64, i64);

async fn changes(store: &Store) -> Vec<Change> {
    let sql = "SELECT entity, entity_key, before_json, after_json, run_id, changed_at FROM registry_change WHERE entity = 'enterprise' ORDER BY id";
    match store {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

/// `(credit_code, updated_at)` of every stored enterprise, by code.
async fn updated(store: &Store) -> Vec<(String, i64)> {
    let sql = "SELECT credit_code, updated_at FROM enterprise ORDER BY credit_code";
    match store {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await.unwrap(),
    }
}

fn at(hours: i64) -> ImportOptions {
    ImportOptions::new(now() + Duration::hours(hours))
}

const XT: &str = r#"{"credit_code":"9133078152601815XT","name":"东岭精密机械有限公司","unit_code":"330781","zone_code":"ZK01","industry_code":"C3411","scale":"above","key":true,"owner":"leader00"}"#;
const XT_MOVED: &str = r#"{"credit_code":"9133078152601815XT","name":"东岭精密机械有限公司","unit_code":"330782","zone_code":"ZK01","industry_code":"C3411","scale":"above","key":true,"owner":"leader00"}"#;
const Q21: &str = r#"{"credit_code":"913307811860913921","name":"南湖\"纺织\"\\股份","unit_code":"330781","zone_code":null,"industry_code":"C1711","scale":"below","key":false,"owner":null}"#;
const Q21_OWNED: &str = r#"{"credit_code":"913307811860913921","name":"南湖\"纺织\"\\股份","unit_code":"330781","zone_code":null,"industry_code":"C1711","scale":"below","key":true,"owner":"leader01"}"#;
const E3E: &str = r#"{"credit_code":"91330781462819483E","name":"西山建材有限公司","unit_code":"330782","zone_code":null,"industry_code":"C3021","scale":"above","key":true,"owner":"leader02"}"#;
const H4H: &str = r#"{"credit_code":"91330781190937864H","name":"北港化工有限公司","unit_code":"330781","zone_code":"ZK01","industry_code":null,"scale":"above","key":false,"owner":"leader03"}"#;
const M8M: &str = r#"{"credit_code":"91330781319487578M","name":"中泰食品有限公司","unit_code":"330781","zone_code":null,"industry_code":"C1391","scale":"above","key":false,"owner":"leader00"}"#;

/// Each backend's database twice: for the default batches, and for batches of one enterprise.
async fn batch_limits() -> Vec<(usize, TestDb)> {
    let mut all = Vec::new();
    for limit in [BUFFER_LIMIT, 1] {
        all.extend(TestDb::all().await.into_iter().map(|db| (limit, db)));
    }
    all
}

#[tokio::test]
async fn new_and_changed_enterprises_are_recorded_once_and_unchanged_ones_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let first = write(
        &dir,
        "first.csv",
        format!(
            "{HEADER}9133078152601815XT,东岭精密机械有限公司,330781,ZK01,C3411,above,是,leader00\n\
             913307811860913921,\"南湖\"\"纺织\"\"\\股份\",330781,,C1711,规下,否,\n\
             91330781462819483E,西山建材有限公司,330782,,C3021,above,是,leader02\n\
             91330781190937864H,北港化工有限公司,330781,ZK01,,above,否,leader03\n"
        ),
    );
    // Another order; one unchanged first, one moved, one new, one given an owner and the key
    // flag, one unchanged last.
    let second = write(
        &dir,
        "second.csv",
        format!(
            "{HEADER}91330781190937864H,北港化工有限公司,330781,ZK01,,above,否,leader03\n\
             9133078152601815XT,东岭精密机械有限公司,330782,ZK01,C3411,above,是,leader00\n\
             91330781319487578M,中泰食品有限公司,330781,,C1391,above,否,leader00\n\
             913307811860913921,\"南湖\"\"纺织\"\"\\股份\",330781,,C1711,规下,是,leader01\n\
             91330781462819483E,西山建材有限公司,330782,,C3021,above,是,leader02\n"
        ),
    );
    let (t1, t2) = (at(0).now.timestamp_millis(), at(1).now.timestamp_millis());
    // Written as one batch, and one enterprise a batch: the same rows and changes.
    for (limit, db) in batch_limits().await {
        let at = |hours| ImportOptions {
            buffer_limit: limit,
            ..at(hours)
        };
        let s = &db.store;
        import_ok(s, &[&fixture("units.csv")]).await;
        let r1 = import_file(s, &first, &at(0)).await.unwrap();
        assert!(r1.committed && r1.rejected == 0, "{:?}", r1.rejects);
        assert_eq!((r1.accepted, r1.revised, r1.unchanged), (4, 0, 0));
        let run1 = r1.run_id;
        let change = |key: &str, before: Option<&str>, after: &str, run: i64, t: i64| {
            let before = before.map(String::from);
            (
                "enterprise".to_string(),
                key.to_string(),
                before,
                after.to_string(),
                run,
                t,
            )
        };
        let mut want = vec![
            change("9133078152601815XT", None, XT, run1, t1),
            change("913307811860913921", None, Q21, run1, t1),
            change("91330781462819483E", None, E3E, run1, t1),
            change("91330781190937864H", None, H4H, run1, t1),
        ];
        assert_eq!(
            changes(s).await,
            want,
            "{} {limit}: new enterprises",
            db.name
        );

        let r2 = import_file(s, &second, &at(1)).await.unwrap();
        assert!(r2.committed && r2.rejected == 0, "{:?}", r2.rejects);
        assert_eq!(
            (r2.accepted, r2.revised, r2.unchanged),
            (1, 2, 2),
            "{}",
            db.name
        );
        let run2 = r2.run_id;
        want.extend([
            change("9133078152601815XT", Some(XT), XT_MOVED, run2, t2),
            change("91330781319487578M", None, M8M, run2, t2),
            change("913307811860913921", Some(Q21), Q21_OWNED, run2, t2),
        ]);
        assert_eq!(
            changes(s).await,
            want,
            "{}: file order, changes only",
            db.name
        );
        assert_eq!(
            updated(s).await,
            vec![
                ("913307811860913921".to_string(), t2),
                ("91330781190937864H".to_string(), t1),
                ("91330781319487578M".to_string(), t2),
                ("91330781462819483E".to_string(), t1),
                ("9133078152601815XT".to_string(), t2),
            ],
            "{}: only what changed is rewritten",
            db.name
        );
        let stored = s.enterprises().await.unwrap();
        let q21 = stored
            .iter()
            .find(|e| e.credit_code.as_str() == "913307811860913921")
            .unwrap();
        assert_eq!(q21.name, "南湖\"纺织\"\\股份");
        assert!(q21.key && q21.zone_code.is_none());
        assert_eq!(q21.owner.as_deref(), Some("leader01"));
        assert_eq!(q21.scale, indmon::registry::Scale::Below);

        let r3 = import_file(s, &second, &at(2)).await.unwrap();
        assert_eq!((r3.accepted, r3.revised, r3.unchanged), (0, 0, 5));
        assert_eq!(changes(s).await, want, "{}: nothing changed", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_registry_with_a_rejected_row_commits_nothing_unless_partial() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "bad.csv",
        format!(
            "{HEADER}9133078152601815XT,东岭精密机械有限公司,330781,ZK01,C3411,above,是,leader00\n\
             913307811860913921,南湖纺织,999999,,C1711,above,否,\n"
        ),
    );
    for db in TestDb::all().await {
        let s = &db.store;
        import_ok(s, &[&fixture("units.csv")]).await;
        let r = import_file(s, &file, &at(0)).await.unwrap();
        assert!(!r.committed && r.rejected == 1);
        assert_eq!(s.count("enterprise").await.unwrap(), 0);
        assert!(changes(s).await.is_empty());
        let mut partial = at(0);
        partial.partial = true;
        let r = import_file(s, &file, &partial).await.unwrap();
        assert!(r.committed && r.rejected == 1);
        assert_eq!((r.accepted, r.revised, r.unchanged), (1, 0, 0));
        assert_eq!(changes(s).await.len(), 1, "{}", db.name);
        assert_eq!(changes(s).await[0].3, XT);
        db.cleanup().await;
    }
}

/// Batches of one: those written before a later row is rejected are rolled back with it, and a
/// credit code given again batches later is a duplicate of its first line.
#[tokio::test]
async fn earlier_batches_are_rolled_back_with_a_later_reject() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "dup.csv",
        format!(
            "{HEADER}9133078152601815XT,东岭精密机械有限公司,330781,ZK01,C3411,above,是,leader00\n\
             913307811860913921,\"南湖\"\"纺织\"\"\\股份\",330781,,C1711,规下,否,\n\
             91330781462819483E,西山建材有限公司,330782,,C3021,above,是,leader02\n\
             9133078152601815XT,东岭精密机械,330782,,C3411,above,是,leader00\n"
        ),
    );
    let one = |partial| ImportOptions {
        buffer_limit: 1,
        partial,
        ..at(0)
    };
    for db in TestDb::all().await {
        let s = &db.store;
        import_ok(s, &[&fixture("units.csv")]).await;
        let r = import_file(s, &file, &one(false)).await.unwrap();
        assert!(
            !r.committed && r.rejected == 1,
            "{}: {:?}",
            db.name,
            r.rejects
        );
        assert_eq!(r.rejects[0].line, 5);
        assert!(
            r.rejects[0].reason.contains("duplicate of line 2"),
            "{}",
            r.rejects[0].reason
        );
        assert_eq!(s.count("enterprise").await.unwrap(), 0, "{}", db.name);
        assert!(changes(s).await.is_empty());
        let r = import_file(s, &file, &one(true)).await.unwrap();
        assert!(r.committed && r.rejected == 1);
        assert_eq!((r.accepted, r.revised, r.unchanged), (3, 0, 0));
        let keys: Vec<String> = changes(s).await.into_iter().map(|c| c.1).collect();
        assert_eq!(
            keys,
            [
                "9133078152601815XT",
                "913307811860913921",
                "91330781462819483E"
            ]
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_registry_past_its_enterprise_limit_is_refused_whole_even_partial() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        &dir,
        "many.csv",
        format!(
            "{HEADER}9133078152601815XT,东岭精密机械有限公司,330781,ZK01,C3411,above,是,leader00\n\
             913307811860913921,南湖纺织股份有限公司,330781,,C1711,above,否,\n\
             91330781462819483E,西山建材有限公司,330782,,C3021,above,是,leader02\n"
        ),
    );
    let limited = |max_enterprises, partial| ImportOptions {
        max_enterprises,
        partial,
        buffer_limit: 1,
        ..at(0)
    };
    for db in TestDb::all().await {
        let s = &db.store;
        import_ok(s, &[&fixture("units.csv")]).await;
        let r = import_file(s, &file, &limited(2, true)).await.unwrap();
        assert!(!r.committed, "{}", db.name);
        assert_eq!(r.rejects.len(), 1, "{:?}", r.rejects);
        assert_eq!(r.rejects[0].line, 4);
        assert!(
            r.rejects[0].reason.contains("上限"),
            "{}",
            r.rejects[0].reason
        );
        assert_eq!(s.count("enterprise").await.unwrap(), 0, "{}", db.name);
        assert!(changes(s).await.is_empty());
        let r = import_file(s, &file, &limited(3, false)).await.unwrap();
        assert!(r.committed && r.accepted == 3, "{:?}", r.rejects);
        db.cleanup().await;
    }
}
