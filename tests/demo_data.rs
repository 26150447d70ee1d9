//! The synthetic city: deterministic for a seed, importable without a single reject, and its
//! plan agrees with what SQL over the imported database finds.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use indmon::demo::{GenSpec, Plan, generate};
use indmon::store::Store;

/// Every file under `dir`, by relative path, with its bytes.
/// Every file under `dir` by its path, as its SHA-256 (the trees of three cities' four years of
/// daily electricity held as bytes would raise the peak memory the province test measures in
/// this process).
fn read_tree(dir: &Path) -> BTreeMap<PathBuf, [u8; 32]> {
    use sha2::Digest;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, sha2::Sha256::digest(std::fs::read(&p).unwrap()).into());
            }
        }
    }
    out
}

fn demo(seed: u64) -> (tempfile::TempDir, Plan) {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        seed,
        ..GenSpec::default()
    };
    let plan = generate(&spec, dir.path()).unwrap();
    (dir, plan)
}

#[test]
fn the_same_seed_gives_byte_identical_files_and_another_seed_another_city() {
    let (a, _) = demo(2026);
    let (b, _) = demo(2026);
    let (c, _) = demo(2027);
    let (ta, tb, tc) = (
        read_tree(a.path()),
        read_tree(b.path()),
        read_tree(c.path()),
    );
    assert!(ta.len() > 50, "{:?}", ta.keys().collect::<Vec<_>>());
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        assert!(tb[k] == *v, "{} differs between two runs", k.display());
    }
    for f in [
        "enterprises.csv",
        "submissions/2026-10.csv",
        "plan.json",
        "power/accounts.csv",
        "power/daily/2026-10.csv",
    ] {
        assert_ne!(ta[Path::new(f)], tc[Path::new(f)], "{f}");
    }
    // The units are the city's, whatever the seed.
    assert_eq!(ta[Path::new("units.csv")], tc[Path::new("units.csv")]);
}

async fn rows(store: &Store, sql: &str) -> Vec<(String, i64, i64)> {
    match store {
        Store::Sqlite(p) => sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(p)
            .await
            .unwrap(),
        Store::Postgres(p) => sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
            .fetch_all(p)
            .await
            .unwrap(),
    }
}

/// Month `v` against the same month a year earlier `b`, above-scale enterprises, last period.
const STATES: &str = "SELECT
    SUM(CASE WHEN s.output = 0 AND b.output > 0 THEN 1 ELSE 0 END),
    SUM(CASE WHEN s.output = 0 AND b.output = 0 THEN 1 ELSE 0 END),
    SUM(CASE WHEN s.output > 0 AND 2 * s.output < b.output THEN 1 ELSE 0 END),
    SUM(CASE WHEN 2 * s.output >= b.output AND 10 * s.output < 9 * b.output THEN 1 ELSE 0 END)
  FROM submission_rows s
  JOIN submission_rows b ON b.credit_code = s.credit_code AND b.period = '2025-10'
  JOIN enterprise e ON e.credit_code = s.credit_code
  WHERE s.period = '2026-10' AND e.scale = 'above'";

