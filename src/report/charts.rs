//! Trend charts as inline SVG: one small line chart per unit, this year's monthly output against
//! last year's. Written by hand rather than with plotters: two polylines, axes and labels are a
//! few dozen lines, the output is byte-stable by construction (fixed number formatting, no ids or
//! timestamps), and it needs no extra dependency in the build. Text names a CJK font stack
//! because SVG text uses the viewer's fonts.

use std::fmt::Write;

use super::model::Trend;

/// The font stack for Chinese text, shared with the page's CSS.
pub const FONTS: &str =
    "'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif";

const W: f64 = 360.0;
const H: f64 = 200.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 26.0;
const THIS_COLOUR: &str = "#c0392b";
const LAST_COLOUR: &str = "#7f8c8d";

/// Escapes text for SVG (the chart is inserted into the page unescaped).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A round step for about four grid lines up to `max`.
fn step(max: f64) -> f64 {
    let raw = (max / 4.0).max(1e-9);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn polyline(
    out: &mut String,
    values: &[Option<f64>],
    x: &dyn Fn(usize) -> f64,
    y: &dyn Fn(f64) -> f64,
    colour: &str,
    dash: &str,
) {
    let mut pts = String::new();
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(pts, "{:.1},{:.1} ", x(i), y(*v));
            }
            None if !pts.is_empty() => {
                let _ = write!(
                    out,
                    r#"<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{}"/>"#,
                    pts.trim_end()
                );
                pts.clear();
            }
            None => {}
        }
    }
    if !pts.is_empty() {
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="2"{dash} points="{}"/>"#,
            pts.trim_end()
        );
    }
}

/// One unit's chart: monthly output in 亿元, 1–12月, this year solid red, last year dashed grey.
pub fn trend_svg(t: &Trend) -> String {
    let to_yi = |v: &Option<f64>| v.map(|w| w / 10_000.0);
    let this: Vec<Option<f64>> = t.this_year.iter().map(to_yi).collect();
    let last: Vec<Option<f64>> = t.last_year.iter().map(to_yi).collect();
    let max = this
        .iter()
        .chain(&last)
        .flatten()
        .fold(0.0f64, |a, b| a.max(*b));
    let st = step(max);
    let top = (max / st).ceil().max(1.0) * st;
    let pw = W - LEFT - RIGHT;
    let ph = H - TOP - BOTTOM;
    let x = move |i: usize| LEFT + pw * (i as f64 + 0.5) / 12.0;
    let y = move |v: f64| TOP + ph * (1.0 - v / top);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{name}月度产值走势" font-family="{FONTS}" font-size="11">"#,
        name = esc(&t.name)
    );
    let _ = write!(
        s,
        r#"<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{}</text>"#,
        esc(&t.name)
    );
    let _ = write!(
        s,
        r#"<text x="{}" y="16" text-anchor="end"><tspan fill="{THIS_COLOUR}">━ 本年</tspan> <tspan fill="{LAST_COLOUR}">┅ 上年</tspan> （亿元）</text>"#,
        W - RIGHT
    );
    let mut g = 0.0;
    while g <= top + st * 0.01 {
        let yy = y(g);
        let _ = write!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            W - RIGHT,
            LEFT - 4.0,
            yy + 4.0,
            trim(g)
        );
        g += st;
    }
    for m in 0..12 {
        if m % 2 == 1 || m == 0 {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}月</text>"#,
                x(m),
                H - 8.0,
                m + 1
            );
        }
    }
    polyline(
        &mut s,
        &last,
        &x,
        &y,
        LAST_COLOUR,
        r#" stroke-dasharray="4 3""#,
    );
    polyline(&mut s, &this, &x, &y, THIS_COLOUR, "");
    s.push_str("</svg>");
    s
}

/// A grid label without needless decimals (2.5, 10, 0.25).
fn trim(v: f64) -> String {
    let t = format!("{v:.2}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_escapes_names_and_is_stable() {
        let t = Trend {
            code: "x".into(),
            name: "<script>".into(),
            this_year: vec![Some(10_000.0), None, Some(30_000.0)],
            last_year: vec![Some(20_000.0); 12],
        };
        let a = trend_svg(&t);
        assert!(a.contains("&lt;script&gt;") && !a.contains("<script>"));
        assert_eq!(a, trend_svg(&t));
        assert_eq!(step(7.3), 2.0);
        assert_eq!(trim(2.5), "2.5");
    }
}
