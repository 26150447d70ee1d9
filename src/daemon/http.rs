//! What an operator's monitoring sees: `/healthz` (the process answers), `/readyz` (database
//! reachable, no job whose last run failed; its body also tells undelivered mail, which does
//! not make the daemon unready — the console behind a proxy must stay up while SMTP is down —
//! and how far the working-day calendar reaches)
//! and `/metrics` (Prometheus text format).
//!
//! The metrics are rendered here from the job ledger and a few counts, not kept in process
//! memory: they survive restarts, every replica shows the same history, and no exporter crate
//! is needed. The text format is simple enough to write by hand (HELP, TYPE, samples).

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use super::runner::Ctx;

/// The router of the daemon's HTTP endpoints.
pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(ctx)
}

async fn db_reachable(ctx: &Ctx) -> bool {
    match ctx.store.get() {
        Some(s) => matches!(
            tokio::time::timeout(Duration::from_secs(3), s.ping()).await,
            Ok(Ok(()))
        ),
        None => false,
    }
}

async fn readyz(State(ctx): State<Arc<Ctx>>) -> impl IntoResponse {
    let database = db_reachable(&ctx).await;
    let mut failing = Vec::new();
    if database
        && let Some(Ok(stats)) = match ctx.store.get() {
            Some(s) => Some(s.job_stats().await),
            None => None,
        }
    {
        for spec in &ctx.specs {
            let name = spec.kind.name();
            if stats.get(&name).and_then(|s| s.last_status.as_deref()) == Some("failed") {
                failing.push(name);
            }
        }
    }
    let ready = database && failing.is_empty();
    let mail = match ctx.store.get().filter(|_| database) {
        Some(s) => s.undelivered().await.ok().map(|u| mail_detail(&u)),
        None => None,
    };
    let robots = match ctx.store.get().filter(|_| database) {
        Some(s) if !ctx.config.robots.is_empty() => s.robot_undelivered().await.ok(),
        _ => None,
    };
    let body = json!({
        "ready": ready,
        "database": database,
        "leader": *ctx.leader.borrow(),
        "failing_jobs": failing,
        "mail": mail,
        "robots": robots,
        "calendar": calendar_detail(&ctx),
    });
    let code = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body))
}

/// The calendar part of the health detail: how far the working-day calendar reaches, and a
/// note when that is less than 60 days ahead (deadlines past it cannot be computed).
fn calendar_detail(ctx: &Ctx) -> serde_json::Value {
    match ctx.config.calendar.load() {
        Ok(cal) => {
            let today = ctx
                .clock
                .now()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive();
            json!({
                "covered_through": cal.covered_through().to_string(),
                "note": cal.coverage_note(today),
            })
        }
        Err(problems) => json!({
            "error": problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; "),
        }),
    }
}

/// The mail part of the health detail: what is not delivered, since when, and why.
fn mail_detail(u: &crate::notify::Undelivered) -> serde_json::Value {
    let oldest = u
        .oldest_created_at
        .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis)
        .map(|t| t.to_rfc3339());
    json!({
        "undelivered": u.queued + u.failed,
        "queued": u.queued,
        "failed": u.failed,
        "oldest_undelivered_at": oldest,
        "last_error": u.last_error,
    })
}

