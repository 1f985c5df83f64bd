//! One job's cgroup: a `job_<id>` directory in each tree the daemon uses
//! (with a `batch` leaf in a v2 tree, where the script runs, since a v2
//! cgroup that passes controllers to children may hold no process itself),
//! and a `step_<n>` directory inside it for each `crun` step, so a step's
//! usage is its own and what a step leaves behind ends with it.
//!
//! Written by hand rather than through a cgroup crate: the part we need is
//! a handful of file writes, and it must work on the hybrid layout (v1
//! controllers beside a unified mount without them), move a
//! process in between fork and exec through descriptors opened before the
//! fork, and add no D-Bus client to every binary (see README, "Containment").

use std::fs;
use std::io::{self, ErrorKind};
use std::os::fd::OwnedFd;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{Mode, OFlags};
use serde::{Deserialize, Serialize};

use super::devices::{self, Device};
use super::{Tree, TreeKind};
use crate::protocol::{JobId, Usage};

/// The script's leaf inside a job's v2 cgroup.
const BATCH: &str = "batch";

/// The directory of step `step` inside a job's cgroup.
fn step_name(step: u32) -> String {
    format!("step_{step}")
}

/// A job's cgroup directories, one per tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCgroup {
    parts: Vec<Part>,
    /// `cpuset.mems` for a v1 cpuset.
    mems: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Part {
    kind: TreeKind,
    /// `job_<id>` in the tree.
    dir: PathBuf,
}

impl Part {
    /// The directory the job's processes go into.
    fn leaf(&self) -> PathBuf {
        match self.kind {
            TreeKind::Unified { .. } => self.dir.join(BATCH),
            _ => self.dir.clone(),
        }
    }
}

/// Descriptors of the files the job's first process moves itself in by,
/// opened before the fork: between fork and exec the child writes `0` to
/// each, which takes no allocation and no path lookup.
///
/// In a v1 tree that file is `tasks`, not `cgroup.procs`: the child has one
/// thread, so moving the thread moves the process, and the kernel moves a
/// lone thread of the caller's without taking `cgroup_threadgroup_rwsem`
/// for writing, a lock whose writers wait for an RCU grace period. Measured
/// here, writing `0` to a v1 `tasks` takes 0.1-0.2 ms, to `cgroup.procs` of
/// a v1 or v2 cgroup 7-23 ms. A v2 cgroup has no such file (its
/// `cgroup.threads` moves threads only within one domain).
///
/// For a v2 tree the leaf's directory is open too: a child cloned with
/// `CLONE_INTO_CGROUP` into it is born there and never moved (see
/// `executor::clone_into`); `cgroup.procs` stays for kernels without it.
#[derive(Debug)]
pub struct Attached {
    procs: Vec<OwnedFd>,
    born_in: Option<OwnedFd>,
}

impl Attached {
    /// Moves the calling process into the job's cgroup; meant for the
    /// child between fork and exec (system calls only).
    pub fn enter(&self) -> io::Result<()> {
        for fd in &self.procs {
            rustix::io::write(fd, b"0")?;
        }
        Ok(())
    }

    /// The v2 leaf a child can be cloned into, where the job has one (and
    /// no v1 tree, which would still need a move).
    pub fn born_in(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        match (&self.born_in, self.procs.len()) {
            (Some(dir), 1) => Some(dir.as_fd()),
            _ => None,
        }
    }
}

impl JobCgroup {
    pub(super) fn new(id: JobId, trees: &[Tree], mems: &str) -> JobCgroup {
        let name = format!("job_{id}");
        JobCgroup {
            parts: trees
                .iter()
                .map(|tree| Part {
                    kind: tree.kind,
                    dir: tree.dir.join(&name),
                })
                .collect(),
            mems: mems.to_string(),
        }
    }

