//! The command line as an operator uses it: exit codes, messages, and no config file needed.

use std::process::Command;

fn indmon(dir: &std::path::Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir)
        .env_remove("INDMON_DATABASE_URL")
        .args(args)
        .output()
        .expect("run indmon");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn import_exit_codes_distinguish_success_rejection_and_failure() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = indmon(
        dir.path(),
        &[
            "--database",
            "sqlite://scratch.db",
            "import",
            &fixture("units.csv"),
            &fixture("enterprises.csv"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("新增 12 行"), "{out}");

    let (code, out) = indmon(
        dir.path(),
        &[
            "--database",
            "sqlite://scratch.db",
            "import",
            &fixture("district_export_2026-10.xlsx"),
        ],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("合计行"), "{out}");

    std::fs::write(
        dir.path().join("bad.csv"),
        "credit_code,period,output\n9133078152601815XU,2026-10,1\n",
    )
    .unwrap();
    let (code, out) = indmon(
        dir.path(),
        &["--database", "sqlite://scratch.db", "import", "bad.csv"],
    );
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("bad.csv:第2行 列A credit_code [credit_code]"),
        "{out}"
    );
    assert!(out.contains("未写入任何数据"), "{out}");

    let (code, out) = indmon(
        dir.path(),
        &["--database", "mysql://x", "import", "bad.csv"],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("不支持的数据库地址"), "{out}");

    let (code, _) = indmon(dir.path(), &["import"]);
    assert_eq!(code, 2, "usage error");
}

#[test]
fn check_config_lists_every_problem_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("indmon.toml"),
        "[general]\nreport_deadline_day = 31\n[[sources]]\nname = \"x\"\nkind = \"http\"\ntoken = { env = \"INDMON_CLI_TEST_UNSET\" }\n",
    )
    .unwrap();
    let (code, out) = indmon(dir.path(), &["check-config"]);
    assert_eq!(code, 1, "{out}");
    for key in [
        "general.report_deadline_day",
        "sources[0].url",
        "sources[0].token",
        "INDMON_CLI_TEST_UNSET",
    ] {
        assert!(out.contains(key), "{key} missing in {out}");
    }

    std::fs::write(dir.path().join("typo.toml"), "[genral]\n").unwrap();
    let (code, out) = indmon(dir.path(), &["--config", "typo.toml", "check-config"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("typo.toml") && out.contains("genral"), "{out}");

    let (code, out) = indmon(
        dir.path(),
        &[
            "--config",
            &format!("{}/config/indmon.example.toml", env!("CARGO_MANIFEST_DIR")),
            "check-config",
        ],
    );
    // The example's token, SMTP password and robot webhook/secret variables are not set here:
    // exactly that is reported.
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("INDMON_PLATFORM_TOKEN")
            && out.contains("INDMON_SMTP_PASSWORD")
            && out.contains("INDMON_ROBOT_DONGLING_WEBHOOK")
            && out.contains("INDMON_ROBOT_DONGLING_SECRET")
            && out.contains("INDMON_ROBOT_CITY_WEBHOOK")
            && out.contains("5 处问题"),
        "{out}"
    );
}

/// A secret written inline where `{ env = … }` or `{ file = … }` belongs is reported by its key
/// and line, never echoed (the output of `check-config` goes to the journal under systemd).
#[test]
fn check_config_never_echoes_an_inline_secret() {
    let dir = tempfile::tempdir().unwrap();
    let http = "[[sources]]\nname = \"p\"\nkind = \"http\"\nurl = \"https://x.invalid/\"\n";
    let mail = "[mail]\nfrom = \"a@b.cn\"\nhost = \"smtp.b.cn\"\nuser = \"u\"\n";
    let cases = [
        (
            format!("{mail}password = 9876543210\n"),
            "9876543210",
            "mail.password",
        ),
        (
            format!("{mail}password = \"Mail-Pw-8a7\"\n"),
            "Mail-Pw-8a7",
            "mail.password",
        ),
        (
            format!("{mail}password = [\"Mail-Pw-in-list\"]\n"),
            "Mail-Pw-in-list",
            "mail.password",
        ),
        (
            format!("{http}token = \"Tok-3f9c\"\n"),
            "Tok-3f9c",
            "sources[0].token",
        ),
        (
            format!("{http}token = 31337.25\n"),
            "31337.25",
            "sources[0].token",
        ),
        (
            format!("{http}basic = {{ user = \"u\", password = \"Basic-Pw-55\" }}\n"),
            "Basic-Pw-55",
            "sources[0].basic.password",
        ),
        (
            format!("{http}basic = \"u:Basic-Inline-66\"\n"),
            "Basic-Inline-66",
            "sources[0].basic",
        ),
        (
            format!("{http}headers = {{ \"X-Api-Token\" = 99887766 }}\n"),
            "99887766",
            "X-Api-Token",
        ),
        (
            "[database]\npassword = \"Db-Pw-41\"\n".to_string(),
            "Db-Pw-41",
            "database.password",
        ),
    ];
    for (text, secret, key) in cases {
        std::fs::write(dir.path().join("indmon.toml"), &text).unwrap();
        let (code, out) = indmon(dir.path(), &["check-config"]);
        assert_eq!(code, 1, "{text}\n{out}");
        assert!(!out.contains(secret), "{secret} echoed for\n{text}\n{out}");
        assert!(out.contains(key), "{key} not named for\n{text}\n{out}");
    }
}

