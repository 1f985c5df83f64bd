//! The job store: where every job, and each submission's script and
//! environment, is kept on disk, behind the [`Backend`] trait: the
//! embedded SQLite one ([`sqlite`], the default), or a PostgreSQL
//! database that several machines can share ([`postgres`]).
//!
//! The daemon holds a [`JobStore`], a cheap handle to one backend as a
//! trait object, and calls the trait's methods through it. A trait object
//! rather than a type parameter on `Daemon`: the backend is chosen once,
//! at start-up (by `--store`), and a
//! parameter would have to be threaded through every `impl Daemon` block
//! of the daemon's files for no gain. Trait objects cannot have `async fn`,
//! so the writes return a boxed future ([`StoreFuture`]); its allocation is
//! nothing beside the fsync each write waits for, and callers `.await` it
//! as they did the old `async fn`s.
//!
//! Reads are plain functions, as before: the daemon calls them from code
//! that is not async (dependency checks, listings under the state lock),
//! so a backend must answer them promptly from local state or a short
//! blocking query.

pub mod postgres;
pub mod sqlite;
mod writes;

use std::collections::BTreeMap;
use std::future::Future;
use std::ops::Deref;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::daemon::job::{Job, JobSpec, Phase};
use crate::daemon::scheduler::fair_share::UsageBook;
use crate::error::Result;
use crate::protocol::{JobId, JobState};

/// A job as submitted: its spec and first phase. For array tasks the store
/// fills in the array's id (the first task's id) when it assigns the ids.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// What was asked for; `array.array_id` is set by the store.
    pub spec: JobSpec,
    /// Pending, or running for a job started as it was accepted.
    pub phase: Phase,
}

/// What one submission stores: its payload, once, and its jobs (one, or
/// the tasks of an array), which all run it.
#[derive(Debug, Clone)]
pub struct Submission {
    /// Shared by every job of the submission.
    pub payload: Payload,
    /// At least one; the tasks of an array in index order.
    pub jobs: Vec<NewJob>,
}

impl NewJob {
    /// The state its first phase stands for: pending, or running for a job
    /// started as it was accepted.
    fn state(&self) -> JobState {
        match self.phase {
            Phase::Running { .. } => JobState::Running,
            _ => JobState::Pending,
        }
    }
}

/// What a job needs at launch that is kept on disk, not in memory; shared
/// by all the jobs of a submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// The batch script, as submitted.
    pub script: String,
    /// The environment the job starts with.
    pub environment: BTreeMap<String, String>,
}

/// Filters for reading finished jobs back.
#[derive(Debug, Clone, Default)]
pub struct FinishedFilter {
    /// Jobs with one of these ids, or tasks of an array with one of them
    /// as its id; `None` is any.
    pub ids: Option<Vec<JobId>>,
    /// Jobs of these users; `None` is any.
    pub uids: Option<Vec<u32>>,
    /// The states wanted; those that are not terminal are ignored, and
    /// none (or none terminal) selects nothing.
    pub states: Vec<JobState>,
}

/// What a backend's write hands back: a future that resolves once the
/// write is durable (or has failed). `Send`, as the daemon's tasks run on
/// any thread.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Told how long each commit took (the transaction and its fsync), by the
/// thread that commits: it feeds the metrics' commit histogram, and must
/// be quick.
pub type CommitObserver = Box<dyn Fn(Duration) + Send>;

/// A place the daemon keeps its jobs. What every backend must guarantee,
/// because the daemon relies on it:
///
/// - **Durable before acknowledged.** A write's future resolves `Ok` only
///   once the write would survive a crash or power loss (SQLite: committed
///   with `synchronous=FULL`); the daemon tells clients a job exists, or
///   has ended, only after that.
/// - **All or nothing per call.** A write that fails leaves nothing of
///   itself behind (a submission's payload and all its jobs, every job of
///   one `update`), and one failing write does not fail others that happen
///   to be committed with it.
/// - **Writes apply in the order of the calls**, not of the polls of
///   their futures: a caller that makes its write under the daemon's state
///   lock knows no later state of the same job is overwritten by it.
/// - **Reads see acknowledged writes.** Once a write's future has resolved,
///   every read reflects it.
/// - **Ids increase and are never reused.** A submission's jobs get
///   consecutive ids, each above every id ever handed out, pruned jobs'
///   included, and never below the `first_job_id` the store was opened
///   with; the next submission's first id is [`Backend::last_id`] + 1.
/// - **One payload per submission.** An array's tasks share their
///   submission's payload (it is stored once, not per task); it is removed
///   when the last job pointing at it is pruned, and not before.
/// - **Errors are the crate's.** A backend's own failures come back as
///   [`Error::Store`](crate::Error::Store) (its error boxed, so that the
///   server answers "store unavailable"), bad data as `Error::Other`.
pub trait Backend: Send + Sync {
    /// Stores a submission (its payload once, and its jobs) and returns
    /// the jobs' ids, consecutive and in the order of `submission.jobs`.
    /// An array task's `spec.array.array_id` is set to the first task's
    /// id. A submission without jobs is refused.
    fn insert(&self, submission: Submission) -> StoreFuture<'_, Vec<JobId>>;

