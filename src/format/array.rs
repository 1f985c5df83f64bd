//! Job array index expressions (`--array=0-15:4%2`) and their compact form
//! (`[0-3,5%2]`).

use crate::error::{Error, Result};

/// The default and largest `MaxArraySize`: indices go from 0 to this minus 1.
pub const MAX_ARRAY_SIZE: u32 = 1001;

/// A parsed `--array` expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArraySpec {
    /// The indices, ascending, without repeats.
    pub indices: Vec<u32>,
    /// The `%N` limit of tasks running at once.
    pub max_running: Option<u32>,
}

/// Parses `0-15`, `0,6,16-32`, `0-15:4` (a step), with an optional `%N`.
pub fn parse_array(text: &str) -> Result<ArraySpec> {
    let invalid = || Error::Invalid("Invalid job array specification".into());
    let (list, max_running) = match text.trim().split_once('%') {
        Some((list, max)) => {
            let max: u32 = max.parse().map_err(|_| invalid())?;
            (list, Some(max).filter(|m| *m > 0))
        }
        None => (text.trim(), None),
    };
    let number = |part: &str| part.trim().parse::<u32>().map_err(|_| invalid());
    // Bounded however long the text: no more parts than there can be
    // indices, and the indices kept as one bit each below MAX_ARRAY_SIZE,
    // so repeats cost nothing (a 350 KB spec once took 200 MB).
    if list.split(',').nth(MAX_ARRAY_SIZE as usize).is_some() {
        return Err(invalid());
    }
    let mut present = [false; MAX_ARRAY_SIZE as usize];
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
        if step == 0 || first > last || last >= MAX_ARRAY_SIZE {
            return Err(invalid());
        }
        for index in (first..=last).step_by(step as usize) {
            present[index as usize] = true;
        }
    }
    let indices: Vec<u32> = (0..MAX_ARRAY_SIZE)
        .filter(|i| present[*i as usize])
        .collect();
    if indices.is_empty() {
        return Err(invalid());
    }
    Ok(ArraySpec {
        indices,
        max_running,
    })
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
        parse_array(text).map(|s| s.indices).unwrap_or_default()
    }

    #[test]
    fn a_huge_spec_is_refused_or_folded_without_growing() {
        let many_parts = vec!["0-1000"; 20_000].join(",");
        let started = std::time::Instant::now();
        assert!(parse_array(&many_parts).is_err(), "more parts than indices");
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
        let spec = parse_array("0-9%2").expect("valid");
        assert_eq!(spec.max_running, Some(2));
        assert_eq!(spec.indices.len(), 10);
    }

    #[test]
    fn bad_forms_are_refused() {
        for text in ["", "a", "3-1", "0-1001", "1:0", "0-3%x", "-1", "1,,2"] {
            assert!(parse_array(text).is_err(), "{text}");
        }
    }

    #[test]
    fn indices_compress_to_ranges() {
        assert_eq!(compress(&[0, 1, 2, 3, 5, 7, 8]), "0-3,5,7-8");
        assert_eq!(compress(&[4]), "4");
    }

    proptest! {
        #[test]
        fn compressed_indices_parse_back(mut set in proptest::collection::btree_set(0u32..1000, 1..50)) {
            let list: Vec<u32> = std::mem::take(&mut set).into_iter().collect();
            prop_assert_eq!(indices(&compress(&list)), list);
        }

        #[test]
        fn arbitrary_text_does_not_panic(text in "\\PC*") {
            let _ = parse_array(&text);
        }
    }
}
