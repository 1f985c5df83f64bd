//! The daemon on a PostgreSQL store (`--store postgres://…`), driven
//! through the real binaries against a private server: jobs run, list
//! and are accounted as on SQLite, survive a restart and a crash of the
//! daemon, and a restart of the database costs only the requests made
//! while it was down.

use std::time::Duration;

use conductor::protocol::{JobId, JobState};
use conductor::testing::postgres::PostgresServer;

use crate::support::{TestDaemon, wait_until};

const SHORT: Duration = Duration::from_secs(20);

/// A private server and a daemon on it, or `None` (saying why) where
/// PostgreSQL is not installed.
fn daemon_on_postgres(extra: &[&str]) -> Option<(PostgresServer, TestDaemon)> {
    let server = crate::support::postgres_server()?;
    let url = server.url();
    let mut args = vec!["--store", url.as_str()];
    args.extend_from_slice(extra);
    let daemon = TestDaemon::start(&args);
    Some((server, daemon))
}

#[test]
fn jobs_run_list_and_are_accounted_and_a_restart_keeps_them_and_their_ids() {
    let Some((server, mut d)) = daemon_on_postgres(&["--cpus", "1", "--first-job-id", "700"])
    else {
        return;
    };
    let done = d.submit(&["--wrap", "echo hello"]);
    assert_eq!(done, JobId(700), "ids start at --first-job-id");
    assert_eq!(d.wait_ended(done, SHORT).state, JobState::Completed);
    let running = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(running, JobState::Running, SHORT);
    let pending = d.submit(&["--wrap", "true"]);
    let queue = d.run("cqueue", &["-h", "-o", "%i %t"]).ok().to_string();
    assert_eq!(queue, format!("{pending} PD\n{running} R\n"));
    let accounted = d.run(
        "cacct",
        &["-n", "-X", "-P", "-j", "700", "-o", "JobID,State,ExitCode"],
    );
    assert_eq!(accounted.ok(), "700|COMPLETED|0:0\n");
    let output = std::fs::read_to_string(d.work.join("slurm-700.out")).expect("output");
    assert_eq!(output, "hello\n");

    // The daemon stops and starts again: the running job is followed
    // again, the pending one still waits, and ids go on.
    d.restart();
    assert_eq!(d.job(running).state, JobState::Running);
    assert_eq!(d.job(pending).state, JobState::Pending);
    assert_eq!(d.submit(&["--hold", "--wrap", "true"]), JobId(703));
    d.run("ccancel", &[&running.to_string()]).ok();
    assert_eq!(d.wait_ended(running, SHORT).state, JobState::Cancelled);
    assert_eq!(d.wait_ended(pending, SHORT).state, JobState::Completed);

    // Nothing of it is in SQLite: the state directory has no job store.
    assert!(!d.state_dir.join("jobs.db").exists());
    drop(d);
    drop(server);
}

#[test]
fn a_crash_with_a_job_running_recovers_it_from_the_database() {
    let Some((_server, mut d)) = daemon_on_postgres(&[]) else {
        return;
    };
    let id = d.submit(&["--wrap", "sleep 2; echo survived"]);
    d.wait_for(id, JobState::Running, SHORT);
    d.crash();
    d.start_again();
    assert_eq!(d.wait_ended(id, SHORT).state, JobState::Completed);
    let output = std::fs::read_to_string(d.work.join(format!("slurm-{id}.out"))).expect("output");
    assert_eq!(output, "survived\n");
}

#[test]
fn a_database_restart_fails_only_the_requests_made_while_it_was_down() {
    let Some((server, d)) = daemon_on_postgres(&[]) else {
        return;
    };
    let before = d.submit(&["--wrap", "true"]);
    assert_eq!(d.wait_ended(before, SHORT).state, JobState::Completed);
    server.stop().expect("the database stops");
    let refused = d.run("cbatch", &["--wrap", "true"]);
    let error = refused.fails_with_one_line().to_string();
    assert!(error.contains("the job store failed"), "{error}");
    server.restart().expect("the database starts again");
    // The daemon goes on without a restart.
    let mut after = None;
    wait_until(SHORT, "submissions are taken again", || {
        let out = d.run("cbatch", &["--parsable", "--wrap", "true"]);
        after = out.stdout.trim().parse::<JobId>().ok();
        after.is_some()
    });
    let after = after.expect("submitted");
    assert_eq!(d.wait_ended(after, SHORT).state, JobState::Completed);
    let listed = d.run(
        "cacct",
        &["-n", "-X", "-P", "-o", "JobID,State", "-S", "2000-01-01"],
    );
    assert_eq!(
        listed.ok(),
        format!("{before}|COMPLETED\n{after}|COMPLETED\n"),
        "nothing lost, nothing doubled"
    );
}

