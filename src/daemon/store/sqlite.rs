//! The embedded SQLite backend, the default: one database (WAL,
//! `synchronous=FULL`), `jobs.db` in the state directory.
//!
//! All writes go through one writer thread that commits in groups: every
//! write queued while the previous commit was on disk shares the next
//! transaction and its fsync, and no caller hears back before the commit
//! that holds its write. Reads use a second connection, which WAL lets run
//! beside the writer.
//!
//! A submission's script and environment (its payload) are stored once, in
//! `payloads`, and every job of the submission (one, or all the tasks of an
//! array) points at that row: a thousand tasks of a large script cost one
//! copy. A payload goes when the last job pointing at it is pruned.

use std::path::Path;
use std::sync::{Mutex, mpsc};
use std::thread;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;

use super::writes::{Applied, Queue, Write, answer, next_group, to_json};
use super::{Backend, CommitObserver, FinishedFilter, Payload, StoreFuture, Submission};
use crate::daemon::job::{Job, Phase};
use crate::daemon::log;
use crate::daemon::scheduler::fair_share::UsageBook;
use crate::error::{Error, Result};
use crate::protocol::{JobId, JobState};

/// The schema this build reads and writes; `PRAGMA user_version` holds it.
const SCHEMA_VERSION: i64 = 3;

/// A payload's id is the id of the first job submitted with it, so it is
/// never reused either.
const SCHEMA: &str = "
CREATE TABLE payloads (
    id          INTEGER PRIMARY KEY,
    script      TEXT    NOT NULL,
    environment TEXT    NOT NULL
);
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    state       TEXT    NOT NULL,
    uid         INTEGER NOT NULL,
    name        TEXT    NOT NULL,
    submit_time INTEGER NOT NULL,
    end_time    INTEGER,
    spec        TEXT    NOT NULL,
    phase       TEXT    NOT NULL,
    payload     INTEGER NOT NULL REFERENCES payloads(id)
);
CREATE INDEX jobs_by_state ON jobs(state);
CREATE INDEX jobs_by_payload ON jobs(payload);
";

/// The schema's parts: `SCHEMA` (jobs and payloads, as of version 2) and
/// the usage table version 3 added.
///
/// Version 3's addition: the fair-share usage book, one row written whole
/// (a handful of users, and their usage must be decayed to one moment, so
/// the book is one JSON document rather than a row per user).
const USAGE_TABLE: &str = "
CREATE TABLE usage (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    book TEXT    NOT NULL
);
";

/// Version 1 kept each job's script and environment in its own row; each
/// job's becomes a payload of its own (same id). The table is rebuilt
/// rather than altered so that it ends exactly as `SCHEMA` makes it, and
/// AUTOINCREMENT's counter is carried over so that pruned ids stay unused.
/// Runs after the old table is renamed `jobs_v1` and `SCHEMA` is created.
const COPY_FROM_VERSION_1: &str = "
INSERT INTO payloads (id, script, environment)
    SELECT id, script, environment FROM jobs_v1;
INSERT INTO jobs (id, state, uid, name, submit_time, end_time, spec, phase, payload)
    SELECT id, state, uid, name, submit_time, end_time, spec, phase, id FROM jobs_v1;
DELETE FROM sqlite_sequence WHERE name = 'jobs';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'jobs', seq FROM sqlite_sequence WHERE name = 'jobs_v1';
DROP TABLE jobs_v1;
";

/// The SQLite backend: the writer thread's queue, and the connection reads
/// use.
pub struct SqliteStore {
    writes: Queue,
    reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (or creates) `jobs.db` in `dir`, checks or migrates its schema,
    /// makes sure the next id is at least `first_job_id` (Slurm's
    /// FirstJobId), and starts the writer thread, which tells `on_commit`
    /// how long each commit took.
    pub fn open(dir: &Path, first_job_id: u64, on_commit: CommitObserver) -> Result<SqliteStore> {
        let path = dir.join("jobs.db");
        let unreadable = |e: Error| match e {
            Error::Store(e) => Error::Other(format!(
                "cannot open the job store {}: {e} (the file is left as it is)",
                path.display()
            )),
            other => other,
        };
        let writer = open_connection(&path).map_err(unreadable)?;
        migrate(&writer, &path).map_err(unreadable)?;
        start_ids_at(&writer, first_job_id).map_err(unreadable)?;
        let reader = open_connection(&path).map_err(unreadable)?;
        let (writes, queue) = Queue::new();
        thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(writer, queue, on_commit))
            .map_err(|e| Error::io("cannot start the store writer for", &path, e))?;
        Ok(SqliteStore {
            writes,
            reader: Mutex::new(reader),
        })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self
            .reader
            .lock()
            .map_err(|_| Error::Other("store reader poisoned".into()))?;
        f(&conn)
    }
}

