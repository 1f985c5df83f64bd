//! `ccontrol` (scontrol) against a real daemon: records in scontrol's
//! layout, holds, releases, requeues, updates, and the Slurm-named links.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use conductor::paths::hostname;
use conductor::protocol::{JobId, JobInfo, JobState, SubmitRequest};

use crate::support::{Output, TestDaemon, bin, run_command, wait_until};

const SHORT: Duration = Duration::from_secs(10);

/// Replaces each `YYYY-MM-DDTHH:MM:SS` with `<TS>` and each `RunTime=HH:MM:SS`
/// value with `<HMS>`: those change from run to run, their shape does not.
fn mask(text: &str) -> String {
    fn fits(template: &str, candidate: &[u8]) -> bool {
        candidate.len() >= template.len()
            && template.bytes().zip(candidate).all(|(t, c)| match t {
                b'd' => c.is_ascii_digit(),
                other => other == *c,
            })
    }
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        if fits("dddd-dd-ddTdd:dd:dd", &bytes[i..]) {
            out.push_str("<TS>");
            i += 19;
        } else if fits("RunTime=dd:dd:dd", &bytes[i..]) {
            out.push_str("RunTime=<HMS>");
            i += 16;
        } else {
            let c = text[i..].chars().next().expect("a char");
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// The value of `key` in a Key=Value record.
fn value<'a>(record: &'a str, key: &str) -> Option<&'a str> {
    record
        .split_whitespace()
        .find_map(|token| token.strip_prefix(key)?.strip_prefix('='))
}

fn group_name(gid: u32) -> String {
    uzers::get_group_by_gid(gid)
        .map(|g| g.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| gid.to_string())
}

/// Root's holds are admin holds, everybody else's user holds.
fn held_reason() -> &'static str {
    if conductor::users::current_uid() == 0 {
        "JobHeldAdmin"
    } else {
        "JobHeldUser"
    }
}

