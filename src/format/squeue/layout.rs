//! `-o` and `-O` formats: parsing them, and laying their fields out at
//! their widths and justification, for the header and for each line, as
//! squeue's `_print_str` does.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::protocol::JobField;

use super::fields::Field;
use super::rows::Row;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    Text(String),
    Field {
        field: Field,
        width: usize,
        right: bool,
    },
}

/// A parsed `-o` or `-O` format.
#[derive(Debug, Clone, PartialEq)]
pub struct Format {
    pub(super) items: Vec<Item>,
}

impl Format {
    /// Parses a `-o` format; the second value lists the letters that are
    /// not fields (kept literally, to be reported by the caller). `%all`
    /// alone is every letter, `|`-separated.
    pub fn parse(text: &str) -> (Format, Vec<String>) {
        if text.eq_ignore_ascii_case("%all") {
            let letters = ('a'..='z').chain('A'..='Z');
            let all: Vec<String> = letters.map(|letter| format!("%{letter}")).collect();
            return Format::parse(&all.join("|"));
        }
        let mut items = Vec::new();
        let mut invalid = Vec::new();
        let mut pieces = text.split('%');
        if let Some(prefix) = pieces.next().filter(|p| !p.is_empty()) {
            items.push(Item::Text(prefix.to_string()));
        }
        // squeue splits on runs of '%' (strtok), so empty pieces vanish.
        for token in pieces.filter(|p| !p.is_empty()) {
            let right = token.starts_with('.');
            let spec = if right { &token[1..] } else { token };
            let digits = spec.len() - spec.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            let width = spec[..digits].parse().unwrap_or(0);
            let rest = &spec[digits..];
            let mut chars = rest.chars();
            let letter = chars.next();
            match letter.and_then(Field::from_letter) {
                Some(field) => {
                    items.push(Item::Field {
                        field,
                        width,
                        right,
                    });
                    let suffix = chars.as_str();
                    if !suffix.is_empty() {
                        items.push(Item::Text(suffix.to_string()));
                    }
                }
                None => {
                    invalid.push(letter.map(String::from).unwrap_or_default());
                    items.push(Item::Text(format!("%{token}")));
                }
            }
        }
        (Format { items }, invalid)
    }

    /// Parses a `-O` format, `name[:[.][width][suffix]],...`; the second
    /// value lists the names that are not fields (they print nothing).
    pub fn parse_long(text: &str) -> (Format, Vec<String>) {
        let mut items = Vec::new();
        let mut invalid = Vec::new();
        for token in text.split(',').filter(|t| !t.is_empty()) {
            let (name, width, right, suffix) = match token.split_once(':') {
                None => (token, 20, false, ""),
                Some((name, spec)) => {
                    let right = spec.starts_with('.');
                    let spec = if right { &spec[1..] } else { spec };
                    let digits =
                        spec.len() - spec.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                    (
                        name,
                        spec[..digits].parse().unwrap_or(0),
                        right,
                        &spec[digits..],
                    )
                }
            };
            match Field::from_name(name) {
                Some(field) => items.push(Item::Field {
                    field,
                    width,
                    right,
                }),
                None => invalid.push(name.to_string()),
            }
            if !suffix.is_empty() {
                items.push(Item::Text(suffix.to_string()));
            }
        }
        (Format { items }, invalid)
    }

    /// The header line.
    pub fn header(&self) -> String {
        self.render(|field| (field.header().into(), field.header_cut()))
    }

    /// One line.
    pub fn row(&self, row: &Row<'_>, now: DateTime<Utc>) -> String {
        let mut line = String::new();
        self.write_row(&mut line, &mut String::new(), row, now);
        line
    }

    /// Appends one job's line, without its newline, to `out`. `scratch`
    /// holds the text of a computed column (ids, times, reasons) on its
    /// way into the line: kept by the caller from line to line, it spares
    /// each line an allocation per such column.
    pub fn write_row(
        &self,
        out: &mut String,
        scratch: &mut String,
        row: &Row<'_>,
        now: DateTime<Utc>,
    ) {
        for item in &self.items {
            match item {
                Item::Text(text) => out.push_str(text),
                Item::Field {
                    field,
                    width,
                    right,
                } => {
                    scratch.clear();
                    if let Some(cut) = field.write_value(row, now, scratch) {
                        pad(out, scratch, *width, *right, cut);
                    } else {
                        let (text, cut) = field.value(row, now);
                        pad(out, &text, *width, *right, cut);
                    }
                }
            }
        }
    }

    /// The `JobInfo` fields this format's columns read.
    pub fn needs(&self) -> impl Iterator<Item = JobField> + '_ {
        self.items
            .iter()
            .filter_map(|item| match item {
                Item::Field { field, .. } => Some(field.needs()),
                Item::Text(_) => None,
            })
            .flatten()
            .copied()
    }

    fn render<'a>(&self, cell: impl FnMut(Field) -> (Cow<'a, str>, bool)) -> String {
        let mut line = String::new();
        self.render_into(&mut line, cell);
        line
    }

    fn render_into<'a>(
        &self,
        line: &mut String,
        mut cell: impl FnMut(Field) -> (Cow<'a, str>, bool),
    ) {
        for item in &self.items {
            match item {
                Item::Text(text) => line.push_str(text),
                Item::Field {
                    field,
                    width,
                    right,
                } => {
                    let (text, cut) = cell(*field);
                    pad(line, &text, *width, *right, cut);
                }
            }
        }
    }
}

