//! sinfo's `-o/--format` and `-O/--Format` languages over the nodes,
//! grouped into lines as sinfo groups them and rendered byte for byte
//! (Snakemake reads `sinfo -o %P`).
//!
//! A format is literal text with `%[.][width|#]<letter>` fields. A width
//! pads and cuts, a `.` right-justifies, and `#` sizes the column to its
//! longest value, at least 9 wide (sinfo's rule for its node list and
//! partition columns). An unknown letter is printed as written and
//! reported, as sinfo does.

use crate::format::duration::format_squeue;
use crate::format::hostlist;
use crate::format::scontrol::{NULL, cpu_load, node_state};
use crate::protocol::{NodeInfo, NodeState, PartitionInfo};

/// sinfo's default format.
pub const DEFAULT: &str = "%#P %.5a %.10l %.6D %.6t %N";
/// `-N/--Node`: one line per node.
pub const NODE: &str = "%#N %.6D %.#P %6t";
/// `-l/--long`.
pub const LONG: &str = "%#P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N";
/// `-N -l`.
pub const NODE_LONG: &str = "%#N %.6D %.#P %.11T %4c %.8z %.6m %.8d %.6w %.8f %20E";
/// `-s/--summarize`.
pub const SUMMARIZE: &str = "%#P %.5a %.10l %.16F %N";

/// The least width of a `#` column: sinfo sizes its node list and
/// partition columns to their longest value, but never under 9
/// (`MIN_NODE_FIELD_SIZE`, `MIN_PART_FIELD_SIZE`); the header does not count.
const MIN_FITTED_WIDTH: usize = 9;

/// `-O` fields are this wide unless a size is given.
const LONG_FIELD_WIDTH: usize = 20;

/// What one line describes: a group of nodes in one partition (sinfo's
/// `sinfo_data_t`), or one node with `-N`.
#[derive(Debug, Clone)]
pub struct NodeView<'a> {
    /// The nodes of the line, at least one unless `empty`.
    pub nodes: Vec<&'a NodeInfo>,
    /// The partition of the line; the default one is marked `*` in `%P`.
    pub partition: &'a PartitionInfo,
    /// The one-minute load average, for `%O`.
    pub cpu_load: Option<f64>,
    /// No node is in the line: `-t` left none of the partition's
    /// nodes, and sinfo 22.05 still prints the partition, with 0 nodes in
    /// state `n/a`.
    pub empty: bool,
}

