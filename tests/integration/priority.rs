//! priority/multifactor with fair share: the order jobs start in when one
//! user has used the node and another has not, `cprio` (sprio) and
//! `cshare` (sshare) in their Slurm layouts, and usage kept across a
//! restart.

use std::time::Duration;

use conductor::protocol::{JobId, JobState, ListQuery};

use crate::support::{TestDaemon, wait_until};
use crate::users::{home_of, system_daemon, two_users};

const SHORT: Duration = Duration::from_secs(10);

/// Multifactor with fair share far heavier than the rest, recomputed
/// every second.
const FAIR_SHARE_FIRST: &[&str] = &[
    "--priority-type",
    "multifactor",
    "--priority-weight-fairshare",
    "100000",
    "--priority-weight-age",
    "0",
    "--priority-weight-job-size",
    "0",
    "--priority-weight-partition",
    "0",
    "--priority-calc-period",
    "0:01",
];

fn daemon(extra: &[&str]) -> TestDaemon {
    let mut args = FAIR_SHARE_FIRST.to_vec();
    args.extend_from_slice(extra);
    TestDaemon::start(&args)
}

/// Every task of an array, by id.
fn tasks(d: &TestDaemon, array: JobId) -> Vec<conductor::protocol::JobInfo> {
    d.client()
        .list(&ListQuery {
            ids: Some(array.to_string()),
            states: Some("all".into()),
            ..Default::default()
        })
        .expect("list")
}

/// The user's fair-share factor and raw usage from `cshare -P`.
fn share_of(d: &TestDaemon, user: &str) -> Option<(f64, u64)> {
    let out = d.run(
        "cshare",
        &["-a", "-n", "-P", "-U", "-o", "user,fairshare,rawusage"],
    );
    out.ok().lines().find_map(|line| {
        let fields: Vec<&str> = line.split('|').collect();
        match fields.as_slice() {
            [name, factor, usage] if *name == user => {
                Some((factor.parse().ok()?, usage.parse().ok()?))
            }
            _ => None,
        }
    })
}

#[test]
fn the_user_who_used_less_is_served_first() {
    let Some((heavy, light)) = two_users("fh", "fl") else {
        return;
    };
    let mut args = vec!["--cpus", "1"];
    args.extend_from_slice(FAIR_SHARE_FIRST);
    let d = system_daemon(&args);
    let (heavy_dir, light_dir) = (home_of(&d, &heavy), home_of(&d, &light));
    // The heavy user runs first, long enough to be charged a few
    // CPU-seconds, and holds the one CPU while both queue 100 jobs.
    let seed = heavy.run(
        &d,
        &heavy_dir,
        "cbatch",
        &["--parsable", "--wrap", "sleep 3"],
    );
    let seed: JobId = seed.ok().trim().parse().expect("id");
    d.wait_for(seed, JobState::Running, SHORT);
    let submit = |user: &crate::users::TestUser, dir| -> JobId {
        let out = user.run(
            &d,
            dir,
            "cbatch",
            &[
                "--parsable",
                "--array=1-100",
                "-o",
                "/dev/null",
                "--wrap",
                "true",
            ],
        );
        out.ok().trim().parse().expect("id")
    };
    let heavy_jobs = submit(&heavy, &heavy_dir);
    let light_jobs = submit(&light, &light_dir);
    wait_until(Duration::from_secs(60), "every job ran", || {
        tasks(&d, heavy_jobs)
            .iter()
            .chain(&tasks(&d, light_jobs))
            .all(|job| job.state == JobState::Completed)
    });
    let mut started: Vec<(chrono::DateTime<chrono::Utc>, JobId, bool)> = tasks(&d, heavy_jobs)
        .into_iter()
        .map(|job| (job.start_time.expect("started"), job.job_id, true))
        .chain(
            tasks(&d, light_jobs)
                .into_iter()
                .map(|job| (job.start_time.expect("started"), job.job_id, false)),
        )
        .collect();
    started.sort();
    let order: String = started
        .iter()
        .map(|(_, _, heavy)| if *heavy { 'H' } else { 'L' })
        .collect();
    // The light user's jobs go first; once its usage nears the heavy
    // user's, the two interleave.
    assert!(
        order.starts_with(&"L".repeat(20)),
        "the light user's jobs start first: {order}"
    );
    let mean_rank = |heavy: bool| {
        let ranks: Vec<usize> = started
            .iter()
            .enumerate()
            .filter(|(_, (_, _, h))| *h == heavy)
            .map(|(rank, _)| rank)
            .collect();
        ranks.iter().sum::<usize>() as f64 / ranks.len() as f64
    };
    assert!(
        mean_rank(false) + 40.0 < mean_rank(true),
        "the light user is served well ahead: {order}"
    );
}

