//! Choosing the containment backend at start-up: what this machine's
//! cgroup mounts offer (`/proc/self/mountinfo`), where the daemon sits in
//! each hierarchy (`/proc/self/cgroup`), and whether it may make cgroups
//! there (in v2 beside its own cgroup when systemd started it in a
//! `DelegateSubgroup=`, see `placement`). Each daemon uses a directory of
//! its own in each tree, named for its state directory, so several daemons
//! on one machine never share a `job_<id>`, and a restarted daemon finds
//! its jobs' cgroups again.

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

/// Where a daemon's jobs' cgroups go in the v2 tree, and whether the
/// daemon sits in that cgroup itself.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Placement {
    /// The cgroup whose child `<tag>` holds the jobs' cgroups.
    base: PathBuf,
    /// The daemon is a process of `base` itself: before `base` may pass
    /// controllers on, the daemon must move into a leaf (`<tag>.daemon`).
    in_base: bool,
}

/// Chooses the base for the jobs' cgroups from the daemon's own v2 cgroup
/// and whether it and its parent are marked delegated by systemd.
///
/// Under `Delegate=yes` alone systemd starts the daemon in the unit's cgroup
/// (marked delegated): that is the base, and the daemon moves into a leaf.
/// With `DelegateSubgroup=daemon` (systemd 254) it starts the daemon in
/// `<unit>/daemon`, which is not marked, below the marked unit's cgroup:
/// then the unit's cgroup is the base and the daemon stays where it is,
/// already a leaf. Were the jobs made under `<unit>/daemon`, the next
/// daemon would be refused there (no internal processes) while jobs run.
/// Anything else (a scope, a container's root, no systemd): the daemon's
/// own cgroup, as always.
fn placement(own: &Path, own_delegated: bool, parent_delegated: bool) -> Placement {
    match own.parent() {
        Some(parent) if !own_delegated && parent_delegated => Placement {
            base: parent.to_path_buf(),
            in_base: false,
        },
        _ => Placement {
            base: own.to_path_buf(),
            in_base: true,
        },
    }
}

/// Whether systemd marked `dir` as a delegated cgroup: the system manager
/// sets `trusted.delegate=1` (and `user.delegate=1`) on the cgroup of a unit
/// with `Delegate=yes`, not on its `DelegateSubgroup=`; read as systemd's
/// own `cg_is_delegated` does. A user manager marks nothing (systemd's
/// `cgroup_xattr_apply` stops before the delegate xattrs for it), so under
/// one this is false throughout.
fn delegated(dir: &Path) -> bool {
    ["trusted.delegate", "user.delegate"].iter().any(|name| {
        let mut value = [0u8; 8];
        rustix::fs::getxattr(dir, *name, &mut value[..])
            .is_ok_and(|len| matches!(value.get(..len), Some(b"1" | b"1\n")))
    })
}

/// cgroup v2: a directory of the daemon's own under the base
/// [`placement`] chooses, with the controllers it can give its jobs.
/// Where the daemon is in the base itself and controllers are offered but
/// not enabled for children, it moves itself into a leaf of its own first
/// (a cgroup with processes may not pass controllers on).
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
    let own_dir = own_dir(mount, own)
        .ok_or("containment cgroup2: this process is in no cgroup v2 (/proc/self/cgroup)")?;
    let parent_delegated = own_dir.parent().is_some_and(delegated);
    let Placement { base, in_base } = placement(&own_dir, delegated(&own_dir), parent_delegated);
    let jobs = make_dir(&base.join(tag)).map_err(|e| {
        format!(
            "containment cgroup2: cannot create a cgroup in {} ({e}); delegate it \
             (systemd: Delegate=yes, or systemd-run --user --scope -p Delegate=yes conductord)",
            base.display()
        )
    })?;
    let leaf = base.join(format!("{tag}.daemon"));
    if !in_base {
        // The leaf an earlier daemon of this unit moved into before the unit
        // had DelegateSubgroup=; empty now (rmdir refuses a populated one).
        let _ = fs::remove_dir(&leaf);
    }
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
        if in_base && let Ok(leaf) = make_dir(&leaf) {
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

    const UNIT: &str = "/sys/fs/cgroup/system.slice/conductord.service";

    #[test]
    fn under_delegate_subgroup_the_units_cgroup_is_the_base() {
        // DelegateSubgroup=daemon: systemd marks the unit's cgroup, not the
        // subgroup it starts the daemon in.
        let own = PathBuf::from(format!("{UNIT}/daemon"));
        assert_eq!(
            placement(&own, false, true),
            Placement {
                base: PathBuf::from(UNIT),
                in_base: false
            }
        );
    }

    #[test]
    fn a_daemon_in_its_delegated_cgroup_uses_it_and_moves_into_a_leaf() {
        // Delegate=yes alone (systemd < 254, or no DelegateSubgroup=), also
        // when the slice above is marked too (nested delegation).
        for parent in [false, true] {
            assert_eq!(
                placement(Path::new(UNIT), true, parent),
                Placement {
                    base: PathBuf::from(UNIT),
                    in_base: true
                }
            );
        }
    }

    #[test]
    fn without_marks_the_daemons_own_cgroup_is_the_base() {
        // A login session, a user manager's unit (a user manager marks
        // nothing), a container's root, a test's own cgroup.
        for own in [
            "/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope",
            "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/app.slice/conductord.service/daemon",
            "/sys/fs/cgroup",
            "/",
        ] {
            assert_eq!(
                placement(Path::new(own), false, false),
                Placement {
                    base: PathBuf::from(own),
                    in_base: true
                },
                "{own}"
            );
        }
        // The root has no parent to hand the jobs to.
        assert!(placement(Path::new("/"), false, true).in_base);
    }

    #[test]
    fn an_unmarked_directory_is_not_delegated() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(!delegated(dir.path()));
        assert!(!delegated(&dir.path().join("missing")));
    }

    #[test]
    fn no_cgroups_asked_for_is_always_available() {
        let dir = tempfile::tempdir().expect("dir");
        let containment = resolve(Mode::None, dir.path(), true, &[]).expect("none");
        assert_eq!(containment.name(), "none");
        assert!(!containment.host_cpus.is_empty());
    }
}
