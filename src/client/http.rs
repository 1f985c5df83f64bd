//! One HTTP/1.1 request and its reply over any byte stream, blocking: all
//! the client needs from HTTP. A CLI call makes one or two requests, so a
//! general HTTP client (an async runtime on its own thread, a connection
//! pool, a resolver) would cost more start-up time than the request itself.
//!
//! The same code serves the Unix socket and TCP: [`Connection`] is generic
//! over `Read + Write`. Replies are framed by `Content-Length`, by
//! `Transfer-Encoding: chunked`, or by the server closing the connection;
//! the head is parsed by `httparse`.

use std::io::{self, Read, Write};

/// The methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
        }
    }
}

/// A request as the client sends it: the body, if any, is JSON.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: Method,
    /// The `Host` header: the server's authority, `localhost` on a socket.
    pub host: &'a str,
    /// The path and query, e.g. `/v1/jobs?ids=3`.
    pub target: &'a str,
    /// Sent as `Authorization: Bearer`; checked to be one header line.
    pub token: Option<&'a str>,
    pub body: Option<&'a [u8]>,
}

/// A complete reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// The reason phrase, e.g. `Not Found` (may be empty).
    pub reason: String,
    pub body: Vec<u8>,
    /// The server keeps the connection open for another request.
    pub reusable: bool,
}

/// Why an exchange failed. `Send` means the request did not reach the
/// server whole, so the server cannot have acted on it.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("no answer in time")]
    Timeout,
    #[error("cannot send the request: {0}")]
    Send(io::Error),
    #[error("cannot read the reply: {0}")]
    Receive(io::Error),
    #[error("the connection closed before the reply was complete")]
    Closed,
    #[error("{0}")]
    Malformed(String),
    #[error("cannot write the reply out: {0}")]
    Output(io::Error),
}

/// The longest reply head accepted.
const MAX_HEAD_BYTES: usize = 64 << 10;
/// The most header lines accepted in a reply head.
const MAX_HEADERS: usize = 64;
/// How much is read at a time when the reply's length is not yet known.
const READ_CHUNK: usize = 16 << 10;
/// The most a `Content-Length` makes us reserve up front; a longer body
/// still arrives, in steps.
const MAX_RESERVE: usize = 64 << 20;

/// A stream and the bytes read from it beyond the last reply.
#[derive(Debug)]
pub struct Connection<S> {
    stream: S,
    buffer: Vec<u8>,
}

/// How the reply's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

impl<S: Read + Write> Connection<S> {
    pub fn new(stream: S) -> Connection<S> {
        Connection {
            stream,
            buffer: Vec::new(),
        }
    }

    pub fn stream(&self) -> &S {
        &self.stream
    }

    /// Sends `request` (head and body in one write) and reads its reply.
    pub fn exchange(&mut self, request: &Request<'_>) -> Result<Response, ExchangeError> {
        self.send(request)?;
        self.read_response(None)
    }

    /// Sends `request`; a `200 OK` reply's body goes to `sink` as it
    /// arrives (its `Response` has an empty body), any other reply comes
    /// back whole. For replies that last as long as what they follow.
    pub fn exchange_into(
        &mut self,
        request: &Request<'_>,
        sink: &mut dyn Write,
    ) -> Result<Response, ExchangeError> {
        self.send(request)?;
        self.read_response(Some(sink))
    }

