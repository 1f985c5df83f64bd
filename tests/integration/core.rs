//! The core slice: submit, queue, run, cancel, time out, restart, over the
//! Unix socket and TCP, through the real binaries.

use std::path::PathBuf;
use std::time::Duration;

use conductor::protocol::{ExitCode, JobId, JobState, Reason};

use crate::support::{TestDaemon, alive, free_port, processes_matching, wait_until, write_script};

const SHORT: Duration = Duration::from_secs(10);

#[test]
fn a_script_with_directives_runs_to_completed_and_its_output_lands_in_the_file() {
    let d = TestDaemon::start(&["--cpus", "4", "--mem", "4G"]);
    write_script(
        &d.work,
        "hello.sh",
        "#!/bin/bash\n\
         #SBATCH --job-name=greeter\n\
         #SBATCH -c 2\n\
         #SBATCH --mem 100M\n\
         #SBATCH -t 5:00 # five minutes\n\
         echo \"hello from $SLURM_JOB_ID as $SLURM_JOB_NAME\"\n\
         echo \"cpus=$SLURM_CPUS_ON_NODE per-task=$SLURM_CPUS_PER_TASK mem=$SLURM_MEM_PER_NODE\"\n\
         echo \"conductor=$CONDUCTOR_JOB_ID submit=$SLURM_SUBMIT_DIR\"\n\
         echo to-stderr >&2\n",
    );
    let out = d.run("cbatch", &["hello.sh"]);
    let line = out.ok();
    assert!(line.starts_with("Submitted batch job "), "{line}");
    let id: conductor::protocol::JobId = line
        .trim()
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("an id");

    let job = d.wait_for(id, JobState::Completed, SHORT);
    assert_eq!(job.name, "greeter");
    assert_eq!(job.cpus, 2);
    assert_eq!(job.memory_mb, 100);
    assert_eq!(job.time_limit, Some(300));
    assert_eq!(job.exit_code, Some(ExitCode { code: 0, signal: 0 }));
    assert_eq!(job.stdout, d.work.join(format!("slurm-{id}.out")));

    let output = std::fs::read_to_string(&job.stdout).expect("output file");
    assert_eq!(
        output,
        format!(
            "hello from {id} as greeter\n\
             cpus=2 per-task=2 mem=100\n\
             conductor={id} submit={}\n\
             to-stderr\n",
            d.work.display()
        )
    );
}

#[test]
fn first_fit_starts_a_small_job_past_a_blocked_one() {
    let d = TestDaemon::start(&["--cpus", "3", "--kill-wait", "1"]);
    let big = d.submit(&["-c", "2", "--wrap", "sleep 30"]);
    d.wait_for(big, JobState::Running, SHORT);
    let blocked = d.submit(&["-c", "2", "--wrap", "sleep 30"]);
    let small = d.submit(&["-c", "1", "--wrap", "sleep 30"]);
    d.wait_for(small, JobState::Running, SHORT);

    let waiting = d.job(blocked);
    assert_eq!(waiting.state, JobState::Pending);
    assert_eq!(waiting.reason, Reason::Resources);

    let table = d.run("cqueue", &["-h", "-o", "%i %t %R"]);
    let lines: Vec<&str> = table.ok().lines().collect();
    assert!(
        lines.contains(&format!("{blocked} PD (Resources)").as_str()),
        "{lines:?}"
    );
    assert!(lines.contains(&format!("{small} R {}", conductor::paths::hostname()).as_str()));

    let node = d.client().node().expect("node");
    assert_eq!((node.cpus_total, node.cpus_free), (3, 0));
}

