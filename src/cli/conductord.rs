//! `conductord`'s command line.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use clap::parser::ValueSource;
use serde::{Deserialize, Serialize};

use crate::cli::Outcome;
use crate::daemon::config_file::{self, ConfigError, ConfigFile};
use crate::daemon::gpus::{self, GpuSelection};
use crate::daemon::partitions::Partitions;
use crate::daemon::scheduler::backfill;
use crate::daemon::scheduler::fair_share::{BillingWeights, Shares};
use crate::daemon::scheduler::limits::{TresLimits, UserLimits};
use crate::daemon::scheduler::priority::{self, PriorityType};
use crate::daemon::seed_properties;
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
///
/// Every setting is a flag and a key of the configuration file
/// (conductor.toml, see --config); a flag given wins over its key.
#[derive(Debug, Clone, Parser)]
#[command(name = "conductord", version, max_term_width = 100)]
pub struct ConductordArgs {
    /// Read the settings from this TOML file [default: $XDG_CONFIG_HOME/conductor/conductor.toml,
    /// with --system /etc/conductor/conductor.toml]
    ///
    /// A default file that does not exist is no error; a file named here
    /// must exist. Its keys are named after slurm.conf's (FirstJobId,
    /// MaxArraySize, DefMemPerCPU, ...; --print-config shows each flag's);
    /// partitions are [[partition]] tables with --partition-def's keys.
    /// Unknown keys are errors.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Print the effective settings (the file, the flags over it) as TOML that --config reads, and exit
    #[arg(long)]
    pub print_config: bool,

    /// Print the seed service's app.properties FILE as a conductor.toml, and exit
    #[arg(long, value_name = "FILE")]
    pub import_properties: Option<PathBuf>,

    /// A system daemon, as root for every user: socket /run/conductor/conductord.sock
    /// (mode 0666), state in /var/lib/conductor, jobs run as their submitters
    #[arg(long)]
    pub system: bool,

    #[command(flatten)]
    pub settings: Settings,

    /// Run as the daemon's launcher of the supervisors of the jobs in DIR (internal)
    #[arg(long, value_name = "DIR", hide = true)]
    pub launcher: Option<PathBuf>,
}

