//! Prometheus metrics at `GET /metrics`: the registry, the collector and
//! the handler.
//!
//! Two kinds of metric, kept apart on purpose:
//!
//! - [`Recorders`]: counters and histograms, bumped where the event
//!   happens (a submission, a start, an end, a scheduling pass, a store
//!   commit, an API request). Each recording is an atomic add or a short
//!   uncontended lock, with no allocation once a label set has been seen.
//!   They never reset (`cdiag -r` resets sdiag's counts only), as a
//!   Prometheus counter must not.
//! - [`Snapshot`]: gauges of the state now (jobs by state, what they hold,
//!   per user and per partition, the node), counted under the state lock
//!   when a scrape comes, so no event has to keep a gauge in step.
//!
//! Names: where Slurm 25.11's `metrics/openmetrics` plugin has a metric for
//! the same thing, it has Slurm's name, type (every one of Slurm's is a
//! gauge, even its cycle counts, which `sdiag -r` resets) and value, so a
//! dashboard made for slurmctld reads Conductor. Slurm's memory values are
//! MiB (a node's `real_memory`, a job's memory TRES) although their names
//! and help say bytes; they are served as Slurm serves them, and
//! `conductor_memory_bytes` has the same figures in bytes. Slurm's docs
//! name the scheduler's cycle count and last cycle `slurm_sched_cycle_*`
//! while its plugin serves `slurm_schedule_cycle_*`: both are served.
//! The GPU gauges (`slurm_jobs_gpus_alloc`, `slurm_node_gpus`,
//! `slurm_node_gpus_alloc`) came after 25.11, on Slurm's master branch.
//! Everything else is `conductor_*`.
//!
//! Format: the Prometheus text format 0.0.4 (`text/plain`) unless the
//! scraper's `Accept` prefers OpenMetrics 1.0 (Prometheus itself does),
//! then that. Plain text is what curl, older scrapers and Slurm's own
//! endpoint give; both come from `prometheus-client`'s encoders.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use super::job::{FinalState, Phase};
use super::shared::Daemon;
use super::tracker::{Capacity, ResourceTracker};
use crate::protocol::{JobState, ResourceRequest};

/// A MiB in bytes.
const MIB: u64 = 1 << 20;

/// The counters and histograms the daemon records as things happen.
/// Cloning a metric shares it, so each scrape's registry holds clones.
#[derive(Debug)]
pub struct Recorders {
    submitted: Counter,
    started: Counter,
    ended: Family<EndLabels, Counter>,
    pass_seconds: Histogram,
    commit_seconds: Histogram,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RequestLabels, Histogram, fn() -> Histogram>,
}

impl Default for Recorders {
    fn default() -> Recorders {
        Recorders {
            submitted: Counter::default(),
            started: Counter::default(),
            ended: Family::default(),
            // 10 µs to 10 s: a pass over a few jobs to one over 100,000.
            pass_seconds: Histogram::new(exponential_buckets(1e-5, 4.0, 11)),
            // 100 µs to 3 s: an fsync on tmpfs to one on a busy disk.
            commit_seconds: Histogram::new(exponential_buckets(1e-4, 2.0, 16)),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(request_histogram),
        }
    }
}

/// 250 µs to 16 s: a read from memory to a submission behind a slow commit.
fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(2.5e-4, 4.0, 9))
}

impl Recorders {
    /// `jobs` jobs accepted (an array's tasks count one each).
    pub fn submitted(&self, jobs: u64) {
        self.submitted.inc_by(jobs);
    }

    /// `jobs` jobs started.
    pub fn started(&self, jobs: u64) {
        self.started.inc_by(jobs);
    }

    /// A job ended so.
    pub fn ended(&self, state: FinalState) {
        self.ended
            .get_or_create(&EndLabels {
                state: state_label(state.into()),
            })
            .inc();
    }

    /// A scheduling pass's decision took this long.
    pub fn pass(&self, took: Duration) {
        self.pass_seconds.observe(took.as_secs_f64());
    }

    /// What the store calls after each commit: how long the transaction
    /// and its fsync took.
    pub fn commit_observer(&self) -> super::store::CommitObserver {
        let histogram = self.commit_seconds.clone();
        Box::new(move |took| histogram.observe(took.as_secs_f64()))
    }

