//! The workbook read back from its XML: what Excel and LibreOffice open is what was asked for.

use std::collections::BTreeMap;

use super::*;
use crate::report::sample::{self, HOSTILE, MARKUP, elements, part, texts, unzip};

fn half() -> Half {
    "2026-11-H1".parse().unwrap()
}

fn workbook() -> BTreeMap<String, Vec<u8>> {
    unzip(&render(&sample::snapshot(), half(), "云州市").unwrap())
}

/// Each cell's text by reference (`A1`), shared strings looked up.
fn cells(parts: &BTreeMap<String, Vec<u8>>, sheet: usize) -> BTreeMap<String, String> {
    let shared = texts(&part(parts, "xl/sharedStrings.xml"), "si");
    let xml = part(parts, &format!("xl/worksheets/sheet{sheet}.xml"));
    elements(&xml, "c")
        .into_iter()
        .zip(texts(&xml, "c"))
        .map(|(a, v)| {
            let text = if a.get("t").map(String::as_str) == Some("s") {
                shared[v.parse::<usize>().unwrap()].clone()
            } else {
                v
            };
            (a["r"].clone(), text)
        })
        .collect()
}

fn only(xml: &str, name: &str) -> BTreeMap<String, String> {
    let mut all = elements(xml, name);
    assert_eq!(all.len(), 1, "one <{name}>");
    all.remove(0)
}

#[test]
fn every_sheet_has_its_title_filter_frozen_rows_and_print_setup() {
    let parts = workbook();
    let book = part(&parts, "xl/workbook.xml");
    let names: Vec<String> = elements(&book, "sheet")
        .into_iter()
        .map(|s| s["name"].clone())
        .collect();
    // The industry sections' sheets too, through the same helper.
    assert_eq!(names, SHEETS);
    // Print titles by sheet index.
    let titles: BTreeMap<usize, String> = elements(&book, "definedName")
        .into_iter()
        .zip(texts(&book, "definedName"))
        .filter(|(a, _)| a["name"] == "_xlnm.Print_Titles")
        .map(|(a, range)| (a["localSheetId"].parse().unwrap(), range))
        .collect();
    assert_eq!(
        titles.len(),
        SHEETS.len(),
        "every sheet repeats its top rows"
    );
    // (sheet, last column, data rows): 概览 has 18 figures and 6 paragraphs (one a section),
    // the rankings the 全市 row and their units, 表2 three enterprises in a state and one
    // recovered, 表3 three findings, 表4 one project, 表6 and 表7 none, and the sample has no
    // industries, efficiency or investment.
    let shapes = [
        (SHEET_OVERVIEW, 'B', 24),
        (SHEET_DISTRICTS, 'M', 3),
        (SHEET_STATES, 'I', 4),
        (SHEET_ALERTS, 'G', 3),
        (SHEET_PROJECTS, 'R', 1),
        (SHEET_ZONES, 'M', 2),
        (SHEET_PULLS, 'H', 0),
        (SHEET_QUALITY, 'G', 0),
        (SHEET_INDUSTRIES, 'J', 0),
        (SHEET_EFFICIENCY, 'N', 0),
        (SHEET_INVESTMENT, 'I', 0),
    ];
    for (i, (name, last, rows)) in shapes.into_iter().enumerate() {
        let range = &titles[&i];
        assert!(range.contains(name) && range.ends_with("!$1:$3"), "{range}");
        let xml = part(&parts, &format!("xl/worksheets/sheet{}.xml", i + 1));
        assert_eq!(
            only(&xml, "autoFilter")["ref"],
            format!("A3:{last}{}", 3 + rows),
            "{name}"
        );
        let pane = only(&xml, "pane");
        assert_eq!(
            (
                pane["state"].as_str(),
                pane["ySplit"].as_str(),
                pane["topLeftCell"].as_str()
            ),
            ("frozen", "3", "A4"),
            "{name}"
        );
        let setup = only(&xml, "pageSetup");
        assert_eq!(setup["orientation"], "landscape", "{name}");
        assert_eq!(setup["paperSize"], "9", "{name}: A4");
        // One page wide (1 is the schema's default, left out) and as many long as needed.
        assert_eq!(setup.get("fitToWidth").map_or("1", String::as_str), "1");
        assert_eq!(setup["fitToHeight"], "0", "{name}");
        assert_eq!(only(&xml, "pageSetUpPr")["fitToPage"], "1", "{name}");
        let merged: Vec<String> = elements(&xml, "mergeCell")
            .into_iter()
            .map(|m| m["ref"].clone())
            .collect();
        assert_eq!(merged, [format!("A1:{last}1"), format!("A2:{last}2")]);
        let c = cells(&parts, i + 1);
        assert_eq!(c["A1"], format!("云州市工业经济运行分析　{name}"));
        assert_eq!(
            c["A2"],
            "数据期：2026年1—10月　　报告期：2026年11月上半月　　单位：万元、%"
        );
        assert!(!xml.contains("<f>"), "{name}: no formula anywhere");
    }
}

#[test]
fn the_ranking_starts_with_the_city_and_alerts_with_the_worst_units() {
    let parts = workbook();
    let ranking = cells(&parts, 2);
    assert_eq!(
        [
            &ranking["A3"],
            &ranking["B3"],
            &ranking["B4"],
            &ranking["B5"],
            &ranking["B6"]
        ],
        ["位次", "县区", "全市", "东城区", "西城区"]
    );
    assert_eq!(ranking["A5"], "1");
    assert_eq!(ranking["E4"], "5.8");
    // 位次变化 since 1—9月: none for the city, 东城区 up one, 西城区 down one.
    assert_eq!(
        [
            &ranking["L3"],
            &ranking["L4"],
            &ranking["L5"],
            &ranking["L6"]
        ],
        ["位次变化", "", "前移1位", "后移1位"]
    );
    // Red before yellow; within red the district's own finding before its enterprise's.
    let alerts = cells(&parts, 4);
    let order: Vec<(&str, &str)> = (4..=6)
        .map(|r| {
            (
                alerts[&format!("A{r}")].as_str(),
                alerts[&format!("D{r}")].as_str(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [("红色", "西城区"), ("红色", "西城机械"), ("黄色", MARKUP)]
    );
    assert_eq!(alerts["B6"], "东城区", "the 县区 column to filter on");
}

#[test]
fn names_stay_text_and_people_are_named() {
    let parts = workbook();
    let states = cells(&parts, 3);
    assert_eq!(states["A4"], "东城区");
    // 计划检修 marked beside the enterprise on a planned overhaul, and only there.
    assert_eq!(states["I3"], "备注");
    let marked: Vec<&str> = (4..=7)
        .filter(|r| states[&format!("I{r}")] == "计划检修")
        .map(|r| states[&format!("B{r}")].as_str())
        .collect();
    assert_eq!(marked, ["西城机械"]);
    assert_eq!(
        states["B4"], HOSTILE,
        "a formula-looking name is a string cell"
    );
    let projects = cells(&parts, 5);
    assert_eq!(projects["D4"], "王副市长");
    for (name, bytes) in &parts {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("leader12"), "{name} shows the owner's id");
    }
}

#[test]
fn the_same_snapshot_gives_the_same_bytes() {
    let s = sample::snapshot();
    assert_eq!(
        render(&s, half(), "云州市").unwrap(),
        render(&s, half(), "云州市").unwrap()
    );
}
