//! Fair share without a database: what each user has used (billed
//! TRES-seconds, decayed with PriorityDecayHalfLife), the shares they are
//! given, and the classic fair-share factor each user's jobs get from the
//! two (`fair_share.shtml`). A flat tree: every user sits in one account,
//! `root`, so a user's NormShares is their shares over those of every user
//! who has jobs or usage.
//!
//! The book is plain data the daemon keeps under its state lock and writes
//! to the store whole; every function here is pure.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::priority::fair_share_factor;
use crate::protocol::ResourceRequest;

/// How many billing units a second of each resource costs
/// (slurm.conf's TRESBillingWeights).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BillingWeights {
    pub cpu: f64,
    /// Per MiB of memory booked.
    pub memory_per_mb: f64,
    pub gpu: f64,
}

impl Default for BillingWeights {
    /// `CPU=1.0`: a CPU-second is one unit, memory and GPUs are free.
    fn default() -> BillingWeights {
        BillingWeights {
            cpu: 1.0,
            memory_per_mb: 0.0,
            gpu: 0.0,
        }
    }
}

impl FromStr for BillingWeights {
    type Err = String;

    /// Slurm's syntax, `CPU=1.0,Mem=0.25G,GRES/gpu=2.0`: a memory weight is
    /// per MiB unless it carries a unit (`K`, `M`, `G`, `T`), which gives
    /// the weight of that much memory. Resources not named cost nothing; a
    /// resource Conductor does not book is refused.
    fn from_str(text: &str) -> Result<BillingWeights, String> {
        let mut weights = BillingWeights {
            cpu: 0.0,
            memory_per_mb: 0.0,
            gpu: 0.0,
        };
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let invalid = || format!("invalid TRES billing weight {item:?}");
            let (name, value) = item.split_once('=').ok_or_else(invalid)?;
            let number = |value: &str| {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite() && *v >= 0.0)
                    .ok_or_else(invalid)
            };
            match name.trim().to_ascii_lowercase().as_str() {
                "cpu" => weights.cpu = number(value)?,
                "mem" => {
                    let (digits, per_mb) = match value.chars().last() {
                        Some(unit @ ('K' | 'k' | 'M' | 'm' | 'G' | 'g' | 'T' | 't')) => {
                            let mbs = match unit.to_ascii_uppercase() {
                                'K' => 1.0 / 1024.0,
                                'M' => 1.0,
                                'G' => 1024.0,
                                _ => 1024.0 * 1024.0,
                            };
                            (&value[..value.len() - 1], mbs)
                        }
                        _ => (value, 1.0),
                    };
                    weights.memory_per_mb = number(digits)? / per_mb;
                }
                "gres/gpu" => weights.gpu = number(value)?,
                _ => return Err(format!("{}: a TRES this node does not book", name.trim())),
            }
        }
        Ok(weights)
    }
}

impl BillingWeights {
    /// What `seconds` of this request cost.
    pub fn billed(&self, request: &ResourceRequest, seconds: f64) -> f64 {
        let per_second = f64::from(request.cpus) * self.cpu
            + request.memory_mb as f64 * self.memory_per_mb
            + f64::from(request.gpus) * self.gpu;
        seconds.max(0.0) * per_second
    }
}

/// The shares each user is given (the association's RawShares); 1 for any
/// user not named.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Shares {
    pub by_user: BTreeMap<String, u32>,
}

impl Shares {
    pub fn of(&self, user: &str) -> u32 {
        self.by_user.get(user).copied().unwrap_or(1)
    }
}

impl FromStr for Shares {
    type Err = String;

    /// `user=N,...`.
    fn from_str(text: &str) -> Result<Shares, String> {
        let mut by_user = BTreeMap::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let parsed = item
                .split_once('=')
                .and_then(|(user, n)| Some((user.trim(), n.trim().parse::<u32>().ok()?)))
                .filter(|(user, _)| !user.is_empty());
            let (user, shares) =
                parsed.ok_or_else(|| format!("invalid share {item:?} (user=N)"))?;
            by_user.insert(user.to_string(), shares);
        }
        Ok(Shares { by_user })
    }
}

