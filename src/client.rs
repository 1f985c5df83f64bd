//! The client: one type that talks to `conductord` over its Unix socket or
//! over TCP with the same request code (only reqwest's builder differs), and
//! starts a per-user daemon when none answers on the default socket.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::blocking::{Client as Http, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::paths;
use crate::protocol::{
    ApiError, CancelManyRequest, CancelManyResponse, CancelResponse, CancelResult, DaemonConfig,
    DebugState, Health, HoldRequest, JobId, JobInfo, JobList, ListFormat, ListQuery, NodeInfo,
    SignalRequest, SubmitRequest, SubmitResponse, TestOnlyResponse, UpdateRequest,
};

/// Environment variable naming the server: `unix:/path`, a bare path, or
/// `http://host:port`.
pub const SERVER_ENV: &str = "CONDUCTOR_SERVER";
/// Set to `1` to never start a daemon automatically.
pub const NO_AUTOSTART_ENV: &str = "CONDUCTOR_NO_AUTOSTART";

/// The bearer token for a TCP server; else the client reads the token file
/// of the per-user state directory.
pub const TOKEN_ENV: &str = "CONDUCTOR_TOKEN";

/// How long a client waits for a daemon it started to answer.
const AUTOSTART_WAIT: Duration = Duration::from_secs(10);

/// Where the daemon listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Server {
    Unix(PathBuf),
    /// A base URL such as `http://127.0.0.1:6820`.
    Http(String),
}

impl Server {
    /// Parses `unix:/path`, a bare path, or `http://host:port`.
    pub fn parse(text: &str) -> Result<Server> {
        if let Some(path) = text.strip_prefix("unix:") {
            Ok(Server::Unix(PathBuf::from(path)))
        } else if text.starts_with("http://") {
            Ok(Server::Http(text.trim_end_matches('/').to_string()))
        } else if text.starts_with("https://") {
            Err(Error::Invalid(format!(
                "{text}: https is not served; use http:// on loopback"
            )))
        } else if !text.is_empty() {
            Ok(Server::Unix(PathBuf::from(text)))
        } else {
            Err(Error::Invalid("the server address is empty".into()))
        }
    }
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Server::Unix(path) => write!(f, "unix:{}", path.display()),
            Server::Http(url) => f.write_str(url),
        }
    }
}

/// A connection to the daemon (connections are made per request and kept
/// alive between requests).
pub struct Client {
    http: Http,
    base: String,
    server: Server,
    /// Start the per-user daemon if nothing answers (default socket only).
    autostart: bool,
    /// Sent as `Authorization: Bearer` to a TCP server.
    token: Option<String>,
}

impl Client {
    /// A client for `server` if given, else `$CONDUCTOR_SERVER`, else the
    /// per-user default socket (the only case that may auto-start a daemon).
    pub fn new(server: Option<&str>) -> Result<Client> {
        let named = server
            .map(str::to_string)
            .or_else(|| std::env::var(SERVER_ENV).ok().filter(|s| !s.is_empty()));
        let (server, autostart) = match named {
            Some(text) => (Server::parse(&text)?, false),
            None => (
                Server::Unix(paths::default_socket()),
                std::env::var(NO_AUTOSTART_ENV).map_or(true, |v| v != "1"),
            ),
        };
        Client::for_server(server, autostart)
    }