    /// An API request to `route` (the matched route's template, so that the
    /// label's values are as few as the routes) answered `status`.
    pub fn request(&self, method: &Method, route: MatchedPath, status: StatusCode, took: Duration) {
        let labels = RequestLabels {
            method: method_label(method),
            route: Route(route),
            status: status.as_u16(),
        };
        self.requests.get_or_create(&labels).inc();
        self.request_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// Adds every recorder to a scrape's registry.
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "conductor_jobs_submitted",
            "Jobs accepted since the daemon started (an array's tasks count one each)",
            self.submitted.clone(),
        );
        registry.register(
            "conductor_jobs_started",
            "Jobs started since the daemon started",
            self.started.clone(),
        );
        registry.register(
            "conductor_jobs_ended",
            "Jobs ended since the daemon started, by how they ended",
            self.ended.clone(),
        );
        registry.register_with_unit(
            "conductor_scheduler_pass_duration",
            "How long a scheduling pass took to decide, under the state lock",
            Unit::Seconds,
            self.pass_seconds.clone(),
        );
        registry.register_with_unit(
            "conductor_store_commit_duration",
            "How long one group commit of the job store took, transaction and fsync",
            Unit::Seconds,
            self.commit_seconds.clone(),
        );
        registry.register(
            "conductor_api_requests",
            "API requests answered, by method, route and status",
            self.requests.clone(),
        );
        registry.register_with_unit(
            "conductor_api_request_duration",
            "How long the API took to answer, by method, route and status",
            Unit::Seconds,
            self.request_seconds.clone(),
        );
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndLabels {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Route,
    status: u16,
}

/// A matched route's template, shared with the request (an `Arc` inside):
/// labelling a request costs no allocation. It is written with `:id` for
/// axum's `{id}`, as routes were long written: a `}` inside a label value
/// is valid, but regex-based parsers (`prometheus-parse` among them) end
/// the label set there.
#[derive(Debug, Clone)]
struct Route(MatchedPath);

impl PartialEq for Route {
    fn eq(&self, other: &Route) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        let mut rest = self.0.as_str();
        while let Some((before, after)) = rest.split_once('{') {
            encoder.write_str(before)?;
            encoder.write_char(':')?;
            let (name, after) = after.split_once('}').unwrap_or((after, ""));
            encoder.write_str(name)?;
            rest = after;
        }
        encoder.write_str(rest)
    }
}

/// The method as a label; methods the API has no route for are `OTHER`
/// (the router answers them 405 before any handler).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}

/// A job state as a label value: Slurm's long name, lower case.
fn state_label(state: JobState) -> &'static str {
    match state {
        JobState::Pending => "pending",
        JobState::Running => "running",
        JobState::Completed => "completed",
        JobState::Failed => "failed",
        JobState::Cancelled => "cancelled",
        JobState::Timeout => "timeout",
        JobState::OutOfMemory => "out_of_memory",
        JobState::NodeFail => "node_fail",
    }
}

/// The gauges: the state as one scrape found it, counted under the lock
/// and encoded after it is released.
#[derive(Debug)]
struct Snapshot {
    books: Books,
    /// sdiag's scheduler and job counts (since the last `cdiag -r`).
    diag: crate::protocol::DiagInfo,
}

/// What the state lock covers, counted.
#[derive(Debug, Default)]
struct Books {
    /// This node, then (on a cluster) every other node of the registry.
    nodes: Vec<NodeFigures>,
    /// Jobs in memory by state, in [`JobState::ALL`]'s order.
    by_state: [u64; JobState::ALL.len()],
    held: u64,
    /// What running jobs hold, summed over their allocations.
    jobs_cpus: u64,
    jobs_memory_mb: u64,
    jobs_gpus: u64,
    users: BTreeMap<Arc<str>, Counts>,
    partitions: BTreeMap<Arc<str>, Counts>,
    supervisors: u64,
}

/// One node's resources and what the resource books have booked of them
/// (what jobs hold, as the scheduler sees it).
#[derive(Debug, Default, Clone)]
struct NodeFigures {
    name: String,
    cpus: u64,
    memory_mb: u64,
    gpus: u64,
    booked_cpus: u64,
    booked_memory_mb: u64,
    booked_gpus: u64,
}

