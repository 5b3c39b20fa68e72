//! `compare_builds`: what changed between a build and a base (by default the last passed build of
//! the same pipeline and branch): steps that newly fail or were fixed, steps added or removed,
//! duration changes, and the commit range. Without GraphQL access both sides come from REST
//! (`compare/rest.rs`).

mod rest;

use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler};
use super::resolve::{BUILD_HINT, BuildLookup};
use super::rows::{outcome, short_sha};
use crate::buildkite::ops::{CompareBuilds, compare_builds as op};
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Recent passed builds searched for the default base (over GraphQL: 2 complexity points each).
const CANDIDATES: i64 = 50;
/// Command jobs compared per build.
const JOBS: i64 = 500;
/// Command jobs per side when both sides come in one request (3 complexity points a job).
const PAIR_PAGE: i64 = 75;
/// Command jobs per request when one side comes alone.
const SIDE_PAGE: i64 = 140;
/// Recent passed builds searched over GraphQL for the default base.
const GRAPHQL_CANDIDATES: i64 = 20;
/// A step's duration change worth reporting: at least this many seconds and this fraction.
const MIN_DELTA_S: i64 = 30;
const MIN_DELTA_FRACTION: f64 = 0.25;
/// Rows per list.
const ROWS: usize = 15;

/// Arguments of `compare_builds`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CompareBuildsArgs {
    // Build URL or org/pipeline/number. (documented once, in the server instructions)
    build: String,
    /// Base build (URL, org/pipeline/number or a number in the same pipeline); default: the last passed build of the same branch.
    #[serde(default)]
    base: Option<String>,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[Tool {
    name: "compare_builds",
    toolset: Toolset::Builds,
    hints: Hints::READ,
    scopes: &["read_builds"],
    rest: Rest::Same,
    description: "Compare a build with a base (default: last passed build of its branch): newly failing and fixed steps, steps added or removed, duration changes, commit range.",
    handler: handler!(compare_builds, CompareBuildsArgs),
}];

/// One command job of a compared build, from either API.
#[derive(Debug, Clone, Default)]
pub struct SideJob {
    /// Its label.
    pub label: Option<String>,
    /// Its step key.
    pub key: Option<String>,
    /// Its outcome (`passed`, `failed`, `soft_failed`, else its state), lower-case.
    pub outcome: String,
    /// Whether a later attempt replaced it.
    pub retried: bool,
    /// When it started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
}

/// One side of a comparison, from either API.
#[derive(Debug, Clone, Default)]
pub struct Build {
    /// Its number.
    pub number: i64,
    /// Its state, lower-case.
    pub state: String,
    /// Its branch.
    pub branch: String,
    /// Its commit SHA.
    pub commit: String,
    /// When it started.
    pub started_at: Option<String>,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Its pipeline's repository URL.
    pub repository: String,
    /// Its command jobs read (at most [`JOBS`]).
    pub jobs: Vec<SideJob>,
    /// Whether it has more jobs than were read.
    pub more_jobs: bool,
}

impl Build {
    fn from_graphql(b: &op::CompareSide, jobs: Vec<SideJob>, count: i64) -> Self {
        Build {
            number: b.number,
            state: render::state(&b.state),
            branch: b.branch.clone(),
            commit: b.commit.clone(),
            started_at: b.started_at.clone(),
            finished_at: b.finished_at.clone(),
            repository: b.pipeline.repository.as_ref().map(|r| r.url.clone()).unwrap_or_default(),
            more_jobs: count > JOBS,
            jobs,
        }
    }
}

/// A jobs page as read (none: an empty one).
fn page(jobs: Option<op::CompareJobs>) -> op::CompareJobs {
    jobs.unwrap_or(op::CompareJobs { count: 0, page_info: None, edges: None })
}

/// The command jobs of one page, and the cursor of the next page when there is one.
fn side_jobs(page: &op::CompareJobs) -> (Vec<SideJob>, Option<String>) {
    use op::CompareJobsEdgesNode as Job;
    let jobs = page
        .edges
        .iter()
        .flatten()
        .flatten()
        .filter_map(|e| match e.node.as_ref() {
            Some(Job::JobTypeCommand(j)) => Some(SideJob {
                label: j.label.clone(),
                key: j.step.as_ref().and_then(|s| s.key.clone()),
                outcome: outcome(&j.state, j.passed, j.soft_failed),
                retried: j.retried,
                started_at: j.started_at.clone(),
                finished_at: j.finished_at.clone(),
            }),
            _ => None,
        })
        .collect();
    let next = page.page_info.as_ref().filter(|p| p.has_next_page).and_then(|p| p.end_cursor.clone());
    (jobs, next)
}