/// One user's decayed usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserUsage {
    pub user: String,
    /// Billed TRES-seconds, decayed to the book's `as_of`.
    pub usage: f64,
}

/// Every user's usage, decayed to one moment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageBook {
    /// By uid.
    pub users: BTreeMap<u32, UserUsage>,
    /// The moment every usage is decayed to.
    pub as_of: DateTime<Utc>,
    /// Every job that ran at this moment has been charged up to it, so a
    /// running job owes only what it used after `max(start, charged_until)`.
    #[serde(default)]
    pub charged_until: Option<DateTime<Utc>>,
}

/// Usage kept after decay drops below this is forgotten (a user whose
/// usage has decayed away is as new).
const FORGOTTEN: f64 = 1e-6;

/// `usage` after `elapsed` under `half_life`: halved every half-life; a
/// zero half-life never decays.
pub fn decay(usage: f64, elapsed: Duration, half_life: Duration) -> f64 {
    if half_life.is_zero() {
        return usage;
    }
    usage * (-elapsed.as_secs_f64() / half_life.as_secs_f64()).exp2()
}

impl UsageBook {
    pub fn new(now: DateTime<Utc>) -> UsageBook {
        UsageBook {
            users: BTreeMap::new(),
            as_of: now,
            charged_until: None,
        }
    }

    /// Decays every usage to `now` (never backwards).
    pub fn decay_to(&mut self, now: DateTime<Utc>, half_life: Duration) {
        let Ok(elapsed) = (now - self.as_of).to_std() else {
            return;
        };
        for entry in self.users.values_mut() {
            entry.usage = decay(entry.usage, elapsed, half_life);
        }
        self.users.retain(|_, entry| entry.usage > FORGOTTEN);
        self.as_of = now;
    }

    /// Adds billed units to a user's usage.
    pub fn charge(&mut self, uid: u32, user: &str, billed: f64) {
        if billed <= 0.0 {
            return;
        }
        let entry = self.users.entry(uid).or_insert_with(|| UserUsage {
            user: user.to_string(),
            usage: 0.0,
        });
        entry.usage += billed;
    }

    /// The seconds of a job that ran from `start` to `until` not yet
    /// charged.
    pub fn owed_seconds(&self, start: DateTime<Utc>, until: DateTime<Utc>) -> f64 {
        let from = self
            .charged_until
            .map_or(start, |charged| charged.max(start));
        ((until - from).num_milliseconds().max(0) as f64) / 1000.0
    }

    pub fn total(&self) -> f64 {
        self.users.values().map(|entry| entry.usage).sum()
    }

    pub fn usage_of(&self, uid: u32) -> f64 {
        self.users.get(&uid).map_or(0.0, |entry| entry.usage)
    }
}

/// One user's line of the fair-share tree, as sshare shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct UserShare {
    pub uid: u32,
    pub user: String,
    pub raw_shares: u32,
    pub norm_shares: f64,
    pub raw_usage: f64,
    pub effective_usage: f64,
    pub fair_share: f64,
}

/// The fair-share tree at one moment: every user's line, and what a user
/// not in it would be measured against.
#[derive(Debug, Clone, Default)]
pub struct FairShareTree {
    /// By user name.
    pub rows: Vec<UserShare>,
    factors: HashMap<u32, f64>,
    total_shares: u64,
    total_usage: f64,
}

