//! `annotate`: create, replace or append to a build annotation.

use super::super::kit::{Call, ToolError};
use super::AnnotateArgs;
use super::builds::target;
use super::safety::{Done, Plan, Request, changed, lost_answer, perform};
use crate::buildkite::graphql::decode;
use crate::buildkite::ops::{BuildAnnotate, build_annotate};
use crate::render;
use reqwest::Method;
use serde_json::{Map, Value, json};

/// Longest annotation body accepted, in bytes (Buildkite's limit is 1 MiB).
const MAX_BODY: usize = 1024 * 1024;

pub(super) async fn annotate(call: &Call<'_>, args: AnnotateArgs) -> Result<String, ToolError> {
    if args.body.trim().is_empty() {
        return Err(ToolError::args("body is empty: pass the annotation's markdown"));
    }
    if args.body.len() > MAX_BODY {
        return Err(ToolError::args(format!("body is {} bytes, over Buildkite's 1 MiB limit", args.body.len())));
    }
    let style = match args.style.as_deref().map(str::to_ascii_lowercase) {
        None => None,
        Some(s) if ["error", "warning", "info", "success", "default"].contains(&s.as_str()) => Some(s),
        Some(s) => {
            return Err(ToolError::args(format!(
                "unknown style `{}`: use error, warning, info, success or default",
                render::clean_text(&s, 40)
            )));
        }
    };
    if let Some(p) = args.priority
        && !(1..=10).contains(&p)
    {
        return Err(ToolError::args(format!("priority {p} is out of range: use 1 (last) to 10 (first)")));
    }
    let context = args.context.clone().filter(|c| !c.trim().is_empty()).unwrap_or_else(|| "default".into());
    let append = args.append.unwrap_or(false);
    let t = target(call, &args.build, args.pipeline.as_deref()).await?;
    let request = match &t.rest {
        Some(id) => {
            let mut body = Map::new();
            body.insert("body".into(), json!(args.body));
            body.insert("context".into(), json!(context));
            if let Some(s) = &style {
                body.insert("style".into(), json!(s));
            }
            if let Some(p) = args.priority {
                body.insert("priority".into(), json!(p));
            }
            if append {
                body.insert("append".into(), json!(true));
            }
            Request::rest(Method::POST, id.path("/annotations"), Some(Value::Object(body)))
        }
        None => Request::graphql::<BuildAnnotate>(build_annotate::Variables {
            build_id: t.id.clone(),
            body: Some(args.body.clone()),
            context: Some(context.clone()),
            style: style.as_deref().map(graphql_style),
            priority: args.priority,
            append: append.then_some(true),
        })?,
    };
    let mut before = Map::new();
    before.insert("build".into(), json!(t.name));
    before.insert("context".into(), json!(render::clean_text(&context, 80)));
    let how = if append { "Append to" } else { "Create or replace" };
    let question = format!(
        "{how} the annotation `{}` on {} ({} characters{})?",
        render::clean_text(&context, 60),
        t.short(),
        args.body.chars().count(),
        style.as_deref().map(|s| format!(", {s}")).unwrap_or_default()
    );
    let plan = Plan { target: t.name.clone(), question, request, before };
    match perform(call, &plan, args.dry_run.unwrap_or(false)).await? {
        Done::DryRun(text) => Ok(text),
        Done::Answered { body, .. } => {
            let style = if t.rest.is_some() {
                body.get("style").and_then(Value::as_str).map(str::to_ascii_lowercase)
            } else {
                decode::<build_annotate::ResponseData>(body)?
                    .build_annotate
                    .and_then(|p| p.annotation)
                    .and_then(|a| a.style.as_ref().map(render::state))
            };
            let mut after = Map::new();
            after.insert("style".into(), json!(style));
            Ok(changed(if append { "appended" } else { "annotated" }, &plan, after))
        }
        Done::Lost { error, .. } => {
            let mut found = Map::new();
            found.insert("build".into(), json!(t.name));
            found.insert("check".into(), json!("list_annotations shows whether it arrived"));
            Ok(lost_answer(&error, None, found))
        }
    }
}

fn graphql_style(style: &str) -> build_annotate::AnnotationStyle {
    use build_annotate::AnnotationStyle as S;
    match style {
        "error" => S::ERROR,
        "warning" => S::WARNING,
        "info" => S::INFO,
        "success" => S::SUCCESS,
        _ => S::DEFAULT,
    }
}
