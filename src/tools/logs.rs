//! The job log tools: `tail_log`, `search_log`, `read_log` and `log_digest`. Search, read and the
//! digest work on a cleaned copy cached on disk (finished jobs only; a running job's log is fetched
//! into a temporary copy each time); the tail of a log that is not cached is one suffix-`Range`
//! request, so its transfer never grows with the log. Every call checks that the token may read the
//! log before a cached copy is used.

mod diff;

use super::args::{clamp, lenient_bool, lenient_int, lenient_string};
use super::context::{Ctx, non_blank};
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, Wanted, handler};
use super::resolve::{JOB_HINT, JobId};
use crate::buildkite::ApiError;
use crate::buildkite::error::human_bytes;
use crate::buildkite::ops::{GetJobForLog, get_job_for_log};
use crate::logs::search::{self, SearchQuery};
use crate::logs::store::{CachedLog, Line};
use crate::render;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Sections listed in an outline.
const OUTLINE_SECTIONS: usize = 60;

/// The job a log tool works on (shared by every log tool's arguments).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TailLogArgs {
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    job: String,
    /// Default 30, max 500.
    #[serde(default, deserialize_with = "lenient_int")]
    lines: Option<i64>,
    /// Show times.
    #[serde(default, deserialize_with = "lenient_bool")]
    times: Option<bool>,
}

/// Arguments of `search_log`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchLogArgs {
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    job: String,
    /// Regex, e.g. error|failed.
    pattern: String,
    // Match case (default: ignore case, as the tool description says).
    #[serde(default, deserialize_with = "lenient_bool")]
    case_sensitive: Option<bool>,
    /// Lines around each match: N, or before,after (default 2).
    #[serde(default, deserialize_with = "lenient_string")]
    context: Option<String>,
    /// Default 20, max 200; all are counted.
    #[serde(default, deserialize_with = "lenient_int")]
    max_matches: Option<i64>,
    // Show lines that do not match.
    #[serde(default, deserialize_with = "lenient_bool")]
    invert: Option<bool>,
    // Start at this line (next.from_line).
    #[serde(default, deserialize_with = "lenient_int")]
    from_line: Option<i64>,
}

/// Arguments of `read_log`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadLogArgs {
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    job: String,
    // First line to read (1-based).
    #[serde(default, deserialize_with = "lenient_int")]
    from_line: Option<i64>,
    /// Outline number or title words.
    #[serde(default)]
    section: Option<String>,
    /// Default 100, max 500.
    #[serde(default, deserialize_with = "lenient_int")]
    lines: Option<i64>,
    /// Show times.
    #[serde(default, deserialize_with = "lenient_bool")]
    times: Option<bool>,
}

/// Arguments of `log_digest`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogDigestArgs {
    // Job UUID, or a build URL ending in #job-uuid. (documented once, in the server instructions)
    job: String,
}

const SCOPES: &[&str] = &["read_build_logs", "read_builds"];

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[
    Tool {
        name: "log_digest",
        toolset: Toolset::Logs,
        hints: Hints::READ,
        scopes: SCOPES,
        rest: Rest::Same,
        description: "Why a job failed, from its whole log: the failing section, error lines with context, and the last lines. Start here for a failed job.",
        handler: handler!(log_digest, LogDigestArgs),
    },
    Tool {
        name: "tail_log",
        toolset: Toolset::Logs,
        hints: Hints::READ,
        scopes: SCOPES,
        rest: Rest::Same,
        description: "The last lines of a job's log, cleaned (no ANSI or timestamps; repeated lines folded).",
        handler: handler!(tail_log, TailLogArgs),
    },
    Tool {
        name: "search_log",
        toolset: Toolset::Logs,
        hints: Hints::READ,
        scopes: SCOPES,
        rest: Rest::Same,
        description: "Regex search of a job's log (ignoring case unless case_sensitive), grep style: n:match, n-context; counts all matches.",
        handler: handler!(search_log, SearchLogArgs),
    },
    Tool {
        name: "read_log",
        toolset: Toolset::Logs,
        hints: Hints::READ,
        scopes: SCOPES,
        rest: Rest::Same,
        description: "Read a job's log: without from_line or section, its outline (size, sections with line ranges); else those lines.",
        handler: handler!(read_log, ReadLogArgs),
    },
    Tool {
        name: "diff_log",
        toolset: Toolset::Logs,
        hints: Hints::READ,
        scopes: SCOPES,
        rest: Rest::Same,
        description: "A failed job's log against a passing one (default: the step's last pass): the first diverging section and the lines only in the failing log.",
        handler: handler!(diff::diff_log, diff::DiffLogArgs),
    },
];

