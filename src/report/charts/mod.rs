//! The report's charts, drawn with plotters: the city's cumulative growth by month against its
//! target, the district and zone rankings with the city average and the target marked, the
//! monthly counts of 停产 / 半停产 / 减产 enterprises, and growth by industry.
//!
//! Each chart is plain data ([`Chart`]) rendered two ways from one drawing: [`svg`] for the
//! HTML page (inline, self-contained, the fonts named as a CJK-capable list because SVG text
//! uses the viewer's fonts) and [`png`] for the Word version (its text set with a CJK font file
//! the caller loads as a [`ChartFont`]). Every chart reads in black and white: greys, hatching,
//! dash patterns and a label on every bar and line rather than colour. The same data gives the
//! same bytes: integer coordinates, no ids, no clock, no paths.

mod bars;
mod canvas;
pub mod data;
mod font;
mod line;
mod states;
#[cfg(test)]
mod tests;

use plotters::prelude::*;

pub use data::{ChartData, GrowthPoint, StateCounts};
pub use font::{CJK_FONT_PATHS, ChartFont};

use super::model::{Snapshot, UnitRow};
use crate::analysis::VALUE_ADDED_GROWTH;
use crate::causes::Causes;
use canvas::{Canvas, Texts, WIDTH};

/// The font stack for Chinese text, shared with the page's CSS.
pub const FONTS: &str =
    "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif";

/// The same stack as an SVG attribute value (unquoted names, so no escaping is needed).
const SVG_FONTS: &str = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, WenQuanYi Micro Hei, sans-serif";

/// Device pixels per logical unit in the PNG: 1360 pixels across 170 mm, 203 dpi.
const PNG_SCALE: f64 = 2.0;

/// One chart, as data.
#[derive(Clone, Debug, PartialEq)]
pub enum Chart {
    Growth(GrowthChart),
    Bars(BarChart),
    States(StateChart),
}

/// A cumulative growth line by month against the target.
#[derive(Clone, Debug, PartialEq)]
pub struct GrowthChart {
    pub title: String,
    /// One label per month: `1—2月`, `1—3月`, ….
    pub labels: Vec<String>,
    /// Growth this year, percent, parallel to `labels`.
    pub this_year: Vec<Option<f64>>,
    /// Growth last year at the same months, when known (empty otherwise).
    pub last_year: Vec<Option<f64>>,
    pub target_pct: Option<f64>,
}

/// Horizontal bars sorted by value, fastest at the top, with reference lines.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub bars: Vec<Bar>,
    /// The average the bars are compared with (全市), drawn dashed.
    pub average: Option<Mark>,
    /// The target, drawn with a different dash.
    pub target: Option<Mark>,
}

/// One bar: a name and its growth in percent (none: no figure, listed last).
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: Option<f64>,
    /// Below the unit's own target for the period: hatched.
    pub below_target: bool,
}

/// A reference line and its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub label: String,
    pub value: f64,
}

/// Stalled, semi-stalled and reduced enterprises by month, as stacked bars.
#[derive(Clone, Debug, PartialEq)]
pub struct StateChart {
    pub title: String,
    pub months: Vec<StateCounts>,
}

impl Chart {
    pub fn title(&self) -> &str {
        match self {
            Chart::Growth(c) => &c.title,
            Chart::Bars(c) => &c.title,
            Chart::States(c) => &c.title,
        }
    }

    /// Width and height in logical units.
    fn size(&self) -> (f64, f64) {
        let h = match self {
            Chart::Growth(_) => line::HEIGHT,
            Chart::Bars(c) => bars::height(c),
            Chart::States(_) => states::HEIGHT,
        };
        (WIDTH, h)
    }

    fn draw<DB: DrawingBackend>(&self, c: &Canvas<DB>) -> canvas::Drawn {
        c.clear()?;
        match self {
            Chart::Growth(g) => line::draw(c, g),
            Chart::Bars(b) => bars::draw(c, b),
            Chart::States(s) => states::draw(c, s),
        }
    }
}

/// The chart as an inline SVG element, sized to the width of its container up to 170 mm.
/// Drawing into a string cannot fail but for a plotters fault; then the SVG says so in words.
pub fn svg(chart: &Chart) -> String {
    let (w, h) = chart.size();
    let (w, h) = (w.round() as u32, h.ceil() as u32);
    let mut out = String::new();
    let drawn = {
        let root = SVGBackend::with_string(&mut out, (w, h)).into_drawing_area();
        let res = chart.draw(&Canvas::new(&root, 1.0, Texts::Svg(SVG_FONTS)));
        res.and_then(|()| root.present().map_err(|e| anyhow::anyhow!("{e}")))
    };
    if let Err(e) = drawn {
        tracing::warn!("chart {:?} not drawn: {}", chart.title(), Causes(&e));
        return format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} 40" width="100%"><text x="4" y="24" font-size="12">{}：图表生成失败</text></svg>"#,
            escape(chart.title())
        );
    }
    let head = format!(r#"<svg width="{w}" height="{h}" "#);
    let label = format!(
        r#"<svg width="100%" style="max-width:170mm" role="img" aria-label="{}" "#,
        escape(chart.title())
    );
    out.replacen(&head, &label, 1)
}

