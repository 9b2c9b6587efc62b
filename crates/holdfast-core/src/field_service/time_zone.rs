//! A workspace's time zone (IANA, like `Europe/London`) and the times people type in it. A
//! scheduled time is stored as a UTC instant; it is read and shown in the workspace's zone,
//! with daylight-saving changes handled by the bundled time zone database: a local time the
//! clocks skip is refused, and one they pass twice must name its offset.

use crate::validate::FieldError;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::{Timestamp, Zoned};

/// A validated IANA time zone name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneName(String);

impl ZoneName {
    pub fn utc() -> ZoneName {
        ZoneName("UTC".to_owned())
    }

    /// A name the time zone database knows; refused otherwise with an example.
    pub fn parse(field: &str, text: &str) -> Result<ZoneName, FieldError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 64 || TimeZone::get(text).is_err() {
            return Err(FieldError::new(
                field,
                "must be an IANA time zone name, like Europe/London or America/New_York",
            ));
        }
        let canonical = TimeZone::get(text)
            .ok()
            .and_then(|zone| zone.iana_name().map(str::to_owned))
            .unwrap_or_else(|| text.to_owned());
        Ok(ZoneName(canonical))
    }

    /// A stored name (checked when it was saved; UTC if the database no longer knows it).
    pub fn from_trusted(text: &str) -> ZoneName {
        ZoneName::parse("time_zone", text).unwrap_or_else(|_| ZoneName::utc())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn zone(&self) -> TimeZone {
        TimeZone::get(&self.0).unwrap_or(TimeZone::UTC)
    }

    /// The instant (ms since the epoch) a person means by `text` in this zone: a local time
    /// like `2026-03-29T09:30`, or a time with its offset (`…+01:00`, `…Z`).
    pub fn instant(&self, field: &str, text: &str) -> Result<i64, FieldError> {
        let ms = self.parse_instant(field, text.trim())?;
        if !(EARLIEST_MS..LATEST_MS).contains(&ms) {
            return Err(FieldError::new(
                field,
                "must be between the years 2000 and 2099",
            ));
        }
        Ok(ms)
    }

    fn parse_instant(&self, field: &str, text: &str) -> Result<i64, FieldError> {
        if text.contains('[') {
            return Err(FieldError::new(
                field,
                "must not name a time zone in brackets: give the workspace's local time or an offset",
            ));
        }
        if let Ok(exact) = text.parse::<Timestamp>() {
            if !offset_is_real(text) {
                return Err(FieldError::new(
                    field,
                    "has an offset no place uses (from -12:00 to +14:00)",
                ));
            }
            return Ok(exact.as_millisecond());
        }
        let local: DateTime = text.parse().map_err(|_| {
            FieldError::new(
                field,
                "must be a date and time like 2026-12-08T09:30 (in the workspace's time zone) \
                 or with an offset like 2026-12-08T09:30:00+01:00",
            )
        })?;
        let zone = self.zone();
        match zone.to_ambiguous_zoned(local).offset() {
            AmbiguousOffset::Unambiguous { offset } => Ok(offset
                .to_timestamp(local)
                .map_err(|_| out_of_range(field))?
                .as_millisecond()),
            AmbiguousOffset::Gap { .. } => Err(FieldError::new(
                field,
                format!(
                    "{local} does not exist in {}: the clocks go forward then; choose another time",
                    self.0
                ),
            )),
            AmbiguousOffset::Fold { before, after } => Err(FieldError::new(
                field,
                format!(
                    "{local} happens twice in {}: the clocks go back then; give the offset, \
                     {local}{before} or {local}{after}",
                    self.0
                ),
            )),
        }
    }

    /// `ms` as this zone's local time, like `2026-12-08T09:30`.
    pub fn local(&self, ms: i64) -> String {
        Timestamp::from_millisecond(ms)
            .map(|t| {
                Zoned::new(t, self.zone())
                    .datetime()
                    .strftime("%Y-%m-%dT%H:%M")
                    .to_string()
            })
            .unwrap_or_default()
    }
}

impl ZoneName {
    /// The calendar date at `ms` in this zone (an invoice's "today").
    pub fn date(&self, ms: i64) -> jiff::civil::Date {
        Timestamp::from_millisecond(ms)
            .map(|t| Zoned::new(t, self.zone()).date())
            .unwrap_or_default()
    }

    /// The instants (ms) a calendar day of this zone starts and ends at: 23 or 25 hours on a
    /// day the clocks change, and the first instant that exists where midnight does not.
    pub fn day_bounds(&self, date: jiff::civil::Date) -> Option<(i64, i64)> {
        let zone = self.zone();
        let start = date.to_zoned(zone.clone()).ok()?.timestamp();
        let end = date.tomorrow().ok()?.to_zoned(zone).ok()?.timestamp();
        Some((start.as_millisecond(), end.as_millisecond()))
    }
}

