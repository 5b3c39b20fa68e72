//! `schema refresh`: full schema (SDL or introspection JSON from a file, or live introspection) →
//! pruned to what `graphql/**/*.graphql` reach → descriptions dropped → deterministic SDL, with a
//! short report of what changed.

pub mod complexity;
pub mod files;
pub mod introspection;
pub mod prune;

use apollo_compiler::{ExecutableDocument, Schema};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Where the full schema comes from.
#[derive(Clone)]
pub enum Source {
    /// An SDL file, or an introspection result in JSON.
    File(PathBuf),
    /// A GraphQL endpoint to introspect with a bearer token.
    Endpoint {
        /// The endpoint URL.
        url: String,
        /// The API token (never printed).
        token: String,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => f.debug_tuple("File").field(path).finish(),
            Source::Endpoint { url, .. } => {
                f.debug_struct("Endpoint").field("url", url).field("token", &"<redacted>").finish()
            }
        }
    }
}

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The full schema is not valid GraphQL.
    #[error("the full schema from {origin} is not valid: {detail}")]
    InvalidSchema {
        /// Where it came from.
        origin: String,
        /// The validator's message.
        detail: String,
    },
    /// An operation does not validate against the full schema.
    #[error("{file} does not validate against the full schema:\n{detail}")]
    InvalidOperation {
        /// The operation file.
        file: String,
        /// The validator's message.
        detail: String,
    },
    /// Introspection over HTTP failed.
    #[error("introspection of {url} failed: {detail}")]
    Introspection {
        /// The endpoint.
        url: String,
        /// What went wrong (never contains the token).
        detail: String,
    },
    /// The pruned schema no longer validates the operations (a bug in pruning).
    #[error("the pruned schema does not validate {file}: {detail}")]
    PruneBroken {
        /// The operation file.
        file: String,
        /// The validator's message.
        detail: String,
    },
}

/// The outcome of a refresh.
#[derive(Debug)]
pub struct Refresh {
    /// The new pruned SDL.
    pub sdl: String,
    /// Whether it differs from what was at the output path.
    pub changed: bool,
    /// A short human report.
    pub report: String,
}

/// Every operation file under `graphql_dir/queries` and `graphql_dir/mutations`, sorted.
pub fn operation_files(graphql_dir: &Path) -> Result<Vec<PathBuf>, SchemaError> {
    files::operation_files(graphql_dir)
        .map_err(|source| SchemaError::Io { path: graphql_dir.display().to_string(), source })
}

fn read(path: &Path) -> Result<String, SchemaError> {
    std::fs::read_to_string(path).map_err(|source| SchemaError::Io { path: path.display().to_string(), source })
}

/// Loads the full schema as SDL text.
pub async fn load_full(source: &Source) -> Result<(String, String), SchemaError> {
    match source {
        Source::File(path) => {
            let text = read(path)?;
            let origin = path.display().to_string();
            if text.trim_start().starts_with('{') {
                let sdl = introspection::to_sdl(&text)
                    .map_err(|detail| SchemaError::InvalidSchema { origin: origin.clone(), detail })?;
                Ok((sdl, origin))
            } else {
                Ok((text, origin))
            }
        }
        Source::Endpoint { url, token } => {
            let sdl = introspect(url, token).await?;
            Ok((sdl, url.clone()))
        }
    }
}

async fn introspect(url: &str, token: &str) -> Result<String, SchemaError> {
    let fail = |detail: String| SchemaError::Introspection { url: url.to_string(), detail };
    let client = reqwest::Client::builder()
        .user_agent(crate::USER_AGENT)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .map_err(|e| fail(e.to_string()))?;
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(&serde_json::json!({"query": introspection::QUERY, "operationName": "IntrospectionQuery"}))
        .send()
        .await
        .map_err(|e| fail(e.without_url().to_string()))?;
    let status = response.status();
    let body = response.text().await.map_err(|e| fail(e.without_url().to_string()))?;
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}: {}", body.chars().take(200).collect::<String>())));
    }
    introspection::to_sdl(&body).map_err(fail)
}

