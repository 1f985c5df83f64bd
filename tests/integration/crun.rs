//! crun: steps inside a job (as many tasks as srun runs, their variables,
//! labels, srun's lines for how they ended, its exit status, `-K`, `-W`,
//! its refusals), and a new job whose step is streamed.

use std::time::{Duration, Instant};

use conductor::protocol::{JobId, JobState};

use crate::support::{Output, TestDaemon, bin};

const SHORT: Duration = Duration::from_secs(20);

/// The daemon's node name, as srun's lines name it.
fn node(d: &TestDaemon) -> String {
    d.run("cinfo", &["-h", "-o", "%N"]).ok().trim().to_string()
}

/// Runs `script` as a `-n 2` job, its stdout and stderr apart; returns
/// the job's id, its stdout and its stderr.
fn two_task_job(d: &TestDaemon, script: &str) -> (JobId, String, String) {
    let script = script.replace("crun ", &format!("{} ", bin("crun").display()));
    let id = d.submit(&[
        "-n", "2", "-o", "out.txt", "-e", "err.txt", "--wrap", &script,
    ]);
    d.wait_ended(id, SHORT);
    let read = |name: &str| std::fs::read_to_string(d.work.join(name)).unwrap_or_default();
    (id, read("out.txt"), read("err.txt"))
}

fn sorted(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

#[test]
fn inside_a_job_crun_runs_ntasks_copies_as_a_step() {
    let d = TestDaemon::start(&["--cpus", "3"]);
    let crun = bin("crun");
    let script = format!(
        "{crun} --unbuffered -n 3 -o 'step-%j_%s_%t.out' sh -c 'echo rank $SLURM_PROCID of $SLURM_NTASKS step $SLURM_STEP_ID'\n\
         {crun} -n 1 sh -c 'echo second step $SLURM_STEP_ID local $SLURM_LOCALID'\n\
         {crun} -n 1 sh -c 'exit 4' 2>/dev/null; echo \"step exit $?\"\n",
        crun = crun.display()
    );
    let id = d.submit(&["-n", "3", "--wrap", &script]);
    let job = d.wait_for(id, JobState::Completed, Duration::from_secs(10));
    for rank in 0..3 {
        let text = std::fs::read_to_string(d.work.join(format!("step-{id}_0_{rank}.out")))
            .expect("task output");
        assert_eq!(text, format!("rank {rank} of 3 step 0\n"));
    }
    let out = std::fs::read_to_string(&job.stdout).expect("job output");
    assert_eq!(out, "second step 1 local 0\nstep exit 4\n");
}

#[test]
fn a_plain_step_runs_one_task_per_task_of_the_job_each_told_who_it_is() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let (id, out, err) = two_task_job(
        &d,
        "crun sh -c 'echo $SLURM_PROCID $SLURM_LOCALID $SLURM_NTASKS $SLURM_NPROCS \
         $SLURM_STEP_NUM_TASKS $SLURM_TASKS_PER_NODE $SLURM_STEP_ID $SLURM_GTIDS' | sort\n\
         crun -n 1 sh -c 'echo $SLURM_PROCID $SLURM_NTASKS $SLURM_STEP_NUM_TASKS $SLURM_STEP_ID'\n",
    );
    assert_eq!(err, "");
    assert_eq!(out, "0 0 2 2 2 2 0 0,1\n1 1 2 2 2 2 0 0,1\n0 1 1 1\n");
    // One accounting line per step, with all its tasks.
    let steps = d.run(
        "cacct",
        &[
            "-j",
            &id.to_string(),
            "-P",
            "-n",
            "-o",
            "JobID,NTasks,State",
        ],
    );
    assert_eq!(
        steps.ok(),
        format!(
            "{id}||COMPLETED\n{id}.batch|1|COMPLETED\n{id}.0|2|COMPLETED\n{id}.1|1|COMPLETED\n"
        )
    );
}

#[test]
fn label_puts_each_tasks_number_before_its_lines_and_its_errors() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    // Parsl's SrunLauncher: `srun --ntasks 1 -l bash cmd.sh`.
    let (_, out, err) = two_task_job(
        &d,
        "crun --ntasks 1 -l sh -c 'echo one; echo two; printf last'\n\
         crun --label sh -c 'echo err $SLURM_PROCID >&2'\n",
    );
    assert_eq!(out, "0: one\n0: two\n0: last\n");
    assert_eq!(sorted(&err), ["0: err 0", "1: err 1"]);
}

