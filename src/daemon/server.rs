//! The HTTP/JSON API: one handler per route, the same router on the Unix
//! socket and on TCP. Bodies are parsed here rather than by axum's
//! extractors so that every malformed request gets our JSON error shape.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::de::DeserializeOwned;

use chrono::{DateTime, Utc};

use super::caller::Caller;
use super::cluster::members::Booked;
use super::job::{Job, Phase};
use super::listing::{self, Shape};
use super::store::FinishedFilter;
use super::{Daemon, gpus, log};
use crate::error::Error;
use crate::protocol::{
    ApiError, CancelManyRequest, CancelManyResponse, CancelResult, DaemonConfig, DebugState,
    DiagInfo, FieldSet, Health, HoldRequest, JobField, JobId, JobInfo, JobState, ListFormat,
    ListQuery, NodeInfo, OutputQuery, OutputStream, PriorityReport, ResourceRequest,
    RevokeResponse, ShareReport, SignalRequest, StepEnd, StepResponse, StepStart, SubmitRequest,
    SubmitResponse, TestOnlyResponse, TokenRequest, TokenResponse, UpdateRequest,
};
use crate::users;

type Shared = State<Arc<Daemon>>;

/// The largest request body: a 4 MiB script plus a large environment.
pub(super) const MAX_BODY_BYTES: usize = 8 << 20;
type Reply<T> = Result<T, Failure>;

/// Builds the router, versioned under `/v1`.
pub fn router(daemon: Arc<Daemon>) -> Router {
    Router::new()
        .route("/v1/health", get(health))
        .route("/v1/node", get(node))
        .route("/v1/nodes", get(nodes))
        .route("/v1/config", get(config))
        .route("/v1/debug", get(debug))
        .route("/v1/jobs", post(submit).get(list))
        .route("/v1/jobs/test", post(test_submit))
        .route("/v1/jobs/cancel", post(cancel_many))
        .route("/v1/jobs/{id}", get(job).patch(update))
        .route("/v1/jobs/{id}/cancel", post(cancel))
        .route("/v1/jobs/{id}/signal", post(signal))
        .route("/v1/jobs/{id}/hold", post(hold))
        .route("/v1/jobs/{id}/release", post(release))
        .route("/v1/jobs/{id}/requeue", post(requeue))
        .route("/v1/jobs/{id}/steps", post(next_step))
        .route("/v1/jobs/{id}/steps/{step}/end", post(end_step))
        .route("/v1/jobs/{id}/script", get(batch_script))
        .route("/v1/jobs/{id}/output", get(output))
        .route("/v1/tokens", post(issue_token))
        .route("/v1/tokens/revoke", post(revoke_tokens))
        .route("/v1/priorities", get(priorities))
        .route("/v1/shares", get(shares))
        .route("/v1/diag", get(diag))
        .route("/v1/diag/reset", post(reset_diag))
        .route("/metrics", get(super::metrics::serve))
        .route("/openapi.json", get(super::openapi::serve))
        .merge(super::seed_api::routes())
        .merge(super::slurmrestd::routes())
        .merge(super::ui::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            daemon.statistics.clone(),
            super::statistics::count_requests,
        ))
        .fallback(unknown_route)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(daemon)
}

/// The router for TCP: the API behind a bearer token, since TCP carries no
/// caller credentials. A request acts as its token's user: a token issued
/// by `ccontrol token`, or the daemon's own admin token from its state
/// directory, which is the daemon's user's (and not accepted at all from
/// a `--system` daemon, whose user is root: root asks for a token like
/// anyone else).
pub fn tcp_router(daemon: Arc<Daemon>, token: Arc<str>) -> Router {
    let gate = Arc::new(Gate {
        daemon: daemon.clone(),
        admin: token,
    });
    router(daemon).layer(axum::middleware::from_fn_with_state(gate, require_token))
}

/// What the TCP listener checks a request's token against.
struct Gate {
    daemon: Arc<Daemon>,
    admin: Arc<str>,
}

