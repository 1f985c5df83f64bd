//! sshare's output: its fields by name (`-o account,fairshare`, any
//! unambiguous case-insensitive prefix, `name%width`), the fixed-width
//! layout with its dash line, and the parsable ones (`-p` ends each line
//! with `|`, `-P` does not), as Slurm's print_fields writes them.
//!
//! The tree is flat: the `root` account, then one line per user under it
//! (its account shown as ` root`, one level down). Its lines are those of
//! live Slurm 22.05 under classic fair share (`PriorityFlags=NO_FAIR_TREE`,
//! which Conductor computes); Slurm's default, Fair Tree, ranks users
//! instead and shows a LevelFS.

use crate::error::Error;
use crate::protocol::{ShareReport, UserShareInfo};

/// A column sshare can show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Account,
    Cluster,
    EffectvUsage,
    FairShare,
    GrpTresMins,
    GrpTresRaw,
    Id,
    LevelFs,
    NormShares,
    NormUsage,
    Partition,
    RawShares,
    RawUsage,
    TresRunMins,
    User,
}

/// The fields in sshare's table order (a prefix names the first that it
/// begins), with their names and default widths (negative: left-justified).
const FIELDS: &[(Field, &str, i32)] = &[
    (Field::Account, "Account", -20),
    (Field::Cluster, "Cluster", 10),
    (Field::EffectvUsage, "EffectvUsage", 13),
    (Field::FairShare, "FairShare", 10),
    (Field::GrpTresMins, "GrpTRESMins", 30),
    (Field::GrpTresRaw, "GrpTRESRaw", 30),
    (Field::Id, "ID", 6),
    (Field::LevelFs, "LevelFS", 10),
    (Field::NormShares, "NormShares", 11),
    (Field::NormUsage, "NormUsage", 11),
    (Field::Partition, "Partition", 12),
    (Field::RawShares, "RawShares", 10),
    (Field::RawUsage, "RawUsage", 11),
    (Field::TresRunMins, "TRESRunMins", 30),
    (Field::User, "User", 10),
];

/// The default columns, and `-l`'s.
pub const DEFAULT_FIELDS: &str = "A,User,RawShares,NormShares,RawUsage,Eff,Fairshare";
pub const LONG_FIELDS: &str =
    "A,User,RawShares,NormShares,RawUsage,NormUsage,Eff,Fairshare,GrpTRESMins,TRESRunMins";

/// One column: its field, name and width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    field: Field,
    name: &'static str,
    width: i32,
}

/// Parses `-o`'s comma-separated names; an unknown one is refused with
/// sshare's words.
pub fn parse_fields(text: &str) -> Result<Vec<Column>, Error> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (name, width) = match item.split_once('%') {
                Some((name, width)) => (name, width.parse::<i32>().ok().filter(|w| *w != 0)),
                None => (item, None),
            };
            let invalid = || Error::Invalid(format!("Invalid field requested: \"{name}\""));
            let lower = name.to_ascii_lowercase();
            let (field, full, default) = FIELDS
                .iter()
                .find(|(_, full, _)| {
                    !lower.is_empty() && full.to_ascii_lowercase().starts_with(&lower)
                })
                .ok_or_else(invalid)?;
            Ok(Column {
                field: *field,
                name: full,
                width: width.unwrap_or(*default),
            })
        })
        .collect()
}

/// How lines are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    Fixed,
    /// `-p` (`trailing`) or `-P`.
    Parsable {
        trailing: bool,
    },
}

/// A value of one cell: text, or a number as print_fields prints it.
enum Value {
    Text(Option<String>),
    Count(Option<u64>),
    Real(Option<f64>),
}

/// One line of the tree: the root account, or a user under it.
enum Line<'a> {
    Root(&'a ShareReport),
    User(&'a UserShareInfo, &'a ShareReport),
}

