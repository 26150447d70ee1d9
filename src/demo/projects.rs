//! Key projects (重点项目) and their monthly progress this year, with every state and every
//! project rule planted: not started after the planned start, behind schedule, built but not
//! producing (建成未投产), and no progress report for the last month (项目未报). The progress
//! is also written as one JSON page (`http/project-progress/page-0001.json`) for the demo's
//! HTTP source.

use std::io::Write;
use std::path::Path;

use super::GenSpec;
use super::city::UNITS;
use super::rng::Rng;
use crate::amount::Amount;

const PROJECTS: u64 = 3;
/// A stream of its own, so that choosing the silent projects moves no other draw.
const SILENT: u64 = 4;

const PRODUCTS: [(&str, &str); 10] = [
    ("万吨", "新型建材"),
    ("台套", "高端装备"),
    ("吨", "锂电池正极材料"),
    ("万吨", "精细化工"),
    ("万套", "汽车零部件"),
    ("万台", "智能终端"),
    ("吨", "生物医药原料"),
    ("万吨", "绿色食品加工"),
    ("兆瓦", "光伏组件"),
    ("万平方米", "电子电路板"),
];

/// What the projects add to the plan and to the unit figures.
#[derive(Debug, Default, serde::Serialize)]
pub struct ProjectPlan {
    pub count: usize,
    /// Projects per status in the last period.
    pub by_status: std::collections::BTreeMap<String, usize>,
    /// `project_not_started`: still `planned` although the planned start is before the period.
    pub not_started: Vec<String>,
    /// `project_behind_schedule`: planned or started, ytd invested / annual plan below time
    /// progress − 10 pp, i.e. `60·ytd < plan·(5m − 6)` in exact integers.
    pub behind_schedule: Vec<String>,
    /// `project_idle`: `completed` for 3 months or more and not producing.
    pub idle: Vec<String>,
    /// `project_missing`: no progress report for the last month (and not yet producing).
    pub missing: Vec<String>,
    #[serde(skip)]
    pub invested_ytd: Vec<Vec<i64>>,
    #[serde(skip)]
    pub planned_year: Vec<i64>,
}

fn status_name(s: u8) -> &'static str {
    ["planned", "started", "completed", "producing"][s as usize]
}

fn period(year: i32, month: i64) -> String {
    let (y, m) = (
        year as i64 + (month - 1).div_euclid(12),
        (month - 1).rem_euclid(12) + 1,
    );
    format!("{y:04}-{m:02}")
}

/// Writes `projects.csv` and `project_progress.csv` and returns what was planted.
pub fn write(spec: &GenSpec, dir: &Path) -> anyhow::Result<ProjectPlan> {
    let last = spec.months_to;
    let (year, m_to) = (last.year(), i64::from(last.month()));
    let mut plan = ProjectPlan {
        count: spec.projects,
        invested_ytd: vec![vec![0; m_to as usize]; UNITS.len()],
        planned_year: vec![0; UNITS.len()],
        ..ProjectPlan::default()
    };
    let mut head = std::io::BufWriter::new(std::fs::File::create(dir.join("projects.csv"))?);
    let mut prog =
        std::io::BufWriter::new(std::fs::File::create(dir.join("project_progress.csv"))?);
    writeln!(
        head,
        "project_id,name,unit_code,owner,total_investment,planned_investment_year,planned_start,planned_completion,planned_production,status"
    )?;
    writeln!(prog, "project_id,period,invested_month,invested_ytd,status")?;
    let mut page: Vec<String> = Vec::new();
    let weights: Vec<u32> = UNITS.iter().map(|u| u.weight).collect();
    for j in 0..spec.projects as u64 {
        let mut r = Rng::stream(spec.seed, PROJECTS, j);
        let id = format!("XM{year}-{:04}", j + 1);
        let unit = r.weighted(&weights);
        let (unit_word, product) = PRODUCTS[r.below(PRODUCTS.len() as u64) as usize];
        let name = format!(
            "{}年产{}{unit_word}{product}项目",
            UNITS[unit].place,
            5 * (1 + r.below(40))
        );
        let u = r.unit();
        let total = 5_000 + (u * u * 1_950.0) as i64 * 100;
        let plan_year = (total as f64 * r.range(0.3, 0.7) / 10.0).round() as i64 * 10;
        // The status reached by the last month, and how it got there.
        let target = r.weighted(&[15, 45, 15, 25]) as u8;
        let behind = r.chance(0.3);
        let start = 1 + r.below(m_to.clamp(1, 4) as u64) as i64;
        let build = 2 + r.below(4) as i64;
        let planned_start = match target {
            0 if r.chance(0.6) => 1 + r.below(m_to as u64) as i64,
            0 => m_to + 1 + r.below(6) as i64,
            _ => start,
        };
        let completion = (start + build).min(m_to);
        let producing_at = match target {
            3 => (completion + 1).min(m_to),
            _ => i64::MAX,
        };
        let planned_completion = planned_start + build + r.below(3) as i64;
        let planned_production = planned_completion + 1;
        let pace = if behind {
            r.range(0.25, 0.55)
        } else {
            r.range(1.0, 1.3)
        };
        // A few projects never send the last month's report.
        let silent = Rng::stream(spec.seed, SILENT, j).chance(0.04);
        let mut ytd = 0i64;
        // The status and ytd of the last report written.
        let (mut reported_status, mut reported_ytd) = (0u8, 0i64);
        for m in 1..=m_to {
            let status = match target {
                0 => 0,
                _ if m >= producing_at => 3,
                2 | 3 if m >= completion => 2,
                _ if m >= start => 1,
                _ => 0,
            };
            let month = match status {
                1 => (plan_year as f64 / 12.0 * pace * (1.0 + r.noise(0.2))).round() as i64,
                _ => 0,
            };
            ytd += month;
            plan.invested_ytd[unit][m as usize - 1] += ytd;
            if silent && m == m_to {
                continue;
            }
            (reported_status, reported_ytd) = (status, ytd);
            writeln!(
                prog,
                "{id},{},{month},{ytd},{}",
                period(year, m),
                status_name(status)
            )?;
            page.push(format!(
                "{{\"project_id\":\"{id}\",\"period\":\"{}\",\"invested_month\":{month},\"invested_ytd\":{ytd},\"status\":\"{}\"}}",
                period(year, m),
                status_name(status)
            ));
        }
        // What the bureau knows is what was reported: the registry's status too.
        let (status, ytd) = (reported_status, reported_ytd);
        plan.planned_year[unit] += plan_year;
        writeln!(
            head,
            "{id},{name},{},leader{:02},{total},{plan_year},{},{},{},{}",
            UNITS[unit].code,
            j % 20 + 1,
            period(year, planned_start),
            period(year, planned_completion),
            period(year, planned_production),
            status_name(status)
        )?;
        *plan
            .by_status
            .entry(status_name(status).to_string())
            .or_default() += 1;
        if status == 0 && planned_start < m_to {
            plan.not_started.push(id.clone());
        }
        // Investment is judged on the month's own report.
        if !silent && status <= 1 && 60 * ytd < plan_year * (5 * m_to - 6) {
            plan.behind_schedule.push(id.clone());
        }
        if status == 2 && m_to - completion >= 3 {
            plan.idle.push(id.clone());
        }
        if silent && status != 3 {
            plan.missing.push(id);
        }
    }
    head.flush()?;
    prog.flush()?;
    if spec.http_pages {
        let d = dir.join("http").join("project-progress");
        std::fs::create_dir_all(&d)?;
        let body = format!(
            "{{\"rows\":[\n{}\n],\"next_cursor\":null,\"has_more\":false}}\n",
            page.join(",\n")
        );
        std::fs::write(d.join("page-0001.json"), body)?;
    }
    Ok(plan)
}

