//! A system daemon serving several users: callers are known by their kernel
//! credentials, jobs run as their submitters, and nobody acts on another's
//! jobs. Real users are created for the test; it needs root and `useradd`,
//! and says why it is skipped otherwise.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use conductor::protocol::{JobId, JobState, Reason};

use crate::support::{Output, TestDaemon, bin, run_command};

const SHORT: Duration = Duration::from_secs(10);

/// A user made for the test and removed after it.
pub(crate) struct TestUser {
    pub(crate) name: String,
    pub(crate) uid: u32,
}

impl TestUser {
    pub(crate) fn create(tag: &str) -> Option<TestUser> {
        let name = format!("cd{tag}{}", std::process::id() % 100_000);
        let made = Command::new("useradd")
            .args(["--no-create-home", "--shell", "/bin/sh", &name])
            .status()
            .ok()?;
        if !made.success() {
            return None;
        }
        let uid = conductor::users::uid_of(&name)?;
        Some(TestUser { name, uid })
    }

    /// Runs one of our binaries as this user.
    pub(crate) fn run(&self, d: &TestDaemon, cwd: &Path, name: &str, args: &[&str]) -> Output {
        let mut command = Command::new("runuser");
        command
            .args(["-u", &self.name, "--"])
            .arg(bin(name))
            .args(args)
            .current_dir(cwd)
            .env("CONDUCTOR_SERVER", &d.server)
            .env("CONDUCTOR_NO_AUTOSTART", "1");
        run_command(command, None)
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = Command::new("userdel").arg(&self.name).status();
    }
}

pub(crate) fn skip_unless_root_with_useradd() -> bool {
    if !rustix::process::getuid().is_root() {
        println!("skipped: needs root to create users and run a system daemon");
        return true;
    }
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("useradd") || !have("runuser") {
        println!("skipped: useradd and runuser are not installed");
        return true;
    }
    false
}

/// Two users made for a test; `None` (the reason printed) where the test
/// cannot make users here.
pub(crate) fn two_users(first: &str, second: &str) -> Option<(TestUser, TestUser)> {
    if skip_unless_root_with_useradd() {
        return None;
    }
    match (TestUser::create(first), TestUser::create(second)) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => {
            println!("skipped: useradd could not create the test users");
            None
        }
    }
}

