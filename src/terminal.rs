//! A person at a terminal: when stdin is a terminal the server says in one stderr line what it is
//! and what to try, and `call` turns `key=value` words into a tool's arguments.

use serde_json::{Map, Value};

/// The line a person sees when they start the server by hand.
pub const HINT: &str = "buildkite-mcp-server speaks MCP on stdin/stdout and waits for an editor or assistant (Ctrl-D quits). \
To try it here: `buildkite-mcp-server call get_build build=acme/web/1342 --demo`; check a token with `doctor`; \
add it to a client with `install --client cursor` (or claude-code, vscode, zed, codex, …); `--help` lists the rest.";

/// Whether standard input is a terminal.
pub fn stdin_is_terminal() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdin().is_terminal()
}

/// `key=value` words as tool arguments: each value is read as JSON where it parses (numbers,
/// booleans, lists, objects, quoted strings), else taken as text.
pub fn arguments(words: &[String]) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!("`{}` is not KEY=VALUE (e.g. build=acme/web/1342)", crate::stdio::short(word, 60)));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("`{}` has no key before `=`", crate::stdio::short(word, 60)));
        }
        let value = serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::String(value.to_string()));
        out.insert(key.to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_are_json_where_they_parse_else_text() {
        let words: Vec<String> =
            ["build=acme/web/1342", "first=5", "failed=true", "states=[\"failed\"]", "q=a=b", "n=\"7\""]
                .iter()
                .map(|s| s.to_string())
                .collect();
        let args = arguments(&words).unwrap();
        assert_eq!(
            Value::Object(args),
            json!({"build": "acme/web/1342", "first": 5, "failed": true, "states": ["failed"], "q": "a=b", "n": "7"})
        );
        assert!(arguments(&["oops".to_string()]).unwrap_err().contains("KEY=VALUE"));
        assert!(arguments(&["=x".to_string()]).is_err());
    }
}
