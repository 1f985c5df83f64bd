//! sinfo's document: `{"sinfo": [entry...], "meta", "errors",
//! "warnings"}`, one entry per partition and node state (the nodes of a
//! partition that share a state), each with its `partition` as
//! `partition_info`.
//!
//! Slurm publishes no schema component for the entries themselves (sinfo
//! writes them without slurmrestd): the fields follow the data_parser's
//! `SINFO_DATA` parser.

use serde::Serialize;

use super::Version;
use super::meta::{Caller, Meta, OpenapiError, OpenapiWarning};
use super::node::{configured_tres, gres_with_count};
use super::number::{NoVal, limit_minutes};
use crate::format::hostlist;
use crate::format::scontrol::{NodeFacts, node_state, node_state_flags};
use crate::format::squeue::CLUSTER_NAME;
use crate::protocol::{DaemonConfig, NodeInfo, NodeState, PartitionInfo as Partition};

/// The whole document.
#[derive(Debug, Clone, Serialize)]
pub struct SinfoResponse {
    pub sinfo: Vec<SinfoEntry>,
    pub meta: Meta,
    pub errors: Vec<OpenapiError>,
    pub warnings: Vec<OpenapiWarning>,
}

/// What an entry needs beyond the daemon's node.
pub struct SinfoContext<'a> {
    pub version: Version,
    pub caller: &'a Caller,
    pub config: &'a DaemonConfig,
    pub facts: &'a NodeFacts,
}

impl SinfoResponse {
    /// The document: an entry per line sinfo's default layout prints (the
    /// nodes of a partition that share a state), as sinfo's `--json` lists
    /// its `sinfo_data` groups.
    pub fn new(
        lines: &[(Vec<&NodeInfo>, &Partition)],
        members: &[&NodeInfo],
        context: &SinfoContext<'_>,
    ) -> SinfoResponse {
        SinfoResponse {
            sinfo: lines
                .iter()
                .filter_map(|(nodes, partition)| {
                    SinfoEntry::new(nodes, partition, members, context)
                })
                .collect(),
            meta: Meta::new(context.version, context.caller),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// A smallest and a largest figure over the entry's nodes.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Range<T> {
    pub minimum: T,
    pub maximum: T,
}

impl<T: Copy> Range<T> {
    fn one(value: T) -> Range<T> {
        Range {
            minimum: value,
            maximum: value,
        }
    }
}

/// One sinfo entry (`SINFO_DATA`).
#[derive(Debug, Clone, Serialize)]
pub struct SinfoEntry {
    pub port: u32,
    pub node: NodeStates,
    pub nodes: NodeCounts,
    pub cpus: CpuCounts,
    pub sockets: Range<u32>,
    pub cores: Range<u32>,
    pub threads: Range<u32>,
    pub disk: Range<u32>,
    pub memory: MemoryFigures,
    pub weight: Range<u32>,
    pub features: Features,
    pub gres: Gres,
    pub cluster: String,
    pub comment: String,
    pub extra: String,
    pub reason: ReasonInfo,
    pub reservation: String,
    pub partition: PartitionInfo,
}

/// `node`.
#[derive(Debug, Clone, Serialize)]
pub struct NodeStates {
    pub state: Vec<&'static str>,
}

/// `nodes`: how many nodes are in which state, and their names.
#[derive(Debug, Clone, Serialize)]
pub struct NodeCounts {
    pub allocated: u32,
    pub idle: u32,
    pub other: u32,
    pub total: u32,
    pub hostnames: Vec<String>,
    pub addresses: Vec<String>,
    pub nodes: Vec<String>,
}

/// `cpus`.
#[derive(Debug, Clone, Serialize)]
pub struct CpuCounts {
    pub allocated: u32,
    pub idle: u32,
    pub other: u32,
    pub total: u32,
    pub minimum: u32,
    pub maximum: u32,
    /// Load averages times 100.
    pub load: Range<u64>,
    pub per_node: PerNode,
}

/// `cpus.per_node`.
#[derive(Debug, Clone, Serialize)]
pub struct PerNode {
    pub max: NoVal,
}

/// `memory`, in MiB.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryFigures {
    pub minimum: u64,
    pub maximum: u64,
    pub free: Range<NoVal>,
    pub allocated: u64,
}

/// `features`.
#[derive(Debug, Clone, Serialize)]
pub struct Features {
    pub total: String,
    pub active: String,
}

/// `gres`.
#[derive(Debug, Clone, Serialize)]
pub struct Gres {
    pub total: String,
    pub used: String,
}

/// `reason`: none (the node is never drained).
#[derive(Debug, Clone, Serialize)]
pub struct ReasonInfo {
    pub description: String,
    pub time: u64,
    pub user: String,
}

/// `partition_info`: one partition of the node, up, with its definition's limits.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionInfo {
    pub nodes: PartitionNodes,
    pub accounts: AllowDeny,
    pub groups: Allowed,
    pub qos: PartitionQos,
    pub alternate: String,
    pub tres: PartitionTres,
    pub cluster: String,
    pub cpus: PartitionCpus,
    pub defaults: PartitionDefaults,
    pub grace_time: u32,
    pub maximums: PartitionMaximums,
    pub minimums: PartitionMinimums,
    pub name: String,
    pub node_sets: String,
    pub priority: PartitionPriority,
    pub timeouts: PartitionTimeouts,
    pub partition: PartitionState,
    pub suspend_time: NoVal,
}

