//! The slurmrestd face of the API: a subset of Slurm's REST routes in the
//! v0.0.40 shapes (`/slurm/v0.0.40/...`, `/slurmdb/v0.0.40/...`), so that
//! portals and workflow tools written for slurmrestd submit to Conductor.
//!
//! The bodies are the documents `cqueue --json`, `cacct --json`, `cinfo
//! --json` and `ccontrol show node --json` print (`format::slurm_json`):
//! one set of renderers below both. Requests turn into the daemon's own
//! [`SubmitRequest`] and call the same daemon methods the `/v1` routes do.
//!
//! Authentication is the transport's (see `server::tcp_router`): over TCP,
//! slurmrestd's `X-SLURM-USER-NAME` + `X-SLURM-USER-TOKEN` carry a token
//! from `ccontrol token`; over the socket the kernel says who asks.
//! Errors are slurmrestd's: `{"errors": [{error, error_number,
//! description, source}], "warnings", "meta"}`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::Daemon;
use super::caller::Caller;
use super::listing::{self, Shape};
use super::server::{self, Failure};
use super::store::FinishedFilter;
use crate::error::Error;
use crate::format::slurm_json::db_job::SlurmdbdJobsResponse;
use crate::format::slurm_json::job_info::{JobContext, JobInfoResponse};
use crate::format::slurm_json::meta::{self, Meta};
use crate::format::slurm_json::node::{NodeContext, NodesResponse};
use crate::format::slurm_json::sinfo::PartitionInfo as PartitionJson;
use crate::format::slurm_json::{Version, number::NoVal};
use crate::format::squeue::Row;
use crate::protocol::{
    JobId, JobInfo, JobList, JobState, NodeInfo, Origin, SignalRequest, SubmitRequest,
};
use crate::users;

/// slurmrestd's header naming the user a token stands for.
pub(super) const USER_NAME_HEADER: &str = "x-slurm-user-name";
/// slurmrestd's header carrying the token (here one from `ccontrol token`).
pub(super) const USER_TOKEN_HEADER: &str = "x-slurm-user-token";

/// The one data_parser these routes speak.
const VERSION: Version = Version::V0040;

/// Slurm's error numbers for what these routes refuse (`slurm_errno.h`).
const ESLURM_INVALID_JOB_ID: i32 = 2017;
const ESLURM_ACCESS_DENIED: i32 = 2002;
const ESLURM_ALREADY_DONE: i32 = 2021;
const ESLURM_REST_INVALID_QUERY: i32 = 9000;
const ESLURM_REST_FAIL_PARSING: i32 = 9001;
const ESLURM_REST_INVALID_JOBS_DESC: i32 = 9002;
const SLURM_ERROR: i32 = -1;

/// The slurmrestd routes, beside the native ones in the one router.
pub fn routes() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/slurm/v0.0.40/job/submit", post(submit))
        .route("/slurm/v0.0.40/jobs", get(jobs))
        .route("/slurm/v0.0.40/job/{job_id}", get(job).delete(delete_job))
        .route("/slurm/v0.0.40/ping", get(ping))
        .route("/slurm/v0.0.40/diag", get(diag))
        .route("/slurm/v0.0.40/nodes", get(nodes))
        .route("/slurm/v0.0.40/partitions", get(partitions))
        .route("/slurmdb/v0.0.40/jobs", get(db_jobs))
        .route("/slurmdb/v0.0.40/job/{job_id}", get(db_job))
}

/// `meta.client` for a caller of these routes.
fn meta_caller(caller: Caller) -> meta::Caller {
    meta::Caller {
        command: Vec::new(),
        source: "slurmrestd".into(),
        user: users::user_name(caller.uid),
        group: users::group_name(caller.gid),
    }
}

/// An error in slurmrestd's shape, with its HTTP status.
#[derive(Debug)]
struct RestError {
    status: StatusCode,
    error_number: i32,
    error: String,
    description: String,
    source: &'static str,
}

impl RestError {
    fn new(status: StatusCode, error_number: i32, error: impl Into<String>) -> RestError {
        RestError {
            status,
            error_number,
            error: error.into(),
            description: String::new(),
            source: "",
        }
    }

    fn invalid_desc(description: impl Into<String>) -> RestError {
        RestError {
            description: description.into(),
            source: "job_desc_msg",
            ..RestError::new(
                StatusCode::BAD_REQUEST,
                ESLURM_REST_INVALID_JOBS_DESC,
                "Invalid job description",
            )
        }
    }
}

