//! What a pass books its starts in: one node's [`ResourceTracker`], or a
//! [`NodeSet`] of several nodes' trackers for the pass of a cluster's
//! scheduler, which puts each job on the first node, in the set's order,
//! where it fits (First Fit across nodes, as Slurm's select plugin walks
//! its node list).
//!
//! First Fit over a set decides like First Fit over one node because what
//! it relies on holds for both: within a pass free resources only shrink,
//! so a request that fits nowhere keeps fitting nowhere, and a job short
//! of a kind of resource is short of it on every node.

use chrono::{DateTime, TimeDelta, Utc};

use super::backfill::{self, Reservation, RunningJob};
use crate::daemon::tracker::{Allocation, Capacity, Refusal, ResourceTracker};
use crate::protocol::{JobId, ResourceRequest};

/// When and where a reservation can be made: its start, what is spare on
/// its node then, and that node's place in the pool.
pub type Reserved = (DateTime<Utc>, ResourceRequest, usize);

/// Resources a pass hands out, all of a request or nothing.
pub trait Pool {
    /// Whether `request` fits, whole, in what is free now.
    fn fits(&self, request: &ResourceRequest) -> bool;

    /// The most of each kind of resource one job could be given now: what
    /// is free on a node; on several, the largest of each kind on any one.
    /// A job asking for more of a kind waits for that kind, and with no
    /// CPU here no job can start.
    fn room(&self) -> ResourceRequest;

    /// Books `request` for `job`, all of it or nothing.
    fn allocate(&mut self, job: JobId, request: &ResourceRequest) -> Result<Allocation, Refusal>;

    /// The place, among the pool's nodes, of the node `job` is booked on
    /// (0 on one node): what [`RunningJob::node`] and
    /// [`Reservation::node`] count.
    fn node_index(&self, job: JobId) -> usize;

    /// Backfill's reservation for `request`, which does not fit now: the
    /// earliest time some node will have room for it as the `running`
    /// jobs end (see [`backfill::reserve`]), with what is spare on that
    /// node then; `None` when none will within `window`.
    fn reserve(
        &self,
        request: &ResourceRequest,
        running: impl Iterator<Item = RunningJob> + Clone,
        now: DateTime<Utc>,
        window: TimeDelta,
    ) -> Option<Reserved>;

    /// Books a job, which fits now and runs past `reservation`'s start,
    /// where it cannot delay the reserved job: on another node than the
    /// reserved one, or in what will be spare on it (which it takes).
    /// `None` (nothing booked) when it could only delay it.
    fn allocate_past(
        &mut self,
        job: JobId,
        request: &ResourceRequest,
        reservation: &mut Reservation,
    ) -> Option<Allocation>;
}

impl Pool for ResourceTracker {
    fn fits(&self, request: &ResourceRequest) -> bool {
        ResourceTracker::fits(self, request)
    }

    fn room(&self) -> ResourceRequest {
        self.free()
    }

    fn allocate(&mut self, job: JobId, request: &ResourceRequest) -> Result<Allocation, Refusal> {
        ResourceTracker::allocate(self, job, request)
    }

    fn node_index(&self, _: JobId) -> usize {
        0
    }

    fn reserve(
        &self,
        request: &ResourceRequest,
        running: impl Iterator<Item = RunningJob> + Clone,
        now: DateTime<Utc>,
        window: TimeDelta,
    ) -> Option<Reserved> {
        backfill::reserve(request, self.free(), running, now, window)
            .map(|(at, spare)| (at, spare, 0))
    }

    fn allocate_past(
        &mut self,
        job: JobId,
        request: &ResourceRequest,
        reservation: &mut Reservation,
    ) -> Option<Allocation> {
        book_in_spare(self, job, request, reservation)
    }
}

