//! The report's sections on industries (分行业), efficiency and demand (效益) and industrial
//! investment (工业投资), built from the evaluation the snapshot read (pure: the dataset, the
//! report and `[industry]` in, plain rows out). Industries are GB/T 4754-2017 大类
//! ([`classification`]) and the configured groupings ([`config`]); every figure is over the
//! enterprises counted in the city's growth, so the industries' pulls add up to it.

pub mod classification;
pub mod config;
pub mod divisions;
pub mod efficiency;
pub mod investment;
pub mod sheet;
#[cfg(test)]
mod tests;
mod text;

use serde::Serialize;

pub use config::{GroupConfig, IndustryConfig};
pub use investment::InvestmentRow;

use super::model::{FindingRow, Snapshot};
use crate::analysis::{Dataset, Growth};
use crate::evaluate::Report;
use crate::registry::UnitKind;
use classification::classification;
use divisions::{ByIndustry, Sums};
use efficiency::Efficiency;

/// Industries listed in each direction among those that pull and drag most.
pub const TOP: usize = 5;

/// 分行业: output by 大类 and by group, 增长面, the leading industries, pulls and drags.
#[derive(Clone, Debug, Default, Serialize)]
pub struct IndustrySection {
    /// Divisions with counted enterprises, largest output first.
    pub divisions: Vec<IndustryRow>,
    /// The configured groups, in configuration order.
    pub groups: Vec<IndustryRow>,
    /// The counted enterprises without a usable code, as one row (their pull included).
    pub unclassified: Option<IndustryRow>,
    /// Above-scale enterprises registered without a code, and by each code that names no
    /// industrial division.
    pub missing_codes: u32,
    pub unknown_codes: Vec<UnknownCode>,
    /// 增长面: divisions growing among those with a base, and that share in percent.
    pub growing: u32,
    pub with_base: u32,
    pub growing_share_pct: Option<f64>,
    /// The `leading` divisions with the largest output (主导行业) and their share and growth.
    pub leading: Vec<String>,
    pub leading_share_pct: Option<f64>,
    pub leading_growth_pct: Option<f64>,
    /// The divisions that pull most (largest positive pulls first) and drag most.
    pub pulling: Vec<IndustryRow>,
    pub dragging: Vec<IndustryRow>,
    /// The section in the bureau's words.
    pub summary: String,
}

/// A division or a group: output this year and last, growth, share of the city, pull.
#[derive(Clone, Debug, Serialize)]
pub struct IndustryRow {
    /// Two-digit division code, or the group's name.
    pub code: String,
    /// Section letter (B/C/D) of a division, "" for a group.
    pub section: String,
    pub name: String,
    pub enterprises: u32,
    pub ytd_wan: f64,
    pub ytd_prev_wan: f64,
    pub growth_pct: Option<f64>,
    pub share_pct: Option<f64>,
    pub pull_pp: Option<f64>,
}

/// A code that names no industrial division and how many above-scale enterprises carry it.
#[derive(Clone, Debug, Serialize)]
pub struct UnknownCode {
    pub code: String,
    pub enterprises: u32,
}

/// 效益: the city's and each district's revenue, profit, 产销率, exports and electricity.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EfficiencySection {
    pub city: Option<EfficiencyRow>,
    pub districts: Vec<EfficiencyRow>,
    pub summary: String,
}

/// One unit's efficiency figures (万元; electricity in 万千瓦时).
#[derive(Clone, Debug, Serialize)]
pub struct EfficiencyRow {
    pub code: String,
    pub name: String,
    pub revenue_wan: f64,
    pub revenue_growth_pct: Option<f64>,
    pub profit_wan: f64,
    pub profit_prev_wan: f64,
    pub profit_growth_pct: Option<f64>,
    pub loss_making: u32,
    pub loss_share_pct: Option<f64>,
    pub sales_wan: f64,
    pub sales_ratio_pct: Option<f64>,
    pub sales_ratio_prev_pct: Option<f64>,
    pub export_wan: f64,
    pub export_growth_pct: Option<f64>,
    /// The month's electricity and its growth, beside the month's and the year's output growth.
    pub electricity: f64,
    pub electricity_growth_pct: Option<f64>,
    pub output_month_growth_pct: Option<f64>,
    pub output_growth_pct: Option<f64>,
}

/// 工业投资: every unit with an investment figure or target.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InvestmentSection {
    pub rows: Vec<InvestmentRow>,
    /// Whether any row has a growth rate (last year's figure loaded): the page shows the column
    /// only then.
    pub with_growth: bool,
    pub summary: String,
}

