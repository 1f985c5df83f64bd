//! The PostgreSQL backend, chosen with `--store postgres://…`: the same
//! contract as SQLite's (see [`Backend`]), kept in a database that
//! several machines can share (`docs/cluster.md`).
//!
//! The sync `postgres` client blocks on a runtime of its own, which
//! cannot run inside the daemon's tokio runtime; so, as with SQLite, one
//! writer thread owns the session that writes, and a reader thread owns
//! the one that reads. Writes are queued to the writer at once (the order
//! of the calls) and committed in groups: every write queued while the
//! previous commit was in flight shares the next transaction, and none is
//! answered before COMMIT returns (`synchronous_commit` is PostgreSQL's
//! default, on: the commit is on the server's disk). Reads are sent to
//! the reader and waited for; the daemon calls them from code that is not
//! async, as it calls SQLite's.
//!
//! A lost session is opened again on the next call, so a database
//! restart costs the calls made while it was down (they fail as "store
//! unavailable") and nothing else. A commit whose answer was lost with
//! the connection is reported as failed, though it may have been
//! applied: a submission so refused may still exist, and runs; a client
//! that wants to know asks for its jobs by name.
//!
//! Each statement carries all the jobs of its write as arrays (`unnest`),
//! so that an array of a thousand tasks is one round trip, not a thousand.
//!
//! Ids come from a one-row counter rather than a SEQUENCE: a submission's
//! jobs need consecutive ids even when several nodes submit at once, and
//! the counter's row lock gives that (a sequence hands out interleaved
//! values), while a rolled-back transaction hands none out.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;

use chrono::{DateTime, Utc};
use postgres::{Client, Row, Statement, Transaction};
use serde::de::DeserializeOwned;

use super::writes::{Applied, Queue, Write, answer, next_group, to_json};
use super::{Backend, CommitObserver, FinishedFilter, Payload, StoreFuture, Submission};
use crate::daemon::cluster::{dispatch, registry, secret};
use crate::daemon::job::{Job, Phase};
use crate::daemon::scheduler::fair_share::UsageBook;
use crate::error::{Error, Result};
use crate::protocol::{JobId, JobState};

/// The schema this build reads and writes, kept in `conductor_schema`.
const SCHEMA_VERSION: i32 = 1;

/// Version 1. A payload's id is the id of the first job submitted with
/// it. `array_id` is the array a task belongs to (its first task's id),
/// kept in a column of its own for `related` and the filters; `node` is
/// the node a job runs or ran on, for the cluster.
const SCHEMA: &str = "
CREATE TABLE job_ids (
    id   integer PRIMARY KEY CHECK (id = 1),
    last bigint  NOT NULL
);
INSERT INTO job_ids VALUES (1, 0);
CREATE TABLE payloads (
    id          bigint PRIMARY KEY,
    script      text   NOT NULL,
    environment text   NOT NULL
);
CREATE TABLE jobs (
    id          bigint PRIMARY KEY,
    state       text   NOT NULL,
    uid         bigint NOT NULL,
    name        text   NOT NULL,
    submit_time bigint NOT NULL,
    end_time    bigint,
    array_id    bigint,
    node        text,
    spec        text   NOT NULL,
    phase       text   NOT NULL,
    payload     bigint NOT NULL REFERENCES payloads(id)
);
CREATE INDEX jobs_by_state ON jobs(state);
CREATE INDEX jobs_by_payload ON jobs(payload);
CREATE INDEX jobs_by_array ON jobs(array_id) WHERE array_id IS NOT NULL;
CREATE TABLE usage (
    id   integer PRIMARY KEY CHECK (id = 1),
    book text    NOT NULL
);
";

/// The writes' statements, prepared once per session.
const NEXT_IDS: &str = "UPDATE job_ids SET last = last + $1 WHERE id = 1 RETURNING last";
const INSERT_PAYLOAD: &str = "INSERT INTO payloads (id, script, environment) VALUES ($1, $2, $3)";
const INSERT_JOBS: &str =
    "INSERT INTO jobs (id, state, uid, name, submit_time, array_id, spec, phase, payload)
     SELECT id, state, uid, name, submit_time, array_id, spec, phase, $9
     FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::bigint[],
                 $6::bigint[], $7::text[], $8::text[])
          AS j(id, state, uid, name, submit_time, array_id, spec, phase)";
const UPDATE_JOBS: &str = "UPDATE jobs SET state = u.state, end_time = u.end_time,
         spec = u.spec, phase = u.phase, node = COALESCE(u.node, jobs.node)
     FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[])
          AS u(id, state, end_time, spec, phase, node)
     WHERE jobs.id = u.id";