/// Every setting of the daemon, at once a flag (clap) and a key of the
/// configuration file (serde): each field's `id` is its key, so that
/// `ArgMatches::value_source(key)` says whether the flag was given and
/// the file's value must give way (see [`config_file::overlay`]). A
/// field's default is its flag's; the file's values pass through the same
/// value parsers as the flags' (see [`check_file_values`]).
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Unix socket to serve on [default: $XDG_RUNTIME_DIR/conductor/conductord.sock]
    #[arg(long, id = "Socket", value_name = "PATH")]
    #[serde(rename = "Socket")]
    pub socket: Option<PathBuf>,

    /// Also serve the API over TCP on this address, e.g. 127.0.0.1:6820
    ///
    /// A request over TCP acts as the user whose token it carries (see
    /// `ccontrol token`). Beyond loopback the listener needs TLS
    /// (--tls-cert and --tls-key) or --insecure-listen.
    #[arg(long, id = "Listen", value_name = "ADDR:PORT")]
    #[serde(rename = "Listen")]
    pub listen: Option<SocketAddr>,

    /// Serve --listen over TLS with this certificate chain (PEM, the server's first)
    #[arg(long, id = "TLSCert", value_name = "FILE", requires_all = ["Listen", "TLSKey"])]
    #[serde(rename = "TLSCert")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1)
    #[arg(long, id = "TLSKey", value_name = "FILE", requires = "TLSCert")]
    #[serde(rename = "TLSKey")]
    pub tls_key: Option<PathBuf>,

    /// Allow --listen beyond loopback over plain HTTP (tokens then cross the network in clear)
    #[arg(long, id = "InsecureListen")]
    #[serde(rename = "InsecureListen")]
    pub insecure_listen: bool,

    /// Serve GET /metrics over --listen without a token (the rest of the API still needs one)
    #[arg(long, id = "MetricsPublic")]
    #[serde(rename = "MetricsPublic")]
    pub metrics_public: bool,

    /// Directory for the job store and scripts [default: $XDG_STATE_HOME/conductor] (StateSaveLocation)
    #[arg(long, id = "StateSaveLocation", value_name = "DIR")]
    #[serde(rename = "StateSaveLocation")]
    pub state_dir: Option<PathBuf>,

    /// Keep the jobs in this PostgreSQL database (postgres://user[:password]@host[:port]/db)
    /// rather than SQLite in the state directory
    ///
    /// The state directory still holds the lock, the tokens and the jobs'
    /// directories.
    #[arg(long, id = "Store", value_name = "URL", value_parser = store_url)]
    #[serde(rename = "Store")]
    pub store: Option<String>,

    /// Append the daemon's log to this file instead of stderr
    #[arg(long, id = "LogFile", value_name = "FILE")]
    #[serde(rename = "LogFile")]
    pub log_file: Option<PathBuf>,

    /// The node's name, as jobs and cinfo see it (NodeName) [default: the short host name]
    #[arg(long, id = "NodeName", value_name = "NAME", visible_alias = "node")]
    #[serde(rename = "NodeName")]
    pub node_name: Option<String>,

    /// CPUs to offer to jobs [default: the online CPUs]
    #[arg(long, id = "CPUs", value_name = "N")]
    #[serde(rename = "CPUs")]
    pub cpus: Option<u32>,

    /// Memory to offer to jobs, e.g. 16G [default: physical memory] (RealMemory; a number is MB)
    #[arg(long, id = "RealMemory", value_name = "SIZE", value_parser = memory_text)]
    #[serde(rename = "RealMemory", deserialize_with = "config_file::text::option")]
    pub mem: Option<String>,

    /// GPUs to offer: a count (2) or ordinals (0,2 or 0-3) [default: the GPUs found]
    ///
    /// A count takes the first GPUs found and makes up the rest (ordinals
    /// no found GPU has), so that a machine without GPUs can offer some; a
    /// list takes the GPUs with those ordinals, found or made up; --gpus 0
    /// offers none. NVIDIA GPUs are found with nvidia-smi or the driver's
    /// files, AMD ones through /dev/kfd and the DRM render nodes.
    #[arg(long, id = "GPUs", value_name = "N|IDS", value_parser = parsed_text::<GpuSelection>)]
    #[serde(rename = "GPUs", deserialize_with = "config_file::text::option")]
    pub gpus: Option<String>,

    /// The offered GPUs' device nodes, in order (gres.conf's File=): /dev/nvidia0,/dev/nvidia1
    ///
    /// Each GPU a job does not hold has its node denied to the job where
    /// the backend can (v1 devices controller, a cgroup v2 device
    /// program). Without --gpus, one GPU is offered per file.
    #[arg(long, id = "GPUFiles", value_name = "FILES", value_delimiter = ',')]
    #[serde(rename = "GPUFiles")]
    pub gpu_files: Vec<PathBuf>,

    /// Seconds between SIGTERM and SIGKILL when a job is cancelled or times out (KillWait)
    #[arg(long, id = "KillWait", value_name = "SECONDS", default_value_t = 30)]
    #[serde(rename = "KillWait")]
    pub kill_wait: u64,

    /// Seconds without a heartbeat after which a node of a PostgreSQL store is DOWN (SlurmdTimeout)
    ///
    /// Each node renews its heartbeat in the database a few times per
    /// timeout; the scheduler declares a node whose heartbeat is older
    /// than this DOWN.
    #[arg(
        long,
        id = "SlurmdTimeout",
        value_name = "SECONDS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    #[serde(rename = "SlurmdTimeout")]
    pub node_timeout: u64,

    /// Seconds a requeued job waits before it may run again (Slurm: its credential lifetime, 120 s, plus one)
    ///
    /// Meanwhile it is pending with reason BeginTime, as in Slurm, where a
    /// requeued job may not start before the credentials of its last run
    /// have expired.
    #[arg(
        long,
        id = "RequeueDelay",
        value_name = "SECONDS",
        default_value_t = 121
    )]
    #[serde(rename = "RequeueDelay")]
    pub requeue_delay: u64,

    /// Refuse a job that asks for more CPUs than the node has (slurm.conf's EnforcePartLimits)
    ///
    /// Without it such a job is accepted and stays pending with reason
    /// PartitionConfig, as in Slurm by default; it holds up no other job
    /// and can be cancelled.
    #[arg(long, id = "EnforcePartLimits")]
    #[serde(rename = "EnforcePartLimits")]
    pub enforce_part_limits: bool,

    /// Seconds a finished job stays visible to cqueue and ccontrol (slurm.conf's MinJobAge); 0 keeps it for ever
    ///
    /// cacct sees it for as long as the history keeps it (--history-days).
    #[arg(long, id = "MinJobAge", value_name = "SECONDS", default_value_t = 300)]
    #[serde(rename = "MinJobAge")]
    pub min_job_age: u64,

    /// Days finished jobs stay in the history (cacct); 0 keeps them forever
    #[arg(long, id = "HistoryDays", value_name = "DAYS", default_value_t = 0)]
    #[serde(rename = "HistoryDays")]
    pub history_days: u64,

    /// Name of the node's one partition, when no --partition-def is given
    #[arg(
        long,
        id = "DefaultPartition",
        value_name = "NAME",
        default_value = "normal"
    )]
    #[serde(rename = "DefaultPartition")]
    pub partition: String,

    /// A partition, as a slurm.conf line: 'PartitionName=debug MaxTime=30 Default=YES'; repeatable
    ///
    /// Keys (case-insensitive): PartitionName, Default (YES/NO), MaxTime,
    /// DefaultTime (Slurm's time forms, UNLIMITED), PriorityTier,
    /// PriorityJobFactor, AllowGroups (ALL or group,group), MaxNodes (1 or
    /// UNLIMITED), State (UP), Nodes (ALL). Every partition covers the one
    /// node; the first is the default unless one says Default=YES. A job
    /// over its partition's MaxTime pends (PartitionTimeLimit) unless
    /// --enforce-part-limits refuses it. In the file: [[partition]] tables
    /// with the same keys.
    #[arg(long = "partition-def", id = "partition", value_name = "LINE")]
    #[serde(
        rename = "partition",
        with = "config_file::partition_lines",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub partition_defs: Vec<String>,

    /// Running jobs one user may have at once, array tasks each counted (MaxJobsPerUser)
    ///
    /// A job past it pends with reason AssocMaxJobsLimit until one of the
    /// user's jobs ends.
    #[arg(long, id = "MaxJobsPerUser", value_name = "N")]
    #[serde(rename = "MaxJobsPerUser")]
    pub max_jobs_per_user: Option<u64>,

    /// What one user's running jobs may hold at once: cpu=N,mem=SIZE,gres/gpu=N (MaxTRESPerUser)
    ///
    /// A job that would take its user past one pends with Slurm's reason
    /// (QOSMaxCpuPerUserLimit, QOSMaxMemoryPerUser, QOSMaxGRESPerUser).
    #[arg(long, id = "MaxTRESPerUser", value_name = "TRES", value_parser = parsed_text::<TresLimits>)]
    #[serde(rename = "MaxTRESPerUser")]
    pub max_tres_per_user: Option<String>,

    /// A user (name or uid) who may act on anyone's jobs; repeatable
    #[arg(long = "operator", id = "Operators", value_name = "USER")]
    #[serde(rename = "Operators")]
    pub operators: Vec<String>,

    /// How jobs are held to their CPUs, memory and processes: cgroup v2, cgroup v1, or none
    /// (a subreaper supervisor, affinity and a sampled memory limit)
    #[arg(
        long,
        id = "Containment",
        value_enum,
        value_name = "BACKEND",
        default_value = "auto"
    )]
    #[serde(rename = "Containment", with = "config_file::value_enum")]
    pub containment: containment::Mode,

    /// Whether jobs are pinned to their booked CPUs (cpuset and affinity): cores or none
    #[arg(long, id = "CpuBind", value_name = "HOW", default_value = "cores", value_parser = ["cores", "none"])]
    #[serde(rename = "CpuBind")]
    pub cpu_bind: String,

    /// Memory booked (and the limit) per CPU for jobs that ask for none, e.g. 2G (DefMemPerCPU; a number is MB)
    #[arg(long, id = "DefMemPerCPU", value_name = "SIZE", value_parser = memory_text)]
    #[serde(
        rename = "DefMemPerCPU",
        deserialize_with = "config_file::text::option"
    )]
    pub def_mem_per_cpu: Option<String>,

    /// Jobs held at most, pending and running together (Slurm's MaxJobCount)
    #[arg(long, id = "MaxJobCount", value_name = "N", default_value_t = 100_000)]
    #[serde(rename = "MaxJobCount")]
    pub max_job_count: usize,

    /// The id of the first job; later jobs count on from it, never below the highest used (FirstJobId)
    #[arg(long, id = "FirstJobId", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=4_294_901_759))]
    #[serde(rename = "FirstJobId")]
    pub first_job_id: u64,

    /// What time limits are kept in: minutes (rounded up, as Slurm) or seconds (for tests)
    #[arg(
        long,
        id = "TimeLimitUnit",
        value_enum,
        value_name = "UNIT",
        default_value = "minutes"
    )]
    #[serde(rename = "TimeLimitUnit", with = "config_file::value_enum")]
    pub time_limit_unit: TimeLimitUnit,

    /// Pending and running jobs one user may have, array tasks each counted (MaxSubmitJobsPerUser)
    #[arg(
        long = "max-submit-jobs-per-user",
        id = "MaxSubmitJobsPerUser",
        value_name = "N",
        visible_alias = "max-submit-per-user"
    )]
    #[serde(rename = "MaxSubmitJobsPerUser")]
    pub max_submit_per_user: Option<usize>,

    /// Array indices go from 0 to N-1, at most 4000001 (Slurm's MaxArraySize)
    #[arg(
        long,
        id = "MaxArraySize",
        value_name = "N",
        default_value_t = DEFAULT_MAX_ARRAY_SIZE,
        value_parser = clap::value_parser!(u32).range(1..=i64::from(LARGEST_MAX_ARRAY_SIZE)),
    )]
    #[serde(rename = "MaxArraySize")]
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
    #[arg(
        long,
        id = "SchedulerType",
        value_enum,
        value_name = "TYPE",
        default_value = "backfill"
    )]
    #[serde(rename = "SchedulerType", with = "config_file::value_enum")]
    pub scheduler_type: SchedulerType,

    /// Minutes ahead a backfill reservation may lie at most (SchedulerParameters' bf_window)
    #[arg(long, id = "BfWindow", value_name = "MINUTES", default_value_t = backfill::DEFAULT_WINDOW_MINUTES,
          value_parser = clap::value_parser!(u64).range(1..=u64::from(u32::MAX)))]
    #[serde(rename = "BfWindow")]
    pub bf_window: u64,

    /// Jobs a pass tests behind its reservation at most (SchedulerParameters' bf_max_job_test)
    #[arg(long, id = "BfMaxJobTest", value_name = "N", default_value_t = backfill::DEFAULT_MAX_JOB_TEST)]
    #[serde(rename = "BfMaxJobTest")]
    pub bf_max_job_test: usize,

    /// How pending jobs are ordered: basic (by -nice, then submit time) or multifactor (PriorityType)
    ///
    /// `priority/basic` and `priority/multifactor` are accepted too. Under
    /// multifactor a job's priority is W_age×age + W_fairshare×fairshare +
    /// W_jobsize×jobsize + W_partition×partition − nice, each factor in
    /// [0, 1], computed at submit and every --priority-calc-period.
    #[arg(
        long,
        id = "PriorityType",
        value_name = "TYPE",
        default_value = "basic"
    )]
    #[serde(rename = "PriorityType", with = "priority_type_name")]
    pub priority_type: PriorityType,

    /// Weight of the age factor under multifactor (PriorityWeightAge; Slurm's default is 0)
    #[arg(long, id = "PriorityWeightAge", value_name = "N", default_value_t = DEFAULT_WEIGHT)]
    #[serde(rename = "PriorityWeightAge")]
    pub priority_weight_age: u32,

    /// Weight of the fair-share factor under multifactor (PriorityWeightFairshare)
    #[arg(long, id = "PriorityWeightFairshare", value_name = "N", default_value_t = DEFAULT_WEIGHT)]
    #[serde(rename = "PriorityWeightFairshare")]
    pub priority_weight_fairshare: u32,

    /// Weight of the job-size factor under multifactor (PriorityWeightJobSize)
    #[arg(long, id = "PriorityWeightJobSize", value_name = "N", default_value_t = DEFAULT_WEIGHT)]
    #[serde(rename = "PriorityWeightJobSize")]
    pub priority_weight_job_size: u32,

    /// Weight of the partition factor under multifactor (PriorityWeightPartition)
    #[arg(long, id = "PriorityWeightPartition", value_name = "N", default_value_t = DEFAULT_WEIGHT)]
    #[serde(rename = "PriorityWeightPartition")]
    pub priority_weight_partition: u32,

    /// Age at which a job's age factor reaches 1, in Slurm's time format (PriorityMaxAge)
    #[arg(long, id = "PriorityMaxAge", value_name = "TIME", default_value = "7-0", value_parser = time_or_zero_text)]
    #[serde(
        rename = "PriorityMaxAge",
        deserialize_with = "config_file::text::deserialize"
    )]
    pub priority_max_age: String,

    /// Time in which past usage loses half its weight (PriorityDecayHalfLife); 0 never decays
    #[arg(long, id = "PriorityDecayHalfLife", value_name = "TIME", default_value = "7-0", value_parser = time_or_zero_text)]
    #[serde(
        rename = "PriorityDecayHalfLife",
        deserialize_with = "config_file::text::deserialize"
    )]
    pub priority_decay_half_life: String,

    /// How often every pending job's priority is computed again, in minutes or Slurm's time format (PriorityCalcPeriod)
    #[arg(long, id = "PriorityCalcPeriod", value_name = "TIME", default_value = "5", value_parser = time_text)]
    #[serde(
        rename = "PriorityCalcPeriod",
        deserialize_with = "config_file::text::deserialize"
    )]
    pub priority_calc_period: String,

    /// What a second of each resource bills a user's usage, e.g. CPU=1.0,Mem=0.25G,GRES/gpu=2.0 (TRESBillingWeights)
    #[arg(long, id = "TRESBillingWeights", value_name = "WEIGHTS", default_value = "CPU=1.0",
          value_parser = parsed_text::<BillingWeights>)]
    #[serde(rename = "TRESBillingWeights")]
    pub tres_billing_weights: String,

    /// Users' fair-share shares, e.g. alice=2,bob=1; users not named have 1
    #[arg(long, id = "FairshareShares", value_name = "USER=N,...", value_parser = parsed_text::<Shares>)]
    #[serde(rename = "FairshareShares")]
    pub fairshare_shares: Option<String>,

    /// Connections open at once, in all
    #[arg(long, id = "MaxConnections", value_name = "N", default_value_t = 4096)]
    #[serde(rename = "MaxConnections")]
    pub max_connections: usize,

    /// Connections open at once from one user (one address over TCP)
    #[arg(
        long,
        id = "MaxConnectionsPerUser",
        value_name = "N",
        default_value_t = 512
    )]
    #[serde(rename = "MaxConnectionsPerUser")]
    pub max_connections_per_user: usize,

    /// Seconds a connection may wait before sending a request (and between requests)
    #[arg(long, id = "IdleTimeout", value_name = "SECONDS", default_value_t = 30)]
    #[serde(rename = "IdleTimeout")]
    pub idle_timeout: u64,

    /// Seconds one request may take, its body included (408 after that)
    #[arg(
        long,
        id = "RequestTimeout",
        value_name = "SECONDS",
        default_value_t = 120
    )]
    #[serde(rename = "RequestTimeout")]
    pub request_timeout: u64,
}

