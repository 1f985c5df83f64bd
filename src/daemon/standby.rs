//! A node that starts while another node holds the scheduler lease stands
//! by: registered and beating like any node (its agent runs already),
//! running the jobs the scheduler puts on it (`node_runner`), its socket
//! passing each request on to the scheduler's TCP listener for the caller
//! its kernel saw (vouched for by the cluster's secret), until the lease
//! is its own. Then it goes on to start as the scheduler, rebuilding
//! the core from the store as a restart does.
//!
//! The wait is on a thread of its own, not the runtime's: the `postgres`
//! client blocks, and a standby stopped by a signal leaves that thread to
//! end with the process.

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{oneshot, watch};

use super::caller::Caller;
use super::cluster::agent::{Membership, NodeAgent, Nudge};
use super::cluster::lease::{self, Lease};
use super::cluster::secret::{CALLER_HEADER, OVER_TCP_HEADER, SECRET_HEADER};
use super::host::Host;
use super::server::MAX_BODY_BYTES;
use super::{Config, bind_unix, connections, log, node_runner, shutdown_signal};
use crate::error::Result;
use crate::protocol::ApiError;
use tokio_rustls::TlsAcceptor;

/// Stands by until this node holds the lease, which `holder` holds now
/// and `session` waits on, running the jobs put on this node meanwhile;
/// `None` when a signal stopped the daemon first.
pub(super) async fn until_lease(
    config: &Config,
    (host, tls, admin_token): (&Arc<Host>, Option<TlsAcceptor>, Arc<str>),
    (agent, secret): (&NodeAgent, &str),
    session: postgres::Client,
    holder: String,
) -> Result<Option<Lease>> {
    let url = config.store.clone().unwrap_or_default();
    let runner = node_runner::start(&url, host.clone());
    let scheduler = holder
        .strip_prefix("conductord:")
        .unwrap_or(&holder)
        .to_string();
    log(format_args!(
        "standby: node {} waits for the scheduler lease, held by node {scheduler}",
        config.node_name
    ));
    let (taken_tx, taken) = oneshot::channel();
    let (url, node) = (
        config.store.clone().unwrap_or_default(),
        config.node_name.clone(),
    );
    std::thread::Builder::new()
        .name("lease-wait".into())
        .spawn(move || {
            let lease = lease::wait(session, &url, &node, RETRY);
            let _ = taken_tx.send(lease);
        })
        .map_err(|e| crate::Error::Other(format!("cannot start the lease's thread: {e}")))?;

    let listener = bind_unix(&config.socket, config.system)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    // ring is the process's TLS provider (reqwest is built without one);
    // an error means it is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // A scheduler listening over TLS is trusted as a client trusts a
    // daemon: through `$CONDUCTOR_CA` (the site's CA), else the system's
    // roots.
    let mut http = reqwest::Client::builder().connect_timeout(std::time::Duration::from_secs(5));
    if let Some(roots) = crate::client::https::roots_from_env()? {
        http = http.tls_certs_only(roots);
    }
    let http = http
        .build()
        .map_err(|e| crate::Error::Other(format!("cannot set up the HTTP client: {e}")))?;
    let forward = Arc::new(Forward {
        node: config.node_name.clone(),
        members: agent.members(),
        refresh: agent.refresher(),
        secret: secret.to_string(),
        http,
    });
    let tcp = match config.listen {
        Some(address) => Some(
            tokio::net::TcpListener::bind(address)
                .await
                .map_err(|e| crate::Error::io("cannot listen on", address.to_string(), e))?,
        ),
        None => None,
    };
    let answering = tokio::spawn(connections::serve(
        connections::Listener::Unix(listener),
        router(forward.clone(), Via::Socket),
        config.connections,
        stop_rx.clone(),
    ));
    let answering_tcp = tcp.map(|listener| {
        tokio::spawn(connections::serve(
            connections::Listener::Tcp(listener, tls),
            router(forward, Via::Tcp { admin: admin_token }),
            config.connections,
            stop_rx,
        ))
    });
    let lease = tokio::select! {
        () = shutdown_signal() => None,
        lease = taken => lease.ok(),
    };
    let _ = stop_tx.send(true);
    let _ = answering.await;
    if let Some(task) = answering_tcp {
        let _ = task.await;
    }
    // The jobs run on under their supervisors: the scheduler this node
    // becomes follows them as its own.
    drop(runner);
    remove_socket(&config.socket);
    if lease.is_some() {
        log(format_args!(
            "node {} holds the scheduler lease: taking over from node {scheduler}",
            config.node_name
        ));
    }
    Ok(lease)
}

