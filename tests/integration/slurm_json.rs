//! `--json`: the documents cqueue, cacct, cinfo and ccontrol print are
//! checked against Slurm's published OpenAPI schema (v0.0.40 and v0.0.41,
//! `tests/data/slurm-openapi/`), with jobs in every state a real daemon
//! gives them, and against what they must say about those jobs.
//!
//! The schema is made strict before use: every object with listed
//! properties refuses others, so a field Slurm does not have (a typo, a
//! field of another version) fails too. A broken document must fail.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{TestDaemon, bin};
use conductor::protocol::{JobId, JobState};

const SHORT: Duration = Duration::from_secs(15);

/// The published spec of a version (`40`, `41`), made strict.
fn spec(version: &str) -> Value {
    let path = format!(
        "{}/tests/data/slurm-openapi/v0.0.{version}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("the spec is in the repository");
    let mut spec: Value = serde_json::from_str(&text).expect("the spec is JSON");
    forbid_unlisted_properties(&mut spec);
    spec
}

/// Adds `additionalProperties: false` to every object schema that lists
/// its properties and says nothing of others.
fn forbid_unlisted_properties(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            map.values_mut().for_each(forbid_unlisted_properties);
        }
        Value::Array(items) => items.iter_mut().for_each(forbid_unlisted_properties),
        _ => {}
    }
}

