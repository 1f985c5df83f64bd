//! Running jobs: the daemon `plan`s a job and asks the `Launcher` for its
//! `Supervisor`, a process of its own that `spawn`s the script as the leader of its own
//! session and process group, then `supervise`s it (time limit, cancels,
//! signals) and reports how it ended. Signals always go to the whole group,
//! so a job's children go with it.

mod clone_into;
mod environment;
mod launcher;
mod signal_mask;
mod spawn;
mod supervise;
mod supervisor;

pub use launcher::{Launcher, run as run_launcher};
pub use spawn::{Fence, Launch, plan};
pub use supervise::Control;
pub use supervisor::{
    Supervisor, forbid_start, may_have_started, outcome, outcome_time, prepare_dir,
    recorded_processes,
};
