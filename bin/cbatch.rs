//! `cbatch`: submit a batch script (like sbatch).

use std::process::ExitCode;

use conductor::cli::{self, cbatch};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cbatch");
    // sbatch exits 255 on a command line its option parser refuses.
    let args = cli::parse_or_exit_with(&prog, 255);
    cbatch::run(&prog, args).print()
}