/// Prunes `full_sdl` to what the operations under `graphql_dir` reach.
pub fn prune(full_sdl: &str, origin: &str, graphql_dir: &Path) -> Result<(String, Vec<String>), SchemaError> {
    let schema = Schema::parse_and_validate(full_sdl, origin)
        .map_err(|e| SchemaError::InvalidSchema { origin: origin.to_string(), detail: e.errors.to_string() })?;
    let files = operation_files(graphql_dir)?;
    let mut docs = Vec::new();
    let mut texts = Vec::new();
    for file in &files {
        let text = read(file)?;
        let doc = ExecutableDocument::parse_and_validate(&schema, text.clone(), file).map_err(|e| {
            SchemaError::InvalidOperation { file: file.display().to_string(), detail: e.errors.to_string() }
        })?;
        docs.push(doc.into_inner());
        texts.push((file.clone(), text));
    }
    let sdl = prune::prune_and_print(&schema, &docs);
    let deprecated = prune::deprecated_in_use(&schema, &docs);
    // The pruned schema must still validate every operation.
    let pruned = Schema::parse_and_validate(sdl.as_str(), "pruned schema").map_err(|e| SchemaError::PruneBroken {
        file: "graphql/schema.graphql".to_string(),
        detail: e.errors.to_string(),
    })?;
    for (file, text) in texts {
        ExecutableDocument::parse_and_validate(&pruned, text, &file)
            .map_err(|e| SchemaError::PruneBroken { file: file.display().to_string(), detail: e.errors.to_string() })?;
    }
    Ok((sdl, deprecated))
}

/// Runs the whole refresh; writes `out` unless `check` is set.
pub async fn refresh(source: &Source, graphql_dir: &Path, out: &Path, check: bool) -> Result<Refresh, SchemaError> {
    let (full, origin) = load_full(source).await?;
    let (sdl, deprecated) = prune(&full, &origin, graphql_dir)?;
    let old = std::fs::read_to_string(out).unwrap_or_default();
    let changed = old != sdl;
    let report = report(&old, &sdl, &deprecated, out);
    if changed && !check {
        std::fs::write(out, &sdl).map_err(|source| SchemaError::Io { path: out.display().to_string(), source })?;
    }
    Ok(Refresh { sdl, changed, report })
}

/// `Type` and `Type.field` coordinates in an SDL text (parsed leniently).
fn coordinates(sdl: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut types = BTreeSet::new();
    let mut fields = BTreeSet::new();
    if sdl.is_empty() {
        return (types, fields);
    }
    let schema = match Schema::parse(sdl, "schema.graphql") {
        Ok(s) => s,
        Err(with_errors) => with_errors.partial,
    };
    for (name, ty) in &schema.types {
        if ty.is_built_in() {
            continue;
        }
        types.insert(name.to_string());
        use apollo_compiler::schema::ExtendedType as T;
        let names: Vec<String> = match ty {
            T::Object(o) => o.fields.keys().map(|f| f.to_string()).collect(),
            T::Interface(i) => i.fields.keys().map(|f| f.to_string()).collect(),
            T::InputObject(i) => i.fields.keys().map(|f| f.to_string()).collect(),
            T::Enum(e) => e.values.keys().map(|f| f.to_string()).collect(),
            _ => Vec::new(),
        };
        for f in names {
            fields.insert(format!("{name}.{f}"));
        }
    }
    (types, fields)
}

