//! Starting the job's first process already inside its cgroup v2, with
//! `clone3(CLONE_INTO_CGROUP)`, as systemd starts its units.
//!
//! Moving a process into a cgroup v2 (a write to `cgroup.procs`) takes the
//! kernel's `cgroup_threadgroup_rwsem` for writing, whose writers wait for
//! an RCU grace period: 7-23 ms a job on a default kernel, more than the
//! rest of a job's start. A child born in its cgroup is never moved, so it
//! pays nothing. std's `Command` cannot pass clone3 flags, so this file
//! forks and execs by hand; everything the child does between the two is a
//! system call on data prepared before the clone (the rules of `pre_exec`).

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::ExitStatus;

use rustix::fs::{Gid, Uid};
use rustix::process::Pid;
use tokio::io::unix::AsyncFd;

use super::spawn::RunAs;
use crate::daemon::containment::Attached;

/// The variable slurmstepd sets to the task's own pid.
const TASK_PID: &str = "SLURM_TASK_PID";

/// `CLONE_PIDFD`: the parent gets a descriptor for the child.
const CLONE_PIDFD: u64 = 0x1000;
/// `CLONE_INTO_CGROUP` (Linux 5.7): the child starts in `cgroup`.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// The kernel's `struct clone_args` (Linux 5.7 layout, 88 bytes).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What the child needs, prepared before the clone: it allocates nothing.
pub struct Exec<'a> {
    pub program: &'a str,
    pub args: &'a [String],
    pub environment: &'a std::collections::BTreeMap<String, String>,
    pub stdin: &'a File,
    pub stdout: &'a File,
    pub stderr: &'a File,
    /// Entered with `fchdir` after the privilege drop; `None` enters
    /// `work_dir` by path (no drop).
    pub work_dir_fd: Option<&'a File>,
    pub work_dir: &'a Path,
    pub run_as: Option<&'a RunAs>,
    pub affinity: Option<rustix::thread::CpuSet>,
}

/// A job's process started by [`spawn_into`].
pub struct Born {
    pid: Pid,
    pidfd: AsyncFd<OwnedFd>,
}

impl Born {
    pub fn id(&self) -> u32 {
        self.pid.as_raw_nonzero().get() as u32
    }

    /// Waits for the process to exit and reaps it.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        use std::os::unix::process::ExitStatusExt;
        loop {
            if let Some((_, status)) =
                rustix::process::waitpid(Some(self.pid), rustix::process::WaitOptions::NOHANG)?
            {
                return Ok(ExitStatus::from_raw(status.as_raw()));
            }
            // A pidfd turns readable when its process exits.
            let mut ready = self.pidfd.readable().await?;
            ready.clear_ready();
        }
    }
}

/// Errors `clone3` gives where the kernel lacks it or `CLONE_INTO_CGROUP`:
/// the caller then starts the job the old way, moving it in.
pub fn unsupported(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOSYS | libc::E2BIG | libc::EINVAL)
    )
}

