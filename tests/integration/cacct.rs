//! `cacct` (sacct) against a real daemon: the layouts byte for byte, every
//! option, and the exact calls submitit and Snakemake make.

use std::time::Duration;

use conductor::protocol::{JobId, JobState};

use crate::support::{Output, TestDaemon, bin, run_command};

const SHORT: Duration = Duration::from_secs(10);

fn me() -> (String, u32) {
    let uid = conductor::users::current_uid();
    (conductor::users::user_name(uid), uid)
}

/// A daemon with one finished job of each kind the tests need: `done`
/// (COMPLETED, named `done`) and `failed` (FAILED 3:0, named `failing`).
fn with_history() -> (TestDaemon, JobId, JobId) {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1"]);
    let done = d.submit(&["-J", "done", "--mem", "1536M", "--wrap", "true"]);
    let failed = d.submit(&["-J", "failing", "-t", "1:00:00", "--wrap", "exit 3"]);
    d.wait_for(done, JobState::Completed, SHORT);
    d.wait_for(failed, JobState::Failed, SHORT);
    (d, done, failed)
}

fn cacct(d: &TestDaemon, args: &[&str]) -> Output {
    d.run("cacct", args)
}

#[test]
fn the_default_layout_is_sacct_s_fixed_width_table() {
    let (d, done, failed) = with_history();
    let out = cacct(&d, &[]);
    assert_eq!(
        out.ok(),
        format!(
            "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode \n\
             ------------ ---------- ---------- ---------- ---------- ---------- -------- \n\
             {done:<12}       done     normal {account:>10}          1  COMPLETED      0:0 \n\
             {:<12}      batch            {account:>10}          1  COMPLETED      0:0 \n\
             {failed:<12}    failing     normal {account:>10}          1     FAILED      3:0 \n\
             {:<12}      batch            {account:>10}          1     FAILED      3:0 \n",
            format!("{done}.batch"),
            format!("{failed}.batch"),
            account = conductor::users::user_name(conductor::users::current_uid()),
        )
    );

    let brief = cacct(&d, &["-b", "-X", "-n"]);
    assert_eq!(
        brief.ok(),
        format!(
            "{done:<12}  COMPLETED      0:0 \n\
             {failed:<12}     FAILED      3:0 \n"
        )
    );

    // %width: positive right-justifies, negative left-justifies, too
    // long values end in `+`, headers are cut bare.
    let sized = cacct(
        &d,
        &[
            "-X",
            "-j",
            &failed.to_string(),
            "-o",
            "jobname%-5,STATE%4,reqmem,timelimit%12",
        ],
    );
    assert_eq!(
        sized.ok(),
        "JobNa Stat     ReqMem    Timelimit \n\
         ----- ---- ---------- ------------ \n\
         fail+ FAI+          0     01:00:00 \n"
    );
    let memory = cacct(
        &d,
        &["-X", "-n", "-P", "-j", &done.to_string(), "-o", "ReqMem"],
    );
    assert_eq!(memory.ok(), "1.50G\n");
    let units = ["-X", "-n", "-P", "-j", &done.to_string(), "-o", "ReqMem"];
    let in_mb = cacct(&d, &[&units[..], &["--units", "M"]].concat());
    assert_eq!(in_mb.ok(), "1536M\n");
    let raw = cacct(&d, &[&units[..], &["--noconvert"]].concat());
    assert_eq!(raw.ok(), "1536M\n");
}

#[test]
fn parsable_modes_join_fields_with_the_delimiter() {
    let (d, done, failed) = with_history();
    let host = conductor::paths::hostname();
    let fields = ["-X", "-o", "JobID,JobName,State,ExitCode,NodeList"];

    let p2 = cacct(&d, &[&fields[..], &["-P"]].concat());
    assert_eq!(
        p2.ok(),
        format!(
            "JobID|JobName|State|ExitCode|NodeList\n\
             {done}|done|COMPLETED|0:0|{host}\n\
             {failed}|failing|FAILED|3:0|{host}\n"
        )
    );
    let p = cacct(&d, &[&fields[..], &["--parsable", "--noheader"]].concat());
    assert_eq!(
        p.ok(),
        format!(
            "{done}|done|COMPLETED|0:0|{host}|\n\
             {failed}|failing|FAILED|3:0|{host}|\n"
        )
    );
    let comma = cacct(&d, &[&fields[..], &["-P", "-n", "--delimiter=,"]].concat());
    assert_eq!(
        comma.ok(),
        format!(
            "{done},done,COMPLETED,0:0,{host}\n\
             {failed},failing,FAILED,3:0,{host}\n"
        )
    );
    // Steps are rows of their own unless -X.
    let steps = cacct(&d, &["-P", "-n", "-o", "JobID,JobIDRaw,JobName,State"]);
    assert_eq!(
        steps.ok(),
        format!(
            "{done}|{done}|done|COMPLETED\n\
             {done}.batch|{done}.batch|batch|COMPLETED\n\
             {failed}|{failed}|failing|FAILED\n\
             {failed}.batch|{failed}.batch|batch|FAILED\n"
        )
    );
}

