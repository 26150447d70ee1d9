//! 九、按旬监测, the snapshot's section on the 旬 work: each unit's electricity growth in the
//! latest 旬 released before the snapshot's moment, and the 旬 warnings issued since the last
//! snapshot with what the month's statistics later showed (`power::confirm`). Pure: the store
//! reads and the 旬's dry-run evaluation are done by `report::build_since_at`.

use std::collections::HashMap;

use serde::Serialize;

use crate::analysis::fmt_pct;
use crate::power::Xun;
use crate::power::confirm::IssuedWarning;
use crate::registry::{Unit, UnitKind};
use crate::rules::power::UnitXun;

/// One unit's electricity growth in the 旬.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct XunUnitRow {
    pub code: String,
    pub name: String,
    /// Enterprises judged on both this 旬 and the same 旬 last year.
    pub enterprises: u32,
    /// 上年同旬 = 100, percent.
    pub growth_pct: Option<f64>,
}

/// A 旬 warning as stored, with its enterprise's and unit's names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct XunWarningRow {
    pub xun: String,
    /// `10月上旬`.
    pub xun_zh: String,
    pub credit_code: String,
    pub subject_name: String,
    pub unit: String,
    /// 疑似停产 or 用电大幅下降.
    pub rule_zh: String,
    /// `confirmed`, `cleared`, `unreported`, or empty while the month is not yet in.
    pub outcome: String,
    /// 月度数据证实（停产）, 月度数据未证实, 当月未报 or 待月度数据.
    pub outcome_zh: String,
}

/// The section, serialised as `xun` in `snapshot.json`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct XunWatch {
    /// The latest 旬 released before the snapshot's moment (`2026-10-D3`), if any.
    pub xun: Option<String>,
    pub xun_zh: String,
    /// The city first, then its districts in code order.
    pub units: Vec<XunUnitRow>,
    /// The zones (园区) in code order, ranked among themselves (the workbook lists them).
    pub zones: Vec<XunUnitRow>,
    /// Warnings issued since the last snapshot, in 旬 then unit order.
    pub warnings: Vec<XunWarningRow>,
    pub confirmed: usize,
    pub cleared: usize,
    pub unreported: usize,
    pub pending: usize,
    /// The section's text.
    pub paragraphs: Vec<String>,
}

/// A warning's outcome in Chinese, from its stored code and confirming rule.
pub fn outcome_zh(outcome: Option<&str>, monthly_rule: Option<&str>) -> String {
    match (outcome, monthly_rule) {
        (Some("confirmed"), Some(r)) => format!("月度数据证实（{}）", crate::rules::rule_zh(r)),
        (Some("confirmed"), None) => "月度数据证实".into(),
        (Some("cleared"), _) => "月度数据未证实".into(),
        (Some("unreported"), _) => "当月未报".into(),
        _ => "待月度数据".into(),
    }
}

impl From<IssuedWarning> for XunWarningRow {
    fn from(w: IssuedWarning) -> XunWarningRow {
        XunWarningRow {
            xun_zh: w
                .xun
                .parse::<Xun>()
                .map(Xun::label)
                .unwrap_or_else(|_| w.xun.clone()),
            xun: w.xun,
            subject_name: w.name.unwrap_or_else(|| w.credit_code.clone()),
            credit_code: w.credit_code,
            unit: w.unit_name.unwrap_or_default(),
            rule_zh: crate::rules::rule_zh(&w.rule).to_string(),
            outcome_zh: outcome_zh(w.outcome.as_deref(), w.monthly_rule.as_deref()),
            outcome: w.outcome.unwrap_or_default(),
        }
    }
}

/// Builds the section from the latest released 旬 and its units' growth (city first), and the
/// warnings issued since the last snapshot.
pub fn build(
    latest: Option<(Xun, Vec<UnitXun>)>,
    registry: &[Unit],
    warnings: Vec<IssuedWarning>,
) -> XunWatch {
    let warnings: Vec<XunWarningRow> = warnings.into_iter().map(XunWarningRow::from).collect();
    let mut w = XunWatch::default();
    if let Some((xun, mut units)) = latest {
        w.xun = Some(xun.to_string());
        w.xun_zh = xun.label();
        let kinds: HashMap<&str, (&Unit, u8)> = registry
            .iter()
            .map(|u| (u.code.as_str(), (u, u.kind as u8)))
            .collect();
        units.sort_by_key(|u| (kinds.get(u.code.as_str()).map(|k| k.1), u.code.clone()));
        for u in units {
            let Some((unit, _)) = kinds.get(u.code.as_str()) else {
                continue;
            };
            let row = XunUnitRow {
                name: unit.name.clone(),
                code: u.code,
                enterprises: u.enterprises,
                growth_pct: u.growth_pct,
            };
            match unit.kind {
                UnitKind::Zone => w.zones.push(row),
                UnitKind::City | UnitKind::District => w.units.push(row),
            }
        }
    }
    for r in &warnings {
        match r.outcome.as_str() {
            "confirmed" => w.confirmed += 1,
            "cleared" => w.cleared += 1,
            "unreported" => w.unreported += 1,
            _ => w.pending += 1,
        }
    }
    w.warnings = warnings;
    w.paragraphs = paragraphs(&w);
    w
}