#[test]
fn the_store_is_chosen_by_flag_or_key_and_its_password_is_never_printed() {
    let printed = crate::support::run_command(
        {
            let mut c = std::process::Command::new(crate::support::bin("conductord"));
            c.args([
                "--print-config",
                "--store",
                "postgres://conductor:s3cret@db.example:5432/jobs",
            ]);
            c
        },
        None,
    );
    let text = printed.ok();
    assert!(
        text.contains("Store = \"postgres://conductor:***@db.example:5432/jobs\""),
        "{text}"
    );
    assert!(!text.contains("s3cret"));
    let mut wrong = std::process::Command::new(crate::support::bin("conductord"));
    wrong.args(["--store", "mysql://db/jobs"]);
    let refused = crate::support::run_command(wrong, None);
    let line = refused.fails_with_one_line().to_string();
    assert!(
        line.contains("mysql://db/jobs: expected postgres://user@host/database"),
        "{line}"
    );
}

#[test]
fn a_second_node_stands_by_and_takes_over_within_seconds_when_the_scheduler_dies() {
    let Some((server, mut alpha)) = daemon_on_postgres(&["--node", "alpha", "--node-timeout", "3"])
    else {
        return;
    };
    let url = server.url();
    let held = alpha.submit(&["--hold", "--wrap", "true"]);

    // A second daemon under the same name is refused in one line.
    let other = tempfile::tempdir().expect("dir");
    let mut same = std::process::Command::new(crate::support::bin("conductord"));
    same.arg("--socket")
        .arg(other.path().join("s.sock"))
        .arg("--state-dir")
        .arg(other.path().join("state"))
        .args(["--store", &url, "--node", "alpha"])
        .env("XDG_CONFIG_HOME", other.path().join("config"));
    let refused = crate::support::run_command(same, None);
    let line = refused.fails_with_one_line().to_string();
    assert!(
        line.contains("node alpha already has a conductord on postgres://"),
        "{line}"
    );

    // Under another name it stands by, listed by the scheduler as a node
    // that takes jobs. With no TCP listener on alpha to pass requests to,
    // its commands say where to go.
    let beta =
        TestDaemon::start_standby(&["--store", &url, "--node", "beta", "--node-timeout", "3"]);
    let told = beta.run("cqueue", &[]);
    let line = told.fails_with_one_line().to_string();
    assert!(
        line.contains(
            "node beta is a standby: node alpha schedules the jobs, and it has no TCP \
             listener (--listen) to pass requests to; run the command there"
        ),
        "{line}"
    );
    wait_until(SHORT, "alpha lists beta", || {
        node_lines(&alpha) == "alpha idle none\nbeta idle none\n"
    });

    // A restart of the database: alpha takes its lease back, beta goes on
    // standing by.
    server.stop().expect("stops");
    server.restart().expect("starts");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(alpha.job(held).state, JobState::Pending);
    assert_ne!(beta.run("cqueue", &[]).code, 0, "beta still stands by");

    // alpha is killed with a job running: beta takes over within
    // seconds, with alpha's jobs.
    let pid_file = alpha.work.join("pid");
    let running = alpha.submit(&[
        "--wrap",
        &format!("echo $$ > {}; exec sleep 60", pid_file.display()),
    ]);
    alpha.wait_for(running, JobState::Running, SHORT);
    let mut pid = String::new();
    wait_until(SHORT, "the job says its pid", || {
        pid = std::fs::read_to_string(&pid_file).unwrap_or_default();
        pid.ends_with('\n')
    });
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    alpha.crash();
    let killed = std::time::Instant::now();
    let client = beta.client();
    wait_until(Duration::from_secs(10), "beta schedules", || {
        client.diag().is_ok()
    });
    eprintln!(
        "beta took over {:?} after alpha was killed",
        killed.elapsed()
    );
    assert!(
        beta.log().contains("taking over from node alpha"),
        "{}",
        beta.log()
    );
    assert_eq!(beta.job(held).state, JobState::Pending);
    // The job on alpha runs on until alpha is declared down (nothing but
    // alpha could say how it ended): then it ends NODE_FAIL, never run
    // again. It goes on on alpha until alpha comes back.
    assert_eq!(beta.job(running).state, JobState::Running);
    assert_eq!(beta.wait_ended(running, SHORT).state, JobState::NodeFail);
    assert!(proc_dir.exists(), "alpha's supervisor outlived alpha");
    beta.run("ccontrol", &["release", &held.to_string()]).ok();
    assert_eq!(beta.wait_ended(held, SHORT).state, JobState::Completed);
    assert_eq!(
        beta.submit(&["--hold", "--wrap", "true"]),
        JobId(held.0 + 2)
    );
    wait_until(SHORT, "alpha is declared down", || {
        node_lines(&beta) == "alpha down Not responding\nbeta idle none\n"
    });

    // alpha comes back, and now stands by for beta, having killed what was
    // left of the job beta ended (found by its cgroup).
    alpha.start_again_standby();
    if alpha.log().contains("containment: cgroup") {
        wait_until(SHORT, "the job's processes are gone", || !proc_dir.exists());
        assert!(
            alpha
                .log()
                .contains(&format!("job {running}: killed what was left"))
        );
    }
    let told = alpha.run("cqueue", &[]);
    let line = told.fails_with_one_line().to_string();
    assert!(line.contains("node beta schedules the jobs"), "{line}");
    wait_until(SHORT, "alpha is back as a standby", || {
        node_lines(&beta) == "alpha idle none\nbeta idle none\n"
    });
}

