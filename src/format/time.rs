//! Slurm's one grammar of points in time, read the way its `parse_time`
//! reads them, for `cbatch --begin`, `cacct -S/-E` and `ccontrol update
//! StartTime=`: `HH:MM[:SS] [AM|PM]`, `MMDD[YY]`, `MM/DD[/YY]`,
//! `MM.DD[.YY]`, `MM/DD[/YY]-HH:MM[:SS]`, `YYYY-MM-DD[THH:MM[:SS]]`,
//! `now[{+|-}N[seconds|minutes|hours|days|weeks]]` (seconds by default),
//! `uts<seconds since the epoch>`, and the words `today`, `tomorrow`,
//! `midnight`, `noon`, `fika` and `teatime`, which combine (`tomorrow
//! noon`). Local time. (`elevenses` came after 22.05, which refuses it.)
//!
//! Slurm 22.05 knows no abbreviated units: `now+5m` and `now+5min` are
//! refused, as sbatch, sacct and scontrol refuse them.

use chrono::{DateTime, Datelike, Days, Local, NaiveDate, NaiveTime, TimeZone, Timelike};

/// Which way a time that leaves its day or year open is read: sbatch and
/// scontrol take the next such time, sacct's window the past one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Toward {
    /// A clock time is today's if still to come (to the minute, as in
    /// Slurm), else tomorrow's; a date without a year likewise this
    /// year's or next year's.
    Future,
    /// The latest such time not in the future: a clock time still to come
    /// today is yesterday's, a date still to come this year last year's.
    /// (Slurm's sacct takes today's and compares only the month; a window
    /// that starts in the future selects nothing, and `cacct` has always
    /// looked back.)
    Past,
}

/// A time Slurm refuses, and where its parser gave up: the first stderr
/// line sbatch prints, before its own refusal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid time specification (pos={pos}): {text}")]
pub struct InvalidTime {
    pub text: String,
    pub pos: usize,
}

/// Slurm's units for a `now` offset, longest first as its prefix match
/// needs: none is shorter than its name (no `m`, `min`, `h`).
const UNITS: [(&str, i64); 10] = [
    ("seconds", 1),
    ("second", 1),
    ("minutes", 60),
    ("minute", 60),
    ("hours", 3600),
    ("hour", 3600),
    ("days", 86_400),
    ("day", 86_400),
    ("weeks", 604_800),
    ("week", 604_800),
];

/// The words for a day or an hour, and what each sets.
const WORDS: [(&str, Word); 6] = [
    ("today", Word::Day(0)),
    ("tomorrow", Word::Day(1)),
    ("midnight", Word::Hour(0)),
    ("noon", Word::Hour(12)),
    ("fika", Word::Hour(15)),
    ("teatime", Word::Hour(16)),
];

#[derive(Clone, Copy)]
enum Word {
    /// Today plus this many days.
    Day(u64),
    /// This hour, on the hour.
    Hour(u32),
}

/// A date as written: the year may be left open.
#[derive(Clone, Copy)]
struct Date {
    year: Option<i32>,
    month: u32,
    day: u32,
}

/// Parses `text` as a point in time seen from `now`.
pub fn parse_time(
    text: &str,
    now: DateTime<Local>,
    toward: Toward,
) -> Result<DateTime<Local>, InvalidTime> {
    let refuse = |pos: usize| InvalidTime {
        text: text.to_string(),
        pos,
    };
    if let Some(seconds) = strip_prefix_ignore_case(text, "uts") {
        return seconds
            .parse::<i64>()
            .ok()
            .filter(|&seconds| seconds >= 1_000_000)
            .and_then(|seconds| Local.timestamp_opt(seconds, 0).single())
            .ok_or_else(|| refuse(0));
    }
    let (date, time) = walk(text.as_bytes(), now).map_err(refuse)?;
    let today = now.date_naive();
    let at =
        |day: NaiveDate, time: NaiveTime| Local.from_local_datetime(&day.and_time(time)).earliest();
    // Slurm's test for "still to come": to the minute.
    let to_come = |day: NaiveDate, time: NaiveTime| {
        (day, time.hour(), time.minute()) > (today, now.hour(), now.minute())
    };
    let (date, time) = match (date, time) {
        (None, None) => return Err(refuse(text.len())),
        (Some(date), time) => (date, time.unwrap_or(NaiveTime::MIN)),
        (None, Some(time)) => {
            let day = match toward {
                Toward::Future if to_come(today, time) => today,
                Toward::Future => today + Days::new(1),
                Toward::Past if at(today, time).is_some_and(|at| at <= now) => today,
                Toward::Past => today - Days::new(1),
            };
            (written(day), time)
        }
    };
    let on = |year: i32| NaiveDate::from_ymd_opt(year, date.month, date.day);
    let day = match date.year {
        Some(year) => on(year),
        None => match toward {
            Toward::Future => on(today.year())
                .filter(|&day| to_come(day, time))
                .or_else(|| on(today.year() + 1)),
            Toward::Past => on(today.year())
                .filter(|&day| at(day, time).is_some_and(|at| at <= now))
                .or_else(|| on(today.year() - 1)),
        },
    };
    day.and_then(|day| at(day, time))
        .ok_or_else(|| refuse(text.len()))
}

