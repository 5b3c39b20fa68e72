//! A pipeline schedule's cron line, checked before it is sent and turned into its next run times:
//! five fields (minute, hour, day of month, month, day of week) with `*`, lists, ranges, steps
//! (`*/15`, `1-5/2`) and names (`jan`, `mon-fri`), or `@hourly`, `@daily`, `@midnight`, `@weekly`,
//! `@monthly`, `@yearly`, `@annually`; an optional time zone may follow (`0 9 * * 1-5
//! Australia/Melbourne`). As in cron, when both day fields are restricted a day matching either runs.

use jiff::civil::{Date, DateTime};

/// A parsed cron line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    days: Vec<bool>,
    months: Vec<bool>,
    weekdays: Vec<bool>,
    days_any: bool,
    weekdays_any: bool,
    /// The time zone named after the fields, if any.
    pub zone: Option<String>,
}

const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// Parses `line`; the error is one sentence saying what is wrong.
pub fn parse(line: &str) -> Result<Cron, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (fields, zone): (Vec<&str>, Option<&str>) = match words.first() {
        Some(w) if w.starts_with('@') => {
            let fields = match w.to_ascii_lowercase().as_str() {
                "@hourly" => "0 * * * *",
                "@daily" | "@midnight" => "0 0 * * *",
                "@weekly" => "0 0 * * 0",
                "@monthly" => "0 0 1 * *",
                "@yearly" | "@annually" => "0 0 1 1 *",
                other => {
                    return Err(format!(
                        "`{other}` is not a cron shorthand (use @hourly, @daily, @weekly, @monthly or @yearly)"
                    ));
                }
            };
            if words.len() > 2 {
                return Err(format!("`{line}` has words after the shorthand and its time zone"));
            }
            (fields.split(' ').collect(), words.get(1).copied())
        }
        _ => match words.len() {
            5 => (words.clone(), None),
            6 => (words[..5].to_vec(), Some(words[5])),
            n => return Err(format!("a cron line has 5 fields (minute hour day month weekday), this one has {n}")),
        },
    };
    if let Some(z) = zone
        && !(z.eq_ignore_ascii_case("utc") || z.contains('/') || z.starts_with("Etc"))
    {
        return Err(format!("`{z}` is not a time zone name (use one like UTC or Europe/Berlin)"));
    }
    let minutes = field(fields[0], "minute", 0, 59, &[])?;
    let hours = field(fields[1], "hour", 0, 23, &[])?;
    let days = field(fields[2], "day of month", 1, 31, &[])?;
    let months = field(fields[3], "month", 1, 12, &MONTHS)?;
    let mut weekdays = field(fields[4], "day of week", 0, 7, &DAYS)?;
    if weekdays[7] {
        weekdays[0] = true;
    }
    Ok(Cron {
        minutes,
        hours,
        days,
        months,
        weekdays,
        days_any: fields[2] == "*" || fields[2] == "?",
        weekdays_any: fields[4] == "*" || fields[4] == "?",
        zone: zone.map(str::to_string),
    })
}

fn value(text: &str, what: &str, min: u32, max: u32, names: &[&str]) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    let offset = if names.len() == 12 { 1 } else { 0 };
    if let Some(i) = names.iter().position(|n| *n == lower) {
        return Ok(i as u32 + offset);
    }
    match text.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(n) => Err(format!("{n} is out of range for the {what} ({min}-{max})")),
        Err(_) => Err(format!("`{text}` is not a valid {what}")),
    }
}

fn field(text: &str, what: &str, min: u32, max: u32, names: &[&str]) -> Result<Vec<bool>, String> {
    let mut set = vec![false; max as usize + 1];
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => match s.parse::<u32>() {
                Ok(n) if n > 0 => (r, n),
                _ => return Err(format!("`{s}` is not a valid step in the {what} field")),
            },
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (a, b) = (value(a, what, min, max, names)?, value(b, what, min, max, names)?);
            if a > b {
                return Err(format!("the {what} range {range} runs backwards"));
            }
            (a, b)
        } else {
            let a = value(range, what, min, max, names)?;
            (a, if part.contains('/') { max } else { a })
        };
        let mut v = lo;
        while v <= hi {
            set[v as usize] = true;
            v += step;
        }
    }
    Ok(set)
}

impl Cron {
    fn day_matches(&self, d: Date) -> bool {
        if !self.months[d.month() as usize] {
            return false;
        }
        let dom = self.days[d.day() as usize];
        let dow = self.weekdays[d.weekday().to_sunday_zero_offset() as usize];
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        }
    }

    /// The next `n` run times strictly after `after` (wall-clock times in the line's zone), looking
    /// up to 5 years ahead.
    pub fn next(&self, after: DateTime, n: usize) -> Vec<DateTime> {
        let mut out = Vec::with_capacity(n);
        let mut day = after.date();
        for _ in 0..(366 * 5) {
            if self.day_matches(day) {
                for h in (0..24).filter(|h| self.hours[*h as usize]) {
                    for m in (0..60).filter(|m| self.minutes[*m as usize]) {
                        let t = day.at(h, m, 0, 0);
                        if t > after {
                            out.push(t);
                            if out.len() == n {
                                return out;
                            }
                        }
                    }
                }
            }
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn at(y: i16, mo: i8, d: i8, h: i8, mi: i8) -> DateTime {
        date(y, mo, d).at(h, mi, 0, 0)
    }

    #[test]
    fn next_runs_follow_the_fields() {
        let c = parse("*/15 9-17 * * mon-fri").unwrap();
        // Friday 2026-12-04 17:50 → the next weekday morning is Monday the 7th.
        assert_eq!(c.next(at(2026, 12, 4, 17, 50), 2), vec![at(2026, 12, 7, 9, 0), at(2026, 12, 7, 9, 15)]);
        let c = parse("@monthly").unwrap();
        assert_eq!(c.next(at(2026, 12, 4, 0, 0), 1), vec![at(2027, 1, 1, 0, 0)]);
        let c = parse("0 0 29 feb *").unwrap();
        assert_eq!(c.next(at(2026, 12, 4, 0, 0), 1), vec![at(2028, 2, 29, 0, 0)]);
        // Both day fields restricted: either matches (the 1st, or any Sunday).
        let c = parse("0 12 1 * 0").unwrap();
        assert_eq!(c.next(at(2026, 12, 4, 0, 0), 2), vec![at(2026, 12, 6, 12, 0), at(2026, 12, 13, 12, 0)]);
        let c = parse("30 2 * * * Europe/Berlin").unwrap();
        assert_eq!(c.zone.as_deref(), Some("Europe/Berlin"));
    }

    #[test]
    fn invalid_lines_are_one_sentence() {
        for (line, said) in [
            ("* * * *", "has 4"),
            ("61 * * * *", "61 is out of range for the minute (0-59)"),
            ("0 0 * * funday", "`funday` is not a valid day of week"),
            ("*/0 * * * *", "not a valid step"),
            ("0 5-3 * * *", "runs backwards"),
            ("@sometimes", "not a cron shorthand"),
            ("0 0 * * * Mars", "not a time zone name"),
        ] {
            let e = parse(line).unwrap_err();
            assert!(e.contains(said), "{line}: {e}");
            assert!(!e.contains('\n') && !e.ends_with('.'), "{e}");
        }
    }
}
