//! The synthetic city (issue 9): a deterministic generator of everything indmon ingests,
//! calibrated on the seeds — 765 above-scale enterprises of which the largest 100 make about
//! 30% of output, a 7% growth target that some districts beat and others lag, a few hundred
//! 停产/半停产/减产 enterprises, a refinery on planned maintenance, missing and late reports, a
//! revision, an output-up/electricity-down case and ~154 key projects in every state.
//!
//! # Layout of the generated folder
//!
//! ```text
//! units.csv  enterprises.csv  targets.csv  unit_indicators.csv
//! projects.csv  project_progress.csv                  key projects and their monthly progress
//! http/project-progress/page-0001.json                the progress as the HTTP source's page
//! submissions/YYYY-MM.csv                             one per month, on-time rows only
//! submissions/<last>-late.csv                         rows of the last month sent after the deadline
//! submissions/<last>-revision.csv                     one corrected row of the last month
//! http/<stem>/page-0001.json …                        each submissions/<stem>.csv as JSON pages
//! plan.json                                           what was planted (see [`plan::Plan`])
//! power/accounts.csv                                  power accounts → credit codes (power-accounts)
//! power/daily/YYYY-MM.csv                             metered kWh per account and day (power-daily),
//!                                                     the month after the last up to its day
//!                                                     `power_days_after`
//! ```
//!
//! A JSON page is `{"submissions":[…],"next_cursor":"<stem>/page-0002","has_more":true}`; the
//! last page has `"next_cursor":null,"has_more":false`. A demo HTTP server serves the page at
//! `http/<cursor>.json`, starting from `http/<stem>/page-0001.json`. Import order: units,
//! enterprises, targets, unit indicators, then the month files in order, then `-late`, then
//! `-revision`; the power accounts after the enterprises, then the daily files in any order.
//! The daily electricity ([`power`]) follows each enterprise's monthly figures.
//!
//! # How
//!
//! Every enterprise is a pure function of (seed, index) ([`enterprise::Profile`]); the files
//! are written enterprise by enterprise into one open writer per month, so memory does not
//! grow with the number of enterprises (`--enterprises 500000` works). Above-scale enterprises
//! come first and by size rank (stratified quantiles of [`enterprise::size_at`]), so the largest
//! ~100 are the key enterprises without a sort.
//!
//! Random numbers come from SplitMix64 ([`rng`]), 15 lines with a published test vector, rather
//! than a crate: the city for a seed must never change with a dependency update or a platform,
//! and the generator needs no statistical strength beyond that. Floats are used only with basic
//! operations and `sqrt` (exactly rounded everywhere), then rounded to 0.1 万元 integers; all
//! figures of the plan are computed from those integers.

pub mod answers;
pub mod city;
pub mod draws;
pub mod enterprise;
mod generate;
pub mod plan;
pub mod power;
pub mod projects;
pub mod rng;
pub mod run;
pub mod summary;
mod write;
pub mod xun;

pub use generate::generate;
pub use plan::Plan;

use crate::period::Period;

/// Monthly weights of output in an average year: January and February low (Spring Festival),
/// December high (year-end push), normalised by their sum; each month's days off move it
/// further (`power::month_factor`).
pub const SEASON: [f64; 12] = [
    0.70, 0.62, 1.00, 0.98, 1.00, 1.06, 0.96, 0.97, 1.05, 1.00, 1.08, 1.28,
];

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenSpec {
    pub seed: u64,
    /// Above-scale enterprises (规上).
    pub enterprises: usize,
    /// Below-scale enterprises near the threshold (the cultivation pool, 培育库).
    pub below_scale: usize,
    pub months_from: Period,
    /// The last period: states, lags and missing reports are planted for it.
    pub months_to: Period,
    /// The first month of metered daily electricity (`power/`), none for no power files.
    pub power_from: Option<Period>,
    /// Days of the month after `months_to` with metered electricity (the current month's days
    /// delivered before its statistics: the nowcast's 旬), 0 for none.
    pub power_days_after: u32,
    /// Key projects.
    pub projects: usize,
    /// Rows per JSON page.
    pub page_size: usize,
    /// Whether to write the JSON pages (benchmarks of huge provinces may not want them).
    pub http_pages: bool,
}

impl Default for GenSpec {
    /// The demo city: 765 enterprises, 150 in the pool, 49 months of submissions and daily
    /// electricity (October 2022 to October 2026) and November 2026's 上旬: a growth needs the
    /// month a year before, so the nowcast of November has 36 months of paired growth
    /// (October 2023 on) — each of its 12 backtest months (October 2025 on) 24 before it.
    fn default() -> GenSpec {
        GenSpec {
            seed: 2026,
            enterprises: 765,
            below_scale: 150,
            months_from: Period::new(2022, 10).unwrap_or_else(|| unreachable!()),
            months_to: Period::new(2026, 10).unwrap_or_else(|| unreachable!()),
            power_from: Period::new(2022, 10),
            power_days_after: 10,
            projects: 154,
            page_size: 500,
            http_pages: true,
        }
    }
}

impl GenSpec {
    /// Refuses specifications that would make no sense.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.enterprises >= 1, "--enterprises must be at least 1");
        anyhow::ensure!(
            self.months_from <= self.months_to,
            "the first month {} is after the last {}",
            self.months_from,
            self.months_to
        );
        anyhow::ensure!(
            self.months_to.year() - self.months_from.year() <= 10,
            "at most ten years of months"
        );
        if let Some(p) = self.power_from {
            anyhow::ensure!(
                p <= self.months_to && self.months_to.year() - p.year() <= 10,
                "daily electricity from {p}: after {} or more than ten years before it",
                self.months_to
            );
        }
        anyhow::ensure!(
            self.power_days_after <= 28,
            "at most 28 days of the month after the last"
        );
        anyhow::ensure!(self.page_size >= 1, "page size must be at least 1");
        Ok(())
    }
}
