use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = hotline::args::Cli::parse();
    hotline::error::install_panic_hook();
    let outcome = std::panic::catch_unwind(|| hotline::run(cli)).unwrap_or_else(|_| {
        // a panic nothing caught: Rust's hook has printed it, unless it was one the hook keeps
        // quiet because it is caught where it is expected (error::install_panic_hook)
        if let Some(msg) = hotline::error::quiet_panic() {
            eprintln!("internal error: a reader panicked: {msg}");
        }
        std::process::exit(101)
    });
    match outcome {
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
