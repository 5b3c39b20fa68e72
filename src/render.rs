//! The output contract every tool obeys: compact JSON with nulls and empties dropped, human-scale
//! values (seconds, lower-case states, ISO timestamps to the second), cleaned user text, totals and
//! a ready continuation on lists, and a token budget that cuts the largest list first and says so.

use serde::Serialize;
use serde_json::{Map, Value};

/// Estimated tokens of a JSON text. Deliberately pessimistic (about 3 bytes per token; o200k
/// averages nearer 3.5 on this output), so a budget is rarely overshot.
pub fn estimate_tokens(text: &str) -> usize {
    text.len().div_ceil(3)
}

/// Removes ANSI escapes, control and invisible characters (keeping `\n` and `\t`) and caps the
/// length at `max_chars` characters, marking a cut with `…`.
pub fn clean_text(input: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(input.len().min(max_chars.saturating_mul(4)));
    let mut chars = input.chars().peekable();
    let mut count = 0;
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ params final-byte; OSC / APC: ESC ] or ESC _ … BEL or ESC \ ; others: 1 char.
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                }
                Some(']' | '_' | 'P' | '^') => {
                    chars.next();
                    while let Some(n) = chars.next() {
                        if n == '\u{7}' {
                            break;
                        }
                        if n == '\u{1b}' && chars.peek() == Some(&'\\') {
                            chars.next();
                            break;
                        }
                    }
                }
                Some(_) => {
                    chars.next();
                }
                None => {}
            }
            continue;
        }
        if c == '\r' {
            continue;
        }
        if c.is_ascii() {
            if c.is_ascii_control() && c != '\n' && c != '\t' {
                continue;
            }
        } else if c.is_control() || is_invisible(c) {
            continue;
        }
        let c = if matches!(c, '\u{2028}' | '\u{2029}') { '\n' } else { c };
        if count >= max_chars {
            out.push('…');
            return drop_loose_joiners(out);
        }
        out.push(c);
        count += 1;
    }
    drop_loose_joiners(out)
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200c}' | '\u{200d}' | '\u{fe0e}' | '\u{fe0f}')
}

/// Drops the joiners and emoji variation selectors of `text` that join nothing ([`joins`]),
/// judged by their neighbours once everything else invisible is gone, so cleaning twice gives
/// what cleaning once gives.
fn drop_loose_joiners(text: String) -> String {
    if !text.contains(is_joiner) {
        return text;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut before: Option<char> = None;
    for (i, &c) in chars.iter().enumerate() {
        if !is_joiner(c) {
            out.push(c);
            before = Some(c);
            continue;
        }
        let after = chars[i + 1..].iter().copied().find(|n| !is_joiner(*n));
        if joins(c, before, after) {
            out.push(c);
        }
    }
    out
}

/// Whether `c` is an invisible format character (Unicode category Cf: soft hyphen, bidi controls
/// and isolates, zero-width space, word joiner, invisible operators, the tag block, …), a filler
/// that renders as nothing, or a variation selector other than the emoji ones (U+FE0E, U+FE0F,
/// judged by [`joins`]). U+200C and U+200D are Cf too but are judged by [`joins`].
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{034f}' | '\u{0600}'..='\u{0605}' | '\u{061c}' | '\u{06dd}' | '\u{070f}'
        | '\u{0890}'..='\u{0891}' | '\u{08e2}' | '\u{115f}'..='\u{1160}' | '\u{17b4}'..='\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}' | '\u{200e}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0d}' | '\u{feff}' | '\u{ffa0}'
        | '\u{fff9}'..='\u{fffb}' | '\u{110bd}' | '\u{110cd}' | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}' | '\u{e0000}'..='\u{e0fff}')
}

/// Whether a joiner (U+200C, U+200D) or an emoji variation selector (U+FE0E, U+FE0F) between
/// `before` and `after` does something visible: a joiner between two non-ASCII letters or
/// emoji (Persian, Indic scripts, emoji sequences), a variation selector after a symbol.
fn joins(c: char, before: Option<char>, after: Option<char>) -> bool {
    let shaped = |x: Option<char>| x.is_some_and(|x| !x.is_ascii() && !x.is_whitespace() && !x.is_control());
    match c {
        '\u{fe0e}' | '\u{fe0f}' => shaped(before) && before.is_some_and(|b| !b.is_alphanumeric()),
        _ => shaped(before) && shaped(after),
    }
}

