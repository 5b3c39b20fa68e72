//! Confirmation by a person before a write is sent, in both protocol eras the server speaks.
//!
//! - 2025-11-25 (sessions): an `elicitation/create` request to the client, when it declared the
//!   elicitation capability.
//! - 2026-07-28 (stateless): an input-required result carrying the question and a `requestState`
//!   sealed by rmcp's [`RequestStateCodec`] (HMAC, expiry) and bound, as associated data, to the
//!   tool and the exact request it will send. The client calls again with the person's answer and
//!   the state; the server resolves the call again, so a state made for another write (or an
//!   altered one) does not open. Each state holds a nonce that is used once: used nonces are kept
//!   until they expire.
//!
//! A client that declared no elicitation is not asked (its own approval flow applies), and
//! `--no-confirm` turns the question off.

use super::super::kit::ToolError;
use rmcp::model::{
    ElicitRequestParams, ElicitResult, ElicitationAction, InputRequest, InputRequiredResult, InputRequests,
    InputResponses, RequestStateCodec, SealOptions,
};
use rmcp::{Peer, RoleServer};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a question may wait for its answer (a sealed state expires then).
pub const QUESTION_TTL: Duration = Duration::from_secs(600);

/// The key under which the question travels in an input-required result.
const INPUT_KEY: &str = "confirm";

/// The server's confirmation settings: the sealing key (random per process), the nonces already
/// used, and whether questions are off.
pub struct Confirmations {
    codec: Option<RequestStateCodec>,
    used: Mutex<HashMap<String, Instant>>,
    off: bool,
}

impl std::fmt::Debug for Confirmations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmations").field("off", &self.off).finish()
    }
}

impl Confirmations {
    /// Questions on (`off` false) or off (`--no-confirm`), with a fresh random key.
    pub fn new(off: bool) -> Self {
        let codec = random_bytes::<32>().and_then(|key| RequestStateCodec::try_new(key.to_vec()).ok());
        if codec.is_none() {
            tracing::warn!("no randomness for sealing confirmations: stateless clients cannot confirm writes");
        }
        Confirmations { codec, used: Mutex::new(HashMap::new()), off }
    }

    /// Whether questions are off.
    pub fn off(&self) -> bool {
        self.off
    }

    /// Marks `nonce` used; false when it already was (a replay). Expired nonces are dropped.
    fn spend(&self, nonce: &str) -> bool {
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        used.retain(|_, expires| *expires > now);
        if used.contains_key(nonce) {
            return false;
        }
        used.insert(nonce.to_string(), now + QUESTION_TTL);
        true
    }
}

/// `N` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).ok()?;
    Some(bytes)
}

/// A random hex string of 16 bytes (a nonce, a create marker).
pub fn random_hex() -> String {
    random_bytes::<16>().map(|b| b.iter().map(|x| format!("{x:02x}")).collect()).unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("{nanos:032x}")
    })
}

/// One call's side of the conversation: which era, whether the client can be asked, and the
/// answer it brought back (stateless era).
pub struct Asker {
    /// The server's settings.
    pub confirmations: Arc<Confirmations>,
    /// The connection, for `elicitation/create` (session era).
    pub peer: Option<Peer<RoleServer>>,
    /// The request is stateless (2026-07-28 or later).
    pub stateless: bool,
    /// The client declared the elicitation capability.
    pub elicitation: bool,
    /// The `requestState` the client echoed back.
    pub request_state: Option<String>,
    /// The answers the client brought back.
    pub input_responses: Option<InputResponses>,
}

/// What the person said, or that no one was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead. `nonce` is the sealed state's nonce when the question went through one.
    Proceed {
        /// Whether a person confirmed (false: not asked).
        confirmed: bool,
        /// The nonce of the confirmation (stateless era), usable as the write's marker.
        nonce: Option<String>,
    },
}

/// The sentence for a declined question.
pub fn declined(question: &str) -> ToolError {
    ToolError::Refused(format!(
        "the person declined to confirm: {}; nothing was sent to Buildkite",
        question.trim_end_matches('?')
    ))
}

