//! Enterprise rules: 停产 / 半停产 / 减产 with their streaks, 未报, 退库风险, 升规培育, and the two
//! data-quality checks (产值电量背离, 累计数不一致).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{Context, Coverage, Finding, Rule, RulesConfig, basis_points, num, wan};
use crate::analysis::rounding::{fixed, shown_difference};
use crate::analysis::{Calendar, Dataset, NONE, Series, State, WINDOW, fmt_wan, formulas};
use crate::period::Period;
use crate::registry::{Enterprise, Scale};

const P: usize = WINDOW - 1;

/// The month's name as reports print it: `10月`, or `1—2月` for a combined February.
pub fn month_label(cal: &Calendar, t: Period) -> String {
    if cal.is_combined(t) {
        "1—2月".into()
    } else {
        format!("{}月", t.month())
    }
}

struct Subject<'a> {
    e: &'a Enterprise,
    s: &'a Series,
    unit_name: &'a str,
    city: Option<&'a str>,
}

impl Subject<'_> {
    /// The units whose officials may see a finding: its own, its zone, the city. Built only
    /// for a finding (most enterprises have none, and half a million vectors cost time).
    fn scope(&self) -> Vec<String> {
        let mut scope = Vec::with_capacity(3);
        scope.push(self.e.unit_code.clone());
        scope.extend(self.e.zone_code.clone());
        scope.extend(self.city.map(String::from));
        scope
    }

    fn finding(
        &self,
        ds: &Dataset,
        rule: Rule,
        severity: super::Severity,
        consecutive: u32,
        message: String,
        mut values: Map<String, Value>,
    ) -> Finding {
        values.insert("revision".into(), json!(self.s.revision));
        Finding {
            rule,
            severity,
            subject: self.e.credit_code.to_string(),
            subject_name: self.e.name.clone(),
            indicator: "output".into(),
            unit: self.e.unit_code.clone(),
            scope: self.scope(),
            owner: self.e.owner.clone(),
            period: ds.period(),
            consecutive,
            message: format!("{}{}：{message}", self.unit_name, self.e.name),
            values,
        }
    }
}

/// Findings about enterprises.
pub fn findings(
    ds: &Dataset,
    cfg: &RulesConfig,
    ctx: &Context,
    coverage: &Coverage,
) -> Vec<Finding> {
    let cal = ds.cal;
    let p = ds.period();
    let th = cfg.state_thresholds();
    let names: HashMap<&str, &str> = ds
        .units
        .iter()
        .map(|u| (u.code.as_str(), u.name.as_str()))
        .collect();
    let city = ds.city().map(|c| ds.units[c].code.as_str());
    let mut out = Vec::new();
    for (index, (e, s)) in ds.enterprises.iter().zip(&ds.series).enumerate() {
        let subj = Subject {
            e,
            s,
            unit_name: names.get(e.unit_code.as_str()).copied().unwrap_or(""),
            city,
        };
        if e.scale == Scale::Below {
            out.extend(upgrade(ds, cfg, ctx, &subj));
            continue;
        }
        if !s.is_present(P) {
            if coverage.deadline_passed {
                out.push(missing(ds, cfg, ctx, &subj));
            }
            continue;
        }
        let standing = ds.standing(index, th);
        if let Some(state) = standing.state.filter(|st| *st != State::Normal) {
            let rule = Rule::of_state(state).unwrap_or(Rule::EnterpriseReduced);
            let streak = standing.streak;
            let v = s.month_value(&cal, P).unwrap_or(0);
            let b = s.month_base(&cal, P).unwrap_or(0);
            let ratio = v as f64 / b as f64;
            let threshold = match state {
                State::Stalled => 0.0,
                State::SemiStalled => cfg.semi_stalled_ratio,
                _ => cfg.reduced_ratio,
            };
            let label = month_label(&cal, p);
            // A month is compared with the same month a year earlier (上年同月); 1—2月 together
            // with the same months (上年同期).
            let base = if cal.is_combined(p) {
                "上年同期"
            } else {
                "上年同月"
            };
            let mut msg = format!(
                "{label}工业总产值{}万元，{base}{}万元，为上年的{}%",
                fmt_wan(v),
                fmt_wan(b),
                fixed(ratio * 100.0, 1)
            );
            if state != State::Stalled {
                msg.push_str(&format!("（低于{}%）", fixed(threshold * 100.0, 0)));
            }
            msg.push_str(&format!("，{}", state.zh()));
            if streak > 1 {
                msg.push_str(&format!("，已连续{streak}个月处于停产/半停产/减产"));
            }
            msg.push('。');
            let mut values = Map::new();
            values.insert("value".into(), wan(v));
            values.insert("base".into(), wan(b));
            values.insert("ratio".into(), num(ratio));
            values.insert("threshold".into(), num(threshold));
            values.insert("base_period".into(), json!(p.year_ago().to_string()));
            values.insert("revision_base".into(), json!(s.revision_year_ago));
            let sev = cfg.raised(rule, streak);
            out.push(subj.finding(ds, rule, sev, streak, msg, values));
        }
        out.extend(divergence(ds, cfg, &subj));
        out.extend(inconsistent(ds, cfg, &subj));
        out.extend(exit_risk(ds, cfg, ctx, &subj));
    }
    out
}

