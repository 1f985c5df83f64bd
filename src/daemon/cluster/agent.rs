//! A node's agent in the registry: a thread of its own, with a database
//! session of its own, that registers the node, renews its heartbeat
//! every interval, and tells the daemon where the node stands (a
//! [`watch`] channel of [`Standing`]): up in an epoch, fenced (declared
//! down meanwhile: kill what runs, then [`NodeAgent::rejoin`]), or cut
//! off from the database (no heartbeat has gone through for that long:
//! start nothing; past the node timeout, the scheduler will have ended
//! this node's jobs).
//!
//! A thread rather than a task: the `postgres` client blocks, and the
//! heartbeat must go on whatever the daemon's runtime is busy with.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use postgres::Client;
use tokio::sync::watch;

use super::registry::{self, Beat, Epoch, NodeRecord, NodeSpec};

/// Where a node stands, as its agent last found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Not registered yet.
    Joining,
    /// Registered, with its heartbeat going through, in this epoch.
    Up(Epoch),
    /// Declared down since registering in this epoch: its jobs have been
    /// ended or requeued elsewhere, and it must kill them before it
    /// rejoins.
    Fenced(Epoch),
    /// No heartbeat has gone through since `since`, in this epoch.
    CutOff { epoch: Epoch, since: Instant },
}

/// The cluster as a node's agent last read it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Membership {
    /// Every node of the registry, by name.
    pub nodes: Vec<NodeRecord>,
    /// The node that holds the scheduler lease, if one does.
    pub scheduler: Option<String>,
}

/// How often the agent beats, and how long it waits between tries to
/// reach the database again.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub heartbeat: Duration,
    pub retry: Duration,
}