#[test]
fn cancelling_a_running_job_kills_its_children_and_frees_its_cpus() {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "5"]);
    let pid_file = d.work.join("child.pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pid_file.display());
    let id = d.submit(&["-c", "2", "--wrap", &script]);
    d.wait_for(id, JobState::Running, SHORT);
    wait_until(SHORT, "the child writes its pid", || {
        std::fs::read_to_string(&pid_file).is_ok_and(|t| t.ends_with('\n'))
    });
    let child: u32 = std::fs::read_to_string(&pid_file)
        .expect("pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(alive(child));
    assert_eq!(d.client().node().expect("node").cpus_free, 0);

    let out = d.run("ccancel", &[&id.to_string()]);
    assert_eq!(out.ok(), "");
    let job = d.wait_for(id, JobState::Cancelled, Duration::from_secs(2));
    assert!(!alive(child), "the job's child is killed with it");
    assert_eq!(job.exit_code.map(|e| e.signal), Some(15));
    assert_eq!(d.client().node().expect("node").cpus_free, 2);

    // Cancelling again is harmless.
    d.run("ccancel", &[&id.to_string()]).ok();
}

#[test]
fn cancelling_a_pending_job_ends_it_at_once() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let blocker = d.submit(&["--wrap", "sleep 30"]);
    let pending = d.submit(&["--wrap", "echo never > never.txt"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    d.run("ccancel", &[&pending.to_string()]).ok();
    let job = d.job(pending);
    assert_eq!(job.state, JobState::Cancelled);
    assert_eq!(job.start_time, None);
    d.run("ccancel", &[&blocker.to_string()]).ok();
    d.wait_for(blocker, JobState::Cancelled, SHORT);
    assert!(!d.work.join("never.txt").exists());
}

#[test]
fn a_time_limit_ends_the_job_as_timeout() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "2"]);
    let id = d.submit(&["-t", "0:02", "--wrap", "sleep 60"]);
    let job = d.wait_ended(id, Duration::from_secs(8));
    assert_eq!(job.state, JobState::Timeout);
    assert_eq!(job.reason, Reason::TimeLimit);
    let ran = job.end_time.expect("end") - job.start_time.expect("start");
    assert!(ran >= chrono::Duration::seconds(2), "{ran}");
    assert!(ran < chrono::Duration::seconds(6), "{ran}");
}

#[test]
fn a_non_zero_exit_fails_with_its_code() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let id = d.submit(&["--wrap", "exit 3"]);
    let job = d.wait_ended(id, SHORT);
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.reason, Reason::NonZeroExitCode);
    assert_eq!(job.exit_code, Some(ExitCode { code: 3, signal: 0 }));
    let row = d.run("cqueue", &["-h", "-t", "all", "-o", "%i %T %R"]);
    assert_eq!(row.ok().trim(), format!("{id} FAILED (NonZeroExitCode)"));

    let json = d.run("cqueue", &["--json=conductor", "-t", "F"]);
    let jobs: serde_json::Value = serde_json::from_str(json.ok()).expect("json");
    assert_eq!(jobs[0]["exit_code"], "3:0");
    assert_eq!(jobs[0]["state"], "FAILED");
}

#[test]
fn cbatch_wait_returns_the_job_s_exit_code() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let out = d.run("cbatch", &["--wait", "--wrap", "exit 7"]);
    assert_eq!(out.code, 7);
    assert!(out.stdout.starts_with("Submitted batch job "), "{out:?}");
    let out = d.run("cbatch", &["-W", "--wrap", "true"]);
    assert_eq!(out.code, 0);
    let out = d.run("cbatch", &["-W", "--wrap", "kill -9 $$"]);
    assert_eq!(out.code, 1);
}

#[test]
fn a_job_killed_by_a_signal_fails_with_that_signal() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let id = d.submit(&["--wrap", "kill -9 $$"]);
    let job = d.wait_ended(id, SHORT);
    assert_eq!(job.state, JobState::Failed);
    assert_eq!(job.exit_code, Some(ExitCode { code: 0, signal: 9 }));
    // As live Slurm 22.05 records a script killed by SIGKILL.
    assert_eq!(job.reason, Reason::JobLaunchFailure);
    let lines = d.run(
        "cacct",
        &[
            "-j",
            &id.to_string(),
            "-P",
            "-n",
            "-o",
            "JobID,State,ExitCode",
        ],
    );
    assert_eq!(
        lines.ok(),
        format!("{id}|FAILED|0:9\n{id}.batch|CANCELLED|0:9\n")
    );
    let segfault = d.submit(&["--wrap", "kill -11 $$"]);
    let job = d.wait_ended(segfault, SHORT);
    assert_eq!(job.reason, Reason::RaisedSignal(11));
}

