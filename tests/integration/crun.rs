//! crun: steps inside a job, and a new job with its output streamed.

use std::time::Duration;

use conductor::protocol::JobState;

use crate::support::{TestDaemon, bin};

#[test]
fn inside_a_job_crun_runs_ntasks_copies_as_a_step() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let crun = bin("crun");
    let script = format!(
        "{crun} --unbuffered -n 3 -o 'step-%j_%s_%t.out' sh -c 'echo rank $SLURM_PROCID of $SLURM_NTASKS step $SLURM_STEP_ID'\n\
         {crun} -n 1 sh -c 'echo second step $SLURM_STEP_ID local $SLURM_LOCALID'\n\
         {crun} sh -c 'exit 4'; echo \"step exit $?\"\n",
        crun = crun.display()
    );
    let id = d.submit(&["--wrap", &script]);
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
fn label_puts_each_tasks_number_before_its_lines_as_parsls_srun_launcher_asks() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let crun = bin("crun");
    // Parsl's SrunLauncher: `srun --ntasks 1 -l bash cmd.sh`.
    let script = format!(
        "{crun} --ntasks 1 -l sh -c 'echo one; echo two; printf last'\n\
         {crun} -n 2 --label sh -c 'echo err $SLURM_PROCID >&2' 2> err.txt\n",
        crun = crun.display()
    );
    let id = d.submit(&["--wrap", &script]);
    let job = d.wait_for(id, JobState::Completed, Duration::from_secs(10));
    let out = std::fs::read_to_string(&job.stdout).expect("job output");
    assert_eq!(out, "0: one\n0: two\n0: last\n");
    let err = std::fs::read_to_string(d.work.join("err.txt")).expect("stderr");
    let mut lines: Vec<&str> = err.lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["0: err 0", "1: err 1"]);
}

#[test]
fn outside_a_job_crun_submits_and_streams_the_output() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let out = d.run(
        "crun",
        &["-J", "live", "sh", "-c", "echo out; echo err >&2; exit 3"],
    );
    assert_eq!(out.code, 3, "{out:?}");
    assert_eq!(out.stdout, "out\n");
    assert_eq!(out.stderr, "err\n");
    let jobs = d.run("cqueue", &["-h", "-t", "all", "-o", "%j %T"]);
    assert_eq!(jobs.ok(), "live FAILED\n");
    let out = d.run("crun", &["echo", "quoted 'words' stay"]);
    assert_eq!(out.stdout, "quoted 'words' stay\n");
}
