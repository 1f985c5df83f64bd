//! One shared copy of what queued jobs repeat: a queue of 100,000 jobs has
//! a handful of users, directories, output patterns and option sets, and a
//! copy of each per job would cost more than the rest of the job.
//!
//! Values no job uses any more are dropped when the pool has doubled since
//! it was last pruned, so unique values (a directory per job) cost no more
//! than without sharing.

use std::collections::HashSet;
use std::hash::Hash;
use std::path::Path;
use std::sync::Arc;

use crate::daemon::job::{JobOptions, JobSpec};

/// The smallest pool that is pruned.
const MIN_PRUNE: usize = 64;

/// The shared values, one pool per type.
#[derive(Debug, Default)]
pub struct Interner {
    strings: Pool<str>,
    paths: Pool<Path>,
    options: Pool<JobOptions>,
}

impl Interner {
    /// Replaces the repeated parts of `spec` by the shared copies.
    pub fn share(&mut self, spec: &mut JobSpec) {
        self.strings.share(&mut spec.user);
        self.strings.share(&mut spec.partition);
        self.paths.share(&mut spec.work_dir);
        self.paths.share(&mut spec.submit_dir);
        for pattern in [&mut spec.stdout_pattern, &mut spec.stderr_pattern]
            .into_iter()
            .flatten()
        {
            self.strings.share(pattern);
        }
        self.options.share(&mut spec.options);
    }
}

#[derive(Debug)]
struct Pool<T: ?Sized> {
    values: HashSet<Arc<T>>,
    prune_at: usize,
}

impl<T: ?Sized> Default for Pool<T> {
    fn default() -> Pool<T> {
        Pool {
            values: HashSet::new(),
            prune_at: MIN_PRUNE,
        }
    }
}

impl<T: ?Sized + Hash + Eq> Pool<T> {
    fn share(&mut self, value: &mut Arc<T>) {
        if let Some(shared) = self.values.get(&**value) {
            *value = shared.clone();
            return;
        }
        if self.values.len() >= self.prune_at {
            // Only the pool holds these: no job uses them any more.
            self.values.retain(|v| Arc::strong_count(v) > 1);
            self.prune_at = (self.values.len() * 2).max(MIN_PRUNE);
        }
        self.values.insert(value.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_copy() {
        let mut pool = Pool::<str>::default();
        let mut a: Arc<str> = "alice".into();
        let mut b: Arc<str> = "alice".into();
        pool.share(&mut a);
        pool.share(&mut b);
        assert!(Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn values_no_job_uses_are_dropped() {
        let mut pool = Pool::<str>::default();
        for n in 0..10 * MIN_PRUNE {
            let mut unique: Arc<str> = format!("dir-{n}").into();
            pool.share(&mut unique);
        }
        assert!(pool.values.len() <= MIN_PRUNE + 1);
        let mut kept: Arc<str> = "kept".into();
        pool.share(&mut kept);
        for n in 0..10 * MIN_PRUNE {
            let mut unique: Arc<str> = format!("other-{n}").into();
            pool.share(&mut unique);
        }
        let mut again: Arc<str> = "kept".into();
        pool.share(&mut again);
        assert!(Arc::ptr_eq(&kept, &again));
    }
}
