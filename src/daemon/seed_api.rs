//! The REST routes of the service Conductor grew from (`seed-api.md`), in
//! its exact shapes, so that its scripts and pages keep working: submit,
//! query (with the job's output), cancel, and the dashboard. Each handler
//! turns the seed's shape into the daemon's own request and calls the same
//! daemon method the native `/v1` routes call; only the shapes are here.
//!
//! Errors are FastAPI's: `{"detail": "..."}` with 404 for an unknown job,
//! 422 for a body that does not validate, 400 for what the daemon refuses.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::caller::Caller;
use super::job::{Job, Phase};
use super::server::Failure;
use super::{Daemon, job_output};
use crate::error::Error;
use crate::format::duration::format_hms;
use crate::format::memory::parse_memory_mb;
use crate::protocol::{JobId, JobInfo, JobState, Origin, SubmitRequest};

/// How many running and pending jobs the dashboard lists, the latest first.
const DASHBOARD_JOBS: usize = 20;

/// The seed's routes, beside the native ones in the one router.
pub fn routes() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/jobs/submit", post(submit))
        .route("/jobs/query/{job_id}", get(query))
        .route("/jobs/cancel/{job_id}", post(cancel))
        .route("/dashboard", get(dashboard))
}

/// `POST /jobs/submit`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SeedSubmitBody)]
pub(super) struct SubmitBody {
    job: SeedJob,
    script: String,
}

/// The seed's JobSpec, field for field.
#[derive(Debug, Deserialize, ToSchema)]
pub(super) struct SeedJob {
    name: String,
    account: String,
    partition: String,
    current_working_directory: String,
    standard_output: String,
    standard_error: String,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default = "one")]
    ntasks_per_node: u32,
    #[serde(default = "one")]
    cpus_per_task: u32,
    #[serde(default = "one_gigabyte")]
    memory_per_node: String,
    time_limit: String,
    #[serde(default)]
    exclusive: bool,
}

fn one() -> u32 {
    1
}

fn one_gigabyte() -> String {
    "1G".into()
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Submitted {
    /// A string, as the seed returned it.
    job_id: String,
}

/// An error as FastAPI writes one.
#[derive(Debug)]
struct Detail {
    status: StatusCode,
    detail: String,
}

impl Detail {
    fn invalid(detail: impl Into<String>) -> Detail {
        Detail {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: detail.into(),
        }
    }
}

impl From<Error> for Detail {
    fn from(error: Error) -> Detail {
        let detail = match &error {
            Error::NoSuchJob(_) => "job not found".to_string(),
            other => other.to_string(),
        };
        Detail {
            status: Failure::from(error).status(),
            detail,
        }
    }
}

impl IntoResponse for Detail {
    fn into_response(self) -> Response {
        (
            self.status,
            axum::Json(serde_json::json!({ "detail": self.detail })),
        )
            .into_response()
    }
}

/// Checks the seed's bounds on a field's length.
fn bounded(field: &str, value: &str, max: usize) -> Result<(), Detail> {
    if value.trim().is_empty() || value.len() > max {
        return Err(Detail::invalid(format!(
            "job.{field}: must be 1 to {max} characters"
        )));
    }
    Ok(())
}

impl SeedJob {
    /// The daemon's request for this job and script, or why the seed
    /// would have refused the body.
    fn request(self, script: String) -> Result<SubmitRequest, Detail> {
        if script.trim().is_empty() {
            return Err(Detail::invalid("script: must not be empty or blank"));
        }
        for (field, value, max) in [
            ("name", &self.name, 255),
            ("account", &self.account, 255),
            ("partition", &self.partition, 100),
            (
                "current_working_directory",
                &self.current_working_directory,
                1024,
            ),
            ("standard_output", &self.standard_output, 512),
            ("standard_error", &self.standard_error, 512),
        ] {
            bounded(field, value, max)?;
        }
        if self.ntasks_per_node == 0 || self.cpus_per_task == 0 {
            return Err(Detail::invalid(
                "job.ntasks_per_node and job.cpus_per_task must be at least 1",
            ));
        }
        let memory_mb = parse_memory_mb(&self.memory_per_node).map_err(|_| {
            Detail::invalid(format!(
                "job.memory_per_node: {:?} is not a size like 16G or 1024M",
                self.memory_per_node
            ))
        })?;
        let minutes: u64 = self.time_limit.trim().parse().map_err(|_| {
            Detail::invalid(format!(
                "job.time_limit: {:?} is not a number of minutes",
                self.time_limit
            ))
        })?;
        let work_dir = PathBuf::from(&self.current_working_directory);
        if !work_dir.is_absolute() {
            return Err(Detail::invalid(
                "job.current_working_directory: must be an absolute path",
            ));
        }
        Ok(SubmitRequest {
            name: self.name,
            script,
            submit_dir: work_dir.clone(),
            work_dir,
            stdout: Some(self.standard_output),
            stderr: Some(self.standard_error),
            ntasks: self.ntasks_per_node,
            ntasks_given: true,
            ntasks_per_node: Some(self.ntasks_per_node),
            cpus_per_task: self.cpus_per_task,
            cpus_per_task_given: true,
            memory_mb: Some(memory_mb),
            time_limit: Some(minutes.saturating_mul(60)),
            partition: Some(self.partition),
            environment: self.environment,
            account: Some(self.account),
            exclusive: self.exclusive,
            origin: Origin::Api,
            ..SubmitRequest::default()
        })
    }
}

/// `POST /jobs/submit`: 201 with the id as a string, once it is on disk.
#[utoipa::path(post, path = "/jobs/submit", tag = "seed", request_body = SubmitBody, responses((status = 201, description = "On disk: the id, as a string.", body = Submitted)))]
async fn submit(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
    body: Bytes,
) -> Result<(StatusCode, axum::Json<Submitted>), Detail> {
    let body: SubmitBody = serde_json::from_slice(&body)
        .map_err(|e| Detail::invalid(format!("invalid request body: {e}")))?;
    let request = body.job.request(body.script)?;
    let id = daemon.submit(request, caller).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(Submitted {
            job_id: id.to_string(),
        }),
    ))
}

