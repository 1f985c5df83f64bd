//! The launcher: one small process, `conductord --launcher`, that the daemon
//! starts once and asks for a supervisor per job. It forks each supervisor
//! from itself, so a job costs a fork of a small single-threaded process
//! instead of an exec of `conductord` (and a fork of the daemon, with its
//! threads and memory, is never needed).
//!
//! The daemon and the launcher share a socket pair, the launcher's end as
//! its stdin. A request is a length-prefixed JSON `Request`; the reply is
//! the supervisor's pid and an error number, with a pidfd for the
//! supervisor passed along (`SCM_RIGHTS`), opened before the launcher could
//! reap it, so the pid can never name another process. The launcher exits
//! when the daemon closes its end (the daemon stopped or died); supervisors
//! lead their own sessions and live on, adopted by init.

use std::io::{self, IoSlice, IoSliceMut, Read};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, recvmsg, sendmsg,
};
use rustix::process::{Pid, PidfdFlags, WaitOptions, pidfd_open};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncWriteExt, Interest};
use tokio::sync::Mutex;

use super::signal_mask::{REQUESTS, block, signal_set};
use super::spawn::LaunchPlan;
use super::supervisor::{self, Supervisor};

/// A request for one supervisor.
#[derive(Serialize, Deserialize)]
struct Request {
    /// The job's directory, made by the daemon (`prepare_dir`).
    dir: PathBuf,
    plan: LaunchPlan,
}

/// The reply: `[pid, errno]` as native-endian `i32`s; pid 0 when the fork
/// failed with `errno`.
const REPLY_BYTES: usize = 8;

/// The daemon's side: starts the launcher when first needed (and again if
/// it died) and asks it for supervisors, one request at a time.
pub struct Launcher {
    exe: PathBuf,
    jobs: PathBuf,
    link: Mutex<Option<Link>>,
}

struct Link {
    socket: tokio::net::UnixStream,
    /// Kept so the runtime reaps the launcher when it exits.
    _process: tokio::process::Child,
}

impl Launcher {
    /// A launcher run from the `conductord` executable `exe`, for the jobs
    /// whose directories are in `jobs`.
    pub fn new(exe: PathBuf, jobs: PathBuf) -> Launcher {
        Launcher {
            exe,
            jobs,
            link: Mutex::new(None),
        }
    }

    /// Has a supervisor forked for the job in `dir` (made by
    /// `prepare_dir`) to carry out `plan`.
    ///
    /// An error may come after the launcher forked the supervisor (it died
    /// in between): the caller must settle the directory's lock before it
    /// gives the job up.
    pub async fn start(&self, dir: &Path, plan: LaunchPlan) -> io::Result<Supervisor> {
        let request = serde_json::to_vec(&Request {
            dir: dir.to_path_buf(),
            plan,
        })?;
        let length = u32::try_from(request.len())
            .map_err(|_| io::Error::other("the launch request is too large"))?;
        let mut frame = Vec::with_capacity(4 + request.len());
        frame.extend_from_slice(&length.to_ne_bytes());
        frame.extend_from_slice(&request);
        let mut link = self.link.lock().await;
        let answer = match &mut *link {
            Some(link) => link.ask(&frame).await,
            None => match Link::spawn(&self.exe, &self.jobs) {
                Ok(new) => link.insert(new).ask(&frame).await,
                Err(e) => Err(e),
            },
        };
        let (pid, pidfd) = match answer {
            Ok(Ok(started)) => started,
            // The fork failed; the launcher itself is fine.
            Ok(Err(e)) => return Err(e),
            Err(e) => {
                // The next request starts a new launcher.
                *link = None;
                return Err(io::Error::other(format!("the launcher failed: {e}")));
            }
        };
        Ok(Supervisor::forked(pid, pidfd, dir))
    }
}

