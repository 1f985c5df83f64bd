//! `ccontrol`: show and change jobs, the node and the daemon (like scontrol).

use std::process::ExitCode;

use conductor::cli::{self, ccontrol};

fn main() -> ExitCode {
    let prog = cli::invoked_as("ccontrol");
    let args = cli::parse_or_exit(&prog);
    ccontrol::run(&prog, args).print()
}
