//! Where things live by default: the per-user socket and state directory,
//! from the XDG base directories (through `directories`).

use std::path::PathBuf;

use directories::ProjectDirs;

const SOCKET_NAME: &str = "conductord.sock";

/// The file in the state directory holding the TCP listener's bearer token.
pub const TOKEN_FILE: &str = "token";

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "conductor")
}

/// The per-user socket: `$XDG_RUNTIME_DIR/conductor/conductord.sock`, or
/// `/tmp/conductor-<uid>/conductord.sock` where there is no runtime dir
/// (root on a server, a bare ssh session).
pub fn default_socket() -> PathBuf {
    project_dirs()
        .and_then(|dirs| dirs.runtime_dir().map(|dir| dir.join(SOCKET_NAME)))
        .unwrap_or_else(|| {
            let uid = rustix::process::getuid().as_raw();
            std::env::temp_dir()
                .join(format!("conductor-{uid}"))
                .join(SOCKET_NAME)
        })
}

/// A system daemon's socket (`conductord --system`).
pub const SYSTEM_SOCKET: &str = "/run/conductor/conductord.sock";

/// A system daemon's state directory.
pub const SYSTEM_STATE_DIR: &str = "/var/lib/conductor";

/// The system daemon's socket, when one is there for clients to use: a
/// socket root owns, in a directory root owns that no one else may write.
/// A client named no server then goes to it rather than start a daemon of
/// its own, as Slurm's commands all reach the one slurmctld.
pub fn system_socket() -> Option<PathBuf> {
    let socket = PathBuf::from(SYSTEM_SOCKET);
    is_system_socket(&socket).then_some(socket)
}

/// Whether `socket` is a socket that only root can have put there.
fn is_system_socket(socket: &std::path::Path) -> bool {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let by_root = |meta: &std::fs::Metadata| meta.uid() == 0;
    let Some(dir) = socket.parent() else {
        return false;
    };
    let (Ok(socket_meta), Ok(dir_meta)) = (
        std::fs::symlink_metadata(socket),
        std::fs::symlink_metadata(dir),
    ) else {
        return false;
    };
    socket_meta.file_type().is_socket()
        && by_root(&socket_meta)
        && dir_meta.is_dir()
        && by_root(&dir_meta)
        && dir_meta.mode() & 0o022 == 0
}

/// The per-user state directory: `$XDG_STATE_HOME/conductor`
/// (`~/.local/state/conductor`), else the data dir.
pub fn default_state_dir() -> PathBuf {
    project_dirs()
        .map(|dirs| {
            dirs.state_dir()
                .unwrap_or_else(|| dirs.data_dir())
                .to_path_buf()
        })
        .unwrap_or_else(|| PathBuf::from(".conductor"))
}

/// The short host name: the single node's name.
pub fn hostname() -> String {
    let uname = rustix::system::uname();
    let full = uname.nodename().to_string_lossy();
    full.split('.').next().unwrap_or("localhost").to_string()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn only_roots_socket_in_roots_directory_counts_as_the_system_daemons() {
        let dir = tempfile::tempdir().expect("dir");
        let socket = dir.path().join("conductord.sock");
        assert!(!is_system_socket(&socket), "nothing there");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).expect("bind");
        let root = rustix::process::getuid().is_root();
        assert_eq!(is_system_socket(&socket), root, "root's own socket");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
        assert!(!is_system_socket(&socket), "a directory anyone may write");
        let file = dir.path().join("plain");
        std::fs::write(&file, "").expect("file");
        assert!(!is_system_socket(&file), "not a socket");
    }
}
