//! The daemon's side of priority/multifactor: the usage book and the
//! fair-share tree kept under the state lock, the priority a job gets as
//! it is queued, the periodic recomputation that re-keys the queue
//! (PriorityCalcPeriod), and the charge of a job's run to its user. The
//! book reaches the disk in the scheduling pass's commit, with the ends
//! that charged it. The formulas are the scheduler's pure `priority` and
//! `fair_share`.
//!
//! Under priority/basic none of this runs: a job keeps the `-nice` it was
//! given at submit, nothing is charged and nothing is written.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};

use super::Daemon;
use super::config::Config;
use super::job::{Job, JobSpec, Phase};
use super::scheduler::fair_share::{BillingWeights, FairShareTree, Shares, UsageBook};
use super::scheduler::priority::{self, Factors, JobInputs, PriorityType, Settings};
use super::state::State;
use crate::protocol::{
    JobId, JobPriority, PriorityReport, PriorityWeights, ShareReport, UserShareInfo,
};
use crate::users;

/// What the priorities are computed from.
#[derive(Debug)]
pub struct Priorities {
    settings: Settings,
    billing: BillingWeights,
    shares: Shares,
    node_cpus: u32,
    /// Each partition's PriorityJobFactor over the largest (the partition
    /// factor); a partition not listed counts 1. Empty where every
    /// partition's is 1, so that a recomputation then looks nothing up.
    partition_factors: HashMap<String, f64>,
    /// Every user's decayed usage.
    pub book: UsageBook,
    /// Whether the book holds charges the store's copy lacks.
    unsaved: bool,
    /// The tree as of the last recomputation: a job queued meanwhile gets
    /// its user's factor from it, as in Slurm, where fair share moves only
    /// once per calc period.
    tree: FairShareTree,
}

impl Priorities {
    pub fn new(config: &Config, now: DateTime<Utc>) -> Priorities {
        let mut priorities = Priorities::with(
            config.priority,
            config.billing,
            config.shares.clone(),
            config.capacity.cpus,
            now,
        );
        let partitions = config.partitions.list();
        let largest = partitions
            .iter()
            .map(|p| p.priority_job_factor)
            .max()
            .unwrap_or(1)
            .max(1);
        priorities.partition_factors = partitions
            .iter()
            .map(|p| {
                let factor = f64::from(p.priority_job_factor) / f64::from(largest);
                (p.name.clone(), factor)
            })
            .filter(|(_, factor)| *factor < 1.0)
            .collect();
        priorities
    }

    /// From the settings themselves, with an empty book.
    pub fn with(
        settings: Settings,
        billing: BillingWeights,
        shares: Shares,
        node_cpus: u32,
        now: DateTime<Utc>,
    ) -> Priorities {
        Priorities {
            settings,
            billing,
            shares,
            node_cpus,
            partition_factors: HashMap::new(),
            book: UsageBook::new(now),
            unsaved: false,
            tree: FairShareTree::default(),
        }
    }

    /// The book to write with the next commit, when it holds charges the
    /// stored one lacks. The caller writes it with the records of the ends
    /// it charged (taken under the same lock), and hands it back with
    /// [`Priorities::unsaved_again`] if that write fails.
    pub fn take_unsaved(&mut self) -> Option<UsageBook> {
        std::mem::take(&mut self.unsaved).then(|| self.book.clone())
    }

    /// The write of a book from [`Priorities::take_unsaved`] failed: the
    /// next commit writes the book again.
    pub fn unsaved_again(&mut self) {
        self.unsaved = true;
    }

    pub fn multifactor(&self) -> bool {
        self.settings.kind == PriorityType::Multifactor
    }

    /// Sets a job's priority as it is queued (submit, requeue, recovery):
    /// under multifactor from its factors now, unless an administrator
    /// fixed it; under basic it stays as it is.
    pub fn assign(&self, spec: &mut JobSpec, now: DateTime<Utc>) {
        if self.multifactor() && !spec.priority_fixed {
            spec.priority = self.factors(spec, now).1;
        }
    }

