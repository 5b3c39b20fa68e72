//! `list_agents` and `get_agent`: the organization's agents through GraphQL (which needs no
//! `read_agents` REST scope), with their queue, state and current job. Without GraphQL access they
//! answer over REST, which needs `read_agents` and lists only connected and stopping agents.

use super::args::{clamp, lenient_bool, lenient_int};
use super::context::non_blank;
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::{ORG_HINT, is_queue_id};
use super::rest::RestAgentRecord;
use super::rows::{self, outcome};
use crate::buildkite::ops::{GetAgent, ListAgents, get_agent, list_agents};
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Connection states an agent can be in (as Buildkite spells them).
const STATES: &[&str] = &["connected", "disconnected", "lost", "stopped", "stopping", "never_connected"];

/// Arguments of `list_agents`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAgentsArgs {
    /// Name or hostname.
    #[serde(default)]
    search: Option<String>,
    /// Queue key.
    #[serde(default)]
    queue: Option<String>,
    /// Cluster or queue ID (list_clusters).
    #[serde(default)]
    cluster: Option<String>,
    /// Busy (true) or idle (false).
    #[serde(default, deserialize_with = "lenient_bool")]
    running: Option<bool>,
    // Only paused agents.
    #[serde(default, deserialize_with = "lenient_bool")]
    paused: Option<bool>,
    /// connected, lost, disconnected, stopped...
    #[serde(default)]
    state: Option<String>,
    // Page size 1-100, default 30 (documented once, in the server instructions).
    #[serde(default, deserialize_with = "lenient_int")]
    first: Option<i64>,
    // next.after (documented once, in the server instructions).
    #[serde(default)]
    after: Option<String>,
}

/// Arguments of `get_agent`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetAgentArgs {
    /// Agent name or UUID.
    agent: String,
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "list_agents",
        toolset: Toolset::Agents,
        hints: Hints::READ,
        scopes: &["read_organizations"],
        rest: Rest::Scopes(&["read_agents"]),
        description: "List agents: state, queue, version, current job; filter by name, queue, cluster, busy, paused or state.",
        handler: handler!(list_agents, ListAgentsArgs),
    },
    Tool {
        name: "get_agent",
        toolset: Toolset::Agents,
        hints: Hints::READ,
        scopes: &["read_organizations"],
        rest: Rest::Scopes(&["read_agents"]),
        description: "One agent by name or UUID: host, version, tags, queue, pause, current job and build, heartbeat, recent jobs.",
        handler: handler!(get_agent, GetAgentArgs),
    },
];

fn args_error(detail: impl Into<String>) -> ToolError {
    ToolError::args(detail)
}

/// `pipeline/number` of a job's build.
fn build_of(pipeline: &str, number: i64) -> String {
    format!("{pipeline}/{number}")
}

/// What REST lacks in `get_agent`, said once.
const REST_LACKS: &str = "since, heartbeat, cluster, queue_id, os, version warnings and recent_jobs are not available without GraphQL access";

/// `list_agents` without GraphQL access: one page of `GET …/agents` (`name` filters by name; REST
/// lists only connected and stopping agents, gives no total, and cannot filter by cluster; the
/// queue, busy, paused and state filters apply to the page read).
async fn list_agents_rest(call: &Call<'_>, org: String, args: ListAgentsArgs, state: Option<String>) -> Result<String, ToolError> {
    if non_blank(args.cluster.as_deref()).is_some() {
        return Err(args_error("filtering agents by cluster needs GraphQL access: filter by `queue` instead"));
    }
    let page = super::args::page_number(args.after.as_deref())?;
    let mut query = vec![("per_page", clamp(args.first, 30, 1, 100).to_string()), ("page", page.to_string())];
    if let Some(search) = non_blank(args.search.as_deref()) {
        query.push(("name", search.to_string()));
    }
    let wanted = Wanted::new(format!("organization `{org}`"), ORG_HINT);
    let (agents, next) =
        call.rest_typed::<Vec<RestAgentRecord>>(&format!("v2/organizations/{org}/agents"), &query, &wanted).await?;
    let queue = non_blank(args.queue.as_deref());
    let mut rows = Page { next_after: next.map(|n| n.to_string()), ..Page::default() };
    let mut skipped = 0;
    for a in &agents {
        let keep = queue.is_none_or(|q| rows::queue_tag(&a.meta_data).is_some_and(|t| t.eq_ignore_ascii_case(q)))
            && args.running.is_none_or(|r| r == a.job.is_some())
            && (args.paused != Some(true) || a.paused)
            && state.as_deref().is_none_or(|s| a.connection_state.eq_ignore_ascii_case(s));
        if !keep {
            skipped += 1;
            continue;
        }
        rows.rows.push(rows::agent_row_from_rest(a));
        // Pages are numbered: a cut page resumes at the next page.
        rows.cursors.push(None);
    }
    let mut head = Map::new();
    head.insert("org".into(), json!(org));
    if skipped > 0 {
        head.insert("filtered".into(), json!(format!("{skipped} agents of this page do not match the filters")));
    }
    if rows.rows.is_empty() && rows.next_after.is_none() {
        head.insert("total".into(), json!(0));
        return Ok(render::to_json(&Value::Object(head)));
    }
    render::hoist_usual(&mut head, &mut rows.rows, &["state", "version", "queue"]);
    Ok(render::render_page(head, "agents", rows, call.budget(3_000)))
}

