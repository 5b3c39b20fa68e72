//! The demo organization as a [`Transport`]: each request the API edge builds is answered from the
//! recordings as Buildkite would answer it over HTTP (status, headers, body), so the edge reads demo
//! answers exactly as it reads real ones.
//!
//! Routes: a `POST` or `PUT` under `v2/` is a REST write on the in-memory demo organization (see
//! [`super::writes`]); any other `POST` is GraphQL (by operation name and variables); a `GET` of a recorded download
//! URL is that artifact; `GET /v2/access-token` is the demo token; `…/jobs/{uuid}/log` is a recorded
//! log (a suffix `Range: bytes=-N` gives 206 with `Content-Range`, `HEAD` gives `Content-Length`);
//! any other `GET` is a recorded REST answer (with `Link: rel="next"` when it has a next page).
//! Everything else is a 404.

use super::{DEMO_SCOPES, Demo};
use crate::buildkite::Api;
use crate::buildkite::error::ApiError;
use crate::buildkite::http::RetryPolicy;
use crate::buildkite::transport::{Body, BoxFuture, Request, Response, Transport};
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, LINK};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

/// The GraphQL endpoint demo requests name (never contacted).
const GRAPHQL_URL: &str = "https://graphql.buildkite.com/v1";
/// The REST base demo requests name (never contacted).
const REST_URL: &str = "https://api.buildkite.com/";
/// Recorded answers never fail, so nothing is retried.
const POLICY: RetryPolicy = RetryPolicy { max_retries: 0, timeout: Duration::from_secs(30) };
/// What a request the recordings do not cover is told.
const GAP_HINT: &str =
    "the demo organization has no recording of this; try the demo org `acme` and its pipelines (list_pipelines)";

impl Api {
    /// An API handle on the embedded demo organization.
    pub fn demo() -> Self {
        Api::with_transport(Arc::new(DemoTransport::load()), GRAPHQL_URL, REST_URL, POLICY)
    }

    /// Whether this handle serves demo data.
    pub fn is_demo(&self) -> bool {
        (self.transport() as &dyn std::any::Any).is::<DemoTransport>()
    }
}

/// Answers requests from the recorded demo organization.
#[derive(Debug, Default)]
pub struct DemoTransport {
    demo: Demo,
}

impl DemoTransport {
    /// Over the embedded recordings.
    pub fn load() -> Self {
        DemoTransport { demo: Demo::load() }
    }

    /// Over these recordings.
    pub fn new(demo: Demo) -> Self {
        DemoTransport { demo }
    }

    /// The answer to one request, as Buildkite would give it.
    pub fn answer(&self, request: &Request<'_>) -> Response {
        let url = request.url;
        let path = url.path().trim_start_matches('/');
        let rest_write = (request.method == Method::POST || request.method == Method::PUT) && path.starts_with("v2/");
        let response = if rest_write {
            let (status, body) =
                self.demo.rest_write(request.method.as_str(), path, request.body.unwrap_or(&Value::Null));
            reply_json(StatusCode::from_u16(status).unwrap_or(StatusCode::OK), &body)
        } else if request.method == Method::POST {
            self.graphql(request.body)
        } else if request.method != Method::GET && request.method != Method::HEAD {
            reply(StatusCode::METHOD_NOT_ALLOWED, message("Method Not Allowed"))
        } else if let Some(text) = self.demo.download(url.as_str()) {
            reply(StatusCode::OK, text.as_bytes().to_vec())
        } else if path == "v2/access-token" {
            reply_json(StatusCode::OK, &json!({"scopes": DEMO_SCOPES}))
        } else if let Some(job) = log_job(path) {
            self.log(job, request.header("range"))
        } else {
            let query: Vec<(String, String)> =
                url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
            match self.demo.rest(path, &query) {
                Some(page) => {
                    let mut response = reply_json(StatusCode::OK, &page.body);
                    if let Some(next) = page.next_page {
                        let mut next_url = url.clone();
                        next_url.query_pairs_mut().clear().append_pair("page", &next.to_string());
                        set(&mut response.headers, LINK, &format!("<{next_url}>; rel=\"next\""));
                    }
                    response
                }
                None => reply(StatusCode::NOT_FOUND, message(&format!("Not Found: {GAP_HINT}"))),
            }
        };
        if request.method == Method::HEAD { Response { body: Body::Bytes(Vec::new()), ..response } } else { response }
    }

