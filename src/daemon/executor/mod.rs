//! Running jobs: `spawn` starts a job's script as the leader of its own
//! session and process group, `supervise` waits for it while enforcing the
//! time limit and carrying out cancels, and says how it ended. Signals
//! always go to the whole group, so a job's children go with it.

mod environment;
mod spawn;
mod supervise;

pub use spawn::{Launch, STEPS_FILE_ENV, spawn};
pub use supervise::{Control, Ending, Limits, Outcome, supervise};