/// One step's outcome in one build: parallel jobs and retries folded.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct StepOutcome {
    /// Any current (not replaced) job of the step failed, soft failures excepted.
    pub failed: bool,
    /// Every current job of the step passed (or soft-failed).
    pub passed: bool,
    /// Longest run of its jobs, in seconds.
    pub run_s: Option<i64>,
    /// The label to show.
    pub label: String,
}

/// Steps of a build by key (the step key, else the label), folded as [`StepOutcome`].
fn steps(build: &Build) -> BTreeMap<String, StepOutcome> {
    let mut out: BTreeMap<String, StepOutcome> = BTreeMap::new();
    for j in &build.jobs {
        if j.retried {
            continue; // replaced by a later attempt
        }
        let label = render::clean_text(j.label.as_deref().unwrap_or("(unnamed)"), 80);
        let key = j.key.clone().unwrap_or_else(|| strip_parallel(&label));
        let entry =
            out.entry(key).or_insert_with(|| StepOutcome { label: strip_parallel(&label), ..Default::default() });
        let outcome = j.outcome.as_str();
        if matches!(outcome, "failed" | "timed_out" | "expired") {
            entry.failed = true;
        }
        if !matches!(outcome, "passed" | "soft_failed") {
            entry.passed = false;
        }
        let run = render::seconds_between(j.started_at.as_deref(), j.finished_at.as_deref());
        entry.run_s = entry.run_s.max(run);
    }
    out
}

/// `rspec 3/8` → `rspec`: parallel jobs share a step.
fn strip_parallel(label: &str) -> String {
    match label.rsplit_once(' ') {
        Some((head, tail))
            if tail.split_once('/').is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok()) =>
        {
            head.to_string()
        }
        _ => label.to_string(),
    }
}

/// A web link comparing two commits, for GitHub, GitLab and Bitbucket repositories.
pub fn compare_url(repository: &str, base: &str, head: &str) -> Option<String> {
    let repo = repository.trim().trim_end_matches(".git");
    let web = if let Some(rest) = repo.strip_prefix("git@") {
        let (host, path) = rest.split_once(':')?;
        format!("https://{host}/{path}")
    } else if let Some(rest) = repo.strip_prefix("ssh://git@") {
        format!("https://{}", rest.replacen(':', "/", 1))
    } else if repo.starts_with("https://") {
        repo.to_string()
    } else {
        return None;
    };
    if web.contains("github.com/") {
        Some(format!("{web}/compare/{base}...{head}"))
    } else if web.contains("gitlab.com/") {
        Some(format!("{web}/-/compare/{base}...{head}"))
    } else if web.contains("bitbucket.org/") {
        Some(format!("{web}/branches/compare/{head}%0D{base}"))
    } else {
        None
    }
}

fn describe(b: &Build, slug_prefix: &str) -> String {
    format!("{slug_prefix}/{} {}", b.number, b.state)
}

