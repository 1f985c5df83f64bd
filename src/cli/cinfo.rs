//! `cinfo` (sinfo): the nodes in each of their partitions, grouped into
//! lines as sinfo prints them.

use chrono::{DateTime, Local};
use clap::{ArgAction, Parser};

use crate::cli::ccontrol::{load_average, node_facts};
use crate::cli::{Connection, Outcome, print_error};
use crate::error::{Error, Result};
use crate::format::hostlist;
use crate::format::pretty::{ColorChoice, Column, View, human_mb, table};
use crate::format::sinfo::{DEFAULT, Format, LONG, NODE, NODE_LONG, NodeView, SUMMARIZE, in_state};
use crate::format::slurm_json::sinfo::{SinfoContext, SinfoResponse};
use crate::format::slurm_json::{self, JsonFormat, parse_json_option};
use crate::protocol::{NodeInfo, PartitionInfo};

/// Show the nodes and their partitions (like sinfo).
///
/// Per partition, in definition order (the default one marked `*`), a line
/// for the nodes that share a state, their names as a hostlist.
#[derive(Debug, Clone, Default, Parser)]
#[command(
    name = "cinfo",
    version,
    disable_help_flag = true,
    max_term_width = 100,
    after_help = "FORMAT (-o): %[.][width|#]<letter>; a width pads and cuts, a '.' right-justifies,\n\
                  '#' fits the column to its values.\n\
                  Letters: %P partition (* = default), %R partition name, %a up/down, %l time limit,\n\
                  %L default time, %D nodes, %t state (idle, mix, alloc, down, drain), %T long state, %N node\n\
                  names, %n host names, %c CPUs, %C CPUs allocated/idle/other/total, %m memory MiB,\n\
                  %e free memory MiB, %G GRES, %F nodes A/I/O/T, %A nodes A/I, %O CPU load, %z S:C:T,\n\
                  %f features, %E reason, %s job size.\n\
                  Default: \"%#P %.5a %.10l %.6D %.6t %N\"; with -N: \"%#N %.6D %#P %6t\"."
)]
pub struct CinfoArgs {
    /// Output format (see FORMAT below)
    #[arg(short = 'o', long = "format", value_name = "FORMAT")]
    pub format: Option<String>,

    /// Output by field names, e.g. partition,nodes:.6,statecompact (name[:[.]size])
    #[arg(short = 'O', long = "Format", value_name = "FIELDS")]
    pub long_format: Option<String>,

    /// One line per node rather than per partition
    #[arg(short = 'N', long = "Node")]
    pub node: bool,

    /// Do not print the header line
    #[arg(short = 'h', long = "noheader")]
    pub noheader: bool,

    /// sinfo's long layout, after a line with the date
    #[arg(short = 'l', long = "long")]
    pub long: bool,

    /// Summarize the partition: node counts as allocated/idle/other/total
    #[arg(short = 's', long = "summarize")]
    pub summarize: bool,

    /// Only these partitions (comma-separated)
    #[arg(
        short = 'p',
        long = "partition",
        value_name = "PARTITIONS",
        value_delimiter = ','
    )]
    pub partitions: Vec<String>,

    /// Only these nodes (a hostlist: n[1-3,5],gpu01)
    #[arg(
        short = 'n',
        long = "nodes",
        value_name = "NODES",
        overrides_with = "nodes"
    )]
    pub nodes: Option<String>,

    /// Only nodes in these states (idle, mix, alloc, ...; comma-separated)
    #[arg(short = 't', long = "states", value_name = "STATES")]
    pub states: Option<String>,

    /// Group nodes only when their CPUs, memory and load agree too
    #[arg(short = 'e', long = "exact")]
    pub exact: bool,

    /// Accepted for compatibility: the node always responds
    #[arg(short = 'r', long = "responding")]
    pub responding: bool,

    /// Accepted for compatibility: every partition is shown
    #[arg(short = 'a', long = "all")]
    pub all: bool,

    /// Print Slurm's JSON (data_parser v0.0.40); =v0.0.39 or =v0.0.41 picks another, =conductor the node as the API gives it
    #[arg(
        long,
        value_name = "VERSION",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    pub json: Option<String>,

    /// A table for people: fitted to the terminal, states in colour (not Slurm's bytes)
    #[arg(
        long,
        conflicts_with_all = ["format", "long_format", "json", "long", "summarize", "node"]
    )]
    pub pretty: bool,

    /// With --pretty: colour the states when (auto: on a terminal without NO_COLOR)
    #[arg(long, value_name = "WHEN", requires = "pretty")]
    pub color: Option<ColorChoice>,

    #[command(flatten)]
    pub connection: Connection,

    /// Print help
    #[arg(long, action = ArgAction::Help)]
    pub help: Option<bool>,
}

