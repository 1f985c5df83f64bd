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
