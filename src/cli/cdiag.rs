//! `cdiag` (sdiag): the daemon's statistics in sdiag's layout, which the
//! Prometheus exporters parse line by line, or as JSON.

use chrono::{DateTime, Local, Utc};
use clap::Parser;

use crate::cli::{Connection, Outcome};
use crate::error::{Error, Result};
use crate::protocol::{DiagInfo, RpcCount};

/// Show the scheduler's statistics (like sdiag).
///
/// Jobs submitted, started and ended since the daemon started (or the last
/// --reset), the jobs pending and running now, the scheduler's passes and
/// their times, and the API's requests by kind (named as the Slurm RPCs
/// they stand for) and by user.
#[derive(Debug, Clone, Default, Parser)]
#[command(name = "cdiag", version, max_term_width = 100)]
pub struct CdiagArgs {
    /// Show everything (the default; accepted)
    #[arg(short = 'a', long = "all")]
    pub all: bool,

    /// Start every count again from now (root, the daemon's user or an operator)
    #[arg(short = 'r', long = "reset")]
    pub reset: bool,

    /// Sort the request tables by message type or uid
    #[arg(short = 'i', long = "sort-by-id")]
    pub sort_by_id: bool,

    /// Sort the request tables by total time
    #[arg(short = 't', long = "sort-by-time")]
    pub sort_by_time: bool,

    /// Sort the request tables by average time
    #[arg(short = 'T', long = "sort-by-time2")]
    pub sort_by_time2: bool,

    /// Print the statistics as JSON
    #[arg(long)]
    pub json: bool,

    /// Clusters (there is one; accepted)
    #[arg(short = 'M', long = "clusters", value_name = "NAME")]
    pub clusters: Option<String>,

    #[command(flatten)]
    pub connection: Connection,
}

/// How the request tables are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Most requests first (sdiag's default).
    Count,
    Id,
    TotalTime,
    AverageTime,
}

impl CdiagArgs {
    pub fn order(&self) -> Order {
        if self.sort_by_id {
            Order::Id
        } else if self.sort_by_time {
            Order::TotalTime
        } else if self.sort_by_time2 {
            Order::AverageTime
        } else {
            Order::Count
        }
    }
}

/// Runs cdiag: `--reset` clears the statistics; else they are shown.
pub fn run(prog: &str, args: CdiagArgs) -> Outcome {
    match report(&args) {
        Ok(text) => Outcome::printed(text),
        Err(error) => Outcome::error(prog, &error),
    }
}

fn report(args: &CdiagArgs) -> Result<String> {
    let client = args.connection.client()?;
    if args.reset {
        client.reset_diag()?;
        return Ok("Reset scheduling statistics\n".into());
    }
    let diag = client.diag()?;
    if args.json {
        let mut text = serde_json::to_string_pretty(&render_json(&diag))
            .map_err(|e| Error::Other(e.to_string()))?;
        text.push('\n');
        return Ok(text);
    }
    Ok(render(&diag, args.order()))
}

