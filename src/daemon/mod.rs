//! `conductord`: owns the node's resources, keeps every job in the store,
//! schedules by First Fit and runs the jobs.
//!
//! Start-up is explicit: lock the state directory, open the store,
//! `recover()` what the store says against reality, bind the sockets, then
//! serve. All job state lives in one [`State`] behind one lock, held only
//! for short, non-blocking sections.

mod actions;
mod caller;
mod connections;
pub(crate) mod containment;
mod dependencies;
mod descriptors;
pub(crate) mod executor;
mod interner;
mod job;
mod lifecycle;
mod listing;
mod private_state;
mod server;
mod state;
mod statistics;
mod store;
mod tokens;
mod tracker;

pub mod gpus;
pub mod node;
pub mod scheduler;
pub mod tls;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Notify, watch};

pub use connections::Limits as ConnectionLimits;
pub use executor::run_launcher;
pub use tracker::{Allocation, Capacity, ResourceTracker};

use crate::error::{Error, Result};
use crate::paths;
use state::State;
use store::JobStore;

/// How the daemon is set up; built by the `conductord` binary.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Unix socket to serve on.
    pub socket: PathBuf,
    /// An optional loopback TCP address to serve on as well.
    pub listen: Option<SocketAddr>,
    /// Where the store, scripts and lock live.
    pub state_dir: PathBuf,
    /// What the node offers to jobs; `capacity.gpus` counts `gpus`.
    pub capacity: Capacity,
    /// The GPUs offered, in the tracker's order: its GPU id `i` is
    /// `gpus[i]`, and a job sees that entry's ordinal.
    pub gpus: Vec<gpus::Gpu>,
    /// Grace between SIGTERM and SIGKILL when a job is cancelled or times out.
    pub kill_wait: Duration,
    /// How long a requeued job waits before it may start again (shown as
    /// BeginTime): slurmctld's credential lifetime plus a second.
    pub requeue_delay: Duration,
    /// Refuse a job asking for more CPUs than the node has, rather than
    /// keep it pending (slurm.conf's EnforcePartLimits).
    pub enforce_part_limits: bool,
    /// How long a finished job stays visible to cqueue and ccontrol
    /// (Slurm's MinJobAge); zero is for ever.
    pub min_job_age: Duration,
    /// How long finished jobs stay in the store; `None` is forever.
    pub history: Option<Duration>,
    /// The one partition's name.
    pub partition: String,
    /// The node's name as jobs see it.
    pub node_name: String,
    /// A system daemon (root, for every user): the socket is open to all
    /// users (mode 0666), and jobs run as the users who submitted them.
    pub system: bool,
    /// Users besides root and the owner who may act on anyone's jobs.
    pub operators: Vec<u32>,
    /// Serve plain HTTP on a non-loopback `listen` address all the same.
    pub insecure_listen: bool,
    /// Serve `listen` over TLS with this certificate and key.
    pub tls: Option<tls::TlsFiles>,
    /// How jobs are held to their allocations (`--containment`).
    pub containment: containment::Mode,
    /// Whether a job's booked CPUs become its cpuset and affinity.
    pub cpu_bind: bool,
    /// Memory booked per CPU for a job that asks for none (Slurm's
    /// DefMemPerCPU); `None` books none, and the job is not limited.
    pub def_mem_per_cpu_mb: Option<u64>,
    /// Bounds on the API's connections.
    pub connections: ConnectionLimits,
    /// Jobs the daemon holds at most, pending, running and just ended
    /// (Slurm's MaxJobCount).
    pub max_job_count: usize,
    /// The id of the first job (Slurm's FirstJobId); later ids follow it.
    pub first_job_id: u64,
    /// What time limits are counted in: whole minutes, rounded up, as in
    /// Slurm; or seconds (for tests that cannot wait minutes).
    pub time_limit_unit: TimeLimitUnit,
    /// Pending and running jobs one user may have (Slurm's MaxSubmitJobs);
    /// `None` is no limit.
    pub max_submit_per_user: Option<usize>,
    /// Array indices go from 0 to this minus 1 (Slurm's MaxArraySize).
    pub max_array_size: u32,
}

