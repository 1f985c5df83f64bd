//! cbatch's Slurm options through the real daemon: arrays, dependencies,
//! holds, begin times, environment export, and the rest of sbatch's set.

use std::time::Duration;

use conductor::protocol::{JobId, JobState, ListQuery, Reason, SignalRequest, UpdateRequest};

use crate::support::{TestDaemon, wait_until, write_script};

const SHORT: Duration = Duration::from_secs(10);

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tasks(d: &TestDaemon, array: JobId) -> Vec<conductor::protocol::JobInfo> {
    d.client()
        .list(&ListQuery {
            ids: Some(array.to_string()),
            states: Some("all".into()),
            ..Default::default()
        })
        .expect("list")
}

#[test]
fn an_array_runs_one_task_per_index_with_slurm_s_variables() {
    let d = TestDaemon::start(&["--cpus", "4"]);
    let id = d.submit(&[
        "--array=1-5:2",
        "--wrap",
        "echo $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT \
         $SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX $SLURM_ARRAY_TASK_STEP $SLURM_JOB_ID",
    ]);
    wait_until(SHORT, "every task completes", || {
        let all = tasks(&d, id);
        all.len() == 3 && all.iter().all(|t| t.state == JobState::Completed)
    });
    let all = tasks(&d, id);
    let indices: Vec<u32> = all.iter().filter_map(|t| t.array_task_id).collect();
    assert_eq!(indices, vec![1, 3, 5]);
    assert_eq!(all[0].job_id, id, "the first task has the array's id");
    for task in &all {
        assert_eq!(task.array_job_id, Some(id));
        let index = task.array_task_id.expect("index");
        let out = d.work.join(format!("slurm-{id}_{index}.out"));
        assert_eq!(
            read(&out),
            format!("{id} {index} 3 1 5 2 {}\n", task.job_id),
            "default output pattern is slurm-%A_%a.out"
        );
    }
}

#[test]
fn an_array_throttle_limits_tasks_running_at_once() {
    let d = TestDaemon::start(&["--cpus", "4", "--kill-wait", "1"]);
    let id = d.submit(&["--array=0-3%2", "-o", "/dev/null", "--wrap", "sleep 30"]);
    wait_until(SHORT, "two tasks run", || {
        tasks(&d, id)
            .iter()
            .filter(|t| t.state == JobState::Running)
            .count()
            == 2
    });
    std::thread::sleep(Duration::from_millis(200));
    let all = tasks(&d, id);
    assert_eq!(
        all.iter().filter(|t| t.state == JobState::Running).count(),
        2
    );
    let waiting: Vec<Reason> = all
        .iter()
        .filter(|t| t.state == JobState::Pending)
        .map(|t| t.reason)
        .collect();
    assert_eq!(waiting, vec![Reason::JobArrayTaskLimit; 2]);
    assert_eq!(all[0].array_max_running, Some(2));
    d.run("ccancel", &[&id.to_string()]).ok();
}

#[test]
fn bad_arrays_and_dependencies_are_refused() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    // Slurm's controller refuses these: its words say so.
    let out = d.run("cbatch", &["--array=5-1", "--wrap", "true"]);
    assert_eq!(
        out.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: Invalid job array specification"
    );
    let out = d.run("cbatch", &["--dependency=bogus:1", "--wrap", "true"]);
    assert_eq!(
        out.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: Job dependency problem"
    );
}

#[test]
fn afterok_waits_for_success_and_never_satisfied_shows_or_cancels() {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1"]);
    let first = d.submit(&["--wrap", "sleep 1"]);
    let after_ok = d.submit(&[
        &format!("--dependency=afterok:{first}"),
        "--wrap",
        "echo ran",
    ]);
    let waiting = d.job(after_ok);
    assert_eq!(waiting.state, JobState::Pending);
    wait_until(SHORT, "the dependent shows Dependency", || {
        d.job(after_ok).reason == Reason::Dependency
    });
    assert_eq!(
        d.job(after_ok).dependency.as_deref(),
        Some(format!("afterok:{first}(unfulfilled)").as_str())
    );
    d.wait_for(after_ok, JobState::Completed, SHORT);

    let failing = d.submit(&["--wrap", "exit 1"]);
    let never = d.submit(&[&format!("-d afterok:{failing}"), "--wrap", "true"]);
    let killed = d.submit(&[
        &format!("--dependency=afterok:{failing}"),
        "--kill-on-invalid-dep=yes",
        "--wrap",
        "true",
    ]);
    let not_ok = d.submit(&[
        &format!("--dependency=afternotok:{failing}"),
        "--wrap",
        "true",
    ]);
    wait_until(SHORT, "the never-satisfied job says so", || {
        d.job(never).reason == Reason::DependencyNeverSatisfied
    });
    assert_eq!(d.job(never).state, JobState::Pending);
    let job = d.wait_for(killed, JobState::Cancelled, SHORT);
    assert_eq!(job.reason, Reason::DependencyNeverSatisfied);
    d.wait_for(not_ok, JobState::Completed, SHORT);
    d.run("ccancel", &[&never.to_string()]).ok();
}