/// The list sinfo 22.05 gives after a state it does not know.
const VALID_STATES: &str = "unknown,down,idle,allocated,?,mixed,future,drain,drained,draining,no_respond,reserved,perfctrs,cloud,completing,powering_down,powered_down,power_down,powering_up,fail,maint,reboot,reboot^,unknown";

/// Node states sinfo knows, for `-t`; only the first three occur here.
const STATES: [&str; 20] = [
    "idle",
    "mix",
    "alloc",
    "mixed",
    "allocated",
    "down",
    "drain",
    "drained",
    "draining",
    "drng",
    "comp",
    "completing",
    "fail",
    "maint",
    "resv",
    "reserved",
    "future",
    "inval",
    "unk",
    "unknown",
];

/// Runs cinfo. A format's unknown fields are reported at once, before
/// the daemon is asked, as sinfo reports them; the listing still prints.
pub fn run(prog: &str, args: CinfoArgs) -> Outcome {
    let (_, invalid) = args.output_format();
    // sinfo 22.05 words a bad -O field as a job format's.
    let kind = if args.long_format.is_some() {
        "job"
    } else {
        "node"
    };
    for field in invalid {
        print_error(
            prog,
            &format!("Invalid {kind} format specification: {field}"),
        );
    }
    match show(&args) {
        Ok(text) => Outcome::printed(text),
        Err(error) => Outcome::error(prog, &error),
    }
}

fn show(args: &CinfoArgs) -> Result<String> {
    args.validate()?;
    let client = args.connection.client()?;
    let nodes = client.nodes()?;
    if let Some(JsonFormat::Slurm(version)) = args.json_format()? {
        let config = client.config()?;
        let context = SinfoContext {
            version,
            caller: &crate::cli::json_caller(),
            config: &config,
            facts: &node_facts(),
        };
        return args.slurm_json(&nodes, &context);
    }
    if args.pretty {
        return Ok(args.render_pretty(&nodes, View::detect(args.color.unwrap_or_default())));
    }
    args.render(&nodes, load_average(), Local::now())
}

/// Every partition the nodes report, in definition order, once each.
pub fn all_partitions(nodes: &[NodeInfo]) -> Vec<PartitionInfo> {
    let mut partitions: Vec<PartitionInfo> = Vec::new();
    for partition in nodes.iter().flat_map(NodeInfo::partition_list) {
        if !partitions.iter().any(|p| p.name == partition.name) {
            partitions.push(partition);
        }
    }
    partitions
}

/// `--pretty`'s columns, each with the `-o` letter that gives its text
/// (memory and GPUs are allocated/total, for a person).
const PRETTY_COLUMNS: [(Column, PrettyValue); 8] = [
    (
        Column::left("PARTITION").shrinks(),
        PrettyValue::Letter("%P"),
    ),
    (Column::left("AVAIL").hides(3), PrettyValue::Letter("%a")),
    (
        Column::right("TIMELIMIT").hides(2),
        PrettyValue::Letter("%l"),
    ),
    (Column::right("CPUS(A/I/O/T)"), PrettyValue::Letter("%C")),
    (Column::right("MEMORY(A/T)"), PrettyValue::Memory),
    (Column::right("GPUS(A/T)").hides(4), PrettyValue::Gpus),
    (Column::state("STATE"), PrettyValue::Letter("%T")),
    (
        Column::left("NODELIST").shrinks().hides(1),
        PrettyValue::Letter("%N"),
    ),
];

