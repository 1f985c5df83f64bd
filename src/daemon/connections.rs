//! Serving the API's connections within bounds: at most so many at once in
//! all and per user (per address on TCP), a connection that sends no
//! request head within the idle timeout is closed (also between requests on
//! a kept connection), and a request that takes longer than the request
//! timeout, its body included, is answered 408. So holding connections open
//! costs a client its own share only, never the daemon its descriptors.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::watch;
use tokio::time::Sleep;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::caller::Caller;
use super::log;

/// The bounds, from the daemon's command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections open at once, in all.
    pub total: usize,
    /// Connections open at once from one user (Unix socket) or one address (TCP).
    pub per_peer: usize,
    /// How long a connection may wait without sending a request head.
    pub idle: Duration,
    /// How long one request may take, its body included.
    pub request: Duration,
}

/// Who holds a connection, for the per-peer bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Peer {
    User(u32),
    Address(IpAddr),
}

/// Counts the open connections; a [`Seat`] gives its place back when the
/// connection ends.
#[derive(Debug, Default)]
struct Admission {
    open: Mutex<(usize, HashMap<Peer, usize>)>,
}

struct Seat {
    admission: Arc<Admission>,
    peer: Peer,
}

impl Admission {
    /// A seat for `peer`, or `None` when a bound is reached.
    fn admit(self: &Arc<Self>, peer: Peer, limits: &Limits) -> Option<Seat> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_peer) = &mut *open;
        let mine = by_peer.get(&peer).copied().unwrap_or(0);
        if *total >= limits.total || mine >= limits.per_peer {
            return None;
        }
        by_peer.insert(peer, mine + 1);
        *total += 1;
        Some(Seat {
            admission: self.clone(),
            peer,
        })
    }
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut open = self
            .admission
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_peer) = &mut *open;
        *total -= 1;
        if let Some(mine) = by_peer.get_mut(&self.peer) {
            *mine -= 1;
            if *mine == 0 {
                by_peer.remove(&self.peer);
            }
        }
    }
}

/// A listening socket the API is served on.
pub enum Listener {
    /// Each caller is who the kernel says (SO_PEERCRED).
    Unix(UnixListener),
    /// Every request acts as the daemon's user until the router's token
    /// layer says whose it is; with an acceptor, each connection is TLS.
    Tcp(TcpListener, Option<TlsAcceptor>),
}

/// An accepted connection, with who holds it.
enum Accepted {
    Unix(tokio::net::UnixStream),
    Tcp(tokio::net::TcpStream),
}

impl Listener {
    async fn accept(&self) -> std::io::Result<(Accepted, Peer, Caller)> {
        match self {
            Listener::Unix(listener) => {
                let (stream, _) = listener.accept().await?;
                let caller = match stream.peer_cred() {
                    Ok(cred) => Caller {
                        uid: cred.uid(),
                        gid: cred.gid(),
                    },
                    // Without credentials the caller is treated as nobody.
                    Err(_) => Caller::nobody(),
                };
                Ok((Accepted::Unix(stream), Peer::User(caller.uid), caller))
            }
            Listener::Tcp(listener, _) => {
                let (stream, address) = listener.accept().await?;
                Ok((
                    Accepted::Tcp(stream),
                    Peer::Address(address.ip()),
                    Caller::daemon_user(),
                ))
            }
        }
    }
}

/// Serves `router` on `listener` until `stop` turns true.
pub async fn serve(
    listener: Listener,
    router: Router,
    limits: Limits,
    stop: watch::Receiver<bool>,
) {
    let admission = Arc::new(Admission::default());
    let mut stopping = stop.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopped(&mut stopping) => break,
        };
        let (stream, peer, caller) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                pause_after(&e).await;
                continue;
            }
        };
        let Some(seat) = admission.admit(peer, &limits) else {
            refuse(peer);
            continue;
        };
        let (router, stop) = (router.clone(), stop.clone());
        match stream {
            Accepted::Unix(stream) => {
                tokio::spawn(connection(stream, caller, router, limits, seat, stop));
            }
            Accepted::Tcp(stream) => match &listener {
                Listener::Tcp(_, Some(tls)) => {
                    tokio::spawn(tls_connection(
                        tls.clone(),
                        stream,
                        caller,
                        router,
                        limits,
                        seat,
                        stop,
                    ));
                }
                _ => {
                    tokio::spawn(connection(stream, caller, router, limits, seat, stop));
                }
            },
        }
    }
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Peer::User(uid) => write!(f, "uid {uid}"),
            Peer::Address(address) => address.fmt(f),
        }
    }
}

/// Logs a refused connection, at most once a second, so a flood of them
/// cannot flood the log too.
fn refuse(peer: Peer) {
    static LAST: AtomicI64 = AtomicI64::new(0);
    once_a_second(
        &LAST,
        format_args!("connection from {peer} refused: too many connections open"),
    );
}

