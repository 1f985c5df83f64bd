//! The OpenAPI 3.1 document of every route the router serves, generated
//! from the Rust types (`utoipa`): the native `/v1`, the seed's four, the
//! slurmrestd v0.0.40 subset, `/metrics`, the dashboard and this document.
//!
//! The handlers carry their own `#[utoipa::path]`; this module lists them,
//! names the security schemes, adds each face's error replies in one place
//! ([`ErrorReplies`]) and describes the slurmrestd bodies, which the
//! renderers in `format::slurm_json` build as documents of their own: each
//! is an object with its documented required keys, the records inside left
//! open. `GET /openapi.json` serves [`document`]; `docs/openapi.json` is the
//! same bytes, checked by `tests/integration/openapi.rs`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Components, ContentBuilder, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::protocol::{ApiError, JobList, ListFormat, OutputStream};

/// The API's description, from the handlers and the protocol types.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Conductor",
        description = "Conductor's HTTP API, one router with three faces: the native `/v1` \
            (see `docs/api.md`), the routes of the service it grew from (`/jobs/...`, \
            `/dashboard`), and a slurmrestd v0.0.40 subset (`/slurm/v0.0.40/...`, \
            `/slurmdb/v0.0.40/...`); plus `/metrics`, the dashboard page and this document.\n\n\
            Over the Unix socket the kernel's peer credentials (SO_PEERCRED) say who asks, and \
            no header is needed. Over TCP (`conductord --listen`) every route but this \
            document, the dashboard's assets and (with `--metrics-public`) `/metrics` needs a \
            token from `ccontrol token`: as `Authorization: Bearer TOKEN`, or as slurmrestd's \
            `X-SLURM-USER-TOKEN` with the token's user in `X-SLURM-USER-NAME`.",
        license(name = "MIT OR Apache-2.0"),
    ),
    paths(
        super::server::health,
        super::server::node,
        super::server::nodes,
        super::server::config,
        super::server::debug,
        super::server::submit,
        super::server::list,
        super::server::test_submit,
        super::server::cancel_many,
        super::server::job,
        super::server::update,
        super::server::cancel,
        super::server::signal,
        super::server::hold,
        super::server::release,
        super::server::requeue,
        super::server::next_step,
        super::server::end_step,
        super::server::batch_script,
        super::server::output,
        super::server::issue_token,
        super::server::revoke_tokens,
        super::server::priorities,
        super::server::shares,
        super::server::diag,
        super::server::reset_diag,
        super::ui::activity,
        super::ui::page,
        super::ui::page_ui,
        super::ui::script,
        super::ui::style,
        super::metrics::serve,
        serve,
        super::seed_api::submit,
        super::seed_api::query,
        super::seed_api::cancel,
        super::seed_api::dashboard,
        super::slurmrestd::submit,
        super::slurmrestd::jobs,
        super::slurmrestd::job,
        super::slurmrestd::delete_job,
        super::slurmrestd::ping,
        super::slurmrestd::diag,
        super::slurmrestd::nodes,
        super::slurmrestd::partitions,
        super::slurmrestd::db_jobs,
        super::slurmrestd::db_job,
    ),
    // The query parameters' enums, which `IntoParams` refers to without listing.
    components(schemas(ApiError, SeedError, SlurmErrorResponse, ListFormat, OutputStream)),
    modifiers(&SecuritySchemes, &ErrorReplies),
    security(("bearer" = []), ("slurm_user" = [], "slurm_token" = [])),
    tags(
        (name = "native", description = "Conductor's own API, under `/v1`."),
        (name = "seed", description = "The routes of the service Conductor grew from, in its shapes."),
        (name = "slurmrestd", description = "A subset of slurmrestd, data_parser v0.0.40."),
        (name = "service", description = "Metrics, the dashboard and this document."),
    )
)]
pub struct ApiDoc;

/// The document, pretty-printed, with a final newline: what
/// `GET /openapi.json` serves and `docs/openapi.json` holds.
pub fn document() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    text.push('\n');
    text
}

