//! Pipeline steps YAML, validated before it is sent (and on its own by `validate_pipeline`):
//! parsed with positions ([`yaml`]: anchors, merge keys, duplicate keys), checked against
//! Buildkite's pipeline schema (the embedded copy in `pipeline-schema/`, draft-07, MIT licensed:
//! its `LICENSE` is kept beside it) with a small validator ([`schema`]), then checked for what
//! the schema cannot say: `depends_on` naming no step, step keys used twice, an `if` that does
//! not parse ([`expr`]).

pub mod expr;
pub mod schema;
pub mod yaml;

use schema::{Schema, Seg, render};
use std::sync::LazyLock;
use yaml::{Node, Pos, Value};

/// Buildkite's pipeline schema, as embedded.
const SCHEMA_TEXT: &str = include_str!("pipeline-schema/schema.json");

/// The compiled schema (or why the embedded copy did not load).
static SCHEMA: LazyLock<Result<Schema, String>> = LazyLock::new(|| {
    let root =
        serde_json::from_str(SCHEMA_TEXT).map_err(|e| format!("the embedded pipeline schema is not JSON: {e}"))?;
    Schema::new(root)
});

/// Most problems kept in a report.
const MAX_PROBLEMS: usize = 50;

/// What kind of problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Buildkite's schema rejects it.
    Schema,
    /// A check beyond the schema that blocks a send: a duplicate mapping key, an `if` that does
    /// not parse.
    Check,
    /// A warning that never blocks: a `depends_on` naming no step of this YAML, a step key used
    /// twice. Either can be right in a build whose other uploads define those steps (and the
    /// schema's own examples do both).
    Warning,
}

/// One problem: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `steps[2].depends_on`.
    pub path: String,
    /// Where in the text.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
    /// Schema or check.
    pub kind: Kind,
}

/// The result of validating a pipeline's YAML.
#[derive(Debug, Clone)]
pub struct Report {
    /// The YAML does not parse: nothing else was checked.
    pub syntax: Option<yaml::SyntaxError>,
    /// Problems found (at most [`MAX_PROBLEMS`]).
    pub problems: Vec<Problem>,
    /// Problems beyond those kept.
    pub more: usize,
    /// Steps, groups' steps included.
    pub steps: usize,
    /// Documents after the first, ignored.
    pub extra_documents: usize,
}

impl Report {
    /// It parses and nothing but warnings were found.
    pub fn valid(&self) -> bool {
        self.syntax.is_none() && self.problems.iter().all(|p| p.kind == Kind::Warning)
    }

    /// Schema violations found.
    pub fn schema_errors(&self) -> usize {
        self.problems.iter().filter(|p| p.kind == Kind::Schema).count()
    }
}

/// Most problems shown in an answer.
const SHOWN: usize = 20;

impl Report {
    /// The report as an answer shows it: `valid`, the step count, then the syntax error, or the
    /// errors and warnings (each `at` path, `line`, `error`), at most 20 of each.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        use serde_json::json;
        let mut out = serde_json::Map::new();
        out.insert("valid".into(), json!(self.valid()));
        if let Some(e) = &self.syntax {
            out.insert(
                "syntax_error".into(),
                json!(format!("line {}, column {}: {}", e.pos.line, e.pos.col, e.message)),
            );
            return out;
        }
        out.insert("steps".into(), json!(self.steps));
        let row = |p: &Problem| json!({"at": p.path, "line": p.pos.line, "error": p.message});
        let errors: Vec<&Problem> = self.problems.iter().filter(|p| p.kind != Kind::Warning).collect();
        let warnings: Vec<&Problem> = self.problems.iter().filter(|p| p.kind == Kind::Warning).collect();
        if !errors.is_empty() {
            out.insert("errors".into(), errors.iter().take(SHOWN).map(|p| row(p)).collect());
        }
        if !warnings.is_empty() {
            out.insert("warnings".into(), warnings.iter().take(SHOWN).map(|p| row(p)).collect());
        }
        let hidden = errors.len().saturating_sub(SHOWN) + warnings.len().saturating_sub(SHOWN) + self.more;
        if hidden > 0 {
            out.insert("more".into(), json!(hidden));
        }
        if self.extra_documents > 0 {
            out.insert("ignored".into(), json!(format!("{} documents after the first", self.extra_documents)));
        }
        out
    }
}

