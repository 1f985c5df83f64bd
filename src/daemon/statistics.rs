//! What `cdiag` (sdiag) reports: jobs submitted, started and ended since
//! the daemon started (or the last reset), the scheduler's passes, and the
//! API's requests by kind and by user with their times. Counters are
//! atomics, bumped where the event happens; the request tables are small
//! maps (one entry per kind of request, one per user) behind a lock held
//! for an insert only. Beside them, the Prometheus [`Recorders`], bumped
//! at the same places but never reset.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::caller::Caller;
use super::job::FinalState;
use super::metrics::Recorders;
use crate::protocol::{DiagInfo, RpcCount};

/// The daemon's counters.
#[derive(Debug)]
pub struct Statistics {
    since: Mutex<DateTime<Utc>>,
    jobs_submitted: AtomicU64,
    jobs_started: AtomicU64,
    jobs_completed: AtomicU64,
    jobs_canceled: AtomicU64,
    jobs_failed: AtomicU64,
    cycles: AtomicU64,
    cycle_last_us: AtomicU64,
    cycle_max_us: AtomicU64,
    cycle_sum_us: AtomicU64,
    depth_sum: AtomicU64,
    queue_len: AtomicU64,
    by_type: Mutex<HashMap<RpcKind, Tally>>,
    by_user: Mutex<HashMap<u32, Tally>>,
    /// The same events for `GET /metrics`, counted since the start.
    pub recorders: Recorders,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    count: u64,
    total_us: u64,
}

impl Tally {
    fn add(&mut self, took: Duration) {
        self.count += 1;
        self.total_us += u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
    }
}

impl Default for Statistics {
    fn default() -> Statistics {
        Statistics {
            since: Mutex::new(Utc::now()),
            jobs_submitted: AtomicU64::new(0),
            jobs_started: AtomicU64::new(0),
            jobs_completed: AtomicU64::new(0),
            jobs_canceled: AtomicU64::new(0),
            jobs_failed: AtomicU64::new(0),
            cycles: AtomicU64::new(0),
            cycle_last_us: AtomicU64::new(0),
            cycle_max_us: AtomicU64::new(0),
            cycle_sum_us: AtomicU64::new(0),
            depth_sum: AtomicU64::new(0),
            queue_len: AtomicU64::new(0),
            by_type: Mutex::new(HashMap::new()),
            by_user: Mutex::new(HashMap::new()),
            recorders: Recorders::default(),
        }
    }
}

impl Statistics {
    /// `jobs` jobs accepted (an array's tasks count one each).
    pub fn submitted(&self, jobs: u64) {
        self.jobs_submitted.fetch_add(jobs, Ordering::Relaxed);
        self.recorders.submitted(jobs);
    }

    /// `jobs` jobs started.
    pub fn started(&self, jobs: u64) {
        self.jobs_started.fetch_add(jobs, Ordering::Relaxed);
        self.recorders.started(jobs);
    }

