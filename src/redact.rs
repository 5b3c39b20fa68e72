//! Redaction of secrets in text shown to the model, in one place: environment variables by name
//! (`*TOKEN*`, `*_KEY`, …), and any text by the shape of its values — provider token formats
//! anywhere in a value, JWTs, PEM private key blocks, credentials in URLs, in `--flag=value` and
//! `key: value` pairs and in `Authorization` headers, webhook URLs with their secret path, docker
//! auth config JSON, netrc and pgpass lines.
//!
//! Every rule is a regular expression of the `regex` crate (linear time, no backtracking), and
//! the rules are compiled once into two combined expressions: [`redact_tokens`] applies only the
//! provider token formats (cheap enough for every log line), [`redact_value`] applies every rule
//! (environment and configuration text, annotation bodies).

use regex::{Captures, Regex};
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a secret is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Name parts that mark an environment variable as a secret, whose value is never shown (the
/// agent's own redaction list, plus common spellings).
const SECRET_NAME_PARTS: &[&str] = &[
    "PASSWORD",
    "PASSWD",
    "SECRET",
    "TOKEN",
    "ACCESS_KEY",
    "PRIVATE_KEY",
    "CONNECTION_STRING",
    "API_KEY",
    "APIKEY",
    "CREDENTIAL",
    "COOKIE",
    "SESSION",
    "WEBHOOK",
    "AUTH_CONFIG",
    "NETRC",
    "PGPASS",
];
/// Name endings that mark a secret (`SSH_KEY`, `DB_PASS`, `SENTRY_DSN`, `NPM_AUTH`).
const SECRET_NAME_ENDS: &[&str] = &["_KEY", "_PASS", "_PWD", "_DSN", "_AUTH", "_JWT"];

/// Provider token formats, found anywhere in a value (one alternative per provider family). Each
/// starts at a word boundary and has no condition after it, so a cut value never matches where
/// the whole did not.
const TOKEN_RULES: &[&str] = &[
    // GitHub: classic, OAuth, user-to-server, server-to-server, refresh; fine-grained.
    r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}",
    r"\bgithub_pat_[A-Za-z0-9_]{20,}",
    // GitLab personal, pipeline-trigger, deploy, runner, OAuth, feed and CI job tokens.
    r"\bgl(?:pat|ptt|dt|rt|cbt|oas|ft|soat|imt|agent)-[A-Za-z0-9_\-]{16,}",
    // Slack bot, user, app-level, configuration and refresh tokens.
    r"\bxox[abposre]-[A-Za-z0-9\-]{10,}",
    r"\bxapp-\d-[A-Za-z0-9\-]{10,}",
    // AWS access key ids.
    r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA|ABIA|ACCA)[A-Z0-9]{16}",
    // Stripe secret, restricted and webhook keys.
    r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}",
    r"\bwhsec_[A-Za-z0-9]{20,}",
    // npm and PyPI.
    r"\bnpm_[A-Za-z0-9]{30,}",
    r"\bpypi-[A-Za-z0-9_\-]{40,}",
    // Buildkite API, agent, cluster and job tokens.
    r"\bbk(?:ua|aj|at|ct|rt|st)_[A-Za-z0-9_]{12,}",
    // Google API keys and OAuth access tokens.
    r"\bAIza[0-9A-Za-z_\-]{30,}",
    r"\bya29\.[0-9A-Za-z_\-]{20,}",
    // OpenAI (sk-, sk-proj-, sk-svcacct-) and Anthropic (sk-ant-) style keys.
    r"\bsk-(?:[a-z]{2,8}-)?[A-Za-z0-9_\-]{20,}",
    // SendGrid, Twilio, Mailgun, Mailchimp.
    r"\bSG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}",
    r"\b(?:AC|SK)[0-9a-f]{32}",
    r"\bkey-[0-9a-f]{32}",
    r"\b[0-9a-f]{32}-us[0-9]{1,2}",
    // Hugging Face, Shopify, DigitalOcean, Linear, Doppler, Databricks, Pulumi, Postman.
    r"\bhf_[A-Za-z0-9]{30,}",
    r"\bshp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}",
    r"\bdo[opr]_v1_[a-f0-9]{64}",
    r"\blin_api_[A-Za-z0-9]{30,}",
    r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{30,}",
    r"\bdapi[a-f0-9]{32}",
    r"\bpul-[a-f0-9]{40}",
    r"\bPMAK-[a-f0-9]{24}-[a-f0-9]{34}",
    // Telegram bot tokens.
    r"\b[0-9]{8,10}:AA[0-9A-Za-z_\-]{33}",
    // JSON Web Tokens (header and payload are base64url JSON, so both start `eyJ`).
    r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
];