/// Validates pipeline YAML `text`.
pub fn validate(text: &str) -> Report {
    let doc = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => return Report { syntax: Some(e), problems: Vec::new(), more: 0, steps: 0, extra_documents: 0 },
    };
    // A bare list of steps is accepted by `pipeline upload`: it is checked as `steps:`.
    let root = match &doc.root.value {
        Value::Seq(_) => {
            Node { value: Value::Map(vec![("steps".into(), doc.root.pos, doc.root.clone())]), pos: doc.root.pos }
        }
        _ => doc.root.clone(),
    };
    let mut problems: Vec<Problem> = Vec::new();
    match &*SCHEMA {
        Ok(s) => problems.extend(s.validate(&root, MAX_PROBLEMS * 4).into_iter().map(|v| {
            // A mapping that fits no step form is a step of no known type: say which keys make one.
            let step = v.path.ends_with(']') && v.path.rsplit_once('[').is_some_and(|(head, _)| head.ends_with("steps"));
            let message = if step && v.message.starts_with("matches none of the allowed forms") {
                "is not a known step type: a step needs one of command, commands, script, wait, block, input, trigger or group".to_string()
            } else {
                v.message
            };
            Problem { path: v.path, pos: v.pos, message, kind: Kind::Schema }
        })),
        Err(e) => problems.push(Problem { path: render(&[]), pos: root.pos, message: e.clone(), kind: Kind::Schema }),
    }
    for d in &doc.duplicates {
        problems.push(Problem {
            path: d.key.clone(),
            pos: d.pos,
            message: format!("duplicate key `{}` (first on line {}; the last one wins)", d.key, d.first_line),
            kind: Kind::Check,
        });
    }
    let mut walk = Walk::default();
    if let Some(steps) = root.get("steps") {
        walk.steps(steps, &mut vec![Seg::Key("steps".into())]);
    }
    for (path, node, key) in &walk.depends {
        if !walk.keys.iter().any(|(k, _)| k == key) {
            problems.push(Problem {
                path: path.clone(),
                pos: node.pos,
                message: format!(
                    "depends on `{}`, which no step here has as its key",
                    crate::render::clean_text(key, 60)
                ),
                kind: Kind::Warning,
            });
        }
    }
    for (i, (key, (path, pos))) in walk.keys.iter().enumerate() {
        if let Some((_, (_, first))) = walk.keys[..i].iter().find(|(k, _)| k == key) {
            problems.push(Problem {
                path: path.clone(),
                pos: *pos,
                message: format!(
                    "step key `{}` is already used on line {}",
                    crate::render::clean_text(key, 60),
                    first.line
                ),
                kind: Kind::Warning,
            });
        }
    }
    for (path, node) in &walk.conditions {
        if let Some(text) = node.as_str()
            && let Err(e) = expr::check(text)
        {
            problems.push(Problem {
                path: path.clone(),
                pos: node.pos,
                message: format!("the condition does not parse: {} (column {} of the expression)", e.message, e.col),
                kind: Kind::Check,
            });
        }
    }
    problems.sort_by_key(|p| (p.pos.line, p.pos.col));
    let more = problems.len().saturating_sub(MAX_PROBLEMS);
    problems.truncate(MAX_PROBLEMS);
    Report { syntax: None, problems, more, steps: walk.count, extra_documents: doc.extra_documents }
}

