//! The `GET /v1/jobs` reply, written straight from the jobs into one buffer:
//! each job's whole `JobInfo`, or only the fields the client asked for.
//!
//! A listing of 100,000 jobs must not stop the daemon: the matching ids are
//! taken under the state lock, then the jobs are written a chunk at a time,
//! each chunk under its own short hold of the lock. No `JobInfo` is built
//! for a field-limited listing and nothing bigger than an id is sorted.

use std::ops::Range;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use super::Daemon;
use super::job::{Dependencies, Job, Phase};
use super::store::FinishedFilter;
use super::tracker::Allocation;
use crate::error::Result;
use crate::protocol::{ExitCode, FieldSet, JobField, JobId, Reason};

/// Jobs written per hold of the state lock: a few hundred microseconds, so
/// submissions and scheduling passes get in between.
const CHUNK: usize = 1024;

/// What each job of the reply carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The whole `JobInfo`, nulls included: the documented shape.
    Full,
    /// Only these fields, and of them only the ones that are neither null
    /// nor empty (a client reads a missing one as its default).
    Fields(FieldSet),
}

/// The reply body, `{"jobs":[...]}`, sorted by job id: the active jobs that
/// `matches` accepts and, with `finished`, the finished ones from the store.
///
/// The listing is not one snapshot: a job is written as it is when its chunk
/// is. A job that leaves memory meanwhile has had its final record committed
/// first, and the store is read after the jobs in memory, so with `finished`
/// no job falls between the two.
pub(super) fn body(
    daemon: &Daemon,
    matches: &dyn Fn(&Job) -> bool,
    shape: Shape,
    finished: Option<&FinishedFilter>,
) -> Result<Vec<u8>> {
    let node = daemon.node();
    let mut ids: Vec<JobId> = daemon
        .state()
        .jobs
        .values()
        .filter(|job| matches(job))
        .map(|job| job.id)
        .collect();
    ids.sort_unstable();

    let mut out = Vec::with_capacity(64 + ids.len() * 128);
    out.extend_from_slice(b"{\"jobs\":[");
    // Where each job written from memory lies in `out`, for the merge below.
    let mut written: Vec<(JobId, Range<usize>)> = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let state = daemon.state();
        for job in chunk.iter().filter_map(|id| state.jobs.get(id)) {
            if !matches(job) {
                continue;
            }
            if !written.is_empty() {
                out.push(b',');
            }
            let start = out.len();
            write_job(&mut out, job, node, shape)?;
            written.push((job.id, start..out.len()));
        }
    }

    let stored: Vec<Job> = match finished {
        None => Vec::new(),
        Some(filter) => {
            let mut stored: Vec<Job> = daemon
                .store
                .finished(filter)?
                .into_iter()
                .filter(|job| matches(job))
                .filter(|job| {
                    written
                        .binary_search_by_key(&job.id, |(id, _)| *id)
                        .is_err()
                })
                .collect();
            stored.sort_unstable_by_key(|job| job.id);
            stored
        }
    };
    if stored.is_empty() {
        out.extend_from_slice(b"]}");
        return Ok(out);
    }

    // Merge the finished jobs in by id, copying the jobs already written.
    let mut merged = Vec::with_capacity(out.len() + stored.len() * 512);
    merged.extend_from_slice(b"{\"jobs\":[");
    let mut memory = written.iter().peekable();
    let mut stored = stored.iter().peekable();
    let mut first = true;
    loop {
        let from_memory = match (memory.peek(), stored.peek()) {
            (None, None) => break,
            (Some((id, _)), Some(job)) => *id < job.id,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if !first {
            merged.push(b',');
        }
        first = false;
        if from_memory {
            if let Some((_, range)) = memory.next() {
                merged.extend_from_slice(&out[range.clone()]);
            }
        } else if let Some(job) = stored.next() {
            write_job(&mut merged, job, node, shape)?;
        }
    }
    merged.extend_from_slice(b"]}");
    Ok(merged)
}

/// Appends one job's JSON object.
fn write_job(out: &mut Vec<u8>, job: &Job, node: &str, shape: Shape) -> Result<()> {
    let written = match shape {
        Shape::Full => serde_json::to_writer(&mut *out, &job.info(node)),
        Shape::Fields(fields) => write_fields(out, job, node, fields),
    };
    written.map_err(|e| crate::error::Error::Other(format!("cannot encode a job: {e}")))
}

/// What a job's phase says, as `Job::info` reads it.
struct PhaseFacts<'a> {
    reason: Reason,
    allocation: Option<&'a Allocation>,
    start_time: Option<chrono::DateTime<chrono::Utc>>,
    end_time: Option<chrono::DateTime<chrono::Utc>>,
    exit_code: Option<ExitCode>,
    cancelled_by: Option<u32>,
    max_rss_kb: Option<u64>,
}

