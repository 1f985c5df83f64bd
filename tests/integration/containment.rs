//! Jobs stay inside what they were given: pinned CPUs, a memory limit that
//! ends OUT_OF_MEMORY, nothing outliving its job, lost supervisors cleaned
//! up, usage accounted. Each check runs twice: with the cgroup backend this
//! machine offers (skipped, saying why, where none is writable) and with
//! `--containment none`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use conductor::protocol::{JobId, JobState};

use crate::support::{TestDaemon, alive, processes_matching, signal, wait_until};

const SHORT: Duration = Duration::from_secs(20);

/// Runs a check once per backend: `$name::cgroup` and `$name::none`.
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn cgroup() {
                if let Some(backend) = super::cgroup_backend() {
                    super::$name(backend);
                }
            }

            #[test]
            fn none() {
                super::$name(&["--containment", "none"]);
            }

            /// cgroup v2 forced: on a hybrid machine, the unified mount
            /// without controllers (tracking, kill and CPU time from the
            /// cgroup; pinning by affinity, memory sampled).
            #[test]
            fn cgroup2() {
                if super::available("cgroup2") {
                    super::$name(&["--containment", "cgroup2"]);
                }
            }
        }
    )*};
}

on_each_backend!(
    jobs_are_pinned_to_their_own_cpus,
    a_job_over_its_memory_limit_ends_out_of_memory,
    nothing_a_job_started_outlives_it,
    a_lost_supervisors_job_is_killed_before_its_cpus_are_reused,
    usage_is_measured,
);

/// Runs a check with each cgroup backend this machine offers (steps have
/// cgroups only there).
macro_rules! on_each_cgroup_backend {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn cgroup() {
                if let Some(backend) = super::cgroup_backend() {
                    super::$name(backend);
                }
            }

            #[test]
            fn cgroup2() {
                if super::available("cgroup2") {
                    super::$name(&["--containment", "cgroup2"]);
                }
            }
        }
    )*};
}

on_each_cgroup_backend!(
    each_step_has_a_cgroup_of_its_own_that_ends_with_it,
    a_job_opens_its_own_gpus_device_nodes_and_no_others,
);

/// The daemon arguments for this machine's cgroup backend, or `None`
/// (printed) where the daemon cannot make cgroups here.
fn cgroup_backend() -> Option<&'static [&'static str]> {
    let probe = TestDaemon::start(&["--cpus", "1"]);
    let config = probe.client().config().expect("config");
    if config.containment == "none" {
        eprintln!(
            "skipped: no writable cgroup tree here (as uid {}), so the cgroup backend is not \
             available; `--containment none` runs instead",
            rustix::process::getuid().as_raw()
        );
        return None;
    }
    Some(&["--containment", "auto"])
}

