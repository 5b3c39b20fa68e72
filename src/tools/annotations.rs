//! `list_annotations`.

use super::args::{clamp, lenient_int, lenient_list};
use super::kit::{Rest, Call, Hints, Tool, ToolError, Toolset, handler};
use super::resolve::BuildLookup;
use crate::buildkite::ops::{ListAnnotations, list_annotations};
use crate::render::{self, Page};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// Longest annotation body shown, in characters.
const BODY_CHARS: usize = 1_500;

/// Arguments of `list_annotations`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListAnnotationsArgs {
    // Build URL, org/pipeline/number, UUID, or a number with pipeline. (documented once, in the server instructions)
    build: String,
    // Pipeline, when build is a bare number. (documented once, in the server instructions)
    #[serde(default)]
    pipeline: Option<String>,
    /// Styles, comma separated: error, warning, info, success, default.
    #[serde(default, deserialize_with = "lenient_list")]
    #[schemars(with = "Option<String>")]
    style: Option<Vec<String>>,
    // Page size 1-50, default 10 (documented once, in the server instructions).
    #[serde(default, deserialize_with = "lenient_int")]
    first: Option<i64>,
    // next.after from the previous page. (documented once, in the server instructions)
    #[serde(default)]
    after: Option<String>,
}

/// The tools of this area.
pub(super) const TOOLS: &[Tool] = &[Tool {
    name: "list_annotations",
    toolset: Toolset::Annotations,
    hints: Hints::READ,
    scopes: &["read_builds"],
    rest: Rest::Same,
    description: "A build's annotations, most important first, with bodies as plain text (capped); filter by style.",
    handler: handler!(list_annotations, ListAnnotationsArgs),
}];

fn styles(list: Vec<String>) -> Result<Vec<list_annotations::AnnotationStyle>, ToolError> {
    use list_annotations::AnnotationStyle as S;
    list.iter()
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "error" => Ok(S::ERROR),
            "warning" => Ok(S::WARNING),
            "info" => Ok(S::INFO),
            "success" => Ok(S::SUCCESS),
            "default" => Ok(S::DEFAULT),
            _ => Err(ToolError::args(format!(
                "unknown style `{}`: use error, warning, info, success or default",
                render::clean_text(s, 100)
            ))),
        })
        .collect()
}

/// `list_annotations` without GraphQL access: one page of `GET …/builds/{n}/annotations`
/// (paged by number; bodies come as HTML and are shown as text; REST gives no total).
async fn list_annotations_rest(call: &Call<'_>, args: ListAnnotationsArgs) -> Result<String, ToolError> {
    let id = call.rest_build_id(&args.build, args.pipeline.as_deref()).await?;
    let page = super::args::page_number(args.after.as_deref())?;
    let styles: Vec<String> = args.style.unwrap_or_default().iter().map(|s| s.to_ascii_lowercase()).collect();
    if let Some(bad) = styles.iter().find(|s| !matches!(s.as_str(), "error" | "warning" | "info" | "success" | "default")) {
        return Err(ToolError::args(format!(
            "unknown style `{}`: use error, warning, info, success or default",
            render::clean_text(bad, 100)
        )));
    }
    let query = [("per_page", clamp(args.first, 10, 1, 50).to_string()), ("page", page.to_string())];
    let answer = call.rest(&id.path("/annotations"), &query, &id.wanted).await?;
    let mut head = Map::new();
    head.insert("build".into(), json!(id.slug()));
    let mut rows = Page { next_after: answer.next_page.map(|n| n.to_string()), ..Page::default() };
    for a in answer.body.as_array().into_iter().flatten() {
        let text = |k: &str| a.get(k).and_then(Value::as_str);
        let style = text("style").map(str::to_ascii_lowercase);
        if !styles.is_empty() && !style.as_ref().is_some_and(|s| styles.contains(s)) {
            continue;
        }
        let scope = text("scope").map(str::to_ascii_lowercase).filter(|s| s != "build");
        let priority = a.get("priority").and_then(Value::as_i64).filter(|p| *p != 3);
        rows.rows.push(render::compact(json!({
            "context": render::clean_text(text("context").unwrap_or(""), 80),
            "style": style,
            "scope": scope,
            "priority": priority,
            "at": text("created_at").map(render::timestamp),
            "text": text("body_html").map(|h| crate::redact::shown(&crate::html::to_text(h), BODY_CHARS)),
        })));
        // Pages are numbered: a cut page resumes at the next page, never mid-page.
        rows.cursors.push(None);
    }
    if rows.rows.is_empty() && rows.next_after.is_none() {
        head.insert("total".into(), json!(0));
        return Ok(render::to_json(&Value::Object(head)));
    }
    Ok(render::render_page(head, "annotations", rows, call.budget(3_000)))
}

async fn list_annotations(call: &Call<'_>, args: ListAnnotationsArgs) -> Result<String, ToolError> {
    if !call.graphql().await {
        return list_annotations_rest(call, args).await;
    }
    let BuildLookup { slug, uuid, wanted } = call.build(&args.build, args.pipeline.as_deref()).await?;
    let variables = list_annotations::Variables {
        slug,
        uuid,
        first: clamp(args.first, 10, 1, 50),
        after: args.after.filter(|a| !a.is_empty()),
        style: args.style.map(styles).transpose()?,
    };
    let b = wanted.found(call.query::<ListAnnotations>(variables, &wanted).await?.build)?;
    let mut head = Map::new();
    head.insert("build".into(), json!(format!("{}/{}/{}", b.organization.slug, b.pipeline.slug, b.number)));
    let Some(annotations) = b.annotations else {
        head.insert("total".into(), json!(0));
        return Ok(render::finish(Value::Object(head)));
    };
    let next = annotations.page_info.filter(|i| i.has_next_page).and_then(|i| i.end_cursor);
    let mut page = Page::new(annotations.count, next);
    for edge in annotations.edges.unwrap_or_default().into_iter().flatten() {
        let Some(a) = edge.node else { continue };
        let scope = render::state(&a.scope);
        page.rows.push(render::compact(json!({
            "context": render::clean_text(&a.context, 80),
            "style": a.style.as_ref().map(render::state),
            "scope": (scope != "build").then_some(scope),
            "priority": (a.priority != 3).then_some(a.priority),
            "at": render::timestamp(&a.created_at),
            "text": a.body.map(|body| crate::redact::shown(&crate::html::body_text(body.html.as_deref(), &body.text), BODY_CHARS)),
        })));
        page.cursors.push(Some(edge.cursor));
    }
    if annotations.count == 0 {
        head.insert("total".into(), json!(0));
        return Ok(render::finish(Value::Object(head)));
    }
    Ok(render::render_page(head, "annotations", page, call.budget(3_000)))
}
