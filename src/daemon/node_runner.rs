//! The jobs the scheduler puts on a standby: their starts come as rows of
//! the store (phase Running, `node` this one) with a notification
//! (`cluster::dispatch`). The runner starts each under its own supervisor
//! through the node's [`Host`], as the scheduler's daemon starts its own,
//! and writes each end back for the scheduler to record; requests to its
//! jobs (cancel, signal, requeue) come the same way.
//!
//! The store is the truth: a run the store no longer says is here (the
//! scheduler ended it meanwhile, say because this node was declared down)
//! is killed; one the store says is here and that this runner does not
//! know (it started as a standby again, after a crash) is followed through
//! its supervisor if it still runs, else its end is read from its
//! directory. A database lost for a while costs nothing but time: each
//! end is written until it is on disk, and nothing starts meanwhile (a
//! job that may run again elsewhere is killed by its own supervisor once
//! the node's heartbeat is half a node timeout old: `executor::Fence`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::Client;
use tokio::sync::mpsc;

use super::cluster::agent::session_url;
use super::cluster::dispatch::{self, Assigned, RemoteControl};
use super::end::End;
use super::executor::{self, Control, Supervisor};
use super::host::Host;
use super::log;
use crate::protocol::JobId;

/// A run of a job: the job and its start, in ms.
type Run = (JobId, i64);

/// How often the runner reads its jobs without a notification: a
/// notification lost with a session costs at most this.
const POLL: Duration = Duration::from_secs(1);

/// The running runner; stopped when dropped (the jobs' supervisors run
/// on, for whoever follows them next).
pub(super) struct NodeRunner {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for NodeRunner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.abort();
    }
}

/// Starts the runner of `host`'s node on the database at `url`.
pub(super) fn start(url: &str, host: Arc<Host>) -> NodeRunner {
    let stop = Arc::new(AtomicBool::new(false));
    let (scans, scanned) = mpsc::channel(2);
    let url = session_url(url, &host.node);
    {
        let (url, node, stop) = (url.clone(), host.node.clone(), stop.clone());
        let spawned = std::thread::Builder::new()
            .name("node-runner".into())
            .spawn(move || read_loop(&url, &node, &stop, &scans));
        if let Err(e) = spawned {
            log(format_args!("cannot start the node's runner: {e}"));
        }
    }
    let runner = Runner {
        host,
        url,
        runs: HashMap::new(),
        stop: stop.clone(),
        fenced: false,
    };
    NodeRunner {
        stop,
        task: tokio::spawn(runner.run(scanned)),
    }
}

/// What one reading of the store found for this node.
struct Scan {
    assigned: Vec<Assigned>,
    controls: Vec<RemoteControl>,
}

/// The reading thread: the node's jobs and the requests to them, at once,
/// on every notification for this node, and every [`POLL`].
fn read_loop(url: &str, node: &str, stop: &AtomicBool, scans: &mpsc::Sender<Scan>) {
    dispatch::listen(
        url,
        dispatch::NODE_CHANNEL,
        &|payload| payload == node,
        POLL,
        &|| stop.load(Ordering::SeqCst) || scans.is_closed(),
        |client, _| {
            let mut tx = client.transaction()?;
            let assigned = dispatch::assigned(&mut tx, node)?;
            let controls = dispatch::take_controls(&mut tx, node)?;
            tx.commit()?;
            let _ = scans.blocking_send(Scan { assigned, controls });
            Ok(())
        },
    );
}

/// What the runner knows of one run on this node.
#[derive(Default)]
struct Running {
    supervisor: Option<Supervisor>,
    /// A request that came before the supervisor had started.
    pending: Option<Control>,
    /// Its end is known (and being written, or written).
    ended: bool,
}

/// What happened to a run, from the tasks that start and follow them.
enum Event {
    Started(Run, Result<Supervisor, End>),
    Ended(Run, End, DateTime<Utc>),
}

struct Runner {
    host: Arc<Host>,
    url: String,
    runs: HashMap<Run, Running>,
    stop: Arc<AtomicBool>,
    /// Whether what was left of jobs no longer this node's is killed.
    fenced: bool,
}

impl Runner {
    async fn run(mut self, mut scanned: mpsc::Receiver<Scan>) {
        let (events, mut happened) = mpsc::unbounded_channel();
        loop {
            tokio::select! {
                scan = scanned.recv() => match scan {
                    Some(scan) => self.apply(scan, &events),
                    None => return,
                },
                Some(event) = happened.recv() => self.on(event, &events),
            }
        }
    }

    /// Starts or adopts what the store says runs here and is new to the
    /// runner; kills and clears what it no longer says; passes requests on.
    fn apply(&mut self, scan: Scan, events: &mpsc::UnboundedSender<Event>) {
        let here: std::collections::HashSet<Run> = scan
            .assigned
            .iter()
            .map(|a| (a.job.id, a.start_ms()))
            .collect();
        if !self.fenced {
            self.fenced = true;
            self.fence(here.iter().map(|(id, _)| *id).collect());
        }
        let gone: Vec<Run> = self
            .runs
            .keys()
            .filter(|run| !here.contains(run))
            .copied()
            .collect();
        for run in gone {
            let Some(running) = self.runs.remove(&run) else {
                continue;
            };
            self.settle(run, running.ended);
        }
        for assigned in scan.assigned {
            let run = (assigned.job.id, assigned.start_ms());
            if self.runs.contains_key(&run) {
                continue;
            }
            self.runs.insert(run, Running::default());
            let (host, events) = (self.host.clone(), events.clone());
            tokio::spawn(async move {
                let started = adopt_or_start(&host, assigned).await;
                let _ = events.send(Event::Started(run, started));
            });
        }
        for control in scan.controls {
            let Some(running) = self.runs.get_mut(&(control.id, control.start_ms)) else {
                continue;
            };
            match &running.supervisor {
                Some(supervisor) => supervisor.send(control.control),
                None => running.pending = Some(control.control),
            }
        }
    }