/// The `investment` ytd a unit reports: its key projects plus the rest of industrial investment.
pub fn unit_investment(plan: &ProjectPlan, unit: usize, month: u32) -> Amount {
    let own = |u: usize| plan.invested_ytd[u][month as usize - 1];
    let projects = if unit == super::city::CITY {
        (0..UNITS.len()).map(own).sum()
    } else {
        own(unit)
    };
    Amount(projects * 15_000)
}

/// The annual `investment` target of a unit: 1.5 times its projects' plans, rounded to 100 万元.
pub fn investment_target(plan: &ProjectPlan, unit: usize) -> Amount {
    let own = if unit == super::city::CITY {
        plan.planned_year.iter().sum()
    } else {
        plan.planned_year[unit]
    };
    Amount((own * 3 / 2 / 100) * 100 * 10_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Reads the two files back and applies the project rules to them independently.
    #[test]
    fn every_state_and_every_project_rule_is_planted_as_the_files_say() {
        let dir = tempfile::tempdir().unwrap();
        let spec = GenSpec::default();
        let plan = write(&spec, dir.path()).unwrap();
        let read = |f: &str| std::fs::read_to_string(dir.path().join(f)).unwrap();
        let projects = read("projects.csv");
        let progress = read("project_progress.csv");
        let mut completed_since: BTreeMap<&str, u32> = BTreeMap::new();
        // The last report of each project: (month, ytd, status).
        let mut last: BTreeMap<&str, (u32, i64, &str)> = BTreeMap::new();
        for line in progress.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            let month: u32 = c[1][5..].parse().unwrap();
            if c[4] == "completed" {
                completed_since.entry(c[0]).or_insert(month);
            }
            last.insert(c[0], (month, c[3].parse().unwrap(), c[4]));
        }
        let (mut not_started, mut behind, mut idle, mut missing) = (vec![], vec![], vec![], vec![]);
        let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
        for line in projects.lines().skip(1) {
            let c: Vec<&str> = line.split(',').collect();
            let (month, ytd, status) = last[c[0]];
            if month < 10 && status != "producing" {
                missing.push(c[0].to_string());
            }
            assert_eq!(status, c[9], "{line}");
            assert!(c[4].parse::<i64>().unwrap() >= 5_000, "总投资5000万元以上");
            *by_status.entry(status.to_string()).or_default() += 1;
            let plan_year: f64 = c[5].parse().unwrap();
            if status == "planned" && c[6] < "2026-10" {
                not_started.push(c[0].to_string());
            }
            if month == 10
                && matches!(status, "planned" | "started")
                && (ytd as f64) / plan_year < 10.0 / 12.0 - 0.1
            {
                behind.push(c[0].to_string());
            }
            if status == "completed" && completed_since[c[0]] <= 7 {
                idle.push(c[0].to_string());
            }
        }
        assert_eq!(by_status, plan.by_status);
        assert_eq!(by_status.len(), 4, "every state appears: {by_status:?}");
        assert_eq!(not_started, plan.not_started);
        assert_eq!(behind, plan.behind_schedule);
        assert_eq!(idle, plan.idle);
        assert_eq!(missing, plan.missing);
        assert!(!not_started.is_empty() && !idle.is_empty() && behind.len() > not_started.len());
        assert!(
            !missing.is_empty(),
            "a project that does not report is planted"
        );
        // The JSON page for the HTTP source holds the same reports as the CSV.
        let page: serde_json::Value =
            serde_json::from_str(&read("http/project-progress/page-0001.json")).unwrap();
        assert_eq!(
            page["rows"].as_array().unwrap().len(),
            progress.lines().count() - 1
        );
        assert_eq!(plan.count, 154);
    }
}
