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
    // The example's token and SMTP password variables are not set here: exactly that is reported.
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("INDMON_PLATFORM_TOKEN")
            && out.contains("INDMON_SMTP_PASSWORD")
            && out.contains("2 处问题"),
        "{out}"
    );
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