/// `get_agent` without GraphQL access: `GET …/agents/{uuid}`, or by name the connected agents
/// REST finds with `name`.
async fn get_agent_rest(call: &Call<'_>, org: &str, wanted: &str) -> Result<String, ToolError> {
    let agent_wanted =
        Wanted::new(format!("agent `{}` in `{org}`", render::clean_text(wanted, 100)), "list_agents with search finds agents by name");
    let a = if crate::buildkite::ids::is_uuid(wanted) {
        let path = format!("v2/organizations/{org}/agents/{}", wanted.to_ascii_lowercase());
        call.rest_typed::<RestAgentRecord>(&path, &[], &agent_wanted).await?.0
    } else {
        let query = [("name", wanted.to_string()), ("per_page", "10".to_string())];
        let (found, _) =
            call.rest_typed::<Vec<RestAgentRecord>>(&format!("v2/organizations/{org}/agents"), &query, &agent_wanted).await?;
        let exact: Vec<&RestAgentRecord> = found.iter().filter(|a| a.name.eq_ignore_ascii_case(wanted)).collect();
        match (exact.as_slice(), found.as_slice()) {
            ([one], _) => (*one).clone(),
            ([], [one]) => one.clone(),
            (_, []) => return Err(agent_wanted.not_found()),
            (many, all) => {
                let listed: Vec<String> = (if many.is_empty() { all.iter().collect() } else { many.to_vec() })
                    .into_iter()
                    .take(8)
                    .map(|a| format!("{} ({}, {})", render::clean_text(&a.name, 60), a.id, a.connection_state))
                    .collect();
                return Err(args_error(format!("`{wanted}` matches several agents: {}; pass the UUID", listed.join(", "))));
            }
        }
    };
    let mut out = rows::agent_detail_from_rest(&a);
    out.insert("not_over_rest".into(), json!(REST_LACKS));
    Ok(render::render_object(Value::Object(out), call.budget(2_000)))
}

