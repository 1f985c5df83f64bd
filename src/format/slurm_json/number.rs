//! Slurm's numbers that may be unset or infinite, and its times.
//!
//! The data_parser writes such a number as `{"set", "infinite", "number"}`:
//! unset is `set: false`, INFINITE is `set: false, infinite: true`, and
//! `number` is then 0. From v0.0.40 times are such objects too; v0.0.39
//! wrote them as plain integers, 0 when unset.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Version;

/// An integer that may be unset or infinite (`uint32_no_val_struct` and
/// its 16- and 64-bit siblings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct NoVal {
    pub set: bool,
    pub infinite: bool,
    pub number: i64,
}

impl NoVal {
    /// No value (Slurm's NO_VAL).
    pub const UNSET: NoVal = NoVal {
        set: false,
        infinite: false,
        number: 0,
    };

    /// No limit (Slurm's INFINITE).
    pub const INFINITE: NoVal = NoVal {
        set: false,
        infinite: true,
        number: 0,
    };

    /// A value.
    pub fn of(number: impl Into<i64>) -> NoVal {
        NoVal {
            set: true,
            infinite: false,
            number: number.into(),
        }
    }

    /// A value from an unsigned figure that may not fit (it saturates).
    pub fn of_u64(number: u64) -> NoVal {
        NoVal::of(i64::try_from(number).unwrap_or(i64::MAX))
    }

    /// The value, or unset.
    pub fn or_unset(number: Option<i64>) -> NoVal {
        number.map_or(NoVal::UNSET, NoVal::of)
    }
}

/// A float that may be unset or infinite (`float64_no_val_struct`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FloatNoVal {
    pub set: bool,
    pub infinite: bool,
    pub number: f64,
}

impl FloatNoVal {
    /// A value.
    pub fn of(number: f64) -> FloatNoVal {
        FloatNoVal {
            set: true,
            infinite: false,
            number,
        }
    }
}

/// A time limit in minutes, as Slurm keeps it, from one in seconds; no
/// limit is INFINITE. A part minute counts as a whole one (Slurm's
/// `--time` takes whole minutes; `0:30` is still a limit).
pub fn limit_minutes(limit_secs: Option<u64>) -> NoVal {
    match limit_secs {
        None | Some(0) => NoVal::INFINITE,
        Some(secs) => NoVal::of_u64(secs.div_ceil(60)),
    }
}

/// Seconds since the epoch, 0 for none (how Slurm stores an unset time).
pub fn epoch(time: Option<DateTime<Utc>>) -> i64 {
    time.map_or(0, |time| time.timestamp().max(0))
}

/// A time as the version writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Time {
    /// v0.0.39: seconds since the epoch, 0 when unset.
    Plain(i64),
    /// v0.0.40 on: a number object (an unset time is a set 0, as Slurm
    /// writes the 0 it stores).
    Number(NoVal),
}

impl Time {
    /// `time` (`None` is 0) in the version's encoding.
    pub fn new(version: Version, time: Option<DateTime<Utc>>) -> Time {
        let seconds = epoch(time);
        if version.has_number_times() {
            Time::Number(NoVal::of(seconds))
        } else {
            Time::Plain(seconds)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_objects_encode_unset_and_infinite_as_slurm_does() {
        let json = |value: NoVal| serde_json::to_string(&value).expect("encodes");
        assert_eq!(
            json(NoVal::of(5)),
            r#"{"set":true,"infinite":false,"number":5}"#
        );
        assert_eq!(
            json(NoVal::UNSET),
            r#"{"set":false,"infinite":false,"number":0}"#
        );
        assert_eq!(
            json(NoVal::INFINITE),
            r#"{"set":false,"infinite":true,"number":0}"#
        );
    }

    #[test]
    fn limits_are_whole_minutes_and_none_is_infinite() {
        assert_eq!(limit_minutes(None), NoVal::INFINITE);
        assert_eq!(limit_minutes(Some(30)), NoVal::of(1));
        assert_eq!(limit_minutes(Some(3600)), NoVal::of(60));
    }

    #[test]
    fn times_are_plain_before_v0_0_40() {
        let at = DateTime::from_timestamp(1_700_000_000, 0);
        assert_eq!(Time::new(Version::V0039, at), Time::Plain(1_700_000_000));
        assert_eq!(Time::new(Version::V0039, None), Time::Plain(0));
        assert_eq!(
            Time::new(Version::V0040, at),
            Time::Number(NoVal::of(1_700_000_000))
        );
    }
}
