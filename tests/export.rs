//! `indmon export` as an official uses it, on SQLite and PostgreSQL: CSV that Excel opens (BOM,
//! CRLF, exact 万元), XLSX with numbers as numbers, hostile enterprise names that stay names,
//! scope by unit, alerts with their history, and evaluation results equal to `indmon evaluate`.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use calamine::{Data, Reader, Xlsx, open_workbook};
use common::*;
use indmon::credit_code::CreditCode;
use indmon::store::{Store, SubmissionRow};
use serde_json::Value;

fn e(i: u32) -> String {
    CreditCode::with_check(&format!("91330781MA{i:07}"))
        .expect("valid code")
        .to_string()
}

/// Names that a spreadsheet would run as formulas, as an outside registry might send them.
const HOSTILE: [&str; 4] = ["=HYPERLINK(\"http://x\",\"y\")", "+1", "-2", "@SUM(A1)"];

/// 东岭区 (330781) has E1 (also in zone ZK01), E2, E7 and the below-scale E6; 西湖县 (330782)
/// has E3, E4 and E5, which has not reported October. E1..E4 bear hostile names.
fn write_world(dir: &tempfile::TempDir) -> Vec<PathBuf> {
    let mut ent =
        String::from("credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n");
    for (i, name, unit, zone, scale) in [
        (1, HOSTILE[0], "330781", "ZK01", "above"),
        (2, HOSTILE[1], "330781", "", "above"),
        (3, HOSTILE[2], "330782", "", "above"),
        (4, HOSTILE[3], "330782", "", "above"),
        (5, "五号化工有限公司", "330782", "", "above"),
        (6, "六号电子有限公司", "330781", "", "below"),
        (7, "七号食品有限公司", "330781", "", "above"),
    ] {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        writeln!(
            ent,
            "{},{quoted},{unit},{zone},C3411,{scale},否,leader0{i}",
            e(i)
        )
        .unwrap();
    }
    let targets = "year,unit_code,indicator,kind,annual,milestones\n\
        2026,3307,value_added_growth,growth,7.0,\n\
        2026,330781,value_added_growth,growth,7.0,\n\
        2026,330782,value_added_growth,growth,8.0,\n";
    let mut subs = String::from("credit_code,period,output,output_ytd,revenue_ytd,electricity\n");
    let mut row = |i: u32, p: &str, output: &str, extra: &str| {
        writeln!(subs, "{},{p},{output},{extra}", e(i)).unwrap();
    };
    for m in 1..=12 {
        let p = format!("2025-{m:02}");
        for i in [1, 2, 3, 5, 7] {
            row(i, &p, "100", ",,");
        }
    }
    for m in 1..=10 {
        let p = format!("2026-{m:02}");
        row(1, &p, if m == 10 { "0" } else { "110" }, ",,");
        row(2, &p, if m >= 9 { "60" } else { "200" }, ",,");
        row(3, &p, "100", ",,");
        row(4, &p, "50", ",,");
        if m < 10 {
            row(5, &p, "100", ",,");
        }
        row(
            7,
            &p,
            if m == 10 { "150.25" } else { "150" },
            if m == 10 { "1600.0001,,90" } else { ",," },
        );
    }
    row(6, "2026-10", "170", ",1700,");
    vec![
        fixture("units.csv"),
        write(dir, "enterprises.csv", ent),
        write(dir, "targets.csv", targets),
        write(dir, "submissions.csv", subs),
    ]
}

/// Loads the world; returns the run id of the submissions' import.
async fn load_world(store: &Store, dir: &tempfile::TempDir) -> i64 {
    let files = write_world(dir);
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let reports = import_ok(store, &refs).await;
    reports.last().expect("four files").run_id
}

/// Runs the binary on the test's database; returns (exit code, stdout bytes, stderr).
fn indmon(db: &TestDb, dir: &Path, args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir)
        .env_remove("INDMON_DATABASE_URL")
        .env("INDMON_NOW", "2026-11-22T02:00:00Z")
        .args(["--database", &db.url])
        .args(args)
        .output()
        .expect("run indmon");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn export_ok(db: &TestDb, dir: &Path, args: &[&str]) -> Vec<u8> {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    let (code, out, err) = indmon(db, dir, &all);
    assert_eq!(code, 0, "{args:?}: {err}");
    out
}