/// `GET /openapi.json`: this document. Public over TCP: it is the API's
/// shape, the same for every daemon of this version and published in the
/// repository, and holds nothing of the daemon's state.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "service",
    security(()),
    responses((status = 200, description = "This document.", body = Object, content_type = "application/json"))
)]
pub(super) async fn serve() -> Response {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.get_or_init(document).as_str(),
    )
        .into_response()
}

/// The two ways a TCP request shows its token.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Components::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from `ccontrol token` (or the daemon's own, in its state \
                         directory), over TCP.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "slurm_user",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-SLURM-USER-NAME",
                "slurmrestd's user name header: the token's user.",
            ))),
        );
        components.add_security_scheme(
            "slurm_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-SLURM-USER-TOKEN",
                "slurmrestd's token header: a token from `ccontrol token`.",
            ))),
        );
    }
}

/// The error replies of each face, added to every operation that does
/// not name them itself: the statuses the daemon maps its errors to
/// (`server::Failure`), in the face's own body.
struct ErrorReplies;

impl ErrorReplies {
    /// The face a path belongs to: its error body, and the statuses its
    /// handlers answer with besides their own successes.
    fn of(path: &str) -> (&'static str, &'static [&'static str]) {
        const NATIVE: &[&str] = &["400", "403", "404", "409", "503"];
        if path.starts_with("/slurm") {
            ("SlurmErrorResponse", NATIVE)
        } else if path.starts_with("/jobs/") || path == "/dashboard" {
            ("SeedError", &["403", "404", "409", "422", "503"])
        } else {
            ("ApiError", NATIVE)
        }
    }
}

impl Modify for ErrorReplies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let reply = |schema: &str, description: &str| {
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                            schema,
                        ))))
                        .build(),
                )
                .build()
        };
        for (path, item) in &mut openapi.paths.paths {
            let (schema, statuses) = ErrorReplies::of(path);
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let public = operation
                    .security
                    .as_ref()
                    .is_some_and(|requirements| requirements.iter().all(is_empty_requirement));
                let responses = &mut operation.responses.responses;
                if !public {
                    responses.entry("401".into()).or_insert_with(|| {
                        RefOr::T(reply(
                            "ApiError",
                            "Over TCP: no valid token (see the security schemes).",
                        ))
                    });
                }
                if path.starts_with("/ui") || path == "/" || path == "/openapi.json" {
                    continue;
                }
                for status in statuses {
                    responses
                        .entry((*status).into())
                        .or_insert_with(|| RefOr::T(reply(schema, "Refused: the body says why.")));
                }
            }
        }
    }
}

/// Whether a security requirement is the empty one (`security(())`).
fn is_empty_requirement(requirement: &utoipa::openapi::security::SecurityRequirement) -> bool {
    serde_json::to_value(requirement).is_ok_and(|value| value == serde_json::json!({}))
}

/// `GET /v1/jobs`: objects (the default), or `format=rows`. `anyOf`, not
/// `oneOf`: an empty rows reply, `{"fields":[],"jobs":[]}`, is both.
pub(super) struct JobListing;

impl utoipa::PartialSchema for JobListing {
    fn schema() -> RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::AnyOfBuilder::new()
            .item(utoipa::openapi::Ref::from_schema_name("JobList"))
            .item(utoipa::openapi::Ref::from_schema_name("JobRows"))
            .into()
    }
}

impl ToSchema for JobListing {
    fn schemas(schemas: &mut Vec<(String, RefOr<utoipa::openapi::schema::Schema>)>) {
        use utoipa::PartialSchema;
        schemas.push(("JobList".into(), JobList::schema()));
        JobList::schemas(schemas);
        schemas.push(("JobRows".into(), JobRows::schema()));
    }
}

/// `GET /v1/jobs?format=rows`: each job an array of its values in the
/// order of `fields`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct JobRows {
    /// `JobInfo` field names.
    fields: Vec<String>,
    jobs: Vec<Vec<Value>>,
}

/// `{}`: what `POST /v1/jobs/{id}/steps/{step}/end` answers.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Empty {}

