//! A small city whose every figure is computed by hand (万元):
//!
//! | e | code  | unit | ytd  | ytd_prev | note |
//! |---|-------|------|------|----------|------|
//! | 0 | C3011 | D1   | 1100 | 1000     | 30 非金属矿物制品业 |
//! | 1 | 3021  | D2   |  300 |  500     | 30 |
//! | 2 | C2614 | D1   | 2600 | 2000     | 26 化学原料和化学制品制造业 |
//! | 3 | 2710  | D2   |  300 |  200     | 27 医药制造业 |
//! | 4 | 3562  | D1   |  500 |  500     | 35 专用设备制造业 |
//! | 5 | —     | D2   |  100 |  100     | no code |
//! | 6 | 5111  | D1   |  200 |  100     | not industrial |
//! | 7 | 39    | D1   |  999 |    1     | below scale: left out |
//! | 8 | 3741  | D2   |   50 |  —       | no base: not counted |
//!
//! City: ytd 5100, ytd_prev 4400, growth 700/4400 = 15.909%. Division 30: 1400/1500 → −6.667%,
//! pull −100/4400 = −2.273 pp; 26: 30%, pull 600/4400 = 13.636 pp; 27: 50%, 2.273 pp; 35: 0%;
//! unclassified (e5, e6): 300/200, 2.273 pp. The pulls add up to 15.909. 增长面: 2 of the 4
//! divisions with a base (26, 27; 30 falls, 35 is flat) = 50%.

use std::collections::HashMap;

use super::*;
use crate::amount::Amount;
use crate::analysis::window::{FIGURES, Month, Scope, Window, WindowData};
use crate::analysis::{Calendar, NONE, Series, WINDOW, evaluate_units};
use crate::credit_code::CreditCode;
use crate::indicator::field_at;
use crate::period::Period;
use crate::registry::{Enterprise, Scale, Target, TargetKind, Unit};

const W: i64 = 10_000;
const P: usize = WINDOW - 1;

fn unit(code: &str, kind: UnitKind) -> Unit {
    Unit {
        code: code.into(),
        name: format!("{code}区"),
        kind,
        parent: None,
    }
}

type Spec = (Option<&'static str>, &'static str, bool, i64, Option<i64>);

const CITY: [Spec; 9] = [
    (Some("C3011"), "D1", true, 1100, Some(1000)),
    (Some("3021"), "D2", true, 300, Some(500)),
    (Some("C2614"), "D1", true, 2600, Some(2000)),
    (Some("2710"), "D2", true, 300, Some(200)),
    (Some("3562"), "D1", true, 500, Some(500)),
    (None, "D2", true, 100, Some(100)),
    (Some("5111"), "D1", true, 200, Some(100)),
    (Some("39"), "D1", false, 999, Some(1)),
    (Some("3741"), "D2", true, 50, None),
];

fn dataset() -> Dataset {
    let cal = Calendar {
        period: Period::new(2026, 10).unwrap(),
        jan_feb_combined: true,
    };
    let mut enterprises = Vec::new();
    let mut series = Vec::new();
    for (i, (code, unit, above, ytd, prev)) in CITY.iter().enumerate() {
        enterprises.push(Enterprise {
            credit_code: CreditCode::with_check(&format!("91330781MA{i:07}")).unwrap(),
            name: format!("企业{i}"),
            unit_code: unit.to_string(),
            zone_code: None,
            industry_code: code.map(String::from),
            scale: if *above { Scale::Above } else { Scale::Below },
            key: false,
            owner: None,
        });
        let mut s = Series::default();
        s.present |= 1 << P;
        s.output_ytd[P] = ytd * W;
        s.output_ytd_prev[P - 12] = prev.map_or(NONE, |p| p * W);
        series.push(s);
    }
    Dataset {
        cal,
        units: vec![
            unit("C", UnitKind::City),
            unit("D1", UnitKind::District),
            unit("D2", UnitKind::District),
        ],
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

fn report(ds: &Dataset) -> Report {
    let ctx = crate::rules::Context {
        above_scale_threshold: 2000 * W,
        report_deadline_day: 10,
        now: chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 11, 22, 2, 0, 0).unwrap(),
    };
    let outcome = crate::rules::evaluate(ds, &crate::rules::RulesConfig::default(), &ctx);
    Report {
        period: ds.period(),
        units: evaluate_units(ds),
        projects: Vec::new(),
        findings: outcome.findings,
        states: Vec::new(),
        applied: crate::alerts::Applied::default(),
        evaluation_id: None,
        enterprises: ds.enterprises.len(),
        vintage: 0,
        historic: false,
        cases: None,
        timings: Vec::new(),
    }
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

fn find<'a>(rows: &'a [IndustryRow], code: &str) -> &'a IndustryRow {
    rows.iter()
        .find(|r| r.code == code)
        .unwrap_or_else(|| panic!("no row {code}"))
}