/// The ends nodes wrote of runs these records settle: every run of a job
/// not running now, every earlier run of one that is (keep: its start).
const SETTLE_ENDS: &str = "DELETE FROM job_ends USING unnest($1::bigint[], $2::bigint[])
          AS k(id, keep)
     WHERE job_ends.id = k.id AND job_ends.start_ms IS DISTINCT FROM k.keep";
/// The requests to runs these records settle, never to be read now (their
/// node may be gone).
const SETTLE_CONTROLS: &str = "DELETE FROM job_controls USING unnest($1::bigint[], $2::bigint[])
          AS k(id, keep)
     WHERE job_controls.id = k.id AND job_controls.start_ms IS DISTINCT FROM k.keep";
/// Wakes the nodes jobs were just started on, at the commit.
const WAKE_NODES: &str = "SELECT pg_notify('conductor_node', n) FROM unnest($1::text[]) AS n";
const SAVE_USAGE: &str = "INSERT INTO usage (id, book) VALUES (1, $1)
     ON CONFLICT (id) DO UPDATE SET book = excluded.book";
const PRUNE_JOBS: &str = "DELETE FROM jobs WHERE end_time IS NOT NULL AND end_time < $1
     AND state NOT IN ('PENDING', 'RUNNING')
     RETURNING payload";
const PRUNE_PAYLOADS: &str = "DELETE FROM payloads WHERE id = ANY($1)
     AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.payload = payloads.id)";

/// The writes' statements, prepared on the writer's session.
struct Writes {
    next_ids: Statement,
    insert_payload: Statement,
    insert_jobs: Statement,
    update_jobs: Statement,
    settle_ends: Statement,
    settle_controls: Statement,
    wake_nodes: Statement,
    save_usage: Statement,
    prune_jobs: Statement,
    prune_payloads: Statement,
}

/// A read, run by the reader thread on its session.
type Read = Box<dyn Fn(&mut Session) -> Result<Reply> + Send>;

/// What a read hands back, boxed so that one channel serves every read.
type Reply = Box<dyn std::any::Any + Send>;

/// The PostgreSQL backend: the writer's queue and the reader's.
pub struct PostgresStore {
    writes: Queue,
    reads: mpsc::Sender<(Read, mpsc::SyncSender<Result<Reply>>)>,
}

impl PostgresStore {
    /// Connects to the database at `url`, creates or checks its schema,
    /// makes sure the next id is at least `first_job_id`, and starts the
    /// writer (which tells `on_commit` how long each commit took) and the
    /// reader.
    pub fn open(url: &str, first_job_id: u64, on_commit: CommitObserver) -> Result<PostgresStore> {
        let unreachable = |e: Error| match e {
            Error::Store(e) => Error::Other(format!(
                "cannot open the job store {}: {}",
                redacted(url),
                with_causes(&*e)
            )),
            other => other,
        };
        // On a thread of its own, as every call of the client: the daemon
        // opens its store inside its runtime.
        let (writer, reader) = thread::scope(|scope| {
            scope
                .spawn(|| -> Result<(Session, Session)> {
                    let mut writer = Session::new(url);
                    migrate(writer.client()?)?;
                    start_ids_at(writer.client()?, first_job_id)?;
                    let mut reader = Session::new(url);
                    reader.client()?;
                    Ok((writer, reader))
                })
                .join()
                .map_err(|_| thread_gone())?
        })
        .map_err(unreachable)?;
        let (writes, queue) = Queue::new();
        let thread_error = |e| Error::Other(format!("cannot start the store's threads: {e}"));
        thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(writer, queue, on_commit))
            .map_err(thread_error)?;
        let (reads, read_queue) = mpsc::channel();
        thread::Builder::new()
            .name("store-reader".into())
            .spawn(move || read_loop(reader, read_queue))
            .map_err(thread_error)?;
        Ok(PostgresStore { writes, reads })
    }

    /// Runs `f` on the reader's session and waits for its answer.
    fn read<T: Send + 'static>(
        &self,
        f: impl Fn(&mut Session) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        let read: Read = Box::new(move |session| f(session).map(|value| Box::new(value) as Reply));
        self.reads.send((read, reply)).map_err(|_| thread_gone())?;
        let value = answer.recv().map_err(|_| thread_gone())??;
        value
            .downcast::<T>()
            .map(|value| *value)
            .map_err(|_| Error::Other("the store reader answered another read".into()))
    }

    /// Jobs from the rows `(id, spec, phase)` of a query.
    fn jobs(
        &self,
        sql: &'static str,
        params: impl Fn() -> Vec<Box<dyn postgres::types::ToSql + Sync + Send>> + Send + 'static,
    ) -> Result<Vec<Job>> {
        self.read(move |session| {
            let params = params();
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| &**p as &(dyn postgres::types::ToSql + Sync))
                .collect();
            session.query(sql, &refs)?.iter().map(row_to_job).collect()
        })
    }
}