/// What time limits are counted in (`--time-limit-unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeLimitUnit {
    /// Whole minutes, rounded up (`-t 10:30` is 11:00), as Slurm keeps them.
    Minutes,
    /// Seconds, as asked.
    Seconds,
}

impl TimeLimitUnit {
    /// A limit of `seconds` as this unit keeps it (0 stays 0).
    pub fn round_up(self, seconds: u64) -> u64 {
        match self {
            TimeLimitUnit::Minutes => seconds.div_ceil(60).saturating_mul(60),
            TimeLimitUnit::Seconds => seconds,
        }
    }
}

/// The running daemon, shared by the server's handlers, the scheduler and
/// the job supervisors.
pub(crate) struct Daemon {
    config: Config,
    store: JobStore,
    state: Mutex<State>,
    /// Wakes the scheduler: every event that may let a job start notifies it.
    wake: Notify,
    /// Set once shutdown begins: no job starts after it.
    stopping: AtomicBool,
    /// Scheduling passes run, and the last one's decision time.
    passes: AtomicU64,
    last_pass_micros: AtomicU64,
    /// What `cdiag` reports (shared with the router's counting layer).
    statistics: Arc<statistics::Statistics>,
    /// The earliest time a timer will wake the scheduler (begin times).
    next_wakeup: Mutex<Option<chrono::DateTime<chrono::Utc>>>,
    started_at: chrono::DateTime<chrono::Utc>,
    /// One directory per running job: script, plan, supervisor files.
    jobs_dir: PathBuf,
    /// Forks each job's supervisor.
    launcher: executor::Launcher,
    /// How jobs are held to what they were given.
    containment: containment::Containment,
    /// This boot of the machine, recorded with every start.
    boot_id: Option<String>,
    /// The per-user tokens TCP requests act through.
    tokens: tokens::TokenBook,
    /// `unix:` and the socket path, as jobs name this daemon.
    server_address: String,
}

impl Daemon {
    /// The state, locked. A panic while holding the lock cannot leave the
    /// books half-written in a way later code trusts, so poisoning is ignored.
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn node(&self) -> &str {
        &self.config.node_name
    }

    /// The oldest end a finished job may have and still be shown by cqueue
    /// and ccontrol (MinJobAge ago); `None` when every finished job is.
    /// slurmctld purges such a job in a pass every minute or so, so there
    /// it may linger for up to that long more; here it goes on time.
    fn visible_since(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let age = chrono::Duration::from_std(self.config.min_job_age).ok()?;
        (!age.is_zero()).then(|| chrono::Utc::now() - age)
    }
}

