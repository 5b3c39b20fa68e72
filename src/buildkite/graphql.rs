//! `execute::<Q>(vars)`: one POST of one precompiled operation, decoded into its generated type.

use super::Api;
use super::error::{ApiError, looks_not_found};
use graphql_client::{GraphQLQuery, Response};
use serde::de::DeserializeOwned;

impl Api {
    /// Runs one GraphQL operation: exactly one request to Buildkite (retries aside).
    pub async fn execute<Q: GraphQLQuery>(&self, variables: Q::Variables) -> Result<Q::ResponseData, ApiError> {
        let body = Q::build_query(variables);
        let body = serde_json::to_value(&body).map_err(|e| ApiError::Decode { detail: e.to_string() })?;
        // A mutation is never sent twice: a retry after a time-out could act twice.
        let idempotent = !is_mutation(body.get("query").and_then(|q| q.as_str()).unwrap_or(""));
        let operation = body["operationName"].as_str().unwrap_or("").to_string();
        // An answer that cannot have changed, read for this token in this conversation.
        let key = (idempotent && super::memo::memoised(&operation)).then(|| body.to_string());
        if let Some(kept) = key.as_deref().and_then(|k| self.memo().get(k)) {
            tracing::debug!(operation, "graphql answer served from memory (finished, read within 60 s)");
            let raw: serde_json::Value = serde_json::from_slice(&kept)
                .map_err(|e| ApiError::Decode { detail: format!("malformed JSON: {e}") })?;
            return decode::<Q::ResponseData>(raw);
        }
        // In debug logs: the request's complexity as computed here, and Buildkite's own figures.
        let debug = tracing::enabled!(tracing::Level::DEBUG);
        if debug {
            log_requested(&body);
        }
        let sent = self.http.send_graphql(self.graphql_url()?, &body, idempotent, debug).await;
        self.observe_graphql(&sent).await;
        let bytes = sent?;
        let raw: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| ApiError::Decode { detail: format!("malformed JSON: {e}") })?;
        if debug && let Some(stats) = raw.get("stats") {
            tracing::debug!(
                operation = body["operationName"].as_str().unwrap_or("?"),
                requested = %stats["requestedComplexity"],
                actual = %stats["actualComplexity"],
                "graphql complexity reported by Buildkite"
            );
        }
        if let Some(key) = key
            && raw.get("errors").is_none_or(|e| e.as_array().is_some_and(Vec::is_empty))
            && super::memo::keepable(&operation, &raw["data"])
        {
            self.memo().put(key, bytes);
        }
        decode::<Q::ResponseData>(raw)
    }
}

/// Logs (debug) the requested complexity of one request body, by Buildkite's formula on the
/// committed schema.
fn log_requested(body: &serde_json::Value) {
    let operation = body["operationName"].as_str().unwrap_or("?");
    let query = body["query"].as_str().unwrap_or("");
    let variables = body.get("variables").cloned().unwrap_or_default();
    match crate::schema::complexity::committed()
        .map(|schema| crate::schema::complexity::requested(schema, query, &variables))
    {
        Some(Ok(points)) => tracing::debug!(operation, complexity = points, "graphql request"),
        Some(Err(e)) => tracing::debug!(operation, error = %e, "graphql request (complexity unknown)"),
        None => tracing::debug!(operation, "graphql request (complexity unknown: the schema did not load)"),
    }
}

/// Whether an operation's text is a mutation (comments skipped).
pub fn is_mutation(query: &str) -> bool {
    query
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|l| l.starts_with("mutation"))
}

/// Reads a GraphQL response into its generated type. `errors[]` with usable `data` (a nested field
/// failed) still answer, with the errors logged; without usable data they become the error.
pub fn decode<T: DeserializeOwned>(raw: serde_json::Value) -> Result<T, ApiError> {
    let response: Response<serde_json::Value> =
        serde_json::from_value(raw).map_err(|e| ApiError::Decode { detail: format!("not a GraphQL response: {e}") })?;
    if let Some(errors) = response.errors.filter(|e| !e.is_empty()) {
        let messages: Vec<String> = errors.iter().map(|e| crate::render::clean_text(&e.message, 300)).collect();
        let has_data =
            response.data.as_ref().and_then(|d| d.as_object()).is_some_and(|o| o.values().any(|v| !v.is_null()));
        if has_data && let Some(Ok(data)) = response.data.map(serde_json::from_value::<T>) {
            tracing::warn!(errors = %messages.join("; "), "partial GraphQL data");
            return Ok(data);
        }
        if messages.iter().all(|m| looks_not_found(m)) {
            return Err(ApiError::NotFound { what: "the requested object".into(), hint: messages.join("; ") });
        }
        return Err(ApiError::GraphQL { messages });
    }
    let data = response.data.ok_or_else(|| ApiError::Decode { detail: "no data in the response".into() })?;
    serde_json::from_value(data).map_err(|e| ApiError::Decode { detail: format!("unexpected shape: {e}") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Data {
        x: i64,
    }

    #[test]
    fn decode_reads_data_and_maps_errors() {
        let ok: Data = decode(serde_json::json!({"data": {"x": 1}})).unwrap();
        assert_eq!(ok.x, 1);
        let e = decode::<Data>(serde_json::json!({"data": null, "errors": [{"message": "Query has complexity of 251503, which exceeds max complexity of 50000"}]})).unwrap_err();
        assert!(e.to_string().contains("exceeds max complexity"), "{e}");
        let e = decode::<Data>(serde_json::json!({"data": null, "errors": [{"message": "No Pipeline found"}]}))
            .unwrap_err();
        assert!(matches!(e, ApiError::NotFound { .. }));
        let e = decode::<Data>(serde_json::json!({"data": {"y": 1}})).unwrap_err();
        assert!(matches!(e, ApiError::Decode { .. }));
        let e = decode::<Data>(serde_json::json!([1, 2])).unwrap_err();
        assert!(matches!(e, ApiError::Decode { .. }));
        // A nested failure with usable data still answers.
        let partial: Data =
            decode(serde_json::json!({"data": {"x": 2}, "errors": [{"message": "field y failed"}]})).unwrap();
        assert_eq!(partial.x, 2);
    }

    #[test]
    fn mutations_are_recognised_past_comments() {
        assert!(is_mutation("# retry a job\nmutation RetryJob($id: ID!) { x }"));
        assert!(!is_mutation("# get\nquery GetBuild { x }"));
    }
}