/// The text: the 旬's growth for the city and the fastest and slowest districts, then the
/// warnings and what the months showed.
fn paragraphs(w: &XunWatch) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(city) = w.units.first().filter(|_| w.xun.is_some()) {
        let mut s = format!(
            "{}，全市{}户可比企业日均用电量同比{}",
            w.xun_zh,
            city.enterprises,
            city.growth_pct
                .map_or("无可比数据".to_string(), |g| if g < 0.0 {
                    format!("下降{}", fmt_pct(-g))
                } else {
                    format!("增长{}", fmt_pct(g))
                })
        );
        let mut ranked: Vec<&XunUnitRow> = w.units[1..]
            .iter()
            .filter(|u| u.growth_pct.is_some())
            .collect();
        ranked.sort_by(|a, b| {
            b.growth_pct
                .partial_cmp(&a.growth_pct)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if let (true, Some(hi), Some(lo)) = (ranked.len() > 1, ranked.first(), ranked.last()) {
            s.push_str(&format!(
                "；{}最高（{}），{}最低（{}）",
                hi.name,
                fmt_pct(hi.growth_pct.unwrap_or_default()),
                lo.name,
                fmt_pct(lo.growth_pct.unwrap_or_default())
            ));
        }
        s.push('。');
        out.push(s);
    }
    if w.warnings.is_empty() {
        out.push("本期未发出旬预警。".into());
        return out;
    }
    let stalled = w
        .warnings
        .iter()
        .filter(|r| r.rule_zh == "疑似停产")
        .count();
    out.push(format!(
        "本期发出旬预警{}条（疑似停产{}条、用电大幅下降{}条），其中经月度统计数据证实{}条、未证实{}条、当月未报{}条，{}条尚待当月数据。",
        w.warnings.len(),
        stalled,
        w.warnings.len() - stalled,
        w.confirmed,
        w.cleared,
        w.unreported,
        w.pending
    ));
    out
}

/// The header of the workbook's sheet.
pub const SHEET_HEAD: [&str; 6] = ["旬", "县区", "企业", "预警", "月度核实", "用电增速(%)"];

/// 旬监测: the units' growth in the latest 旬, then every warning since the last snapshot.
pub fn sheet_rows(w: &XunWatch) -> Vec<Vec<crate::report::sheet::Cell>> {
    use crate::export::neutralise;
    use crate::report::sheet::{Cell, PCT1, num, text};
    let mut rows: Vec<Vec<Cell>> = w
        .units
        .iter()
        .chain(&w.zones)
        .map(|u| {
            vec![
                text(&w.xun_zh),
                text(&u.name),
                text(format!("可比企业{}户", u.enterprises)),
                text("旬用电增速"),
                Cell::Empty,
                num(u.growth_pct, PCT1),
            ]
        })
        .collect();
    rows.extend(w.warnings.iter().map(|r| {
        vec![
            text(&r.xun_zh),
            text(&r.unit),
            text(neutralise(&r.subject_name)),
            text(&r.rule_zh),
            text(&r.outcome_zh),
            Cell::Empty,
        ]
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(code: &str, n: u32, g: Option<f64>) -> UnitXun {
        UnitXun {
            code: code.into(),
            enterprises: n,
            daily_kwh: 0.0,
            daily_kwh_prev: 0.0,
            growth_pct: g,
        }
    }

    fn warning(rule: &str, outcome: &str) -> IssuedWarning {
        IssuedWarning {
            xun: "2026-10-D1".into(),
            credit_code: "913307811860913921".into(),
            name: None,
            unit_name: None,
            rule: rule.into(),
            outcome: (!outcome.is_empty()).then(|| outcome.into()),
            monthly_rule: None,
            issued_at: 0,
        }
    }

    #[test]
    fn the_city_leads_and_the_text_counts_what_the_months_showed() {
        let registry = [
            ("ZK01", "开发区", UnitKind::Zone),
            ("330782", "西湖县", UnitKind::District),
            ("3307", "全市", UnitKind::City),
            ("330781", "东城区", UnitKind::District),
        ]
        .map(|(code, name, kind)| Unit {
            code: code.into(),
            name: name.into(),
            kind,
            parent: None,
        });
        let units = vec![
            unit("330782", 40, Some(-3.25)),
            unit("ZK01", 10, Some(9.0)),
            unit("3307", 100, Some(2.0)),
            unit("330781", 60, Some(5.5)),
        ];
        let warnings = vec![
            warning("enterprise_power_stalled", "confirmed"),
            warning("enterprise_power_stalled", "cleared"),
            warning("enterprise_power_drop", ""),
        ];
        let xun: Xun = "2026-10-D3".parse().unwrap();
        let w = build(Some((xun, units)), &registry, warnings);
        let codes: Vec<&str> = w.units.iter().map(|u| u.code.as_str()).collect();
        assert_eq!(codes, ["3307", "330781", "330782"]);
        assert_eq!(
            w.zones[0].code, "ZK01",
            "a zone is not ranked with the districts"
        );
        assert_eq!(
            (w.confirmed, w.cleared, w.unreported, w.pending),
            (1, 1, 0, 1)
        );
        assert_eq!(
            w.paragraphs,
            [
                "10月下旬，全市100户可比企业日均用电量同比增长2.0%；东城区最高（5.5%），西湖县最低（−3.3%）。",
                "本期发出旬预警3条（疑似停产2条、用电大幅下降1条），其中经月度统计数据证实1条、未证实1条、当月未报0条，1条尚待当月数据。",
            ]
        );
        assert_eq!(
            outcome_zh(Some("confirmed"), Some("enterprise_stalled")),
            "月度数据证实（停产）"
        );
        assert_eq!(outcome_zh(None, None), "待月度数据");
    }
}
