//! Start-up and stop: `recover()` reconciles the store with reality
//! before anything is served, and `shutdown()` leaves running jobs to
//! their supervisors for the next daemon to recover.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use std::sync::atomic::Ordering;

use crate::daemon::end::End;
use crate::daemon::executor::{self, Supervisor};
use crate::daemon::job::Phase;
use crate::daemon::state::Running;
use crate::daemon::{Daemon, log};
use crate::error::Result;
use crate::protocol::{JobId, Reason};

impl Daemon {
    /// Reconciles the store with reality after a start: pending jobs queue
    /// again; a job that was running keeps its resources and is followed
    /// again through its supervisor, or finished from the outcome the
    /// supervisor left; only a job whose supervisor vanished without a word
    /// ends NODE_FAIL, once what is left of it has been killed. Cgroups of
    /// jobs that no longer run are emptied and removed before any job starts.
    pub(crate) async fn recover(self: &Arc<Self>) -> Result<()> {
        let jobs = self.store.load_active()?;
        // On a cluster, the other nodes as the registry has them: a job on
        // one that is up runs on there.
        if let Some(members) = &self.members {
            let now = members.borrow().clone();
            self.follow_members(&now);
        }
        let mut remote = 0;
        let (mut pending, mut followed, mut ended, mut lost) = (0, Vec::new(), Vec::new(), 0);
        let mut held_locks = Vec::new();
        let mut never_started = Vec::new();
        let mut lost_dirs = Vec::new();
        let mut interrupted = Vec::new();
        let mut elsewhere = Vec::new();
        {
            let mut state = self.state();
            for mut job in jobs {
                match &job.phase {
                    Phase::Pending { hold, .. } => {
                        // One no pass looks at (PartitionConfig,
                        // PartitionTimeLimit) shows why from the start.
                        let reason = if hold.is_none() {
                            self.waiting_reason(&job.spec)
                        } else {
                            Reason::None
                        };
                        job.phase = Phase::Pending {
                            reason,
                            hold: *hold,
                        };
                        state.enqueue(job);
                        pending += 1;
                    }
                    Phase::Running {
                        allocation,
                        start_time,
                        boot_id,
                        node,
                        ..
                    } => {
                        let id = job.id;
                        // Running on another node that is up: it runs on
                        // there, and that node writes its end.
                        if let Some(other) = node.as_deref().filter(|n| *n != self.node()) {
                            if let Some(books) = state.nodes.node_mut(other)
                                && books.book(id, allocation).is_ok()
                            {
                                state.running.insert(id, Running::default());
                                state.jobs.insert(id, job);
                                remote += 1;
                                continue;
                            }
                            // On a node that is down or gone: nothing can
                            // hear of its end, so it ends NODE_FAIL, never
                            // queued again (that node may still be running
                            // it, until it comes back and kills what it
                            // must).
                            log(format_args!(
                                "job {id} was running on node {other}, which is not up: NODE_FAIL"
                            ));
                            state.running.insert(id, Running::default());
                            state.jobs.insert(id, job);
                            elsewhere.push(id);
                            continue;
                        }
                        let dir = self.job_dir(id, *start_time);
                        // Started in an earlier boot: its supervisor died with
                        // the machine, and what it wrote may not have reached
                        // the disk, so it may have run even if nothing says so.
                        let rebooted = boot_id.is_some() && *boot_id != self.boot_id;
                        let requeue = job.spec.requeues();
                        if let Err(refusal) = state.nodes.local_mut().book(id, allocation) {
                            log(format_args!(
                                "job {id}: cannot book its resources again: {refusal}"
                            ));
                        }
                        state.running.insert(id, Running::default());
                        state.jobs.insert(id, job);
                        if rebooted {
                            match executor::outcome(&dir) {
                                Some(end) => ended.push((id, end, ended_at(&dir))),
                                None => interrupted.push((id, requeue)),
                            }
                            continue;
                        }
                        // Held until the job's directory is gone, so no
                        // late supervisor can start the job after this.
                        match Supervisor::reattach(&dir) {
                            Ok(supervisor) => followed.push((id, supervisor)),
                            Err(lock) => {
                                held_locks.extend(lock);
                                match executor::outcome(&dir) {
                                    Some(end) => ended.push((id, end, ended_at(&dir))),
                                    // The daemon stopped between recording
                                    // the start and the supervisor's: the job
                                    // never ran, so it simply queues again.
                                    None if !executor::may_have_started(&dir) => {
                                        never_started.push((id, dir.clone()));
                                    }
                                    None => {
                                        lost += 1;
                                        lost_dirs.push((id, dir.clone()));
                                        ended.push((id, End::Lost, Utc::now()));
                                    }
                                }
                            }
                        }
                    }
                    Phase::Finished { .. } => {}
                }
            }
        }
        log(format_args!(
            "recovered {pending} pending jobs; {} running jobs followed again, {} ended while away, {} queued again, {lost} lost (NodeFail), {remote} running on other nodes{}",
            followed.len(),
            ended.len() - lost,
            never_started.len(),
            if elsewhere.is_empty() {
                String::new()
            } else {
                format!(", {} on nodes not up (NodeFail)", elsewhere.len())
            },
        ));
        // Nothing may run that the books do not show: cgroups of jobs not
        // followed any more are emptied and removed, and what is left of lost
        // jobs is killed, before any job starts.
        let followed_ids: std::collections::HashSet<JobId> =
            followed.iter().map(|(id, _)| *id).collect();
        let daemon = self.clone();
        let _ = tokio::task::spawn_blocking(move || {
            for id in daemon.host.containment.leftovers() {
                if !followed_ids.contains(&id)
                    && let Err(e) = daemon.host.containment.kill_and_remove(id)
                {
                    log(format_args!("job {id}: cannot clean up its cgroup: {e}"));
                }
            }
            for (id, dir) in lost_dirs {
                daemon.host.kill_lost(id, &dir);
            }
        })
        .await;
        for (id, dir) in never_started {
            self.requeue_unstarted(id, &dir).await?;
        }
        // A reboot interrupted these: never run again silently. A job that
        // allows it (`--requeue`) queues again with its restart count raised;
        // the others end NODE_FAIL.
        for (id, requeue) in interrupted {
            log(format_args!(
                "job {id} was running when the machine went down; {}",
                if requeue { "requeued" } else { "NODE_FAIL" }
            ));
            let end = if requeue {
                End::interrupted()
            } else {
                End::Lost
            };
            self.finish(id, end);
        }
        for id in elsewhere {
            self.finish(id, End::Lost);
        }
        for (id, supervisor) in followed {
            self.watch(id, supervisor);
        }
        for (id, end, at) in ended {
            self.finish_at(id, end, at);
        }
        // finish() removed the directories these locks guarded.
        drop(held_locks);
        Ok(())
    }

