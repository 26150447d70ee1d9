use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = indmon::cli::Cli::parse();
    indmon::cli::logging::init(&cli.log_format);
    indmon::cli::run(cli).await
}
