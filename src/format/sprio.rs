//! sprio's output: its `%` format language (`%[.][width]letter`, text
//! around the fields kept), its default and long layouts, and its three
//! kinds of line: the header, the weights line (`-w`), one line per job.
//! As in sprio, a job whose priority an administrator set shows 0 for each
//! factor, and factors Conductor has no use for (QOS, association, TRES)
//! show their weight of 0. The layouts, the priority's arithmetic and the
//! handling of a bad `%` letter are those of live Slurm 22.05 (checked by
//! `tests/differential/scenarios-multifactor`); `%o` (account) and `%n`
//! (QOS name) are newer sprio's, which 22.05 refuses.

use crate::error::Error;
use crate::protocol::{JobPriority, PriorityWeights};

/// One `%` field of a format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// `%i`
    JobId,
    /// `%r`
    Partition,
    /// `%u`
    User,
    /// `%o`
    Account,
    /// `%c`
    Cluster,
    /// `%y`: the priority over 2^32 - 1.
    PriorityNormalized,
    /// `%Y`
    Priority,
    /// `%S`
    Site,
    /// `%a`, `%A`
    Age { weighted: bool },
    /// `%b`, `%B`: association (no associations here).
    Assoc { weighted: bool },
    /// `%f`, `%F`
    FairShare { weighted: bool },
    /// `%j`, `%J`
    JobSize { weighted: bool },
    /// `%p`, `%P`
    PartitionFactor { weighted: bool },
    /// `%q`, `%Q`: QOS (no QOS weights here).
    Qos { weighted: bool },
    /// `%n`
    QosName,
    /// `%N`
    Nice,
    /// `%t`, `%T`
    Tres { weighted: bool },
}

impl Field {
    fn from_letter(letter: char) -> Option<Field> {
        let weighted = letter.is_ascii_uppercase();
        Some(match letter {
            'i' => Field::JobId,
            'r' => Field::Partition,
            'u' => Field::User,
            'o' => Field::Account,
            'c' => Field::Cluster,
            'y' => Field::PriorityNormalized,
            'Y' => Field::Priority,
            'S' => Field::Site,
            'a' | 'A' => Field::Age { weighted },
            'b' | 'B' => Field::Assoc { weighted },
            'f' | 'F' => Field::FairShare { weighted },
            'j' | 'J' => Field::JobSize { weighted },
            'p' | 'P' => Field::PartitionFactor { weighted },
            'q' | 'Q' => Field::Qos { weighted },
            'n' => Field::QosName,
            'N' => Field::Nice,
            't' | 'T' => Field::Tres { weighted },
            _ => return None,
        })
    }