    /// What a job's priority is made of now, beside its user's fair
    /// share: its age, CPUs, nice and its partition's factor. Both the
    /// priority a job gets as it is queued and the recomputation take it
    /// from here, so the two cannot weigh a partition differently.
    fn inputs(&self, spec: &JobSpec, now: DateTime<Utc>) -> JobInputs {
        let mut inputs = inputs(spec, now);
        if !self.partition_factors.is_empty() {
            inputs.partition = self
                .partition_factors
                .get(&*spec.partition)
                .copied()
                .unwrap_or(1.0);
        }
        inputs
    }

    /// A pending job's factors and the priority they give.
    pub fn factors(&self, spec: &JobSpec, now: DateTime<Utc>) -> (Factors, i64) {
        let inputs = self.inputs(spec, now);
        let fair_share = self
            .tree
            .factor(spec.uid, &spec.user, &self.book, &self.shares);
        priority::job_priority(inputs, fair_share, self.node_cpus, &self.settings)
    }

    /// Charges a job's run from `start` to `until` (less what was charged
    /// already) to its user, the book decayed to `until` first. Returns
    /// whether anything was charged.
    pub fn charge(&mut self, spec: &JobSpec, start: DateTime<Utc>, until: DateTime<Utc>) -> bool {
        if !self.multifactor() {
            return false;
        }
        self.book.decay_to(until, self.settings.decay_half_life);
        let seconds = self.book.owed_seconds(start, until);
        let billed = self.billing.billed(&spec.request, seconds);
        self.book.charge(spec.uid, &spec.user, billed);
        self.unsaved |= billed > 0.0;
        billed > 0.0
    }

    /// The fair-share tree of the users with pending or running jobs and
    /// of those with usage.
    pub fn tree<'a>(&self, jobs: impl Iterator<Item = &'a Job>) -> FairShareTree {
        let mut active = BTreeMap::new();
        for job in jobs {
            if !matches!(job.phase, Phase::Finished { .. }) {
                active
                    .entry(job.spec.uid)
                    .or_insert_with(|| job.spec.user.to_string());
            }
        }
        FairShareTree::new(&self.book, &active, &self.shares, users::uid_of)
    }
}

