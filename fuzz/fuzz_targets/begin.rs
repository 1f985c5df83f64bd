//! `--begin`: parse_time never panics, for a fixed `now`.
#![no_main]

use chrono::{Local, TimeZone};
use conductor::format::time::{Toward, parse_time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = Local
        .with_ymd_and_hms(2025, 3, 14, 15, 9, 26)
        .earliest()
        .expect("a valid local time");
    let _ = parse_time(text, now, Toward::Future);
});
