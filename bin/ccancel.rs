//! `ccancel`: cancel or signal jobs (like scancel).

use std::process::ExitCode;

use conductor::cli::{self, ccancel, ccancel::CcancelArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("ccancel");
    let args: CcancelArgs = cli::parse_or_exit(&prog);
    let plan = match args.plan(&prog) {
        Ok(plan) => plan,
        Err(lines) => {
            for line in lines {
                eprintln!("{line}");
            }
            return ExitCode::FAILURE;
        }
    };
    let client = match args.connection.client() {
        Ok(client) => client,
        Err(error) => {
            cli::print_error(&prog, &error);
            return ExitCode::FAILURE;
        }
    };
    let mut console = ccancel::Console {
        input: &mut std::io::stdin().lock(),
        stderr: &mut std::io::stderr().lock(),
    };
    ExitCode::from(ccancel::execute(&plan, &client, &prog, &mut console))
}
