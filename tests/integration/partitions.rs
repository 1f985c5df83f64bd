//! Several partitions on the one node, and the per-user limits, against a
//! real daemon: where jobs go, what they wait for, what is refused, and
//! what cinfo and ccontrol show.

use std::time::Duration;

use conductor::paths::hostname;
use conductor::protocol::{JobId, JobState, Reason};

use crate::support::{TestDaemon, wait_until};
use crate::users::{TestUser, home_of, skip_unless_root_with_useradd, system_daemon};

const SHORT: Duration = Duration::from_secs(10);

const DEBUG: &str = "PartitionName=debug Default=YES MaxTime=1 MaxNodes=1 State=UP";
const LONG: &str = "PartitionName=long MaxTime=UNLIMITED DefaultTime=30 PriorityTier=2 \
                    PriorityJobFactor=3 AllowGroups=ALL";

fn two_partitions(extra: &[&str]) -> TestDaemon {
    let mut args = vec!["--cpus", "2", "--kill-wait", "1"];
    args.extend(["--partition-def", DEBUG, "--partition-def", LONG]);
    args.extend_from_slice(extra);
    TestDaemon::start(&args)
}

/// `Key=value` in a `ccontrol show` record.
fn value<'a>(record: &'a str, key: &str) -> Option<&'a str> {
    record
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
}

/// Waits until a pending job shows `reason`.
#[track_caller]
fn wait_reason(d: &TestDaemon, id: JobId, reason: Reason) {
    wait_until(SHORT, &format!("job {id} pends with {reason}"), || {
        let job = d.job(id);
        job.state == JobState::Pending && job.reason == reason
    });
}

