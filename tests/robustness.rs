//! Robustness through the real binary and rmcp's client: cancellation stops work at once, debug
//! logs carry no results or presigned URLs, and every call ends within its bound in a fault storm.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use rmcp::model::{CallToolRequestParams, ClientRequest, Request};
use rmcp::service::PeerRequestOptions;
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ServiceExt};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::fake::{BigLog, FakeBuildkite, Fault};

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";
const OVER_CAP_ARTIFACT: &str = "019da480-510f-1eed-b595-243dbee88e94";

/// A client that counts the progress notifications it hears.
#[derive(Clone, Default)]
struct Counting(Arc<AtomicUsize>);

impl ClientHandler for Counting {
    async fn on_progress(
        &self,
        _params: rmcp::model::ProgressNotificationParam,
        _context: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

async fn counting_client(
    fake: &FakeBuildkite,
    env: &[(&str, &str)],
) -> (rmcp::service::RunningService<rmcp::RoleClient, Counting>, Counting) {
    let counter = Counting::default();
    let cmd = support::command(Some(fake), env);
    let (transport, _) = TokioChildProcess::builder(cmd).stderr(std::process::Stdio::null()).spawn().unwrap();
    (counter.clone().serve(transport).await.unwrap(), counter)
}

fn call(name: &str, args: Value) -> ClientRequest {
    let params = CallToolRequestParams::new(name.to_string()).with_arguments(args.as_object().cloned().unwrap());
    ClientRequest::CallToolRequest(Request::new(params))
}

/// Waits (bounded) until `done` holds.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

/// After `notifications/cancelled`, `wait_for_build` polls no more and reports no more progress.
#[tokio::test]
async fn a_cancelled_wait_sends_no_request_and_no_progress_after_the_cancel() {
    let fake = FakeBuildkite::start().await;
    let (client, counter) = counting_client(&fake, &[]).await;
    client.list_all_tools().await.unwrap(); // the start-up scope check is done
    let handle = client
        .peer()
        .send_cancellable_request(
            call("wait_for_build", json!({"build": "acme/api/88", "timeout_s": 30})),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    until("a progress notification", || counter.0.load(Ordering::SeqCst) >= 1).await;
    handle.cancel(Some("the person moved on".into())).await.unwrap();
    let (requests, progress) = (fake.requests(), counter.0.load(Ordering::SeqCst));
    // Polls back off 1 s, 2 s, 4 s: past the next two polls.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert_eq!(fake.requests() - requests, 0, "requests after the cancel");
    assert_eq!(counter.0.load(Ordering::SeqCst) - progress, 0, "progress notifications after the cancel");
    // The server goes on serving.
    let tools = client.list_all_tools().await.unwrap();
    assert!(!tools.is_empty());
    let _ = client.cancel().await;
}

/// A cancelled search stops its log download at once.
#[tokio::test]
async fn a_cancelled_search_stops_its_download() {
    let fake = FakeBuildkite::start().await;
    let big = "b0000000-0000-4000-8000-000000000300";
    fake.set_big_log(big, BigLog::Synthetic(300 << 20));
    fake.set_responder(Box::new(move |op, vars| {
        (op == "GetJobForLog" && vars["uuid"] == json!(big)).then(|| {
            json!({"data": {"job": {"__typename": "JobTypeCommand", "uuid": big, "label": "big", "state": "FINISHED",
                "finishedAt": "2026-11-20T10:30:00Z", "build": {"number": 1, "pipeline": {"slug": "web"}, "organization": {"slug": "acme"}}}}})
        })
    }));
    let (client, _) = counting_client(&fake, &[]).await;
    client.list_all_tools().await.unwrap();
    let handle = client
        .peer()
        .send_cancellable_request(
            call("search_log", json!({"job": big, "pattern": "never"})),
            PeerRequestOptions::no_options(),
        )
        .await
        .unwrap();
    until("the download to start", || fake.log_bytes_sent() > 1 << 20).await;
    handle.cancel(None).await.unwrap();
    let requests = fake.requests();
    // What was already in flight lands in the kernel's socket buffers (loopback autotunes them up
    // to 32 MiB here); once they are full or the socket is gone, the count stops.
    // Settled: unchanged for a whole second (four readings in a row), waiting at most 20 s; a busy
    // machine can pause the fake's writer for a reading or two before the socket closes.
    let mut bytes = fake.log_bytes_sent();
    let mut unchanged = 0;
    for _ in 0..80 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = fake.log_bytes_sent();
        unchanged = if now == bytes { unchanged + 1 } else { 0 };
        bytes = now;
        if unchanged >= 4 {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(fake.log_bytes_sent(), bytes, "log bytes sent after the cancel settled");
    assert_eq!(fake.requests() - requests, 0, "requests after the cancel");
    assert!(bytes < 100 << 20, "the download stopped early: {bytes} of {} bytes", 300 << 20);
    let _ = client.cancel().await;
}

/// At `RUST_LOG=debug` stderr has sizes, ids and timings, never tool results or presigned URLs.
#[tokio::test]
async fn debug_logs_carry_no_results_and_no_presigned_urls() {
    let fake = FakeBuildkite::start().await;
    let client = support::connect(Some(&fake), &[("RUST_LOG", "debug")], &[]).await;
    let artifact = client.ok("get_artifact", json!({"artifact": OVER_CAP_ARTIFACT})).await;
    let build = client.ok("get_build", json!({"build": "acme/web/1342"})).await;
    let log = client.ok("tail_log", json!({"job": RSPEC_JOB, "lines": 5})).await;
    let stderr = client.stop().await;
    assert!(stderr.contains("tool call"), "the debug log says what ran: {stderr}");
    assert!(!stderr.contains("X-Amz-Signature") && !stderr.contains("X-Amz-"), "a presigned URL leaked: {stderr}");
    for text in [&artifact, &build, &log] {
        // Any 40-character piece of a result would do; take one from the middle.
        let chars: Vec<char> = text.chars().collect();
        let piece: String = chars[chars.len() / 2..(chars.len() / 2 + 40).min(chars.len())].iter().collect();
        assert!(!stderr.contains(&piece), "a tool result leaked into stderr ({piece}): {stderr}");
    }
    assert!(!stderr.contains(support::fake::TOKEN), "the token leaked");
    assert!(!stderr.contains("Bearer"), "a header value leaked");
}

/// 30 % 429, 20 % 500, 10 % stalls, 10 % resets: every call ends within its bound (three attempts
/// of at most the 2 s time-out, plus backoff, per request), with an answer or one sentence.
#[tokio::test]
async fn in_a_fault_storm_every_call_ends_within_its_bound() {
    let fake = FakeBuildkite::start().await;
    let (client, _) = counting_client(&fake, &[("BUILDKITE_TIMEOUT", "2"), ("BUILDKITE_MAX_RETRIES", "2")]).await;
    client.list_all_tools().await.unwrap();
    fake.fail_graphql(Fault::Storm, None);
    fake.fail_rest(Fault::Storm);
    // Per request: 3 attempts × 2 s, and two waits of at most 1 s (RateLimit-Reset) or the backoff.
    let per_request = Duration::from_secs(3 * 2 + 2 * 2);
    let calls = [
        ("get_build", json!({"build": "acme/web/1342"})),
        ("list_builds", json!({"pipeline": "acme/web"})),
        ("tail_log", json!({"job": RSPEC_JOB, "lines": 5})),
        ("list_pipelines", json!({})),
    ];
    let (mut answered, mut failed, mut longest) = (0, 0, Duration::ZERO);
    for i in 0..12 {
        let (name, args) = &calls[i % calls.len()];
        let started = Instant::now();
        let params = CallToolRequestParams::new(name.to_string()).with_arguments(args.as_object().cloned().unwrap());
        let result = tokio::time::timeout(Duration::from_secs(60), client.call_tool(params))
            .await
            .unwrap_or_else(|_| panic!("{name} did not end within 60 s"))
            .unwrap();
        let took = started.elapsed();
        longest = longest.max(took);
        // A log tool may make two requests (the job's place, then the log).
        assert!(took < per_request * 2, "{name} took {took:?}");
        let text = match &result.content[0] {
            rmcp::model::ContentBlock::Text(t) => t.text.clone(),
            other => panic!("{other:?}"),
        };
        if result.is_error == Some(true) {
            failed += 1;
            for internal in ["hyper", "reqwest", "error sending request", "os error", "Kind("] {
                assert!(!text.contains(internal), "{name}: HTTP internals in `{text}`");
            }
            assert!(!text.contains('\n'), "one sentence: {text}");
        } else {
            answered += 1;
        }
    }
    eprintln!("storm: {answered} answered, {failed} failed, longest call {longest:?}");
    assert!(answered > 0, "retries got some calls through");
    fake.heal();
    let _ = client.cancel().await;
}
