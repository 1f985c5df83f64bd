//! Choosing the containment backend at start-up: what this machine's
//! cgroup mounts offer (`/proc/self/mountinfo`), where the daemon sits in
//! each hierarchy (`/proc/self/cgroup`), and whether it may make cgroups
//! there. Each daemon uses a directory of its own in each tree, named for
//! its state directory, so several daemons on one machine never share a
//! `job_<id>`, and a restarted daemon finds its jobs' cgroups again.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::cgroup::{read, write};
use super::devices::{self, Device};
use super::{Backend, CgroupVersion, Containment, Tree, TreeKind};
use crate::protocol::Gpu;

/// The backend asked for with `--containment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The best this machine offers: cgroup v2, else v1, else none.
    Auto,
    /// cgroup v2 (a delegated subtree).
    Cgroup2,
    /// cgroup v1 controllers.
    Cgroup1,
    /// No cgroups: a subreaper supervisor, affinity and a memory sampler.
    None,
}

/// One cgroup mount: its type, the controllers of a v1 mount, where it is
/// mounted and which part of its hierarchy it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mount {
    v2: bool,
    controllers: Vec<String>,
    point: PathBuf,
    root: String,
}

fn parse_mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let left: Vec<&str> = left.split(' ').collect();
            let right: Vec<&str> = right.split(' ').collect();
            let fstype = *right.first()?;
            let v2 = match fstype {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let controllers = if v2 {
                Vec::new()
            } else {
                right
                    .get(2)?
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("name="))
                    .map(str::to_string)
                    .collect()
            };
            Some(Mount {
                v2,
                controllers,
                point: PathBuf::from(unescape(left.get(4)?)),
                root: unescape(left.get(3)?),
            })
        })
        .collect()
}

/// mountinfo escapes spaces and the like as octal (`\040`).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let code = rest
            .get(at + 1..at + 4)
            .and_then(|o| u8::from_str_radix(o, 8).ok());
        match code {
            Some(byte) => {
                out.push(byte as char);
                rest = &rest[at + 4..];
            }
            None => {
                out.push('\\');
                rest = &rest[at + 1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The daemon's path in one hierarchy: its v1 controllers (`None` for the
/// v2 hierarchy) and the path.
type OwnCgroup = (Option<Vec<String>>, String);

/// The daemon's path in each hierarchy, from `/proc/self/cgroup`.
fn parse_own_cgroups(text: &str) -> Vec<OwnCgroup> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let _id = parts.next()?;
            let controllers = parts.next()?;
            let path = parts.next()?;
            // The v2 line is the one with no controller field at all
            // (`0::/path`); a named v1 hierarchy (`name=systemd`) has one
            // but no controllers, and is neither.
            let controllers = if controllers.is_empty() {
                None
            } else {
                Some(
                    controllers
                        .split(',')
                        .filter(|c| !c.starts_with("name="))
                        .map(str::to_string)
                        .collect(),
                )
            };
            Some((controllers, path.to_string()))
        })
        .collect()
}

/// Where the daemon's own cgroup is in a mounted hierarchy.
fn own_dir(mount: &Mount, own: &[OwnCgroup]) -> Option<PathBuf> {
    let path = own.iter().find_map(|(controllers, path)| {
        let same = match controllers {
            None => mount.v2,
            Some(controllers) => {
                !mount.v2
                    && !controllers.is_empty()
                    && mount.controllers.iter().all(|c| controllers.contains(c))
            }
        };
        same.then_some(path)
    })?;
    let inside = path
        .strip_prefix(mount.root.trim_end_matches('/'))
        .unwrap_or(path);
    Some(mount.point.join(inside.trim_start_matches('/')))
}

/// Resolves `mode` into the backend the daemon uses; a forced backend that
/// is not available is an error naming why. `pin` is `--cpu-bind`.
pub fn resolve(
    mode: Mode,
    state_dir: &Path,
    pin: bool,
    gpus: &[Gpu],
) -> Result<Containment, String> {
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let own = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let mounts = parse_mounts(&mountinfo);
    let own = parse_own_cgroups(&own);
    let tag = tag_of(state_dir);
    let host_cpus = host_cpus();
    let gpu_devices: Vec<Option<Device>> = gpus
        .iter()
        .map(|gpu| gpu.device.as_deref().and_then(Device::of))
        .collect();
    let isolate = gpu_devices.iter().any(Option::is_some);
    let contained = |backend| Containment {
        backend,
        host_cpus: host_cpus.clone(),
        pin,
        gpu_devices: gpu_devices.clone(),
    };
    let pure_v2 = mounts.iter().all(|m| m.v2) && mounts.iter().any(|m| m.v2);
    match mode {
        Mode::None => Ok(contained(Backend::None)),
        Mode::Cgroup2 => v2(&mounts, &own, &tag, isolate).map(contained),
        Mode::Cgroup1 => v1(&mounts, &own, &tag, isolate).map(contained),
        Mode::Auto => {
            let tried = if pure_v2 {
                v2(&mounts, &own, &tag, isolate)
            } else {
                v1(&mounts, &own, &tag, isolate).or_else(|_| v2(&mounts, &own, &tag, isolate))
            };
            Ok(contained(tried.unwrap_or(Backend::None)))
        }
    }
}