    fn on(&mut self, event: Event, events: &mpsc::UnboundedSender<Event>) {
        match event {
            Event::Started(run, Ok(supervisor)) => {
                let Some(running) = self.runs.get_mut(&run) else {
                    // Taken away while it started: it must not run on.
                    supervisor.send(Control::Cancel { by_uid: 0 });
                    return;
                };
                if let Some(control) = running.pending.take() {
                    supervisor.send(control);
                }
                running.supervisor = Some(supervisor.clone());
                let (host, events) = (self.host.clone(), events.clone());
                tokio::spawn(async move {
                    let end = host.follow(run.0, supervisor).await;
                    let _ = events.send(Event::Ended(run, end, Utc::now()));
                });
            }
            Event::Started(run, Err(end)) => self.ended(run, end, Utc::now()),
            Event::Ended(run, end, at) => self.ended(run, end, at),
        }
    }

    /// Writes a run's end back, until it is on disk.
    fn ended(&mut self, run: Run, end: End, at: DateTime<Utc>) {
        let Some(running) = self.runs.get_mut(&run) else {
            return;
        };
        running.ended = true;
        running.supervisor = None;
        let (url, node, stop) = (self.url.clone(), self.host.node.clone(), self.stop.clone());
        tokio::task::spawn_blocking(move || {
            let mut client: Option<Client> = None;
            while !stop.load(Ordering::SeqCst) {
                let written = match &mut client {
                    Some(client) => dispatch::record_end(client, &node, run, at, &end),
                    None => match super::cluster::db::connect(&url) {
                        Ok(connected) => {
                            client = Some(connected);
                            continue;
                        }
                        Err(e) => Err(e.into()),
                    },
                };
                match written {
                    Ok(()) => return,
                    Err(_) => {
                        client = None;
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
        });
    }

    /// Kills and removes every job cgroup left on this node (from when it
    /// scheduled, or ran as a standby before a crash) that the store does
    /// not say runs here: its scheduler ended those jobs, so they must not
    /// run on unseen. Without cgroups there is nothing to find them by.
    fn fence(&self, here: std::collections::HashSet<JobId>) {
        let host = self.host.clone();
        tokio::task::spawn_blocking(move || {
            for id in host.containment.leftovers() {
                if here.contains(&id) {
                    continue;
                }
                match host.containment.kill_and_remove(id) {
                    Ok(()) => log(format_args!(
                        "job {id}: killed what was left of it, no longer this node's"
                    )),
                    Err(e) => log(format_args!("job {id}: cannot clean up its cgroup: {e}")),
                }
            }
        });
    }

    /// A run the store no longer puts here: gone for good once its end
    /// was recorded, else killed first (the scheduler ended it without
    /// this node: it must not run on unseen). Its directory goes either
    /// way.
    fn settle(&self, (id, start_ms): Run, ended: bool) {
        let host = self.host.clone();
        let Some(start) = DateTime::from_timestamp_millis(start_ms) else {
            return;
        };
        let dir = host.job_dir(id, start);
        tokio::task::spawn_blocking(move || {
            if !ended {
                let gone = host.kill_remains(id, &dir);
                log(format_args!(
                    "job {id} is no longer this node's (ended by the scheduler): {}",
                    if gone {
                        "nothing of it runs any more"
                    } else {
                        "processes of it are still alive"
                    }
                ));
            }
            let _ = std::fs::remove_dir_all(&dir);
        });
    }
}

/// Follows a run this node already has (its supervisor, or the end it
/// left), else starts it.
async fn adopt_or_start(host: &Arc<Host>, assigned: Assigned) -> Result<Supervisor, End> {
    let id = assigned.job.id;
    let Some(start) = DateTime::from_timestamp_millis(assigned.start_ms()) else {
        return Err(End::LaunchFailed("a start time out of range".into()));
    };
    let dir: PathBuf = host.job_dir(id, start);
    if dir.exists() {
        let adopting = host.clone();
        let found = tokio::task::spawn_blocking(move || {
            let lock = match Supervisor::reattach(&dir) {
                Ok(supervisor) => return Some(Ok(supervisor)),
                Err(lock) => lock,
            };
            match executor::outcome(&dir) {
                Some(end) => Some(Err(end)),
                None if executor::may_have_started(&dir) => {
                    adopting.kill_lost(id, &dir);
                    Some(Err(End::Lost))
                }
                // Made, but its supervisor never started: start it afresh.
                None => {
                    drop(lock);
                    let _ = std::fs::remove_dir_all(&dir);
                    None
                }
            }
        })
        .await
        .unwrap_or(None);
        if let Some(found) = found {
            log(format_args!("job {id}: followed again on this node"));
            return found;
        }
    }
    host.start(&assigned.job, Ok(assigned.payload)).await
}