/// A log ready to read, and how it was obtained.
struct Obtained {
    log: Arc<CachedLog>,
    uuid: String,
    /// Whether the copy came from the cache (else it was downloaded now).
    cached: bool,
    /// Whether it is kept (a finished job's log) or temporary (a running job's).
    kept: bool,
}

/// The job's log as a cached copy: from the cache after an access check, else downloaded whole
/// (streamed through the cleaner to disk) and kept when the job has finished.
async fn obtain(ctx: &Ctx, tool: &'static str, id: JobId) -> Result<Obtained, ToolError> {
    // A bad entry is removed by the check and replaced by this download.
    match ctx.logs.store.open_checked(&id.uuid) {
        Ok(Some(log)) => obtain_cached(ctx, tool, id, log).await,
        Ok(None) | Err(_) => download(ctx, tool, id.uuid).await,
    }
}

/// The organization to try first for a job's REST log route: the URL's or the argument's, else
/// the configured default (both `guessed`), else the job's own (one GraphQL request).
async fn first_org(ctx: &Ctx, tool: &'static str, id: &JobId) -> Result<(String, bool), ToolError> {
    if let Some(org) = &id.org {
        return Ok((org.clone(), false));
    }
    match ctx.org.configured() {
        Some(org) => Ok((org.to_string(), true)),
        None => Ok((job_place(ctx, tool, &id.uuid).await?.0, false)),
    }
}

/// After a 404 under a guessed organization: the job's own organization, or the 404 itself when
/// that was the one tried.
async fn other_org(ctx: &Ctx, tool: &'static str, uuid: &str, tried: &str) -> Result<String, ToolError> {
    let (real, _) = job_place(ctx, tool, uuid).await?;
    if real == tried { Err(log_gone(uuid)) } else { Ok(real) }
}

/// A cached log, served once Buildkite confirms (`HEAD`) the token may still read it: the cache
/// never outlives access.
async fn obtain_cached(ctx: &Ctx, tool: &'static str, id: JobId, log: CachedLog) -> Result<Obtained, ToolError> {
    let (org, guessed) = first_org(ctx, tool, &id).await?;
    let stated = match ctx.api.job_log_size(&org, &id.uuid).await {
        Ok(size) => size,
        Err(ApiError::NotFound { .. }) if guessed => {
            let real = other_org(ctx, tool, &id.uuid, &org).await?;
            ctx.api.job_log_size(&real, &id.uuid).await?
        }
        Err(e) => return Err(e.into()),
    };
    // Served only when its size is the one Buildkite states (where it states one).
    if let Err(doubt) = crate::logs::trust::judge(log.facts(), stated) {
        tracing::warn!(tool, job = %id.uuid, "log cache entry dropped: {doubt}");
        drop(log);
        ctx.logs.store.discard(&id.uuid);
        return Box::pin(download(ctx, tool, id.uuid)).await;
    }
    Ok(Obtained { log: Arc::new(log), uuid: id.uuid, cached: true, kept: true })
}

