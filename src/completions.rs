//! `completion/complete`: organization, pipeline, build number, branch and step key suggestions for
//! the prompts' and resource templates' arguments. Each kind of name comes from one small GraphQL
//! query (at most 100 names), kept per token for a short while ([`NameCache`]), so typing more
//! letters reuses the answer. At most 100 values go back (the MCP limit), with `total` and
//! `hasMore` saying what was left out.
//!
//! [`NameCache`]: crate::buildkite::names::NameCache

use crate::buildkite::ApiError;
use crate::buildkite::ids;
use crate::buildkite::names::Names;
use crate::buildkite::ops::{
    CompleteBuilds, CompleteOrganizations, CompletePipelines, CompleteSteps, complete_builds, complete_organizations,
    complete_pipelines, complete_steps,
};
use crate::tools::Ctx;
use std::collections::HashMap;

/// Names one query asks for.
const FIRST: i64 = 100;
/// Values one answer carries at most (the MCP limit).
pub const MAX_VALUES: usize = 100;
/// Characters of what was typed that are looked at.
const TYPED_CHARS: usize = 100;

/// What an argument completes to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An organization slug.
    Org,
    /// A pipeline slug of the organization (`None`: the default one).
    Pipeline(Option<String>),
    /// A build number of the pipeline (`org/pipeline`).
    Number(String),
    /// A step key of the build (`org/pipeline/number`).
    Step(String),
    /// A branch recently built by the pipeline (`org/pipeline`, or a slug of the default org).
    Branch(Option<String>),
    /// `org/pipeline/number`, one part at a time.
    BuildRef,
    /// `org/pipeline`, one part at a time.
    PipelineRef,
    /// Nothing to suggest (free text, numbers, IDs).
    Nothing,
}

/// An answer: the values and whether more exist.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// At most [`MAX_VALUES`] values.
    pub values: Vec<String>,
    /// How many match, when known.
    pub total: Option<u32>,
    /// Whether more match than `values` holds.
    pub has_more: bool,
}

impl Completion {
    fn none() -> Self {
        Completion { values: Vec::new(), total: Some(0), has_more: false }
    }

    fn from(names: Names, prefix: &str, typed: &str) -> Self {
        let matching: Vec<String> =
            names.values.iter().filter(|v| v.starts_with(typed)).map(|v| format!("{prefix}{v}")).collect();
        let over = matching.len() > MAX_VALUES;
        let total = if names.complete { Some(matching.len() as u32) } else { names.total };
        let values = matching.into_iter().take(MAX_VALUES).collect();
        Completion { values, total, has_more: over || !names.complete }
    }
}

/// The argument `argument` of the prompt `prompt`, with the other arguments already given.
pub fn prompt_target(prompt: &str, argument: &str, given: &HashMap<String, String>) -> Result<Target, String> {
    let spec = crate::prompts::find(prompt)
        .ok_or_else(|| format!("unknown prompt `{}`: prompts/list names the prompts", short(prompt)))?;
    if !spec.args.iter().any(|a| a.name == argument) {
        return Err(format!("prompt `{}` has no argument `{}`", spec.name, short(argument)));
    }
    Ok(match argument {
        "build" => Target::BuildRef,
        "pipeline" => Target::PipelineRef,
        "branch" => Target::Branch(given.get("pipeline").cloned()),
        _ => Target::Nothing,
    })
}

/// The variable `argument` of the resource template `template`, with the variables already given.
pub fn template_target(template: &str, argument: &str, given: &HashMap<String, String>) -> Result<Target, String> {
    let spec = crate::resources::TEMPLATES.iter().find(|t| t.uri_template == template).ok_or_else(|| {
        format!("`{}` is not a resource template of this server: resources/templates/list gives them", short(template))
    })?;
    if !spec.uri_template.contains(&format!("{{{argument}}}")) && !query_variable(spec.uri_template, argument) {
        return Err(format!("template `{}` has no variable `{}`", spec.name, short(argument)));
    }
    let get = |k: &str| given.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let pipeline = || Some(format!("{}/{}", get("org")?, get("pipeline")?));
    Ok(match argument {
        "org" => Target::Org,
        "pipeline" => Target::Pipeline(get("org").map(str::to_string)),
        "number" => pipeline().map_or(Target::Nothing, Target::Number),
        "job" => pipeline().zip(get("number")).map_or(Target::Nothing, |(p, n)| Target::Step(format!("{p}/{n}"))),
        _ => Target::Nothing,
    })
}

fn query_variable(template: &str, name: &str) -> bool {
    template
        .split_once("{?")
        .and_then(|(_, q)| q.strip_suffix('}'))
        .is_some_and(|vars| vars.split(',').any(|v| v == name))
}

fn short(text: &str) -> String {
    text.chars().take(64).collect()
}

