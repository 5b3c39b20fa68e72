//! Input schemas for tool definitions, generated from the argument structs and then trimmed: every
//! schema is paid in tokens on every conversation, so `$schema`, titles, formats, nullable unions
//! and `null` defaults are dropped.

use rmcp::model::JsonObject;
use schemars::JsonSchema;
use serde_json::Value;
use std::sync::Arc;

/// The trimmed JSON Schema of `T`.
pub fn input_schema<T: JsonSchema>() -> Arc<JsonObject> {
    let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
    });
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    trim(&mut value, true);
    match value {
        Value::Object(mut map) => {
            map.entry("type").or_insert_with(|| Value::String("object".into()));
            map.entry("properties").or_insert_with(|| Value::Object(Default::default()));
            Arc::new(map)
        }
        _ => Arc::new(JsonObject::new()),
    }
}

fn trim(value: &mut Value, root: bool) {
    match value {
        Value::Object(map) => {
            for key in ["$schema", "title", "format", "$defs", "definitions"] {
                map.remove(key);
            }
            // Unknown arguments are rejected by the server with a clear message; saying so in every
            // schema costs tokens on every conversation.
            map.remove("additionalProperties");
            if root {
                map.remove("description");
            }
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            // ["integer","null"] → "integer"
            if let Some(Value::Array(types)) = map.get("type") {
                let non_null: Vec<Value> = types.iter().filter(|t| t.as_str() != Some("null")).cloned().collect();
                if non_null.len() == 1 {
                    map.insert("type".into(), non_null[0].clone());
                }
            }
            // anyOf [X, {type: null}] → X
            if let Some(Value::Array(any)) = map.get("anyOf") {
                let non_null: Vec<Value> =
                    any.iter().filter(|s| s.get("type").and_then(Value::as_str) != Some("null")).cloned().collect();
                if non_null.len() == 1 {
                    map.remove("anyOf");
                    if let Value::Object(inner) = &non_null[0] {
                        for (k, v) in inner {
                            map.entry(k.clone()).or_insert_with(|| v.clone());
                        }
                    }
                }
            }
            if map.get("required").and_then(Value::as_array).is_some_and(|r| r.is_empty()) {
                map.remove("required");
            }
            for v in map.values_mut() {
                trim(v, false);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| trim(v, false)),
        _ => {}
    }
}