impl Default for Settings {
    /// The settings of a command line that gives none: every flag's default.
    fn default() -> Settings {
        use clap::{Args, FromArgMatches};
        let mut command = Settings::augment_args(clap::Command::new("conductord"));
        let matches = command
            .try_get_matches_from_mut(["conductord"])
            .expect("no flag is required");
        Settings::from_arg_matches(&matches).expect("every default parses")
    }
}

/// `PriorityType` as slurm.conf names it (`priority/basic`), read as the
/// flag reads it (`basic` too).
mod priority_type_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use crate::daemon::scheduler::priority::PriorityType;

    pub fn serialize<S: Serializer>(kind: &PriorityType, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(kind.plugin())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<PriorityType, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(D::Error::custom)
    }
}

/// A memory size as the flag takes it (checked here, read by `config`).
fn memory_text(text: &str) -> std::result::Result<String, String> {
    parse_memory_mb(text)
        .map(|_| text.to_string())
        .map_err(|_| "not a memory size, like 16G or 512M".to_string())
}

/// A time in Slurm's forms (`5`, `1:00:00`, `7-0`), as the flag takes it.
fn time_text(text: &str) -> std::result::Result<String, String> {
    match parse_time_limit(text) {
        Ok(Some(_)) => Ok(text.to_string()),
        _ => Err("not a time (Slurm's forms: 5, 1:00:00, 7-0)".to_string()),
    }
}

