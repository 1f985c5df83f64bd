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

use super::registry;
use crate::error::Result;

/// The lock's key: 'cond', in a database of Conductor's own.
const KEY: i64 = 0x636f_6e64;

/// A held scheduler lease: the session that holds the lock. Dropped, it
/// closes the session (which frees the lock) on a thread of its own: the
/// client blocks as it closes, which it cannot do inside the daemon's
/// runtime.
pub struct Lease {
    session: Option<Client>,
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = std::thread::Builder::new()
                .name("lease-close".into())
                .spawn(move || drop(session));
        }
    }
}

impl Lease {
    /// Takes the lease if no one holds it.
    pub fn try_take(mut session: Client) -> Attempt {
        match session.query_one("SELECT pg_try_advisory_lock($1)", &[&KEY]) {
            Ok(row) if row.get::<_, bool>(0) => {
                // The other nodes learn at once who schedules now.
                let _ = super::registry::changed(&mut session);
                Attempt::Taken(Lease {
                    session: Some(session),
                })
            }
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
        // A backend blocked on a lock does not notice that its client has
        // gone unless told to look (PostgreSQL 14 and later; older ones
        // refuse the setting, and then a killed standby's wait lingers
        // until the lock comes to it): else a standby killed while it
        // waits leaves its session, under its node's name, behind.
        let _ = session.batch_execute("SET client_connection_check_interval = 1000");
        session.execute("SELECT pg_advisory_lock($1)", &[&KEY])?;
        // The other nodes learn at once who schedules now.
        super::registry::changed(&mut session)?;
        Ok(Lease {
            session: Some(session),
        })
    }

    /// Declares down, on the lease's session, the other nodes whose
    /// heartbeat is older than `timeout` (the scheduler's duty, see
    /// [`registry::declare_down`]); returns their names.
    pub fn sweep(&mut self, timeout: Duration, scheduler: &str) -> Result<Vec<String>> {
        let Some(session) = self.session.as_mut() else {
            return Ok(Vec::new());
        };
        let down = registry::declare_down(session, timeout, scheduler)?;
        Ok(down.into_iter().map(|(name, _)| name).collect())
    }

    /// Whether the session that holds the lease is still there: checked
    /// with a round trip that must answer within `timeout`.
    pub fn is_held(&mut self, timeout: Duration) -> bool {
        self.session
            .as_mut()
            .is_some_and(|session| session.is_valid(timeout).is_ok())
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
    let row = client.query_opt(
        "SELECT a.application_name FROM pg_locks l
             JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted
               AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1",
        &[&(KEY as u32)],
    )?;
    Ok(row.map(|row| row.get(0)))
}

/// How a node starts on the database: as the scheduler, holding the
/// lease, or as a standby while another node holds it.
pub enum Start {
    Scheduler(Lease),
    /// `holder` holds the lease; `session` waits for it with [`wait`].
    Standby {
        session: Client,
        holder: String,
    },
}

/// Tries the lease for `node`, refusing a second daemon under a name
/// another live daemon already uses on this database (its sessions are
/// named for it): two daemons as one node would run each other's jobs.
/// The sessions of a daemon killed a moment ago may take a moment to end,
/// so a name in use is asked about again for a few seconds before the
/// refusal. Blocks: for a thread outside the runtime.
pub fn start(url: &str, node: &str) -> Result<Start> {
    let mut session = super::db::connect(&super::agent::session_url(url, node))?;
    let named = format!("conductord:{node}");
    let deadline = std::time::Instant::now() + NAME_IN_USE_GRACE;
    while sessions_named(&mut session, &named)? > 0 {
        if std::time::Instant::now() >= deadline {
            return Err(crate::Error::Other(format!(
                "node {node} already has a conductord on {}: each node needs a name of its own \
                 (--node)",
                crate::daemon::redacted_store_url(url),
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(match Lease::try_take(session) {
        Attempt::Taken(lease) => Start::Scheduler(lease),
        Attempt::Busy { session, holder } => Start::Standby {
            session,
            holder: holder.unwrap_or_else(|| "another node".into()),
        },
    })
}

/// How long a daemon's sessions may outlive it (killed, its connections
/// not yet seen closed by the database) before its name counts as in use.
const NAME_IN_USE_GRACE: Duration = Duration::from_secs(3);

/// Sessions other than this one named `name`.
fn sessions_named(client: &mut Client, name: &str) -> Result<i64> {
    let row = client.query_one(
        "SELECT count(*) FROM pg_stat_activity
             WHERE application_name = $1 AND pid <> pg_backend_pid()",
        &[&name],
    )?;
    Ok(row.get(0))
}

/// A standby's wait for the lease, on `session`, then on new sessions
/// while the database is away: returns once this node holds it. Blocks:
/// for a thread outside the runtime.
pub fn wait(session: Client, url: &str, node: &str, retry: Duration) -> Lease {
    let mut session = Some(session);
    loop {
        let current = match session.take() {
            Some(current) => Ok(current),
            None => super::db::connect(&super::agent::session_url(url, node)),
        };
        if let Ok(current) = current
            && let Ok(lease) = Lease::take(current)
        {
            return lease;
        }
        std::thread::sleep(retry);
    }
}

/// Connects as `node` and takes the lease if it is free; else who holds
/// it. Blocks: for a thread outside the runtime.
fn try_take_at(url: &str, node: &str) -> Result<std::result::Result<Lease, String>> {
    let session = super::db::connect(&super::agent::session_url(url, node))?;
    Ok(match Lease::try_take(session) {
        Attempt::Taken(lease) => Ok(lease),
        Attempt::Busy { holder, .. } => Err(holder.unwrap_or_else(|| "another conductord".into())),
    })
}

/// Keeps `lease` for as long as it can: checks its session every
/// `period`, declaring down meanwhile the nodes whose heartbeat is older
/// than `node_timeout`, and takes the lease again on a new session when a
/// database restart ended the old one. Returns only when another daemon
/// took it meanwhile (then this one must stop scheduling), naming it.
pub async fn keep(
    mut lease: Lease,
    url: String,
    node: String,
    period: Duration,
    node_timeout: Duration,
) -> String {
    loop {
        tokio::time::sleep(period).await;
        let scheduler = node.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let held = lease.is_held(period);
            let down = if held {
                lease.sweep(node_timeout, &scheduler)
            } else {
                Ok(Vec::new())
            };
            (lease, held, down)
        })
        .await;
        let Ok((checked, held, down)) = checked else {
            return "the lease's thread panicked".into();
        };
        lease = checked;
        for name in down.unwrap_or_default() {
            crate::daemon::log(format_args!(
                "node {name} is DOWN: no heartbeat for {}s (SlurmdTimeout)",
                node_timeout.as_secs()
            ));
        }
        if held {
            continue;
        }
        // The session is gone; while the database is down nobody can take
        // the lease, so keep trying until it is back.
        let (url, node) = (url.clone(), node.clone());
        match tokio::task::spawn_blocking(move || try_take_at(&url, &node)).await {
            Ok(Ok(Ok(new))) => lease = new,
            Ok(Ok(Err(holder))) => return holder,
            Ok(Err(_)) => {}
            Err(_) => return "the lease's thread panicked".into(),
        }
    }
}