    fn header(self) -> &'static str {
        match self {
            Field::JobId => "JOBID",
            Field::Partition => "PARTITION",
            Field::User => "USER",
            Field::Account => "ACCOUNT",
            Field::Cluster => "CLUSTER",
            Field::PriorityNormalized | Field::Priority => "PRIORITY",
            Field::Site => "SITE",
            Field::Age { .. } => "AGE",
            Field::Assoc { .. } => "ASSOC",
            Field::FairShare { .. } => "FAIRSHARE",
            Field::JobSize { .. } => "JOBSIZE",
            Field::PartitionFactor { .. } => "PARTITION",
            Field::Qos { .. } => "QOS",
            Field::QosName => "QOSNAME",
            Field::Nice => "NICE",
            Field::Tres { .. } => "TRES",
        }
    }

    /// What the weights line (`-w`) shows.
    fn weight(self, weights: &PriorityWeights) -> String {
        let weight = |w: u32| w.to_string();
        match self {
            Field::JobId => "Weights".into(),
            Field::Site => "1".into(),
            Field::Age { .. } => weight(weights.age),
            Field::FairShare { .. } => weight(weights.fair_share),
            Field::JobSize { .. } => weight(weights.job_size),
            Field::PartitionFactor { .. } => weight(weights.partition),
            Field::Assoc { .. } | Field::Qos { .. } => "0".into(),
            // sprio prints its TRES weights string, which is NULL unless
            // PriorityWeightTRES is set.
            Field::Tres { weighted: true } => "(null)".into(),
            _ => String::new(),
        }
    }

    fn value(self, job: &JobPriority, weights: &PriorityWeights, cluster: &str) -> String {
        // A factor: normalized with 7 decimals, or weighted and rounded;
        // 0 for a job whose priority was set by hand.
        // A factor: weighted and rounded, or normalized with 7 decimals
        // (0 without a weight); 0 for a job whose priority was set by hand,
        // whose factors slurmctld zeroes.
        let factor = |weighted: bool, value: f64, weight: u32| {
            let value = if job.fixed { 0.0 } else { value };
            if weighted {
                format!("{:.0}", value * f64::from(weight))
            } else if weight == 0 {
                format!("{:.7}", 0.0)
            } else {
                format!("{value:.7}")
            }
        };
        match self {
            Field::JobId => job.job_id.to_string(),
            Field::Partition => job.partition.clone(),
            Field::User => job.user.clone(),
            Field::Account => job.account.clone(),
            Field::Cluster => cluster.to_string(),
            Field::PriorityNormalized if job.fixed => format!("{:16.14}", job.priority as f64),
            Field::PriorityNormalized => {
                format!("{:16.14}", from_factors(job, weights) / f64::from(u32::MAX))
            }
            Field::Priority if job.fixed => job.priority.to_string(),
            // `(long long)` of the sum: cut, not rounded.
            Field::Priority => (from_factors(job, weights) as i64).to_string(),
            Field::Site => "0".into(),
            Field::Age { weighted } => factor(weighted, job.age, weights.age),
            Field::FairShare { weighted } => factor(weighted, job.fair_share, weights.fair_share),
            Field::JobSize { weighted } => factor(weighted, job.job_size, weights.job_size),
            Field::PartitionFactor { weighted } => {
                factor(weighted, job.partition_factor, weights.partition)
            }
            Field::Assoc { weighted } | Field::Qos { weighted } => factor(weighted, 0.0, 0),
            Field::QosName | Field::Tres { .. } => String::new(),
            Field::Nice if job.fixed => "0".into(),
            Field::Nice => job.nice.to_string(),
        }
    }
}

/// The priority as sprio computes it from the factors it shows
/// (`get_priority_from_factors`): their weighted sum less the nice, at
/// least 1, unrounded.
fn from_factors(job: &JobPriority, weights: &PriorityWeights) -> f64 {
    let sum = job.age * f64::from(weights.age)
        + job.fair_share * f64::from(weights.fair_share)
        + job.job_size * f64::from(weights.job_size)
        + job.partition_factor * f64::from(weights.partition)
        - f64::from(job.nice);
    sum.max(1.0)
}

/// A parsed format: text before the first field, then each field with
/// its width, justification and the text after it, and the letters it
/// did not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    prefix: String,
    items: Vec<Item>,
    rejected: Vec<char>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Item {
    field: Field,
    width: usize,
    right: bool,
    suffix: String,
}

impl Format {
    /// Parses sprio's `-o` language. As 22.05's sprio, a field with an
    /// unknown letter is left out, with the text after it, and named in
    /// [`Format::rejected`]; the rest is printed.
    pub fn parse(text: &str) -> Format {
        let (prefix, rest) = match text.find('%') {
            Some(at) => (&text[..at], &text[at..]),
            None => (text, ""),
        };
        let mut items = Vec::new();
        let mut rejected = Vec::new();
        // As strtok: empty tokens (`%%`) vanish.
        for token in rest.split('%').filter(|t| !t.is_empty()) {
            let (right, token) = match token.strip_prefix('.') {
                Some(token) => (true, token),
                None => (false, token),
            };
            let digits = token.chars().take_while(char::is_ascii_digit).count();
            let width = token[..digits].parse().unwrap_or(0);
            let mut rest = token[digits..].chars();
            let letter = rest.next().unwrap_or('\0');
            let Some(field) = Field::from_letter(letter) else {
                rejected.push(letter);
                continue;
            };
            items.push(Item {
                field,
                width,
                right,
                suffix: rest.collect(),
            });
        }
        Format {
            prefix: prefix.to_string(),
            items,
            rejected,
        }
    }

