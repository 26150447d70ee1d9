use super::*;
use crate::forecast::{Backtest, BacktestMonth, Partial, Score, Span, YearEnd};
use crate::period::Period;

fn span() -> Span {
    Span::of("2026-10".parse::<Period>().unwrap())
}

fn registry() -> Vec<Unit> {
    [
        ("3307", "全市", UnitKind::City),
        ("330781", "东城区", UnitKind::District),
        ("330782", "西湖县", UnitKind::District),
        ("ZK01", "开发区", UnitKind::Zone),
    ]
    .map(|(code, name, kind)| Unit {
        code: code.into(),
        name: name.into(),
        kind,
        parent: None,
    })
    .to_vec()
}

/// Twelve backtest months: the model chosen on the first six, measured on the last six.
fn backtest() -> Backtest {
    let months = (0..12)
        .map(|i| BacktestMonth {
            span: span(),
            label: format!("{}月", i % 12 + 1),
            actual: 5.0,
            model: 5.0,
            naive: 5.0,
            model_interval: None,
            naive_interval: None,
        })
        .collect();
    Backtest {
        months,
        split: 6,
        model: Score {
            mae: Some(0.54),
            ..Score::default()
        },
        naive: Score {
            mae: Some(1.26),
            ..Score::default()
        },
        choice: Some(Method::Model),
        chosen_mae: Some(0.61),
    }
}

fn unit(code: &str, name: &str, pct: f64, year_end: f64, target: Option<f64>) -> UnitForecast {
    UnitForecast {
        code: code.into(),
        name: name.into(),
        span: span(),
        label: span().label(),
        partial: Some(Partial {
            growth_pct: 3.0,
            label: "10月上中旬".into(),
        }),
        fit: None,
        model: None,
        naive: None,
        backtest: backtest(),
        shown: Some(Method::Model),
        month: Some(Estimate {
            pct,
            low: Some(pct - 0.9),
            high: Some(pct + 0.9),
        }),
        ytd: None,
        year_end: Some(YearEnd {
            trend: Estimate {
                pct: year_end,
                low: None,
                high: None,
            },
            naive: Estimate {
                pct: year_end,
                low: None,
                high: None,
            },
            target_pct: target,
            gap_pp: target.map(|t| year_end - t),
        }),
        reason: None,
    }
}

#[test]
fn the_city_sentence_gives_estimate_interval_error_and_the_districts_below_target() {
    let forecasts = vec![
        unit("3307", "全市", 4.8, 5.3, Some(6.0)),
        unit("330781", "东城区", 7.04, 7.2, Some(6.5)),
        unit("330782", "西湖县", -1.25, 2.1, Some(5.0)),
        unit("ZK01", "开发区", 3.0, 3.0, Some(9.0)),
    ];
    let w = build(forecasts, &registry(), "2026-11-01 00:00".into());
    assert_eq!(w.span_zh, "2026年10月");
    assert_eq!(
        w.paragraphs,
        [
            "按10月上中旬用电测算，10月全市规上工业产值增长约4.8%（区间3.9%—5.7%，近6个月平均误差0.6个百分点）。",
            "回测近12个月（只用各月截止时已知数据）：用电测算平均误差0.5个百分点，上月增速平均误差1.3个百分点；按前6个月误差较小者选用用电测算，误差按后6个月计。估算为产值口径，非增加值。",
            "按近期趋势，全年全市产值预计增长5.3%，目标6.0%，差距−0.7个百分点；西湖县全年预计低于目标，需重点关注。",
        ]
    );
    let codes: Vec<&str> = w.units.iter().map(|u| u.code.as_str()).collect();
    assert_eq!(codes, ["3307", "330781", "330782"], "a zone is not listed");
    assert_eq!(w.below_target, ["西湖县"]);
    assert_eq!(w.units[2].method_zh, "用电测算");
    assert_eq!(w.units[2].error_pp, Some(0.61));
    let rows = sheet_rows(&w);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].len(), SHEET_HEAD.len());
    // A decline is written as one.
    let m = Estimate {
        pct: -1.25,
        low: Some(-2.2),
        high: Some(-0.3),
    };
    assert_eq!(estimate_zh(&m, 6, None), "下降约1.3%（区间−2.2%—−0.3%）");
}

#[test]
fn a_naive_choice_says_so() {
    let mut city = unit("3307", "全市", 4.8, 5.3, None);
    city.shown = Some(Method::Naive);
    city.backtest.choice = Some(Method::Naive);
    let w = build(vec![city], &registry(), String::new());
    assert!(
        w.paragraphs[0].starts_with("按上月增速推算，10月全市规上工业产值增长约4.8%"),
        "{:?}",
        w.paragraphs
    );
    assert!(
        w.paragraphs[1].contains("选用上月增速"),
        "{:?}",
        w.paragraphs
    );
    assert_eq!(
        w.paragraphs[2],
        "按近期趋势，全年全市产值预计增长5.3%；各县区全年预计均不低于目标（或未设目标）。"
    );
}

#[test]
fn short_history_is_one_sentence() {
    let mut city = unit("3307", "全市", 4.8, 5.3, None);
    city.shown = None;
    city.month = None;
    city.year_end = None;
    city.reason = Some(NoForecast::ShortHistory { months: 20 });
    let w = build(vec![city], &registry(), String::new());
    assert_eq!(
        w.paragraphs,
        ["用电与产值配对历史不足24个月（现有20个月），10月暂不作预测。"]
    );
    assert_eq!(
        w.units[0].reason,
        "历史不足24个月 (fewer than 24 months of paired history): 仅20个月"
    );
}
