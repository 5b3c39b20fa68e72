//! REST shapes shared by the tools that answer without GraphQL access: a build, a job, a page of a
//! build's jobs, decoded straight into small typed structs (fields we never show are skipped by
//! the decoder, so a big answer is never held as a JSON tree), and the requests that fetch them.
//! The reshapers into output rows are in `rows.rs` (`BuildRow::from_rest`, `JobRow::from_rest`).

use super::ToolError;
use super::kit::{Call, Wanted};
use super::resolve::BUILD_HINT;
use crate::buildkite::ids::{self, BuildRef};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A person as REST names them (`creator`, `unblocked_by`, `retried_by`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestPerson {
    /// Their name.
    #[serde(default)]
    pub name: Option<String>,
    /// Their email.
    #[serde(default)]
    pub email: Option<String>,
}

/// The pipeline a REST build belongs to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestPipelineRef {
    /// Its slug.
    #[serde(default)]
    pub slug: String,
    /// Its repository URL.
    #[serde(default)]
    pub repository: Option<String>,
}

/// A build another one was rebuilt from.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestBuildRef {
    /// Its number.
    #[serde(default)]
    pub number: Option<i64>,
}

/// Where a triggered build came from.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestTriggeredFrom {
    /// The triggering build's number.
    #[serde(default)]
    pub build_number: Option<i64>,
    /// The triggering build's pipeline.
    #[serde(default)]
    pub build_pipeline_slug: Option<String>,
}

/// A pull request of a build.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestPullRequest {
    /// Its number.
    #[serde(default)]
    pub id: Option<String>,
}

/// Per-state job counts of a build (`job_state_counts`): every job type, wait steps included.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestJobCounts {
    /// All jobs.
    #[serde(default)]
    pub total: i64,
    /// By REST state (`passed`, `failed`, `running`, …).
    #[serde(default)]
    pub states: std::collections::BTreeMap<String, i64>,
}

/// A build from `GET …/builds/{n}` (with `exclude_jobs=true`) or a build list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestBuild {
    /// The build UUID.
    #[serde(default)]
    pub id: String,
    /// Its number.
    #[serde(default)]
    pub number: i64,
    /// Its web URL.
    #[serde(default)]
    pub web_url: Option<String>,
    /// Its state, lower-case (REST keeps a blocked build's last state and sets `blocked`).
    #[serde(default)]
    pub state: String,
    /// Whether it waits on a block step.
    #[serde(default)]
    pub blocked: bool,
    /// The branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// The commit SHA.
    #[serde(default)]
    pub commit: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
    /// What created it (webhook, ui, api, schedule, trigger_job).
    #[serde(default)]
    pub source: Option<String>,
    /// Who created it.
    #[serde(default)]
    pub creator: Option<RestPerson>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it started.
    #[serde(default)]
    pub started_at: Option<String>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Why it was canceled.
    #[serde(default)]
    pub cancel_reason: Option<String>,
    /// Its pipeline (absent with `exclude_pipeline`).
    #[serde(default)]
    pub pipeline: Option<RestPipelineRef>,
    /// The pull request.
    #[serde(default)]
    pub pull_request: Option<RestPullRequest>,
    /// The build it was rebuilt from.
    #[serde(default)]
    pub rebuilt_from: Option<RestBuildRef>,
    /// The trigger step's build.
    #[serde(default)]
    pub triggered_from: Option<RestTriggeredFrom>,
    /// Job counts by state.
    #[serde(default)]
    pub job_state_counts: Option<RestJobCounts>,
}

/// An agent as a REST job names it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestAgent {
    /// Its name.
    #[serde(default)]
    pub name: Option<String>,
    /// Its host.
    #[serde(default)]
    pub hostname: Option<String>,
}

/// The build a trigger step started.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestTriggered {
    /// Its number.
    #[serde(default)]
    pub number: Option<i64>,
    /// Its state.
    #[serde(default)]
    pub state: Option<String>,
    /// Its web URL.
    #[serde(default)]
    pub web_url: Option<String>,
}