impl From<Error> for RestError {
    fn from(error: Error) -> RestError {
        let (error_number, text) = match &error {
            Error::NoSuchJob(_) => (ESLURM_INVALID_JOB_ID, "Invalid job id specified".into()),
            Error::PermissionDenied => (ESLURM_ACCESS_DENIED, "Access/permission denied".into()),
            Error::Conflict(_) | Error::NotNow => (ESLURM_ALREADY_DONE, error.to_string()),
            _ => (SLURM_ERROR, error.to_string()),
        };
        let description = error.to_string();
        let status = Failure::from(error).status();
        let error_number = if error_number == SLURM_ERROR && status == StatusCode::BAD_REQUEST {
            ESLURM_REST_INVALID_JOBS_DESC
        } else {
            error_number
        };
        RestError {
            status,
            error_number,
            error: text,
            description,
            source: "conductord",
        }
    }
}

impl IntoResponse for RestError {
    fn into_response(self) -> Response {
        let body = json!({
            "errors": [{
                "error": self.error,
                "error_number": self.error_number,
                "description": self.description,
                "source": self.source,
            }],
            "warnings": [],
            "meta": Meta::new(VERSION, &meta::Caller::default()),
        });
        (self.status, axum::Json(body)).into_response()
    }
}

type Reply = Result<axum::Json<Value>, RestError>;

/// A document from the renderers, as a JSON value.
fn document<T: serde::Serialize>(document: &T) -> Reply {
    serde_json::to_value(document).map(axum::Json).map_err(|e| {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            SLURM_ERROR,
            e.to_string(),
        )
    })
}

/// Slurm's `*_no_val` integers as clients send them: a plain number, or
/// `{"set": true, "infinite": false, "number": N}`.
#[derive(Debug, Clone, Copy, Deserialize, serde::Serialize, ToSchema)]
#[serde(untagged)]
pub(super) enum NoValIn {
    Plain(u64),
    Object {
        #[serde(default)]
        set: Option<bool>,
        #[serde(default)]
        infinite: bool,
        #[serde(default)]
        number: Option<u64>,
    },
}

/// What a `*_no_val` integer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Given {
    Unset,
    Infinite,
    Number(u64),
}

impl NoValIn {
    fn given(self) -> Given {
        match self {
            NoValIn::Plain(number) => Given::Number(number),
            NoValIn::Object { infinite: true, .. } => Given::Infinite,
            NoValIn::Object {
                set: Some(false), ..
            } => Given::Unset,
            NoValIn::Object {
                number: Some(number),
                ..
            } => Given::Number(number),
            NoValIn::Object { .. } => Given::Unset,
        }
    }
}

/// `POST /slurm/v0.0.40/job/submit`'s body: `{"job": job_desc_msg}`, and
/// the older top-level `script` some clients still send beside it.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = SlurmSubmitBody)]
pub(super) struct SubmitBody {
    job: JobDesc,
    #[serde(default)]
    script: Option<String>,
}

/// The part of `job_desc_msg` one node gives meaning to; the other
/// fields are accepted and named in the answer's warnings.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
pub(super) struct JobDesc {
    script: Option<String>,
    /// `K=V` strings, as slurmrestd wants them.
    environment: Option<Vec<String>>,
    current_working_directory: Option<String>,
    name: Option<String>,
    partition: Option<String>,
    tasks: Option<u32>,
    tasks_per_node: Option<u32>,
    cpus_per_task: Option<u32>,
    memory_per_node: Option<NoValIn>,
    memory_per_cpu: Option<NoValIn>,
    /// Minutes.
    time_limit: Option<NoValIn>,
    standard_output: Option<String>,
    standard_error: Option<String>,
    standard_input: Option<String>,
    account: Option<String>,
    qos: Option<String>,
    comment: Option<String>,
    hold: Option<bool>,
    /// Seconds since the epoch.
    begin_time: Option<NoValIn>,
    dependency: Option<String>,
    array: Option<String>,
    nice: Option<i32>,
    argv: Option<Vec<String>>,
    #[serde(flatten)]
    other: BTreeMap<String, Value>,
}

