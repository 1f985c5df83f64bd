//! The test fixture: a real `conductord` on a temporary socket and state
//! directory, driven through the real binaries.

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use conductor::Client;
use conductor::protocol::{JobId, JobInfo, JobState};

/// What a finished command printed and returned.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        &self.stdout
    }

    /// Asserts a failure with exactly one line on stderr; returns that line.
    #[track_caller]
    pub fn fails_with_one_line(&self) -> &str {
        assert_ne!(self.code, 0, "command should fail: {self:?}");
        assert!(self.stdout.is_empty(), "nothing on stdout: {self:?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {self:?}");
        lines[0]
    }
}

/// Path of one of the built binaries.
pub fn bin(name: &str) -> PathBuf {
    let path = match name {
        "conductord" => env!("CARGO_BIN_EXE_conductord"),
        "cbatch" => env!("CARGO_BIN_EXE_cbatch"),
        "cqueue" => env!("CARGO_BIN_EXE_cqueue"),
        "ccancel" => env!("CARGO_BIN_EXE_ccancel"),
        "crun" => env!("CARGO_BIN_EXE_crun"),
        "cacct" => env!("CARGO_BIN_EXE_cacct"),
        "ccontrol" => env!("CARGO_BIN_EXE_ccontrol"),
        "cinfo" => env!("CARGO_BIN_EXE_cinfo"),
        "cdiag" => env!("CARGO_BIN_EXE_cdiag"),
        "cprio" => env!("CARGO_BIN_EXE_cprio"),
        "cshare" => env!("CARGO_BIN_EXE_cshare"),
        "clog" => env!("CARGO_BIN_EXE_clog"),
        other => panic!("no binary {other}"),
    };
    PathBuf::from(path)
}

/// A daemon of the test's own, killed when the test ends.
pub struct TestDaemon {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub state_dir: PathBuf,
    /// Where jobs run and output lands by default.
    pub work: PathBuf,
    args: Vec<String>,
    /// Variables for the daemon's environment (from its next start).
    env: Vec<(String, String)>,
    child: Option<Child>,
    /// `CONDUCTOR_SERVER` for the clients; the socket unless changed.
    pub server: String,
}

impl TestDaemon {
    /// Starts a daemon with these extra arguments (e.g. `--cpus 3`).
    pub fn start(args: &[&str]) -> TestDaemon {
        TestDaemon::start_with(args, &[])
    }

