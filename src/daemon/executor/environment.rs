//! The environment a job's script sees: what cbatch captured at submit, then
//! the Slurm variables (and the same under `CONDUCTOR_*`).

use std::collections::BTreeMap;

use crate::daemon::job::Job;
use crate::daemon::tracker::Allocation;

/// Builds the job's environment over the submitter's.
pub fn job_environment(
    job: &Job,
    allocation: &Allocation,
    node: &str,
    captured: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let spec = &job.spec;
    let id = job.id.to_string();
    let join = |ids: &[u32]| ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",");
    let mut vars: Vec<(&str, String)> = vec![
        ("JOB_ID", id.clone()),
        ("JOBID", id),
        ("JOB_NAME", spec.name.clone()),
        ("JOB_USER", spec.user.to_string()),
        ("JOB_UID", spec.uid.to_string()),
        ("JOB_GID", spec.gid.to_string()),
        ("CPUS_PER_TASK", spec.cpus_per_task.to_string()),
        ("CPUS_ON_NODE", allocation.cpu_ids.len().to_string()),
        ("JOB_CPUS_PER_NODE", allocation.cpu_ids.len().to_string()),
        ("NTASKS", spec.ntasks.to_string()),
        ("NPROCS", spec.ntasks.to_string()),
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
    let start = chrono::Utc::now().timestamp();
    vars.push(("JOB_START_TIME", start.to_string()));
    if let Some(limit) = spec.time_limit {
        vars.push(("JOB_END_TIME", (start + limit as i64).to_string()));
    }
    vars.push(("RESTART_COUNT", spec.restarts.to_string()));
    vars.push(("PRIO_PROCESS", spec.nice.to_string()));
    vars.push(("GTIDS", "0".to_string()));
    vars.push(("TOPOLOGY_ADDR", node.to_string()));
    if !allocation.gpu_ids.is_empty() {
        vars.push(("GPUS_ON_NODE", allocation.gpu_ids.len().to_string()));
        vars.push(("JOB_GPUS", join(&allocation.gpu_ids)));
    }

    let mut env = captured.clone();
    for (name, value) in vars {
        env.insert(format!("SLURM_{name}"), value.clone());
        env.insert(format!("CONDUCTOR_{name}"), value);
    }
    env.insert("SLURMD_NODENAME".into(), node.to_string());
    if !allocation.gpu_ids.is_empty() {
        let gpus = join(&allocation.gpu_ids);
        env.insert("CUDA_VISIBLE_DEVICES".into(), gpus.clone());
        env.insert("GPU_DEVICE_ORDINAL".into(), gpus.clone());
        env.insert("ROCR_VISIBLE_DEVICES".into(), gpus);
    } else {
        // A job without GPUs must not inherit the submitter's devices.
        env.remove("CUDA_VISIBLE_DEVICES");
    }
    env
}