impl<'a> NodeView<'a> {
    /// A line for one node.
    pub fn one(node: &'a NodeInfo, partition: &'a PartitionInfo, cpu_load: Option<f64>) -> Self {
        NodeView {
            nodes: vec![node],
            partition,
            cpu_load,
            empty: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    Natural,
    Fixed(usize),
    /// `#`: as wide as the longest value, at least [`MIN_FITTED_WIDTH`].
    Fit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Item {
    Text(String),
    Field {
        letter: char,
        width: Width,
        right: bool,
    },
}

/// A parsed format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    items: Vec<Item>,
}

impl Format {
    /// Parses an `-o` format; the second value lists the letters that are
    /// not fields (kept literally, to be reported by the caller).
    pub fn parse(text: &str) -> (Format, Vec<String>) {
        let mut items = Vec::new();
        let mut invalid = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(percent) = rest.find('%') {
            literal.push_str(&rest[..percent]);
            let spec = &rest[percent + 1..];
            let right = spec.starts_with('.');
            let after_dot = &spec[usize::from(right)..];
            let (width, size_len) = if after_dot.starts_with('#') {
                (Width::Fit, 1)
            } else {
                let digits = after_dot.len()
                    - after_dot
                        .trim_start_matches(|c: char| c.is_ascii_digit())
                        .len();
                let width = after_dot[..digits]
                    .parse()
                    .map_or(Width::Natural, Width::Fixed);
                (width, digits)
            };
            let consumed = usize::from(right) + size_len;
            match spec[consumed..].chars().next() {
                Some(letter) if header(letter).is_some() => {
                    if !literal.is_empty() {
                        items.push(Item::Text(std::mem::take(&mut literal)));
                    }
                    items.push(Item::Field {
                        letter,
                        width,
                        right,
                    });
                    rest = &spec[consumed + letter.len_utf8()..];
                }
                Some(other) => {
                    let end = consumed + other.len_utf8();
                    literal.push('%');
                    literal.push_str(&spec[..end]);
                    invalid.push(other.to_string());
                    rest = &spec[end..];
                }
                None => {
                    literal.push('%');
                    literal.push_str(spec);
                    invalid.push(spec.to_string());
                    rest = "";
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            items.push(Item::Text(literal));
        }
        (Format { items }, invalid)
    }

    /// Parses an `-O` format: comma-separated field names, each with an
    /// optional `:[.]size`; fields are padded (20 wide by default) and not
    /// separated. The second value lists the names that are not fields.
    pub fn parse_long(text: &str) -> (Format, Vec<String>) {
        let mut items = Vec::new();
        let mut invalid = Vec::new();
        for spec in text.split(',').filter(|s| !s.trim().is_empty()) {
            // `name[:[.][size][suffix]]`, as Slurm reads it: without a
            // colon 20 wide; with one, the digits (none: as wide as the
            // value) and then text printed after the field.
            let (name, width, right, suffix) = match spec.split_once(':') {
                None => (spec.trim(), Width::Fixed(LONG_FIELD_WIDTH), false, ""),
                Some((name, rest)) => {
                    let right = rest.starts_with('.');
                    let rest = &rest[usize::from(right)..];
                    let digits =
                        rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                    let width = match rest[..digits].parse::<usize>() {
                        Ok(width) if width > 0 => Width::Fixed(width),
                        _ => Width::Natural,
                    };
                    (name.trim(), width, right, &rest[digits..])
                }
            };
            match long_name_letter(name) {
                Some(letter) => {
                    items.push(Item::Field {
                        letter,
                        width,
                        right,
                    });
                    if !suffix.is_empty() {
                        items.push(Item::Text(suffix.to_string()));
                    }
                }
                None => invalid.push(name.to_string()),
            }
        }
        (Format { items }, invalid)
    }

    /// The header line and one line per view, each ending in a newline.
    pub fn render(&self, views: &[NodeView<'_>], with_header: bool) -> String {
        let fitted: Vec<usize> = self
            .items
            .iter()
            .map(|item| match item {
                Item::Field {
                    letter,
                    width: Width::Fit,
                    ..
                } => views
                    .iter()
                    .map(|view| value(*letter, view).chars().count())
                    .chain([MIN_FITTED_WIDTH])
                    .max()
                    .unwrap_or(MIN_FITTED_WIDTH),
                _ => 0,
            })
            .collect();
        let mut out = String::new();
        if with_header {
            out.push_str(&self.line(&fitted, |letter| {
                header(letter).unwrap_or_default().to_string()
            }));
            out.push('\n');
        }
        for view in views {
            out.push_str(&self.line(&fitted, |letter| value(letter, view)));
            out.push('\n');
        }
        out
    }

    fn line(&self, fitted: &[usize], mut field: impl FnMut(char) -> String) -> String {
        let mut line = String::new();
        for (item, fit) in self.items.iter().zip(fitted) {
            match item {
                Item::Text(text) => line.push_str(text),
                Item::Field {
                    letter,
                    width,
                    right,
                } => {
                    let text = field(*letter);
                    match width {
                        Width::Natural => line.push_str(&text),
                        Width::Fixed(width) => pad(&mut line, &text, *width, *right),
                        Width::Fit => pad(&mut line, &text, *fit, *right),
                    }
                }
            }
        }
        line
    }
}

fn pad(line: &mut String, text: &str, width: usize, right: bool) {
    let text: String = text.chars().take(width).collect();
    let fill = width.saturating_sub(text.chars().count());
    if right {
        line.extend(std::iter::repeat_n(' ', fill));
        line.push_str(&text);
    } else {
        line.push_str(&text);
        line.extend(std::iter::repeat_n(' ', fill));
    }
}

/// The header of a field letter; `None` for letters that are not fields.
fn header(letter: char) -> Option<&'static str> {
    Some(match letter {
        'P' | 'R' => "PARTITION",
        'a' => "AVAIL",
        'l' => "TIMELIMIT",
        'L' => "DEFAULTTIME",
        'D' => "NODES",
        't' | 'T' => "STATE",
        'N' => "NODELIST",
        'n' => "HOSTNAMES",
        'c' => "CPUS",
        'C' => "CPUS(A/I/O/T)",
        'm' => "MEMORY",
        'e' => "FREE_MEM",
        'G' => "GRES",
        'F' => "NODES(A/I/O/T)",
        'A' => "NODES(A/I)",
        'O' => "CPU_LOAD",
        'z' => "S:C:T",
        'f' => "AVAIL_FEATURES",
        'b' => "ACTIVE_FEATURES",
        'E' => "REASON",
        's' => "JOB_SIZE",
        'd' => "TMP_DISK",
        'w' => "WEIGHT",
        'r' => "ROOT",
        'h' => "OVERSUBSCRIBE",
        'p' => "PRIO_TIER",
        PRIO_JOB_FACTOR => "PRIO_JOB_FACTOR",
        'S' => "ALLOCNODES",
        'g' => "GROUPS",
        'X' => "SOCKETS",
        'Y' => "CORES",
        'Z' => "THREADS",
        'B' => "MAX_CPUS_PER_NODE",
        'H' => "TIMESTAMP",
        'u' => "USER",
        ALLOC_MEM => "ALLOCMEM",
        _ => return None,
    })
}

/// `-O AllocMem`, which has no `-o` letter: a private code point stands
/// for it, one no format can spell.
const ALLOC_MEM: char = '\u{E000}';

/// `-O PriorityJobFactor`, likewise without a letter.
const PRIO_JOB_FACTOR: char = '\u{E001}';

/// The `-O` name of each letter (case-insensitive).
fn long_name_letter(name: &str) -> Option<char> {
    const NAMES: [(&str, char); 39] = [
        ("allocmem", ALLOC_MEM),
        ("allocnodes", 'S'),
        ("priorityjobfactor", PRIO_JOB_FACTOR),
        ("prioritytier", 'p'),
        ("available", 'a'),
        ("cpus", 'c'),
        ("cpusload", 'O'),
        ("cpusstate", 'C'),
        ("cores", 'Y'),
        ("defaulttime", 'L'),
        ("features", 'f'),
        ("featuresact", 'b'),
        ("freemem", 'e'),
        ("gres", 'G'),
        ("groups", 'g'),
        ("maxcpuspernode", 'B'),
        ("memory", 'm'),
        ("nodeai", 'A'),
        ("nodeaiot", 'F'),
        ("nodehost", 'n'),
        ("nodelist", 'N'),
        ("nodes", 'D'),
        ("oversubscribe", 'h'),
        ("partition", 'P'),
        ("partitionname", 'R'),
        ("reason", 'E'),
        ("root", 'r'),
        ("size", 's'),
        ("socketcorethread", 'z'),
        ("sockets", 'X'),
        ("statecompact", 't'),
        ("statelong", 'T'),
        ("threads", 'Z'),
        ("time", 'l'),
        ("timestamp", 'H'),
        ("tmp", 'd'),
        ("user", 'u'),
        ("weight", 'w'),
        ("disk", 'd'),
    ];
    NAMES
        .iter()
        .find(|(long, _)| long.eq_ignore_ascii_case(name))
        .map(|(_, letter)| *letter)
}

/// sinfo's compact and long state names: `mix`/`mixed`, `drng`/`draining`
/// and so on.
pub fn state_names(node: &NodeInfo) -> (&'static str, &'static str) {
    let base = node_state(node);
    if node.state == NodeState::Drain {
        return if base == "IDLE" {
            ("drain", "drained")
        } else {
            ("drng", "draining")
        };
    }
    match base {
        "DOWN" => ("down", "down"),
        "IDLE" => ("idle", "idle"),
        "MIXED" => ("mix", "mixed"),
        _ => ("alloc", "allocated"),
    }
}

/// Whether the node is in one of sinfo's `-t` states, as sinfo's
/// `_filter_node_state` reads them: a base state (`idle`, `mix`, `down`;
/// a drained idle node is `idle` too), `alloc` for any node with CPUs in
/// use (mixed ones too), or the drain flag (`drain` for both, `drained`,
/// `draining`/`drng`).
pub fn in_state(node: &NodeInfo, state: &str) -> bool {
    let base = node_state(node);
    let drain = node.state == NodeState::Drain;
    match state {
        "all" => true,
        "idle" => base == "IDLE",
        "mix" | "mixed" => base == "MIXED",
        "alloc" | "allocated" => matches!(base, "MIXED" | "ALLOCATED"),
        "down" => base == "DOWN",
        "drain" => drain,
        "drained" => drain && base == "IDLE",
        "draining" | "drng" => drain && base != "IDLE",
        _ => false,
    }
}

/// Slurm's numeric node state (base value and the DRAIN flag), which the
/// default sort `#P,-t` orders lines by, highest first.
fn state_rank(node: &NodeInfo) -> u32 {
    let base = match node_state(node) {
        "DOWN" => 1,
        "IDLE" => 2,
        "ALLOCATED" => 3,
        _ => 5,
    };
    base + if node.state == NodeState::Drain {
        0x200
    } else {
        0
    }
}

/// The letters whose values split a partition's nodes into lines
/// (sinfo's match flags): always, or only with `-e/--exact` (sizes).
fn groups_by(letter: char, exact: bool) -> bool {
    match letter {
        't' | 'T' | 'G' | 'E' | 'n' | 'f' | 'b' | 'H' | 'u' | ALLOC_MEM => true,
        'c' | 'C' | 'm' | 'e' | 'O' | 'z' | 'X' | 'Y' | 'Z' | 'd' | 'w' => exact,
        _ => false,
    }
}

impl Format {
    /// The lines sinfo prints for these nodes: per partition (in
    /// definition order), the nodes that agree on the fields the format
    /// groups by, sorted by state, highest first (`#P,-t`); with
    /// `per_node` one line per node and partition, sorted by node name.
    pub fn group<'a>(
        &self,
        nodes: &[&'a NodeInfo],
        partitions: &'a [PartitionInfo],
        per_node: bool,
        exact: bool,
        cpu_load: Option<f64>,
    ) -> Vec<NodeView<'a>> {
        let letters: Vec<char> = self
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Field { letter, .. } if groups_by(*letter, exact) => {
                    Some(if *letter == 'C' { 'c' } else { *letter })
                }
                _ => None,
            })
            .collect();
        let mut lines: Vec<(usize, NodeView<'a>, Vec<String>)> = Vec::new();
        for (order, partition) in partitions.iter().enumerate() {
            for node in nodes.iter().filter(|node| partition.covers(&node.name)) {
                let one = NodeView::one(node, partition, node.cpu_load.or(cpu_load));
                let key: Vec<String> = letters.iter().map(|l| value(*l, &one)).collect();
                let joined = if per_node {
                    None
                } else {
                    lines.iter_mut().find(|(o, _, k)| *o == order && *k == key)
                };
                match joined {
                    Some((_, view, _)) => view.nodes.push(node),
                    None => lines.push((order, one, key)),
                }
            }
        }
        let mut views: Vec<(usize, NodeView<'a>)> = lines
            .into_iter()
            .map(|(order, view, _)| (order, view))
            .collect();
        if per_node {
            let name =
                |v: &NodeView<'_>| v.nodes.first().map(|n| n.name.clone()).unwrap_or_default();
            views
                .sort_by(|(oa, a), (ob, b)| hostlist::compare(&name(a), &name(b)).then(oa.cmp(ob)));
        } else {
            let rank = |v: &NodeView<'_>| v.nodes.first().map_or(0, |n| state_rank(n));
            views.sort_by(|(oa, a), (ob, b)| oa.cmp(ob).then(rank(b).cmp(&rank(a))));
        }
        views.into_iter().map(|(_, view)| view).collect()
    }
}

/// `min` alone when every node agrees, else `min+` (sinfo's
/// `_build_min_max_32_string` without a range) or `min-max` (with one).
fn spread<T: Ord + Copy + ToString>(values: impl Iterator<Item = T>, range: bool) -> String {
    let values: Vec<T> = values.collect();
    let (Some(min), Some(max)) = (values.iter().min(), values.iter().max()) else {
        return String::new();
    };
    if min == max {
        max.to_string()
    } else if range {
        format!("{}-{}", min.to_string(), max.to_string())
    } else {
        format!("{}+", min.to_string())
    }
}

fn value(letter: char, view: &NodeView<'_>) -> String {
    let partition = view.partition;
    if view.empty {
        match letter {
            'D' => return "0".into(),
            't' | 'T' => return "n/a".into(),
            'N' | 'n' => return String::new(),
            'C' | 'F' => return "0/0/0/0".into(),
            'A' => return "0/0".into(),
            _ => {}
        }
    }
    if let Some(text) = partition_value(letter, partition) {
        return text;
    }
    let nodes = &view.nodes;
    let Some(first) = nodes.first().copied() else {
        return String::new();
    };
    let last = nodes.last().copied().unwrap_or(first);
    let (compact, long) = state_names(first);
    // sinfo's node counts: allocated (mixed or allocated, draining too),
    // other (down or drained), idle.
    let allocated = nodes
        .iter()
        .filter(|n| matches!(node_state(n), "MIXED" | "ALLOCATED"))
        .count();
    let other = nodes
        .iter()
        .filter(|n| !matches!(node_state(n), "MIXED" | "ALLOCATED") && n.state != NodeState::Up)
        .count();
    let idle = nodes.len() - allocated - other;
    match letter {
        'D' => nodes.len().to_string(),
        't' => compact.into(),
        'T' => long.into(),
        'N' | 'n' => {
            let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
            hostlist::compress(&names)
        }
        'c' | 'Y' => spread(nodes.iter().map(|n| n.cpus_total), false),
        'C' => {
            let used: u32 = nodes
                .iter()
                .map(|n| n.cpus_total.saturating_sub(n.cpus_free))
                .sum();
            let total: u32 = nodes.iter().map(|n| n.cpus_total).sum();
            let other_cpus: u32 = nodes
                .iter()
                .filter(|n| n.state != NodeState::Up)
                .map(|n| n.cpus_free.min(n.cpus_total))
                .sum();
            let idle_cpus = total.saturating_sub(used).saturating_sub(other_cpus);
            format!("{used}/{idle_cpus}/{other_cpus}/{total}")
        }
        'm' => spread(nodes.iter().map(|n| n.memory_mb_total), false),
        // sinfo keeps the last node's figure for a group (`alloc_memory`).
        ALLOC_MEM => last
            .memory_mb_total
            .saturating_sub(last.memory_mb_free)
            .to_string(),
        'e' => spread(nodes.iter().map(|n| n.memory_mb_free), true),
        'G' => first.gres.as_deref().unwrap_or(NULL).into(),
        'F' => format!("{allocated}/{idle}/{other}/{}", nodes.len()),
        'A' => format!("{allocated}/{idle}"),
        'O' => cpu_load(view.cpu_load),
        'z' => format!("1:{}:1", spread(nodes.iter().map(|n| n.cpus_total), false)),
        'f' | 'b' => NULL.into(),
        'E' => first
            .reason
            .clone()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "none".into()),
        'd' => "0".into(),
        'w' | 'X' | 'Z' => "1".into(),
        'H' | 'u' => "Unknown".into(),
        _ => String::new(),
    }
}

/// The fields that describe the partition alone, `None` for the others.
fn partition_value(letter: char, partition: &PartitionInfo) -> Option<String> {
    Some(match letter {
        'P' if partition.default => format!("{}*", partition.name),
        'P' | 'R' => partition.name.clone(),
        'a' => "up".into(),
        // sinfo's `_print_secs`, squeue's form, for a partition's times.
        'l' => partition
            .max_time_secs
            .map_or_else(|| "infinite".into(), format_squeue),
        'L' => partition
            .default_time_secs
            .map_or_else(|| "n/a".into(), format_squeue),
        's' => match partition.max_nodes {
            Some(max) => max.to_string(),
            None => "1-infinite".into(),
        },
        'r' => "no".into(),
        'h' => "NO".into(),
        'p' => partition.priority_tier.to_string(),
        PRIO_JOB_FACTOR => partition.priority_job_factor.to_string(),
        'S' => "all".into(),
        'g' => partition
            .allow_groups
            .as_ref()
            .map_or_else(|| "all".into(), |groups| groups.join(",")),
        'B' => "UNLIMITED".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(free: u32) -> NodeInfo {
        NodeInfo {
            name: "host".into(),
            partition: "debug".into(),
            cpus_total: 16,
            cpus_free: free,
            memory_mb_total: 64000,
            memory_mb_free: 60000,
            gpus_total: 0,
            gpus_free: 0,
            gres: None,
            gpu_devices: Vec::new(),
            jobs_pending: 0,
            jobs_running: 0,
            partitions: Vec::new(),
            state: crate::protocol::NodeState::Up,
            reason: None,
            cpu_load: None,
        }
    }

    fn render(format: &str, node: &NodeInfo, header: bool) -> String {
        let (format, invalid) = Format::parse(format);
        assert!(invalid.is_empty(), "{invalid:?}");
        let partition = PartitionInfo::named(&node.partition);
        let view = NodeView::one(node, &partition, Some(0.25));
        format.render(std::slice::from_ref(&view), header)
    }

    #[test]
    fn the_default_layout_matches_sinfo() {
        assert_eq!(
            render(DEFAULT, &node(16), true),
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
             debug*       up   infinite      1   idle host\n"
        );
    }

    #[test]
    fn fitted_columns_grow_with_long_names() {
        let mut long = node(8);
        long.partition = "verylongpartition".into();
        assert_eq!(
            render(DEFAULT, &long, true),
            "PARTITION          AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
             verylongpartition*    up   infinite      1    mix host\n"
        );
    }

    #[test]
    fn node_oriented_and_summarized_layouts() {
        assert_eq!(
            render(NODE, &node(0), true),
            "NODELIST   NODES PARTITION STATE \n\
             host           1    debug* alloc \n"
        );
        assert_eq!(
            render(SUMMARIZE, &node(4), true),
            "PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST\n\
             debug*       up   infinite          1/0/0/1 host\n"
        );
        // The node list is as wide as the longest name, at least 9; the
        // header does not count (live sinfo: `NODELIST   NODES` for `vm`).
        let mut long = node(0);
        long.name = "compute-node-01".into();
        assert_eq!(
            render(NODE, &long, true),
            "NODELIST         NODES PARTITION STATE \n\
             compute-node-01      1    debug* alloc \n"
        );
    }

    #[test]
    fn every_specifier_renders() {
        let mut gpu = node(12);
        gpu.gpus_total = 2;
        gpu.gres = Some("gpu:2".into());
        assert_eq!(
            render("%P|%R|%a|%l|%L|%D|%t|%T|%N|%n|%c|%C", &gpu, false),
            "debug*|debug|up|infinite|n/a|1|mix|mixed|host|host|16|4/12/0/16\n"
        );
        assert_eq!(
            render("%m|%e|%G|%F|%A|%O|%z|%f|%E|%s", &gpu, false),
            "64000|60000|gpu:2|1/0/0/1|1/0|0.25|1:16:1|(null)|none|1-infinite\n"
        );
        assert_eq!(render("%G", &node(16), true), "GRES\n(null)\n");
        gpu.gres = Some("gpu:h200:1".into());
        assert_eq!(render("%G", &gpu, false), "gpu:h200:1\n");
    }

    #[test]
    fn priority_tier_job_factor_and_alloc_nodes_render_as_22_05s() {
        let n = node(16);
        let high = PartitionInfo {
            priority_tier: 2,
            priority_job_factor: 10,
            ..PartitionInfo::named("high")
        };
        let view = NodeView::one(&n, &high, None);
        let (format, invalid) = Format::parse("%P %p %S");
        assert!(invalid.is_empty());
        assert_eq!(
            format.render(std::slice::from_ref(&view), true),
            "PARTITION PRIO_TIER ALLOCNODES\nhigh* 2 all\n"
        );
        let (format, invalid) =
            Format::parse_long("prioritytier:10,priorityjobfactor:16,allocnodes");
        assert!(invalid.is_empty());
        assert_eq!(
            format.render(std::slice::from_ref(&view), true),
            "PRIO_TIER PRIO_JOB_FACTOR ALLOCNODES          \n2         10              all                 \n"
        );
    }

    #[test]
    fn a_partitions_limits_fill_its_columns() {
        let n = node(16);
        let debug = PartitionInfo {
            max_time_secs: Some(1800),
            default_time_secs: Some(600),
            max_nodes: Some(1),
            allow_groups: Some(vec!["hpc".into(), "ops".into()]),
            ..PartitionInfo::named("debug")
        };
        let long = PartitionInfo {
            default: false,
            max_time_secs: Some(2 * 86_400),
            ..PartitionInfo::named("long")
        };
        let (format, _) = Format::parse(DEFAULT);
        let views = [&debug, &long].map(|partition| NodeView::one(&n, partition, None));
        assert_eq!(
            format.render(&views, true),
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
             debug*       up      30:00      1   idle host\n\
             long         up 2-00:00:00      1   idle host\n"
        );
        let (format, _) = Format::parse("%l|%L|%s|%g");
        assert_eq!(format.render(&views[..1], false), "30:00|10:00|1|hpc,ops\n");
    }

    #[test]
    fn snakemake_reads_the_default_partition_from_percent_p() {
        assert_eq!(render("%P", &node(16), true), "PARTITION\ndebug*\n");
    }

    #[test]
    fn long_layout_cuts_headers_to_their_width() {
        let header = render(LONG, &node(16), true);
        assert_eq!(
            header.lines().next(),
            Some(
                "PARTITION AVAIL  TIMELIMIT   JOB_SIZE ROOT OVERSUBS     GROUPS  NODES       STATE NODELIST"
            )
        );
    }

    #[test]
    fn unknown_letters_stay_literal_and_are_reported() {
        let (format, invalid) = Format::parse("a%kb%");
        assert_eq!(invalid, vec!["k".to_string(), String::new()]);
        let n = node(16);
        let partition = PartitionInfo {
            default: false,
            ..PartitionInfo::named("debug")
        };
        let view = NodeView::one(&n, &partition, None);
        assert_eq!(format.render(std::slice::from_ref(&view), false), "a%kb%\n");
    }

    #[test]
    fn long_names_pad_without_separators() {
        let (format, invalid) = Format::parse_long("partition:10,nodes:.6,StateCompact,bogus");
        assert_eq!(invalid, vec!["bogus".to_string()]);
        let n = node(16);
        let partition = PartitionInfo::named("debug");
        let view = NodeView::one(&n, &partition, None);
        assert_eq!(
            format.render(std::slice::from_ref(&view), true),
            format!(
                "PARTITION  NODES{:<20}\ndebug*         1{:<20}\n",
                "STATE", "idle"
            )
        );
    }

    /// Five compute nodes and a GPU node in mixed states: n1, n2 idle,
    /// n3 mixed, n4 allocated, n5 down, gpu01 drained; `batch` holds all,
    /// `gpu` (Nodes=gpu01) the GPU node.
    fn cluster() -> (Vec<NodeInfo>, Vec<PartitionInfo>) {
        let mut nodes: Vec<NodeInfo> = (1..=5)
            .map(|n| NodeInfo {
                name: format!("n{n}"),
                ..node(16)
            })
            .collect();
        nodes[2].cpus_free = 4;
        nodes[3].cpus_free = 0;
        nodes[4].state = NodeState::Down;
        nodes[4].reason = Some("Not responding".into());
        nodes.push(NodeInfo {
            name: "gpu01".into(),
            state: NodeState::Drain,
            reason: Some("maintenance".into()),
            ..node(16)
        });
        let batch = PartitionInfo::named("batch");
        let gpu = PartitionInfo {
            default: false,
            nodes: vec!["gpu01".into()],
            ..PartitionInfo::named("gpu")
        };
        (nodes, vec![batch, gpu])
    }

    fn render_cluster(format: &str, per_node: bool) -> String {
        let (nodes, partitions) = cluster();
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let (format, invalid) = Format::parse(format);
        assert!(invalid.is_empty(), "{invalid:?}");
        let views = format.group(&refs, &partitions, per_node, false, None);
        format.render(&views, true)
    }

    #[test]
    fn the_default_layout_groups_nodes_by_state_highest_first() {
        // man sinfo's first example groups a partition's nodes by state,
        // `adev[8-9]` allocated and `adev[10-15]` idle; sinfo's default
        // sort `#P,-t` puts the higher node state first (DRAIN flag, then
        // MIXED, ALLOCATED, IDLE, DOWN).
        assert_eq!(
            render_cluster(DEFAULT, false),
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
             batch*       up   infinite      1  drain gpu01\n\
             batch*       up   infinite      1    mix n3\n\
             batch*       up   infinite      1  alloc n4\n\
             batch*       up   infinite      2   idle n[1-2]\n\
             batch*       up   infinite      1   down n5\n\
             gpu          up   infinite      1  drain gpu01\n"
        );
    }

    #[test]
    fn node_oriented_lines_are_sorted_by_name_once_per_partition() {
        // man sinfo's `sinfo -Nel` example still shows grouped lines
        // (`adev[0-1]  2`), but 22.05's `_match_node_data` returns false
        // under -N: one line per node and partition, sorted by `N`.
        assert_eq!(
            render_cluster(NODE, true),
            "NODELIST   NODES PARTITION STATE \n\
             gpu01          1    batch* drain \n\
             gpu01          1       gpu drain \n\
             n1             1    batch* idle  \n\
             n2             1    batch* idle  \n\
             n3             1    batch* mix   \n\
             n4             1    batch* alloc \n\
             n5             1    batch* down  \n"
        );
    }

    #[test]
    fn summaries_count_nodes_and_cpus_over_the_partition() {
        // man sinfo's `sinfo -s` example: one line per partition, its
        // whole node list (`2/6/0/8 adev[8-15]`); %F is
        // "allocated/idle/other/total", down and drained nodes "other"
        // (`_update_sinfo`), their free CPUs too.
        assert_eq!(
            render_cluster(SUMMARIZE, false),
            "PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST\n\
             batch*       up   infinite          2/2/2/6 gpu01,n[1-5]\n\
             gpu          up   infinite          0/0/1/1 gpu01\n"
        );
        assert_eq!(
            render_cluster("%P %C %A %c %m", false),
            "PARTITION CPUS(A/I/O/T) NODES(A/I) CPUS MEMORY\n\
             batch* 28/36/32/96 2/2 16 64000\n\
             gpu 0/0/16/16 0/0 16 64000\n"
        );
    }

    #[test]
    fn reasons_split_groups_and_sizes_show_their_least() {
        // A line takes its first node's state for the `-t` sort (sinfo's
        // `_update_sinfo` copies the first node's), so n[1-4] sorts as idle.
        assert_eq!(
            render_cluster("%P %D %E %N", false),
            "PARTITION NODES REASON NODELIST\n\
             batch* 1 maintenance gpu01\n\
             batch* 4 none n[1-4]\n\
             batch* 1 Not responding n5\n\
             gpu 1 maintenance gpu01\n"
        );
        let (mut nodes, partitions) = cluster();
        nodes[0].cpus_total = 8;
        nodes[0].cpus_free = 8;
        let refs: Vec<&NodeInfo> = nodes.iter().collect();
        let (format, _) = Format::parse("%c|%e");
        let views = format.group(&refs, &partitions[..1], false, false, None);
        // `_build_min_max_32_string`: CPUs as `min+`, free memory `min-max`.
        assert_eq!(format.render(&views, false), "8+|60000\n");
        let exact = format.group(&refs, &partitions[..1], false, true, None);
        assert_eq!(format.render(&exact, false), "8|60000\n16|60000\n");
    }

    #[test]
    fn drained_and_draining_nodes_have_sinfo_s_names() {
        let mut busy = node(8);
        busy.state = NodeState::Drain;
        assert_eq!(state_names(&busy), ("drng", "draining"));
        assert!(in_state(&busy, "drain") && in_state(&busy, "mix") && !in_state(&busy, "drained"));
        busy.cpus_free = 16;
        assert_eq!(state_names(&busy), ("drain", "drained"));
        busy.state = NodeState::Down;
        assert_eq!(state_names(&busy), ("down", "down"));
    }
}
