//! Prunes a full GraphQL schema to the types, fields and arguments that a set of operations reach, and
//! prints the result as deterministic SDL without descriptions.

use apollo_compiler::ast::DirectiveList;
use apollo_compiler::executable::{Selection, SelectionSet};
use apollo_compiler::schema::{ExtendedType, FieldDefinition};
use apollo_compiler::{ExecutableDocument, Schema};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

const BUILT_IN_SCALARS: [&str; 5] = ["String", "Int", "Float", "Boolean", "ID"];

/// What the operations reach: types, and for object and interface types the fields and the
/// arguments of those fields.
#[derive(Debug, Default)]
pub struct Reach {
    types: BTreeSet<String>,
    fields: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    members: BTreeMap<String, BTreeSet<String>>,
}

impl Reach {
    /// Walks every operation and fragment of `doc` (already validated against `schema`).
    pub fn add_document(&mut self, schema: &Schema, doc: &ExecutableDocument) {
        for op in doc.operations.iter() {
            for var in &op.variables {
                self.mark_type(schema, var.ty.inner_named_type().as_str());
            }
            self.walk(schema, doc, &op.selection_set, &mut BTreeSet::new());
        }
    }

    fn walk(
        &mut self,
        schema: &Schema,
        doc: &ExecutableDocument,
        set: &SelectionSet,
        seen_fragments: &mut BTreeSet<String>,
    ) {
        let parent = set.ty.as_str();
        self.mark_type(schema, parent);
        for selection in &set.selections {
            match selection {
                Selection::Field(field) => {
                    if field.name.as_str().starts_with("__") {
                        continue;
                    }
                    let args =
                        self.fields.entry(parent.to_string()).or_default().entry(field.name.to_string()).or_default();
                    for arg in &field.arguments {
                        args.insert(arg.name.to_string());
                    }
                    for arg in &field.arguments {
                        if let Some(def) = field.definition.argument_by_name(&arg.name) {
                            self.mark_type(schema, def.ty.inner_named_type().as_str());
                        }
                    }
                    self.mark_type(schema, field.definition.ty.inner_named_type().as_str());
                    self.walk(schema, doc, &field.selection_set, seen_fragments);
                }
                Selection::InlineFragment(fragment) => {
                    let condition = fragment.selection_set.ty.as_str();
                    self.note_member(schema, parent, condition);
                    self.walk(schema, doc, &fragment.selection_set, seen_fragments);
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = doc.fragments.get(&spread.fragment_name) {
                        let condition = fragment.selection_set.ty.as_str();
                        self.note_member(schema, parent, condition);
                        let key = format!("{parent}/{}", spread.fragment_name);
                        if seen_fragments.insert(key) {
                            self.walk(schema, doc, &fragment.selection_set, seen_fragments);
                        }
                    }
                }
            }
        }
    }

    fn note_member(&mut self, schema: &Schema, parent: &str, condition: &str) {
        if parent == condition {
            return;
        }
        if !is_abstract(schema, parent) {
            return;
        }
        if !is_abstract(schema, condition) {
            self.members.entry(parent.to_string()).or_default().insert(condition.to_string());
            return;
        }
        // `... on SomeInterface` inside a union (or another interface): every object type both
        // could be may answer, so each is kept as a member.
        let common: Vec<String> = schema
            .types
            .iter()
            .filter(|(_, ty)| matches!(ty, ExtendedType::Object(_)))
            .map(|(name, _)| name.as_str())
            .filter(|object| is_possible(schema, parent, object) && is_possible(schema, condition, object))
            .map(str::to_string)
            .collect();
        for object in common {
            self.mark_type(schema, &object);
            self.members.entry(parent.to_string()).or_default().insert(object);
        }
    }

    /// Keeps a type; input objects pull in all their fields' types.
    fn mark_type(&mut self, schema: &Schema, name: &str) {
        if !self.types.insert(name.to_string()) {
            return;
        }
        if let Some(ExtendedType::InputObject(input)) = schema.types.get(name) {
            for field in input.fields.values() {
                self.mark_type(schema, field.ty.inner_named_type().as_str());
            }
        }
    }

    /// Adds what validity demands: interface fields on their kept implementations, at least one
    /// field on every kept object or interface, at least one member on every kept union.
    fn close(&mut self, schema: &Schema) {
        loop {
            let before = self.size();
            let kept: Vec<String> = self.types.iter().cloned().collect();
            for name in &kept {
                match schema.types.get(name.as_str()) {
                    Some(ExtendedType::Object(object)) => {
                        self.inherit(schema, name, object.implements_interfaces.iter().map(|i| i.name.as_str()));
                        self.ensure_field(schema, name, object.fields.iter().map(|(n, f)| (n.as_str(), &***f)));
                    }
                    Some(ExtendedType::Interface(iface)) => {
                        self.inherit(schema, name, iface.implements_interfaces.iter().map(|i| i.name.as_str()));
                        self.ensure_field(schema, name, iface.fields.iter().map(|(n, f)| (n.as_str(), &***f)));
                    }
                    Some(ExtendedType::Union(union)) => {
                        let has_member = union
                            .members
                            .iter()
                            .any(|m| self.types.contains(m.name.as_str()) && self.is_member(name, m.name.as_str()));
                        if !has_member {
                            let mut names: Vec<&str> = union.members.iter().map(|m| m.name.as_str()).collect();
                            names.sort_unstable();
                            if let Some(first) = names.first() {
                                self.note_member(schema, name, first);
                                self.mark_type(schema, first);
                            }
                        }
                    }
                    _ => {}
                }
            }
            if self.size() == before {
                break;
            }
        }
    }

