//! squeue's output, byte for byte: the `-o/--format` letters, the
//! `-O/--Format` long names, the combining of pending array tasks into one
//! line, and the `-S/--sort` keys. Scripts parse these columns, so this is a
//! small fixed-width renderer of our own, written after squeue's `print.c`,
//! `opts.c` and `sort.c`.
//!
//! A `-o` format is literal text with `%[.][width]<letter>` fields. A width
//! pads; a `.` right-justifies. Like squeue's `_print_str`, a left-justified
//! field is always cut to its width, a right-justified one too except for
//! times and node lists. An unknown letter is printed as it was written and
//! reported. A `-O` format is a comma list of `name[:[.][width][suffix]]`
//! with a default width of 20 and no separator between fields.
//!
//! The parts: `fields` (the catalogue, and how one field renders), `rows`
//! (which jobs make which lines), `layout` (formats, widths and headers)
//! `sort` (the `-S` keys) and `start` (what START_TIME shows, backfill's
//! expected start included); this module re-exports what callers use.

mod fields;
mod layout;
mod rows;
mod sort;
mod start;
#[cfg(test)]
mod test_jobs;

pub use fields::Field;
pub use layout::Format;
pub use rows::{ROW_NEEDS, Row, rows};
pub use sort::{SortKey, parse_sort, sort_needs, sort_rows};

/// squeue's default format.
pub const DEFAULT: &str = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R";
/// squeue's `-l/--long` format.
pub const LONG: &str = "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R";
/// squeue's `--start` format.
pub const START: &str = "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %20Y %R";
/// squeue's format with `--only-job-state`: the id and the state only.
pub const ONLY_STATE: &str = "%.18i %.2t";
/// squeue's default sort: partition, compact state, priority (highest first).
pub const DEFAULT_SORT: &str = "P,t,-p";
/// The cluster name squeue's `Cluster` field shows (`SLURM_CLUSTER_NAME` in jobs).
pub const CLUSTER_NAME: &str = "conductor";

#[cfg(test)]
mod tests {
    use super::fields::FIELDS;
    use super::layout::Item;
    use super::sort::SORT_LETTERS;
    use super::test_jobs::{now, varied_jobs};
    use super::*;
    use crate::protocol::{FieldSet, JobId, JobInfo};

    /// The job as a listing limited to `fields` delivers it.
    fn only(job: &JobInfo, fields: FieldSet) -> JobInfo {
        let serde_json::Value::Object(all) = serde_json::to_value(job).expect("encodes") else {
            panic!("a job is an object");
        };
        let kept = all
            .into_iter()
            .filter(|(key, _)| fields.iter().any(|field| field.name() == key))
            .collect();
        serde_json::from_value(serde_json::Value::Object(kept)).expect("decodes")
    }

    #[test]
    fn each_column_and_sort_key_reads_only_the_fields_it_names() {
        let jobs = varied_jobs();
        for (field, ..) in FIELDS {
            let mut needs: FieldSet = field.needs().iter().copied().collect();
            needs.extend(ROW_NEEDS.iter().copied());
            let limited: Vec<JobInfo> = jobs.iter().map(|job| only(job, needs)).collect();
            let format = Format {
                items: vec![Item::Field {
                    field: *field,
                    width: 0,
                    right: false,
                }],
            };
            for one_per_task in [false, true] {
                let lines = |jobs| -> Vec<String> {
                    rows(jobs, one_per_task)
                        .iter()
                        .map(|row| format.row(row, now()))
                        .collect()
                };
                assert_eq!(lines(&limited), lines(&jobs), "{field:?}");
            }
        }
        for letter in SORT_LETTERS.chars() {
            let mut needs: FieldSet = sort_needs(letter).iter().copied().collect();
            needs.extend(ROW_NEEDS.iter().copied());
            let limited: Vec<JobInfo> = jobs.iter().map(|job| only(job, needs)).collect();
            for descending in [false, true] {
                let key = [SortKey { letter, descending }];
                let order = |jobs| -> Vec<JobId> {
                    let mut lines = rows(jobs, true);
                    sort_rows(&mut lines, &key, now());
                    lines.iter().map(|row| row.job.job_id).collect()
                };
                assert_eq!(order(&limited), order(&jobs), "sort by {letter}");
            }
        }
    }
}