/// sdiag's report. The lines the exporters read keep sdiag's labels,
/// spacing and tabs exactly.
pub fn render(diag: &DiagInfo, order: Order) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    let stars = "*".repeat(55);
    line(stars.clone());
    line(format!("sdiag output at {}", when(diag.now)));
    line(format!("Data since      {}", when(diag.since)));
    line(stars);
    // Conductor serves every request on a pool of runtime threads and has
    // no agents: these stay as sdiag's readers expect them.
    line("Server thread count:  1".into());
    line("Agent queue size:     0".into());
    line("Agent count:          0".into());
    line("Agent thread count:   0".into());
    line("DBD Agent queue size: 0\n".into());
    line(format!("Jobs submitted: {}", diag.jobs_submitted));
    line(format!("Jobs started:   {}", diag.jobs_started));
    line(format!("Jobs completed: {}", diag.jobs_completed));
    line(format!("Jobs canceled:  {}", diag.jobs_canceled));
    line(format!("Jobs failed:    {}\n", diag.jobs_failed));
    line(format!("Job states ts:  {}", when(diag.now)));
    line(format!("Jobs pending:   {}", diag.jobs_pending));
    line(format!("Jobs running:   {}", diag.jobs_running));
    line("\nMain schedule statistics (microseconds):".into());
    line(format!("\tLast cycle:   {}", diag.cycle_last_us));
    line(format!("\tMax cycle:    {}", diag.cycle_max_us));
    line(format!("\tTotal cycles: {}", diag.cycles));
    if let (Some(mean), Some(depth)) = (
        diag.cycle_sum_us.checked_div(diag.cycles),
        diag.depth_sum.checked_div(diag.cycles),
    ) {
        line(format!("\tMean cycle:   {mean}"));
        line(format!("\tMean depth cycle:  {depth}"));
    }
    // As sdiag: only once more than a minute has passed.
    let seconds = u64::try_from((diag.now - diag.since).num_seconds()).unwrap_or(0);
    if seconds > 60 {
        line(format!(
            "\tCycles per minute: {}",
            diag.cycles / (seconds / 60)
        ));
    }
    line(format!("\tLast queue length: {}", diag.queue_len));
    // No backfill scheduler yet: its section, all zero, as sdiag prints
    // it before the first backfill cycle.
    line("\nBackfilling stats".into());
    line("\tTotal backfilled jobs (since last slurm start): 0".into());
    line("\tTotal backfilled jobs (since last stats cycle start): 0".into());
    line("\tTotal backfilled heterogeneous job components: 0".into());
    line("\tTotal cycles: 0".into());
    line("\tLast cycle when: N/A".into());
    line("\tLast cycle: 0".into());
    line("\tMax cycle:  0".into());
    line("\tLast depth cycle: 0".into());
    line("\tLast depth cycle (try sched): 0".into());
    line("\tLast queue length: 0".into());
    line("\tLast table size: 0".into());
    line("\nLatency for 1000 calls to gettimeofday(): 0 microseconds".into());
    line("\nRemote Procedure Call statistics by message type".into());
    for rpc in sorted(&diag.rpc_by_type, order) {
        line(format!(
            "\t{:<40}({:>5}) count:{:<6} ave_time:{:<6} total_time:{}",
            rpc.name,
            rpc.id,
            rpc.count,
            average(rpc),
            rpc.total_us
        ));
    }
    line("\nRemote Procedure Call statistics by user".into());
    for rpc in sorted(&diag.rpc_by_user, order) {
        line(format!(
            "\t{:<16}({:>8}) count:{:<6} ave_time:{:<6} total_time:{}",
            rpc.name,
            rpc.id,
            rpc.count,
            average(rpc),
            rpc.total_us
        ));
    }
    line("\nPending RPC statistics".into());
    line("\tNo pending RPCs".into());
    out
}

/// sdiag's `--json` document: `{"statistics": {...}}` with the data
/// parser's names for what Conductor counts.
pub fn render_json(diag: &DiagInfo) -> serde_json::Value {
    let rpc = |rows: &[RpcCount], key: &str, id_key: &str| -> Vec<serde_json::Value> {
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    key: r.name,
                    id_key: r.id,
                    "count": r.count,
                    "average_time": average(r),
                    "total_time": r.total_us,
                })
            })
            .collect()
    };
    serde_json::json!({
        "statistics": {
            "parts_packed": 1,
            "req_time": diag.now.timestamp(),
            "req_time_start": diag.since.timestamp(),
            "server_thread_count": 1,
            "agent_queue_size": 0,
            "agent_count": 0,
            "agent_thread_count": 0,
            "dbd_agent_queue_size": 0,
            "jobs_submitted": diag.jobs_submitted,
            "jobs_started": diag.jobs_started,
            "jobs_completed": diag.jobs_completed,
            "jobs_canceled": diag.jobs_canceled,
            "jobs_failed": diag.jobs_failed,
            "jobs_pending": diag.jobs_pending,
            "jobs_running": diag.jobs_running,
            "job_states_ts": diag.now.timestamp(),
            "schedule_cycle_last": diag.cycle_last_us,
            "schedule_cycle_max": diag.cycle_max_us,
            "schedule_cycle_total": diag.cycles,
            "schedule_cycle_mean": diag.cycle_sum_us.checked_div(diag.cycles).unwrap_or(0),
            "schedule_cycle_mean_depth": diag.depth_sum.checked_div(diag.cycles).unwrap_or(0),
            "schedule_queue_length": diag.queue_len,
            "bf_backfilled_jobs": 0,
            "bf_cycle_counter": 0,
            "rpcs_by_message_type": rpc(&diag.rpc_by_type, "message_type", "type_id"),
            "rpcs_by_user": rpc(&diag.rpc_by_user, "user", "user_id"),
        },
        "meta": {
            "plugin": {"type": "", "name": "", "data_parser": "conductor", "accounting_storage": ""},
            "command": ["sdiag"],
            "slurm": {"version": {"major": "22", "micro": "8", "minor": "05"}, "release": "22.05.8", "cluster": crate::format::scontrol::CLUSTER_NAME},
        },
        "errors": [],
        "warnings": [],
    })
}

