//! `conductord`'s command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::cli::Outcome;
use crate::daemon::gpus::{self, GpuSelection};
use crate::daemon::partitions::Partitions;
use crate::daemon::scheduler::backfill;
use crate::daemon::scheduler::limits::{TresLimits, UserLimits};
use crate::daemon::scheduler::priority::{self, PriorityType};
use crate::daemon::{
    Capacity, Config, ConnectionLimits, SchedulerType, TimeLimitUnit, containment, node, tls,
};
use crate::error::{Error, Result};
use crate::format::array::{DEFAULT_MAX_ARRAY_SIZE, LARGEST_MAX_ARRAY_SIZE};
use crate::format::duration::parse_time_limit;
use crate::format::memory::parse_memory_mb;
use crate::paths;
use crate::users;

/// The Conductor daemon: owns this machine's CPUs, memory and GPUs,
/// schedules batch jobs First Fit with backfill, runs them and remembers
/// every one.
#[derive(Debug, Clone, Parser)]
#[command(name = "conductord", version, max_term_width = 100)]
pub struct ConductordArgs {
    /// Unix socket to serve on [default: $XDG_RUNTIME_DIR/conductor/conductord.sock]
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Also serve the API over TCP on this address, e.g. 127.0.0.1:6820
    ///
    /// A request over TCP acts as the user whose token it carries (see
    /// `ccontrol token`). Beyond loopback the listener needs TLS
    /// (--tls-cert and --tls-key) or --insecure-listen.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<SocketAddr>,

    /// Serve --listen over TLS with this certificate chain (PEM, the server's first)
    #[arg(long, value_name = "FILE", requires_all = ["listen", "tls_key"])]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Allow --listen beyond loopback over plain HTTP (tokens then cross the network in clear)
    #[arg(long)]
    pub insecure_listen: bool,

    /// Serve GET /metrics over --listen without a token (the rest of the API still needs one)
    #[arg(long)]
    pub metrics_public: bool,

    /// Directory for the job store and scripts [default: $XDG_STATE_HOME/conductor]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// CPUs to offer to jobs [default: the online CPUs]
    #[arg(long, value_name = "N")]
    pub cpus: Option<u32>,

    /// Memory to offer to jobs, e.g. 16G [default: physical memory]
    #[arg(long, value_name = "SIZE")]
    pub mem: Option<String>,

    /// GPUs to offer: a count (2) or ordinals (0,2 or 0-3) [default: the GPUs found]
    ///
    /// A count takes the first GPUs found and makes up the rest (ordinals
    /// no found GPU has), so that a machine without GPUs can offer some; a
    /// list takes the GPUs with those ordinals, found or made up; --gpus 0
    /// offers none. NVIDIA GPUs are found with nvidia-smi or the driver's
    /// files, AMD ones through /dev/kfd and the DRM render nodes.
    #[arg(long, value_name = "N|IDS")]
    pub gpus: Option<String>,

    /// The offered GPUs' device nodes, in order (gres.conf's File=): /dev/nvidia0,/dev/nvidia1
    ///
    /// Each GPU a job does not hold has its node denied to the job where
    /// the backend can (v1 devices controller, a cgroup v2 device
    /// program). Without --gpus, one GPU is offered per file.
    #[arg(long, value_name = "FILES", value_delimiter = ',')]
    pub gpu_files: Vec<PathBuf>,

    /// Seconds between SIGTERM and SIGKILL when a job is cancelled or times out
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub kill_wait: u64,

    /// Seconds a requeued job waits before it may run again (Slurm: its credential lifetime, 120 s, plus one)
    ///
    /// Meanwhile it is pending with reason BeginTime, as in Slurm, where a
    /// requeued job may not start before the credentials of its last run
    /// have expired.
    #[arg(long, value_name = "SECONDS", default_value_t = 121)]
    pub requeue_delay: u64,

    /// Refuse a job that asks for more CPUs than the node has (slurm.conf's EnforcePartLimits)
    ///
    /// Without it such a job is accepted and stays pending with reason
    /// PartitionConfig, as in Slurm by default; it holds up no other job
    /// and can be cancelled.
    #[arg(long)]
    pub enforce_part_limits: bool,