/// The HTML partials of the three sections, included by `report.html`.
pub const TEMPLATES: [(&str, &str); 3] = [
    ("industry.html", include_str!("../templates/industry.html")),
    (
        "efficiency.html",
        include_str!("../templates/efficiency.html"),
    ),
    (
        "investment.html",
        include_str!("../templates/investment.html"),
    ),
];

/// Registers [`TEMPLATES`] with the report's template environment.
pub fn add_templates(env: &mut minijinja::Environment<'static>) -> Result<(), minijinja::Error> {
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    Ok(())
}

/// Builds the three sections into the snapshot, lists unusable industry codes under data
/// quality (数据质量) and writes the analysis paragraphs again so that they count them.
pub fn attach(snap: &mut Snapshot, report: &Report, ds: &Dataset, cfg: &IndustryConfig) {
    let label = report.period.ytd_label();
    snap.industries = industries(ds, cfg, &label);
    snap.efficiency = efficiency_section(ds, report, &label);
    let rows = investment::rows(ds, report);
    snap.investment = InvestmentSection {
        summary: text::investment(&rows, &label),
        with_growth: rows.iter().any(|r| r.growth_pct.is_some()),
        rows,
    };
    snap.quality.extend(quality_rows(&snap.industries));
    // The analysis text counts the data-quality rows, these included.
    super::text::write(snap);
}

/// The 分行业 section.
pub fn industries(ds: &Dataset, cfg: &IndustryConfig, label: &str) -> IndustrySection {
    let by = divisions::by_industry(ds, &cfg.prefixes());
    let mut s = section_of(&by, cfg);
    s.summary = text::industries(&s, label);
    s
}

fn section_of(by: &ByIndustry, cfg: &IndustryConfig) -> IndustrySection {
    let class = classification();
    let city = by.city;
    // Divisions with counted enterprises, largest output first (ties by code).
    let mut order: Vec<usize> = (0..by.divisions.len())
        .filter(|&d| by.divisions[d].enterprises > 0)
        .collect();
    order.sort_by_key(|&d| (std::cmp::Reverse(by.divisions[d].ytd), d));
    let divisions: Vec<IndustryRow> = order
        .iter()
        .map(|&d| {
            let c = &class.divisions[d];
            row(
                c.code,
                &c.section.to_string(),
                c.name,
                &by.divisions[d],
                &city,
            )
        })
        .collect();
    let groups = cfg
        .groups
        .iter()
        .zip(&by.groups)
        .map(|(g, s)| row(&g.name, "", &g.name, s, &city))
        .collect();
    let growth: Vec<Growth> = order
        .iter()
        .filter_map(|&d| by.divisions[d].growth())
        .collect();
    let with_base = growth.len() as u32;
    let growing = growth.iter().filter(|g| g.cmp_raw(0).is_gt()).count() as u32;
    let mut leading_sums = Sums::default();
    for &d in order.iter().take(cfg.leading) {
        let s = by.divisions[d];
        leading_sums.ytd += s.ytd;
        leading_sums.ytd_prev += s.ytd_prev;
        leading_sums.enterprises += s.enterprises;
    }
    let (pulling, dragging) = pulls_and_drags(&divisions);
    IndustrySection {
        unclassified: (by.unclassified.enterprises > 0)
            .then(|| row("", "", UNCLASSIFIED, &by.unclassified, &city)),
        missing_codes: by.missing,
        unknown_codes: by
            .unknown
            .iter()
            .map(|(code, n)| UnknownCode {
                code: code.clone(),
                enterprises: *n,
            })
            .collect(),
        growing,
        with_base,
        growing_share_pct: (with_base > 0).then(|| growing as f64 / with_base as f64 * 100.0),
        leading: divisions
            .iter()
            .take(cfg.leading)
            .map(|d| d.name.clone())
            .collect(),
        leading_share_pct: leading_sums
            .share_of(city.ytd)
            .filter(|_| !order.is_empty()),
        leading_growth_pct: leading_sums.growth().map(Growth::pct),
        pulling,
        dragging,
        divisions,
        groups,
        summary: String::new(),
    }
}

/// The divisions that pull most (largest pull first) and drag most (most negative first),
/// [`TOP`] each.
fn pulls_and_drags(divisions: &[IndustryRow]) -> (Vec<IndustryRow>, Vec<IndustryRow>) {
    let mut by_pull: Vec<(&IndustryRow, f64)> = divisions
        .iter()
        .filter_map(|d| d.pull_pp.map(|p| (d, p)))
        .collect();
    by_pull.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.code.cmp(&b.0.code)));
    let pulling = by_pull
        .iter()
        .filter(|(_, p)| *p > 0.0)
        .take(TOP)
        .map(|(d, _)| (*d).clone())
        .collect();
    let dragging = by_pull
        .iter()
        .rev()
        .filter(|(_, p)| *p < 0.0)
        .take(TOP)
        .map(|(d, _)| (*d).clone())
        .collect();
    (pulling, dragging)
}

