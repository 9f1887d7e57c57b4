//! The `gstage` binary: parse arguments, run, and turn an error into one message and an exit
//! code, here and nowhere else.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match gstage::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors to stderr with 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match gstage::commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("gstage: error: {err:#}");
            ExitCode::from(u8::try_from(gstage::exit::code_for(&err)).unwrap_or(1))
        }
    }
}
