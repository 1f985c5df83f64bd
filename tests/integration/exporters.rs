//! The Prometheus exporters' own command lines, through links named like
//! Slurm's tools, with each exporter's own parsing applied to our real
//! output (issue 11, item 6).
//!
//! vpenso/prometheus-slurm-exporter runs `squeue` and `sinfo` with
//! `exec.Command` and splits the output by hand (`ParseQueueMetrics`,
//! `ParseCPUsMetrics`, `ParseNodesMetrics`, `ParseNodeMetrics`, ...);
//! rivosinc/prometheus-slurm-exporter's CLI fallback mode prints one JSON
//! object per line through an `-o` template and decodes each with
//! `json.Unmarshal`. The argument vectors below are copied from their Go
//! sources. Go does not split `"-o %C"`: it is one argument, and getopt
//! takes `" %C"` (leading space included) as the format.
//!
//! vpenso's scheduler.go reads `sdiag` line by line (the text before the
//! first `:` picks the metric); netdata's slurm plugin and others read its
//! RPC tables. Not yet covered: `sshare -n -P -o account,fairshare`
//! (sshare.go; there is no fair share yet).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::Duration;

use conductor::protocol::{JobId, JobState, ListQuery, Reason};
use serde::Deserialize;

use crate::support::{Output, TestDaemon, run_command, wait_until};

const SHORT: Duration = Duration::from_secs(10);

/// The job states squeue's `%T` can print (Slurm's `job_state_string`).
const SLURM_JOB_STATES: [&str; 23] = [
    "BOOT_FAIL",
    "CANCELLED",
    "COMPLETED",
    "COMPLETING",
    "CONFIGURING",
    "DEADLINE",
    "FAILED",
    "NODE_FAIL",
    "OUT_OF_MEMORY",
    "PENDING",
    "PREEMPTED",
    "REQUEUE_FED",
    "REQUEUE_HOLD",
    "REQUEUED",
    "RESIZING",
    "REVOKED",
    "RUNNING",
    "SIGNALING",
    "SPECIAL_EXIT",
    "STAGE_OUT",
    "STOPPED",
    "SUSPENDED",
    "TIMEOUT",
];

/// Runs a Slurm-named tool as the exporter's `exec.Command` does: this
/// argument vector, no shell, the links first on PATH.
fn slurm(d: &TestDaemon, tool: &str, args: &[&str]) -> Output {
    let links = d.slurm_links();
    let path = format!(
        "{}:{}",
        links.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(links.join(tool));
    command
        .args(args)
        .current_dir(&d.work)
        .env("PATH", path)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1");
    run_command(command, None)
}

/// Asserts that the command succeeded with nothing on stderr (an exporter
/// that logs stderr would report every warning) and returns stdout.
#[track_caller]
fn clean(out: &Output) -> &str {
    assert!(out.stderr.is_empty(), "nothing on stderr: {out:?}");
    out.ok()
}

/// The jobs every test sets up, one per state an exporter counts.
struct Jobs {
    completed: JobId,
    failed: JobId,
    cancelled: JobId,
    /// One CPU and 500M of the two CPUs and 4G, account `physics`.
    running: JobId,
    /// Two CPUs: waits behind `running` for resources.
    pending: JobId,
    /// The tasks of `--array=0-2`, two CPUs each, by index.
    array: Vec<JobId>,
    held: JobId,
    /// `afterok` on `running`.
    dependent: JobId,
}

impl Jobs {
    fn all(&self) -> BTreeSet<u64> {
        let mut ids = vec![
            self.completed,
            self.failed,
            self.cancelled,
            self.running,
            self.pending,
            self.held,
            self.dependent,
        ];
        ids.extend(&self.array);
        ids.into_iter().map(|id| id.0).collect()
    }

    /// The jobs squeue shows by default (pending or running).
    fn active(&self) -> BTreeSet<u64> {
        let mut ids = self.all();
        for done in [self.completed, self.failed, self.cancelled] {
            ids.remove(&done.0);
        }
        ids
    }

    /// The state each job was put in, as Slurm names it.
    fn expected_state(&self, id: u64) -> &'static str {
        match JobId(id) {
            id if id == self.completed => "COMPLETED",
            id if id == self.failed => "FAILED",
            id if id == self.cancelled => "CANCELLED",
            id if id == self.running => "RUNNING",
            _ => "PENDING",
        }
    }

    /// The CPUs each job asked for.
    fn expected_cpus(&self, id: u64) -> u32 {
        if id == self.pending.0 || self.array.contains(&JobId(id)) {
            2
        } else {
            1
        }
    }
}

