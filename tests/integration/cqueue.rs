//! cqueue against a real daemon: formats, filters, ids, sorting, the date
//! line and iteration, the environment, and squeue's error rules.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Local, Utc};
use clap::Parser;
use conductor::cli::cqueue::{self, CqueueArgs};
use conductor::protocol::{
    FieldSet, JobField, JobId, JobInfo, JobList, JobState, ListFormat, ListQuery, Reason,
};

use crate::support::{Output, TestDaemon, bin, run_command, signal, wait_until};

const SHORT: Duration = Duration::from_secs(10);

fn user() -> String {
    conductor::users::user_name(conductor::users::current_uid())
}

fn uid() -> u32 {
    conductor::users::current_uid()
}

fn host() -> String {
    conductor::paths::hostname()
}

fn iso(time: DateTime<Utc>) -> String {
    time.with_timezone(&Local)
        .format("%Y-%m-%dT%H:%M:%S")
        .to_string()
}

/// Runs cqueue with extra environment variables.
fn cqueue_env(d: &TestDaemon, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(bin("cqueue"));
    command
        .args(args)
        .current_dir(&d.work)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    run_command(command, None)
}

/// Waits until a pending job has been looked at by the scheduler.
fn wait_pending_reason(d: &TestDaemon, id: JobId) -> JobInfo {
    let mut job = d.job(id);
    wait_until(SHORT, "the scheduler gives a reason", || {
        job = d.job(id);
        job.state == JobState::Pending && job.reason != Reason::None
    });
    job
}