/// Waits until `check` holds for the job, failing after `timeout`.
#[track_caller]
fn wait_job(d: &TestDaemon, id: JobId, what: &str, check: impl Fn(&JobInfo) -> bool) -> JobInfo {
    let deadline = Instant::now() + SHORT;
    loop {
        let job = d.job(id);
        if check(&job) {
            return job;
        }
        assert!(
            Instant::now() < deadline,
            "job {id} should be {what}: {job:?}\n{}",
            d.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn show_job_prints_a_running_job_in_slurm_s_layout() {
    let d = TestDaemon::start(&["--cpus", "2", "--mem", "1G", "--kill-wait", "1"]);
    // Through the library, to name the script file as a full cbatch does
    // (this branch's cbatch does not send it yet).
    let request = SubmitRequest {
        name: "train".into(),
        script: "#!/bin/sh\nsleep 30\n".into(),
        work_dir: d.work.clone(),
        submit_dir: d.work.clone(),
        ntasks: 1,
        cpus_per_task: 2,
        memory_mb: Some(100),
        time_limit: Some(3600),
        command: Some("train.sh".into()),
        ..SubmitRequest::default()
    };
    let id = d.client().submit(&request).expect("submitted");
    let job = d.wait_for(id, JobState::Running, SHORT);
    let out = d.run("ccontrol", &["show", "job", &id.to_string()]);
    let text = out.ok();
    assert_eq!(out.stderr, "");
    let host = hostname();
    let work = job.work_dir.display();
    let expected = format!(
        "JobId={id} JobName=train\n   \
         UserId={user}({uid}) GroupId={group}({gid}) MCS_label=N/A\n   \
         Priority={priority} Nice=0 Account={user} QOS=normal\n   \
         JobState=RUNNING Reason=None Dependency=(null)\n   \
         Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0\n   \
         RunTime=<HMS> TimeLimit=01:00:00 TimeMin=N/A\n   \
         SubmitTime=<TS> EligibleTime=<TS>\n   \
         AccrueTime=<TS>\n   \
         StartTime=<TS> EndTime=<TS> Deadline=N/A\n   \
         SuspendTime=None SecsPreSuspend=0 LastSchedEval=<TS> Scheduler=Main\n   \
         Partition=normal AllocNode:Sid=localhost:0\n   \
         ReqNodeList=(null) ExcNodeList=(null)\n   \
         NodeList={host}\n   \
         BatchHost={host}\n   \
         NumNodes=1 NumCPUs=2 NumTasks=1 CPUs/Task=2 ReqB:S:C:T=0:0:*:*\n   \
         TRES=cpu=2,mem=100M,node=1,billing=2\n   \
         Socks/Node=* NtasksPerN:B:S:C=0:0:*:* CoreSpec=*\n   \
         MinCPUsNode=2 MinMemoryNode=100M MinTmpDiskNode=0\n   \
         Features=(null) DelayBoot=00:00:00\n   \
         OverSubscribe=OK Contiguous=0 Licenses=(null) Network=(null)\n   \
         Command={work}/train.sh\n   \
         WorkDir={work}\n   \
         StdErr={work}/slurm-{id}.out\n   \
         StdIn=/dev/null\n   \
         StdOut={work}/slurm-{id}.out\n   \
         Power=\n   \n\n",
        user = job.user,
        uid = job.uid,
        group = group_name(job.gid),
        gid = job.gid,
        priority = job.priority,
    );
    assert_eq!(mask(text), expected);

    // The end is the start plus the limit, both in local time.
    let parse = |key| {
        chrono::NaiveDateTime::parse_from_str(value(text, key).expect(key), "%Y-%m-%dT%H:%M:%S")
            .expect("a timestamp")
    };
    assert_eq!(
        parse("EndTime") - parse("StartTime"),
        chrono::Duration::hours(1)
    );
    let run_time = value(text, "RunTime").expect("RunTime");
    assert!(run_time.starts_with("00:00:0"), "{run_time}");

    d.run("ccancel", &[&id.to_string()]).ok();
}

#[test]
fn show_job_without_an_id_lists_pending_and_running_jobs() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    assert_eq!(
        d.run("ccontrol", &["show", "job"]).ok(),
        "No jobs in the system\n"
    );
    let done = d.submit(&["--wrap", "true"]);
    d.wait_for(done, JobState::Completed, SHORT);
    let running = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(running, JobState::Running, SHORT);
    let pending = d.submit(&["-t", "5", "--wrap", "sleep 30"]);

    let out = d.run("ccontrol", &["show", "job"]);
    let text = out.ok();
    assert!(text.ends_with("\n\n"), "{text}");
    let records: Vec<&str> = text.trim_end().split("\n\n").collect();
    assert_eq!(records.len(), 2, "{text}");
    assert!(records[0].starts_with(&format!("JobId={running} JobName=wrap\n   UserId=")));
    assert!(records[1].starts_with(&format!("JobId={pending} JobName=wrap\n   UserId=")));
    let waiting = records[1];
    for line in [
        "\n   RunTime=00:00:00 TimeLimit=00:05:00 TimeMin=N/A\n",
        "\n   StartTime=Unknown EndTime=Unknown Deadline=N/A\n",
        "\n   NodeList=\n",
        "\n   Command=(null)\n",
        "\n   MinCPUsNode=1 MinMemoryNode=0 MinTmpDiskNode=0\n",
    ] {
        assert!(waiting.contains(line), "{line:?} in\n{waiting}");
    }
    assert_eq!(value(waiting, "JobState"), Some("PENDING"));
    assert!(!waiting.contains("BatchHost="));
    assert!(!text.contains(&format!("JobId={done} ")));

    // A finished job is still shown by id, `show jobid` is the same command.
    let finished = d.run("ccontrol", &["show", "jobid", &done.to_string()]);
    let finished = finished.ok();
    assert_eq!(value(finished, "JobState"), Some("COMPLETED"));
    assert_eq!(value(finished, "ExitCode"), Some("0:0"));
    assert_eq!(value(finished, "Reason"), Some("None"));

    // -o: one line per record, single spaces, same pairs.
    let one = d.run("ccontrol", &["-o", "show", "job"]);
    let lines: Vec<&str> = one.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].starts_with(&format!("JobId={running} JobName=wrap UserId=")));
    assert!(lines[1].ends_with(" Power= "));
    assert!(!one.stdout.contains("  "));
    let oneliner = d.run(
        "ccontrol",
        &["show", "job", "--oneliner", &pending.to_string()],
    );
    assert_eq!(oneliner.ok().lines().count(), 1);

    // -d adds the derived exit code and where the job's CPUs are.
    let details = d.run("ccontrol", &["-d", "show", "job", &running.to_string()]);
    let details = details.ok();
    assert!(details.contains("\n   DerivedExitCode=0:0\n"), "{details}");
    assert!(
        details.contains(&format!(
            "\n     Nodes={} CPU_IDs=0 Mem=0 GRES=\n",
            hostname()
        )),
        "{details}"
    );
    d.run("ccancel", &[&running.to_string(), &pending.to_string()])
        .ok();
}

