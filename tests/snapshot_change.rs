//! The change since the last period in a snapshot built from a small hand-made city, every
//! figure computed by hand: 1—N月 growth against 1—(N−1)月, the month's own growth and its
//! change, ranks with a tie (并列, the next rank skipped) and their moves, 停产/半停产/减产 counts
//! by district against last month, the gap as printed, the required growth, and no change at all
//! in the year's first period (1—2月).

use std::collections::HashMap;

use indmon::alerts::Applied;
use indmon::amount::Amount;
use indmon::analysis::{Calendar, Dataset, Series, WINDOW, evaluate_units};
use indmon::credit_code::CreditCode;
use indmon::evaluate::Report;
use indmon::period::Period;
use indmon::registry::{Enterprise, Scale, Target, TargetKind, Unit, UnitKind};
use indmon::report::model::{Snapshot, UnitRow, build};
use indmon::rules::RulesConfig;

fn unit(code: &str, name: &str, kind: UnitKind) -> Unit {
    Unit {
        code: code.into(),
        name: name.into(),
        kind,
        parent: None,
    }
}

fn target(unit: &str, pct: i64) -> Target {
    Target {
        year: 2026,
        unit_code: unit.into(),
        indicator: "output".into(),
        kind: TargetKind::Growth,
        annual: Amount(pct * 10_000),
        milestones: Vec::new(),
    }
}

/// An enterprise of `district`: 100万元 every month of last year, then this year `jan_aug` each
/// month from January to August, `sep` and `oct` (in tenths of 万元). The window is read as
/// ending in October 2026, so index 23 is October, 22 September, 14 January.
struct Spec {
    district: &'static str,
    jan_aug: i64,
    sep: i64,
    oct: i64,
}

/// Five enterprises in four districts:
/// - 甲县 D1: 110×8, 105, 100 and 100×9, 80 (减产 in October);
/// - 乙县 D2: 105×8, 110, 120;
/// - 丙县 D3: 107×8, 107, 107.4;
/// - 丁县 D4: 100×8, 40 (半停产 in September), 0 (停产 in October).
const SPECS: [Spec; 5] = [
    Spec {
        district: "D1",
        jan_aug: 1100,
        sep: 1050,
        oct: 1000,
    },
    Spec {
        district: "D1",
        jan_aug: 1000,
        sep: 1000,
        oct: 800,
    },
    Spec {
        district: "D2",
        jan_aug: 1050,
        sep: 1100,
        oct: 1200,
    },
    Spec {
        district: "D3",
        jan_aug: 1070,
        sep: 1070,
        oct: 1074,
    },
    Spec {
        district: "D4",
        jan_aug: 1000,
        sep: 400,
        oct: 0,
    },
];

/// The city at `period` (the months above shifted so that index 23 is `period`).
fn dataset(period: &str) -> Dataset {
    dataset_from(period, "2000-01")
}

/// The same, with nothing reported before `first`.
fn dataset_from(period: &str, first: &str) -> Dataset {
    let first: Period = first.parse().unwrap();
    let cal = Calendar {
        period: period.parse::<Period>().unwrap(),
        jan_feb_combined: true,
    };
    let tenth = 1_000; // a tenth of 万元 in ten-thousandths of 万元
    let mut enterprises = Vec::new();
    let mut series = Vec::new();
    for (i, sp) in SPECS.iter().enumerate() {
        enterprises.push(Enterprise {
            credit_code: CreditCode::with_check(&format!("91330781MA{i:07}")).unwrap(),
            name: format!("企业{i}"),
            unit_code: sp.district.into(),
            zone_code: None,
            industry_code: None,
            scale: Scale::Above,
            key: false,
            owner: None,
        });
        let mut s = Series::default();
        for w in 0..WINDOW {
            let t = cal.at(w);
            if t < first {
                continue;
            }
            let v = if t.year() < 2026 {
                1000
            } else {
                match t.month() {
                    9 => sp.sep,
                    10 => sp.oct,
                    _ => sp.jan_aug,
                }
            };
            s.present |= 1 << w;
            s.output[w] = v * tenth;
        }
        series.push(s);
    }
    Dataset {
        cal,
        units: vec![
            unit("C", "示例市", UnitKind::City),
            unit("D1", "甲县", UnitKind::District),
            unit("D2", "乙县", UnitKind::District),
            unit("D3", "丙县", UnitKind::District),
            unit("D4", "丁县", UnitKind::District),
        ],
        enterprises,
        series,
        earlier: HashMap::new(),
        targets: vec![
            target("C", 7),
            target("D1", 5),
            target("D2", 7),
            target("D3", 7),
            target("D4", 7),
        ],
        unit_figures: HashMap::new(),
        vintage: 1,
        projects: Vec::new(),
        progress: Vec::new(),
    }
}

