//! `conductord`: the daemon, in the foreground.

use std::process::ExitCode;

use conductor::cli::{self, conductord};

fn main() -> ExitCode {
    let prog = cli::invoked_as("conductord");
    conductord::main(&prog).print()
}
