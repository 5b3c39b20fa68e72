//! A fake Buildkite on 127.0.0.1: GraphQL answered by operation name from the demo fixtures (plus
//! any under tests/fixtures), `GET /v2/access-token`, request counting and fault injection.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use buildkite_mcp_server::demo::Demo;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The token the fake accepts.
pub const TOKEN: &str = "bkua_test_0123456789abcdef";

/// What the fake does instead of answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Answer with this status and a REST-style `{"message": …}` body.
    Status(u16, &'static str),
    /// 429 with `RateLimit-Reset` seconds.
    RateLimited(u64),
    /// Wait this long, then answer normally.
    Slow(Duration),
    /// 200 with a body that is not JSON.
    Malformed,
    /// 200 with GraphQL `errors[]` and null data.
    GraphQLErrors(&'static str),
    /// The connection is cut after the status line: the client sees a reset, not an answer.
    Reset,
    /// No answer at all for this long (longer than any client time-out).
    Stall(Duration),
    /// A storm, decided per request from a counter: 30 % 429, 20 % 500, 10 % stall, 10 % reset,
    /// 30 % answered normally.
    Storm,
}

/// A log too big to hold in memory: a file on disk, or `size` bytes of generated lines.
#[derive(Debug, Clone)]
pub enum BigLog {
    /// Served from this file.
    File(std::path::PathBuf),
    /// Generated on the fly (only its size matters: a server must refuse it).
    Synthetic(u64),
}

/// A REST route a test added: path, query pairs that must be present, body.
type ExtraRoute = (String, Vec<(String, String)>, Value);

/// Answers an operation from code instead of fixtures (synthetic organisations).
pub type Responder = Box<dyn Fn(&str, &Value) -> Option<Value> + Send + Sync>;

/// Answers a REST `GET /v2/…` from code instead of the recorded routes: `(path, query pairs)` →
/// JSON body (planted test data that must not ship in the demo).
pub type RestResponder = Box<dyn Fn(&str, &[(String, String)]) -> Option<Value> + Send + Sync>;

#[derive(Default)]
struct Shared {
    demo: Demo,
    responder: Mutex<Option<Arc<Responder>>>,
    rest_responder: Mutex<Option<Arc<RestResponder>>>,
    any_log: Mutex<Option<Arc<String>>>,
    /// Logs served from outside memory (large benchmark logs), by job UUID.
    big_logs: Mutex<std::collections::HashMap<String, BigLog>>,
    graphql_fault: Mutex<Option<(Fault, Option<usize>)>>,
    rest_fault: Mutex<Option<Fault>>,
    scopes: Mutex<Vec<String>>,
    graphql_requests: AtomicUsize,
    rest_requests: AtomicUsize,
    log_bytes: AtomicUsize,
    operations: Mutex<Vec<String>>,
    /// Every GraphQL request body received (query, variables, operation name), in order.
    graphql_bodies: Mutex<Vec<Value>>,
    user_agents: Mutex<Vec<String>>,
    /// Downloads that arrived carrying an Authorization header (a leaked token).
    leaked_downloads: AtomicUsize,
    /// The fake's own base URL, for rewriting recorded download URLs.
    base: Mutex<String>,
    /// REST routes added by a test, answered before the recorded ones: (path, query, body).
    extra_routes: Mutex<Vec<ExtraRoute>>,
    /// Bytes of REST JSON bodies sent (not logs).
    rest_bytes: AtomicUsize,
    /// Log responses carry no size (no Content-Length on HEAD or GET).
    hide_log_size: std::sync::atomic::AtomicBool,
    /// Headers added to every answer (e.g. `RateLimit-*`).
    answer_headers: Mutex<Vec<(String, String)>>,
    /// Every REST write received: `{"method", "path", "body"}`, in order.
    rest_writes: Mutex<Vec<Value>>,
    /// A GraphQL operation name or REST write path whose next request is carried out and then
    /// left unanswered for this long (the answer is lost after the write took effect).
    lose_answer: Mutex<Option<(String, Duration)>>,
    /// A GraphQL operation whose next requests are refused with a fault before anything is done:
    /// (operation, fault, how many more times).
    reject: Mutex<Option<(String, Fault, usize)>>,
    /// Requests refused that way.
    rejected: AtomicUsize,
}

/// The host recorded artifact download URLs use; the fake serves them under `/_downloads/` on
/// `localhost` (another origin than the API's 127.0.0.1, as a storage host would be).
const DOWNLOAD_HOST: &str = "https://artifacts.invalid/";

/// A running fake. Dropping it stops nothing (the test process ends it).
#[derive(Clone)]
pub struct FakeBuildkite {
    /// Base URL, `http://127.0.0.1:PORT`.
    pub url: String,
    shared: Arc<Shared>,
}

/// The read-only scope set of Buildkite's MCP token recipe.
pub use buildkite_mcp_server::buildkite::rest::READ_ONLY_SCOPES;

impl FakeBuildkite {
    /// Starts the fake on an ephemeral port.
    pub async fn start() -> FakeBuildkite {
        let mut demo = Demo::load();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "json") {
                    let name = path.file_stem().unwrap().to_string_lossy().to_string();
                    demo.add(&name, &std::fs::read_to_string(&path).unwrap()).unwrap();
                }
            }
        }
        let shared = Arc::new(Shared {
            demo,
            scopes: Mutex::new(READ_ONLY_SCOPES.iter().map(|s| s.to_string()).collect()),
            ..Shared::default()
        });
        let app = Router::new()
            .route("/graphql", post(graphql))
            .route("/v2/access-token", get(access_token))
            .route("/v2/organizations/{org}/pipelines/{pipeline}/builds/{build}/jobs/{job}/log", get(job_log))
            .route("/v2/organizations/{org}/jobs/{job}/log", get(org_job_log))
            .route("/v2/{*path}", get(rest_route).post(rest_write).put(rest_write))
            .route("/_downloads/{*path}", get(download))
            .layer(axum::middleware::map_response_with_state(shared.clone(), add_answer_headers))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        *shared.base.lock().unwrap() =
            format!("http://localhost:{}/_downloads/", listener.local_addr().unwrap().port());
        // Outermost: an answer that states no headroom of its own gets the fake's defaults.
        let app = app.layer(axum::middleware::from_fn(rate_limit_headers));
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeBuildkite { url, shared }
    }

    /// The port the fake listens on.
    pub fn port(&self) -> u16 {
        self.url.rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or(0)
    }

    /// The GraphQL endpoint.
    pub fn graphql_url(&self) -> String {
        format!("{}/graphql", self.url)
    }

    /// Every GraphQL request fails with `fault` (for the next `times` requests, or always).
    pub fn fail_graphql(&self, fault: Fault, times: Option<usize>) {
        *self.shared.graphql_fault.lock().unwrap() = Some((fault, times));
    }

    /// `GET /v2/access-token` fails with `fault`.
    pub fn fail_rest(&self, fault: Fault) {
        *self.shared.rest_fault.lock().unwrap() = Some(fault);
    }

    /// Answers GraphQL from `responder` first (falling back to the fixtures when it returns None).
    pub fn set_responder(&self, responder: Responder) {
        *self.shared.responder.lock().unwrap() = Some(Arc::new(responder));
    }

    /// Answers REST `GET /v2/…` from `responder` first (falling back to the recorded routes).
    pub fn set_rest_responder(&self, responder: RestResponder) {
        *self.shared.rest_responder.lock().unwrap() = Some(Arc::new(responder));
    }

    /// Serves `log` for any job that has no recorded log (synthetic organisations).
    pub fn set_any_log(&self, log: String) {
        *self.shared.any_log.lock().unwrap() = Some(Arc::new(log));
    }

    /// Serves `log` for job `uuid` from disk or generated (logs too large for memory).
    pub fn set_big_log(&self, uuid: &str, log: BigLog) {
        self.shared.big_logs.lock().unwrap().insert(uuid.to_string(), log);
    }

    /// Log bytes sent so far (the size of every log response body).
    pub fn log_bytes_sent(&self) -> usize {
        self.shared.log_bytes.load(Ordering::SeqCst)
    }

    /// Every request so far, GraphQL and REST: take it at a point, compare later.
    pub fn requests(&self) -> usize {
        self.graphql_requests() + self.rest_requests()
    }

    /// Log answers state no size (a HEAD with no Content-Length, a GET streamed without one).
    pub fn hide_log_size(&self, hide: bool) {
        self.shared.hide_log_size.store(hide, Ordering::SeqCst);
    }

    /// Log GETs (not HEADs) received so far.
    pub fn log_downloads(&self) -> usize {
        self.operations().iter().filter(|o| o.starts_with("log ")).count()
    }

    /// Whether GraphQL answers (no fault is injected for it).
    pub fn fail_graphql_is_off(&self) -> bool {
        self.shared.graphql_fault.lock().unwrap().is_none()
    }

    /// Stops injecting faults.
    /// Every answer from now on carries these headers (e.g. `RateLimit-User-Remaining`).
    pub fn set_answer_headers(&self, headers: &[(&str, &str)]) {
        *self.shared.answer_headers.lock().unwrap() =
            headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    }

    pub fn heal(&self) {
        *self.shared.graphql_fault.lock().unwrap() = None;
        *self.shared.rest_fault.lock().unwrap() = None;
    }

    /// The scopes the access-token endpoint reports.
    pub fn set_scopes(&self, scopes: &[&str]) {
        *self.shared.scopes.lock().unwrap() = scopes.iter().map(|s| s.to_string()).collect();
    }

    /// GraphQL requests received so far.
    pub fn graphql_requests(&self) -> usize {
        self.shared.graphql_requests.load(Ordering::SeqCst)
    }

    /// REST requests received so far.
    pub fn rest_requests(&self) -> usize {
        self.shared.rest_requests.load(Ordering::SeqCst)
    }

    /// Artifact downloads that carried an Authorization header.
    pub fn leaked_downloads(&self) -> usize {
        self.shared.leaked_downloads.load(Ordering::SeqCst)
    }

    /// Every GraphQL request body received (`query`, `variables`, `operationName`), in order.
    pub fn graphql_bodies(&self) -> Vec<Value> {
        self.shared.graphql_bodies.lock().unwrap().clone()
    }

    /// Operation names received, in order.
    pub fn operations(&self) -> Vec<String> {
        self.shared.operations.lock().unwrap().clone()
    }

    /// Answers `GET /{path}` (no leading slash) whose query holds every pair of `query` with
    /// `body`, before the recorded routes (the last added wins over earlier ones).
    pub fn add_rest_route(&self, path: &str, query: &[(&str, &str)], body: Value) {
        let query = query.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        self.shared.extra_routes.lock().unwrap().insert(0, (path.to_string(), query, body));
    }

    /// Bytes of REST JSON bodies sent so far (logs are counted by `log_bytes_sent`).
    pub fn rest_bytes_sent(&self) -> usize {
        self.shared.rest_bytes.load(Ordering::SeqCst)
    }

    /// Every REST write received (`method`, `path`, `body`), in order.
    pub fn rest_writes(&self) -> Vec<Value> {
        self.shared.rest_writes.lock().unwrap().clone()
    }

    /// The GraphQL mutations received (`operationName`, `variables`), in order.
    pub fn mutations(&self) -> Vec<Value> {
        self.graphql_bodies()
            .into_iter()
            .filter(|b| buildkite_mcp_server::buildkite::graphql::is_mutation(b["query"].as_str().unwrap_or("")))
            .map(|b| json!({"operation": b["operationName"], "variables": b["variables"]}))
            .collect()
    }

    /// The next request for `operation` (a GraphQL operation name, or a REST write path ending)
    /// is carried out, then left unanswered for `wait`: the client times out after the change.
    pub fn lose_answer(&self, operation: &str, wait: Duration) {
        *self.shared.lose_answer.lock().unwrap() = Some((operation.to_string(), wait));
    }

    /// The next `times` requests for the GraphQL `operation` are answered with `fault` before
    /// anything is done (the request is not recorded as received).
    pub fn reject_operation(&self, operation: &str, fault: Fault, times: usize) {
        *self.shared.reject.lock().unwrap() = Some((operation.to_string(), fault, times));
    }

    /// Requests refused by `reject_operation` so far.
    pub fn rejected(&self) -> usize {
        self.shared.rejected.load(Ordering::SeqCst)
    }

    /// User-Agent headers received.
    pub fn user_agents(&self) -> Vec<String> {
        self.shared.user_agents.lock().unwrap().clone()
    }
}

