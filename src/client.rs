//! The client: one type that talks to `conductord` over its Unix socket or
//! over TCP with the same request code (only the connect differs), and
//! starts a per-user daemon when none answers on the default socket.
//!
//! Requests are plain blocking HTTP/1.1 on the caller's thread ([`http`]):
//! a CLI binary's whole run is one or two requests, so its speed is its
//! start-up, and nothing is started that the request does not need.

mod http;
pub(crate) mod https;
mod trust;

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use self::http::Method;
use crate::error::{Error, Result};
use crate::paths;
use crate::protocol::{
    ApiError, CancelManyRequest, CancelManyResponse, CancelResponse, CancelResult, DaemonConfig,
    DebugState, DiagInfo, Health, HoldRequest, JobId, JobInfo, JobList, ListFormat, ListQuery,
    NodeInfo, OutputStream, PriorityReport, RevokeResponse, ShareReport, SignalRequest, StepEnd,
    StepResponse, StepStart, SubmitRequest, SubmitResponse, TestOnlyResponse, TokenRequest,
    TokenResponse, UpdateRequest,
};

/// Environment variable naming the server: `unix:/path`, a bare path,
/// `http://host:port` (loopback) or `https://host:port`.
pub const SERVER_ENV: &str = "CONDUCTOR_SERVER";
pub use self::https::CA_ENV;

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
    /// A base URL such as `https://sched.example.org:6820`.
    Https(String),
}

impl Server {
    /// Parses `unix:/path`, a bare path, `http://host:port` or
    /// `https://host:port`.
    pub fn parse(text: &str) -> Result<Server> {
        if let Some(path) = text.strip_prefix("unix:") {
            Ok(Server::Unix(PathBuf::from(path)))
        } else if text.starts_with("http://") {
            Ok(Server::Http(text.trim_end_matches('/').to_string()))
        } else if text.starts_with("https://") {
            Ok(Server::Https(text.trim_end_matches('/').to_string()))
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
            Server::Http(url) | Server::Https(url) => f.write_str(url),
        }
    }
}

/// A connection to the daemon (connections are made per request and kept
/// alive between requests).
pub struct Client {
    server: Server,
    /// Where to connect and what to send as `Host`.
    endpoint: Endpoint,
    /// Start the per-user daemon if nothing answers (default socket only).
    autostart: bool,
    /// Sent as `Authorization: Bearer` to a TCP server.
    token: Option<String>,
    /// The connection kept open after the last reply, for the next request.
    idle: Mutex<Option<http::Connection<Stream>>>,
}

/// How long one read or write on the connection may take.
const IO_TIMEOUT: Duration = Duration::from_secs(300);

/// The server's address as the client connects to it.
#[derive(Debug, Clone)]
enum Endpoint {
    Unix(PathBuf),
    Tcp {
        /// `host:port`, for the connect and the `Host` header.
        authority: String,
        /// A path the base URL names, prefixed to every request's path.
        prefix: String,
    },
    /// Through reqwest (the base URL's path included).
    Https(https::Https),
}

impl Endpoint {
    fn of(server: &Server) -> Result<Endpoint> {
        match server {
            Server::Unix(path) => Ok(Endpoint::Unix(path.clone())),
            Server::Https(url) => Ok(Endpoint::Https(https::Https::new(url, IO_TIMEOUT)?)),
            Server::Http(url) => {
                let rest = url.strip_prefix("http://").unwrap_or(url);
                let (authority, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                if authority.is_empty() {
                    return Err(Error::Invalid(format!("{url}: the address names no host")));
                }
                let authority = if authority.rsplit_once(':').is_some_and(|(_, port)| {
                    !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit())
                }) {
                    authority.to_string()
                } else {
                    format!("{authority}:80")
                };
                Ok(Endpoint::Tcp {
                    authority,
                    prefix: prefix.trim_end_matches('/').to_string(),
                })
            }
        }
    }

    fn host(&self) -> &str {
        match self {
            Endpoint::Unix(_) | Endpoint::Https(_) => "localhost",
            Endpoint::Tcp { authority, .. } => authority,
        }
    }

