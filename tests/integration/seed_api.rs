//! The seed service's four routes (`seed-api.md`) in its exact shapes:
//! submit answers the id as a string, query carries the job's output,
//! cancel is idempotent, and the dashboard has its five sections. Another
//! user's token cannot read a job's output, nor can a symlink planted in
//! its place make the daemon read a file for its owner.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use conductor::protocol::{JobId, JobState};
use serde_json::{Value, json};

use crate::support::{TestDaemon, free_port, wait_until};
use crate::users::{home_of, two_users};

const SHORT: Duration = Duration::from_secs(10);

/// A seed request to run `script` in `dir`, writing out.txt and err.txt.
fn seed_body(dir: &Path, script: &str) -> Value {
    json!({
        "job": {
            "name": "seeded",
            "account": "lab",
            "partition": "normal",
            "current_working_directory": dir,
            "standard_output": "out.txt",
            "standard_error": "err.txt",
            "environment": {"GREETING": "hello"},
            "time_limit": "5",
        },
        "script": script,
    })
}

fn request(method: &str, path: &str, body: Option<&Value>) -> String {
    let body = body.map(Value::to_string).unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn call(d: &TestDaemon, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (status, text) = d.raw_http(&request(method, path, body));
    let value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text:?}"));
    (status, value)
}

/// The same over TCP with a bearer token.
fn call_tcp(port: u16, token: &str, method: &str, path: &str) -> (u16, Value) {
    let text = request(method, path, None).replacen(
        "Host: x\r\n",
        &format!("Host: x\r\nAuthorization: Bearer {token}\r\n"),
        1,
    );
    let (status, body) = crate::support::raw_http_tcp(port, &text);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn submitted_id(reply: &(u16, Value)) -> JobId {
    assert_eq!(reply.0, 201, "{reply:?}");
    let id = reply.1["job_id"].as_str().expect("the id as a string");
    id.parse().expect("an id")
}

#[test]
fn the_seeds_routes_answer_in_its_shapes() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let dir = d.dir.path();
    let script = "#!/bin/sh\necho \"$GREETING out\"\necho err >&2\n";
    let id = submitted_id(&call(
        &d,
        "POST",
        "/jobs/submit",
        Some(&seed_body(dir, script)),
    ));
    d.wait_for(id, JobState::Completed, SHORT);

    let (status, query) = call(&d, "GET", &format!("/jobs/query/{id}"), None);
    assert_eq!(status, 200, "{query}");
    assert_eq!(query["job_id"], json!(id.to_string()));
    assert_eq!(query["state"], "COMPLETED");
    assert_eq!(query["error_msg"], Value::Null);
    assert_eq!(query["job_log"]["stdout"], "hello out\n");
    assert_eq!(query["job_log"]["stderr"], "err\n");
    let time = &query["time"];
    assert_eq!(time["limit_time"], "00:05:00");
    let elapsed = time["elapsed_time"].as_str().expect("elapsed");
    assert!(
        elapsed.starts_with("0-00:00:0") && elapsed.len() == 10,
        "{elapsed}"
    );
    for field in ["submit_time", "start_time", "end_time", "eligible_time"] {
        let at = time[field].as_str().expect(field);
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok(),
            "{field}: {at}"
        );
    }
    let detail = &query["detail"];
    assert_eq!(detail["job_name"], "seeded");
    assert_eq!(detail["account"], "lab");
    assert_eq!(detail["partition"], "normal");
    assert_eq!(detail["allocated_cpus"], 1);
    assert_eq!(detail["allocated_nodes"], 1);
    assert_eq!(detail["exit_code"], "0:0");
    assert_eq!(detail["data_source"], "API");
    assert_eq!(detail["work_dir"], json!(dir));
    assert!(detail["node_list"].is_string());

    // Cancel is idempotent: an ended job is not an error, twice.
    for _ in 0..2 {
        let (status, reply) = call(&d, "POST", &format!("/jobs/cancel/{id}"), None);
        assert_eq!(status, 200, "{reply}");
        assert!(reply["msg"].as_str().expect("msg").contains("COMPLETED"));
    }
    for path in ["/jobs/query/999999", "/jobs/cancel/999999"] {
        let method = if path.contains("cancel") {
            "POST"
        } else {
            "GET"
        };
        assert_eq!(
            call(&d, method, path, None),
            (404, json!({"detail": "job not found"}))
        );
    }

    // One running, one pending behind it, and the one that completed.
    let long = "#!/bin/sh\nsleep 30\n";
    let running = submitted_id(&call(
        &d,
        "POST",
        "/jobs/submit",
        Some(&seed_body(dir, long)),
    ));
    d.wait_for(running, JobState::Running, SHORT);
    let pending = d.submit(&["--wrap", "true"]);
    let (status, board) = call(&d, "GET", "/dashboard", None);
    assert_eq!(status, 200, "{board}");
    assert_eq!(
        board["job_stats"],
        json!({"total": 3, "running": 1, "pending": 1, "completed": 1, "failed": 0, "cancelled": 0})
    );
    assert_eq!(
        board["resource_stats"],
        json!({"total_cpus": 1, "allocated_cpus": 1, "available_cpus": 0, "utilization_rate": 100.0})
    );
    let node = &board["node_info"][0];
    assert_eq!(node["total_cpus"], 1);
    assert_eq!(node["available"], true);
    assert_eq!(node["partition"], "normal");
    assert_eq!(board["running_jobs"][0]["job_id"], json!(running.0));
    assert_eq!(board["running_jobs"][0]["account"], "lab");
    assert_eq!(board["pending_jobs"][0]["job_id"], json!(pending.0));
    assert_eq!(board["pending_jobs"][0]["start_time"], Value::Null);

    // A job from the command line says so.
    let (_, query) = call(&d, "GET", &format!("/jobs/query/{pending}"), None);
    assert_eq!(query["detail"]["data_source"], "CLI");
    assert_eq!(query["time"]["start_time"], Value::Null);

    let (status, reply) = call(&d, "POST", &format!("/jobs/cancel/{running}"), None);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["msg"], format!("job {running} cancelled"));
    d.wait_for(running, JobState::Cancelled, SHORT);
}

