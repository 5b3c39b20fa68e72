//! A careful textual edit of a YAML file's top-level mapping of entries (goose's `extensions:`):
//! one entry's lines are added at the end of the block, in the block's indentation, or taken out
//! again; every other line, comments included, stays byte for byte. Values are written in flow
//! style as JSON (valid YAML), so no YAML library is needed to write them.

use serde_json::Value;

/// A file whose block cannot be edited line by line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct YamlError(pub String);

/// Lines with their ends kept, so joining gives the text back.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// Where the top-level `section:` block is: (header line, first line after the block).
fn block(all: &[&str], section: &str) -> Result<Option<(usize, usize)>, YamlError> {
    let header = format!("{section}:");
    let Some(h) = all.iter().position(|l| l.starts_with(&header)) else { return Ok(None) };
    let rest = all[h][header.len()..].trim();
    if !(rest.is_empty() || rest.starts_with('#')) {
        return Err(YamlError(format!(
            "`{section}:` is written on one line (`{}`): turn it into a block mapping first",
            crate::stdio::short(rest, 40)
        )));
    }
    let end =
        all[h + 1..].iter().position(|l| !is_blank_or_comment(l) && indent_of(l) == 0).map_or(all.len(), |i| h + 1 + i);
    Ok(Some((h, end)))
}

/// The lines of entry `key` inside a block whose entries sit at `child` spaces: (start, end).
fn entry(all: &[&str], (h, end): (usize, usize), child: usize, key: &str) -> Option<(usize, usize)> {
    let head = format!("{key}:");
    let start = (h + 1..end).find(|&i| {
        indent_of(all[i]) == child && all[i].trim_start().starts_with(&head) && !is_blank_or_comment(all[i])
    })?;
    let mut last = start;
    for (i, line) in all.iter().enumerate().take(end).skip(start + 1) {
        if line.trim().is_empty() {
            continue;
        }
        if indent_of(line) > child {
            last = i;
        } else {
            break;
        }
    }
    Some((start, last + 1))
}

/// The entry's lines: `key:` at `child` spaces, then each field two spaces deeper.
fn render(key: &str, fields: &[(&str, Value)], child: usize) -> String {
    let pad = " ".repeat(child);
    let mut out = format!("{pad}{key}:\n");
    for (name, value) in fields {
        let value = match value {
            Value::String(s) if is_plain(s) => s.clone(),
            other => other.to_string(),
        };
        out.push_str(&format!("{pad}  {name}: {value}\n"));
    }
    out
}

/// Whether a string can be written without quotes (a simple word YAML reads as that string).
fn is_plain(s: &str) -> bool {
    !s.is_empty()
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n"
        )
        && s.parse::<f64>().is_err()
}

/// `text` with `section.key` set to `fields`: replaced when it is there, else added after the
/// block's last entry; a missing block is added at the end.
pub fn upsert(text: &str, section: &str, key: &str, fields: &[(&str, Value)]) -> Result<String, YamlError> {
    let all = lines(text);
    let Some((h, end)) = block(&all, section)? else {
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        out.push_str(&format!("{section}:\n"));
        out.push_str(&render(key, fields, 2));
        return Ok(out);
    };
    let child = all[h + 1..end].iter().find(|l| !is_blank_or_comment(l)).map_or(2, |l| indent_of(l));
    let new = render(key, fields, child);
    if let Some((s, e)) = entry(&all, (h, end), child, key) {
        return Ok(format!("{}{new}{}", all[..s].concat(), all[e..].concat()));
    }
    // After the last indented line of the block (a comment at column 0 belongs to what follows).
    let at = (h + 1..end).rev().find(|&i| !all[i].trim().is_empty() && indent_of(all[i]) > 0).map_or(h + 1, |i| i + 1);
    let mut before = all[..at].concat();
    if !before.ends_with('\n') {
        before.push('\n');
    }
    Ok(format!("{before}{new}{}", all[at..].concat()))
}

