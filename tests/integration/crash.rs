//! Durability, proven by killing the daemon: several clients submit and
//! cancel while the daemon is killed with SIGKILL at random moments and
//! started again, twenty times. Afterwards every acknowledged job exists
//! with what was asked, none ran twice, each ended exactly once, and the
//! books balance throughout.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use conductor::Client;
use conductor::protocol::{JobId, ListQuery, SubmitRequest};

use crate::support::TestDaemon;

/// A small deterministic generator, seeded per run (the seed is printed so
/// a failing run can be repeated with `CRASH_SEED`).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn request(d: &TestDaemon, name: &str, marker: &std::path::Path) -> SubmitRequest {
    SubmitRequest {
        name: name.to_string(),
        script: format!(
            "#!/bin/sh\necho $SLURM_JOB_ID >> {}\nsleep 0.0$(( $SLURM_JOB_ID % 4 ))\n",
            marker.display()
        ),
        work_dir: d.work.clone(),
        submit_dir: d.work.clone(),
        stdout: Some("/dev/null".into()),
        ntasks: 1,
        cpus_per_task: 1,
        ..SubmitRequest::default()
    }
}

#[test]
fn sigkill_at_random_moments_loses_nothing_and_runs_nothing_twice() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 | 1)
        });
    println!("CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let mut d = TestDaemon::start(&["--cpus", "3", "--kill-wait", "1"]);
    let marker = d.work.join("ran.txt");
    // Every id a client was told about, with the name it asked for.
    let acknowledged: Arc<Mutex<BTreeMap<JobId, String>>> = Arc::default();

    for round in 0..20 {
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..3)
            .map(|client_no| {
                let stop = stop.clone();
                let acknowledged = acknowledged.clone();
                let server = d.server.clone();
                let template = request(&d, "", &marker);
                let mut rng = Rng(seed ^ ((round * 3 + client_no + 1) as u64) << 20);
                std::thread::spawn(move || {
                    let client = Client::new(Some(&server)).expect("client");
                    let mut n = 0;
                    while !stop.load(Ordering::SeqCst) {
                        n += 1;
                        let name = format!("r{round}c{client_no}n{n}");
                        let request = SubmitRequest {
                            name: name.clone(),
                            ..template.clone()
                        };
                        if let Ok(id) = client.submit(&request) {
                            acknowledged.lock().expect("lock").insert(id, name);
                            if rng.below(4) == 0 {
                                let _ = client.cancel(id);
                            }
                        } else {
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50 + rng.below(350)));
        d.crash();
        std::thread::sleep(Duration::from_millis(rng.below(100)));
        stop.store(true, Ordering::SeqCst);
        for client in clients {
            client.join().expect("client thread");
        }
        d.start_again();
        let books = d.client().debug().expect("debug");
        assert_eq!(
            books.booked, books.held_by_running_jobs,
            "round {round}: the tracker's books match the running jobs"
        );
    }

    // Let everything finish.
    let client = d.client();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let active = client.list(&ListQuery::default()).expect("list");
        if active.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} jobs never ended",
            active.len()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > 50,
        "the clients got work done: {}",
        acknowledged.len()
    );
    let all: BTreeMap<JobId, _> = client
        .list(&ListQuery {
            states: Some("all".into()),
            ..ListQuery::default()
        })
        .expect("list")
        .into_iter()
        .map(|job| (job.job_id, job))
        .collect();
    for (id, name) in &acknowledged {
        let job = all
            .get(id)
            .unwrap_or_else(|| panic!("acknowledged job {id} is lost"));
        assert_eq!(&job.name, name, "job {id} keeps what was asked");
        assert!(job.state.is_terminal(), "job {id} ended: {:?}", job.state);
    }
    let ran = std::fs::read_to_string(&marker).unwrap_or_default();
    let mut seen = BTreeSet::new();
    for line in ran.lines() {
        if !seen.insert(line.to_string()) {
            let log = d.log();
            let about: Vec<&str> = log
                .lines()
                .filter(|l| l.contains(&format!("job {line} ")) || l.contains("recovered"))
                .collect();
            panic!("job {line} ran twice:\n{}", about.join("\n"));
        }
    }
    let books = client.debug().expect("debug");
    assert_eq!(books.booked.cpus, 0, "all resources are free at the end");
    assert_eq!(books.booked.memory_mb, 0);
    // Containment is on (the machine's backend): every job's cgroup went
    // with its job, across all the crashes.
    crate::containment::assert_no_job_cgroups(&d);
    println!(
        "{} acknowledged, {} ran, seed {seed}",
        acknowledged.len(),
        seen.len()
    );
}