/// [`time_text`], or `0`.
fn time_or_zero_text(text: &str) -> std::result::Result<String, String> {
    if text.trim() == "0" {
        return Ok(text.to_string());
    }
    time_text(text)
}

/// Text that `T` parses, as the flag takes it (read again by `config`).
fn parsed_text<T>(text: &str) -> std::result::Result<String, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    text.parse::<T>()
        .map(|_| text.to_string())
        .map_err(|e| e.to_string())
}

/// Each multifactor weight when none is given: Slurm's are 0, which would
/// make multifactor order jobs as basic does.
const DEFAULT_WEIGHT: u32 = 1000;

/// Parses the command line, reads the configuration file under it, and
/// runs the daemon in the foreground until it is stopped; or prints the
/// effective settings, or converts a seed properties file (or, with the
/// internal `--launcher`, runs the launcher of the jobs' supervisors).
pub fn main(prog: &str) -> Outcome {
    use clap::{CommandFactory, FromArgMatches};
    let mut command = ConductordArgs::command();
    let matches = crate::cli::matches_or_exit(prog, 1, &mut command);
    let mut args = match ConductordArgs::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(error) => return Outcome::error(prog, &crate::cli::first_line(&error)),
    };
    if let Some(jobs) = &args.launcher {
        return Outcome::status(crate::daemon::run_launcher(jobs));
    }
    if let Some(path) = &args.import_properties {
        return import_properties(prog, path);
    }
    let given = |key: &str| {
        matches.ids().any(|id| id.as_str() == key)
            && matches.value_source(key) == Some(ValueSource::CommandLine)
    };
    let file = match args.read_settings(&command, given) {
        Ok(file) => file,
        Err(error) => return Outcome::failed(vec![format!("{prog}: {error}")]),
    };
    if args.print_config {
        return match printed_config(&args.settings, file.as_deref()) {
            Ok(text) => Outcome::printed(text),
            Err(error) => Outcome::error(prog, &error),
        };
    }
    run(prog, &args)
}

