//! How the scheduler and the other nodes hand jobs to each other through
//! the database, with no protocol of their own: a start is the job's row
//! (phase Running, `node` naming where) committed with `NOTIFY
//! conductor_node` (payload: the node); an end is a row of `job_ends`
//! with `NOTIFY conductor_end`; a cancel, signal or requeue of a job on
//! another node is a row of `job_controls` with `NOTIFY conductor_node`.
//! A notification only wakes; the rows say what to do, so one missed
//! (a session lost meanwhile) costs a poll's delay, never a job.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use postgres::fallible_iterator::FallibleIterator;
use postgres::{Client, GenericClient};

use crate::daemon::end::End;
use crate::daemon::executor::Control;
use crate::daemon::job::{Job, Phase};
use crate::daemon::store::Payload;
use crate::error::{Error, Result};
use crate::protocol::JobId;

/// The tables, made where missing (added within schema version 1).
/// An end is keyed by the run it ends (the job and its start), so an end
/// of an earlier run can never end a later one.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS job_ends (
    id       bigint NOT NULL,
    start_ms bigint NOT NULL,
    node     text   NOT NULL,
    end_ms   bigint NOT NULL,
    outcome  text   NOT NULL,
    PRIMARY KEY (id, start_ms)
);
CREATE TABLE IF NOT EXISTS job_controls (
    seq      bigserial PRIMARY KEY,
    id       bigint NOT NULL,
    start_ms bigint NOT NULL,
    node     text   NOT NULL,
    control  text   NOT NULL
)";

/// Wakes a node's runner: payload the node's name.
pub const NODE_CHANNEL: &str = "conductor_node";

/// Wakes the scheduler: an end was written.
pub const END_CHANNEL: &str = "conductor_end";

/// A job the store says runs on a node, with what it runs.
pub struct Assigned {
    pub job: Job,
    pub payload: Payload,
}

impl Assigned {
    /// The start of the run, in ms: what keys its end and its controls.
    pub fn start_ms(&self) -> i64 {
        start_ms(&self.job)
    }
}

/// A running job's start in ms since the epoch; 0 for a job not running.
pub fn start_ms(job: &Job) -> i64 {
    match &job.phase {
        Phase::Running { start_time, .. } => start_time.timestamp_millis(),
        _ => 0,
    }
}

/// An end a node wrote, for the scheduler to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEnd {
    pub id: JobId,
    pub start_ms: i64,
    pub at: DateTime<Utc>,
    pub end: End,
}

/// A request to a job's supervisor on its node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteControl {
    pub id: JobId,
    pub start_ms: i64,
    pub control: Control,
}

/// The jobs the store says run on `node` now, with their payloads.
pub fn assigned(client: &mut impl GenericClient, node: &str) -> Result<Vec<Assigned>> {
    let rows = client.query(
        "SELECT jobs.id, jobs.spec, jobs.phase, payloads.script, payloads.environment
         FROM jobs JOIN payloads ON payloads.id = jobs.payload
         WHERE jobs.state = 'RUNNING' AND jobs.node = $1
         ORDER BY jobs.id",
        &[&node],
    )?;
    rows.iter()
        .map(|row| {
            let id: i64 = row.get(0);
            let bad = |e: serde_json::Error| {
                Error::Other(format!("job {id} in the store cannot be read: {e}"))
            };
            Ok(Assigned {
                job: Job {
                    id: JobId(id as u64),
                    spec: serde_json::from_str(row.get(1)).map_err(bad)?,
                    phase: serde_json::from_str(row.get(2)).map_err(bad)?,
                    expected_start: None,
                },
                payload: Payload {
                    script: row.get(3),
                    environment: serde_json::from_str(row.get(4)).map_err(bad)?,
                },
            })
        })
        .collect()
}

/// Takes the requests waiting for `node`'s jobs, oldest first.
pub fn take_controls(client: &mut impl GenericClient, node: &str) -> Result<Vec<RemoteControl>> {
    let rows = client.query(
        "DELETE FROM job_controls WHERE node = $1 RETURNING seq, id, start_ms, control",
        &[&node],
    )?;
    let mut controls: Vec<(i64, RemoteControl)> = rows
        .iter()
        .filter_map(|row| {
            let control = serde_json::from_str(row.get(3)).ok()?;
            Some((
                row.get(0),
                RemoteControl {
                    id: JobId(row.get::<_, i64>(1) as u64),
                    start_ms: row.get(2),
                    control,
                },
            ))
        })
        .collect();
    controls.sort_by_key(|(seq, _)| *seq);
    Ok(controls.into_iter().map(|(_, control)| control).collect())
}

