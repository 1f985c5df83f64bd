//! How every part of a node opens a session on the database: in clear,
//! or over TLS where its URL asks for it (`sslmode=require`), with the
//! server's certificate checked against the CAs in `$CONDUCTOR_CA` (the
//! site's CA, as for the nodes' own listeners), else the system's roots.
//!
//! Only `require` brings TLS: the driver's default (`prefer`) would begin
//! TLS with any server that offers it, and fail on a certificate nobody
//! asked to check (Debian's default server offers a self-signed one).

use std::sync::OnceLock;

use postgres::config::SslMode;
use postgres::{Client, NoTls};
use rustls::ClientConfig;

use crate::error::{Error, Result};

/// The TLS settings of every session that asks for TLS, made once.
static TLS: OnceLock<ClientConfig> = OnceLock::new();

/// Makes the TLS settings now, so that a bad `$CONDUCTOR_CA` stops the
/// daemon at its start in one line rather than failing each session.
pub fn prepare() -> Result<()> {
    if TLS.get().is_none() {
        let config = tls_config()?;
        let _ = TLS.set(config);
    }
    Ok(())
}

/// Opens a session on the database at `url`.
pub fn connect(url: &str) -> std::result::Result<Client, postgres::Error> {
    let config: postgres::Config = url.parse()?;
    if config.get_ssl_mode() != SslMode::Require {
        return config.connect(NoTls);
    }
    let tls = match TLS.get() {
        Some(tls) => tls.clone(),
        // Not prepared (a test, a tool): made now, or none, in which case
        // the handshake fails and says so.
        None => tls_config().unwrap_or_else(|_| empty_config()),
    };
    config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
}

fn tls_config() -> Result<ClientConfig> {
    // ring is the process's provider; an error means one is installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(path) = std::env::var_os(crate::client::https::CA_ENV).filter(|p| !p.is_empty())
    else {
        use rustls_platform_verifier::ConfigVerifierExt;
        return ClientConfig::with_platform_verifier()
            .map_err(|e| Error::Other(format!("cannot load the system's CAs: {e}")));
    };
    let shown = std::path::Path::new(&path).display().to_string();
    let pem = std::fs::read(&path).map_err(|e| {
        Error::Invalid(format!(
            "{}={shown}: cannot read it: {e}",
            crate::client::https::CA_ENV
        ))
    })?;
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    for cert in CertificateDer::pem_slice_iter(&pem).flatten() {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(Error::Invalid(format!(
            "{}={shown}: it holds no PEM certificate",
            crate::client::https::CA_ENV
        )));
    }
    Ok(ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Settings that trust nobody: every handshake fails, saying why.
fn empty_config() -> ClientConfig {
    ClientConfig::builder()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth()
}
