//! ccancel against a real daemon: ids and array ids, filters, signals,
//! the interactive prompt, and scancel's exit and message rules.

use std::process::Command;
use std::time::Duration;

use conductor::protocol::{JobId, JobState, Reason};

use crate::support::{TestDaemon, bin, run_command, wait_until};

const SHORT: Duration = Duration::from_secs(10);

fn state(d: &TestDaemon, id: JobId) -> JobState {
    d.job(id).state
}

/// A one-CPU daemon with a running job and pending ones behind it, named
/// as given (the first name is the running one).
fn queue(names: &[&str]) -> (TestDaemon, Vec<JobId>) {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let mut ids = Vec::new();
    for (at, name) in names.iter().enumerate() {
        let id = d.submit(&["-J", name, "--wrap", "sleep 60"]);
        if at == 0 {
            d.wait_for(id, JobState::Running, SHORT);
        }
        ids.push(id);
    }
    for id in &ids[1..] {
        wait_until(SHORT, "the scheduler looks at the job", || {
            d.job(*id).reason != Reason::None
        });
    }
    (d, ids)
}

#[test]
fn plain_ids_cancel_and_ignore_jobs_that_ended() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let done = d.submit(&["--wrap", "true"]);
    d.wait_for(done, JobState::Completed, SHORT);
    let run = d.submit(&["--wrap", "sleep 60"]);
    d.wait_for(run, JobState::Running, SHORT);
    let wait = d.submit(&["--wrap", "sleep 60"]);

    let out = d.run("ccancel", &[&done.to_string()]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(state(&d, done), JobState::Completed);

    let out = d.run("ccancel", &[&format!("{wait},{run}")]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (0, "", "")
    );
    assert_eq!(state(&d, wait), JobState::Cancelled);
    d.wait_for(run, JobState::Cancelled, SHORT);

    // An unknown id is no error to a plain cancel (scancel 22.05), and is
    // said only with -v.
    let unknown = d.run("ccancel", &["999"]);
    assert_eq!((unknown.code, unknown.stderr.as_str()), (0, ""));
    let verbose = d.run("ccancel", &["-v", "999"]);
    assert_eq!(
        (verbose.code, verbose.stderr.as_str()),
        (
            0,
            "ccancel: Terminating job 999
\
             ccancel: error: Kill job error on job id 999: Invalid job id specified\n"
        )
    );
    let quiet = d.run("ccancel", &["-Q", "-v", "999"]);
    assert_eq!(
        (quiet.code, quiet.stderr.as_str()),
        (0, "ccancel: Terminating job 999\n")
    );
    let malformed = d.run("ccancel", &["12_[1", "12.batch"]);
    assert_eq!(malformed.code, 1);
    assert_eq!(
        malformed.stderr,
        "ccancel: error: Invalid job id 12_[1\nccancel: error: Invalid job id 12.batch\n"
    );
}