/// Rules that keep a prefix (and perhaps a suffix) and redact what lies between:
/// `(prefix, secret, suffix)`, each a regular expression.
const CONTEXT_RULES: &[(&str, &str, &str)] = &[
    // PEM private key blocks (RSA, EC, OpenSSH, PGP, encrypted), to their end or the text's end.
    (
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----",
        r"(?s:.*?)",
        r"(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\z)",
    ),
    // Webhook URLs whose path is the secret: Slack, Discord, Microsoft Teams, Google Chat, Zapier, IFTTT.
    (r"https?://hooks\.slack\.com/(?:services|workflows|triggers)/", r"[A-Za-z0-9/_\-]+", ""),
    (r"https?://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/", r"[A-Za-z0-9/_\-]+", ""),
    (r"https?://[A-Za-z0-9.\-]+\.webhook\.office\.com/", r"[^\s'\x22<>]+", ""),
    (r"https?://outlook\.office(?:365)?\.com/webhook/", r"[^\s'\x22<>]+", ""),
    (r"https?://chat\.googleapis\.com/v1/spaces/", r"[^\s'\x22<>]+", ""),
    (r"https?://hooks\.zapier\.com/hooks/catch/", r"[A-Za-z0-9/_\-]+", ""),
    (r"https?://maker\.ifttt\.com/trigger/[A-Za-z0-9_\-]+/with/key/", r"[A-Za-z0-9_\-]+", ""),
    // Credentials in a URL: `scheme://user:password@host`, or a token as the user name.
    // A scheme is short (`postgres+ssl`): a long run of letters before `://` is a token glued
    // to a URL, which the token rules must see.
    (r"\b[A-Za-z][A-Za-z0-9+.\-]{0,20}://", r"[^\s/?#@'\x22<>]+", "@"),
    // Secret query parameters.
    (
        r"(?i:[?&](?:access_token|api_key|apikey|token|secret|password|passwd|sig|signature|x-amz-signature|x-amz-security-token|x-goog-signature|client_secret)=)",
        r"[^&\s'\x22<>#]+",
        "",
    ),
    // `Authorization: Bearer …`, `Basic …`, `token …`, and a bare `Bearer <token>`.
    (r"(?i:\bauthorization\s*[:=]\s*(?:bearer|basic|token|bot)?\s*)", r"[^\s'\x22,;]+", ""),
    (r"(?i:\bbearer\s+)", r"[A-Za-z0-9_\-.=+/~]{12,}", ""),
    // Command-line flags: `--password=x`, `--api-key x`, `--auth-token "x"`, `-u user:password`.
    (
        r"(?i:--?(?:[a-z0-9]+[-_])*(?:password|passwd|pass|pwd|token|secret|apikey|api[-_]key|access[-_]key|private[-_]key|secret[-_]key|auth|credentials?)(?:=|\s+))",
        r#"(?:"[^"]*"|'[^']*'|[^\s"'\-$][^\s"']*)"#,
        "",
    ),
    (r"(?:^|\s)-u\s+[^\s:]+:", r"[^\s'\x22]+", ""),
    // JSON keys that hold secrets: docker auth config (`auth`, `identitytoken`), and any
    // `*password*`, `*secret*`, `*token*`, `*api_key*` key.
    (
        r#"(?i:\\?"(?:auth|identitytoken|registrytoken|[a-z0-9_\-]{0,40}(?:password|passwd|secret|token|api[_\-]?key|private[_\-]?key|credential)[a-z0-9_\-]{0,40})\\?"\s*:\s*\\?")"#,
        r#"[^"\\]+"#,
        "",
    ),
    // `KEY=value` and `key: value` with a secret-looking key (YAML, .env, INI, connection strings).
    (
        r#"(?i:\b[a-z0-9_.\-]{0,40}(?:password|passwd|pwd|secret|token|api[_\-]?key|access[_\-]?key|private[_\-]?key|credentials?|accountkey|sharedaccesskey)[a-z0-9_.\-]{0,40}["']?[ \t]*[:=][ \t]*["']?)"#,
        r#"[^\s"',;{}\[\]$][^\s"',;{}\[\]]*"#,
        "",
    ),
    // netrc: `machine host login user password secret` (or `password secret` on its own line).
    (r"(?i:\b(?:machine|login|default)\s+\S+\s+(?:login\s+\S+\s+)?password\s+)", r"[^\s'\x22]+", ""),
    (r"(?im:^[ \t]*password[ \t]+)", r"[^\s'\x22]+", ""),
    // pgpass: `host:port:database:user:password`, on its own line or quoted.
    (r"(?m:(?:^|[\s'\x22=])[A-Za-z0-9_.\-*]+:(?:[0-9]+|\*):[^:\s'\x22]+:[^:\s'\x22]+:)", r"[^\s'\x22]+", ""),
];

