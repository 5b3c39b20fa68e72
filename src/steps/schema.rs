//! A small JSON Schema (draft-07) validator: the keywords Buildkite's pipeline schema uses (and
//! the common rest), over the positioned YAML tree, so every error has its path and line.
//!
//! Supported: `$ref` (local JSON pointers), `type`, `enum`, `const`, `properties`,
//! `patternProperties`, `additionalProperties`, `required`, `propertyNames`, `minProperties`,
//! `maxProperties`, `items` (one schema or a list), `additionalItems`, `minItems`, `maxItems`,
//! `uniqueItems`, `anyOf`, `oneOf`, `allOf`, `not`, `if`/`then`/`else`, `pattern`, `minLength`,
//! `maxLength`, `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`, `multipleOf`.
//! Annotations (`description`, `default`, `examples`, `format`, …) are ignored.

use super::yaml::{Node, Pos, Value};
use regex::Regex;
use serde_json::Value as Json;
use std::collections::HashMap;

/// One schema violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Where, as `steps[2].depends_on`.
    pub path: String,
    /// Where in the text.
    pub pos: Pos,
    /// What is wrong.
    pub message: String,
}

/// A compiled schema: the document and its patterns.
pub struct Schema {
    root: Json,
    patterns: HashMap<String, Regex>,
}

impl Schema {
    /// Compiles `root` (every `pattern` and `patternProperties` key up front).
    pub fn new(root: Json) -> Result<Schema, String> {
        let mut patterns = HashMap::new();
        collect_patterns(&root, &mut patterns)?;
        Ok(Schema { root, patterns })
    }

