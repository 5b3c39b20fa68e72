//! What to do with one line of input before rmcp sees it: pass a well-formed message on, or answer
//! it ourselves where rmcp would drop it silently (not JSON, too long, a duplicate id, mistyped
//! params, a request before the session has begun). Pure, so it can be fuzzed.

use super::lines::{Frame, MAX_LINE};
use rmcp::model::{ClientJsonRpcMessage, ClientRequest, JsonRpcMessage, ProtocolVersion};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

/// JSON-RPC: the line is not JSON.
pub const PARSE_ERROR: i64 = -32700;
/// JSON-RPC: not a valid request object.
pub const INVALID_REQUEST: i64 = -32600;
/// JSON-RPC: the params do not fit the method.
pub const INVALID_PARAMS: i64 = -32602;

/// The methods rmcp knows; mistyped params make rmcp treat them as unknown (-32601), so they are
/// answered here with -32602 instead.
const KNOWN_REQUESTS: &[&str] = &[
    "ping",
    "initialize",
    "server/discover",
    "completion/complete",
    "logging/setLevel",
    "prompts/get",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "subscriptions/listen",
    "tools/call",
    "tools/list",
];

/// The outcome of one frame.
#[derive(Debug)]
pub enum Verdict {
    /// Hand the message to rmcp.
    Pass(Box<ClientJsonRpcMessage>),
    /// Answer it with this JSON-RPC error (a whole message, ready to write).
    Reply(Value),
    /// Nothing to do (a blank line, a notification that cannot be read).
    Ignore,
}

/// The ids of requests passed to rmcp and not yet answered, shared with the writer, which clears
/// an id when its response goes out.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<Mutex<HashSet<String>>>);

impl InFlight {
    fn with<T>(&self, f: impl FnOnce(&mut HashSet<String>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Marks `id` (its JSON text) as running; false when it already is.
    pub fn start(&self, id: &str) -> bool {
        self.with(|s| s.insert(id.to_string()))
    }

    /// Marks `id` (its JSON text) as answered or cancelled.
    pub fn finish(&self, id: &str) {
        self.with(|s| s.remove(id));
    }

    /// How many requests are running.
    pub fn len(&self) -> usize {
        self.with(|s| s.len())
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The checks between the line reader and rmcp, and the little state they need.
#[derive(Debug, Default)]
pub struct Gate {
    /// Requests running, by id.
    pub in_flight: InFlight,
    /// Whether a session has begun (an `initialize`, or a request carrying 2026-07-28 `_meta`).
    started: bool,
}

/// A JSON-RPC error message.
pub fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

/// An id is a string or an integer; anything else cannot be answered by id.
fn valid_id(id: &Value) -> Option<&Value> {
    match id {
        Value::String(_) => Some(id),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(id),
        _ => None,
    }
}

impl Gate {
    /// A gate with no session yet.
    pub fn new() -> Self {
        Gate::default()
    }

    /// Decides what to do with `frame`.
    pub fn admit(&mut self, frame: Frame) -> Verdict {
        match frame {
            Frame::Oversize { head, len } => {
                let id = id_from_head(&head).unwrap_or(Value::Null);
                let message = format!(
                    "the message is {} MiB or more, over the {} MiB limit for one line: send smaller arguments",
                    len / (1024 * 1024),
                    MAX_LINE / (1024 * 1024)
                );
                Verdict::Reply(error(id, INVALID_REQUEST, &message))
            }
            Frame::Line(line) => self.line(&line),
        }
    }

    fn line(&mut self, line: &[u8]) -> Verdict {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return Verdict::Ignore;
        }
        let value: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                let message = format!(
                    "parse error: the line is not JSON ({e}); send one JSON-RPC message per line, UTF-8, ending in \\n"
                );
                return Verdict::Reply(error(Value::Null, PARSE_ERROR, &message));
            }
        };
        let Value::Object(object) = &value else {
            let message = if value.is_array() {
                "invalid request: JSON-RPC batches are not supported by MCP; send each message on its own line"
            } else {
                "invalid request: a JSON-RPC message is an object with jsonrpc \"2.0\" and a method or a result"
            };
            return Verdict::Reply(error(Value::Null, INVALID_REQUEST, message));
        };
        let raw_id = object.get("id");
        let id = raw_id.and_then(valid_id).cloned();
        let Some(method) = object.get("method") else {
            // A response to a request of ours (we send none today) or garbage.
            return match serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
                Ok(m) if self.started => Verdict::Pass(Box::new(m)),
                Ok(_) => Verdict::Ignore,
                Err(_) => Verdict::Reply(error(
                    id.unwrap_or(Value::Null),
                    INVALID_REQUEST,
                    "invalid request: a message needs a string `method` (or a `result`/`error` answering one of ours)",
                )),
            };
        };
        let Some(method) = method.as_str().map(str::to_string) else {
            return self.invalid(raw_id, "invalid request: `method` must be a string");
        };
        if raw_id.is_none() {
            return self.notification(value, &method);
        }
        let Some(id) = id else {
            return Verdict::Reply(error(
                Value::Null,
                INVALID_REQUEST,
                "invalid request: `id` must be a string or an integer",
            ));
        };
        let parsed = match serde_json::from_value::<ClientJsonRpcMessage>(value.clone()) {
            Ok(m) => m,
            Err(_) if KNOWN_REQUESTS.contains(&method.as_str()) => {
                return Verdict::Reply(error(id, INVALID_PARAMS, &invalid_params(&method)));
            }
            Err(e) => {
                let detail = super::short(&e.to_string(), 100);
                return Verdict::Reply(error(
                    id,
                    INVALID_REQUEST,
                    &format!(
                        "invalid request ({detail}): send {{\"jsonrpc\":\"2.0\",\"id\":…,\"method\":…,\"params\":{{…}}}}"
                    ),
                ));
            }
        };
        let JsonRpcMessage::Request(request) = &parsed else {
            return self.invalid(Some(&id), "invalid request: a message with `method` and `id` must be a request");
        };
        if matches!(request.request, ClientRequest::CustomRequest(_)) && KNOWN_REQUESTS.contains(&method.as_str()) {
            return Verdict::Reply(error(id, INVALID_PARAMS, &invalid_params(&method)));
        }
        if let Some(reply) = self.before_session(&request.request, &method, &id) {
            return reply;
        }
        let key = id.to_string();
        if !self.in_flight.start(&key) {
            let message = format!(
                "invalid request: id {} is already used by a request still running; give each request its own id",
                super::short(&key, 100)
            );
            return Verdict::Reply(error(id, INVALID_REQUEST, &message));
        }
        Verdict::Pass(Box::new(parsed))
    }

