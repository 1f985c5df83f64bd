//! The scheduling pass: walk the pending jobs in queue order and start
//! every one that fits in what is free at that moment. First Fit passes
//! over a job that does not fit, so it never blocks smaller jobs behind
//! it; with backfill ([`super::backfill`]) the first such job also gets a
//! reservation, and a later job starts only if it cannot delay that one.
//!
//! The pass is a pure function over the queue and the tracker, so tests
//! drive it without processes, and the daemon calls it on events (submit,
//! job end, cancel, start-up, and the wake-up a plan asks for when a begin
//! time or a dependency's delay runs out), never on a periodic timer. A
//! reservation needs no timer of its own: it moves only when a job ends,
//! and a job's end (a time-limit kill too) is an event.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use chrono::{DateTime, Utc};

use super::backfill::{Backfill, Reservation, RunningJob};
use super::groups::{Group, Limit};
use crate::daemon::scheduler::pool::Pool;
use crate::daemon::tracker::Allocation;
use crate::protocol::{JobId, Reason, ResourceRequest};

/// Order of the pending queue: higher partition PriorityTier first (as
/// Slurm sorts), then higher priority, then earlier submit, then lower id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QueueKey {
    tier: Reverse<u32>,
    priority: Reverse<i64>,
    submit_millis: i64,
    id: JobId,
}

impl QueueKey {
    pub fn new(priority: i64, submit_time: DateTime<Utc>, id: JobId) -> QueueKey {
        QueueKey {
            tier: Reverse(0),
            priority: Reverse(priority),
            submit_millis: submit_time.timestamp_millis(),
            id,
        }
    }

    /// The same key for a job of a partition of this PriorityTier.
    pub fn in_tier(self, tier: u32) -> QueueKey {
        QueueKey {
            tier: Reverse(tier),
            ..self
        }
    }

    pub fn id(&self) -> JobId {
        self.id
    }

    /// The same job's key under another priority.
    pub fn with_priority(self, priority: i64) -> QueueKey {
        QueueKey {
            priority: Reverse(priority),
            ..self
        }
    }
}

/// A pending job as the pass sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: JobId,
    pub request: ResourceRequest,
    /// Its time limit in seconds (`None`: unlimited), which decides whether
    /// it may go ahead of a reservation.
    pub time_limit: Option<u64>,
    /// The reason the job shows now, so the pass reports only changes.
    pub reason: Reason,
    /// `Some(reason)` when the job may not start now whatever is free
    /// (held, before its begin time, waiting for a dependency).
    pub blocked: Option<Reason>,
    pub limits: Vec<Limit>,
    /// When what holds the job back may change by itself (its begin time,
    /// a dependency's delay), for the pass to look again then.
    pub recheck_at: Option<DateTime<Utc>>,
}

/// What one pass decided.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Jobs to start, with the resources now booked for them, in queue order.
    pub starts: Vec<(JobId, Allocation)>,
    /// Jobs that stay pending and whose reason changed.
    pub reasons: Vec<(JobId, Reason)>,
    /// The earliest time a job the pass looked at may start without any
    /// other event (a begin time reached, a dependency's delay run out).
    pub wake_at: Option<DateTime<Utc>>,
    /// The reservation backfill made, if any: the reserved job's expected
    /// start (with what was still spare once the pass was done).
    pub reservation: Option<Reservation>,
}

/// Which kinds of resource an earlier job in this pass is already waiting
/// for: a later job short of the same kind waits behind it (`Priority`).
#[derive(Debug, Default, Clone, Copy)]
struct Waiting {
    cpus: bool,
    memory: bool,
    gpus: bool,
}

/// Where a pass with backfill stands with its one reservation.
#[derive(Debug, Clone, Copy)]
enum Reserving {
    /// No job has failed to fit yet: the first that does gets it.
    Open,
    Made(Reservation),
    /// None was made (no backfill, or the first job that did not fit could
    /// not get one): the rest of the pass is plain First Fit.
    Closed,
}

/// What became of a job the pass tried to place.
enum Placed {
    Started,
    /// It does not fit in what is free now, nor does any later job of its
    /// request in this pass; it shows this reason.
    DoesNotFit(Reason),
    /// It fits, but could delay the reservation: it waits (`Priority`).
    /// A later job of its request may still go, with a shorter limit.
    Refused,
}

/// What a pass has seen so far, shared by the plain walk and the indexed
/// pass so both decide each job the same way.
struct Pass<'a> {
    plan: Plan,
    waiting: Waiting,
    /// What the jobs started in this pass add to each group's running total.
    started_in: HashMap<Group, u64>,
    /// Request shapes a job already failed to fit in this pass. Free
    /// resources only shrink during a pass, so every later job of the same
    /// shape fails too and waits behind that one (`Priority`).
    failed: HashSet<ResourceRequest>,
    backfill: Option<Backfill<'a>>,
    reserving: Reserving,
    /// What the jobs this pass started before its reservation hold, and
    /// until when: the reservation counts them with the running ones.
    started: Vec<RunningJob>,
    /// Jobs placed since the reservation was made (`bf_max_job_test`).
    tested: usize,
    /// Whether some job holding resources has a time limit: without one,
    /// no reservation can be made once no CPU is free.
    some_end: bool,
}