/// How long a standby whose session ended waits before it asks for the
/// lease again: longer than the scheduler's own check (1 s), so after a
/// restart of the database the scheduler that held the lease takes it
/// back first and scheduling does not move for nothing.
const RETRY: std::time::Duration = std::time::Duration::from_secs(5);

/// What a standby's socket needs to pass a request on: where the
/// scheduler is (the node agent's latest reading), and what vouches for
/// the caller there.
struct Forward {
    node: String,
    members: watch::Receiver<Membership>,
    /// Has the agent read the registry again at once.
    refresh: Nudge,
    secret: String,
    http: reqwest::Client,
}

/// Which of the standby's listeners a request came in on.
#[derive(Clone)]
enum Via {
    /// The Unix socket: the caller is who its kernel says.
    Socket,
    /// The TCP listener: a user's token is passed on for the scheduler to
    /// check; this node's own token (its state directory's) stands for
    /// the daemon's user, vouched for as the socket's callers are.
    Tcp { admin: Arc<str> },
}

/// Health answers as a standby's; every other request is passed on to the
/// scheduler's TCP listener, for the caller this listener established.
fn router(forward: Arc<Forward>, via: Via) -> Router {
    Router::new()
        .route(
            "/v1/health",
            get(|| async {
                axum::Json(crate::protocol::Health {
                    status: "standby".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    pid: std::process::id(),
                })
            }),
        )
        .fallback(pass_on)
        .with_state((forward, via))
}

/// Headers that belong to one connection, or that this node sets itself,
/// never copied across.
const NOT_COPIED: [&str; 10] = [
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "host",
    "content-length",
    "authorization",
    "proxy-authorization",
];

/// Where the scheduler is, as the agent last read it.
enum Target {
    Nobody,
    /// It schedules, but cannot be reached from here.
    Unreachable(String),
    At(String, String),
}

fn target(members: &Membership) -> Target {
    let Some(scheduler) = members.scheduler.clone() else {
        return Target::Nobody;
    };
    let address = members
        .nodes
        .iter()
        .find(|node| node.spec.name == scheduler)
        .and_then(|node| node.spec.address.clone())
        .filter(|address| address.starts_with("http://") || address.starts_with("https://"));
    match address {
        Some(base) => Target::At(scheduler, base),
        None => Target::Unreachable(scheduler),
    }
}

/// How long a request waits for a scheduler to answer while scheduling
/// moves from a dead node to another.
const FAILOVER_WAIT: Duration = Duration::from_secs(10);

