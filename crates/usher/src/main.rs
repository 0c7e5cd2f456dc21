use clap::Parser;

// mimalloc: per-request allocations (hyper, serde) are cheaper than with the
// system allocator, and many idle WebSocket connections fragment less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    usher::cli::run(usher::cli::Cli::parse()).await
}
