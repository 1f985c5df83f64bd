//! A private PostgreSQL server for tests: `initdb` and `pg_ctl` from
//! Debian's packages in a temporary directory, on a free port, run as the
//! `postgres` user when the tests run as root (initdb refuses root),
//! stopped and removed when dropped.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// A running server; [`PostgresServer::url`] reaches its `postgres`
/// database as the superuser `conductor`.
pub struct PostgresServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    uid: Option<u32>,
}

impl PostgresServer {
    /// Starts one, or says why not (PostgreSQL not installed, initdb
    /// failed) so that a test can skip with that line.
    pub fn start() -> Result<PostgresServer, String> {
        let bin = find_bin().ok_or("PostgreSQL is not installed (no initdb)")?;
        static SERVERS: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "conductor-pg-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let uid = rustix::process::geteuid()
            .is_root()
            .then(postgres_uid)
            .flatten();
        if rustix::process::geteuid().is_root() && uid.is_none() {
            return Err("running as root and there is no postgres user for initdb".into());
        }
        if let Some(uid) = uid {
            std::os::unix::fs::chown(&dir, Some(uid), None)
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        let port = free_port()?;
        let server = PostgresServer {
            bin,
            dir,
            port,
            uid,
        };
        server.run(
            "initdb",
            &[
                "-D",
                &server.data(),
                "-A",
                "trust",
                "-U",
                "conductor",
                "--no-sync",
            ],
        )?;
        server.pg_ctl("start")?;
        Ok(server)
    }

    /// A URL for the `postgres` database (tests that want their own make
    /// it with [`PostgresServer::create_database`]).
    pub fn url(&self) -> String {
        self.url_of("postgres")
    }

    /// A URL for database `name`.
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://conductor@127.0.0.1:{}/{name}", self.port)
    }

    /// Creates database `name` and returns its URL.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        self.run(
            "createdb",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "conductor",
                name,
            ],
        )?;
        Ok(self.url_of(name))
    }

    /// Has the server take TLS connections only, with this certificate and
    /// key (PEM), from now on (it restarts); a client must then ask for
    /// TLS (`?sslmode=require`).
    pub fn require_tls(&self, cert_pem: &str, key_pem: &str) -> Result<(), String> {
        let data = PathBuf::from(self.data());
        let write = |name: &str, text: &str, mode: u32| -> Result<(), String> {
            use std::os::unix::fs::PermissionsExt;
            let path = data.join(name);
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if let Some(uid) = self.uid {
                std::os::unix::fs::chown(&path, Some(uid), postgres_gid())
                    .map_err(|e| format!("chown {}: {e}", path.display()))?;
            }
            Ok(())
        };
        write("server.crt", cert_pem, 0o644)?;
        write("server.key", key_pem, 0o600)?;
        write(
            "pg_hba.conf",
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            0o600,
        )?;
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).map_err(|e| format!("{e}"))?;
        text.push_str("\nssl = on\n");
        std::fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
        self.stop()?;
        self.restart()
    }

    /// Stops the server at once, as a crash would (`-m immediate`).
    pub fn stop(&self) -> Result<(), String> {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
    }

    /// Starts it again after [`PostgresServer::stop`].
    pub fn restart(&self) -> Result<(), String> {
        self.pg_ctl("start")
    }

    fn pg_ctl(&self, action: &str) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log.to_string_lossy(),
                "-w",
                action,
            ],
        )
    }

    fn data(&self) -> String {
        self.dir.join("data").to_string_lossy().into_owned()
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let mut command = Command::new(self.bin.join(program));
        command
            .args(args)
            .stdin(Stdio::null())
            .current_dir(&self.dir);
        if let Some(uid) = self.uid {
            command.uid(uid).gid(postgres_gid().unwrap_or(uid));
        }
        let output = command.output().map_err(|e| format!("{program}: {e}"))?;
        if output.status.success() {
            return Ok(());
        }
        Err(format!(
            "{program} {}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Debian keeps initdb and pg_ctl out of PATH, under
/// `/usr/lib/postgresql/<version>/bin`; the newest version wins, then PATH.
fn find_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file())
        .collect();
    versions.sort_by_key(|bin| {
        bin.parent()
            .and_then(Path::file_name)
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    versions.pop().or_else(|| {
        std::env::var_os("PATH")
            .into_iter()
            .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    })
}

fn postgres_uid() -> Option<u32> {
    uzers::get_user_by_name("postgres").map(|user| user.uid())
}

fn postgres_gid() -> Option<u32> {
    uzers::get_user_by_name("postgres").map(|user| user.primary_group_id())
}

fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("no free port: {e}"))
}
