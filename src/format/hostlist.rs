//! Slurm's hostlist expressions: `n[1-3,5],gpu01` expanded into names and
//! names compressed back into the shortest such list, in the order and
//! with the zero-padding Slurm's `hostlist_ranged_string` prints after
//! `hostlist_sort` (what sinfo's NODELIST and squeue's `%N` show).
//!
//! A name is a prefix and an optional numeric suffix (its trailing
//! digits). Names with the same prefix and consecutive numbers join into
//! a range; numbers of different widths join only when their padding
//! agrees (`n1` and `n10` do, `n1` and `n01` do not), as Slurm's
//! `_width_equiv` decides. Written from the behaviour documented in
//! `man sinfo`/`man scontrol` (`scontrol show hostnames`) and read in
//! Slurm's `src/common/hostlist.c`; no code is taken from it. (The
//! `hostlist` crate only expands, and was last released in 2020.)

use std::cmp::Ordering;

/// A hostlist expression that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid hostlist: {0}")]
pub struct HostlistError(pub String);

/// The names a hostlist expression stands for, in the order written
/// (duplicates kept, as `scontrol show hostnames` keeps them).
pub fn expand(expression: &str) -> Result<Vec<String>, HostlistError> {
    let invalid = || HostlistError(expression.to_string());
    let mut names = Vec::new();
    for item in split_top_level(expression).ok_or_else(invalid)? {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some(open) = item.find('[') else {
            if item.contains(']') {
                return Err(invalid());
            }
            names.push(item.to_string());
            continue;
        };
        let close = item.find(']').ok_or_else(invalid)?;
        if close < open || item[close + 1..].contains(['[', ']']) {
            return Err(invalid());
        }
        let (prefix, ranges, suffix) = (&item[..open], &item[open + 1..close], &item[close + 1..]);
        for range in ranges.split(',') {
            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
            let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
            if !all_digits(lo) || !all_digits(hi) {
                return Err(invalid());
            }
            let (start, end) = (
                lo.parse::<u64>().map_err(|_| invalid())?,
                hi.parse::<u64>().map_err(|_| invalid())?,
            );
            if end < start {
                return Err(invalid());
            }
            let width = lo.len();
            for number in start..=end {
                names.push(format!("{prefix}{number:0width$}{suffix}"));
            }
        }
    }
    Ok(names)
}

/// The items of an expression: split at the commas outside brackets;
/// `None` when brackets do not balance.
fn split_top_level(expression: &str) -> Option<Vec<&str>> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (at, c) in expression.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                items.push(&expression[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    (depth == 0).then(|| {
        items.push(&expression[start..]);
        items
    })
}

/// A name split into its prefix and numeric suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Host {
    prefix: String,
    /// The trailing number and how many digits it was written with.
    number: Option<(u64, usize)>,
}

impl Host {
    fn parse(name: &str) -> Host {
        let digits = name.len() - name.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, suffix) = name.split_at(name.len() - digits);
        match suffix.parse::<u64>() {
            Ok(value) if digits > 0 => Host {
                prefix: prefix.to_string(),
                number: Some((value, digits)),
            },
            _ => Host {
                prefix: name.to_string(),
                number: None,
            },
        }
    }
}

/// How many zeros `value` needs to fill `width` digits.
fn zero_padding(value: u64, width: usize) -> usize {
    width.saturating_sub(value.to_string().len())
}

/// The width two numbers share when they can be printed alike (Slurm's
/// `_width_equiv`): equal widths, or one whose padding is the same at
/// either width adopts the other's.
fn common_width(n: u64, wn: usize, m: u64, wm: usize) -> Option<usize> {
    if wn == wm {
        return Some(wn);
    }
    let n_same = zero_padding(n, wn) == zero_padding(n, wm);
    let m_same = zero_padding(m, wm) == zero_padding(m, wn);
    match (n_same, m_same) {
        (false, false) => None,
        (false, true) => Some(wn),
        (true, _) => Some(wm),
    }
}

/// Consecutive numbers under one prefix.
#[derive(Debug, Clone)]
struct Range {
    prefix: String,
    /// `None` for a name without a number.
    span: Option<(u64, u64, usize)>,
}

fn order(a: &Host, b: &Host) -> Ordering {
    a.prefix
        .cmp(&b.prefix)
        .then_with(|| match (a.number, b.number) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some((x, wx)), Some((y, wy))) => {
                if common_width(x, wx, y, wy).is_some() {
                    x.cmp(&y)
                } else {
                    wx.cmp(&wy).then(x.cmp(&y))
                }
            }
        })
}