/// How a transaction failed: before its COMMIT was sent (then nothing of
/// it was applied), or at the COMMIT, whose outcome is then unknown.
enum Failed {
    Before(Error),
    AtCommit(Error),
}

impl Failed {
    fn error(self) -> Error {
        match self {
            Failed::Before(e) | Failed::AtCommit(e) => e,
        }
    }
}

/// Runs `f` in `tx`, and commits it if `f` succeeded (dropped, it rolls
/// back).
fn commit_with<T>(
    mut tx: Transaction<'_>,
    f: impl FnOnce(&mut Transaction<'_>) -> Result<T>,
) -> std::result::Result<T, Failed> {
    let value = f(&mut tx).map_err(Failed::Before)?;
    tx.commit().map_err(|e| Failed::AtCommit(Error::from(e)))?;
    Ok(value)
}

/// A session that is opened again when it was lost, with the statements
/// prepared on it (parsed once per session, not once per call: a round
/// trip each).
struct Session {
    url: String,
    client: Option<Client>,
    prepared: HashMap<&'static str, Statement>,
}

impl Session {
    fn new(url: &str) -> Session {
        Session {
            url: url.to_owned(),
            client: None,
            prepared: HashMap::new(),
        }
    }

    /// `sql` prepared on the open session.
    fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(statement) = self.prepared.get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.client()?.prepare(sql)?;
        self.prepared.insert(sql, statement.clone());
        Ok(statement)
    }

    /// The writes' statements, prepared.
    fn writes(&mut self) -> Result<Writes> {
        Ok(Writes {
            next_ids: self.statement(NEXT_IDS)?,
            insert_payload: self.statement(INSERT_PAYLOAD)?,
            insert_jobs: self.statement(INSERT_JOBS)?,
            update_jobs: self.statement(UPDATE_JOBS)?,
            settle_ends: self.statement(SETTLE_ENDS)?,
            settle_controls: self.statement(SETTLE_CONTROLS)?,
            wake_nodes: self.statement(WAKE_NODES)?,
            save_usage: self.statement(SAVE_USAGE)?,
            prune_jobs: self.statement(PRUNE_JOBS)?,
            prune_payloads: self.statement(PRUNE_PAYLOADS)?,
        })
    }

    /// Rows of a prepared query.
    fn query(
        &mut self,
        sql: &'static str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        self.client()?
            .query(&statement, params)
            .map_err(Error::from)
    }

    /// Runs `f` in a transaction, with the writes' statements, and
    /// commits it. A session that turns out dead (a database restart
    /// since the last call) before anything of `f` was sent is opened
    /// again, and tried once more.
    fn in_transaction<T>(
        &mut self,
        f: impl FnOnce(&mut Transaction<'_>, &Writes) -> Result<T>,
    ) -> std::result::Result<T, Failed> {
        if let Ok(writes) = self.writes()
            && let Ok(client) = self.client()
            && let Ok(tx) = client.transaction()
        {
            return commit_with(tx, |tx| f(tx, &writes));
        }
        self.reset();
        let writes = self.writes().map_err(Failed::Before)?;
        let tx = self
            .client()
            .map_err(Failed::Before)?
            .transaction()
            .map_err(|e| Failed::Before(Error::from(e)))?;
        commit_with(tx, |tx| f(tx, &writes))
    }

    /// Runs a read, once more on a new session when the first try found
    /// the session dead (reads change nothing, so a retry is safe).
    fn read<T>(&mut self, f: impl Fn(&mut Session) -> Result<T>) -> Result<T> {
        match f(self) {
            Err(_) if self.client.as_ref().is_none_or(Client::is_closed) => {
                self.reset();
                f(self)
            }
            result => result,
        }
    }

    /// Drops the session, and the statements prepared on it.
    fn reset(&mut self) {
        self.client = None;
        self.prepared.clear();
    }

    /// The open session, opened now if there is none (or it was closed);
    /// a new one prepares its statements again.
    fn client(&mut self) -> Result<&mut Client> {
        if self.client.as_ref().is_none_or(Client::is_closed) {
            self.reset();
            let client = crate::daemon::cluster::db::connect(&self.url)?;
            return Ok(self.client.insert(client));
        }
        self.client.as_mut().ok_or_else(thread_gone)
    }
}

impl Backend for PostgresStore {
    fn insert(&self, submission: Submission) -> StoreFuture<'_, Vec<JobId>> {
        self.writes.insert(submission)
    }

    fn update(&self, jobs: Vec<Job>, usage: Option<UsageBook>) -> StoreFuture<'_, ()> {
        self.writes.update(jobs, usage)
    }

    fn prune_finished_before(&self, cutoff: DateTime<Utc>) -> StoreFuture<'_, usize> {
        self.writes.prune(cutoff)
    }

    fn load_active(&self) -> Result<Vec<Job>> {
        self.jobs(
            "SELECT id, spec, phase FROM jobs WHERE state IN ('PENDING', 'RUNNING') ORDER BY id",
            Vec::new,
        )
    }

    fn get(&self, id: JobId) -> Result<Option<Job>> {
        let id = to_i64(id.0)?;
        let jobs = self.jobs(
            "SELECT id, spec, phase FROM jobs WHERE id = $1",
            move || vec![Box::new(id)],
        )?;
        Ok(jobs.into_iter().next())
    }

    fn finished(&self, filter: &FinishedFilter) -> Result<Vec<Job>> {
        let states: Vec<String> = filter
            .states
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.long().to_owned())
            .collect();
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let ids = filter
            .ids
            .as_ref()
            .map(|ids| {
                ids.iter()
                    .map(|id| to_i64(id.0))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        let uids: Option<Vec<i64>> = filter
            .uids
            .as_ref()
            .map(|uids| uids.iter().map(|&uid| i64::from(uid)).collect());
        self.jobs(
            "SELECT id, spec, phase FROM jobs
             WHERE state = ANY($1)
               AND ($2::bigint[] IS NULL OR id = ANY($2) OR array_id = ANY($2))
               AND ($3::bigint[] IS NULL OR uid = ANY($3))
             ORDER BY id",
            move || {
                vec![
                    Box::new(states.clone()),
                    Box::new(ids.clone()),
                    Box::new(uids.clone()),
                ]
            },
        )
    }

    fn related(&self, id: JobId) -> Result<Vec<Job>> {
        let id = to_i64(id.0)?;
        self.jobs(
            "SELECT id, spec, phase FROM jobs WHERE id = $1 OR array_id = $1 ORDER BY id",
            move || vec![Box::new(id)],
        )
    }

    fn counts(&self) -> Result<Vec<(JobState, u64)>> {
        self.read(|session| {
            session
                .query("SELECT state, COUNT(*) FROM jobs GROUP BY state", &[])?
                .iter()
                .map(|row| {
                    let state: String = row.get(0);
                    let count: i64 = row.get(1);
                    let state = state.parse::<JobState>().map_err(|e| {
                        Error::Other(format!("a stored job's state is unreadable: {e}"))
                    })?;
                    Ok((state, count.max(0) as u64))
                })
                .collect()
        })
    }

    fn last_id(&self) -> Result<u64> {
        self.read(|session| {
            let rows = session.query("SELECT last FROM job_ids WHERE id = 1", &[])?;
            let last: i64 = rows.first().map_or(0, |row| row.get(0));
            Ok(last.max(0) as u64)
        })
    }

    fn payload(&self, id: JobId) -> Result<Payload> {
        let key = to_i64(id.0)?;
        self.read(move |session| {
            let rows = session.query(
                "SELECT payloads.script, payloads.environment
                 FROM jobs JOIN payloads ON payloads.id = jobs.payload
                 WHERE jobs.id = $1",
                &[&key],
            )?;
            let row = rows
                .first()
                .ok_or_else(|| Error::Other(format!("job {id} is not in the store")))?;
            let environment: String = row.get(1);
            Ok(Payload {
                script: row.get(0),
                environment: serde_json::from_str(&environment)
                    .map_err(|e| Error::Other(format!("job {id}: bad environment: {e}")))?,
            })
        })
    }

    fn load_usage(&self) -> Result<Option<UsageBook>> {
        self.read(|session| {
            session
                .query("SELECT book FROM usage WHERE id = 1", &[])?
                .first()
                .map(|row| {
                    let text: String = row.get(0);
                    serde_json::from_str(&text).map_err(|e| {
                        Error::Other(format!("the stored usage book is unreadable: {e}"))
                    })
                })
                .transpose()
        })
    }
}