/// `partition_info.nodes`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionNodes {
    pub allowed_allocation: String,
    pub configured: String,
    pub total: u32,
}

/// `partition_info.accounts`.
#[derive(Debug, Clone, Serialize)]
pub struct AllowDeny {
    pub allowed: String,
    pub deny: String,
}

/// `partition_info.groups`.
#[derive(Debug, Clone, Serialize)]
pub struct Allowed {
    pub allowed: String,
}

/// `partition_info.qos`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionQos {
    pub allowed: String,
    pub deny: String,
    pub assigned: String,
}

/// `partition_info.tres`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionTres {
    pub billing_weights: String,
    pub configured: String,
}

/// `partition_info.cpus`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionCpus {
    pub task_binding: u32,
    pub total: u32,
}

/// `partition_info.defaults`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionDefaults {
    pub memory_per_cpu: u64,
    pub partition_memory_per_cpu: NoVal,
    pub partition_memory_per_node: NoVal,
    /// Minutes; INFINITE (no default limit).
    pub time: NoVal,
    pub job: String,
}

/// `partition_info.maximums`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionMaximums {
    pub cpus_per_node: NoVal,
    pub cpus_per_socket: NoVal,
    pub memory_per_cpu: u64,
    pub partition_memory_per_cpu: NoVal,
    pub partition_memory_per_node: NoVal,
    pub nodes: NoVal,
    pub shares: u32,
    pub oversubscribe: Oversubscribe,
    pub time: NoVal,
    pub over_time_limit: NoVal,
}

/// `partition_info.maximums.oversubscribe`.
#[derive(Debug, Clone, Serialize)]
pub struct Oversubscribe {
    pub jobs: u32,
    pub flags: Vec<&'static str>,
}

/// `partition_info.minimums`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionMinimums {
    pub nodes: u32,
}

/// `partition_info.priority`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionPriority {
    pub job_factor: u32,
    pub tier: u32,
}

/// `partition_info.timeouts`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionTimeouts {
    pub resume: NoVal,
    pub suspend: NoVal,
}

/// `partition_info.partition`.
#[derive(Debug, Clone, Serialize)]
pub struct PartitionState {
    pub state: Vec<&'static str>,
}

impl PartitionInfo {
    /// The partition over the nodes it holds among `nodes`.
    pub fn new(nodes: &[&NodeInfo], partition: &Partition, config: &DaemonConfig) -> PartitionInfo {
        let def_mem = config.def_mem_per_cpu_mb;
        let members = partition.members(nodes);
        let names: Vec<&str> = members.iter().map(|node| node.name.as_str()).collect();
        let node = members.first().copied().or(nodes.first().copied());
        PartitionInfo {
            nodes: PartitionNodes {
                allowed_allocation: String::new(),
                configured: hostlist::compress(&names),
                total: u32::try_from(members.len()).unwrap_or(u32::MAX),
            },
            accounts: AllowDeny {
                allowed: String::new(),
                deny: String::new(),
            },
            groups: Allowed {
                allowed: partition
                    .allow_groups
                    .as_ref()
                    .map(|groups| groups.join(","))
                    .unwrap_or_default(),
            },
            qos: PartitionQos {
                allowed: String::new(),
                deny: String::new(),
                assigned: String::new(),
            },
            alternate: String::new(),
            tres: PartitionTres {
                billing_weights: String::new(),
                configured: node.map(configured_tres).unwrap_or_default(),
            },
            cluster: CLUSTER_NAME.to_string(),
            cpus: PartitionCpus {
                task_binding: 0,
                total: members.iter().map(|node| node.cpus_total).sum(),
            },
            defaults: PartitionDefaults {
                memory_per_cpu: def_mem.unwrap_or(0),
                partition_memory_per_cpu: def_mem.map_or(NoVal::UNSET, NoVal::of_u64),
                partition_memory_per_node: if def_mem.is_some() {
                    NoVal::UNSET
                } else {
                    NoVal::of(0)
                },
                time: limit_minutes(partition.default_time_secs),
                job: String::new(),
            },
            grace_time: 0,
            maximums: PartitionMaximums {
                cpus_per_node: NoVal::INFINITE,
                cpus_per_socket: NoVal::INFINITE,
                memory_per_cpu: 0,
                partition_memory_per_cpu: NoVal::UNSET,
                partition_memory_per_node: NoVal::of(0),
                nodes: partition.max_nodes.map_or(NoVal::INFINITE, NoVal::of),
                shares: 1,
                oversubscribe: Oversubscribe {
                    jobs: 1,
                    flags: Vec::new(),
                },
                time: limit_minutes(partition.max_time_secs),
                over_time_limit: NoVal::UNSET,
            },
            minimums: PartitionMinimums { nodes: 0 },
            name: partition.name.clone(),
            node_sets: String::new(),
            priority: PartitionPriority {
                job_factor: partition.priority_job_factor,
                tier: partition.priority_tier,
            },
            timeouts: PartitionTimeouts {
                resume: NoVal::UNSET,
                suspend: NoVal::UNSET,
            },
            partition: PartitionState { state: vec!["UP"] },
            suspend_time: NoVal::UNSET,
        }
    }
}

