//! Rust types for Buildkite's custom GraphQL scalars, used by the generated operation modules.

/// "An ISO-8601 encoded UTC date string".
pub type DateTime = String;
/// "A blob of JSON represented as a pretty formatted string" — a string, not an object.
pub type JSON = String;
/// "A blob of YAML".
pub type YAML = String;
/// An integer between -(2^53)+1 and 2^53-1.
pub type JSInt = i64;
/// "A blob of XML".
pub type XML = String;
