//! Job array index expressions (`--array=0-15:4%2`) and their compact form
//! (`[0-3,5%2]`).

use crate::error::{Error, Result};

/// The default `MaxArraySize`: indices go from 0 to this minus 1.
pub const DEFAULT_MAX_ARRAY_SIZE: u32 = 1001;

/// The largest `MaxArraySize` (Slurm's too). Clients check a spec against
/// it, so that they refuse only what no daemon would take; the daemon
/// checks against its own.
pub const LARGEST_MAX_ARRAY_SIZE: u32 = 4_000_001;

/// The most bits (and words, for plain ranges) one spec may make the
/// parser visit, about 0.1 s of work: with the default MaxArraySize no
/// spec short of the part limit comes near it, and with the largest one
/// a client still cannot make the daemon fill millions of bits per part
/// for a million parts.
const WORK_BUDGET: u64 = 1 << 26;

/// A parsed `--array` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArraySpec {
    /// The indices, ascending, without repeats.
    pub indices: Vec<u32>,
    /// The `%N` limit of tasks running at once.
    pub max_running: Option<u32>,
}

/// Parses `0-15`, `0,6,16-32`, `0-15:4` (a step), with an optional `%N`;
/// every index must be below `max_array_size` (Slurm's MaxArraySize, at
/// most `LARGEST_MAX_ARRAY_SIZE`).
pub fn parse_array(text: &str, max_array_size: u32) -> Result<ArraySpec> {
    let invalid = || Error::Invalid("Invalid job array specification".into());
    let (list, max_running) = match text.trim().split_once('%') {
        Some((list, max)) => {
            let max: u32 = max.parse().map_err(|_| invalid())?;
            (list, Some(max).filter(|m| *m > 0))
        }
        None => (text.trim(), None),
    };
    let number = |part: &str| part.trim().parse::<u32>().map_err(|_| invalid());
    let max = max_array_size.min(LARGEST_MAX_ARRAY_SIZE);
    // Bounded however long the text: no more parts than there can be
    // indices, and the indices kept as one bit each below the limit, so
    // repeats cost no memory (a 350 KB spec once took 200 MB).
    if list.split(',').nth(max as usize).is_some() {
        return Err(invalid());
    }
    let mut present = Bits::new(max);
    let mut work = 0u64;
    for part in list.split(',') {
        let (range, step) = match part.split_once(':') {
            Some((range, step)) => (range, number(step)?),
            None => (part, 1),
        };
        let (first, last) = match range.split_once('-') {
            Some((first, last)) => (number(first)?, number(last)?),
            None => {
                let one = number(range)?;
                (one, one)
            }
        };
        if step == 0 || first > last || last >= max {
            return Err(invalid());
        }
        let span = u64::from(last - first);
        work += if step == 1 {
            span / 64 + 1
        } else {
            span / u64::from(step) + 1
        };
        if work > WORK_BUDGET {
            return Err(invalid());
        }
        if step == 1 {
            present.set_range(first, last);
        } else {
            for index in (first..=last).step_by(step as usize) {
                present.set(index);
            }
        }
    }
    let indices = present.ones();
    if indices.is_empty() {
        return Err(invalid());
    }
    Ok(ArraySpec {
        indices,
        max_running,
    })
}

/// A set of indices below a bound, one bit each.
struct Bits(Vec<u64>);

impl Bits {
    fn new(bound: u32) -> Bits {
        Bits(vec![0; bound.div_ceil(64) as usize])
    }

    fn set(&mut self, index: u32) {
        self.0[index as usize / 64] |= 1 << (index % 64);
    }

    /// Sets `first..=last` a word at a time: a wide range repeated in
    /// every part costs little time either.
    fn set_range(&mut self, first: u32, last: u32) {
        let (first_word, last_word) = (first as usize / 64, last as usize / 64);
        let from = u64::MAX << (first % 64);
        let to = u64::MAX >> (63 - last % 64);
        if first_word == last_word {
            self.0[first_word] |= from & to;
            return;
        }
        self.0[first_word] |= from;
        self.0[first_word + 1..last_word].fill(u64::MAX);
        self.0[last_word] |= to;
    }

    /// The indices set, ascending.
    fn ones(&self) -> Vec<u32> {
        let mut ones = Vec::new();
        for (word_index, &word) in self.0.iter().enumerate() {
            let mut word = word;
            while word != 0 {
                ones.push(word_index as u32 * 64 + word.trailing_zeros());
                word &= word - 1;
            }
        }
        ones
    }
}

