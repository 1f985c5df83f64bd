//! The partitions: their definitions, read from `--partition-def` lines in
//! slurm.conf's own syntax, and the routing of a job to one of them. Every
//! partition covers the one node; they differ in limits, defaults, who may
//! use them and (for the priority factors) how much their jobs weigh.

use crate::daemon::Daemon;
use crate::daemon::caller::Caller;
use crate::error::Error;
use crate::format::duration::parse_time_limit;
use crate::protocol::PartitionInfo;
use crate::users;

/// The partitions in definition order, exactly one of them the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partitions {
    list: Vec<PartitionInfo>,
}

/// Why a job cannot go to any partition it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No partition has this name.
    Unknown(String),
    /// The user is in none of the AllowGroups of any partition named.
    GroupNotPermitted,
    /// The job's account is not in AllowAccounts, or is in DenyAccounts,
    /// of any partition named (Slurm's ESLURM_INVALID_ACCOUNT).
    AccountNotPermitted,
    /// The time limit is over every partition's MaxTime, and
    /// EnforcePartLimits refuses such a job.
    TimeLimit,
}

/// The error a refused submission returns, in sbatch's words (the last
/// line follows `Batch job submission failed: `).
pub fn refusal_error(refusal: Refusal) -> Error {
    Error::Invalid(match refusal {
        Refusal::Unknown(name) => format!(
            "invalid partition specified: {}\nInvalid partition name specified",
            crate::daemon::escape_controls(&name)
        ),
        Refusal::GroupNotPermitted => "User's group not permitted to use this partition".into(),
        Refusal::AccountNotPermitted => {
            "Invalid account or account/partition combination specified".into()
        }
        Refusal::TimeLimit => {
            "Requested time limit is invalid (missing or exceeds some limit)".into()
        }
    })
}

impl Partitions {
    /// The one partition of a daemon given no definitions (`--partition`).
    pub fn single(name: &str) -> Partitions {
        Partitions {
            list: vec![PartitionInfo::named(name)],
        }
    }

    /// The partitions of `--partition-def` lines. With no line at all, the
    /// single partition `fallback`. Without a `Default=YES` the first is
    /// the default, as in Slurm; two defaults, or two partitions of one
    /// name, are refused.
    pub fn from_definitions(lines: &[String], fallback: &str) -> Result<Partitions, String> {
        if lines.is_empty() {
            return Ok(Partitions::single(fallback));
        }
        let mut list = Vec::with_capacity(lines.len());
        let mut said_default = Vec::new();
        for line in lines {
            let (partition, default) = parse_definition(line)?;
            if list
                .iter()
                .any(|p: &PartitionInfo| p.name == partition.name)
            {
                return Err(format!("partition {} is defined twice", partition.name));
            }
            if default {
                said_default.push(partition.name.clone());
            }
            list.push(partition);
        }
        if said_default.len() > 1 {
            return Err(format!(
                "more than one default partition: {}",
                said_default.join(", ")
            ));
        }
        let default = said_default.first().cloned();
        for (i, partition) in list.iter_mut().enumerate() {
            partition.default = default
                .as_ref()
                .map_or(i == 0, |name| *name == partition.name);
        }
        Ok(Partitions { list })
    }

    /// Every partition, in definition order.
    pub fn list(&self) -> &[PartitionInfo] {
        &self.list
    }

    /// The partition a job that names none goes to.
    pub fn default_partition(&self) -> &PartitionInfo {
        self.list
            .iter()
            .find(|p| p.default)
            .unwrap_or(&self.list[0])
    }

    pub fn get(&self, name: &str) -> Option<&PartitionInfo> {
        self.list.iter().find(|p| p.name == name)
    }

    /// Whether a job of this time limit is over the MaxTime of the partition
    /// it is in (a partition no longer defined sets no limit).
    pub fn over_time_limit(&self, partition: &str, time_limit: Option<u64>) -> bool {
        self.get(partition)
            .is_some_and(|p| exceeds_max_time(time_limit, p))
    }

    /// Whether any partition defines a time limit of its own.
    pub fn has_time_limits(&self) -> bool {
        self.list
            .iter()
            .any(|p| p.max_time_secs.is_some() || p.default_time_secs.is_some())
    }