#[test]
fn every_command_works_through_a_standby_and_only_the_cluster_can_vouch_for_a_caller() {
    let port = crate::support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let Some((server, alpha)) = daemon_on_postgres(&["--node", "alpha", "--listen", &listen])
    else {
        return;
    };
    let url = server.url();
    let beta = TestDaemon::start_standby(&["--store", &url, "--node", "beta"]);
    // Its agent has to have read who schedules, and where, once.
    wait_until(SHORT, "beta passes requests on", || {
        beta.run("cqueue", &["-h"]).code == 0
    });

    // Submitted through beta, the job is alpha's, owned by the caller.
    let id = beta.submit(&["--hold", "--wrap", "true"]);
    assert_eq!(alpha.job(id).state, JobState::Pending);
    assert_eq!(alpha.job(id).uid, conductor::users::current_uid());
    let queue = beta
        .run("cqueue", &["-h", "-o", "%i %t %u"])
        .ok()
        .to_string();
    assert_eq!(
        queue,
        format!(
            "{id} PD {}\n",
            conductor::users::user_name(conductor::users::current_uid())
        )
    );
    let nodes = beta
        .run("cinfo", &["-N", "-h", "-o", "%N %t"])
        .ok()
        .to_string();
    assert!(nodes.starts_with("alpha idle\n"), "{nodes}");
    beta.run("ccontrol", &["release", &id.to_string()]).ok();
    assert_eq!(beta.wait_ended(id, SHORT).state, JobState::Completed);
    let accounted = beta
        .run(
            "cacct",
            &["-n", "-X", "-P", "-j", &id.to_string(), "-o", "JobID,State"],
        )
        .ok()
        .to_string();
    assert_eq!(accounted, format!("{id}|COMPLETED\n"));
    let cancelled = beta.submit(&["--hold", "--wrap", "true"]);
    beta.run("ccancel", &[&cancelled.to_string()]).ok();
    assert_eq!(
        alpha.wait_ended(cancelled, SHORT).state,
        JobState::Cancelled
    );

    // Over alpha's TCP listener, naming a caller without the cluster's
    // secret, or with a wrong one, is refused; it never acts as that user.
    let secret_sql = "SELECT secret FROM cluster_secret";
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connects");
    let secret: String = db.query_one(secret_sql, &[]).expect("a secret").get(0);
    let ask = |headers: &str| {
        crate::support::raw_http_tcp(
            port,
            &format!(
                "POST /v1/jobs/{id}/hold HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            ),
        )
    };
    for forged in [
        "X-Conductor-Caller: 0:0\r\n".to_string(),
        "X-Conductor-Caller: 0:0\r\nX-Conductor-Cluster-Secret: guess\r\n".to_string(),
        format!("X-Conductor-Caller: zero\r\nX-Conductor-Cluster-Secret: {secret}\r\n"),
        format!("X-Conductor-Cluster-Secret: {secret}\r\n"),
    ] {
        let (status, body) = ask(&forged);
        assert_eq!(status, 401, "{forged}: {body}");
    }
    // The secret with a caller is what a standby sends: it is believed.
    let (status, body) = ask(&format!(
        "X-Conductor-Caller: {}:{}\r\nX-Conductor-Cluster-Secret: {secret}\r\n",
        conductor::users::current_uid(),
        conductor::users::current_gid()
    ));
    assert_ne!(status, 401, "{body}");
}

/// `cinfo -N -h -o "%N %t %E"`, as lines.
fn node_lines(d: &TestDaemon) -> String {
    d.run("cinfo", &["-N", "-h", "-o", "%N %t %E"])
        .ok()
        .to_string()
}

#[test]
fn nodes_register_and_a_node_whose_heartbeat_stopped_is_down_after_the_timeout() {
    let Some((server, mut first)) = daemon_on_postgres(&["--node", "n1", "--node-timeout", "2"])
    else {
        return;
    };
    let url = server.url();
    wait_until(SHORT, "n1 registers", || {
        first.log().contains("node n1 is up")
    });
    assert_eq!(node_lines(&first), "n1 idle none\n");
    let config = first.run("ccontrol", &["show", "config"]).ok().to_string();
    assert!(
        config.contains("SlurmdTimeout           = 2 sec\n"),
        "{config}"
    );
    first.stop();

    // Another node takes the database over: it lists n1 from the
    // registry, up until its heartbeat is two seconds old, then DOWN.
    let second = TestDaemon::start(&["--store", &url, "--node", "n2", "--node-timeout", "2"]);
    wait_until(SHORT, "n2 lists both", || {
        node_lines(&second).lines().count() == 2
    });
    wait_until(SHORT, "n1 is declared down", || {
        node_lines(&second) == "n1 down Not responding\nn2 idle none\n"
    });
    assert!(second.log().contains("node n1 is DOWN"), "{}", second.log());
    let shown = second
        .run("ccontrol", &["show", "node", "n1"])
        .ok()
        .to_string();
    assert!(shown.contains("State=DOWN"), "{shown}");
    assert!(shown.contains("Reason=Not responding"), "{shown}");

    // n2's jobs run as ever.
    let id = second.submit(&["--wrap", "true"]);
    assert_eq!(second.wait_ended(id, SHORT).state, JobState::Completed);
    drop(second);

    // n1 comes back: up again in the registry, in a new epoch.
    first.start_again();
    wait_until(SHORT, "n1 is up again", || {
        node_lines(&first).starts_with("n1 idle none\n")
    });
}

/// Three nodes on one database, each with its own socket, state and TCP
/// listener: 300 jobs submitted through all three run exactly once; the
/// scheduler is killed, one of the others schedules within seconds, and
/// the third's commands reach it, with nothing lost.
#[test]
fn three_nodes_run_300_jobs_exactly_once_and_survive_the_schedulers_death() {
    let (p1, p2, p3) = (
        crate::support::free_port(),
        crate::support::free_port(),
        crate::support::free_port(),
    );
    let listen = |port: u16| format!("127.0.0.1:{port}");
    let Some((server, mut alpha)) = daemon_on_postgres(&[
        "--node",
        "alpha",
        "--node-timeout",
        "3",
        "--listen",
        &listen(p1),
    ]) else {
        return;
    };
    let url = server.url();
    let standby = |name: &str, port: u16| {
        TestDaemon::start_standby(&[
            "--store",
            &url,
            "--node",
            name,
            "--node-timeout",
            "3",
            "--listen",
            &listen(port),
        ])
    };
    let (beta, gamma) = (standby("beta", p2), standby("gamma", p3));
    for node in [&beta, &gamma] {
        wait_until(SHORT, "the standby passes requests on", || {
            node.run("cqueue", &["-h"]).code == 0
        });
    }

    // 100 jobs through each node at once, each writing its id once.
    let marker = alpha.work.join("ran");
    let script = format!("echo $SLURM_JOB_ID >> {}", marker.display());
    let ids: Vec<JobId> = std::thread::scope(|scope| {
        let submitters: Vec<_> = [&alpha, &beta, &gamma]
            .into_iter()
            .map(|node| {
                let script = &script;
                scope.spawn(move || {
                    (0..100)
                        .map(|_| node.submit(&["-o", "/dev/null", "--wrap", script]))
                        .collect::<Vec<JobId>>()
                })
            })
            .collect();
        submitters
            .into_iter()
            .flat_map(|submitter| submitter.join().expect("submits"))
            .collect()
    });
    let distinct: std::collections::BTreeSet<JobId> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), 300, "300 ids, none given twice");
    for id in &ids {
        assert_eq!(
            alpha.wait_ended(*id, Duration::from_secs(120)).state,
            JobState::Completed
        );
    }
    let ran = std::fs::read_to_string(&marker).expect("marker");
    let mut ran: Vec<&str> = ran.lines().collect();
    ran.sort_unstable();
    let mut expected: Vec<String> = ids.iter().map(ToString::to_string).collect();
    expected.sort_unstable();
    assert_eq!(ran, expected, "each job ran exactly once");

    // The scheduler dies with a job waiting; within seconds gamma's
    // commands reach whichever node schedules now.
    let held = gamma.submit(&["--hold", "--wrap", "true"]);
    alpha.crash();
    let killed = std::time::Instant::now();
    wait_until(
        Duration::from_secs(10),
        "gamma's commands are answered",
        || {
            gamma
                .run("cqueue", &["-h", "-o", "%i %t"])
                .stdout
                .contains(&format!("{held} PD"))
        },
    );
    eprintln!("scheduling moved in {:?}", killed.elapsed());
    gamma.run("ccontrol", &["release", &held.to_string()]).ok();
    assert_eq!(gamma.wait_ended(held, SHORT).state, JobState::Completed);
    wait_until(SHORT, "alpha is declared down", || {
        let lines = node_lines(&gamma);
        lines.starts_with("alpha down Not responding\n")
            && lines.matches(" idle none\n").count() == 2
    });
    let after = beta.submit(&["--hold", "--wrap", "true"]);
    assert!(after.0 > held.0, "ids go on: {after} after {held}");

    // A restart of the database: every node rides it out, and a job
    // through each of the two left runs once.
    server.stop().expect("stops");
    server.restart().expect("starts");
    let mut again = Vec::new();
    for node in [&beta, &gamma] {
        wait_until(SHORT, "submissions are taken again", || {
            let out = node.run(
                "cbatch",
                &["--parsable", "-o", "/dev/null", "--wrap", &script],
            );
            match out.stdout.trim().parse::<JobId>() {
                Ok(id) => {
                    again.push(id);
                    true
                }
                Err(_) => false,
            }
        });
    }
    for id in &again {
        assert_eq!(beta.wait_ended(*id, SHORT).state, JobState::Completed);
    }
    let ran = std::fs::read_to_string(&marker).expect("marker");
    assert_eq!(ran.lines().count(), 302, "nothing lost, nothing run twice");
    assert_eq!(beta.job(after).state, JobState::Pending);
}