#[test]
fn an_impossible_request_is_refused_at_submit() {
    let d = TestDaemon::start(&["--cpus", "3", "--mem", "1G", "--gpus", "1"]);
    let out = d.run("cbatch", &["--gpus", "2", "--wrap", "true"]);
    assert_eq!(
        out.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: Requested node configuration is not available"
    );
    // Memory that cannot be had is named first, as Slurm does.
    let out = d.run("cbatch", &["--mem", "2G", "--wrap", "true"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "cbatch: error: Memory specification can not be satisfied\n\
         cbatch: error: Batch job submission failed: Requested node configuration is not available\n"
    );
    let all = d.run("cqueue", &["-h", "-t", "all"]);
    assert_eq!(all.ok(), "", "nothing was submitted");
}

#[test]
fn more_cpus_than_the_node_has_pend_for_ever_without_holding_up_others() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    // Slurm's default: accepted, pending with PartitionConfig.
    let huge = d.submit(&["-c", "64", "--wrap", "true"]);
    let wide = d.submit(&["-n", "2", "-c", "2", "--wrap", "true"]);
    let small = d.submit(&["--wrap", "true"]);
    d.wait_for(small, JobState::Completed, SHORT);
    let shown = d.run(
        "cqueue",
        &["-h", "-j", &format!("{huge},{wide}"), "-o", "%i|%T|%r"],
    );
    assert_eq!(
        shown.ok(),
        format!("{huge}|PENDING|PartitionConfig\n{wide}|PENDING|PartitionConfig\n")
    );
    // Held and released, it is still what it was; and it can be cancelled.
    d.run("ccontrol", &["hold", &huge.to_string()]).ok();
    d.run("ccontrol", &["release", &huge.to_string()]).ok();
    assert_eq!(d.job(huge).reason, Reason::PartitionConfig);
    d.run("ccancel", &[&huge.to_string(), &wide.to_string()])
        .ok();
    d.wait_for(huge, JobState::Cancelled, SHORT);
    d.wait_for(wide, JobState::Cancelled, SHORT);

    // EnforcePartLimits: refused at submit, in Slurm's words.
    let strict = TestDaemon::start(&["--cpus", "2", "--enforce-part-limits"]);
    let out = strict.run("cbatch", &["-c", "64", "--wrap", "true"]);
    assert_eq!(
        out.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: Requested partition configuration not available now"
    );
}

#[test]
fn bad_input_gets_one_clear_line_and_submits_nothing() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    write_script(&d.work, "ok.sh", "#!/bin/sh\ntrue\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--bogus", "ok.sh"],
            "cbatch: unrecognized option '--bogus'",
        ),
        (
            vec!["-t", "soon", "ok.sh"],
            "cbatch: error: Invalid --time specification",
        ),
        (
            vec!["--mem", "lots", "ok.sh"],
            "cbatch: error: Invalid --mem specification",
        ),
        (
            vec!["-c", "0", "ok.sh"],
            "cbatch: error: Invalid --cpus-per-task value: 0 (it must be at least 1)",
        ),
        (
            vec!["-c", "x", "ok.sh"],
            "cbatch: error: Invalid numeric value \"x\" for --cpus-per-task.",
        ),
        (
            vec!["missing.sh"],
            "cbatch: error: Unable to open file missing.sh: No such file or directory",
        ),
    ];
    for (args, expected) in cases {
        let out = d.run("cbatch", &args);
        if expected.contains("unrecognized") {
            assert_ne!(out.code, 0);
            assert_eq!(out.stderr.lines().next(), Some(expected), "{args:?}");
        } else {
            assert_eq!(out.fails_with_one_line(), expected, "{args:?}");
        }
    }
    // A partition there is not: named first, as Slurm does.
    let partition = d.run("cbatch", &["-p", "gpu", "ok.sh"]);
    assert_eq!(partition.code, 1);
    assert_eq!(
        partition.stderr,
        "cbatch: error: invalid partition specified: gpu\n\
         cbatch: error: Batch job submission failed: Invalid partition name specified\n"
    );
    let empty = d.run_with("cbatch", &[], Some(""), &d.work);
    assert_eq!(
        empty.fails_with_one_line(),
        "cbatch: error: Batch script is empty!"
    );
    let all = d.run("cqueue", &["-h", "-t", "all"]);
    assert_eq!(all.ok(), "", "nothing was submitted");
}

