//! `list_artifacts` (a job's through GraphQL, a build's through REST, which lists them in one paged
//! request) and `get_artifact` (metadata, a short-lived download URL, small text inline).

use super::args::{clamp, lenient_int, page_number};
use super::context::non_blank;
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::{BUILD_HINT, JOB_HINT};
use super::rest::{RestArtifact, RestJob};
use super::rows;
use crate::buildkite::ApiError;
use crate::buildkite::ids::{self, BuildRef};
use crate::buildkite::ops::{GetArtifact, ListJobArtifacts, get_artifact, list_job_artifacts};
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Default and largest inline size for `get_artifact`, in bytes.
const INLINE_DEFAULT: i64 = 8 * 1024;
const INLINE_MAX: i64 = 64 * 1024;

/// Arguments of `list_artifacts`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArtifactsArgs {
    /// All its jobs' artifacts.
    #[serde(default)]
    build: Option<String>,
    /// One job's artifacts.
    #[serde(default)]
    job: Option<String>,
    /// Glob, e.g. *.xml
    #[serde(default)]
    path: Option<String>,
    // Page of a build's artifacts (next.after; 100 per page).
    #[serde(default)]
    after: Option<String>,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
}

/// Arguments of `get_artifact`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetArtifactArgs {
    /// Artifact UUID or its URL.
    artifact: String,
    /// Inline a text artifact up to this many bytes (default 8192, max 65536; 0 = never).
    #[serde(default, deserialize_with = "lenient_int")]
    inline_bytes: Option<i64>,
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "list_artifacts",
        toolset: Toolset::Artifacts,
        hints: Hints::READ,
        scopes: &["read_artifacts"],
        rest: Rest::Same,
        description: "List a build's or a job's artifacts (id, path, size, type), optionally by path glob.",
        handler: handler!(list_artifacts, ListArtifactsArgs),
    },
    Tool {
        name: "get_artifact",
        toolset: Toolset::Artifacts,
        hints: Hints::READ,
        scopes: &["read_artifacts"],
        rest: Rest::Same,
        description: "One artifact: metadata, a download URL valid for minutes, and its content inline when it is small text.",
        handler: handler!(get_artifact, GetArtifactArgs),
    },
];

fn args_error(detail: impl Into<String>) -> ToolError {
    ToolError::args(detail)
}

/// A path glob as people write them: `*` and `?` match across `/` too (`*.xml` finds
/// `tmp/junit/a.xml`), `**` any depth, `[abc]` and `{a,b}` alternatives.
pub fn glob(pattern: &str) -> Result<globset::GlobMatcher, ToolError> {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| args_error(format!("path `{}` is not a glob: {}", render::clean_text(pattern, 100), e.kind())))
}

