//! The 反馈表 end to end on both backends: generated for an official, filled in by program as
//! an official would in Excel, and read back through the desk (the library path), an inbox
//! folder (`indmon pull`) and the console's upload over HTTP on loopback. Every rejected row
//! comes with its line, column and reason; good rows apply beside bad ones; a case outside the
//! uploader's scope and a row older than the latest answer are refused; `=HYPERLINK(` typed in an
//! answer is a plain string in the regenerated workbook.

mod common;
#[path = "common/console.rs"]
mod console_support;

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use common::TestDb;
use indmon::alerts::{Change, EventKind};
use indmon::calendar::Calendar;
use indmon::cases::{AnswerInput, Desk, Who};
use indmon::config::Config;
use indmon::feedback::workbook::{COLUMNS, Col, SHEET, index};
use indmon::feedback::{self, read};
use indmon::period::Period;
use indmon::rules::{Finding, Rule, Severity};
use indmon::store::Store;
use mail_parser::MimeHeaders;

const CONFIG: &str = r#"
[general]
city_name = "云州市"
[mail]
from = "m <m@x.cn>"
transport = "file"
file_dir = "/tmp"
[[recipients]]
id = "city"
name = "市工信局"
email = "c@x.cn"
role = "city"
[[recipients]]
id = "east"
name = "东区经信局"
email = "e@x.cn"
role = "district"
label = "东区"
units = ["3301"]
case_owner = true
[[recipients]]
id = "west"
name = "西区经信局"
email = "w@x.cn"
role = "district"
units = ["3302"]
case_owner = true
"#;

/// Five enterprises of the east district and one of the west.
const EAST: [&str; 5] = [
    "91330100MA2AAAAA1X",
    "91330100MA2CCCCC3Z",
    "91330100MA2DDDDD4A",
    "91330100MA2EEEEE5B",
    "91330100MA2FFFFF6C",
];
const WEST: &str = "91330200MA2BBBBB2Y";
const HOSTILE: &str = "=HYPERLINK(\"http://evil.example/\",\"点此\")";

fn t0() -> DateTime<Utc> {
    Shanghai
        .with_ymd_and_hms(2026, 11, 20, 10, 0, 0)
        .unwrap()
        .with_timezone(&Utc)
}

fn finding(subject: &str, unit: &str, name: &str) -> Finding {
    let mut values = serde_json::Map::new();
    values.insert("output".into(), serde_json::json!(0));
    Finding {
        rule: Rule::EnterpriseStalled,
        severity: Severity::Orange,
        subject: subject.into(),
        subject_name: name.into(),
        indicator: "output".into(),
        unit: unit.into(),
        scope: vec![unit.into(), "33".into()],
        owner: None,
        period: "2026-10".parse::<Period>().unwrap(),
        consecutive: 2,
        message: format!("{name}10月产值为0，连续2个月停产"),
        values,
    }
}

fn config(extra: &str) -> Config {
    let c = Config::parse(&format!("{CONFIG}{extra}")).unwrap();
    assert!(c.validate().is_empty(), "{:?}", c.validate());
    c
}

fn desk(store: &Store, c: &Config) -> Desk {
    Desk::with(
        store.clone(),
        c.cases.clone(),
        c.recipients.clone(),
        Arc::new(Calendar::official().unwrap()),
    )
}

/// The five alerts and their cases; case id by subject.
async fn seeded(store: &Store, d: &Desk) -> HashMap<String, i64> {
    let mut changes: Vec<Change> = EAST
        .iter()
        .enumerate()
        .map(|(i, s)| Change::Open {
            // One name from outside that a spreadsheet would take for a formula.
            finding: finding(
                s,
                "3301",
                &format!("{}东区企业{i}", if i == 1 { "=1+" } else { "" }),
            ),
            events: vec![EventKind::Opened],
        })
        .collect();
    changes.push(Change::Open {
        finding: finding(WEST, "3302", "西区企业"),
        events: vec![EventKind::Opened],
    });
    let ms = t0().timestamp_millis();
    let eval = store
        .begin_evaluation("2026-10".parse().unwrap(), ms)
        .await
        .unwrap();
    store.apply_changes(eval, &changes, ms).await.unwrap();
    d.sync(t0()).await.unwrap();
    let all = d.list_for(&Who::operator("t"), t0()).await.unwrap();
    assert_eq!(all.len(), 6);
    all.into_iter().map(|c| (c.subject, c.id)).collect()
}