async fn list_agents(call: &Call<'_>, args: ListAgentsArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    let state = non_blank(args.state.as_deref()).map(str::to_ascii_lowercase);
    if let Some(s) = &state
        && !STATES.contains(&s.as_str())
    {
        return Err(args_error(format!("unknown state `{s}`: use {}", STATES.join(", "))));
    }
    if !call.graphql().await {
        return list_agents_rest(call, org, args, state).await;
    }
    // A cluster-queue ID and a cluster ID look alike: a queue's decodes to `ClusterQueue-…`.
    let (cluster, cluster_queue) = match non_blank(args.cluster.as_deref()) {
        None => (None, None),
        Some(id) if is_queue_id(id) => (None, Some(vec![id.to_string()])),
        Some(id) => (Some(id.to_string()), None),
    };
    let variables = list_agents::Variables {
        org: org.clone(),
        first: clamp(args.first, 30, 1, 100),
        after: non_blank(args.after.as_deref()).map(str::to_string),
        search: non_blank(args.search.as_deref()).map(str::to_string),
        meta_data: non_blank(args.queue.as_deref()).map(|q| vec![format!("queue={q}")]),
        cluster,
        cluster_queue,
        is_running_job: args.running,
        paused: args.paused.filter(|p| *p),
    };
    let wanted = Wanted::new(
        format!("organization `{org}`"),
        "check the slug with current_user, and a cluster ID with list_clusters",
    );
    let data = call.query::<ListAgents>(variables, &wanted).await?;
    let agents = Wanted::new(wanted.what, ORG_HINT).found(data.organization.and_then(|o| o.agents))?;
    let next = agents.page_info.filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
    let mut page = Page::new(agents.count, next);
    let mut skipped = 0;
    use list_agents::ListAgentsOrganizationAgentsEdgesNodeJob as Job;
    for edge in agents.edges.unwrap_or_default().into_iter().flatten() {
        let Some(a) = edge.node else { continue };
        let connection = a.connection_state.to_ascii_lowercase();
        if state.as_deref().is_some_and(|s| s != connection) {
            skipped += 1;
            continue;
        }
        let queue = a.cluster_queue.as_ref().map(|q| q.key.clone()).or_else(|| queue_tag(a.meta_data.as_deref()));
        let job = match a.job {
            Some(Job::JobTypeCommand(j)) => Some(json!({
                "job": j.uuid,
                "label": j.label.as_deref().map(|l| render::clean_text(l, 60)),
                "build": j.build.map(|b| build_of(&b.pipeline.slug, b.number)),
            })),
            _ => None,
        };
        // No UUID: get_agent takes the name.
        page.rows.push(json!({
            "name": render::clean_text(&a.name, 80),
            "state": connection,
            "queue": queue,
            "paused": a.paused.then_some(true),
            "version": a.version,
            "job": job,
        }));
        page.cursors.push(Some(edge.cursor));
    }
    let mut head = Map::new();
    head.insert("org".into(), json!(org));
    if skipped > 0 {
        head.insert(
            "filtered".into(),
            json!(format!("{skipped} agents of this page are not {}", state.unwrap_or_default())),
        );
    }
    render::hoist_usual(&mut head, &mut page.rows, &["state", "version", "queue"]);
    Ok(render::render_page(head, "agents", page, call.budget(3_000)))
}

/// The `queue=` tag of an agent's metadata.
fn queue_tag(meta: Option<&[String]>) -> Option<String> {
    meta?.iter().find_map(|m| m.strip_prefix("queue=").map(str::to_string))
}

async fn get_agent(call: &Call<'_>, args: GetAgentArgs) -> Result<String, ToolError> {
    let wanted = args.agent.trim();
    if wanted.is_empty() {
        return Err(args_error("pass the agent's name or UUID (list_agents lists them)"));
    }
    let org = call.org().await?;
    if !call.graphql().await {
        return get_agent_rest(call, &org, wanted).await;
    }
    let by_uuid = crate::buildkite::ids::is_uuid(wanted);
    let variables = get_agent::Variables {
        slug: if by_uuid { format!("{org}/{}", wanted.to_ascii_lowercase()) } else { format!("{org}/-") },
        org: org.clone(),
        search: (!by_uuid).then(|| wanted.to_string()),
        by_slug: by_uuid,
        matches: if by_uuid { 1 } else { NAME_MATCHES },
    };
    let agent_wanted =
        Wanted::new(format!("agent `{}` in `{org}`", render::clean_text(wanted, 100)), "list_agents with search finds agents by name");
    let data = call.query::<GetAgent>(variables, &agent_wanted).await?;
    let agent = if by_uuid {
        data.agent
    } else {
        let found: Vec<get_agent::AgentDetail> = nodes!(data.organization.and_then(|o| o.agents)).collect();
        // Names need not be unique (a reconnected agent keeps its name): a connected exact match
        // wins; several exact matches are listed with their UUIDs.
        let exact: Vec<usize> = (0..found.len()).filter(|i| found[*i].name.eq_ignore_ascii_case(wanted)).collect();
        let connected: Vec<usize> =
            exact.iter().copied().filter(|i| found[*i].connection_state.eq_ignore_ascii_case("connected")).collect();
        let pick = match (connected.as_slice(), exact.as_slice()) {
            ([one], _) | ([], [one]) => Some(*one),
            _ if exact.is_empty() && found.len() == 1 => Some(0),
            _ => None,
        };
        match pick {
            Some(i) => found.into_iter().nth(i),
            None if found.is_empty() => None,
            None => {
                let listed: Vec<String> = (if exact.is_empty() { (0..found.len()).collect() } else { exact })
                    .into_iter()
                    .take(8)
                    .map(|i| {
                        format!(
                            "{} ({}, {})",
                            render::clean_text(&found[i].name, 60),
                            found[i].uuid,
                            found[i].connection_state
                        )
                    })
                    .collect();
                return Err(args_error(format!("`{wanted}` matches several agents: {}; pass the UUID", listed.join(", ")),
                ));
            }
        }
    };
    let a = agent_wanted.found(agent)?;
    Ok(render::render_object(reshape(a), call.budget(2_000)))
}

