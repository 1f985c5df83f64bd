//! Shell completions and man pages, generated from the clap definitions of
//! every binary ([`crate::cli::commands`]).
//!
//! The rendered files are checked in under `completions/` and `man/`; the
//! integration test `generated` compares them with what this module renders
//! (`UPDATE_GENERATED=1 cargo test --test integration generated` rewrites
//! them). Output depends only on the command definitions: no dates, no
//! terminal width.

use std::path::PathBuf;

use clap::Command;
use clap_complete::{Generator, Shell};
use clap_mangen::Man;
use roff::{Roff, bold, italic, line_break, roman};

use crate::cli;

/// The shells completions are generated for.
pub const SHELLS: [Shell; 5] = [
    Shell::Bash,
    Shell::Zsh,
    Shell::Fish,
    Shell::Elvish,
    Shell::PowerShell,
];

/// Every completion script: its path relative to the repository root
/// (`completions/` plus clap_complete's file name for the shell, e.g.
/// `completions/cbatch.bash`, `completions/_cbatch`) and its content.
pub fn completions() -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for mut cmd in cli::commands() {
        let name = cmd.get_name().to_string();
        for shell in SHELLS {
            let mut content = Vec::new();
            clap_complete::generate(shell, &mut cmd, &name, &mut content);
            let path = PathBuf::from("completions").join(shell.file_name(&name));
            files.push((path, content));
        }
    }
    files
}

/// Every man page: its path relative to the repository root
/// (`man/<name>.1`) and its roff source.
pub fn man_pages() -> Vec<(PathBuf, Vec<u8>)> {
    cli::commands()
        .into_iter()
        .map(|cmd| {
            let path = PathBuf::from("man").join(format!("{}.1", cmd.get_name()));
            let page = man_page(cmd).expect("rendering into memory cannot fail");
            (path, page)
        })
        .collect()
}

/// One page: clap_mangen's sections, then FORMATS, ENVIRONMENT and EXIT
/// STATUS, then VERSION. The command's after-help text (cqueue's `-o`
/// language) goes into FORMATS rather than clap_mangen's EXTRA section.
fn man_page(mut cmd: Command) -> std::io::Result<Vec<u8>> {
    cmd.build();
    let name = cmd.get_name().to_string();
    let after_help = cmd
        .get_after_long_help()
        .or_else(|| cmd.get_after_help())
        .map(std::string::ToString::to_string);
    let source = match cmd.get_version() {
        Some(version) => format!("{name} {version}"),
        None => name.clone(),
    };
    let has_subcommands = cmd.has_subcommands();
    let has_version = cmd.get_version().is_some() || cmd.get_long_version().is_some();
    let has_author = cmd.get_author().is_some();
    let man = Man::new(cmd);

    let mut page = preamble();
    // Written by hand: clap_mangen drops the empty date argument of `.TH`,
    // which shifts the source and manual into the wrong fields.
    page.push_str(&format!(
        ".TH {} 1 \"\" \"{source}\" \"Conductor Manual\"\n",
        name.to_uppercase()
    ));
    page.push_str(&section(|w| man.render_name_section(w))?);
    page.push_str(&section(|w| man.render_synopsis_section(w))?);
    page.push_str(&section(|w| man.render_description_section(w))?);
    page.push_str(&section(|w| man.render_options_section(w))?);
    if has_subcommands {
        page.push_str(&section(|w| man.render_subcommands_section(w))?);
    }
    let extra = extra_sections(&name, after_help.as_deref()).render();
    page.push_str(extra.strip_prefix(&preamble()).unwrap_or(&extra));
    if has_version {
        page.push_str(&section(|w| man.render_version_section(w))?);
    }
    if has_author {
        page.push_str(&section(|w| man.render_authors_section(w))?);
    }
    Ok(page.into_bytes())
}

/// The lines roff puts at the top of every rendering (apostrophe handling).
fn preamble() -> String {
    Roff::new().render()
}