/// Whether the daemon can use `backend` here; says why not when it cannot.
pub fn available(backend: &str) -> bool {
    let dir = tempfile::tempdir().expect("dir");
    let mut daemon = std::process::Command::new(crate::support::bin("conductord"))
        .args(["--containment", backend, "--socket"])
        .arg(dir.path().join("s.sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    let socket = dir.path().join("s.sock");
    let deadline = Instant::now() + SHORT;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = daemon.try_wait() {
            let out = daemon.wait_with_output().expect("output");
            eprintln!(
                "skipped: --containment {backend} is not available here: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            return false;
        }
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            signal(daemon.id(), "TERM");
            let _ = daemon.wait();
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    panic!("conductord --containment {backend} neither started nor failed");
}

/// The CPUs this process may use (pinning two jobs apart needs two).
fn machine_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

fn output(d: &TestDaemon, id: JobId) -> String {
    std::fs::read_to_string(d.work.join(format!("slurm-{id}.out"))).unwrap_or_default()
}

/// A marker no other test uses, to find a job's processes by.
fn marker(what: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(1);
    format!(
        "{}.{}{}",
        3000 + NEXT.fetch_add(1, Ordering::SeqCst),
        std::process::id(),
        what.len()
    )
}

fn jobs_are_pinned_to_their_own_cpus(backend: &[&str]) {
    if machine_cpus() < 2 {
        eprintln!("skipped: pinning two jobs apart needs two CPUs");
        return;
    }
    let mut args = vec!["--cpus", "2"];
    args.extend(backend);
    let d = TestDaemon::start(&args);
    let script = "grep Cpus_allowed_list /proc/self/status; nproc; sleep 2";
    let a = d.submit(&["--wrap", script]);
    let b = d.submit(&["--wrap", script]);
    d.wait_ended(a, SHORT);
    d.wait_ended(b, SHORT);
    let cpus = |id| {
        let text = output(&d, id);
        let list = text
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
            .map(|l| l.trim().to_string())
            .unwrap_or_else(|| panic!("no affinity in {text:?}"));
        assert_eq!(
            text.lines().nth(1),
            Some("1"),
            "nproc in a 1-CPU job: {text}"
        );
        list
    };
    let (first, second) = (cpus(a), cpus(b));
    assert!(first.parse::<u32>().is_ok(), "exactly one CPU: {first}");
    assert!(second.parse::<u32>().is_ok(), "exactly one CPU: {second}");
    assert_ne!(first, second, "two concurrent 1-CPU jobs share a CPU");
    let booked = |id| d.job(id).cpu_ids;
    assert_ne!(booked(a), booked(b));
}

fn a_job_over_its_memory_limit_ends_out_of_memory(backend: &[&str]) {
    let mut args = vec!["--cpus", "2", "--mem", "4G"];
    args.extend(backend);
    let d = TestDaemon::start(&args);
    let calm = d.submit(&["--mem", "50M", "--wrap", "sleep 4; echo undisturbed"]);
    let started = Instant::now();
    let greedy = d.submit(&[
        "--mem",
        "100M",
        "--wrap",
        "perl -e 'vec($x, (400 << 20) - 1, 8) = 1; sleep 60'",
    ]);
    let ended = d.wait_ended(greedy, SHORT);
    assert_eq!(ended.state, JobState::OutOfMemory, "{ended:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "ended only after {:?}",
        started.elapsed()
    );
    assert_eq!(
        ended.exit_code.map(|c| c.to_string()).as_deref(),
        Some("0:125")
    );
    let calm = d.wait_ended(calm, SHORT);
    assert_eq!(calm.state, JobState::Completed);
    assert_eq!(output(&d, calm.job_id).trim(), "undisturbed");
    let listed = d.run("cqueue", &["-t", "OOM", "-h", "-o", "%i %T"]);
    assert_eq!(listed.ok().trim(), format!("{greedy} OUT_OF_MEMORY"));
    let history = d.run(
        "cacct",
        &[
            "-s",
            "OUT_OF_MEMORY",
            "-X",
            "-n",
            "-P",
            "-o",
            "JobID,State,ExitCode",
        ],
    );
    assert_eq!(history.ok().trim(), format!("{greedy}|OUT_OF_MEMORY|0:125"));
}

/// Waits until no process carries `marker`; panics naming what is left.
fn gone_within(marker: &str, limit: Duration, after: &str) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if processes_matching(marker).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "processes outlived their job {after}: {:?}",
        processes_matching(marker)
    );
}

fn nothing_a_job_started_outlives_it(backend: &[&str]) {
    let mut args = vec!["--cpus", "2", "--kill-wait", "1"];
    args.extend(backend);
    let d = TestDaemon::start(&args);
    // Escapes of every kind: a new session, a double fork, a new group.
    let escape = |m: &str| {
        format!(
            "setsid sleep {m} &\n(sleep {m} &)\n(setsid sh -c 'sleep {m} &' &)\n\
             perl -e 'setpgrp(0, 0); exec q(sleep), q({m})' &\n"
        )
    };
    let m = marker("completed");
    let done = d.submit(&["--wrap", &format!("{}sleep 0.5; echo started", escape(&m))]);
    assert_eq!(d.wait_ended(done, SHORT).state, JobState::Completed);
    gone_within(&m, Duration::from_secs(2), "after it completed");

    let m = marker("cancelled");
    let cancelled = d.submit(&["--wrap", &format!("{}sleep 300", escape(&m))]);
    d.wait_for(cancelled, JobState::Running, SHORT);
    wait_until(SHORT, "the escapes run", || {
        processes_matching(&m).len() >= 4
    });
    d.run("ccancel", &[&cancelled.to_string()]).ok();
    assert_eq!(d.wait_ended(cancelled, SHORT).state, JobState::Cancelled);
    gone_within(&m, Duration::from_secs(2), "after ccancel");

    let m = marker("timeout");
    let late = d.submit(&["-t", "0:02", "--wrap", &format!("{}sleep 300", escape(&m))]);
    assert_eq!(d.wait_ended(late, SHORT).state, JobState::Timeout);
    gone_within(&m, Duration::from_secs(2), "after its time limit");
}

fn a_lost_supervisors_job_is_killed_before_its_cpus_are_reused(backend: &[&str]) {
    let mut args = vec!["--cpus", "1"];
    args.extend(backend);
    let d = TestDaemon::start(&args);
    let m = marker("lost");
    let victim = d.submit(&["--wrap", &format!("setsid sleep {m} & sleep {m}")]);
    d.wait_for(victim, JobState::Running, SHORT);
    wait_until(SHORT, "the job's processes run", || {
        processes_matching(&m).len() >= 2
    });
    // Without a cgroup the supervisor records the job's processes once a
    // second: give it a look at the one that left by setsid.
    std::thread::sleep(Duration::from_millis(1500));
    let next = d.submit(&[
        "--wrap",
        &format!("if pgrep -f 'sleep {m}' >/dev/null; then echo alive; else echo gone; fi"),
    ]);
    let supervisor = supervisor_of(&d, victim);
    signal(supervisor, "KILL");
    wait_until(SHORT, "the supervisor is gone", || !alive(supervisor));
    let lost = d.wait_ended(victim, SHORT);
    assert_eq!(lost.state, JobState::NodeFail, "{lost:?}");
    let next = d.wait_ended(next, SHORT);
    assert_eq!(next.state, JobState::Completed);
    assert_eq!(
        output(&d, next.job_id).trim(),
        "gone",
        "the next job saw the lost one's processes"
    );
    assert!(processes_matching(&m).is_empty());
    assert_no_job_cgroups(&d);
}

fn supervisor_of(d: &TestDaemon, id: JobId) -> u32 {
    let started = d.job(id).start_time.expect("started").timestamp_millis();
    let path = d
        .state_dir
        .join(format!("jobs/{id}-{started}/supervisor.json"));
    let mut pid = None;
    wait_until(SHORT, "the supervisor records itself", || {
        pid = std::fs::read_to_string(&path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|identity| identity["pid"].as_u64());
        pid.is_some()
    });
    pid.expect("pid") as u32
}

/// No `job_<id>` cgroup is left in the daemon's trees.
pub fn assert_no_job_cgroups(d: &TestDaemon) {
    let config = d.client().config().expect("config");
    for dir in &config.containment_dirs {
        let left: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        assert!(left.is_empty(), "cgroups left behind: {left:?}");
    }
}

fn usage_is_measured(backend: &[&str]) {
    let mut args = vec!["--cpus", "2"];
    args.extend(backend);
    let d = TestDaemon::start(&args);
    let touch = d.submit(&[
        "--mem",
        "1G",
        "--wrap",
        "perl -e 'vec($x, (200 << 20) - 1, 8) = 1; sleep 1'",
    ]);
    // One second of CPU exactly: the kernel stops the loop at its limit.
    let busy = d.submit(&["--wrap", "(ulimit -t 1; while :; do :; done); true"]);
    d.wait_ended(touch, SHORT);
    d.wait_ended(busy, SHORT);
    let field = |id: JobId, name: &str| {
        d.run(
            "cacct",
            &["-j", &id.to_string(), "-X", "-n", "-P", "-o", name],
        )
        .ok()
        .trim()
        .to_string()
    };
    let rss = field(touch, "MaxRSS");
    let rss_mb = parse_size_mb(&rss).unwrap_or_else(|| panic!("MaxRSS {rss:?}"));
    assert!(
        (150.0..=300.0).contains(&rss_mb),
        "MaxRSS {rss} for 200 MB touched"
    );
    let cpu = field(busy, "TotalCPU");
    let seconds = parse_cpu_seconds(&cpu).unwrap_or_else(|| panic!("TotalCPU {cpu:?}"));
    assert!(seconds >= 0.8, "TotalCPU {cpu} for a 1-second busy loop");
    assert_no_job_cgroups(&d);

    // With a cgroup, a running job shows its usage so far.
    if !backend.contains(&"none") {
        let running = d.submit(&["--wrap", "(ulimit -t 1; while :; do :; done); sleep 30"]);
        d.wait_for(running, JobState::Running, SHORT);
        wait_until(SHORT, "cacct shows the running job's CPU time", || {
            parse_cpu_seconds(&field(running, "TotalCPU")).is_some_and(|s| s >= 0.8)
        });
        assert_eq!(d.job(running).state, JobState::Running);
        d.run("ccancel", &[&running.to_string()]).ok();
    }
}

/// sacct's sizes: `123K`, `1.50M`, `2G`.
fn parse_size_mb(text: &str) -> Option<f64> {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let number: f64 = number.parse().ok()?;
    Some(match unit {
        "K" => number / 1024.0,
        "M" => number,
        "G" => number * 1024.0,
        _ => return None,
    })
}

/// sacct's CPU times: `MM:SS.mmm`, `HH:MM:SS`, `D-HH:MM:SS`.
fn parse_cpu_seconds(text: &str) -> Option<f64> {
    let (days, rest) = match text.split_once('-') {
        Some((d, rest)) => (d.parse::<f64>().ok()?, rest),
        None => (0.0, text),
    };
    let parts: Vec<f64> = rest
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let seconds = parts.iter().fold(0.0, |total, p| total * 60.0 + p);
    Some(days * 86_400.0 + seconds)
}

#[test]
fn containment_is_named_in_the_config_and_a_missing_backend_refuses_to_start() {
    let d = TestDaemon::start(&["--containment", "none", "--cpu-bind", "none"]);
    let shown = d.run("ccontrol", &["show", "config"]);
    assert!(
        shown.ok().contains("TaskPlugin              = task/none"),
        "{}",
        shown.ok()
    );
    assert!(
        d.log().contains("containment: none (CPUs not pinned"),
        "{}",
        d.log()
    );
    // A forced backend this machine cannot give stops the start with one
    // line: an unprivileged user may make no cgroup in the trees here.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    let mut command = if rustix::process::getuid().is_root() {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
            .arg(crate::support::bin("conductord"));
        c
    } else {
        std::process::Command::new(crate::support::bin("conductord"))
    };
    let refused = command
        .args(["--containment", "cgroup1", "--socket"])
        .arg(dir.path().join("s.sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "started: {stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("containment cgroup1:"), "{stderr}");
}

#[test]
fn def_mem_per_cpu_books_and_limits_jobs_that_ask_for_none() {
    let d = TestDaemon::start(&["--cpus", "2", "--def-mem-per-cpu", "300M"]);
    let id = d.submit(&["-c", "2", "--wrap", "true"]);
    let job = d.wait_ended(id, SHORT);
    assert_eq!(job.memory_mb, 600);
    let shown = d.run("ccontrol", &["show", "config"]);
    assert!(
        shown.ok().contains("DefMemPerCPU            = 300"),
        "{}",
        shown.ok()
    );
}

#[test]
fn a_daemon_that_stops_with_no_job_running_leaves_no_cgroup_directory() {
    let Some(backend) = cgroup_backend() else {
        return;
    };
    let mut args = vec!["--cpus", "1"];
    args.extend(backend);
    let mut d = TestDaemon::start(&args);
    let dirs = d.client().config().expect("config").containment_dirs;
    assert!(!dirs.is_empty());
    let id = d.submit(&["--wrap", "true"]);
    d.wait_for(id, JobState::Completed, SHORT);
    d.stop();
    for dir in &dirs {
        assert!(!dir.exists(), "{} is left", dir.display());
    }
    // With a job running they stay, for the next daemon to find it.
    d.start_again();
    let running = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(running, JobState::Running, SHORT);
    let dirs = d.client().config().expect("config").containment_dirs;
    d.stop();
    assert!(dirs.iter().all(|dir| dir.exists()));
    d.start_again();
    d.run("ccancel", &[&running.to_string()]).ok();
    d.wait_for(running, JobState::Cancelled, SHORT);
}

/// A `crun` step runs in `job_<id>/step_<n>`, inside its job's cgroup; what
/// it leaves running ends when it ends, its usage is its own, and nothing
/// of either cgroup is left after the job.
fn each_step_has_a_cgroup_of_its_own_that_ends_with_it(backend: &[&str]) {
    let mut args = vec!["--cpus", "2"];
    args.extend(backend);
    let d = TestDaemon::start(&args);
    let crun = crate::support::bin("crun").display().to_string();
    let m = marker("step");
    let script = format!(
        "{crun} sh -c 'cat /proc/self/cgroup > step.cgroup; setsid sleep {m} & \
         perl -e \"vec(\\$x, (120 << 20) - 1, 8) = 1; sleep 1\"'\n\
         cat /proc/self/cgroup > batch.cgroup\n\
         sleep 0.5; if pgrep -f 'sleep {m}' >/dev/null; then echo left; else echo gone; fi\n"
    );
    let id = d.submit(&["--mem", "1G", "--wrap", &script]);
    let ended = d.wait_ended(id, SHORT);
    assert_eq!(ended.state, JobState::Completed, "{ended:?}");
    let step = std::fs::read_to_string(d.work.join("step.cgroup")).expect("step cgroup");
    let batch = std::fs::read_to_string(d.work.join("batch.cgroup")).expect("batch cgroup");
    let inside = format!("/job_{id}/step_0");
    assert!(step.contains(&inside), "the step ran in {step}");
    assert!(!batch.contains("/step_"), "the script ran in {batch}");
    assert!(
        batch.contains(&format!("/job_{id}")),
        "the script ran in {batch}"
    );
    assert_eq!(
        output(&d, id).trim(),
        "gone",
        "the step's leftover outlived it"
    );
    assert!(processes_matching(&m).is_empty());
    let lines = d
        .run(
            "cacct",
            &["-j", &id.to_string(), "-n", "-P", "-o", "JobID,MaxRSS"],
        )
        .ok()
        .to_string();
    let rss = lines
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{id}.0|")))
        .unwrap_or_else(|| panic!("no step line in {lines}"))
        .to_string();
    let rss_mb = parse_size_mb(&rss).unwrap_or_else(|| panic!("step MaxRSS {rss:?}"));
    assert!(
        (90.0..=250.0).contains(&rss_mb),
        "step MaxRSS {rss} for 120 MB touched"
    );
    assert_no_job_cgroups(&d);
}

/// With the GPUs' device nodes known (`--gpu-files`; here two harmless
/// nodes stand in for GPUs), a job may open its own GPU's node and not the
/// other's: the v1 devices controller, or a device program on cgroup v2.
fn a_job_opens_its_own_gpus_device_nodes_and_no_others(backend: &[&str]) {
    let mut args = vec!["--cpus", "2", "--gpu-files", "/dev/zero,/dev/full"];
    args.extend(backend);
    let d = TestDaemon::start(&args);
    let config = d.client().config().expect("config");
    if !config.containment_detail.contains("GPU devices isolated") {
        eprintln!(
            "skipped: {} cannot isolate devices here",
            config.containment_detail
        );
        return;
    }
    let probe = "for node in /dev/zero /dev/full; do \
                 if head -c1 $node >/dev/null 2>&1; then echo $node open; else echo $node denied; fi; \
                 done; echo gpus $CUDA_VISIBLE_DEVICES; sleep 1";
    let first = d.submit(&["--gpus", "1", "--wrap", probe]);
    let second = d.submit(&["--gpus", "1", "--wrap", probe]);
    let none = d.submit(&["--wrap", probe]);
    for id in [first, second, none] {
        assert_eq!(d.wait_ended(id, SHORT).state, JobState::Completed);
    }
    let seen: Vec<String> = [first, second, none]
        .iter()
        .map(|id| output(&d, *id))
        .collect();
    let expect = |zero: &str, full: &str, gpus: &str| {
        format!("/dev/zero {zero}\n/dev/full {full}\ngpus {gpus}\n").replace(" \n", "\n")
    };
    let mut gpu_jobs = vec![seen[0].clone(), seen[1].clone()];
    gpu_jobs.sort();
    assert_eq!(
        gpu_jobs,
        vec![expect("denied", "open", "1"), expect("open", "denied", "0")],
        "each job opens its own GPU's node only"
    );
    assert_eq!(
        seen[2],
        expect("denied", "denied", ""),
        "a job without GPUs opens neither"
    );
    assert_no_job_cgroups(&d);
}

/// A cgroup standing for a systemd unit's with `Delegate=yes`: a directory
/// in this process's cgroup v2, marked `trusted.delegate=1` as the system
/// manager marks a delegated unit's, with the `daemon` subgroup that
/// `DelegateSubgroup=daemon` starts the daemon in. Removed when dropped.
struct DelegatedUnit {
    dir: PathBuf,
}

impl DelegatedUnit {
    /// `None` (printed) where this machine cannot make one: no cgroup v2, a
    /// cgroup that is not writable, or no trusted xattrs on cgroupfs.
    fn make() -> Option<DelegatedUnit> {
        let skip = |why: String| {
            eprintln!("skipped: cannot stand in for a delegated systemd unit here: {why}");
            None
        };
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let Some(mount) = mountinfo.lines().find_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            right
                .starts_with("cgroup2 ")
                .then(|| left.split(' ').nth(4).map(PathBuf::from))?
        }) else {
            return skip("no cgroup2 file system is mounted".into());
        };
        let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
        let Some(own) = own.lines().find_map(|l| l.strip_prefix("0::")) else {
            return skip("this process is in no cgroup v2".into());
        };
        let dir = mount.join(own.trim_start_matches('/')).join(format!(
            "conductor-test-unit-{}-{}",
            std::process::id(),
            marker("u")
        ));
        if let Err(e) = std::fs::create_dir(&dir) {
            return skip(format!("mkdir {}: {e}", dir.display()));
        }
        let unit = DelegatedUnit { dir };
        let marked = rustix::fs::setxattr(
            &unit.dir,
            "trusted.delegate",
            b"1",
            rustix::fs::XattrFlags::empty(),
        );
        if let Err(e) = marked {
            return skip(format!("trusted.delegate on {}: {e}", unit.dir.display()));
        }
        std::fs::create_dir(unit.subgroup()).expect("the daemon subgroup");
        Some(unit)
    }

    /// Where `DelegateSubgroup=daemon` starts the daemon.
    fn subgroup(&self) -> PathBuf {
        self.dir.join("daemon")
    }

    /// Starts conductord in `cgroup` (as systemd places its main process),
    /// on `dir`'s socket and state directory.
    fn start(cgroup: &std::path::Path, dir: &std::path::Path) -> std::process::Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("conductord.log"))
            .expect("log");
        let socket = dir.join("conductord.sock");
        let _ = std::fs::remove_file(&socket);
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(r#"echo $$ > "$0" && exec "$@""#)
            .arg(cgroup.join("cgroup.procs"))
            .arg(crate::support::bin("conductord"))
            .args(["--containment", "cgroup2", "--cpus", "2", "--socket"])
            .arg(&socket)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .args(["--time-limit-unit", "seconds"])
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("conductord starts");
        wait_until(SHORT, "the daemon answers", || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
        });
        child
    }
}