/// Downloads a job's whole log through the cleaner into the cache (kept when the job has finished
/// and the whole log arrived).
async fn download(ctx: &Ctx, tool: &'static str, uuid: String) -> Result<Obtained, ToolError> {
    let store = &ctx.logs.store;
    let (org, finished) = job_place(ctx, tool, &uuid).await?;
    // `--max-log-mb` asks the size first (`HEAD`), so a log over the limit is refused before any
    // download is opened; a log whose size is not stated is still stopped at the limit as it streams.
    if let Some(size) = ctx.api.job_log_size(&org, &uuid).await?.filter(|n| *n > ctx.logs.max_log_bytes) {
        return Err(ApiError::LogTooLarge { job: uuid, size, limit: ctx.logs.max_log_bytes }.into());
    }
    // An unusable cache directory means an uncached read (said once), not a failed one.
    let (mut writer, cacheable) = match store.writer(&uuid) {
        Ok(w) => (w, true),
        Err(e) => {
            store.unusable(&e);
            (scratch_store().writer(&uuid).map_err(|e| cache_error(ctx, e))?, false)
        }
    };
    let mut failure: Option<std::io::Error> = None;
    let mut sink = |chunk: &[u8]| -> std::io::Result<()> {
        writer.push(chunk).inspect_err(|e| failure = Some(std::io::Error::new(e.kind(), e.to_string())))
    };
    let fetched = ctx.api.job_log_stream(&org, &uuid, ctx.logs.max_log_bytes, &mut sink).await;
    if let Some(e) = failure {
        return Err(cache_error(ctx, e));
    }
    let (received, expected) = fetched?;
    // Kept only when finished and whole: a short read is used once, never cached.
    let whole = expected.is_none_or(|n| n == received);
    let keep = finished && whole && cacheable;
    let log = writer.finish(keep).map_err(|e| cache_error(ctx, e))?;
    tracing::debug!(tool, job = %uuid, lines = log.meta().lines, kept = keep, received, "log downloaded");
    Ok(Obtained { log: Arc::new(log), uuid, cached: false, kept: finished })
}

/// A private directory of this process under the system temporary directory, for logs read
/// uncached when the cache directory cannot be used (each entry is deleted when dropped).
fn scratch_store() -> crate::logs::store::LogStore {
    let tmp = std::env::temp_dir();
    // The real path: the store refuses paths through symlinks (macOS's /var is one).
    let tmp = std::fs::canonicalize(&tmp).unwrap_or(tmp);
    let dir = tmp.join(format!("buildkite-mcp-server-uncached-{}", std::process::id()));
    crate::logs::store::LogStore::new(dir, u64::MAX)
}

fn log_gone(uuid: &str) -> ToolError {
    ApiError::NotFound {
        what: format!("the log of job {uuid}"),
        hint: "it may have expired or been deleted, or the token lacks read_build_logs".into(),
    }
    .into()
}

fn cache_error(ctx: &Ctx, e: std::io::Error) -> ToolError {
    ApiError::Cache { dir: ctx.logs.store.dir().display().to_string(), detail: e.to_string() }.into()
}

/// Where a job lives (its organization) and whether it has finished; one GraphQL request, or
/// without GraphQL access one REST request under the default organization.
async fn job_place(ctx: &Ctx, tool: &'static str, uuid: &str) -> Result<(String, bool), ToolError> {
    let wanted = Wanted::new(format!("job {uuid}"), JOB_HINT);
    if !ctx.graphql_available().await {
        let org = ctx.org.resolve(&ctx.api, None).await?;
        let job = ctx
            .api
            .rest_json(&format!("v2/organizations/{org}/jobs/{uuid}"), &[])
            .await
            .map_err(|e| wanted.or_not_found(e))?
            .body;
        if job.get("type").and_then(Value::as_str).is_some_and(|t| t != "script") {
            return Err(ToolError::args(format!(
                "job {uuid} is not a command job (a wait, block or trigger step), so it has no log"
            )));
        }
        let state = job.get("state").and_then(Value::as_str).unwrap_or("");
        let finished = job.get("finished_at").is_some_and(|f| !f.is_null())
            && !matches!(state, "running" | "assigned" | "accepted" | "scheduled" | "canceling");
        return Ok((org, finished));
    }
    let data = ctx
        .api
        .execute::<GetJobForLog>(get_job_for_log::Variables { uuid: uuid.to_string() })
        .await
        .map_err(|e| wanted.or_not_found(e))?;
    use get_job_for_log::GetJobForLogJob as Job;
    match data.job {
        Some(Job::JobTypeCommand(j)) => {
            let org = j
                .build
                .map(|b| b.organization.slug)
                .ok_or_else(|| Wanted::new(format!("the build of job {uuid}"), JOB_HINT).not_found())?;
            let state = render::state(&j.state);
            let finished = j.finished_at.is_some()
                && !matches!(state.as_str(), "running" | "assigned" | "accepted" | "scheduled" | "canceling");
            Ok((org, finished))
        }
        Some(_) => {
            tracing::debug!(tool, job = %uuid, "not a command job");
            Err(ToolError::args(format!(
                "job {uuid} is not a command job (a wait, block or trigger step), so it has no log"
            )))
        }
        None => Err(wanted.not_found()),
    }
}