    /// Seconds a finished job stays visible to cqueue and ccontrol (slurm.conf's MinJobAge); 0 keeps it for ever
    ///
    /// cacct sees it for as long as the history keeps it (--history-days).
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub min_job_age: u64,

    /// Days finished jobs stay in the history (cacct); 0 keeps them forever
    #[arg(long, value_name = "DAYS", default_value_t = 0)]
    pub history_days: u64,

    /// Name of the node's one partition, when no --partition-def is given
    #[arg(long, value_name = "NAME", default_value = "normal")]
    pub partition: String,

    /// A partition, as a slurm.conf line: 'PartitionName=debug MaxTime=30 Default=YES'; repeatable
    ///
    /// Keys (case-insensitive): PartitionName, Default (YES/NO), MaxTime,
    /// DefaultTime (Slurm's time forms, UNLIMITED), PriorityTier,
    /// PriorityJobFactor, AllowGroups (ALL or group,group), MaxNodes (1 or
    /// UNLIMITED), State (UP), Nodes (ALL). Every partition covers the one
    /// node; the first is the default unless one says Default=YES. A job
    /// over its partition's MaxTime pends (PartitionTimeLimit) unless
    /// --enforce-part-limits refuses it.
    #[arg(long = "partition-def", value_name = "LINE")]
    pub partition_defs: Vec<String>,

    /// Running jobs one user may have at once, array tasks each counted (MaxJobsPerUser)
    ///
    /// A job past it pends with reason AssocMaxJobsLimit until one of the
    /// user's jobs ends.
    #[arg(long, value_name = "N")]
    pub max_jobs_per_user: Option<u64>,

    /// What one user's running jobs may hold at once: cpu=N,mem=SIZE,gres/gpu=N (MaxTRESPerUser)
    ///
    /// A job that would take its user past one pends with Slurm's reason
    /// (QOSMaxCpuPerUserLimit, QOSMaxMemoryPerUser, QOSMaxGRESPerUser).
    #[arg(long, value_name = "TRES")]
    pub max_tres_per_user: Option<String>,

    /// A system daemon, as root for every user: socket /run/conductor/conductord.sock
    /// (mode 0666), state in /var/lib/conductor, jobs run as their submitters
    #[arg(long)]
    pub system: bool,

    /// A user (name or uid) who may act on anyone's jobs; repeatable
    #[arg(long = "operator", value_name = "USER")]
    pub operators: Vec<String>,

    /// How jobs are held to their CPUs, memory and processes: cgroup v2, cgroup v1, or none
    /// (a subreaper supervisor, affinity and a sampled memory limit)
    #[arg(long, value_enum, value_name = "BACKEND", default_value = "auto")]
    pub containment: containment::Mode,

    /// Whether jobs are pinned to their booked CPUs (cpuset and affinity): cores or none
    #[arg(long, value_name = "HOW", default_value = "cores", value_parser = ["cores", "none"])]
    pub cpu_bind: String,

    /// Memory booked (and the limit) per CPU for jobs that ask for none, e.g. 2G (DefMemPerCPU)
    #[arg(long, value_name = "SIZE")]
    pub def_mem_per_cpu: Option<String>,

    /// Jobs held at most, pending and running together (Slurm's MaxJobCount)
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_job_count: usize,