/// A daemon with two CPUs and 4G, and a job in each state.
fn daemon_with_jobs() -> (TestDaemon, Jobs) {
    let d = TestDaemon::start(&["--cpus", "2", "--mem", "4G", "--kill-wait", "1"]);
    let completed = d.submit(&["--wrap", "true"]);
    let failed = d.submit(&["--wrap", "exit 3"]);
    let cancelled = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(completed, JobState::Completed, SHORT);
    d.wait_for(failed, JobState::Failed, SHORT);
    d.wait_for(cancelled, JobState::Running, SHORT);
    d.run("ccancel", &[&cancelled.to_string()]).ok();
    d.wait_for(cancelled, JobState::Cancelled, SHORT);

    let running = d.submit(&[
        "-c",
        "1",
        "--mem",
        "500M",
        "-A",
        "physics",
        "--wrap",
        "sleep 300",
    ]);
    d.wait_for(running, JobState::Running, SHORT);
    let pending = d.submit(&["-c", "2", "--wrap", "true"]);
    let array_job = d.submit(&["-c", "2", "--array=0-2", "--wrap", "true"]);
    let held = d.submit(&["-H", "--wrap", "true"]);
    let dependent = d.submit(&["-d", &format!("afterok:{running}"), "--wrap", "true"]);

    let mut tasks: Vec<(u32, JobId)> = d
        .client()
        .list(&ListQuery {
            states: Some("all".into()),
            ..ListQuery::default()
        })
        .expect("list jobs")
        .into_iter()
        .filter(|job| job.array_job_id == Some(array_job))
        .map(|job| (job.array_task_id.expect("a task index"), job.job_id))
        .collect();
    tasks.sort_unstable();
    assert_eq!(
        tasks.iter().map(|(index, _)| *index).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    wait_until(SHORT, "the scheduler has looked at the queue", || {
        d.job(pending).reason == Reason::Resources
            && d.job(dependent).reason == Reason::Dependency
            && d.job(held).reason == Reason::JobHeldUser
    });
    let jobs = Jobs {
        completed,
        failed,
        cancelled,
        running,
        pending,
        array: tasks.into_iter().map(|(_, id)| id).collect(),
        held,
        dependent,
    };
    for id in jobs.all() {
        let state = d.job(JobId(id)).state;
        assert_eq!(state.to_string(), jobs.expected_state(id), "job {id}");
    }
    (d, jobs)
}

/// `A/I/O/T` as `ParseCPUsMetrics` splits it, each part a number.
fn cpu_states(text: &str) -> [u64; 4] {
    let parts: Vec<u64> = text
        .split('/')
        .map(|n| n.parse().unwrap_or_else(|_| panic!("{n:?} in {text:?}")))
        .collect();
    let parts: [u64; 4] = parts
        .try_into()
        .unwrap_or_else(|_| panic!("four parts: {text:?}"));
    assert_eq!(parts[0] + parts[1] + parts[2], parts[3], "{text:?}");
    parts
}

// --- vpenso/prometheus-slurm-exporter ---------------------------------------

/// queue.go's `QueueMetrics`, filled as `ParseQueueMetrics` does.
#[derive(Debug, Default, PartialEq)]
struct QueueMetrics {
    pending: u32,
    pending_dep: u32,
    running: u32,
    suspended: u32,
    cancelled: u32,
    completing: u32,
    completed: u32,
    configuring: u32,
    failed: u32,
    timeout: u32,
    preempted: u32,
    node_fail: u32,
}

fn parse_queue_metrics(input: &str) -> QueueMetrics {
    let mut qm = QueueMetrics::default();
    for line in input.split('\n').filter(|l| l.contains(',')) {
        let splitted: Vec<&str> = line.split(',').collect();
        match splitted[1] {
            "PENDING" => {
                qm.pending += 1;
                if splitted.len() > 2 && splitted[2] == "Dependency" {
                    qm.pending_dep += 1;
                }
            }
            "RUNNING" => qm.running += 1,
            "SUSPENDED" => qm.suspended += 1,
            "CANCELLED" => qm.cancelled += 1,
            "COMPLETING" => qm.completing += 1,
            "COMPLETED" => qm.completed += 1,
            "CONFIGURING" => qm.configuring += 1,
            "FAILED" => qm.failed += 1,
            "TIMEOUT" => qm.timeout += 1,
            "PREEMPTED" => qm.preempted += 1,
            "NODE_FAIL" => qm.node_fail += 1,
            _ => {}
        }
    }
    qm
}

#[test]
fn vpenso_queue_collector_counts_every_state() {
    let (d, jobs) = daemon_with_jobs();
    let out = slurm(
        &d,
        "squeue",
        &["-a", "-r", "-h", "-o %A,%T,%r", "--states=all"],
    );
    let text = clean(&out);

    let mut seen = BTreeSet::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 3, "three fields: {line:?}");
        let id: u64 = fields[0]
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("a numeric %A: {line:?}"));
        assert!(SLURM_JOB_STATES.contains(&fields[1]), "{line:?}");
        assert_eq!(fields[1], jobs.expected_state(id), "{line:?}");
        let reason = match JobId(id) {
            id if id == jobs.pending => "Resources",
            id if id == jobs.held => "JobHeldUser",
            id if id == jobs.dependent => "Dependency",
            id if id == jobs.failed => "NonZeroExitCode",
            id if jobs.array.contains(&id) => "Priority",
            _ => "None",
        };
        assert_eq!(fields[2], reason, "{line:?}");
        assert!(seen.insert(id), "each job once: {text}");
    }
    assert_eq!(seen, jobs.all());

    assert_eq!(
        parse_queue_metrics(text),
        QueueMetrics {
            pending: 6,
            pending_dep: 1,
            running: 1,
            cancelled: 1,
            completed: 1,
            failed: 1,
            ..QueueMetrics::default()
        }
    );
}