/// Every provider token format, as one expression (ASCII word boundaries: the rules are ASCII, and
/// the fast engines need no Unicode look-around).
static TOKENS: LazyLock<Option<Regex>> = LazyLock::new(|| compile(&TOKEN_RULES.join("|").replace(r"\b", r"(?-u:\b)")));

/// The shortest run of token characters any provider format needs (`xoxb-` and ten more).
const SHORTEST_TOKEN: usize = 15;

/// Whether `text` has a run of at least [`SHORTEST_TOKEN`] token characters (ASCII letters,
/// digits, `_ - . :`): a byte scan that lets most log lines skip the token expression.
fn may_hold_token(text: &str) -> bool {
    let mut run = 0;
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':') {
            run += 1;
            if run >= SHORTEST_TOKEN {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Every rule, as one expression: the token formats (group `t`), then each context rule with its
/// kept prefix `p<i>` and suffix `s<i>`. Names in `key=value` rules are at most 40 characters, so
/// a name cannot swallow a token glued before it.
static ALL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // Token formats first: where a token and a `key=value` name start at one place, it is a token.
    let mut parts = vec![format!("(?P<t>{})", TOKEN_RULES.join("|"))];
    parts.extend(
        CONTEXT_RULES
            .iter()
            .enumerate()
            .map(|(i, (prefix, secret, suffix))| format!("(?P<p{i}>{prefix}){secret}(?P<s{i}>{suffix})")),
    );
    compile(&parts.join("|"))
});

fn compile(pattern: &str) -> Option<Regex> {
    match regex::RegexBuilder::new(pattern).size_limit(64 << 20).build() {
        Ok(re) => Some(re),
        Err(e) => {
            tracing::error!("redaction rules do not compile: {e}");
            None
        }
    }
}

/// Whether a variable's value must be redacted.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // Buildkite's own `BUILDKITE_*_KEY` names (step and group keys) are identifiers, not secrets.
    SECRET_NAME_PARTS.iter().any(|p| upper.contains(p))
        || (!upper.starts_with("BUILDKITE_") && SECRET_NAME_ENDS.iter().any(|e| upper.ends_with(e)))
}

