//! `conductord`: the daemon, in the foreground.

use std::process::ExitCode;

use conductor::cli::{self, conductord};

fn main() -> ExitCode {
    let prog = cli::invoked_as("conductord");
    let args = cli::parse_or_exit(&prog);
    conductord::run(&prog, args).print()
}