fn value(field: Field, line: &Line<'_>, cluster: &str, users_only: bool) -> Value {
    use Value::{Count, Real, Text};
    let multifactor = match line {
        Line::Root(report) => report.multifactor,
        Line::User(_, report) => report.multifactor,
    };
    if !multifactor {
        // Under priority/basic, sshare 22.05 shows no NormShares, an
        // EffectvUsage of 0, and a FairShare of 0 for users only.
        match (field, line) {
            (Field::NormShares | Field::NormUsage | Field::LevelFs, _)
            | (Field::FairShare, Line::Root(_)) => return Real(None),
            (Field::EffectvUsage, _) | (Field::FairShare, Line::User(..)) => {
                return Real(Some(0.0));
            }
            _ => {}
        }
    }
    match (field, line) {
        (Field::Account, Line::Root(_)) => Text(Some("root".into())),
        // One level down, unless the users are shown alone (`-U`).
        (Field::Account, Line::User(..)) if users_only => Text(Some("root".into())),
        (Field::Account, Line::User(..)) => Text(Some(" root".into())),
        (Field::Cluster, _) => Text(Some(cluster.into())),
        (Field::User, Line::User(user, _)) => Text(Some(user.user.clone())),
        (Field::User | Field::Partition, _) => Text(None),
        (Field::RawShares, Line::Root(_)) => Count(None),
        (Field::RawShares, Line::User(user, _)) => Count(Some(u64::from(user.raw_shares))),
        (Field::NormShares, Line::Root(_)) => Real(Some(1.0)),
        (Field::NormShares, Line::User(user, _)) => Real(Some(user.norm_shares)),
        (Field::RawUsage, Line::Root(report)) => Count(Some(report.total_usage.round() as u64)),
        (Field::RawUsage, Line::User(user, _)) => Count(Some(user.raw_usage.round() as u64)),
        // A flat tree: a user's usage against everyone's is also its
        // usage against its account's. The root has no NormUsage (22.05
        // leaves it empty) and all of the effective usage.
        (Field::NormUsage, Line::Root(_)) => Real(None),
        (Field::EffectvUsage, Line::Root(_)) => Real(Some(1.0)),
        (Field::NormUsage | Field::EffectvUsage, Line::User(user, _)) => {
            Real(Some(user.effective_usage))
        }
        // Classic fair share (22.05 with PriorityFlags=NO_FAIR_TREE) gives
        // the root its own factor, 2^(-1/1), and no account a LevelFS.
        (Field::FairShare, Line::Root(_)) => Real(Some(0.5)),
        (Field::FairShare, Line::User(user, _)) => Real(Some(user.fair_share)),
        (Field::LevelFs, _) => Real(Some(0.0)),
        (Field::Id, Line::Root(_)) => Count(Some(1)),
        (Field::Id, Line::User(user, _)) => Count(Some(u64::from(user.uid))),
        (Field::GrpTresMins | Field::GrpTresRaw | Field::TresRunMins, _) => {
            Text(Some(String::new()))
        }
    }
}

/// The whole output: the header (unless `-n`), the root line (unless
/// `users_only`), then each user's.
pub fn render(
    report: &ShareReport,
    users: &[&UserShareInfo],
    columns: &[Column],
    layout: Layout,
    header: bool,
    users_only: bool,
    cluster: &str,
) -> String {
    let mut out = String::new();
    if header {
        let last = columns.len().saturating_sub(1);
        for (index, column) in columns.iter().enumerate() {
            match layout {
                Layout::Fixed => {
                    let width = column.width.unsigned_abs() as usize;
                    let name: String = column.name.chars().take(width).collect();
                    pad(&mut out, &name, column.width);
                    out.push(' ');
                }
                Layout::Parsable { trailing } => {
                    out.push_str(column.name);
                    if index != last || trailing {
                        out.push('|');
                    }
                }
            }
        }
        out.push('\n');
        if layout == Layout::Fixed {
            for column in columns {
                out.push_str(&"-".repeat(column.width.unsigned_abs() as usize));
                out.push(' ');
            }
            out.push('\n');
        }
    }
    let root = (!users_only).then_some(Line::Root(report));
    for line in root
        .into_iter()
        .chain(users.iter().map(|user| Line::User(user, report)))
    {
        let last = columns.len().saturating_sub(1);
        for (index, column) in columns.iter().enumerate() {
            let value = value(column.field, &line, cluster, users_only);
            match layout {
                Layout::Fixed => fixed(&mut out, &value, column.width),
                Layout::Parsable { trailing } => {
                    out.push_str(&parsable(&value));
                    if index != last || trailing {
                        out.push('|');
                    }
                }
            }
        }
        out.push('\n');
    }
    out
}

