//! The demo end to end: the synthetic city is served on loopback, pulled, evaluated and
//! digested; what it produced must match what the generator planted.

mod common;

use std::collections::HashMap;

use indmon::demo::run::{DemoOptions, run};
use indmon::store::Store;

use common::scalar;

#[tokio::test]
async fn the_demo_finds_what_the_generator_planted_and_writes_readable_emails_and_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let opts = DemoOptions {
        out: dir.path().join("demo"),
        seed: 2026,
        enterprises: 765,
    };
    let lines = std::sync::Mutex::new(Vec::new());
    let s = run(&opts, &|l| lines.lock().unwrap().push(l.to_string()))
        .await
        .expect("demo runs");
    assert_eq!(lines.lock().unwrap().len(), 8, "eight progress steps");

    let count = |rule: &str| {
        s.by_rule
            .iter()
            .find(|(r, _)| r == rule)
            .map_or(0, |(_, n)| *n)
    };
    // The states the generator computed from its own integers, found by the rules.
    let st = &s.plan.states;
    assert!(st.stalled + st.semi_stalled + st.reduced > 100, "{st:?}");
    assert_eq!(count("enterprise_stalled"), st.stalled);
    assert_eq!(count("enterprise_semi_stalled"), st.semi_stalled);
    assert_eq!(count("enterprise_reduced"), st.reduced);
    let missing_oct = s
        .plan
        .missing
        .iter()
        .filter(|m| m.period == s.plan.months_to)
        .count();
    assert_eq!(
        count("enterprise_missing"),
        missing_oct,
        "never-arriving October rows"
    );
    assert!(count("unit_below_target") >= 1, "{:?}", s.by_rule);

    // Every generated row arrived over HTTP, and the revision is a revision.
    let store = Store::connect(&format!("sqlite://{}", s.database.display()))
        .await
        .unwrap();
    let mut expected = 0;
    for f in std::fs::read_dir(opts.out.join("data/submissions")).unwrap() {
        let p = f.unwrap().path();
        if !p.to_string_lossy().ends_with("-revision.csv") {
            expected += std::fs::read_to_string(&p).unwrap().lines().count() - 1;
        }
    }
    assert_eq!(store.count("submission").await.unwrap() as usize, expected);
    assert_eq!(store.count("submission_history").await.unwrap(), 1);

    // Key projects: the registry was imported, the progress pulled over HTTP, and each project
    // rule fired for exactly the projects the generator planted for it.
    let pp = &s.plan.projects;
    assert_eq!(store.count("project").await.unwrap() as usize, pp.count);
    let progress_rows = std::fs::read_to_string(opts.out.join("data/project_progress.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(
        store.count("project_progress").await.unwrap() as usize,
        progress_rows
    );
    let alerts = store
        .alerts(&indmon::alerts::AlertFilter::default())
        .await
        .unwrap();
    for (rule, planted) in [
        ("project_not_started", &pp.not_started),
        ("project_behind_schedule", &pp.behind_schedule),
        ("project_idle", &pp.idle),
        ("project_missing", &pp.missing),
    ] {
        let mut fired: Vec<&str> = alerts
            .iter()
            .filter(|a| a.rule == rule)
            .map(|a| a.subject.as_str())
            .collect();
        fired.sort();
        assert!(!planted.is_empty(), "{rule} is planted");
        assert_eq!(fired, *planted, "{rule}");
        assert_eq!(count(rule), planted.len(), "{rule}");
    }
    early_stops_are_warned_after_the_first_xun(&store, &s, &alerts).await;
    store.close().await;

    // The emails: one file per digest, each parsing as Chinese HTML + text with an attachment,
    // and nothing about the silenced refinery.
    let maintenance = s.plan.maintenance.as_ref().expect("a planned overhaul");
    let mut seen = 0;
    let mut snapshot_mails = 0;
    let mut chases = 0;
    let mut subjects: HashMap<String, usize> = HashMap::new();
    for f in std::fs::read_dir(&s.mail_dir).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let m = mail_parser::MessageParser::default()
            .parse(&bytes)
            .expect("parses");
        let subject = m.subject().unwrap_or_default().to_string();
        if subject.starts_with("【运行分析】") {
            // The snapshot to the city: its analysis text, the page and the workbook attached.
            assert_eq!(
                subject,
                "【运行分析】云州市工业经济运行分析 2026年11月上半月（数据期1—10月）"
            );
            let text = m.body_text(0).unwrap_or_default();
            assert!(text.contains("1—10月，全市规模以上工业"), "{text}");
            let names: Vec<&str> = m
                .attachments()
                .filter_map(mail_parser::MimeHeaders::attachment_name)
                .collect();
            assert_eq!(
                names,
                [
                    "云州市工业经济运行分析-2026-11-H1.html",
                    "云州市工业经济运行分析-2026-11-H1.docx",
                    "云州市工业经济运行分析-2026-11-H1.xlsx"
                ]
            );
            let xlsx = m.attachments().nth(2).unwrap().contents();
            assert_eq!(
                xlsx,
                std::fs::read(s.snapshot_dir.join("report.xlsx")).unwrap()
            );
            snapshot_mails += 1;
            continue;
        }
        if subject.starts_with("【督办】") {
            // The planted overdue case: a reminder to its owner and 督办 to the city, linked.
            let text = m.body_text(0).unwrap_or_default();
            let overdue = s.planted.overdue.expect("an overdue case");
            assert!(
                text.contains(&format!("http://127.0.0.1:8080/cases/{overdue}")),
                "{text}"
            );
            chases += 1;
            continue;
        }
        assert!(subject.starts_with("【工业运行预警】"), "{subject}");
        assert!(m.body_html(0).is_some() && m.body_text(0).is_some());
        assert!(m.attachment_count() >= 1, "{subject}");
        let text = m.body_text(0).unwrap_or_default();
        assert!(!text.contains(&maintenance.name), "silenced: {subject}");
        *subjects.entry(subject).or_default() += 1;
        seen += 1;
    }
    assert_eq!(seen, s.sent);
    assert_eq!(snapshot_mails, s.snapshot_mails);
    assert_eq!((chases, s.chases), (2, 2), "a reminder and 督办, once each");
    assert!(
        snapshot_mails >= 1,
        "the city-level officials get the snapshot"
    );

    // The report: the workbook opens with an independent reader and counts the same stalled
    // enterprises; the HTML names the city and the period.
    use calamine::Reader;
    let book: calamine::Xlsx<_> =
        calamine::open_workbook(s.snapshot_dir.join("report.xlsx")).expect("workbook opens");
    let names = book.sheet_names().to_vec();
    assert!(
        names
            .iter()
            .any(|n| n == indmon::report::xlsx::SHEET_STATES),
        "{names:?}"
    );
    assert!(
        names
            .iter()
            .any(|n| n == indmon::report::xlsx::SHEET_PROJECTS),
        "{names:?}"
    );
    let html = std::fs::read_to_string(s.snapshot_dir.join("report.html")).unwrap();
    assert!(
        html.contains("云州市") && html.contains("1—10月"),
        "report names city and period"
    );
    assert!(
        html.contains("五、重点项目") && html.contains(&format!("全市重点项目{}个", pp.count)),
        "the key projects section"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(s.snapshot_dir.join("snapshot.json")).unwrap())
            .unwrap();
    assert!(json.to_string().contains("2026-10"), "snapshot of October");
    assert_eq!(
        json["projects"]["list"].as_array().unwrap().len(),
        pp.count,
        "every project in snapshot.json"
    );
    assert!(
        s.sent >= 5,
        "city, districts and zones get digests: {}",
        s.sent
    );

    // The loop in the report: four answers on time (due 27 November), one case overdue (due
    // 13 November) → 4 of 5 = 80.0%; two open stall cases expect December (the third January,
    // the fourth was closed); one problem for the city; one 销号.
    let l = &json["loop"];
    assert_eq!(l["total"]["answered_on_time"], 4, "{l}");
    assert_eq!(l["total"]["overdue"], 1, "{l}");
    assert_eq!(l["total"]["on_time_pct"], 80.0, "{l}");
    assert_eq!(l["resume_next_month"], 2, "{l}");
    assert_eq!(l["coordination"].as_array().unwrap().len(), 1, "{l}");
    assert_eq!(l["closed"].as_array().unwrap().len(), 1, "{l}");
    assert!(html.contains("八、反馈办理情况"), "the loop's section");
    assert!(html.contains("预计下月（12月）复产2户"), "the loop's text");
    nowcast_of_november_shows_with_its_measured_error(&json, &html);
}

