//! One `#[test]` per tool case, against one fake Buildkite and one server process shared by every
//! case of a test file.
//!
//! The shared server lives on a process-wide tokio runtime (`runtime()`); each case is a plain
//! `#[test]` fn that blocks on it. Every use of the shared server holds one async lock, so the
//! fake's request counters see one call at a time and each case's counts stay exact (a call takes
//! about a millisecond, so serialising costs nothing worth having).
//!
//! Log state is the one thing a case can leave behind: a whole-log tool downloads the log into the
//! server's cache. So a case that needs a log cached says `.warm(JOB)` (the log is downloaded
//! before the case, uncounted, once per server), and a case that needs it not cached says
//! `.fresh(&[])` (its own fake and server, with an empty cache; also the way to give a case extra
//! token scopes). Cases on the shared server must never depend on what ran before them.

use super::fake::{FakeBuildkite, READ_ONLY_SCOPES, TOKEN};
use super::{Client, check_budgets, connect, first_empty, pretty, snapshots_in, tokens};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use tokio::runtime::Runtime;

/// The runtime that hosts the shared fake and server for the whole test process.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
    })
}

/// A fake Buildkite with a connected server.
pub struct Server {
    /// The fake the server talks to.
    pub fake: FakeBuildkite,
    /// The MCP client of the server.
    pub client: Client,
}

impl Server {
    /// Starts a fake granting the read-only recipe plus `extra_scopes`, and a server against it;
    /// returns once the server has read the token's scopes (tools/list waits for that), so no
    /// start-up request is counted against a case. Cases share the server and count their own
    /// requests, so nothing is served from memory (`--no-memo`; tests/api_budget.rs tests the memo).
    pub async fn start(extra_scopes: &[&str]) -> Server {
        let fake = FakeBuildkite::start().await;
        let mut scopes: Vec<&str> = READ_ONLY_SCOPES.to_vec();
        scopes.extend_from_slice(extra_scopes);
        fake.set_scopes(&scopes);
        let client = connect(Some(&fake), &[("BUILDKITE_MCP_NO_MEMO", "true")], &[]).await;
        client.service.list_all_tools().await.expect("tools/list");
        Server { fake, client }
    }
}

/// The test file's shared server, started on first use.
fn shared() -> &'static Server {
    static SHARED: OnceLock<Server> = OnceLock::new();
    SHARED.get_or_init(|| runtime().block_on(Server::start(&[])))
}

/// Held by every use of the shared server.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Runs `f` with the shared server to itself (nothing else calls it meanwhile).
pub fn with_shared<T>(f: impl AsyncFnOnce(&'static Server) -> T) -> T {
    let server = shared();
    runtime().block_on(async {
        let _alone = LOCK.lock().await;
        f(server).await
    })
}

/// Downloads `job`'s log into the shared server's cache, once (call with the lock held).
async fn warm(server: &Server, job: &str) {
    static WARM: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    if WARM.lock().unwrap().get_or_insert_with(HashSet::new).contains(job) {
        return;
    }
    server.client.ok("log_digest", json!({"job": job})).await;
    WARM.lock().unwrap().get_or_insert_with(HashSet::new).insert(job.to_string());
}

/// What a case's call returned, for its extra checks.
pub struct Output {
    /// The text, with the fake's port replaced by 40000 (as snapshotted).
    pub text: String,
    /// The text parsed.
    pub json: Value,
    /// The fake that answered.
    pub fake: FakeBuildkite,
}

/// A further assertion on a case's output.
type Check = Box<dyn Fn(&Output)>;

/// A call that must succeed: its request counts, output contract, token budget and snapshot.
pub struct Case {
    tool: &'static str,
    snapshot: &'static str,
    args: Value,
    graphql: usize,
    rest: usize,
    warm: Option<&'static str>,
    fresh: Option<&'static [&'static str]>,
    checks: Vec<Check>,
}

impl Case {
    /// `tool` called with `args` answers from exactly `graphql` GraphQL and `rest` REST requests
    /// and matches `snapshots/<tool>/<snapshot>.snap` and its budget in `tests/budgets.json`.
    pub fn new(tool: &'static str, snapshot: &'static str, args: Value, graphql: usize, rest: usize) -> Case {
        Case { tool, snapshot, args, graphql, rest, warm: None, fresh: None, checks: Vec::new() }
    }

    /// Has `job`'s log in the server's cache before the call.
    pub fn warm(mut self, job: &'static str) -> Case {
        self.warm = Some(job);
        self
    }