impl<'a> Pass<'a> {
    fn new(backfill: Option<Backfill<'a>>) -> Pass<'a> {
        Pass {
            plan: Plan::default(),
            waiting: Waiting::default(),
            started_in: HashMap::new(),
            failed: HashSet::new(),
            reserving: if backfill.is_some() {
                Reserving::Open
            } else {
                Reserving::Closed
            },
            some_end: backfill.is_some_and(|b| b.running.iter().any(|j| j.ends_by.is_some())),
            backfill,
            started: Vec::new(),
            tested: 0,
        }
    }

    /// Whether nothing more can change in this pass: no CPU is free (every
    /// job asks for at least one) and the reservation is settled or cannot
    /// be made, or the pass has tested as many jobs behind its reservation
    /// as it may. The jobs it does not reach keep their reasons.
    fn done(&self, tracker: &impl Pool) -> bool {
        match self.reserving {
            // With no CPU free, the pass goes on only to reserve for the
            // first job that may start, which needs some job to end.
            Reserving::Open => tracker.room().cpus == 0 && !self.some_end,
            Reserving::Made(_)
                if self
                    .backfill
                    .is_some_and(|b| self.tested >= b.settings.max_job_test) =>
            {
                true
            }
            _ => tracker.room().cpus == 0,
        }
    }

    /// Decides one job: started, or the reason it keeps waiting.
    fn visit(&mut self, job: Candidate, tracker: &mut impl Pool) {
        if let Some(at) = job.recheck_at {
            self.plan.wake_at = Some(self.plan.wake_at.map_or(at, |wake| wake.min(at)));
        }
        let capped = capped(&job.limits, &self.started_in);
        let reason = if let Some(blocked) = job.blocked {
            blocked
        } else if let Some(limit) = capped {
            limit.reason
        } else if self.failed.contains(&job.request) {
            Reason::Priority
        } else {
            match self.place(job.id, &job.request, job.time_limit, tracker) {
                Placed::Started => {
                    self.count_start(&job.limits);
                    return;
                }
                Placed::DoesNotFit(reason) => reason,
                Placed::Refused => Reason::Priority,
            }
        };
        self.show(job.id, job.reason, reason);
    }

    /// Counts a job started in this pass in the groups it is held to.
    fn count_start(&mut self, limits: &[Limit]) {
        for limit in limits {
            *self.started_in.entry(limit.group.clone()).or_default() += limit.need;
        }
    }

    /// Starts a job that may start if it fits and, behind a reservation,
    /// cannot delay it; the first that does not fit gets the reservation.
    fn place(
        &mut self,
        id: JobId,
        request: &ResourceRequest,
        time_limit: Option<u64>,
        tracker: &mut impl Pool,
    ) -> Placed {
        let reserved = match self.reserving {
            Reserving::Made(reservation) => {
                self.tested += 1;
                Some(reservation)
            }
            _ => None,
        };
        if !tracker.fits(request) {
            return self.does_not_fit(id, request, tracker);
        }
        let (mut ahead, now) = match (reserved, self.backfill) {
            (Some(reservation), Some(backfill)) => (reservation, backfill.now),
            _ => return self.start(id, request, time_limit, tracker),
        };
        if ahead.ends_before(time_limit, now) {
            return self.start(id, request, time_limit, tracker);
        }
        match tracker.allocate_past(id, request, &mut ahead) {
            Some(allocation) => {
                self.reserving = Reserving::Made(ahead);
                self.plan.reservation = Some(ahead);
                self.started(id, request, time_limit, allocation, tracker)
            }
            None => Placed::Refused,
        }
    }

    /// Books what the job asks for, which fits.
    fn start(
        &mut self,
        id: JobId,
        request: &ResourceRequest,
        time_limit: Option<u64>,
        tracker: &mut impl Pool,
    ) -> Placed {
        match tracker.allocate(id, request) {
            Ok(allocation) => self.started(id, request, time_limit, allocation, tracker),
            Err(_) => self.does_not_fit(id, request, tracker),
        }
    }

    /// Records a start the pass booked.
    fn started(
        &mut self,
        id: JobId,
        request: &ResourceRequest,
        time_limit: Option<u64>,
        allocation: Allocation,
        tracker: &impl Pool,
    ) -> Placed {
        self.plan.starts.push((id, allocation));
        if let (Reserving::Open, Some(backfill)) = (self.reserving, self.backfill) {
            let job =
                RunningJob::new(*request, backfill.now, time_limit).on(tracker.node_index(id));
            self.some_end |= job.ends_by.is_some();
            self.started.push(job);
        }
        Placed::Started
    }

    /// The first job of its request shape that does not fit: it waits, and
    /// gets the reservation if it is the first of all and one can be made.
    fn does_not_fit(
        &mut self,
        id: JobId,
        request: &ResourceRequest,
        tracker: &impl Pool,
    ) -> Placed {
        self.failed.insert(*request);
        let reason = self.waiting.place(request, tracker.room());
        if let (Reserving::Open, Some(backfill)) = (self.reserving, self.backfill) {
            let running = backfill.running.iter().chain(&self.started).copied();
            self.reserving =
                match tracker.reserve(request, running, backfill.now, backfill.settings.window) {
                    Some((start, spare, node)) => {
                        let reservation = Reservation {
                            job: id,
                            start,
                            spare,
                            node,
                        };
                        self.plan.reservation = Some(reservation);
                        Reserving::Made(reservation)
                    }
                    None => Reserving::Closed,
                };
        }
        Placed::DoesNotFit(reason)
    }

    /// Reports a reason that changed.
    fn show(&mut self, id: JobId, shown: Reason, reason: Reason) {
        if reason != shown {
            self.plan.reasons.push((id, reason));
        }
    }
}

/// The first of `limits` that a job would take over, with what the jobs
/// started so far in the pass add to each group (`started_in`).
fn capped<'l>(limits: &'l [Limit], started_in: &HashMap<Group, u64>) -> Option<&'l Limit> {
    limits.iter().find(|limit| {
        let started = started_in.get(&limit.group).copied().unwrap_or(0);
        limit
            .running
            .saturating_add(started)
            .saturating_add(limit.need)
            > limit.max
    })
}

/// Runs one First Fit pass, booking resources in `tracker` for each start,
/// by walking every pending job in queue order. It stops as soon as no CPU
/// is free, so its cost is the jobs it looks at. The daemon runs
/// [`first_fit_indexed`], which decides the same; this walk is its
/// definition.
pub fn first_fit(pending: impl IntoIterator<Item = Candidate>, tracker: &mut impl Pool) -> Plan {
    walk(pending, tracker, None)
}

