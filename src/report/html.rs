//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no external fonts),
//! printable on A4 and readable on a phone. Rendered with minijinja from a template embedded in
//! the binary; the template's `.html` name turns autoescaping on, so enterprise names and
//! messages cannot inject markup. Only the charts, built and escaped by [`super::charts`], are
//! inserted raw.

use minijinja::{Environment, context};

use super::charts::{FONTS, growth_chart, svg};
use super::model::Snapshot;
use crate::analysis::rounding::{fixed, rounded, signed};

const TEMPLATE: &str = include_str!("templates/report.html");

/// Rows of a long list shown on the page; the workbook has them all. A province's few thousand
/// stalled enterprises would make a page no phone can scroll.
pub const LIST_LIMIT: usize = 200;

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
    env.add_template("report.html", TEMPLATE)?;
    super::industry::add_templates(&mut env)?;
    let charts: Vec<String> = vec![svg(&growth_chart(s))];
    let html = env.get_template("report.html")?.render(context! {
        s => s,
        title => title(city_name, s),
        half => s.half,
        fonts => FONTS.replace('\'', "\""),
        charts => charts,
        limit => LIST_LIMIT,
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