fn average(rpc: &RpcCount) -> u64 {
    rpc.total_us.checked_div(rpc.count).unwrap_or(0)
}

fn sorted(rows: &[RpcCount], order: Order) -> Vec<&RpcCount> {
    let mut rows: Vec<&RpcCount> = rows.iter().collect();
    match order {
        Order::Count => rows.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id))),
        Order::Id => rows.sort_by_key(|r| r.id),
        Order::TotalTime => rows.sort_by_key(|r| std::cmp::Reverse(r.total_us)),
        Order::AverageTime => rows.sort_by_key(|r| std::cmp::Reverse(average(r))),
    }
    rows
}

/// `Tue Dec 01 23:57:14 2026 (1796169434)`, as sdiag prints a time.
fn when(at: DateTime<Utc>) -> String {
    format!(
        "{} ({})",
        at.with_timezone(&Local).format("%a %b %d %H:%M:%S %Y"),
        at.timestamp()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag() -> DiagInfo {
        let since = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        DiagInfo {
            now: since + chrono::Duration::seconds(600),
            since,
            jobs_submitted: 9,
            jobs_started: 7,
            jobs_completed: 5,
            jobs_canceled: 1,
            jobs_failed: 1,
            jobs_pending: 2,
            jobs_running: 1,
            cycles: 20,
            cycle_last_us: 30,
            cycle_max_us: 90,
            cycle_sum_us: 800,
            depth_sum: 40,
            queue_len: 2,
            rpc_by_type: vec![
                RpcCount {
                    name: "REQUEST_JOB_INFO".into(),
                    id: 2003,
                    count: 12,
                    total_us: 600,
                },
                RpcCount {
                    name: "REQUEST_SUBMIT_BATCH_JOB".into(),
                    id: 4003,
                    count: 9,
                    total_us: 900,
                },
            ],
            rpc_by_user: vec![RpcCount {
                name: "root".into(),
                id: 0,
                count: 21,
                total_us: 1500,
            }],
        }
    }

    #[test]
    fn the_report_has_sdiags_lines_where_its_readers_look() {
        let text = render(&diag(), Order::Count);
        for expected in [
            "Server thread count:  1\n",
            "Agent queue size:     0\n",
            "DBD Agent queue size: 0\n\n",
            "Jobs submitted: 9\n",
            "Jobs canceled:  1\n",
            "Jobs failed:    1\n\n",
            "Jobs pending:   2\n",
            "\nMain schedule statistics (microseconds):\n\tLast cycle:   30\n\tMax cycle:    90\n\
             \tTotal cycles: 20\n\tMean cycle:   40\n\tMean depth cycle:  2\n\
             \tCycles per minute: 2\n\tLast queue length: 2\n",
            "\nBackfilling stats\n\tTotal backfilled jobs (since last slurm start): 0\n",
            "\tREQUEST_JOB_INFO                        ( 2003) count:12     ave_time:50     total_time:600\n",
            "\troot            (       0) count:21     ave_time:71     total_time:1500\n",
        ] {
            assert!(text.contains(expected), "{expected:?} in\n{text}");
        }
        // Most requests first by default; by total time on request.
        let first = |order| {
            render(&diag(), order)
                .lines()
                .find(|l| l.starts_with("\tREQUEST_"))
                .map(str::to_string)
        };
        assert!(first(Order::Count).is_some_and(|l| l.contains("JOB_INFO")));
        assert!(first(Order::TotalTime).is_some_and(|l| l.contains("SUBMIT")));
    }

    #[test]
    fn the_json_names_the_counts_as_slurms_data_parser() {
        let json = render_json(&diag());
        assert_eq!(json["statistics"]["jobs_submitted"], 9);
        assert_eq!(json["statistics"]["schedule_cycle_mean"], 40);
        assert_eq!(
            json["statistics"]["rpcs_by_message_type"][1]["message_type"],
            "REQUEST_SUBMIT_BATCH_JOB"
        );
    }
}