/// users.go's and accounts.go's `pending`, `running`, `running_cpus`,
/// `suspended`.
#[derive(Debug, Default, PartialEq)]
struct JobMetrics {
    pending: u32,
    running: u32,
    running_cpus: u32,
    suspended: u32,
}

/// `ParseUsersMetrics` and `ParseAccountsMetrics` (the same code): the
/// second `|` field is the key; `%C` must be a number (Go's ParseFloat
/// would count a bad one as 0 CPUs).
fn parse_keyed_metrics(input: &str) -> BTreeMap<String, JobMetrics> {
    let mut metrics: BTreeMap<String, JobMetrics> = BTreeMap::new();
    for line in input.split('\n').filter(|l| l.contains('|')) {
        let fields: Vec<&str> = line.split('|').collect();
        assert_eq!(fields.len(), 4, "four fields: {line:?}");
        let entry = metrics.entry(fields[1].to_string()).or_default();
        let state = fields[2].to_lowercase();
        let cpus: u32 = fields[3]
            .parse()
            .unwrap_or_else(|_| panic!("an integer %C: {line:?}"));
        if state.starts_with("pending") {
            entry.pending += 1;
        } else if state.starts_with("running") {
            entry.running += 1;
            entry.running_cpus += cpus;
        } else if state.starts_with("suspended") {
            entry.suspended += 1;
        }
    }
    metrics
}

/// Each line's id and `%C`, checked against the jobs.
#[track_caller]
fn check_ids_and_cpus(text: &str, jobs: &Jobs, expected: &BTreeSet<u64>) {
    let mut seen = BTreeSet::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split('|').collect();
        let id: u64 = fields[0]
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("a numeric %A: {line:?}"));
        assert!(SLURM_JOB_STATES.contains(&fields[2]), "{line:?}");
        assert_eq!(fields[2], jobs.expected_state(id), "{line:?}");
        assert_eq!(fields[3], jobs.expected_cpus(id).to_string(), "{line:?}");
        assert!(seen.insert(id), "each job once: {text}");
    }
    assert_eq!(&seen, expected, "{text}");
}

