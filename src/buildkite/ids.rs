//! Parses what a person pastes into the identifiers the API wants: build, job and pipeline URLs (web
//! and REST API), `org/pipeline/number`, `pipeline/number`, `#number` or a number with a pipeline,
//! and UUIDs.

use reqwest::Url;

/// A pipeline, by organization and pipeline slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRef {
    /// Organization slug.
    pub org: String,
    /// Pipeline slug.
    pub pipeline: String,
}

impl PipelineRef {
    /// `org/pipeline`, the GraphQL `pipeline(slug:)` form.
    pub fn slug(&self) -> String {
        format!("{}/{}", self.org, self.pipeline)
    }
}

/// A build, by number within a pipeline or by UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildRef {
    /// `org/pipeline/number`.
    Number {
        /// The pipeline.
        pipeline: PipelineRef,
        /// The build number.
        number: u64,
    },
    /// The build's UUID.
    Uuid(String),
}

impl BuildRef {
    /// How to name it in messages.
    pub fn describe(&self) -> String {
        match self {
            BuildRef::Number { pipeline, number } => format!("build {}/{number}", pipeline.slug()),
            BuildRef::Uuid(u) => format!("build {u}"),
        }
    }
}

/// An identifier that could not be understood; the message says what is accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Not a build reference.
    #[error(
        "`{0}` is not a build: pass a build URL (https://buildkite.com/acme/web/builds/42), `org/pipeline/number`, a build UUID, or a number together with `pipeline`"
    )]
    Build(String),
    /// Not a pipeline reference.
    #[error(
        "`{0}` is not a pipeline: pass a pipeline URL (https://buildkite.com/acme/web), `org/pipeline`, or a pipeline slug"
    )]
    Pipeline(String),
    /// A URL that does not point at what was asked for.
    #[error("the URL `{0}` does not point at a Buildkite {1}: expected e.g. https://buildkite.com/acme/web/builds/42")]
    Url(String, &'static str),
    /// The organization could not be worked out.
    #[error("no organization given for `{0}`: pass `org`, write `org/pipeline`, or set BUILDKITE_ORGANIZATION")]
    NoOrg(String),
}

/// Whether `s` is a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().zip([8, 4, 4, 4, 12]).all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Whether `s` can be a Buildkite slug (and so is safe inside a URL path: no `/`, `%`, `?` or dot
/// segment).
pub fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && !s.starts_with('.')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn number(s: &str) -> Option<u64> {
    let s = s.strip_prefix('#').unwrap_or(s);
    if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| *n > 0)
}

/// The path segments of a Buildkite web or REST URL, normalised to `[org, pipeline, rest…]`
/// where possible, plus the URL's fragment.
fn url_segments(input: &str) -> Option<(Vec<String>, Option<String>)> {
    let url = Url::parse(input).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    let segments: Vec<String> = url.path_segments()?.filter(|s| !s.is_empty()).map(str::to_string).collect();
    let fragment = url.fragment().map(str::to_string);
    // REST: /v2/organizations/{org}/pipelines/{p}/…
    if segments.first().map(String::as_str) == Some("v2")
        && segments.get(1).map(String::as_str) == Some("organizations")
    {
        let mut out = vec![segments.get(2)?.clone()];
        if segments.get(3).map(String::as_str) == Some("pipelines") {
            out.extend(segments.iter().skip(4).cloned());
        } else {
            out.extend(segments.iter().skip(3).cloned());
        }
        return Some((out, fragment));
    }
    Some((segments, fragment))
}

/// A link pasted without its scheme (`buildkite.com/acme/web/builds/42`) gets `https://`.
fn with_scheme(input: &str) -> std::borrow::Cow<'_, str> {
    let input = input.trim();
    if ["buildkite.com/", "www.buildkite.com/", "api.buildkite.com/"].iter().any(|p| input.starts_with(p)) {
        std::borrow::Cow::Owned(format!("https://{input}"))
    } else {
        std::borrow::Cow::Borrowed(input)
    }
}