/// `text` with every provider token format replaced: what log lines get (the cheap subset).
pub fn redact_tokens(text: &str) -> Cow<'_, str> {
    if !may_hold_token(text) {
        return Cow::Borrowed(text);
    }
    let Some(re) = TOKENS.as_ref() else {
        // Rules that do not compile cannot say what is safe: show nothing.
        return Cow::Borrowed(REDACTED);
    };
    match re.replace_all(text, REDACTED) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(once) => Cow::Owned(until_settled(once, |t| re.replace_all(t, REDACTED).into_owned())),
    }
}

/// Applies `pass` again while it changes something (at most a few times): a token glued behind
/// another (`AKIA…ghp_…`) starts a word only once the first is replaced.
fn until_settled(mut text: String, pass: impl Fn(&str) -> String) -> String {
    for _ in 0..8 {
        let next = pass(&text);
        if next == text {
            break;
        }
        text = next;
    }
    text
}

/// `text` with every secret shape replaced: provider tokens, JWTs, private keys, URL and flag
/// credentials, webhook paths, secret JSON keys and `key: value` pairs, netrc and pgpass lines.
pub fn redact_value(text: &str) -> String {
    let Some(re) = ALL.as_ref() else {
        return REDACTED.to_string();
    };
    match redact_pass(re, text) {
        Cow::Borrowed(_) => text.to_string(),
        Cow::Owned(once) => until_settled(once, |t| redact_pass(re, t).into_owned()),
    }
}

/// One pass of every rule over `text`.
fn redact_pass<'t>(re: &Regex, text: &'t str) -> Cow<'t, str> {
    re.replace_all(text, |caps: &Captures<'_>| {
        if caps.name("t").is_some() {
            return REDACTED.to_string();
        }
        for i in 0..CONTEXT_RULES.len() {
            if let Some(prefix) = caps.name(&format!("p{i}")) {
                let suffix = caps.name(&format!("s{i}")).map_or("", |m| m.as_str());
                return format!("{}{REDACTED}{suffix}", prefix.as_str());
            }
        }
        REDACTED.to_string()
    })
}

/// The value of environment variable `name` as it may be shown: [`REDACTED`] when the name says
/// it is a secret, else the value with every secret shape replaced.
pub fn env_value(name: &str, value: &str) -> String {
    if is_secret_name(name) { REDACTED.to_string() } else { redact_value(value) }
}

/// `text` as configuration text is shown: cleaned of control and invisible characters first (so
/// a character hidden inside a token cannot split it), every secret shape replaced, then capped
/// at `max_chars` characters.
pub fn shown(text: &str, max_chars: usize) -> String {
    crate::render::clean_text(&redact_value(&crate::render::clean_text(text, usize::MAX)), max_chars)
}

/// An environment variable's value as shown: [`env_value`] of the cleaned value, capped.
pub fn shown_env(name: &str, value: &str, max_chars: usize) -> String {
    crate::render::clean_text(&env_value(name, &crate::render::clean_text(value, usize::MAX)), max_chars)
}