    fn is_member(&self, union: &str, member: &str) -> bool {
        self.members.get(union).is_some_and(|m| m.contains(member))
    }

    fn inherit<'a>(&mut self, schema: &Schema, name: &str, interfaces: impl Iterator<Item = &'a str>) {
        for iface in interfaces {
            if !self.types.contains(iface) {
                continue;
            }
            let Some(iface_fields) = self.fields.get(iface).cloned() else {
                continue;
            };
            for (field, args) in iface_fields {
                let entry = self.fields.entry(name.to_string()).or_default().entry(field.clone()).or_default();
                entry.extend(args);
                if let Some(def) = field_definition(schema, name, &field) {
                    self.mark_type(schema, def.ty.inner_named_type().as_str());
                    for arg in &def.arguments {
                        self.mark_type(schema, arg.ty.inner_named_type().as_str());
                    }
                }
            }
        }
    }

    fn ensure_field<'a>(
        &mut self,
        schema: &Schema,
        name: &str,
        fields: impl Iterator<Item = (&'a str, &'a FieldDefinition)>,
    ) {
        if self.fields.get(name).is_some_and(|f| !f.is_empty()) {
            return;
        }
        let mut leaf: Vec<(&str, &FieldDefinition)> = fields
            .filter(|(_, def)| {
                def.arguments.iter().all(|a| !a.is_required())
                    && matches!(
                        schema.types.get(def.ty.inner_named_type().as_str()),
                        Some(ExtendedType::Scalar(_) | ExtendedType::Enum(_))
                    )
            })
            .collect();
        leaf.sort_by_key(|(n, _)| *n);
        if let Some((field, def)) = leaf.first() {
            self.fields.entry(name.to_string()).or_default().insert((*field).to_string(), BTreeSet::new());
            self.mark_type(schema, def.ty.inner_named_type().as_str());
        }
    }

    fn size(&self) -> usize {
        self.types.len()
            + self.fields.values().map(|f| f.len() + f.values().map(BTreeSet::len).sum::<usize>()).sum::<usize>()
            + self.members.values().map(BTreeSet::len).sum::<usize>()
    }
}

fn is_abstract(schema: &Schema, name: &str) -> bool {
    matches!(schema.types.get(name), Some(ExtendedType::Union(_) | ExtendedType::Interface(_)))
}

/// Whether `object` is a possible type of the union or interface `abstract_type`.
fn is_possible(schema: &Schema, abstract_type: &str, object: &str) -> bool {
    match (schema.types.get(abstract_type), schema.types.get(object)) {
        (Some(ExtendedType::Union(u)), _) => u.members.iter().any(|m| m.name == object),
        (Some(ExtendedType::Interface(_)), Some(ExtendedType::Object(o))) => {
            o.implements_interfaces.iter().any(|i| i.name == abstract_type)
        }
        _ => false,
    }
}

fn field_definition<'a>(schema: &'a Schema, type_name: &str, field: &str) -> Option<&'a FieldDefinition> {
    match schema.types.get(type_name)? {
        ExtendedType::Object(o) => o.fields.get(field).map(|f| &***f),
        ExtendedType::Interface(i) => i.fields.get(field).map(|f| &***f),
        _ => None,
    }
}

/// Prunes `schema` to what `docs` reach and prints it.
pub fn prune_and_print(schema: &Schema, docs: &[ExecutableDocument]) -> String {
    let mut reach = Reach::default();
    for doc in docs {
        reach.add_document(schema, doc);
    }
    reach.close(schema);
    print(schema, &reach)
}

