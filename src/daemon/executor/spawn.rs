//! Starting a job in two halves: the daemon writes the script and resolves
//! a `LaunchPlan`; the job's supervisor opens the output files and runs
//! the script as the leader of a new process group in its working
//! directory with the job's environment.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::{Gid, Uid};
use serde::{Deserialize, Serialize};
use tokio::process::{Child, Command};

use super::clone_into::{self, Exec};
use super::environment::job_environment;
use crate::daemon::containment::{Attached, JobContainment};
use crate::daemon::gpus::Gpu;
use crate::daemon::job::Job;
use crate::daemon::tracker::Allocation;
use crate::protocol::WarnSignal;

/// Everything needed to start one job.
pub struct Launch<'a> {
    pub job: &'a Job,
    pub allocation: &'a Allocation,
    pub script: &'a str,
    pub environment: &'a BTreeMap<String, String>,
    pub node: &'a str,
    /// The node's GPUs, which the allocation's GPU ids index.
    pub gpus: &'a [Gpu],
    /// This daemon's Unix socket as `unix:PATH`, for `crun` in the job.
    pub server: &'a str,
    /// Where the script file is written.
    pub script_path: PathBuf,
    /// What holds the job to its allocation.
    pub containment: JobContainment,
    /// On a cluster, the node's heartbeat for a job that may run again
    /// elsewhere.
    pub fence: Option<&'a Fence>,
}

/// A cluster node's heartbeat as its supervisors see it: a file its agent
/// touches after each heartbeat that reaches the database. The supervisor
/// of a job that may run again elsewhere (`--requeue`) kills it once the
/// file is `after_ms` old, half the node timeout: the scheduler declares
/// the node down, and queues the job again, only after a whole one, so the
/// old run is over by then whether the daemon died or lost the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fence {
    pub heartbeat: PathBuf,
    pub after_ms: u64,
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
    /// The user the job runs as, when the supervisor runs as root for
    /// someone else; `None` runs it as the supervisor's own user.
    #[serde(default)]
    pub run_as: Option<RunAs>,
    /// The job's cgroup, pinning and memory limit, as the supervisor
    /// carries them out.
    #[serde(default)]
    pub containment: JobContainment,
    /// The node's heartbeat, for a job its supervisor must kill when the
    /// node has lost the cluster (see [`Fence`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fence: Option<Fence>,
}

/// A user's identity for running a job: uid, gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
}

impl RunAs {
    /// The submitter of a job when the daemon runs as root for others;
    /// `None` when the job runs as the daemon's own user.
    fn for_job(job: &Job) -> Option<RunAs> {
        let daemon_uid = rustix::process::getuid().as_raw();
        if daemon_uid != 0 || job.spec.uid == daemon_uid {
            return None;
        }
        let groups = uzers::get_user_by_uid(job.spec.uid)
            .and_then(|user| uzers::get_user_groups(user.name(), job.spec.gid))
            .map(|groups| groups.iter().map(uzers::Group::gid).collect())
            .unwrap_or_else(|| vec![job.spec.gid]);
        Some(RunAs {
            uid: job.spec.uid,
            gid: job.spec.gid,
            groups,
        })
    }
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
    let mut environment = job_environment(
        job,
        launch.allocation,
        launch.node,
        launch.gpus,
        launch.environment,
    );
    // `crun` inside the job asks this daemon for step ids, over its Unix
    // socket whatever address the job was submitted through.
    environment.insert("CONDUCTOR_SERVER".into(), launch.server.to_string());
    let run_as = RunAs::for_job(job);
    if let Some(run_as) = &run_as {
        hand_over(&launch.script_path, run_as)
            .map_err(|e| format!("cannot hand the script to uid {}: {e}", run_as.uid))?;
        if let Some(user) = uzers::get_user_by_uid(run_as.uid) {
            use uzers::os::unix::UserExt;
            let name = user.name().to_string_lossy().into_owned();
            environment.insert("HOME".into(), user.home_dir().display().to_string());
            environment.insert("SHELL".into(), user.shell().display().to_string());
            environment.insert("USER".into(), name.clone());
            environment.insert("LOGNAME".into(), name);
        }
    }
    Ok(LaunchPlan {
        program: interpreter.to_string(),
        args,
        work_dir: job.spec.work_dir.to_path_buf(),
        environment,
        stdin: job.stdin_path(launch.node),
        stdout: job.stdout_path(launch.node),
        stderr: job.stderr_path(launch.node),
        append: job.spec.options.append_output,
        time_limit: job.spec.time_limit,
        warn_signal: job.spec.options.warn_signal,
        kill_wait,
        run_as,
        containment: launch.containment.clone(),
        fence: launch.fence.filter(|_| job.spec.requeues()).cloned(),
    })
}

