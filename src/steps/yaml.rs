//! Pipeline YAML as a tree whose every node knows its line and column: anchors and aliases
//! resolved, merge keys (`<<`) applied (explicit keys win), scalars typed as YAML 1.2's core
//! schema types them, and duplicate keys reported (the last one wins, as in Buildkite).

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;

/// Where a node starts: 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: usize,
    /// Column, from 1.
    pub col: usize,
}

/// A YAML value with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts.
    pub pos: Pos,
}

/// A YAML value, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `~`, `null`, or nothing.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// Any other scalar, and every quoted or block one.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping: keys as text, in order, each with the key's position.
    Map(Vec<(String, Pos, Node)>),
}

impl Node {
    /// The value under `key`, when this is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    /// The text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// A YAML syntax error, with where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
}

/// A duplicate key: it is kept (the last one wins) and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The key.
    pub key: String,
    /// The later occurrence.
    pub pos: Pos,
    /// The line of the first.
    pub first_line: usize,
}

/// A parsed document.
#[derive(Debug, Clone)]
pub struct Document {
    /// The root (`Null` for an empty document).
    pub root: Node,
    /// Duplicate keys found.
    pub duplicates: Vec<Duplicate>,
    /// Documents after the first (`---`), which are ignored.
    pub extra_documents: usize,
}

fn pos(span: &Span) -> Pos {
    Pos { line: span.start.line(), col: span.start.col() + 1 }
}

/// A collection being built.
enum Open {
    Seq { anchor: usize, pos: Pos, items: Vec<Node> },
    Map { anchor: usize, pos: Pos, entries: Vec<(Node, Node)>, key: Option<Node> },
}

/// Deepest nesting accepted (deeper is refused, not recursed into).
const MAX_DEPTH: usize = 128;

/// Most nodes a document may expand to, aliases included (an alias of an alias of … is refused
/// before it fills memory).
const MAX_NODES: usize = 2_000_000;

/// The number of nodes in `node`.
fn size(node: &Node) -> usize {
    match &node.value {
        Value::Seq(items) => 1 + items.iter().map(size).sum::<usize>(),
        Value::Map(entries) => 1 + entries.iter().map(|(_, _, v)| 1 + size(v)).sum::<usize>(),
        _ => 1,
    }
}

/// Parses `text`: the first document as a tree, or the first syntax error.
pub fn parse(text: &str) -> Result<Document, SyntaxError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Open> = Vec::new();
    let mut nodes = 0usize;
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    let mut duplicates = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| SyntaxError {
            message: e.info().to_string(),
            pos: Pos { line: e.marker().line(), col: e.marker().col() + 1 },
        })?;
        let at = pos(&span);
        let done = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                None
            }
            Event::StreamEnd => break,
            Event::Scalar(text, style, anchor, tag) => {
                let forced_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_str {
                    typed(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                let node = Node { value, pos: at };
                nodes += 1;
                if anchor > 0 {
                    anchors.insert(anchor, (node.clone(), 1));
                }
                Some(node)
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((node, n)) => {
                    nodes += n;
                    if nodes > MAX_NODES {
                        return Err(SyntaxError {
                            message: format!("the aliases expand to over {MAX_NODES} nodes"),
                            pos: at,
                        });
                    }
                    Some(Node { value: node.value.clone(), pos: at })
                }
                None => return Err(SyntaxError { message: "alias to an unknown anchor".into(), pos: at }),
            },
            Event::SequenceStart(..) | Event::MappingStart(..) if stack.len() >= MAX_DEPTH => {
                return Err(SyntaxError { message: format!("nested deeper than {MAX_DEPTH} levels"), pos: at });
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Open::Seq { anchor, pos: at, items: Vec::new() });
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Open::Map { anchor, pos: at, entries: Vec::new(), key: None });
                None
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Open::Seq { anchor, pos, items }) => {
                    let node = Node { value: Value::Seq(items), pos };
                    nodes += 1;
                    if anchor > 0 {
                        anchors.insert(anchor, (node.clone(), size(&node)));
                    }
                    Some(node)
                }
                Some(Open::Map { anchor, pos, entries, .. }) => {
                    let node = Node { value: Value::Map(merged(entries, &mut duplicates)), pos };
                    nodes += 1;
                    if anchor > 0 {
                        anchors.insert(anchor, (node.clone(), size(&node)));
                    }
                    Some(node)
                }
                None => None,
            },
            _ => None,
        };
        if let Some(node) = done {
            if documents > 1 {
                continue;
            }
            match stack.last_mut() {
                Some(Open::Seq { items, .. }) => items.push(node),
                Some(Open::Map { entries, key, .. }) => match key.take() {
                    Some(k) => entries.push((k, node)),
                    None => *key = Some(node),
                },
                None => {
                    if root.is_none() {
                        root = Some(node);
                    }
                }
            }
        }
    }
    Ok(Document {
        root: root.unwrap_or(Node { value: Value::Null, pos: Pos { line: 1, col: 1 } }),
        duplicates,
        extra_documents: documents.saturating_sub(1),
    })
}