    /// Connects; on the Unix socket only once the socket's directory and
    /// the server's user are ones to trust (see `trust`), before anything
    /// is sent.
    fn connect(&self) -> Result<Stream, Failure> {
        let setup = |e: io::Error| Failure::Exchange(http::ExchangeError::Send(e));
        match self {
            Endpoint::Unix(path) => {
                trust::check_socket_dir(path).map_err(Failure::Untrusted)?;
                let stream = UnixStream::connect(path).map_err(|_| Failure::Connect)?;
                trust::check_peer(&stream, path).map_err(Failure::Untrusted)?;
                stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(setup)?;
                stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(setup)?;
                Ok(Stream::Unix(stream))
            }
            Endpoint::Https(_) => Err(Failure::Connect),
            Endpoint::Tcp { authority, .. } => {
                let stream =
                    TcpStream::connect(authority.as_str()).map_err(|_| Failure::Connect)?;
                stream.set_nodelay(true).map_err(setup)?;
                stream.set_read_timeout(Some(IO_TIMEOUT)).map_err(setup)?;
                stream.set_write_timeout(Some(IO_TIMEOUT)).map_err(setup)?;
                Ok(Stream::Tcp(stream))
            }
        }
    }
}

/// A connection on either transport; the HTTP code sees only the bytes.
#[derive(Debug)]
enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.read(buf),
            Stream::Tcp(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Stream::Unix(s) => s.write(buf),
            Stream::Tcp(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Unix(s) => s.as_fd(),
            Stream::Tcp(s) => s.as_fd(),
        }
    }
}

/// True while the server has neither closed a kept connection nor sent
/// anything unasked on it: only then is it used for another request.
fn still_open(stream: &Stream) -> bool {
    let mut byte = [0u8; 1];
    matches!(
        rustix::net::recv(
            stream,
            &mut byte,
            rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT,
        ),
        Err(rustix::io::Errno::AGAIN)
    )
}