#[test]
fn any_of_several_conditions_and_singleton() {
    let d = TestDaemon::start(&["--cpus", "4", "--kill-wait", "1"]);
    let slow = d.submit(&["--wrap", "sleep 30"]);
    let quick = d.submit(&["--wrap", "true"]);
    let either = d.submit(&[
        &format!("--dependency=afterany:{slow}?afterany:{quick}"),
        "--wrap",
        "true",
    ]);
    d.wait_for(either, JobState::Completed, SHORT);

    let one = d.submit(&["-J", "solo", "--dependency=singleton", "--wrap", "sleep 30"]);
    let two = d.submit(&["-J", "solo", "--dependency=singleton", "--wrap", "true"]);
    d.wait_for(one, JobState::Running, SHORT);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        d.job(two).state,
        JobState::Pending,
        "one singleton at a time"
    );
    d.run("ccancel", &[&one.to_string()]).ok();
    d.wait_for(two, JobState::Completed, SHORT);
    d.run("ccancel", &[&slow.to_string()]).ok();

    // An earlier job of the same name that is still pending (here held)
    // holds a singleton back too, as in Slurm.
    let held = d.submit(&[
        "-J",
        "pair",
        "-H",
        "--dependency=singleton",
        "--wrap",
        "true",
    ]);
    let later = d.submit(&["-J", "pair", "--dependency=singleton", "--wrap", "true"]);
    std::thread::sleep(Duration::from_millis(300));
    let job = d.job(later);
    assert_eq!(
        (job.state, job.reason),
        (JobState::Pending, Reason::Dependency)
    );
    d.run("ccontrol", &["release", &held.to_string()]).ok();
    d.wait_for(held, JobState::Completed, SHORT);
    d.wait_for(later, JobState::Completed, SHORT);
}

#[test]
fn held_jobs_wait_for_release() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let id = d.submit(&["--hold", "--wrap", "true"]);
    std::thread::sleep(Duration::from_millis(200));
    let job = d.job(id);
    assert_eq!(
        (job.state, job.reason),
        (JobState::Pending, Reason::JobHeldUser)
    );
    d.client().release(id).expect("release");
    d.wait_for(id, JobState::Completed, SHORT);

    let other = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(other, JobState::Running, SHORT);
    let queued = d.submit(&["--wrap", "true"]);
    let held = d.client().hold(queued).expect("hold");
    assert_eq!(
        held.reason,
        Reason::JobHeldAdmin,
        "root's holds are admin holds"
    );
    let refused = d
        .client()
        .hold(other)
        .expect_err("a running job cannot be held");
    assert_eq!(
        refused.to_string(),
        format!("Job is no longer pending execution for job {other}")
    );
    d.run("ccancel", &[&other.to_string(), &queued.to_string()])
        .ok();
}

#[test]
fn begin_times_delay_the_start() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let id = d.submit(&["--begin=now+2", "--wrap", "true"]);
    std::thread::sleep(Duration::from_millis(300));
    let job = d.job(id);
    assert_eq!(
        (job.state, job.reason),
        (JobState::Pending, Reason::BeginTime)
    );
    let done = d.wait_for(id, JobState::Completed, Duration::from_secs(6));
    let begin = job.begin_time.expect("begin time");
    assert!(done.start_time.expect("start") >= begin);
    let out = d.run("cbatch", &["--begin=garbage", "--wrap", "true"]);
    // Slurm's time parser's own line first, without a prefix.
    assert_eq!(
        (out.code, out.stderr.as_str()),
        (
            255,
            "Invalid time specification (pos=0): garbage\n\
             cbatch: error: Invalid --begin specification\n"
        )
    );
}

