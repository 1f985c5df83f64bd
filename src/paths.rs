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
