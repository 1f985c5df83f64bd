//! Holding each job to what it was booked: its CPUs, its memory, and its
//! processes, so that the tracker's books are true on the machine.
//!
//! The daemon picks a backend once at start-up (`--containment`):
//! - **cgroup v2**: one cgroup per job under the daemon's own (delegated)
//!   cgroup, or beside it under a systemd `DelegateSubgroup=` (`setup`), with `cpuset`, `memory` and `pids` where the parent offers them;
//!   the script is cloned straight into it (`CLONE_INTO_CGROUP`), and
//!   `cgroup.kill` ends everything in it at once.
//! - **cgroup v1** (and the hybrid layout, v1 controllers plus a cgroup2
//!   mount without them): one directory per job in the v1 `memory`,
//!   `cpuset`, `cpuacct` and `freezer` hierarchies; the freezer stops the
//!   job's processes so that one pass of SIGKILL ends them all. The
//!   unified mount is not used: moving a process into a v2 cgroup waits
//!   for an RCU grace period (10-27 ms a job), moving a lone thread into a
//!   v1 one does not (see `cgroup`).
//! - **none**: the supervisor is a child subreaper, so every descendant stays
//!   its descendant; CPUs are pinned by affinity and memory is sampled once a
//!   second (best effort, like Slurm's `OverMemoryKill`).
//!
//! The daemon resolves what a job gets into a [`JobContainment`] that travels
//! to the supervisor in the job's plan; the supervisor makes the cgroup,
//! starts the script inside it (between fork and exec, so no process of the
//! job ever runs outside), kills whatever is left when the script ends,
//! reads the usage, and removes the cgroup before it exits. The daemon
//! itself touches a job's cgroup only when its supervisor was lost: it
//! kills what is left there before it gives the job's resources back.

mod cgroup;
pub mod devices;
pub mod processes;
mod setup;

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use cgroup::{Attached, JobCgroup};
pub use devices::Device;
pub use processes::{TreeSampler, kill_descendants, kill_group_verified};
pub use setup::{Mode, resolve};

use crate::protocol::{JobId, Usage};

/// The backend the daemon resolved at start-up, with what it needs to make
/// each job's cgroup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Containment {
    pub backend: Backend,
    /// The CPUs the daemon may hand out, in order: booked CPU id `i` is the
    /// machine's CPU `host_cpus[i % len]`.
    pub host_cpus: Vec<u32>,
    /// Whether a job's booked CPUs become its cpuset and affinity
    /// (`--cpu-bind none` turns it off).
    pub pin: bool,
    /// For each of the node's GPUs (by tracker id), its device node, where
    /// it has one.
    pub gpu_devices: Vec<Option<Device>>,
}

/// Which way jobs are contained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Backend {
    /// One cgroup tree per controller (v1), one for all of them (v2).
    Cgroup {
        version: CgroupVersion,
        /// The daemon's own directory in each tree used; a job's cgroup is
        /// `job_<id>` inside each.
        trees: Vec<Tree>,
        /// `cpuset.mems` for jobs in a v1 cpuset tree (v1 refuses tasks
        /// in a cpuset without memory nodes).
        mems: String,
    },
    /// No writable cgroup tree: a subreaper supervisor, affinity and a
    /// memory sampler.
    None,
}

/// The flavour of the cgroup backend, as named in logs and `show config`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupVersion {
    V2,
    V1,
}

/// One directory the daemon owns in one cgroup hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    pub kind: TreeKind,
    pub dir: PathBuf,
}

/// What a tree is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TreeKind {
    /// A cgroup v2 tree: tracking, `cgroup.kill` and CPU time always; the
    /// memory and cpuset controllers where enabled for the daemon's jobs.
    /// `devices`: a device program can be attached (the daemon may load
    /// BPF programs), so a job can be kept to its own GPUs.
    Unified {
        memory: bool,
        cpuset: bool,
        devices: bool,
    },
    /// The v1 memory controller: limit, OOM count, peak usage.
    V1Memory,
    /// The v1 cpuset controller.
    V1Cpuset,
    /// The v1 cpuacct controller: CPU time where no unified tree counts it.
    V1Cpuacct,
    /// The v1 freezer: the job is stopped whole before it is killed.
    V1Freezer,
    /// The v1 devices controller: a job may open only its own GPUs.
    V1Devices,
}

