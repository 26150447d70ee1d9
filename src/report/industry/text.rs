//! The three sections in the bureau's words ("1—10月，全市规上工业涉及24个行业大类，其中15个行业
//! 产值同比增长，增长面为62.5%…"). Percentages go through [`fmt_pct`], so they round as every
//! other figure of the report does.

use super::{EfficiencyRow, IndustryRow, IndustrySection, InvestmentRow, UNCLASSIFIED};
use crate::analysis::{fmt_pct, fmt_wan};
use crate::period::Period;

/// "增长5.8%", "下降3.2%", "持平" (when it shows as 0.0).
fn change(g: f64) -> String {
    let shown = fmt_pct(g.abs());
    if shown == fmt_pct(0.0) {
        "持平".into()
    } else if g > 0.0 {
        format!("增长{shown}")
    } else {
        format!("下降{shown}")
    }
}

/// Percentage points without the sign, one decimal: "1.2".
fn pp(v: f64) -> String {
    fmt_pct(v.abs()).trim_end_matches('%').to_string()
}

/// 万元 as printed: "12,345.7".
fn wan(v: f64) -> String {
    fmt_wan((v * 10_000.0).round() as i64)
}

fn growth_of(r: &IndustryRow) -> String {
    r.growth_pct.map_or_else(|| "无上年同期数".into(), change)
}

/// The 分行业 paragraph.
pub fn industries(s: &IndustrySection, label: &str) -> String {
    if s.divisions.is_empty() {
        return String::new();
    }
    let mut t = format!(
        "{label}，全市规上工业涉及{}个行业大类，其中{}个行业产值同比增长",
        s.divisions.len(),
        s.growing
    );
    if let Some(share) = s.growing_share_pct {
        t.push_str(&format!("，增长面为{}", fmt_pct(share)));
        if s.with_base as usize != s.divisions.len() {
            t.push_str(&format!("（按有上年同期数的{}个行业计）", s.with_base));
        }
    }
    t.push('。');
    if let Some(share) = s.leading_share_pct {
        t.push_str(&format!(
            "产值居前{}位的行业（{}）合计占全市规上工业总产值的{}",
            s.leading.len(),
            s.leading.join("、"),
            fmt_pct(share)
        ));
        if let Some(g) = s.leading_growth_pct {
            t.push_str(&format!("，同比{}", change(g)));
        }
        t.push('。');
    }
    // A pull that shows as 0.0 says nothing in a sentence; the table has it to two decimals.
    let listed = |rows: &[IndustryRow], verb: &str| {
        rows.iter()
            .filter(|r| pp(r.pull_pp.unwrap_or(0.0)) != pp(0.0))
            .map(|r| {
                format!(
                    "{}（{}，{verb}{}个百分点）",
                    r.name,
                    growth_of(r),
                    pp(r.pull_pp.unwrap_or(0.0))
                )
            })
            .collect::<Vec<_>>()
            .join("、")
    };
    let pulling = listed(&s.pulling, "拉动");
    if !pulling.is_empty() {
        t.push_str(&format!("拉动全市增长较多的行业：{pulling}。"));
    }
    let dragging = listed(&s.dragging, "下拉");
    if !dragging.is_empty() {
        t.push_str(&format!("下拉全市增长较多的行业：{dragging}。"));
    }
    let groups: Vec<String> = s
        .groups
        .iter()
        .filter(|g| g.enterprises > 0)
        .map(|g| {
            let mut x = format!("{}产值{}", g.name, growth_of(g));
            if let Some(share) = g.share_pct {
                x.push_str(&format!("，占全市的{}", fmt_pct(share)));
            }
            x
        })
        .collect();
    if !groups.is_empty() {
        t.push_str(&groups.join("；"));
        t.push('。');
    }
    if let Some(u) = &s.unclassified {
        t.push_str(&format!(
            "另有{}家企业{}，产值{}万元，未计入分行业统计。",
            u.enterprises,
            UNCLASSIFIED,
            wan(u.ytd_wan)
        ));
    }
    t
}

