//! Buildkite's rate limits as its answers report them: the `RateLimit-*` headers (organization) and
//! `RateLimit-User-*` headers (the token's user) of every GraphQL and REST answer, kept per API
//! handle, so a tool's output can say when little is left, and a 429 can name the limit it hit.

use super::http::Endpoint;
use reqwest::header::HeaderMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Under this share of a limit left, tool outputs say so (one field).
const LOW_FRACTION: f64 = 0.2;

/// Whose budget a limit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    /// The organization's (every token of it).
    Organization,
    /// The token's user.
    User,
}

/// One limit as the latest answer reported it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// Which API it limits.
    pub endpoint: Endpoint,
    /// Whose it is.
    pub holder: Holder,
    /// Points (GraphQL) or requests (REST) left.
    pub remaining: u64,
    /// The limit.
    pub limit: u64,
    /// Seconds until it resets, when the answer came (when it said).
    pub reset_s: Option<u64>,
    /// When the answer came.
    pub at: Instant,
}

impl Reading {
    /// The limit's name as a sentence part: "GraphQL per-user limit of 5000 complexity points per
    /// 5 minutes".
    pub fn name(&self) -> String {
        let (api, unit) = match self.endpoint {
            Endpoint::GraphQL => ("GraphQL", "complexity points"),
            Endpoint::Rest => ("REST", "requests"),
        };
        let whose = match self.holder {
            Holder::Organization => "organization",
            Holder::User => "per-user",
        };
        let window = match self.endpoint {
            Endpoint::GraphQL => "5 minutes",
            Endpoint::Rest => "minute",
        };
        format!("{api} {whose} limit of {} {unit} per {window}", self.limit)
    }

    /// Seconds until reset, counted from now.
    fn reset_in(&self, now: Instant) -> u64 {
        self.reset_s.unwrap_or(0).saturating_sub(now.saturating_duration_since(self.at).as_secs())
    }

    /// Whether under [`LOW_FRACTION`] of the limit is left.
    fn low(&self) -> bool {
        self.limit > 0 && (self.remaining as f64) < LOW_FRACTION * self.limit as f64
    }
}

/// The latest readings of one API handle (shared by its clones).
#[derive(Debug, Default)]
pub struct RateLimits {
    readings: Mutex<Vec<Reading>>,
}

/// The two limits (organization, user) one answer's headers report, when they do.
pub fn readings(endpoint: Endpoint, headers: &HeaderMap, at: Instant) -> Vec<Reading> {
    let number =
        |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    [(Holder::Organization, "ratelimit-"), (Holder::User, "ratelimit-user-")]
        .into_iter()
        .filter_map(|(holder, prefix)| {
            let remaining = number(&format!("{prefix}remaining"))?;
            let limit = number(&format!("{prefix}limit")).unwrap_or(0);
            let reset_s = number(&format!("{prefix}reset"));
            Some(Reading { endpoint, holder, remaining, limit, reset_s, at })
        })
        .collect()
}

impl RateLimits {
    /// Keeps what one answer's headers say, replacing earlier readings of the same limits.
    pub fn record(&self, endpoint: Endpoint, headers: &HeaderMap) {
        let fresh = readings(endpoint, headers, Instant::now());
        if fresh.is_empty() {
            return;
        }
        if let Ok(mut kept) = self.readings.lock() {
            kept.retain(|r| !fresh.iter().any(|f| f.endpoint == r.endpoint && f.holder == r.holder));
            kept.extend(fresh);
        }
    }

    /// The tightest limit under 20 % left among those read since `since` (and not yet reset), as
    /// one short sentence for a tool's output.
    pub fn low_since(&self, since: Instant) -> Option<String> {
        let now = Instant::now();
        let kept = self.readings.lock().ok()?;
        let tightest = kept
            .iter()
            .filter(|r| r.at >= since && r.low() && (r.reset_s.is_none() || r.reset_in(now) > 0))
            .min_by(|a, b| {
                let share = |r: &Reading| r.remaining as f64 / r.limit.max(1) as f64;
                share(a).total_cmp(&share(b))
            })?;
        Some(format!(
            "{} left of the {}, resets in {}",
            tightest.remaining,
            tightest.name(),
            duration(tightest.reset_in(now))
        ))
    }
}

/// The limit a 429 hit, named from its headers (the one at 0 left, the user's first) or, failing
/// them, from Buildkite's message ("per-user", "organization"), with its reset in seconds.
pub fn exhausted(endpoint: Endpoint, headers: &HeaderMap, message: &str) -> (Option<String>, Option<u64>) {
    let found = readings(endpoint, headers, Instant::now());
    let by_headers = found
        .iter()
        .filter(|r| r.remaining == 0)
        .min_by_key(|r| match r.holder {
            Holder::User => 0,
            Holder::Organization => 1,
        })
        .copied();
    if let Some(r) = by_headers {
        let name = if r.limit > 0 { r.name() } else { r.name().split(" of ").next().unwrap_or_default().to_string() };
        return (Some(name), r.reset_s);
    }
    let lower = message.to_ascii_lowercase();
    let api = match endpoint {
        Endpoint::GraphQL => "GraphQL",
        Endpoint::Rest => "REST",
    };
    let name = if lower.contains("per-user") || lower.contains("per user") {
        Some(format!("{api} per-user limit"))
    } else if lower.contains("organization") {
        Some(format!("{api} organization limit"))
    } else {
        None
    };
    (name, None)
}

/// Seconds as a short duration: "45 s", "3 min 7 s".
pub fn duration(seconds: u64) -> String {
    let d = Duration::from_secs(seconds);
    match d.as_secs() {
        s if s < 60 => format!("{s} s"),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{} min {} s", s / 60, s % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, v.parse().unwrap());
        }
        map
    }

    #[test]
    fn the_tightest_limit_under_a_fifth_is_said_once() {
        let limits = RateLimits::default();
        let start = Instant::now();
        limits.record(
            Endpoint::GraphQL,
            &headers(&[
                ("RateLimit-Remaining", "15000"),
                ("RateLimit-Limit", "20000"),
                ("RateLimit-Reset", "200"),
                ("RateLimit-User-Remaining", "640"),
                ("RateLimit-User-Limit", "5000"),
                ("RateLimit-User-Reset", "187"),
            ]),
        );
        let note = limits.low_since(start).unwrap();
        assert_eq!(
            note,
            "640 left of the GraphQL per-user limit of 5000 complexity points per 5 minutes, resets in 3 min 7 s"
        );
        limits.record(
            Endpoint::GraphQL,
            &headers(&[("RateLimit-User-Remaining", "4000"), ("RateLimit-User-Limit", "5000")]),
        );
        assert_eq!(limits.low_since(start), None, "a later answer with room replaces the reading");
    }

    #[test]
    fn a_429_names_the_exhausted_limit_and_its_reset() {
        let h = headers(&[
            ("RateLimit-Remaining", "30"),
            ("RateLimit-User-Remaining", "0"),
            ("RateLimit-User-Limit", "50"),
            ("RateLimit-User-Reset", "42"),
        ]);
        assert_eq!(
            exhausted(Endpoint::Rest, &h, ""),
            (Some("REST per-user limit of 50 requests per minute".to_string()), Some(42))
        );
        let (name, _) = exhausted(
            Endpoint::GraphQL,
            &HeaderMap::new(),
            "Your organization has exceeded the limit of 20000 complexity points.",
        );
        assert_eq!(name.as_deref(), Some("GraphQL organization limit"));
    }
}
