//! Unit rules (districts, zones and the city): below target, below the city, the annual target
//! at risk, volume targets behind time progress, low submission rate, and lagging several
//! periods in a row.

use serde_json::{Map, Value, json};

use super::{Coverage, Finding, Rule, RulesConfig, Severity, num, wan};
use crate::analysis::rounding::{apart, difference, fixed, shown_difference};
use crate::analysis::{
    Basis, Dataset, Growth, PCT, UnitResult, VALUE_ADDED_GROWTH, fmt_pct, formulas,
};
use crate::registry::UnitKind;

fn indicator_zh(indicator: &str) -> &str {
    match indicator {
        VALUE_ADDED_GROWTH => "规上工业增加值",
        "output" => "规上工业总产值",
        "investment" => "工业投资",
        other => other,
    }
}

struct Ctx<'a> {
    ds: &'a Dataset,
    city: Option<&'a UnitResult>,
}

impl Ctx<'_> {
    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        r: &UnitResult,
        rule: Rule,
        indicator: &str,
        (severity, consecutive): (Severity, u32),
        message: String,
        mut values: Map<String, Value>,
    ) -> Finding {
        values.insert("vintage".into(), json!(self.ds.vintage));
        let mut scope = vec![r.code.clone()];
        if let Some(c) = self.city
            && c.code != r.code
        {
            scope.push(c.code.clone());
        }
        Finding {
            rule,
            severity,
            subject: r.code.clone(),
            subject_name: r.name.clone(),
            indicator: indicator.into(),
            unit: r.code.clone(),
            scope,
            owner: None,
            period: self.ds.period(),
            consecutive,
            message: format!("{}{message}", r.name),
            values,
        }
    }
}

/// The common inputs of a unit's growth finding.
fn growth_values(r: &UnitResult) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert(
        "growth_pct".into(),
        r.compared_growth().map_or(Value::Null, |g| num(g.pct())),
    );
    v.insert(
        "target_pct".into(),
        r.target
            .map_or(Value::Null, |t| num(t.pct_raw as f64 / PCT as f64)),
    );
    v.insert("gap_pp".into(), r.gap_pp.map_or(Value::Null, num));
    v.insert(
        "basis".into(),
        json!(match r.target.map(|t| t.basis) {
            Some(Basis::Month) => "month",
            _ => "ytd",
        }),
    );
    v.insert(
        "milestone".into(),
        json!(r.target.is_some_and(|t| t.milestone)),
    );
    v.insert("estimated".into(), json!(r.estimated));
    v.insert("ytd".into(), wan(r.ytd));
    v.insert("ytd_prev".into(), wan(r.ytd_prev));
    v.insert("counted".into(), json!(r.counted));
    v.insert("excluded".into(), json!(r.excluded));
    v
}

/// Findings about units.
pub fn findings(
    ds: &Dataset,
    units: &[UnitResult],
    cfg: &RulesConfig,
    coverage: &Coverage,
) -> Vec<Finding> {
    let ctx = Ctx {
        ds,
        city: units.iter().find(|u| u.kind == UnitKind::City),
    };
    let mut out = Vec::new();
    for r in units {
        out.extend(below_target(&ctx, r, cfg));
        out.extend(below_average(&ctx, r, cfg));
        out.extend(target_at_risk(&ctx, r, cfg));
        out.extend(progress_lagging(&ctx, r, cfg));
        if coverage.deadline_passed {
            out.extend(low_submission_rate(&ctx, r, cfg));
        }
    }
    out
}

/// The period as the unit's target reads it: `10月` for a month's own growth (an `m`
/// milestone), else `1—10月`.
fn target_label(ds: &Dataset, r: &UnitResult) -> String {
    let p = ds.period();
    match r.target.map(|t| t.basis) {
        Some(Basis::Month) => crate::rules::enterprise::month_label(&ds.cal, p),
        _ => p.ytd_label(),
    }
}

