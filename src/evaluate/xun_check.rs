//! A 旬 warning and the monthly finding that later confirms or clears it. Each 旬 evaluation
//! records its 疑似停产 and 用电大幅下降 warnings (`xun_warning`); each evaluation of a month
//! decides, for the warnings of that month's 旬s, what the statistics showed
//! (`power::confirm`). A later evaluation of the month (a revision) decides again.

use crate::period::Period;
use crate::power::confirm::outcomes;
use crate::rules::Finding;
use crate::store::Store;

pub use crate::power::confirm::is_checked;

/// Decides the outcome of every 旬 warning of `period` from the month's findings.
pub async fn check_month(
    store: &Store,
    period: Period,
    findings: &[Finding],
    absent: impl Fn(&str) -> bool,
    now_ms: i64,
) -> anyhow::Result<usize> {
    let warned = store.xun_warnings_of(period).await?;
    if warned.is_empty() {
        return Ok(0);
    }
    let of = outcomes(findings, absent);
    let decided: Vec<_> = warned
        .into_iter()
        .map(|(xun, code, rule)| {
            let o = of(&code);
            (xun, code, rule, o)
        })
        .collect();
    store.set_xun_outcomes(&decided, now_ms).await?;
    Ok(decided.len())
}