#[test]
fn ccancel_passes_over_unknown_ids_and_reports_malformed_ones_after_cancelling_the_valid_ones() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let running = d.submit(&["--wrap", "sleep 30"]);
    let pending = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(running, JobState::Running, SHORT);
    let out = d.run(
        "ccancel",
        &[&running.to_string(), "999", &pending.to_string(), "x1"],
    );
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "ccancel: error: Invalid job id x1\n");
    d.wait_for(running, JobState::Cancelled, SHORT);
    d.wait_for(pending, JobState::Cancelled, SHORT);
    let none = d.run("ccancel", &[]);
    assert_eq!(
        none.fails_with_one_line(),
        "ccancel: error: No job identification provided"
    );
}

#[test]
fn output_patterns_and_a_separate_stderr_file() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    // The directory must exist, as in Slurm.
    std::fs::create_dir_all(d.work.join("logs")).expect("logs");
    let id = d.submit(&[
        "-J",
        "pat",
        "-o",
        "logs/%x-%j.out",
        "-e",
        "logs/%u-%%.err",
        "--wrap",
        "echo out; echo err >&2",
    ]);
    let job = d.wait_for(id, JobState::Completed, SHORT);
    let user = conductor::users::user_name(conductor::users::current_uid());
    assert_eq!(job.stdout, d.work.join(format!("logs/pat-{id}.out")));
    assert_eq!(job.stderr, d.work.join(format!("logs/{user}-%.err")));
    assert_eq!(
        std::fs::read_to_string(&job.stdout).expect("stdout"),
        "out\n"
    );
    assert_eq!(
        std::fs::read_to_string(&job.stderr).expect("stderr"),
        "err\n"
    );
}

#[test]
fn scripts_come_from_stdin_and_take_arguments_and_a_working_directory() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let out = d.run_with(
        "cbatch",
        &["--parsable"],
        Some("#!/bin/sh\necho from stdin $SLURM_JOB_NAME\n"),
        &d.work,
    );
    let id = out.ok().trim().parse().expect("id");
    let job = d.wait_for(id, JobState::Completed, SHORT);
    assert_eq!(
        std::fs::read_to_string(&job.stdout).expect("out"),
        "from stdin sbatch\n"
    );

    std::fs::create_dir(d.work.join("sub")).expect("dir");
    write_script(&d.work, "args.sh", "#!/bin/sh\necho \"$1-$2\" $(pwd)\n");
    let id = d.submit(&["-D", "sub", "args.sh", "a", "--b"]);
    let job = d.wait_for(id, JobState::Completed, SHORT);
    assert_eq!(job.work_dir, d.work.join("sub"));
    assert_eq!(job.name, "args.sh");
    let text = std::fs::read_to_string(d.work.join(format!("sub/slurm-{id}.out"))).expect("out");
    assert_eq!(text, format!("a---b {}\n", d.work.join("sub").display()));
}

#[test]
fn the_default_table_is_squeue_s_layout() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["-J", "averylongname", "--wrap", "sleep 30"]);
    d.wait_for(id, JobState::Running, SHORT);
    let table = d.run("cqueue", &[]);
    let lines: Vec<&str> = table.ok().lines().collect();
    assert_eq!(
        lines[0],
        "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)"
    );
    let user = conductor::users::user_name(conductor::users::current_uid());
    let row = lines[1];
    assert_eq!(
        row.len(),
        lines[0].len() - "NODELIST(REASON)".len() + conductor::paths::hostname().len()
    );
    assert!(
        row.starts_with(&format!(
            "{id:>18}    normal averylon {:>8}  R ",
            &user[..user.len().min(8)]
        )),
        "{row}"
    );
    d.run("ccancel", &[&id.to_string()]).ok();
}