/// Three one-CPU nodes: each job goes to the first node with room and
/// runs there under that node's own supervisor; a signal and a cancel
/// through another node reach it; its end comes back to the scheduler;
/// a node whose daemon dies with a `--requeue` job has the job killed by
/// its supervisor before the node is declared down, and only then does
/// it run again on another node.
#[test]
fn jobs_run_on_the_first_node_with_room_and_are_signalled_cancelled_and_requeued_there() {
    let (p1, p2, p3) = (
        crate::support::free_port(),
        crate::support::free_port(),
        crate::support::free_port(),
    );
    let listen = |port: u16| format!("127.0.0.1:{port}");
    let node_args = |name: &'static str, port: u16| {
        vec![
            "--node".to_string(),
            name.to_string(),
            "--cpus".into(),
            "1".into(),
            "--node-timeout".into(),
            "3".into(),
            "--requeue-delay".into(),
            "0".into(),
            "--listen".into(),
            listen(port),
        ]
    };
    let alpha_args = node_args("alpha", p1);
    let alpha_args: Vec<&str> = alpha_args.iter().map(String::as_str).collect();
    let Some((server, alpha)) = daemon_on_postgres(&alpha_args) else {
        return;
    };
    let url = server.url();
    let standby = |name: &'static str, port: u16| {
        let mut args = vec!["--store".to_string(), url.clone()];
        args.extend(node_args(name, port));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        TestDaemon::start_standby(&args)
    };
    let (mut beta, mut gamma) = (standby("beta", p2), standby("gamma", p3));
    wait_until(SHORT, "every node takes jobs", || {
        node_lines(&alpha) == "alpha idle none\nbeta idle none\ngamma idle none\n"
    });
    for node in [&beta, &gamma] {
        wait_until(SHORT, "the standby passes requests on", || {
            node.run("cqueue", &["-h"]).code == 0
        });
    }

    // Each job says where it ran and waits for its own file.
    let work = alpha.work.clone();
    let file = |name: &str, what: &str| work.join(format!("{name}.{what}"));
    let script = |name: &str| {
        let at = |what: &str| file(name, what).display().to_string();
        format!(
            "echo $SLURMD_NODENAME > {node}; echo $$ > {pid}; \
             trap 'echo USR1 >> {sig}' USR1; \
             while [ ! -e {done} ]; do sleep 0.1; done",
            node = at("node"),
            pid = at("pid"),
            sig = at("sig"),
            done = at("done"),
        )
    };
    let read =
        |name: &str, what: &str| std::fs::read_to_string(file(name, what)).unwrap_or_default();
    let node_of = |id: JobId| {
        alpha
            .run("cqueue", &["-h", "-j", &id.to_string(), "-o", "%N"])
            .ok()
            .trim()
            .to_string()
    };
    let mut ids = std::collections::BTreeMap::new();
    for (name, through) in [("a", &alpha), ("b", &beta), ("c", &gamma)] {
        let id = through.submit(&["-o", "/dev/null", "--wrap", &script(name)]);
        alpha.wait_for(id, JobState::Running, SHORT);
        wait_until(SHORT, "the job says where it runs", || {
            read(name, "pid").ends_with('\n')
        });
        ids.insert(name, id);
    }
    for (name, node) in [("a", "alpha"), ("b", "beta"), ("c", "gamma")] {
        assert_eq!(node_of(ids[name]), node, "job {name} is listed on {node}");
        assert_eq!(
            read(name, "node"),
            format!("{node}\n"),
            "job {name} ran on {node}"
        );
    }
    wait_until(SHORT, "every node is allocated", || {
        node_lines(&gamma) == "alpha alloc none\nbeta alloc none\ngamma alloc none\n"
    });
    let waiting = alpha.submit(&["-o", "/dev/null", "--wrap", &script("d")]);
    wait_until(SHORT, "the fourth job waits for resources", || {
        alpha
            .run("cqueue", &["-h", "-j", &waiting.to_string(), "-o", "%t %r"])
            .stdout
            == "PD Resources\n"
    });

    // A signal to b's batch shell and then a cancel, both through gamma,
    // reach b's supervisor on beta; d then takes beta.
    gamma
        .run("ccancel", &["-s", "USR1", "-b", &ids["b"].to_string()])
        .ok();
    wait_until(SHORT, "b's shell had the signal", || {
        read("b", "sig") == "USR1\n"
    });
    let b_pid = read("b", "pid");
    gamma.run("ccancel", &[&ids["b"].to_string()]).ok();
    assert_eq!(alpha.wait_ended(ids["b"], SHORT).state, JobState::Cancelled);
    let b_proc = std::path::PathBuf::from(format!("/proc/{}", b_pid.trim()));
    wait_until(SHORT, "b's shell is gone", || !b_proc.exists());
    alpha.wait_for(waiting, JobState::Running, SHORT);
    assert_eq!(node_of(waiting), "beta");

    // beta's daemon restarts while d runs there: it follows d again
    // through d's supervisor (d ends later, as any job).
    wait_until(SHORT, "d runs", || read("d", "pid").ends_with('\n'));
    beta.stop();
    beta.start_again_standby();
    wait_until(SHORT, "beta follows d again", || {
        beta.log()
            .contains(&format!("job {waiting}: followed again on this node"))
    });
    assert_eq!(alpha.job(waiting).state, JobState::Running);

    // c ends on its own on gamma; the end is recorded where it ran.
    std::fs::write(file("c", "done"), "").expect("writes");
    assert_eq!(alpha.wait_ended(ids["c"], SHORT).state, JobState::Completed);

    // A job with a step (`crun`) takes gamma, the one node free: the step
    // runs there and is accounted.
    let crun = crate::support::bin("crun").display().to_string();
    let stepped = beta.submit(&[
        "-o",
        "/dev/null",
        "--wrap",
        &format!(
            "{crun} sh -c 'echo $SLURMD_NODENAME > {}'",
            file("s", "node").display()
        ),
    ]);
    assert_eq!(alpha.wait_ended(stepped, SHORT).state, JobState::Completed);
    assert_eq!(read("s", "node"), "gamma\n");
    let steps = alpha
        .run(
            "cacct",
            &[
                "-n",
                "-P",
                "-j",
                &stepped.to_string(),
                "-o",
                "JobID,NodeList,State",
            ],
        )
        .ok()
        .to_string();
    assert!(
        steps.contains(&format!("{stepped}.0|gamma|COMPLETED\n")),
        "{steps}"
    );
    let accounted = beta
        .run(
            "cacct",
            &[
                "-n",
                "-X",
                "-P",
                "-j",
                &format!("{},{}", ids["b"], ids["c"]),
                "-o",
                "JobID,NodeList,State",
            ],
        )
        .ok()
        .to_string();
    assert_eq!(
        accounted,
        format!(
            "{}|beta|CANCELLED by {}\n{}|gamma|COMPLETED\n",
            ids["b"],
            conductor::users::current_uid(),
            ids["c"]
        )
    );

    // gamma's daemon dies with a --requeue job on it. The job's
    // supervisor, which outlives the daemon, kills it once gamma's
    // heartbeat is half the timeout old; gamma is declared down after a
    // whole one, and only then does the job queue again: it never runs on
    // two nodes at once. It runs on alpha once a's done.
    let e = beta.submit(&["--requeue", "-o", "/dev/null", "--wrap", &script("e")]);
    alpha.wait_for(e, JobState::Running, SHORT);
    assert_eq!(node_of(e), "gamma");
    wait_until(SHORT, "e runs", || read("e", "pid").ends_with('\n'));
    let old_run = std::path::PathBuf::from(format!("/proc/{}", read("e", "pid").trim()));
    gamma.crash();
    let crashed = std::time::Instant::now();
    wait_until(SHORT, "e's first run is killed by its supervisor", || {
        !old_run.exists()
    });
    let fenced = crashed.elapsed();
    assert_eq!(
        alpha.job(e).state,
        JobState::Running,
        "not yet queued again"
    );
    wait_until(SHORT, "gamma is declared down", || {
        node_lines(&alpha).ends_with("gamma down Not responding\n")
    });
    wait_until(SHORT, "e is queued again", || {
        alpha.job(e).state == JobState::Pending
    });
    eprintln!(
        "e's first run was killed {fenced:?} after gamma's daemon, and queued again {:?} after",
        crashed.elapsed()
    );
    std::fs::remove_file(file("e", "pid")).expect("removes");
    std::fs::write(file("a", "done"), "").expect("writes");
    alpha.wait_for(e, JobState::Running, SHORT);
    assert_eq!(node_of(e), "alpha");
    wait_until(SHORT, "e runs again", || read("e", "node") == "alpha\n");
    let shown = alpha
        .run("ccontrol", &["show", "job", &e.to_string()])
        .ok()
        .to_string();
    assert!(shown.contains("Restarts=1"), "{shown}");

    // gamma comes back and takes jobs again.
    gamma.start_again_standby();
    wait_until(SHORT, "gamma takes jobs again", || {
        node_lines(&alpha).ends_with("gamma idle none\n")
    });
    for name in ["d", "e"] {
        std::fs::write(file(name, "done"), "").expect("writes");
    }
    for id in [waiting, e] {
        assert_eq!(alpha.wait_ended(id, SHORT).state, JobState::Completed);
    }
}

