//! How a client command ends: the text it leaves on stdout, the lines it
//! leaves on stderr, and its exit status. Every binary ends by printing
//! one [`Outcome`], so there is one printing path for all of them.
//!
//! What a user expects to see while the command runs (crun's job output,
//! ccancel's `-i` questions, the id cbatch `--wait` prints before it
//! waits, a warning said before the daemon is asked) is written at once,
//! as it happens; the outcome then holds only the rest.

use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;

use crate::error::Error;

/// What a command run leaves to print, and its exit status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct Outcome {
    /// Text for stdout, printed as it is.
    pub stdout: String,
    /// Whole lines for stderr, prefixes included, printed after stdout.
    pub stderr: Vec<String>,
    /// The exit status.
    pub code: u8,
}

impl Outcome {
    /// Text for stdout; exit status 0.
    pub fn printed(stdout: String) -> Outcome {
        Outcome {
            stdout,
            ..Outcome::default()
        }
    }

    /// Lines for stderr, worded already; exit status 1.
    pub fn failed(lines: Vec<String>) -> Outcome {
        Outcome {
            stderr: lines,
            code: 1,
            ..Outcome::default()
        }
    }

    /// `prog: error: ` before each line of the message, as Slurm's tools
    /// print each line of a long error; exit status 1.
    pub fn error(prog: &str, message: &dyn Display) -> Outcome {
        Outcome::failed(error_lines(prog, message))
    }

    /// An error in the words Slurm uses for its kind: a getopt refusal
    /// ([`Error::Usage`]) as getopt words it, a [`Error::Fatal`] as
    /// `prog: fatal: `, a bad `--begin` after the line saying where the
    /// time parser gave up, anything else as [`Outcome::error`]; exit
    /// status 1.
    pub fn failure(prog: &str, error: &Error) -> Outcome {
        match error {
            Error::Usage(text) => Outcome::failed(vec![text.clone()]),
            Error::Fatal(text) => Outcome::failed(vec![format!("{prog}: fatal: {text}")]),
            Error::InvalidBegin(invalid) => {
                // Slurm's time parser says where it gave up, in a line of
                // its own without a prefix, before the tool's refusal.
                let mut lines = vec![invalid.to_string()];
                lines.extend(error_lines(prog, error));
                Outcome::failed(lines)
            }
            _ => Outcome::error(prog, error),
        }
    }

    /// Nothing left to print (the command said what it had to as it
    /// ran); this exit status.
    pub fn exit(code: u8) -> Outcome {
        Outcome {
            code,
            ..Outcome::default()
        }
    }

    /// A process's exit status as the system gives it (a job's, a task's):
    /// one outside `0..=255` is 1.
    pub fn status(code: i32) -> Outcome {
        Outcome::exit(u8::try_from(code).unwrap_or(1))
    }

    /// Writes stdout, then the stderr lines, and returns the exit status.
    /// A closed stdout (`cqueue | head`) is not an error; another failure
    /// to write it makes a successful run exit 1.
    pub fn print(self) -> ExitCode {
        let written = self.stdout.is_empty() || print_stdout(&self.stdout);
        print_stderr(&self.stderr);
        match self.code {
            0 if !written => ExitCode::FAILURE,
            code => ExitCode::from(code),
        }
    }
}

/// `prog: error: line` for each line of the message.
pub fn error_lines(prog: &str, message: &dyn Display) -> Vec<String> {
    message
        .to_string()
        .lines()
        .map(|line| format!("{prog}: error: {line}"))
        .collect()
}

/// Writes text to stdout at once; returns whether it was written or the
/// reader had gone (a closed pipe is not an error).
pub fn print_stdout(text: &str) -> bool {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => true,
        Err(e) => e.kind() == std::io::ErrorKind::BrokenPipe,
    }
}

/// Writes whole lines to stderr at once; a stderr that cannot be written
/// has no one to tell.
pub fn print_stderr(lines: &[String]) {
    let mut stderr = std::io::stderr().lock();
    for line in lines {
        let _ = writeln!(stderr, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_prefix_every_line() {
        let outcome = Outcome::error("sbatch", &"first\nsecond");
        assert_eq!(
            outcome.stderr,
            ["sbatch: error: first", "sbatch: error: second"]
        );
        assert_eq!(outcome.code, 1);
        assert!(Outcome::error("sbatch", &"").stderr.is_empty());
    }

    #[test]
    fn failures_take_the_words_of_their_kind() {
        let usage = Error::Usage("sbatch: unrecognized option '--x'".into());
        assert_eq!(
            Outcome::failure("sbatch", &usage).stderr,
            ["sbatch: unrecognized option '--x'"]
        );
        let fatal = Error::Fatal("no".into());
        assert_eq!(
            Outcome::failure("sbatch", &fatal).stderr,
            ["sbatch: fatal: no"]
        );
        let other = Error::Other("gone".into());
        assert_eq!(
            Outcome::failure("sbatch", &other),
            Outcome::error("sbatch", &other)
        );
    }

    #[test]
    fn statuses_outside_a_byte_are_one() {
        assert_eq!(Outcome::status(3).code, 3);
        assert_eq!(Outcome::status(256).code, 1);
        assert_eq!(Outcome::status(-1).code, 1);
    }
}
