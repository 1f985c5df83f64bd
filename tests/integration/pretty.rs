//! `--pretty` (`cqueue`, `cinfo`, `cacct`) against a real daemon: plain
//! on a pipe and under `NO_COLOR`, coloured on a pseudo-terminal, fitted
//! to `COLUMNS` or the terminal's width, redrawn in place by `cqueue -i`
//! on a terminal, and refused beside Slurm's layouts.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Command, Stdio};
use std::time::Duration;

use conductor::protocol::{JobId, JobState};
use rustix::fs::{Mode, OFlags};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

use crate::support::{Output, TestDaemon, bin, run_command, signal};

const SHORT: Duration = Duration::from_secs(10);
const ESC: char = '\x1b';
const GREEN_RUNNING: &str = "\x1b[32mRUNNING\x1b[0m";
const YELLOW_PENDING: &str = "\x1b[33mPENDING\x1b[0m";
const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J";
const LONG_NAME: &str = "a-job-name-far-longer-than-any-column-should-be";

/// A daemon with one CPU, a job running on it and a long-named one
/// pending behind it.
fn busy_daemon() -> (TestDaemon, JobId, JobId) {
    let d = TestDaemon::start(&["--cpus", "1", "--kill-wait", "1"]);
    let running = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(running, JobState::Running, SHORT);
    let pending = d.submit(&["-J", LONG_NAME, "--wrap", "sleep 30"]);
    (d, running, pending)
}

/// A client command against this daemon, its environment free of the
/// variables that steer `--pretty` (the test sets what it means to).
fn command(d: &TestDaemon, name: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(bin(name));
    command
        .args(args)
        .current_dir(&d.work)
        .env("CONDUCTOR_SERVER", &d.server)
        .env("CONDUCTOR_NO_AUTOSTART", "1")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .env("TERM", "xterm-256color");
    if let Some(token) = d.token() {
        command.env("CONDUCTOR_TOKEN", token);
    }
    command.envs(env.iter().copied());
    command
}

/// Runs a command with stdout on a pipe.
fn on_pipe(d: &TestDaemon, name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    run_command(command(d, name, args, env), None)
}

/// Whether this machine can make pseudo-terminals (a container without
/// `/dev/pts` cannot); the tests that need one say so and skip without.
fn have_pty() -> bool {
    let made = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC);
    if made.is_err() {
        eprintln!("skipping: no pseudo-terminal here (/dev/ptmx): {made:?}");
    }
    made.is_ok()
}

/// A new pseudo-terminal `columns` wide: its master, and its slave for
/// a child's stdout.
fn open_pty(columns: u16) -> (OwnedFd, OwnedFd) {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("a pseudo-terminal");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .expect("the slave side");
    let size = Winsize {
        ws_row: 40,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    tcsetwinsize(&master, size).expect("window size");
    (master, slave)
}

/// Runs a command with its stdout on a pseudo-terminal `columns` wide,
/// and returns what the terminal received (its `\r\n` read as `\n`) and
/// the exit status.
fn on_pty(command: Command, columns: u16) -> (String, i32) {
    on_pty_for(command, columns, None, None)
}

/// [`on_pty`] for a command that runs until interrupted (`-i`): it is
/// interrupted after `stop_after`, its terminal resized to `resize.1`
/// columns at `resize.0` on the way.
fn on_pty_for(
    mut command: Command,
    columns: u16,
    stop_after: Option<Duration>,
    resize: Option<(Duration, u16)>,
) -> (String, i32) {
    let (master, slave) = open_pty(columns);
    let control = master.try_clone().expect("the master again");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("command starts");
    // The command's copy of the slave is its only one now (the parent's
    // went into the Command, dropped with it below): reading the master
    // ends (EIO) when the command exits.
    drop(command);
    let reader = std::thread::spawn(move || {
        let mut master = std::fs::File::from(master);
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            match master.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            }
        }
        bytes
    });
    let mut waited = Duration::ZERO;
    if let Some((at, columns)) = resize {
        std::thread::sleep(at);
        waited = at;
        let size = Winsize {
            ws_row: 40,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        tcsetwinsize(&control, size).expect("resize");
    }
    if let Some(after) = stop_after {
        std::thread::sleep(after.saturating_sub(waited));
        signal(child.id(), "INT");
    }
    drop(control);
    let status = child.wait().expect("command runs");
    let bytes = reader.join().expect("reader");
    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
    (text, status.code().unwrap_or(-1))
}