#[test]
fn cprio_shows_sprios_layouts_and_weights() {
    // One job holds both CPUs, so that the others pend; as the only user
    // with usage, its user's fair share is 2^-1 once it has been charged.
    let d = daemon(&["--cpus", "2"]);
    let blocker = d.submit(&["-c", "2", "--wrap", "sleep 60"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    let small = d.submit(&["--wrap", "true"]);
    let nice = d.submit(&["--nice=50", "-c", "2", "--wrap", "true"]);
    let me = conductor::users::user_name(conductor::users::current_uid());
    wait_until(SHORT, "the running job is charged", || {
        d.run("cprio", &["-h", "-o", "%i %Y"]).ok() == format!("{small} 50000\n{nice} 49950\n")
    });

    let out = d.run("cprio", &[]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(
        lines[0], "          JOBID PARTITION   PRIORITY       SITE  FAIRSHARE",
        "only factors with a weight are shown"
    );
    assert_eq!(
        lines[1..],
        [
            format!("{small:>15} normal         50000          0      50000"),
            format!("{nice:>15} normal         49950          0      50000"),
        ]
    );
    // cqueue's %Q shows the same priorities.
    let queue = d.run("cqueue", &["-h", "-t", "PD", "-o", "%i %Q"]);
    assert_eq!(
        queue.ok(),
        format!("{small} 50000\n{nice} 49950\n"),
        "the queue is in priority order and shows them"
    );

    assert_eq!(
        d.run("cprio", &["-w"]).ok(),
        "          JOBID PARTITION   PRIORITY       SITE  FAIRSHARE\n        Weights                               1     100000\n"
    );
    assert_eq!(
        d.run("cprio", &["-h", "-o", "%i|%Y|%f|%N|%u"]).ok(),
        format!("{small}|50000|0.5000000|0|{me}\n{nice}|49950|0.5000000|50|{me}\n")
    );
    assert_eq!(
        d.run("cprio", &["-h", "-j", &nice.to_string(), "-o", "%i"])
            .ok(),
        format!("{nice}\n")
    );
    assert_eq!(
        d.run("cprio", &["-j", "999999"]).ok(),
        "Unable to find jobs matching user/id(s) specified\n"
    );
    // 22.05's long layout: no account, no QOS name; the TRES weight is
    // sprio's unset string.
    let long = d.run("cprio", &["-l", "-w"]);
    assert_eq!(
        long.ok(),
        "          JOBID PARTITION     USER   PRIORITY       SITE        AGE      ASSOC  FAIRSHARE    JOBSIZE  PARTITION        QOS        NICE                 TRES\n        \
         Weights                                        1          0          0     100000          0          0          0                           (null)\n"
    );
    let norm = d.run("cprio", &["-n", "-h"]);
    assert!(
        norm.ok().contains(" 0.5000000"),
        "normalized factors: {}",
        norm.ok()
    );
    // An unknown letter is said on stderr and left out, with the text
    // after it; the rest is printed and the exit status is 0.
    let bad = d.run("cprio", &["-h", "-o", "%i %z|%Y"]);
    assert_eq!(bad.code, 0);
    assert_eq!(bad.stdout, format!("{small} 50000\n{nice} 49950\n"));
    assert_eq!(
        bad.stderr,
        "cprio: error: Invalid job format specification: z\n"
    );
    let bad_id = d.run("cprio", &["-j", "12x"]);
    assert_eq!(bad_id.code, 1);
    assert_eq!(bad_id.stderr, "cprio: error: Invalid job id: 12x\n");
    let nobody = d.run("cprio", &["-h", "-u", "no_such_user_here"]);
    assert_eq!(nobody.code, 0);
    assert_eq!(nobody.stdout, "");
    assert_eq!(
        nobody.stderr,
        "cprio: error: Invalid user: no_such_user_here\n\n"
    );

    // Held, or waiting for a begin time or a dependency: not listed (a
    // held job's priority is 0 in cqueue, as in Slurm), though queued.
    let held = d.submit(&["--hold", "--wrap", "true"]);
    let later = d.submit(&["--begin=now+3600", "--wrap", "true"]);
    let after = d.submit(&["-d", &format!("afterok:{blocker}"), "--wrap", "true"]);
    assert_eq!(
        d.run("cprio", &["-h", "-o", "%i"]).ok(),
        format!("{small}\n{nice}\n")
    );
    assert_eq!(
        d.run("cprio", &["-j", &held.to_string()]).ok(),
        "Unable to find jobs matching user/id(s) specified\n"
    );
    let shown = d.run("cqueue", &["-h", "-j", &held.to_string(), "-o", "%Q"]);
    assert_eq!(shown.ok(), "0\n");
    for job in [later, after] {
        let shown = d.run("cqueue", &["-h", "-j", &job.to_string(), "-o", "%Q"]);
        assert_ne!(shown.ok(), "0\n", "{job} is queued with a priority");
    }

    // An administrator's priority stays through recomputations, factors 0.
    d.run(
        "ccontrol",
        &["update", &format!("jobid={small}"), "priority=5"],
    )
    .ok();
    let period = Duration::from_millis(2500);
    std::thread::sleep(period);
    assert_eq!(
        d.run("cprio", &["-h", "-o", "%i %Y %F %f"]).ok(),
        format!("{small} 5 0 0.0000000\n{nice} 49950 50000 0.5000000\n")
    );
    let ids = format!("{small},{nice},{held}");
    assert_eq!(
        d.run("cqueue", &["-h", "-j", &ids, "-o", "%i"]).ok(),
        format!("{nice}\n{small}\n{held}\n")
    );
    d.run("ccancel", &[&blocker.to_string()]).ok();
}

#[test]
fn cprio_refuses_under_priority_basic_as_sprio_does() {
    let d = TestDaemon::start(&[]);
    let out = d.run("cprio", &[]);
    assert_eq!(out.code, 1);
    assert_eq!(
        out.stderr,
        "You are not running a supported priority plugin\n(priority/basic).\nOnly 'priority/multifactor' is supported.\n"
    );
    assert_eq!(out.stdout, "");
    // sshare under basic (22.05): no shares normalized, no factors.
    d.submit(&["--hold", "--wrap", "true"]);
    let me = conductor::users::user_name(conductor::users::current_uid());
    assert_eq!(
        d.run("cshare", &["-n", "-P"]).ok(),
        format!("root||||0|0.000000|\n root|{me}|1||0|0.000000|0.000000\n")
    );
}

#[test]
fn cshare_shows_usage_in_sshares_layouts_and_it_survives_a_restart() {
    let me = conductor::users::user_name(conductor::users::current_uid());
    let shares = format!("{me}=3");
    let mut d = daemon(&["--cpus", "2", "--fairshare-shares", &shares]);
    let job = d.submit(&["-c", "2", "--wrap", "sleep 2"]);
    d.wait_for(job, JobState::Completed, SHORT);
    let mut usage = 0;
    wait_until(SHORT, "the run is charged", || {
        usage = share_of(&d, &me).map_or(0, |(_, usage)| usage);
        usage >= 4
    });
    // 2 CPUs for 2 seconds, and a little more for the start and end.
    assert!(usage <= 6, "{usage} CPU-seconds");

    let out = d.run("cshare", &[]);
    let lines: Vec<&str> = out.ok().lines().collect();
    assert_eq!(
        lines[..2],
        [
            "Account                    User  RawShares  NormShares    RawUsage  EffectvUsage  FairShare ",
            "-------------------- ---------- ---------- ----------- ----------- ------------- ---------- ",
        ]
    );
    assert_eq!(
        lines[2],
        format!(
            "root                                          1.000000 {usage:>11}      1.000000   0.500000 "
        )
    );
    // The only user: all the shares, all the usage, 2^-1.
    assert_eq!(
        lines[3],
        format!(
            " root                {me:>10}          3    1.000000 {usage:>11}      1.000000   0.500000 "
        )
    );
    assert_eq!(lines.len(), 4);

    // What the Prometheus exporter runs.
    assert_eq!(
        d.run("cshare", &["-n", "-P", "-o", "account,fairshare"])
            .ok(),
        "root|0.500000\n root|0.500000\n"
    );
    assert_eq!(
        d.run("cshare", &["-p", "-o", "Account,User,RawShares"])
            .ok(),
        format!("Account|User|RawShares|\nroot|||\n root|{me}|3|\n")
    );
    // -U: the users alone, their account without the tree's indent; a
    // column too narrow for its real turns to exponent form, unpadded.
    assert_eq!(
        d.run("cshare", &["-U", "-P", "-o", "account,user"]).ok(),
        format!("Account|User\nroot|{me}\n")
    );
    assert_eq!(
        d.run("cshare", &["-n", "-o", "account%5,fairshare%6"]).ok(),
        " root 5e-01 \n root 5e-01 \n"
    );
    let refused = d.run("cshare", &["-o", "account,bogus"]);
    assert_eq!(
        refused.fails_with_one_line(),
        "cshare: error: Invalid field requested: \"bogus\""
    );

    d.restart();
    assert_eq!(
        share_of(&d, &me),
        Some((0.5, usage)),
        "the usage is read back at start"
    );
}

/// The partition factor is a partition's PriorityJobFactor over the
/// largest, as Slurm weighs it: a job in a partition of a quarter of the
/// largest factor gets a quarter of the weight.
#[test]
fn the_partition_factor_follows_priority_job_factor() {
    let d = TestDaemon::start(&[
        "--cpus",
        "1",
        "--priority-type",
        "multifactor",
        "--partition-def",
        "PartitionName=hi PriorityJobFactor=4 Default=YES",
        "--partition-def",
        "PartitionName=lo PriorityJobFactor=1",
        "--priority-calc-period",
        "0:01",
    ]);
    let blocker = d.submit(&["--wrap", "sleep 30"]);
    d.wait_for(blocker, JobState::Running, SHORT);
    let low = d.submit(&["-p", "lo", "--wrap", "true"]);
    let high = d.submit(&["-p", "hi", "--wrap", "true"]);
    let shown = d.run("cprio", &["-h"]);
    let partition_factor = |id: JobId| {
        shown
            .ok()
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&id.to_string().as_str()))
            .and_then(|fields| fields.last().map(ToString::to_string))
    };
    assert_eq!(partition_factor(high).as_deref(), Some("1000"), "{shown:?}");
    assert_eq!(partition_factor(low).as_deref(), Some("250"), "{shown:?}");
    // A recomputation weighs the partitions the same way (it once gave
    // every job the whole weight), and the queue's priority agrees.
    std::thread::sleep(Duration::from_millis(2500));
    let queue = d
        .run("cqueue", &["-h", "-t", "PD", "-o", "%i %Q"])
        .ok()
        .to_string();
    let sprio = d.run("cprio", &["-h", "-o", "%i %Y"]).ok().to_string();
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    assert_eq!(
        sorted(&queue),
        sorted(&sprio),
        "cqueue and cprio agree after a recomputation"
    );
    let low_priority: i64 = queue
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{low} ")))
        .and_then(|p| p.parse().ok())
        .expect("the low job's priority");
    let high_priority: i64 = queue
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{high} ")))
        .and_then(|p| p.parse().ok())
        .expect("the high job's priority");
    assert_eq!(high_priority - low_priority, 750, "{queue}");
    d.run("ccancel", &[&blocker.to_string()]).ok();
}

/// A run that ends while the daemon is down is charged once, for the time
/// it ran (not until the daemon came back), and ends when it ended; a
/// crash after its end is known changes neither, as the end and its
/// charge are written together.
#[test]
fn a_run_that_ends_while_the_daemon_is_down_is_charged_once_for_its_own_time() {
    let me = conductor::users::user_name(conductor::users::current_uid());
    let mut d = daemon(&["--cpus", "2"]);
    let job = d.submit(&["-c", "2", "--wrap", "sleep 2"]);
    d.wait_for(job, JobState::Running, SHORT);
    d.crash();
    // The job ends 2 s in; the daemon is back 6 s later.
    std::thread::sleep(Duration::from_secs(6));
    d.start_again();
    d.wait_for(job, JobState::Completed, SHORT);
    let elapsed = d.run(
        "cacct",
        &["-j", &job.to_string(), "-X", "-n", "-P", "-o", "ElapsedRaw"],
    );
    let elapsed: u64 = elapsed.ok().trim().parse().expect("seconds");
    assert!((2..=3).contains(&elapsed), "ran {elapsed} s");
    let mut usage = 0;
    wait_until(SHORT, "the run is charged", || {
        usage = share_of(&d, &me).map_or(0, |(_, usage)| usage);
        usage >= 4
    });
    assert!(usage <= 6, "{usage} CPU-seconds for 2 CPUs over 2 s");

    d.crash();
    d.start_again();
    assert_eq!(
        share_of(&d, &me).map(|(_, usage)| usage),
        Some(usage),
        "charged once"
    );
    assert_eq!(d.job(job).state, JobState::Completed);
}

/// A job that starts at once, never queued, has its priority too, as in
/// Slurm (which shows it in `%Q` and `Priority=`).
#[test]
fn a_job_that_starts_at_once_has_its_priority() {
    let d = daemon(&["--cpus", "2"]);
    let job = d.submit(&["--wrap", "sleep 5"]);
    d.wait_for(job, JobState::Running, SHORT);
    let shown = d.run("cqueue", &["-h", "-j", &job.to_string(), "-o", "%Q"]);
    let priority: i64 = shown.ok().trim().parse().expect("a number");
    assert!(priority > 0, "{priority}");
    assert_eq!(d.job(job).priority, priority);
}
