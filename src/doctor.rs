//! `doctor`: one line per check, each with ✓ or ✗ and, for ✗, what it costs and how to fix it.
//! The checks reuse what the server itself uses — the token's scopes and the GraphQL-access detector
//! through [`Server::enabled`], the default organization through a real `list_pipelines` call — so
//! doctor and `tools/list` never disagree. Rate-limit headroom is read from the `RateLimit-*`
//! headers of one REST and one GraphQL answer (a small reader of its own here).
//!
//! Exit codes: 0 everything asked for works; 1 the token is invalid or no organization can be
//! resolved; 3 it works with fewer tools (no GraphQL access, missing scopes).

use crate::buildkite::access::GraphqlVerdict;
use crate::buildkite::error::TOKEN_PAGE;
use crate::buildkite::rest::{MINIMUM_SCOPES, READ_ONLY_SCOPES, READ_WRITE_SCOPES};
use crate::buildkite::transport::Request;
use crate::buildkite::{Api, ApiError};
use crate::server::{Disabled, Server};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// The mark of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Works.
    Pass,
    /// Does not work, or works with less; the line says what it costs and the fix.
    Fail,
    /// Worth knowing, costs nothing now (low rate-limit headroom, a check that could not run).
    Note,
}

/// One line of the report.
#[derive(Debug, Clone)]
pub struct Line {
    /// Its mark.
    pub mark: Mark,
    /// What was checked and what was found.
    pub text: String,
}

/// The report and the exit code it implies.
#[derive(Debug, Default)]
pub struct Report {
    /// The lines, in order.
    pub lines: Vec<Line>,
    /// 0, 1 or 3.
    pub code: u8,
}

impl Report {
    fn push(&mut self, mark: Mark, text: impl Into<String>) {
        self.lines.push(Line { mark, text: text.into() });
    }

    /// Marks the run as working with fewer tools (unless something worse was found).
    fn fewer(&mut self) {
        if self.code == 0 {
            self.code = 3;
        }
    }

    /// The lines as printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let mark = match line.mark {
                Mark::Pass => "✓",
                Mark::Fail => "✗",
                Mark::Note => "!",
            };
            let _ = writeln!(out, "{mark} {}", line.text);
        }
        out
    }
}

/// The report for no token at all (the server cannot even start).
pub fn no_token() -> Report {
    let mut r = Report { code: 1, ..Report::default() };
    r.push(
        Mark::Fail,
        format!(
            "token: none is set: create one at {TOKEN_PAGE} and set BUILDKITE_API_TOKEN, or pass --token-cmd 'op read op://…' (or try --demo)"
        ),
    );
    r
}

/// The report for a `--token-cmd` that gave no token.
pub fn token_cmd_failed(error: &crate::token_cmd::TokenCmdError) -> Report {
    let mut r = Report { code: 1, ..Report::default() };
    r.push(Mark::Fail, format!("token: {error}"));
    r
}

/// One answer read whole: status, headers, body (at most 1 MiB).
struct Raw {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

/// Sends one request through the API's transport and reads its headers, which the typed API
/// layer does not hand back.
async fn raw(api: &Api, method: Method, url: &Url, body: Option<&serde_json::Value>) -> Result<Raw, ApiError> {
    let headers = [("accept", "application/json")];
    let request = Request { method, url, headers: &headers, body, bearer: true, timeout: Duration::from_secs(15) };
    let response = api.transport().send(&request).await?;
    let mut body = response.body;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.chunk().await? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > 1024 * 1024 {
            break;
        }
    }
    Ok(Raw { status: response.status, headers: response.headers, body: bytes })
}

/// Headroom from `RateLimit-Remaining`, `-Limit` and `-Reset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Headroom {
    /// Left in this window.
    pub remaining: u64,
    /// The window's allowance.
    pub limit: Option<u64>,
    /// Seconds until it resets.
    pub reset: Option<u64>,
}

/// The organization's headroom a response's headers state (`RateLimit-*`), if they state it.
pub fn headroom(headers: &HeaderMap) -> Option<Headroom> {
    scoped(headers, "ratelimit")
}

/// The token owner's own headroom (`RateLimit-User-*`: GraphQL's per-user 5,000 points, REST's
/// per-user requests), if stated.
pub fn user_headroom(headers: &HeaderMap) -> Option<Headroom> {
    scoped(headers, "ratelimit-user")
}

