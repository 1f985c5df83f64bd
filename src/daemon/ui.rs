//! The dashboard: one HTML page (with its script and style sheet, embedded
//! in the binary) at `/` and `/ui`, and the one data route the native API
//! lacked for it, `GET /v1/ui/activity`: the latest ends and the jobs ended
//! per five minutes over the last hour. The page holds no data itself; it
//! polls `/v1/node`, `/v1/jobs` and the activity route every two seconds.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::Daemon;
use super::job::Phase;
use super::server::Failure;
use super::store::FinishedFilter;
use crate::error::Error;
use crate::protocol::{JobId, JobInfo, JobState};

/// The page, its script and its style sheet, as built into the binary.
const PAGE: &str = include_str!("ui/index.html");
const SCRIPT: &str = include_str!("ui/app.js");
const STYLE: &str = include_str!("ui/style.css");

/// The assets' paths: the only ones the TCP listener serves without a
/// token, since they carry no data (the data routes still need one).
const ASSETS: [&str; 4] = ["/", "/ui", "/ui/app.js", "/ui/style.css"];

/// How many of the latest ends the page lists.
const RECENT_ENDS: usize = 10;

/// How many of the latest job ids the activity route reads back: it bounds
/// the read whatever the store's size (a job submitted before these that
/// ended in the last hour is left out of the chart).
const LOOKBACK_IDS: u64 = 2000;

/// The chart's span and bucket.
const BUCKET_SECONDS: i64 = 300;
const BUCKETS: usize = 12;

/// The dashboard's routes, merged into the daemon's router.
pub fn routes() -> Router<Arc<Daemon>> {
    Router::new()
        .route("/", get(page))
        .route("/ui", get(page_ui))
        .route("/ui/app.js", get(script))
        .route("/ui/style.css", get(style))
        .route("/v1/ui/activity", get(activity))
}

/// Whether a path is one of the dashboard's assets, which a TCP listener
/// serves without a token.
pub fn is_asset(path: &str) -> bool {
    ASSETS.contains(&path)
}

/// An asset, with the headers that keep the browser to it: scripts and
/// styles from this origin only, and no guessing of content types.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        body,
    )
        .into_response()
}

#[utoipa::path(get, path = "/", tag = "service", security(()), responses((status = 200, description = "The dashboard page.", body = String, content_type = "text/html")))]
async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

/// The same page at `/ui` (a path operation of its own in the document).
#[utoipa::path(get, path = "/ui", tag = "service", security(()), responses((status = 200, description = "The dashboard page.", body = String, content_type = "text/html")))]
async fn page_ui() -> Response {
    page().await
}

#[utoipa::path(get, path = "/ui/app.js", tag = "service", security(()), responses((status = 200, description = "The dashboard's script.", body = String, content_type = "text/javascript")))]
async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

#[utoipa::path(get, path = "/ui/style.css", tag = "service", security(()), responses((status = 200, description = "The dashboard's style sheet.", body = String, content_type = "text/css")))]
async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

/// `GET /v1/ui/activity`'s reply.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Activity {
    /// The latest ends, the latest first.
    recent: Vec<JobInfo>,
    /// Seconds each bucket spans.
    bucket_seconds: i64,
    /// When the oldest bucket starts.
    since: DateTime<Utc>,
    /// Jobs ended in each bucket, the oldest first.
    ended: Vec<u64>,
}

/// `GET /v1/ui/activity`: the latest ends and the jobs ended per bucket
/// over the last hour, from the store's latest jobs.
#[utoipa::path(get, path = "/v1/ui/activity", tag = "native", responses((status = 200, description = "The latest ends and the ends per five minutes over the last hour.", body = Activity)))]
async fn activity(State(daemon): State<Arc<Daemon>>) -> Result<axum::Json<Activity>, Failure> {
    let answer = tokio::task::spawn_blocking(move || -> Result<Activity, Error> {
        let last = daemon.store.last_id()?;
        let first = last.saturating_sub(LOOKBACK_IDS - 1).max(1);
        let filter = FinishedFilter {
            ids: Some((first..=last).map(JobId).collect()),
            uids: None,
            states: JobState::ALL
                .iter()
                .copied()
                .filter(|s| s.is_terminal())
                .collect(),
        };
        let jobs = if last == 0 {
            Vec::new()
        } else {
            daemon.store.finished(&filter)?
        };
        let ends: Vec<(DateTime<Utc>, &super::job::Job)> = jobs
            .iter()
            .filter_map(|job| match job.phase {
                Phase::Finished { end_time, .. } => Some((end_time, job)),
                _ => None,
            })
            .collect();
        Ok(summarise(&ends, Utc::now(), daemon.node()))
    })
    .await
    .map_err(|e| Error::Other(format!("the dashboard's activity failed: {e}")))??;
    Ok(axum::Json(answer))
}

/// The activity from the ends, at `now`.
fn summarise(
    ends: &[(DateTime<Utc>, &super::job::Job)],
    now: DateTime<Utc>,
    node: &str,
) -> Activity {
    let since = now - Duration::seconds(BUCKET_SECONDS * BUCKETS as i64);
    let mut ended = vec![0u64; BUCKETS];
    for (end, _) in ends {
        if *end >= since && *end <= now {
            let bucket = ((*end - since).num_seconds() / BUCKET_SECONDS) as usize;
            ended[bucket.min(BUCKETS - 1)] += 1;
        }
    }
    let mut latest: Vec<&(DateTime<Utc>, &super::job::Job)> = ends.iter().collect();
    latest.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.id.cmp(&a.1.id)));
    Activity {
        recent: latest
            .into_iter()
            .take(RECENT_ENDS)
            .map(|(_, job)| job.info(node))
            .collect(),
        bucket_seconds: BUCKET_SECONDS,
        since,
        ended,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_assets_go_without_a_token() {
        assert!(is_asset("/"));
        assert!(is_asset("/ui"));
        assert!(is_asset("/ui/app.js"));
        assert!(!is_asset("/v1/ui/activity"));
        assert!(!is_asset("/v1/jobs"));
        assert!(!is_asset("/ui/../v1/jobs"));
    }

    #[test]
    fn the_page_loads_nothing_from_elsewhere() {
        // The SVG namespace is a name, not an address.
        let script = SCRIPT.replace("\"http://www.w3.org/2000/svg\"", "");
        for asset in [PAGE, script.as_str(), STYLE] {
            assert!(!asset.contains("http://") && !asset.contains("https://"));
        }
        assert!(PAGE.contains("name=\"viewport\""));
        // Users' text goes in as text, never as markup.
        assert!(!SCRIPT.contains("innerHTML"));
    }
}
