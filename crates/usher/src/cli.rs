//! The command line: `usher serve | migrate | account | keys | device`.

use clap::{Args, Parser, Subcommand};
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::config::{Config, Overrides};
use crate::domain::{Email, NewPassword, PlanName};

mod keys;
pub use keys::KeysCommand;

#[derive(Parser)]
#[command(
    name = "usher",
    version,
    about = "Account sessions and device management for streaming platforms"
)]
pub struct Cli {
    /// TOML configuration file (settings there are overridden by USHER_* variables and flags).
    #[arg(long, global = true, env = "USHER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Log format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "USHER_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the service.
    Serve(StoreArgs),
    /// Create or update the database schema, then exit.
    Migrate(StoreArgs),
    /// Operator tasks on accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Token-signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// A simulated device: sign in, hold the live connection, sign devices out.
    Device(usher_client::device_cli::DeviceArgs),
    /// Print the OpenAPI document (what `GET /openapi.json` serves), to
    /// generate a client without a running server.
    Openapi,
}

#[derive(Args, Clone, Default)]
pub struct StoreArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Address of the Prometheus metrics listener (`GET /metrics`) [default: none, no metrics].
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
    /// Directory for the embedded SQLite database [default: ./data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://…` (cluster mode).
    #[arg(long)]
    pub database_url: Option<String>,
    /// NATS URL for the cluster event bus, e.g. `nats://127.0.0.1:4222`.
    #[arg(long)]
    pub nats_url: Option<String>,
}

