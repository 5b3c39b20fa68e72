//! MCP resources: a build, a job's log outline and a section of a job's log, addressed by
//! `buildkite://` URIs a client can attach. A read runs the same read tool a model would call
//! (the same checks, budgets and marking of untrusted text), so a resource is never a second way
//! around the output contract.

use serde_json::{Map, Value, json};

/// One resource template: its URI template, name, title and description.
pub struct TemplateSpec {
    /// The RFC 6570 template.
    pub uri_template: &'static str,
    /// Its programmatic name.
    pub name: &'static str,
    /// A human title.
    pub title: &'static str,
    /// What a read returns.
    pub description: &'static str,
}

/// The URI scheme of every resource.
const SCHEME: &str = "buildkite://";

/// Every resource template the server serves.
pub const TEMPLATES: &[TemplateSpec] = &[
    TemplateSpec {
        uri_template: "buildkite://{org}/{pipeline}/builds/{number}",
        name: "build",
        title: "Build",
        description: "A build: state, trigger, timings, job counts, failed and blocked jobs, annotation headlines.",
    },
    TemplateSpec {
        uri_template: "buildkite://{org}/{pipeline}/builds/{number}/jobs/{job}/log",
        name: "job_log",
        title: "Job log outline",
        description: "A job's cleaned log ({job}: job UUID or step key): its sections with line ranges.",
    },
    TemplateSpec {
        uri_template: "buildkite://{org}/{pipeline}/builds/{number}/jobs/{job}/log{?from_line,lines}",
        name: "job_log_section",
        title: "Job log lines",
        description: "Lines of a job's cleaned log ({job}: job UUID or step key) from from_line (1-based), lines of them (default 100, max 500).",
    },
];

/// What a resource URI asks: the read tool and its arguments.
#[derive(Debug, PartialEq)]
pub struct Read {
    /// The tool that answers it.
    pub tool: &'static str,
    /// Its arguments.
    pub arguments: Map<String, Value>,
    /// For a log named by step key: the build (`org/pipeline/number`) and the key, resolved to the
    /// step's job before the read (the `job` argument is set then).
    pub step: Option<(String, String)>,
}

/// A slug part: letters, digits, `-`, `_`, `.` (not `.` or `..` alone).
fn slug(part: &str) -> bool {
    !matches!(part, "" | "." | "..")
        && part.len() <= 100
        && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A job UUID (8-4-4-4-12 hex digits).
fn uuid(part: &str) -> bool {
    part.len() == 36
        && part
            .bytes()
            .enumerate()
            .all(|(i, b)| if [8, 13, 18, 23].contains(&i) { b == b'-' } else { b.is_ascii_hexdigit() })
}

/// Reads `uri` into the tool call that answers it, or one sentence saying what is wrong.
pub fn parse(uri: &str) -> Result<Read, String> {
    let shown: String = uri.chars().take(200).collect();
    let bad = || format!("`{shown}` is not a resource of this server: resources/templates/list gives their forms");
    let rest = uri.strip_prefix(SCHEME).ok_or_else(bad)?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let parts: Vec<&str> = path.split('/').collect();
    let (org, pipeline, number) = match parts.as_slice() {
        [org, pipeline, "builds", number, ..] if slug(org) && slug(pipeline) => (*org, *pipeline, *number),
        _ => return Err(bad()),
    };
    if number.is_empty() || number.len() > 12 || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let mut arguments = Map::new();
    match parts.as_slice()[4..] {
        [] if query.is_empty() => {
            arguments.insert("build".into(), json!(format!("{org}/{pipeline}/{number}")));
            Ok(Read { tool: "get_build", arguments, step: None })
        }
        ["jobs", job, "log"] if uuid(job) || slug(job) => {
            let step = if uuid(job) {
                arguments.insert("job".into(), json!(job.to_ascii_lowercase()));
                None
            } else {
                Some((format!("{org}/{pipeline}/{number}"), job.to_string()))
            };
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                let (key, value) = pair.split_once('=').ok_or_else(bad)?;
                let number: i64 = value.parse().map_err(|_| format!("`{key}` in `{shown}` must be a whole number"))?;
                match key {
                    "from_line" | "lines" => arguments.insert(key.into(), json!(number)),
                    _ => return Err(format!("`{shown}`: a log takes from_line and lines only")),
                };
            }
            Ok(Read { tool: "read_log", arguments, step })
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_become_read_tool_calls_and_anything_else_one_sentence() {
        let build = parse("buildkite://acme/web/builds/1342").unwrap();
        assert_eq!(build.tool, "get_build");
        assert_eq!(build.arguments["build"], "acme/web/1342");
        let section = parse(
            "buildkite://acme/web/builds/1342/jobs/08D58486-29e1-47b4-b951-facf35dafc4d/log?from_line=5&lines=20",
        )
        .unwrap();
        assert_eq!(
            Value::Object(section.arguments),
            json!({"job": "08d58486-29e1-47b4-b951-facf35dafc4d", "from_line": 5, "lines": 20})
        );
        for wrong in [
            "https://acme/web/builds/1",
            "buildkite://acme/web/builds/x",
            "buildkite://acme/../builds/1",
            "buildkite://acme/web/builds/1/jobs/not-a-key!/log",
            "buildkite://acme/web/builds/1?x=1",
        ] {
            assert!(parse(wrong).unwrap_err().contains("resources/templates/list"), "{wrong}");
        }
        let by_key = parse("buildkite://acme/web/builds/1342/jobs/rspec/log?lines=5").unwrap();
        assert_eq!(by_key.step, Some(("acme/web/1342".into(), "rspec".into())));
        assert_eq!(Value::Object(by_key.arguments), json!({"lines": 5}));
        assert!(parse("buildkite://a/b/builds/1/jobs/abc/log?lines=many").unwrap_err().contains("whole number"));
        assert!(
            parse("buildkite://a/b/builds/1/jobs/abc/log?grep=1").unwrap_err().contains("from_line and lines only")
        );
    }
}
