//! What a dispatch reads of the answer loop for its digests: the console's address, the case
//! of each alert, the units' standing in the digest's period, the calendar's reach, and each
//! reader's overdue cases. A part that cannot be read is left out with a warning: the digests
//! still go, without the links or the sentence that part would have given.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Utc};

use super::RecipientConfig;
use super::plan::Item;
use super::summary::{self, Summary, UnitFigure};
use crate::cases::{Desk, ListFilter, Who};
use crate::causes::Causes;
use crate::config::Config;
use crate::period::Period;
use crate::store::Store;

/// How many of a reader's overdue cases are read for the summary (it names five, counts all).
const OVERDUE_READ: u64 = 200;

/// The loop's data for one dispatch.
#[derive(Default)]
pub struct Casework {
    pub console: Option<String>,
    pub cases: HashMap<i64, i64>,
    pub figures: Vec<UnitFigure>,
    pub calendar_note: Option<String>,
    desk: Option<Desk>,
}

fn warn<T: Default>(what: &str, r: anyhow::Result<T>) -> T {
    r.unwrap_or_else(|e| {
        tracing::warn!(error = %Causes(&e), part = what,
            "摘要缺少此项，预警邮件照常发送 (a part of the digest summary could not be read; digests go without it)");
        T::default()
    })
}

/// Reads the loop's data for digests about `period` (none: no summary figures).
pub async fn read(
    store: &Store,
    config: &Config,
    period: Option<Period>,
    now: DateTime<Utc>,
) -> Casework {
    let console = config.console.as_ref().map(|c| c.base_url());
    let cases = warn("cases", store.newest_case_ids().await);
    let figures = match period {
        Some(p) => warn("figures", figures(store, config, p).await),
        None => Vec::new(),
    };
    let desk = warn(
        "desk",
        Desk::new(store.clone(), config)
            .map(Some)
            .map_err(anyhow::Error::from),
    );
    let calendar_note = desk
        .as_ref()
        .and_then(|d| calendar_note(d.calendar(), &config.cases, now));
    Casework {
        console,
        cases,
        figures,
        calendar_note,
        desk,
    }
}

/// Every unit's growth, gap and rank in `period`, as the evaluation computes them.
async fn figures(
    store: &Store,
    config: &Config,
    period: Period,
) -> anyhow::Result<Vec<UnitFigure>> {
    let ds = store
        .load_dataset(
            period,
            config.general.jan_feb_combined,
            config.rules.state_thresholds(),
        )
        .await?;
    let units = crate::analysis::evaluate_units(&ds);
    Ok(summary::figures(&units, &period.ytd_label()))
}

/// A note when the calendar does not reach the 督办 time of a case assigned at `now` under the
/// longest deadlines configured; none while it does.
pub fn calendar_note(
    calendar: &crate::calendar::Calendar,
    cases: &crate::cases::CasesConfig,
    now: DateTime<Utc>,
) -> Option<String> {
    let rules = cases.case_rules();
    let answer = rules
        .iter()
        .map(|(_, p)| p.answer_days)
        .max()
        .unwrap_or(cases.answer_days);
    let escalate = rules
        .iter()
        .map(|(_, p)| p.escalate_days)
        .max()
        .unwrap_or(cases.escalate_days);
    let reach = calendar
        .due_at(now, answer)
        .and_then(|due| calendar.due_at(due, escalate));
    let through = calendar.covered_through();
    let next = through.year() + 1;
    reach.is_err().then(|| {
        format!(
            "注：工作日历只覆盖到{}，今日交办事项的反馈或督办期限已超出日历，期限待补充{next}年放假安排后确定 (the working-day calendar ends on {through}, within the deadlines of a case assigned today: the operator adds {next} with [calendar] extra)",
            through.format("%Y年%-m月%-d日"),
        )
    })
}

impl Casework {
    /// The summary a reader's digest opens with.
    pub async fn summary_for(
        &self,
        r: &RecipientConfig,
        items: &[Item],
        now: DateTime<Utc>,
    ) -> Summary {
        let page = match &self.desk {
            Some(d) => {
                let filter = ListFilter {
                    open: true,
                    overdue: true,
                    page: Some((0, OVERDUE_READ)),
                    ..ListFilter::default()
                };
                let who = Who::recipient(&r.id, None);
                warn(
                    "overdue",
                    d.page(&who, &filter, now)
                        .await
                        .map_err(anyhow::Error::from),
                )
            }
            None => crate::cases::Page::default(),
        };
        summary::build(
            r,
            &summary::Input {
                figures: &self.figures,
                items,
                overdue: &page.cases,
                overdue_total: page.total,
                calendar_note: self.calendar_note.as_deref(),
                console: self.console.as_deref(),
                now_ms: now.timestamp_millis(),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use chrono_tz::Asia::Shanghai;

    use super::*;
    use crate::calendar::Calendar;
    use crate::cases::CasesConfig;

    /// The shipped calendar ends with 2026. Friday 18 December + 5 working days is Friday 25
    /// December, + 3 is Wednesday 30 December: covered. Thursday 24 December + 5 is Thursday 31
    /// December, + 3 falls in 2027: the note.
    #[test]
    fn the_note_appears_when_the_calendar_ends_within_the_deadlines() {
        let cal = Calendar::official().unwrap();
        let cases = CasesConfig::default();
        let at = |d: u32| {
            Shanghai
                .with_ymd_and_hms(2026, 12, d, 10, 0, 0)
                .unwrap()
                .with_timezone(&Utc)
        };
        assert_eq!(calendar_note(&cal, &cases, at(18)), None);
        let note = calendar_note(&cal, &cases, at(24)).expect("note");
        assert!(
            note.starts_with("注：工作日历只覆盖到2026年12月31日") && note.contains("2027年"),
            "{note}"
        );
    }
}