#[test]
fn the_seeds_validation_is_refused_with_its_statuses() {
    let d = TestDaemon::start(&["--cpus", "1"]);
    let dir = d.dir.path();
    let cases: Vec<(Value, u16)> = vec![
        (seed_body(dir, "  \n"), 422),
        (json!({"job": {"name": "x"}, "script": "#!/bin/sh\n"}), 422),
        (json!("not an object"), 422),
        (
            {
                let mut body = seed_body(dir, "#!/bin/sh\ntrue\n");
                body["job"]["memory_per_node"] = json!("lots");
                body
            },
            422,
        ),
        (
            {
                let mut body = seed_body(dir, "#!/bin/sh\ntrue\n");
                body["job"]["partition"] = json!("nosuch");
                body
            },
            400,
        ),
    ];
    for (body, expected) in cases {
        let (status, reply) = call(&d, "POST", "/jobs/submit", Some(&body));
        assert_eq!(status, expected, "{body} gave {reply}");
        assert!(reply["detail"].is_string(), "{reply}");
    }
    let listed = d.run("cqueue", &["-h"]);
    assert_eq!(listed.ok(), "", "nothing was queued");
}

/// Bob's token does not read Alice's output; Alice's does, but a symlink
/// she plants where her job wrote makes the root daemon read nothing.
#[test]
fn a_jobs_output_is_its_owners_alone() {
    let Some((alice, bob)) = two_users("q", "r") else {
        return;
    };
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let d = TestDaemon::start(&["--system", "--cpus", "1", "--listen", &listen]);
    std::fs::set_permissions(d.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let home = home_of(&d, &alice);
    let token_of = |user: &crate::users::TestUser| {
        let out = user.run(&d, &home, "ccontrol", &["token"]);
        out.ok()
            .trim()
            .strip_prefix("CONDUCTOR_TOKEN=")
            .expect("CONDUCTOR_TOKEN=...")
            .to_string()
    };
    let (alices, bobs) = (token_of(&alice), token_of(&bob));
    let out = alice.run(
        &d,
        &home,
        "cbatch",
        &["--parsable", "-o", "out.txt", "--wrap", "echo alice-secret"],
    );
    let id: JobId = out.ok().trim().parse().expect("id");
    d.wait_for(id, JobState::Completed, SHORT);

    let path = format!("/jobs/query/{id}");
    let (status, reply) = call_tcp(port, &bobs, "GET", &path);
    assert_eq!(status, 403, "{reply}");
    assert!(!reply.to_string().contains("alice-secret"));
    let (status, reply) = call_tcp(port, &alices, "GET", &path);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["job_log"]["stdout"], "alice-secret\n");
    assert_eq!(reply["detail"]["user"], alice.name.as_str());

    // A file only root may read, and Alice's output replaced by a link to it.
    let secret = d.dir.path().join("root-only");
    std::fs::write(&secret, "root-secret\n").expect("write");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let out_file = home.join("out.txt");
    std::fs::remove_file(&out_file).expect("remove");
    std::os::unix::fs::symlink(&secret, &out_file).expect("plant");
    rustix::fs::chownat(
        rustix::fs::CWD,
        &out_file,
        Some(rustix::fs::Uid::from_raw(alice.uid)),
        None,
        rustix::fs::AtFlags::SYMLINK_NOFOLLOW,
    )
    .expect("the link is hers");
    let (status, reply) = call_tcp(port, &alices, "GET", &path);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["job_log"]["stdout"], "", "the link is not followed");
    assert!(!reply.to_string().contains("root-secret"));
    // A hard link is the file itself, whose owner is still root.
    std::fs::remove_file(&out_file).expect("remove");
    std::fs::hard_link(&secret, &out_file).expect("hard link");
    let (status, reply) = call_tcp(port, &alices, "GET", &path);
    assert_eq!(status, 200, "{reply}");
    assert!(!reply.to_string().contains("root-secret"), "{reply}");

    // Nor may Bob cancel her job, ended or not.
    let (status, _) = call_tcp(port, &bobs, "POST", &format!("/jobs/cancel/{id}"));
    assert_eq!(status, 403);
    wait_until(SHORT, "the daemon still answers", || {
        call_tcp(port, &alices, "GET", "/dashboard").0 == 200
    });
}
