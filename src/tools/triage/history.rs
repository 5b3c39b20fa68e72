//! Is it new, is it flaky: how a build's failed steps fared in the finished builds before it, on
//! its branch and on the default branch. One GraphQL request (`GetStepHistory`) for all the steps
//! (by step key; parallel jobs of a step fold into one outcome per build) and both branches: for
//! each of the last [`BUILDS`] builds, how many jobs of the steps ran and the failed ones, retried
//! attempts included. A step whose failed attempts were all retried passed on retry: flaky.
//!
//! A step without a key cannot be asked for by key; it is said to have no history.
//!
//! The outcome of a step in a build is exact when one step is asked for; with several, a build in
//! which some of them ran and others did not counts the ones that did not run as passed (the
//! request counts the jobs of all the steps together, to stay under its complexity ceiling).

use crate::buildkite::ops::{GetStepHistory, get_step_history as op};
use crate::render;
use crate::tools::kit::{Call, ToolError, Wanted, nodes};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Finished builds read per branch.
pub const BUILDS: i64 = 20;
/// Failed jobs of the steps read per build: at 20 builds a branch, the request asks for
/// 883 complexity points (the ceiling is 1,000).
const FAILED_JOBS: i64 = 6;
/// Build numbers named for the flaky runs of a step.
const FLAKY_SHOWN: usize = 3;

/// How a step fared in one build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every job passed (soft failures count as passed).
    Passed,
    /// A job's latest attempt failed.
    Failed,
    /// A job failed and passed on retry.
    Flaky,
    /// None of the asked steps ran in the build.
    NotRun,
    /// Too many failed jobs to tell.
    Unknown,
}

/// One build's outcome of one step, and its failed jobs (every hard-failed attempt).
#[derive(Debug, Clone)]
pub struct Run {
    /// The build number.
    pub number: i64,
    /// The outcome.
    pub outcome: Outcome,
    /// UUIDs of the step's hard-failed jobs (latest attempts first, then retried ones).
    pub failed_jobs: Vec<String>,
}

/// The runs of one branch: by step key, newest build first.
#[derive(Debug, Default)]
pub struct Side {
    /// Finished builds read.
    pub builds: usize,
    /// Each step's runs.
    pub runs: BTreeMap<String, Vec<Run>>,
}

/// The history of a pipeline's steps before one build.
#[derive(Debug, Default)]
pub struct History {
    /// The build's branch.
    pub branch: Side,
    /// The default branch, when the build's branch is another.
    pub default: Option<Side>,
}

/// What the history is asked about.
pub struct Ask<'a> {
    /// `org/pipeline`.
    pub pipeline: String,
    /// The build's branch.
    pub branch: &'a str,
    /// The build's number: only earlier builds count.
    pub number: i64,
    /// When the build was created: only builds created before it are read.
    pub created_at: Option<&'a str>,
    /// The step keys.
    pub keys: Vec<String>,
}

/// Reads the history (one GraphQL request).
pub async fn read(call: &Call<'_>, ask: &Ask<'_>) -> Result<History, ToolError> {
    let variables = op::Variables {
        slug: ask.pipeline.clone(),
        branch: Some(vec![ask.branch.to_string()]),
        keys: Some(ask.keys.clone()),
        before: ask.created_at.map(str::to_string),
        builds: BUILDS,
        failed_jobs: FAILED_JOBS,
    };
    let wanted = Wanted::new(format!("pipeline {}", ask.pipeline), "org/pipeline, as in a build's slug");
    let data = call.query::<GetStepHistory>(variables, &wanted).await?;
    let pipeline = data.pipeline.ok_or_else(|| wanted.not_found())?;
    let branch = side(pipeline.on_branch, ask);
    let same = pipeline.default_branch.as_deref() == Some(ask.branch);
    let default = (!same).then(|| side(pipeline.on_default, ask));
    Ok(History { branch, default })
}