/// Why a request got no reply.
#[derive(Debug)]
enum Failure {
    /// Nothing accepted the connection.
    Connect,
    /// The socket or its server is not to be trusted; nothing was sent.
    Untrusted(String),
    Exchange(http::ExchangeError),
    /// An HTTPS request failed, for this reason (TLS's included).
    Https(String),
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
            None => match paths::system_socket() {
                // A system daemon serves this machine: use it, start none.
                Some(socket) => (Server::Unix(socket), false),
                None => (
                    Server::Unix(paths::default_socket()),
                    std::env::var(NO_AUTOSTART_ENV).map_or(true, |v| v != "1"),
                ),
            },
        };
        Client::for_server(server, autostart)
    }

    fn for_server(server: Server, autostart: bool) -> Result<Client> {
        let endpoint = Endpoint::of(&server)?;
        let token = match &server {
            Server::Unix(_) => None,
            Server::Http(_) | Server::Https(_) => default_token(),
        };
        Ok(Client {
            server,
            endpoint,
            autostart,
            token,
            idle: Mutex::new(None),
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
        let reply: SubmitResponse = self.call(Method::Post, "/v1/jobs", Some(request))?;
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
    pub fn list_bytes(&self, query: &ListQuery) -> Result<Vec<u8>> {
        let mut path = "/v1/jobs".to_string();
        let pairs: Vec<(&str, &str)> = [
            ("ids", query.ids.as_deref()),
            ("users", query.users.as_deref()),
            ("states", query.states.as_deref()),
            ("names", query.names.as_deref()),
            ("fields", query.fields.as_deref()),
            ("format", query.format.map(ListFormat::name)),
            (
                "history",
                query.history.map(|h| if h { "true" } else { "false" }),
            ),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)))
        .collect();
        if !pairs.is_empty() {
            path.push('?');
            path.push_str(&form_urlencoded(&pairs));
        }
        let response = self.respond(Method::Get, &path, None::<&()>)?;
        reply_bytes(response)
    }

    /// One job, whatever its state.
    pub fn job(&self, id: JobId) -> Result<JobInfo> {
        self.call(Method::Get, &format!("/v1/jobs/{id}"), None::<&()>)
    }

    /// Job `id`'s batch script (its owner, root or the daemon's user only).
    pub fn batch_script(&self, id: JobId) -> Result<String> {
        let bytes = reply_bytes(self.respond(
            Method::Get,
            &format!("/v1/jobs/{id}/script"),
            None::<&()>,
        )?)?;
        String::from_utf8(bytes).map_err(|e| Error::Protocol(e.to_string()))
    }

    /// The id of the next step of running job `id` (`crun` in the job).
    pub fn next_step(&self, id: JobId, start: &StepStart) -> Result<StepResponse> {
        self.call(Method::Post, &format!("/v1/jobs/{id}/steps"), Some(start))
    }

    /// Records how step `step` of job `id` ended, for accounting.
    pub fn end_step(&self, id: JobId, step: u32, end: &StepEnd) -> Result<()> {
        let _: serde_json::Value = self.call(
            Method::Post,
            &format!("/v1/jobs/{id}/steps/{step}/end"),
            Some(end),
        )?;
        Ok(())
    }

    /// A token for the calling user, for requests over TCP (Unix socket
    /// only: the kernel says who asks).
    pub fn issue_token(&self, request: &TokenRequest) -> Result<TokenResponse> {
        self.call(Method::Post, "/v1/tokens", Some(request))
    }

    /// Revokes every token of the calling user.
    pub fn revoke_tokens(&self) -> Result<RevokeResponse> {
        self.call(Method::Post, "/v1/tokens/revoke", None::<&()>)
    }

    /// Cancels a job (idempotent).
    pub fn cancel(&self, id: JobId) -> Result<CancelResponse> {
        self.call(Method::Post, &format!("/v1/jobs/{id}/cancel"), None::<&()>)
    }

    /// Cancels many jobs with one request and one commit; one result per
    /// id, in order.
    pub fn cancel_many(&self, ids: &[JobId]) -> Result<Vec<CancelResult>> {
        let request = CancelManyRequest { ids: ids.to_vec() };
        let reply: CancelManyResponse =
            self.call(Method::Post, "/v1/jobs/cancel", Some(&request))?;
        Ok(reply.results)
    }

    /// Sends a signal to a running job (`ccancel --signal`).
    pub fn signal(&self, id: JobId, request: &SignalRequest) -> Result<JobInfo> {
        self.call(
            Method::Post,
            &format!("/v1/jobs/{id}/signal"),
            Some(request),
        )
    }

    /// Holds a pending job (`ccontrol hold`): root's holds are admin holds.
    pub fn hold(&self, id: JobId) -> Result<JobInfo> {
        self.call(Method::Post, &format!("/v1/jobs/{id}/hold"), None::<&()>)
    }

    /// Holds a pending job, as a user hold if asked (`ccontrol uhold`).
    pub fn hold_with(&self, id: JobId, request: &HoldRequest) -> Result<JobInfo> {
        self.call(Method::Post, &format!("/v1/jobs/{id}/hold"), Some(request))
    }

    /// Releases a held job (`ccontrol release`).
    pub fn release(&self, id: JobId) -> Result<JobInfo> {
        self.call(Method::Post, &format!("/v1/jobs/{id}/release"), None::<&()>)
    }

    /// Puts a running or finished job back in the queue (`ccontrol requeue`).
    pub fn requeue(&self, id: JobId) -> Result<JobInfo> {
        self.call(Method::Post, &format!("/v1/jobs/{id}/requeue"), None::<&()>)
    }

    /// Changes a pending job (`ccontrol update`).
    pub fn update(&self, id: JobId, request: &UpdateRequest) -> Result<JobInfo> {
        self.call(Method::Patch, &format!("/v1/jobs/{id}"), Some(request))
    }

    /// When and where a job would start, without submitting it (`--test-only`).
    pub fn test_submit(&self, request: &SubmitRequest) -> Result<TestOnlyResponse> {
        self.call(Method::Post, "/v1/jobs/test", Some(request))
    }

    /// The daemon's books, read under one lock (for checks and benchmarks).
    pub fn debug(&self) -> Result<DebugState> {
        self.call(Method::Get, "/v1/debug", None::<&()>)
    }

    /// The pending jobs' priority factors (`cprio`).
    pub fn priorities(&self) -> Result<PriorityReport> {
        self.call(Method::Get, "/v1/priorities", None::<&()>)
    }

    /// The fair-share tree (`cshare`).
    pub fn shares(&self) -> Result<ShareReport> {
        self.call(Method::Get, "/v1/shares", None::<&()>)
    }

    /// The daemon's statistics (`cdiag`).
    pub fn diag(&self) -> Result<DiagInfo> {
        self.call(Method::Get, "/v1/diag", None::<&()>)
    }

    /// Starts the statistics again from now (`cdiag --reset`).
    pub fn reset_diag(&self) -> Result<DiagInfo> {
        self.call(Method::Post, "/v1/diag/reset", None::<&()>)
    }

    /// The daemon's settings (`ccontrol show config`).
    pub fn config(&self) -> Result<DaemonConfig> {
        self.call(Method::Get, "/v1/config", None::<&()>)
    }

    /// The node and its resources.
    pub fn node(&self) -> Result<NodeInfo> {
        self.call(Method::Get, "/v1/node", None::<&()>)
    }

    /// Every node the daemon serves; from a daemon older than `/v1/nodes`
    /// (it answers 404), its one node.
    pub fn nodes(&self) -> Result<Vec<NodeInfo>> {
        match self.call(Method::Get, "/v1/nodes", None::<&()>) {
            Err(error) if error.is_not_found() => Ok(vec![self.node()?]),
            other => other,
        }
    }

    /// Whether the daemon answers, and who it is.
    pub fn health(&self) -> Result<Health> {
        self.call(Method::Get, "/v1/health", None::<&()>)
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
    ) -> Result<http::Response> {
        let body = body
            .map(serde_json::to_vec)
            .transpose()
            .map_err(|e| Error::Other(format!("cannot encode the request: {e}")))?;
        let target = self.target(path)?;
        let request = http::Request {
            method,
            host: self.endpoint.host(),
            target: &target,
            token: self.token.as_deref(),
            body: body.as_deref(),
        };
        match self.send(&request) {
            Err(Failure::Connect) if self.autostart => {
                if let Server::Unix(socket) = &self.server {
                    start_daemon(socket)?;
                }
                self.send(&request)
            }
            other => other,
        }
        .map_err(|e| self.unreachable(&e))
    }

    /// The request target for `path` on this server, once a token may go
    /// there.
    fn target(&self, path: &str) -> Result<String> {
        if self.token.is_some()
            && let Endpoint::Tcp { authority, .. } = &self.endpoint
            && !is_loopback(authority)
        {
            return Err(Error::Untrusted(format!(
                "refusing to send a token in clear to {authority}, beyond this machine: \
                 use https:// (conductord --tls-cert) or a loopback address (an ssh tunnel)"
            )));
        }
        Ok(match &self.endpoint {
            Endpoint::Tcp { prefix, .. } if !prefix.is_empty() => format!("{prefix}{path}"),
            _ => path.to_string(),
        })
    }

    /// Writes a job's stdout or stderr to `sink`: what the file holds and,
    /// with `follow`, what the job writes until it ends. A follow that
    /// loses its connection (a silence longer than the I/O timeout, a
    /// daemon restart) takes up where it left off; a closed `sink` (a
    /// pipe to `head`) ends it quietly.
    pub fn output(
        &self,
        id: JobId,
        stream: OutputStream,
        follow: bool,
        sink: &mut dyn Write,
    ) -> Result<()> {
        /// Tries in a row, a second apart, without a byte coming through.
        const ATTEMPTS: u32 = 30;
        let mut sink = Counted { sink, written: 0 };
        let mut failed = 0;
        loop {
            let path = format!(
                "/v1/jobs/{id}/output?stream={}&follow={follow}&offset={}",
                match stream {
                    OutputStream::Stdout => "stdout",
                    OutputStream::Stderr => "stderr",
                },
                sink.written
            );
            let target = self.target(&path)?;
            let request = http::Request {
                method: Method::Get,
                host: self.endpoint.host(),
                target: &target,
                token: self.token.as_deref(),
                body: None,
            };
            let before = sink.written;
            let failure = match self.send_into(&request, &mut sink) {
                Ok(response) => return reply_bytes(response).map(drop),
                Err(Failure::Exchange(http::ExchangeError::Output(e))) => {
                    return if e.kind() == io::ErrorKind::BrokenPipe {
                        Ok(())
                    } else {
                        Err(Error::Other(format!("cannot write the output: {e}")))
                    };
                }
                Err(failure) => failure,
            };
            let lost = matches!(
                failure,
                Failure::Connect
                    | Failure::Exchange(
                        http::ExchangeError::Timeout
                            | http::ExchangeError::Closed
                            | http::ExchangeError::Receive(_)
                    )
            );
            failed = if sink.written > before { 1 } else { failed + 1 };
            if !follow || !lost || failed >= ATTEMPTS {
                return Err(self.unreachable(&failure));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// One exchange on a connection of its own, its reply's body written
    /// to `sink` as it comes.
    fn send_into(
        &self,
        request: &http::Request<'_>,
        sink: &mut dyn Write,
    ) -> Result<http::Response, Failure> {
        if let Endpoint::Https(https) = &self.endpoint {
            return https
                .exchange_into(request, sink)
                .map_err(Failure::Exchange);
        }
        let mut connection = http::Connection::new(self.endpoint.connect()?);
        connection
            .exchange_into(request, sink)
            .map_err(Failure::Exchange)
    }

    /// One exchange, on the kept connection if the server still holds it
    /// open, else on a new one.
    fn send(&self, request: &http::Request<'_>) -> Result<http::Response, Failure> {
        if let Endpoint::Https(https) = &self.endpoint {
            return https.exchange(request).map_err(Failure::Https);
        }
        if let Some(mut connection) = self.take_idle() {
            match connection.exchange(request) {
                // The request did not get through whole, so the server did
                // not act on it: the connection was stale, try a new one.
                Err(http::ExchangeError::Send(_)) => {}
                // The server closed the kept connection as the request went
                // out: a read changes nothing, so it is asked again.
                Err(http::ExchangeError::Receive(_) | http::ExchangeError::Closed)
                    if request.method == http::Method::Get => {}
                result => return self.keep(connection, result),
            }
        }
        let stream = self.endpoint.connect()?;
        let mut connection = http::Connection::new(stream);
        let result = connection.exchange(request);
        self.keep(connection, result)
    }

    fn take_idle(&self) -> Option<http::Connection<Stream>> {
        let connection = self.idle.lock().ok()?.take()?;
        still_open(connection.stream()).then_some(connection)
    }

    /// Keeps the connection for the next request if its reply left it usable.
    fn keep(
        &self,
        connection: http::Connection<Stream>,
        result: std::result::Result<http::Response, http::ExchangeError>,
    ) -> Result<http::Response, Failure> {
        if result.as_ref().is_ok_and(|response| response.reusable)
            && let Ok(mut idle) = self.idle.lock()
        {
            *idle = Some(connection);
        }
        result.map_err(Failure::Exchange)
    }

    fn unreachable(&self, failure: &Failure) -> Error {
        let reason = match failure {
            Failure::Connect => "nothing answers (is conductord running?)".to_string(),
            Failure::Exchange(error) => error.to_string(),
            Failure::Https(why) => why.clone(),
            Failure::Untrusted(why) => return Error::Untrusted(why.clone()),
        };
        Error::Unreachable {
            server: self.server.to_string(),
            reason,
        }
    }
}

/// A sink that counts what went through it: where a follow resumes.
struct Counted<'a> {
    sink: &'a mut dyn Write,
    written: u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let written = self.sink.write(buf)?;
        self.written += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

fn decode<T: DeserializeOwned>(response: http::Response) -> Result<T> {
    let bytes = reply_bytes(response)?;
    serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
}

/// A successful reply's body; an error reply as its error.
fn reply_bytes(response: http::Response) -> Result<Vec<u8>> {
    let status = response.status;
    if (200..300).contains(&status) {
        return Ok(response.body);
    }
    let bytes = &response.body;
    match serde_json::from_slice::<ApiError>(bytes) {
        Ok(error) => Err(Error::Api {
            status,
            code: error.code,
            message: error.message,
        }),
        Err(_) => Err(Error::Api {
            status,
            code: "http".into(),
            message: format!(
                "{}: {}",
                format!("{status} {}", response.reason).trim_end(),
                String::from_utf8_lossy(bytes).trim()
            ),
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
                out.push(byte as char);
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
    trust::make_socket_dir(socket).map_err(Error::Untrusted)?;
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

/// Whether `host:port` names this machine (a loopback address or
/// `localhost`), where a token in clear goes nowhere else.
fn is_loopback(authority: &str) -> bool {
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(host, _)| host)
        .trim_start_matches('[')
        .trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
    fn only_this_machine_gets_a_token_in_clear() {
        for local in [
            "127.0.0.1:6820",
            "localhost:80",
            "[::1]:6820",
            "127.8.9.1:1",
        ] {
            assert!(is_loopback(local), "{local}");
        }
        for remote in [
            "10.0.0.5:6820",
            "example.org:80",
            "[2001:db8::1]:6820",
            "0.0.0.0:1",
        ] {
            assert!(!is_loopback(remote), "{remote}");
        }
    }

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
        assert_eq!(
            Server::parse("https://sched.example.org:6820/").ok(),
            Some(Server::Https("https://sched.example.org:6820".into()))
        );
    }

    #[test]
    fn tcp_endpoints_name_authority_and_prefix() {
        let endpoint = |url: &str| match Endpoint::of(&Server::parse(url).expect("server")) {
            Ok(Endpoint::Tcp { authority, prefix }) => (authority, prefix),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            endpoint("http://127.0.0.1:6820/"),
            ("127.0.0.1:6820".into(), String::new())
        );
        assert_eq!(
            endpoint("http://[::1]:7/api"),
            ("[::1]:7".into(), "/api".into())
        );
        assert_eq!(
            endpoint("http://localhost"),
            ("localhost:80".into(), String::new())
        );
        assert!(Endpoint::of(&Server::Http("http://".into())).is_err());
    }

    /// A client of a socket in `dir` whose server runs `serve` on each
    /// accepted connection in turn.
    fn serving(
        dir: &Path,
        serve: Vec<Box<dyn FnOnce(UnixStream) + Send>>,
    ) -> (Client, std::thread::JoinHandle<()>) {
        let socket = dir.join("sock");
        let listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        let server = std::thread::spawn(move || {
            for serve in serve {
                let (stream, _) = listener.accept().expect("accept");
                serve(stream);
            }
        });
        let client = Client::for_server(Server::Unix(socket), false).expect("client");
        (client, server)
    }

    /// Reads one request head without a body and answers `reply`.
    fn answer(stream: &mut UnixStream, reply: &[u8]) {
        read_head(stream);
        stream.write_all(reply).expect("reply");
    }

    /// Reads one request head without a body.
    fn read_head(stream: &mut UnixStream) {
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).expect("request");
            head.push(byte[0]);
        }
    }

    /// A reply with a Content-Length for `body`.
    fn reply(status: &str, body: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn health() -> Vec<u8> {
        reply("200 OK", r#"{"status":"ok","version":"0","pid":12}"#)
    }

    #[test]
    fn a_kept_connection_is_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let (client, server) = serving(
            dir.path(),
            vec![Box::new(|mut stream| {
                answer(&mut stream, &health());
                answer(&mut stream, &health());
            })],
        );
        assert_eq!(client.health().expect("first").pid, 12);
        assert_eq!(
            client.health().expect("second on the same connection").pid,
            12
        );
        server.join().expect("server");
    }

    #[test]
    fn a_connection_the_server_closed_is_replaced() {
        let dir = tempfile::tempdir().expect("dir");
        let (client, server) = serving(
            dir.path(),
            vec![
                Box::new(|mut stream| answer(&mut stream, &health())),
                Box::new(|mut stream| answer(&mut stream, &health())),
            ],
        );
        assert_eq!(client.health().expect("first").pid, 12);
        // The first connection is closed by now: the server moved on.
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(client.health().expect("second on a new connection").pid, 12);
        server.join().expect("server");
    }

    #[test]
    fn an_error_body_that_is_not_json_keeps_its_status() {
        let dir = tempfile::tempdir().expect("dir");
        let (client, server) = serving(
            dir.path(),
            vec![Box::new(|mut stream| {
                answer(&mut stream, &reply("503 Service Unavailable", "busy\n"));
            })],
        );
        match client.health() {
            Err(Error::Api {
                status,
                code,
                message,
            }) => {
                assert_eq!((status, code.as_str()), (503, "http"));
                assert_eq!(message, "503 Service Unavailable: busy");
            }
            other => panic!("{other:?}"),
        }
        server.join().expect("server");
    }

    #[test]
    fn an_api_error_is_decoded_with_its_status() {
        let dir = tempfile::tempdir().expect("dir");
        let (client, server) = serving(
            dir.path(),
            vec![Box::new(|mut stream| {
                let error = r#"{"code":"not_found","message":"no such job 7"}"#;
                answer(&mut stream, &reply("404 Not Found", error));
            })],
        );
        let error = client.job(JobId(7)).expect_err("not found");
        assert!(error.is_not_found(), "{error:?}");
        assert_eq!(error.to_string(), "no such job 7");
        server.join().expect("server");
    }

    #[test]
    fn a_read_on_a_kept_connection_the_server_closes_is_asked_again_on_a_new_one() {
        let dir = tempfile::tempdir().expect("dir");
        let (client, server) = serving(
            dir.path(),
            vec![
                Box::new(|mut stream| {
                    answer(&mut stream, &health());
                    // The second request arrives as the server closes.
                    read_head(&mut stream);
                }),
                Box::new(|mut stream| answer(&mut stream, &health())),
            ],
        );
        assert_eq!(client.health().expect("first").pid, 12);
        assert_eq!(client.health().expect("asked again").pid, 12);
        server.join().expect("server");
    }

    #[test]
    fn nodes_falls_back_to_the_one_node_of_an_older_daemon() {
        let dir = tempfile::tempdir().expect("dir");
        // An older daemon: no `/v1/nodes` route (404), then its `/v1/node`,
        // without the fields several nodes need.
        let node = r#"{"name":"old","partition":"normal","cpus_total":2,"cpus_free":2,
            "memory_mb_total":100,"memory_mb_free":100,"gpus_total":0,"gpus_free":0,
            "jobs_pending":0,"jobs_running":0}"#;
        let (client, server) = serving(
            dir.path(),
            vec![
                Box::new(|mut stream| {
                    let error = r#"{"code":"not_found","message":"no such route"}"#;
                    answer(&mut stream, &reply("404 Not Found", error));
                }),
                Box::new(move |mut stream| answer(&mut stream, &reply("200 OK", node))),
            ],
        );
        let nodes = client.nodes().expect("nodes");
        assert_eq!(nodes.len(), 1);
        assert_eq!(nodes[0].name, "old");
        assert_eq!(nodes[0].state, crate::protocol::NodeState::Up);
        assert!(nodes[0].member_partitions()[0].name == "normal");
        server.join().expect("server");
    }

    #[test]
    fn tcp_requests_carry_the_bearer_token() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut head = Vec::new();
            let mut byte = [0u8];
            while !head.ends_with(b"\r\n\r\n") {
                stream.read_exact(&mut byte).expect("request");
                head.push(byte[0]);
            }
            stream.write_all(&health()).expect("reply");
            String::from_utf8(head).expect("text")
        });
        let client = Client::new(Some(&url)).expect("client").with_token("t0k");
        assert_eq!(client.health().expect("health").pid, 12);
        let head = server.join().expect("server");
        assert!(head.starts_with("GET /v1/health HTTP/1.1\r\n"), "{head}");
        assert!(head.contains("\r\nauthorization: Bearer t0k\r\n"), "{head}");
    }

    #[test]
    fn nothing_listening_is_unreachable() {
        let dir = tempfile::tempdir().expect("dir");
        let client =
            Client::for_server(Server::Unix(dir.path().join("none")), false).expect("client");
        let error = client.health().expect_err("nothing there");
        assert_eq!(
            error.to_string(),
            format!(
                "cannot reach conductord at unix:{}: nothing answers (is conductord running?)",
                dir.path().join("none").display()
            )
        );
    }

    #[test]
    fn a_reply_cut_short_is_unreachable_not_a_hang() {
        let dir = tempfile::tempdir().expect("dir");
        let (client, server) = serving(
            dir.path(),
            vec![Box::new(|mut stream| {
                answer(
                    &mut stream,
                    b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n{",
                );
            })],
        );
        let error = client.health().expect_err("cut short");
        assert!(
            matches!(&error, Error::Unreachable { reason, .. } if reason.contains("closed before")),
            "{error:?}"
        );
        server.join().expect("server");
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(
            form_urlencoded(&[("ids", "1,2"), ("users", "a b&c")]),
            "ids=1,2&users=a%20b%26c"
        );
    }
}
