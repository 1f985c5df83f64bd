//! What both backends share of their writes: one writer thread per store
//! takes the [`Write`]s from a [`Queue`] in the order they were made,
//! commits them in groups ([`next_group`]), and answers each only after
//! its commit ([`answer`]). Only the SQL differs between the backends.

use std::sync::mpsc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::oneshot;

use super::{StoreFuture, Submission};
use crate::daemon::job::Job;
use crate::daemon::scheduler::fair_share::UsageBook;
use crate::error::{Error, Result};
use crate::protocol::JobId;

/// Most writes that share one transaction.
const MAX_GROUP: usize = 4096;

/// One write, with where its answer goes.
pub(super) enum Write {
    Insert(Submission, oneshot::Sender<Result<Vec<JobId>>>),
    /// Write these jobs, and the usage book (JSON) over the stored one.
    Update(Vec<Job>, Option<String>, oneshot::Sender<Result<()>>),
    /// Delete finished jobs that ended before this time (ms since epoch),
    /// and the payloads that no job points at any more.
    Prune(i64, oneshot::Sender<Result<usize>>),
}

/// What one write did, for its caller.
#[derive(Debug, Default)]
pub(super) enum Applied {
    Inserted(Vec<JobId>),
    #[default]
    Updated,
    Pruned(usize),
}

/// The writer thread's queue, as the backends' [`Backend`](super::Backend)
/// methods fill it.
pub(super) struct Queue(mpsc::Sender<Write>);

impl Queue {
    /// A queue, and the end its writer thread takes the writes from.
    pub(super) fn new() -> (Queue, mpsc::Receiver<Write>) {
        let (sender, receiver) = mpsc::channel();
        (Queue(sender), receiver)
    }

    /// A submission's write; one without jobs is refused (its payload
    /// would take the id of the next submission's).
    pub(super) fn insert(&self, submission: Submission) -> StoreFuture<'_, Vec<JobId>> {
        if submission.jobs.is_empty() {
            return Box::pin(async { Err(Error::Other("a submission without jobs".into())) });
        }
        self.write(|reply| Write::Insert(submission, reply))
    }

    pub(super) fn update(&self, jobs: Vec<Job>, usage: Option<UsageBook>) -> StoreFuture<'_, ()> {
        let usage = match usage.as_ref().map(to_json).transpose() {
            Ok(usage) => usage,
            Err(e) => return Box::pin(async { Err(e) }),
        };
        self.write(|reply| Write::Update(jobs, usage, reply))
    }

    pub(super) fn prune(&self, cutoff: DateTime<Utc>) -> StoreFuture<'_, usize> {
        self.write(move |reply| Write::Prune(cutoff.timestamp_millis(), reply))
    }

    /// Queues a write at once, so that writes apply in the order of the
    /// calls; the future resolves with the writer's answer, which comes
    /// only after the commit.
    fn write<T: Send + 'static>(
        &self,
        write: impl FnOnce(oneshot::Sender<Result<T>>) -> Write,
    ) -> StoreFuture<'_, T> {
        let (reply, answer) = oneshot::channel();
        let queued = self.0.send(write(reply)).is_ok();
        Box::pin(async move {
            if !queued {
                return Err(writer_gone());
            }
            answer.await.map_err(|_| writer_gone())?
        })
    }
}

/// `first` and every write queued behind it, up to a group's most: what
/// the next transaction commits.
pub(super) fn next_group(first: Write, queue: &mpsc::Receiver<Write>) -> Vec<Write> {
    let mut group = vec![first];
    while group.len() < MAX_GROUP {
        match queue.try_recv() {
            Ok(write) => group.push(write),
            Err(_) => break,
        }
    }
    group
}

/// Answers each write of a group with its result, in order.
pub(super) fn answer(group: Vec<Write>, results: Vec<Result<Applied>>) {
    let mut results = results.into_iter();
    for write in group {
        let result = results
            .next()
            .unwrap_or_else(|| Err(Error::Other("the group's commit failed".into())));
        // A caller that stopped waiting is not an error of the store.
        match write {
            Write::Insert(_, reply) => {
                let _ = reply.send(result.map(|applied| match applied {
                    Applied::Inserted(ids) => ids,
                    _ => Vec::new(),
                }));
            }
            Write::Update(_, _, reply) => {
                let _ = reply.send(result.map(|_| ()));
            }
            Write::Prune(_, reply) => {
                let _ = reply.send(result.map(|applied| match applied {
                    Applied::Pruned(n) => n,
                    _ => 0,
                }));
            }
        }
    }
}

/// A job's (or a book's) JSON, as both backends store it.
pub(super) fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Other(format!("cannot encode a job: {e}")))
}

fn writer_gone() -> Error {
    Error::Other("the store writer has stopped".into())
}
