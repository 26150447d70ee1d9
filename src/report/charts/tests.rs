//! The charts on small hand-made inputs: order and values of the labels, dashes and hatching for
//! black-and-white printing, byte-stable self-contained SVG, PNG with a CJK font and a clear
//! error without one; and the chart figures on a hand-made dataset.

use std::collections::HashMap;
use std::path::Path;

use super::*;
use crate::amount::Amount;
use crate::analysis::{Calendar, Dataset, Series, StateThresholds, WINDOW, evaluate_units};
use crate::credit_code::CreditCode;
use crate::period::Period;
use crate::registry::{Enterprise, Scale, Unit, UnitKind};

/// The texts of an SVG drawn by plotters, each with its x and y: `(x, y, text)`.
fn texts(svg: &str) -> Vec<(i32, i32, String)> {
    let attr = |tag: &str, name: &str| -> i32 {
        let k = format!(" {name}=\"");
        format!(" {tag}")
            .split(&k)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(i32::MIN)
    };
    svg.split("<text ")
        .skip(1)
        .map(|t| {
            let (tag, rest) = t.split_once(">\n").unwrap();
            let body = rest.split("\n</text>").next().unwrap();
            (attr(tag, "x"), attr(tag, "y"), body.to_string())
        })
        .collect()
}