/// A daemon with one CPU, a running job named `blocker` and pending jobs
/// with these names behind it.
fn queue_behind_a_blocker(names: &[&str]) -> (TestDaemon, JobId, Vec<JobId>) {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let blocker = d.submit(&["-J", "blocker", "-t", "10", "--wrap", "sleep 60"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    let pending = names
        .iter()
        .map(|name| d.submit(&["-J", name, "--mem", "100M", "-t", "5", "--wrap", "true"]))
        .collect::<Vec<_>>();
    for id in &pending {
        wait_pending_reason(&d, *id);
    }
    (d, blocker, pending)
}

#[test]
fn letters_render_slurm_values_for_running_and_pending_jobs() {
    let (d, blocker, pending) = queue_behind_a_blocker(&["beta"]);
    let beta = d.job(pending[0]);
    let format =
        "%i|%A|%F|%K|%j|%u|%U|%t|%T|%D|%C|%c|%m|%b|%r|%R|%N|%P|%a|%E|%k|%o|%q|%Q|%y|%w|%h|%l";
    let out = d.run("cqueue", &["-h", "-o", format]);
    assert_eq!(out.stderr, "");
    let (b, p) = (blocker, beta.job_id);
    assert_eq!(
        out.ok(),
        format!(
            "{p}|{p}|{p}|N/A|beta|{u}|{uid}|PD|PENDING|1|1|1|100M|N/A|{r}|({r})||normal|{u}|\
             (null)|(null)|(null)|normal|0|0|(null)|OK|5:00\n\
             {b}|{b}|{b}|N/A|blocker|{u}|{uid}|R|RUNNING|1|1|1|0|N/A|None|{h}|{h}|normal|{u}|\
             (null)|(null)|(null)|normal|0|0|(null)|OK|10:00\n",
            u = user(),
            uid = uid(),
            r = beta.reason,
            h = host(),
        )
    );
    // Times of a pending job are fixed: no time used, the whole limit left;
    // it starts when the blocker's limit runs out (its reservation).
    let times = d.run("cqueue", &["-h", "-t", "PD", "-o", "%M|%.8L|%S|%e|%V|%Z"]);
    let reserved = d.job(blocker).start_time.expect("started") + chrono::Duration::minutes(10);
    assert_eq!(beta.expected_start, Some(reserved));
    assert_eq!(
        times.ok(),
        format!(
            "0:00|    5:00|{}|N/A|{}|{}\n",
            iso(reserved),
            iso(beta.submit_time),
            d.work.display()
        )
    );
}

#[test]
fn all_prints_every_letter_separated_by_bars() {
    let (d, _, pending) = queue_behind_a_blocker(&["gamma"]);
    let job = d.job(pending[0]);
    let out = d.run("cqueue", &["-t", "PD", "-o", "%all"]);
    let group = uzers::get_group_by_gid(job.gid)
        .map(|g| g.name().to_string_lossy().into_owned())
        .unwrap_or_else(|| job.gid.to_string());
    let id = job.job_id;
    let expected = format!(
        "ACCOUNT|TRES_PER_NODE|MIN_CPUS|MIN_TMP_DISK|END_TIME|FEATURES|GROUP|OVER_SUBSCRIBE|\
         JOBID|NAME|COMMENT|TIME_LIMIT|MIN_MEMORY|REQ_NODES|COMMAND|PRIORITY|QOS|REASON||ST|\
         USER|RESERVATION|WCKEY|EXC_NODES|NICE|S:C:T|JOBID|EXEC_HOST|CPUS|NODES|DEPENDENCY|\
         ARRAY_JOB_ID|GROUP|SOCKETS_PER_NODE|CORES_PER_SOCKET|THREADS_PER_CORE|ARRAY_TASK_ID|\
         TIME_LEFT|TIME|NODELIST|CONTIGUOUS|PARTITION|PRIORITY|NODELIST(REASON)|START_TIME|\
         STATE|UID|SUBMIT_TIME|LICENSES|CORE_SPEC|SCHEDNODES|WORK_DIR\n\
         {u}|N/A|1|0|N/A|(null)|{group}|OK|{id}|gamma|(null)|5:00|100M||(null)|\
         0.00000000000000|normal|{r}||PD|{u}|(null)|(null)||0|*:*:*|{id}|n/a|1|1|(null)|{id}|\
         {gid}|*|*|*|N/A|5:00|0:00||0|normal|0|({r})|{start}|PENDING|{uid}|{submit}|(null)|N/A|\
         (null)|{work}\n",
        r = job.reason,
        start = iso(job.expected_start.expect("reserved behind the blocker")),
        u = user(),
        gid = job.gid,
        uid = uid(),
        submit = iso(job.submit_time),
        work = d.work.display(),
    );
    assert_eq!(out.ok(), expected);
    assert_eq!(out.stderr, "");
}

#[test]
fn unknown_letters_are_printed_as_written_and_reported() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["-J", "lit", "--wrap", "sleep 30"]);
    d.wait_for(id, JobState::Running, SHORT);
    let out = d.run("cqueue", &["-h", "-o", "[%i] %-10j %.5t|%!"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, format!("[{id}] %-10j     R|%!\n"));
    assert_eq!(
        out.stderr,
        "cqueue: error: Invalid job format specification: -\n\
         cqueue: error: Invalid job format specification: !\n"
    );
}

#[test]
fn long_field_names_are_padded_but_not_separated() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["-J", "named", "-c", "1", "--wrap", "sleep 30"]);
    d.wait_for(id, JobState::Running, SHORT);
    let job = d.job(id);
    let out = d.run("cqueue", &["-O", "JobID,Name:8,STATE:.10,reasonlist"]);
    let host = host();
    assert_eq!(
        out.ok(),
        format!(
            "{:<20}{:<8}{:>10}{:<20}\n{:<20}{:<8}{:>10}{:<20}\n",
            "JOBID",
            "NAME",
            "STATE",
            "NODELIST(REASON)",
            id.to_string(),
            "named",
            "RUNNING",
            &host[..host.len().min(20)],
        )
    );
    let files = d.run(
        "cqueue",
        &[
            "-h",
            "--Format=stdout:0 ,STDERR:0 ,stdin:0 ,numtasks:0 ,cpus-per-task:0 ,tres-alloc:0 ,\
             exit_code:0 ,Cluster:0 ,PriorityLong:0",
        ],
    );
    assert_eq!(
        files.ok(),
        format!(
            "{} {} /dev/null 1 1 cpu=1,node=1,billing=1 0 conductor 0\n",
            job.stdout.display(),
            job.stderr.display()
        )
    );
    let bad = d.run("cqueue", &["-h", "-O", "jobid:6,nosuch:4,name:4"]);
    assert_eq!(bad.code, 0);
    assert_eq!(bad.stdout, format!("{id:<6}name\n"));
    assert_eq!(
        bad.stderr,
        "cqueue: error: Invalid job format specification: nosuch\n"
    );
    let both = d.run("cqueue", &["-o", "%i", "-O", "jobid"]);
    assert_eq!(
        both.fails_with_one_line(),
        "cqueue: error: -O (--Format) is incompatible with -o (--format)"
    );
}