#[test]
fn vpenso_users_and_accounts_collectors_count_jobs_and_running_cpus() {
    let (d, jobs) = daemon_with_jobs();
    let user = conductor::users::user_name(conductor::users::current_uid());

    // users.go and accounts.go as committed: active jobs only.
    let out = slurm(&d, "squeue", &["-a", "-r", "-h", "-o %A|%u|%T|%C"]);
    let text = clean(&out);
    check_ids_and_cpus(text, &jobs, &jobs.active());
    let users = parse_keyed_metrics(text);
    assert_eq!(
        users,
        BTreeMap::from([(
            user.clone(),
            JobMetrics {
                pending: 6,
                running: 1,
                running_cpus: 1,
                suspended: 0,
            }
        )])
    );

    let out = slurm(&d, "squeue", &["-a", "-r", "-h", "-o %A|%a|%T|%C"]);
    let text = clean(&out);
    check_ids_and_cpus(text, &jobs, &jobs.active());
    let accounts = parse_keyed_metrics(text);
    assert_eq!(
        accounts,
        BTreeMap::from([
            (
                "physics".to_string(),
                JobMetrics {
                    running: 1,
                    running_cpus: 1,
                    ..JobMetrics::default()
                }
            ),
            (
                user.clone(),
                JobMetrics {
                    pending: 6,
                    ..JobMetrics::default()
                }
            ),
        ])
    );

    // The same with --states=all and the format as its own argument (as a
    // shell passes `-o "%A|%u|%T|%C"`): finished jobs appear, the counts
    // stay the same.
    for format in ["%A|%u|%T|%C", "%A|%a|%T|%C"] {
        let out = slurm(
            &d,
            "squeue",
            &["-a", "-r", "-h", "-o", format, "--states=all"],
        );
        let text = clean(&out);
        check_ids_and_cpus(text, &jobs, &jobs.all());
        let metrics = parse_keyed_metrics(text);
        let pending: u32 = metrics.values().map(|m| m.pending).sum();
        let running_cpus: u32 = metrics.values().map(|m| m.running_cpus).sum();
        assert_eq!((pending, running_cpus), (6, 1), "{format}: {text}");
    }
}

/// nodes.go's `NodesMetrics`, filled as `ParseNodesMetrics` does.
#[derive(Debug, Default, PartialEq)]
struct NodesMetrics {
    alloc: u32,
    comp: u32,
    down: u32,
    drain: u32,
    err: u32,
    fail: u32,
    idle: u32,
    maint: u32,
    mix: u32,
    resv: u32,
}

fn parse_nodes_metrics(input: &str) -> NodesMetrics {
    let mut nm = NodesMetrics::default();
    let mut lines: Vec<&str> = input.split('\n').filter(|l| !l.is_empty()).collect();
    lines.sort_unstable();
    lines.dedup();
    for line in lines.into_iter().filter(|l| l.contains(',')) {
        let split: Vec<&str> = line.split(',').collect();
        let count: u32 = split[0]
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("a numeric %D: {line:?}"));
        let state = split[1];
        let counter = [
            ("alloc", &mut nm.alloc),
            ("comp", &mut nm.comp),
            ("down", &mut nm.down),
            ("drain", &mut nm.drain),
            ("fail", &mut nm.fail),
            ("err", &mut nm.err),
            ("idle", &mut nm.idle),
            ("maint", &mut nm.maint),
            ("mix", &mut nm.mix),
            ("res", &mut nm.resv),
        ]
        .into_iter()
        .find(|(prefix, _)| state.starts_with(prefix));
        if let Some((_, counter)) = counter {
            *counter += count;
        }
    }
    nm
}