async fn list_artifacts(call: &Call<'_>, args: ListArtifactsArgs) -> Result<String, ToolError> {
    let budget = call.budget(3_000);
    let glob = non_blank(args.path.as_deref()).map(str::to_string);
    match (non_blank(args.job.as_deref()), non_blank(args.build.as_deref())) {
        (Some(job), _) if !call.graphql().await => list_job_artifacts_rest(call, job, glob, budget).await,
        (Some(job), _) => {
            let uuid = call.job_uuid(job)?;
            let wanted = Wanted::new(format!("job {uuid}"), JOB_HINT);
            let variables = list_job_artifacts::Variables { uuid: uuid.clone(), first: 100, path: glob.clone() };
            let data = call.query::<ListJobArtifacts>(variables, &wanted).await?;
            use list_job_artifacts::ListJobArtifactsJob as Job;
            let job = match data.job {
                Some(Job::JobTypeCommand(j)) => j,
                Some(_) => {
                    return Err(args_error(format!("{} is not a command job, so it has no artifacts", wanted.what)));
                }
                None => return Err(wanted.not_found()),
            };
            let conn = job.artifacts;
            let total = conn.as_ref().map(|c| c.count).unwrap_or(0);
            let rows: Vec<Value> = nodes!(conn).map(|a| rows::artifact(&a.uuid, &a.path, a.size, &a.mime_type, &a.state)).collect();
            let mut head = Map::new();
            head.insert("job".into(), json!(job.uuid));
            if let Some(b) = job.build {
                head.insert("build".into(), json!(format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number)));
            }
            head.insert("label".into(), json!(job.label.as_deref().map(|l| render::clean_text(l, 120))));
            if let Some(g) = &glob {
                head.insert("path".into(), json!(g));
            }
            let more = (total.max(0) as usize > rows.len())
                .then(|| json!({"note": "only the first 100 are listed: narrow with path"}));
            if let Some(more) = more {
                head.insert("more".into(), more);
            }
            let mut page = Page::new(total, None);
            page.cursors = vec![None; rows.len()];
            page.rows = rows;
            Ok(render::render_page(head, "artifacts", page, budget))
        }
        (None, Some(build)) => {
            let build = call.with_org(|org| ids::parse_build(build, args.pipeline.as_deref(), org)).await?;
            let BuildRef::Number { pipeline, number } = build else {
                return Err(args_error("a build UUID cannot list artifacts: pass the build URL or org/pipeline/number",
                ));
            };
            let page = page_number(args.after.as_deref())?;
            let path =
                format!("v2/organizations/{}/pipelines/{}/builds/{number}/artifacts", pipeline.org, pipeline.pipeline);
            let wanted = Wanted::new(format!("build {}/{number}", pipeline.slug()), BUILD_HINT);
            let answer = call.rest(&path, &[("per_page", "100".into()), ("page", page.to_string())], &wanted).await?;
            let items = answer.body.as_array().cloned().unwrap_or_default();
            let listed = items.len();
            let matcher = glob.as_deref().map(self::glob).transpose()?;
            // (job, row) for each artifact the glob keeps.
            let mut rows: Vec<(String, Value)> = items
                .iter()
                .filter_map(|a| {
                    let text = |k: &str| a.get(k).and_then(Value::as_str).unwrap_or("");
                    let path = text("path");
                    if matcher.as_ref().is_some_and(|m| !m.is_match(path)) {
                        return None;
                    }
                    let size = a.get("file_size").and_then(Value::as_i64).unwrap_or(0);
                    Some((text("job_id").to_string(), rows::artifact(text("id"), path, size, text("mime_type"), text("state"))))
                })
                .collect();
            let matched = rows.len();
            // Pages are numbered by the API: a cut page would skip rows, so say so instead.
            let shaped: Vec<Value> = rows.iter().map(|(_, r)| r.clone()).collect();
            let fit = render::rows_that_fit(&shaped, budget, 300);
            let cut = rows.len().saturating_sub(fit);
            rows.truncate(fit);
            // Grouped by job: the job UUID is said once, not on every row.
            let mut by_job: Map<String, Value> = Map::new();
            for (job, r) in rows {
                let entry = by_job.entry(job).or_insert_with(|| json!([]));
                if let Some(list) = entry.as_array_mut() {
                    list.push(r);
                }
            }
            let mut out = Map::new();
            out.insert("build".into(), json!(format!("{}/{number}", pipeline.slug())));
            if let Some(g) = &glob {
                out.insert("path".into(), json!(g));
                out.insert("matched".into(), json!(matched));
                out.insert("of".into(), json!(listed));
            } else {
                out.insert("count".into(), json!(listed));
            }
            out.insert("by_job".into(), Value::Object(by_job));
            if cut > 0 {
                out.insert(
                    "cut".into(),
                    json!(format!("{cut} artifacts of this page left out for max_tokens: narrow with path")),
                );
            } else if let Some(next) = answer.next_page {
                out.insert("next".into(), json!({"after": next.to_string()}));
            }
            Ok(render::render_object(Value::Object(out), budget))
        }
        (None, None) => {
            Err(args_error("pass `build` (a build URL or org/pipeline/number) or `job` (a job UUID)"))
        }
    }
}