#[tokio::test]
async fn every_file_imports_cleanly_and_the_plan_matches_the_database() {
    let (dir, plan) = demo(2026);
    let d = dir.path();
    let db = TestDb::sqlite().await;
    let s = &db.store;
    let mut files: Vec<PathBuf> = [
        "units.csv",
        "enterprises.csv",
        "targets.csv",
        "unit_indicators.csv",
    ]
    .iter()
    .map(|f| d.join(f))
    .collect();
    let mut months: Vec<PathBuf> = std::fs::read_dir(d.join("submissions"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    // 2026-10.csv sorts after 2026-10-late.csv by name; import it first, the revision last.
    months.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        (name.contains("revision"), name.contains("late"), name)
    });
    assert_eq!(
        months.len(),
        51,
        "49 months, the late rows and the revision"
    );
    files.extend(months);
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let reports = import_ok(s, &refs).await;
    let revision = reports.last().unwrap();
    assert_eq!((revision.accepted, revision.revised), (0, 1));
    let late = &reports[reports.len() - 2];
    assert_eq!(late.accepted as usize, plan.late_count);
    common::submission_rows(s).await;

    // 停产 / 半停产 / 减产 in the last period, recounted by SQL. A zero on a zero base (stopped
    // last October too) is 停产 when the stall goes back to a positive base (the rules' "a stall
    // outlives its own zero base"): the plan lists those with base 0, among SQL's zeros on zeros.
    let (st, zz, semi, red) = match s {
        Store::Sqlite(p) => sqlx::query_as::<_, (i64, i64, i64, i64)>(STATES)
            .fetch_one(p)
            .await
            .unwrap(),
        Store::Postgres(p) => sqlx::query_as::<_, (i64, i64, i64, i64)>(STATES)
            .fetch_one(p)
            .await
            .unwrap(),
    };
    let ps = &plan.states;
    let on_zero = ps
        .list
        .iter()
        .filter(|e| e.state == "stalled" && e.base.parse::<f64>() == Ok(0.0))
        .count();
    assert!(on_zero <= zz as usize, "{on_zero} of {zz}");
    assert_eq!(
        (st as usize + on_zero, semi as usize, red as usize),
        (ps.stalled, ps.semi_stalled, ps.reduced)
    );
    let troubled = ps.stalled + ps.semi_stalled + ps.reduced;
    assert!(
        (765 * 15 / 100..=765 * 25 / 100).contains(&troubled),
        "{troubled} reduced or worse"
    );
    assert!(ps.stalled >= 10 && ps.semi_stalled >= 10 && ps.reduced >= 30);
    assert!(ps.consecutive_3_plus >= 20 && ps.recovered >= 10, "{ps:?}");
    assert_eq!(ps.list.len(), troubled);

    // Missing reports of the last period: registered above-scale enterprises with no row.
    let missing = scalar(
        s,
        "SELECT COUNT(*) FROM enterprise e WHERE e.scale = 'above' AND NOT EXISTS
           (SELECT 1 FROM submission_rows s WHERE s.credit_code = e.credit_code AND s.period = '2026-10')",
    )
    .await as usize;
    let planned = plan
        .missing
        .iter()
        .filter(|m| m.period == "2026-10")
        .count();
    assert_eq!(missing, planned);
    assert!((765 / 100..=765 * 4 / 100).contains(&(missing + plan.late_count)));
    let all_rows = scalar(s, "SELECT COUNT(*) FROM submission_rows").await as usize;
    assert_eq!(all_rows, (765 + 150) * 49 - plan.missing_count);

    // The revision replaced the first row sent, which is kept in the history.
    let r = plan.revision.as_ref().unwrap();
    let history = scalar(s, "SELECT COUNT(*) FROM submission_history").await;
    assert_eq!(history, 1);
    assert_eq!(
        value(s, &r.credit_code, "2026-10", "output").await.unwrap(),
        r.output_revised
    );

    // The refinery stopped for its overhaul; the divergent enterprise is there as planted.
    let m = plan.maintenance.as_ref().unwrap();
    assert_eq!(m.periods, ["2026-09", "2026-10"]);
    for p in &m.periods {
        assert_eq!(value(s, &m.credit_code, p, "output").await.unwrap(), "0");
    }
    let dv = plan.divergence.as_ref().unwrap();
    assert!(
        plan.divergent.contains(&dv.credit_code),
        "{:?}",
        plan.divergent
    );
    // The others recover from a deep spell of last October: output back from under 60% of
    // this October's, electricity from its stopped plant's base load (so it grew less).
    for code in plan.divergent.iter().filter(|c| **c != dv.credit_code) {
        let output = |p: &'static str| async move {
            let v = value(s, code, p, "output").await.unwrap();
            v.parse::<f64>().unwrap()
        };
        let (last, now) = (output("2025-10").await, output("2026-10").await);
        assert!(last < 0.6 * now, "{code}: {last} against {now}");
    }
    assert_eq!(
        value(s, &dv.credit_code, "2026-10", "electricity")
            .await
            .unwrap(),
        dv.electricity
    );

    // Units: ytd growth over enterprises reporting both periods, by reporting unit.
    let by_unit = rows(
        s,
        "SELECT e.unit_code, SUM(c.output_ytd), SUM(b.output_ytd)
           FROM submission_rows c
           JOIN submission_rows b ON b.credit_code = c.credit_code AND b.period = '2025-10'
           JOIN enterprise e ON e.credit_code = c.credit_code
          WHERE c.period = '2026-10' AND e.scale = 'above'
          GROUP BY e.unit_code ORDER BY e.unit_code",
    )
    .await;
    assert_eq!(by_unit.len(), 9);
    for (code, cur, prev) in by_unit {
        let u = plan.units.iter().find(|u| u.code == code).unwrap();
        let growth = (cur as f64 / prev as f64 - 1.0) * 100.0;
        assert!((growth - u.growth_pct).abs() < 1e-9, "{code}");
        let target: f64 = u.target_pct.parse().unwrap();
        assert_eq!(growth < target, u.lagging, "{code}");
    }
    let districts = |lagging: bool| {
        plan.units
            .iter()
            .filter(|u| u.kind == "district" && u.lagging == lagging)
            .count()
    };
    assert!(districts(true) >= 3 && districts(false) >= 3);
    let city = &plan.units[0];
    assert!((5.0..7.0).contains(&city.growth_pct), "{}", city.growth_pct);

    // The largest 100 make about 30% of output.
    let sums = rows(
        s,
        "SELECT s.credit_code, SUM(s.output), 0 FROM submission_rows s
           JOIN enterprise e ON e.credit_code = s.credit_code
          WHERE e.scale = 'above' GROUP BY s.credit_code ORDER BY SUM(s.output) DESC",
    )
    .await;
    let total: i64 = sums.iter().map(|r| r.1).sum();
    let top: i64 = sums.iter().take(100).map(|r| r.1).sum();
    let share = top as f64 / total as f64 * 100.0;
    assert!((share - plan.top100_share_pct).abs() < 1e-9);
    assert!((25.0..=35.0).contains(&share), "{share}");

    // Upgrade candidates in the cultivation pool: annualised revenue ytd ≥ 2000 万元.
    let upgrade = scalar(
        s,
        "SELECT COUNT(*) FROM submission_rows s JOIN enterprise e ON e.credit_code = s.credit_code
          WHERE s.period = '2026-10' AND e.scale = 'below' AND s.revenue_ytd * 12 >= 20000000 * 10",
    )
    .await as usize;
    assert_eq!(upgrade, plan.upgrade_candidate_count);
    assert!((5..=60).contains(&upgrade), "{upgrade}");
    let key = scalar(s, "SELECT COUNT(*) FROM enterprise WHERE is_key = 1").await;
    assert_eq!(key, 100);

    // The JSON pages hold the same rows as the CSV of their month.
    let pages: Vec<PathBuf> = (1..=2)
        .map(|i| d.join(format!("http/2026-09/page-{i:04}.json")))
        .collect();
    let refs: Vec<&Path> = pages.iter().map(PathBuf::as_path).collect();
    let unchanged: u64 = import_ok(s, &refs).await.iter().map(|r| r.unchanged).sum();
    assert_eq!(
        unchanged,
        reports[4 + 47].unchanged + reports[4 + 47].accepted
    );

    // Key projects and their progress import without a reject, as the generator wrote them.
    let projects = import_ok(
        s,
        &[&d.join("projects.csv"), &d.join("project_progress.csv")],
    )
    .await;
    assert_eq!(projects[0].kind, Some("projects"));
    assert_eq!(projects[0].accepted as usize, plan.projects.count);
    assert_eq!(projects[1].kind, Some("project-progress"));
    let reports_written = std::fs::read_to_string(d.join("project_progress.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    assert_eq!(projects[1].accepted as usize, reports_written);
    // Ten months of reports, less the October ones never sent (among them the planted 未报).
    assert!(reports_written <= plan.projects.count * 10 - plan.projects.missing.len());
    assert!(reports_written > plan.projects.count * 9);
    db.cleanup().await;
}

#[test]
fn json_pages_chain_by_cursor_to_a_last_page() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        enterprises: 120,
        below_scale: 10,
        page_size: 50,
        ..GenSpec::default()
    };
    let plan = generate(&spec, dir.path()).unwrap();
    let mut cursor = "2026-10/page-0001".to_string();
    let mut rows = 0;
    loop {
        let text = std::fs::read(dir.path().join("http").join(format!("{cursor}.json"))).unwrap();
        let page: serde_json::Value = serde_json::from_slice(&text).unwrap();
        rows += page["submissions"].as_array().unwrap().len();
        if !page["has_more"].as_bool().unwrap() {
            assert!(page["next_cursor"].is_null());
            break;
        }
        cursor = page["next_cursor"].as_str().unwrap().to_string();
    }
    let csv = std::fs::read_to_string(dir.path().join("submissions/2026-10.csv")).unwrap();
    assert_eq!(rows, csv.lines().count() - 1);
    assert_eq!(
        rows,
        130 - plan
            .missing
            .iter()
            .filter(|m| m.period == "2026-10")
            .count()
            - plan.late_count
    );
}