/// Three type errors in three places: all three are reported, each with its key and line.
#[test]
fn check_config_reports_every_type_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("indmon.toml"),
        "[general]\nreport_deadline_day = \"tenth\"\ncity_nmae = \"x\"\n\n\
         [[sources]]\nname = \"a\"\nkind = \"dir\"\npath = \"/tmp\"\n\n\
         [[sources]]\nname = \"b\"\nkind = \"dir\"\npath = \"/tmp\"\nretries = -1\n\n\
         [mail]\nfrom = \"a@b.cn\"\ntimeout_secs = \"30s\"\n",
    )
    .unwrap();
    let (code, out) = indmon(dir.path(), &["check-config"]);
    assert_eq!(code, 1, "{out}");
    for want in [
        "line 2) general.report_deadline_day",
        "line 3) general.city_nmae",
        "line 14) sources[1].retries",
        "line 18) mail.timeout_secs",
        "4 处错误",
    ] {
        assert!(out.contains(want), "{want} missing in {out}");
    }
}

#[test]
fn a_secret_never_appears_in_output() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out) = indmon(
        dir.path(),
        &[
            "--database",
            "postgres://indmon:TopSecret42@127.0.0.1:1/x",
            "migrate",
        ],
    );
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("TopSecret42"), "{out}");
    assert!(out.contains("indmon:***@"), "{out}");
}