/// `（估算）` after a growth estimated from output rather than published.
fn estimated(r: &UnitResult) -> &'static str {
    if r.estimated { "（估算）" } else { "" }
}

/// The severity of a unit below target by its gap: blue, then yellow, orange and red at the
/// configured gaps (≤, exactly in hundredths of a point).
fn gap_severity(g: Growth, target_raw: i64, cfg: &RulesConfig) -> Severity {
    let steps = cfg.below_target_pp.map(formulas::pp_raw);
    Severity::Blue.raised(formulas::gap_steps(g, target_raw, steps))
}

/// 增速低于目标, and 连续落后 when it has lasted `lagging_periods` periods.
fn below_target(ctx: &Ctx, r: &UnitResult, cfg: &RulesConfig) -> Vec<Finding> {
    let (true, Some(g), Some(t)) = (r.below_target(), r.compared_growth(), r.target) else {
        return Vec::new();
    };
    let (label, what) = (target_label(ctx.ds, r), indicator_zh(&r.indicator));
    let sev = gap_severity(g, t.pct_raw, cfg);
    let target_name = if t.milestone {
        "序时目标"
    } else {
        "年度目标"
    };
    // With as many decimals as it takes for "below" to show (6.96% against 7.00%).
    let (gp, tp) = (g.pct(), t.pct_raw as f64 / PCT as f64);
    let d = apart(gp, tp);
    let msg = format!(
        "{label}{what}同比增长{}%{}，低于{target_name}{}%，差距{}个百分点。",
        fixed(gp, d),
        estimated(r),
        fixed(tp, d),
        difference(tp, gp, d)
    );
    let streak = r.below_target_streak;
    let mut out = vec![ctx.finding(
        r,
        Rule::UnitBelowTarget,
        &r.indicator,
        (sev, streak),
        msg,
        growth_values(r),
    )];
    if streak >= cfg.lagging_periods {
        let msg = format!(
            "已连续{streak}个报告期{what}增速低于目标（{label}{}，目标{}），建议列入约谈名单。",
            fmt_pct(g.pct()),
            fmt_pct(t.pct_raw as f64 / PCT as f64)
        );
        let sev = cfg.severity_of(Rule::UnitConsecutiveLagging);
        out.push(ctx.finding(
            r,
            Rule::UnitConsecutiveLagging,
            &r.indicator,
            (sev, streak),
            msg,
            growth_values(r),
        ));
    }
    out
}

/// 增速低于全市: a district's or zone's ytd growth below the city's.
fn below_average(ctx: &Ctx, r: &UnitResult, cfg: &RulesConfig) -> Option<Finding> {
    let c = ctx.city.filter(|_| r.kind != UnitKind::City)?;
    let g = r.growth?;
    let cg = c.growth.filter(|cg| g.cmp_growth(*cg).is_lt())?;
    let d = apart(g.pct(), cg.pct());
    let msg = format!(
        "{}{}同比增长{}%{}，低于全市{}%，差距{}个百分点。",
        ctx.ds.period().ytd_label(),
        indicator_zh(&r.indicator),
        fixed(g.pct(), d),
        estimated(r),
        fixed(cg.pct(), d),
        difference(cg.pct(), g.pct(), d)
    );
    let mut v = growth_values(r);
    v.insert("growth_pct".into(), num(g.pct()));
    v.insert("city_growth_pct".into(), num(cg.pct()));
    let sev = cfg.severity_of(Rule::UnitBelowAverage);
    Some(ctx.finding(r, Rule::UnitBelowAverage, &r.indicator, (sev, 1), msg, v))
}