/// 2000-01-01T00:00Z and 2100-01-01T00:00Z: scheduled times outside are typing mistakes.
const EARLIEST_MS: i64 = 946_684_800_000;
const LATEST_MS: i64 = 4_102_444_800_000;

/// Whether the offset at the end of `text` (`Z`, `+01:00`, `-0530`) is one a place uses.
fn offset_is_real(text: &str) -> bool {
    if text.ends_with('Z') || text.ends_with('z') {
        return true;
    }
    let Some(at) = text.rfind(['+', '-']) else {
        return false;
    };
    let digits: String = text[at + 1..]
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    let (Some(hours), Some(minutes)) = (
        digits.get(0..2).and_then(|h| h.parse::<i32>().ok()),
        digits.get(2..4).map_or(Some(0), |m| m.parse::<i32>().ok()),
    ) else {
        return false;
    };
    let total = hours * 60 + minutes;
    if text[at..].starts_with('+') {
        total <= 14 * 60
    } else {
        total <= 12 * 60
    }
}

fn out_of_range(field: &str) -> FieldError {
    FieldError::new(field, "is out of range")
}

/// `ms` as an RFC 3339 UTC time.
pub fn utc(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_day_is_23_or_25_hours_when_the_clocks_change() {
        let london = super::ZoneName::from_trusted("Europe/London");
        let hours = |y, m, d| {
            let (start, end) = london
                .day_bounds(jiff::civil::date(y, m, d))
                .expect("a day in range");
            (end - start) / 3_600_000
        };
        assert_eq!(hours(2026, 3, 29), 23);
        assert_eq!(hours(2026, 10, 25), 25);
        assert_eq!(hours(2026, 12, 8), 24);
        let (start, _) = london
            .day_bounds(jiff::civil::date(2026, 7, 1))
            .expect("a day in range");
        assert_eq!(london.local(start), "2026-07-01T00:00");
        assert_eq!(super::utc(start), "2026-06-30T23:00:00Z");
    }

    use super::*;

    fn london() -> ZoneName {
        ZoneName::parse("time_zone", "Europe/London").unwrap()
    }

    #[test]
    fn names_are_checked_against_the_database() {
        assert!(ZoneName::parse("tz", "America/New_York").is_ok());
        for bad in ["", "Mars/Olympus", "Europe/London\n; drop", &"A".repeat(65)] {
            assert!(ZoneName::parse("tz", bad).is_err(), "{bad:?}");
        }
        assert_eq!(ZoneName::from_trusted("nowhere").as_str(), "UTC");
        assert_eq!(
            ZoneName::parse("tz", "europe/LONDON").unwrap().as_str(),
            "Europe/London"
        );
    }

    #[test]
    fn local_times_become_instants_across_daylight_saving() {
        let tz = london();
        // Winter: London is UTC+0; summer: UTC+1.
        assert_eq!(
            utc(tz.instant("start", "2026-01-15T09:00").unwrap()),
            "2026-01-15T09:00:00Z"
        );
        assert_eq!(
            utc(tz.instant("start", "2026-07-15T09:00").unwrap()),
            "2026-07-15T08:00:00Z"
        );
        // 29 March 2026: 01:00 to 02:00 does not exist.
        let gap = tz.instant("start", "2026-03-29T01:30").unwrap_err();
        assert!(gap.message.contains("does not exist"), "{}", gap.message);
        // 25 October 2026: 01:00 to 02:00 happens twice; an offset settles it.
        let fold = tz.instant("start", "2026-10-25T01:30").unwrap_err();
        assert!(
            fold.message.contains("happens twice") && fold.message.contains("+01"),
            "{}",
            fold.message
        );
        assert_eq!(
            utc(tz.instant("start", "2026-10-25T01:30:00+00:00").unwrap()),
            "2026-10-25T01:30:00Z"
        );
        assert_eq!(
            tz.local(tz.instant("s", "2026-07-15T09:00").unwrap()),
            "2026-07-15T09:00"
        );
        for bad in [
            "tomorrow",
            "2026-13-01T09:00",
            "2026-02-30T09:00",
            "",
            "2026-12-08T09:00[America/New_York]",
            "2026-12-08T09:00:00+25:59",
            "2026-12-08T09:00:00-13:00",
            "0000-01-01T00:00",
            "2150-01-01T00:00",
        ] {
            assert!(tz.instant("start", bad).is_err(), "{bad:?}");
        }
        assert!(tz.instant("start", "2026-12-08T09:00:00+14:00").is_ok());
        assert!(tz.instant("start", "2026-12-08T09:00:00-05:30").is_ok());
    }
}
