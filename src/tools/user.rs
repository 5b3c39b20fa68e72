//! The token and its people: `current_user` (who the token belongs to, its organizations and
//! scopes) and `list_teams` (the organization's teams).

use super::args::{clamp, lenient_int};
use super::context::non_blank;
use super::kit::{Call, Hints, Rest, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::ORG_HINT;
use super::rows;
use crate::buildkite::ops::{CurrentUser, ListTeams, current_user, list_teams};
use crate::buildkite::rest::READ_WRITE_SCOPES;
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "current_user",
        toolset: Toolset::User,
        hints: Hints::READ,
        scopes: &["read_user"],
        rest: Rest::Same,
        description: "Who the API token belongs to, its organizations and scopes. Use when the organization is unknown.",
        handler: handler!(current_user, NoArgs),
    },
    Tool {
        name: "list_teams",
        toolset: Toolset::User,
        hints: Hints::READ,
        scopes: &["read_organizations"],
        rest: Rest::No,
        description: "An organization's teams: privacy, how many members and pipelines each has; search by name.",
        handler: handler!(list_teams, ListTeamsArgs),
    },
];

/// Arguments of `list_teams`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListTeamsArgs {
    /// Match team names.
    #[serde(default)]
    search: Option<String>,
    // Page size 1-100, default 30 (documented once, in the server instructions).
    #[serde(default, deserialize_with = "lenient_int")]
    first: Option<i64>,
    // next.after (documented once, in the server instructions).
    #[serde(default)]
    after: Option<String>,
}

/// No arguments of its own (`org` and `max_tokens` are accepted like on every tool).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// `current_user` without GraphQL access: `GET /v2/user`, and the organizations from
/// `GET /v2/organizations` when the token has `read_organizations`.
async fn current_user_rest(call: &Call<'_>) -> Result<String, ToolError> {
    let ctx = call.ctx;
    let wanted = Wanted::new("the token's user", "check the token at https://buildkite.com/user/api-access-tokens");
    let scopes = ctx.access.scopes(&ctx.api).await;
    let can_list = scopes.as_ref().map(|s| s.iter().any(|g| g == "read_organizations")).unwrap_or(true);
    let orgs_query = [("per_page", "50".to_string())];
    let (user, orgs) = tokio::join!(call.rest("v2/user", &[], &wanted), async {
        if can_list { call.rest("v2/organizations", &orgs_query, &wanted).await.ok() } else { None }
    });
    let user = user?.body;
    let text = |k: &str| user.get(k).and_then(Value::as_str).map(|v| render::clean_text(v, 100));
    let mut out = Map::new();
    out.insert("user".into(), json!({"name": text("name"), "email": text("email"), "uuid": text("id")}));
    if let Some(page) = orgs {
        let listed: Map<String, Value> = page
            .body
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| {
                let slug = o.get("slug")?.as_str()?.to_string();
                Some((slug, json!(render::clean_text(o.get("name").and_then(Value::as_str).unwrap_or(""), 100))))
            })
            .collect();
        out.insert("orgs".into(), Value::Object(listed));
    }
    finish(call, out).await
}

/// The keys both paths share: the default org, scopes and missing scopes, and the GraphQL note.
async fn finish(call: &Call<'_>, mut out: Map<String, Value>) -> Result<String, ToolError> {
    let ctx = call.ctx;
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
    if !call.graphql().await {
        out.insert("graphql".into(), json!(super::no_graphql_sentence()));
    }
    Ok(render::render_object(Value::Object(out), call.budget(1_000)))
}

async fn current_user(call: &Call<'_>, _args: NoArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return current_user_rest(call).await;
    }
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
    finish(call, out).await
}

async fn list_teams(call: &Call<'_>, args: ListTeamsArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    let variables = list_teams::Variables {
        org: org.clone(),
        first: clamp(args.first, 30, 1, 100),
        after: non_blank(args.after.as_deref()).map(str::to_string),
        search: non_blank(args.search.as_deref()).map(str::to_string),
    };
    let wanted = Wanted::new(format!("organization `{org}`"), ORG_HINT);
    let teams = wanted.found(call.query::<ListTeams>(variables, &wanted).await?.organization.and_then(|o| o.teams))?;
    let next = teams.page_info.clone().filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
    let mut page = Page::new(teams.count, next);
    for edge in teams.edges.unwrap_or_default().into_iter().flatten() {
        let Some(t) = edge.node else { continue };
        page.rows.push(json!({
            "slug": t.slug,
            "name": (!rows::same_name(&t.name, &t.slug)).then(|| render::clean_text(&t.name, 80)),
            "desc": t.description.as_deref().map(|d| render::first_line(d, 80)),
            "default": t.is_default_team.then_some(true),
            "members": t.members.map(|m| m.count),
            "pipelines": t.pipelines.map(|p| p.count),
            // Last: `hoist_usual` takes it out of most rows, and removing the last key keeps the order.
            "privacy": render::state(&t.privacy),
        }));
        page.cursors.push(Some(edge.cursor));
    }
    let mut head = Map::new();
    head.insert("org".into(), json!(org));
    render::hoist_usual(&mut head, &mut page.rows, &["privacy"]);
    Ok(render::render_page(head, "teams", page, call.budget(2_000)))
}
