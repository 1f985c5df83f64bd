//! Job state names as Slurm's tools take them (`squeue -t`, `sacct -s`,
//! `scancel -t`): long or compact, any case. Slurm knows more states than a
//! Conductor job is ever in; a filter may still name them (scripts written
//! for Slurm do), and they match no job.

use crate::protocol::JobState;

/// Every job state Slurm knows: long name and compact code, in the order
/// squeue lists them. Eight are states Conductor's jobs have (see
/// [`JobState::ALL`]); the others are accepted as filters and match nothing.
pub const SLURM_STATES: &[(&str, &str)] = &[
    ("PENDING", "PD"),
    ("RUNNING", "R"),
    ("SUSPENDED", "S"),
    ("COMPLETED", "CD"),
    ("CANCELLED", "CA"),
    ("FAILED", "F"),
    ("TIMEOUT", "TO"),
    ("NODE_FAIL", "NF"),
    ("PREEMPTED", "PR"),
    ("BOOT_FAIL", "BF"),
    ("DEADLINE", "DL"),
    ("OUT_OF_MEMORY", "OOM"),
    ("COMPLETING", "CG"),
    ("CONFIGURING", "CF"),
    ("RESIZING", "RS"),
    ("REVOKED", "RV"),
    ("SPECIAL_EXIT", "SE"),
    ("REQUEUED", "RQ"),
    ("REQUEUE_HOLD", "RH"),
    ("REQUEUE_FED", "RF"),
    ("STOPPED", "ST"),
    ("SIGNALING", "SI"),
    ("STAGE_OUT", "SO"),
    ("RESV_DEL_HOLD", "RD"),
];

/// The list squeue 22.05 prints after `Invalid job state specified`
/// (every state in `SLURM_STATES`, the base states first and then the
/// flags in alphabetical order, as live Slurm prints them).
pub const VALID_STATES: &str = "PENDING,RUNNING,SUSPENDED,COMPLETED,CANCELLED,FAILED,TIMEOUT,\
                                NODE_FAIL,PREEMPTED,BOOT_FAIL,DEADLINE,OUT_OF_MEMORY,COMPLETING,\
                                CONFIGURING,RESIZING,RESV_DEL_HOLD,REQUEUED,REQUEUE_FED,\
                                REQUEUE_HOLD,REVOKED,SIGNALING,SPECIAL_EXIT,STAGE_OUT,STOPPED";

/// A Slurm state name, long or compact, in any case: `Some(Some(state))`
/// for one Conductor has, `Some(None)` for one it never has, `None` for a
/// name that is no state.
pub fn parse_slurm_state(text: &str) -> Option<Option<JobState>> {
    let text = text.trim();
    SLURM_STATES
        .iter()
        .find(|(long, short)| long.eq_ignore_ascii_case(text) || short.eq_ignore_ascii_case(text))
        .map(|(long, _)| long.parse::<JobState>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_state_names_map_to_conductor_states() {
        assert_eq!(parse_slurm_state("cd"), Some(Some(JobState::Completed)));
        assert_eq!(parse_slurm_state("Timeout"), Some(Some(JobState::Timeout)));
        assert_eq!(parse_slurm_state("oom"), Some(Some(JobState::OutOfMemory)));
        assert_eq!(
            parse_slurm_state("out_of_memory"),
            Some(Some(JobState::OutOfMemory))
        );
        assert_eq!(parse_slurm_state("NF"), Some(Some(JobState::NodeFail)));
        assert_eq!(
            parse_slurm_state("node_fail"),
            Some(Some(JobState::NodeFail))
        );
        assert_eq!(parse_slurm_state("CG"), Some(None));
        assert_eq!(parse_slurm_state(" PR "), Some(None));
        assert_eq!(parse_slurm_state("nope"), None);
    }

    #[test]
    fn the_valid_list_names_every_slurm_state_once() {
        let listed: Vec<&str> = VALID_STATES.split(',').collect();
        assert_eq!(listed.len(), SLURM_STATES.len());
        for (long, _) in SLURM_STATES {
            assert!(listed.contains(long), "{long}");
        }
    }

    #[test]
    fn every_conductor_state_is_a_slurm_state_under_both_names() {
        for state in JobState::ALL {
            assert!(
                SLURM_STATES.contains(&(state.long(), state.short())),
                "{state}"
            );
            assert_eq!(parse_slurm_state(state.long()), Some(Some(state)));
            assert_eq!(parse_slurm_state(state.short()), Some(Some(state)));
        }
        let conductor = SLURM_STATES
            .iter()
            .filter(|(long, _)| long.parse::<JobState>().is_ok())
            .count();
        assert_eq!(conductor, JobState::ALL.len());
    }
}
