//! Slurm's priority/multifactor as pure functions: each factor of a pending
//! job in [0, 1], and the priority they sum to under the configured
//! weights. The daemon gathers the inputs (how long each job has been
//! eligible, its CPUs, its user's fair-share factor from [`super::fair_share`])
//! and re-keys the queue with the result; nothing here reads a clock.
//!
//! ```text
//! priority = site (0) + W_age × age + W_fairshare × fairshare
//!          + W_jobsize × jobsize + W_partition × partition − nice
//! ```
//!
//! as `priority_multifactor.shtml` defines it, with no QOS, association or
//! TRES factors (there are none to weigh on one node without a database).

use std::time::Duration;

/// Which priority plugin is in force (slurm.conf's PriorityType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PriorityType {
    /// `priority/basic`: a job's priority is `-nice`, so jobs run in
    /// submit order (what Conductor always did).
    #[default]
    Basic,
    /// `priority/multifactor`: age, fair share, job size and partition,
    /// weighed and summed.
    Multifactor,
}

impl PriorityType {
    /// The plugin's name as slurm.conf and sprio write it.
    pub fn plugin(self) -> &'static str {
        match self {
            PriorityType::Basic => "priority/basic",
            PriorityType::Multifactor => "priority/multifactor",
        }
    }
}

impl std::str::FromStr for PriorityType {
    type Err = String;

    /// `basic`, `multifactor`, or the same with Slurm's `priority/` prefix.
    fn from_str(text: &str) -> Result<PriorityType, String> {
        let name = text.trim().to_ascii_lowercase();
        match name.strip_prefix("priority/").unwrap_or(&name) {
            "basic" => Ok(PriorityType::Basic),
            "multifactor" => Ok(PriorityType::Multifactor),
            _ => Err(format!(
                "unknown priority type {text:?} (basic or multifactor)"
            )),
        }
    }
}

/// The weight of each factor (slurm.conf's PriorityWeight*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    pub age: u32,
    pub fair_share: u32,
    pub job_size: u32,
    pub partition: u32,
}

/// The multifactor plugin's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub kind: PriorityType,
    pub weights: Weights,
    /// Age at which the age factor reaches 1 (PriorityMaxAge).
    pub max_age: Duration,
    /// Time in which past usage loses half its weight
    /// (PriorityDecayHalfLife); zero never decays.
    pub decay_half_life: Duration,
    /// How often every pending job's priority is computed again
    /// (PriorityCalcPeriod).
    pub calc_period: Duration,
}

impl Default for Settings {
    /// `priority/basic`, with the multifactor settings Conductor uses when
    /// asked for it: each weight 1000, Slurm's seven days of max age and
    /// half-life, and its five-minute calc period.
    fn default() -> Settings {
        Settings {
            kind: PriorityType::Basic,
            weights: Weights {
                age: 1000,
                fair_share: 1000,
                job_size: 1000,
                partition: 1000,
            },
            max_age: Duration::from_secs(7 * 86_400),
            decay_half_life: Duration::from_secs(7 * 86_400),
            calc_period: Duration::from_secs(300),
        }
    }
}

/// A pending job's factors, each in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Factors {
    pub age: f64,
    pub fair_share: f64,
    pub job_size: f64,
    pub partition: f64,
}

/// What one job contributes to its priority, beside its user's fair share.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobInputs {
    /// Seconds since the job became eligible (negative: not yet).
    pub eligible_secs: i64,
    pub cpus: u32,
    pub nice: i32,
    /// The job's partition's PriorityJobFactor over the largest of any
    /// partition (Slurm's partition factor): 1 with one partition.
    pub partition: f64,
}

/// The age factor: time eligible over PriorityMaxAge, at most 1. A zero
/// max age counts every eligible job as old.
pub fn age_factor(eligible_secs: i64, max_age: Duration) -> f64 {
    let Ok(eligible) = u64::try_from(eligible_secs) else {
        return 0.0;
    };
    let max = max_age.as_secs();
    if max == 0 {
        return 1.0;
    }
    eligible.min(max) as f64 / max as f64
}

/// The job-size factor with PriorityFavorSmall=NO, as 22.05's
/// priority/multifactor computes it without `SMALL_RELATIVE_TO_TIME`: the
/// mean of the job's share of the nodes (one of one here) and of the
/// CPUs, `(min_nodes / nodes + cpus / cluster_cpus) / 2`, so that one CPU
/// of two is 0.75 (live Slurm 22.05 shows 750 under a weight of 1000).
pub fn job_size_factor(cpus: u32, node_cpus: u32) -> f64 {
    if node_cpus == 0 {
        return 0.0;
    }
    let cpu_share = (f64::from(cpus) / f64::from(node_cpus)).min(1.0);
    (1.0 + cpu_share) / 2.0
}

/// Classic fair share, `2^(-EffectvUsage / NormShares)`: 1 for a user with
/// no usage, 0.5 for one who used exactly their share, towards 0 beyond.
/// A user without shares gets 0 once they have used anything.
pub fn fair_share_factor(effective_usage: f64, norm_shares: f64) -> f64 {
    if effective_usage <= 0.0 {
        return 1.0;
    }
    if norm_shares <= 0.0 {
        return 0.0;
    }
    (-effective_usage / norm_shares).exp2()
}

/// The factors of one job.
pub fn factors(job: JobInputs, fair_share: f64, node_cpus: u32, settings: &Settings) -> Factors {
    Factors {
        age: age_factor(job.eligible_secs, settings.max_age),
        fair_share,
        job_size: job_size_factor(job.cpus, node_cpus),
        partition: job.partition.clamp(0.0, 1.0),
    }
}