#[test]
fn filters_by_name_partition_user_and_state() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let done = d.submit(&["-J", "a", "--wrap", "true"]);
    d.wait_for(done, JobState::Completed, SHORT);
    let run = d.submit(&["-J", "b", "--wrap", "sleep 30"]);
    d.wait_for(run, JobState::Running, SHORT);
    let wait = d.submit(&["-J", "c", "--wrap", "true"]);
    wait_pending_reason(&d, wait);
    let ids = |args: &[&str]| -> String {
        let mut argv = vec!["-h", "-o", "%i %j %t"];
        argv.extend_from_slice(args);
        d.run("cqueue", &argv).ok().to_string()
    };
    let (a, b, c) = (
        format!("{done} a CD\n"),
        format!("{run} b R\n"),
        format!("{wait} c PD\n"),
    );
    assert_eq!(ids(&[]), format!("{c}{b}"));
    assert_eq!(ids(&["-n", "b,c"]), format!("{c}{b}"));
    assert_eq!(ids(&["--name=a"]), "");
    assert_eq!(ids(&["--name=a", "-t", "all"]), a);
    assert_eq!(ids(&["-p", "normal"]), format!("{c}{b}"));
    assert_eq!(ids(&["--partition=other,normal", "-n", "c"]), c);
    assert_eq!(ids(&["-p", "other"]), "");
    assert_eq!(ids(&["-u", &user()]), format!("{c}{b}"));
    assert_eq!(ids(&["--user", &uid().to_string(), "-t", "CD"]), a);
    assert_eq!(ids(&["--me"]), format!("{c}{b}"));
    assert_eq!(ids(&["-u", "4242"]), "");
    assert_eq!(ids(&["-t", "PD"]), c);
    assert_eq!(ids(&["-t", "running"]), b);
    assert_eq!(ids(&["--states=CD,pd"]), format!("{a}{c}"));
    assert_eq!(ids(&["-t", "ALL"]), format!("{a}{c}{b}"));
    assert_eq!(ids(&["-t", "SUSPENDED,CG"]), "");
    assert_eq!(ids(&["-A", "none", "-q", "normal"]), "");
    assert_eq!(ids(&["-q", "NORMAL", "-w", &host()]), b);
    // Accepted and without effect on one node.
    assert_eq!(
        ids(&["-a", "-M", "cluster", "--clusters=all", "-r"]),
        format!("{c}{b}")
    );

    let bad_user = d.run("cqueue", &["-o", "%i", "-u", "no_such_user_xyz"]);
    assert_eq!(bad_user.code, 0, "live Slurm exits 0 here");
    assert_eq!(bad_user.stdout, "JOBID\n");
    assert_eq!(
        bad_user.stderr, "cqueue: error: Invalid user: no_such_user_xyz\n\n",
        "squeue ends the warning with an empty line"
    );
    let mixed = d.run(
        "cqueue",
        &[
            "-h",
            "-o",
            "%i",
            "-u",
            &format!("no_such_user_xyz,{}", user()),
        ],
    );
    assert_eq!(mixed.stdout, format!("{wait}\n{run}\n"));

    let bad_state = d.run("cqueue", &["-t", "R,bogus"]);
    assert_eq!(bad_state.code, 1);
    assert_eq!(bad_state.stdout, "");
    assert_eq!(
        bad_state.stderr,
        "cqueue: error: Invalid job state specified: bogus\n\
         cqueue: error: Valid job states include: PENDING,RUNNING,SUSPENDED,COMPLETED,CANCELLED,\
         FAILED,TIMEOUT,NODE_FAIL,PREEMPTED,BOOT_FAIL,DEADLINE,OUT_OF_MEMORY,COMPLETING,\
         CONFIGURING,RESIZING,RESV_DEL_HOLD,REQUEUED,REQUEUE_FED,REQUEUE_HOLD,REVOKED,\
         SIGNALING,SPECIAL_EXIT,STAGE_OUT,STOPPED\n\n"
    );
}

#[test]
fn job_ids_follow_squeue_s_rules() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let done = d.submit(&["-J", "done", "--wrap", "true"]);
    d.wait_for(done, JobState::Completed, SHORT);
    let run = d.submit(&["-J", "run", "--wrap", "sleep 30"]);
    d.wait_for(run, JobState::Running, SHORT);
    let (run_s, done_s) = (run.to_string(), done.to_string());
    let line = format!("{run} run\n");
    let ids = |args: &[&str]| -> Output {
        let mut argv = vec!["-h", "-o", "%i %j"];
        argv.extend_from_slice(args);
        d.run("cqueue", &argv)
    };
    assert_eq!(ids(&["-j", &run_s]).ok(), line);
    assert_eq!(ids(&[&format!("--jobs={run}")]).ok(), line);
    assert_eq!(ids(&[&format!("-j{run}")]).ok(), line);
    assert_eq!(ids(&["-j", "-t", "R", &run_s]).ok(), line);
    assert_eq!(ids(&[&run_s]).ok(), line);
    assert_eq!(ids(&["-j", &format!("{done},{run},999")]).ok(), line);
    // Finished jobs stay hidden by the default states, even when named.
    assert_eq!(ids(&["-j", &done_s]).ok(), "");
    assert_eq!(
        ids(&["-j", &done_s, "-t", "all"]).ok(),
        format!("{done} done\n")
    );
    // A task of a job that is not an array matches nothing.
    assert_eq!(ids(&["-j", &format!("{run}_3")]).ok(), "");

    let one_unknown = d.run("cqueue", &["-j", "999"]);
    assert_eq!(
        one_unknown.fails_with_one_line(),
        "slurm_load_jobs error: Invalid job id specified"
    );
    let one_unknown_task = d.run("cqueue", &["-j", "999_1"]);
    assert_eq!(
        one_unknown_task.fails_with_one_line(),
        "slurm_load_jobs error: Invalid job id specified"
    );
    let several_unknown = d.run("cqueue", &["-j", "998,999", "-o", "%i"]);
    assert_eq!(several_unknown.ok(), "JOBID\n");
    assert_eq!(several_unknown.stderr, "");
    let malformed = d.run("cqueue", &["-j", &format!("{run},x")]);
    assert_eq!(
        malformed.fails_with_one_line(),
        "cqueue: error: Invalid job id: x"
    );
}