/// The rate-limit headroom the fake states on every API answer, as Buildkite does: REST requests
/// (`/v2/…`) and GraphQL complexity points (`/graphql`). An answer that sets its own (a 429) keeps them.
pub const REST_RATE_LIMIT: (u64, u64, u64) = (187, 200, 42);
/// See [`REST_RATE_LIMIT`]: (remaining, limit, reset seconds).
pub const GRAPHQL_RATE_LIMIT: (u64, u64, u64) = (19_870, 20_000, 180);

async fn rate_limit_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (remaining, limit, reset) = match request.uri().path() {
        "/graphql" => GRAPHQL_RATE_LIMIT,
        p if p.starts_with("/v2/") => REST_RATE_LIMIT,
        _ => return next.run(request).await,
    };
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key("ratelimit-remaining") {
        headers.insert("ratelimit-remaining", remaining.into());
        headers.insert("ratelimit-limit", limit.into());
        headers.insert("ratelimit-reset", reset.into());
    }
    response
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn rest_error(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (status, axum::Json(json!({"message": message}))).into_response()
}

/// Requests seen by the storm, which decides each one's fate.
static STORM: AtomicUsize = AtomicUsize::new(0);

async fn apply(fault: Fault) -> Option<Response> {
    match fault {
        Fault::Storm => {
            // A fixed shuffle of ten fates, walked by the request count.
            let n = STORM.fetch_add(1, Ordering::SeqCst);
            let fate = [0, 4, 1, 7, 2, 5, 8, 3, 6, 9][n % 10];
            let next = match fate {
                0..=2 => Fault::RateLimited(1),
                3 | 4 => Fault::Status(500, "Internal Server Error"),
                5 => Fault::Stall(Duration::from_secs(60)),
                6 => Fault::Reset,
                _ => return None,
            };
            Box::pin(apply(next)).await
        }
        Fault::Reset => {
            let stream = futures_util::stream::once(async {
                Err::<Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset"))
            });
            Some(
                (StatusCode::OK, [(header::CONTENT_LENGTH, "1000")], axum::body::Body::from_stream(stream))
                    .into_response(),
            )
        }
        Fault::Stall(d) => {
            tokio::time::sleep(d).await;
            Some(rest_error(504, "stalled"))
        }
        Fault::Status(status, message) => Some(rest_error(status, message)),
        Fault::RateLimited(reset) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("RateLimit-Remaining", "12000".to_string()),
                    ("RateLimit-Limit", "20000".to_string()),
                    ("RateLimit-Reset", "280".to_string()),
                    ("RateLimit-User-Remaining", "0".to_string()),
                    ("RateLimit-User-Limit", "5000".to_string()),
                    ("RateLimit-User-Reset", reset.to_string()),
                ],
                axum::Json(json!({"message": "You have exceeded your per-user limit of 5000 complexity points"})),
            )
                .into_response(),
        ),
        Fault::Slow(d) => {
            tokio::time::sleep(d).await;
            None
        }
        Fault::Malformed => Some((StatusCode::OK, "{\"data\": {\"build\": ").into_response()),
        Fault::GraphQLErrors(message) => {
            Some(axum::Json(json!({"data": null, "errors": [{"message": message}]})).into_response())
        }
    }
}