/// The running agent; stopped when dropped.
pub struct NodeAgent {
    standing: watch::Receiver<Standing>,
    members: watch::Receiver<Membership>,
    rejoin: Arc<AtomicBool>,
    refresh: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NodeAgent {
    /// Starts the agent of `spec` against the database at `url`; after
    /// each heartbeat that goes through it touches `heartbeat_file`, which
    /// the node's supervisors go by (`executor::Fence`).
    pub fn start(
        url: &str,
        spec: NodeSpec,
        timing: Timing,
        heartbeat_file: Option<std::path::PathBuf>,
    ) -> NodeAgent {
        let (tell, standing) = watch::channel(Standing::Joining);
        let (show, members) = watch::channel(Membership::default());
        let rejoin = Arc::new(AtomicBool::new(false));
        let refresh = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let name = spec.name.clone();
        let agent = Agent {
            url: session_url(url, &spec.name),
            spec,
            timing,
            heartbeat_file,
            tell,
            show,
            rejoin: rejoin.clone(),
            refresh: refresh.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("node-agent".into())
            .spawn(move || agent.run())
            .ok();
        // A change of the registry or of who schedules has the agent read
        // it at once, not at its next heartbeat. The thread ends, within a
        // second, once the agent is stopped.
        let (url, wake, stopped) = (session_url(url, &name), refresh.clone(), stop.clone());
        let _ = std::thread::Builder::new()
            .name("node-registry".into())
            .spawn(move || {
                super::dispatch::listen(
                    &url,
                    registry::CHANGED_CHANNEL,
                    &|_| true,
                    Duration::from_secs(1),
                    &|| stopped.load(Ordering::SeqCst),
                    |_, woken| {
                        if woken == super::dispatch::Woken::Notified {
                            wake.store(true, Ordering::SeqCst);
                        }
                        Ok(())
                    },
                );
            });
        NodeAgent {
            standing,
            members,
            rejoin,
            refresh,
            stop,
            thread,
        }
    }

    /// Where the node stands, changes awaited with `changed()`.
    pub fn standing(&self) -> watch::Receiver<Standing> {
        self.standing.clone()
    }

    /// Every node in the registry, this one included, and which of them
    /// schedules, as the agent last read them (after each heartbeat): what
    /// listings show of the other nodes, and where a standby passes
    /// requests, without a query of their own.
    pub fn members(&self) -> watch::Receiver<Membership> {
        self.members.clone()
    }

    /// Says a fenced node has killed what it ran: the agent registers it
    /// again, in a new epoch.
    pub fn rejoin(&self) {
        self.rejoiner().nudge();
    }

    /// A handle that says [`NodeAgent::rejoin`] from elsewhere (the task
    /// that acts on the node's standing) without holding the agent.
    pub fn rejoiner(&self) -> Nudge {
        Nudge(self.rejoin.clone())
    }

    /// A handle that has the agent beat, and read the registry and who
    /// schedules, now rather than at its next interval: for a standby
    /// whose scheduler stopped answering.
    pub fn refresher(&self) -> Nudge {
        Nudge(self.refresh.clone())
    }
}

/// Asks something of the agent from elsewhere, without holding it (see
/// [`NodeAgent::rejoiner`], [`NodeAgent::refresher`]).
#[derive(Clone)]
pub struct Nudge(Arc<AtomicBool>);

impl Nudge {
    pub fn nudge(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Drop for NodeAgent {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `url` with the session named for the node, as the lease's holder is
/// told (`conductord:<node>`), and with TCP keepalives of a few seconds:
/// a node whose machine vanishes without closing its connections loses
/// its session, and so its lease, in about 11 s rather than the kernel's
/// two hours.
pub fn session_url(url: &str, node: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}application_name=conductord:{node}\
         &keepalives_idle=5&keepalives_interval=2&keepalives_retries=3"
    )
}

struct Agent {
    url: String,
    spec: NodeSpec,
    timing: Timing,
    heartbeat_file: Option<std::path::PathBuf>,
    tell: watch::Sender<Standing>,
    show: watch::Sender<Membership>,
    rejoin: Arc<AtomicBool>,
    refresh: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Agent {
    fn run(self) {
        let mut session: Option<Client> = None;
        let mut epoch: Option<Epoch> = None;
        let mut last_beat = Instant::now();
        while !self.stop.load(Ordering::SeqCst) {
            let standing = *self.tell.borrow();
            if let Standing::Fenced(_) = standing
                && !self.rejoin.swap(false, Ordering::SeqCst)
            {
                self.pause(self.timing.retry);
                continue;
            }
            let client = match session.as_mut() {
                Some(client) => client,
                None => match super::db::connect(&self.url) {
                    Ok(client) => session.insert(client),
                    Err(_) => {
                        self.cut_off(epoch, last_beat);
                        self.pause(self.timing.retry);
                        continue;
                    }
                },
            };
            let beat = match (standing, epoch) {
                (Standing::Fenced(_), _) | (_, None) => {
                    registry::register(client, &self.spec).map(|new| {
                        epoch = Some(new);
                        Beat::Alive
                    })
                }
                (_, Some(current)) => {
                    let load = crate::daemon::node::load_average();
                    registry::heartbeat(client, &self.spec.name, current, load)
                }
            };
            match (beat, epoch) {
                (Ok(Beat::Alive), Some(current)) => {
                    last_beat = Instant::now();
                    if let Some(file) = &self.heartbeat_file {
                        touch(file);
                    }
                    self.tell
                        .send_if_modified(|s| replace(s, Standing::Up(current)));
                    if let Ok(nodes) = registry::list(client) {
                        let scheduler = super::lease::holder(client).ok().flatten().map(|holder| {
                            holder
                                .strip_prefix("conductord:")
                                .unwrap_or(&holder)
                                .to_string()
                        });
                        self.show.send_replace(Membership { nodes, scheduler });
                    }
                    self.pause(self.timing.heartbeat);
                }
                (Ok(Beat::Fenced), Some(current)) => {
                    self.tell.send_replace(Standing::Fenced(current));
                }
                _ => {
                    session = None;
                    self.cut_off(epoch, last_beat);
                    self.pause(self.timing.retry);
                }
            }
        }
    }

    /// Says the node is cut off since its last heartbeat, once.
    fn cut_off(&self, epoch: Option<Epoch>, since: Instant) {
        if let Some(epoch) = epoch {
            self.tell.send_if_modified(|standing| match standing {
                Standing::Up(_) => replace(standing, Standing::CutOff { epoch, since }),
                _ => false,
            });
        }
    }

    /// Sleeps `period`, or less once told to stop or to refresh.
    fn pause(&self, period: Duration) {
        let until = Instant::now() + period;
        while !self.stop.load(Ordering::SeqCst) && !self.refresh.swap(false, Ordering::SeqCst) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
    }
}

/// Sets `file`'s modification time to now, making it if missing.
fn touch(file: &std::path::Path) {
    let touched = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(file)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()));
    if let Err(e) = touched {
        crate::daemon::log(format_args!(
            "cannot renew the heartbeat file {}: {e}",
            file.display()
        ));
    }
}

/// Sets `slot` to `value`; whether it changed.
fn replace(slot: &mut Standing, value: Standing) -> bool {
    let changed = *slot != value;
    *slot = value;
    changed
}