/// A validator for one component: the spec's components under a root
/// that refers to it, so the `#/components/schemas/...` references inside
/// resolve in the same document.
fn validator(spec: &Value, component: &str) -> jsonschema::Validator {
    let schema = json!({
        "$ref": format!("#/components/schemas/{component}"),
        "components": spec["components"],
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema)
        .expect("the schema compiles")
}

/// Fails with every error when the document does not match.
#[track_caller]
fn assert_valid(validator: &jsonschema::Validator, document: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {}", errors.join("\n"));
}

#[track_caller]
fn document(d: &TestDaemon, name: &str, args: &[&str]) -> Value {
    let out = d.run(name, args);
    serde_json::from_str(out.ok()).expect("the output is JSON")
}

/// Jobs in every state, by what they are for.
struct Jobs {
    held: JobId,
    array: JobId,
    running: JobId,
    completed: JobId,
    failed: JobId,
    cancelled: JobId,
    timeout: JobId,
    signalled: JobId,
}

fn jobs_in_every_state(d: &TestDaemon) -> Jobs {
    let crun = bin("crun");
    let completed = d.submit(&["-J", "done", "--wrap", &format!("{} true", crun.display())]);
    let failed = d.submit(&["--wrap", "exit 3"]);
    let signalled = d.submit(&["--wrap", "kill -9 $$"]);
    let timeout = d.submit(&["-t", "0:01", "--wrap", "sleep 60"]);
    let cancelled = d.submit(&["--wrap", "sleep 60"]);
    for id in [completed, failed, signalled] {
        d.wait_ended(id, SHORT);
    }
    d.wait_for(cancelled, JobState::Running, SHORT);
    d.run("ccancel", &[&cancelled.to_string()]).ok();
    d.wait_ended(cancelled, SHORT);
    d.wait_ended(timeout, SHORT);
    let running = d.submit(&["-t", "10", "--mem", "10M", "--wrap", "sleep 60"]);
    d.wait_for(running, JobState::Running, SHORT);
    let held = d.submit(&["-H", "--wrap", "true"]);
    let array = d.submit(&["-H", "--array", "1-3%2", "--wrap", "true"]);
    Jobs {
        held,
        array,
        running,
        completed,
        failed,
        cancelled,
        timeout,
        signalled,
    }
}

/// The record of a job in a `jobs` list, by `job_id`.
#[track_caller]
fn find(document: &Value, id: JobId) -> &Value {
    document["jobs"]
        .as_array()
        .expect("a jobs list")
        .iter()
        .find(|job| job["job_id"] == json!(id.0))
        .unwrap_or_else(|| panic!("job {id} in {document}"))
}

fn set(number: i64) -> Value {
    json!({"set": true, "infinite": false, "number": number})
}

#[test]
fn every_document_matches_slurms_schema_and_says_what_the_jobs_did() {
    let d = TestDaemon::start(&["--cpus", "4", "--kill-wait", "1"]);
    let jobs = jobs_in_every_state(&d);

    for version in ["40", "41"] {
        let spec = spec(version);
        let flag = format!("--json=v0.0.{version}");
        let prefix = format!("v0.0.{version}_");
        let job_info = validator(&spec, &format!("{prefix}openapi_job_info_resp"));
        let dbd_jobs = validator(&spec, &format!("{prefix}openapi_slurmdbd_jobs_resp"));
        let nodes = validator(&spec, &format!("{prefix}openapi_nodes_resp"));
        let partition = validator(&spec, &format!("{prefix}partition_info"));
        let meta = validator(&spec, &format!("{prefix}openapi_meta"));

        let queue = document(&d, "cqueue", &[&flag, "-t", "all"]);
        assert_valid(&job_info, &queue, &format!("cqueue {flag}"));
        let one = document(
            &d,
            "ccontrol",
            &[&flag, "show", "job", &jobs.running.to_string()],
        );
        assert_valid(&job_info, &one, &format!("ccontrol {flag} show job"));
        let all = document(&d, "ccontrol", &["show", "job", &flag]);
        assert_valid(&job_info, &all, &format!("ccontrol show job {flag}"));
        let history = document(&d, "cacct", &[&flag]);
        assert_valid(&dbd_jobs, &history, &format!("cacct {flag}"));
        let node = document(&d, "ccontrol", &["show", "node", &flag]);
        assert_valid(&nodes, &node, &format!("ccontrol show node {flag}"));
        let sinfo = document(&d, "cinfo", &[&flag]);
        assert_valid(&meta, &sinfo["meta"], &format!("cinfo {flag} meta"));
        assert_valid(
            &partition,
            &sinfo["sinfo"][0]["partition"],
            "sinfo partition",
        );
        assert_eq!(
            sinfo["meta"]["plugin"]["data_parser"],
            format!("v0.0.{version}")
        );
    }

    // What the default (v0.0.40) document says about each job.
    let queue = document(&d, "cqueue", &["--json", "-t", "all"]);
    assert_eq!(queue["meta"]["plugin"]["data_parser"], "v0.0.40");
    assert_eq!(queue["meta"]["slurm"]["cluster"], "conductor");
    assert_eq!(
        queue["meta"]["slurm"]["version"]["major"],
        env!("CARGO_PKG_VERSION_MAJOR")
    );
    assert_eq!(queue["meta"]["command"][1], "--json");
    assert!(queue["meta"]["client"]["user"].is_string());
    assert_eq!(queue["errors"], json!([]));

    let held = find(&queue, jobs.held);
    assert_eq!(held["job_state"], json!(["PENDING"]));
    assert_eq!(held["state_reason"], "JobHeldUser");
    assert_eq!(held["hold"], true);
    assert_eq!(
        held["time_limit"],
        json!({"set": false, "infinite": true, "number": 0})
    );
    assert_eq!(held["exit_code"]["status"], json!(["PENDING"]));
    assert_eq!(held["nodes"], "");

    // The array's pending tasks share a record, as Slurm keeps them.
    let array = find(&queue, jobs.array);
    assert_eq!(array["array_job_id"], set(jobs.array.0 as i64));
    assert_eq!(array["array_task_string"], "1-3%2");
    assert_eq!(array["array_max_tasks"], set(2));
    assert_eq!(array["array_task_id"]["set"], false);

    let running = find(&queue, jobs.running);
    assert_eq!(running["job_state"], json!(["RUNNING"]));
    assert_eq!(running["cpus"], set(1));
    assert_eq!(running["node_count"], set(1));
    assert_eq!(running["memory_per_node"], set(10));
    assert_eq!(running["memory_per_cpu"]["set"], false);
    // Minutes, as given (the test daemon only enforces them in seconds).
    assert_eq!(running["time_limit"], set(10));
    let start = running["start_time"]["number"].as_i64().expect("a start");
    let submit = running["submit_time"]["number"].as_i64().expect("a submit");
    assert!(
        start >= submit && submit > 1_600_000_000,
        "{start} {submit}"
    );
    assert_eq!(running["tres_alloc_str"], "cpu=1,mem=10M,node=1,billing=1");
    assert!(!running["nodes"].as_str().unwrap_or("").is_empty());

    let completed = find(&queue, jobs.completed);
    assert_eq!(completed["job_state"], json!(["COMPLETED"]));
    assert_eq!(
        completed["exit_code"],
        json!({"status": ["SUCCESS"], "return_code": set(0),
               "signal": {"id": {"set": false, "infinite": false, "number": 0}, "name": ""}})
    );
    let failed = find(&queue, jobs.failed);
    assert_eq!(failed["job_state"], json!(["FAILED"]));
    assert_eq!(failed["state_reason"], "NonZeroExitCode");
    assert_eq!(failed["exit_code"]["status"], json!(["ERROR"]));
    assert_eq!(failed["exit_code"]["return_code"], set(3));
    let signalled = find(&queue, jobs.signalled);
    assert_eq!(signalled["exit_code"]["status"], json!(["SIGNALED"]));
    assert_eq!(signalled["exit_code"]["signal"]["id"], set(9));
    assert_eq!(signalled["exit_code"]["signal"]["name"], "KILL");
    assert_eq!(
        find(&queue, jobs.cancelled)["job_state"],
        json!(["CANCELLED"])
    );
    assert_eq!(find(&queue, jobs.timeout)["job_state"], json!(["TIMEOUT"]));
    assert_eq!(find(&queue, jobs.timeout)["state_reason"], "TimeLimit");

    // Filters still apply; -r gives each task its own record.
    let only = document(&d, "cqueue", &["--json", "-t", "F"]);
    let ids: Vec<&Value> = only["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .map(|j| &j["job_id"])
        .collect();
    assert_eq!(ids, vec![&json!(jobs.failed.0), &json!(jobs.signalled.0)]);
    let tasks = document(
        &d,
        "cqueue",
        &["--json", "-r", "-j", &jobs.array.to_string()],
    );
    assert_eq!(tasks["jobs"].as_array().map(Vec::len), Some(3));
    assert_eq!(tasks["jobs"][0]["array_task_id"], set(1));

    // sacct: plain epoch times, the state object, steps.
    let history = document(&d, "cacct", &["--json", "-j", &jobs.completed.to_string()]);
    let done = find(&history, jobs.completed);
    assert_eq!(
        done["state"],
        json!({"current": ["COMPLETED"], "reason": "None"})
    );
    assert!(done["time"]["end"].as_i64() >= done["time"]["start"].as_i64());
    assert!(done["time"]["start"].as_i64().unwrap_or(0) > 1_600_000_000);
    assert_eq!(
        done["steps"][0]["step"]["id"],
        format!("{}.0", jobs.completed)
    );
    let pending = document(&d, "cacct", &["--json", "-j", &jobs.held.to_string()]);
    assert_eq!(find(&pending, jobs.held)["time"]["start"], 0);
    assert_eq!(find(&pending, jobs.held)["nodes"], "None assigned");

    let node = document(&d, "ccontrol", &["show", "node", "--json"]);
    assert_eq!(node["nodes"][0]["cpus"], 4);
    assert_eq!(node["nodes"][0]["alloc_cpus"], 1);
    assert_eq!(node["nodes"][0]["state"], json!(["MIXED"]));
    assert!(node["nodes"][0]["real_memory"].as_u64() > Some(0));
    let sinfo = document(&d, "cinfo", &["--json"]);
    assert_eq!(sinfo["sinfo"][0]["cpus"]["allocated"], 1);
    assert_eq!(sinfo["sinfo"][0]["node"]["state"], json!(["MIXED"]));
    let filtered = document(&d, "cinfo", &["--json", "-t", "idle"]);
    assert_eq!(filtered["sinfo"], json!([]));

    // v0.0.39: plain times, a string state, the wait status.
    let old = document(&d, "cqueue", &["--json=v0.0.39", "-t", "all"]);
    assert!(old.get("last_update").is_none());
    assert_eq!(find(&old, jobs.failed)["job_state"], "FAILED");
    assert_eq!(find(&old, jobs.failed)["exit_code"], set(768));
    assert!(find(&old, jobs.failed)["submit_time"].is_i64());

    d.run("ccancel", &[&jobs.running.to_string()]).ok();
}

#[test]
fn a_broken_document_fails_the_schema() {
    let spec = spec("40");
    let job_info = validator(&spec, "v0.0.40_openapi_job_info_resp");
    let d = TestDaemon::start(&[]);
    d.submit(&["-H", "--wrap", "true"]);
    let good = document(&d, "cqueue", &["--json"]);
    assert_valid(&job_info, &good, "the real document");
    let broken = |change: &dyn Fn(&mut Value)| {
        let mut document = good.clone();
        change(&mut document);
        job_info.is_valid(&document)
    };
    assert!(!broken(
        &|doc| doc["jobs"][0]["job_state"] = json!("PENDING")
    ));
    assert!(!broken(&|doc| doc["jobs"][0]["cpus"] = json!(1)));
    assert!(!broken(
        &|doc| doc["jobs"][0]["job_state"] = json!(["WAITING"])
    ));
    assert!(!broken(&|doc| doc["jobs"][0]["no_such_field"] = json!(1)));
    assert!(!broken(&|doc| {
        doc.as_object_mut().map(|map| map.remove("last_update"));
    }));
}

#[test]
fn json_takes_a_version_or_none_and_refuses_others_as_slurm_does() {
    let d = TestDaemon::start(&[]);
    let conductor = document(&d, "cqueue", &["--json=conductor", "-t", "all"]);
    assert!(conductor.is_array());
    for (name, args) in [
        ("cqueue", vec!["--json=v0.0.99"]),
        ("cacct", vec!["--json=v0.0.99"]),
        ("cinfo", vec!["--json=v0.0.99"]),
        ("ccontrol", vec!["--json=v0.0.99", "show", "job"]),
    ] {
        let out = d.run(name, &args);
        assert_eq!(out.code, 1, "{name}");
        assert_eq!(
            out.stderr,
            format!(
                "{name}: error: data_parser_g_new: unable to find plugin v0.0.99\n\
                 {name}: error: application/json output not supported by v0.0.40\n"
            )
        );
    }
}

/// Four nodes in mixed states (idle, mixed, drained with a reason, down)
/// and two partitions, one holding only `gpu01`, as a cluster reports
/// them: the nodes document and each sinfo partition still match the
/// schema, and say what each node is.
#[test]
fn several_nodes_in_mixed_states_match_the_schema() {
    use conductor::format::scontrol::NodeFacts;
    use conductor::format::slurm_json::meta::Caller;
    use conductor::format::slurm_json::node::{NodeContext, NodesResponse};
    use conductor::format::slurm_json::sinfo::{SinfoContext, SinfoResponse};
    use conductor::format::slurm_json::{Version, to_text};
    use conductor::protocol::{NodeInfo, NodeState, PartitionInfo};

    let d = TestDaemon::start(&["--cpus", "2"]);
    let config = d.client().config().expect("config");
    let template = d.client().node().expect("node");
    let gpu = PartitionInfo {
        default: false,
        nodes: vec!["gpu01".into()],
        ..PartitionInfo::named("gpu")
    };
    let partitions = vec![PartitionInfo::named("normal"), gpu];
    let node = |name: &str, free: u32, state: NodeState, reason: Option<&str>| NodeInfo {
        name: name.into(),
        cpus_total: 4,
        cpus_free: free,
        partitions: partitions.clone(),
        state,
        reason: reason.map(str::to_string),
        ..template.clone()
    };
    let nodes = [
        node("n1", 4, NodeState::Up, None),
        node("n2", 1, NodeState::Up, None),
        node("gpu01", 4, NodeState::Drain, Some("maintenance")),
        node("n3", 4, NodeState::Down, Some("Not responding")),
    ];
    let refs: Vec<&NodeInfo> = nodes.iter().collect();
    let caller = Caller {
        command: vec!["test".into()],
        source: String::new(),
        user: "user".into(),
        group: "group".into(),
    };
    let facts = NodeFacts::default();
    for (version, name) in [(Version::V0040, "40"), (Version::V0041, "41")] {
        let spec = spec(name);
        let prefix = format!("v0.0.{name}_");
        let context = NodeContext {
            version,
            caller: &caller,
            now: chrono::Utc::now(),
            config: &config,
            facts: &facts,
        };
        let text = to_text(&NodesResponse::new(&refs, &context)).expect("encodes");
        let document: Value = serde_json::from_str(&text).expect("JSON");
        let nodes_schema = validator(&spec, &format!("{prefix}openapi_nodes_resp"));
        assert_valid(&nodes_schema, &document, "several nodes");
        let states: Vec<&Value> = document["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|node| &node["state"])
            .collect();
        assert_eq!(
            states,
            [
                &json!(["IDLE"]),
                &json!(["MIXED"]),
                &json!(["IDLE", "DRAIN"]),
                &json!(["DOWN"])
            ]
        );
        assert_eq!(document["nodes"][2]["reason"], "maintenance");
        assert_eq!(document["nodes"][2]["partitions"], json!(["normal", "gpu"]));
        assert_eq!(document["nodes"][0]["partitions"], json!(["normal"]));

        let context = SinfoContext {
            version,
            caller: &caller,
            config: &config,
            facts: &facts,
        };
        // sinfo's lines: the two up nodes of `normal` (one idle, one
        // mixed: as `%P` alone groups them) and the drained GPU node.
        let lines: Vec<(Vec<&NodeInfo>, &PartitionInfo)> = vec![
            (vec![&nodes[0], &nodes[1]], &partitions[0]),
            (vec![&nodes[2]], &partitions[1]),
        ];
        let sinfo = to_text(&SinfoResponse::new(&lines, &refs, &context)).expect("encodes");
        let sinfo: Value = serde_json::from_str(&sinfo).expect("JSON");
        let partition = validator(&spec, &format!("{prefix}partition_info"));
        for entry in sinfo["sinfo"].as_array().expect("entries") {
            assert_valid(&partition, &entry["partition"], "sinfo partition");
        }
        assert_eq!(
            sinfo["sinfo"][0]["partition"]["nodes"]["configured"],
            "gpu01,n[1-3]"
        );
        assert_eq!(sinfo["sinfo"][0]["partition"]["nodes"]["total"], 4);
        assert_eq!(
            sinfo["sinfo"][1]["partition"]["nodes"]["configured"],
            "gpu01"
        );
        assert_eq!(sinfo["sinfo"][1]["nodes"]["other"], 1);
        assert_eq!(sinfo["sinfo"][1]["cpus"]["other"], 4);
        assert_eq!(sinfo["sinfo"][0]["nodes"]["nodes"], json!(["n1", "n2"]));
        assert_eq!(sinfo["sinfo"][0]["nodes"]["allocated"], 1);
        assert_eq!(sinfo["sinfo"][0]["nodes"]["idle"], 1);
        assert_eq!(sinfo["sinfo"][0]["cpus"]["allocated"], 3);
        assert_eq!(sinfo["sinfo"][0]["cpus"]["total"], 8);
    }
}
