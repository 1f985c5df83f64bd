//! Process helpers shared by the daemon (jobs) and the client (auto-start).

use std::process::Command;

use crate::protocol::Usage;

/// Makes the child the leader of a new session and process group: it no
/// longer belongs to the parent's terminal, and a signal sent to its group
/// reaches it and everything it starts, but nothing of the parent.
#[allow(unsafe_code)]
pub fn new_session(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and makes only the
    // async-signal-safe setsid system call; it allocates nothing.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        });
    }
}

/// Makes each child started by `command` enter a cgroup between fork and
/// exec, by writing `0` to each of `entries` (descriptors opened before the
/// fork, shared by every task of a step), so that nothing of it runs
/// outside.
#[allow(unsafe_code)]
pub fn enter_cgroup(command: &mut Command, entries: std::sync::Arc<Vec<std::os::fd::OwnedFd>>) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and makes only write(2)
    // calls on descriptors opened before the fork; it allocates nothing.
    unsafe {
        command.pre_exec(move || {
            for fd in entries.iter() {
                rustix::io::write(fd, b"0")?;
            }
            Ok(())
        });
    }
}

/// Opens the files a step's tasks enter its cgroup by (the daemon made the
/// cgroup and handed them to the step's user), close-on-exec.
pub fn open_cgroup_entries(
    paths: &[std::path::PathBuf],
) -> std::io::Result<Vec<std::os::fd::OwnedFd>> {
    use rustix::fs::{Mode, OFlags};
    paths
        .iter()
        .map(|path| {
            rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
                std::io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
            })
        })
        .collect()
}

/// What this process's waited-for children used (the kernel's
/// RUSAGE_CHILDREN). The peak memory is that of the largest one, not their
/// sum.
#[allow(unsafe_code)]
pub fn children_usage() -> Usage {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the buffer it is given
    // and touches nothing else; the buffer is only read after it succeeded.
    let done = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) };
    if done != 0 {
        return Usage::default();
    }
    // SAFETY: getrusage succeeded, so the buffer is initialised.
    let usage = unsafe { usage.assume_init() };
    let usec = |t: libc::timeval| {
        u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0)
    };
    let (user, system) = (usec(usage.ru_utime), usec(usage.ru_stime));
    Usage {
        max_rss_kb: u64::try_from(usage.ru_maxrss).ok().filter(|kb| *kb > 0),
        total_cpu_usec: Some(user + system),
        user_cpu_usec: Some(user),
        system_cpu_usec: Some(system),
    }
}
