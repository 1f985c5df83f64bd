//! squeue's `-o/--format` language, rendered byte for byte: scripts parse
//! these columns, so this is a small fixed-width renderer of our own.
//!
//! A format is literal text with `%[.][width]<letter>` fields. A width pads
//! and truncates; a `.` right-justifies. An unknown letter is printed as it
//! was written and reported, as squeue does.

use chrono::{DateTime, Local, Utc};

use crate::format::duration::{format_limit, format_squeue};
use crate::format::memory::format_memory_mb;
use crate::protocol::{JobInfo, JobState};

/// squeue's default format.
pub const DEFAULT: &str = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R";
/// squeue's `-l/--long` format.
pub const LONG: &str = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R";

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Text(String),
    Field {
        letter: char,
        width: Option<usize>,
        right: bool,
    },
}

/// A parsed format.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    items: Vec<Item>,
}

impl Format {
    /// Parses a format; the second value lists the letters that are not
    /// fields (kept literally, to be reported by the caller).
    pub fn parse(text: &str) -> (Format, Vec<String>) {
        let mut items = Vec::new();
        let mut invalid = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(percent) = rest.find('%') {
            literal.push_str(&rest[..percent]);
            let spec = &rest[percent + 1..];
            let right = spec.starts_with('.');
            let after_dot = if right { &spec[1..] } else { spec };
            let digits = after_dot.len()
                - after_dot
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            let width = after_dot[..digits].parse().ok();
            let consumed = usize::from(right) + digits;
            match spec[consumed..].chars().next() {
                Some(letter) if header(letter).is_some() => {
                    if !literal.is_empty() {
                        items.push(Item::Text(std::mem::take(&mut literal)));
                    }
                    items.push(Item::Field {
                        letter,
                        width,
                        right,
                    });
                    rest = &spec[consumed + letter.len_utf8()..];
                }
                Some(other) => {
                    let end = consumed + other.len_utf8();
                    literal.push('%');
                    literal.push_str(&spec[..end]);
                    invalid.push(other.to_string());
                    rest = &spec[end..];
                }
                None => {
                    literal.push('%');
                    literal.push_str(spec);
                    invalid.push(spec.to_string());
                    rest = "";
                }
            }
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            items.push(Item::Text(literal));
        }
        (Format { items }, invalid)
    }

    /// The header line.
    pub fn header(&self) -> String {
        self.render(
            |letter| header(letter).unwrap_or_default().to_string(),
            true,
        )
    }

    /// One job's line.
    pub fn row(&self, job: &JobInfo, now: DateTime<Utc>) -> String {
        self.render(|letter| value(letter, job, now), false)
    }

    fn render(&self, mut field: impl FnMut(char) -> String, is_header: bool) -> String {
        let mut line = String::new();
        for item in &self.items {
            match item {
                Item::Text(text) => line.push_str(text),
                Item::Field {
                    letter,
                    width,
                    right,
                } => {
                    let text = field(*letter);
                    // squeue never cuts the NODELIST(REASON) header.
                    let keep_whole = is_header && *letter == 'R';
                    match width {
                        Some(width) => pad(&mut line, &text, *width, *right, keep_whole),
                        None => line.push_str(&text),
                    }
                }
            }
        }
        line
    }
}

fn pad(line: &mut String, text: &str, width: usize, right: bool, keep_whole: bool) {
    let text: String = if keep_whole {
        text.to_string()
    } else {
        text.chars().take(width).collect()
    };
    let fill = width.saturating_sub(text.chars().count());
    if right {
        line.extend(std::iter::repeat_n(' ', fill));
        line.push_str(&text);
    } else {
        line.push_str(&text);
        line.extend(std::iter::repeat_n(' ', fill));
    }
}

/// The header of a field letter; `None` for letters that are not fields.
fn header(letter: char) -> Option<&'static str> {
    Some(match letter {
        'i' | 'A' => "JOBID",
        'F' => "ARRAY_JOB_ID",
        'K' => "ARRAY_TASK_ID",
        'j' => "NAME",
        'u' => "USER",
        'U' => "UID",
        'a' => "ACCOUNT",
        't' => "ST",
        'T' => "STATE",
        'M' => "TIME",
        'l' => "TIME_LIMIT",
        'L' => "TIME_LEFT",
        'D' => "NODES",
        'C' => "CPUS",
        'c' => "MIN_CPUS",
        'm' => "MIN_MEMORY",
        'b' => "TRES_PER_NODE",
        'R' => "NODELIST(REASON)",
        'r' => "REASON",
        'N' => "NODELIST",
        'P' => "PARTITION",
        'V' => "SUBMIT_TIME",
        'S' => "START_TIME",
        'e' => "END_TIME",
        'Z' => "WORK_DIR",
        'Q' => "PRIORITY",
        'q' => "QOS",
        'E' => "DEPENDENCY",
        'y' => "NICE",
        _ => return None,
    })
}

