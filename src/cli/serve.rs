//! `indmon serve`: checks the configuration like `check-config`, then hands over to the daemon.
//! The database is not opened here: the daemon reaches it itself, retrying while it is down.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address for /healthz, /readyz and /metrics (overrides daemon.listen).
    #[arg(long)]
    pub listen: Option<String>,
}

/// Runs the daemon until SIGTERM/SIGINT; exit 0 after a graceful stop, 1 on a bad
/// configuration or when another process holds the SQLite database.
pub async fn serve(
    mut config: Config,
    url: String,
    password: Option<SecretString>,
    now: Option<DateTime<Utc>>,
    args: ServeArgs,
) -> anyhow::Result<ExitCode> {
    if let Some(l) = args.listen {
        config.daemon.listen = l;
    }
    let problems = config.validate();
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("配置错误 (config error): {p}");
        }
        return Ok(ExitCode::FAILURE);
    }
    crate::daemon::serve::serve(config, url, password, now).await?;
    Ok(ExitCode::SUCCESS)
}