    /// A GraphQL request: the recorded response for its operation and variables.
    fn graphql(&self, body: Option<&Value>) -> Response {
        let Some(body) = body else {
            return reply(StatusCode::BAD_REQUEST, message("body is not JSON"));
        };
        let operation = body.get("operationName").and_then(Value::as_str).unwrap_or("?");
        let variables = body.get("variables").cloned().unwrap_or(Value::Null);
        let answer = self.demo.graphql(operation, &variables).unwrap_or_else(
            || json!({"data": null, "errors": [{"message": format!("{GAP_HINT} (operation {operation})")}]}),
        );
        reply_json(StatusCode::OK, &answer)
    }

    /// A job log: whole, or the suffix a `Range: bytes=-N` asks for.
    fn log(&self, job: &str, range: Option<&str>) -> Response {
        let Some(log) = self.demo.job_log(job) else {
            return reply(StatusCode::NOT_FOUND, message("No job found"));
        };
        let bytes = log.as_bytes();
        let Some(range) = range else {
            return reply(StatusCode::OK, bytes.to_vec());
        };
        match range.strip_prefix("bytes=-").and_then(|n| n.parse::<usize>().ok()) {
            None | Some(0) => {
                reply(StatusCode::BAD_REQUEST, message("Invalid range: only suffix ranges are supported"))
            }
            Some(_) if bytes.is_empty() => reply(StatusCode::RANGE_NOT_SATISFIABLE, Vec::new()),
            Some(n) => {
                let start = bytes.len().saturating_sub(n);
                let mut response = reply(StatusCode::PARTIAL_CONTENT, bytes[start..].to_vec());
                let content_range = format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len());
                set(&mut response.headers, CONTENT_RANGE, &content_range);
                response
            }
        }
    }
}

impl Transport for DemoTransport {
    fn send<'a>(&'a self, request: &'a Request<'a>) -> BoxFuture<'a, Result<Response, ApiError>> {
        Box::pin(std::future::ready(Ok(self.answer(request))))
    }
}

/// The job of a log route: `v2/organizations/{org}/jobs/{job}/log` or
/// `v2/organizations/{org}/pipelines/{pipeline}/builds/{n}/jobs/{job}/log`.
fn log_job(path: &str) -> Option<&str> {
    let rest = path.strip_suffix("/log")?;
    let (before, job) = rest.rsplit_once('/')?;
    (before.starts_with("v2/organizations/") && before.ends_with("/jobs")).then_some(job)
}

/// A `{"message": …}` body, as Buildkite's REST errors have.
fn message(text: &str) -> Vec<u8> {
    json!({ "message": text }).to_string().into_bytes()
}

/// A response with `Content-Length`.
fn reply(status: StatusCode, body: Vec<u8>) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response { status, headers, body: Body::Bytes(body) }
}

/// A JSON response.
fn reply_json(status: StatusCode, value: &Value) -> Response {
    let mut response = reply(status, value.to_string().into_bytes());
    set(&mut response.headers, CONTENT_TYPE, "application/json");
    response
}