fn written(day: NaiveDate) -> Date {
    Date {
        year: Some(day.year()),
        month: day.month(),
        day: day.day(),
    }
}

/// Walks the text left to right as Slurm does, each part setting the day
/// or the time of day (a later part overriding an earlier one); the error
/// is the position where Slurm gives up.
fn walk(text: &[u8], now: DateTime<Local>) -> Result<(Option<Date>, Option<NaiveTime>), usize> {
    let mut date = None;
    let mut time = None;
    let mut pos = 0;
    while pos < text.len() && text[pos] != b'\n' {
        let rest = &text[pos..];
        if matches!(text[pos], b' ' | b'\t' | b'-' | b'T') {
            pos += 1;
        } else if let Some((name, word)) = WORDS.iter().find(|(name, _)| starts_with(rest, name)) {
            match *word {
                Word::Day(days) => date = Some(written(now.date_naive() + Days::new(days))),
                Word::Hour(hour) => time = NaiveTime::from_hms_opt(hour, 0, 0),
            }
            pos += name.len();
        } else if starts_with(rest, "now") {
            let (seconds, end) = now_offset(text, pos + 3)?;
            let at = chrono::Duration::try_seconds(seconds)
                .and_then(|offset| now.checked_add_signed(offset))
                .ok_or(pos)?
                .naive_local();
            date = Some(written(at.date()));
            time = Some(at.time());
            pos = end;
        } else if !text[pos].is_ascii_digit() {
            return Err(pos);
        } else if text.get(pos + 1) == Some(&b':') || text.get(pos + 2) == Some(&b':') {
            let (clock, end) = clock_time(text, pos)?;
            time = Some(clock);
            pos = end;
        } else {
            let (day, end) = calendar_date(text, pos)?;
            date = Some(day);
            pos = end;
        }
    }
    Ok((date, time))
}

/// `now`'s offset from `at` (just past the word): nothing, or a sign, a
/// count and an optional unit; the seconds and where the offset ends.
fn now_offset(text: &[u8], at: usize) -> Result<(i64, usize), usize> {
    let mut pos = at;
    let sign = loop {
        match text.get(pos) {
            None | Some(b'\n') => return Ok((0, pos)),
            Some(b' ' | b'\t') => pos += 1,
            Some(b'+') => break 1,
            Some(b'-') => break -1,
            Some(_) => return Err(pos),
        }
    };
    let sign_at = pos;
    pos += 1;
    let mut count: i64 = 0;
    let mut digits = 0;
    while let Some(&c) = text.get(pos).filter(|&&c| c != b'\n') {
        if c.is_ascii_whitespace() {
            pos += 1;
        } else if let Some((name, unit)) = UNITS
            .iter()
            .find(|(name, _)| starts_with(&text[pos..], name))
        {
            count = count.checked_mul(*unit).ok_or(pos)?;
            pos += name.len();
            break;
        } else if c.is_ascii_digit() {
            count = count
                .checked_mul(10)
                .and_then(|count| count.checked_add(i64::from(c - b'0')))
                .ok_or(pos)?;
            digits += 1;
            pos += 1;
        } else {
            return Err(pos - 1);
        }
    }
    if digits == 0 {
        return Err(sign_at);
    }
    Ok((sign * count, pos))
}

