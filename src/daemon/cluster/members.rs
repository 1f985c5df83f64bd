//! What a node lists of the cluster (`/v1/nodes`, so `cinfo`, `sinfo -N`
//! and `ccontrol show node`): itself as it stands now, and every other
//! node as the registry last said, by name. A pure function of the two,
//! so the listing never waits on the database.

use crate::protocol::{NodeInfo, NodeState};

use super::registry::NodeRecord;

/// The nodes to list: `local` (this node, the scheduler, live), and each
/// other node of `registry` from its record: DOWN with its reason where
/// the scheduler declared it so, else a standby. Until jobs run on other
/// nodes than the scheduler's (`docs/cluster.md`), a standby takes no
/// jobs, so it is listed as Slurm lists such a node, drained, with the
/// reason `standby`. `local` is listed even before its agent has
/// registered it.
pub fn listed(local: NodeInfo, registry: &[NodeRecord]) -> Vec<NodeInfo> {
    let mut nodes: Vec<NodeInfo> = registry
        .iter()
        .filter(|record| record.spec.name != local.name)
        .map(|record| from_record(&local, record))
        .collect();
    nodes.push(local);
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    nodes
}

/// The reason a standby is drained for.
pub const STANDBY: &str = "standby";

/// Another node as its record shows it, with this node's partitions (the
/// same configuration on every node) and no jobs of its own.
fn from_record(local: &NodeInfo, record: &NodeRecord) -> NodeInfo {
    let spec = &record.spec;
    let (state, reason) = match &record.down {
        Some(down) => (NodeState::Down, Some(down.reason.clone())),
        None => (NodeState::Drain, Some(STANDBY.to_string())),
    };
    NodeInfo {
        name: spec.name.clone(),
        partition: local.partition.clone(),
        cpus_total: spec.cpus,
        cpus_free: spec.cpus,
        memory_mb_total: spec.memory_mb,
        memory_mb_free: spec.memory_mb,
        gpus_total: spec.gpus,
        gpus_free: spec.gpus,
        gres: (spec.gpus > 0).then(|| format!("gpu:{}", spec.gpus)),
        gpu_devices: Vec::new(),
        jobs_pending: 0,
        jobs_running: 0,
        partitions: local.partitions.clone(),
        state,
        reason,
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
        }
    }

    #[test]
    fn this_node_is_listed_live_and_the_others_from_their_records_by_name() {
        let registry = [
            record("c", 8, 0, Some("Not responding")),
            record("a", 4, 2, None),
            record("b", 99, 0, None),
        ];
        let listed = listed(local("b"), &registry);
        let names: Vec<&str> = listed.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        // b is this node: what it stands at now, not its record.
        assert_eq!(listed[1], local("b"));
        let a = &listed[0];
        assert_eq!(
            (a.cpus_total, a.cpus_free, a.state),
            (4, 4, NodeState::Drain)
        );
        assert_eq!(a.reason.as_deref(), Some(STANDBY));
        assert_eq!(a.gres.as_deref(), Some("gpu:2"));
        assert_eq!(a.partition, "debug");
        let c = &listed[2];
        assert_eq!(c.state, NodeState::Down);
        assert_eq!(c.reason.as_deref(), Some("Not responding"));
    }

    #[test]
    fn a_node_not_yet_registered_still_lists_itself() {
        let listed = listed(local("solo"), &[]);
        assert_eq!(listed, vec![local("solo")]);
    }
}
