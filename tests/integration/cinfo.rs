//! `cinfo` (sinfo) against a real daemon: sinfo's layouts byte for byte.

use std::time::Duration;

use conductor::paths::hostname;
use conductor::protocol::{JobState, NodeInfo};

use crate::support::TestDaemon;

const SHORT: Duration = Duration::from_secs(10);

#[test]
fn the_default_layout_follows_the_node_s_state() {
    let d = TestDaemon::start(&["--cpus", "2", "--kill-wait", "1"]);
    let host = hostname();
    let header = "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n";
    assert_eq!(
        d.run("cinfo", &[]).ok(),
        format!("{header}normal*      up   infinite      1   idle {host}\n")
    );
    let one = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(one, JobState::Running, SHORT);
    assert_eq!(
        d.run("cinfo", &[]).ok(),
        format!("{header}normal*      up   infinite      1    mix {host}\n")
    );
    let two = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(two, JobState::Running, SHORT);
    assert_eq!(
        d.run("cinfo", &["--noheader"]).ok(),
        format!("normal*      up   infinite      1  alloc {host}\n")
    );
    d.run("ccancel", &[&one.to_string(), &two.to_string()]).ok();
}

#[test]
fn snakemake_finds_the_default_partition_with_percent_p() {
    let d = TestDaemon::start(&["--cpus", "1", "--partition", "batch"]);
    let out = d.run("cinfo", &["-o", "%P"]);
    assert_eq!(out.ok(), "PARTITION\nbatch*\n");
    assert_eq!(out.stderr, "");
    // Snakemake's parse: the token with a `*`.
    let default = out
        .stdout
        .split_whitespace()
        .find(|token| token.contains('*'))
        .map(|token| token.trim_end_matches('*'));
    assert_eq!(default, Some("batch"));
    assert_eq!(d.run("cinfo", &["-h", "--format=%P"]).ok(), "batch*\n");
    assert_eq!(d.run("cinfo", &["-h", "-o", "%R"]).ok(), "batch\n");
}

#[test]
fn every_format_specifier_renders() {
    let d = TestDaemon::start(&[
        "--cpus",
        "4",
        "--mem",
        "2G",
        "--gpus",
        "2",
        "--kill-wait",
        "1",
    ]);
    let host = hostname();
    let id = d.submit(&[
        "-c", "1", "--mem", "512M", "--gpus", "1", "--wrap", "sleep 30",
    ]);
    d.wait_for(id, JobState::Running, SHORT);
    let out = d.run(
        "cinfo",
        &[
            "-o",
            "%P|%R|%a|%l|%L|%D|%t|%T|%N|%n|%c|%C|%m|%e|%G|%F|%A|%z|%f|%E|%s",
        ],
    );
    assert_eq!(
        out.ok(),
        format!(
            "PARTITION|PARTITION|AVAIL|TIMELIMIT|DEFAULTTIME|NODES|STATE|STATE|NODELIST|HOSTNAMES|\
             CPUS|CPUS(A/I/O/T)|MEMORY|FREE_MEM|GRES|NODES(A/I/O/T)|NODES(A/I)|S:C:T|\
             AVAIL_FEATURES|REASON|JOB_SIZE\n\
             normal*|normal|up|infinite|n/a|1|mix|mixed|{host}|{host}|4|1/3/0/4|2048|1536|gpu:2|\
             1/0/0/1|1/0|1:4:1|(null)|none|1-infinite\n"
        )
    );
    // The load changes; its shape does not.
    let load = d.run("cinfo", &["-h", "-o", "%O"]);
    let load = load.ok().trim().to_string();
    let (whole, fraction) = load.split_once('.').expect("a decimal");
    assert!(whole.chars().all(|c| c.is_ascii_digit()), "{load}");
    assert_eq!(fraction.len(), 2, "{load}");
    // Widths pad and cut, a dot right-justifies.
    assert_eq!(
        d.run("cinfo", &["-h", "-o", "[%10P][%.4D][%3T]"]).ok(),
        "[normal*   ][   1][mix]\n"
    );
    d.run("ccancel", &[&id.to_string()]).ok();
    d.wait_for(id, JobState::Cancelled, SHORT);
    assert_eq!(
        d.run("cinfo", &["-h", "-o", "%C %G %F %A"]).ok(),
        "0/4/0/4 gpu:2 0/1/0/1 0/1\n"
    );
}