fn print(schema: &Schema, reach: &Reach) -> String {
    let mut out = String::from(
        "# Buildkite's GraphQL schema pruned to what graphql/**/*.graphql use.\n# Generated by `buildkite-mcp-server schema refresh`: do not edit by hand.\n",
    );
    // Root types with other names than Query / Mutation / Subscription need a schema block.
    let def = &schema.schema_definition;
    let roots = [
        ("query", &def.query, "Query"),
        ("mutation", &def.mutation, "Mutation"),
        ("subscription", &def.subscription, "Subscription"),
    ];
    let kept: Vec<(&str, &str)> = roots
        .iter()
        .filter_map(|(op, root, _)| root.as_ref().map(|r| (*op, r.name.as_str())))
        .filter(|(_, name)| reach.types.contains(*name))
        .collect();
    if roots.iter().any(|(_, root, default)| root.as_ref().is_some_and(|r| r.name != *default)) {
        out.push_str("\nschema {\n");
        for (op, name) in kept {
            let _ = writeln!(out, "  {op}: {name}");
        }
        out.push_str("}\n");
    }
    let empty = BTreeMap::new();
    for name in &reach.types {
        if name.starts_with("__") || BUILT_IN_SCALARS.contains(&name.as_str()) {
            continue;
        }
        let Some(ty) = schema.types.get(name.as_str()) else {
            continue;
        };
        out.push('\n');
        match ty {
            ExtendedType::Scalar(_) => {
                let _ = writeln!(out, "scalar {name}");
            }
            ExtendedType::Enum(e) => {
                let _ = writeln!(out, "enum {name} {{");
                let mut values: Vec<_> = e.values.iter().collect();
                values.sort_by_key(|(n, _)| n.as_str());
                for (value, def) in values {
                    let _ = writeln!(out, "  {value}{}", deprecation(&def.directives));
                }
                out.push_str("}\n");
            }
            ExtendedType::InputObject(input) => {
                let _ = writeln!(out, "input {name} {{");
                let mut fields: Vec<_> = input.fields.iter().collect();
                fields.sort_by_key(|(n, _)| n.as_str());
                for (field, def) in fields {
                    let default = def.default_value.as_ref().map(|v| format!(" = {v}")).unwrap_or_default();
                    let _ = writeln!(out, "  {field}: {}{default}{}", def.ty, deprecation(&def.directives));
                }
                out.push_str("}\n");
            }
            ExtendedType::Union(union) => {
                let mut members: Vec<&str> = union
                    .members
                    .iter()
                    .map(|m| m.name.as_str())
                    .filter(|m| reach.types.contains(*m) && reach.is_member(name, m))
                    .collect();
                members.sort_unstable();
                let _ = writeln!(out, "union {name} = {}", members.join(" | "));
            }
            ExtendedType::Object(object) => {
                let implements = implements(reach, object.implements_interfaces.iter().map(|i| i.name.as_str()));
                let _ = writeln!(out, "type {name}{implements} {{");
                print_fields(&mut out, reach.fields.get(name).unwrap_or(&empty), |f| {
                    object.fields.get(f).map(|d| &***d)
                });
                out.push_str("}\n");
            }
            ExtendedType::Interface(iface) => {
                let implements = implements(reach, iface.implements_interfaces.iter().map(|i| i.name.as_str()));
                let _ = writeln!(out, "interface {name}{implements} {{");
                print_fields(&mut out, reach.fields.get(name).unwrap_or(&empty), |f| {
                    iface.fields.get(f).map(|d| &***d)
                });
                out.push_str("}\n");
            }
        }
    }
    out
}

fn implements<'a>(reach: &Reach, interfaces: impl Iterator<Item = &'a str>) -> String {
    let mut kept: Vec<&str> = interfaces.filter(|i| reach.types.contains(*i)).collect();
    kept.sort_unstable();
    if kept.is_empty() { String::new() } else { format!(" implements {}", kept.join(" & ")) }
}

fn print_fields<'a>(
    out: &mut String,
    fields: &BTreeMap<String, BTreeSet<String>>,
    lookup: impl Fn(&str) -> Option<&'a FieldDefinition>,
) {
    for (field, used_args) in fields {
        let Some(def) = lookup(field) else {
            continue;
        };
        let args: Vec<String> = def
            .arguments
            .iter()
            .filter(|a| used_args.contains(a.name.as_str()))
            .map(|a| {
                let default = a.default_value.as_ref().map(|v| format!(" = {v}")).unwrap_or_default();
                format!("{}: {}{default}", a.name, a.ty)
            })
            .collect();
        let mut args = args;
        args.sort();
        let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
        let _ = writeln!(out, "  {field}{args}: {}{}", def.ty, deprecation(&def.directives));
    }
}

fn deprecation(directives: &DirectiveList) -> String {
    directives.iter().filter(|d| d.name == "deprecated").map(|d| format!(" {d}")).collect()
}

/// Fields marked `@deprecated` in `schema` that the documents select, as `Type.field`.
pub fn deprecated_in_use(schema: &Schema, docs: &[ExecutableDocument]) -> Vec<String> {
    let mut reach = Reach::default();
    for doc in docs {
        reach.add_document(schema, doc);
    }
    let mut found = Vec::new();
    for (ty, fields) in &reach.fields {
        for field in fields.keys() {
            if field_definition(schema, ty, field).is_some_and(|d| d.directives.get("deprecated").is_some()) {
                found.push(format!("{ty}.{field}"));
            }
        }
    }
    found
}
