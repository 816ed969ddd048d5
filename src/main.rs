use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hotline::args::Cli::parse();
    match hotline::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // stopped by a signal: the signal thread is removing the staging folders and exits
            // with 128 + the signal's number; this error is only a consequence of that
            while hotline::cleanup::stopping() {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            hotline::error::print(&err);
            ExitCode::from(hotline::error::exit_code(&err))
        }
    }
}