#[test]
fn array_forms_of_ids_work_on_plain_jobs_too() {
    let (d, ids) = queue(&["run", "one", "two"]);
    let (run, one, two) = (ids[0], ids[1], ids[2]);
    // A task index of a job that is no array names nothing: ignored.
    let out = d.run("ccancel", &[&format!("{one}_3"), &format!("{one}_[1-2]")]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(state(&d, one), JobState::Pending);
    // `_*` is every task, which for a plain job is the job.
    let out = d.run("ccancel", &[&format!("{one}_*")]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(state(&d, one), JobState::Cancelled);
    // Tasks of an array that never existed are passed over, as scancel does.
    let out = d.run("ccancel", &["999_3", &format!("{two}")]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(state(&d, two), JobState::Cancelled);
    d.run("ccancel", &[&run.to_string()]).ok();
}

#[test]
fn filters_pick_the_jobs_to_cancel() {
    let (d, ids) = queue(&["a", "b", "c", "d"]);
    let (a, b, c, dd) = (ids[0], ids[1], ids[2], ids[3]);
    let user = conductor::users::user_name(conductor::users::current_uid());
    let silent = |args: &[&str]| {
        let out = d.run("ccancel", args);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (0, "", ""),
            "{args:?}"
        );
    };
    let all_active = || ids.iter().all(|id| !state(&d, *id).is_terminal());

    // Filters that match nothing are silent and do nothing.
    silent(&["-n", "nomatch"]);
    silent(&["-p", "other"]);
    silent(&["-u", "4242"]);
    silent(&["-R", "maintenance"]);
    silent(&["-A", "physics"]);
    silent(&["--wckey", "w"]);
    silent(&["-q", "high"]);
    silent(&["-t", "COMPLETED"]);
    silent(&["-n", "b", "-t", "R"]);
    assert!(all_active());

    silent(&["--jobname", "b"]);
    assert_eq!(state(&d, b), JobState::Cancelled);
    assert!(!state(&d, c).is_terminal());

    silent(&[
        "-n", "c,d", "-t", "PENDING", "-p", "normal", "-u", &user, "-q", "NORMAL",
    ]);
    assert_eq!(state(&d, c), JobState::Cancelled);
    assert_eq!(state(&d, dd), JobState::Cancelled);
    assert_eq!(state(&d, a), JobState::Running);

    silent(&["--me", "--state=r", "-w", &conductor::paths::hostname()]);
    d.wait_for(a, JobState::Cancelled, SHORT);

    let bad_state = d.run("ccancel", &["-t", "bogus"]);
    assert_eq!(bad_state.code, 1);
    assert_eq!(
        bad_state.stderr,
        "Invalid job state specified: bogus\nValid job states are PENDING, RUNNING, and SUSPENDED\n"
    );
    assert_eq!(
        d.run("ccancel", &["-u", "no_such_user_xyz"])
            .fails_with_one_line(),
        "ccancel: error: Invalid user name: no_such_user_xyz"
    );
    assert_eq!(
        d.run("ccancel", &["-v"]).fails_with_one_line(),
        "ccancel: error: No job identification provided"
    );
}

#[test]
fn with_filters_ids_are_narrowed_and_must_be_active() {
    let (d, ids) = queue(&["run", "x", "y"]);
    let (run, x, y) = (ids[0], ids[1], ids[2]);
    let out = d.run("ccancel", &["-n", "x", &x.to_string(), &y.to_string()]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    assert_eq!(state(&d, x), JobState::Cancelled);
    assert_eq!(
        state(&d, y),
        JobState::Pending,
        "y is named but not called x"
    );

    // x has ended: with a filter, naming it is an error; y still goes.
    let out = d.run("ccancel", &["-t", "PD", &x.to_string(), &y.to_string()]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!("ccancel: error: Kill job error on job id {x}: Invalid job id specified\n")
    );
    assert_eq!(state(&d, y), JobState::Cancelled);

    let quiet = d.run("ccancel", &["-Q", "-t", "PD", &x.to_string()]);
    assert_eq!((quiet.code, quiet.stderr.as_str()), (1, ""));
    d.run("ccancel", &[&run.to_string()]).ok();
}

#[test]
fn interactive_asks_before_each_job() {
    let (d, ids) = queue(&["run", "p", "p"]);
    let (run, first, second) = (ids[0], ids[1], ids[2]);
    let out = d.run_with("ccancel", &["-i", "-n", "p"], Some("y\nn\n"), &d.work);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        out.stderr,
        format!(
            "Cancel job_id={first} name=p partition=normal [y/n]? \
             Cancel job_id={second} name=p partition=normal [y/n]? "
        )
    );
    assert_eq!(state(&d, first), JobState::Cancelled);
    assert_eq!(state(&d, second), JobState::Pending);

    // Pending jobs are asked about first; no answer is a no.
    let out = d.run_with(
        "ccancel",
        &["--interactive", &run.to_string(), &second.to_string()],
        Some(""),
        &d.work,
    );
    assert_eq!(
        out.stderr,
        format!(
            "Cancel job_id={second} name=p partition=normal [y/n]? \
             Cancel job_id={run} name=run partition=normal [y/n]? "
        )
    );
    assert_eq!(state(&d, second), JobState::Pending);
    assert_eq!(state(&d, run), JobState::Running);
    d.run("ccancel", &[&run.to_string(), &second.to_string()])
        .ok();
}

#[test]
fn verbose_says_what_is_done_and_other_options_are_accepted() {
    let (d, ids) = queue(&["run", "w"]);
    let (run, wait) = (ids[0], ids[1]);
    let out = d.run("ccancel", &["-v", &run.to_string(), &wait.to_string()]);
    assert_eq!(out.code, 0);
    assert_eq!(
        out.stderr,
        format!("ccancel: Terminating job {wait}\nccancel: Terminating job {run}\n"),
        "pending jobs first"
    );
    d.wait_for(run, JobState::Cancelled, SHORT);
    let accepted = d.run(
        "ccancel",
        &[
            "-H",
            "-M",
            "all",
            "--clusters=all",
            "--ctld",
            "-f",
            &run.to_string(),
        ],
    );
    assert_eq!((accepted.code, accepted.stderr.as_str()), (0, ""));
}

#[test]
fn errors_carry_the_name_ccancel_was_invoked_as() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let link = d.dir.path().join("scancel");
    std::os::unix::fs::symlink(bin("ccancel"), &link).expect("symlink");
    let mut command = Command::new(&link);
    command
        .args(["x", "999"])
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1");
    let out = run_command(command, None);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "scancel: error: Invalid job id x\n");
}

