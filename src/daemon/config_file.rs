//! The configuration file, `conductor.toml`: where it is, how it is read
//! (every refusal one line naming the file, the line and the key), and the
//! one place where it and the command line come together ([`overlay`]): a
//! flag given wins over its key, a key over the built-in default.
//!
//! The settings themselves are one struct that is at once `conductord`'s
//! flags (clap) and the file's keys (serde): see
//! `crate::cli::conductord::Settings`. This module knows them only as
//! serde types, so that it stays pure and its tests need no daemon. Also
//! here: the shapes settings take in a file that a flag writes otherwise
//! (`[[partition]]` tables for `--partition-def` lines, clap's value enums,
//! numbers where a flag takes text).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::daemon::partitions::parse_definition;
use crate::format::duration::format_squeue;

/// The file a per-user daemon reads, under `$XDG_CONFIG_HOME/conductor`.
pub const FILE_NAME: &str = "conductor.toml";

/// The file a `--system` daemon reads.
pub const SYSTEM_FILE: &str = "/etc/conductor/conductor.toml";

/// The file read when no `--config` names one: `/etc/conductor/conductor.toml`
/// for a system daemon, else `$XDG_CONFIG_HOME/conductor/conductor.toml`
/// (`~/.config/conductor/conductor.toml`); `None` without a home directory.
pub fn default_path(system: bool) -> Option<PathBuf> {
    if system {
        return Some(PathBuf::from(SYSTEM_FILE));
    }
    directories::ProjectDirs::from("", "", "conductor")
        .map(|dirs| dirs.config_dir().join(FILE_NAME))
}

/// Why a configuration file was refused; each is one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{}: {}", path.display(), crate::error::io_reason(cause))]
    Unreadable {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// A syntax error, an unknown key, or a value a key does not take.
    #[error("{}:{line}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A configuration file's text, read but not yet understood.
#[derive(Debug, Clone)]
pub struct ConfigFile {
    path: PathBuf,
    text: String,
}

impl ConfigFile {
    /// Reads a file that must exist (one named by `--config`).
    pub fn read(path: &Path) -> Result<ConfigFile, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(ConfigFile::from_text(path, text)),
            Err(cause) => Err(ConfigError::Unreadable {
                path: path.to_path_buf(),
                cause,
            }),
        }
    }

    /// Reads a default file, which need not exist: `None` if it does not,
    /// or if it lies in a directory this user may not look into (a
    /// daemon run as another user with `HOME` left pointing at root's).
    /// A file that is there but unreadable is an error.
    pub fn read_if_present(path: &Path) -> Result<Option<ConfigFile>, ConfigError> {
        match ConfigFile::read(path) {
            Err(ConfigError::Unreadable { cause, .. })
                if cause.kind() == std::io::ErrorKind::NotFound
                    || (cause.kind() == std::io::ErrorKind::PermissionDenied
                        && std::fs::metadata(path).is_err()) =>
            {
                Ok(None)
            }
            other => other.map(Some),
        }
    }

    /// A file of this text, as if read from `path`.
    pub fn from_text(path: &Path, text: String) -> ConfigFile {
        ConfigFile {
            path: path.to_path_buf(),
            text,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings the file holds (`S` fills in the keys it leaves out).
    /// Unknown keys, values of the wrong type and values `S`'s own
    /// deserializers refuse are errors at their line.
    pub fn settings<S: DeserializeOwned>(&self) -> Result<S, ConfigError> {
        toml::from_str(&self.text).map_err(|error| {
            let line = error.span().map_or(1, |span| self.line_of(span.start));
            self.invalid(line, &describe(error.message(), self.line_text(line)))
        })
    }

    /// The top-level keys the file sets that are not tables (nor arrays of
    /// them), each with its value as a flag would be given it (an array as
    /// several values) and its line: what a flag's own parser can check.
    pub fn flag_values(&self) -> Result<Vec<(String, Vec<String>, usize)>, ConfigError> {
        let document = toml::de::DeTable::parse(&self.text).map_err(|error| {
            let line = error.span().map_or(1, |span| self.line_of(span.start));
            self.invalid(line, error.message())
        })?;
        let mut values = Vec::new();
        for (key, value) in document.get_ref() {
            let texts = match value.get_ref() {
                toml::de::DeValue::String(text) => vec![text.to_string()],
                toml::de::DeValue::Integer(number) => vec![number.as_str().replace('_', "")],
                toml::de::DeValue::Boolean(yes) => vec![yes.to_string()],
                toml::de::DeValue::Array(items)
                    if !items
                        .iter()
                        .any(|item| matches!(item.get_ref(), toml::de::DeValue::Table(_))) =>
                {
                    items
                        .iter()
                        .filter_map(|item| match item.get_ref() {
                            toml::de::DeValue::String(text) => Some(text.to_string()),
                            toml::de::DeValue::Integer(number) => {
                                Some(number.as_str().replace('_', ""))
                            }
                            _ => None,
                        })
                        .collect()
                }
                _ => continue,
            };
            let line = self.line_of(key.span().start);
            values.push((key.get_ref().to_string(), texts, line));
        }
        Ok(values)
    }

    /// An error at `line` of this file.
    pub fn invalid(&self, line: usize, message: &str) -> ConfigError {
        ConfigError::Invalid {
            path: self.path.clone(),
            line,
            message: message.to_string(),
        }
    }

    fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line - 1).unwrap_or("")
    }
}

