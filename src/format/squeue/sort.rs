//! `-S/--sort`: the keys, the `JobInfo` fields each reads, and the order
//! they put lines in (squeue's `sort.c`).

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::protocol::{JobField, JobInfo, JobState};

use super::rows::{ROW_NEEDS, Row, elapsed};

/// One `-S/--sort` key: a field letter, ascending unless prefixed with `-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub letter: char,
    pub descending: bool,
}

/// Letters squeue sorts by; `b c f h n O` and `cluster` are accepted and
/// change nothing, as in squeue.
pub(super) const SORT_LETTERS: &str = "BCdDegGHiIjJlLmMNpPQStTuUvVzbcfhnO";

/// Parses a `-S` list such as `P,t,-p` or `-i`; the error is the first
/// letter that is not a sort key.
pub fn parse_sort(text: &str) -> Result<Vec<SortKey>, char> {
    let mut keys = Vec::new();
    let mut descending = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if rest.len() >= 7 && rest[..7].eq_ignore_ascii_case("cluster") {
            rest = &rest[7..];
            descending = false;
            continue;
        }
        rest = &rest[c.len_utf8()..];
        match c {
            ',' | '+' => descending = false,
            '-' => descending = true,
            c if SORT_LETTERS.contains(c) => {
                keys.push(SortKey {
                    letter: c,
                    descending,
                });
                descending = false;
            }
            other => return Err(other),
        }
    }
    Ok(keys)
}

/// The `JobInfo` fields sorting by `letter` reads.
pub fn sort_needs(letter: char) -> &'static [JobField] {
    use JobField as J;
    match letter {
        'B' | 'N' => &[J::Node],
        'C' => &[J::Cpus],
        'e' => &[J::EndTime],
        'g' | 'G' => &[J::Gid],
        'i' => ROW_NEEDS,
        'j' => &[J::Name],
        'l' => &[J::TimeLimit],
        'L' => &[J::TimeLimit, J::State, J::StartTime, J::EndTime],
        'm' => &[J::MemoryMb],
        'M' => &[J::State, J::StartTime, J::EndTime],
        'p' | 'Q' => &[J::Priority],
        'P' => &[J::Partition],
        'S' => super::start::SORT_NEEDS,
        't' | 'T' => &[J::State],
        'u' => &[J::User],
        'U' => &[J::Uid],
        'V' => &[J::SubmitTime],
        _ => &[],
    }
}

/// Sorts lines by the keys, the first key first; lines equal on every key
/// keep job id order.
pub fn sort_rows(rows: &mut [Row<'_>], keys: &[SortKey], now: DateTime<Utc>) {
    rows.sort_by(|a, b| {
        keys.iter()
            .map(|key| {
                let order = compare(key.letter, a, b, now);
                if key.descending {
                    order.reverse()
                } else {
                    order
                }
            })
            .find(|order| order.is_ne())
            .unwrap_or_else(|| a.sort_id().cmp(&b.sort_id()))
    });
}

fn compare(letter: char, a: &Row<'_>, b: &Row<'_>, now: DateTime<Utc>) -> Ordering {
    let (x, y) = (a.job, b.job);
    // A missing limit is INFINITE in squeue, which sorts after every limit.
    let limit = |job: &JobInfo| job.time_limit.unwrap_or(u64::MAX);
    let left = |job: &JobInfo| {
        job.time_limit
            .map_or(i64::MAX, |l| l as i64 - elapsed(job, now))
    };
    // squeue: no start time sorts last; a pending job's past start is now.
    let start = |job: &JobInfo| match super::start::start_time(job) {
        None => now + chrono::Duration::seconds(100),
        Some(start) if job.state == JobState::Pending && start < now => now,
        Some(start) => start,
    };
    let group = |job: &JobInfo| {
        uzers::get_group_by_gid(job.gid)
            .map(|g| g.name().to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    match letter {
        'B' | 'N' => x.node.cmp(&y.node),
        'C' => x.cpus.cmp(&y.cpus),
        'e' => x.end_time.cmp(&y.end_time),
        'g' => group(x).cmp(&group(y)),
        'G' => x.gid.cmp(&y.gid),
        'i' => a.sort_id().cmp(&b.sort_id()),
        'j' => x.name.cmp(&y.name),
        'l' => limit(x).cmp(&limit(y)),
        'L' => left(x).cmp(&left(y)),
        'm' => x.memory_mb.cmp(&y.memory_mb),
        'M' => elapsed(x, now).cmp(&elapsed(y, now)),
        'p' | 'Q' => x.priority.cmp(&y.priority),
        'P' => x.partition.cmp(&y.partition),
        'S' => start(x).cmp(&start(y)),
        't' => x.state.short().cmp(y.state.short()),
        'T' => x.state.long().cmp(y.state.long()),
        'u' => x.user.cmp(&y.user),
        'U' => x.uid.cmp(&y.uid),
        'V' => x.submit_time.cmp(&y.submit_time),
        _ => Ordering::Equal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::squeue::test_jobs::{job, now, pending, task};
    use crate::format::squeue::{DEFAULT_SORT, rows};

    #[test]
    fn sort_keys_parse_with_their_direction() {
        let key = |letter, descending| SortKey { letter, descending };
        assert_eq!(
            parse_sort(DEFAULT_SORT),
            Ok(vec![key('P', false), key('t', false), key('p', true)])
        );
        assert_eq!(
            parse_sort("-i,+j"),
            Ok(vec![key('i', true), key('j', false)])
        );
        assert_eq!(parse_sort("cluster,-V"), Ok(vec![key('V', true)]));
        assert_eq!(parse_sort("i,x"), Err('x'));
    }

    #[test]
    fn the_default_sort_puts_pending_first_then_priority() {
        let mut high = pending(3);
        high.priority = 10;
        let low = pending(2);
        let run = job();
        let jobs = vec![run, low, high];
        let mut lines = rows(&jobs, false);
        sort_rows(&mut lines, &parse_sort(DEFAULT_SORT).expect("valid"), now());
        let ids: Vec<u64> = lines.iter().map(|r| r.job.job_id.0).collect();
        assert_eq!(ids, vec![3, 2, 1234]);

        let mut lines = rows(&jobs, false);
        sort_rows(&mut lines, &parse_sort("-i").expect("valid"), now());
        let ids: Vec<u64> = lines.iter().map(|r| r.job.job_id.0).collect();
        assert_eq!(ids, vec![1234, 3, 2]);
    }

    #[test]
    fn sorting_by_array_id_keeps_tasks_in_index_order() {
        let jobs = vec![task(40, 12, 2), pending(13), task(12, 12, 10)];
        let mut lines = rows(&jobs, true);
        sort_rows(&mut lines, &parse_sort("i").expect("valid"), now());
        let ids: Vec<String> = lines.iter().map(|r| r.job.display_id()).collect();
        assert_eq!(ids, vec!["12_2", "12_10", "13"]);
    }
}