#[test]
fn vpenso_cpus_nodes_and_partitions_collectors_see_two_cpus() {
    let (d, _jobs) = daemon_with_jobs();

    // cpus.go: `ParseCPUsMetrics` trims, then splits on '/'.
    let out = slurm(&d, "sinfo", &["-h", "-o %C"]);
    let text = clean(&out);
    assert!(text.contains('/'), "{text:?}");
    assert_eq!(cpu_states(text.trim()), [1, 1, 0, 2]);

    // nodes.go: `%D,%T`, one node, mixed.
    let out = slurm(&d, "sinfo", &["-h", "-o %D,%T"]);
    let text = clean(&out);
    assert_eq!(text.lines().count(), 1, "{text:?}");
    assert_eq!(
        parse_nodes_metrics(text),
        NodesMetrics {
            mix: 1,
            ..NodesMetrics::default()
        }
    );

    // partitions.go: `%R,%C` per partition, then one line per pending job
    // whose partition must equal a name from sinfo exactly.
    let out = slurm(&d, "sinfo", &["-h", "-o%R,%C"]);
    let text = clean(&out);
    let mut partitions: BTreeMap<String, ([u64; 4], u32)> = BTreeMap::new();
    for line in text.split('\n').filter(|l| l.contains(',')) {
        let (name, states) = line.split_once(',').expect("a comma");
        partitions.insert(name.to_string(), (cpu_states(states), 0));
    }
    let out = slurm(
        &d,
        "squeue",
        &["-a", "-r", "-h", "-o%P", "--states=PENDING"],
    );
    for partition in clean(&out).split('\n') {
        if let Some((_, pending)) = partitions.get_mut(partition) {
            *pending += 1;
        }
    }
    assert_eq!(
        partitions,
        BTreeMap::from([("normal".to_string(), ([1, 1, 0, 2], 6))])
    );
}

/// node.go's `ParseNodeMetrics`: sorted unique lines, each split on
/// whitespace into name, AllocMem, Memory, CPUsState and StateLong (it
/// indexes `node[4]`, so a line with fewer fields panics the exporter).
#[track_caller]
fn check_node_metrics(text: &str, node: &str) {
    let mut lines: Vec<&str> = text.split('\n').filter(|l| !l.is_empty()).collect();
    lines.sort_unstable();
    lines.dedup();
    assert_eq!(lines.len(), 1, "one node: {text:?}");
    let fields: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(fields.len(), 5, "five fields: {:?}", lines[0]);
    assert_eq!(fields[0], node);
    let mem_alloc: u64 = fields[1].parse().expect("AllocMem is an integer");
    let mem_total: u64 = fields[2].parse().expect("Memory is an integer");
    assert_eq!((mem_alloc, mem_total), (500, 4096));
    assert_eq!(cpu_states(fields[3]), [1, 1, 0, 2]);
    assert_eq!(fields[4], "mixed");
}

#[test]
fn vpenso_node_collector_reads_five_fields_per_node() {
    let (d, _jobs) = daemon_with_jobs();
    let node = d.client().node().expect("node").name;
    let out = slurm(
        &d,
        "sinfo",
        &[
            "-h",
            "-N",
            "-O",
            "NodeList,AllocMem,Memory,CPUsState,StateLong",
        ],
    );
    let text = clean(&out);
    // Slurm pads each -O field to 20 characters.
    assert_eq!(
        text,
        format!(
            "{node:<20}{:<20}{:<20}{:<20}{:<20}\n",
            "500", "4096", "1/1/0/2", "mixed"
        )
    );
    check_node_metrics(text, &node);
}

#[test]
fn vpenso_node_collector_development_branch_separates_fields_with_suffixes() {
    let (d, _jobs) = daemon_with_jobs();
    let node = d.client().node().expect("node").name;
    // The development branch's node.go: a " " suffix on every field so
    // that long values cannot run into each other.
    let out = slurm(
        &d,
        "sinfo",
        &[
            "-h",
            "-N",
            "-O",
            "NodeList: ,AllocMem: ,Memory: ,CPUsState: ,StateLong:",
        ],
    );
    let text = clean(&out);
    assert_eq!(text, format!("{node} 500 4096 1/1/0/2 mixed\n"));
    check_node_metrics(text, &node);
}

// --- rivosinc/prometheus-slurm-exporter (CLI fallback) ----------------------

