//! The job log tools (log_digest, tail_log, search_log, read_log: REST logs, the on-disk cache)
//! and the artifact tools, through the real binary over stdio against the fake Buildkite: one test
//! per case, `<tool>::<case>`, on one server shared by this file; a case that needs a log cached
//! says `.warm(JOB)`, one that needs it uncached runs `.fresh` on its own server. Plus the
//! budget cuts, the size limit, running jobs' logs and a cache shared by two servers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::{Value, json};
use support::cases::{tool_cases, with_shared};
use support::fake::{BigLog, FakeBuildkite, TOKEN};
use support::{connect, tokens};

const RSPEC_JOB: &str = "08d58486-29e1-47b4-b951-facf35dafc4d";
const LINT_JOB: &str = "46e537cd-e9cc-406c-8032-90fe629b1f55";
const SMALL_TEXT: &str = "019da481-2bd7-4616-9f61-1e77d966f58e";
const ANSI_TEXT: &str = "019da481-5c92-417b-a7f9-2cca5df8025a";
const OVER_CAP: &str = "019da480-510f-1eed-b595-243dbee88e94";
const BINARY: &str = "019da481-9731-4087-b71c-9b34f86d7bbb";
const EXPIRED: &str = "019da481-acb6-4645-b23f-63f01f9d5ff4";
const RUNNING_JOB: &str = "7a1b2c3d-0000-4000-8000-00000000aaaa";
const WAIT_JOB: &str = "7a1b2c3d-0000-4000-8000-00000000bbbb";

/// Fixture logs of real-looking failed jobs: (job UUID, what it is, the line that explains the failure).
const FIXTURE_LOGS: [(&str, &str, &str); 7] = [
    (RUST_JOB, "Rust build", "error[E0308]: mismatched types"),
    (JEST_JOB, "Jest run", "● Checklist › dismisses the checklist"),
    (PYTEST_JOB, "pytest run", "E       assert Decimal('10.01') == Decimal('10.00')"),
    (DOCKER_JOB, "Docker build", "KeyError: key not found: \"FIREBASE_PROJECT_ID\""),
    (RSPEC_JOB, "RSpec shard", "Failure/Error: expect(user.onboarding_checklist.pending)"),
    (LINT_JOB, "ESLint", "'useEffect' is defined but never used"),
    ("4edbb889-e421-43c0-b98e-9e702d357b66", "Jest (web)", "● Checklist › renders items"),
];
const RUST_JOB: &str = "4b323cb5-c060-43ad-9228-2edf85bbdb89";
/// The passing run of the Rust step (acme/api/85), diff_log's baseline.
const RUST_PASS_JOB: &str = "0c85a1b2-7d3e-4f60-9a8b-1c2d3e4f5a60";
const JEST_JOB: &str = "0a7b98c6-c8cf-44d4-a449-8375740f3b28";
const PYTEST_JOB: &str = "ae8678e4-dd4c-4409-9fc2-b55413687223";
const DOCKER_JOB: &str = "f99173ca-1954-4e6d-8e9c-2cd180536e65";

/// After an artifact call: the token never went to the storage host.
fn no_leaked_download(out: &support::cases::Output) {
    assert_eq!(out.fake.leaked_downloads(), 0, "the token was sent to the storage host");
}