/// Where a `--pretty` column's text comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PrettyValue {
    /// sinfo's field of this `-o` letter, unpadded.
    Letter(&'static str),
    /// Memory allocated and in total (`1.5G/62.5G`).
    Memory,
    /// GPUs allocated and in total (`1/2`).
    Gpus,
}

impl CinfoArgs {
    /// The output format and the fields in it that are not fields.
    pub fn output_format(&self) -> (Format, Vec<String>) {
        if let Some(fields) = &self.long_format {
            return Format::parse_long(fields);
        }
        let text = match (&self.format, self.summarize, self.node, self.long) {
            (Some(format), ..) => format.as_str(),
            (None, true, ..) => SUMMARIZE,
            (None, false, true, true) => NODE_LONG,
            (None, false, true, false) => NODE,
            (None, false, false, true) => LONG,
            (None, false, false, false) => DEFAULT,
        };
        Format::parse(text)
    }

    /// Refuses states sinfo would not know.
    pub fn validate(&self) -> Result<()> {
        self.json_format()?;
        for state in self.wanted_states() {
            if state != "all" && !STATES.contains(&state.as_str()) {
                // sinfo 22.05's two lines.
                return Err(Error::Invalid(format!(
                    "Bad state string: \"{state}\"\nvalid states: {VALID_STATES}"
                )));
            }
        }
        Ok(())
    }

    fn wanted_states(&self) -> Vec<String> {
        self.states
            .iter()
            .flat_map(|states| states.split(','))
            .map(|state| state.trim().to_ascii_lowercase())
            .filter(|state| !state.is_empty())
            .collect()
    }

    /// Whether the partition passes `-p`.
    fn selects_partition(&self, partition: &str) -> bool {
        self.partitions.is_empty() || self.partitions.iter().any(|p| p == partition)
    }

    /// The names `-n` keeps, `None` for every node.
    fn wanted_nodes(&self) -> Result<Option<Vec<String>>> {
        self.nodes
            .as_deref()
            .map(|expression| {
                hostlist::expand(expression).map_err(|e| Error::Invalid(e.to_string()))
            })
            .transpose()
    }

    /// Whether the node passes `-n` (`wanted` from [`Self::wanted_nodes`]).
    fn selects_node(wanted: Option<&[String]>, node: &NodeInfo) -> bool {
        wanted.is_none_or(|names| names.contains(&node.name))
    }

    /// Whether the node passes `-t`.
    fn selects_state(&self, node: &NodeInfo) -> bool {
        let states = self.wanted_states();
        states.is_empty() || states.iter().any(|state| in_state(node, state))
    }

    /// The partitions `-p` keeps.
    fn kept_partitions(&self, nodes: &[NodeInfo]) -> Vec<PartitionInfo> {
        all_partitions(nodes)
            .into_iter()
            .filter(|partition| self.selects_partition(&partition.name))
            .collect()
    }