/// Recomputes under multifactor: decays the book to `now`, charges the
/// running jobs what they used since the last time, rebuilds the
/// fair-share tree, then gives every pending job whose priority an
/// administrator did not fix its priority now, re-keying the queue for
/// those that changed. Returns how many changed.
///
/// It runs under the state lock over every pending job, so it is built to
/// be cheap: one pass over the jobs gathers what the priorities need into
/// a compact list, the priorities are computed from that, and a second
/// pass writes back those that changed; the queue is re-keyed from the
/// changes alone, without reading a job.
pub fn recompute(state: &mut State, now: DateTime<Utc>) -> usize {
    let State {
        jobs,
        queue,
        running,
        priorities,
        ..
    } = state;
    if !priorities.multifactor() {
        return 0;
    }
    for id in running.keys() {
        if let Some(Job {
            spec,
            phase: Phase::Running { start_time, .. },
            ..
        }) = jobs.get(id)
        {
            priorities.charge(spec, *start_time, now);
        }
    }
    priorities
        .book
        .decay_to(now, priorities.settings.decay_half_life);
    priorities.book.charged_until = Some(now);

    let mut users: HashMap<u32, &str, BuildIdHasher> = HashMap::default();
    let mut pending = Vec::with_capacity(queue.len());
    for job in jobs.values() {
        let spec = &job.spec;
        match job.phase {
            Phase::Finished { .. } => continue,
            Phase::Pending { .. } if !spec.priority_fixed => {
                let inputs = priorities.inputs(spec, now);
                pending.push((job.id, spec.uid, inputs, spec.priority));
            }
            _ => {}
        }
        users.entry(spec.uid).or_insert(&spec.user);
    }
    let active: BTreeMap<u32, String> = users
        .into_iter()
        .map(|(uid, user)| (uid, user.to_string()))
        .collect();
    priorities.tree =
        FairShareTree::new(&priorities.book, &active, &priorities.shares, users::uid_of);
    let factor_of: HashMap<u32, f64, BuildIdHasher> = active
        .iter()
        .map(|(uid, user)| {
            let factor = priorities
                .tree
                .factor(*uid, user, &priorities.book, &priorities.shares);
            (*uid, factor)
        })
        .collect();
    let priorities_now: Vec<i64> = pending
        .iter()
        .map(|(_, uid, inputs, _)| {
            let fair_share = factor_of.get(uid).copied().unwrap_or(1.0);
            let (_, priority) = priority::job_priority(
                *inputs,
                fair_share,
                priorities.node_cpus,
                &priorities.settings,
            );
            priority
        })
        .collect();
    let mut changed: ChangedPriorities =
        HashMap::with_capacity_and_hasher(pending.len(), BuildIdHasher);
    for ((id, _, _, old), priority) in pending.iter().zip(&priorities_now) {
        if priority != old {
            changed.insert(*id, *priority);
        }
    }
    if changed.is_empty() {
        return 0;
    }
    // The map is not changed between the two passes, so it yields the
    // same jobs in the same order: the second pass writes back by
    // position, without a lookup.
    let mut computed = priorities_now.into_iter();
    for job in jobs.values_mut() {
        if matches!(job.phase, Phase::Pending { .. })
            && !job.spec.priority_fixed
            && let Some(priority) = computed.next()
        {
            job.spec.priority = priority;
        }
    }
    queue.rekey(&changed);
    changed.len()
}

/// New priorities by job, for re-keying the queue.
pub type ChangedPriorities = HashMap<JobId, i64, BuildIdHasher>;

/// Hashes a job id (or a uid) with one multiplication: ids are the
/// daemon's own numbers, not an attacker's, and a recomputation looks up
/// every pending job, where SipHash would be a third of the cost.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildIdHasher;

impl std::hash::BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

/// See [`BuildIdHasher`].
#[derive(Debug, Clone, Copy, Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        // Fibonacci hashing: the high bits, which hashbrown uses, mix
        // every bit of the id.
        self.0 = (self.0 ^ value).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// What a job's priority is made of, beside its user's fair share.
fn inputs(spec: &JobSpec, now: DateTime<Utc>) -> JobInputs {
    let eligible = spec
        .begin_time
        .map_or(spec.submit_time, |begin| begin.max(spec.submit_time));
    JobInputs {
        // Whole seconds are all the age factor needs, and cheaper than a
        // TimeDelta.
        eligible_secs: now.timestamp() - eligible.timestamp(),
        cpus: spec.request.cpus,
        nice: spec.nice,
        partition: 1.0,
    }
}

/// Whether sprio lists a job: pending and eligible, as 22.05's
/// multifactor plugin picks them. A held job (priority 0 in Slurm), one
/// whose begin time is still to come and one whose dependency is not yet
/// satisfied (Slurm gives it no begin time until then) are left out;
/// squeue still shows each.
fn listed_by_sprio(job: &Job, now: DateTime<Utc>) -> bool {
    let Phase::Pending { hold, .. } = &job.phase else {
        return false;
    };
    let spec = &job.spec;
    hold.is_none()
        && spec.begin_time.is_none_or(|begin| begin <= now)
        && spec
            .dependency
            .as_ref()
            .is_none_or(|dependency| dependency.remaining().is_none())
}