/// A `--system` daemon whose socket, inside the test's directory, every
/// user can reach.
pub(crate) fn system_daemon(args: &[&str]) -> TestDaemon {
    let mut all = vec!["--system"];
    all.extend(args);
    let d = TestDaemon::start(&all);
    std::fs::set_permissions(d.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    d
}

/// A directory the user owns, for its jobs to run in.
pub(crate) fn home_of(d: &TestDaemon, user: &TestUser) -> std::path::PathBuf {
    let dir = d.dir.path().join(&user.name);
    std::fs::create_dir_all(&dir).expect("dir");
    rustix::fs::chown(&dir, Some(rustix::fs::Uid::from_raw(user.uid)), None).expect("chown");
    dir
}

#[test]
fn a_system_daemon_runs_each_job_as_its_submitter_and_keeps_users_apart() {
    if skip_unless_root_with_useradd() {
        return;
    }
    let (Some(alice), Some(bob), Some(carol)) = (
        TestUser::create("a"),
        TestUser::create("b"),
        TestUser::create("c"),
    ) else {
        println!("skipped: useradd could not create the test users");
        return;
    };
    let d = TestDaemon::start(&[
        "--system",
        "--cpus",
        "1",
        "--kill-wait",
        "1",
        "--operator",
        &carol.name,
    ]);
    // Let the users reach the socket inside the test's directory.
    std::fs::set_permissions(d.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let socket_mode = std::fs::metadata(&d.socket).expect("socket").mode() & 0o777;
    assert_eq!(socket_mode, 0o666, "a system socket is open to every user");
    let work = home_of(&d, &alice);

    let out = alice.run(
        &d,
        &work,
        "cbatch",
        &[
            "--parsable",
            "--wrap",
            "id -u; echo $USER $LOGNAME; touch made-by-job",
        ],
    );
    let id: JobId = out.ok().trim().parse().expect("id");
    let job = d.wait_for(id, JobState::Completed, SHORT);
    assert_eq!(job.uid, alice.uid, "the owner comes from the kernel");
    assert_eq!(job.user, alice.name);
    let text = std::fs::read_to_string(&job.stdout).expect("output");
    assert_eq!(
        text,
        format!("{}\n{} {}\n", alice.uid, alice.name, alice.name)
    );
    assert_eq!(
        std::fs::metadata(&job.stdout).expect("output").uid(),
        alice.uid
    );
    assert_eq!(
        std::fs::metadata(work.join("made-by-job"))
            .expect("file")
            .uid(),
        alice.uid
    );

    // An output path Alice cannot write is not written through the daemon.
    let private = d.dir.path().join("root-only");
    std::fs::create_dir(&private).expect("dir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let target = private.join("stolen.txt");
    let out = alice.run(
        &d,
        &work,
        "cbatch",
        &[
            "--parsable",
            "-o",
            target.to_str().expect("utf-8"),
            "--wrap",
            "echo hi",
        ],
    );
    let id: JobId = out.ok().trim().parse().expect("id");
    let job = d.wait_ended(id, SHORT);
    assert_eq!(
        (job.state, job.reason),
        (JobState::Failed, Reason::JobLaunchFailure)
    );
    assert!(!target.exists());

    // Bob may see Alice's jobs but not touch them; root may.
    let blocker = alice.run(&d, &work, "cbatch", &["--parsable", "--wrap", "sleep 30"]);
    let blocker: JobId = blocker.ok().trim().parse().expect("id");
    let queued = alice.run(&d, &work, "cbatch", &["--parsable", "--wrap", "true"]);
    let queued: JobId = queued.ok().trim().parse().expect("id");
    let bob_dir = home_of(&d, &bob);
    let listing = bob.run(&d, &bob_dir, "cqueue", &["-h", "-o", "%i %u"]);
    assert!(listing.ok().contains(&format!("{queued} {}", alice.name)));
    let refused = bob.run(&d, &bob_dir, "ccancel", &[&queued.to_string()]);
    assert_eq!(
        refused.fails_with_one_line(),
        format!("ccancel: error: Kill job error on job id {queued}: Access/permission denied")
    );
    assert_eq!(d.job(queued).state, JobState::Pending);
    let refused = bob.run(&d, &bob_dir, "ccontrol", &["hold", &queued.to_string()]);
    assert_ne!(refused.code, 0);
    // An operator may.
    let carol_dir = home_of(&d, &carol);
    carol
        .run(&d, &carol_dir, "ccontrol", &["hold", &queued.to_string()])
        .ok();
    assert!(d.job(queued).reason.is_hold());
    d.run("ccancel", &[&queued.to_string(), &blocker.to_string()])
        .ok();
    d.wait_for(queued, JobState::Cancelled, SHORT);
    d.wait_for(blocker, JobState::Cancelled, SHORT);
}

/// Runs `cbatch` as `user` with only `env` to find its server, as a user
/// without a runtime directory (su, cron, a bare ssh session) would.
fn cbatch_as(user: &TestUser, cwd: &Path, env: &[(&str, &str)]) -> Output {
    let mut command = Command::new("runuser");
    command
        .args([
            "-u",
            &user.name,
            "--",
            "env",
            "-u",
            "XDG_RUNTIME_DIR",
            "-u",
            "CONDUCTOR_SERVER",
        ])
        .args(env.iter().map(|(k, v)| format!("{k}={v}")))
        .arg(bin("cbatch"))
        .args(["--wrap", "echo $AWS_SECRET_ACCESS_KEY"])
        .env("AWS_SECRET_ACCESS_KEY", "victims-secret")
        .current_dir(cwd);
    run_command(command, None)
}

#[test]
fn a_socket_planted_in_the_default_place_is_refused_before_anything_is_sent() {
    let Some((victim, mallory)) = two_users("v", "m") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // A shared /tmp: sticky and writable by everyone.
    let tmp = dir.path().join("tmp");
    std::fs::create_dir(&tmp).expect("tmp");
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    // Mallory makes the victim's default socket directory first, and a
    // server in it that records whatever reaches it.
    let planted = tmp.join(format!("conductor-{}", victim.uid));
    std::fs::create_dir(&planted).expect("planted dir");
    rustix::fs::chown(&planted, Some(rustix::fs::Uid::from_raw(mallory.uid)), None).expect("chown");
    let listener = std::os::unix::net::UnixListener::bind(planted.join("conductord.sock"))
        .expect("planted socket");
    listener.set_nonblocking(true).expect("nonblocking");
    std::fs::set_permissions(
        planted.join("conductord.sock"),
        std::fs::Permissions::from_mode(0o777),
    )
    .expect("chmod");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("work");
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).expect("chmod");

    let out = cbatch_as(&victim, &work, &[("TMPDIR", tmp.to_str().expect("utf-8"))]);
    let line = out.fails_with_one_line().to_string();
    assert!(line.contains(&planted.display().to_string()), "{line}");
    assert!(
        line.contains(&format!("uid {} ({})", mallory.uid, mallory.name)),
        "{line}"
    );
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the planted server was connected to"
    );
}

#[test]
fn a_server_run_by_another_user_is_refused_before_anything_is_sent() {
    let Some((victim, mallory)) = two_users("w", "n") else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let hers = dir.path().join("hers");
    std::fs::create_dir(&hers).expect("dir");
    rustix::fs::chown(&hers, Some(rustix::fs::Uid::from_raw(mallory.uid)), None).expect("chown");
    let received = hers.join("received");
    // Mallory's server: listens (so the socket's credentials are hers),
    // then writes how many bytes its first caller sent.
    let server = format!(
        r#"use Socket; socket(S, PF_UNIX, SOCK_STREAM, 0) or die; bind(S, pack_sockaddr_un("{sock}")) or die; chmod 0777, "{sock}"; listen(S, 5) or die; open(R, ">", "{ready}"); close R; accept(C, S) or die; my $n = sysread(C, my $b, 65536); open(O, ">", "{out}"); print O (defined $n ? $n : -1); close O;"#,
        sock = hers.join("s.sock").display(),
        ready = hers.join("ready").display(),
        out = received.display(),
    );
    let mut perl = Command::new("runuser")
        .args(["-u", &mallory.name, "--", "perl", "-e", &server])
        .spawn()
        .expect("perl");
    let deadline = std::time::Instant::now() + SHORT;
    while !hers.join("ready").exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    // Root puts her socket where the victim trusts the directory.
    let trusted = dir.path().join("srv");
    std::fs::create_dir(&trusted).expect("dir");
    std::fs::set_permissions(&trusted, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::rename(hers.join("s.sock"), trusted.join("s.sock")).expect("move the socket");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("work");
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).expect("chmod");

    let server_address = format!("unix:{}", trusted.join("s.sock").display());
    let out = cbatch_as(&victim, &work, &[("CONDUCTOR_SERVER", &server_address)]);
    let line = out.fails_with_one_line().to_string();
    assert!(line.contains("is served by"), "{line}");
    assert!(
        line.contains(&format!("uid {} ({})", mallory.uid, mallory.name)),
        "{line}"
    );
    let deadline = std::time::Instant::now() + SHORT;
    while !received.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = perl.kill();
    let _ = perl.wait();
    assert_eq!(
        std::fs::read_to_string(&received).expect("the server saw the connection"),
        "0",
        "bytes reached another user's server"
    );
}

impl TestUser {
    /// Runs one of our binaries as this user with `env` naming the server.
    fn run_with(&self, cwd: &Path, name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = Command::new("runuser");
        command
            .args(["-u", &self.name, "--", "env", "-u", "CONDUCTOR_TOKEN"])
            .args(env.iter().map(|(k, v)| format!("{k}={v}")))
            .arg(bin(name))
            .args(args)
            .current_dir(cwd)
            .env("CONDUCTOR_NO_AUTOSTART", "1");
        run_command(command, None)
    }
}

#[test]
fn a_tcp_token_acts_as_its_user_and_no_one_else() {
    let Some((alice, bob)) = two_users("t", "u") else {
        return;
    };
    let port = crate::support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let d = TestDaemon::start(&[
        "--system",
        "--cpus",
        "2",
        "--kill-wait",
        "1",
        "--listen",
        &listen,
    ]);
    std::fs::set_permissions(d.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (alice_home, bob_home) = (home_of(&d, &alice), home_of(&d, &bob));
    let socket = [("CONDUCTOR_SERVER", d.server.as_str())];
    let http = format!("http://{listen}");

    // Alice asks for a token over the socket, where the kernel says who she is.
    let issued = alice.run_with(&alice_home, "ccontrol", &["token"], &socket);
    let token = issued
        .ok()
        .trim()
        .strip_prefix("CONDUCTOR_TOKEN=")
        .expect("CONDUCTOR_TOKEN=...")
        .to_string();
    let over_tcp = |token: &str| {
        [
            ("CONDUCTOR_SERVER", http.clone()),
            ("CONDUCTOR_TOKEN", token.to_string()),
        ]
    };
    let tcp = over_tcp(&token);
    let tcp: Vec<(&str, &str)> = tcp.iter().map(|(k, v)| (*k, v.as_str())).collect();

    // Her job sent over TCP runs as her.
    let out = alice.run_with(
        &alice_home,
        "cbatch",
        &["--parsable", "--wrap", "id -u"],
        &tcp,
    );
    let id: JobId = out.ok().trim().parse().expect("id");
    let job = d.wait_for(id, JobState::Completed, SHORT);
    assert_eq!(job.uid, alice.uid, "the job belongs to the token's user");
    assert_eq!(
        std::fs::read_to_string(&job.stdout).expect("output").trim(),
        alice.uid.to_string()
    );
    // She cannot act on Bob's job with it.
    let bobs = bob.run_with(
        &bob_home,
        "cbatch",
        &["--parsable", "--wrap", "sleep 300"],
        &socket,
    );
    let bobs: JobId = bobs.ok().trim().parse().expect("id");
    let refused = alice.run_with(&alice_home, "ccancel", &[&bobs.to_string()], &tcp);
    assert!(
        refused.fails_with_one_line().contains("denied"),
        "{refused:?}"
    );
    assert_eq!(d.job(bobs).state, JobState::Running);
    // Tokens are issued over the socket only.
    let no = alice.run_with(&alice_home, "ccontrol", &["token"], &tcp);
    assert!(
        no.fails_with_one_line().contains("Unix socket only"),
        "{no:?}"
    );
    // The daemon's own token is root's, and a system daemon takes none.
    let admin = d.token().expect("admin token");
    let root = over_tcp(admin.trim());
    let root: Vec<(&str, &str)> = root.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let as_root = alice.run_with(&alice_home, "cqueue", &[], &root);
    assert!(
        as_root.fails_with_one_line().contains("valid token"),
        "{as_root:?}"
    );
    // Revoked and expired tokens no longer work.
    alice
        .run_with(&alice_home, "ccontrol", &["token", "revoke"], &socket)
        .ok();
    let revoked = alice.run_with(&alice_home, "cqueue", &[], &tcp);
    assert!(
        revoked.fails_with_one_line().contains("valid token"),
        "{revoked:?}"
    );
    let short = alice.run_with(&alice_home, "ccontrol", &["token", "lifespan=1"], &socket);
    let short = short
        .ok()
        .trim()
        .trim_start_matches("CONDUCTOR_TOKEN=")
        .to_string();
    let expiring = over_tcp(&short);
    let expiring: Vec<(&str, &str)> = expiring.iter().map(|(k, v)| (*k, v.as_str())).collect();
    alice.run_with(&alice_home, "cqueue", &[], &expiring).ok();
    std::thread::sleep(Duration::from_millis(2100));
    let expired = alice.run_with(&alice_home, "cqueue", &[], &expiring);
    assert!(
        expired.fails_with_one_line().contains("valid token"),
        "{expired:?}"
    );
    // Kept hashed: the token itself is nowhere in the state directory.
    let book = std::fs::read_to_string(d.state_dir.join("tokens.json")).expect("book");
    assert!(!book.contains(&short[4..]));
    assert_eq!(
        std::fs::metadata(d.state_dir.join("tokens.json"))
            .expect("book")
            .mode()
            & 0o777,
        0o600
    );
}

#[test]
fn plain_http_beyond_loopback_needs_insecure_listen_and_clients_send_no_token_there() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(bin("conductord"))
        .args(["--listen", "0.0.0.0:0", "--socket"])
        .arg(dir.path().join("s.sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--insecure-listen"), "{stderr}");
    let mut client = Command::new(bin("cqueue"));
    client
        .env("CONDUCTOR_SERVER", "http://192.0.2.1:6820")
        .env("CONDUCTOR_TOKEN", "cdt_secret");
    let refused = run_command(client, None);
    assert!(
        refused
            .fails_with_one_line()
            .contains("refusing to send a token in clear"),
        "{refused:?}"
    );
}

#[test]
fn step_ids_come_from_the_daemon_and_only_for_the_jobs_owner() {
    let Some((alice, bob)) = two_users("s", "r") else {
        return;
    };
    let d = system_daemon(&["--cpus", "2", "--kill-wait", "1"]);
    let (alice_home, bob_home) = (home_of(&d, &alice), home_of(&d, &bob));
    let crun = bin("crun").display().to_string();
    // The second step says whether it runs in its own cgroup: the daemon
    // makes it as root and hands its entry to the job's user.
    let in_step = "grep -q /job_$SLURM_JOB_ID/step_1 /proc/self/cgroup && echo in step";
    let script = format!(
        "{crun} sh -c 'echo step $SLURM_STEP_ID'\n{crun} sh -c 'echo step $SLURM_STEP_ID; {in_step}'\n\
         {crun} sleep 300 &\nsleep 300"
    );
    let contained = d.client().config().expect("config").containment != "none";
    let out = alice.run(
        &d,
        &alice_home,
        "cbatch",
        &["--parsable", "--wrap", &script],
    );
    let id: JobId = out.ok().trim().parse().expect("id");
    let job = d.wait_for(id, JobState::Running, SHORT);
    crate::support::wait_until(SHORT, "both steps ran", || {
        std::fs::read_to_string(&job.stdout).is_ok_and(|t| t.lines().count() >= 2)
    });
    let in_step_line = if contained { "in step\n" } else { "" };
    crate::support::wait_until(SHORT, "the second step says where it ran", || {
        std::fs::read_to_string(&job.stdout).is_ok_and(|t| t.ends_with(in_step_line))
    });
    assert_eq!(
        std::fs::read_to_string(&job.stdout).expect("output"),
        format!("step 0\nstep 1\n{in_step_line}")
    );
    // Nothing in the job's directory is the user's to write (no step file
    // to fill the state file system with).
    let started = job.start_time.expect("started").timestamp_millis();
    let dir = d.state_dir.join(format!("jobs/{id}-{started}"));
    for entry in std::fs::read_dir(&dir).expect("job dir").flatten() {
        let meta = entry.metadata().expect("meta");
        assert!(
            meta.uid() != alice.uid || meta.mode() & 0o222 == 0,
            "{} is the job user's to write",
            entry.path().display()
        );
    }
    // Bob cannot take step ids of Alice's job.
    let mut command = Command::new("runuser");
    command
        .args(["-u", &bob.name, "--", "env", &format!("SLURM_JOB_ID={id}")])
        .arg(bin("crun"))
        .args(["true"])
        .current_dir(&bob_home)
        .env("CONDUCTOR_SERVER", &d.server);
    let refused = run_command(command, None);
    assert!(
        refused.fails_with_one_line().contains("denied"),
        "{refused:?}"
    );
    // Nor move a process of his into the running step's cgroup: only its
    // owner was handed the entry file.
    if contained {
        let config = d.client().config().expect("config");
        let entry_name = if config.containment == "cgroup2" {
            "cgroup.procs"
        } else {
            "tasks"
        };
        let entry = config.containment_dirs[0].join(format!("job_{id}/step_2/{entry_name}"));
        crate::support::wait_until(SHORT, "the third step has its cgroup", || entry.exists());
        let mut command = Command::new("runuser");
        command
            .args(["-u", &bob.name, "--", "sh", "-c"])
            .arg(format!("echo $$ > {}", entry.display()))
            .current_dir(&bob_home);
        let moved = run_command(command, None);
        assert_ne!(moved.code, 0, "bob entered alice's step: {moved:?}");
        assert!(moved.stderr.contains("Permission denied"), "{moved:?}");
    }
    d.run("ccancel", &[&id.to_string()]).ok();
}

#[test]
fn another_user_can_read_nothing_of_a_job_under_the_state_directory() {
    let Some((alice, bob)) = two_users("p", "q") else {
        return;
    };
    let d = system_daemon(&["--cpus", "1", "--kill-wait", "1"]);
    let home = home_of(&d, &alice);
    let mut command = Command::new("runuser");
    command
        .args([
            "-u",
            &alice.name,
            "--",
            "env",
            "AWS_SECRET_ACCESS_KEY=alices-key-7731",
        ])
        .arg(bin("cbatch"))
        .args([
            "--parsable",
            "--wrap",
            "echo script-secret-4419 >/dev/null; sleep 300",
        ])
        .current_dir(&home)
        .env("CONDUCTOR_SERVER", &d.server);
    let id: JobId = run_command(command, None).ok().trim().parse().expect("id");
    d.wait_for(id, JobState::Running, SHORT);
    // Every file under the state directory, read as Bob.
    let mut files = Vec::new();
    let mut dirs = vec![d.state_dir.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(files.iter().any(|f| f.ends_with("jobs.db")), "{files:?}");
    for file in &files {
        let mut read = Command::new("runuser");
        read.args(["-u", &bob.name, "--", "cat"]).arg(file);
        let out = run_command(read, None);
        assert!(
            !out.stdout.contains("alices-key-7731") && !out.stdout.contains("script-secret-4419"),
            "{} is readable by another user",
            file.display()
        );
        if file.ends_with("jobs.db") || file.ends_with("token") {
            assert_eq!(
                std::fs::metadata(file).expect("meta").mode() & 0o777,
                0o600,
                "{}",
                file.display()
            );
        }
    }
    // Nor can Bob list the job directories.
    let mut list = Command::new("runuser");
    list.args(["-u", &bob.name, "--", "ls"])
        .arg(d.state_dir.join("jobs"));
    assert_ne!(
        run_command(list, None).code,
        0,
        "the jobs directory is listable"
    );
    d.run("ccancel", &[&id.to_string()]).ok();
}

#[test]
fn a_state_directory_others_could_write_stops_the_start_with_one_line() {
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state");
    std::fs::create_dir(&state).expect("state");
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o775)).expect("chmod");
    let out = Command::new(bin("conductord"))
        .arg("--socket")
        .arg(dir.path().join("s.sock"))
        .arg("--state-dir")
        .arg(&state)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("mode 0775") && stderr.contains("owner uid"),
        "{stderr}"
    );
}