#[test]
fn industries_sum_to_the_city_and_pull_by_the_design_formula() {
    let ds = dataset();
    let by = divisions::by_industry(&ds, &IndustryConfig::default().prefixes());
    let rep = report(&ds);
    let city = rep.units.iter().find(|u| u.kind == UnitKind::City).unwrap();
    assert_eq!((by.city.ytd, by.city.ytd_prev), (5100 * W, 4400 * W));
    assert_eq!((city.ytd, city.ytd_prev), (by.city.ytd, by.city.ytd_prev));
    assert_eq!(by.city.enterprises, 7);

    let s = industries(&ds, &IndustryConfig::default(), "1—10月");
    let codes: Vec<&str> = s.divisions.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        ["26", "30", "35", "27"],
        "largest output first; 37 has no base"
    );
    let d30 = find(&s.divisions, "30");
    assert_eq!(d30.name, "非金属矿物制品业");
    assert_eq!(d30.section, "C");
    assert_eq!(d30.enterprises, 2);
    assert!(close(d30.growth_pct, (1400.0 / 1500.0 - 1.0) * 100.0));
    assert!(close(d30.pull_pp, -100.0 / 4400.0 * 100.0));
    assert!(close(d30.share_pct, 1400.0 / 5100.0 * 100.0));
    let d26 = find(&s.divisions, "26");
    assert!(close(d26.growth_pct, 30.0));
    assert!(close(d26.pull_pp, 600.0 / 4400.0 * 100.0));
    assert!(close(find(&s.divisions, "35").growth_pct, 0.0));
    let un = s.unclassified.as_ref().unwrap();
    assert_eq!(
        (un.enterprises, un.ytd_wan, un.ytd_prev_wan),
        (2, 300.0, 200.0)
    );
    let total: f64 = s
        .divisions
        .iter()
        .chain(&s.unclassified)
        .map(|d| d.pull_pp.unwrap())
        .sum();
    assert!(close(Some(total), 700.0 / 4400.0 * 100.0), "{total}");
}

#[test]
fn growth_share_leading_industries_pulls_and_drags() {
    let ds = dataset();
    let cfg = IndustryConfig {
        leading: 2,
        ..IndustryConfig::default()
    };
    let s = industries(&ds, &cfg, "1—10月");
    // 26 and 27 grow, 30 falls, 35 is flat (exactly 0 is not growth).
    assert_eq!((s.growing, s.with_base), (2, 4));
    assert!(close(s.growing_share_pct, 50.0));
    assert_eq!(s.leading, ["化学原料和化学制品制造业", "非金属矿物制品业"]);
    assert!(close(s.leading_share_pct, 4000.0 / 5100.0 * 100.0));
    assert!(close(s.leading_growth_pct, (4000.0 / 3500.0 - 1.0) * 100.0));
    let names = |rows: &[IndustryRow]| rows.iter().map(|r| r.code.clone()).collect::<Vec<_>>();
    assert_eq!(names(&s.pulling), ["26", "27"]);
    assert_eq!(names(&s.dragging), ["30"]);
    assert!(
        s.summary.contains(
            "1—10月，全市规上工业涉及4个行业大类，其中2个行业产值同比增长，增长面为50.0%。"
        ),
        "{}",
        s.summary
    );
    assert!(s.summary.contains("产值居前2位的行业（化学原料和化学制品制造业、非金属矿物制品业）合计占全市规上工业总产值的78.4%，同比增长14.3%。"), "{}", s.summary);
    assert!(s.summary.contains("化学原料和化学制品制造业（增长30.0%，拉动13.6个百分点）、医药制造业（增长50.0%，拉动2.3个百分点）"), "{}", s.summary);
    assert!(
        s.summary
            .contains("非金属矿物制品业（下降6.7%，下拉2.3个百分点）"),
        "{}",
        s.summary
    );
    assert!(
        s.summary
            .contains("另有2家企业行业代码缺失或无法识别，产值300.0万元"),
        "{}",
        s.summary
    );
}