/// The polylines of an SVG as lists of points.
fn polylines(svg: &str) -> Vec<Vec<(i32, i32)>> {
    svg.split("<polyline ")
        .skip(1)
        .map(|t| {
            let pts = t
                .split("points=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap();
            pts.split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// The pieces of a vertical dashed line at `x`: (count, length of the first dash).
fn vertical_dashes(svg: &str, x: i32) -> (usize, i32) {
    let dashes: Vec<Vec<(i32, i32)>> = polylines(svg)
        .into_iter()
        .filter(|p| p.len() >= 2 && p.iter().all(|q| q.0 == x))
        .collect();
    let first = dashes
        .first()
        .map_or(0, |d| (d[d.len() - 1].1 - d[0].1).abs());
    (dashes.len(), first)
}

fn text_at<'a>(t: &'a [(i32, i32, String)], s: &str) -> &'a (i32, i32, String) {
    t.iter()
        .find(|x| x.2 == s)
        .unwrap_or_else(|| panic!("no text {s:?} in {t:?}"))
}

fn ranking() -> Chart {
    let bars = [
        ("甲区", Some(5.8)),
        ("乙区", Some(-1.2)),
        ("丙区", Some(7.34)),
        ("丁区", None),
    ];
    Chart::Bars(BarChart {
        title: "1—10月各县区增速（%）".into(),
        bars: sorted(
            bars.iter()
                .map(|(n, v)| Bar {
                    label: (*n).into(),
                    value: *v,
                    below_target: v.is_some_and(|v| v < 6.0),
                })
                .collect(),
        ),
        average: Some(Mark {
            label: "全市".into(),
            value: 5.2,
        }),
        target: Some(Mark {
            label: "目标".into(),
            value: 6.0,
        }),
    })
}

fn growth() -> Chart {
    Chart::Growth(GrowthChart {
        title: "全市规模以上工业增加值累计增速（%）".into(),
        labels: vec!["1—2月".into(), "1—3月".into(), "1—4月".into()],
        this_year: vec![Some(4.1), None, Some(6.2)],
        last_year: vec![Some(3.0), Some(3.5), Some(4.0)],
        target_pct: Some(6.0),
    })
}

fn states() -> Chart {
    let m = |label: &str, s: u32, h: u32, r: u32| StateCounts {
        period: String::new(),
        label: label.into(),
        stalled: s,
        semi_stalled: h,
        reduced: r,
        judged: if label == "8月" { 0 } else { 500 },
    };
    Chart::States(StateChart {
        title: "停产、半停产、减产企业数（家）".into(),
        months: vec![m("8月", 0, 0, 0), m("9月", 12, 8, 20), m("10月", 14, 6, 25)],
    })
}

#[test]
fn ranking_bars_run_fastest_first_each_labelled_with_its_value() {
    let svg = svg(&ranking());
    let t = texts(&svg);
    let rows: Vec<i32> = ["丙区", "甲区", "乙区", "丁区"]
        .iter()
        .map(|n| text_at(&t, n).1)
        .collect();
    assert!(
        rows.windows(2).all(|w| w[0] < w[1]),
        "rows out of order: {rows:?}"
    );
    // Each value on its bar's row; the unit without a figure says so.
    for (name, value) in [
        ("丙区", "7.3%"),
        ("甲区", "5.8%"),
        ("乙区", "−1.2%"),
        ("丁区", "无数据"),
    ] {
        assert_eq!(
            text_at(&t, value).1,
            text_at(&t, name).1,
            "{value} not on {name}'s row"
        );
    }
    // The negative value is left of the zero line, the positive ones right of it.
    assert!(text_at(&t, "−1.2%").0 < text_at(&t, "5.8%").0);
    assert_eq!(text_at(&t, "全市5.2%").2, "全市5.2%");
    assert_eq!(text_at(&t, "目标6.0%").2, "目标6.0%");
}

#[test]
fn ranking_marks_average_and_target_with_different_dashes_and_hatches_the_laggards() {
    let svg = svg(&ranking());
    let t = texts(&svg);
    // The lines' labels sit on them: average above the bars, target below.
    let (avg_x, target_x) = (text_at(&t, "全市5.2%").0, text_at(&t, "目标6.0%").0);
    assert!(avg_x < target_x);
    let (n_avg, dash_avg) = vertical_dashes(&svg, avg_x);
    let (n_target, dash_target) = vertical_dashes(&svg, target_x);
    assert!(
        n_avg >= 10 && n_target >= 5,
        "not dashed: {n_avg} {n_target}"
    );
    assert_eq!(dash_avg, bars::AVERAGE_DASH.0 as i32);
    assert_eq!(dash_target, bars::TARGET_DASH.0 as i32);
    // 甲区 (5.8) and 乙区 (−1.2) are below the target of 6.0: hatched with 45° strokes; 丙区
    // is not. A hatch stroke is a two-point polyline rising at 45°.
    let hatch_rows: Vec<i32> = polylines(&svg)
        .into_iter()
        .filter(|p| p.len() == 2 && p[1].0 > p[0].0)
        .filter(|p| ((p[1].0 - p[0].0) - (p[0].1 - p[1].1)).abs() <= 1)
        .map(|p| (p[0].1 + p[1].1) / 2)
        .collect();
    let near = |name: &str| {
        let y = text_at(&t, name).1;
        hatch_rows.iter().filter(|r| (*r - y).abs() <= 7).count()
    };
    assert!(near("甲区") > 5 && near("乙区") > 2, "laggards not hatched");
    assert_eq!(near("丙区"), 0, "a bar above the target is hatched");
}

#[test]
fn growth_line_labels_each_month_and_dashes_the_target() {
    let svg = svg(&growth());
    let t = texts(&svg);
    for s in [
        "1—2月",
        "1—3月",
        "1—4月",
        "4.1%",
        "6.2%",
        "目标6.0%",
        "本年",
        "上年",
    ] {
        text_at(&t, s);
    }
    // A month without a figure has no label and breaks the line: no solid segment joins 4.1
    // and 6.2 (their points are two months apart).
    let (x1, x3) = (text_at(&t, "4.1%").0, text_at(&t, "6.2%").0);
    assert!(
        !polylines(&svg)
            .iter()
            .any(|p| p.first().map(|q| q.0) == Some(x1) && p.last().map(|q| q.0) == Some(x3))
    );
    // The target is a horizontal run of dashes at the height of its label.
    let y = text_at(&t, "目标6.0%").1;
    let dashes = polylines(&svg)
        .into_iter()
        .filter(|p| p.len() >= 2 && p.iter().all(|q| q.1 == y))
        .count();
    assert!(dashes >= 10, "target not dashed: {dashes}");
}

#[test]
fn state_bars_carry_their_counts_and_totals() {
    let svg = svg(&states());
    let t = texts(&svg);
    for s in [
        "9月",
        "10月",
        "40",
        "45",
        "12",
        "8",
        "20",
        "14",
        "6",
        "25",
        "停产",
        "半停产",
        "减产",
    ] {
        text_at(&t, s);
    }
    // 停产 is white on its black part.
    assert!(svg.contains("fill=\"#FFFFFF\">\n12\n</text>"));
    // A month that could not be judged shows a dash above its label, and no zero.
    assert_eq!(text_at(&t, "—").0, text_at(&t, "8月").0);
    assert!(!t.iter().any(|x| x.2 == "0" && x.0 == text_at(&t, "8月").0));
}

#[test]
fn svg_is_byte_stable_self_contained_and_escaped() {
    let mut evil = ranking();
    if let Chart::Bars(b) = &mut evil {
        b.bars[0].label = "<script>&\"".into();
    }
    for c in [ranking(), growth(), states(), evil] {
        let a = svg(&c);
        assert_eq!(a, svg(&c), "{} differs between renderings", c.title());
        assert!(a.starts_with("<svg width=\"100%\" style=\"max-width:170mm\" role=\"img\""));
        assert!(a.contains("font-family=\"Noto Sans CJK SC, Source Han Sans SC"));
        for bad in [
            "<script", "href", "<image", " id=", "file:", "/tmp", "/usr/", "/home",
        ] {
            assert!(!a.contains(bad), "{bad} in {}", c.title());
        }
    }
}

#[test]
fn industry_bars_sort_and_mark_the_city() {
    let c = industry_chart(
        "1—10月",
        &[("纺织业", -2.5), ("化学原料和化学制品制造业", 9.1)],
        Some(5.0),
    );
    let t = texts(&svg(&c));
    assert!(text_at(&t, "化学原料和化学制品制造业").1 < text_at(&t, "纺织业").1);
    assert_eq!(
        text_at(&t, "9.1%").1,
        text_at(&t, "化学原料和化学制品制造业").1
    );
    text_at(&t, "全市5.0%");
}

fn unit_row(name: &str, growth: Option<f64>, target: f64) -> UnitRow {
    UnitRow {
        code: name.into(),
        name: name.into(),
        kind: "district".into(),
        ytd_wan: 0.0,
        ytd_prev_wan: 0.0,
        growth_pct: growth,
        estimated: true,
        target_pct: Some(target),
        gap_pp: growth.map(|g| g - target),
        rank: None,
        required_pct: None,
        submission_rate_pct: None,
        mark: String::new(),
        mark_zh: String::new(),
        ..UnitRow::default()
    }
}

#[test]
fn a_ranking_is_built_from_the_units_against_their_own_targets() {
    let units = [
        unit_row("甲区", Some(5.8), 5.0),
        unit_row("乙区", Some(7.1), 7.5),
        unit_row("丙区", None, 6.0),
        unit_row("丁区", Some(9.0), 6.0),
    ];
    let city = unit_row("全市", Some(6.4), 6.0);
    let Chart::Bars(b) = ranking_chart("各县区", &units, Some(&city), "1—10月") else {
        panic!("not bars")
    };
    assert_eq!(b.title, "1—10月各县区增速（%）");
    let got: Vec<(&str, bool)> = b
        .bars
        .iter()
        .map(|x| (x.label.as_str(), x.below_target))
        .collect();
    // 乙区 grows faster than the city's target but is below its own 7.5.
    assert_eq!(
        got,
        [
            ("丁区", false),
            ("乙区", true),
            ("甲区", false),
            ("丙区", false)
        ]
    );
    assert_eq!(
        b.average,
        Some(Mark {
            label: "全市".into(),
            value: 6.4
        })
    );
    assert_eq!(
        b.target,
        Some(Mark {
            label: "全市目标".into(),
            value: 6.0
        })
    );
}

fn system_font() -> Option<ChartFont> {
    match ChartFont::find(None) {
        Ok(f) => Some(f),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: {e:#}");
            None
        }
        Err(e) => panic!("CI installs fonts-noto-cjk: {e:#}"),
    }
}

fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = ::png::Decoder::new(std::io::Cursor::new(png));
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size().unwrap()];
    let info = r.next_frame(&mut buf).unwrap();
    (info.width, info.height, buf)
}