tool_cases! {
    // Logs: a tail of an uncached log is one Range request; the first whole-log tool downloads it
    // once (GraphQL says where and whether it finished); later calls check access with a HEAD.
    tail_log {
        tail_log_uncached: {"job": RSPEC_JOB, "lines": 20} => ok(graphql: 0, rest: 1)
            .fresh(&[])
            .check(|out| assert!(out.text.contains("exited with status 1"), "{}", out.text));
        tail_log_cached: {"job": RSPEC_JOB, "lines": 20} => ok(graphql: 0, rest: 1)
            .warm(RSPEC_JOB)
            .check(|out| assert!(out.text.contains("exited with status 1"), "{}", out.text));
        tail_log_docker: {"job": DOCKER_JOB, "lines": 60} => ok(graphql: 0, rest: 1).warm(DOCKER_JOB);
        job_not_found: {"job": "0f0f0f0f-0000-4000-8000-000000000404"} => err("job 0f0f0f0f-0000-4000-8000-000000000404 was not found");
    }
    log_digest {
        // The digest names the failing section and the real error line. A first read asks the log's
        // size (HEAD, for --max-log-mb) before downloading it: 2 REST requests.
        log_digest_rspec: {"job": RSPEC_JOB} => ok(graphql: 1, rest: 2)
            .fresh(&[])
            .check(|out| {
                assert!(out.text.contains("Failure/Error"), "{}", out.text);
                assert!(out.json["failing_section"].as_str().is_some(), "{}", out.text);
            });
        log_digest_lint: {"job": LINT_JOB} => ok(graphql: 1, rest: 2).fresh(&[]);
        // Real-looking jobs: a Rust build, a Jest run, a pytest run, a Docker build with progress bars.
        log_digest_rust: {"job": RUST_JOB} => ok(graphql: 1, rest: 2).fresh(&[]);
        log_digest_jest: {"job": JEST_JOB} => ok(graphql: 1, rest: 2).fresh(&[]);
        log_digest_pytest: {"job": PYTEST_JOB} => ok(graphql: 1, rest: 2).fresh(&[]);
        log_digest_docker: {"job": DOCKER_JOB} => ok(graphql: 1, rest: 2).fresh(&[]);
        wait_step: {"job": WAIT_JOB} => err("is not a command job");
        not_a_job: {"job": "not a job"} => err("is not a job");
    }
    search_log {
        search_log: {"job": RSPEC_JOB, "pattern": "failure|error"} => ok(graphql: 0, rest: 1)
            .warm(RSPEC_JOB)
            .check(|out| assert!(out.json["matches"].as_u64().unwrap() >= 1, "{}", out.text));
        search_log_case_context: {"job": RSPEC_JOB, "pattern": "Failure/Error", "case_sensitive": true, "context": "0,4"} => ok(graphql: 0, rest: 1)
            .warm(RSPEC_JOB);
        search_log_invert: {"job": RSPEC_JOB, "pattern": ".", "invert": true, "max_matches": 5} => ok(graphql: 0, rest: 1)
            .warm(RSPEC_JOB);
        search_log_rust: {"job": RUST_JOB, "pattern": "write_reset"} => ok(graphql: 0, rest: 1).warm(RUST_JOB);
        invalid_pattern: {"job": RSPEC_JOB, "pattern": "(unclosed"} => err("invalid pattern");
        empty_pattern: {"job": RSPEC_JOB, "pattern": ""} => err("pattern is empty");
        bad_context: {"job": RSPEC_JOB, "pattern": "x", "context": "lots"} => err("not N or before,after");
    }
    diff_log {
        // The Rust job against the step's last pass (build api/85, found from the step's history):
        // the job's step, the history, the passed jobs of that build, then both logs downloaded
        // (each: where it lives, its size, the log).
        diff_log_rust: {"job": RUST_JOB} => ok(graphql: 5, rest: 4)
            .fresh(&[])
            .check(|out| {
                let text = &out.text;
                assert!(text.contains("error[E0308]: mismatched types"), "{text}");
                assert!(text.contains("expected `usize`, found `u64`"), "{text}");
                for preamble in ["Checking docker", "Compiling proc-macro2", "git clean", "Restoring cargo cache"] {
                    assert!(!text.contains(preamble), "passing preamble {preamble} shown: {text}");
                }
                assert_eq!(out.json["baseline"]["build"], "acme/api/85", "{text}");
                assert!(out.json["first_divergence"]["failing"].as_str().unwrap().contains(":rust: cargo build"), "{text}");
            });
        diff_log_named_baseline: {"job": RUST_JOB, "baseline": RUST_PASS_JOB} => ok(graphql: 2, rest: 4)
            .fresh(&[]);
        // A step that never passed in its history: said, no diff.
        diff_log_never_passed: {"job": JEST_JOB} => ok(graphql: 2, rest: 0)
            .fresh(&[])
            .check(|out| assert!(out.json["baseline"].as_str().unwrap().contains("did not pass"), "{}", out.text));
        diff_log_itself: {"job": RUST_JOB, "baseline": RUST_JOB} => err("the baseline is the job itself");
    }
    read_log {
        read_log_outline: {"job": RSPEC_JOB} => ok(graphql: 0, rest: 1).warm(RSPEC_JOB);
        read_log_section: {"job": RSPEC_JOB, "section": "2", "lines": 30} => ok(graphql: 0, rest: 1).warm(RSPEC_JOB);
        read_log_range: {"job": RSPEC_JOB, "from_line": 10, "lines": 15, "times": true} => ok(graphql: 0, rest: 1)
            .warm(RSPEC_JOB);
        read_log_docker_outline: {"job": DOCKER_JOB} => ok(graphql: 0, rest: 1).warm(DOCKER_JOB);
        read_log_docker_pull: {"job": DOCKER_JOB, "section": "pull", "lines": 40} => ok(graphql: 0, rest: 1)
            .warm(DOCKER_JOB);
        past_the_end: {"job": RSPEC_JOB, "from_line": 999999} => err("past the end: the log has");
        unknown_section: {"job": RSPEC_JOB, "section": "no such section"} => err("no section `no such section`");
        past_the_section: {"job": RSPEC_JOB, "section": "2", "from_line": 800} => err("is past section");
    }
    // Artifacts: a job's through GraphQL, a build's through one paged REST request.
    list_artifacts {
        list_artifacts_job: {"job": RSPEC_JOB} => ok(graphql: 1, rest: 0);
        list_artifacts_job_glob: {"job": RSPEC_JOB, "path": "*.xml"} => ok(graphql: 1, rest: 0);
        list_artifacts_build: {"build": "acme/web/1342"} => ok(graphql: 0, rest: 1);
        list_artifacts_build_page2: {"build": "acme/web/1342", "after": "2"} => ok(graphql: 0, rest: 1);
        list_artifacts_build_glob: {"build": "acme/web/1342", "path": "*.json"} => ok(graphql: 0, rest: 1);
        block_step: {"job": "d4172cf9-06d3-4e92-8f70-3351bb7b1cab"} => err("is not a command job");
        neither_job_nor_build: {} => err("pass `build`");
    }
    // Small text is inlined and cleaned; the rest says why not, with the download URL.
    get_artifact {
        get_artifact_inline: {"artifact": SMALL_TEXT} => ok(graphql: 1, rest: 0)
            .check(|out| assert!(out.json["content"].as_str().unwrap().contains("spec/models/user_spec.rb:42"), "{}", out.text))
            .check(no_leaked_download);
        get_artifact_ansi: {"artifact": ANSI_TEXT} => ok(graphql: 1, rest: 0)
            .check(|out| assert!(!out.text.contains("\\u001b") && !out.text.contains('\u{1b}'), "escapes are removed: {}", out.text))
            .check(no_leaked_download);
        get_artifact_over_cap: {"artifact": OVER_CAP} => ok(graphql: 1, rest: 0)
            .check(|out| {
                assert!(out.json["inline"].as_str().unwrap().contains("over the inline cap"), "{}", out.text);
                assert!(out.json["download_url"].as_str().unwrap().starts_with("http://localhost:"), "{}", out.text);
            })
            .check(no_leaked_download);
        get_artifact_binary: {"artifact": BINARY} => ok(graphql: 1, rest: 0)
            .check(|out| assert!(out.json["inline"].as_str().unwrap().contains("binary"), "{}", out.text))
            .check(no_leaked_download);
        get_artifact_expired: {"artifact": EXPIRED} => ok(graphql: 1, rest: 0)
            .check(|out| {
                let v = &out.json;
                assert!(v.get("download_url").is_none() && v["inline"].as_str().unwrap().contains("expired"), "{v}");
            })
            .check(no_leaked_download);
        not_an_artifact: {"artifact": "coverage.xml"} => err("is not an artifact");
        not_found: {"artifact": "00000000-0000-4000-8000-000000000000"} => err("was not found");
    }
}