impl JobDesc {
    /// The daemon's request, or why slurmrestd would refuse the body.
    fn request(self, script: Option<String>) -> Result<(SubmitRequest, Vec<String>), RestError> {
        let script = self
            .script
            .or(script)
            .filter(|script| !script.trim().is_empty())
            .ok_or_else(|| RestError::invalid_desc("script: a batch script is required"))?;
        let work_dir = PathBuf::from(
            self.current_working_directory
                .ok_or_else(|| RestError::invalid_desc("current_working_directory: required"))?,
        );
        if !work_dir.is_absolute() {
            return Err(RestError::invalid_desc(
                "current_working_directory: must be an absolute path",
            ));
        }
        let mut environment = BTreeMap::new();
        for pair in self.environment.unwrap_or_default() {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                RestError::invalid_desc(format!("environment: {pair:?} is not K=V"))
            })?;
            environment.insert(key.to_string(), value.to_string());
        }
        let tasks = self.tasks.unwrap_or(1);
        let cpus_per_task = self.cpus_per_task.unwrap_or(1);
        if tasks == 0 || cpus_per_task == 0 {
            return Err(RestError::invalid_desc(
                "tasks and cpus_per_task must be at least 1",
            ));
        }
        let memory = |field: Option<NoValIn>| match field.map(NoValIn::given) {
            Some(Given::Number(mb)) => Some(mb),
            _ => None,
        };
        let time_limit = match self.time_limit.map(NoValIn::given) {
            Some(Given::Number(minutes)) => Some(minutes.saturating_mul(60)),
            _ => None,
        };
        let begin_time = match self.begin_time.map(NoValIn::given) {
            Some(Given::Number(secs)) => Some(
                i64::try_from(secs)
                    .ok()
                    .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0))
                    .ok_or_else(|| RestError::invalid_desc("begin_time: out of range"))?,
            ),
            _ => None,
        };
        let warnings = self
            .other
            .keys()
            .map(|key| format!("job.{key}: accepted and ignored on this node"))
            .collect();
        let request = SubmitRequest {
            name: self.name.unwrap_or_else(|| "sbatch".into()),
            script,
            args: self.argv.unwrap_or_default(),
            submit_dir: work_dir.clone(),
            work_dir,
            stdout: self.standard_output,
            stderr: self.standard_error,
            stdin: self.standard_input,
            ntasks: tasks,
            ntasks_given: self.tasks.is_some(),
            ntasks_per_node: self.tasks_per_node,
            cpus_per_task,
            cpus_per_task_given: self.cpus_per_task.is_some(),
            memory_mb: memory(self.memory_per_node),
            memory_per_cpu_mb: memory(self.memory_per_cpu),
            time_limit,
            partition: self.partition,
            environment,
            hold: self.hold.unwrap_or(false),
            begin_time,
            dependency: self.dependency.filter(|d| !d.is_empty()),
            array: self.array.filter(|a| !a.is_empty()),
            nice: self.nice.unwrap_or(0),
            comment: self.comment,
            account: self.account,
            qos: self.qos,
            origin: Origin::Api,
            ..SubmitRequest::default()
        };
        Ok((request, warnings))
    }
}

/// `POST /slurm/v0.0.40/job/submit`: slurmrestd's
/// `openapi_job_submit_response`, once the job is on disk.
#[utoipa::path(post, path = "/slurm/v0.0.40/job/submit", tag = "slurmrestd", request_body = SubmitBody, responses((status = 200, description = "On disk.", body = super::openapi::SlurmSubmitResponse)))]
async fn submit(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
    body: Bytes,
) -> Reply {
    let body: SubmitBody = serde_json::from_slice(&body).map_err(|e| RestError {
        description: e.to_string(),
        source: "HTTP request body",
        ..RestError::new(
            StatusCode::BAD_REQUEST,
            ESLURM_REST_FAIL_PARSING,
            "Unable to parse request body",
        )
    })?;
    let (request, warnings) = body.job.request(body.script)?;
    let id = daemon.submit(request, caller).await?;
    let warnings: Vec<Value> = warnings
        .into_iter()
        .map(|description| json!({"description": description, "source": "job_desc_msg"}))
        .collect();
    Ok(axum::Json(json!({
        "job_id": id.0,
        "step_id": "batch",
        "job_submit_user_msg": "",
        "result": {
            "job_id": id.0,
            "step_id": "batch",
            "error_code": 0,
            "error": "",
            "job_submit_user_msg": "",
        },
        "meta": Meta::new(VERSION, &meta_caller(caller)),
        "errors": [],
        "warnings": warnings,
    })))
}

/// Which jobs a listing takes.
enum Take {
    /// What squeue shows: the queue and the jobs ended within MinJobAge.
    Queue,
    /// What sacct shows: every job the store keeps.
    History,
}