/// The seed's errors, as FastAPI writes them.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SeedError {
    detail: String,
}

/// The seed's cancel reply.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SeedCancelled {
    msg: String,
}

/// One of slurmrestd's `errors`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmError {
    error: String,
    error_number: i32,
    description: String,
    source: String,
}

/// slurmrestd's error reply: `errors`, `warnings` and `meta`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmErrorResponse {
    errors: Vec<SlurmError>,
    #[schema(value_type = Vec<Object>)]
    warnings: Vec<Value>,
    #[schema(value_type = Object)]
    meta: Value,
}

/// The keys every slurmrestd reply carries, flattened into each.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmEnvelope {
    /// `plugin`, `client`, `command`, `slurm`.
    #[schema(value_type = Object)]
    meta: Value,
    errors: Vec<SlurmError>,
    #[schema(value_type = Vec<Object>)]
    warnings: Vec<Value>,
}

/// `openapi_job_submit_response`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmSubmitResponse {
    job_id: u64,
    step_id: String,
    job_submit_user_msg: String,
    #[schema(value_type = Object)]
    result: Value,
    #[serde(flatten)]
    envelope: SlurmEnvelope,
}

/// `openapi_job_info_resp`: the jobs as `cqueue --json` prints them.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmJobsResponse {
    /// `job_info` records.
    #[schema(value_type = Vec<Object>)]
    jobs: Vec<Value>,
    #[schema(value_type = Object)]
    last_backfill: Value,
    #[schema(value_type = Object)]
    last_update: Value,
    #[serde(flatten)]
    envelope: SlurmEnvelope,
}

/// `openapi_resp_single`: a reply with nothing but the envelope (a cancel).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmEmptyResponse {
    #[serde(flatten)]
    envelope: SlurmEnvelope,
}

/// `openapi_ping_array_resp`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmPingResponse {
    /// One controller: `hostname`, `pinged`, `latency`, `mode`,
    /// `responding`, `primary`.
    #[schema(value_type = Vec<Object>)]
    pings: Vec<Value>,
    #[serde(flatten)]
    envelope: SlurmEnvelope,
}

/// `openapi_diag_resp`: sdiag's figures under `statistics`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmDiagResponse {
    #[schema(value_type = Object)]
    statistics: BTreeMap<String, Value>,
    #[serde(flatten)]
    envelope: SlurmEnvelope,
}

/// `openapi_nodes_resp`: the node as `ccontrol show node --json` prints it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmNodesResponse {
    #[schema(value_type = Vec<Object>)]
    nodes: Vec<Value>,
    #[schema(value_type = Object)]
    last_update: Value,
    #[serde(flatten)]
    envelope: SlurmEnvelope,
}

/// `openapi_partition_resp`.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmPartitionsResponse {
    #[schema(value_type = Vec<Object>)]
    partitions: Vec<Value>,
    #[schema(value_type = Object)]
    last_update: Value,
    #[serde(flatten)]
    envelope: SlurmEnvelope,
}

/// `openapi_slurmdbd_jobs_resp`: the history as `cacct --json` prints it.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct SlurmdbJobsResponse {
    /// slurmdbd `job` records, steps included.
    #[schema(value_type = Vec<Object>)]
    jobs: Vec<Value>,
    #[serde(flatten)]
    envelope: SlurmEnvelope,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_face_is_in_the_document() {
        let document: Value = serde_json::from_str(&document()).expect("JSON");
        let paths = document["paths"].as_object().expect("paths");
        for path in [
            "/v1/jobs",
            "/v1/jobs/{id}/output",
            "/jobs/submit",
            "/slurm/v0.0.40/job/{job_id}",
            "/slurmdb/v0.0.40/jobs",
            "/metrics",
            "/",
            "/openapi.json",
        ] {
            assert!(paths.contains_key(path), "{path} is missing");
        }
        assert!(
            document["openapi"]
                .as_str()
                .is_some_and(|v| v.starts_with("3."))
        );
    }
}