#[test]
fn option_errors_exit_as_sbatch_exits_with_its_words() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    // What the option parser refuses exits 255 (live Slurm 22.05).
    for (args, line) in [
        (
            &["-t", "xx"][..],
            "cbatch: error: Invalid --time specification",
        ),
        (
            &["--mem=xx"][..],
            "cbatch: error: Invalid --mem specification",
        ),
        (
            &["--begin=soon"][..],
            "Invalid time specification (pos=0): soon\ncbatch: error: Invalid --begin specification",
        ),
        // Slurm's units are words: `m` is no unit (cacct and ccontrol
        // refuse it too).
        (
            &["--begin=now+5m"][..],
            "Invalid time specification (pos=4): now+5m\ncbatch: error: Invalid --begin specification",
        ),
    ] {
        let mut argv = args.to_vec();
        argv.extend(["--wrap", "true"]);
        let out = d.run("cbatch", &argv);
        assert_eq!((out.code, out.stderr.trim()), (255, line), "{args:?}");
    }
    let unknown = d.run("cbatch", &["--no-such-option", "--wrap", "true"]);
    assert_eq!(unknown.code, 255);
    assert_eq!(
        unknown.stderr,
        "cbatch: unrecognized option '--no-such-option'\n\
         Try \"cbatch --help\" for more information\n"
    );
    // The same in a directive, in the same words.
    let script = write_script(&d.work, "bogus.sh", "#!/bin/sh\n#SBATCH --bogus\ntrue\n");
    let directive = d.run("cbatch", &[script.to_str().expect("utf-8")]);
    assert_eq!(directive.code, 255);
    assert_eq!(
        directive.stderr,
        "cbatch: unrecognized option '--bogus'\nTry \"cbatch --help\" for more information\n"
    );
    // A bad count is exit 1; a long error has the prefix on each line.
    let count = d.run("cbatch", &["-c", "x", "--wrap", "true"]);
    assert_eq!(count.code, 1);
    let plain = write_script(&d.work, "plain.sh", "true\n");
    let no_shebang = d.run("cbatch", &[plain.to_str().expect("utf-8")]);
    assert_eq!(no_shebang.code, 1);
    assert_eq!(
        no_shebang.stderr,
        "cbatch: error: This does not look like a batch script.  The first\n\
         cbatch: error: line must start with #! followed by the path to an interpreter.\n\
         cbatch: error: For instance: #!/bin/sh\n"
    );
}

#[test]
fn export_none_keeps_only_slurm_variables_and_those_listed() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let script = "echo \"a=${ALPHA-unset} b=${BETA-unset} c=${GAMMA-unset} e=$SLURM_EXPORT_ENV\"";
    let run = |export: &str| {
        let mut command = std::process::Command::new(crate::support::bin("cbatch"));
        command
            .args(["--parsable", "--wait", export, "--wrap", script])
            .current_dir(&d.work)
            .env("CONDUCTOR_SERVER", &d.server)
            .env("ALPHA", "1")
            .env("BETA", "2");
        let out = crate::support::run_command(command, None);
        let id: JobId = out.ok().trim().parse().expect("id");
        read(&d.work.join(format!("slurm-{id}.out")))
    };
    assert_eq!(run("--export=ALL"), "a=1 b=2 c=unset e=ALL\n");
    assert_eq!(run("--export=NONE"), "a=unset b=unset c=unset e=NONE\n");
    assert_eq!(
        run("--export=ALPHA,GAMMA=3"),
        "a=1 b=unset c=3 e=ALPHA,GAMMA=3\n"
    );
    assert_eq!(run("--export=ALL,GAMMA=3"), "a=1 b=2 c=3 e=ALL,GAMMA=3\n");
}