#[test]
fn a_cancelled_pending_job_says_who_cancelled_it() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let blocker = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    let pending = d.submit(&["--wrap", "true"]);
    d.run("ccancel", &[&pending.to_string()]).ok();
    d.wait_for(pending, JobState::Cancelled, SHORT);
    let (_, uid) = me();

    let out = cacct(
        &d,
        &["-X", "-P", "-o", "JobID,State", "-j", &pending.to_string()],
    );
    assert_eq!(
        out.ok(),
        format!("JobID|State\n{pending}|CANCELLED by {uid}\n")
    );
    // It never ran: its requested CPU (as slurmdbd records it), no node,
    // no step, unknown start.
    let detail = cacct(
        &d,
        &[
            "-P",
            "-n",
            "-o",
            "JobID,AllocCPUS,NodeList,Start,Elapsed,ExitCode",
            "-j",
            &pending.to_string(),
        ],
    );
    assert_eq!(
        detail.ok(),
        format!("{pending}|1|None assigned|Unknown|00:00:00|0:0\n")
    );
    // The fixed-width column cuts it as sacct does.
    let fixed = cacct(&d, &["-X", "-n", "-o", "State", "-j", &pending.to_string()]);
    assert_eq!(fixed.ok(), "CANCELLED+ \n");
    d.run("ccancel", &[&blocker.to_string()]).ok();
    d.wait_for(blocker, JobState::Cancelled, SHORT);
}

#[test]
fn submitit_s_status_query() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let host = conductor::paths::hostname();
    let a = d.submit(&["-J", "submitit", "--wrap", "true"]);
    d.wait_for(a, JobState::Completed, SHORT);
    let b = d.submit(&["-J", "submitit", "--wrap", "sleep 30"]);
    d.wait_for(b, JobState::Running, SHORT);
    let c = d.submit(&["-J", "submitit", "--wrap", "true"]);

    let out = cacct(
        &d,
        &[
            "-o",
            "JobID,State,NodeList",
            "--parsable2",
            "-j",
            &a.to_string(),
            "-j",
            &b.to_string(),
            "-j",
            &c.to_string(),
        ],
    );
    assert_eq!(
        out.ok(),
        format!(
            "JobID|State|NodeList\n\
             {a}|COMPLETED|{host}\n\
             {a}.batch|COMPLETED|{host}\n\
             {b}|RUNNING|{host}\n\
             {b}.batch|RUNNING|{host}\n\
             {c}|PENDING|None assigned\n"
        )
    );
    // A job not known yet: the header alone, which submitit reads as "unknown yet".
    let unknown = cacct(
        &d,
        &["-o", "JobID,State,NodeList", "--parsable2", "-j", "999"],
    );
    assert_eq!(unknown.ok(), "JobID|State|NodeList\n");
    for id in [c, b] {
        d.run("ccancel", &[&id.to_string()]).ok();
        d.wait_for(id, JobState::Cancelled, SHORT);
    }
}

#[test]
fn snakemake_s_status_efficiency_and_account_queries() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let run = "2f1c7b1e-5d2a-4c0e-9a57-0e5a1d3e9b11";
    let ok = d.submit(&["-J", run, "--wrap", "true"]);
    let bad = d.submit(&["-J", run, "--wrap", "exit 1"]);
    let other = d.submit(&["-J", "someone-else", "--wrap", "true"]);
    for id in [ok, bad, other] {
        d.wait_ended(id, SHORT);
    }
    let two_days_ago = (chrono::Local::now() - chrono::Duration::days(2))
        .format("%Y-%m-%dT%H:00")
        .to_string();
    let status = cacct(
        &d,
        &[
            "-X",
            "--parsable2",
            "--clusters",
            "all",
            "--noheader",
            "--format=JobIdRaw,State",
            "--starttime",
            &two_days_ago,
            "--endtime",
            "now",
            "--name",
            run,
        ],
    );
    assert_eq!(status.ok(), format!("{ok}|COMPLETED\n{bad}|FAILED\n"));

    let efficiency = cacct(
        &d,
        &[
            &format!("--name={run}"),
            "--parsable2",
            "--noheader",
            "--format=JobID,JobName,Comment,Elapsed,TotalCPU,NNodes,NCPUS,MaxRSS,ReqMem",
        ],
    );
    let lines: Vec<&str> = efficiency.ok().lines().collect();
    assert_eq!(lines.len(), 4, "two jobs and their steps: {lines:?}");
    assert!(
        lines[0].starts_with(&format!("{ok}|{run}||00:00:0")),
        "{lines:?}"
    );
    // TotalCPU and MaxRSS are measured (the job's cgroup, else its
    // supervisor): sacct's `MM:SS.mmm` for a job of a few milliseconds.
    let fields: Vec<&str> = lines[0].split('|').collect();
    assert!(fields[4].starts_with("00:0"), "TotalCPU: {lines:?}");
    assert_eq!(&fields[5..7], ["1", "1"], "{lines:?}");
    assert!(lines[0].ends_with("K|0"), "{lines:?}");
    assert!(
        lines[1].starts_with(&format!("{ok}.batch|batch||")),
        "{lines:?}"
    );
    for line in &lines {
        assert_eq!(line.split('|').count(), 9, "{line}");
    }

    // Run without a shell, `| tail -1` is three more words: one error line.
    let (user, _) = me();
    let account = cacct(&d, &["-nu", &user, "-o", "Account%256", "|", "tail", "-1"]);
    assert_eq!(
        account.fails_with_one_line(),
        "cacct: error: Unknown arguments: | tail -1 (job ids go with -j)"
    );
}