#[test]
fn a_work_dir_inside_another_users_private_home_fails_the_job_unread() {
    let Some((alice, bob)) = two_users("x", "y") else {
        return;
    };
    let d = system_daemon(&["--cpus", "1", "--kill-wait", "1"]);
    let alice_home = home_of(&d, &alice);
    let bob_home = home_of(&d, &bob);
    std::fs::set_permissions(&bob_home, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    // Readable itself: only the directory keeps others out.
    std::fs::write(bob_home.join("secret"), "bobs-secret-9081\n").expect("secret");
    std::fs::set_permissions(
        bob_home.join("secret"),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    // Alice posts Bob's home as her job's working directory, straight to
    // the API (cbatch would refuse it on her side).
    let output = alice_home.join("stolen.out");
    let request = conductor::protocol::SubmitRequest {
        name: "steal".into(),
        script: "#!/bin/sh\ncat secret\n".into(),
        work_dir: bob_home.clone(),
        submit_dir: bob_home.clone(),
        stdout: Some(output.display().to_string()),
        ntasks: 1,
        cpus_per_task: 1,
        ..Default::default()
    };
    let body = serde_json::to_string(&request).expect("json");
    let body_file = alice_home.join("request.json");
    std::fs::write(&body_file, &body).expect("body");
    let socket = d.socket.display().to_string();
    let post = format!(
        r#"use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Peer => "{socket}") or die "connect: $!"; open(B, "<", "{body}") or die; local $/; my $b = <B>; print $s "POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " . length($b) . "\r\nConnection: close\r\n\r\n" . $b; print while <$s>;"#,
        body = body_file.display()
    );
    let mut command = Command::new("runuser");
    command.args(["-u", &alice.name, "--", "perl", "-e", &post]);
    let answer = run_command(command, None);
    let id: u64 = answer
        .stdout
        .split("\"job_id\":")
        .nth(1)
        .and_then(|rest| {
            rest.trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no job id in {answer:?}"));
    let job = d.wait_ended(JobId(id), SHORT);
    assert_eq!(
        (job.state, job.reason),
        (JobState::Failed, Reason::JobLaunchFailure),
        "{job:?}"
    );
    let stolen = std::fs::read_to_string(&output).unwrap_or_default();
    assert!(
        !stolen.contains("bobs-secret-9081"),
        "the job read Bob's file"
    );
    assert!(
        d.log().contains("cannot enter the working directory"),
        "{}",
        d.log()
    );
}

#[test]
fn only_the_owner_or_root_may_fetch_a_jobs_script() {
    let Some((alice, bob)) = two_users("i", "j") else {
        return;
    };
    let d = system_daemon(&["--cpus", "1"]);
    let (alice_home, bob_home) = (home_of(&d, &alice), home_of(&d, &bob));
    let script_text = "#!/bin/sh\n# alices-script-5521\ntrue\n";
    std::fs::write(alice_home.join("job.sh"), script_text).expect("script");
    let out = alice.run(&d, &alice_home, "cbatch", &["--parsable", "job.sh"]);
    let id: JobId = out.ok().trim().parse().expect("id");
    d.wait_ended(id, SHORT);
    let printed = alice.run(
        &d,
        &alice_home,
        "ccontrol",
        &["write", "batch_script", &id.to_string(), "-"],
    );
    assert_eq!(printed.ok(), script_text);
    let written = alice.run(
        &d,
        &alice_home,
        "ccontrol",
        &["write", "batch_script", &id.to_string()],
    );
    assert_eq!(
        written.ok(),
        format!("batch script for job {id} written to slurm-{id}.sh\n")
    );
    assert_eq!(
        std::fs::read_to_string(alice_home.join(format!("slurm-{id}.sh"))).expect("file"),
        script_text
    );
    let refused = bob.run(
        &d,
        &bob_home,
        "ccontrol",
        &["write", "batch_script", &id.to_string(), "-"],
    );
    let line = refused.fails_with_one_line();
    assert!(
        line.contains("denied") && !line.contains("alices-script"),
        "{line}"
    );
    let unknown = alice.run(
        &d,
        &alice_home,
        "ccontrol",
        &["write", "batch_script", "999999", "-"],
    );
    assert!(
        unknown.fails_with_one_line().contains("Invalid job id"),
        "{unknown:?}"
    );
    // Root may.
    assert_eq!(
        d.run("ccontrol", &["write", "batch_script", &id.to_string(), "-"])
            .ok(),
        script_text
    );
}

/// On cgroup v2 the job's first process is cloned straight into its cgroup
/// (`CLONE_INTO_CGROUP`), with everything std's spawn would have given it:
/// the user's ids and groups, its working directory, its own group, its
/// output files, SIGPIPE back to default; and its steps enter cgroups of
/// their own as that user.
#[test]
fn a_job_born_in_its_v2_cgroup_is_its_users_in_every_respect() {
    let Some((alice, _bob)) = two_users("v", "w") else {
        return;
    };
    if !crate::containment::available("cgroup2") {
        return;
    }
    let d = system_daemon(&["--cpus", "2", "--containment", "cgroup2"]);
    let home = home_of(&d, &alice);
    let crun = bin("crun").display().to_string();
    let script = format!(
        "echo uid $(id -u) gid $(id -g); pwd; echo pgid $(ps -o pgid= $$) pid $$\n\
         grep ^0:: /proc/self/cgroup\n\
         yes | head -1\n\
         {crun} sh -c 'grep ^0:: /proc/self/cgroup'\n\
         echo err >&2; exit 7\n"
    );
    let out = alice.run(&d, &home, "cbatch", &["--parsable", "--wrap", &script]);
    let id: JobId = out.ok().trim().parse().expect("id");
    let job = d.wait_ended(id, SHORT);
    assert_eq!(job.state, JobState::Failed, "{job:?}");
    assert_eq!(job.exit_code.map(|e| e.code), Some(7), "{job:?}");
    let text = std::fs::read_to_string(&job.stdout).expect("output");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        format!("uid {} gid {}", alice.uid, alice.uid),
        "{text}"
    );
    assert_eq!(lines[1], home.display().to_string(), "{text}");
    let pgid_pid: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        pgid_pid[1], pgid_pid[3],
        "the job leads its own group: {text}"
    );
    assert!(lines[3].ends_with(&format!("/job_{id}/batch")), "{text}");
    assert_eq!(lines[4], "y", "{text}");
    assert!(lines[5].ends_with(&format!("/job_{id}/step_0")), "{text}");
    assert!(text.contains("err"), "stderr joins stdout: {text}");
}