/// Books `request` on the reserved node in what will be spare at the
/// reservation's start, taking it from the spare; nothing when it does
/// not fit there.
fn book_in_spare(
    tracker: &mut ResourceTracker,
    job: JobId,
    request: &ResourceRequest,
    reservation: &mut Reservation,
) -> Option<Allocation> {
    let mut taken = *reservation;
    if !taken.take_spare(request) {
        return None;
    }
    let allocation = tracker.allocate(job, request).ok()?;
    *reservation = taken;
    Some(allocation)
}

/// No resources at all: the room of an empty set.
const NOTHING: ResourceRequest = ResourceRequest {
    cpus: 0,
    memory_mb: 0,
    gpus: 0,
};

/// Several nodes' trackers, in the order First Fit tries them: the
/// scheduler's own node first, then the others as they joined.
#[derive(Debug, Clone, Default)]
pub struct NodeSet {
    nodes: Vec<Node>,
}

/// One node of a set: its books, and whether it takes new jobs (a node
/// that left or went down keeps its books until its jobs are settled).
#[derive(Debug, Clone)]
struct Node {
    name: String,
    tracker: ResourceTracker,
    offering: bool,
}

impl NodeSet {
    /// The nodes, each with its tracker, in the order jobs try them; every
    /// one takes jobs.
    pub fn new(nodes: impl IntoIterator<Item = (String, ResourceTracker)>) -> NodeSet {
        NodeSet {
            nodes: nodes
                .into_iter()
                .map(|(name, tracker)| Node {
                    name,
                    tracker,
                    offering: true,
                })
                .collect(),
        }
    }

    /// The first node's tracker: the daemon's own node.
    ///
    /// # Panics
    /// On an empty set; a daemon's set always holds its own node.
    pub fn local(&self) -> &ResourceTracker {
        &self.nodes[0].tracker
    }

    /// The first node's tracker, to book in (see [`NodeSet::local`]).
    pub fn local_mut(&mut self) -> &mut ResourceTracker {
        &mut self.nodes[0].tracker
    }

    /// The node `job` is booked on, if it is.
    pub fn node_of(&self, job: JobId) -> Option<&str> {
        self.nodes
            .iter()
            .find(|node| node.tracker.allocation(job).is_some())
            .map(|node| node.name.as_str())
    }

    /// One node's tracker, to read or to book a job found running there.
    pub fn node_mut(&mut self, name: &str) -> Option<&mut ResourceTracker> {
        self.nodes
            .iter_mut()
            .find(|node| node.name == name)
            .map(|node| &mut node.tracker)
    }

    /// One node's tracker.
    pub fn node(&self, name: &str) -> Option<&ResourceTracker> {
        self.nodes
            .iter()
            .find(|node| node.name == name)
            .map(|node| &node.tracker)
    }

    /// Gives a job's resources back on whichever node holds them; a node
    /// that had left goes once it holds nothing.
    pub fn release(&mut self, job: JobId) -> Option<(String, Allocation)> {
        let (at, allocation) = self
            .nodes
            .iter_mut()
            .enumerate()
            .find_map(|(at, node)| node.tracker.release(job).map(|a| (at, a)))?;
        let node = &self.nodes[at];
        let name = node.name.clone();
        if at > 0 && !node.offering && node.tracker.booked_jobs() == 0 {
            self.nodes.remove(at);
        }
        Some((name, allocation))
    }

    /// Has `name`, with `capacity`, in the set, taking jobs or not
    /// (`offering`: a node that is up but whose heartbeat is late keeps
    /// its jobs and takes no new ones): a node new to the set joins at its
    /// end; one there already takes its new capacity once it holds
    /// nothing.
    pub fn keep(&mut self, name: &str, capacity: Capacity, offering: bool) {
        match self.nodes.iter_mut().find(|node| node.name == name) {
            Some(node) => {
                node.offering = offering;
                if node.tracker.booked_jobs() == 0 && node.tracker.capacity() != capacity {
                    node.tracker = ResourceTracker::new(capacity);
                }
            }
            None => self.nodes.push(Node {
                name: name.to_string(),
                tracker: ResourceTracker::new(capacity),
                offering,
            }),
        }
    }

