//! Logs on standard error: text or JSON, filtered by `INDMON_LOG`, in colour only on a terminal
//! and never when `NO_COLOR` is set (<https://no-color.org>); on a terminal, a progress line
//! for long imports and pulls ([`super::progress`]).

use std::ffi::OsString;
use std::io::IsTerminal;

use tracing_subscriber::filter::{Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use super::progress;

/// Sets up logging for the process; `format` is `text` or `json`. `progress` asks for the
/// progress line (not for the daemon, whose log is its record).
pub fn init(format: &str, progress: bool) {
    let filter = EnvFilter::try_from_env("INDMON_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tokio_cron_scheduler=warn"));
    let terminal = std::io::stderr().is_terminal();
    let colour = use_colour(terminal, std::env::var_os("NO_COLOR"));
    let shown = progress && format != "json" && progress::available();
    if shown {
        progress::enable();
    }
    let logs = tracing_subscriber::fmt::layer().with_writer(progress::Writer);
    let logs = if format == "json" {
        logs.json().boxed()
    } else {
        logs.with_ansi(colour).boxed()
    };
    let logs = logs
        .with_filter(filter)
        .with_filter(filter_fn(move |m| !(shown && progress::is_progress(m))));
    let bar_layer = shown.then(|| {
        progress::Layer::new()
            .with_filter(Targets::new().with_target("indmon", tracing::Level::DEBUG))
    });
    tracing_subscriber::registry()
        .with(logs)
        .with(bar_layer)
        .init();
}

/// Colour on a terminal unless `NO_COLOR` is set to something.
pub fn use_colour(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some("".into())));
        assert!(!use_colour(true, Some("1".into())));
        assert!(!use_colour(false, None));
    }
}
