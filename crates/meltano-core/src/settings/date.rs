//! `date_iso8601` values as a plugin receives them.
//!
//! Meltano hands plugins an ISO 8601 string whatever the user wrote: an ISO date or timestamp is
//! passed through, and anything else goes through `dateparser` relative to now (`Jan 5 2024` →
//! `2024-01-05T00:00:00`, `2 days ago` → a timestamp). We read the forms people write in
//! practice: ISO-like dates with `/` or `.`, month names in either order, and relative phrases.
//! Anything else is passed on unchanged, as Meltano does with text `dateparser` cannot read.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value;

use super::{Kind, SettingSpec};

/// A resolved value as the plugin receives it: `date_iso8601` strings normalised, the rest as is.
pub fn processed(spec: &SettingSpec, value: Value, now: NaiveDateTime) -> Value {
    match value {
        Value::String(text) if spec.kind == Some(Kind::DateIso8601) => {
            Value::String(normalize_date(&text, now))
        }
        other => other,
    }
}

/// The value a `date_iso8601` setting reaches the plugin as. `now` is the current UTC time.
pub fn normalize_date(text: &str, now: NaiveDateTime) -> String {
    if is_iso8601(text) {
        return text.to_string();
    }
    match parse(text.trim(), now) {
        Some(parsed) => isoformat(parsed),
        None => text.to_string(),
    }
}

/// Meltano's test for "already ISO 8601": `YYYY-MM-DD`, optionally with ` ` or `T`,
/// `HH:MM:SS`, fractional seconds, and `Z` or a `±HH:MM` offset in half hours up to 12.
fn is_iso8601(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range.clone())
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let two = |at: usize| -> Option<u32> {
        digits(at..at + 2).then(|| u32::from(b[at] - b'0') * 10 + u32::from(b[at + 1] - b'0'))
    };
    if !(digits(0..4) && b.get(4) == Some(&b'-') && b.get(7) == Some(&b'-')) {
        return false;
    }
    if !two(5).is_some_and(|m| (1..=12).contains(&m))
        || !two(8).is_some_and(|d| (1..=31).contains(&d))
    {
        return false;
    }
    let mut i = 10;
    if matches!(b.get(i), Some(b' ' | b'T')) {
        let time_ok = two(i + 1).is_some_and(|h| h < 24)
            && b.get(i + 3) == Some(&b':')
            && two(i + 4).is_some_and(|m| m < 60)
            && b.get(i + 6) == Some(&b':')
            && two(i + 7).is_some_and(|s| s < 60);
        if !time_ok {
            return false;
        }
        i += 9;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return false;
            }
        }
    }
    match &b[i..] {
        [] | [b'Z'] => true,
        [b'+' | b'-', _, _, b':', _, _] => {
            two(i + 1).is_some_and(|h| h <= 12)
                && matches!(&b[i + 4..i + 6], [b'0', b'0'] | [b'3', b'0'])
        }
        _ => false,
    }
}

/// Python's `datetime.isoformat()` of a naive timestamp.
fn isoformat(t: NaiveDateTime) -> String {
    let micros = t.nanosecond() / 1000;
    if micros == 0 {
        t.format("%Y-%m-%dT%H:%M:%S").to_string()
    } else {
        format!("{}.{micros:06}", t.format("%Y-%m-%dT%H:%M:%S"))
    }
}

fn parse(text: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let lower = text.to_lowercase();
    relative(&lower, now).or_else(|| absolute(&lower, now))
}