impl<'a> PhaseFacts<'a> {
    fn of(phase: &'a Phase) -> PhaseFacts<'a> {
        let none = PhaseFacts {
            reason: Reason::None,
            allocation: None,
            start_time: None,
            end_time: None,
            exit_code: None,
            cancelled_by: None,
            max_rss_kb: None,
        };
        match phase {
            Phase::Pending { reason, .. } => PhaseFacts {
                reason: *reason,
                ..none
            },
            Phase::Running {
                allocation,
                start_time,
            } => PhaseFacts {
                allocation: Some(allocation),
                start_time: Some(*start_time),
                ..none
            },
            Phase::Finished {
                reason,
                exit_code,
                allocation,
                start_time,
                end_time,
                cancelled_by,
                max_rss_kb,
                ..
            } => PhaseFacts {
                reason: *reason,
                allocation: allocation.as_ref(),
                start_time: *start_time,
                end_time: Some(*end_time),
                exit_code: Some(*exit_code),
                cancelled_by: *cancelled_by,
                max_rss_kb: *max_rss_kb,
            },
        }
    }
}

/// One job's object with only `fields`, each valued as `Job::info` values
/// it (a test holds the two together); null and empty values are left out.
fn write_fields(
    out: &mut Vec<u8>,
    job: &Job,
    node: &str,
    fields: FieldSet,
) -> serde_json::Result<()> {
    fn put<M: SerializeMap, T: Serialize + ?Sized>(
        map: &mut M,
        field: JobField,
        value: &T,
    ) -> Result<(), M::Error> {
        map.serialize_entry(field.name(), value)
    }
    fn put_some<M: SerializeMap, T: Serialize>(
        map: &mut M,
        field: JobField,
        value: Option<T>,
    ) -> Result<(), M::Error> {
        value.map_or(Ok(()), |value| map.serialize_entry(field.name(), &value))
    }
    let spec = &job.spec;
    let options = &spec.options;
    let facts = PhaseFacts::of(&job.phase);
    let mut serializer = serde_json::Serializer::new(out);
    let mut map = serializer.serialize_map(None)?;
    for field in fields.iter() {
        let m = &mut map;
        match field {
            JobField::JobId => put(m, field, &job.id),
            JobField::Name => put(m, field, &spec.name),
            JobField::User => put(m, field, &spec.user),
            JobField::Uid => put(m, field, &spec.uid),
            JobField::Partition => put(m, field, &spec.partition),
            JobField::State => put(m, field, &job.state()),
            JobField::Reason => put(m, field, &facts.reason),
            JobField::Cpus => put(
                m,
                field,
                &facts
                    .allocation
                    .map_or(spec.request.cpus, |a| a.cpu_ids.len() as u32),
            ),
            JobField::Ntasks => put(m, field, &spec.ntasks),
            JobField::CpusPerTask => put(m, field, &spec.cpus_per_task),
            JobField::MemoryMb => put(m, field, &spec.request.memory_mb),
            JobField::Gpus => put(m, field, &spec.request.gpus),
            JobField::CpuIds => put_some(
                m,
                field,
                facts
                    .allocation
                    .map(|a| &a.cpu_ids)
                    .filter(|v| !v.is_empty()),
            ),
            JobField::GpuIds => put_some(
                m,
                field,
                facts
                    .allocation
                    .map(|a| &a.gpu_ids)
                    .filter(|v| !v.is_empty()),
            ),
            JobField::Node => put_some(m, field, facts.allocation.map(|_| node)),
            JobField::SubmitTime => put(m, field, &spec.submit_time),
            JobField::StartTime => put_some(m, field, facts.start_time),
            JobField::EndTime => put_some(m, field, facts.end_time),
            JobField::TimeLimit => put_some(m, field, spec.time_limit),
            JobField::ExitCode => put_some(m, field, facts.exit_code),
            JobField::WorkDir => put(m, field, &spec.work_dir),
            JobField::Stdout => put(m, field, &job.stdout_path(node)),
            JobField::Stderr => put(m, field, &job.stderr_path(node)),
            JobField::Stdin => put(m, field, &job.stdin_path(node)),
            JobField::Gid => put(m, field, &spec.gid),
            JobField::SubmitDir => put(m, field, &spec.submit_dir),
            JobField::Command => put_some(m, field, options.command.as_ref()),
            JobField::ArrayJobId => put_some(m, field, spec.array.map(|a| a.array_id)),
            JobField::ArrayTaskId => put_some(m, field, spec.array.map(|a| a.index)),
            JobField::ArrayMaxRunning => put_some(m, field, spec.array.and_then(|a| a.max_running)),
            JobField::Dependency => put_some(
                m,
                field,
                spec.dependency.as_ref().and_then(Dependencies::remaining),
            ),
            JobField::BeginTime => put_some(m, field, spec.begin_time),
            JobField::Priority => put(m, field, &spec.priority),
            JobField::Nice => put(m, field, &spec.nice),
            JobField::Restarts => put(m, field, &spec.restarts),
            JobField::CancelledBy => put_some(m, field, facts.cancelled_by),
            JobField::Exclusive => put(m, field, &options.exclusive),
            JobField::MemoryPerCpuMb => put_some(m, field, options.memory_per_cpu_mb),
            JobField::MaxRssKb => put_some(m, field, facts.max_rss_kb),
            JobField::Comment => put_some(m, field, options.comment.as_ref()),
            JobField::Account => put_some(m, field, options.account.as_ref()),
            JobField::Qos => put_some(m, field, options.qos.as_ref()),
            JobField::Wckey => put_some(m, field, options.wckey.as_ref()),
        }?;
    }
    map.end()
}