/// Creates the schema in an empty database, checks it in one this build
/// knows, and refuses one from a newer build.
fn migrate(client: &mut Client) -> Result<()> {
    let mut tx = client.transaction()?;
    // One node migrates at a time (the lock is the scheduler lease's key
    // plus one); the others wait here, then find it done.
    tx.execute("SELECT pg_advisory_xact_lock(1668247141)", &[])?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('conductor_schema') IS NOT NULL", &[])?
        .get(0);
    if !exists {
        tx.batch_execute(&format!(
            "CREATE TABLE conductor_schema (version integer NOT NULL);
             INSERT INTO conductor_schema VALUES ({SCHEMA_VERSION});
             {SCHEMA};
             {};
             {};
             {};
             {};",
            registry::SCHEMA,
            secret::SCHEMA,
            dispatch::SCHEMA,
            crate::daemon::tokens::SCHEMA
        ))?;
        return tx.commit().map_err(Error::from);
    }
    // Added within version 1, before any release: made where missing.
    tx.batch_execute(registry::SCHEMA)?;
    tx.batch_execute(secret::SCHEMA)?;
    tx.batch_execute(dispatch::SCHEMA)?;
    tx.batch_execute(crate::daemon::tokens::SCHEMA)?;
    let version: i32 = tx
        .query_one("SELECT version FROM conductor_schema", &[])?
        .get(0);
    if version > SCHEMA_VERSION {
        return Err(Error::Other(format!(
            "the database has schema version {version}, newer than this conductord \
             understands ({SCHEMA_VERSION}); run a newer conductord"
        )));
    }
    tx.commit().map_err(Error::from)
}

