//! getopt_long's rule for long options, which every Slurm command parses
//! with: an unambiguous prefix of a long option stands for it (`sacct
//! --job 3` is `--jobs 3`), and an ambiguous one is refused with the
//! options it could mean, in the order of the command's option table
//! (`sbatch: option '--t' is ambiguous; possibilities: '--tasks-per-node'
//! ...`). Every binary resolves prefixes here, before clap sees the command
//! line, so the rule and its words are the same for all of them.

use std::ffi::OsString;

/// How one Slurm command's getopt behaves.
#[derive(Debug, Clone, Copy)]
struct Table {
    /// The long options in the order of Slurm's table. `"b=a"` is `--b`
    /// with the same meaning as `--a` (one `val` in Slurm's table), which
    /// getopt does not count as a second possibility when `--a` is the
    /// first match.
    names: &'static [&'static str],
    /// Whether getopt stops at the first operand (sbatch's and srun's
    /// `+` optstring: what follows the script is the script's), rather
    /// than looking on past it.
    stops_at_operand: bool,
    /// Whether a refusal ends with `Try "prog --help" for more
    /// information` (sacct prints none).
    try_help: bool,
}

/// The table for a clap command, by its name; `None` for `conductord`,
/// which has no Slurm counterpart (its own options are still resolved).
fn table(command: &str) -> Option<Table> {
    let (names, stops_at_operand, try_help) = match command {
        "cbatch" => (SBATCH, true, true),
        "crun" => (SRUN, true, true),
        "cqueue" => (SQUEUE, false, true),
        "cinfo" => (SINFO, false, true),
        "cacct" => (SACCT, false, false),
        "ccancel" => (SCANCEL, false, true),
        // scontrol's options come before its command words.
        "ccontrol" => (SCONTROL, true, true),
        "cdiag" => (SDIAG, false, true),
        _ => return None,
    };
    Some(Table {
        names,
        stops_at_operand,
        try_help,
    })
}

/// Whether a refusal by `command`'s getopt ends with the `Try "prog
/// --help"` line.
pub fn prints_try_help(command: &str) -> bool {
    table(command).is_none_or(|t| t.try_help)
}

/// getopt's two lines for an ambiguous prefix (`given` as typed, `=value`
/// included, as getopt prints it).
pub fn ambiguous_option(
    prog: &str,
    command: &str,
    given: &str,
    possibilities: &[String],
) -> String {
    let listed: String = possibilities.iter().map(|p| format!(" '--{p}'")).collect();
    let mut text = format!("{prog}: option '{given}' is ambiguous; possibilities:{listed}");
    if prints_try_help(command) {
        text.push_str(&format!("\nTry \"{prog} --help\" for more information"));
    }
    text
}

/// A long option the command line names by an ambiguous prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguous {
    /// The argument as typed (`--t=5`).
    pub given: String,
    /// The options it could mean, without `--`, in the table's order.
    pub possibilities: Vec<String>,
}

/// One long option the command knows: its name and what it means.
struct LongName {
    name: String,
    /// Names with one meaning share it: Slurm's `val` for Slurm's names,
    /// clap's argument id for Conductor's own.
    meaning: String,
    /// Whether the option takes the next argument as its value.
    takes_value: bool,
    /// Whether the name is in Slurm's table, not only Conductor's.
    slurm: bool,
}

/// The long names getopt would match against: Slurm's table first, in its
/// order, then the clap command's names Slurm lacks.
fn long_names(command: &clap::Command) -> Vec<LongName> {
    let clap_meaning = |name: &str| clap_arg(command, name);
    let mut names = Vec::new();
    if let Some(t) = table(command.get_name()) {
        for entry in t.names {
            let (name, same_as) = entry.split_once('=').unwrap_or((entry, entry));
            names.push(LongName {
                name: name.to_string(),
                meaning: format!("slurm:{same_as}"),
                takes_value: clap_meaning(name).is_some_and(takes_value),
                slurm: true,
            });
        }
    }
    for arg in command.get_arguments() {
        let longs = arg
            .get_long()
            .into_iter()
            .chain(arg.get_all_aliases().unwrap_or_default());
        for long in longs {
            if !names.iter().any(|n| n.name == long) {
                names.push(LongName {
                    name: long.to_string(),
                    meaning: format!("clap:{}", arg.get_id()),
                    takes_value: takes_value(arg),
                    slurm: false,
                });
            }
        }
    }
    names
}