/// server.go's fallback `squeue` command.
const RIVOS_SQUEUE: [&str; 5] = [
    "--states=all",
    "-h",
    "-r",
    "-o",
    r#"{"a": "%a", "id": %A, "end_time": "%e", "u": "%u", "state": "%T", "p": "%P", "cpu": %C, "mem": "%m", "array_id": "%K", "r": "%R"}"#,
];

/// server.go's fallback `sinfo` command.
const RIVOS_SINFO: [&str; 3] = [
    "-h",
    "-o",
    r#"{"s": "%T", "mem": %m, "n": "%n", "l": "%O", "p": "%R", "fmem": "%e", "cstate": "%C", "w": %w}"#,
];

/// The anonymous struct `JobCliFallbackFetcher.fetch` decodes each line
/// into (Go's json ignores `array_id`, which it does not declare).
#[derive(Debug, Deserialize)]
struct RivosJob {
    a: String,
    id: f64,
    end_time: String,
    u: String,
    state: String,
    p: String,
    cpu: i64,
    mem: String,
    /// Not in the Go struct; decoded here to check `%K`.
    array_id: String,
    r: String,
}

/// The anonymous struct `NodeCliFallbackFetcher.fetch` decodes each line
/// into; `l` and `fmem` are `NAbleFloat`s.
#[derive(Debug, Deserialize)]
struct RivosNode {
    n: String,
    mem: f64,
    fmem: String,
    cstate: String,
    p: String,
    l: String,
    s: String,
    w: f64,
}

/// `NAbleTime.UnmarshalJSON`: `N/A`, `NONE` or `2006-01-02T15:04:05`.
fn nable_time(text: &str) -> Option<chrono::NaiveDateTime> {
    if text == "N/A" || text == "NONE" {
        return None;
    }
    Some(
        chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
            .unwrap_or_else(|e| panic!("end_time {text:?}: {e}")),
    )
}

/// `NAbleFloat.UnmarshalJSON`: `N/A` is 0, else the string holds a JSON
/// number.
fn nable_float(text: &str) -> f64 {
    if text == "N/A" {
        return 0.0;
    }
    serde_json::from_str(text).unwrap_or_else(|e| panic!("a number in {text:?}: {e}"))
}

/// utils.go's `MemToFloat`: a float, or `^([0-9]*[.])?[0-9]+(G|M|T)$`.
fn mem_to_float(mem: &str) -> f64 {
    if let Ok(number) = mem.parse::<f64>() {
        return number;
    }
    let unit = match mem.chars().last() {
        Some('M') => 1e6,
        Some('G') => 1e9,
        Some('T') => 1e12,
        _ => panic!("mem {mem:?} is neither a float nor NUMBER[MGT]"),
    };
    let number = &mem[..mem.len() - 1];
    let (whole, fraction) = number.split_once('.').unwrap_or(("", number));
    assert!(
        whole.chars().all(|c| c.is_ascii_digit())
            && !fraction.is_empty()
            && fraction.chars().all(|c| c.is_ascii_digit()),
        "mem {mem:?} does not match MemToFloat's pattern"
    );
    number.parse::<f64>().expect("digits") * unit
}

