//! The daemon's log: one line per job event on stderr.

use std::fmt;

/// Writes one line about a job event (or the daemon) to stderr, in one
/// write: stderr is unbuffered, and `eprintln!` would make a system call
/// of each piece of the line while a client waits for its reply.
///
/// Lines carry what users supply (job names, paths, reasons built from
/// them): control characters are escaped, so no user can end a line and
/// forge the next one.
pub(crate) fn log(line: fmt::Arguments<'_>) {
    use std::io::Write;
    let now = chrono::Local::now().format("%Y-%m-%dT%H:%M:%S%.3f");
    let text = format!("{now} conductord: {}\n", escape_controls(&line.to_string()));
    let _ = std::io::stderr().write_all(text.as_bytes());
}

/// `text` with every control character (newline, carriage return, escape,
/// ...) written as a Rust escape (`\n`, `\u{1b}`), and backslashes doubled
/// so that an escape in the log always means an escaped character.
pub(crate) fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || c == '\\') {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() || c == '\\' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::escape_controls;

    #[test]
    fn user_text_cannot_break_a_log_line() {
        assert_eq!(escape_controls("job 1 ended"), "job 1 ended");
        assert_eq!(
            escape_controls("a\n2026-12-01 conductord: job 9 ended COMPLETED"),
            "a\\n2026-12-01 conductord: job 9 ended COMPLETED"
        );
        assert_eq!(escape_controls("x\r\u{1b}[2J"), "x\\r\\u{1b}[2J");
        assert_eq!(escape_controls("back\\slash"), "back\\\\slash");
        assert_eq!(escape_controls("naïve ünïcode"), "naïve ünïcode");
    }
}