    fn send(&mut self, request: &Request<'_>) -> Result<(), ExchangeError> {
        let message = encode(request)?;
        self.stream
            .write_all(&message)
            .and_then(|()| self.stream.flush())
            .map_err(|e| match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ExchangeError::Timeout,
                _ => ExchangeError::Send(e),
            })
    }

    fn read_response(
        &mut self,
        mut sink: Option<&mut dyn Write>,
    ) -> Result<Response, ExchangeError> {
        loop {
            let (head_len, status, reason, framing, close) = self.read_head()?;
            self.buffer.drain(..head_len);
            // An interim reply (100 Continue and the like) precedes the real one.
            if (100..200).contains(&status) && status != 101 {
                continue;
            }
            let streaming = status == 200 && sink.is_some();
            let mut body = Vec::new();
            let take = &mut |bytes: &[u8]| -> Result<(), ExchangeError> {
                match sink.as_deref_mut() {
                    Some(sink) if streaming => sink
                        .write_all(bytes)
                        .and_then(|()| sink.flush())
                        .map_err(ExchangeError::Output),
                    _ => {
                        body.extend_from_slice(bytes);
                        Ok(())
                    }
                }
            };
            let reusable = match framing {
                Framing::Empty => !close,
                Framing::Length(length) if !streaming => {
                    body = self.read_exact_vec(length)?;
                    !close
                }
                Framing::Length(length) => {
                    self.read_exact_body(length, take)?;
                    !close
                }
                Framing::Chunked => {
                    self.read_chunked_body(take)?;
                    !close
                }
                Framing::UntilClose => {
                    self.read_until_close(take)?;
                    false
                }
            };
            return Ok(Response {
                status,
                reason,
                body,
                reusable,
            });
        }
    }

    /// Reads until the buffer holds a whole head; returns its length, the
    /// status, the reason, the body's framing and whether the server will
    /// close the connection.
    fn read_head(&mut self) -> Result<(usize, u16, String, Framing, bool), ExchangeError> {
        loop {
            let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut head = httparse::Response::new(&mut headers);
            match head.parse(&self.buffer) {
                Ok(httparse::Status::Complete(length)) => {
                    let status = head.code.unwrap_or(0);
                    let reason = head.reason.unwrap_or("").to_string();
                    let (framing, close) = framing(&head, status)?;
                    return Ok((length, status, reason, framing, close));
                }
                Ok(httparse::Status::Partial) if self.buffer.len() < MAX_HEAD_BYTES => {}
                Ok(httparse::Status::Partial) => {
                    return Err(ExchangeError::Malformed(format!(
                        "the reply's head is longer than {MAX_HEAD_BYTES} bytes"
                    )));
                }
                Err(e) => {
                    return Err(ExchangeError::Malformed(format!(
                        "the reply is not HTTP/1.1 ({e})"
                    )));
                }
            }
            if self.fill(READ_CHUNK)? == 0 {
                return Err(ExchangeError::Closed);
            }
        }
    }

    /// The next `length` bytes, read into the buffer that becomes the
    /// body (a listing of many jobs is not copied again).
    fn read_exact_vec(&mut self, length: usize) -> Result<Vec<u8>, ExchangeError> {
        while self.buffer.len() < length {
            let missing = (length - self.buffer.len()).min(MAX_RESERVE);
            if self.fill(missing.max(READ_CHUNK))? == 0 {
                return Err(ExchangeError::Closed);
            }
        }
        let rest = self.buffer.split_off(length);
        Ok(std::mem::replace(&mut self.buffer, rest))
    }

    /// Hands `take` the next `length` bytes, as they arrive.
    fn read_exact_body(
        &mut self,
        length: usize,
        take: &mut dyn FnMut(&[u8]) -> Result<(), ExchangeError>,
    ) -> Result<(), ExchangeError> {
        let mut left = length;
        loop {
            let here = left.min(self.buffer.len());
            take(&self.buffer[..here])?;
            self.buffer.drain(..here);
            left -= here;
            if left == 0 {
                return Ok(());
            }
            if self.fill(left.clamp(READ_CHUNK, MAX_RESERVE))? == 0 {
                return Err(ExchangeError::Closed);
            }
        }
    }

    /// Hands `take` each chunk's data, up to the last chunk.
    fn read_chunked_body(
        &mut self,
        take: &mut dyn FnMut(&[u8]) -> Result<(), ExchangeError>,
    ) -> Result<(), ExchangeError> {
        loop {
            let (size_len, size) = loop {
                match httparse::parse_chunk_size(&self.buffer) {
                    Ok(httparse::Status::Complete(parsed)) => break parsed,
                    Ok(httparse::Status::Partial) => {
                        if self.fill(READ_CHUNK)? == 0 {
                            return Err(ExchangeError::Closed);
                        }
                    }
                    Err(_) => return Err(malformed_chunk()),
                }
            };
            if size == 0 {
                self.buffer.drain(..size_len);
                return self.skip_trailers();
            }
            let size = usize::try_from(size).map_err(|_| malformed_chunk())?;
            // The chunk's data and the line end after it.
            let needed = size_len
                .checked_add(size)
                .and_then(|n| n.checked_add(2))
                .ok_or_else(malformed_chunk)?;
            while self.buffer.len() < needed {
                let missing = (needed - self.buffer.len()).min(MAX_RESERVE);
                if self.fill(missing.max(READ_CHUNK))? == 0 {
                    return Err(ExchangeError::Closed);
                }
            }
            if &self.buffer[needed - 2..needed] != b"\r\n" {
                return Err(malformed_chunk());
            }
            take(&self.buffer[size_len..size_len + size])?;
            self.buffer.drain(..needed);
        }
    }

    /// Skips the trailer lines after the last chunk, up to the empty line.
    fn skip_trailers(&mut self) -> Result<(), ExchangeError> {
        loop {
            match self.buffer.windows(2).position(|pair| pair == b"\r\n") {
                Some(0) => {
                    self.buffer.drain(..2);
                    return Ok(());
                }
                Some(end) => {
                    self.buffer.drain(..end + 2);
                }
                None if self.buffer.len() > MAX_HEAD_BYTES => return Err(malformed_chunk()),
                None => {
                    if self.fill(READ_CHUNK)? == 0 {
                        return Err(ExchangeError::Closed);
                    }
                }
            }
        }
    }

    fn read_until_close(
        &mut self,
        take: &mut dyn FnMut(&[u8]) -> Result<(), ExchangeError>,
    ) -> Result<(), ExchangeError> {
        loop {
            take(&self.buffer)?;
            self.buffer.clear();
            if self.fill(READ_CHUNK)? == 0 {
                return Ok(());
            }
        }
    }

    /// Reads once, up to `at_most` bytes, onto the buffer; 0 at the end of
    /// the stream.
    fn fill(&mut self, at_most: usize) -> Result<usize, ExchangeError> {
        let start = self.buffer.len();
        self.buffer.resize(start + at_most, 0);
        let read = loop {
            match self.stream.read(&mut self.buffer[start..]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                other => break other,
            }
        };
        let read = read.map_err(|e| {
            self.buffer.truncate(start);
            match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => ExchangeError::Timeout,
                _ => ExchangeError::Receive(e),
            }
        })?;
        self.buffer.truncate(start + read);
        Ok(read)
    }
}