/// 全年目标难完成: the growth the remaining months need exceeds the annual target by more
/// than `at_risk_pp`.
fn target_at_risk(ctx: &Ctx, r: &UnitResult, cfg: &RulesConfig) -> Option<Finding> {
    let (Some(req), Some(t)) = (r.required_pct, r.target) else {
        return None;
    };
    let annual = t.annual_raw as f64 / PCT as f64;
    let q = r.required;
    let th = formulas::pp_raw(cfg.at_risk_pp);
    if !formulas::required_exceeds(q, t.annual_raw, ctx.ds.period().month(), th) {
        return None;
    }
    let msg = format!(
        "按上年全年{}万元测算，完成年度目标{}，其余月份需增长{}，高于目标{}个百分点，全年目标完成难度大。",
        crate::analysis::fmt_wan(q.full_year_prev),
        fmt_pct(annual),
        fmt_pct(req),
        shown_difference(req, annual)
    );
    let mut v = growth_values(r);
    v.insert("required_pct".into(), num(req));
    v.insert("annual_target_pct".into(), num(annual));
    v.insert("full_year_prev".into(), wan(q.full_year_prev));
    v.insert("required_ytd".into(), wan(q.ytd));
    v.insert("required_ytd_prev".into(), wan(q.ytd_prev));
    v.insert("required_counted".into(), json!(q.counted));
    v.insert("threshold_pp".into(), num(cfg.at_risk_pp));
    let sev = cfg.severity_of(Rule::UnitTargetAtRisk);
    Some(ctx.finding(r, Rule::UnitTargetAtRisk, &r.indicator, (sev, 1), msg, v))
}

/// 进度滞后: one finding per volume target whose completion is below time progress by more
/// than `volume_tolerance_pp`.
fn progress_lagging(ctx: &Ctx, r: &UnitResult, cfg: &RulesConfig) -> Vec<Finding> {
    let p = ctx.ds.period();
    let tol = super::hundredths(cfg.volume_tolerance_pp);
    let mut out = Vec::new();
    for vol in r
        .volumes
        .iter()
        .filter(|vol| super::behind(vol.ytd, vol.annual, p.month(), tol))
    {
        let msg = format!(
            "{}{}完成{}万元，为年度目标{}万元的{}，低于时间进度{}。",
            p.ytd_label(),
            indicator_zh(&vol.indicator),
            crate::analysis::fmt_wan(vol.ytd),
            crate::analysis::fmt_wan(vol.annual),
            fmt_pct(vol.progress_pct),
            fmt_pct(vol.time_pct)
        );
        let mut v = Map::new();
        v.insert("ytd".into(), wan(vol.ytd));
        v.insert("annual".into(), wan(vol.annual));
        v.insert("progress_pct".into(), num(vol.progress_pct));
        v.insert("time_progress_pct".into(), num(vol.time_pct));
        v.insert("tolerance_pp".into(), num(cfg.volume_tolerance_pp));
        let sev = cfg.severity_of(Rule::UnitProgressLagging);
        out.push(ctx.finding(
            r,
            Rule::UnitProgressLagging,
            &vol.indicator,
            (sev, 1),
            msg,
            v,
        ));
    }
    out
}

/// 报送率低: fewer than `submission_rate_min` percent of the expected enterprises reported
/// (judged once the reporting deadline has passed).
fn low_submission_rate(ctx: &Ctx, r: &UnitResult, cfg: &RulesConfig) -> Option<Finding> {
    let min = formulas::hundredths(cfg.submission_rate_min);
    let rate = r
        .submission_rate()
        .filter(|_| formulas::submission_rate_below(r.reported, r.expected, min))?;
    let p = ctx.ds.period();
    let msg = format!(
        "{}年{}月应报规上企业{}家，已报{}家，报送率{}（低于{}%）。",
        p.year(),
        p.month(),
        r.expected,
        r.reported,
        fmt_pct(rate),
        cfg.submission_rate_min
    );
    let mut v = Map::new();
    v.insert("expected".into(), json!(r.expected));
    v.insert("reported".into(), json!(r.reported));
    v.insert("rate_pct".into(), num(rate));
    v.insert("threshold_pct".into(), num(cfg.submission_rate_min));
    let sev = cfg.severity_of(Rule::UnitLowSubmissionRate);
    Some(ctx.finding(
        r,
        Rule::UnitLowSubmissionRate,
        "submission",
        (sev, 1),
        msg,
        v,
    ))
}
