//! Conductor's API and floor benchmark (the metrics the shared CLI harness lacks).
//!
//! Run: `cargo build --release && cargo bench --bench api_bench`
//! (binaries are taken from `target/release`, or `$CONDUCTOR_BIN_DIR`; `$CONDUCTOR_DAEMON_ARGS`
//! adds daemon arguments, e.g. `--containment none`).
//!
//! Each group starts its own private `conductord --cpus 2` on a fresh temporary
//! socket and state directory and stops it afterwards:
//!
//! * (a) API submit throughput: 16 threads, one `conductor::Client` each, submit
//!   held jobs through the Unix socket for ~5 s; a submission returns only after
//!   the daemon has committed it.
//! * (b, c, d) with 2 running blockers holding both CPUs, 100,000 runnable
//!   pending jobs of 1 or 2 CPUs are submitted through the API (16 threads); at
//!   1,000 / 10,000 / 100,000 queued the daemon's VmRSS and the wall time of
//!   `cqueue` and `cqueue --json` are taken; at 100,000 a blocker is cancelled
//!   several times (one job ends, a First Fit pass runs over the whole queue) and
//!   `last_pass_micros` is read from `GET /v1/debug`.
//! * (wide) the pass's worst case: 100,000 pending jobs that cannot use the
//!   one free CPU (2 CPUs, or 1 CPU and more memory than is free); a small
//!   job is started past them and cancelled, and the pass after its end is
//!   read from `last_pass_micros`.
//! * (e) `ccancel -u $USER` with 10,000 held jobs pending, until none is listed.
//! * (f) floors: spawning `true` from Rust; start-up of a trivial Rust binary vs
//!   `cbatch --version` vs one `cbatch` held submit (median and p99 of 1000).
//! * (g) drain through the API: 2,000 `true` jobs submitted by 4 threads, first
//!   submit -> nothing active (the scheduler's drain rate without the CLI).
//!
//! Sizes can be reduced with `API_BENCH_BIG=10000` (queued jobs for b/c/d),
//! `API_BENCH_SECS`, `API_BENCH_FLOOR_RUNS`.
//!
//! Output: a table on stdout and `bench/results/conductor_api.tsv`
//! (columns: anchor metric rep value unit note, as the shared harness writes).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use conductor::Client;
use conductor::protocol::{ListQuery, SubmitRequest};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Out {
    rows: Vec<(String, f64, String, String)>,
}

impl Out {
    fn rec(&mut self, metric: &str, value: f64, unit: &str, note: &str) {
        println!("  {metric:<34} {value:>12.3} {unit:<8} {note}");
        self.rows
            .push((metric.into(), value, unit.into(), note.into()));
    }

    fn write(&self, path: &Path) -> Res<()> {
        let mut text = String::new();
        for (metric, value, unit, note) in &self.rows {
            writeln!(text, "conductor\t{metric}\t1\t{value:.3}\t{unit}\t{note}")?;
        }
        std::fs::write(path, text)?;
        Ok(())
    }
}

struct Daemon {
    child: Child,
    dir: PathBuf,
    server: String,
    pid: u32,
}

impl Daemon {
    fn start(bin: &Path) -> Res<Daemon> {
        Daemon::start_with(bin, &[])
    }