impl Containment {
    /// The backend's name as `--containment` spells it.
    pub fn name(&self) -> &'static str {
        match &self.backend {
            Backend::Cgroup {
                version: CgroupVersion::V2,
                ..
            } => "cgroup2",
            Backend::Cgroup {
                version: CgroupVersion::V1,
                ..
            } => "cgroup1",
            Backend::None => "none",
        }
    }

    /// One line saying what jobs get, for the start-up log and `show config`.
    pub fn describe(&self) -> String {
        let pinning = if self.pin {
            "CPUs pinned"
        } else {
            "CPUs not pinned"
        };
        match &self.backend {
            Backend::Cgroup { .. } => {
                let dirs: Vec<String> = self
                    .dirs()
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect();
                let memory = if self.limits_memory() {
                    "memory limited"
                } else {
                    "memory sampled"
                };
                let gpus = match (self.gpu_devices.is_empty(), self.isolates_devices()) {
                    (true, _) => "",
                    (false, true) => ", GPU devices isolated",
                    (false, false) => ", GPUs by environment only",
                };
                format!(
                    "{} ({pinning}, {memory}{gpus}; {})",
                    self.name(),
                    dirs.join(", ")
                )
            }
            Backend::None => {
                format!("none ({pinning}, memory sampled, processes followed as a subreaper)")
            }
        }
    }

    /// True when jobs may open only their own GPUs' device nodes: the v1
    /// devices controller, or a device program on cgroup v2. Elsewhere
    /// GPUs are assigned through the environment only (`none`, or a v2
    /// daemon that may not load BPF programs).
    pub fn isolates_devices(&self) -> bool {
        match &self.backend {
            Backend::Cgroup { trees, .. } => trees.iter().any(|t| {
                matches!(
                    t.kind,
                    TreeKind::V1Devices | TreeKind::Unified { devices: true, .. }
                )
            }),
            Backend::None => false,
        }
    }

    /// True when the kernel enforces memory limits (a memory controller).
    pub fn limits_memory(&self) -> bool {
        match &self.backend {
            Backend::Cgroup { trees, .. } => trees.iter().any(|t| {
                matches!(
                    t.kind,
                    TreeKind::V1Memory | TreeKind::Unified { memory: true, .. }
                )
            }),
            Backend::None => false,
        }
    }

    /// What the job `id`, holding `cpu_ids` and `memory_mb` (0: no limit),
    /// gets; resolved by the daemon, carried out by its supervisor.
    pub fn for_job(
        &self,
        id: JobId,
        cpu_ids: &[u32],
        memory_mb: u64,
        gpu_ids: &[u32],
    ) -> JobContainment {
        let cpus = (self.pin && !self.host_cpus.is_empty()).then(|| {
            let mut cpus: Vec<u32> = cpu_ids
                .iter()
                .map(|i| self.host_cpus[*i as usize % self.host_cpus.len()])
                .collect();
            cpus.sort_unstable();
            cpus.dedup();
            cpus
        });
        let memory_limit_bytes = (memory_mb > 0).then(|| memory_mb.saturating_mul(1 << 20));
        let cgroup = self.cgroup_of(id);
        let sample_memory = memory_limit_bytes.is_some() && !self.limits_memory();
        let deny_devices = if self.isolates_devices() {
            self.gpu_devices
                .iter()
                .enumerate()
                .filter(|(index, _)| !gpu_ids.contains(&(*index as u32)))
                .filter_map(|(_, device)| *device)
                .collect()
        } else {
            Vec::new()
        };
        JobContainment {
            subreaper: cgroup.is_none(),
            cgroup,
            deny_devices,
            cpus,
            memory_limit_bytes,
            sample_memory,
            made: false,
        }
    }

    /// The cgroup of job `id`, whether or not it exists now.
    pub fn cgroup_of(&self, id: JobId) -> Option<JobCgroup> {
        match &self.backend {
            Backend::Cgroup { trees, mems, .. } => Some(JobCgroup::new(id, trees, mems)),
            Backend::None => None,
        }
    }

    /// Kills every process left in job `id`'s cgroup and waits until it is
    /// empty, then removes the cgroup: for a job whose supervisor was lost,
    /// before its resources go to another job. `Ok` once nothing of the job
    /// runs; without cgroups there is nothing to look in, and the caller
    /// kills the recorded process group instead.
    pub fn kill_and_remove(&self, id: JobId) -> io::Result<()> {
        let Some(cgroup) = self.cgroup_of(id) else {
            return Ok(());
        };
        cgroup.kill_all(Duration::from_secs(30))?;
        cgroup.remove();
        Ok(())
    }

    /// Makes the cgroup of step `step` of job `id` for its `crun`, owned by
    /// `owner` where the daemon acts for another user; the files its tasks
    /// enter by. Empty without a cgroup backend, or when the job's cgroup
    /// is gone (the step then runs where `crun` does, still in the job).
    pub fn create_step(
        &self,
        id: JobId,
        step: u32,
        owner: Option<(u32, u32)>,
    ) -> io::Result<Vec<PathBuf>> {
        match self.cgroup_of(id) {
            Some(cgroup) if cgroup.exists() => cgroup.create_step(step, owner),
            _ => Ok(Vec::new()),
        }
    }

    /// Ends step `step` of job `id` in its cgroup: kills what the step left
    /// running (a step's processes end with it, as under slurmstepd), reads
    /// what it used, and removes its directory. `None` when the step had no
    /// cgroup.
    pub fn end_step(&self, id: JobId, step: u32) -> Option<StepUsage> {
        let cgroup = self.cgroup_of(id)?.step(step);
        if !cgroup.exists() {
            return None;
        }
        if let Err(e) = cgroup.kill_all(Duration::from_secs(10)) {
            crate::daemon::log(format_args!("job {id} step {step}: {e}"));
        }
        let ended = StepUsage {
            usage: cgroup.usage().unwrap_or_default(),
            out_of_memory: cgroup.oom_kills() > 0,
        };
        cgroup.remove();
        Some(ended)
    }

    /// The ids of jobs that have a cgroup now, for recovery to clean up
    /// after jobs that are not running any more.
    pub fn leftovers(&self) -> Vec<JobId> {
        let Backend::Cgroup { trees, .. } = &self.backend else {
            return Vec::new();
        };
        let mut ids: Vec<JobId> = trees
            .iter()
            .filter_map(|tree| std::fs::read_dir(&tree.dir).ok())
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let id = name.to_str()?.strip_prefix("job_")?.parse().ok()?;
                Some(JobId(id))
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// What job `id` has used so far, from its cgroup (`None` without one,
    /// or when it has none now).
    pub fn usage_so_far(&self, id: JobId) -> Option<Usage> {
        self.cgroup_of(id).and_then(|cgroup| cgroup.usage())
    }

    /// Removes the daemon's own directories (each only if empty). Only for
    /// a daemon that stops with no job running: then no supervisor can be
    /// about to make a job's cgroup in them.
    pub fn tidy(&self) {
        if let Backend::Cgroup { trees, .. } = &self.backend {
            for tree in trees {
                let _ = std::fs::remove_dir(&tree.dir);
            }
        }
    }

    /// The daemon's own directories in the trees it uses.
    pub fn dirs(&self) -> Vec<PathBuf> {
        match &self.backend {
            Backend::Cgroup { trees, .. } => trees.iter().map(|t| t.dir.clone()).collect(),
            Backend::None => Vec::new(),
        }
    }
}