/// The pass with backfill over every pending job in queue order: First
/// Fit until a job does not fit, then that job's reservation, then only
/// the jobs that cannot delay it. [`backfill_indexed`] decides the same.
pub fn backfill_walk(
    pending: impl IntoIterator<Item = Candidate>,
    tracker: &mut impl Pool,
    backfill: Backfill<'_>,
) -> Plan {
    walk(pending, tracker, Some(backfill))
}

fn walk(
    pending: impl IntoIterator<Item = Candidate>,
    tracker: &mut impl Pool,
    backfill: Option<Backfill<'_>>,
) -> Plan {
    let mut pass = Pass::new(backfill);
    for job in pending {
        if pass.done(tracker) {
            break;
        }
        pass.visit(job, tracker);
    }
    pass.plan
}

/// The pending jobs that wait for nothing but resources (no begin time,
/// dependency or running-at-once cap), grouped in chains by request shape
/// (and, when per-user limits are set, by user too), each chain in queue
/// order with each job's time limit and the reason it shows.
///
/// Within one pass free resources only shrink, so First Fit starts, in
/// queue order, the first job of each shape while that shape fits, and
/// every job of a shape behind its first failure waits for `Priority`. A
/// pass therefore looks at the head of each chain and at its starts, not
/// at the whole queue.
///
/// A user's totals only grow within a pass too, so once the head of a
/// (shape, user) chain is over a limit, so is every later job of that
/// chain. What such a job shows is the first limit it exceeds, which
/// changes only where its user starts a job; so the pass settles a capped
/// (or failed) chain segment by segment between those starts, and in each
/// segment touches only the jobs that show another reason than the one
/// due: each chain keeps its jobs by the reason they show.
///
/// Behind a reservation, a job that fits may still be refused for its time
/// limit while a later one of its shape, with a shorter limit, goes: the
/// pass then moves on to the next job of that shape, as after a start, and
/// `bf_max_job_test` bounds how many it tests.
#[derive(Debug, Default)]
pub struct ShapeIndex {
    shapes: HashMap<Chain, Shape>,
    len: usize,
}

/// What a chain of the index holds: the jobs of one request shape, of one
/// user when per-user limits are set (`None` otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Chain {
    request: ResourceRequest,
    user: Option<u32>,
}

#[derive(Debug, Default)]
struct Shape {
    /// The jobs, with their time limits and the reasons they show.
    jobs: BTreeMap<QueueKey, (Option<u64>, Reason)>,
    /// The same jobs by the reason they show, so that the pass finds the
    /// ones of a range that show another reason than one due without
    /// looking at those that already show it.
    by_reason: HashMap<Reason, BTreeSet<QueueKey>>,
}

impl Shape {
    fn reason(&self, key: &QueueKey) -> Reason {
        self.jobs
            .get(key)
            .map_or(Reason::Priority, |(_, reason)| *reason)
    }

    fn forget_reason(&mut self, key: &QueueKey, reason: Reason) {
        if let Some(set) = self.by_reason.get_mut(&reason) {
            set.remove(key);
            if set.is_empty() {
                self.by_reason.remove(&reason);
            }
        }
    }

    /// The jobs in `range` that show another reason than `due`, with the
    /// reason they show.
    fn showing_other_than(
        &self,
        range: (Bound<QueueKey>, Bound<QueueKey>),
        due: Reason,
    ) -> Vec<(JobId, Reason)> {
        if range_is_empty(range) {
            return Vec::new();
        }
        self.by_reason
            .iter()
            .filter(|(shown, _)| **shown != due)
            .flat_map(|(shown, keys)| keys.range(range).map(|key| (key.id(), *shown)))
            .collect()
    }
}

/// Whether no key lies in `range` (`BTreeSet::range` panics on some).
fn range_is_empty((lo, hi): (Bound<QueueKey>, Bound<QueueKey>)) -> bool {
    match (lo, hi) {
        (Unbounded, _) | (_, Unbounded) => false,
        (Included(a), Included(b)) => a > b,
        (Included(a) | Excluded(a), Excluded(b)) | (Excluded(a), Included(b)) => a >= b,
    }
}

impl ShapeIndex {
    /// Adds a job, or records the reason it now shows. `user` is the job's
    /// user when per-user limits are set, `None` otherwise.
    pub fn insert(
        &mut self,
        key: QueueKey,
        request: ResourceRequest,
        user: Option<u32>,
        time_limit: Option<u64>,
        shown: Reason,
    ) {
        let shape = self.shapes.entry(Chain { request, user }).or_default();
        match shape.jobs.insert(key, (time_limit, shown)) {
            None => self.len += 1,
            Some((_, before)) => shape.forget_reason(&key, before),
        }
        shape.by_reason.entry(shown).or_default().insert(key);
    }

