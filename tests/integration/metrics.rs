//! `GET /metrics` (issue 13, part 4): scraped as Prometheus would, over the
//! socket and over TCP, and read with a Prometheus text parser
//! (`prometheus-parse`), every line of it: Slurm 25.11's names with the
//! queue's real figures, Conductor's counters moving as jobs come and go,
//! and the TCP listener's token rule with and without `--metrics-public`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use conductor::protocol::JobState;
use prometheus_parse::{LineInfo, Sample, Scrape, Value};

use crate::support::{TestDaemon, free_port, wait_until};

const SHORT: Duration = Duration::from_secs(10);

/// Prometheus 3's scrape `Accept` header: OpenMetrics preferred.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0;\
    escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,\
    text/plain;version=0.0.4;q=0.3,*/*;q=0.2";

/// One HTTP/1.1 exchange on a fresh connection: the status, the headers
/// (names lower-cased) and the body.
fn exchange(mut stream: impl Read + Write, request: &str) -> (u16, Vec<(String, String)>, String) {
    stream.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    let (head, body) = reply.split_once("\r\n\r\n").expect("a head and a body");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

fn get(path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}Connection: close\r\n\r\n")
}

/// `GET /metrics` over the daemon's socket, with this `Accept` (if any).
fn scrape_socket(d: &TestDaemon, accept: Option<&str>) -> (String, String) {
    let stream = UnixStream::connect(&d.socket).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let accept = accept
        .map(|a| format!("Accept: {a}\r\n"))
        .unwrap_or_default();
    let (status, headers, body) = exchange(stream, &get("/metrics", &accept));
    assert_eq!(status, 200, "{body}");
    let content_type = headers
        .into_iter()
        .find(|(name, _)| name == "content-type")
        .map(|(_, value)| value)
        .expect("a content type");
    (content_type, body)
}

/// The exposition, parsed. Every line must be one the parser understands
/// (HELP, TYPE, a sample, a blank line), or one of OpenMetrics' `# UNIT`
/// and `# EOF`: a line it passed over would be a line a scraper drops.
fn parse(text: &str) -> Scrape {
    for line in text.lines() {
        let understood = !matches!(LineInfo::parse(line), LineInfo::Ignored)
            || line.starts_with("# UNIT ")
            || line == "# EOF";
        assert!(understood, "a line no parser takes: {line:?}\n{text}");
    }
    Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).expect("parses")
}

/// The one sample named so whose labels include these.
#[track_caller]
fn sample<'a>(scrape: &'a Scrape, name: &str, labels: &[(&str, &str)]) -> &'a Sample {
    let found: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {name}{labels:?} in {:?}",
        scrape.samples
    );
    found[0]
}

/// A gauge's value; it must be typed a gauge.
#[track_caller]
fn gauge(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, name, labels).value {
        Value::Gauge(v) => v,
        ref other => panic!("{name} should be a gauge: {other:?}"),
    }
}

/// A counter's value (its `_total` sample); it must be typed a counter.
#[track_caller]
fn counter(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, name, labels).value {
        Value::Counter(v) => v,
        ref other => panic!("{name} should be a counter: {other:?}"),
    }
}

/// A histogram's count of observations (its `+Inf` bucket).
#[track_caller]
fn observations(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    match &sample(scrape, name, labels).value {
        Value::Histogram(buckets) => buckets
            .iter()
            .find(|b| b.less_than.is_infinite())
            .map(|b| b.count)
            .expect("a +Inf bucket"),
        other => panic!("{name} should be a histogram: {other:?}"),
    }
}

#[test]
fn metrics_show_the_queue_under_slurms_names_and_count_what_happens() {
    // A made-up GPU (no machine here need have one).
    let d = TestDaemon::start(&[
        "--cpus",
        "2",
        "--mem",
        "2G",
        "--gpus",
        "1",
        "--kill-wait",
        "1",
    ]);
    let running = d.submit(&["-c", "2", "--mem", "512M", "-G", "1", "--wrap", "sleep 30"]);
    d.wait_for(running, JobState::Running, SHORT);
    let waiting = d.submit(&["-c", "1", "--mem", "100M", "--wrap", "true"]);
    let held = d.submit(&["--hold", "--wrap", "true"]);
    let user = d.job(running).user;
    let node = d.client().node().expect("node").name;

    // The supervisor is forked after the start is recorded.
    let mut scrape = parse(&scrape_socket(&d, None).1);
    wait_until(SHORT, "the supervisor is up", || {
        scrape = parse(&scrape_socket(&d, None).1);
        gauge(&scrape, "conductor_supervisors_alive", &[]) == 1.0
    });
    let s = &scrape;
    assert_eq!(gauge(s, "slurm_jobs", &[]), 3.0);
    assert_eq!(gauge(s, "slurm_jobs_running", &[]), 1.0);
    assert_eq!(gauge(s, "slurm_jobs_pending", &[]), 2.0);
    assert_eq!(gauge(s, "slurm_jobs_hold", &[]), 1.0);
    assert_eq!(gauge(s, "slurm_jobs_cpus_alloc", &[]), 2.0);
    // MiB, as slurmctld serves it.
    assert_eq!(gauge(s, "slurm_jobs_memory_alloc", &[]), 512.0);
    let username = [("username", user.as_str())];
    assert_eq!(gauge(s, "slurm_user_jobs_pending", &username), 2.0);
    assert_eq!(gauge(s, "slurm_user_jobs_running", &username), 1.0);
    assert_eq!(gauge(s, "slurm_nodes", &[]), 1.0);
    let on_node = [("node", node.as_str())];
    assert_eq!(gauge(s, "slurm_node_cpus", &on_node), 2.0);
    assert_eq!(gauge(s, "slurm_node_cpus_alloc", &on_node), 2.0);
    assert_eq!(gauge(s, "slurm_node_memory_bytes", &on_node), 2048.0);
    assert_eq!(gauge(s, "slurm_jobs_gpus_alloc", &[]), 1.0);
    assert_eq!(gauge(s, "slurm_node_gpus", &on_node), 1.0);
    assert_eq!(gauge(s, "slurm_node_gpus_alloc", &on_node), 1.0);
    assert_eq!(
        gauge(s, "conductor_memory_bytes", &[("use", "total")]),
        2048.0 * 1024.0 * 1024.0
    );
    assert_eq!(
        gauge(s, "slurm_partition_jobs", &[("partition", "normal")]),
        3.0
    );
    let cycles = gauge(s, "slurm_schedule_cycle_cnt", &[]);
    assert!(cycles >= 1.0, "{cycles}");
    assert_eq!(gauge(s, "slurm_sched_cycle_cnt", &[]), cycles);
    assert_eq!(
        gauge(s, "slurm_sched_cycle_last", &[]),
        gauge(s, "slurm_schedule_cycle_last", &[])
    );
    assert_eq!(gauge(s, "conductor_jobs", &[("state", "pending")]), 2.0);
    assert_eq!(gauge(s, "conductor_jobs", &[("state", "running")]), 1.0);
    assert_eq!(gauge(s, "conductor_jobs", &[("state", "completed")]), 0.0);
    assert_eq!(counter(s, "conductor_jobs_submitted_total", &[]), 3.0);
    assert_eq!(counter(s, "conductor_jobs_started_total", &[]), 1.0);
    let submits = [("method", "POST"), ("route", "/v1/jobs"), ("status", "201")];
    assert_eq!(counter(s, "conductor_api_requests_total", &submits), 3.0);
    assert_eq!(
        observations(s, "conductor_api_request_duration_seconds", &submits),
        3.0
    );
    // Each submission was committed before it was answered.
    assert!(observations(s, "conductor_store_commit_duration_seconds", &[]) >= 3.0);
    assert!(observations(s, "conductor_scheduler_pass_duration_seconds", &[]) >= cycles);

    // The running job is cancelled, the waiting one starts and completes.
    d.run("ccancel", &[&running.to_string()]).ok();
    d.wait_ended(waiting, SHORT);
    let s = &parse(&scrape_socket(&d, None).1);
    assert_eq!(
        counter(s, "conductor_jobs_ended_total", &[("state", "cancelled")]),
        1.0
    );
    assert_eq!(
        counter(s, "conductor_jobs_ended_total", &[("state", "completed")]),
        1.0
    );
    assert_eq!(counter(s, "conductor_jobs_started_total", &[]), 2.0);
    assert_eq!(counter(s, "conductor_jobs_submitted_total", &[]), 3.0);
    assert_eq!(gauge(s, "slurm_jobs_running", &[]), 0.0);
    assert_eq!(gauge(s, "slurm_jobs_pending", &[]), 1.0);
    assert_eq!(gauge(s, "slurm_jobs_cpus_alloc", &[]), 0.0);
    assert_eq!(gauge(s, "slurm_jobs_gpus_alloc", &[]), 0.0);
    assert_eq!(gauge(s, "slurm_user_jobs_pending", &username), 1.0);
    assert!(gauge(s, "slurm_schedule_cycle_cnt", &[]) > cycles);
    let scrapes = [("method", "GET"), ("route", "/metrics"), ("status", "200")];
    assert!(counter(s, "conductor_api_requests_total", &scrapes) >= 2.0);
    // Routes are labelled by their template, never by a job's id.
    let one_job = [
        ("method", "GET"),
        ("route", "/v1/jobs/:id"),
        ("status", "200"),
    ];
    assert!(counter(s, "conductor_api_requests_total", &one_job) >= 1.0);
    let routes: Vec<&str> = s
        .samples
        .iter()
        .filter(|s| s.metric == "conductor_api_requests_total")
        .filter_map(|s| s.labels.get("route"))
        .collect();
    assert!(
        routes
            .iter()
            .all(|r| !r.split('/').any(|part| part.parse::<u64>().is_ok())),
        "{routes:?}"
    );

    // `cdiag -r` starts sdiag's figures again; the counters go on.
    d.run("cdiag", &["-r"]).ok();
    let s = &parse(&scrape_socket(&d, None).1);
    assert_eq!(gauge(s, "slurm_sdiag_jobs_submitted", &[]), 0.0);
    assert_eq!(counter(s, "conductor_jobs_submitted_total", &[]), 3.0);
    d.run("ccancel", &[&held.to_string()]).ok();
}

#[test]
fn a_scraper_that_prefers_openmetrics_gets_it_and_curl_gets_prometheus_text() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let id = d.submit(&["--hold", "--wrap", "true"]);

    let (plain_type, plain) = scrape_socket(&d, None);
    assert_eq!(plain_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(!plain.contains("# EOF"), "{plain}");
    // Prometheus 0.0.4 types a counter under its `_total` name.
    assert!(
        plain.contains("# TYPE conductor_jobs_submitted_total counter\n"),
        "{plain}"
    );

    let (open_type, open) = scrape_socket(&d, Some(PROMETHEUS_ACCEPT));
    assert_eq!(
        open_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert_eq!(open.lines().last(), Some("# EOF"), "{open}");
    assert!(
        open.contains("# TYPE conductor_jobs_submitted counter\n"),
        "{open}"
    );
    let s = &parse(&open);
    assert_eq!(gauge(s, "slurm_jobs_pending", &[]), 1.0);
    assert_eq!(gauge(s, "slurm_jobs_hold", &[]), 1.0);
    d.run("ccancel", &[&id.to_string()]).ok();
}

/// `GET path` over TCP, with a bearer token if given; the status and body.
fn over_tcp(port: u16, path: &str, token: Option<&str>) -> (u16, String) {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let (status, _, body) = exchange(stream, &get(path, &auth));
    (status, body)
}

#[test]
fn over_tcp_metrics_need_a_token_unless_the_daemon_makes_them_public() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut d = TestDaemon::start(&["--cpus", "1", "--listen", &listen]);
    let token = d.token().expect("the daemon's token");

    let (status, body) = over_tcp(port, "/metrics", None);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("\"unauthorized\""), "{body}");
    assert_eq!(over_tcp(port, "/metrics", Some("not-it")).0, 401);
    let (status, body) = over_tcp(port, "/metrics", Some(&token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(gauge(&parse(&body), "slurm_nodes", &[]), 1.0);

    d.restart_with(&["--cpus", "1", "--listen", &listen, "--metrics-public"]);
    let (status, body) = over_tcp(port, "/metrics", None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(gauge(&parse(&body), "slurm_node_cpus", &[]), 1.0);
    // Only the metrics: the rest of the API still wants a token.
    assert_eq!(over_tcp(port, "/v1/node", None).0, 401);
    assert_eq!(over_tcp(port, "/v1/jobs", None).0, 401);
    assert_eq!(over_tcp(port, "/metrics/", None).0, 401);
    assert_eq!(over_tcp(port, "/v1/node", Some(&token)).0, 200);
}

/// On a cluster's scheduler, every node is in the node metrics, with what
/// the books hold on it, and the partitions count every node's CPUs.
#[test]
fn a_clusters_scheduler_shows_every_node() {
    let Some(server) = crate::support::postgres_server() else {
        return;
    };
    let url = server.url();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let alpha = TestDaemon::start(&[
        "--store", &url, "--node", "alpha", "--cpus", "1", "--listen", &listen,
    ]);
    let _beta = TestDaemon::start_standby(&["--store", &url, "--node", "beta", "--cpus", "2"]);
    // Only beta has two CPUs: the job runs there.
    let id = alpha.submit(&["-c", "2", "-o", "/dev/null", "--wrap", "sleep 30"]);
    alpha.wait_for(id, JobState::Running, SHORT);
    let (_, text) = scrape_socket(&alpha, None);
    let scrape = parse(&text);
    assert_eq!(gauge(&scrape, "slurm_nodes", &[]), 2.0);
    for (node, cpus, allocated) in [("alpha", 1.0, 0.0), ("beta", 2.0, 2.0)] {
        assert_eq!(gauge(&scrape, "slurm_node_cpus", &[("node", node)]), cpus);
        assert_eq!(
            gauge(&scrape, "slurm_node_cpus_alloc", &[("node", node)]),
            allocated,
            "{node}"
        );
    }
    assert_eq!(
        gauge(&scrape, "slurm_partition_cpus", &[("partition", "normal")]),
        3.0
    );
    assert_eq!(gauge(&scrape, "slurm_jobs_cpus_alloc", &[]), 2.0);
    alpha.run("ccancel", &[&id.to_string()]).ok();
}