/// Whether an option consumes the next argument when given without `=`.
fn takes_value(arg: &clap::Arg) -> bool {
    arg.get_num_args().is_some_and(|n| n.min_values() > 0) && arg.get_action().takes_values()
}

/// What getopt makes of `--word`: the one option it names, or the
/// possibilities when they differ in meaning from the first match.
enum Match<'a> {
    Exact(&'a LongName),
    Prefix(&'a LongName),
    Ambiguous(Vec<&'a LongName>),
    None,
}

/// glibc's `process_long_option`: an exact name wins; otherwise every
/// name the word begins, the first of them and each that means
/// something else than the first (not than each other) being listed.
/// Conductor's own names (`--server`, the alias `--state`) are matched
/// exactly, and by a prefix only where no Slurm name has it, so that
/// Slurm's prefixes mean, and list, what they mean in Slurm.
fn match_long<'a>(names: &'a [LongName], word: &str) -> Match<'a> {
    if let Some(exact) = names.iter().find(|n| n.name == word) {
        return Match::Exact(exact);
    }
    let prefixed = |slurm: bool| -> Vec<&'a LongName> {
        names
            .iter()
            .filter(|n| n.slurm == slurm && n.name.starts_with(word))
            .collect()
    };
    let mut matches = prefixed(true);
    if matches.is_empty() {
        matches = prefixed(false);
    }
    let Some(first) = matches.first() else {
        return Match::None;
    };
    let listed: Vec<&LongName> = matches
        .iter()
        .copied()
        .filter(|n| std::ptr::eq(*n, *first) || n.meaning != first.meaning)
        .collect();
    if listed.len() == 1 {
        Match::Prefix(first)
    } else {
        Match::Ambiguous(listed)
    }
}

/// Resolves the long-option prefixes of `args` (without the program name)
/// the way getopt does: a unique prefix becomes the option's full name,
/// so that clap needs no inference of its own; an ambiguous one is
/// refused. Short options, values and operands are passed over.
///
/// `command` is built here (once: clap keeps it built), so that the caller
/// parses with the same one; building and cloning a command of sbatch's
/// size is a third of a client's start.
pub fn resolve_prefixes(
    command: &mut clap::Command,
    args: Vec<OsString>,
) -> Result<Vec<OsString>, Ambiguous> {
    command.build();
    let command = &*command;
    let stops_at_operand = table(command.get_name()).is_some_and(|t| t.stops_at_operand);
    // Built only for a name typed short of itself: an exact name is what
    // getopt's match would give back, and most command lines have only those.
    let mut names: Option<Vec<LongName>> = None;
    let mut resolved = Vec::with_capacity(args.len());
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let Some(text) = arg.to_str().map(str::to_string) else {
            resolved.push(arg);
            continue;
        };
        if text == "--" {
            resolved.push(arg);
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (word, value) = match long.split_once('=') {
                Some((word, value)) => (word, Some(value)),
                None => (long, None),
            };
            if let Some(exact) = clap_arg(command, word) {
                resolved.push(arg);
                if value.is_none() && takes_value(exact) {
                    resolved.extend(args.next());
                }
                continue;
            }
            let names = names.get_or_insert_with(|| long_names(command));
            let named = match match_long(names, word) {
                Match::Exact(n) => Some(n),
                Match::Prefix(n) => Some(n),
                Match::Ambiguous(listed) => {
                    return Err(Ambiguous {
                        given: text,
                        possibilities: listed.iter().map(|n| n.name.clone()).collect(),
                    });
                }
                Match::None => None,
            };
            match named {
                // A Slurm option Conductor lacks stays as typed, for clap to refuse.
                Some(n) if knows(command, &n.name) => {
                    resolved.push(match value {
                        Some(value) => format!("--{}={value}", n.name).into(),
                        None => format!("--{}", n.name).into(),
                    });
                    if value.is_none() && n.takes_value {
                        resolved.extend(args.next());
                    }
                }
                _ => resolved.push(arg),
            }
            continue;
        }
        if let Some(shorts) = text.strip_prefix('-').filter(|s| !s.is_empty()) {
            resolved.push(arg);
            if short_wants_next(command, shorts) {
                resolved.extend(args.next());
            }
            continue;
        }
        resolved.push(arg);
        if stops_at_operand {
            break;
        }
    }
    resolved.extend(args);
    Ok(resolved)
}

