//! Bad input and load: malformed HTTP never hurts the daemon, and many
//! concurrent clients over both transports lose and duplicate nothing.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use conductor::protocol::{JobId, JobState, ListQuery, SubmitRequest};

use crate::support::{TestDaemon, free_port};

/// Sends raw bytes and returns the status code the daemon answered, or 0
/// when it closed the connection without an answer.
fn exchange(d: &TestDaemon, bytes: &[u8], half_close: bool) -> u16 {
    let mut stream = UnixStream::connect(&d.socket).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = stream.write_all(bytes);
    if half_close {
        let _ = stream.shutdown(std::net::Shutdown::Write);
    }
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let text = String::from_utf8_lossy(&reply);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[test]
fn hundreds_of_malformed_requests_get_4xx_and_the_daemon_keeps_serving() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let huge_header = format!(
        "GET /v1/health HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(512 * 1024)
    );
    let big_body = "x".repeat(9 << 20);
    let cases: Vec<(Vec<u8>, bool)> = vec![
        (b"garbage that is not http\r\n\r\n".to_vec(), true),
        (b"\x00\x01\x02\x03\xff\xfe".to_vec(), true),
        (b"GET\r\n\r\n".to_vec(), true),
        (b"GET /v1/health HTTP/9.9\r\n\r\n".to_vec(), true),
        (huge_header.into_bytes(), true),
        (
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{\"name\":".to_vec(),
            true,
        ),
        (
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
                .to_vec(),
            false,
        ),
        (
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]".to_vec(),
            false,
        ),
        (
            b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnull".to_vec(),
            false,
        ),
        (
            b"DELETE /v1/jobs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            false,
        ),
        (
            b"GET /v1/jobs/99999999999999999999999 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            false,
        ),
        (
            b"GET /v1/jobs?ids=1,x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            false,
        ),
        (
            b"GET /v1/jobs?bogus=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            false,
        ),
        (
            b"GET /%ff%fe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
            false,
        ),
        (
            b"PATCH /v1/jobs/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\nConnection: close\r\n\r\n{\"cpus\":\"x\"}".to_vec(),
            false,
        ),
        (
            format!(
                "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big_body}",
                big_body.len()
            )
            .into_bytes(),
            false,
        ),
    ];
    let mut sent = 0;
    for round in 0..20 {
        for (bytes, half_close) in &cases {
            let status = exchange(&d, bytes, *half_close);
            assert!(
                status == 0 || (400..500).contains(&status),
                "round {round}: {:?} got {status}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(60)])
            );
            sent += 1;
        }
    }
    assert!(sent >= 300);
    let health = d.client().health().expect("still serving");
    assert_eq!(health.status, "ok");
    let id = d.submit(&["--wrap", "true"]);
    d.wait_for(id, JobState::Completed, Duration::from_secs(10));
}

