//! Logs on standard error: text or JSON, filtered by `INDMON_LOG`, in colour only on a terminal
//! and never when `NO_COLOR` is set (<https://no-color.org>).

use std::ffi::OsString;
use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Sets up logging for the process; `format` is `text` or `json`.
pub fn init(format: &str) {
    let filter =
        EnvFilter::try_from_env("INDMON_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR"),
    );
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    if format == "json" {
        logs.json().init();
    } else {
        logs.init();
    }
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
