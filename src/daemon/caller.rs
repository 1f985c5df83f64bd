//! Who a request acts for, as the daemon's domain code sees it: a uid and
//! gid, whatever transport brought the request (the Unix socket's peer
//! credentials, a TCP token's user). Kept apart from the HTTP server so
//! that submit, cancel and the rest do not depend on a transport type.

use crate::users;

/// Who sent a request. On the Unix socket the kernel says (SO_PEERCRED);
/// TCP is served on loopback only, to the daemon's own user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub uid: u32,
    pub gid: u32,
}

impl Caller {
    /// The daemon's own user: what a TCP request acts as.
    pub(super) fn daemon_user() -> Caller {
        Caller {
            uid: users::current_uid(),
            gid: users::current_gid(),
        }
    }

    /// A caller whose credentials could not be read: no one's jobs.
    pub(super) fn nobody() -> Caller {
        Caller {
            uid: u32::MAX - 1,
            gid: u32::MAX - 1,
        }
    }
}
