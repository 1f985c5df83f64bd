//! The `GET /v1/jobs` reply, written straight from the jobs into one buffer:
//! each job's whole `JobInfo`, or only the fields the client asked for.
//!
//! A listing of 100,000 jobs must not stop the daemon: the matching ids are
//! taken under the state lock, then the jobs are written a chunk at a time,
//! each chunk under its own short hold of the lock. No `JobInfo` is built
//! for a field-limited listing, and what is sorted is ids with where
//! their jobs were written.

use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use super::Daemon;
use super::job::{Dependencies, Job, Phase};
use super::store::FinishedFilter;
use super::tracker::Allocation;
use crate::error::Result;
use crate::protocol::{ExitCode, FieldSet, JobField, JobId, Reason, Usage};

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
    /// Each job an array of these fields' values, in `JobField` order, null
    /// for none (`format=rows`), after the list of the fields.
    Rows(FieldSet),
}

impl Shape {
    /// The reply up to its first job.
    fn opening(self) -> Vec<u8> {
        match self {
            Shape::Full | Shape::Fields(_) => b"{\"jobs\":[".to_vec(),
            Shape::Rows(fields) => {
                let names: Vec<&str> = fields.iter().map(JobField::name).collect();
                let mut out = b"{\"fields\":".to_vec();
                // Field names are plain words: this cannot fail.
                let _ = serde_json::to_writer(&mut out, &names);
                out.extend_from_slice(b",\"jobs\":[");
                out
            }
        }
    }
}

/// The reply body, `{"jobs":[...]}`, sorted by job id: the active jobs that
/// `matches` accepts and, with `finished`, the finished ones from the store.
///
/// The listing is not one snapshot: a job is written as it is when its chunk
/// is. A job that leaves memory meanwhile has had its final record committed
/// first, and the store is read after the jobs in memory, so with `finished`
/// no job falls between the two.
///
/// `ids`, when the filter names jobs, lets a listing of a few jobs (what
/// `ccancel ID` and `cqueue -j ID` ask) look them up rather than look at
/// every job in memory; `matches` still decides.
pub(super) fn body(
    daemon: &Daemon,
    matches: &dyn Fn(&Job) -> bool,
    ids: Option<&[JobId]>,
    shape: Shape,
    finished: Option<&FinishedFilter>,
) -> Result<Vec<u8>> {
    let node = daemon.node();
    // A running job's usage is read from its cgroup, only when asked for.
    let usage_fields = [
        JobField::MaxRssKb,
        JobField::TotalCpuUsec,
        JobField::UserCpuUsec,
        JobField::SystemCpuUsec,
    ];
    let wants_usage = match shape {
        Shape::Full => true,
        Shape::Fields(fields) | Shape::Rows(fields) => {
            usage_fields.iter().any(|f| fields.contains(*f))
        }
    };
    let read_usage = |id: JobId| daemon.host.containment.usage_so_far(id);
    let live: LiveUsage<'_> = wants_usage.then_some(&read_usage as &dyn Fn(JobId) -> Option<Usage>);
    // Generous: pages reserved and never written cost nothing, a move of
    // the jobs written so far costs a copy of them.
    let per_job = match shape {
        Shape::Full => 1024,
        Shape::Fields(_) | Shape::Rows(_) => 256,
    };
    let mut jobs = Vec::new();
    // Where each job written from memory lies in `jobs`; sorted by id below.
    let mut written: Vec<(JobId, Range<usize>)> = Vec::new();
    // The first chunk's worth of matching jobs is written in the pass that
    // finds them, so a listing of up to a chunk holds the lock once and
    // looks at each job once; the ids of the rest are taken in the table's
    // order, not sorted: looked up again in this order, the jobs are read
    // about as they lie in memory, which at 100,000 jobs costs a fraction
    // of reading them in id order (a cache miss each).
    let mut rest: Vec<JobId> = Vec::new();
    {
        let state = daemon.state();
        let named = ids.and_then(|ids| named_ids(&state.jobs, ids));
        let candidates: Box<dyn Iterator<Item = &Job>> = match &named {
            Some(named) => Box::new(named.iter().filter_map(|id| state.jobs.get(id))),
            None => Box::new(state.jobs.values()),
        };
        let first = named.as_ref().map_or(state.jobs.len(), Vec::len).min(CHUNK);
        jobs.reserve(first * per_job);
        written.reserve(first);
        for job in candidates.filter(|job| matches(job)) {
            if written.len() < CHUNK {
                let start = jobs.len();
                write_job(&mut jobs, job, node, shape, live)?;
                written.push((job.id, start..jobs.len()));
            } else {
                rest.push(job.id);
            }
        }
    }
    jobs.reserve(rest.len() * per_job);
    written.reserve(rest.len());
    for chunk in rest.chunks(CHUNK) {
        let state = daemon.state();
        for job in chunk.iter().filter_map(|id| state.jobs.get(id)) {
            if !matches(job) {
                continue;
            }
            let start = jobs.len();
            write_job(&mut jobs, job, node, shape, live)?;
            written.push((job.id, start..jobs.len()));
        }
    }
    written.sort_unstable_by_key(|(id, _)| *id);

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
    // Merge the finished jobs in by id, copying the jobs already written.
    let opening = shape.opening();
    let capacity = opening.len() + jobs.len() + written.len() + stored.len() * 512 + 2;
    let mut merged = Vec::with_capacity(capacity);
    merged.extend_from_slice(&opening);
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
                merged.extend_from_slice(&jobs[range.clone()]);
            }
        } else if let Some(job) = stored.next() {
            write_job(&mut merged, job, node, shape, live)?;
        }
    }
    merged.extend_from_slice(b"]}");
    Ok(merged)
}