/// The daemon's name in each cgroup tree: from its state directory's
/// device and inode, stable across restarts and distinct between daemons.
fn tag_of(state_dir: &Path) -> String {
    match fs::metadata(state_dir) {
        Ok(m) => format!("conductor-{:x}-{:x}", m.dev(), m.ino()),
        Err(_) => format!("conductor-{}", std::process::id()),
    }
}

/// The CPUs this daemon may run on, in order.
fn host_cpus() -> Vec<u32> {
    match rustix::thread::sched_getaffinity(None) {
        Ok(set) => (0..rustix::thread::CpuSet::MAX_CPU as u32)
            .filter(|cpu| set.is_set(*cpu as usize))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// cgroup v2: the daemon's own cgroup, with the controllers it can give
/// its jobs. Where controllers are offered but not enabled for children,
/// the daemon moves itself into a leaf of its own first (a cgroup with
/// processes may not pass controllers on).
fn v2(
    mounts: &[Mount],
    own: &[OwnCgroup],
    tag: &str,
    isolate_devices: bool,
) -> Result<Backend, String> {
    let mount = mounts
        .iter()
        .find(|m| m.v2)
        .ok_or("containment cgroup2: no cgroup2 file system is mounted")?;
    let base = own_dir(mount, own)
        .ok_or("containment cgroup2: this process is in no cgroup v2 (/proc/self/cgroup)")?;
    let jobs = make_dir(&base.join(tag)).map_err(|e| {
        format!(
            "containment cgroup2: cannot create a cgroup in {} ({e}); delegate it \
             (systemd: Delegate=yes, or systemd-run --user --scope -p Delegate=yes conductord)",
            base.display()
        )
    })?;
    let wanted = ["cpuset", "memory", "pids"];
    let offered = read(&base, "cgroup.controllers").unwrap_or_default();
    let offered: Vec<&str> = offered
        .split_whitespace()
        .filter(|c| wanted.contains(c))
        .collect();
    let enabled = |dir: &Path| read(dir, "cgroup.subtree_control").unwrap_or_default();
    if offered
        .iter()
        .any(|c| !enabled(&base).split_whitespace().any(|e| e == *c))
    {
        if let Ok(leaf) = make_dir(&base.join(format!("{tag}.daemon"))) {
            let _ = write(&leaf, "cgroup.procs", &std::process::id().to_string());
        }
        for controller in &offered {
            let _ = write(&base, "cgroup.subtree_control", &format!("+{controller}"));
        }
    }
    let passed = enabled(&base);
    for controller in passed.split_whitespace().filter(|c| wanted.contains(c)) {
        let _ = write(&jobs, "cgroup.subtree_control", &format!("+{controller}"));
    }
    let given = enabled(&jobs);
    let has = |c: &str| given.split_whitespace().any(|g| g == c);
    Ok(Backend::Cgroup {
        version: CgroupVersion::V2,
        trees: vec![Tree {
            kind: TreeKind::Unified {
                memory: has("memory"),
                cpuset: has("cpuset"),
                devices: isolate_devices && devices::programs_allowed(),
            },
            dir: jobs,
        }],
        mems: String::new(),
    })
}

/// cgroup v1: the memory and cpuset controllers (at least one), cpuacct
/// for CPU time, and the freezer, where mounted, to kill a job whole. A
/// unified mount beside them is left alone: entering it would cost every
/// job a grace period (see `cgroup::Attached`).
fn v1(
    mounts: &[Mount],
    own: &[OwnCgroup],
    tag: &str,
    isolate_devices: bool,
) -> Result<Backend, String> {
    let mut trees = Vec::new();
    let mut why = Vec::new();
    let mut mems = String::new();
    let mut controllers = vec![
        ("memory", TreeKind::V1Memory),
        ("cpuset", TreeKind::V1Cpuset),
        ("cpuacct", TreeKind::V1Cpuacct),
        ("freezer", TreeKind::V1Freezer),
    ];
    if isolate_devices {
        controllers.push(("devices", TreeKind::V1Devices));
    }
    for (name, kind) in controllers {
        let Some(mount) = mounts
            .iter()
            .find(|m| !m.v2 && m.controllers.iter().any(|c| c == name))
        else {
            why.push(format!("no v1 {name} hierarchy is mounted"));
            continue;
        };
        let Some(base) = own_dir(mount, own) else {
            why.push(format!("this process is in no v1 {name} cgroup"));
            continue;
        };
        let dir = match make_dir(&base.join(tag)) {
            Ok(dir) => dir,
            Err(e) => {
                why.push(format!(
                    "cannot create a cgroup in {} ({e})",
                    base.display()
                ));
                continue;
            }
        };
        if kind == TreeKind::V1Cpuset {
            // A v1 cpuset starts empty, and its children may only narrow it.
            let cpus = read(&base, "cpuset.cpus").unwrap_or_default();
            mems = read(&base, "cpuset.mems")
                .unwrap_or_default()
                .trim()
                .to_string();
            if write(&dir, "cpuset.cpus", cpus.trim()).is_err()
                || write(&dir, "cpuset.mems", &mems).is_err()
            {
                why.push(format!("cannot set up the cpuset {}", dir.display()));
                continue;
            }
        }
        trees.push(Tree { kind, dir });
    }
    let has_controller = trees
        .iter()
        .any(|t| matches!(t.kind, TreeKind::V1Memory | TreeKind::V1Cpuset));
    if !has_controller {
        return Err(format!("containment cgroup1: {}", why.join("; ")));
    }
    Ok(Backend::Cgroup {
        version: CgroupVersion::V1,
        trees,
        mems,
    })
}

/// Makes the daemon's directory in a tree, or takes the one it left at an
/// earlier start; either way this process must be able to make the jobs'
/// cgroups in it. (One left by another daemon whose state directory had
/// the same device and inode, owned by someone else, is refused here
/// rather than failing every job later.)
fn make_dir(dir: &Path) -> std::io::Result<PathBuf> {
    match fs::create_dir(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => {
            rustix::fs::accessat(
                rustix::fs::CWD,
                dir,
                rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
                rustix::fs::AtFlags::EACCESS,
            )?;
            Ok(dir.to_path_buf())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 31 0:39 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
";

    #[test]
    fn mounts_and_own_cgroups_give_each_trees_directory() {
        let mounts = parse_mounts(HYBRID);
        assert_eq!(mounts.len(), 5);
        assert!(mounts[3].v2);
        assert_eq!(mounts[2].controllers, Vec::<String>::new());
        assert_eq!(mounts[3].point, PathBuf::from("/sys/fs/cgroup/unified"));
        assert_eq!(mounts[4].controllers, vec!["cpu", "cpuacct"]);
        let own = parse_own_cgroups(
            "9:name=systemd:/\n4:memory:/jobs/a\n3:cpuset:/\n2:cpu,cpuacct:/x\n0::/u/v\n",
        );
        assert_eq!(
            own_dir(&mounts[1], &own),
            Some(PathBuf::from("/sys/fs/cgroup/memory/jobs/a"))
        );
        assert_eq!(
            own_dir(&mounts[0], &own),
            Some(PathBuf::from("/sys/fs/cgroup/cpuset"))
        );
        assert_eq!(
            own_dir(&mounts[3], &own),
            Some(PathBuf::from("/sys/fs/cgroup/unified/u/v"))
        );
        assert_eq!(
            own_dir(&mounts[4], &own),
            Some(PathBuf::from("/sys/fs/cgroup/cpu,cpuacct/x"))
        );
    }

    #[test]
    fn a_container_mount_shows_part_of_the_hierarchy() {
        let mounts = parse_mounts("1 0 0:5 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
        let own = parse_own_cgroups("0::/docker/abc/inner\n");
        assert_eq!(
            own_dir(&mounts[0], &own),
            Some(PathBuf::from("/sys/fs/cgroup/inner"))
        );
        assert_eq!(unescape("/a\\040b"), "/a b");
    }

    #[test]
    fn no_cgroups_asked_for_is_always_available() {
        let dir = tempfile::tempdir().expect("dir");
        let containment = resolve(Mode::None, dir.path(), true, &[]).expect("none");
        assert_eq!(containment.name(), "none");
        assert!(!containment.host_cpus.is_empty());
    }
}
