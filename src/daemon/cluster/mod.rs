//! Several machines around one PostgreSQL (see `docs/cluster.md`): the
//! registry of nodes with their heartbeats and epochs (`registry`), each
//! node's agent that keeps its heartbeat going and says where the node
//! stands (`agent`), what each node lists of the others (`members`), the
//! advisory lock that makes one node at a time the scheduler (`lease`),
//! and the secret a standby vouches for its callers with when it passes
//! their requests on to the scheduler (`secret`), and how jobs, their
//! ends and requests to them pass between the scheduler and the node
//! that runs them (`dispatch`). PostgreSQL's
//! transactions, advisory locks and clock are the coordination.

pub mod agent;
pub mod db;
pub mod dispatch;
pub mod lease;
pub mod members;
pub mod registry;
pub mod secret;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use postgres::{Client, NoTls};

    use super::agent::{self, NodeAgent, Standing, Timing};
    use super::lease::{self, Attempt, Lease};
    use super::registry::{self, Beat, Epoch, NodeSpec};
    use crate::testing::postgres::PostgresServer;

    /// A private server, or `None` (the test then passes, saying why) where
    /// PostgreSQL is not installed.
    fn server() -> Option<PostgresServer> {
        match PostgresServer::start() {
            Ok(server) => Some(server),
            Err(why) => {
                eprintln!("skipped: {why}");
                None
            }
        }
    }

    fn session(url: &str, node: &str) -> Client {
        Client::connect(&agent::session_url(url, node), NoTls).expect("connects")
    }

    fn spec(name: &str) -> NodeSpec {
        NodeSpec {
            name: name.into(),
            cpus: 4,
            memory_mb: 8000,
            gpus: 1,
            partitions: vec!["debug".into()],
            address: Some("127.0.0.1:7001".into()),
            version: "0.1.0".into(),
        }
    }

    #[test]
    fn a_node_down_past_its_timeout_is_fenced_until_it_registers_again() {
        let Some(server) = server() else { return };
        let mut db = session(&server.url(), "a");
        db.batch_execute(registry::SCHEMA).expect("schema");
        assert_eq!(
            registry::register(&mut db, &spec("a")).expect("registers"),
            Epoch(1)
        );
        assert_eq!(
            registry::register(&mut db, &spec("b")).expect("registers"),
            Epoch(1)
        );
        let a = registry::register(&mut db, &spec("a")).expect("again");
        assert_eq!(a, Epoch(2), "each registration bumps the epoch");
        assert_eq!(
            registry::heartbeat(&mut db, "a", Epoch(1), None).expect("beats"),
            Beat::Fenced
        );
        assert_eq!(
            registry::heartbeat(&mut db, "a", a, None).expect("beats"),
            Beat::Alive
        );

        // Nothing is older than a minute yet.
        assert!(
            registry::declare_down(&mut db, Duration::from_secs(60), "scheduler")
                .expect("checks")
                .is_empty()
        );
        std::thread::sleep(Duration::from_millis(300));
        registry::heartbeat(&mut db, "b", Epoch(1), None).expect("b beats");
        let down =
            registry::declare_down(&mut db, Duration::from_millis(200), "b").expect("checks");
        assert_eq!(down, vec![("a".to_string(), Epoch(3))]);
        // The scheduler asking is never declared down, however old its
        // own heartbeat looks.
        std::thread::sleep(Duration::from_millis(300));
        let again =
            registry::declare_down(&mut db, Duration::from_millis(200), "b").expect("checks");
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(
            registry::heartbeat(&mut db, "a", a, None).expect("beats"),
            Beat::Fenced
        );
        let nodes = registry::list(&mut db).expect("lists");
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[0].spec, spec("a"));
        let reason = nodes[0].down.as_ref().map(|d| d.reason.as_str());
        assert_eq!(reason, Some("Not responding"));
        assert_eq!(nodes[1].down, None);

        // Back: up again in a new epoch.
        let back = registry::register(&mut db, &spec("a")).expect("registers");
        assert_eq!(back, Epoch(4));
        assert_eq!(
            registry::heartbeat(&mut db, "a", back, None).expect("beats"),
            Beat::Alive
        );
        assert_eq!(registry::list(&mut db).expect("lists")[0].down, None);
    }

    #[test]
    fn one_node_holds_the_lease_and_another_takes_it_when_its_session_ends() {
        let Some(server) = server() else { return };
        let url = server.url();
        let Attempt::Taken(held) = Lease::try_take(session(&url, "a")) else {
            panic!("free at first");
        };
        let Attempt::Busy {
            session: mut b,
            holder,
        } = Lease::try_take(session(&url, "b"))
        else {
            panic!("two holders");
        };
        assert_eq!(holder.as_deref(), Some("conductord:a"));
        assert_eq!(
            lease::holder(&mut b).expect("asks"),
            Some("conductord:a".into())
        );
        // b waits on the lock; a's session ends as a killed node's would.
        let waiter = std::thread::spawn(move || Lease::take(b).map(|_| ()));
        std::thread::sleep(Duration::from_millis(200));
        assert!(!waiter.is_finished(), "b waits while a holds it");
        drop(held);
        waiter.join().expect("joins").expect("b takes it");
        let mut c = session(&url, "c");
        let holder = lease::holder(&mut c).expect("asks");
        assert_eq!(holder, None, "b's session ended with its thread");
    }

    #[test]
    fn a_holder_whose_database_went_away_knows_it_lost_the_lease() {
        let Some(server) = server() else { return };
        let Attempt::Taken(mut held) = Lease::try_take(session(&server.url(), "a")) else {
            panic!("free");
        };
        assert!(held.is_held(Duration::from_secs(2)));
        server.stop().expect("stops");
        assert!(!held.is_held(Duration::from_secs(2)));
        server.restart().expect("starts again");
        assert!(
            !held.is_held(Duration::from_secs(2)),
            "a new server is a new session"
        );
    }

    /// Waits up to five seconds for the agent to stand as `wanted` says.
    fn wait_for(agent: &NodeAgent, what: &str, wanted: impl Fn(Standing) -> bool) -> Standing {
        let standing = agent.standing();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            let now = *standing.borrow();
            if wanted(now) {
                return now;
            }
            assert!(std::time::Instant::now() < deadline, "not {what}: {now:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_agent_beats_is_told_when_fenced_rejoins_and_rides_out_a_database_restart() {
        let Some(server) = server() else { return };
        let url = server.url();
        let mut db = session(&url, "scheduler");
        db.batch_execute(registry::SCHEMA).expect("schema");
        let timing = Timing {
            heartbeat: Duration::from_millis(50),
            retry: Duration::from_millis(50),
        };
        let agent = NodeAgent::start(&url, spec("a"), timing, None);
        wait_for(&agent, "up", |s| s == Standing::Up(Epoch(1)));
        // Its sessions are named for it.
        let names: Vec<String> = db
            .query(
                "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'conductord:%'",
                &[],
            )
            .expect("asks")
            .iter()
            .map(|row| row.get(0))
            .collect();
        assert!(names.contains(&"conductord:a".to_string()), "{names:?}");

        // The scheduler declares it down (as if its beats had stopped).
        db.execute(
            "UPDATE nodes SET heartbeat = now() - interval '1 hour'",
            &[],
        )
        .expect("ages it");
        let down =
            registry::declare_down(&mut db, Duration::from_secs(60), "scheduler").expect("checks");
        assert_eq!(down, vec![("a".to_string(), Epoch(2))]);
        wait_for(&agent, "fenced", |s| s == Standing::Fenced(Epoch(1)));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(
            *agent.standing().borrow(),
            Standing::Fenced(Epoch(1)),
            "waits to be told"
        );
        agent.rejoin();
        wait_for(&agent, "up again", |s| s == Standing::Up(Epoch(3)));

        // The database goes away and comes back: cut off, then up in the
        // same epoch, as nobody declared it down meanwhile.
        server.stop().expect("stops");
        wait_for(&agent, "cut off", |s| {
            matches!(
                s,
                Standing::CutOff {
                    epoch: Epoch(3),
                    ..
                }
            )
        });
        server.restart().expect("starts");
        wait_for(&agent, "back", |s| s == Standing::Up(Epoch(3)));
    }
}