    /// A daemon with 2 CPUs and `extra` options.
    fn start_with(bin: &Path, extra: &[&str]) -> Res<Daemon> {
        let dir = std::env::temp_dir().join(format!(
            "conductor-api-bench-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos() ^ rand_seed()
        ));
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(dir.join("conductord.log"))?;
        let child = Command::new(bin.join("conductord"))
            // The big queues hold more than the default MaxJobCount.
            .args(["--cpus", "2", "--max-job-count", "1000000", "--socket"])
            .arg(dir.join("sock"))
            .arg("--state-dir")
            .arg(dir.join("state"))
            .args(extra)
            // e.g. `--containment none`, to measure what containment costs.
            .args(
                std::env::var("CONDUCTOR_DAEMON_ARGS")
                    .unwrap_or_default()
                    .split_whitespace(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let server = format!("unix:{}", dir.join("sock").display());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(client) = Client::new(Some(&server))
                && let Ok(health) = client.health()
            {
                return Ok(Daemon {
                    child,
                    dir,
                    server,
                    pid: health.pid,
                });
            }
            if Instant::now() > deadline {
                return Err("conductord did not answer within 20 s".into());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn client(&self) -> Res<Client> {
        Ok(Client::new(Some(&self.server))?)
    }

    fn rss_mb(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// Cancels every job first: jobs outlive their daemon by design, so a
    /// blocker left running would load every later measurement.
    fn stop(mut self) {
        if let Ok(client) = self.client()
            && let Ok(jobs) = client.list(&ListQuery {
                fields: Some("job_id".into()),
                ..ListQuery::default()
            })
        {
            let ids: Vec<_> = jobs.iter().map(|job| job.job_id).collect();
            let _ = client.cancel_many(&ids);
            let _ = wait_for(|| Ok(client.debug()?.running == 0), 30);
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                let _ = std::fs::remove_dir_all(&self.dir);
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn rand_seed() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn request(script: &str, cpus: u32, hold: bool) -> SubmitRequest {
    let dir = std::env::temp_dir();
    SubmitRequest {
        name: "bench".into(),
        script: format!("#!/bin/sh\n{script}\n"),
        work_dir: dir.clone(),
        submit_dir: dir,
        stdout: Some("/dev/null".into()),
        ntasks: 1,
        cpus_per_task: cpus,
        hold,
        ..SubmitRequest::default()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// Wall time of one command, in ms (stdout and stderr discarded).
fn time_cmd(cmd: &mut Command) -> f64 {
    let t = Instant::now();
    let ok = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    if ok { ms } else { f64::NAN }
}

fn median_of(runs: usize, mut f: impl FnMut() -> f64) -> f64 {
    f(); // warm-up
    let v = sorted((0..runs).map(|_| f()).collect());
    percentile(&v, 0.5)
}

/// Submits `count` jobs from `threads` threads; returns (elapsed s, ids).
fn submit_parallel(
    d: &Daemon,
    threads: usize,
    count: u64,
    make: Arc<dyn Fn(u64) -> SubmitRequest + Send + Sync>,
) -> Res<f64> {
    let next = Arc::new(AtomicU64::new(0));
    let t = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let client = d.client().map_err(|e| e.to_string());
            let next = next.clone();
            let make = make.clone();
            thread::spawn(move || -> Result<(), String> {
                let client = client?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        return Ok(());
                    }
                    client.submit(&make(i)).map_err(|e| e.to_string())?;
                }
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| "submit thread panicked")??;
    }
    Ok(t.elapsed().as_secs_f64())
}

fn api_throughput(bin: &Path, out: &mut Out) -> Res<()> {
    let d = Daemon::start(bin)?;
    out.rec("rss_idle", d.rss_mb(), "MB", "fresh daemon, VmRSS");
    let secs = env_num("API_BENCH_SECS", 5);
    let threads = 16;
    let stop = Arc::new(AtomicBool::new(false));
    let t = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let client = d.client().map_err(|e| e.to_string());
            let stop = stop.clone();
            thread::spawn(move || -> Result<Vec<f64>, String> {
                let client = client?;
                let req = request("true", 1, true);
                let mut lat = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let s = Instant::now();
                    client.submit(&req).map_err(|e| e.to_string())?;
                    lat.push(s.elapsed().as_secs_f64() * 1000.0);
                }
                Ok(lat)
            })
        })
        .collect();
    thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut lat = Vec::new();
    for h in handles {
        lat.extend(h.join().map_err(|_| "submit thread panicked")??);
    }
    let el = t.elapsed().as_secs_f64();
    let lat = sorted(lat);
    out.rec(
        "api_submit_rate",
        lat.len() as f64 / el,
        "jobs/s",
        &format!("{threads} clients, held jobs, {} in {el:.2} s", lat.len()),
    );
    out.rec(
        "api_submit_latency_p50",
        percentile(&lat, 0.5),
        "ms",
        "per request, under load",
    );
    out.rec(
        "api_submit_latency_p99",
        percentile(&lat, 0.99),
        "ms",
        "per request, under load",
    );
    d.stop();
    Ok(())
}

fn big_queue(bin: &Path, out: &mut Out) -> Res<()> {
    let big = env_num("API_BENCH_BIG", 100_000);
    let d = Daemon::start(bin)?;
    let client = d.client()?;
    // Two 1-CPU blockers hold both CPUs, so everything after them stays pending
    // (reason Resources/Priority) and every pass walks the whole queue.
    let mut blockers = vec![
        client.submit(&request("sleep 100000", 1, false))?,
        client.submit(&request("sleep 100000", 1, false))?,
    ];
    wait_for(|| Ok(client.debug()?.running == 2), 10)?;
    let make: Arc<dyn Fn(u64) -> SubmitRequest + Send + Sync> =
        Arc::new(|i| request("sleep 100000", 1 + (i % 2) as u32, false));
    let cq = bin.join("cqueue");
    let mut queued = 0;
    for level in [1_000, 10_000, 100_000] {
        let level = level.min(big);
        if level <= queued {
            continue;
        }
        let el = submit_parallel(&d, 16, level - queued, make.clone())?;
        out.rec(
            &format!("api_submit_runnable_rate_to_{level}"),
            (level - queued) as f64 / el,
            "jobs/s",
            &format!("16 clients, {queued}->{level} pending behind 2 running blockers"),
        );
        queued = level;
        thread::sleep(Duration::from_millis(500));
        out.rec(&format!("rss_pending_n{level}"), d.rss_mb(), "MB", "VmRSS");
        let runs = if level >= 100_000 { 5 } else { 10 };
        let human = median_of(runs, || {
            time_cmd(Command::new(&cq).env("CONDUCTOR_SERVER", &d.server))
        });
        out.rec(
            &format!("cqueue_n{level}"),
            human,
            "ms",
            &format!("median of {runs}"),
        );
        let json = median_of(runs, || {
            time_cmd(
                Command::new(&cq)
                    .arg("--json=conductor")
                    .env("CONDUCTOR_SERVER", &d.server),
            )
        });
        out.rec(
            &format!("cqueue_json_n{level}"),
            json,
            "ms",
            &format!("median of {runs}"),
        );
        let list = median_of(runs, || {
            let t = Instant::now();
            let n = client.list(&ListQuery::default()).map_or(0, |v| v.len());
            if n == 0 {
                f64::NAN
            } else {
                t.elapsed().as_secs_f64() * 1000.0
            }
        });
        out.rec(
            &format!("api_list_n{level}"),
            list,
            "ms",
            "Client::list (HTTP + JSON decode), median",
        );
    }
    // Pass cost: cancel the running 1-CPU job; its end wakes one pass over the
    // whole queue, which starts the next 1-CPU job (sleep) and stops there.
    let mut passes = Vec::new();
    for _ in 0..7 {
        let before = client.debug()?.passes;
        let victim = blockers.remove(0);
        client.cancel(victim)?;
        wait_for(
            || {
                let dbg = client.debug()?;
                Ok(dbg.passes > before && dbg.running == 2)
            },
            30,
        )?;
        thread::sleep(Duration::from_millis(300));
        let dbg = client.debug()?;
        passes.push(dbg.last_pass_micros as f64 / 1000.0);
        // the newly running jobs become the next victims
        let running = client.list(&ListQuery {
            states: Some("RUNNING".into()),
            ..ListQuery::default()
        })?;
        blockers = running.iter().map(|j| j.job_id).collect();
        blockers.sort();
    }
    let dbg = client.debug()?;
    let p = sorted(passes);
    out.rec(
        &format!("pass_ms_n{}", dbg.pending),
        percentile(&p, 0.5),
        "ms",
        &format!(
            "last_pass_micros after a job end, median of {} (min {:.2} max {:.2}), {} pending",
            p.len(),
            p[0],
            p[p.len() - 1],
            dbg.pending
        ),
    );
    d.stop();
    Ok(())
}

/// The pass's worst case: a CPU is free but no pending job fits in it.
/// 2 CPUs and 1000 MiB; a running blocker holds 1 CPU and 600 MiB, and
/// 100,000 pending jobs ask for 2 CPUs or for 1 CPU and 600 MiB, so none
/// fits. Several times a 1-CPU job is submitted (it starts past the whole
/// queue) and cancelled: its end runs a pass over a queue that cannot start.
fn wide_queue(bin: &Path, out: &mut Out) -> Res<()> {
    let big = env_num("API_BENCH_BIG", 100_000);
    let d = Daemon::start_with(bin, &["--mem", "1000M"])?;
    let client = d.client()?;
    // `--mem=0` asks for all the memory, so no memory is asked with None.
    let sized = |script: &str, cpus: u32, memory_mb: u64| SubmitRequest {
        memory_mb: (memory_mb > 0).then_some(memory_mb),
        ..request(script, cpus, false)
    };
    client.submit(&sized("sleep 100000", 1, 600))?;
    wait_for(|| Ok(client.debug()?.running == 1), 10)?;
    let make: Arc<dyn Fn(u64) -> SubmitRequest + Send + Sync> = Arc::new(move |i| {
        if i % 2 == 0 {
            sized("sleep 100000", 2, 0)
        } else {
            sized("sleep 100000", 1, 600)
        }
    });
    let el = submit_parallel(&d, 16, big, make)?;
    out.rec(
        &format!("api_submit_unfit_rate_to_{big}"),
        big as f64 / el,
        "jobs/s",
        "16 clients, pending jobs that do not fit in the free CPU",
    );
    thread::sleep(Duration::from_millis(500));
    let mut passes = Vec::new();
    for _ in 0..7 {
        let small = client.submit(&sized("sleep 100000", 1, 0))?;
        wait_for(|| Ok(client.debug()?.running == 2), 30)?;
        let before = client.debug()?.passes;
        client.cancel(small)?;
        wait_for(
            || {
                let dbg = client.debug()?;
                Ok(dbg.passes > before && dbg.running == 1)
            },
            30,
        )?;
        thread::sleep(Duration::from_millis(300));
        passes.push(client.debug()?.last_pass_micros as f64 / 1000.0);
    }
    let dbg = client.debug()?;
    let p = sorted(passes);
    out.rec(
        &format!("pass_unfit_ms_n{}", dbg.pending),
        percentile(&p, 0.5),
        "ms",
        &format!(
            "last_pass_micros after a job end, 1 CPU free, nothing fits, median of {} (min {:.2} max {:.2})",
            p.len(),
            p[0],
            p[p.len() - 1]
        ),
    );
    d.stop();
    Ok(())
}

fn wait_for(mut f: impl FnMut() -> Res<bool>, secs: u64) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f()? {
        if Instant::now() > deadline {
            return Err("timed out waiting for the daemon".into());
        }
        thread::sleep(Duration::from_millis(5));
    }
    Ok(())
}

fn cancel_all(bin: &Path, out: &mut Out) -> Res<()> {
    let n = 10_000;
    let d = Daemon::start(bin)?;
    let client = d.client()?;
    submit_parallel(&d, 16, n, Arc::new(|_| request("true", 1, true)))?;
    let user = uzers_name();
    let t = Instant::now();
    let ok = Command::new(bin.join("ccancel"))
        .args(["-u", &user])
        .env("CONDUCTOR_SERVER", &d.server)
        .status()?
        .success();
    let cmd = t.elapsed().as_secs_f64();
    wait_for(|| Ok(client.debug()?.pending == 0), 120)?;
    let empty = t.elapsed().as_secs_f64();
    out.rec(
        "cancel_all_n10000_cmd",
        cmd,
        "s",
        if ok {
            "ccancel -u USER, one call"
        } else {
            "ccancel FAILED"
        },
    );
    out.rec(
        "cancel_all_n10000_until_empty",
        empty,
        "s",
        "until debug().pending == 0",
    );
    d.stop();
    Ok(())
}

fn uzers_name() -> String {
    let out = Command::new("id").arg("-un").output();
    out.ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "root".into())
}

fn drain_api(bin: &Path, out: &mut Out) -> Res<()> {
    let n = 2_000;
    let d = Daemon::start(bin)?;
    let client = d.client()?;
    let t = Instant::now();
    submit_parallel(&d, 4, n, Arc::new(|_| request("true", 1, false)))?;
    let submitted = t.elapsed().as_secs_f64();
    wait_for(
        || {
            let dbg = client.debug()?;
            Ok(dbg.pending == 0 && dbg.running == 0)
        },
        300,
    )?;
    let el = t.elapsed().as_secs_f64();
    out.rec(
        "drain_api_rate",
        n as f64 / el,
        "jobs/s",
        &format!("{n} `true` jobs, 4 API clients, first submit -> idle {el:.2} s (submits done at {submitted:.2} s)"),
    );
    d.stop();
    Ok(())
}

fn trivial_binary() -> Res<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-floor");
    std::fs::create_dir_all(&dir)?;
    let src = dir.join("trivial.rs");
    std::fs::write(&src, "fn main() {}\n")?;
    let exe = dir.join("trivial");
    let ok = Command::new("rustc")
        .args(["-C", "opt-level=3", "-o"])
        .arg(&exe)
        .arg(&src)
        .status()?
        .success();
    if !ok {
        return Err("rustc could not build the trivial binary".into());
    }
    Ok(exe)
}

fn floors(bin: &Path, out: &mut Out) -> Res<()> {
    let runs = env_num("API_BENCH_FLOOR_RUNS", 1000) as usize;
    // spawning `true` from Rust, back to back
    let t = Instant::now();
    for _ in 0..runs {
        Command::new("true").status()?;
    }
    let el = t.elapsed().as_secs_f64();
    out.rec(
        "spawn_true_rate",
        runs as f64 / el,
        "jobs/s",
        "Command::new(\"true\").status() loop",
    );

    let trivial = trivial_binary()?;
    let d = Daemon::start(bin)?;
    let cbatch = bin.join("cbatch");
    let mut series = |name: &str, mk: &dyn Fn() -> Command| -> Res<f64> {
        let _ = time_cmd(&mut mk()); // warm-up
        let v: Vec<f64> = (0..runs).map(|_| time_cmd(&mut mk())).collect();
        if v.iter().any(|x| x.is_nan()) {
            return Err(format!("{name}: a call failed").into());
        }
        let v = sorted(v);
        let (p50, p99) = (percentile(&v, 0.5), percentile(&v, 0.99));
        out.rec(
            &format!("{name}_p50"),
            p50,
            "ms",
            &format!("fork+exec+wait from Rust, {runs} runs"),
        );
        out.rec(&format!("{name}_p99"), p99, "ms", "");
        Ok(p50)
    };
    let base = series("start_trivial_rust", &|| Command::new(&trivial))?;
    let ver = series("start_cbatch_version", &|| {
        let mut c = Command::new(&cbatch);
        c.arg("--version");
        c
    })?;
    let server = d.server.clone();
    let sub = series("cbatch_submit_held", &|| {
        let mut c = Command::new(&cbatch);
        c.args(["--parsable", "--hold", "-o", "/dev/null", "--wrap=true"])
            .env("CONDUCTOR_SERVER", &server);
        c
    })?;
    out.rec("cbatch_version_over_trivial", ver / base, "x", "p50 ratio");
    out.rec("cbatch_submit_over_trivial", sub / base, "x", "p50 ratio");
    d.stop();
    Ok(())
}

fn main() -> Res<()> {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let bin = std::env::var("CONDUCTOR_BIN_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release"),
        PathBuf::from,
    );
    for b in ["conductord", "cbatch", "cqueue", "ccancel"] {
        if !bin.join(b).exists() {
            return Err(format!(
                "{} missing: run `cargo build --release` first",
                bin.join(b).display()
            )
            .into());
        }
    }
    let results = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&results)?;
    let mut out = Out { rows: Vec::new() };
    println!("conductor api_bench (binaries: {})", bin.display());
    let only = std::env::var("API_BENCH_ONLY").unwrap_or_default();
    let want = |g: &str| only.is_empty() || only.split(',').any(|x| x == g);
    type Group = fn(&Path, &mut Out) -> Res<()>;
    let groups: [(&str, Group); 6] = [
        ("floors", floors),
        ("throughput", api_throughput),
        ("drain", drain_api),
        ("cancel", cancel_all),
        ("big", big_queue),
        ("wide", wide_queue),
    ];
    for (name, f) in groups {
        if want(name) {
            println!("[{name}]");
            f(&bin, &mut out)?;
            out.write(&results.join("conductor_api.tsv"))?;
        }
    }
    println!("raw: {}", results.join("conductor_api.tsv").display());
    Ok(())
}
