//! Time limits (`-t/--time`) and the three ways Slurm prints a duration.

use crate::error::Error;

/// A parsed time limit: `None` is unlimited, `Some(seconds)` otherwise.
pub type TimeLimit = Option<u64>;

/// Parses a Slurm time limit: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`,
/// `D-HH:MM`, `D-HH:MM:SS`, or `UNLIMITED`/`INFINITE`/`-1`.
///
/// Unlike Slurm, which rounds up to whole minutes, the limit keeps its
/// seconds: one node can enforce a limit to the second, and `-t 0:02`
/// is a useful test. `0` means no limit, as in Slurm.
pub fn parse_time_limit(text: &str) -> Result<TimeLimit, Error> {
    let invalid = || Error::InvalidTime(text.to_string());
    let spec = text.trim();
    if ["UNLIMITED", "INFINITE", "-1"]
        .iter()
        .any(|word| spec.eq_ignore_ascii_case(word))
    {
        return Ok(None);
    }
    if let Some(days) = spec.strip_prefix('-') {
        return negative_days(days).ok_or_else(invalid);
    }
    if spec.is_empty()
        || !spec
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ':')
    {
        return Err(invalid());
    }
    let (days, clock) = match spec.split_once('-') {
        Some((days, clock)) => (Some(days), clock),
        None => (None, spec),
    };
    let number = |part: &str| part.parse::<u64>().map_err(|_| invalid());
    let parts = clock
        .split(':')
        .map(number)
        .collect::<Result<Vec<_>, _>>()?;
    // Each part is weighed by its unit and summed; a limit past u64 seconds
    // is refused rather than overflowing.
    let units: &[u64] = match (days.is_some(), parts.len()) {
        (false, 1) => &[60],
        (false, 2) => &[60, 1],
        (false, 3) => &[3600, 60, 1],
        (true, 1) => &[3600],
        (true, 2) => &[3600, 60],
        (true, 3) => &[3600, 60, 1],
        _ => return Err(invalid()),
    };
    let days = days.map(number).transpose()?.unwrap_or(0);
    let seconds = std::iter::once((days, 86_400))
        .chain(parts.iter().copied().zip(units.iter().copied()))
        .try_fold(0u64, |total, (value, unit)| {
            value.checked_mul(unit)?.checked_add(total)
        })
        .ok_or_else(invalid)?;
    Ok((seconds > 0).then_some(seconds))
}

/// `-t -D`, which sbatch 22.05 accepts: its parser reads `-D` as a negative
/// number of days, rounds the seconds up to minutes, and the controller
/// keeps those minutes in an unsigned 32-bit field, where they wrap to a
/// limit of some 8,000 years (`-5` is 2982611-04:17:00, squeue's `INVALID`).
/// The same limit is kept here, so the job is shown and runs as in Slurm.
fn negative_days(days: &str) -> Option<TimeLimit> {
    if days.is_empty() || !days.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let seconds = -(days.parse::<i64>().ok()?.checked_mul(86_400)?);
    // C's division truncates toward zero, as Rust's does.
    let minutes = i32::try_from((seconds + 59) / 60).ok()?;
    Some(Some(u64::from(minutes.cast_unsigned()) * 60))
}

/// squeue's rendering (`%M`, `%l`): `M:SS`, `H:MM:SS`, or `D-HH:MM:SS`.
pub fn format_squeue(seconds: u64) -> String {
    let (days, hours, minutes, secs) = split(seconds);
    if days > 0 {
        format!("{days}-{hours:02}:{minutes:02}:{secs:02}")
    } else if hours > 0 {
        format!("{hours}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes}:{secs:02}")
    }
}

/// sacct's and scontrol's rendering: `HH:MM:SS`, with `D-` from one day on.
pub fn format_hms(seconds: u64) -> String {
    let (days, hours, minutes, secs) = split(seconds);
    if days > 0 {
        format!("{days}-{hours:02}:{minutes:02}:{secs:02}")
    } else {
        format!("{hours:02}:{minutes:02}:{secs:02}")
    }
}

/// sacct's rendering of CPU time (TotalCPU, UserCPU, SystemCPU), from
/// microseconds: `MM:SS.mmm` under an hour, `HH:MM:SS` from an hour and
/// `D-HH:MM:SS` from a day, as sacct's `_elapsed_time` writes them. The
/// milliseconds are cut, not rounded; under an hour with none of them
/// sacct writes `00:MM:SS` (a job that used no CPU shows `00:00:00`).
pub fn format_cpu_time(usec: u64) -> String {
    let (days, hours, minutes, secs) = split(usec / 1_000_000);
    let millis = usec % 1_000_000 / 1_000;
    if days > 0 {
        format!("{days}-{hours:02}:{minutes:02}:{secs:02}")
    } else if hours > 0 {
        format!("{hours:02}:{minutes:02}:{secs:02}")
    } else if millis > 0 {
        format!("{minutes:02}:{secs:02}.{millis:03}")
    } else {
        format!("00:{minutes:02}:{secs:02}")
    }
}