/// The text as a terminal shows it: each ANSI escape left out.
fn shown(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == ESC {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[track_caller]
fn assert_fits(text: &str, columns: usize) {
    for line in shown(text).lines() {
        assert!(
            line.chars().count() <= columns,
            "{line:?} fits {columns} columns in:\n{text}"
        );
    }
}

#[test]
fn on_a_pipe_pretty_is_plain_and_fits_columns_when_asked() {
    let (d, running, pending) = busy_daemon();
    let out = on_pipe(&d, "cqueue", &["--pretty"], &[]);
    let text = out.ok();
    assert!(!text.contains(ESC), "no escape on a pipe: {text:?}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for header in [
        "JOBID",
        "STATE",
        "TIME_LIMIT",
        "MEM",
        "GPUS",
        "NODELIST(REASON)",
    ] {
        assert!(lines[0].contains(header), "{header} in {text}");
    }
    // squeue's sort: pending before running; names whole on a pipe.
    assert!(lines[1].starts_with(&format!("{pending} ")), "{text}");
    assert!(lines[1].contains("PENDING") && lines[1].contains(LONG_NAME));
    assert!(lines[1].ends_with("(Resources)"), "{text}");
    assert!(lines[2].starts_with(&format!("{running} ")), "{text}");
    assert!(lines[2].contains("RUNNING"), "{text}");

    let narrow = on_pipe(&d, "cqueue", &["--pretty"], &[("COLUMNS", "60")]);
    let text = narrow.ok();
    assert_fits(text, 60);
    assert!(text.contains('…'), "the long name is cut: {text}");
    assert!(!text.contains(LONG_NAME), "{text}");
    assert!(
        text.contains("PENDING") && text.contains("RUNNING"),
        "{text}"
    );

    // The default output is still squeue's.
    let plain = on_pipe(&d, "cqueue", &[], &[("COLUMNS", "60")]);
    assert!(
        plain
            .ok()
            .starts_with("             JOBID PARTITION     NAME     USER ST"),
        "{plain:?}"
    );

    let info = on_pipe(&d, "cinfo", &["--pretty"], &[]);
    let text = info.ok();
    assert!(!text.contains(ESC), "{text:?}");
    assert!(text.starts_with("PARTITION  AVAIL  TIMELIMIT  CPUS(A/I/O/T)"));
    assert!(
        text.contains("normal*") && text.contains("1/0/0/1"),
        "{text}"
    );
    assert!(text.contains("allocated"), "{text}");

    d.run("ccancel", &[&running.to_string()]).ok();
    d.wait_ended(running, SHORT);
    let history = on_pipe(&d, "cacct", &["--pretty", "-X"], &[]);
    let text = history.ok();
    assert!(!text.contains(ESC), "{text:?}");
    assert!(text.starts_with("JobID  JobName"), "{text}");
    assert!(text.contains("CANCELLED by"), "{text}");
    assert!(text.contains(LONG_NAME), "{text}");
    d.run("ccancel", &[&pending.to_string()]).ok();
}

#[test]
fn on_a_terminal_states_are_coloured_and_lines_fit_its_width() {
    if !have_pty() {
        return;
    }
    let (d, running, pending) = busy_daemon();
    let (text, code) = on_pty(command(&d, "cqueue", &["--pretty"], &[]), 200);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains(GREEN_RUNNING), "RUNNING in green: {text:?}");
    assert!(text.contains(YELLOW_PENDING), "PENDING in yellow: {text:?}");
    assert!(text.contains(LONG_NAME), "{text}");

    // The terminal's own width, read from it.
    let (text, code) = on_pty(command(&d, "cqueue", &["--pretty"], &[]), 60);
    assert_eq!(code, 0, "{text}");
    assert_fits(&text, 60);
    assert!(text.contains(GREEN_RUNNING), "{text:?}");
    assert!(text.contains('…'), "{text}");

    let (text, code) = on_pty(command(&d, "cinfo", &["--pretty"], &[]), 200);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\x1b[33mallocated\x1b[0m"), "{text:?}");

    d.run("ccancel", &[&running.to_string()]).ok();
    d.wait_ended(running, SHORT);
    let (text, code) = on_pty(command(&d, "cacct", &["--pretty", "-X"], &[]), 200);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("\x1b[90mCANCELLED by"), "grey: {text:?}");
    d.run("ccancel", &[&pending.to_string()]).ok();
}

#[test]
fn no_color_keeps_a_terminal_plain_and_always_colours_a_pipe() {
    if !have_pty() {
        return;
    }
    let (d, running, pending) = busy_daemon();
    for (binary, args) in [
        ("cqueue", &["--pretty"][..]),
        ("cinfo", &["--pretty"]),
        ("cacct", &["--pretty"]),
    ] {
        let (text, code) = on_pty(command(&d, binary, args, &[("NO_COLOR", "1")]), 200);
        assert_eq!(code, 0, "{binary}: {text}");
        assert!(!text.contains(ESC), "{binary} under NO_COLOR: {text:?}");
        assert!(text.contains("PENDING") || binary == "cinfo", "{text}");
        let (text, _) = on_pty(
            command(&d, binary, &[args, &["--color=never"]].concat(), &[]),
            200,
        );
        assert!(!text.contains(ESC), "{binary} --color=never: {text:?}");
    }
    let forced = on_pipe(&d, "cqueue", &["--pretty", "--color=always"], &[]);
    assert!(forced.ok().contains(GREEN_RUNNING), "{forced:?}");
    assert!(forced.stdout.contains(YELLOW_PENDING), "{forced:?}");
    d.run("ccancel", &[&running.to_string(), &pending.to_string()])
        .ok();
}

#[test]
fn iterating_redraws_in_place_on_a_terminal_and_appends_on_a_pipe() {
    if !have_pty() {
        return;
    }
    let (d, running, pending) = busy_daemon();
    let args = ["--pretty", "-i", "1"];
    let (text, _) = on_pty_for(
        command(&d, "cqueue", &args, &[]),
        200,
        Some(Duration::from_millis(3500)),
        Some((Duration::from_millis(1500), 60)),
    );
    let passes: Vec<&str> = text.split(CLEAR_SCREEN).collect();
    assert_eq!(passes[0], "", "each pass clears the screen first: {text:?}");
    assert!(passes.len() >= 4, "three passes or more: {text:?}");
    assert!(text.matches(GREEN_RUNNING).count() >= 3, "{text:?}");
    // Passes before the resize show the whole name; the last fits the
    // terminal's new width.
    assert!(passes[1].contains(LONG_NAME), "{text:?}");
    let last = passes[passes.len() - 1];
    assert!(!last.contains(LONG_NAME), "{text:?}");
    assert_fits(last, 60);

    let mut piped = command(&d, "cqueue", &args, &[]);
    piped.stdout(Stdio::piped()).stderr(Stdio::null());
    let child = piped.spawn().expect("cqueue starts");
    std::thread::sleep(Duration::from_millis(2500));
    signal(child.id(), "INT");
    let out = child.wait_with_output().expect("cqueue runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(ESC), "nothing but text on a pipe: {text:?}");
    let tables: Vec<&str> = text.split("\n\n").filter(|t| !t.is_empty()).collect();
    assert!(tables.len() >= 2, "successive tables: {text:?}");
    for table in tables {
        // The date line, the header, the two jobs.
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 4, "{table:?}");
        assert!(lines[1].starts_with("JOBID"), "{table:?}");
    }
    d.run("ccancel", &[&running.to_string(), &pending.to_string()])
        .ok();
}

#[test]
fn pretty_beside_a_slurm_layout_is_one_clear_line() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    for (binary, args, other) in [
        ("cqueue", &["--pretty", "-o", "%i"][..], "--format"),
        ("cqueue", &["--json", "--pretty"], "--json"),
        ("cinfo", &["--pretty", "-O", "partition"], "--Format"),
        ("cacct", &["--pretty", "-P"], "--parsable2"),
    ] {
        let out = d.run(binary, args);
        let line = out.fails_with_one_line();
        assert!(
            line.starts_with(&format!("{binary}: error: ")) && line.contains("--pretty"),
            "{line}"
        );
        assert!(line.contains(other), "{line}");
    }
    let out = d.run("cqueue", &["--color=always"]);
    assert!(out.fails_with_one_line().contains("--pretty"), "{out:?}");
}