    /// A request before any session: `initialize`, `ping` and `server/discover` are fine, and so
    /// is a request carrying 2026-07-28 `_meta`; anything else gets told how to begin.
    fn before_session(&mut self, request: &ClientRequest, method: &str, id: &Value) -> Option<Verdict> {
        if self.started {
            return None;
        }
        match request {
            ClientRequest::InitializeRequest(_) => {
                self.started = true;
                None
            }
            ClientRequest::PingRequest(_) | ClientRequest::DiscoverRequest(_) => None,
            other => {
                let meta = rmcp::model::GetMeta::get_meta(other);
                let complete = meta.missing_required_keys(&ProtocolVersion::V_2026_07_28).is_empty();
                match meta.protocol_version() {
                    Some(v) if complete && ProtocolVersion::KNOWN_VERSIONS.contains(&v) => {
                        self.started = true;
                        None
                    }
                    // rmcp names the missing or unsupported field itself.
                    Some(_) => None,
                    None => {
                        let message = format!(
                            "{} came before `initialize`: send `initialize` (protocolVersion 2025-11-25) and then `notifications/initialized` first, or, for protocol 2026-07-28, put io.modelcontextprotocol/protocolVersion, clientInfo and clientCapabilities in every request's `_meta`",
                            super::short(method, 40)
                        );
                        Some(Verdict::Reply(error(id.clone(), INVALID_REQUEST, &message)))
                    }
                }
            }
        }
    }

    fn notification(&mut self, value: Value, method: &str) -> Verdict {
        match serde_json::from_value::<ClientJsonRpcMessage>(value) {
            // Before a session rmcp would stop on a notification; there is nothing to answer anyway.
            Ok(_) if !self.started => Verdict::Ignore,
            Ok(m) => {
                if let JsonRpcMessage::Notification(n) = &m
                    && let rmcp::model::ClientNotification::CancelledNotification(c) = &n.notification
                    && let Some(id) = &c.params.request_id
                {
                    // rmcp sends no response for a cancelled request.
                    if let Ok(key) = serde_json::to_string(id) {
                        self.in_flight.finish(&key);
                    }
                }
                Verdict::Pass(Box::new(m))
            }
            Err(e) => {
                tracing::warn!(method = %super::short(method, 40), "notification ignored: {}", super::short(&e.to_string(), 100));
                Verdict::Ignore
            }
        }
    }

