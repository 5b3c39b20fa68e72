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
}

/// Answers an operation from code instead of fixtures (synthetic organisations).
pub type Responder = Box<dyn Fn(&str, &Value) -> Option<Value> + Send + Sync>;

#[derive(Default)]
struct Shared {
    demo: Demo,
    responder: Mutex<Option<Arc<Responder>>>,
    any_log: Mutex<Option<Arc<String>>>,
    graphql_fault: Mutex<Option<(Fault, Option<usize>)>>,
    rest_fault: Mutex<Option<Fault>>,
    scopes: Mutex<Vec<String>>,
    graphql_requests: AtomicUsize,
    rest_requests: AtomicUsize,
    log_bytes: AtomicUsize,
    operations: Mutex<Vec<String>>,
    user_agents: Mutex<Vec<String>>,
}

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
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeBuildkite { url, shared }
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

    /// Serves `log` for any job that has no recorded log (synthetic organisations).
    pub fn set_any_log(&self, log: String) {
        *self.shared.any_log.lock().unwrap() = Some(Arc::new(log));
    }

    /// Log bytes sent so far (the size of every log response body).
    pub fn log_bytes_sent(&self) -> usize {
        self.shared.log_bytes.load(Ordering::SeqCst)
    }

    /// Stops injecting faults.
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

    /// Operation names received, in order.
    pub fn operations(&self) -> Vec<String> {
        self.shared.operations.lock().unwrap().clone()
    }

    /// User-Agent headers received.
    pub fn user_agents(&self) -> Vec<String> {
        self.shared.user_agents.lock().unwrap().clone()
    }
}

fn authorized(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn rest_error(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (status, axum::Json(json!({"message": message}))).into_response()
}

async fn apply(fault: Fault) -> Option<Response> {
    match fault {
        Fault::Status(status, message) => Some(rest_error(status, message)),
        Fault::RateLimited(reset) => Some(
            (
                StatusCode::TOO_MANY_REQUESTS,
                [("RateLimit-Reset", reset.to_string()), ("RateLimit-Remaining", "0".to_string())],
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
    shared.operations.lock().unwrap().push(name.clone());
    if name == "IntrospectionQuery" {
        return axum::Json(introspect(request["query"].as_str().unwrap_or(""))).into_response();
    }
    let responder = shared.responder.lock().unwrap().clone();
    if let Some(response) = responder.and_then(|r| r(&name, &request["variables"])) {
        return axum::Json(response).into_response();
    }
    match shared.demo.graphql(&name, &request["variables"]) {
        Some(response) => axum::Json(response).into_response(),
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

/// `GET …/jobs/{job}/log` with `Accept: text/plain`: the recorded log, honouring a suffix
/// `Range: bytes=-N` with 206 and `Content-Range`, as Buildkite does (416 for an empty log).
async fn job_log(
    State(shared): State<Arc<Shared>>,
    Path((_org, _pipeline, _build, job)): Path<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    shared.rest_requests.fetch_add(1, Ordering::SeqCst);
    shared.operations.lock().unwrap().push(format!("log {job}"));
    let fault = shared.rest_fault.lock().unwrap().clone();
    if let Some(fault) = fault
        && let Some(response) = apply(fault).await
    {
        return response;
    }
    if !authorized(&headers) {
        return rest_error(401, "Authentication required. Please supply a valid API Access Token");
    }
    let any = shared.any_log.lock().unwrap().clone();
    let log: String = match (shared.demo.job_log(&job), any) {
        (Some(log), _) => log.to_string(),
        (None, Some(any)) => any.as_str().to_string(),
        (None, None) => return rest_error(404, "No job found"),
    };
    let bytes = log.as_bytes();
    let suffix = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes=-"))
        .and_then(|n| n.parse::<usize>().ok());
    match suffix {
        Some(0) => rest_error(400, "Invalid range"),
        Some(_) if bytes.is_empty() => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
        Some(n) => {
            let start = bytes.len().saturating_sub(n);
            let range = format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len());
            shared.log_bytes.fetch_add(bytes.len() - start, Ordering::SeqCst);
            (StatusCode::PARTIAL_CONTENT, [(header::CONTENT_RANGE, range)], bytes[start..].to_vec()).into_response()
        }
        None => {
            shared.log_bytes.fetch_add(bytes.len(), Ordering::SeqCst);
            (StatusCode::OK, bytes.to_vec()).into_response()
        }
    }
}
