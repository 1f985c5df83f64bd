//! `-t/--time`: parse_time_limit never panics, and a parsed limit renders
//! with format_hms into text that parses back to the same limit.
#![no_main]

use conductor::format::duration::{format_hms, parse_time_limit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(Some(seconds)) = parse_time_limit(text) {
        let shown = format_hms(seconds);
        assert_eq!(
            parse_time_limit(&shown).ok(),
            Some(Some(seconds)),
            "{text:?} -> {seconds} -> {shown:?}"
        );
    }
});