#[test]
fn node_long_and_summarized_layouts() {
    let d = TestDaemon::start(&["--cpus", "2", "--mem", "1G"]);
    let host = hostname();
    // sinfo's node list column: the longest name, at least 9.
    let width = host.len().max(9);

    let node = d.run("cinfo", &["-N"]);
    assert_eq!(
        node.ok(),
        format!(
            "{:<width$}  NODES PARTITION STATE \n{host:<width$}      1   normal* idle  \n",
            "NODELIST"
        )
    );
    assert_eq!(d.run("cinfo", &["--Node"]).ok(), node.stdout);

    let long = d.run("cinfo", &["-l"]);
    let lines: Vec<&str> = long.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    // A ctime date first: `Mon Jan  5 09:03:04 2026`.
    let parsed = chrono::NaiveDateTime::parse_from_str(lines[0], "%a %b %e %H:%M:%S %Y");
    assert!(parsed.is_ok(), "{:?}", lines[0]);
    assert_eq!(
        lines[1],
        "PARTITION AVAIL  TIMELIMIT   JOB_SIZE ROOT OVERSUBS     GROUPS  NODES       STATE NODELIST"
    );
    assert_eq!(
        lines[2],
        format!(
            "normal*      up   infinite 1-infinite   no       NO        all      1        idle {host}"
        )
    );

    let node_long = d.run("cinfo", &["-N", "-l", "-h"]);
    let lines: Vec<&str> = node_long.ok().lines().collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        lines[1],
        format!(
            "{host:<width$}      1   normal*        idle 2       1:2:1   1024        0      1   (null) none                "
        )
    );

    assert_eq!(
        d.run("cinfo", &["-s"]).ok(),
        format!(
            "PARTITION AVAIL  TIMELIMIT   NODES(A/I/O/T) NODELIST\n\
             normal*      up   infinite          0/1/0/1 {host}\n"
        )
    );
    assert_eq!(
        d.run(
            "cinfo",
            &["-O", "partition:10,nodes:.6,statecompact:6,nodelist"]
        )
        .ok(),
        format!("PARTITION  NODESSTATE NODELIST            \nnormal*        1idle  {host:<20}\n")
    );
}

#[test]
fn filters_options_and_errors() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let host = hostname();
    assert_eq!(
        d.run("cinfo", &["-p", "gpu", "-o", "%P"]).ok(),
        "PARTITION\n"
    );
    assert_eq!(
        d.run("cinfo", &["--partition=gpu,normal", "-o", "%P"]).ok(),
        "PARTITION\nnormal*\n"
    );
    // sinfo 22.05 keeps the partition whose node -t leaves out, empty.
    assert_eq!(
        d.run("cinfo", &["-t", "alloc,mix", "-h"]).ok(),
        "normal*      up   infinite      0    n/a \n"
    );
    assert_eq!(
        d.run("cinfo", &["--states=IDLE", "-h", "-o", "%t"]).ok(),
        "idle\n"
    );
    assert_eq!(d.run("cinfo", &["-n", "elsewhere", "-h"]).ok(), "");
    assert_eq!(
        d.run("cinfo", &["-e", "-r", "-a", "-h", "-o", "%N"]).ok(),
        format!("{host}\n")
    );

    let json = d.run("cinfo", &["--json=conductor"]);
    let node: NodeInfo = serde_json::from_str(json.ok()).expect("NodeInfo");
    assert_eq!(node, d.client().node().expect("node"));

    // Unknown letters are printed as written and reported; exit 0 as sinfo.
    let out = d.run("cinfo", &["-h", "-o", "%P %k"]);
    assert_eq!(out.code, 0);
    assert_eq!(out.stdout, "normal* %k\n");
    assert_eq!(
        out.stderr,
        "cinfo: error: Invalid node format specification: k\n"
    );
    let out = d.run("cinfo", &["-t", "sleepy"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.starts_with(
            "cinfo: error: Bad state string: \"sleepy\"\ncinfo: error: valid states: unknown,down,idle,"
        ),
        "{}",
        out.stderr
    );
    let out = d.run("cinfo", &["--bogus"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("cinfo: unrecognized option '--bogus'")
    );
}

#[test]
fn every_node_is_listed_by_the_nodes_route_and_the_binaries() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let host = hostname();
    let (status, body) =
        d.raw_http("GET /v1/nodes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200, "{body}");
    let nodes: Vec<NodeInfo> = serde_json::from_str(&body).expect("a node list");
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0].name, host);
    assert_eq!(nodes[0], d.client().node().expect("node"));
    assert_eq!(d.client().nodes().expect("nodes"), nodes);
    // `-n` takes a hostlist; a name not in it leaves the partition empty.
    assert_eq!(
        d.run(
            "cinfo",
            &["-h", "-o", "%N %D", "-n", &format!("{host},other[1-3]")]
        )
        .ok(),
        format!("{host} 1\n")
    );
    assert_eq!(
        d.run("cinfo", &["-h", "-n", "other[1-3]", "-o", "%N"]).ok(),
        ""
    );
    // scontrol prints each name of a hostlist in turn, an unknown one as
    // `Node NAME not found` in its place, and exits 1.
    let shown = d.run("ccontrol", &["show", "node", &host]);
    let record = shown.ok().to_string();
    assert_eq!(record, d.run("ccontrol", &["show", "node"]).ok());
    let out = d.run("ccontrol", &["show", "node", &format!("{host},other1")]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stdout, format!("{record}Node other1 not found\n"));
    let out = d.run("ccontrol", &["show", "node", "n[1-"]);
    assert_eq!(
        (out.code, out.stdout.as_str(), out.stderr.as_str()),
        (1, "", "unable to parse node list n[1-\n")
    );
}