/// The 效益 paragraph of the city. In a combined February the month's output is 1—2月 while the
/// electricity read is February's alone, so the two are not set side by side.
pub fn efficiency(c: &EfficiencyRow, p: Period, combined: bool, label: &str) -> String {
    let g = |v: Option<f64>| v.map_or_else(|| "无上年同期数".into(), change);
    let mut t = format!(
        "{label}，全市规上工业企业实现营业收入{}万元，同比{}；",
        wan(c.revenue_wan),
        g(c.revenue_growth_pct)
    );
    if c.profit_wan < 0.0 {
        t.push_str(&format!("亏损{}万元", wan(-c.profit_wan)));
    } else {
        t.push_str(&format!("实现利润总额{}万元", wan(c.profit_wan)));
    }
    match c.profit_growth_pct {
        Some(x) => t.push_str(&format!("，同比{}", change(x))),
        None if c.profit_prev_wan <= 0.0 => t.push_str("（上年同期为亏损，不计增速）"),
        None => {}
    }
    match c.loss_share_pct {
        Some(_) if c.loss_making == 0 => t.push_str("；无亏损企业"),
        Some(share) => t.push_str(&format!(
            "；亏损企业{}家，亏损面{}",
            c.loss_making,
            fmt_pct(share)
        )),
        None => {}
    }
    t.push('。');
    if let Some(r) = c.sales_ratio_pct {
        t.push_str(&format!("产品销售率（产销率）{}", fmt_pct(r)));
        if let Some(prev) = c.sales_ratio_prev_pct {
            let d = r - prev;
            let dir = if d >= 0.0 { "提高" } else { "下降" };
            t.push_str(&format!("，比上年同期{dir}{}个百分点", pp(d)));
        }
        t.push('。');
    }
    if c.export_wan > 0.0 {
        t.push_str(&format!(
            "出口交货值{}万元，同比{}。",
            wan(c.export_wan),
            g(c.export_growth_pct)
        ));
    }
    if let Some(e) = c.electricity_growth_pct {
        t.push_str(&format!(
            "{}月全市规上工业用电量{}万千瓦时，同比{}",
            p.month(),
            wan(c.electricity),
            change(e)
        ));
        if let Some(o) = c.output_month_growth_pct.filter(|_| !combined) {
            t.push_str(&format!("；同期产值{}", change(o)));
        }
        t.push('。');
    }
    t
}

/// The 工业投资 paragraph: the city, then the units behind time progress.
pub fn investment(rows: &[InvestmentRow], label: &str) -> String {
    let mut t = String::new();
    if let Some(c) = rows.iter().find(|r| r.kind == "city")
        && let Some(ytd) = c.ytd_wan
    {
        t.push_str(&format!("{label}，全市完成工业投资{}万元", wan(ytd)));
        if let Some(g) = c.growth_pct {
            t.push_str(&format!("，同比{}", change(g)));
        }
        if let (Some(target), Some(done), Some(gap)) = (c.target_wan, c.completion_pct, c.gap_pp) {
            let dir = if gap >= 0.0 { "快于" } else { "慢于" };
            t.push_str(&format!(
                "，完成年度目标{}万元的{}，{dir}时间进度{}个百分点",
                wan(target),
                fmt_pct(done),
                pp(gap)
            ));
        }
        t.push('。');
    }
    let behind: Vec<String> = rows
        .iter()
        .filter(|r| r.kind != "city" && r.lagging)
        .map(|r| match r.completion_pct {
            Some(c) => format!("{}（完成{}）", r.name, fmt_pct(c)),
            None => r.name.clone(),
        })
        .collect();
    if !behind.is_empty() {
        t.push_str(&format!(
            "投资进度滞后于时间进度的单位：{}。",
            behind.join("、")
        ));
    }
    t
}