/// The first non-empty line of a text, cleaned and capped.
pub fn first_line(input: &str, max_chars: usize) -> String {
    let cleaned = clean_text(input, max_chars.saturating_mul(4).max(max_chars));
    let line = cleaned.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let more = cleaned.lines().filter(|l| !l.trim().is_empty()).count() > 1;
    let mut line = clean_text(line, max_chars);
    if more && !line.ends_with('…') {
        line.push('…');
    }
    line
}

/// A generated enum (or any serialisable value) as its lower-case name: `FAILED` → `failed`.
pub fn state<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s.to_ascii_lowercase(),
        _ => "unknown".to_string(),
    }
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp (`2026-11-20T10:15:30Z`, fractions and
/// `±hh:mm` offsets allowed), as the API writes them.
pub fn epoch_seconds(ts: &str) -> Option<i64> {
    ts.trim().parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// A timestamp trimmed to the second in UTC form: `2026-11-20T10:15:30.123Z` → `2026-11-20T10:15:30Z`.
pub fn timestamp(ts: &str) -> String {
    match (ts.get(..19), ts.ends_with('Z') || ts.ends_with('z')) {
        (Some(head), true) => format!("{head}Z"),
        _ => ts.to_string(),
    }
}

/// Whole seconds from `from` to `to`, when both parse and the order is sane.
pub fn seconds_between(from: Option<&str>, to: Option<&str>) -> Option<i64> {
    let d = epoch_seconds(to?)? - epoch_seconds(from?)?;
    (d >= 0).then_some(d)
}

/// Drops `null`, empty strings, arrays and objects, recursively.
pub fn compact(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (k, v) in map {
                let v = compact(v);
                if !is_empty(&v) {
                    out.insert(k, v);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(compact).filter(|v| !is_empty(v)).collect()),
        other => other,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// One page of a list: its rows, each row's cursor (to continue exactly after a cut), the total
/// the API reports, and the cursor for the next page.
#[derive(Debug, Default)]
pub struct Page {
    /// The rows, already reshaped.
    pub rows: Vec<Value>,
    /// The API cursor of each row, parallel to `rows`.
    pub cursors: Vec<Option<String>>,
    /// How many exist in all.
    pub total: Option<i64>,
    /// Cursor after the last row, when there is a next page.
    pub next_after: Option<String>,
}

impl Page {
    /// An empty page of a list with `total` items, continuing at `next_after` when there is more.
    pub fn new(total: i64, next_after: Option<String>) -> Self {
        Page { total: Some(total), next_after, ..Page::default() }
    }
}

/// Renders `head` plus a list under `key`, with `total` and `next`, cut to `budget` tokens. When
/// rows are cut, `next.after` points just after the last row shown, so nothing is skipped.
pub fn render_page(mut head: Map<String, Value>, key: &str, page: Page, budget: usize) -> String {
    let Page { mut rows, cursors, total, next_after } = page;
    crate::untrusted::mark_object(&mut head);
    for row in rows.iter_mut() {
        crate::untrusted::mark(row);
    }
    let full = rows.len();
    let build = |rows: &[Value], next: Option<&String>, cut: bool| {
        let mut obj = head.clone();
        if let Some(t) = total {
            obj.insert("total".into(), Value::from(t));
        }
        obj.insert(key.into(), Value::Array(rows.to_vec()));
        if let Some(after) = next {
            obj.insert("next".into(), serde_json::json!({ "after": after }));
        }
        if cut {
            obj.insert(
                "cut".into(),
                Value::String(format!(
                    "{} of {full} {key} shown to fit the token budget; continue with next.after or raise max_tokens",
                    rows.len()
                )),
            );
        }
        to_json(&compact(Value::Object(obj)))
    };
    let whole = build(&rows, next_after.as_ref(), false);
    if estimate_tokens(&whole) <= budget || rows.len() <= 1 {
        return whole;
    }
    // Largest prefix that fits, by binary search; always keep at least one row.
    let (mut lo, mut hi) = (1usize, rows.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let next = cursors.get(mid - 1).cloned().flatten();
        if estimate_tokens(&build(&rows[..mid], next.as_ref(), true)) <= budget {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    rows.truncate(lo);
    let next = cursors.get(lo - 1).cloned().flatten().or(next_after);
    build(&rows, next.as_ref(), true)
}

/// Renders an object within `budget` tokens: while over, the bulkiest list (rows dropped from
/// its end) or long text (cut with `…`) anywhere in it is shortened, and each cut is noted under
/// `cut` as `path: shown of total`.
pub fn render_object(value: Value, budget: usize) -> String {
    let mut value = compact(value);
    crate::untrusted::mark(&mut value);
    // (path, shown, total, unit)
    let mut cuts: Vec<(String, usize, usize, &str)> = Vec::new();
    // Room for the `cut` note itself, once anything is cut.
    let target = if estimate_tokens(&to_json(&value)) > budget { budget.saturating_sub(60).max(1) } else { budget };
    for _ in 0..64 {
        let text = to_json(&value);
        if estimate_tokens(&text) <= target {
            break;
        }
        let over_bytes = (estimate_tokens(&text) - target) * 3;
        let Some(bulk) = bulkiest(&value) else {
            break;
        };
        let (path, shown, total, unit) = match bulk {
            Bulk::List { path, len, size } => {
                let Some(array) = value.pointer_mut(&path).and_then(Value::as_array_mut) else {
                    break;
                };
                let per_row = (size / len.max(1)).max(1);
                let drop = over_bytes.div_ceil(per_row).clamp(1, len - 1);
                array.truncate(len - drop);
                (path, array.len(), len, "")
            }
            Bulk::Text { path, chars } => {
                let Some(slot) = value.pointer_mut(&path) else {
                    break;
                };
                let keep = chars.saturating_sub(over_bytes + 8).max(MIN_TEXT_CHARS);
                let cut = slot.as_str().map(|t| format!("{}…", t.chars().take(keep).collect::<String>()));
                let Some(cut) = cut else {
                    break;
                };
                *slot = Value::String(cut);
                (path, keep, chars, " characters")
            }
        };
        let name = path.trim_start_matches('/').replace('/', ".");
        match cuts.iter_mut().find(|c| c.0 == name) {
            Some(c) => c.1 = shown,
            None => cuts.push((name, shown, total, unit)),
        }
    }
    if !cuts.is_empty()
        && let Value::Object(map) = &mut value
    {
        let note: Vec<String> = cuts.iter().map(|(p, s, t, u)| format!("{p}: {s} of {t}{u} shown")).collect();
        map.insert("cut".into(), Value::String(format!("{}; raise max_tokens for more", note.join(", "))));
    }
    to_json(&value)
}

/// Text is never cut below this many characters.
const MIN_TEXT_CHARS: usize = 200;

/// The bulkiest thing that can still be shortened.
enum Bulk {
    /// An array of more than one element.
    List { path: String, len: usize, size: usize },
    /// A string longer than [`MIN_TEXT_CHARS`].
    Text { path: String, chars: usize },
}

/// Finds the list or text with the largest serialised size (JSON pointer paths).
fn bulkiest(value: &Value) -> Option<Bulk> {
    fn walk(value: &Value, path: &str, best: &mut Option<(usize, Bulk)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    // JSON pointer escaping: `~` is `~0`, `/` is `~1` (keys such as env names may hold them).
                    let k = k.replace('~', "~0").replace('/', "~1");
                    walk(v, &format!("{path}/{k}"), best);
                }
            }
            Value::Array(items) => {
                if items.len() > 1 {
                    let size = to_json(value).len();
                    if best.as_ref().is_none_or(|b| size > b.0) {
                        *best = Some((size, Bulk::List { path: path.to_string(), len: items.len(), size }));
                    }
                }
                for (i, v) in items.iter().enumerate() {
                    walk(v, &format!("{path}/{i}"), best);
                }
            }
            Value::String(text) => {
                let chars = text.chars().count();
                if chars > MIN_TEXT_CHARS + 8 && best.as_ref().is_none_or(|b| text.len() > b.0) {
                    *best = Some((text.len(), Bulk::Text { path: path.to_string(), chars }));
                }
            }
            _ => {}
        }
    }
    let mut best = None;
    walk(value, "", &mut best);
    best.map(|(_, b)| b)
}

/// Compact JSON text.
/// Says each of `keys` once when most rows share a value: the value goes into
/// `head["unless_shown"][key]` and leaves the rows that have it, so only the exceptions repeat it.
pub fn hoist_usual(head: &mut Map<String, Value>, rows: &mut [Value], keys: &[&str]) {
    if rows.len() < 3 {
        return;
    }
    for key in keys {
        let mut counts: Vec<(Value, usize)> = Vec::new();
        for row in rows.iter() {
            // `compact` drops empty values too: they count as missing.
            let v = row.get(*key).cloned().filter(|v| !is_empty(v)).unwrap_or(Value::Null);
            match counts.iter_mut().find(|(x, _)| *x == v) {
                Some((_, n)) => *n += 1,
                None => counts.push((v, 1)),
            }
        }
        // A row without the key would read as the usual value: then say it on every row.
        if counts.iter().any(|(v, _)| v.is_null()) {
            continue;
        }
        let Some((usual, n)) = counts.into_iter().max_by_key(|(_, n)| *n) else { continue };
        if n * 2 <= rows.len() {
            continue;
        }
        for row in rows.iter_mut() {
            if let Value::Object(map) = row
                && map.get(*key) == Some(&usual)
            {
                map.remove(*key);
            }
        }
        let slot = head.entry("unless_shown").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = slot {
            map.insert((*key).to_string(), usual);
        }
    }
}

/// How many of `rows` (from the start) fit in `budget` tokens less `reserve` for the rest of the
/// answer; at least one when there is any.
pub fn rows_that_fit(rows: &[Value], budget: usize, reserve: usize) -> usize {
    count_that_fit(rows, budget, reserve, |r| estimate_tokens(&r.to_string()))
}

/// The one budget fitter: how many of `items`, taken in order (pass `.iter().rev()` to keep the
/// last ones), fit in `budget` tokens less `reserve` for the rest of the answer, when each costs
/// `cost(item)` tokens ([`estimate_tokens`] of what it renders as); at least one when there is any.
pub fn count_that_fit<I: IntoIterator>(
    items: I,
    budget: usize,
    reserve: usize,
    mut cost: impl FnMut(I::Item) -> usize,
) -> usize {
    let room = budget.saturating_sub(reserve);
    let mut used = 0;
    let mut kept = 0;
    for item in items {
        used += cost(item);
        if used > room && kept > 0 {
            break;
        }
        kept += 1;
    }
    kept
}

/// The text of a finished answer: [`compact`], user text that addresses the assistant marked
/// ([`crate::untrusted::mark`]), compact JSON.
pub fn finish(value: Value) -> String {
    let mut value = compact(value);
    crate::untrusted::mark(&mut value);
    to_json(&value)
}

/// Compact JSON text of `value`.
pub fn to_json(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_values_are_said_once_and_exceptions_stay() {
        use serde_json::json;
        let mut head = Map::new();
        let mut rows = vec![
            json!({"n": 1, "v": "3.1"}),
            json!({"n": 2, "v": "3.1"}),
            json!({"n": 3, "v": "2.9"}),
            json!({"n": 4, "v": "3.1", "w": 1}),
        ];
        hoist_usual(&mut head, &mut rows, &["v", "n", "w"]);
        assert_eq!(head["unless_shown"], json!({"v": "3.1"}), "n has no majority value; w is missing from rows");
        assert_eq!(rows[0], json!({"n": 1}));
        assert_eq!(rows[2], json!({"n": 3, "v": "2.9"}));
    }
    use serde_json::json;

    #[test]
    fn clean_text_strips_ansi_controls_and_invisibles_and_caps() {
        let raw = "\u{1b}[31mred\u{1b}[0m \u{1b}_bk;t=123\u{7}ok\u{200b}\u{7}\r\nnext\u{202e}";
        assert_eq!(clean_text(raw, 100), "red ok\nnext");
        assert_eq!(clean_text("abcdef", 3), "abc…");
    }

    #[test]
    fn clean_text_drops_every_invisible_class_and_keeps_real_joiners() {
        let hidden = "a\u{00ad}b\u{200b}c\u{2060}d\u{202a}e\u{202e}f\u{2066}g\u{2069}h\u{e0041}\u{e007f}i\u{feff}j\u{180e}k\u{fe00}l\u{061c}m\u{2064}n\u{200d}o\u{200c}p";
        assert_eq!(clean_text(hidden, 100), "abcdefghijklmnop");
        // Emoji sequences and Persian keep their joiners; a heart keeps its emoji presentation.
        let family = "\u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467}";
        assert_eq!(clean_text(family, 100), family);
        let persian = "\u{645}\u{6cc}\u{200c}\u{62e}\u{648}\u{627}\u{647}\u{645}";
        assert_eq!(clean_text(persian, 100), persian);
        assert_eq!(clean_text("\u{2764}\u{fe0f} ok", 100), "\u{2764}\u{fe0f} ok");
        assert_eq!(clean_text("line\u{2028}next", 100), "line\nnext");
    }

    #[test]
    fn first_line_marks_more_lines() {
        assert_eq!(first_line("\n  Fix the thing\n\nLonger body", 50), "Fix the thing…");
        assert_eq!(first_line("one", 50), "one");
    }

    #[test]
    fn timestamps_parse_and_durations_are_seconds() {
        assert_eq!(epoch_seconds("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(epoch_seconds("2026-11-20T10:15:30Z"), Some(1_795_169_730));
        assert_eq!(epoch_seconds("2026-11-20T12:15:30.250+02:00"), Some(1_795_169_730));
        assert_eq!(seconds_between(Some("2026-11-20T10:15:30Z"), Some("2026-11-20T10:29:31Z")), Some(841));
        assert_eq!(seconds_between(Some("2026-11-20T10:15:30Z"), None), None);
        assert_eq!(epoch_seconds("yesterday"), None);
        assert_eq!(epoch_seconds("2026-13-40T10:15:30Z"), None);
        assert_eq!(timestamp("2026-11-20T10:15:30.123Z"), "2026-11-20T10:15:30Z");
    }

    #[test]
    fn compact_drops_nulls_and_empties_but_keeps_false_and_zero() {
        let v = compact(json!({"a": null, "b": "", "c": [], "d": {}, "e": false, "f": 0, "g": [null, {"h": null}, 1]}));
        assert_eq!(v, json!({"e": false, "f": 0, "g": [1]}));
    }

    #[test]
    fn render_page_cuts_rows_and_continues_after_the_last_shown() {
        let rows: Vec<Value> = (0..50).map(|i| json!({"n": i, "text": "x".repeat(60)})).collect();
        let cursors = (0..50).map(|i| Some(format!("c{i}"))).collect();
        let page = Page { rows, cursors, total: Some(500), next_after: Some("c49".into()) };
        let out = render_page(Map::new(), "builds", page, 400);
        let v: Value = serde_json::from_str(&out).unwrap();
        let shown = v["builds"].as_array().unwrap().len();
        assert!((1..50).contains(&shown), "{shown}");
        assert_eq!(v["next"]["after"], json!(format!("c{}", shown - 1)));
        assert_eq!(v["total"], json!(500));
        assert!(v["cut"].as_str().unwrap().contains("of 50 builds"));
        assert!(estimate_tokens(&out) <= 400);
    }

    #[test]
    fn count_that_fit_keeps_at_least_one_and_stops_at_the_budget() {
        let costs = [40, 40, 40, 40];
        assert_eq!(count_that_fit(&costs, 130, 0, |c| *c), 3);
        assert_eq!(count_that_fit(&costs, 130, 100, |c| *c), 1, "at least one");
        assert_eq!(count_that_fit(costs.iter().rev(), 90, 0, |c| *c), 2);
        assert_eq!(count_that_fit(&[] as &[usize], 100, 0, |c| *c), 0);
        let rows = [Value::from("x".repeat(30)), Value::from("y".repeat(30))];
        assert_eq!(rows_that_fit(&rows, 15, 0), 1);
    }

    #[test]
    fn render_object_cuts_the_largest_list_and_says_so() {
        let v = json!({"build": "acme/web/1", "failed": (0..200).map(|i| json!({"label": format!("job {i}"), "exit": 1})).collect::<Vec<_>>(), "small": [1, 2]});
        let out = render_object(v, 300);
        assert!(estimate_tokens(&out) <= 300, "{}", out.len());
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["small"], json!([1, 2]));
        assert!(parsed["cut"].as_str().unwrap().starts_with("failed: "), "{out}");
    }

    #[test]
    fn render_object_cuts_long_text_when_it_is_the_bulk() {
        let v =
            json!({"pipeline": "acme/web", "builds": [{"n": 1}, {"n": 2}], "steps": "- command: make\n".repeat(2000)});
        let out = render_object(v, 500);
        assert!(estimate_tokens(&out) <= 500, "{}", out.len());
        let parsed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(parsed["builds"].as_array().unwrap().len(), 2, "the small list is kept");
        assert!(parsed["steps"].as_str().unwrap().ends_with('…'));
        assert!(parsed["cut"].as_str().unwrap().contains("steps: "), "{out}");
        assert!(parsed["cut"].as_str().unwrap().contains("characters shown"), "{out}");
    }
}