/// Runs blocking file work (search, reads) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ToolError> + Send + 'static,
) -> Result<T, ToolError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ToolError::Refused(format!("the log worker failed ({e}); try again")))?
}

fn io_error(e: std::io::Error) -> ToolError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        return ToolError::Refused(
            "the cached copy of this log is damaged: call the tool again to download it afresh".into(),
        );
    }
    ApiError::Cache { dir: "the log cache".into(), detail: e.to_string() }.into()
}

/// Lines grep style: `12:text` (`sep` `:`) or `12-text` for context; runs of identical lines folded
/// into `12:text (×40, to 51)`.
fn render_lines(lines: Vec<Line>, sep: char, times: bool) -> Vec<Value> {
    crate::logs::rows::rows(lines, crate::logs::rows::RowStyle::Grep { sep, times })
        .into_iter()
        .map(Value::String)
        .collect()
}

/// Tokens a rendered line costs, about.
fn line_tokens(line: &Line) -> usize {
    render::estimate_tokens(&line.text) + 4
}

/// How many of `lines` fit in `budget` tokens (less a reserve for the rest of the answer),
/// counted from the start, or from the end when `from_end` (a tail keeps its last lines).
fn fitting(lines: &[Line], budget: usize, from_end: bool) -> usize {
    if from_end {
        render::count_that_fit(lines.iter().rev(), budget, 250, line_tokens)
    } else {
        render::count_that_fit(lines, budget, 250, line_tokens)
    }
}

fn head(o: &Obtained) -> Map<String, Value> {
    let mut head = Map::new();
    head.insert("job".into(), json!(o.uuid));
    head.insert("lines".into(), json!(o.log.meta().lines));
    head.insert("size".into(), json!(human_bytes(o.log.meta().raw_bytes)));
    if !o.kept {
        head.insert("running".into(), json!("the job has not finished: the log may grow"));
    }
    head
}

async fn tail_log(call: &Call<'_>, args: TailLogArgs) -> Result<String, ToolError> {
    let (ctx, tool) = (call.ctx, call.tool.name);
    let id = call.job(&args.job)?;
    let count = clamp(args.lines, 30, 1, 500) as usize;
    let times = args.times == Some(true);
    let budget = call.budget(3_000);
    if let Some(cached) = ctx.logs.store.open(&id.uuid) {
        let o = obtain_cached(ctx, tool, id, cached).await?;
        let log = o.log.clone();
        let mut lines = blocking(move || log.tail(count).map_err(io_error)).await?;
        let mut out = head(&o);
        let kept = fitting(&lines, budget, true);
        if kept < lines.len() {
            out.insert("cut".into(), json!(format!("{} earlier lines left out for max_tokens", lines.len() - kept)));
            lines.drain(..lines.len() - kept);
        }
        out.insert("log".into(), Value::Array(render_lines(lines, ':', times)));
        return Ok(render::finish(Value::Object(out)));
    }
    // Not cached: only the end is fetched, growing the range until it holds enough lines. The org
    // comes from the URL, the argument or the configured default; else (or when that guess does not
    // hold the job) from the job itself, one GraphQL request.
    let (mut org, mut guessed) = first_org(ctx, tool, &id).await?;
    let mut want = (count as u64 * 160).clamp(16 * 1024, 256 * 1024);
    let (tail, lines) = loop {
        let tail = match ctx.api.job_log_tail_org(&org, &id.uuid, want).await {
            Err(ApiError::NotFound { .. }) if guessed => {
                org = other_org(ctx, tool, &id.uuid, &org).await?;
                guessed = false;
                continue;
            }
            other => other?,
        };
        let lines = crate::logs::clean_lines(&tail.bytes, tail.partial);
        if lines.len() >= count || !tail.partial || want >= 4 * 1024 * 1024 {
            break (tail, lines);
        }
        want *= 4;
    };
    // Without the start of the log there are no line numbers: search_log and read_log give them.
    let start = lines.len().saturating_sub(count);
    let mut rows: Vec<Line> =
        lines[start..].iter().map(|text| Line { number: 0, text: text.clone(), ts: None }).collect();
    let mut out = Map::new();
    out.insert("job".into(), json!(id.uuid));
    out.insert("size".into(), json!(tail.total.map(human_bytes)));
    out.insert("fetched".into(), json!(human_bytes(tail.bytes.len() as u64)));
    let kept = fitting(&rows, budget, true);
    if kept < rows.len() {
        out.insert("cut".into(), json!(format!("{} earlier lines left out for max_tokens", rows.len() - kept)));
        rows.drain(..rows.len() - kept);
    }
    let log: Vec<Value> =
        crate::logs::rows::rows(rows, crate::logs::rows::RowStyle::Text).into_iter().map(Value::String).collect();
    out.insert("log".into(), Value::Array(log));
    out.insert("numbers".into(), json!("read_log and search_log number lines"));
    Ok(render::finish(Value::Object(out)))
}