/// Whether the clap command has a long option (or alias) of this name.
fn knows(command: &clap::Command, name: &str) -> bool {
    clap_arg(command, name).is_some()
}

/// The clap argument whose long name or alias is `name`.
fn clap_arg<'a>(command: &'a clap::Command, name: &str) -> Option<&'a clap::Arg> {
    command.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|v| v.contains(&name))
    })
}

/// Whether a cluster of short options (`vvJ`) ends in one whose value is
/// the next argument (`-J name`, not `-Jname`).
fn short_wants_next(command: &clap::Command, shorts: &str) -> bool {
    for (i, c) in shorts.char_indices() {
        let Some(arg) = command.get_arguments().find(|a| a.get_short() == Some(c)) else {
            return false;
        };
        if takes_value(arg) {
            return i + c.len_utf8() == shorts.len();
        }
    }
    false
}

/// sbatch's long options, in the order of src/common/slurm_opt.c, `common_options[]`, those sbatch takes.
const SBATCH: &[&str] = &[
    "account",
    "acctg-freq",
    "array",
    "batch",
    "begin",
    "bb",
    "bbf",
    "cluster-constraint",
    "chdir",
    "cluster",
    "clusters",
    "comment",
    "container",
    "context",
    "contiguous",
    "constraint",
    "core-spec",
    "cores-per-socket",
    "cpu-freq",
    "cpus-per-gpu",
    "cpus-per-task",
    "deadline",
    "delay-boot",
    "dependency",
    "distribution",
    "error",
    "exclude",
    "exclusive",
    "export",
    "export-file",
    "extra-node-info",
    "get-user-env",
    "gid",
    "gpu-bind",
    "gpu-freq",
    "gpus",
    "gpus-per-node",
    "gpus-per-socket",
    "gpus-per-task",
    "gres",
    "gres-flags",
    "help",
    "hint",
    "hold",
    "ignore-pbs",
    "input",
    "job-name",
    "kill-on-invalid-dep",
    "licenses",
    "mail-type",
    "mail-user",
    "mcs-label",
    "mem",
    "mem-bind",
    "mem-per-cpu",
    "mem-per-gpu",
    "mincpus",
    "network",
    "nice",
    "no-kill",
    "no-requeue",
    "nodefile",
    "nodelist",
    "nodes",
    "ntasks",
    "ntasks-per-core",
    "ntasks-per-gpu",
    "ntasks-per-node",
    "ntasks-per-socket",
    "ntasks-per-tres",
    "open-mode",
    "output",
    "overcommit",
    "oversubscribe",
    "parsable",
    "partition",
    "power",
    "prefer",
    "priority",
    "profile",
    "propagate",
    "qos",
    "quiet",
    "reboot",
    "requeue",
    "reservation",
    "signal",
    "sockets-per-node",
    "spread-job",
    "switches",
    "tasks-per-node=ntasks-per-node",
    "test-only",
    "thread-spec",
    "threads-per-core",
    "time",
    "time-min",
    "tmp",
    "uid",
    "use-min-nodes",
    "verbose",
    "version",
    "usage",
    "wait",
    "wait-all-nodes",
    "wckey",
    "wrap",
];