/// Runs the daemon with settings already merged (see [`main`]).
pub fn run(prog: &str, args: &ConductordArgs) -> Outcome {
    if let Some(path) = &args.settings.log_file
        && let Err(error) = log_to(path)
    {
        return Outcome::error(prog, &error);
    }
    match args.config().and_then(crate::daemon::run) {
        Ok(()) => Outcome::default(),
        Err(error) => Outcome::error(prog, &error),
    }
}

/// Sends the daemon's log (its stderr, which the jobs' launcher inherits)
/// to the end of `path`.
fn log_to(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|cause| Error::Io {
            what: "cannot open the log file",
            path: path.to_path_buf(),
            cause,
        })?;
    rustix::stdio::dup2_stderr(&file).map_err(|e| Error::Io {
        what: "cannot log to",
        path: path.to_path_buf(),
        cause: e.into(),
    })
}

/// `--import-properties`: the seed's file as TOML on stdout.
fn import_properties(prog: &str, path: &Path) -> Outcome {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(cause) => {
            return Outcome::error(
                prog,
                &Error::Io {
                    what: "cannot read",
                    path: path.to_path_buf(),
                    cause,
                },
            );
        }
    };
    match seed_properties::to_toml(&path.display().to_string(), &text) {
        Ok(toml) => Outcome::printed(toml),
        Err(error) => Outcome::failed(vec![format!("{prog}: {}:{error}", path.display())]),
    }
}

/// `--print-config`: the settings as TOML that `--config` reads back,
/// after a header saying where they came from. Keys without a value (no
/// default, none given) are left out: the daemon finds those itself. A
/// password in the store's URL is shown as `***`.
pub fn printed_config(
    settings: &Settings,
    file: Option<&Path>,
) -> std::result::Result<String, String> {
    let mut shown = settings.clone();
    shown.store = shown
        .store
        .as_deref()
        .map(crate::daemon::redacted_store_url);
    let body = toml::to_string(&shown).map_err(|e| e.to_string())?;
    let source = file.map_or_else(
        || "no configuration file".to_string(),
        |path| path.display().to_string(),
    );
    Ok(format!(
        "# conductord's effective settings: {source}, the flags over it.\n\
         # Keys left out are unset: the socket, state directory, node name,\n\
         # CPUs, memory and GPUs are then found at start; a limit, no limit.\n{body}"
    ))
}

