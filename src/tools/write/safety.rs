//! The safety framework every write tool goes through: a [`Plan`] (the target, the one-line
//! question, the exact request) is shown by a dry run, confirmed by a person (see
//! [`super::confirm`]), sent at most once (see [`crate::buildkite::write`]), and audited with one
//! stderr line. A write whose answer was lost comes back as [`Done::Lost`]: the tool then looks up
//! whether it took effect and says so; nothing is ever sent a second time.

use super::super::kit::{Call, ToolError};
use super::confirm::{Verdict, random_hex};
use crate::buildkite::ApiError;
use crate::buildkite::write::{Unsent, unsent};
use crate::render;
use graphql_client::GraphQLQuery;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// Where a create's marker goes in a request until the write is confirmed (the marker is the
/// confirmation's nonce, or a fresh random one).
pub const MARKER: &str = "<marker>";

/// The meta-data key of the marker a build create carries, to find the build after a lost answer.
pub const MARKER_KEY: &str = "mcp-create-marker";

/// The exact request a write sends.
#[derive(Debug, Clone)]
pub enum Request {
    /// A GraphQL mutation: `{query, variables, operationName}`.
    Graphql(Value),
    /// A REST write.
    Rest {
        /// `POST` or `PUT`.
        method: Method,
        /// Under the REST base, no leading slash.
        path: String,
        /// The JSON body.
        body: Option<Value>,
    },
}

impl Request {
    /// The body of the mutation `Q` with `variables`.
    pub fn graphql<Q: GraphQLQuery>(variables: Q::Variables) -> Result<Self, ToolError> {
        serde_json::to_value(Q::build_query(variables))
            .map(Request::Graphql)
            .map_err(|e| ApiError::Decode { detail: e.to_string() }.into())
    }

    /// A REST write.
    pub fn rest(method: Method, path: String, body: Option<Value>) -> Self {
        Request::Rest { method, path, body }
    }

    /// What is sent, as a dry run and the audit show it (the mutation's name and variables, or
    /// the method, path and body).
    pub fn shown(&self) -> Value {
        redacted(self.shown_raw(), None)
    }

    fn shown_raw(&self) -> Value {
        match self {
            Request::Graphql(body) => json!({
                "mutation": body.get("operationName"),
                "variables": body.get("variables").filter(|v| v.as_object().is_some_and(|o| !o.is_empty())),
            }),
            Request::Rest { method, path, body } => json!({
                "rest": format!("{method} /{path}"),
                "body": body,
            }),
        }
    }

    /// The bytes a confirmation is bound to: the tool and the whole request.
    fn binding(&self, tool: &str) -> String {
        let text = match self {
            Request::Graphql(body) => body.to_string(),
            Request::Rest { method, path, body } => {
                format!("{method} {path} {}", body.as_ref().map(Value::to_string).unwrap_or_default())
            }
        };
        format!("{tool}\n{text}")
    }

    fn with_marker(self, marker: &str) -> Self {
        match self {
            Request::Graphql(body) => Request::Graphql(replace(body, marker)),
            Request::Rest { method, path, body } => Request::Rest { method, path, body: body.map(|b| replace(b, marker)) },
        }
    }
}