#[test]
fn failing_tasks_get_sruns_lines_and_crun_exits_as_srun_does() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let (id, out, err) = two_task_job(
        &d,
        "crun false; echo \"rc=$?\"\n\
         crun sh -c 'exit $((SLURM_PROCID + 3))'; echo \"rc=$?\"\n\
         crun sh -c 'kill -TERM $$'; echo \"rc=$?\"\n\
         crun sh -c '[ $SLURM_PROCID = 1 ] && kill -KILL $$; exit 7'; echo \"rc=$?\"\n\
         crun -n 1 no-such-command; echo \"rc=$?\"\n",
    );
    let node = node(&d);
    assert_eq!(out, "rc=1\nrc=4\nrc=143\nrc=137\nrc=2\n");
    let err: Vec<&str> = err.lines().collect();
    // Tasks that end alike share a line; one apart from the other may
    // end first, so only the line of each is certain, not their order.
    assert_eq!(
        err[0],
        format!("crun: error: {node}: tasks 0-1: Exited with exit code 1")
    );
    assert_eq!(
        sorted(&err[1..3].join("\n")),
        [
            format!("crun: error: {node}: task 0: Exited with exit code 3"),
            format!("crun: error: {node}: task 1: Exited with exit code 4"),
        ]
    );
    assert_eq!(
        err[3..5],
        [
            format!("crun: error: {node}: tasks 0-1: Terminated"),
            format!("crun: Force Terminated StepId={id}.2"),
        ]
    );
    assert_eq!(
        sorted(&err[5..7].join("\n")),
        [
            format!("crun: error: {node}: task 0: Exited with exit code 7"),
            format!("crun: error: {node}: task 1: Killed"),
        ]
    );
    assert_eq!(
        err[7..],
        [
            format!("crun: Force Terminated StepId={id}.3"),
            format!(
                "slurmstepd-{node}: error: execve(): no-such-command: No such file or directory"
            ),
            format!("crun: error: {node}: task 0: Exited with exit code 2"),
        ]
    );
    // A step a signal ended is CANCELLED in accounting, as Slurm keeps it.
    let steps = d.run(
        "cacct",
        &[
            "-j",
            &format!("{id}.2,{id}.3"),
            "-P",
            "-n",
            "-o",
            "JobID,State,ExitCode",
        ],
    );
    assert_eq!(
        steps.ok(),
        format!("{id}.2|CANCELLED|0:15\n{id}.3|CANCELLED|0:9\n")
    );
}

#[test]
fn kill_on_bad_exit_ends_the_step_and_wait_ends_it_after_the_first_task() {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1"]);
    let started = Instant::now();
    let (id, out, err) = two_task_job(
        &d,
        "crun -K sh -c '[ $SLURM_PROCID = 1 ] && exit 3; exec sleep 30'; echo \"rc=$?\"\n\
         crun -W 1 sh -c '[ $SLURM_PROCID = 1 ] && exit 0; exec sleep 30'; echo \"rc=$?\"\n",
    );
    assert!(started.elapsed() < Duration::from_secs(15), "{err}");
    assert_eq!(out, "rc=143\nrc=137\n");
    let node = node(&d);
    // slurmstepd's line carries the time; the rest is srun's, word for word.
    let err: Vec<String> = err
        .lines()
        .map(|line| match line.split_once(" CANCELLED AT ") {
            Some((head, _)) => format!("{head} CANCELLED AT T ***"),
            None => line.to_string(),
        })
        .collect();
    assert_eq!(
        err,
        [
            format!("crun: error: {node}: task 1: Exited with exit code 3"),
            format!("crun: launch/slurm: _step_signal: Terminating StepId={id}.0"),
            format!("slurmstepd-{node}: error: *** STEP {id}.0 ON {node} CANCELLED AT T ***"),
            format!("crun: error: {node}: task 0: Terminated"),
            format!("crun: Force Terminated StepId={id}.0"),
            "crun: First task exited 1s ago".to_string(),
            format!("crun: StepId={id}.1 task 0: running"),
            format!("crun: StepId={id}.1 task 1: exited"),
            format!("crun: launch/slurm: _step_signal: Terminating StepId={id}.1"),
            format!("slurmstepd-{node}: error: *** STEP {id}.1 ON {node} CANCELLED AT T ***"),
            "crun: Job step aborted: Waiting up to 3 seconds for job step to finish.".to_string(),
            format!("crun: error: {node}: task 0: Killed"),
        ]
    );
}