/// The row name of the enterprises without a usable code.
pub const UNCLASSIFIED: &str = "行业代码缺失或无法识别";

fn row(code: &str, section: &str, name: &str, s: &Sums, city: &Sums) -> IndustryRow {
    IndustryRow {
        code: code.into(),
        section: section.into(),
        name: name.into(),
        enterprises: s.enterprises,
        ytd_wan: wan(s.ytd),
        ytd_prev_wan: wan(s.ytd_prev),
        growth_pct: s.growth().map(Growth::pct),
        share_pct: s.share_of(city.ytd),
        pull_pp: s.pull_on(city.ytd_prev),
    }
}

/// The chart of growth by industry (the helper `charts` draws it): (name, growth %, pull pp)
/// of every division with a growth rate, fastest growth first (ties by code).
pub fn chart_bars(s: &IndustrySection) -> Vec<(String, f64, f64)> {
    let mut v: Vec<(&IndustryRow, f64)> = s
        .divisions
        .iter()
        .filter_map(|d| d.growth_pct.map(|g| (d, g)))
        .collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.code.cmp(&b.0.code)));
    v.into_iter()
        .map(|(d, g)| (d.name.clone(), g, d.pull_pp.unwrap_or(0.0)))
        .collect()
}

/// The 效益 section: the city and every district.
pub fn efficiency_section(ds: &Dataset, report: &Report, label: &str) -> EfficiencySection {
    let members = ds.memberships();
    let sums = efficiency::by_unit(ds, &members);
    let row_of = |u: &crate::analysis::UnitResult| efficiency_row(u, &sums[u.index]);
    let city = report
        .units
        .iter()
        .find(|u| u.kind == UnitKind::City)
        .map(row_of);
    let mut districts: Vec<EfficiencyRow> = report
        .units
        .iter()
        .filter(|u| u.kind == UnitKind::District)
        .map(row_of)
        .collect();
    districts.sort_by(|a, b| a.code.cmp(&b.code));
    let summary = city.as_ref().map_or_else(String::new, |c| {
        text::efficiency(c, ds.period(), ds.cal.is_combined(ds.period()), label)
    });
    EfficiencySection {
        city,
        districts,
        summary,
    }
}

fn efficiency_row(u: &crate::analysis::UnitResult, e: &Efficiency) -> EfficiencyRow {
    let pct = |g: Option<Growth>| g.map(Growth::pct);
    EfficiencyRow {
        code: u.code.clone(),
        name: u.name.clone(),
        revenue_wan: wan(e.revenue.cur),
        revenue_growth_pct: pct(e.revenue.growth()),
        profit_wan: wan(e.profit.cur),
        profit_prev_wan: wan(e.profit.prev),
        profit_growth_pct: pct(e.profit.growth()),
        loss_making: e.loss_making,
        loss_share_pct: e.loss_share(),
        sales_wan: wan(e.sales.cur),
        sales_ratio_pct: e.sales_ratio(),
        sales_ratio_prev_pct: e.sales_ratio_prev(),
        export_wan: wan(e.export.cur),
        export_growth_pct: pct(e.export.growth()),
        electricity: wan(e.electricity.cur),
        electricity_growth_pct: pct(e.electricity.growth()),
        output_month_growth_pct: pct(u.month_growth),
        output_growth_pct: pct(Growth::ratio(u.ytd, u.ytd_prev)),
    }
}

/// Data quality: one row for the enterprises without a code, one per code naming no division.
fn quality_rows(s: &IndustrySection) -> Vec<FindingRow> {
    let finding = |subject: &str, message: String| FindingRow {
        severity: String::new(),
        severity_zh: String::new(),
        rule: "industry_code_unknown".into(),
        rule_zh: "行业代码无法识别".into(),
        subject: subject.into(),
        subject_name: subject.into(),
        unit: String::new(),
        message,
    };
    let mut out = Vec::new();
    if s.missing_codes > 0 {
        out.push(finding(
            "",
            format!(
                "{}家规上企业未登记行业代码，未计入分行业统计（列为“{UNCLASSIFIED}”）。",
                s.missing_codes
            ),
        ));
    }
    for u in &s.unknown_codes {
        out.push(finding(
            &u.code,
            format!(
                "{}家规上企业的行业代码“{}”不是GB/T 4754-2017工业大类（06–46）的代码，未计入分行业统计（列为“{UNCLASSIFIED}”），请核实。",
                u.enterprises, u.code
            ),
        ));
    }
    out
}

fn wan(raw: i64) -> f64 {
    raw as f64 / 10_000.0
}