impl Link {
    fn spawn(exe: &Path, jobs: &Path) -> io::Result<Link> {
        let (ours, theirs) = UnixStream::pair()?;
        let process = {
            let mut command = tokio::process::Command::new(exe);
            command
                .arg("--launcher")
                .arg(jobs)
                .stdin(Stdio::from(OwnedFd::from(theirs)))
                .stdout(Stdio::null())
                .kill_on_drop(false);
            command.spawn()?
            // `command` drops here with our copy of the launcher's end, so
            // the launcher's death reads as the end of our socket.
        };
        ours.set_nonblocking(true)?;
        Ok(Link {
            socket: tokio::net::UnixStream::from_std(ours)?,
            _process: process,
        })
    }

    /// Sends one request and waits for its reply. The outer error says the
    /// link broke; the inner one that the fork failed.
    async fn ask(&mut self, frame: &[u8]) -> io::Result<io::Result<(Pid, OwnedFd)>> {
        self.socket.write_all(frame).await?;
        loop {
            self.socket.readable().await?;
            let socket = &self.socket;
            match socket.try_io(Interest::READABLE, || receive_reply(socket)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                answer => return answer,
            }
        }
    }
}

fn receive_reply(socket: impl AsFd) -> io::Result<io::Result<(Pid, OwnedFd)>> {
    let mut reply = [0u8; REPLY_BYTES];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = recvmsg(
        socket,
        &mut [IoSliceMut::new(&mut reply)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let pidfd = control
        .drain()
        .filter_map(|message| match message {
            RecvAncillaryMessage::ScmRights(fds) => Some(fds),
            _ => None,
        })
        .flatten()
        .next();
    if received.bytes != REPLY_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the launcher replied {} bytes", received.bytes),
        ));
    }
    let (pid, errno) = reply.split_at(4);
    let pid = i32::from_ne_bytes(pid.try_into().unwrap_or_default());
    let errno = i32::from_ne_bytes(errno.try_into().unwrap_or_default());
    Ok(match (Pid::from_raw(pid), pidfd) {
        (Some(pid), Some(pidfd)) => Ok((pid, pidfd)),
        _ => Err(io::Error::from_raw_os_error(errno)),
    })
}

/// The launcher process's whole life (`conductord --launcher JOBS`, where
/// the daemon keeps its jobs' directories); returns its exit status. Its
/// supervisors keep its command line, so `ps` shows whose they are.
#[allow(unsafe_code)]
pub fn run(jobs: &Path) -> i32 {
    // Its own session: a terminal's ^C meant for the daemon does not reach
    // it (the daemon's end closing is what stops it).
    let _ = rustix::process::setsid();
    // Jobs get the descriptor limit the daemon was started with, not the
    // one it raised for its own connections.
    super::super::descriptors::restore_for_jobs();
    super::super::private_state::restore_umask_for_jobs();
    // SAFETY: the daemon starts the launcher with its end of the socket pair
    // as stdin, which nothing else in this process owns.
    let socket = unsafe { UnixStream::from_raw_fd(0) };
    let (null, exits) = match (
        std::fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/null"),
        child_exits(),
    ) {
        (Ok(null), Ok(exits)) => (null, exits),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("conductord launcher: cannot start: {e}");
            return 1;
        }
    };
    loop {
        match wait_for_input(&socket, &exits) {
            Ok(Input::Request) => {}
            Ok(Input::ChildExited) => {
                reap(&exits);
                continue;
            }
            Err(e) => {
                eprintln!("conductord launcher: {e}");
                return 1;
            }
        }
        let request = match read_request(&socket) {
            Ok(Some(request)) => request,
            // The daemon closed its end: it stopped, or died.
            Ok(None) => return 0,
            Err(e) => {
                eprintln!("conductord launcher: bad request: {e}");
                return 1;
            }
        };
        let reply = if request.dir.parent() == Some(jobs) {
            fork_supervisor(request, &null)
        } else {
            Err(io::Error::from_raw_os_error(libc::EINVAL))
        };
        if let Err(e) = send_reply(&socket, reply) {
            eprintln!("conductord launcher: cannot reply: {e}");
            return 1;
        }
    }
}

enum Input {
    Request,
    ChildExited,
}