fn parsable(value: &Value) -> String {
    match value {
        Value::Text(text) => text.clone().unwrap_or_default(),
        Value::Count(count) => count.map(|n| n.to_string()).unwrap_or_default(),
        Value::Real(real) => real.map(|x| format!("{x:.6}")).unwrap_or_default(),
    }
}

/// A fixed-width cell and the space after it: text cut with `+` when too
/// long, numbers in full (a real too wide turns to exponent form, as
/// print_fields_double does), nothing but spaces for an unset value.
fn fixed(out: &mut String, value: &Value, width: i32) {
    let abs = width.unsigned_abs() as usize;
    let text = match value {
        Value::Text(None) | Value::Count(None) | Value::Real(None) => String::new(),
        Value::Text(Some(text)) => {
            if text.chars().count() > abs && abs > 0 {
                text.chars()
                    .take(abs - 1)
                    .chain(std::iter::once('+'))
                    .collect()
            } else {
                text.clone()
            }
        }
        Value::Count(Some(n)) => n.to_string(),
        Value::Real(Some(x)) => {
            let plain = format!("{x:.6}");
            if plain.len() > abs {
                // print_fields_double prints the exponent form in the
                // narrowed width, which its text always fills or passes:
                // no padding (`fairshare%6` is `5e-01 `).
                out.push_str(&exponent(*x, abs));
                out.push(' ');
                return;
            }
            plain
        }
    };
    pad(out, &text, width);
    out.push(' ');
}

/// `%*.*e` of C, narrowed until it fits as print_fields_double narrows it.
fn exponent(x: f64, width: usize) -> String {
    let c_exp = |precision: usize| {
        let text = format!("{x:.precision$e}");
        // Rust writes `1.5e3`, C `1.5e+03`.
        match text.split_once('e') {
            Some((mantissa, exp)) => {
                let (sign, digits) = match exp.strip_prefix('-') {
                    Some(digits) => ('-', digits),
                    None => ('+', exp),
                };
                format!("{mantissa}e{sign}{digits:0>2}")
            }
            None => text,
        }
    };
    let first = c_exp(width);
    let over = first.len().saturating_sub(width);
    c_exp(width.saturating_sub(over))
}