    fn for_server(server: Server, autostart: bool) -> Result<Client> {
        let builder = Http::builder().timeout(Duration::from_secs(300));
        let (builder, base, token) = match &server {
            Server::Unix(path) => (
                builder.unix_socket(path.as_path()),
                "http://localhost".to_string(),
                None,
            ),
            Server::Http(url) => (builder, url.clone(), default_token()),
        };
        let http = builder
            .build()
            .map_err(|e| Error::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            server,
            autostart,
            token,
        })
    }

    /// Uses this bearer token for a TCP server.
    pub fn with_token(mut self, token: impl Into<String>) -> Client {
        self.token = Some(token.into());
        self
    }

    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Submits a job; the id comes back once the job is on disk.
    pub fn submit(&self, request: &SubmitRequest) -> Result<JobId> {
        let reply: SubmitResponse = self.call(Method::POST, "/v1/jobs", Some(request))?;
        Ok(reply.job_id)
    }

    /// Jobs matching the query; with `query.fields`, each carries only
    /// those fields (the others are left at their defaults).
    pub fn list(&self, query: &ListQuery) -> Result<Vec<JobInfo>> {
        let bytes = self.list_bytes(query)?;
        let jobs = match query.format.unwrap_or_default() {
            ListFormat::Objects => serde_json::from_slice::<JobList>(&bytes).map(|list| list.jobs),
            ListFormat::Rows => crate::protocol::decode_rows(&bytes),
        };
        jobs.map_err(|e| Error::Protocol(e.to_string()))
    }

    /// The reply to a listing as the daemon wrote it, for a caller that
    /// passes it on rather than decoding it.
    pub fn list_bytes(&self, query: &ListQuery) -> Result<bytes::Bytes> {
        let mut path = "/v1/jobs".to_string();
        let pairs: Vec<(&str, &str)> = [
            ("ids", query.ids.as_deref()),
            ("users", query.users.as_deref()),
            ("states", query.states.as_deref()),
            ("names", query.names.as_deref()),
            ("fields", query.fields.as_deref()),
            ("format", query.format.map(ListFormat::name)),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect();
        if !pairs.is_empty() {
            path.push('?');
            path.push_str(&form_urlencoded(&pairs));
        }
        let response = self.respond(Method::GET, &path, None::<&()>)?;
        reply_bytes(response)
    }

    /// One job, whatever its state.
    pub fn job(&self, id: JobId) -> Result<JobInfo> {
        self.call(Method::GET, &format!("/v1/jobs/{id}"), None::<&()>)
    }

    /// Cancels a job (idempotent).
    pub fn cancel(&self, id: JobId) -> Result<CancelResponse> {
        self.call(Method::POST, &format!("/v1/jobs/{id}/cancel"), None::<&()>)
    }

    /// Cancels many jobs with one request and one commit; one result per
    /// id, in order.
    pub fn cancel_many(&self, ids: &[JobId]) -> Result<Vec<CancelResult>> {
        let request = CancelManyRequest { ids: ids.to_vec() };
        let reply: CancelManyResponse =
            self.call(Method::POST, "/v1/jobs/cancel", Some(&request))?;
        Ok(reply.results)
    }

    /// Sends a signal to a running job (`ccancel --signal`).
    pub fn signal(&self, id: JobId, request: &SignalRequest) -> Result<JobInfo> {
        self.call(
            Method::POST,
            &format!("/v1/jobs/{id}/signal"),
            Some(request),
        )
    }

    /// Holds a pending job (`ccontrol hold`): root's holds are admin holds.
    pub fn hold(&self, id: JobId) -> Result<JobInfo> {
        self.call(Method::POST, &format!("/v1/jobs/{id}/hold"), None::<&()>)
    }

    /// Holds a pending job, as a user hold if asked (`ccontrol uhold`).
    pub fn hold_with(&self, id: JobId, request: &HoldRequest) -> Result<JobInfo> {
        self.call(Method::POST, &format!("/v1/jobs/{id}/hold"), Some(request))
    }

    /// Releases a held job (`ccontrol release`).
    pub fn release(&self, id: JobId) -> Result<JobInfo> {
        self.call(Method::POST, &format!("/v1/jobs/{id}/release"), None::<&()>)
    }

    /// Puts a running or finished job back in the queue (`ccontrol requeue`).
    pub fn requeue(&self, id: JobId) -> Result<JobInfo> {
        self.call(Method::POST, &format!("/v1/jobs/{id}/requeue"), None::<&()>)
    }

    /// Changes a pending job (`ccontrol update`).
    pub fn update(&self, id: JobId, request: &UpdateRequest) -> Result<JobInfo> {
        self.call(Method::PATCH, &format!("/v1/jobs/{id}"), Some(request))
    }

    /// When and where a job would start, without submitting it (`--test-only`).
    pub fn test_submit(&self, request: &SubmitRequest) -> Result<TestOnlyResponse> {
        self.call(Method::POST, "/v1/jobs/test", Some(request))
    }

    /// The daemon's books, read under one lock (for checks and benchmarks).
    pub fn debug(&self) -> Result<DebugState> {
        self.call(Method::GET, "/v1/debug", None::<&()>)
    }

    /// The daemon's settings (`ccontrol show config`).
    pub fn config(&self) -> Result<DaemonConfig> {
        self.call(Method::GET, "/v1/config", None::<&()>)
    }

    /// The node and its resources.
    pub fn node(&self) -> Result<NodeInfo> {
        self.call(Method::GET, "/v1/node", None::<&()>)
    }

    /// Whether the daemon answers, and who it is.
    pub fn health(&self) -> Result<Health> {
        self.call(Method::GET, "/v1/health", None::<&()>)
    }

    fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T> {
        decode(self.respond(method, path, body)?)
    }

    /// The response to a request, starting the daemon if it may and must.
    fn respond<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<Response> {
        match self.send(method.clone(), path, body) {
            Err(e) if e.is_connect() && self.autostart => {
                if let Server::Unix(socket) = &self.server {
                    start_daemon(socket)?;
                }
                self.send(method, path, body)
            }
            other => other,
        }
        .map_err(|e| self.unreachable(&e))
    }

    fn send<B: Serialize>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> reqwest::Result<Response> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send()
    }

    fn unreachable(&self, error: &reqwest::Error) -> Error {
        let reason = if error.is_connect() {
            "nothing answers (is conductord running?)".to_string()
        } else if error.is_timeout() {
            "no answer in time".to_string()
        } else {
            error.to_string()
        };
        Error::Unreachable {
            server: self.server.to_string(),
            reason,
        }
    }
}

