//! No repeated work in one conversation: GraphQL answers about things that can no longer change (a
//! finished build's jobs and annotations, a finished job, a build's UUID) are kept in memory for the
//! API handle's token, bounded in bytes, and served again only while the token is known good: within
//! [`FRESH`] of an upstream answer that was not a 401 or 403. A 401 or 403 empties the memo, so a
//! revoked token never reads what it read before. Running builds are never kept; log reads keep
//! their own access check (`GetJobForLog` is not memoised).

use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long after the token's last good upstream answer kept answers are served.
pub const FRESH: Duration = Duration::from_secs(60);
/// Bytes kept at most (oldest answers go first).
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Largest answer kept.
const MAX_ENTRY: usize = 512 * 1024;

/// When an operation's answer may be kept.
enum Rule {
    /// Every build-like root present (`/build`, `/head`, `/base`, `/job`) is finished.
    Finished(&'static [&'static str]),
    /// Always: the answer cannot change (a build's UUID for its number).
    Always,
}

/// The operations whose answers can be kept, and when.
const RULES: &[(&str, Rule)] = &[
    ("GetBuild", Rule::Finished(&["/build"])),
    ("CompareBuilds", Rule::Finished(&["/head", "/base"])),
    ("ListJobs", Rule::Finished(&["/build"])),
    ("ListAnnotations", Rule::Finished(&["/build"])),
    ("GetStepUploads", Rule::Finished(&["/build"])),
    ("GetJob", Rule::Finished(&["/job"])),
    ("GetBuildUuid", Rule::Always),
    // The history of a build's steps reads finished builds created before it only (its state filter
    // leaves running ones out): it changes only when one of those finishes, and FRESH bounds how
    // long that goes unseen.
    ("GetStepHistory", Rule::Always),
];

/// Build states after which a build no longer changes (unless a job is retried: then it runs
/// again, and the [`FRESH`] window bounds how long an old answer can be served).
const FINISHED_BUILD: &[&str] = &["PASSED", "FAILED", "CANCELED", "SKIPPED", "NOT_RUN"];
/// Job states after which a job no longer runs.
const FINISHED_JOB: &[&str] = &["FINISHED", "CANCELED", "TIMED_OUT", "SKIPPED", "BROKEN", "EXPIRED"];

/// Whether `operation`'s answers are ever kept.
pub fn memoised(operation: &str) -> bool {
    RULES.iter().any(|(name, _)| *name == operation)
}

/// Whether this answer (`data` of a response without errors) of `operation` may be kept.
pub fn keepable(operation: &str, data: &Value) -> bool {
    let Some((_, rule)) = RULES.iter().find(|(name, _)| *name == operation) else { return false };
    match rule {
        Rule::Always => true,
        Rule::Finished(roots) => {
            let present: Vec<&Value> = roots.iter().filter_map(|r| data.pointer(r)).filter(|v| !v.is_null()).collect();
            !present.is_empty()
                && present.iter().all(|root| {
                    let state = root.get("state").and_then(Value::as_str).unwrap_or("");
                    let finished = FINISHED_BUILD.contains(&state) || FINISHED_JOB.contains(&state);
                    finished && !root.get("finishedAt").is_some_and(Value::is_null)
                })
        }
    }
}

/// The kept answers of one token, and when it last had a good upstream answer.
#[derive(Debug, Default)]
pub struct Memo {
    inner: Mutex<Inner>,
    /// `--no-memo`: nothing is kept.
    off: std::sync::atomic::AtomicBool,
}

#[derive(Debug, Default)]
struct Inner {
    entries: VecDeque<(String, Arc<Vec<u8>>)>,
    bytes: usize,
    last_good: Option<Instant>,
    /// Answers served from memory (for the debug log and tests).
    hits: u64,
}

impl Memo {
    /// Keeps nothing from now on (`--no-memo`).
    pub fn disable(&self) {
        self.off.store(true, std::sync::atomic::Ordering::Relaxed);
        self.answered(401);
    }

