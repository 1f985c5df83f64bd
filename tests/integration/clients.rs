//! Real workflow tools' invocations, through links named like Slurm's
//! commands, with each tool's own parsing applied to our real output
//! (slurm-compat.md section 9).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use conductor::protocol::{JobId, JobState};

use crate::support::{Output, TestDaemon, run_command, wait_until};

const SHORT: Duration = Duration::from_secs(10);

/// Runs a Slurm-named tool with the links first on PATH.
fn slurm(d: &TestDaemon, cwd: &Path, tool: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let links = d.slurm_links();
    let path = format!(
        "{}:{}",
        links.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new(links.join(tool));
    command
        .args(args)
        .current_dir(cwd)
        .env("PATH", path)
        .env("CONDUCTOR_SERVER", &d.server);
    run_command(command, stdin)
}

/// Runs a shell command line (as Snakemake does) with the links on PATH.
fn shell(d: &TestDaemon, cwd: &Path, line: &str) -> Output {
    let links = d.slurm_links();
    let path = format!(
        "{}:{}",
        links.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", line])
        .current_dir(cwd)
        .env("PATH", path)
        .env("CONDUCTOR_SERVER", &d.server);
    run_command(command, None)
}

/// The first run of digits in the text, as dask-jobqueue's `(?P<job_id>\d+)`.
fn first_number(text: &str) -> Option<u64> {
    let start = text.find(|c: char| c.is_ascii_digit())?;
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// submitit's `job (?P<id>[0-9]+)`.
fn submitit_id(stdout: &str) -> Option<u64> {
    let at = stdout.find("job ")?;
    first_number(&stdout[at + 4..]).filter(|_| {
        stdout[at + 4..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// Nextflow: the line `Submitted batch job (\d+)`, else the whole output.
fn nextflow_id(stdout: &str) -> Option<u64> {
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("Submitted batch job "))
        .and_then(|rest| rest.trim().parse().ok())
        .or_else(|| stdout.trim().parse().ok())
}

#[test]
fn submitit_submits_with_its_script_and_runs_srun_inside() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let folder = d.work.join("logs/%j");
    let script = format!(
        "#!/bin/bash\n\n\
         # Parameters\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --error={folder}/%j_0_log.err\n\
         #SBATCH --job-name=submitit\n\
         #SBATCH --nodes=1\n\
         #SBATCH --ntasks-per-node=1\n\
         #SBATCH --open-mode=append\n\
         #SBATCH --output={folder}/%j_0_log.out\n\
         #SBATCH --partition=normal\n\
         #SBATCH --signal=USR2@90\n\
         #SBATCH --time=5\n\
         #SBATCH --wckey=submitit\n\n\
         # command\n\
         export SUBMITIT_EXECUTOR=slurm\n\
         srun --unbuffered --output {folder}/%j_%t_log.out --error {folder}/%j_%t_log.err \
         sh -c 'echo task $SLURM_PROCID of $SLURM_NTASKS job $SLURM_JOB_ID nodes $SLURM_JOB_NODELIST'\n",
        folder = folder.display()
    );
    let file = d.work.join(".submission_file_1234.sh");
    std::fs::write(&file, script).expect("script");
    let out = slurm(
        &d,
        &d.work,
        "sbatch",
        &[file.to_str().expect("utf-8")],
        None,
    );
    let id = submitit_id(out.ok()).expect("submitit finds the id");
    let job = d.wait_for(JobId(id), JobState::Completed, SHORT);
    assert_eq!(job.name, "submitit");
    let task_log = d.work.join(format!("logs/{id}/{id}_0_log.out"));
    let text = std::fs::read_to_string(&task_log).expect("srun task log");
    assert_eq!(
        text,
        format!(
            "task 0 of 1 job {id} nodes {}\n",
            conductor::paths::hostname()
        )
    );
    let cancel = slurm(&d, &d.work, "scancel", &[&id.to_string()], None);
    assert_eq!(
        cancel.code, 0,
        "scancel of a finished job is silent: {cancel:?}"
    );
}

#[test]
fn dask_jobqueue_submits_a_temp_script_that_is_deleted_at_once() {
    let d = TestDaemon::start(&["--cpus", "2", "--mem", "4G", "--kill-wait", "1"]);
    let logs = d.work.join("dask-logs");
    let script = format!(
        "#!/usr/bin/env bash\n\n\
         #SBATCH -J dask-worker\n\
         #SBATCH -e {logs}/dask-worker-%J.err\n\
         #SBATCH -o {logs}/dask-worker-%J.out\n\
         #SBATCH -p normal\n\
         #SBATCH -A myaccount\n\
         #SBATCH -n 1\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --mem=954M\n\
         #SBATCH -t 00:30:00\n\n\
         echo worker up; sleep 30\n",
        logs = logs.display()
    );
    let file = d.work.join("tmpdask.sh");
    std::fs::write(&file, script).expect("script");
    let out = slurm(
        &d,
        &d.work,
        "sbatch",
        &[file.to_str().expect("utf-8")],
        None,
    );
    std::fs::remove_file(&file).expect("dask deletes the script right away");
    let id = first_number(out.ok()).expect("dask finds the first number");
    let job = d.wait_for(JobId(id), JobState::Running, SHORT);
    assert_eq!((job.cpus, job.memory_mb), (1, 954));
    wait_until(SHORT, "the worker logs", || {
        std::fs::read_to_string(logs.join(format!("dask-worker-{id}.out")))
            .is_ok_and(|t| t == "worker up\n")
    });
    let cancel = slurm(&d, &d.work, "scancel", &[&id.to_string()], None);
    assert_eq!(cancel.code, 0);
    d.wait_for(JobId(id), JobState::Cancelled, SHORT);
}

#[test]
fn snakemake_submits_through_the_shell_and_reads_the_parsable_id() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let line = format!(
        "sbatch --parsable --job-name 3f2a-uuid --output '{logs}/%j.log' --export=ALL \
         --comment 'rule_all' -A acct -p normal --clusters cl -t 10 -C feature --qos=normal \
         --mem-per-cpu 100 --nodes=1 --requeue --ntasks=1 --cpus-per-task=1 \
         -D '{work}' --wrap=\"echo snakemake job step\"",
        logs = d.work.join("slurm_logs/rule_all").display(),
        work = d.work.display()
    );
    let out = shell(&d, &d.work, &line);
    let id = out.ok().trim().split(';').next().expect("an id");
    assert!(
        id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty(),
        "{id}"
    );
    let job = d.wait_for(id.parse().expect("id"), JobState::Completed, SHORT);
    assert_eq!(job.comment.as_deref(), Some("rule_all"));
    let log = d.work.join(format!("slurm_logs/rule_all/{id}.log"));
    assert_eq!(
        std::fs::read_to_string(log).expect("log"),
        "snakemake job step\n"
    );

    // The squeue status mode: `%i|%T`, all states, by name.
    let status = shell(
        &d,
        &d.work,
        "squeue --format='%i|%T' --states=all --noheader --name 3f2a-uuid",
    );
    let rows: Vec<(String, String)> = status
        .ok()
        .lines()
        .map(|l| {
            let (id, state) = l.split_once('|').expect("two columns");
            (id.to_string(), state.to_string())
        })
        .collect();
    assert_eq!(rows, vec![(id.to_string(), "COMPLETED".to_string())]);

    // The script on stdin through /dev/stdin.
    let piped = slurm(
        &d,
        &d.work,
        "sbatch",
        &["--parsable", "--job-name", "piped", "/dev/stdin"],
        Some("#!/bin/sh\necho from stdin\n"),
    );
    let id: u64 = piped.ok().trim().parse().expect("bare id");
    d.wait_for(JobId(id), JobState::Completed, SHORT);
}

#[test]
fn nextflow_submits_its_command_run_and_polls_two_columns() {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1"]);
    let task = d.work.join("work/ab/cdef");
    std::fs::create_dir_all(&task).expect("task dir");
    let script = format!(
        "#!/bin/bash\n\
         #SBATCH -J nf-hello_1\n\
         #SBATCH -o {task}/.command.log\n\
         #SBATCH --no-requeue\n\
         #SBATCH --signal B:USR2@30\n\
         #SBATCH -c 2\n\
         #SBATCH -t 01:00:00\n\
         #SBATCH --mem 1024M\n\
         #SBATCH -p normal\n\
         echo nextflow task; echo 0 > .exitcode\n",
        task = task.display()
    );
    std::fs::write(task.join(".command.run"), script).expect("script");
    let out = slurm(&d, &task, "sbatch", &[".command.run"], None);
    let id = nextflow_id(out.ok()).expect("Nextflow finds the id");
    let job = d.wait_for(JobId(id), JobState::Completed, SHORT);
    assert_eq!(
        (job.cpus, job.memory_mb, job.time_limit),
        (2, 1024, Some(3600))
    );
    assert_eq!(
        std::fs::read_to_string(task.join(".exitcode")).expect("exit code file"),
        "0\n"
    );

    let running = slurm(&d, &task, "sbatch", &["--wrap", "sleep 30"], None);
    let running_id = nextflow_id(running.ok()).expect("id");
    d.wait_for(JobId(running_id), JobState::Running, SHORT);
    let user = conductor::users::user_name(conductor::users::current_uid());
    let poll = slurm(
        &d,
        &task,
        "squeue",
        &["--noheader", "-o", "%i %t", "-t", "all", "-u", &user],
        None,
    );
    let states: Vec<(u64, String)> = poll
        .ok()
        .lines()
        .map(|line| {
            let columns: Vec<&str> = line.split_whitespace().collect();
            assert_eq!(columns.len(), 2, "exactly two columns: {line:?}");
            (
                columns[0].parse().expect("numeric id"),
                columns[1].to_string(),
            )
        })
        .collect();
    assert!(states.contains(&(id, "CD".to_string())), "{states:?}");
    assert!(
        states.contains(&(running_id, "R".to_string())),
        "{states:?}"
    );
    let kill = slurm(&d, &task, "scancel", &[&running_id.to_string()], None);
    assert_eq!(kill.code, 0);
    d.wait_for(JobId(running_id), JobState::Cancelled, SHORT);
}

#[test]
fn errors_through_links_carry_slurm_s_program_names() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let out = slurm(
        &d,
        &d.work,
        "sbatch",
        &["-t", "soon", "--wrap", "true"],
        None,
    );
    assert_eq!(
        out.fails_with_one_line(),
        "sbatch: error: Invalid --time specification"
    );
    let out = slurm(&d, &d.work, "sbatch", &["--wrap", "true"], None);
    assert!(out.ok().starts_with("Submitted batch job "));
}

#[test]
fn submitit_polls_sacct_and_parses_its_header() {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1"]);
    let done = slurm(&d, &d.work, "sbatch", &["--wrap", "true"], None);
    let done = submitit_id(done.ok()).expect("id");
    let running = slurm(&d, &d.work, "sbatch", &["--wrap", "sleep 30"], None);
    let running = submitit_id(running.ok()).expect("id");
    d.wait_for(JobId(done), JobState::Completed, SHORT);
    d.wait_for(JobId(running), JobState::Running, SHORT);
    let out = slurm(
        &d,
        &d.work,
        "sacct",
        &[
            "-o",
            "JobID,State,NodeList",
            "--parsable2",
            "-j",
            &done.to_string(),
            "-j",
            &running.to_string(),
        ],
        None,
    );
    let text = out.ok();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('|').collect();
    assert_eq!(header, vec!["JobID", "State", "NodeList"]);
    let rows: Vec<Vec<&str>> = lines
        .map(|l| l.split('|').collect::<Vec<_>>())
        .filter(|row| !row[0].contains('.'))
        .collect();
    let host = conductor::paths::hostname();
    assert_eq!(
        rows,
        vec![
            vec![done.to_string().as_str(), "COMPLETED", host.as_str()],
            vec![running.to_string().as_str(), "RUNNING", host.as_str()],
        ]
    );
    slurm(&d, &d.work, "scancel", &[&running.to_string()], None).ok();
    d.wait_for(JobId(running), JobState::Cancelled, SHORT);
    let out = slurm(
        &d,
        &d.work,
        "sacct",
        &[
            "-o",
            "JobID,State",
            "-P",
            "-n",
            "-X",
            "-j",
            &running.to_string(),
        ],
        None,
    );
    let uid = conductor::users::current_uid();
    assert_eq!(out.ok(), format!("{running}|CANCELLED by {uid}\n"));
}

#[test]
fn snakemake_finds_the_partition_the_config_and_the_status() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let out = slurm(&d, &d.work, "sinfo", &["-o", "%P"], None);
    let default: Vec<&str> = out
        .ok()
        .split_whitespace()
        .filter(|t| t.contains('*'))
        .collect();
    assert_eq!(default, vec!["normal*"]);

    let config = slurm(&d, &d.work, "scontrol", &["show", "config"], None);
    let text = config.ok();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|rest| rest.trim_start().trim_start_matches('=').trim().to_string())
    };
    let min_age = value("MinJobAge").expect("MinJobAge");
    let digits: String = min_age.chars().take_while(char::is_ascii_digit).collect();
    assert!(!digits.is_empty(), "{min_age}");
    assert_eq!(value("MaxArraySize").as_deref(), Some("1001"));

    let partition = slurm(&d, &d.work, "scontrol", &["show", "partition"], None);
    let pairs: Vec<(&str, &str)> = partition
        .ok()
        .split_whitespace()
        .filter_map(|token| token.split_once('='))
        .collect();
    assert!(pairs.contains(&("PartitionName", "normal")), "{pairs:?}");
    assert!(pairs.contains(&("Default", "YES")), "{pairs:?}");

    let line = format!(
        "sbatch --parsable --job-name run-uuid-1 --output '{}/%j.log' --export=ALL --wrap='exit 2'",
        d.work.display()
    );
    let id: u64 = shell(&d, &d.work, &line).ok().trim().parse().expect("id");
    d.wait_for(JobId(id), JobState::Failed, SHORT);
    let start = (chrono::Local::now() - chrono::Duration::days(2))
        .format("%Y-%m-%dT%H:00")
        .to_string();
    let status = slurm(
        &d,
        &d.work,
        "sacct",
        &[
            "-X",
            "--parsable2",
            "--clusters",
            "all",
            "--noheader",
            "--format=JobIdRaw,State",
            "--starttime",
            &start,
            "--endtime",
            "now",
            "--name",
            "run-uuid-1",
        ],
        None,
    );
    assert_eq!(status.ok(), format!("{id}|FAILED\n"));
}