/// A default org that is blank counts as none.
fn org_or_none(org: Option<&str>) -> Option<&str> {
    org.map(str::trim).filter(|o| !o.is_empty())
}

/// Parses a pipeline: URL, `org/pipeline`, or a bare slug with `default_org`.
pub fn parse_pipeline(input: &str, default_org: Option<&str>) -> Result<PipelineRef, IdError> {
    let input = &*with_scheme(input);
    let default_org = org_or_none(default_org);
    if input.contains("://") {
        let (segments, _) = url_segments(input).ok_or_else(|| IdError::Url(input.to_string(), "pipeline"))?;
        return match segments.as_slice() {
            [org, pipeline, ..] if is_slug(org) && is_slug(pipeline) && org != "organizations" => {
                Ok(PipelineRef { org: org.clone(), pipeline: pipeline.clone() })
            }
            _ => Err(IdError::Url(input.to_string(), "pipeline")),
        };
    }
    let parts: Vec<&str> = input.split('/').collect();
    match parts.as_slice() {
        [org, pipeline] if is_slug(org) && is_slug(pipeline) => {
            Ok(PipelineRef { org: (*org).to_string(), pipeline: (*pipeline).to_string() })
        }
        [pipeline] if is_slug(pipeline) => match default_org {
            Some(org) => Ok(PipelineRef { org: org.to_string(), pipeline: (*pipeline).to_string() }),
            None => Err(IdError::NoOrg(input.to_string())),
        },
        _ => Err(IdError::Pipeline(input.to_string())),
    }
}

/// Parses a build: URL, `org/pipeline/number`, `pipeline/number`, UUID, or a number with `pipeline`.
pub fn parse_build(input: &str, pipeline: Option<&str>, default_org: Option<&str>) -> Result<BuildRef, IdError> {
    let input = &*with_scheme(input);
    let default_org = org_or_none(default_org);
    let pipeline = pipeline.map(str::trim).filter(|p| !p.is_empty());
    if input.contains("://") {
        let (segments, _) = url_segments(input).ok_or_else(|| IdError::Url(input.to_string(), "build"))?;
        return match segments.as_slice() {
            [org, pipe, builds, n, ..] if builds == "builds" && is_slug(org) && is_slug(pipe) => match number(n) {
                Some(number) => {
                    Ok(BuildRef::Number { pipeline: PipelineRef { org: org.clone(), pipeline: pipe.clone() }, number })
                }
                None => Err(IdError::Url(input.to_string(), "build")),
            },
            _ => Err(IdError::Url(input.to_string(), "build")),
        };
    }
    if is_uuid(input) {
        return Ok(BuildRef::Uuid(input.to_ascii_lowercase()));
    }
    let mut parts: Vec<&str> = input.split('/').collect();
    // `org/pipeline/builds/42` and `pipeline/builds/42`: drop the `builds` segment, and only that one.
    match parts.as_slice() {
        [_, _, "builds", _] => {
            parts.remove(2);
        }
        [_, "builds", _] => {
            parts.remove(1);
        }
        _ => {}
    }
    match parts.as_slice() {
        [org, pipe, n] if is_slug(org) && is_slug(pipe) => number(n)
            .map(|number| BuildRef::Number {
                pipeline: PipelineRef { org: (*org).to_string(), pipeline: (*pipe).to_string() },
                number,
            })
            .ok_or_else(|| IdError::Build(input.to_string())),
        [pipe, n] if is_slug(pipe) => {
            let number = number(n).ok_or_else(|| IdError::Build(input.to_string()))?;
            Ok(BuildRef::Number { pipeline: parse_pipeline(pipe, default_org)?, number })
        }
        [n] => {
            let number = number(n).ok_or_else(|| IdError::Build(input.to_string()))?;
            let pipeline = pipeline.ok_or_else(|| IdError::Build(input.to_string()))?;
            Ok(BuildRef::Number { pipeline: parse_pipeline(pipeline, default_org)?, number })
        }
        _ => Err(IdError::Build(input.to_string())),
    }
}

