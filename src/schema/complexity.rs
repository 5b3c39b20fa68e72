//! The requested complexity of an operation, by Buildkite's documented formula: scalar and enum
//! fields cost 0, object, interface and union fields 1 each, and what a connection's `edges` or
//! `nodes` hold is multiplied by the connection's `first` (or `last`). Both branches of
//! `@skip`/`@include` are counted (the server cannot know which one a request takes before it
//! reads the variables, and neither should a budget), and fragments are expanded where they are
//! spread. Buildkite may set custom costs on some fields; those are not known here, so the figure is
//! an estimate of the requested complexity, which is what the per-query limit checks.

use apollo_compiler::executable::{Operation, Selection, SelectionSet};
use apollo_compiler::schema::ExtendedType;
use apollo_compiler::validation::Valid;
use apollo_compiler::{ExecutableDocument, Schema, ast};
use serde_json::Value;

/// Why a complexity could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ComplexityError {
    /// The schema does not validate.
    #[error("the schema is not valid: {0}")]
    Schema(String),
    /// The operation does not validate against the schema.
    #[error("the operation does not validate: {0}")]
    Operation(String),
}

/// The committed, pruned schema this build's operations were generated from.
pub fn committed_schema() -> Result<Valid<Schema>, ComplexityError> {
    let sdl = include_str!("../../graphql/schema.graphql");
    Schema::parse_and_validate(sdl, "graphql/schema.graphql").map_err(|e| ComplexityError::Schema(e.errors.to_string()))
}

/// The committed schema, parsed once per process (for debug logs); `None` when it does not load.
pub fn committed() -> Option<&'static Valid<Schema>> {
    static SCHEMA: std::sync::OnceLock<Option<Valid<Schema>>> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| committed_schema().ok()).as_ref()
}

/// The requested complexity of the operation in `query` with `variables` (a JSON object; a
/// variable left out takes its default from the operation).
pub fn requested(schema: &Valid<Schema>, query: &str, variables: &Value) -> Result<u64, ComplexityError> {
    let doc = ExecutableDocument::parse_and_validate(schema, query, "operation.graphql")
        .map_err(|e| ComplexityError::Operation(e.errors.to_string()))?;
    let operation = doc
        .operations
        .iter()
        .next()
        .ok_or_else(|| ComplexityError::Operation("the document holds no operation".into()))?;
    let walker = Walker { schema, doc: &doc, operation, variables };
    Ok(walker.selection_set(&operation.selection_set, 1, None, 0))
}

/// Walks one operation's selections with its variables.
struct Walker<'a> {
    schema: &'a Valid<Schema>,
    doc: &'a Valid<ExecutableDocument>,
    operation: &'a Operation,
    variables: &'a Value,
}

/// Selection sets deeper than this are not followed (a fragment cycle cannot validate, but be safe).
const MAX_DEPTH: usize = 64;

impl Walker<'_> {
    /// The cost of `set` when its objects are fetched `times` times each; `page` is the page size
    /// when `set` is a connection's selection (its `edges` and `nodes` then come `page` times over).
    fn selection_set(&self, set: &SelectionSet, times: u64, page: Option<u64>, depth: usize) -> u64 {
        if depth > MAX_DEPTH {
            return 0;
        }
        let mut cost = 0u64;
        for selection in &set.selections {
            let part = match selection {
                Selection::Field(field) => {
                    let named = field.definition.ty.inner_named_type();
                    let is_object = matches!(
                        self.schema.types.get(named),
                        Some(ExtendedType::Object(_) | ExtendedType::Interface(_) | ExtendedType::Union(_))
                    );
                    if is_object {
                        let fetched = match page {
                            Some(n) if matches!(field.name.as_str(), "edges" | "nodes") => times.saturating_mul(n),
                            _ => times,
                        };
                        let inner_page =
                            named.as_str().ends_with("Connection").then(|| self.page_size(&field.arguments));
                        fetched.saturating_add(self.selection_set(&field.selection_set, fetched, inner_page, depth + 1))
                    } else {
                        0
                    }
                }
                Selection::FragmentSpread(spread) => match self.doc.fragments.get(&spread.fragment_name) {
                    Some(fragment) => self.selection_set(&fragment.selection_set, times, page, depth + 1),
                    None => 0,
                },
                Selection::InlineFragment(inline) => self.selection_set(&inline.selection_set, times, page, depth + 1),
            };
            cost = cost.saturating_add(part);
        }
        cost
    }

    /// A connection's page size: its `first` (or `last`) argument, a literal or a variable (the
    /// request's value, else the variable's default); 1 when none is given.
    fn page_size(&self, arguments: &[apollo_compiler::Node<ast::Argument>]) -> u64 {
        let value = arguments.iter().find(|a| matches!(a.name.as_str(), "first" | "last")).map(|a| a.value.as_ref());
        let number = match value {
            Some(ast::Value::Int(n)) => n.try_to_i32().ok().map(i64::from),
            Some(ast::Value::Variable(name)) => {
                self.variables.get(name.as_str()).and_then(Value::as_i64).or_else(|| {
                    self.operation
                        .variables
                        .iter()
                        .find(|v| v.name == *name)
                        .and_then(|v| v.default_value.as_ref())
                        .and_then(|d| match d.as_ref() {
                            ast::Value::Int(n) => n.try_to_i32().ok().map(i64::from),
                            _ => None,
                        })
                })
            }
            _ => None,
        };
        number.filter(|n| *n > 0).map(|n| n as u64).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn connections_multiply_what_their_edges_hold() {
        let schema = committed_schema().unwrap();
        // organization 1 + pipelines 1 + edges 25 + node 25 (scalars free).
        let q = "query Q($org: ID!, $first: Int!) { organization(slug: $org) { pipelines(first: $first) { count edges { node { slug } } } } }";
        assert_eq!(requested(&schema, q, &json!({"org": "acme", "first": 25})).unwrap(), 52);
        assert_eq!(requested(&schema, q, &json!({"org": "acme", "first": 100})).unwrap(), 202);
        // Nested: each of 10 pipelines' builds(first: 5): 10 × (1 + 5 + 5).
        let nested = "query Q { organization(slug: \"acme\") { pipelines(first: 10) { edges { node { builds(first: 5) { edges { node { number } } } } } } } }";
        assert_eq!(requested(&schema, nested, &json!({})).unwrap(), 1 + 1 + 10 + 10 + 10 * (1 + 5 + 5));
    }

    #[test]
    fn both_branches_of_skip_and_include_count() {
        let schema = committed_schema().unwrap();
        let q = "query Q($with: Boolean!) { organization(slug: \"acme\") @include(if: $with) { slug } viewer { user { name } } }";
        assert_eq!(requested(&schema, q, &json!({"with": false})).unwrap(), 3);
    }
}