#[test]
fn the_same_commands_work_over_tcp() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut d = TestDaemon::start(&["--cpus", "2", "--listen", &listen, "--kill-wait", "1"]);
    d.server = format!("http://{listen}");
    let id = d.submit(&["-J", "overtcp", "--wrap", "echo tcp"]);
    let job = d.wait_for(id, JobState::Completed, SHORT);
    assert_eq!(job.name, "overtcp");
    assert_eq!(
        std::fs::read_to_string(&job.stdout).expect("output"),
        "tcp\n"
    );
    let long = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(long, JobState::Running, SHORT);
    let table = d.run("cqueue", &["-h", "-o", "%i %j %t"]);
    assert_eq!(table.ok(), format!("{long} wrap R\n"));
    d.run("ccancel", &[&long.to_string()]).ok();
    d.wait_for(long, JobState::Cancelled, SHORT);
}

#[test]
fn tcp_needs_the_bearer_token_and_a_wide_listener_is_logged_loudly() {
    let port = free_port();
    let listen = format!("0.0.0.0:{port}");
    // Beyond loopback, plain HTTP must be asked for by name.
    let mut d = TestDaemon::start(&["--cpus", "1", "--listen", &listen, "--insecure-listen"]);
    assert!(
        d.log().contains("WARNING: serving plain HTTP on 0.0.0.0:"),
        "{}",
        d.log()
    );
    let token_file = d.state_dir.join("token");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&token_file)
            .expect("token file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    d.server = format!("http://127.0.0.1:{port}");

    let anonymous = conductor::Client::new(Some(&d.server)).expect("client");
    let refused = anonymous.node().expect_err("no token, no answer");
    assert!(
        matches!(refused, conductor::Error::Api { status: 401, .. }),
        "{refused:?}"
    );
    let wrong = conductor::Client::new(Some(&d.server))
        .expect("client")
        .with_token("not-it");
    assert!(wrong.node().is_err());
    assert_eq!(d.client().node().expect("with the token").cpus_total, 1);
    let id = d.submit(&["--wrap", "true"]);
    d.wait_for(id, JobState::Completed, SHORT);
    // The token stays the same across restarts.
    let before = d.token();
    d.restart();
    assert_eq!(d.token(), before);
}

#[test]
fn jobs_survive_a_restart_running_ones_keep_running() {
    let mut d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let running = d.submit(&["--wrap", "sleep 1; echo still here"]);
    d.wait_for(running, JobState::Running, SHORT);
    let pending = d.submit(&["-J", "afterwards", "--wrap", "echo survived"]);
    assert_eq!(d.job(pending).state, JobState::Pending);

    d.restart();

    assert_eq!(d.job(running).state, JobState::Running, "followed again");
    assert_eq!(
        d.client().node().expect("node").cpus_free,
        0,
        "its CPU is booked again"
    );
    let done = d.wait_for(running, JobState::Completed, SHORT);
    assert_eq!(
        std::fs::read_to_string(&done.stdout).expect("output"),
        "still here\n"
    );
    let job = d.wait_for(pending, JobState::Completed, SHORT);
    assert_eq!(
        std::fs::read_to_string(&job.stdout).expect("output"),
        "survived\n"
    );
    assert_eq!(d.client().node().expect("node").cpus_free, 1);

    let next = d.submit(&["--wrap", "true"]);
    assert!(next > pending, "ids are never reused");
}

#[test]
fn after_a_crash_running_jobs_go_on_and_can_be_cancelled() {
    let mut d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1"]);
    let quick = d.submit(&["--wrap", "sleep 1; echo done"]);
    let long = d.submit(&["--wrap", "sleep 300"]);
    d.wait_for(quick, JobState::Running, SHORT);
    d.wait_for(long, JobState::Running, SHORT);
    let pending = d.submit(&["--wrap", "echo after crash"]);
    d.crash();
    // The quick job ends while no daemon runs.
    std::thread::sleep(Duration::from_millis(1500));
    d.start_again();
    let ended = d.wait_for(quick, JobState::Completed, SHORT);
    assert_eq!(
        std::fs::read_to_string(&ended.stdout).expect("output"),
        "done\n"
    );
    d.wait_for(pending, JobState::Completed, SHORT);
    assert_eq!(d.job(long).state, JobState::Running);
    d.run("ccancel", &[&long.to_string()]).ok();
    d.wait_for(long, JobState::Cancelled, SHORT);
    assert_eq!(d.client().node().expect("node").cpus_free, 2);
}