/// The JSON objects in `value`, itself included.
fn objects(value: &Value) -> usize {
    match value {
        Value::Object(map) => 1 + map.values().map(objects).sum::<usize>(),
        Value::Array(items) => items.iter().map(objects).sum(),
        _ => 0,
    }
}

/// Adds the test's answer headers to a response.
async fn add_answer_headers(State(shared): State<Arc<Shared>>, mut response: Response) -> Response {
    for (k, v) in shared.answer_headers.lock().unwrap().iter() {
        if let (Ok(name), Ok(value)) =
            (axum::http::HeaderName::from_bytes(k.as_bytes()), axum::http::HeaderValue::from_str(v))
        {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

async fn graphql(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.graphql_requests.fetch_add(1, Ordering::SeqCst);
    if let Some(ua) = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()) {
        shared.user_agents.lock().unwrap().push(ua.to_string());
    }
    let fault = {
        let mut guard = shared.graphql_fault.lock().unwrap();
        match guard.as_mut() {
            Some((fault, Some(left))) => {
                let f = fault.clone();
                *left -= 1;
                if *left == 0 {
                    *guard = None;
                }
                Some(f)
            }
            Some((fault, None)) => Some(fault.clone()),
            None => None,
        }
    };
    if let Some(fault) = fault
        && let Some(response) = apply(fault).await
    {
        return response;
    }
    if !authorized(&headers) {
        return rest_error(401, "Authentication required. Please supply a valid API Access Token");
    }
    let Ok(request) = serde_json::from_slice::<Value>(&body) else {
        return rest_error(400, "body is not JSON");
    };
    let name = request["operationName"].as_str().unwrap_or("").to_string();
    let reject = {
        let mut guard = shared.reject.lock().unwrap();
        match guard.as_mut() {
            Some((operation, fault, left)) if *operation == name && *left > 0 => {
                *left -= 1;
                Some(fault.clone())
            }
            _ => None,
        }
    };
    if let Some(fault) = reject
        && let Some(response) = apply(fault).await
    {
        shared.rejected.fetch_add(1, Ordering::SeqCst);
        return response;
    }
    shared.operations.lock().unwrap().push(name.clone());
    shared.graphql_bodies.lock().unwrap().push(request.clone());
    if name == "IntrospectionQuery" {
        return axum::Json(introspect(request["query"].as_str().unwrap_or(""))).into_response();
    }
    let responder = shared.responder.lock().unwrap().clone();
    if let Some(response) = responder.and_then(|r| r(&name, &request["variables"])) {
        return axum::Json(response).into_response();
    }
    let answer = shared.demo.graphql(&name, &request["variables"]);
    lose_if_asked(&shared, &name).await;
    match answer {
        Some(mut response) => {
            // `Buildkite-Include-Query-Stats: true` adds the query's figures to the body, as Buildkite
            // does: requested by the documented formula, actual as the objects the answer holds.
            if headers.get("buildkite-include-query-stats").and_then(|v| v.to_str().ok()) == Some("true") {
                let requested = buildkite_mcp_server::schema::complexity::committed_schema()
                    .ok()
                    .and_then(|s| {
                        buildkite_mcp_server::schema::complexity::requested(
                            &s,
                            request["query"].as_str().unwrap_or(""),
                            &request["variables"],
                        )
                        .ok()
                    })
                    .unwrap_or(0);
                let actual = objects(&response["data"]).saturating_sub(1);
                response["stats"] = json!({"requestedComplexity": requested, "actualComplexity": actual});
            }
            let text = response.to_string().replace(DOWNLOAD_HOST, &shared.base.lock().unwrap());
            ([(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
        None => axum::Json(json!({"data": null, "errors": [{"message": format!("fake: no fixture for {name}")}]}))
            .into_response(),
    }
}

async fn access_token(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    shared.rest_requests.fetch_add(1, Ordering::SeqCst);
    let fault = shared.rest_fault.lock().unwrap().clone();
    if let Some(fault) = fault
        && let Some(response) = apply(fault).await
    {
        return response;
    }
    if !authorized(&headers) {
        return rest_error(401, "Authentication required. Please supply a valid API Access Token");
    }
    let scopes = shared.scopes.lock().unwrap().clone();
    axum::Json(json!({"uuid": "b5c3a4ba-6c5f-4d0b-9a8d-3f3e4c4bb1a0", "scopes": scopes, "description": "mcp", "created_at": "2026-01-01T00:00:00Z"}))
        .into_response()
}

/// Answers an introspection query from the committed schema, as Buildkite would from its own.
fn introspect(query: &str) -> Value {
    use apollo_compiler::{ExecutableDocument, Schema, introspection, request};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/graphql/schema.graphql");
    let schema = Schema::parse_and_validate(std::fs::read_to_string(path).unwrap(), path).unwrap();
    let doc = ExecutableDocument::parse_and_validate(&schema, query, "introspection.graphql").unwrap();
    let operation = doc.operations.get(None).unwrap();
    let variables = request::coerce_variable_values(&schema, operation, &Default::default()).unwrap();
    let response =
        introspection::partial_execute(&schema, &schema.implementers_map(), &doc, operation, &variables).unwrap();
    serde_json::to_value(response).unwrap()
}

/// `GET …/jobs/{job}/log` (pipeline-scoped route).
async fn job_log(
    State(shared): State<Arc<Shared>>,
    Path((_org, _pipeline, _build, job)): Path<(String, String, String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    serve_log(shared, job, method, headers).await
}

/// `GET` or `HEAD /v2/organizations/{org}/jobs/{job}/log` (organization-scoped route).
async fn org_job_log(
    State(shared): State<Arc<Shared>>,
    Path((_org, job)): Path<(String, String)>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    serve_log(shared, job, method, headers).await
}

/// A job log with `Accept: text/plain`, honouring a suffix `Range: bytes=-N` with 206 and
/// `Content-Range` as Buildkite does (416 for an empty log, 400 for other ranges); `HEAD` gives
/// the size. Large logs stream from disk (or are generated) in chunks.
async fn serve_log(shared: Arc<Shared>, job: String, method: axum::http::Method, headers: HeaderMap) -> Response {
    shared.rest_requests.fetch_add(1, Ordering::SeqCst);
    let verb = if method == axum::http::Method::HEAD { "head" } else { "log" };
    shared.operations.lock().unwrap().push(format!("{verb} {job}"));
    let fault = shared.rest_fault.lock().unwrap().clone();
    if let Some(fault) = fault
        && let Some(response) = apply(fault).await
    {
        return response;
    }
    if !authorized(&headers) {
        return rest_error(401, "Authentication required. Please supply a valid API Access Token");
    }
    let suffix = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes=-"))
        .and_then(|n| n.parse::<u64>().ok());
    if headers.get(header::RANGE).is_some() && suffix.is_none() {
        return rest_error(400, "Invalid range: only suffix ranges are supported");
    }
    let big = shared.big_logs.lock().unwrap().get(&job).cloned();
    if let Some(big) = big {
        let size = match &big {
            BigLog::File(path) => std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            BigLog::Synthetic(size) => *size,
        };
        let (status, start) = match suffix {
            Some(0) => return rest_error(400, "Invalid range"),
            Some(_) if size == 0 => return StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
            Some(n) => (StatusCode::PARTIAL_CONTENT, size.saturating_sub(n)),
            None => (StatusCode::OK, 0),
        };
        let length = size - start;
        // Bytes are counted as they are sent, so a client that stops reading is seen to stop.
        let counter = (method != axum::http::Method::HEAD).then(|| shared.clone());
        let body = big_body(big, start, length, counter);
        let mut response = (status, [(header::CONTENT_LENGTH, length.to_string())], body).into_response();
        if status == StatusCode::PARTIAL_CONTENT {
            let range = format!("bytes {start}-{}/{size}", size - 1);
            response.headers_mut().insert(header::CONTENT_RANGE, range.parse().unwrap());
        }
        return response;
    }
    let any = shared.any_log.lock().unwrap().clone();
    let log: String = match (shared.demo.job_log(&job), any) {
        (Some(log), _) => log.to_string(),
        (None, Some(any)) => any.as_str().to_string(),
        (None, None) => return rest_error(404, "No job found"),
    };
    let bytes = log.as_bytes();
    let counted = |n: usize| {
        if method != axum::http::Method::HEAD {
            shared.log_bytes.fetch_add(n, Ordering::SeqCst);
        }
    };
    if suffix.is_none() && shared.hide_log_size.load(Ordering::SeqCst) {
        counted(bytes.len());
        let body = bytes.to_vec();
        let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(body)) });
        return (StatusCode::OK, axum::body::Body::from_stream(stream)).into_response();
    }
    match suffix {
        Some(0) => rest_error(400, "Invalid range"),
        Some(_) if bytes.is_empty() => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
        Some(n) => {
            let start = bytes.len().saturating_sub(n as usize);
            let range = format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len());
            counted(bytes.len() - start);
            (StatusCode::PARTIAL_CONTENT, [(header::CONTENT_RANGE, range)], bytes[start..].to_vec()).into_response()
        }
        None => {
            counted(bytes.len());
            (StatusCode::OK, bytes.to_vec()).into_response()
        }
    }
}

/// `length` bytes of a big log from `start`, in 256 KiB chunks.
fn big_body(log: BigLog, start: u64, length: u64, counter: Option<Arc<Shared>>) -> axum::body::Body {
    use std::io::{Read, Seek, SeekFrom};
    const CHUNK: u64 = 256 * 1024;
    let file = match &log {
        BigLog::File(path) => std::fs::File::open(path).ok().map(|mut f| {
            f.seek(SeekFrom::Start(start)).unwrap();
            f
        }),
        BigLog::Synthetic(_) => None,
    };
    let line = b"2026-11-20 10:16:03 generated line of a very large log, padding padding padding\n";
    let stream = futures_util::stream::unfold((file, length), move |(mut file, left)| {
        let counter = counter.clone();
        async move {
            if left == 0 {
                return None;
            }
            if let Some(shared) = &counter {
                shared.log_bytes.fetch_add(left.min(CHUNK) as usize, Ordering::SeqCst);
            }
            let n = left.min(CHUNK) as usize;
            let mut buf = vec![0u8; n];
            match file.as_mut() {
                Some(f) => f.read_exact(&mut buf).ok()?,
                None => {
                    for (i, b) in buf.iter_mut().enumerate() {
                        *b = line[i % line.len()];
                    }
                }
            }
            Some((Ok::<_, std::io::Error>(Bytes::from(buf)), (file, left - n as u64)))
        }
    });
    axum::body::Body::from_stream(stream)
}

/// Any other `GET /v2/…`: the recorded REST answers of the demo organization, with a `Link` header
/// when there is a next page.
async fn rest_route(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    shared.rest_requests.fetch_add(1, Ordering::SeqCst);
    shared.operations.lock().unwrap().push(format!("GET /v2/{path}"));
    let fault = shared.rest_fault.lock().unwrap().clone();
    if let Some(fault) = fault
        && let Some(response) = apply(fault).await
    {
        return response;
    }
    if !authorized(&headers) {
        return rest_error(401, "Authentication required. Please supply a valid API Access Token");
    }
    let pairs: Vec<(String, String)> = url_pairs(query.as_deref().unwrap_or(""));
    let full = format!("v2/{path}");
    let responder = shared.rest_responder.lock().unwrap().clone();
    if let Some(body) = responder.and_then(|r| r(&full, &pairs)) {
        return axum::Json(body).into_response();
    }
    let extra = shared
        .extra_routes
        .lock()
        .unwrap()
        .iter()
        .find(|(p, q, _)| *p == full && q.iter().all(|kv| pairs.contains(kv)))
        .map(|(_, _, body)| body.to_string());
    if let Some(body) = extra {
        shared.rest_bytes.fetch_add(body.len(), Ordering::SeqCst);
        return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    }
    match shared.demo.rest(&full, &pairs) {
        Some(page) => {
            let body = page.body.to_string().replace(DOWNLOAD_HOST, &shared.base.lock().unwrap());
            shared.rest_bytes.fetch_add(body.len(), Ordering::SeqCst);
            // An artifact's `…/download` answers 302 to its pre-signed URL (also in the body), as Buildkite does.
            if full.ends_with("/download")
                && let Some(url) = page.body["url"].as_str()
            {
                let location = url.replace(DOWNLOAD_HOST, &shared.base.lock().unwrap());
                return (StatusCode::FOUND, [(header::LOCATION, location)], body).into_response();
            }
            let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
            if let Some(next) = page.next_page {
                let link = format!("<https://api.buildkite.com/v2/{path}?page={next}&per_page=30>; rel=\"next\"");
                response.headers_mut().insert(header::LINK, link.parse().unwrap());
            }
            response
        }
        None => rest_error(404, "Not Found"),
    }
}

/// Waits out the lost answer asked for `what`, once.
async fn lose_if_asked(shared: &Shared, what: &str) {
    let wait = {
        let mut guard = shared.lose_answer.lock().unwrap();
        match guard.as_ref() {
            Some((name, wait)) if what == name || what.ends_with(name.as_str()) => {
                let wait = *wait;
                *guard = None;
                Some(wait)
            }
            _ => None,
        }
    };
    if let Some(wait) = wait {
        tokio::time::sleep(wait).await;
    }
}

/// `POST` / `PUT /v2/…`: a REST write on the demo organization's in-memory copy, recorded.
async fn rest_write(
    State(shared): State<Arc<Shared>>,
    method: axum::http::Method,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.rest_requests.fetch_add(1, Ordering::SeqCst);
    shared.operations.lock().unwrap().push(format!("{method} /v2/{path}"));
    if !authorized(&headers) {
        return rest_error(401, "Authentication required. Please supply a valid API Access Token");
    }
    let body: Value = if body.is_empty() { Value::Null } else { serde_json::from_slice(&body).unwrap_or(Value::Null) };
    shared
        .rest_writes
        .lock()
        .unwrap()
        .push(json!({"method": method.as_str(), "path": format!("v2/{path}"), "body": body}));
    let (status, answer) = shared.demo.rest_write(method.as_str(), &format!("v2/{path}"), &body);
    lose_if_asked(&shared, &format!("v2/{path}")).await;
    (StatusCode::from_u16(status).unwrap(), axum::Json(answer)).into_response()
}

/// Decodes `a=1&b%5B%5D=x` into pairs.
fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A pre-signed artifact download: served without any token (a storage host ignores it; the fake
/// counts one that arrives, since the server must never send the Buildkite token elsewhere).
async fn download(
    State(shared): State<Arc<Shared>>,
    Path(path): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    headers: HeaderMap,
) -> Response {
    if headers.contains_key(header::AUTHORIZATION) {
        shared.leaked_downloads.fetch_add(1, Ordering::SeqCst);
    }
    shared.operations.lock().unwrap().push(format!("download {path}"));
    let url = match query {
        Some(q) => format!("{DOWNLOAD_HOST}{path}?{q}"),
        None => format!("{DOWNLOAD_HOST}{path}"),
    };
    match shared.demo.download(&url) {
        Some(body) => (StatusCode::OK, body.to_string()).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
