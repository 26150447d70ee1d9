//! A small snapshot written by hand for the writers' tests: a city, two districts, one zone,
//! three enterprises in a state (one named like a formula, one like markup), one recovered,
//! three findings of different kinds and severities, two projects; one enterprise (西城机械)
//! on a planned overhaul, the districts' ranks swapped since 1—9月.

use super::change::{StateCounts, UnitStates};
use super::model::{
    EnterpriseRow, FindingRow, ProjectRow, ProjectSection, ProjectUnitRow, Snapshot, StateSummary,
    UnitRow,
};

pub const HOSTILE: &str = "=HYPERLINK(\"http://x\",\"点我\")";
pub const MARKUP: &str = "南湖<w:p>&机械";

fn unit(code: &str, name: &str, kind: &str, rank: Option<u32>, growth: f64) -> UnitRow {
    UnitRow {
        code: code.into(),
        name: name.into(),
        kind: kind.into(),
        ytd_wan: 12_345.6,
        ytd_prev_wan: 11_000.0,
        growth_pct: Some(growth),
        target_pct: Some(7.0),
        gap_pp: Some(growth - 7.0),
        rank,
        required_pct: Some(9.5),
        submission_rate_pct: Some(96.0),
        ..UnitRow::default()
    }
}

fn enterprise(name: &str, unit: &str, state: &str, change: &str) -> EnterpriseRow {
    // A code of each name's own (a made-up one; only its being distinct matters).
    let n: u32 = name.chars().map(u32::from).sum();
    EnterpriseRow {
        credit_code: format!("91330781MA2X{n:06}"),
        name: name.into(),
        unit: unit.into(),
        state: state.into(),
        month_wan: Some(0.0),
        base_wan: Some(300.0),
        consecutive: 2,
        change: change.into(),
    }
}

fn finding(severity: (&str, &str), rule: &str, unit: &str, subject: &str) -> FindingRow {
    FindingRow {
        severity: severity.0.into(),
        severity_zh: severity.1.into(),
        rule: rule.into(),
        rule_zh: rule.into(),
        subject: subject.into(),
        subject_name: subject.into(),
        unit: unit.into(),
        message: format!("{subject}的说明"),
    }
}

fn project_unit(code: &str, name: &str) -> ProjectUnitRow {
    ProjectUnitRow {
        code: code.into(),
        name: name.into(),
        total: 2,
        planned: 1,
        started: 1,
        completed: 0,
        producing: 0,
        reported: 2,
        planned_year_wan: 5_000.0,
        invested_ytd_wan: 3_000.0,
        progress_pct: Some(60.0),
    }
}

fn counts(stalled: usize, semi_stalled: usize, reduced: usize) -> StateCounts {
    StateCounts {
        stalled,
        semi_stalled,
        reduced,
        total: stalled + semi_stalled + reduced,
    }
}

fn states_of(code: &str, name: &str, now: StateCounts, was: StateCounts) -> UnitStates {
    UnitStates {
        code: code.into(),
        name: name.into(),
        kind: "district".into(),
        now,
        last_month: Some(was),
        change: Some(now.since(was)),
    }
}

