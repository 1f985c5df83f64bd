//! TLS for the TCP listener (`--tls-cert`, `--tls-key`): the certificate
//! chain and key are read once at start, so a bad file stops the start
//! with one line instead of failing every handshake later. rustls with the
//! ring provider: pure Rust and assembly, no system OpenSSL to match.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

/// Where the listener's certificate chain and private key are (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The acceptor for `files`: HTTP/1.1 only (announced by ALPN), TLS 1.2
/// and 1.3, no client certificates (a request names its user by token).
pub fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor> {
    let chain = read_chain(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| bad_file("--tls-key", &files.key, &e.to_string()))?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Other(format!("TLS cannot be set up: {e}")))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| {
                Error::Invalid(format!(
                    "--tls-cert {} and --tls-key {} do not make a usable pair: {e}",
                    files.cert.display(),
                    files.key.display()
                ))
            })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Every certificate in a PEM file, the server's first; at least one.
fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(std::iter::Iterator::collect::<std::result::Result<Vec<_>, _>>)
        .map_err(|e| bad_file("--tls-cert", path, &e.to_string()))?;
    if chain.is_empty() {
        return Err(bad_file("--tls-cert", path, "it holds no certificate"));
    }
    Ok(chain)
}

fn bad_file(option: &str, path: &Path, why: &str) -> Error {
    Error::Invalid(format!("{option} {}: {why}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn a_generated_pair_makes_an_acceptor() {
        let dir = tempfile::tempdir().expect("tempdir");
        let issued = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let files = TlsFiles {
            cert: write(dir.path(), "cert.pem", &issued.cert.pem()),
            key: write(dir.path(), "key.pem", &issued.signing_key.serialize_pem()),
        };
        assert!(acceptor(&files).is_ok());
    }

    #[test]
    fn bad_files_are_named_in_one_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let issued = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
        let cert = write(dir.path(), "cert.pem", &issued.cert.pem());
        let key = write(dir.path(), "key.pem", &issued.signing_key.serialize_pem());
        let empty = write(dir.path(), "empty.pem", "");
        let wrong_key = write(dir.path(), "other.pem", &other.signing_key.serialize_pem());
        let cases = [
            (empty.clone(), key.clone(), "--tls-cert"),
            (cert.clone(), empty, "--tls-key"),
            (dir.path().join("missing.pem"), key, "--tls-cert"),
            (cert, wrong_key, "do not make a usable pair"),
        ];
        for (cert, key, expected) in cases {
            let error = acceptor(&TlsFiles { cert, key })
                .err()
                .expect("refused")
                .to_string();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }
}
