//! The nodes of a cluster as the database keeps them: each registers at
//! start, which bumps its epoch, then proves it is alive by a heartbeat
//! that names that epoch. The scheduler declares a node DOWN once its
//! heartbeat is older than the node timeout (Slurm's SlurmdTimeout),
//! bumping the epoch again, so the node's next heartbeat matches nothing
//! and tells it that it was fenced: it must kill what it still runs before
//! it registers again.
//!
//! Times are the database's (`now()`), never a node's clock, so nodes
//! whose clocks disagree still agree on whose heartbeat is stale.

use std::time::Duration;

use chrono::{DateTime, Utc};
use postgres::GenericClient;

use crate::error::{Error, Result};

/// The table, created by the store's migrations.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS nodes (
    name text PRIMARY KEY,
    cpus integer NOT NULL,
    memory_mb bigint NOT NULL,
    gpus integer NOT NULL,
    partitions text[] NOT NULL DEFAULT '{}',
    address text,
    version text NOT NULL,
    epoch bigint NOT NULL,
    heartbeat timestamptz NOT NULL,
    down_since timestamptz,
    reason text
);
ALTER TABLE nodes ADD COLUMN IF NOT EXISTS cpu_load double precision";

/// A registration of a node; each one bumps it, so a heartbeat or a job
/// start from before the node was declared down is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Epoch(pub i64);

/// What a node says of itself when it registers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    pub name: String,
    pub cpus: u32,
    pub memory_mb: u64,
    pub gpus: u32,
    /// The partitions the node is in.
    pub partitions: Vec<String>,
    /// Where its API listens over TCP, for the other nodes.
    pub address: Option<String>,
    /// Its conductord's version.
    pub version: String,
}

/// Why and since when a node is down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Down {
    pub since: DateTime<Utc>,
    pub reason: String,
}

/// A node as the registry holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    pub spec: NodeSpec,
    pub epoch: Epoch,
    /// Its last heartbeat, by the database's clock.
    pub heartbeat: DateTime<Utc>,
    /// `None` while it is up.
    pub down: Option<Down>,
    /// Its one-minute load average at its last heartbeat.
    pub cpu_load: Option<f64>,
}

/// What a heartbeat found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beat {
    /// The node is up in the epoch it named.
    Alive,
    /// The node was declared down (or registered again elsewhere) since
    /// that epoch: it must kill its jobs and register again.
    Fenced,
}

/// Registers `spec`, as a new node or again (then with its facts
/// renewed, up again, and its epoch bumped), with this machine's load
/// average now; returns the new epoch.
pub fn register(client: &mut impl GenericClient, spec: &NodeSpec) -> Result<Epoch> {
    let cpu_load = crate::daemon::node::load_average();
    let row = client.query_one(
        "INSERT INTO nodes (name, cpus, memory_mb, gpus, partitions, address, version,
                            epoch, heartbeat, cpu_load)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, now(), $8)
             ON CONFLICT (name) DO UPDATE SET
                 cpus = excluded.cpus, memory_mb = excluded.memory_mb,
                 gpus = excluded.gpus, partitions = excluded.partitions,
                 address = excluded.address, version = excluded.version,
                 epoch = nodes.epoch + 1, heartbeat = now(),
                 down_since = NULL, reason = NULL, cpu_load = excluded.cpu_load
             RETURNING epoch",
        &[
            &spec.name,
            &to_i32(spec.cpus)?,
            &to_i64(spec.memory_mb)?,
            &to_i32(spec.gpus)?,
            &spec.partitions,
            &spec.address,
            &spec.version,
            &cpu_load,
        ],
    )?;
    changed(client)?;
    Ok(Epoch(row.get(0)))
}

/// Renews `name`'s heartbeat in `epoch`, with its load average now;
/// [`Beat::Fenced`] when that epoch is over (the node was declared down,
/// or registered again since).
pub fn heartbeat(
    client: &mut impl GenericClient,
    name: &str,
    epoch: Epoch,
    cpu_load: Option<f64>,
) -> Result<Beat> {
    let renewed = client.execute(
        "UPDATE nodes SET heartbeat = now(), cpu_load = $3
             WHERE name = $1 AND epoch = $2 AND down_since IS NULL",
        &[&name, &epoch.0, &cpu_load],
    )?;
    Ok(if renewed == 1 {
        Beat::Alive
    } else {
        Beat::Fenced
    })
}

/// Declares down every node but `scheduler` (the one asking, which is
/// plainly alive) that is up and whose heartbeat is older than `timeout`,
/// bumping its epoch; returns them with their new epochs. The caller ends
/// or requeues their jobs in the same transaction.
pub fn declare_down(
    client: &mut impl GenericClient,
    timeout: Duration,
    scheduler: &str,
) -> Result<Vec<(String, Epoch)>> {
    let rows = client.query(
        "UPDATE nodes SET down_since = now(), epoch = epoch + 1,
                 reason = 'Not responding'
             WHERE down_since IS NULL AND name <> $2
               AND heartbeat < now() - make_interval(secs => $1)
             RETURNING name, epoch",
        &[&timeout.as_secs_f64(), &scheduler],
    )?;
    if !rows.is_empty() {
        changed(client)?;
    }
    Ok(rows
        .iter()
        .map(|row| (row.get(0), Epoch(row.get(1))))
        .collect())
}

/// Wakes every node's agent to read the registry again now (a node came
/// or went, or scheduling moved), rather than at its next heartbeat.
pub const CHANGED_CHANNEL: &str = "conductor_nodes";

/// Sends [`CHANGED_CHANNEL`], at the commit (at once outside a
/// transaction).
pub fn changed(client: &mut impl GenericClient) -> Result<()> {
    client.execute("SELECT pg_notify($1, '')", &[&CHANGED_CHANNEL])?;
    Ok(())
}

/// Every node, by name.
pub fn list(client: &mut impl GenericClient) -> Result<Vec<NodeRecord>> {
    let rows = client.query(
        "SELECT name, cpus, memory_mb, gpus, partitions, address, version,
                    epoch, heartbeat, down_since, reason, cpu_load
             FROM nodes ORDER BY name",
        &[],
    )?;
    rows.iter().map(record).collect()
}

fn record(row: &postgres::Row) -> Result<NodeRecord> {
    let spec = NodeSpec {
        name: row.get(0),
        cpus: from_i32(row.get(1))?,
        memory_mb: from_i64(row.get(2))?,
        gpus: from_i32(row.get(3))?,
        partitions: row.get(4),
        address: row.get(5),
        version: row.get(6),
    };
    let down = row.get::<_, Option<DateTime<Utc>>>(9).map(|since| Down {
        since,
        reason: row.get::<_, Option<String>>(10).unwrap_or_default(),
    });
    Ok(NodeRecord {
        spec,
        epoch: Epoch(row.get(7)),
        heartbeat: row.get(8),
        down,
        cpu_load: row.get(11),
    })
}

fn to_i32(n: u32) -> Result<i32> {
    i32::try_from(n).map_err(|_| Error::Other(format!("{n} is too large for the node registry")))
}

fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::Other(format!("{n} is too large for the node registry")))
}

fn from_i32(n: i32) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::Other(format!("a node registry count is negative: {n}")))
}

fn from_i64(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::Other(format!("a node registry count is negative: {n}")))
}
