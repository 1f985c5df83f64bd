//! Per-user limits on what runs at once: MaxJobsPerUser and MaxTRESPerUser
//! (cpu, mem, gres/gpu). Slurm keeps them on a QOS or an association; here
//! they are daemon-wide. A job over one pends, with Slurm's reason, until
//! its user's running jobs leave room; it is held back, not short of
//! resources, so it never marks its request shape as failed in First Fit.
//!
//! Pure functions over plain data: what a user's running jobs hold
//! ([`Usage`]), what a job asks for, and the limits. The pass turns them
//! into [`Limit`]s, which First Fit also counts the jobs it starts against.

use std::collections::HashMap;
use std::str::FromStr;

use super::groups::{Group, Limit};
use crate::format::memory::parse_memory_mb;
use crate::protocol::{Reason, ResourceRequest};

/// What one user's running jobs may hold at most; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserLimits {
    /// MaxJobsPerUser: running jobs (array tasks count one each).
    pub max_jobs: Option<u64>,
    /// MaxTRESPerUser.
    pub max_tres: TresLimits,
}

/// MaxTRESPerUser's `cpu=N,mem=M,gres/gpu=G`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TresLimits {
    pub cpus: Option<u64>,
    pub memory_mb: Option<u64>,
    pub gpus: Option<u64>,
}

/// Which of a user's running totals a limit holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Counted {
    Jobs,
    Cpus,
    Memory,
    Gpus,
}

impl Counted {
    /// What a job held back by this limit shows: the association's reason
    /// for the job count (Slurm's MaxJobs is an association limit, and
    /// these limits are per user, without QOS), QOS MaxTRESPerUser's for
    /// the rest (associations have no per-user TRES limit).
    pub fn reason(self) -> Reason {
        match self {
            Counted::Jobs => Reason::AssocMaxJobsLimit,
            Counted::Cpus => Reason::QOSMaxCpuPerUserLimit,
            Counted::Memory => Reason::QOSMaxMemoryPerUser,
            Counted::Gpus => Reason::QOSMaxGRESPerUser,
        }
    }
}

/// What one user's running jobs hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub jobs: u64,
    pub cpus: u64,
    pub memory_mb: u64,
    pub gpus: u64,
}

impl Usage {
    /// The total `counted`, and what `request` adds to it.
    fn of(self, counted: Counted, request: &ResourceRequest) -> (u64, u64) {
        match counted {
            Counted::Jobs => (self.jobs, 1),
            Counted::Cpus => (self.cpus, u64::from(request.cpus)),
            Counted::Memory => (self.memory_mb, request.memory_mb),
            Counted::Gpus => (self.gpus, u64::from(request.gpus)),
        }
    }
}

/// Every user's running totals, counted once a pass from the running jobs.
#[derive(Debug, Default)]
pub struct UserUsage(HashMap<u32, Usage>);

impl UserUsage {
    /// Adds up the running jobs, each as its user and its booked request.
    pub fn count(running: impl IntoIterator<Item = (u32, ResourceRequest)>) -> UserUsage {
        let mut users: HashMap<u32, Usage> = HashMap::new();
        for (uid, request) in running {
            let usage = users.entry(uid).or_default();
            usage.jobs += 1;
            usage.cpus += u64::from(request.cpus);
            usage.memory_mb += request.memory_mb;
            usage.gpus += u64::from(request.gpus);
        }
        UserUsage(users)
    }

    pub fn of(&self, uid: u32) -> Usage {
        self.0.get(&uid).copied().unwrap_or_default()
    }
}

impl UserLimits {
    /// Whether no limit is set (then the pass counts nothing).
    pub fn is_empty(&self) -> bool {
        self.bounds().next().is_none()
    }

    fn bounds(&self) -> impl Iterator<Item = (Counted, u64)> {
        let tres = self.max_tres;
        [
            (Counted::Jobs, self.max_jobs),
            (Counted::Cpus, tres.cpus),
            (Counted::Memory, tres.memory_mb),
            (Counted::Gpus, tres.gpus),
        ]
        .into_iter()
        .filter_map(|(counted, max)| max.map(|max| (counted, max)))
    }

    /// The first limit a job asking for `request` would take its user
    /// (whose running jobs hold `usage`) over, as the reason it shows.
    pub fn exceeded(&self, usage: Usage, request: &ResourceRequest) -> Option<Reason> {
        self.bounds()
            .find(|(counted, max)| {
                let (held, adds) = usage.of(*counted, request);
                held.saturating_add(adds) > *max
            })
            .map(|(counted, _)| counted.reason())
    }

    /// The limits a pending job of `uid` is held to in a pass, for First
    /// Fit to check it against (and to count the jobs it starts in).
    pub fn limits(&self, uid: u32, usage: Usage, request: &ResourceRequest) -> Vec<Limit> {
        self.bounds()
            .map(|(counted, max)| {
                let (running, need) = usage.of(counted, request);
                Limit {
                    group: Group::User { uid, counted },
                    running,
                    need,
                    max,
                    reason: counted.reason(),
                }
            })
            .collect()
    }
}

