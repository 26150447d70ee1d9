//! Ingestion end to end: files in the shapes officials send, on SQLite and PostgreSQL.

mod common;

use common::*;
use indmon::ingest::{ImportOptions, import_file};

const NANHU: &str = "913307811860913921";
const BEIGANG: &str = "91330781190937864H";

/// The sample files give the same stored figures on both backends, including the XLSX's
/// 千元 amounts, its 上年同期 columns and its "—" cell, and the revision history they make.
#[tokio::test]
async fn sample_files_store_the_same_figures_on_both_backends() {
    let mut dumps = Vec::new();
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let r = import_ok(s, &[&fixture("submissions_gbk.csv")])
            .await
            .remove(0);
        assert_eq!(
            (r.accepted, r.revised, r.unchanged),
            (12, 0, 0),
            "{}",
            db.name
        );
        assert_eq!(r.encoding, "gb18030");
        assert_eq!(
            value(s, NANHU, "2026-10", "output_ytd").await.as_deref(),
            Some("77673.3")
        );

        let x = import_ok(s, &[&fixture("district_export_2026-10.xlsx")])
            .await
            .remove(0);
        // The XLSX adds the prior-year columns to every row: each is a revision.
        assert_eq!(
            (x.accepted, x.revised, x.unchanged),
            (0, 12, 0),
            "{}",
            db.name
        );
        assert_eq!(
            x.skipped.len(),
            3,
            "totals row and two notes: {:?}",
            x.skipped
        );
        assert!(x.skipped[0].contains("第17行"), "{:?}", x.skipped);
        // "776,733" 千元 typed as text → 77673.3 万元; prior year 895907 千元 → 89590.7 万元.
        assert_eq!(
            value(s, NANHU, "2026-10", "output_ytd").await.as_deref(),
            Some("77673.3")
        );
        assert_eq!(
            value(s, NANHU, "2026-10", "output_ytd_prev")
                .await
                .as_deref(),
            Some("89590.7")
        );
        // "—" means not reported: the electricity of 北港化工 is cleared by this revision...
        assert_eq!(value(s, BEIGANG, "2026-10", "electricity").await, None);

        let j = import_ok(s, &[&fixture("http_page1.json")]).await.remove(0);
        // ...and the JSON page reports it again; the other five rows are as stored.
        assert_eq!(
            (j.accepted, j.revised, j.unchanged),
            (0, 1, 5),
            "{}",
            db.name
        );
        assert_eq!(
            value(s, BEIGANG, "2026-10", "electricity").await.as_deref(),
            Some("468.03")
        );
        // Columns the JSON lacks (the prior-year figures) keep their stored values.
        assert_eq!(
            value(s, NANHU, "2026-10", "output_ytd_prev")
                .await
                .as_deref(),
            Some("89590.7")
        );

        assert_eq!(s.count("submission").await.unwrap(), 12);
        assert_eq!(s.count("submission_history").await.unwrap(), 13);
        dumps.push((db.name, dump(s).await));
        db.cleanup().await;
    }
    for (name, d) in &dumps[1..] {
        assert_eq!(d, &dumps[0].1, "{name} differs from sqlite");
    }
}

#[tokio::test]
async fn reimporting_an_identical_file_changes_nothing_and_says_so() {
    for db in TestDb::all().await {
        registry(&db.store).await;
        import_ok(&db.store, &[&fixture("submissions_gbk.csv")]).await;
        let again = import_ok(&db.store, &[&fixture("submissions_gbk.csv")])
            .await
            .remove(0);
        assert_eq!((again.accepted, again.revised, again.unchanged), (0, 0, 12));
        assert!(indmon::ingest::summary_line(&again).contains("无任何更改"));
        assert_eq!(db.store.count("submission_history").await.unwrap(), 0);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_revised_month_keeps_the_earlier_figures() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = write(
        &dir,
        "v1.csv",
        format!(
            "credit_code,period,output,output_ytd\n{NANHU},2026-09,8000,69315.4\n{NANHU},2026-10,8357.9,77673.3\n"
        ),
    );
    let v2 = write(
        &dir,
        "v2.csv",
        format!("credit_code,period,output,output_ytd\n{NANHU},2026-09,8100,69415.4\n"),
    );
    for db in TestDb::all().await {
        registry(&db.store).await;
        import_ok(&db.store, &[&v1]).await;
        let r = import_ok(&db.store, &[&v2]).await.remove(0);
        assert_eq!((r.accepted, r.revised, r.unchanged), (0, 1, 0));
        assert_eq!(
            value(&db.store, NANHU, "2026-09", "output")
                .await
                .as_deref(),
            Some("8100")
        );
        let hist = dump(&db.store).await;
        let old: Vec<&String> = hist
            .iter()
            .filter(|l| l.starts_with("submission_history"))
            .collect();
        assert_eq!(old.len(), 1);
        assert!(old[0].contains("2026-09 r1 80000000,"), "{old:?}");
        assert!(
            hist.iter()
                .any(|l| l.starts_with("submission ") && l.contains("2026-09 r2 81000000,")),
            "{hist:?}"
        );
        db.cleanup().await;
    }
}

/// Imports `text` as a CSV and asserts it was rejected whole: nothing committed, the reject
/// kept in the database with its run, and its message containing every `expect` fragment.
async fn assert_rejected(name: &str, bytes: impl AsRef<[u8]>, expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, name, bytes);
    for db in TestDb::all().await {
        registry(&db.store).await;
        let before = dump(&db.store).await;
        let r = import_file(&db.store, &path, &opts())
            .await
            .expect("import runs");
        assert!(!r.committed, "{name} on {}: committed", db.name);
        assert!(r.rejected > 0);
        let text: Vec<String> = r.rejects.iter().map(|x| x.to_string()).collect();
        for e in expect {
            assert!(
                text.iter().any(|t| t.contains(e)),
                "{name} on {}: {e:?} not in {text:?}",
                db.name
            );
        }
        assert_eq!(dump(&db.store).await, before, "{name}: nothing may change");
        let kept = db.store.rejects(r.run_id).await.unwrap();
        assert_eq!(kept, r.rejects, "rejects are kept with run {}", r.run_id);
        db.cleanup().await;
    }
}