/// One of clap_mangen's sections, without the preamble: the page has it once.
fn section(render: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> std::io::Result<String> {
    let mut buf = Vec::new();
    render(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    Ok(match text.strip_prefix(&preamble()) {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// FORMATS (when the command has any), ENVIRONMENT and EXIT STATUS.
fn extra_sections(name: &str, after_help: Option<&str>) -> Roff {
    let mut roff = Roff::new();
    formats(&mut roff, name, after_help);
    if name == "conductord" {
        containment(&mut roff);
    }
    job_states(&mut roff, name);
    environment(&mut roff, name);
    exit_status(&mut roff, name);
    roff
}

/// conductord's CONTAINMENT section: the backends and what a job gets.
fn containment(roff: &mut Roff) {
    roff.control("SH", ["CONTAINMENT"]);
    paragraph(
        roff,
        "Every job is held to what it was booked: its CPUs become its cpuset and the \
         affinity of its first process, its memory a hard limit (a process the OOM killer \
         kills inside it ends the job OUT_OF_MEMORY), and every process it started is \
         killed when it ends. The backend is chosen at start (--containment), and named \
         in the start-up log and in ccontrol show config.",
    );
    entry(
        roff,
        "cgroup2",
        "A cgroup job_ID per job under the daemon's own cgroup, which must be delegated \
         (systemd: Delegate=yes, or systemd-run --user --scope -p Delegate=yes \
         conductord). The script is born in it (clone3 CLONE_INTO_CGROUP); a BPF device \
         program keeps a job to its own GPUs' device nodes.",
    );
    entry(
        roff,
        "cgroup1",
        "A directory job_ID per job in the v1 memory, cpuset, cpuacct, freezer and \
         (with GPUs) devices hierarchies; the freezer stops a job whole before it is \
         killed. A job may open only its own GPUs' device nodes.",
    );
    entry(
        roff,
        "none",
        "No cgroups: the supervisor is a child subreaper and kills every descendant \
         when the job ends, CPUs are pinned by affinity, and memory is sampled once a \
         second (best effort).",
    );
    entry(
        roff,
        "auto",
        "cgroup2 on a pure cgroup v2 machine, else cgroup1, else none.",
    );
}

/// JOB STATES for the binaries that show them.
fn job_states(roff: &mut Roff, name: &str) {
    if !matches!(name, "cqueue" | "cacct" | "ccontrol" | "conductord") {
        return;
    }
    roff.control("SH", ["JOB STATES"]);
    let states = [
        ("PENDING (PD)", "Waiting to start; the reason says why."),
        ("RUNNING (R)", "Started and not ended yet."),
        ("COMPLETED (CD)", "The script exited 0."),
        (
            "FAILED (F)",
            "A non-zero exit or a signal, or the job could not start.",
        ),
        ("CANCELLED (CA)", "Ended by ccancel (or before it started)."),
        ("TIMEOUT (TO)", "Ended at its time limit."),
        (
            "OUT_OF_MEMORY (OOM)",
            "A process of the job was killed by the OOM killer inside its memory limit; \
             exit code 0:125.",
        ),
        (
            "NODE_FAIL (NF)",
            "The job's supervisor was lost; its processes were killed before its \
             resources were given to another job.",
        ),
    ];
    for (state, meaning) in states {
        entry(roff, state, meaning);
    }
}

/// A `.TP` entry: the term in bold, then its description.
fn entry(roff: &mut Roff, term: &str, description: &str) {
    roff.control("TP", [])
        .text([bold(term)])
        .text([roman(description)]);
}

fn paragraph(roff: &mut Roff, text: &str) {
    roff.control("PP", []).text([roman(text)]);
}

fn formats(roff: &mut Roff, name: &str, after_help: Option<&str>) {
    match name {
        "cbatch" => {
            roff.control("SH", ["FORMATS"]);
            time_limits(roff);
            memory_sizes(roff);
            roff.text([roman("--mem 0 asks for all of the node's memory.")]);
            file_patterns(roff);
        }
        "conductord" => {
            roff.control("SH", ["FORMATS"]);
            memory_sizes(roff);
        }
        _ => {}
    }
    if let Some(text) = after_help {
        if name != "cbatch" && name != "conductord" {
            roff.control("SH", ["FORMATS"]);
        }
        // A line that starts with a capital letter starts a new line of the
        // page (FORMAT, Letters, Default); the others continue it, so the
        // text flows to the reader's width.
        let mut blocks: Vec<String> = Vec::new();
        for line in text.lines().map(str::trim).filter(|line| !line.is_empty()) {
            match blocks.last_mut() {
                Some(block) if !line.starts_with(|c: char| c.is_ascii_uppercase()) => {
                    block.push(' ');
                    block.push_str(line);
                }
                _ => blocks.push(line.to_string()),
            }
        }
        let mut inlines = Vec::new();
        for block in blocks {
            if !inlines.is_empty() {
                inlines.push(line_break());
            }
            inlines.push(roman(block));
        }
        roff.control("PP", []).text(inlines);
    }
}

fn time_limits(roff: &mut Roff) {
    roff.control("SS", ["Time limits (-t, --time)"]);
    entry(roff, "MM", "Minutes.");
    entry(roff, "MM:SS", "Minutes and seconds.");
    entry(roff, "HH:MM:SS", "Hours, minutes and seconds.");
    entry(roff, "D-HH", "Days and hours.");
    entry(roff, "D-HH:MM", "Days, hours and minutes.");
    entry(roff, "D-HH:MM:SS", "Days, hours, minutes and seconds.");
    entry(roff, "UNLIMITED, INFINITE, -1, 0", "No time limit.");
    paragraph(
        roff,
        "Unlike Slurm, which rounds up to whole minutes, the limit keeps its seconds. \
         When the limit is reached the job's process group gets SIGTERM, then SIGKILL \
         after the daemon's grace period, and the job ends TIMEOUT.",
    );
}

fn memory_sizes(roff: &mut Roff) {
    roff.control("SS", ["Memory sizes (--mem)"]);
    paragraph(
        roff,
        "An integer with an optional unit K, M, G or T (powers of 1024, any case, \
         optionally followed by B): 500M, 4G, 1T. A plain number is MiB; kilobytes \
         round up to whole MiB.",
    );
}

fn file_patterns(roff: &mut Roff) {
    roff.control("SS", ["File-name patterns (-o, --output, -e, --error)"]);
    roff.control("PP", []).text([
        roman("The job's output goes to "),
        italic("slurm-%j.out"),
        roman(" in the working directory unless -o says otherwise; these patterns expand:"),
    ]);
    entry(roff, "%j, %J", "The job's id.");
    entry(
        roff,
        "%A",
        "The array's job id for an array task; the job's id otherwise.",
    );
    entry(
        roff,
        "%a",
        "The array task's index (4294967294 for a job that is not an array task).",
    );
    entry(roff, "%x", "The job's name.");
    entry(roff, "%u", "The user name of the job's owner.");
    entry(roff, "%N", "The short host name of the node.");
    entry(roff, "%%", "A literal %.");
    paragraph(
        roff,
        "A number between % and the letter zero-pads a number to that width, at most 10: \
         %4j gives 0042. An unknown %X stays as it is, and a pattern with a backslash is \
         taken literally with the backslashes dropped, both as in Slurm.",
    );
}

fn environment(roff: &mut Roff, name: &str) {
    roff.control("SH", ["ENVIRONMENT"]);
    if name == "conductord" {
        entry(
            roff,
            "XDG_RUNTIME_DIR",
            "The default --socket is $XDG_RUNTIME_DIR/conductor/conductord.sock \
             (/tmp/conductor-UID/conductord.sock without a runtime directory).",
        );
        entry(
            roff,
            "XDG_STATE_HOME",
            "The default --state-dir is $XDG_STATE_HOME/conductor \
             (~/.local/state/conductor when unset).",
        );
        return;
    }
    entry(
        roff,
        "CONDUCTOR_SERVER",
        "The daemon to use when --server is not given: unix:/path, a socket path, or \
         http://127.0.0.1:PORT. A daemon named this way is never started automatically.",
    );
    entry(
        roff,
        "CONDUCTOR_NO_AUTOSTART",
        "Set to 1 to not start conductord when nothing answers on the per-user socket.",
    );
    entry(
        roff,
        "XDG_RUNTIME_DIR",
        "Without --server or CONDUCTOR_SERVER, the daemon is found on the per-user socket \
         $XDG_RUNTIME_DIR/conductor/conductord.sock (/tmp/conductor-UID/conductord.sock \
         without a runtime directory); when nothing answers there, conductord is started.",
    );
    entry(
        roff,
        "XDG_STATE_HOME",
        "A daemon started that way keeps its job store, and its log conductord.log, in \
         $XDG_STATE_HOME/conductor (~/.local/state/conductor when unset).",
    );
    if name == "cbatch" {
        job_environment(roff);
    }
}

/// The variables a job's script sees (the daemon's executor sets them).
fn job_environment(roff: &mut Roff) {
    roff.control("SS", ["In the job"]);
    paragraph(
        roff,
        "The script runs with the environment cbatch captured at submission, plus these \
         variables, each also set under CONDUCTOR_ in place of SLURM_ \
         (CONDUCTOR_JOB_ID and so on):",
    );
    let variables = [
        ("SLURM_JOB_ID, SLURM_JOBID", "The job's id."),
        ("SLURM_JOB_NAME", "The job's name."),
        (
            "SLURM_JOB_USER, SLURM_JOB_UID, SLURM_JOB_GID",
            "The owner's user name, uid and gid.",
        ),
        (
            "SLURM_CPUS_PER_TASK",
            "CPUs per task; set only when -c was given.",
        ),
        (
            "SLURM_CPUS_ON_NODE, SLURM_JOB_CPUS_PER_NODE",
            "The CPUs allocated to the job.",
        ),
        (
            "SLURM_NTASKS, SLURM_NPROCS",
            "The number of tasks; set only when -n was given.",
        ),
        (
            "SLURM_TASKS_PER_NODE",
            "The number of tasks (-n, default 1).",
        ),
        (
            "SLURM_MEM_PER_NODE",
            "The job's memory in MiB; set only when --mem was given.",
        ),
        ("SLURM_SUBMIT_DIR", "The directory cbatch was run in."),
        (
            "SLURM_SUBMIT_HOST, SLURM_JOB_NODELIST, SLURM_NODELIST",
            "The short host name of the node.",
        ),
        (
            "SLURM_JOB_NUM_NODES, SLURM_NNODES",
            "1: a job runs on one node.",
        ),
        ("SLURM_NODEID, SLURM_PROCID, SLURM_LOCALID", "0."),
        ("SLURM_JOB_PARTITION", "The job's partition."),
        ("SLURM_CLUSTER_NAME", "conductor."),
        (
            "SLURM_GPUS_ON_NODE, SLURM_JOB_GPUS, SLURM_STEP_GPUS",
            "For a job with GPUs: how many, and their comma-separated ordinals.",
        ),
        (
            "CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES, GPU_DEVICE_ORDINAL",
            "For a job with GPUs, their ordinals: NVIDIA ones (and GPUs conductord \
             offers without having found them) in CUDA_VISIBLE_DEVICES, AMD ones in \
             ROCR_VISIBLE_DEVICES, all in GPU_DEVICE_ORDINAL. A job never inherits \
             these from the submitter.",
        ),
    ];
    for (term, description) in variables {
        entry(roff, term, description);
    }
}

fn exit_status(roff: &mut Roff, name: &str) {
    roff.control("SH", ["EXIT STATUS"]);
    match name {
        "conductord" => {
            entry(
                roff,
                "0",
                "The daemon stopped cleanly on SIGTERM or SIGINT.",
            );
            entry(
                roff,
                "1",
                "A bad command line, or the daemon could not start or failed.",
            );
        }
        "ccancel" => {
            entry(
                roff,
                "0",
                "Every job named was cancelled, or had already ended.",
            );
            entry(
                roff,
                "1",
                "An error: a bad command line, no daemon to reach, or a job id that is not \
                 valid or could not be cancelled (the other jobs are cancelled all the same).",
            );
        }
        _ => {
            entry(roff, "0", "Success.");
            entry(
                roff,
                "1",
                "An error: a bad command line, no daemon to reach, or a request the daemon \
                 refused.",
            );
        }
    }
    if name == "cbatch" {
        paragraph(
            roff,
            "With -W, --wait, cbatch exits once the job has ended, with the job's exit code: \
             0 when it completed, its script's exit code when that was not 0, and 1 when a \
             signal ended it or it ended without an exit code (cancelled, timed out).",
        );
    }
}