#[test]
fn rivosinc_squeue_lines_decode_as_its_fallback_struct() {
    let (d, jobs) = daemon_with_jobs();
    let user = conductor::users::user_name(conductor::users::current_uid());
    let node = d.client().node().expect("node").name;
    let out = slurm(&d, "squeue", &RIVOS_SQUEUE);
    let text = clean(&out);

    // fetch(): TrimSpace, Trim "\n", split on "\n", Unmarshal each line.
    let mut seen = BTreeSet::new();
    for line in text.trim().trim_matches('\n').split('\n') {
        let job: RivosJob = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("json.Unmarshal of {line:?}: {e}"));
        assert_eq!(job.id.fract(), 0.0, "{line}");
        let id = job.id as u64;
        assert!(seen.insert(id), "each job once: {text}");
        assert_eq!(job.state, jobs.expected_state(id), "{line}");
        assert_eq!(job.cpu, i64::from(jobs.expected_cpus(id)), "{line}");
        assert_eq!(job.u, user, "{line}");
        assert_eq!(job.p, "normal", "{line}");
        let account = if JobId(id) == jobs.running {
            "physics"
        } else {
            user.as_str()
        };
        assert_eq!(job.a, account, "{line}");
        let mem = mem_to_float(&job.mem);
        if JobId(id) == jobs.running {
            assert_eq!(mem, 500e6, "{line}");
        }
        let index = jobs.array.iter().position(|task| task.0 == id);
        let array_id = index.map_or_else(|| "N/A".to_string(), |i| i.to_string());
        assert_eq!(job.array_id, array_id, "{line}");

        let end = nable_time(&job.end_time);
        match job.state.as_str() {
            "PENDING" => {
                assert_eq!(end, None, "{line}");
                // A pending job's reason must be "(Reason)", or the exporter
                // counts an error.
                let reason = job
                    .r
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .filter(|r| !r.is_empty())
                    .unwrap_or_else(|| panic!("a (reason): {line}"));
                let expected = match JobId(id) {
                    id if id == jobs.pending => "Resources",
                    id if id == jobs.held => "JobHeldUser",
                    id if id == jobs.dependent => "Dependency",
                    _ => "Priority",
                };
                assert_eq!(reason, expected, "{line}");
            }
            "RUNNING" => assert_eq!(job.r, node, "{line}"),
            "FAILED" => {
                assert!(end.is_some(), "{line}");
                assert_eq!(job.r, "(NonZeroExitCode)", "{line}");
            }
            _ => {
                assert!(end.is_some(), "{line}");
                assert_eq!(job.r, node, "{line}");
            }
        }
    }
    assert_eq!(seen, jobs.all());
}

#[test]
fn rivosinc_sinfo_lines_decode_as_its_fallback_struct() {
    let (d, _jobs) = daemon_with_jobs();
    let node = d.client().node().expect("node").name;
    let out = slurm(&d, "sinfo", &RIVOS_SINFO);
    let text = clean(&out);

    // fetch(): Trim "\n", split on "\n", Unmarshal each line.
    let lines: Vec<&str> = text.trim_matches('\n').split('\n').collect();
    assert_eq!(lines.len(), 1, "one partition, one state: {text:?}");
    let metric: RivosNode = serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("json.Unmarshal of {:?}: {e}", lines[0]));
    assert_eq!(metric.n, node);
    assert_eq!(metric.mem, 4096.0);
    let free = nable_float(&metric.fmem);
    assert!((0.0..=metric.mem).contains(&free), "{metric:?}");
    let load = nable_float(&metric.l);
    assert!(load >= 0.0, "{metric:?}");
    assert_eq!(cpu_states(&metric.cstate), [1, 1, 0, 2]);
    assert_eq!(metric.p, "normal");
    assert_eq!(metric.s, "mixed");
    assert_eq!(metric.w, 1.0);
}

/// vpenso's `ParseSchedulerMetrics`: for each line with a `:`, the text
/// before the first one names the metric and the text after it (trimmed)
/// is the number; the first `Last cycle`/`Mean cycle` is the main
/// scheduler's.
fn parse_scheduler_metrics(input: &str) -> BTreeMap<&'static str, f64> {
    let mut metrics = BTreeMap::new();
    let (mut last_seen, mut mean_seen) = (false, false);
    for line in input.lines().filter(|l| l.contains(':')) {
        let (key, value) = line.split_once(':').expect("a colon");
        let number = || value.trim().parse::<f64>().unwrap_or(0.0);
        let indented = key.starts_with(char::is_whitespace);
        let name = key.trim();
        let metric = match name {
            _ if key.starts_with("Server thread") => "threads",
            _ if key.starts_with("Agent queue") => "queue_size",
            _ if key.starts_with("DBD Agent") => "dbd_queue_size",
            "Last cycle" if indented && !last_seen => {
                last_seen = true;
                "last_cycle"
            }
            "Last cycle" if indented => "backfill_last_cycle",
            "Mean cycle" if indented && !mean_seen => {
                mean_seen = true;
                "mean_cycle"
            }
            "Mean cycle" if indented => "backfill_mean_cycle",
            _ if indented && name.starts_with("Cycles per") => "cycle_per_minute",
            _ if indented && name.starts_with("Total backfilled jobs (since last slurm start)") => {
                "backfilled_since_start"
            }
            _ => continue,
        };
        metrics.insert(metric, number());
    }
    metrics
}

