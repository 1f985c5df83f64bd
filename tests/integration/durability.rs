//! What survives a power loss and what a supervisor is told: a job whose
//! start belongs to an earlier boot is never run again silently, every
//! request to a supervisor arrives, and the daemon's log cannot be forged
//! through what users supply.

use std::path::PathBuf;
use std::time::Duration;

use conductor::protocol::{JobId, JobState, SignalRequest};

use crate::support::{TestDaemon, alive, signal, wait_until};

const SHORT: Duration = Duration::from_secs(20);

/// The job's directory and what its supervisor recorded of itself.
fn identity(d: &TestDaemon, id: JobId) -> (PathBuf, serde_json::Value) {
    let started = d.job(id).start_time.expect("started").timestamp_millis();
    let dir = d.state_dir.join(format!("jobs/{id}-{started}"));
    let read = || -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(dir.join("supervisor.json")).ok()?).ok()
    };
    wait_until(SHORT, "the supervisor records the job's pid", || {
        read().is_some_and(|i| i["job_pid"].is_u64())
    });
    let identity = read().expect("identity");
    (dir, identity)
}

/// Kills a job's supervisor and script, as a power loss would, and leaves
/// its identity file empty, as an unsynced write would be after one.
fn power_loss((dir, identity): (PathBuf, serde_json::Value)) {
    let supervisor = identity["pid"].as_u64().expect("pid") as u32;
    signal(supervisor, "KILL");
    signal(
        identity["job_pid"].as_u64().expect("job pid") as u32,
        "KILL",
    );
    wait_until(SHORT, "the supervisor is gone", || !alive(supervisor));
    std::fs::write(dir.join("supervisor.json"), "").expect("torn identity");
}

#[test]
fn a_job_interrupted_by_a_reboot_is_never_rerun_silently() {
    // Without the requeue delay (121 s by default, as in Slurm).
    let mut d = TestDaemon::start(&["--cpus", "2", "--requeue-delay", "0"]);
    let runs = d.work.join("runs");
    let script = format!("echo $SLURM_JOB_ID >> {}; sleep 300", runs.display());
    let plain = d.submit(&["--wrap", &script]);
    let requeueable = d.submit(&["--requeue", "--wrap", &script]);
    d.wait_for(plain, JobState::Running, SHORT);
    d.wait_for(requeueable, JobState::Running, SHORT);
    let ran = |id: JobId| {
        std::fs::read_to_string(&runs)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == id.to_string())
            .count()
    };
    wait_until(SHORT, "both jobs ran once", || {
        ran(plain) == 1 && ran(requeueable) == 1
    });
    let (first, second) = (identity(&d, plain), identity(&d, requeueable));
    d.crash();
    power_loss(first);
    power_loss(second);
    d.set_env("CONDUCTOR_BOOT_ID", "a-later-boot");
    d.start_again();

    let lost = d.wait_ended(plain, SHORT);
    assert_eq!(lost.state, JobState::NodeFail, "{lost:?}");
    wait_until(SHORT, "the requeued job runs again", || {
        ran(requeueable) == 2
    });
    let again = d.job(requeueable);
    assert_eq!((again.state, again.restarts), (JobState::Running, 1));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ran(plain), 1, "the interrupted job ran again");
    assert!(d.log().contains(&format!(
        "job {plain} was running when the machine went down; NODE_FAIL"
    )));
}

#[test]
fn a_daemon_crash_without_a_reboot_still_queues_a_job_that_never_started() {
    // The same torn identity without a reboot means the supervisor never
    // recorded itself: the job never ran, and simply queues again.
    let mut d = TestDaemon::start(&["--cpus", "1"]);
    let id = d.submit(&["--wrap", "sleep 300"]);
    d.wait_for(id, JobState::Running, SHORT);
    let recorded = identity(&d, id);
    d.crash();
    power_loss(recorded);
    d.start_again();
    let job = d.wait_for(id, JobState::Running, SHORT);
    assert_eq!(job.restarts, 0);
}

#[test]
fn a_signal_and_a_cancel_sent_back_to_back_both_arrive() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "2"]);
    let got = d.work.join("got");
    let script = format!(
        "trap 'echo usr1 >> {}' USR1\ntrap '' TERM\nwhile :; do sleep 0.1; done",
        got.display()
    );
    let id = d.submit(&["--wrap", &script]);
    d.wait_for(id, JobState::Running, SHORT);
    identity(&d, id);
    std::thread::sleep(Duration::from_millis(300));
    let client = d.client();
    client
        .signal(
            id,
            &SignalRequest {
                signal: 10,
                scope: conductor::protocol::SignalScope::BatchShell,
            },
        )
        .expect("signal");
    client.cancel(id).expect("cancel");
    let ended = d.wait_ended(id, SHORT);
    assert_eq!(ended.state, JobState::Cancelled);
    let text = std::fs::read_to_string(&got).unwrap_or_default();
    assert_eq!(text.trim(), "usr1", "the signal before the cancel was lost");
}

#[test]
fn what_users_supply_cannot_forge_a_log_line() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let forged = "x\n2026-01-01T00:00:00.000 conductord: job 999 ended COMPLETED exit 0:0";
    // An output path under /proc cannot be made: the reason carries it.
    let id = d.submit(&["-o", &format!("/proc/{forged}/out"), "--wrap", "true"]);
    let ended = d.wait_ended(id, SHORT);
    assert_eq!(ended.state, JobState::Failed);
    let log = d.log();
    let line = log
        .lines()
        .find(|l| l.contains(&format!("job {id} ended")))
        .expect("the end is logged");
    assert!(line.contains("x\\n2026-01-01"), "escaped in place: {line}");
    assert!(
        !log.lines()
            .any(|l| l.starts_with("2026-01-01T00:00:00.000")),
        "a forged line: {log}"
    );
}
