//! How every client ends, through the one printing path (`cli::Outcome`):
//! a reader that has gone is no error, and what users wait on is said as
//! it happens rather than at the end.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use conductor::protocol::{JobId, JobState};

use crate::support::{TestDaemon, bin, wait_until};

const SHORT: Duration = Duration::from_secs(10);

/// Runs a client against the daemon with its stdout a pipe nobody reads
/// (`cqueue | head` once head has gone); returns its exit code and stderr.
fn with_stdout_closed(d: &TestDaemon, name: &str, args: &[&str]) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(bin(name))
        .args(args)
        .current_dir(&d.work)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("client runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_every_client_quietly_and_successfully() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    d.submit(&["--wrap", "true"]);
    for (name, args) in [
        ("cqueue", &[][..]),
        ("cqueue", &["--json"][..]),
        ("cinfo", &[][..]),
        ("cacct", &[][..]),
        ("cacct", &["-e"][..]),
        ("cdiag", &[][..]),
        ("ccontrol", &["show", "config"][..]),
        ("cbatch", &["--wrap", "true"][..]),
    ] {
        assert_eq!(
            with_stdout_closed(&d, name, args),
            (0, String::new()),
            "{name} {args:?}"
        );
    }
}

#[test]
fn cbatch_wait_says_the_id_before_the_job_ends() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let mut child = Command::new(bin("cbatch"))
        .args(["--parsable", "--wait", "--wrap", "sleep 30"])
        .current_dir(&d.work)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cbatch starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("the id's line");
    let id: JobId = first.trim().parse().expect("a bare id");
    d.wait_for(id, JobState::Running, SHORT);
    assert!(
        child.try_wait().expect("cbatch").is_none(),
        "cbatch still waits while the job runs"
    );

    d.run("ccancel", &[&id.to_string()]).ok();
    wait_until(SHORT, "cbatch to end with the job", || {
        child.try_wait().expect("cbatch").is_some()
    });
    let status = child.wait().expect("cbatch ends");
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("the rest");
    assert_eq!(rest, "", "nothing more on stdout");
    assert_eq!(status.code(), Some(1), "a cancelled job exits 1");
}
