//! A client with no server named starts the per-user daemon itself.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use conductor::protocol::JobState;

use crate::support::{bin, processes_where, run_command, signal, wait_until};

/// A command whose XDG directories all live in `home`.
fn in_home(home: &Path, name: &str, args: &[&str]) -> Command {
    let mut command = Command::new(bin(name));
    command
        .args(args)
        .current_dir(home)
        .env_remove("CONDUCTOR_SERVER")
        .env_remove("CONDUCTOR_NO_AUTOSTART")
        .env("HOME", home)
        .env("XDG_RUNTIME_DIR", home.join("run"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("XDG_DATA_HOME", home.join("data"));
    command
}

/// Pids of conductord daemons using this state directory. A daemon's
/// child between fork and exec still shows the daemon's command line, so
/// only processes whose parent is not itself a match count.
fn daemons_of(state: &Path) -> Vec<u32> {
    let needle = state.display().to_string();
    let matches: Vec<u32> = processes_where(|cmd| {
        cmd.contains("conductord") && cmd.contains(&needle) && !cmd.contains("--launcher")
    })
    .into_iter()
    .filter(|pid| crate::support::alive(*pid))
    .collect();
    let parent = |pid: u32| -> Option<u32> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("PPid:"))
            .and_then(|ppid| ppid.trim().parse().ok())
    };
    matches
        .iter()
        .copied()
        .filter(|pid| parent(*pid).is_none_or(|ppid| !matches.contains(&ppid)))
        .collect()
}

#[test]
fn a_client_starts_the_daemon_once_from_a_clean_state_dir() {
    let home = tempfile::tempdir().expect("home");
    let home = home.path();
    std::fs::create_dir(home.join("run")).expect("runtime dir");
    let state = home.join("state/conductor");
    assert!(!state.exists());

    // Two clients race to a daemon that is not there yet.
    let racers: Vec<_> = (0..2)
        .map(|i| {
            let command = in_home(
                home,
                "cbatch",
                &["--parsable", "--wrap", &format!("echo auto{i}")],
            );
            std::thread::spawn(move || run_command(command, None))
        })
        .collect();
    let outs: Vec<_> = racers
        .into_iter()
        .map(|r| r.join().expect("thread"))
        .collect();
    for out in &outs {
        out.ok();
    }
    assert!(
        state.join("jobs.db").exists(),
        "the daemon keeps its store in the XDG state dir"
    );
    // A daemon's child between its fork and exec looks like a daemon for
    // a moment; a second daemon would stay.
    let mut daemons = daemons_of(&state);
    for _ in 0..50 {
        if daemons.len() == 1 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        daemons = daemons_of(&state);
    }
    assert_eq!(daemons.len(), 1, "exactly one daemon: {daemons:?}");

    for out in &outs {
        let id = out.stdout.trim();
        wait_until(Duration::from_secs(10), "the job completes", || {
            let q = run_command(
                in_home(home, "cqueue", &["-h", "-t", "all", "-j", id, "-o", "%T"]),
                None,
            );
            q.stdout.trim() == JobState::Completed.long()
        });
        let text = std::fs::read_to_string(home.join(format!("slurm-{id}.out"))).expect("output");
        assert!(text.starts_with("auto"), "{text}");
    }

    // With auto-start turned off, a missing daemon is an error, not a start.
    for pid in &daemons {
        signal(*pid, "TERM");
    }
    wait_until(Duration::from_secs(10), "the daemon stops", || {
        daemons_of(&state).is_empty()
    });
    let mut command = in_home(home, "cqueue", &[]);
    command.env("CONDUCTOR_NO_AUTOSTART", "1");
    let out = run_command(command, None);
    let line = out.fails_with_one_line();
    assert!(
        line.starts_with("cqueue: error: cannot reach conductord at unix:"),
        "{line}"
    );
    assert!(daemons_of(&state).is_empty());
}