#[test]
fn ids_tasks_steps_unknown_ids_and_bad_input() {
    let (d, done, _) = with_history();
    let id = done.to_string();
    let batch = cacct(
        &d,
        &[
            "-P",
            "-n",
            "-o",
            "JobID,State",
            "-j",
            &format!("{id}.batch"),
        ],
    );
    assert_eq!(batch.ok(), format!("{id}.batch|COMPLETED\n"));
    let srun_step = cacct(&d, &["-n", "-o", "Reason", "-j", &format!("{id}.0")]);
    assert_eq!(srun_step.ok(), "");
    let not_an_array = cacct(&d, &["-P", "-n", "-j", &format!("{id}_0")]);
    assert_eq!(not_an_array.ok(), "");
    let comma = cacct(
        &d,
        &["-P", "-n", "-X", "-o", "JobID", "-j", &format!("{id},999")],
    );
    assert_eq!(comma.ok(), format!("{id}\n"));

    let unknown = cacct(&d, &["-j", "999"]);
    assert_eq!(
        unknown.ok(),
        "JobID           JobName  Partition    Account  AllocCPUS      State ExitCode \n\
         ------------ ---------- ---------- ---------- ---------- ---------- -------- \n"
    );
    assert_eq!(cacct(&d, &["-n", "-j", "999"]).ok(), "");

    let cases: [(&[&str], &str); 7] = [
        (
            &["-o", "JobID,x"],
            "cacct: error: Invalid field requested: \"x\"",
        ),
        (
            &["-o", "nosuch%20"],
            "cacct: error: Invalid field requested: \"nosuch\"",
        ),
        (&["-j", "abc"], "cacct: error: Invalid job id: abc"),
        (&["-s", "bogus"], "cacct: error: Invalid state: bogus"),
        (
            &["-S", "soon"],
            "cacct: error: Invalid time specification: soon",
        ),
        (
            &["-S", "now-5m"],
            "cacct: error: Invalid time specification: now-5m",
        ),
        (
            &["-u", "no-such-user-here"],
            "cacct: error: Invalid user: no-such-user-here",
        ),
    ];
    for (args, expected) in cases {
        assert_eq!(cacct(&d, args).fails_with_one_line(), expected, "{args:?}");
    }

    // Under Slurm's name, messages carry Slurm's name.
    let link = d.dir.path().join("sacct");
    std::os::unix::fs::symlink(bin("cacct"), &link).expect("symlink");
    let mut command = std::process::Command::new(&link);
    command
        .args(["-o", "x"])
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1");
    assert_eq!(
        run_command(command, None).fails_with_one_line(),
        "sacct: error: Invalid field requested: \"x\""
    );
}