    /// Where a job goes: the first partition of `requested` (sbatch's
    /// comma-separated `-p a,b`; the default without one) that accepts it,
    /// that is, that lets its user and account in (`allowed`, else why
    /// not: the first partition's refusal is the job's) and whose
    /// MaxTime its own time limit (`time_limit`, `None` for none given) is
    /// within. A name that does not exist refuses the job, as in Slurm.
    /// When only the time limit is over, the job goes to the first
    /// partition that lets the user in and pends there (PartitionTimeLimit),
    /// unless `enforce` (EnforcePartLimits) refuses it.
    pub fn route(
        &self,
        requested: Option<&str>,
        time_limit: Option<u64>,
        enforce: bool,
        allowed: impl Fn(&PartitionInfo) -> Result<(), Refusal>,
    ) -> Result<&PartitionInfo, Refusal> {
        let named: Vec<&PartitionInfo> = match requested.map(str::trim) {
            None | Some("") => vec![self.default_partition()],
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .map(|name| self.get(name).ok_or_else(|| Refusal::Unknown(name.into())))
                .collect::<Result<_, _>>()?,
        };
        let mut refusal = None;
        let permitted: Vec<&PartitionInfo> = named
            .into_iter()
            .filter(|p| match allowed(p) {
                Ok(()) => true,
                Err(why) => {
                    refusal.get_or_insert(why);
                    false
                }
            })
            .collect();
        let first = *permitted
            .first()
            .ok_or(refusal.unwrap_or(Refusal::GroupNotPermitted))?;
        // No limit given: the job gets the partition's own, within it.
        if let Some(fits) = permitted
            .iter()
            .find(|p| time_limit.is_none() || !exceeds_max_time(time_limit, p))
        {
            return Ok(fits);
        }
        if enforce {
            return Err(Refusal::TimeLimit);
        }
        Ok(first)
    }
}

impl Daemon {
    /// The partition a submission goes to (see [`Partitions::route`]), or
    /// Slurm's refusal. Root may use any partition, as Slurm's super-user;
    /// the caller's groups are looked up only if a partition restricts them.
    /// `account` is the job's (`None`: not known).
    pub(crate) fn route(
        &self,
        requested: Option<&str>,
        time_limit: Option<u64>,
        account: Option<&str>,
        caller: Caller,
    ) -> Result<&PartitionInfo, Error> {
        let groups = std::sync::OnceLock::new();
        let allowed = |partition: &PartitionInfo| {
            let group_ok = partition.allow_groups.as_ref().is_none_or(|allow| {
                caller.uid == 0
                    || groups
                        .get_or_init(|| users::group_names(caller.uid, caller.gid))
                        .iter()
                        .any(|group| allow.contains(group))
            });
            if !group_ok {
                return Err(Refusal::GroupNotPermitted);
            }
            if account_permitted(partition, account) {
                Ok(())
            } else {
                Err(Refusal::AccountNotPermitted)
            }
        };
        let enforce = self.config.enforce_part_limits;
        self.config
            .partitions
            .route(requested, time_limit, enforce, allowed)
            .map_err(refusal_error)
    }
}

/// Whether a job of this account (`None`: not known) may use `partition`,
/// as Slurm's `_valid_job_part_acct` decides: with AllowAccounts, only
/// those (an unknown account is refused); else with DenyAccounts, all but
/// those (an unknown account passes). Root is held to it as well, as in
/// Slurm.
pub fn account_permitted(partition: &PartitionInfo, account: Option<&str>) -> bool {
    if let Some(allow) = &partition.allow_accounts {
        return account.is_some_and(|a| allow.iter().any(|x| x == a));
    }
    partition
        .deny_accounts
        .as_ref()
        .is_none_or(|deny| account.is_none_or(|a| !deny.iter().any(|x| x == a)))
}

/// A comma-separated list of names, `ALL` (or nothing) for no restriction.
fn name_list(value: &str) -> Option<Vec<String>> {
    let names: Vec<String> = value
        .split(',')
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    if names.is_empty() || value.eq_ignore_ascii_case("ALL") {
        None
    } else {
        Some(names)
    }
}

/// The time limit a job runs under in `partition`: its own, else the
/// partition's DefaultTime, else its MaxTime, else none (as Slurm gives it).
/// The one place the default is decided, for submission and for the
/// scheduler's estimates alike.
pub fn effective_time_limit(requested: Option<u64>, partition: &PartitionInfo) -> Option<u64> {
    requested
        .or(partition.default_time_secs)
        .or(partition.max_time_secs)
}