impl Backend for SqliteStore {
    /// One transaction, committed before the ids come back.
    fn insert(&self, submission: Submission) -> StoreFuture<'_, Vec<JobId>> {
        self.writes.insert(submission)
    }

    fn update(&self, jobs: Vec<Job>, usage: Option<UsageBook>) -> StoreFuture<'_, ()> {
        self.writes.update(jobs, usage)
    }

    /// AUTOINCREMENT never hands out a deleted id again.
    fn prune_finished_before(&self, cutoff: DateTime<Utc>) -> StoreFuture<'_, usize> {
        self.writes.prune(cutoff)
    }

    fn load_active(&self) -> Result<Vec<Job>> {
        self.read(|conn| {
            let mut stmt = conn.prepare(
                "SELECT id, spec, phase FROM jobs WHERE state IN ('PENDING', 'RUNNING') ORDER BY id",
            )?;
            let rows = stmt.query_map([], row_to_parts)?;
            rows.map(|row| parts_to_job(row?)).collect()
        })
    }

    fn get(&self, id: JobId) -> Result<Option<Job>> {
        self.read(|conn| {
            conn.query_row(
                "SELECT id, spec, phase FROM jobs WHERE id = ?1",
                [id.0 as i64],
                row_to_parts,
            )
            .optional()?
            .map(parts_to_job)
            .transpose()
        })
    }

    fn finished(&self, filter: &FinishedFilter) -> Result<Vec<Job>> {
        let states: Vec<JobState> = filter
            .states
            .iter()
            .copied()
            .filter(|s| s.is_terminal())
            .collect();
        if states.is_empty() {
            return Ok(Vec::new());
        }
        let state_list = states
            .iter()
            .map(|s| format!("'{}'", s.long()))
            .collect::<Vec<_>>()
            .join(",");
        let mut sql = format!("SELECT id, spec, phase FROM jobs WHERE state IN ({state_list})");
        if let Some(ids) = &filter.ids {
            let ids = ids
                .iter()
                .map(|id| id.0.to_string())
                .collect::<Vec<_>>()
                .join(",");
            sql.push_str(&format!(
                " AND (id IN ({ids}) OR json_extract(spec, '$.array.array_id') IN ({ids}))"
            ));
        }
        if let Some(uids) = &filter.uids {
            let uids = uids.iter().map(u32::to_string).collect::<Vec<_>>();
            sql.push_str(&format!(" AND uid IN ({})", uids.join(",")));
        }
        sql.push_str(" ORDER BY id");
        self.read(|conn| {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map([], row_to_parts)?;
            rows.map(|row| parts_to_job(row?)).collect()
        })
    }

    fn related(&self, id: JobId) -> Result<Vec<Job>> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT id, spec, phase FROM jobs
                 WHERE id = ?1 OR json_extract(spec, '$.array.array_id') = ?1",
            )?;
            let rows = stmt.query_map([id.0 as i64], row_to_parts)?;
            rows.map(|row| parts_to_job(row?)).collect()
        })
    }

    fn last_id(&self) -> Result<u64> {
        self.read(|conn| {
            Ok(conn.query_row(
                "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0)",
                [],
                |row| row.get::<_, i64>(0),
            )? as u64)
        })
    }

    fn load_usage(&self) -> Result<Option<UsageBook>> {
        self.read(|conn| {
            let text: Option<String> = conn
                .query_row("SELECT book FROM usage WHERE id = 1", [], |row| row.get(0))
                .optional()?;
            text.map(|text| {
                serde_json::from_str(&text)
                    .map_err(|e| Error::Other(format!("the stored usage book is unreadable: {e}")))
            })
            .transpose()
        })
    }

    fn counts(&self) -> Result<Vec<(JobState, u64)>> {
        self.read(|conn| {
            let mut stmt =
                conn.prepare_cached("SELECT state, COUNT(*) FROM jobs GROUP BY state")?;
            let rows = stmt.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })?;
            let mut counts = Vec::new();
            for row in rows {
                let (state, count) = row?;
                let state = state.parse::<JobState>().map_err(|e| {
                    Error::Other(format!("a stored job's state is unreadable: {e}"))
                })?;
                counts.push((state, count as u64));
            }
            Ok(counts)
        })
    }

    fn payload(&self, id: JobId) -> Result<Payload> {
        self.read(|conn| {
            let (script, environment): (String, String) = conn.query_row(
                "SELECT payloads.script, payloads.environment
                 FROM jobs JOIN payloads ON payloads.id = jobs.payload
                 WHERE jobs.id = ?1",
                [id.0 as i64],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )?;
            Ok(Payload {
                script,
                environment: serde_json::from_str(&environment)
                    .map_err(|e| Error::Other(format!("job {id}: bad environment: {e}")))?,
            })
        })
    }
}

