//! `cinfo`: the node and its partition (like sinfo).

use std::process::ExitCode;

use conductor::Error;
use conductor::cli::{self, ccontrol, ccontrol::load_average, cinfo::CinfoArgs};
use conductor::format::slurm_json::JsonFormat;
use conductor::format::slurm_json::sinfo::SinfoContext;

fn main() -> ExitCode {
    let prog = cli::invoked_as("cinfo");
    let args: CinfoArgs = cli::parse_or_exit(&prog);
    let (_, invalid) = args.output_format();
    for field in invalid {
        cli::print_error(
            &prog,
            &format!("Invalid node format specification: {field}"),
        );
    }
    match run(&args) {
        Ok(text) => cli::print_stdout(&text),
        Err(error) => {
            cli::print_error(&prog, &error);
            ExitCode::FAILURE
        }
    }
}

fn run(args: &CinfoArgs) -> Result<String, Error> {
    args.validate()?;
    let client = args.connection.client()?;
    let node = client.node()?;
    if let Some(JsonFormat::Slurm(version)) = args.json_format()? {
        let config = client.config()?;
        let context = SinfoContext {
            version,
            caller: &cli::json_caller(),
            config: &config,
            facts: &ccontrol::node_facts(),
        };
        return args.slurm_json(&node, &context);
    }
    args.render(&node, load_average(), chrono::Local::now())
}
