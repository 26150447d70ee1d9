//! The report's charts on the synthetic demo city: the chart figures agree with the snapshot's
//! own (the city's growth for the period, the state counts), and every chart of the report
//! renders as SVG, byte-stable, and as PNG with the CJK font.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use indmon::config::Config;
use indmon::demo::{GenSpec, generate};
use indmon::report::{self, Half, charts};

/// Generates the demo city (765 enterprises, 2025-01..2026-10) and imports it.
async fn load_demo(store: &indmon::store::Store) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spec = GenSpec {
        http_pages: false,
        ..GenSpec::default()
    };
    generate(&spec, dir.path()).unwrap();
    let d = dir.path();
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
    months.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        (name.contains("revision"), name.contains("late"), name)
    });
    files.extend(months);
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    import_ok(store, &refs).await;
    dir
}

#[tokio::test]
async fn demo_charts_agree_with_the_snapshot_and_render() {
    let db = TestDb::sqlite().await;
    let _data = load_demo(&db.store).await;
    let half: Half = "2026-11-H1".parse().unwrap();
    let snap = report::build(&db.store, &Config::default(), half)
        .await
        .unwrap();
    let c = &snap.charts;

    // One point per analysed month of 2026 up to the period (October), the last being the
    // city's growth as the snapshot shows it.
    let labels: Vec<&str> = c.city_growth.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels.last(), Some(&"1—10月"));
    assert!(labels.len() == 9 || labels.len() == 10, "{labels:?}");
    let city = snap.city.as_ref().unwrap();
    let last = c.city_growth.last().unwrap();
    assert_eq!(last.growth_pct, city.growth_pct);
    assert_eq!(last.estimated, city.estimated);
    assert_eq!(c.city_target_pct.is_some(), city.target_pct.is_some());

    // Twelve months of state counts ending at the period, the last being the snapshot's.
    let m = c.states_by_month.last().unwrap();
    assert_eq!(m.period, "2026-10");
    let s = &snap.states;
    assert_eq!(
        (
            m.stalled as usize,
            m.semi_stalled as usize,
            m.reduced as usize
        ),
        (s.stalled, s.semi_stalled, s.reduced)
    );

    // Every chart of the report renders, the same bytes twice, and as a PNG.
    let all = charts::report_charts(&snap);
    assert!(all.len() >= 3);
    let font = charts::ChartFont::find(None);
    // CHARTS_OUT=dir writes them there to be looked at.
    let out = std::env::var_os("CHARTS_OUT").map(PathBuf::from);
    for (i, chart) in all.iter().enumerate() {
        let svg = charts::svg(chart);
        if let (Some(dir), Ok(f)) = (&out, &font) {
            std::fs::write(dir.join(format!("demo{i}.svg")), &svg).unwrap();
            std::fs::write(
                dir.join(format!("demo{i}.png")),
                charts::png(chart, f).unwrap(),
            )
            .unwrap();
        }
        assert_eq!(svg, charts::svg(chart));
        assert!(!svg.contains("图表生成失败"), "{}", chart.title());
        match &font {
            Ok(f) => assert!(charts::png(chart, f).unwrap().starts_with(b"\x89PNG")),
            Err(e) if std::env::var_os("CI").is_none() => eprintln!("PNG skipped: {e:#}"),
            Err(e) => panic!("CI installs fonts-noto-cjk: {e:#}"),
        }
    }
    // The page shows the city's growth chart.
    let html = report::html::render(&snap, "示例市").unwrap();
    assert!(html.contains(&format!("aria-label=\"{}\"", all[0].title())));
    db.cleanup().await;
}