    /// sprio's complaint for each letter it did not know, in order (it
    /// says them on stderr and goes on, exit status 0).
    pub fn rejected(&self) -> Vec<Error> {
        self.rejected
            .iter()
            .map(|letter| Error::Invalid(format!("Invalid job format specification: {letter}")))
            .collect()
    }

    /// sprio's layout when no `-o` is given: the weighted factors (`-n`:
    /// normalized) of every factor with a weight, the user with `-u`;
    /// `-l` shows every factor, the user and the nice (22.05's long
    /// layouts, without newer sprio's account and QOS name).
    pub fn default_for(
        long: bool,
        normalized: bool,
        users: bool,
        weights: &PriorityWeights,
    ) -> Format {
        let text = match (long, normalized) {
            (true, true) => "%.15i %9r %.8u %10y %10a %10b %10f %10j %10p %10q %20t".to_string(),
            (true, false) => {
                "%.15i %9r %.8u %.10Y %.10S %.10A %.10B %.10F %.10J %.10P %.10Q %.11N %.20T"
                    .to_string()
            }
            (false, normalized) => {
                let mut text = String::from("%.15i %9r");
                if users {
                    text.push_str(" %.8u");
                }
                let letters = [
                    (weights.age, 'a'),
                    (weights.fair_share, 'f'),
                    (weights.job_size, 'j'),
                    (weights.partition, 'p'),
                ];
                if normalized {
                    text.push_str(" %10y");
                    for (_, letter) in letters.iter().filter(|(w, _)| *w > 0) {
                        text.push_str(&format!(" %10{letter}"));
                    }
                } else {
                    text.push_str(" %.10Y %.10S");
                    for (_, letter) in letters.iter().filter(|(w, _)| *w > 0) {
                        let letter = letter.to_ascii_uppercase();
                        text.push_str(&format!(" %.10{letter}"));
                    }
                }
                text
            }
        };
        Format::parse(&text)
    }

    fn line(&self, out: &mut String, text: impl Fn(Field) -> String) {
        out.push_str(&self.prefix);
        for item in &self.items {
            cell(out, &text(item.field), item.width, item.right);
            out.push_str(&item.suffix);
        }
        out.push('\n');
    }
}

/// What sprio prints: the header unless `-h`, then the weights line
/// (`-w`) or one line per job.
pub fn render(
    format: &Format,
    jobs: &[JobPriority],
    weights: &PriorityWeights,
    header: bool,
    weights_only: bool,
    cluster: &str,
) -> String {
    let mut out = String::new();
    if header {
        format.line(&mut out, |field| field.header().to_string());
    }
    if weights_only {
        format.line(&mut out, |field| field.weight(weights));
        return out;
    }
    for job in jobs {
        format.line(&mut out, |field| field.value(job, weights, cluster));
    }
    out
}

/// One field as sprio's `_print_str` prints it: right-justified in its
/// width (`.`), or cut to it and padded on the right; cut to the width
/// either way; as it is with no width.
fn cell(out: &mut String, text: &str, width: usize, right: bool) {
    if width == 0 {
        out.push_str(text);
        return;
    }
    let cut: String = if right {
        let length = text.chars().count();
        let padded = format!("{}{text}", " ".repeat(width.saturating_sub(length)));
        padded.chars().take(width).collect()
    } else {
        let cut: String = text.chars().take(width).collect();
        let fill = width - cut.chars().count();
        format!("{cut}{}", " ".repeat(fill))
    };
    out.push_str(&cut);
}