/// Writes one line about a job event (or the daemon) to stderr, in one
/// write: stderr is unbuffered, and `eprintln!` would make a system call
/// of each piece of the line while a client waits for its reply.
///
/// Lines carry what users supply (job names, paths, reasons built from
/// them): control characters are escaped, so no user can end a line and
/// forge the next one.
pub(crate) fn log(line: fmt::Arguments<'_>) {
    use std::io::Write;
    let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.3f");
    let text = format!("{now} conductord: {}\n", escape_controls(&line.to_string()));
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// `text` with every control character (newline, carriage return, escape,
/// ...) written as a Rust escape (`\n`, `\u{1b}`), and backslashes doubled
/// so that an escape in the log always means an escaped character.
fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || c == '\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Runs the daemon in the foreground until SIGTERM or SIGINT.
pub fn run(config: Config) -> Result<()> {
    descriptors::raise_for_daemon();
    private_state::set_umask();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Other(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(serve(config))
}

async fn serve(config: Config) -> Result<()> {
    // Unusable TLS files stop the start before anything else happens.
    let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
    // Running as root, jobs run as their users and read their scripts from
    // under the state directory: it is traversable (0711), never listable.
    let shared = rustix::process::getuid().is_root();
    private_state::check_dir(&config.state_dir)?;
    create_dir(&config.state_dir, if shared { 0o711 } else { 0o700 })?;
    let _lock = lock_state_dir(&config.state_dir)?;
    let jobs_dir = config.state_dir.join("jobs");
    create_dir(&jobs_dir, if shared { 0o711 } else { 0o700 })?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::Other(format!("cannot find the conductord executable: {e}")))?;
    private_state::tighten(&config.state_dir);
    let store = JobStore::open(&config.state_dir, config.first_job_id)?;
    let containment = containment::resolve(
        config.containment,
        &config.state_dir,
        config.cpu_bind,
        &config.gpus,
    )
    .map_err(Error::Other)?;

    let daemon = Arc::new(Daemon {
        state: Mutex::new(State::new(ResourceTracker::new(config.capacity))),
        wake: Notify::new(),
        stopping: AtomicBool::new(false),
        passes: AtomicU64::new(0),
        last_pass_micros: AtomicU64::new(0),
        statistics: Arc::default(),
        next_wakeup: Mutex::new(None),
        started_at: chrono::Utc::now(),
        store,
        launcher: executor::Launcher::new(exe, jobs_dir.clone()),
        containment,
        boot_id: node::boot_id(),
        tokens: tokens::TokenBook::open(&config.state_dir)?,
        server_address: format!("unix:{}", config.socket.display()),
        jobs_dir,
        config,
    });
    daemon.recover().await?;

    // The token exists before anything listens, so a client that finds the
    // socket finds the token too.
    let token: Arc<str> = ensure_token(&daemon.config.state_dir)?.into();
    let unix = bind_unix(&daemon.config.socket, daemon.config.system)?;
    let tcp = match daemon.config.listen {
        Some(addr) => {
            if !addr.ip().is_loopback() && tls.is_none() {
                log(format_args!(
                    "WARNING: serving plain HTTP on {addr}, beyond this machine \
                     (--insecure-listen): tokens cross the network in clear"
                ));
            }
            Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| Error::io("cannot listen on", addr.to_string(), e))?,
            )
        }
        None => None,
    };
    let capacity = daemon.config.capacity;
    log(format_args!(
        "containment: {}",
        daemon.containment.describe()
    ));
    log(format_args!(
        "ready: socket {}{}, state {}, {} CPUs, {} MiB, {} GPUs{}",
        daemon.config.socket.display(),
        tcp.as_ref()
            .and_then(|l| l.local_addr().ok())
            .map(|a| format!(", {}://{a}", if tls.is_some() { "https" } else { "http" }))
            .unwrap_or_default(),
        daemon.config.state_dir.display(),
        capacity.cpus,
        capacity.memory_mb,
        capacity.gpus,
        gpu_summary(&daemon.config.gpus),
    ));

    tokio::spawn(lifecycle::scheduler_loop(daemon.clone()));
    if let Some(keep) = daemon.config.history {
        tokio::spawn(lifecycle::prune_history(daemon.clone(), keep));
    }
    daemon.wake.notify_one();

    let (stop_tx, stop_rx) = watch::channel(false);
    let router = server::router(daemon.clone());
    let limits = daemon.config.connections;
    let unix_task = tokio::spawn(connections::serve(
        connections::Listener::Unix(unix),
        router,
        limits,
        stop_rx.clone(),
    ));
    let tcp_router = server::tcp_router(daemon.clone(), token);
    let tcp_task = tcp.map(|listener| {
        tokio::spawn(connections::serve(
            connections::Listener::Tcp(listener, tls),
            tcp_router,
            limits,
            stop_rx.clone(),
        ))
    });

    shutdown_signal().await;
    log(format_args!("shutting down"));
    let _ = stop_tx.send(true);
    daemon.shutdown().await;
    let _ = unix_task.await;
    if let Some(task) = tcp_task {
        let _ = task.await;
    }
    let _ = fs::remove_file(&daemon.config.socket);
    log(format_args!("stopped"));
    Ok(())
}