#[test]
fn errors_carry_the_name_cqueue_was_invoked_as() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let link = d.dir.path().join("squeue");
    std::os::unix::fs::symlink(bin("cqueue"), &link).expect("symlink");
    let run = |args: &[&str]| {
        let mut command = Command::new(&link);
        command
            .args(args)
            .env("CONDUCTOR_SERVER", &d.server)
            .env("CONDUCTOR_NO_AUTOSTART", "1");
        run_command(command, None)
    };
    assert_eq!(
        run(&["-j", "x"]).fails_with_one_line(),
        "squeue: error: Invalid job id: x"
    );
    let bad = run(&["-o", "%i%-"]);
    assert_eq!(bad.stdout, "JOBID%-\n");
    assert_eq!(
        bad.stderr,
        "squeue: error: Invalid job format specification: -\n"
    );
    assert_eq!(
        run(&["-S", "i,?"]).fails_with_one_line(),
        "squeue: error: Invalid sort specification: ?"
    );
}

#[test]
fn sorting_by_keys_with_directions() {
    let (d, blocker, pending) = queue_behind_a_blocker(&["c", "a", "b"]);
    let (c, a, b) = (pending[0], pending[1], pending[2]);
    // The blocker must have run a whole second for the time-used keys.
    let started = d.job(blocker).start_time.expect("started");
    wait_until(SHORT, "the blocker has run a second", || {
        Utc::now() - started > chrono::Duration::milliseconds(1100)
    });
    let order = |args: &[&str]| -> Vec<String> {
        let mut argv = vec!["-h", "-o", "%i"];
        argv.extend_from_slice(args);
        d.run("cqueue", &argv)
            .ok()
            .lines()
            .map(String::from)
            .collect()
    };
    let ids = |list: &[JobId]| {
        list.iter()
            .map(std::string::ToString::to_string)
            .collect::<Vec<_>>()
    };
    // Default: partition, state (PD before R), priority, then id.
    assert_eq!(order(&[]), ids(&[c, a, b, blocker]));
    assert_eq!(order(&["-S", "j"]), ids(&[a, b, blocker, c]));
    assert_eq!(order(&["-S", "-j"]), ids(&[c, blocker, b, a]));
    assert_eq!(order(&["--sort=-i"]), ids(&[b, a, c, blocker]));
    assert_eq!(order(&["-S", "-t,-i"]), ids(&[blocker, b, a, c]));
    assert_eq!(order(&["-S", "T,V"]), ids(&[c, a, b, blocker]));
    assert_eq!(order(&["-S", "+M,i"]), ids(&[c, a, b, blocker]));
    assert_eq!(order(&["-S", "-M"]), ids(&[blocker, c, a, b]));
    // An unknown start sorts as 100 s from now (squeue's rule): before c's,
    // reserved for when the blocker's 10 minutes run out.
    assert_eq!(
        order(&["-S", "l,u,U,P,Q,C,m,N,S,e,L"]),
        ids(&[a, b, c, blocker])
    );
    let sorted = cqueue_env(&d, &["-h", "-o", "%i"], &[("SQUEUE_SORT", "-i")]);
    assert_eq!(
        sorted.ok().lines().map(String::from).collect::<Vec<_>>(),
        ids(&[b, a, c, blocker])
    );
    let bad = d.run("cqueue", &["-S", "x"]);
    assert_eq!(
        bad.fails_with_one_line(),
        "cqueue: error: Invalid sort specification: x"
    );
}

/// `Mon Jan 05 12:00:00 2026`: day, month, zero-padded day, time, year.
fn is_date_line(line: &str) -> bool {
    let parts: Vec<&str> = line.split(' ').collect();
    parts.len() == 5
        && parts[0].len() == 3
        && parts[1].len() == 3
        && parts[2].len() == 2
        && parts[3].len() == 8
        && parts[4].len() == 4
        && chrono::NaiveDateTime::parse_from_str(line, "%a %b %d %H:%M:%S %Y").is_ok()
}