    /// The `job_<id>` directories, one per tree.
    #[cfg(test)]
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.parts.iter().map(|p| p.dir.clone()).collect()
    }

    /// Makes the cgroup's directories and writes its CPUs, memory limit and
    /// device program: everything but the descriptors, so that the daemon
    /// can do it while the job's supervisor is being forked (see
    /// `JobContainment::made`). A cgroup left by an earlier start of the
    /// same job is emptied and used again.
    pub fn make(
        &self,
        cpus: Option<&[u32]>,
        memory_limit: Option<u64>,
        deny_devices: &[Device],
    ) -> io::Result<()> {
        let cpu_list = cpus.map(cpu_list);
        for part in &self.parts {
            match fs::create_dir(&part.dir) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    kill_in(part, Duration::from_secs(10))?;
                    if let TreeKind::Unified { devices: true, .. } = part.kind {
                        // A device program cannot be taken off by another
                        // process's start: made anew, the cgroup has none.
                        JobCgroup {
                            parts: vec![part.clone()],
                            mems: String::new(),
                        }
                        .remove();
                        fs::create_dir(&part.dir)
                            .map_err(|e| context(e, "cannot create", &part.dir))?;
                    }
                }
                Err(e) => return Err(context(e, "cannot create", &part.dir)),
            }
            match part.kind {
                TreeKind::Unified {
                    memory,
                    cpuset,
                    devices,
                } => {
                    if devices && !deny_devices.is_empty() {
                        let dir = rustix::fs::open(
                            &part.dir,
                            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                            Mode::empty(),
                        )
                        .map_err(|e| context(e.into(), "cannot open", &part.dir))?;
                        devices::deny_in_v2(std::os::fd::AsFd::as_fd(&dir), deny_devices).map_err(
                            |e| context(e, "cannot attach a device program to", &part.dir),
                        )?;
                    }
                    if let (true, Some(cpus)) = (cpuset, &cpu_list) {
                        write(&part.dir, "cpuset.cpus", cpus)?;
                    }
                    if let (true, Some(limit)) = (memory, memory_limit) {
                        write(&part.dir, "memory.max", &limit.to_string())?;
                        // No swap beyond the limit (Slurm's AllowedSwapSpace=0);
                        // absent where the kernel has no swap accounting.
                        write_if_present(&part.dir, "memory.swap.max", "0")?;
                    }
                    match fs::create_dir(part.leaf()) {
                        Ok(()) => {}
                        Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(context(e, "cannot create", &part.leaf())),
                    }
                }
                TreeKind::V1Memory => {
                    if let Some(limit) = memory_limit {
                        write(&part.dir, "memory.limit_in_bytes", &limit.to_string())?;
                        write_if_present(
                            &part.dir,
                            "memory.memsw.limit_in_bytes",
                            &limit.to_string(),
                        )?;
                    }
                }
                TreeKind::V1Cpuset => {
                    write(&part.dir, "cpuset.mems", &self.mems)?;
                    let cpus = match &cpu_list {
                        Some(cpus) => cpus.clone(),
                        None => read(part.dir.parent().unwrap_or(&part.dir), "cpuset.cpus")?
                            .trim()
                            .to_string(),
                    };
                    write(&part.dir, "cpuset.cpus", &cpus)?;
                }
                TreeKind::V1Devices => {
                    for device in deny_devices {
                        write(&part.dir, "devices.deny", &device.rule())?;
                    }
                }
                TreeKind::V1Cpuacct | TreeKind::V1Freezer => {}
            }
        }
        Ok(())
    }

    /// Opens what the job's first process needs to move into the cgroup
    /// `make` made.
    pub fn attach(&self) -> io::Result<Attached> {
        let mut procs = Vec::with_capacity(self.parts.len());
        let mut born_in = None;
        for part in &self.parts {
            let entry = match part.kind {
                TreeKind::Unified { .. } => "cgroup.procs",
                _ => "tasks",
            };
            let path = part.leaf().join(entry);
            let fd = rustix::fs::open(&path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| context(e.into(), "cannot open", &path))?;
            procs.push(fd);
            if let TreeKind::Unified { .. } = part.kind {
                let leaf = part.leaf();
                let dir = rustix::fs::open(
                    &leaf,
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| context(e.into(), "cannot open", &leaf))?;
                born_in = Some(dir);
            }
        }
        Ok(Attached { procs, born_in })
    }

    /// Kills every process in the cgroup and waits until none is left, at
    /// most `patience`: `cgroup.kill` where the kernel has it; in v1, the
    /// job frozen whole (so nothing forks between the listing and the
    /// kill), SIGKILL to each process, thawed so the kills land; then
    /// SIGKILL to whatever is still listed until the list stays empty.
    pub fn kill_all(&self, patience: Duration) -> io::Result<()> {
        let Some(part) = self.tracking() else {
            return Ok(());
        };
        if !matches!(part.kind, TreeKind::Unified { .. })
            && let Some(freezer) = self.parts.iter().find(|p| p.kind == TreeKind::V1Freezer)
        {
            kill_frozen(freezer, patience.min(Duration::from_secs(1)));
        }
        kill_in(part, patience)
    }

    /// The tree that sees every process of the job: a v2 tree where there
    /// is one, else the first v1 tree.
    fn tracking(&self) -> Option<&Part> {
        self.parts
            .iter()
            .find(|p| matches!(p.kind, TreeKind::Unified { .. }))
            .or_else(|| self.parts.first())
    }

    /// How many processes of the job the OOM killer killed.
    pub fn oom_kills(&self) -> u64 {
        self.parts
            .iter()
            .filter_map(|part| match part.kind {
                TreeKind::Unified { memory: true, .. } => {
                    keyed(&read(&part.dir, "memory.events").ok()?, "oom_kill")
                }
                TreeKind::V1Memory => {
                    keyed(&read(&part.dir, "memory.oom_control").ok()?, "oom_kill")
                }
                _ => None,
            })
            .sum()
    }

    /// What the job has used: peak memory from the memory controller, CPU
    /// time from a v2 tree's `cpu.stat` or v1's cpuacct. `None` when the
    /// cgroup does not exist.
    pub fn usage(&self) -> Option<Usage> {
        let mut usage = Usage::default();
        let mut found = false;
        for part in &self.parts {
            match part.kind {
                TreeKind::Unified { memory, .. } => {
                    let Ok(stat) = read(&part.dir, "cpu.stat") else {
                        continue;
                    };
                    found = true;
                    usage.total_cpu_usec = keyed(&stat, "usage_usec");
                    usage.user_cpu_usec = keyed(&stat, "user_usec");
                    usage.system_cpu_usec = keyed(&stat, "system_usec");
                    if memory && let Ok(peak) = read(&part.dir, "memory.peak") {
                        usage.max_rss_kb = peak.trim().parse::<u64>().ok().map(|b| b / 1024);
                    }
                }
                TreeKind::V1Memory => {
                    if let Ok(peak) = read(&part.dir, "memory.max_usage_in_bytes") {
                        found = true;
                        usage.max_rss_kb = peak.trim().parse::<u64>().ok().map(|b| b / 1024);
                    }
                }
                TreeKind::V1Cpuacct if usage.total_cpu_usec.is_none() => {
                    let (Ok(total), Ok(stat)) = (
                        read(&part.dir, "cpuacct.usage"),
                        read(&part.dir, "cpuacct.stat"),
                    ) else {
                        continue;
                    };
                    found = true;
                    let tick_usec = 1_000_000 / clock_ticks_per_second();
                    usage.total_cpu_usec = total.trim().parse::<u64>().ok().map(|ns| ns / 1000);
                    usage.user_cpu_usec = keyed(&stat, "user").map(|t| t * tick_usec);
                    usage.system_cpu_usec = keyed(&stat, "system").map(|t| t * tick_usec);
                }
                TreeKind::V1Cpuset
                | TreeKind::V1Cpuacct
                | TreeKind::V1Devices
                | TreeKind::V1Freezer => {}
            }
        }
        found.then_some(usage)
    }

    /// The processes in the job's cgroup now.
    pub fn pids(&self) -> Vec<i32> {
        self.tracking().map(pids_in).unwrap_or_default()
    }

    /// Removes the cgroup's directories (an empty cgroup is removed with
    /// `rmdir`; its files go with it). A v1 cgroup whose last process is
    /// still exiting refuses for a moment, so each is tried a few times.
    pub fn remove(&self) {
        for part in &self.parts {
            let mut dirs: Vec<PathBuf> = fs::read_dir(&part.dir)
                .map(|entries| {
                    entries
                        .flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .map(|e| e.path())
                        .collect()
                })
                .unwrap_or_default();
            dirs.push(part.dir.clone());
            for dir in dirs {
                remove_dir(&dir);
            }
        }
    }

    /// Makes step `step`'s cgroup inside the job's, with the job's CPUs,
    /// and gives `owner` the files its tasks move themselves in by (v1
    /// `tasks`; v2 `cgroup.procs`, of the step and of the job, the move's
    /// common ancestor, as the kernel checks). The paths are for `crun`,
    /// which opens them before it forks each task. Only the owner's own
    /// processes can be moved in (the kernel checks that too), and only
    /// within what the job's cgroup holds them to.
    pub fn create_step(&self, step: u32, owner: Option<(u32, u32)>) -> io::Result<Vec<PathBuf>> {
        let mut entries = Vec::with_capacity(self.parts.len());
        for part in &self.parts {
            let dir = part.dir.join(step_name(step));
            if let TreeKind::Unified { memory: true, .. } = part.kind {
                // Each step's own memory figures (its peak, its OOM kills):
                // the job's directory holds no process (they are in `batch`
                // and the steps), so it may pass the controller on.
                write_if_present(&part.dir, "cgroup.subtree_control", "+memory")?;
            }
            match fs::create_dir(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(context(e, "cannot create", &dir)),
            }
            if part.kind == TreeKind::V1Cpuset {
                // A v1 cpuset takes no task until it has CPUs and memory
                // nodes; the step has the job's.
                for file in ["cpuset.mems", "cpuset.cpus"] {
                    write(&dir, file, read(&part.dir, file)?.trim())?;
                }
            }
            if owner.is_some() {
                // The daemon's umask keeps its directories to itself; the
                // step's user must pass through them to reach its entry
                // (search only: nothing is listed for them).
                for dir in [
                    part.dir.parent(),
                    Some(part.dir.as_path()),
                    Some(dir.as_path()),
                ]
                .into_iter()
                .flatten()
                {
                    let mode = fs::metadata(dir)
                        .map_err(|e| context(e, "cannot read", dir))?
                        .permissions()
                        .mode();
                    if mode & 0o011 != 0o011 {
                        fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o011))
                            .map_err(|e| context(e, "cannot open up", dir))?;
                    }
                }
            }
            let entry = match part.kind {
                TreeKind::Unified { .. } => {
                    if let Some(owner) = owner {
                        chown(&part.dir.join("cgroup.procs"), owner)?;
                    }
                    dir.join("cgroup.procs")
                }
                _ => dir.join("tasks"),
            };
            if let Some(owner) = owner {
                chown(&entry, owner)?;
            }
            entries.push(entry);
        }
        Ok(entries)
    }

    /// Step `step`'s part of the job's cgroup, as a cgroup of its own (for
    /// its usage, its OOM kills, its leftovers).
    pub fn step(&self, step: u32) -> JobCgroup {
        JobCgroup {
            parts: self
                .parts
                .iter()
                .map(|part| Part {
                    kind: part.kind,
                    dir: part.dir.join(step_name(step)),
                })
                .collect(),
            mems: self.mems.clone(),
        }
    }

    /// True when the cgroup exists (in its first tree).
    pub fn exists(&self) -> bool {
        self.parts.first().is_some_and(|p| p.dir.is_dir())
    }
}

