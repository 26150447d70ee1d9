//! Key projects (重点项目): the registry and monthly progress imported like the other files
//! (Chinese headers, revisions, rejects with their reasons), and the four project rules on
//! hand-computed progress, through the alert lifecycle, on both backends.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use indmon::alerts::AlertFilter;
use indmon::config::Config;
use indmon::evaluate;
use indmon::ingest::{ImportOptions, Kind, import_file};
use indmon::store::Store;

const PROJECTS_ZH: &str = "\
项目编号,项目名称,所属县区,责任单位/包抓领导,总投资（万元）,年度计划投资,计划开工,计划竣工,计划投产,项目状态
XM-A,东岭年产5万吨新材料项目,330781,leader01,50000,1200,2026-02,2027-06,2027-09,在建
XM-B,东岭智能装备项目,330781,leader02,30000,1200,2026-01-15,2026-12,2027-03,在建
XM-C,西湖生物医药项目,330782,,8000,,2026年6月,2027-12,2028-03,储备
";

const PROGRESS_ZH: &str = "\
项目编号,报告期,本月完成投资,1-本月累计完成投资,状态
XM-A,2026-08,90,690,在建
XM-A,2026-09,10,700,在建
XM-A,2026-10,179,879,在建
XM-B,2026-10,80,880,在建
XM-C,2026-10,0,0,谋划
";

#[tokio::test]
async fn projects_and_progress_import_from_chinese_headers_with_revisions_kept() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        import_ok(s, &[&fixture("units.csv")]).await;
        let reg = import_ok(s, &[&write(&dir, "项目.csv", PROJECTS_ZH)]).await;
        assert_eq!(reg[0].kind, Some("projects"), "{}", db.name);
        assert_eq!(reg[0].accepted, 3);
        let prog = import_ok(s, &[&write(&dir, "进度.csv", PROGRESS_ZH)]).await;
        assert_eq!(prog[0].kind, Some("project-progress"));
        assert_eq!(prog[0].accepted, 5);
        let projects = s.projects().await.unwrap();
        let b = projects.iter().find(|p| p.id == "XM-B").unwrap();
        assert_eq!(
            b.planned_start,
            Some(period("2026-01")),
            "a date is its month"
        );
        assert_eq!(b.total_investment.to_string(), "30000");
        assert_eq!(b.owner.as_deref(), Some("leader02"));
        let c = projects.iter().find(|p| p.id == "XM-C").unwrap();
        assert_eq!(c.planned_year, None);
        assert_eq!(c.status.as_str(), "planned");

        // The same files again: nothing changes, and the summary says so.
        let again = import_ok(s, &[&write(&dir, "进度2.csv", PROGRESS_ZH)]).await;
        assert_eq!(
            (again[0].accepted, again[0].revised, again[0].unchanged),
            (0, 0, 5)
        );
        assert!(indmon::ingest::summary_line(&again[0]).contains("无任何更改"));

        // A correction of October: a revision, the first report kept in the history.
        let fix = "project_id,period,invested_month,invested_ytd\nXM-A,2026-10,200,900\n";
        let r = import_ok(s, &[&write(&dir, "fix.csv", fix)]).await;
        assert_eq!((r[0].accepted, r[0].revised), (0, 1));
        assert_eq!(s.count("project_progress_history").await.unwrap(), 1);
        let history = scalar(
            s,
            "SELECT invested_ytd FROM project_progress_history WHERE project_id = 'XM-A' AND period = '2026-10'",
        )
        .await;
        assert_eq!(history, 879 * 10_000);
        // The file had no status column: the stored status stays; the revision is counted.
        let rows = s.project_progress(None).await.unwrap();
        let (_, oct) = rows
            .iter()
            .find(|(id, g)| id == "XM-A" && g.period == period("2026-10"))
            .unwrap();
        assert_eq!(oct.invested_ytd, Some(900 * 10_000));
        assert_eq!(oct.status.map(|s| s.as_str()), Some("started"));
        assert_eq!(oct.revision, 2);

        // Moving a project to another district is a registry change with before and after.
        let moved = PROJECTS_ZH.replace(
            "XM-A,东岭年产5万吨新材料项目,330781",
            "XM-A,东岭年产5万吨新材料项目,330782",
        );
        let r = import_ok(s, &[&write(&dir, "项目2.csv", moved)]).await;
        assert_eq!((r[0].revised, r[0].unchanged), (1, 2));
        let changes = scalar(
            s,
            "SELECT COUNT(*) FROM registry_change WHERE entity = 'project' AND entity_key = 'XM-A' AND before_json LIKE '%330781%' AND after_json LIKE '%330782%'",
        )
        .await;
        assert_eq!(changes, 1);
        db.cleanup().await;
    }
}