#[test]
fn the_long_layout_starts_with_a_date_line() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["-J", "longjob", "-t", "1-0", "--wrap", "sleep 30"]);
    d.wait_for(id, JobState::Running, SHORT);
    let out = d.run("cqueue", &["-l"]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(is_date_line(lines[0]), "{:?}", lines[0]);
    assert_eq!(
        lines[1],
        "             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES NODELIST(REASON)"
    );
    let user = user();
    assert!(
        lines[2].starts_with(&format!(
            "{id:>18}    normal  longjob {:>8}  RUNNING ",
            &user[..user.len().min(8)]
        )),
        "{}",
        lines[2]
    );
    assert!(
        lines[2].ends_with(&format!(" 1-00:00:00      1 {}", host())),
        "{}",
        lines[2]
    );
    let quiet = d.run("cqueue", &["-l", "-h"]);
    assert!(!quiet.ok().is_empty());
    assert!(!is_date_line(quiet.ok().lines().next().unwrap_or_default()));
}

/// Runs cqueue for a while and interrupts it, as a person would.
fn iterate_for(d: &TestDaemon, args: &[&str], run_for: Duration) -> (String, String) {
    let child = Command::new(bin("cqueue"))
        .args(args)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cqueue starts");
    std::thread::sleep(run_for);
    signal(child.id(), "INT");
    let out = child.wait_with_output().expect("cqueue ends");
    assert!(!out.status.success(), "interrupted, not finished");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn iterate_redraws_with_a_date_line_until_interrupted() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(id, JobState::Running, SHORT);
    let (stdout, stderr) =
        iterate_for(&d, &["-i", "1", "-o", "%i %t"], Duration::from_millis(2500));
    assert_eq!(stderr, "");
    let blocks: Vec<&str> = stdout.split_terminator("\n\n").collect();
    assert!(blocks.len() >= 2, "{stdout:?}");
    for block in &blocks {
        let lines: Vec<&str> = block.lines().collect();
        assert_eq!(lines.len(), 3, "{block:?}");
        assert!(is_date_line(lines[0]), "{block:?}");
        assert_eq!(&lines[1..], ["JOBID ST", &format!("{id} R")]);
    }
    assert!(stdout.ends_with("\n\n"), "a blank line after each pass");

    let (bare, _) = iterate_for(
        &d,
        &["--iterate=1", "-h", "-o", "%i"],
        Duration::from_millis(1500),
    );
    assert!(bare.starts_with(&format!("{id}\n\n{id}\n\n")), "{bare:?}");
    let bad = d.run("cqueue", &["-i", "0"]);
    assert_eq!(bad.fails_with_one_line(), "cqueue: error: --iterate=0");
}

#[test]
fn the_environment_stands_in_for_missing_options() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let done = d.submit(&["-J", "first", "--wrap", "true"]);
    d.wait_for(done, JobState::Completed, SHORT);
    let run = d.submit(&["-J", "second", "--wrap", "sleep 30"]);
    d.wait_for(run, JobState::Running, SHORT);
    let env = |vars: &[(&str, &str)], args: &[&str]| cqueue_env(&d, args, vars).ok().to_string();
    assert_eq!(
        env(&[("SQUEUE_FORMAT", "%i:%j")], &[]),
        format!("JOBID:NAME\n{run}:second\n")
    );
    assert_eq!(
        env(&[("SQUEUE_FORMAT2", "jobid:.6,name:7")], &["-h"]),
        format!("{run:>6}second \n")
    );
    // An option wins over its variable; -l and -O too.
    assert_eq!(
        env(&[("SQUEUE_FORMAT", "%j")], &["-h", "-o", "%i"]),
        format!("{run}\n")
    );
    assert_eq!(
        env(
            &[("SQUEUE_FORMAT", "%j"), ("SQUEUE_STATES", "all")],
            &["-h", "-O", "jobid:0"]
        ),
        format!("{done}\n{run}\n")
    );
    let vars = [("SQUEUE_FORMAT", "%i"), ("SQUEUE_STATES", "CD")];
    assert_eq!(env(&vars, &["-h"]), format!("{done}\n"));
    assert_eq!(env(&vars, &["-h", "-t", "R"]), format!("{run}\n"));
    let vars = [
        ("SQUEUE_FORMAT", "%i"),
        ("SQUEUE_STATES", "all"),
        ("SQUEUE_NAMES", "first"),
    ];
    assert_eq!(env(&vars, &["-h"]), format!("{done}\n"));
    assert_eq!(env(&vars, &["-h", "-n", "second"]), format!("{run}\n"));
    let vars = [("SQUEUE_FORMAT", "%i"), ("SQUEUE_USERS", "4242")];
    assert_eq!(env(&vars, &["-h"]), "");
    assert_eq!(env(&vars, &["-h", "--me"]), format!("{run}\n"));
    let vars = [("SQUEUE_FORMAT", "%i"), ("SQUEUE_PARTITION", "other")];
    assert_eq!(env(&vars, &["-h"]), "");
    assert_eq!(env(&vars, &["-h", "-p", "normal"]), format!("{run}\n"));
}