/// A job's artifacts without GraphQL access: the job (label, build, type) and the first 100 of
/// `GET /v2/organizations/{org}/jobs/{uuid}/artifacts`, side by side; the glob is applied here.
async fn list_job_artifacts_rest(
    call: &Call<'_>,
    job: &str,
    glob: Option<String>,
    budget: usize,
) -> Result<String, ToolError> {
    let id = call.job(job)?;
    let org = match id.org {
        Some(org) => org,
        None => call.org().await?,
    };
    let uuid = id.uuid;
    let wanted = Wanted::new(format!("job {uuid}"), JOB_HINT);
    let matcher = glob.as_deref().map(self::glob).transpose()?;
    let job_path = format!("v2/organizations/{org}/jobs/{uuid}");
    let list_path = format!("{job_path}/artifacts");
    let query = [("per_page", "100".to_string())];
    let (j, list) = tokio::join!(
        call.rest_typed::<RestJob>(&job_path, &[], &wanted),
        call.rest_typed::<Vec<RestArtifact>>(&list_path, &query, &wanted)
    );
    let (j, _) = j?;
    if j.kind != "script" {
        return Err(args_error(format!("{} is not a command job, so it has no artifacts", wanted.what)));
    }
    let (items, next) = list?;
    let rows: Vec<Value> = items
        .iter()
        .filter(|a| matcher.as_ref().is_none_or(|m| m.is_match(&a.path)))
        .map(rows::artifact_from_rest)
        .collect();
    let build = j.web_url.as_deref().and_then(|u| match ids::parse_build(u, None, None) {
        Ok(BuildRef::Number { pipeline, number }) => Some(format!("{}/{number}", pipeline.slug())),
        _ => None,
    });
    let mut head = Map::new();
    head.insert("job".into(), json!(j.id));
    if let Some(build) = build.or_else(|| items.first().and_then(RestArtifact::build)) {
        head.insert("build".into(), json!(build));
    }
    head.insert("label".into(), json!(j.name.as_deref().map(|l| render::clean_text(l, 120))));
    if let Some(g) = &glob {
        head.insert("path".into(), json!(g));
    }
    if next.is_some() {
        head.insert("more".into(), json!({"note": "only the first 100 are listed: narrow with path"}));
    }
    let mut page = Page::new(rows.len() as i64, None);
    page.cursors = vec![None; rows.len()];
    page.rows = rows;
    Ok(render::render_page(head, "artifacts", page, budget))
}

/// Whether a MIME type or file name says the content is text.
fn looks_textual(mime: &str, path: &str) -> bool {
    let mime = mime.to_ascii_lowercase();
    if mime.starts_with("text/") {
        return true;
    }
    let text_mimes = ["json", "xml", "yaml", "javascript", "x-sh", "toml", "csv", "sql"];
    if mime.starts_with("application/") && text_mimes.iter().any(|t| mime.contains(t)) {
        return true;
    }
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    ["txt", "log", "json", "xml", "yml", "yaml", "md", "csv", "tsv", "html", "toml", "ini", "out", "diff", "patch"]
        .contains(&ext.as_str())
}

/// An artifact UUID from a UUID or a URL containing `/artifacts/<uuid>`.
fn parse_artifact(input: &str) -> Option<String> {
    let input = input.trim();
    let is_uuid = ids::is_uuid;
    if is_uuid(input) {
        return Some(input.to_ascii_lowercase());
    }
    let mut parts = input.split(['/', '?', '#']);
    while let Some(part) = parts.next() {
        if part == "artifacts" {
            return parts.next().filter(|p| is_uuid(p)).map(str::to_ascii_lowercase);
        }
    }
    None
}

/// An artifact size as a person reads it (sizes from the API are never negative).
fn human_size(bytes: i64) -> String {
    crate::buildkite::error::human_bytes(bytes.max(0) as u64)
}

/// What `get_artifact` shows of an artifact, from either API.
struct ArtifactMeta {
    id: String,
    path: String,
    size: i64,
    mime: String,
    state: String,
    /// GraphQL only.
    sha256: Option<String>,
    /// GraphQL only.
    expires: Option<String>,
    job: Option<String>,
    build: Option<String>,
    /// The short-lived URL shown to the model (GraphQL only: REST gives it only as a redirect).
    download_url: Option<String>,
    /// The URL the content is fetched from (the same, or REST's `…/download`, which redirects).
    fetch_url: String,
}

/// A job UUID, an artifact UUID and maybe the organization from `<job>/artifacts/<artifact>` or
/// a URL containing `organizations/<org>/…/jobs/<job>/artifacts/<artifact>`.
fn parse_job_artifact(input: &str) -> Option<(Option<String>, String, String)> {
    let parts: Vec<&str> = input.trim().split(['/', '?', '#']).collect();
    let at = parts.iter().position(|p| *p == "artifacts")?;
    let artifact = parts.get(at + 1).filter(|p| ids::is_uuid(p))?.to_ascii_lowercase();
    let job = parts.get(at.checked_sub(1)?).filter(|p| ids::is_uuid(p))?.to_ascii_lowercase();
    let org = parts.iter().position(|p| *p == "organizations").and_then(|i| parts.get(i + 1)).map(|o| o.to_string());
    Some((org, job, artifact))
}