/// Raises the id counter so that the next job gets at least `first`.
fn start_ids_at(client: &mut Client, first: u64) -> Result<()> {
    let below = to_i64(first.saturating_sub(1))?;
    client.execute(
        "UPDATE job_ids SET last = GREATEST(last, $1) WHERE id = 1",
        &[&below],
    )?;
    Ok(())
}

/// The writer thread: takes every queued write, commits them together, and
/// answers each only after the commit.
fn write_loop(mut session: Session, queue: mpsc::Receiver<Write>, on_commit: CommitObserver) {
    let timed = |session: &mut Session, group: &[Write]| {
        let started = std::time::Instant::now();
        let applied = session.in_transaction(|tx, writes| commit_group(tx, writes, group));
        on_commit(started.elapsed());
        applied
    };
    while let Ok(first) = queue.recv() {
        let group = next_group(first, &queue);
        match timed(&mut session, &group) {
            Ok(applied) => answer(group, applied.into_iter().map(Ok).collect()),
            Err(Failed::Before(_)) if group.len() > 1 => {
                // Something in the group failed, and nothing of it was
                // applied: each write on its own, so that one bad write
                // fails alone.
                let results = group
                    .iter()
                    .map(|write| {
                        timed(&mut session, std::slice::from_ref(write))
                            .map(|mut applied| applied.pop().unwrap_or_default())
                            .map_err(Failed::error)
                    })
                    .collect();
                answer(group, results);
            }
            // A COMMIT without an answer may have been applied: trying its
            // writes again could store a submission twice.
            Err(failed) => {
                let e = failed.error();
                let results = group.iter().map(|_| Err(copy(&e))).collect();
                answer(group, results);
            }
        }
    }
}

/// The reader thread: runs each read on its session, opening it again
/// when it was lost.
fn read_loop(mut session: Session, queue: mpsc::Receiver<(Read, mpsc::SyncSender<Result<Reply>>)>) {
    while let Ok((read, reply)) = queue.recv() {
        let _ = reply.send(session.read(read));
    }
}

/// The group's writes, in its one transaction; what each did.
fn commit_group(
    tx: &mut Transaction<'_>,
    writes: &Writes,
    group: &[Write],
) -> Result<Vec<Applied>> {
    let mut applied = Vec::with_capacity(group.len());
    for write in group {
        applied.push(match write {
            Write::Insert(submission, _) => Applied::Inserted(insert(tx, writes, submission)?),
            Write::Update(jobs, usage, _) => {
                update(tx, writes, jobs, usage.as_deref())?;
                Applied::Updated
            }
            Write::Prune(cutoff, _) => Applied::Pruned(prune(tx, writes, *cutoff)?),
        });
    }
    Ok(applied)
}