/// Every eligible pending job's factors (sprio's view); none under
/// basic. The factors are those of the last recomputation, as sprio shows
/// the factors slurmctld stored then: the priority they sum to is the one
/// the queue holds (a job queued since then is as of its eligible time,
/// which the age factor counts as 0).
pub fn priority_report(state: &State, now: DateTime<Utc>) -> PriorityReport {
    let priorities = &state.priorities;
    let weights = priorities.settings.weights;
    let as_of = priorities.book.charged_until.unwrap_or(now).min(now);
    let mut jobs: Vec<JobPriority> = if priorities.multifactor() {
        state
            .jobs
            .values()
            .filter(|job| listed_by_sprio(job, now))
            .map(|job| {
                let spec = &job.spec;
                let (factors, _) = if spec.priority_fixed {
                    (Factors::default(), 0)
                } else {
                    priorities.factors(spec, as_of)
                };
                JobPriority {
                    job_id: job.id,
                    partition: spec.partition.to_string(),
                    user: spec.user.to_string(),
                    account: spec.options.account.clone().unwrap_or_default(),
                    // What the queue holds, which the last recomputation set.
                    priority: spec.priority,
                    fixed: spec.priority_fixed,
                    nice: spec.nice,
                    age: factors.age,
                    fair_share: factors.fair_share,
                    job_size: factors.job_size,
                    partition_factor: factors.partition,
                }
            })
            .collect()
    } else {
        Vec::new()
    };
    jobs.sort_by_key(|job| job.job_id);
    PriorityReport {
        plugin: priorities.settings.kind.plugin().into(),
        weights: PriorityWeights {
            age: weights.age,
            fair_share: weights.fair_share,
            job_size: weights.job_size,
            partition: weights.partition,
        },
        jobs,
    }
}

/// The fair-share tree now (sshare's view), usage decayed to `now`.
pub fn share_report(state: &State, now: DateTime<Utc>) -> ShareReport {
    let priorities = &state.priorities;
    let mut book = priorities.book.clone();
    book.decay_to(now, priorities.settings.decay_half_life);
    let mut current = Priorities {
        book,
        tree: FairShareTree::default(),
        shares: priorities.shares.clone(),
        partition_factors: priorities.partition_factors.clone(),
        ..*priorities
    };
    current.tree = current.tree(state.jobs.values());
    ShareReport {
        multifactor: priorities.multifactor(),
        total_usage: current.book.total(),
        users: current
            .tree
            .rows
            .iter()
            .map(|row| UserShareInfo {
                user: row.user.clone(),
                uid: row.uid,
                raw_shares: row.raw_shares,
                norm_shares: row.norm_shares,
                raw_usage: row.raw_usage,
                effective_usage: row.effective_usage,
                fair_share: row.fair_share,
            })
            .collect(),
    }
}