fn missing(ds: &Dataset, cfg: &RulesConfig, ctx: &Context, subj: &Subject) -> Finding {
    let cal = ds.cal;
    let mut n = 0;
    let mut ever = false;
    for i in (0..=P).rev() {
        if subj.s.is_present(i) {
            ever = true;
            break;
        }
        n += 1;
    }
    let n = if ever { n } else { 1 };
    let p = ds.period();
    let what = format!("{}年{}数据", p.year(), month_label(&cal, p));
    let (msg, values) = super::missing_report(&what, p, ctx.report_deadline_day, n);
    let sev = cfg.raised(Rule::EnterpriseMissing, n);
    subj.finding(ds, Rule::EnterpriseMissing, sev, n, msg, values)
}

fn divergence(ds: &Dataset, cfg: &RulesConfig, subj: &Subject) -> Option<Finding> {
    let cal = ds.cal;
    if cal.is_combined(ds.period()) {
        return None;
    }
    let s = subj.s;
    let v = s.month_value(&cal, P)?;
    let b = s.month_base(&cal, P).filter(|b| *b > 0)?;
    let e_base = if s.electricity_prev != NONE {
        s.electricity_prev
    } else {
        s.electricity_year_ago
    };
    let floor = (cfg.electricity_floor * 10_000.0).round() as i64;
    if s.electricity == NONE || e_base == NONE || e_base <= 0 || e_base < floor {
        return None;
    }
    let th = formulas::pp_raw(cfg.divergence_pp);
    if !formulas::diverges(v, b, s.electricity, e_base, th) {
        return None;
    }
    let og = (v as f64 / b as f64 - 1.0) * 100.0;
    let eg = (s.electricity as f64 / e_base as f64 - 1.0) * 100.0;
    let msg = format!(
        "{}产值同比{}，用电量同比{}，相差{}个百分点（阈值{}），产值与用电量背离，请核实数据。",
        month_label(&cal, ds.period()),
        crate::analysis::fmt_pct(og),
        crate::analysis::fmt_pct(eg),
        shown_difference(og, eg),
        cfg.divergence_pp
    );
    let mut values = Map::new();
    values.insert("output".into(), wan(v));
    values.insert("output_base".into(), wan(b));
    values.insert("electricity".into(), wan(s.electricity));
    values.insert("electricity_base".into(), wan(e_base));
    values.insert("output_growth_pct".into(), num(og));
    values.insert("electricity_growth_pct".into(), num(eg));
    values.insert("threshold_pp".into(), num(cfg.divergence_pp));
    let sev = cfg.severity_of(Rule::DataDivergence);
    Some(subj.finding(ds, Rule::DataDivergence, sev, 1, msg, values))
}

