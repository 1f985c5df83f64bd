//! `cinfo`: the node and its partition (like sinfo).

use std::process::ExitCode;

use conductor::cli::{self, cinfo};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cinfo");
    let args = cli::parse_or_exit(&prog);
    cinfo::run(&prog, args).print()
}