/// The artifact over REST: `GET /v2/organizations/{org}/jobs/{job}/artifacts/{uuid}` (REST finds
/// an artifact only through its job).
async fn artifact_rest(call: &Call<'_>, input: &str) -> Result<ArtifactMeta, ToolError> {
    let (org, job, uuid) = parse_job_artifact(input).ok_or_else(|| {
        args_error(format!(
            "`{}` does not name its job, and without GraphQL access Buildkite finds an artifact only through its job: pass `<job uuid>/artifacts/<artifact uuid>` or the artifact's URL (list_artifacts gives both UUIDs)",
            render::clean_text(input.trim(), 100)
        ))
    })?;
    let org = match org {
        Some(org) => super::resolve::checked_org(&org)?,
        None => call.org().await?,
    };
    let wanted = Wanted::new(format!("artifact {uuid}"), "list_artifacts lists a build's or a job's artifacts");
    let path = format!("v2/organizations/{org}/jobs/{job}/artifacts/{uuid}");
    let (a, _) = call.rest_typed::<RestArtifact>(&path, &[], &wanted).await?;
    let fetch_url = call.ctx.api.rest_url(&format!("{path}/download")).map_err(|e| wanted.or_not_found(e))?.to_string();
    Ok(ArtifactMeta {
        build: a.build(),
        job: a.job_id.clone().or(Some(job)),
        id: a.id,
        path: a.path,
        size: a.file_size,
        mime: a.mime_type,
        state: a.state,
        sha256: None,
        expires: None,
        download_url: None,
        fetch_url,
    })
}

/// The artifact over GraphQL.
async fn artifact_graphql(call: &Call<'_>, input: &str) -> Result<ArtifactMeta, ToolError> {
    let uuid = parse_artifact(input).ok_or_else(|| {
        args_error(format!("`{}` is not an artifact: pass its UUID (list_artifacts lists them)", input.trim()))
    })?;
    let wanted = Wanted::new(format!("artifact {uuid}"), "list_artifacts lists a build's or a job's artifacts");
    let a = wanted.found(call.query::<GetArtifact>(get_artifact::Variables { uuid: uuid.clone() }, &wanted).await?.artifact)?;
    let (job, build) = match &a.job {
        Some(job) => (
            Some(job.uuid.clone()),
            job.build.as_ref().map(|b| format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number)),
        ),
        None => (None, None),
    };
    Ok(ArtifactMeta {
        id: a.uuid,
        path: a.path,
        size: a.size,
        mime: a.mime_type,
        state: a.state,
        sha256: a.sha256sum,
        expires: a.expires_at,
        job,
        build,
        download_url: Some(a.download_url.clone()),
        fetch_url: a.download_url,
    })
}