/// Appends one job's JSON object.
/// The ids of the jobs in memory that `ids` can name: each id, and for the
/// id of an array all its tasks (an array's tasks have consecutive ids from
/// the array's). `None` when an id is not in memory: it may be an array
/// whose first task has ended, so only a look at every job is sure.
fn named_ids(jobs: &HashMap<JobId, Job>, ids: &[JobId]) -> Option<Vec<JobId>> {
    let mut named = Vec::with_capacity(ids.len());
    for &id in ids {
        let job = jobs.get(&id)?;
        match job.spec.array {
            Some(array) if array.array_id == id => {
                named.extend((0..u64::from(array.count)).map(|k| JobId(id.0 + k)));
            }
            _ => named.push(id),
        }
    }
    named.sort_unstable();
    named.dedup();
    Some(named)
}

/// What a running job has used so far, for listings that ask for usage.
type LiveUsage<'a> = Option<&'a dyn Fn(JobId) -> Option<Usage>>;

fn write_job(
    out: &mut Vec<u8>,
    job: &Job,
    node: &str,
    shape: Shape,
    live: LiveUsage<'_>,
) -> Result<()> {
    let written = match shape {
        Shape::Full => write_whole(out, job, node, live),
        Shape::Fields(fields) => write_object(out, job, node, fields, live),
        Shape::Rows(fields) => write_row(out, job, node, fields, live),
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
    usage: Usage,
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
            usage: Usage::default(),
        };
        match phase {
            Phase::Pending { reason, .. } => PhaseFacts {
                reason: *reason,
                ..none
            },
            Phase::Running {
                allocation,
                start_time,
                ..
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
                usage,
                ..
            } => PhaseFacts {
                reason: *reason,
                allocation: allocation.as_ref(),
                start_time: *start_time,
                end_time: Some(*end_time),
                exit_code: Some(*exit_code),
                cancelled_by: *cancelled_by,
                usage: *usage,
            },
        }
    }
}

/// The job's steps, for the listing; `None` (left out) when it has none.
fn steps_of(phase: &Phase) -> Option<&Vec<crate::protocol::StepInfo>> {
    match phase {
        Phase::Running { steps, .. } | Phase::Finished { steps, .. } => {
            (!steps.is_empty()).then_some(steps)
        }
        Phase::Pending { .. } => None,
    }
}

