//! Key projects (重点项目) at one period: the status each project has reached and since when,
//! the changes of status the reports show, the investment of the year to date against this
//! year's plan, and how many periods in a row it has not reported. Pure, like the rest of the
//! analysis.

use crate::period::Period;
use crate::registry::{Project, ProjectStatus};

use super::Dataset;

/// One stored monthly progress report of a project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgressReport {
    pub period: Period,
    /// Ten-thousandths of 万元, as every amount.
    pub invested_month: Option<i64>,
    pub invested_ytd: Option<i64>,
    pub status: Option<ProjectStatus>,
    pub revision: i64,
    pub run_id: i64,
}

/// A change of status as the reports show it, dated by the first report with the new status.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StatusChange {
    pub period: String,
    pub from: Option<ProjectStatus>,
    pub to: ProjectStatus,
}

/// Where a project's status at the period comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusSource {
    /// The report of the period itself.
    Reported,
    /// The latest earlier report (the status is a state: it lasts until a report changes it).
    Carried(Period),
    /// No report up to the period: the registry's status.
    Registry,
}

/// One project evaluated at the dataset's period.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectResult {
    /// Index into [`Dataset::projects`].
    pub index: usize,
    pub status: ProjectStatus,
    pub source: StatusSource,
    /// The first report of the current run of `status` (gaps between reports do not break it);
    /// `None` when the status comes from the registry.
    pub status_since: Option<Period>,
    /// Every change of status up to the period, oldest first.
    pub changes: Vec<StatusChange>,
    /// Whether the project reported for the period.
    pub reported: bool,
    /// Periods in a row, ending at the period, with no report.
    pub missing_streak: u32,
    pub invested_month: Option<i64>,
    /// Invested this year up to the period: the reported 1-本月累计 where the period's report has
    /// one, else the sum of this year's monthly figures; `None` without a report this year.
    pub invested_ytd: Option<i64>,
    /// The revision of the period's report (0 without one).
    pub revision: i64,
}

/// The reports of one project up to and including `t`.
fn upto(reports: &[ProgressReport], t: Period) -> &[ProgressReport] {
    let n = reports.partition_point(|r| r.period <= t);
    &reports[..n]
}

/// The project's status at `t`, where it comes from, and since when.
pub fn status_at(
    project: &Project,
    reports: &[ProgressReport],
    t: Period,
) -> (ProjectStatus, StatusSource, Option<Period>) {
    let mut current: Option<(ProjectStatus, Period, Period)> = None;
    for r in upto(reports, t) {
        if let Some(s) = r.status {
            match current {
                Some((c, since, _)) if c == s => current = Some((c, since, r.period)),
                _ => current = Some((s, r.period, r.period)),
            }
        }
    }
    match current {
        None => (project.status, StatusSource::Registry, None),
        Some((s, since, last)) if last == t => (s, StatusSource::Reported, Some(since)),
        Some((s, since, last)) => (s, StatusSource::Carried(last), Some(since)),
    }
}

/// The investment of `t`'s year up to `t`: the ytd reported for `t`, else the sum of the year's
/// monthly figures. `None` when the project reported nothing in that year up to `t`.
pub fn ytd_at(reports: &[ProgressReport], t: Period) -> Option<i64> {
    let year: Vec<&ProgressReport> = upto(reports, t)
        .iter()
        .filter(|r| r.period.year() == t.year())
        .collect();
    if let Some(ytd) = year
        .last()
        .filter(|r| r.period == t)
        .and_then(|r| r.invested_ytd)
    {
        return Some(ytd);
    }
    if year.is_empty() {
        return None;
    }
    Some(year.iter().filter_map(|r| r.invested_month).sum())
}

/// Evaluates one project at `p`.
pub fn evaluate_project(
    index: usize,
    project: &Project,
    reports: &[ProgressReport],
    p: Period,
) -> ProjectResult {
    let (status, source, status_since) = status_at(project, reports, p);
    let seen = upto(reports, p);
    let mut changes = Vec::new();
    let mut last: Option<ProjectStatus> = None;
    for r in seen {
        if let Some(s) = r.status.filter(|s| Some(*s) != last) {
            changes.push(StatusChange {
                period: r.period.to_string(),
                from: last,
                to: s,
            });
            last = Some(s);
        }
    }
    let current = seen.last().filter(|r| r.period == p);
    let missing_streak = match seen.last() {
        Some(r) => (p.ordinal() - r.period.ordinal()) as u32,
        // Never reported: counted as one period, as for an enterprise that never reported.
        None => 1,
    };
    ProjectResult {
        index,
        status,
        source,
        status_since,
        changes,
        reported: current.is_some(),
        missing_streak,
        invested_month: current.and_then(|r| r.invested_month),
        invested_ytd: ytd_at(reports, p),
        revision: current.map_or(0, |r| r.revision),
    }
}

/// Evaluates every project of the dataset at its period, in registry order.
pub fn evaluate_projects(ds: &Dataset) -> Vec<ProjectResult> {
    ds.projects
        .iter()
        .zip(&ds.progress)
        .enumerate()
        .map(|(i, (pr, reports))| evaluate_project(i, pr, reports, ds.period()))
        .collect()
}