#[test]
fn cinfo_and_ccontrol_show_every_partition_in_definition_order() {
    let d = two_partitions(&[]);
    let host = hostname();
    assert_eq!(
        d.run("cinfo", &[]).ok(),
        format!(
            "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
             debug*       up       1:00      1   idle {host}\n\
             long         up   infinite      1   idle {host}\n"
        )
    );
    assert_eq!(
        d.run("cinfo", &["-h", "-p", "long", "-o", "%P"]).ok(),
        "long\n"
    );

    let all = d.run("ccontrol", &["show", "partition"]);
    let records: Vec<&str> = all.ok().split("\n\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(records.len(), 2, "{all:?}");
    let (debug, long) = (records[0], records[1]);
    assert!(debug.starts_with("PartitionName=debug\n"), "{debug}");
    assert_eq!(value(debug, "Default"), Some("YES"));
    assert_eq!(value(debug, "MaxTime"), Some("00:01:00"));
    assert_eq!(value(debug, "DefaultTime"), Some("NONE"));
    assert_eq!(value(debug, "MaxNodes"), Some("1"));
    assert_eq!(value(debug, "Nodes"), Some(host.as_str()));
    assert!(long.starts_with("PartitionName=long\n"), "{long}");
    assert_eq!(value(long, "Default"), Some("NO"));
    assert_eq!(value(long, "MaxTime"), Some("UNLIMITED"));
    assert_eq!(value(long, "DefaultTime"), Some("00:30:00"));
    assert_eq!(value(long, "PriorityTier"), Some("2"));
    assert_eq!(value(long, "PriorityJobFactor"), Some("3"));
    assert_eq!(value(long, "AllowGroups"), Some("ALL"));

    let one = d.run("ccontrol", &["show", "partition", "long"]);
    assert!(one.ok().starts_with("PartitionName=long\n"), "{one:?}");
    assert!(!one.stdout.contains("PartitionName=debug"));
    let missing = d.run("ccontrol", &["show", "partition", "nope"]);
    assert_ne!(missing.code, 0);
    assert_eq!(missing.stdout, "Partition nope not found\n");
}

#[test]
fn jobs_go_to_the_first_listed_partition_that_accepts_them() {
    let d = two_partitions(&[]);
    let partition = |args: &[&str]| {
        let mut argv = vec!["--hold"];
        argv.extend_from_slice(args);
        argv.extend(["--wrap", "true"]);
        let id = d.submit(&argv);
        (id, d.job(id).partition)
    };
    assert_eq!(partition(&[]).1, "debug", "no -p: the default");
    assert_eq!(partition(&["-p", "long,debug"]).1, "long");
    assert_eq!(partition(&["-p", "debug,long", "-t", "1"]).1, "debug");
    assert_eq!(
        partition(&["-p", "debug,long", "-t", "5"]).1,
        "long",
        "over debug's MaxTime"
    );
    let (in_long, _) = partition(&["-p", "long"]);
    let (in_debug, _) = partition(&["-p", "debug"]);
    let listed = d.run("cqueue", &["-h", "-p", "long", "-o", "%i %P"]);
    assert!(
        listed.ok().contains(&format!("{in_long} long\n")),
        "{listed:?}"
    );
    assert!(!listed.stdout.contains(" debug"), "{listed:?}");
    let both = d.run("cqueue", &["-h", "-p", "debug,long", "-o", "%i"]);
    assert_eq!(both.ok().lines().count(), 6, "{both:?}");
    assert!(both.stdout.contains(&format!("{in_debug}\n")));

    let unknown = d.run("cbatch", &["-p", "long,gpu", "--wrap", "true"]);
    assert_eq!(unknown.code, 1);
    assert_eq!(
        unknown.stderr,
        "cbatch: error: invalid partition specified: gpu\n\
         cbatch: error: Batch job submission failed: Invalid partition name specified\n"
    );
}

#[test]
fn a_job_without_a_limit_gets_the_partitions_default_time() {
    let d = two_partitions(&[]);
    let time_limit = |args: &[&str]| {
        let mut argv = vec!["--hold"];
        argv.extend_from_slice(args);
        argv.extend(["--wrap", "true"]);
        let id = d.submit(&argv);
        let record = d.run("ccontrol", &["show", "job", &id.to_string()]);
        value(record.ok(), "TimeLimit").map(String::from)
    };
    assert_eq!(time_limit(&["-p", "long"]).as_deref(), Some("00:30:00"));
    assert_eq!(
        time_limit(&[]).as_deref(),
        Some("00:01:00"),
        "no DefaultTime: the MaxTime"
    );
    assert_eq!(
        time_limit(&["-p", "long", "-t", "7"]).as_deref(),
        Some("00:07:00")
    );
}

#[test]
fn a_job_over_its_partitions_max_time_pends_until_its_limit_is_lowered() {
    let d = two_partitions(&[]);
    let over = d.submit(&["-p", "debug", "-t", "5", "--wrap", "true"]);
    wait_reason(&d, over, Reason::PartitionTimeLimit);
    // Free CPUs do not start it; a job behind it starts.
    let other = d.submit(&["-p", "debug", "--wrap", "true"]);
    d.wait_ended(other, SHORT);
    assert_eq!(d.job(over).reason, Reason::PartitionTimeLimit);
    let listed = d.run("cqueue", &["-h", "-j", &over.to_string(), "-o", "%r"]);
    assert_eq!(listed.ok(), "PartitionTimeLimit\n");
    // Unlimited is over any MaxTime too.
    d.run(
        "ccontrol",
        &["update", &format!("JobId={over}"), "TimeLimit=UNLIMITED"],
    )
    .ok();
    assert_eq!(d.job(over).reason, Reason::PartitionTimeLimit);

    d.run(
        "ccontrol",
        &["update", &format!("JobId={over}"), "TimeLimit=1"],
    )
    .ok();
    assert_eq!(d.wait_ended(over, SHORT).state, JobState::Completed);
}

#[test]
fn enforce_part_limits_refuses_a_job_over_every_max_time() {
    let d = two_partitions(&["--enforce-part-limits"]);
    let refused = d.run("cbatch", &["-p", "debug", "-t", "5", "--wrap", "true"]);
    assert_eq!(
        refused.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: Requested time limit is invalid \
         (missing or exceeds some limit)"
    );
    let id = d.submit(&["--hold", "-p", "debug,long", "-t", "5", "--wrap", "true"]);
    assert_eq!(d.job(id).partition, "long");
}

#[test]
fn bad_partition_definitions_stop_the_daemon_with_one_line() {
    let out = crate::support::run_command(
        {
            let mut command = std::process::Command::new(crate::support::bin("conductord"));
            command.args(["--partition-def", "PartitionName=x Colour=blue"]);
            command
        },
        None,
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr
            .contains("partition definition: unknown key \"Colour\""),
        "{out:?}"
    );
    assert_eq!(out.stderr.lines().count(), 1, "{out:?}");
}

#[test]
fn max_jobs_per_user_holds_the_second_job_while_the_first_runs() {
    let d = TestDaemon::start(&[
        "--cpus",
        "4",
        "--kill-wait",
        "1",
        "--max-jobs-per-user",
        "1",
    ]);
    let first = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(first, JobState::Running, SHORT);
    let second = d.submit(&["--wrap", "true"]);
    wait_reason(&d, second, Reason::AssocMaxJobsLimit);
    let shown = d.run("cqueue", &["-h", "-j", &second.to_string(), "-o", "%r"]);
    assert_eq!(shown.ok(), "AssocMaxJobsLimit\n");
    d.run("ccancel", &[&first.to_string()]).ok();
    assert_eq!(d.wait_ended(second, SHORT).state, JobState::Completed);
}

#[test]
fn max_submit_jobs_per_user_refuses_the_third_submission() {
    let d = TestDaemon::start(&["--cpus", "1", "--max-submit-jobs-per-user", "2"]);
    for _ in 0..2 {
        d.submit(&["--hold", "--wrap", "true"]);
    }
    let refused = d.run("cbatch", &["--hold", "--wrap", "true"]);
    assert_eq!(refused.code, 1, "sbatch's exit code");
    assert_eq!(
        refused.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: Job violates accounting/QOS policy \
         (job submit limit, user's size and/or time limits)"
    );
}

#[test]
fn max_tres_per_user_holds_jobs_past_the_users_cpus() {
    let d = TestDaemon::start(&[
        "--cpus",
        "4",
        "--kill-wait",
        "1",
        "--max-tres-per-user",
        "cpu=1",
    ]);
    let first = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(first, JobState::Running, SHORT);
    let next = d.submit(&["--wrap", "true"]);
    let wide = d.submit(&["-c", "2", "--wrap", "true"]);
    wait_reason(&d, next, Reason::QOSMaxCpuPerUserLimit);
    wait_reason(&d, wide, Reason::QOSMaxCpuPerUserLimit);
    d.run("ccancel", &[&first.to_string()]).ok();
    assert_eq!(d.wait_ended(next, SHORT).state, JobState::Completed);
    assert_eq!(
        d.job(wide).reason,
        Reason::QOSMaxCpuPerUserLimit,
        "more CPUs than the limit: it waits for ever"
    );
}

#[test]
fn allow_groups_refuses_users_outside_them_and_limits_count_per_user() {
    if skip_unless_root_with_useradd() {
        return;
    }
    let Some(user) = TestUser::create("pg") else {
        println!("skipped: useradd could not create the test user");
        return;
    };
    let d = system_daemon(&[
        "--cpus",
        "4",
        "--kill-wait",
        "1",
        "--max-jobs-per-user",
        "1",
        "--partition-def",
        "PartitionName=open",
        "--partition-def",
        "PartitionName=staff AllowGroups=root",
    ]);
    let home = home_of(&d, &user);
    let refused = user.run(&d, &home, "cbatch", &["-p", "staff", "--wrap", "true"]);
    assert_eq!(refused.code, 1);
    assert_eq!(
        refused.fails_with_one_line(),
        "cbatch: error: Batch job submission failed: User's group not permitted to use \
         this partition"
    );
    // Root may use any partition, as Slurm's super-user.
    let roots = d.submit(&["-p", "staff", "--wrap", "sleep 30"]);
    d.wait_for(roots, JobState::Running, SHORT);
    // Falls through to a partition the user may use; root's running job
    // does not count against the user's limit.
    let out = user.run(
        &d,
        &home,
        "cbatch",
        &["--parsable", "-p", "staff,open", "--wrap", "sleep 30"],
    );
    let users: JobId = out.ok().trim().parse().expect("an id");
    assert_eq!(d.job(users).partition, "open");
    d.wait_for(users, JobState::Running, SHORT);
    d.run("ccancel", &[&roots.to_string(), &users.to_string()])
        .ok();
}

#[test]
fn sinfo_json_has_an_entry_per_partition_with_its_limits() {
    let d = two_partitions(&[]);
    let out = d.run("cinfo", &["--json"]);
    let document: serde_json::Value = serde_json::from_str(out.ok()).expect("JSON");
    let entries = document["sinfo"].as_array().expect("sinfo entries");
    let partition = |i: usize| &entries[i]["partition"];
    assert_eq!(entries.len(), 2, "{document}");
    assert_eq!(partition(0)["name"], "debug");
    assert_eq!(partition(0)["maximums"]["time"]["number"], 1);
    assert_eq!(partition(0)["maximums"]["nodes"]["number"], 1);
    assert_eq!(partition(1)["name"], "long");
    assert_eq!(partition(1)["maximums"]["time"]["infinite"], true);
    assert_eq!(partition(1)["defaults"]["time"]["number"], 30);
    assert_eq!(partition(1)["priority"]["tier"], 2);
    let one = d.run("cinfo", &["--json", "-p", "long"]);
    let document: serde_json::Value = serde_json::from_str(one.ok()).expect("JSON");
    assert_eq!(document["sinfo"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_restarted_daemon_keeps_a_job_over_max_time_pending_with_its_reason() {
    let mut d = two_partitions(&[]);
    let over = d.submit(&["-p", "debug", "-t", "5", "--wrap", "true"]);
    wait_reason(&d, over, Reason::PartitionTimeLimit);
    d.restart();
    let job = d.job(over);
    assert_eq!(
        (job.state, job.reason),
        (JobState::Pending, Reason::PartitionTimeLimit)
    );
    assert_eq!(job.partition, "debug");
}

/// What live sinfo 22.05 prints for several partitions that the default
/// layouts do not show: each one's tier and job factor (`%p`, `-O
/// PriorityJobFactor`), and, when `-t` leaves out the node, each
/// partition still, with 0 nodes in state `n/a` (no line in `-N`).
#[test]
fn cinfo_shows_tiers_factors_and_partitions_a_state_filter_empties() {
    let d = two_partitions(&[]);
    assert_eq!(
        d.run("cinfo", &["-o", "%P %p %S"]).ok(),
        "PARTITION PRIO_TIER ALLOCNODES\ndebug* 1 all\nlong 2 all\n"
    );
    assert_eq!(
        d.run(
            "cinfo",
            &["-h", "-O", "partition:8,prioritytier:4,priorityjobfactor:4"]
        )
        .ok(),
        "debug*  1   1   \nlong    2   3   \n"
    );
    let blocker = d.submit(&["-p", "long", "-c", "2", "--wrap", "sleep 30"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    assert_eq!(
        d.run("cinfo", &["-t", "idle"]).ok(),
        "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\n\
         debug*       up       1:00      0    n/a \n\
         long         up   infinite      0    n/a \n"
    );
    assert_eq!(
        d.run("cinfo", &["-t", "idle", "-s", "-h", "-p", "long"])
            .ok(),
        "long         up   infinite          0/0/0/0 \n"
    );
    assert_eq!(d.run("cinfo", &["-t", "idle", "-N", "-h"]).ok(), "");
    assert_eq!(
        d.run("cinfo", &["-t", "alloc", "-h", "-o", "%P %D %t"])
            .ok(),
        "debug* 1 alloc\nlong 1 alloc\n"
    );
    d.run("ccancel", &[&blocker.to_string()]).ok();
}

#[test]
fn allow_and_deny_accounts_refuse_other_accounts_or_route_them_away() {
    let d = TestDaemon::start(&[
        "--cpus",
        "2",
        "--partition-def",
        "PartitionName=open Default=YES DenyAccounts=bio",
        "--partition-def",
        "PartitionName=phys AllowAccounts=phys,chem",
    ]);
    let refused = |args: &[&str]| {
        let mut argv = args.to_vec();
        argv.extend(["--wrap", "true"]);
        let out = d.run("cbatch", &argv);
        assert_eq!(
            out.fails_with_one_line(),
            "cbatch: error: Batch job submission failed: Invalid account or \
             account/partition combination specified",
            "{args:?}"
        );
    };
    refused(&["-p", "phys", "-A", "bio"]);
    refused(&["-p", "phys"]);
    refused(&["-A", "bio"]);
    refused(&["-p", "phys,open", "-A", "bio"]);
    let routed = d.submit(&["--hold", "-p", "phys,open", "-A", "math", "--wrap", "true"]);
    assert_eq!(d.job(routed).partition, "open");
    let allowed = d.submit(&["--hold", "-p", "phys,open", "-A", "chem", "--wrap", "true"]);
    assert_eq!(d.job(allowed).partition, "phys");

    let shown = d.run("ccontrol", &["show", "partition"]);
    let records: Vec<&str> = shown.ok().split("\n\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(value(records[0], "DenyAccounts"), Some("bio"), "{shown:?}");
    assert_eq!(value(records[0], "AllowAccounts"), None);
    assert_eq!(value(records[1], "AllowAccounts"), Some("phys,chem"));
}
