//! `conductord --import-properties`: the seed service's `app.properties`
//! (`KEY=VALUE` lines) written as a `conductor.toml`.
//!
//! What maps: `NODE_NAME` (NodeName), `TOTAL_CPUS` (CPUs),
//! `DEFAULT_PARTITION` (DefaultPartition), `API_HOST` and `API_PORT`
//! (Listen, one `host:port`; the seed's port is 8000 when only its host is
//! given, its host loopback when only its port is), `LOG_FILE` (LogFile).
//!
//! What has no equivalent, and is written as a comment saying why:
//! `LOG_LEVEL` (the daemon logs one line per job event, at one level);
//! `POSTGRES_*`, `REDIS_*`, `RQ_QUEUE_NAME`, `RQ_RESULT_TTL` (jobs live in
//! an SQLite store under StateSaveLocation, and there is no queue server);
//! `API_WORKERS`, `WORKER_CONCURRENCY`, `WORKER_BURST` (one daemon serves
//! the API and starts every job that fits the node's CPUs);
//! `JOB_WORK_BASE_DIR` and `SCRIPT_DIR` (a job runs in the directory it was
//! submitted from, its script kept under StateSaveLocation). The seed's
//! retention rules had no keys of their own: failing jobs that ran over
//! 48 hours is a partition's `MaxTime = "2-00:00:00"` here, and cleaning
//! up old jobs is `HistoryDays`; the output suggests both in comments.

use std::fmt::Write;

/// Why a properties file cannot be converted: the line and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {message}")]
pub struct PropertiesError {
    pub line: usize,
    pub message: String,
}

/// The seed's port when `API_PORT` is not given.
const SEED_API_PORT: u16 = 8000;

/// The TOML for the properties `text` (from `source`, named in its header).
pub fn to_toml(source: &str, text: &str) -> Result<String, PropertiesError> {
    let mut out =
        format!("# conductor.toml converted from {source} by conductord --import-properties\n");
    let mut host: Option<(String, usize)> = None;
    let mut port: Option<(u16, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with('!') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once(['=', ':']) else {
            return Err(PropertiesError {
                line,
                message: format!("{trimmed:?} is not KEY=VALUE"),
            });
        };
        let (key, value) = (key.trim(), value.trim());
        let bad = |what: &str| PropertiesError {
            line,
            message: format!("{key}={value}: {what}"),
        };
        match key {
            "NODE_NAME" => setting(&mut out, key, "NodeName", &string(value)),
            "TOTAL_CPUS" => {
                let cpus: u32 = value.parse().map_err(|_| bad("not a number of CPUs"))?;
                setting(&mut out, key, "CPUs", &cpus.to_string());
            }
            "DEFAULT_PARTITION" => setting(&mut out, key, "DefaultPartition", &string(value)),
            "LOG_FILE" => setting(&mut out, key, "LogFile", &string(value)),
            "API_HOST" => host = Some((value.to_string(), line)),
            "API_PORT" => port = Some((value.parse().map_err(|_| bad("not a port"))?, line)),
            _ => {
                let _ = writeln!(out, "# {key}: {}", no_equivalent(key));
            }
        }
    }
    if host.is_some() || port.is_some() {
        let (host, line) = host.unwrap_or_else(|| ("127.0.0.1".to_string(), 0));
        let port = port.map_or(SEED_API_PORT, |(port, _)| port);
        let address = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let loopback = address
            .parse::<std::net::SocketAddr>()
            .map(|a| a.ip().is_loopback())
            .map_err(|_| PropertiesError {
                line,
                message: format!("API_HOST {host}: not an IP address (Listen takes one)"),
            })?;
        if !loopback {
            out.push_str(
                "# Beyond loopback, Listen needs TLSCert and TLSKey (or InsecureListen = true).\n",
            );
        }
        setting(&mut out, "API_HOST, API_PORT", "Listen", &string(&address));
    }
    out.push_str(
        "# The seed failed jobs running over 48 hours: a partition's MaxTime does that here.\n\
         # [[partition]]\n# PartitionName = \"normal\"\n# MaxTime = \"2-00:00:00\"\n\
         # The seed cleaned up old jobs: HistoryDays keeps finished jobs that many days.\n\
         # HistoryDays = 30\n",
    );
    Ok(out)
}

fn setting(out: &mut String, seed: &str, key: &str, value: &str) {
    let _ = writeln!(out, "# from {seed}\n{key} = {value}");
}

fn string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// Why a seed key has no key here (see the module's header).
fn no_equivalent(key: &str) -> &'static str {
    match key {
        "LOG_LEVEL" => "no equivalent: the daemon logs one line per job event, at one level",
        k if k.starts_with("POSTGRES_") || k.starts_with("REDIS_") || k.starts_with("RQ_") => {
            "no equivalent: jobs live in an SQLite store under StateSaveLocation, with no queue server"
        }
        "API_WORKERS" | "WORKER_CONCURRENCY" | "WORKER_BURST" => {
            "no equivalent: one daemon serves the API and starts every job that fits the CPUs"
        }
        "JOB_WORK_BASE_DIR" | "SCRIPT_DIR" => {
            "no equivalent: a job runs where it was submitted, its script kept under StateSaveLocation"
        }
        _ => "not a setting of the seed's; left out",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_s_settings_map_and_the_rest_are_comments() {
        let toml = to_toml(
            "app.properties",
            "# seed\nNODE_NAME=gpu01\nTOTAL_CPUS = 64\nDEFAULT_PARTITION=batch\nAPI_HOST=127.0.0.1\n\
             API_PORT=8080\nLOG_LEVEL=INFO\nLOG_FILE=/var/log/seed.log\nPOSTGRES_HOST=db\n",
        )
        .expect("converts");
        let table: toml::Table = toml.parse().expect("TOML");
        assert_eq!(table["NodeName"].as_str(), Some("gpu01"));
        assert_eq!(table["CPUs"].as_integer(), Some(64));
        assert_eq!(table["DefaultPartition"].as_str(), Some("batch"));
        assert_eq!(table["Listen"].as_str(), Some("127.0.0.1:8080"));
        assert_eq!(table["LogFile"].as_str(), Some("/var/log/seed.log"));
        assert_eq!(table.len(), 5, "{toml}");
        assert!(toml.contains("# LOG_LEVEL: no equivalent"), "{toml}");
        assert!(toml.contains("# POSTGRES_HOST: no equivalent"), "{toml}");
    }

    #[test]
    fn the_seed_s_port_is_its_default_and_bad_lines_are_refused() {
        let toml = to_toml("p", "API_HOST=0.0.0.0\n").expect("converts");
        assert!(toml.contains("Listen = \"0.0.0.0:8000\""), "{toml}");
        assert!(toml.contains("needs TLSCert"), "{toml}");
        assert_eq!(
            to_toml("p", "\nTOTAL_CPUS=many\n"),
            Err(PropertiesError {
                line: 2,
                message: "TOTAL_CPUS=many: not a number of CPUs".into()
            })
        );
        assert!(to_toml("p", "just words").is_err());
    }
}