#[test]
fn sbatch_variables_sit_between_directives_and_the_command_line() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    write_script(
        &d.work,
        "named.sh",
        "#!/bin/sh\n#SBATCH -J directive\n#SBATCH -t 7\ntrue\n",
    );
    let submit = |env: &[(&str, &str)], args: &[&str]| {
        let mut command = std::process::Command::new(crate::support::bin("cbatch"));
        command
            .arg("--parsable")
            .args(args)
            .arg("named.sh")
            .current_dir(&d.work)
            .env("CONDUCTOR_SERVER", &d.server);
        for (k, v) in env {
            command.env(k, v);
        }
        let out = crate::support::run_command(command, None);
        d.job(out.ok().trim().parse().expect("id"))
    };
    let job = submit(&[], &[]);
    assert_eq!(
        (job.name.as_str(), job.time_limit),
        ("directive", Some(420))
    );
    let job = submit(&[("SBATCH_JOB_NAME", "fromenv")], &[]);
    assert_eq!((job.name.as_str(), job.time_limit), ("fromenv", Some(420)));
    let job = submit(
        &[("SBATCH_JOB_NAME", "fromenv"), ("SBATCH_TIMELIMIT", "9")],
        &["-J", "cli"],
    );
    assert_eq!((job.name.as_str(), job.time_limit), ("cli", Some(540)));
    let job = submit(&[("SBATCH_HOLD", "1")], &[]);
    assert_eq!(job.reason, Reason::JobHeldUser);
}

#[test]
fn test_only_says_when_the_job_would_start_and_submits_nothing() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let out = d.run("cbatch", &["--test-only", "-c", "2", "--wrap", "true"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "");
    let line = out.stderr.trim_end();
    let (head, tail) = line.split_once(" to start at ").expect("sbatch's wording");
    assert_eq!(head, "cbatch: Job 1");
    assert!(
        tail.ends_with(&format!(
            " using 2 processors on nodes {} in partition normal",
            conductor::paths::hostname()
        )),
        "{line}"
    );
    assert_eq!(d.run("cqueue", &["-h", "-t", "all"]).ok(), "");
}

#[test]
fn output_can_be_appended_and_input_read_from_a_file() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    std::fs::write(d.work.join("log.txt"), "before\n").expect("write");
    std::fs::write(d.work.join("in.txt"), "from input\n").expect("write");
    let out = d.run(
        "cbatch",
        &[
            "-W",
            "--open-mode=append",
            "-o",
            "log.txt",
            "-i",
            "in.txt",
            "--wrap",
            "cat",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(read(&d.work.join("log.txt")), "before\nfrom input\n");
}

#[test]
fn the_warning_signal_comes_before_the_time_limit() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let id = d.submit(&[
        "-t",
        "0:03",
        "--signal=B:USR1@2",
        "--wrap",
        "trap 'echo warned; exit 0' USR1; sleep 10 & wait",
    ]);
    let job = d.wait_ended(id, SHORT);
    assert_eq!(
        job.state,
        JobState::Completed,
        "the trap ended it before the limit"
    );
    assert_eq!(read(&job.stdout), "warned\n");
}

#[test]
fn the_warning_signal_without_b_goes_to_the_steps_and_never_the_batch_shell() {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    // submitit's directives: the warning is due at once (90 s before a
    // one-minute limit) and must not kill the batch shell.
    let id = d.submit(&[
        "--signal=USR2@90",
        "--time=1",
        "--wrap",
        "sleep 1; echo shell lived",
    ]);
    let job = d.wait_ended(id, SHORT);
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    assert_eq!(read(&job.stdout), "shell lived\n");
    // A step running when the warning is due gets it, the shell does not.
    let crun = crate::support::bin("crun");
    let id = d.submit(&[
        "-t",
        "0:04",
        "--signal=USR1@3",
        "--wrap",
        &format!(
            "trap 'echo shell warned' USR1\n\
             {} sh -c \"trap 'echo step warned; exit 0' USR1; while true; do sleep 0.1; done\"\n\
             echo step ended",
            crun.display()
        ),
    ]);
    let job = d.wait_ended(id, SHORT);
    assert_eq!(job.state, JobState::Completed, "{job:?}");
    // (The step's `sleep` dies of the signal too, and sh may say so.)
    let out = read(&job.stdout);
    assert!(out.ends_with("step warned\nstep ended\n"), "{out}");
    assert!(!out.contains("shell warned"), "{out}");
}

