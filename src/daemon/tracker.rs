//! The resource tracker: the node's CPUs and GPUs as concrete ids, and its
//! memory in MiB. It hands out all of a request or nothing, never more than
//! the node has, and takes each allocation back exactly once.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use crate::protocol::{JobId, ResourceRequest};

/// The resources one job holds.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Allocation {
    pub cpu_ids: Vec<u32>,
    pub memory_mb: u64,
    pub gpu_ids: Vec<u32>,
}

/// What a node has in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity {
    pub cpus: u32,
    pub memory_mb: u64,
    pub gpus: u32,
}

impl Capacity {
    /// True when a request could ever fit on an empty node.
    pub fn can_ever_fit(&self, request: &ResourceRequest) -> bool {
        request.cpus <= self.cpus
            && request.memory_mb <= self.memory_mb
            && request.gpus <= self.gpus
    }
}

/// Why an allocation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("not enough free resources")]
    NotEnough,
    #[error("the job already holds an allocation")]
    AlreadyAllocated,
    #[error("the allocation names resources that are busy or do not exist")]
    Unavailable,
}

/// Free and booked resources of one node.
#[derive(Debug, Clone)]
pub struct ResourceTracker {
    capacity: Capacity,
    free_cpus: BTreeSet<u32>,
    free_gpus: BTreeSet<u32>,
    free_memory_mb: u64,
    booked: HashMap<JobId, Allocation>,
}

impl ResourceTracker {
    pub fn new(capacity: Capacity) -> ResourceTracker {
        ResourceTracker {
            capacity,
            free_cpus: (0..capacity.cpus).collect(),
            free_gpus: (0..capacity.gpus).collect(),
            free_memory_mb: capacity.memory_mb,
            booked: HashMap::new(),
        }
    }

    pub fn capacity(&self) -> Capacity {
        self.capacity
    }

    /// What is free now, in the shape of a request.
    pub fn free(&self) -> ResourceRequest {
        ResourceRequest {
            cpus: self.free_cpus.len() as u32,
            memory_mb: self.free_memory_mb,
            gpus: self.free_gpus.len() as u32,
        }
    }

    /// True when the request fits in what is free now.
    pub fn fits(&self, request: &ResourceRequest) -> bool {
        request.cpus as usize <= self.free_cpus.len()
            && request.memory_mb <= self.free_memory_mb
            && request.gpus as usize <= self.free_gpus.len()
    }

    /// Books the lowest free ids for `request`, all of it or nothing.
    pub fn allocate(
        &mut self,
        job: JobId,
        request: &ResourceRequest,
    ) -> Result<Allocation, Refusal> {
        if self.booked.contains_key(&job) {
            return Err(Refusal::AlreadyAllocated);
        }
        if !self.fits(request) {
            return Err(Refusal::NotEnough);
        }
        let allocation = Allocation {
            cpu_ids: take_lowest(&mut self.free_cpus, request.cpus),
            memory_mb: request.memory_mb,
            gpu_ids: take_lowest(&mut self.free_gpus, request.gpus),
        };
        self.free_memory_mb -= request.memory_mb;
        self.booked.insert(job, allocation.clone());
        Ok(allocation)
    }

    /// Books a given allocation again, e.g. for a job found running after a
    /// restart; refused if any of it is busy or not on this node.
    pub fn book(&mut self, job: JobId, allocation: &Allocation) -> Result<(), Refusal> {
        if self.booked.contains_key(&job) {
            return Err(Refusal::AlreadyAllocated);
        }
        let all_free = |free: &BTreeSet<u32>, ids: &[u32]| {
            ids.iter().all(|id| free.contains(id))
                && ids.iter().collect::<BTreeSet<_>>().len() == ids.len()
        };
        if !all_free(&self.free_cpus, &allocation.cpu_ids)
            || !all_free(&self.free_gpus, &allocation.gpu_ids)
            || allocation.memory_mb > self.free_memory_mb
        {
            return Err(Refusal::Unavailable);
        }
        for id in &allocation.cpu_ids {
            self.free_cpus.remove(id);
        }
        for id in &allocation.gpu_ids {
            self.free_gpus.remove(id);
        }
        self.free_memory_mb -= allocation.memory_mb;
        self.booked.insert(job, allocation.clone());
        Ok(())
    }

    /// Gives a job's resources back. Only the first call for a booking
    /// returns it; later calls return `None` and change nothing.
    pub fn release(&mut self, job: JobId) -> Option<Allocation> {
        let allocation = self.booked.remove(&job)?;
        self.free_cpus.extend(allocation.cpu_ids.iter().copied());
        self.free_gpus.extend(allocation.gpu_ids.iter().copied());
        self.free_memory_mb += allocation.memory_mb;
        Some(allocation)
    }

    /// The allocation a job holds, if any.
    pub fn allocation(&self, job: JobId) -> Option<&Allocation> {
        self.booked.get(&job)
    }

    /// Number of jobs holding resources.
    pub fn booked_jobs(&self) -> usize {
        self.booked.len()
    }
}