/// What sprio says under priority/basic (on stderr, exit 1).
pub fn unsupported_plugin(plugin: &str) -> String {
    format!(
        "You are not running a supported priority plugin\n({plugin}).\n\
         Only 'priority/multifactor' is supported.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::JobId;

    fn weights() -> PriorityWeights {
        PriorityWeights {
            age: 1000,
            fair_share: 10_000,
            job_size: 1000,
            partition: 1000,
        }
    }

    fn job(id: u64, fixed: bool) -> JobPriority {
        JobPriority {
            job_id: JobId(id),
            partition: "normal".into(),
            user: "alice".into(),
            account: "alice".into(),
            priority: 6251,
            fixed,
            nice: 0,
            age: 0.001,
            fair_share: 0.5,
            job_size: 0.25,
            partition_factor: 1.0,
        }
    }

    #[test]
    fn the_default_layout_is_sprios() {
        let format = Format::default_for(false, false, false, &weights());
        let out = render(&format, &[job(12, false)], &weights(), true, false, "c");
        assert_eq!(
            out,
            "          JOBID PARTITION   PRIORITY       SITE        AGE  FAIRSHARE    JOBSIZE  PARTITION\n\
             \x20            12 normal          6251          0          1       5000        250       1000\n"
        );
    }

    #[test]
    fn the_weights_line_and_no_header() {
        let format = Format::default_for(false, false, false, &weights());
        let out = render(&format, &[job(12, false)], &weights(), false, true, "c");
        assert_eq!(
            out,
            "        Weights                               1       1000      10000       1000       1000\n"
        );
    }

    #[test]
    fn normalized_factors_have_seven_decimals_and_a_set_priority_shows_none() {
        let format = Format::parse("%i|%a|%f|%y|%N|%S");
        let out = render(
            &format,
            &[job(3, false), job(4, true)],
            &weights(),
            false,
            false,
            "c",
        );
        assert_eq!(
            out,
            "3|0.0010000|0.5000000|0.00000145542435|0|0\n4|0.0000000|0.0000000|6251.00000000000000|0|0\n"
        );
    }

    #[test]
    fn formats_keep_their_text_widths_and_skip_unknown_letters() {
        let format = Format::parse("job=%5i,%.6Y end");
        let out = render(
            &format,
            &[job(1234567, false)],
            &weights(),
            true,
            false,
            "c",
        );
        assert_eq!(out, "job=JOBID,PRIORI end\njob=12345,  6251 end\n");
        // 22.05: the field and the text after it go, the rest is printed.
        let format = Format::parse("%i %z|%-8u|%Y");
        let out = render(&format, &[job(7, false)], &weights(), true, false, "c");
        assert_eq!(out, "JOBID PRIORITY\n7 6251\n");
        let said: Vec<String> = format.rejected().iter().map(ToString::to_string).collect();
        assert_eq!(
            said,
            [
                "Invalid job format specification: z",
                "Invalid job format specification: -"
            ]
        );
    }

    #[test]
    fn the_long_layouts_are_22_05s() {
        let long = Format::default_for(true, false, false, &weights());
        let header = render(&long, &[], &weights(), true, false, "c");
        assert_eq!(
            header,
            "          JOBID PARTITION     USER   PRIORITY       SITE        AGE      ASSOC  FAIRSHARE    JOBSIZE  PARTITION        QOS        NICE                 TRES\n"
        );
        let line = render(&long, &[], &weights(), false, true, "c");
        assert_eq!(
            line,
            "        Weights                                        1       1000          0      10000       1000       1000          0                           (null)\n"
        );
        let normalized = Format::default_for(true, true, false, &weights());
        let header = render(&normalized, &[], &weights(), true, false, "c");
        assert_eq!(
            header,
            "          JOBID PARTITION     USER PRIORITY   AGE        ASSOC      FAIRSHARE  JOBSIZE    PARTITION  QOS        TRES                \n"
        );
    }

    #[test]
    fn the_priority_is_the_factors_sum_cut_as_sprio_computes_it() {
        let mut half = job(5, false);
        half.age = 0.000_024_8;
        half.fair_share = 0.1;
        half.job_size = 0.75;
        half.partition_factor = 0.1;
        half.nice = 0;
        // 0.0248 + 1000 + 750 + 100: 1850, and %y of the unrounded sum.
        let format = Format::parse("%Y|%y|%A|%F");
        let out = render(&format, &[half.clone()], &weights(), false, false, "c");
        assert_eq!(out, "1850|0.00000043074247|0|1000\n");
        half.nice = 2000;
        let out = render(&format, &[half], &weights(), false, false, "c");
        assert_eq!(out.split('|').next(), Some("1"));
    }
}