async fn get_artifact(call: &Call<'_>, args: GetArtifactArgs) -> Result<String, ToolError> {
    let ctx = call.ctx;
    let graphql = call.graphql().await;
    let a = if graphql { artifact_graphql(call, &args.artifact).await? } else { artifact_rest(call, &args.artifact).await? };
    let cap = clamp(args.inline_bytes, INLINE_DEFAULT, 0, INLINE_MAX);
    let mut out = Map::new();
    out.insert("id".into(), json!(a.id));
    out.insert("path".into(), json!(render::clean_text(&a.path, 300)));
    out.insert("size".into(), json!(a.size));
    out.insert("mime".into(), json!(render::clean_text(&a.mime, 80)));
    if !a.state.eq_ignore_ascii_case("finished") {
        out.insert("state".into(), json!(a.state.to_ascii_lowercase()));
    }
    if graphql {
        out.insert("sha256".into(), json!(a.sha256));
        out.insert("expires".into(), json!(a.expires.as_deref().map(render::timestamp)));
    }
    if let Some(job) = &a.job {
        out.insert("job".into(), json!(job));
        if let Some(b) = &a.build {
            out.insert("build".into(), json!(b));
        }
    }
    let usable = a.state.eq_ignore_ascii_case("finished");
    if usable && let Some(url) = &a.download_url {
        out.insert("download_url".into(), json!(url));
        out.insert("url_valid".into(), json!("10 min"));
    }
    let from = if a.download_url.is_some() { "download it from download_url" } else { "download it from the job's Artifacts tab in Buildkite" };
    let inline = if !usable {
        Err(format!("the artifact is {}, so it cannot be downloaded", a.state.to_ascii_lowercase()))
    } else if !looks_textual(&a.mime, &a.path) {
        Err(format!("binary content is never inlined: {from}"))
    } else if cap == 0 {
        Err("inline_bytes is 0".to_string())
    } else if a.size > cap {
        Err(format!(
            "{} is over the inline cap of {}: {from} (or raise inline_bytes up to {})",
            human_size(a.size),
            human_size(cap),
            human_size(INLINE_MAX)
        ))
    } else {
        Ok(())
    };
    match inline {
        Ok(()) if a.size == 0 => {
            out.insert("inline".into(), json!("the artifact is empty"));
        }
        Ok(()) => match ctx.api.download(&a.fetch_url, cap as u64).await {
            // The storage host's refusal is not the token's fault: the metadata still helps.
            Err(e) => {
                let why = match e {
                    ApiError::Unauthorized | ApiError::Forbidden { .. } | ApiError::Http { status: 401 | 403, .. } => {
                        "the storage host refused the download (the URL may have expired): ask again for a fresh one"
                            .to_string()
                    }
                    other => format!("the download failed: {other}"),
                };
                out.insert("inline".into(), json!(format!("not inlined: {why}")));
            }
            Ok(got) => {
                if got.bytes.contains(&0) || std::str::from_utf8(&got.bytes).is_err() && !got.truncated {
                    out.insert("inline".into(), json!("not inlined: the content is binary"));
                } else {
                    let text = String::from_utf8_lossy(&got.bytes);
                    out.insert("content".into(), json!(render::clean_text(&text, cap as usize)));
                    if got.truncated {
                        out.insert("cut".into(), json!(format!("content cut at {}", human_size(cap))));
                    }
                }
            }
        },
        Err(why) => {
            out.insert("inline".into(), json!(format!("not inlined: {why}")));
        }
    }
    Ok(render::render_object(Value::Object(out), call.budget(4_000)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_buildkite_paths() {
        let glob_match = |g: &str, p: &str| glob(g).unwrap().is_match(p);
        assert!(glob_match("coverage/*", "coverage/index.html"));
        assert!(glob_match("*.xml", "tmp/junit/rspec-1.xml"));
        assert!(glob_match("log/?.txt", "log/a.txt"));
        assert!(!glob_match("*.xml", "tmp/junit/rspec-1.xml.gz"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a", "b"));
        assert!(glob_match("tmp/**/*.xml", "tmp/junit/deep/rspec-1.xml"));
        assert!(glob_match("*.{json,xml}", "coverage/report.json"));
        assert!(glob_match("log/[ab].txt", "log/b.txt") && !glob_match("log/[ab].txt", "log/c.txt"));
        assert!(glob("log/[a").unwrap_err().to_string().contains("is not a glob"));
    }

    #[test]
    fn artifact_ids_come_from_uuids_and_urls() {
        let id = "0191f5b2-7a2e-4b1f-9c3d-5e6f7a8b9c0d";
        assert_eq!(parse_artifact(id).as_deref(), Some(id));
        assert_eq!(
            parse_artifact(&format!(
                "https://buildkite.com/organizations/acme/pipelines/web/builds/1/jobs/x/artifacts/{id}"
            ))
            .as_deref(),
            Some(id)
        );
        assert_eq!(parse_artifact("coverage.xml"), None);
        let job = "08d58486-29e1-47b4-b951-facf35dafc4d";
        assert_eq!(parse_job_artifact(&format!("{job}/artifacts/{id}")), Some((None, job.into(), id.into())));
        assert_eq!(
            parse_job_artifact(&format!(
                "https://api.buildkite.com/v2/organizations/acme/pipelines/web/builds/1/jobs/{job}/artifacts/{id}"
            )),
            Some((Some("acme".into()), job.into(), id.into()))
        );
        assert_eq!(parse_job_artifact(id), None);
    }

    #[test]
    fn text_is_told_from_binary_by_type_and_name() {
        assert!(looks_textual("text/plain", "a"));
        assert!(looks_textual("application/json", "a"));
        assert!(looks_textual("application/octet-stream", "log/test.log"));
        assert!(!looks_textual("image/png", "shot.png"));
        assert!(!looks_textual("application/gzip", "pkg.tar.gz"));
    }
}