#[test]
fn a_step_larger_than_the_job_is_refused_in_sruns_words() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let (id, out, err) = two_task_job(
        &d,
        "crun -n 3 true; echo \"rc=$?\"\n\
         crun -c 2 true; echo \"rc=$?\"\n\
         crun -N 2 true; echo \"rc=$?\"\n\
         crun -n 1 -c 2 sh -c 'echo $SLURM_NTASKS $SLURM_CPUS_PER_TASK'; echo \"rc=$?\"\n\
         crun -N 1 --ntasks-per-node=1 sh -c 'echo $SLURM_PROCID' | sort; echo \"rc=$?\"\n",
    );
    assert_eq!(out, "rc=1\nrc=1\nrc=1\n1 2\nrc=0\n0\n1\nrc=0\n");
    let refusal = format!(
        "crun: error: Unable to create step for job {id}: More processors requested than permitted"
    );
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        [
            refusal.as_str(),
            refusal.as_str(),
            "crun: error: Only allocated 1 nodes asked for 2",
            "crun: Warning: can't honor --ntasks-per-node set to 1 which doesn't match the \
             requested tasks 2 with the number of requested nodes 1. Ignoring --ntasks-per-node.",
        ]
    );
    // Refused steps take no step id: the two that ran are 0 and 1.
    let steps = d.run(
        "cacct",
        &["-j", &id.to_string(), "-P", "-n", "-o", "JobID,NTasks"],
    );
    assert_eq!(
        steps.ok(),
        format!("{id}|\n{id}.batch|1\n{id}.0|1\n{id}.1|2\n")
    );
}

#[test]
fn outside_a_job_crun_submits_and_streams_the_output() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let node = node(&d);
    let out = d.run(
        "crun",
        &["-J", "live", "sh", "-c", "echo out; echo err >&2; exit 3"],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, "out\n");
    assert_eq!(
        out.stderr,
        format!("err\ncrun: error: {node}: task 0: Exited with exit code 3\n")
    );
    let jobs = d.run("cqueue", &["-h", "-t", "all", "-o", "%j %T"]);
    assert_eq!(jobs.ok(), "live FAILED\n");
    let out = d.run("crun", &["echo", "quoted 'words' stay"]);
    assert_eq!(out.stdout, "quoted 'words' stay\n");
}

#[test]
fn outside_a_job_crun_runs_ntasks_tasks_as_the_jobs_step_0() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let node = node(&d);
    let out = d.run("crun", &["-n", "2", "-l", "echo", "hi"]);
    assert_eq!((out.code, out.stderr.as_str()), (0, ""), "{out:?}");
    assert_eq!(sorted(&out.stdout), ["0: hi", "1: hi"]);
    let out = d.run(
        "crun",
        &[
            "-n",
            "2",
            "sh",
            "-c",
            "echo $SLURM_PROCID $SLURM_NTASKS $SLURM_STEP_ID",
        ],
    );
    assert_eq!(sorted(&out.stdout), ["0 2 0", "1 2 0"], "{out:?}");
    let out: Output = d.run("crun", &["-n", "2", "false"]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        format!("crun: error: {node}: tasks 0-1: Exited with exit code 1\n")
    );
    let steps = d.run("cacct", &["-P", "-n", "-o", "JobName,NTasks,State"]);
    assert!(steps.ok().ends_with("false|2|FAILED\n"), "{steps:?}");
    // What srun refuses before anything runs, in srun's words.
    let out = d.run("crun", &["-n", "0", "true"]);
    assert_eq!(
        out.fails_with_one_line(),
        "crun: error: Invalid numeric value \"0\" for --ntasks."
    );
    // More tasks than the node has CPUs pend for ever, as in Slurm
    // (PartitionConfig); a daemon with EnforcePartLimits refuses them.
    let strict = TestDaemon::start(&["--cpus", "2", "--enforce-part-limits"]);
    let out = strict.run("crun", &["-n", "3", "true"]);
    assert_eq!(
        out.fails_with_one_line(),
        "crun: error: Unable to allocate resources: Requested partition configuration not available now"
    );
}
