use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hotline::args::Cli::parse();
    match hotline::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            hotline::error::print(&err);
            ExitCode::from(hotline::error::exit_code(&err))
        }
    }
}