    /// The id of the first job; later jobs count on from it, never below the highest used (FirstJobId)
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=4_294_901_759))]
    pub first_job_id: u64,

    /// What time limits are kept in: minutes (rounded up, as Slurm) or seconds (for tests)
    #[arg(long, value_enum, value_name = "UNIT", default_value = "minutes")]
    pub time_limit_unit: TimeLimitUnit,

    /// Pending and running jobs one user may have, array tasks each counted (MaxSubmitJobsPerUser)
    #[arg(
        long = "max-submit-jobs-per-user",
        value_name = "N",
        visible_alias = "max-submit-per-user"
    )]
    pub max_submit_per_user: Option<usize>,

    /// Array indices go from 0 to N-1, at most 4000001 (Slurm's MaxArraySize)
    #[arg(
        long,
        value_name = "N",
        default_value_t = DEFAULT_MAX_ARRAY_SIZE,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(LARGEST_MAX_ARRAY_SIZE)),
    )]
    pub max_array_size: u32,

    /// How jobs are scheduled: backfill (First Fit plus a reservation for the first job that does not fit) or builtin (First Fit alone)
    ///
    /// slurm.conf's SchedulerType; sched/backfill and sched/builtin are
    /// accepted too. With backfill, the first job in queue order that may
    /// start but does not fit gets a reservation at the earliest time the
    /// running jobs' time limits free enough for it; a later job starts
    /// before then only if its own time limit ends it by that time, or if
    /// it fits in what the reserved job leaves over. A reservation that
    /// needs a job without a time limit to end is not made, nor one past
    /// --bf-window: the pass is then First Fit. Conductor's builtin passes
    /// over a job that does not fit (Slurm's starts jobs strictly in
    /// priority order).
    #[arg(long, value_enum, value_name = "TYPE", default_value = "backfill")]
    pub scheduler_type: SchedulerType,

    /// Minutes ahead a backfill reservation may lie at most (SchedulerParameters' bf_window)
    #[arg(long, value_name = "MINUTES", default_value_t = backfill::DEFAULT_WINDOW_MINUTES,
          value_parser = clap::value_parser!(u64).range(1..=u64::from(u32::MAX)))]
    pub bf_window: u64,

    /// Jobs a pass tests behind its reservation at most (SchedulerParameters' bf_max_job_test)
    #[arg(long, value_name = "N", default_value_t = backfill::DEFAULT_MAX_JOB_TEST)]
    pub bf_max_job_test: usize,

    /// How pending jobs are ordered: basic (by -nice, then submit time) or multifactor (PriorityType)
    ///
    /// `priority/basic` and `priority/multifactor` are accepted too. Under
    /// multifactor a job's priority is W_age×age + W_fairshare×fairshare +
    /// W_jobsize×jobsize + W_partition×partition − nice, each factor in
    /// [0, 1], computed at submit and every --priority-calc-period.
    #[arg(long, value_name = "TYPE", default_value = "basic")]
    pub priority_type: PriorityType,

    /// Weight of the age factor under multifactor (PriorityWeightAge; Slurm's default is 0)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WEIGHT)]
    pub priority_weight_age: u32,

    /// Weight of the fair-share factor under multifactor (PriorityWeightFairshare)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WEIGHT)]
    pub priority_weight_fairshare: u32,

    /// Weight of the job-size factor under multifactor (PriorityWeightJobSize)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WEIGHT)]
    pub priority_weight_job_size: u32,

    /// Weight of the partition factor under multifactor (PriorityWeightPartition)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_WEIGHT)]
    pub priority_weight_partition: u32,

    /// Age at which a job's age factor reaches 1, in Slurm's time format (PriorityMaxAge)
    #[arg(long, value_name = "TIME", default_value = "7-0")]
    pub priority_max_age: String,

    /// Time in which past usage loses half its weight (PriorityDecayHalfLife); 0 never decays
    #[arg(long, value_name = "TIME", default_value = "7-0")]
    pub priority_decay_half_life: String,

    /// How often every pending job's priority is computed again, in minutes or Slurm's time format (PriorityCalcPeriod)
    #[arg(long, value_name = "TIME", default_value = "5")]
    pub priority_calc_period: String,

    /// What a second of each resource bills a user's usage, e.g. CPU=1.0,Mem=0.25G,GRES/gpu=2.0 (TRESBillingWeights)
    #[arg(long, value_name = "WEIGHTS", default_value = "CPU=1.0")]
    pub tres_billing_weights: String,

    /// Users' fair-share shares, e.g. alice=2,bob=1; users not named have 1
    #[arg(long, value_name = "USER=N,...")]
    pub fairshare_shares: Option<String>,

    /// Connections open at once, in all
    #[arg(long, value_name = "N", default_value_t = 4096)]
    pub max_connections: usize,

    /// Connections open at once from one user (one address over TCP)
    #[arg(long, value_name = "N", default_value_t = 512)]
    pub max_connections_per_user: usize,

    /// Seconds a connection may wait before sending a request (and between requests)
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub idle_timeout: u64,

    /// Seconds one request may take, its body included (408 after that)
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub request_timeout: u64,

    /// Run as the daemon's launcher of the supervisors of the jobs in DIR (internal)
    #[arg(long, value_name = "DIR", hide = true)]
    pub launcher: Option<PathBuf>,
}