/// squeue's `_print_str`: a width pads; a left-justified field is always
/// cut to it, a right-justified one only when `cut`.
fn pad(line: &mut String, text: &str, width: usize, right: bool, cut: bool) {
    if width == 0 {
        line.push_str(text);
        return;
    }
    let keep = right && !cut;
    // Most text is ASCII: its characters are its bytes, looked at once.
    let (text, chars) = if text.is_ascii() {
        let text = if keep {
            text
        } else {
            &text[..text.len().min(width)]
        };
        (text, text.len())
    } else {
        let text = if keep {
            text
        } else {
            // The first `width` characters.
            text.char_indices()
                .nth(width)
                .map_or(text, |(end, _)| &text[..end])
        };
        (text, text.chars().count())
    };
    let fill = width.saturating_sub(chars);
    if right {
        spaces(line, fill);
        line.push_str(text);
    } else {
        line.push_str(text);
        spaces(line, fill);
    }
}

/// Appends `count` spaces.
fn spaces(line: &mut String, mut count: usize) {
    const SPACES: &str = "                                ";
    while count > 0 {
        let n = count.min(SPACES.len());
        line.push_str(&SPACES[..n]);
        count -= n;
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::format::squeue::test_jobs::{header, job, now, render};
    use crate::format::squeue::{DEFAULT, LONG};
    use crate::protocol::{JobState, Reason};

    #[test]
    fn the_default_layout_matches_squeue() {
        let (format, invalid) = Format::parse(DEFAULT);
        assert!(invalid.is_empty());
        assert_eq!(
            format.header(),
            "             JOBID PARTITION     NAME     USER ST       TIME  NODES NODELIST(REASON)"
        );
        assert_eq!(
            format.row(&Row::single(&job()), now()),
            "              1234    normal averyver    alice  R       0:05      1 box"
        );
    }

    #[test]
    fn the_long_layout_cuts_the_time_limit_header() {
        assert_eq!(
            header(LONG),
            "             JOBID PARTITION     NAME     USER    STATE       TIME TIME_LIMI  NODES NODELIST(REASON)"
        );
        assert_eq!(
            render(LONG, &job()),
            "              1234    normal averyver    alice  RUNNING       0:05   1:00:00      1 box"
        );
    }

    #[test]
    fn separators_are_copied_and_pending_jobs_show_their_reason() {
        let mut pending = job();
        pending.state = JobState::Pending;
        pending.reason = Reason::Resources;
        assert_eq!(
            render("%i|%T %t %R", &pending),
            "1234|PENDING PD (Resources)"
        );
        assert_eq!(render("id=%i.", &pending), "id=1234.");
        assert_eq!(header("id=%i."), "id=JOBID.");
    }

    #[test]
    fn widths_without_a_dot_left_justify_and_always_cut() {
        assert_eq!(render("%5t|%3C|%.4m", &job()), "R    |2  |  4G");
        assert_eq!(render("%3j|%.3j|%0j", &job()), "ave|ave|averyverylongname");
    }

    #[test]
    fn right_justified_times_and_nodes_are_never_cut() {
        let mut long = job();
        long.start_time = DateTime::from_timestamp(1_005 - 754, 0);
        assert_eq!(render("%.2M|%2M|%.1N|%.1R", &long), "12:34|12|box|box");
        assert_eq!(header("%.4R|%4R|%.4N"), "NODELIST(REASON)|NODE|NODELIST");
    }

    #[test]
    fn unknown_letters_stay_literal_and_are_reported() {
        let (format, invalid) = Format::parse("a%-10jb%");
        assert_eq!(invalid, vec!["-".to_string()]);
        assert_eq!(format.row(&Row::single(&job()), now()), "a%-10jb");
        let (format, invalid) = Format::parse("%i %5! x");
        assert_eq!(invalid, vec!["!".to_string()]);
        assert_eq!(format.header(), "JOBID %5! x");
    }

    #[test]
    fn long_names_pad_to_twenty_without_separators() {
        let (format, invalid) = Format::parse_long("JobID,state,REASONLIST");
        assert!(invalid.is_empty());
        assert_eq!(
            format.header(),
            "JOBID               STATE               NODELIST(REASON)    "
        );
        assert_eq!(
            format.row(&Row::single(&job()), now()),
            "1234                RUNNING             box                 "
        );
    }

    #[test]
    fn long_names_take_widths_justification_and_suffixes() {
        let (format, invalid) = Format::parse_long("jobid:.8 ,name:5|,numtasks,bogus:3,timeused:0");
        assert_eq!(invalid, vec!["bogus".to_string()]);
        assert_eq!(format.header(), "   JOBID NAME |TASKS               TIME");
        assert_eq!(
            format.row(&Row::single(&job()), now()),
            "    1234 avery|1                   0:05"
        );
    }
}
