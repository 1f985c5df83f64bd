//! Slurm's text formats: time limits, memory sizes, durations, job state
//! names, and the patterns of output file names. Each parser gives a one-line error that the
//! binaries print as it is.

pub mod array;
pub mod dependency;
pub mod duration;
pub mod hostlist;
pub mod job_id;
pub mod job_text;
pub mod memory;
pub mod pattern;
pub mod pretty;
pub mod sacct;
pub mod scontrol;
pub mod signal;
pub mod sinfo;
pub mod slurm_json;
pub mod sprio;
pub mod squeue;
pub mod sshare;
pub mod state;
pub mod time;