#[test]
fn groups_take_enterprises_by_code_prefix() {
    let ds = dataset();
    let s = industries(&ds, &IndustryConfig::default(), "1—10月");
    // 高技术制造业: 2710 (27) and 3562; 3741 has no base and 39 is below scale.
    let hi = find(&s.groups, "高技术制造业");
    assert_eq!(
        (hi.enterprises, hi.ytd_wan, hi.ytd_prev_wan),
        (2, 800.0, 700.0)
    );
    // 装备制造业 (33–40): 3562 only.
    let eq = find(&s.groups, "装备制造业");
    assert_eq!((eq.enterprises, eq.ytd_wan), (1, 500.0));
    // 六大高耗能行业: 3011, 3021, 2614.
    let energy = find(&s.groups, "六大高耗能行业");
    assert_eq!(
        (energy.enterprises, energy.ytd_wan, energy.ytd_prev_wan),
        (3, 4000.0, 3500.0)
    );
    assert!(close(energy.pull_pp, 500.0 / 4400.0 * 100.0));

    let cfg = IndustryConfig {
        leading: 5,
        groups: vec![
            GroupConfig {
                name: "水泥".into(),
                codes: vec!["C301".into()],
            },
            GroupConfig {
                name: "建材化工".into(),
                codes: vec!["30".into(), "2614".into(), "26".into()],
            },
        ],
    };
    let s = industries(&ds, &cfg, "1—10月");
    // 301 takes 3011 but not 3021; an enterprise matching two codes counts once.
    assert_eq!(find(&s.groups, "水泥").enterprises, 1);
    assert_eq!(find(&s.groups, "水泥").ytd_wan, 1100.0);
    assert_eq!(find(&s.groups, "建材化工").enterprises, 3);
    assert_eq!(find(&s.groups, "建材化工").ytd_wan, 4000.0);
}

#[test]
fn unknown_and_missing_codes_are_reported_under_data_quality() {
    let ds = dataset();
    let rep = report(&ds);
    let mut snap = crate::report::model::build(
        "2026-11-H1".parse().unwrap(),
        &rep,
        &ds,
        &crate::rules::RulesConfig::default(),
        &[],
    );
    let before = snap.quality.len();
    attach(&mut snap, &rep, &ds, &IndustryConfig::default());
    let s = &snap.industries;
    assert_eq!(s.missing_codes, 1);
    assert_eq!(s.unknown_codes.len(), 1);
    assert_eq!(
        (
            s.unknown_codes[0].code.as_str(),
            s.unknown_codes[0].enterprises
        ),
        ("5111", 1)
    );
    let added = &snap.quality[before..];
    assert_eq!(added.len(), 2);
    assert!(added[0].message.starts_with("1家规上企业未登记行业代码"));
    assert_eq!(added[1].subject, "5111");
    assert!(
        added[1]
            .message
            .contains("“5111”不是GB/T 4754-2017工业大类")
    );
    let counted = format!("发现数据质量问题{}项", snap.quality.len());
    assert!(
        snap.paragraphs.iter().any(|p| p.contains(&counted)),
        "{:?}",
        snap.paragraphs
    );
}

#[test]
fn chart_bars_are_fastest_growth_first_with_their_pulls() {
    let s = industries(&dataset(), &IndustryConfig::default(), "1—10月");
    let bars = chart_bars(&s);
    let names: Vec<&str> = bars.iter().map(|b| b.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "医药制造业",
            "化学原料和化学制品制造业",
            "专用设备制造业",
            "非金属矿物制品业"
        ]
    );
    assert!(close(Some(bars[0].1), 50.0));
    assert!(close(Some(bars[0].2), 100.0 / 4400.0 * 100.0));
    assert!(close(Some(bars[3].2), -100.0 / 4400.0 * 100.0));
}

/// Efficiency figures of e0 (D1) and e1 (D2); nobody else reports them, and e7 (below scale)
/// reports a revenue that must not count.
fn with_efficiency(mut ds: Dataset) -> Dataset {
    let o = &mut ds.series[0].others;
    o.revenue.cur = 1200 * W;
    o.revenue.prev_reported = 1000 * W;
    o.profit.cur = 100 * W;
    o.profit.prev_reported = 80 * W;
    o.sales.cur = 1078 * W;
    o.sales.prev_reported = 950 * W;
    o.export.cur = 50 * W;
    o.export.year_ago = 40 * W;
    ds.series[0].electricity = 10 * W;
    ds.series[0].electricity_year_ago = 8 * W;
    let o = &mut ds.series[1].others;
    o.revenue.cur = 350 * W;
    o.revenue.prev_reported = 400 * W;
    o.profit.cur = -20 * W;
    o.profit.prev_reported = 10 * W;
    o.sales.cur = 270 * W;
    o.export.cur = 0;
    o.export.prev_reported = 0;
    ds.series[1].electricity = 5 * W;
    ds.series[1].electricity_prev = 5 * W;
    ds.series[7].others.revenue.cur = 999 * W;
    ds.series[7].others.revenue.prev_reported = W;
    ds
}

