//! `--mem`: parse_memory_mb never panics, and a parsed size renders with
//! format_memory_mb into text that parses back to the same size.
#![no_main]

use conductor::format::memory::{format_memory_mb, parse_memory_mb};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(mb) = parse_memory_mb(text) {
        let shown = format_memory_mb(mb);
        assert_eq!(
            parse_memory_mb(&shown).ok(),
            Some(mb),
            "{text:?} -> {mb} -> {shown:?}"
        );
    }
});