/// A plain scalar typed as YAML 1.2's core schema does.
fn typed(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = text.parse::<i64>()
    {
        return Value::Int(n);
    }
    if let Some(hex) = text.strip_prefix("0x").filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        && let Ok(n) = i64::from_str_radix(hex, 16)
    {
        return Value::Int(n);
    }
    if let Some(oct) =
        text.strip_prefix("0o").filter(|h| !h.is_empty() && h.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        && let Ok(n) = i64::from_str_radix(oct, 8)
    {
        return Value::Int(n);
    }
    let float_like = digits.bytes().any(|b| b.is_ascii_digit())
        && digits.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().next().is_some_and(|b| b.is_ascii_digit() || b == b'.');
    if float_like && let Ok(f) = text.parse::<f64>() {
        return Value::Float(f);
    }
    Value::Str(text.to_string())
}

/// A scalar key as text (a collection key is shown in a short form).
fn key_text(node: &Node) -> String {
    match &node.value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
        Value::Seq(_) => "[…]".into(),
        Value::Map(_) => "{…}".into(),
    }
}

/// A mapping's entries with merge keys applied and duplicates reported.
fn merged(entries: Vec<(Node, Node)>, duplicates: &mut Vec<Duplicate>) -> Vec<(String, Pos, Node)> {
    let mut out: Vec<(String, Pos, Node)> = Vec::with_capacity(entries.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut merges: Vec<Node> = Vec::new();
    for (key, value) in entries {
        let text = key_text(&key);
        if text == "<<" && matches!(key.value, Value::Str(_)) {
            match value.value {
                Value::Seq(items) => merges.extend(items),
                _ => merges.push(value),
            }
            continue;
        }
        match index.get(&text) {
            Some(&i) => {
                duplicates.push(Duplicate { key: text.clone(), pos: key.pos, first_line: out[i].1.line });
                out[i] = (text, key.pos, value);
            }
            None => {
                index.insert(text.clone(), out.len());
                out.push((text, key.pos, value));
            }
        }
    }
    for source in merges {
        if let Value::Map(items) = source.value {
            for (k, p, v) in items {
                if !index.contains_key(&k) {
                    index.insert(k.clone(), out.len());
                    out.push((k, p, v));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_columns() {
        let doc = parse("steps:\n  - command: make\n    key: build\n").unwrap();
        let steps = doc.root.get("steps").unwrap();
        assert_eq!(steps.pos.line, 2);
        let Value::Seq(items) = &steps.value else { panic!() };
        let key = items[0].get("key").unwrap();
        assert_eq!(key.pos, Pos { line: 3, col: 10 });
        assert_eq!(key.as_str(), Some("build"));
    }

    #[test]
    fn anchors_and_merge_keys_resolve_and_explicit_keys_win() {
        let yaml = "x: &base\n  agents: {queue: a}\n  timeout_in_minutes: 5\nsteps:\n  - <<: *base\n    command: make\n    timeout_in_minutes: 10\n";
        let doc = parse(yaml).unwrap();
        let Value::Seq(items) = &doc.root.get("steps").unwrap().value else { panic!() };
        let step = &items[0];
        assert_eq!(step.get("timeout_in_minutes").unwrap().value, Value::Int(10));
        assert_eq!(step.get("agents").unwrap().get("queue").unwrap().as_str(), Some("a"));
        assert!(doc.duplicates.is_empty());
    }

    #[test]
    fn scalars_are_typed_unless_quoted() {
        let doc = parse("a: 3\nb: '3'\nc: true\nd: ~\ne: 1.5\nf: !!str 7\ng: v1.2\n").unwrap();
        let v = |k: &str| doc.root.get(k).unwrap().value.clone();
        assert_eq!(v("a"), Value::Int(3));
        assert_eq!(v("b"), Value::Str("3".into()));
        assert_eq!(v("c"), Value::Bool(true));
        assert_eq!(v("d"), Value::Null);
        assert_eq!(v("e"), Value::Float(1.5));
        assert_eq!(v("f"), Value::Str("7".into()));
        assert_eq!(v("g"), Value::Str("v1.2".into()));
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_lines() {
        let doc = parse("steps: []\nenv: {}\nsteps: [x]\n").unwrap();
        assert_eq!(
            doc.duplicates,
            vec![Duplicate { key: "steps".into(), pos: Pos { line: 3, col: 1 }, first_line: 1 }]
        );
    }

    #[test]
    fn deep_nesting_and_alias_bombs_are_refused_not_followed() {
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nested deeper") || err.message.contains("recursion"), "{err:?}");
        let deep = format!("{}x", (0..200).map(|i| format!("{}- ", " ".repeat(i * 2))).collect::<Vec<_>>().join("\n"));
        let err = parse(&deep).unwrap_err();
        assert!(err.message.contains("nested deeper"), "{err:?}");
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = if i == 1 { "a".to_string() } else { format!("a{}", i - 1) };
            bomb.push_str(&format!("a{i}: &a{i} [{}]\n", vec![format!("*{prev}"); 10].join(", ")));
        }
        let err = parse(&bomb).unwrap_err();
        assert!(err.message.contains("expand to over"), "{err:?}");
    }

    #[test]
    fn a_syntax_error_has_its_line() {
        let err = parse("steps:\n  - command: \"make\n  - wait\n").unwrap_err();
        assert!(err.pos.line >= 2, "{err:?}");
        let err = parse("steps:\n  - a: [1, 2\n").unwrap_err();
        assert!(err.pos.line >= 2, "{err:?}");
    }
}
