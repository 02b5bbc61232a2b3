use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = storedesk::config::Cli::parse();
    if let Err(e) = storedesk::cli::run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
