use std::process::ExitCode;

use clap::Parser;
use gatehouse::cli::{Cli, Command};
use gatehouse::config::{Config, Env, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    // `--help`, `--version` and bad arguments end here, before any configuration.
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    let env = Env::process();

    let format = match LogFormat::from_env(&env) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("gatehouse: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(format, matches!(command, Command::Serve));

    let config = match &command {
        Command::CheckConfig => Config::from_env_read_only(&env),
        _ => Config::from_env(&env),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("configuration error: {e}");
            eprintln!("gatehouse: configuration error: {e}");
            return ExitCode::from(2);
        }
    };

    match command {
        Command::Serve => gatehouse::serve::serve(config).await,
        Command::Migrate => gatehouse::commands::migrate(&config).await,
        Command::CheckConfig => gatehouse::commands::check_config(&config).await,
        Command::Keys(keys) => gatehouse::commands::keys(&config, keys).await,
        Command::Ory(ory) => gatehouse::commands::ory(&config, ory).await,
    }
}

/// The server logs to stdout at `info`; an operator command keeps stdout for its
/// report and logs warnings to stderr. `RUST_LOG` overrides the level either way.
fn init_logging(format: LogFormat, serving: bool) {
    let default = if serving {
        "info,sqlx=warn,tower_sessions=warn"
    } else {
        "warn,sqlx=warn"
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match (format, serving) {
        (LogFormat::Text, true) => builder.init(),
        (LogFormat::Text, false) => builder.with_writer(std::io::stderr).init(),
        (LogFormat::Json, true) => builder.json().flatten_event(true).init(),
        (LogFormat::Json, false) => builder
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .init(),
    }
}