impl SinfoEntry {
    /// The entry for a line of nodes in one partition (they share a
    /// state, as sinfo groups them); `members` are every node, for the
    /// partition's own figures. `None` for no nodes.
    pub fn new(
        nodes: &[&NodeInfo],
        partition: &Partition,
        members: &[&NodeInfo],
        context: &SinfoContext<'_>,
    ) -> Option<SinfoEntry> {
        let first = *nodes.first()?;
        let count = |keep: &dyn Fn(&NodeInfo) -> bool| {
            u32::try_from(nodes.iter().filter(|n| keep(n)).count()).unwrap_or(u32::MAX)
        };
        let busy = |n: &NodeInfo| matches!(node_state(n), "MIXED" | "ALLOCATED");
        let allocated = count(&busy);
        let other = count(&|n| !busy(n) && n.state != NodeState::Up);
        let total = count(&|_| true);
        let sum = |figure: &dyn Fn(&NodeInfo) -> u32| nodes.iter().map(|n| figure(n)).sum::<u32>();
        let alloc_cpus = sum(&|n| n.cpus_total.saturating_sub(n.cpus_free));
        let other_cpus = sum(&|n| {
            if n.state == NodeState::Up {
                0
            } else {
                n.cpus_free
            }
        });
        let total_cpus = sum(&|n| n.cpus_total);
        let range32 = |figure: &dyn Fn(&NodeInfo) -> u32| Range {
            minimum: nodes.iter().map(|n| figure(n)).min().unwrap_or(0),
            maximum: nodes.iter().map(|n| figure(n)).max().unwrap_or(0),
        };
        let cpus = range32(&|n| n.cpus_total);
        let memory_min = nodes.iter().map(|n| n.memory_mb_total).min().unwrap_or(0);
        let memory_max = nodes.iter().map(|n| n.memory_mb_total).max().unwrap_or(0);
        let free_min = nodes.iter().map(|n| n.memory_mb_free).min().unwrap_or(0);
        let free_max = nodes.iter().map(|n| n.memory_mb_free).max().unwrap_or(0);
        // sinfo keeps the last node's allocated memory for the line.
        let last = nodes.last().copied().unwrap_or(first);
        let load = first
            .cpu_load
            .or(context.facts.cpu_load)
            .map_or(0, |load| (load * 100.0).round().max(0.0) as u64);
        let mut names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        // sinfo sorts each line's hostlist before it prints or dumps it.
        hostlist::sort_names(&mut names);
        Some(SinfoEntry {
            port: 6818,
            node: NodeStates {
                state: node_state_flags(first),
            },
            nodes: NodeCounts {
                allocated,
                idle: total - allocated - other,
                other,
                total,
                hostnames: names.clone(),
                addresses: names.clone(),
                nodes: names,
            },
            cpus: CpuCounts {
                allocated: alloc_cpus,
                idle: total_cpus - alloc_cpus - other_cpus,
                other: other_cpus,
                total: total_cpus,
                minimum: cpus.minimum,
                maximum: cpus.maximum,
                load: Range::one(load),
                per_node: PerNode {
                    max: NoVal::INFINITE,
                },
            },
            sockets: Range::one(1),
            cores: cpus,
            threads: Range::one(1),
            disk: Range::one(0),
            memory: MemoryFigures {
                minimum: memory_min,
                maximum: memory_max,
                free: Range {
                    minimum: NoVal::of_u64(free_min),
                    maximum: NoVal::of_u64(free_max),
                },
                allocated: last.memory_mb_total.saturating_sub(last.memory_mb_free),
            },
            weight: Range::one(1),
            features: Features {
                total: String::new(),
                active: String::new(),
            },
            gres: Gres {
                total: first.gres.clone().unwrap_or_default(),
                used: first.gres.as_deref().map_or_else(String::new, |gres| {
                    let used = nodes
                        .iter()
                        .map(|n| n.gpus_total.saturating_sub(n.gpus_free))
                        .sum();
                    gres_with_count(gres, used)
                }),
            },
            cluster: CLUSTER_NAME.to_string(),
            comment: String::new(),
            extra: String::new(),
            reason: ReasonInfo {
                description: first.reason.clone().unwrap_or_default(),
                time: 0,
                user: String::new(),
            },
            reservation: String::new(),
            partition: PartitionInfo::new(members, partition, context.config),
        })
    }
}
