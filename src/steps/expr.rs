//! A syntax check of a step's `if` (Buildkite's conditional expressions): `||`, `&&`, `!`,
//! parentheses, comparisons (`==`, `!=`, `=~`, `!~`, `<`, `<=`, `>`, `>=`, `includes`), strings,
//! numbers, `true`/`false`/`null`, regular expressions `/…/i`, arrays, and variables with
//! properties and calls (`build.env("X")`). It says whether the expression parses, not what it means.

/// Why an expression does not parse: the message and the 1-based column in the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprError {
    /// What is wrong.
    pub message: String,
    /// Where, counted in characters from 1.
    pub col: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str,
    Num,
    Regex,
    Op(&'static str),
    Open(char),
    Close(char),
    Comma,
    Dot,
}

fn lex(text: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let at = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        if let Some(op) = ["==", "!=", "=~", "!~", "&&", "||", "<=", ">="].into_iter().find(|o| *o == two) {
            out.push((Tok::Op(op), at));
            i += 2;
            continue;
        }
        match c {
            '!' => out.push((Tok::Op("!"), at)),
            '<' => out.push((Tok::Op("<"), at)),
            '>' => out.push((Tok::Op(">"), at)),
            '(' | '[' => out.push((Tok::Open(c), at)),
            ')' | ']' => out.push((Tok::Close(c), at)),
            ',' => out.push((Tok::Comma, at)),
            '.' => out.push((Tok::Dot, at)),
            '"' | '\'' | '/' => {
                let mut j = i + 1;
                while j < chars.len() && chars[j] != c {
                    if chars[j] == '\\' {
                        j += 1;
                    }
                    j += 1;
                }
                if j >= chars.len() {
                    let what = if c == '/' { "regular expression" } else { "string" };
                    return Err(ExprError { message: format!("unterminated {what}"), col: at });
                }
                i = j + 1;
                if c == '/' {
                    while i < chars.len() && chars[i].is_ascii_alphabetic() {
                        i += 1;
                    }
                    out.push((Tok::Regex, at));
                } else {
                    out.push((Tok::Str, at));
                }
                continue;
            }
            _ if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) => {
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                out.push((Tok::Num, at));
                continue;
            }
            _ if c.is_alphabetic() || c == '_' || c == '$' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push((if word == "includes" { Tok::Op("includes") } else { Tok::Ident(word) }, at));
                continue;
            }
            _ => return Err(ExprError { message: format!("unexpected `{c}`"), col: at }),
        }
        i += 1;
    }
    Ok(out)
}

struct P {
    toks: Vec<(Tok, usize)>,
    i: usize,
    end: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|(t, _)| t)
    }

    fn col(&self) -> usize {
        self.toks.get(self.i).map_or(self.end, |(_, c)| *c)
    }

    fn err<T>(&self, message: &str) -> Result<T, ExprError> {
        let found = match self.peek() {
            None => "the end".to_string(),
            Some(Tok::Ident(w)) => format!("`{w}`"),
            Some(Tok::Op(o)) => format!("`{o}`"),
            Some(Tok::Open(c) | Tok::Close(c)) => format!("`{c}`"),
            Some(Tok::Comma) => "`,`".into(),
            Some(Tok::Dot) => "`.`".into(),
            Some(_) => "a value".into(),
        };
        Err(ExprError { message: format!("{message}, found {found}"), col: self.col() })
    }

    fn or(&mut self) -> Result<(), ExprError> {
        self.and()?;
        while self.peek() == Some(&Tok::Op("||")) {
            self.i += 1;
            self.and()?;
        }
        Ok(())
    }

    fn and(&mut self) -> Result<(), ExprError> {
        self.unary()?;
        while self.peek() == Some(&Tok::Op("&&")) {
            self.i += 1;
            self.unary()?;
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<(), ExprError> {
        if self.peek() == Some(&Tok::Op("!")) {
            self.i += 1;
            return self.unary();
        }
        self.primary()?;
        if let Some(Tok::Op(op)) = self.peek()
            && ["==", "!=", "=~", "!~", "<", "<=", ">", ">=", "includes"].contains(op)
        {
            self.i += 1;
            self.primary()?;
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<(), ExprError> {
        match self.peek().cloned() {
            Some(Tok::Str | Tok::Num | Tok::Regex) => {
                self.i += 1;
                Ok(())
            }
            Some(Tok::Open('(')) => {
                self.i += 1;
                self.or()?;
                self.close(')')
            }
            Some(Tok::Open('[')) => {
                self.i += 1;
                self.list(']')
            }
            Some(Tok::Ident(_)) => {
                self.i += 1;
                loop {
                    match self.peek() {
                        Some(Tok::Dot) => {
                            self.i += 1;
                            match self.peek() {
                                Some(Tok::Ident(_)) => self.i += 1,
                                _ => return self.err("expected a name after `.`"),
                            }
                        }
                        Some(Tok::Open('(')) => {
                            self.i += 1;
                            self.list(')')?;
                        }
                        _ => return Ok(()),
                    }
                }
            }
            _ => self.err("expected a value"),
        }
    }

    fn list(&mut self, close: char) -> Result<(), ExprError> {
        if self.peek() == Some(&Tok::Close(close)) {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.or()?;
            match self.peek() {
                Some(Tok::Comma) => self.i += 1,
                _ => return self.close(close),
            }
        }
    }

    fn close(&mut self, c: char) -> Result<(), ExprError> {
        if self.peek() == Some(&Tok::Close(c)) {
            self.i += 1;
            Ok(())
        } else {
            self.err(&format!("expected `{c}`"))
        }
    }
}

/// Checks that `text` parses as a conditional expression.
pub fn check(text: &str) -> Result<(), ExprError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(ExprError { message: "the expression is empty".into(), col: 1 });
    }
    let end = text.chars().count() + 1;
    let mut p = P { toks, i: 0, end };
    p.or()?;
    if p.i < p.toks.len() {
        return p.err("expected `&&`, `||` or the end");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buildkite_style_conditions_parse() {
        for ok in [
            "build.branch == 'main'",
            "build.message != 'skip me'",
            "build.branch =~ /^release-/i && !build.pull_request.draft",
            "(build.source == \"schedule\" || build.tag != null) && build.env(\"DEPLOY\") == \"1\"",
            "build.pull_request.labels includes \"deploy\"",
            "pipeline.default_branch == build.branch || build.creator.teams includes 'ops'",
            "build.branch == 'a' || [1, 2] includes 2",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn broken_conditions_say_where() {
        assert_eq!(check("build.branch == 'main").unwrap_err().message, "unterminated string");
        let e = check("build.branch == ").unwrap_err();
        assert!(e.message.contains("expected a value"), "{e:?}");
        let e = check("(build.branch == 'x'").unwrap_err();
        assert!(e.message.contains("expected `)`"), "{e:?}");
        let e = check("build.branch = 'x'").unwrap_err();
        assert_eq!(e.col, 14, "{e:?}");
        assert!(check("build.branch == 'a' build.tag").is_err());
        assert!(check("").is_err());
    }
}