/// Whether a job's time limit (`None`: unlimited) is over the partition's
/// MaxTime. A job submitted without one never is: it gets one within it
/// (see [`effective_time_limit`]); one whose limit is raised to
/// UNLIMITED later is, as in Slurm.
pub fn exceeds_max_time(time_limit: Option<u64>, partition: &PartitionInfo) -> bool {
    match (time_limit, partition.max_time_secs) {
        (Some(limit), Some(max)) => limit > max,
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

/// One `--partition-def` line: `Key=Value` words, keys case-insensitive as
/// in slurm.conf. Returns the partition and whether it said `Default=YES`.
/// Anything this daemon cannot honour is refused with a line saying what.
pub fn parse_definition(line: &str) -> Result<(PartitionInfo, bool), String> {
    let mut partition = PartitionInfo::named("");
    let mut default = false;
    for word in line.split_whitespace() {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "partition definition {line:?}: {word:?} is not Key=Value"
            ));
        };
        let bad = |what: &str| Err(format!("partition definition: {key}={value}: {what}"));
        match key.to_ascii_lowercase().as_str() {
            "partitionname" => {
                if value.is_empty() || value.contains(',') || value.eq_ignore_ascii_case("DEFAULT")
                {
                    return bad("not a partition name");
                }
                partition.name = value.to_string();
            }
            "default" => match yes_no(value) {
                Some(yes) => default = yes,
                None => return bad("YES or NO"),
            },
            "maxtime" => match parse_time_limit(value) {
                Ok(limit) => partition.max_time_secs = limit,
                Err(_) => return bad("not a time"),
            },
            "defaulttime" => match parse_time_limit(value) {
                Ok(limit) => partition.default_time_secs = limit,
                Err(_) => return bad("not a time"),
            },
            "prioritytier" => match value.parse() {
                Ok(tier) => partition.priority_tier = tier,
                Err(_) => return bad("not a number"),
            },
            "priorityjobfactor" => match value.parse() {
                Ok(factor) => partition.priority_job_factor = factor,
                Err(_) => return bad("not a number"),
            },
            "allowgroups" => partition.allow_groups = name_list(value),
            "allowaccounts" => partition.allow_accounts = name_list(value),
            "denyaccounts" => partition.deny_accounts = name_list(value),
            "maxnodes" => {
                partition.max_nodes = match value.to_ascii_uppercase().as_str() {
                    "UNLIMITED" | "INFINITE" => None,
                    "1" => Some(1),
                    _ => return bad("1 or UNLIMITED (there is one node)"),
                };
            }
            "nodes" if value.eq_ignore_ascii_case("ALL") => {}
            "nodes" => return bad("only ALL (every partition covers the one node)"),
            "state" if value.eq_ignore_ascii_case("UP") => {}
            "state" => return bad("only UP is supported"),
            _ => return Err(format!("partition definition: unknown key {key:?}")),
        }
    }
    if partition.name.is_empty() {
        return Err(format!(
            "partition definition {line:?} has no PartitionName"
        ));
    }
    partition.default = default;
    Ok((partition, default))
}