/// 十、预测预警: November nowcast as of the snapshot (20 November) from 11月上旬's electricity,
/// twelve backtest months each with 24 months of paired history, the forecast shown chosen on
/// the earlier six and its error measured on the later six.
fn nowcast_of_november_shows_with_its_measured_error(json: &serde_json::Value, html: &str) {
    let f = &json["forecast"];
    assert_eq!(f["span_zh"], "2026年11月", "{f}");
    let city = &f["detail"][0];
    assert_eq!(city["partial"]["label"], "11月上旬", "{city}");
    assert!(city["reason"].is_null(), "{}", city["reason"]);
    let bt = &city["backtest"];
    assert_eq!(bt["months"].as_array().unwrap().len(), 12, "{bt}");
    assert_eq!(bt["months"][0]["label"], "10月", "October 2025 first: {bt}");
    let (model, naive) = (
        bt["model"]["mae_earlier"].as_f64().unwrap(),
        bt["naive"]["mae_earlier"].as_f64().unwrap(),
    );
    let shown = if model < naive { "model" } else { "naive" };
    assert_eq!(city["shown"], shown, "chosen on the earlier half: {bt}");
    let row = &f["units"][0];
    let month = &row["month"];
    assert!(
        month["low"].as_f64().unwrap() <= month["pct"].as_f64().unwrap()
            && month["pct"].as_f64().unwrap() <= month["high"].as_f64().unwrap(),
        "{row}"
    );
    assert_eq!(row["error_pp"], bt["chosen_mae"], "{row}");
    assert!(html.contains("十、预测预警"), "the nowcast's section");
    let basis = if shown == "model" {
        "按11月上旬用电测算，11月全市规上工业产值"
    } else {
        "按上月增速推算，11月全市规上工业产值"
    };
    assert!(html.contains(basis), "{basis}");
    assert!(html.contains("近6个月平均误差"), "its measured error");
    assert!(html.contains("回测近12个月"), "both methods' errors");
}

