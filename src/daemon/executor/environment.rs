//! The environment a job's script sees: what cbatch captured at submit, then
//! the Slurm variables (and the same under `CONDUCTOR_*`).

use std::collections::BTreeMap;

use crate::daemon::gpus::{self, Gpu, GpuVendor};
use crate::daemon::job::Job;
use crate::daemon::tracker::Allocation;

/// The variables that hand GPUs to a job, as Slurm's GPU plugins set them.
/// The submitter's values never reach the job: they name the submitter's
/// GPUs (or, in a job, that job's), not this job's.
const GPU_VARIABLES: [&str; 9] = [
    "CUDA_VISIBLE_DEVICES",
    "ROCR_VISIBLE_DEVICES",
    "GPU_DEVICE_ORDINAL",
    "SLURM_JOB_GPUS",
    "SLURM_STEP_GPUS",
    "SLURM_GPUS_ON_NODE",
    "CONDUCTOR_JOB_GPUS",
    "CONDUCTOR_STEP_GPUS",
    "CONDUCTOR_GPUS_ON_NODE",
];

/// Builds the job's environment over the submitter's; `node_gpus` is the
/// daemon's GPU list, which the allocation's GPU ids index.
pub fn job_environment(
    job: &Job,
    allocation: &Allocation,
    node: &str,
    node_gpus: &[Gpu],
    captured: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let spec = &job.spec;
    let id = job.id.to_string();
    let job_gpus = gpus::allocated(node_gpus, &allocation.gpu_ids);
    let ordinals = |keep: &dyn Fn(&Gpu) -> bool| {
        job_gpus
            .iter()
            .filter(|gpu| keep(gpu))
            .map(|gpu| gpu.ordinal.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let all_ordinals = ordinals(&|_| true);
    let mut vars: Vec<(&str, String)> = vec![
        ("JOB_ID", id.clone()),
        ("JOBID", id),
        ("JOB_NAME", spec.name.clone()),
        ("JOB_USER", spec.user.to_string()),
        ("JOB_UID", spec.uid.to_string()),
        ("JOB_GID", spec.gid.to_string()),
        ("CPUS_ON_NODE", allocation.cpu_ids.len().to_string()),
        ("JOB_CPUS_PER_NODE", allocation.cpu_ids.len().to_string()),
        ("TASKS_PER_NODE", spec.ntasks.to_string()),
        ("SUBMIT_DIR", spec.submit_dir.display().to_string()),
        ("SUBMIT_HOST", node.to_string()),
        ("JOB_NODELIST", node.to_string()),
        ("NODELIST", node.to_string()),
        ("JOB_NUM_NODES", "1".to_string()),
        ("NNODES", "1".to_string()),
        ("NODEID", "0".to_string()),
        ("PROCID", "0".to_string()),
        ("LOCALID", "0".to_string()),
        ("JOB_PARTITION", spec.partition.to_string()),
        ("CLUSTER_NAME", "conductor".to_string()),
    ];
    // As sbatch 22.05: these only when -n and -c were given.
    if spec.options.ntasks_given {
        vars.push(("NTASKS", spec.ntasks.to_string()));
        vars.push(("NPROCS", spec.ntasks.to_string()));
    }
    if spec.options.cpus_per_task_given {
        vars.push(("CPUS_PER_TASK", spec.cpus_per_task.to_string()));
    }
    match spec.options.memory_per_cpu_mb {
        Some(per_cpu) => vars.push(("MEM_PER_CPU", per_cpu.to_string())),
        None if spec.memory_requested => {
            vars.push(("MEM_PER_NODE", allocation.memory_mb.to_string()));
        }
        None => {}
    }
    if let Some(array) = spec.array {
        vars.push(("ARRAY_JOB_ID", array.array_id.to_string()));
        vars.push(("ARRAY_TASK_ID", array.index.to_string()));
        vars.push(("ARRAY_TASK_COUNT", array.count.to_string()));
        vars.push(("ARRAY_TASK_MIN", array.min.to_string()));
        vars.push(("ARRAY_TASK_MAX", array.max.to_string()));
        vars.push(("ARRAY_TASK_STEP", array.step.to_string()));
    }
    if let Some(dependency) = &spec.options.dependency_text {
        vars.push(("JOB_DEPENDENCY", dependency.clone()));
    }
    if let Some(per_node) = spec.options.ntasks_per_node {
        vars.push(("NTASKS_PER_NODE", per_node.to_string()));
    }
    if let Some(export) = &spec.options.export {
        vars.push(("EXPORT_ENV", export.clone()));
    }
    if let Some(account) = &spec.options.account {
        vars.push(("JOB_ACCOUNT", account.clone()));
    }
    vars.push((
        "JOB_QOS",
        spec.options.qos.clone().unwrap_or_else(|| "normal".into()),
    ));
    // 22.05 sets no SLURM_JOB_START_TIME or _END_TIME, and a restart
    // count only once the job was requeued.
    if spec.restarts > 0 {
        vars.push(("RESTART_COUNT", spec.restarts.to_string()));
    }
    vars.push(("PRIO_PROCESS", spec.nice.to_string()));
    vars.push(("GTIDS", "0".to_string()));
    vars.push(("TOPOLOGY_ADDR", node.to_string()));
    vars.push(("TOPOLOGY_ADDR_PATTERN", "node".to_string()));
    vars.push(("NODE_ALIASES", "(null)".to_string()));
    if !job_gpus.is_empty() {
        vars.push(("GPUS_ON_NODE", job_gpus.len().to_string()));
        vars.push(("JOB_GPUS", all_ordinals.clone()));
        vars.push(("STEP_GPUS", all_ordinals.clone()));
    }

    let mut env = captured.clone();
    for name in GPU_VARIABLES {
        env.remove(name);
    }
    for (name, value) in vars {
        env.insert(format!("SLURM_{name}"), value.clone());
        env.insert(format!("CONDUCTOR_{name}"), value);
    }
    env.insert("SLURMD_NODENAME".into(), node.to_string());
    if !job_gpus.is_empty() {
        // CUDA knows NVIDIA's GPUs, ROCm AMD's; a GPU of unknown make is
        // handed over the way most software looks for one.
        let cuda = ordinals(&|gpu| gpu.vendor != GpuVendor::Amd);
        let rocr = ordinals(&|gpu| gpu.vendor == GpuVendor::Amd);
        if !cuda.is_empty() {
            env.insert("CUDA_VISIBLE_DEVICES".into(), cuda);
        }
        if !rocr.is_empty() {
            env.insert("ROCR_VISIBLE_DEVICES".into(), rocr);
        }
        env.insert("GPU_DEVICE_ORDINAL".into(), all_ordinals);
    }
    env
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::Utc;

    use super::*;
    use crate::daemon::job::{JobSpec, Phase};
    use crate::protocol::{JobId, Reason, ResourceRequest};

    fn job(gpus: u32) -> Job {
        Job {
            id: JobId(7),
            spec: JobSpec {
                name: "j".into(),
                uid: 1,
                gid: 1,
                user: "u".into(),
                partition: "normal".into(),
                request: ResourceRequest {
                    cpus: 1,
                    memory_mb: 0,
                    gpus,
                },
                ntasks: 1,
                cpus_per_task: 1,
                memory_requested: false,
                time_limit: None,
                work_dir: Path::new("/").into(),
                submit_dir: Path::new("/").into(),
                stdout_pattern: None,
                stderr_pattern: None,
                args: Vec::new(),
                priority: 0,
                priority_fixed: false,
                nice: 0,
                submit_time: Utc::now(),
                begin_time: None,
                dependency: None,
                kill_on_invalid_dep: false,
                array: None,
                restarts: 0,
                options: Default::default(),
            },
            phase: Phase::Pending {
                reason: Reason::None,
                hold: None,
            },
            expected_start: None,
        }
    }

    fn allocation(gpu_ids: Vec<u32>) -> Allocation {
        Allocation {
            cpu_ids: vec![0],
            memory_mb: 0,
            gpu_ids,
        }
    }

    fn gpu(ordinal: u32, vendor: GpuVendor) -> Gpu {
        Gpu {
            vendor,
            ..Gpu::configured(ordinal)
        }
    }

    /// The submitter's GPU variables, which must never reach a job.
    fn submitter() -> BTreeMap<String, String> {
        GPU_VARIABLES
            .iter()
            .map(|name| (name.to_string(), "9".to_string()))
            .chain([("PATH".to_string(), "/bin".to_string())])
            .collect()
    }

    fn gpu_variables(env: &BTreeMap<String, String>) -> Vec<(&str, &str)> {
        GPU_VARIABLES
            .iter()
            .filter_map(|name| Some((*name, env.get(*name)?.as_str())))
            .collect()
    }

    #[test]
    fn a_job_sees_the_ordinals_of_its_gpus() {
        let table = vec![
            gpu(0, GpuVendor::Nvidia),
            gpu(2, GpuVendor::Nvidia),
            gpu(3, GpuVendor::Unknown),
        ];
        let env = job_environment(
            &job(2),
            &allocation(vec![1, 2]),
            "box",
            &table,
            &submitter(),
        );
        assert_eq!(
            gpu_variables(&env),
            vec![
                ("CUDA_VISIBLE_DEVICES", "2,3"),
                ("GPU_DEVICE_ORDINAL", "2,3"),
                ("SLURM_JOB_GPUS", "2,3"),
                ("SLURM_STEP_GPUS", "2,3"),
                ("SLURM_GPUS_ON_NODE", "2"),
                ("CONDUCTOR_JOB_GPUS", "2,3"),
                ("CONDUCTOR_STEP_GPUS", "2,3"),
                ("CONDUCTOR_GPUS_ON_NODE", "2"),
            ]
        );
        assert_eq!(env.get("PATH").map(String::as_str), Some("/bin"));
    }

    #[test]
    fn amd_gpus_are_handed_over_through_rocm() {
        let table = vec![gpu(0, GpuVendor::Amd), gpu(1, GpuVendor::Amd)];
        let env = job_environment(&job(1), &allocation(vec![1]), "box", &table, &submitter());
        assert_eq!(env.get("CUDA_VISIBLE_DEVICES"), None);
        assert_eq!(
            env.get("ROCR_VISIBLE_DEVICES").map(String::as_str),
            Some("1")
        );
        assert_eq!(env.get("GPU_DEVICE_ORDINAL").map(String::as_str), Some("1"));
        assert_eq!(env.get("SLURM_JOB_GPUS").map(String::as_str), Some("1"));
    }

    #[test]
    fn a_job_without_gpus_gets_none_of_the_variables() {
        let table = vec![gpu(0, GpuVendor::Nvidia)];
        let env = job_environment(&job(0), &allocation(vec![]), "box", &table, &submitter());
        assert_eq!(gpu_variables(&env), vec![]);
        assert_eq!(env.get("PATH").map(String::as_str), Some("/bin"));
    }
}