/// `text` without `section.key` (and without the section when that leaves it empty); `None`
/// when it is not there.
pub fn remove(text: &str, section: &str, key: &str) -> Result<Option<String>, YamlError> {
    let all = lines(text);
    let Some((h, end)) = block(&all, section)? else { return Ok(None) };
    let child = all[h + 1..end].iter().find(|l| !is_blank_or_comment(l)).map_or(2, |l| indent_of(l));
    let Some((s, e)) = entry(&all, (h, end), child, key) else { return Ok(None) };
    let others = (h + 1..end).any(|i| (i < s || i >= e) && !all[i].trim().is_empty());
    if !others && s == h + 1 {
        return Ok(Some(format!("{}{}", all[..h].concat(), all[e..].concat())));
    }
    Ok(Some(format!("{}{}", all[..s].concat(), all[e..].concat())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = "# goose settings\nGOOSE_MODE: auto\nextensions:\n  # the developer one\n  developer:\n    enabled: true\n    type: builtin\n\n# trailing\nGOOSE_MODEL: x\n";

    #[test]
    fn an_entry_is_added_to_the_block_and_taken_out_to_the_same_bytes() {
        let fields = [("cmd", json!("/usr/bin/bk")), ("args", json!(["stdio"])), ("enabled", json!(true))];
        let added = upsert(FILE, "extensions", "buildkite", &fields).unwrap();
        assert!(
            added.contains("    type: builtin\n  buildkite:\n    cmd: \"/usr/bin/bk\"\n    args: [\"stdio\"]\n"),
            "{added}"
        );
        assert_eq!(remove(&added, "extensions", "buildkite").unwrap().unwrap(), FILE);
        let again = upsert(&added, "extensions", "buildkite", &fields[..1]).unwrap();
        assert!(!again.contains("args: [\"stdio\"]"));
        let made = upsert("GOOSE_MODE: auto", "extensions", "buildkite", &fields).unwrap();
        assert!(made.starts_with("GOOSE_MODE: auto\nextensions:\n  buildkite:\n"), "{made}");
        assert_eq!(remove(&made, "extensions", "buildkite").unwrap().unwrap(), "GOOSE_MODE: auto\n");
        assert!(upsert("extensions: {}\n", "extensions", "b", &fields).is_err());
        assert!(remove(FILE, "extensions", "buildkite").unwrap().is_none());
    }

    use proptest::prelude::*;

    fn file(indent: usize, comments: bool, blank: bool, extensions: Option<usize>, after: bool) -> String {
        let pad = " ".repeat(indent);
        let mut out = String::from("# goose\nGOOSE_MODE: auto\n");
        if let Some(count) = extensions {
            out.push_str("extensions:\n");
            for n in 0..count {
                if comments {
                    out.push_str(&format!("{pad}# extension {n}\n"));
                }
                out.push_str(&format!("{pad}ext{n}:\n{pad}{pad}name: ext{n}\n{pad}{pad}args:\n{pad}{pad}- a\n"));
                if blank {
                    out.push('\n');
                }
            }
            if comments {
                out.push_str("# about what follows\n");
            }
        }
        if after {
            out.push_str("GOOSE_MODEL: x\n");
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, rng_seed: proptest::test_runner::RngSeed::Fixed(23), ..ProptestConfig::default() })]

        #[test]
        fn adding_then_removing_gives_back_the_same_lines(
            indent in prop_oneof![Just(2usize), Just(4usize)],
            comments: bool,
            blank: bool,
            extensions in proptest::option::of(1usize..4),
            after: bool,
        ) {
            let text = file(indent, comments, blank, extensions, after);
            let fields = [("cmd", json!("/bin/bk")), ("args", json!(["stdio"])), ("envs", json!({}))];
            let added = upsert(&text, "extensions", "buildkite", &fields).unwrap();
            let pad = " ".repeat(if extensions.is_some() { indent } else { 2 });
            let head = format!("\n{pad}buildkite:\n");
            prop_assert!(added.contains(&head), "{}", added);
            for line in text.lines() {
                prop_assert!(added.lines().any(|l| l == line), "lost {}", line);
            }
            let parsed: serde_yaml::Value = serde_yaml::from_str(&added).unwrap();
            prop_assert_eq!(parsed["extensions"]["buildkite"]["cmd"].as_str(), Some("/bin/bk"));
            prop_assert_eq!(parsed["extensions"]["buildkite"]["args"][0].as_str(), Some("stdio"));
            if let Some(count) = extensions {
                prop_assert_eq!(parsed["extensions"].as_mapping().map(|m| m.len()), Some(count + 1));
            }
            prop_assert_eq!(upsert(&added, "extensions", "buildkite", &fields).unwrap(), added.clone());
            prop_assert_eq!(remove(&added, "extensions", "buildkite").unwrap().unwrap(), text);
        }
    }
}