#[tokio::test]
async fn bad_project_rows_are_rejected_with_line_column_and_reason_and_nothing_is_committed() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        import_ok(s, &[&fixture("units.csv")]).await;
        let bad = "\
project_id,name,unit_code,owner,total_investment,planned_investment_year,planned_start,planned_completion,planned_production,status
P1,好项目,330781,leader01,6000,3000,2026-03,2026-12,2027-01,started
P2,停建项目,330781,,6000,3000,2026-03,2026-12,2027-01,停建
P3,外地项目,999999,,6000,3000,2026-03,2026-12,2027-01,started
P4,负数项目,330781,,-6000,3000,2026-03,2026-12,2027-01,started
P5,没日子项目,330781,,6000,3000,下半年,2026-12,2027-01,started
P6,市本级项目,3307,,6000,3000,2026-03,2026-12,2027-01,started
P1,重复项目,330781,,6000,3000,2026-03,2026-12,2027-01,started
";
        let path = write(&dir, "projects.csv", bad);
        let r = import_file(s, &path, &opts()).await.unwrap();
        assert!(!r.committed, "{}", db.name);
        assert_eq!(r.rejected, 6);
        assert_eq!(s.count("project").await.unwrap(), 0);
        let why = |line: u64| {
            r.rejects
                .iter()
                .find(|x| x.line == line)
                .unwrap_or_else(|| panic!("line {line} not rejected: {:?}", r.rejects))
        };
        assert_eq!(why(3).column, "J status");
        assert!(why(3).reason.contains("项目状态"), "{}", why(3).reason);
        assert_eq!(why(4).column, "C unit_code");
        assert!(why(4).reason.contains("不存在"));
        assert_eq!(why(5).column, "E total_investment");
        assert!(why(5).reason.contains("负数"));
        assert_eq!(why(6).column, "G planned_start");
        assert_eq!(
            why(7).column,
            "C unit_code",
            "a project is in a district or zone"
        );
        assert!(why(7).reason.contains("city"));
        assert!(why(8).reason.contains("第2行"), "duplicate of line 2");
        // Every reject is kept with its run.
        assert_eq!(s.rejects(r.run_id).await.unwrap().len(), 6);

        // --partial commits the good row.
        let mut partial = opts();
        partial.partial = true;
        let r = import_file(s, &path, &partial).await.unwrap();
        assert!(r.committed && r.accepted == 1 && r.rejected == 6);

        let progress = "\
project_id,period,invested_month,invested_ytd,status
P1,2026-10,100,900,started
NOPE,2026-10,1,1,started
P1,2026-12,100,900,started
P1,2026-09,-5,800,started
P1,2026-10,100,900,started
P1,2026-08,abc,700,started
";
        let path = write(&dir, "progress.csv", progress);
        let r = import_file(s, &path, &opts()).await.unwrap();
        assert_eq!(r.kind, Some("project-progress"));
        assert!(!r.committed);
        assert_eq!(r.rejected, 5);
        assert_eq!(s.count("project_progress").await.unwrap(), 0);
        let why = |line: u64| r.rejects.iter().find(|x| x.line == line).unwrap();
        assert_eq!(why(3).column, "A project_id");
        assert!(why(3).reason.contains("项目不在重点项目名录"));
        assert_eq!(why(4).column, "B period");
        assert!(why(4).reason.contains("尚未结束"));
        assert_eq!(why(5).column, "C invested_month");
        assert!(why(6).reason.contains("第2行"));
        assert_eq!(why(7).column, "C invested_month");
        assert!(why(7).reason.contains("不是数字"));

        // A header in 亿元 cannot be read as 万元: the file is refused at its header.
        let yi = "项目编号,项目名称,所属县区,总投资（亿元）,项目状态\nP9,大项目,330781,5,在建\n";
        let r = import_file(s, &write(&dir, "yi.csv", yi), &opts())
            .await
            .unwrap();
        assert!(
            !r.committed && r.rejects[0].reason.contains("亿元"),
            "{:?}",
            r.rejects
        );
        db.cleanup().await;
    }
}