/// Latency percentile of sorted samples.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[test]
fn thirty_two_clients_over_both_transports_lose_and_duplicate_nothing() {
    const CLIENTS: usize = 32;
    const OPERATIONS: usize = 20_000;
    let port = free_port();
    let d = TestDaemon::start(&["--cpus", "1", "--listen", &format!("127.0.0.1:{port}")]);
    let tcp = format!("http://127.0.0.1:{port}");
    let token = d.token().expect("token");
    let template = SubmitRequest {
        name: "load".into(),
        script: "#!/bin/sh\ntrue\n".into(),
        work_dir: d.work.clone(),
        submit_dir: d.work.clone(),
        ntasks: 1,
        cpus_per_task: 1,
        hold: true,
        ..SubmitRequest::default()
    };
    let started = Instant::now();
    let workers: Vec<_> = (0..CLIENTS)
        .map(|n| {
            let client = if n % 2 == 0 {
                d.client()
            } else {
                conductor::Client::new(Some(&tcp))
                    .expect("client")
                    .with_token(token.clone())
            };
            let template = template.clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut ids = Vec::new();
                let mut errors = 0;
                // Each round is three operations: submit, list, cancel.
                for round in 0..OPERATIONS / CLIENTS / 3 + 1 {
                    let request = SubmitRequest {
                        name: format!("load-{n}-{round}"),
                        ..template.clone()
                    };
                    let t = Instant::now();
                    let Ok(id) = client.submit(&request) else {
                        errors += 1;
                        continue;
                    };
                    latencies.push(t.elapsed());
                    ids.push(id);
                    let t = Instant::now();
                    match client.list(&ListQuery {
                        ids: Some(id.to_string()),
                        ..ListQuery::default()
                    }) {
                        Ok(jobs) if jobs.len() == 1 => latencies.push(t.elapsed()),
                        _ => errors += 1,
                    }
                    let t = Instant::now();
                    match client.cancel(id) {
                        Ok(_) => latencies.push(t.elapsed()),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, ids, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut ids: Vec<JobId> = Vec::new();
    let mut errors = 0;
    for worker in workers {
        let (l, i, e) = worker.join().expect("worker");
        latencies.extend(l);
        ids.extend(i);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    println!(
        "load: {} operations by {CLIENTS} clients in {elapsed:?} ({:.0}/s); p50 {:?}, p99 {:?}",
        latencies.len(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    assert_eq!(errors, 0);
    assert!(latencies.len() >= OPERATIONS);
    let unique: BTreeSet<JobId> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "no id was handed out twice");
    let stored = d
        .client()
        .list(&ListQuery {
            states: Some("all".into()),
            ..ListQuery::default()
        })
        .expect("list");
    assert_eq!(stored.len(), ids.len(), "every acknowledged job is stored");
    assert!(stored.iter().all(|job| job.state == JobState::Cancelled));
}

/// Mounts a small tmpfs for the test's state, or says why it cannot.
struct SmallDisk(std::path::PathBuf);

impl SmallDisk {
    fn mount(path: &std::path::Path, size: &str) -> Option<SmallDisk> {
        std::fs::create_dir_all(path).ok()?;
        let mounted = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .status()
            .ok()?;
        mounted.success().then(|| SmallDisk(path.to_path_buf()))
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_full_disk_refuses_submissions_clearly_and_recovers() {
    if !rustix::process::getuid().is_root() {
        println!("skipped: needs root to mount a small file system");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state");
    let Some(_disk) = SmallDisk::mount(&state, "4M") else {
        println!("skipped: cannot mount a tmpfs here");
        return;
    };
    let socket = dir.path().join("s.sock");
    let mut daemon = std::process::Command::new(crate::support::bin("conductord"))
        .args(["--cpus", "1", "--socket"])
        .arg(&socket)
        .arg("--state-dir")
        .arg(&state)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("daemon");
    crate::support::wait_until(Duration::from_secs(10), "the daemon answers", || {
        UnixStream::connect(&socket).is_ok()
    });
    let server = format!("unix:{}", socket.display());
    let cbatch = |args: &[&str]| {
        let mut command = std::process::Command::new(crate::support::bin("cbatch"));
        command
            .args(args)
            .current_dir(dir.path())
            .env("CONDUCTOR_SERVER", &server);
        crate::support::run_command(command, None)
    };
    let first = cbatch(&["--parsable", "--hold", "--wrap", "true"]);
    let first: JobId = first.ok().trim().parse().expect("id");

    // Fill the disk to the last byte.
    let filler = state.join("filler");
    let mut file = std::fs::File::create(&filler).expect("filler");
    let chunk = vec![0u8; 64 * 1024];
    while file.write_all(&chunk).is_ok() {}
    let _ = file.write_all(&[0u8; 512]);
    drop(file);

    let refused = cbatch(&["--hold", "--wrap", "true"]);
    let line = refused.fails_with_one_line();
    assert!(
        line.starts_with("cbatch: error: Batch job submission failed: the job store failed:"),
        "{line}"
    );
    // Reads keep working.
    let client = conductor::Client::new(Some(&server)).expect("client");
    let jobs = client.list(&ListQuery::default()).expect("list");
    assert_eq!(
        jobs.iter().map(|j| j.job_id).collect::<Vec<_>>(),
        vec![first]
    );

    // Space returns, and so do submissions, with nothing half-written.
    std::fs::remove_file(&filler).expect("free space");
    let again = cbatch(&["--parsable", "--hold", "--wrap", "true"]);
    let again: JobId = again.ok().trim().parse().expect("id");
    assert!(again > first);
    let jobs = client.list(&ListQuery::default()).expect("list");
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    let _ = daemon.kill();
    let _ = daemon.wait();
}

/// True once the daemon has closed `stream` (a read returns end of file or
/// an error) within `limit`.
fn closed_within(stream: &mut UnixStream, limit: Duration) -> bool {
    stream.set_read_timeout(Some(limit)).expect("timeout");
    let mut byte = [0u8; 1];
    !matches!(stream.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        || e.kind() == std::io::ErrorKind::TimedOut)
}

#[test]
fn three_hundred_idle_connections_do_not_stop_submissions_or_jobs() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let running = d.submit(&["--wrap", "sleep 1; echo done"]);
    let held: Vec<UnixStream> = (0..300)
        .map(|_| UnixStream::connect(&d.socket).expect("connect"))
        .collect();
    let started = Instant::now();
    let id = d.submit(&["--wrap", "echo ok"]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "cbatch took {:?} with 300 idle connections",
        started.elapsed()
    );
    for job in [running, id] {
        assert_eq!(
            d.wait_ended(job, Duration::from_secs(20)).state,
            JobState::Completed
        );
    }
    drop(held);
}

#[test]
fn connections_over_a_users_bound_are_closed_at_once_and_the_bound_frees_up() {
    let d = TestDaemon::start(&["--cpus", "1", "--max-connections-per-user", "8"]);
    // The start-up probe's connection gives its seat back first.
    std::thread::sleep(Duration::from_millis(300));
    let held: Vec<UnixStream> = (0..8)
        .map(|_| UnixStream::connect(&d.socket).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut ninth = UnixStream::connect(&d.socket).expect("the kernel still accepts");
    assert!(
        closed_within(&mut ninth, Duration::from_secs(2)),
        "the ninth connection was kept: {}",
        d.log()
    );
    let refused = d.run("cbatch", &["--wrap", "true"]);
    assert_ne!(refused.code, 0, "cbatch got through a full bound");
    assert!(d.log().contains("refused: too many connections open"));
    drop(held);
    std::thread::sleep(Duration::from_millis(200));
    let id = d.submit(&["--wrap", "true"]);
    assert_eq!(
        d.wait_ended(id, Duration::from_secs(20)).state,
        JobState::Completed
    );
}

#[test]
fn an_idle_connection_is_closed_before_and_between_requests() {
    let d = TestDaemon::start(&["--cpus", "1", "--idle-timeout", "1"]);
    let mut silent = UnixStream::connect(&d.socket).expect("connect");
    let started = Instant::now();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)),
        "a silent connection stays open"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed too soon"
    );
    let mut kept = UnixStream::connect(&d.socket).expect("connect");
    kept.write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("request");
    kept.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut answer = [0u8; 12];
    kept.read_exact(&mut answer).expect("an answer");
    assert_eq!(&answer, b"HTTP/1.1 200");
    let mut rest = Vec::new();
    // The rest of the answer, then the end of the connection once idle.
    kept.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = kept.read_to_end(&mut rest);
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// The daemon's resident memory in KiB.
fn daemon_rss_kb(d: &TestDaemon) -> u64 {
    let pid = d.client().health().expect("health").pid;
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .expect("status")
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

#[test]
fn a_twenty_thousand_part_array_spec_is_refused_at_once_without_growing_the_daemon() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let before = daemon_rss_kb(&d);
    let request = SubmitRequest {
        name: "wide".into(),
        script: "#!/bin/sh\ntrue\n".into(),
        work_dir: d.work.clone(),
        submit_dir: d.work.clone(),
        ntasks: 1,
        cpus_per_task: 1,
        array: Some(vec!["0-1000"; 20_000].join(",")),
        ..SubmitRequest::default()
    };
    let client = d.client();
    let started = Instant::now();
    let refused = client.submit(&request).expect_err("refused");
    let took = started.elapsed();
    assert!(
        refused
            .to_string()
            .contains("Invalid job array specification"),
        "{refused}"
    );
    assert!(took < Duration::from_millis(100), "refused after {took:?}");
    let grown = daemon_rss_kb(&d).saturating_sub(before);
    assert!(grown < 10 * 1024, "the daemon grew by {grown} KiB");
    // cbatch reports it the same way.
    let spec = vec!["1"; 20_000].join(",");
    let out = d.run("cbatch", &["--array", &spec, "--wrap", "true"]);
    assert!(
        out.fails_with_one_line()
            .contains("Invalid job array specification"),
        "{out:?}"
    );
}

#[test]
fn a_fifo_as_output_or_input_never_holds_the_supervisor() {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1"]);
    let fifo = |name: &str| {
        let path = d.work.join(name);
        let made = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        path.display().to_string()
    };
    // Nobody reads the output FIFO: the job fails to start at once, rather
    // than its supervisor waiting past any time limit or cancel.
    let output = fifo("out.fifo");
    let started = Instant::now();
    let id = d.submit(&["-o", &output, "-t", "0:03", "--wrap", "sleep 300"]);
    let ended = d.wait_ended(id, Duration::from_secs(5));
    assert_eq!(
        (ended.state, ended.reason),
        (
            JobState::Failed,
            conductor::protocol::Reason::JobLaunchFailure
        ),
        "{ended:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // An input FIFO: the job runs (its reads are its own business), and a
    // cancel ends it at once.
    let input = fifo("in.fifo");
    let id = d.submit(&["-i", &input, "--wrap", "cat; sleep 300"]);
    d.wait_for(id, JobState::Running, Duration::from_secs(5));
    let started = Instant::now();
    d.run("ccancel", &[&id.to_string()]).ok();
    assert_eq!(
        d.wait_ended(id, Duration::from_secs(5)).state,
        JobState::Cancelled
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn per_user_and_total_job_limits_refuse_with_slurms_words_and_free_up() {
    let d = TestDaemon::start(&["--cpus", "1", "--max-submit-per-user", "3"]);
    let held: Vec<JobId> = (0..3)
        .map(|_| d.submit(&["--hold", "--wrap", "true"]))
        .collect();
    let over = d.run("cbatch", &["--hold", "--wrap", "true"]);
    assert_eq!(
        over.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: Job violates accounting/QOS policy \
         (job submit limit, user's size and/or time limits)"
    );
    d.run("ccancel", &[&held[0].to_string()]).ok();
    d.wait_ended(held[0], Duration::from_secs(10));
    let array = d.run("cbatch", &["--hold", "--array", "0-1", "--wrap", "true"]);
    assert!(
        array.fails_with_one_line().contains("job submit limit"),
        "each task counts"
    );
    d.submit(&["--hold", "--wrap", "true"]);

    let d = TestDaemon::start(&["--cpus", "1", "--max-job-count", "2"]);
    let first = d.submit(&["--hold", "--wrap", "true"]);
    d.submit(&["--hold", "--wrap", "true"]);
    let full = d.run("cbatch", &["--hold", "--wrap", "true"]);
    assert!(
        full.fails_with_one_line()
            .contains("temporarily unable to accept job"),
        "{full:?}"
    );
    d.run("ccancel", &[&first.to_string()]).ok();
    crate::support::wait_until(Duration::from_secs(10), "room again", || {
        d.run("cbatch", &["--hold", "--wrap", "true"]).code == 0
    });
}

#[test]
fn max_array_size_bounds_array_indices_and_is_shown() {
    let d = TestDaemon::start(&["--cpus", "1", "--max-array-size", "10"]);
    let beyond = d.run("cbatch", &["--array", "0-10", "--hold", "--wrap", "true"]);
    // The daemon refuses it, as slurmctld does: cbatch cannot know the limit.
    assert_eq!(
        beyond.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: Invalid job array specification",
        "{beyond:?}"
    );
    let array = d.submit(&["--array", "0-9", "--hold", "--wrap", "true"]);
    let tasks = d.run(
        "cqueue",
        &["-h", "-r", "-j", &array.to_string(), "-o", "%i"],
    );
    assert_eq!(tasks.ok().lines().count(), 10, "{tasks:?}");
    let config = d.run("ccontrol", &["show", "config"]);
    assert!(
        config.ok().contains("\nMaxArraySize            = 10\n"),
        "{config:?}"
    );
    for refused in ["0", "4000002"] {
        let out = std::process::Command::new(crate::support::bin("conductord"))
            .args(["--max-array-size", refused])
            .output()
            .expect("conductord");
        assert!(!out.status.success(), "--max-array-size {refused} taken");
    }
}