/// The cells of sheet 反馈表 as text.
fn cells(book: &[u8]) -> Vec<Vec<String>> {
    common::xlsx::first_sheet_cells(book, SHEET)
}

/// What an official types into one row: the answer columns by case id, the version as given
/// (none: the workbook's own).
#[derive(Clone, Default)]
struct Fill {
    case: String,
    version: Option<String>,
    cause: String,
    situation: String,
    measures: String,
    month: String,
    coordination: String,
}

fn fill(case: i64, cause: &str) -> Fill {
    Fill {
        case: case.to_string(),
        cause: cause.into(),
        situation: "订单减少，两条生产线停产".into(),
        measures: "协调银行续贷".into(),
        month: "2027-01".into(),
        ..Fill::default()
    }
}

/// `generated` as an official saves it after typing `fills` into its rows (a fill whose case
/// is not in the workbook is typed into a new row below).
fn filled(generated: &[u8], fills: &[Fill]) -> Vec<u8> {
    let rows = cells(generated);
    let head = rows.iter().position(|r| r[0] == "事项编号").unwrap();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet().set_name(SHEET).unwrap();
    let mut out: Vec<Vec<String>> = rows.clone();
    for f in fills {
        let at = match out.iter().skip(head + 1).position(|r| r[0] == f.case) {
            Some(i) => head + 1 + i,
            None => {
                let mut r = vec![String::new(); COLUMNS.len()];
                r[0] = f.case.clone();
                out.push(r);
                out.len() - 1
            }
        };
        let r = &mut out[at];
        if let Some(v) = &f.version {
            r[index(Col::Version) as usize] = v.clone();
        }
        for (col, v) in [
            (Col::Cause, &f.cause),
            (Col::Situation, &f.situation),
            (Col::Measures, &f.measures),
            (Col::ResumeMonth, &f.month),
            (Col::Coordination, &f.coordination),
        ] {
            r[index(col) as usize] = v.clone();
        }
    }
    for (i, r) in out.iter().enumerate() {
        for (j, v) in r.iter().enumerate() {
            let numeric = i > head && j < 2 && v.parse::<f64>().is_ok();
            if numeric {
                ws.write_number(i as u32, j as u16, v.parse::<f64>().unwrap())
                    .unwrap();
            } else if !v.is_empty() {
                ws.write_string(i as u32, j as u16, v).unwrap();
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

fn sheet_of(book: Vec<u8>) -> read::Sheet {
    read::read(book, &read::limits(&Default::default())).unwrap()
}

/// A workbook part's text.
fn part(book: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(book.to_vec())).unwrap();
    let mut s = String::new();
    zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

async fn book_for(d: &Desk, who: &str) -> Vec<u8> {
    feedback::workbook::for_reader(d, &Who::recipient(who, None), "云州市", who, t0())
        .await
        .unwrap()
        .expect("a workbook")
}

/// The reasons by line.
fn reasons(o: &feedback::Outcome) -> Vec<(u64, String, String)> {
    o.rejected
        .iter()
        .map(|r| (r.line, r.column.clone(), r.reason.clone()))
        .collect()
}

/// One workbook with a good row, a bad cause, a bad month, a too-long text, a stale version,
/// another district's case and an unknown one: the good row applies, each bad one is refused
/// with its line, column and reason; sending it again changes nothing; the regenerated workbook
/// shows the hostile text as a plain string.
#[tokio::test]
async fn a_filled_workbook_applies_its_good_rows_and_names_every_bad_one() {
    for db in TestDb::all().await {
        let s = &db.store;
        let c = config("");
        let d = desk(s, &c);
        let ids = seeded(s, &d).await;
        let east = Who::recipient("east", Some("198.51.100.7"));
        let book = book_for(&d, "east").await;
        let rows = cells(&book);
        let head = rows.iter().position(|r| r[0] == "事项编号").unwrap();
        assert_eq!(head, 2, "{}: title, note, header", db.name);
        assert_eq!(rows.len(), 3 + 5, "{}: the east's five cases only", db.name);
        assert!(rows.iter().all(|r| r[index(Col::Subject) as usize] != WEST));
        assert!(part(&book, "xl/worksheets/sheet1.xml").contains("<dataValidation"));
        assert!(part(&book, "xl/worksheets/sheet1.xml").contains("<sheetProtection"));
        assert_eq!(sheet_of(book.clone()).skipped, 5, "nothing typed yet");

        // The fourth case is answered in the console after the workbook was made.
        let (e0, e1, e2, e3, e4) = (
            ids[EAST[0]],
            ids[EAST[1]],
            ids[EAST[2]],
            ids[EAST[3]],
            ids[EAST[4]],
        );
        let console = AnswerInput {
            cause: "资金紧张".into(),
            situation: "在控制台填写".into(),
            measures: "续贷".into(),
            via: "console".into(),
            ..AnswerInput::default()
        };
        d.answer(&east, e3, &console, t0()).await.unwrap();

        let mut good = fill(e0, "订单不足/市场需求");
        good.measures = HOSTILE.into();
        let mut bad_month = fill(e2, "用工");
        bad_month.month = "明年春节后".into();
        let mut too_long = fill(e4, "物流");
        too_long.situation = "长".repeat(2001);
        let mut theirs = fill(ids[WEST], "物流");
        theirs.version = Some("1".into());
        let mut unknown = fill(999_999, "物流");
        unknown.version = Some("1".into());
        let filled_book = filled(
            &book,
            &[
                good,
                fill(e1, "天气不好"),
                bad_month,
                fill(e3, "物流"),
                too_long,
                theirs,
                unknown,
            ],
        );
        let sheet = sheet_of(filled_book.clone());
        let line = |case: i64| {
            4 + rows
                .iter()
                .skip(head + 1)
                .position(|r| r[0] == case.to_string())
                .unwrap() as u64
        };
        let o = feedback::apply(&d, &east, "workbook", "东区反馈表.xlsx", sheet, t0())
            .await
            .unwrap();
        assert_eq!(o.accepted.len(), 1, "{}: {:?}", db.name, reasons(&o));
        assert_eq!(o.accepted[0].case_id, e0);
        assert_eq!(o.accepted[0].line, line(e0));
        let got = reasons(&o);
        let has = |line: u64, col: &str, word: &str| {
            assert!(
                got.iter()
                    .any(|(l, c, r)| *l == line && c == col && r.contains(word)),
                "{}: no reject at line {line} column {col} with “{word}” in {got:?}",
                db.name
            )
        };
        has(line(e1), "N 原因", "不在可选原因中");
        has(line(e2), "Q 预计复产月份", "YYYY-MM");
        has(line(e3), "B 版本", "stale");
        has(line(e4), "O 情况说明", "at most 2000 characters");
        has(9, "A 事项编号", "outside the uploader's scope");
        has(10, "A 事项编号", "no case 999999");
        assert_eq!(got.len(), 6, "{}: {got:?}", db.name);
        let stale = d.get(&east, e3, t0()).await.unwrap();
        assert_eq!(
            stale.answers.len(),
            1,
            "{}: the console's answer stands",
            db.name
        );
        assert_eq!(stale.answers[0].situation, "在控制台填写");
        let applied = d.get(&east, e0, t0()).await.unwrap();
        assert_eq!(applied.answers[0].via, "workbook");
        assert_eq!(applied.answers[0].measures, HOSTILE);
        assert_eq!(applied.answers[0].resume_month.as_deref(), Some("2027-01"));
        assert_eq!(
            applied.answers[0].client_addr.as_deref(),
            Some("198.51.100.7")
        );
        for e in [e1, e2, e4] {
            let none = d.get(&east, e, t0()).await.unwrap();
            assert!(none.answers.is_empty(), "{}: nothing half-applied", db.name);
        }
        let log = s.audit_log(None).await.unwrap();
        assert!(log.iter().any(|a| a.action == "workbook_upload"
            && a.actor == "east"
            && a.detail.contains("东区反馈表.xlsx")));

        // The same file again: the applied row is found unchanged, not refused as stale.
        let again = feedback::apply(
            &d,
            &east,
            "workbook",
            "东区反馈表.xlsx",
            sheet_of(filled_book),
            t0(),
        )
        .await
        .unwrap();
        assert_eq!(
            (again.accepted.len(), again.unchanged.len()),
            (0, 1),
            "{}",
            db.name
        );
        assert_eq!(d.get(&east, e0, t0()).await.unwrap().answers.len(), 1);

        // Regenerated: the answer is shown in a string cell, never a formula; a cell that begins
        // like a formula (the name `=1+东区企业1`) carries the quote prefix too.
        let next = book_for(&d, "east").await;
        let sheet_xml = part(&next, "xl/worksheets/sheet1.xml");
        assert!(
            !sheet_xml.contains("<f>"),
            "{}: a formula in the workbook",
            db.name
        );
        assert!(part(&next, "xl/styles.xml").contains("quotePrefix=\"1\""));
        let shown = cells(&next);
        let row = shown.iter().find(|r| r[0] == e0.to_string()).unwrap();
        assert!(
            row[index(Col::LastAnswer) as usize].contains(HOSTILE),
            "{:?}",
            row
        );
        assert!(
            shown
                .iter()
                .any(|r| r[index(Col::Name) as usize] == "=1+东区企业1")
        );
        db.cleanup().await;
    }
}

/// `indmon pull` reads the east's 反馈表 inbox: the file's good row applies as the inbox (named
/// in the audit log), its other district's row is refused and written beside the archived file;
/// a workbook whose sheet unpacks beyond the configured bound is refused whole, unread.
#[tokio::test]
async fn the_inbox_of_a_unit_answers_its_cases_as_the_inbox() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("东区反馈");
        std::fs::create_dir(&inbox).unwrap();
        let extra = format!(
            "[[feedback_inbox]]\nunit = \"3301\"\nname = \"东区收件箱\"\npath = \"{}\"\nsettle_secs = 0\n[import.xlsx]\nmax_entry_mib = 1\n",
            inbox.display()
        );
        let c = config(&extra);
        let d = desk(s, &c);
        let ids = seeded(s, &d).await;
        let e0 = ids[EAST[0]];
        let mut theirs = fill(ids[WEST], "物流");
        theirs.version = Some("1".into());
        let mut good = fill(e0, "设备检修或技改");
        good.coordination = "需协调电力增容".into();
        let book = filled(&book_for(&d, "east").await, &[good, theirs]);
        std::fs::write(inbox.join("1-东区.xlsx"), &book).unwrap();
        let huge = format!("<row r=\"1\">{}</row>", " ".repeat(3 << 20));
        std::fs::write(
            inbox.join("2-huge.xlsx"),
            common::xlsx::workbook(&huge, &[]),
        )
        .unwrap();
        std::fs::write(dir.path().join("indmon.toml"), format!("{CONFIG}{extra}")).unwrap();

        let out = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
            .env_remove("INDMON_DATABASE_URL")
            .arg("--config")
            .arg(dir.path().join("indmon.toml"))
            .args(["--database", &db.url, "pull"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}: rows rejected: {text}",
            db.name
        );
        assert!(text.contains("反馈表收件夹 东区收件箱"), "{text}");
        assert!(
            text.contains("accepted 1, unchanged 0, rejected 2"),
            "{text}"
        );

        let case = d.get(&Who::operator("t"), e0, t0()).await.unwrap();
        assert_eq!(case.answers.len(), 1, "{}", db.name);
        assert_eq!(case.answers[0].via, "inbox");
        assert_eq!(case.answers[0].answered_by, "inbox:东区收件箱");
        assert_eq!(case.answers[0].coordination, "需协调电力增容");
        let log = s.audit_log(Some(e0)).await.unwrap();
        assert!(
            log.iter()
                .any(|a| a.action == "answered" && a.actor == "inbox:东区收件箱"),
            "{}: {log:?}",
            db.name
        );
        let west = d.get(&Who::operator("t"), ids[WEST], t0()).await.unwrap();
        assert!(west.answers.is_empty(), "{}: another unit's case", db.name);

        let result = std::fs::read_to_string(inbox.join("archive").join("1-东区.xlsx.result.txt"))
            .unwrap_or_else(|e| panic!("{e}: {text}"));
        assert!(result.contains("已采纳"), "{result}");
        assert!(result.contains("第9行 列A 事项编号"), "{result}");
        assert!(result.contains("outside the uploader's scope"), "{result}");
        let refused =
            std::fs::read_to_string(inbox.join("rejected").join("2-huge.xlsx.reason.txt")).unwrap();
        assert!(refused.contains("max_entry_mib"), "{refused}");
        assert!(!inbox.join("1-东区.xlsx").exists() && !inbox.join("2-huge.xlsx").exists());

        // The daemon reads it on the sources' default schedule, as job `feedback:NAME`.
        let jobs: Vec<String> = indmon::daemon::job_specs(&c)
            .unwrap()
            .iter()
            .map(|j| j.kind.name())
            .collect();
        assert!(
            jobs.contains(&"feedback:东区收件箱".to_string()),
            "{jobs:?}"
        );

        // A configuration naming a unit no official has, or another inbox's folder, is refused.
        let bad = Config::parse(&format!(
            "{CONFIG}{extra}[[feedback_inbox]]\nunit = \"9999\"\npath = \"{}\"\n",
            inbox.display()
        ))
        .unwrap();
        let keys: Vec<String> = bad.validate().into_iter().map(|p| p.key).collect();
        assert!(
            keys.contains(&"feedback_inbox[1].unit".to_string()),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"feedback_inbox[1].path".to_string()),
            "{keys:?}"
        );
        db.cleanup().await;
    }
}

/// The console over HTTP on loopback: the official downloads their 反馈表, fills it in and
/// uploads it (multipart, the token in `?csrf=`); the page lists the accepted row and the
/// refused ones with line, column and reason. Without the token the upload is refused (403).
#[tokio::test]
async fn an_official_uploads_a_filled_workbook_in_the_console() {
    use common::smtp::SmtpServer;
    use console_support::{Browser, Serve, free_port, link_in_mail};
    for db in TestDb::all().await {
        common::registry(&db.store).await;
        common::mail::seed(&db.store).await;
        let smtp = SmtpServer::start().await;
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let text = console_support::config(smtp.port, port, "")
            .replace(
                "units = [\"330781\"]\n",
                "units = [\"330781\"]\ncase_owner = true\n",
            )
            .replace(
                "units = [\"330782\"]\n",
                "units = [\"330782\"]\ncase_owner = true\n",
            );
        let c = Config::parse(&text).unwrap();
        assert!(c.validate().is_empty(), "{:?}", c.validate());
        let d = desk(&db.store, &c);
        d.sync(common::now()).await.unwrap();
        let all = d
            .list_for(&Who::operator("t"), common::now())
            .await
            .unwrap();
        let case_of = |subject: &str| all.iter().find(|c| c.subject == subject).unwrap().id;
        let (mine, li, theirs) = (
            case_of("330781"),
            case_of(common::mail::NANHU),
            case_of(common::mail::BEIGANG),
        );
        let serve = Serve::start(dir.path(), &db.url, &text, port).await;
        let mut b = Browser::new(&serve);
        b.ask_link("dc@example.cn").await;
        let link = link_in_mail(&smtp, "dc@example.cn", 0).await;
        assert_eq!(b.confirm(&link).await.status, 303);

        let form = b.get("/cases/upload").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.field("csrf").unwrap();
        assert!(form.body.contains(&format!("/cases/upload?csrf={csrf}")));
        let book = download(&b, &serve).await;
        let rows = cells(&book);
        assert_eq!(rows.len(), 4, "{}: the district's own case only", db.name);
        assert_eq!(rows[3][0], mine.to_string());

        let mut good = fill(mine, "订单不足/市场需求");
        good.situation = "<script>alert(1)</script>".into();
        let mut li_row = fill(li, "资金紧张");
        li_row.version = Some("1".into());
        let mut other = fill(theirs, "资金紧张");
        other.version = Some("1".into());
        let filled_book = filled(&book, &[good, li_row, other]);

        let refused = post_file(&b, &serve, "/cases/upload", &filled_book).await;
        assert_eq!(refused.0, 403, "{}: no CSRF token", db.name);
        let (status, page) = post_file(
            &b,
            &serve,
            &format!("/cases/upload?csrf={csrf}"),
            &filled_book,
        )
        .await;
        assert_eq!(status, 200, "{}: {page}", db.name);
        assert!(page.contains("采纳 1 行"), "{page}");
        assert!(page.contains("第5行 列A 事项编号"), "{page}");
        assert!(page.contains("第6行 列A 事项编号"), "{page}");
        assert!(page.contains("outside the uploader&#x27;s scope"), "{page}");
        let answered = d
            .get(&Who::operator("t"), mine, common::now())
            .await
            .unwrap();
        assert_eq!(answered.answers.len(), 1, "{}", db.name);
        assert_eq!(answered.answers[0].answered_by, "dongcheng");
        assert_eq!(
            answered.answers[0].client_addr.as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(answered.answers[0].situation, "<script>alert(1)</script>");

        // A file that is not a workbook is refused with a reason, nothing applied.
        let (status, page) = post_file(
            &b,
            &serve,
            &format!("/cases/upload?csrf={csrf}"),
            b"not a workbook",
        )
        .await;
        assert_eq!(status, 422, "{page}");
        assert!(page.contains("XLSX"), "{page}");
        drop(serve);
        db.cleanup().await;
    }
}

async fn download(b: &console_support::Browser, serve: &console_support::Serve) -> Vec<u8> {
    let r = reqwest::Client::new()
        .get(serve.url("/cases/workbook"))
        .header("cookie", cookie(b))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("spreadsheetml")
    );
    r.bytes().await.unwrap().to_vec()
}

fn cookie(b: &console_support::Browser) -> String {
    b.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A multipart POST of `bytes` as the form's file field, as a browser sends it.
async fn post_file(
    b: &console_support::Browser,
    serve: &console_support::Serve,
    path: &str,
    bytes: &[u8],
) -> (u16, String) {
    let boundary = "----indmonTestBoundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"反馈表.xlsx\"\r\nContent-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let r = reqwest::Client::new()
        .post(serve.url(path))
        .header("cookie", cookie(b))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The digest to an official who owns open cases carries their 反馈表 beside the detail; the
/// city official, who owns none, gets the detail only.
#[tokio::test]
async fn the_digest_attaches_the_workbook_to_case_owners() {
    for db in TestDb::all().await {
        let s = &db.store;
        let out = tempfile::tempdir().unwrap();
        let text = CONFIG.replace(
            "file_dir = \"/tmp\"",
            &format!("file_dir = \"{}\"", out.path().display()),
        );
        let c = Config::parse(&text).unwrap();
        let d = desk(s, &c);
        let ids = seeded(s, &d).await;
        common::mail::dispatch_and_send(s, &c, t0()).await;
        let mut books: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for f in std::fs::read_dir(out.path()).unwrap() {
            let path = f.unwrap().path();
            if path.extension().is_none_or(|e| e != "eml") {
                continue;
            }
            let data = std::fs::read(&path).unwrap();
            let m = common::mail::parsed(&data);
            let to = m
                .to()
                .unwrap()
                .first()
                .unwrap()
                .address()
                .unwrap()
                .to_string();
            let names: Vec<String> = m
                .attachments()
                .filter_map(|a| a.attachment_name().map(String::from))
                .collect();
            assert!(
                names.iter().any(|n| n.starts_with("indmon-alerts-")),
                "{names:?}"
            );
            let found: Vec<Vec<u8>> = m
                .attachments()
                .filter(|a| a.attachment_name() == Some("indmon-feedback-20261120.xlsx"))
                .map(|a| a.contents().to_vec())
                .collect();
            books.insert(to, found);
        }
        assert_eq!(books.len(), 3, "{}: {:?}", db.name, books.keys());
        assert!(
            books["c@x.cn"].is_empty(),
            "{}: the city owns no case",
            db.name
        );
        assert_eq!(books["w@x.cn"].len(), 1, "{}", db.name);
        let east = cells(&books["e@x.cn"][0]);
        assert_eq!(east.len(), 3 + EAST.len(), "{}", db.name);
        assert!(
            east[3..]
                .iter()
                .all(|r| ids.values().any(|id| r[0] == id.to_string()))
        );
        assert!(
            east[0][0].contains("云州市") && east[0][0].contains("东区"),
            "{:?}",
            east[0]
        );
        // Made before this digest's delivery dates the cases: the due time if delivered today,
        // Friday 20 November 2026 (day 0): the fifth working day is Friday 27 November.
        assert!(
            east[3..]
                .iter()
                .all(|r| r[index(Col::Due) as usize] == "2026-11-27 18:00:00（以今日送达计）"),
            "{:?}",
            east[3]
        );
        db.cleanup().await;
    }
}