/// One job's whole object, byte for byte as `JobInfo` serializes
/// `job.info(node)` (a test holds the two together), without building it.
fn write_whole(
    out: &mut Vec<u8>,
    job: &Job,
    node: &str,
    live: LiveUsage<'_>,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::new(out);
    let mut map = Whole(serializer.serialize_map(None)?);
    write_values(&mut map, job, node, FieldSet::all(), live)?;
    SerializeMap::end(map.0)
}

/// One job's object with only `fields`, null and empty values left out.
fn write_object(
    out: &mut Vec<u8>,
    job: &Job,
    node: &str,
    fields: FieldSet,
    live: LiveUsage<'_>,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::new(out);
    let mut map = Keyed(serializer.serialize_map(None)?);
    write_values(&mut map, job, node, fields, live)?;
    SerializeMap::end(map.0)
}

/// One job's array of `fields`, null for none.
fn write_row(
    out: &mut Vec<u8>,
    job: &Job,
    node: &str,
    fields: FieldSet,
    live: LiveUsage<'_>,
) -> serde_json::Result<()> {
    let mut serializer = serde_json::Serializer::new(out);
    let mut seq = Positional(serializer.serialize_seq(None)?);
    write_values(&mut seq, job, node, fields, live)?;
    SerializeSeq::end(seq.0)
}

/// Where [`write_values`] puts each field's value.
trait Sink {
    type Error;
    /// A value that is always there.
    fn put<T: Serialize + ?Sized>(&mut self, field: JobField, value: &T)
    -> Result<(), Self::Error>;
    /// A value that may be null.
    fn put_some<T: Serialize>(
        &mut self,
        field: JobField,
        value: Option<T>,
    ) -> Result<(), Self::Error>;
}

/// An object's entries, a null left out.
struct Keyed<M>(M);

impl<M: SerializeMap> Sink for Keyed<M> {
    type Error = M::Error;
    fn put<T: Serialize + ?Sized>(&mut self, field: JobField, value: &T) -> Result<(), M::Error> {
        self.0.serialize_entry(field.name(), value)
    }
    fn put_some<T: Serialize>(
        &mut self,
        field: JobField,
        value: Option<T>,
    ) -> Result<(), M::Error> {
        value.map_or(Ok(()), |value| self.0.serialize_entry(field.name(), &value))
    }
}

/// A whole `JobInfo`'s entries: a null left out where `JobInfo` skips
/// it, written where `JobInfo` writes it.
struct Whole<M>(M);

impl<M: SerializeMap> Sink for Whole<M> {
    type Error = M::Error;
    fn put<T: Serialize + ?Sized>(&mut self, field: JobField, value: &T) -> Result<(), M::Error> {
        self.0.serialize_entry(field.name(), value)
    }
    fn put_some<T: Serialize>(
        &mut self,
        field: JobField,
        value: Option<T>,
    ) -> Result<(), M::Error> {
        let always = matches!(
            field,
            JobField::Node
                | JobField::StartTime
                | JobField::EndTime
                | JobField::TimeLimit
                | JobField::ExitCode
        );
        match value {
            Some(value) => self.0.serialize_entry(field.name(), &value),
            None if always => self.0.serialize_entry(field.name(), &value),
            None => Ok(()),
        }
    }
}

/// An array's elements, a null written in its place.
struct Positional<S>(S);

impl<S: SerializeSeq> Sink for Positional<S> {
    type Error = S::Error;
    fn put<T: Serialize + ?Sized>(&mut self, _: JobField, value: &T) -> Result<(), S::Error> {
        self.0.serialize_element(value)
    }
    fn put_some<T: Serialize>(&mut self, _: JobField, value: Option<T>) -> Result<(), S::Error> {
        self.0.serialize_element(&value)
    }
}