/// Sets a header (a value that is not a valid header is left out).
fn set(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::buildkite::rest::LogTail;
    use reqwest::Url;

    /// A recorded log and its job.
    fn recorded() -> (&'static str, &'static str) {
        super::super::LOGS[0]
    }

    fn get<'a>(url: &'a Url, headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request { method: Method::GET, url, headers, body: None, bearer: true, timeout: Duration::from_secs(1) }
    }

    #[test]
    fn a_suffix_range_answers_206_with_content_range() {
        let (job, log) = recorded();
        let url = Url::parse(&format!("{REST_URL}v2/organizations/acme/jobs/{job}/log")).unwrap();
        let response = DemoTransport::load().answer(&get(&url, &[("Range", "bytes=-10")]));
        assert_eq!(response.status, StatusCode::PARTIAL_CONTENT);
        let range = response.headers.get(CONTENT_RANGE).unwrap().to_str().unwrap().to_string();
        assert_eq!(range, format!("bytes {}-{}/{}", log.len() - 10, log.len() - 1, log.len()));
        assert!(matches!(response.body, Body::Bytes(b) if b == log.as_bytes()[log.len() - 10..]));
        let response = DemoTransport::load().answer(&get(&url, &[("range", "bytes=0-10")]));
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn log_routes_name_their_job() {
        assert_eq!(log_job("v2/organizations/acme/jobs/abc/log"), Some("abc"));
        assert_eq!(log_job("v2/organizations/acme/pipelines/web/builds/1/jobs/abc/log"), Some("abc"));
        assert_eq!(log_job("v2/organizations/acme/jobs/abc/env"), None);
        assert_eq!(log_job("v2/log"), None);
    }

    #[tokio::test]
    async fn log_tail_size_and_stream_read_the_recorded_log() {
        let (job, log) = recorded();
        let api = Api::demo();
        assert!(api.is_demo());
        let tail = api.job_log_tail("acme", "web", 1342, job, 100).await.unwrap();
        assert_eq!(
            tail,
            LogTail { bytes: log.as_bytes()[log.len() - 101..].to_vec(), total: Some(log.len() as u64), partial: true }
        );
        let whole = api.job_log_tail_org("acme", job, log.len() as u64 * 2).await.unwrap();
        assert_eq!((whole.bytes.as_slice(), whole.partial), (log.as_bytes(), false));
        assert_eq!(api.job_log_size("acme", job).await.unwrap(), Some(log.len() as u64));
        let mut streamed = Vec::new();
        let mut sink = |chunk: &[u8]| {
            streamed.extend_from_slice(chunk);
            Ok(())
        };
        let (received, expected) = api.job_log_stream("acme", job, u64::MAX, &mut sink).await.unwrap();
        assert_eq!((received, expected), (log.len() as u64, Some(log.len() as u64)));
        assert_eq!(streamed, log.as_bytes());
        let too_small = api.job_log_stream("acme", job, 10, &mut |_| Ok(())).await.unwrap_err();
        assert!(matches!(too_small, ApiError::LogTooLarge { .. }), "{too_small}");
    }

    #[tokio::test]
    async fn what_is_not_recorded_is_not_found() {
        let api = Api::demo();
        let unknown = "00000000-0000-4000-8000-000000000000";
        let e = api.job_log_size("acme", unknown).await.unwrap_err();
        assert!(matches!(e, ApiError::NotFound { .. }), "{e}");
        let e = api.job_log_tail_org("acme", unknown, 100).await.unwrap_err();
        assert!(matches!(e, ApiError::NotFound { .. }), "{e}");
        let e = api.rest_json("v2/organizations/nope/builds", &[]).await.unwrap_err();
        assert!(matches!(e, ApiError::NotFound { ref hint, .. } if hint.contains("demo organization")), "{e}");
        let e = api.download("https://artifacts.invalid/nope.txt", 100).await.unwrap_err();
        assert!(matches!(e, ApiError::NotFound { .. }), "{e}");
    }

    #[tokio::test]
    async fn rest_pages_downloads_and_scopes_are_recorded() {
        let api = Api::demo();
        let page = api.rest_json("v2/organizations/acme/builds", &[]).await.unwrap();
        assert_eq!(page.next_page, Some(2));
        assert!(page.body.is_array());
        let page2 = api.rest_json("v2/organizations/acme/builds", &[("page", "2".into())]).await.unwrap();
        assert_eq!(page2.next_page, None);
        assert_ne!(page.body, page2.body);
        let url = "https://artifacts.invalid/acme/web/1342/019da481-2bd7-4616-9f61-1e77d966f58e/failures.txt";
        let whole = Demo::load().download(url).map_or(0, str::len);
        let download = api.download(url, 5).await.unwrap();
        assert_eq!((download.bytes.len(), download.truncated), (5, whole > 5));
        let token = api.access_token().await.unwrap();
        assert_eq!(token.scopes, DEMO_SCOPES);
    }

    #[cfg(not(ops_stub))]
    #[tokio::test]
    async fn graphql_answers_by_operation_name() {
        use crate::buildkite::ops::{CurrentUser, current_user};
        let api = Api::demo();
        api.execute::<CurrentUser>(current_user::Variables {}).await.unwrap();
    }
}