fn decode<T: DeserializeOwned>(response: Response) -> Result<T> {
    let bytes = reply_bytes(response)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
}

/// A successful reply's body; an error reply as its error.
fn reply_bytes(response: Response) -> Result<bytes::Bytes> {
    let status = response.status();
    let bytes = response
        .bytes()
        .map_err(|e| Error::Protocol(format!("cannot read the reply: {e}")))?;
    if status.is_success() {
        return Ok(bytes);
    }
    match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(error) => Err(Error::Api {
            status: status.as_u16(),
            code: error.code,
            message: error.message,
        }),
        Err(_) => Err(Error::Api {
            status: status.as_u16(),
            code: "http".into(),
            message: format!("{status}: {}", String::from_utf8_lossy(&bytes).trim()),
        }),
    }
}

fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", percent_encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b',' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `$CONDUCTOR_TOKEN`, else the token file in the per-user state directory.
fn default_token() -> Option<String> {
    std::env::var(TOKEN_ENV)
        .ok()
        .or_else(|| {
            std::fs::read_to_string(paths::default_state_dir().join(paths::TOKEN_FILE)).ok()
        })
        .map(|token| token.trim().to_string())
        .filter(|token| !token.is_empty())
}

/// Starts `conductord` in the background on `socket` and waits until it
/// answers. Clients racing here take turns on a lock file beside the
/// socket, and each looks again once it holds the lock, so only the first
/// starts a daemon.
fn start_daemon(socket: &Path) -> Result<()> {
    let unreachable = |reason: String| Error::Unreachable {
        server: format!("unix:{}", socket.display()),
        reason,
    };
    let answers = || std::os::unix::net::UnixStream::connect(socket).is_ok();
    let dir = socket.parent().unwrap_or(Path::new("/"));
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("cannot create", dir, e))?;
    let lock_path = socket.with_extension("sock.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io("cannot open", &lock_path, e))?;
    rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive)
        .map_err(|e| Error::io("cannot lock", &lock_path, e.into()))?;
    if answers() {
        return Ok(());
    }

    let state_dir = paths::default_state_dir();
    std::fs::create_dir_all(&state_dir).map_err(|e| Error::io("cannot create", &state_dir, e))?;
    let log_path = state_dir.join("conductord.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| Error::io("cannot open", &log_path, e))?;
    let log_err = log
        .try_clone()
        .map_err(|e| Error::io("cannot open", &log_path, e))?;
    let mut command = Command::new(daemon_executable());
    command
        .arg("--socket")
        .arg(socket)
        .arg("--state-dir")
        .arg(&state_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
    crate::process::new_session(&mut command);
    let mut daemon = command.spawn().map_err(|e| {
        unreachable(format!(
            "nothing answers and conductord could not be started: {e}"
        ))
    })?;
    let started = Instant::now();
    while started.elapsed() < AUTOSTART_WAIT {
        if answers() {
            return Ok(());
        }
        if let Ok(Some(status)) = daemon.try_wait() {
            return Err(unreachable(format!(
                "conductord was started but exited ({status}); see {}",
                log_path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Err(unreachable(format!(
        "conductord was started but did not answer within {}s; see {}",
        AUTOSTART_WAIT.as_secs(),
        log_path.display()
    )))
}

/// `conductord` beside this executable, else whatever PATH finds.
fn daemon_executable() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("conductord")))
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("conductord"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_parse() {
        assert_eq!(
            Server::parse("unix:/tmp/s.sock").ok(),
            Some(Server::Unix("/tmp/s.sock".into()))
        );
        assert_eq!(
            Server::parse("/tmp/s.sock").ok(),
            Some(Server::Unix("/tmp/s.sock".into()))
        );
        assert_eq!(
            Server::parse("http://127.0.0.1:6820/").ok(),
            Some(Server::Http("http://127.0.0.1:6820".into()))
        );
        assert!(Server::parse("").is_err());
        assert!(Server::parse("https://x").is_err());
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            form_urlencoded(&[("ids", "1,2"), ("users", "a b&c")]),
            "ids=1,2&users=a%20b%26c"
        );
    }
}
