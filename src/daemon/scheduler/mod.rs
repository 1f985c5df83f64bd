//! The scheduler's decisions, each a pure function over plain data that
//! tests drive without processes: which pending jobs may start at all and
//! what a waiting one shows (`policy`), the caps on how many jobs of a
//! group run at once (`groups`), the per-user limits on what runs
//! (`limits`), which of the jobs that may start get what is free
//! (`first_fit`), booked in one node's tracker or across several nodes
//! (`pool`), with backfill the reservation that keeps the first job
//! that does not fit from waiting for ever (`backfill`), and in what order
//! pending jobs stand under priority/multifactor (`priority`, with each
//! user's `fair_share`). The daemon's pass gathers the inputs and applies
//! the plan; nothing here reads the store or touches a process.

pub mod backfill;
pub mod fair_share;
mod first_fit;
mod groups;
pub mod limits;
pub(crate) mod policy;
mod pool;
pub mod priority;
#[cfg(test)]
mod simulation;

pub use backfill::{Backfill, Reservation, RunningJob};
pub use first_fit::{
    Candidate, Plan, QueueKey, ShapeIndex, backfill_indexed, backfill_walk, first_fit,
    first_fit_indexed,
};
pub use groups::{Group, Limit, Membership, RunningGroups};
pub use pool::{NodeSet, Pool};
