//! The TCP listener over TLS (`--tls-cert`, `--tls-key`) and the clients'
//! `https://` servers: a remote client reaches the daemon only through a
//! certificate it trusts, and plain HTTP gets nothing from a TLS listener.

use std::net::{IpAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use conductor::protocol::JobState;

use crate::support::{Output, TestDaemon, bin, free_port, run_command};

/// A CA, and a certificate it signed for `localhost`, 127.0.0.1 and
/// `extra` (this machine's own address), in `dir`.
struct Pki {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn issue(dir: &Path, extra: Option<IpAddr>) -> Pki {
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Conductor test CA");
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
    let issuer = rcgen::Issuer::new(ca_params, ca_key);

    let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    names.extend(extra.map(|ip| ip.to_string()));
    let key = rcgen::KeyPair::generate().expect("server key");
    let cert = rcgen::CertificateParams::new(names)
        .expect("server params")
        .signed_by(&key, &issuer)
        .expect("server cert");
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    Pki {
        ca: write("ca.pem", ca_cert.pem()),
        cert: write("cert.pem", cert.pem()),
        key: write("key.pem", key.serialize_pem()),
    }
}

/// This machine's address on its default route, if it has one beyond
/// loopback (connecting a UDP socket sends nothing).
fn own_address() -> Option<IpAddr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    let ip = socket.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}

/// Runs a client binary against `server` with the daemon's token and
/// these extra variables.
fn client(
    d: &TestDaemon,
    name: &str,
    args: &[&str],
    server: &str,
    env: &[(&str, &Path)],
) -> Output {
    let mut command = Command::new(bin(name));
    command
        .args(args)
        .current_dir(&d.work)
        .env("CONDUCTOR_SERVER", server)
        .env("CONDUCTOR_NO_AUTOSTART", "1")
        .env("CONDUCTOR_TOKEN", d.token().expect("token").trim())
        .env_remove("CONDUCTOR_CA");
    for (key, value) in env {
        command.env(key, value);
    }
    run_command(command, None)
}

#[test]
fn a_tls_listener_beyond_loopback_serves_clients_that_trust_its_ca_and_nobody_in_clear() {
    let dir = tempfile::tempdir().expect("dir");
    let own = own_address();
    let pki = issue(dir.path(), own);
    let port = free_port();
    let listen = format!("0.0.0.0:{port}");
    let (cert, key) = (
        pki.cert.display().to_string(),
        pki.key.display().to_string(),
    );
    // Beyond loopback without --insecure-listen: TLS makes it allowed.
    let d = TestDaemon::start(&["--listen", &listen, "--tls-cert", &cert, "--tls-key", &key]);
    // The socket answers before the start-up log is complete.
    let named = format!("https://0.0.0.0:{port}");
    crate::support::wait_until(
        Duration::from_secs(10),
        "the log names the TLS listener",
        || d.log().contains(&named),
    );
    let trusted = [("CONDUCTOR_CA", pki.ca.as_path())];

    let https = format!("https://localhost:{port}");
    let out = client(
        &d,
        "cbatch",
        &["--parsable", "--wrap", "echo over tls"],
        &https,
        &trusted,
    );
    let id = out.ok().trim().parse().expect("id");
    let job = d.wait_ended(id, Duration::from_secs(20));
    assert_eq!(job.state, JobState::Completed);
    let listed = client(
        &d,
        "cqueue",
        &["-h", "-t", "all", "-o", "%i %T"],
        &https,
        &trusted,
    );
    assert_eq!(listed.ok().trim(), format!("{id} COMPLETED"));
    let config = client(&d, "ccontrol", &["show", "config"], &https, &trusted);
    assert!(
        config.ok().contains(&format!("https://0.0.0.0:{port}")),
        "{config:?}"
    );

    // From beyond loopback, by the machine's own address, as a remote
    // client would come.
    if let Some(ip) = own {
        let remote = format!("https://{ip}:{port}");
        let out = client(
            &d,
            "cqueue",
            &["-h", "-t", "all", "-o", "%i"],
            &remote,
            &trusted,
        );
        assert_eq!(out.ok().trim(), id.to_string());
    } else {
        eprintln!("skipped the remote address: this machine has none beyond loopback");
    }

    // A client that does not trust the CA sends nothing and says why.
    let untrusted = client(&d, "cqueue", &[], &https, &[]);
    let line = untrusted.fails_with_one_line();
    assert!(line.contains("certificate"), "{line}");
    // Nor does one that trusts another CA.
    let other = issue(&subdir(dir.path(), "other"), None);
    let wrong_ca = client(
        &d,
        "cqueue",
        &[],
        &https,
        &[("CONDUCTOR_CA", other.ca.as_path())],
    );
    assert!(wrong_ca.fails_with_one_line().contains("certificate"));
    // A CA file that is not one is a clear error too.
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write");
    let bad = client(
        &d,
        "cqueue",
        &[],
        &https,
        &[("CONDUCTOR_CA", garbage.as_path())],
    );
    assert!(
        bad.fails_with_one_line().contains("CONDUCTOR_CA"),
        "{bad:?}"
    );

    // Plain HTTP to the TLS listener gets no HTTP answer at all.
    let plain = client(&d, "cqueue", &[], &format!("http://127.0.0.1:{port}"), &[]);
    plain.fails_with_one_line();
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    use std::io::{Read, Write};
    stream
        .write_all(b"GET /v1/jobs HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    assert!(
        !String::from_utf8_lossy(&reply).contains("HTTP/1.1 200"),
        "{reply:?}"
    );
    // And the daemon still serves its TLS clients afterwards.
    let again = client(
        &d,
        "cqueue",
        &["-h", "-t", "all", "-o", "%i"],
        &https,
        &trusted,
    );
    assert_eq!(again.ok().trim(), id.to_string());
}

#[test]
fn unusable_tls_files_stop_the_start_with_one_line() {
    let dir = tempfile::tempdir().expect("dir");
    let pki = issue(dir.path(), None);
    let stray = issue(&subdir(dir.path(), "stray"), None);
    let start = |cert: &Path, key: &Path| {
        let mut command = Command::new(bin("conductord"));
        command
            .args(["--listen", "127.0.0.1:0", "--socket"])
            .arg(dir.path().join("s.sock"))
            .arg("--state-dir")
            .arg(dir.path().join("state"))
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key);
        run_command(command, None)
    };
    let mismatched = start(&pki.cert, &stray.key);
    assert!(
        mismatched
            .fails_with_one_line()
            .contains("do not make a usable pair"),
        "{mismatched:?}"
    );
    let missing = start(&dir.path().join("none.pem"), &pki.key);
    assert!(missing.fails_with_one_line().contains("--tls-cert"));
    // A key without a certificate is refused by the option parser.
    let mut command = Command::new(bin("conductord"));
    command
        .args(["--listen", "127.0.0.1:0", "--tls-key"])
        .arg(&pki.key);
    let lone = run_command(command, None);
    assert_ne!(lone.code, 0);
    assert!(lone.stderr.contains("--tls-cert"), "{lone:?}");
}

