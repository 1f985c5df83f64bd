//! The daemon's descriptor limit: raised to the hard limit at start, so
//! that many clients (or a client holding many idle connections) cannot run
//! it out of descriptors, while jobs keep the limit the daemon was started
//! with (a program built on select(2) breaks above 1024).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Where the daemon leaves the soft limit it was started with, for the
/// launcher to give back to jobs.
const ORIGINAL_SOFT: &str = "CONDUCTOR_NOFILE_SOFT";

/// Raises the soft limit on open descriptors to the hard limit, and notes
/// the old soft limit for the launcher (which inherits the environment).
pub fn raise_for_daemon() {
    let limit = getrlimit(Resource::Nofile);
    let (Some(soft), Some(hard)) = (limit.current, limit.maximum) else {
        return;
    };
    if soft < hard
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(hard),
                maximum: Some(hard),
            },
        )
        .is_ok()
    {
        set_env(ORIGINAL_SOFT, &soft.to_string());
    }
}

/// In the launcher: puts back the soft limit the daemon started with, so
/// every supervisor and job forked from here has it.
pub fn restore_for_jobs() {
    let Some(soft) = std::env::var(ORIGINAL_SOFT)
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    else {
        return;
    };
    let limit = getrlimit(Resource::Nofile);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(soft),
            maximum: limit.maximum,
        },
    );
}

#[allow(unsafe_code)]
fn set_env(key: &str, value: &str) {
    // SAFETY: called from `run` before the daemon's runtime (and so any
    // other thread) starts; nothing reads the environment concurrently.
    unsafe { std::env::set_var(key, value) };
}