    /// One scheduling pass that took `took` and looked at `depth` of the
    /// `queue_len` jobs waiting.
    pub fn cycle(&self, took: Duration, depth: usize, queue_len: usize) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.cycles.fetch_add(1, Ordering::Relaxed);
        self.cycle_last_us.store(us, Ordering::Relaxed);
        self.cycle_max_us.fetch_max(us, Ordering::Relaxed);
        self.cycle_sum_us.fetch_add(us, Ordering::Relaxed);
        self.depth_sum.fetch_add(depth as u64, Ordering::Relaxed);
        self.queue_len.store(queue_len as u64, Ordering::Relaxed);
        self.recorders.pass(took);
    }

    /// A job that ended so: sdiag counts completed, canceled and failed
    /// jobs (a timeout, an OOM kill and a lost node count as failed).
    pub fn ended(&self, state: FinalState) {
        let counter = match state {
            FinalState::Completed => &self.jobs_completed,
            FinalState::Cancelled => &self.jobs_canceled,
            FinalState::Failed
            | FinalState::Timeout
            | FinalState::OutOfMemory
            | FinalState::NodeFail => &self.jobs_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.recorders.ended(state);
    }

    fn request(&self, kind: RpcKind, uid: u32, took: Duration) {
        if let Ok(mut by_type) = self.by_type.lock() {
            by_type.entry(kind).or_default().add(took);
        }
        if let Ok(mut by_user) = self.by_user.lock() {
            by_user.entry(uid).or_default().add(took);
        }
    }

    /// Starts every count again from now (`sdiag --reset`).
    pub fn reset(&self) {
        for counter in [
            &self.jobs_submitted,
            &self.jobs_started,
            &self.jobs_completed,
            &self.jobs_canceled,
            &self.jobs_failed,
            &self.cycles,
            &self.cycle_last_us,
            &self.cycle_max_us,
            &self.cycle_sum_us,
            &self.depth_sum,
        ] {
            counter.store(0, Ordering::Relaxed);
        }
        if let Ok(mut since) = self.since.lock() {
            *since = Utc::now();
        }
        if let Ok(mut by_type) = self.by_type.lock() {
            by_type.clear();
        }
        if let Ok(mut by_user) = self.by_user.lock() {
            by_user.clear();
        }
    }

    /// The counts as the API sends them; `pending` and `running` are the
    /// queue now.
    pub fn snapshot(&self, pending: usize, running: usize) -> DiagInfo {
        let by_type = self
            .by_type
            .lock()
            .map(|table| {
                table
                    .iter()
                    .map(|(kind, tally)| RpcCount {
                        name: kind.name().to_string(),
                        id: kind.id(),
                        count: tally.count,
                        total_us: tally.total_us,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let by_user = self
            .by_user
            .lock()
            .map(|table| {
                table
                    .iter()
                    .map(|(uid, tally)| RpcCount {
                        name: crate::users::user_name(*uid),
                        id: *uid,
                        count: tally.count,
                        total_us: tally.total_us,
                    })
                    .collect()
            })
            .unwrap_or_default();
        DiagInfo {
            rpc_by_type: by_type,
            rpc_by_user: by_user,
            ..self.figures(pending, running)
        }
    }

    /// The job and scheduler counts alone, without the request tables
    /// (what the metrics serve).
    pub fn figures(&self, pending: usize, running: usize) -> DiagInfo {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        DiagInfo {
            now: Utc::now(),
            since: self.since.lock().map(|s| *s).unwrap_or_else(|_| Utc::now()),
            jobs_submitted: load(&self.jobs_submitted),
            jobs_started: load(&self.jobs_started),
            jobs_completed: load(&self.jobs_completed),
            jobs_canceled: load(&self.jobs_canceled),
            jobs_failed: load(&self.jobs_failed),
            jobs_pending: pending as u64,
            jobs_running: running as u64,
            cycles: load(&self.cycles),
            cycle_last_us: load(&self.cycle_last_us),
            cycle_max_us: load(&self.cycle_max_us),
            cycle_sum_us: load(&self.cycle_sum_us),
            depth_sum: load(&self.depth_sum),
            queue_len: load(&self.queue_len),
            rpc_by_type: Vec::new(),
            rpc_by_user: Vec::new(),
        }
    }
}

/// A kind of API request, under the name and number of the Slurm RPC it
/// stands for, so that sdiag's readers find what they know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum RpcKind {
    Ping,
    BuildInfo,
    JobInfo,
    NodeInfo,
    StatsInfo,
    BatchScript,
    UpdateJob,
    SubmitBatchJob,
    JobWillRun,
    StepCreate,
    StepComplete,
    JobRequeue,
    KillJob,
    AuthToken,
    Other,
}

impl RpcKind {
    /// The kind of a request to `path` (the route's template) by `method`.
    fn of(method: &Method, path: &str) -> RpcKind {
        match (method.as_str(), path) {
            (_, "/v1/health") => RpcKind::Ping,
            (_, "/v1/config" | "/v1/debug") => RpcKind::BuildInfo,
            (_, "/v1/node" | "/v1/nodes") => RpcKind::NodeInfo,
            // A scrape asks for what sdiag does.
            (_, "/v1/diag" | "/v1/diag/reset" | "/metrics") => RpcKind::StatsInfo,
            ("POST", "/v1/jobs") => RpcKind::SubmitBatchJob,
            ("GET", "/v1/jobs" | "/v1/jobs/{id}") => RpcKind::JobInfo,
            ("PATCH", "/v1/jobs/{id}") => RpcKind::UpdateJob,
            (_, "/v1/jobs/{id}/hold" | "/v1/jobs/{id}/release") => RpcKind::UpdateJob,
            (_, "/v1/jobs/test") => RpcKind::JobWillRun,
            (_, "/v1/jobs/cancel" | "/v1/jobs/{id}/cancel" | "/v1/jobs/{id}/signal") => {
                RpcKind::KillJob
            }
            (_, "/v1/jobs/{id}/requeue") => RpcKind::JobRequeue,
            (_, "/v1/jobs/{id}/steps") => RpcKind::StepCreate,
            (_, "/v1/jobs/{id}/steps/{step}/end") => RpcKind::StepComplete,
            (_, "/v1/jobs/{id}/script") => RpcKind::BatchScript,
            (_, "/v1/tokens" | "/v1/tokens/revoke") => RpcKind::AuthToken,
            _ => RpcKind::Other,
        }
    }

    fn name(self) -> &'static str {
        match self {
            RpcKind::Ping => "REQUEST_PING",
            RpcKind::BuildInfo => "REQUEST_BUILD_INFO",
            RpcKind::JobInfo => "REQUEST_JOB_INFO",
            RpcKind::NodeInfo => "REQUEST_NODE_INFO",
            RpcKind::StatsInfo => "REQUEST_STATS_INFO",
            RpcKind::BatchScript => "REQUEST_BATCH_SCRIPT",
            RpcKind::UpdateJob => "REQUEST_UPDATE_JOB",
            RpcKind::SubmitBatchJob => "REQUEST_SUBMIT_BATCH_JOB",
            RpcKind::JobWillRun => "REQUEST_JOB_WILL_RUN",
            RpcKind::StepCreate => "REQUEST_JOB_STEP_CREATE",
            RpcKind::StepComplete => "REQUEST_STEP_COMPLETE",
            RpcKind::JobRequeue => "REQUEST_JOB_REQUEUE",
            RpcKind::KillJob => "REQUEST_KILL_JOB",
            RpcKind::AuthToken => "REQUEST_AUTH_TOKEN",
            RpcKind::Other => "REQUEST_UNKNOWN",
        }
    }

    fn id(self) -> u32 {
        match self {
            RpcKind::Ping => 1008,
            RpcKind::BuildInfo => 2001,
            RpcKind::JobInfo => 2003,
            RpcKind::NodeInfo => 2007,
            RpcKind::StatsInfo => 2035,
            RpcKind::BatchScript => 2051,
            RpcKind::UpdateJob => 3001,
            RpcKind::SubmitBatchJob => 4003,
            RpcKind::JobWillRun => 4012,
            RpcKind::StepCreate => 5001,
            RpcKind::StepComplete => 5016,
            RpcKind::JobRequeue => 5023,
            RpcKind::KillJob => 5032,
            RpcKind::AuthToken => 5039,
            RpcKind::Other => 0,
        }
    }
}

/// The router layer that counts each request under its kind and its
/// caller, with the time it took, and for the metrics under its route and
/// status.
pub async fn count_requests(
    axum::extract::State(statistics): axum::extract::State<std::sync::Arc<Statistics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let kind = match &route {
        Some(path) => RpcKind::of(request.method(), path.as_str()),
        None => RpcKind::Other,
    };
    let method = request.method().clone();
    let uid = request
        .extensions()
        .get::<ConnectInfo<Caller>>()
        .map_or(u32::MAX, |info| info.0.uid);
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let took = started.elapsed();
    statistics.request(kind, uid, took);
    if let Some(route) = route {
        statistics
            .recorders
            .request(&method, route, response.status(), took);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_named_as_the_slurm_rpcs_they_stand_for() {
        let kind = |method: Method, path: &str| RpcKind::of(&method, path).name();
        assert_eq!(kind(Method::POST, "/v1/jobs"), "REQUEST_SUBMIT_BATCH_JOB");
        assert_eq!(kind(Method::GET, "/v1/jobs"), "REQUEST_JOB_INFO");
        assert_eq!(kind(Method::PATCH, "/v1/jobs/{id}"), "REQUEST_UPDATE_JOB");
        assert_eq!(
            kind(Method::POST, "/v1/jobs/{id}/signal"),
            "REQUEST_KILL_JOB"
        );
        assert_eq!(kind(Method::GET, "/metrics"), "REQUEST_STATS_INFO");
        assert_eq!(kind(Method::GET, "/nowhere"), "REQUEST_UNKNOWN");
    }

    #[test]
    fn cycles_sum_and_keep_their_maximum_and_a_reset_starts_again() {
        let statistics = Statistics::default();
        statistics.cycle(Duration::from_micros(30), 2, 5);
        statistics.cycle(Duration::from_micros(10), 4, 3);
        statistics.request(RpcKind::JobInfo, 1000, Duration::from_micros(7));
        statistics.request(RpcKind::JobInfo, 1000, Duration::from_micros(5));
        let diag = statistics.snapshot(3, 1);
        assert_eq!(
            (
                diag.cycles,
                diag.cycle_last_us,
                diag.cycle_max_us,
                diag.cycle_sum_us
            ),
            (2, 10, 30, 40)
        );
        assert_eq!((diag.depth_sum, diag.queue_len), (6, 3));
        assert_eq!(diag.rpc_by_type.len(), 1);
        assert_eq!(
            (diag.rpc_by_type[0].count, diag.rpc_by_type[0].total_us),
            (2, 12)
        );
        assert_eq!(diag.rpc_by_user[0].id, 1000);
        statistics.reset();
        let diag = statistics.snapshot(0, 0);
        assert_eq!((diag.cycles, diag.cycle_max_us), (0, 0));
        assert!(diag.rpc_by_type.is_empty());
    }
}