/// Whether `text` still holds something shaped like a secret (for tests and checks): a match of
/// any rule whose secret part is not already (a cut of) [`REDACTED`].
pub fn has_secret(text: &str) -> bool {
    let Some(re) = ALL.as_ref() else {
        return true;
    };
    re.captures_iter(text).any(|caps| {
        let Some(whole) = caps.get(0) else { return false };
        let mut start = whole.start();
        let mut end = whole.end();
        for i in 0..CONTEXT_RULES.len() {
            if let Some(prefix) = caps.name(&format!("p{i}")) {
                start = prefix.end();
                end = caps.name(&format!("s{i}")).map_or(end, |m| m.start());
                break;
            }
        }
        let secret = &text[start..end];
        let cut = secret.strip_suffix('…').unwrap_or(secret);
        !(secret.starts_with(REDACTED) || REDACTED.starts_with(cut))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_looking_variables_are_redacted_by_name() {
        for name in
            ["AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "db_password", "NPM_API_KEY", "BUILDKITE_AGENT_ACCESS_TOKEN"]
        {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["BUILDKITE_BRANCH", "PATH", "RAILS_ENV", "BUILDKITE_STEP_KEY", "PWD"] {
            assert!(!is_secret_name(name), "{name}");
        }
        assert_eq!(redact_value("postgres://app:s3cret@db:5432/x"), "postgres://[redacted]@db:5432/x");
        assert_eq!(
            redact_value(r#"{"repo":"https://ghp_abc123@github.com/a/b","mirror":"git://x/y"}"#),
            r#"{"repo":"https://[redacted]@github.com/a/b","mirror":"git://x/y"}"#
        );
        assert_eq!(redact_value("plain"), "plain");
        assert_eq!(redact_value("token ghp_0123456789abcdefghij here"), "token [redacted] here");
        for name in ["SSH_KEY", "DB_PASS", "SENTRY_DSN", "NPM_AUTH", "RAILS_SESSION_SECRET"] {
            assert!(is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn every_rule_compiles() {
        assert!(TOKENS.is_some());
        assert!(ALL.is_some());
    }

    #[test]
    fn secrets_are_found_by_shape_anywhere_in_a_value() {
        let cases = [
            (
                "JWT=x eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U y",
                "JWT=x [redacted] y",
            ),
            ("--token=glpat-AbCdEfGhIjKlMnOpQrSt", "--token=[redacted]"),
            ("deploy --password hunter2hunter2 --force", "deploy --password [redacted] --force"),
            ("curl -u admin:pa55word https://x", "curl -u admin:[redacted] https://x"),
            (
                "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
                "https://hooks.slack.com/services/[redacted]",
            ),
            (
                "see https://discord.com/api/webhooks/1234567890/abcDEF_ghi-jkl now",
                "see https://discord.com/api/webhooks/[redacted] now",
            ),
            (r#"{"auths":{"ghcr.io":{"auth":"dXNlcjpzM2NyZXQ="}}}"#, r#"{"auths":{"ghcr.io":{"auth":"[redacted]"}}}"#),
            ("machine github.com login ci password s3cr3tvalue", "machine github.com login ci password [redacted]"),
            ("db.internal:5432:app:app_user:pgs3cret", "db.internal:5432:app:app_user:[redacted]"),
            ("x=AKIAIOSFODNN7EXAMPLE", "x=[redacted]"),
            ("key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx", "key [redacted]"),
            ("Authorization: Bearer abc.def.ghi.jkl.mno", "Authorization: Bearer [redacted]"),
            ("api_key: \"live123456789\"", "api_key: \"[redacted]\""),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
                "-----BEGIN RSA PRIVATE KEY-----[redacted]-----END RSA PRIVATE KEY-----",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact_value(input), want, "{input}");
        }
        // Ordinary values stay as they are.
        for plain in [
            "main",
            "https://github.com/acme/web.git",
            "bundle exec rspec --format progress",
            "0123456789abcdef0123456789abcdef01234567",
            "--step-key build",
            "token count: 42 tokens",
            "$SECRET_TOKEN",
        ] {
            assert_eq!(redact_value(plain), plain);
        }
        assert_eq!(redact_tokens("pushing with ghp_0123456789abcdefghijABCDEFGHIJ012345"), "pushing with [redacted]");
        assert_eq!(env_value("CUSTOM", "xoxb-123456789012-abcdefghijkl"), "[redacted]");
    }

    #[test]
    fn redaction_is_linear_on_adversarial_input() {
        let bomb = format!("{}{}", "--password".repeat(20_000), "-".repeat(200_000));
        let started = std::time::Instant::now();
        let _ = redact_value(&bomb);
        let _ = redact_value(&"eyJ".repeat(100_000));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }
}