impl Asker {
    /// Asks `question` about the write `binding` names (tool and exact request), unless questions
    /// are off or the client cannot be asked. Declined → [`declined`]; in the stateless era the
    /// first call ends in [`ToolError::InputRequired`].
    pub async fn confirm(&self, question: &str, binding: &str) -> Result<Verdict, ToolError> {
        let skip = Verdict::Proceed { confirmed: false, nonce: None };
        if self.confirmations.off {
            return Ok(skip);
        }
        if self.stateless {
            return self.confirm_stateless(question, binding);
        }
        match (&self.peer, self.elicitation) {
            (Some(peer), true) => {
                let params = form(question)?;
                let answer = peer
                    .create_elicitation(params)
                    .await
                    .map_err(|e| ToolError::Refused(format!("could not ask for confirmation ({e}): nothing was sent to Buildkite")))?;
                if answer.action == ElicitationAction::Accept {
                    Ok(Verdict::Proceed { confirmed: true, nonce: None })
                } else {
                    Err(declined(question))
                }
            }
            _ => Ok(skip),
        }
    }

    fn confirm_stateless(&self, question: &str, binding: &str) -> Result<Verdict, ToolError> {
        if !self.elicitation && self.request_state.is_none() {
            return Ok(Verdict::Proceed { confirmed: false, nonce: None });
        }
        let Some(codec) = &self.confirmations.codec else {
            return Err(ToolError::Refused(
                "this server cannot seal a confirmation (no randomness): nothing was sent to Buildkite".into(),
            ));
        };
        let Some(state) = &self.request_state else {
            let nonce = random_hex();
            let payload = json!({ "nonce": nonce }).to_string();
            let sealed = codec.seal_with(
                payload.as_bytes(),
                &SealOptions::new().associated_data(binding.as_bytes()).ttl(QUESTION_TTL),
            );
            let request: InputRequest = serde_json::from_value(json!({
                "method": "elicitation/create",
                "params": serde_json::to_value(form(question)?).map_err(|e| ToolError::Refused(e.to_string()))?,
            }))
            .map_err(|e| ToolError::Refused(format!("could not ask for confirmation ({e})")))?;
            let mut requests = InputRequests::new();
            requests.insert(INPUT_KEY.to_string(), request);
            return Err(ToolError::InputRequired(Box::new(InputRequiredResult::new(Some(requests), Some(sealed)))));
        };
        let stale = || {
            ToolError::Refused(
                "the confirmation does not match this write (altered, expired, or made for another request): nothing was sent to Buildkite; call again without requestState to be asked anew".into(),
            )
        };
        let opened = codec.open_with(state, binding.as_bytes()).map_err(|_| stale())?;
        let nonce = serde_json::from_slice::<Value>(&opened)
            .ok()
            .and_then(|v| v.get("nonce").and_then(Value::as_str).map(str::to_string))
            .ok_or_else(stale)?;
        if !self.confirmations.spend(&nonce) {
            return Err(ToolError::Refused(
                "this confirmation was already used: nothing was sent to Buildkite; call again without requestState to be asked anew".into(),
            ));
        }
        let answer = self
            .input_responses
            .as_ref()
            .and_then(|r| r.get(INPUT_KEY))
            .and_then(|v| serde_json::from_value::<ElicitResult>(v.clone()).ok());
        match answer {
            Some(a) if a.action == ElicitationAction::Accept => Ok(Verdict::Proceed { confirmed: true, nonce: Some(nonce) }),
            _ => Err(declined(question)),
        }
    }
}

/// The question as a form elicitation with nothing to fill in: accept or decline.
fn form(question: &str) -> Result<ElicitRequestParams, ToolError> {
    serde_json::from_value(json!({
        "mode": "form",
        "message": question,
        "requestedSchema": {"type": "object", "properties": {}},
    }))
    .map_err(|e| ToolError::Refused(format!("could not ask for confirmation ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_is_spent_once() {
        let c = Confirmations::new(false);
        assert!(c.spend("a"));
        assert!(!c.spend("a"));
        assert!(c.spend("b"));
    }

    #[test]
    fn the_question_is_a_form_with_nothing_to_fill_in() {
        let params = serde_json::to_value(form("Cancel acme/web#1?").unwrap()).unwrap();
        assert_eq!(params["message"], "Cancel acme/web#1?");
        assert_eq!(params["requestedSchema"]["type"], "object");
    }
}