/// A small budget cuts whole hits, and next.from_line continues right after the last one shown.
#[test]
fn search_log_cut_to_its_budget_continues_after_the_last_hit_shown() {
    let text = with_shared(async |s| {
        s.client.ok("search_log", json!({"job": RSPEC_JOB, "pattern": "failure|error", "max_tokens": 300})).await
    });
    let cut: Value = serde_json::from_str(&text).unwrap();
    let hits = cut["hits"].as_array().unwrap();
    assert!(hits.len() < 9 && cut["cut"].is_string(), "{cut}");
    let last_hit = hits.last().unwrap();
    let last_line = if last_hit.is_array() {
        last_hit
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .find(|l| l.split_once(':').is_some_and(|(n, _)| n.parse::<u64>().is_ok()))
            .unwrap()
            .to_string()
    } else {
        last_hit.as_str().unwrap().to_string()
    };
    let n: u64 = last_line.split(':').next().unwrap().parse().unwrap();
    assert_eq!(cut["next"]["from_line"], json!(n + 1), "{cut}");
}

/// A tail cut to its budget keeps the last lines.
#[test]
fn tail_log_cut_to_its_budget_keeps_the_last_lines() {
    let text = with_shared(async |s| {
        s.client.ok("tail_log", json!({"job": RSPEC_JOB, "lines": 200, "max_tokens": 400})).await
    });
    let tail: Value = serde_json::from_str(&text).unwrap();
    let lines = tail["log"].as_array().unwrap();
    assert!(lines.last().unwrap().as_str().unwrap().ends_with("Total reclaimed space: 0B"), "{tail}");
    assert!(tail["cut"].as_str().unwrap().contains("earlier lines left out"), "{tail}");
}