    fn invalid(&self, raw_id: Option<&Value>, message: &str) -> Verdict {
        let id = raw_id.and_then(valid_id).cloned().unwrap_or(Value::Null);
        Verdict::Reply(error(id, INVALID_REQUEST, message))
    }
}

/// The -32602 message for `method`.
fn invalid_params(method: &str) -> String {
    match method {
        "tools/call" => {
            "invalid params for tools/call: `params` must be an object with a string `name` and an object `arguments`"
                .to_string()
        }
        m => format!("invalid params for {m}: `params` does not match the MCP schema for this method"),
    }
}

/// The top-level `id` of a JSON object cut short: the value of the first `"id"` key at depth one
/// when it is a complete string or integer within `head`.
pub fn id_from_head(head: &[u8]) -> Option<Value> {
    let mut depth = 0usize;
    let mut i = 0usize;
    let mut expect_key = false;
    while i < head.len() {
        match head[i] {
            b'{' | b'[' => {
                depth += 1;
                expect_key = head[i] == b'{' && depth == 1;
                i += 1;
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b',' => {
                expect_key = depth == 1;
                i += 1;
            }
            b'"' => {
                let end = string_end(head, i)?;
                let is_id_key = expect_key && &head[i..end] == b"\"id\"";
                i = end;
                if expect_key {
                    expect_key = false;
                    let colon = skip_ws(head, i);
                    if head.get(colon) != Some(&b':') {
                        return None;
                    }
                    i = colon + 1;
                    if is_id_key {
                        return scalar_at(head, skip_ws(head, i));
                    }
                }
            }
            _ => i += 1,
        }
    }
    None
}

fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index just past the string starting at `start` (a `"`), if it ends within `s`.
fn string_end(s: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < s.len() {
        match s[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

fn scalar_at(s: &[u8], i: usize) -> Option<Value> {
    match s.get(i)? {
        b'"' => {
            let end = string_end(s, i)?;
            serde_json::from_slice::<Value>(&s[i..end]).ok()
        }
        b'-' | b'0'..=b'9' => {
            let end = (i + 1..s.len()).find(|&j| !s[j].is_ascii_digit()).unwrap_or(s.len());
            // A number running to the end of the head may be cut short.
            if end == s.len() {
                return None;
            }
            let v: Value = serde_json::from_slice(&s[i..end]).ok()?;
            valid_id(&v).cloned()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(v: Verdict) -> Value {
        match v {
            Verdict::Reply(v) => v,
            other => panic!("expected a reply, got {other:?}"),
        }
    }

    #[test]
    fn ids_are_read_from_the_head_of_a_cut_line() {
        assert_eq!(id_from_head(br#"{"jsonrpc":"2.0","id":42,"params":{"x":"#), Some(json!(42)));
        assert_eq!(id_from_head(br#"{"params":{"id":1},"id":"a\"b","method""#), Some(json!("a\"b")));
        assert_eq!(id_from_head(br#"{"method":"tools/call","params":{"arguments":{"id":7"#), None);
        assert_eq!(id_from_head(br#"{"id":12"#), None);
        assert_eq!(id_from_head(br#"{"id":true,"#), None);
    }

    #[test]
    fn malformed_lines_are_answered() {
        let mut gate = Gate::new();
        let v = reply(gate.admit(Frame::Line(b"not json".to_vec())));
        assert_eq!((v["id"].clone(), v["error"]["code"].clone()), (Value::Null, json!(PARSE_ERROR)));
        let v = reply(gate.admit(Frame::Line(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.to_vec())));
        assert!(v["error"]["message"].as_str().unwrap().contains("initialize"), "{v}");
        let init = br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
        assert!(matches!(gate.admit(Frame::Line(init.to_vec())), Verdict::Pass(_)));
        let call = br#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":5}}"#;
        assert_eq!(reply(gate.admit(Frame::Line(call.to_vec())))["error"]["code"], json!(INVALID_PARAMS));
        let list = br#"{"jsonrpc":"2.0","id":6,"method":"tools/list"}"#;
        assert!(matches!(gate.admit(Frame::Line(list.to_vec())), Verdict::Pass(_)));
        let v = reply(gate.admit(Frame::Line(list.to_vec())));
        assert_eq!((v["id"].clone(), v["error"]["code"].clone()), (json!(6), json!(INVALID_REQUEST)));
        gate.in_flight.finish("6");
        assert!(matches!(gate.admit(Frame::Line(list.to_vec())), Verdict::Pass(_)));
        let v = reply(gate.admit(Frame::Oversize { head: br#"{"id":"big","#.to_vec(), len: MAX_LINE + 1 }));
        assert_eq!(v["id"], json!("big"));
    }
}