impl Drop for DelegatedUnit {
    /// Ends everything still in the stand-in unit (a failed test's daemons,
    /// supervisors and jobs) with `cgroup.kill`, then removes its cgroups,
    /// deepest first.
    fn drop(&mut self) {
        let _ = std::fs::write(self.dir.join("cgroup.kill"), "1");
        let deadline = Instant::now() + SHORT;
        while Instant::now() < deadline
            && std::fs::read_to_string(self.dir.join("cgroup.events"))
                .is_ok_and(|events| events.lines().any(|l| l == "populated 1"))
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        fn remove(dir: &std::path::Path) {
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten().filter(|e| e.path().is_dir()) {
                    remove(&entry.path());
                }
            }
            let _ = std::fs::remove_dir(dir);
        }
        remove(&self.dir);
    }
}

/// The v2 cgroup process `pid` is in, as `/proc/<pid>/cgroup` names it.
fn v2_cgroup_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("0::").map(str::to_string))
        .unwrap_or_default()
}

/// The unit's restart on pure cgroup v2 (issue 13): under
/// `DelegateSubgroup=daemon` systemd starts each daemon in `<unit>/daemon`,
/// which must stay a leaf, so the daemon makes its jobs' cgroups beside
/// it, in `<unit>/<tag>`, where an older daemon of the unit (started in
/// the unit's cgroup itself, before DelegateSubgroup=) made them too. A
/// daemon started after a crash, with a job running, finds that job there.
#[test]
fn under_delegate_subgroup_jobs_are_made_beside_the_daemon_and_found_after_a_crash() {
    if !available("cgroup2") {
        return;
    }
    let Some(unit) = DelegatedUnit::make() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let server = format!("unix:{}", dir.path().join("conductord.sock").display());
    let client = || conductor::Client::new(Some(&server)).expect("client");
    let submit = || {
        let mut cbatch = std::process::Command::new(crate::support::bin("cbatch"));
        cbatch
            .args(["--parsable", "--wrap", "sleep 120"])
            .current_dir(dir.path())
            .env("CONDUCTOR_SERVER", &server)
            .env("CONDUCTOR_NO_AUTOSTART", "1");
        let out = crate::support::run_command(cbatch, None);
        JobId(out.ok().trim().parse().expect("an id"))
    };
    let log = || std::fs::read_to_string(dir.path().join("conductord.log")).unwrap_or_default();
    let running = |id: JobId| {
        let deadline = Instant::now() + SHORT;
        loop {
            let job = client().job(id).expect("the job");
            if job.state == JobState::Running {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} is {:?}, not running\n{}",
                job.state,
                log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let procs =
        |cgroup: &PathBuf| std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
    // Whether a v2 cgroup or any below it has a process.
    let populated = |cgroup: &PathBuf| {
        std::fs::read_to_string(cgroup.join("cgroup.events"))
            .unwrap_or_default()
            .lines()
            .any(|l| l == "populated 1")
    };

    // An older daemon, in the unit's cgroup itself (Delegate=yes alone).
    let mut old = DelegatedUnit::start(&unit.dir, dir.path());
    let dirs = client().config().expect("config").containment_dirs;
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let jobs = dirs[0].clone();
    assert_eq!(
        jobs.parent(),
        Some(unit.dir.as_path()),
        "{}",
        jobs.display()
    );
    let first = submit();
    running(first);
    let first_cgroup = jobs.join(format!("job_{first}"));
    wait_until(SHORT, "job 1 runs in its cgroup", || {
        populated(&first_cgroup)
    });
    let _ = old.kill();
    let _ = old.wait();
    // Where the older daemon would have moved on a machine with controllers.
    let leaf = unit.dir.join(format!(
        "{}.daemon",
        jobs.file_name().and_then(|n| n.to_str()).expect("tag")
    ));
    // (There it holds job 1's supervisor, and stays.)
    let made = std::fs::create_dir(&leaf).is_ok();

    // The unit now has DelegateSubgroup=daemon: each daemon starts in it.
    let mut daemon = DelegatedUnit::start(&unit.subgroup(), dir.path());
    assert_eq!(
        client().config().expect("config").containment_dirs,
        vec![jobs.clone()]
    );
    assert!(
        v2_cgroup_of(daemon.id()).ends_with(&format!(
            "{}/daemon",
            unit.dir.file_name().and_then(|n| n.to_str()).expect("name")
        )),
        "the daemon stays where systemd put it: {}",
        v2_cgroup_of(daemon.id())
    );
    if made {
        assert!(!leaf.exists(), "the older daemon's empty leaf is removed");
    }
    running(first);
    let second = submit();
    running(second);
    let second_cgroup = jobs.join(format!("job_{second}"));
    wait_until(SHORT, "job 2 runs beside the daemon", || {
        populated(&second_cgroup)
    });
    // The subgroup stays a plain leaf (the daemon and the supervisors it
    // forks): nothing below it, no controllers passed on, so systemd may
    // put the next daemon there while these jobs run.
    assert!(procs(&unit.subgroup()).contains(&daemon.id().to_string()));
    let below: Vec<PathBuf> = std::fs::read_dir(unit.subgroup())
        .expect("subgroup")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    assert!(below.is_empty(), "cgroups under the daemon's: {below:?}");
    let passed =
        std::fs::read_to_string(unit.subgroup().join("cgroup.subtree_control")).unwrap_or_default();
    assert!(passed.trim().is_empty(), "controllers enabled: {passed}");

    // A crash with both jobs running: the next daemon, started in the same
    // subgroup, finds them, and cancelling one ends its cgroup.
    let _ = daemon.kill();
    let _ = daemon.wait();
    let mut next = DelegatedUnit::start(&unit.subgroup(), dir.path());
    assert_eq!(
        client().config().expect("config").containment_dirs,
        vec![jobs.clone()]
    );
    running(first);
    running(second);
    for id in [first, second] {
        client().cancel(id).expect("cancel");
    }
    wait_until(SHORT, "the jobs' cgroups are gone", || {
        !first_cgroup.exists() && !second_cgroup.exists()
    });
    signal(next.id(), "TERM");
    assert!(next.wait().expect("wait").success());
    assert!(
        !jobs.exists(),
        "a daemon stopping with no job tidies {}",
        jobs.display()
    );
}