/// Every key of the configuration file, commented out, after its flag's
/// help, with its default where it has one: `contrib/conductor.toml`.
pub fn commented_defaults() -> String {
    use clap::Args;
    let command = Settings::augment_args(clap::Command::new("conductord"));
    let defaults =
        toml::Table::try_from(Settings::default()).expect("the settings serialize as a table");
    let mut out = String::from(
        "# conductor.toml: conductord's settings, every key with its default.\n\
         # A per-user daemon reads $XDG_CONFIG_HOME/conductor/conductor.toml\n\
         # (~/.config/conductor/conductor.toml), a --system daemon\n\
         # /etc/conductor/conductor.toml, or --config FILE. Each key is a flag too\n\
         # (conductord --help); a flag given wins over its key.\n\
         # Generated from conductord's flags: UPDATE_GENERATED=1 cargo test --test integration config_file\n",
    );
    for arg in command.get_arguments() {
        let key = arg.get_id().as_str();
        if key == "partition" {
            continue;
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        let flag = arg.get_long().unwrap_or(key);
        out.push_str(&format!("\n# --{flag}: {help}\n"));
        match defaults.get(key) {
            Some(toml::Value::Array(items)) if items.is_empty() => {
                out.push_str(&format!("# {key} = []\n"));
            }
            Some(value) => out.push_str(&format!("# {key} = {value}\n")),
            None => {
                let name = arg
                    .get_value_names()
                    .and_then(|names| names.first())
                    .map_or_else(|| key.to_string(), ToString::to_string);
                out.push_str(&format!("# {key} = <{name}>\n"));
            }
        }
    }
    out.push_str(
        "\n# Partitions: one table each, with --partition-def's keys. Without any,\n\
         # there is the one partition DefaultPartition. The first is the default\n\
         # unless one says Default = true.\n\
         # [[partition]]\n\
         # PartitionName = \"debug\"\n\
         # Default = true\n\
         # MaxTime = \"30:00\"\n\
         # DefaultTime = \"10:00\"\n\
         # PriorityTier = 2\n\
         # PriorityJobFactor = 1\n\
         # AllowGroups = [\"hpc\", \"ops\"]\n\
         # MaxNodes = 1\n\
         #\n\
         # [[partition]]\n\
         # PartitionName = \"long\"\n\
         # MaxTime = \"UNLIMITED\"\n",
    );
    out
}

/// Checks each value the file gives with its flag's own parser (ranges,
/// possible values, the grammars of sizes and times), so that a value the
/// flag would refuse is refused at its line, in the same words.
pub fn check_file_values(
    command: &clap::Command,
    file: &ConfigFile,
) -> std::result::Result<(), ConfigError> {
    use clap::error::{ContextKind, ContextValue};
    for (key, texts, line) in file.flag_values()? {
        let Some(arg) = command.get_arguments().find(|a| a.get_id() == key.as_str()) else {
            continue;
        };
        // A command of this one value, parsed as the flag's (clap keeps
        // its value parsers' entry point to itself).
        let mut check = clap::Command::new("conductord").arg(
            clap::Arg::new("value")
                .long("value")
                .action(clap::ArgAction::Set)
                .allow_hyphen_values(true)
                .value_parser(arg.get_value_parser().clone()),
        );
        for text in texts {
            let parsed = check
                .try_get_matches_from_mut(["conductord".to_string(), format!("--value={text}")]);
            if let Err(error) = parsed {
                let reason = match (
                    std::error::Error::source(&error),
                    error.get(ContextKind::ValidValue),
                ) {
                    (Some(source), _) => source.to_string(),
                    (None, Some(ContextValue::Strings(valid))) => {
                        format!("{text:?} is not one of {}", valid.join(", "))
                    }
                    _ => crate::cli::first_line(&error),
                };
                return Err(file.invalid(line, &format!("{key}: {reason}")));
            }
        }
    }
    Ok(())
}

impl ConductordArgs {
    /// Reads the configuration file (`--config`, else the default one if
    /// it exists) and puts its settings under the flags `given` on the
    /// command line; returns the file read, if any.
    pub fn read_settings(
        &mut self,
        command: &clap::Command,
        given: impl Fn(&str) -> bool,
    ) -> std::result::Result<Option<PathBuf>, ConfigError> {
        let file = match &self.config {
            Some(path) => Some(ConfigFile::read(path)?),
            None => match config_file::default_path(self.system) {
                Some(path) => ConfigFile::read_if_present(&path)?,
                None => None,
            },
        };
        let Some(file) = file else {
            return Ok(None);
        };
        let from_file: Settings = file.settings()?;
        check_file_values(command, &file)?;
        self.settings = config_file::overlay(&from_file, &self.settings, given)
            .map_err(|e| file.invalid(1, &e))?;
        Ok(Some(file.path().to_path_buf()))
    }

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
            kind: self.settings.priority_type,
            weights: priority::Weights {
                age: self.settings.priority_weight_age,
                fair_share: self.settings.priority_weight_fairshare,
                job_size: self.settings.priority_weight_job_size,
                partition: self.settings.priority_weight_partition,
            },
            max_age: period("priority-max-age", &self.settings.priority_max_age, true)?,
            decay_half_life: period(
                "priority-decay-half-life",
                &self.settings.priority_decay_half_life,
                true,
            )?,
            calc_period: period(
                "priority-calc-period",
                &self.settings.priority_calc_period,
                false,
            )?,
        })
    }

    /// The daemon's configuration, defaults filled in.
    pub fn config(&self) -> Result<Config> {
        if let Some(addr) = self.settings.listen
            && !addr.ip().is_loopback()
            && self.settings.tls_cert.is_none()
            && !self.settings.insecure_listen
        {
            return Err(Error::Invalid(format!(
                "--listen {addr} is beyond this machine, where tokens must not travel in \
                 clear: give it --tls-cert and --tls-key, listen on loopback, or pass \
                 --insecure-listen"
            )));
        }
        // The flags' `requires` hold these together on the command line;
        // a file is held to them here.
        let tls = (&self.settings.tls_cert, &self.settings.tls_key);
        if tls.0.is_some() != tls.1.is_some() || (tls.0.is_some() && self.settings.listen.is_none())
        {
            return Err(Error::Invalid(
                "TLS needs --listen, --tls-cert and --tls-key together (Listen, TLSCert, TLSKey)"
                    .into(),
            ));
        }
        if self.system && !rustix::process::getuid().is_root() {
            return Err(Error::Invalid("--system needs root".into()));
        }
        let operators = self
            .settings
            .operators
            .iter()
            .map(|user| {
                users::uid_of(user)
                    .ok_or_else(|| Error::Invalid(format!("--operator {user}: no such user")))
            })
            .collect::<Result<Vec<u32>>>()?;
        let (default_socket, default_state) = if self.system {
            (
                PathBuf::from(paths::SYSTEM_SOCKET),
                PathBuf::from(paths::SYSTEM_STATE_DIR),
            )
        } else {
            (paths::default_socket(), paths::default_state_dir())
        };
        let memory_mb = match &self.settings.mem {
            Some(text) => parse_memory_mb(text)?,
            None => node::physical_memory_mb(),
        };
        let selection = match (self.settings.gpus.as_deref(), self.settings.gpu_files.len()) {
            (Some(text), _) => Some(text.parse::<GpuSelection>()?),
            (None, 0) => None,
            (None, files) => Some(GpuSelection::Count(
                u32::try_from(files).unwrap_or(u32::MAX),
            )),
        };
        let partitions =
            Partitions::from_definitions(&self.settings.partition_defs, &self.settings.partition)
                .map_err(Error::Invalid)?;
        let user_limits = UserLimits {
            max_jobs: self.settings.max_jobs_per_user,
            max_tres: match &self.settings.max_tres_per_user {
                Some(text) => text
                    .parse::<TresLimits>()
                    .map_err(|e| Error::Invalid(format!("--max-tres-per-user {e}")))?,
                None => TresLimits::default(),
            },
        };
        let gpus = gpus::select(gpus::detect(), selection.as_ref());
        let gpus = gpus::with_files(gpus, &self.settings.gpu_files)?;
        Ok(Config {
            socket: self.settings.socket.clone().unwrap_or(default_socket),
            listen: self.settings.listen,
            state_dir: self.settings.state_dir.clone().unwrap_or(default_state),
            store: self.settings.store.clone(),
            capacity: Capacity {
                cpus: self.settings.cpus.unwrap_or_else(node::online_cpus),
                memory_mb,
                gpus: u32::try_from(gpus.len()).unwrap_or(u32::MAX),
            },
            gpus,
            kill_wait: Duration::from_secs(self.settings.kill_wait),
            node_timeout: Duration::from_secs(self.settings.node_timeout),
            min_job_age: Duration::from_secs(self.settings.min_job_age),
            enforce_part_limits: self.settings.enforce_part_limits,
            requeue_delay: Duration::from_secs(self.settings.requeue_delay),
            history: (self.settings.history_days > 0)
                .then(|| Duration::from_secs(self.settings.history_days * 86_400)),
            partition: partitions.default_partition().name.clone(),
            partitions,
            user_limits,
            node_name: self
                .settings
                .node_name
                .clone()
                .unwrap_or_else(paths::hostname),
            system: self.system,
            operators,
            insecure_listen: self.settings.insecure_listen,
            metrics_public: self.settings.metrics_public,
            tls: self
                .settings
                .tls_cert
                .clone()
                .zip(self.settings.tls_key.clone())
                .map(|(cert, key)| tls::TlsFiles { cert, key }),
            containment: self.settings.containment,
            max_job_count: self.settings.max_job_count.max(1),
            max_submit_per_user: self.settings.max_submit_per_user,
            first_job_id: self.settings.first_job_id,
            time_limit_unit: self.settings.time_limit_unit,
            max_array_size: self.settings.max_array_size,
            scheduler_type: self.settings.scheduler_type,
            backfill: backfill::Settings {
                window: i64::try_from(self.settings.bf_window)
                    .ok()
                    .and_then(chrono::TimeDelta::try_minutes)
                    .unwrap_or(chrono::TimeDelta::MAX),
                max_job_test: self.settings.bf_max_job_test.max(1),
            },
            connections: ConnectionLimits {
                total: self.settings.max_connections.max(1),
                per_peer: self.settings.max_connections_per_user.max(1),
                idle: Duration::from_secs(self.settings.idle_timeout.max(1)),
                request: Duration::from_secs(self.settings.request_timeout.max(1)),
            },
            priority: self.priority_settings()?,
            billing: self
                .settings
                .tres_billing_weights
                .parse()
                .map_err(|e| Error::Invalid(format!("--tres-billing-weights: {e}")))?,
            shares: self
                .settings
                .fairshare_shares
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(|e| Error::Invalid(format!("--fairshare-shares: {e}")))?
                .unwrap_or_default(),
            cpu_bind: self.settings.cpu_bind != "none",
            def_mem_per_cpu_mb: self
                .settings
                .def_mem_per_cpu
                .as_deref()
                .map(parse_memory_mb)
                .transpose()?,
        })
    }
}