fn subdir(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir(&path).expect("mkdir");
    path
}

/// Nodes of a cluster whose scheduler listens over TLS pass requests to
/// it over HTTPS, trusting the site's CA (`$CONDUCTOR_CA`); a node that
/// does not trust it refuses in one line and passes nothing in clear.
#[test]
fn a_node_passes_requests_to_a_tls_scheduler_it_trusts_and_nothing_to_one_it_does_not() {
    let Some(server) = crate::support::postgres_server() else {
        return;
    };
    let url = server.url();
    let dir = tempfile::tempdir().expect("dir");
    let pki = issue(dir.path(), None);
    let listen = format!("127.0.0.1:{}", free_port());
    let (cert, key, ca) = (
        pki.cert.display().to_string(),
        pki.key.display().to_string(),
        pki.ca.display().to_string(),
    );
    let alpha = TestDaemon::start(&[
        "--store",
        &url,
        "--node",
        "alpha",
        "--listen",
        &listen,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ]);
    let beta = TestDaemon::start_standby_with(
        &["--store", &url, "--node", "beta"],
        &[("CONDUCTOR_CA", &ca)],
    );
    crate::support::wait_until(Duration::from_secs(20), "beta passes requests on", || {
        beta.run("cqueue", &["-h"]).code == 0
    });
    let id = beta.submit(&["--wrap", "true"]);
    assert_eq!(
        alpha.wait_ended(id, Duration::from_secs(20)).state,
        JobState::Completed
    );

    let gamma = TestDaemon::start_standby(&["--store", &url, "--node", "gamma"]);
    // Its agent has to have read who schedules, and where, once.
    crate::support::wait_until(Duration::from_secs(20), "gamma knows the scheduler", || {
        !gamma
            .run("cqueue", &["-h"])
            .stderr
            .contains("no node schedules")
    });
    let asked = std::time::Instant::now();
    let refused = gamma.run("cqueue", &["-h"]);
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "a refused handshake is not waited out: {:?}\n{}",
        asked.elapsed(),
        gamma.log()
    );
    let line = refused.fails_with_one_line().to_string();
    assert!(line.contains("node alpha schedules the jobs"), "{line}");
    assert!(line.contains("certificate"), "{line}");
}