fn side(builds: Option<op::StepRuns>, ask: &Ask<'_>) -> Side {
    use op::StepRunsEdgesNodeFailedEdgesNode as Failed;
    let mut out = Side::default();
    for build in nodes!(builds).filter(|b| b.number < ask.number) {
        out.builds += 1;
        let ran = build.ran.as_ref().map(|r| r.count).unwrap_or(0);
        let failed_count = build.failed.as_ref().map(|f| f.count).unwrap_or(0);
        let failed: Vec<_> = nodes!(build.failed)
            .filter_map(|n| match n {
                Failed::JobTypeCommand(j) => Some(j),
                _ => None,
            })
            .collect();
        let cut = failed_count > failed.len() as i64;
        for key in &ask.keys {
            let mine: Vec<_> = failed.iter().filter(|j| j.step.as_ref().and_then(|s| s.key.as_deref()) == Some(key)).collect();
            let hard: Vec<_> = mine.iter().filter(|j| !j.soft_failed).collect();
            let latest_failed = hard.iter().any(|j| !j.retried);
            let outcome = if latest_failed {
                Outcome::Failed
            } else if cut {
                // A retried failure seen, or none: the rest of the list may hold its latest attempt.
                Outcome::Unknown
            } else if !hard.is_empty() {
                Outcome::Flaky
            } else if ran == 0 {
                Outcome::NotRun
            } else {
                Outcome::Passed
            };
            let mut jobs: Vec<(bool, String)> = hard.iter().map(|j| (j.retried, j.uuid.clone())).collect();
            jobs.sort_by_key(|(retried, _)| *retried);
            out.runs.entry(key.clone()).or_default().push(Run {
                number: build.number,
                outcome,
                failed_jobs: jobs.into_iter().map(|(_, u)| u).collect(),
            });
        }
    }
    out
}

/// One sentence for a step's runs on one branch; `failing` when the step failed in the build
/// the history is for (then it says whether the failure is new, and since which build it fails).
pub fn describe(runs: &[Run], builds: usize, failing: bool) -> String {
    if builds == 0 {
        return "no finished builds before this one".into();
    }
    let known: Vec<&Run> = runs.iter().filter(|r| matches!(r.outcome, Outcome::Passed | Outcome::Failed | Outcome::Flaky)).collect();
    let unknown = runs.iter().filter(|r| r.outcome == Outcome::Unknown).count();
    let unread = if unknown > 0 { format!("; {unknown} builds not told (too many failed jobs)") } else { String::new() };
    if known.is_empty() {
        return format!("did not run in the last {builds} builds{unread}");
    }
    let passed = |r: &&&Run| matches!(r.outcome, Outcome::Passed | Outcome::Flaky);
    let last_passed = known.iter().find(passed).map(|r| r.number);
    let streak: Vec<&&Run> = known.iter().take_while(|r| r.outcome == Outcome::Failed).collect();
    let failed = known.iter().filter(|r| r.outcome == Outcome::Failed).count();
    let mut parts: Vec<String> = Vec::new();
    match (last_passed, streak.last()) {
        (Some(n), None) if failing => parts.push(format!("new: last passed #{n}")),
        (Some(n), None) => parts.push(format!("last passed #{n}")),
        (Some(n), Some(oldest)) if failing => parts.push(format!("failing since #{}; last passed #{n}", oldest.number)),
        (Some(n), Some(_)) => parts.push(format!("last passed #{n}")),
        (None, _) => parts.push(format!("never passed in the last {}", known.len())),
    }
    parts.push(format!("{failed} of {} failed", known.len()));
    let flaky: Vec<String> = known.iter().filter(|r| r.outcome == Outcome::Flaky).map(|r| format!("#{}", r.number)).collect();
    if !flaky.is_empty() {
        let more = flaky.len().saturating_sub(FLAKY_SHOWN);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        parts.push(format!("flaky: passed on retry in {}{more}", flaky[..flaky.len().min(FLAKY_SHOWN)].join(", ")));
    }
    parts.join("; ") + &unread
}

/// What the failure summary shows of the history.
pub struct Shown<'a> {
    /// The keys asked for.
    pub keys: &'a [String],
    /// The failed steps' keys (the history of these says whether the failure is new).
    pub failed: &'a [String],
    /// The labels of the failed jobs whose step has no key.
    pub keyless: &'a [Option<&'a str>],
    /// Whether the failed steps were asked for (else one step, by key).
    pub all: bool,
}