/// `H[H]:MM[:SS]`, then optional blanks and `AM`/`PM`; the time and where
/// it ends.
fn clock_time(text: &[u8], start: usize) -> Result<(NaiveTime, usize), usize> {
    let digit = |pos: usize| {
        text.get(pos)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
            .ok_or(pos)
    };
    let mut pos = start;
    let mut hour = digit(pos)?;
    pos += 1;
    if text.get(pos) != Some(&b':') {
        hour = hour * 10 + digit(pos)?;
        pos += 1;
    }
    if hour > 23 {
        return Err(pos - 2);
    }
    if text.get(pos) != Some(&b':') {
        return Err(pos);
    }
    let two_digits = |pos: usize, max: u32| -> Result<u32, usize> {
        let value = digit(pos)? * 10 + digit(pos + 1)?;
        if value > max { Err(pos) } else { Ok(value) }
    };
    let minute = two_digits(pos + 1, 59)?;
    pos += 3;
    let mut second = 0;
    if text.get(pos) == Some(&b':') {
        second = two_digits(pos + 1, 59)?;
        pos += 3;
    }
    while text.get(pos).is_some_and(u8::is_ascii_whitespace) {
        pos += 1;
    }
    if starts_with(&text[pos..], "pm") {
        hour = match hour + 12 {
            24 => 12,
            hour if hour > 23 => return Err(pos),
            hour => hour,
        };
        pos += 2;
    } else if starts_with(&text[pos..], "am") {
        hour = match hour {
            12 => 0,
            hour if hour > 11 => return Err(pos),
            hour => hour,
        };
        pos += 2;
    }
    let time = NaiveTime::from_hms_opt(hour, minute, second).ok_or(start)?;
    Ok((time, pos))
}

/// `YYYY-MM-DD`, or `MM[/.]DD[[/.]YY]`; the date and where it ends.
fn calendar_date(text: &[u8], start: usize) -> Result<(Date, usize), usize> {
    let digit = |pos: usize| {
        text.get(pos)
            .filter(|c| c.is_ascii_digit())
            .map(|c| u32::from(c - b'0'))
            .ok_or(pos)
    };
    // One or two digits in 1..=max; the value and where it ends.
    let field = |pos: usize, max: u32| -> Result<(u32, usize), usize> {
        let first = digit(pos)?;
        let (value, end) = match digit(pos + 1) {
            Ok(second) => (first * 10 + second, pos + 2),
            Err(_) => (first, pos + 1),
        };
        if (1..=max).contains(&value) {
            Ok((value, end))
        } else {
            Err(end.saturating_sub(2))
        }
    };
    let separator = |pos: usize| match text.get(pos) {
        Some(b'.' | b'/') => pos + 1,
        _ => pos,
    };
    if text.get(start + 4) == Some(&b'-') && text.get(start + 7) == Some(&b'-') {
        let mut year = 0;
        for pos in start..start + 4 {
            year = year * 10 + digit(pos)?;
        }
        let (month, end) = field(start + 5, 12)?;
        let (day, end) = field(end + 1, 31)?;
        let year = i32::try_from(year).map_err(|_| start)?;
        return Ok((
            Date {
                year: Some(year),
                month,
                day,
            },
            end,
        ));
    }
    let (month, end) = field(start, 12)?;
    let (day, end) = field(separator(end), 31)?;
    let mut pos = separator(end);
    let mut year = None;
    if let Ok(tens) = digit(pos) {
        let units = digit(pos + 1)?;
        // Slurm reads a year of `00` as no year at all.
        year = Some(tens * 10 + units)
            .filter(|&year| year > 0)
            .map(|year| 2000 + year as i32);
        pos += 2;
    }
    Ok((Date { year, month, day }, pos))
}