    /// Has `name` (not the first node: a node down or gone) take no more
    /// jobs; it goes from the set once it holds none.
    pub fn withdraw(&mut self, name: &str) {
        let Some(at) = self.nodes.iter().skip(1).position(|node| node.name == name) else {
            return;
        };
        let at = at + 1;
        if self.nodes[at].tracker.booked_jobs() == 0 {
            self.nodes.remove(at);
        } else {
            self.nodes[at].offering = false;
        }
    }

    /// The names of the nodes in the set, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.nodes.iter().map(|node| node.name.as_str())
    }

    /// The largest of each kind of resource on any one node of the set
    /// (one late with its heartbeat too): a job asking for more can never
    /// run here.
    pub fn largest(&self) -> Capacity {
        self.nodes.iter().map(|node| &node.tracker).fold(
            Capacity {
                cpus: 0,
                memory_mb: 0,
                gpus: 0,
            },
            |most, tracker| {
                let each = tracker.capacity();
                Capacity {
                    cpus: most.cpus.max(each.cpus),
                    memory_mb: most.memory_mb.max(each.memory_mb),
                    gpus: most.gpus.max(each.gpus),
                }
            },
        )
    }

    /// The nodes that take jobs, with their places in the set.
    fn offering(&self) -> impl Iterator<Item = (usize, &ResourceTracker)> + Clone {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, node)| node.offering)
            .map(|(n, node)| (n, &node.tracker))
    }
}

impl Pool for NodeSet {
    fn fits(&self, request: &ResourceRequest) -> bool {
        self.offering().any(|(_, tracker)| tracker.fits(request))
    }

    fn room(&self) -> ResourceRequest {
        self.offering()
            .map(|(_, tracker)| tracker.free())
            .fold(NOTHING, |most, free| ResourceRequest {
                cpus: most.cpus.max(free.cpus),
                memory_mb: most.memory_mb.max(free.memory_mb),
                gpus: most.gpus.max(free.gpus),
            })
    }

    fn allocate(&mut self, job: JobId, request: &ResourceRequest) -> Result<Allocation, Refusal> {
        if self.node_of(job).is_some() {
            return Err(Refusal::AlreadyAllocated);
        }
        self.nodes
            .iter_mut()
            .find(|node| node.offering && node.tracker.fits(request))
            .ok_or(Refusal::NotEnough)
            .and_then(|node| node.tracker.allocate(job, request))
    }

    fn node_index(&self, job: JobId) -> usize {
        self.nodes
            .iter()
            .position(|node| node.tracker.allocation(job).is_some())
            .unwrap_or(0)
    }

    /// The earliest of the nodes' reservations, the first node's on a tie:
    /// each node's from its own free resources and its own running jobs.
    fn reserve(
        &self,
        request: &ResourceRequest,
        running: impl Iterator<Item = RunningJob> + Clone,
        now: DateTime<Utc>,
        window: TimeDelta,
    ) -> Option<Reserved> {
        self.offering()
            .filter_map(|(n, tracker)| {
                let on_node = running.clone().filter(move |job| job.node == n);
                backfill::reserve(request, tracker.free(), on_node, now, window)
                    .map(|(at, spare)| (at, spare, n))
            })
            .min_by_key(|(at, _, n)| (*at, *n))
    }