async fn pass_on(
    State((forward, via)): State<(Arc<Forward>, Via)>,
    ConnectInfo(caller): ConnectInfo<Caller>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        return refusal("the request's body is too large or was cut short".into());
    };
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str)
        .to_string();
    let mut headers = parts.headers;
    // What only a node may say is never taken from a caller.
    for name in [SECRET_HEADER, CALLER_HEADER, OVER_TCP_HEADER] {
        headers.remove(name);
    }
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::to_string);
    let vouched = match &via {
        Via::Socket => Some((caller, false)),
        Via::Tcp { admin } => bearer
            .filter(|token| super::server::same_secret(token.as_bytes(), admin.as_bytes()))
            .map(|_| (Caller::daemon_user(), true)),
    };
    for name in NOT_COPIED {
        if name != "authorization" || vouched.is_some() {
            headers.remove(name);
        }
    }
    if let Some((caller, over_tcp)) = vouched {
        headers.insert(
            SECRET_HEADER,
            HeaderValue::from_str(&forward.secret).unwrap_or(HeaderValue::from_static("")),
        );
        headers.insert(
            CALLER_HEADER,
            HeaderValue::from_str(&format!("{}:{}", caller.uid, caller.gid))
                .unwrap_or(HeaderValue::from_static("")),
        );
        if over_tcp {
            headers.insert(OVER_TCP_HEADER, HeaderValue::from_static("1"));
        }
    }
    // A request that reached no scheduler was never sent, so it may be
    // sent again: once the agent has read who schedules now.
    let deadline = tokio::time::Instant::now() + FAILOVER_WAIT;
    let mut members = forward.members.clone();
    loop {
        let now = target(&members.borrow_and_update());
        let failure = match now {
            Target::Unreachable(scheduler) => {
                return refusal(format!(
                    "node {} is a standby: node {scheduler} schedules the jobs, and it has no \
                     TCP listener (--listen) to pass requests to; run the command there",
                    forward.node
                ));
            }
            Target::Nobody => format!(
                "node {} is a standby and no node schedules right now; try again in a moment",
                forward.node
            ),
            Target::At(scheduler, base) => {
                let sent = forward
                    .http
                    .request(parts.method.clone(), format!("{base}{path}"))
                    .headers(headers.clone())
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(answer) => return relay(answer),
                    // Refused on the handshake: waiting changes nothing.
                    Err(e) if tls_failure(&e).is_some() => {
                        return refusal(format!(
                            "node {scheduler} schedules the jobs at {base}, but its certificate \
                             is not trusted here ({}): set CONDUCTOR_CA to the CA that signed \
                             it, in this daemon's environment",
                            tls_failure(&e).unwrap_or_default()
                        ));
                    }
                    Err(e) if e.is_connect() => {
                        format!(
                            "node {scheduler} schedules the jobs but does not answer at {base}: {}",
                            crate::client::https::chain(&e.without_url())
                        )
                    }
                    Err(e) => {
                        return refusal(format!(
                            "node {scheduler} schedules the jobs; the request to it at {base} \
                             failed: {}",
                            crate::client::https::chain(&e.without_url())
                        ));
                    }
                }
            }
        };
        if tokio::time::Instant::now() >= deadline {
            return refusal(failure);
        }
        forward.refresh.nudge();
        let _ = tokio::time::timeout(Duration::from_millis(500), members.changed()).await;
    }
}

/// What TLS refused, when the request failed on the handshake.
fn tls_failure(error: &reqwest::Error) -> Option<String> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(now) = cause {
        if let Some(tls) = rustls_error(now) {
            return Some(tls.to_string());
        }
        cause = now.source();
    }
    None
}

/// The rustls error `error` is, or wraps in I/O errors (whose `source`
/// skips what they wrap).
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner = error.downcast_ref::<std::io::Error>()?.get_ref()?;
    rustls_error(inner)
}

/// The scheduler's reply, passed back as it streams.
fn relay(answer: reqwest::Response) -> Response {
    let mut reply = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        if !NOT_COPIED.contains(&name.as_str()) {
            reply = reply.header(name, value);
        }
    }
    reply
        .body(Body::from_stream(answer.bytes_stream()))
        .unwrap_or_else(|_| refusal("the scheduler's reply could not be passed on".into()))
}

/// 503, as for a service that is there but cannot serve this now.
fn refusal(message: String) -> Response {
    let body = ApiError {
        code: "standby".into(),
        message,
    };
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}

fn remove_socket(path: &Path) {
    let _ = fs::remove_file(path);
}