/// Evaluate, list, acknowledge, silence: the commands an official at the bureau types, on the
/// sample city (twelve enterprises, October submissions only).
#[test]
fn evaluate_then_work_the_alerts_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = [
        "--database",
        "sqlite://city.db",
        "--now",
        "2026-11-22T02:00:00Z",
    ];
    let run = |args: &[&str]| indmon(dir.path(), &[&db[..], args].concat());
    let (code, out) = run(&[
        "import",
        &fixture("units.csv"),
        &fixture("enterprises.csv"),
        &fixture("submissions_gbk.csv"),
    ]);
    assert_eq!(code, 0, "{out}");

    // A thirteenth enterprise that has not reported October.
    let late = indmon::credit_code::CreditCode::with_check("91330781MA0000099").unwrap();
    std::fs::write(
        dir.path().join("late.csv"),
        format!("credit_code,name,unit_code,zone_code,industry_code,scale,key,owner\n{late},迟报实业有限公司,330782,,C3411,above,否,leader09\n"),
    )
    .unwrap();
    let (code, out) = run(&["import", "late.csv"]);
    assert_eq!(code, 0, "{out}");

    let (code, out) = run(&["evaluate", "--period", "2026-01"]);
    assert_eq!(code, 2, "January alone is refused when combined: {out}");
    assert!(out.contains("1—2月"), "{out}");

    let (code, out) = run(&["evaluate", "--period", "2026-10", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("1—10月 评估") && out.contains("东岭区"),
        "{out}"
    );
    assert!(out.contains("试运行"), "{out}");

    let (code, out) = run(&["evaluate", "--period", "2026-10", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("JSON on stdout");
    assert_eq!(json["period"], "2026-10");
    let units = json["units"].as_array().unwrap();
    assert_eq!(units.len(), 4, "{json}");
    for key in [
        "code",
        "name",
        "kind",
        "indicator",
        "ytd",
        "ytd_prev",
        "growth_pct",
        "target_pct",
        "gap_pp",
        "rank",
        "required_pct",
        "submission_rate",
        "estimated",
    ] {
        assert!(units[0].get(key).is_some(), "units[].{key} missing");
    }
    // No last year in the sample: nothing to grow against, but every enterprise reported.
    assert!(units.iter().all(|u| u["growth_pct"].is_null()), "{json}");
    let alerts = json["alerts"].as_array().unwrap();
    for a in alerts {
        for key in [
            "rule",
            "severity",
            "subject",
            "unit",
            "period",
            "consecutive",
            "state",
            "message",
            "values",
        ] {
            assert!(a.get(key).is_some(), "alerts[].{key} missing in {a}");
        }
    }

    let (code, out) = run(&["alerts", "list", "--format", "json"]);
    assert_eq!(code, 0, "{out}");
    let listed: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.len(), alerts.len(), "{out}");
    let missing = listed
        .iter()
        .find(|a| a["rule"] == "enterprise_missing")
        .expect("the late enterprise is reported missing");
    assert_eq!(missing["subject"], late.as_str());
    assert!(
        listed
            .iter()
            .any(|a| a["rule"] == "unit_low_submission_rate" && a["subject"] == "330782"),
        "{out}"
    );
    let id = missing["id"].as_i64().unwrap().to_string();
    let (code, out) = run(&["alerts", "ack", &id, "--by", "王科长", "--note", "已联系"]);
    assert_eq!(code, 0, "{out}");
    let (_, out) = run(&["alerts", "show", &id]);
    assert!(out.contains("已认领") && out.contains("王科长"), "{out}");
    let (_, out) = run(&["alerts", "list", "--state", "acknowledged"]);
    assert!(
        out.contains("迟报实业有限公司") && out.contains("共 1 条"),
        "{out}"
    );

    let (code, out) = run(&[
        "silence",
        "add",
        "--unit",
        "330781",
        "--until",
        "30d",
        "--reason",
        "计划检修",
        "--by",
        "李处长",
    ]);
    assert_eq!(code, 0, "{out}");
    let (_, out) = run(&["silence", "list"]);
    assert!(out.contains("计划检修") && out.contains("共 1 条"), "{out}");
    let (code, out) = run(&[
        "silence", "add", "--until", "30d", "--reason", "x", "--by", "y",
    ]);
    assert_eq!(code, 1, "a silence matching everything is refused: {out}");
    let (code, _) = run(&["silence", "expire", "1", "--by", "李处长"]);
    assert_eq!(code, 0);
    let (_, out) = run(&["silence", "list"]);
    assert!(out.contains("共 0 条"), "{out}");
}

/// `indmon dispatch` with the file transport writes .eml files; a second pass sends nothing;
/// `indmon outbox list --all` shows the sent digests.
#[test]
fn dispatch_writes_eml_files_and_outbox_list_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let eml = dir.path().join("eml");
    std::fs::write(
        dir.path().join("indmon.toml"),
        format!(
            "[mail]\nfrom = \"市工信局 <indmon@example.cn>\"\ntransport = \"file\"\nfile_dir = \"{}\"\n\n[[recipients]]\nid = \"city\"\nname = \"王局长\"\nemail = \"city@example.cn\"\nrole = \"city\"\n",
            eml.display()
        ),
    )
    .unwrap();
    let db = ["--database", "sqlite://scratch.db"];
    let run = |args: &[&str]| indmon(dir.path(), &[&db[..], args].concat());
    let (code, out) = run(&[
        "import",
        &fixture("units.csv"),
        &fixture("enterprises.csv"),
        &fixture("submissions_gbk.csv"),
        &fixture("district_export_2026-10.xlsx"),
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&[
        "--now",
        "2026-11-22T02:00:00Z",
        "evaluate",
        "--period",
        "2026-10",
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&["--now", "2026-11-22T02:00:00Z", "dispatch"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("摘要 1 封") && out.contains("已发送"), "{out}");
    let files: Vec<_> = std::fs::read_dir(&eml).unwrap().flatten().collect();
    assert_eq!(files.len(), 1, "{out}");
    let data = std::fs::read(files[0].path()).unwrap();
    let m = mail_parser::MessageParser::default().parse(&data).unwrap();
    let text = m.body_text(0).unwrap();
    assert!(
        text.contains("责任单位 东岭区（330781）"),
        "units by name: {text}"
    );
    let (code, out) = run(&["--now", "2026-11-22T03:00:00Z", "dispatch"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("摘要 0 封"), "{out}");
    let (code, out) = run(&["outbox", "list"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("发件箱为空"), "{out}");
    let (code, out) = run(&["outbox", "list", "--all"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("sent") && out.contains("【工业运行预警】"),
        "{out}"
    );
}

#[path = "common/xlsx.rs"]
mod xlsx;

/// A workbook saved with a formula and no result (as openpyxl does) exits 3, naming the line
/// and column, and commits nothing.
#[test]
fn a_formula_without_its_result_exits_3_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = ["--database", "sqlite://scratch.db"];
    let run = |args: &[&str]| indmon(dir.path(), &[&db[..], args].concat());
    let (code, out) = run(&["import", &fixture("units.csv"), &fixture("enterprises.csv")]);
    assert_eq!(code, 0, "{out}");
    let rows = xlsx::row(1, &[("t", "credit_code"), ("t", "period"), ("t", "output")])
        + &xlsx::row(
            2,
            &[
                ("t", "9133078152601815XT"),
                ("t", "2026-10"),
                ("x", "<f>50+50</f>"),
            ],
        );
    std::fs::write(dir.path().join("f.xlsx"), xlsx::workbook(&rows, &[])).unwrap();
    let (code, out) = run(&["import", "f.xlsx"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("f.xlsx:第2行 列C output [output] 值“=50+50”"),
        "{out}"
    );
    assert!(out.contains("公式没有计算结果"), "{out}");
    assert!(out.contains("未写入任何数据"), "{out}");
}

/// `indmon outbox list | head`: output into a pipe whose reader has gone is not a panic, and
/// the command still finishes.
#[test]
fn a_closed_pipe_on_stdout_is_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = ["--database", "sqlite://scratch.db"];
    let commands: [&[&str]; 6] = [
        &["check-config"],
        &["migrate"],
        &["outbox", "list"],
        &["alerts", "list"],
        &["sources", "status"],
        &["import", &fixture("units.csv")],
    ];
    for args in commands {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_indmon"))
            .current_dir(dir.path())
            .env_remove("INDMON_DATABASE_URL")
            .args(db)
            .args(args)
            .stdout(writer)
            .output()
            .expect("run indmon");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {err}");
    }
}

/// Logs written to a file or a pipe (the journal, `2> log.txt`) carry no ANSI colour codes.
#[test]
fn logs_off_a_terminal_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir.path())
        .env_remove("INDMON_DATABASE_URL")
        .env_remove("NO_COLOR")
        .env("INDMON_LOG", "debug")
        .args(["--database", "sqlite://scratch.db", "migrate"])
        .output()
        .expect("run indmon");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.lines().count() > 3, "expected debug logs: {err}");
    assert!(!err.contains('\u{1b}'), "colour codes in {err:?}");
}

/// What an official sees on stderr during an import into a new database is in Chinese (with
/// English in brackets), and nothing about the store's internals.
#[test]
fn every_log_line_of_an_import_is_in_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir.path())
        .env_remove("INDMON_DATABASE_URL")
        .env_remove("INDMON_LOG")
        .args(["--database", "sqlite://fresh.db", "import"])
        .arg(fixture("units.csv"))
        .output()
        .expect("run indmon");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let cjk = |l: &str| l.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    for line in err.lines().filter(|l| !l.trim().is_empty()) {
        assert!(cjk(line), "a log line without Chinese: {line}");
    }
    assert!(!err.contains("row table"), "{err}");
}

/// A migration that fails says why once: sqlx's errors repeat their cause in their own message,
/// and the chain printed whole gave the database's message three times.
#[tokio::test]
async fn a_failed_migration_says_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("taken.db").display()
    );
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE unit (x)")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (code, text) = indmon(dir.path(), &["--database", "sqlite://taken.db", "migrate"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("数据库迁移失败 (migration failed)"), "{text}");
    assert_eq!(
        text.matches("table unit already exists").count(),
        1,
        "{text}"
    );
}