/// A plant that stops on the 3rd of October: its days in the database show it, the 旬
/// evaluation of 10月上旬 (13 October) warns 疑似停产, and the monthly evaluation of 20 November
/// confirms the stall — five weeks later.
async fn early_stops_are_warned_after_the_first_xun(
    store: &Store,
    s: &indmon::demo::run::DemoSummary,
    alerts: &[indmon::alerts::Alert],
) {
    use chrono::NaiveDate;
    use indmon::demo::xun::evaluated_at;
    use indmon::power::Xun;

    let october = "2026-10".parse().unwrap();
    let first_xun = evaluated_at(Xun::new(october, 1).unwrap());
    assert_eq!(first_xun.to_rfc3339(), "2026-10-13T02:00:00+00:00");
    let now = indmon::demo::run::demo_now().timestamp_millis();
    let mut early = Vec::new();
    for warned in alerts.iter().filter(|a| {
        a.rule == "enterprise_power_stalled" && a.opened_at == first_xun.timestamp_millis()
    }) {
        let Some(stall) = alerts
            .iter()
            .find(|a| a.rule == "enterprise_stalled" && a.subject == warned.subject)
        else {
            continue;
        };
        assert_eq!(
            stall.opened_at, now,
            "the monthly stall comes with the monthly data"
        );
        if stall.consecutive == 1 {
            early.push(warned.subject.clone());
        }
    }
    assert!(early.len() >= 3, "{early:?}");
    let from_summary: Vec<&str> = s
        .confirmed
        .iter()
        .filter(|c| c.new_this_month && c.xun == "10月上旬")
        .map(|c| c.credit_code.as_str())
        .collect();
    early.sort();
    let mut listed = from_summary.clone();
    listed.sort();
    assert_eq!(listed, early);
    // Their days: the 1st and 2nd (holidays, at the holiday level) well above every day from
    // the 3rd, the working days 8–10 included (a 10% base load).
    let day = |d: u32| NaiveDate::from_ymd_opt(2026, 10, d).unwrap();
    let stored = store.power_days(&[day(1)..=day(10)]).await.unwrap();
    let output = |code: &str, p: &'static str| {
        let code = code.to_string();
        async move {
            let v = common::value(store, &code, p, "output").await;
            v.and_then(|v| v.parse::<f64>().ok())
        }
    };
    let mut on_the_3rd = 0;
    for code in &early {
        // A plant stopped since September on a zero base (stopped last September too) is a new
        // stall to the rules' streak, though its stop did not begin on the 3rd of October.
        if output(code, "2026-09").await == Some(0.0) {
            assert_eq!(output(code, "2025-09").await, Some(0.0), "{code}");
            continue;
        }
        let days = stored
            .iter()
            .find(|(c, _)| c.as_str() == code)
            .map(|(_, d)| d)
            .expect("metered");
        let before = days[&day(1)].min(days[&day(2)]);
        let after = (3..=10).map(|d| days[&day(d)]).max().unwrap();
        assert!(before > 3 * after, "{code}: {days:?}");
        on_the_3rd += 1;
    }
    assert!(on_the_3rd >= 3, "{early:?}");
    // Every 疑似停产 warned in a 旬 whose month is a stall is counted once.
    let stalled: std::collections::HashSet<&str> = alerts
        .iter()
        .filter(|a| a.rule == "enterprise_stalled")
        .map(|a| a.subject.as_str())
        .collect();
    let warned: std::collections::HashSet<&str> = alerts
        .iter()
        .filter(|a| a.rule == "enterprise_power_stalled")
        .map(|a| a.subject.as_str())
        .collect();
    assert_eq!(s.confirmed.len(), warned.intersection(&stalled).count());
    // The summary read the stored warnings: each early stop's 10月上旬 warning, issued on 13
    // October, was set confirmed (停产) by the monthly evaluation.
    let issued = store.xun_warnings_between(0, i64::MAX).await.unwrap();
    for code in &early {
        let w = issued
            .iter()
            .find(|w| w.xun == "2026-10-D1" && &w.credit_code == code)
            .expect("stored");
        assert_eq!(w.rule, "enterprise_power_stalled");
        assert_eq!(w.issued_at, first_xun.timestamp_millis());
        assert_eq!(w.outcome.as_deref(), Some("confirmed"), "{code}");
        assert_eq!(
            w.monthly_rule.as_deref(),
            Some("enterprise_stalled"),
            "{code}"
        );
    }
    let stored_rules: std::collections::BTreeSet<&str> =
        issued.iter().map(|w| w.rule.as_str()).collect();
    let summary_rules: std::collections::BTreeSet<&str> =
        s.xun_by_rule.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(stored_rules, summary_rules);
    // Every 旬 from 2022-10 上旬 to 2026-11 上旬 delivered three days after it ended: 148
    // deliveries, 1,502 days of each metered enterprise.
    assert_eq!(s.power.files, 49 * 3 + 1);
    let (accounts, days) = (s.power.accounts, s.power.days);
    assert!(
        accounts > 700 && days % 1502 == 0 && days / 1502 > 650,
        "{:?}",
        s.power
    );
    staged_arrivals(store).await;
}

