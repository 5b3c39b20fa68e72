//! Turns a GraphQL introspection result (JSON) into SDL, and holds the introspection query.

use serde::Deserialize;
use std::fmt::Write as _;

/// The standard introspection query (deprecated fields and enum values included).
pub const QUERY: &str = r#"query IntrospectionQuery {
  __schema {
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
  }
}
fragment FullType on __Type {
  kind name
  fields(includeDeprecated: true) { name args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}"#;

#[derive(Deserialize)]
struct Envelope {
    data: Option<Data>,
    #[serde(rename = "__schema")]
    schema: Option<SchemaJson>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "__schema")]
    schema: SchemaJson,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SchemaJson {
    query_type: Option<Named>,
    mutation_type: Option<Named>,
    subscription_type: Option<Named>,
    types: Vec<FullType>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FullType {
    kind: String,
    name: String,
    fields: Option<Vec<Field>>,
    input_fields: Option<Vec<InputValue>>,
    interfaces: Option<Vec<TypeRef>>,
    enum_values: Option<Vec<EnumValue>>,
    possible_types: Option<Vec<TypeRef>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Field {
    name: String,
    #[serde(default)]
    args: Vec<InputValue>,
    #[serde(rename = "type")]
    ty: TypeRef,
    #[serde(default)]
    is_deprecated: bool,
    deprecation_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputValue {
    name: String,
    #[serde(rename = "type")]
    ty: TypeRef,
    default_value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnumValue {
    name: String,
    #[serde(default)]
    is_deprecated: bool,
    deprecation_reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TypeRef {
    kind: String,
    name: Option<String>,
    of_type: Option<Box<TypeRef>>,
}

impl TypeRef {
    fn render(&self) -> Result<String, String> {
        match self.kind.as_str() {
            "NON_NULL" => Ok(format!("{}!", self.inner()?.render()?)),
            "LIST" => Ok(format!("[{}]", self.inner()?.render()?)),
            _ => self.name.clone().ok_or_else(|| "a named type has no name".to_string()),
        }
    }
    fn inner(&self) -> Result<&TypeRef, String> {
        self.of_type.as_deref().ok_or_else(|| format!("{} type without ofType", self.kind))
    }
}

fn deprecated(is: bool, reason: &Option<String>) -> String {
    if !is {
        return String::new();
    }
    match reason {
        Some(r) => format!(" @deprecated(reason: {})", serde_json::Value::String(r.clone())),
        None => " @deprecated".to_string(),
    }
}

fn input_value(v: &InputValue) -> Result<String, String> {
    let default = v.default_value.as_ref().map(|d| format!(" = {d}")).unwrap_or_default();
    Ok(format!("{}: {}{default}", v.name, v.ty.render()?))
}

/// Converts introspection JSON (`{"data":{"__schema":…}}` or `{"__schema":…}`) into SDL.
pub fn to_sdl(json: &str) -> Result<String, String> {
    let envelope: Envelope = serde_json::from_str(json).map_err(|e| format!("not an introspection result: {e}"))?;
    let schema = match (envelope.data, envelope.schema) {
        (Some(data), _) => data.schema,
        (None, Some(schema)) => schema,
        (None, None) => return Err("no __schema in the introspection result".to_string()),
    };
    let mut out = String::new();
    let roots = [
        ("query", &schema.query_type, "Query"),
        ("mutation", &schema.mutation_type, "Mutation"),
        ("subscription", &schema.subscription_type, "Subscription"),
    ];
    if roots.iter().any(|(_, t, default)| t.as_ref().is_some_and(|t| t.name != *default)) {
        out.push_str("schema {\n");
        for (op, t, _) in roots {
            if let Some(t) = t {
                let _ = writeln!(out, "  {op}: {}", t.name);
            }
        }
        out.push_str("}\n\n");
    }
    for ty in &schema.types {
        if ty.name.starts_with("__") {
            continue;
        }
        match ty.kind.as_str() {
            "SCALAR" => {
                if !["String", "Int", "Float", "Boolean", "ID"].contains(&ty.name.as_str()) {
                    let _ = writeln!(out, "scalar {}\n", ty.name);
                }
            }
            "OBJECT" | "INTERFACE" => {
                let keyword = if ty.kind == "OBJECT" { "type" } else { "interface" };
                let interfaces: Vec<String> =
                    ty.interfaces.iter().flatten().map(TypeRef::render).collect::<Result<_, _>>()?;
                let implements = if interfaces.is_empty() {
                    String::new()
                } else {
                    format!(" implements {}", interfaces.join(" & "))
                };
                let _ = writeln!(out, "{keyword} {}{implements} {{", ty.name);
                for field in ty.fields.iter().flatten() {
                    let args: Vec<String> = field.args.iter().map(input_value).collect::<Result<_, _>>()?;
                    let args = if args.is_empty() { String::new() } else { format!("({})", args.join(", ")) };
                    let _ = writeln!(
                        out,
                        "  {}{args}: {}{}",
                        field.name,
                        field.ty.render()?,
                        deprecated(field.is_deprecated, &field.deprecation_reason)
                    );
                }
                out.push_str("}\n\n");
            }
            "UNION" => {
                let members: Vec<String> =
                    ty.possible_types.iter().flatten().map(TypeRef::render).collect::<Result<_, _>>()?;
                let _ = writeln!(out, "union {} = {}\n", ty.name, members.join(" | "));
            }
            "ENUM" => {
                let _ = writeln!(out, "enum {} {{", ty.name);
                for value in ty.enum_values.iter().flatten() {
                    let _ =
                        writeln!(out, "  {}{}", value.name, deprecated(value.is_deprecated, &value.deprecation_reason));
                }
                out.push_str("}\n\n");
            }
            "INPUT_OBJECT" => {
                let _ = writeln!(out, "input {} {{", ty.name);
                for field in ty.input_fields.iter().flatten() {
                    let _ = writeln!(out, "  {}", input_value(field)?);
                }
                out.push_str("}\n\n");
            }
            other => return Err(format!("unknown type kind {other} for {}", ty.name)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_a_small_introspection_result_to_sdl() {
        let json = r#"{"data":{"__schema":{"queryType":{"name":"Query"},"mutationType":null,"subscriptionType":null,"types":[
          {"kind":"OBJECT","name":"Query","fields":[{"name":"build","args":[{"name":"slug","type":{"kind":"SCALAR","name":"ID","ofType":null},"defaultValue":null}],"type":{"kind":"OBJECT","name":"Build","ofType":null},"isDeprecated":false,"deprecationReason":null}],"inputFields":null,"interfaces":[],"enumValues":null,"possibleTypes":null},
          {"kind":"OBJECT","name":"Build","fields":[{"name":"number","args":[],"type":{"kind":"NON_NULL","name":null,"ofType":{"kind":"SCALAR","name":"Int","ofType":null}},"isDeprecated":true,"deprecationReason":"Use id"}],"inputFields":null,"interfaces":[],"enumValues":null,"possibleTypes":null},
          {"kind":"ENUM","name":"State","fields":null,"inputFields":null,"interfaces":null,"enumValues":[{"name":"PASSED","isDeprecated":false,"deprecationReason":null}],"possibleTypes":null}
        ]}}}"#;
        let sdl = to_sdl(json).unwrap();
        assert!(sdl.contains("type Query {\n  build(slug: ID): Build\n}"), "{sdl}");
        assert!(sdl.contains("number: Int! @deprecated(reason: \"Use id\")"), "{sdl}");
        assert!(sdl.contains("enum State {\n  PASSED\n}"), "{sdl}");
    }

    #[test]
    fn rejects_json_that_is_not_introspection() {
        assert!(to_sdl(r#"{"hello":1}"#).is_err());
        assert!(to_sdl("not json").is_err());
    }
}