/// The jobs, as `/v1/jobs` lists them, through the same listing code.
/// The job a route's `{job_id}` names (an array's id: its tasks), as
/// [`listed`] takes them; an unknown job is slurmrestd's invalid job id.
async fn listed_job(daemon: Arc<Daemon>, take: Take, id: &str) -> Result<Vec<JobInfo>, RestError> {
    let id = parse_job_id(id)?;
    let jobs = listed(daemon, take, Some(vec![id])).await?;
    if jobs.is_empty() {
        return Err(Error::NoSuchJob(id).into());
    }
    Ok(jobs)
}

async fn listed(
    daemon: Arc<Daemon>,
    take: Take,
    ids: Option<Vec<JobId>>,
) -> Result<Vec<JobInfo>, RestError> {
    let bytes = tokio::task::spawn_blocking(move || {
        let since = match take {
            Take::Queue => daemon.visible_since(),
            Take::History => None,
        };
        let finished = matches!(take, Take::History).then(|| FinishedFilter {
            ids: ids.clone(),
            uids: None,
            states: JobState::ALL.into_iter().collect(),
        });
        let matches = |job: &super::job::Job| {
            ids.as_ref().is_none_or(|ids| {
                ids.contains(&job.id)
                    || job.spec.array.is_some_and(|a| ids.contains(&a.array_id))
            }) && !since.is_some_and(|since| {
                matches!(&job.phase, super::job::Phase::Finished { end_time, .. } if *end_time < since)
            })
        };
        listing::body(&daemon, &matches, ids.as_deref(), Shape::Full, finished.as_ref())
    })
    .await
    .map_err(|e| RestError::new(StatusCode::INTERNAL_SERVER_ERROR, SLURM_ERROR, e.to_string()))??;
    let list: JobList = serde_json::from_slice(&bytes).map_err(|e| {
        RestError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            SLURM_ERROR,
            e.to_string(),
        )
    })?;
    Ok(list.jobs)
}

fn parse_job_id(text: &str) -> Result<JobId, RestError> {
    text.parse::<JobId>().map_err(|e| RestError {
        description: e,
        source: "job_id",
        ..RestError::new(
            StatusCode::BAD_REQUEST,
            ESLURM_INVALID_JOB_ID,
            "Invalid job id specified",
        )
    })
}

/// squeue's document for these jobs.
fn job_info_document(jobs: &[JobInfo], caller: Caller) -> Reply {
    let rows: Vec<Row<'_>> = jobs.iter().map(Row::single).collect();
    let meta_caller = meta_caller(caller);
    let context = JobContext {
        version: VERSION,
        caller: &meta_caller,
        now: Utc::now(),
        group_name: &users::group_name,
    };
    document(&JobInfoResponse::new(&rows, &context))
}

/// `GET /slurm/v0.0.40/jobs`: `openapi_job_info_resp`, as `cqueue --json`.
#[utoipa::path(get, path = "/slurm/v0.0.40/jobs", tag = "slurmrestd", responses((status = 200, description = "The queue.", body = super::openapi::SlurmJobsResponse)))]
async fn jobs(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
) -> Reply {
    let jobs = listed(daemon, Take::Queue, None).await?;
    job_info_document(&jobs, caller)
}

/// `GET /slurm/v0.0.40/job/{job_id}`: the job (an array's id: its tasks).
#[utoipa::path(get, path = "/slurm/v0.0.40/job/{job_id}", tag = "slurmrestd", params(("job_id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "The job, or an array's tasks.", body = super::openapi::SlurmJobsResponse)))]
async fn job(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
) -> Reply {
    let jobs = listed_job(daemon, Take::Queue, &id).await?;
    job_info_document(&jobs, caller)
}

/// `DELETE /slurm/v0.0.40/job/{job_id}[?signal=SIG]`: scancel, or
/// `scancel --signal` when a signal is named.
#[utoipa::path(delete, path = "/slurm/v0.0.40/job/{job_id}", tag = "slurmrestd", params(("job_id" = u64, Path, minimum = 1, description = "The job's id."), ("signal" = Option<String>, Query, description = "Signal it (a name or number) rather than cancel it.")), responses((status = 200, description = "Cancelled or signalled.", body = super::openapi::SlurmEmptyResponse)))]
async fn delete_job(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let id = parse_job_id(&id)?;
    let signal = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("signal="))
        .filter(|signal| !signal.is_empty());
    match signal {
        Some(signal) => {
            let number = crate::format::signal::parse_signal(signal).ok_or_else(|| RestError {
                description: format!("unknown signal {signal:?}"),
                source: "signal",
                ..RestError::new(
                    StatusCode::BAD_REQUEST,
                    ESLURM_REST_INVALID_QUERY,
                    "Invalid signal",
                )
            })?;
            daemon.signal(
                id,
                SignalRequest {
                    signal: number,
                    scope: Default::default(),
                },
                caller,
            )?;
        }
        None => {
            daemon.cancel(id, caller).await?;
        }
    }
    Ok(axum::Json(json!({
        "meta": Meta::new(VERSION, &meta_caller(caller)),
        "errors": [],
        "warnings": [],
    })))
}