/// Rows carry when they would have arrived: each month's submissions on the 9th of the next
/// month, each 旬's days three days after it ended — what the nowcast's backtest cuts at.
async fn staged_arrivals(store: &Store) {
    use indmon::demo::run::published_at;
    use indmon::demo::xun::delivered_at;
    use indmon::power::Xun;

    let now = indmon::demo::run::demo_now();
    let sept = published_at("2025-09", now).timestamp_millis();
    assert_eq!(
        sept,
        common::shanghai(2025, 10, 9, 10).timestamp_millis(),
        "the 9th of October, 10:00"
    );
    let q = "SELECT MIN(received_at) FROM submission WHERE period = '2025-09'";
    assert_eq!(scalar(store, q).await, sept);
    let q = "SELECT MAX(received_at) FROM submission WHERE period = '2025-09'";
    assert_eq!(scalar(store, q).await, sept);
    let months = "SELECT COUNT(DISTINCT received_at) FROM submission WHERE period < '2026-10'";
    assert_eq!(scalar(store, months).await, 48, "one arrival per month");
    let first = delivered_at(Xun::new("2025-10".parse().unwrap(), 1).unwrap());
    assert_eq!(first.to_rfc3339(), "2025-10-13T00:00:00+00:00");
    let q = "SELECT MIN(received_at) FROM power_daily WHERE day >= '2025-10-01' AND day <= '2025-10-10'";
    assert_eq!(scalar(store, q).await, first.timestamp_millis());
    let q = "SELECT MAX(received_at) FROM power_daily WHERE day >= '2025-10-01' AND day <= '2025-10-10'";
    assert_eq!(scalar(store, q).await, first.timestamp_millis());
    // November: its 上旬 only (the 中旬 arrives on the 23rd, after the demo's clock).
    let q = "SELECT COUNT(*) FROM power_daily WHERE day > '2026-11-10'";
    assert_eq!(scalar(store, q).await, 0);
    let q = "SELECT COUNT(*) FROM power_daily WHERE day >= '2026-11-01'";
    assert!(scalar(store, q).await > 650 * 10);
}