/// `value` as it may be shown: secrets redacted in every string (environment variables by their
/// name too: `KEY=value` entries and the values of an `env` object), strings capped.
fn redacted(value: Value, env_key: Option<&str>) -> Value {
    const MAX: usize = 2_000;
    match value {
        Value::String(s) => match env_key {
            Some(k) => Value::String(crate::redact::shown_env(k, &s, MAX)),
            None => match s.split_once('=') {
                Some((k, v)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_') => {
                    Value::String(format!("{k}={}", crate::redact::shown_env(k, v, MAX)))
                }
                _ => Value::String(crate::redact::shown(&s, MAX)),
            },
        },
        Value::Array(a) => Value::Array(a.into_iter().map(|v| redacted(v, None)).collect()),
        Value::Object(o) => Value::Object(
            o.into_iter()
                .map(|(k, v)| {
                    let v = match (k.as_str(), v) {
                        ("env", Value::Object(env)) => Value::Object(
                            env.into_iter().map(|(ek, ev)| {
                                let shown = redacted(ev, Some(ek.as_str()));
                                (ek, shown)
                            }).collect(),
                        ),
                        (_, v) => redacted(v, None),
                    };
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

/// `value` with every string equal to [`MARKER`] replaced by `marker`.
fn replace(value: Value, marker: &str) -> Value {
    match value {
        Value::String(s) if s == MARKER => Value::String(marker.to_string()),
        Value::Array(a) => Value::Array(a.into_iter().map(|v| replace(v, marker)).collect()),
        Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, replace(v, marker))).collect()),
        other => other,
    }
}

/// One write, resolved and validated, not yet sent.
#[derive(Debug, Clone)]
pub struct Plan {
    /// What it acts on, as people name it (`acme/web/1342`, `job <uuid>`).
    pub target: String,
    /// The one line a person confirms: what will change.
    pub question: String,
    /// The exact request.
    pub request: Request,
    /// Facts shown with a dry run and the answer (state before, labels).
    pub before: Map<String, Value>,
}

/// How a write ended.
#[derive(Debug)]
pub enum Done {
    /// A dry run: the rendered answer.
    DryRun(String),
    /// Buildkite answered (a GraphQL response, `errors[]` included, or REST JSON).
    Answered {
        /// The answer.
        body: Value,
    },
    /// The request may have reached Buildkite but no answer came: look it up, never resend.
    Lost {
        /// What happened.
        error: ApiError,
        /// The marker sent, if the request carried one.
        marker: Option<String>,
    },
}

/// One audit line on stderr: tool, target, outcome (never a body or a secret).
pub fn audit(tool: &str, target: &str, outcome: &str) {
    eprintln!("audit: tool={tool} target={} outcome={outcome}", render::clean_text(target, 120));
}

/// Runs `plan` for `call`: a dry run, or confirmation and one send.
pub async fn perform(call: &Call<'_>, plan: &Plan, dry_run: bool) -> Result<Done, ToolError> {
    let mut done = perform_all(call, plan, std::slice::from_ref(&plan.request), dry_run).await?;
    Ok(done.pop().unwrap_or(Done::DryRun(String::new())))
}

/// Runs several requests under one plan (one question for all of them): a dry run showing every
/// request, or one confirmation and then each request sent once, in order. Each ends as its own
/// [`Done`]; a request Buildkite refused is `Done::Answered` with the error as `{"error": …}`.
pub async fn perform_all(call: &Call<'_>, plan: &Plan, requests: &[Request], dry_run: bool) -> Result<Vec<Done>, ToolError> {
    let tool = call.tool.name;
    let asks = call.asker.is_some_and(|a| !a.confirmations.off() && (a.elicitation || a.request_state.is_some()));
    if dry_run {
        audit(tool, &plan.target, "dry run, nothing sent");
        let mut out = Map::new();
        out.insert("dry_run".into(), json!(true));
        out.insert("would".into(), json!(plan.question));
        for (k, v) in &plan.before {
            out.insert(k.clone(), v.clone());
        }
        let shown: Vec<Value> = requests.iter().map(Request::shown).collect();
        out.insert("send".into(), if shown.len() == 1 { shown[0].clone() } else { Value::Array(shown) });
        if asks {
            out.insert("confirm".into(), json!("a person will be asked first"));
        }
        return Ok(vec![Done::DryRun(shown_text(out))]);
    }
    let binding: Vec<String> = requests.iter().map(|r| r.binding(tool)).collect();
    let binding = binding.join("\n");
    let verdict = match call.asker {
        Some(asker) => asker.confirm(&plan.question, &binding).await,
        None => Ok(Verdict::Proceed { confirmed: false, nonce: None }),
    };
    let Verdict::Proceed { nonce, .. } = match verdict {
        Ok(v) => v,
        Err(e @ ToolError::InputRequired(_)) => {
            audit(tool, &plan.target, "asked a person, nothing sent yet");
            return Err(e);
        }
        Err(e) => {
            audit(tool, &plan.target, "not confirmed, nothing sent");
            return Err(e);
        }
    };
    let marker = binding.contains(MARKER).then(|| nonce.unwrap_or_else(random_hex));
    let single = requests.len() == 1;
    let mut out = Vec::with_capacity(requests.len());
    for request in requests {
        let request = match &marker {
            Some(m) => request.clone().with_marker(m),
            None => request.clone(),
        };
        match send(call, &plan.target, &request).await {
            Ok(body) => out.push(Done::Answered { body }),
            Err(Sent::Lost(error)) => out.push(Done::Lost { error, marker: marker.clone() }),
            Err(Sent::Failed(error)) if single => return Err(error),
            Err(Sent::Failed(error)) => out.push(Done::Answered { body: json!({ "error": error.to_string() }) }),
        }
    }
    Ok(out)
}

/// Why one send did not answer.
enum Sent {
    /// It may have taken effect.
    Lost(ApiError),
    /// It did not (refused, or never sent).
    Failed(ToolError),
}

/// Sends one request once, and audits it.
async fn send(call: &Call<'_>, target: &str, request: &Request) -> Result<Value, Sent> {
    let tool = call.tool.name;
    let api = &call.ctx.api;
    let sent = match request {
        Request::Graphql(body) => api.mutate(body).await,
        Request::Rest { method, path, body } => api.rest_write(method.clone(), path, body.as_ref()).await,
    };
    match sent {
        Ok(body) => {
            let errors = body.get("errors").and_then(Value::as_array).is_some_and(|e| !e.is_empty());
            audit(tool, target, if errors { "refused by Buildkite (errors)" } else { "sent, done" });
            Ok(body)
        }
        Err(error) => match unsent(&error) {
            Unsent::NotSent => {
                audit(tool, target, "not sent (Buildkite unreachable or rate limited)");
                Err(Sent::Failed(ToolError::Refused(format!("{error}: nothing was sent, so nothing changed"))))
            }
            Unsent::Unknown => {
                audit(tool, target, "sent, answer lost; looking it up");
                Err(Sent::Lost(error))
            }
            Unsent::Refused => {
                audit(tool, target, "refused by Buildkite");
                Err(Sent::Failed(error.into()))
            }
        },
    }
}

/// The answer after a lost response: what the look-up found, never a resend.
pub fn lost_answer(error: &ApiError, took_effect: Option<bool>, found: Map<String, Value>) -> String {
    let mut out = Map::new();
    out.insert("answer_lost".into(), json!(error.to_string()));
    let said = match took_effect {
        Some(true) => "looked up: it took effect (not sent again)",
        Some(false) => "looked up: it has not taken effect (not sent again; check before calling again)",
        None => "could not look up whether it took effect (not sent again; check before calling again)",
    };
    out.insert("result".into(), json!(said));
    out.extend(found);
    shown_text(out)
}

/// The finished answer of a write: what changed.
pub fn changed(done: &str, plan: &Plan, after: Map<String, Value>) -> String {
    let mut out = Map::new();
    out.insert("done".into(), json!(done));
    for (k, v) in &plan.before {
        out.insert(k.clone(), v.clone());
    }
    out.extend(after);
    shown_text(out)
}

/// An answer as the model reads it: compact, with text that addresses the model marked.
pub fn shown_text(out: Map<String, Value>) -> String {
    let mut value = render::compact(Value::Object(out));
    crate::untrusted::mark(&mut value);
    render::to_json(&value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_filled_in_everywhere_and_nowhere_else() {
        let r = Request::rest(Method::POST, "p".into(), Some(json!({"meta_data": {"k": MARKER, "x": "y"}, "a": [MARKER]})));
        let Request::Rest { body, .. } = r.with_marker("m1") else { panic!() };
        assert_eq!(body, Some(json!({"meta_data": {"k": "m1", "x": "y"}, "a": ["m1"]})));
    }

    #[test]
    fn what_a_dry_run_shows_has_its_secrets_redacted() {
        let r = Request::rest(Method::POST, "p".into(), Some(json!({"env": {"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "DEBUG": "1"}})));
        let shown = r.shown().to_string();
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(shown.contains("\"DEBUG\":\"1\""), "{shown}");
        let g = Request::Graphql(json!({"operationName": "BuildCreate", "variables": {"env": ["GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789", "X=1"]}}));
        let shown = g.shown().to_string();
        assert!(!shown.contains("ghp_abcdefghij"), "{shown}");
        assert!(shown.contains("X=1"), "{shown}");
    }

    #[test]
    fn a_binding_changes_with_the_request_and_the_tool() {
        let a = Request::rest(Method::PUT, "x/cancel".into(), None);
        let b = Request::rest(Method::PUT, "y/cancel".into(), None);
        assert_ne!(a.binding("cancel"), b.binding("cancel"));
        assert_ne!(a.binding("cancel"), a.binding("other"));
    }
}
