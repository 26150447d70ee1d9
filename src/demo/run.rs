//! `indmon demo`: the synthetic city run through the real pipeline on embedded SQLite — data
//! generated, the power company's files imported one 旬 at a time as they would have arrived
//! ([`super::xun`]), the submissions served from a local HTTP source on loopback and pulled one
//! month at a time as they would have arrived ([`published_at`]) — so that every row's receipt
//! is what the nowcast's backtest cuts at —, the last month's 旬 evaluated on their own days, the
//! month evaluated, digests written (.eml files) and the semimonthly snapshot written, its
//! 十、预测预警 nowcasting the current month — so that a newcomer sees in a minute what indmon
//! does for a bureau.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::Deserialize;

use super::{GenSpec, Plan, generate};
use crate::alerts::SilenceMatcher;
use crate::config::Config;
use crate::ingest::{ImportOptions, import_file};
use crate::notify::{self, Step, Transport};
use crate::store::Store;

/// What to run.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Folder for everything the demo writes (data, database, emails, report).
    pub out: PathBuf,
    pub seed: u64,
    pub enterprises: usize,
}

/// What the demo produced, for the closing summary and for tests.
#[derive(Debug)]
pub struct DemoSummary {
    pub plan: Plan,
    pub database: PathBuf,
    pub mail_dir: PathBuf,
    pub config_file: PathBuf,
    pub rows_pulled: u64,
    pub pages: u64,
    pub findings: usize,
    pub alerts_opened: u64,
    pub by_rule: Vec<(String, usize)>,
    pub digests: usize,
    /// Digests sent (written as .eml files).
    pub sent: usize,
    /// Snapshot emails to the city-level officials.
    pub snapshot_mails: usize,
    pub units: Vec<crate::analysis::UnitResult>,
    /// The snapshot's folder (report.html, report.xlsx, snapshot.json, manifest.json).
    pub snapshot_dir: PathBuf,
    /// The answers, the 销号 and the overdue case planted ([`super::answers`]).
    pub planted: super::answers::Planted,
    /// 督办 messages written for the overdue case (the reminder and the escalation).
    pub chases: usize,
    /// The power company's files imported.
    pub power: super::xun::PowerImport,
    /// The last month's three 旬 evaluations, in order.
    pub xuns: Vec<crate::evaluate::xun::XunReport>,
    /// 旬 warnings by rule, each subject once.
    pub xun_by_rule: Vec<(String, usize)>,
    /// 疑似停产 warnings the monthly stall confirmed.
    pub confirmed: Vec<super::xun::Confirmed>,
    /// The snapshot's 十、预测预警 text (the nowcast, both methods' errors, the year end).
    pub nowcast: Vec<String>,
}