    /// The nodes `-n` and `-t` keep.
    fn kept_nodes<'a>(&self, nodes: &'a [NodeInfo]) -> Result<Vec<&'a NodeInfo>> {
        let wanted = self.wanted_nodes()?;
        Ok(nodes
            .iter()
            .filter(|node| Self::selects_node(wanted.as_deref(), node) && self.selects_state(node))
            .collect())
    }

    /// What `--json` asks for, `None` without it.
    pub fn json_format(&self) -> Result<Option<JsonFormat>> {
        Ok(parse_json_option(self.json.as_deref())?)
    }

    /// sinfo's `--json` document: an entry per line of sinfo's default
    /// layout (per partition, the nodes that share a state) the filters keep.
    pub fn slurm_json(&self, nodes: &[NodeInfo], context: &SinfoContext<'_>) -> Result<String> {
        let partitions = self.kept_partitions(nodes);
        let kept = self.kept_nodes(nodes)?;
        let lines: Vec<(Vec<&NodeInfo>, &PartitionInfo)> = Format::parse(DEFAULT)
            .0
            .group(&kept, &partitions, false, self.exact, None)
            .into_iter()
            .map(|view| (view.nodes, view.partition))
            .collect();
        let members: Vec<&NodeInfo> = nodes.iter().collect();
        slurm_json::to_text(&SinfoResponse::new(&lines, &members, context))
            .map_err(|e| Error::Other(format!("cannot encode JSON: {e}")))
    }

    /// `--pretty`'s table: a row per node in each partition the filters keep.
    pub fn render_pretty(&self, nodes: &[NodeInfo], view: View) -> String {
        let partitions = self.kept_partitions(nodes);
        let kept = self.kept_nodes(nodes).unwrap_or_default();
        let views = Format::parse("%N")
            .0
            .group(&kept, &partitions, true, false, None);
        let rows: Vec<Vec<String>> = views
            .iter()
            .filter_map(|line| {
                let node = line.nodes.first()?;
                let memory = format!(
                    "{}/{}",
                    human_mb(node.memory_mb_total.saturating_sub(node.memory_mb_free)),
                    human_mb(node.memory_mb_total)
                );
                let gpus = format!(
                    "{}/{}",
                    node.gpus_total.saturating_sub(node.gpus_free),
                    node.gpus_total
                );
                Some(
                    PRETTY_COLUMNS
                        .iter()
                        .map(|(_, value)| match value {
                            PrettyValue::Letter(letter) => {
                                let text = Format::parse(letter)
                                    .0
                                    .render(std::slice::from_ref(line), false);
                                text.trim_end_matches('\n').to_string()
                            }
                            PrettyValue::Memory => memory.clone(),
                            PrettyValue::Gpus => gpus.clone(),
                        })
                        .collect(),
                )
            })
            .collect();
        let columns: Vec<Column> = PRETTY_COLUMNS.iter().map(|(column, _)| *column).collect();
        table(&columns, &rows, !self.noheader, view)
    }

    /// What to print for these nodes.
    pub fn render(
        &self,
        nodes: &[NodeInfo],
        cpu_load: Option<f64>,
        now: DateTime<Local>,
    ) -> Result<String> {
        if self.json.is_some() {
            // `--json=conductor`: the one node as `/v1/node` gives it, or
            // every node of a cluster.
            let mut text = match nodes {
                [node] => serde_json::to_string_pretty(node),
                _ => serde_json::to_string_pretty(nodes),
            }
            .map_err(|e| Error::Other(format!("cannot encode JSON: {e}")))?;
            text.push('\n');
            return Ok(text);
        }
        let (format, _) = self.output_format();
        let partitions = self.kept_partitions(nodes);
        let kept = self.kept_nodes(nodes)?;
        let wanted = self.wanted_nodes()?;
        let views: Vec<NodeView<'_>> = if self.node {
            format.group(&kept, &partitions, true, self.exact, cpu_load)
        } else {
            // A partition whose nodes `-t` leaves all out is still a line,
            // empty, as sinfo 22.05 prints it (not with `-N`).
            partitions
                .iter()
                .flat_map(|partition| {
                    let lines = format.group(
                        &kept,
                        std::slice::from_ref(partition),
                        false,
                        self.exact,
                        cpu_load,
                    );
                    let any_named = nodes.iter().any(|node| {
                        partition.covers(&node.name) && Self::selects_node(wanted.as_deref(), node)
                    });
                    if lines.is_empty() && any_named {
                        vec![NodeView {
                            nodes: Vec::new(),
                            partition,
                            cpu_load,
                            empty: true,
                        }]
                    } else {
                        lines
                    }
                })
                .collect()
        };
        let mut out = String::new();
        if self.long {
            out.push_str(&now.format("%a %b %e %H:%M:%S %Y\n").to_string());
        }
        out.push_str(&format.render(&views, !self.noheader));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::NodeState;
    use chrono::TimeZone;

    fn node() -> NodeInfo {
        NodeInfo {
            name: "box".into(),
            partition: "normal".into(),
            cpus_total: 4,
            cpus_free: 4,
            memory_mb_total: 8000,
            memory_mb_free: 8000,
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

    fn render(args: &[&str]) -> String {
        let mut argv = vec!["cinfo"];
        argv.extend_from_slice(args);
        let parsed = CinfoArgs::try_parse_from(argv).expect("parses");
        let now = Local
            .with_ymd_and_hms(2026, 1, 5, 9, 3, 4)
            .earliest()
            .expect("valid");
        parsed.render(&[node()], Some(0.0), now).expect("renders")
    }

    #[test]
    fn options_pick_sinfo_s_layouts() {
        assert_eq!(
            render(&[]),
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
             normal*      up   infinite      1   idle box\n"
        );
        assert_eq!(render(&["-h", "-o", "%P"]), "normal*\n");
        assert_eq!(
            render(&["-N"]),
            "NODELIST   NODES PARTITION STATE \nbox            1   normal* idle  \n"
        );
        assert!(render(&["-l"]).starts_with("Mon Jan  5 09:03:04 2026\nPARTITION AVAIL"));
        assert!(render(&["-s"]).contains("  NODES(A/I/O/T) NODELIST\n"));
    }

    #[test]
    fn filters_leave_only_the_header() {
        assert_eq!(render(&["-p", "other", "-o", "%P"]), "PARTITION\n");
        // A partition whose node -t leaves out: 0 nodes, n/a (sinfo 22.05),
        // but no line at all when lines are nodes.
        assert_eq!(
            render(&["-t", "alloc", "-o", "%P %D %t %N|%C"]),
            "PARTITION NODES STATE NODELIST|CPUS(A/I/O/T)\nnormal* 0 n/a |0/0/0/0\n"
        );
        assert_eq!(render(&["-N", "-t", "alloc", "-h"]), "");
        assert_eq!(
            render(&["-t", "IDLE,mix", "-o", "%P"]),
            "PARTITION\nnormal*\n"
        );
        assert_eq!(render(&["-n", "box", "-h", "-o", "%N"]), "box\n");
    }

    #[test]
    fn pretty_shows_each_partition_s_node_for_a_person() {
        let args = CinfoArgs::try_parse_from(["cinfo", "--pretty"]).expect("parses");
        let mut busy = node();
        busy.cpus_free = 1;
        busy.memory_mb_free = 8000 - 1536;
        busy.gpus_total = 2;
        busy.gpus_free = 1;
        let text = args.render_pretty(&[busy], View::default());
        assert_eq!(
            text,
            "PARTITION  AVAIL  TIMELIMIT  CPUS(A/I/O/T)  MEMORY(A/T)  GPUS(A/T)  STATE  NODELIST\n\
             normal*    up      infinite        3/1/0/4    1.5G/7.8G        1/2  mixed  box\n"
        );
        let colored = View {
            color: true,
            ..View::default()
        };
        assert!(
            args.render_pretty(&[node()], colored)
                .contains("\x1b[32midle\x1b[0m")
        );
        let quiet =
            CinfoArgs::try_parse_from(["cinfo", "--pretty", "-h", "-p", "other"]).expect("parses");
        assert_eq!(quiet.render_pretty(&[node()], View::default()), "");
        for layout in ["-o%P", "--json", "-l", "-s", "-N"] {
            assert!(
                CinfoArgs::try_parse_from(["cinfo", "--pretty", layout]).is_err(),
                "{layout}"
            );
        }
    }

    #[test]
    fn unknown_states_are_refused() {
        let args = CinfoArgs::try_parse_from(["cinfo", "-t", "sleepy"]).expect("parses");
        assert!(args.validate().is_err());
    }

    /// n1 idle, n2 mixed, n3 allocated, n4 down, gpu01 drained; `normal`
    /// holds all, `gpu` (Nodes=gpu01) the GPU node.
    fn cluster() -> Vec<NodeInfo> {
        let gpu = PartitionInfo {
            default: false,
            nodes: vec!["gpu01".into()],
            ..PartitionInfo::named("gpu")
        };
        let partitions = vec![PartitionInfo::named("normal"), gpu];
        let member = |name: &str, free: u32, state: NodeState| NodeInfo {
            name: name.into(),
            cpus_free: free,
            state,
            partitions: partitions.clone(),
            ..node()
        };
        vec![
            member("n1", 4, NodeState::Up),
            member("n2", 2, NodeState::Up),
            member("n3", 0, NodeState::Up),
            member("n4", 4, NodeState::Down),
            member("gpu01", 4, NodeState::Drain),
        ]
    }

    fn render_cluster(args: &[&str]) -> String {
        let mut argv = vec!["cinfo"];
        argv.extend_from_slice(args);
        let parsed = CinfoArgs::try_parse_from(argv).expect("parses");
        parsed
            .render(&cluster(), None, Local::now())
            .expect("renders")
    }

    #[test]
    fn several_nodes_group_by_partition_and_state() {
        assert_eq!(
            render_cluster(&[]),
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
             normal*      up   infinite      1  drain gpu01\n\
             normal*      up   infinite      1    mix n2\n\
             normal*      up   infinite      1  alloc n3\n\
             normal*      up   infinite      1   idle n1\n\
             normal*      up   infinite      1   down n4\n\
             gpu          up   infinite      1  drain gpu01\n"
        );
        // `-t` keeps the nodes in those states; a partition left without
        // any is still a line (0 nodes, n/a), as sinfo 22.05 prints it.
        assert_eq!(
            render_cluster(&["-t", "mix,down", "-o", "%P %D %t %N"]),
            "PARTITION NODES STATE NODELIST\nnormal* 1 mix n2\nnormal* 1 down n4\ngpu 0 n/a \n"
        );
        // sinfo's `-t idle` matches the base state, so a drained idle
        // node is kept, and `alloc` any node with CPUs in use.
        assert_eq!(
            render_cluster(&["-t", "idle", "-h", "-o", "%P %D %t %N"]),
            "normal* 1 drain gpu01\nnormal* 1 idle n1\ngpu 1 drain gpu01\n"
        );
        assert_eq!(
            render_cluster(&["-t", "alloc", "-h", "-o", "%P %D %N"]),
            "normal* 2 n[2-3]\ngpu 0 \n"
        );
        assert_eq!(
            render_cluster(&["-t", "drain", "-h", "-s"]),
            "normal*      up   infinite          0/0/1/1 gpu01\ngpu          up   infinite          0/0/1/1 gpu01\n"
        );
        // `-n` takes a hostlist expression.
        assert_eq!(
            render_cluster(&["-n", "n[1-2],gpu01", "-h", "-o", "%R %N"]),
            "normal gpu01,n[1-2]\ngpu gpu01\n"
        );
        assert_eq!(
            render_cluster(&["-N", "-h", "-p", "normal", "-o", "%N %t"]),
            "gpu01 drain\nn1 idle\nn2 mix\nn3 alloc\nn4 down\n"
        );
        assert_eq!(
            render_cluster(&[
                "-h",
                "-p",
                "normal",
                "-O",
                "nodes:4,nodeaiot:10,nodelist:14"
            ]),
            "5   2/1/2/5   gpu01,n[1-4]  \n"
        );
        // As sinfo's getopt, the last -n wins.
        assert_eq!(
            render_cluster(&["-n", "n1", "-n", "n4", "-h", "-o", "%N"]),
            "n4\n"
        );
        let bad = CinfoArgs::try_parse_from(["cinfo", "-n", "n[1-"]).expect("parses");
        assert!(bad.render(&cluster(), None, Local::now()).is_err());
    }

    #[test]
    fn pretty_has_a_row_per_node_and_partition() {
        let args =
            CinfoArgs::try_parse_from(["cinfo", "--pretty", "-p", "normal"]).expect("parses");
        let text = args.render_pretty(&cluster(), View::default());
        let states: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|line| line.split_whitespace().rev().nth(1).unwrap_or_default())
            .collect();
        assert_eq!(states, ["drained", "idle", "mixed", "allocated", "down"]);
        assert!(
            text.lines().nth(1).is_some_and(|l| l.ends_with("gpu01")),
            "{text}"
        );
    }
}