impl NodeFigures {
    /// A node of `capacity` with `free` of it unbooked (all of it when
    /// the books do not hold the node).
    fn new(name: &str, capacity: Capacity, free: Option<ResourceRequest>) -> NodeFigures {
        let free = free.unwrap_or(ResourceRequest {
            cpus: capacity.cpus,
            memory_mb: capacity.memory_mb,
            gpus: capacity.gpus,
        });
        NodeFigures {
            name: name.to_string(),
            cpus: capacity.cpus.into(),
            memory_mb: capacity.memory_mb,
            gpus: capacity.gpus.into(),
            booked_cpus: capacity.cpus.saturating_sub(free.cpus).into(),
            booked_memory_mb: capacity.memory_mb.saturating_sub(free.memory_mb),
            booked_gpus: capacity.gpus.saturating_sub(free.gpus).into(),
        }
    }
}

/// A metric Slurm has per node: its name, its help, and its figure.
type PerNode = (&'static str, &'static str, fn(&NodeFigures) -> u64);

/// A metric Slurm has per user and per partition: its name after
/// `slurm_user_` or `slurm_partition_`, its help, and its figure.
type PerJob = (&'static str, &'static str, fn(&Counts) -> u64);

/// One user's or one partition's jobs.
#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    jobs: u64,
    pending: u64,
    running: u64,
    cpus: u64,
    memory_mb: u64,
}

impl Snapshot {
    /// The state now, and sdiag's counts.
    fn take(daemon: &Daemon) -> Snapshot {
        let (books, pending, running) = Books::take(daemon);
        Snapshot {
            books,
            diag: daemon.statistics.figures(pending, running),
        }
    }
}

impl Books {
    /// Counts what the daemon holds: one walk over the jobs in memory
    /// (pending, running, and ended ones until their end is on disk).
    fn take(daemon: &Daemon) -> (Books, usize, usize) {
        let mut books = Books::default();
        for partition in daemon.config.partitions.list() {
            books
                .partitions
                .insert(partition.name.as_str().into(), Counts::default());
        }
        let registry = daemon
            .members
            .as_ref()
            .map(|members| members.borrow().nodes.clone())
            .unwrap_or_default();
        let (pending, running) = {
            let state = daemon.state();
            let local = state.nodes.local();
            books.nodes.push(NodeFigures::new(
                daemon.node(),
                local.capacity(),
                Some(local.free()),
            ));
            for record in registry.iter().filter(|r| r.spec.name != daemon.node()) {
                let spec = &record.spec;
                let capacity = Capacity {
                    cpus: spec.cpus,
                    memory_mb: spec.memory_mb,
                    gpus: spec.gpus,
                };
                let free = state.nodes.node(&spec.name).map(ResourceTracker::free);
                books
                    .nodes
                    .push(NodeFigures::new(&spec.name, capacity, free));
            }
            for job in state.jobs.values() {
                books.count(job);
            }
            books.supervisors = state
                .running
                .values()
                .filter(|r| r.supervisor.is_some())
                .count() as u64;
            (
                state.count(JobState::Pending),
                state.count(JobState::Running),
            )
        };
        (books, pending, running)
    }

    fn count(&mut self, job: &super::job::Job) {
        let state = job.state();
        if let Some(index) = JobState::ALL.iter().position(|s| *s == state) {
            self.by_state[index] += 1;
        }
        let mut counts = Counts {
            jobs: 1,
            ..Counts::default()
        };
        match &job.phase {
            Phase::Pending { hold, .. } => {
                counts.pending = 1;
                self.held += u64::from(hold.is_some());
            }
            Phase::Running { allocation, .. } => {
                counts.running = 1;
                counts.cpus = allocation.cpu_ids.len() as u64;
                counts.memory_mb = allocation.memory_mb;
                self.jobs_cpus += counts.cpus;
                self.jobs_memory_mb += counts.memory_mb;
                self.jobs_gpus += allocation.gpu_ids.len() as u64;
            }
            Phase::Finished { .. } => {}
        }
        for table in [
            self.users.entry(job.spec.user.clone()).or_default(),
            self.partitions
                .entry(job.spec.partition.clone())
                .or_default(),
        ] {
            table.jobs += counts.jobs;
            table.pending += counts.pending;
            table.running += counts.running;
            table.cpus += counts.cpus;
            table.memory_mb += counts.memory_mb;
        }
    }

    fn jobs_in(&self, state: JobState) -> u64 {
        JobState::ALL
            .iter()
            .position(|s| *s == state)
            .map_or(0, |index| self.by_state[index])
    }
}

/// Writes one gauge.
fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: u64,
) -> Result<(), std::fmt::Error> {
    let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    ConstGauge::new(value).encode(metric)
}