/// What can ever run is what the largest node has: a job too big for the
/// scheduler's node waits (PartitionConfig) until a node it fits on
/// joins, and then runs there; one too big for every node waits on.
#[test]
fn a_job_bigger_than_the_schedulers_node_runs_on_a_node_it_fits() {
    let port = crate::support::free_port();
    let listen = format!("127.0.0.1:{port}");
    let Some((server, alpha)) =
        daemon_on_postgres(&["--node", "alpha", "--cpus", "1", "--listen", &listen])
    else {
        return;
    };
    let reason = |id: JobId| {
        alpha
            .run("cqueue", &["-h", "-j", &id.to_string(), "-o", "%t %r %N"])
            .ok()
            .to_string()
    };
    let two = alpha.submit(&["-c", "2", "-o", "/dev/null", "--wrap", "true"]);
    let three = alpha.submit(&["-c", "3", "-o", "/dev/null", "--wrap", "true"]);
    assert_eq!(reason(two), "PD PartitionConfig \n");
    let beta =
        TestDaemon::start_standby(&["--store", &server.url(), "--node", "beta", "--cpus", "2"]);
    assert_eq!(beta.wait_ended(two, SHORT).state, JobState::Completed);
    // beta's load comes with its heartbeat, for `%O` and `CPULoad`.
    wait_until(SHORT, "beta reports its load", || {
        alpha
            .client()
            .nodes()
            .expect("nodes")
            .iter()
            .any(|node| node.name == "beta" && node.cpu_load.is_some())
    });
    let ran = alpha
        .run(
            "cacct",
            &[
                "-n",
                "-X",
                "-P",
                "-j",
                &two.to_string(),
                "-o",
                "NodeList,AllocCPUS",
            ],
        )
        .ok()
        .to_string();
    assert_eq!(ran, "beta|2\n");
    assert_eq!(reason(three), "PD PartitionConfig \n");
}