#[test]
fn what_workflow_managers_run_parses() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let done = d.submit(&["-J", "uuid-1", "--wrap", "exit 3"]);
    d.wait_ended(done, SHORT);
    let run = d.submit(&["-J", "uuid-1", "--wrap", "sleep 30"]);
    d.wait_for(run, JobState::Running, SHORT);
    let wait = d.submit(&["-J", "other", "--wrap", "true"]);
    wait_pending_reason(&d, wait);
    // Nextflow.
    let nextflow = d.run(
        "cqueue",
        &[
            "--noheader",
            "-o",
            "%i %t",
            "-t",
            "all",
            "-p",
            "normal",
            "-u",
            &user(),
        ],
    );
    assert_eq!(nextflow.ok(), format!("{done} F\n{wait} PD\n{run} R\n"));
    let only = d.run("cqueue", &["--noheader", "--only-job-state", "-t", "all"]);
    assert_eq!(
        only.ok(),
        format!("{done:>18}  F\n{wait:>18} PD\n{run:>18}  R\n")
    );
    // Snakemake.
    let snakemake = d.run(
        "cqueue",
        &[
            "--format=%i|%T",
            "--states=all",
            "--noheader",
            "--name",
            "uuid-1",
        ],
    );
    assert_eq!(snakemake.ok(), format!("{done}|FAILED\n{run}|RUNNING\n"));
    // Cromwell-style liveness check.
    assert_eq!(d.run("cqueue", &["-j", &run.to_string()]).code, 0);
    assert_eq!(d.run("cqueue", &["-j", "424242"]).code, 1);

    let json = d.run("cqueue", &["--json=conductor", "-t", "all", "-n", "uuid-1"]);
    let jobs: Vec<JobInfo> = serde_json::from_str(json.ok()).expect("json");
    let found: Vec<(JobId, JobState)> = jobs.iter().map(|j| (j.job_id, j.state)).collect();
    assert_eq!(
        found,
        vec![(done, JobState::Failed), (run, JobState::Running)]
    );
}

#[test]
fn start_shows_pending_jobs_with_expected_start() {
    let (d, blocker, pending) = queue_behind_a_blocker(&["later", "after"]);
    let (later, after) = (d.job(pending[0]), d.job(pending[1]));
    // The first in line is reserved for when the blocker's 10 minutes run
    // out; the one behind it has no expected start.
    let reserved = d.job(blocker).start_time.expect("started") + chrono::Duration::minutes(10);
    assert_eq!(later.expected_start, Some(reserved));
    assert_eq!(after.expected_start, None);
    let out = d.run("cqueue", &["--start"]);
    let user = user();
    let u = &user[..user.len().min(8)];
    // Sorted by start: an unknown one counts as 100 s from now.
    assert_eq!(
        out.ok(),
        format!(
            "             JOBID PARTITION     NAME     USER ST          START_TIME  NODES \
             SCHEDNODES           NODELIST(REASON)\n\
             {a:>18}    normal    after {u:>8} PD                 N/A      1 (null)               (Priority)\n\
             {l:>18}    normal    later {u:>8} PD {t}      1 (null)               (Resources)\n",
            a = after.job_id,
            l = later.job_id,
            t = iso(reserved),
        )
    );
}

/// A begin time still to come is a pending job's start, as Slurm shows it
/// in `%S` and `StartTime=`, held or not; set later by `ccontrol update`
/// too.
#[test]
fn a_begin_time_still_to_come_is_the_start_shown() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let id = d.submit(&["--begin=now+1hour", "--wrap", "true"]);
    let begin = d.job(id).begin_time.expect("a begin time");
    let shown = d.run("cqueue", &["-h", "-j", &id.to_string(), "-o", "%S"]);
    assert_eq!(shown.ok().trim(), iso(begin));
    let record = d.run("ccontrol", &["show", "job", &id.to_string()]);
    assert!(
        record
            .ok()
            .contains(&format!("StartTime={} EndTime=Unknown", iso(begin))),
        "{record:?}"
    );
    let held = d.submit(&["-H", "--wrap", "true"]);
    let shown = d.run("cqueue", &["-h", "-j", &held.to_string(), "-o", "%S"]);
    assert_eq!(shown.ok().trim(), "N/A");
    d.run(
        "ccontrol",
        &["update", &format!("JobId={held}"), "StartTime=now+1hour"],
    )
    .ok();
    let begin = d.job(held).begin_time.expect("a begin time");
    let shown = d.run("cqueue", &["-h", "-j", &held.to_string(), "-o", "%S"]);
    assert_eq!(shown.ok().trim(), iso(begin));
}