/// Removes one cgroup directory. A v1 cgroup whose last process is still
/// exiting refuses for a moment, so it is tried a few times.
fn remove_dir(dir: &Path) {
    for attempt in 0..50 {
        match fs::remove_dir(dir) {
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt < 49 => {
                std::thread::sleep(Duration::from_millis(2));
            }
            _ => break,
        }
    }
}

fn chown(path: &Path, (uid, gid): (u32, u32)) -> io::Result<()> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| context(e, "cannot hand over", path))
}

/// Kills everything in one job directory and waits for it to be empty.
fn kill_in(part: &Part, patience: Duration) -> io::Result<()> {
    let deadline = Instant::now() + patience;
    let kill_file = part.dir.join("cgroup.kill");
    let has_kill = matches!(part.kind, TreeKind::Unified { .. }) && kill_file.exists();
    let mut pause = Duration::from_micros(200);
    while populated(part) {
        if has_kill {
            fs::write(&kill_file, "1").map_err(|e| context(e, "cannot write", &kill_file))?;
        } else {
            for pid in pids_in(part) {
                if let Some(pid) = rustix::process::Pid::from_raw(pid) {
                    let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                format!("processes are still alive in {}", part.dir.display()),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
    Ok(())
}

/// Freezes the job's v1 freezer cgroup (waiting at most `patience` for it
/// to settle), sends SIGKILL to each process in it, and thaws it: a frozen
/// process cannot fork, and dies of the SIGKILL as it thaws. Best effort:
/// `kill_in` then makes sure.
fn kill_frozen(freezer: &Part, patience: Duration) {
    if !populated(freezer) || write(&freezer.dir, "freezer.state", "FROZEN").is_err() {
        return;
    }
    let deadline = Instant::now() + patience;
    while read(&freezer.dir, "freezer.state").is_ok_and(|state| state.trim() == "FREEZING")
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(1));
    }
    for pid in pids_in(freezer) {
        if let Some(pid) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
    let _ = write(&freezer.dir, "freezer.state", "THAWED");
}

/// True while a process is alive in the job directory or below it.
fn populated(part: &Part) -> bool {
    match part.kind {
        TreeKind::Unified { .. } => match read(&part.dir, "cgroup.events") {
            Ok(events) => keyed(&events, "populated").is_some_and(|n| n > 0),
            Err(_) => false,
        },
        _ => !pids_in(part).is_empty(),
    }
}

/// Every process in a job directory and the directories inside it (the
/// batch leaf, the steps): a cgroup's own list holds only its members.
fn pids_in(part: &Part) -> Vec<i32> {
    let mut pids = Vec::new();
    let mut dirs = vec![part.dir.clone()];
    if let Ok(entries) = fs::read_dir(&part.dir) {
        dirs.extend(
            entries
                .flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path()),
        );
    }
    for dir in dirs {
        if let Ok(text) = read(&dir, "cgroup.procs") {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids
}

/// The CPU list in the kernel's format, `0,2,5`.
fn cpu_list(cpus: &[u32]) -> String {
    let mut list = String::new();
    for (i, cpu) in cpus.iter().enumerate() {
        if i > 0 {
            list.push(',');
        }
        list.push_str(&cpu.to_string());
    }
    list
}

/// The value of `key` in a flat keyed file (`key value` lines).
pub(super) fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

fn clock_ticks_per_second() -> u64 {
    rustix::param::clock_ticks_per_second().max(1)
}

pub(super) fn read(dir: &Path, file: &str) -> io::Result<String> {
    let path = dir.join(file);
    fs::read_to_string(&path).map_err(|e| context(e, "cannot read", &path))
}

pub(super) fn write(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    let path = dir.join(file);
    fs::write(&path, value).map_err(|e| context(e, &format!("cannot write {value:?} to"), &path))
}

fn write_if_present(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    match write(dir, file, value) {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn context(e: io::Error, what: &str, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_files_read_by_key() {
        let events = "populated 1\nfrozen 0\n";
        assert_eq!(keyed(events, "populated"), Some(1));
        assert_eq!(keyed(events, "frozen"), Some(0));
        assert_eq!(keyed(events, "oom_kill"), None);
        let oom = "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n";
        assert_eq!(keyed(oom, "oom_kill"), Some(3));
    }

    #[test]
    fn cpu_lists_are_comma_separated() {
        assert_eq!(cpu_list(&[0, 2, 5]), "0,2,5");
        assert_eq!(cpu_list(&[1]), "1");
    }
}