impl FromStr for TresLimits {
    type Err = String;

    /// `cpu=4,mem=16G,gres/gpu=2`, any of them; memory as `--mem` takes it.
    fn from_str(text: &str) -> Result<TresLimits, String> {
        let mut limits = TresLimits::default();
        for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let bad = || format!("{item}: expected cpu=N, mem=SIZE or gres/gpu=N");
            let (key, value) = item.split_once('=').ok_or_else(bad)?;
            let number = || value.parse::<u64>().map_err(|_| bad());
            match key.to_ascii_lowercase().as_str() {
                "cpu" => limits.cpus = Some(number()?),
                "mem" => limits.memory_mb = Some(parse_memory_mb(value).map_err(|_| bad())?),
                "gres/gpu" => limits.gpus = Some(number()?),
                _ => return Err(bad()),
            }
        }
        Ok(limits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(cpus: u32, memory_mb: u64, gpus: u32) -> ResourceRequest {
        ResourceRequest {
            cpus,
            memory_mb,
            gpus,
        }
    }

    #[test]
    fn running_jobs_add_up_per_user() {
        let usage = UserUsage::count([
            (1000, request(2, 100, 0)),
            (1000, request(1, 50, 1)),
            (1001, request(4, 0, 0)),
        ]);
        assert_eq!(
            usage.of(1000),
            Usage {
                jobs: 2,
                cpus: 3,
                memory_mb: 150,
                gpus: 1
            }
        );
        assert_eq!(usage.of(1001).cpus, 4);
        assert_eq!(usage.of(7), Usage::default());
    }

    #[test]
    fn max_jobs_per_user_holds_the_job_past_the_count() {
        let limits = UserLimits {
            max_jobs: Some(1),
            ..UserLimits::default()
        };
        let job = request(1, 0, 0);
        assert_eq!(limits.exceeded(Usage::default(), &job), None);
        let one = Usage {
            jobs: 1,
            ..Usage::default()
        };
        assert_eq!(limits.exceeded(one, &job), Some(Reason::AssocMaxJobsLimit));
    }

    #[test]
    fn max_tres_per_user_holds_the_job_whose_request_goes_over() {
        let limits = UserLimits {
            max_jobs: None,
            max_tres: "cpu=4,mem=1G,gres/gpu=1".parse().expect("valid"),
        };
        let held = Usage {
            jobs: 1,
            cpus: 3,
            memory_mb: 512,
            gpus: 0,
        };
        assert_eq!(
            limits.exceeded(held, &request(1, 512, 1)),
            None,
            "exactly at"
        );
        assert_eq!(
            limits.exceeded(held, &request(2, 0, 0)),
            Some(Reason::QOSMaxCpuPerUserLimit)
        );
        assert_eq!(
            limits.exceeded(held, &request(1, 513, 0)),
            Some(Reason::QOSMaxMemoryPerUser)
        );
        assert_eq!(
            limits.exceeded(held, &request(1, 0, 2)),
            Some(Reason::QOSMaxGRESPerUser)
        );
        assert_eq!(
            limits.exceeded(Usage::default(), &request(5, 0, 0)),
            Some(Reason::QOSMaxCpuPerUserLimit),
            "a job bigger than the limit waits for ever"
        );
    }

    #[test]
    fn the_limits_become_first_fit_limits_on_the_users_totals() {
        let limits = UserLimits {
            max_jobs: Some(2),
            max_tres: TresLimits {
                cpus: Some(8),
                ..TresLimits::default()
            },
        };
        let usage = Usage {
            jobs: 1,
            cpus: 3,
            ..Usage::default()
        };
        assert_eq!(
            limits.limits(7, usage, &request(2, 0, 0)),
            vec![
                Limit {
                    group: Group::User {
                        uid: 7,
                        counted: Counted::Jobs
                    },
                    running: 1,
                    need: 1,
                    max: 2,
                    reason: Reason::AssocMaxJobsLimit,
                },
                Limit {
                    group: Group::User {
                        uid: 7,
                        counted: Counted::Cpus
                    },
                    running: 3,
                    need: 2,
                    max: 8,
                    reason: Reason::QOSMaxCpuPerUserLimit,
                },
            ]
        );
        assert!(UserLimits::default().is_empty());
        assert!(!limits.is_empty());
    }

    #[test]
    fn tres_limits_read_as_max_tres_per_user_writes_them() {
        let tres: TresLimits = "cpu=2,mem=16G,gres/gpu=1".parse().expect("valid");
        assert_eq!(
            tres,
            TresLimits {
                cpus: Some(2),
                memory_mb: Some(16 * 1024),
                gpus: Some(1)
            }
        );
        assert_eq!(
            "mem=500".parse::<TresLimits>().map(|t| t.memory_mb),
            Ok(Some(500))
        );
        assert!("cpu=x".parse::<TresLimits>().is_err());
        assert!("node=2".parse::<TresLimits>().is_err());
    }
}