fn starts_with(text: &[u8], word: &str) -> bool {
    text.get(..word.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(word.as_bytes()))
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    starts_with(text.as_bytes(), prefix).then(|| &text[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Tuesday 2026-03-10, 14:30:00 local time.
    fn now() -> DateTime<Local> {
        Local
            .with_ymd_and_hms(2026, 3, 10, 14, 30, 0)
            .single()
            .expect("valid")
    }

    fn read(text: &str, toward: Toward) -> String {
        parse_time(text, now(), toward)
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    fn next(text: &str) -> String {
        read(text, Toward::Future)
    }

    fn past(text: &str) -> String {
        read(text, Toward::Past)
    }

    #[test]
    fn relative_times_count_from_now() {
        assert_eq!(next("now+1hour"), "2026-03-10T15:30:00");
        assert_eq!(next("now+90"), "2026-03-10T14:31:30");
        assert_eq!(next("now+2days"), "2026-03-12T14:30:00");
        assert_eq!(next("now"), "2026-03-10T14:30:00");
        assert_eq!(next("NOW+1Week"), "2026-03-17T14:30:00");
        assert_eq!(past("now-2days"), "2026-03-08T14:30:00");
        assert_eq!(past("now - 5 minutes"), "2026-03-10T14:25:00");
        assert_eq!(next("now+1000weeks"), "2045-05-09T14:30:00");
    }

    #[test]
    fn abbreviated_units_are_refused_as_slurm_refuses_them() {
        // Conductor's three parsers disagreed here: `--begin` and `ccontrol
        // update` read `now+5m` as five minutes, cacct refused it. Slurm
        // 22.05's units are only the words, so all three refuse it now.
        for (text, pos) in [
            ("now+5m", 4),
            ("now+5min", 4),
            ("now+5mins", 4),
            ("now+2h", 4),
            ("now+30s", 5),
            ("now+30sec", 5),
            ("now+1d", 4),
            ("now+1w", 4),
        ] {
            for toward in [Toward::Future, Toward::Past] {
                assert_eq!(
                    parse_time(text, now(), toward).map_err(|e| e.pos),
                    Err(pos),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn clock_times_are_the_next_occurrence_or_today_s() {
        assert_eq!(next("16:00"), "2026-03-10T16:00:00");
        assert_eq!(next("10:00"), "2026-03-11T10:00:00");
        assert_eq!(next("14:30"), "2026-03-11T14:30:00");
        assert_eq!(next("4:00pm"), "2026-03-10T16:00:00");
        assert_eq!(next("4:00 PM"), "2026-03-10T16:00:00");
        assert_eq!(next("12:15am"), "2026-03-11T00:15:00");
        assert_eq!(next("teatime"), "2026-03-10T16:00:00");
        assert_eq!(next("noon"), "2026-03-11T12:00:00");
        assert_eq!(next("midnight"), "2026-03-11T00:00:00");
        assert_eq!(next("fika"), "2026-03-10T15:00:00");
        // A word of later Slurms; live 22.05 refuses it at its start.
        assert_eq!(
            parse_time("elevenses", now(), Toward::Future).map_err(|e| e.pos),
            Err(0)
        );
        assert_eq!(past("16:00"), "2026-03-09T16:00:00");
        assert_eq!(past("14:30"), "2026-03-10T14:30:00");
        assert_eq!(past("midnight"), "2026-03-10T00:00:00");
        assert_eq!(past("noon"), "2026-03-10T12:00:00");
    }

    #[test]
    fn dates_parse_in_slurm_s_forms() {
        assert_eq!(next("2026-12-01T08:15"), "2026-12-01T08:15:00");
        assert_eq!(next("2026-12-01T08:15:30"), "2026-12-01T08:15:30");
        assert_eq!(next("2026-12-01"), "2026-12-01T00:00:00");
        assert_eq!(next("122426"), "2026-12-24T00:00:00");
        assert_eq!(next("1224"), "2026-12-24T00:00:00");
        assert_eq!(next("12/24/26"), "2026-12-24T00:00:00");
        assert_eq!(next("12.24"), "2026-12-24T00:00:00");
        assert_eq!(next("12/24-08:00"), "2026-12-24T08:00:00");
        assert_eq!(next("03/01"), "2027-03-01T00:00:00");
        assert_eq!(past("03/01"), "2026-03-01T00:00:00");
        assert_eq!(past("03/11"), "2025-03-11T00:00:00");
        // The separators `-`, `T` and blanks are stepped over, as in Slurm.
        assert_eq!(next("2026-12-01T"), "2026-12-01T00:00:00");
        assert_eq!(past("12/20"), "2025-12-20T00:00:00");
        assert_eq!(next("today"), "2026-03-10T00:00:00");
        assert_eq!(next("tomorrow"), "2026-03-11T00:00:00");
        assert_eq!(next("tomorrow noon"), "2026-03-11T12:00:00");
        assert_eq!(next("today 16:00"), "2026-03-10T16:00:00");
    }

    #[test]
    fn seconds_since_the_epoch_follow_uts() {
        assert_eq!(
            parse_time("uts1800000000", now(), Toward::Future).map(|t| t.timestamp()),
            Ok(1_800_000_000)
        );
        assert!(parse_time("uts12", now(), Toward::Future).is_err());
    }

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
            assert_eq!(
                parse_time(text, now(), Toward::Future).map_err(|e| e.pos),
                Err(pos),
                "{text}"
            );
        }
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
            "now+99999999999999999999",
        ] {
            assert!(parse_time(text, now(), Toward::Future).is_err(), "{text}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        for text in [
            "",
            "garbage",
            "now+",
            "now-",
            "now+5parsecs",
            "now*2",
            "25:00",
            "2026-13-01",
            "12-24",
            "2026-12-01t08:00",
            "02/30",
            "13:00pm",
            "now+1hour+5",
        ] {
            for toward in [Toward::Future, Toward::Past] {
                assert!(parse_time(text, now(), toward).is_err(), "{text}");
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_text_does_not_panic(text in "\\PC*") {
            let _ = parse_time(&text, now(), Toward::Future);
            let _ = parse_time(&text, now(), Toward::Past);
        }
    }
}