/// The compact form of a set of indices: `1-3,5` (ranges of consecutive ones).
pub fn compress(indices: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = indices.iter().copied().peekable();
    while let Some(first) = iter.next() {
        let mut last = first;
        while iter.peek() == Some(&(last + 1)) {
            last += 1;
            iter.next();
        }
        parts.push(if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        });
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn indices(text: &str) -> Vec<u32> {
        parse_array(text, DEFAULT_MAX_ARRAY_SIZE)
            .map(|s| s.indices)
            .unwrap_or_default()
    }

    #[test]
    fn a_huge_spec_is_refused_or_folded_without_growing() {
        let many_parts = vec!["0-1000"; 20_000].join(",");
        let started = std::time::Instant::now();
        assert!(
            parse_array(&many_parts, DEFAULT_MAX_ARRAY_SIZE).is_err(),
            "more parts than indices"
        );
        let repeats = vec!["0-1000"; 1000].join(",");
        assert_eq!(indices(&repeats).len(), 1001);
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn slurm_forms_parse() {
        assert_eq!(indices("0-3"), vec![0, 1, 2, 3]);
        assert_eq!(indices("1,3,5"), vec![1, 3, 5]);
        assert_eq!(indices("1-9:2"), vec![1, 3, 5, 7, 9]);
        assert_eq!(indices("0,6,4-5"), vec![0, 4, 5, 6]);
        let spec = parse_array("0-9%2", DEFAULT_MAX_ARRAY_SIZE).expect("valid");
        assert_eq!(spec.max_running, Some(2));
        assert_eq!(spec.indices.len(), 10);
    }

    #[test]
    fn bad_forms_are_refused() {
        for text in ["", "a", "3-1", "0-1001", "1:0", "0-3%x", "-1", "1,,2"] {
            assert!(parse_array(text, DEFAULT_MAX_ARRAY_SIZE).is_err(), "{text}");
        }
    }

    #[test]
    fn indices_stay_below_the_limit() {
        assert_eq!(parse_array("0-9", 10).expect("valid").indices.len(), 10);
        for text in ["0-10", "10", "0-20:5", "1,2,3,4,5,6,7,8,9,1,2"] {
            assert!(parse_array(text, 10).is_err(), "{text}");
        }
        let largest = LARGEST_MAX_ARRAY_SIZE;
        let all = parse_array("0-4000000", largest).expect("valid");
        assert_eq!(all.indices.len(), largest as usize);
        assert_eq!(all.indices.last(), Some(&(largest - 1)));
        assert!(parse_array("4000001", largest).is_err());
        assert!(
            parse_array("4000001", u32::MAX).is_err(),
            "never past the largest"
        );
        assert!(parse_array("0", 0).is_err());
    }

    #[test]
    fn wide_parts_repeated_are_refused_before_they_cost_seconds() {
        let largest = LARGEST_MAX_ARRAY_SIZE;
        // Each part alone is fine; a million of them would be 2e12 bits.
        let stepped = vec!["0-4000000:2"; 100_000].join(",");
        assert!(parse_array(&stepped, largest).is_err());
        let plain = vec!["0-4000000"; 1_000_000].join(",");
        assert!(parse_array(&plain, largest).is_err());
        // What the default limit allows is far below the budget.
        let most = vec!["0-1000:1,0-1000:2"; 500].join(",");
        assert!(parse_array(&most, DEFAULT_MAX_ARRAY_SIZE).is_ok());
    }

    #[test]
    fn indices_compress_to_ranges() {
        assert_eq!(compress(&[0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-8");
        assert_eq!(compress(&[4]), "4");
    }

    proptest! {
        #[test]
        fn ranges_and_steps_name_what_a_plain_walk_names(
            parts in proptest::collection::vec((0u32..300, 0u32..300, 1u32..70), 1..8),
        ) {
            let text = parts
                .iter()
                .map(|(a, b, step)| format!("{}-{}:{step}", a.min(b), a.max(b)))
                .collect::<Vec<_>>()
                .join(",");
            let mut expected = std::collections::BTreeSet::new();
            for (a, b, step) in &parts {
                expected.extend((*a.min(b)..=*a.max(b)).step_by(*step as usize));
            }
            let parsed = parse_array(&text, 300).expect("valid").indices;
            prop_assert_eq!(parsed, expected.into_iter().collect::<Vec<_>>());
        }

        #[test]
        fn compressed_indices_parse_back(mut set in proptest::collection::btree_set(0u32..1000, 1..50)) {
            let list: Vec<u32> = std::mem::take(&mut set).into_iter().collect();
            prop_assert_eq!(indices(&compress(&list)), list);
        }

        #[test]
        fn arbitrary_text_does_not_panic(text in "\\PC*") {
            let _ = parse_array(&text, DEFAULT_MAX_ARRAY_SIZE);
        }
    }
}