#[test]
fn signals_requeue_and_updates_through_the_api() {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1", "--requeue-delay", "0"]);
    let id = d.submit(&[
        "--wrap",
        "trap 'echo got-usr2' USR2; for i in $(seq 100); do sleep 0.1; done",
    ]);
    d.wait_for(id, JobState::Running, SHORT);
    std::thread::sleep(Duration::from_millis(300));
    d.client()
        .signal(
            id,
            &SignalRequest {
                signal: 12,
                scope: conductor::protocol::SignalScope::BatchShell,
            },
        )
        .expect("signal");
    wait_until(SHORT, "the job saw the signal", || {
        std::fs::read_to_string(d.work.join(format!("slurm-{id}.out")))
            .is_ok_and(|t| t.contains("got-usr2"))
    });
    assert_eq!(
        d.job(id).state,
        JobState::Running,
        "a signal does not end the job"
    );
    d.run("ccancel", &[&id.to_string()]).ok();

    let done = d.submit(&["--wrap", "echo run >> runs.txt"]);
    d.wait_for(done, JobState::Completed, SHORT);
    let requeued = d.client().requeue(done).expect("requeue");
    assert_eq!(requeued.restarts, 1);
    d.wait_for(done, JobState::Completed, SHORT);
    assert_eq!(read(&d.work.join("runs.txt")), "run\nrun\n");

    let held = d.submit(&["--hold", "--wrap", "true"]);
    let updated = d
        .client()
        .update(
            held,
            &UpdateRequest {
                name: Some("renamed".into()),
                time_limit: Some(600),
                cpus: Some(2),
                ..Default::default()
            },
        )
        .expect("update");
    assert_eq!(
        (updated.name.as_str(), updated.time_limit, updated.cpus),
        ("renamed", Some(600), 2)
    );
    let too_big = d.client().update(
        held,
        &UpdateRequest {
            cpus: Some(3),
            ..Default::default()
        },
    );
    assert!(too_big.is_err());
}

#[test]
fn resource_options_shape_the_request() {
    let d = TestDaemon::start(&["--cpus", "4", "--mem", "8G", "--gpus", "2"]);
    let job = d.job(d.submit(&["--hold", "--exclusive", "--wrap", "true"]));
    assert_eq!((job.cpus, job.gpus, job.exclusive), (4, 2, true));
    let job = d.job(d.submit(&["--hold", "-c", "2", "--mem-per-cpu=1G", "--wrap", "true"]));
    assert_eq!((job.memory_mb, job.memory_per_cpu_mb), (2048, Some(1024)));
    let job = d.job(d.submit(&["--hold", "--gres=gpu:a100:2", "--wrap", "true"]));
    assert_eq!(job.gpus, 2);
    let job = d.job(d.submit(&["--hold", "--ntasks-per-node=3", "--wrap", "true"]));
    assert_eq!((job.ntasks, job.cpus), (3, 3));
    let job = d.job(d.submit(&["--hold", "--nice=50", "--wrap", "true"]));
    // Held: priority 0, as Slurm reports a held job's.
    assert_eq!((job.nice, job.priority), (50, 0));
    let job = d.job(d.submit(&[
        "--hold",
        "-N",
        "1",
        "-A",
        "proj",
        "--qos=high",
        "--wckey=k",
        "--comment=hello",
        "-C",
        "fast",
        "--exclude=n1",
        "--requeue",
        "--no-requeue",
        "-M",
        "all",
        "--wrap",
        "true",
    ]));
    assert_eq!(job.account.as_deref(), Some("proj"));
    assert_eq!(job.comment.as_deref(), Some("hello"));
    let out = d.run("cbatch", &["-N", "2", "--wrap", "true"]);
    assert!(
        out.fails_with_one_line()
            .contains("Requested node configuration is not available")
    );
    let out = d.run("cbatch", &["--gres=disk:1", "--wrap", "true"]);
    assert_eq!(
        out.fails_with_one_line(),
        "cbatch: error: Invalid generic resource (gres) specification"
    );
}