fn scoped(headers: &HeaderMap, prefix: &str) -> Option<Headroom> {
    let number = |name: &str| {
        headers.get(format!("{prefix}-{name}")).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())
    };
    Some(Headroom { remaining: number("remaining")?, limit: number("limit"), reset: number("reset") })
}

/// `12,345`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
fn describe(what: &str, unit: &str, h: Option<Headroom>) -> (String, bool) {
    describe_both(what, unit, h, None)
}

/// `GraphQL 19,870 of 20,000 complexity points left, resets in 180 s (yours: …)`, and whether
/// either is under a tenth of its limit.
fn describe_both(what: &str, unit: &str, org: Option<Headroom>, user: Option<Headroom>) -> (String, bool) {
    let one = |h: Headroom| {
        let of = h.limit.map(|l| format!(" of {}", grouped(l))).unwrap_or_default();
        let reset = h.reset.map(|s| format!(", resets in {s} s")).unwrap_or_default();
        let low = h.limit.is_some_and(|l| l > 0 && h.remaining * 10 < l);
        (format!("{}{of} {unit} left{reset}", grouped(h.remaining)), low)
    };
    let (mut text, mut low) = match org {
        None if user.is_none() => return (format!("{what} not reported"), false),
        None => (what.to_string(), false),
        Some(h) => {
            let (t, l) = one(h);
            (format!("{what} {t}"), l)
        }
    };
    if let Some(h) = user {
        let (t, l) = one(h);
        let _ = write!(text, " (yours: {t})");
        low |= l;
    }
    (text, low)
}

/// Tokens of `bytes` of tool-definition JSON, estimated without a tokenizer: 4.4 bytes a token,
/// what o200k_base gives for this catalogue's `tools/list` (12,795 bytes, 2,926 tokens).
pub fn estimated_tokens(bytes: usize) -> u64 {
    (bytes as u64 * 10).div_ceil(44)
}

/// Whether `granted` holds one of the sets Buildkite calls the minimum: the four the server's
/// table lists, or the three of Buildkite's page (read_suites…) or of its link (read_builds…).
fn meets_minimum(granted: &[String]) -> bool {
    let has = |set: &[&str]| set.iter().all(|s| granted.iter().any(|g| g == s));
    has(MINIMUM_SCOPES)
        || has(&["read_suites", "read_pipelines", "read_user"])
        || has(&["read_builds", "read_pipelines", "read_user"])
}