#[derive(Subcommand)]
pub enum AccountCommand {
    /// Create an account. The password is read from standard input.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        plan: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Move an account to another plan.
    SetPlan {
        #[arg(long)]
        email: String,
        #[arg(long)]
        plan: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List accounts whose stored emails are one address once normalised,
    /// and stored emails today's rules refuse: left as they are by the
    /// start-up re-check, for the operator to settle.
    Collisions {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Sign every device of an account out (reason `admin`), for example
    /// after a compromise. Running servers refuse the sessions within about
    /// a second (they read the revocation log) and tell the devices.
    SignOutAll {
        #[arg(long)]
        email: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

impl StoreArgs {
    fn config(&self, file: Option<&std::path::Path>) -> anyhow::Result<Config> {
        let overrides = Overrides {
            listen: self.listen,
            metrics_listen: self.metrics_listen,
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            nats_url: self.nats_url.clone(),
        };
        Ok(Config::load(file, &overrides)?)
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("USHER_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> std::process::ExitCode {
    let result = match cli.command {
        // The simulator has its own reporting and exit codes (3: signed out).
        Command::Device(args) => return usher_client::device_cli::run_and_report(args).await,
        command => run_operator(command, cli.config.as_deref(), cli.log_format).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("usher: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run_operator(
    command: Command,
    file: Option<&std::path::Path>,
    log_format: LogFormat,
) -> anyhow::Result<()> {
    init_logging(log_format);
    match command {
        Command::Device(args) => usher_client::device_cli::run(args).await,
        Command::Serve(store) => serve(store.config(file)?).await,
        Command::Openapi => {
            println!("{:#}", crate::http::document());
            Ok(())
        }
        Command::Migrate(store) => {
            let config = store.config(file)?;
            let store = crate::store::open(&config.database_url()).await?;
            let report = crate::accounts::emails::recheck_at_start_up(&*store).await?;
            println!("schema of {} is up to date", store.describe());
            for rewrite in &report.rewritten {
                println!(
                    "rewrote {} to {} ({})",
                    rewrite.from, rewrite.to, rewrite.account
                );
            }
            print_email_problems(&report);
            Ok(())
        }
        Command::Account(command) => account(command, file).await,
        Command::Keys(command) => keys::run(command, file).await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    raise_open_file_limit();
    let app = crate::App::build(config).await?;
    let shutdown = app.shutdown_token();
    let (store, bus) = app.describe();
    println!("store: {store}");
    println!("bus: {bus}");
    if let Some(metrics) = app.metrics_address() {
        println!("metrics on http://{metrics}/metrics");
    }
    println!("usher listening on http://{}", app.address());
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        shutdown.cancel();
    });
    app.run_until_stopped().await
}

/// Every connection is a file descriptor: take all the hard limit allows.
fn raise_open_file_limit() {
    match crate::http::serve::raise_open_file_limit() {
        Ok(files) if files.now > files.before => tracing::info!(
            from = files.before,
            to = files.now,
            hard_limit = files.hard,
            "raised the open-file limit"
        ),
        Ok(files) => tracing::info!(
            limit = files.now,
            hard_limit = files.hard,
            "open-file limit"
        ),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn account(command: AccountCommand, file: Option<&std::path::Path>) -> anyhow::Result<()> {
    let open = |store: &StoreArgs| -> anyhow::Result<Config> { store.config(file) };
    match command {
        AccountCommand::Create { email, plan, store } => {
            let config = open(&store)?;
            let services = crate::app::open_services(&config).await?;
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_owned();
            let email = Email::parse(&email).map_err(|e| explain(e.into()))?;
            let password = NewPassword::parse(password, &email).map_err(|e| explain(e.into()))?;
            let id = services
                .accounts
                .create(email, password, plan.map(PlanName))
                .await
                .map_err(explain)?;
            println!("{id}");
            Ok(())
        }
        AccountCommand::SetPlan { email, plan, store } => {
            let config = open(&store)?;
            let services = crate::app::open_services(&config).await?;
            let account = account_by_email(&services, &email).await?;
            services
                .accounts
                .set_plan(account.id, PlanName(plan.clone()))
                .await
                .map_err(explain)?;
            println!("{email} is now on plan {plan}");
            Ok(())
        }
        AccountCommand::Collisions { store } => {
            let config = open(&store)?;
            let store = crate::store::open(&config.database_url()).await?;
            let report =
                crate::accounts::emails::recheck(&*store, crate::accounts::emails::Mode::DryRun)
                    .await?;
            for rewrite in &report.rewritten {
                println!(
                    "{} ({}): not yet in normal form, {} (rewritten at the next start)",
                    rewrite.from, rewrite.account, rewrite.to
                );
            }
            print_email_problems(&report);
            if !report.needs_attention() {
                println!("no collisions");
            }
            Ok(())
        }
        AccountCommand::SignOutAll { email, store } => {
            let config = open(&store)?;
            let services = crate::app::open_services(&config).await?;
            let account = account_by_email(&services, &email).await?;
            let n = services
                .sessions
                .sign_out_account(account.id)
                .await
                .map_err(explain)?;
            println!("signed out {n} device(s) of {email}");
            Ok(())
        }
    }
}

/// One line per collision and per refused address.
fn print_email_problems(report: &crate::accounts::emails::EmailReport) {
    for collision in &report.collisions {
        let holder = match collision.holder {
            Some(id) => format!("held by {id}"),
            None => "held by no account".to_owned(),
        };
        let others: Vec<String> = collision
            .others
            .iter()
            .map(|(id, email)| format!("{email} ({id})"))
            .collect();
        println!(
            "collision: {} {holder}; also stored as {}",
            collision.normal,
            others.join(", ")
        );
    }
    for refused in &report.refused {
        println!(
            "refused: {} ({}): {}",
            refused.email, refused.account, refused.why
        );
    }
}

async fn account_by_email(
    services: &crate::services::Services,
    email: &str,
) -> anyhow::Result<crate::store::AccountRecord> {
    let email = Email::parse(email).map_err(|e| explain(e.into()))?;
    services.accounts.by_email(&email).await.map_err(explain)
}

fn explain(e: crate::error::Error) -> anyhow::Error {
    match e {
        crate::error::Error::NotFound => anyhow::anyhow!("no such account"),
        other => anyhow::anyhow!("{other}"),
    }
}
