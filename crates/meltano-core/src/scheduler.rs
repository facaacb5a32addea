//! The built-in scheduler's decisions, with no clock of its own: given the time, which schedules
//! start, which are skipped, and when to look again.
//!
//! The rules:
//! * runs missed while no scheduler was running are not caught up: each schedule first fires at
//!   its next due time after the scheduler starts (as cron does);
//! * if the scheduler falls behind (the machine slept, a long stall), the due times it missed are
//!   coalesced into one run, started at once;
//! * one schedule never runs twice at once: a due time that comes while its previous run is still
//!   going is skipped (and reported), not queued.

use chrono::{DateTime, TimeZone};

use crate::schedule::Interval;

/// One schedule as the scheduler tracks it.
#[derive(Debug, Clone)]
struct Entry<Tz: TimeZone> {
    name: String,
    interval: Interval,
    next: Option<DateTime<Tz>>,
    running: bool,
}

/// What to do about a schedule that came due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<Tz: TimeZone> {
    /// Start a run; `missed` earlier due times were coalesced into it.
    Start {
        name: String,
        due_at: DateTime<Tz>,
        missed: usize,
    },
    /// The previous run is still going: this due time is skipped.
    Skip { name: String, due_at: DateTime<Tz> },
}

/// Schedules and their next due times, in one time zone.
#[derive(Debug, Clone)]
pub struct Scheduler<Tz: TimeZone> {
    entries: Vec<Entry<Tz>>,
}

impl<Tz: TimeZone> Scheduler<Tz> {
    /// Tracks `schedules` from `now`; schedules that never fire (`@once`, `@manual`) are kept but
    /// never due.
    pub fn new(schedules: Vec<(String, Interval)>, now: &DateTime<Tz>) -> Scheduler<Tz> {
        let entries = schedules
            .into_iter()
            .map(|(name, interval)| Entry {
                next: interval.next_after(now),
                name,
                interval,
                running: false,
            })
            .collect();
        Scheduler { entries }
    }

    /// The earliest next due time of any schedule, if any schedule ever fires.
    pub fn next_wakeup(&self) -> Option<DateTime<Tz>> {
        self.entries.iter().filter_map(|e| e.next.clone()).min()
    }

    /// The next due time of one schedule.
    pub fn next_of(&self, name: &str) -> Option<DateTime<Tz>> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .and_then(|e| e.next.clone())
    }

    /// The decisions for every schedule due at or before `now`, in schedule order. Started
    /// schedules count as running until [`Scheduler::finished`].
    pub fn due(&mut self, now: &DateTime<Tz>) -> Vec<Decision<Tz>> {
        let mut decisions = Vec::new();
        for entry in &mut self.entries {
            let Some(due_at) = entry.next.clone().filter(|next| next <= now) else {
                continue;
            };
            let mut missed = 0;
            let mut next = entry.interval.next_after(&due_at);
            while let Some(later) = next.clone().filter(|n| n <= now) {
                missed += 1;
                next = entry.interval.next_after(&later);
            }
            entry.next = next;
            if entry.running {
                decisions.push(Decision::Skip {
                    name: entry.name.clone(),
                    due_at,
                });
            } else {
                entry.running = true;
                decisions.push(Decision::Start {
                    name: entry.name.clone(),
                    due_at,
                    missed,
                });
            }
        }
        decisions
    }

    /// Records that a schedule's run ended.
    pub fn finished(&mut self, name: &str) {
        if let Some(entry) = self.entries.iter_mut().find(|e| e.name == name) {
            entry.running = false;
        }
    }

    /// Whether any run is still going.
    pub fn any_running(&self) -> bool {
        self.entries.iter().any(|e| e.running)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{FixedOffset, Utc};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn scheduler(now: &str) -> Scheduler<Utc> {
        Scheduler::new(
            vec![
                ("hourly".to_string(), Interval::parse("@hourly").unwrap()),
                (
                    "every-5".to_string(),
                    Interval::parse("*/5 * * * *").unwrap(),
                ),
                ("manual".to_string(), Interval::parse("@manual").unwrap()),
            ],
            &at(now),
        )
    }

    #[test]
    fn runs_missed_before_start_are_not_caught_up() {
        let s = scheduler("2026-01-01T10:02:00Z");
        assert_eq!(s.next_of("hourly"), Some(at("2026-01-01T11:00:00Z")));
        assert_eq!(s.next_of("every-5"), Some(at("2026-01-01T10:05:00Z")));
        assert_eq!(s.next_of("manual"), None);
        assert_eq!(s.next_wakeup(), Some(at("2026-01-01T10:05:00Z")));
    }

    #[test]
    fn nothing_is_due_early_and_each_due_time_starts_once() {
        let mut s = scheduler("2026-01-01T10:02:00Z");
        assert!(s.due(&at("2026-01-01T10:04:59Z")).is_empty());
        assert_eq!(
            s.due(&at("2026-01-01T10:05:00Z")),
            vec![Decision::Start {
                name: "every-5".into(),
                due_at: at("2026-01-01T10:05:00Z"),
                missed: 0
            }]
        );
        assert!(s.due(&at("2026-01-01T10:05:00Z")).is_empty());
        assert_eq!(s.next_of("every-5"), Some(at("2026-01-01T10:10:00Z")));
    }

    #[test]
    fn a_running_schedule_is_skipped_not_doubled() {
        let mut s = scheduler("2026-01-01T10:02:00Z");
        s.due(&at("2026-01-01T10:05:00Z"));
        assert!(s.any_running());
        assert_eq!(
            s.due(&at("2026-01-01T10:10:00Z")),
            vec![Decision::Skip {
                name: "every-5".into(),
                due_at: at("2026-01-01T10:10:00Z")
            }]
        );
        s.finished("every-5");
        assert!(!s.any_running());
        assert!(matches!(
            s.due(&at("2026-01-01T10:15:00Z"))[..],
            [Decision::Start { .. }]
        ));
    }

    #[test]
    fn a_scheduler_that_fell_behind_coalesces_missed_runs() {
        let mut s = scheduler("2026-01-01T10:02:00Z");
        let decisions = s.due(&at("2026-01-01T11:31:00Z"));
        assert_eq!(
            decisions,
            vec![
                Decision::Start {
                    name: "hourly".into(),
                    due_at: at("2026-01-01T11:00:00Z"),
                    missed: 0
                },
                Decision::Start {
                    name: "every-5".into(),
                    due_at: at("2026-01-01T10:05:00Z"),
                    missed: 17
                },
            ]
        );
        assert_eq!(s.next_of("every-5"), Some(at("2026-01-01T11:35:00Z")));
    }

    #[test]
    fn due_times_follow_the_time_zone() {
        let berlin_winter = FixedOffset::east_opt(3600).unwrap();
        let now = at("2026-01-01T10:30:00Z").with_timezone(&berlin_winter);
        let s = Scheduler::new(
            vec![("daily".to_string(), Interval::parse("@daily").unwrap())],
            &now,
        );
        // Midnight in UTC+1 is 23:00 UTC the day before.
        assert_eq!(
            s.next_wakeup().map(|t| t.with_timezone(&Utc)),
            Some(at("2026-01-01T23:00:00Z"))
        );
    }
}