fn pad(out: &mut String, text: &str, width: i32) {
    let fill = (width.unsigned_abs() as usize).saturating_sub(text.chars().count());
    if width >= 0 {
        out.push_str(&" ".repeat(fill));
        out.push_str(text);
    } else {
        out.push_str(text);
        out.push_str(&" ".repeat(fill));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ShareReport {
        ShareReport {
            multifactor: true,
            total_usage: 400.4,
            users: vec![
                UserShareInfo {
                    user: "alice".into(),
                    uid: 1000,
                    raw_shares: 1,
                    norm_shares: 0.5,
                    raw_usage: 300.0,
                    effective_usage: 0.75,
                    fair_share: 0.125,
                },
                UserShareInfo {
                    user: "bob".into(),
                    uid: 1001,
                    raw_shares: 1,
                    norm_shares: 0.5,
                    raw_usage: 100.4,
                    effective_usage: 0.25,
                    fair_share: 0.625,
                },
            ],
        }
    }

    #[test]
    fn the_default_layout_is_sshares() {
        let report = report();
        let users: Vec<&UserShareInfo> = report.users.iter().collect();
        let columns = parse_fields(DEFAULT_FIELDS).expect("fields");
        let out = render(&report, &users, &columns, Layout::Fixed, true, false, "c");
        assert_eq!(
            out,
            "Account                    User  RawShares  NormShares    RawUsage  EffectvUsage  FairShare \n\
             -------------------- ---------- ---------- ----------- ----------- ------------- ---------- \n\
             root                                          1.000000         400      1.000000   0.500000 \n\
             \x20root                     alice          1    0.500000         300      0.750000   0.125000 \n\
             \x20root                       bob          1    0.500000         100      0.250000   0.625000 \n"
        );
    }

    #[test]
    fn what_the_prometheus_exporter_runs_parses() {
        let report = report();
        let users: Vec<&UserShareInfo> = report.users.iter().collect();
        let columns = parse_fields("account,fairshare").expect("fields");
        let parsable2 = Layout::Parsable { trailing: false };
        let out = render(&report, &users, &columns, parsable2, false, false, "c");
        assert_eq!(out, "root|0.500000\n root|0.125000\n root|0.625000\n");
        let parsable = Layout::Parsable { trailing: true };
        let out = render(&report, &users[..1], &columns, parsable, true, true, "c");
        assert_eq!(out, "Account|FairShare|\nroot|0.125000|\n");
    }

    #[test]
    fn fields_are_named_by_any_prefix_with_a_width() {
        let columns = parse_fields("u%4,RawU,n").expect("fields");
        let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
        assert_eq!(names, ["User", "RawUsage", "NormShares"]);
        assert_eq!(columns[0].width, 4);
        let report = report();
        let users: Vec<&UserShareInfo> = report.users.iter().collect();
        let out = render(
            &report,
            &users,
            &columns[..1],
            Layout::Fixed,
            true,
            true,
            "c",
        );
        assert_eq!(out, "User \n---- \nali+ \n bob \n");
        assert!(matches!(
            parse_fields("account,bogus"),
            Err(Error::Invalid(text)) if text == "Invalid field requested: \"bogus\""
        ));
    }

    #[test]
    fn the_root_has_no_norm_usage_and_classic_fair_share_no_level_fs() {
        // As 22.05 prints them under NO_FAIR_TREE.
        let report = report();
        let users: Vec<&UserShareInfo> = report.users.iter().collect();
        let columns =
            parse_fields("Account,NormUsage,EffectvUsage,LevelFS,FairShare").expect("fields");
        let parsable = Layout::Parsable { trailing: false };
        let out = render(&report, &users[..1], &columns, parsable, false, false, "c");
        assert_eq!(
            out,
            "root||1.000000|0.000000|0.500000\n root|0.750000|0.750000|0.000000|0.125000\n"
        );
    }

    #[test]
    fn under_priority_basic_there_are_no_shares_and_no_factors() {
        let report = ShareReport {
            multifactor: false,
            ..report()
        };
        let users: Vec<&UserShareInfo> = report.users.iter().collect();
        let columns = parse_fields(DEFAULT_FIELDS).expect("fields");
        let out = render(
            &report,
            &users[..1],
            &columns,
            Layout::Fixed,
            false,
            false,
            "c",
        );
        assert_eq!(
            out,
            "root                                                           400      0.000000            \n\
             \x20root                     alice          1                     300      0.000000   0.000000 \n"
        );
    }

    #[test]
    fn a_real_too_wide_for_its_column_turns_to_exponent_form() {
        let mut out = String::new();
        fixed(&mut out, &Value::Real(Some(123_456.5)), 10);
        assert_eq!(out, "1.2346e+05 ");
        // Narrowed to no width at all, and not padded back (sshare 22.05).
        let mut out = String::new();
        fixed(&mut out, &Value::Real(Some(0.5)), 6);
        assert_eq!(out, "5e-01 ");
    }
}