fn malformed_chunk() -> ExchangeError {
    ExchangeError::Malformed("the reply's chunked body is malformed".into())
}

/// The body's framing (RFC 9112 section 6.3) and whether the server closes
/// the connection after this reply.
fn framing(
    head: &httparse::Response<'_, '_>,
    status: u16,
) -> Result<(Framing, bool), ExchangeError> {
    let mut length = None;
    let mut chunked = false;
    let mut close = head.version == Some(0);
    for header in head.headers.iter() {
        let value = std::str::from_utf8(header.value).unwrap_or("").trim();
        if header.name.eq_ignore_ascii_case("content-length") {
            let parsed: usize = value.parse().map_err(|_| {
                ExchangeError::Malformed(format!(
                    "the reply's Content-Length {value:?} is not a number"
                ))
            })?;
            if length.is_some_and(|known| known != parsed) {
                return Err(ExchangeError::Malformed(
                    "the reply has two different Content-Lengths".into(),
                ));
            }
            length = Some(parsed);
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            let last = value.rsplit(',').next().unwrap_or("").trim();
            if !last.eq_ignore_ascii_case("chunked") {
                return Err(ExchangeError::Malformed(format!(
                    "the reply's Transfer-Encoding {value:?} is not supported"
                )));
            }
            chunked = true;
        } else if header.name.eq_ignore_ascii_case("connection") {
            for option in value.split(',').map(str::trim) {
                if option.eq_ignore_ascii_case("close") {
                    close = true;
                } else if option.eq_ignore_ascii_case("keep-alive") {
                    close = false;
                }
            }
        }
    }
    let framing = if (100..200).contains(&status) || status == 204 || status == 304 {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(length) = length {
        Framing::Length(length)
    } else {
        Framing::UntilClose
    };
    Ok((framing, close))
}

/// The request's bytes: head and body, so that one write sends it.
fn encode(request: &Request<'_>) -> Result<Vec<u8>, ExchangeError> {
    let body = request.body.unwrap_or_default();
    let mut message = Vec::with_capacity(256 + body.len());
    let method = request.method.as_str();
    let target = request.target;
    let host = request.host;
    for (what, text) in [("path", target), ("host", host)] {
        if !is_header_safe(text) || text.contains(' ') {
            return Err(ExchangeError::Malformed(format!(
                "the request's {what} {text:?} cannot be sent"
            )));
        }
    }
    let _ = write!(message, "{method} {target} HTTP/1.1\r\nhost: {host}\r\n");
    if let Some(token) = request.token {
        if !is_header_safe(token) {
            return Err(ExchangeError::Malformed(
                "the bearer token holds characters a header cannot carry".into(),
            ));
        }
        let _ = write!(message, "authorization: Bearer {token}\r\n");
    }
    if request.body.is_some() {
        message.extend_from_slice(b"content-type: application/json\r\n");
    }
    if request.body.is_some() || request.method != Method::Get {
        let _ = write!(message, "content-length: {}\r\n", body.len());
    }
    message.extend_from_slice(b"\r\n");
    message.extend_from_slice(body);
    Ok(message)
}

/// Visible ASCII and spaces only: nothing that could end a header line.
fn is_header_safe(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| (0x20..0x7f).contains(&b))
}

