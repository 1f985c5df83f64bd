//! sinfo's `-o/--format` and `-O/--Format` languages over the one node,
//! rendered byte for byte (Snakemake reads `sinfo -o %P`).
//!
//! A format is literal text with `%[.][width|#]<letter>` fields. A width
//! pads and cuts, a `.` right-justifies, and `#` sizes the column to its
//! longest value, at least 9 wide (sinfo's rule for its node list and
//! partition columns). An unknown letter is printed as written and
//! reported, as sinfo does.

use crate::format::duration::format_squeue;
use crate::format::scontrol::{NULL, cpu_load, node_state};
use crate::protocol::{NodeInfo, PartitionInfo};

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

/// What one line describes: the node in one of its partitions.
#[derive(Debug, Clone, Copy)]
pub struct NodeView<'a> {
    pub node: &'a NodeInfo,
    /// The partition of the line; the default one is marked `*` in `%P`.
    pub partition: &'a PartitionInfo,
    /// The one-minute load average, for `%O`.
    pub cpu_load: Option<f64>,
    /// The node is not in the line: `-t` left none of the partition's
    /// nodes, and sinfo 22.05 still prints the partition, with 0 nodes in
    /// state `n/a`.
    pub empty: bool,
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

/// sinfo's compact and long state names: `mix`/`mixed` and so on.
pub fn state_names(node: &NodeInfo) -> (&'static str, &'static str) {
    match node_state(node) {
        "IDLE" => ("idle", "idle"),
        "MIXED" => ("mix", "mixed"),
        _ => ("alloc", "allocated"),
    }
}

fn value(letter: char, view: &NodeView<'_>) -> String {
    let node = view.node;
    let partition = view.partition;
    let busy = node.cpus_free < node.cpus_total;
    let (compact, long) = state_names(node);
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
    match letter {
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
        'D' => "1".into(),
        't' => compact.into(),
        'T' => long.into(),
        'N' | 'n' => node.name.clone(),
        'c' | 'Y' => node.cpus_total.to_string(),
        'C' => format!(
            "{}/{}/0/{}",
            node.cpus_total.saturating_sub(node.cpus_free),
            node.cpus_free,
            node.cpus_total
        ),
        'm' => node.memory_mb_total.to_string(),
        ALLOC_MEM => node
            .memory_mb_total
            .saturating_sub(node.memory_mb_free)
            .to_string(),
        'e' => node.memory_mb_free.to_string(),
        'G' => node.gres.as_deref().unwrap_or(NULL).into(),
        'F' if busy => "1/0/0/1".into(),
        'F' => "0/1/0/1".into(),
        'A' if busy => "1/0".into(),
        'A' => "0/1".into(),
        'O' => cpu_load(view.cpu_load),
        'z' => format!("1:{}:1", node.cpus_total),
        'f' | 'b' => NULL.into(),
        'E' => "none".into(),
        's' => match partition.max_nodes {
            Some(max) => max.to_string(),
            None => "1-infinite".into(),
        },
        'd' => "0".into(),
        'w' | 'X' | 'Z' => "1".into(),
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
        'H' | 'u' => "Unknown".into(),
        _ => String::new(),
    }
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
        }
    }

    fn render(format: &str, node: &NodeInfo, header: bool) -> String {
        let (format, invalid) = Format::parse(format);
        assert!(invalid.is_empty(), "{invalid:?}");
        let partition = PartitionInfo::named(&node.partition);
        let view = NodeView {
            node,
            partition: &partition,
            cpu_load: Some(0.25),
            empty: false,
        };
        format.render(&[view], header)
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
        let view = NodeView {
            node: &n,
            partition: &high,
            cpu_load: None,
            empty: false,
        };
        let (format, invalid) = Format::parse("%P %p %S");
        assert!(invalid.is_empty());
        assert_eq!(
            format.render(&[view], true),
            "PARTITION PRIO_TIER ALLOCNODES\nhigh* 2 all\n"
        );
        let (format, invalid) =
            Format::parse_long("prioritytier:10,priorityjobfactor:16,allocnodes");
        assert!(invalid.is_empty());
        assert_eq!(
            format.render(&[view], true),
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
        let views = [&debug, &long].map(|partition| NodeView {
            node: &n,
            partition,
            cpu_load: None,
            empty: false,
        });
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
        let view = NodeView {
            node: &n,
            partition: &partition,
            cpu_load: None,
            empty: false,
        };
        assert_eq!(format.render(&[view], false), "a%kb%\n");
    }

    #[test]
    fn long_names_pad_without_separators() {
        let (format, invalid) = Format::parse_long("partition:10,nodes:.6,StateCompact,bogus");
        assert_eq!(invalid, vec!["bogus".to_string()]);
        let n = node(16);
        let partition = PartitionInfo::named("debug");
        let view = NodeView {
            node: &n,
            partition: &partition,
            cpu_load: None,
            empty: false,
        };
        assert_eq!(
            format.render(&[view], true),
            format!(
                "PARTITION  NODES{:<20}\ndebug*         1{:<20}\n",
                "STATE", "idle"
            )
        );
    }
}