fn yes_no(value: &str) -> Option<bool> {
    match value.to_ascii_uppercase().as_str() {
        "YES" => Some(true),
        "NO" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(lines: &[&str]) -> Result<Partitions, String> {
        let lines: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
        Partitions::from_definitions(&lines, "normal")
    }

    fn two() -> Partitions {
        defs(&[
            "PartitionName=debug MaxTime=30 DefaultTime=10",
            "PartitionName=long MaxTime=UNLIMITED Default=YES AllowGroups=hpc,ops",
        ])
        .expect("valid")
    }

    #[test]
    fn a_full_line_reads_as_slurm_conf_does() {
        let (p, default) = parse_definition(
            "PartitionName=debug Default=YES MaxTime=30 DefaultTime=10 PriorityTier=2 \
             PriorityJobFactor=3 AllowGroups=ALL MaxNodes=1 State=UP Nodes=ALL",
        )
        .expect("valid");
        assert!(default);
        assert_eq!(p.name, "debug");
        assert_eq!(p.max_time_secs, Some(1800));
        assert_eq!(p.default_time_secs, Some(600));
        assert_eq!((p.priority_tier, p.priority_job_factor), (2, 3));
        assert_eq!(p.allow_groups, None);
        assert_eq!(p.max_nodes, Some(1));
        let (p, _) = parse_definition("partitionname=x maxtime=1-00:00:00 allowgroups=a,b")
            .expect("keys are case-insensitive");
        assert_eq!(p.max_time_secs, Some(86_400));
        assert_eq!(p.allow_groups, Some(vec!["a".into(), "b".into()]));
    }

    #[test]
    fn bad_lines_are_refused_with_what_is_wrong() {
        for (line, says) in [
            ("PartitionName=a Colour=blue", "unknown key \"Colour\""),
            ("MaxTime=30", "no PartitionName"),
            ("PartitionName=a MaxTime=soon", "not a time"),
            ("PartitionName=a MaxNodes=2", "1 or UNLIMITED"),
            ("PartitionName=a State=DOWN", "only UP"),
            ("PartitionName=a Default=maybe", "YES or NO"),
            ("PartitionName=a PriorityTier=-1", "not a number"),
            ("PartitionName=a debug", "not Key=Value"),
            ("PartitionName=a Nodes=n[1-4]", "only ALL"),
        ] {
            let error = parse_definition(line).expect_err(line);
            assert!(error.contains(says), "{line}: {error}");
        }
        assert!(defs(&["PartitionName=a", "PartitionName=a"]).is_err());
        assert!(defs(&["PartitionName=a Default=YES", "PartitionName=b Default=yes"]).is_err());
    }

    #[test]
    fn the_default_is_the_one_that_says_so_else_the_first() {
        assert_eq!(two().default_partition().name, "long");
        let first = defs(&["PartitionName=a", "PartitionName=b"]).expect("valid");
        assert_eq!(first.default_partition().name, "a");
        assert_eq!(
            first.list().iter().map(|p| p.default).collect::<Vec<_>>(),
            [true, false]
        );
        let none = defs(&[]).expect("valid");
        assert_eq!(none, Partitions::single("normal"));
        assert!(!none.has_time_limits());
    }

    #[test]
    fn a_job_goes_to_the_first_listed_partition_that_accepts_it() {
        let p = two();
        let all = |_: &PartitionInfo| Ok(());
        let name = |r: Result<&PartitionInfo, Refusal>| r.map(|p| p.name.clone());
        assert_eq!(name(p.route(None, None, false, all)), Ok("long".into()));
        assert_eq!(
            name(p.route(Some("debug,long"), Some(60), false, all)),
            Ok("debug".into())
        );
        assert_eq!(
            name(p.route(Some("debug,long"), Some(7200), false, all)),
            Ok("long".into()),
            "over debug's MaxTime"
        );
        assert_eq!(
            name(p.route(Some("debug"), Some(7200), false, all)),
            Ok("debug".into()),
            "accepted to pend (PartitionTimeLimit)"
        );
        assert_eq!(
            p.route(Some("debug"), Some(7200), true, all),
            Err(Refusal::TimeLimit)
        );
        assert_eq!(
            p.route(Some("debug,gpu"), None, false, all),
            Err(Refusal::Unknown("gpu".into()))
        );
        let not_long = |p: &PartitionInfo| {
            if p.allow_groups.is_none() {
                Ok(())
            } else {
                Err(Refusal::GroupNotPermitted)
            }
        };
        assert_eq!(
            name(p.route(Some("long,debug"), None, false, not_long)),
            Ok("debug".into())
        );
        assert_eq!(
            p.route(Some("long"), None, false, not_long),
            Err(Refusal::GroupNotPermitted)
        );
    }

    #[test]
    fn accounts_are_let_in_as_slurm_lets_them() {
        let (open, _) = parse_definition("PartitionName=o AllowAccounts=ALL").expect("valid");
        assert!(account_permitted(&open, Some("x")) && account_permitted(&open, None));
        let (allow, _) =
            parse_definition("PartitionName=a AllowAccounts=phys,chem DenyAccounts=phys")
                .expect("valid");
        assert!(
            account_permitted(&allow, Some("phys")),
            "Allow wins over Deny"
        );
        assert!(!account_permitted(&allow, Some("bio")));
        assert!(!account_permitted(&allow, None), "unknown account");
        let (deny, _) = parse_definition("denyaccounts=bio PartitionName=d").expect("valid");
        assert_eq!(deny.deny_accounts, Some(vec!["bio".to_string()]));
        assert!(!account_permitted(&deny, Some("bio")));
        assert!(account_permitted(&deny, Some("phys")) && account_permitted(&deny, None));
        let p = defs(&["PartitionName=a AllowAccounts=phys", "PartitionName=b"]).expect("valid");
        let by_account = |account: &'static str| {
            move |p: &PartitionInfo| {
                if account_permitted(p, Some(account)) {
                    Ok(())
                } else {
                    Err(Refusal::AccountNotPermitted)
                }
            }
        };
        let routed = p.route(Some("a,b"), None, false, by_account("bio"));
        assert_eq!(routed.map(|p| p.name.clone()), Ok("b".into()));
        assert_eq!(
            p.route(Some("a"), None, false, by_account("bio")),
            Err(Refusal::AccountNotPermitted)
        );
    }

    #[test]
    fn a_job_without_a_limit_gets_the_default_time_else_the_max_time() {
        let p = two();
        let debug = p.get("debug").expect("defined");
        let long = p.get("long").expect("defined");
        assert_eq!(effective_time_limit(Some(5), debug), Some(5));
        assert_eq!(effective_time_limit(None, debug), Some(600));
        assert_eq!(effective_time_limit(None, long), None);
        let mut max_only = debug.clone();
        max_only.default_time_secs = None;
        assert_eq!(effective_time_limit(None, &max_only), Some(1800));
        assert!(exceeds_max_time(Some(1801), debug));
        assert!(!exceeds_max_time(Some(1800), debug));
        assert!(!exceeds_max_time(Some(u64::MAX), long));
        assert!(exceeds_max_time(None, debug), "raised to UNLIMITED");
        assert!(!exceeds_max_time(None, long));
    }
}