#[test]
fn png_is_drawn_with_the_cjk_font() {
    let Some(font) = system_font() else { return };
    let a = png(&ranking(), &font).unwrap();
    assert_eq!(a, png(&ranking(), &font).unwrap(), "PNG not byte-stable");
    let (w, h, px) = decode(&a);
    assert_eq!(w, 1360);
    assert_eq!(
        f64::from(h),
        (bars::height(match &ranking() {
            Chart::Bars(b) => b,
            _ => unreachable!(),
        }) * 2.0)
            .ceil()
    );
    let dark = px.chunks(3).filter(|p| p[0] < 128).count();
    assert!(dark > 5_000, "hardly anything drawn: {dark}");
    // Chinese names are drawn as their glyphs: two names give two different images (a font
    // without the glyphs would draw the same empty box for both).
    let mut other = ranking();
    if let Chart::Bars(b) = &mut other {
        b.bars[0].label = "乙区".into();
        b.bars[2].label = "甲区".into();
    }
    assert_ne!(decode(&png(&other, &font).unwrap()).2, px);
    for c in [growth(), states()] {
        assert!(png(&c, &font).unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));
    }
}

#[test]
fn without_a_cjk_font_the_caller_is_told_why() {
    let e = ChartFont::find_in([Path::new("/nonexistent/NotoSansCJK-Regular.ttc")]).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("/nonexistent/NotoSansCJK-Regular.ttc") && msg.contains("fonts-noto-cjk"),
        "{msg}"
    );
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.ttf");
    std::fs::write(&junk, b"not a font").unwrap();
    let msg = format!("{:#}", ChartFont::load(&junk).unwrap_err());
    assert!(msg.contains("not a TrueType/OpenType font"), "{msg}");
    let latin = Path::new("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");
    if latin.is_file() {
        let msg = format!("{:#}", ChartFont::load(latin).unwrap_err());
        assert!(msg.contains("no Chinese glyphs"), "{msg}");
    }
}

