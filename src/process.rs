//! Process helpers shared by the daemon (jobs) and the client (auto-start).

use std::process::Command;

/// Makes the child the leader of a new session and process group: it no
/// longer belongs to the parent's terminal, and a signal sent to its group
/// reaches it and everything it starts, but nothing of the parent.
#[allow(unsafe_code)]
pub fn new_session(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure runs between fork and exec and makes only the
    // async-signal-safe setsid system call; it allocates nothing.
    unsafe {
        command.pre_exec(|| {
            rustix::process::setsid()?;
            Ok(())
        });
    }
}