/// Marks a request that came over TCP: tokens are issued over the Unix
/// socket only, where the kernel says who asks.
#[derive(Debug, Clone, Copy)]
struct OverTcp;

async fn require_token(
    State(gate): State<Arc<Gate>>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match vouched_caller(&gate, request.headers()) {
        Vouched::No => {}
        Vouched::For(caller) => {
            // As on this daemon's own socket: the standby's kernel said who
            // (or the standby's own token did, over its TCP listener).
            let over_tcp = request
                .headers()
                .contains_key(super::cluster::secret::OVER_TCP_HEADER);
            request.extensions_mut().insert(ConnectInfo(caller));
            if over_tcp {
                request.extensions_mut().insert(OverTcp);
            }
            return next.run(request).await;
        }
        Vouched::Refused => {
            return Failure {
                status: StatusCode::UNAUTHORIZED,
                code: "unauthorized",
                message: "this request names a caller as another node of the cluster would, \
                          without the cluster's secret"
                    .into(),
            }
            .into_response();
        }
    }
    let caller = token_caller(&gate, request.headers());
    let Some(caller) = caller else {
        // `--metrics-public`: a scraper needs no token for the metrics.
        if gate.daemon.config.metrics_public && request.uri().path() == "/metrics" {
            return next.run(request).await;
        }
        // The dashboard's page, script and style sheet hold no data.
        // Nor do they, nor the API's description (its shape, not its data).
        if super::ui::is_asset(request.uri().path()) || request.uri().path() == "/openapi.json" {
            return next.run(request).await;
        }
        return Failure {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: "this listener needs a valid token: one from `ccontrol token` (or, for \
                      the daemon's own user, the one in its state directory) in CONDUCTOR_TOKEN; \
                      this one is missing, unknown, expired or revoked (or, as slurmrestd's \
                      X-SLURM-USER-TOKEN, not the X-SLURM-USER-NAME user's)"
                .into(),
        }
        .into_response();
    };
    request.extensions_mut().insert(ConnectInfo(caller));
    request.extensions_mut().insert(OverTcp);
    next.run(request).await
}

/// What a request passed on by another node of the cluster shows.
enum Vouched {
    /// It names no caller: a token decides.
    No,
    /// The cluster's secret vouches for the caller it names.
    For(Caller),
    /// It names a caller, or shows a secret, that is not vouched for.
    Refused,
}

/// A request from a standby carries the caller its socket's kernel saw
/// and the cluster's secret (`cluster::secret`); only a daemon on a
/// cluster's database has a secret to check it against.
fn vouched_caller(gate: &Gate, headers: &axum::http::HeaderMap) -> Vouched {
    use super::cluster::secret::{CALLER_HEADER, SECRET_HEADER, parse_caller};
    if !headers.contains_key(SECRET_HEADER) && !headers.contains_key(CALLER_HEADER) {
        return Vouched::No;
    }
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let (secret, caller) = (header(SECRET_HEADER), header(CALLER_HEADER));
    let ours = gate.daemon.cluster_secret.as_deref();
    match (secret, ours, caller.and_then(parse_caller)) {
        (Some(shown), Some(ours), Some((uid, gid)))
            if same_secret(shown.as_bytes(), ours.as_bytes()) =>
        {
            Vouched::For(Caller { uid, gid })
        }
        _ => Vouched::Refused,
    }
}

/// Who a TCP request's token says it acts for: a bearer token, or
/// slurmrestd's `X-SLURM-USER-TOKEN` with the `X-SLURM-USER-NAME` of its
/// user; `None` when neither holds.
fn token_caller(gate: &Gate, headers: &axum::http::HeaderMap) -> Option<Caller> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let bearer = header(axum::http::header::AUTHORIZATION.as_str())
        .and_then(|value| value.strip_prefix("Bearer "));
    // slurmrestd's pair: the token stands for a user, and the name beside
    // it must be that user's, or the request is refused.
    let slurm_pair = header(super::slurmrestd::USER_TOKEN_HEADER)
        .map(|token| (token, header(super::slurmrestd::USER_NAME_HEADER)));
    match (bearer, slurm_pair) {
        (Some(presented), _) => {
            if same_secret(presented.as_bytes(), gate.admin.as_bytes()) {
                (!gate.daemon.config.system).then(Caller::daemon_user)
            } else {
                gate.daemon.tokens.caller_of(presented)
            }
        }
        (None, Some((token, name))) => gate
            .daemon
            .tokens
            .caller_of(token)
            .filter(|caller| name.and_then(users::uid_of) == Some(caller.uid)),
        (None, None) => None,
    }
}