/// What a walk over the steps collects.
#[derive(Default)]
struct Walk<'a> {
    count: usize,
    keys: Vec<(String, (String, Pos))>,
    depends: Vec<(String, &'a Node, String)>,
    conditions: Vec<(String, &'a Node)>,
}

/// Keys under which a step type's body may nest (`command: {…}`).
const NESTED: &[&str] = &["command", "commands", "script", "wait", "block", "input", "trigger"];

impl<'a> Walk<'a> {
    fn steps(&mut self, steps: &'a Node, path: &mut Vec<Seg>) {
        let Value::Seq(items) = &steps.value else { return };
        for (i, step) in items.iter().enumerate() {
            path.push(Seg::Index(i));
            self.count += 1;
            let body = match &step.value {
                Value::Map(entries)
                    if entries.len() == 1
                        && NESTED.contains(&entries[0].0.as_str())
                        && matches!(entries[0].2.value, Value::Map(_)) =>
                {
                    path.push(Seg::Key(entries[0].0.clone()));
                    &entries[0].2
                }
                _ => step,
            };
            let nested = !std::ptr::eq(body, step);
            self.step(body, path);
            if nested {
                path.pop();
            }
            path.pop();
        }
    }

    fn step(&mut self, step: &'a Node, path: &mut Vec<Seg>) {
        let Value::Map(entries) = &step.value else { return };
        for (k, _, v) in entries {
            path.push(Seg::Key(k.clone()));
            match k.as_str() {
                "key" | "identifier" | "id" => {
                    if let Some(s) = scalar_text(v) {
                        self.keys.push((s, (render(path), v.pos)));
                    }
                }
                "depends_on" => self.depends_on(v, path),
                "if" => self.conditions.push((render(path), v)),
                "steps" if step.get("group").is_some() => self.steps(v, path),
                _ => {}
            }
            path.pop();
        }
    }

    fn depends_on(&mut self, v: &'a Node, path: &mut Vec<Seg>) {
        match &v.value {
            Value::Str(s) => self.depends.push((render(path), v, s.clone())),
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    match (&item.value, item.get("step")) {
                        (Value::Str(s), _) => self.depends.push((render(path), item, s.clone())),
                        (_, Some(step)) => {
                            if let Some(s) = step.as_str() {
                                self.depends.push((render(path), step, s.to_string()));
                            }
                        }
                        _ => {}
                    }
                    path.pop();
                }
            }
            _ => {}
        }
    }
}