const HEAD: &str = "credit_code,period,output,output_ytd,electricity\n";
const GOOD: &str = "9133078152601815XT,2026-10,6646.1,59346.0,1027.11\n";

#[tokio::test]
async fn invalid_credit_code_is_rejected_with_its_line_and_nothing_committed() {
    assert_rejected(
        "bad_code.csv",
        format!("{HEAD}{GOOD}9133078152601815XU,2026-10,1,1,1\n"),
        &["第3行", "列A", "校验位", "expected T"],
    )
    .await;
}

#[tokio::test]
async fn unknown_enterprise_is_rejected() {
    let unknown = indmon::credit_code::CreditCode::with_check("91330781MA2ABCDE1").unwrap();
    assert_rejected(
        "unknown.csv",
        format!("{HEAD}{GOOD}{unknown},2026-10,1,1,1\n"),
        &["第3行", "企业不在名录中", unknown.as_str()],
    )
    .await;
}

#[tokio::test]
async fn duplicated_rows_within_a_file_are_rejected() {
    assert_rejected(
        "dup.csv",
        format!("{HEAD}{GOOD}{GOOD}"),
        &["第3行", "与第2行重复"],
    )
    .await;
}

#[tokio::test]
async fn negative_and_non_numeric_values_are_rejected() {
    assert_rejected(
        "values.csv",
        format!("{HEAD}9133078152601815XT,2026-10,-5,59346.0,1027.11\n913307811860913921,2026-10,8357.9,abc,515.23\n"),
        &["第2行 列C output [output] 值“-5”：不能为负数", "第3行 列D output_ytd [output_ytd] 值“abc”", "不是数字"],
    )
    .await;
}

#[tokio::test]
async fn periods_in_the_future_are_rejected() {
    // "now" is 2026-11-22: November has not ended.
    assert_rejected(
        "future.csv",
        format!("{HEAD}9133078152601815XT,2026-11,1,1,1\n"),
        &["2026-11", "报告期尚未结束"],
    )
    .await;
    assert_rejected(
        "badperiod.csv",
        format!("{HEAD}9133078152601815XT,2026-13,1,1,1\n"),
        &["报告期“2026-13”无效"],
    )
    .await;
}

#[tokio::test]
async fn a_truncated_csv_is_rejected() {
    let whole = format!("{HEAD}{GOOD}913307811860913921,2026-10,8357.9,77673.3,515.23\n");
    let cut = &whole[..whole.len() - 12];
    assert_rejected("cut.csv", cut, &["第3行", "可能被截断"]).await;
}

#[tokio::test]
async fn a_truncated_xlsx_is_rejected() {
    let bytes = std::fs::read(fixture("district_export_2026-10.xlsx")).unwrap();
    assert_rejected("cut.xlsx", &bytes[..bytes.len() / 2], &["无法打开 XLSX"]).await;
}

#[tokio::test]
async fn a_file_in_an_unreadable_encoding_is_rejected() {
    // UTF-16 without BOM, and bytes that are neither UTF-8 nor GB18030.
    let mut junk = HEAD.as_bytes().to_vec();
    junk.extend_from_slice(&[0x80, 0xff, 0xfe, 0x81, 0x30, b'\n']);
    assert_rejected("junk.csv", junk, &["第2行", "编码无法识别"]).await;
    // A Big5 or Latin-1 file whose header cannot be read names the likely cause.
    let (latin1, _, _) = encoding_rs::WINDOWS_1252.encode("crédit,période\nx,y\n");
    assert_rejected("latin1.csv", latin1.into_owned(), &["表头"]).await;
}