/// The registry and the progress of six projects, with the rules' outcomes computed by hand
/// for October 2026 (time progress 10/12; tolerance 10 pp, so the line is 73.33…% of the plan).
const PROJECTS: &str = "\
project_id,name,unit_code,owner,total_investment,planned_investment_year,planned_start,planned_completion,planned_production,status
XM-A,甲项目,330781,leader01,50000,1200,2026-02,2027-06,2027-09,started
XM-B,乙项目,330781,leader02,30000,1200,2026-01,2026-12,2027-03,started
XM-C,丙项目,330782,,8000,,2026-06,2027-12,2028-03,planned
XM-D,丁项目,330782,leader01,9000,3000,2026-03,2026-07,2026-09,started
XM-E,戊项目,ZK01,,7000,2000,2026-02,2026-06,2026-08,started
XM-F,己项目,ZK01,,6000,1200,2026-02,2026-12,2027-03,started
XM-G,庚项目,ZK01,,6000,0,2025-02,2025-12,2026-03,producing
";

/// XM-A: 690 by August (line 56.67% → 680: on time), 700 by September (line 65% → 780:
///   behind), 879 by October (line 880: behind by 0.0001) → behind, two months in a row.
/// XM-B: exactly 880 of 1200 in October: on the line, not behind.
/// XM-C: planned start June, still planned in October: four months overdue.
/// XM-D: started → completed (May) → started (June) → completed (August): completed two
///   months by October, not idle yet (3 months).
/// XM-E: completed since July, October still completed: three months → idle.
/// XM-F: reported in September, not in October → missing (and not judged for investment).
/// XM-G: producing since last year, no report: not expected to report.
const PROGRESS: &str = "\
project_id,period,invested_month,invested_ytd,status
XM-A,2026-08,90,690,started
XM-A,2026-09,10,700,started
XM-A,2026-10,179,879,started
XM-B,2026-10,80,880,started
XM-C,2026-10,0,0,planned
XM-D,2026-03,500,500,started
XM-D,2026-05,0,2000,completed
XM-D,2026-06,300,2300,started
XM-D,2026-08,0,2600,completed
XM-D,2026-10,0,2600,completed
XM-E,2026-07,0,1900,completed
XM-E,2026-10,0,1900,completed
XM-F,2026-09,100,100,started
";

async fn load(store: &Store, dir: &tempfile::TempDir) {
    import_ok(
        store,
        &[
            &fixture("units.csv"),
            &write(dir, "projects.csv", PROJECTS),
            &write(dir, "project_progress.csv", PROGRESS),
        ],
    )
    .await;
}

