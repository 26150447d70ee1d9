//! XLSX workbooks as other tools and hostile senders make them, imported end to end on SQLite
//! and PostgreSQL: a formula saved without its result never erases a figure, and no workbook
//! can make the reader allocate by what it declares.

mod common;

use common::xlsx::{row, workbook};
use common::*;
use indmon::ingest::import_file;

const CODE: &str = "9133078152601815XT";

/// A CSV storing `output` 6646.1 for [`CODE`] in 2026-10.
const STORED: &str = "credit_code,period,output\n9133078152601815XT,2026-10,6646.1\n";

/// A submissions workbook whose row 2 has `output` written as the cell XML `output`.
fn output_as(output: &str) -> Vec<u8> {
    let rows = row(1, &[("t", "credit_code"), ("t", "period"), ("t", "output")])
        + &row(2, &[("t", CODE), ("t", "2026-10"), ("x", output)]);
    workbook(&rows, &[])
}

/// Imports `bytes` and asserts it was rejected whole, each `expect` in some reject, nothing
/// changed and the rejects kept with the run.
async fn assert_rejected(name: &str, bytes: &[u8], expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, name, bytes);
    for db in TestDb::all().await {
        registry(&db.store).await;
        let before = dump(&db.store).await;
        let r = import_file(&db.store, &path, &opts())
            .await
            .expect("import runs");
        assert!(!r.committed && r.rejected > 0, "{name} on {}", db.name);
        let text: Vec<String> = r.rejects.iter().map(|x| x.to_string()).collect();
        for e in expect {
            assert!(
                text.iter().any(|t| t.contains(e)),
                "{name} on {}: {e:?} not in the first rejects {:?}",
                db.name,
                &text[..text.len().min(3)]
            );
        }
        assert_eq!(dump(&db.store).await, before, "{name}: nothing may change");
        let kept = db.store.rejects(r.run_id).await.unwrap();
        assert_eq!(kept, r.rejects, "rejects are kept with run {}", r.run_id);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_formula_without_its_result_is_rejected_and_the_stored_figure_kept() {
    let dir = tempfile::tempdir().unwrap();
    let stored = write(&dir, "stored.csv", STORED);
    // As openpyxl saves `=50+50`: the formula, no cached value.
    let book = write(&dir, "openpyxl.xlsx", output_as("<f>50+50</f>"));
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        import_ok(s, &[&stored]).await;
        let r = import_file(s, &book, &opts()).await.unwrap();
        assert!(!r.committed, "{}", db.name);
        assert_eq!(r.rejected, 1, "{:?}", r.rejects);
        let x = &r.rejects[0];
        assert_eq!(
            (x.line, x.field.as_str(), x.value.as_str()),
            (2, "output", "=50+50")
        );
        assert!(x.column.starts_with("C "), "{x}");
        assert!(x.reason.contains("公式没有计算结果"), "{x}");
        assert_eq!(
            value(s, CODE, "2026-10", "output").await.as_deref(),
            Some("6646.1"),
            "{}: the stored figure is not erased",
            db.name
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_formula_with_its_result_gives_the_result() {
    let dir = tempfile::tempdir().unwrap();
    let stored = write(&dir, "stored.csv", STORED);
    let book = write(&dir, "excel.xlsx", output_as("<f>50+50</f><v>100</v>"));
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        import_ok(s, &[&stored]).await;
        let r = import_ok(s, &[&book]).await.remove(0);
        assert_eq!(r.revised, 1, "{}", db.name);
        assert_eq!(
            value(s, CODE, "2026-10", "output").await.as_deref(),
            Some("100")
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_formula_in_a_column_indmon_does_not_read_rejects_nothing() {
    // A growth-rate column computed by formula, saved without results: not read, not blank;
    // a row holding only such a cell is a blank row; a totals row's sums are not read either.
    let head = [
        ("t", "credit_code"),
        ("t", "period"),
        ("t", "output"),
        ("t", "增速"),
    ];
    let rows = row(1, &head)
        + &row(
            2,
            &[
                ("t", CODE),
                ("t", "2026-10"),
                ("x", "<v>7</v>"),
                ("x", "<f>C2/100</f>"),
            ],
        )
        + &row(
            3,
            &[("x", ""), ("x", ""), ("x", ""), ("x", "<f>C3/100</f>")],
        )
        + &row(4, &[("t", "合计"), ("x", ""), ("x", "<f>SUM(C2:C2)</f>")]);
    let dir = tempfile::tempdir().unwrap();
    let book = write(&dir, "growth.xlsx", workbook(&rows, &[]));
    for db in TestDb::all().await {
        registry(&db.store).await;
        let r = import_ok(&db.store, &[&book]).await.remove(0);
        assert_eq!(r.accepted, 1, "{}", db.name);
        assert_eq!(r.skipped, ["第4行 合计行 (totals row)"], "{}", db.name);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_workbook_whose_only_far_cell_is_xfd1048576_is_rejected() {
    let rows = row(1, &[("t", "credit_code"), ("t", "period"), ("t", "output")])
        + r#"<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>"#;
    let bytes = workbook(&rows, &[]);
    assert!(bytes.len() < 5_000);
    assert_rejected(
        "far.xlsx",
        &bytes,
        &["第1048576行", "XFD1048576", "max_columns"],
    )
    .await;
}

#[tokio::test]
async fn a_workbook_over_the_cell_limit_is_rejected() {
    // A header, then rows of ten cells: the 2,000,001st cell is H200001.
    let mut rows = row(1, &[("t", "credit_code"), ("t", "period"), ("t", "output")]);
    rows.reserve(34 << 20);
    for r in 2..=200_001 {
        rows += &format!(r#"<row r="{r}">"#);
        for _ in 0..10 {
            rows += "<c><v>1</v></c>";
        }
        rows += "</row>";
    }
    let bytes = workbook(&rows, &[]);
    assert_rejected(
        "cells.xlsx",
        &bytes,
        &["第200001行", "H200001", "2000000", "max_cells"],
    )
    .await;
}

#[tokio::test]
async fn a_shared_string_over_the_cell_limit_is_rejected() {
    let long = "x".repeat((1 << 20) + 1);
    let rows = row(1, &[("t", "credit_code"), ("t", "period"), ("t", "output")])
        + r#"<row r="2"><c r="A2" t="s"><v>0</v></c></row>"#;
    let bytes = workbook(&rows, &[&long]);
    assert_rejected(
        "string.xlsx",
        &bytes,
        &["第2行", "A2", "1024 KiB", "max_cell_kib"],
    )
    .await;
}

#[tokio::test]
async fn a_workbook_part_over_the_entry_limit_is_rejected() {
    // 65 MiB of blanks in the sheet: a few hundred KB compressed, over the default 64 MiB.
    let rows =
        row(1, &[("t", "credit_code"), ("t", "period"), ("t", "output")]) + &" ".repeat(65 << 20);
    let bytes = workbook(&rows, &[]);
    assert!(bytes.len() < 1 << 20);
    assert_rejected(
        "entry.xlsx",
        &bytes,
        &["xl/worksheets/sheet1.xml", "64 MiB", "max_entry_mib"],
    )
    .await;
}