fn snapshot(ds: &Dataset) -> Snapshot {
    let report = Report {
        period: ds.period(),
        units: evaluate_units(ds),
        projects: Vec::new(),
        findings: Vec::new(),
        states: Vec::new(),
        applied: Applied::default(),
        evaluation_id: None,
        enterprises: ds.enterprises.len(),
        vintage: ds.vintage,
        historic: false,
        cases: None,
        timings: Vec::new(),
    };
    let half = "2026-11-H1".parse().unwrap();
    build(half, &report, ds, &RulesConfig::default(), &[])
}

fn district<'a>(s: &'a Snapshot, name: &str) -> &'a UnitRow {
    s.districts.iter().find(|u| u.name == name).unwrap()
}

#[test]
fn october_against_september_by_hand() {
    let s = snapshot(&dataset("2026-10"));
    assert_eq!(s.prev_period.as_deref(), Some("2026-09"));
    assert_eq!(s.prev_period_label.as_deref(), Some("1—9月"));
    assert_eq!(s.month_label, "10月");
    assert_eq!(s.prev_month_label.as_deref(), Some("9月"));
    assert_eq!(s.remaining_label.as_deref(), Some("11—12月"));

    // City: 1—10月 5045.4 / 5000 → 0.908% shows 0.9; 1—9月 4638 / 4500 → 3.067% shows 3.1;
    // October 407.4 / 500 → −18.52% shows −18.5; September 462 / 500 → −7.6%.
    let c = s.city.as_ref().unwrap();
    assert_eq!(c.growth_change_pp, Some(-2.2));
    assert_eq!(c.month_growth_change_pp, Some(-10.9));
    assert_eq!(c.gap_pp, Some(-6.1));
    assert!((c.month_growth_pct.unwrap() - -18.52).abs() < 1e-9);
    // (6000 × 1.07 − 5045.4) / (6000 − 5000) − 1 = 37.46%.
    assert!((c.required_pct.unwrap() - 37.46).abs() < 1e-9);

    // 甲县: 2065 / 2000 → 3.25% exactly, shown 3.3 (四舍五入); its gap to 5.0 as printed is
    // 3.3 − 5.0 = −1.7, not the exact −1.75 rounded (−1.8). 1—9月 1885 / 1800 → 4.72% → 4.7.
    let jia = district(&s, "甲县");
    assert_eq!(jia.gap_pp, Some(-1.7));
    assert_eq!(jia.growth_change_pp, Some(-1.4));
    // October 180 / 200 → −10.0%, September 205 / 200 → 2.5%.
    assert_eq!(jia.month_growth_change_pp, Some(-12.5));

    // Ranks: 乙县 7.0% (1070 / 1000) and 丙县 7.04% (shown 7.0) share 第1; 甲县 is 第3 (no 第2);
    // 丁县 −16.0% is 第4. In September 丙县 7.0, 乙县 5.6, 甲县 4.7, 丁县 −6.7.
    type Rank<'a> = (&'a str, Option<u32>, bool, Option<u32>, Option<i32>);
    let ranks: Vec<Rank> = s
        .districts
        .iter()
        .map(|u| {
            (
                u.name.as_str(),
                u.rank,
                u.rank_tied,
                u.rank_prev,
                u.rank_move,
            )
        })
        .collect();
    assert_eq!(
        ranks,
        [
            ("丙县", Some(1), true, Some(1), Some(0)),
            ("乙县", Some(1), true, Some(2), Some(1)),
            ("甲县", Some(3), false, Some(3), Some(0)),
            ("丁县", Some(4), false, Some(4), Some(0)),
        ]
    );

    // States: October 丁县 停产, 甲县's second enterprise 减产 (80 < 90); September only 丁县
    // 半停产 (40 < 50).
    let st = &s.states;
    assert_eq!(
        (st.stalled, st.semi_stalled, st.reduced, st.new),
        (1, 0, 1, 1)
    );
    let last = st.last_month.unwrap();
    assert_eq!((last.stalled, last.semi_stalled, last.reduced), (0, 1, 0));
    let ch = st.change.unwrap();
    assert_eq!(
        (ch.stalled, ch.semi_stalled, ch.reduced, ch.total),
        (1, -1, 1, 1)
    );
    let by: Vec<(&str, usize, i64)> = st
        .by_unit
        .iter()
        .map(|u| (u.name.as_str(), u.now.total, u.change.unwrap().total))
        .collect();
    assert_eq!(
        by,
        [
            ("甲县", 1, 1),
            ("乙县", 0, 0),
            ("丙县", 0, 0),
            ("丁县", 1, 0)
        ]
    );

    // The paragraphs say the same, in the bureau's words.
    assert_eq!(
        s.paragraphs[0],
        "1—10月，全市规模以上工业总产值同比增长0.9%，增速比1—9月回落2.2个百分点，低于年度目标6.1个百分点（目标7.0%）。10月当月下降18.5%，增速比9月回落10.9个百分点。规上企业累计完成产值0.5亿元；要完成全年目标，11—12月需增长37.5%。"
    );
    assert_eq!(
        s.paragraphs[1],
        "分县区看，2个县区达到或超过目标，2个低于目标；丙县、乙县、甲县增速居前，分别增长7.0%、7.0%和3.3%；丁县增速靠后，下降16.0%；丙县、乙县增速相同，并列第1位。低于全市平均水平的有1个：丁县；其中丁县差距在3个百分点以上，列为红色预警，需重点督导。与1—9月相比，位次前移的有乙县（由第2位升至第1位）；其余县区位次不变。"
    );
    assert_eq!(
        s.paragraphs[2],
        "从企业看，应报规上企业5家，已报5家。当月停产企业1家、半停产0家、减产1家，合计2家，比9月增加1家（停产增加1家、半停产减少1家、减产增加1家）；其中新增1家，9月停产半停产减产企业中本月复产（恢复正常）0家。停产半停产减产企业较多的县区是甲县（1家，比9月增加1家）、丁县（1家，与9月持平）。"
    );
}

