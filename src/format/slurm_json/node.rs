//! `scontrol show node`'s document: `openapi_nodes_resp`, `{"nodes":
//! [node...], "last_update", "meta", "errors", "warnings"}`.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Version;
use super::meta::{Caller, Meta, OpenapiError, OpenapiWarning};
use super::number::{NoVal, Time};
use crate::format::memory::format_memory_mb;
use crate::format::scontrol::{NodeFacts, node_state_flags};
use crate::format::squeue::CLUSTER_NAME;
use crate::protocol::{DaemonConfig, NodeInfo};

/// The port slurmd listens on, which Slurm reports for each node; the
/// node here has no slurmd, and the figure is Slurm's default.
const SLURMD_PORT: u32 = 6818;

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct NodesResponse {
    pub nodes: Vec<NodeJson>,
    pub last_update: Time,
    pub meta: Meta,
    pub errors: Vec<OpenapiError>,
    pub warnings: Vec<OpenapiWarning>,
}

/// What a node record needs beyond the daemon's node.
pub struct NodeContext<'a> {
    pub version: Version,
    pub caller: &'a Caller,
    pub now: DateTime<Utc>,
    pub config: &'a DaemonConfig,
    pub facts: &'a NodeFacts,
}

impl NodesResponse {
    /// The document for these nodes (none when a filter left all out).
    pub fn new(nodes: &[&NodeInfo], context: &NodeContext<'_>) -> NodesResponse {
        NodesResponse {
            nodes: nodes
                .iter()
                .map(|node| NodeJson::new(node, context))
                .collect(),
            last_update: Time::new(context.version, Some(context.now)),
            meta: Meta::new(context.version, context.caller),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// `node`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeJson {
    pub architecture: String,
    pub burstbuffer_network_address: String,
    pub boards: u32,
    pub boot_time: Time,
    pub cluster_name: String,
    pub cores: u32,
    pub specialized_cores: u32,
    pub cpu_binding: u32,
    /// The one-minute load average times 100.
    pub cpu_load: u64,
    /// MiB not booked by jobs.
    pub free_mem: NoVal,
    pub cpus: u32,
    pub effective_cpus: u32,
    pub specialized_cpus: String,
    pub features: Vec<String>,
    pub active_features: Vec<String>,
    pub gres: String,
    pub gres_drained: String,
    pub gres_used: String,
    pub instance_id: String,
    pub instance_type: String,
    pub last_busy: Time,
    pub mcs_label: String,
    pub specialized_memory: u64,
    pub name: String,
    pub next_state_after_reboot: Vec<&'static str>,
    pub address: String,
    pub hostname: String,
    pub state: Vec<&'static str>,
    pub operating_system: String,
    pub owner: String,
    pub partitions: Vec<String>,
    pub port: u32,
    pub real_memory: u64,
    pub comment: String,
    pub reason: String,
    pub reason_changed_at: Time,
    pub reason_set_by_user: String,
    pub resume_after: Time,
    pub reservation: String,
    pub alloc_memory: u64,
    pub alloc_cpus: u32,
    pub alloc_idle_cpus: u32,
    pub tres_used: String,
    pub tres_weighted: f64,
    pub slurmd_start_time: Time,
    pub sockets: u32,
    pub threads: u32,
    pub temporary_disk: u32,
    pub weight: u32,
    pub tres: String,
    pub version: String,
    /// From v0.0.41.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_spec: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub res_cores_per_gpu: Option<u32>,
}

/// The node's GRES with `used` as the count: `gpu:h200:2` becomes
/// `gpu:h200:1` for one in use.
pub fn gres_with_count(gres: &str, used: u32) -> String {
    match gres.rsplit_once(':') {
        Some((kind, count)) if count.parse::<u32>().is_ok() => format!("{kind}:{used}"),
        _ => format!("{gres}:{used}"),
    }
}

/// The node's configured TRES: `cpu=4,mem=8000M,billing=4[,gres/gpu=2]`.
pub fn configured_tres(node: &NodeInfo) -> String {
    let mut tres = format!(
        "cpu={0},mem={1}M,billing={0}",
        node.cpus_total, node.memory_mb_total
    );
    if node.gpus_total > 0 {
        tres.push_str(&format!(",gres/gpu={}", node.gpus_total));
    }
    tres
}

/// What jobs hold of the node: `cpu=2,mem=1G[,gres/gpu=1]`, empty when idle.
pub fn used_tres(node: &NodeInfo) -> String {
    let cpus = node.cpus_total.saturating_sub(node.cpus_free);
    let mem = node.memory_mb_total.saturating_sub(node.memory_mb_free);
    let gpus = node.gpus_total.saturating_sub(node.gpus_free);
    let mut tres = Vec::new();
    if cpus > 0 {
        tres.push(format!("cpu={cpus}"));
    }
    if mem > 0 {
        tres.push(format!("mem={}", format_memory_mb(mem)));
    }
    if gpus > 0 {
        tres.push(format!("gres/gpu={gpus}"));
    }
    tres.join(",")
}

impl NodeJson {
    pub fn new(node: &NodeInfo, context: &NodeContext<'_>) -> NodeJson {
        let version = context.version;
        let time = |at| Time::new(version, at);
        let alloc_cpus = node.cpus_total.saturating_sub(node.cpus_free);
        let gres = node.gres.clone().unwrap_or_default();
        let gres_used = node.gres.as_deref().map_or_else(String::new, |gres| {
            gres_with_count(gres, node.gpus_total.saturating_sub(node.gpus_free))
        });
        let since_v41 = version >= Version::V0041;
        NodeJson {
            architecture: context.facts.arch.clone(),
            burstbuffer_network_address: String::new(),
            boards: 1,
            boot_time: time(context.facts.boot_time),
            cluster_name: CLUSTER_NAME.to_string(),
            cores: node.cpus_total,
            specialized_cores: 0,
            cpu_binding: 0,
            cpu_load: node
                .cpu_load
                .or(context.facts.cpu_load)
                .map_or(0, |load| (load * 100.0).round().max(0.0) as u64),
            free_mem: NoVal::of_u64(node.memory_mb_free),
            cpus: node.cpus_total,
            effective_cpus: node.cpus_total,
            specialized_cpus: String::new(),
            features: Vec::new(),
            active_features: Vec::new(),
            gres,
            gres_drained: "N/A".into(),
            gres_used,
            instance_id: String::new(),
            instance_type: String::new(),
            last_busy: time(Some(context.now).filter(|_| alloc_cpus > 0)),
            mcs_label: String::new(),
            specialized_memory: 0,
            name: node.name.clone(),
            next_state_after_reboot: vec!["INVALID"],
            address: node.name.clone(),
            hostname: node.name.clone(),
            state: node_state_flags(node),
            operating_system: context.facts.os.clone(),
            owner: String::new(),
            partitions: node
                .member_partitions()
                .into_iter()
                .map(|p| p.name)
                .collect(),
            port: SLURMD_PORT,
            real_memory: node.memory_mb_total,
            comment: String::new(),
            reason: node.reason.clone().unwrap_or_default(),
            reason_changed_at: time(None),
            reason_set_by_user: String::new(),
            resume_after: time(None),
            reservation: String::new(),
            alloc_memory: node.memory_mb_total.saturating_sub(node.memory_mb_free),
            alloc_cpus,
            alloc_idle_cpus: node.cpus_free,
            tres_used: used_tres(node),
            tres_weighted: f64::from(alloc_cpus),
            slurmd_start_time: time(Some(context.config.started_at)),
            sockets: 1,
            threads: 1,
            temporary_disk: 0,
            weight: 1,
            tres: configured_tres(node),
            version: context.config.version.clone(),
            gpu_spec: since_v41.then(String::new),
            res_cores_per_gpu: since_v41.then_some(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gres_in_use_keeps_the_type() {
        assert_eq!(gres_with_count("gpu:h200:2", 1), "gpu:h200:1");
        assert_eq!(gres_with_count("gpu:2", 0), "gpu:0");
    }
}
