//! Command-line definitions (clap) and the behaviour behind each binary.
//! Shell completions and man pages are generated from the same
//! definitions.
//!
//! Every client binary has the same shape: `bin/<name>.rs` finds the name
//! it was invoked as ([`invoked_as`]), parses ([`parse_or_exit`]), calls
//! its module's `run(prog, args)` and prints the [`Outcome`] that returns.
//! The flag they share, `--server`, is one flattened struct
//! ([`Connection`]).
//!
//! Errors: code here returns the library's typed error ([`crate::Error`],
//! `thiserror`), never `anyhow`; each `run` turns what failed into the
//! lines its Slurm counterpart prints, in the [`Outcome`]. A check whose
//! refusal is only ever printed, in Slurm's words, returns those words
//! (cqueue's and ccancel's `plan` the lines to print, ccontrol's command
//! parser its message), not an error to match on. `anyhow`, with its
//! `.context(..)`, belongs at the binaries' edge only, for a binary that
//! has context to add; none has today, so the crate is not a dependency.

pub mod cacct;
pub mod cbatch;
pub mod ccancel;
pub mod ccontrol;
pub mod cdiag;
pub mod cinfo;
pub mod clog;
pub mod conductord;
pub mod connection;
pub mod cprio;
pub mod cqueue;
pub mod crun;
pub mod cshare;
pub mod filter;
pub mod getopt;
pub mod outcome;

pub use connection::Connection;
pub use outcome::{Outcome, print_stderr, print_stdout};

use std::ffi::OsString;
use std::fmt::Display;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The clap command of every binary, in the order they are documented.
///
/// Shell completions and man pages ([`crate::generated`]) are generated
/// from this list: each new binary must be listed here, or it ships with
/// neither.
pub fn commands() -> Vec<clap::Command> {
    use clap::CommandFactory;
    vec![
        conductord::ConductordArgs::command(),
        cbatch::CbatchArgs::command(),
        cqueue::CqueueArgs::command(),
        ccancel::CcancelArgs::command(),
        crun::CrunArgs::command(),
        cacct::CacctArgs::command(),
        ccontrol::CcontrolArgs::command(),
        cinfo::CinfoArgs::command(),
        cdiag::CdiagArgs::command(),
        cprio::CprioArgs::command(),
        cshare::CshareArgs::command(),
        clog::ClogArgs::command(),
    ]
}

/// The name this program was invoked as (`sbatch` through a link so named),
/// for the `prog: error:` prefix.
pub fn invoked_as(default: &str) -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Prints `prog: error: message` on stderr, the prefix on every line of
/// it, as Slurm's tools print each line of a long error.
pub fn print_error(prog: &str, message: &dyn Display) {
    print_stderr(&outcome::error_lines(prog, message));
}

/// getopt's words for an option it does not know; `command` is the clap
/// command's name (sacct prints no `Try` line).
pub fn unrecognized_option(prog: &str, command: &str, option: &str) -> String {
    let mut text = format!("{prog}: unrecognized option '{option}'");
    if getopt::prints_try_help(command) {
        text.push_str(&format!("\nTry \"{prog} --help\" for more information"));
    }
    text
}

/// Parses the command line; on `--help`/`--version` prints and exits 0, on
/// a bad command line prints one Slurm-style line and exits 1.
pub fn parse_or_exit<P: clap::Parser>(prog: &str) -> P {
    parse_or_exit_with(prog, 1)
}

/// [`parse_or_exit`], exiting `usage_code` on a bad command line (sbatch
/// exits 255 there).
pub fn parse_or_exit_with<P: clap::Parser>(prog: &str, usage_code: i32) -> P {
    let mut command = P::command();
    let mut matches = matches_or_exit(prog, usage_code, &mut command);
    match P::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut command)) {
        Ok(parsed) => parsed,
        Err(error) => exit_for(prog, usage_code, &command, &error),
    }
}

/// The matches of this process's command line against `command` (long
/// options resolved as getopt resolves them), for a binary that needs more
/// than the parsed struct: `conductord` asks which settings were given on
/// the command line. Exits as [`parse_or_exit_with`] does.
pub fn matches_or_exit(
    prog: &str,
    usage_code: i32,
    command: &mut clap::Command,
) -> clap::ArgMatches {
    let mut args = std::env::args_os();
    let program = args.next().unwrap_or_else(|| OsString::from(prog));
    let args = match getopt::resolve_prefixes(command, args.collect()) {
        Ok(args) => args,
        Err(ambiguous) => {
            eprintln!(
                "{}",
                getopt::ambiguous_option(
                    prog,
                    command.get_name(),
                    &ambiguous.given,
                    &ambiguous.possibilities
                )
            );
            std::process::exit(usage_code);
        }
    };
    // The command built above parses too (`Parser::try_parse_from` would
    // build another).
    match command.try_get_matches_from_mut(std::iter::once(program).chain(args)) {
        Ok(matches) => matches,
        Err(error) => exit_for(prog, usage_code, command, &error),
    }
}

/// Reports a clap error and exits: 0 after `--help`/`--version`,
/// `usage_code` otherwise.
fn exit_for(prog: &str, usage_code: i32, command: &clap::Command, error: &clap::Error) -> ! {
    match report_clap_error(prog, command.get_name(), error) {
        0 => std::process::exit(0),
        _ => std::process::exit(usage_code),
    }
}

/// Prints a clap error of the clap command `command` the way Slurm's tools
/// print theirs; returns the exit code.
pub fn report_clap_error(prog: &str, command: &str, error: &clap::Error) -> i32 {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = error.print();
            0
        }
        ErrorKind::UnknownArgument => {
            let arg = match error.get(ContextKind::InvalidArg) {
                Some(ContextValue::String(arg)) => arg.clone(),
                _ => String::new(),
            };
            eprintln!("{}", unrecognized_option(prog, command, &arg));
            1
        }
        _ => {
            print_error(prog, &first_line(error));
            1
        }
    }
}

/// A clap error's first paragraph as one line, without its `error: `
/// prefix: the message, and the arguments it lists on lines of their own
/// ("the following required arguments were not provided: --tls-cert <FILE>").
pub fn first_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .take_while(|line| !line.trim().is_empty())
        .map(str::trim)
        .collect();
    let line = paragraph.join(" ");
    line.strip_prefix("error: ").unwrap_or(&line).to_string()
}

/// Who runs this command, for the `meta` of Slurm's JSON: the command
/// line, the terminal (the first of stdin, stdout and stderr that is one,
/// as Slurm looks), the user and the group.
pub fn json_caller() -> crate::format::slurm_json::meta::Caller {
    use std::io::IsTerminal;
    let terminal = [
        std::io::stdin().is_terminal(),
        std::io::stdout().is_terminal(),
        std::io::stderr().is_terminal(),
    ]
    .into_iter()
    .position(|is_terminal| is_terminal)
    .and_then(|number| std::fs::read_link(format!("/proc/self/fd/{number}")).ok())
    .map(|path| path.display().to_string())
    .unwrap_or_default();
    crate::format::slurm_json::meta::Caller {
        command: std::env::args().collect(),
        source: terminal,
        user: crate::users::user_name(crate::users::current_uid()),
        group: crate::users::group_name(crate::users::current_gid()),
    }
}