/// After a failed accept (out of descriptors, say): a short pause before
/// the next, rather than a busy loop; the connections already open go on.
async fn pause_after(error: &std::io::Error) {
    static LAST: AtomicI64 = AtomicI64::new(0);
    once_a_second(&LAST, format_args!("cannot accept a connection: {error}"));
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Logs `line` unless the same call site logged within this second.
fn once_a_second(last: &AtomicI64, line: std::fmt::Arguments<'_>) {
    let now = chrono::Utc::now().timestamp();
    if last.swap(now, Ordering::Relaxed) != now {
        log(line);
    }
}

/// One connection: HTTP/1.1 with keep-alive, within the idle and request
/// timeouts, ended gracefully when the daemon stops.
async fn connection<S>(
    stream: S,
    caller: Caller,
    router: Router,
    limits: Limits,
    seat: Seat,
    mut stop: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let _seat = seat;
    let busy = Arc::new(AtomicUsize::new(0));
    let in_flight = busy.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(caller));
        let router = router.clone();
        let busy = Busy::enter(&in_flight);
        async move {
            let _busy = busy;
            let request = request.map(axum::body::Body::new);
            match tokio::time::timeout(limits.request, router.oneshot(request)).await {
                Ok(answer) => answer,
                Err(_) => Ok(timed_out()),
            }
        }
    });
    let stream = IdleTimeout::new(stream, limits.idle, busy);
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(served);
    tokio::select! {
        _ = served.as_mut() => {}
        () = stopped(&mut stop) => {
            served.as_mut().graceful_shutdown();
            let _ = served.await;
        }
    }
}

/// A TLS connection: the handshake, within the idle timeout (a peer that
/// never finishes it holds its seat no longer than an idle one), then the
/// same serving as in clear. A failed handshake (plain HTTP sent to a TLS
/// listener, an unknown CA on the client's side) just closes it.
async fn tls_connection(
    tls: TlsAcceptor,
    stream: tokio::net::TcpStream,
    caller: Caller,
    router: Router,
    limits: Limits,
    seat: Seat,
    stop: watch::Receiver<bool>,
) {
    if let Ok(Ok(stream)) = tokio::time::timeout(limits.idle, tls.accept(stream)).await {
        connection(stream, caller, router, limits, seat, stop).await;
    }
}

/// Counts a request in flight on its connection while it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn enter(count: &Arc<AtomicUsize>) -> Busy {
        count.fetch_add(1, Ordering::SeqCst);
        Busy(count.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection that ends itself (a read fails with `TimedOut`) once
/// nothing has come or gone for `idle` while no request is in flight: hyper's
/// own header timeout starts only with a request's first byte, so a client
/// that connects and says nothing would otherwise hold its seat for good.
struct IdleTimeout<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    busy: Arc<AtomicUsize>,
}

impl<S> IdleTimeout<S> {
    fn new(inner: S, idle: Duration, busy: Arc<AtomicUsize>) -> IdleTimeout<S> {
        IdleTimeout {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
            busy,
        }
    }

    fn touch(&mut self) {
        let next = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(next);
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for IdleTimeout<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(done) => {
                this.touch();
                Poll::Ready(done)
            }
            Poll::Pending if this.busy.load(Ordering::SeqCst) > 0 => {
                this.touch();
                Poll::Pending
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "idle connection",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        if written.is_ready() {
            self.touch();
        }
        written
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Resolves once the daemon stops (the guard `wait_for` returns is not
/// held across an await).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn timed_out() -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::REQUEST_TIMEOUT,
        axum::Json(serde_json::json!({
            "code": "request_timeout",
            "message": "the request took too long",
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_peer: usize) -> Limits {
        Limits {
            total,
            per_peer,
            idle: Duration::from_secs(1),
            request: Duration::from_secs(1),
        }
    }

    #[test]
    fn seats_are_bounded_in_all_and_per_peer_and_given_back() {
        let admission = Arc::new(Admission::default());
        let bounds = limits(3, 2);
        let a1 = admission.admit(Peer::User(1), &bounds).expect("first");
        let a2 = admission.admit(Peer::User(1), &bounds).expect("second");
        assert!(
            admission.admit(Peer::User(1), &bounds).is_none(),
            "per user"
        );
        let b1 = admission
            .admit(Peer::User(2), &bounds)
            .expect("another user");
        assert!(admission.admit(Peer::User(3), &bounds).is_none(), "in all");
        drop(a1);
        assert!(admission.admit(Peer::User(1), &bounds).is_some());
        drop((a2, b1));
        let open = admission.open.lock().expect("lock");
        assert_eq!(open.0, 0);
        assert!(open.1.is_empty(), "no peer kept once gone");
    }
}
