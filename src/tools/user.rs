//! The token and its people: `current_user` (who the token belongs to, its organizations and scopes).

use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use crate::buildkite::ops::{CurrentUser, current_user};
use crate::buildkite::rest::READ_WRITE_SCOPES;
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[Tool {
    name: "current_user",
    toolset: Toolset::User,
    hints: Hints::READ,
    scopes: &["read_user"],
    rest: Rest::No,
    description: "Who the API token belongs to, its organizations and scopes. Use when the organization is unknown.",
    handler: handler!(current_user, NoArgs),
}];

/// No arguments of its own (`org` and `max_tokens` are accepted like on every tool).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

async fn current_user(call: &Call<'_>, _args: NoArgs) -> Result<String, ToolError> {
    let ctx = call.ctx;
    let wanted = Wanted::new("the token's user", "check the token at https://buildkite.com/user/api-access-tokens");
    let data = call.query::<CurrentUser>(current_user::Variables, &wanted).await?;
    let viewer = data.viewer;
    let mut out = Map::new();
    if let Some(user) = viewer.as_ref().and_then(|v| v.user.as_ref()) {
        out.insert(
            "user".into(),
            json!({"name": render::clean_text(&user.name, 100), "email": render::clean_text(&user.email, 100), "uuid": user.uuid}),
        );
    }
    if let Some(orgs) = viewer.and_then(|v| v.organizations) {
        let count = orgs.count;
        let listed: Map<String, Value> =
            nodes!(Some(orgs)).map(|n| (n.slug, Value::String(render::clean_text(&n.name, 100)))).collect();
        if count > listed.len() as i64 {
            out.insert("orgs_total".into(), json!(count));
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
    Ok(render::render_object(Value::Object(out), call.budget(1_000)))
}
