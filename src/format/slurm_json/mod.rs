//! Slurm's JSON: the documents `squeue`, `sacct`, `sinfo` and `scontrol
//! show job/node` print with `--json`, in the shapes of Slurm's
//! data_parser plugins (v0.0.39, v0.0.40 by default, v0.0.41).
//!
//! Each document is a set of serde types mirroring the components of
//! Slurm's published OpenAPI schema (`tests/data/slurm-openapi/`), one
//! module per document, shared across versions where the versions agree;
//! a field whose encoding changed between versions is an enum of the
//! encodings ([`number::Time`], [`job_info::JobStateField`], ...) chosen by
//! [`Version`]. The builders are pure: jobs and node in, document out.

pub mod db_job;
pub mod exit;
pub mod job_info;
pub mod meta;
pub mod node;
pub mod number;
pub mod sinfo;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A data_parser version, as `--json=v0.0.40` names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Version {
    /// Slurm 23.02's: plain integers for times, a string for a job's state.
    V0039,
    /// Slurm 23.11 to 24.11's, and the default.
    #[default]
    V0040,
    /// Slurm 24.05 to 25.11's.
    V0041,
}

impl Version {
    /// Every version offered, oldest first.
    pub const ALL: [Version; 3] = [Version::V0039, Version::V0040, Version::V0041];

    /// The plugin's name, `v0.0.40`.
    pub fn name(self) -> &'static str {
        match self {
            Version::V0039 => "v0.0.39",
            Version::V0040 => "v0.0.40",
            Version::V0041 => "v0.0.41",
        }
    }

    /// From v0.0.40 on, times are number objects, states arrays, and exit
    /// codes `{status, return_code, signal}`.
    pub fn has_number_times(self) -> bool {
        self >= Version::V0040
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What `--json[=VALUE]` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonFormat {
    /// One of Slurm's data_parser shapes.
    Slurm(Version),
    /// Conductor's own job objects, as the API gives them (`--json=conductor`).
    Conductor,
}

impl Default for JsonFormat {
    fn default() -> JsonFormat {
        JsonFormat::Slurm(Version::default())
    }
}

/// `--json=VALUE` named no data_parser Conductor has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownParser(pub String);

impl UnknownParser {
    /// What Slurm says of it, two lines without the `prog: error: `
    /// prefix each takes (then it exits 1).
    pub fn message(&self) -> String {
        format!(
            "data_parser_g_new: unable to find plugin {}\n\
             application/json output not supported by {}",
            self.0,
            Version::default()
        )
    }

    /// [`UnknownParser::message`]'s lines with the prefix.
    pub fn lines(&self, prog: &str) -> Vec<String> {
        self.message()
            .lines()
            .map(|line| format!("{prog}: error: {line}"))
            .collect()
    }
}

impl From<UnknownParser> for crate::Error {
    fn from(error: UnknownParser) -> crate::Error {
        crate::Error::Invalid(error.message())
    }
}

impl FromStr for JsonFormat {
    type Err = UnknownParser;

    /// The value of `--json=`: empty (bare `--json`) is the default
    /// version; Slurm's plugin names match in any case, as Slurm's do.
    fn from_str(text: &str) -> Result<JsonFormat, UnknownParser> {
        let wanted = text.trim();
        if wanted.is_empty() {
            return Ok(JsonFormat::default());
        }
        if wanted.eq_ignore_ascii_case("conductor") {
            return Ok(JsonFormat::Conductor);
        }
        Version::ALL
            .into_iter()
            .find(|version| version.name().eq_ignore_ascii_case(wanted))
            .map(JsonFormat::Slurm)
            .ok_or_else(|| UnknownParser(wanted.to_string()))
    }
}

/// Parses an optional `--json` value: `None` when `--json` was not given.
pub fn parse_json_option(value: Option<&str>) -> Result<Option<JsonFormat>, UnknownParser> {
    value.map(str::parse).transpose()
}

/// A document as the tools print it: indented, one newline at the end.
pub fn to_text<T: Serialize>(document: &T) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string_pretty(document)?;
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_json_is_v0_0_40_and_every_version_is_named() {
        assert_eq!("".parse(), Ok(JsonFormat::Slurm(Version::V0040)));
        for version in Version::ALL {
            assert_eq!(version.name().parse(), Ok(JsonFormat::Slurm(version)));
        }
        assert_eq!("V0.0.41".parse(), Ok(JsonFormat::Slurm(Version::V0041)));
        assert_eq!("conductor".parse(), Ok(JsonFormat::Conductor));
        assert_eq!(parse_json_option(None), Ok(None));
    }

    #[test]
    fn an_unknown_version_gets_slurms_two_lines() {
        let error = "v0.0.99".parse::<JsonFormat>().expect_err("unknown");
        assert_eq!(
            error.lines("squeue"),
            vec![
                "squeue: error: data_parser_g_new: unable to find plugin v0.0.99",
                "squeue: error: application/json output not supported by v0.0.40",
            ]
        );
    }
}