/// The start-up line's account of the GPUs, after their count: their GRES
/// and each one, ` gpu:h200:1 [0 (NVIDIA H200, GPU-..., /dev/nvidia0)]`;
/// nothing without GPUs.
fn gpu_summary(offered: &[gpus::Gpu]) -> String {
    let Some(gres) = gpus::gres(offered) else {
        return String::new();
    };
    let each: Vec<String> = offered.iter().map(ToString::to_string).collect();
    format!(" {gres} [{}]", each.join(", "))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the daemon can still be killed; it just
        // cannot stop cleanly.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

fn create_dir(dir: &Path, mode: u32) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(dir)
        .map_err(|e| Error::io("cannot create", dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("cannot set the mode of", dir, e))
}

/// The TCP listener's bearer token: made at first start (random, in a file
/// only the daemon's user can read), read back after that.
fn ensure_token(state_dir: &Path) -> Result<String> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let path = state_dir.join(paths::TOKEN_FILE);
    if let Ok(token) = fs::read_to_string(&path) {
        return Ok(token.trim().to_string());
    }
    let mut random = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut source| source.read_exact(&mut random))
        .map_err(|e| Error::io("cannot read", "/dev/urandom", e))?;
    let token: String = random.iter().map(|b| format!("{b:02x}")).collect();
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut file| {
            file.write_all(token.as_bytes())?;
            file.sync_all()
        })
        .map_err(|e| Error::io("cannot write", &path, e))?;
    Ok(token)
}

/// Takes the state directory's lock for the daemon's lifetime: two daemons
/// on one store would run jobs twice.
fn lock_state_dir(dir: &Path) -> Result<File> {
    use rustix::fs::{FlockOperation, flock};
    let path = dir.join("conductord.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("cannot open", &path, e))?;
    flock(&file, FlockOperation::NonBlockingLockExclusive).map_err(|_| {
        Error::Other(format!(
            "another conductord already uses the state directory {}",
            dir.display()
        ))
    })?;
    Ok(file)
}

/// Binds the Unix socket, mode 0600 (0666 for a system daemon: callers are
/// told apart by their kernel credentials), replacing a stale socket file
/// left by a daemon that died, but never one that a live daemon answers on.
fn bind_unix(path: &Path, system: bool) -> Result<UnixListener> {
    if let Some(parent) = path.parent() {
        create_dir(parent, if system { 0o755 } else { 0o700 })?;
    }
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(Error::Other(format!(
                "another conductord is already serving on {}",
                path.display()
            )));
        }
        fs::remove_file(path).map_err(|e| Error::io("cannot remove the stale socket", path, e))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| Error::io("cannot bind", path, e))?;
    fs::set_permissions(
        path,
        fs::Permissions::from_mode(if system { 0o666 } else { 0o600 }),
    )
    .map_err(|e| Error::io("cannot set the mode of", path, e))?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::{TimeLimitUnit, escape_controls};

    #[test]
    fn time_limits_round_up_to_whole_minutes_unless_kept_in_seconds() {
        let minutes = TimeLimitUnit::Minutes;
        assert_eq!(
            [0, 1, 59, 60, 61, 630].map(|s| minutes.round_up(s)),
            [0, 60, 60, 60, 120, 660]
        );
        assert_eq!(TimeLimitUnit::Seconds.round_up(61), 61);
        assert_eq!(minutes.round_up(u64::MAX), u64::MAX);
    }

    #[test]
    fn user_text_cannot_break_a_log_line() {
        assert_eq!(escape_controls("job 1 ended"), "job 1 ended");
        assert_eq!(
            escape_controls("a\n2026-12-01 conductord: job 9 ended COMPLETED"),
            "a\\n2026-12-01 conductord: job 9 ended COMPLETED"
        );
        assert_eq!(escape_controls("x\r\u{1b}[2J"), "x\\r\\u{1b}[2J");
        assert_eq!(escape_controls("back\\slash"), "back\\\\slash");
        assert_eq!(escape_controls("naïve ünïcode"), "naïve ünïcode");
    }
}