fn scalar_text(v: &Node) -> Option<String> {
    match &v.value {
        Value::Str(s) => Some(s.clone()),
        Value::Int(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The steps of a pipeline's YAML, as `(identity, text)` pairs to compare two versions: a step's
/// identity is its key, else its label, else its position. `None` when the YAML does not parse.
pub fn step_summaries(text: &str) -> Option<Vec<(String, String)>> {
    let doc = yaml::parse(text).ok()?;
    let steps = match &doc.root.value {
        Value::Seq(_) => &doc.root,
        _ => doc.root.get("steps")?,
    };
    let Value::Seq(items) = &steps.value else { return Some(Vec::new()) };
    Some(
        items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let id = ["key", "identifier", "id", "label", "name", "group"]
                    .iter()
                    .find_map(|k| s.get(k).and_then(scalar_text))
                    .or_else(|| s.as_str().map(str::to_string))
                    .unwrap_or_else(|| format!("#{}", i + 1));
                (id, format!("{:?}", strip(&s.value)))
            })
            .collect(),
    )
}

/// A value without positions, to compare two steps.
fn strip(v: &Value) -> Value {
    match v {
        Value::Seq(items) => {
            Value::Seq(items.iter().map(|n| Node { value: strip(&n.value), pos: Pos::default() }).collect())
        }
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .map(|(k, _, n)| (k.clone(), Pos::default(), Node { value: strip(&n.value), pos: Pos::default() }))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Steps added, removed and changed from `before` to `after` (by identity; see
/// [`step_summaries`]).
pub fn step_changes(before: &str, after: &str) -> Option<(usize, usize, usize)> {
    let a = step_summaries(before).unwrap_or_default();
    let b = step_summaries(after)?;
    let added = b.iter().filter(|(id, _)| !a.iter().any(|(x, _)| x == id)).count();
    let removed = a.iter().filter(|(id, _)| !b.iter().any(|(x, _)| x == id)).count();
    let changed = b.iter().filter(|(id, t)| a.iter().any(|(x, u)| x == id && u != t)).count();
    Some((added, removed, changed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_schema_loads() {
        assert!(SCHEMA.is_ok(), "{:?}", SCHEMA.as_ref().err());
    }

    #[test]
    fn references_duplicate_keys_and_conditions_are_checked() {
        let yaml = "steps:\n  - command: make\n    key: build\n  - command: test\n    key: build\n    depends_on: [buld]\n    if: build.branch == \n";
        let r = validate(yaml);
        let lines: Vec<(usize, &str)> = r.problems.iter().map(|p| (p.pos.line, p.message.as_str())).collect();
        assert!(lines.iter().any(|(l, m)| *l == 5 && m.contains("already used on line 3")), "{lines:?}");
        assert!(lines.iter().any(|(l, m)| *l == 6 && m.contains("`buld`")), "{lines:?}");
        assert!(lines.iter().any(|(l, m)| *l == 7 && m.contains("does not parse")), "{lines:?}");
        assert!(!r.valid());
        let only_references = validate("steps:\n  - command: a\n    depends_on: later\n");
        assert!(only_references.valid() && only_references.problems.len() == 1);
    }

    fn fixtures(kind: &str) -> Vec<(String, String)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pipelines").join(kind);
        let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "yml"))
            .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_example_pipeline_of_the_schema_is_valid() {
        let valid = fixtures("valid");
        assert!(valid.len() >= 12);
        let mut steps = 0;
        for (name, text) in valid {
            let r = validate(&text);
            assert!(r.valid(), "{name}: {:?} {:?}", r.syntax, r.problems);
            assert_eq!(r.schema_errors(), 0, "{name}");
            steps += r.steps;
        }
        assert!(steps > 100, "{steps}");
    }

    #[test]
    fn invalid_pipelines_fail_with_path_and_line() {
        let expect: &[(&str, &str, usize, &str)] = &[
            ("bad_depends_on.yml", "steps[2].depends_on", 10, "none of the allowed forms"),
            ("bad_if.yml", "steps[0].if", 3, "does not parse"),
            ("duplicate_keys.yml", "label", 4, "duplicate key `label`"),
            ("unknown_step_type.yml", "steps[1]", 3, "not a known step type"),
            ("wrong_types.yml", "steps[0].parallelism", 3, "expected integer"),
        ];
        for (name, text) in fixtures("invalid") {
            let r = validate(&text);
            assert!(!r.valid(), "{name}");
            if name == "syntax.yml" {
                let e = r.syntax.expect("a syntax error");
                assert!(e.pos.line >= 3, "{e:?}");
                continue;
            }
            let (_, path, line, said) = expect.iter().find(|(n, ..)| *n == name).unwrap();
            assert!(
                r.problems.iter().any(|p| p.path == *path && p.pos.line == *line && p.message.contains(said)),
                "{name}: {:?}",
                r.problems
            );
        }
        let r = validate(&fixtures("invalid").into_iter().find(|(n, _)| n == "bad_depends_on.yml").unwrap().1);
        assert!(
            r.problems.iter().any(|p| p.path == "steps[1].depends_on[1]" && p.pos.line == 7 && p.kind == Kind::Warning),
            "{:?}",
            r.problems
        );
        let r = validate(&fixtures("invalid").into_iter().find(|(n, _)| n == "wrong_types.yml").unwrap().1);
        assert!(
            r.problems.iter().any(|p| p.path == "steps[0].timeout_in_minutes" && p.pos.line == 4),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn five_thousand_steps_validate_quickly() {
        let mut yaml =
            String::from("x-common: &common\n  agents:\n    queue: default\n  timeout_in_minutes: 30\nsteps:\n");
        for i in 0..5_000 {
            yaml.push_str(&format!(
                "  - label: \"test {i}\"\n    key: t{i}\n    <<: *common\n    command: make test SHARD={i}\n    env:\n      SHARD: \"{i}\"\n    depends_on: [{}]\n    if: build.branch == \"main\" || build.message =~ /shard-{i}/\n    retry:\n      automatic:\n        - exit_status: -1\n          limit: 2\n",
                if i == 0 { String::new() } else { format!("t{}", i - 1) }
            ));
        }
        let start = std::time::Instant::now();
        let parsed = yaml::parse(&yaml).unwrap();
        println!("parse alone {:?}", start.elapsed());
        drop(parsed);
        let start = std::time::Instant::now();
        let r = validate(&yaml);
        let took = start.elapsed();
        println!("5,000 steps ({} bytes) validated in {took:?}", yaml.len());
        assert!(r.valid(), "{:?}", r.problems.first());
        assert_eq!(r.steps, 5_000);
        assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    }

    #[test]
    fn step_changes_count_added_removed_and_changed() {
        let before = "steps:\n  - key: a\n    command: x\n  - key: b\n    command: y\n";
        let after = "steps:\n  - key: a\n    command: x2\n  - key: c\n    command: z\n  - wait\n";
        assert_eq!(step_changes(before, after), Some((2, 1, 1)));
    }
}