/// A job from a build's job list or `GET /v2/organizations/{org}/jobs/{uuid}`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestJob {
    /// The job UUID.
    #[serde(default)]
    pub id: String,
    /// `script` (command), `manual` (block), `trigger` or `waiter`.
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Its label.
    #[serde(default)]
    pub name: Option<String>,
    /// Its step key.
    #[serde(default)]
    pub step_key: Option<String>,
    /// Its state, lower-case (`passed` / `failed` for finished commands).
    #[serde(default)]
    pub state: String,
    /// Its command.
    #[serde(default)]
    pub command: Option<String>,
    /// Whether its failure was allowed.
    #[serde(default)]
    pub soft_failed: bool,
    /// Its exit status (a number in REST).
    #[serde(default)]
    pub exit_status: Option<i64>,
    /// The signal that ended it.
    #[serde(default)]
    pub signal: Option<String>,
    /// Why the agent sent it.
    #[serde(default)]
    pub signal_reason: Option<String>,
    /// Whether a later attempt replaced it.
    #[serde(default)]
    pub retried: bool,
    /// Retries so far.
    #[serde(default)]
    pub retries_count: Option<i64>,
    /// `automatic` or `manual`.
    #[serde(default)]
    pub retry_type: Option<String>,
    /// Parallel index.
    #[serde(default)]
    pub parallel_group_index: Option<i64>,
    /// Parallel total.
    #[serde(default)]
    pub parallel_group_total: Option<i64>,
    /// The agent that ran it.
    #[serde(default)]
    pub agent: Option<RestAgent>,
    /// Agent targeting rules.
    #[serde(default)]
    pub agent_query_rules: Option<Vec<String>>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When it became runnable.
    #[serde(default)]
    pub runnable_at: Option<String>,
    /// When it started.
    #[serde(default)]
    pub started_at: Option<String>,
    /// When it finished.
    #[serde(default)]
    pub finished_at: Option<String>,
    /// When it expired.
    #[serde(default)]
    pub expired_at: Option<String>,
    /// A block job: whether it can be unblocked.
    #[serde(default)]
    pub unblockable: Option<bool>,
    /// A block job: who unblocked it.
    #[serde(default)]
    pub unblocked_by: Option<RestPerson>,
    /// A block job: when.
    #[serde(default)]
    pub unblocked_at: Option<String>,
    /// A trigger job: the build it started.
    #[serde(default)]
    pub triggered_build: Option<RestTriggered>,
    /// Its web URL (`…/builds/{n}#{uuid}`), which names its build.
    #[serde(default)]
    pub web_url: Option<String>,
}

/// An artifact from a job's or a build's artifact list (`GET …/jobs/{uuid}/artifacts`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestArtifact {
    /// The artifact UUID.
    #[serde(default)]
    pub id: String,
    /// The job that uploaded it.
    #[serde(default)]
    pub job_id: Option<String>,
    /// Its API URL (`…/pipelines/{p}/builds/{n}/jobs/{j}/artifacts/{id}`), which names its build.
    #[serde(default)]
    pub url: Option<String>,
    /// Its path.
    #[serde(default)]
    pub path: String,
    /// Its size in bytes.
    #[serde(default)]
    pub file_size: i64,
    /// Its MIME type.
    #[serde(default)]
    pub mime_type: String,
    /// Its state, lower-case.
    #[serde(default)]
    pub state: String,
}

impl RestArtifact {
    /// `org/pipeline/number` of its build, read from its API URL.
    pub fn build(&self) -> Option<String> {
        let url = self.url.as_deref()?;
        let rest = url.split_once("/organizations/")?.1;
        let mut parts = rest.split('/');
        let org = parts.next()?;
        (parts.next()? == "pipelines").then_some(())?;
        let pipeline = parts.next()?;
        (parts.next()? == "builds").then_some(())?;
        let number: i64 = parts.next()?.parse().ok()?;
        Some(format!("{org}/{pipeline}/{number}"))
    }
}

/// A pipeline schedule from `GET …/pipelines/{p}/schedules[/{uuid}]` (REST carries no builds).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestSchedule {
    /// The schedule UUID.
    #[serde(default)]
    pub id: String,
    /// Its label.
    #[serde(default)]
    pub label: String,
    /// Its cron line.
    #[serde(default)]
    pub cronline: String,
    /// The branch it builds.
    #[serde(default)]
    pub branch: Option<String>,
    /// The commit it builds.
    #[serde(default)]
    pub commit: Option<String>,
    /// The build message.
    #[serde(default)]
    pub message: Option<String>,
    /// Its environment, in the order REST gives it.
    #[serde(default)]
    pub env: Option<serde_json::Map<String, serde_json::Value>>,
    /// Whether it is enabled.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// When it next builds.
    #[serde(default)]
    pub next_build_at: Option<String>,
    /// When it last failed to create a build.
    #[serde(default)]
    pub failed_at: Option<String>,
    /// Why.
    #[serde(default)]
    pub failed_message: Option<String>,
    /// When it was created.
    #[serde(default)]
    pub created_at: Option<String>,
    /// Who created it.
    #[serde(default)]
    pub created_by: Option<RestPerson>,
}

