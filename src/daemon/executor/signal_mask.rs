//! The signal mask of the launcher and of the supervisors it forks: which
//! of the daemon's requests a new supervisor holds back until its handlers
//! are in place. A module of its own so that the launcher (which blocks
//! them before the fork) and the supervisor (which lets them through)
//! share it without depending on each other.

use std::io;
use std::mem::MaybeUninit;

/// The signals the daemon sends a supervisor. They stay blocked in a new
/// supervisor until its handlers are in place (`allow_requests`): the
/// daemon has its pid from the moment of the fork, and a request that came
/// earlier would otherwise kill it before it could write an outcome.
pub(super) const REQUESTS: [libc::c_int; 2] = [libc::SIGTERM, libc::SIGUSR1];

/// Lets the requests held back since the fork through, to the handlers a
/// supervisor has just installed.
pub(super) fn allow_requests() {
    let _ = block(&REQUESTS, false);
}

#[allow(unsafe_code)]
pub(super) fn signal_set(signals: &[libc::c_int]) -> libc::sigset_t {
    // SAFETY: sigemptyset initialises the set before sigaddset uses it.
    unsafe {
        let mut set = MaybeUninit::<libc::sigset_t>::zeroed().assume_init();
        libc::sigemptyset(&mut set);
        for signal in signals {
            libc::sigaddset(&mut set, *signal);
        }
        set
    }
}

/// Blocks (or unblocks) `signals` for this process's one thread.
#[allow(unsafe_code)]
pub(super) fn block(signals: &[libc::c_int], blocked: bool) -> io::Result<()> {
    let set = signal_set(signals);
    let how = if blocked {
        libc::SIG_BLOCK
    } else {
        libc::SIG_UNBLOCK
    };
    // SAFETY: `set` is an initialised signal set; the old mask is not asked for.
    if unsafe { libc::sigprocmask(how, &set, std::ptr::null_mut()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