/// `GET /v1/jobs/{id}/script`: the job's batch script, as text, for its
/// owner, root or the daemon's user (403 for anyone else).
#[utoipa::path(get, path = "/v1/jobs/{id}/script", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "The batch script.", body = String, content_type = "text/plain")))]
async fn batch_script(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
) -> Reply<Response> {
    let id = parse_id(&id)?;
    let script = daemon.batch_script(id, caller).map_err(Failure::from)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        script,
    )
        .into_response())
}

/// `POST /v1/jobs/{id}/steps`: the next step id of a running job; the
/// body (optional) names the step for accounting.
#[utoipa::path(post, path = "/v1/jobs/{id}/steps", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), request_body(content = Option<StepStart>, description = "Optional."), responses((status = 200, description = "The next step's id.", body = StepResponse)))]
async fn next_step(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply<axum::Json<StepResponse>> {
    let id = parse_id(&id)?;
    let start: StepStart = if body.is_empty() {
        StepStart::default()
    } else {
        parse_json(&body)?
    };
    let step = daemon.next_step(id, caller, start).map_err(Failure::from)?;
    Ok(axum::Json(step))
}

/// `POST /v1/jobs/{id}/steps/{step}/end`: how a step ended.
#[utoipa::path(post, path = "/v1/jobs/{id}/steps/{step}/end", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id."), ("step" = u32, Path, description = "The step's id.")), request_body = StepEnd, responses((status = 200, description = "Recorded.", body = super::openapi::Empty)))]
async fn end_step(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path((id, step)): Path<(String, String)>,
    body: Bytes,
) -> Reply<axum::Json<serde_json::Value>> {
    let id = parse_id(&id)?;
    let step: u32 = step
        .parse()
        .map_err(|_| Failure::bad_request(format!("invalid step id {step}")))?;
    let end: StepEnd = parse_json(&body)?;
    daemon
        .end_step(id, step, caller, end)
        .await
        .map_err(Failure::from)?;
    Ok(axum::Json(serde_json::json!({})))
}

/// `POST /v1/tokens`: a token for the caller (Unix socket only).
#[utoipa::path(post, path = "/v1/tokens", tag = "native", request_body(content = Option<TokenRequest>, description = "Optional."), responses((status = 200, description = "A token for the caller (Unix socket only: 403 over TCP).", body = TokenResponse)))]
async fn issue_token(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    over_tcp: Option<axum::Extension<OverTcp>>,
    body: Bytes,
) -> Reply<axum::Json<TokenResponse>> {
    if over_tcp.is_some() {
        return Err(tokens_need_the_socket());
    }
    let request: TokenRequest = if body.is_empty() {
        TokenRequest::default()
    } else {
        parse_json(&body)?
    };
    let lifespan = request
        .lifespan_secs
        .unwrap_or(super::tokens::DEFAULT_LIFESPAN_SECS);
    let (token, expires_at) = daemon
        .tokens
        .issue(caller, lifespan)
        .map_err(Failure::from)?;
    log(format_args!(
        "token issued to uid {} until {expires_at}",
        caller.uid
    ));
    Ok(axum::Json(TokenResponse {
        token,
        uid: caller.uid,
        expires_at,
    }))
}

/// `POST /v1/tokens/revoke`: revokes every token of the caller (Unix
/// socket only).
#[utoipa::path(post, path = "/v1/tokens/revoke", tag = "native", responses((status = 200, description = "How many of the caller's tokens were revoked (Unix socket only: 403 over TCP).", body = RevokeResponse)))]
async fn revoke_tokens(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    over_tcp: Option<axum::Extension<OverTcp>>,
) -> Reply<axum::Json<RevokeResponse>> {
    if over_tcp.is_some() {
        return Err(tokens_need_the_socket());
    }
    let revoked = daemon.tokens.revoke(caller.uid).map_err(Failure::from)?;
    log(format_args!(
        "{revoked} tokens of uid {} revoked",
        caller.uid
    ));
    Ok(axum::Json(RevokeResponse { revoked }))
}

fn tokens_need_the_socket() -> Failure {
    Failure {
        status: StatusCode::FORBIDDEN,
        code: "forbidden",
        message: "tokens are issued and revoked over the Unix socket only".into(),
    }
}

/// Compares secrets in time that does not depend on where they differ.
pub(super) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `cprio` (sprio): the pending jobs' priority factors.
#[utoipa::path(get, path = "/v1/priorities", tag = "native", responses((status = 200, description = "The pending jobs' priority factors.", body = PriorityReport)))]
async fn priorities(State(daemon): Shared) -> axum::Json<PriorityReport> {
    axum::Json(super::priorities::priority_report(
        &daemon.state(),
        Utc::now(),
    ))
}

/// `cshare` (sshare): the fair-share tree.
#[utoipa::path(get, path = "/v1/shares", tag = "native", responses((status = 200, description = "The fair-share tree.", body = ShareReport)))]
async fn shares(State(daemon): Shared) -> axum::Json<ShareReport> {
    axum::Json(super::priorities::share_report(&daemon.state(), Utc::now()))
}

#[utoipa::path(get, path = "/v1/diag", tag = "native", responses((status = 200, description = "The scheduler's statistics.", body = DiagInfo)))]
pub(super) async fn diag(State(daemon): Shared) -> axum::Json<DiagInfo> {
    let (pending, running) = {
        let state = daemon.state();
        (state.queue.len(), state.running.len())
    };
    axum::Json(daemon.statistics.snapshot(pending, running))
}

/// `sdiag --reset`: for root, the daemon's user and operators only.
#[utoipa::path(post, path = "/v1/diag/reset", tag = "native", responses((status = 200, description = "Reset; the statistics from now.", body = DiagInfo)))]
async fn reset_diag(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
) -> Reply<axum::Json<DiagInfo>> {
    if !daemon.is_operator(caller) {
        return Err(Error::PermissionDenied.into());
    }
    daemon.statistics.reset();
    Ok(diag(State(daemon)).await)
}

#[utoipa::path(get, path = "/v1/health", tag = "native", responses((status = 200, description = "The daemon answers.", body = Health)))]
async fn health() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        pid: std::process::id(),
    })
}