/// Waits until a request arrives or a supervisor has exited.
fn wait_for_input(socket: &UnixStream, exits: &OwnedFd) -> io::Result<Input> {
    use rustix::event::{PollFd, PollFlags, poll};
    loop {
        let mut fds = [
            PollFd::new(socket, PollFlags::IN),
            PollFd::new(exits, PollFlags::IN),
        ];
        match poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
        // Exits first, so zombies never pile up behind a stream of requests.
        if !fds[1].revents().is_empty() {
            return Ok(Input::ChildExited);
        }
        if !fds[0].revents().is_empty() {
            return Ok(Input::Request);
        }
    }
}

/// A descriptor that becomes readable when a child exits (a signalfd for
/// SIGCHLD, which is blocked so it arrives there only).
#[allow(unsafe_code)]
fn child_exits() -> io::Result<OwnedFd> {
    block(&[libc::SIGCHLD], true)?;
    let set = signal_set(&[libc::SIGCHLD]);
    // SAFETY: `set` is an initialised signal set; the descriptor returned
    // by signalfd is owned by nothing else.
    let fd = unsafe { libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: see above.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Empties the signalfd and reaps every exited supervisor. Any child, not
/// `waitpid(None)`'s children of the launcher's process group: each
/// supervisor leads a session of its own.
fn reap(exits: &OwnedFd) {
    let mut buffer = [0u8; 128 * 8];
    while rustix::io::read(exits, &mut buffer).is_ok_and(|n| n > 0) {}
    while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {}
}

fn read_request(mut socket: &UnixStream) -> io::Result<Option<Request>> {
    let mut length = [0u8; 4];
    match socket.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut body = vec![0u8; u32::from_ne_bytes(length) as usize];
    socket.read_exact(&mut body)?;
    Ok(Some(serde_json::from_slice(&body)?))
}

/// Forks the supervisor for `request`; in the parent, returns its pid and
/// pidfd (or why the fork failed). The child never returns.
#[allow(unsafe_code)]
fn fork_supervisor(request: Request, null: &std::fs::File) -> io::Result<(Pid, OwnedFd)> {
    block(&REQUESTS, true)?;
    // SAFETY: the launcher has a single thread, so the child may run any
    // code; it leaves through `exit` and never returns here.
    let forked = unsafe { libc::fork() };
    if forked != 0 {
        // The launcher itself takes its signals as before.
        let _ = block(&REQUESTS, false);
    }
    match forked {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            // The supervisor holds neither the daemon's socket (its end
            // must read as closed once the launcher is gone) nor the
            // daemon's stderr.
            let _ = rustix::stdio::dup2_stdin(null);
            let _ = rustix::stdio::dup2_stdout(null);
            let _ = rustix::stdio::dup2_stderr(null);
            let _ = block(&[libc::SIGCHLD], false);
            std::process::exit(supervisor::run(&request.dir, request.plan))
        }
        pid => {
            let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::other("fork gave pid 0"))?;
            // The child is not reaped before this: the pid is still its.
            let pidfd = pidfd_open(pid, PidfdFlags::empty())?;
            Ok((pid, pidfd))
        }
    }
}

fn send_reply(socket: &UnixStream, reply: io::Result<(Pid, OwnedFd)>) -> io::Result<()> {
    let (pid, errno, pidfd) = match &reply {
        Ok((pid, pidfd)) => (pid.as_raw_nonzero().get(), 0, Some(pidfd.as_fd())),
        Err(e) => (0, e.raw_os_error().unwrap_or(libc::EIO), None),
    };
    let mut bytes = [0u8; REPLY_BYTES];
    bytes[..4].copy_from_slice(&pid.to_ne_bytes());
    bytes[4..].copy_from_slice(&errno.to_ne_bytes());
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds;
    if let Some(pidfd) = pidfd {
        fds = [pidfd];
        control.push(SendAncillaryMessage::ScmRights(&fds));
    }
    let sent = sendmsg(
        socket,
        &[IoSlice::new(&bytes)],
        &mut control,
        SendFlags::empty(),
    )?;
    if sent != REPLY_BYTES {
        return Err(io::Error::other("short reply"));
    }
    Ok(())
}