/// srun's long options, in the order of src/common/slurm_opt.c, `common_options[]`, those srun takes.
const SRUN: &[&str] = &[
    "accel-bind",
    "account",
    "acctg-freq",
    "bcast",
    "bcast-exclude",
    "begin",
    "bb",
    "bbf",
    "cluster-constraint",
    "chdir",
    "cluster",
    "clusters",
    "comment",
    "compress",
    "container",
    "context",
    "contiguous",
    "constraint",
    "core-spec",
    "cores-per-socket",
    "cpu-bind",
    "cpu_bind=cpu-bind",
    "cpu-freq",
    "cpus-per-gpu",
    "cpus-per-task",
    "deadline",
    "debugger-test",
    "delay-boot",
    "dependency",
    "disable-status",
    "distribution",
    "epilog",
    "error",
    "exact",
    "exclude",
    "exclusive",
    "export",
    "extra-node-info",
    "gid",
    "gpu-bind",
    "gpu-freq",
    "gpus",
    "gpus-per-node",
    "gpus-per-socket",
    "gpus-per-task",
    "gres",
    "gres-flags",
    "help",
    "het-group",
    "hint",
    "hold",
    "immediate",
    "input",
    "interactive",
    "jobid",
    "job-name",
    "kill-on-bad-exit",
    "label",
    "licenses",
    "mail-type",
    "mail-user",
    "threads",
    "mcs-label",
    "mem",
    "mem-bind",
    "mem-per-cpu",
    "mem-per-gpu",
    "mincpus",
    "mpi",
    "msg-timeout",
    "multi-prog",
    "network",
    "nice",
    "no-allocate",
    "no-kill",
    "nodefile",
    "nodelist",
    "nodes",
    "ntasks",
    "ntasks-per-core",
    "ntasks-per-gpu",
    "ntasks-per-node",
    "ntasks-per-socket",
    "ntasks-per-tres",
    "open-mode",
    "output",
    "overcommit",
    "overlap",
    "oversubscribe",
    "pack-group=het-group",
    "partition",
    "power",
    "prefer",
    "preserve-env",
    "priority",
    "profile",
    "prolog",
    "propagate",
    "pty",
    "qos",
    "quiet",
    "quit-on-interrupt",
    "reboot",
    "relative",
    "reservation",
    "resv-ports",
    "send-libs",
    "signal",
    "slurmd-debug",
    "sockets-per-node",
    "spread-job",
    "switches",
    "task-epilog",
    "task-prolog",
    "tasks-per-node=ntasks-per-node",
    "test-only",
    "thread-spec",
    "threads-per-core",
    "time",
    "time-min",
    "tmp",
    "uid",
    "unbuffered",
    "use-min-nodes",
    "verbose",
    "version",
    "usage",
    "wait",
    "wckey",
    "whole",
    "x11",
];

/// squeue's long options, in the order of src/squeue/opts.c, `long_options[]`.
const SQUEUE: &[&str] = &[
    "accounts",
    "all",
    "array",
    "array-unique",
    "Format",
    "format",
    "federation",
    "help",
    "hide",
    "iterate",
    "jobs",
    "local",
    "long",
    "licenses",
    "cluster",
    "clusters=cluster",
    "me",
    "name",
    "noconvert",
    "node",
    "nodes=node",
    "nodelist=node",
    "noheader",
    "partitions",
    "priority",
    "qos",
    "reservation",
    "sib",
    "sibling=sib",
    "sort",
    "start",
    "steps",
    "states",
    "usage",
    "user",
    "users=user",
    "verbose",
    "version",
    "json",
    "yaml",
];

/// sinfo's long options, in the order of src/sinfo/opts.c, `long_options[]`.
const SINFO: &[&str] = &[
    "all",
    "dead",
    "exact",
    "federation",
    "help",
    "hide",
    "iterate",
    "local",
    "long",
    "cluster",
    "clusters=cluster",
    "nodes",
    "noconvert",
    "noheader",
    "Node",
    "format",
    "Format",
    "partition",
    "responding",
    "list-reasons",
    "summarize",
    "sort",
    "states",
    "reservation",
    "usage",
    "verbose",
    "version",
    "json",
    "yaml",
];

/// sacct's long options, in the order of src/sacct/options.c, `long_options[]`.
const SACCT: &[&str] = &[
    "allusers",
    "accounts",
    "allocations",
    "brief",
    "batch-script",
    "completion",
    "constraints",
    "delimiter",
    "duplicates",
    "federation",
    "helpformat",
    "help-fields=helpformat",
    "endtime",
    "env-vars",
    "file",
    "flags",
    "gid",
    "group=gid",
    "help",
    "local",
    "name",
    "nnodes",
    "ncpus",
    "jobs",
    "timelimit-min",
    "timelimit-max",
    "long",
    "allclusters",
    "cluster",
    "clusters=cluster",
    "nodelist",
    "noconvert",
    "units",
    "noheader",
    "fields",
    "format=fields",
    "parsable",
    "parsable2",
    "qos",
    "partition",
    "reason",
    "state",
    "starttime",
    "truncate",
    "uid",
    "use-local-uid",
    "usage",
    "user=uid",
    "verbose",
    "version",
    "wckeys",
    "whole-hetjob",
    "associations",
    "json",
    "yaml",
];