/// Each multifactor weight when none is given: Slurm's are 0, which would
/// make multifactor order jobs as basic does.
const DEFAULT_WEIGHT: u32 = 1000;

/// Runs the daemon in the foreground until it is stopped (or, with the
/// internal `--launcher`, the launcher of the jobs' supervisors).
pub fn run(prog: &str, args: ConductordArgs) -> Outcome {
    if let Some(jobs) = &args.launcher {
        return Outcome::status(crate::daemon::run_launcher(jobs));
    }
    match args.config().and_then(crate::daemon::run) {
        Ok(()) => Outcome::default(),
        Err(error) => Outcome::error(prog, &error),
    }
}

impl ConductordArgs {
    /// The priority plugin's settings from the `--priority-*` flags.
    fn priority_settings(&self) -> Result<priority::Settings> {
        let period = |flag: &str, text: &str, zero: bool| -> Result<Duration> {
            let invalid = || Error::Invalid(format!("--{flag} {text}: not a time"));
            if zero && text.trim() == "0" {
                return Ok(Duration::ZERO);
            }
            let seconds = parse_time_limit(text)
                .map_err(|_| invalid())?
                .ok_or_else(invalid)?;
            Ok(Duration::from_secs(seconds))
        };
        Ok(priority::Settings {
            kind: self.priority_type,
            weights: priority::Weights {
                age: self.priority_weight_age,
                fair_share: self.priority_weight_fairshare,
                job_size: self.priority_weight_job_size,
                partition: self.priority_weight_partition,
            },
            max_age: period("priority-max-age", &self.priority_max_age, true)?,
            decay_half_life: period(
                "priority-decay-half-life",
                &self.priority_decay_half_life,
                true,
            )?,
            calc_period: period("priority-calc-period", &self.priority_calc_period, false)?,
        })
    }

