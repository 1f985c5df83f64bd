//! `conductord`: owns the node's resources, keeps every job in the store,
//! schedules by First Fit and runs the jobs.
//!
//! Start-up is explicit: lock the state directory, open the store,
//! `recover()` what the store says against reality, bind the sockets, then
//! serve. All job state lives in one [`State`] behind one lock, held only
//! for short, non-blocking sections.

mod actions;
mod caller;
pub mod cluster;
mod config;
pub mod config_file;
mod connections;
pub(crate) mod containment;
mod dependencies;
mod descriptors;
mod end;
pub(crate) mod executor;
mod host;
mod interner;
mod job;
mod job_output;
mod joining;
mod lifecycle;
mod listing;
mod logging;
mod metrics;
mod node_runner;
pub mod openapi;
pub mod partitions;
mod priorities;
mod private_state;
mod seed_api;
pub mod seed_properties;
mod server;
mod shared;
mod slurmrestd;
mod standby;
mod state;
mod statistics;
mod store;
mod tokens;
mod tracker;
mod ui;

pub mod gpus;
pub mod node;
pub mod scheduler;
pub mod tls;

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{Notify, watch};

pub use config::{Config, SchedulerType, TimeLimitUnit};
pub use connections::Limits as ConnectionLimits;
pub use executor::run_launcher;
pub use store::postgres::redacted as redacted_store_url;
pub use tracker::{Allocation, Capacity, Refusal, ResourceTracker};

pub(crate) use logging::{escape_controls, log};