/// Each of `fields` of one job, valued as `Job::info` values it (a test
/// holds the two together); null and empty values go to `put_some`.
fn write_values<S: Sink>(
    sink: &mut S,
    job: &Job,
    node: &str,
    fields: FieldSet,
    live: LiveUsage<'_>,
) -> Result<(), S::Error> {
    let node = job.phase.node().unwrap_or(node);
    let spec = &job.spec;
    let options = &spec.options;
    let mut facts = PhaseFacts::of(&job.phase);
    if let (Phase::Running { .. }, Some(live)) = (&job.phase, live) {
        facts.usage = live(job.id).unwrap_or_default();
    }
    for field in fields.iter() {
        let m = &mut *sink;
        match field {
            JobField::JobId => m.put(field, &job.id),
            JobField::Name => m.put(field, &spec.name),
            JobField::User => m.put(field, &spec.user),
            JobField::Uid => m.put(field, &spec.uid),
            JobField::Partition => m.put(field, &spec.partition),
            JobField::State => m.put(field, &job.state()),
            JobField::Reason => m.put(field, &facts.reason),
            JobField::Cpus => m.put(
                field,
                &facts
                    .allocation
                    .map_or(spec.request.cpus, |a| a.cpu_ids.len() as u32),
            ),
            JobField::Ntasks => m.put(field, &spec.ntasks),
            JobField::CpusPerTask => m.put(field, &spec.cpus_per_task),
            JobField::MemoryMb => m.put(field, &spec.request.memory_mb),
            JobField::Gpus => m.put(field, &spec.request.gpus),
            JobField::CpuIds => m.put_some(
                field,
                facts
                    .allocation
                    .map(|a| &a.cpu_ids)
                    .filter(|v| !v.is_empty()),
            ),
            JobField::GpuIds => m.put_some(
                field,
                facts
                    .allocation
                    .map(|a| &a.gpu_ids)
                    .filter(|v| !v.is_empty()),
            ),
            JobField::Node => m.put_some(field, facts.allocation.map(|_| node)),
            JobField::SubmitTime => m.put(field, &spec.submit_time),
            JobField::StartTime => m.put_some(field, facts.start_time),
            JobField::EndTime => m.put_some(field, facts.end_time),
            JobField::TimeLimit => m.put_some(field, spec.time_limit),
            JobField::ExitCode => m.put_some(field, facts.exit_code),
            JobField::WorkDir => m.put(field, &spec.work_dir),
            JobField::Stdout => m.put(field, &job.stdout_path(node)),
            JobField::Stderr => m.put(field, &job.stderr_path(node)),
            JobField::Stdin => m.put(field, &job.stdin_path(node)),
            JobField::Gid => m.put(field, &spec.gid),
            JobField::SubmitDir => m.put(field, &spec.submit_dir),
            JobField::Command => m.put_some(field, options.command.as_ref()),
            JobField::ArrayJobId => m.put_some(field, spec.array.map(|a| a.array_id)),
            JobField::ArrayTaskId => m.put_some(field, spec.array.map(|a| a.index)),
            JobField::ArrayMaxRunning => m.put_some(field, spec.array.and_then(|a| a.max_running)),
            JobField::Dependency => m.put_some(
                field,
                spec.dependency.as_ref().and_then(Dependencies::remaining),
            ),
            JobField::BeginTime => m.put_some(field, spec.begin_time),
            JobField::Priority => m.put(field, &job.shown_priority()),
            JobField::Nice => m.put(field, &spec.nice),
            JobField::Restarts => m.put(field, &spec.restarts),
            JobField::CancelledBy => m.put_some(field, facts.cancelled_by),
            JobField::Exclusive => m.put_some(field, options.exclusive.then_some(true)),
            JobField::MemoryPerCpuMb => m.put_some(field, options.memory_per_cpu_mb),
            JobField::MaxRssKb => m.put_some(field, facts.usage.max_rss_kb),
            JobField::TotalCpuUsec => m.put_some(field, facts.usage.total_cpu_usec),
            JobField::UserCpuUsec => m.put_some(field, facts.usage.user_cpu_usec),
            JobField::SystemCpuUsec => m.put_some(field, facts.usage.system_cpu_usec),
            JobField::Steps => m.put_some(field, steps_of(&job.phase)),
            JobField::Comment => m.put_some(field, options.comment.as_ref()),
            JobField::Account => m.put_some(field, options.account.as_ref()),
            JobField::Qos => m.put_some(field, options.qos.as_ref()),
            JobField::Wckey => m.put_some(field, options.wckey.as_ref()),
            JobField::ExpectedStart => m.put_some(field, job.expected_start()),
        }?;
    }
    Ok(())
}
