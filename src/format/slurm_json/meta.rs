//! The `meta`, `errors` and `warnings` every document carries
//! (`openapi_meta`, `openapi_error`, `openapi_warning`).

use serde::Serialize;

use super::Version;
use crate::format::squeue::CLUSTER_NAME;

/// Who asked, for `meta.client` and `meta.command`; the binaries read it
/// from the process ([`crate::cli::json_caller`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// The command line, program first.
    pub command: Vec<String>,
    /// The terminal the command runs on, empty when none.
    pub source: String,
    pub user: String,
    pub group: String,
}

/// `openapi_meta`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meta {
    pub plugin: Plugin,
    pub client: ClientInfo,
    pub command: Vec<String>,
    pub slurm: SlurmInfo,
}

/// `meta.plugin`: which data_parser wrote the document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plugin {
    /// The openapi plugin; empty from a command-line tool, as in Slurm.
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub data_parser: String,
    /// Where the job history is kept: Conductor's own database.
    pub accounting_storage: String,
}

/// `meta.client`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientInfo {
    pub source: String,
    pub user: String,
    pub group: String,
}

/// `meta.slurm`: the version of what answered, here Conductor's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlurmInfo {
    pub version: VersionParts,
    pub release: String,
    pub cluster: String,
}

/// `meta.slurm.version`, each part a string as in Slurm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionParts {
    pub major: String,
    pub micro: String,
    pub minor: String,
}

/// What Conductor names its accounting store in `meta.plugin`.
pub const ACCOUNTING_STORAGE: &str = "accounting_storage/conductor";

impl Meta {
    /// The meta of a document written by `version` for `caller`. The
    /// version given is Conductor's own (its release says so): a client
    /// that reads it learns what it talks to.
    pub fn new(version: Version, caller: &Caller) -> Meta {
        Meta {
            plugin: Plugin {
                kind: String::new(),
                name: String::new(),
                data_parser: version.name().to_string(),
                accounting_storage: ACCOUNTING_STORAGE.to_string(),
            },
            client: ClientInfo {
                source: caller.source.clone(),
                user: caller.user.clone(),
                group: caller.group.clone(),
            },
            command: caller.command.clone(),
            slurm: SlurmInfo {
                version: VersionParts {
                    major: env!("CARGO_PKG_VERSION_MAJOR").to_string(),
                    micro: env!("CARGO_PKG_VERSION_PATCH").to_string(),
                    minor: env!("CARGO_PKG_VERSION_MINOR").to_string(),
                },
                release: format!("conductor {}", env!("CARGO_PKG_VERSION")),
                cluster: CLUSTER_NAME.to_string(),
            },
        }
    }
}

/// `openapi_error`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenapiError {
    pub description: String,
    pub error_number: i32,
    pub error: String,
    pub source: String,
}

/// `openapi_warning`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenapiWarning {
    pub description: String,
    pub source: String,
}