    /// The violations of `node`, at most `limit` of them.
    pub fn validate(&self, node: &Node, limit: usize) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut path = Vec::new();
        self.check(&self.root, node, &mut path, &mut out);
        out.truncate(limit);
        out
    }

    fn resolve<'a>(&'a self, reference: &str) -> Option<&'a Json> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(&self.root);
        }
        self.root.pointer(pointer)
    }

    fn check(&self, schema: &Json, node: &Node, path: &mut Vec<Seg>, out: &mut Vec<Violation>) {
        let Some(s) = schema.as_object() else {
            if schema == &Json::Bool(false) {
                out.push(violation(path, node, "is not allowed here".into()));
            }
            return;
        };
        let mut fail = |message: String| out.push(violation(path, node, message));
        if let Some(r) = s.get("$ref").and_then(Json::as_str) {
            // In draft-07 `$ref` replaces its siblings.
            match self.resolve(r) {
                Some(target) => self.check(target, node, path, out),
                None => fail(format!("the schema's reference {r} is unknown")),
            }
            return;
        }
        if let Some(t) = s.get("type") {
            let types: Vec<&str> = match t {
                Json::String(one) => vec![one.as_str()],
                Json::Array(many) => many.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            if !types.is_empty() && !types.iter().any(|t| has_type(node, t)) {
                fail(format!("expected {}, found {}", types.join(" or "), kind(node)));
                return;
            }
        }
        if let Some(Json::Array(allowed)) = s.get("enum")
            && !allowed.iter().any(|a| equal(node, a))
        {
            fail(format!("expected one of {}, found {}", shown_list(allowed), shown(node)));
        }
        if let Some(c) = s.get("const")
            && !equal(node, c)
        {
            fail(format!("expected {c}, found {}", shown(node)));
        }
        match &node.value {
            Value::Str(text) => self.check_string(s, text, &mut fail),
            Value::Int(_) | Value::Float(_) => check_number(s, node, &mut fail),
            _ => {}
        }
        match &node.value {
            Value::Map(entries) => self.check_object(s, node, entries, path, out),
            Value::Seq(items) => self.check_array(s, node, items, path, out),
            _ => {}
        }
        if let Some(Json::Array(all)) = s.get("allOf") {
            for branch in all {
                self.check(branch, node, path, out);
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf") {
            self.check_any(any, node, path, out, false);
        }
        if let Some(Json::Array(one)) = s.get("oneOf") {
            self.check_any(one, node, path, out, true);
        }
        if let Some(not) = s.get("not")
            && self.passes(not, node)
        {
            out.push(violation(path, node, format!("must not match {}", short_schema(not))));
        }
        if let Some(cond) = s.get("if") {
            let branch = if self.passes(cond, node) { s.get("then") } else { s.get("else") };
            if let Some(branch) = branch {
                self.check(branch, node, path, out);
            }
        }
    }

    fn passes(&self, schema: &Json, node: &Node) -> bool {
        let mut scratch = Vec::new();
        self.check(schema, node, &mut Vec::new(), &mut scratch);
        scratch.is_empty()
    }

    fn check_string(&self, s: &serde_json::Map<String, Json>, text: &str, fail: &mut impl FnMut(String)) {
        let chars = text.chars().count();
        if let Some(max) = s.get("maxLength").and_then(Json::as_u64)
            && chars as u64 > max
        {
            fail(format!("is {chars} characters, over the limit of {max}"));
        }
        if let Some(min) = s.get("minLength").and_then(Json::as_u64)
            && (chars as u64) < min
        {
            fail(format!("is {chars} characters, under the minimum of {min}"));
        }
        if let Some(p) = s.get("pattern").and_then(Json::as_str)
            && let Some(re) = self.patterns.get(p)
            && !re.is_match(text)
        {
            fail(format!("does not match the pattern {p}"));
        }
    }

    fn check_object(
        &self,
        s: &serde_json::Map<String, Json>,
        node: &Node,
        entries: &[(String, Pos, Node)],
        path: &mut Vec<Seg>,
        out: &mut Vec<Violation>,
    ) {
        let properties = s.get("properties").and_then(Json::as_object);
        let pattern_props = s.get("patternProperties").and_then(Json::as_object);
        if let Some(Json::Array(required)) = s.get("required") {
            for r in required.iter().filter_map(Json::as_str) {
                if !entries.iter().any(|(k, _, _)| k == r) {
                    out.push(violation(path, node, format!("is missing `{r}`")));
                }
            }
        }
        let count = entries.len() as u64;
        if let Some(max) = s.get("maxProperties").and_then(Json::as_u64)
            && count > max
        {
            out.push(violation(path, node, format!("has {count} keys, over the limit of {max}")));
        }
        if let Some(min) = s.get("minProperties").and_then(Json::as_u64)
            && count < min
        {
            out.push(violation(path, node, format!("has {count} keys, under the minimum of {min}")));
        }
        for (key, key_pos, value) in entries {
            path.push(Seg::Key(key.clone()));
            let mut matched = false;
            if let Some(p) = properties.and_then(|p| p.get(key)) {
                matched = true;
                self.check(p, value, path, out);
            }
            if let Some(pp) = pattern_props {
                for (pattern, sub) in pp {
                    if self.patterns.get(pattern).is_some_and(|re| re.is_match(key)) {
                        matched = true;
                        self.check(sub, value, path, out);
                    }
                }
            }
            if let Some(names) = s.get("propertyNames") {
                let name = Node { value: Value::Str(key.clone()), pos: *key_pos };
                let mut scratch = Vec::new();
                self.check(names, &name, &mut Vec::new(), &mut scratch);
                if let Some(first) = scratch.into_iter().next() {
                    out.push(Violation {
                        path: render(path),
                        pos: *key_pos,
                        message: format!("key {}", first.message),
                    });
                }
            }
            if !matched {
                match s.get("additionalProperties") {
                    Some(Json::Bool(false)) => {
                        let mut message = "is not a known key here".to_string();
                        if let Some(props) = properties {
                            let known: Vec<&str> = props.keys().map(String::as_str).take(12).collect();
                            if !known.is_empty() {
                                message = format!(
                                    "{message} (known: {}{})",
                                    known.join(", "),
                                    if props.len() > 12 { ", …" } else { "" }
                                );
                            }
                        }
                        out.push(Violation { path: render(path), pos: *key_pos, message });
                    }
                    Some(extra @ Json::Object(_)) => self.check(extra, value, path, out),
                    _ => {}
                }
            }
            path.pop();
        }
    }

    fn check_array(
        &self,
        s: &serde_json::Map<String, Json>,
        node: &Node,
        items: &[Node],
        path: &mut Vec<Seg>,
        out: &mut Vec<Violation>,
    ) {
        let count = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Json::as_u64)
            && count < min
        {
            out.push(violation(path, node, format!("has {count} items, under the minimum of {min}")));
        }
        if let Some(max) = s.get("maxItems").and_then(Json::as_u64)
            && count > max
        {
            out.push(violation(path, node, format!("has {count} items, over the limit of {max}")));
        }
        if s.get("uniqueItems") == Some(&Json::Bool(true)) {
            for (i, a) in items.iter().enumerate() {
                if items[..i].iter().any(|b| b.value == a.value) {
                    path.push(Seg::Index(i));
                    out.push(violation(path, a, "repeats an earlier item".into()));
                    path.pop();
                }
            }
        }
        match s.get("items") {
            Some(Json::Array(tuple)) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    if let Some(sub) = tuple.get(i).or_else(|| s.get("additionalItems")) {
                        self.check(sub, item, path, out);
                    }
                    path.pop();
                }
            }
            Some(one) => {
                for (i, item) in items.iter().enumerate() {
                    path.push(Seg::Index(i));
                    self.check(one, item, path, out);
                    path.pop();
                }
            }
            None => {}
        }
    }

    /// `anyOf` (or `oneOf` when `exactly_one`): when no branch matches, the errors of the branch
    /// that fits best (the one whose keys cover most of the node's, then the deepest errors),
    /// or one line when none fits at all.
    fn check_any(
        &self,
        branches: &[Json],
        node: &Node,
        path: &mut Vec<Seg>,
        out: &mut Vec<Violation>,
        exactly_one: bool,
    ) {
        // The branches that fit best are tried first: a command step meets the command branch
        // at once instead of failing through every other step type.
        let fits: Vec<usize> = branches.iter().map(|b| self.fit(self.deref(b), node)).collect();
        let mut order: Vec<usize> = (0..branches.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(fits[i]));
        let mut results: Vec<(usize, Vec<Violation>)> = Vec::with_capacity(branches.len());
        let mut passed = 0;
        for &i in &order {
            let mut errors = Vec::new();
            self.check(&branches[i], node, path, &mut errors);
            if errors.is_empty() {
                passed += 1;
                if !exactly_one {
                    return;
                }
            }
            results.push((i, errors));
        }
        if passed == 1 {
            return;
        }
        if passed > 1 {
            out.push(violation(
                path,
                node,
                format!("matches {passed} of the allowed forms, where exactly one is allowed"),
            ));
            return;
        }
        let best = results
            .iter()
            .map(|(i, errors)| {
                let deepest = errors.iter().map(|e| e.path.matches(['.', '[']).count()).max().unwrap_or(0);
                (fits[*i], deepest, usize::MAX - errors.len(), usize::MAX - *i)
            })
            .max();
        match best {
            Some((fit, _, _, i)) if fit > 0 => {
                let i = usize::MAX - i;
                if let Some((_, errors)) = results.into_iter().find(|(j, _)| *j == i) {
                    out.extend(errors);
                }
            }
            _ => {
                let mut forms: Vec<String> = Vec::new();
                for b in branches {
                    let target = self.deref(b);
                    if let Some(Json::Array(values)) = target.get("enum") {
                        forms.extend(values.iter().filter_map(Json::as_str).map(|v| format!("\"{v}\"")));
                    }
                }
                forms.dedup();
                let message = match (&node.value, forms.is_empty()) {
                    (Value::Str(_), false) => format!("{} is not one of {}", shown(node), forms.join(", ")),
                    (Value::Map(_), _) => {
                        let mut keys: Vec<String> = Vec::new();
                        for b in branches {
                            if let Some(req) = self.deref(b).get("required").and_then(Json::as_array) {
                                for k in req.iter().filter_map(Json::as_str) {
                                    if !keys.iter().any(|x| x == k) {
                                        keys.push(k.to_string());
                                    }
                                }
                            }
                        }
                        if keys.is_empty() {
                            "matches none of the allowed forms".to_string()
                        } else {
                            format!("matches none of the allowed forms (expected a key such as {})", keys.join(", "))
                        }
                    }
                    _ => format!("{} matches none of the allowed forms", kind(node)),
                };
                out.push(violation(path, node, message));
            }
        }
    }

    fn deref<'a>(&'a self, mut schema: &'a Json) -> &'a Json {
        for _ in 0..16 {
            match schema.get("$ref").and_then(Json::as_str).and_then(|r| self.resolve(r)) {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }

    /// How well a branch fits a node: 0 when its type does not; else 1 + the node's keys the
    /// branch names (mappings), scaled so that a key the branch requires counts most.
    fn fit(&self, schema: &Json, node: &Node) -> usize {
        if let Some(t) = schema.get("type") {
            let ok = match t {
                Json::String(one) => has_type(node, one),
                Json::Array(many) => many.iter().filter_map(Json::as_str).any(|t| has_type(node, t)),
                _ => true,
            };
            if !ok {
                return 0;
            }
        }
        let Value::Map(entries) = &node.value else {
            return if schema.get("enum").is_some() { 0 } else { 1 };
        };
        if schema.get("enum").and_then(Json::as_array).is_some_and(|e| !e.iter().any(Json::is_object)) {
            return 0;
        }
        let props = schema.get("properties").and_then(Json::as_object);
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        if required.iter().any(|r| !entries.iter().any(|(k, _, _)| k == r)) {
            return 0;
        }
        let named = entries.iter().filter(|(k, _, _)| props.is_some_and(|p| p.contains_key(k))).count();
        if named == 0 && props.is_some() && !entries.is_empty() {
            return 0;
        }
        1 + named + 100 * required.len()
    }
}

fn collect_patterns(schema: &Json, out: &mut HashMap<String, Regex>) -> Result<(), String> {
    match schema {
        Json::Object(o) => {
            if let Some(p) = o.get("pattern").and_then(Json::as_str) {
                compile(p, out)?;
            }
            if let Some(pp) = o.get("patternProperties").and_then(Json::as_object) {
                for p in pp.keys() {
                    compile(p, out)?;
                }
            }
            for (k, v) in o {
                if k != "examples" && k != "default" && k != "enum" && k != "const" {
                    collect_patterns(v, out)?;
                }
            }
        }
        Json::Array(a) => {
            for v in a {
                collect_patterns(v, out)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn compile(pattern: &str, out: &mut HashMap<String, Regex>) -> Result<(), String> {
    if !out.contains_key(pattern) {
        let re = Regex::new(pattern).map_err(|e| format!("schema pattern {pattern}: {e}"))?;
        out.insert(pattern.to_string(), re);
    }
    Ok(())
}

/// One step of a path.
#[derive(Debug, Clone)]
pub enum Seg {
    /// A mapping key.
    Key(String),
    /// A sequence index.
    Index(usize),
}

/// `steps[2].agents.queue`; the document itself is `(top level)`.
pub fn render(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    if out.is_empty() { "(top level)".into() } else { out }
}

fn violation(path: &[Seg], node: &Node, message: String) -> Violation {
    Violation { path: render(path), pos: node.pos, message }
}

fn has_type(node: &Node, t: &str) -> bool {
    match (t, &node.value) {
        ("null", Value::Null) | ("boolean", Value::Bool(_)) | ("string", Value::Str(_)) => true,
        ("array", Value::Seq(_)) | ("object", Value::Map(_)) => true,
        ("integer", Value::Int(_)) | ("number", Value::Int(_) | Value::Float(_)) => true,
        ("integer", Value::Float(f)) => f.fract() == 0.0,
        _ => false,
    }
}

fn kind(node: &Node) -> &'static str {
    match node.value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Str(_) => "a string",
        Value::Seq(_) => "a list",
        Value::Map(_) => "a mapping",
    }
}

fn equal(node: &Node, json: &Json) -> bool {
    match (&node.value, json) {
        (Value::Null, Json::Null) => true,
        (Value::Bool(a), Json::Bool(b)) => a == b,
        (Value::Str(a), Json::String(b)) => a == b,
        (Value::Int(a), Json::Number(b)) => b.as_i64() == Some(*a) || b.as_f64() == Some(*a as f64),
        (Value::Float(a), Json::Number(b)) => b.as_f64() == Some(*a),
        (Value::Seq(a), Json::Array(b)) => a.len() == b.len() && a.iter().zip(b).all(|(x, y)| equal(x, y)),
        (Value::Map(a), Json::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, _, v)| b.get(k).is_some_and(|j| equal(v, j)))
        }
        _ => false,
    }
}

fn number(node: &Node) -> Option<f64> {
    match node.value {
        Value::Int(n) => Some(n as f64),
        Value::Float(f) => Some(f),
        _ => None,
    }
}

fn check_number(s: &serde_json::Map<String, Json>, node: &Node, fail: &mut impl FnMut(String)) {
    let Some(n) = number(node) else { return };
    let bound = |k: &str| s.get(k).and_then(Json::as_f64);
    if let Some(min) = bound("minimum")
        && n < min
    {
        fail(format!("is {n}, under the minimum of {min}"));
    }
    if let Some(max) = bound("maximum")
        && n > max
    {
        fail(format!("is {n}, over the maximum of {max}"));
    }
    if let Some(min) = bound("exclusiveMinimum")
        && n <= min
    {
        fail(format!("is {n}, must be over {min}"));
    }
    if let Some(max) = bound("exclusiveMaximum")
        && n >= max
    {
        fail(format!("is {n}, must be under {max}"));
    }
    if let Some(m) = bound("multipleOf")
        && m > 0.0
        && (n / m).fract() != 0.0
    {
        fail(format!("is {n}, not a multiple of {m}"));
    }
}

fn shown(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => format!("\"{}\"", crate::render::clean_text(s, 40)),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => kind(node).to_string(),
    }
}