/// Stores a submission: ids from the counter, its payload once, its jobs
/// in one statement.
fn insert(
    tx: &mut Transaction<'_>,
    writes: &Writes,
    Submission { payload, jobs }: &Submission,
) -> Result<Vec<JobId>> {
    let count = i64::try_from(jobs.len()).map_err(|_| Error::Other("too many jobs".into()))?;
    let last: i64 = tx.query_one(&writes.next_ids, &[&count])?.get(0);
    let first = last - count + 1;
    tx.execute(
        &writes.insert_payload,
        &[&first, &payload.script, &to_json(&payload.environment)?],
    )?;
    let mut rows = Rows::default();
    let mut ids = Vec::with_capacity(jobs.len());
    for (offset, job) in jobs.iter().enumerate() {
        let id = first + offset as i64;
        let mut spec = job.spec.clone();
        if let Some(array) = &mut spec.array {
            array.array_id = JobId(first as u64);
        }
        rows.ids.push(id);
        rows.states.push(job.state().long().to_owned());
        rows.uids.push(i64::from(spec.uid));
        rows.names.push(spec.name.clone());
        rows.submit_times.push(spec.submit_time.timestamp_millis());
        rows.array_ids.push(spec.array.as_ref().map(|_| first));
        rows.specs.push(to_json(&spec)?);
        rows.phases.push(to_json(&job.phase)?);
        ids.push(JobId(id as u64));
    }
    tx.execute(
        &writes.insert_jobs,
        &[
            &rows.ids,
            &rows.states,
            &rows.uids,
            &rows.names,
            &rows.submit_times,
            &rows.array_ids,
            &rows.specs,
            &rows.phases,
            &first,
        ],
    )?;
    Ok(ids)
}

/// The columns of a write's jobs, one array each.
#[derive(Default)]
struct Rows {
    ids: Vec<i64>,
    states: Vec<String>,
    uids: Vec<i64>,
    names: Vec<String>,
    submit_times: Vec<i64>,
    array_ids: Vec<Option<i64>>,
    end_times: Vec<Option<i64>>,
    specs: Vec<String>,
    phases: Vec<String>,
    nodes: Vec<Option<String>>,
    /// Each job's run now (its start, ms), `None` when it is not running.
    runs: Vec<Option<i64>>,
}

/// Writes jobs over their rows (ids not stored are passed over), and the
/// usage book over the stored one.
fn update(
    tx: &mut Transaction<'_>,
    writes: &Writes,
    jobs: &[Job],
    usage: Option<&str>,
) -> Result<()> {
    let mut rows = Rows::default();
    for job in jobs {
        rows.ids.push(to_i64(job.id.0)?);
        rows.states.push(job.state().long().to_owned());
        rows.end_times.push(match &job.phase {
            Phase::Finished { end_time, .. } => Some(end_time.timestamp_millis()),
            _ => None,
        });
        rows.specs.push(to_json(&job.spec)?);
        rows.phases.push(to_json(&job.phase)?);
        let (node, run) = match &job.phase {
            Phase::Running {
                node, start_time, ..
            } => (node.clone(), Some(start_time.timestamp_millis())),
            _ => (None, None),
        };
        rows.nodes.push(node);
        rows.runs.push(run);
    }
    if !rows.ids.is_empty() {
        tx.execute(
            &writes.update_jobs,
            &[
                &rows.ids,
                &rows.states,
                &rows.end_times,
                &rows.specs,
                &rows.phases,
                &rows.nodes,
            ],
        )?;
        tx.execute(&writes.settle_ends, &[&rows.ids, &rows.runs])?;
        tx.execute(&writes.settle_controls, &[&rows.ids, &rows.runs])?;
        let mut woken: Vec<&str> = rows.nodes.iter().flatten().map(String::as_str).collect();
        woken.sort_unstable();
        woken.dedup();
        if !woken.is_empty() {
            tx.execute(&writes.wake_nodes, &[&woken])?;
        }
    }
    if let Some(book) = usage {
        tx.execute(&writes.save_usage, &[&book])?;
    }
    Ok(())
}

/// Deletes finished jobs that ended before `cutoff`, then the payloads
/// they left without a job; how many jobs went.
fn prune(tx: &mut Transaction<'_>, writes: &Writes, cutoff: i64) -> Result<usize> {
    let payloads: Vec<i64> = tx
        .query(&writes.prune_jobs, &[&cutoff])?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let removed = payloads.len();
    if removed > 0 {
        tx.execute(&writes.prune_payloads, &[&payloads])?;
    }
    Ok(removed)
}

fn row_to_job(row: &Row) -> Result<Job> {
    let id: i64 = row.get(0);
    fn decode<T: DeserializeOwned>(id: i64, text: &str) -> Result<T> {
        serde_json::from_str(text)
            .map_err(|e| Error::Other(format!("job {id} in the store cannot be read: {e}")))
    }
    Ok(Job {
        id: JobId(id as u64),
        spec: decode(id, row.get(1))?,
        phase: decode(id, row.get(2))?,
        expected_start: None,
    })
}

fn to_i64(n: u64) -> Result<i64> {
    i64::try_from(n).map_err(|_| Error::Other(format!("id {n} is too large for the store")))
}

/// PostgreSQL's errors are the store's failures (the server answers
/// "store unavailable"), the job store's and the cluster's alike; this
/// lets `?` turn them into one.
impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Error {
        Error::Store(Box::new(e))
    }
}