/// A CSV's records, the BOM checked and removed.
fn records(bytes: &[u8]) -> Vec<Vec<String>> {
    let body = bytes
        .strip_prefix("\u{feff}".as_bytes())
        .unwrap_or_else(|| {
            panic!(
                "no BOM: {:?}",
                String::from_utf8_lossy(&bytes[..20.min(bytes.len())])
            )
        });
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(body)
        .records()
        .map(|r| r.expect("csv record").iter().map(String::from).collect())
        .collect()
}

/// The English code names of a header row: `企业名称 (name)` → `name`.
fn codes(header: &[String]) -> Vec<String> {
    header
        .iter()
        .map(|h| {
            let open = h.rfind(" (").unwrap_or_else(|| panic!("heading {h}"));
            h[open + 2..h.len() - 1].to_string()
        })
        .collect()
}

/// Rows as maps from code name to cell.
fn by_code(recs: &[Vec<String>]) -> Vec<BTreeMap<String, String>> {
    let head = codes(&recs[0]);
    recs[1..]
        .iter()
        .map(|r| head.iter().cloned().zip(r.iter().cloned()).collect())
        .collect()
}

#[tokio::test]
async fn submissions_csv_has_a_bom_crlf_and_exact_values() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let run = load_world(&db.store, &dir).await;
        export_ok(&db, dir.path(), &["submissions", "--period", "2026-10"]);
        let bytes = std::fs::read(dir.path().join("submissions_2026-10.csv")).unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "{}", db.name);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("\r\n") && !text.replace("\r\n", "").contains('\n'));
        let recs = records(&bytes);
        assert_eq!(
            recs[0][..3],
            [
                "报告期 (period)",
                "统一社会信用代码 (credit_code)",
                "企业名称 (name)"
            ]
        );
        assert!(recs[0].contains(&"工业总产值·本月（万元） (output)".to_string()));
        assert!(
            recs[0]
                .contains(&"工业总产值·上年同期1-本月累计（万元） (output_ytd_prev)".to_string())
        );
        let rows = by_code(&recs);
        // Every October report, E5 has none.
        let mut got: Vec<&str> = rows.iter().map(|r| r["credit_code"].as_str()).collect();
        got.sort();
        let mut want: Vec<String> = [1, 2, 3, 4, 6, 7].map(e).to_vec();
        want.sort();
        assert_eq!(got, want, "{}", db.name);
        let e7 = rows.iter().find(|r| r["credit_code"] == e(7)).unwrap();
        let expect = [
            ("period", "2026-10"),
            ("name", "七号食品有限公司"),
            ("unit_code", "330781"),
            ("unit_name", "东岭区"),
            ("zone_code", ""),
            ("output", "150.25"),
            ("output_ytd", "1600.0001"),
            ("revenue_ytd", ""),
            ("electricity", "90"),
            ("output_prev", ""),
            ("revision", "1"),
            ("received_at", "2026-11-22 10:00:00"),
        ];
        for (k, v) in expect {
            assert_eq!(e7[k], v, "{} {k}", db.name);
        }
        assert_eq!(e7["run_id"], run.to_string());
        let e1 = rows.iter().find(|r| r["credit_code"] == e(1)).unwrap();
        assert_eq!(
            (e1["zone_code"].as_str(), e1["zone_name"].as_str()),
            ("ZK01", "示例经济开发区")
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn hostile_names_are_neutralised_in_csv_and_string_cells_in_xlsx() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        load_world(&db.store, &dir).await;
        let csv = export_ok(
            &db,
            dir.path(),
            &["submissions", "--period", "2026-10", "-o", "-"],
        );
        let rows = by_code(&records(&csv));
        for (i, name) in HOSTILE.iter().enumerate() {
            let r = rows
                .iter()
                .find(|r| r["credit_code"] == e(i as u32 + 1))
                .unwrap();
            assert_eq!(r["name"], format!("'{name}"), "{}", db.name);
        }
        export_ok(
            &db,
            dir.path(),
            &["submissions", "--period", "2026-10", "--format", "xlsx"],
        );
        let path = dir.path().join("submissions_2026-10.xlsx");
        let mut book: Xlsx<_> = open_workbook(&path).expect("workbook opens");
        let sheet = book.worksheet_range("企业月报").expect("sheet");
        let rows: Vec<&[Data]> = sheet.rows().collect();
        let head: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
        let col = |code: &str| codes(&head).iter().position(|c| c == code).unwrap();
        for (i, name) in HOSTILE.iter().enumerate() {
            let r = rows
                .iter()
                .find(|r| r[col("credit_code")] == Data::String(e(i as u32 + 1)))
                .unwrap();
            assert_eq!(
                r[col("name")],
                Data::String(name.to_string()),
                "{}",
                db.name
            );
        }
        let e7 = rows
            .iter()
            .find(|r| r[col("credit_code")] == Data::String(e(7)))
            .unwrap();
        assert_eq!(e7[col("output")], Data::Float(150.25));
        assert_eq!(e7[col("output_ytd")], Data::Float(1600.0001));
        assert!(
            matches!(e7[col("received_at")], Data::DateTime(_)),
            "{:?}",
            e7[col("received_at")]
        );
        let formulas = book.worksheet_formula("企业月报").expect("formulas");
        assert!(
            formulas.used_cells().all(|(_, _, f)| f.is_empty()),
            "a formula cell"
        );
        let about = book.worksheet_range("说明").expect("about sheet");
        assert!(
            about
                .rows()
                .any(|r| r[1].to_string().starts_with("导入批次 run "))
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn scope_by_unit_excludes_other_units() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        load_world(&db.store, &dir).await;
        let codes_of = |args: &[&str]| {
            let mut all = vec!["submissions", "--period", "2026-09", "-o", "-"];
            all.extend_from_slice(args);
            let mut v: Vec<String> = by_code(&records(&export_ok(&db, dir.path(), &all)))
                .into_iter()
                .map(|r| r["credit_code"].clone())
                .collect();
            v.sort();
            v
        };
        let sorted = |v: &[u32]| {
            let mut s: Vec<String> = v.iter().map(|i| e(*i)).collect();
            s.sort();
            s
        };
        assert_eq!(
            codes_of(&["--unit", "330782"]),
            sorted(&[3, 4, 5]),
            "{}",
            db.name
        );
        assert_eq!(
            codes_of(&["--unit", "330781"]),
            sorted(&[1, 2, 7]),
            "{}",
            db.name
        );
        assert_eq!(codes_of(&["--unit", "ZK01"]), sorted(&[1]), "{}", db.name);
        assert_eq!(
            codes_of(&["--unit", "3307"]),
            sorted(&[1, 2, 3, 4, 5, 7]),
            "{}",
            db.name
        );
        let (code, _, err) = indmon(
            &db,
            dir.path(),
            &["export", "submissions", "--unit", "999999"],
        );
        assert_eq!(code, 1);
        assert!(err.contains("没有代码为“999999”的单位"), "{err}");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn alerts_export_includes_their_history_and_keeps_to_the_unit() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        load_world(&db.store, &dir).await;
        for p in ["2026-09", "2026-10"] {
            let (code, _, err) = indmon(&db, dir.path(), &["evaluate", "--period", p]);
            assert_eq!(code, 0, "{err}");
        }
        let alerts = db.store.alerts(&Default::default()).await.unwrap();
        let stalled = alerts
            .iter()
            .find(|a| a.subject == e(1))
            .expect("E1 is stalled");
        let id = stalled.id.to_string();
        let (code, _, err) = indmon(
            &db,
            dir.path(),
            &["alerts", "ack", &id, "--by", "王科长", "--note", "=1+1"],
        );
        assert_eq!(code, 0, "{err}");
        let out = export_ok(
            &db,
            dir.path(),
            &["alerts", "--from", "2026-09", "--to", "2026-10"],
        );
        assert!(String::from_utf8_lossy(&out).contains("alert_events_2026-09_2026-10.csv"));
        let read = |name: &str| by_code(&records(&std::fs::read(dir.path().join(name)).unwrap()));
        let listed = read("alerts_2026-09_2026-10.csv");
        let events = read("alert_events_2026-09_2026-10.csv");
        assert_eq!(listed.len(), alerts.len(), "{}", db.name);
        for a in &listed {
            assert!(
                events
                    .iter()
                    .any(|ev| ev["alert_id"] == a["id"] && ev["kind"] == "opened"),
                "{a:?}"
            );
        }
        let ack: Vec<_> = events
            .iter()
            .filter(|ev| ev["alert_id"] == id && ev["kind"] == "acknowledged")
            .collect();
        assert_eq!(ack.len(), 1, "{}", db.name);
        assert_eq!(
            (ack[0]["actor"].as_str(), ack[0]["note"].as_str()),
            ("王科长", "'=1+1")
        );
        assert_eq!(ack[0]["kind_zh"], "已认领");
        let row = listed.iter().find(|a| a["id"] == id).unwrap();
        assert_eq!(
            (row["state_zh"].as_str(), row["subject_name"].as_str()),
            ("已认领", "'=HYPERLINK(\"http://x\",\"y\")")
        );
        // 西湖县 sees its own alerts only, and their events only.
        export_ok(
            &db,
            dir.path(),
            &[
                "alerts", "--from", "2026-09", "--to", "2026-10", "--unit", "330782",
            ],
        );
        let mine = read("alerts_2026-09_2026-10_330782.csv");
        let mine_events = read("alert_events_2026-09_2026-10_330782.csv");
        let mut want: Vec<i64> = alerts
            .iter()
            .filter(|a| a.scope.iter().any(|s| s == "330782"))
            .map(|a| a.id)
            .collect();
        want.sort();
        let want: Vec<String> = want.iter().map(i64::to_string).collect();
        assert!(!want.is_empty() && want.len() < alerts.len(), "{}", db.name);
        let mut got: Vec<String> = mine.iter().map(|a| a["id"].clone()).collect();
        got.sort_by_key(|s| s.parse::<i64>().unwrap());
        assert_eq!(got, want, "{}", db.name);
        assert!(mine_events.iter().all(|ev| want.contains(&ev["alert_id"])));
        assert!(!mine_events.iter().any(|ev| ev["alert_id"] == id));
        db.cleanup().await;
    }
}

