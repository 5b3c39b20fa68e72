//! `current_user`: who the token belongs to, its organizations, and its scopes.

use super::args::{budget, lenient_int};
use super::schema::input_schema;
use super::{Ctx, ToolError, ToolSpec, Toolset};
use crate::buildkite::ops::{CurrentUser, current_user};
use crate::buildkite::rest::READ_WRITE_SCOPES;
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Arguments of `current_user`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CurrentUserArgs {
    /// Accepted like on every tool; the answer lists every organization anyway.
    #[schemars(skip)]
    #[serde(default)]
    #[allow(dead_code)]
    org: Option<String>,
    /// Output budget in tokens.
    #[schemars(skip)]
    #[serde(default, deserialize_with = "lenient_int")]
    max_tokens: Option<i64>,
}

pub(super) fn specs() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "current_user",
        toolset: Toolset::User,
        read_only: true,
        scopes: &["read_user"],
        description: "Who the API token belongs to, its organizations and scopes. Use when the organization is unknown.",
        schema: input_schema::<CurrentUserArgs>,
    }]
}

pub(super) async fn current_user(ctx: &Ctx, args: CurrentUserArgs) -> Result<String, ToolError> {
    let data = ctx.api.execute::<CurrentUser>(current_user::Variables).await?;
    let viewer = data.viewer;
    let mut out = Map::new();
    if let Some(user) = viewer.as_ref().and_then(|v| v.user.as_ref()) {
        out.insert(
            "user".into(),
            json!({"name": render::clean_text(&user.name, 100), "email": render::clean_text(&user.email, 100), "uuid": user.uuid}),
        );
    }
    if let Some(orgs) = viewer.and_then(|v| v.organizations) {
        let listed: Map<String, Value> = orgs
            .edges
            .unwrap_or_default()
            .into_iter()
            .flatten()
            .filter_map(|e| e.node)
            .map(|n| (n.slug, Value::String(render::clean_text(&n.name, 100))))
            .collect();
        if orgs.count > listed.len() as i64 {
            out.insert("orgs_total".into(), json!(orgs.count));
        }
        out.insert("orgs".into(), Value::Object(listed));
    }
    if let Ok(Some(org)) = ctx.org.get(&ctx.api).await {
        out.insert("default_org".into(), json!(org));
    }
    match ctx.access.scopes(&ctx.api).await {
        Ok(scopes) => {
            out.insert("scopes".into(), json!(scopes));
            let missing: Vec<&str> =
                READ_WRITE_SCOPES.iter().copied().filter(|s| !scopes.iter().any(|g| g == s)).collect();
            out.insert("missing_scopes".into(), json!(missing));
        }
        Err(e) => {
            out.insert("scopes".into(), json!(format!("unknown: {e}")));
        }
    }
    Ok(render::render_object(Value::Object(out), budget(args.max_tokens, 1_000)))
}
