//! Following a job's processes without a cgroup: through `/proc`, by parent,
//! process group and session, each pid checked by its start time so a
//! reused pid is never taken for the job's.

use std::fs;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, WaitOptions};

/// What `/proc/PID/stat` says about a process that matters here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stat {
    pid: i32,
    ppid: i32,
    group: i32,
    session: i32,
    start_ticks: u64,
}

fn parse_stat(pid: i32, text: &str) -> Option<Stat> {
    // Fields after the command name, which may itself hold spaces and ')'.
    let rest = text.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(Stat {
        pid,
        ppid: fields.get(1)?.parse().ok()?,
        group: fields.get(2)?.parse().ok()?,
        session: fields.get(3)?.parse().ok()?,
        start_ticks: fields.get(19)?.parse().ok()?,
    })
}

fn stat_of(pid: i32) -> Option<Stat> {
    parse_stat(pid, &fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Every process on the machine now.
fn all_processes() -> Vec<Stat> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(stat_of)
        .collect()
}

/// The pids of every descendant of `root`, found through each process's
/// `/proc/PID/task/*/children` (cheap: only the job's processes are read),
/// else by parent links over every process.
pub fn descendants_of(root: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        let Some(children) = children_of(parent) else {
            return descendants_in(&all_processes(), root);
        };
        for child in children {
            if child != root && !found.contains(&child) {
                found.push(child);
                frontier.push(child);
            }
        }
    }
    found
}

/// The children of `pid`, from the kernel's per-thread lists (orphans a
/// subreaper adopts may hang under any of its threads); `None` where the
/// kernel has no such lists. A process that is gone has none.
fn children_of(pid: i32) -> Option<Vec<i32>> {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return Some(Vec::new());
    };
    let mut children = Vec::new();
    for task in tasks.flatten() {
        match fs::read_to_string(task.path().join("children")) {
            Ok(text) => children.extend(
                text.split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok()),
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && task.path().exists() => {
                return None;
            }
            Err(_) => {}
        }
    }
    Some(children)
}

fn descendants_in(processes: &[Stat], root: i32) -> Vec<i32> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    while let Some(parent) = frontier.pop() {
        for p in processes
            .iter()
            .filter(|p| p.ppid == parent && p.pid != root)
        {
            if !found.contains(&p.pid) {
                found.push(p.pid);
                frontier.push(p.pid);
            }
        }
    }
    found
}

/// Kills every descendant of this process and reaps them, until none is
/// left or `patience` runs out: a subreaper supervisor's last act, so that
/// nothing a job started (double-forked, `setsid`) outlives it. Returns
/// whether none is left.
pub fn kill_descendants(patience: Duration) -> bool {
    let me = std::process::id() as i32;
    kill_until_none(patience, || {
        reap_all();
        descendants_of(me)
    })
}

