//! `--begin` times: `HH:MM[:SS]`, `[YYYY-]MM-DD[THH:MM[:SS]]`, `MMDDYY`,
//! `MM/DD/YY`, `now+N[seconds|minutes|hours|days|weeks]`, and the words
//! `now`, `today`, `tomorrow`, `midnight`, `noon`, `elevenses`, `fika`,
//! `teatime`, with an optional `AM`/`PM` on clock times. Local time.

use chrono::{DateTime, Datelike, Duration, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};

use crate::error::{Error, Result};

/// Parses a begin time relative to `now`.
pub fn parse_begin(text: &str, now: DateTime<Local>) -> Result<DateTime<Local>> {
    let invalid = || Error::InvalidBegin(text.to_string());
    let spec = text.trim().to_ascii_lowercase();
    if let Some(offset) = spec.strip_prefix("now") {
        if offset.is_empty() {
            return Ok(now);
        }
        let amount = offset.strip_prefix('+').ok_or_else(invalid)?;
        let digits = amount.len()
            - amount
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let count: i64 = amount[..digits].parse().map_err(|_| invalid())?;
        let unit = match &amount[digits..] {
            "" | "s" | "sec" | "secs" | "second" | "seconds" => Duration::try_seconds(count),
            "m" | "min" | "mins" | "minute" | "minutes" => Duration::try_minutes(count),
            "h" | "hour" | "hours" => Duration::try_hours(count),
            "d" | "day" | "days" => Duration::try_days(count),
            "w" | "week" | "weeks" => Duration::try_weeks(count),
            _ => return Err(invalid()),
        };
        // An offset past what chrono can hold is refused, not a panic.
        return unit
            .and_then(|unit| now.checked_add_signed(unit))
            .ok_or_else(invalid);
    }
    let today = now.date_naive();
    let at = |date: NaiveDate, hour: u32| local(date.and_hms_opt(hour, 0, 0).ok_or_else(invalid)?);
    let next = |hour: u32| -> Result<DateTime<Local>> {
        let time = at(today, hour)?;
        if time > now {
            Ok(time)
        } else {
            at(today + Duration::days(1), hour)
        }
    };
    match spec.as_str() {
        "today" => return at(today, 0),
        "tomorrow" => return at(today + Duration::days(1), 0),
        "midnight" => return at(today + Duration::days(1), 0),
        "noon" => return next(12),
        "elevenses" => return next(11),
        "fika" => return next(15),
        "teatime" => return next(16),
        _ => {}
    }
    let (body, pm) = match (spec.strip_suffix("pm"), spec.strip_suffix("am")) {
        (Some(body), _) => (body.trim(), Some(true)),
        (_, Some(body)) => (body.trim(), Some(false)),
        _ => (spec.as_str(), None),
    };
    let (date_part, time_part) = match body.split_once('t') {
        Some((date, time)) => (Some(date), Some(time)),
        None if body.contains(':') => (None, Some(body)),
        None => (Some(body), None),
    };
    let time = match time_part {
        Some(time) => Some(parse_clock(time, pm).ok_or_else(invalid)?),
        None => None,
    };
    let date = match date_part {
        Some(date) => Some(parse_date(date, today).ok_or_else(invalid)?),
        None => None,
    };
    match (date, time) {
        (Some(date), time) => local(date.and_time(time.unwrap_or(NaiveTime::MIN))),
        (None, Some(time)) => {
            let candidate = local(today.and_time(time))?;
            if candidate > now {
                Ok(candidate)
            } else {
                local((today + Duration::days(1)).and_time(time))
            }
        }
        (None, None) => Err(invalid()),
    }
}

fn local(naive: NaiveDateTime) -> Result<DateTime<Local>> {
    Local
        .from_local_datetime(&naive)
        .earliest()
        .ok_or_else(|| Error::InvalidBegin(naive.to_string()))
}

fn parse_clock(text: &str, pm: Option<bool>) -> Option<NaiveTime> {
    let parts: Vec<u32> = text
        .split(':')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let (hour, minute, second) = match parts.as_slice() {
        [h, m] => (*h, *m, 0),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    let hour = match pm {
        Some(true) if hour < 12 => hour + 12,
        Some(false) if hour == 12 => 0,
        _ => hour,
    };
    NaiveTime::from_hms_opt(hour, minute, second)
}

fn parse_date(text: &str, today: NaiveDate) -> Option<NaiveDate> {
    if let Some((month, rest)) = text.split_once('/') {
        let (day, year) = rest.split_once('/')?;
        let year: i32 = year.parse().ok()?;
        let year = if year < 100 { 2000 + year } else { year };
        return NaiveDate::from_ymd_opt(year, month.parse().ok()?, day.parse().ok()?);
    }
    let parts: Vec<&str> = text.split('-').collect();
    match parts.as_slice() {
        [year, month, day] => {
            NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?)
        }
        [month, day] => {
            NaiveDate::from_ymd_opt(today.year(), month.parse().ok()?, day.parse().ok()?)
        }
        [compact] if compact.len() == 6 && compact.chars().all(|c| c.is_ascii_digit()) => {
            NaiveDate::from_ymd_opt(
                2000 + compact[4..6].parse::<i32>().ok()?,
                compact[0..2].parse().ok()?,
                compact[2..4].parse().ok()?,
            )
        }
        _ => None,
    }
}