/// The comparison of two builds, as the model reads it.
pub fn compare(head: &Build, base: &Build, slug_prefix: &str, base_reason: &str) -> Value {
    let (h, b) = (steps(head), steps(base));
    let mut newly_failing = Vec::new();
    let mut still_failing = Vec::new();
    let mut fixed = Vec::new();
    let mut added = Vec::new();
    let mut changes: Vec<(i64, Value)> = Vec::new();
    for (key, now) in &h {
        match b.get(key) {
            None => added.push(now.label.clone()),
            Some(before) => {
                match (before.failed, now.failed) {
                    (false, true) => newly_failing.push(now.label.clone()),
                    (true, true) => still_failing.push(now.label.clone()),
                    // Fixed only when it passed now, not while it runs or after a cancel.
                    (true, false) if now.passed => fixed.push(now.label.clone()),
                    _ => {}
                }
                if let (Some(a), Some(c)) = (before.run_s, now.run_s) {
                    let delta = c - a;
                    if delta.abs() >= MIN_DELTA_S && (delta.abs() as f64) >= MIN_DELTA_FRACTION * a.max(1) as f64 {
                        changes.push((delta, json!({"step": now.label, "base_s": a, "head_s": c})));
                    }
                }
            }
        }
    }
    let removed: Vec<String> = b.iter().filter(|(k, _)| !h.contains_key(*k)).map(|(_, s)| s.label.clone()).collect();
    changes.sort_by_key(|(d, _)| -d.abs());
    let total = |x: &Build| render::seconds_between(x.started_at.as_deref(), x.finished_at.as_deref());
    let repo = head.repository.as_str();
    let same_commit = head.commit == base.commit;
    let mut out = Map::new();
    out.insert("head".into(), json!(describe(head, slug_prefix)));
    out.insert("base".into(), json!(format!("{} ({base_reason})", describe(base, slug_prefix))));
    out.insert(
        "commits".into(),
        json!(if same_commit {
            format!("same commit {}", short_sha(&head.commit))
        } else {
            format!("{}..{}", short_sha(&base.commit), short_sha(&head.commit))
        }),
    );
    if !same_commit {
        out.insert("compare_url".into(), json!(compare_url(repo, &base.commit, &head.commit)));
    }
    if head.branch != base.branch {
        out.insert("branches".into(), json!(format!("{} vs {}", base.branch, head.branch)));
    }
    let list = |v: Vec<String>| {
        let n = v.len();
        let mut shown: Vec<Value> = v.into_iter().take(ROWS).map(Value::String).collect();
        if n > ROWS {
            shown.push(json!(format!("… {} more", n - ROWS)));
        }
        shown
    };
    out.insert("newly_failing".into(), json!(list(newly_failing)));
    out.insert("still_failing".into(), json!(list(still_failing)));
    out.insert("fixed".into(), json!(list(fixed)));
    out.insert("added".into(), json!(list(added)));
    out.insert("removed".into(), json!(list(removed)));
    out.insert(
        "duration_s".into(),
        json!({"base": total(base), "head": total(head), "delta": total(head).zip(total(base)).map(|(a, b)| a - b)}),
    );
    let n = changes.len();
    let mut timing: Vec<Value> = changes.into_iter().take(ROWS).map(|(_, v)| v).collect();
    if n > ROWS {
        timing.push(json!(format!("… {} more", n - ROWS)));
    }
    out.insert("timing_changes".into(), Value::Array(timing));
    if head.more_jobs || base.more_jobs {
        out.insert("note".into(), json!(format!("compared the first {JOBS} command jobs of each build")));
    }
    Value::Object(out)
}

/// One side as read: the build, its jobs so far, how many it has, and the next page's cursor.
struct Side {
    build: op::CompareSide,
    jobs: Vec<SideJob>,
    count: i64,
    next: Option<String>,
}

impl Side {
    fn new(build: op::CompareSide, page: &op::CompareJobs) -> Self {
        let (jobs, next) = side_jobs(page);
        Side { build, jobs, count: page.count, next }
    }

    /// Reads the side's further pages (one request each, [`SIDE_PAGE`] jobs) up to [`JOBS`] jobs.
    async fn read_all(mut self, call: &Call<'_>, slug: &str, wanted: &Wanted) -> Result<Build, ToolError> {
        while let Some(after) = self.next.take() {
            if self.jobs.len() as i64 >= JOBS {
                break;
            }
            let data = call.query::<CompareBuilds>(variables(slug, None, Some(after), 1), wanted).await?;
            let head = wanted.found(data.head)?;
            let (more, next) = side_jobs(&page(head.jobs));
            self.jobs.extend(more);
            self.next = next;
        }
        self.jobs.truncate(JOBS as usize);
        Ok(Build::from_graphql(&self.build, self.jobs, self.count))
    }
}

/// The variables of one request: the head (one page of its jobs, from `after`), the base too when
/// named, and `candidates` recent passed builds.
fn variables(head: &str, base: Option<&str>, after: Option<String>, candidates: i64) -> op::Variables {
    op::Variables {
        head: head.to_string(),
        base: base.unwrap_or(head).to_string(),
        with_base: base.is_some(),
        jobs: if base.is_some() { PAIR_PAGE } else { SIDE_PAGE },
        // The skipped base still counts towards the requested complexity.
        base_jobs: if base.is_some() { PAIR_PAGE } else { 1 },
        after,
        candidates,
    }
}

