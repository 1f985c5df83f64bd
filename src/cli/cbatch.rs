//! `cbatch` (sbatch): reads the script, applies its `#SBATCH` directives
//! under the command line, and builds the submission.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::directives::directive_words;
use crate::error::{Error, Result};
use crate::format::duration::parse_time_limit;
use crate::format::memory::parse_memory_mb;
use crate::protocol::SubmitRequest;

/// Submit a batch script to Conductor (like sbatch).
///
/// The script comes from the file argument, from standard input, or from
/// --wrap. `#SBATCH` lines at its top are read as options; the command
/// line wins over them.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "cbatch", version, max_term_width = 100)]
pub struct CbatchArgs {
    /// Job name [default: the script's file name; `sbatch` for stdin; `wrap` for --wrap]
    #[arg(short = 'J', long = "job-name", value_name = "NAME")]
    pub job_name: Option<String>,

    /// File for the job's stdout, with %j %x %u %% patterns [default: slurm-%j.out]
    #[arg(short = 'o', long, value_name = "PATTERN")]
    pub output: Option<String>,

    /// File for the job's stderr [default: the stdout file]
    #[arg(short = 'e', long, value_name = "PATTERN")]
    pub error: Option<String>,

    /// CPUs per task
    #[arg(short = 'c', long = "cpus-per-task", value_name = "NCPUS")]
    pub cpus_per_task: Option<String>,

    /// Number of tasks; CPUs allocated = ntasks × cpus-per-task
    #[arg(short = 'n', long, value_name = "N")]
    pub ntasks: Option<String>,

    /// Memory for the job: 500M, 4G, or MiB as a plain number; 0 = all of the node
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,

    /// GPUs for the job
    #[arg(short = 'G', long, value_name = "N")]
    pub gpus: Option<String>,

    /// Time limit: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS or UNLIMITED
    #[arg(short = 't', long, value_name = "TIME")]
    pub time: Option<String>,

    /// Partition [default: the node's one partition]
    #[arg(short = 'p', long, value_name = "NAME")]
    pub partition: Option<String>,

    /// Working directory of the job [default: the current directory]
    #[arg(short = 'D', long, value_name = "DIR")]
    pub chdir: Option<String>,

    /// Print only the job id
    #[arg(long)]
    pub parsable: bool,

    /// Wait for the job to end; exit with its exit code (1 if a signal ended it)
    #[arg(short = 'W', long)]
    pub wait: bool,

    /// Run this shell command as the job's script
    #[arg(long, value_name = "COMMAND")]
    pub wrap: Option<String>,

    /// Daemon to use: unix:/path, a socket path, or http://host:port [env: CONDUCTOR_SERVER]
    #[arg(long, value_name = "ADDRESS")]
    pub server: Option<String>,

    /// The script and the arguments passed to it
    #[arg(value_name = "SCRIPT [ARGS]", trailing_var_arg = true)]
    pub script: Vec<String>,
}

/// A submission ready to send, with how cbatch should report it.
#[derive(Debug, Clone)]
pub struct Submission {
    pub request: SubmitRequest,
    /// Print the bare id.
    pub parsable: bool,
    /// Wait for the job to end.
    pub wait: bool,
}

impl CbatchArgs {
    /// Builds the submission: reads the script (from `stdin` when no file
    /// or `--wrap` is given), checks it like sbatch, applies its directives
    /// under these options, and captures the environment.
    pub fn into_submission(self, stdin: &mut dyn Read) -> Result<Submission> {
        let cwd = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", ".", e))?;
        let source = self.read_script(&cwd, stdin)?;
        check_script(&source.text)?;
        let directives = parse_directives(&source.text)?;
        let options = self.over(directives);

        let work_dir = match &options.chdir {
            Some(dir) => cwd.join(dir),
            None => cwd.clone(),
        };
        if !work_dir.is_dir() {
            return Err(Error::Invalid(format!(
                "Invalid --chdir: directory {} does not exist",
                work_dir.display()
            )));
        }
        let ntasks = count("ntasks", options.ntasks.as_deref())?.unwrap_or(1);
        let cpus_per_task = count("cpus-per-task", options.cpus_per_task.as_deref())?.unwrap_or(1);
        let gpus = count_allowing_zero("gpus", options.gpus.as_deref())?.unwrap_or(0);
        let memory_mb = options.mem.as_deref().map(parse_memory_mb).transpose()?;
        let time_limit = match options.time.as_deref() {
            Some(text) => parse_time_limit(text)?,
            None => None,
        };
        let request = SubmitRequest {
            name: options.job_name.clone().unwrap_or(source.default_name),
            script: source.text,
            args: source.args,
            work_dir,
            submit_dir: cwd,
            stdout: options.output.clone(),
            stderr: options.error.clone(),
            ntasks,
            cpus_per_task,
            memory_mb,
            gpus,
            time_limit,
            partition: options.partition.clone(),
            environment: std::env::vars().collect::<BTreeMap<_, _>>(),
            ..SubmitRequest::default()
        };
        Ok(Submission {
            request,
            parsable: options.parsable,
            wait: options.wait,
        })
    }