impl FairShareTree {
    /// The tree of the users with jobs (`active`, by uid with their names)
    /// or usage; a user named in `shares` without either is shown as
    /// though they were the next to join it.
    pub fn new(
        book: &UsageBook,
        active: &BTreeMap<u32, String>,
        shares: &Shares,
        named_uid: impl Fn(&str) -> Option<u32>,
    ) -> FairShareTree {
        let mut members: BTreeMap<u32, String> = active.clone();
        for (uid, entry) in &book.users {
            members.entry(*uid).or_insert_with(|| entry.user.clone());
        }
        let total_shares: u64 = members
            .values()
            .map(|user| u64::from(shares.of(user)))
            .sum();
        let total_usage = book.total();
        let mut tree = FairShareTree {
            rows: Vec::new(),
            factors: HashMap::new(),
            total_shares,
            total_usage,
        };
        let mut rows: Vec<UserShare> = members
            .iter()
            .map(|(uid, user)| tree.row(*uid, user, book, shares, true))
            .collect();
        tree.factors = rows.iter().map(|row| (row.uid, row.fair_share)).collect();
        for user in shares.by_user.keys() {
            let Some(uid) = named_uid(user) else { continue };
            if !members.contains_key(&uid) {
                rows.push(tree.row(uid, user, book, shares, false));
            }
        }
        rows.sort_by(|a, b| a.user.cmp(&b.user).then(a.uid.cmp(&b.uid)));
        tree.rows = rows;
        tree
    }

    /// A user's fair-share factor: their line's, or, for a user who joined
    /// the tree since it was made, what it would be with them in it.
    pub fn factor(&self, uid: u32, user: &str, book: &UsageBook, shares: &Shares) -> f64 {
        match self.factors.get(&uid) {
            Some(factor) => *factor,
            None => self.row(uid, user, book, shares, false).fair_share,
        }
    }

    fn row(
        &self,
        uid: u32,
        user: &str,
        book: &UsageBook,
        shares: &Shares,
        member: bool,
    ) -> UserShare {
        share_row(
            uid,
            user,
            book,
            self.total_shares,
            self.total_usage,
            shares,
            member,
        )
    }
}

