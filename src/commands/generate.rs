use std::time::Instant;

use anyhow::Result;

use crate::args::GenerateArgs;
use crate::generate::{self, Options};

pub fn generate(args: GenerateArgs) -> Result<()> {
    let years = generate::parse_years(&args.years)?;
    let opts = Options { out: args.out.clone(), tickets_per_year: args.tickets, years, seed: args.seed };
    let started = Instant::now();
    let s = generate::generate(&opts, &|msg| super::say(msg))?;
    let secs = started.elapsed().as_secs_f64();
    super::say(&format!(
        "wrote {} ({} tickets, {} dispatched, {} files, {:.1} MiB) in {:.1} s, {:.0} tickets/s",
        args.out.display(),
        s.tickets,
        s.dispatched,
        s.files,
        s.bytes as f64 / 1048576.0,
        secs,
        s.tickets as f64 / secs.max(1e-9)
    ));
    Ok(())
}