    /// The daemon's configuration, defaults filled in.
    pub fn config(&self) -> Result<Config> {
        if let Some(addr) = self.listen
            && !addr.ip().is_loopback()
            && self.tls_cert.is_none()
            && !self.insecure_listen
        {
            return Err(Error::Invalid(format!(
                "--listen {addr} is beyond this machine, where tokens must not travel in \
                 clear: give it --tls-cert and --tls-key, listen on loopback, or pass \
                 --insecure-listen"
            )));
        }
        if self.system && !rustix::process::getuid().is_root() {
            return Err(Error::Invalid("--system needs root".into()));
        }
        let operators = self
            .operators
            .iter()
            .map(|user| {
                users::uid_of(user)
                    .ok_or_else(|| Error::Invalid(format!("--operator {user}: no such user")))
            })
            .collect::<Result<Vec<u32>>>()?;
        let (default_socket, default_state) = if self.system {
            (
                PathBuf::from("/run/conductor/conductord.sock"),
                PathBuf::from("/var/lib/conductor"),
            )
        } else {
            (paths::default_socket(), paths::default_state_dir())
        };
        let memory_mb = match &self.mem {
            Some(text) => parse_memory_mb(text)?,
            None => node::physical_memory_mb(),
        };
        let selection = match (self.gpus.as_deref(), self.gpu_files.len()) {
            (Some(text), _) => Some(text.parse::<GpuSelection>()?),
            (None, 0) => None,
            (None, files) => Some(GpuSelection::Count(
                u32::try_from(files).unwrap_or(u32::MAX),
            )),
        };
        let partitions = Partitions::from_definitions(&self.partition_defs, &self.partition)
            .map_err(Error::Invalid)?;
        let user_limits = UserLimits {
            max_jobs: self.max_jobs_per_user,
            max_tres: match &self.max_tres_per_user {
                Some(text) => text
                    .parse::<TresLimits>()
                    .map_err(|e| Error::Invalid(format!("--max-tres-per-user {e}")))?,
                None => TresLimits::default(),
            },
        };
        let gpus = gpus::select(gpus::detect(), selection.as_ref());
        let gpus = gpus::with_files(gpus, &self.gpu_files)?;
        Ok(Config {
            socket: self.socket.clone().unwrap_or(default_socket),
            listen: self.listen,
            state_dir: self.state_dir.clone().unwrap_or(default_state),
            capacity: Capacity {
                cpus: self.cpus.unwrap_or_else(node::online_cpus),
                memory_mb,
                gpus: u32::try_from(gpus.len()).unwrap_or(u32::MAX),
            },
            gpus,
            kill_wait: Duration::from_secs(self.kill_wait),
            min_job_age: Duration::from_secs(self.min_job_age),
            enforce_part_limits: self.enforce_part_limits,
            requeue_delay: Duration::from_secs(self.requeue_delay),
            history: (self.history_days > 0)
                .then(|| Duration::from_secs(self.history_days * 86_400)),
            partition: partitions.default_partition().name.clone(),
            partitions,
            user_limits,
            node_name: paths::hostname(),
            system: self.system,
            operators,
            insecure_listen: self.insecure_listen,
            metrics_public: self.metrics_public,
            tls: self
                .tls_cert
                .clone()
                .zip(self.tls_key.clone())
                .map(|(cert, key)| tls::TlsFiles { cert, key }),
            containment: self.containment,
            max_job_count: self.max_job_count.max(1),
            max_submit_per_user: self.max_submit_per_user,
            first_job_id: self.first_job_id,
            time_limit_unit: self.time_limit_unit,
            max_array_size: self.max_array_size,
            scheduler_type: self.scheduler_type,
            backfill: backfill::Settings {
                window: i64::try_from(self.bf_window)
                    .ok()
                    .and_then(chrono::TimeDelta::try_minutes)
                    .unwrap_or(chrono::TimeDelta::MAX),
                max_job_test: self.bf_max_job_test.max(1),
            },
            connections: ConnectionLimits {
                total: self.max_connections.max(1),
                per_peer: self.max_connections_per_user.max(1),
                idle: Duration::from_secs(self.idle_timeout.max(1)),
                request: Duration::from_secs(self.request_timeout.max(1)),
            },
            priority: self.priority_settings()?,
            billing: self
                .tres_billing_weights
                .parse()
                .map_err(|e| Error::Invalid(format!("--tres-billing-weights: {e}")))?,
            shares: self
                .fairshare_shares
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| Error::Invalid(format!("--fairshare-shares: {e}")))?
                .unwrap_or_default(),
            cpu_bind: self.cpu_bind != "none",
            def_mem_per_cpu_mb: self
                .def_mem_per_cpu
                .as_deref()
                .map(parse_memory_mb)
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &[&str]) -> Config {
        let mut argv = vec![
            "conductord",
            "--socket",
            "/tmp/c.sock",
            "--state-dir",
            "/tmp/c",
            "--cpus",
            "2",
            "--mem",
            "1G",
            "--gpus",
            "0",
        ];
        argv.extend_from_slice(extra);
        ConductordArgs::try_parse_from(argv)
            .expect("parses")
            .config()
            .expect("a configuration")
    }

    #[test]
    fn backfill_is_the_default_with_slurm_s_parameters() {
        let config = config(&[]);
        assert_eq!(config.scheduler_type, SchedulerType::Backfill);
        assert_eq!(config.backfill, backfill::Settings::default());
        assert_eq!(config.backfill.window, chrono::TimeDelta::days(1));
        assert_eq!(config.backfill.max_job_test, 500);
    }

    #[test]
    fn the_scheduler_takes_slurm_conf_s_names_too() {
        for (given, wanted) in [
            ("builtin", SchedulerType::Builtin),
            ("sched/builtin", SchedulerType::Builtin),
            ("sched/backfill", SchedulerType::Backfill),
        ] {
            let config = config(&["--scheduler-type", given]);
            assert_eq!(config.scheduler_type, wanted, "{given}");
        }
        let config = config(&["--bf-window", "90", "--bf-max-job-test", "7"]);
        assert_eq!(config.backfill.window, chrono::TimeDelta::minutes(90));
        assert_eq!(config.backfill.max_job_test, 7);
        assert!(ConductordArgs::try_parse_from(["conductord", "--bf-window", "0"]).is_err());
        assert!(
            ConductordArgs::try_parse_from(["conductord", "--scheduler-type", "fifo"]).is_err()
        );
    }
}