// ---- the chart figures on a hand-made dataset ----

fn unit(code: &str, kind: UnitKind) -> Unit {
    Unit {
        code: code.into(),
        name: code.into(),
        kind,
        parent: None,
    }
}

/// Enterprises of district D, each with (above scale, its 24 months of output in 万元 from
/// 2024-04 to 2026-03, `None` = not submitted).
fn dataset(specs: &[(bool, [Option<i64>; WINDOW])]) -> Dataset {
    let mut enterprises = Vec::new();
    let mut series = Vec::new();
    for (i, (above, months)) in specs.iter().enumerate() {
        enterprises.push(Enterprise {
            credit_code: CreditCode::with_check(&format!("91330781MA{i:07}")).unwrap(),
            name: format!("企业{i}"),
            unit_code: "D".into(),
            zone_code: None,
            industry_code: None,
            scale: if *above { Scale::Above } else { Scale::Below },
            key: false,
            owner: None,
        });
        let mut s = Series::default();
        for (w, v) in months.iter().enumerate() {
            if let Some(v) = v {
                s.present |= 1 << w;
                s.output[w] = v * 10_000;
            }
        }
        series.push(s);
    }
    Dataset {
        cal: Calendar {
            period: Period::new(2026, 3).unwrap(),
            jan_feb_combined: false,
        },
        units: vec![unit("C", UnitKind::City), unit("D", UnitKind::District)],
        enterprises,
        series,
        earlier: HashMap::new(),
        targets: Vec::new(),
        unit_figures: HashMap::new(),
        vintage: 0,
        projects: Vec::new(),
        progress: Vec::new(),
    }
}

/// Months 2025-01..03 at window 9..11 and 2026-01..03 at 21..23; the rest not submitted.
fn months(last_year: [i64; 3], this_year: [Option<i64>; 3]) -> [Option<i64>; WINDOW] {
    let mut m = [None; WINDOW];
    for k in 0..3 {
        m[9 + k] = Some(last_year[k]);
        m[21 + k] = this_year[k];
    }
    m
}