/// The same failure again, for each write of a group that shares it.
fn copy(e: &Error) -> Error {
    match e {
        Error::Store(inner) => Error::Store(with_causes(&**inner).into()),
        other => Error::Other(other.to_string()),
    }
}

/// An error and its causes, as one line: the driver's own message for a
/// failed connection ("error connecting to server") leaves out why.
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut line = e.to_string();
    let mut cause = e.source();
    while let Some(source) = cause {
        line.push_str(&format!(": {source}"));
        cause = source.source();
    }
    line
}

fn thread_gone() -> Error {
    Error::Other("the store's threads have stopped".into())
}

/// `url` without its password, for messages and `--print-config`.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest
        .split_once('/')
        .map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    match path {
        Some(path) => format!("{scheme}://{authority}/{path}"),
        None => format!("{scheme}://{authority}"),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::super::sqlite::tests::{
        array, finished, finished_phase, new_job, payload, prune_old, runtime, submission,
    };
    use super::super::{JobStore, Submission};
    use super::*;
    use crate::daemon::scheduler::fair_share::UsageBook;
    use crate::testing::postgres::PostgresServer;

    /// A private server, or `None` (the test then passes, saying why)
    /// where PostgreSQL is not installed.
    fn server() -> Option<PostgresServer> {
        PostgresServer::start()
            .map_err(|why| eprintln!("skipped: {why}"))
            .ok()
    }

    fn open(url: &str, first_job_id: u64) -> JobStore {
        JobStore::new(PostgresStore::open(url, first_job_id, Box::new(|_| {})).expect("opens"))
    }

    #[test]
    fn jobs_round_trip_ids_go_on_from_first_job_id_and_are_never_reused() {
        let Some(server) = server() else { return };
        let url = server.url();
        let store = open(&url, 100);
        runtime().block_on(async {
            let ids = store
                .insert(submission(vec![new_job("a"), new_job("b")]))
                .await
                .expect("insert");
            assert_eq!(ids, vec![JobId(100), JobId(101)]);
            assert_eq!(
                store.payload(JobId(101)).expect("payload"),
                payload("#!/bin/sh\n")
            );
            let active = store.load_active().expect("load");
            assert_eq!(active.iter().map(|j| j.id).collect::<Vec<_>>(), ids);
            assert_eq!(active[0].spec.name, "a");
            assert_eq!(store.last_id().expect("last"), 101);

            let old = finished(&store, JobId(100), Duration::days(10));
            let recent = finished(&store, JobId(101), Duration::hours(1));
            let mut unknown = recent.clone();
            unknown.id = JobId(5000);
            store
                .update(vec![old, recent, unknown], None)
                .await
                .expect("an unknown id is passed over");
            assert_eq!(store.get(JobId(5000)).expect("get"), None);
            assert_eq!(prune_old(&store).await.expect("prune"), 1);
            assert!(store.get(JobId(100)).expect("get").is_none());
            assert_eq!(
                store.counts().expect("counts"),
                vec![(JobState::Completed, 1)]
            );
        });
        drop(store);
        // Reopened with a lower first id: ids still go on, never back.
        let store = open(&url, 1);
        let next = runtime()
            .block_on(store.insert(submission(vec![new_job("c")])))
            .expect("insert");
        assert_eq!(next, vec![JobId(102)]);
        drop(store);
        let store = open(&url, 500);
        let next = runtime()
            .block_on(store.insert(submission(vec![new_job("d")])))
            .expect("insert");
        assert_eq!(next, vec![JobId(500)], "raised to a higher first id");
    }

    #[test]
    fn an_arrays_tasks_share_one_payload_which_goes_with_the_last_task() {
        let Some(server) = server() else { return };
        let store = open(&server.url(), 1);
        // On a thread of its own: the sync client cannot block inside the
        // test's runtime.
        let url = server.url();
        let payloads = |_: &mut ()| -> i64 {
            let url = url.clone();
            thread::spawn(move || {
                let mut db = Client::connect(&url, postgres::NoTls).expect("connects");
                db.query_one("SELECT COUNT(*) FROM payloads", &[])
                    .expect("counts")
                    .get(0)
            })
            .join()
            .expect("counts")
        };
        let mut db = ();
        runtime().block_on(async {
            let single = store
                .insert(submission(vec![new_job("one")]))
                .await
                .expect("insert");
            let tasks = store.insert(submission(array(3))).await.expect("insert");
            assert_eq!(tasks, vec![JobId(2), JobId(3), JobId(4)]);
            assert_eq!(payloads(&mut db), 2);
            let related: Vec<JobId> = store
                .related(JobId(2))
                .expect("related")
                .iter()
                .map(|job| job.id)
                .collect();
            assert_eq!(related, tasks);
            let task = store.get(JobId(3)).expect("get").expect("stored");
            assert_eq!(task.spec.array.map(|a| a.array_id), Some(JobId(2)));

            // Finished jobs by the array's id, by user, by state.
            let ended: Vec<Job> = [2, 3, 4, 1]
                .into_iter()
                .map(|id| finished(&store, JobId(id), Duration::days(10)))
                .collect();
            store
                .update(ended[..2].to_vec(), None)
                .await
                .expect("update");
            let filter = FinishedFilter {
                ids: Some(vec![JobId(2)]),
                uids: Some(vec![1]),
                states: vec![JobState::Completed, JobState::Pending],
            };
            let found: Vec<JobId> = store
                .finished(&filter)
                .expect("finished")
                .iter()
                .map(|j| j.id)
                .collect();
            assert_eq!(found, vec![JobId(2), JobId(3)]);
            let nobody = FinishedFilter {
                uids: Some(vec![4242]),
                ..filter.clone()
            };
            assert!(store.finished(&nobody).expect("finished").is_empty());

            // The payload stays while a task is kept.
            assert_eq!(prune_old(&store).await.expect("prune"), 2);
            assert_eq!(payloads(&mut db), 2);
            store
                .update(ended[2..].to_vec(), None)
                .await
                .expect("update");
            assert_eq!(prune_old(&store).await.expect("prune"), 2);
            assert_eq!(payloads(&mut db), 0);
            assert!(
                single
                    .iter()
                    .all(|id| store.get(*id).expect("get").is_none())
            );
        });
    }

    #[test]
    fn the_usage_book_is_written_with_the_ends_it_charged() {
        let Some(server) = server() else { return };
        let url = server.url();
        let store = open(&url, 1);
        assert_eq!(store.load_usage().expect("reads"), None);
        let mut book = UsageBook::new(Utc::now());
        book.charge(1000, "alice", 120.0);
        runtime().block_on(async {
            store
                .insert(submission(vec![new_job("a")]))
                .await
                .expect("insert");
            let mut job = store.get(JobId(1)).expect("get").expect("stored");
            job.phase = finished_phase(Duration::seconds(1));
            store
                .update(vec![job], Some(book.clone()))
                .await
                .expect("update");
        });
        drop(store);
        let store = open(&url, 1);
        assert_eq!(store.load_usage().expect("reads"), Some(book));
        assert_eq!(
            store.get(JobId(1)).expect("get").map(|j| j.state()),
            Some(JobState::Completed)
        );
    }

    #[test]
    fn a_database_from_a_newer_conductord_is_refused() {
        let Some(server) = server() else { return };
        drop(open(&server.url(), 1));
        let mut db = Client::connect(&server.url(), postgres::NoTls).expect("connects");
        db.execute("UPDATE conductor_schema SET version = 99", &[])
            .expect("ages it");
        let refused = PostgresStore::open(&server.url(), 1, Box::new(|_| {}))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            refused.contains("schema version 99, newer than"),
            "{refused}"
        );
    }

    #[test]
    fn a_database_restart_fails_the_writes_made_meanwhile_and_nothing_else() {
        let Some(server) = server() else { return };
        let store = open(&server.url(), 1);
        let rt = runtime();
        let one = |name: &str| Submission {
            payload: payload("#!/bin/sh\n"),
            jobs: vec![new_job(name)],
        };
        assert_eq!(
            rt.block_on(store.insert(one("before"))).expect("insert"),
            vec![JobId(1)]
        );
        server.stop().expect("stops");
        let down = rt.block_on(store.insert(one("during")));
        assert!(matches!(down, Err(Error::Store(_))), "{down:?}");
        assert!(matches!(store.load_active(), Err(Error::Store(_))));
        server.restart().expect("starts again");
        assert_eq!(
            rt.block_on(store.insert(one("after"))).expect("insert"),
            vec![JobId(2)]
        );
        let names: Vec<String> = store
            .load_active()
            .expect("reads again")
            .into_iter()
            .map(|job| job.spec.name)
            .collect();
        assert_eq!(names, ["before", "after"]);
    }

    #[test]
    fn a_password_is_not_shown() {
        assert_eq!(
            redacted("postgres://u:secret@db:5432/c"),
            "postgres://u:***@db:5432/c"
        );
        assert_eq!(redacted("postgres://u@db/c"), "postgres://u@db/c");
        assert_eq!(redacted("postgres://db"), "postgres://db");
    }
}
