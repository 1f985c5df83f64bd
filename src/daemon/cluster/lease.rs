//! The scheduler's lease: a PostgreSQL session-level advisory lock. The
//! node whose session holds it runs the scheduling passes over every
//! node; the others wait on it. A lock held by a session is freed by the
//! database when that session ends, however it ends (the node killed, its
//! network gone, its connection reset), so a dead scheduler never blocks
//! another from taking over, and two can never hold it at once.
//!
//! The lease is only as good as the session: a holder that loses its
//! connection has lost the lease too, and must stop scheduling before the
//! next one starts (it checks with [`Lease::is_held`] before each pass).

use std::time::Duration;

use postgres::Client;

use super::registry::store_error;
use crate::error::Result;

/// The lock's key: 'cond', in a database of Conductor's own.
const KEY: i64 = 0x636f_6e64;

/// A held scheduler lease: the session that holds the lock.
pub struct Lease {
    session: Client,
}

impl Lease {
    /// Takes the lease if no one holds it.
    pub fn try_take(mut session: Client) -> Attempt {
        match session.query_one("SELECT pg_try_advisory_lock($1)", &[&KEY]) {
            Ok(row) if row.get::<_, bool>(0) => Attempt::Taken(Lease { session }),
            Ok(_) => {
                let holder = holder(&mut session).ok().flatten();
                Attempt::Busy { session, holder }
            }
            Err(_) => Attempt::Busy {
                session,
                holder: None,
            },
        }
    }

    /// Waits until the lease is free and takes it; an error when the
    /// session is lost meanwhile.
    pub fn take(mut session: Client) -> Result<Lease> {
        session
            .execute("SELECT pg_advisory_lock($1)", &[&KEY])
            .map_err(store_error)?;
        Ok(Lease { session })
    }

    /// Whether the session that holds the lease is still there: checked
    /// with a round trip that must answer within `timeout`.
    pub fn is_held(&mut self, timeout: Duration) -> bool {
        self.session.is_valid(timeout).is_ok()
    }
}

/// What [`Lease::try_take`] found.
pub enum Attempt {
    Taken(Lease),
    /// Someone holds it (`holder`, when the database says who): the
    /// session comes back, to wait with [`Lease::take`].
    Busy {
        session: Client,
        holder: Option<String>,
    },
}

/// The `application_name` of the session holding the lease, if any:
/// each node names its sessions `conductord:<node>`.
pub fn holder(client: &mut Client) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT a.application_name FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted
               AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1",
            &[&(KEY as u32)],
        )
        .map_err(store_error)?;
    Ok(row.map(|row| row.get(0)))
}