#[test]
fn filters_by_state_name_user_partition_and_time() {
    let (d, done, failed) = with_history();
    let running = d.submit(&["-J", "sleeper", "--wrap", "sleep 30"]);
    d.wait_for(running, JobState::Running, SHORT);
    let ids = |args: &[&str]| -> String {
        let mut argv = vec!["-X", "-P", "-n", "-o", "JobID"];
        argv.extend_from_slice(args);
        cacct(&d, &argv)
            .ok()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let all = format!("{done} {failed} {running}");
    let (user, uid) = me();

    assert_eq!(ids(&[]), all);
    assert_eq!(ids(&["-s", "F"]), failed.to_string());
    assert_eq!(ids(&["--state=completed,r"]), format!("{done} {running}"));
    assert_eq!(ids(&["-s", "OOM,NF"]), "", "Slurm states we never produce");
    assert_eq!(
        ids(&["--name", "done,sleeper"]),
        format!("{done} {running}")
    );
    assert_eq!(ids(&["-u", &user]), all);
    assert_eq!(ids(&["--user", &uid.to_string(), "-a"]), all);
    assert_eq!(ids(&["-u", "4242"]), "");
    assert_eq!(ids(&["--allusers"]), all);
    assert_eq!(ids(&["-r", "normal"]), all);
    assert_eq!(ids(&["--partition", "gpu"]), "");
    // The window: active at some time between -S and -E.
    assert_eq!(ids(&["-S", "midnight", "-E", "now"]), all);
    assert_eq!(ids(&["-S", "today"]), all);
    assert_eq!(
        ids(&["-S", "now+1hours"]),
        running.to_string(),
        "only the running one"
    );
    assert_eq!(ids(&["-S", "2000-01-01", "-E", "2000-01-02T12:00"]), "");
    assert_eq!(ids(&["--starttime", "now-3hours", "--endtime", "now"]), all);
    assert_eq!(
        ids(&[
            "-j",
            &done.to_string(),
            "-S",
            "2000-01-01",
            "-E",
            "2000-01-02"
        ]),
        "",
        "-S/-E narrow -j too"
    );
    // Accepted for Slurm's sake.
    assert_eq!(ids(&["-M", "all", "-L", "--array", "-T"]), all);

    let elapsed = cacct(
        &d,
        &[
            "-X",
            "-P",
            "-n",
            "-o",
            "ElapsedRaw",
            "-j",
            &running.to_string(),
        ],
    );
    let seconds: u64 = elapsed.ok().trim().parse().expect("seconds");
    assert!(seconds < 30, "{seconds}");

    let json = cacct(&d, &["--json=conductor", "-s", "CD,F"]);
    let value: serde_json::Value = serde_json::from_str(json.ok()).expect("json");
    let states: Vec<&str> = value["jobs"]
        .as_array()
        .expect("a jobs array")
        .iter()
        .filter_map(|job| job["state"].as_str())
        .collect();
    assert_eq!(states, ["COMPLETED", "FAILED"]);

    let long = cacct(&d, &["-l", "-j", &done.to_string()]);
    let header = long.ok().lines().next().unwrap_or_default().to_string();
    for name in ["JobIDRaw", "MaxRSS", "ReqMem", "AllocTRES"] {
        assert!(header.contains(name), "{header}");
    }
    let fields = cacct(&d, &["-e"]);
    assert!(fields.ok().contains("DerivedExitCode"));

    d.run("ccancel", &[&running.to_string()]).ok();
    d.wait_for(running, JobState::Cancelled, SHORT);
}

#[test]
fn the_history_outlives_a_daemon_restart() {
    let (mut d, done, failed) = with_history();
    d.restart();
    let out = cacct(
        &d,
        &["-X", "-P", "-n", "-o", "JobID,JobName,State,ExitCode"],
    );
    assert_eq!(
        out.ok(),
        format!("{done}|done|COMPLETED|0:0\n{failed}|failing|FAILED|3:0\n")
    );
}

#[test]
fn steps_crun_ran_have_lines_of_their_own_after_the_batch_line() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let crun = crate::support::bin("crun");
    let script = format!(
        "{crun} -n 2 true\n{crun} -n 1 sh -c 'exit 2'\necho done\n",
        crun = crun.display()
    );
    let id = d.submit(&["-J", "stepped", "-n", "2", "--wrap", &script]);
    d.wait_for(id, JobState::Completed, std::time::Duration::from_secs(20));
    let out = cacct(
        &d,
        &[
            "-j",
            &id.to_string(),
            "-P",
            "-n",
            "-o",
            "JobID,JobName,NTasks,State,ExitCode",
        ],
    );
    assert_eq!(
        out.ok(),
        format!(
            "{id}|stepped||COMPLETED|0:0\n\
             {id}.batch|batch|1|COMPLETED|0:0\n\
             {id}.0|true|2|COMPLETED|0:0\n\
             {id}.1|sh|1|FAILED|2:0\n"
        )
    );
    // One step alone, by its id; -X keeps the job line only.
    let one = cacct(
        &d,
        &["-j", &format!("{id}.1"), "-P", "-n", "-o", "JobID,State"],
    );
    assert_eq!(one.ok(), format!("{id}.1|FAILED\n"));
    let alone = cacct(
        &d,
        &["-j", &id.to_string(), "-X", "-P", "-n", "-o", "JobID"],
    );
    assert_eq!(alone.ok(), format!("{id}\n"));
    // The steps' times lie within the job's.
    let times = cacct(
        &d,
        &["-j", &id.to_string(), "-P", "-n", "-o", "JobID,Start,End"],
    );
    assert_eq!(times.ok().lines().count(), 4, "{times:?}");
}