/// What a step's cgroup counted by the time the step ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepUsage {
    pub usage: Usage,
    /// The OOM killer killed a process of the step inside its job's limit.
    pub out_of_memory: bool,
}

/// What one job gets, as its supervisor carries it out; the default is
/// nothing beyond the job's process group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobContainment {
    /// The job's cgroup; `None` without a cgroup backend.
    pub cgroup: Option<JobCgroup>,
    /// The machine's CPUs the job is pinned to; `None` when unpinned.
    pub cpus: Option<Vec<u32>>,
    /// The job's memory limit; `None` when it booked no memory.
    pub memory_limit_bytes: Option<u64>,
    /// The supervisor follows every descendant (no cgroup to do it).
    pub subreaper: bool,
    /// The supervisor enforces the memory limit by sampling (no memory
    /// controller to do it).
    pub sample_memory: bool,
    /// The node's other GPUs' device nodes, denied to this job.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny_devices: Vec<Device>,
    /// The daemon has made the cgroup already, while the supervisor was
    /// being forked, so that its directories and writes are off the job's
    /// way to its start; the supervisor only opens it (and makes it
    /// itself if that fails).
    #[serde(default)]
    pub made: bool,
}

impl JobContainment {
    /// Makes the job's cgroup, if it has one (`JobCgroup::make`).
    pub fn make_cgroup(&self) -> io::Result<()> {
        match &self.cgroup {
            Some(cgroup) => cgroup.make(
                self.cpus.as_deref(),
                self.memory_limit_bytes,
                &self.deny_devices,
            ),
            None => Ok(()),
        }
    }

