//! Jobs for the unit tests of every part of the squeue renderer.

use chrono::{DateTime, Utc};

use super::{Format, Row};
use crate::protocol::{ExitCode, JobId, JobInfo, JobState, Reason};

pub(super) fn job() -> JobInfo {
    JobInfo {
        job_id: JobId(1234),
        name: "averyverylongname".into(),
        user: "alice".into(),
        uid: 1000,
        partition: "normal".into(),
        state: JobState::Running,
        reason: Reason::None,
        cpus: 2,
        ntasks: 1,
        cpus_per_task: 2,
        memory_mb: 4096,
        gpus: 0,
        cpu_ids: vec![0, 1],
        gpu_ids: vec![],
        node: Some("box".into()),
        submit_time: DateTime::from_timestamp(1_000, 0).expect("valid"),
        start_time: DateTime::from_timestamp(1_000, 0),
        end_time: None,
        time_limit: Some(3600),
        exit_code: None,
        work_dir: "/tmp".into(),
        stdout: "/tmp/slurm-1234.out".into(),
        stderr: "/tmp/slurm-1234.err".into(),
        stdin: "/dev/null".into(),
        gid: 1000,
        submit_dir: "/tmp".into(),
        command: None,
        array_job_id: None,
        array_task_id: None,
        array_max_running: None,
        dependency: None,
        begin_time: None,
        priority: 0,
        nice: 0,
        restarts: 0,
        cancelled_by: None,
        exclusive: false,
        memory_per_cpu_mb: None,
        max_rss_kb: None,
        total_cpu_usec: None,
        user_cpu_usec: None,
        system_cpu_usec: None,
        steps: Vec::new(),
        comment: None,
        account: None,
        qos: None,
        wckey: None,
        expected_start: None,
    }
}

pub(super) fn pending(id: u64) -> JobInfo {
    JobInfo {
        job_id: JobId(id),
        state: JobState::Pending,
        reason: Reason::Priority,
        node: None,
        start_time: None,
        ..job()
    }
}

pub(super) fn task(id: u64, array: u64, index: u32) -> JobInfo {
    JobInfo {
        array_job_id: Some(JobId(array)),
        array_task_id: Some(index),
        ..pending(id)
    }
}

pub(super) fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_005, 0).expect("valid")
}

pub(super) fn render(format: &str, job: &JobInfo) -> String {
    Format::parse(format).0.row(&Row::single(job), now())
}

pub(super) fn header(format: &str) -> String {
    Format::parse(format).0.header()
}

/// A job that ran from 1000 to 1065 and ended in `state`.
pub(super) fn ended(state: JobState, reason: Reason) -> JobInfo {
    JobInfo {
        state,
        reason,
        end_time: DateTime::from_timestamp(1_065, 0),
        exit_code: Some(ExitCode::default()),
        ..job()
    }
}

/// Jobs that differ in every field some column or sort key reads.
pub(super) fn varied_jobs() -> Vec<JobInfo> {
    let full = JobInfo {
        job_id: JobId(77),
        gpus: 1,
        gpu_ids: vec![0],
        cpus: 4,
        memory_mb: 1024,
        memory_per_cpu_mb: Some(256),
        end_time: DateTime::from_timestamp(1_003, 0),
        state: JobState::Failed,
        reason: Reason::NonZeroExitCode,
        exit_code: Some(ExitCode { code: 3, signal: 0 }),
        command: Some("/bin/run.sh".into()),
        dependency: Some("afterok:1(unfulfilled)".into()),
        begin_time: DateTime::from_timestamp(900, 0),
        priority: 12,
        nice: 5,
        restarts: 2,
        cancelled_by: Some(0),
        exclusive: true,
        max_rss_kb: Some(10),
        comment: Some("c".into()),
        account: Some("acct".into()),
        qos: Some("high".into()),
        wckey: Some("w".into()),
        gid: 0,
        uid: 0,
        user: "root".into(),
        partition: "other".into(),
        ..job()
    };
    let mut throttled = task(50, 48, 3);
    throttled.array_max_running = Some(2);
    vec![
        job(),
        pending(5),
        full,
        task(48, 48, 1),
        task(49, 48, 2),
        throttled,
        task(60, 60, 0),
        ended(JobState::OutOfMemory, Reason::OutOfMemory),
        ended(JobState::NodeFail, Reason::NodeFail),
    ]
}