    fn read_script(&self, cwd: &Path, stdin: &mut dyn Read) -> Result<ScriptSource> {
        if let Some(command) = &self.wrap {
            if !self.script.is_empty() {
                return Err(Error::Invalid(
                    "Script arguments not permitted with --wrap option".into(),
                ));
            }
            return Ok(ScriptSource {
                text: format!(
                    "#!/bin/sh\n# This script was created by sbatch --wrap.\n\n{command}\n"
                ),
                args: Vec::new(),
                default_name: "wrap".into(),
            });
        }
        let Some((file, args)) = self.script.split_first() else {
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(|cause| Error::ScriptUnreadable {
                    path: "standard input".into(),
                    cause,
                })?;
            return Ok(ScriptSource {
                text,
                args: Vec::new(),
                default_name: "sbatch".into(),
            });
        };
        let path = locate_script(file, cwd, self.chdir.as_deref());
        let text = if path == Path::new("/dev/stdin") || file == "-" {
            let mut text = String::new();
            stdin.read_to_string(&mut text).map(|_| text)
        } else {
            std::fs::read(&path).and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text")
                })
            })
        }
        .map_err(|cause| Error::ScriptUnreadable {
            path: PathBuf::from(file),
            cause,
        })?;
        let default_name = Path::new(file)
            .file_name()
            .map_or_else(|| "sbatch".into(), |n| n.to_string_lossy().into_owned());
        Ok(ScriptSource {
            text,
            args: args.to_vec(),
            default_name,
        })
    }

    /// These options over `lower` ones: each option given here wins.
    fn over(self, lower: CbatchArgs) -> CbatchArgs {
        CbatchArgs {
            job_name: self.job_name.or(lower.job_name),
            output: self.output.or(lower.output),
            error: self.error.or(lower.error),
            cpus_per_task: self.cpus_per_task.or(lower.cpus_per_task),
            ntasks: self.ntasks.or(lower.ntasks),
            mem: self.mem.or(lower.mem),
            gpus: self.gpus.or(lower.gpus),
            time: self.time.or(lower.time),
            partition: self.partition.or(lower.partition),
            chdir: self.chdir.or(lower.chdir),
            parsable: self.parsable || lower.parsable,
            wait: self.wait || lower.wait,
            wrap: self.wrap,
            server: self.server,
            script: self.script,
        }
    }
}

struct ScriptSource {
    text: String,
    args: Vec<String>,
    default_name: String,
}