/// Slurm 22.05's keywords of time, which its parser steps over.
const KEYWORDS: [&str; 7] = [
    "today", "tomorrow", "midnight", "noon", "fika", "teatime", "now",
];

/// Where Slurm's `parse_time` gives up on a time it refuses, for its line
/// `Invalid time specification (pos=N): TEXT` (printed before sbatch's and
/// scontrol's own refusal): the first character that starts no keyword and
/// no number; in a number, its first character that is no digit or
/// separator, else the start of its second field (the month Slurm found out
/// of range), else its end. Checked against the live Slurm's positions
/// (`garbage` 0, ` x` 1, `T5` 2, `now+xyz` 3, `12:xx` 3, `2026-13-45` 5,
/// `tomorrowx` 8).
pub fn slurm_error_position(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut pos = 0;
    while pos < bytes.len() {
        let c = bytes[pos];
        if c == b' ' || c == b'\t' || c == b'-' || c == b'T' {
            pos += 1;
            continue;
        }
        let rest = &text[pos..];
        if let Some(word) = KEYWORDS.iter().find(|w| {
            rest.get(..w.len())
                .is_some_and(|r| r.eq_ignore_ascii_case(w))
        }) {
            pos += word.len();
            if *word == "now" {
                // `now` takes what follows as its offset, or is refused there.
                return pos;
            }
            continue;
        }
        if !c.is_ascii_digit() {
            return pos;
        }
        let token_len = rest
            .find(|c: char| c.is_ascii_whitespace() || c == 'T')
            .unwrap_or(rest.len());
        let token = &rest[..token_len];
        if let Some(bad) =
            token.find(|c: char| !(c.is_ascii_digit() || matches!(c, ':' | '/' | '-')))
        {
            return pos + bad;
        }
        return match token.find([':', '/', '-']) {
            Some(separator) => pos + separator + 1,
            None => pos + token_len,
        };
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_position_is_where_live_slurm_gave_up() {
        for (text, pos) in [
            ("garbage", 0),
            ("soon", 0),
            (" x", 1),
            ("T5", 2),
            ("now+xyz", 3),
            ("12:xx", 3),
            ("2026-13-45", 5),
            ("tomorrowx", 8),
        ] {
            assert_eq!(slurm_error_position(text), pos, "{text:?}");
        }
    }
    use proptest::prelude::*;

    fn now() -> DateTime<Local> {
        Local
            .with_ymd_and_hms(2026, 3, 10, 14, 30, 0)
            .single()
            .expect("valid")
    }

    fn begin(text: &str) -> String {
        parse_begin(text, now())
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn relative_times_count_from_now() {
        assert_eq!(begin("now+1hour"), "2026-03-10T15:30:00");
        assert_eq!(begin("now+90"), "2026-03-10T14:31:30");
        assert_eq!(begin("now+2days"), "2026-03-12T14:30:00");
        assert_eq!(begin("now"), "2026-03-10T14:30:00");
    }

    #[test]
    fn clock_times_are_the_next_occurrence() {
        assert_eq!(begin("16:00"), "2026-03-10T16:00:00");
        assert_eq!(begin("10:00"), "2026-03-11T10:00:00");
        assert_eq!(begin("4:00pm"), "2026-03-10T16:00:00");
        assert_eq!(begin("teatime"), "2026-03-10T16:00:00");
        assert_eq!(begin("noon"), "2026-03-11T12:00:00");
        assert_eq!(begin("midnight"), "2026-03-11T00:00:00");
    }

    #[test]
    fn dates_parse_in_slurm_s_forms() {
        assert_eq!(begin("2026-12-01T08:15"), "2026-12-01T08:15:00");
        assert_eq!(begin("2026-12-01"), "2026-12-01T00:00:00");
        assert_eq!(begin("12-24"), "2026-12-24T00:00:00");
        assert_eq!(begin("122426"), "2026-12-24T00:00:00");
        assert_eq!(begin("12/24/26"), "2026-12-24T00:00:00");
    }

    #[test]
    fn offsets_past_chrono_s_range_are_refused_not_a_panic() {
        // Found by fuzz/ (begin): `now + Duration` overflowed and panicked,
        // and so did `Duration::weeks` for a huge count.
        for text in [
            "now+2202208881881886",
            "now+9223372036854775807weeks",
            "now+9223372036854775807",
            "now+300000000000days",
        ] {
            assert!(parse_begin(text, now()).is_err(), "{text}");
        }
        assert_eq!(
            parse_begin("now+1000weeks", now()).ok(),
            Some(now() + Duration::weeks(1000))
        );
    }

    #[test]
    fn garbage_is_refused() {
        for text in [
            "",
            "garbage",
            "now+",
            "now+5parsecs",
            "25:00",
            "2026-13-01",
            "now-5",
        ] {
            assert!(parse_begin(text, now()).is_err(), "{text}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_does_not_panic(text in "\\PC*") {
            let _ = parse_begin(&text, now());
        }
    }
}