    /// Runs on its own fake and server (an empty log cache), granting `extra_scopes` on top of the
    /// read-only recipe.
    pub fn fresh(mut self, extra_scopes: &'static [&'static str]) -> Case {
        self.fresh = Some(extra_scopes);
        self
    }

    /// A further assertion on the output.
    pub fn check(mut self, check: impl Fn(&Output) + 'static) -> Case {
        self.checks.push(Box::new(check));
        self
    }

    /// Runs the case.
    pub fn run(self) {
        let call = async |server: &Server| {
            if let Some(job) = self.warm {
                warm(server, job).await;
            }
            let fake = &server.fake;
            let (g0, r0) = (fake.graphql_requests(), fake.rest_requests());
            let text = server.client.ok(self.tool, self.args.clone()).await;
            ((fake.graphql_requests() - g0, fake.rest_requests() - r0), text, fake.clone())
        };
        let (counts, text, fake) = match self.fresh {
            None => with_shared(call),
            Some(scopes) => {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
                rt.block_on(async {
                    let server = Server::start(scopes).await;
                    let out = call(&server).await;
                    let log = server.client.stop().await;
                    assert!(!log.contains(TOKEN), "the token leaked into the log");
                    out
                })
            }
        };
        let (snapshot, tool) = (self.snapshot, self.tool);
        let (g, r) = counts;
        assert_eq!(
            (g, r),
            (self.graphql, self.rest),
            "{snapshot}: {tool} made {g} GraphQL and {r} REST requests: {text}"
        );
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{snapshot} is not JSON: {e}: {text}"));
        assert!(first_empty(&json).is_none(), "{snapshot} has an empty value at {:?}: {text}", first_empty(&json));
        // The fake's port changes every run: snapshots and counts see a fixed one.
        let text = text.replace(&format!("localhost:{}", fake.port()), "localhost:40000");
        let n = tokens(&text);
        // The budget first, so a bigger output fails with its figure rather than a snapshot diff.
        check_budgets("outputs", &[(snapshot.to_string(), n)]);
        let args = &self.args;
        snapshots_in(tool)
            .bind(|| insta::assert_snapshot!(snapshot, format!("tokens: {n}\nargs: {args}\n{}", pretty(&text))));
        let output = Output { text, json, fake };
        for check in &self.checks {
            check(&output);
        }
    }
}

/// A call that must fail with one sentence containing `expected`.
pub struct Mistake {
    tool: &'static str,
    args: Value,
    expected: &'static str,
}

impl Mistake {
    /// `tool` called with `args` fails, saying `expected`.
    pub fn new(tool: &'static str, args: Value, expected: &'static str) -> Mistake {
        Mistake { tool, args, expected }
    }

    /// Runs the case on the shared server.
    pub fn run(self) {
        let message = with_shared(async |server: &Server| server.client.err(self.tool, self.args.clone()).await);
        let (tool, args, expected) = (self.tool, &self.args, self.expected);
        assert!(message.contains(expected), "{tool} {args}: got {message:?}");
        assert!(!message.contains('\n'), "{tool} {args}: one sentence: {message:?}");
        assert!(!message.contains(TOKEN), "{tool} {args}: the token leaked: {message:?}");
    }
}

/// One module per tool, one `#[test]` per case, named `<tool>::<case>` so `cargo test get_build::`
/// runs get_build's cases:
///
/// ```ignore
/// tool_cases! {
///     get_build {
///         get_build_failed: {"build": "acme/web/1342"} => ok(graphql: 1, rest: 0);
///         not_found: {"build": "acme/web/999999"} => err("build acme/web/999999 was not found");
///     }
/// }
/// ```
///
/// An `ok` case's name is its snapshot (`snapshots/<tool>/<case>.snap`) and its budget key; it
/// takes `Case`'s options after the counts: `.warm(JOB)`, `.fresh(&[scopes])`, `.check(|out| …)`.
/// `err` cases run on the shared server and check the message.
#[allow(unused_macros)]
macro_rules! tool_cases {
    ($($tool:ident { $($case:ident : $args:tt => $kind:ident $spec:tt $(. $opt:ident ( $($value:tt)* ))* ;)* })*) => {
        $(
            mod $tool {
                #[allow(unused_imports)]
                use super::*;
                $(
                    #[test]
                    fn $case() {
                        $crate::support::cases::case_of!($kind, stringify!($tool), stringify!($case), $args, $spec)
                            $(.$opt($($value)*))*
                            .run();
                    }
                )*
            }
        )*
    };
}

/// The `Case` or `Mistake` of one `tool_cases!` line.
#[allow(unused_macros)]
macro_rules! case_of {
    (ok, $tool:expr, $case:expr, $args:tt, (graphql: $graphql:expr, rest: $rest:expr)) => {
        $crate::support::cases::Case::new($tool, $case, serde_json::json!($args), $graphql, $rest)
    };
    (err, $tool:expr, $case:expr, $args:tt, ($expected:expr)) => {
        $crate::support::cases::Mistake::new($tool, serde_json::json!($args), $expected)
    };
}

#[allow(unused_imports)]
pub(crate) use {case_of, tool_cases};