fn report(old: &str, new: &str, deprecated: &[String], out: &Path) -> String {
    let (old_types, old_fields) = coordinates(old);
    let (new_types, new_fields) = coordinates(new);
    let mut lines = vec![format!(
        "{}: {} bytes, {} types, {} fields and values",
        out.display(),
        new.len(),
        new_types.len(),
        new_fields.len()
    )];
    let diff = |label: &str, a: &BTreeSet<String>, b: &BTreeSet<String>, lines: &mut Vec<String>| {
        let items: Vec<&String> = a.difference(b).collect();
        if !items.is_empty() {
            let shown: Vec<&str> = items.iter().take(20).map(|s| s.as_str()).collect();
            let more = if items.len() > 20 { format!(" (+{} more)", items.len() - 20) } else { String::new() };
            lines.push(format!("  {label} {}: {}{more}", items.len(), shown.join(", ")));
        }
    };
    diff("types added", &new_types, &old_types, &mut lines);
    diff("types removed", &old_types, &new_types, &mut lines);
    diff("fields added", &new_fields, &old_fields, &mut lines);
    diff("fields removed", &old_fields, &new_fields, &mut lines);
    if old == new {
        lines.push("  unchanged".to_string());
    }
    if deprecated.is_empty() {
        lines.push("  deprecated fields in use: none".to_string());
    } else {
        lines.push(format!("  deprecated fields in use: {}", deprecated.join(", ")));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
"""A build"""
type Build implements Node { id: ID! number: Int! state: BuildStates! unused: String jobs(first: Int, state: [JobStates!], order: JobOrder = RECENTLY_CREATED): JobConnection old: String @deprecated(reason: "no") }
interface Node { id: ID! }
enum BuildStates { PASSED FAILED }
enum JobStates { RUNNING FINISHED }
enum JobOrder { RECENTLY_CREATED RECENTLY_ASSIGNED }
type JobConnection { count: Int! edges: [JobEdge] }
type JobEdge { node: Job }
union Job = JobTypeCommand | JobTypeWait
type JobTypeCommand implements Node { id: ID! label: String }
type JobTypeWait implements Node { id: ID! }
type Unused { x: Int }
type Query { build(slug: ID, uuid: ID): Build node(id: ID!): Node }
"#;

    fn dir_with(ops: &[(&str, &str)]) -> tempdir::Dir {
        let dir = tempdir::Dir::new();
        std::fs::create_dir_all(dir.path().join("queries")).unwrap();
        for (name, text) in ops {
            std::fs::write(dir.path().join("queries").join(name), text).unwrap();
        }
        dir
    }

    mod tempdir {
        pub struct Dir(std::path::PathBuf);
        impl Dir {
            pub fn new() -> Self {
                static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
                let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let p = std::env::temp_dir().join(format!("bkmcp-schema-{}-{n}", std::process::id()));
                let _ = std::fs::remove_dir_all(&p);
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
            pub fn path(&self) -> &std::path::Path {
                &self.0
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    #[test]
    fn prune_keeps_only_reached_fields_args_and_members_without_descriptions() {
        let dir = dir_with(&[(
            "GetBuild.graphql",
            "query GetBuild($slug: ID) { build(slug: $slug) { number state jobs(first: 5) { count edges { node { __typename ... on JobTypeCommand { label } } } } } }",
        )]);
        let (sdl, deprecated) = prune(FULL, "full", dir.path()).unwrap();
        assert!(!sdl.contains("A build"), "descriptions dropped:\n{sdl}");
        assert!(!sdl.contains("unused") && !sdl.contains("Unused"), "{sdl}");
        assert!(sdl.contains("build(slug: ID): Build"), "only used args kept:\n{sdl}");
        assert!(sdl.contains("jobs(first: Int): JobConnection"), "{sdl}");
        assert!(sdl.contains("union Job = JobTypeCommand\n"), "members reached only:\n{sdl}");
        assert!(!sdl.contains("JobTypeWait"), "{sdl}");
        assert!(!sdl.contains("implements Node"), "unreached interface dropped:\n{sdl}");
        assert!(deprecated.is_empty());
    }

    #[test]
    fn prune_is_deterministic_and_reports_deprecated_fields_in_use() {
        let dir =
            dir_with(&[("Old.graphql", "query Old { build(slug: \"a/b/1\") { old id } node(id: \"x\") { id } }")]);
        let (a, deprecated) = prune(FULL, "full", dir.path()).unwrap();
        let (b, _) = prune(FULL, "full", dir.path()).unwrap();
        assert_eq!(a, b);
        assert_eq!(deprecated, vec!["Build.old".to_string()]);
        assert!(a.contains("type Build implements Node"), "{a}");
        assert!(a.contains("old: String @deprecated(reason: \"no\")"), "{a}");
    }

    #[test]
    fn an_operation_invalid_against_the_full_schema_names_its_file() {
        let dir = dir_with(&[("Bad.graphql", "query Bad { build(slug: \"x\") { nope } }")]);
        let err = prune(FULL, "full", dir.path()).unwrap_err().to_string();
        assert!(err.contains("Bad.graphql"), "{err}");
    }

    #[test]
    fn the_validator_rejects_conflicting_types_under_one_response_key() {
        // graphql_client's codegen accepts this; the server would reject every call.
        let full = "type Query { who: Creator } union Creator = User | Bot type User { name: String! } type Bot { name: String }";
        let dir =
            dir_with(&[("Who.graphql", "query Who { who { __typename ... on User { name } ... on Bot { name } } }")]);
        let err = prune(full, "full", dir.path()).unwrap_err().to_string();
        assert!(err.contains("Who.graphql") && err.contains("same name"), "{err}");
    }

    #[test]
    fn an_interface_fragment_inside_a_union_keeps_the_members_that_implement_it() {
        let full = "type Query { job: Job } union Job = Block | Command | Wait \
                    interface JobInterface { uuid: String! } \
                    type Block implements JobInterface { uuid: String! label: String } \
                    type Command implements JobInterface { uuid: String! command: String } \
                    type Wait { id: ID! }";
        let dir = dir_with(&[("J.graphql", "query J { job { __typename ... on JobInterface { uuid } } }")]);
        let (sdl, _) = prune(full, "full", dir.path()).unwrap();
        assert!(sdl.contains("union Job = Block | Command\n"), "{sdl}");
        assert!(sdl.contains("type Block implements JobInterface {\n  uuid: String!\n}"), "{sdl}");
        assert!(!sdl.contains("Wait"), "{sdl}");
    }

    #[test]
    fn non_default_root_names_get_a_schema_block() {
        let full = "schema { query: Root } type Root { build: Int }";
        let dir = dir_with(&[("B.graphql", "query B { build }")]);
        let (sdl, _) = prune(full, "full", dir.path()).unwrap();
        assert!(sdl.contains("schema {\n  query: Root\n}"), "{sdl}");
    }
}
