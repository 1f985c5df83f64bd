//! How a step's tasks ended, in srun's words and by srun's rules (Slurm
//! 22.05, `launch_slurm.c`'s `_task_finish` and `fini_srun`): the
//! `NODE: tasks 0-1: Exited with exit code 1` lines, and the one status a
//! step ends with. Pure: the caller waits for the tasks and prints.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;

use crate::protocol::{ExitCode, signal_name};

/// How one task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEnd {
    /// It exited with this code (a task that could not be started exits
    /// with the `errno` of its `execve`, as slurmstepd's do).
    Exited(i32),
    /// A signal ended it; `core` when it dumped core.
    Signaled { signal: i32, core: bool },
}

impl TaskEnd {
    /// The end a wait reported.
    pub fn from_status(status: ExitStatus) -> TaskEnd {
        match (status.code(), status.signal()) {
            (Some(code), _) => TaskEnd::Exited(code),
            (None, signal) => TaskEnd::Signaled {
                signal: signal.unwrap_or(0),
                core: status.core_dumped(),
            },
        }
    }

    /// Anything but exit code 0: what `--kill-on-bad-exit` acts on.
    pub fn is_abnormal(self) -> bool {
        self != TaskEnd::Exited(0)
    }

    /// What srun says of it (`Exited with exit code 3`, `Killed`); nothing
    /// for a clean exit, which srun only mentions when verbose.
    fn words(self) -> Option<String> {
        match self {
            TaskEnd::Exited(0) => None,
            TaskEnd::Exited(code) => Some(format!("Exited with exit code {code}")),
            TaskEnd::Signaled { signal, core } => Some(format!(
                "{}{}",
                signal_name(signal),
                if core { " (core dumped)" } else { "" }
            )),
        }
    }
}

/// srun's lines (after its `srun: error: `) for tasks seen ending in one
/// wait: those that ended the same way share a line, as slurmstepd sends
/// them in one message, the lines in the order of each group's first task.
pub fn exit_lines(node: &str, ended: &[(u32, TaskEnd)]) -> Vec<String> {
    let mut sorted = ended.to_vec();
    sorted.sort_by_key(|(task, _)| *task);
    let mut groups: Vec<(TaskEnd, Vec<u32>)> = Vec::new();
    for (task, end) in sorted {
        match groups.iter_mut().find(|(seen, _)| *seen == end) {
            Some((_, tasks)) => tasks.push(task),
            None => groups.push((end, vec![task])),
        }
    }
    groups
        .into_iter()
        .filter_map(|(end, tasks)| {
            let noun = if tasks.len() == 1 { "task" } else { "tasks" };
            end.words()
                .map(|words| format!("{node}: {noun} {}: {words}", task_ranges(&tasks)))
        })
        .collect()
}

/// Task ids as Slurm's bitmaps print them: `0-2,5`.
pub fn task_ranges(tasks: &[u32]) -> String {
    let mut sorted = tasks.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    crate::format::array::compress(&sorted)
}

/// The status a step ends with, folded over its tasks' ends as srun folds
/// them: a signal outranks any exit code, and among each the highest wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepStatus(Option<TaskEnd>);

impl StepStatus {
    /// Folds in one more task's end.
    pub fn add(&mut self, end: TaskEnd) {
        let replace = match (self.0, end) {
            (None, _) => true,
            (Some(TaskEnd::Exited(_)), TaskEnd::Signaled { .. }) => true,
            (Some(TaskEnd::Exited(old)), TaskEnd::Exited(new)) => new > old,
            (Some(TaskEnd::Signaled { signal: old, .. }), TaskEnd::Signaled { signal, .. }) => {
                signal > old
            }
            (Some(TaskEnd::Signaled { .. }), TaskEnd::Exited(_)) => false,
        };
        if replace {
            self.0 = Some(end);
        }
    }

    /// srun's own exit status: the code, or 128 + the signal.
    pub fn exit_status(self) -> i32 {
        match self.0 {
            None => 0,
            Some(TaskEnd::Exited(code)) => code,
            Some(TaskEnd::Signaled { signal, .. }) => 128 + signal,
        }
    }

    /// The step's `code:signal` for accounting.
    pub fn exit_code(self) -> ExitCode {
        match self.0 {
            None => ExitCode::default(),
            Some(TaskEnd::Exited(code)) => ExitCode { code, signal: 0 },
            Some(TaskEnd::Signaled { signal, .. }) => ExitCode { code: 0, signal },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KILLED: TaskEnd = TaskEnd::Signaled {
        signal: 9,
        core: false,
    };

    #[test]
    fn tasks_that_ended_alike_share_a_line_and_clean_exits_say_nothing() {
        let ended = [
            (1, TaskEnd::Exited(1)),
            (0, TaskEnd::Exited(1)),
            (2, TaskEnd::Exited(0)),
        ];
        assert_eq!(
            exit_lines("vm", &ended),
            ["vm: tasks 0-1: Exited with exit code 1"]
        );
        let ended = [(0, TaskEnd::Exited(3)), (1, TaskEnd::Exited(4))];
        assert_eq!(
            exit_lines("vm", &ended),
            [
                "vm: task 0: Exited with exit code 3",
                "vm: task 1: Exited with exit code 4"
            ]
        );
    }

    #[test]
    fn signals_are_named_as_strsignal_names_them() {
        let segv = TaskEnd::Signaled {
            signal: 11,
            core: true,
        };
        assert_eq!(
            exit_lines("n", &[(0, KILLED), (1, segv)]),
            [
                "n: task 0: Killed",
                "n: task 1: Segmentation fault (core dumped)"
            ]
        );
    }

    #[test]
    fn task_ranges_collapse_runs() {
        assert_eq!(task_ranges(&[5, 0, 1, 2, 7, 8]), "0-2,5,7-8");
        assert_eq!(task_ranges(&[3]), "3");
    }

    #[test]
    fn a_signal_outranks_exit_codes_and_the_highest_of_each_wins() {
        let fold = |ends: &[TaskEnd]| {
            let mut status = StepStatus::default();
            for end in ends {
                status.add(*end);
            }
            status
        };
        assert_eq!(fold(&[]).exit_status(), 0);
        assert_eq!(
            fold(&[TaskEnd::Exited(3), TaskEnd::Exited(4)]).exit_status(),
            4
        );
        let terminated = TaskEnd::Signaled {
            signal: 15,
            core: false,
        };
        let status = fold(&[TaskEnd::Exited(200), terminated, KILLED, TaskEnd::Exited(7)]);
        assert_eq!(status.exit_status(), 143);
        assert_eq!(
            status.exit_code(),
            ExitCode {
                code: 0,
                signal: 15
            }
        );
        assert_eq!(
            fold(&[TaskEnd::Exited(0), TaskEnd::Exited(2)]).exit_code(),
            ExitCode { code: 2, signal: 0 }
        );
    }
}