/// Runs every check against the server's own context; `from_cmd` says the token was read by
/// `--token-cmd` (the token line says so).
pub async fn run(server: &Server, from_cmd: bool) -> Report {
    let ctx = server.ctx();
    let api = &ctx.api;
    let mut r = Report::default();

    // 1. The token, with REST's rate-limit headers.
    let rest_raw = match api.rest_url("v2/access-token") {
        Ok(url) => raw(api, Method::GET, &url, None).await,
        Err(e) => Err(e),
    };
    let rest_headroom = match &rest_raw {
        Ok(raw) if raw.status.is_success() => {
            let uuid = serde_json::from_slice::<serde_json::Value>(&raw.body)
                .ok()
                .and_then(|v| v.get("uuid").and_then(|u| u.as_str()).map(|u| u.chars().take(8).collect::<String>()));
            let mut about: Vec<String> = uuid.map(|u| format!("token {u}…")).into_iter().collect();
            if api.is_demo() {
                about = vec!["the demo organization: no token is used".into()];
            }
            if from_cmd {
                about.push("read by --token-cmd".into());
            }
            let about = if about.is_empty() { String::new() } else { format!(" ({})", about.join(", ")) };
            r.push(Mark::Pass, format!("token: valid{about}"));
            (headroom(&raw.headers), user_headroom(&raw.headers))
        }
        Ok(raw) if raw.status == StatusCode::UNAUTHORIZED => {
            r.code = 1;
            r.push(
                Mark::Fail,
                format!(
                    "token: Buildkite refuses it (401: wrong, expired or revoked): create a new one at {TOKEN_PAGE} and set BUILDKITE_API_TOKEN (or --token-cmd)"
                ),
            );
            return r;
        }
        Ok(raw) => {
            r.code = 1;
            r.push(
                Mark::Fail,
                format!("token: GET /v2/access-token answered {}: the token cannot be checked", raw.status),
            );
            return r;
        }
        Err(e) => {
            r.code = 1;
            r.push(Mark::Fail, format!("token: Buildkite could not be reached: {e}"));
            return r;
        }
    };

    // 2. GraphQL access (the detector), with GraphQL's rate-limit headers.
    let verdict = api.graphql_verdict().await;
    let no_graphql: Vec<&str> = crate::tools::catalogue().iter().filter(|t| !t.has_rest()).map(|t| t.name).collect();
    let mut graphql_headroom = (None, None);
    match verdict {
        GraphqlVerdict::Granted => {
            r.push(Mark::Pass, "GraphQL access: on");
            let probe = serde_json::json!({"query": "query GraphqlProbe { viewer { id } }", "operationName": "GraphqlProbe", "variables": {}});
            if let Ok(url) = api.graphql_url()
                && let Ok(raw) = raw(api, Method::POST, url, Some(&probe)).await
            {
                graphql_headroom = (headroom(&raw.headers), user_headroom(&raw.headers));
            }
        }
        GraphqlVerdict::Refused => {
            r.fewer();
            r.push(
                Mark::Fail,
                format!(
                    "GraphQL access: off, so {} are not offered and the other tools answer over REST with fewer fields: edit the token at {TOKEN_PAGE} and turn on \"Enable GraphQL API access\"",
                    no_graphql.join(", ")
                ),
            );
        }
        GraphqlVerdict::Unknown => r.push(
            Mark::Note,
            "GraphQL access: could not be checked (the probe failed for another reason); tools will try it",
        ),
    }

    // 3. Scopes against the recipes, and what each missing one hides.
    let enabled = server.enabled().await;
    match &enabled.scopes {
        None => r.push(Mark::Note, "scopes: could not be read from /v2/access-token; every tool is offered and each call reports its own error"),
        Some(granted) => {
            let has = |set: &[&str]| set.iter().all(|s| granted.iter().any(|g| g == s));
            let mark = |ok: bool| if ok { "yes" } else { "no" };
            let mut recipes = format!(
                "scopes: minimum {}, read-only {}, read-write {}",
                mark(meets_minimum(granted)),
                mark(has(READ_ONLY_SCOPES)),
                mark(has(READ_WRITE_SCOPES))
            );
            let lacking: Vec<&str> =
                READ_WRITE_SCOPES.iter().copied().filter(|s| !granted.iter().any(|g| g == s)).collect();
            if !lacking.is_empty() {
                let _ = write!(recipes, " (lacks {})", lacking.join(", "));
            }
            let mut hidden: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for (tool, why) in &enabled.disabled {
                if let Disabled::Scopes(scopes) = why {
                    for scope in scopes {
                        hidden.entry(scope).or_default().push(tool);
                    }
                }
            }
            // The recipes are context; what a missing scope costs is said on its own line below.
            r.push(if meets_minimum(granted) { Mark::Pass } else { Mark::Fail }, recipes);
            // Tools in catalogue order.
            let order = |name: &str| crate::tools::catalogue().iter().position(|t| t.name == name).unwrap_or(usize::MAX);
            for (scope, mut tools) in hidden {
                r.fewer();
                tools.sort_by_key(|t| order(t));
                let writes_only = tools.iter().all(|t| crate::tools::find(t).is_some_and(|t| !t.read_only()));
                let or = if writes_only { " (or run with --read-only to leave them out)" } else { "" };
                r.push(
                    Mark::Fail,
                    format!(
                        "scope {scope}: missing, so {} {} not offered: add {scope} to the token at {TOKEN_PAGE}{or}",
                        tools.join(", "),
                        if tools.len() == 1 { "is" } else { "are" }
                    ),
                );
            }
        }
    }

    // 4. The default organization, resolved and answering.
    match ctx.org.get(api).await {
        Ok(Some(org)) => {
            let how = if ctx.org.configured().is_some() { "configured" } else { "the only one the token sees" };
            let args = serde_json::Map::from_iter([("first".to_string(), serde_json::json!(1))]);
            let probe = crate::tools::catalogue().iter().find(|t| {
                t.toolset == crate::tools::Toolset::Pipelines && t.read_only() && !t.schema().contains_key("required")
            });
            let offered = probe.is_some_and(|t| enabled.tools.iter().any(|o| o.name == t.name));
            match probe.filter(|_| offered) {
                None => r.push(
                    Mark::Pass,
                    format!("organization: {org} ({how}; not checked: the pipeline tools are not offered)"),
                ),
                Some(tool) => match server.call(tool.name, args).await {
                    Ok(_) => r.push(Mark::Pass, format!("organization: {org} ({how}; its pipelines answer)")),
                    Err(e) => {
                        r.code = 1;
                        r.push(Mark::Fail, format!("organization: {org} ({how}) does not answer: {e}"));
                    }
                },
            }
        }
        Ok(None) => {
            r.code = 1;
            r.push(
                Mark::Fail,
                "organization: no default (the token sees several organizations, or none): set --org / BUILDKITE_ORGANIZATION (`call current_user` lists them)",
            );
        }
        Err(e) => {
            r.code = 1;
            r.push(Mark::Fail, format!("organization: could not be resolved: {e}; set --org / BUILDKITE_ORGANIZATION"));
        }
    }

    // 5. Rate-limit headroom.
    let (rest, rest_low) = describe_both("REST", "requests", rest_headroom.0, rest_headroom.1);
    let (graphql, graphql_low) = if verdict == GraphqlVerdict::Refused {
        ("GraphQL not used".to_string(), false)
    } else {
        describe_both("GraphQL", "complexity points", graphql_headroom.0, graphql_headroom.1)
    };
    if rest_low || graphql_low {
        r.push(
            Mark::Note,
            format!("rate limit: {rest}; {graphql}: under 10 % left, calls may wait or fail until the reset"),
        );
    } else {
        r.push(Mark::Pass, format!("rate limit: {rest}; {graphql}"));
    }

    // 6. The log cache.
    let store = &ctx.logs.store;
    let dir = store.dir().display();
    match store.usable() {
        Ok(()) => r.push(Mark::Pass, format!("log cache: {dir}")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            r.push(Mark::Pass, format!("log cache: {dir} (made on first use)"))
        }
        Err(e) => r.push(
            Mark::Note,
            format!(
                "log cache: {dir} cannot be used ({e}): logs are read uncached; set BUILDKITE_MCP_LOG_CACHE to a private directory of yours"
            ),
        ),
    }

    // 7. The size of this configuration's tools/list (as `tools/list` answers it).
    let list = rmcp::model::ListToolsResult::with_all_items(enabled.tools.iter().map(|t| t.to_tool()).collect());
    let bytes = serde_json::to_string(&list).map(|s| s.len()).unwrap_or(0);
    r.push(
        Mark::Pass,
        format!(
            "tools/list: {} tools, {} bytes (about {} tokens)",
            enabled.tools.len(),
            grouped(bytes as u64),
            grouped(estimated_tokens(bytes))
        ),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headroom_reads_the_ratelimit_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(headroom(&h), None);
        h.insert("RateLimit-Remaining", "187".parse().unwrap());
        h.insert("RateLimit-Limit", "200".parse().unwrap());
        h.insert("RateLimit-Reset", "42".parse().unwrap());
        let got = headroom(&h).unwrap();
        assert_eq!(got, Headroom { remaining: 187, limit: Some(200), reset: Some(42) });
        assert_eq!(
            describe("REST", "requests", Some(got)),
            ("REST 187 of 200 requests left, resets in 42 s".into(), false)
        );
        h.insert("RateLimit-User-Remaining", "300".parse().unwrap());
        h.insert("RateLimit-User-Limit", "5000".parse().unwrap());
        let user = user_headroom(&h);
        assert_eq!(user, Some(Headroom { remaining: 300, limit: Some(5_000), reset: None }));
        assert_eq!(
            describe_both("GraphQL", "points", headroom(&h), user),
            ("GraphQL 187 of 200 points left, resets in 42 s (yours: 300 of 5,000 points left)".into(), true)
        );
        let low = Headroom { remaining: 1_500, limit: Some(20_000), reset: None };
        assert_eq!(describe("GraphQL", "points", Some(low)), ("GraphQL 1,500 of 20,000 points left".into(), true));
    }

    #[test]
    fn either_published_minimum_counts() {
        let set = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(meets_minimum(&set(&["read_suites", "read_pipelines", "read_user"])));
        assert!(meets_minimum(&set(&["read_builds", "read_pipelines", "read_user"])));
        assert!(!meets_minimum(&set(&["read_builds", "read_user"])));
    }
}