/// The snapshot of 2026-11-H1 (period 2026-10).
pub fn snapshot() -> Snapshot {
    let states = StateSummary {
        stalled: 2,
        semi_stalled: 0,
        reduced: 1,
        new: 2,
        list: vec![
            enterprise(HOSTILE, "东城区", "停产", "新增"),
            enterprise("西城机械", "西城区", "停产", "持续"),
            enterprise(MARKUP, "东城区", "减产", "新增"),
        ],
        recovered: vec![enterprise("复产厂", "西城区", "半停产", "复产")],
        // Last month: 东城区 none; 西城区 西城机械 停产 and 复产厂 半停产.
        last_month: Some(counts(1, 1, 0)),
        change: Some(counts(2, 0, 1).since(counts(1, 1, 0))),
        by_unit: vec![
            states_of("330781", "东城区", counts(1, 0, 1), counts(0, 0, 0)),
            states_of("330782", "西城区", counts(1, 0, 0), counts(1, 1, 0)),
        ],
        by_registered: vec![
            states_of("330781", "东城区", counts(1, 0, 1), counts(0, 0, 0)),
            states_of("330782", "西城区", counts(1, 0, 0), counts(1, 1, 0)),
        ],
    };
    let projects = ProjectSection {
        city: Some(project_unit("3307", "云州市")),
        units: vec![project_unit("330781", "东城区")],
        summary: "全市重点项目2个，其中未开工1个、在建1个。".into(),
        list: vec![ProjectRow {
            id: "XM-001".into(),
            name: "东城新材料产业园".into(),
            unit: "东城区".into(),
            owner: "王副市长".into(),
            status_zh: "在建".into(),
            total_investment_wan: 20_000.0,
            ..ProjectRow::default()
        }],
        ..ProjectSection::default()
    };
    let mut s = Snapshot {
        half: "2026-11-H1".into(),
        period: "2026-10".into(),
        period_label: "1—10月".into(),
        deadline: "2026-11-10".into(),
        time_progress_pct: 10.0 / 12.0 * 100.0,
        expected: 100,
        reported: 96,
        submission_rate_pct: Some(96.0),
        city: Some(unit("3307", "云州市", "city", None, 5.8)),
        // 东城区 was second in 1—9月 and 西城区 first: they swapped.
        districts: vec![
            UnitRow {
                rank_prev: Some(2),
                rank_move: Some(1),
                ..unit("330781", "东城区", "district", Some(1), 8.2)
            },
            UnitRow {
                rank_prev: Some(1),
                rank_move: Some(-1),
                ..unit("330782", "西城区", "district", Some(2), 3.1)
            },
        ],
        prev_period_label: Some("1—9月".into()),
        month_label: "10月".into(),
        prev_month_label: Some("9月".into()),
        remaining_label: Some("11—12月".into()),
        zones: vec![unit("330790", "高新区", "zone", Some(1), 9.0)],
        states,
        alerts: crate::report::model::AlertSummary {
            list: vec![
                finding(("yellow", "黄色"), "enterprise_reduced", "东城区", MARKUP),
                finding(("red", "红色"), "enterprise_stalled", "西城区", "西城机械"),
                finding(("red", "红色"), "unit_below_target", "西城区", "西城区"),
            ],
            ..Default::default()
        },
        projects,
        overhaul: vec![crate::report::sections::Overhaul {
            credit_code: enterprise("西城机械", "", "", "").credit_code,
            name: "西城机械".into(),
            reason: "年度检修".into(),
        }],
        advice: crate::report::advice::Advice {
            problems: vec!["一是西城区增速低于目标。".into()],
            steps: vec!["一是加强对西城区的督导。".into()],
        },
        text: crate::report::text::SectionText {
            overall: vec!["1—10月，全市规模以上工业总产值同比增长5.8%。".into()],
            units: vec!["分县区看，东城区增速居前。".into()],
            industries: vec!["1—10月，全市规上工业涉及2个行业大类。".into()],
            enterprises: vec![format!(
                "从拉动看，{MARKUP}（0.52个百分点）拉动全市增长居前。"
            )],
            projects: vec!["全市重点项目2个，其中未开工1个、在建1个。".into()],
            alerts: vec!["本期共有预警3项。".into()],
            answers: Vec::new(),
        },
        ..Snapshot::default()
    };
    s.paragraphs = s.text.all();
    s
}

/// The parts of a zip package (XLSX, DOCX) by name.
pub fn unzip(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip package");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("a zip entry");
            let mut v = Vec::new();
            f.read_to_end(&mut v).expect("the entry reads");
            (f.name().expect("an entry name").to_string(), v)
        })
        .collect()
}

/// A part of a package as text.
pub fn part(parts: &std::collections::BTreeMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8(
        parts
            .get(name)
            .unwrap_or_else(|| panic!("{name} missing"))
            .clone(),
    )
    .expect("UTF-8 XML")
}

/// The attributes (qualified name → value) of every element whose local name is `name`.
pub fn elements(xml: &str, name: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == name => {
                out.push(
                    e.attributes()
                        .flatten()
                        .map(|a| {
                            let k: &str = a.key.as_ref();
                            let v = a
                                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .expect("an attribute value");
                            (k.to_string(), v.into_owned())
                        })
                        .collect(),
                );
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

/// The text inside every element whose local name is `name`, entities resolved, in order.
pub fn texts(xml: &str, name: &str) -> Vec<String> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_str(xml);
    let (mut out, mut cur, mut depth) = (Vec::new(), String::new(), 0usize);
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) if e.local_name().as_ref() == name => {
                if depth == 0 {
                    cur.clear();
                }
                depth += 1;
            }
            Event::End(e) if depth > 0 && e.local_name().as_ref() == name => {
                depth -= 1;
                if depth == 0 {
                    out.push(cur.clone());
                }
            }
            Event::Empty(e) if depth == 0 && e.local_name().as_ref() == name => {
                out.push(String::new());
            }
            Event::Text(t) if depth > 0 => cur.push_str(&t.xml10_content()),
            Event::GeneralRef(g) if depth > 0 => {
                let name = g.xml10_content();
                match quick_xml::escape::resolve_xml_entity(&name) {
                    Some(s) => cur.push_str(s),
                    None => cur.extend(g.resolve_char_ref().ok().flatten()),
                }
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}