/// A store whose URL asks for TLS (`sslmode=require`) is reached over
/// TLS, its server's certificate checked against `CONDUCTOR_CA`: jobs run
/// on a server that takes nothing in clear; without the CA, the daemon
/// stops in one line.
#[test]
fn a_store_url_that_requires_tls_is_reached_over_tls_to_a_server_it_trusts() {
    let Some(server) = crate::support::postgres_server() else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let pki = issue(dir.path(), None);
    let read = |path: &Path| std::fs::read_to_string(path).expect("reads");
    server
        .require_tls(&read(&pki.cert), &read(&pki.key))
        .expect("TLS on");
    let plain = server.url();
    let url = format!("{plain}?sslmode=require");
    let ca = pki.ca.display().to_string();

    // In clear, the server takes nothing.
    let other = tempfile::tempdir().expect("dir");
    let daemon = |url: &str, ca: Option<&str>| {
        let mut command = Command::new(bin("conductord"));
        command
            .arg("--socket")
            .arg(other.path().join("s.sock"))
            .arg("--state-dir")
            .arg(other.path().join("state"))
            .args(["--store", url])
            .env("XDG_CONFIG_HOME", other.path().join("config"))
            .env_remove("CONDUCTOR_CA");
        if let Some(ca) = ca {
            command.env("CONDUCTOR_CA", ca);
        }
        run_command(command, None)
    };
    let refused = daemon(&plain, None);
    assert!(
        refused
            .fails_with_one_line()
            .contains("cannot open the job store"),
        "{refused:?}"
    );
    let untrusted = daemon(&url, None);
    let line = untrusted.fails_with_one_line().to_string();
    assert!(line.contains("certificate"), "{line}");

    // Trusting the CA, over TLS: jobs run and are accounted.
    let d = TestDaemon::start_with(&["--store", &url], &[("CONDUCTOR_CA", &ca)]);
    let id = d.submit(&["--wrap", "true"]);
    assert_eq!(
        d.wait_ended(id, Duration::from_secs(20)).state,
        JobState::Completed
    );
    let accounted = d
        .run(
            "cacct",
            &["-n", "-X", "-P", "-j", &id.to_string(), "-o", "State"],
        )
        .ok()
        .to_string();
    assert_eq!(accounted, "COMPLETED\n");
}