/// `GET /slurm/v0.0.40/ping`: `openapi_ping_array_resp`, the one
/// controller there is, with how long its state took to answer.
#[utoipa::path(get, path = "/slurm/v0.0.40/ping", tag = "slurmrestd", responses((status = 200, description = "The controller.", body = super::openapi::SlurmPingResponse)))]
async fn ping(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
) -> Reply {
    let started = Instant::now();
    drop(daemon.state());
    let latency = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
    Ok(axum::Json(json!({
        "pings": [{
            "hostname": daemon.node(),
            "pinged": "UP",
            "latency": latency,
            "mode": "primary",
            "responding": true,
            "primary": true,
        }],
        "meta": Meta::new(VERSION, &meta_caller(caller)),
        "errors": [],
        "warnings": [],
    })))
}

/// `GET /slurm/v0.0.40/diag`: `openapi_diag_resp`, the figures `cdiag`
/// shows under sdiag's names.
#[utoipa::path(get, path = "/slurm/v0.0.40/diag", tag = "slurmrestd", responses((status = 200, description = "sdiag's figures.", body = super::openapi::SlurmDiagResponse)))]
async fn diag(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
) -> Reply {
    let meta = Meta::new(VERSION, &meta_caller(caller));
    let axum::Json(diag) = server::diag(State(daemon)).await;
    let mean = |sum: u64| sum.checked_div(diag.cycles).unwrap_or(0);
    let by_type: Vec<Value> = diag
        .rpc_by_type
        .iter()
        .map(|rpc| {
            json!({
                "type_id": rpc.id,
                "message_type": rpc.name,
                "count": rpc.count,
                "average_time": NoVal::of_u64(rpc.total_us.checked_div(rpc.count).unwrap_or(0)),
                "total_time": rpc.total_us,
            })
        })
        .collect();
    let by_user: Vec<Value> = diag
        .rpc_by_user
        .iter()
        .map(|rpc| {
            json!({
                "user_id": rpc.id,
                "user": rpc.name,
                "count": rpc.count,
                "average_time": NoVal::of_u64(rpc.total_us.checked_div(rpc.count).unwrap_or(0)),
                "total_time": rpc.total_us,
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "statistics": {
            "parts_packed": 1,
            "req_time": NoVal::of(diag.now.timestamp()),
            "req_time_start": NoVal::of(diag.since.timestamp()),
            "jobs_submitted": diag.jobs_submitted,
            "jobs_started": diag.jobs_started,
            "jobs_completed": diag.jobs_completed,
            "jobs_canceled": diag.jobs_canceled,
            "jobs_failed": diag.jobs_failed,
            "jobs_pending": diag.jobs_pending,
            "jobs_running": diag.jobs_running,
            "schedule_cycle_max": diag.cycle_max_us,
            "schedule_cycle_last": diag.cycle_last_us,
            "schedule_cycle_sum": diag.cycle_sum_us,
            "schedule_cycle_total": diag.cycles,
            "schedule_cycle_mean": mean(diag.cycle_sum_us),
            "schedule_cycle_mean_depth": mean(diag.depth_sum),
            "schedule_queue_length": diag.queue_len,
            "rpcs_by_message_type": by_type,
            "rpcs_by_user": by_user,
        },
        "meta": meta,
        "errors": [],
        "warnings": [],
    })))
}

/// `GET /slurm/v0.0.40/nodes`: `openapi_nodes_resp`, every node, as
/// `ccontrol show node --json`.
#[utoipa::path(get, path = "/slurm/v0.0.40/nodes", tag = "slurmrestd", responses((status = 200, description = "Every node.", body = super::openapi::SlurmNodesResponse)))]
async fn nodes(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
) -> Reply {
    let axum::Json(nodes) = server::nodes(State(daemon.clone())).await;
    let axum::Json(config) = server::config(State(daemon)).await;
    let meta_caller = meta_caller(caller);
    let context = NodeContext {
        version: VERSION,
        caller: &meta_caller,
        now: Utc::now(),
        config: &config,
        facts: &crate::cli::ccontrol::node_facts(),
    };
    let nodes: Vec<&NodeInfo> = nodes.iter().collect();
    document(&NodesResponse::new(&nodes, &context))
}