    /// Writes the jobs' current spec and phase (and the state and end time
    /// they imply) over those stored under their ids, and the fair-share
    /// usage book (when given) over the one stored, in one all-or-nothing
    /// write; ids the store does not hold are passed over. The book goes
    /// with the ends it charged, so a crash can neither lose a charge nor,
    /// by finishing the job again, make it twice.
    fn update(&self, jobs: Vec<Job>, usage: Option<UsageBook>) -> StoreFuture<'_, ()>;

    /// Deletes the finished jobs that ended before `cutoff`, and the
    /// payloads left without a job; returns how many jobs went. Their ids
    /// stay used.
    fn prune_finished_before(&self, cutoff: DateTime<Utc>) -> StoreFuture<'_, usize>;

    /// Every job that is not finished (pending or running), by id: what
    /// the daemon holds in memory.
    fn load_active(&self) -> Result<Vec<Job>>;

    /// One job, whatever its state; `None` when the store has no such job.
    fn get(&self, id: JobId) -> Result<Option<Job>>;

    /// Finished jobs matching the filter, by id.
    fn finished(&self, filter: &FinishedFilter) -> Result<Vec<Job>>;

    /// The job with this id and, if it is an array, all its tasks (those
    /// whose array id it is), in any state.
    fn related(&self, id: JobId) -> Result<Vec<Job>>;

    /// How many jobs the store holds in each state (finished ones until
    /// they are pruned); states without a job are left out.
    fn counts(&self) -> Result<Vec<(JobState, u64)>>;

    /// The highest id handed out so far, pruned jobs' included, raised to
    /// `first_job_id - 1` at opening; 0 for none.
    fn last_id(&self) -> Result<u64>;

    /// The payload of a job's submission, read at launch; an error when
    /// the store has no such job.
    fn payload(&self, id: JobId) -> Result<Payload>;

    /// The usage book last written; `None` before the first.
    fn load_usage(&self) -> Result<Option<UsageBook>>;
}

/// Handle to the daemon's store; cheap to share. It derefs to the
/// [`Backend`], so the daemon calls the trait's methods on it directly.
#[derive(Clone)]
pub struct JobStore {
    backend: Arc<dyn Backend>,
}

impl JobStore {
    /// [`JobStore::open_observed`] with no one told of the commits: for
    /// tests.
    #[cfg(test)]
    pub fn open(dir: &Path, first_job_id: u64) -> Result<JobStore> {
        JobStore::open_observed(dir, None, first_job_id, Box::new(|_| {}))
    }

    /// Opens the store: the PostgreSQL database at `url` when one is given
    /// (see [`postgres::PostgresStore::open`]), else the default, SQLite's
    /// `jobs.db` in `dir` (see [`sqlite::SqliteStore::open`]); with ids
    /// starting at least at `first_job_id` (Slurm's FirstJobId).
    /// `on_commit` is told how long each commit took.
    pub fn open_observed(
        dir: &Path,
        url: Option<&str>,
        first_job_id: u64,
        on_commit: CommitObserver,
    ) -> Result<JobStore> {
        Ok(match url {
            Some(url) => {
                JobStore::new(postgres::PostgresStore::open(url, first_job_id, on_commit)?)
            }
            None => JobStore::new(sqlite::SqliteStore::open(dir, first_job_id, on_commit)?),
        })
    }

    /// A handle to this backend.
    pub fn new(backend: impl Backend + 'static) -> JobStore {
        JobStore {
            backend: Arc::new(backend),
        }
    }
}

impl Deref for JobStore {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}