#[tokio::test]
async fn each_project_rule_fires_as_computed_by_hand_and_routes_to_owner_and_unit() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        load(s, &dir).await;
        let config = Config::default();
        let (report, _) = evaluate::run(s, &config, period("2026-10"), now(), false)
            .await
            .unwrap();
        let json = evaluate::to_json(&report);
        let mut fired: Vec<(String, String, String, u64)> = json["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["rule"].as_str().unwrap().starts_with("project_"))
            .map(|a| {
                (
                    a["rule"].as_str().unwrap().to_string(),
                    a["subject"].as_str().unwrap().to_string(),
                    a["severity"].as_str().unwrap().to_string(),
                    a["consecutive"].as_u64().unwrap(),
                )
            })
            .collect();
        fired.sort();
        let want = |r: &str, s: &str, sev: &str, n: u64| (r.into(), s.into(), sev.into(), n);
        assert_eq!(
            fired,
            vec![
                want("project_behind_schedule", "XM-A", "yellow", 2),
                want("project_idle", "XM-E", "orange", 3),
                want("project_missing", "XM-F", "yellow", 1),
                want("project_not_started", "XM-C", "orange", 4),
            ],
            "{}",
            db.name
        );
        let alert = |rule: &str| {
            json["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["rule"] == rule)
                .unwrap()
                .clone()
        };
        let a = alert("project_behind_schedule");
        assert_eq!(a["unit"], "330781");
        assert_eq!(a["owner"], "leader01");
        assert_eq!(a["values"]["invested_ytd"], 879.0);
        assert_eq!(a["values"]["planned_year"], 1200.0);
        assert!(
            a["message"].as_str().unwrap().contains("879.0万元")
                && a["message"].as_str().unwrap().contains("1,200.0万元")
                && a["message"].as_str().unwrap().contains("时间进度83.3%")
        );
        assert_eq!(
            alert("project_idle")["values"]["completed_since"],
            "2026-07"
        );
        assert_eq!(alert("project_not_started")["values"]["months_overdue"], 4);

        // Unit figures: projects by status, plan and investment so far.
        let unit = |code: &str| {
            json["units"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["code"] == code)
                .unwrap()["projects"]
                .clone()
        };
        let dongling = unit("330781");
        assert_eq!(
            (dongling["total"].as_u64(), dongling["started"].as_u64()),
            (Some(2), Some(2))
        );
        assert_eq!(dongling["planned_year"], 2400.0);
        assert_eq!(dongling["invested_ytd"], 1759.0);
        let zone = unit("ZK01");
        assert_eq!(
            (
                zone["completed"].as_u64(),
                zone["started"].as_u64(),
                zone["producing"].as_u64()
            ),
            (Some(1), Some(1), Some(1))
        );
        let city = unit("3307");
        assert_eq!(
            (city["total"].as_u64(), city["reported"].as_u64()),
            (Some(7), Some(5))
        );
        let projects = json["projects"].as_array().unwrap();
        let d = projects.iter().find(|p| p["id"] == "XM-D").unwrap();
        assert_eq!(d["status"], "completed");
        assert_eq!(d["status_since"], "2026-08");
        assert_eq!(d["changes"].as_array().unwrap().len(), 4, "{d}");

        // Routing: the owner and the unit's officials see it, another district's do not.
        let cfg = Config::parse(
            r#"
[mail]
from = "indmon <indmon@example.gov.cn>"
transport = "file"
file_dir = "/tmp"
[[recipients]]
id = "leader01"
name = "包抓领导"
email = "l1@example.gov.cn"
role = "owner"
[[recipients]]
id = "dl"
name = "东岭区"
email = "dl@example.gov.cn"
role = "district"
units = ["330781"]
[[recipients]]
id = "xh"
name = "西湖县"
email = "xh@example.gov.cn"
role = "district"
units = ["330782"]
"#,
        )
        .unwrap();
        let alerts = s.alerts(&AlertFilter::default()).await.unwrap();
        let stored = alerts
            .iter()
            .find(|a| a.rule == "project_behind_schedule")
            .unwrap();
        let sees = |id: &str| {
            let r = cfg.recipients.iter().find(|r| r.id == id).unwrap();
            indmon::notify::plan::sees(r, stored)
        };
        assert!(sees("leader01") && sees("dl") && !sees("xh"));
        db.cleanup().await;
    }
}