#[test]
fn signal_options_are_checked_before_anything_is_sent() {
    let (d, ids) = queue(&["run"]);
    let run = ids[0];
    let bad = d.run("ccancel", &["-s", "BOGUS", &run.to_string()]);
    assert_eq!(bad.fails_with_one_line(), "Unknown job signal: BOGUS");
    let zero = d.run("ccancel", &["--signal=0", &run.to_string()]);
    assert_eq!(zero.fails_with_one_line(), "Unknown job signal: 0");
    // With --signal, an id that is not an active job is an error.
    let gone = d.run("ccancel", &["-s", "USR1", "999"]);
    assert_eq!(
        gone.fails_with_one_line(),
        "ccancel: error: Kill job error on job id 999: Invalid job id specified"
    );
    let nothing = d.run("ccancel", &["-s", "USR1", "-n", "nomatch"]);
    assert_eq!((nothing.code, nothing.stderr.as_str()), (0, ""));
    assert_eq!(state(&d, run), JobState::Running);
    d.run("ccancel", &[&run.to_string()]).ok();
}

#[test]
fn signals_reach_the_steps_the_batch_shell_or_everything_as_scancel_sends_them() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let log = d.work.join("signals.txt");
    let crun = bin("crun");
    // The batch shell and one step (crun in the background, so the
    // shell's traps run while it waits) each say which signals they got.
    let script = format!(
        "trap 'echo batch USR1 >> {log}' USR1\n\
         trap 'echo batch USR2 >> {log}' USR2\n\
         trap 'echo batch TERM >> {log}' TERM\n\
         {crun} sh -c \"trap 'echo step USR1 >> {log}' USR1; trap 'echo step USR2 >> {log}' USR2; \
         echo step ready >> {log}; while true; do sleep 0.1; done\" &\n\
         while true; do sleep 0.1; done",
        log = log.display(),
        crun = crun.display(),
    );
    let id = d.submit(&["--wrap", &script]);
    d.wait_for(id, JobState::Running, SHORT);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    let lines = |text: String| -> Vec<String> { text.lines().map(str::to_string).collect() };
    wait_until(SHORT, "the step is ready", || read().contains("step ready"));

    // Plain --signal: the steps only, as scancel -s.
    let out = d.run("ccancel", &["-s", "USR1", &id.to_string()]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    wait_until(SHORT, "the step gets USR1", || read().contains("step USR1"));
    // --batch: the batch shell alone.
    let out = d.run("ccancel", &["--signal=SIGUSR2", "--batch", &id.to_string()]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    wait_until(SHORT, "the shell gets USR2", || {
        read().contains("batch USR2")
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        lines(read()),
        ["step ready", "step USR1", "batch USR2"],
        "each signal reached only its own processes"
    );
    // --full: everything, the step (through crun as well) and the shell.
    let out = d.run("ccancel", &["-s", "USR1", "--full", &id.to_string()]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""));
    wait_until(SHORT, "both get USR1", || read().contains("batch USR1"));
    wait_until(SHORT, "the step gets it again", || {
        read().matches("step USR1").count() >= 2
    });
    let out = d.run("ccancel", &["-s", "15", "-v", "-b", &id.to_string()]);
    assert_eq!(out.stderr, format!("ccancel: Signal 15 to job {id}\n"));
    wait_until(SHORT, "TERM arrives", || read().ends_with("batch TERM\n"));
    assert_eq!(state(&d, id), JobState::Running, "a signal is no cancel");
    d.run("ccancel", &[&id.to_string()]).ok();
    d.wait_for(id, JobState::Cancelled, SHORT);
}

#[test]
fn a_signal_for_a_pending_job_is_refused_as_scancel_gives_up_on_it() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let held = d.submit(&["-H", "-J", "keep", "--wrap", "true"]);
    // scancel retries for 95 s, then says this and exits 2020 & 0xff.
    let out = d.run("ccancel", &["-s", "USR1", &held.to_string()]);
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            228,
            format!(
                "ccancel: error: Kill job error on job id {held}: \
                 Job can not be altered now, try again later\n"
            )
            .as_str()
        )
    );
    assert_eq!(state(&d, held), JobState::Pending);
}
