//! The daemon's state is private: scripts and environments are in the
//! store and in job directories, and no other user may read them. The
//! daemon works under umask 077 (its jobs keep the umask it was started
//! with), refuses a state directory that others could write or that belongs
//! to someone else (as PostgreSQL does with its data directory), and
//! tightens the files of an older store that were left readable.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rustix::fs::Mode;

use super::log;
use crate::error::{Error, Result};

/// Where the daemon leaves the umask it was started with, for the launcher
/// to give back to jobs.
const ORIGINAL_UMASK: &str = "CONDUCTOR_UMASK";

/// The files of the state directory that must be the daemon's alone.
const PRIVATE_FILES: [&str; 5] = [
    "jobs.db",
    "jobs.db-wal",
    "jobs.db-shm",
    "token",
    "tokens.json",
];

/// Sets umask 077 for everything the daemon makes, and notes the old one.
pub fn set_umask() {
    let old = rustix::process::umask(Mode::from_raw_mode(0o077));
    set_env(ORIGINAL_UMASK, &format!("{:o}", old.as_raw_mode()));
}

/// In the launcher: gives supervisors and jobs the umask the daemon was
/// started with (a job's output files are made as its user expects).
pub fn restore_umask_for_jobs() {
    if let Some(mask) = std::env::var(ORIGINAL_UMASK)
        .ok()
        .and_then(|m| u32::from_str_radix(&m, 8).ok())
    {
        rustix::process::umask(Mode::from_raw_mode(mask));
    }
}

/// Refuses a state directory that another user owns or that group or
/// others may write: one line naming the path, its mode and its owner. A
/// directory that does not exist yet is made by the daemon, privately.
pub fn check_dir(dir: &Path) -> Result<()> {
    let Ok(meta) = fs::symlink_metadata(dir) else {
        return Ok(());
    };
    let me = rustix::process::getuid().as_raw();
    let mode = meta.permissions().mode() & 0o7777;
    let owner = meta.uid();
    if meta.file_type().is_symlink() || owner != me || mode & 0o022 != 0 {
        let owner_name = uzers::get_user_by_uid(owner)
            .map(|u| format!(" ({})", u.name().to_string_lossy()))
            .unwrap_or_default();
        return Err(Error::Other(format!(
            "the state directory {} (mode {mode:04o}, owner uid {owner}{owner_name}) must be \
             owned by the daemon's user (uid {me}) and writable by no one else",
            dir.display()
        )));
    }
    Ok(())
}

/// Makes the store's files, and the token files, the daemon's alone where
/// an older daemon left them readable by others.
pub fn tighten(dir: &Path) {
    for name in PRIVATE_FILES {
        let path = dir.join(name);
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            match fs::set_permissions(&path, fs::Permissions::from_mode(0o600)) {
                Ok(()) => log(format_args!(
                    "{} was mode {mode:04o}; it is now 0600",
                    path.display()
                )),
                Err(e) => log(format_args!("cannot make {} private: {e}", path.display())),
            }
        }
    }
}

#[allow(unsafe_code)]
fn set_env(key: &str, value: &str) {
    // SAFETY: called from `run` before the daemon's runtime (and so any
    // other thread) starts; nothing reads the environment concurrently.
    unsafe { std::env::set_var(key, value) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_open_or_foreign_state_directory_is_refused() {
        let dir = tempfile::tempdir().expect("dir");
        assert!(check_dir(&dir.path().join("not-yet")).is_ok());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        assert!(check_dir(dir.path()).is_ok());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o770)).expect("chmod");
        let refused = check_dir(dir.path())
            .expect_err("group-writable")
            .to_string();
        assert!(refused.contains("mode 0770"), "{refused}");
    }

    #[test]
    fn readable_store_files_are_made_private() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("jobs.db");
        fs::write(&db, "x").expect("write");
        fs::set_permissions(&db, fs::Permissions::from_mode(0o644)).expect("chmod");
        tighten(dir.path());
        assert_eq!(
            fs::metadata(&db).expect("meta").permissions().mode() & 0o777,
            0o600
        );
    }
}
