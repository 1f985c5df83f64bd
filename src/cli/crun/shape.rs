//! How many tasks a step runs and how many CPUs each gets, by srun's rules
//! (Slurm 22.05, `opt.c` and step creation): crun's options first, then
//! what the job's environment says (`SLURM_NTASKS`, `SLURM_CPUS_PER_TASK`,
//! `SLURM_NTASKS_PER_NODE`, srun's own inputs), checked against the job's
//! allocation before a step id is taken. Pure: the caller reads the
//! environment and prints.

use crate::error::{Error, Result};

/// What crun's command line asks of the step.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Asked {
    pub ntasks: Option<u32>,
    pub cpus_per_task: Option<u32>,
    /// The least nodes of `-N MIN[-MAX]`.
    pub nodes: Option<u32>,
    pub ntasks_per_node: Option<u32>,
}

/// The job the step runs in, as its environment describes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobShape {
    pub id: u64,
    /// The job's CPUs (`SLURM_JOB_CPUS_PER_NODE`), when known.
    pub cpus: Option<u32>,
    pub nodes: u32,
    /// `SLURM_NTASKS`: set when the job (or the step crun runs in) was
    /// given a task count.
    pub ntasks: Option<u32>,
    pub cpus_per_task: Option<u32>,
    pub ntasks_per_node: Option<u32>,
}

/// The step to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepShape {
    pub ntasks: u32,
    pub cpus_per_task: u32,
    /// Whether the tasks are told their CPUs (`SLURM_CPUS_PER_TASK`),
    /// which srun does only when `-c` was given or inherited.
    pub cpus_per_task_set: bool,
    /// What srun says before it goes on (after its `srun: `).
    pub warnings: Vec<String>,
}

/// The step `asked` makes in `job`, or srun's refusal (after its
/// `srun: error: `).
pub fn shape_step(asked: Asked, job: JobShape) -> Result<StepShape> {
    let job_nodes = job.nodes.max(1);
    if let Some(nodes) = asked.nodes.filter(|n| *n > job_nodes) {
        return Err(Error::Invalid(format!(
            "Only allocated {job_nodes} nodes asked for {nodes}"
        )));
    }
    let nodes = asked.nodes.unwrap_or(job_nodes).max(1);
    let mut warnings = Vec::new();
    let mut per_node = asked.ntasks_per_node.or(job.ntasks_per_node);
    let ntasks = asked.ntasks.or(job.ntasks);
    if let (Some(per), Some(ntasks)) = (per_node, ntasks)
        && per != ntasks / nodes
    {
        if ntasks > per {
            warnings.push(format!(
                "Warning: can't honor --ntasks-per-node set to {per} which doesn't match the \
                 requested tasks {ntasks} with the number of requested nodes {nodes}. \
                 Ignoring --ntasks-per-node."
            ));
        }
        per_node = None;
    }
    let ntasks = ntasks
        .or(per_node.map(|per| per.saturating_mul(nodes)))
        .unwrap_or(nodes);
    let cpus_per_task = asked.cpus_per_task.or(job.cpus_per_task);
    let step = StepShape {
        ntasks,
        cpus_per_task: cpus_per_task.unwrap_or(1),
        cpus_per_task_set: cpus_per_task.is_some(),
        warnings,
    };
    if let Some(cpus) = job.cpus
        && u64::from(step.ntasks) * u64::from(step.cpus_per_task) > u64::from(cpus)
    {
        return Err(Error::Invalid(format!(
            "Unable to create step for job {}: More processors requested than permitted",
            job.id
        )));
    }
    Ok(step)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `-n 2` job on two CPUs of one node.
    fn two_task_job() -> JobShape {
        JobShape {
            id: 7,
            cpus: Some(2),
            nodes: 1,
            ntasks: Some(2),
            cpus_per_task: None,
            ntasks_per_node: None,
        }
    }

    #[test]
    fn a_plain_step_runs_one_task_per_task_of_the_job() {
        let step = shape_step(Asked::default(), two_task_job()).expect("step");
        assert_eq!((step.ntasks, step.cpus_per_task), (2, 1));
        assert!(!step.cpus_per_task_set && step.warnings.is_empty());
        let ntasks = Some(1);
        let step = shape_step(
            Asked {
                ntasks,
                ..Asked::default()
            },
            two_task_job(),
        );
        assert_eq!(step.expect("step").ntasks, 1);
    }

    #[test]
    fn a_job_without_a_task_count_runs_one_task_per_node() {
        let job = JobShape {
            ntasks: None,
            ..two_task_job()
        };
        assert_eq!(shape_step(Asked::default(), job).expect("step").ntasks, 1);
        let ntasks_per_node = Some(2);
        let asked = Asked {
            ntasks_per_node,
            ..Asked::default()
        };
        assert_eq!(shape_step(asked, job).expect("step").ntasks, 2);
    }

    #[test]
    fn more_cpus_than_the_job_has_are_refused_in_slurms_words() {
        for asked in [
            Asked {
                ntasks: Some(3),
                ..Asked::default()
            },
            Asked {
                cpus_per_task: Some(2),
                ..Asked::default()
            },
        ] {
            let refusal = shape_step(asked, two_task_job()).expect_err("too many");
            assert_eq!(
                refusal.to_string(),
                "Unable to create step for job 7: More processors requested than permitted"
            );
        }
        let asked = Asked {
            ntasks: Some(1),
            cpus_per_task: Some(2),
            ..Asked::default()
        };
        let step = shape_step(asked, two_task_job()).expect("fits");
        assert_eq!((step.ntasks, step.cpus_per_task), (1, 2));
        assert!(step.cpus_per_task_set);
    }

    #[test]
    fn more_nodes_than_the_job_has_are_refused() {
        let asked = Asked {
            nodes: Some(2),
            ..Asked::default()
        };
        let refusal = shape_step(asked, two_task_job()).expect_err("one node");
        assert_eq!(refusal.to_string(), "Only allocated 1 nodes asked for 2");
        let asked = Asked {
            nodes: Some(1),
            ..Asked::default()
        };
        assert_eq!(shape_step(asked, two_task_job()).expect("step").ntasks, 2);
    }

    #[test]
    fn a_tasks_per_node_that_contradicts_the_task_count_is_ignored_with_a_warning() {
        let asked = Asked {
            ntasks_per_node: Some(1),
            ..Asked::default()
        };
        let step = shape_step(asked, two_task_job()).expect("step");
        assert_eq!(step.ntasks, 2);
        assert_eq!(
            step.warnings,
            [
                "Warning: can't honor --ntasks-per-node set to 1 which doesn't match the requested \
              tasks 2 with the number of requested nodes 1. Ignoring --ntasks-per-node."
            ]
        );
        let asked = Asked {
            ntasks_per_node: Some(2),
            ..Asked::default()
        };
        assert!(
            shape_step(asked, two_task_job())
                .expect("step")
                .warnings
                .is_empty()
        );
    }
}
