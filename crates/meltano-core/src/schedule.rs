//! Schedule intervals: Meltano's aliases (`@daily`, `@once`, …) and 5-field cron expressions,
//! validated when a schedule is written and evaluated (next run after an instant) by the
//! built-in scheduler.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Timelike};
use croner::Cron;

/// A schedule's `interval:`, understood.
#[derive(Debug, Clone)]
pub struct Interval {
    /// As written in meltano.yml.
    pub text: String,
    /// The 5-field cron it stands for; None for `@once`, `@manual` and `@none`, which never fire.
    cron: Option<(String, Cron)>,
}

/// An interval that is neither a known alias nor a valid 5-field cron expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Invalid Cron expression or alias: '{0}'. Please use a valid cron expression.")]
pub struct InvalidInterval(pub String);

/// The aliases Meltano knows and the cron each stands for (None: never runs by itself).
const ALIASES: &[(&str, Option<&str>)] = &[
    ("@once", None),
    ("@manual", None),
    ("@none", None),
    ("@hourly", Some("0 * * * *")),
    ("@daily", Some("0 0 * * *")),
    ("@midnight", Some("0 0 * * *")),
    ("@weekly", Some("0 0 * * 0")),
    ("@monthly", Some("0 0 1 * *")),
    ("@yearly", Some("0 0 1 1 *")),
    ("@annually", Some("0 0 1 1 *")),
];

impl Interval {
    /// Parses an interval as Meltano accepts it: an alias, or five cron fields.
    pub fn parse(text: &str) -> Result<Interval, InvalidInterval> {
        let invalid = || InvalidInterval(text.to_string());
        let trimmed = text.trim();
        if let Some((_, cron)) = ALIASES
            .iter()
            .find(|(alias, _)| alias.eq_ignore_ascii_case(trimmed))
        {
            let cron = match cron {
                Some(expression) => Some((
                    expression.to_string(),
                    Cron::from_str(expression).map_err(|_| invalid())?,
                )),
                None => None,
            };
            return Ok(Interval {
                text: text.to_string(),
                cron,
            });
        }
        if trimmed.starts_with('@') || trimmed.split_whitespace().count() != 5 {
            return Err(invalid());
        }
        let expression = trimmed.split_whitespace().collect::<Vec<_>>().join(" ");
        let cron = Cron::from_str(&expression).map_err(|_| invalid())?;
        Ok(Interval {
            text: text.to_string(),
            cron: Some((expression, cron)),
        })
    }

    /// The cron expression (Meltano's `cron_interval`), or None for intervals that never fire.
    pub fn cron_interval(&self) -> Option<&str> {
        self.cron
            .as_ref()
            .map(|(expression, _)| expression.as_str())
    }

    /// The first time strictly after `after` at which the schedule is due, in `after`'s zone.
    pub fn next_after<Tz: TimeZone>(&self, after: &DateTime<Tz>) -> Option<DateTime<Tz>> {
        let (_, cron) = self.cron.as_ref()?;
        // Cron has whole seconds: the fraction of `after` must not leak into the result.
        let whole = after.clone().with_nanosecond(0)?;
        cron.find_next_occurrence(&whole, false).ok()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn aliases_and_crons() {
        assert_eq!(
            Interval::parse("@daily").unwrap().cron_interval(),
            Some("0 0 * * *")
        );
        assert_eq!(
            Interval::parse("@HOURLY").unwrap().cron_interval(),
            Some("0 * * * *")
        );
        assert_eq!(Interval::parse("@once").unwrap().cron_interval(), None);
        assert_eq!(
            Interval::parse("0 */2 * * *").unwrap().cron_interval(),
            Some("0 */2 * * *")
        );
        assert_eq!(
            Interval::parse("30 4 * * mon-fri").unwrap().cron_interval(),
            Some("30 4 * * mon-fri")
        );
        for bad in [
            "@sometimes",
            "* * * *",
            "0 0 * * * *",
            "61 * * * *",
            "nonsense",
        ] {
            assert_eq!(
                Interval::parse(bad).unwrap_err().to_string(),
                format!(
                    "Invalid Cron expression or alias: '{bad}'. Please use a valid cron expression."
                )
            );
        }
    }

    #[test]
    fn next_run_is_strictly_after() {
        let hourly = Interval::parse("@hourly").unwrap();
        assert_eq!(
            hourly.next_after(&at("2026-01-01T10:00:00Z")),
            Some(at("2026-01-01T11:00:00Z"))
        );
        assert_eq!(
            hourly.next_after(&at("2026-01-01T10:59:59.999Z")),
            Some(at("2026-01-01T11:00:00Z"))
        );
        assert_eq!(
            Interval::parse("@manual")
                .unwrap()
                .next_after(&at("2026-01-01T10:00:00Z")),
            None
        );
    }
}
