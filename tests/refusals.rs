//! Files a source cannot take: whatever a file does, the pull survives it and the file does not
//! loop. Refused content goes to `rejected/` with its reasons and its sender's contact is told
//! once, in Chinese; a database fault leaves the file where it is; a file that killed the
//! process while it was read is recognised by its attempt marker and refused after
//! `max_attempts` deaths. Every storage assertion runs on SQLite and, when configured,
//! PostgreSQL.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use indmon::config::Config;
use indmon::sources::{self, PullReport, PullStatus};
use indmon::store::Store;
use mail_parser::MessageParser;
use sha2::{Digest, Sha256};

const NANHU: &str = "913307811860913921";
const SOURCE: &str = "东岭区收件箱";

/// A configuration with one inbox whose contacts are two officials, mailed through files.
fn config(inbox: &Path, extra: &str) -> Config {
    let text = format!(
        r#"
[mail]
from = "市工信局运行监测 <indmon@gxj.example.cn>"
transport = "file"
file_dir = "/nonexistent/not-used-by-these-tests"

[[recipients]]
id = "dl"
name = "东岭区经信局张科长"
email = "zhang@dl.example.cn"
role = "district"
units = ["330781"]

[[recipients]]
id = "city"
name = "市工信局运行监测科"
email = "yxjc@gxj.example.cn"
role = "city"

[[sources]]
name = "{SOURCE}"
kind = "dir"
path = '{}'
settle_secs = 0
contact = ["dl", "city"]
{extra}
"#,
        inbox.display()
    );
    let c = Config::parse(&text).expect("parse");
    let problems = c.validate();
    assert!(problems.is_empty(), "{problems:?}");
    c
}

async fn pull(store: &Store, config: &Config) -> PullReport {
    sources::pull(store, config, None, now())
        .await
        .expect("pull")
        .remove(0)
}

/// A queued message: recipient, Message-ID, subject and plain-text body.
#[derive(Debug)]
struct Queued {
    recipient: String,
    message_id: String,
    subject: String,
    text: String,
}

async fn outbox(store: &Store) -> Vec<Queued> {
    let sql = "SELECT recipient, message_id, message FROM outbox ORDER BY id";
    let rows: Vec<(String, String, Vec<u8>)> = match store {
        Store::Sqlite(p) => sqlx::query_as(sql).fetch_all(p).await,
        Store::Postgres(p) => sqlx::query_as(sql).fetch_all(p).await,
    }
    .expect("outbox");
    rows.into_iter()
        .map(|(recipient, message_id, bytes)| {
            let m = MessageParser::default().parse(&bytes).expect("a message");
            Queued {
                recipient,
                message_id,
                subject: m.subject().unwrap_or_default().to_string(),
                text: m.body_text(0).unwrap_or_default().to_string(),
            }
        })
        .collect()
}

/// The attempt markers left in an inbox.
fn markers(inbox: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(inbox.join(indmon::sources::attempts::DIR))
        .map(|d| d.map(|e| e.expect("entry").path()).collect())
        .unwrap_or_default()
}

fn reason_of(inbox: &Path, name: &str) -> String {
    std::fs::read_to_string(inbox.join("rejected").join(format!("{name}.reason.txt")))
        .unwrap_or_else(|e| panic!("{name}.reason.txt: {e}"))
}

fn sha_of(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).expect("read")))
}

/// Leaves a marker as a process that died while reading `name` leaves it.
fn dead_marker(inbox: &Path, name: &str, sha256: &str, attempts: u32) {
    let dir = inbox.join(indmon::sources::attempts::DIR);
    std::fs::create_dir_all(&dir).expect("marker dir");
    let m = serde_json::json!({
        "file": name, "sha256": sha256, "attempts": attempts,
        "started_at": "2026-11-22T01:59:00.000Z", "pid": 4_000_000,
    });
    std::fs::write(dir.join(format!("{name}.json")), m.to_string()).expect("marker");
}

