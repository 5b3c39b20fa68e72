//! The embedded demo organization (`--demo`): recorded GraphQL responses for the read tools, keyed
//! by operation name and matched on variables. The test suite's fake Buildkite serves the same files.
//!
//! Each `data/<Operation>.json` holds `{"cases": [{"when": {var: value, …}, "response": {…}}, …]}`;
//! the first case whose `when` entries all equal the request's variables answers (a case without
//! `when` matches anything and comes last).

pub mod transport;
pub mod writes;

pub use transport::DemoTransport;

use crate::buildkite::rest::AccessToken;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

// `FILES` (one per `data/<Operation>.json` but rest.json) and `LOGS` (one per `logs/<uuid>.log`),
// listed by build.rs.
include!(concat!(env!("OUT_DIR"), "/demo_files.rs"));

/// Recorded REST answers and artifact downloads (`data/rest.json`).
pub const REST: &str = include_str!("data/rest.json");

/// The scopes the demo token pretends to have: the read-only set, plus `read_job_env` so job
/// environments can be shown, and `write_builds` so writes can be tried (on the in-memory copy).
pub const DEMO_SCOPES: &[&str] = &[
    "read_builds",
    "read_pipelines",
    "read_user",
    "read_suites",
    "read_clusters",
    "read_artifacts",
    "read_build_logs",
    "read_organizations",
    "read_job_env",
    "write_builds",
];

/// One recorded answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Variables that must be equal for this case to answer.
    #[serde(default)]
    pub when: Option<Map<String, Value>>,
    /// The GraphQL response body.
    pub response: Value,
}

#[derive(Deserialize)]
struct File {
    cases: Vec<Case>,
}

/// One recorded REST answer: the first route whose path is equal and whose `query` entries all
/// appear in the request answers.
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    /// The path under the REST base, without a leading slash (`v2/organizations/acme/builds`).
    pub path: String,
    /// Query parameters that must be present with these values.
    #[serde(default)]
    pub query: Map<String, Value>,
    /// The JSON body.
    pub body: Value,
    /// The page a `Link: rel="next"` header names.
    #[serde(default)]
    pub next_page: Option<u32>,
}

/// A recorded artifact download.
#[derive(Debug, Clone, Deserialize)]
pub struct Stored {
    /// The pre-signed URL as GraphQL gives it.
    pub url: String,
    /// Its content.
    pub body: String,
}

#[derive(Debug, Default, Deserialize)]
struct RestFile {
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(default)]
    downloads: Vec<Stored>,
}

/// One operation's recorded answers, parsed on first use (start-up stays fast).
#[derive(Debug, Default)]
struct Recorded {
    /// The embedded text, until parsed.
    text: Option<&'static str>,
    parsed: std::sync::OnceLock<Vec<Case>>,
}

impl Recorded {
    fn cases(&self, operation: &str) -> &[Case] {
        self.parsed.get_or_init(|| match self.text.map(serde_json::from_str::<File>) {
            Some(Ok(file)) => file.cases,
            Some(Err(e)) => {
                tracing::error!(operation, "demo data does not parse: {e}");
                Vec::new()
            }
            None => Vec::new(),
        })
    }
}

/// Recorded answers by operation name.
#[derive(Debug, Default)]
pub struct Demo {
    cases: HashMap<String, Recorded>,
    rest: std::sync::OnceLock<RestFile>,
    /// The writes made so far, in memory.
    world: writes::World,
}

impl Demo {
    /// Loads the embedded files. A file that does not parse is logged and skipped.
    pub fn load() -> Self {
        let mut demo = Demo::default();
        for (name, text) in FILES {
            demo.cases.insert(name.to_string(), Recorded { text: Some(text), parsed: std::sync::OnceLock::new() });
        }
        demo
    }

    /// The recorded REST answers, parsed on first use.
    fn rest_file(&self) -> &RestFile {
        self.rest.get_or_init(|| {
            serde_json::from_str(REST).unwrap_or_else(|e| {
                tracing::error!("demo REST data does not parse: {e}");
                RestFile::default()
            })
        })
    }

    /// The recorded REST answer for `path` (no leading slash) with `query`.
    pub fn rest(&self, path: &str, query: &[(String, String)]) -> Option<crate::buildkite::rest::RestPage> {
        let page = self.recorded_rest(path, query);
        let next_page = page.as_ref().and_then(|p| p.next_page);
        let body = self.patch_rest(path, query, page.map(|p| p.body))?;
        Some(crate::buildkite::rest::RestPage { body, next_page })
    }