#[test]
fn unknown_job_ids_get_slurm_s_load_error() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    for id in ["999999", "abc", "999999_1", "0"] {
        let out = d.run("ccontrol", &["show", "job", id]);
        assert_eq!(
            out.fails_with_one_line(),
            "slurm_load_jobs error: Invalid job id specified",
            "{id}"
        );
        assert_eq!(out.code, 1);
    }
}

/// Submits an array through the library (this branch's cbatch has no --array).
fn submit_array(d: &TestDaemon, array: &str) -> JobId {
    let request = SubmitRequest {
        name: "arr".into(),
        script: "#!/bin/sh\nsleep 30\n".into(),
        work_dir: d.work.clone(),
        submit_dir: d.work.clone(),
        ntasks: 1,
        cpus_per_task: 1,
        array: Some(array.into()),
        ..SubmitRequest::default()
    };
    d.client().submit(&request).expect("array submitted")
}

#[test]
fn array_tasks_are_named_by_array_and_index() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let array = submit_array(&d, "0-3%2");
    d.wait_for(array, JobState::Running, SHORT);

    let task = d.run("ccontrol", &["show", "job", &format!("{array}_2")]);
    let text = task.ok();
    assert_eq!(
        text.lines().next(),
        Some(
            format!(
                "JobId={} ArrayJobId={array} ArrayTaskId=2 ArrayTaskThrottle=2 JobName=arr",
                array.0 + 2
            )
            .as_str()
        )
    );
    assert_eq!(text.matches("\n\n").count(), 1);

    // The array's id shows every task.
    let all = d.run("ccontrol", &["show", "job", &array.to_string()]);
    let firsts: Vec<&str> = all
        .ok()
        .lines()
        .filter(|line| line.starts_with("JobId="))
        .collect();
    assert_eq!(firsts.len(), 4, "{firsts:?}");
    assert!(firsts[3].contains(" ArrayTaskId=3 "));

    // Holding the array holds its pending tasks; the running one is left be.
    d.run("ccontrol", &["hold", &array.to_string()]).ok();
    for index in 1..4 {
        let job = d.job(JobId(array.0 + index));
        assert_eq!(job.reason.to_string(), held_reason(), "task {index}");
    }
    assert_eq!(d.job(array).state, JobState::Running);
    // One task is released by its Slurm name.
    let out = d.run("ccontrol", &["release", &format!("{array}_3")]);
    assert_eq!(out.ok(), "");
    assert!(!d.job(JobId(array.0 + 3)).reason.is_hold());
    assert!(d.job(JobId(array.0 + 1)).reason.is_hold());
    // A task that does not exist.
    let out = d.run("ccontrol", &["requeue", &format!("{array}_9")]);
    assert_eq!(
        out.fails_with_one_line(),
        format!("Invalid job id specified for job {array}_9")
    );
    let ids: Vec<String> = (0..4).map(|i| (array.0 + i).to_string()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    d.run("ccancel", &ids).ok();
}

