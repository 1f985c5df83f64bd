//! Memory sizes as Slurm reads (`--mem=4G`) and prints (`%m`) them.

use crate::error::Error;

/// Parses a Slurm memory size into MiB: an integer with an optional unit
/// `K`, `M`, `G` or `T` (powers of 1024, any case, optionally followed by
/// `B`); no unit means MiB, and kilobytes round up to whole MiB.
pub fn parse_memory_mb(text: &str) -> Result<u64, Error> {
    let invalid = || Error::InvalidMemory(text.to_string());
    let spec = text.trim();
    let spec = spec
        .strip_suffix(['B', 'b'])
        .filter(|rest| rest.ends_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or(spec);
    let digits_end = spec
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(spec.len());
    let (digits, unit) = spec.split_at(digits_end);
    let value: u64 = digits.parse().map_err(|_| invalid())?;
    let mb = match unit.to_ascii_uppercase().as_str() {
        "" | "M" => Some(value),
        "K" => Some(value.div_ceil(1024)),
        "G" => value.checked_mul(1024),
        "T" => value.checked_mul(1024 * 1024),
        _ => None,
    };
    mb.ok_or_else(invalid)
}

/// squeue's `%m` rendering: the largest unit that divides exactly (`4G`,
/// `500M`), `0` for none.
pub fn format_memory_mb(mb: u64) -> String {
    if mb == 0 {
        "0".to_string()
    } else if mb.is_multiple_of(1024 * 1024) {
        format!("{}T", mb / (1024 * 1024))
    } else if mb.is_multiple_of(1024) {
        format!("{}G", mb / 1024)
    } else {
        format!("{mb}M")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units_are_powers_of_1024_and_default_to_mib() {
        let mb = |text: &str| parse_memory_mb(text).ok();
        assert_eq!(mb("1024"), Some(1024));
        assert_eq!(mb("500M"), Some(500));
        assert_eq!(mb("4G"), Some(4096));
        assert_eq!(mb("4GB"), Some(4096));
        assert_eq!(mb("2g"), Some(2048));
        assert_eq!(mb("1T"), Some(1_048_576));
        assert_eq!(mb("1K"), Some(1));
        assert_eq!(mb("2049k"), Some(3));
        assert_eq!(mb("0"), Some(0));
    }

    #[test]
    fn garbage_is_refused() {
        for text in ["", "G", "4X", "-1", "1.5G", "4 G", "4GiB", "B"] {
            assert!(parse_memory_mb(text).is_err(), "{text}");
        }
    }

    #[test]
    fn rendering_picks_the_largest_exact_unit() {
        assert_eq!(format_memory_mb(4096), "4G");
        assert_eq!(format_memory_mb(500), "500M");
        assert_eq!(format_memory_mb(0), "0");
    }

    proptest! {
        #[test]
        fn rendering_parses_back(mb in 0u64..(1u64 << 40)) {
            prop_assert_eq!(parse_memory_mb(&format_memory_mb(mb)).ok(), Some(mb));
        }
    }
}