/// A store URL: PostgreSQL's, the one kind there is besides the default.
fn store_url(text: &str) -> std::result::Result<String, String> {
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Ok(text.to_owned())
    } else {
        Err(format!("{text}: expected postgres://user@host/database"))
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

    /// The command line `argv` with the file `text` under it, as `main`
    /// merges them.
    fn merged(text: &str, argv: &[&str]) -> std::result::Result<ConductordArgs, String> {
        use clap::{CommandFactory, FromArgMatches};
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("conductor.toml");
        std::fs::write(&path, text).expect("write the file");
        let path = path.to_string_lossy().into_owned();
        let mut full = vec!["conductord", "--config", &path];
        full.extend_from_slice(argv);
        let mut command = ConductordArgs::command();
        let matches = command.try_get_matches_from_mut(full).expect("parses");
        let mut args = ConductordArgs::from_arg_matches(&matches).expect("parses");
        let given = |key: &str| {
            matches.ids().any(|id| id.as_str() == key)
                && matches.value_source(key) == Some(ValueSource::CommandLine)
        };
        args.read_settings(&command, given)
            .map(|_| args.clone())
            .map_err(|e| e.to_string().replace(&path, "FILE"))
    }

    fn table(settings: &Settings) -> toml::Table {
        toml::Table::try_from(settings).expect("serializes")
    }

    #[test]
    fn every_setting_s_key_is_its_flag_s_id() {
        use clap::Args;
        let given = ConductordArgs::try_parse_from([
            "conductord",
            "--socket",
            "s",
            "--listen",
            "127.0.0.1:1",
            "--tls-cert",
            "c",
            "--tls-key",
            "k",
            "--state-dir",
            "d",
            "--log-file",
            "l",
            "--node-name",
            "n",
            "--cpus",
            "1",
            "--mem",
            "1G",
            "--gpus",
            "0",
            "--gpu-files",
            "/dev/null",
            "--partition-def",
            "PartitionName=a",
            "--max-jobs-per-user",
            "1",
            "--max-tres-per-user",
            "cpu=1",
            "--operator",
            "root",
            "--def-mem-per-cpu",
            "1G",
            "--max-submit-jobs-per-user",
            "1",
            "--fairshare-shares",
            "root=1",
            "--store",
            "postgres://conductor@db/jobs",
        ])
        .expect("parses");
        let keys: std::collections::BTreeSet<String> =
            table(&given.settings).keys().cloned().collect();
        let command = Settings::augment_args(clap::Command::new("conductord"));
        let ids: std::collections::BTreeSet<String> = command
            .get_arguments()
            .map(|arg| arg.get_id().to_string())
            .collect();
        assert_eq!(keys, ids);
        assert!(keys.contains("FirstJobId") && keys.contains("DefMemPerCPU"));
        assert!(keys.contains("TRESBillingWeights") && keys.contains("partition"));
    }

    #[test]
    fn the_file_sets_what_the_flags_leave_and_a_flag_given_wins() {
        let text = "FirstJobId = 1000\nKillWait = 5\nRealMemory = 2048\nEnforcePartLimits = true\n\
                    SchedulerType = \"sched/builtin\"\nPriorityType = \"priority/multifactor\"\n\
                    Operators = [\"root\"]\n\n[[partition]]\nPartitionName = \"debug\"\nMaxTime = 30\n";
        let args =
            merged(text, &["--gpus", "0", "--kill-wait", "30", "--cpus", "3"]).expect("valid");
        let config = args.config().expect("a configuration");
        assert_eq!(config.first_job_id, 1000);
        assert_eq!(
            config.kill_wait,
            Duration::from_secs(30),
            "given, though the default"
        );
        assert_eq!(config.capacity.cpus, 3);
        assert_eq!(config.capacity.memory_mb, 2048);
        assert!(config.enforce_part_limits);
        assert_eq!(config.scheduler_type, SchedulerType::Builtin);
        assert_eq!(config.priority.kind, PriorityType::Multifactor);
        assert_eq!(config.operators, [0]);
        assert_eq!(config.partition, "debug");
        assert_eq!(config.partitions.list()[0].max_time_secs, Some(1800));
        let flags_win = merged(text, &["--gpus", "0", "--partition-def", "PartitionName=x"])
            .expect("valid")
            .config()
            .expect("a configuration");
        assert_eq!(flags_win.partition, "x");
    }

    #[test]
    fn a_value_its_flag_would_refuse_is_refused_at_its_line() {
        for (text, says) in [
            (
                "\nFirstJobId = 0\n",
                "FILE:2: FirstJobId: 0 is not in 1..=4294901759",
            ),
            (
                "CpuBind = \"all\"",
                "FILE:1: CpuBind: \"all\" is not one of cores, none",
            ),
            (
                "RealMemory = \"lots\"",
                "FILE:1: RealMemory: not a memory size, like 16G or 512M",
            ),
            (
                "PriorityMaxAge = \"soon\"",
                "FILE:1: PriorityMaxAge: not a time",
            ),
            (
                "Containment = \"jail\"",
                "FILE:1: Containment: \"jail\" is not one of auto, cgroup2",
            ),
            ("KillWait = -1", "FILE:1: KillWait: invalid value"),
            (
                "FirstJobID = 3",
                "FILE:1: unknown key `FirstJobID` (did you mean `FirstJobId`?)",
            ),
        ] {
            let error = merged(text, &[]).expect_err(text);
            assert!(error.starts_with(says), "{text}: {error}");
            assert_eq!(error.lines().count(), 1, "{error}");
        }
    }

    #[test]
    fn the_printed_settings_read_back_to_the_same() {
        let args = merged(
            "FirstJobId = 7\nMaxTRESPerUser = \"cpu=2,mem=1G\"\n[[partition]]\nPartitionName = \"a\"\n\
             Default = true\nAllowGroups = [\"hpc\"]\n[[partition]]\nPartitionName = \"b\"\n",
            &["--listen", "127.0.0.1:6820", "--mem", "1G"],
        )
        .expect("valid");
        let printed = printed_config(&args.settings, None).expect("prints");
        let again = merged(&printed, &[]).expect("reads back");
        assert_eq!(table(&again.settings), table(&args.settings));
        assert_eq!(
            printed_config(&again.settings, None).expect("prints"),
            printed
        );
    }

    #[test]
    fn the_commented_defaults_are_every_key_with_its_default() {
        let text = commented_defaults();
        let uncommented: String = text
            .lines()
            .filter_map(|line| line.strip_prefix("# "))
            .filter(|line| {
                line.split_once(" = ")
                    .is_some_and(|(key, value)| !key.contains(' ') && !value.starts_with('<'))
                    && !line.starts_with(char::is_lowercase)
            })
            .take_while(|line| !line.starts_with("PartitionName"))
            .map(|line| format!("{line}\n"))
            .collect();
        let file = ConfigFile::from_text(Path::new("contrib/conductor.toml"), uncommented);
        let read: Settings = file.settings().expect("the defaults parse");
        assert_eq!(table(&read), table(&Settings::default()));
        assert!(text.contains("# FirstJobId = 1\n"), "{text}");
        assert!(text.contains("# CPUs = <N>\n"), "{text}");
    }
}