fn take_lowest(free: &mut BTreeSet<u32>, count: u32) -> Vec<u32> {
    (0..count).filter_map(|_| free.pop_first()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request(cpus: u32, memory_mb: u64, gpus: u32) -> ResourceRequest {
        ResourceRequest {
            cpus,
            memory_mb,
            gpus,
        }
    }

    fn tracker() -> ResourceTracker {
        ResourceTracker::new(Capacity {
            cpus: 4,
            memory_mb: 1000,
            gpus: 2,
        })
    }

    #[test]
    fn allocates_lowest_ids_all_or_nothing() {
        let mut t = tracker();
        let a = t.allocate(JobId(1), &request(2, 100, 1)).expect("fits");
        assert_eq!(a.cpu_ids, vec![0, 1]);
        assert_eq!(a.gpu_ids, vec![0]);
        assert_eq!(
            t.allocate(JobId(2), &request(3, 0, 0)),
            Err(Refusal::NotEnough)
        );
        assert_eq!(t.free(), request(2, 900, 1), "a refusal takes nothing");
        let b = t
            .allocate(JobId(2), &request(2, 900, 1))
            .expect("fits exactly");
        assert_eq!(b.cpu_ids, vec![2, 3]);
        assert_eq!(t.free(), request(0, 0, 0));
    }

    #[test]
    fn releases_exactly_once() {
        let mut t = tracker();
        t.allocate(JobId(1), &request(3, 10, 2)).expect("fits");
        assert!(t.release(JobId(1)).is_some());
        assert!(t.release(JobId(1)).is_none());
        assert_eq!(t.free(), request(4, 1000, 2));
    }

    #[test]
    fn a_job_holds_one_allocation() {
        let mut t = tracker();
        t.allocate(JobId(1), &request(1, 0, 0)).expect("fits");
        assert_eq!(
            t.allocate(JobId(1), &request(1, 0, 0)),
            Err(Refusal::AlreadyAllocated)
        );
    }

    #[test]
    fn booking_refuses_busy_or_foreign_ids() {
        let mut t = tracker();
        t.allocate(JobId(1), &request(1, 0, 0)).expect("fits");
        let busy = Allocation {
            cpu_ids: vec![0],
            memory_mb: 0,
            gpu_ids: vec![],
        };
        assert_eq!(t.book(JobId(2), &busy), Err(Refusal::Unavailable));
        let foreign = Allocation {
            cpu_ids: vec![9],
            memory_mb: 0,
            gpu_ids: vec![],
        };
        assert_eq!(t.book(JobId(2), &foreign), Err(Refusal::Unavailable));
        let twice = Allocation {
            cpu_ids: vec![2, 2],
            memory_mb: 0,
            gpu_ids: vec![],
        };
        assert_eq!(t.book(JobId(2), &twice), Err(Refusal::Unavailable));
        let fine = Allocation {
            cpu_ids: vec![3],
            memory_mb: 5,
            gpu_ids: vec![1],
        };
        assert_eq!(t.book(JobId(2), &fine), Ok(()));
        assert_eq!(t.free(), request(2, 995, 1));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Allocate(u64, ResourceRequest),
        Release(u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u64..8, 0u32..5, 0u64..1200, 0u32..3)
                .prop_map(|(job, c, m, g)| Op::Allocate(job, request(c, m, g))),
            (0u64..8).prop_map(Op::Release),
        ]
    }

    proptest! {
        /// Whatever the sequence, booked plus free equals capacity, no id is
        /// held twice, and a refusal changes nothing.
        #[test]
        fn random_sequences_keep_the_books_balanced(ops in proptest::collection::vec(op(), 0..200)) {
            let mut t = tracker();
            let mut model: HashMap<JobId, ResourceRequest> = HashMap::new();
            for op in ops {
                match op {
                    Op::Allocate(job, req) => {
                        let before = t.free();
                        match t.allocate(JobId(job), &req) {
                            Ok(a) => {
                                prop_assert!(!model.contains_key(&JobId(job)));
                                prop_assert_eq!(a.cpu_ids.len() as u32, req.cpus);
                                prop_assert_eq!(a.gpu_ids.len() as u32, req.gpus);
                                model.insert(JobId(job), req);
                            }
                            Err(_) => prop_assert_eq!(t.free(), before),
                        }
                    }
                    Op::Release(job) => {
                        let released = t.release(JobId(job));
                        prop_assert_eq!(released.is_some(), model.remove(&JobId(job)).is_some());
                    }
                }
                let used = model.values().fold((0u32, 0u64, 0u32), |acc, r| {
                    (acc.0 + r.cpus, acc.1 + r.memory_mb, acc.2 + r.gpus)
                });
                let free = t.free();
                prop_assert_eq!(free.cpus + used.0, 4);
                prop_assert_eq!(free.memory_mb + used.1, 1000);
                prop_assert_eq!(free.gpus + used.2, 2);
                let mut seen = BTreeSet::new();
                for job in model.keys() {
                    let a = t.allocation(*job).expect("booked");
                    for id in &a.cpu_ids {
                        prop_assert!(seen.insert(*id), "cpu {} held twice", id);
                    }
                }
            }
        }
    }
}