/// Crashes the daemon, then kills running job `id` and its supervisor, so
/// that no supervisor is left to follow and none wrote an outcome; returns
/// the job's directory, where a supervisor leaves its `outcome.json`.
fn lose_supervisor(d: &mut TestDaemon, id: JobId) -> PathBuf {
    let started = d.job(id).start_time.expect("started").timestamp_millis();
    let dir = d.state_dir.join(format!("jobs/{id}-{started}"));
    let identity = || -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(dir.join("supervisor.json")).ok()?).ok()
    };
    wait_until(SHORT, "the supervisor records the job's pid", || {
        identity().is_some_and(|i| i["job_pid"].is_u64())
    });
    d.crash();
    let identity = identity().expect("supervisor file");
    let supervisor = identity["pid"].as_u64().expect("pid") as u32;
    let job_pid = identity["job_pid"].as_u64().expect("job pid") as u32;
    crate::support::signal(supervisor, "KILL");
    crate::support::signal(job_pid, "KILL");
    wait_until(SHORT, "the supervisor is gone", || !alive(supervisor));
    dir
}

#[test]
fn a_job_whose_supervisor_vanished_ends_as_node_fail() {
    let mut d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["--wrap", "sleep 300"]);
    d.wait_for(id, JobState::Running, SHORT);
    let on_failure = d.submit(&["-d", &format!("afternotok:{id}"), "--wrap", "true"]);
    let on_success = d.submit(&["-d", &format!("afterok:{id}"), "--wrap", "true"]);
    lose_supervisor(&mut d, id);
    d.start_again();
    let lost = d.job(id);
    assert_eq!(
        (lost.state, lost.reason),
        (JobState::NodeFail, Reason::NodeFail)
    );
    let node = lost.node.expect("it ran somewhere");
    // Every binary calls it NODE_FAIL; squeue shows where it ran, not why.
    let queue = d.run("cqueue", &["-h", "-t", "NF", "-o", "%i|%t|%T|%R|%r"]);
    assert_eq!(queue.ok(), format!("{id}|NF|NODE_FAIL|{node}|NodeFail\n"));
    let history = d.run(
        "cacct",
        &[
            "-j",
            &id.to_string(),
            "-s",
            "node_fail",
            "-P",
            "-n",
            "-o",
            "JobID,State,ExitCode",
        ],
    );
    assert_eq!(
        history.ok(),
        format!("{id}|NODE_FAIL|0:0\n{id}.batch|NODE_FAIL|0:0\n")
    );
    let show = d.run("ccontrol", &["show", "job", &id.to_string()]);
    assert!(
        show.ok()
            .contains("   JobState=NODE_FAIL Reason=NodeFail Dependency=(null)\n"),
        "{}",
        show.stdout
    );
    // A lost job failed: what waits for its failure runs, what waits for
    // its success never will.
    d.wait_for(on_failure, JobState::Completed, SHORT);
    wait_until(SHORT, "afterok on a lost job is never satisfied", || {
        d.job(on_success).reason == Reason::DependencyNeverSatisfied
    });
    assert_eq!(d.job(on_success).state, JobState::Pending);
    d.run("ccancel", &[&on_success.to_string()]).ok();
    assert_eq!(d.client().node().expect("node").cpus_free, 1);
}