/// `links` of a cursor-paged REST list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestLinks {
    /// The next page's URL.
    #[serde(default)]
    pub next: Option<String>,
}

/// A page of a build's jobs (`GET …/builds/{n}/jobs`, cursor paged).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestJobsPage {
    /// The jobs.
    #[serde(default)]
    pub items: Vec<RestJob>,
    /// Where the next page is.
    #[serde(default)]
    pub links: RestLinks,
}

impl RestJobsPage {
    /// The `after` cursor of the next page.
    pub fn next_after(&self) -> Option<String> {
        let next = self.links.next.as_deref()?;
        let query = next.split_once('?')?.1;
        query.split('&').find_map(|kv| kv.strip_prefix("after=")).map(str::to_string)
    }
}

/// Who paused a queue's dispatch, as REST names them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestUserRef {
    /// Their name.
    #[serde(default)]
    pub name: Option<String>,
}

/// A cluster from `GET /v2/organizations/{org}/clusters[/{uuid}]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestCluster {
    /// Its UUID.
    #[serde(default)]
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// The UUID of its default queue.
    #[serde(default)]
    pub default_queue_id: Option<String>,
}

/// A cluster queue from `GET …/clusters/{uuid}/queues` (REST has no live metrics).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestQueue {
    /// Its UUID.
    #[serde(default)]
    pub id: String,
    /// Its GraphQL ID (what `get_queue` takes).
    #[serde(default)]
    pub graphql_id: Option<String>,
    /// Its key.
    #[serde(default)]
    pub key: String,
    /// Its description.
    #[serde(default)]
    pub description: Option<String>,
    /// Whether dispatch is paused.
    #[serde(default)]
    pub dispatch_paused: bool,
    /// When dispatch was paused.
    #[serde(default)]
    pub dispatch_paused_at: Option<String>,
    /// Who paused it.
    #[serde(default)]
    pub dispatch_paused_by: Option<RestUserRef>,
    /// Why.
    #[serde(default)]
    pub dispatch_paused_note: Option<String>,
    /// Whether Buildkite hosts its agents.
    #[serde(default)]
    pub hosted: bool,
}

/// An agent from `GET /v2/organizations/{org}/agents[/{uuid}]` (needs `read_agents`; the list
/// holds only connected and stopping agents).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RestAgentRecord {
    /// Its UUID.
    #[serde(default)]
    pub id: String,
    /// Its name.
    #[serde(default)]
    pub name: String,
    /// `connected`, `disconnected`, `lost`, `stopped`, `stopping`, `never_connected`.
    #[serde(default)]
    pub connection_state: String,
    /// Its host.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Its IP address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// The agent version.
    #[serde(default)]
    pub version: Option<String>,
    /// Its priority.
    #[serde(default)]
    pub priority: Option<i64>,
    /// Its `key=value` tags.
    #[serde(default)]
    pub meta_data: Vec<String>,
    /// Whether it is paused.
    #[serde(default)]
    pub paused: bool,
    /// When it was paused.
    #[serde(default)]
    pub paused_at: Option<String>,
    /// Who paused it.
    #[serde(default)]
    pub paused_by: Option<RestUserRef>,
    /// Why.
    #[serde(default)]
    pub paused_note: Option<String>,
    /// Minutes until it resumes by itself.
    #[serde(default)]
    pub paused_timeout_in_minutes: Option<i64>,
    /// The job it runs now.
    #[serde(default)]
    pub job: Option<RestJob>,
}

/// A cluster with its queues, as REST gives them.
#[derive(Debug, Clone, Default)]
pub struct RestClusterQueues {
    /// The cluster.
    pub cluster: RestCluster,
    /// Its queues (the first 100).
    pub queues: Vec<RestQueue>,
}

impl RestClusterQueues {
    /// The key of its default queue.
    pub fn default_queue(&self) -> Option<String> {
        let id = self.cluster.default_queue_id.as_deref()?;
        self.queues.iter().find(|q| q.id == id).map(|q| q.key.clone())
    }
}

/// A build named for REST: organization, pipeline slug and number.
#[derive(Debug, Clone)]
pub struct RestBuildId {
    /// The organization.
    pub org: String,
    /// The pipeline slug.
    pub pipeline: String,
    /// The number.
    pub number: i64,
    /// How messages name it.
    pub wanted: Wanted,
}

impl RestBuildId {
    /// `v2/organizations/{org}/pipelines/{p}/builds/{n}` plus `tail`.
    pub fn path(&self, tail: &str) -> String {
        format!("v2/organizations/{}/pipelines/{}/builds/{}{tail}", self.org, self.pipeline, self.number)
    }