/// Waits until the job has ended and returns sbatch `--wait`'s exit status:
/// the job's exit code, or 1 when a signal ended it.
pub fn wait_for_end(client: &crate::Client, id: crate::protocol::JobId) -> Result<i32> {
    let mut pause = std::time::Duration::from_millis(5);
    loop {
        let job = client.job(id)?;
        if job.state.is_terminal() {
            let exit = job.exit_code.unwrap_or_default();
            return Ok(match (exit.code, exit.signal, job.state) {
                (_, signal, _) if signal != 0 => 1,
                (0, _, crate::protocol::JobState::Completed) => 0,
                (0, _, _) => 1,
                (code, _, _) => code,
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(std::time::Duration::from_millis(250));
    }
}

/// Finds the script file as sbatch does: relative to `--chdir` if it is
/// there, else to the current directory, else (a bare name) on PATH.
fn locate_script(file: &str, cwd: &Path, chdir: Option<&str>) -> PathBuf {
    let path = Path::new(file);
    if path.is_absolute() {
        return path.to_path_buf();
    }
    if let Some(dir) = chdir {
        let candidate = cwd.join(dir).join(path);
        if candidate.is_file() {
            return candidate;
        }
    }
    let in_cwd = cwd.join(path);
    if in_cwd.is_file() || file.contains('/') {
        return in_cwd;
    }
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(path))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or(in_cwd)
}

/// sbatch's sanity checks of a script's text.
fn check_script(text: &str) -> Result<()> {
    if text.is_empty() {
        return Err(Error::BadScript("Batch script is empty!"));
    }
    if text.trim().is_empty() {
        return Err(Error::BadScript("Batch script contains only whitespace!"));
    }
    if text.contains('\0') {
        return Err(Error::BadScript("The job script contains a NUL character"));
    }
    if !text.starts_with("#!") {
        return Err(Error::BadScript(
            "This does not look like a batch script.  The first\n\
             line must start with #! followed by the path to an interpreter.\n\
             For instance: #!/bin/sh",
        ));
    }
    if text.contains("\r\n") {
        return Err(Error::BadScript(
            "Batch script contains DOS line breaks (\\r\\n)\n\
             instead of expected UNIX line breaks (\\n).",
        ));
    }
    Ok(())
}

/// The script's directives, parsed with the command line's own parser.
fn parse_directives(script: &str) -> Result<CbatchArgs> {
    let words = directive_words(script);
    if words.is_empty() {
        return Ok(CbatchArgs::default());
    }
    let argv = std::iter::once("cbatch".to_string()).chain(words);
    let parsed = CbatchArgs::try_parse_from(argv).map_err(|e| {
        Error::Invalid(format!(
            "Invalid directive found in batch script: {}",
            crate::cli::first_line(&e)
        ))
    })?;
    if let Some(word) = parsed.script.first() {
        return Err(Error::Invalid(format!(
            "Invalid directive found in batch script: {word}"
        )));
    }
    Ok(parsed)
}

/// A positive count such as `-c 4`, with Slurm's `k` and `m` suffixes.
fn count(option: &'static str, text: Option<&str>) -> Result<Option<u32>> {
    match count_allowing_zero(option, text)? {
        Some(0) => Err(Error::Invalid(format!(
            "Invalid --{option} value: 0 (it must be at least 1)"
        ))),
        other => Ok(other),
    }
}

fn count_allowing_zero(option: &'static str, text: Option<&str>) -> Result<Option<u32>> {
    let Some(text) = text else {
        return Ok(None);
    };
    let invalid = || Error::InvalidNumber {
        option,
        value: text.to_string(),
    };
    let lower = text.trim().to_ascii_lowercase();
    let (digits, factor) = match lower.strip_suffix('k') {
        Some(digits) => (digits, 1024),
        None => match lower.strip_suffix('m') {
            Some(digits) => (digits, 1024 * 1024),
            None => (lower.as_str(), 1),
        },
    };
    let value: u32 = digits.parse().map_err(|_| invalid())?;
    value.checked_mul(factor).map(Some).ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> CbatchArgs {
        CbatchArgs::try_parse_from(std::iter::once("cbatch").chain(argv.iter().copied()))
            .expect("valid command line")
    }

    fn submit(argv: &[&str], stdin: &str) -> Result<Submission> {
        args(argv).into_submission(&mut stdin.as_bytes())
    }

    #[test]
    fn the_command_line_wins_over_directives() {
        let script = "#!/bin/sh\n#SBATCH -J fromscript\n#SBATCH --time 5 -c 2\necho\n";
        let sub = submit(&["-c", "3"], script).expect("valid");
        assert_eq!(sub.request.name, "fromscript");
        assert_eq!(sub.request.cpus_per_task, 3);
        assert_eq!(sub.request.time_limit, Some(300));
    }

    #[test]
    fn wrap_builds_sbatch_s_script() {
        let sub = submit(&["--wrap", "echo hi"], "").expect("valid");
        assert_eq!(
            sub.request.script,
            "#!/bin/sh\n# This script was created by sbatch --wrap.\n\necho hi\n"
        );
        assert_eq!(sub.request.name, "wrap");
        assert!(submit(&["--wrap", "true", "x.sh"], "").is_err());
    }

    #[test]
    fn stdin_scripts_are_named_sbatch() {
        let sub = submit(&[], "#!/bin/sh\ntrue\n").expect("valid");
        assert_eq!(sub.request.name, "sbatch");
    }

    #[test]
    fn bad_scripts_and_values_are_refused() {
        assert!(submit(&[], "").is_err());
        assert!(submit(&[], "  \n").is_err());
        assert!(submit(&[], "echo no shebang\n").is_err());
        assert!(submit(&[], "#!/bin/sh\r\ntrue\r\n").is_err());
        assert!(submit(&["-c", "0"], "#!/bin/sh\n").is_err());
        assert!(submit(&["-c", "x"], "#!/bin/sh\n").is_err());
        assert!(submit(&["--mem", "lots"], "#!/bin/sh\n").is_err());
        assert!(submit(&["-t", "soon"], "#!/bin/sh\n").is_err());
        assert!(submit(&["-D", "/no/such/dir"], "#!/bin/sh\n").is_err());
        assert!(submit(&[], "#!/bin/sh\n#SBATCH --bogus\n").is_err());
        assert!(submit(&[], "#!/bin/sh\n#SBATCH stray\n").is_err());
    }

    #[test]
    fn counts_take_slurm_suffixes() {
        assert_eq!(count("ntasks", Some("2k")).ok().flatten(), Some(2048));
        assert!(count("ntasks", Some("-1")).is_err());
    }
}