impl Daemon {
    /// Under multifactor: every PriorityCalcPeriod, recomputes every
    /// pending job's priority, and wakes the pass to re-rank the queue and
    /// to write the book, whose running jobs' charges moved on.
    pub(super) async fn priority_loop(self: Arc<Self>) {
        if self.config.priority.kind != PriorityType::Multifactor {
            return;
        }
        let mut period = tokio::time::interval(self.config.priority.calc_period);
        period.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            period.tick().await;
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            let changed = {
                let mut state = self.state();
                recompute(&mut state, Utc::now()) > 0 || state.priorities.unsaved
            };
            if changed {
                self.wake.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::daemon::tracker::{Capacity, ResourceTracker};
    use crate::protocol::{JobId, Reason};

    fn spec(uid: u32, submit: DateTime<Utc>, cpus: u32) -> JobSpec {
        JobSpec {
            user: format!("user{}", uid - 1000).into(),
            submit_time: submit,
            ..JobSpec::for_test(uid, cpus)
        }
    }

    fn state(jobs: usize, users: u32) -> (State, DateTime<Utc>) {
        let capacity = Capacity {
            cpus: 4,
            memory_mb: 1024,
            gpus: 0,
        };
        let settings = Settings {
            kind: PriorityType::Multifactor,
            ..Settings::default()
        };
        let now = Utc::now();
        let priorities = Priorities::with(
            settings,
            BillingWeights::default(),
            Shares::default(),
            capacity.cpus,
            now,
        );
        let mut state = State::new(
            ("node".into(), ResourceTracker::new(capacity)),
            crate::daemon::partitions::Partitions::single("normal"),
            false,
            priorities,
        );
        for uid in 0..users {
            state.priorities.book.charge(
                1000 + uid,
                &format!("user{uid}"),
                f64::from(uid + 1) * 100.0,
            );
        }
        for n in 0..jobs {
            let submit = now - chrono::Duration::seconds((n % 1000) as i64);
            state.enqueue(Job {
                id: JobId(n as u64 + 1),
                spec: spec(
                    1000 + (n as u32 % users),
                    submit,
                    1 + (n as u32 / users) % 4,
                ),
                expected_start: None,
                phase: Phase::Pending {
                    reason: Reason::Priority,
                    hold: None,
                },
            });
        }
        (state, now)
    }

    #[test]
    fn the_heavier_users_jobs_fall_behind_after_recomputation() {
        let (mut state, now) = state(4, 2);
        recompute(&mut state, now);
        let first = state.queue.first_ready().map(|key| key.id());
        // user0 has used half what user1 has: each of its jobs goes before
        // user1's of the same size, the larger (3, 2 CPUs) first.
        assert_eq!(first, Some(JobId(3)));
        let priority = |id| state.jobs[&JobId(id)].spec.priority;
        assert!(priority(1) > priority(2), "{} {}", priority(1), priority(2));
        assert!(priority(3) > priority(4));
    }

    #[test]
    fn a_fixed_priority_stays() {
        let (mut state, now) = state(2, 1);
        let job = state.jobs.get_mut(&JobId(1)).expect("job");
        state.queue.remove(job);
        job.spec.priority = 7;
        job.spec.priority_fixed = true;
        let job = job.clone();
        state.queue.insert(&job);
        recompute(&mut state, now + chrono::Duration::hours(1));
        assert_eq!(state.jobs[&JobId(1)].spec.priority, 7);
        assert_eq!(
            state.queue.first_ready().map(|key| key.id()),
            Some(JobId(2))
        );
    }

    #[test]
    fn running_jobs_are_charged_once_for_each_stretch() {
        let (mut state, now) = state(0, 1);
        let job_spec = spec(1000, now, 2);
        let before = state.priorities.book.usage_of(1000);
        state.priorities.book.charged_until = Some(now);
        assert!(state.priorities.charge(
            &job_spec,
            now - chrono::Duration::seconds(60),
            now + chrono::Duration::seconds(10)
        ));
        let after = state.priorities.book.usage_of(1000);
        // 10 s not yet charged, 2 CPUs; decay over 10 s of a 7-day
        // half-life is too small to see at this precision.
        assert!((after - before - 20.0).abs() < 0.01, "{before} {after}");
    }

    /// Run with `cargo test --release --lib priorities -- --ignored`: the
    /// figure the README quotes.
    #[test]
    #[ignore = "a timing, not a check"]
    fn a_full_recomputation_of_100_000_pending_jobs_is_quick() {
        let (mut state, now) = state(100_000, 50);
        // CPU time as well as wall time: on a shared machine the wall
        // clock counts other processes' turns too.
        let cpu = || {
            // The thread's time on a CPU, in ns (the first field).
            let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
            let nanos = text.split(' ').next().and_then(|n| n.parse().ok());
            Duration::from_nanos(nanos.unwrap_or(0))
        };
        let (mut wall, mut on_cpu) = (Duration::MAX, Duration::MAX);
        for round in 1..=5 {
            let (timer, started) = (Instant::now(), cpu());
            let changed = recompute(&mut state, now + chrono::Duration::minutes(5 * round));
            wall = wall.min(timer.elapsed());
            on_cpu = on_cpu.min(cpu() - started);
            assert!(changed > 0);
        }
        eprintln!(
            "full recomputation of 100000 pending jobs: {wall:?} wall, {on_cpu:?} CPU (best of 5)"
        );
    }
}
