//! Identifier resolution shared by the tools: what a person pastes (a build URL, `org/pipeline/42`,
//! `#42` with a pipeline, a job UUID or URL, a pipeline slug) resolved against the `org` argument
//! and the default organization, into what the API takes.

use super::ToolError;
use super::kit::{Call, Wanted};
use crate::buildkite::ids::{self, BuildRef, PipelineRef};
use crate::buildkite::ops::{GetBuildUuid, get_build_uuid};

/// What to check when a build is not found.
pub const BUILD_HINT: &str = "check the pipeline and number with list_builds";

/// What to check when a pipeline is not found.
pub const PIPELINE_HINT: &str = "check the slug with list_pipelines";

/// What to check when an organization is not found.
pub const ORG_HINT: &str = "check the slug with current_user, which lists the token's organizations";

/// What to check when a job is not found.
pub const JOB_HINT: &str = "check the UUID with list_jobs on its build";

/// `org` when it is a slug: it goes into REST paths, so anything else (`..`, `/`, `%2e`) is refused.
pub fn checked_org(org: &str) -> Result<String, ToolError> {
    if ids::is_slug(org) {
        Ok(org.to_string())
    } else {
        Err(ToolError::args(format!("`{org}` is not an organization slug: use the slug from its URL, e.g. acme")))
    }
}

/// A slug or ID safe to put in a URL path (`what` names it in the error).
pub fn path_part(what: &str, value: &str) -> Result<String, ToolError> {
    let v = value.trim();
    let safe = v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if v.is_empty() || v.starts_with('.') || !safe {
        return Err(ToolError::args(format!("`{v}` is not a {what}")));
    }
    Ok(v.to_string())
}

/// A build identifier resolved to what `build(slug:, uuid:)` takes, plus how to name it.
pub struct BuildLookup {
    /// `org/pipeline/number`, when known.
    pub slug: Option<String>,
    /// The build UUID, when that is what was given.
    pub uuid: Option<String>,
    /// The build as messages name it (`build acme/web/42`), with what to check when it is missing.
    pub wanted: Wanted,
}

/// A job named by UUID or URL, with the organization when the URL or the `org` argument says it.
pub struct JobId {
    /// The job's UUID.
    pub uuid: String,
    /// Its organization, when known without asking.
    pub org: Option<String>,
}

impl Call<'_> {
    /// Parses an identifier with the `org` argument; only when the identifier names no org
    /// either, asks for the default one.
    pub async fn with_org<T>(&self, parse: impl Fn(Option<&str>) -> Result<T, ids::IdError>) -> Result<T, ToolError> {
        self.ctx.org.with_org(&self.ctx.api, self.org_arg(), parse).await
    }

    /// A pipeline as a person pastes it: URL, `org/pipeline`, or a slug in the default org.
    pub async fn pipeline(&self, input: &str) -> Result<PipelineRef, ToolError> {
        self.with_org(|org| ids::parse_pipeline(input, org)).await
    }

    /// A build as a person pastes it (with `pipeline` for a bare number).
    pub async fn build(&self, build: &str, pipeline: Option<&str>) -> Result<BuildLookup, ToolError> {
        let build = self.with_org(|org| ids::parse_build(build, pipeline, org)).await?;
        let wanted = Wanted::new(build.describe(), BUILD_HINT);
        Ok(match build {
            BuildRef::Number { pipeline, number } => {
                BuildLookup { slug: Some(format!("{}/{number}", pipeline.slug())), uuid: None, wanted }
            }
            BuildRef::Uuid(u) => BuildLookup { slug: None, uuid: Some(u), wanted },
        })
    }

    /// The build UUID Test Engine wants, from a UUID (no request) or a URL / number (one GraphQL
    /// request): (uuid, how to name the build, the build's organization when the identifier names it).
    pub async fn build_uuid(
        &self,
        build: &str,
        pipeline: Option<&str>,
    ) -> Result<(String, String, Option<String>), ToolError> {
        match self.with_org(|o| ids::parse_build(build, pipeline, o)).await? {
            BuildRef::Uuid(u) => Ok((u.clone(), format!("build {u}"), None)),
            BuildRef::Number { pipeline, number } => {
                let slug = format!("{}/{number}", pipeline.slug());
                let wanted = Wanted::new(format!("build {slug}"), BUILD_HINT);
                if !self.graphql().await {
                    // Without GraphQL: the build's own REST answer (no jobs) carries its UUID.
                    let path =
                        format!("v2/organizations/{}/pipelines/{}/builds/{number}", pipeline.org, pipeline.pipeline);
                    let query = [("exclude_jobs", "true".to_string()), ("exclude_pipeline", "true".to_string())];
                    let (b, _) = self.rest_typed::<super::rest::RestBuild>(&path, &query, &wanted).await?;
                    return Ok((b.id, slug, Some(pipeline.org)));
                }
                let data =
                    self.query::<GetBuildUuid>(get_build_uuid::Variables { slug: slug.clone() }, &wanted).await?;
                Ok((wanted.found(data.build)?.uuid, slug, Some(pipeline.org)))
            }
        }
    }

    /// A job UUID from what a person pastes (a UUID, or a build URL ending in `#<job uuid>`).
    pub fn job_uuid(&self, input: &str) -> Result<String, ToolError> {
        ids::parse_job(input).ok_or_else(|| {
            ToolError::args(format!(
                "`{}` is not a job: pass a job UUID, or a build URL ending in #<job uuid> (list_jobs lists a build's jobs)",
                crate::render::clean_text(input.trim(), 100)
            ))
        })
    }

    /// A job and, when the URL or the `org` argument names it, its organization.
    pub fn job(&self, input: &str) -> Result<JobId, ToolError> {
        let uuid = self.job_uuid(input)?;
        let from_url = match ids::parse_build(input, None, None) {
            Ok(BuildRef::Number { pipeline, .. }) => Some(pipeline.org),
            _ => None,
        };
        // The org goes into REST paths: only a slug passes.
        let org = match from_url.or_else(|| self.org_arg().map(str::to_string)) {
            Some(org) => Some(checked_org(&org)?),
            None => None,
        };
        Ok(JobId { uuid, org })
    }
}

/// Whether a GraphQL ID names a cluster queue (base64 of `ClusterQueue-…`).
pub fn is_queue_id(id: &str) -> bool {
    decode_base64(id).is_some_and(|d| d.starts_with(b"ClusterQueue"))
}

/// Standard base64 (GraphQL node IDs), or `None`.
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.trim_end_matches('=').bytes() {
        acc = (acc << 6) | u32::from(value(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_ids_are_told_from_cluster_ids() {
        // base64("ClusterQueue---0191") and base64("Cluster---0191")
        assert!(is_queue_id("Q2x1c3RlclF1ZXVlLS0tMDE5MQ=="));
        assert!(!is_queue_id("Q2x1c3Rlci0tLTAxOTE="));
        assert!(!is_queue_id("not base64!"));
    }

    #[test]
    fn path_parts_refuse_slashes_and_spaces() {
        assert!(path_part("suite slug", "web-rspec").is_ok());
        assert!(path_part("suite slug", "../x").is_err());
        assert!(path_part("suite slug", "a b").is_err());
        assert!(path_part("suite slug", "..").is_err());
    }

    #[test]
    fn org_arguments_must_be_slugs() {
        assert_eq!(checked_org("acme").unwrap(), "acme");
        for bad in ["../x", "a/b", "%2e%2e", ".hidden"] {
            assert!(checked_org(bad).unwrap_err().to_string().contains("not an organization slug"), "{bad}");
        }
    }
}