    /// Makes the job's cgroup, or opens the one the daemon made, for its
    /// first process to move in; `None` without a cgroup.
    pub fn attach_cgroup(&self) -> Option<io::Result<Attached>> {
        let cgroup = self.cgroup.as_ref()?;
        if self.made
            && let Ok(attached) = cgroup.attach()
        {
            return Some(Ok(attached));
        }
        Some(self.make_cgroup().and_then(|()| cgroup.attach()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpu(minor: u32) -> Device {
        Device {
            block: false,
            major: 195,
            minor,
        }
    }

    fn with(backend: Backend, pin: bool) -> Containment {
        Containment {
            backend,
            host_cpus: vec![4, 5, 6],
            pin,
            gpu_devices: vec![Some(gpu(0)), None, Some(gpu(2))],
        }
    }

    #[test]
    fn booked_cpus_map_onto_the_machines_cpus() {
        let c = with(Backend::None, true);
        let job = c.for_job(JobId(1), &[0, 2], 0, &[]);
        assert_eq!(job.cpus, Some(vec![4, 6]));
        // More booked CPUs than the machine has wrap around.
        assert_eq!(c.for_job(JobId(1), &[3], 0, &[]).cpus, Some(vec![4]));
        assert_eq!(
            with(Backend::None, false)
                .for_job(JobId(1), &[0], 0, &[])
                .cpus,
            None
        );
    }

    #[test]
    fn without_cgroups_the_supervisor_reaps_and_samples() {
        let job = with(Backend::None, true).for_job(JobId(3), &[0], 100, &[]);
        assert!(job.subreaper);
        assert!(job.sample_memory);
        assert_eq!(job.memory_limit_bytes, Some(100 << 20));
        assert!(job.cgroup.is_none());
        let unlimited = with(Backend::None, true).for_job(JobId(3), &[0], 0, &[]);
        assert!(!unlimited.sample_memory);
        assert_eq!(unlimited.memory_limit_bytes, None);
    }

    #[test]
    fn a_memory_controller_replaces_the_sampler() {
        let trees = vec![
            Tree {
                kind: TreeKind::Unified {
                    memory: false,
                    cpuset: false,
                    devices: false,
                },
                dir: "/u/c".into(),
            },
            Tree {
                kind: TreeKind::V1Memory,
                dir: "/m/c".into(),
            },
        ];
        let c = with(
            Backend::Cgroup {
                version: CgroupVersion::V1,
                trees,
                mems: "0".into(),
            },
            true,
        );
        let job = c.for_job(JobId(7), &[1], 64, &[0]);
        assert!(!job.sample_memory && !job.subreaper);
        // No devices tree: GPUs are the environment's only.
        assert!(job.deny_devices.is_empty());
        assert!(
            c.describe()
                .starts_with("cgroup1 (CPUs pinned, memory limited")
        );
        let cgroup = job.cgroup.expect("a cgroup");
        assert_eq!(
            cgroup.dirs(),
            vec![PathBuf::from("/u/c/job_7"), "/m/c/job_7".into()]
        );
    }

    /// The supervisor's fallback: told the daemon made the cgroup when it
    /// could not, it makes the cgroup itself, limits and all. Run against
    /// the machine's v1 memory controller, in a parent of its own.
    #[test]
    fn the_supervisor_makes_the_cgroup_the_daemon_could_not() {
        let root = std::path::Path::new("/sys/fs/cgroup/memory");
        if !rustix::process::geteuid().is_root() || !root.join("tasks").exists() {
            eprintln!("skipped: needs root and a v1 memory controller at {root:?}");
            return;
        }
        let parent = root.join(format!("conductor-unit-{}", std::process::id()));
        std::fs::create_dir(&parent).expect("a parent cgroup");
        let c = with(
            Backend::Cgroup {
                version: CgroupVersion::V1,
                trees: vec![Tree {
                    kind: TreeKind::V1Memory,
                    dir: parent.clone(),
                }],
                mems: String::new(),
            },
            false,
        );
        let mut job = c.for_job(JobId(7), &[0], 64, &[]);
        job.made = true;
        let attached = job.attach_cgroup().expect("a cgroup").map(|_| ());
        let limit = std::fs::read_to_string(parent.join("job_7/memory.limit_in_bytes"));
        // Told again that it was made, and now it was: it is only opened.
        let again = job.attach_cgroup().expect("a cgroup").map(|_| ());
        c.cgroup_of(JobId(7)).expect("a cgroup").remove();
        std::fs::remove_dir(&parent).expect("the parent removed");
        assert!(attached.is_ok(), "{attached:?}");
        assert_eq!(limit.expect("the limit").trim(), (64u64 << 20).to_string());
        assert!(again.is_ok(), "{again:?}");
    }

    #[test]
    fn a_devices_tree_denies_the_other_gpus() {
        let trees = vec![Tree {
            kind: TreeKind::V1Devices,
            dir: "/d/c".into(),
        }];
        let c = with(
            Backend::Cgroup {
                version: CgroupVersion::V1,
                trees,
                mems: String::new(),
            },
            false,
        );
        assert!(c.isolates_devices());
        let job = c.for_job(JobId(8), &[0], 0, &[0]);
        assert_eq!(job.deny_devices, vec![gpu(2)]);
        let none = c.for_job(JobId(9), &[0], 0, &[]);
        assert_eq!(none.deny_devices.len(), 2);
        assert!(c.describe().contains("GPU devices isolated"));
    }
}