fn shown_list(values: &[Json]) -> String {
    let mut shown: Vec<String> = values.iter().take(10).map(Json::to_string).collect();
    if values.len() > 10 {
        shown.push("…".into());
    }
    shown.join(", ")
}

fn short_schema(schema: &Json) -> String {
    match schema.get("pattern").and_then(Json::as_str) {
        Some(p) => format!("the pattern {p}"),
        None => "the excluded form".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::yaml::parse;
    use super::*;
    use serde_json::json;

    fn errors(schema: Json, yaml: &str) -> Vec<Violation> {
        let s = Schema::new(schema).unwrap();
        s.validate(&parse(yaml).unwrap().root, 50)
    }

    #[test]
    fn types_required_and_additional_properties_have_paths_and_lines() {
        let schema = json!({"type": "object", "required": ["steps"], "additionalProperties": false,
            "properties": {"steps": {"type": "array", "items": {"type": "integer"}}}});
        let e = errors(schema.clone(), "steps:\n  - 1\n  - two\n");
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].path, "steps[1]");
        assert_eq!(e[0].pos.line, 3);
        assert!(e[0].message.contains("expected integer"), "{:?}", e);
        let e = errors(schema, "other: 1\n");
        assert!(e.iter().any(|v| v.message.contains("missing `steps`")));
        assert!(e.iter().any(|v| v.path == "other" && v.message.contains("not a known key")));
    }

    #[test]
    fn any_of_reports_the_branch_that_fits_best() {
        let schema = json!({"definitions": {
            "a": {"type": "object", "properties": {"command": {"type": "string"}, "parallelism": {"type": "integer"}}, "additionalProperties": false},
            "b": {"type": "object", "properties": {"wait": {"type": "null"}}, "additionalProperties": false},
            "s": {"enum": ["wait", "block"]}},
            "type": "array", "items": {"anyOf": [{"$ref": "#/definitions/a"}, {"$ref": "#/definitions/b"}, {"$ref": "#/definitions/s"}]}});
        let e = errors(schema.clone(), "- command: x\n  parallelism: lots\n");
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].path, "[0].parallelism");
        assert_eq!(e[0].pos.line, 2);
        let e = errors(schema.clone(), "- nope\n");
        assert!(e[0].message.contains("\"wait\", \"block\""), "{e:?}");
        let e = errors(schema, "- frobnicate: 1\n");
        assert!(e[0].message.contains("none of the allowed forms"), "{e:?}");
    }

    #[test]
    fn patterns_not_and_enums_are_checked() {
        let schema = json!({"type": "string", "pattern": "^[a-z-]+$", "not": {"pattern": "^x"}, "maxLength": 5});
        assert!(errors(schema.clone(), "ab-c").is_empty());
        assert_eq!(errors(schema.clone(), "A").len(), 1);
        assert_eq!(errors(schema.clone(), "xab").len(), 1);
        assert_eq!(errors(schema, "abcdefg").len(), 1);
        assert!(errors(json!({"enum": [true, "true"]}), "'true'").is_empty());
        assert_eq!(errors(json!({"enum": [true, "true"]}), "yes").len(), 1);
    }
}