#[tokio::test]
async fn project_alerts_follow_status_changes_and_a_move_between_units() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        load(s, &dir).await;
        let config = Config::default();
        evaluate::run(s, &config, period("2026-10"), now(), false)
            .await
            .unwrap();

        // November, reported in December: XM-C has started, XM-E produces, XM-D has now been
        // completed three months (idle), XM-F reports again, XM-A catches up (1000 of 1200 =
        // 83.3% ≥ 11/12 − 10 pp = 81.67%) and moves to 西湖县.
        let december = Utc.with_ymd_and_hms(2026, 12, 15, 2, 0, 0).unwrap();
        let november = "\
project_id,period,invested_month,invested_ytd,status
XM-A,2026-11,121,1000,started
XM-B,2026-11,100,980,started
XM-C,2026-11,200,200,started
XM-D,2026-11,0,2600,completed
XM-E,2026-11,0,1900,producing
XM-F,2026-11,900,1000,started
";
        let moved = PROJECTS.replace("XM-A,甲项目,330781", "XM-A,甲项目,330782");
        let later = ImportOptions::new(december);
        for (name, text) in [("moved.csv", moved.as_str()), ("nov.csv", november)] {
            let r = import_file(s, &write(&dir, name, text), &later)
                .await
                .unwrap();
            assert!(r.committed && r.rejected == 0, "{:?}", r.rejects);
        }
        let (report, _) = evaluate::run(s, &config, period("2026-11"), december, false)
            .await
            .unwrap();
        let mut now_firing: Vec<(&str, &str)> = report
            .findings
            .iter()
            .filter(|f| f.rule.as_str().starts_with("project_"))
            .map(|f| (f.rule.as_str(), f.subject.as_str()))
            .collect();
        now_firing.sort();
        assert_eq!(now_firing, vec![("project_idle", "XM-D")], "{}", db.name);
        assert_eq!(
            report.applied.resolved, 4,
            "behind, idle, missing, not started resolve"
        );

        let alerts = s.alerts(&AlertFilter::default()).await.unwrap();
        let state = |rule: &str, subject: &str| {
            alerts
                .iter()
                .find(|a| a.rule == rule && a.subject == subject)
                .map(|a| (a.state.as_str(), a.unit_code.clone()))
        };
        assert_eq!(
            state("project_behind_schedule", "XM-A"),
            Some(("resolved", "330781".to_string()))
        );
        assert_eq!(state("project_idle", "XM-E").unwrap().0, "resolved");
        assert_eq!(state("project_idle", "XM-D").unwrap().0, "firing");
        assert_eq!(state("project_not_started", "XM-C").unwrap().0, "resolved");
        assert_eq!(state("project_missing", "XM-F").unwrap().0, "resolved");

        // December: XM-A falls behind again, now in 西湖县 — the reopened alert goes there.
        let january = Utc.with_ymd_and_hms(2027, 1, 15, 2, 0, 0).unwrap();
        let dec =
            "project_id,period,invested_month,invested_ytd,status\nXM-A,2026-12,0,1000,started\n";
        let r = import_file(
            s,
            &write(&dir, "dec.csv", dec),
            &ImportOptions::new(january),
        )
        .await
        .unwrap();
        assert!(r.committed);
        evaluate::run(s, &config, period("2026-12"), january, false)
            .await
            .unwrap();
        let alerts = s.alerts(&AlertFilter::default()).await.unwrap();
        let a = alerts
            .iter()
            .find(|a| a.rule == "project_behind_schedule" && a.subject == "XM-A")
            .unwrap();
        assert_eq!(a.state.as_str(), "firing");
        assert_eq!(a.unit_code, "330782");
        assert!(
            a.scope.contains(&"330782".to_string()) && !a.scope.contains(&"330781".to_string())
        );
        db.cleanup().await;
    }
}

#[tokio::test]
async fn progress_pages_come_through_json_like_submissions() {
    for db in TestDb::all().await {
        let s = &db.store;
        let dir = tempfile::tempdir().unwrap();
        import_ok(s, &[&fixture("units.csv"), &write(&dir, "p.csv", PROJECTS)]).await;
        let page = br#"{"rows":[{"project_id":"XM-A","period":"2026-10","invested_month":179,"invested_ytd":879,"status":"started"}],"next_cursor":null,"has_more":false}"#;
        let mut o = opts();
        o.kind = Some(Kind::ProjectProgress);
        let r = indmon::ingest::import_bytes(s, "http://example/progress", page.to_vec(), None, &o)
            .await
            .unwrap();
        assert!(r.committed && r.accepted == 1, "{:?}", r.rejects);
        assert_eq!(s.count("project_progress").await.unwrap(), 1);
        db.cleanup().await;
    }
}