/// Whether a CSV cell says what a JSON value says (booleans as 是/否, text neutralised).
fn same(cell: &str, v: &Value) -> bool {
    match v {
        Value::Null => cell.is_empty(),
        Value::Bool(b) => cell == if *b { "是" } else { "否" },
        Value::Number(n) => cell.parse::<f64>().ok() == n.as_f64(),
        Value::String(s) => cell == indmon::export::neutralise(s),
        other => serde_json::from_str::<Value>(cell).ok().as_ref() == Some(other),
    }
}

/// Every key of a JSON object, nested objects flattened as `projects.total`.
fn flat(v: &Value, prefix: &str, out: &mut Vec<(String, Value)>) {
    for (k, x) in v.as_object().expect("an object") {
        match x {
            Value::Object(_) if k == "projects" => flat(x, &format!("{prefix}{k}."), out),
            _ => out.push((format!("{prefix}{k}"), x.clone())),
        }
    }
}

#[tokio::test]
async fn evaluation_export_equals_evaluate_json() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        load_world(&db.store, &dir).await;
        // An alert already open and acknowledged: its state must show the same in both.
        indmon(&db, dir.path(), &["evaluate", "--period", "2026-09"]);
        let (code, json, err) = indmon(
            &db,
            dir.path(),
            &[
                "evaluate",
                "--period",
                "2026-10",
                "--format",
                "json",
                "--dry-run",
            ],
        );
        assert_eq!(code, 0, "{err}");
        let json: Value = serde_json::from_slice(&json).unwrap();
        export_ok(
            &db,
            dir.path(),
            &["evaluation", "--period", "2026-10", "--dir", "out"],
        );
        for (key, file) in [
            ("units", "evaluation_units_2026-10.csv"),
            ("alerts", "evaluation_alerts_2026-10.csv"),
            ("projects", "evaluation_projects_2026-10.csv"),
        ] {
            let recs = records(&std::fs::read(dir.path().join("out").join(file)).unwrap());
            assert_eq!(recs[0][0], "数据版本 (vintage)", "{file}");
            assert!(recs[0][1].starts_with("导入批次 run "), "{:?}", recs[0]);
            let rows = by_code(&recs[1..]);
            let want = json[key].as_array().unwrap();
            assert_eq!(rows.len(), want.len(), "{} {file}", db.name);
            assert!(key == "projects" || !want.is_empty(), "{file} is empty");
            for (row, obj) in rows.iter().zip(want) {
                let mut fields = Vec::new();
                flat(obj, "", &mut fields);
                for (k, v) in fields {
                    let cell = row
                        .get(&k)
                        .unwrap_or_else(|| panic!("{file}: no column {k}"));
                    assert!(same(cell, &v), "{} {file} {k}: {cell:?} vs {v}", db.name);
                }
            }
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn stdout_and_file_names_are_checked_with_clear_errors() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        load_world(&db.store, &dir).await;
        let (code, _, err) = indmon(
            &db,
            dir.path(),
            &["export", "alerts", "--period", "2026-10", "-o", "x.csv"],
        );
        assert_eq!(code, 1);
        assert!(err.contains("--table"), "{err}");
        let (code, _, err) = indmon(
            &db,
            dir.path(),
            &["export", "submissions", "-o", "-", "--format", "xlsx"],
        );
        assert_eq!(code, 1);
        assert!(err.contains("XLSX 不能写到标准输出"), "{err}");
        let (code, _, err) = indmon(
            &db,
            dir.path(),
            &[
                "export",
                "submissions",
                "--from",
                "2026-10",
                "--to",
                "2026-01",
            ],
        );
        assert_eq!(code, 1);
        assert!(err.contains("晚于"), "{err}");
        let out = export_ok(
            &db,
            dir.path(),
            &[
                "alerts",
                "--period",
                "2026-10",
                "--table",
                "alert_events",
                "-o",
                "-",
            ],
        );
        assert_eq!(records(&out)[0][0], "预警编号 (alert_id)");
        export_ok(
            &db,
            dir.path(),
            &[
                "submissions",
                "--from",
                "2026-09",
                "--to",
                "2026-10",
                "-o",
                "r.csv",
            ],
        );
        let rows = by_code(&records(&std::fs::read(dir.path().join("r.csv")).unwrap()));
        assert_eq!(rows.len(), 6 + 6, "{}", db.name);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|f| f.ok())
            .filter(|f| f.file_name().to_string_lossy().ends_with(".part"))
            .collect();
        assert!(leftovers.is_empty());
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_row_table_reader_gives_what_the_packed_reader_gives() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        // The imports wrote both: the rows (the record, what export reads) and the packs.
        load_world(&db.store, &dir).await;
        let (from, to) = ("2025-11".parse().unwrap(), "2026-10".parse().unwrap());
        for unit in [None, Some("330782"), Some("ZK01")] {
            let (mut packed, mut rows): (Vec<SubmissionRow>, Vec<SubmissionRow>) = (vec![], vec![]);
            let n = db
                .store
                .export_submissions_from_packs(from, to, unit, |r| {
                    packed.push(r.clone());
                    Ok(())
                })
                .await
                .unwrap();
            db.store
                .export_submissions(from, to, unit, |r| {
                    rows.push(r.clone());
                    Ok(())
                })
                .await
                .unwrap();
            assert_eq!(n as usize, packed.len());
            assert!(!packed.is_empty());
            assert_eq!(packed, rows, "{} {unit:?}", db.name);
        }
        db.cleanup().await;
    }
}
