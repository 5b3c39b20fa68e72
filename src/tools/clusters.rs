//! `list_clusters` (every queue's live metrics, busiest first) and `get_queue` (one queue: its
//! agents, the jobs waiting for them and running on them, and what holds them up).

use super::args::{clamp, lenient_int};
use super::context::non_blank;
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::is_queue_id;
use super::rest::RestClusterQueues;
use super::rows;
use crate::buildkite::ops::{GetQueue, ListClusters, get_queue, list_clusters};
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Arguments of `list_clusters`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListClustersArgs {
    /// One cluster, by name or UUID.
    #[serde(default)]
    cluster: Option<String>,
}

/// Arguments of `get_queue`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetQueueArgs {
    /// Queue ID from list_clusters, or its key.
    queue: String,
    /// Cluster name or UUID, when a key is in several clusters.
    #[serde(default)]
    cluster: Option<String>,
    /// Waiting and running jobs to list (default 10, max 50).
    #[serde(default, deserialize_with = "lenient_int")]
    jobs: Option<i64>,
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "list_clusters",
        toolset: Toolset::Clusters,
        hints: Hints::READ,
        scopes: &["read_clusters"],
        rest: Rest::Same,
        description: "Clusters and every queue's live load: agents, running and waiting jobs, wait times, dispatch paused. Busiest queues first.",
        handler: handler!(list_clusters, ListClustersArgs),
    },
    Tool {
        name: "get_queue",
        toolset: Toolset::Clusters,
        hints: Hints::READ,
        scopes: &["read_clusters"],
        rest: Rest::Same,
        description: "One cluster queue: load, agents busy or paused, the jobs waiting and running, and why jobs wait.",
        handler: handler!(get_queue, GetQueueArgs),
    },
];

/// Seconds, rounded, from the API's float.
fn secs(f: f64) -> i64 {
    f.round() as i64
}

/// What REST lacks, said once in its outputs.
const NO_METRICS: &str = "not available without GraphQL access";

/// The clusters `wanted` names over REST (a UUID, or words of a name), all when `None`.
async fn find_rest_clusters(
    call: &Call<'_>,
    org: &str,
    wanted: Option<&str>,
) -> Result<Vec<RestClusterQueues>, ToolError> {
    match wanted {
        Some(u) if crate::buildkite::ids::is_uuid(u) => call.rest_clusters(org, Some(&u.to_ascii_lowercase())).await,
        Some(name) => {
            named_like(call.rest_clusters(org, None).await?, name, org, |c| &c.cluster.name)
        }
        None => call.rest_clusters(org, None).await,
    }
}