/// Asks `node` to pass `control` to the run of job `id` that started at
/// `start_ms`; committed (and the node woken) when this returns.
pub fn send_control(
    client: &mut Client,
    node: &str,
    id: JobId,
    start_ms: i64,
    control: Control,
) -> Result<()> {
    let text = serde_json::to_string(&control).map_err(|e| Error::Other(e.to_string()))?;
    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO job_controls (id, start_ms, node, control) VALUES ($1, $2, $3, $4)",
        &[&(id.0 as i64), &start_ms, &node, &text],
    )?;
    tx.execute("SELECT pg_notify($1, $2)", &[&NODE_CHANNEL, &node])?;
    tx.commit().map_err(Error::from)
}

/// Records how a run on `node` ended, once (a second write of the same
/// run's end changes nothing), and wakes the scheduler.
pub fn record_end(
    client: &mut Client,
    node: &str,
    (id, start_ms): (JobId, i64),
    at: DateTime<Utc>,
    end: &End,
) -> Result<()> {
    let text = serde_json::to_string(end).map_err(|e| Error::Other(e.to_string()))?;
    let mut tx = client.transaction()?;
    tx.execute(
        "INSERT INTO job_ends (id, start_ms, node, end_ms, outcome) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id, start_ms) DO NOTHING",
        &[
            &(id.0 as i64),
            &start_ms,
            &node,
            &at.timestamp_millis(),
            &text,
        ],
    )?;
    tx.execute("SELECT pg_notify($1, '')", &[&END_CHANNEL])?;
    tx.commit().map_err(Error::from)
}

/// Every end written and not yet recorded by the scheduler (the commit
/// that records a job's end or next start deletes its rows).
pub fn ends(client: &mut impl GenericClient) -> Result<Vec<RemoteEnd>> {
    let rows = client.query(
        "SELECT id, start_ms, end_ms, outcome FROM job_ends ORDER BY end_ms",
        &[],
    )?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            Some(RemoteEnd {
                id: JobId(row.get::<_, i64>(0) as u64),
                start_ms: row.get(1),
                at: Utc.timestamp_millis_opt(row.get(2)).single()?,
                end: serde_json::from_str(row.get(3)).ok()?,
            })
        })
        .collect())
}

/// Why [`listen`] runs its `each` this time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The session is new: something may have been missed.
    Start,
    Notified,
    /// The period passed without a notification.
    Timer,
}

/// Runs `each` on a session of its own that listens on `channel`: at
/// once, then whenever a notification whose payload is `wanted` comes
/// (`each` reads what to do) or `period` passes, until `stop` says so. A lost
/// session is opened again after a second. Blocks: run it on a thread of
/// its own.
pub fn listen(
    url: &str,
    channel: &str,
    wanted: &dyn Fn(&str) -> bool,
    period: Duration,
    stop: &dyn Fn() -> bool,
    mut each: impl FnMut(&mut Client, Woken) -> Result<()>,
) {
    while !stop() {
        let Ok(mut client) = super::db::connect(url) else {
            std::thread::sleep(Duration::from_secs(1));
            continue;
        };
        if client.batch_execute(&format!("LISTEN {channel}")).is_err() {
            std::thread::sleep(Duration::from_secs(1));
            continue;
        }
        let mut woken = Woken::Start;
        while !stop() {
            if each(&mut client, woken).is_err() && client.is_closed() {
                break;
            }
            // Waits for a wanted notification, then takes every other
            // already here: one round of `each` answers them all.
            let deadline = std::time::Instant::now() + period;
            let mut notifications = client.notifications();
            let lost = loop {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                match notifications.timeout_iter(left).next() {
                    Ok(Some(note)) if wanted(note.payload()) => {
                        woken = Woken::Notified;
                        break false;
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => {
                        woken = Woken::Timer;
                        break false;
                    }
                    Err(_) => break true,
                }
            };
            if lost {
                break;
            }
            while let Ok(Some(_)) = notifications.iter().next() {}
        }
        if !stop() {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// The scheduler's side of requests to jobs on other nodes: one session,
/// opened when first needed and again after it was lost.
pub struct Sender {
    url: String,
    client: std::sync::Mutex<Option<Client>>,
}

impl Sender {
    pub fn new(url: &str) -> Sender {
        Sender {
            url: url.to_string(),
            client: std::sync::Mutex::new(None),
        }
    }

    /// [`send_control`] on the sender's session (opened, or opened again
    /// once when it was lost); blocks until committed.
    pub fn send(&self, node: &str, id: JobId, start_ms: i64, control: Control) -> Result<()> {
        let mut client = self
            .client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut last = None;
        for _ in 0..2 {
            if client.is_none() {
                *client = Some(super::db::connect(&self.url)?);
            }
            let Some(session) = client.as_mut() else {
                continue;
            };
            match send_control(session, node, id, start_ms, control) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    *client = None;
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| Error::Other("cannot reach the database".into())))
    }
}