/// Gives the job's user its script (readable, not writable); everything
/// else in the job's directory stays root's.
fn hand_over(script: &Path, run_as: &RunAs) -> std::io::Result<()> {
    use rustix::fs::chown;
    use std::os::unix::fs::PermissionsExt;
    let owner = Some(Uid::from_raw(run_as.uid));
    let group = Some(Gid::from_raw(run_as.gid));
    chown(script, owner, group)?;
    fs::set_permissions(script, fs::Permissions::from_mode(0o500))
}

/// Starts the planned job as the leader of a new process group (in the
/// supervisor's session), so the whole job can be signalled at once, inside
/// its cgroup (`attached`) and pinned to its CPUs; the error is a one-line
/// reason for `JobLaunchFailure`.
///
/// The job is cloned by hand (`clone_into`): born in its v2 cgroup where it
/// has one, and writing its own pid into `SLURM_TASK_PID`. std's `Command`
/// below is the fallback for kernels without clone3; there, without a
/// privilege drop, cgroup or pinning, it has no `pre_exec` closure and std
/// uses `posix_spawn`.
pub fn spawn(plan: &LaunchPlan, attached: Option<Attached>) -> Result<JobChild, String> {
    // The working directory and the files are opened as the job's user, so
    // a path the user could not reach or write cannot be reached through
    // the daemon; the job enters the directory (fchdir) only after the
    // privilege drop, since std's `current_dir` would enter it as root.
    let (work_dir, (stdin, stdout, stderr)) = match &plan.run_as {
        Some(run_as) => {
            let _user = EffectiveUser::become_(run_as)
                .map_err(|e| format!("cannot act as uid {}: {e}", run_as.uid))?;
            (Some(open_work_dir(&plan.work_dir)?), open_files(plan)?)
        }
        None => {
            if !plan.work_dir.is_dir() {
                return Err(format!(
                    "working directory {} does not exist",
                    plan.work_dir.display()
                ));
            }
            (None, open_files(plan)?)
        }
    };
    let affinity = plan.containment.cpus.as_deref().map(cpu_set);
    {
        let cgroup = attached.as_ref().and_then(Attached::born_in);
        let exec = Exec {
            program: &plan.program,
            args: &plan.args,
            environment: &plan.environment,
            stdin: &stdin,
            stdout: &stdout,
            stderr: &stderr,
            work_dir_fd: work_dir.as_ref(),
            work_dir: &plan.work_dir,
            run_as: plan.run_as.as_ref(),
            affinity,
        };
        match clone_into::spawn_into(cgroup, attached.as_ref(), exec) {
            Ok(born) => return Ok(JobChild::Born(born)),
            // A kernel without clone3: std starts it (the child moves
            // itself into its cgroup as below; no SLURM_TASK_PID).
            Err(e) if clone_into::unsupported(&e) => {}
            Err(e) => return Err(format!("cannot execute the script: {e}")),
        }
    }
    let mut command = Command::new(&plan.program);
    if work_dir.is_none() {
        command.current_dir(&plan.work_dir);
    }
    command
        .args(&plan.args)
        .env_clear()
        .envs(&plan.environment)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(stderr)
        .kill_on_drop(false)
        .process_group(0);
    // Before the privilege drop: moving into the cgroup takes root's rights
    // where the supervisor has them.
    match (attached, affinity) {
        (None, None) => {}
        // Without a cgroup to enter, the supervisor's own thread takes the
        // job's CPUs and the child inherits them: no `pre_exec`, so the
        // cheaper posix_spawn still starts it.
        (None, Some(set)) => rustix::thread::sched_setaffinity(None, &set)
            .map_err(|e| format!("cannot pin the job to its CPUs: {e}"))?,
        (attached, affinity) => contain(command.as_std_mut(), attached, affinity),
    }
    if let (Some(run_as), Some(work_dir)) = (&plan.run_as, work_dir) {
        drop_privileges(command.as_std_mut(), run_as, work_dir);
    }
    command
        .spawn()
        .map(JobChild::Spawned)
        .map_err(|e| format!("cannot execute the script: {e}"))
}

/// The job's first process: started by std, or cloned into its cgroup.
pub enum JobChild {
    Spawned(Child),
    Born(clone_into::Born),
}

impl JobChild {
    pub fn id(&self) -> Option<u32> {
        match self {
            JobChild::Spawned(child) => child.id(),
            JobChild::Born(born) => Some(born.id()),
        }
    }

    /// Waits for the process to exit (and reaps it).
    pub async fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        match self {
            JobChild::Spawned(child) => child.wait().await,
            JobChild::Born(born) => born.wait().await,
        }
    }
}

