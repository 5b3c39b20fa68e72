//! Names the token sees (organizations, pipelines, branches, step keys), kept briefly for
//! `completion/complete`: one small query per argument and what was typed, then reused while the
//! person keeps typing. The cache belongs to one [`Api`](super::Api), so to one token: over HTTP
//! no caller sees another's names. Bounded in entries and in age.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a list of names is reused.
const FRESH: Duration = Duration::from_secs(120);
/// Lists kept at most (the oldest goes first).
const ENTRIES: usize = 256;

/// One list of names: what a query found for a kind of name, a scope and what was typed.
#[derive(Debug, Clone, PartialEq)]
pub struct Names {
    /// The names, in Buildkite's order.
    pub values: Vec<String>,
    /// Whether these are all the names matching `typed` (a longer prefix can then be answered
    /// from them without asking again).
    pub complete: bool,
    /// How many Buildkite counted, when it said.
    pub total: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    kind: &'static str,
    scope: String,
    typed: String,
}

/// The per-token cache of names.
#[derive(Debug, Default)]
pub struct NameCache {
    entries: Mutex<HashMap<Key, (Instant, Names)>>,
}

impl NameCache {
    /// Names of `kind` in `scope` for what was `typed`: a fresh list for exactly that, or a fresh
    /// complete list for a shorter prefix of it, kept to the names starting with `typed`.
    pub fn get(&self, kind: &'static str, scope: &str, typed: &str) -> Option<Names> {
        let entries = self.entries.lock().ok()?;
        let fresh = |at: &Instant| at.elapsed() < FRESH;
        let exact = Key { kind, scope: scope.to_string(), typed: typed.to_string() };
        if let Some((at, names)) = entries.get(&exact)
            && fresh(at)
        {
            return Some(names.clone());
        }
        entries
            .iter()
            .filter(|(k, (at, names))| {
                k.kind == kind && k.scope == scope && typed.starts_with(&k.typed) && names.complete && fresh(at)
            })
            .max_by_key(|(k, _)| k.typed.len())
            .map(|(_, (_, names))| {
                let values: Vec<String> = names.values.iter().filter(|v| v.starts_with(typed)).cloned().collect();
                Names { total: Some(values.len() as u32), values, complete: true }
            })
    }

    /// Keeps `names` for `kind`, `scope` and `typed`.
    pub fn put(&self, kind: &'static str, scope: &str, typed: &str, names: Names) {
        let Ok(mut entries) = self.entries.lock() else { return };
        entries.retain(|_, (at, _)| at.elapsed() < FRESH);
        if entries.len() >= ENTRIES
            && let Some(oldest) = entries.iter().min_by_key(|(_, (at, _))| *at).map(|(k, _)| k.clone())
        {
            entries.remove(&oldest);
        }
        entries.insert(Key { kind, scope: scope.to_string(), typed: typed.to_string() }, (Instant::now(), names));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(values: &[&str], complete: bool) -> Names {
        Names { values: values.iter().map(|s| s.to_string()).collect(), complete, total: None }
    }

    #[test]
    fn a_complete_list_answers_longer_prefixes_and_an_incomplete_one_only_itself() {
        let cache = NameCache::default();
        cache.put("pipeline", "acme", "we", names(&["web", "webhooks", "west"], true));
        assert_eq!(cache.get("pipeline", "acme", "web").unwrap().values, ["web", "webhooks"]);
        assert!(cache.get("pipeline", "other", "web").is_none(), "another scope");
        assert!(cache.get("branch", "acme", "web").is_none(), "another kind");
        cache.put("pipeline", "acme", "a", names(&["api", "app"], false));
        assert_eq!(cache.get("pipeline", "acme", "a").unwrap().values, ["api", "app"]);
        assert!(cache.get("pipeline", "acme", "ap").is_none(), "an incomplete list cannot answer a longer prefix");
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = NameCache::default();
        for i in 0..ENTRIES + 50 {
            cache.put("pipeline", "acme", &format!("p{i}"), names(&["x"], true));
        }
        assert_eq!(cache.entries.lock().unwrap().len(), ENTRIES);
    }
}
