//! `ccontrol`: show and change jobs, the node and the daemon (like scontrol).

use std::process::ExitCode;

use conductor::cli::{self, ccontrol::CcontrolArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("ccontrol");
    let args: CcontrolArgs = cli::parse_or_exit(&prog);
    let outcome = conductor::cli::ccontrol::run(&args, &prog);
    let printed = cli::print_stdout(&outcome.stdout);
    for line in &outcome.stderr {
        eprintln!("{line}");
    }
    if outcome.failed {
        ExitCode::FAILURE
    } else {
        printed
    }
}
