//! What a node lists of the cluster (`/v1/nodes`, so `cinfo`, `sinfo -N`
//! and `ccontrol show node`): itself as it stands now, and every other
//! node as the registry last said, with what the scheduler's books hold
//! on it, by name. A pure function of the three, so the listing never
//! waits on the database.

use crate::protocol::{NodeInfo, NodeState};

use super::registry::NodeRecord;

/// What the scheduler's books hold of another node: what is free on it
/// and how many jobs run there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booked {
    pub cpus_free: u32,
    pub memory_mb_free: u64,
    pub gpus_free: u32,
    pub jobs_running: usize,
}

/// The nodes to list: `local` (this node, live), and each other node of
/// `registry` from its record: DOWN with its reason where the scheduler
/// declared it so, else up with what `booked` says runs there (nothing
/// yet, for a node the books do not hold yet). `local` is listed even
/// before its agent has registered it.
pub fn listed(
    local: NodeInfo,
    registry: &[NodeRecord],
    booked: impl Fn(&str) -> Option<Booked>,
) -> Vec<NodeInfo> {
    let mut nodes: Vec<NodeInfo> = registry
        .iter()
        .filter(|record| record.spec.name != local.name)
        .map(|record| from_record(&local, record, booked(&record.spec.name)))
        .collect();
    nodes.push(local);
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    nodes
}

/// Another node as its record and the books show it, with this node's
/// partitions (the same configuration on every node).
fn from_record(local: &NodeInfo, record: &NodeRecord, booked: Option<Booked>) -> NodeInfo {
    let spec = &record.spec;
    let (state, reason) = match &record.down {
        Some(down) => (NodeState::Down, Some(down.reason.clone())),
        None => (NodeState::Up, None),
    };
    let booked = booked.unwrap_or(Booked {
        cpus_free: spec.cpus,
        memory_mb_free: spec.memory_mb,
        gpus_free: spec.gpus,
        jobs_running: 0,
    });
    NodeInfo {
        name: spec.name.clone(),
        partition: local.partition.clone(),
        cpus_total: spec.cpus,
        cpus_free: booked.cpus_free,
        memory_mb_total: spec.memory_mb,
        memory_mb_free: booked.memory_mb_free,
        gpus_total: spec.gpus,
        gpus_free: booked.gpus_free,
        gres: (spec.gpus > 0).then(|| format!("gpu:{}", spec.gpus)),
        gpu_devices: Vec::new(),
        jobs_pending: 0,
        jobs_running: booked.jobs_running,
        partitions: local.partitions.clone(),
        state,
        reason,
        cpu_load: record.cpu_load,
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::daemon::cluster::registry::{Down, Epoch, NodeSpec};

    fn local(name: &str) -> NodeInfo {
        NodeInfo {
            name: name.into(),
            partition: "debug".into(),
            cpus_total: 2,
            cpus_free: 1,
            memory_mb_total: 1000,
            memory_mb_free: 500,
            gpus_total: 0,
            gpus_free: 0,
            gres: None,
            gpu_devices: Vec::new(),
            jobs_pending: 3,
            jobs_running: 1,
            partitions: Vec::new(),
            state: NodeState::Up,
            reason: None,
            cpu_load: None,
        }
    }

    fn record(name: &str, cpus: u32, gpus: u32, down: Option<&str>) -> NodeRecord {
        NodeRecord {
            spec: NodeSpec {
                name: name.into(),
                cpus,
                memory_mb: 4000,
                gpus,
                partitions: vec!["debug".into()],
                address: None,
                version: "0.1.0".into(),
            },
            epoch: Epoch(1),
            heartbeat: Utc::now(),
            down: down.map(|reason| Down {
                since: Utc::now(),
                reason: reason.into(),
            }),
            cpu_load: None,
        }
    }

    #[test]
    fn this_node_is_listed_live_and_the_others_from_their_records_by_name() {
        let registry = [
            record("c", 8, 0, Some("Not responding")),
            record("a", 4, 2, None),
            record("b", 99, 0, None),
        ];
        let books = |name: &str| {
            (name == "a").then_some(Booked {
                cpus_free: 1,
                memory_mb_free: 1000,
                gpus_free: 2,
                jobs_running: 3,
            })
        };
        let listed = listed(local("b"), &registry, books);
        let names: Vec<&str> = listed.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        // b is this node: what it stands at now, not its record.
        assert_eq!(listed[1], local("b"));
        // a is up, with what the books say runs there.
        let a = &listed[0];
        assert_eq!(
            (a.cpus_total, a.cpus_free, a.jobs_running, a.state),
            (4, 1, 3, NodeState::Up)
        );
        assert_eq!(a.reason, None);
        assert_eq!(a.gres.as_deref(), Some("gpu:2"));
        assert_eq!(a.partition, "debug");
        let c = &listed[2];
        assert_eq!(c.state, NodeState::Down);
        assert_eq!(c.reason.as_deref(), Some("Not responding"));
    }

    #[test]
    fn a_node_not_yet_registered_still_lists_itself() {
        let listed = listed(local("solo"), &[], |_| None);
        assert_eq!(listed, vec![local("solo")]);
    }
}