async fn metrics(State(ctx): State<Arc<Ctx>>) -> impl IntoResponse {
    let text = render(&ctx).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

/// Escapes a label value for the text format.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The whole `/metrics` page.
pub async fn render(ctx: &Ctx) -> String {
    let mut out = String::new();
    let database = db_reachable(ctx).await;
    family(
        &mut out,
        "indmon_database_up",
        "gauge",
        "1 if the database answered a ping.",
    );
    let _ = writeln!(out, "indmon_database_up {}", u8::from(database));
    family(
        &mut out,
        "indmon_leader",
        "gauge",
        "1 if this process holds the leader lock and runs jobs.",
    );
    let _ = writeln!(out, "indmon_leader {}", u8::from(*ctx.leader.borrow()));
    let Some(store) = ctx.store.get().filter(|_| database) else {
        return out;
    };
    if let Ok(stats) = store.job_stats().await {
        family(
            &mut out,
            "indmon_job_runs_total",
            "counter",
            "Job runs recorded in the ledger, by job and status.",
        );
        for (job, s) in &stats {
            for (status, n) in &s.runs {
                let _ = writeln!(
                    out,
                    "indmon_job_runs_total{{job=\"{}\",status=\"{}\"}} {n}",
                    label(job),
                    label(status)
                );
            }
        }
        family(
            &mut out,
            "indmon_job_duration_seconds",
            "summary",
            "Duration of finished job runs.",
        );
        for (job, s) in &stats {
            let j = label(job);
            let _ = writeln!(
                out,
                "indmon_job_duration_seconds_sum{{job=\"{j}\"}} {}",
                s.duration_ms_sum as f64 / 1000.0
            );
            let _ = writeln!(
                out,
                "indmon_job_duration_seconds_count{{job=\"{j}\"}} {}",
                s.duration_count
            );
        }
        family(
            &mut out,
            "indmon_job_last_success_timestamp_seconds",
            "gauge",
            "When each job last finished successfully (Unix time).",
        );
        for (job, s) in &stats {
            if let Some(ms) = s.last_success_ms {
                let _ = writeln!(
                    out,
                    "indmon_job_last_success_timestamp_seconds{{job=\"{}\"}} {}",
                    label(job),
                    ms as f64 / 1000.0
                );
            }
        }
        family(
            &mut out,
            "indmon_job_last_run_failed",
            "gauge",
            "1 if the job's most recent run failed.",
        );
        for (job, s) in &stats {
            let failed = s.last_status.as_deref() == Some("failed");
            let _ = writeln!(
                out,
                "indmon_job_last_run_failed{{job=\"{}\"}} {}",
                label(job),
                u8::from(failed)
            );
        }
    }
    if let Ok(n) = store.rows_ingested().await {
        family(
            &mut out,
            "indmon_rows_ingested_total",
            "counter",
            "Submission rows accepted or revised by pulls.",
        );
        let _ = writeln!(out, "indmon_rows_ingested_total {n}");
    }
    if let Ok(by) = store.firing_by_severity().await {
        family(
            &mut out,
            "indmon_alerts_firing",
            "gauge",
            "Alerts currently firing, by severity.",
        );
        for sev in ["red", "orange", "yellow", "blue"] {
            let n = by.get(sev).copied().unwrap_or(0);
            let _ = writeln!(out, "indmon_alerts_firing{{severity=\"{sev}\"}} {n}");
        }
    }
    if let Ok(counts) = store.outbox_status_counts().await {
        let n = |st: &[&str]| -> i64 {
            counts
                .iter()
                .filter(|(s, _)| st.contains(&s.as_str()))
                .map(|(_, n)| n)
                .sum()
        };
        for (name, kind, help, value) in [
            (
                "indmon_emails_sent_total",
                "counter",
                "Digest emails sent.",
                n(&["sent"]),
            ),
            (
                "indmon_emails_failed_total",
                "counter",
                "Digest emails refused for good (5xx) and not requeued.",
                n(&["failed"]),
            ),
            (
                "indmon_outbox_depth",
                "gauge",
                "Digests waiting in the outbox (pending or being sent).",
                n(&["pending", "sending"]),
            ),
        ] {
            family(&mut out, name, kind, help);
            let _ = writeln!(out, "{name} {value}");
        }
    }
    if let Ok(u) = store.undelivered().await {
        family(
            &mut out,
            "indmon_outbox_undelivered",
            "gauge",
            "Messages not delivered: queued (waiting for a retry or being sent) or failed (refused, waiting for indmon outbox retry).",
        );
        let _ = writeln!(
            out,
            "indmon_outbox_undelivered{{state=\"queued\"}} {}",
            u.queued
        );
        let _ = writeln!(
            out,
            "indmon_outbox_undelivered{{state=\"failed\"}} {}",
            u.failed
        );
        family(
            &mut out,
            "indmon_outbox_oldest_undelivered_age_seconds",
            "gauge",
            "Age of the oldest undelivered message (0 when everything was delivered).",
        );
        let age = u.oldest_created_at.map_or(0, |t| {
            (ctx.clock.now().timestamp_millis() - t).max(0) / 1000
        });
        let _ = writeln!(out, "indmon_outbox_oldest_undelivered_age_seconds {age}");
    }
    if !ctx.config.robots.is_empty()
        && let Ok(u) = store.robot_undelivered().await
    {
        family(
            &mut out,
            "indmon_robot_undelivered",
            "gauge",
            "Group-robot notices not delivered: queued, failed (refused by the robot) or unknown (no answer; not resent).",
        );
        for (state, n) in [
            ("queued", u.queued),
            ("failed", u.failed),
            ("unknown", u.unknown),
        ] {
            let _ = writeln!(out, "indmon_robot_undelivered{{state=\"{state}\"}} {n}");
        }
    }
    out
}
