//! Argument parsing shared by the tools: strict field names, lenient scalars (models often send
//! `"20"` for 20 or `"true"` for true), and the budget argument.

use super::ToolError;
use serde::Deserialize;
use serde::de::Deserializer;
use serde_json::Value;

/// An optional integer given as a number or a numeric string.
pub fn lenient_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("expected a whole number, got {n}"))),
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected a whole number, got \"{s}\""))),
        Some(other) => Err(serde::de::Error::custom(format!("expected a whole number, got {other}"))),
    }
}

/// An optional boolean given as a boolean or `"true"` / `"false"`.
pub fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(other) => Err(serde::de::Error::custom(format!("expected true or false, got {other}"))),
    }
}

/// An optional string also given as a number (`3` for `"3"`).
pub fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!("expected a string or a number, got {other}"))),
    }
}

/// A list given as a JSON array of strings or one comma-separated string.
pub fn lenient_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    let items: Vec<String> = match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
        Some(Value::Array(a)) => a
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.trim().to_string()),
                other => Err(serde::de::Error::custom(format!("expected strings, got {other}"))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => Err(serde::de::Error::custom(format!("expected a string or a list of strings, got {other}")))?,
    };
    let items: Vec<String> = items.into_iter().filter(|s| !s.is_empty()).collect();
    Ok((!items.is_empty()).then_some(items))
}

/// The page a REST list continues at: `after` is the page number a previous answer gave as
/// `next.after` (REST lists page by number, GraphQL ones by cursor).
pub fn page_number(after: Option<&str>) -> Result<i64, ToolError> {
    match super::context::non_blank(after) {
        None => Ok(1),
        Some(a) => a.parse::<i64>().ok().filter(|n| (1..=10_000).contains(n)).ok_or_else(|| {
            ToolError::args(format!(
                "after `{}` is not a page number: pass the next.after of the previous answer",
                crate::render::clean_text(a, 100)
            ))
        }),
    }
}

/// Build states accepted by `state` filters, lower-case.
pub const BUILD_STATES: &[&str] = &[
    "blocked",
    "canceled",
    "canceling",
    "creating",
    "failed",
    "failing",
    "not_run",
    "passed",
    "running",
    "scheduled",
    "skipped",
];

/// An ISO date (`2026-11-20`) or time, as the API's DateTime; `name` is the argument, for the error.
pub fn date_time(name: &str, value: Option<String>) -> Result<Option<String>, ToolError> {
    let Some(v) = value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let full = match v.len() {
        10 => format!("{v}T00:00:00Z"),
        19 => format!("{}Z", v.replacen(' ', "T", 1)),
        _ => v.replacen(' ', "T", 1),
    };
    if crate::render::epoch_seconds(&full).is_none() {
        return Err(ToolError::args(format!(
            "{name} `{}` is not an ISO date or time (e.g. 2026-11-20 or 2026-11-20T10:00:00Z)",
            crate::render::clean_text(&v, 100)
        )));
    }
    Ok(Some(full))
}

/// `value` clamped to `min..=max`, or `default` when absent.
pub fn clamp(value: Option<i64>, default: i64, min: i64, max: i64) -> i64 {
    value.unwrap_or(default).clamp(min, max)
}

/// The output budget in tokens: `max_tokens` clamped to 200..=50,000, or the tool's default.
pub fn budget(max_tokens: Option<i64>, default: usize) -> usize {
    max_tokens.map(|t| t.clamp(200, 50_000) as usize).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct A {
        #[serde(default, deserialize_with = "lenient_int")]
        first: Option<i64>,
        #[serde(default, deserialize_with = "lenient_bool")]
        flag: Option<bool>,
        #[serde(default, deserialize_with = "lenient_list")]
        tags: Option<Vec<String>>,
    }

    fn p(v: Value) -> Result<A, String> {
        super::super::kit::parse(v.as_object().cloned().unwrap())
            .map_err(|e: ToolError| format!("invalid arguments for t: {e}"))
    }

    #[test]
    fn scalars_are_lenient_and_unknown_fields_rejected() {
        let a = p(json!({"first": "20", "flag": "TRUE", "tags": "a, b,,"})).unwrap();
        assert_eq!((a.first, a.flag, a.tags), (Some(20), Some(true), Some(vec!["a".into(), "b".into()])));
        let a = p(json!({"first": 5.0, "tags": ["x"]})).unwrap();
        assert_eq!(a.first, Some(5));
        let e = p(json!({"first": "lots"})).unwrap_err();
        assert!(e.contains("invalid arguments for t") && e.contains("whole number"), "{e}");
        let e = p(json!({"frist": 1})).unwrap_err();
        assert!(e.contains("unknown field `frist`"), "{e}");
    }

    #[test]
    fn clamp_and_budget_bound_values() {
        assert_eq!(clamp(Some(500), 25, 1, 100), 100);
        assert_eq!(clamp(None, 25, 1, 100), 25);
        assert_eq!(budget(Some(10), 3000), 200);
        assert_eq!(budget(None, 3000), 3000);
    }
}