/// Suggestions for `target` starting with what was `typed`.
pub async fn complete(ctx: &Ctx, target: &Target, typed: &str) -> Result<Completion, ApiError> {
    let typed: String = typed.chars().filter(|c| !c.is_control()).take(TYPED_CHARS).collect();
    let typed = typed.trim_start();
    match target {
        Target::Nothing => Ok(Completion::none()),
        Target::Org => Ok(Completion::from(orgs(ctx).await?, "", typed)),
        Target::Pipeline(org) => {
            let org = match org {
                Some(org) => Some(org.clone()),
                None => ctx.org.get(&ctx.api).await.ok().flatten(),
            };
            match org.filter(|o| ids::is_slug(o)) {
                Some(org) => Ok(Completion::from(pipelines(ctx, &org, typed).await?, "", typed)),
                None => Ok(Completion::none()),
            }
        }
        Target::Number(pipeline) => Ok(Completion::from(builds(ctx, pipeline, Part::Number).await?, "", typed)),
        Target::Branch(pipeline) => {
            let Some(pipeline) = pipeline_slug(ctx, pipeline.as_deref()).await else { return Ok(Completion::none()) };
            Ok(Completion::from(builds(ctx, &pipeline, Part::Branch).await?, "", typed))
        }
        Target::Step(build) => Ok(Completion::from(steps(ctx, build).await?, "", typed)),
        Target::BuildRef | Target::PipelineRef => {
            if typed.contains("://") {
                return Ok(Completion::none());
            }
            let parts: Vec<&str> = typed.splitn(3, '/').collect();
            match parts.as_slice() {
                [org] => Ok(Completion::from(orgs(ctx).await?, "", org)).map(|c| suffixed(c, "/")),
                [org, pipeline] if ids::is_slug(org) => {
                    let found = Completion::from(pipelines(ctx, org, pipeline).await?, &format!("{org}/"), pipeline);
                    Ok(if *target == Target::BuildRef { suffixed(found, "/") } else { found })
                }
                [org, pipeline, number]
                    if *target == Target::BuildRef && ids::is_slug(org) && ids::is_slug(pipeline) =>
                {
                    let slug = format!("{org}/{pipeline}");
                    Ok(Completion::from(builds(ctx, &slug, Part::Number).await?, &format!("{slug}/"), number))
                }
                _ => Ok(Completion::none()),
            }
        }
    }
}

fn suffixed(mut completion: Completion, suffix: &str) -> Completion {
    for v in &mut completion.values {
        v.push_str(suffix);
    }
    completion
}

/// `org/pipeline` for a pipeline given as either that or a slug of the default organization.
async fn pipeline_slug(ctx: &Ctx, given: Option<&str>) -> Option<String> {
    let given = given?.trim();
    match given.split_once('/') {
        Some((org, pipeline)) if ids::is_slug(org) && ids::is_slug(pipeline) => Some(given.to_string()),
        Some(_) => None,
        None if ids::is_slug(given) => Some(format!("{}/{given}", ctx.org.get(&ctx.api).await.ok().flatten()?)),
        None => None,
    }
}

async fn orgs(ctx: &Ctx) -> Result<Names, ApiError> {
    let cache = ctx.api.names();
    if let Some(names) = cache.get("org", "", "") {
        return Ok(names);
    }
    let data = ctx.api.execute::<CompleteOrganizations>(complete_organizations::Variables).await?;
    let orgs = data.viewer.and_then(|v| v.organizations);
    let count = orgs.as_ref().map(|o| o.count);
    let values: Vec<String> =
        orgs.and_then(|o| o.edges).into_iter().flatten().flatten().filter_map(|e| e.node).map(|n| n.slug).collect();
    let names =
        Names { complete: count.is_none_or(|c| c as usize <= values.len()), total: count.map(|c| c as u32), values };
    cache.put("org", "", "", names.clone());
    Ok(names)
}

async fn pipelines(ctx: &Ctx, org: &str, typed: &str) -> Result<Names, ApiError> {
    let cache = ctx.api.names();
    if let Some(names) = cache.get("pipeline", org, typed) {
        return Ok(names);
    }
    let search = (!typed.is_empty()).then(|| typed.to_string());
    let vars = complete_pipelines::Variables { org: org.to_string(), search, first: FIRST };
    let data = ctx.api.execute::<CompletePipelines>(vars).await?;
    let found = data.organization.and_then(|o| o.pipelines);
    let count = found.as_ref().map(|p| p.count);
    let values: Vec<String> =
        found.and_then(|p| p.edges).into_iter().flatten().flatten().filter_map(|e| e.node).map(|n| n.slug).collect();
    let names = Names {
        complete: count.is_none_or(|c| c as usize <= values.len()),
        total: count.map(|c| c as u32).filter(|_| typed.is_empty()),
        values,
    };
    cache.put("pipeline", org, typed, names.clone());
    Ok(names)
}

#[derive(Clone, Copy)]
enum Part {
    Number,
    Branch,
}