/// One request: the head, and the base too when it is named; the head's passed-build candidates.
async fn fetch(
    call: &Call<'_>,
    head: (&str, &Wanted),
    base: Option<(&str, &Wanted)>,
    candidates: i64,
) -> Result<(Side, Vec<op::CompareBuildsHeadCandidatesBuildsEdgesNode>, Option<Side>), ToolError> {
    let data = call.query::<CompareBuilds>(variables(head.0, base.map(|b| b.0), None, candidates), head.1).await?;
    let h = head.1.found(data.head)?;
    let found: Vec<_> = h
        .candidates
        .builds
        .and_then(|b| b.edges)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.node)
        .collect();
    let head_side = Side::new(h.compare_side, &page(h.jobs));
    let base_side = match base {
        Some((_, wanted)) => {
            let b = wanted.found(data.base)?;
            Some(Side::new(b.compare_side, &page(b.jobs)))
        }
        None => None,
    };
    Ok((head_side, found, base_side))
}

async fn compare_builds(call: &Call<'_>, args: CompareBuildsArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return rest::compare_builds(call, args).await;
    }
    let need_slug = || ToolError::args("pass builds as URLs or org/pipeline/number (a build UUID is not enough here)");
    let BuildLookup { slug, wanted, .. } = call.build(&args.build, args.pipeline.as_deref()).await?;
    let slug = slug.ok_or_else(need_slug)?;
    let prefix = slug.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
    let budget = call.budget(3_000);
    if let Some(base_arg) = super::context::non_blank(args.base.as_deref()) {
        // A bare number means the same pipeline.
        let base_lookup = call.build(base_arg, Some(&prefix)).await?;
        let base_slug = base_lookup.slug.ok_or_else(need_slug)?;
        let (head, _, base) = fetch(call, (&slug, &wanted), Some((&base_slug, &base_lookup.wanted)), 1).await?;
        let base = base.ok_or_else(need_slug)?;
        let base_prefix = base_slug.rsplit_once('/').map(|(p, _)| p.to_string()).unwrap_or_default();
        let reason = if base_prefix == prefix { "given".to_string() } else { format!("given, pipeline {base_prefix}") };
        let head = head.read_all(call, &slug, &wanted).await?;
        let base = base.read_all(call, &base_slug, &base_lookup.wanted).await?;
        return Ok(render::render_object(compare(&head, &base, &prefix, &reason), budget));
    }
    // The default base needs the head's branch first: a second request.
    let (head, candidates, _) = fetch(call, (&slug, &wanted), None, GRAPHQL_CANDIDATES).await?;
    let (branch, number) = (head.build.branch.clone(), head.build.number);
    let base_number = candidates.iter().find(|b| b.branch == branch && b.number < number).map(|b| b.number);
    let Some(base_number) = base_number else {
        return Err(no_base(&branch, number));
    };
    let head = head.read_all(call, &slug, &wanted).await?;
    let base_slug = format!("{prefix}/{base_number}");
    let base_wanted = Wanted::new(format!("build {base_slug}"), BUILD_HINT);
    let (base, _, _) = fetch(call, (&base_slug, &base_wanted), None, 1).await?;
    let base = base.read_all(call, &base_slug, &base_wanted).await?;
    let reason = format!("last passed on {}", render::clean_text(&branch, 100));
    Ok(render::render_object(compare(&head, &base, &prefix, &reason), budget))
}

/// No passed build of the head's branch to compare with: say how to name one.
fn no_base(branch: &str, number: i64) -> ToolError {
    ToolError::args(format!(
        "no passed build of branch `{}` before #{number} among the pipeline's last {CANDIDATES} passed builds: pass `base`",
        render::clean_text(branch, 100)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_urls_for_common_hosts() {
        assert_eq!(
            compare_url("git@github.com:acme/web.git", "aaa", "bbb").as_deref(),
            Some("https://github.com/acme/web/compare/aaa...bbb")
        );
        assert_eq!(
            compare_url("https://gitlab.com/acme/web.git", "aaa", "bbb").as_deref(),
            Some("https://gitlab.com/acme/web/-/compare/aaa...bbb")
        );
        assert_eq!(compare_url("file:///tmp/repo", "a", "b"), None);
    }

    #[test]
    fn parallel_suffixes_fold_into_one_step() {
        assert_eq!(strip_parallel(":rspec: RSpec 3/8"), ":rspec: RSpec");
        assert_eq!(strip_parallel("Deploy to 2/3 regions now"), "Deploy to 2/3 regions now");
        assert_eq!(strip_parallel("lint"), "lint");
    }
}