fn gbk_submissions() -> Vec<u8> {
    std::fs::read(fixture("submissions_gbk.csv")).expect("fixture")
}

#[tokio::test]
async fn a_file_the_reader_fails_on_is_refused_with_its_reasons_and_the_pull_returns_normally() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let inbox = tempfile::tempdir().unwrap();
        // A workbook whose cell names a shared string that does not exist: the reader fails
        // on it. (A workbook whose dimension ran backwards, the first hostile file of this
        // test, made calamine panic; the bounded reader never sizes anything by the dimension.)
        let rows = common::xlsx::row(1, &[("s", "7")]);
        write(
            &inbox,
            "a_东岭区10月.xlsx",
            common::xlsx::workbook(&rows, &["credit_code"]),
        );
        write(
            &inbox,
            "b_截断.xlsx",
            b"PK\x03\x04 cut off after the signature",
        );
        write(&inbox, "c_东岭区10月.csv", gbk_submissions());
        let cfg = config(inbox.path(), "");

        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Rejected, "{r:?}");
        assert_eq!(r.error, None, "{r:?}");
        assert_eq!(r.consecutive_failures, 0, "refused content is the sender's");
        assert_eq!((r.pages, r.accepted), (3, 12), "{r:?}");

        for name in ["a_东岭区10月.xlsx", "b_截断.xlsx"] {
            assert!(inbox.path().join("rejected").join(name).exists(), "{name}");
            let reason = reason_of(inbox.path(), name);
            assert!(
                reason.contains("整份文件未入库") && reason.contains(name),
                "{reason}"
            );
        }
        assert!(inbox.path().join("archive/c_东岭区10月.csv").exists());
        assert!(
            markers(inbox.path()).is_empty(),
            "{:?}",
            markers(inbox.path())
        );
        // NANHU's October is the CSV's, not the refused workbook's.
        assert_eq!(
            value(s, NANHU, "2026-10", "output").await.as_deref(),
            Some("8357.9")
        );
        // Both contacts are told about both files.
        let q = outbox(s).await;
        assert_eq!(q.len(), 4, "{q:?}");
        assert!(
            q.iter()
                .any(|m| m.recipient == "dl" && m.subject.contains("a_东岭区10月.xlsx")),
            "{q:?}"
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_database_fault_leaves_the_file_in_the_inbox_without_a_marker() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let inbox = tempfile::tempdir().unwrap();
        let cfg = config(inbox.path(), "");

        // A file that would be refused, while the outbox cannot be written: it stays.
        let bad = write(
            &inbox,
            "坏.csv",
            format!("credit_code,period,output\n{NANHU},2026-13,1\n"),
        );
        exec(s, "ALTER TABLE outbox RENAME TO outbox_away").await;
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Failed, "{r:?}");
        assert!(
            r.error.as_deref().unwrap_or("").contains("留在收件夹"),
            "{r:?}"
        );
        assert!(bad.exists() && !inbox.path().join("rejected").exists());
        assert!(markers(inbox.path()).is_empty());
        exec(s, "ALTER TABLE outbox_away RENAME TO outbox").await;
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Rejected, "{r:?}");
        assert!(!bad.exists() && inbox.path().join("rejected/坏.csv").exists());
        assert_eq!(outbox(s).await.len(), 2);

        // A good file, while the store of submissions cannot be written: it stays.
        let good = write(&inbox, "好.csv", gbk_submissions());
        exec(
            s,
            "ALTER TABLE submission_year RENAME TO submission_year_away",
        )
        .await;
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Failed, "{r:?}");
        assert!(
            r.error.as_deref().unwrap_or("").contains("留在收件夹"),
            "{r:?}"
        );
        assert!(good.exists(), "left in place for the next pull");
        assert!(!inbox.path().join("rejected/好.csv").exists());
        assert!(markers(inbox.path()).is_empty());
        exec(
            s,
            "ALTER TABLE submission_year_away RENAME TO submission_year",
        )
        .await;
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Ok, "{r:?}");
        assert!(!good.exists() && inbox.path().join("archive/好.csv").exists());
        assert_eq!(outbox(s).await.len(), 2, "nothing more to tell");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_file_being_read_when_the_process_died_is_refused_after_the_limit() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let inbox = tempfile::tempdir().unwrap();
        let p = inbox.path();
        // Died once reading a.csv: below the default limit of 2, read again.
        let a = write(&inbox, "a.csv", gbk_submissions());
        dead_marker(p, "a.csv", &sha_of(&a), 1);
        // Died twice reading b.csv: refused without being read.
        let b = write(
            &inbox,
            "b.csv",
            format!("credit_code,period,output\n{NANHU},2026-09,1\n"),
        );
        dead_marker(p, "b.csv", &sha_of(&b), 2);
        // A marker of other content under c.csv's name counts for nothing.
        write(
            &inbox,
            "c.csv",
            format!("credit_code,period,output\n{NANHU},2026-08,2\n"),
        );
        dead_marker(p, "c.csv", "0000", 5);
        let cfg = config(p, "");
        let runs = s.count("import_run").await.unwrap();

        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Rejected, "{r:?}");
        assert_eq!(r.error, None);
        assert!(p.join("archive/a.csv").exists() && p.join("archive/c.csv").exists());
        assert!(p.join("rejected/b.csv").exists());
        let reason = reason_of(p, "b.csv");
        assert!(
            reason.contains("处理该文件时进程异常终止2次")
                && reason.contains("the process died 2 times while reading this file"),
            "{reason}"
        );
        assert_eq!(
            s.count("import_run").await.unwrap(),
            runs + 2,
            "b.csv was not read"
        );
        assert_eq!(value(s, NANHU, "2026-09", "output").await, None);
        assert_eq!(
            value(s, NANHU, "2026-08", "output").await.as_deref(),
            Some("2")
        );
        assert!(markers(p).is_empty(), "{:?}", markers(p));
        let q = outbox(s).await;
        assert_eq!(q.len(), 2, "{q:?}");
        assert!(
            q.iter()
                .all(|m| m.subject.contains("b.csv") && m.text.contains("进程异常终止2次")),
            "{q:?}"
        );

        // A source may allow fewer: with max_attempts = 1 one death is enough.
        let d = write(
            &inbox,
            "d.csv",
            format!("credit_code,period,output\n{NANHU},2026-07,3\n"),
        );
        dead_marker(p, "d.csv", &sha_of(&d), 1);
        let r = pull(s, &config(p, "max_attempts = 1")).await;
        assert_eq!(r.status, PullStatus::Rejected, "{r:?}");
        assert!(reason_of(p, "d.csv").contains("进程异常终止1次"));
        assert_eq!(value(s, NANHU, "2026-07", "output").await, None);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn the_contacts_learn_once_in_chinese_which_file_was_refused_and_why() {
    for db in TestDb::all().await {
        let s = &db.store;
        registry(s).await;
        let inbox = tempfile::tempdir().unwrap();
        let cfg = config(inbox.path(), "");
        let bad = format!("credit_code,period,output\n{NANHU},2026-13,1\n");
        write(&inbox, "西湖县10月.csv", &bad);
        pull(s, &cfg).await;
        let q = outbox(s).await;
        assert_eq!(
            q.iter().map(|m| m.recipient.as_str()).collect::<Vec<_>>(),
            ["dl", "city"]
        );
        for m in &q {
            assert_eq!(m.subject, format!("【数据拒收】{SOURCE}：西湖县10月.csv"));
            assert!(
                m.text.contains("“西湖县10月.csv”")
                    && m.text.contains("被拒收")
                    && m.text.contains("第2行")
                    && m.text.contains("rejected/西湖县10月.csv"),
                "{}",
                m.text
            );
        }
        assert_ne!(q[0].message_id, q[1].message_id);

        // The same file dropped again is refused again, and nobody is told twice.
        write(&inbox, "西湖县10月.csv", &bad);
        let r = pull(s, &cfg).await;
        assert_eq!(r.status, PullStatus::Rejected, "{r:?}");
        assert_eq!(
            std::fs::read_dir(inbox.path().join("rejected"))
                .unwrap()
                .count(),
            4,
            "two copies and their reasons"
        );
        assert_eq!(outbox(s).await.len(), 2);

        // Other content under the same name is news.
        write(
            &inbox,
            "西湖县10月.csv",
            format!("credit_code,period,output\n{NANHU},2026-14,1\n"),
        );
        pull(s, &cfg).await;
        assert_eq!(outbox(s).await.len(), 4);
        db.cleanup().await;
    }
}