#[test]
fn the_hidden_command_writes_the_city() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_indmon"))
        .current_dir(dir.path())
        .args([
            "demo-data",
            "--out",
            "city",
            "--seed",
            "5",
            "--enterprises",
            "200",
        ])
        .args(["--below-scale", "20", "--no-http"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("200 家规上企业"), "{text}");
    assert!(dir.path().join("city/plan.json").exists());
    assert!(!dir.path().join("city/http").exists());
}

/// A province of 50,000 enterprises: memory stays flat (peak resident set well under what
/// holding 1.1 million rows would take); about 7 s in a debug build.
#[test]
fn a_province_is_generated_with_flat_memory() {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        enterprises: 50_000,
        below_scale: 5_000,
        http_pages: false,
        // 70 million daily lines would take the test minutes; the power files are written
        // enterprise by enterprise like the months, one open writer per month.
        power_from: None,
        ..GenSpec::default()
    };
    let plan = generate(&spec, dir.path()).unwrap();
    assert!(!plan.detailed && plan.states.list.is_empty());
    let troubled = plan.states.stalled + plan.states.semi_stalled + plan.states.reduced;
    assert!(
        (50_000 * 15 / 100..=50_000 * 25 / 100).contains(&troubled),
        "{troubled}"
    );
    let lagging: Vec<&str> = plan
        .units
        .iter()
        .filter(|u| u.kind == "district" && u.lagging)
        .map(|u| u.code)
        .collect();
    assert_eq!(lagging, ["339904", "339921", "339922", "339981"]);
    if let Some(peak_kb) = vm_hwm_kib() {
        assert!(peak_kb < 200_000, "peak resident set {peak_kb} kB");
    }
}