/// An RPC table row as netdata's slurm plugin matches it (after
/// stripping leading whitespace): `NAME (ID) count:N ave_time:N total_time:N`.
fn parse_rpc_row(line: &str) -> Option<(String, u64, u64, u64, u64)> {
    let line = line.trim_start();
    let (name, rest) = line.split_once('(')?;
    let (id, rest) = rest.split_once(')')?;
    let rest = rest.strip_prefix(" count:")?;
    let (count, rest) = rest.split_once(" ave_time:")?;
    let (average, total) = rest.split_once(" total_time:")?;
    Some((
        name.trim_end().to_string(),
        id.trim().parse().ok()?,
        count.trim().parse().ok()?,
        average.trim().parse().ok()?,
        total.parse().ok()?,
    ))
}

#[test]
fn sdiag_reads_as_the_exporters_parse_it_and_counts_what_happened() {
    let (d, jobs) = daemon_with_jobs();
    let out = slurm(&d, "sdiag", &[]);
    let text = clean(&out);
    let metrics = parse_scheduler_metrics(text);
    assert_eq!(metrics.get("threads"), Some(&1.0), "{text}");
    assert_eq!(metrics.get("queue_size"), Some(&0.0));
    assert_eq!(metrics.get("dbd_queue_size"), Some(&0.0));
    assert!(metrics.contains_key("last_cycle"), "{text}");
    assert!(metrics.get("mean_cycle").is_some_and(|m| *m >= 0.0));
    assert_eq!(metrics.get("backfill_last_cycle"), Some(&0.0));
    assert_eq!(metrics.get("backfilled_since_start"), Some(&0.0));
    // The job counts are the daemon's own since it started.
    let count = |label: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("{label} in {text}"));
        line[label.len()..].trim().parse().expect("a number")
    };
    let submitted = count("Jobs submitted:");
    assert!(submitted >= 10, "{text}");
    assert!(count("Jobs started:") >= 4);
    assert_eq!(count("Jobs completed:"), 1);
    assert_eq!(count("Jobs failed:"), 1);
    assert_eq!(count("Jobs canceled:"), 1);
    assert_eq!(count("Jobs running:"), 1);
    assert_eq!(count("Jobs pending:"), 6);
    // Every RPC row parses; submissions and listings are among them, and
    // the user table counts at least as many requests as were made.
    let section = |title: &str| -> Vec<(String, u64, u64, u64, u64)> {
        text.split(title)
            .nth(1)
            .unwrap_or_default()
            .lines()
            .skip(1)
            .take_while(|l| l.starts_with('\t'))
            .map(|l| parse_rpc_row(l).unwrap_or_else(|| panic!("an RPC row: {l:?}")))
            .collect()
    };
    let by_type = section("Remote Procedure Call statistics by message type");
    let submits = by_type
        .iter()
        .find(|row| row.0 == "REQUEST_SUBMIT_BATCH_JOB")
        .expect("submissions counted");
    assert_eq!((submits.1, submits.2), (4003, submitted - 2));
    assert!(by_type.iter().any(|row| row.0 == "REQUEST_JOB_INFO"));
    let by_user = section("Remote Procedure Call statistics by user");
    let me = conductor::users::user_name(conductor::users::current_uid());
    let mine = by_user.iter().find(|row| row.0 == me).expect("my requests");
    assert!(mine.2 >= submits.2);
    let _ = jobs;
    // --json carries the same counts; --reset starts again.
    let json: serde_json::Value =
        serde_json::from_str(clean(&slurm(&d, "sdiag", &["--json"]))).expect("json");
    assert_eq!(json["statistics"]["jobs_submitted"], submitted);
    assert_eq!(
        clean(&slurm(&d, "sdiag", &["-r"])),
        "Reset scheduling statistics\n"
    );
    let again = slurm(&d, "sdiag", &[]);
    assert!(clean(&again).contains("Jobs submitted: 0\n"));
}