fn inconsistent(ds: &Dataset, cfg: &RulesConfig, subj: &Subject) -> Option<Finding> {
    let s = subj.s;
    let reported = s.output_ytd[P];
    if reported == NONE {
        return None;
    }
    let jan = P - (ds.period().month() as usize - 1);
    let mut sum = 0i64;
    for i in jan..=P {
        if !s.is_present(i) || s.output[i] == NONE {
            return None;
        }
        sum += s.output[i];
    }
    let tol = basis_points(cfg.inconsistent_pct / 100.0);
    if !formulas::ytd_inconsistent(reported, sum, tol) {
        return None;
    }
    let diff = (reported as i128 - sum as i128).abs();
    let pct = diff as f64 / sum as f64 * 100.0;
    let msg = format!(
        "报送的{}累计产值{}万元，与各月合计{}万元相差{}%（阈值{}%），请核实。",
        ds.period().ytd_label(),
        fmt_wan(reported),
        fmt_wan(sum),
        fixed(pct, 2),
        cfg.inconsistent_pct
    );
    let mut values = Map::new();
    values.insert("reported_ytd".into(), wan(reported));
    values.insert("sum_of_months".into(), wan(sum));
    values.insert("difference_pct".into(), num(pct));
    values.insert("threshold_pct".into(), num(cfg.inconsistent_pct));
    let sev = cfg.severity_of(Rule::DataInconsistent);
    Some(subj.finding(ds, Rule::DataInconsistent, sev, 1, msg, values))
}

/// Annualised ytd revenue `revenue × 12 / month`, exact as a fraction.
fn annualised(s: &Series, month: u32) -> Option<(i128, i128)> {
    (s.revenue_ytd != NONE).then_some((s.revenue_ytd as i128 * 12, month as i128))
}

fn exit_risk(ds: &Dataset, cfg: &RulesConfig, ctx: &Context, subj: &Subject) -> Option<Finding> {
    let m = ds.period().month();
    let (num12, den) = annualised(subj.s, m)?;
    let margin = basis_points(cfg.exit_risk_margin);
    if !formulas::exit_risk(subj.s.revenue_ytd, m, ctx.above_scale_threshold, margin) {
        return None;
    }
    let year = (num12 / den) as i64;
    let msg = format!(
        "{}营业收入{}万元，折全年{}万元，低于规上标准{}万元的{}%，有退库风险。",
        ds.period().ytd_label(),
        fmt_wan(subj.s.revenue_ytd),
        fmt_wan(year),
        fmt_wan(ctx.above_scale_threshold),
        fixed(cfg.exit_risk_margin * 100.0, 0)
    );
    let mut values = Map::new();
    values.insert("revenue_ytd".into(), wan(subj.s.revenue_ytd));
    values.insert("annualised".into(), wan(year));
    values.insert("threshold".into(), wan(ctx.above_scale_threshold));
    values.insert("margin".into(), num(cfg.exit_risk_margin));
    let sev = cfg.severity_of(Rule::EnterpriseExitRisk);
    Some(subj.finding(ds, Rule::EnterpriseExitRisk, sev, 1, msg, values))
}

fn upgrade(ds: &Dataset, cfg: &RulesConfig, ctx: &Context, subj: &Subject) -> Option<Finding> {
    if !subj.s.is_present(P) {
        return None;
    }
    let m = ds.period().month();
    let (num12, den) = annualised(subj.s, m)?;
    if !formulas::reaches_above_scale(subj.s.revenue_ytd, m, ctx.above_scale_threshold) {
        return None;
    }
    let year = (num12 / den) as i64;
    let msg = format!(
        "（规下）{}营业收入{}万元，折全年{}万元，已达规上标准{}万元，可列入升规培育。",
        ds.period().ytd_label(),
        fmt_wan(subj.s.revenue_ytd),
        fmt_wan(year),
        fmt_wan(ctx.above_scale_threshold)
    );
    let mut values = Map::new();
    values.insert("revenue_ytd".into(), wan(subj.s.revenue_ytd));
    values.insert("annualised".into(), wan(year));
    values.insert("threshold".into(), wan(ctx.above_scale_threshold));
    let sev = cfg.severity_of(Rule::EnterpriseUpgradeCandidate);
    Some(subj.finding(ds, Rule::EnterpriseUpgradeCandidate, sev, 1, msg, values))
}