/// toml's message for an error on `line`, said as one line that names
/// the key: `unknown key `FirstJobID` (did you mean `FirstJobId`?)`, or
/// `KillWait: invalid type: string "x", expected u64`.
fn describe(message: &str, line: &str) -> String {
    let message = message.lines().next().unwrap_or(message).trim();
    if let Some(rest) = message.strip_prefix("unknown field `")
        && let Some((key, expected)) = rest.split_once('`')
    {
        let known = expected.split('`').skip(1).step_by(2);
        return match known.clone().find(|name| name.eq_ignore_ascii_case(key)) {
            Some(name) => format!("unknown key `{key}` (did you mean `{name}`?)"),
            None => format!("unknown key `{key}`"),
        };
    }
    let key = line
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"'))
        .filter(|key| {
            !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
    match key {
        Some(key) => format!("{key}: {message}"),
        None => message.to_string(),
    }
}

/// `under` with every key for which `take` holds replaced by `over`'s
/// value: the one merge of file and command line. With `under` the file's
/// settings (its defaults filled in) and `over` the command line's, `take`
/// says which keys were given as flags.
pub fn overlay<S: Serialize + DeserializeOwned>(
    under: &S,
    over: &S,
    take: impl Fn(&str) -> bool,
) -> Result<S, String> {
    let mut merged = toml::Table::try_from(under).map_err(|e| e.to_string())?;
    let over = toml::Table::try_from(over).map_err(|e| e.to_string())?;
    for (key, value) in over {
        if take(&key) {
            merged.insert(key, value);
        }
    }
    merged
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string())
}

/// A `[[partition]]` table: a `--partition-def` line's keys, with
/// slurm.conf's names. Read through [`parse_definition`], the one grammar
/// of a partition, so that a table accepts exactly what a line does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionTable {
    #[serde(rename = "PartitionName")]
    pub name: String,
    /// Where a job that names no partition goes (else the first is).
    #[serde(
        rename = "Default",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub default: bool,
    /// Slurm's time forms (`30` minutes, `1-00:00:00`, `UNLIMITED`).
    #[serde(
        rename = "MaxTime",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text::option"
    )]
    pub max_time: Option<String>,
    #[serde(
        rename = "DefaultTime",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text::option"
    )]
    pub default_time: Option<String>,
    #[serde(
        rename = "PriorityTier",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub priority_tier: Option<u32>,
    #[serde(
        rename = "PriorityJobFactor",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub priority_job_factor: Option<u32>,
    /// The groups whose members may submit here; absent (or `["ALL"]`) is all.
    #[serde(
        rename = "AllowGroups",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_groups: Option<Vec<String>>,
    /// The accounts whose jobs may run here; absent (or `["ALL"]`) is all.
    #[serde(
        rename = "AllowAccounts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_accounts: Option<Vec<String>>,
    /// The accounts whose jobs may not (ignored when AllowAccounts is set).
    #[serde(
        rename = "DenyAccounts",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub deny_accounts: Option<Vec<String>>,
    /// `1` or `UNLIMITED` (there is one node).
    #[serde(
        rename = "MaxNodes",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "text::option"
    )]
    pub max_nodes: Option<String>,
    /// `UP` (the only state a partition has here).
    #[serde(rename = "State", default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `ALL` (every partition covers the one node).
    #[serde(rename = "Nodes", default, skip_serializing_if = "Option::is_none")]
    pub nodes: Option<String>,
}