/// A unit's key projects at the period: how many in each status, this year's plan and the
/// investment so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProjectCounts {
    pub total: u32,
    pub planned: u32,
    pub started: u32,
    pub completed: u32,
    pub producing: u32,
    /// Projects with a report for the period.
    pub reported: u32,
    /// Sum of this year's plans, ten-thousandths of 万元.
    pub planned_year: i64,
    /// Sum of the year-to-date investment reported.
    pub invested_ytd: i64,
}

impl ProjectCounts {
    fn add(&mut self, pr: &Project, r: &ProjectResult) {
        self.total += 1;
        match r.status {
            ProjectStatus::Planned => self.planned += 1,
            ProjectStatus::Started => self.started += 1,
            ProjectStatus::Completed => self.completed += 1,
            ProjectStatus::Producing => self.producing += 1,
        }
        self.reported += u32::from(r.reported);
        self.planned_year += pr.planned_year.map_or(0, |a| a.raw());
        self.invested_ytd += r.invested_ytd.unwrap_or(0);
    }
}

/// Project counts of every unit (parallel to [`Dataset::units`]): a project counts in its own
/// unit and in the city.
pub fn unit_counts(ds: &Dataset, results: &[ProjectResult]) -> Vec<ProjectCounts> {
    let mut out = vec![ProjectCounts::default(); ds.units.len()];
    let city = ds.city();
    for r in results {
        let pr = &ds.projects[r.index];
        if let Some(u) = ds.units.iter().position(|u| u.code == pr.unit_code)
            && Some(u) != city
        {
            out[u].add(pr, r);
        }
        if let Some(c) = city {
            out[c].add(pr, r);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::Amount;

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    fn project(status: ProjectStatus) -> Project {
        Project {
            id: "XM1".into(),
            name: "项目".into(),
            unit_code: "D".into(),
            owner: None,
            total_investment: Amount(50_000 * 10_000),
            planned_year: Some(Amount(12_000 * 10_000)),
            planned_start: Some(p("2026-03")),
            planned_completion: None,
            planned_production: None,
            status,
        }
    }

    fn report(
        period: &str,
        month: Option<i64>,
        ytd: Option<i64>,
        s: Option<ProjectStatus>,
    ) -> ProgressReport {
        ProgressReport {
            period: p(period),
            invested_month: month.map(|m| m * 10_000),
            invested_ytd: ytd.map(|y| y * 10_000),
            status: s,
            revision: 1,
            run_id: 1,
        }
    }

    use ProjectStatus::*;

    #[test]
    fn status_goes_back_and_forth_and_dates_each_change() {
        let reports = [
            report("2025-12", Some(0), Some(0), Some(Planned)),
            report("2026-03", Some(100), Some(100), Some(Started)),
            report("2026-05", Some(0), Some(300), Some(Completed)),
            report("2026-06", Some(50), Some(350), Some(Started)),
            // No report in July: the status lasts.
            report("2026-08", Some(0), Some(400), Some(Completed)),
            report("2026-09", Some(0), Some(400), None),
        ];
        let r = evaluate_project(0, &project(Planned), &reports, p("2026-10"));
        assert_eq!(r.status, Completed);
        assert_eq!(r.source, StatusSource::Carried(p("2026-08")));
        assert_eq!(r.status_since, Some(p("2026-08")));
        assert!(!r.reported);
        assert_eq!(r.missing_streak, 1);
        let dated: Vec<(String, ProjectStatus)> =
            r.changes.iter().map(|c| (c.period.clone(), c.to)).collect();
        assert_eq!(
            dated,
            [
                ("2025-12".to_string(), Planned),
                ("2026-03".to_string(), Started),
                ("2026-05".to_string(), Completed),
                ("2026-06".to_string(), Started),
                ("2026-08".to_string(), Completed),
            ]
        );
        // Back in May it was completed since May; in June started since June.
        assert_eq!(
            status_at(&project(Planned), &reports, p("2026-05")).2,
            Some(p("2026-05"))
        );
        assert_eq!(
            status_at(&project(Planned), &reports, p("2026-07")).0,
            Started
        );
    }

    #[test]
    fn ytd_is_the_reported_one_else_the_sum_of_the_year_s_months() {
        let reports = [
            report("2025-11", Some(900), Some(900), Some(Started)),
            report("2026-02", Some(100), None, Some(Started)),
            report("2026-04", Some(250), None, None),
            report("2026-05", Some(50), Some(420), None),
        ];
        // Last year's months never count.
        assert_eq!(ytd_at(&reports, p("2026-04")), Some(3_500_000));
        assert_eq!(ytd_at(&reports, p("2026-05")), Some(4_200_000));
        assert_eq!(ytd_at(&reports, p("2026-01")), None);
        // A month without a report: the months so far.
        assert_eq!(ytd_at(&reports, p("2026-03")), Some(1_000_000));
    }

    #[test]
    fn with_no_report_the_registry_status_holds() {
        let r = evaluate_project(0, &project(Started), &[], p("2026-10"));
        assert_eq!(
            (r.status, r.source, r.status_since),
            (Started, StatusSource::Registry, None)
        );
        assert_eq!(r.missing_streak, 1);
        assert_eq!(r.invested_ytd, None);
    }
}
