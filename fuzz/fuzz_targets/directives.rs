//! `#SBATCH` lines: directive_words on any script text, then clap on those
//! words as cbatch does, then the value parsers on what clap accepted.
//! Errors are fine; panics are not.
#![no_main]

use chrono::{Local, TimeZone};
use clap::Parser;
use conductor::cli::cbatch::CbatchArgs;
use conductor::directives::directive_words;
use conductor::format::{array, dependency, duration, memory, time};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(script) = std::str::from_utf8(data) else {
        return;
    };
    let words = directive_words(script);
    let argv = std::iter::once("cbatch".to_string()).chain(words);
    let Ok(args) = <CbatchArgs as Parser>::try_parse_from(argv) else {
        return;
    };
    if let Some(text) = &args.time {
        let _ = duration::parse_time_limit(text);
    }
    for text in [&args.mem, &args.mem_per_cpu].into_iter().flatten() {
        let _ = memory::parse_memory_mb(text);
    }
    if let Some(text) = &args.array {
        let _ = array::parse_array(text, array::DEFAULT_MAX_ARRAY_SIZE);
    }
    if let Some(text) = &args.dependency {
        let _ = dependency::parse_dependency(text);
    }
    if let Some(text) = &args.begin {
        let now = Local
            .with_ymd_and_hms(2025, 3, 14, 15, 9, 26)
            .earliest()
            .expect("a valid local time");
        let _ = time::parse_time(text, now, time::Toward::Future);
    }
});