/// Escapes text for an SVG attribute or element.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The chart as a PNG for the Word version: 1360 pixels wide, marked as 170 mm across (8 pixels
/// a millimetre), drawn with `font` for the Chinese text.
pub fn png(chart: &Chart, font: &ChartFont) -> anyhow::Result<Vec<u8>> {
    let (w, h) = chart.size();
    let (pw, ph) = (
        (w * PNG_SCALE).round() as u32,
        (h * PNG_SCALE).ceil() as u32,
    );
    let mut pixels = vec![0xffu8; pw as usize * ph as usize * 3];
    let labels = std::cell::RefCell::new(Vec::new());
    {
        let backend: BitMapBackend = BitMapBackend::with_buffer_and_format(&mut pixels, (pw, ph))
            .map_err(|e| anyhow::anyhow!("chart bitmap: {e}"))?;
        let root = backend.into_drawing_area();
        chart.draw(&Canvas::new(&root, PNG_SCALE, Texts::Collect(&labels)))?;
        root.present()
            .map_err(|e| anyhow::anyhow!("chart bitmap: {e}"))?;
    }
    font.set(&mut pixels, pw, &labels.into_inner());
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, pw, ph);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_pixel_dims(Some(png::PixelDimensions {
        xppu: 8000,
        yppu: 8000,
        unit: png::Unit::Meter,
    }));
    let mut writer = enc.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(out)
}

/// "规模以上工业增加值" or "规模以上工业总产值", as the report's text names the city's figure.
fn indicator_name(indicator: &str) -> &'static str {
    if indicator == VALUE_ADDED_GROWTH {
        "规模以上工业增加值"
    } else {
        "规模以上工业总产值"
    }
}

/// Chart 1: the city's cumulative growth by month against its annual target.
pub fn growth_chart(s: &Snapshot) -> Chart {
    let d = &s.charts;
    Chart::Growth(GrowthChart {
        title: format!("全市{}累计增速（%）", indicator_name(&d.indicator)),
        labels: d.city_growth.iter().map(|p| p.label.clone()).collect(),
        this_year: d.city_growth.iter().map(|p| p.growth_pct).collect(),
        last_year: Vec::new(),
        target_pct: d.city_target_pct,
    })
}

/// Chart 2: a ranking of districts or zones (`units`) by growth, with the city's growth and the
/// city's target marked, and the units below their own target hatched. `what` names them:
/// "各县区", "各园区".
pub fn ranking_chart(what: &str, units: &[UnitRow], city: Option<&UnitRow>, period: &str) -> Chart {
    let bars = units
        .iter()
        .map(|u| Bar {
            label: u.name.clone(),
            value: u.growth_pct,
            below_target: u.gap_pp.is_some_and(|g| g < 0.0),
        })
        .collect();
    Chart::Bars(BarChart {
        title: format!("{period}{what}增速（%）"),
        bars: sorted(bars),
        average: city.and_then(|c| c.growth_pct).map(|v| Mark {
            label: "全市".into(),
            value: v,
        }),
        target: city.and_then(|c| c.target_pct).map(|v| Mark {
            label: "全市目标".into(),
            value: v,
        }),
    })
}

/// Chart 3: 停产 / 半停产 / 减产 enterprises in each month of the window.
pub fn states_chart(s: &Snapshot) -> Chart {
    Chart::States(StateChart {
        title: "停产、半停产、减产企业数（家）".into(),
        months: s.charts.states_by_month.clone(),
    })
}

/// Chart 4: growth by industry (name, percent), with the city's growth marked when given.
pub fn industry_chart(period: &str, industries: &[(&str, f64)], city_pct: Option<f64>) -> Chart {
    let bars = industries
        .iter()
        .map(|(name, g)| Bar {
            label: (*name).to_string(),
            value: Some(*g),
            below_target: false,
        })
        .collect();
    Chart::Bars(BarChart {
        title: format!("{period}分行业增速（%）"),
        bars: sorted(bars),
        average: city_pct.map(|v| Mark {
            label: "全市".into(),
            value: v,
        }),
        target: None,
    })
}

/// Industries in the chart of growth by industry (and in the page's table of them).
pub const INDUSTRY_BARS: usize = 15;

/// Chart 4 of the snapshot: the `n` industries (大类) with the largest output, as the page's
/// table lists them, by growth, the city's growth marked; none without industries.
pub fn industry_of(s: &Snapshot, n: usize) -> Option<Chart> {
    let rows: Vec<(&str, f64)> = s
        .industries
        .divisions
        .iter()
        .take(n)
        .filter_map(|d| d.growth_pct.map(|g| (d.name.as_str(), g)))
        .collect();
    if rows.is_empty() {
        return None;
    }
    let city = s.city.as_ref().and_then(|c| c.growth_pct);
    Some(industry_chart(&s.period_label, &rows, city))
}

/// Fastest first; equal values keep their order (the callers pass them by code); bars without a
/// figure last.
fn sorted(mut bars: Vec<Bar>) -> Vec<Bar> {
    bars.sort_by(|a, b| match (a.value, b.value) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    bars
}

/// The snapshot's charts in the order the report shows them: the city's growth, the district
/// ranking, the zone ranking (when the city has zones), growth by industry (the
/// [`INDUSTRY_BARS`] largest industries, when there are any), the state counts.
pub fn report_charts(s: &Snapshot) -> Vec<Chart> {
    let mut out = vec![
        growth_chart(s),
        ranking_chart("各县区", &s.districts, s.city.as_ref(), &s.period_label),
    ];
    if !s.zones.is_empty() {
        out.push(ranking_chart(
            "各园区",
            &s.zones,
            s.city.as_ref(),
            &s.period_label,
        ));
    }
    out.extend(industry_of(s, INDUSTRY_BARS));
    out.push(states_chart(s));
    out
}
