//! File-name patterns of `-o/--output` and `-e/--error` (`slurm-%j.out`).

/// What the `%` letters of a pattern stand for.
#[derive(Debug, Clone, Copy)]
pub struct PatternValues<'a> {
    /// `%j`, `%J`: the job's id.
    pub job_id: u64,
    /// `%A`, `%a`: the array's id and this task's index, for array tasks.
    pub array: Option<(u64, u32)>,
    /// `%x`: the job's name.
    pub name: &'a str,
    /// `%u`: the owner's user name.
    pub user: &'a str,
    /// `%N`: the short host name of the node.
    pub node: &'a str,
    /// `%t`: the task's rank (0 for the batch script).
    pub task: u32,
    /// `%s`: the step's id; `None` is the batch step (`batch`).
    pub step: Option<u32>,
}

/// Array jobs' `%a` for jobs that are not array elements, as Slurm prints it.
const NO_ARRAY_INDEX: u64 = 4_294_967_294;

/// Expands a Slurm file-name pattern: `%%`, `%j`, `%J`, `%A`, `%a`, `%x`,
/// `%u`, `%N`, `%n`, `%t`, `%s`, with an optional zero-padding width for
/// numbers (`%4j` → `0042`, at most 10). An unknown `%X` stays as it is,
/// and a pattern with a backslash is taken literally with the backslashes
/// dropped, both as in Slurm.
pub fn expand(pattern: &str, values: &PatternValues<'_>) -> String {
    if pattern.contains('\\') {
        return pattern.replace('\\', "");
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(percent) = rest.find('%') {
        out.push_str(&rest[..percent]);
        let after = &rest[percent + 1..];
        let digits = after.len() - after.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let width = after[..digits].parse::<usize>().unwrap_or(0).min(10);
        let Some(letter) = after[digits..].chars().next() else {
            out.push_str(&rest[percent..]);
            return out;
        };
        let number = |n: u64| format!("{n:0width$}");
        match letter {
            '%' => out.push('%'),
            'j' | 'J' => out.push_str(&number(values.job_id)),
            'A' => out.push_str(&number(values.array.map_or(values.job_id, |a| a.0))),
            'a' => out.push_str(&number(
                values.array.map_or(NO_ARRAY_INDEX, |a| u64::from(a.1)),
            )),
            'b' => out.push_str(&number(
                values.array.map_or(NO_ARRAY_INDEX, |a| u64::from(a.1)) % 10,
            )),
            'n' => out.push_str(&number(0)),
            't' => out.push_str(&number(u64::from(values.task))),
            'x' => out.push_str(values.name),
            'u' => out.push_str(values.user),
            'N' => out.push_str(values.node),
            's' => match values.step {
                Some(step) => out.push_str(&number(u64::from(step))),
                None => out.push_str("batch"),
            },
            other => {
                out.push('%');
                out.push_str(&after[..digits]);
                out.push(other);
            }
        }
        rest = &after[digits + letter.len_utf8()..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const VALUES: PatternValues<'static> = PatternValues {
        job_id: 128,
        array: None,
        name: "train",
        user: "alice",
        node: "box",
        task: 0,
        step: None,
    };

    #[test]
    fn letters_expand() {
        assert_eq!(expand("slurm-%j.out", &VALUES), "slurm-128.out");
        assert_eq!(expand("%x-%u-%J.log", &VALUES), "train-alice-128.log");
        assert_eq!(expand("100%%", &VALUES), "100%");
        assert_eq!(expand("%4j", &VALUES), "0128");
        assert_eq!(expand("%N/%s", &VALUES), "box/batch");
    }

    #[test]
    fn array_letters_name_the_array_and_the_index() {
        let task = PatternValues {
            job_id: 130,
            array: Some((128, 2)),
            ..VALUES
        };
        assert_eq!(expand("slurm-%A_%a.out", &task), "slurm-128_2.out");
        assert_eq!(expand("%j", &task), "130");
        assert_eq!(expand("%a", &VALUES), "4294967294");
    }

    #[test]
    fn unknown_letters_and_trailing_percent_stay() {
        assert_eq!(expand("a%Yb", &VALUES), "a%Yb");
        assert_eq!(expand("end%", &VALUES), "end%");
    }

    #[test]
    fn a_backslash_turns_substitution_off() {
        assert_eq!(expand("out\\%j", &VALUES), "out%j");
    }

    proptest! {
        #[test]
        fn never_panics_and_keeps_plain_text(text in "[a-z/._-]*") {
            prop_assert_eq!(expand(&text, &VALUES), text);
        }

        #[test]
        fn arbitrary_patterns_do_not_panic(text in "\\PC*") {
            let _ = expand(&text, &VALUES);
        }
    }
}
