//! GPUs against a real daemon: `--gpus` offers made-up GPUs on this
//! machine (it has none), jobs see their own ordinals and none of the
//! submitter's, and cinfo, ccontrol and cqueue show them as Slurm does.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use conductor::protocol::{GpuVendor, JobId, JobState, Reason};

use crate::support::{Output, TestDaemon, bin, run_command, wait_until};

const SHORT: Duration = Duration::from_secs(10);

/// Prints the job's GPU variables, then waits to be cancelled.
const SHOW_GPUS: &str = "env | grep -E \
     '^(CUDA_VISIBLE_DEVICES|ROCR_VISIBLE_DEVICES|GPU_DEVICE_ORDINAL|SLURM_JOB_GPUS|SLURM_STEP_GPUS)=' \
     | sort > gpus.$SLURM_JOB_ID.tmp; mv gpus.$SLURM_JOB_ID.tmp gpus.$SLURM_JOB_ID; sleep 30";

/// The GPU variables a running job printed.
fn gpu_env(d: &TestDaemon, id: JobId) -> BTreeMap<String, String> {
    let path = d.work.join(format!("gpus.{id}"));
    wait_until(SHORT, "the job prints its GPUs", || path.exists());
    let text = std::fs::read_to_string(&path).expect("read the job's GPUs");
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

/// One job's variables when its GPUs have these ordinals.
fn handed(ordinals: &str) -> BTreeMap<String, String> {
    [
        "CUDA_VISIBLE_DEVICES",
        "GPU_DEVICE_ORDINAL",
        "SLURM_JOB_GPUS",
        "SLURM_STEP_GPUS",
    ]
    .into_iter()
    .map(|name| (name.to_string(), ordinals.to_string()))
    .collect()
}

fn cancel(d: &TestDaemon, id: JobId) {
    d.run("ccancel", &[&id.to_string()]).ok();
    d.wait_for(id, JobState::Cancelled, SHORT);
}

#[test]
fn one_gpu_jobs_get_different_gpus_and_a_third_waits_for_one() {
    let d = TestDaemon::start(&["--cpus", "4", "--gpus", "2", "--kill-wait", "1"]);
    let first = d.submit(&["--gpus", "1", "--wrap", SHOW_GPUS]);
    let second = d.submit(&["--gpus", "1", "--wrap", SHOW_GPUS]);
    d.wait_for(first, JobState::Running, SHORT);
    d.wait_for(second, JobState::Running, SHORT);
    let seen_first = gpu_env(&d, first);
    let seen_second = gpu_env(&d, second);
    let mut devices = [
        seen_first["CUDA_VISIBLE_DEVICES"].clone(),
        seen_second["CUDA_VISIBLE_DEVICES"].clone(),
    ];
    devices.sort();
    assert_eq!(devices, ["0".to_string(), "1".to_string()]);
    assert_eq!(seen_first, handed(&seen_first["CUDA_VISIBLE_DEVICES"]));

    // CPUs are free, GPUs are not: the third waits for Resources.
    let third = d.submit(&["--gpus", "1", "--wrap", SHOW_GPUS]);
    wait_until(SHORT, "the third job waits for Resources", || {
        d.job(third).reason == Reason::Resources
    });
    assert_eq!(d.job(third).state, JobState::Pending);

    cancel(&d, first);
    d.wait_for(third, JobState::Running, SHORT);
    assert_eq!(gpu_env(&d, third), seen_first, "the freed GPU");
    cancel(&d, second);
    cancel(&d, third);
}

#[test]
fn listed_ordinals_are_what_jobs_see() {
    let d = TestDaemon::start(&["--cpus", "4", "--gpus", "0,2", "--kill-wait", "1"]);
    let both = d.submit(&["--gpus", "2", "--wrap", SHOW_GPUS]);
    d.wait_for(both, JobState::Running, SHORT);
    assert_eq!(gpu_env(&d, both), handed("0,2"));
    cancel(&d, both);

    let first = d.submit(&["--gpus", "1", "--wrap", SHOW_GPUS]);
    let second = d.submit(&["--gpus", "1", "--wrap", SHOW_GPUS]);
    d.wait_for(first, JobState::Running, SHORT);
    d.wait_for(second, JobState::Running, SHORT);
    assert_eq!(gpu_env(&d, first), handed("0"));
    assert_eq!(gpu_env(&d, second), handed("2"));
    // The API's gpu_ids index the node's list, like Slurm's IDX.
    assert_eq!(d.job(second).gpu_ids, vec![1]);
    cancel(&d, first);
    cancel(&d, second);
}

#[test]
fn a_job_without_gpus_sees_none_of_the_submitters() {
    let d = TestDaemon::start(&["--cpus", "2", "--gpus", "1", "--kill-wait", "1"]);
    let mut cbatch = Command::new(bin("cbatch"));
    cbatch
        .args(["--parsable", "--wrap", SHOW_GPUS])
        .current_dir(&d.work)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1")
        .env("CUDA_VISIBLE_DEVICES", "7")
        .env("ROCR_VISIBLE_DEVICES", "7")
        .env("GPU_DEVICE_ORDINAL", "7")
        .env("SLURM_JOB_GPUS", "7")
        .env("SLURM_STEP_GPUS", "7");
    let out = run_command(cbatch, None);
    let id: JobId = out.ok().trim().parse().expect("an id");
    d.wait_for(id, JobState::Running, SHORT);
    assert_eq!(gpu_env(&d, id), BTreeMap::new());
    cancel(&d, id);
}

#[test]
fn cinfo_ccontrol_and_cqueue_show_the_gres() {
    let d = TestDaemon::start(&["--cpus", "2", "--gpus", "2", "--kill-wait", "1"]);
    assert_eq!(d.run("cinfo", &["-h", "-o", "%G"]).ok(), "gpu:2\n");
    let node = d.run("ccontrol", &["show", "node"]);
    assert!(node.ok().contains("\n   Gres=gpu:2\n"), "{node:?}");
    assert!(node.ok().contains(",gres/gpu=2\n"), "CfgTRES: {node:?}");
    let config = d.run("ccontrol", &["show", "config"]);
    assert!(
        config.ok().contains("\nGresTypes               = gpu\n"),
        "{config:?}"
    );
    assert!(
        config
            .ok()
            .contains("\nConductorGpus           = 0 (configured), 1 (configured)\n"),
        "{config:?}"
    );
    assert!(
        d.log()
            .contains(" 2 GPUs gpu:2 [0 (configured), 1 (configured)]"),
        "{}",
        d.log()
    );

    let info = d.client().node().expect("node");
    assert_eq!(info.gres.as_deref(), Some("gpu:2"));
    assert_eq!(info.gpu_devices.len(), 2);
    assert_eq!(info.gpu_devices[1].ordinal, 1);
    assert_eq!(info.gpu_devices[1].vendor, GpuVendor::Unknown);
    let (status, body) =
        d.raw_http("GET /v1/node HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200);
    assert!(body.contains(r#""gres":"gpu:2""#), "{body}");

    let gpu_job = d.submit(&["--gpus", "1", "--wrap", "sleep 30"]);
    let plain = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(gpu_job, JobState::Running, SHORT);
    let tres = |id: JobId| d.run("cqueue", &["-h", "-o", "%b", "-j", &id.to_string()]);
    assert_eq!(tres(gpu_job).ok(), "gres/gpu:1\n");
    assert_eq!(tres(plain).ok(), "N/A\n");
    cancel(&d, gpu_job);
    cancel(&d, plain);
}

#[test]
fn a_node_without_gpus_shows_null() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    assert_eq!(d.run("cinfo", &["-h", "-o", "%G"]).ok(), "(null)\n");
    let node = d.run("ccontrol", &["show", "node"]);
    assert!(node.ok().contains("\n   Gres=(null)\n"), "{node:?}");
    let config = d.run("ccontrol", &["show", "config"]);
    assert!(
        config.ok().contains("\nGresTypes               = (null)\n"),
        "{config:?}"
    );
    let info = d.client().node().expect("node");
    assert_eq!((info.gres, info.gpus_total), (None, 0));
}

/// `conductord ARGS` on a fresh state directory, expected to refuse.
fn refused(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut conductord = Command::new(bin("conductord"));
    conductord
        .arg("--socket")
        .arg(dir.path().join("sock"))
        .arg("--state-dir")
        .arg(dir.path().join("state"))
        .args(args);
    run_command(conductord, None)
}

#[test]
fn bad_gpus_values_are_refused_with_one_line() {
    let expected = "expected a count (2) or GPU ordinals (0,2 or 0-3)";
    for (arg, line) in [
        (
            "--gpus=two",
            format!("conductord: error: invalid value 'two' for '--gpus <N|IDS>': {expected}"),
        ),
        (
            "--gpus=-1",
            format!("conductord: error: invalid value '-1' for '--gpus <N|IDS>': {expected}"),
        ),
        (
            "--gpus=0,,1",
            format!("conductord: error: invalid value '0,,1' for '--gpus <N|IDS>': {expected}"),
        ),
        (
            "--gpus=0,0",
            "conductord: error: invalid value '0,0' for '--gpus <N|IDS>': GPU 0 is named twice".into(),
        ),
        (
            "--gpus=3-1",
            "conductord: error: invalid value '3-1' for '--gpus <N|IDS>': the range 3-1 runs backwards".into(),
        ),
        (
            "--gpus=100000",
            "conductord: error: invalid value '100000' for '--gpus <N|IDS>': at most 4096 GPUs".into(),
        ),
    ] {
        let out = refused(&[arg]);
        assert_eq!(out.fails_with_one_line(), line, "{arg}");
    }
}