#[tokio::test]
async fn a_gbk_file_with_a_bad_row_commits_nothing_unless_partial() {
    let text = format!(
        "统一社会信用代码,报告期,工业总产值(本月)\n{NANHU},2026-10,8357.9\n9133078152601815XT,2026-10,一千\n"
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "gbk.csv", &gbk);
    for db in TestDb::all().await {
        registry(&db.store).await;
        let all_or_nothing = import_file(&db.store, &path, &opts()).await.unwrap();
        assert!(!all_or_nothing.committed);
        assert_eq!(db.store.count("submission").await.unwrap(), 0);
        let partial = ImportOptions {
            partial: true,
            ..opts()
        };
        let r = import_file(&db.store, &path, &partial).await.unwrap();
        assert!(r.committed);
        assert_eq!((r.accepted, r.rejected), (1, 1));
        assert!(
            r.rejects[0].to_string().contains("值“一千”"),
            "{:?}",
            r.rejects
        );
        assert_eq!(
            value(&db.store, NANHU, "2026-10", "output")
                .await
                .as_deref(),
            Some("8357.9")
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn registry_rows_must_refer_to_known_units_and_industrial_codes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        &dir,
        "ent.csv",
        "credit_code,name,unit_code,zone_code,industry_code,scale\n\
         9133078152601815XT,东岭精密,330781,,C3411,above\n\
         913307811860913921,南湖纺织,999999,,C1711,above\n\
         91330781462819483E,西山建材,330781,330782,C3021,above\n\
         91330781190937864H,北港化工,330781,,5111,规上\n",
    );
    for db in TestDb::all().await {
        import_ok(&db.store, &[&fixture("units.csv")]).await;
        let r = import_file(&db.store, &path, &opts()).await.unwrap();
        let text: Vec<String> = r.rejects.iter().map(|x| x.to_string()).collect();
        assert_eq!(r.rejected, 3, "{text:?}");
        assert!(
            text[0].contains("第3行") && text[0].contains("单位“999999”不存在"),
            "{text:?}"
        );
        assert!(
            text[1].contains("第4行") && text[1].contains("应为zone"),
            "{text:?}"
        );
        assert!(
            text[2].contains("第5行") && text[2].contains("不属于工业"),
            "{text:?}"
        );
        assert_eq!(db.store.count("enterprise").await.unwrap(), 0);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_enterprise_moving_district_is_logged_as_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let moved = std::fs::read_to_string(fixture("enterprises.csv"))
        .unwrap()
        .replacen(",330781,ZK01,", ",330782,ZK01,", 1);
    let path = write(&dir, "moved.csv", moved);
    for db in TestDb::all().await {
        registry(&db.store).await;
        let r = import_ok(&db.store, &[&path]).await.remove(0);
        assert_eq!((r.accepted, r.revised, r.unchanged), (0, 1, 11));
        let e = db.store.enterprises().await.unwrap();
        assert_eq!(
            e.iter()
                .find(|e| e.credit_code.as_str() == "9133078152601815XT")
                .unwrap()
                .unit_code,
            "330782"
        );
        // units 4 + enterprises 12 + the move
        assert_eq!(db.store.count("registry_change").await.unwrap(), 17);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn targets_and_unit_indicators_import() {
    let dir = tempfile::tempdir().unwrap();
    let targets = write(
        &dir,
        "targets.csv",
        "year,unit_code,indicator,kind,annual,milestones\n2026,3307,value_added_growth,growth,7.0,03:8.0;06:7.5;m10:7.5\n2026,330781,output,volume,1200000,\n",
    );
    let figures = write(
        &dir,
        "ui.csv",
        "unit_code,period,indicator,value\n3307,2026-10,value_added_growth,5.8\n330781,2026-10,investment,\"12,345.6\"\n",
    );
    let bad = write(
        &dir,
        "bad_targets.csv",
        "year,unit_code,indicator,kind,annual,milestones\n2026,3307,value_added_growht,growth,7.0,\n",
    );
    for db in TestDb::all().await {
        import_ok(&db.store, &[&fixture("units.csv"), &targets, &figures]).await;
        let t = db.store.targets().await.unwrap();
        assert_eq!(t.len(), 2);
        let city = t.iter().find(|t| t.unit_code == "3307").unwrap();
        assert_eq!(city.milestones.len(), 3);
        assert!(city.milestones[2].monthly);
        assert_eq!(db.store.count("unit_indicator").await.unwrap(), 2);
        let r = import_file(&db.store, &bad, &opts()).await.unwrap();
        assert!(
            r.rejects[0].to_string().contains("未知指标"),
            "{:?}",
            r.rejects
        );
        db.cleanup().await;
    }
}