    /// Notes one upstream answer's status: a 401 or 403 forgets everything (the token may be
    /// revoked), anything else renews the token's freshness.
    pub fn answered(&self, status: u16) {
        if let Ok(mut inner) = self.inner.lock() {
            if status == 401 || status == 403 {
                inner.entries.clear();
                inner.bytes = 0;
                inner.last_good = None;
            } else {
                inner.last_good = Some(Instant::now());
            }
        }
    }

    /// The kept answer for `key`, while the token is fresh.
    pub fn get(&self, key: &str) -> Option<Arc<Vec<u8>>> {
        let mut inner = self.inner.lock().ok()?;
        let fresh = inner.last_good.is_some_and(|t| t.elapsed() <= FRESH);
        if !fresh {
            return None;
        }
        let found = inner.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        if found.is_some() {
            inner.hits += 1;
        }
        found
    }

    /// Keeps `bytes` for `key`, dropping the oldest answers past the byte bound.
    pub fn put(&self, key: String, bytes: Vec<u8>) {
        if bytes.len() > MAX_ENTRY || self.off.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else { return };
        if let Some(i) = inner.entries.iter().position(|(k, _)| *k == key)
            && let Some((_, old)) = inner.entries.remove(i)
        {
            inner.bytes = inner.bytes.saturating_sub(old.len() + key.len());
        }
        inner.bytes += bytes.len() + key.len();
        inner.entries.push_back((key, Arc::new(bytes)));
        while inner.bytes > MAX_BYTES {
            match inner.entries.pop_front() {
                Some((k, v)) => inner.bytes = inner.bytes.saturating_sub(v.len() + k.len()),
                None => break,
            }
        }
    }

    /// Bytes kept now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().map(|i| i.bytes).unwrap_or(0)
    }

    /// Answers served from memory so far.
    pub fn hits(&self) -> u64 {
        self.inner.lock().map(|i| i.hits).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_finished_builds_and_jobs_are_kept() {
        assert!(keepable("GetBuild", &json!({"build": {"state": "FAILED", "finishedAt": "2026-11-20T10:29:51Z"}})));
        assert!(!keepable("GetBuild", &json!({"build": {"state": "RUNNING", "finishedAt": null}})));
        assert!(!keepable("GetBuild", &json!({"build": {"state": "FAILING"}})));
        assert!(!keepable("GetBuild", &json!({"build": null})));
        let both = json!({"head": {"state": "FAILED"}, "base": {"state": "RUNNING"}});
        assert!(!keepable("CompareBuilds", &both), "every side must be finished");
        assert!(keepable("CompareBuilds", &json!({"head": {"state": "PASSED"}})));
        assert!(keepable(
            "GetJob",
            &json!({"job": {"__typename": "JobTypeCommand", "state": "FINISHED", "finishedAt": "x"}})
        ));
        assert!(!keepable(
            "GetJob",
            &json!({"job": {"__typename": "JobTypeCommand", "state": "RUNNING", "finishedAt": null}})
        ));
        assert!(keepable("GetBuildUuid", &json!({"build": {"uuid": "u"}})));
        assert!(!keepable("GetJobForLog", &json!({"job": {"state": "FINISHED"}})), "log reads keep their check");
    }

    #[test]
    fn a_401_or_403_forgets_and_freshness_gates_serving() {
        let memo = Memo::default();
        memo.put("k".into(), b"answer".to_vec());
        assert!(memo.get("k").is_none(), "no good upstream answer yet");
        memo.answered(200);
        assert_eq!(memo.get("k").as_deref().map(Vec::as_slice), Some(&b"answer"[..]));
        memo.answered(401);
        memo.answered(200);
        assert!(memo.get("k").is_none(), "a 401 emptied the memo");
    }

    #[test]
    fn the_memo_is_bounded_in_bytes() {
        let memo = Memo::default();
        for i in 0..20 {
            memo.put(format!("k{i}"), vec![0u8; 400 * 1024]);
        }
        assert!(memo.bytes() <= MAX_BYTES, "{}", memo.bytes());
        memo.answered(200);
        assert!(memo.get("k0").is_none() && memo.get("k19").is_some(), "oldest dropped first");
        memo.put("huge".into(), vec![0u8; MAX_ENTRY + 1]);
        assert!(memo.get("huge").is_none());
    }
}