async fn search_log(call: &Call<'_>, args: SearchLogArgs) -> Result<String, ToolError> {
    let (ctx, tool) = (call.ctx, call.tool.name);
    let invalid = ToolError::Args;
    if args.pattern.is_empty() {
        return Err(invalid("pattern is empty: pass a regular expression such as `error|failed`".into()));
    }
    let (before, after) = context_lines(args.context.as_deref()).map_err(invalid)?;
    let query = SearchQuery {
        pattern: args.pattern.clone(),
        case_sensitive: args.case_sensitive == Some(true),
        invert: args.invert == Some(true),
        before,
        after,
        max_matches: clamp(args.max_matches, 20, 1, 200) as usize,
        from_line: clamp(args.from_line, 1, 1, i64::MAX) as u64,
        keep_last: false,
    };
    // A bad pattern is refused before any request.
    search::compile(&query).map_err(|e| invalid(e.to_string()))?;
    let o = obtain(ctx, tool, call.job(&args.job)?).await?;
    let log = o.log.clone();
    let q = query.clone();
    let started = std::time::Instant::now();
    let cancel = call.progress.cancellation();
    let result =
        blocking(move || search::search_until(&log, &q, &|| cancel.is_cancelled()).map_err(invalid_search)).await?;
    tracing::debug!(tool, ms = started.elapsed().as_secs_f64() * 1000.0, "searched");
    let mut out = head(&o);
    out.insert("pattern".into(), json!(args.pattern));
    if query.from_line > 1 {
        out.insert("from_line".into(), json!(query.from_line));
    }
    out.insert(if query.invert { "non_matching" } else { "matches" }.into(), json!(result.total));
    // Whole hits are kept while they fit the budget; next.from_line continues after the last one.
    let mut hits = result.hits;
    let fit = render::count_that_fit(&hits, call.budget(3_000), 250, |h| {
        h.before.iter().chain(std::iter::once(&h.line)).chain(&h.after).map(line_tokens).sum::<usize>()
    });
    if fit < hits.len() {
        out.insert("cut".into(), json!(format!("{} more hits left out for max_tokens", hits.len() - fit)));
        hits.truncate(fit);
    }
    let last = hits.last().map(|h| h.line.number);
    let shown = hits.len();
    let blocks: Vec<Value> = hits
        .into_iter()
        .map(|hit| {
            let mut block = render_lines(hit.before, '-', false);
            block.extend(render_lines(vec![hit.line], ':', false));
            block.extend(render_lines(hit.after, '-', false));
            if block.len() == 1 { block.remove(0) } else { Value::Array(block) }
        })
        .collect();
    out.insert("hits".into(), Value::Array(blocks));
    if (shown as u64) < result.total
        && let Some(last) = last
    {
        out.insert("next".into(), json!({"from_line": last + 1}));
    }
    if result.total == 0 {
        out.insert("note".into(), json!(if query.case_sensitive { "no match (case-sensitive)" } else { "no match" }));
    }
    Ok(render::finish(Value::Object(out)))
}