/// Agents a name search reads (each in full: about 30 complexity points).
const NAME_MATCHES: i64 = 15;

fn reshape(a: get_agent::AgentDetail) -> Value {
    use get_agent::{AgentDetailJob as Current, AgentDetailJobsEdgesNode as Recent};
    let connection = a.connection_state.to_ascii_lowercase();
    let mut out = Map::new();
    out.insert("name".into(), json!(render::clean_text(&a.name, 80)));
    out.insert("id".into(), json!(a.uuid));
    out.insert("state".into(), json!(connection));
    let since = match connection.as_str() {
        "lost" => a.lost_at.as_deref(),
        "disconnected" | "stopped" => a.disconnected_at.as_deref(),
        _ => a.connected_at.as_deref(),
    };
    out.insert("since".into(), json!(since.map(render::timestamp)));
    out.insert("heartbeat".into(), json!(a.heartbeat_at.as_deref().map(render::timestamp)));
    if let Some(q) = &a.cluster_queue {
        out.insert("queue".into(), json!(q.key));
        out.insert("queue_id".into(), json!(q.id));
        out.insert("cluster".into(), json!(q.cluster.as_ref().map(|c| render::clean_text(&c.name, 60))));
    }
    out.insert("host".into(), json!(a.hostname.as_deref().map(|h| render::clean_text(h, 80))));
    out.insert("ip".into(), json!(a.ip_address));
    out.insert("os".into(), json!(a.operating_system.map(|o| render::clean_text(&o.name, 60))));
    let mut version = a.version.clone().unwrap_or_default();
    if a.version_has_known_issues {
        version.push_str(" (has known issues: upgrade)");
    } else if a.is_deprecated {
        version.push_str(" (deprecated: upgrade)");
    }
    out.insert("version".into(), json!(version));
    out.insert("priority".into(), json!(a.priority.filter(|p| *p != 0)));
    let tags: Vec<String> = a.meta_data.unwrap_or_default().iter().map(|m| render::clean_text(m, 120)).collect();
    out.insert("tags".into(), json!(tags));
    if a.paused {
        out.insert(
            "paused".into(),
            json!({
                "at": a.paused_at.as_deref().map(render::timestamp),
                "by": a.paused_by.map(|u| rows::person(&u.name)),
                "note": a.paused_note.as_deref().map(|n| render::clean_text(n, 300)),
                "timeout_min": Some(a.paused_timeout_in_minutes).filter(|m| *m > 0),
            }),
        );
    }
    let mut current = None;
    if let Some(Current::JobTypeCommand(j)) = a.job {
        current = Some(j.uuid.clone());
        out.insert(
            "job".into(),
            json!({
                "job": j.uuid,
                "label": j.label.as_deref().map(|l| render::clean_text(l, 80)),
                "state": render::state(&j.state),
                "started": j.started_at.as_deref().map(render::timestamp),
                "build": j.build.as_ref().map(|b| build_of(&b.pipeline.slug, b.number)),
                "build_state": j.build.as_ref().map(|b| render::state(&b.state)),
            }),
        );
    } else if a.is_running_job {
        out.insert("job".into(), json!("running a job this token cannot see"));
    }
    let recent: Vec<Value> = nodes!(a.jobs)
        .filter_map(|n| match n {
            // The current job is shown above, not again among the recent ones.
            Recent::JobTypeCommand(j) if current.as_deref() == Some(j.uuid.as_str()) => None,
            Recent::JobTypeCommand(j) => Some(json!({
                "job": j.uuid,
                "label": j.label.as_deref().map(|l| render::clean_text(l, 60)),
                "state": outcome(&j.state, j.passed, false),
                "build": j.build.map(|b| build_of(&b.pipeline.slug, b.number)),
                "finished": j.finished_at.as_deref().map(render::timestamp),
            })),
            _ => None,
        })
        .collect();
    out.insert("recent_jobs".into(), Value::Array(recent));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_tag_comes_from_metadata() {
        let meta = vec!["aws:instance-type=c6i.2xlarge".to_string(), "queue=rspec".to_string()];
        assert_eq!(queue_tag(Some(&meta)).as_deref(), Some("rspec"));
        assert_eq!(queue_tag(None), None);
    }
}