    /// Takes a job out (with the `user` it was added with); returns
    /// whether it was there.
    pub fn remove(&mut self, key: &QueueKey, request: &ResourceRequest, user: Option<u32>) -> bool {
        let chain = Chain {
            request: *request,
            user,
        };
        let Some(shape) = self.shapes.get_mut(&chain) else {
            return false;
        };
        let removed = shape.jobs.remove(key);
        if let Some((_, shown)) = removed {
            shape.forget_reason(key, shown);
            self.len -= 1;
        }
        if shape.jobs.is_empty() {
            self.shapes.remove(&chain);
        }
        removed.is_some()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many chains the jobs are in (the most heads a pass looks at).
    pub fn chains(&self) -> usize {
        self.shapes.len()
    }

    /// The first job in queue order.
    pub fn first(&self) -> Option<QueueKey> {
        self.shapes
            .values()
            .filter_map(|shape| shape.jobs.first_key_value().map(|(key, _)| key))
            .min()
            .copied()
    }

    /// Gives every job its key under new priorities (`key_of`, the same
    /// for a job each time), each job staying in its chain with the reason
    /// it shows. Each chain's sets are built again whole, which costs a
    /// sort rather than a tree walk per job: priority/multifactor re-keys
    /// the whole queue every calc period.
    pub fn rekey(&mut self, mut key_of: impl FnMut(QueueKey) -> QueueKey) {
        for shape in self.shapes.values_mut() {
            shape.jobs = shape
                .jobs
                .iter()
                .map(|(key, entry)| (key_of(*key), *entry))
                .collect();
            let mut by_reason: HashMap<Reason, BTreeSet<QueueKey>> = HashMap::new();
            for (key, (_, shown)) in &shape.jobs {
                by_reason.entry(*shown).or_default().insert(*key);
            }
            shape.by_reason = by_reason;
        }
    }
}

/// One First Fit pass over the jobs in `index` and the `others` (keys in
/// queue order; `candidate` makes each when the pass reaches it, `None` to
/// skip it). `user_limits` gives the limits a job of a user's chain of the
/// index is held to (what `UserLimits::limits` gives). It decides exactly
/// what [`first_fit`] decides over all of them in queue order, but looks
/// only at the head of each chain that still fits, at the others, and at
/// the jobs of capped or failed chains that show another reason than the
/// one due: its cost does not grow with a queue of jobs that cannot start.
pub fn first_fit_indexed(
    others: impl IntoIterator<Item = QueueKey>,
    candidate: impl FnMut(QueueKey) -> Option<Candidate>,
    index: &ShapeIndex,
    user_limits: impl Fn(u32, &ResourceRequest) -> Vec<Limit>,
    tracker: &mut impl Pool,
) -> Plan {
    indexed(others, candidate, index, user_limits, tracker, None)
}

/// The pass with backfill, as [`first_fit_indexed`] looks at the jobs; it
/// decides exactly what [`backfill_walk`] decides over all of them.
pub fn backfill_indexed(
    others: impl IntoIterator<Item = QueueKey>,
    candidate: impl FnMut(QueueKey) -> Option<Candidate>,
    index: &ShapeIndex,
    user_limits: impl Fn(u32, &ResourceRequest) -> Vec<Limit>,
    tracker: &mut impl Pool,
    backfill: Backfill<'_>,
) -> Plan {
    indexed(
        others,
        candidate,
        index,
        user_limits,
        tracker,
        Some(backfill),
    )
}

/// What a job the pass started adds to its user's totals, by group.
type UserStart = (QueueKey, Vec<(Group, u64)>);

/// The user groups of `limits`, with what the job adds to each.
fn user_needs(limits: &[Limit]) -> Vec<(Group, u64)> {
    limits
        .iter()
        .filter(|limit| matches!(limit.group, Group::User { .. }))
        .map(|limit| (limit.group.clone(), limit.need))
        .collect()
}

/// A chain the pass no longer walks: capped or failed from `from` on.
struct Settle<'i> {
    chain: &'i Chain,
    shape: &'i Shape,
    from: Bound<QueueKey>,
    limits: Vec<Limit>,
}

fn indexed(
    others: impl IntoIterator<Item = QueueKey>,
    mut candidate: impl FnMut(QueueKey) -> Option<Candidate>,
    index: &ShapeIndex,
    user_limits: impl Fn(u32, &ResourceRequest) -> Vec<Limit>,
    tracker: &mut impl Pool,
    backfill: Option<Backfill<'_>>,
) -> Plan {
    let mut pass = Pass::new(backfill);
    let mut others = others.into_iter().peekable();
    // The next job of each chain still in play, by queue order.
    let mut heads: BTreeMap<QueueKey, (&Chain, Option<u64>)> = index
        .shapes
        .iter()
        .filter_map(|(chain, shape)| {
            shape
                .jobs
                .first_key_value()
                .map(|(key, (limit, _))| (*key, (chain, *limit)))
        })
        .collect();
    // The chains to settle once the walk is over.
    let mut settle: Vec<Settle<'_>> = Vec::new();
    // The starts of jobs held to user limits, by user, in queue order.
    let mut user_starts: HashMap<u32, Vec<UserStart>> = HashMap::new();
    let mut record_start = |key: QueueKey, needs: Vec<(Group, u64)>| {
        if let Some((Group::User { uid, .. }, _)) = needs.first() {
            user_starts.entry(*uid).or_default().push((key, needs));
        }
    };
    // The last job the walk reached, once it stopped.
    let mut stopped_at = None;
    let mut last = None;
    loop {
        if pass.done(tracker) {
            stopped_at = last;
            break;
        }
        let head = heads.first_key_value().map(|(key, _)| *key);
        let other = others.peek().copied();
        let from_index = match (head, other) {
            (None, None) => break,
            (Some(head), other) => other.is_none_or(|other| head < other),
            (None, Some(_)) => false,
        };
        if !from_index {
            let Some(key) = others.next() else { break };
            last = Some(key);
            if let Some(job) = candidate(key) {
                let needs = user_needs(&job.limits);
                let starts = pass.plan.starts.len();
                pass.visit(job, tracker);
                if pass.plan.starts.len() > starts {
                    record_start(key, needs);
                }
            }
            continue;
        }
        let Some((key, (chain, time_limit))) = heads.pop_first() else {
            break;
        };
        last = Some(key);
        let Some(shape) = index.shapes.get(chain) else {
            continue;
        };
        let request = &chain.request;
        let limits = chain
            .user
            .map(|uid| user_limits(uid, request))
            .unwrap_or_default();
        // As `visit` decides: a limit first, then a failed shape.
        if capped(&limits, &pass.started_in).is_some() || pass.failed.contains(request) {
            settle.push(Settle {
                chain,
                shape,
                from: Included(key),
                limits,
            });
            continue;
        }
        let next = |heads: &mut BTreeMap<_, _>| {
            if let Some((next, (limit, _))) = shape.jobs.range((Excluded(key), Unbounded)).next() {
                heads.insert(*next, (chain, *limit));
            }
        };
        match pass.place(key.id(), request, time_limit, tracker) {
            Placed::Started => {
                pass.count_start(&limits);
                record_start(key, user_needs(&limits));
                next(&mut heads);
            }
            Placed::Refused => {
                pass.show(key.id(), shape.reason(&key), Reason::Priority);
                next(&mut heads);
            }
            Placed::DoesNotFit(reason) => {
                pass.show(key.id(), shape.reason(&key), reason);
                settle.push(Settle {
                    chain,
                    shape,
                    from: Excluded(key),
                    limits,
                });
            }
        }
    }
    // The jobs of each chain from where it was capped or failed, up to
    // where the walk stopped, show their user's first exceeded limit, or
    // else wait for Priority behind their shape's first failure. Between
    // two starts of the user, what is due is the same for every one.
    let end = stopped_at.map_or(Unbounded, Included);
    for Settle {
        chain,
        shape,
        from,
        limits,
    } in settle
    {
        let (Included(from_key) | Excluded(from_key)) = from else {
            continue;
        };
        let starts = chain
            .user
            .and_then(|uid| user_starts.get(&uid))
            .map_or(&[][..], Vec::as_slice);
        let split = starts.partition_point(|(key, _)| *key < from_key);
        let mut started: HashMap<Group, u64> = HashMap::new();
        let add = |started: &mut HashMap<Group, u64>, needs: &[(Group, u64)]| {
            for (group, need) in needs {
                *started.entry(group.clone()).or_default() += need;
            }
        };
        for (_, needs) in &starts[..split] {
            add(&mut started, needs);
        }
        let mut lo = from;
        for (at, needs) in &starts[split..] {
            let due = capped(&limits, &started).map_or(Reason::Priority, |limit| limit.reason);
            for (id, shown) in shape.showing_other_than((lo, Excluded(*at)), due) {
                pass.show(id, shown, due);
            }
            add(&mut started, needs);
            lo = Excluded(*at);
        }
        let due = capped(&limits, &started).map_or(Reason::Priority, |limit| limit.reason);
        for (id, shown) in shape.showing_other_than((lo, end), due) {
            pass.show(id, shown, due);
        }
    }
    pass.plan
}

