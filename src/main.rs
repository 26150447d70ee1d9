use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = indmon::cli::Cli::parse();
    let progress = !matches!(cli.command, indmon::cli::Command::Serve(_));
    indmon::cli::logging::init(&cli.log_format, progress);
    indmon::cli::run(cli).await
}
