//! Ingestion of faulty files, end to end on SQLite and PostgreSQL: the line a reject names
//! whatever the line endings, encoding and BOM; an open quote; duplicate JSON keys; huge fields.

mod common;

use common::*;
use indmon::ingest::import_file;

const NANHU: &str = "913307811860913921";
const BEIGANG: &str = "91330781190937864H";
const DONGLING: &str = "9133078152601815XT";

/// A CSV whose second record spans lines 2–3 (a quoted name with a line break), whose third
/// record (line 4) and fifth (line 6, after a blank line) are rejected.
fn two_bad_rows(eol: &str) -> String {
    [
        "credit_code,name,period,output".to_string(),
        format!("{NANHU},\"南湖纺织{eol}股份有限公司\",2026-10,8357.9"),
        format!("{BEIGANG},\"北港化工\",2026-10,一千"),
        String::new(),
        format!("{DONGLING},东岭精密,2026-10,-5"),
        String::new(),
    ]
    .join(eol)
}

#[tokio::test]
async fn rejects_name_their_line_whatever_the_line_endings_bom_and_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (eol, eol_name) in [("\n", "lf"), ("\r\n", "crlf")] {
        let text = two_bad_rows(eol);
        files.push(write(&dir, &format!("{eol_name}.csv"), &text));
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(text.as_bytes());
        files.push(write(&dir, &format!("{eol_name}_bom.csv"), bom));
        let (gbk, _, _) = encoding_rs::GBK.encode(&text);
        files.push(write(&dir, &format!("{eol_name}_gbk.csv"), &gbk));
    }
    for db in TestDb::all().await {
        registry(&db.store).await;
        for f in &files {
            let r = import_file(&db.store, f, &opts()).await.unwrap();
            let lines: Vec<u64> = r.rejects.iter().map(|x| x.line).collect();
            assert_eq!(
                lines,
                [4, 6],
                "{} on {}: {:?}",
                f.display(),
                db.name,
                r.rejects
            );
            assert!(
                r.rejects[0].to_string().starts_with("第4行 列D"),
                "{:?}",
                r.rejects
            );
            let kept: Vec<u64> = db
                .store
                .rejects(r.run_id)
                .await
                .unwrap()
                .iter()
                .map(|x| x.line)
                .collect();
            assert_eq!(kept, [4, 6], "{}", f.display());
        }
        db.cleanup().await;
    }
}

#[tokio::test]
async fn an_unclosed_quote_is_reported_as_such_at_the_line_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "credit_code,name,period,output\r\n{NANHU},南湖,2026-10,1\r\n{BEIGANG},\"北港化工,2026-10,2\r\n{DONGLING},东岭,2026-10,3\r\n"
    );
    let path = write(&dir, "open_quote.csv", text);
    for db in TestDb::all().await {
        registry(&db.store).await;
        let r = import_file(&db.store, &path, &opts()).await.unwrap();
        assert!(!r.committed);
        let text: Vec<String> = r.rejects.iter().map(|x| x.to_string()).collect();
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(text[0].starts_with("第3行"), "{text:?}");
        assert!(text[0].contains("引号未闭合"), "{text:?}");
        assert!(text[0].contains("B列"), "{text:?}");
        assert!(!text[0].contains("字段，表头有"), "{text:?}");
        assert_eq!(db.store.count("submission").await.unwrap(), 0);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_json_record_with_a_key_given_twice_is_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let page = format!(
        "{{\"submissions\": [\n  {{\"credit_code\": \"{NANHU}\", \"period\": \"2026-10\", \"output\": 8357.9}},\n  {{\"credit_code\": \"{BEIGANG}\", \"period\": \"2026-10\", \"output\": 1, \"output\": 1000}}\n]}}\n"
    );
    let path = write(&dir, "dup.json", page);
    for db in TestDb::all().await {
        registry(&db.store).await;
        let r = import_file(&db.store, &path, &opts()).await.unwrap();
        assert!(!r.committed, "{}", db.name);
        let text: Vec<String> = r.rejects.iter().map(|x| x.to_string()).collect();
        assert_eq!(text.len(), 1, "{text:?}");
        assert!(
            text[0].contains("第2条记录中键“output”出现了两次"),
            "{text:?}"
        );
        assert_eq!(db.store.count("submission").await.unwrap(), 0);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn a_huge_rejected_field_is_kept_and_shown_cut_with_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let huge = "x".repeat(10_000_000);
    let text = format!("credit_code,period,output\n{NANHU},2026-10,{huge}\n{BEIGANG},{huge},1\n");
    let path = write(&dir, "huge.csv", text);
    for db in TestDb::all().await {
        registry(&db.store).await;
        let r = import_file(&db.store, &path, &opts()).await.unwrap();
        assert!(!r.committed);
        let kept = db.store.rejects(r.run_id).await.unwrap();
        assert_eq!(kept.len(), 2, "{}", db.name);
        assert_eq!(kept, r.rejects);
        for x in &kept {
            let shown = x.to_string();
            assert!(
                shown.chars().count() < 1_000,
                "{}: {} chars",
                db.name,
                shown.len()
            );
            assert!(x.value.starts_with(&"x".repeat(200)), "{}", db.name);
            assert!(
                x.value.ends_with("…（共10000000字节）"),
                "{:?}",
                &x.value[190..]
            );
            assert!(x.reason.contains("…（共10000000字节）"), "{}", x.reason);
            assert!(x.reason.len() < 1_000, "{}", x.reason.len());
        }
        db.cleanup().await;
    }
}