/// The names as one sorted, de-duplicated hostlist: `n[1-3,5],gpu01`.
pub fn compress<S: AsRef<str>>(names: &[S]) -> String {
    let mut hosts: Vec<Host> = names.iter().map(|n| Host::parse(n.as_ref())).collect();
    hosts.sort_by(order);
    hosts.dedup();
    let mut ranges: Vec<Range> = Vec::new();
    for host in hosts {
        if let (Some(last), Some((value, width))) = (ranges.last_mut(), host.number)
            && last.prefix == host.prefix
            && let Some((lo, hi, range_width)) = last.span
            && value == hi + 1
            // Slurm weighs the range's first number against the new one.
            && let Some(shared) = common_width(lo, range_width, value, width)
        {
            last.span = Some((lo, value, shared));
            continue;
        }
        ranges.push(Range {
            prefix: host.prefix,
            span: host.number.map(|(value, width)| (value, value, width)),
        });
    }
    let mut items: Vec<String> = Vec::new();
    let mut at = 0;
    while at < ranges.len() {
        let first = &ranges[at];
        let Some((lo, hi, width)) = first.span else {
            items.push(first.prefix.clone());
            at += 1;
            continue;
        };
        // The ranges that share the prefix and a width go in one bracket.
        let mut group = vec![(lo, hi, width)];
        let mut next = at + 1;
        while let Some(Range {
            prefix,
            span: Some((lo, hi, w)),
        }) = ranges.get(next)
        {
            if *prefix != first.prefix || common_width(group[0].0, width, *lo, *w).is_none() {
                break;
            }
            group.push((*lo, *hi, *w));
            next += 1;
        }
        let text = |(lo, hi, w): (u64, u64, usize)| {
            if lo == hi {
                format!("{lo:0w$}")
            } else {
                format!("{lo:0w$}-{hi:0w$}")
            }
        };
        if group.len() == 1 && lo == hi {
            items.push(format!("{}{}", first.prefix, text(group[0])));
        } else {
            let inner: Vec<String> = group.into_iter().map(text).collect();
            items.push(format!("{}[{}]", first.prefix, inner.join(",")));
        }
        at = next;
    }
    items.join(",")
}

/// Two names in the order Slurm's hostlist sorts them (prefix, then number).
pub fn compare(a: &str, b: &str) -> Ordering {
    order(&Host::parse(a), &Host::parse(b))
}

/// Names sorted as Slurm's hostlist sorts them.
pub fn sort_names(names: &mut [String]) {
    names.sort_by(|a, b| compare(a, b));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_ranges_lists_and_padding() {
        assert_eq!(
            expand("n[1-3,5],gpu01").expect("valid"),
            ["n1", "n2", "n3", "n5", "gpu01"]
        );
        assert_eq!(
            expand("node[08-11]").expect("valid"),
            ["node08", "node09", "node10", "node11"]
        );
        assert_eq!(expand("box").expect("valid"), ["box"]);
        assert_eq!(expand("rack[1-2]a").expect("valid"), ["rack1a", "rack2a"]);
        assert_eq!(expand("").expect("valid"), Vec::<String>::new());
    }

    #[test]
    fn refuses_unbalanced_or_bad_ranges() {
        for bad in ["n[1-3", "n1-3]", "n[3-1]", "n[a-b]", "n[1-2]x[3]"] {
            assert!(expand(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compresses_as_slurm_prints_node_lists() {
        // man sinfo's examples: "adev[0-1]", "adev[2-3]", "adev[4-7]".
        assert_eq!(compress(&["adev0", "adev1"]), "adev[0-1]");
        assert_eq!(compress(&["n5", "n2", "n1", "n3"]), "n[1-3,5]");
        assert_eq!(compress(&["n1", "gpu01"]), "gpu01,n1");
        assert_eq!(compress(&["box"]), "box");
        assert_eq!(compress(&["n3", "n3"]), "n3");
        assert_eq!(compress::<&str>(&[]), "");
    }

    #[test]
    fn widths_join_only_when_the_padding_agrees() {
        assert_eq!(compress(&["n9", "n10", "n11"]), "n[9-11]");
        assert_eq!(compress(&["node08", "node09", "node10"]), "node[08-10]");
        assert_eq!(compress(&["n01", "n1"]), "n1,n01");
        assert_eq!(compress(&["login", "n1", "n2"]), "login,n[1-2]");
    }

    #[test]
    fn round_trips() {
        let names = expand("a[1-4,7],b[001-003],c").expect("valid");
        assert_eq!(compress(&names), "a[1-4,7],b[001-003],c");
    }

    #[test]
    fn sorts_numerically() {
        let mut names = vec!["n10".to_string(), "n2".into(), "gpu1".into()];
        sort_names(&mut names);
        assert_eq!(names, ["gpu1", "n2", "n10"]);
    }
}