/// The weighed factors, unrounded: Slurm sums them before it cuts the
/// priority to a whole number, and sprio rounds each only to print it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Weighted {
    pub age: f64,
    pub fair_share: f64,
    pub job_size: f64,
    pub partition: f64,
}

/// Each factor times its weight.
pub fn weigh(factors: Factors, weights: Weights) -> Weighted {
    Weighted {
        age: factors.age * f64::from(weights.age),
        fair_share: factors.fair_share * f64::from(weights.fair_share),
        job_size: factors.job_size * f64::from(weights.job_size),
        partition: factors.partition * f64::from(weights.partition),
    }
}

/// The job's priority: the weighed factors less its nice, cut (not
/// rounded) to a whole number as Slurm casts it, at least 1 (0 is kept
/// for held jobs in Slurm).
pub fn priority(weighted: Weighted, nice: i32) -> i64 {
    let sum = weighted.age + weighted.fair_share + weighted.job_size + weighted.partition;
    let priority = sum - f64::from(nice);
    if priority < 1.0 { 1 } else { priority as i64 }
}

/// Factors and priority of one job in one go.
pub fn job_priority(
    job: JobInputs,
    fair_share: f64,
    node_cpus: u32,
    settings: &Settings,
) -> (Factors, i64) {
    let factors = factors(job, fair_share, node_cpus, settings);
    (
        factors,
        priority(weigh(factors, settings.weights), job.nice),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 86_400;

    #[test]
    fn age_grows_linearly_to_one_at_max_age() {
        let max = Duration::from_secs(7 * DAY);
        assert_eq!(age_factor(0, max), 0.0);
        assert_eq!(age_factor(-5, max), 0.0);
        assert!((age_factor((7 * DAY / 2) as i64, max) - 0.5).abs() < 1e-12);
        assert_eq!(age_factor((7 * DAY) as i64, max), 1.0);
        assert_eq!(age_factor((70 * DAY) as i64, max), 1.0);
        assert_eq!(age_factor(1, Duration::ZERO), 1.0);
    }

    #[test]
    fn job_size_is_the_mean_of_the_node_and_cpu_shares() {
        // (1 node of 1 + the share of the CPUs) / 2, as 22.05 has it.
        assert_eq!(job_size_factor(4, 16), 0.625);
        assert_eq!(job_size_factor(1, 2), 0.75);
        assert_eq!(job_size_factor(16, 16), 1.0);
        assert_eq!(job_size_factor(32, 16), 1.0);
        assert_eq!(job_size_factor(1, 0), 0.0);
    }

    #[test]
    fn fair_share_halves_at_the_users_share() {
        assert_eq!(fair_share_factor(0.0, 0.5), 1.0);
        assert!((fair_share_factor(0.5, 0.5) - 0.5).abs() < 1e-12);
        assert!((fair_share_factor(1.0, 0.5) - 0.25).abs() < 1e-12);
        assert!((fair_share_factor(0.25, 0.5) - 0.5f64.sqrt()).abs() < 1e-12);
        assert_eq!(fair_share_factor(0.1, 0.0), 0.0);
    }

    #[test]
    fn the_priority_is_the_weighed_sum_less_nice_and_at_least_one() {
        let settings = Settings {
            kind: PriorityType::Multifactor,
            weights: Weights {
                age: 100,
                fair_share: 10_000,
                job_size: 1000,
                partition: 10,
            },
            ..Settings::default()
        };
        let job = JobInputs {
            eligible_secs: (7 * DAY / 4) as i64,
            cpus: 2,
            nice: 0,
            partition: 1.0,
        };
        let (factors, priority) = job_priority(job, 0.5, 8, &settings);
        assert_eq!(
            factors,
            Factors {
                age: 0.25,
                fair_share: 0.5,
                job_size: 0.625,
                partition: 1.0
            }
        );
        assert_eq!(priority, 25 + 5000 + 625 + 10);
        let nice = JobInputs { nice: 100, ..job };
        assert_eq!(job_priority(nice, 0.5, 8, &settings).1, 5660 - 100);
        let nicer = JobInputs { nice: -100, ..job };
        assert_eq!(job_priority(nicer, 0.5, 8, &settings).1, 5660 + 100);
        let very_nice = JobInputs {
            nice: 10_000,
            ..job
        };
        assert_eq!(job_priority(very_nice, 0.5, 8, &settings).1, 1);
        // A partition of half the largest PriorityJobFactor weighs half.
        let lower = JobInputs {
            partition: 0.5,
            ..job
        };
        assert_eq!(job_priority(lower, 0.5, 8, &settings).1, 5660 - 5);
        // The sum is cut, not each factor rounded: 4999.9 + 625 + 25 + 10.
        assert_eq!(job_priority(job, 0.499_99, 8, &settings).1, 5659);
    }

    #[test]
    fn priority_types_read_as_slurm_conf_writes_them() {
        for (text, kind) in [
            ("basic", PriorityType::Basic),
            ("priority/basic", PriorityType::Basic),
            ("Priority/Multifactor", PriorityType::Multifactor),
            ("multifactor", PriorityType::Multifactor),
        ] {
            assert_eq!(text.parse::<PriorityType>(), Ok(kind));
        }
        assert!("priority/fancy".parse::<PriorityType>().is_err());
        assert_eq!(PriorityType::Multifactor.plugin(), "priority/multifactor");
    }
}
