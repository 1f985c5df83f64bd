//! `cqueue`: show the queue (like squeue).

use std::process::ExitCode;

use conductor::cli::{self, cqueue, cqueue::CqueueArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cqueue");
    let args: CqueueArgs = cli::parse_or_exit(&prog);
    let plan = match args.plan(&prog, &|name| std::env::var(name).ok()) {
        Ok(plan) => plan,
        Err(lines) => {
            for line in lines {
                eprintln!("{line}");
            }
            return ExitCode::FAILURE;
        }
    };
    for line in &plan.warnings {
        eprintln!("{line}");
    }
    match args.connection.client() {
        Ok(client) => cqueue::run(&client, &plan, &prog),
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}