use crate::error::{Error, Result};
use crate::paths;
use shared::Daemon;
use state::State;
use store::JobStore;

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
    // So does a CA for the database's TLS that cannot be read.
    if config.store.is_some() {
        cluster::db::prepare()?;
    }
    // Running as root, jobs run as their users and read their scripts from
    // under the state directory: it is traversable (0711), never listable.
    let shared = rustix::process::getuid().is_root();
    private_state::check_dir(&config.state_dir)?;
    create_dir(&config.state_dir, if shared { 0o711 } else { 0o700 })?;
    let _lock = lock_state_dir(&config.state_dir)?;
    // Another daemon's socket is refused before this one touches its jobs.
    refuse_if_served(&config.socket)?;
    let jobs_dir = config.state_dir.join("jobs");
    create_dir(&jobs_dir, if shared { 0o711 } else { 0o700 })?;
    let exe = std::env::current_exe()
        .map_err(|e| Error::Other(format!("cannot find the conductord executable: {e}")))?;
    private_state::tighten(&config.state_dir);
    let statistics = Arc::<statistics::Statistics>::default();
    let store = JobStore::open_observed(
        &config.state_dir,
        config.store.as_deref(),
        config.first_job_id,
        statistics.recorders.commit_observer(),
    )?;
    let containment = containment::resolve(
        config.containment,
        &config.state_dir,
        config.cpu_bind,
        &config.gpus,
    )
    .map_err(Error::Other)?;
    let host = Arc::new(host::Host {
        launcher: executor::Launcher::new(exe, jobs_dir.clone()),
        jobs_dir,
        containment,
        node: config.node_name.clone(),
        gpus: config.gpus.clone(),
        server_address: format!("unix:{}", config.socket.display()),
        kill_wait: config.kill_wait,
        fence: config.store.is_some().then(|| executor::Fence {
            heartbeat: joining::heartbeat_file(&config),
            after_ms: u64::try_from((config.node_timeout / 2).as_millis()).unwrap_or(u64::MAX),
        }),
    });
    // On PostgreSQL the node joins its cluster: as its scheduler, or
    // standing by until it is one.
    let joined = match config.store.as_deref() {
        Some(url) => match joining::join(
            &config,
            url,
            (&host, tls.clone(), ensure_token(&config.state_dir)?.into()),
        )
        .await?
        {
            Some(joined) => Some(joined),
            None => return Ok(()),
        },
        None => None,
    };
    let (agent, cluster_secret, lease) = match joined {
        Some(joined) => (Some(joined.agent), Some(joined.secret), Some(joined.lease)),
        None => (None, None, None),
    };
    if let Some(agent) = &agent {
        joining::first_reading(agent, &config.node_name).await;
    }

    // The usage book is back before recovery queues the pending jobs, so
    // their priorities count what their users used before the restart.
    let mut priorities = priorities::Priorities::new(&config, chrono::Utc::now());
    if let Some(book) = store.load_usage()? {
        priorities.book = book;
    }
    let daemon = Arc::new(Daemon {
        state: Mutex::new(State::new(
            (
                config.node_name.clone(),
                ResourceTracker::new(config.capacity),
            ),
            config.partitions.clone(),
            !config.user_limits.is_empty(),
            priorities,
        )),
        wake: Notify::new(),
        stopping: AtomicBool::new(false),
        passes: AtomicU64::new(0),
        last_pass_micros: AtomicU64::new(0),
        statistics,
        next_wakeup: Mutex::new(None),
        started_at: chrono::Utc::now(),
        store,
        host,
        boot_id: node::boot_id(),
        tokens: match config.store.as_deref() {
            Some(url) => {
                let url = cluster::agent::session_url(url, &config.node_name);
                tokio::task::block_in_place(|| tokens::TokenBook::open_in_database(&url))?
            }
            None => tokens::TokenBook::open(&config.state_dir)?,
        },
        members: agent.as_ref().map(cluster::agent::NodeAgent::members),
        cluster_secret,
        largest: Mutex::new(config.capacity),
        dispatch: config.store.as_deref().map(|url| {
            cluster::dispatch::Sender::new(&cluster::agent::session_url(url, &config.node_name))
        }),
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
        daemon.host.containment.describe()
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

    if let Some(url) = daemon.config.store.as_deref() {
        let url = cluster::agent::session_url(url, daemon.node());
        lifecycle::follow_cluster(daemon.clone(), url);
    }
    tokio::spawn(lifecycle::scheduler_loop(daemon.clone()));
    tokio::spawn(daemon.clone().priority_loop());
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

    let lease_lost = async {
        match (lease, &daemon.config.store) {
            (Some(lease), Some(url)) => {
                let node = daemon.config.node_name.clone();
                let timeout = daemon.config.node_timeout;
                cluster::lease::keep(lease, url.clone(), node, LEASE_CHECK, timeout).await
            }
            _ => std::future::pending().await,
        }
    };
    tokio::select! {
        () = shutdown_signal() => {}
        holder = lease_lost => log(format_args!(
            "the job store was taken over by {holder} while its database was away: \
             stopping, so that two daemons never run the same jobs"
        )),
    }
    log(format_args!("shutting down"));
    let _ = stop_tx.send(true);
    daemon.shutdown().await;
    let _ = unix_task.await;
    if let Some(task) = tcp_task {
        let _ = task.await;
    }
    let _ = fs::remove_file(&daemon.config.socket);
    if let Some(agent) = agent {
        joining::leave(agent).await;
    }
    log(format_args!("stopped"));
    Ok(())
}

/// An error when another daemon answers on the socket at `path`.
fn refuse_if_served(path: &Path) -> Result<()> {
    if answers(path) {
        return Err(Error::Other(format!(
            "another conductord is already serving on {}",
            path.display()
        )));
    }
    Ok(())
}

/// Whether something serves on the socket at `path`: it takes a request
/// and says something back. A bare connect is not enough: a daemon killed
/// while it was starting a process leaves its listening socket, for a
/// moment, in the child that has not yet exec'd; that listener queues the
/// connection and then resets it, which reads here as nothing serving. One
/// that takes the request and stays silent still counts, so a daemon too
/// busy to answer is never taken over.
fn answers(path: &Path) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(path) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let asked =
        stream.write_all(b"GET /v1/diag HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let mut first = [0u8; 1];
    match (asked, stream.read(&mut first)) {
        (Ok(()), Ok(n)) => n > 0,
        (_, Err(e)) => matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        (Err(_), Ok(_)) => false,
    }
}

/// How often a daemon on PostgreSQL checks that it still holds its
/// database's lease: after a database restart, the lease is free until
/// the daemon takes it again, so this is the window in which another
/// daemon could take it (then this one stops).
const LEASE_CHECK: std::time::Duration = std::time::Duration::from_secs(1);

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
        refuse_if_served(path)?;
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