#[test]
fn an_out_of_memory_outcome_and_its_usage_reach_every_binary() {
    let mut d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["--wrap", "sleep 300"]);
    d.wait_for(id, JobState::Running, SHORT);
    let on_failure = d.submit(&["-d", &format!("afternotok:{id}"), "--wrap", "true"]);
    let dir = lose_supervisor(&mut d, id);
    // What a contained job's supervisor leaves when the OOM killer struck;
    // the daemon finishes the job from it when it starts again.
    let outcome = r#"{"Ran":{"exit_code":"0:9","ending":"OutOfMemory","usage":{
        "max_rss_kb":2048,"total_cpu_usec":62500000,
        "user_cpu_usec":61000000,"system_cpu_usec":1500000}}}"#;
    std::fs::write(dir.join("outcome.json"), outcome).expect("an outcome");
    d.start_again();
    let job = d.job(id);
    assert_eq!(
        (job.state, job.reason, job.exit_code),
        (
            JobState::OutOfMemory,
            Reason::OutOfMemory,
            Some(ExitCode {
                code: 0,
                signal: 125
            })
        )
    );
    assert_eq!(
        (
            job.max_rss_kb,
            job.total_cpu_usec,
            job.user_cpu_usec,
            job.system_cpu_usec
        ),
        (
            Some(2048),
            Some(62_500_000),
            Some(61_000_000),
            Some(1_500_000)
        )
    );
    let queue = d.run("cqueue", &["-h", "-t", "oom", "-o", "%i|%t|%T|%R"]);
    assert_eq!(
        queue.ok(),
        format!("{id}|OOM|OUT_OF_MEMORY|(OutOfMemory)\n")
    );
    // 61 s of user time exactly: sacct writes 00:01:01, not 01:01.000.
    let fields = "JobID,State,ExitCode,MaxRSS,TotalCPU,UserCPU,SystemCPU";
    let history = d.run("cacct", &["-j", &id.to_string(), "-P", "-n", "-o", fields]);
    assert_eq!(
        history.ok(),
        format!(
            "{id}|OUT_OF_MEMORY|0:125|2M|01:02.500|00:01:01|00:01.500\n\
             {id}.batch|OUT_OF_MEMORY|0:125|2M|01:02.500|00:01:01|00:01.500\n"
        )
    );
    let selected = d.run("cacct", &["-s", "OOM", "-X", "-P", "-n", "-o", "JobID"]);
    assert_eq!(selected.ok(), format!("{id}\n"));
    let json = d.run("cacct", &["-j", &id.to_string(), "--json=conductor"]);
    let value: serde_json::Value = serde_json::from_str(json.ok()).expect("json");
    assert_eq!(value["jobs"][0]["state"], "OUT_OF_MEMORY");
    assert_eq!(value["jobs"][0]["total_cpu_usec"], 62_500_000);
    let show = d.run("ccontrol", &["show", "job", &id.to_string()]);
    let text = show.ok();
    assert!(
        text.contains("   JobState=OUT_OF_MEMORY Reason=OutOfMemory Dependency=(null)\n"),
        "{text}"
    );
    assert!(text.contains(" ExitCode=0:125\n"), "{text}");
    d.wait_for(on_failure, JobState::Completed, SHORT);
}

