use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    usher::cli::run(usher::cli::Cli::parse()).await
}