/// `list_clusters` without GraphQL access: the clusters and their queues (REST has no live
/// metrics, so queues keep the API's key order and the output says so once).
async fn list_clusters_rest(call: &Call<'_>, args: ListClustersArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    let found = find_rest_clusters(call, &org, non_blank(args.cluster.as_deref())).await?;
    let rows: Vec<Value> = found
        .iter()
        .map(|c| {
            json!({
                "name": render::clean_text(&c.cluster.name, 80),
                "id": c.cluster.id,
                "default_queue": c.default_queue(),
                "queues": c.queues.iter().map(rows::queue_row_from_rest).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut out = Map::new();
    out.insert("org".into(), json!(org));
    out.insert("metrics".into(), json!(NO_METRICS));
    out.insert("clusters".into(), Value::Array(rows));
    Ok(render::render_object(Value::Object(out), call.budget(3_000)))
}

/// The clusters whose name contains `name` (any case), else a sentence listing the organization's
/// clusters (GraphQL and REST find clusters by name alike).
fn named_like<T>(all: Vec<T>, name: &str, org: &str, name_of: impl Fn(&T) -> &String) -> Result<Vec<T>, ToolError> {
    let lower = name.to_lowercase();
    let names: Vec<String> = all.iter().map(|c| name_of(c).clone()).collect();
    let picked: Vec<T> = all.into_iter().filter(|c| name_of(c).to_lowercase().contains(&lower)).collect();
    if picked.is_empty() {
        return Err(ToolError::args(format!(
            "no cluster named like `{}` in `{org}`: its clusters are {}",
            render::clean_text(name, 100),
            names.join(", ")
        )));
    }
    Ok(picked)
}

/// The one (cluster name, queue) a queue key or ID matched, else a not-found or a "pass `cluster`"
/// sentence (GraphQL and REST look queues up alike).
fn one_queue<'a, N: AsRef<str>, Q>(matches: &'a [(N, Q)], wanted: &str, org: &str) -> Result<&'a (N, Q), ToolError> {
    match matches {
        [one] => Ok(one),
        [] => Err(Wanted::new(
            format!("queue `{}` in `{org}`", render::clean_text(wanted, 100)),
            "list_clusters lists every cluster's queues",
        )
        .not_found()),
        many => {
            let names: Vec<String> = many.iter().map(|(c, _)| render::clean_text(c.as_ref(), 60)).collect();
            Err(ToolError::args(format!("queue `{wanted}` is in several clusters ({}): pass `cluster`", names.join(", "))))
        }
    }
}

/// `get_queue` without GraphQL access: the queue found among its clusters' queues (by GraphQL
/// ID, UUID or key). REST lists neither a queue's agents (that needs `read_agents`) nor its
/// waiting and running jobs, and has no metrics: those are left out and said so once.
async fn get_queue_rest(call: &Call<'_>, args: GetQueueArgs) -> Result<String, ToolError> {
    let org = call.org().await?;
    let wanted = args.queue.trim();
    if wanted.is_empty() {
        return Err(ToolError::args("pass a queue ID or key (list_clusters lists them)"));
    }
    let found = find_rest_clusters(call, &org, non_blank(args.cluster.as_deref())).await?;
    let mut matches = Vec::new();
    for c in &found {
        for q in &c.queues {
            let by_id = q.graphql_id.as_deref() == Some(wanted) || q.id.eq_ignore_ascii_case(wanted);
            if by_id || (!is_queue_id(wanted) && q.key.eq_ignore_ascii_case(wanted)) {
                matches.push((c.cluster.name.as_str(), q));
            }
        }
    }
    let (cluster, q) = *one_queue(&matches, wanted, &org)?;
    let mut out = Map::new();
    for (k, v) in rows::queue_detail_from_rest(q, cluster) {
        out.insert(k.into(), v);
    }
    out.insert("metrics".into(), json!(format!("{NO_METRICS} (agents, waiting and running jobs, wait times)")));
    Ok(render::render_object(Value::Object(out), call.budget(3_000)))
}

/// Clusters listed with their queues' metrics when no cluster is named (each queue costs 4
/// complexity points, so 10 × 10 keeps the request under 500).
const LISTED_CLUSTERS: i64 = 10;
/// Queues per cluster in that listing.
const LISTED_QUEUES: i64 = 10;
/// Queues of one named cluster.
const ONE_CLUSTER_QUEUES: i64 = 50;
/// Clusters searched for a name (with one queue each: about 8 points a cluster).
const NAMED_CLUSTERS: i64 = 50;

/// One request for the clusters (all, or one by UUID), `clusters` × `queues` of them.
async fn clusters(
    call: &Call<'_>,
    org: &str,
    uuid: Option<&str>,
    (clusters, queues): (i64, i64),
) -> Result<(Vec<list_clusters::ClusterDetail>, i64), ToolError> {
    // Both branches count towards the requested complexity: the listing's is one cluster wide
    // when one cluster is asked for.
    let variables = list_clusters::Variables {
        org: org.to_string(),
        cluster: uuid.unwrap_or_default().to_string(),
        one: uuid.is_some(),
        clusters: if uuid.is_some() { 1 } else { clusters },
        queues,
    };
    let what = match uuid {
        Some(u) => format!("cluster {u} in `{org}`"),
        None => format!("organization `{org}`"),
    };
    let wanted = Wanted::new(what, "list_clusters lists the organization's clusters");
    let org_data = wanted.found(call.query::<ListClusters>(variables, &wanted).await?.organization)?;
    let total = org_data.clusters.as_ref().map(|c| c.count).unwrap_or(1);
    Ok(match uuid {
        Some(_) => (vec![wanted.found(org_data.cluster)?], 1),
        None => (nodes!(org_data.clusters).collect(), total),
    })
}

/// The clusters `wanted` names (a UUID, or words of a name) with up to 50 queues each, else the
/// first [`LISTED_CLUSTERS`] with [`LISTED_QUEUES`] queues each, and how many clusters there are.
/// A name is looked up first among 50 clusters (one more request, one queue each).
async fn find_clusters(
    call: &Call<'_>,
    org: &str,
    wanted: Option<&str>,
) -> Result<(Vec<list_clusters::ClusterDetail>, i64), ToolError> {
    let one = |uuid: String| async move { clusters(call, org, Some(&uuid), (1, ONE_CLUSTER_QUEUES)).await };
    match wanted {
        Some(u) if crate::buildkite::ids::is_uuid(u) => one(u.to_ascii_lowercase()).await,
        Some(name) => {
            let (all, _) = clusters(call, org, None, (NAMED_CLUSTERS, 1)).await?;
            let picked = named_like(all, name, org, |c| &c.name)?;
            match picked.as_slice() {
                [c] => one(c.uuid.clone()).await,
                _ => {
                    let n = picked.len() as i64;
                    Ok((picked, n))
                }
            }
        }
        None => clusters(call, org, None, (LISTED_CLUSTERS, LISTED_QUEUES)).await,
    }
}

async fn list_clusters(call: &Call<'_>, args: ListClustersArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return list_clusters_rest(call, args).await;
    }
    let org = call.org().await?;
    let (found, total) = find_clusters(call, &org, non_blank(args.cluster.as_deref())).await?;
    let shown_clusters = found.len() as i64;
    let mut busiest: Vec<(i64, String)> = Vec::new();
    let mut rows = Vec::new();
    for c in found {
        let mut queues: Vec<(i64, Value)> = Vec::new();
        let queue_count = c.queues.as_ref().map(|q| q.count).unwrap_or(0);
        for q in nodes!(c.queues) {
            let waiting = q.metrics.as_ref().map(|m| m.waiting_jobs_count).unwrap_or(0);
            let row = match &q.metrics {
                Some(m) => json!({
                    "key": q.key,
                    "id": q.id,
                    "agents": m.connected_agents_count,
                    "running": m.running_jobs_count,
                    "waiting": m.waiting_jobs_count,
                    "wait_s": format!("p50 {} p95 {} max {}", secs(m.wait_time_sec.p50), secs(m.wait_time_sec.p95), secs(m.wait_time_sec.max)),
                    "paused": rows::paused(q.dispatch_paused, q.dispatch_paused_note.as_deref()),
                    "hosted": q.hosted.then_some(true),
                }),
                None => json!({
                    "key": q.key,
                    "id": q.id,
                    "metrics": "none (advanced queue metrics are off)",
                    "paused": rows::paused(q.dispatch_paused, q.dispatch_paused_note.as_deref()),
                    "hosted": q.hosted.then_some(true),
                }),
            };
            if waiting > 0 {
                busiest.push((waiting, format!("{} ({})", q.key, render::clean_text(&c.name, 60))));
            }
            queues.push((waiting, row));
        }
        queues.sort_by_key(|(w, _)| std::cmp::Reverse(*w));
        let shown = queues.len() as i64;
        rows.push(json!({
            "name": render::clean_text(&c.name, 80),
            "id": c.uuid,
            "default_queue": c.default_queue.map(|q| q.key),
            "queues_shown": (queue_count > shown).then(|| {
                let all = if shown < ONE_CLUSTER_QUEUES { " (up to 50 with cluster)" } else { "" };
                format!("{shown} of {queue_count}{all}: get_queue takes any queue's key")
            }),
            "queues": queues.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        }));
    }
    busiest.sort_by_key(|(w, _)| std::cmp::Reverse(*w));
    let mut out = Map::new();
    out.insert("org".into(), json!(org));
    out.insert(
        "most_waiting".into(),
        json!(busiest.iter().take(3).map(|(w, q)| format!("{q}: {w} waiting")).collect::<Vec<_>>()),
    );
    if total > shown_clusters {
        out.insert(
            "clusters_shown".into(),
            json!(format!("{shown_clusters} of {total}: pass cluster (a name or UUID) for another's queues")),
        );
    }
    out.insert("clusters".into(), Value::Array(rows));
    Ok(render::render_object(Value::Object(out), call.budget(3_000)))
}

/// Why jobs wait on a queue, from its numbers: `waiting` counts the jobs with no agent yet
/// (scheduled), `limited` those held by a concurrency limit.
pub fn diagnosis(
    paused: bool,
    agents: i64,
    busy: i64,
    paused_agents: i64,
    waiting: i64,
    limited: i64,
) -> Option<String> {
    if waiting == 0 {
        return (limited > 0).then(|| format!("{limited} jobs are held by concurrency limits, not by agents"));
    }
    Some(if paused {
        format!("dispatch is paused: {waiting} jobs wait until it resumes")
    } else if agents == 0 {
        format!("no agents are connected: {waiting} jobs wait for the first one")
    } else if busy.saturating_add(paused_agents) >= agents {
        format!("every agent is busy or paused: {waiting} jobs wait; the queue needs more agents")
    } else {
        format!(
            "{} agents are idle yet {waiting} jobs wait: check the jobs' agent rules (tags) against the agents'",
            agents - busy - paused_agents
        )
    })
}

async fn get_queue(call: &Call<'_>, args: GetQueueArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return get_queue_rest(call, args).await;
    }
    let org = call.org().await?;
    let wanted = args.queue.trim();
    if wanted.is_empty() {
        return Err(ToolError::args("pass a queue ID or key (list_clusters lists them)"));
    }
    // A key needs its ID first (one more request); list_clusters gives IDs.
    let id = if is_queue_id(wanted) {
        wanted.to_string()
    } else {
        let (found, _) = find_clusters(call, &org, non_blank(args.cluster.as_deref())).await?;
        let mut matches = Vec::new();
        for c in &found {
            for q in c.queues.as_ref().and_then(|q| q.edges.as_ref()).into_iter().flatten().flatten() {
                if let Some(q) = &q.node
                    && q.key.eq_ignore_ascii_case(wanted)
                {
                    matches.push((c.name.clone(), q.id.clone()));
                }
            }
        }
        one_queue(&matches, wanted, &org)?.1.clone()
    };
    let jobs = clamp(args.jobs, 10, 1, 50);
    let variables = get_queue::Variables { org: org.clone(), queue: id.clone(), jobs };
    let queue_wanted = Wanted::new(
        format!("queue {}", render::clean_text(wanted, 100)),
        "list_clusters lists every cluster's queues with their IDs",
    );
    let data = call.query::<GetQueue>(variables, &queue_wanted).await?;
    use get_queue::GetQueueNode as Node;
    let q = match data.node {
        Some(Node::ClusterQueue(q)) => q,
        _ => return Err(queue_wanted.not_found()),
    };
    let o = Wanted::new(format!("organization `{org}`"), "the queue may belong to another organization: pass `org`")
        .found(data.organization)?;
    let count = |f: fn(&get_queue::GetQueueOrganization) -> Option<i64>| f(&o).unwrap_or(0).max(0);
    // Connected agents from the live metrics when there are any (the agent list also counts lost
    // and disconnected agents).
    let listed_agents = count(|o| o.agents.as_ref().map(|a| a.count));
    let agents = q.metrics.as_ref().map(|m| m.connected_agents_count).unwrap_or(listed_agents);
    let busy = count(|o| o.busy.as_ref().map(|a| a.count));
    let paused_agents = count(|o| o.paused_agents.as_ref().map(|a| a.count));
    let waiting_total = count(|o| o.waiting.as_ref().map(|a| a.count));
    let assigned = count(|o| o.assigned.as_ref().map(|a| a.count));
    let limited = count(|o| o.limited.as_ref().map(|a| a.count));
    let running_total = count(|o| o.running.as_ref().map(|a| a.count));
    let mut out = Map::new();
    out.insert("queue".into(), json!(q.key));
    out.insert("cluster".into(), json!(q.cluster.as_ref().map(|c| render::clean_text(&c.name, 60))));
    out.insert("id".into(), json!(q.id));
    out.insert("description".into(), json!(q.description.as_deref().map(|d| render::clean_text(d, 200))));
    out.insert(
        "why_waiting".into(),
        json!(diagnosis(q.dispatch_paused, agents, busy, paused_agents, waiting_total, limited)),
    );
    if q.dispatch_paused {
        out.insert(
            "dispatch_paused".into(),
            json!({
                "at": q.dispatch_paused_at.as_deref().map(render::timestamp),
                "by": q.dispatch_paused_by.map(|u| rows::person(&u.name)),
                "note": q.dispatch_paused_note.as_deref().map(|n| render::clean_text(n, 300)),
            }),
        );
    }
    out.insert("agents".into(), json!({"connected": agents, "busy": busy, "paused": paused_agents}));
    out.insert(
        "jobs".into(),
        json!({"waiting": waiting_total, "assigned": assigned, "limited": limited, "running": running_total}),
    );
    if let Some(m) = &q.metrics {
        let w = &m.wait_time_sec;
        out.insert(
            "wait_s".into(),
            json!({"min": secs(w.min), "p50": secs(w.p50), "p95": secs(w.p95), "max": secs(w.max)}),
        );
        out.insert("finished".into(), json!({"passed": m.jobs_passed_count, "failed": m.jobs_failed_count}));
        out.insert("as_of".into(), json!(render::timestamp(&m.timestamp)));
    }
    out.insert("hosted".into(), json!(q.hosted.then_some(true)));
    out.insert("stack_health".into(), json!(q.stack_health.as_deref().map(|h| render::clean_text(h, 100))));
    let job_row = |j: get_queue::QueueJob, running: bool| -> Option<Value> {
        let get_queue::QueueJob::JobTypeCommand(j) = j else { return None };
        Some(json!({
            "job": j.uuid,
            "label": j.label.as_deref().map(|l| render::clean_text(l, 60)),
            "build": j.build.as_ref().map(|b| format!("{}/{}", b.pipeline.slug, b.number)),
            "branch": j.build.as_ref().map(|b| render::clean_text(&b.branch, 60)),
            "since": if running { j.started_at.as_deref().map(render::timestamp) } else { j.runnable_at.as_deref().map(render::timestamp) },
            "agent": j.agent.map(|a| render::clean_text(&a.name, 60)),
            "state": (!running && render::state(&j.state) != "scheduled").then(|| render::state(&j.state)),
        }))
    };
    let (waiting_edges, running_edges) = (o.waiting.and_then(|w| w.edges), o.running.and_then(|r| r.edges));
    let waiting: Vec<Value> = waiting_edges
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|e| e.node)
        .filter_map(|j| job_row(j, false))
        .take(jobs as usize)
        .collect();
    let running: Vec<Value> = running_edges
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .filter_map(|e| e.node)
        .filter_map(|j| job_row(j, true))
        .take(jobs as usize)
        .collect();
    let (mut waiting, mut running) = (waiting, running);
    let mut usual_waiting = Map::new();
    render::hoist_usual(&mut usual_waiting, &mut waiting, &["build", "branch", "since"]);
    let mut usual_running = Map::new();
    render::hoist_usual(&mut usual_running, &mut running, &["build", "branch"]);
    out.insert("waiting".into(), json!({"jobs": waiting, "unless_shown": usual_waiting.remove("unless_shown")}));
    out.insert("running".into(), json!({"jobs": running, "unless_shown": usual_running.remove("unless_shown")}));
    Ok(render::render_object(Value::Object(out), call.budget(3_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diagnosis_names_what_holds_jobs_up() {
        assert_eq!(diagnosis(false, 10, 3, 0, 0, 0), None);
        assert!(diagnosis(false, 10, 3, 0, 0, 4).unwrap().contains("concurrency limits"));
        assert!(diagnosis(true, 10, 3, 0, 5, 0).unwrap().contains("dispatch is paused"));
        assert!(diagnosis(false, 0, 0, 0, 5, 0).unwrap().contains("no agents are connected"));
        assert!(diagnosis(false, 10, 8, 2, 5, 0).unwrap().contains("every agent is busy or paused"));
        assert!(diagnosis(false, 10, 3, 0, 5, 0).unwrap().contains("7 agents are idle"));
    }
}
