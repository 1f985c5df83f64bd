//! Whether a Unix socket may be trusted with a request, decided before a
//! byte is sent: a request carries the user's script and whole environment,
//! so a server someone else planted must never see one.
//!
//! The socket's directory must be a real directory (not a symlink) owned by
//! the user or by root and writable by no one else, so no other user can
//! have put the socket there; and the process that answers must run as the
//! user or as root (SO_PEERCRED), so no other user serves it.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Checks the directory of `socket`; the error is the one line to print.
pub fn check_socket_dir(socket: &Path) -> Result<(), String> {
    let dir = match socket.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let meta = match fs::symlink_metadata(dir) {
        Ok(meta) => meta,
        // Nothing can answer there: the connect fails, and an auto-start
        // makes the directory privately.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot check {}: {e}", dir.display())),
    };
    let refuse = |why: String| {
        Err(format!(
            "refusing to use {}: {why}, so another user may have put the socket there",
            socket.display()
        ))
    };
    if meta.file_type().is_symlink() {
        return refuse(format!(
            "its directory {} is a symbolic link",
            dir.display()
        ));
    }
    let me = rustix::process::getuid().as_raw();
    if !trusted_owner(meta.uid(), me) {
        return refuse(format!(
            "its directory {} belongs to {}, not to you or root",
            dir.display(),
            describe_user(meta.uid())
        ));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return refuse(format!(
            "its directory {} (owned by {}) is writable by others (mode {mode:04o})",
            dir.display(),
            describe_user(meta.uid())
        ));
    }
    Ok(())
}

/// Checks who serves a connected socket; the error is the one line to print.
pub fn check_peer(stream: &UnixStream, socket: &Path) -> Result<(), String> {
    let peer = rustix::net::sockopt::socket_peercred(stream)
        .map_err(|e| format!("cannot tell who serves {}: {e}", socket.display()))?;
    let me = rustix::process::getuid().as_raw();
    let server = peer.uid.as_raw();
    if trusted_owner(server, me) {
        Ok(())
    } else {
        Err(format!(
            "refusing to talk to {}: it is served by {}, not by you or root",
            socket.display(),
            describe_user(server)
        ))
    }
}

/// Makes the per-user socket directory (0700, as the user) where it is
/// missing, then checks it like any other.
pub fn make_socket_dir(socket: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    if let Some(dir) = socket.parent()
        && fs::symlink_metadata(dir).is_err()
    {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    check_socket_dir(socket)
}

/// A server or directory is trusted when it is the user's own or root's.
fn trusted_owner(owner: u32, me: u32) -> bool {
    owner == me || owner == 0
}

fn describe_user(uid: u32) -> String {
    match uzers::get_user_by_uid(uid) {
        Some(user) => format!("uid {uid} ({})", user.name().to_string_lossy()),
        None => format!("uid {uid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_user_and_root_are_trusted() {
        assert!(trusted_owner(1000, 1000));
        assert!(trusted_owner(0, 1000));
        assert!(!trusted_owner(1001, 1000));
        assert!(trusted_owner(0, 0));
    }

    #[test]
    fn a_private_directory_passes_and_an_open_one_does_not() {
        let dir = tempfile::tempdir().expect("dir");
        let socket = dir.path().join("s.sock");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        assert_eq!(check_socket_dir(&socket), Ok(()));
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o777)).expect("chmod");
        let refused = check_socket_dir(&socket).expect_err("world-writable");
        assert!(
            refused.contains("writable by others (mode 0777)"),
            "{refused}"
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path(), &link).expect("symlink");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        let refused = check_socket_dir(&link.join("s.sock")).expect_err("symlink");
        assert!(refused.contains("is a symbolic link"), "{refused}");
    }

    #[test]
    fn this_process_trusts_itself_as_a_peer() {
        let (ours, _theirs) = UnixStream::pair().expect("pair");
        assert_eq!(check_peer(&ours, Path::new("pair")), Ok(()));
    }

    #[test]
    fn a_missing_socket_directory_is_made_private() {
        let dir = tempfile::tempdir().expect("dir");
        let socket = dir.path().join("run/conductor/s.sock");
        make_socket_dir(&socket).expect("made");
        let mode = fs::metadata(socket.parent().expect("parent"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0);
    }
}