/// `context`: `N` (before and after), or `B,A`; each at most 20; default 2.
fn context_lines(context: Option<&str>) -> Result<(usize, usize), String> {
    let Some(text) = non_blank(context) else {
        return Ok((2, 2));
    };
    let number = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map(|n| n.min(20))
            .map_err(|_| format!("context `{text}` is not N or before,after (e.g. 3 or 0,5)"))
    };
    match text.split_once(',') {
        Some((b, a)) => Ok((number(b)?, number(a)?)),
        None => number(text).map(|n| (n, n)),
    }
}

fn invalid_search(e: search::SearchError) -> ToolError {
    match e {
        search::SearchError::Io(e) => io_error(e),
        search::SearchError::Cancelled => ToolError::Refused("the search was cancelled by the client".into()),
        other => ToolError::args(other.to_string()),
    }
}

async fn read_log(call: &Call<'_>, args: ReadLogArgs) -> Result<String, ToolError> {
    let (ctx, tool) = (call.ctx, call.tool.name);
    let id = call.job(&args.job)?;
    let count = clamp(args.lines, 100, 1, 500) as usize;
    let times = args.times == Some(true);
    let section = non_blank(args.section.as_deref()).map(str::to_string);
    let from = args.from_line.filter(|n| *n > 0);
    if args.from_line.is_some_and(|n| n < 1) {
        return Err(ToolError::args("from_line starts at 1"));
    }
    let o = obtain(ctx, tool, id).await?;
    let meta = o.log.meta().clone();
    let mut out = head(&o);
    let (first, last) = match (&section, from) {
        (None, None) => {
            // The outline: where things are, to read next.
            let rows: Vec<Value> = meta
                .sections
                .iter()
                .enumerate()
                .take(OUTLINE_SECTIONS)
                .map(|(i, s)| json!(format!("{} {}-{} {}", i + 1, s.first, s.last, s.title)))
                .collect();
            out.insert("sections".into(), json!(meta.sections.len()));
            out.insert("outline".into(), Value::Array(rows));
            if meta.sections.len() > OUTLINE_SECTIONS {
                out.insert("more".into(), json!(format!("{} more sections", meta.sections.len() - OUTLINE_SECTIONS)));
            }
            out.insert("read".into(), json!("read_log with section=<number or title words> or from_line"));
            return Ok(render::render_object(Value::Object(out), call.budget(4_000)));
        }
        (Some(wanted), _) => {
            let by_number =
                wanted.parse::<usize>().ok().and_then(|n| n.checked_sub(1)).and_then(|i| meta.sections.get(i));
            let lower = wanted.to_lowercase();
            let by_title = || meta.sections.iter().find(|s| s.title.to_lowercase().contains(&lower));
            let s = by_number.or_else(by_title).ok_or_else(|| {
                ToolError::args(format!(
                    "no section `{}` among the log's {} sections: read_log without section lists them",
                    render::clean_text(wanted, 100),
                    meta.sections.len()
                ))
            })?;
            out.insert("section".into(), json!(s.title));
            let start = from.map(|f| f as u64).unwrap_or(s.first).max(s.first);
            if start > s.last {
                return Err(ToolError::args(format!(
                    "line {start} is past section `{}`, which is lines {}-{}",
                    s.title, s.first, s.last
                )));
            }
            (start, s.last)
        }
        (None, Some(f)) => (f as u64, meta.lines),
    };
    if first > meta.lines {
        return Err(ToolError::args(format!("line {first} is past the end: the log has {} lines", meta.lines)));
    }
    let take = ((last - first + 1) as usize).min(count);
    let log = o.log.clone();
    let mut lines = blocking(move || log.read(first, take).map_err(io_error)).await?;
    lines.truncate(fitting(&lines, call.budget(4_000), false));
    let end = first + lines.len() as u64 - 1;
    out.insert("range".into(), json!(format!("{first}-{end}")));
    out.insert("log".into(), Value::Array(render_lines(lines, ':', times)));
    if end < last {
        out.insert("next".into(), json!({"from_line": end + 1}));
    }
    Ok(render::finish(Value::Object(out)))
}