/// A user's token, asked for through any node, works over every node's
/// TCP listener and outlives a change of scheduler; a node's own token
/// works over its own listener; a caller or secret a client names over a
/// standby's listener is never passed on as the node's word.
#[test]
fn tokens_work_on_every_node_and_outlive_a_change_of_scheduler() {
    let (p1, p2) = (crate::support::free_port(), crate::support::free_port());
    let (l1, l2) = (format!("127.0.0.1:{p1}"), format!("127.0.0.1:{p2}"));
    let Some((server, mut alpha)) =
        daemon_on_postgres(&["--node", "alpha", "--node-timeout", "3", "--listen", &l1])
    else {
        return;
    };
    let url = server.url();
    let beta = TestDaemon::start_standby(&[
        "--store",
        &url,
        "--node",
        "beta",
        "--node-timeout",
        "3",
        "--listen",
        &l2,
    ]);
    wait_until(SHORT, "beta passes requests on", || {
        beta.run("cqueue", &["-h"]).code == 0
    });
    let token = beta
        .run("ccontrol", &["token"])
        .ok()
        .trim()
        .strip_prefix("CONDUCTOR_TOKEN=")
        .expect("CONDUCTOR_TOKEN=...")
        .to_string();
    let ask = |port: u16, headers: &str| {
        crate::support::raw_http_tcp(
            port,
            &format!("GET /v1/jobs HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"),
        )
        .0
    };
    let bearer = |token: &str| format!("Authorization: Bearer {token}\r\n");
    for port in [p1, p2] {
        assert_eq!(
            ask(port, &bearer(&token)),
            200,
            "the user's token on {port}"
        );
        assert_eq!(ask(port, ""), 401, "no token on {port}");
    }
    let betas = beta.token().expect("beta's own token");
    assert_eq!(
        ask(p2, &bearer(betas.trim())),
        200,
        "beta's own token on beta"
    );
    let mut db = postgres::Client::connect(&url, postgres::NoTls).expect("connects");
    let secret: String = db
        .query_one("SELECT secret FROM cluster_secret", &[])
        .expect("a secret")
        .get(0);
    assert_eq!(
        ask(
            p2,
            &format!("X-Conductor-Caller: 0:0\r\nX-Conductor-Cluster-Secret: {secret}\r\n")
        ),
        401,
        "beta's listener passes on no caller a client names"
    );

    // alpha dies: beta schedules, and the token still works there.
    alpha.crash();
    wait_until(SHORT, "beta schedules", || beta.client().diag().is_ok());
    wait_until(SHORT, "the token works on beta, now the scheduler", || {
        ask(p2, &bearer(&token)) == 200
    });
}