impl Shown<'_> {
    /// The `history` field (`None`: nothing to say) and the history read, from what the request
    /// answered (`None`: not sent).
    pub fn render(&self, told: Option<Result<History, ToolError>>) -> (Option<Value>, Option<History>) {
        let h = match told {
            Some(Ok(h)) => h,
            Some(Err(e)) => return (Some(json!(format!("not read: {e}"))), None),
            None if self.all && !self.keyless.is_empty() => {
                return (Some(json!("no history: the failed steps have no key")), None);
            }
            None => return (None, None),
        };
        let mut rows: Vec<Value> = self.keys.iter().map(|k| h.row(k, self.failed.contains(k))).collect();
        if self.all {
            let mut labels: Vec<String> = Vec::new();
            for label in self.keyless {
                let label = super::earlier::normalised_label(label.unwrap_or(""));
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            rows.extend(labels.into_iter().map(|l| json!({"step": l, "branch": "no history: the step has no key"})));
            if self.failed.len() > self.keys.len() {
                let more = self.failed.len() - self.keys.len();
                rows.push(json!(format!("{more} more failed steps: history with a step key")));
            }
        }
        (Some(Value::Array(rows)), Some(h))
    }
}

impl History {
    /// The row of one step: `{"step", "branch", "default_branch"}` (the last when the build's
    /// branch is not the default one). Whether the failure is new, and since which build the step
    /// fails, is said of the build's own branch.
    pub fn row(&self, key: &str, failing: bool) -> Value {
        let mut row = Map::new();
        row.insert("step".into(), json!(render::clean_text(key, 100)));
        let runs = |side: &Side| side.runs.get(key).cloned().unwrap_or_default();
        row.insert("branch".into(), json!(describe(&runs(&self.branch), self.branch.builds, failing)));
        if let Some(default) = &self.default {
            row.insert("default_branch".into(), json!(describe(&runs(default), default.builds, false)));
        }
        Value::Object(row)
    }

    /// The newest earlier build in which `key` passed (on retry too): on the build's branch, else
    /// on the default branch.
    pub fn last_passed(&self, key: &str) -> Option<i64> {
        std::iter::once(&self.branch).chain(self.default.iter()).find_map(|side| {
            side.runs.get(key)?.iter().find(|r| matches!(r.outcome, Outcome::Passed | Outcome::Flaky)).map(|r| r.number)
        })
    }

    /// The earlier builds in which `key` failed and their failed jobs, newest first, this
    /// branch's before the default branch's.
    pub fn earlier_failures(&self, key: &str) -> Vec<(i64, String)> {
        let mut out: Vec<(i64, String)> = Vec::new();
        for side in std::iter::once(&self.branch).chain(self.default.iter()) {
            for run in side.runs.get(key).into_iter().flatten() {
                for job in &run.failed_jobs {
                    if !out.iter().any(|(_, j)| j == job) {
                        out.push((run.number, job.clone()));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(outcomes: &[(i64, Outcome)]) -> Vec<Run> {
        outcomes.iter().map(|&(number, outcome)| Run { number, outcome, failed_jobs: Vec::new() }).collect()
    }

    #[test]
    fn a_first_failure_names_the_last_pass() {
        let r = runs(&[(41, Outcome::Passed), (40, Outcome::Failed), (39, Outcome::Passed)]);
        assert_eq!(describe(&r, 3, true), "new: last passed #41; 1 of 3 failed");
        assert_eq!(describe(&r, 3, false), "last passed #41; 1 of 3 failed");
    }

    #[test]
    fn a_streak_says_since_which_build() {
        let r = runs(&[(41, Outcome::Failed), (40, Outcome::NotRun), (39, Outcome::Failed), (38, Outcome::Flaky)]);
        assert_eq!(
            describe(&r, 4, true),
            "failing since #39; last passed #38; 2 of 3 failed; flaky: passed on retry in #38"
        );
    }

    #[test]
    fn never_passed_and_not_run_and_unknown() {
        let r = runs(&[(41, Outcome::Failed), (40, Outcome::Unknown)]);
        assert_eq!(describe(&r, 2, true), "never passed in the last 1; 1 of 1 failed; 1 builds not told (too many failed jobs)");
        assert_eq!(describe(&runs(&[(41, Outcome::NotRun)]), 1, true), "did not run in the last 1 builds");
        assert_eq!(describe(&[], 0, true), "no finished builds before this one");
    }
}