#[test]
fn the_job_sees_slurm_s_environment() {
    let d = TestDaemon::start(&["--cpus", "2", "--gpus", "2"]);
    let id = d.submit(&[
        "-J",
        "envy",
        "-n",
        "2",
        "--gpus=1",
        "--mem=64M",
        "-t",
        "10",
        "--wrap",
        "env | grep -E '^(SLURM|CONDUCTOR|CUDA)' | sort",
    ]);
    let job = d.wait_for(id, JobState::Completed, SHORT);
    let text = read(&job.stdout);
    let host = conductor::paths::hostname();
    for expected in [
        format!("SLURM_JOB_ID={id}"),
        format!("SLURM_JOBID={id}"),
        "SLURM_JOB_NAME=envy".into(),
        "SLURM_NTASKS=2".into(),
        "SLURM_CPUS_ON_NODE=2".into(),
        "SLURM_MEM_PER_NODE=64".into(),
        format!("SLURM_JOB_NODELIST={host}"),
        "SLURM_JOB_NUM_NODES=1".into(),
        "SLURM_NODEID=0".into(),
        "SLURM_PROCID=0".into(),
        "SLURM_LOCALID=0".into(),
        "SLURM_JOB_PARTITION=normal".into(),
        format!("SLURM_SUBMIT_DIR={}", d.work.display()),
        "SLURM_GPUS_ON_NODE=1".into(),
        "SLURM_JOB_GPUS=0".into(),
        "CUDA_VISIBLE_DEVICES=0".into(),
        "SLURM_NPROCS=2".into(),
        "SLURM_JOB_QOS=normal".into(),
        format!(
            "SLURM_JOB_ACCOUNT={}",
            conductor::users::user_name(conductor::users::current_uid())
        ),
        "SLURM_NODE_ALIASES=(null)".into(),
        "SLURM_TOPOLOGY_ADDR_PATTERN=node".into(),
        format!("CONDUCTOR_JOB_ID={id}"),
        "CONDUCTOR_JOB_NAME=envy".into(),
    ] {
        assert!(text.lines().any(|l| l == expected), "{expected} in\n{text}");
    }
    // What 22.05 does not set: no start or end time, no restart count
    // before a requeue, no CPUs per task without -c.
    for absent in [
        "SLURM_JOB_START_TIME=",
        "SLURM_JOB_END_TIME=",
        "SLURM_RESTART_COUNT=",
        "SLURM_CPUS_PER_TASK=",
    ] {
        assert!(
            !text.lines().any(|l| l.starts_with(absent)),
            "{absent} in\n{text}"
        );
    }
    // Nor SLURM_NTASKS without -n.
    let plain = d.submit(&[
        "--wrap",
        "env | grep -E '^SLURM_(NTASKS|NPROCS|CPUS_PER_TASK)=' | sort",
    ]);
    let job = d.wait_for(plain, JobState::Completed, SHORT);
    assert_eq!(read(&job.stdout), "");
    let with_c = d.submit(&["-c", "2", "--wrap", "echo $SLURM_CPUS_PER_TASK"]);
    let job = d.wait_for(with_c, JobState::Completed, SHORT);
    assert_eq!(read(&job.stdout), "2\n");
    // The script's own pid, as slurmstepd sets it (even when the caller's
    // environment already has one).
    let pid = d.submit(&["--wrap", "echo $$ $SLURM_TASK_PID"]);
    let job = d.wait_for(pid, JobState::Completed, SHORT);
    let text = read(&job.stdout);
    let words: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(words.len(), 2, "{text}");
    assert_eq!(words[0], words[1], "SLURM_TASK_PID is the script's pid");
}

#[test]
fn long_option_prefixes_follow_getopt_in_every_binary() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    // Each binary, an ambiguous prefix: getopt's line, Slurm's table order,
    // Slurm's exit code; sacct prints no `Try` line.
    for (bin, args, code, line) in [
        (
            "cbatch",
            &["--t", "1", "--wrap", "true"][..],
            255,
            "cbatch: option '--t' is ambiguous; possibilities: '--tasks-per-node' '--test-only' \
             '--thread-spec' '--threads-per-core' '--time' '--time-min' '--tmp'",
        ),
        (
            "cqueue",
            &["--s"][..],
            1,
            "cqueue: option '--s' is ambiguous; possibilities: '--sib' '--sort' '--start' \
             '--steps' '--states'",
        ),
        (
            "cinfo",
            &["--s"][..],
            1,
            "cinfo: option '--s' is ambiguous; possibilities: '--summarize' '--sort' '--states'",
        ),
        (
            "ccancel",
            &["--s"][..],
            1,
            "ccancel: option '--s' is ambiguous; possibilities: '--sibling' '--signal' '--state'",
        ),
        (
            "ccontrol",
            &["--u"][..],
            1,
            "ccontrol: option '--u' is ambiguous; possibilities: '--uid' '--usage'",
        ),
        (
            "cdiag",
            &["--sort-by-t"][..],
            1,
            "cdiag: option '--sort-by-t' is ambiguous; possibilities: '--sort-by-time' \
             '--sort-by-time2'",
        ),
    ] {
        let out = d.run(bin, args);
        assert_eq!(out.code, code, "{bin} {args:?}: {out:?}");
        assert_eq!(
            out.stderr,
            format!("{line}\nTry \"{bin} --help\" for more information\n"),
            "{bin} {args:?}"
        );
    }
    let sacct = d.run("cacct", &["--f=x"]);
    assert_eq!(
        (sacct.code, sacct.stderr.as_str()),
        (
            1,
            "cacct: option '--f=x' is ambiguous; possibilities: '--federation' '--file' \
             '--flags' '--fields' '--format'\n"
        )
    );
    // The same in a directive; and a unique prefix is the option.
    let script = write_script(&d.work, "par.sh", "#!/bin/sh\n#SBATCH --par\ntrue\n");
    let directive = d.run("cbatch", &[script.to_str().expect("utf-8")]);
    assert_eq!(directive.code, 255);
    assert!(
        directive.stderr.starts_with(
            "cbatch: option '--par' is ambiguous; possibilities: '--parsable' '--partition'\n"
        ),
        "{directive:?}"
    );
    let id = d.run("cbatch", &["--pars", "-H", "--wr", "true"]);
    let id = id.ok().trim().to_string();
    let shown = d.run("cqueue", &["--noh", "--jo", &id, "--form=%i|%T"]);
    assert_eq!(shown.ok(), format!("{id}|PENDING\n"));
}