/// SQLite's errors are the store's failures (which the server answers as
/// "store unavailable"); this lets `?` turn them into one.
impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        Error::Store(Box::new(e))
    }
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Takes effect only on a new, empty database, so it comes before the
    // journal mode (which writes the file's first page); an older store is
    // switched by `ensure_incremental_vacuum`.
    conn.pragma_update(None, "auto_vacuum", 2)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL makes each commit durable in WAL mode; NORMAL would not be.
    conn.pragma_update(None, "synchronous", "FULL")?;
    // The WAL is cut back to this after a checkpoint, so a burst of writes
    // does not leave a large file behind for good.
    conn.pragma_update(None, "journal_size_limit", 16 << 20)?;
    Ok(conn)
}

/// Frees every page on the free list. The pragma frees one page per step,
/// so it is stepped to the end.
fn incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    let mut statement = conn.prepare("PRAGMA incremental_vacuum")?;
    let mut rows = statement.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Pages freed by pruned history go back to the file system: the store uses
/// incremental auto-vacuum. A store made before that is rewritten once
/// (`VACUUM`), at start-up, to switch it over.
fn ensure_incremental_vacuum(conn: &Connection, path: &Path) -> Result<()> {
    const INCREMENTAL: i64 = 2;
    let mode: i64 = conn.pragma_query_value(None, "auto_vacuum", |row| row.get(0))?;
    if mode != INCREMENTAL {
        conn.pragma_update(None, "auto_vacuum", INCREMENTAL)?;
        conn.execute_batch("VACUUM;")?;
        log(format_args!(
            "{}: switched to incremental vacuum (rewritten once)",
            path.display()
        ));
    }
    Ok(())
}

/// Creates the schema in a new database, brings an older one up to date
/// (each step in one transaction), refuses one from a newer build.
fn migrate(conn: &Connection, path: &Path) -> Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        0 => {
            conn.execute_batch(&format!(
                "BEGIN; {SCHEMA} {USAGE_TABLE} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))?;
            return Ok(());
        }
        1 => {
            // Rolled back on drop if any step fails.
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(&format!(
                "ALTER TABLE jobs RENAME TO jobs_v1;
                 DROP INDEX jobs_by_state;
                 {SCHEMA}
                 {USAGE_TABLE}
                 {COPY_FROM_VERSION_1}
                 PRAGMA user_version = {SCHEMA_VERSION};"
            ))?;
            tx.commit()?;
            // The old table's pages go back to the file system.
            incremental_vacuum(conn)?;
            log(format_args!(
                "{}: schema version 1 brought to 2 (one payload per submission)",
                path.display()
            ));
        }
        2 => {
            conn.execute_batch(&format!(
                "BEGIN; {USAGE_TABLE} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))?;
            log(format_args!(
                "{}: schema version 2 brought to 3 (fair-share usage)",
                path.display()
            ));
        }
        SCHEMA_VERSION => {}
        newer => {
            return Err(Error::Other(format!(
                "{} has schema version {newer}, newer than this conductord understands ({SCHEMA_VERSION}); \
                 run a newer conductord or move the file away",
                path.display()
            )));
        }
    }
    ensure_incremental_vacuum(conn, path)
}

/// The writer thread: takes every queued write, commits them together, and
/// answers each only after the commit.
fn write_loop(mut conn: Connection, queue: mpsc::Receiver<Write>, on_commit: CommitObserver) {
    let timed = |conn: &mut Connection, group: &[Write]| {
        let started = std::time::Instant::now();
        let applied = commit_group(conn, group);
        on_commit(started.elapsed());
        applied
    };
    while let Ok(first) = queue.recv() {
        let group = next_group(first, &queue);
        match timed(&mut conn, &group) {
            Ok(ids) => {
                if ids
                    .iter()
                    .any(|a| matches!(a, Applied::Pruned(n) if *n > 0))
                {
                    // Give the pages of the pruned jobs back (after the
                    // commit: it cannot run inside a transaction).
                    if let Err(e) = incremental_vacuum(&conn) {
                        log(format_args!("cannot give pruned pages back: {e}"));
                    }
                }
                answer(group, ids.into_iter().map(Ok).collect());
            }
            Err(_) if group.len() > 1 => {
                // Something in the group failed: give each write its own
                // transaction so one bad write fails alone.
                let results = group
                    .iter()
                    .map(|write| {
                        timed(&mut conn, std::slice::from_ref(write))
                            .map(|mut applied| applied.pop().unwrap_or_default())
                    })
                    .collect();
                answer(group, results);
            }
            Err(e) => answer(group, vec![Err(e)]),
        }
    }
}

/// Raises AUTOINCREMENT's counter so that the next job gets at least
/// `first` (it never lowers it: ids are never reused).
fn start_ids_at(conn: &Connection, first: u64) -> Result<()> {
    let Some(below) = first.checked_sub(1).filter(|b| *b > 0) else {
        return Ok(());
    };
    let below = i64::try_from(below).unwrap_or(i64::MAX);
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| -> Result<()> {
        let current: Option<i64> = conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'jobs'",
                [],
                |row| row.get(0),
            )
            .optional()?;
        match current {
            Some(seq) if seq >= below => {}
            Some(_) => {
                conn.execute(
                    "UPDATE sqlite_sequence SET seq = ?1 WHERE name = 'jobs'",
                    [below],
                )?;
            }
            None => {
                conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('jobs', ?1)",
                    [below],
                )?;
            }
        }
        Ok(())
    })();
    conn.execute_batch(if result.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    result
}