#[utoipa::path(get, path = "/v1/node", tag = "native", responses((status = 200, description = "The node and its resources.", body = NodeInfo)))]
pub(super) async fn node(State(daemon): Shared) -> axum::Json<NodeInfo> {
    let state = daemon.state();
    let capacity = state.nodes.local().capacity();
    let free = state.nodes.local().free();
    axum::Json(NodeInfo {
        name: daemon.node().to_string(),
        partition: daemon.config.partition.clone(),
        cpus_total: capacity.cpus,
        cpus_free: free.cpus,
        memory_mb_total: capacity.memory_mb,
        memory_mb_free: free.memory_mb,
        gpus_total: capacity.gpus,
        gpus_free: free.gpus,
        gres: gpus::gres(&daemon.config.gpus),
        gpu_devices: daemon.config.gpus.clone(),
        jobs_pending: state.count(JobState::Pending),
        jobs_running: state
            .running
            .keys()
            .filter_map(|id| state.jobs.get(id))
            .filter(|job| daemon.runs_here(job))
            .count(),
        partitions: daemon.config.partitions.list().to_vec(),
        state: crate::protocol::NodeState::Up,
        reason: None,
        cpu_load: crate::daemon::node::load_average(),
    })
}

/// Every node: the one the daemon runs on, as `/v1/node` gives it, and on
/// a PostgreSQL store every other node of the registry, by name.
#[utoipa::path(get, path = "/v1/nodes", tag = "native", responses((status = 200, description = "Every node, by name: this daemon's, and the registry's others on a PostgreSQL store.", body = Vec<NodeInfo>)))]
pub(super) async fn nodes(State(daemon): Shared) -> axum::Json<Vec<NodeInfo>> {
    let members = daemon.members.as_ref().map(|m| m.borrow().nodes.clone());
    let books = {
        let state = daemon.state();
        let mut running: HashMap<&str, usize> = HashMap::new();
        for job in state.running.keys().filter_map(|id| state.jobs.get(id)) {
            if let Some(node) = crate::daemon::lifecycle::remote_node(job, daemon.node()) {
                *running.entry(node).or_default() += 1;
            }
        }
        state
            .nodes
            .names()
            .skip(1)
            .filter_map(|name| {
                let books = state.nodes.node(name)?;
                let free = books.free();
                let booked = Booked {
                    cpus_free: free.cpus,
                    memory_mb_free: free.memory_mb,
                    gpus_free: free.gpus,
                    jobs_running: running.get(name).copied().unwrap_or(0),
                };
                Some((name.to_string(), booked))
            })
            .collect::<HashMap<String, Booked>>()
    };
    let axum::Json(node) = node(State(daemon)).await;
    axum::Json(match members {
        Some(registry) => crate::daemon::cluster::members::listed(node, &registry, |name| {
            books.get(name).copied()
        }),
        None => vec![node],
    })
}