/// The paragraphs of 十、预测预警 in the snapshot written into `dir`.
fn nowcast_text(dir: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(dir.join("snapshot.json"))?;
    let json: serde_json::Value = serde_json::from_slice(&bytes)?;
    Ok(json["forecast"]["paragraphs"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// The demo's clock: 20 November 2026, 10:00 in Shanghai — after October's reporting deadline.
pub fn demo_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// The JSON pages of the generated HTTP source by stem, in delivery order: the months'
/// submissions, then the key projects' progress (`project-progress` sorts after every month).
fn pages(data: &Path) -> anyhow::Result<Vec<(String, Vec<PathBuf>)>> {
    let mut stems: Vec<PathBuf> = std::fs::read_dir(data.join("http"))
        .context("no http pages were generated")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    // "2026-10" < "2026-10-late" < "2026-10-revision": name order is delivery order.
    stems.sort();
    let mut out = Vec::new();
    for s in stems {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&s)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        let stem = s
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        out.push((stem, files));
    }
    Ok(out)
}

/// When the reporting platform has the pages of `stem` in the demo: a month's submissions on
/// the 9th of the next month (before the deadline of the 10th), its late rows on the 15th, its
/// revision on the 18th, 10:00 Shanghai time; anything else (the projects' progress) at `now`.
/// Never after `now`.
pub fn published_at(stem: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    let (month, day) = match stem.split_once("-late").or(stem.split_once("-revision")) {
        Some((m, _)) if stem.ends_with("-late") => (m, 15),
        Some((m, _)) => (m, 18),
        None => (stem, 9),
    };
    let Ok(p) = month.parse::<crate::period::Period>() else {
        return now;
    };
    let next = p.next();
    Shanghai
        .with_ymd_and_hms(next.year(), next.month(), day, 10, 0, 0)
        .single()
        .map_or(now, |t| t.with_timezone(&Utc).min(now))
}

#[derive(Deserialize)]
struct CursorQuery {
    cursor: Option<usize>,
}

/// The pages the demo's platform serves: the first `released` of them so far.
struct Served {
    pages: Vec<PathBuf>,
    released: AtomicUsize,
}

/// Serves page `cursor` (0 when absent) with the cursor of the next one, like a reporting
/// platform's API; a cursor past the pages released so far gets an empty page that keeps it.
async fn page(
    State(served): State<Arc<Served>>,
    Query(q): Query<CursorQuery>,
) -> impl IntoResponse {
    let i = q.cursor.unwrap_or(0);
    let released = served
        .released
        .load(Ordering::SeqCst)
        .min(served.pages.len());
    let Some(path) = served.pages[..released].get(i) else {
        let empty =
            serde_json::json!({"submissions": [], "next_cursor": i.to_string(), "has_more": false});
        return (StatusCode::OK, empty.to_string());
    };
    let Ok(text) = tokio::fs::read_to_string(path).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    };
    let Ok(mut json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
    };
    json["next_cursor"] = (i + 1).to_string().into();
    json["has_more"] = (i + 1 < released).into();
    (StatusCode::OK, json.to_string())
}

/// Pulls the platform's pages as they are published: each stem's pages released, then pulled
/// at [`published_at`], so that every row's `received_at` is when it would have arrived.
async fn pull_staged(
    store: &Store,
    config: &Config,
    served: &Served,
    stems: &[(String, usize)],
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let mut rows = 0;
    for (stem, n) in stems {
        served.released.fetch_add(*n, Ordering::SeqCst);
        for r in crate::sources::pull(store, config, None, published_at(stem, now)).await? {
            anyhow::ensure!(
                r.error.is_none(),
                "pull failed: {}",
                crate::sources::summary_line(&r)
            );
            rows += r.accepted + r.revised + r.unchanged;
        }
    }
    Ok(rows)
}

/// Where `indmon serve` with the demo's configuration opens the officials' console.
pub const DEMO_CONSOLE: &str = "127.0.0.1:8080";

/// The configuration the demo runs with (also written beside the database for reuse).
fn config_text(data: &Path, url: &str, mail_dir: &Path) -> anyhow::Result<String> {
    let mut t = format!(
        r#"# indmon 演示配置 (demo configuration), written by `indmon demo`.
[general]
city_name = "云州市"

[[sources]]
name = "市直报平台（演示）"
kind = "http"
url = "{url}"
format = "json"
cursor_param = "cursor"
timeout_secs = 30

[mail]
from = "云州市工信局运行监测 <indmon@demo.invalid>"
transport = "file"
file_dir = "{}"
attachment = "xlsx"

# 官员控制台：indmon --config 本文件 serve 后在浏览器打开 (the console of `indmon serve`)
[console]
listen = "{DEMO_CONSOLE}"
"#,
        mail_dir.display()
    );
    t.push_str(
        "\n[[recipients]]\nid = \"city\"\nname = \"市工信局运行科\"\nemail = \"yunxing@demo.invalid\"\nrole = \"city\"\nlabel = \"全市\"\nmin_severity = \"yellow\"\n",
    );
    let mut units = csv::Reader::from_path(data.join("units.csv"))?;
    for row in units.records() {
        let row = row?;
        let (code, name, kind) = (&row[0], &row[1], &row[2]);
        if kind == "city" {
            continue;
        }
        t.push_str(&format!(
            "\n[[recipients]]\nid = \"u{code}\"\nname = \"{name}经信局\"\nemail = \"u{code}@demo.invalid\"\nrole = \"{kind}\"\nlabel = \"{name}\"\nunits = [\"{code}\"]\nsupervisor = \"city\"\ncase_owner = true\n"
        ));
    }
    for n in 1..=3 {
        t.push_str(&format!(
            "\n[[recipients]]\nid = \"leader{n:02}\"\nname = \"包抓领导{n:02}\"\nemail = \"leader{n:02}@demo.invalid\"\nrole = \"owner\"\nsupervisor = \"city\"\n"
        ));
    }
    Ok(t)
}

/// Runs the whole demo, telling `progress` what it is doing.
pub async fn run(opts: &DemoOptions, progress: &dyn Fn(&str)) -> anyhow::Result<DemoSummary> {
    let now = demo_now();
    let out = &opts.out;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let data = out.join("data");
    let mail_dir = out.join("mail");
    let database = out.join("indmon.db");
    for stale in [data.clone(), mail_dir.clone()] {
        if stale.exists() {
            std::fs::remove_dir_all(&stale)?;
        }
    }
    for ext in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(out.join(format!("indmon.db{ext}")));
    }
    std::fs::create_dir_all(&mail_dir)?;

    progress(&format!(
        "[1/8] 生成示例城市：{} 家规上企业，种子 {} (generating the synthetic city)",
        opts.enterprises, opts.seed
    ));
    let spec = GenSpec {
        seed: opts.seed,
        enterprises: opts.enterprises,
        below_scale: (opts.enterprises * 150 / 765).max(1),
        ..GenSpec::default()
    };
    let plan = generate(&spec, &data)?;

    progress(
        "[2/8] 建立数据库并导入名录、目标、重点项目、用电户号和日用电量 (registry, targets, key projects and daily electricity into SQLite)",
    );
    let store = Store::connect(&format!("sqlite://{}", database.display())).await?;
    store.migrate().await?;
    for f in [
        "units.csv",
        "enterprises.csv",
        "targets.csv",
        "unit_indicators.csv",
        "projects.csv",
    ] {
        let r = import_file(&store, &data.join(f), &ImportOptions::new(now)).await?;
        anyhow::ensure!(
            r.committed && r.rejected == 0,
            "{f}: {}",
            crate::ingest::summary_line(&r)
        );
    }
    let power = super::xun::import_power(&store, &data, now).await?;

    progress(
        "[3/8] 启动本地数据接口，按月拉取报表（每月10日前到达） (serving the data on loopback and pulling each month as it arrives)",
    );
    let by_stem = pages(&data)?;
    let stems: Vec<(String, usize)> = by_stem.iter().map(|(s, p)| (s.clone(), p.len())).collect();
    let served = Arc::new(Served {
        pages: by_stem.into_iter().flat_map(|(_, p)| p).collect(),
        released: AtomicUsize::new(0),
    });
    let n_pages = served.pages.len() as u64;
    let app = axum::Router::new()
        .route("/submissions", axum::routing::get(page))
        .with_state(served.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/submissions", listener.local_addr()?);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let config_file = out.join("indmon.toml");
    let text = config_text(&data, &url, &mail_dir)?;
    std::fs::write(&config_file, &text)?;
    let config = Config::parse(&text).map_err(|p| anyhow::anyhow!("demo config: {p}"))?;
    let rows = pull_staged(&store, &config, &served, &stems, now).await;
    server.abort();
    let rows = rows?;

    if let Some(m) = &plan.maintenance {
        let matcher = SilenceMatcher {
            subject: Some(m.credit_code.clone()),
            ..SilenceMatcher::default()
        };
        let start = now.timestamp_millis();
        store
            .add_silence(
                &matcher,
                start,
                start + 60 * 86_400_000,
                &format!("{}计划停产检修（三年一次）", m.name),
                "演示",
                start,
            )
            .await?;
    }

    progress(
        "[4/8] 按旬评估10月用电（上、中、下旬），再评估 2026年1—10月 (the 旬 of October, then the month)",
    );
    let period = spec.months_to;
    let xuns = super::xun::evaluate_month(&store, &config, period).await?;
    let (report, _) = crate::evaluate::run(&store, &config, period, now, false).await?;
    // What the summary says of the 旬 warnings is what was stored: issued, and checked by the month.
    let issued = store.xun_warnings_between(0, i64::MAX).await?;
    let confirmed = super::xun::confirmed(&issued, period, &report.findings);
    let xun_by_rule = super::xun::warned_by_rule(&issued, period);
    let mut by_rule: std::collections::BTreeMap<String, usize> = Default::default();
    for f in &report.findings {
        *by_rule.entry(f.rule.to_string()).or_default() += 1;
    }

    progress("[5/8] 生成并发送预警摘要邮件（写为 .eml 文件） (digests to .eml files)");
    let dispatched = notify::dispatch(&store, &config, now).await?;
    let mail = config
        .mail
        .as_ref()
        .context("the demo configuration has [mail]")?;
    let transport = Transport::from_config(mail)?;
    let steps = notify::drain(&store, &transport, &notify::policy(mail), now).await?;
    let sent = steps
        .iter()
        .filter(|s| matches!(s, Step::Sent { .. }))
        .count();

    progress(
        "[6/8] 官员反馈：预置4条反馈（1条已销号）和1件超期督办事项 (planted answers and one overdue case)",
    );
    // An hour later the officials have answered; the next dispatch chases the overdue case.
    let answered_at = now + chrono::Duration::hours(1);
    let planted = super::answers::plant(&store, &config, now, answered_at).await?;
    let chased = notify::dispatch(&store, &config, answered_at).await?;
    notify::drain(&store, &transport, &notify::policy(mail), answered_at).await?;

    progress(
        "[7/8] 写出半月运行分析快照并发给市级领导 (the semimonthly snapshot, emailed to the city)",
    );
    let half = crate::report::Half::latest_ended(now);
    let written = crate::report::generate_at(
        &store,
        &config,
        half,
        &out.join("snapshots"),
        answered_at + chrono::Duration::hours(1),
    )
    .await?;
    let snapshot_mails = notify::snapshot::enqueue(&store, &config, &written.dir, now).await?;
    let nowcast = nowcast_text(&written.dir)?;
    notify::drain(&store, &transport, &notify::policy(mail), now).await?;

    progress("[8/8] 完成 (done)");
    store.close().await;
    Ok(DemoSummary {
        plan,
        database,
        mail_dir,
        config_file,
        rows_pulled: rows,
        pages: n_pages,
        findings: report.findings.len(),
        alerts_opened: report.applied.opened,
        by_rule: by_rule.into_iter().collect(),
        digests: dispatched.digests.len(),
        sent,
        snapshot_mails,
        units: report.units,
        snapshot_dir: written.dir,
        planted,
        chases: chased.chases.len(),
        power,
        xuns,
        xun_by_rule,
        confirmed,
        nowcast,
    })
}
