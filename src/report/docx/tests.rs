//! The Word document read back from its XML: the report's text and tables, the charts as
//! pictures, official fonts and page, and the same bytes every time.

use std::collections::BTreeMap;

use quick_xml::events::Event;

use super::*;
use crate::report::sample::{self, MARKUP, elements, part, texts, unzip};

const TITLE: &str = "云州市工业经济运行分析（2026年11月上半月）";

fn half() -> Half {
    "2026-11-H1".parse().unwrap()
}

/// A `w`×`h` grey PNG.
fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, w, h);
    e.set_color(png::ColorType::Grayscale);
    e.set_depth(png::BitDepth::Eight);
    let mut writer = e.write_header().unwrap();
    writer
        .write_image_data(&vec![128u8; (w * h) as usize])
        .unwrap();
    writer.finish().unwrap();
    out
}

fn charts() -> Vec<Chart> {
    vec![
        ("全市累计增速与目标".into(), png(40, 20)),
        ("各县区增速排名".into(), png(30, 30)),
    ]
}

fn document(charts: &[Chart]) -> BTreeMap<String, Vec<u8>> {
    unzip(&render(&sample::snapshot(), half(), TITLE, charts).unwrap())
}

/// The text of each cell of each table row, in order.
fn rows(xml: &str) -> Vec<Vec<String>> {
    let mut r = quick_xml::Reader::from_str(xml);
    let (mut out, mut row, mut cell, mut in_t) = (Vec::new(), Vec::new(), String::new(), false);
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => match e.local_name().as_ref() {
                "tr" => row = Vec::new(),
                "tc" => cell.clear(),
                "t" => in_t = true,
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "tr" => out.push(std::mem::take(&mut row)),
                "tc" => row.push(cell.clone()),
                "t" => in_t = false,
                _ => {}
            },
            Event::Text(t) if in_t => cell.push_str(&t.xml10_content()),
            Event::Eof => return out,
            _ => {}
        }
    }
}

#[test]
fn the_document_carries_the_reports_text_tables_and_charts() {
    let s = sample::snapshot();
    let parts = document(&charts());
    let doc = part(&parts, "word/document.xml");
    let paragraphs = texts(&doc, "p");
    let at = |text: &str| {
        paragraphs
            .iter()
            .position(|p| p == text)
            .unwrap_or_else(|| panic!("{text:?} not a paragraph"))
    };
    assert_eq!(paragraphs[0], TITLE);
    assert_eq!(paragraphs[1], "（数据期：1—10月）");
    // Each section's own text, markup-looking names as text, under its heading, in the page's
    // order; 存在问题 and 下步工作建议 from the advice, the alerts' paragraph under 存在问题.
    let t = &s.text;
    let order = [
        at("一、总体运行"),
        at(&t.overall[0]),
        at("图1　全市累计增速与目标"),
        at("二、分县区"),
        at(&t.units[0]),
        at("图2　各县区增速排名"),
        at("三、分行业"),
        at(&t.industries[0]),
        at("四、企业生产经营"),
        at(&t.enterprises[0]),
        at("西城机械为计划检修，不列入帮扶。"),
        at("五、重点项目"),
        at(&s.projects.summary),
        at("六、存在问题"),
        at(&s.advice.problems[0]),
        at(&t.alerts[0]),
        at("七、下步工作建议"),
        at(&s.advice.steps[0]),
    ];
    assert!(order.is_sorted(), "{order:?}");
    assert_eq!(t.projects[0], s.projects.summary);
    // Tables numbered through the document (表1 overview, 表2 and 表3 the rankings), the month's
    // own counts captioned with the month, and the full lists pointed to by sheet name.
    at("表4　停产半停产减产企业分县区情况（10月，单位：家）");
    assert!(
        paragraphs
            .iter()
            .any(|p| p.contains("report.xlsx") && p.contains("表2 停产半停产减产企业")),
        "{paragraphs:?}"
    );
    assert!(t.enterprises[0].contains(MARKUP));
    // The tables: the district ranking with the 全市 row and each district's move since 1—9月,
    // the stalled by district (东城区: 1 停产 and 1 减产, both new; 西城区: 1 停产 continuing
    // and 1 复产) with the total's change since 9月 (东城区 0 → 2, 西城区 2 → 1, 全市 2 → 3),
    // the projects.
    let rows = rows(&doc);
    let find = |first: &str, name: &str| {
        rows.iter()
            .find(|r| r.len() > 2 && r[0] == first && (r[1] == name || r[2] == name))
            .unwrap_or_else(|| panic!("no row {first} {name}"))
            .clone()
    };
    assert_eq!(
        find("", "全市"),
        ["", "", "全市", "12,345.6", "5.8", "7.0", "−1.2", "96.0"]
    );
    assert_eq!(
        find("1", "东城区")[1..5],
        ["前移1位", "东城区", "12,345.6", "8.2"]
    );
    assert_eq!(find("2", "西城区")[1], "后移1位");
    let row = |v: [&str; 9]| v.map(String::from).to_vec();
    assert!(rows.contains(&row(["全市", "2", "0", "1", "3", "+1", "2", "1", "1"])));
    assert!(rows.contains(&row(["东城区", "1", "0", "1", "2", "+2", "2", "0", "0"])));
    assert!(rows.contains(&row(["西城区", "1", "0", "0", "1", "−1", "0", "1", "1"])));
    let project = rows
        .iter()
        .find(|r| r.len() == 9 && r[0] == "东城区" && r[1] == "2")
        .expect("the projects' row of 东城区");
    assert_eq!(project[8], "60.0");
    // The charts: two pictures, as given.
    assert_eq!(parts["word/media/rIdChart1.png"], charts()[0].1);
    assert_eq!(parts["word/media/rIdChart2.png"], charts()[1].1);
    assert_eq!(elements(&doc, "blip").len(), 2);
    let types = part(&parts, "[Content_Types].xml");
    assert!(
        elements(&types, "Default")
            .iter()
            .any(|d| d["Extension"] == "png" && d["ContentType"] == "image/png"),
        "{types}"
    );
    let rels = part(&parts, "word/_rels/document.xml.rels");
    let targets: Vec<String> = elements(&rels, "Relationship")
        .into_iter()
        .filter(|r| r["Type"].ends_with("/image"))
        .map(|r| r["Target"].clone())
        .collect();
    assert_eq!(targets, ["media/rIdChart1.png", "media/rIdChart2.png"]);
}

