//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external fonts),
//! printable on A4 and readable on a phone. Rendered with minijinja from a template embedded in
//! the binary; the template's `.html` name turns autoescaping on, so enterprise names and
//! messages cannot inject markup. Only the charts, built and escaped by [`super::charts`], are
//! inserted raw.

use minijinja::{Environment, context};

use super::charts::{self, FONTS, svg};
use super::model::Snapshot;
use super::sections;
use crate::analysis::rounding::{fixed, rounded, signed};

const TEMPLATE: &str = include_str!("templates/report.html");

/// Units' alerts listed on the page, most severe first; the workbook has them all.
pub const ALERT_ROWS: usize = 40;
/// Warned projects shown on the page, most severe first.
pub const PROJECT_ROWS: usize = 15;
/// Industries (大类) shown on the page and in its chart, largest output first; the workbook
/// has them all.
pub const INDUSTRY_ROWS: usize = charts::INDUSTRY_BARS;

/// The workbook's sheets the page points to for the full lists (names as `report.xlsx` has
/// them; the snapshot test checks each exists).
pub use super::xlsx::{SHEET_ALERTS, SHEET_PROJECTS, SHEET_QUALITY, SHEET_STATES};

/// The data-quality findings counted by kind, in the order they first appear.
fn quality_counts(s: &Snapshot) -> Vec<(String, usize)> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for q in &s.quality {
        match out.iter_mut().find(|(k, _)| *k == q.rule_zh) {
            Some((_, n)) => *n += 1,
            None => out.push((q.rule_zh.clone(), 1)),
        }
    }
    out
}

/// "5.8%", "−3.2%" or "—".
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), crate::analysis::fmt_pct)
}

/// Percentage points with a sign and one decimal: "+1.2", "−0.4".
fn pp(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| signed(x, 1))
}

/// Pull in percentage points with two decimals.
fn pp2(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| signed(x, 2))
}

/// A rate in percent, one decimal, no sign.
fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| format!("{}%", fixed(x, 1)))
}

/// 万元 with one decimal and thousands separators.
fn wan(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |x| crate::analysis::fmt_wan(rounded(x, 4)))
}

/// "比1—9月回落0.7个百分点", a change as shown against `since`.
fn moved(v: Option<f64>, since: &str) -> String {
    v.map_or_else(String::new, |d| super::text::moved(d, since))
}

/// "前移2位", "后移1位", "不变", or "—" without last period's rank.
fn rank_move(v: Option<i32>) -> String {
    super::change::rank_move_zh(v)
}

/// A count's change: "+2", "−1", "0".
fn delta(v: Option<i64>) -> String {
    v.map_or_else(|| "—".into(), super::change::delta_zh)
}

/// The page's charts as inline SVG, by the section that shows them.
#[derive(Debug, Default, serde::Serialize)]
struct Charts {
    growth: String,
    ranking: Vec<String>,
    states: String,
}

fn page_charts(s: &Snapshot) -> Charts {
    let mut ranking = vec![svg(&charts::ranking_chart(
        "各县区",
        &s.districts,
        s.city.as_ref(),
        &s.period_label,
    ))];
    if !s.zones.is_empty() {
        ranking.push(svg(&charts::ranking_chart(
            "各园区",
            &s.zones,
            s.city.as_ref(),
            &s.period_label,
        )));
    }
    Charts {
        growth: svg(&charts::growth_chart(s)),
        ranking,
        states: svg(&charts::states_chart(s)),
    }
}

/// The title of a snapshot: "示例市工业经济运行分析（2026年11月上半月）".
pub fn title(city_name: &str, s: &Snapshot) -> String {
    let (month, half) = s.half.rsplit_once('-').unwrap_or((&s.half, "H1"));
    let (y, m) = month.split_once('-').unwrap_or((month, ""));
    let m = m.trim_start_matches('0');
    let which = if half == "H2" {
        "下半月"
    } else {
        "上半月"
    };
    format!("{city_name}工业经济运行分析（{y}年{m}月{which}）")
}

/// Renders the page.
pub fn render(s: &Snapshot, city_name: &str) -> anyhow::Result<String> {
    let mut env = Environment::new();
    env.add_filter("pct", pct);
    env.add_filter("pp", pp);
    env.add_filter("pp2", pp2);
    env.add_filter("rate", rate);
    env.add_filter("wan", wan);
    env.add_filter("moved", moved);
    env.add_filter("rank_move", rank_move);
    env.add_filter("delta", delta);
    env.add_template("report.html", TEMPLATE)?;
    super::industry::add_templates(&mut env)?;
    let industry_chart = charts::industry_of(s, INDUSTRY_ROWS).map(|c| svg(&c));
    let stalls = sections::stalls_by_unit(s);
    let overhaul: Vec<&str> = s.overhaul.iter().map(|o| o.credit_code.as_str()).collect();
    let warned: Vec<_> = s
        .projects
        .list
        .iter()
        .filter(|p| !p.severity.is_empty())
        .collect();
    let html = env.get_template("report.html")?.render(context! {
        s => s,
        title => title(city_name, s),
        half => s.half,
        fonts => FONTS.replace('\'', "\""),
        charts => page_charts(s),
        industry_chart => industry_chart,
        industry_limit => INDUSTRY_ROWS,
        changed => s.states.change.is_some(),
        since => s.prev_month_label.as_deref().unwrap_or("上月"),
        stalls => stalls,
        alerts => sections::alert_view(s),
        quality => quality_counts(s),
        overhaul => overhaul,
        warned => warned,
        alert_rows => ALERT_ROWS,
        project_rows => PROJECT_ROWS,
        sheet_states => SHEET_STATES,
        sheet_projects => SHEET_PROJECTS,
        sheet_alerts => SHEET_ALERTS,
        sheet_quality => SHEET_QUALITY,
        sheet_industries => super::xlsx::SHEET_INDUSTRIES,
        sheet_answers => super::xlsx::SHEET_ANSWERS,
        sheet_xun => super::xlsx::SHEET_XUN,
        sheet_forecast => super::xlsx::SHEET_FORECAST,
    })?;
    Ok(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_print_like_reports() {
        // 四舍五入, half away from zero on both sides.
        assert_eq!(pct(Some(-3.25)), "−3.3%");
        assert_eq!(pct(Some(3.25)), "3.3%");
        assert_eq!(pp(Some(-1.15)), "−1.2");
        assert_eq!(pp(Some(0.05)), "+0.1");
        assert_eq!(pp(Some(-0.04)), "0.0");
        assert_eq!(pp2(Some(-0.125)), "−0.13");
        assert_eq!(rate(Some(95.45)), "95.5%");
        assert_eq!(wan(Some(0.05)), "0.1");
        assert_eq!(pp(Some(1.23)), "+1.2");
        assert_eq!(pp(Some(-0.44)), "−0.4");
        assert_eq!(rate(None), "—");
        assert_eq!(wan(Some(12_345.66)), "12,345.7");
    }
}