#[test]
fn a_job_list_shows_the_whole_table_in_order() {
    let (d, blocker, pending) = queue_behind_a_blocker(&["p1", "p2"]);
    let jobs: BTreeMap<JobId, JobInfo> = pending.iter().map(|id| (*id, d.job(*id))).collect();
    let out = d.run("cqueue", &["-o", "%.6i %.9P %.4j %.2t %R"]);
    let mut expected = String::from(" JOBID PARTITION NAME ST NODELIST(REASON)\n");
    for (id, job) in &jobs {
        expected.push_str(&format!(
            "{id:>6}    normal {:>4} PD ({})\n",
            job.name, job.reason
        ));
    }
    expected.push_str(&format!("{blocker:>6}    normal bloc  R {}\n", host()));
    assert_eq!(out.ok(), expected);
}

/// A queue with a job in every state and most options set: a running job,
/// pending ones behind it (held, dependent, an array with a throttle, one
/// with comment, account, QOS and begin time), a completed and a cancelled one.
fn varied_queue() -> TestDaemon {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let done = d.submit(&["-J", "done", "--wrap", "true"]);
    d.wait_ended(done, SHORT);
    let blocker = d.submit(&["-J", "blocker", "-t", "10", "--wrap", "sleep 60"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    let dependency = format!("afterok:{blocker}");
    d.submit(&["-J", "after", "-d", &dependency, "--wrap", "true"]);
    d.submit(&["-J", "held", "--hold", "--mem", "100M", "--wrap", "true"]);
    d.submit(&["-J", "arr", "-a", "1-4%2", "-t", "5", "--wrap", "true"]);
    let cancelled = d.submit(&["-J", "gone", "--hold", "--wrap", "true"]);
    d.run("ccancel", &[&cancelled.to_string()]).ok();
    let opts = d.submit(&[
        "-J",
        "opts",
        "--comment",
        "note",
        "-A",
        "acct",
        "-q",
        "high",
        "--begin",
        "now+1hour",
        "-c",
        "1",
        "--exclusive",
        "--wrap",
        "true",
    ]);
    // Until a scheduling pass has looked at it, the last job has no
    // reason; tests that list twice must see the same queue both times.
    wait_until(SHORT, "a reason for the last job", || {
        d.job(opts).reason != Reason::None
    });
    d
}

#[test]
fn a_field_limited_listing_holds_the_same_values_as_the_full_one() {
    let d = varied_queue();
    let client = d.client();
    let all = ListQuery {
        states: Some("all".into()),
        ..ListQuery::default()
    };
    let full = client.list(&all).expect("list");
    assert!(full.len() >= 9, "{full:?}");
    let every_field = client
        .list(&ListQuery {
            fields: Some(FieldSet::all().names()),
            ..all.clone()
        })
        .expect("list");
    assert_eq!(every_field, full, "all fields, nulls left out");
    // The daemon writes whole jobs without building JobInfos: byte for byte
    // what JobInfo's Serialize writes.
    let (status, body) =
        d.raw_http("GET /v1/jobs?states=all HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "{body}");
    let encoded = serde_json::to_string(&JobList { jobs: full.clone() }).expect("encodes");
    assert_eq!(body, encoded);
    let limited_query = |field: JobField| ListQuery {
        fields: Some(field.name().into()),
        ..all.clone()
    };
    for field in JobField::ALL {
        let limited = client.list(&limited_query(*field)).expect("list");
        // Each job as if only this field had been sent.
        let expected: Vec<JobInfo> = full
            .iter()
            .map(|job| {
                let mut only = serde_json::Map::new();
                let value = serde_json::to_value(job).expect("encodes")[field.name()].clone();
                if !value.is_null() {
                    only.insert(field.name().into(), value);
                }
                serde_json::from_value(serde_json::Value::Object(only)).expect("decodes")
            })
            .collect();
        assert_eq!(limited, expected, "{field}");
        let rows = client
            .list(&ListQuery {
                format: Some(ListFormat::Rows),
                ..limited_query(*field)
            })
            .expect("list");
        assert_eq!(rows, expected, "{field} as rows");
    }
    let all_rows = client
        .list(&ListQuery {
            format: Some(ListFormat::Rows),
            ..all.clone()
        })
        .expect("list");
    assert_eq!(all_rows, full, "every field as rows");
    let (status, body) = d.raw_http(
        "GET /v1/jobs?fields=job_id,bogus HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("Invalid job field: bogus"), "{body}");
    let (status, body) = d.raw_http(
        "GET /v1/jobs?fields=job_id,state&format=rows HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(r#"{"fields":["job_id","state"],"jobs":[["#),
        "{body}"
    );
}

#[test]
fn json_passed_through_from_the_daemon_is_the_json_of_the_decoded_jobs() {
    let d = varied_queue();
    let client = d.client();
    for extra in [
        &["-t", "all"][..],
        &[],
        &["-u", "root,0", "-n", "held,arr"],
        &["-t", "CD"],
    ] {
        let mut argv = vec!["cqueue", "--json=conductor"];
        argv.extend_from_slice(extra);
        let plan = CqueueArgs::try_parse_from(&argv)
            .expect("valid")
            .plan("cqueue", &|_| None)
            .expect("valid");
        assert!(plan.filter.daemon_side(), "{argv:?}");
        let jobs = cqueue::fetch(&client, &plan.filter, None).expect("fetch");
        let decoded = cqueue::render(&plan, &jobs, Utc::now()).expect("render");
        let passed = cqueue::json_listing(&client, &plan.filter).expect("listing");
        assert_eq!(passed, decoded, "{argv:?}");
    }
    let out = d.run("cqueue", &["--json=conductor", "-t", "OOM"]);
    assert_eq!(out.ok(), "[]\n");
}

#[test]
fn the_table_from_the_limited_listing_is_the_table_from_the_full_one() {
    let d = varied_queue();
    let client = d.client();
    let long_names = "stdout,stderr,stdin,numtasks,cpus-per-task,exit_code,cluster,tres-alloc,\
                      eligibletime,restartcnt,pendingtime,batchflag,requeue,maxcpus,maxnodes,\
                      groupname";
    let sorts = ["P,t,-p", "BCdDegGHiIjJlLmMNpPQStTuUvVz", "-j,-S,V"];
    for format in [["-o", "%all"], ["-O", long_names]] {
        for sort in sorts {
            for extra in [
                &["-t", "all"][..],
                &["-t", "all", "-r"],
                &[],
                &["-u", "root,0"],
            ] {
                let mut argv = vec!["cqueue", format[0], format[1], "-S", sort];
                argv.extend_from_slice(extra);
                let plan = CqueueArgs::try_parse_from(&argv)
                    .expect("valid")
                    .plan("cqueue", &|_| None)
                    .expect("valid");
                assert!(plan.fields().is_some());
                let now = Utc::now();
                let table = |fields| {
                    let jobs = cqueue::fetch(&client, &plan.filter, fields).expect("fetch");
                    cqueue::render(&plan, &jobs, now).expect("render")
                };
                assert_eq!(table(plan.fields()), table(None), "{argv:?}");
            }
        }
    }
}

/// Naming an array lists its tasks, whether its first task is still known
/// to the daemon (looked up by id) or has ended and left memory (then
/// every job is looked at).
#[test]
fn an_array_named_by_id_lists_its_tasks() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let tasks = |args: &[&str]| -> Vec<String> {
        let mut argv = vec!["-h", "-r", "-o", "%i"];
        argv.extend_from_slice(args);
        let mut lines: Vec<String> = d
            .run("cqueue", &argv)
            .ok()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        lines
    };
    let held = d.submit(&["--hold", "--array=0-2", "--wrap", "true"]);
    let held_tasks: Vec<String> = (0..3).map(|k| format!("{held}_{k}")).collect();
    assert_eq!(tasks(&["-j", &held.to_string()]), held_tasks);
    assert_eq!(tasks(&["-j", &format!("{held},{held}")]), held_tasks);

    // Task 0 ends at once; task 1 runs; task 2 waits for the throttle.
    let array = d.submit(&[
        "--array=0-2%1",
        "--wrap",
        "[ \"$SLURM_ARRAY_TASK_ID\" = 0 ] || sleep 30",
    ]);
    d.wait_for(array, JobState::Completed, SHORT);
    let second = JobId(array.0 + 1);
    d.wait_for(second, JobState::Running, SHORT);
    assert_eq!(
        tasks(&["-j", &array.to_string()]),
        vec![format!("{array}_1"), format!("{array}_2")]
    );
    assert_eq!(
        tasks(&["-j", &second.to_string()]),
        vec![format!("{array}_1")]
    );
    d.run("ccancel", &[&array.to_string(), &held.to_string()])
        .ok();
}

#[test]
fn time_limits_are_whole_minutes_rounded_up_as_slurm_keeps_them() {
    let d = TestDaemon::start(&["--cpus", "1", "--time-limit-unit", "minutes"]);
    let limit = |time: &str| {
        let id = d.submit(&["--hold", "-t", time, "--wrap", "true"]);
        let out = d.run("cqueue", &["-h", "-j", &id.to_string(), "-o", "%l"]);
        out.ok().trim().to_string()
    };
    assert_eq!(limit("10:30"), "11:00");
    assert_eq!(limit("0:30"), "1:00");
    assert_eq!(limit("5"), "5:00");
    assert_eq!(limit("1-00:00:01"), "1-00:01:00");
}