    /// [`TestDaemon::start`] with these variables in the daemon's
    /// environment.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> TestDaemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("conductord.sock");
        let state_dir = dir.path().join("state");
        let work = dir.path().join("work");
        std::fs::create_dir(&work).expect("work dir");
        let mut daemon = TestDaemon {
            server: format!("unix:{}", socket.display()),
            socket,
            state_dir,
            work,
            args: args.iter().map(std::string::ToString::to_string).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            child: None,
            dir,
        };
        daemon.spawn();
        daemon
    }

    /// Starts a daemon that stands by for another's scheduler lease (a
    /// second node on a PostgreSQL store): it runs the jobs put on it, and
    /// passes every request but health on to the scheduler.
    pub fn start_standby(args: &[&str]) -> TestDaemon {
        TestDaemon::start_standby_with(args, &[])
    }

    /// [`TestDaemon::start_standby`] with these variables in the daemon's
    /// environment.
    pub fn start_standby_with(args: &[&str], env: &[(&str, &str)]) -> TestDaemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("conductord.sock");
        let mut daemon = TestDaemon {
            server: format!("unix:{}", socket.display()),
            socket,
            state_dir: dir.path().join("state"),
            work: dir.path().join("work"),
            args: args.iter().map(std::string::ToString::to_string).collect(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            child: None,
            dir,
        };
        std::fs::create_dir(&daemon.work).expect("work dir");
        daemon.spawn_until(is_standby);
        daemon
    }

    fn spawn(&mut self) {
        self.spawn_until(|client| client.diag().is_ok());
    }

    /// Starts the daemon and waits until `ready` says it answers as it
    /// should.
    fn spawn_until(&mut self, ready: impl Fn(&Client) -> bool) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("conductord.log"))
            .expect("log file");
        let child = Command::new(bin("conductord"))
            .arg("--socket")
            .arg(&self.socket)
            .arg("--state-dir")
            .arg(&self.state_dir)
            .args(self.time_limit_unit())
            .args(&self.args)
            // A developer's own conductor.toml must not reach the tests.
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("conductord starts");
        self.child = Some(child);
        // A request, not a bare connect: after a crash, the dead daemon's
        // listening socket may outlive it for a moment in a child that was
        // forked but had not yet exec'd, and a connect would reach that.
        let socket = format!("unix:{}", self.socket.display());
        let client = Client::new(Some(&socket)).expect("client");
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !ready(&client) {
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting until the daemon answers; its log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Tests keep time limits in seconds (a test cannot wait minutes for a
    /// timeout) unless they choose the unit themselves.
    fn time_limit_unit(&self) -> &'static [&'static str] {
        if self.args.iter().any(|a| a.starts_with("--time-limit-unit")) {
            &[]
        } else {
            &["--time-limit-unit", "seconds"]
        }
    }

    /// Sets a variable in the daemon's environment from its next start
    /// (`start_again`), e.g. the boot id a simulated reboot changes.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// The daemon's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("conductord.log")).unwrap_or_default()
    }

    /// Stops the daemon with SIGTERM and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "TERM");
            let status = child.wait().expect("wait for conductord");
            assert!(status.success(), "conductord exits cleanly: {}", self.log());
        }
    }

    /// Kills the daemon with SIGKILL, as a crash would.
    pub fn crash(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the daemon again on the same socket and state directory.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Stops the daemon and starts it again with these arguments instead.
    pub fn restart_with(&mut self, args: &[&str]) {
        self.stop();
        self.args = args.iter().map(std::string::ToString::to_string).collect();
        self.spawn();
    }

    /// Starts the daemon again after `crash`.
    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// Starts the daemon again after `crash` or `stop`, as a standby for
    /// another node's scheduler lease.
    pub fn start_again_standby(&mut self) {
        self.spawn_until(is_standby);
    }

    /// A library client for this daemon.
    pub fn client(&self) -> Client {
        let client = Client::new(Some(&self.server)).expect("client");
        match self.token() {
            Some(token) => client.with_token(token),
            None => client,
        }
    }

    /// A directory of links named like Slurm's tools, made (once) by
    /// `ccontrol install-slurm-links` as a user would.
    pub fn slurm_links(&self) -> PathBuf {
        let dir = self.dir.path().join("slurm-bin");
        if !dir.join("sbatch").exists() {
            let mut command = Command::new(bin("ccontrol"));
            command.arg("install-slurm-links").arg(&dir);
            run_command(command, None).ok();
        }
        dir
    }

    /// The TCP listener's bearer token.
    pub fn token(&self) -> Option<String> {
        std::fs::read_to_string(self.state_dir.join("token")).ok()
    }

    /// Runs a binary in the work directory against this daemon.
    pub fn run(&self, name: &str, args: &[&str]) -> Output {
        self.run_with(name, args, None, &self.work)
    }

    /// Runs a binary with standard input and a working directory.
    pub fn run_with(&self, name: &str, args: &[&str], stdin: Option<&str>, cwd: &Path) -> Output {
        let mut command = Command::new(bin(name));
        command
            .args(args)
            .current_dir(cwd)
            .env("CONDUCTOR_SERVER", &self.server)
            .env("CONDUCTOR_NO_AUTOSTART", "1");
        if let Some(token) = self.token() {
            command.env("CONDUCTOR_TOKEN", token);
        }
        run_command(command, stdin)
    }

    /// Submits with `cbatch --parsable ARGS` and returns the id.
    #[track_caller]
    pub fn submit(&self, args: &[&str]) -> JobId {
        let mut argv = vec!["--parsable"];
        argv.extend_from_slice(args);
        let out = self.run("cbatch", &argv);
        out.ok()
            .trim()
            .parse()
            .expect("cbatch --parsable prints the id")
    }

    /// The job as the API shows it.
    #[track_caller]
    pub fn job(&self, id: JobId) -> JobInfo {
        match self.client().job(id) {
            Ok(job) => job,
            Err(e) => panic!("job {id}: {e}\n{}", self.log()),
        }
    }

    /// Waits until the job is in `state`, failing after `timeout`.
    #[track_caller]
    pub fn wait_for(&self, id: JobId, state: JobState, timeout: Duration) -> JobInfo {
        let deadline = Instant::now() + timeout;
        loop {
            let job = self.job(id);
            if job.state == state {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} should reach {state} within {timeout:?}; it is {:?}\n{}",
                job,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the job has ended and returns it.
    #[track_caller]
    pub fn wait_ended(&self, id: JobId, timeout: Duration) -> JobInfo {
        let deadline = Instant::now() + timeout;
        loop {
            let job = self.job(id);
            if job.state.is_terminal() {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} should end within {timeout:?}; it is {job:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends a raw HTTP/1.1 request over the socket; returns the status and body.
    pub fn raw_http(&self, request: &str) -> (u16, String) {
        let stream = UnixStream::connect(&self.socket).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        exchange(stream, request)
    }
}

/// Sends a raw HTTP/1.1 request over TCP to the loopback `port`; returns
/// the status and body.
pub fn raw_http_tcp(port: u16, request: &str) -> (u16, String) {
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    exchange(stream, request)
}

/// Writes `request`, reads the reply to its end (the request asks for
/// `Connection: close`), and splits it: the status, then the body.
fn exchange(mut stream: impl std::io::Read + Write, request: &str) -> (u16, String) {
    stream.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

impl Drop for TestDaemon {
    fn drop(&mut self) {
        // Jobs outlive their daemon by design; a test's jobs must not
        // outlive the test. Their supervisors end them on SIGTERM.
        let needle = format!("--launcher {}", self.state_dir.display());
        for pid in processes_matching(&needle) {
            signal(pid, "TERM");
        }
        // A daemon that stops with no job running removes its cgroup
        // directories: give the supervisors a moment to end their jobs, so
        // that test runs do not leave one per state directory behind.
        let deadline = Instant::now() + Duration::from_secs(2);
        while processes_matching(&needle).len() > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        if let Some(mut child) = self.child.take() {
            signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Pids of processes whose command line contains `needle`.
pub fn processes_matching(needle: &str) -> Vec<u32> {
    processes_where(|cmd| cmd.contains(needle))
}

/// Pids of processes whose command line (arguments joined by spaces)
/// passes `keep`.
pub fn processes_where(keep: impl Fn(&str) -> bool) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmd| keep(&String::from_utf8_lossy(&cmd).replace('\0', " ")))
        })
        .collect()
}

/// Runs a command to completion, feeding it `stdin`.
pub fn run_command(mut command: Command, stdin: Option<&str>) -> Output {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("command starts");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("stdin pipe");
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    let out = child.wait_with_output().expect("command runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Sends a signal by name with kill(1).
pub fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status();
}

/// True while a process with this pid exists (and is not a zombie).
pub fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next());
            state != Some("Z")
        })
        .unwrap_or(false)
}

/// Polls `condition` until it holds, failing the test after `timeout`.
#[track_caller]
pub fn wait_until(timeout: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Writes an executable script file and returns its path.
pub fn write_script(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write script");
    path
}

/// A TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Whether the daemon answers as a standby for another's scheduler lease.
fn is_standby(client: &Client) -> bool {
    client
        .health()
        .is_ok_and(|health| health.status == "standby")
}

/// A private PostgreSQL server, or `None` (saying why, so the test passes
/// as skipped) where PostgreSQL is not installed.
pub fn postgres_server() -> Option<conductor::testing::postgres::PostgresServer> {
    match conductor::testing::postgres::PostgresServer::start() {
        Ok(server) => Some(server),
        Err(why) => {
            eprintln!("skipped: {why}");
            None
        }
    }
}