/// SIGKILLs what `left` lists until it lists nothing (`true`) or
/// `patience` runs out (`false`).
fn kill_until_none(patience: Duration, mut left: impl FnMut() -> Vec<i32>) -> bool {
    let deadline = Instant::now() + patience;
    loop {
        let alive = left();
        if alive.is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        for pid in alive {
            kill(pid);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Reaps every child that has exited, without waiting.
fn reap_all() {
    while let Ok(Some(_)) = rustix::process::wait(WaitOptions::NOHANG) {}
}

/// Kills what is left of a job whose supervisor was lost, without a cgroup:
/// every process in the job's process group (led by `leader`) or in the
/// supervisor's session, and every process the supervisor last recorded as
/// the job's (`recorded`, which finds those that left both by `setsid`).
/// Each is (pid, start time): a pid is not handed out again while a group or
/// session of that number exists, so the numbers are the job's unless the
/// pid now names a process started at another time. Returns whether none
/// is left.
pub fn kill_group_verified(
    leader: (i32, u64),
    supervisor: Option<(i32, u64)>,
    recorded: &[(i32, u64)],
    patience: Duration,
) -> bool {
    let ours = |(pid, ticks): (i32, u64)| stat_of(pid).is_none_or(|s| s.start_ticks == ticks);
    let group = ours(leader).then_some(leader.0);
    let session = supervisor.filter(|s| ours(*s)).map(|s| s.0);
    kill_until_none(patience, || {
        all_processes()
            .into_iter()
            .filter(|p| {
                Some(p.group) == group
                    || Some(p.session) == session
                    || recorded.contains(&(p.pid, p.start_ticks))
            })
            .map(|p| p.pid)
            .collect()
    })
}

/// The descendants of `root` with their start times, for a supervisor to
/// record what a daemon must kill should the supervisor be lost.
pub fn descendants_with_start(root: i32) -> Vec<(i32, u64)> {
    descendants_of(root)
        .into_iter()
        .filter_map(stat_of)
        .map(|p| (p.pid, p.start_ticks))
        .collect()
}

fn kill(pid: i32) {
    if let Some(pid) = Pid::from_raw(pid) {
        // ESRCH only says it is already gone.
        let _ = rustix::process::kill_process(pid, Signal::KILL);
    }
}

/// Watches the resident memory of a job's processes, for jobs whose limit
/// no memory controller enforces: the sum of their RSS, sampled (as Slurm's
/// jobacct_gather does), and its peak.
#[derive(Debug, Default)]
pub struct TreeSampler {
    pub peak_kb: u64,
}

impl TreeSampler {
    /// The summed RSS of `pids` now, in KiB; raises the peak.
    pub fn sample(&mut self, pids: &[i32]) -> u64 {
        let page_kb = rustix::param::page_size() as u64 / 1024;
        let total: u64 = pids
            .iter()
            .filter_map(|pid| fs::read_to_string(format!("/proc/{pid}/statm")).ok())
            .filter_map(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map(|pages| pages * page_kb)
            .sum();
        self.peak_kb = self.peak_kb.max(total);
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(pid: i32, ppid: i32) -> Stat {
        Stat {
            pid,
            ppid,
            group: pid,
            session: 1,
            start_ticks: 0,
        }
    }

    #[test]
    fn stat_lines_parse_past_odd_command_names() {
        let line = "42 (a) b) S 7 42 40 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
        let s = parse_stat(42, line).expect("parses");
        assert_eq!(
            (s.ppid, s.group, s.session, s.start_ticks),
            (7, 42, 40, 12345)
        );
        assert!(parse_stat(1, "1 (x) S").is_none());
    }

    #[test]
    fn descendants_follow_parent_links_down_the_tree() {
        let tree = [
            stat(10, 1),
            stat(11, 10),
            stat(12, 11),
            stat(13, 1),
            stat(14, 12),
        ];
        let mut found = descendants_in(&tree, 10);
        found.sort_unstable();
        assert_eq!(found, vec![11, 12, 14]);
        assert!(descendants_in(&tree, 14).is_empty());
    }

    #[test]
    fn children_lists_find_a_childs_descendants() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .expect("sh");
        let (me, sh) = (std::process::id() as i32, child.id() as i32);
        let deadline = Instant::now() + Duration::from_secs(10);
        while descendants_of(sh).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let below = descendants_of(sh);
        assert_eq!(below.len(), 1, "the sleep: {below:?}");
        let found = descendants_of(me);
        assert!(
            found.contains(&sh) && found.contains(&below[0]),
            "{found:?}"
        );
        assert_eq!(below, descendants_in(&all_processes(), sh));
        let _ = child.kill();
        let _ = child.wait();
    }

    #[test]
    fn this_process_is_sampled() {
        let me = std::process::id() as i32;
        let mut sampler = TreeSampler::default();
        let now = sampler.sample(&[me]);
        assert!(now > 0 && sampler.peak_kb == now);
        assert!(stat_of(me).is_some_and(|s| s.start_ticks > 0));
    }
}