#[utoipa::path(get, path = "/v1/config", tag = "native", responses((status = 200, description = "The daemon's settings.", body = DaemonConfig)))]
pub(super) async fn config(State(daemon): Shared) -> axum::Json<DaemonConfig> {
    let config = &daemon.config;
    axum::Json(DaemonConfig {
        version: env!("CARGO_PKG_VERSION").into(),
        node: config.node_name.clone(),
        partition: config.partition.clone(),
        socket: config.socket.clone(),
        listen: config.listen.map(|a| {
            let scheme = if config.tls.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{a}")
        }),
        state_dir: config.state_dir.clone(),
        cpus: config.capacity.cpus,
        memory_mb: config.capacity.memory_mb,
        gpus: config.capacity.gpus,
        gpu_devices: config.gpus.clone(),
        kill_wait_secs: config.kill_wait.as_secs(),
        node_timeout_secs: config.node_timeout.as_secs(),
        min_job_age_secs: config.min_job_age.as_secs(),
        max_array_size: config.max_array_size,
        max_job_count: config.max_job_count,
        first_job_id: config.first_job_id,
        started_at: daemon.started_at,
        containment: daemon.host.containment.name().into(),
        containment_detail: daemon.host.containment.describe(),
        containment_dirs: daemon.host.containment.dirs(),
        cpu_bind: daemon.host.containment.pin,
        def_mem_per_cpu_mb: config.def_mem_per_cpu_mb,
        scheduler_type: config.scheduler_type.slurm_name().into(),
        bf_window_minutes: u64::try_from(config.backfill.window.num_minutes()).unwrap_or(0),
        bf_max_job_test: config.backfill.max_job_test,
    })
}

#[utoipa::path(get, path = "/v1/debug", tag = "native", responses((status = 200, description = "The daemon's books.", body = DebugState)))]
async fn debug(State(daemon): Shared) -> axum::Json<DebugState> {
    let state = daemon.state();
    let capacity = state.nodes.local().capacity();
    let free = state.nodes.local().free();
    let mut held = ResourceRequest {
        cpus: 0,
        memory_mb: 0,
        gpus: 0,
    };
    for job in state.jobs.values() {
        if let super::job::Phase::Running { allocation, .. } = &job.phase {
            held.cpus += allocation.cpu_ids.len() as u32;
            held.memory_mb += allocation.memory_mb;
            held.gpus += allocation.gpu_ids.len() as u32;
        }
    }
    axum::Json(DebugState {
        booked: ResourceRequest {
            cpus: capacity.cpus - free.cpus,
            memory_mb: capacity.memory_mb - free.memory_mb,
            gpus: capacity.gpus - free.gpus,
        },
        held_by_running_jobs: held,
        running: state.count(JobState::Running),
        pending: state.count(JobState::Pending),
        jobs_in_memory: state.jobs.len(),
        passes: daemon.passes.load(Ordering::Relaxed),
        last_pass_micros: daemon.last_pass_micros.load(Ordering::Relaxed),
    })
}

