//! Requests to a remote daemon over HTTPS, through reqwest with rustls.
//! Only `https://` servers come here: the local Unix socket and loopback
//! TCP keep the minimal blocking exchange of [`super::http`], which starts
//! no runtime thread and loads no certificates (measured: reqwest would
//! add about 156k instructions and 0.6-0.8 ms to every local call).
//!
//! The server's certificate is checked against the system's roots, or,
//! with `$CONDUCTOR_CA`, against the CAs in that PEM file only (a site's
//! private CA, as curl's `--cacert`).

use std::time::Duration;

use super::http::{ExchangeError, Method, Request, Response};
use crate::error::{Error, Result};

/// Environment variable naming a PEM file of the CAs to trust instead of
/// the system's.
pub const CA_ENV: &str = "CONDUCTOR_CA";

/// The CAs `$CONDUCTOR_CA` names, to trust instead of the system's;
/// `None` when it is not set.
pub fn roots_from_env() -> Result<Option<Vec<reqwest::Certificate>>> {
    let Some(path) = std::env::var_os(CA_ENV).filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    let shown = std::path::Path::new(&path).display().to_string();
    let pem = std::fs::read(&path)
        .map_err(|e| Error::Invalid(format!("{CA_ENV}={shown}: cannot read it: {e}")))?;
    reqwest::Certificate::from_pem_bundle(&pem)
        .ok()
        .filter(|roots| !roots.is_empty())
        .map(Some)
        .ok_or_else(|| Error::Invalid(format!("{CA_ENV}={shown}: it holds no PEM certificate")))
}

/// A reqwest client for one base URL (`https://host:port/prefix`).
#[derive(Debug, Clone)]
pub struct Https {
    base: String,
    client: reqwest::blocking::Client,
}

impl Https {
    /// A client for `base`, trusting `$CONDUCTOR_CA` if set.
    pub fn new(base: &str, timeout: Duration) -> Result<Https> {
        // reqwest is built without a provider of its own (its default,
        // aws-lc-rs, needs cmake and a long C build); ring is the
        // process's provider. An error means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(30))
            .https_only(true)
            .user_agent(concat!("conductor/", env!("CARGO_PKG_VERSION")));
        if let Some(roots) = roots_from_env()? {
            builder = builder.tls_certs_only(roots);
        }
        let client = builder
            .build()
            .map_err(|e| Error::Other(format!("cannot set up HTTPS: {}", chain(&e))))?;
        Ok(Https {
            base: base.trim_end_matches('/').to_string(),
            client,
        })
    }

    /// Sends `request`; a `200 OK` reply's body goes to `sink` as it
    /// arrives (see [`super::http::Connection::exchange_into`]).
    pub fn exchange_into(
        &self,
        request: &Request<'_>,
        sink: &mut dyn std::io::Write,
    ) -> std::result::Result<Response, ExchangeError> {
        use std::io::Read;
        let mut reply = self
            .builder(request)
            .send()
            .map_err(|e| ExchangeError::Malformed(chain(&e.without_url())))?;
        let status = reply.status();
        let mut response = Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or_default().to_string(),
            body: Vec::new(),
            reusable: false,
        };
        if status != reqwest::StatusCode::OK {
            response.body = reply
                .bytes()
                .map_err(|e| ExchangeError::Malformed(chain(&e.without_url())))?
                .to_vec();
            return Ok(response);
        }
        let mut buffer = vec![0; 16 << 10];
        loop {
            let read = reply.read(&mut buffer).map_err(ExchangeError::Receive)?;
            if read == 0 {
                return Ok(response);
            }
            sink.write_all(&buffer[..read])
                .and_then(|()| sink.flush())
                .map_err(ExchangeError::Output)?;
        }
    }

    /// Sends `request` and reads its whole reply; an error is the reason
    /// in words, the TLS one included (an unknown issuer, a wrong name).
    pub fn exchange(&self, request: &Request<'_>) -> std::result::Result<Response, String> {
        let reply = self
            .builder(request)
            .send()
            .map_err(|e| chain(&e.without_url()))?;
        let status = reply.status();
        let body = reply.bytes().map_err(|e| chain(&e.without_url()))?;
        Ok(Response {
            status: status.as_u16(),
            reason: status.canonical_reason().unwrap_or_default().to_string(),
            body: body.to_vec(),
            reusable: true,
        })
    }

    fn builder(&self, request: &Request<'_>) -> reqwest::blocking::RequestBuilder {
        let method = match request.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Patch => reqwest::Method::PATCH,
        };
        let mut builder = self
            .client
            .request(method, format!("{}{}", self.base, request.target));
        if let Some(token) = request.token {
            builder = builder.bearer_auth(token);
        }
        if let Some(body) = request.body {
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        builder
    }
}

/// An error with its causes, `outer: inner: innermost`: reqwest's own
/// message alone ("error sending request") hides why.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
