//! `globus-emulator --config FILE [--listen 127.0.0.1:0]`: prints the base URL as the first
//! line of standard output, then serves Auth and Transfer until SIGTERM or SIGINT.

#![warn(clippy::pedantic, clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use globus_emulator::{Config, Emulator};

/// A local emulator of Globus Auth and Transfer, for tests and demos.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  globus-emulator --config emulator/examples/emulator.toml --listen 127.0.0.1:8700\n\n\
                  Then point clients at the printed URL, e.g.\n  \
                  GLOBUS_SDK_SERVICE_URL_AUTH=http://127.0.0.1:8700 GLOBUS_SDK_SERVICE_URL_TRANSFER=http://127.0.0.1:8700 globus ls ..."
)]
struct Args {
    /// The emulator config (TOML): identities, clients, collections, settings.
    #[arg(long)]
    config: PathBuf,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!("globus-emulator: error: {err}");
            }
            let code = u8::try_from(err.exit_code()).unwrap_or(1);
            ExitCode::from(code)
        }
    }
}

fn run(args: &Args) -> Result<(), globus_emulator::Error> {
    let config = Config::from_file(&args.config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(globus_emulator::Error::Runtime)?;
    runtime.block_on(async {
        let emulator = Emulator::start(config, args.listen).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", emulator.base_url()).map_err(globus_emulator::Error::Runtime)?;
        out.flush().map_err(globus_emulator::Error::Runtime)?;
        drop(out);
        wait_for_signal()
            .await
            .map_err(globus_emulator::Error::Runtime)?;
        emulator.shutdown();
        Ok(())
    })
}

async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