/// A time limit the way squeue prints it, `UNLIMITED` when there is none.
pub fn format_limit(limit: TimeLimit) -> String {
    limit.map_or_else(|| "UNLIMITED".to_string(), format_squeue)
}

fn split(seconds: u64) -> (u64, u64, u64, u64) {
    (
        seconds / 86_400,
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slurm_examples_parse() {
        let minutes = |text: &str| parse_time_limit(text).ok().flatten().map(|s| s / 60);
        assert_eq!(minutes("90"), Some(90));
        assert_eq!(minutes("1:00:00"), Some(60));
        assert_eq!(minutes("2-0"), Some(2880));
        assert_eq!(minutes("1-12"), Some(2160));
        assert_eq!(minutes("1-2:30"), Some(1590));
        assert_eq!(parse_time_limit("1-2:30:15").ok().flatten(), Some(95_415));
        assert_eq!(parse_time_limit("10:30").ok().flatten(), Some(630));
        assert_eq!(parse_time_limit("0:02").ok().flatten(), Some(2));
    }

    #[test]
    fn unlimited_spellings_and_zero_mean_no_limit() {
        for text in ["UNLIMITED", "infinite", "-1", "0", "0:00"] {
            assert_eq!(parse_time_limit(text).ok(), Some(None), "{text}");
        }
    }

    #[test]
    fn limits_past_u64_seconds_are_refused_not_overflowed() {
        // Found by fuzz/ (time_limit): 18 digits of minutes overflowed
        // `minutes * 60` and panicked.
        assert!(parse_time_limit("444644444444444444").is_err());
        assert!(parse_time_limit("307445734561825861").is_err());
        assert!(parse_time_limit("99999999999999999-0").is_err());
        assert!(parse_time_limit("0:0:18446744073709551615").is_ok());
        assert!(parse_time_limit("1:0:18446744073709551615").is_err());
        assert_eq!(
            parse_time_limit("307445734561825860").ok(),
            Some(Some(307_445_734_561_825_860 * 60))
        );
    }

    #[test]
    fn negative_days_wrap_as_in_slurms_unsigned_minutes() {
        // Live 22.05: `-t -5` shows TimeLimit=2982611-04:17:00.
        let limit = parse_time_limit("-5").expect("accepted").expect("a limit");
        assert_eq!(format_hms(limit), "2982611-04:17:00");
    }

    #[test]
    fn malformed_limits_are_refused() {
        for text in [
            "",
            "abc",
            "1:2:3:4",
            "1-2-3",
            "1-",
            ":",
            "5m",
            "1-2:3:4:5",
            "-",
            "-5:00",
        ] {
            assert!(parse_time_limit(text).is_err(), "{text}");
        }
    }

    #[test]
    fn durations_render_like_slurm() {
        assert_eq!(format_squeue(5), "0:05");
        assert_eq!(format_squeue(754), "12:34");
        assert_eq!(format_squeue(3600), "1:00:00");
        assert_eq!(format_squeue(183_845), "2-03:04:05");
        assert_eq!(format_hms(5), "00:00:05");
        assert_eq!(format_hms(86_400), "1-00:00:00");
        assert_eq!(format_limit(None), "UNLIMITED");
    }

    #[test]
    fn cpu_times_render_like_sacct() {
        assert_eq!(format_cpu_time(1_234_000), "00:01.234");
        assert_eq!(format_cpu_time(62_500_000), "01:02.500");
        assert_eq!(format_cpu_time(3_599_999_999), "59:59.999");
        // Milliseconds are cut, and without any the minutes get hours' zeros.
        assert_eq!(format_cpu_time(1_234_999), "00:01.234");
        assert_eq!(format_cpu_time(0), "00:00:00");
        assert_eq!(format_cpu_time(999), "00:00:00");
        assert_eq!(format_cpu_time(60_000_000), "00:01:00");
        // From an hour on there are no milliseconds.
        assert_eq!(format_cpu_time(3_723_456_789), "01:02:03");
        assert_eq!(format_cpu_time(3_600_000_000), "01:00:00");
        assert_eq!(format_cpu_time(86_399_999_999), "23:59:59");
        // Days are not padded.
        assert_eq!(format_cpu_time(86_400_000_000), "1-00:00:00");
        assert_eq!(format_cpu_time(90_061_500_000), "1-01:01:01");
        assert_eq!(format_cpu_time(12 * 86_400_000_000), "12-00:00:00");
    }

    proptest! {
        #[test]
        fn hms_rendering_parses_back(seconds in 1u64..10_000_000) {
            prop_assert_eq!(parse_time_limit(&format_hms(seconds)).ok(), Some(Some(seconds)));
        }

        #[test]
        fn parser_never_panics(text in "\\PC*") {
            let _ = parse_time_limit(&text);
        }
    }
}