/// Starts `exec` as the leader of a new process group: born in the cgroup
/// whose directory is `cgroup` where there is one (v2), else moving itself
/// into `enter`'s cgroups between clone and exec (v1). The child's own pid
/// goes into its `SLURM_TASK_PID`, as slurmstepd sets it, written into a
/// slot of the environment prepared before the clone. `Err` when the clone
/// failed (see [`unsupported`]) or the exec did (the error the exec gave).
#[allow(unsafe_code)]
pub fn spawn_into(
    cgroup: Option<BorrowedFd<'_>>,
    enter: Option<&Attached>,
    exec: Exec<'_>,
) -> io::Result<Born> {
    let program = cstring(exec.program.as_bytes())?;
    let path = resolve(exec.program, exec.environment)?;
    let argv_owned: Vec<CString> = std::iter::once(Ok(program))
        .chain(exec.args.iter().map(|a| cstring(a.as_bytes())))
        .collect::<io::Result<_>>()?;
    let env_owned: Vec<CString> = exec
        .environment
        .iter()
        .filter(|(k, _)| k.as_str() != TASK_PID)
        .map(|(k, v)| cstring(format!("{k}={v}").as_bytes()))
        .collect::<io::Result<_>>()?;
    let argv: Vec<*const libc::c_char> = argv_owned
        .iter()
        .map(|a| a.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    // `SLURM_TASK_PID=` and room for any pid's digits and the NUL; the
    // child writes its pid in after the clone (its own copy of the page).
    let mut pid_slot = [0u8; TASK_PID.len() + 1 + 12];
    pid_slot[..TASK_PID.len()].copy_from_slice(TASK_PID.as_bytes());
    pid_slot[TASK_PID.len()] = b'=';
    let pid_slot_ptr = pid_slot.as_mut_ptr();
    let envp: Vec<*const libc::c_char> = env_owned
        .iter()
        .map(|e| e.as_ptr())
        .chain(std::iter::once(pid_slot_ptr.cast_const().cast()))
        .chain(std::iter::once(std::ptr::null()))
        .collect();
    let work_dir = cstring(exec.work_dir.as_os_str().as_bytes())?;
    let groups: Vec<libc::gid_t> = exec.run_as.map(|r| r.groups.clone()).unwrap_or_default();
    let ids = exec
        .run_as
        .map(|r| (Gid::from_raw(r.gid), Uid::from_raw(r.uid)));
    // The exec's error comes back through a close-on-exec pipe: nothing
    // read means the exec happened.
    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let mut pidfd: RawFd = -1;
    let mut args = CloneArgs {
        flags: CLONE_PIDFD | cgroup.map_or(0, |_| CLONE_INTO_CGROUP),
        pidfd: std::ptr::addr_of_mut!(pidfd) as u64,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.map_or(0, |dir| dir.as_raw_fd() as u64),
        ..CloneArgs::default()
    };
    let child_setup = ChildSetup {
        stdio: [
            exec.stdin.as_raw_fd(),
            exec.stdout.as_raw_fd(),
            exec.stderr.as_raw_fd(),
        ],
        work_dir_fd: exec.work_dir_fd.map(AsRawFd::as_raw_fd),
        work_dir: &work_dir,
        groups: &groups,
        ids,
        affinity: exec.affinity.as_ref(),
        path: &path,
        argv: &argv,
        envp: &envp,
        report: report_write.as_raw_fd(),
        enter: if cgroup.is_some() { None } else { enter },
        pid_slot: (pid_slot_ptr, TASK_PID.len() + 1, pid_slot.len()),
    };
    // SAFETY: clone3 without CLONE_VM is a fork: the child gets a copy of
    // this process's memory and runs on its own copy of this stack. It
    // runs only `child_setup.run`, which makes system calls on data
    // prepared above and never returns.
    let pid = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            std::ptr::addr_of_mut!(args),
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        child_setup.run();
    }
    drop(report_write);
    // SAFETY: the kernel wrote a new descriptor for the child into `pidfd`
    // (CLONE_PIDFD); nothing else owns it.
    let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
    let pid = Pid::from_raw(pid as i32).ok_or_else(|| io::Error::other("clone3 gave pid 0"))?;
    let mut errno = [0u8; 4];
    let read = read_full(report_read.as_fd(), &mut errno)?;
    if read == errno.len() {
        // The exec failed: the child has exited (127); reap it.
        let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        return Err(io::Error::from_raw_os_error(i32::from_ne_bytes(errno)));
    }
    Ok(Born {
        pid,
        pidfd: watch_readable(pidfd)?,
    })
}

/// Everything the child touches, as raw values and pointers into memory
/// the parent keeps alive until the clone returned.
struct ChildSetup<'a> {
    stdio: [RawFd; 3],
    work_dir_fd: Option<RawFd>,
    work_dir: &'a CString,
    groups: &'a [libc::gid_t],
    ids: Option<(Gid, Uid)>,
    affinity: Option<&'a rustix::thread::CpuSet>,
    path: &'a CString,
    argv: &'a [*const libc::c_char],
    envp: &'a [*const libc::c_char],
    report: RawFd,
    /// The v1 cgroups to move into (no v2 cgroup to be born in).
    enter: Option<&'a Attached>,
    /// The `SLURM_TASK_PID=` entry: where it starts, where its digits go,
    /// and its length.
    pid_slot: (*mut u8, usize, usize),
}

