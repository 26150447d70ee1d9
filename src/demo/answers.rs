//! The demo's answer loop: after the digests are delivered, a few district officials answer
//! their cases (planted answers: causes, measures, the month of resumption, one problem for the
//! city), one answer is approved (销号), and one case is made overdue past its 督办 time — as if
//! it had been assigned two weeks earlier — so that the reminder and the 督办 mail, the console
//! and the snapshot's 反馈办理情况 all have something to show.

use chrono::{DateTime, Duration, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;

use crate::cases::{AnswerInput, Case, Desk, Who};
use crate::config::Config;
use crate::store::Store;
use crate::store::cases::CaseQuery;

/// What was planted.
#[derive(Clone, Debug, Default)]
pub struct Planted {
    /// Cases answered.
    pub answered: Vec<i64>,
    /// Of them, approved by the city (销号).
    pub closed: Vec<i64>,
    /// The case left overdue past its 督办 time.
    pub overdue: Option<i64>,
}

/// The answers given: cause, 情况说明, 帮扶措施, month of resumption, 需市级协调.
const ANSWERS: [(&str, &str, &str, &str, &str); 4] = [
    (
        "订单不足/市场需求",
        "主要客户订单减少约四成，两条生产线轮休。",
        "走访企业，对接市外采购商两家，组织参加秋季展会。",
        "2026-12",
        "",
    ),
    (
        "资金紧张",
        "流动资金紧张，原材料采购延迟，10月以来停产。",
        "协调合作银行办理续贷，申请工业企业纾困资金。",
        "2026-12",
        "协调银行续贷3000万元，需市级金融部门支持",
    ),
    (
        "设备检修或技改",
        "主生产线技改，新设备安装调试中。",
        "协助办理技改项目备案，争取技改补助。",
        "2027-01",
        "",
    ),
    (
        "原材料或能源供应",
        "天然气供应紧张，限量生产。",
        "协调燃气公司保障供气，错峰生产。",
        "2026-12",
        "",
    ),
];

/// Enterprise cases (stall, semi-stall, reduction) with an owner, in id order.
fn enterprise_cases(list: Vec<Case>) -> Vec<Case> {
    let mut v: Vec<Case> = list
        .into_iter()
        .filter(|c| c.owner.is_some() && c.rule.starts_with("enterprise_"))
        .filter(|c| c.rule != "enterprise_missing")
        .collect();
    v.sort_by_key(|c| c.id);
    v
}

/// Backdates the deadlines of one case so that it is past its 督办 time, then plants the answers
/// at `at` (after the digests were delivered at `delivered`) and approves the first.
pub async fn plant(
    store: &Store,
    config: &Config,
    delivered: DateTime<Utc>,
    at: DateTime<Utc>,
) -> anyhow::Result<Planted> {
    let desk = Desk::new(store.clone(), config)?;
    // Read before any desk call dates the cases, so that one can be dated earlier.
    let cases = enterprise_cases(store.cases(&CaseQuery::default()).await?);
    let mut planted = Planted::default();
    if let Some(c) = cases.get(ANSWERS.len()) {
        // As if delivered on Friday 6 November: due 5 working days later (13 November, 18:00),
        // 督办 3 more (18 November, 18:00).
        let day = |d: u32| {
            Shanghai
                .with_ymd_and_hms(2026, 11, d, 18, 0, 0)
                .single()
                .map(|t| t.with_timezone(&Utc))
        };
        let due = day(13).unwrap_or(delivered - Duration::days(7));
        let escalate = day(18).unwrap_or(delivered - Duration::days(2));
        store
            .set_case_due(
                c.id,
                due.timestamp_millis(),
                escalate.timestamp_millis(),
                delivered.timestamp_millis(),
            )
            .await?;
        planted.overdue = Some(c.id);
    }
    crate::cases::settle_due(store, desk.calendar(), delivered).await?;
    let city = Who::recipient("city", None);
    for (c, (cause, situation, measures, month, coordination)) in cases.iter().zip(ANSWERS) {
        let Some(owner) = &c.owner else { continue };
        let input = AnswerInput {
            cause: cause.into(),
            situation: situation.into(),
            measures: measures.into(),
            resume_month: Some(month.into()),
            coordination: coordination.into(),
            expected_version: Some(c.version),
            via: "console".into(),
        };
        let who = Who::recipient(owner, Some("127.0.0.1"));
        desk.answer(&who, c.id, &input, at).await?;
        planted.answered.push(c.id);
    }
    if let (Some(&first), Some(owner)) = (
        planted.answered.first(),
        cases.first().and_then(|c| c.owner.as_deref()),
    ) {
        let who = Who::recipient(owner, Some("127.0.0.1"));
        desk.request_close(&who, first, "企业已恢复正常生产，申请销号", at)
            .await?;
        desk.approve_close(&city, first, "同意销号", at).await?;
        planted.closed.push(first);
    }
    Ok(planted)
}