#[test]
fn the_first_period_of_the_year_shows_no_change_of_the_year_to_date() {
    // 1—2月 (January and February together) has no 1—(N−1)月 before it; its month is compared
    // with last December.
    let s = snapshot(&dataset("2026-02"));
    assert_eq!(s.prev_period.as_deref(), Some("2025-12"));
    assert_eq!(s.prev_period_label, None);
    assert_eq!(s.month_label, "1—2月");
    assert_eq!(s.prev_month_label.as_deref(), Some("上年12月"));
    for u in s.city.iter().chain(&s.districts) {
        assert_eq!(u.growth_change_pp, None, "{}", u.name);
        assert_eq!(u.rank_prev, None, "{}", u.name);
        assert_eq!(u.rank_move, None, "{}", u.name);
        assert!(u.month_growth_change_pp.is_some(), "{}", u.name);
    }
    let text = s.paragraphs.join("");
    assert!(!text.contains("比1-"), "{text}");
    assert!(!text.contains("位次"), "{text}");
    assert!(text.contains("增速比上年12月"), "{text}");
}

#[test]
fn a_month_that_cannot_be_judged_gives_no_change_rather_than_zeros() {
    // Reported from January 2025 only: last December has no base a year earlier, so neither its
    // month's growth nor its 停产/半停产/减产 counts are known.
    let s = snapshot(&dataset_from("2026-02", "2025-01"));
    let c = s.city.as_ref().unwrap();
    assert!(c.month_growth_pct.is_some());
    assert_eq!(c.month_growth_prev_pct, None);
    assert_eq!(c.month_growth_change_pp, None);
    assert_eq!(s.states.last_month, None);
    assert_eq!(s.states.change, None);
    assert!(s.states.by_unit.iter().all(|u| u.change.is_none()));
    let text = s.paragraphs.join("");
    assert!(!text.contains("上年12月"), "{text}");
    assert!(!text.contains("其中新增"), "{text}");
}