impl ChildSetup<'_> {
    /// The child's side: what std does between fork and exec (signal mask
    /// and SIGPIPE reset, stdio), then the job's group, CPUs, user and
    /// directory, then the exec. On failure the errno goes to the parent.
    #[allow(unsafe_code)]
    fn run(&self) -> ! {
        // SAFETY: every call below is a system call (or glibc's thin
        // wrapper of one) on values prepared before the clone; none
        // allocates or takes a lock.
        unsafe {
            let errno = self.setup_and_exec();
            let bytes = errno.to_ne_bytes();
            libc::write(self.report, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(127)
        }
    }

    #[allow(unsafe_code)]
    unsafe fn setup_and_exec(&self) -> i32 {
        let fail = || {
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO)
        };
        // SAFETY: as `run` says.
        unsafe {
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            if libc::pthread_sigmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut()) != 0 {
                return fail();
            }
            // Rust ignores SIGPIPE; an ignored signal stays ignored across
            // exec, and a job's `yes | head` expects it back.
            if libc::signal(libc::SIGPIPE, libc::SIG_DFL) == libc::SIG_ERR {
                return fail();
            }
            for (target, fd) in self.stdio.iter().enumerate() {
                let target = target as RawFd;
                // dup2 onto itself keeps close-on-exec: clear it instead.
                let done = if *fd == target {
                    libc::fcntl(target, libc::F_SETFD, 0)
                } else {
                    libc::dup2(*fd, target)
                };
                if done < 0 {
                    return fail();
                }
            }
            if libc::setpgid(0, 0) != 0 {
                return fail();
            }
            if let Some(attached) = self.enter
                && attached.enter().is_err()
            {
                return fail();
            }
            self.write_pid();
            if let Some(set) = self.affinity
                && rustix::thread::sched_setaffinity(None, set).is_err()
            {
                return fail();
            }
            if let Some((gid, uid)) = self.ids
                && (libc::setgroups(self.groups.len(), self.groups.as_ptr()) != 0
                    || libc::setresgid(gid.as_raw(), gid.as_raw(), gid.as_raw()) != 0
                    || libc::setresuid(uid.as_raw(), uid.as_raw(), uid.as_raw()) != 0)
            {
                return fail();
            }
            let entered = match self.work_dir_fd {
                Some(fd) => libc::fchdir(fd),
                None => libc::chdir(self.work_dir.as_ptr()),
            };
            if entered != 0 {
                return fail();
            }
            libc::execve(self.path.as_ptr(), self.argv.as_ptr(), self.envp.as_ptr());
            fail()
        }
    }
}

impl ChildSetup<'_> {
    /// Writes this process's pid, in decimal and NUL-ended, into the
    /// environment's `SLURM_TASK_PID=` slot (no allocation).
    #[allow(unsafe_code)]
    fn write_pid(&self) {
        let (slot, start, len) = self.pid_slot;
        let mut digits = [0u8; 12];
        let mut n = rustix::process::getpid().as_raw_nonzero().get() as u32;
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 || count == digits.len() {
                break;
            }
        }
        for i in 0..count.min(len - start - 1) {
            // SAFETY: `slot` points at this process's own copy of the
            // parent's `pid_slot` array of `len` bytes, alive across the
            // clone; indices stay below `len - 1`, and the last byte
            // written is the NUL.
            unsafe { *slot.add(start + i) = digits[count - 1 - i] };
        }
        // SAFETY: as above; `start + count` is below `len`.
        unsafe { *slot.add(start + count.min(len - start - 1)) = 0 };
    }
}

/// The file to exec: `program` itself when it names a path, else the
/// first executable of that name on the job's `PATH`, as std's `Command`
/// looks it up (found before the clone: the child searches nothing).
fn resolve(
    program: &str,
    environment: &std::collections::BTreeMap<String, String>,
) -> io::Result<CString> {
    if program.contains('/') {
        return cstring(program.as_bytes());
    }
    let path = environment
        .get("PATH")
        .map_or("/usr/local/bin:/usr/bin:/bin", String::as_str);
    for dir in path.split(':').filter(|d| !d.is_empty()) {
        let candidate = Path::new(dir).join(program);
        if rustix::fs::access(&candidate, rustix::fs::Access::EXEC_OK).is_ok() {
            return cstring(candidate.as_os_str().as_bytes());
        }
    }
    Err(io::Error::from_raw_os_error(libc::ENOENT))
}

fn cstring(bytes: &[u8]) -> io::Result<CString> {
    CString::new(bytes)
        .map_err(|_| io::Error::other("a NUL byte in the job's command or environment"))
}

/// Reads until `buf` is full or the writer is gone; the count read.
fn read_full(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::io::read(fd, &mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(filled)
}

/// Registers an owned descriptor with the runtime to await readability.
#[allow(unsafe_code)]
pub(super) fn watch_readable(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an `OwnedFd` is a valid open descriptor that stays open, and
    // names the same file, until the `AsyncFd` that owns it is dropped.
    unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
        .map_err(|e| io::Error::other(e.to_string()))
}
