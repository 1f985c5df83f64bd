//! How the daemon is set up: everything the `conductord` binary decides
//! from its flags, read by start-up and by every stage of a job's life.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::partitions::Partitions;
use super::scheduler::backfill;
use super::scheduler::fair_share::{BillingWeights, Shares};
use super::scheduler::limits::UserLimits;
use super::scheduler::priority;
use super::tracker::Capacity;
use super::{ConnectionLimits, containment, gpus, tls};

/// How the daemon is set up; built by the `conductord` binary.
#[derive(Debug, Clone)]
pub struct Config {
    /// The Unix socket to serve on.
    pub socket: PathBuf,
    /// An optional loopback TCP address to serve on as well.
    pub listen: Option<SocketAddr>,
    /// Where the store, scripts and lock live.
    pub state_dir: PathBuf,
    /// The PostgreSQL database that holds the jobs instead of SQLite in
    /// `state_dir`, when one is named.
    pub store: Option<String>,
    /// What the node offers to jobs; `capacity.gpus` counts `gpus`.
    pub capacity: Capacity,
    /// The GPUs offered, in the tracker's order: its GPU id `i` is
    /// `gpus[i]`, and a job sees that entry's ordinal.
    pub gpus: Vec<gpus::Gpu>,
    /// Grace between SIGTERM and SIGKILL when a job is cancelled or times out.
    pub kill_wait: Duration,
    /// How old a node's heartbeat may be before the node is DOWN, on a
    /// PostgreSQL store (Slurm's SlurmdTimeout).
    pub node_timeout: Duration,
    /// How long a requeued job waits before it may start again (shown as
    /// BeginTime): slurmctld's credential lifetime plus a second.
    pub requeue_delay: Duration,
    /// Refuse a job asking for more CPUs than the node has, rather than
    /// keep it pending (slurm.conf's EnforcePartLimits).
    pub enforce_part_limits: bool,
    /// How long a finished job stays visible to cqueue and ccontrol
    /// (Slurm's MinJobAge); zero is for ever.
    pub min_job_age: Duration,
    /// How long finished jobs stay in the store; `None` is forever.
    pub history: Option<Duration>,
    /// The default partition's name.
    pub partition: String,
    /// Every partition (`--partition-def`), or the one named `partition`.
    pub partitions: Partitions,
    /// What one user's running jobs may hold (MaxJobsPerUser, MaxTRESPerUser).
    pub user_limits: UserLimits,
    /// The node's name as jobs see it.
    pub node_name: String,
    /// A system daemon (root, for every user): the socket is open to all
    /// users (mode 0666), and jobs run as the users who submitted them.
    pub system: bool,
    /// Users besides root and the owner who may act on anyone's jobs.
    pub operators: Vec<u32>,
    /// Serve plain HTTP on a non-loopback `listen` address all the same.
    pub insecure_listen: bool,
    /// Serve `GET /metrics` over `listen` without a token.
    pub metrics_public: bool,
    /// Serve `listen` over TLS with this certificate and key.
    pub tls: Option<tls::TlsFiles>,
    /// How jobs are held to their allocations (`--containment`).
    pub containment: containment::Mode,
    /// Whether a job's booked CPUs become its cpuset and affinity.
    pub cpu_bind: bool,
    /// Memory booked per CPU for a job that asks for none (Slurm's
    /// DefMemPerCPU); `None` books none, and the job is not limited.
    pub def_mem_per_cpu_mb: Option<u64>,
    /// Bounds on the API's connections.
    pub connections: ConnectionLimits,
    /// Jobs the daemon holds at most, pending, running and just ended
    /// (Slurm's MaxJobCount).
    pub max_job_count: usize,
    /// The id of the first job (Slurm's FirstJobId); later ids follow it.
    pub first_job_id: u64,
    /// What time limits are counted in: whole minutes, rounded up, as in
    /// Slurm; or seconds (for tests that cannot wait minutes).
    pub time_limit_unit: TimeLimitUnit,
    /// Pending and running jobs one user may have (Slurm's MaxSubmitJobs);
    /// `None` is no limit.
    pub max_submit_per_user: Option<usize>,
    /// Array indices go from 0 to this minus 1 (Slurm's MaxArraySize).
    pub max_array_size: u32,
    /// How a pass places jobs (Slurm's SchedulerType).
    pub scheduler_type: SchedulerType,
    /// How far backfill looks and how much it tests (SchedulerParameters).
    pub backfill: backfill::Settings,
    /// How pending jobs are ordered: priority/basic or multifactor, its
    /// weights and periods (slurm.conf's Priority* settings).
    pub priority: priority::Settings,
    /// What a second of each resource costs a user's fair share
    /// (TRESBillingWeights).
    pub billing: BillingWeights,
    /// Each user's shares of the node (1 for users not named).
    pub shares: Shares,
}

/// How a pass places the jobs that may start (`--scheduler-type`, named
/// after slurm.conf's SchedulerType).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SchedulerType {
    /// First Fit, and the first job that does not fit gets a reservation
    /// from the running jobs' time limits that later jobs may not delay.
    #[value(alias = "sched/backfill")]
    Backfill,
    /// First Fit alone: a job that does not fit is passed over, so a large
    /// job may wait for ever behind a stream of small ones (Slurm's
    /// builtin is strict priority order instead).
    #[value(alias = "sched/builtin")]
    Builtin,
}

impl SchedulerType {
    /// The name `scontrol show config` shows.
    pub fn slurm_name(self) -> &'static str {
        match self {
            SchedulerType::Backfill => "sched/backfill",
            SchedulerType::Builtin => "sched/builtin",
        }
    }
}

/// What time limits are counted in (`--time-limit-unit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimeLimitUnit {
    /// Whole minutes, rounded up (`-t 10:30` is 11:00), as Slurm keeps them.
    Minutes,
    /// Seconds, as asked.
    Seconds,
}

impl TimeLimitUnit {
    /// A limit of `seconds` as this unit keeps it (0 stays 0).
    pub fn round_up(self, seconds: u64) -> u64 {
        match self {
            TimeLimitUnit::Minutes => seconds.div_ceil(60).saturating_mul(60),
            TimeLimitUnit::Seconds => seconds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::TimeLimitUnit;

    #[test]
    fn time_limits_round_up_to_whole_minutes_unless_kept_in_seconds() {
        let minutes = TimeLimitUnit::Minutes;
        assert_eq!(
            [0, 1, 59, 60, 61, 630].map(|s| minutes.round_up(s)),
            [0, 60, 60, 60, 120, 660]
        );
        assert_eq!(TimeLimitUnit::Seconds.round_up(61), 61);
        assert_eq!(minutes.round_up(u64::MAX), u64::MAX);
    }
}