#[test]
fn efficiency_sums_revenue_profit_sales_ratio_exports_and_electricity() {
    let ds = with_efficiency(dataset());
    let rep = report(&ds);
    let e = efficiency_section(&ds, &rep, "1—10月");
    let c = e.city.as_ref().unwrap();
    // Revenue 1550 on 1400; profit 80 on 90; one loss-maker of two reporting.
    assert_eq!(c.revenue_wan, 1550.0);
    assert!(close(c.revenue_growth_pct, (1550.0 / 1400.0 - 1.0) * 100.0));
    assert!(close(c.profit_growth_pct, (80.0 / 90.0 - 1.0) * 100.0));
    assert_eq!(c.loss_making, 1);
    assert!(close(c.loss_share_pct, 50.0));
    // 产销率: (1078 + 270) / (1100 + 300); a year ago only e0 has a sales base: 950 / 1000.
    assert!(close(c.sales_ratio_pct, 1348.0 / 1400.0 * 100.0));
    assert!(close(c.sales_ratio_prev_pct, 95.0));
    // Export: e0's 50 on the 40 it reported a year ago (e1 exports nothing).
    assert!(close(c.export_growth_pct, 25.0));
    // Electricity: 15 on 13 (e0's base is P−12's figure, e1's the form's 上年同月).
    assert!(close(c.electricity_growth_pct, (15.0 / 13.0 - 1.0) * 100.0));
    let d1 = e.districts.iter().find(|d| d.code == "D1").unwrap();
    assert!(close(d1.revenue_growth_pct, 20.0));
    assert!(close(d1.sales_ratio_pct, 98.0));
    let d2 = e.districts.iter().find(|d| d.code == "D2").unwrap();
    assert!(close(d2.profit_growth_pct, -300.0));
    assert!(close(d2.loss_share_pct, 100.0));
    assert!(
        e.summary.contains("实现营业收入1,550.0万元，同比增长10.7%"),
        "{}",
        e.summary
    );
    assert!(
        e.summary
            .contains("产品销售率（产销率）96.3%，比上年同期提高1.3个百分点"),
        "{}",
        e.summary
    );
    assert!(
        e.summary
            .contains("10月全市规上工业用电量15.0万千瓦时，同比增长15.4%"),
        "{}",
        e.summary
    );
    // Beside the month's output growth, except in a combined February (1—2月 against February).
    let mut c = c.clone();
    c.output_month_growth_pct = Some(1.04);
    let oct = text::efficiency(&c, Period::new(2026, 10).unwrap(), false, "1—10月");
    assert!(oct.contains("同比增长15.4%；同期产值增长1.0%。"), "{oct}");
    let feb = text::efficiency(&c, Period::new(2026, 2).unwrap(), true, "1—2月");
    assert!(
        feb.contains("2月全市规上工业用电量") && !feb.contains("同期产值"),
        "{feb}"
    );
}

#[test]
fn the_window_keeps_the_other_ytd_figures_of_p_and_p_minus_12() {
    let cal = Calendar {
        period: Period::new(2026, 10).unwrap(),
        jan_feb_combined: true,
    };
    let ents = dataset().enterprises;
    let w = Window {
        cal,
        scope: Scope::Few(&ents[..1]),
    };
    let mut data = WindowData::new(&w);
    let mut now = [0i64; FIGURES];
    now[field_at("sales_ytd")] = 97;
    now[field_at("profit_ytd")] = -5;
    now[field_at("export_ytd_prev")] = 12;
    let present = (1 << field_at("sales_ytd"))
        | (1 << field_at("profit_ytd"))
        | (1 << field_at("export_ytd_prev"));
    data.absorb(
        0,
        P,
        Month {
            present,
            values: &now,
        },
    );
    let mut ago = [0i64; FIGURES];
    ago[field_at("sales_ytd")] = 90;
    data.absorb(
        0,
        P - 12,
        Month {
            present: 1 << field_at("sales_ytd"),
            values: &ago,
        },
    );
    let o = data.series[0].others;
    assert_eq!(o.sales.with_base(), Some((97, 90)));
    assert_eq!(o.profit.value(), Some(-5));
    assert_eq!(o.profit.base(), None);
    assert_eq!(o.export.base(), Some(12));
    assert_eq!(o.export.value(), None);
    assert_eq!(o.revenue.with_base(), None);
}

