use backend::config::{Command, Config};
use backend::{Application, cli};
use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `.env` fills in what the environment does not set; a missing file is fine.
    let _ = dotenvy::dotenv();
    let config = Config::parse();
    let _flush = backend::logs::init(config.log_format);
    match &config.command {
        None | Some(Command::Serve) => Application::build(config).await?.run().await,
        Some(command) => cli::run(&config, command).await,
    }
}