    /// Puts a job whose start was recorded but whose supervisor never
    /// started back in the queue, as it was.
    async fn requeue_unstarted(&self, id: JobId, dir: &std::path::Path) -> Result<()> {
        let Some(job) = self.state().back_to_queue(id) else {
            return Ok(());
        };
        let _ = std::fs::remove_dir_all(dir);
        self.store.update(vec![job], None).await
    }

    /// Stops taking work and waits until every write is on disk. Running
    /// jobs go on under their supervisors; the next daemon follows them.
    pub(crate) async fn shutdown(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        // No pass runs any more to write the ends it has not written yet.
        // Writes are committed in order, so this one returns once every
        // earlier one is on disk too.
        let (unwritten, commit) = {
            let mut state = self.state();
            let unwritten = state.take_unwritten();
            let commit = self
                .store
                .update(unwritten.records(), unwritten.usage.clone());
            (unwritten, commit)
        };
        match commit.await {
            Ok(()) => {
                for dir in unwritten.into_dirs() {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
            Err(e) => log(format_args!("cannot record the last ends at stop: {e}")),
        }
        // The daemon's own cgroup directories go when no job runs (no job
        // starts any more, so then no supervisor is about to make a cgroup
        // in them). With jobs running they stay: a supervisor forked just
        // before the stop may not have made its job's cgroup yet, and the
        // next daemon finds its jobs there again.
        if self.state().running.is_empty() {
            self.host.containment.tidy();
        }
    }
}

/// When a job whose outcome a restarted daemon finds ended: when its
/// supervisor wrote the outcome, not when the daemon came back.
fn ended_at(dir: &std::path::Path) -> DateTime<Utc> {
    executor::outcome_time(dir).map_or_else(Utc::now, |at| at.min(Utc::now()))
}
