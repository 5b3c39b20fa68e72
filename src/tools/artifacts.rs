//! `list_artifacts` (a job's through GraphQL, a build's through REST, which lists them in one paged
//! request) and `get_artifact` (metadata, a short-lived download URL, small text inline).

use super::args::{clamp, lenient_int, page_number};
use super::context::non_blank;
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler, nodes};
use super::resolve::{BUILD_HINT, JOB_HINT};
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
        rest: Rest::No,
        description: "List a build's or a job's artifacts (id, path, size, type), optionally by path glob.",
        handler: handler!(list_artifacts, ListArtifactsArgs),
    },
    Tool {
        name: "get_artifact",
        toolset: Toolset::Artifacts,
        hints: Hints::READ,
        scopes: &["read_artifacts"],
        rest: Rest::No,
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

/// One artifact row: what a model needs to pick one, without repeating what the listing says.
fn row(id: &str, path: &str, size: i64, mime: &str, state: &str) -> Value {
    let mime = (mime != "application/octet-stream" && !mime.is_empty()).then(|| render::clean_text(mime, 60));
    json!({
        "id": id,
        "path": render::clean_text(path, 300),
        "size": size,
        "mime": mime,
        "state": (!state.eq_ignore_ascii_case("finished")).then(|| state.to_ascii_lowercase()),
    })
}

async fn list_artifacts(call: &Call<'_>, args: ListArtifactsArgs) -> Result<String, ToolError> {
    let budget = call.budget(3_000);
    let glob = non_blank(args.path.as_deref()).map(str::to_string);
    match (non_blank(args.job.as_deref()), non_blank(args.build.as_deref())) {
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
            let rows: Vec<Value> = nodes!(conn).map(|a| row(&a.uuid, &a.path, a.size, &a.mime_type, &a.state)).collect();
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
                    Some((text("job_id").to_string(), row(text("id"), path, size, text("mime_type"), text("state"))))
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

async fn get_artifact(call: &Call<'_>, args: GetArtifactArgs) -> Result<String, ToolError> {
    let ctx = call.ctx;
    let uuid = parse_artifact(&args.artifact).ok_or_else(|| {
        args_error(format!("`{}` is not an artifact: pass its UUID (list_artifacts lists them)", args.artifact.trim()),
        )
    })?;
    let wanted = Wanted::new(format!("artifact {uuid}"), "list_artifacts lists a build's or a job's artifacts");
    let a = wanted.found(call.query::<GetArtifact>(get_artifact::Variables { uuid: uuid.clone() }, &wanted).await?.artifact)?;
    let cap = clamp(args.inline_bytes, INLINE_DEFAULT, 0, INLINE_MAX);
    let mut out = Map::new();
    out.insert("id".into(), json!(a.uuid));
    out.insert("path".into(), json!(render::clean_text(&a.path, 300)));
    out.insert("size".into(), json!(a.size));
    out.insert("mime".into(), json!(render::clean_text(&a.mime_type, 80)));
    if !a.state.eq_ignore_ascii_case("finished") {
        out.insert("state".into(), json!(a.state.to_ascii_lowercase()));
    }
    out.insert("sha256".into(), json!(a.sha256sum));
    out.insert("expires".into(), json!(a.expires_at.as_deref().map(render::timestamp)));
    if let Some(job) = &a.job {
        out.insert("job".into(), json!(job.uuid));
        if let Some(b) = &job.build {
            out.insert("build".into(), json!(format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number)));
        }
    }
    let usable = a.state.eq_ignore_ascii_case("finished");
    if usable {
        out.insert("download_url".into(), json!(a.download_url));
        out.insert("url_valid".into(), json!("10 min"));
    }
    let inline = if !usable {
        Err(format!("the artifact is {}, so it cannot be downloaded", a.state.to_ascii_lowercase()))
    } else if !looks_textual(&a.mime_type, &a.path) {
        Err("binary content is never inlined: download it from download_url".to_string())
    } else if cap == 0 {
        Err("inline_bytes is 0".to_string())
    } else if a.size > cap {
        Err(format!(
            "{} is over the inline cap of {}: download it from download_url (or raise inline_bytes up to {})",
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
        Ok(()) => match ctx.api.download(&a.download_url, cap as u64).await {
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