/// Writes one gauge with one label, a sample per value of the label.
fn labelled<'a>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    label: &str,
    samples: impl IntoIterator<Item = (&'a str, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (value, sample) in samples {
        ConstGauge::new(sample).encode(metric.encode_family(&[(label, value)])?)?;
    }
    Ok(())
}

impl prometheus_client::collector::Collector for Snapshot {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let e = &mut encoder;
        let (b, d) = (&self.books, &self.diag);
        // One figure each: Slurm's /metrics/jobs, /nodes, /partitions and
        // /scheduler (sdiag's figures, which `cdiag -r` resets), then ours;
        // one metric a line.
        #[rustfmt::skip]
        let figures = [
            ("slurm_jobs", "Total number of jobs (pending, running, and ended ones until their end is on disk)", b.by_state.iter().sum()),
            ("slurm_jobs_pending", "Number of jobs in Pending state (held ones included)", b.jobs_in(JobState::Pending)),
            ("slurm_jobs_running", "Number of jobs in Running state", b.jobs_in(JobState::Running)),
            ("slurm_jobs_hold", "Number of jobs in Hold state", b.held),
            ("slurm_jobs_cpus_alloc", "Total number of Cpus allocated by jobs", b.jobs_cpus),
            ("slurm_jobs_memory_alloc", "Total memory allocated by jobs, in MiB as Slurm serves it", b.jobs_memory_mb),
            ("slurm_jobs_gpus_alloc", "Total number of GPUs allocated by jobs", b.jobs_gpus),
            ("slurm_nodes", "Total number of nodes", b.nodes.len() as u64),
            ("slurm_partitions", "Total number of partitions", b.partitions.len() as u64),
            ("slurm_schedule_cycle_cnt", "Scheduling cycle count", d.cycles),
            ("slurm_sched_cycle_cnt", "Scheduling cycle count (slurm_schedule_cycle_cnt, as Slurm's docs name it)", d.cycles),
            ("slurm_schedule_cycle_last", "Last scheduling cycle time, in microseconds", d.cycle_last_us),
            ("slurm_sched_cycle_last", "Last scheduling cycle time, in microseconds (slurm_schedule_cycle_last, as Slurm's docs name it)", d.cycle_last_us),
            ("slurm_schedule_cycle_max", "Max scheduling cycle time, in microseconds", d.cycle_max_us),
            ("slurm_schedule_cycle_tot", "Sum of scheduling cycle times, in microseconds", d.cycle_sum_us),
            ("slurm_schedule_cycle_depth", "Processed jobs depth total", d.depth_sum),
            ("slurm_schedule_queue_len", "Jobs pending queue length", d.queue_len),
            ("slurm_sdiag_jobs_submitted", "Jobs submitted since reset", d.jobs_submitted),
            ("slurm_sdiag_jobs_started", "Jobs started since reset", d.jobs_started),
            ("slurm_sdiag_jobs_completed", "Jobs completed since reset", d.jobs_completed),
            ("slurm_sdiag_jobs_canceled", "Jobs canceled since reset", d.jobs_canceled),
            ("slurm_sdiag_jobs_failed", "Jobs failed since reset", d.jobs_failed),
            ("slurm_sdiag_jobs_pending", "Jobs pending at timestamp", d.jobs_pending),
            ("slurm_sdiag_jobs_running", "Jobs running at timestamp", d.jobs_running),
            ("conductor_supervisors_alive", "Running jobs whose supervisor the daemon holds", b.supervisors),
        ];
        for (name, help, value) in figures {
            gauge(e, name, help, value)?;
        }
        // Each node under its name: this one, then the cluster's others.
        let nodes = &b.nodes;
        #[rustfmt::skip]
        let node: [PerNode; 7] = [
            ("slurm_node_cpus", "Total number of cpus in the node", |n| n.cpus),
            ("slurm_node_cpus_alloc", "Allocated cpus in the node", |n| n.booked_cpus),
            ("slurm_node_cpus_idle", "Idle cpus in the node", |n| n.cpus.saturating_sub(n.booked_cpus)),
            ("slurm_node_memory_bytes", "Total memory of the node, in MiB as Slurm serves it despite the name", |n| n.memory_mb),
            ("slurm_node_memory_alloc_bytes", "Memory allocated to jobs in the node, in MiB as Slurm serves it despite the name", |n| n.booked_memory_mb),
            ("slurm_node_gpus", "Total number of GPUs in the node", |n| n.gpus),
            ("slurm_node_gpus_alloc", "Number of GPUs currently allocated by jobs on the node", |n| n.booked_gpus),
        ];
        for (name, help, value) in node {
            let samples = nodes.iter().map(|n| (n.name.as_str(), value(n)));
            labelled(e, name, help, "node", samples)?;
        }
        // Slurm's /metrics/jobs-users-accts and /partitions: a sample for
        // each user with a job, and for each partition.
        #[rustfmt::skip]
        let per_job: [PerJob; 5] = [
            ("jobs", "Total number of jobs", |c| c.jobs),
            ("jobs_pending", "Number of jobs in Pending state", |c| c.pending),
            ("jobs_running", "Number of jobs in Running state", |c| c.running),
            ("jobs_cpus_alloc", "Total number of Cpus allocated by jobs", |c| c.cpus),
            ("jobs_memory_alloc", "Total memory allocated by jobs, in MiB as Slurm serves it", |c| c.memory_mb),
        ];
        for (what, help, count) in per_job {
            let users = b.users.iter().map(|(user, c)| (&**user, count(c)));
            labelled(e, &format!("slurm_user_{what}"), help, "username", users)?;
        }
        for (what, help, count) in per_job {
            let parts = b.partitions.iter().map(|(part, c)| (&**part, count(c)));
            labelled(
                e,
                &format!("slurm_partition_{what}"),
                help,
                "partition",
                parts,
            )?;
        }
        // Every node is in every partition (one configuration for all).
        let all_cpus: u64 = nodes.iter().map(|n| n.cpus).sum();
        let parts = b.partitions.keys().map(|part| (&**part, all_cpus));
        labelled(
            e,
            "slurm_partition_cpus",
            "Partition total cpus",
            "partition",
            parts,
        )?;
        // Conductor's own.
        let by_state = JobState::ALL.iter().zip(b.by_state);
        labelled(
            e,
            "conductor_jobs",
            "Jobs the daemon holds, by state (ended ones only until their end is on disk)",
            "state",
            by_state.map(|(state, n)| (state_label(*state), n)),
        )?;
        let here = b.nodes.first().cloned().unwrap_or_default();
        labelled(
            e,
            "conductor_memory_bytes",
            "The node's memory for jobs in bytes: in all, and booked by jobs",
            "use",
            [
                ("total", here.memory_mb * MIB),
                ("allocated", here.booked_memory_mb * MIB),
            ],
        )
    }
}