/// `now`, `today`, `yesterday`, `tomorrow`, `N units ago`, `in N units`, `last unit`.
fn relative(text: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    match text {
        "now" | "today" => return Some(now),
        "yesterday" => return Some(now - Duration::days(1)),
        "tomorrow" => return Some(now + Duration::days(1)),
        _ => {}
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let (count, unit, sign) = match words.as_slice() {
        [n, unit, "ago"] => (count(n)?, *unit, -1),
        ["in", n, unit] => (count(n)?, *unit, 1),
        ["last", unit] => (1, *unit, -1),
        ["next", unit] => (1, *unit, 1),
        _ => return None,
    };
    shift(now, count * sign, unit)
}

fn count(word: &str) -> Option<i64> {
    match word {
        "a" | "an" | "one" => Some(1),
        _ => word.parse().ok(),
    }
}

fn shift(now: NaiveDateTime, n: i64, unit: &str) -> Option<NaiveDateTime> {
    let unit = unit.trim_end_matches('s');
    let months = |m: i64| {
        let magnitude = Months::new(u32::try_from(m.unsigned_abs()).ok()?);
        if m < 0 {
            now.checked_sub_months(magnitude)
        } else {
            now.checked_add_months(magnitude)
        }
    };
    match unit {
        "second" | "sec" => now.checked_add_signed(Duration::seconds(n)),
        "minute" | "min" => now.checked_add_signed(Duration::minutes(n)),
        "hour" | "hr" => now.checked_add_signed(Duration::hours(n)),
        "day" => now.checked_add_signed(Duration::days(n)),
        "week" => now.checked_add_signed(Duration::weeks(n)),
        "month" => months(n),
        "year" => months(n.checked_mul(12)?),
        _ => None,
    }
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month(word: &str) -> Option<u32> {
    let word = word.trim_end_matches('.');
    if word.len() < 3 {
        return None;
    }
    let index = MONTHS.iter().position(|m| word.starts_with(m))?;
    let full = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ][index];
    (full.starts_with(word) || word == "sept").then_some(index as u32 + 1)
}

/// Dates with numbers (`2024/01/05`, `01/02/2024` month first, `15.03.2024`) or a month name in
/// either order (`Jan 5 2024`, `5 January 2024`, `March 2024`), with an optional `HH:MM[:SS]`.
fn absolute(text: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
    let cleaned = text.replace(',', " ");
    let mut words: Vec<&str> = cleaned.split_whitespace().collect();
    let time = match words.last().and_then(|w| time_of_day(w)) {
        Some(t) => {
            words.pop();
            t
        }
        None => NaiveTime::MIN,
    };
    let date = match words.as_slice() {
        [one] => numeric_date(one)?,
        [a, b, c] => named_date(a, b, c)?,
        [a, b] => {
            let (m, y) = match (month(a), month(b)) {
                (Some(m), None) => (m, year(b)?),
                (None, Some(m)) => (m, year(a)?),
                _ => return None,
            };
            // Without a day, dateparser keeps today's day of the month.
            NaiveDate::from_ymd_opt(y, m, now.day())
                .or_else(|| NaiveDate::from_ymd_opt(y, m + 1, 1)?.pred_opt())?
        }
        _ => return None,
    };
    Some(date.and_time(time))
}

fn time_of_day(word: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(word, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(word, "%H:%M"))
        .ok()
}

fn year(word: &str) -> Option<i32> {
    (word.len() == 4).then(|| word.parse().ok()).flatten()
}

fn day(word: &str) -> Option<u32> {
    let digits = word.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn named_date(a: &str, b: &str, c: &str) -> Option<NaiveDate> {
    if let Some(m) = month(a) {
        return NaiveDate::from_ymd_opt(year(c)?, m, day(b)?);
    }
    if let Some(m) = month(b) {
        if let Some(y) = year(a) {
            return NaiveDate::from_ymd_opt(y, m, day(c)?);
        }
        return NaiveDate::from_ymd_opt(year(c)?, m, day(a)?);
    }
    None
}

fn numeric_date(word: &str) -> Option<NaiveDate> {
    let separator = ['/', '.', '-'].into_iter().find(|s| word.contains(*s))?;
    let parts: Vec<&str> = word.split(separator).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    let num = |s: &str| s.parse::<u32>().ok();
    if let Some(y) = year(a) {
        let (first, second) = (num(b)?, num(c)?);
        return NaiveDate::from_ymd_opt(y, first, second)
            .or_else(|| NaiveDate::from_ymd_opt(y, second, first));
    }
    let y = year(c)?;
    let (first, second) = (num(a)?, num(b)?);
    // Month first, as dateparser reads it, unless that cannot be a month.
    NaiveDate::from_ymd_opt(y, first, second).or_else(|| NaiveDate::from_ymd_opt(y, second, first))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 8)
            .and_then(|d| d.and_hms_micro_opt(1, 29, 42, 911_576))
            .unwrap()
    }

    /// Each case was checked against Meltano 4.4.1's `parse_date` (dateparser) with the same now.
    #[test]
    fn reads_what_meltano_reads() {
        for (input, expected) in [
            ("2024-01-05", "2024-01-05"),
            ("2024-01-05T00:00:01Z", "2024-01-05T00:00:01Z"),
            ("2024-01-05 10:00:00.5+05:30", "2024-01-05 10:00:00.5+05:30"),
            ("Jan 5 2024", "2024-01-05T00:00:00"),
            ("January 5, 2024", "2024-01-05T00:00:00"),
            ("5 January 2024 10:00", "2024-01-05T10:00:00"),
            ("2024/01/05", "2024-01-05T00:00:00"),
            ("01/02/2024", "2024-01-02T00:00:00"),
            ("15.03.2024", "2024-03-15T00:00:00"),
            ("March 2024", "2024-03-08T00:00:00"),
            ("2 days ago", "2026-12-06T01:29:42.911576"),
            ("yesterday", "2026-12-07T01:29:42.911576"),
            ("in 2 days", "2026-12-10T01:29:42.911576"),
            ("last week", "2026-12-01T01:29:42.911576"),
            ("3 months ago", "2026-09-08T01:29:42.911576"),
            ("now", "2026-12-08T01:29:42.911576"),
            ("not a date", "not a date"),
            ("2024-13-01", "2024-01-13T00:00:00"),
            ("Sept 3 2024", "2024-09-03T00:00:00"),
            ("5 Jan 2024 10:00:30", "2024-01-05T10:00:30"),
            ("an hour ago", "2026-12-08T00:29:42.911576"),
            ("2 weeks ago", "2026-11-24T01:29:42.911576"),
        ] {
            assert_eq!(normalize_date(input, now()), expected, "{input}");
        }
    }
}
