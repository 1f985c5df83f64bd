//! What `cprio` (sprio) and `cshare` (sshare) read: the priority factors
//! of the pending jobs, and the fair-share tree.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::JobId;

/// `GET /v1/priorities`: every pending job's priority factors, and the
/// weights they are weighed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PriorityReport {
    /// The priority plugin: `priority/basic` or `priority/multifactor`
    /// (sprio shows factors only under the second).
    pub plugin: String,
    pub weights: PriorityWeights,
    /// Pending jobs, by id; none under priority/basic.
    pub jobs: Vec<JobPriority>,
}

/// The weight of each factor (PriorityWeight*).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct PriorityWeights {
    pub age: u32,
    pub fair_share: u32,
    pub job_size: u32,
    pub partition: u32,
}

/// One pending job's factors, each in [0, 1], and its priority.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct JobPriority {
    pub job_id: JobId,
    pub partition: String,
    pub user: String,
    pub account: String,
    pub priority: i64,
    /// Set by an administrator (`ccontrol update priority=`): the factors
    /// do not apply, and sprio shows them as 0.
    pub fixed: bool,
    pub nice: i32,
    pub age: f64,
    pub fair_share: f64,
    pub job_size: f64,
    pub partition_factor: f64,
}

/// `GET /v1/shares`: the fair-share tree, one account (`root`) over every
/// user with jobs, usage or configured shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShareReport {
    /// Whether priority/multifactor computes fair share: under
    /// priority/basic (false) sshare shows no shares and no factors.
    /// Absent from an older daemon's reply, read as true.
    #[serde(default = "multifactor_default")]
    pub multifactor: bool,
    /// Every user's decayed usage together (the root account's RawUsage).
    pub total_usage: f64,
    /// By user name.
    pub users: Vec<UserShareInfo>,
}

fn multifactor_default() -> bool {
    true
}

/// One user's line of the tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UserShareInfo {
    pub user: String,
    pub uid: u32,
    pub raw_shares: u32,
    pub norm_shares: f64,
    /// Billed TRES-seconds, decayed.
    pub raw_usage: f64,
    pub effective_usage: f64,
    pub fair_share: f64,
}