#[test]
fn the_api_answers_malformed_requests_with_json_errors() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let post = |body: &str| {
        d.raw_http(&format!(
            "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    };
    let (status, body) = post("{not json");
    assert_eq!(status, 400);
    let error: serde_json::Value = serde_json::from_str(&body).expect("json error");
    assert_eq!(error["code"], "invalid_request");
    let (status, body) = post(r#"{"name":"x","unexpected":1}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("unknown field"), "{body}");
    let huge = format!(
        r##"{{"name":"x","script":"#!/bin/sh\n","work_dir":"{w}","submit_dir":"{w}","ntasks":1,"cpus_per_task":1,"time_limit":18446744073709551615}}"##,
        w = d.work.display()
    );
    let (status, body) = post(&huge);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Requested time limit is invalid"), "{body}");
    let (status, _) =
        d.raw_http("GET /v1/nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 404);
    let (status, body) =
        d.raw_http("GET /v1/jobs/abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 400, "{body}");
    let (status, body) =
        d.raw_http("GET /v1/jobs?states=bogus HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 400, "{body}");
    let (status, _) =
        d.raw_http("GET /v1/jobs/999 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 404);
    let (status, body) =
        d.raw_http("GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "{body}");
}

#[test]
fn the_peak_memory_of_a_job_is_measured() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let id = d.submit(&[
        "--wrap",
        "dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null",
    ]);
    let job = d.wait_for(id, JobState::Completed, SHORT);
    let kb = job.max_rss_kb.expect("measured");
    assert!(kb >= 64 * 1024, "{kb} KiB");
    let out = d.run(
        "cacct",
        &["-j", &id.to_string(), "-X", "-P", "-n", "-o", "MaxRSS"],
    );
    assert_eq!(out.ok(), format!("{kb}K\n"));
}

#[test]
fn many_jobs_are_cancelled_with_one_request() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let running = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(running, JobState::Running, SHORT);
    let held: Vec<_> = (0..20)
        .map(|_| d.submit(&["--hold", "--wrap", "true"]))
        .collect();
    let mut ids = held.clone();
    ids.push(running);
    ids.push(conductor::protocol::JobId(999));
    let results = d.client().cancel_many(&ids).expect("cancel");
    assert_eq!(results.len(), ids.len());
    for (result, id) in results.iter().zip(&ids) {
        match result {
            conductor::protocol::CancelResult::Done(done) => assert_eq!(done.job_id, *id),
            conductor::protocol::CancelResult::Failed { job_id, error } => {
                assert_eq!((job_id.0, error.code.as_str()), (999, "not_found"));
            }
        }
    }
    for id in held {
        assert_eq!(d.job(id).state, JobState::Cancelled);
    }
    d.wait_for(running, JobState::Cancelled, SHORT);
    let out = d.run(
        "ccancel",
        &["-u", &conductor::users::current_uid().to_string()],
    );
    assert_eq!(out.ok(), "", "nothing left to cancel is no error");
}

#[test]
fn a_supervisor_killed_with_sigterm_cancels_its_job() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["--wrap", "sleep 300"]);
    d.wait_for(id, JobState::Running, SHORT);
    let started = d.job(id).start_time.expect("started").timestamp_millis();
    let identity = d
        .state_dir
        .join(format!("jobs/{id}-{started}/supervisor.json"));
    let pid = || -> Option<u32> {
        let text = std::fs::read_to_string(&identity).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        value["job_pid"].as_u64()?;
        value["pid"].as_u64().map(|p| p as u32)
    };
    wait_until(SHORT, "the supervisor records itself", || pid().is_some());
    crate::support::signal(pid().expect("pid"), "TERM");
    let job = d.wait_for(id, JobState::Cancelled, SHORT);
    assert_eq!(
        job.cancelled_by,
        Some(0),
        "an administrator's kill is root's cancel"
    );
}

#[test]
fn ended_supervisors_are_reaped_not_left_as_zombies() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let ids: Vec<_> = (0..3).map(|_| d.submit(&["--wrap", "true"])).collect();
    for id in ids {
        d.wait_for(id, JobState::Completed, SHORT);
    }
    let needle = format!("--launcher {}", d.state_dir.display());
    let launcher = *processes_matching(&needle).first().expect("the launcher");
    let zombies = || {
        processes_matching("")
            .into_iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                    let fields: Vec<&str> = stat
                        .rsplit_once(')')
                        .map(|(_, rest)| rest.split_whitespace().collect())
                        .unwrap_or_default();
                    fields.first() == Some(&"Z") && fields.get(1) == Some(&&*launcher.to_string())
                })
            })
            .count()
    };
    wait_until(SHORT, "the launcher has reaped its supervisors", || {
        zombies() == 0
    });
}

#[test]
fn first_job_id_sets_where_ids_start_and_never_lowers_them() {
    let mut d = TestDaemon::start(&["--cpus", "1", "--first-job-id", "70001"]);
    assert_eq!(d.submit(&["--hold", "--wrap", "true"]), JobId(70001));
    let array = d.run(
        "cbatch",
        &["--parsable", "--hold", "--array", "0-2", "--wrap", "true"],
    );
    assert_eq!(array.ok().trim(), "70002");
    let config = d.run("ccontrol", &["show", "config"]).ok().to_string();
    assert!(
        config
            .lines()
            .any(|l| l.starts_with("FirstJobId") && l.ends_with("= 70001")),
        "{config}"
    );
    // A lower first id after restart: ids go on from the highest used.
    d.restart_with(&["--cpus", "1", "--first-job-id", "5"]);
    assert_eq!(d.submit(&["--hold", "--wrap", "true"]), JobId(70005));
    // A higher one: they jump to it.
    d.restart_with(&["--cpus", "1", "--first-job-id", "90000"]);
    assert_eq!(d.submit(&["--hold", "--wrap", "true"]), JobId(90000));
}