async fn builds(ctx: &Ctx, pipeline: &str, part: Part) -> Result<Names, ApiError> {
    let kind = match part {
        Part::Number => "number",
        Part::Branch => "branch",
    };
    let cache = ctx.api.names();
    if let Some(names) = cache.get(kind, pipeline, "") {
        return Ok(names);
    }
    let vars = complete_builds::Variables { pipeline: pipeline.to_string(), first: FIRST };
    let data = ctx.api.execute::<CompleteBuilds>(vars).await?;
    let builds: Vec<_> = data
        .pipeline
        .and_then(|p| p.builds)
        .and_then(|b| b.edges)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.node)
        .collect();
    let numbers = builds.iter().map(|b| b.number.to_string()).collect();
    let mut branches: Vec<String> = Vec::new();
    for build in &builds {
        if !branches.contains(&build.branch) {
            branches.push(build.branch.clone());
        }
    }
    // The recent builds are what is offered: the list is complete for what it is.
    let (numbers, branches) = (
        Names { values: numbers, complete: true, total: None },
        Names { values: branches, complete: true, total: None },
    );
    cache.put("number", pipeline, "", numbers.clone());
    cache.put("branch", pipeline, "", branches.clone());
    Ok(match part {
        Part::Number => numbers,
        Part::Branch => branches,
    })
}

/// The build's command jobs: (step key, job UUID, retried).
pub async fn build_jobs(ctx: &Ctx, build: &str) -> Result<Vec<(Option<String>, String, bool)>, ApiError> {
    let vars = complete_steps::Variables { build: build.to_string(), first: FIRST };
    let data = ctx.api.execute::<CompleteSteps>(vars).await?;
    Ok(data
        .build
        .and_then(|b| b.jobs)
        .and_then(|j| j.edges)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.node)
        .filter_map(|node| match node {
            complete_steps::CompleteStepsBuildJobsEdgesNode::JobTypeCommand(job) => {
                Some((job.step.and_then(|s| s.key), job.uuid, job.retried))
            }
            _ => None,
        })
        .collect())
}

async fn steps(ctx: &Ctx, build: &str) -> Result<Names, ApiError> {
    let cache = ctx.api.names();
    if let Some(names) = cache.get("step", build, "") {
        return Ok(names);
    }
    let mut keys: Vec<String> = Vec::new();
    for (key, _, _) in build_jobs(ctx, build).await? {
        if let Some(key) = key
            && !keys.contains(&key)
        {
            keys.push(key);
        }
    }
    let names = Names { values: keys, complete: true, total: None };
    cache.put("step", build, "", names.clone());
    Ok(names)
}

/// The job UUID a step key names in a build: its latest (not retried) job, or one sentence when
/// the build has no such step or the step ran several jobs (parallelism).
pub async fn job_for_step(ctx: &Ctx, build: &str, key: &str) -> Result<String, String> {
    let jobs = build_jobs(ctx, build).await.map_err(|e| e.to_string())?;
    let latest: Vec<&String> =
        jobs.iter().filter(|(k, _, retried)| k.as_deref() == Some(key) && !retried).map(|(_, uuid, _)| uuid).collect();
    match latest.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(format!("build {build} has no step with key `{}`: list_jobs names its jobs and steps", short(key))),
        many => Err(format!(
            "step `{}` of build {build} ran {} jobs (parallelism): name one by its job UUID",
            short(key),
            many.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_map_to_what_they_complete_and_unknown_ones_are_one_sentence() {
        let none = HashMap::new();
        assert_eq!(prompt_target("triage_build", "build", &none).unwrap(), Target::BuildRef);
        let given = HashMap::from([("pipeline".to_string(), "acme/web".to_string())]);
        assert_eq!(prompt_target("triage_build", "branch", &given).unwrap(), Target::Branch(Some("acme/web".into())));
        assert_eq!(prompt_target("is_test_flaky", "test", &none).unwrap(), Target::Nothing);
        assert!(prompt_target("nope", "build", &none).unwrap_err().contains("prompts/list"));
        assert!(prompt_target("triage_build", "colour", &none).unwrap_err().contains("no argument `colour`"));
        let log = "buildkite://{org}/{pipeline}/builds/{number}/jobs/{job}/log{?from_line,lines}";
        let given: HashMap<String, String> =
            [("org", "acme"), ("pipeline", "web"), ("number", "1342")].map(|(k, v)| (k.into(), v.into())).into();
        assert_eq!(template_target(log, "job", &given).unwrap(), Target::Step("acme/web/1342".into()));
        assert_eq!(template_target(log, "lines", &given).unwrap(), Target::Nothing);
        assert_eq!(template_target(log, "pipeline", &given).unwrap(), Target::Pipeline(Some("acme".into())));
        assert!(template_target(log, "colour", &given).unwrap_err().contains("no variable"));
        assert!(template_target("buildkite://x", "org", &given).unwrap_err().contains("resources/templates/list"));
    }

    #[test]
    fn values_are_capped_and_say_what_was_left_out() {
        let values = (0..150).map(|i| format!("p{i:03}")).collect();
        let all = Completion::from(Names { values, complete: true, total: None }, "acme/", "p");
        assert_eq!((all.values.len(), all.total, all.has_more), (MAX_VALUES, Some(150), true));
        assert_eq!(all.values[0], "acme/p000");
        let part = Completion::from(Names { values: vec!["web".into()], complete: false, total: Some(9) }, "", "w");
        assert_eq!((part.values.len(), part.total, part.has_more), (1, Some(9), true));
    }
}
