//! The OpenAPI document: `docs/openapi.json` is what
//! `conductor::daemon::openapi::document` generates (rewritten under
//! `UPDATE_GENERATED=1`, like the man pages), the daemon serves the same
//! bytes at `/openapi.json` on its socket and, without a token, over TCP,
//! and the document is OpenAPI 3.1: it validates against the OpenAPI
//! Initiative's meta-schema, each component compiles as JSON Schema
//! 2020-12, and every reference resolves. `tests/openapi/run.sh` runs
//! schemathesis against a live daemon with it.

use std::path::Path;

use serde_json::{Value, json};

use crate::support::{TestDaemon, free_port};

const REGENERATE: &str = "UPDATE_GENERATED=1 cargo test --test integration openapi";
const CHECKED_IN: &str = "docs/openapi.json";

fn checked_in() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(CHECKED_IN))
        .unwrap_or_default()
}

#[test]
fn the_checked_in_document_is_current() {
    let generated = conductor::daemon::openapi::document();
    if std::env::var_os("UPDATE_GENERATED").is_some_and(|v| v == "1") {
        std::fs::write(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(CHECKED_IN),
            &generated,
        )
        .expect("write docs/openapi.json");
        return;
    }
    assert!(
        checked_in() == generated,
        "{CHECKED_IN} is stale: run `{REGENERATE}` and commit the result"
    );
}

/// The status and body of a GET over TCP, with no token.
fn get_over_tcp(port: u16, path: &str) -> (u16, String) {
    crate::support::raw_http_tcp(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

#[test]
fn the_daemon_serves_the_checked_in_bytes_on_the_socket_and_over_tcp() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let d = TestDaemon::start(&["--listen", &listen]);
    let generated = conductor::daemon::openapi::document();

    let (status, body) =
        d.raw_http("GET /openapi.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(status, 200);
    assert!(body == generated, "the socket's document differs");

    let (status, body) = get_over_tcp(port, "/openapi.json");
    assert_eq!(status, 200, "the document needs no token");
    assert!(body == generated, "the TCP listener's document differs");
    assert!(
        checked_in() == body,
        "{CHECKED_IN} differs from what the daemon serves"
    );

    // The data beside it still does.
    let (status, _) = get_over_tcp(port, "/v1/jobs");
    assert_eq!(status, 401);
}

/// Every `$ref` in `value`.
fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                found.push(target);
            }
            map.values().for_each(|v| references(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, found)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_1() {
    let document: Value = serde_json::from_str(&conductor::daemon::openapi::document())
        .expect("the document is JSON");
    let meta: Value = serde_json::from_str(include_str!("../data/openapi-3.1/schema.json"))
        .expect("the meta-schema is JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&meta)
        .expect("the meta-schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "not OpenAPI 3.1:\n{}", errors.join("\n"));

    // Each component, as JSON Schema 2020-12, with the others beside it.
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("components.schemas");
    assert!(schemas.len() > 40, "{} schemas", schemas.len());
    for name in schemas.keys() {
        let root = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": document["components"],
        });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .unwrap_or_else(|e| panic!("{name} does not compile: {e}"));
    }

    let mut found = Vec::new();
    references(&document, &mut found);
    assert!(!found.is_empty());
    for target in found {
        let pointer = target.strip_prefix('#').expect("a local reference");
        assert!(
            document.pointer(pointer).is_some(),
            "{target} does not resolve"
        );
    }

    // Every operation answers something and names its security.
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for (method, operation) in item.as_object().expect("a path item") {
            operations += 1;
            assert!(
                operation["responses"]["200"].is_object()
                    || operation["responses"]["201"].is_object(),
                "{method} {path} has no success"
            );
        }
    }
    // The router's 46 (native 26, seed 4, slurmrestd 10, service 6).
    assert!(operations >= 46, "{operations} operations");
}