/// One transaction for the group; what each write did.
fn commit_group(conn: &mut Connection, group: &[Write]) -> Result<Vec<Applied>> {
    let tx = conn.transaction()?;
    let mut applied = Vec::with_capacity(group.len());
    {
        let mut insert_payload = tx
            .prepare_cached("INSERT INTO payloads (id, script, environment) VALUES (?1, ?2, ?3)")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO jobs (id, state, uid, name, submit_time, spec, phase, payload)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut update = tx.prepare_cached(
            "UPDATE jobs SET state = ?2, end_time = ?3, spec = ?4, phase = ?5 WHERE id = ?1",
        )?;
        for write in group {
            match write {
                Write::Insert(Submission { payload, jobs }, _) => {
                    // AUTOINCREMENT's counter is the highest id ever used,
                    // so ids continue from it and are never reused.
                    let first: i64 = tx.query_row(
                        "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0) + 1",
                        [],
                        |row| row.get(0),
                    )?;
                    insert_payload.execute(params![
                        first,
                        payload.script,
                        to_json(&payload.environment)?,
                    ])?;
                    let mut assigned = Vec::with_capacity(jobs.len());
                    for (offset, job) in jobs.iter().enumerate() {
                        let id = first + offset as i64;
                        let mut spec = job.spec.clone();
                        if let Some(array) = &mut spec.array {
                            array.array_id = JobId(first as u64);
                        }
                        insert.execute(params![
                            id,
                            job.state().long(),
                            spec.uid,
                            spec.name,
                            spec.submit_time.timestamp_millis(),
                            to_json(&spec)?,
                            to_json(&job.phase)?,
                            first,
                        ])?;
                        assigned.push(JobId(id as u64));
                    }
                    applied.push(Applied::Inserted(assigned));
                }
                Write::Update(jobs, usage, _) => {
                    for job in jobs {
                        let end_time = match &job.phase {
                            Phase::Finished { end_time, .. } => Some(end_time.timestamp_millis()),
                            _ => None,
                        };
                        update.execute(params![
                            job.id.0 as i64,
                            job.state().long(),
                            end_time,
                            to_json(&job.spec)?,
                            to_json(&job.phase)?,
                        ])?;
                    }
                    if let Some(book) = usage {
                        tx.prepare_cached(
                            "INSERT INTO usage (id, book) VALUES (1, ?1)
                             ON CONFLICT (id) DO UPDATE SET book = excluded.book",
                        )?
                        .execute([book])?;
                    }
                    applied.push(Applied::Updated);
                }
                Write::Prune(cutoff, _) => {
                    // One payload per pruned job.
                    let mut payloads: Vec<i64> = tx
                        .prepare_cached(
                            "DELETE FROM jobs WHERE end_time IS NOT NULL AND end_time < ?1
                             AND state NOT IN ('PENDING', 'RUNNING')
                             RETURNING payload",
                        )?
                        .query_map([cutoff], |row| row.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    let removed = payloads.len();
                    payloads.sort_unstable();
                    payloads.dedup();
                    // Only the pruned jobs' payloads can have lost their
                    // last job; an array's stays while any task is kept.
                    let mut orphan = tx.prepare_cached(
                        "DELETE FROM payloads WHERE id = ?1
                         AND NOT EXISTS (SELECT 1 FROM jobs WHERE payload = ?1)",
                    )?;
                    for payload in payloads {
                        orphan.execute([payload])?;
                    }
                    applied.push(Applied::Pruned(removed));
                }
            }
        }
    }
    tx.commit()?;
    Ok(applied)
}

type Parts = (i64, String, String);

fn row_to_parts(row: &rusqlite::Row<'_>) -> rusqlite::Result<Parts> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
}

fn parts_to_job((id, spec, phase): Parts) -> Result<Job> {
    fn decode<T: for<'de> Deserialize<'de>>(id: i64, text: &str) -> Result<T> {
        serde_json::from_str(text)
            .map_err(|e| Error::Other(format!("job {id} in the store cannot be read: {e}")))
    }
    Ok(Job {
        id: JobId(id as u64),
        spec: decode(id, &spec)?,
        phase: decode(id, &phase)?,
        expected_start: None,
    })
}

/// The tests' jobs and submissions, shared with the PostgreSQL backend's
/// tests.
#[cfg(test)]
pub(super) mod tests {
    use std::collections::BTreeMap;

    use super::super::{JobStore, NewJob};
    use super::*;
    use crate::daemon::job::JobSpec;
    use crate::daemon::job::{ArrayTask, FinalState};
    use crate::protocol::{ExitCode, Reason, ResourceRequest};
    use chrono::{Duration, Utc};

    pub(in crate::daemon::store) fn new_job(name: &str) -> NewJob {
        NewJob {
            spec: JobSpec {
                name: name.into(),
                uid: 1,
                gid: 1,
                user: "u".into(),
                partition: "normal".into(),
                request: ResourceRequest {
                    cpus: 1,
                    memory_mb: 0,
                    gpus: 0,
                },
                ntasks: 1,
                cpus_per_task: 1,
                memory_requested: false,
                time_limit: None,
                work_dir: Path::new("/").into(),
                submit_dir: Path::new("/").into(),
                stdout_pattern: None,
                stderr_pattern: None,
                args: Vec::new(),
                priority: 0,
                priority_fixed: false,
                nice: 0,
                submit_time: Utc::now(),
                begin_time: None,
                dependency: None,
                kill_on_invalid_dep: false,
                array: None,
                restarts: 0,
                options: Default::default(),
            },
            phase: Phase::Pending {
                reason: Reason::None,
                hold: None,
            },
        }
    }

    pub(in crate::daemon::store) fn payload(script: &str) -> Payload {
        Payload {
            script: script.into(),
            environment: BTreeMap::from([("A".into(), "1".into())]),
        }
    }

    /// One submission of these jobs, all running one small script.
    pub(in crate::daemon::store) fn submission(jobs: Vec<NewJob>) -> Submission {
        Submission {
            payload: payload("#!/bin/sh\n"),
            jobs,
        }
    }

    /// The tasks of an array, as the daemon makes them.
    pub(in crate::daemon::store) fn array(count: u32) -> Vec<NewJob> {
        (0..count)
            .map(|index| {
                let mut task = new_job("array");
                task.spec.array = Some(ArrayTask {
                    array_id: JobId(0),
                    index,
                    max_running: None,
                    count,
                    min: 0,
                    max: count - 1,
                    step: 1,
                });
                task
            })
            .collect()
    }

    /// What the database holds, in bytes, its WAL folded in.
    fn db_bytes(dir: &Path) -> i64 {
        let conn = Connection::open(dir.join("jobs.db")).expect("open");
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
        let pages: i64 = conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .expect("pages");
        let page_size: i64 = conn
            .pragma_query_value(None, "page_size", |r| r.get(0))
            .expect("page size");
        pages * page_size
    }

    fn payload_rows(dir: &Path) -> i64 {
        let conn = Connection::open(dir.join("jobs.db")).expect("open");
        conn.query_row("SELECT COUNT(*) FROM payloads", [], |r| r.get(0))
            .expect("count")
    }

    pub(in crate::daemon::store) fn prune_old(
        store: &JobStore,
    ) -> impl Future<Output = Result<usize>> {
        store.prune_finished_before(Utc::now() - Duration::days(7))
    }

    pub(in crate::daemon::store) fn finished(
        store: &JobStore,
        id: JobId,
        ended_ago: Duration,
    ) -> Job {
        let mut job = store.get(id).ok().flatten().expect("stored");
        job.phase = finished_phase(ended_ago);
        job
    }

    pub(in crate::daemon::store) fn finished_phase(ended_ago: Duration) -> Phase {
        Phase::Finished {
            state: FinalState::Completed,
            reason: Reason::None,
            exit_code: ExitCode::default(),
            allocation: None,
            start_time: None,
            end_time: Utc::now() - ended_ago,
            cancelled_by: None,
            usage: Default::default(),
            steps: Vec::new(),
            node: None,
        }
    }

    pub(in crate::daemon::store) fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
    }

    #[test]
    fn jobs_round_trip_and_ids_are_never_reused_after_pruning() {
        let dir = tempfile::tempdir().expect("dir");
        let store = JobStore::open(dir.path(), 1).expect("open");
        runtime().block_on(async {
            let ids = store
                .insert(submission(vec![new_job("a"), new_job("b")]))
                .await
                .expect("insert");
            assert_eq!(ids, vec![JobId(1), JobId(2)]);
            let payload = store.payload(JobId(1)).expect("payload");
            assert_eq!(payload.script, "#!/bin/sh\n");
            assert_eq!(store.load_active().expect("load").len(), 2);

            let old = finished(&store, JobId(1), Duration::days(10));
            let recent = finished(&store, JobId(2), Duration::hours(1));
            store.update(vec![old, recent], None).await.expect("update");
            let removed = prune_old(&store).await.expect("prune");
            assert_eq!(removed, 1);
            assert!(store.get(JobId(1)).expect("get").is_none());
            assert!(store.get(JobId(2)).expect("get").is_some());
            let next = store
                .insert(submission(vec![new_job("c")]))
                .await
                .expect("insert");
            assert_eq!(next, vec![JobId(3)]);
        });
    }

    #[test]
    fn pruned_history_gives_its_space_back() {
        let dir = tempfile::tempdir().expect("dir");
        let store = JobStore::open(dir.path(), 1).expect("open");
        runtime().block_on(async {
            let script = format!("#!/bin/sh\n# {}\n", "x".repeat(64 << 10));
            let mut ids = Vec::new();
            for i in 0..64 {
                let big = Submission {
                    payload: payload(&script),
                    jobs: vec![new_job(&format!("j{i}"))],
                };
                ids.extend(store.insert(big).await.expect("insert"));
            }
            let ended: Vec<Job> = ids
                .iter()
                .map(|id| finished(&store, *id, Duration::days(30)))
                .collect();
            store.update(ended, None).await.expect("update");
            let full = db_bytes(dir.path());
            let removed = prune_old(&store).await.expect("prune");
            assert_eq!(removed, 64);
            assert_eq!(payload_rows(dir.path()), 0);
            let after = db_bytes(dir.path());
            assert!(
                after * 4 < full,
                "{full} bytes before, {after} after the prune"
            );
        });
    }

    #[test]
    fn an_arrays_tasks_store_its_script_once() {
        let dir = tempfile::tempdir().expect("dir");
        let store = JobStore::open(dir.path(), 1).expect("open");
        let script = format!("#!/bin/sh\n# {}\n", "x".repeat(256 << 10));
        runtime().block_on(async {
            let before = db_bytes(dir.path());
            let ids = store
                .insert(Submission {
                    payload: payload(&script),
                    jobs: array(1001),
                })
                .await
                .expect("insert");
            assert_eq!(ids.len(), 1001);
            let grown = db_bytes(dir.path()) - before;
            // One copy of the script is 256 KiB; one per task was 256 MiB.
            assert!(grown < 2 << 20, "the store grew by {grown} bytes");
            assert_eq!(payload_rows(dir.path()), 1);
            for id in ids {
                assert_eq!(store.payload(id).expect("payload"), payload(&script));
                let task = store.get(id).expect("get").expect("stored");
                assert_eq!(task.spec.array.expect("task").array_id, JobId(1));
            }
        });
    }

    #[test]
    fn an_arrays_payload_goes_with_its_last_task() {
        let dir = tempfile::tempdir().expect("dir");
        let store = JobStore::open(dir.path(), 1).expect("open");
        runtime().block_on(async {
            let ids = store.insert(submission(array(3))).await.expect("insert");
            let lone = store
                .insert(submission(vec![new_job("lone")]))
                .await
                .expect("insert");
            // Two tasks end long ago; the third is still pending.
            let ended = ids[..2]
                .iter()
                .map(|id| finished(&store, *id, Duration::days(30)))
                .collect();
            store.update(ended, None).await.expect("update");
            assert_eq!(prune_old(&store).await.expect("prune"), 2);
            assert_eq!(store.payload(ids[2]).expect("kept"), payload("#!/bin/sh\n"));
            assert_eq!(payload_rows(dir.path()), 2);

            let last = finished(&store, ids[2], Duration::days(30));
            store.update(vec![last], None).await.expect("update");
            assert_eq!(prune_old(&store).await.expect("prune"), 1);
            assert_eq!(payload_rows(dir.path()), 1, "the lone job's stays");
            assert!(store.payload(ids[2]).is_err());
            assert!(store.payload(lone[0]).is_ok());
        });
    }

    /// The schema of version 1, as those daemons made it.
    const SCHEMA_V1: &str = "
        CREATE TABLE jobs (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            state       TEXT    NOT NULL,
            uid         INTEGER NOT NULL,
            name        TEXT    NOT NULL,
            submit_time INTEGER NOT NULL,
            end_time    INTEGER,
            spec        TEXT    NOT NULL,
            phase       TEXT    NOT NULL,
            script      TEXT    NOT NULL,
            environment TEXT    NOT NULL
        );
        CREATE INDEX jobs_by_state ON jobs(state);
        PRAGMA user_version = 1;
    ";

    #[test]
    fn a_version_1_store_keeps_its_scripts_and_environments() {
        let dir = tempfile::tempdir().expect("dir");
        let conn = Connection::open(dir.path().join("jobs.db")).expect("open");
        conn.pragma_update(None, "auto_vacuum", 2).expect("vacuum");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.execute_batch(SCHEMA_V1).expect("old store");
        let ended = (Utc::now() - Duration::days(30)).timestamp_millis();
        let rows = [
            (
                1,
                "COMPLETED",
                Some(ended),
                finished_phase(Duration::days(30)),
                "ONE",
            ),
            (2, "PENDING", None, new_job("b").phase, "TWO"),
        ];
        for (id, state, end_time, phase, variable) in rows {
            let environment = BTreeMap::from([(variable.to_string(), id.to_string())]);
            conn.execute(
                "INSERT INTO jobs (id, state, uid, name, submit_time, end_time, spec, phase,
                                   script, environment)
                 VALUES (?1, ?2, 1, 'j', 0, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    state,
                    end_time,
                    to_json(&new_job("j").spec).expect("spec"),
                    to_json(&phase).expect("phase"),
                    format!("#!/bin/sh\necho {variable}\n"),
                    to_json(&environment).expect("environment"),
                ],
            )
            .expect("row");
        }
        // Jobs 3 to 5 were pruned: their ids stay used.
        conn.execute("UPDATE sqlite_sequence SET seq = 5 WHERE name = 'jobs'", [])
            .expect("sequence");
        drop(conn);

        let store = JobStore::open(dir.path(), 1).expect("migrated");
        for (id, variable) in [(1, "ONE"), (2, "TWO")] {
            let payload = store.payload(JobId(id)).expect("payload");
            assert_eq!(payload.script, format!("#!/bin/sh\necho {variable}\n"));
            assert_eq!(
                payload.environment,
                BTreeMap::from([(variable.to_string(), id.to_string())])
            );
        }
        assert_eq!(store.load_active().expect("load").len(), 1);
        assert_eq!(store.last_id().expect("last"), 5);
        let conn = Connection::open(dir.path().join("jobs.db")).expect("open");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('jobs')")
            .expect("columns")
            .query_map([], |r| r.get(0))
            .expect("columns")
            .collect::<rusqlite::Result<_>>()
            .expect("columns");
        assert!(columns.contains(&"payload".to_string()), "{columns:?}");
        assert!(!columns.contains(&"script".to_string()), "{columns:?}");
        drop(conn);
        runtime().block_on(async {
            let next = store
                .insert(submission(vec![new_job("c")]))
                .await
                .expect("insert");
            assert_eq!(next, vec![JobId(6)]);
            store
                .update(vec![finished(&store, JobId(2), Duration::days(30))], None)
                .await
                .expect("update");
            assert_eq!(prune_old(&store).await.expect("prune"), 2);
            assert_eq!(payload_rows(dir.path()), 1);
        });
    }

    #[test]
    fn an_older_store_is_switched_to_incremental_vacuum() {
        let dir = tempfile::tempdir().expect("dir");
        // As older daemons made it: WAL, no auto-vacuum.
        let conn = Connection::open(dir.path().join("jobs.db")).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL")
            .expect("wal");
        conn.execute_batch(&format!(
            "{SCHEMA} {USAGE_TABLE} PRAGMA user_version = {SCHEMA_VERSION};"
        ))
        .expect("old store");
        drop(conn);
        drop(JobStore::open(dir.path(), 1).expect("open"));
        let conn = Connection::open(dir.path().join("jobs.db")).expect("open");
        let mode: i64 = conn
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, 2);
    }

    #[test]
    fn the_usage_book_is_written_with_the_ends_it_charged_and_read_back_after_reopening() {
        let dir = tempfile::tempdir().expect("dir");
        let store = JobStore::open(dir.path(), 1).expect("open");
        assert_eq!(store.load_usage().expect("read"), None);
        let mut book = UsageBook::new(Utc::now());
        book.charge(1000, "alice", 12.5);
        runtime().block_on(async {
            store
                .insert(submission(vec![new_job("charged")]))
                .await
                .expect("insert");
            store
                .update(Vec::new(), Some(book.clone()))
                .await
                .expect("save");
            book.charge(1001, "bob", 3.0);
            book.charged_until = Some(book.as_of);
            let end = finished(&store, JobId(1), Duration::seconds(1));
            store
                .update(vec![end], Some(book.clone()))
                .await
                .expect("save again, with the end it charged");
            // A write without a book leaves the stored one as it is.
            store.update(Vec::new(), None).await.expect("no book");
        });
        drop(store);
        let store = JobStore::open(dir.path(), 1).expect("reopen");
        assert_eq!(store.load_usage().expect("read"), Some(book));
        assert!(matches!(
            store.get(JobId(1)).expect("read").map(|job| job.phase),
            Some(Phase::Finished { .. })
        ));
    }

    #[test]
    fn a_version_2_store_gains_the_usage_table_and_keeps_its_jobs() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("jobs.db");
        // As version 2 made it, with one job in it.
        let store = JobStore::open(dir.path(), 1).expect("open");
        runtime().block_on(async {
            store
                .insert(submission(vec![new_job("kept")]))
                .await
                .expect("insert");
        });
        drop(store);
        let conn = Connection::open(&path).expect("open");
        conn.execute_batch("DROP TABLE usage; PRAGMA user_version = 2;")
            .expect("back to version 2");
        drop(conn);
        let store = JobStore::open(dir.path(), 1).expect("migrated");
        assert_eq!(store.load_active().expect("load").len(), 1);
        assert_eq!(store.load_usage().expect("read"), None);
        runtime().block_on(async {
            store
                .update(Vec::new(), Some(UsageBook::new(Utc::now())))
                .await
                .expect("the table is there");
        });
        let conn = Connection::open(&path).expect("open");
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
    }

    #[test]
    fn a_store_from_a_newer_conductord_is_refused_with_a_clear_message() {
        let dir = tempfile::tempdir().expect("dir");
        drop(JobStore::open(dir.path(), 1).expect("open"));
        let conn = Connection::open(dir.path().join("jobs.db")).expect("open");
        conn.pragma_update(None, "user_version", 99).expect("bump");
        drop(conn);
        let error = JobStore::open(dir.path(), 1).err().expect("refused");
        assert!(
            error.to_string().contains("newer than this conductord"),
            "{error}"
        );
    }

    #[test]
    fn a_corrupt_store_is_refused_not_replaced() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("jobs.db");
        std::fs::write(&path, b"this is not a database, but it is somebody's file").expect("write");
        let error = JobStore::open(dir.path(), 1).err().expect("refused");
        assert!(error.to_string().contains("not a database"), "{error}");
        assert!(
            std::fs::read(&path)
                .expect("kept")
                .starts_with(b"this is not")
        );
    }
}