/// Parses a job: a job UUID, or a build URL carrying the job as `#uuid` or `/jobs/uuid`.
pub fn parse_job(input: &str) -> Option<String> {
    let input = &*with_scheme(input);
    if is_uuid(input) {
        return Some(input.to_ascii_lowercase());
    }
    let (segments, fragment) = url_segments(input)?;
    if let Some(f) = fragment.filter(|f| is_uuid(f)) {
        return Some(f.to_ascii_lowercase());
    }
    segments.windows(2).find(|w| w[0] == "jobs" && is_uuid(&w[1])).map(|w| w[1].to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(org: &str, p: &str, n: u64) -> BuildRef {
        BuildRef::Number { pipeline: PipelineRef { org: org.into(), pipeline: p.into() }, number: n }
    }

    #[test]
    fn builds_parse_from_everything_a_person_pastes() {
        let org = Some("acme");
        for input in [
            "https://buildkite.com/acme/web/builds/42",
            "https://buildkite.com/acme/web/builds/42#0190b1a2-0000-4000-8000-000000000001",
            "https://buildkite.com/acme/web/builds/42/steps/canvas?sid=x",
            "https://api.buildkite.com/v2/organizations/acme/pipelines/web/builds/42/jobs/0190b1a2-0000-4000-8000-000000000001",
            "acme/web/42",
            "acme/web/builds/42",
            "buildkite.com/acme/web/builds/42",
            "web/42",
            "web/builds/42",
            " acme/web/#42 ",
        ] {
            assert_eq!(parse_build(input, None, org), Ok(num("acme", "web", 42)), "{input}");
        }
        assert_eq!(parse_build("42", Some("web"), org), Ok(num("acme", "web", 42)));
        assert_eq!(parse_build("#42", Some("acme/web"), None), Ok(num("acme", "web", 42)));
        assert_eq!(
            parse_build("F62A1B4D-10F9-4790-BC1C-E2C3A0C80983", None, None),
            Ok(BuildRef::Uuid("f62a1b4d-10f9-4790-bc1c-e2c3a0c80983".into()))
        );
    }

    #[test]
    fn bad_builds_say_what_is_accepted() {
        for input in [
            "",
            "hello world",
            "acme/web/abc",
            "acme/web/0",
            "https://buildkite.com/acme/web",
            "ftp://x/y",
            "https://",
            "42",
        ] {
            let err = parse_build(input, None, Some("acme")).unwrap_err().to_string();
            assert!(err.contains("build") || err.contains("URL"), "{input}: {err}");
        }
        assert_eq!(parse_build("web/42", None, None), Err(IdError::NoOrg("web".into())));
        assert_eq!(parse_build("web/42", None, Some("  ")), Err(IdError::NoOrg("web".into())));
        // A pipeline called `builds` is not mistaken for the segment.
        assert_eq!(parse_build("acme/builds/builds/42", None, None), Ok(num("acme", "builds", 42)));
    }

    #[test]
    fn pipelines_parse_from_urls_and_slugs() {
        let want = PipelineRef { org: "acme".into(), pipeline: "web".into() };
        for input in
            ["https://buildkite.com/acme/web", "https://buildkite.com/acme/web/builds?branch=main", "acme/web", "web"]
        {
            assert_eq!(parse_pipeline(input, Some("acme")), Ok(want.clone()), "{input}");
        }
        assert!(parse_pipeline("a/b/c", Some("acme")).is_err());
        assert!(parse_pipeline("https://buildkite.com/", None).is_err());
        assert!(parse_pipeline("has space", None).is_err());
    }

    #[test]
    fn jobs_parse_from_uuid_fragment_and_path() {
        let id = "0190b1a2-0000-4000-8000-000000000001";
        assert_eq!(parse_job(id).as_deref(), Some(id));
        assert_eq!(parse_job(&format!("https://buildkite.com/acme/web/builds/42#{id}")).as_deref(), Some(id));
        assert_eq!(parse_job(&format!("https://buildkite.com/acme/web/builds/42/jobs/{id}")).as_deref(), Some(id));
        assert_eq!(parse_job("https://buildkite.com/acme/web/builds/42"), None);
    }
}