#[utoipa::path(post, path = "/v1/jobs/test", tag = "native", request_body = SubmitRequest, responses((status = 200, description = "When and where it would start; nothing is submitted.", body = TestOnlyResponse)))]
async fn test_submit(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    body: Bytes,
) -> Reply<axum::Json<TestOnlyResponse>> {
    let request: SubmitRequest = parse_json(&body)?;
    Ok(axum::Json(daemon.test_submit(&request, caller)?))
}

#[utoipa::path(patch, path = "/v1/jobs/{id}", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), request_body = UpdateRequest, responses((status = 200, description = "The job, changed.", body = JobInfo)))]
async fn update(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply<axum::Json<JobInfo>> {
    let id = parse_id(&id)?;
    let request: UpdateRequest = parse_json(&body)?;
    Ok(axum::Json(daemon.update(id, request, caller).await?))
}

#[utoipa::path(post, path = "/v1/jobs/{id}/signal", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), request_body = SignalRequest, responses((status = 200, description = "Signalled.", body = JobInfo)))]
async fn signal(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply<axum::Json<JobInfo>> {
    let id = parse_id(&id)?;
    let request: SignalRequest = parse_json(&body)?;
    Ok(axum::Json(daemon.signal(id, request, caller)?))
}

#[utoipa::path(post, path = "/v1/jobs/{id}/hold", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), request_body(content = Option<HoldRequest>, description = "Optional."), responses((status = 200, description = "Held.", body = JobInfo)))]
async fn hold(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply<axum::Json<JobInfo>> {
    let id = parse_id(&id)?;
    let request: HoldRequest = if body.is_empty() {
        HoldRequest::default()
    } else {
        parse_json(&body)?
    };
    Ok(axum::Json(daemon.hold(id, request, caller).await?))
}

#[utoipa::path(post, path = "/v1/jobs/{id}/release", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "Released.", body = JobInfo)))]
async fn release(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
) -> Reply<axum::Json<JobInfo>> {
    let id = parse_id(&id)?;
    Ok(axum::Json(daemon.release(id, caller).await?))
}

#[utoipa::path(post, path = "/v1/jobs/{id}/requeue", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "Requeued.", body = JobInfo)))]
async fn requeue(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
) -> Reply<axum::Json<JobInfo>> {
    let id = parse_id(&id)?;
    Ok(axum::Json(daemon.requeue(id, caller).await?))
}

#[utoipa::path(post, path = "/v1/jobs", tag = "native", request_body = SubmitRequest, responses((status = 201, description = "On disk: the job's id.", body = SubmitResponse)))]
async fn submit(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    body: Bytes,
) -> Reply<(StatusCode, axum::Json<SubmitResponse>)> {
    let request: SubmitRequest = parse_json(&body)?;
    let job_id = daemon.submit(request, caller).await?;
    Ok((StatusCode::CREATED, axum::Json(SubmitResponse { job_id })))
}

#[utoipa::path(get, path = "/v1/jobs", tag = "native", params(ListQuery), responses((status = 200, description = "The jobs: objects, or rows with `format=rows`.", body = super::openapi::JobListing)))]
async fn list(State(daemon): Shared, RawQuery(query): RawQuery) -> Reply<Response> {
    let query: ListQuery = parse_query(query.as_deref().unwrap_or(""))?;
    let mut filter = Filter::parse(&query)?;
    if query.history != Some(true) {
        filter.ended_after = daemon.visible_since();
    }
    let fields = match query.fields.as_deref() {
        None => None,
        Some(fields) => Some(
            split(fields)
                .map(|field| field.parse::<JobField>().map_err(Failure::bad_request))
                .collect::<Result<FieldSet, _>>()?,
        ),
    };
    let shape = match (query.format.unwrap_or_default(), fields) {
        (ListFormat::Objects, None) => Shape::Full,
        (ListFormat::Objects, Some(fields)) => Shape::Fields(fields),
        (ListFormat::Rows, fields) => Shape::Rows(fields.unwrap_or_else(FieldSet::all)),
    };
    let finished = filter
        .states
        .iter()
        .any(|s| s.is_terminal())
        .then(|| FinishedFilter {
            ids: filter.ids.clone(),
            uids: filter.uids.clone(),
            states: filter.states.iter().copied().collect(),
        });
    let body = tokio::task::spawn_blocking(move || {
        listing::body(
            &daemon,
            &|job| filter.matches(job),
            filter.ids.as_deref(),
            shape,
            finished.as_ref(),
        )
    })
    .await
    .map_err(|e| Failure::internal(e.to_string()))??;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "The job.", body = JobInfo)))]