impl PartitionTable {
    /// The table as a `--partition-def` line, refused as the line would be.
    pub fn to_line(&self) -> Result<String, String> {
        let mut words = vec![("PartitionName", self.name.clone())];
        if self.default {
            words.push(("Default", "YES".into()));
        }
        let mut push = |key, value: Option<String>| {
            if let Some(value) = value {
                words.push((key, value));
            }
        };
        push("MaxTime", self.max_time.clone());
        push("DefaultTime", self.default_time.clone());
        push("PriorityTier", self.priority_tier.map(|n| n.to_string()));
        push(
            "PriorityJobFactor",
            self.priority_job_factor.map(|n| n.to_string()),
        );
        push(
            "AllowGroups",
            self.allow_groups.as_ref().map(|g| g.join(",")),
        );
        push(
            "AllowAccounts",
            self.allow_accounts.as_ref().map(|a| a.join(",")),
        );
        push(
            "DenyAccounts",
            self.deny_accounts.as_ref().map(|a| a.join(",")),
        );
        push("MaxNodes", self.max_nodes.clone());
        push("State", self.state.clone());
        push("Nodes", self.nodes.clone());
        if let Some((key, value)) = words
            .iter()
            .find(|(_, value)| value.is_empty() || value.contains(char::is_whitespace))
        {
            return Err(format!("{key}: {value:?} is not a single word"));
        }
        let line = words
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(" ");
        parse_definition(&line)?;
        Ok(line)
    }

    /// The table of a valid `--partition-def` line, its values as the
    /// daemon understood them (the defaults left out).
    pub fn from_line(line: &str) -> Result<PartitionTable, String> {
        let (partition, default) = parse_definition(line)?;
        Ok(PartitionTable {
            name: partition.name,
            default,
            max_time: partition.max_time_secs.map(format_squeue),
            default_time: partition.default_time_secs.map(format_squeue),
            priority_tier: Some(partition.priority_tier).filter(|&tier| tier != 1),
            priority_job_factor: Some(partition.priority_job_factor).filter(|&f| f != 1),
            allow_groups: partition.allow_groups,
            allow_accounts: partition.allow_accounts,
            deny_accounts: partition.deny_accounts,
            max_nodes: partition.max_nodes.map(|n| n.to_string()),
            state: None,
            nodes: None,
        })
    }
}

/// A valid `--partition-def` line read from a `[[partition]]` table; a
/// table the line's grammar refuses is an error at the table.
#[derive(Deserialize)]
#[serde(try_from = "PartitionTable")]
struct PartitionLine(String);

impl TryFrom<PartitionTable> for PartitionLine {
    type Error = String;

    fn try_from(table: PartitionTable) -> Result<PartitionLine, String> {
        table.to_line().map(PartitionLine)
    }
}

/// `--partition-def` lines as `[[partition]]` tables (`#[serde(with)]`).
pub mod partition_lines {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, ser::Error as _};

    use super::{PartitionLine, PartitionTable};

    pub fn serialize<S: Serializer>(lines: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        lines
            .iter()
            .map(|line| PartitionTable::from_line(line))
            .collect::<Result<Vec<_>, _>>()
            .map_err(S::Error::custom)?
            .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        let lines = Vec::<PartitionLine>::deserialize(deserializer)?;
        Ok(lines.into_iter().map(|PartitionLine(line)| line).collect())
    }
}