    /// The recorded REST answer, as recorded.
    fn recorded_rest(&self, path: &str, query: &[(String, String)]) -> Option<crate::buildkite::rest::RestPage> {
        let path = path.trim_start_matches('/');
        self.rest_file()
            .routes
            .iter()
            .find(|r| {
                r.path == path
                    && r.query.iter().all(|(k, v)| {
                        let want = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                        query.iter().any(|(qk, qv)| qk == k && *qv == want)
                    })
            })
            .map(|r| crate::buildkite::rest::RestPage { body: r.body.clone(), next_page: r.next_page })
    }

    /// A recorded artifact download by its URL.
    pub fn download(&self, url: &str) -> Option<&str> {
        self.rest_file().downloads.iter().find(|d| d.url == url).map(|d| d.body.as_str())
    }

    /// Adds (or replaces) the cases of one operation from a fixture text.
    pub fn add(&mut self, operation: &str, text: &str) -> Result<(), serde_json::Error> {
        let file: File = serde_json::from_str(text)?;
        let parsed = std::sync::OnceLock::new();
        let _ = parsed.set(file.cases);
        self.cases.insert(operation.to_string(), Recorded { text: None, parsed });
        Ok(())
    }

    /// The recorded response for `operation` with `variables`, if any case matches.
    pub fn graphql(&self, operation: &str, variables: &Value) -> Option<Value> {
        if let Some(answer) = self.mutate(operation, variables) {
            return Some(answer);
        }
        let mut answer = self.recorded(operation, variables)?;
        self.patch(operation, variables, &mut answer);
        Some(answer)
    }

    /// The recorded response, as recorded.
    fn recorded(&self, operation: &str, variables: &Value) -> Option<Value> {
        self.cases
            .get(operation)?
            .cases(operation)
            .iter()
            .find(|c| c.when.as_ref().is_none_or(|w| matches(w, variables)))
            .map(|c| c.response.clone())
    }

    /// The operations with recorded data.
    pub fn operations(&self) -> impl Iterator<Item = (&str, &[Case])> {
        self.cases.iter().map(|(k, v)| (k.as_str(), v.cases(k)))
    }

    /// A recorded job log.
    pub fn job_log(&self, job: &str) -> Option<&'static str> {
        LOGS.iter().find(|(uuid, _)| *uuid == job).map(|(_, text)| *text)
    }

    /// The demo token's scopes.
    pub fn access_token(&self) -> AccessToken {
        AccessToken { uuid: None, scopes: DEMO_SCOPES.iter().map(|s| s.to_string()).collect() }
    }
}

/// Whether every entry of `when` equals the same variable.
pub fn matches(when: &Map<String, Value>, variables: &Value) -> bool {
    when.iter().all(|(k, v)| variables.get(k) == Some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_matching_case_answers_and_catch_all_is_last() {
        let mut demo = Demo::default();
        demo.add(
            "GetBuild",
            r#"{"cases":[{"when":{"slug":"a/b/1"},"response":{"data":{"build":{"number":1}}}},{"response":{"data":{"build":null}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            demo.graphql("GetBuild", &json!({"slug":"a/b/1","maxJobs":5})),
            Some(json!({"data":{"build":{"number":1}}}))
        );
        assert_eq!(demo.graphql("GetBuild", &json!({"slug":"a/b/2"})), Some(json!({"data":{"build":null}})));
        assert_eq!(demo.graphql("Nope", &json!({})), None);
    }

    #[test]
    fn every_recorded_response_deserialises_into_its_generated_type() {
        let demo = Demo::load();
        let mut checked = 0;
        for (operation, cases) in demo.operations() {
            for (i, case) in cases.iter().enumerate() {
                crate::buildkite::ops::decode_recorded(operation, case.response.clone())
                    .unwrap_or_else(|| {
                        panic!("{operation}: recorded in src/demo/data but no such operation in graphql/")
                    })
                    .unwrap_or_else(|e| panic!("{operation} case {i}: {e}"));
                checked += 1;
            }
        }
        assert!(checked >= 20, "only {checked} cases");
    }

    #[test]
    fn every_operation_has_recorded_data_with_a_catch_all_last() {
        let demo = Demo::load();
        for (operation, file) in crate::buildkite::ops::CATALOGUE {
            let cases = demo
                .cases
                .get(*operation)
                .unwrap_or_else(|| panic!("{file} has no demo data in src/demo/data"))
                .cases(operation);
            assert!(cases.last().is_some_and(|c| c.when.is_none()), "{operation}: the last case must have no `when`");
        }
    }

    #[test]
    fn embedded_files_all_parse() {
        for (name, text) in FILES {
            let mut demo = Demo::default();
            demo.add(name, text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