/// The digest of every fixture log holds its real error line, and costs fewer tokens than a
/// 50-line tail and than the whole cleaned log.
#[test]
fn log_digest_holds_the_real_error_line_for_less_than_a_tail() {
    for (job, what, error) in FIXTURE_LOGS {
        let (digest, tail) = with_shared(async |s| {
            let digest = s.client.ok("log_digest", json!({"job": job})).await;
            (digest, s.client.ok("tail_log", json!({"job": job, "lines": 50})).await)
        });
        let raw = buildkite_mcp_server::demo::LOGS.iter().find(|(u, _)| *u == job).unwrap().1;
        let whole = buildkite_mcp_server::logs::clean_lines(raw.as_bytes(), false).join("\n");
        // As JSON text: quotes in the line are escaped.
        let escaped = serde_json::to_string(error).unwrap();
        assert!(digest.contains(&escaped[1..escaped.len() - 1]), "{what}: the digest lacks `{error}`: {digest}");
        let (d, t, w) = (tokens(&digest), tokens(&tail), tokens(&whole));
        assert!(d < t && d < w, "{what}: digest {d} tokens, tail {t}, whole log {w}");
    }
}

#[test]
fn the_token_never_reaches_the_log() {
    with_shared(async |s| {
        s.client.ok("search_log", json!({"job": RSPEC_JOB, "pattern": "Failure"})).await;
        s.client.ok("get_artifact", json!({"artifact": SMALL_TEXT})).await;
        assert!(!s.client.log_so_far().contains(TOKEN), "the token leaked into the log");
    });
}