    /// `org/pipeline/number`.
    pub fn slug(&self) -> String {
        format!("{}/{}/{}", self.org, self.pipeline, self.number)
    }
}

impl Call<'_> {
    /// A build as REST names it (org, pipeline, number). REST cannot look a build up by UUID.
    pub async fn rest_build_id(&self, build: &str, pipeline: Option<&str>) -> Result<RestBuildId, ToolError> {
        match self.with_org(|org| ids::parse_build(build, pipeline, org)).await? {
            BuildRef::Number { pipeline, number } => Ok(RestBuildId {
                wanted: Wanted::new(format!("build {}/{number}", pipeline.slug()), BUILD_HINT),
                org: pipeline.org,
                pipeline: pipeline.pipeline,
                number: i64::try_from(number).unwrap_or(i64::MAX),
            }),
            BuildRef::Uuid(u) => Err(ToolError::args(format!(
                "build {u} is a UUID, and without GraphQL access Buildkite looks builds up only by pipeline and number: pass the build URL or org/pipeline/number"
            ))),
        }
    }

    /// A REST GET decoded into `T` (unknown fields skipped as they are read).
    pub async fn rest_typed<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
        wanted: &Wanted,
    ) -> Result<(T, Option<u32>), ToolError> {
        let (value, next) = self.ctx.api.rest_decode::<T>(path, query).await.map_err(|e| wanted.or_not_found(e))?;
        Ok((value, next))
    }

    /// The clusters (all, or one by UUID) with their queues: one request for the clusters, one
    /// per cluster for its queues.
    pub async fn rest_clusters(&self, org: &str, uuid: Option<&str>) -> Result<Vec<RestClusterQueues>, ToolError> {
        let base = format!("v2/organizations/{org}/clusters");
        let page = [("per_page", "100".to_string())];
        let clusters = match uuid {
            Some(u) => {
                let wanted =
                    Wanted::new(format!("cluster {u} in `{org}`"), "list_clusters lists the organization's clusters");
                vec![self.rest_typed::<RestCluster>(&format!("{base}/{u}"), &[], &wanted).await?.0]
            }
            None => {
                let wanted =
                    Wanted::new(format!("organization `{org}`"), "list_clusters lists the organization's clusters");
                self.rest_typed::<Vec<RestCluster>>(&base, &page, &wanted).await?.0
            }
        };
        let mut out = Vec::with_capacity(clusters.len());
        for cluster in clusters {
            let wanted = Wanted::new(
                format!("the queues of cluster {}", cluster.id),
                "list_clusters lists the organization's clusters",
            );
            let path = format!("{base}/{}/queues", cluster.id);
            let queues = self.rest_typed::<Vec<RestQueue>>(&path, &page, &wanted).await?.0;
            out.push(RestClusterQueues { cluster, queues });
        }
        Ok(out)
    }

    /// A build without its jobs (`exclude_jobs=true`): one request whatever the build's size.
    pub async fn rest_build(&self, id: &RestBuildId) -> Result<RestBuild, ToolError> {
        let query = [("exclude_jobs", "true".to_string())];
        Ok(self.rest_typed::<RestBuild>(&id.path(""), &query, &id.wanted).await?.0)
    }

    /// One page of a build's jobs (`per_page` ≤ 100), with `filters` (`state[]`, `step_key`, …).
    pub async fn rest_jobs(
        &self,
        id: &RestBuildId,
        per_page: i64,
        after: Option<&str>,
        filters: &[(&str, String)],
    ) -> Result<RestJobsPage, ToolError> {
        let mut query: Vec<(&str, String)> = vec![("per_page", per_page.clamp(1, 100).to_string())];
        if let Some(after) = after.filter(|a| !a.is_empty()) {
            query.push(("after", after.to_string()));
        }
        query.extend(filters.iter().cloned());
        Ok(self.rest_typed::<RestJobsPage>(&id.path("/jobs"), &query, &id.wanted).await?.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jobs_pages_give_their_next_cursor() {
        let page: RestJobsPage = serde_json::from_value(json!({"items": [{"id": "j", "type": "script", "state": "failed", "exit_status": 1, "extra": {"big": [1, 2]}}],
            "links": {"self": "x", "next": "https://api.buildkite.com/v2/organizations/acme/pipelines/web/builds/1/jobs?after=abc&per_page=2"}}))
        .unwrap();
        assert_eq!(page.next_after().as_deref(), Some("abc"));
        assert_eq!(page.items[0].exit_status, Some(1));
    }
}