/// The seed's JobQuery.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct JobQuery {
    job_id: String,
    state: JobState,
    error_msg: Option<String>,
    time: QueryTimes,
    job_log: JobLog,
    detail: QueryDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct QueryTimes {
    submit_time: String,
    start_time: Option<String>,
    end_time: Option<String>,
    eligible_time: String,
    /// Always `D-HH:MM:SS`.
    elapsed_time: String,
    /// `HH:MM:SS`, or `D-HH:MM:SS` from a day on; `UNLIMITED` for none.
    limit_time: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct JobLog {
    stdout: String,
    stderr: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct QueryDetail {
    job_name: String,
    user: String,
    partition: String,
    allocated_cpus: u32,
    allocated_nodes: u32,
    node_list: Option<String>,
    exit_code: String,
    work_dir: String,
    data_source: Origin,
    account: String,
}

/// ISO 8601 in UTC, to the second, as the seed's pydantic wrote it.
fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `D-HH:MM:SS`, days always shown.
fn elapsed_text(seconds: u64) -> String {
    let days = seconds / 86_400;
    let rest = seconds % 86_400;
    format!(
        "{days}-{:02}:{:02}:{:02}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

impl JobQuery {
    fn new(info: JobInfo, origin: Origin, log: JobLog, now: DateTime<Utc>) -> JobQuery {
        let elapsed = info.start_time.map_or(0, |start| {
            let end = info.end_time.unwrap_or(now);
            (end - start).num_seconds().max(0).cast_unsigned()
        });
        let failed = !matches!(
            info.state,
            JobState::Pending | JobState::Running | JobState::Completed | JobState::Cancelled
        );
        JobQuery {
            job_id: info.job_id.to_string(),
            state: info.state,
            error_msg: failed.then(|| format!("{} ({})", info.state.long(), info.reason)),
            time: QueryTimes {
                submit_time: iso(info.submit_time),
                start_time: info.start_time.map(iso),
                end_time: info.end_time.map(iso),
                eligible_time: iso(info.begin_time.unwrap_or(info.submit_time)),
                elapsed_time: elapsed_text(elapsed),
                limit_time: info
                    .time_limit
                    .map_or_else(|| "UNLIMITED".to_string(), format_hms),
            },
            job_log: log,
            detail: QueryDetail {
                job_name: info.name,
                user: info.user,
                partition: info.partition,
                allocated_cpus: info.cpus,
                allocated_nodes: 1,
                node_list: info.node,
                exit_code: info
                    .exit_code
                    .map_or_else(|| "0:0".to_string(), |code| code.to_string()),
                work_dir: info.work_dir.display().to_string(),
                data_source: origin,
                account: info.account.unwrap_or_default(),
            },
        }
    }
}

/// `GET /jobs/query/{job_id}`: the job and its output, for its owner (or
/// an operator): another user's output is theirs alone.
#[utoipa::path(get, path = "/jobs/query/{job_id}", tag = "seed", params(("job_id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "The job and its output.", body = JobQuery)))]
async fn query(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<JobQuery>, Detail> {
    let id: JobId = id.parse().map_err(|_| Error::NoSuchJob(JobId(0)))?;
    let answer = tokio::task::spawn_blocking(move || {
        let job = daemon.find_job(id)?;
        if job.spec.uid != caller.uid && !daemon.is_operator(caller) {
            return Err(Error::PermissionDenied);
        }
        let info = job.info(daemon.node());
        let uid = job.spec.uid;
        let log = JobLog {
            stdout: job_output::read_text(&info.stdout, uid),
            stderr: if info.stderr == info.stdout {
                String::new()
            } else {
                job_output::read_text(&info.stderr, uid)
            },
        };
        Ok(JobQuery::new(
            info,
            job.spec.options.origin,
            log,
            Utc::now(),
        ))
    })
    .await
    .map_err(|e| Error::Other(format!("the query failed: {e}")))?;
    Ok(axum::Json(answer?))
}

/// `POST /jobs/cancel/{job_id}`: idempotent; an ended job is not an error.
#[utoipa::path(post, path = "/jobs/cancel/{job_id}", tag = "seed", params(("job_id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "Cancelled, or had already ended.", body = super::openapi::SeedCancelled)))]
async fn cancel(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
) -> Result<axum::Json<serde_json::Value>, Detail> {
    let id: JobId = id.parse().map_err(|_| Error::NoSuchJob(JobId(0)))?;
    let done = daemon.cancel(id, caller).await?;
    let msg = if done.previous_state.is_terminal() {
        format!(
            "job {id} had already ended ({})",
            done.previous_state.long()
        )
    } else {
        format!("job {id} cancelled")
    };
    Ok(axum::Json(serde_json::json!({ "msg": msg })))
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Dashboard {
    job_stats: JobStats,
    resource_stats: ResourceStats,
    node_info: Vec<NodeLine>,
    running_jobs: Vec<JobLine>,
    pending_jobs: Vec<JobLine>,
}

#[derive(Debug, Default, Serialize, ToSchema)]
pub(super) struct JobStats {
    total: u64,
    running: u64,
    pending: u64,
    completed: u64,
    failed: u64,
    cancelled: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ResourceStats {
    total_cpus: u32,
    allocated_cpus: u32,
    available_cpus: u32,
    /// Percent.
    utilization_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct NodeLine {
    node_name: String,
    partition: String,
    total_cpus: u32,
    allocated_cpus: u32,
    available_cpus: u32,
    available: bool,
    utilization_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub(super) struct JobLine {
    /// A number here, as the seed had it.
    job_id: u64,
    name: String,
    account: String,
    state: JobState,
    allocated_cpus: u32,
    submit_time: String,
    start_time: Option<String>,
}

impl JobLine {
    fn new(job: &Job) -> JobLine {
        let start_time = match &job.phase {
            Phase::Running { start_time, .. } => Some(iso(*start_time)),
            _ => None,
        };
        JobLine {
            job_id: job.id.0,
            name: job.spec.name.clone(),
            account: job.spec.options.account.clone().unwrap_or_default(),
            state: job.state(),
            allocated_cpus: job.spec.request.cpus,
            submit_time: iso(job.spec.submit_time),
            start_time,
        }
    }
}

/// The latest `DASHBOARD_JOBS` jobs in this state, newest first.
fn latest(jobs: &[&Job], state: JobState) -> Vec<JobLine> {
    let mut chosen: Vec<&&Job> = jobs.iter().filter(|job| job.state() == state).collect();
    chosen.sort_by_key(|job| std::cmp::Reverse((job.spec.submit_time, job.id)));
    chosen
        .into_iter()
        .take(DASHBOARD_JOBS)
        .map(|job| JobLine::new(job))
        .collect()
}

fn percent(part: u32, whole: u32) -> f64 {
    if whole == 0 {
        0.0
    } else {
        f64::from(part) * 100.0 / f64::from(whole)
    }
}

/// `GET /dashboard`: the machine at a glance.
#[utoipa::path(get, path = "/dashboard", tag = "seed", responses((status = 200, description = "The machine at a glance.", body = Dashboard)))]
async fn dashboard(State(daemon): State<Arc<Daemon>>) -> Result<axum::Json<Dashboard>, Detail> {
    let answer = tokio::task::spawn_blocking(move || -> Result<Dashboard, Error> {
        let mut stats = JobStats::default();
        for (state, count) in daemon.store.counts()? {
            stats.total += count;
            match state {
                // Memory has these, up to the moment.
                JobState::Pending | JobState::Running => {}
                JobState::Completed => stats.completed += count,
                JobState::Cancelled => stats.cancelled += count,
                _ => stats.failed += count,
            }
        }
        let state = daemon.state();
        stats.pending = state.queue.len() as u64;
        stats.running = state.running.len() as u64;
        let capacity = state.nodes.local().capacity();
        let free = state.nodes.local().free();
        let allocated = capacity.cpus - free.cpus;
        let active: Vec<&Job> = state
            .jobs
            .values()
            .filter(|job| !matches!(job.phase, Phase::Finished { .. }))
            .collect();
        Ok(Dashboard {
            job_stats: stats,
            resource_stats: ResourceStats {
                total_cpus: capacity.cpus,
                allocated_cpus: allocated,
                available_cpus: free.cpus,
                utilization_rate: percent(allocated, capacity.cpus),
            },
            node_info: vec![NodeLine {
                node_name: daemon.node().to_string(),
                partition: daemon.config.partition.clone(),
                total_cpus: capacity.cpus,
                allocated_cpus: allocated,
                available_cpus: free.cpus,
                available: true,
                utilization_rate: percent(allocated, capacity.cpus),
            }],
            running_jobs: latest(&active, JobState::Running),
            pending_jobs: latest(&active, JobState::Pending),
        })
    })
    .await
    .map_err(|e| Error::Other(format!("the dashboard failed: {e}")))?;
    Ok(axum::Json(answer?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed_job() -> serde_json::Value {
        serde_json::json!({
            "name": "train", "account": "lab", "partition": "normal",
            "current_working_directory": "/tmp", "standard_output": "out.txt",
            "standard_error": "err.txt", "time_limit": "30",
        })
    }

    fn parsed(job: serde_json::Value) -> Result<SubmitRequest, Detail> {
        let job: SeedJob = serde_json::from_value(job).expect("a seed job");
        job.request("#!/bin/sh\necho hi\n".into())
    }

    #[test]
    fn the_seeds_defaults_and_units_become_the_daemons_request() {
        let request = parsed(seed_job()).expect("valid");
        assert_eq!(request.ntasks, 1);
        assert_eq!(request.cpus_per_task, 1);
        assert_eq!(request.memory_mb, Some(1024));
        assert_eq!(request.time_limit, Some(30 * 60));
        assert_eq!(request.stdout.as_deref(), Some("out.txt"));
        assert_eq!(request.account.as_deref(), Some("lab"));
        assert_eq!(request.origin, Origin::Api);
    }

    #[test]
    fn what_the_seed_refused_is_refused_with_422() {
        for (field, value) in [
            ("name", serde_json::json!("  ")),
            ("memory_per_node", serde_json::json!("lots")),
            ("time_limit", serde_json::json!("1:00")),
            ("cpus_per_task", serde_json::json!(0)),
            ("current_working_directory", serde_json::json!("relative")),
        ] {
            let mut job = seed_job();
            job[field] = value;
            let refused = parsed(job).expect_err(field);
            assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}");
        }
        let job: SeedJob = serde_json::from_value(seed_job()).expect("a seed job");
        assert!(job.request(" \n ".into()).is_err(), "a blank script");
    }

    #[test]
    fn times_are_shown_as_the_seed_did() {
        assert_eq!(elapsed_text(39 * 60 + 20), "0-00:39:20");
        assert_eq!(elapsed_text(86_400 + 1), "1-00:00:01");
        let at = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        assert_eq!(iso(at), "2023-11-14T22:13:20Z");
    }
}