fn hand_made() -> Dataset {
    dataset(&[
        (
            true,
            months([100, 100, 100], [Some(110), Some(120), Some(130)]),
        ),
        // No March submission: left out of 1—3月.
        (true, months([200, 200, 200], [Some(190), Some(170), None])),
        // Below scale: never counted.
        (
            false,
            months([1000, 1000, 1000], [Some(1), Some(1), Some(1)]),
        ),
        // 停产 all year; 半停产 in March only.
        (true, months([50, 50, 50], [Some(0), Some(0), Some(0)])),
        (
            true,
            months([100, 100, 100], [Some(100), Some(100), Some(20)]),
        ),
    ])
}

#[test]
fn city_growth_by_month_is_the_ytd_of_the_enterprises_counted_each_month() {
    let ds = hand_made();
    let city = evaluate_units(&ds)
        .into_iter()
        .find(|u| u.kind == UnitKind::City)
        .unwrap();
    let g = data::city_growth(&ds, &city);
    let labels: Vec<&str> = g.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["1月", "1—2月", "1—3月"]);
    // 1月: (110+190+0+100)/(100+200+50+100) = 400/450; 1—2月: (230+360+0+200)/(200+400+100+200)
    // = 790/900; 1—3月 without the second: (360+0+220)/(300+150+300) = 580/750.
    let want = [400.0 / 450.0, 790.0 / 900.0, 580.0 / 750.0].map(|r| (r - 1.0) * 100.0);
    for (p, w) in g.iter().zip(want) {
        assert!((p.growth_pct.unwrap() - w).abs() < 1e-9, "{p:?} want {w}");
        assert!(p.estimated);
    }
    // The last point is the figure the evaluation shows for the period.
    assert!((g[2].growth_pct.unwrap() - city.growth.unwrap().pct()).abs() < 1e-12);

    // A published figure replaces the estimate for its month.
    let mut ds = ds;
    ds.unit_figures.insert(
        (
            "C".into(),
            Period::new(2026, 2).unwrap(),
            VALUE_ADDED_GROWTH.into(),
        ),
        Amount(55_000),
    );
    let g = data::city_growth(&ds, &city);
    assert_eq!((g[1].growth_pct, g[1].estimated), (Some(5.5), false));
}

#[test]
fn state_counts_by_month_judge_each_month_as_the_period_is_judged() {
    let th = StateThresholds {
        semi_stalled: 5_000,
        reduced: 9_000,
    };
    let c = data::states_by_month(&hand_made(), th);
    assert_eq!(c.len(), 12);
    assert_eq!(
        (c[0].period.as_str(), c[0].label.as_str()),
        ("2025-04", "4月")
    );
    let tail: Vec<(u32, u32, u32)> = c[9..]
        .iter()
        .map(|m| (m.stalled, m.semi_stalled, m.reduced))
        .collect();
    // January: the stalled one; February: it and 170 on 200 (减产); March: it and 20 on 100
    // (半停产) — the second enterprise did not submit.
    assert_eq!(tail, [(1, 0, 0), (1, 0, 1), (1, 1, 0)]);
    assert!(
        c[..9]
            .iter()
            .all(|m| m.stalled + m.semi_stalled + m.reduced == 0)
    );
}

/// Writes the sample charts as SVG and PNG into `$CHARTS_OUT` to look at them:
/// `CHARTS_OUT=/tmp/charts cargo test --lib charts::tests::samples -- --ignored`.
#[test]
#[ignore]
fn samples() {
    let dir = std::path::PathBuf::from(std::env::var("CHARTS_OUT").unwrap());
    std::fs::create_dir_all(&dir).unwrap();
    let font = ChartFont::find(None).unwrap();
    let industries = industry_chart(
        "1—10月",
        &[
            ("纺织业", -2.5),
            ("化学原料和化学制品制造业", 9.1),
            ("通用设备制造业", 4.4),
        ],
        Some(5.0),
    );
    for (name, c) in [
        ("ranking", ranking()),
        ("growth", growth()),
        ("states", states()),
        ("industry", industries),
    ] {
        std::fs::write(dir.join(format!("{name}.svg")), svg(&c)).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png(&c, &font).unwrap()).unwrap();
    }
}