/// A submissions CSV big enough that reading it takes a while: rows of enterprises nobody
/// registered, each rejected.
fn large_csv(path: &Path, rows: usize) {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "credit_code,period,output,output_ytd").unwrap();
    for i in 0..rows {
        writeln!(w, "91330781{i:09}X,2026-10,{},{}", i % 9_999, i % 99_999).unwrap();
    }
    w.flush().unwrap();
}

/// The attempts recorded by the marker of `name`, if there is one.
fn marker_attempts(inbox: &Path, name: &str) -> Option<u64> {
    let path = inbox
        .join(indmon::sources::attempts::DIR)
        .join(format!("{name}.json"));
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    v["attempts"].as_u64()
}

/// `indmon pull` of the inbox configured in `dir/indmon.toml`, as a child process.
fn spawn_pull(dir: &Path, url: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir)
        .env_remove("INDMON_DATABASE_URL")
        .env("INDMON_LOG", "warn")
        .env("RUST_BACKTRACE", "0")
        .args(["--config", "indmon.toml", "--database", url, "pull"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn indmon")
}

/// The 5 KB workbook of issue 17, whose only far cell is `XFD1048576`: the reader used to
/// allocate 512 GiB for it and the process aborted (SIGABRT) on every pull, forever. Run as a
/// supervisor restarting a crashed daemon would, the pulls now end with the file refused after
/// at most `max_attempts` deaths (none once the reader itself rejects such a sheet).
#[tokio::test]
async fn a_workbook_that_aborts_the_process_is_refused_after_max_attempts_deaths() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        std::fs::copy(
            fixture("far_cell_xfd1048576.xlsx"),
            inbox.join("东岭区10月.xlsx"),
        )
        .unwrap();
        let cfg = format!(
            "[[sources]]\nname = \"{SOURCE}\"\nkind = \"dir\"\npath = '{}'\nsettle_secs = 0\n",
            inbox.display()
        );
        write(&dir, "indmon.toml", cfg);
        let mut deaths = 0;
        let mut runs = 0;
        while inbox.join("东岭区10月.xlsx").exists() {
            runs += 1;
            assert!(
                runs <= 3,
                "still looping after {runs} pulls ({deaths} deaths)"
            );
            let status = spawn_pull(dir.path(), &db.url).wait().expect("wait");
            match status.code() {
                None => deaths += 1,
                Some(code) => assert_eq!(code, 3, "a refused file is a reject"),
            }
        }
        assert!(deaths <= 2, "{deaths} deaths");
        assert!(inbox.join("rejected/东岭区10月.xlsx").exists());
        assert!(markers(&inbox).is_empty(), "{:?}", markers(&inbox));
        let status = spawn_pull(dir.path(), &db.url).wait().expect("wait");
        assert_eq!(status.code(), Some(0), "nothing left to do");
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_pull_killed_while_reading_a_large_file_does_not_loop_forever() {
    for db in TestDb::all().await {
        registry(&db.store).await;
        let dir = tempfile::tempdir().unwrap();
        let inbox = dir.path().join("inbox");
        std::fs::create_dir(&inbox).unwrap();
        large_csv(&inbox.join("大文件.csv"), 1_500_000);
        let cfg = format!(
            "[[sources]]\nname = \"{SOURCE}\"\nkind = \"dir\"\npath = '{}'\nsettle_secs = 0\n",
            inbox.display()
        );
        write(&dir, "indmon.toml", cfg);
        let spawn = || spawn_pull(dir.path(), &db.url);
        // Run pulls as a supervisor restarting a crashed daemon would, killing each one
        // (SIGKILL) as soon as its marker says it has begun reading the file.
        let mut kills = 0u64;
        let mut finished = None;
        for _ in 0..5 {
            let mut child = spawn();
            let started = Instant::now();
            loop {
                if let Some(status) = child.try_wait().expect("wait") {
                    finished = Some(status);
                    break;
                }
                if marker_attempts(&inbox, "大文件.csv") == Some(kills + 1) {
                    std::thread::sleep(Duration::from_millis(100));
                    child.kill().expect("SIGKILL");
                    let status = child.wait().expect("wait");
                    assert!(status.code().is_none(), "killed, not exited: {status:?}");
                    assert!(
                        inbox.join("大文件.csv").exists(),
                        "the kill landed while the file was read"
                    );
                    kills += 1;
                    break;
                }
                assert!(started.elapsed() < Duration::from_secs(120), "pull hangs");
                std::thread::sleep(Duration::from_millis(2));
            }
            if finished.is_some() {
                break;
            }
        }
        assert_eq!(kills, 2, "killed twice, then the file is not read again");
        let status = finished.expect("the third pull finished by itself");
        assert_eq!(status.code(), Some(3), "a refused file is a reject");
        assert!(inbox.join("rejected/大文件.csv").exists());
        let reason = reason_of(&inbox, "大文件.csv");
        assert!(reason.contains("处理该文件时进程异常终止2次"), "{reason}");
        assert!(markers(&inbox).is_empty(), "{:?}", markers(&inbox));
        // And the next pull has nothing left to do.
        let status = spawn().wait().expect("wait");
        assert_eq!(status.code(), Some(0));
        db.cleanup().await;
    }
}

/// A loopback HTTP source answering every request with the same malformed JSON page.
async fn broken_platform() -> String {
    let app = axum::Router::new().route(
        "/data",
        axum::routing::get(|| async {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                "{\"submissions\": [{\"credit_code\": ",
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/data")
}

#[tokio::test]
async fn a_refused_page_of_an_http_source_is_told_to_its_contact_once() {
    let url = broken_platform().await;
    for db in TestDb::all().await {
        let s = &db.store;
        let text = format!(
            "[mail]\nfrom = \"indmon <indmon@gxj.example.cn>\"\ntransport = \"file\"\nfile_dir = \"/nonexistent\"\n\n\
             [[recipients]]\nid = \"pt\"\nname = \"省平台运维\"\nemail = \"ops@pt.example.cn\"\nrole = \"city\"\n\n\
             [[sources]]\nname = \"平台\"\nkind = \"http\"\nurl = \"{url}\"\nretries = 0\ncontact = [\"pt\"]\n"
        );
        let cfg = Config::parse(&text).unwrap();
        assert!(cfg.validate().is_empty(), "{:?}", cfg.validate());
        for _ in 0..2 {
            let r = pull(s, &cfg).await;
            assert_eq!(r.status, PullStatus::Rejected, "{r:?}");
        }
        let q = outbox(s).await;
        assert_eq!(q.len(), 1, "told once: {q:?}");
        assert_eq!(q[0].recipient, "pt");
        assert!(
            q[0].subject.contains(&url) && q[0].text.contains("被拒收"),
            "{q:?}"
        );
        assert!(q[0].text.contains("第1行"), "{}", q[0].text);
        db.cleanup().await;
    }
}