/// The two text formats a scrape may get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Prometheus text 0.0.4: the default.
    Prometheus,
    /// OpenMetrics 1.0 text, for a scraper whose `Accept` prefers it.
    OpenMetrics,
}

impl Format {
    /// The format an `Accept` header asks for: OpenMetrics when a media
    /// range for it has a higher q than any for plain text.
    fn accepted(accept: Option<&str>) -> Format {
        let (mut openmetrics, mut plain) = (0.0_f64, 0.0_f64);
        for range in accept.unwrap_or("").split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or("").to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f64>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => openmetrics = openmetrics.max(q),
                "text/plain" => plain = plain.max(q),
                _ => {}
            }
        }
        if openmetrics > plain {
            Format::OpenMetrics
        } else {
            Format::Prometheus
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// `GET /metrics`: every metric, in the format the scraper prefers.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    description = "Every metric, in Prometheus' text format or, when the scraper's Accept \
        prefers it, OpenMetrics. Over TCP without a token only with `--metrics-public`.",
    responses((
        status = 200,
        description = "The metrics.",
        content((String = "text/plain"), (String = "application/openmetrics-text"))
    ))
)]
pub async fn serve(State(daemon): State<Arc<Daemon>>, headers: HeaderMap) -> Response {
    let format = Format::accepted(
        headers
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok()),
    );
    let mut registry = Registry::default();
    daemon.statistics.recorders.register(&mut registry);
    registry.register_collector(Box::new(Snapshot::take(&daemon)));
    let mut body = String::with_capacity(16 << 10);
    let encoded = match format {
        Format::Prometheus => {
            prometheus_client::encoding::prometheus_text::encode(&mut body, &registry)
        }
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut body, &registry),
    };
    match encoded {
        Ok(()) => ([(header::CONTENT_TYPE, format.content_type())], body).into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the metrics could not be encoded\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::job::{Hold, Job, JobSpec};
    use crate::daemon::statistics::Statistics;
    use crate::daemon::tracker::Allocation;
    use crate::protocol::{JobId, Reason};

    #[test]
    fn prometheus_asks_for_openmetrics_and_curl_gets_plain_text() {
        // Prometheus 2.x's and 3.x's scrape Accept headers.
        let prometheus_2 = "application/openmetrics-text;version=1.0.0;q=0.5,\
            application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        let prometheus_3 = "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,\
            application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,\
            text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
        assert_eq!(Format::accepted(Some(prometheus_2)), Format::OpenMetrics);
        assert_eq!(Format::accepted(Some(prometheus_3)), Format::OpenMetrics);
        assert_eq!(Format::accepted(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::accepted(None), Format::Prometheus);
        assert_eq!(
            Format::accepted(Some("text/plain, application/openmetrics-text;q=0.9")),
            Format::Prometheus
        );
    }

    fn job(id: u64, user: &str, partition: &str, phase: Phase) -> Job {
        Job {
            id: JobId(id),
            spec: JobSpec {
                user: user.into(),
                partition: partition.into(),
                ..JobSpec::for_test(1000, 1)
            },
            phase,
            expected_start: None,
        }
    }

    #[test]
    fn the_collector_counts_jobs_per_user_and_partition_and_what_they_hold() {
        let mut books = Books {
            nodes: vec![NodeFigures {
                name: "n1".into(),
                cpus: 8,
                memory_mb: 4096,
                ..NodeFigures::default()
            }],
            ..Books::default()
        };
        books.partitions.insert("debug".into(), Counts::default());
        books.partitions.insert("idle".into(), Counts::default());
        let running = Phase::Running {
            allocation: Allocation {
                cpu_ids: vec![0, 1],
                memory_mb: 512,
                gpu_ids: vec![0],
            },
            start_time: chrono::Utc::now(),
            boot_id: None,
            node: None,
            steps: Vec::new(),
        };
        let pending = |hold| Phase::Pending {
            reason: Reason::None,
            hold,
        };
        books.count(&job(1, "ann", "debug", running));
        books.count(&job(2, "ann", "normal", pending(None)));
        books.count(&job(3, "bob", "debug", pending(Some(Hold::User))));
        let snapshot = Snapshot {
            books,
            diag: Statistics::default().figures(2, 1),
        };
        let mut registry = Registry::default();
        registry.register_collector(Box::new(snapshot));
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
            .expect("encodes");
        for line in [
            "slurm_jobs 3",
            "slurm_jobs_pending 2",
            "slurm_jobs_running 1",
            "slurm_jobs_hold 1",
            "slurm_jobs_cpus_alloc 2",
            "slurm_jobs_memory_alloc 512",
            "slurm_jobs_gpus_alloc 1",
            "slurm_user_jobs_pending{username=\"ann\"} 1",
            "slurm_user_jobs_pending{username=\"bob\"} 1",
            "slurm_user_jobs_cpus_alloc{username=\"ann\"} 2",
            "slurm_partitions 3",
            "slurm_partition_jobs{partition=\"debug\"} 2",
            "slurm_partition_jobs{partition=\"idle\"} 0",
            "slurm_partition_jobs_running{partition=\"debug\"} 1",
            "slurm_node_cpus{node=\"n1\"} 8",
            "slurm_node_memory_bytes{node=\"n1\"} 4096",
            "conductor_memory_bytes{use=\"total\"} 4294967296",
            "conductor_jobs{state=\"pending\"} 2",
            "conductor_jobs{state=\"node_fail\"} 0",
            "slurm_sdiag_jobs_pending 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }

    #[test]
    fn recorders_count_ends_by_state_and_requests_by_route() {
        let recorders = Recorders::default();
        recorders.submitted(3);
        recorders.ended(FinalState::Completed);
        recorders.ended(FinalState::Completed);
        recorders.ended(FinalState::OutOfMemory);
        recorders.pass(Duration::from_micros(50));
        let mut registry = Registry::default();
        recorders.register(&mut registry);
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
            .expect("encodes");
        assert!(
            text.contains("conductor_jobs_submitted_total 3\n"),
            "{text}"
        );
        assert!(
            text.contains("conductor_jobs_ended_total{state=\"completed\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("conductor_jobs_ended_total{state=\"out_of_memory\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("conductor_scheduler_pass_duration_seconds_count 1\n"),
            "{text}"
        );
    }
}