#[test]
fn investment_against_its_annual_target() {
    let mut ds = dataset();
    let p = ds.period();
    let fig =
        |u: &str, t: Period, v: i64| ((u.to_string(), t, "investment".to_string()), Amount(v * W));
    ds.unit_figures.extend([
        fig("C", p, 10_000),
        fig("C", p.year_ago(), 8_000),
        fig("D1", p, 3_000),
    ]);
    let target = |u: &str, v: i64| Target {
        year: 2026,
        unit_code: u.into(),
        indicator: "investment".into(),
        kind: TargetKind::Volume,
        annual: Amount(v * W),
        milestones: Vec::new(),
    };
    ds.targets = vec![
        target("C", 11_000),
        target("D1", 6_000),
        target("D2", 1_000),
    ];
    let rep = report(&ds);
    let rows = investment::rows(&ds, &rep);
    let codes: Vec<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["C", "D1", "D2"]);
    let time = 10.0 / 12.0 * 100.0;
    // City: 10000 of 11000 = 90.9%, 7.6 points ahead of 83.3%; 10000 on 8000 = +25%.
    assert!(close(rows[0].completion_pct, 10_000.0 / 11_000.0 * 100.0));
    assert!(close(rows[0].gap_pp, 10_000.0 / 11_000.0 * 100.0 - time));
    assert!(close(rows[0].growth_pct, 25.0));
    assert!(!rows[0].lagging);
    // D1: 3000 of 6000 = 50%, 33.3 points behind: the rule warned.
    assert!(close(rows[1].completion_pct, 50.0));
    assert!(rows[1].lagging);
    assert_eq!(rows[1].growth_pct, None);
    // D2: a target and no figure yet.
    assert_eq!((rows[2].ytd_wan, rows[2].target_wan), (None, Some(1_000.0)));
    let text = text::investment(&rows, "1—10月");
    assert!(
        text.starts_with("1—10月，全市完成工业投资10,000.0万元，同比增长25.0%，完成年度目标11,000.0万元的90.9%，快于时间进度7.6个百分点。"),
        "{text}"
    );
    assert!(
        text.contains("投资进度滞后于时间进度的单位：D1区（完成50.0%）。"),
        "{text}"
    );
}

#[test]
fn the_sections_render_in_html_escaped_and_in_the_workbook() {
    let ds = with_efficiency(dataset());
    let rep = report(&ds);
    let half = "2026-11-H1".parse().unwrap();
    let mut snap =
        crate::report::model::build(half, &rep, &ds, &crate::rules::RulesConfig::default(), &[]);
    let cfg = IndustryConfig {
        leading: 3,
        groups: vec![GroupConfig {
            name: "<b>特色</b>产业".into(),
            codes: vec!["26".into()],
        }],
    };
    attach(&mut snap, &rep, &ds, &cfg);
    let html = crate::report::html::render(&snap, "示例市").unwrap();
    assert!(html.contains("分行业运行情况"));
    assert!(html.contains("26 化学原料和化学制品制造业"));
    assert!(
        html.contains("&lt;b&gt;特色&lt;"),
        "the group name is escaped"
    );
    assert!(!html.contains("<b>特色"));
    assert!(html.contains("工业效益与需求"));
    let bytes = crate::report::xlsx::render(&snap, half, "云州市").unwrap();
    use calamine::Reader;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    // Under the title, the note and the header row: the largest division first.
    let sheet = book
        .worksheet_range(crate::report::xlsx::SHEET_INDUSTRIES)
        .unwrap();
    assert_eq!(
        sheet.get_value((3, 3)).map(|c| c.to_string()),
        Some("化学原料和化学制品制造业".into())
    );
    assert_eq!(
        sheet.get_value((3, 0)).map(|c| c.to_string()),
        Some("行业大类".into())
    );
    assert!(
        book.worksheet_range(crate::report::xlsx::SHEET_EFFICIENCY)
            .is_ok()
    );
    assert!(
        book.worksheet_range(crate::report::xlsx::SHEET_INVESTMENT)
            .is_ok()
    );
}
