//! Starting a job in two halves: the daemon writes the script and resolves
//! a `LaunchPlan`; the job's supervisor opens the output files and runs
//! the script as the leader of a new session in its working directory with
//! the job's environment.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};

use super::environment::job_environment;
use crate::daemon::job::Job;
use crate::daemon::tracker::Allocation;
use crate::protocol::WarnSignal;

/// Names the file where `crun` counts the job's steps; the daemon removes
/// it with the job's script when the job ends.
pub const STEPS_FILE_ENV: &str = "CONDUCTOR_STEPS_FILE";

/// Everything needed to start one job.
pub struct Launch<'a> {
    pub job: &'a Job,
    pub allocation: &'a Allocation,
    pub script: &'a str,
    pub environment: &'a BTreeMap<String, String>,
    pub node: &'a str,
    /// Where the script file is written.
    pub script_path: PathBuf,
}

/// What the supervisor runs, resolved by the daemon: every path and
/// variable in place, so the supervisor needs nothing but this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LaunchPlan {
    pub program: String,
    pub args: Vec<String>,
    pub work_dir: PathBuf,
    pub environment: BTreeMap<String, String>,
    pub stdin: PathBuf,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    pub append: bool,
    pub time_limit: Option<u64>,
    pub warn_signal: Option<WarnSignal>,
    pub kill_wait: u64,
}

/// Writes the job's script and resolves its launch; the error is a
/// one-line reason for `JobLaunchFailure`.
pub fn plan(launch: &Launch<'_>, kill_wait: u64) -> Result<LaunchPlan, String> {
    let job = launch.job;
    write_script(&launch.script_path, launch.script)
        .map_err(|e| format!("cannot write {}: {e}", launch.script_path.display()))?;
    let (interpreter, interpreter_arg) = interpreter(launch.script);
    let mut args: Vec<String> = interpreter_arg.map(str::to_string).into_iter().collect();
    args.push(launch.script_path.display().to_string());
    args.extend(job.spec.args.iter().cloned());
    let mut environment = job_environment(job, launch.allocation, launch.node, launch.environment);
    environment.insert(
        STEPS_FILE_ENV.into(),
        launch
            .script_path
            .with_extension("steps")
            .display()
            .to_string(),
    );
    Ok(LaunchPlan {
        program: interpreter.to_string(),
        args,
        work_dir: job.spec.work_dir.clone(),
        environment,
        stdin: job.stdin_path(launch.node),
        stdout: job.stdout_path(launch.node),
        stderr: job.stderr_path(launch.node),
        append: job.spec.options.append_output,
        time_limit: job.spec.time_limit,
        warn_signal: job.spec.options.warn_signal,
        kill_wait,
    })
}

/// Starts the planned job as the leader of a new session; the error is a
/// one-line reason for `JobLaunchFailure`.
pub fn spawn(plan: &LaunchPlan) -> Result<Child, String> {
    if !plan.work_dir.is_dir() {
        return Err(format!(
            "working directory {} does not exist",
            plan.work_dir.display()
        ));
    }
    let stdout = open_output(&plan.stdout, plan.append)?;
    let stderr = if plan.stderr == plan.stdout {
        stdout
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", plan.stdout.display()))?
    } else {
        open_output(&plan.stderr, plan.append)?
    };
    let stdin = File::open(&plan.stdin)
        .map_err(|e| format!("cannot open {}: {e}", plan.stdin.display()))?;
    let mut command = Command::new(&plan.program);
    command
        .args(&plan.args)
        .current_dir(&plan.work_dir)
        .env_clear()
        .envs(&plan.environment)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(false);
    crate::process::new_session(command.as_std_mut());
    command
        .spawn()
        .map_err(|e| format!("cannot execute the script: {e}"))
}

/// The interpreter named by the script's `#!` line (with its one optional
/// argument, as the kernel reads it), else `/bin/sh`.
///
/// The daemon runs the interpreter on the script rather than executing the
/// script file itself: a file just written may still be open for writing in
/// a child forked meanwhile by another thread, and executing it would then
/// fail with "text file busy".
fn interpreter(script: &str) -> (&str, Option<&str>) {
    let Some(line) = script.lines().next().and_then(|l| l.strip_prefix("#!")) else {
        return ("/bin/sh", None);
    };
    let line = line.trim();
    match line.split_once([' ', '\t']) {
        Some((path, arg)) => (path, Some(arg.trim()).filter(|a| !a.is_empty())),
        None if line.is_empty() => ("/bin/sh", None),
        None => (line, None),
    }
}

fn write_script(path: &Path, script: &str) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(script.as_bytes())
}

/// Opens an output file for the job, creating missing parent directories as
/// workflow tools expect (submitit puts `%j` in the directory part).
fn open_output(path: &Path, append: bool) -> Result<File, String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::interpreter;

    #[test]
    fn the_shebang_line_names_the_interpreter() {
        assert_eq!(interpreter("#!/bin/bash\necho"), ("/bin/bash", None));
        assert_eq!(
            interpreter("#!/usr/bin/env python3\n"),
            ("/usr/bin/env", Some("python3"))
        );
        assert_eq!(interpreter("#! /bin/sh -e\n"), ("/bin/sh", Some("-e")));
        assert_eq!(interpreter("echo hi\n"), ("/bin/sh", None));
        assert_eq!(interpreter("#!\n"), ("/bin/sh", None));
    }
}