async fn job(State(daemon): Shared, Path(id): Path<String>) -> Reply<axum::Json<JobInfo>> {
    let id = parse_id(&id)?;
    let info = daemon.find_job(id)?.info(daemon.node());
    // A job past MinJobAge is no longer slurmctld's to show.
    let purged = info.state.is_terminal()
        && daemon
            .visible_since()
            .zip(info.end_time)
            .is_some_and(|(since, end)| end < since);
    if purged {
        return Err(Error::NoSuchJob(id).into());
    }
    Ok(axum::Json(info))
}

/// `GET /v1/jobs/{id}/output`: a job's stdout or stderr, for its owner
/// (or an operator), whole or followed until the job ends.
#[utoipa::path(get, path = "/v1/jobs/{id}/output", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id."), OutputQuery), responses((status = 200, description = "The file's bytes from `offset` (chunked; with `follow`, until the job ends).", content((String = "text/plain"), (String = "application/octet-stream")))))]
async fn output(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply<Response> {
    let id = parse_id(&id)?;
    let query: OutputQuery = parse_query(query.as_deref().unwrap_or(""))?;
    let job = daemon.find_job(id)?;
    if job.spec.uid != caller.uid && !daemon.is_operator(caller) {
        return Err(Error::PermissionDenied.into());
    }
    let info = job.info(daemon.node());
    let path = match query.stream {
        OutputStream::Stdout => info.stdout,
        OutputStream::Stderr => info.stderr,
    };
    let follow = super::job_output::Follow::new(
        daemon.clone(),
        id,
        path,
        job.spec.uid,
        query.offset,
        query.follow,
    );
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        axum::body::Body::from_stream(follow.into_stream()),
    )
        .into_response())
}

#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "native", params(("id" = u64, Path, minimum = 1, description = "The job's id.")), responses((status = 200, description = "Cancelled, or already ended.", body = crate::protocol::CancelResponse)))]
async fn cancel(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    Path(id): Path<String>,
) -> Reply<axum::Json<crate::protocol::CancelResponse>> {
    let id = parse_id(&id)?;
    Ok(axum::Json(daemon.cancel(id, caller).await?))
}

#[utoipa::path(post, path = "/v1/jobs/cancel", tag = "native", request_body = CancelManyRequest, responses((status = 200, description = "One result per id, in order.", body = CancelManyResponse)))]
async fn cancel_many(
    State(daemon): Shared,
    ConnectInfo(caller): ConnectInfo<Caller>,
    body: Bytes,
) -> Reply<axum::Json<CancelManyResponse>> {
    let request: CancelManyRequest = parse_json(&body)?;
    let outcomes = daemon.cancel_many(&request.ids, caller).await?;
    let results = outcomes
        .into_iter()
        .zip(request.ids)
        .map(|(outcome, job_id)| match outcome {
            Ok(done) => CancelResult::Done(done),
            Err(error) => {
                let failure = Failure::from(error);
                CancelResult::Failed {
                    job_id,
                    error: ApiError {
                        code: failure.code.to_string(),
                        message: failure.message,
                    },
                }
            }
        })
        .collect();
    Ok(axum::Json(CancelManyResponse { results }))
}