#[test]
fn a_negative_time_is_slurms_wrapped_limit_and_memory_options_exclude_each_other() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    // sbatch 22.05 takes `-t -5` (days), which wraps in its unsigned minutes.
    let id = d.submit(&["-H", "-t", "-5", "--wrap", "true"]);
    let shown = d.run("cqueue", &["-h", "-j", &id.to_string(), "-o", "%l"]);
    assert_eq!(shown.ok(), "INVALID\n");
    let job = d.run("ccontrol", &["show", "job", &id.to_string()]);
    assert!(job.ok().contains("TimeLimit=2982611-04:17:00"), "{job:?}");
    for pair in [
        ["--mem=1G", "--mem-per-cpu=1G"],
        ["--mem=1G", "--mem-per-gpu=1G"],
        ["--mem-per-cpu=1G", "--mem-per-gpu=1G"],
    ] {
        let out = d.run("cbatch", &[pair[0], pair[1], "--wrap", "true"]);
        assert_eq!(out.code, 1, "{pair:?}");
        assert_eq!(
            out.fails_with_one_line(),
            "cbatch: fatal: --mem, --mem-per-cpu, and --mem-per-gpu are mutually exclusive."
        );
    }
}

#[test]
fn a_dependency_on_an_unknown_job_waits_unfulfilled_then_is_dropped() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    // Held, it is not evaluated: shown as Slurm shows it.
    let held = d.submit(&["-H", "--dependency=afterok:99999", "--wrap", "true"]);
    let shown = d.run("cqueue", &["-h", "-j", &held.to_string(), "-o", "%T|%r|%E"]);
    assert_eq!(
        shown.ok(),
        "PENDING|JobHeldUser|afterok:99999(unfulfilled)\n"
    );
    // Released, the scheduler finds nothing to wait for, and it runs.
    d.run("ccontrol", &["release", &held.to_string()]).ok();
    d.wait_for(held, JobState::Completed, SHORT);
    let free = d.submit(&["--dependency=afterok:99998", "--wrap", "true"]);
    d.wait_for(free, JobState::Completed, SHORT);
}

#[test]
fn a_missing_working_directory_fails_the_job_as_in_slurm_and_a_missing_output_directory_is_made() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    // Accepted: the failure is the job's, FAILED with 0:53, nothing made.
    let chdir = d.submit(&["-D", "/nonexistent/dir", "--wrap", "echo hi"]);
    let job = d.wait_for(chdir, JobState::Failed, SHORT);
    assert_eq!(job.reason, Reason::JobLaunchFailure);
    let acct = d.run(
        "cacct",
        &[
            "-X",
            "-n",
            "-P",
            "-j",
            &chdir.to_string(),
            "-o",
            "State,ExitCode",
        ],
    );
    assert_eq!(acct.ok(), "FAILED|0:53\n");
    assert!(!std::path::Path::new("/nonexistent").exists());
    // A missing output directory is made (on purpose unlike Slurm: submitit
    // makes its `%j` folder only after sbatch has answered).
    let output = d.submit(&["-o", "nodir/%j/out.txt", "--wrap", "echo hi"]);
    d.wait_for(output, JobState::Completed, SHORT);
    let written = d.work.join(format!("nodir/{output}/out.txt"));
    assert_eq!(std::fs::read_to_string(written).expect("output"), "hi\n");
}