#[test]
fn the_page_and_fonts_are_an_official_documents() {
    let doc = part(&document(&[]), "word/document.xml");
    let size = &elements(&doc, "pgSz")[0];
    assert_eq!(
        (size["w:w"].as_str(), size["w:h"].as_str()),
        ("11906", "16838")
    );
    let margin = &elements(&doc, "pgMar")[0];
    assert_eq!(
        [
            &margin["w:top"],
            &margin["w:bottom"],
            &margin["w:left"],
            &margin["w:right"]
        ],
        ["2098", "1984", "1588", "1474"]
    );
    let east: Vec<String> = elements(&doc, "rFonts")
        .into_iter()
        .filter_map(|f| f.get("w:eastAsia").cloned())
        .collect();
    assert!(east.iter().any(|f| f == "仿宋_GB2312") && east.iter().any(|f| f == "黑体"));
    let sizes: Vec<String> = elements(&doc, "sz")
        .into_iter()
        .map(|s| s["w:val"].clone())
        .collect();
    assert!(sizes.contains(&"44".into()) && sizes.contains(&"32".into()));
}

#[test]
fn the_same_snapshot_gives_the_same_bytes_whatever_came_before() {
    let s = sample::snapshot();
    let first = render(&s, half(), TITLE, &charts()).unwrap();
    // Another document in between moves docx-rs's counters.
    render(&s, half(), "别的标题", &charts()[..1]).unwrap();
    let again = render(&s, half(), TITLE, &charts()).unwrap();
    assert_eq!(first, again);
    let parts = unzip(&first);
    let core = part(&parts, "docProps/core.xml");
    // The half's start, Shanghai midnight, in UTC; never the clock.
    assert_eq!(texts(&core, "created"), ["2026-10-31T16:00:00Z"]);
    assert_eq!(texts(&core, "modified"), ["2026-10-31T16:00:00Z"]);
}

#[test]
fn a_chart_that_is_not_a_png_is_an_error() {
    let bad = vec![("图".to_string(), b"<svg/>".to_vec())];
    let err = render(&sample::snapshot(), half(), TITLE, &bad).unwrap_err();
    assert!(format!("{err:#}").contains("PNG"), "{err:#}");
    assert_eq!(png_size(&png(7, 3)).unwrap(), (7, 3));
}
