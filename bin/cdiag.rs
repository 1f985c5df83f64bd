//! `cdiag`: the scheduler's statistics (like sdiag).

use std::process::ExitCode;

use conductor::Error;
use conductor::cli::{self, cdiag, cdiag::CdiagArgs};

fn main() -> ExitCode {
    let prog = cli::invoked_as("cdiag");
    let args: CdiagArgs = cli::parse_or_exit(&prog);
    match run(&args) {
        Ok(text) => cli::print_stdout(&text),
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}

fn run(args: &CdiagArgs) -> Result<String, Error> {
    let client = args.connection.client()?;
    if args.reset {
        client.reset_diag()?;
        return Ok("Reset scheduling statistics\n".into());
    }
    let diag = client.diag()?;
    if args.json {
        let mut text = serde_json::to_string_pretty(&cdiag::render_json(&diag))
            .map_err(|e| Error::Other(e.to_string()))?;
        text.push('\n');
        return Ok(text);
    }
    Ok(cdiag::render(&diag, args.order()))
}