impl Waiting {
    /// The reason of a job that does not fit in `free`, noting which
    /// resources it now waits for.
    fn place(&mut self, request: &ResourceRequest, free: ResourceRequest) -> Reason {
        let short = Waiting {
            cpus: request.cpus > free.cpus,
            memory: request.memory_mb > free.memory_mb,
            gpus: request.gpus > free.gpus,
        };
        let behind =
            (short.cpus && self.cpus) || (short.memory && self.memory) || (short.gpus && self.gpus);
        self.cpus |= short.cpus;
        self.memory |= short.memory;
        self.gpus |= short.gpus;
        if behind {
            Reason::Priority
        } else {
            Reason::Resources
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::scheduler::backfill;
    use crate::daemon::scheduler::limits::{TresLimits, Usage, UserLimits};
    use crate::daemon::scheduler::pool::NodeSet;
    use crate::daemon::tracker::{Capacity, ResourceTracker};
    use proptest::prelude::*;

    fn tracker(cpus: u32, memory_mb: u64, gpus: u32) -> ResourceTracker {
        ResourceTracker::new(Capacity {
            cpus,
            memory_mb,
            gpus,
        })
    }

    fn job(id: u64, cpus: u32, memory_mb: u64, gpus: u32) -> Candidate {
        Candidate {
            id: JobId(id),
            request: ResourceRequest {
                cpus,
                memory_mb,
                gpus,
            },
            time_limit: None,
            reason: Reason::None,
            blocked: None,
            limits: Vec::new(),
            recheck_at: None,
        }
    }

    fn started(plan: &Plan) -> Vec<u64> {
        plan.starts.iter().map(|(id, _)| id.0).collect()
    }

    #[test]
    fn a_job_that_does_not_fit_does_not_block_smaller_ones() {
        let mut t = tracker(3, 1000, 0);
        let first = first_fit([job(1, 2, 0, 0)], &mut t);
        assert_eq!(started(&first), vec![1]);
        let plan = first_fit([job(2, 2, 0, 0), job(3, 1, 0, 0)], &mut t);
        assert_eq!(started(&plan), vec![3]);
        assert_eq!(plan.reasons, vec![(JobId(2), Reason::Resources)]);
    }

    #[test]
    fn later_jobs_short_of_the_same_resource_wait_for_priority() {
        let mut t = tracker(3, 1000, 1);
        let plan = first_fit(
            [
                job(1, 2, 0, 0),
                job(2, 2, 0, 0),
                job(3, 2, 0, 0),
                job(4, 1, 0, 1),
            ],
            &mut t,
        );
        assert_eq!(started(&plan), vec![1, 4]);
        assert_eq!(
            plan.reasons,
            vec![(JobId(2), Reason::Resources), (JobId(3), Reason::Priority)]
        );
    }

    #[test]
    fn the_pass_stops_once_no_cpu_is_free() {
        let mut t = tracker(1, 0, 0);
        let plan = first_fit([job(1, 1, 0, 0), job(2, 1, 0, 0), job(3, 1, 0, 0)], &mut t);
        assert_eq!(started(&plan), vec![1]);
        assert!(
            plan.reasons.is_empty(),
            "jobs after the stop keep their reasons"
        );
    }

    #[test]
    fn a_job_short_of_another_resource_is_next_in_line_for_it() {
        let mut t = tracker(4, 100, 0);
        let plan = first_fit(
            [job(1, 1, 100, 0), job(2, 1, 50, 0), job(3, 8, 0, 0)],
            &mut t,
        );
        assert_eq!(started(&plan), vec![1]);
        assert_eq!(
            plan.reasons,
            vec![(JobId(2), Reason::Resources), (JobId(3), Reason::Resources)]
        );
    }

    #[test]
    fn unchanged_reasons_are_not_reported_again() {
        let mut t = tracker(1, 0, 0);
        let mut waiting = job(2, 1, 0, 0);
        waiting.reason = Reason::Resources;
        let plan = first_fit([job(1, 1, 0, 0), waiting], &mut t);
        assert_eq!(started(&plan), vec![1]);
        assert!(plan.reasons.is_empty());
    }

    #[test]
    fn starts_book_concrete_ids_in_queue_order() {
        let mut t = tracker(4, 0, 2);
        let plan = first_fit([job(1, 1, 0, 1), job(2, 2, 0, 1)], &mut t);
        assert_eq!(plan.starts[0].1.cpu_ids, vec![0]);
        assert_eq!(plan.starts[1].1.cpu_ids, vec![1, 2]);
        assert_eq!(plan.starts[1].1.gpu_ids, vec![1]);
        assert_eq!(t.free().cpus, 1);
    }

    #[test]
    fn blocked_jobs_keep_their_reason_and_take_nothing() {
        let mut t = tracker(2, 0, 0);
        let mut held = job(1, 1, 0, 0);
        held.blocked = Some(Reason::JobHeldUser);
        let plan = first_fit([held, job(2, 2, 0, 0)], &mut t);
        assert_eq!(started(&plan), vec![2]);
        assert_eq!(plan.reasons, vec![(JobId(1), Reason::JobHeldUser)]);
    }

    #[test]
    fn the_plan_wakes_at_the_earliest_recheck_of_the_jobs_it_looked_at() {
        let at = |s| DateTime::from_timestamp(s, 0);
        let waiting = |id, recheck| {
            let mut c = job(id, 1, 0, 0);
            c.blocked = Some(Reason::BeginTime);
            c.recheck_at = at(recheck);
            c
        };
        let mut t = tracker(2, 0, 0);
        let plan = first_fit([waiting(1, 500), waiting(2, 300), job(3, 2, 0, 0)], &mut t);
        assert_eq!(plan.wake_at, at(300));
        // The walk stops once no CPU is free: a later job is not looked at.
        let plan = first_fit([job(4, 2, 0, 0), waiting(5, 100)], &mut tracker(2, 0, 0));
        assert_eq!(plan.wake_at, None);
    }

    #[test]
    fn a_group_limit_caps_starts_within_the_pass() {
        let mut t = tracker(8, 0, 0);
        let task = |id| {
            let mut c = job(id, 1, 0, 0);
            c.limits.push(Limit {
                group: Group::Array(JobId(1)),
                running: 1,
                need: 1,
                max: 3,
                reason: Reason::JobArrayTaskLimit,
            });
            c
        };
        let plan = first_fit([task(2), task(3), task(4)], &mut t);
        assert_eq!(started(&plan), vec![2, 3]);
        assert_eq!(plan.reasons, vec![(JobId(4), Reason::JobArrayTaskLimit)]);
    }

    #[test]
    fn a_user_limit_counts_what_starts_and_does_not_fail_the_shape() {
        use crate::daemon::scheduler::limits::Counted;
        let mut t = tracker(8, 0, 0);
        // User 1 may hold 3 CPUs and holds 1: one 2-CPU job more.
        let of_user = |id, uid| {
            let mut c = job(id, 2, 0, 0);
            if uid == 1 {
                c.limits.push(Limit {
                    group: Group::User {
                        uid,
                        counted: Counted::Cpus,
                    },
                    running: 1,
                    need: 2,
                    max: 3,
                    reason: Reason::QOSMaxCpuPerUserLimit,
                });
            }
            c
        };
        let plan = first_fit([of_user(1, 1), of_user(2, 1), of_user(3, 2)], &mut t);
        assert_eq!(started(&plan), vec![1, 3], "same shape, another user");
        assert_eq!(
            plan.reasons,
            vec![(JobId(2), Reason::QOSMaxCpuPerUserLimit)]
        );
    }

    #[test]
    fn queue_order_is_priority_then_submit_then_id() {
        let t0 = DateTime::from_timestamp(1_000, 0).expect("valid time");
        let t1 = DateTime::from_timestamp(2_000, 0).expect("valid time");
        let mut keys = [
            QueueKey::new(0, t1, JobId(3)),
            QueueKey::new(0, t0, JobId(2)),
            QueueKey::new(5, t1, JobId(4)),
            QueueKey::new(0, t0, JobId(1)),
        ];
        keys.sort();
        let ids: Vec<u64> = keys.iter().map(|k| k.id().0).collect();
        assert_eq!(ids, vec![4, 1, 2, 3]);
    }

    /// A job of the proptest: the candidate (its user limits added by the
    /// test, as the pass adds them), whether it waits for nothing but
    /// resources, and its user.
    fn arbitrary_job() -> impl Strategy<Value = (Candidate, bool, u32)> {
        let reasons = prop_oneof![
            Just(Reason::None),
            Just(Reason::Resources),
            Just(Reason::Priority),
            Just(Reason::Dependency),
            Just(Reason::AssocMaxJobsLimit),
            Just(Reason::QOSMaxCpuPerUserLimit),
            Just(Reason::QOSMaxMemoryPerUser),
        ];
        let blocked = prop_oneof![
            6 => Just(None),
            1 => Just(Some(Reason::BeginTime)),
            1 => Just(Some(Reason::Dependency)),
        ];
        // A cap on a count of jobs (an array's `%N`), which keeps the job
        // out of the index.
        let throttle = prop_oneof![
            5 => Just(None),
            1 => (0u64..2, 1u64..3).prop_map(Some),
        ];
        (
            1u32..4,
            prop_oneof![Just(0u64), Just(100), Just(300)],
            0u32..2,
            reasons,
            blocked,
            throttle,
            prop_oneof![2 => Just(None), 1 => (0i64..100).prop_map(Some)],
            prop_oneof![1 => Just(None), 3 => (1u64..150).prop_map(Some)],
            0u32..3,
        )
            .prop_map(
                |(cpus, memory_mb, gpus, reason, blocked, throttle, recheck, time_limit, uid)| {
                    let mut job = job(0, cpus, memory_mb, gpus);
                    job.time_limit = time_limit;
                    job.reason = reason;
                    job.blocked = blocked;
                    let plain = blocked.is_none() && throttle.is_none();
                    job.limits.extend(throttle.map(|(running, max)| Limit {
                        group: Group::Array(JobId(1)),
                        running,
                        need: 1,
                        max,
                        reason: Reason::JobArrayTaskLimit,
                    }));
                    // Only jobs waiting for more than resources look again.
                    if !plain {
                        job.recheck_at =
                            recheck.and_then(|s| DateTime::from_timestamp(2_000 + s, 0));
                    }
                    (job, plain, uid)
                },
            )
    }

    /// Per-user limits, or none, and what each of three users runs.
    fn arbitrary_user_limits() -> impl Strategy<Value = (UserLimits, Vec<Usage>)> {
        let max = |hi: u64| prop_oneof![1 => Just(None), 2 => (0u64..hi).prop_map(Some)];
        let limits =
            (max(4), max(7), max(700), max(3)).prop_map(|(jobs, cpus, memory, gpus)| UserLimits {
                max_jobs: jobs,
                max_tres: TresLimits {
                    cpus,
                    memory_mb: memory,
                    gpus,
                },
            });
        let usage = (
            0u64..3,
            0u64..5,
            prop_oneof![Just(0u64), Just(300)],
            0u64..2,
        )
            .prop_map(|(jobs, cpus, memory_mb, gpus)| Usage {
                jobs,
                cpus,
                memory_mb,
                gpus,
            });
        (
            prop_oneof![1 => Just(UserLimits::default()), 3 => limits],
            proptest::collection::vec(usage, 3),
        )
    }

    fn sorted_reasons(plan: &Plan) -> Vec<(JobId, Reason)> {
        let mut reasons = plan.reasons.clone();
        reasons.sort_by_key(|(id, _)| *id);
        reasons
    }

    proptest! {
        /// With backfill or without, with per-user limits or without, what
        /// the daemon runs decides as the definition does.
        #[test]
        fn the_indexed_pass_decides_as_the_plain_walk(
            jobs in proptest::collection::vec(arbitrary_job(), 0..40),
            (user_limits, usage) in arbitrary_user_limits(),
            cpus in 1u32..6,
            memory_mb in 0u64..700,
            gpus in 0u32..3,
            busy in proptest::collection::vec(
                (1u32..3, 0u64..300, 0u32..2, proptest::option::of(-10i64..200)),
                0..3,
            ),
            with_backfill in any::<bool>(),
            max_job_test in 1usize..6,
            window_minutes in prop_oneof![Just(1i64), Just(1440)],
        ) {
            let t0 = DateTime::from_timestamp(1_000, 0).expect("valid time");
            let mut walked = tracker(cpus, memory_mb, gpus);
            let mut running = Vec::new();
            for (n, (cpus, memory_mb, gpus, ends)) in busy.into_iter().enumerate() {
                let request = ResourceRequest { cpus, memory_mb, gpus };
                if walked.allocate(JobId(10_000 + n as u64), &request).is_ok() {
                    running.push(RunningJob {
                        holds: request,
                        ends_by: ends.map(|s| t0 + chrono::TimeDelta::seconds(s)),
                        node: 0,
                    });
                }
            }
            let backfill = Backfill {
                now: t0,
                settings: backfill::Settings {
                    window: chrono::TimeDelta::minutes(window_minutes),
                    max_job_test,
                },
                running: &running,
            };
            let limited = !user_limits.is_empty();
            let limits_of =
                |uid: u32, request: &ResourceRequest| user_limits.limits(uid, usage[uid as usize], request);
            let mut indexed = walked.clone();
            let mut index = ShapeIndex::default();
            let mut others = Vec::new();
            let mut all = Vec::new();
            let mut by_key = HashMap::new();
            for (n, (mut job, plain, uid)) in jobs.into_iter().enumerate() {
                job.id = JobId(n as u64 + 1);
                job.limits.extend(limits_of(uid, &job.request));
                let key = QueueKey::new(0, t0, job.id);
                if plain {
                    let user = limited.then_some(uid);
                    index.insert(key, job.request, user, job.time_limit, job.reason);
                } else {
                    others.push(key);
                    by_key.insert(key, job.clone());
                }
                all.push(job);
            }
            let candidate = |key| by_key.get(&key).cloned();
            let (plain, fast) = if with_backfill {
                (
                    backfill_walk(all, &mut walked, backfill),
                    backfill_indexed(others, candidate, &index, limits_of, &mut indexed, backfill),
                )
            } else {
                (
                    first_fit(all, &mut walked),
                    first_fit_indexed(others, candidate, &index, limits_of, &mut indexed),
                )
            };
            prop_assert_eq!(&fast.starts, &plain.starts);
            prop_assert_eq!(fast.reservation, plain.reservation);
            prop_assert_eq!(sorted_reasons(&fast), sorted_reasons(&plain));
            prop_assert_eq!(fast.wake_at, plain.wake_at);
            prop_assert_eq!(indexed.free(), walked.free());
        }
    }

    /// Nodes of these sizes (CPUs, memory, GPUs), named n0, n1, ...
    fn nodes(sizes: &[(u32, u64, u32)]) -> NodeSet {
        NodeSet::new(
            sizes
                .iter()
                .enumerate()
                .map(|(n, &(cpus, memory_mb, gpus))| {
                    (format!("n{n}"), tracker(cpus, memory_mb, gpus))
                }),
        )
    }

    #[test]
    fn across_nodes_a_job_goes_where_it_fits_and_one_that_fits_nowhere_waits() {
        let mut set = nodes(&[(2, 1000, 0), (4, 1000, 0)]);
        let busy = ResourceRequest {
            cpus: 1,
            memory_mb: 0,
            gpus: 0,
        };
        set.allocate(JobId(100), &busy).expect("n0 has room");
        // n0 has one CPU left, n1 four: a 3-CPU job fits only on n1; a
        // 5-CPU job on none, though five CPUs are free in all; a 1-CPU job
        // goes to the first node with room, n0.
        let plan = first_fit(
            [job(1, 3, 0, 0), job(2, 5, 0, 0), job(3, 1, 0, 0)],
            &mut set,
        );
        assert_eq!(started(&plan), vec![1, 3]);
        assert_eq!(set.node_of(JobId(1)), Some("n1"));
        assert_eq!(set.node_of(JobId(3)), Some("n0"));
        assert_eq!(plan.reasons, vec![(JobId(2), Reason::Resources)]);
        // n0 is full now; the pass over an index decides the same way.
        let mut index = ShapeIndex::default();
        let t0 = DateTime::from_timestamp(1_000, 0).expect("valid time");
        for c in [job(4, 1, 0, 0), job(5, 1, 0, 0)] {
            index.insert(QueueKey::new(0, t0, c.id), c.request, None, None, c.reason);
        }
        let plan = first_fit_indexed([], |_| None, &index, |_, _| Vec::new(), &mut set);
        assert_eq!(started(&plan), vec![4]);
        assert_eq!(set.node_of(JobId(4)), Some("n1"));
        // No CPU is left on any node: the pass stops there, as on one.
        assert_eq!(set.room().cpus, 0);
        assert!(plan.reasons.is_empty());
    }

    proptest! {
        /// Across several nodes as on one, with backfill or without, the
        /// indexed pass decides as the plain walk: a shape that fits on no
        /// node fits on none later in the pass, which is all the index
        /// relies on.
        #[test]
        fn across_nodes_the_indexed_pass_decides_as_the_plain_walk(
            jobs in proptest::collection::vec(arbitrary_job(), 0..40),
            sizes in proptest::collection::vec((1u32..5, 0u64..700, 0u32..3), 1..4),
            busy in proptest::collection::vec(
                (1u32..3, 0u64..300, 0u32..2, proptest::option::of(-10i64..200)),
                0..4,
            ),
            with_backfill in any::<bool>(),
            max_job_test in 1usize..6,
        ) {
            let t0 = DateTime::from_timestamp(1_000, 0).expect("valid time");
            let mut walked = nodes(&sizes);
            let mut running = Vec::new();
            for (n, (cpus, memory_mb, gpus, ends)) in busy.into_iter().enumerate() {
                let request = ResourceRequest { cpus, memory_mb, gpus };
                let id = JobId(10_000 + n as u64);
                if walked.allocate(id, &request).is_ok() {
                    running.push(RunningJob {
                        holds: request,
                        ends_by: ends.map(|s| t0 + chrono::TimeDelta::seconds(s)),
                        node: walked.node_index(id),
                    });
                }
            }
            let backfill = Backfill {
                now: t0,
                settings: backfill::Settings {
                    window: chrono::TimeDelta::minutes(1440),
                    max_job_test,
                },
                running: &running,
            };
            let mut indexed = walked.clone();
            let mut index = ShapeIndex::default();
            let mut others = Vec::new();
            let mut all = Vec::new();
            let mut by_key = HashMap::new();
            for (n, (mut job, plain, _)) in jobs.into_iter().enumerate() {
                job.id = JobId(n as u64 + 1);
                let key = QueueKey::new(0, t0, job.id);
                if plain {
                    index.insert(key, job.request, None, job.time_limit, job.reason);
                } else {
                    others.push(key);
                    by_key.insert(key, job.clone());
                }
                all.push(job);
            }
            let candidate = |key| by_key.get(&key).cloned();
            let no_limits = |_, _: &ResourceRequest| Vec::new();
            let (plain, fast) = if with_backfill {
                (
                    backfill_walk(all, &mut walked, backfill),
                    backfill_indexed(others, candidate, &index, no_limits, &mut indexed, backfill),
                )
            } else {
                (
                    first_fit(all, &mut walked),
                    first_fit_indexed(others, candidate, &index, no_limits, &mut indexed),
                )
            };
            prop_assert_eq!(&fast.starts, &plain.starts);
            prop_assert_eq!(fast.reservation, plain.reservation);
            prop_assert_eq!(sorted_reasons(&fast), sorted_reasons(&plain));
            for (id, _) in &plain.starts {
                prop_assert_eq!(indexed.node_of(*id), walked.node_of(*id));
            }
            prop_assert_eq!(indexed.room(), walked.room());
        }
    }

    #[test]
    fn a_capped_chain_shows_the_first_limit_its_user_exceeds_as_it_changes() {
        // User 1 may run 2 jobs and hold 2 CPUs; it runs 1 job with 1 CPU.
        // Its 2-CPU jobs are over the CPU limit; once its 1-CPU job starts
        // (later in the queue) the ones behind that are over the job count,
        // which comes first.
        let limits = UserLimits {
            max_jobs: Some(2),
            max_tres: TresLimits {
                cpus: Some(2),
                ..TresLimits::default()
            },
        };
        let usage = Usage {
            jobs: 1,
            cpus: 1,
            ..Usage::default()
        };
        let limits_of = |uid, request: &ResourceRequest| limits.limits(uid, usage, request);
        let t0 = DateTime::from_timestamp(1_000, 0).expect("valid time");
        let mut index = ShapeIndex::default();
        let mut all = Vec::new();
        for (id, cpus) in [(1, 2), (2, 1), (3, 2), (4, 2)] {
            let mut c = job(id, cpus, 0, 0);
            c.reason = Reason::QOSMaxCpuPerUserLimit;
            c.limits = limits_of(1, &c.request);
            let key = QueueKey::new(0, t0, c.id);
            index.insert(key, c.request, Some(1), None, c.reason);
            all.push(c);
        }
        let plan = first_fit_indexed([], |_| None, &index, limits_of, &mut tracker(8, 0, 0));
        let walked = first_fit(all, &mut tracker(8, 0, 0));
        assert_eq!(started(&plan), started(&walked));
        assert_eq!(sorted_reasons(&plan), sorted_reasons(&walked));
        assert_eq!(started(&plan), vec![2]);
        assert_eq!(
            sorted_reasons(&plan),
            vec![
                (JobId(3), Reason::AssocMaxJobsLimit),
                (JobId(4), Reason::AssocMaxJobsLimit),
            ]
        );
    }
}
