//! The same error as before, or a new one: each explained job's fingerprint beside those of the
//! earlier failures of its step the history found. An earlier failure's fingerprint comes from its
//! cleaned log when the cache holds it (no request: only whether it matches is said, nothing of
//! its text), else from the 64 KiB tail of its log, one ranged REST request each, within what is
//! left of the call's [`super::MAX_REST`] requests; what the cap cut is said.

use super::history::History;
use crate::logs;
use crate::render;
use crate::tools::context::Ctx;
use std::collections::HashMap;

/// Earlier failures compared per step at most.
const PER_STEP: usize = 4;
/// Build numbers named in one sentence.
const NAMED: usize = 4;
/// Bytes of an earlier failure's log read.
const TAIL_BYTES: u64 = 64 * 1024;

/// An explained job of the summary: its step and its fingerprint.
pub struct Explained {
    /// Its step's key.
    pub key: Option<String>,
    /// Its fingerprint, when its log had error lines.
    pub fingerprint: Option<String>,
}

/// What the comparison says.
pub struct Compared {
    /// For each explained job, in order: `same as in #39, #37`, `new: differs from #39`, or nothing.
    pub said: Vec<Option<String>>,
    /// What the request cap left out.
    pub cut: Option<String>,
}

/// A step's label without its parallel index (`:rspec: RSpec 3/8` is `:rspec: RSpec`).
pub fn normalised_label(label: &str) -> String {
    let label = render::clean_text(label, 100);
    let trimmed = match label.rsplit_once(' ') {
        Some((head, tail)) if tail.split_once('/').is_some_and(|(a, b)| is_number(a) && is_number(b)) => head,
        _ => label.as_str(),
    };
    trimmed.trim().to_string()
}

fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The fingerprint of a cached log (`None` when it has no error lines).
async fn cached_fingerprint(log: crate::logs::store::CachedLog) -> Option<String> {
    tokio::task::spawn_blocking(move || {
        logs::digest::digest(&log, logs::digest::MAX_ERRORS).ok().and_then(|d| logs::fingerprint::of_digest(&d))
    })
    .await
    .ok()
    .flatten()
}

/// The fingerprint of a log's tail, one ranged request (`None` when it could not be read or has
/// no error lines).
async fn tail_fingerprint(api: crate::buildkite::Api, org: String, pipeline: String, number: i64, job: String) -> Option<String> {
    match api.job_log_tail(&org, &pipeline, number, &job, TAIL_BYTES).await {
        Ok(tail) => {
            let log = logs::digest::MemoryLog::from_raw(&tail.bytes, tail.partial);
            logs::digest::digest(&log, logs::digest::MAX_ERRORS).ok().and_then(|d| logs::fingerprint::of_digest(&d))
        }
        Err(e) => {
            tracing::debug!(job, "earlier failure's log not read: {e}");
            None
        }
    }
}

/// Compares each explained job with the earlier failures of its step, making at most `requests`
/// REST requests (none without `read_build_logs`, when only cached logs are compared).
pub async fn compare(
    ctx: &Ctx,
    org: &str,
    pipeline: &str,
    history: &History,
    jobs: &[Explained],
    requests: usize,
    can_read_logs: bool,
) -> Compared {
    // The earlier failures to compare: round robin over the steps, nearest first.
    let mut keys: Vec<&str> = Vec::new();
    for j in jobs.iter().filter(|j| j.fingerprint.is_some()) {
        if let Some(k) = j.key.as_deref()
            && !keys.contains(&k)
        {
            keys.push(k);
        }
    }
    let lists: Vec<Vec<(i64, String)>> = keys.iter().map(|k| history.earlier_failures(k)).collect();
    let mut order: Vec<(i64, String)> = Vec::new();
    for round in 0..PER_STEP {
        for list in &lists {
            if let Some(item) = list.get(round)
                && !order.iter().any(|(_, u)| *u == item.1)
            {
                order.push(item.clone());
            }
        }
    }
    let beyond: usize = lists.iter().map(|l| l.len().saturating_sub(PER_STEP)).sum();
    // Cached logs cost nothing; the others take the requests left, in order.
    let mut left = if can_read_logs { requests } else { 0 };
    let mut skipped = 0usize;
    let mut found: HashMap<String, (i64, Option<String>)> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (number, job) in &order {
        if let Some(log) = ctx.logs.store.open(job) {
            found.insert(job.clone(), (*number, cached_fingerprint(log).await));
        } else if left > 0 {
            left -= 1;
            let (api, org, pipeline, job, number) = (ctx.api.clone(), org.to_string(), pipeline.to_string(), job.clone(), *number);
            tasks.spawn(async move { (job.clone(), number, tail_fingerprint(api, org, pipeline, number, job).await) });
        } else {
            skipped += 1;
        }
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok((job, number, fp)) = done {
            found.insert(job, (number, fp));
        }
    }

    let said = jobs
        .iter()
        .map(|j| {
            let (key, mine) = (j.key.as_deref()?, j.fingerprint.as_deref()?);
            let (mut same, mut other): (Vec<i64>, Vec<i64>) = (Vec::new(), Vec::new());
            for (_, job) in history.earlier_failures(key) {
                let Some((n, Some(fp))) = found.get(&job) else { continue };
                let list = if fp == mine { &mut same } else { &mut other };
                if !list.contains(n) {
                    list.push(*n);
                }
            }
            let named = |ns: &[i64]| ns.iter().take(NAMED).map(|n| format!("#{n}")).collect::<Vec<_>>().join(", ");
            if !same.is_empty() {
                Some(format!("same as in {}", named(&same)))
            } else if !other.is_empty() {
                Some(format!("new: differs from {}", named(&other)))
            } else {
                None
            }
        })
        .collect();
    let not_compared = skipped + beyond;
    let cut = (skipped > 0).then(|| {
        format!(
            "{not_compared} earlier failures not compared: at most {} REST requests per call",
            super::MAX_REST
        )
    });
    Compared { said, cut }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_lose_their_parallel_index() {
        assert_eq!(normalised_label(":rspec: RSpec 3/8"), ":rspec: RSpec");
        assert_eq!(normalised_label("Licences"), "Licences");
        assert_eq!(normalised_label("a 1/b"), "a 1/b");
    }
}
