//! The organization-wide tools: agents, clusters and their queues, and Test Engine (suites through
//! GraphQL; runs and tests through REST), through the real binary over stdio against the fake
//! Buildkite (a large organization: 342 agents in 3 clusters): one test per case,
//! `<tool>::<case>`, on one server shared by this file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test harness code

mod support;

use serde_json::json;
use support::cases::{tool_cases, with_shared};
use support::fake::TOKEN;

const BUSY_AGENT: &str = "3e4e9be6-a8ee-420d-9c74-845195fa7f5b";
const RSPEC_QUEUE: &str = "Q2x1c3RlclF1ZXVlLS0tZGMzNmZjOTAtMjI0OC00ZDcwLWFjYTQtYTFhOWY1YjE5Zjcx";
const MACOS_QUEUE: &str = "Q2x1c3RlclF1ZXVlLS0tOTM5YWUyMzItNTg4ZS00YmNlLWI3MWUtZDc4YTFkYzAyZTI3";
const LINUX_CLUSTER: &str = "62f746b4-84e6-4ceb-95bd-447e7184d454";
const FAILED_RUN: &str = "fdec65fe-7212-4737-b222-d7283ab5a383";
const FLAKY_TEST: &str = "dafc3cd8-5ec6-49b7-b25f-0fda6c7fb489";

tool_cases! {
    list_agents {
        list_agents: {} => ok(graphql: 1, rest: 0);
        list_agents_busy: {"running": true} => ok(graphql: 1, rest: 0);
        list_agents_queue: {"queue": "deploy"} => ok(graphql: 1, rest: 0);
        list_agents_lost: {"queue": "deploy", "state": "lost"} => ok(graphql: 1, rest: 0);
        list_agents_page2: {"after": "MzA"} => ok(graphql: 1, rest: 0);
        unknown_state: {"state": "sleepy"} => err("unknown state `sleepy`");
    }
    get_agent {
        get_agent_busy: {"agent": BUSY_AGENT} => ok(graphql: 1, rest: 0);
        get_agent_by_name: {"agent": "ci-agent-i-0e5f6a7b-2"} => ok(graphql: 1, rest: 0);
        get_agent_paused: {"agent": "paused-agent-1"} => ok(graphql: 1, rest: 0);
        not_found: {"agent": "no-such-agent"} => err("agent `no-such-agent` in `acme` was not found");
        ambiguous_name: {"agent": "ci-agent"} => err("matches several agents: ");
    }
    // Clusters and queues: "which queue is backed up?" in one call.
    list_clusters {
        list_clusters: {} => ok(graphql: 1, rest: 0);
        list_clusters_one: {"cluster": LINUX_CLUSTER} => ok(graphql: 1, rest: 0);
        unknown_cluster: {"cluster": "Windows"} => err("no cluster named like `Windows`");
    }
    get_queue {
        get_queue_backed_up: {"queue": RSPEC_QUEUE} => ok(graphql: 1, rest: 0);
        get_queue_paused: {"queue": MACOS_QUEUE} => ok(graphql: 1, rest: 0);
        get_queue_by_key: {"queue": "rspec"} => ok(graphql: 2, rest: 0);
        not_found: {"queue": "gpu"} => err("queue `gpu` in `acme` was not found");
    }
    // Test Engine: GraphQL has suites only; runs and tests are REST.
    list_suites {
        list_suites: {} => ok(graphql: 1, rest: 0);
    }
    list_test_runs {
        list_test_runs: {"suite": "web-rspec"} => ok(graphql: 0, rest: 1);
        list_test_runs_build: {"suite": "web-rspec", "build": "acme/web/1342"} => ok(graphql: 1, rest: 1);
        get_test_run: {"suite": "web-rspec", "run": FAILED_RUN} => ok(graphql: 0, rest: 2);
        unknown_suite: {"suite": "no-such-suite"} => err("suite `no-such-suite` in `acme` was not found");
    }
    list_tests {
        list_tests_flaky: {"suite": "web-rspec", "flaky": true} => ok(graphql: 0, rest: 1);
        list_tests_build: {"build": "https://buildkite.com/acme/web/builds/1342"} => ok(graphql: 1, rest: 1);
        not_a_suite_slug: {"suite": "../admin"} => err("is not a suite slug");
        neither_suite_nor_build: {} => err("pass `suite`");
    }
    get_test {
        get_test: {"suite": "web-rspec", "test": FLAKY_TEST} => ok(graphql: 0, rest: 1);
        not_found: {"suite": "web-rspec", "test": "00000000-0000-4000-8000-000000000000"} => err("was not found");
    }
}

#[test]
fn the_token_never_reaches_the_log() {
    with_shared(async |s| {
        s.client.ok("list_agents", json!({})).await;
        s.client.ok("list_tests", json!({"suite": "web-rspec", "flaky": true})).await;
        assert!(!s.client.log_so_far().contains(TOKEN), "the token leaked into the log");
    });
}
