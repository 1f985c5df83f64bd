//! `cshare`: users' shares, usage and fair-share factors (like sshare).

use std::process::ExitCode;

use conductor::cli::{self, cshare};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cshare");
    let args = cli::parse_or_exit(&prog);
    cshare::run(&prog, args).print()
}
