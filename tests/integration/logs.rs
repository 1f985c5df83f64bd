//! Following a job's output through the daemon: `clog` prints it whole or
//! follows it while the job writes, ending when the job ends, and takes up
//! where it left off across a daemon restart; `cbatch --follow` shows it
//! while waiting; the route streams chunked; another user is refused.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use conductor::protocol::JobState;

use crate::support::{TestDaemon, bin};
use crate::users::{home_of, two_users};

const SHORT: Duration = Duration::from_secs(10);

/// A job that writes a line, then more lines a pause apart.
const SLOW_LINES: &str = "echo line1; sleep 2; echo line2; sleep 2; echo line3";

/// `clog ARGS` started in the background with its stdout piped.
fn clog(d: &TestDaemon, args: &[&str]) -> std::process::Child {
    Command::new(bin("clog"))
        .args(args)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("clog starts")
}

/// Waits for the child to exit by itself; its status code.
fn exits_within(child: &mut std::process::Child, timeout: Duration) -> i32 {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "clog did not end with its job");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn clog_prints_a_jobs_output_and_its_stderr() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let job = d.submit(&["-e", "err-%j.txt", "--wrap", "echo out; echo err >&2"]);
    d.wait_for(job, JobState::Completed, SHORT);
    let id = job.to_string();
    assert_eq!(d.run("clog", &[&id]).ok(), "out\n");
    assert_eq!(d.run("clog", &["-e", &id]).ok(), "err\n");
    assert_eq!(d.run("clog", &["-f", &id]).ok(), "out\n", "an ended job");
    // From the middle, as a resumed follow asks.
    let (status, body) = d.raw_http(&format!(
        "GET /v1/jobs/{id}/output?offset=2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(status, 200);
    assert!(body.contains("t\n"), "{body:?}");
    let refused = d.run("clog", &["999999"]);
    assert_eq!(refused.code, 1);
    assert!(refused.fails_with_one_line().starts_with("clog: error: "));
    let bad = d.run("clog", &["x_1"]);
    assert_eq!(
        bad.fails_with_one_line(),
        "clog: error: Invalid job id specified: x_1"
    );
}

#[test]
fn clog_follow_streams_while_the_job_writes_and_ends_with_it() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let job = d.submit(&["--wrap", SLOW_LINES]);
    d.wait_for(job, JobState::Running, SHORT);
    let mut child = clog(&d, &["-f", &job.to_string()]);
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().expect("a line").expect("text"), "line1");
    assert_eq!(
        d.job(job).state,
        JobState::Running,
        "the first line came while the job ran"
    );
    assert_eq!(lines.next().expect("a line").expect("text"), "line2");
    assert_eq!(lines.next().expect("a line").expect("text"), "line3");
    assert!(lines.next().is_none(), "the stream ends with the job");
    assert_eq!(exits_within(&mut child, SHORT), 0);

    // The route itself follows the job until it ends.
    let job = d.submit(&["--wrap", "echo one; sleep 1; echo two"]);
    d.wait_for(job, JobState::Running, SHORT);
    let (status, reply) = d.raw_http(&format!(
        "GET /v1/jobs/{job}/output?follow=true HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(status, 200);
    assert!(
        reply.contains("one\n") && reply.contains("two\n"),
        "{reply:?}"
    );
}

#[test]
fn a_follow_takes_up_where_it_left_off_when_the_daemon_restarts() {
    let mut d = TestDaemon::start(&["--cpus", "1"]);
    let job = d.submit(&["--wrap", SLOW_LINES]);
    d.wait_for(job, JobState::Running, SHORT);
    let mut child = clog(&d, &["-f", &job.to_string()]);
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("read");
    assert_eq!(first, "line1\n");
    d.crash();
    std::thread::sleep(Duration::from_millis(500));
    d.start_again();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).expect("read");
    assert_eq!(rest, "line2\nline3\n", "nothing lost, nothing twice");
    assert_eq!(exits_within(&mut child, SHORT), 0);
}

#[test]
fn cbatch_follow_prints_the_output_while_it_waits() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let out = d.run("cbatch", &["--follow", "--wrap", "echo hello; exit 3"]);
    assert_eq!(out.code, 3, "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(lines[0].starts_with("Submitted batch job "));
    assert_eq!(lines[1], "hello");
}

#[test]
fn another_users_output_is_refused() {
    let Some((alice, bob)) = two_users("l", "m") else {
        return;
    };
    let d = crate::users::system_daemon(&["--cpus", "1"]);
    let home = home_of(&d, &alice);
    let out = alice.run(&d, &home, "cbatch", &["--parsable", "--wrap", "echo mine"]);
    let job = out.ok().trim().to_string();
    let id = job.parse().expect("id");
    d.wait_for(id, JobState::Completed, SHORT);
    assert_eq!(alice.run(&d, &home, "clog", &[&job]).ok(), "mine\n");
    let refused = bob.run(&d, &home, "clog", &[&job]);
    assert_eq!(refused.code, 1);
    assert!(!refused.stdout.contains("mine"));
    assert!(
        refused.fails_with_one_line().contains("ermission"),
        "{refused:?}"
    );
}