/// A clap value enum as the name its flag takes (`#[serde(with)]`), any
/// case and alias accepted as on the command line.
pub mod value_enum {
    use clap::ValueEnum;
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

    pub fn serialize<T: ValueEnum, S: Serializer>(
        value: &T,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let name = value
            .to_possible_value()
            .ok_or_else(|| S::Error::custom("a value without a name"))?;
        serializer.serialize_str(name.get_name())
    }

    pub fn deserialize<'de, T: ValueEnum, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        let text = String::deserialize(deserializer)?;
        T::from_str(&text, true).map_err(|_| {
            let names: Vec<String> = T::value_variants()
                .iter()
                .filter_map(ValueEnum::to_possible_value)
                .map(|v| v.get_name().to_string())
                .collect();
            D::Error::custom(format!("{text:?} is not one of {}", names.join(", ")))
        })
    }
}

/// Text that a file may give as a number too (`RealMemory = 16384`,
/// `PriorityCalcPeriod = 5`), as a flag would take it.
pub mod text {
    use serde::{Deserializer, de};

    struct Text;

    impl de::Visitor<'_> for Text {
        type Value = String;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string or an integer")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<String, E> {
            Ok(text.to_string())
        }

        fn visit_i64<E: de::Error>(self, number: i64) -> Result<String, E> {
            Ok(number.to_string())
        }

        fn visit_u64<E: de::Error>(self, number: u64) -> Result<String, E> {
            Ok(number.to_string())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(Text)
    }

    /// [`deserialize`] for a key that may be left out (`#[serde(default)]`).
    pub fn option<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        deserialize(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default, deny_unknown_fields)]
    struct Sample {
        #[serde(rename = "FirstJobId")]
        first_job_id: u64,
        #[serde(rename = "RealMemory", deserialize_with = "text::option")]
        memory: Option<String>,
        #[serde(rename = "Operators")]
        operators: Vec<String>,
        #[serde(rename = "partition", with = "partition_lines")]
        partitions: Vec<String>,
    }

    impl Default for Sample {
        fn default() -> Sample {
            Sample {
                first_job_id: 1,
                memory: None,
                operators: Vec::new(),
                partitions: Vec::new(),
            }
        }
    }

    fn file(text: &str) -> ConfigFile {
        ConfigFile::from_text(Path::new("/etc/conductor/conductor.toml"), text.to_string())
    }

    fn refusal(text: &str) -> String {
        file(text)
            .settings::<Sample>()
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_file_gives_its_keys_and_leaves_the_rest_to_the_defaults() {
        let sample: Sample = file(
            "FirstJobId = 1000\nRealMemory = 2048\n\n[[partition]]\nPartitionName = \"debug\"\n\
             MaxTime = 30\nDefault = true\n\n[[partition]]\nPartitionName = \"long\"\n\
             AllowGroups = [\"hpc\", \"ops\"]\nMaxTime = \"UNLIMITED\"\n",
        )
        .settings()
        .expect("valid");
        assert_eq!(sample.first_job_id, 1000);
        assert_eq!(sample.memory.as_deref(), Some("2048"));
        assert!(sample.operators.is_empty());
        assert_eq!(
            sample.partitions,
            [
                "PartitionName=debug Default=YES MaxTime=30",
                "PartitionName=long MaxTime=UNLIMITED AllowGroups=hpc,ops"
            ]
        );
        assert_eq!(
            file("").settings::<Sample>().expect("empty"),
            Sample::default()
        );
    }

    #[test]
    fn a_bad_file_is_one_line_naming_file_line_and_key() {
        assert_eq!(
            refusal("RealMemory = \"1G\"\n\nFirstJobID = 12\n"),
            "/etc/conductor/conductor.toml:3: unknown key `FirstJobID` (did you mean `FirstJobId`?)"
        );
        assert_eq!(
            refusal("Colour = 1"),
            "/etc/conductor/conductor.toml:1: unknown key `Colour`"
        );
        let wrong = refusal("\nFirstJobId = \"soon\"\n");
        assert!(
            wrong.starts_with("/etc/conductor/conductor.toml:2: FirstJobId: invalid type"),
            "{wrong}"
        );
        let syntax = refusal("FirstJobId = = 3\n");
        assert!(
            syntax.starts_with("/etc/conductor/conductor.toml:1: "),
            "{syntax}"
        );
        assert_eq!(syntax.lines().count(), 1);
        let partition = refusal("[[partition]]\nPartitionName = \"a\"\nMaxTime = \"soon\"\n");
        assert!(
            partition.starts_with("/etc/conductor/conductor.toml:")
                && partition.contains("not a time"),
            "{partition}"
        );
        let unknown = refusal("[[partition]]\nPartitionName = \"a\"\nColour = \"blue\"\n");
        assert_eq!(
            unknown,
            "/etc/conductor/conductor.toml:3: unknown key `Colour`"
        );
    }

    #[test]
    fn flags_given_win_over_the_file_and_the_file_over_the_defaults() {
        let from_file = Sample {
            first_job_id: 1000,
            memory: Some("4G".into()),
            operators: vec!["alice".into()],
            partitions: vec!["PartitionName=a".into()],
        };
        let from_flags = Sample {
            first_job_id: 7,
            operators: vec!["bob".into()],
            ..Sample::default()
        };
        let merged = overlay(&from_file, &from_flags, |key| {
            ["FirstJobId", "Operators"].contains(&key)
        })
        .expect("merges");
        assert_eq!(
            merged,
            Sample {
                first_job_id: 7,
                memory: Some("4G".into()),
                operators: vec!["bob".into()],
                partitions: vec!["PartitionName=a".into()],
            }
        );
        let untouched = overlay(&from_file, &from_flags, |_| false).expect("merges");
        assert_eq!(untouched, from_file);
    }

    #[test]
    fn partitions_round_trip_through_their_tables() {
        let line = "PartitionName=debug Default=YES MaxTime=30 DefaultTime=10 PriorityTier=2 \
                    PriorityJobFactor=3 AllowGroups=hpc AllowAccounts=phys,chem \
                    DenyAccounts=bio MaxNodes=1";
        let table = PartitionTable::from_line(line).expect("valid");
        assert_eq!(table.deny_accounts, Some(vec!["bio".to_string()]));
        assert_eq!(table.max_time.as_deref(), Some("30:00"));
        let again = table.to_line().expect("valid");
        assert_eq!(
            parse_definition(&again).expect("valid"),
            parse_definition(line).expect("valid")
        );
        let spaced = PartitionTable {
            name: "a b".into(),
            ..PartitionTable::default()
        };
        assert!(spaced.to_line().is_err());
    }

    #[test]
    fn a_system_daemon_reads_etc_and_a_user_s_its_config_home() {
        assert_eq!(
            default_path(true),
            Some(PathBuf::from("/etc/conductor/conductor.toml"))
        );
        if let Some(path) = default_path(false) {
            assert!(
                path.ends_with("conductor/conductor.toml"),
                "{}",
                path.display()
            );
        }
    }

    #[test]
    fn flag_values_are_the_keys_as_a_flag_would_take_them() {
        let values = file(
            "FirstJobId = 1_000\nOperators = [\"a\", \"b\"]\nEnforce = true\n[[partition]]\nPartitionName = \"x\"\n",
        )
        .flag_values()
        .expect("parses");
        assert_eq!(
            values,
            [
                ("Enforce".to_string(), vec!["true".to_string()], 3),
                ("FirstJobId".to_string(), vec!["1000".to_string()], 1),
                (
                    "Operators".to_string(),
                    vec!["a".to_string(), "b".to_string()],
                    2
                ),
            ]
        );
    }
}
