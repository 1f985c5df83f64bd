//! The slurmrestd v0.0.40 subset over TCP with slurmrestd's
//! `X-SLURM-USER-NAME` + `X-SLURM-USER-TOKEN` pair carrying a token from
//! `ccontrol token`: submitting, listing, showing and cancelling as real
//! users, refused without a token, with another user's name beside one,
//! and for another user's job; and the same routes over the Unix socket.

use std::time::Duration;

use conductor::protocol::{JobId, JobState};
use serde_json::{Value, json};

use crate::support::{TestDaemon, free_port};
use crate::users::{TestUser, home_of, two_users};

const SHORT: Duration = Duration::from_secs(10);

fn request(method: &str, path: &str, headers: &str, body: Option<&Value>) -> String {
    let body = body.map(Value::to_string).unwrap_or_default();
    format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A request over TCP with slurmrestd's pair (`None`: no headers at all).
fn call(
    port: u16,
    pair: Option<(&str, &str)>,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let headers = pair.map_or(String::new(), |(name, token)| {
        format!("X-SLURM-USER-NAME: {name}\r\nX-SLURM-USER-TOKEN: {token}\r\n")
    });
    let (status, body) = crate::support::raw_http_tcp(port, &request(method, path, &headers, body));
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn token_of(d: &TestDaemon, user: &TestUser, home: &std::path::Path) -> String {
    let out = user.run(d, home, "ccontrol", &["token"]);
    out.ok()
        .trim()
        .strip_prefix("CONDUCTOR_TOKEN=")
        .expect("CONDUCTOR_TOKEN=...")
        .to_string()
}

fn job_desc(dir: &std::path::Path, script: &str) -> Value {
    json!({
        "job": {
            "script": script,
            "name": "restd",
            "environment": ["PATH=/usr/bin:/bin", "GREETING=hello"],
            "current_working_directory": dir,
            "standard_output": "out.txt",
            "tasks": 1,
            "cpus_per_task": 1,
            "memory_per_node": {"set": true, "infinite": false, "number": 64},
            "time_limit": {"set": true, "infinite": false, "number": 5},
        }
    })
}

#[test]
fn a_token_submits_lists_shows_and_cancels_as_its_user_and_no_one_else() {
    let Some((alice, bob)) = two_users("s", "t") else {
        return;
    };
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let d = crate::users::system_daemon(&["--cpus", "1", "--listen", &listen]);
    let home = home_of(&d, &alice);
    let (alices, bobs) = (token_of(&d, &alice, &home), token_of(&d, &bob, &home));
    let as_alice = Some((alice.name.as_str(), alices.as_str()));

    // Refused without the pair, with Bob's name beside Alice's token, and
    // with a token that is none.
    let body = job_desc(&home, "#!/bin/sh\necho $GREETING\n");
    for pair in [
        None,
        Some((bob.name.as_str(), alices.as_str())),
        Some((alice.name.as_str(), "not-a-token")),
    ] {
        let (status, _) = call(port, pair, "POST", "/slurm/v0.0.40/job/submit", Some(&body));
        assert_eq!(status, 401, "{pair:?}");
        assert_eq!(call(port, pair, "GET", "/slurm/v0.0.40/jobs", None).0, 401);
    }

    let (status, reply) = call(
        port,
        as_alice,
        "POST",
        "/slurm/v0.0.40/job/submit",
        Some(&body),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["step_id"], "batch");
    assert_eq!(reply["errors"], json!([]));
    let id = JobId(reply["job_id"].as_u64().expect("a number"));
    assert_eq!(reply["result"]["job_id"], id.0);
    let info = d.wait_for(id, JobState::Completed, SHORT);
    assert_eq!(info.user, alice.name);
    assert_eq!(
        std::fs::read_to_string(home.join("out.txt")).expect("output"),
        "hello\n"
    );

    // A held job to show and cancel.
    let mut held = job_desc(&home, "#!/bin/sh\nsleep 60\n");
    held["job"]["hold"] = json!(true);
    let (status, reply) = call(
        port,
        as_alice,
        "POST",
        "/slurm/v0.0.40/job/submit",
        Some(&held),
    );
    assert_eq!(status, 200, "{reply}");
    let held_id = reply["job_id"].as_u64().expect("a number");

    let (status, reply) = call(port, as_alice, "GET", "/slurm/v0.0.40/jobs", None);
    assert_eq!(status, 200, "{reply}");
    let ids: Vec<u64> = reply["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|job| job["job_id"].as_u64())
        .collect();
    assert!(ids.contains(&held_id), "{ids:?}");
    assert_eq!(reply["meta"]["client"]["user"], alice.name.as_str());

    let path = format!("/slurm/v0.0.40/job/{held_id}");
    let (status, reply) = call(port, as_alice, "GET", &path, None);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["jobs"][0]["job_state"], json!(["PENDING"]));
    assert_eq!(reply["jobs"][0]["user_name"], alice.name.as_str());

    // Bob may not cancel it; Alice may.
    let as_bob = Some((bob.name.as_str(), bobs.as_str()));
    let (status, reply) = call(port, as_bob, "DELETE", &path, None);
    assert_eq!(status, 403, "{reply}");
    assert_eq!(reply["errors"][0]["error_number"], 2002);
    let (status, reply) = call(port, as_alice, "DELETE", &path, None);
    assert_eq!(status, 200, "{reply}");
    d.wait_for(JobId(held_id), JobState::Cancelled, SHORT);

    // The accounting side has both; an unknown job is slurmrestd's error.
    let (status, reply) = call(port, as_alice, "GET", "/slurmdb/v0.0.40/jobs", None);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["jobs"].as_array().map(Vec::len), Some(2), "{reply}");
    let (status, reply) = call(
        port,
        as_alice,
        "GET",
        &format!("/slurmdb/v0.0.40/job/{id}"),
        None,
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["jobs"][0]["job_id"], id.0);
    let (status, reply) = call(port, as_alice, "GET", "/slurm/v0.0.40/job/999999", None);
    assert_eq!(status, 404, "{reply}");
    assert_eq!(reply["errors"][0]["error_number"], 2017);
}

/// Over the Unix socket the kernel says who asks: no headers are needed,
/// and ping, diag, nodes and partitions answer in their shapes.
#[test]
fn the_socket_needs_no_token_and_the_read_routes_answer() {
    let d = TestDaemon::start(&["--cpus", "2"]);
    let get = |path: &str| {
        let (status, text) = d.raw_http(&request("GET", path, "", None));
        assert_eq!(status, 200, "{path}: {text}");
        serde_json::from_str::<Value>(&text).expect("JSON")
    };
    assert_eq!(get("/slurm/v0.0.40/ping")["pings"][0]["pinged"], "UP");
    assert!(get("/slurm/v0.0.40/diag")["statistics"]["jobs_submitted"].is_u64());
    assert_eq!(get("/slurm/v0.0.40/nodes")["nodes"][0]["cpus"], 2);
    assert!(get("/slurm/v0.0.40/partitions")["partitions"][0]["name"].is_string());
    let body = job_desc(&d.work, "#!/bin/sh\ntrue\n");
    let (status, text) = d.raw_http(&request(
        "POST",
        "/slurm/v0.0.40/job/submit",
        "",
        Some(&body),
    ));
    assert_eq!(status, 200, "{text}");
    let reply: Value = serde_json::from_str(&text).expect("JSON");
    let id = JobId(reply["job_id"].as_u64().expect("a number"));
    d.wait_for(id, JobState::Completed, SHORT);
    // A body that is no job_desc_msg is slurmrestd's parse error.
    let (status, text) = d.raw_http(&request(
        "POST",
        "/slurm/v0.0.40/job/submit",
        "",
        Some(&json!({"jobs": 1})),
    ));
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("\"error_number\":9001"), "{text}");
}