async fn log_digest(call: &Call<'_>, args: LogDigestArgs) -> Result<String, ToolError> {
    let (ctx, tool) = (call.ctx, call.tool.name);
    let o = obtain(ctx, tool, call.job(&args.job)?).await?;
    let log = o.log.clone();
    let cancel = call.progress.cancellation();
    let digest = blocking(move || digest(&log, &|| cancel.is_cancelled()).map_err(invalid_search)).await?;
    let mut out = head(&o);
    if o.cached {
        out.insert("cached".into(), json!(true));
    }
    for (k, v) in digest {
        out.insert(k, v);
    }
    Ok(render::render_object(Value::Object(out), call.budget(2_000)))
}

/// Error lines kept by the digest, nearest the end.
const DIGEST_ERRORS: usize = crate::logs::digest::MAX_ERRORS;

/// The digest of the whole log ([`crate::logs::digest`]): the failing section, the error lines
/// nearest the end with their context (grep style, `n:` error, `n-` context), and the last lines.
fn digest(log: &CachedLog, stop: &(dyn Fn() -> bool + Sync)) -> Result<Map<String, Value>, search::SearchError> {
    use crate::logs::rows::{RowStyle, fold, row};
    let d = crate::logs::digest::digest(&crate::logs::digest::Stoppable { log, stop }, DIGEST_ERRORS)?;
    let mut out = Map::new();
    if let Some(s) = &d.section {
        out.insert("failing_section".into(), json!(format!("{}-{} {}", s.first, s.last, s.title)));
    }
    let blocks: Vec<Value> = d
        .blocks
        .iter()
        .map(|block| {
            let rows = fold(block.clone(), crate::logs::rows::MIN_RUN)
                .iter()
                .map(|(l, count)| {
                    let sep = if d.is_error(l.number) { ':' } else { '-' };
                    Value::String(row(l, *count, RowStyle::Grep { sep, times: false }))
                })
                .collect();
            Value::Array(rows)
        })
        .collect();
    if d.earlier > 0 || d.unchecked > 0 {
        let at_least = if d.unchecked > 0 { "at least " } else { "" };
        out.insert(
            "earlier_errors".into(),
            json!(format!("{at_least}{} more error lines before these: search_log finds them", d.earlier)),
        );
    }
    if blocks.is_empty() {
        out.insert("errors".into(), json!("no line looks like an error; the last lines follow"));
    } else {
        out.insert("errors".into(), Value::Array(blocks));
    }
    // The end says how the job ended (exit status, the agent's summary).
    let shown = d.last_shown();
    let tail: Vec<Line> = log.tail(8)?.into_iter().filter(|l| l.number > shown && !l.text.is_empty()).collect();
    if !tail.is_empty() {
        out.insert("last_lines".into(), Value::Array(render_lines(tail, ':', false)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_fold_into_one_grep_style_row() {
        let line = |n, t: &str| Line { number: n, text: t.into(), ts: None };
        let rows = render_lines(vec![line(1, "a"), line(2, "x"), line(3, "x"), line(4, "x"), line(5, "b")], ':', false);
        assert_eq!(rows, vec![json!("1:a"), json!("2:x (×3, to 4)"), json!("5:b")]);
    }

    #[test]
    fn context_takes_one_number_or_before_and_after() {
        assert_eq!(context_lines(None), Ok((2, 2)));
        assert_eq!(context_lines(Some("3")), Ok((3, 3)));
        assert_eq!(context_lines(Some("0, 5")), Ok((0, 5)));
        assert_eq!(context_lines(Some("99")), Ok((20, 20)));
        assert!(context_lines(Some("lots")).unwrap_err().contains("not N or before,after"));
    }
}