fn share_row(
    uid: u32,
    user: &str,
    book: &UsageBook,
    total_shares: u64,
    total_usage: f64,
    shares: &Shares,
    member: bool,
) -> UserShare {
    let raw_shares = shares.of(user);
    let total_shares = if member {
        total_shares
    } else {
        total_shares + u64::from(raw_shares)
    };
    let norm_shares = if total_shares == 0 {
        0.0
    } else {
        f64::from(raw_shares) / total_shares as f64
    };
    let raw_usage = book.usage_of(uid);
    let effective_usage = if total_usage > 0.0 {
        raw_usage / total_usage
    } else {
        0.0
    };
    UserShare {
        uid,
        user: user.to_string(),
        raw_shares,
        norm_shares,
        raw_usage,
        effective_usage,
        fair_share: fair_share_factor(effective_usage, norm_shares),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).expect("time")
    }

    #[test]
    fn usage_halves_every_half_life() {
        assert_eq!(decay(100.0, HOUR, Duration::ZERO), 100.0);
        assert!((decay(100.0, HOUR, HOUR) - 50.0).abs() < 1e-9);
        assert!((decay(100.0, 2 * HOUR, HOUR) - 25.0).abs() < 1e-9);
        assert_eq!(decay(100.0, Duration::ZERO, HOUR), 100.0);
    }

    #[test]
    fn the_book_decays_to_a_moment_and_never_back() {
        let mut book = UsageBook::new(at(0));
        book.charge(1000, "alice", 80.0);
        book.charge(1000, "alice", 20.0);
        book.charge(1001, "bob", 0.0);
        assert_eq!(book.users.len(), 1);
        book.decay_to(at(3600), HOUR);
        assert!((book.usage_of(1000) - 50.0).abs() < 1e-9);
        book.decay_to(at(0), HOUR);
        assert!((book.usage_of(1000) - 50.0).abs() < 1e-9);
        assert_eq!(book.as_of, at(3600));
        book.decay_to(at(3600 * 100), HOUR);
        assert!(book.users.is_empty(), "decayed away: {book:?}");
    }

    #[test]
    fn a_running_job_owes_only_what_was_not_charged() {
        let mut book = UsageBook::new(at(0));
        assert_eq!(book.owed_seconds(at(10), at(70)), 60.0);
        book.charged_until = Some(at(40));
        assert_eq!(book.owed_seconds(at(10), at(70)), 30.0);
        assert_eq!(book.owed_seconds(at(50), at(70)), 20.0);
        assert_eq!(book.owed_seconds(at(50), at(30)), 0.0);
    }

    #[test]
    fn billing_weighs_each_resource() {
        let weights: BillingWeights = "CPU=1.0,Mem=0.25G,GRES/gpu=2.0".parse().expect("weights");
        let request = ResourceRequest {
            cpus: 2,
            memory_mb: 4096,
            gpus: 1,
        };
        // 2 CPUs + 4 GiB × 0.25 + 1 GPU × 2 = 5 units a second.
        assert!((weights.billed(&request, 10.0) - 50.0).abs() < 1e-9);
        let default = BillingWeights::default();
        assert_eq!(default.billed(&request, 10.0), 20.0);
        assert_eq!(default.billed(&request, -1.0), 0.0);
        let per_mb: BillingWeights = "Mem=2".parse().expect("weights");
        assert_eq!(per_mb.memory_per_mb, 2.0);
        assert_eq!(per_mb.cpu, 0.0);
        assert!("CPU=x".parse::<BillingWeights>().is_err());
        assert!("license/foo=1".parse::<BillingWeights>().is_err());
        assert!("CPU".parse::<BillingWeights>().is_err());
    }

    #[test]
    fn shares_default_to_one() {
        let shares: Shares = "alice=3, bob=1".parse().expect("shares");
        assert_eq!(
            (shares.of("alice"), shares.of("bob"), shares.of("carol")),
            (3, 1, 1)
        );
        assert!("alice".parse::<Shares>().is_err());
        assert!("=2".parse::<Shares>().is_err());
        assert!("alice=-1".parse::<Shares>().is_err());
    }

    #[test]
    fn users_share_the_tree_and_the_heavier_user_gets_the_lower_factor() {
        let mut book = UsageBook::new(at(0));
        book.charge(1000, "alice", 300.0);
        book.charge(1001, "bob", 100.0);
        let active = BTreeMap::from([(1002, "carol".to_string())]);
        let shares: Shares = "dave=2".parse().expect("shares");
        let tree = FairShareTree::new(&book, &active, &shares, |user| {
            (user == "dave").then_some(1003)
        });
        let rows = &tree.rows;
        let names: Vec<&str> = rows.iter().map(|r| r.user.as_str()).collect();
        assert_eq!(names, ["alice", "bob", "carol", "dave"]);
        let (alice, bob, carol, dave) = (&rows[0], &rows[1], &rows[2], &rows[3]);
        assert!((alice.norm_shares - 1.0 / 3.0).abs() < 1e-12);
        assert!((alice.effective_usage - 0.75).abs() < 1e-12);
        assert!((alice.fair_share - (-0.75f64 * 3.0).exp2()).abs() < 1e-12);
        assert!((bob.fair_share - (-0.25f64 * 3.0).exp2()).abs() < 1e-12);
        assert_eq!((carol.raw_usage, carol.fair_share), (0.0, 1.0));
        // Dave has no jobs: shown as though he joined (2 of 5 shares).
        assert!((dave.norm_shares - 0.4).abs() < 1e-12);
        assert!(alice.fair_share < bob.fair_share && bob.fair_share < carol.fair_share);
        assert_eq!(tree.factor(1002, "carol", &book, &shares), 1.0);
        assert_eq!(tree.factor(1003, "dave", &book, &shares), 1.0);
        assert_eq!(tree.factor(1000, "alice", &book, &shares), alice.fair_share);
    }
}