/// scancel's long options, in the order of src/scancel/opt.c, `long_options[]`.
const SCANCEL: &[&str] = &[
    "account",
    "batch",
    "ctld",
    "full",
    "help",
    "hurry",
    "interactive",
    "cluster",
    "clusters=cluster",
    "jobname",
    "me",
    "name=jobname",
    "nodelist",
    "partition",
    "qos",
    "quiet",
    "reservation",
    "sibling",
    "signal",
    "state",
    "usage",
    "user",
    "verbose",
    "version",
    "wckey",
];

/// scontrol's long options, in the order of src/scontrol/scontrol.c, `long_options[]`.
const SCONTROL: &[&str] = &[
    "all",
    "cluster",
    "clusters=cluster",
    "details",
    "federation",
    "future",
    "help",
    "hide",
    "local",
    "oneliner",
    "quiet",
    "sibling",
    "uid",
    "usage=help",
    "verbose",
    "version",
];

/// sdiag's long options, in the order of src/sdiag/opts.c, `long_options[]`.
const SDIAG: &[&str] = &[
    "all",
    "help",
    "reset",
    "sort-by-id",
    "cluster",
    "clusters=cluster",
    "sort-by-time",
    "sort-by-time2",
    "usage",
    "version",
];

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn resolve(command: &clap::Command, args: &[&str]) -> Result<Vec<String>, Ambiguous> {
        let args = args.iter().map(OsString::from).collect();
        resolve_prefixes(&mut command.clone(), args).map(|v| {
            v.into_iter()
                .map(|a| a.into_string().expect("utf-8"))
                .collect()
        })
    }

    #[test]
    fn ambiguous_prefixes_list_slurms_options_in_its_order() {
        let sbatch = crate::cli::cbatch::CbatchArgs::command();
        let refused = resolve(&sbatch, &["--t", "1", "--wrap", "true"]).expect_err("ambiguous");
        assert_eq!(refused.given, "--t");
        assert_eq!(
            refused.possibilities,
            [
                "tasks-per-node",
                "test-only",
                "thread-spec",
                "threads-per-core",
                "time",
                "time-min",
                "tmp"
            ]
        );
        let refused = resolve(&sbatch, &["--par"]).expect_err("ambiguous");
        assert_eq!(refused.possibilities, ["parsable", "partition"]);
        // sacct's --fields and --format are one option, listed both since
        // getopt compares each match with the first only.
        let sacct = crate::cli::cacct::CacctArgs::command();
        let refused = resolve(&sacct, &["--f=x"]).expect_err("ambiguous");
        assert_eq!(refused.given, "--f=x");
        assert_eq!(
            refused.possibilities,
            ["federation", "file", "flags", "fields", "format"]
        );
    }

    #[test]
    fn unique_prefixes_become_the_full_name_and_values_are_passed_over() {
        let sbatch = crate::cli::cbatch::CbatchArgs::command();
        assert_eq!(
            resolve(&sbatch, &["--pars", "--time=5", "-J", "--t", "--wr", "--t"])
                .expect("resolved"),
            ["--parsable", "--time=5", "-J", "--t", "--wrap", "--t"]
        );
        // What follows sbatch's script is the script's.
        assert_eq!(
            resolve(&sbatch, &["job.sh", "--t"]).expect("resolved"),
            ["job.sh", "--t"]
        );
        // squeue looks on past operands; its --user and --users are one.
        let squeue = crate::cli::cqueue::CqueueArgs::command();
        assert_eq!(
            resolve(&squeue, &["x", "--use=root", "--state=R"]).expect("resolved"),
            ["x", "--user=root", "--state=R"]
        );
    }

    #[test]
    fn the_refusal_is_getopts_two_lines_and_sacct_has_one() {
        let listed = ["parsable".to_string(), "partition".to_string()];
        assert_eq!(
            ambiguous_option("sbatch", "cbatch", "--par", &listed),
            "sbatch: option '--par' is ambiguous; possibilities: '--parsable' '--partition'\n\
             Try \"sbatch --help\" for more information"
        );
        assert_eq!(
            ambiguous_option("sacct", "cacct", "--par", &listed),
            "sacct: option '--par' is ambiguous; possibilities: '--parsable' '--partition'"
        );
    }
}