    fn allocate_past(
        &mut self,
        job: JobId,
        request: &ResourceRequest,
        reservation: &mut Reservation,
    ) -> Option<Allocation> {
        if self.node_of(job).is_some() {
            return None;
        }
        let elsewhere = self.nodes.iter_mut().enumerate().find(|(n, node)| {
            *n != reservation.node && node.offering && node.tracker.fits(request)
        });
        if let Some((_, node)) = elsewhere {
            return node.tracker.allocate(job, request).ok();
        }
        let reserved = self.nodes.get_mut(reservation.node)?;
        book_in_spare(&mut reserved.tracker, job, request, reservation)
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

    fn node(name: &str, cpus: u32, memory_mb: u64, gpus: u32) -> (String, ResourceTracker) {
        let capacity = Capacity {
            cpus,
            memory_mb,
            gpus,
        };
        (name.to_owned(), ResourceTracker::new(capacity))
    }

    #[test]
    fn a_job_goes_to_the_first_node_it_fits_on() {
        let mut set = NodeSet::new([node("a", 2, 1000, 0), node("b", 4, 1000, 1)]);
        set.allocate(JobId(1), &request(2, 0, 0))
            .expect("fits on a");
        assert_eq!(set.node_of(JobId(1)), Some("a"));
        // a is full: the next goes to b, from b's lowest CPU id.
        let second = set
            .allocate(JobId(2), &request(1, 0, 0))
            .expect("fits on b");
        assert_eq!(set.node_of(JobId(2)), Some("b"));
        assert_eq!(second.cpu_ids, vec![0]);
        // Only b has a GPU.
        set.allocate(JobId(3), &request(1, 0, 1))
            .expect("b has a GPU");
        assert_eq!(set.node_of(JobId(3)), Some("b"));
        assert_eq!(
            set.allocate(JobId(3), &request(1, 0, 0)),
            Err(Refusal::AlreadyAllocated)
        );
    }

    #[test]
    fn room_is_the_most_one_job_could_get_not_the_sum() {
        let mut set = NodeSet::new([node("a", 2, 500, 0), node("b", 2, 800, 1)]);
        assert_eq!(set.room(), request(2, 800, 1));
        // Four CPUs are free in all, but no job can get more than two.
        assert!(!set.fits(&request(3, 0, 0)));
        assert_eq!(
            set.allocate(JobId(1), &request(3, 0, 0)),
            Err(Refusal::NotEnough)
        );
        set.allocate(JobId(1), &request(2, 100, 0))
            .expect("fits on a");
        set.allocate(JobId(2), &request(2, 0, 0))
            .expect("fits on b");
        assert_eq!(set.room(), request(0, 800, 1));
        assert_eq!(
            set.release(JobId(1)).map(|(node, _)| node),
            Some("a".into())
        );
        assert_eq!(set.release(JobId(1)), None, "released once");
        assert_eq!(set.room(), request(2, 800, 1));
    }

    #[test]
    fn a_late_node_keeps_its_jobs_takes_no_new_ones_and_a_node_gone_leaves_once_empty() {
        let mut set = NodeSet::new([node("here", 1, 1000, 0)]);
        let capacity = Capacity {
            cpus: 2,
            memory_mb: 1000,
            gpus: 0,
        };
        set.keep("there", capacity, true);
        set.allocate(JobId(1), &request(1, 0, 0))
            .expect("fits here");
        set.allocate(JobId(2), &request(1, 0, 0))
            .expect("fits there");
        assert_eq!(set.node_of(JobId(2)), Some("there"));
        // Late: it keeps job 2, and a job that would fit there waits.
        set.keep("there", capacity, false);
        assert!(!set.fits(&request(1, 0, 0)));
        assert_eq!(
            set.allocate(JobId(3), &request(1, 0, 0)),
            Err(Refusal::NotEnough)
        );
        assert_eq!(set.room(), request(0, 1000, 0), "only here's memory");
        // Down: it goes once job 2 is given back, never before.
        set.withdraw("there");
        assert!(set.node("there").is_some());
        assert_eq!(
            set.release(JobId(2)).map(|(node, _)| node),
            Some("there".into())
        );
        assert!(set.node("there").is_none());
        // The first node is never withdrawn.
        set.withdraw("here");
        assert_eq!(set.names().collect::<Vec<_>>(), ["here"]);
        // Back, with a new size, at the end of the order.
        set.keep(
            "there",
            Capacity {
                cpus: 4,
                ..capacity
            },
            true,
        );
        assert_eq!(set.largest().cpus, 4);
    }
}