/// A 2 GiB log is refused from its size, before anything is downloaded; its tail still works.
#[tokio::test]
async fn search_log_refuses_a_log_over_the_size_limit_and_tail_log_still_reads_its_end() {
    let fake = FakeBuildkite::start().await;
    let big = "b0000000-0000-4000-8000-000000002000";
    fake.set_big_log(big, BigLog::Synthetic(2 << 30));
    fake.set_responder(Box::new(move |op, vars| {
        (op == "GetJobForLog" && vars["uuid"] == json!(big)).then(|| {
            json!({"data": {"job": {"__typename": "JobTypeCommand", "uuid": big, "label": "huge", "state": "FINISHED",
                "finishedAt": "2026-11-20T10:30:00Z", "build": {"number": 1, "pipeline": {"slug": "web"}, "organization": {"slug": "acme"}}}}})
        })
    }));
    let client = connect(Some(&fake), &[], &[]).await;
    let before = fake.log_bytes_sent();
    let message = client.err("search_log", json!({"job": big, "pattern": "x"})).await;
    assert!(message.contains("is 2.0 GiB, over this server's 1.0 GiB limit"), "{message}");
    assert!(fake.log_bytes_sent() - before < 8 << 20, "the download stopped at once");
    let before = fake.log_bytes_sent();
    let tail = client.ok("tail_log", json!({"job": big, "lines": 10})).await;
    assert!(tail.contains("generated line"), "{tail}");
    assert!(fake.log_bytes_sent() - before <= 64 * 1024, "a tail fetches only its end");
    client.stop().await;
}

/// A running job's log is read but not kept.
#[tokio::test]
async fn log_digest_of_a_running_job_says_it_has_not_finished() {
    let fake = FakeBuildkite::start().await;
    fake.set_any_log("--- :hourglass: Still going\nstep 1 of 9\n".to_string());
    let client = connect(Some(&fake), &[], &[]).await;
    let running = client.ok("log_digest", json!({"job": RUNNING_JOB})).await;
    assert!(running.contains("has not finished"), "{running}");
    client.stop().await;
}
/// Two servers sharing one cache directory both read the same log (one writes it, the other
/// finds it), and every cached read still asks Buildkite whether the token may read it.
#[tokio::test]
async fn a_shared_log_cache_serves_two_servers_and_still_checks_access() {
    let fake = FakeBuildkite::start().await;
    let cache = support::fresh_dir("shared-cache");
    let env = [("BUILDKITE_MCP_LOG_CACHE", cache.to_str().unwrap())];
    let (a, b) = tokio::join!(connect(Some(&fake), &env, &[]), connect(Some(&fake), &env, &[]));
    let args = json!({"job": RSPEC_JOB, "pattern": "Failure/Error"});
    let (x, y) = tokio::join!(a.ok("search_log", args.clone()), b.ok("search_log", args.clone()));
    assert_eq!(x, y);
    // Once cached, a revoked token is refused even though the copy is on disk.
    fake.fail_rest(support::fake::Fault::Status(403, "Forbidden"));
    let message = a.err("search_log", args.clone()).await;
    assert!(message.contains("403 Forbidden"), "{message}");
    fake.heal();
    let entries = std::fs::read_dir(&cache)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.path().join("meta.json").exists())
        .count();
    assert_eq!(entries, 1, "one cache entry for the job");
    a.stop().await;
    b.stop().await;
}

/// `diff_log` on the Rust pair against what it replaces: the last 50 lines of the failing log and
/// of the passing one. Printed: the three token counts; the diff must cost less than the two tails.
#[tokio::test]
async fn diff_log_costs_less_than_the_two_tails_it_replaces() {
    let fake = FakeBuildkite::start().await;
    let client = connect(Some(&fake), &[], &[]).await;
    let diff = client.ok("diff_log", json!({"job": RUST_JOB})).await;
    let failing = client.ok("tail_log", json!({"job": RUST_JOB, "lines": 50})).await;
    let passing = client.ok("tail_log", json!({"job": RUST_PASS_JOB, "lines": 50})).await;
    let (d, f, p) = (tokens(&diff), tokens(&failing), tokens(&passing));
    println!("diff_log on the Rust pair: {d} tokens; the two 50-line tails: {f} + {p} = {}", f + p);
    assert!(diff.contains("error[E0308]") && failing.contains("error[E0308]"));
    assert!(d < f + p, "{d} >= {f} + {p}");
    client.stop().await;
}
