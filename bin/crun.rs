//! `crun`: run a command as a job step, or as a new job (like srun).

use std::process::ExitCode;

use conductor::cli::{self, crun};

fn main() -> ExitCode {
    let prog = cli::invoked_as("crun");
    let args = cli::parse_or_exit(&prog);
    crun::run(&prog, args).print()
}