#[cfg(test)]
mod tests {
    use std::io::BufRead;
    use std::os::unix::net::UnixStream;
    use std::thread;
    use std::time::Duration;

    use super::*;

    const GET: Request<'static> = Request {
        method: Method::Get,
        host: "localhost",
        target: "/v1/health",
        token: None,
        body: None,
    };

    /// Runs `serve` on the far end of a socket pair; returns the near end.
    fn server(serve: impl FnOnce(UnixStream) + Send + 'static) -> Connection<UnixStream> {
        let (near, far) = UnixStream::pair().expect("socket pair");
        near.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        thread::spawn(move || serve(far));
        Connection::new(near)
    }

    /// Reads one request head (and the body its Content-Length announces).
    fn read_request(reader: &mut impl BufRead) -> (String, Vec<u8>) {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).expect("request line") == 0 {
                break;
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .map_or(0, |n| n.trim().parse().expect("length"));
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("request body");
        (head, body)
    }

    /// Answers each request in turn with the next of `replies`, written in
    /// pieces of `piece` bytes.
    fn replying(replies: Vec<&'static [u8]>, piece: usize) -> impl FnOnce(UnixStream) + Send {
        move |stream| {
            let mut reader = io::BufReader::new(stream.try_clone().expect("clone"));
            let mut writer = stream;
            for reply in replies {
                read_request(&mut reader);
                for part in reply.chunks(piece) {
                    writer.write_all(part).expect("reply");
                    writer.flush().expect("flush");
                }
            }
        }
    }

    #[test]
    fn content_length_reply_in_one_read() {
        let mut conn = server(replying(
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: 11\r\n\r\n{\"ok\":true}"],
            usize::MAX,
        ));
        let reply = conn.exchange(&GET).expect("reply");
        assert_eq!(reply.status, 200);
        assert_eq!(reply.reason, "OK");
        assert_eq!(reply.body, b"{\"ok\":true}");
        assert!(reply.reusable);
    }

    #[test]
    fn reply_split_over_many_reads() {
        let mut conn = server(replying(
            vec![
                b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"job_id\":4}",
            ],
            1,
        ));
        let reply = conn.exchange(&GET).expect("reply");
        assert_eq!(
            (reply.status, reply.body.as_slice()),
            (201, &b"{\"job_id\":4}"[..])
        );
    }

    #[test]
    fn chunked_reply_with_extension_and_trailer() {
        let mut conn = server(replying(
            vec![
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\n{\"a\"\r\nA\r\n:[1,2,3]}\n\r\n0\r\nx-trailer: y\r\n\r\n",
            ],
            3,
        ));
        let reply = conn.exchange(&GET).expect("reply");
        assert_eq!(reply.body, b"{\"a\":[1,2,3]}\n");
        assert!(reply.reusable);
    }

    #[test]
    fn keep_alive_carries_a_second_exchange() {
        let mut conn = server(replying(
            vec![
                b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\n1",
                b"HTTP/1.1 404 Not Found\r\ncontent-length: 9\r\n\r\nnot found",
            ],
            usize::MAX,
        ));
        assert_eq!(conn.exchange(&GET).expect("first").body, b"1");
        let second = conn.exchange(&GET).expect("second");
        assert_eq!((second.status, second.reason.as_str()), (404, "Not Found"));
        assert_eq!(second.body, b"not found");
    }

    #[test]
    fn reply_without_length_ends_with_the_connection() {
        let mut conn = server(|stream| {
            let mut reader = io::BufReader::new(stream.try_clone().expect("clone"));
            read_request(&mut reader);
            let mut writer = stream;
            writer
                .write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n<html>upstream</html>")
                .expect("reply");
        });
        let reply = conn.exchange(&GET).expect("reply");
        assert_eq!(reply.status, 502);
        assert_eq!(reply.body, b"<html>upstream</html>");
        assert!(!reply.reusable);
    }

    #[test]
    fn connection_close_is_not_reused() {
        let mut conn = server(replying(
            vec![b"HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 2\r\n\r\n{}"],
            usize::MAX,
        ));
        assert!(!conn.exchange(&GET).expect("reply").reusable);
    }

    #[test]
    fn no_content_has_no_body() {
        let mut conn = server(replying(
            vec![b"HTTP/1.1 204 No Content\r\n\r\n"],
            usize::MAX,
        ));
        let reply = conn.exchange(&GET).expect("reply");
        assert_eq!(
            (reply.status, reply.body.len(), reply.reusable),
            (204, 0, true)
        );
    }

    #[test]
    fn interim_reply_is_skipped() {
        let mut conn = server(replying(
            vec![b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"],
            usize::MAX,
        ));
        assert_eq!(conn.exchange(&GET).expect("reply").body, b"{}");
    }

    #[test]
    fn close_mid_body_is_an_error() {
        let mut conn = server(replying(
            vec![b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{\"partial"],
            usize::MAX,
        ));
        assert!(matches!(conn.exchange(&GET), Err(ExchangeError::Closed)));
    }

    #[test]
    fn close_before_any_reply_is_an_error() {
        let mut conn = server(|stream| {
            let mut reader = io::BufReader::new(stream);
            read_request(&mut reader);
        });
        assert!(matches!(conn.exchange(&GET), Err(ExchangeError::Closed)));
    }

    #[test]
    fn garbage_is_malformed() {
        let mut conn = server(replying(vec![b"SSH-2.0-OpenSSH_9.6\r\n\r\n"], usize::MAX));
        let error = conn.exchange(&GET).expect_err("garbage");
        assert!(matches!(error, ExchangeError::Malformed(_)), "{error}");
    }

    #[test]
    fn bad_chunk_is_malformed() {
        let mut conn = server(replying(
            vec![b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n"],
            usize::MAX,
        ));
        assert!(matches!(
            conn.exchange(&GET),
            Err(ExchangeError::Malformed(_))
        ));
    }

    #[test]
    fn silence_times_out() {
        let (near, far) = UnixStream::pair().expect("socket pair");
        near.set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let mut conn = Connection::new(near);
        assert!(matches!(conn.exchange(&GET), Err(ExchangeError::Timeout)));
        drop(far);
    }

    #[test]
    fn request_carries_body_token_and_length() {
        let (near, far) = UnixStream::pair().expect("socket pair");
        let seen = thread::spawn(move || {
            let mut reader = io::BufReader::new(far.try_clone().expect("clone"));
            let request = read_request(&mut reader);
            let mut writer = far;
            writer
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                .expect("reply");
            request
        });
        let mut conn = Connection::new(near);
        let request = Request {
            method: Method::Post,
            host: "127.0.0.1:6820",
            target: "/v1/jobs?x=1",
            token: Some("s3cret"),
            body: Some(b"{\"a\":1}"),
        };
        conn.exchange(&request).expect("reply");
        let (head, body) = seen.join().expect("server");
        assert_eq!(
            head,
            "POST /v1/jobs?x=1 HTTP/1.1\r\nhost: 127.0.0.1:6820\r\n\
             authorization: Bearer s3cret\r\ncontent-type: application/json\r\n\
             content-length: 7\r\n\r\n"
        );
        assert_eq!(body, b"{\"a\":1}");
    }

    #[test]
    fn a_token_cannot_inject_headers() {
        let (near, _far) = UnixStream::pair().expect("socket pair");
        let mut conn = Connection::new(near);
        let request = Request {
            token: Some("x\r\nx-evil: 1"),
            ..GET
        };
        assert!(matches!(
            conn.exchange(&request),
            Err(ExchangeError::Malformed(_))
        ));
    }
}