fn value(letter: char, job: &JobInfo, now: DateTime<Utc>) -> String {
    let node = || job.node.clone().unwrap_or_default();
    match letter {
        'i' | 'A' | 'F' => job.job_id.to_string(),
        'K' => "N/A".into(),
        'j' => job.name.clone(),
        'u' => job.user.clone(),
        'U' => job.uid.to_string(),
        'a' => "(null)".into(),
        't' => job.state.short().into(),
        'T' => job.state.long().into(),
        'M' => format_squeue(elapsed(job, now)),
        'l' => format_limit(job.time_limit),
        'L' => match (job.time_limit, job.state) {
            (None, _) => "UNLIMITED".into(),
            (Some(limit), _) => format_squeue(limit.saturating_sub(elapsed(job, now))),
        },
        'D' => "1".into(),
        'C' => job.cpus.to_string(),
        'c' => job.cpus_per_task.to_string(),
        'm' => format_memory_mb(job.memory_mb),
        'b' => match job.gpus {
            0 => "N/A".into(),
            n => format!("gres/gpu:{n}"),
        },
        'R' => match job.state {
            JobState::Pending | JobState::Failed | JobState::Timeout => {
                format!("({})", job.reason)
            }
            _ => node(),
        },
        'r' => job.reason.to_string(),
        'N' => node(),
        'P' => job.partition.clone(),
        'V' => timestamp(Some(job.submit_time)),
        'S' => timestamp(job.start_time),
        'e' => match (job.end_time, job.start_time, job.time_limit) {
            (Some(end), _, _) => timestamp(Some(end)),
            (None, Some(start), Some(limit)) => {
                timestamp(Some(start + chrono::Duration::seconds(limit as i64)))
            }
            _ => "N/A".into(),
        },
        'Z' => job.work_dir.display().to_string(),
        'Q' => "0".into(),
        'q' => "normal".into(),
        'E' => "(null)".into(),
        'y' => "0".into(),
        _ => String::new(),
    }
}

/// Seconds the job has run: none while pending, up to now while running.
fn elapsed(job: &JobInfo, now: DateTime<Utc>) -> u64 {
    match (job.start_time, job.end_time) {
        (Some(start), Some(end)) => (end - start).num_seconds().max(0) as u64,
        (Some(start), None) => (now - start).num_seconds().max(0) as u64,
        _ => 0,
    }
}

/// Slurm's timestamp: local time, ISO 8601 without a zone; `N/A` if unset.
pub fn timestamp(time: Option<DateTime<Utc>>) -> String {
    time.map_or_else(
        || "N/A".into(),
        |t| {
            t.with_timezone(&Local)
                .format("%Y-%m-%dT%H:%M:%S")
                .to_string()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{JobId, Reason};

    fn job() -> JobInfo {
        JobInfo {
            job_id: JobId(1234),
            name: "averyverylongname".into(),
            user: "alice".into(),
            uid: 1000,
            partition: "normal".into(),
            state: JobState::Running,
            reason: Reason::None,
            cpus: 2,
            ntasks: 1,
            cpus_per_task: 2,
            memory_mb: 4096,
            gpus: 0,
            cpu_ids: vec![0, 1],
            gpu_ids: vec![],
            node: Some("box".into()),
            submit_time: DateTime::from_timestamp(1_000, 0).expect("valid"),
            start_time: DateTime::from_timestamp(1_000, 0),
            end_time: None,
            time_limit: Some(3600),
            exit_code: None,
            work_dir: "/tmp".into(),
            stdout: "/tmp/slurm-1234.out".into(),
            stderr: "/tmp/slurm-1234.out".into(),
            stdin: "/dev/null".into(),
            gid: 1000,
            submit_dir: "/tmp".into(),
            command: None,
            array_job_id: None,
            array_task_id: None,
            array_max_running: None,
            dependency: None,
            begin_time: None,
            priority: 0,
            nice: 0,
            restarts: 0,
            cancelled_by: None,
            exclusive: false,
            memory_per_cpu_mb: None,
            max_rss_kb: None,
            comment: None,
            account: None,
            qos: None,
            wckey: None,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_005, 0).expect("valid")
    }

    #[test]
    fn the_default_layout_matches_squeue() {
        let (format, invalid) = Format::parse(DEFAULT);
        assert!(invalid.is_empty());
        assert_eq!(
            format.header(),
            "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)"
        );
        assert_eq!(
            format.row(&job(), now()),
            "              1234    normal averyver    alice  R       0:05      1 box"
        );
    }

    #[test]
    fn separators_are_copied_and_pending_jobs_show_their_reason() {
        let (format, _) = Format::parse("%i|%T %t %R");
        let mut pending = job();
        pending.state = JobState::Pending;
        pending.reason = Reason::Resources;
        assert_eq!(format.row(&pending, now()), "1234|PENDING PD (Resources)");
    }

    #[test]
    fn widths_without_a_dot_left_justify() {
        let (format, _) = Format::parse("%5t|%3C|%.4m");
        assert_eq!(format.row(&job(), now()), "R    |2  |  4G");
    }

    #[test]
    fn unknown_letters_stay_literal_and_are_reported() {
        let (format, invalid) = Format::parse("a%-10jb%");
        assert_eq!(invalid, vec!["-".to_string(), String::new()]);
        assert_eq!(format.row(&job(), now()), "a%-10jb%");
    }
}
