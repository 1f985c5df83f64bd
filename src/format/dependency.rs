//! `--dependency` expressions: `afterok:12:13,afterany:14`, or with `?`
//! between conditions when any one of them is enough.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// When a condition holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DependencyKind {
    /// The other job started (or was cancelled), plus an optional delay.
    After,
    /// The other job ended, however.
    AfterAny,
    /// The other job completed with exit code 0.
    AfterOk,
    /// The other job ended in any failed state.
    AfterNotOk,
    /// No other job of the same name and user runs.
    Singleton,
}

impl DependencyKind {
    fn name(self) -> &'static str {
        match self {
            DependencyKind::After => "after",
            DependencyKind::AfterAny => "afterany",
            DependencyKind::AfterOk => "afterok",
            DependencyKind::AfterNotOk => "afternotok",
            DependencyKind::Singleton => "singleton",
        }
    }
}

/// One job a condition waits for: `12`, or `12_3` for one array task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobRef {
    pub id: u64,
    pub task: Option<u32>,
    /// `after:12+5`: minutes to wait after the start.
    pub delay_minutes: u32,
}

impl fmt::Display for JobRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.id)?;
        if let Some(task) = self.task {
            write!(f, "_{task}")?;
        }
        if self.delay_minutes > 0 {
            write!(f, "+{}", self.delay_minutes)?;
        }
        Ok(())
    }
}

/// One condition on one job (or, for singleton, on none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    pub kind: DependencyKind,
    pub job: Option<JobRef>,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if let Some(job) = self.job {
            write!(f, ":{job}")?;
        }
        Ok(())
    }
}

/// A parsed expression: all conditions must hold, or (`?`) any one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    pub any: bool,
    pub conditions: Vec<Condition>,
}

/// Parses a Slurm dependency expression. A bare list of ids means
/// `afterany`, as the man page says.
pub fn parse_dependency(text: &str) -> Result<Dependency> {
    let invalid = || Error::Invalid("Job dependency problem".into());
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid());
    }
    let any = text.contains('?');
    if any && text.contains(',') {
        return Err(invalid());
    }
    let mut conditions = Vec::new();
    for clause in text.split([',', '?']) {
        let mut parts = clause.split(':');
        let head = parts.next().unwrap_or_default();
        let kind = match head {
            "after" => DependencyKind::After,
            "afterany" => DependencyKind::AfterAny,
            "afterok" => DependencyKind::AfterOk,
            "afternotok" => DependencyKind::AfterNotOk,
            "singleton" => DependencyKind::Singleton,
            id if id.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                // Bare ids are afterany, which takes no `+delay`.
                for id in std::iter::once(id).chain(parts) {
                    let job = parse_ref(id).ok_or_else(invalid)?;
                    if job.delay_minutes > 0 {
                        return Err(invalid());
                    }
                    conditions.push(Condition {
                        kind: DependencyKind::AfterAny,
                        job: Some(job),
                    });
                }
                continue;
            }
            _ => return Err(invalid()),
        };
        if kind == DependencyKind::Singleton {
            if parts.next().is_some() {
                return Err(invalid());
            }
            conditions.push(Condition { kind, job: None });
            continue;
        }
        let mut any_job = false;
        for id in parts {
            let job = parse_ref(id).ok_or_else(invalid)?;
            if job.delay_minutes > 0 && kind != DependencyKind::After {
                return Err(invalid());
            }
            conditions.push(Condition {
                kind,
                job: Some(job),
            });
            any_job = true;
        }
        if !any_job {
            return Err(invalid());
        }
    }
    Ok(Dependency { any, conditions })
}

fn parse_ref(text: &str) -> Option<JobRef> {
    let (id_part, delay) = match text.split_once('+') {
        Some((id, delay)) => (id, delay.parse().ok()?),
        None => (text, 0),
    };
    let (id, task) = match id_part.split_once('_') {
        Some((id, task)) => (id.parse().ok()?, Some(task.parse().ok()?)),
        None => (id_part.parse().ok()?, None),
    };
    (id > 0).then_some(JobRef {
        id,
        task,
        delay_minutes: delay,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lists_and_kinds_parse() {
        let dep = parse_dependency("afterok:12:13,afterany:14_2,after:15+5").expect("valid");
        assert!(!dep.any);
        let shown: Vec<String> = dep
            .conditions
            .iter()
            .map(std::string::ToString::to_string)
            .collect();
        assert_eq!(
            shown,
            vec!["afterok:12", "afterok:13", "afterany:14_2", "after:15+5"]
        );
        let dep = parse_dependency("afternotok:3?singleton").expect("valid");
        assert!(dep.any);
        assert_eq!(dep.conditions[1].job, None);
        let bare = parse_dependency("7:8").expect("valid");
        assert_eq!(bare.conditions[0].kind, DependencyKind::AfterAny);
    }

    #[test]
    fn bare_ids_take_no_delay_like_afterany() {
        // Found by fuzz/ (array_and_dependency): `9+6` parsed as afterany
        // with a delay, which `afterany:9+6` (its printed form) refuses.
        for text in ["9+6", "9:10+1", "9_2+1"] {
            assert!(parse_dependency(text).is_err(), "{text}");
        }
        assert!(parse_dependency("afterany:9+6").is_err());
        let dep = parse_dependency("9+0").expect("a zero delay is no delay");
        assert_eq!(dep.conditions[0].to_string(), "afterany:9");
    }

    #[test]
    fn malformed_expressions_are_a_dependency_problem() {
        for text in [
            "",
            "bogus:1",
            "afterok",
            "afterok:x",
            "afterok:1,after:2?after:3",
            "afterok:1+5",
            "singleton:3",
            "afterok:0",
        ] {
            assert!(parse_dependency(text).is_err(), "{text}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_does_not_panic(text in "\\PC*") {
            let _ = parse_dependency(&text);
        }
    }
}