async fn unknown_route() -> Failure {
    Failure {
        status: StatusCode::NOT_FOUND,
        code: "not_found",
        message: "no such route".into(),
    }
}

/// The list filters, parsed once.
struct Filter {
    /// Job ids; an array's id also matches all its tasks.
    ids: Option<Vec<JobId>>,
    uids: Option<Vec<u32>>,
    states: BTreeSet<JobState>,
    names: Option<Vec<String>>,
    /// Finished jobs that ended before this are left out (MinJobAge).
    ended_after: Option<DateTime<Utc>>,
}

impl Filter {
    fn parse(query: &ListQuery) -> Result<Filter, Failure> {
        let ids = query
            .ids
            .as_deref()
            .map(|ids| split(ids).map(parse_id).collect::<Result<Vec<_>, _>>())
            .transpose()?;
        let uids = query
            .users
            .as_deref()
            .map(|users| {
                split(users)
                    .map(|user| {
                        users::uid_of(user)
                            .ok_or_else(|| Failure::bad_request(format!("Invalid user: {user}")))
                    })
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let states = match query.states.as_deref() {
            None => [JobState::Pending, JobState::Running].into(),
            Some(states) if states.eq_ignore_ascii_case("all") => JobState::ALL.into(),
            Some(states) => split(states)
                .map(|s| s.parse::<JobState>().map_err(Failure::bad_request))
                .collect::<Result<_, _>>()?,
        };
        let names = query
            .names
            .as_deref()
            .map(|names| split(names).map(str::to_string).collect());
        Ok(Filter {
            ids,
            uids,
            states,
            names,
            ended_after: None,
        })
    }

    fn matches(&self, job: &Job) -> bool {
        let array = job.spec.array.map(|a| a.array_id);
        self.states.contains(&job.state())
            && self
                .ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&job.id) || array.is_some_and(|a| ids.contains(&a)))
            && self
                .uids
                .as_ref()
                .is_none_or(|uids| uids.contains(&job.spec.uid))
            && self
                .names
                .as_ref()
                .is_none_or(|names| names.contains(&job.spec.name))
            && !self.ended_after.is_some_and(
                |since| matches!(&job.phase, Phase::Finished { end_time, .. } if *end_time < since),
            )
    }
}

fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn parse_id(text: &str) -> Result<JobId, Failure> {
    text.parse::<JobId>().map_err(Failure::bad_request)
}

fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| Failure::bad_request(format!("invalid request body: {e}")))
}

fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Failure> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{query}")
            .parse()
            .map_err(|_| Failure::bad_request("invalid query string".to_string()))?,
    )
    .map(|q| q.0)
    .map_err(|e| Failure::bad_request(format!("invalid query: {}", e.body_text())))
}

/// An error reply: a status and the JSON body every error has.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    /// The HTTP status this failure answers with.
    pub(super) fn status(&self) -> StatusCode {
        self.status
    }

    fn bad_request(message: String) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
            message,
        }
    }

    fn internal(message: String) -> Failure {
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        let (status, code) = match &error {
            Error::NoSuchJob(_) => (StatusCode::NOT_FOUND, "not_found"),
            Error::PermissionDenied => (StatusCode::FORBIDDEN, "forbidden"),
            Error::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Error::NotNow => (StatusCode::CONFLICT, crate::error::NOT_NOW_CODE),
            Error::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "limit_reached"),
            Error::Invalid(_)
            | Error::Fatal(_)
            | Error::InvalidTime(_)
            | Error::InvalidMemory(_)
            | Error::InvalidBegin(_)
            | Error::InvalidNumber { .. }
            | Error::Usage(_)
            | Error::BadScript(_) => (StatusCode::BAD_REQUEST, "invalid_request"),
            Error::Store(_) | Error::Io { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "store_unavailable")
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        Failure {
            status,
            code,
            message: error.to_string(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = ApiError {
            code: self.code.to_string(),
            message: self.message,
        };
        (self.status, axum::Json(body)).into_response()
    }
}