#[test]
fn a_held_job_waits_until_released_then_runs() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let blocker = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    let held = d.submit(&["--wrap", "echo ran > held.txt"]);
    let other = d.submit(&["--wrap", "true"]);

    // Success prints nothing; comma lists and several words both work.
    let out = d.run("ccontrol", &["hold", &format!("{held},{other}")]);
    assert_eq!(out.ok(), "");
    assert_eq!(out.stderr, "");
    let record = d.run("ccontrol", &["show", "job", &held.to_string()]);
    let record = record.ok();
    assert_eq!(value(record, "JobState"), Some("PENDING"));
    assert_eq!(value(record, "Reason"), Some(held_reason()));
    assert_eq!(value(record, "EligibleTime"), Some("Unknown"));
    let queue = d.run("cqueue", &["-h", "-o", "%i %t %r", "-j", &held.to_string()]);
    assert_eq!(queue.ok(), format!("{held} PD {}\n", held_reason()));

    // The node frees up, but held jobs stay pending.
    d.run("ccancel", &[&blocker.to_string()]).ok();
    d.wait_for(blocker, JobState::Cancelled, SHORT);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(d.job(held).state, JobState::Pending);
    assert!(!d.work.join("held.txt").exists());

    let out = d.run(
        "ccontrol",
        &["release", &held.to_string(), &other.to_string()],
    );
    assert_eq!(out.ok(), "");
    d.wait_for(held, JobState::Completed, SHORT);
    d.wait_for(other, JobState::Completed, SHORT);
    assert_eq!(
        std::fs::read_to_string(d.work.join("held.txt"))
            .ok()
            .as_deref(),
        Some("ran\n")
    );

    // uhold/holdu are user holds, even from root.
    let blocker = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    let third = d.submit(&["--wrap", "true"]);
    d.run("ccontrol", &["uhold", &third.to_string()]).ok();
    assert_eq!(
        d.job(third).reason,
        conductor::protocol::Reason::JobHeldUser
    );
    d.run("ccontrol", &["holdu", &third.to_string()]).ok();

    // Holding a running job does nothing and says nothing, as in 22.05;
    // an unknown id is named, with slurm_suspend's line after it.
    let out = d.run("ccontrol", &["hold", &blocker.to_string()]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(d.job(blocker).state, JobState::Running);
    let out = d.run("ccontrol", &["hold", "999999"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "Invalid job id specified for job 999999\n\
         slurm_suspend error: Invalid job id specified\n"
    );
    let out = d.run("ccontrol", &["release", "999999"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "Invalid job id specified for job 999999\n\
         slurm_suspend error: Invalid job id specified\n"
    );
    // The other ids are still acted on, and the failure is reported.
    let out = d.run("ccontrol", &["release", "999999", &third.to_string()]);
    assert_eq!(out.code, 1);
    assert!(!d.job(third).reason.is_hold());
    d.run("ccancel", &[&blocker.to_string(), &third.to_string()])
        .ok();
}

#[test]
fn requeue_runs_a_finished_job_again_with_the_same_id() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1", "--requeue-delay", "0"]);
    let id = d.submit(&["--wrap", "echo ran-$SLURM_RESTART_COUNT >> runs.txt"]);
    d.wait_for(id, JobState::Completed, SHORT);
    let out = d.run("ccontrol", &["requeue", &id.to_string()]);
    assert_eq!(out.ok(), "");
    assert_eq!(out.stderr, "");
    wait_job(&d, id, "completed after a restart", |job| {
        job.restarts == 1 && job.state == JobState::Completed
    });
    assert_eq!(
        std::fs::read_to_string(d.work.join("runs.txt"))
            .ok()
            .as_deref(),
        Some("ran-\nran-1\n"),
        "SLURM_RESTART_COUNT is set only once the job was requeued"
    );
    let record = d.run("ccontrol", &["show", "job", &id.to_string()]);
    assert_eq!(value(record.ok(), "Restarts"), Some("1"));
    assert_eq!(value(record.ok(), "JobState"), Some("COMPLETED"));

    let out = d.run("ccontrol", &["requeue", "999999"]);
    assert_eq!(
        out.fails_with_one_line(),
        "Invalid job id specified for job 999999"
    );
}

#[test]
fn a_job_can_requeue_itself_as_submitit_does() {
    // Without the requeue delay (121 s by default, as in Slurm).
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1", "--requeue-delay", "0"]);
    let ccontrol = bin("ccontrol");
    let script = format!(
        "if [ -z \"$SLURM_RESTART_COUNT\" ]; then {} requeue $SLURM_JOB_ID; sleep 30; fi\n\
         echo done-$SLURM_RESTART_COUNT > done.txt\n",
        ccontrol.display()
    );
    let id = d.submit(&["--wrap", &script]);
    let job = wait_job(&d, id, "completed after requeueing itself", |job| {
        job.state == JobState::Completed
    });
    assert_eq!(job.restarts, 1);
    assert_eq!(
        std::fs::read_to_string(d.work.join("done.txt"))
            .ok()
            .as_deref(),
        Some("done-1\n")
    );
}

#[test]
fn update_changes_a_pending_job_and_refuses_a_running_one() {
    let d = TestDaemon::start(&["--cpus", "2", "--mem", "1G", "--kill-wait", "1"]);
    let blocker = d.submit(&["-c", "2", "--wrap", "sleep 30"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    let pending = d.submit(&["-c", "2", "-J", "before", "--wrap", "true"]);

    let out = d.run(
        "ccontrol",
        &[
            "update",
            &format!("JobId={pending}"),
            "TimeLimit=1:30:00",
            "Name=after",
            "NumCPUs=1",
            "MinMemoryNode=200M",
            "Comment=note",
            "StartTime=2099-01-02T03:04:05",
        ],
    );
    assert_eq!(out.ok(), "");
    assert_eq!(out.stderr, "");
    let record = d.run("ccontrol", &["show", "job", &pending.to_string()]);
    let record = record.ok();
    assert!(record.starts_with(&format!("JobId={pending} JobName=after\n")));
    assert_eq!(value(record, "TimeLimit"), Some("01:30:00"));
    assert_eq!(value(record, "NumCPUs"), Some("1"));
    assert_eq!(value(record, "MinMemoryNode"), Some("200M"));
    assert_eq!(value(record, "Comment"), Some("note"));
    assert_eq!(value(record, "EligibleTime"), Some("2099-01-02T03:04:05"));

    // The key names are case-insensitive; JobName= is Name='s long form.
    d.run(
        "ccontrol",
        &[
            "update",
            &format!("jobid={pending}"),
            "jobname=again",
            "timelimit=UNLIMITED",
        ],
    )
    .ok();
    let job = d.job(pending);
    assert_eq!((job.name.as_str(), job.time_limit), ("again", None));

    let out = d.run(
        "ccontrol",
        &["update", &format!("JobId={blocker}"), "TimeLimit=10"],
    );
    assert_eq!(
        out.fails_with_one_line(),
        format!("Job is no longer pending execution for job {blocker}")
    );
    let out = d.run(
        "ccontrol",
        &["update", &format!("JobId={pending}"), "TimeLimit=soon"],
    );
    assert_eq!(
        out.fails_with_one_line(),
        "ccontrol: error: Invalid TimeLimit value"
    );
    // A StartTime its time parser refuses is passed over with the
    // parser's line, as scontrol does; with nothing else to change, the
    // update ends in scontrol's bare line.
    let out = d.run(
        "ccontrol",
        &["update", &format!("JobId={pending}"), "StartTime=now+5m"],
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(
        out.stderr,
        "Invalid time specification (pos=4): now+5m\nNo changes specified\n"
    );
    let out = d.run(
        "ccontrol",
        &[
            "update",
            &format!("JobId={pending}"),
            "StartTime=now+5m",
            "Comment=kept",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(out.stderr, "Invalid time specification (pos=4): now+5m\n");
    let shown = d.run("ccontrol", &["show", "job", &pending.to_string()]);
    assert!(shown.ok().contains("Comment=kept"), "{shown:?}");
    let out = d.run("ccontrol", &["update", "JobId=999999", "TimeLimit=10"]);
    assert_eq!(
        out.fails_with_one_line(),
        "Invalid job id specified for job 999999"
    );
    d.run("ccancel", &[&blocker.to_string(), &pending.to_string()])
        .ok();
}

#[test]
fn show_partition_node_and_config_describe_the_daemon() {
    let d = TestDaemon::start(&["--cpus", "2", "--mem", "1G", "--kill-wait", "7"]);
    let host = hostname();

    let partition = d.run("ccontrol", &["show", "partition"]);
    let expected = format!(
        "PartitionName=normal\n   \
         AllowGroups=ALL AllowAccounts=ALL AllowQos=ALL\n   \
         AllocNodes=ALL Default=YES QoS=N/A\n   \
         DefaultTime=NONE DisableRootJobs=NO ExclusiveUser=NO GraceTime=0 Hidden=NO\n   \
         MaxNodes=UNLIMITED MaxTime=UNLIMITED MinNodes=0 LLN=NO MaxCPUsPerNode=UNLIMITED\n   \
         Nodes={host}\n   \
         PriorityJobFactor=1 PriorityTier=1 RootOnly=NO ReqResv=NO OverSubscribe=NO\n   \
         OverTimeLimit=NONE PreemptMode=OFF\n   \
         State=UP TotalCPUs=2 TotalNodes=1 SelectTypeParameters=NONE\n   \
         JobDefaults=(null)\n   \
         DefMemPerNode=UNLIMITED MaxMemPerNode=UNLIMITED\n   \
         TRES=cpu=2,mem=1024M,node=1,billing=2\n\n"
    );
    assert_eq!(partition.ok(), expected);
    // Snakemake reads the tokens as Key=Value pairs.
    let pairs: std::collections::HashMap<&str, &str> = partition
        .stdout
        .split_whitespace()
        .filter_map(|token| token.split_once('='))
        .collect();
    assert_eq!(pairs["Default"], "YES");
    assert_eq!(pairs["State"], "UP");
    assert_eq!(pairs["TotalCPUs"], "2");
    assert_eq!(pairs["TotalNodes"], "1");
    assert_eq!(pairs["MaxTime"], "UNLIMITED");
    assert_eq!(
        d.run("ccontrol", &["show", "partition", "normal"]).ok(),
        expected
    );
    // On stdout, bare, exit 1, as scontrol says it.
    let out = d.run("ccontrol", &["show", "partition", "gpu"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (1, "Partition gpu not found\n", "")
    );

    let id = d.submit(&["--mem", "100M", "--wrap", "sleep 30"]);
    d.wait_for(id, JobState::Running, SHORT);
    let node = d.run("ccontrol", &["show", "node"]);
    let node = node.ok();
    assert!(node.starts_with(&format!(
        "NodeName={host} Arch={} CoresPerSocket=2\n   CPUAlloc=1 CPUEfctv=2 CPUTot=2 CPULoad=",
        std::env::consts::ARCH
    )));
    for line in [
        "\n   Gres=(null)\n".to_string(),
        format!(
            "\n   NodeAddr={host} NodeHostName={host} Version={}\n",
            env!("CARGO_PKG_VERSION")
        ),
        "\n   RealMemory=1024 AllocMem=100 FreeMem=924 Sockets=1 Boards=1\n".into(),
        "\n   State=MIXED ThreadsPerCore=1 TmpDisk=0 Weight=1 Owner=N/A MCS_label=N/A\n".into(),
        "\n   Partitions=normal\n".into(),
        "\n   CfgTRES=cpu=2,mem=1024M,billing=2\n   AllocTRES=cpu=1,mem=100M\n".into(),
    ] {
        assert!(node.contains(&line), "{line:?} in\n{node}");
    }
    assert!(node.ends_with("\n\n"));
    assert_eq!(
        d.run("ccontrol", &["-o", "show", "node", &host])
            .ok()
            .lines()
            .count(),
        1
    );
    let out = d.run("ccontrol", &["show", "node", "elsewhere"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (1, "Node elsewhere not found\n", "")
    );

    let config = d.client().config().expect("config");
    let out = d.run("ccontrol", &["show", "config"]);
    let text = out.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(mask(lines[0]), "Configuration data as of <TS>");
    let settings: Vec<&str> = lines[1..]
        .iter()
        .copied()
        .take_while(|l| !l.is_empty())
        .collect();
    for line in &settings {
        assert_eq!(line.get(23..26), Some(" = "), "{line:?} is %-23s = %s");
    }
    for line in [
        format!("MinJobAge               = {} sec", config.min_job_age_secs),
        "MaxArraySize            = 1001".to_string(),
        "KillWait                = 7 sec".into(),
        "ClusterName             = conductor".into(),
        format!("SLURM_VERSION           = {}", env!("CARGO_PKG_VERSION")),
        format!("SlurmctldHost[0]        = {host}"),
        format!("StateSaveLocation       = {}", d.state_dir.display()),
        format!("ConductorSocket         = {}", d.socket.display()),
    ] {
        assert!(settings.contains(&line.as_str()), "{line:?} in\n{text}");
    }
    assert_eq!(
        lines.last().copied(),
        Some(format!("Slurmctld(primary) at {host} is UP").as_str())
    );
    // What Snakemake does with it.
    let min_job_age = settings
        .iter()
        .find_map(|line| line.strip_prefix("MinJobAge"))
        .and_then(|rest| rest.split_once('='))
        .map(|(_, value)| value.trim())
        .expect("MinJobAge");
    let digits: String = min_job_age
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert_eq!(digits.parse::<u64>().ok(), Some(config.min_job_age_secs));
    assert_eq!(min_job_age[digits.len()..].trim(), "sec");
    d.run("ccancel", &[&id.to_string()]).ok();
}

#[test]
fn ping_version_and_bad_commands() {
    let mut d = TestDaemon::start(&["--cpus", "1"]);
    let host = hostname();
    assert_eq!(
        d.run("ccontrol", &["ping"]).ok(),
        format!("Slurmctld(primary) at {host} is UP\n")
    );
    assert_eq!(
        d.run("ccontrol", &["version"]).ok(),
        format!("slurm {}\n", env!("CARGO_PKG_VERSION"))
    );
    for (args, message) in [
        (
            &["frobnicate"][..],
            "ccontrol: error: invalid keyword: frobnicate",
        ),
        (
            &["show"],
            "ccontrol: error: too few arguments for keyword:show",
        ),
        (
            &["show", "thing"],
            "ccontrol: error: invalid entity:thing for keyword:show",
        ),
        (
            &["hold"],
            "ccontrol: error: too few arguments for keyword:hold",
        ),
    ] {
        let out = d.run("ccontrol", args);
        assert_eq!(out.fails_with_one_line(), message, "{args:?}");
    }
    // An update key scontrol does not know: its words, bare, and then it
    // gives up on the request.
    let out = d.run("ccontrol", &["update", "JobId=1", "Partition=x"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "Update of this parameter is not supported: Partition=x\nRequest aborted\n"
    );

    d.stop();
    let out = d.run("ccontrol", &["ping"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stdout,
        format!("Slurmctld(primary) at {host} is DOWN\n")
    );
    let out = d.run("ccontrol", &["show", "job"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("ccontrol: error: cannot reach conductord"),
        "{out:?}"
    );
}

/// Runs a program by path against the daemon, as a user's shell would.
fn run_path(d: &TestDaemon, program: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(program);
    command
        .args(args)
        .current_dir(&d.work)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1");
    run_command(command, None)
}

#[test]
fn slurm_named_links_run_conductor_s_binaries() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let links = d.dir.path().join("slurm/bin");
    let out = d.run(
        "ccontrol",
        &["install-slurm-links", &links.display().to_string()],
    );
    let bin_dir: PathBuf = bin("ccontrol")
        .parent()
        .expect("a directory")
        .canonicalize()
        .expect("canonical");
    let expected: String = [
        ("sbatch", "cbatch"),
        ("squeue", "cqueue"),
        ("scancel", "ccancel"),
        ("sacct", "cacct"),
        ("scontrol", "ccontrol"),
        ("sinfo", "cinfo"),
        ("srun", "crun"),
        ("sdiag", "cdiag"),
        ("sprio", "cprio"),
        ("sshare", "cshare"),
    ]
    .iter()
    .map(|(slurm, ours)| {
        format!(
            "{}/{slurm} -> {}/{ours}\n",
            links.display(),
            bin_dir.display()
        )
    })
    .collect();
    assert_eq!(out.ok(), expected);
    assert_eq!(
        std::fs::read_link(links.join("srun")).ok(),
        Some(bin_dir.join("crun"))
    );

    let out = run_path(&d, &links.join("sbatch"), &["--parsable", "--wrap", "true"]);
    let id: JobId = out.ok().trim().parse().expect("an id");
    d.wait_for(id, JobState::Completed, SHORT);
    let out = run_path(
        &d,
        &links.join("squeue"),
        &["-h", "-t", "all", "-o", "%i %T"],
    );
    assert_eq!(out.ok(), format!("{id} COMPLETED\n"));
    let out = run_path(&d, &links.join("squeue"), &[]);
    assert!(
        out.ok().starts_with("             JOBID PARTITION"),
        "{out:?}"
    );
    assert_eq!(
        run_path(&d, &links.join("scancel"), &[&id.to_string()]).ok(),
        ""
    );
    let out = run_path(&d, &links.join("scontrol"), &["show", "config"]);
    assert!(out.ok().starts_with("Configuration data as of "), "{out:?}");
    assert!(out.stdout.contains("\nMaxArraySize            = 1001\n"));
    let out = run_path(&d, &links.join("sinfo"), &["-o", "%P"]);
    assert_eq!(out.ok(), "PARTITION\nnormal*\n");
    // Errors carry the name the program was called by.
    let out = run_path(&d, &links.join("scontrol"), &["bogus"]);
    assert_eq!(
        out.fails_with_one_line(),
        "scontrol: error: invalid keyword: bogus"
    );
    let out = run_path(&d, &links.join("scontrol"), &["show", "job", "999999"]);
    assert_eq!(
        out.fails_with_one_line(),
        "slurm_load_jobs error: Invalid job id specified"
    );

    // Installing again replaces its own links...
    let again = d.run(
        "ccontrol",
        &["install-slurm-links", &links.display().to_string()],
    );
    assert_eq!(again.ok(), expected);
    // ...but never a file it did not make.
    std::fs::remove_file(links.join("srun")).expect("remove");
    std::fs::write(links.join("srun"), "#!/bin/sh\n").expect("a file");
    let out = d.run(
        "ccontrol",
        &["install-slurm-links", &links.display().to_string()],
    );
    assert_eq!(
        out.fails_with_one_line(),
        format!(
            "ccontrol: error: {}/srun exists and is not a link; not overwriting it",
            links.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(links.join("srun")).ok().as_deref(),
        Some("#!/bin/sh\n")
    );
    assert!(links.join("sbatch").exists());
    let out = d.run("ccontrol", &["install-slurm-links"]);
    assert_eq!(
        out.fails_with_one_line(),
        "ccontrol: error: too few arguments for keyword:install-slurm-links"
    );
    wait_until(SHORT, "nothing is left running", || {
        d.client().node().is_ok_and(|n| n.jobs_running == 0)
    });
}

#[test]
fn a_finished_job_is_shown_for_min_job_age_then_only_by_cacct() {
    let d = TestDaemon::start(&["--cpus", "1", "--min-job-age", "2"]);
    let config = d.run("ccontrol", &["show", "config"]);
    assert!(config.ok().contains("MinJobAge               = 2 sec\n"));
    let id = d.submit(&["--wrap", "true"]);
    d.wait_for(
        id,
        conductor::protocol::JobState::Completed,
        Duration::from_secs(10),
    );
    let shown = d.run(
        "cqueue",
        &["-h", "-j", &id.to_string(), "-t", "all", "-o", "%T"],
    );
    assert_eq!(shown.ok(), "COMPLETED\n");
    std::thread::sleep(Duration::from_millis(2500));
    // slurmctld has purged it: squeue and scontrol no longer know it.
    let gone = d.run("cqueue", &["-h", "-j", &id.to_string(), "-t", "all"]);
    assert_eq!(
        gone.fails_with_one_line(),
        "slurm_load_jobs error: Invalid job id specified"
    );
    let all = d.run("cqueue", &["-h", "-t", "all"]);
    assert_eq!(all.ok(), "");
    let show = d.run("ccontrol", &["show", "job", &id.to_string()]);
    assert_eq!(show.code, 1, "{show:?}");
    // The accounting store still has it.
    let acct = d.run(
        "cacct",
        &["-X", "-n", "-P", "-j", &id.to_string(), "-o", "State"],
    );
    assert_eq!(acct.ok(), "COMPLETED\n");
}

#[test]
fn min_job_age_is_slurms_300_seconds_by_default() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let config = d.run("ccontrol", &["show", "config"]);
    assert!(config.ok().contains("MinJobAge               = 300 sec\n"));
}

#[test]
fn a_pending_job_without_memory_shows_the_nodes_and_an_empty_node_list() {
    let d = TestDaemon::start(&["--cpus", "1", "--mem", "2G"]);
    let id = d.submit(&["-H", "--wrap", "true"]);
    let out = d.run("ccontrol", &["show", "job", &id.to_string()]);
    let text = out.ok();
    for line in [
        "   NodeList=\n",
        "   TRES=cpu=1,mem=2G,node=1,billing=1\n",
        "   Power=\n   \n\n",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    assert!(text.ends_with("   Power=\n   \n\n"));
}

#[test]
fn a_requeued_job_waits_out_slurms_requeue_delay() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(id, JobState::Running, SHORT);
    let before = chrono::Utc::now();
    d.run("ccontrol", &["requeue", &id.to_string()]).ok();
    let job = d.wait_for(id, JobState::Pending, SHORT);
    assert_eq!(job.reason, conductor::protocol::Reason::BeginTime);
    let begin = job.begin_time.expect("a begin time");
    let delay = (begin - before).num_seconds();
    assert!((120..=123).contains(&delay), "held back {delay} s");
    let shown = d.run("cqueue", &["-h", "-j", &id.to_string(), "-o", "%T|%r"]);
    assert_eq!(shown.ok(), "PENDING|BeginTime\n");
    d.run("ccancel", &[&id.to_string()]).ok();
}
