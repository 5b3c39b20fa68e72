//! Redaction of secrets in environment and configuration text shown to the model: by variable
//! name (`*TOKEN*`, `*_KEY`, …), credentials in URLs, and well-known token formats.

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
    "CREDENTIAL",
    "COOKIE",
    "SESSION",
];
/// Name endings that mark a secret (`SSH_KEY`, `DB_PASS`, `SENTRY_DSN`, `NPM_AUTH`).
const SECRET_NAME_ENDS: &[&str] = &["_KEY", "_PASS", "_PWD", "_DSN", "_AUTH"];
/// Value prefixes of well-known tokens, redacted whatever the variable is called.
const TOKEN_PREFIXES: &[&str] =
    &["ghp_", "gho_", "ghs_", "github_pat_", "glpat-", "xoxb-", "xoxp-", "AKIA", "bkua_", "bkaj_", "npm_", "sk_live_"];

/// Whether a variable's value must be redacted.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // Buildkite's own `BUILDKITE_*_KEY` names (step and group keys) are identifiers, not secrets.
    SECRET_NAME_PARTS.iter().any(|p| upper.contains(p))
        || (!upper.starts_with("BUILDKITE_") && SECRET_NAME_ENDS.iter().any(|e| upper.ends_with(e)))
}

/// A value with every URL's credentials and every well-known token replaced.
pub fn redact_value(value: &str) -> String {
    let value = redact_url_password(value);
    let mut out = String::with_capacity(value.len());
    for (i, word) in value.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let bare = word.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
        if TOKEN_PREFIXES.iter().any(|p| bare.starts_with(p) && bare.len() > p.len() + 8) {
            out.push_str("[redacted]");
        } else {
            out.push_str(word);
        }
    }
    out
}

/// Every `scheme://userinfo@host` in `value` with the userinfo replaced (connection strings,
/// and clone URLs that carry a token as the user name).
pub fn redact_url_password(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let authority_end = after.find(['/', '?', '#', ' ', '"', '\'', ',']).unwrap_or(after.len());
        let authority = &after[..authority_end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("[redacted]");
                out.push_str(&authority[i..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_end..];
    }
    out.push_str(rest);
    out
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
        assert_eq!(redact_url_password("postgres://app:s3cret@db:5432/x"), "postgres://[redacted]@db:5432/x");
        assert_eq!(
            redact_url_password(r#"{"repo":"https://ghp_abc123@github.com/a/b","mirror":"git://x/y"}"#),
            r#"{"repo":"https://[redacted]@github.com/a/b","mirror":"git://x/y"}"#
        );
        assert_eq!(redact_url_password("plain"), "plain");
        assert_eq!(redact_value("token ghp_0123456789abcdef here"), "token [redacted] here");
        for name in ["SSH_KEY", "DB_PASS", "SENTRY_DSN", "NPM_AUTH", "RAILS_SESSION_SECRET"] {
            assert!(is_secret_name(name), "{name}");
        }
    }
}
