//! A synthetic large organisation for the fake: `pipelines` pipelines (and as many builds per
//! pipeline), builds of `jobs` command jobs with one in 25 failing. Pages are generated on demand
//! from the request's `first` / `after`, exactly as the real API pages.

use super::fake::Responder;
use serde_json::{Value, json};

fn page(vars: &Value, default_first: usize, total: usize) -> (usize, usize) {
    let first = vars["first"].as_u64().map(|f| f as usize).unwrap_or(default_first).min(500);
    let offset =
        vars["after"].as_str().and_then(|a| a.strip_prefix('c')).and_then(|n| n.parse::<usize>().ok()).unwrap_or(0);
    (offset.min(total), first.min(total.saturating_sub(offset)))
}

fn sha(n: usize) -> String {
    format!("{:040x}", (n as u128).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
}

/// The responder for an organisation of this size.
pub fn responder(pipelines: usize, jobs: usize) -> Responder {
    Box::new(move |operation: &str, vars: &Value| match operation {
        "ListPipelines" => {
            let (offset, n) = page(vars, 25, pipelines);
            let edges: Vec<Value> = (offset..offset + n)
                .map(|i| {
                    json!({"cursor": format!("c{}", i + 1), "node": {
                        "slug": format!("service-{i:05}"), "name": format!("Service {i:05}"),
                        "description": format!("Deploys and tests service {i:05} of the platform"),
                        "defaultBranch": "main", "archived": false,
                        "repository": {"url": format!("git@github.com:acme/service-{i:05}.git")},
                        "tags": [{"label": "backend"}, {"label": format!("team-{}", i % 40)}],
                        "builds": {"edges": [{"node": {"number": 1000 + i, "state": if i.is_multiple_of(7) { "FAILED" } else { "PASSED" },
                            "branch": "main", "createdAt": "2026-11-20T10:15:30Z", "finishedAt": "2026-11-20T10:29:51Z"}}]}
                    }})
                })
                .collect();
            Some(json!({"data": {"organization": {"slug": "acme", "pipelines": {
                "count": pipelines,
                "pageInfo": {"hasNextPage": offset + n < pipelines, "endCursor": format!("c{}", offset + n)},
                "edges": edges}}}}))
        }
        "ListBuilds" => {
            let (offset, n) = page(vars, 20, pipelines);
            let edges: Vec<Value> = (offset..offset + n)
                .map(|i| {
                    let number = pipelines - i;
                    json!({"cursor": format!("c{}", i + 1), "node": {
                        "number": number, "state": if number.is_multiple_of(9) { "FAILED" } else { "PASSED" }, "blockedState": null,
                        "branch": if i.is_multiple_of(3) { "main".to_string() } else { format!("feature/change-{number}") },
                        "commit": sha(number), "message": format!("Change number {number}: tidy the handlers\n\nLonger body."),
                        "createdAt": "2026-11-20T10:15:30Z", "startedAt": "2026-11-20T10:15:40Z", "finishedAt": "2026-11-20T10:29:51Z",
                        "source": {"__typename": "BuildSourceWebhook", "name": "Webhook"},
                        "createdBy": {"__typename": "User", "name": format!("Engineer {}", number % 50)}
                    }})
                })
                .collect();
            Some(
                json!({"data": {"pipeline": {"slug": "service-00001", "url": "https://buildkite.com/acme/service-00001", "builds": {
                "count": pipelines,
                "pageInfo": {"hasNextPage": offset + n < pipelines, "endCursor": format!("c{}", offset + n)},
                "edges": edges}}}}),
            )
        }
        "GetBuild" => {
            let failed = jobs / 25;
            let shown = vars["maxJobs"].as_u64().unwrap_or(20) as usize;
            let edges: Vec<Value> = (0..failed.min(shown))
                .map(|i| json!({"node": {"__typename": "JobTypeCommand", "uuid": format!("0190b1a2-0000-4000-8000-{i:012}"),
                    "label": format!(":rspec: RSpec {}/{}", i + 1, failed), "command": "bin/ci/rspec", "state": "FINISHED",
                    "exitStatus": "1", "signal": null, "signalReason": null, "softFailed": false, "retried": false,
                    "startedAt": "2026-11-20T10:16:00Z", "finishedAt": "2026-11-20T10:24:00Z",
                    "step": {"key": "rspec"}, "agent": {"name": format!("ci-agent-{i}")}}}))
                .collect();
            let mut build = json!({
                "uuid": "0190b1a2-1111-4000-8000-000000000001", "number": 1000, "url": "https://buildkite.com/acme/service-00001/builds/1000",
                "state": "FAILED", "blockedState": null, "branch": "main", "commit": sha(1000), "message": "Change number 1000",
                "createdAt": "2026-11-20T10:15:30Z", "scheduledAt": "2026-11-20T10:15:31Z", "startedAt": "2026-11-20T10:15:40Z",
                "finishedAt": "2026-11-20T10:29:51Z", "canceledAt": null, "cancelReason": null,
                "source": {"__typename": "BuildSourceWebhook", "name": "Webhook"},
                "createdBy": {"__typename": "User", "name": "Engineer 1", "email": "engineer1@acme.example"},
                "pullRequest": null, "rebuiltFrom": null, "triggeredFrom": null,
                "pipeline": {"slug": "service-00001", "name": "Service 00001"}, "organization": {"slug": "acme"}
            });
            let jobs = json!({
                "total": {"count": jobs}, "passed": {"count": jobs - failed}, "running": {"count": 0}, "waiting": {"count": 0},
                "canceled": {"count": 0}, "timedOut": {"count": 0}, "skipped": {"count": 0},
                "failed": {"count": failed, "edges": edges},
                "stopped": {"count": 0, "edges": []},
                "blocked": {"count": 0, "edges": []},
                "errorAnnotations": {"count": 1},
                "annotations": {"count": 2, "edges": [
                    {"node": {"context": "rspec", "style": "ERROR", "body": {"text": format!("{failed} examples failed")}}},
                    {"node": {"context": "coverage", "style": "INFO", "body": {"text": "Coverage 81.0%"}}}]}
            });
            if let (Some(b), Value::Object(j)) = (build.as_object_mut(), jobs) {
                b.extend(j);
            }
            Some(json!({"data": {"build": build}}))
        }
        // Buildkite's pipeline search (on name and slug), ordered by name, one page.
        "CompletePipelines" => {
            let search = vars["search"].as_str().unwrap_or("").to_ascii_lowercase();
            let matching: Vec<usize> = (0..pipelines)
                .filter(|i| format!("service-{i:05}").contains(&search) || format!("service {i:05}").contains(&search))
                .collect();
            let first = vars["first"].as_u64().unwrap_or(25) as usize;
            let edges: Vec<Value> =
                matching.iter().take(first).map(|i| json!({"node": {"slug": format!("service-{i:05}")}})).collect();
            Some(json!({"data": {"organization": {"pipelines": {"count": matching.len(), "edges": edges}}}}))
        }
        _ => None,
    })
}

/// A long job log (about `bytes` bytes) that fails at its end, like a big test run.
pub fn long_log(bytes: usize) -> String {
    let mut log = String::with_capacity(bytes + 1024);
    let mut i = 0u64;
    while log.len() < bytes {
        log.push_str(&format!(
            "\u{1b}_bk;t={}\u{7}  \u{1b}[32m.\u{1b}[0m spec/models/thing_{i}_spec.rb passes example {i}\n",
            1_795_169_802_000u64 + i
        ));
        i += 1;
    }
    log.push_str("  1) Thing returns the right value\n     Failure/Error: expect(thing.value).to eq(42)\n       expected: 42\n            got: 41\n");
    log.push_str(&format!("{i} examples, 1 failure\n🚨 Error: The command exited with status 1\n"));
    log
}