fn open_files(plan: &LaunchPlan) -> Result<(File, File, File), String> {
    let stdout = open_output(&plan.stdout, plan.append)?;
    let stderr = if plan.stderr == plan.stdout {
        stdout
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", plan.stdout.display()))?
    } else {
        open_output(&plan.stderr, plan.append)?
    };
    let stdin = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(&plan.stdin)
        .and_then(blocking_again)
        .map_err(|e| format!("cannot open {}: {e}", plan.stdin.display()))?;
    Ok((stdin, stdout, stderr))
}

/// Clears `O_NONBLOCK` on a file opened with it: the open must not wait
/// (a FIFO with no one at the other end would hold the supervisor, and
/// with it the job's cancels and time limit), the job's reads and writes
/// should.
fn blocking_again(file: File) -> std::io::Result<File> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(&file)?;
    fcntl_setfl(&file, flags - OFlags::NONBLOCK)?;
    Ok(file)
}

/// The calling thread acting as another user (effective ids only) until
/// dropped. Linux keeps ids per thread, and the supervisor's runtime runs
/// on this one thread.
struct EffectiveUser;

impl EffectiveUser {
    fn become_(run_as: &RunAs) -> std::io::Result<EffectiveUser> {
        use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
        let groups: Vec<Gid> = run_as.groups.iter().map(|g| Gid::from_raw(*g)).collect();
        set_thread_groups(&groups)?;
        set_thread_res_gid(None, Gid::from_raw(run_as.gid), None)?;
        set_thread_res_uid(None, Uid::from_raw(run_as.uid), None)?;
        Ok(EffectiveUser)
    }
}

impl Drop for EffectiveUser {
    fn drop(&mut self) {
        use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
        // The saved ids are still root's, so these cannot fail.
        let _ = set_thread_res_uid(None, Uid::ROOT, None);
        let _ = set_thread_res_gid(None, Gid::ROOT, None);
        let _ = set_thread_groups(&[]);
    }
}

fn cpu_set(cpus: &[u32]) -> rustix::thread::CpuSet {
    let mut set = rustix::thread::CpuSet::new();
    for cpu in cpus {
        set.set(*cpu as usize);
    }
    set
}

/// Moves the job's process into its cgroup and pins it to its CPUs,
/// between fork and exec, so that nothing of the job ever runs outside.
#[allow(unsafe_code)]
fn contain(
    command: &mut std::process::Command,
    attached: Option<Attached>,
    affinity: Option<rustix::thread::CpuSet>,
) {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure makes only write(2) on
    // descriptors opened before the fork and sched_setaffinity(2) on a set
    // built before it; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if let Some(attached) = &attached {
                attached.enter()?;
            }
            if let Some(set) = &affinity {
                rustix::thread::sched_setaffinity(None, set)?;
            }
            Ok(())
        });
    }
}

/// Makes the job's process its user for good, between fork and exec.
#[allow(unsafe_code)]
fn drop_privileges(command: &mut std::process::Command, run_as: &RunAs, work_dir: File) {
    use rustix::thread::{set_thread_groups, set_thread_res_gid, set_thread_res_uid};
    use std::os::unix::process::CommandExt;
    let groups: Vec<Gid> = run_as.groups.iter().map(|g| Gid::from_raw(*g)).collect();
    let gid = Gid::from_raw(run_as.gid);
    let uid = Uid::from_raw(run_as.uid);
    // SAFETY: between fork and exec the closure makes only the setgroups,
    // setresgid, setresuid and fchdir system calls on data prepared before
    // the fork (the directory was opened before it, close-on-exec); it
    // allocates nothing.
    unsafe {
        command.pre_exec(move || {
            set_thread_groups(&groups)?;
            set_thread_res_gid(gid, gid, gid)?;
            set_thread_res_uid(uid, uid, uid)?;
            rustix::process::fchdir(&work_dir)?;
            Ok(())
        });
    }
}

/// Opens the job's working directory, as the job's user (the caller acts
/// as them): a directory they cannot reach fails the start here, with the
/// kernel's reason, and nothing learns whether it exists.
fn open_work_dir(path: &Path) -> Result<File, String> {
    OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY)
        .open(path)
        .map_err(|e| format!("cannot enter the working directory {}: {e}", path.display()))
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
/// workflow tools expect: submitit puts `%j` in the directory part and makes
/// that directory only after sbatch has answered, which a job started at
/// once would beat (Slurm fails such a job, `0:53`; see
/// docs/slurm-differences.md).
fn open_output(path: &Path, append: bool) -> Result<File, String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    // Non-blocking: a FIFO without a reader fails at once (ENXIO) rather
    // than holding the supervisor until someone opens it.
    OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .truncate(!append)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .and_then(blocking_again)
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