/// `GET /slurm/v0.0.40/partitions`: `openapi_partition_resp`, each
/// partition over the nodes it holds, as `cinfo --json` describes it.
#[utoipa::path(get, path = "/slurm/v0.0.40/partitions", tag = "slurmrestd", responses((status = 200, description = "The partitions.", body = super::openapi::SlurmPartitionsResponse)))]
async fn partitions(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
) -> Reply {
    let axum::Json(nodes) = server::nodes(State(daemon.clone())).await;
    let axum::Json(config) = server::config(State(daemon)).await;
    let meta_caller = meta_caller(caller);
    let members: Vec<&NodeInfo> = nodes.iter().collect();
    let partitions: Vec<_> = crate::cli::cinfo::all_partitions(&nodes)
        .iter()
        .map(|partition| PartitionJson::new(&members, partition, &config))
        .collect();
    Ok(axum::Json(json!({
        "partitions": partitions,
        "last_update": NoVal::of(Utc::now().timestamp()),
        "meta": Meta::new(VERSION, &meta_caller),
        "errors": [],
        "warnings": [],
    })))
}

/// sacct's document for these jobs.
fn db_document(jobs: &[JobInfo], caller: Caller) -> Reply {
    document(&SlurmdbdJobsResponse::new(
        jobs,
        VERSION,
        &meta_caller(caller),
        Utc::now(),
        &users::group_name,
    ))
}

/// `GET /slurmdb/v0.0.40/jobs`: `openapi_slurmdbd_jobs_resp`, as `cacct
/// --json` over the whole history.
#[utoipa::path(get, path = "/slurmdb/v0.0.40/jobs", tag = "slurmrestd", responses((status = 200, description = "The whole history.", body = super::openapi::SlurmdbJobsResponse)))]
async fn db_jobs(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
) -> Reply {
    let jobs = listed(daemon, Take::History, None).await?;
    db_document(&jobs, caller)
}

/// `GET /slurmdb/v0.0.40/job/{job_id}`: the one job's history.
#[utoipa::path(get, path = "/slurmdb/v0.0.40/job/{job_id}", tag = "slurmrestd", params(("job_id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "The job's history.", body = super::openapi::SlurmdbJobsResponse)))]
async fn db_job(
    State(daemon): State<Arc<Daemon>>,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
) -> Reply {
    let jobs = listed_job(daemon, Take::History, &id).await?;
    db_document(&jobs, caller)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_val_integers_come_plain_or_as_objects() {
        let given = |text: &str| {
            serde_json::from_str::<NoValIn>(text)
                .expect("parses")
                .given()
        };
        assert_eq!(given("90"), Given::Number(90));
        assert_eq!(given(r#"{"set": true, "number": 90}"#), Given::Number(90));
        assert_eq!(given(r#"{"set": false, "number": 90}"#), Given::Unset);
        assert_eq!(given(r#"{"infinite": true}"#), Given::Infinite);
    }

    #[test]
    fn a_job_desc_becomes_the_daemons_request() {
        let desc: JobDesc = serde_json::from_value(json!({
            "script": "#!/bin/sh\ntrue\n",
            "environment": ["PATH=/bin:/usr/bin", "A=b=c"],
            "current_working_directory": "/tmp",
            "tasks": 2,
            "memory_per_node": {"set": true, "number": 512},
            "time_limit": 5,
            "licenses": "x",
        }))
        .expect("parses");
        let (request, warnings) = desc.request(None).expect("valid");
        assert_eq!(
            request.environment.get("A").map(String::as_str),
            Some("b=c")
        );
        assert_eq!(request.ntasks, 2);
        assert_eq!(request.memory_mb, Some(512));
        assert_eq!(request.time_limit, Some(300));
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn a_job_desc_without_a_directory_is_refused() {
        let desc: JobDesc =
            serde_json::from_value(json!({"script": "#!/bin/sh\n"})).expect("parses");
        let error = desc.request(None).expect_err("refused");
        assert_eq!(error.error_number, ESLURM_REST_INVALID_JOBS_DESC);
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
    }
}
