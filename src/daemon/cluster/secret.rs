//! The cluster's secret: what one node shows another to vouch for who a
//! request it passes on acts for. A standby takes requests on its own
//! socket, where the kernel says who asks, and passes them to the
//! scheduler's TCP listener with the caller's uid and gid; the scheduler
//! believes that identity only beside this secret.
//!
//! It lives in the database, made by whichever node needs it first, so
//! every node that can reach the jobs has it and no other machine does:
//! whoever can read it could also write the jobs' rows themselves.

use postgres::GenericClient;

use crate::error::Result;

/// The table, created with the store's schema.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS cluster_secret (
    id integer PRIMARY KEY CHECK (id = 1),
    secret text NOT NULL
)";

/// The header that carries the secret.
pub const SECRET_HEADER: &str = "x-conductor-cluster-secret";

/// The header that carries the caller, `UID:GID`.
pub const CALLER_HEADER: &str = "x-conductor-caller";

/// Beside a vouched caller: it came to its node over TCP, with that node's
/// own token, so it may do what a TCP caller may (not what only a socket's
/// may, such as asking for tokens).
pub const OVER_TCP_HEADER: &str = "x-conductor-over-tcp";

/// The secret, made (from `fresh`, 32 random bytes in hex) if no node has
/// made it yet. Two nodes making it at once agree: the first insert wins
/// and both read it back.
pub fn read_or_make(client: &mut impl GenericClient, fresh: &str) -> Result<String> {
    client.execute(
        "INSERT INTO cluster_secret (id, secret) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        &[&fresh],
    )?;
    let row = client.query_one("SELECT secret FROM cluster_secret WHERE id = 1", &[])?;
    Ok(row.get(0))
}

/// The secret of the database at `url`, asked as `node`. Blocks: for a
/// thread outside the runtime.
pub fn fetch(url: &str, node: &str) -> Result<String> {
    let mut client = super::db::connect(&super::agent::session_url(url, node))?;
    read_or_make(&mut client, &crate::daemon::tokens::random_hex()?)
}

/// The `UID:GID` of a caller header; `None` unless it is exactly that.
pub fn parse_caller(text: &str) -> Option<(u32, u32)> {
    let (uid, gid) = text.split_once(':')?;
    Some((uid.parse().ok()?, gid.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_is_exactly_two_numbers() {
        assert_eq!(parse_caller("1000:100"), Some((1000, 100)));
        for bad in ["", "1000", "1000:", ":100", "a:1", "1:2:3", "-1:0", " 1:2"] {
            assert_eq!(parse_caller(bad), None, "{bad:?}");
        }
    }
}
